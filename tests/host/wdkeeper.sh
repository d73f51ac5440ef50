#!/usr/bin/env bash
# The watchdog keeper (hasvc-wdkeeper, docs/fencing.md "The keeper") on a real
# hasvc-simhv host with the sim driver, the daemon played by
# `hasvc-wdkeeper ctl`.  W = 2 s, pet every 500 ms.  Timing bounds are
# generous: "not reset before lease - 500 ms", "reset within lease + W + 3 s".
#   (a) arm, pet with a lease of now + 3 s, the daemon exits: the keeper pets
#       on, so the host is armed and NOT reset before the lease, and is reset
#       ("watchdog timeout") after lease + W; the reset kills the keeper (it
#       is registered with simhv, as on a real host);
#   (b) a hung daemon: connected, lease now + 60 s, then silent: reset within
#       W + 2 pets (+ slack), long before the lease;
#   (c) a restarted daemon within the lease takes over without a reset;
#       disarm: simhv shows it disarmed, no reset follows; SIGTERM while
#       disarmed exits 0;
#   (d) SIGTERM while armed exits 1 WITHOUT disarming: the host is reset W later;
#   (e) reset REASON: simhv records "self-reset: REASON".
# Also: the socket is 0600 in a directory the keeper made 0700, a stale
# socket is replaced, a second connection is refused while one is open.
. "$(dirname "$0")/common.bash"
for b in hasvc-simhv hasvc-wdkeeper; do
	[[ -x $BINDIR/$b ]] || { echo "no $BINDIR/$b"; exit 77; }
done
KSOCK=$T/keeper/wdkeeper.sock
W=2000
PET=500

start_simhv h1
cat >"$T/hasvcd.conf" <<EOC
<?xml version="1.0"?>
<hasvcd version="1">
  <host-uuid>0c0ffee0-0000-4000-8000-00000000c0de</host-uuid>
  <management-address>127.0.0.1</management-address>
  <data-dir>$T/data</data-dir>
  <watchdog><driver>sim</driver><timeout>2s</timeout><keeper-socket>$KSOCK</keeper-socket></watchdog>
  <hypervisor><backend>sim</backend><socket>$T/h1.sock</socket></hypervisor>
  <log><level>debug</level><syslog>false</syslog></log>
</hasvcd>
EOC

keeper_pid=
start_keeper() {
	"$BINDIR/hasvc-wdkeeper" -c "$T/hasvcd.conf" -f >>"$T/wdkeeper.log" 2>&1 &
	keeper_pid=$!
	started+=($keeper_pid)
	wait_for 10 "the keeper's socket" "$BINDIR/hasvc-wdkeeper" ctl "$KSOCK" hello
}
kctl() { "$BINDIR/hasvc-wdkeeper" ctl "$KSOCK" "$@"; }
now_ms() { echo $(($(cut -d' ' -f1 /proc/uptime | tr -d .) * 10)); }
resets() { [[ -f $T/h1-state/resets.log ]] && wc -l <"$T/h1-state/resets.log" || echo 0; }
power_on() {
	ctl h1 power-on >/dev/null
	wait_for 5 "power on" sh -c "'$BINDIR/hasvc-simhv' ctl '$T/h1.sock' status | grep -q 'power: on'"
}
keeper_dead() { ! kill -0 "$keeper_pid" 2>/dev/null; }
# expect_reset N WHAT SECONDS: the Nth reset, with WHAT in its line, within SECONDS.
expect_reset() {
	wait_for "$3" "reset $1 ($2)" sh -c "[ \$(wc -l <'$T/h1-state/resets.log' 2>/dev/null || echo 0) -ge $1 ]"
	sed -n "${1}p" "$T/h1-state/resets.log" | grep -q "$2" || die "reset $1 is not '$2': $(cat "$T/h1-state/resets.log")"
	wait_for 5 "the keeper to be killed by the reset" keeper_dead
}

echo "== the socket"
start_keeper
[[ $(stat -c %a "$KSOCK") == 600 ]] || die "socket mode $(stat -c %a "$KSOCK")"
[[ $(stat -c %a "$T/keeper") == 700 ]] || die "socket dir mode $(stat -c %a "$T/keeper")"
kctl hello | tee "$T/hello.out"
grep -qx "armed: 0" "$T/hello.out" || die "a new keeper is armed"
# One daemon at a time: a second connection is closed at once.
"$BINDIR/hasvc-wdkeeper" ctl "$KSOCK" hold 3 & # not kctl: $! must be the client
holder=$!
started+=($holder)
sleep 0.5
if kctl hello >/dev/null 2>&1; then die "a second connection was served"; fi
kill "$holder"; wait "$holder" 2>/dev/null || true
grep -q "another connection closed" "$T/wdkeeper.log" || die "no log line for the refused connection"

echo "== (a) the daemon exits: the keeper pets until the lease, then the host is reset"
t0=$(now_ms)
kctl arm $W $PET pet +3000 | tee "$T/a.out"
grep -qx "armed: 1" "$T/a.out" || die "not armed"
grep -qx "timeout-ms: $W" "$T/a.out" || die "wrong timeout"
ctl h1 status | grep -q "watchdog: armed $W ms" || die "simhv: watchdog not armed"
# Not reset before lease - 500 ms (W alone would have fired at t0 + 2 s).
while (($(now_ms) < t0 + 2500)); do
	(($(resets) == 0)) || die "reset before the lease ran out"
	sleep 0.1
done
ctl h1 status | grep -q "watchdog: armed" || die "simhv: watchdog not armed before the lease"
kill -0 "$keeper_pid" || die "the keeper died before the lease"
expect_reset 1 "watchdog timeout" 8 # lease (3 s) + W (2 s) + 3 s, from t0
t1=$(now_ms)
((t1 - t0 >= 3000)) || die "reset after $((t1 - t0)) ms, before the lease"
grep -q "daemon gone (pid [0-9]*), petting until lease" "$T/wdkeeper.log" || die "no 'daemon gone' log"
grep -q "lease ran out" "$T/wdkeeper.log" || die "no 'lease ran out' log"

echo "== (b) a hung daemon is reset within W + 2 pets"
power_on
start_keeper # over the socket the killed keeper left: stale, replaced
grep -q "replacing the stale socket" "$T/wdkeeper.log" || die "stale socket not replaced"
t0=$(now_ms)
"$BINDIR/hasvc-wdkeeper" ctl "$KSOCK" arm $W $PET pet +60000 hold 30 >"$T/b.out" &
hung=$!
started+=($hung)
expect_reset 2 "watchdog timeout" 8 # W + 2 pets = 3 s, + slack
t1=$(now_ms)
((t1 - t0 < 10000)) || die "hung daemon reset only after $((t1 - t0)) ms"
grep -q "hung daemon: pets stopped" "$T/wdkeeper.log" || die "no 'hung daemon' log"
kill "$hung" 2>/dev/null || true
wait "$hung" 2>/dev/null || true

echo "== (c) a restarted daemon takes over within the lease; disarm; SIGTERM disarmed"
power_on
start_keeper
t0=$(now_ms)
kctl arm $W $PET pet +3000 >/dev/null
sleep 1.5 # "killed", restarted: same arm (no driver action), a new lease
kctl arm $W $PET pet +5000 >"$T/c.out"
grep -qx "armed: 1" "$T/c.out" || die "not armed after the restart"
while (($(now_ms) < t0 + 5500)); do # past the first lease + W
	(($(resets) == 2)) || die "reset although the restarted daemon renewed the lease"
	sleep 0.1
done
kctl disarm | tee "$T/c2.out"
grep -qx "armed: 0" "$T/c2.out" || die "not disarmed"
ctl h1 status | grep -q "watchdog: disarmed" || die "simhv: watchdog not disarmed"
sleep 3 # > W: nothing fires
(($(resets) == 2)) || die "a reset after disarm"
kill -TERM "$keeper_pid"
rc=0
wait "$keeper_pid" || rc=$?
((rc == 0)) || die "SIGTERM while disarmed: exit $rc"
grep -q "exiting, the watchdog is disarmed" "$T/wdkeeper.log" || die "no disarmed exit log"

echo "== (d) SIGTERM while armed: exit 1, not disarmed, reset W later"
start_keeper
kctl arm $W $PET pet +60000 >/dev/null
kill -TERM "$keeper_pid"
rc=0
wait "$keeper_pid" || rc=$?
((rc == 1)) || die "SIGTERM while armed: exit $rc"
grep -q "exiting with the watchdog ARMED" "$T/wdkeeper.log" || die "no loud armed-exit log"
ctl h1 status | grep -q "watchdog: armed" || die "the keeper disarmed on SIGTERM"
expect_reset 3 "watchdog timeout" 6

echo "== (e) reset REASON"
power_on
start_keeper
kctl arm $W $PET pet +60000 >/dev/null
kctl reset "wdkeeper test fence" || true
expect_reset 4 "self-reset: wdkeeper test fence" 5
ctl h1 status | grep -q "last-reset-reason: self-reset: wdkeeper test fence" || die "simhv status reason"
cat "$T/h1-state/resets.log"
echo "wdkeeper: lease, hung daemon, restart, disarm, SIGTERM and reset all behave"
