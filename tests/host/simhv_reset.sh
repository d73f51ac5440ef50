#!/usr/bin/env bash
# A watchdog reset of a simulated host: simhv with --power-on-delay 300 and
# --on-power-on 'touch FILE'; a registered `sleep` and two domains; the
# watchdog armed for 300 ms and never petted.  Afterwards: the sleep was
# SIGKILLed, no domain is left, the ledger has two host-reset stops,
# resets.log names "watchdog timeout", and FILE appears at power-on.
. "$(dirname "$0")/common.bash"
[[ -x $BINDIR/hasvc-simhv ]] || { echo "no $BINDIR/hasvc-simhv"; exit 77; }
V1=0c0ffee0-0000-4000-8000-0000000000a1
V2=0c0ffee0-0000-4000-8000-0000000000a2

start_simhv h1 --boot-ms 20 --power-on-delay 300 --on-power-on "touch '$T/powered-on'"
sleep 600 &
victim=$!
started+=($victim)
ctl h1 register-pid $victim
ctl h1 start $V1 1024 2 >/dev/null
ctl h1 start $V2 2048 >/dev/null
[[ $(ctl h1 list | wc -l) -eq 2 ]] || die "two domains expected: $(ctl h1 list)"
ctl h1 wd-arm 300
wait_for 5 "the reset" grep -q "watchdog timeout" "$T/h1-state/resets.log"
wait_for 2 "the sleep to die" sh -c "! kill -0 $victim 2>/dev/null"
rc=0
wait $victim || rc=$?
[[ $rc -eq 137 ]] || die "sleep exited $rc, expected 137 (SIGKILL)"
[[ -z $(ctl h1 list) ]] || die "domains left after the reset: $(ctl h1 list)"
[[ $(grep -c " host-reset" "$T/ledger") -eq 2 ]] || die "expected two host-reset stops: $(cat "$T/ledger")"
cat "$T/h1-state/resets.log"
wait_for 5 "power-on to run --on-power-on" test -e "$T/powered-on"
ctl h1 status | tee "$T/status.out"
grep -q "power: on" "$T/status.out" || die "host not powered on"
grep -q "last-reset-reason: watchdog timeout" "$T/status.out" || die "status reason wrong"
# The host works again and the watchdog is disarmed by the reset.
ctl h1 start $V1 1024 >/dev/null
grep -q "watchdog: disarmed" "$T/status.out" || die "watchdog still armed after the reset"
"$BINDIR/hasvc-simhv" --check-ledger "$T/ledger"
echo "reset: sleep killed, 2 domains halted, powered on again"
