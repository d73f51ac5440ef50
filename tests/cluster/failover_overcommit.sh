#!/usr/bin/env bash
# Failover into a pool too small for it (docs/failover.md): the survivors
# cannot hold every protected VM of the dead host.  The VMs that fit are
# restarted, in order; each one that does not raises
# HA_PROTECTED_VM_RESTART_FAILED exactly once (retried quietly after) and
# never holds up a later group; best-effort VMs that do not fit are dropped;
# no VM runs twice.
#   1. a 3-host pool of 7 GiB hosts (`up --host-mib 7168`; simhv then keeps
#      no dom0 reserve), 12 VMs of 1-4 GiB: each host runs 6 GiB;
#   2. a member is powered off: its protected VMs larger than the free memory
#      of every survivor are not started and get one alert each; the others
#      start; its best-effort VMs that fit nowhere are not started;
#   3. a few seconds of retries later, still one alert per VM;
#   4. `hasvc-lab check`.
source "$(dirname "$0")/common.bash"
need_fuse
L=$HASVC_LAB_DIR
MIB=7168

failover_pool 3 --vms 12 --timeout 10 --host-mib "$MIB" --start-delay 1
m=$(master)
# NAME HA ORDER MEMORY(GiB) POWER HOST
lab status --vms | awk 'NR > 2 {sub(/G$/, "", $5); print $1, $2, $3, $5, $6, $7}' >"$T/vms"
lab exec "$m" hasvc vm-list params=uuid,name-label --json | jq -r '.[] | "\(.["name-label"]) \(.uuid)"' >"$T/uuids"
uuid_of() { awk -v n="$1" '$1 == n {print $2}' "$T/uuids"; }
victim=host2
[[ $m != host2 ]] || victim=host3
# Free memory (GiB) of the survivors.
maxfree=0
for h in host1 host2 host3; do
	[[ $h != "$victim" ]] || continue
	used=$(awk -v h="$h" '$5 == "Running" && $6 == h {s += $4} END {print s + 0}' "$T/vms")
	free=$((MIB / 1024 - used))
	echo "$h: ${used} GiB used, ${free} GiB free"
	((free > maxfree)) && maxfree=$free
done
fit=() nofit=() benofit=()
while read -r name ha _ mem _ host; do
	[[ $host == "$victim" ]] || continue
	if [[ $ha == protected ]]; then
		if ((mem <= maxfree)); then fit+=("$name"); else nofit+=("$name"); fi
	elif [[ $ha == best-effort ]] && ((mem > maxfree)); then
		benofit+=("$name")
	fi
done <"$T/vms"
echo "$victim: protected that fit: ${fit[*]:-none}; that do not: ${nofit[*]:-none}; best-effort that do not: ${benofit[*]:-none}"
# The test needs one of each, and the ones that fit must fit together.
((${#fit[@]} == 1 && ${#nofit[@]} >= 1)) || die "test setup: expected one protected VM that fits and one that does not"

echo "== power-off of $victim"
lab poweroff "$victim" >/dev/null
t0=$(awk -v h="$victim" '$2 == h && $5 == "host-reset" {print $1; exit}' "$L/ledger")
[[ -n $t0 ]] || die "the power-off is not in the ledger"
started() { awk -v u="$(uuid_of "$1")" -v t="$t0" '$3 == u && $4 == "start" && $1 > t' "$L/ledger" | grep -q .; }
alerts() {
	lab exec "$m" hasvc message-list params=all --json |
		jq --arg o "$(uuid_of "$1")" '[.[] | select(.name == "HA_PROTECTED_VM_RESTART_FAILED" and .["obj-uuid"] == $o)] | length'
}
one_alert() { [[ $(alerts "$1") -ge 1 ]]; }
for v in "${fit[@]}"; do wait_for 60 "$v to start on a survivor" started "$v"; done
for v in "${nofit[@]}"; do wait_for 60 "an HA_PROTECTED_VM_RESTART_FAILED about $v" one_alert "$v"; done
lab exec "$m" hasvc message-list params=all --json |
	jq -r '.[] | select(.name == "HA_PROTECTED_VM_RESTART_FAILED") | "  \(.name): \(.body)"'
sleep 8 # retries (backoff from 1 s) must not raise it again
for v in "${nofit[@]}"; do
	n=$(alerts "$v")
	[[ $n == 1 ]] || die "$v: $n HA_PROTECTED_VM_RESTART_FAILED messages, expected exactly 1"
	! started "$v" || die "$v started although no survivor has room for it"
done
for v in "${fit[@]}"; do
	n=$(alerts "$v")
	[[ $n == 0 ]] || die "$v started, yet it has $n HA_PROTECTED_VM_RESTART_FAILED messages"
done
for v in "${benofit[@]}"; do
	! started "$v" || die "best-effort $v started although no survivor has room for it"
done
echo "fit and started: ${fit[*]}; alerted once and not started: ${nofit[*]}"
lab status --vms
lab check
echo "failover_overcommit: ok"
