#!/usr/bin/env bash
# The hasvc CLI against a real hasvcd serving the XAPI-compatible API:
#  1. pool-list, host-list, vm-list (blocks, filters, --minimal, --json);
#  2. vm-param-set ha-restart-priority=restart, then vm-param-get shows it;
#     order/start-delay/ha-always-run too;
#  3. a bad priority is INVALID_VALUE with exit 1 and changes nothing;
#  4. a wrong password is SESSION_AUTHENTICATION_FAILED with exit 1;
#  5. TLS: the self-signed certificate is refused without --no-verify (exit 3)
#     and accepted with --cacert; a closed port is exit 3;
#  6. an unknown command or parameter is exit 2, before any connection.
# Skips (77) when hasvcd does not answer on its API port within 10 s.
. "$(dirname "$0")/common.bash"
HOST=5e0c7a1d-2b3f-4c8e-9d6a-1f2e3d4c5b6a
HASVC=$BINDIR/hasvc
command -v curl >/dev/null || { echo "needs curl"; exit 77; }

start_simhv h1 --memory 16384 --dom0-memory 1024 --boot-ms 50
write_conf $HOST h1 10s # API on $API_PORT, root's password $ROOT_PW (common.bash)
PORT=$API_PORT
PW=$ROOT_PW
db init name-label=cli-pool >/dev/null
db host-add uuid=$HOST name-label=h1 address=127.0.0.1 memory-total=16GiB >/dev/null
WEB=$(db vm-add name-label=web memory-static-max=1GiB power-state=Halted)
DB1=$(db vm-add name-label=db memory-static-max=2GiB power-state=Halted)
start_hasvcd

up=0
for ((i = 0; i < 200; i++)); do
	if curl -ks --max-time 1 -o /dev/null "$API_URL/jsonrpc" -X OPTIONS; then
		up=1
		break
	fi
	kill -0 "$hasvcd_pid" 2>/dev/null || break
	sleep 0.05
done
if ((up == 0)); then
	echo "hasvcd does not serve the API on port $PORT within 10 s (not wired in yet?)"
	exit 77
fi

export HASVC_PASSWORD=$PW
hv() { "$HASVC" -s 127.0.0.1 -p "$PORT" --no-verify "$@"; }
# expect CODE REGEX ARGS...: exit status and combined output.
expect() {
	local want=$1 re=$2 out rc
	shift 2
	out=$(hv "$@" 2>&1) && rc=0 || rc=$?
	[[ $rc -eq $want ]] || die "hasvc $*: exit $rc, want $want; output: $out"
	grep -qE -- "$re" <<<"$out" || die "hasvc $*: output does not match /$re/: $out"
	echo "ok: hasvc $* -> $rc"
}

echo "== lists"
expect 0 '^uuid \( RO\) +: [0-9a-f-]{36}$' pool-list
expect 0 'name-label \( RW\): cli-pool' pool-list
expect 0 "^uuid \( RO\) +: $HOST\$" host-list
out=$(hv vm-list)
grep -qE "^uuid \( RO\)           : $WEB\$" <<<"$out" || die "vm-list block: $out"
grep -qE '^     name-label \( RO\): web$' <<<"$out" || die "vm-list name-label line: $out"
grep -qE '^    power-state \( RO\): Halted$' <<<"$out" || die "vm-list power-state line: $out"
[[ $(grep -c '^uuid' <<<"$out") -eq 2 ]] || die "vm-list: want 2 VMs: $out"
[[ $(hv vm-list name-label=web --minimal) == "$WEB" ]] || die "filter + --minimal"
[[ $(hv vm-list name-label=nothing --minimal) == "" ]] || die "a filter matching nothing"
min=$(hv vm-list --minimal)
[[ $min == "$WEB,$DB1" || $min == "$DB1,$WEB" ]] || die "--minimal: $min"
[[ $(hv vm-list uuid=$DB1 params=name-label --minimal) == db ]] || die "params= + --minimal"
hv vm-list name-label=db --json | python3 -c '
import json, sys
v = json.load(sys.stdin)
assert len(v) == 1 and v[0]["name-label"] == "db", v' || die "--json"
expect 2 'has no parameter' vm-list params=colour

echo "== vm-param-set / vm-param-get"
expect 0 '' vm-param-set uuid=$WEB ha-restart-priority=restart order=2 start-delay=5
[[ $(hv vm-param-get uuid=$WEB param-name=ha-restart-priority) == restart ]] || die "priority not set"
[[ $(hv vm-param-get uuid=$WEB param-name=order) == 2 ]] || die "order not set"
[[ $(hv vm-param-get uuid=$WEB param-name=start-delay) == 5 ]] || die "start-delay not set"
[[ $(hv vm-list ha-restart-priority=restart --minimal) == "$WEB" ]] || die "filter on the new priority"
expect 1 'INVALID_VALUE' vm-param-set uuid=$WEB ha-restart-priority=bogus
[[ $(hv vm-param-get uuid=$WEB param-name=ha-restart-priority) == restart ]] || die "a refused value changed the VM"
expect 1 'INVALID_VALUE' vm-param-set uuid=$WEB start-delay=-1
expect 1 'UUID_INVALID|HANDLE_INVALID' vm-param-get uuid=00000000-0000-4000-8000-000000000000 param-name=order
expect 2 'not an integer' vm-param-set uuid=$WEB order=two
expect 2 'nothing to set' vm-param-set uuid=$WEB

echo "== pool parameters"
expect 0 '' pool-param-set ha-host-failures-to-tolerate=1
[[ $(hv pool-param-get param-name=ha-host-failures-to-tolerate) == 1 ]] || die "ntol not set"
expect 1 'INVALID_VALUE' pool-param-set ha-host-failures-to-tolerate=-1

echo "== authentication"
out=$(HASVC_PASSWORD=wrong hv pool-list 2>&1) && rc=0 || rc=$?
[[ $rc -eq 1 ]] && grep -q 'SESSION_AUTHENTICATION_FAILED' <<<"$out" || die "wrong password: exit $rc: $out"
out=$(HASVC_PASSWORD= "$HASVC" -s 127.0.0.1 -p "$PORT" --no-verify pool-list 2>&1) && rc=0 || rc=$?
[[ $rc -eq 2 ]] && grep -q 'no password' <<<"$out" || die "no password: exit $rc: $out"
[[ $("$HASVC" -s 127.0.0.1 -p "$PORT" --no-verify -pwf "$T/root-pw" pool-list --minimal) =~ ^[0-9a-f-]{36}$ ]] ||
	die "-pwf"

echo "== TLS and connection errors"
out=$("$HASVC" -s 127.0.0.1 -p "$PORT" pool-list 2>&1) && rc=0 || rc=$?
[[ $rc -eq 3 ]] && grep -q 'certificate' <<<"$out" || die "self-signed certificate: exit $rc: $out"
CERT=$(sed -n 's|.*<certificate>\(.*\)</certificate>.*|\1|p' "$T/hasvcd.conf")
CERT=${CERT:-$T/data/xapi-ssl.pem}
if [[ -f $CERT ]]; then
	"$HASVC" -s 127.0.0.1 -p "$PORT" --cacert "$CERT" pool-list >/dev/null || die "--cacert $CERT refused"
	echo "ok: --cacert"
fi
out=$("$HASVC" -s 127.0.0.1 -p 1 --no-verify pool-list 2>&1) && rc=0 || rc=$?
[[ $rc -eq 3 ]] && grep -q 'cannot reach' <<<"$out" || die "closed port: exit $rc: $out"

echo "== event-watch"
# Run hasvc itself in the background (not the hv function's subshell, which
# would ignore SIGINT as every asynchronous job of a script does).
"$HASVC" -s 127.0.0.1 -p "$PORT" --no-verify event-watch class=vm >"$T/events.out" 2>"$T/events.err" &
watch_pid=$!
started+=($watch_pid)
sleep 1 # event-watch takes its starting token first
hv vm-param-set uuid=$DB1 order=7
wait_for 10 "the change in event-watch" grep -q "^vm mod $DB1\$" "$T/events.out"
kill -INT $watch_pid
wait $watch_pid && rc=0 || rc=$?
[[ $rc -eq 0 ]] || die "event-watch: exit $rc after SIGINT: $(cat "$T/events.err")"
echo "ok: event-watch printed 'vm mod $DB1' and stopped on SIGINT"

echo "== users"
printf 'op-pass\n' >"$T/op.pw"
expect 0 '' user-add name=op role=pool-operator password-file="$T/op.pw"
printf 'ro-pass\n' | hv user-add name=ro role=read-only || die "user-add from stdin"
expect 0 'op' user-list name=op --minimal
expect 2 'never an argument' user-add name=x role=read-only password=p
HASVC_PASSWORD=op-pass hv -u op vm-param-set uuid=$DB1 ha-restart-priority=best-effort ||
	die "pool-operator may change VM HA policy"
out=$(HASVC_PASSWORD=ro-pass hv -u ro vm-param-set uuid=$DB1 order=1 2>&1) && rc=0 || rc=$?
[[ $rc -eq 1 ]] && grep -q RBAC_PERMISSION_DENIED <<<"$out" || die "read-only wrote: exit $rc: $out"
expect 0 '' user-set-role name=ro role=pool-operator
HASVC_PASSWORD=ro-pass hv -u ro vm-param-set uuid=$DB1 order=1 || die "role change not applied"
expect 0 '' user-remove name=ro
out=$(HASVC_PASSWORD=ro-pass hv -u ro pool-list 2>&1) && rc=0 || rc=$?
[[ $rc -eq 1 ]] && grep -q SESSION_AUTHENTICATION_FAILED <<<"$out" || die "removed user logged in: $out"

echo "== messages, HA"
expect 0 '' message-list
expect 0 '^[0-9]+$' pool-ha-compute-max-host-failures-to-tolerate
expect 0 '^[0-9]+$' pool-ha-compute-hypothetical-max-host-failures-to-tolerate \
	vm-uuids=$DB1,$WEB priorities=restart,best-effort
expect 1 'INVALID_VALUE' pool-ha-compute-hypothetical-max-host-failures-to-tolerate \
	vm-uuids=$DB1 priorities=always
expect 2 'as many entries' pool-ha-compute-hypothetical-max-host-failures-to-tolerate \
	vm-uuids=$DB1,$WEB priorities=restart
expect 0 '^true$' pool-ha-failover-plan-exists n=0
expect 2 'n= is required' pool-ha-failover-plan-exists
expect 0 '^VM +TARGET HOST +ORDER|no protected VM' pool-ha-what-if host-uuids=$HOST
expect 2 'is not a uuid' pool-ha-what-if host-uuids=h1
expect 1 'HANDLE_INVALID' pool-ha-what-if host-uuids=00000000-0000-4000-8000-000000000000
expect 0 'HOST +PLAN +RESTART +CANNOT RESTART' pool-ha-single-failure-plans
expect 0 '"current": *(true|false)' pool-ha-single-failure-plans --json
expect 2 'not an integer' pool-ha-enable ha-config:timeout=soon

echo "== the live pool as the offline planner's input"
hv pool-export-plan-input file="$T/pool.json" || die "pool-export-plan-input failed"
python3 -m json.tool "$T/pool.json" >/dev/null || die "the export is not JSON"
grep -q '"ha_host_failures_to_tolerate"' "$T/pool.json" || die "the export lacks the target"
out=$("$BINDIR/hasvc-plan" --pool "$T/pool.json" 2>&1) || die "hasvc-plan refused the export: $out"
grep -qE '^ntol: [0-9-]+' <<<"$out" || die "hasvc-plan on the export: $out"
# The offline answer agrees with the live pool's (same planner, same data).
live=$(hv pool-ha-compute-max-host-failures-to-tolerate)
off=$(sed -nE 's/^ntol: ([0-9-]+).*/\1/p' <<<"$out")
((off < 0)) && off=0
[[ $live == "$off" ]] || die "live ntol $live but offline $off"
echo "ok: export -> hasvc-plan: ntol $off, as the live pool says"

echo "== usage errors"
expect 2 "unknown command 'frobnicate'" frobnicate
expect 2 'unknown parameter colour' vm-list colour=blue
expect 2 'uuid= is required' vm-param-get param-name=order

kill -0 "$hasvcd_pid" || die "hasvcd died"
echo "cli_api: all checks passed"
