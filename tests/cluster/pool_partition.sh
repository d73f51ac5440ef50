#!/usr/bin/env bash
# A 5-host pool forms with exactly one master, then is partitioned 2 | 3
# (nftables in the hosts' namespaces): only the 3-host side has a writable
# master and takes writes; the 2-host side refuses them.  After the heal the
# pool is one again, with the majority's master, and the hosts of the
# minority hold the majority's writes: identical databases everywhere.
source "$(dirname "$0")/common.bash"

lab up --hosts 5 --vms 10 --no-ha >"$T/up.log" 2>&1 || { cat "$T/up.log"; die "lab up failed"; }
H=(host1 host2 host3 host4 host5)
all_ready "${H[@]}" || die "not every host is ready with one writable master"
wait_for 20 "identical databases" same_db "${H[@]}"
echo "5 hosts ready, master $(master)"

# Put the master in the minority, so the majority must elect a new one.
m=$(master)
minority=("$m")
for h in "${H[@]}"; do
	[[ $h != "$m" && ${#minority[@]} -lt 2 ]] && minority+=("$h")
done
majority=()
for h in "${H[@]}"; do
	[[ " ${minority[*]} " == *" $h "* ]] || majority+=("$h")
done
echo "partition: ${minority[*]} | ${majority[*]}"
lab partition "$(IFS=,; echo "${minority[*]}")" "$(IFS=,; echo "${majority[*]}")"
wait_for 20 "a writable master in the majority" all_ready "${majority[@]}"
for h in "${minority[@]}"; do
	[[ $(cstatus "$h" | jq -r .writable) == false ]] || die "$h in the minority is writable"
	[[ $(cstatus "$h" | jq -r .quorate) == false ]] || die "$h in the minority is quorate"
done
newm=""
for h in "${majority[@]}"; do
	[[ $(cstatus "$h" | jq -r .writable) == true ]] && newm=$h
done
echo "majority master: $newm"
lab exec "${majority[1]}" hasvc pool-param-set name-description=written-in-majority
if lab exec "${minority[1]}" hasvc --local pool-param-set name-description=minority \
	>"$T/minority.out" 2>&1; then
	die "the minority accepted a write"
fi
echo "minority refused the write: $(head -c 200 "$T/minority.out")"

lab heal
wait_for 40 "the pool whole again" all_ready "${H[@]}"
[[ $(master) == "$newm" ]] || die "after the heal the master is $(master), not $newm"
wait_for 20 "identical databases after the heal" same_db "${H[@]}"
for h in "${H[@]}"; do
	[[ $(local_get "$h" name-description) == written-in-majority ]] ||
		die "$h lacks the majority's write after the heal"
done
echo "healed: master $newm, databases identical: $(same_db "${H[@]}")"
echo "PASS"
