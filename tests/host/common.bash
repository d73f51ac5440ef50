# Shared helpers for tests/host/*.sh (sourced, not run; not a test itself).
#   T        the test's temp dir (removed on exit)
#   started  PIDs this test started; killed on exit, only these
set -euo pipefail
T=$(mktemp -d /tmp/hasvc-test.XXXXXX)
started=()
on_exit() {
	local rc=$? p
	for p in "${started[@]}"; do
		kill -CONT "$p" 2>/dev/null || true
		kill -TERM "$p" 2>/dev/null || true
	done
	sleep 0.2
	for p in "${started[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	# A process killed by a (simulated) reset cannot remove its libqb
	# blackbox ring from /dev/shm: remove what our processes left.
	for p in "${started[@]}"; do rm -f /dev/shm/qb-*-"$p"-blackbox-*; done
	if ((rc != 0)); then
		for f in "$T"/*.log; do
			[[ -f $f ]] || continue
			echo "--- $(basename "$f") (last 30 lines)"
			tail -n 30 "$f"
		done
	fi
	rm -rf "$T"
	exit $rc
}
trap on_exit EXIT

die() { echo "FAIL: $*" >&2; exit 1; }

# wait_for SECONDS DESCRIPTION COMMAND...: poll every 50 ms.
wait_for() {
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 20; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	die "timed out after ${secs}s waiting for $what"
}

# start_simhv NAME [options...]: socket $T/NAME.sock, shared ledger $T/ledger.
start_simhv() {
	local name=$1
	shift
	mkdir -p "$T/$name-state"
	"$BINDIR/hasvc-simhv" --host "$name" --socket "$T/$name.sock" --ledger "$T/ledger" \
		--state-dir "$T/$name-state" "$@" >"$T/simhv-$name.log" 2>&1 &
	started+=($!)
	wait_for 10 "simhv $name socket" test -S "$T/$name.sock"
}

ctl() { local name=$1; shift; "$BINDIR/hasvc-simhv" ctl "$T/$name.sock" "$@"; }
db() { "$BINDIR/hasvc-db" -d "$T/data/pool.db" "$@"; }
count_running() { ctl "$1" list | grep -c running || true; }

# The API of the hasvcd a test starts: a random port, user root.
API_PORT=${API_PORT:-$((20000 + RANDOM % 20000))}
API_URL=https://127.0.0.1:$API_PORT
ROOT_PW=hasvc-test-$RANDOM

# write_conf HOST_UUID SIMHV_NAME WD_TIMEOUT
write_conf() {
	mkdir -p "$T/data"
	printf '%s\n' "$ROOT_PW" >"$T/root-pw"
	chmod 600 "$T/root-pw"
	cat >"$T/hasvcd.conf" <<EOC
<?xml version="1.0"?>
<hasvcd version="1">
  <host-uuid>$1</host-uuid>
  <management-address>127.0.0.1</management-address>
  <data-dir>$T/data</data-dir>
  <watchdog><driver>sim</driver><timeout>$3</timeout></watchdog>
  <hypervisor><backend>sim</backend><socket>$T/$2.sock</socket></hypervisor>
  <api><address>127.0.0.1</address><port>$API_PORT</port>
       <root-password-file>$T/root-pw</root-password-file></api>
  <log><level>debug</level><syslog>false</syslog></log>
</hasvcd>
EOC
}

start_hasvcd() {
	"$BINDIR/hasvcd" -c "$T/hasvcd.conf" >>"$T/hasvcd.log" 2>&1 &
	hasvcd_pid=$!
	started+=($hasvcd_pid)
}

# wait_api: until the API answers a TLS connection.
wait_api() {
	wait_for 20 "the API on port $API_PORT" curl -ks --max-time 2 -o /dev/null "$API_URL/jsonrpc" -X OPTIONS
}

# jsonrpc METHOD PARAMS-JSON: one JSON-RPC 2.0 call; prints the reply body.
jsonrpc() {
	curl -ks --max-time 10 -H 'Content-Type: application/json' \
		--data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$API_URL/jsonrpc"
}
