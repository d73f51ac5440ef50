#!/usr/bin/env bash
# Alerts as SNMP notifications on the lab (docs/monitoring.md): a real
# snmptrapd in host1's namespace (loopback is per namespace; the lab's
# bridge carries the traps), receivers added with the CLI over SNMPv2c
# (trap) and SNMPv3 authPriv (trap and inform):
#   1. host3 is cut off and fences itself: the survivors' master sends
#      HA_HOST_FAILED about host3, exactly once per receiver, decoded by name
#      with host3's uuid;
#   2. heal, boot host3: HA_HOST_WAS_FENCED about host3, exactly once per
#      receiver;
#   0./3. a dead receiver does not slow failover: the time from powering
#      host3 off to both survivors' "host3 is certainly dead" is measured
#      first with no receiver and no hook (0), then (3) with a v2c and a v3
#      inform receiver at an address nobody has (their informs to the alerts
#      of 1 and 2 still being retried) and a hook that hangs on every host,
#      next to the live receivers: not slower by more than 1 s.
source "$(dirname "$0")/common.bash"
[[ -e /dev/fuse ]] || { echo "no /dev/fuse"; exit 77; }
command -v fusermount3 >/dev/null || { echo "fusermount3 is not installed (make deps)"; exit 77; }
command -v snmptrapd >/dev/null || { echo "snmptrapd is not installed (make deps)"; exit 77; }
# snmptrapd is ours: stop it by its PID before the lab goes down.
# So are the hanging hook's sleeps (their hasvcd may be gone: power-off).
# (set -e holds in the trap: nothing here may fail before on_exit.)
trap 'rc=$?; [[ -s $T/trapd.pid ]] && kill "$(cat "$T/trapd.pid")" 2>/dev/null || :
for p in $(cat "$T/hang.pids" 2>/dev/null || :); do
	[[ $(cat /proc/$p/comm 2>/dev/null) == sleep ]] && kill "$p" 2>/dev/null || :
done
(exit $rc); on_exit' EXIT

lab up --hosts 3 --vms 6 >/dev/null
wait_for 60 "three ready hosts" all_ready host1 host2 host3
uuid() { cstatus "$1" | jq -r .host_uuid; }
u1=$(uuid host1) u2=$(uuid host2) u3=$(uuid host3)
steady() {
	local n=$1 h
	shift
	for h in "$@"; do
		[[ $(liv "$h" '.state') == steady && $(liv "$h" '.live | length') == "$n" ]] || return 1
	done
}
wait_for 30 "every engine steady" steady 3 host1 host2 host3

# dead_ms: power host3 off; print the ms until both survivors say it is
# certainly dead (their liveness engines' decision, hasvcd.log).
dead_lines() { grep -c "liveness: host $u3 (node [0-9]*) is certainly dead" "$HASVC_LAB_DIR/$1/hasvcd.log" || true; }
dead_ms() {
	local b1 b2 t0
	[[ $(master) != host3 ]] || die "host3 is the master: the two measurements would differ"
	b1=$(dead_lines host1) b2=$(dead_lines host2)
	t0=$(date +%s%N)
	lab poweroff host3 >/dev/null
	while (($(dead_lines host1) <= b1 || $(dead_lines host2) <= b2)); do
		(($(date +%s%N) - t0 < 30000000000)) || die "host3 not certainly dead after 30 s"
		sleep 0.02
	done
	echo $((($(date +%s%N) - t0) / 1000000))
}

echo "== 0: host3 powered off, no receiver, no hook: the baseline"
base_ms=$(dead_ms)
echo "host3 certainly dead on both survivors ${base_ms} ms after its power-off (no receiver)"
# A hook that hangs (killed at its 30 s timeout), on every host: host3 gets
# it as it boots, host1 and host2 by a restart of their hasvcd.
cat >"$T/hook-hang" <<EOC
#!/bin/sh
echo \$\$ >>"$T/hang.pids"
exec sleep 120
EOC
chmod +x "$T/hook-hang"
for h in host1 host2 host3; do
	sed -i "s|  <log>|  <notify><hook>$T/hook-hang</hook><hook-timeout>30s</hook-timeout></notify>\n  <log>|" \
		"$HASVC_LAB_DIR/$h/hasvcd.conf"
done
lab boot host3 >/dev/null
wait_for 60 "host3 back in the liveset" steady 3 host1 host2 host3
m=$(master)
for h in host1 host2; do
	[[ $h == "$m" ]] && continue
	lab kill "$h" hasvcd >/dev/null; sleep 1; lab start "$h" hasvcd >/dev/null
	wait_for 30 "$h's hasvcd back (with the hook)" steady 3 host1 host2 host3
done
lab kill "$m" hasvcd >/dev/null; sleep 1; lab start "$m" hasvcd >/dev/null
wait_for 30 "$m's hasvcd back (with the hook)" steady 3 host1 host2 host3
wait_for 30 "a writable master" all_ready host1 host2 host3
POOL=$(lab exec host1 hasvc pool-list params=uuid --minimal)
ENGINE=0x80007ED905$(tr -d - <<<"$POOL" | tr a-f A-F)
PORT=1162
mkdir -p "$T/mibs" "$T/trapd-state"
cp "$HERE"/../host/snmp_mibs/*.txt "$HERE/../../docs/HASVC-MIB.txt" "$T/mibs/"
cat >"$T/snmptrapd.conf" <<EOC
authCommunity log labcommunity
createUser -e $ENGINE trapuser SHA trap-auth-pass AES trap-priv-pass
createUser informuser SHA inform-auth-pass AES inform-priv-pass
authUser log trapuser
authUser log informuser
EOC
SNMP_PERSISTENT_DIR=$T/trapd-state lab exec host1 snmptrapd -f -Lf "$T/trapd.log" -C \
	-c "$T/snmptrapd.conf" -M "$T/mibs" -m ALL -p "$T/trapd.pid" udp:10.213.0.1:$PORT \
	>/dev/null 2>&1 &
wait_for 10 "snmptrapd in host1's namespace" grep -q "NET-SNMP version" "$T/trapd.log"
add() { lab exec host1 hasvc snmp-receiver-add address=10.213.0.1 port=$PORT "$@" >/dev/null || die "add $*"; }
add version=2c community=labcommunity
add version=3 user=trapuser auth-key=trap-auth-pass priv-key=trap-priv-pass
add version=3 inform=true user=informuser auth-key=inform-auth-pass priv-key=inform-priv-pass
out=$(lab exec host2 hasvc snmp-test) || die "snmp-test from host2: $out"
echo "snmp-test: $(tr '\n' ' ' <<<"$out")"
wait_for 10 "3 test notifications" sh -c "[ \$(grep -c hasvcTestNotification '$T/trapd.log') -eq 3 ]"
# Two inform receivers at an address nobody has (on the lab's subnet: no
# ARP answer, no ICMP; every attempt times out).
add_dead() { lab exec host1 hasvc snmp-receiver-add address=10.213.0.99 port=162 inform=true "$@" >/dev/null || die "add dead $*"; }
add_dead version=2c community=labcommunity
add_dead version=3 user=informuser auth-key=inform-auth-pass priv-key=inform-priv-pass

# alerts NAME UUID: notifications of NAME whose host varbind is UUID
alerts() { grep -F "HASVC-MIB::$1" "$T/trapd.log" | grep -cF "hasvcAlertHostUuid.0 = STRING: $2" || true; }
msgs() {
	lab exec host1 hasvc message-list params=all --json |
		jq --arg n "$1" --arg o "$2" '[.[] | select(.name == $n and .["obj-uuid"] == $o)] | length'
}

echo "== 1: host3 cut off, fenced: HA_HOST_FAILED"
failed0=$(msgs HA_HOST_FAILED "$u3") # the baseline's power-off
lab partition host3 host1,host2 >/dev/null
reset3() { [[ $(resets host3) == 1 ]]; }
wait_for 30 "host3 to be reset" reset3
three() { [[ $(alerts hasvcHaHostFailed "$u3") -ge 3 ]]; }
wait_for 30 "HA_HOST_FAILED about host3 at the 3 receivers" three
sleep 5 # a duplicate would come by now (scans every 2 s, informs 1 s apart)
n=$(($(msgs HA_HOST_FAILED "$u3") - failed0))
[[ $n -eq 1 ]] || die "$n new HA_HOST_FAILED messages about host3 in the pool database"
n=$(alerts hasvcHaHostFailed "$u3")
[[ $n -eq 3 ]] || die "HA_HOST_FAILED about host3 arrived $n times at 3 receivers"
for h in "$u1" "$u2"; do
	[[ $(alerts hasvcHaHostFailed "$h") -eq 0 ]] || die "HA_HOST_FAILED about a survivor"
done
grep -F hasvcHaHostFailed "$T/trapd.log" | grep -qF "hasvcAlertObjectClass.0 = STRING: Host" ||
	die "no class varbind: $(grep -F hasvcHaHostFailed "$T/trapd.log")"
echo "ok: one HA_HOST_FAILED about host3 per receiver"

echo "== 2: heal, boot host3: HA_HOST_WAS_FENCED"
lab heal >/dev/null
lab boot host3 >/dev/null
fenced() { [[ $(alerts hasvcHaHostWasFenced "$u3") -ge 3 ]]; }
wait_for 90 "HA_HOST_WAS_FENCED about host3 at the 3 receivers" fenced
sleep 5
n=$(alerts hasvcHaHostWasFenced "$u3")
[[ $n -eq 3 ]] || die "HA_HOST_WAS_FENCED about host3 arrived $n times at 3 receivers"
[[ $(alerts hasvcHaHostFailed "$u3") -eq 3 ]] || die "HA_HOST_FAILED was sent again"
grep -F hasvcHaHostWasFenced "$T/trapd.log" | grep -q "hasvcAlertBody.0 = STRING: ..*" ||
	die "HA_HOST_WAS_FENCED without its reason"
echo "ok: one HA_HOST_WAS_FENCED about host3 per receiver"
lab check

echo "== 3: host3 powered off again, with the dead receivers and the hanging hook"
wait_for 60 "host3 back in the liveset" steady 3 host1 host2 host3
retrying() { grep -q "SNMP inform to 10.213.0.99:162 not acknowledged" "$HASVC_LAB_DIR"/host*/hasvcd.log; }
retrying || die "no inform to the dead receivers is being retried"
[[ -s $T/hang.pids ]] || die "the hanging hook never ran"
dead_ms_recv=$(dead_ms)
echo "host3 certainly dead on both survivors ${dead_ms_recv} ms after its power-off (dead receivers, hanging hook)"
echo "failover decision: ${base_ms} ms without receivers, ${dead_ms_recv} ms with dead receivers"
((dead_ms_recv <= base_ms + 1000)) ||
	die "dead receivers slowed failover: ${dead_ms_recv} ms against ${base_ms} ms"
echo "ok: a dead receiver does not slow failover"
lab check
