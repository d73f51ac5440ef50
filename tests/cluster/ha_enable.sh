#!/usr/bin/env bash
# pool.enable_ha / pool.disable_ha start and stop HA on every host of a
# running pool (hasvc/cluster.c follows the replicated ha_enabled):
#   1. a 3-host pool with HA on: every watchdog armed (simhv shows it);
#   2. disable, enable, disable, enable: each disable leaves no armed
#      watchdog behind on any host and every engine off; each enable brings
#      every engine back steady with its watchdog armed; nobody is reset;
#   3. with the statefile failing on every host (EIO), disable still
#      succeeds and disarms everyone; enable again once it works.
# xapi's errors: a second enable is HA_IS_ENABLED, a second disable
# HA_NOT_ENABLED, and the pool stays as it was.
source "$(dirname "$0")/common.bash"
[[ -e /dev/fuse ]] || { echo "no /dev/fuse"; exit 77; }
command -v fusermount3 >/dev/null || { echo "fusermount3 is not installed (make deps)"; exit 77; }

lab up --hosts 3 >/dev/null
wait_for 60 "three ready hosts" all_ready host1 host2 host3
H=(host1 host2 host3)

liv() { cstatus "$1" | jq -r ".liveness | $2"; }
simhv() { "$BINDIR/hasvc-simhv" ctl "$HASVC_LAB_DIR/$1/simhv.sock" status 2>/dev/null; }
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
no_resets() {
	local h
	for h in "${H[@]}"; do
		[[ $(simhv "$h" | sed -n 's/^resets: //p') == 0 ]] ||
			die "$h was reset: $(simhv "$h" | grep reset)"
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
	no_resets
	lab exec host1 hasvc pool-ha-enable >/dev/null
	wait_for 30 "every host steady and armed again (round $round)" armed_all
	no_resets
	echo "round $round: off and on again, no reset"
done

echo "== 3: disable with the statefile failing everywhere"
for h in "${H[@]}"; do lab storage "$h" error >/dev/null; done
noaccess() { [[ $(liv host1 '.storage_access') == false ]]; }
wait_for 20 "host1 without storage access" noaccess
lab exec host1 hasvc pool-ha-disable >/dev/null
wait_for 10 "every engine off, every watchdog disarmed" off_all
no_resets
for h in "${H[@]}"; do lab storage "$h" ok >/dev/null; done
lab exec host1 hasvc pool-ha-enable >/dev/null
wait_for 30 "every host steady and armed again" armed_all
lab exec host1 hasvc pool-ha-disable >/dev/null
wait_for 10 "no armed watchdog left behind" off_all
no_resets
lab check
echo "ha_enable: ok"
