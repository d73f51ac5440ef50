#!/usr/bin/env bash
# Failover of a powered-off host (docs/failover.md), on real corosync and the
# lab's simulated hypervisors; timing is read from the simhv ledger (one
# CLOCK_MONOTONIC clock), behaviour is asserted, never speed.
#   1. a 3-host pool, 24 VMs: host2 and host3 each run protected VMs of
#      orders 0, 1 and 2 (docs/hasvc-lab.md, "The pool"), start_delay 2 s on
#      orders 0 and 1, simhv boot 300 ms;
#   2. a member with protected VMs of three orders is powered off: every one
#      of its protected VMs runs again on a survivor (wait-failover); from the
#      ledger, every VM of group k+1 started only after every VM of group k
#      started, plus the group's start delay; its best-effort VMs (room is
#      ample) started after every protected one;
#   3. a protected VM crashes (simhv ctl crash): it runs again, on its host;
#   4. `hasvc-lab check`: no VM ever ran on two hosts at once.
source "$(dirname "$0")/common.bash"
need_fuse
L=$HASVC_LAB_DIR
DELAY=2

failover_pool 3 --vms 24 --timeout 10 --start-delay "$DELAY" --boot-ms 300
m=$(master)

# vms: "NAME HA ORDER DELAY HOST" per VM (lab status --vms), and the uuids.
lab status --vms | awk 'NR > 2 {sub(/s$/, "", $4); print $1, $2, $3, $4, $7}' >"$T/vms"
lab exec "$m" hasvc vm-list params=uuid,name-label --json | jq -r '.[] | "\(.["name-label"]) \(.uuid)"' >"$T/uuids"
uuid_of() { awk -v n="$1" '$1 == n {print $2}' "$T/uuids"; }

# The victim: a member whose protected VMs have orders 0, 1 and 2.
victim=""
for h in host2 host3 host1; do
	[[ $h != "$m" ]] || continue
	orders=$(awk -v h="$h" '$2 == "protected" && $5 == h {print $3}' "$T/vms" | sort -u | paste -sd,)
	if [[ $orders == 0,1,2 ]]; then victim=$h; break; fi
done
[[ -n $victim ]] || die "no member runs protected VMs of orders 0, 1 and 2: $(cat "$T/vms")"
echo "victim $victim (master $m); its VMs:"
awk -v h="$victim" '$5 == h' "$T/vms"

echo "== power-off of $victim"
lab poweroff "$victim" >/dev/null
lab wait-failover --timeout 90 || die "the failover did not complete"

# t0: the victim's reset in the ledger; then, per VM of the victim, its
# first start after t0 (host, ns).
t0=$(awk -v h="$victim" '$2 == h && $4 == "stop" && $5 == "host-reset" {print $1; exit}' "$L/ledger")
[[ -n $t0 ]] || die "no host-reset of $victim in the ledger"
first_start() { # NAME -> "HOST NS" of its first start after t0, or nothing
	awk -v u="$(uuid_of "$1")" -v t0="$t0" '$3 == u && $4 == "start" && $1 > t0 {print $2, $1}' "$L/ledger" |
		sort -k2,2n | head -n 1
}
: >"$T/starts"
while read -r name ha order delay host; do
	[[ $host == "$victim" && ($ha == protected || $ha == best-effort) ]] || continue
	s=$(first_start "$name")
	[[ -n $s ]] || die "$name ($ha) was not restarted"
	read -r on ns <<<"$s"
	[[ $on != "$victim" ]] || die "$name restarted on the dead $victim"
	echo "$name $ha $order $delay $on $ns" >>"$T/starts"
done <"$T/vms"
echo "restarts (name priority order delay host ns):"
sort -k6,6n "$T/starts"

# Order groups: every start of group k+1 >= the last start of group k + its delay.
for k in 0 1; do
	last=$(awk -v k="$k" '$2 == "protected" && $3 == k {print $6}' "$T/starts" | sort -n | tail -n 1)
	d=$(awk -v k="$k" '$2 == "protected" && $3 == k {print $4}' "$T/starts" | sort -n | tail -n 1)
	next=$(awk -v k=$((k + 1)) '$2 == "protected" && $3 == k {print $6}' "$T/starts" | sort -n | head -n 1)
	[[ -n $last && -n $next ]] || die "group $k or $((k + 1)) has no restart"
	((next >= last + d * 1000000000)) ||
		die "group $((k + 1)) started $(((next - last) / 1000000)) ms after group $k's last start, before its start delay of ${d} s"
	echo "group $((k + 1)) started $(((next - last) / 1000000)) ms after group $k's last start (delay ${d} s)"
done
lastp=$(awk '$2 == "protected" {print $6}' "$T/starts" | sort -n | tail -n 1)
while read -r name ha _ _ _ ns; do
	[[ $ha == best-effort ]] || continue
	((ns > lastp)) || die "best-effort $name started before the last protected VM"
done <"$T/starts"
grep -q best-effort "$T/starts" || die "no best-effort VM of $victim restarted"
lab check

echo "== a protected VM crashes"
read -r cname _ _ _ chost _ < <(awk '$2 == "protected"' "$T/starts" | head -n 1)
cu=$(uuid_of "$cname")
tc=$(awk 'END {print $1}' "$L/ledger")
"$BINDIR/hasvc-simhv" ctl "$L/$chost/simhv.sock" crash "$cu" >/dev/null
restarted() {
	awk -v u="$cu" -v t="$tc" '$3 == u && $4 == "start" && $1 > t' "$L/ledger" | grep -q .
}
wait_for 60 "$cname to start again after its crash" restarted
grep -q "$cu stop crashed" "$L/ledger" || die "the crash of $cname is not in the ledger"
on=$(awk -v u="$cu" -v t="$tc" '$3 == u && $4 == "start" && $1 > t {print $2; exit}' "$L/ledger")
[[ $on == "$chost" ]] || die "$cname crashed on $chost but was restarted on $on"
lab wait-failover --timeout 60 >/dev/null || die "not every protected VM runs after the crash"
echo "$cname crashed on $chost and runs there again"
lab check
echo "failover: ok"
