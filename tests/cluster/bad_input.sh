#!/usr/bin/env bash
# Malformed pool messages on the wire: a foreign process joins the pool's CPG
# group (through a host's corosync, so it holds the pool's key) and
# multicasts a real change -- renaming the pool -- with another pool's id,
# with protocol version 99, with a body length one byte too long, truncated,
# and 8 bytes of garbage.  Every host drops and counts all five, applies
# none, and keeps serving: the databases stay identical and writable.
source "$(dirname "$0")/common.bash"
: "${BUILD:?}"

lab up --hosts 3 --vms 3 >"$T/up.log" 2>&1 || { cat "$T/up.log"; die "lab up failed"; }
H=(host1 host2 host3)
wait_for 20 "identical databases" same_db "${H[@]}"
declare -A before
for h in "${H[@]}"; do before[$h]=$(cstatus "$h" | jq .dropped); done
pool=$(lab exec host1 hasvc --local pool-list --minimal)

lab exec host2 "$BUILD/helpers/cpg_inject" "$pool" "$HASVC_LAB_DIR/host2/data/pool.db"

for h in "${H[@]}"; do
	now=$(cstatus "$h" | jq .dropped)
	echo "$h: dropped ${before[$h]} -> $now"
	((now - before[$h] >= 5)) || die "$h counted $((now - before[$h])) of the 5 bad messages"
	name=$(local_get "$h" name-label)
	[[ $name != INJECTED ]] || die "$h applied an injected change"
done
wait_for 20 "every host ready again" all_ready "${H[@]}"
lab exec host3 hasvc pool-param-set name-label=still-writable
for h in "${H[@]}"; do
	[[ $(local_get "$h" name-label) == still-writable ]] || die "$h missed a write after the bad input"
done
sum=$(converged_db "${H[@]}") || die "databases differ (20 s)"
echo "databases identical: $sum"
echo "PASS"
