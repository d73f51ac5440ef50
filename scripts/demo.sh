#!/usr/bin/env bash
# make demo: a live single-host pool on this machine.
#
# Starts a simulated hypervisor (hasvc-simhv) for one host and a real hasvcd
# managing it, with a dozen VMs of mixed HA priority, then injects faults and
# shows what hasvcd does about them:
#   1. start-up reconciliation: the DB says 12 VMs run here, the hypervisor has none
#      (the host just rebooted): protected and best-effort VMs are started in
#      restart order, unprotected ones are marked Halted;
#   2. a protected VM crashes: hasvcd reaps the domain and restarts the VM;
#   3. hasvcd hangs (SIGSTOP): it stops petting the watchdog, the hypervisor
#      resets the host (kills hasvcd, halts every domain), powers it back on,
#      hasvcd starts again and brings the protected VMs back;
#   4. the ledger of every domain start/stop is audited: no VM ever ran twice.
# Everything it starts is stopped on exit, by PID.  Set DEMO_DIR to keep the files.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BINDIR:-bin}
BIN=$(realpath "$BIN")
W=${DEMO_DIR:-$(mktemp -d /tmp/hasvc-demo.XXXXXX)}
mkdir -p "$W/data" "$W/simhv"
HOST=7a1f0c2e-5b3d-4e8f-9a6b-0c1d2e3f4a5b
SOCK=$W/simhv.sock
LEDGER=$W/ledger
pids=()

cleanup() {
	local p
	# hasvcd first (SIGTERM: it disarms its watchdog), then the hypervisor.
	[[ -f $W/hasvcd.pid ]] && kill -TERM "$(cat "$W/hasvcd.pid")" 2>/dev/null || true
	sleep 0.3
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	# libqb blackbox rings of every hasvcd the demo started (a reset cannot
	# let a killed one remove its own).
	if [[ -f $W/hasvcd.pids ]]; then
		while read -r p; do rm -f /dev/shm/qb-*-"$p"-blackbox-*; done <"$W/hasvcd.pids"
	fi
	[[ -n ${DEMO_DIR:-} ]] || rm -rf "$W"
}
trap cleanup EXIT

t0=${EPOCHREALTIME/./}
say() { printf '\n\033[1m[%6.1fs] %s\033[0m\n' "$(((${EPOCHREALTIME/./} - t0) / 100000))e-1" "$*"; }
ctl() { "$BIN/hasvc-simhv" ctl "$SOCK" "$@"; }
db() { "$BIN/hasvc-db" -d "$W/data/pool.db" "$@"; }
wait_for() { # seconds, description, command...
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	echo "demo: timed out waiting for $what" >&2
	exit 1
}
ndomains() { ctl list | grep -c . || true; }
have_domains() { [[ $(ndomains) -eq $1 ]]; }

# hasvcd is restarted by the simulated host's power-on, like systemd would.
cat >"$W/start-hasvcd.sh" <<EOF
#!/bin/sh
"$BIN/hasvcd" -c "$W/hasvcd.conf" >>"$W/hasvcd.log" 2>&1 &
echo \$! >"$W/hasvcd.pid"
echo \$! >>"$W/hasvcd.pids"
EOF
chmod +x "$W/start-hasvcd.sh"

PORT=$((20000 + RANDOM % 20000))
printf 'demo-%s\n' "$RANDOM$RANDOM" >"$W/root-pw"
chmod 600 "$W/root-pw"
# The xe-style CLI, talking to hasvcd's XAPI-compatible API over HTTPS.
xe() { "$BIN/hasvc" -s 127.0.0.1 -p "$PORT" -pwf "$W/root-pw" --no-verify "$@"; }

cat >"$W/hasvcd.conf" <<EOF
<?xml version="1.0"?>
<hasvcd version="1">
  <host-uuid>$HOST</host-uuid>
  <management-address>127.0.0.1</management-address>
  <data-dir>$W/data</data-dir>
  <watchdog><driver>sim</driver><timeout>2s</timeout></watchdog>
  <hypervisor><backend>sim</backend><socket>$SOCK</socket></hypervisor>
  <api><address>127.0.0.1</address><port>$PORT</port>
       <root-password-file>$W/root-pw</root-password-file></api>
  <log><level>info</level><syslog>false</syslog></log>
</hasvcd>
EOF

say "Simulated host 'host1': 16 GiB, VMs boot in 300 ms, powers back on 2 s after a reset"
"$BIN/hasvc-simhv" --host host1 --socket "$SOCK" --ledger "$LEDGER" --memory 16384 \
	--dom0-memory 1024 --cpus 16 --boot-ms 300 --power-on-delay 2000 \
	--on-power-on "$W/start-hasvcd.sh" --state-dir "$W/simhv" >"$W/simhv.log" 2>&1 &
pids+=($!)
wait_for 10 "simhv socket" test -S "$SOCK"

say "Pool database: one host, 12 VMs marked Running on it (as if the host had just rebooted)"
db init name-label=demo-pool >/dev/null
db host-add uuid=$HOST name-label=host1 address=127.0.0.1 memory-total=16GiB >/dev/null
i=0
add() { # name prio order
	i=$((i + 1))
	local extra=()
	[[ $2 == restart ]] && extra+=(ha-always-run=true)
	db vm-add name-label="$1" memory-static-max=1GiB vcpus=2 ha-restart-priority="$2" \
		order="$3" resident-on=$HOST power-state=Running "${extra[@]}" >/dev/null
}
add db-primary restart 0; add db-replica restart 0; add auth restart 1
add web-1 restart 2; add web-2 restart 2; add queue restart 2
add batch-1 best-effort 3; add batch-2 best-effort 3; add reports best-effort 4
add dev-1 "" 0; add dev-2 "" 0; add scratch "" 0
db pool-param-set ha-enabled=true
"$BIN/hasvcd" -n -c "$W/hasvcd.conf"
db vm-list | grep -E 'name-label|ha-restart-priority|order|power-state' | paste - - - - |
	awk '{printf "  %-14s priority=%-12s order=%s  power=%s\n", $2, $4, $6, $8}'

# Show VM names instead of uuids in the log excerpts below.
names() { sed -f "$W/names.sed"; }
db vm-list | awk '$1=="uuid:" {u=$2} $1=="name-label:" {printf "s/%s/%s/g\n", u, $2}' >"$W/names.sed"

say "Starting hasvcd: it reconciles the DB with the hypervisor and arms the watchdog (2 s)"
"$W/start-hasvcd.sh"
wait_for 20 "9 protected/best-effort domains" have_domains 9
sleep 0.5
grep -E 'starting it|Halted|watchdog armed' "$W/hasvcd.log" | sed 's/^.*hasvc\/[a-z_]*\.c:[0-9]* /  /' | names
say "Hypervisor now runs $(ndomains) domains; the DB says:"
db vm-list | grep -E 'name-label|power-state' | paste - - | awk '{printf "  %-14s %s\n", $2, $4}'

say "An admin asks the API (hasvc, the xe-style CLI, over HTTPS + JSON-RPC) and protects dev-1"
xe vm-list params=name-label,power-state,ha-restart-priority name-label=dev-1 | sed 's/^/  /'
dev1=$(xe vm-list name-label=dev-1 --minimal)
xe vm-param-set uuid="$dev1" ha-restart-priority=restart ha-always-run=true
xe vm-param-get uuid="$dev1" param-name=ha-restart-priority | sed 's/^/  dev-1 ha-restart-priority: /'
echo "  (dev-1 is Halted, so it stays halted until started; its policy now protects it)"

victim=$(db vm-list | awk '/^uuid/ {u=$2} /name-label: db-primary/ {print u}')
say "Fault 1: the protected VM db-primary ($victim) crashes"
ctl crash "$victim" | names
wait_for 20 "db-primary to come back" sh -c "'$BIN/hasvc-simhv' ctl '$SOCK' list | grep -q '$victim.*running'"
grep -E "$victim" "$W/hasvcd.log" | tail -n 4 | sed 's/^.*hasvc\/[a-z_]*\.c:[0-9]* /  /' | names
echo "  db-primary runs again."

pid=$(cat "$W/hasvcd.pid")
say "Fault 2: hasvcd (pid $pid) hangs — SIGSTOP. It stops petting the watchdog."
kill -STOP "$pid"
wait_for 20 "the host reset" sh -c "! kill -0 $pid 2>/dev/null"
echo "  simhv reset the host: $(tail -n 1 "$W/simhv/resets.log")"
echo "  hasvcd $pid is gone; domains left: $(ndomains)"
say "The host powers back on after 2 s; hasvcd starts again and restores the protected VMs"
wait_for 30 "hasvcd to restart" sh -c "[ \"\$(cat '$W/hasvcd.pid')\" != $pid ]"
wait_for 30 "9 domains again" have_domains 9
echo "  hasvcd $(cat "$W/hasvcd.pid") runs; the hypervisor runs $(ndomains) domains again."

say "Audit: the ledger of every domain start and stop ($(wc -l <"$LEDGER") events)"
"$BIN/hasvc-simhv" --check-ledger "$LEDGER" | sed 's/^/  /'

say "Done. Stopping hasvcd (SIGTERM: it disarms the watchdog) and the simulated host."
