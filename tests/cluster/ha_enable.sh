#!/usr/bin/env bash
# pool.enable_ha / pool.disable_ha start and stop HA on every host of a
# running pool (hasvc/cluster.c follows the replicated ha_enabled):
#   1. a 3-host pool with HA on: every watchdog armed (simhv shows it);
#   2. disable, enable, disable, enable: each disable leaves no armed
#      watchdog behind on any host and every engine off; each enable brings
#      every engine back steady with its watchdog armed; nobody is reset;
#   3. with the statefile failing on every host (EIO), disable still
#      succeeds and disarms everyone; enable again once it works (a new
#      statefile generation each time);
#   4. host3 fenced (a 2|1 cut) and booted stays out of the pool; disable +
#      enable admit it again: a new statefile generation, every engine
#      starting afresh, host3 in the liveset with its watchdog armed.
# xapi's errors: a second enable is HA_IS_ENABLED, a second disable
# HA_NOT_ENABLED, and the pool stays as it was.
source "$(dirname "$0")/common.bash"
[[ -e /dev/fuse ]] || { echo "no /dev/fuse"; exit 77; }
command -v fusermount3 >/dev/null || { echo "fusermount3 is not installed (make deps)"; exit 77; }

lab up --hosts 3 >/dev/null
wait_for 60 "three ready hosts" all_ready host1 host2 host3
H=(host1 host2 host3)

armed_all() {
	local h
	for h in "${H[@]}"; do
		[[ $(liv "$h" '.state') == steady && $(liv "$h" '.live | length') == 3 ]] || return 1
		simhv "$h" | grep -qx 'watchdog: armed 1000 ms' || return 1
	done
}
off_all() {
	local h
	for h in "${H[@]}"; do
		[[ $(liv "$h" '.state') == off ]] || return 1
		simhv "$h" | grep -qx 'watchdog: disarmed' || return 1
	done
}

echo "== 1: HA on"
wait_for 30 "every host steady with its watchdog armed" armed_all
out=$(lab exec host2 hasvc pool-ha-enable 2>&1) && die "a second enable succeeded: $out"
[[ $out == *HA_IS_ENABLED* ]] || die "a second enable: $out"

echo "== 2: disable, enable, disable, enable"
for round in 1 2; do
	lab exec host2 hasvc pool-ha-disable >/dev/null
	wait_for 10 "every engine off, every watchdog disarmed (round $round)" off_all
	out=$(lab exec host3 hasvc pool-ha-disable 2>&1) && die "a second disable succeeded: $out"
	[[ $out == *HA_NOT_ENABLED* ]] || die "a second disable: $out"
	sleep 2
	no_resets "${H[@]}"
	lab exec host1 hasvc pool-ha-enable >/dev/null
	wait_for 30 "every host steady and armed again (round $round)" armed_all
	no_resets "${H[@]}"
	echo "round $round: off and on again, no reset"
done

echo "== 3: disable with the statefile failing everywhere"
for h in "${H[@]}"; do lab storage "$h" error >/dev/null; done
noaccess() { [[ $(liv host1 '.storage_access') == false ]]; }
wait_for 20 "host1 without storage access" noaccess
lab exec host1 hasvc pool-ha-disable >/dev/null
wait_for 10 "every engine off, every watchdog disarmed" off_all
no_resets "${H[@]}"
for h in "${H[@]}"; do lab storage "$h" ok >/dev/null; done
lab exec host1 hasvc pool-ha-enable >/dev/null
wait_for 30 "every host steady and armed again" armed_all
no_resets "${H[@]}"

echo "== 4: a fenced host is admitted again by disable + enable"
lab partition host3 host1,host2 >/dev/null
reset3() { [[ $(resets host3) == 1 ]]; }
wait_for 30 "host3 fenced" reset3
lab heal >/dev/null
lab boot host3 >/dev/null
out3() { [[ $(liv host3 '.state') == out ]]; }
wait_for 60 "host3 back, out of the pool" out3
lab exec host1 hasvc pool-ha-disable >/dev/null
wait_for 10 "every engine off, every watchdog disarmed" off_all
grep -q "pool.enable_ha: statefile .* renewed: generation" "$HASVC_LAB_DIR"/host*/hasvcd.log ||
	die "no enable renewed the statefile"
lab exec host1 hasvc pool-ha-enable >/dev/null
wait_for 30 "host3 in the liveset again, every watchdog armed" armed_all
[[ $(resets host3) == 1 ]] || die "host3 was reset again"
lab exec host1 hasvc pool-ha-disable >/dev/null
wait_for 10 "no armed watchdog left behind" off_all
lab check
echo "ha_enable: ok"
