#!/usr/bin/env bash
# VM power and host maintenance through the API on one standalone host
# (hasvc-simhv + hasvcd; hasvc/api_host.c, docs/api.md "Host maintenance and
# VM power"):
#  1. bad refs and names get clear errors (HANDLE_INVALID, UUID_INVALID, the
#     CLI's "no VM has ..."), and usage errors exit 2 before any call;
#  2. host-disable / host-enable toggle host.enabled, twice each
#     (idempotent); host-evacuate of an enabled host is HOST_NOT_DISABLED;
#  3. vm-shutdown (clean) of a running VM: the domain goes away in simhv,
#     the VM is Halted with no resident host and ha-always-run false;
#  4. shutting a halted VM down is VM_BAD_POWER_STATE [ref, expected,
#     actual] and the daemon keeps serving;
#  5. host-evacuate with HA off is HA_NOT_ENABLED (the restart half is the
#     failover executor's, which runs only with HA on);
#  6. with HA on, host-disable of the only host while a protected VM runs is
#     HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN; disabled (with HA off), then
#     HA on again, host-evacuate with no other host is NO_HOSTS_AVAILABLE
#     and leaves every VM running where it was;
#  7. vm-shutdown --force (hard) of a protected VM with HA on: it stops and
#     stays halted (ha-always-run cleared, so HA does not restart it);
#  8. the ledger shows no VM on two hosts at once; hasvcd exits 0 on SIGTERM
#     with no sanitizer report.
. "$(dirname "$0")/common.bash"
HOST=3c9d2e1f-7a4b-4c5d-8e6f-9a0b1c2d3e4f
NOVM=00000000-0000-4000-8000-000000000000
HASVC=$BINDIR/hasvc
command -v curl >/dev/null || { echo "needs curl"; exit 77; }

start_simhv h1 --memory 16384 --dom0-memory 1024 --boot-ms 50
write_conf $HOST h1 10s
db init name-label=power-pool >/dev/null
db host-add uuid=$HOST name-label=h1 address=127.0.0.1 memory-total=16GiB >/dev/null
# A: protected, running; B: unprotected, running; C: protected, running;
# H: halted.  Their domains run already, so reconciliation keeps them.
A=$(db vm-add name-label=vm-a memory-static-max=1GiB ha-restart-priority=restart ha-always-run=true resident-on=$HOST power-state=Running)
B=$(db vm-add name-label=vm-b memory-static-max=1GiB resident-on=$HOST power-state=Running)
C=$(db vm-add name-label=vm-c memory-static-max=2GiB ha-restart-priority=restart ha-always-run=true resident-on=$HOST power-state=Running)
H=$(db vm-add name-label=vm-h memory-static-max=1GiB power-state=Halted)
for vm in $A $B $C; do ctl h1 start "$vm" 1024 >/dev/null; done
start_hasvcd
wait_api

export HASVC_PASSWORD=$ROOT_PW
hv() { "$HASVC" -s 127.0.0.1 -p "$API_PORT" --no-verify "$@"; }
# expect CODE REGEX ARGS...: exit status and combined output.
expect() {
	local want=$1 re=$2 out rc
	shift 2
	out=$(hv "$@" 2>&1) && rc=0 || rc=$?
	[[ $rc -eq $want ]] || die "hasvc $*: exit $rc, want $want; output: $out"
	grep -qE -- "$re" <<<"$out" || die "hasvc $*: output does not match /$re/: $out"
	echo "ok: hasvc $* -> $rc"
}
vmget() { hv vm-param-get uuid="$1" param-name="$2"; }
running_in_simhv() { ctl h1 list | grep "$1" | grep -q running; }
gone_from_simhv() { ! running_in_simhv "$1"; }
halted() { [[ $(vmget "$1" power-state) == Halted ]]; }
serving() { kill -0 "$hasvcd_pid" && hv pool-list --minimal >/dev/null; }

SESSION=$(jsonrpc session.login_with_password "[\"root\",\"$ROOT_PW\"]" | sed -E 's/.*"result":"([^"]+)".*/\1/')
[[ $SESSION == OpaqueRef:* ]] || die "login failed: $SESSION"
call() { jsonrpc "$1" "[\"$SESSION\"${2:+,$2}]"; }
wait_for 15 "A, B and C recorded Running here" sh -c "[ \"\$('$HASVC' -s 127.0.0.1 -p $API_PORT --no-verify vm-list power-state=Running resident-on=$HOST --minimal | tr , '\n' | grep -c .)\" -eq 3 ]"

echo "== 1: bad refs and names"
out=$(call VM.clean_shutdown '"OpaqueRef:nonsense"')
grep -q '"HANDLE_INVALID"' <<<"$out" || die "VM.clean_shutdown of a malformed ref: $out"
out=$(call VM.hard_shutdown "\"OpaqueRef:$NOVM\"")
grep -q '"HANDLE_INVALID".*"VM"' <<<"$out" || die "VM.hard_shutdown of an unknown VM: $out"
out=$(call host.disable "\"OpaqueRef:$NOVM\"")
grep -q '"HANDLE_INVALID".*"host"' <<<"$out" || die "host.disable of an unknown host: $out"
out=$(call host.evacuate '42')
grep -q 'FIELD_TYPE_ERROR' <<<"$out" || die "host.evacuate of an int: $out"
out=$(call VM.clean_shutdown)
grep -q 'MESSAGE_PARAMETER_COUNT_MISMATCH' <<<"$out" || die "VM.clean_shutdown without a VM: $out"
expect 1 'UUID_INVALID' vm-shutdown vm=$NOVM
expect 1 "no VM has the uuid or name-label 'no-such-vm'" vm-shutdown vm=no-such-vm
expect 1 "no host has the uuid or name-label 'h9'" host-disable host=h9
expect 2 'vm= is required' vm-shutdown
expect 2 'not both' host-enable host=h1 uuid=$HOST
expect 2 'colour' vm-shutdown vm=vm-a colour=red
running_in_simhv $A || die "a refused call stopped A"

echo "== 2: host-disable / host-enable"
[[ $(hv host-param-get uuid=$HOST param-name=enabled) == true ]] || die "the host starts disabled"
expect 1 'HOST_NOT_DISABLED' host-evacuate host=h1
expect 0 '' host-disable host=h1
[[ $(hv host-param-get uuid=$HOST param-name=enabled) == false ]] || die "host-disable: still enabled"
expect 0 '' host-disable uuid=$HOST
[[ $(hv host-param-get uuid=$HOST param-name=enabled) == false ]] || die "a second host-disable enabled it"
expect 0 '' host-enable host=$HOST
[[ $(hv host-param-get uuid=$HOST param-name=enabled) == true ]] || die "host-enable: still disabled"
expect 0 '' host-enable host=h1
[[ $(hv host-param-get uuid=$HOST param-name=enabled) == true ]] || die "a second host-enable disabled it"

echo "== 3: vm-shutdown of a running VM"
[[ $(vmget $A ha-always-run) == true ]] || die "A is not always-run to begin with"
expect 0 '' vm-shutdown vm=vm-a
wait_for 15 "A's domain gone from simhv" gone_from_simhv $A
wait_for 15 "A Halted in the database" halted $A
[[ $(vmget $A ha-always-run) == false ]] || die "vm-shutdown left ha-always-run on"
r=$(vmget $A resident-on)
[[ $r == "" || $r == "<not in database>" || $r == OpaqueRef:NULL ]] || die "A still resident: $r"
grep -q "$A stop" "$T/ledger" || die "the ledger has no stop of A: $(cat "$T/ledger")"
running_in_simhv $B && running_in_simhv $C || die "stopping A stopped another VM"
echo "A: halted, domain gone, ha-always-run false"

echo "== 4: shutting a halted VM down"
out=$(call VM.clean_shutdown "\"OpaqueRef:$H\"")
grep -q "\"VM_BAD_POWER_STATE\",\"data\":\[\"OpaqueRef:$H\",\"running, paused\",\"halted\"\]" <<<"$out" ||
	die "VM.clean_shutdown of a halted VM: $out"
expect 1 'VM_BAD_POWER_STATE' vm-shutdown vm=$A --force
serving || die "the daemon stopped serving after VM_BAD_POWER_STATE"

echo "== 5: host-evacuate with HA off"
expect 0 '' host-disable host=h1
expect 1 'HA_NOT_ENABLED' host-evacuate host=h1
expect 0 '' host-enable host=h1

echo "== 6: the plan check and a pool with no other host"
expect 0 '' pool-ha-enable
expect 1 'HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN' host-disable host=h1
[[ $(hv host-param-get uuid=$HOST param-name=enabled) == true ]] || die "a refused host-disable disabled the host"
expect 0 '' pool-ha-disable
expect 0 '' host-disable host=h1
expect 0 '' pool-ha-enable
expect 1 'NO_HOSTS_AVAILABLE' host-evacuate host=h1
sleep 1
running_in_simhv $B && running_in_simhv $C || die "a refused evacuation stopped a VM"
[[ $(vmget $C power-state) == Running && $(vmget $B power-state) == Running ]] ||
	die "a refused evacuation changed a VM"
expect 0 '' host-enable host=h1

echo "== 7: vm-shutdown --force of a protected VM with HA on"
expect 0 '' vm-shutdown vm=$C --force
wait_for 15 "C's domain gone from simhv" gone_from_simhv $C
wait_for 15 "C Halted in the database" halted $C
[[ $(vmget $C ha-always-run) == false ]] || die "vm-shutdown --force left ha-always-run on"
sleep 3 # HA must not start it again
halted $C && gone_from_simhv $C || die "HA restarted C after its shutdown"
[[ $(grep -c "$C start" "$T/ledger") -eq 1 ]] || die "C started again: $(grep "$C" "$T/ledger")"
expect 0 '' vm-shutdown vm=vm-b
wait_for 15 "B Halted" halted $B
gone_from_simhv $B || die "B still runs"
serving || die "the daemon stopped serving"

echo "== 8: the ledger"
"$BINDIR/hasvc-simhv" --check-ledger "$T/ledger" || die "a VM ran twice"
kill -TERM "$hasvcd_pid"
rc=0; wait "$hasvcd_pid" || rc=$?
[[ $rc -eq 0 ]] || die "hasvcd exited $rc on SIGTERM"
! grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' -e 'ERROR: LeakSanitizer' "$T/hasvcd.log" ||
	die "sanitizer report in hasvcd.log"
echo "vm_power: ok"
