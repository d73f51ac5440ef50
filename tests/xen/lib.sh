# Helpers for the dom0 side of the real-Xen scenarios (sourced by /init in a
# subshell, busybox ash; not a test itself).  Markers on the serial console:
#   XT-MARK NAME   a step, stamped with the host's time by tests/xen/run.sh
#   XT-NOTE K=V    a measurement for the report
#   XT-FAIL WHY    the scenario failed (the subshell exits 1)
# hasvcd's data-dir and every log are on the data disk (/disk), so that they
# survive a watchdog reset and run.sh can read them with debugfs.
HOST=7a1f0c2e-5b3d-4e8f-9a6b-0c1d2e3f4a5b
D=/disk/data
L=/disk/log
CONF=/run/hasvcd.conf
PORT=8443
PW=/run/root-pw
KSOCK=/run/hasvc/wdkeeper.sock
CS=/run/cs
SF=/disk/statefile
HASVCD_PID=""
KEEPER_PID=""
CS_PID=""

up() { cut -d' ' -f1 /proc/uptime; }
mark() { echo "XT-MARK $1 uptime=$(up)"; }
note() { echo "XT-NOTE $*"; }
say() { echo "xt: $*"; }
fail() {
	echo "XT-FAIL $*"
	exit 1
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll every 0.2 s
wait_for() {
	local secs="$1" what="$2" n
	shift 2
	n=$((secs * 5))
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		n=$((n - 1))
	done
	fail "timed out after ${secs}s waiting for $what"
}

db() { hasvc-db -d $D/pool.db "$@"; }
cli() { hasvc -s 127.0.0.1 -p $PORT -u root -pwf $PW --no-verify "$@"; }
logged() { grep -q -- "$2" "$L/$1"; }

# The protected guest's stored config: libxl's JSON form of a
# libxl_domain_config (docs/hv_xen.md); hv_xen sets its UUID and name from
# the pool database.  128 MiB: Debian's kernel does not fit in 64.
GUEST_JSON='{"c_info":{"type":"pv","name":"xt-guest"},"b_info":{"max_memkb":131072,"target_memkb":131072,"kernel":"/guest/vmlinuz","ramdisk":"/guest/initrd.cpio","cmdline":"console=hvc0 quiet rdinit=/guestinit","type.pv":{}},"on_poweroff":"destroy","on_crash":"destroy"}'

# xl_uuid NAME: the UUID Xen has for domain NAME ("" if none)
xl_uuid() { xl list -v 2>/dev/null | awk -v n="$1" '$1 == n {print $7; exit}'; }
# xl_domid NAME
xl_domid() { xl list 2>/dev/null | awk -v n="$1" '$1 == n {print $2; exit}'; }
# guest_up NAME [COUNT]: the guest's console log has COUNT (1) boot markers
guest_up() { [ "$(grep -c XT-GUEST-UP /var/log/xen/guest-"$1".log 2>/dev/null)" -ge "${2:-1}" ]; }

# vm_field UUID FIELD: from `hasvc vm-list` (hasvcd's API)
vm_field() { cli vm-list uuid="$1" params="$2" --minimal; }

# seed_pool [clustered]: the pool database with this host (nodeid 1 when
# clustered: a one-host corosync pool).
seed_pool() {
	mkdir -p $D
	db init name-label=xt-pool >/dev/null || fail "hasvc-db init"
	if [ "${1:-}" = clustered ]; then
		db host-add uuid=$HOST name-label=xt-dom0 hostname=xt-dom0 address=127.0.0.1 nodeid=1 \
			memory-total=1GiB >/dev/null || fail "hasvc-db host-add"
		db pool-param-set master=$HOST >/dev/null || fail "hasvc-db pool-param-set"
	else
		db host-add uuid=$HOST name-label=xt-dom0 address=127.0.0.1 memory-total=1GiB >/dev/null ||
			fail "hasvc-db host-add"
	fi
}

# clustered_pool: the one-host corosync pool's database, its statefile on the
# data disk and hasvcd.conf (the watchdog scenarios).
clustered_pool() {
	seed_pool clustered
	hasvc-statefile init $SF --db $D/pool.db --force >/dev/null || fail "hasvc-statefile init"
	write_conf clustered
}

# write_conf [clustered]: hasvcd.conf with the xen backend and xen watchdog
write_conf() {
	echo "xt-root-pw-$$" >$PW
	chmod 600 $PW
	local sf="" cl=""
	if [ "${1:-}" = clustered ]; then
		sf="<statefile>$SF</statefile>"
		cl="<cluster><corosync-conf>$CS/corosync.conf</corosync-conf><authkey>$CS/authkey</authkey><corosync-log>$L/corosync.log</corosync-log><corosync-state-dir>$CS/state</corosync-state-dir></cluster>"
		mkdir -p $CS/state
	fi
	cat >$CONF <<EOC
<?xml version="1.0"?>
<hasvcd version="1">
  <host-uuid>$HOST</host-uuid>
  <management-address>127.0.0.1</management-address>
  <data-dir>$D</data-dir>
  $sf
  <watchdog><driver>xen</driver><timeout>30s</timeout><keeper-socket>$KSOCK</keeper-socket></watchdog>
  <hypervisor><backend>xen</backend></hypervisor>
  <api><address>127.0.0.1</address><port>$PORT</port><root-password-file>$PW</root-password-file></api>
  $cl
  <log><level>info</level><syslog>false</syslog></log>
</hasvcd>
EOC
	hasvcd -n -c $CONF || fail "hasvcd -n: the configuration is refused"
}

# echo_log FILE PREFIX PATTERN: copy FILE's lines that match PATTERN to the
# console as they come (the file may be lost in a reset: the console is not)
echo_log() {
	(tail -n +1 -F "$1" 2>/dev/null | awk -v p="$2" -v re="$3" '$0 ~ re {print p ": " $0; fflush()}') &
}

start_hasvcd() {
	hasvcd -c $CONF >>$L/hasvcd.log 2>&1 &
	HASVCD_PID=$!
	say "hasvcd pid $HASVCD_PID"
}

start_keeper() {
	hasvc-wdkeeper -c $CONF -f >>$L/wdkeeper.log 2>&1 &
	KEEPER_PID=$!
	wait_for 20 "the keeper's socket" test -S $KSOCK
	say "hasvc-wdkeeper pid $KEEPER_PID"
}

# start_corosync: once hasvcd has written corosync.conf
start_corosync() {
	wait_for 30 "hasvcd to write corosync.conf" test -s $CS/corosync.conf
	corosync -f -c $CS/corosync.conf >>$L/corosync.out 2>&1 &
	CS_PID=$!
	say "corosync pid $CS_PID"
}

wait_api() { wait_for 60 "hasvcd's API" cli pool-list --minimal; }

ready() { cli cluster-status --json 2>/dev/null | grep -q '"phase": *"ready"'; }

# cluster_up: keeper, hasvcd, corosync; the one-host pool ready
cluster_up() {
	echo_log $L/hasvcd.log hasvcd 'fence|liveness|wdkeeper|watchdog|HA_|fenced'
	echo_log $L/wdkeeper.log wdkeeper 'wdkeeper|watchdog|Xen'
	start_keeper
	start_hasvcd
	start_corosync
	wait_api
	wait_for 90 "the one-host pool to be ready" ready
	mark cluster-ready
}

# enable_ha TIMEOUT: pool.enable_ha, then the watchdog armed through the keeper
enable_ha() {
	cli pool-ha-enable ha-config:timeout="$1" || fail "pool-ha-enable"
	mark ha-enabled
	wait_for 90 "the watchdog armed through the keeper" logged hasvcd.log 'fence: watchdog armed through the keeper'
	wait_for 10 "the keeper to arm Xen's watchdog" logged wdkeeper.log 'Xen watchdog slot'
	mark armed
	WD_MS=$(grep -o 'fence: watchdog armed through the keeper ([0-9]*' $L/hasvcd.log | tail -n 1 | sed 's/.*(//')
	note "wd_ms=$WD_MS"
}
