#!/usr/bin/env bash
# Two hosts lost at once (docs/failover.md): a 5-host pool whose
# ha-host-failures-to-tolerate is 2 (set through the CLI) loses two members
# at the same moment; the executor restarts the protected VMs of both, and no
# VM ever runs on two hosts at once.
#   1. a 5-host pool, 30 VMs; `hasvc pool-param-set
#      ha-host-failures-to-tolerate=2` on a member (the CLI follows the
#      redirect to the master), read back from every host's own copy;
#   2. two members powered off together (two `hasvc-lab poweroff` at once);
#   3. wait-failover: every protected VM runs on a survivor; from the ledger,
#      every protected VM of the two lost hosts started on a survivor;
#   4. `hasvc-lab check`.
source "$(dirname "$0")/common.bash"
need_fuse
L=$HASVC_LAB_DIR
ALL=(host1 host2 host3 host4 host5)

failover_pool 5 --vms 30 --timeout 10
m=$(master)
member=host5
[[ $m != host5 ]] || member=host4
lab exec "$member" hasvc pool-param-set ha-host-failures-to-tolerate=2 >/dev/null ||
	die "pool-param-set ha-host-failures-to-tolerate=2 refused"
ftt_is_2() {
	local h
	for h in "${ALL[@]}"; do [[ $(local_get "$h" ha-host-failures-to-tolerate) == 2 ]] || return 1; done
}
wait_for 10 "ha-host-failures-to-tolerate 2 in every host's copy" ftt_is_2
echo "ha-host-failures-to-tolerate: $(local_get "$m" ha-host-failures-to-tolerate) (master $m)"

lab status --vms | awk 'NR > 2 {print $1, $2, $3, $7}' >"$T/vms"
lab exec "$m" hasvc vm-list params=uuid,name-label --json | jq -r '.[] | "\(.["name-label"]) \(.uuid)"' >"$T/uuids"
lost=()
for h in host5 host4 host3 host2; do
	[[ $h != "$m" ]] && ((${#lost[@]} < 2)) && lost+=("$h")
done
echo "== power-off of ${lost[*]} at once (master $m)"
lab poweroff "${lost[0]}" >"$T/p0" 2>&1 &
p0=$!
lab poweroff "${lost[1]}" >"$T/p1" 2>&1 &
p1=$!
wait "$p0" || die "poweroff ${lost[0]}: $(cat "$T/p0")"
wait "$p1" || die "poweroff ${lost[1]}: $(cat "$T/p1")"
lab wait-failover --timeout 120 || die "the failover did not complete"

t0=$(awk -v a="${lost[0]}" -v b="${lost[1]}" '($2 == a || $2 == b) && $5 == "host-reset" {print $1; exit}' "$L/ledger")
[[ -n $t0 ]] || die "the power-offs are not in the ledger"
n=0
while read -r name ha _ host; do
	[[ $ha == protected && ($host == "${lost[0]}" || $host == "${lost[1]}") ]] || continue
	u=$(awk -v n="$name" '$1 == n {print $2}' "$T/uuids")
	on=$(awk -v u="$u" -v t="$t0" '$3 == u && $4 == "start" && $1 > t {print $2; exit}' "$L/ledger")
	[[ -n $on ]] || die "protected $name of $host did not start again"
	[[ $on != "${lost[0]}" && $on != "${lost[1]}" ]] || die "$name started on a lost host, $on"
	n=$((n + 1))
done <"$T/vms"
((n >= 2)) || die "the lost hosts ran only $n protected VMs"
echo "$n protected VMs of ${lost[*]} run again on the survivors"
lab check
echo "failover_double: ok"
