#!/usr/bin/env bash
# Fencing enforced on real corosync, real processes and the lab's simulated
# watchdogs (docs/fencing.md): the watchdog is held by each host's
# hasvc-wdkeeper, armed once the host joined the liveset, and a fence resets
# the host through simhv.  Each step ends with `hasvc-lab check` (the ledger:
# no VM ran on two hosts).
#   1. a 3-host pool settles: every engine steady with the watchdog armed
#      through its keeper (simhv shows it armed, W = 1 s at T = 30);
#   2. kill -9 of host2's hasvcd, started again a second later: the keeper
#      pets on until the engine's lease, the new daemon starts from the saved
#      liveset and takes over -- no reset, host2's VMs still run, every host
#      steady with the liveset of 3;
#   3. host3 is cut off (2|1): host3 decides to fence, the keeper stops
#      petting, the fence record reaches the statefile and host3 resets
#      ("self-reset"); host1 and host2 survive as {host1,host2} with one
#      master, and learn that host3 is dead from its fence record;
#   4. heal, boot host3: it starts out of the pool, reports HA_HOST_WAS_FENCED
#      with the reason from its fence record, and the master admits it again
#      (docs/protocol.md, "Rejoining"): all three steady with the liveset of 3,
#      host3's watchdog armed, nobody reset;
#   5. host2's hasvcd is stopped (SIGSTOP): the keeper withholds the pets,
#      leaves a fence record saying why, and the watchdog resets host2 within
#      W (+ two pet periods); host1 and host3 go on; host2, booted, reports
#      HA_HOST_WAS_FENCED with that reason and rejoins.
source "$(dirname "$0")/common.bash"
[[ -e /dev/fuse ]] || { echo "no /dev/fuse"; exit 77; }
command -v fusermount3 >/dev/null || { echo "fusermount3 is not installed (make deps)"; exit 77; }

lab up --hosts 3 --vms 6 >/dev/null
wait_for 60 "three ready hosts" all_ready host1 host2 host3

uuid() { cstatus "$1" | jq -r .host_uuid; }
msgs() {
	lab exec "$1" hasvc message-list params=all --json |
		jq --arg n "$2" --arg o "$3" '[.[] | select(.name == $n and .["obj-uuid"] == $o)] | length'
}
u1=$(uuid host1) u2=$(uuid host2) u3=$(uuid host3)

# boot_fenced HOST UUID: boot a fenced host, wait until its hasvcd started
# out of the pool and host1 has its one HA_HOST_WAS_FENCED message; print the
# message's body.
boot_fenced() {
	local h=$1 u=$2 body
	lab boot "$h" >/dev/null
	started_out() { grep -q 'is not admitted again: it starts out of the pool' \
		"$HASVC_LAB_DIR/$1/hasvcd.log" 2>/dev/null; }
	wait_for 60 "$h back, started out of the pool" started_out "$h"
	one_alert() { (($(msgs host1 HA_HOST_WAS_FENCED "$1") == 1)); }
	wait_for 30 "an HA_HOST_WAS_FENCED message about $h" one_alert "$u"
	body=$(lab exec host1 hasvc message-list params=all --json |
		jq -r --arg o "$u" '.[] | select(.name == "HA_HOST_WAS_FENCED" and .["obj-uuid"] == $o) | .body')
	echo "HA_HOST_WAS_FENCED: $body" >&2
	echo "$body"
}

steady() { # steady N HOST...: each host steady, fresh, liveset of N, watchdog armed
	local n=$1 h
	shift
	for h in "$@"; do
		[[ $(liv "$h" '.state') == steady && $(liv "$h" '.live | length') == "$n" ]] || return 1
		[[ $(liv "$h" '.watchdog_armed') == true && $(liv "$h" '.keeper_connected') == true ]] ||
			return 1
	done
}

echo "== 1: settle, watchdogs armed through the keepers"
wait_for 30 "every engine steady with its watchdog armed" steady 3 host1 host2 host3
for h in host1 host2 host3; do
	simhv "$h" | grep -qx 'watchdog: armed 1000 ms' ||
		die "$h: simhv's watchdog is not armed at W = 1 s: $(simhv "$h" | grep watchdog)"
	[[ $(resets "$h") == 0 ]] || die "$h was reset already"
done
echo "host1: $(cstatus host1 | jq -c '.liveness | {state, fence_state, watchdog_armed, keeper_connected, pets}')"
lab check

echo "== 2: kill -9 host2's hasvcd, start it again: no fence"
dom2=$(simhv host2 | sed -n 's/^domains: //p')
lab kill host2 hasvcd >/dev/null
sleep 1
lab start host2 hasvcd >/dev/null
wait_for 30 "host2's new hasvcd steady with the liveset of 3" steady 3 host1 host2 host3
grep -q 'a restart: the liveset agreed in ring' "$HASVC_LAB_DIR/host2/hasvcd.log" ||
	die "host2's new hasvcd did not start from the saved liveset"
sleep 3 # well past W and any lease: a reset would have come
[[ $(resets host2) == 0 ]] || die "host2 was reset by a daemon restart: $(simhv host2 | grep reset)"
[[ $(simhv host2 | sed -n 's/^domains: //p') == "$dom2" ]] ||
	die "host2's domains changed across the restart: $dom2 -> $(simhv host2 | sed -n 's/^domains: //p')"
grep -q 'daemon gone (pid [0-9]*), petting until lease' "$HASVC_LAB_DIR/host2/wdkeeper.log" ||
	die "host2's keeper did not pet on the lease: $(tail -5 "$HASVC_LAB_DIR/host2/wdkeeper.log")"
lab check

echo "== 3: host3 is cut off (2|1): it fences, for real"
lab partition host3 host1,host2 >/dev/null
two() {
	steady 2 host1 host2 || return 1
	[[ $(liv host1 '.live | sort | join(",")') == "$(printf '%s\n' "$u1" "$u2" | sort | paste -sd,)" ]]
}
wait_for 30 "host1 and host2 to survive as {host1,host2}" two
reset3() { [[ $(resets host3) == 1 ]]; }
wait_for 20 "host3 to be reset" reset3
simhv host3 | grep -q '^last-reset-reason: self-reset: ' ||
	die "host3 was not reset by its fence: $(simhv host3 | grep reset)"
echo "host3: $(simhv host3 | grep -E '^(resets|last-reset-reason):' | paste -sd' ')"
m1=$(liv host1 '.master_uuid')
[[ -n $m1 && $m1 == "$(liv host2 '.master_uuid')" && ($m1 == "$u1" || $m1 == "$u2") ]] ||
	die "the survivors do not agree on one master among them: $m1 / $(liv host2 '.master_uuid')"
learned() { grep -q "host $u3 (node [0-9]*) is certainly dead: its fence record" "$HASVC_LAB_DIR/host1/hasvcd.log"; }
wait_for 10 "host1 to learn host3's death from its fence record" learned
grep -q "the fence record is on the statefile" "$HASVC_LAB_DIR/host3/hasvcd.log" ||
	die "host3 reset before its fence record reached the statefile"
grep -q "fence record [0-9]* written to" "$HASVC_LAB_DIR/host3/hasvcd.log" ||
	die "host3 did not write its local fence record before the reset"
lab check

echo "== 4: heal, boot host3: HA_HOST_WAS_FENCED, and it rejoins"
lab heal >/dev/null
t0=$(date +%s%N)
body=$(boot_fenced host3 "$u3")
rt=$(lab exec host3 hasvc host-fence-history --json | jq -r '.[0].reason_text')
[[ $body == *"$rt"* ]] || die "the alert does not give the recorded reason '$rt': $body"
wait_for 30 "host3 admitted again: all three steady, host3's watchdog armed" steady 3 host1 host2 host3
echo "host3 booted and rejoined in $((($(date +%s%N) - t0) / 1000000)) ms: $(liv host3 '.last_decision')"
simhv host3 | grep -qx 'watchdog: armed 1000 ms' || die "host3's watchdog is not armed: $(simhv host3 | grep watchdog)"
grep -q 'liveness: host .* is admitted' "$HASVC_LAB_DIR/host3/hasvcd.log" ||
	die "host3's hasvcd does not say it was admitted"
sleep 3 # a rejoin must not disturb anybody
steady 3 host1 host2 host3 || die "host3's rejoin disturbed the pool: $(liv host1 '.last_decision')"
for h in host1 host2; do [[ $(resets "$h") == 0 ]] || die "$h was reset"; done
[[ $(resets host3) == 1 ]] || die "host3 was reset again after its boot"
lab check

echo "== 5: SIGSTOP host2's hasvcd: the watchdog resets host2"
lab kill host2 hasvcd --signal STOP >/dev/null
t0=$(date +%s%N)
reset2() { [[ $(resets host2) == 1 ]]; }
wait_for 20 "host2 to be reset by its watchdog" reset2
dt=$((($(date +%s%N) - t0) / 1000000))
simhv host2 | grep -qx 'last-reset-reason: watchdog timeout' ||
	die "host2 was reset, but not by its watchdog: $(simhv host2 | grep reset)"
echo "host2 reset by its watchdog ${dt} ms after SIGSTOP (W 1000 ms + up to 2 pet periods of 250 ms)"
grep -q 'pets stopped' "$HASVC_LAB_DIR/host2/wdkeeper.log" ||
	die "host2's keeper did not log that it stopped petting a hung daemon"
wait_for 30 "host1 and host3 to go on as two" steady 2 host1 host3
echo "host1: $(liv host1 '.last_decision')"
lab check
# The keeper left a fence record when it stopped petting: booted, host2
# knows why it was reset, says so, and is admitted again.
body=$(boot_fenced host2 "$u2")
[[ $body == *"watchdog"*"stopped answering"* ]] || die "host2's alert does not say why: $body"
wait_for 30 "host2 admitted again" steady 3 host1 host2 host3
lab check
echo "fencing: ok"
