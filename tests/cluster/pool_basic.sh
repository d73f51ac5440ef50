#!/usr/bin/env bash
# A 3-host pool over real corosync (hasvc-lab): it forms with exactly one
# master; a write acknowledged by the master is already on every host's own
# copy when the client hears "done"; kill -9 of the master's hasvcd gives a
# new master that acknowledges writes within the corosync detection time +
# 1 s; the old master's hasvcd, restarted, catches up; a restarted corosync
# is reconnected to by itself; databases end identical (same position and
# checksum) on every host.
source "$(dirname "$0")/common.bash"

lab up --hosts 3 --vms 9 >"$T/up.log" 2>&1 || { cat "$T/up.log"; die "lab up failed"; }
H=(host1 host2 host3)
all_ready "${H[@]}" || die "not every host is ready with one writable master"
m=$(master)
echo "master: $m"
wait_for 20 "identical databases" same_db "${H[@]}"

# A write through a member (the CLI follows HOST_IS_SLAVE to the master),
# then read at once from each host's own copy: the ack means "on every host".
member=host2; [[ $m == host2 ]] && member=host3
lab exec "$member" hasvc pool-param-set name-description=written-through-$member
for h in "${H[@]}"; do
	v=$(local_get "$h" name-description)
	[[ $v == "written-through-$member" ]] || die "$h has name-description '$v' right after the ack"
done
echo "acknowledged write visible on every host"

# kill -9 of the master's hasvcd: a survivor acknowledges a write within the
# detection time + 1 s.  A process death (corosync alive) is seen at once
# (PROCDOWN); the bound allowed is a whole node failure's: token + consensus
# (1000 + 1200 ms for the lab's 30 s HA timeout, docs/cluster.md) + 1 s.
probe_from=$member
out=$(lab exec "$probe_from" python3 "$HERE/failover_probe.py" "$HASVC_LAB_DIR/creds.json" "$m" \
	"$BINDIR/hasvc-lab" kill "$m" hasvcd) || die "failover probe: $out"
echo "$out"
ms=$(sed -n 's/.*elapsed_ms=\([0-9]*\).*/\1/p' <<<"$out")
((ms <= 3200)) || die "a new master acknowledged the first write after $ms ms (> 3200)"
survivors=()
for h in "${H[@]}"; do [[ $h == "$m" ]] || survivors+=("$h"); done
wait_for 10 "the survivors ready" all_ready "${survivors[@]}"
new=$(master 2>/dev/null || true)
[[ -n $new && $new != "$m" ]] || die "no new master after the old one's hasvcd died"
echo "new master: $new"

# The old master's hasvcd comes back: it catches up and the master stays.
lab start "$m" hasvcd
wait_for 30 "$m back in sync" all_ready "${H[@]}"
[[ $(master) == "$new" ]] || die "mastership moved back when $m returned (not sticky)"
wait_for 20 "identical databases after the restart" same_db "${H[@]}"
v=$(local_get "$m" name-description)
[[ $v == failover-* ]] || die "$m did not catch up the write made while it was down ('$v')"

# corosync restarts under a member's hasvcd: it reconnects by itself.
victim=${survivors[0]}; [[ $victim == "$new" ]] && victim=${survivors[1]}
lab kill "$victim" corosync
wait_for 10 "$victim to notice corosync is gone" \
	bash -c "grep -q 'lost corosync' '$HASVC_LAB_DIR/$victim/hasvcd.log'"
lab start "$victim" corosync
wait_for 30 "$victim reconnected and in sync" all_ready "${H[@]}"
lab exec "$new" hasvc pool-param-set name-description=after-corosync-restart
for h in "${H[@]}"; do
	[[ $(local_get "$h" name-description) == after-corosync-restart ]] ||
		die "$h missed the write made after its corosync restarted"
done
# Background writes (the liveness engine's alerts after the corosync
# restart, metrics) may be in flight: the copies converge.
sum=$(converged_db "${H[@]}") || die "databases differ at the end (20 s)"
echo "databases identical on all hosts: $sum"
lab check
echo "PASS"
