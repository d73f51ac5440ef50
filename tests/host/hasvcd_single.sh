#!/usr/bin/env bash
# A single simulated host: hasvc-simhv + hasvcd.
#  1. reconciliation: VMs the DB marks Running here come up in simhv
#     (protected, best-effort), unprotected ones are marked Halted, a domain
#     that runs but the DB has as Halted is recorded as Running here, and a
#     domain unknown to the DB is left alone;
#  2. host metrics reach the DB;
#  3. a protected VM that crashes is reaped and restarted;
#  4. hasvcd with HA enabled leaves simhv's watchdog alone (it belongs to the
#     fence state machine and its keeper, docs/architecture.md; no keeper runs
#     here); a host reset (simhv `reset`, as a self-fence asks) kills hasvcd,
#     halts the domains and records the reason;
#  5. after power-on, a new hasvcd restores the protected VMs; SIGTERM makes it
#     exit 0, the watchdog is still untouched, and the host is not reset;
#  6. the ledger shows no VM on two hosts at once.
. "$(dirname "$0")/common.bash"
HOST=7a1f0c2e-5b3d-4e8f-9a6b-0c1d2e3f4a5b
FOREIGN=0badf00d-0000-4000-8000-000000000001

start_simhv h1 --memory 16384 --dom0-memory 1024 --boot-ms 50
write_conf $HOST h1 1s
db init name-label=test-pool >/dev/null
db host-add uuid=$HOST name-label=h1 address=127.0.0.1 memory-total=16GiB >/dev/null
P1=$(db vm-add name-label=p1 memory-static-max=1GiB ha-restart-priority=restart ha-always-run=true order=1 resident-on=$HOST power-state=Running)
P2=$(db vm-add name-label=p2 memory-static-max=2GiB ha-restart-priority=restart ha-always-run=true order=0 resident-on=$HOST power-state=Running)
BE=$(db vm-add name-label=be memory-static-max=1GiB ha-restart-priority=best-effort resident-on=$HOST power-state=Running)
UN=$(db vm-add name-label=un memory-static-max=1GiB resident-on=$HOST power-state=Running)
LIVE=$(db vm-add name-label=live memory-static-max=1GiB power-state=Halted)
db pool-param-set ha-enabled=true
# 'live' already runs on the hypervisor although the DB says Halted; FOREIGN is not ours.
ctl h1 start "$LIVE" 1024 >/dev/null
ctl h1 start $FOREIGN 512 >/dev/null

start_hasvcd
first=$hasvcd_pid
wait_for 15 "p1, p2, be, live and the foreign domain running" sh -c "[ \$('$BINDIR/hasvc-simhv' ctl '$T/h1.sock' list | grep -c running) -eq 5 ]"
list=$(ctl h1 list)
for vm in $P1 $P2 $BE $LIVE $FOREIGN; do grep -q "$vm" <<<"$list" || die "$vm not running: $list"; done
grep -q "$UN" <<<"$list" && die "unprotected VM was started"
wait_for 10 "DB to mark 'un' Halted" sh -c "'$BINDIR/hasvc-db' -d '$T/data/pool.db' vm-list | grep -A20 'uuid.*$UN' | grep -m1 power-state | grep -q Halted"
vm_field() { db vm-list | awk -v u="$1" -v f="$2:" '$1=="uuid:" {cur=$2} cur==u && $1==f {print $2; exit}'; }
[[ $(vm_field "$LIVE" power-state) == Running ]] || die "'live' not recorded as Running"
[[ $(vm_field "$LIVE" resident-on) == "$HOST" ]] || die "'live' not recorded as resident here"
[[ $(vm_field "$UN" resident-on) == "" || $(vm_field "$UN" resident-on) == "OpaqueRef:NULL" || $(vm_field "$UN" resident-on) == "-" ]] || die "'un' still resident: $(vm_field "$UN" resident-on)"
# restart order: p2 (order 0) was started before p1 (order 1)
grep -n "start" "$T/ledger" | grep -E "$P2|$P1" | head -n 2 | tail -n 1 | grep -q "$P1" || die "order not honoured: $(cat "$T/ledger")"
echo "reconciled: $(ctl h1 list | wc -l) domains"

wait_for 10 "host metrics in the DB" sh -c "'$BINDIR/hasvc-db' -d '$T/data/pool.db' host-list | grep -E 'memory-free' | grep -vqE ': *0$'"
echo "metrics: $(db host-list | grep -E 'memory-(total|free)|live' | tr '\n' ' ')"

ctl h1 crash "$P1" >/dev/null
wait_for 15 "p1 restarted after its crash" sh -c "'$BINDIR/hasvc-simhv' ctl '$T/h1.sock' list | grep '$P1' | grep -q running"
grep -q "$P1 stop crashed" "$T/ledger" || die "crash not in the ledger"
[[ $(grep -c "$P1 start" "$T/ledger") -eq 2 ]] || die "p1 not started exactly twice"
echo "crash: p1 restarted"

ctl h1 status >"$T/status.out"
grep -q "watchdog: disarmed" "$T/status.out" || die "hasvcd armed the watchdog: $(grep watchdog "$T/status.out")"
ctl h1 reset "test host reset" >/dev/null
wait_for 15 "the reset of the host" sh -c "! kill -0 $first 2>/dev/null || grep -q State:.*Z /proc/$first/status"
wait $first 2>/dev/null || true
ctl h1 status | tee "$T/status.out"
grep -q "last-reset-reason: self-reset: test host reset" "$T/status.out" || die "reset reason not recorded"
grep -q "test host reset" "$T/h1-state/resets.log" || die "resets.log has no reset"
[[ $(grep -c "host-reset" "$T/ledger") -eq 5 ]] || die "expected 5 host-reset stops: $(grep host-reset "$T/ledger")"
echo "reset: hasvcd $first killed, domains halted"

ctl h1 power-on >/dev/null
start_hasvcd
wait_for 15 "protected VMs back after the reset" sh -c "[ \$('$BINDIR/hasvc-simhv' ctl '$T/h1.sock' list | grep -c running) -eq 3 ]"
kill -TERM $hasvcd_pid
rc=0; wait $hasvcd_pid || rc=$?
[[ $rc -eq 0 ]] || die "hasvcd exited $rc on SIGTERM"
sleep 2.5 # more than twice the configured 1 s watchdog timeout
[[ $(grep -c . "$T/h1-state/resets.log") -eq 1 ]] || die "host was reset after a clean stop"
[[ $(count_running h1) -eq 3 ]] || die "VMs did not survive the clean stop"
ctl h1 status | grep -q "watchdog: disarmed" || die "the watchdog was armed"
echo "clean stop: watchdog untouched, host not reset"

"$BINDIR/hasvc-simhv" --check-ledger "$T/ledger" || die "ledger check failed"
