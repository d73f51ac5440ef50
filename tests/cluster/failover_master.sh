#!/usr/bin/env bash
# The master powered off in the middle of a failover (docs/failover.md: the
# intents in the replicated database are the whole state of a failover, so
# a new master finishes it).
#   1. a 5-host pool, 30 VMs, start_delay 4 s on orders 0 and 1;
#   2. a member running protected VMs of several orders is powered off; as
#      soon as the master logs its first "order group" start, the master is
#      powered off too, while a later group still waits for its start delay;
#   3. the 3 survivors elect a new master, which finishes the failover: every
#      protected VM (of both lost hosts) runs (wait-failover), a VM of a later
#      group of the first host started after the master's power-off;
#   4. no VM started twice on the survivors, and `hasvc-lab check`: no VM on
#      two hosts at once.
source "$(dirname "$0")/common.bash"
need_fuse
L=$HASVC_LAB_DIR

failover_pool 5 --vms 30 --timeout 10 --start-delay 4
m=$(master)
lab status --vms | awk 'NR > 2 {print $1, $2, $3, $7}' >"$T/vms"
lab exec "$m" hasvc vm-list params=uuid,name-label --json | jq -r '.[] | "\(.["name-label"]) \(.uuid)"' >"$T/uuids"

# The victim: the member whose protected VMs span the most orders (>= 2).
victim="" best=1
for h in host2 host3 host4 host5 host1; do
	[[ $h != "$m" ]] || continue
	n=$(awk -v h="$h" '$2 == "protected" && $4 == h {print $3}' "$T/vms" | sort -u | wc -l)
	if ((n > best)); then victim=$h best=$n; fi
done
[[ -n $victim ]] || die "no member runs protected VMs of two orders: $(cat "$T/vms")"
echo "victim $victim (orders: $best), master $m"

log=$L/$m/hasvcd.log
skip=$(wc -l <"$log")
echo "== power-off of $victim, then of the master $m at its first order-group start"
lab poweroff "$victim" >/dev/null
started() { tail -n +"$((skip + 1))" "$log" | grep -q 'failover: order group [0-9]*: starting'; }
wait_for 60 "the master's first order-group start" started
lab poweroff "$m" >/dev/null
tail -n +"$((skip + 1))" "$log" | grep 'failover:' | sed 's/^/  old master: /' | head -n 20

lab wait-failover --timeout 120 || die "the new master did not complete the failover"
nm=$(master 2>/dev/null)
[[ $nm != "$m" && $nm != "$victim" ]] || die "the master is $nm"
echo "new master $nm"
grep 'failover:' "$L/$nm/hasvcd.log" | grep -v -e 'executor' -e 'not acting' | sed 's/^/  new master: /' | head -n 20

tv=$(awk -v h="$victim" '$2 == h && $4 == "stop" && $5 == "host-reset" {print $1; exit}' "$L/ledger")
tm=$(awk -v h="$m" '$2 == h && $4 == "stop" && $5 == "host-reset" {print $1; exit}' "$L/ledger")
[[ -n $tv && -n $tm ]] || die "the two power-offs are not in the ledger"
# No VM started twice on the survivors since the first power-off.
dup=$(awk -v t="$tv" -v a="$victim" -v b="$m" '$4 == "start" && $1 > t && $2 != a && $2 != b {print $3}' \
	"$L/ledger" | sort | uniq -d)
[[ -z $dup ]] || die "started twice on the survivors: $dup"
# The new master finished it: a protected VM of the victim started after the
# master's power-off.
late=0
while read -r name ha _ host; do
	[[ $host == "$victim" && $ha == protected ]] || continue
	u=$(awk -v n="$name" '$1 == n {print $2}' "$T/uuids")
	if awk -v u="$u" -v t="$tm" '$3 == u && $4 == "start" && $1 > t' "$L/ledger" | grep -q .; then
		late=$((late + 1))
	fi
done <"$T/vms"
((late > 0)) || die "every protected VM of $victim started before the master died: nothing was left to finish"
echo "$late protected VM(s) of $victim started by the new master"
lab check
echo "failover_master: ok"
