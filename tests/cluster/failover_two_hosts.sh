#!/usr/bin/env bash
# A two-host pool fails over (docs/cluster.md, "Two-host pools"): the pool
# database needs both hosts for a write, except while the other host is
# certainly dead -- then the survivor alone is a majority and its failover
# executor can write.
#   1. a 2-host pool, 8 VMs;
#   2. the member is powered off: every protected VM it ran runs again on
#      the master (wait-failover); the master's log says it holds the
#      majority alone; the ledger shows each restart after the power-off;
#   3. the member boots, is admitted again: writes need both hosts again
#      (its log line), and a write through the API succeeds;
#   4. the master is powered off: the member becomes master, holds the
#      majority alone (its log) and restarts the master's protected VMs;
#   5. `hasvc-lab check`: no VM ever ran on two hosts at once.
source "$(dirname "$0")/common.bash"
need_fuse
L=$HASVC_LAB_DIR

failover_pool 2 --vms 8 --timeout 10
m=$(master)
member=host1
[[ $m != host1 ]] || member=host2
lab exec "$m" hasvc vm-list params=uuid,name-label --json |
	jq -r '.[] | "\(.["name-label"]) \(.uuid)"' >"$T/uuids"

# fail_over VICTIM SURVIVOR: VICTIM is powered off; every protected VM it
# ran starts again on SURVIVOR after the power-off (ledger), and SURVIVOR's
# log says it held the database majority alone.
fail_over() {
	local victim=$1 surv=$2 n=0 name ha host u on t0
	lab status --vms | awk 'NR > 2 {print $1, $2, $7}' >"$T/vms"
	lab poweroff "$victim" >/dev/null
	lab wait-failover --timeout 90 >/dev/null || die "the failover of $victim did not complete"
	t0=$(awk -v a="$victim" '$2 == a && $5 == "host-reset" {t = $1} END {print t}' "$L/ledger")
	[[ -n $t0 ]] || die "the power-off of $victim is not in the ledger"
	while read -r name ha host; do
		[[ $ha == protected && $host == "$victim" ]] || continue
		u=$(awk -v n="$name" '$1 == n {print $2}' "$T/uuids")
		on=$(awk -v u="$u" -v t="$t0" '$3 == u && $4 == "start" && $1 > t {print $2; exit}' "$L/ledger")
		[[ $on == "$surv" ]] || die "protected $name of $victim did not start again on $surv (${on:-nowhere})"
		n=$((n + 1))
	done <"$T/vms"
	((n >= 1)) || die "$victim ran no protected VM"
	grep -q "certainly dead: this one alone holds the majority" "$L/$surv/hasvcd.log" ||
		die "$surv's log does not say it holds the majority alone"
	echo "$n protected VMs of $victim run again on $surv"
}

echo "== power-off of the member $member (master $m)"
fail_over "$member" "$m"

echo "== $member boots and is admitted again"
lab boot "$member" >/dev/null
wait_for 90 "$member ready and steady" steady_n 2 host1 host2
wait_for 30 "$m needs both hosts again" \
	grep -q "in the liveset again: writes need both hosts" "$L/$m/hasvcd.log"
lab exec "$m" hasvc pool-param-set name-label=two-hosts >/dev/null ||
	die "a write with both hosts back was refused"

echo "== power-off of the master $m"
fail_over "$m" "$member"
[[ $(cstatus "$member" | jq -r .is_master) == true ]] || die "$member is not the master after $m's power-off"
lab check
echo "failover_two_hosts: ok"
