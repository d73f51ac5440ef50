#!/usr/bin/env bash
# The liveness engine in hasvcd on real corosync and a real statefile (each
# host through its own FUSE view), its decisions enforced (tests/cluster/
# fencing.sh covers the fence itself: restarts, SIGSTOP, the keeper).
#   1. a 3-host pool settles: every engine steady in one ring, fresh, with
#      storage access, the three hosts in every liveset, one master;
#   2. host2's storage fails (EIO), then hangs, while the network is whole:
#      nobody decides to fence, host2 alerts that it has no storage access, the others keep it;
#      once that has lasted T_stale, the pool database has an
#      HA_STATEFILE_LOST message about host2 (raised by host2 itself);
#   3. host3 is cut off (2|1): host1 and host2 survive with the liveset
#      {host1,host2} in a new ring (storage back on host2), host3 decides to
#      fence (it lost the arbitration) and resets, and its fence record is on
#      the statefile, which every host's view shows; the pool database has
#      exactly one HA_HOST_FAILED about host3 (from the liveset's master, not
#      one per survivor); host3, booted again (out of the pool), shows its
#      local fence history: one record with the engine's reason.
source "$(dirname "$0")/common.bash"
[[ -e /dev/fuse ]] || { echo "no /dev/fuse"; exit 77; }
command -v fusermount3 >/dev/null || { echo "fusermount3 is not installed (make deps)"; exit 77; }

lab up --hosts 3 >/dev/null
wait_for 60 "three ready hosts" all_ready host1 host2 host3

uuid() { cstatus "$1" | jq -r .host_uuid; }
u1=$(uuid host1) u2=$(uuid host2) u3=$(uuid host3)

steady_all() {
	local h
	for h in host1 host2 host3; do
		[[ $(liv "$h" '.state') == steady ]] || return 1
		[[ $(liv "$h" '.live | length') == 3 ]] || return 1
		[[ $(liv "$h" '.fresh') == true ]] || return 1
		[[ $(liv "$h" '.storage_access') == true ]] || return 1
	done
}
echo "== 1: settle"
wait_for 30 "every engine steady, fresh, with storage access, liveset of 3" steady_all
for h in host1 host2 host3; do
	echo "$h: $(cstatus "$h" | jq -c '.liveness | {state, ring_seq, fresh, storage_access, master_uuid, last_decision}')"
done
m1=$(liv host1 '.master_uuid')
[[ -n $m1 && $(liv host2 '.master_uuid') == "$m1" && $(liv host3 '.master_uuid') == "$m1" ]] ||
	die "the engines do not agree on the master"
# The statefile shows three live slots through any view.
# sf_slots HOST: the statefile through HOST's view (the views are mounted in
# the root namespace), read with the seed database's key.
sf_slots() {
	"$BINDIR/hasvc-statefile" dump "$HASVC_LAB_DIR/$1/sf/statefile" --db "$HASVC_LAB_DIR/pool.db" --json
}
n=$(sf_slots host1 | jq '[.slots[] | select(.valid and .state == "alive")] | length')
((n == 3)) || die "the statefile shows $n live slots, want 3: $(sf_slots host1 | jq -c '.slots')"
[[ $(lab exec host3 hasvc host-fence-history --json | jq length) == 0 ]] ||
	die "host3 has fence records before any fence: $(lab exec host3 hasvc host-fence-history --json)"

# msgs HOST NAME OBJ: how many messages NAME about host OBJ the pool database
# has, read through HOST.
msgs() {
	lab exec "$1" hasvc message-list params=all --json |
		jq --arg n "$2" --arg o "$3" '[.[] | select(.name == $n and .["obj-uuid"] == $o)] | length'
}

echo "== 2a: host2's storage fails (EIO), the network is whole: nobody fences"
lab storage host2 error >/dev/null
no_access() { [[ $(liv host2 '.storage_access') == false ]]; }
wait_for 20 "host2 to lose its storage access" no_access
sleep 3
for h in host1 host2 host3; do
	[[ $(liv "$h" '.state') == steady && $(liv "$h" '.live | length') == 3 ]] ||
		die "$h is not steady with the liveset of 3: $(liv "$h" '.last_decision')"
	[[ $(resets "$h") == 0 ]] || die "$h was reset while the network is whole"
done
(($(liv host2 '.alerts') & 1)) || die "host2 does not alert self-no-storage: $(liv host2 '.alerts')"
lab storage host2 ok >/dev/null
back() { [[ $(liv host2 '.storage_access') == true ]]; }
wait_for 20 "host2's storage access back" back

echo "== 2: host2's storage hangs, the network is whole: nobody fences"
lab storage host2 hang >/dev/null
wait_for 20 "host2 to lose its storage access" no_access
sleep 3
for h in host1 host2 host3; do
	s=$(liv "$h" '.state')
	[[ $s != fenced ]] || die "$h decided to fence while the network is whole: $(liv "$h" '.last_decision')"
	[[ $(liv "$h" '.live | length') == 3 ]] || die "$h dropped a host: $(liv "$h" '.live')"
done
(($(liv host2 '.alerts') & 1)) || die "host2 does not alert self-no-storage: $(liv host2 '.alerts')"
sf_lost() { (($(msgs host1 HA_STATEFILE_LOST "$u2") >= 2)); }
wait_for 20 "an HA_STATEFILE_LOST message about host2" sf_lost
echo "HA_STATEFILE_LOST: $(lab exec host1 hasvc message-list params=all --json |
	jq -c --arg o "$u2" '.[] | select(.name == "HA_STATEFILE_LOST" and .["obj-uuid"] == $o) | {priority, body}')"
lab storage host2 ok >/dev/null
wait_for 20 "host2's storage access back" back

echo "== 3: host3 is cut off (2|1)"
r0=$(liv host1 '.ring_seq')
lab partition host3 host1,host2 >/dev/null
two() {
	local h
	for h in host1 host2; do
		[[ $(liv "$h" '.state') == steady ]] || return 1
		[[ $(liv "$h" '.live | sort | join(",")') == "$(printf '%s\n' "$u1" "$u2" | sort | paste -sd,)" ]] || return 1
		(($(liv "$h" '.ring_seq') != r0)) || return 1
	done
}
wait_for 30 "host1 and host2 to survive as {host1,host2}" two
lost() { [[ $(resets host3) == 1 ]]; }
wait_for 30 "host3 to fence (its host reset)" lost
decision=$(sed -n 's/.*decided to FENCE: //p' "$HASVC_LAB_DIR/host3/hasvcd.log" | tail -1)
echo "host1: $(liv host1 '.last_decision')"
echo "host3: FENCE: $decision"
[[ $decision == *"lost"* || $decision == *"excludes me"* ]] ||
	die "host3 fenced for another reason: $decision"
fenced_slot() { sf_slots host1 | jq -e --arg u "$u3" '.slots[] | select(.host == $u and .state == "fencing")'; }
wait_for 10 "host3's fence record on the statefile" fenced_slot
echo "host3's slot: $(sf_slots host2 | jq -c --arg u "$u3" '.slots[] | select(.host == $u) | {state, fence}')"

# One HA_HOST_FAILED about host3 for the pool: wait for it, give a second
# one (from another survivor) the time to show up, then count.
failed() { (($(msgs host1 HA_HOST_FAILED "$u3") >= 1)); }
wait_for 20 "an HA_HOST_FAILED message about host3" failed
sleep 3
n=$(msgs host1 HA_HOST_FAILED "$u3")
((n == 1)) || die "the pool database has $n HA_HOST_FAILED messages about host3, want 1"
echo "HA_HOST_FAILED: $(lab exec host1 hasvc message-list params=all --json |
	jq -c --arg o "$u3" '.[] | select(.name == "HA_HOST_FAILED" and .["obj-uuid"] == $o) | {priority, body}')"
n=$(msgs host1 HA_HOST_FAILED "$u1")
m=$(msgs host1 HA_HOST_FAILED "$u2")
((n == 0 && m == 0)) || die "HA_HOST_FAILED about a survivor: host1 $n, host2 $m"

# host3's local fence history: one record, the engine's reason and detail,
# read through host3 booted again (out of the pool: docs/fencing.md).
lab heal >/dev/null
lab boot host3 >/dev/null
out3() { [[ $(liv host3 '.state') == out ]]; }
wait_for 60 "host3 back, out of the pool" out3
fh=$(lab exec host3 hasvc host-fence-history --json)
echo "host3's fence history: $(jq -c '[.[] | {seq, refused, reason, reason_text, detail, ring_seq, members, liveset}]' <<<"$fh")"
[[ $(jq length <<<"$fh") == 1 ]] || die "host3 has $(jq length <<<"$fh") fence records, want 1: $fh"
[[ $(jq -r '.[0].refused' <<<"$fh") == false ]] || die "host3's fence record is refused: $fh"
rt=$(jq -r '.[0].reason_text' <<<"$fh")
[[ $rt == "lost the arbitration" || $rt == "a published verdict excludes me" ]] ||
	die "host3's fence record gives the reason '$rt'"
[[ $decision == "$(jq -r '.[0].detail' <<<"$fh")" ]] ||
	die "host3's fence record does not hold the decision: $(jq -r '.[0].detail' <<<"$fh")"
[[ $(jq -r '.[0].host' <<<"$fh") == "$u3" && $(jq -r '.[0].views' <<<"$fh") == ring* ]] ||
	die "host3's fence record: wrong host or no views: $fh"
lab exec host3 hasvc host-fence-history | head -4
echo "views: $(jq -r '.[0].views' <<<"$fh")"
# A corrupt record file is listed, refused with its reason, never trusted.
printf 'hasvc-fence-record 1\nseq=99\n' >"$HASVC_LAB_DIR/host3/data/fence/1-99.fence"
fh=$(lab exec host3 hasvc host-fence-history --json)
[[ $(jq length <<<"$fh") == 2 && $(jq -r '.[0].refused' <<<"$fh") == true &&
	$(jq -r '.[0].file' <<<"$fh") == 1-99.fence && $(jq -r '.[1].refused' <<<"$fh") == false ]] ||
	die "a corrupt fence record is not listed as refused: $fh"
echo "refused: $(jq -c '.[0]' <<<"$fh")"
lab exec host3 hasvc host-fence-history | grep -q '^refused: ' || die "the CLI does not show the refused record"
# Once per episode: host2's two storage episodes (EIO, then the hang) are
# two HA_STATEFILE_LOST messages, not one per second.
n=$(msgs host1 HA_STATEFILE_LOST "$u2")
((n == 2)) || die "the pool database has $n HA_STATEFILE_LOST messages about host2, want 2"
echo "HA messages: $(lab exec host1 hasvc message-list params=all --json |
	jq -c '[.[] | select(.name | startswith("HA_")) | "\(.name) \(.["obj-uuid"][0:8])"]')"
lab heal >/dev/null
echo "liveness: ok"
