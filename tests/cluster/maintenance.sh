#!/usr/bin/env bash
# The HA maintenance window (pool.ha_maintenance_for, `hasvc
# pool-ha-maintenance`; docs/protocol.md, "Maintenance"): upgrades without a
# fence.
#   1. a 3-host pool with HA on and every watchdog armed;
#   2. a 60 s window: every watchdog disarmed;
#   3. in it, corosync is restarted on host2 (down for 3 s) and host3's hasvcd
#      is killed and started again 8 s later (past any lease): nobody is
#      reset, and every host is steady again with the liveset of 3;
#   4. the window is cut short: every watchdog armed again, nobody reset;
#   5. a 5 s window ends by itself: disarmed, then armed again;
#   6. without a window, corosync down for 6 s on host2 fences host2 --
#      which is what the window is for.
source "$(dirname "$0")/common.bash"
[[ -e /dev/fuse ]] || { echo "no /dev/fuse"; exit 77; }
command -v fusermount3 >/dev/null || { echo "fusermount3 is not installed (make deps)"; exit 77; }

lab up --hosts 3 >/dev/null
wait_for 60 "three ready hosts" all_ready host1 host2 host3
H=(host1 host2 host3)

wd_all() { # wd_all armed|disarmed
	local h want=$1
	[[ $want == armed ]] && want='armed 1000 ms'
	for h in "${H[@]}"; do
		simhv "$h" | grep -qx "watchdog: $want" || return 1
	done
}
steady3() {
	local h
	for h in "${H[@]}"; do
		[[ $(liv "$h" '.state') == steady && $(liv "$h" '.live | length') == 3 ]] || return 1
	done
}

echo "== 1: HA on"
wait_for 30 "every host steady" steady3
wait_for 10 "every watchdog armed" wd_all armed

echo "== 2: a 60 s maintenance window"
lab exec host1 hasvc pool-ha-maintenance seconds=60 >/dev/null
wait_for 10 "every watchdog disarmed" wd_all disarmed
[[ $(liv host2 '.fence_state') == suspended ]] || die "host2's fence machine: $(liv host2 '.fence_state')"

echo "== 3: corosync restarted on host2, hasvcd on host3 down for 8 s"
lab kill host2 corosync >/dev/null
sleep 3
lab start host2 corosync >/dev/null
lab kill host3 hasvcd >/dev/null
sleep 8
lab start host3 hasvcd >/dev/null
wait_for 60 "every host steady with the liveset of 3" steady3
no_resets "${H[@]}"
lab check

echo "== 4: the window cut short"
lab exec host1 hasvc pool-ha-maintenance seconds=0 >/dev/null
wait_for 10 "every watchdog armed again" wd_all armed
sleep 3
steady3 || die "a host is not steady after the window"
no_resets "${H[@]}"

echo "== 5: a 5 s window ends by itself"
lab exec host3 hasvc pool-ha-maintenance seconds=5 >/dev/null
wait_for 10 "every watchdog disarmed" wd_all disarmed
wait_for 15 "every watchdog armed again at the window's end" wd_all armed
sleep 3
steady3 || die "a host is not steady after the window"
no_resets "${H[@]}"
lab check

echo "== 6: a corosync restart without a window fences host2"
lab kill host2 corosync >/dev/null
sleep 6 # longer than T_decide (4.6 s): whatever the others decide, host2 cannot wait
lab start host2 corosync >/dev/null || true
reset2() { [[ $(resets host2) == 1 ]]; }
wait_for 30 "host2 to be fenced" reset2
echo "host2: $(simhv host2 | grep -E '^last-reset-reason:')"
lab check
echo "maintenance: ok"
