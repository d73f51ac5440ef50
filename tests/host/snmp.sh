#!/usr/bin/env bash
# Alerts to SNMP receivers and hook scripts (docs/monitoring.md), with a real
# snmptrapd on loopback decoding with docs/HASVC-MIB.txt loaded:
#  1. receivers are added with the CLI (v2c trap, v3 authPriv trap, v3
#     authPriv inform, v2c inform to a receiver that is not up yet); no
#     secret comes back from a list or any API read; the database is 0600;
#  2. snmp-test reaches every live receiver and reports the dead one;
#  3. an alert stored by hasvcd (HA_POOL_OVERCOMMITTED from the planner)
#     arrives exactly once per receiver, shown by name with its varbinds;
#  4. the inform to the late receiver (up ~15 s after the alert) is retried
#     with backoff until it comes up and acknowledges: it gets it exactly
#     once, the message is marked only then, and the other receivers got it
#     at once meanwhile (a dead receiver blocks no one);
#  5. a hook gets the alert JSON on stdin; a hanging hook is killed at its
#     timeout while the API keeps answering.
. "$(dirname "$0")/common.bash"
command -v snmptrapd >/dev/null || die "snmptrapd not installed"
here=$(cd "$(dirname "$0")" && pwd)
HOST=5e0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b
POOL=9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a
ENGINE=0x80007ED905$(tr -d - <<<"$POOL" | tr a-f A-F)
TRAP_PORT=$((40000 + RANDOM % 10000))
LATE_PORT=$((TRAP_PORT + 1))
SECRET_COMM=c0mm-$RANDOM-secret
AUTH=auth-$RANDOM-passphrase
PRIV=priv-$RANDOM-passphrase

# ---- snmptrapd: v2c community, a v3 user for traps (our engine ID) and
# one for informs (its own engine, which the sender discovers).
mkdir -p "$T/mibs" "$T/trapd-state" "$T/late-state"
cp "$here"/snmp_mibs/*.txt "$here/../../docs/HASVC-MIB.txt" "$T/mibs/"
cat >"$T/snmptrapd.conf" <<EOC
authCommunity log $SECRET_COMM
createUser -e $ENGINE trapuser SHA $AUTH AES $PRIV
createUser informuser SHA $AUTH AES $PRIV
authUser log trapuser
authUser log informuser
EOC
start_trapd() { # NAME PORT
	SNMP_PERSISTENT_DIR=$T/$1-state snmptrapd -f -Lf "$T/$1.log" -C -c "$T/snmptrapd.conf" \
		-M "$T/mibs" -m ALL udp:127.0.0.1:$2 >/dev/null 2>&1 &
	started+=($!)
	wait_for 10 "snmptrapd $1" grep -q "NET-SNMP version" "$T/$1.log"
}
start_trapd trapd $TRAP_PORT

# ---- hooks
cat >"$T/hook-ok" <<EOC
#!/bin/sh
cat >>"$T/hook.out"
echo >>"$T/hook.out"
echo "\$1" >>"$T/hook.args"
EOC
cat >"$T/hook-hang" <<EOC
#!/bin/sh
echo \$\$ >>"$T/hang.pids"
exec sleep 600
EOC
chmod +x "$T/hook-ok" "$T/hook-hang"

start_simhv h1 --memory 16384 --dom0-memory 1024 --boot-ms 50
write_conf $HOST h1 10s
sed -i "s|  <log>|  <notify><hook>$T/hook-ok</hook><hook>$T/hook-hang</hook><hook-timeout>1500ms</hook-timeout></notify>\n  <log>|" "$T/hasvcd.conf"
db init name-label=snmp-pool uuid=$POOL >/dev/null
db host-add uuid=$HOST name-label=snmp-host address=127.0.0.1 memory-total=16GiB >/dev/null
db vm-add name-label=p1 memory-static-max=1GiB ha-restart-priority=restart ha-always-run=true \
	resident-on=$HOST power-state=Running >/dev/null
db pool-param-set ha-enabled=true ha-allow-overcommit=true >/dev/null
start_hasvcd
wait_api
mode=$(stat -c %a "$T/data/pool.db")
[[ $mode == 600 ]] || die "pool.db is mode $mode, not 600"
echo "ok: pool.db is 0600"

export HASVC_PASSWORD=$ROOT_PW
hv() { "$BINDIR/hasvc" -s 127.0.0.1 -p "$API_PORT" --no-verify "$@"; }

# ---- 1. receivers
R1=$(hv snmp-receiver-add address=127.0.0.1 port=$TRAP_PORT version=2c community=$SECRET_COMM) || die "add v2c"
printf '%s\n' "$AUTH" >"$T/auth"
R2=$(hv snmp-receiver-add address=127.0.0.1 port=$TRAP_PORT version=3 user=trapuser auth-key-file="$T/auth" priv-key=$PRIV) || die "add v3"
R3=$(hv snmp-receiver-add address=127.0.0.1 port=$TRAP_PORT version=3 inform=true user=informuser auth-key=$AUTH priv-key=$PRIV) || die "add v3 inform"
R4=$(hv snmp-receiver-add address=127.0.0.1 port=$LATE_PORT version=2c inform=true community=$SECRET_COMM) || die "add late inform"
out=$(hv snmp-receiver-add address=127.0.0.1 version=3 user=u auth-key=short priv-key=$PRIV 2>&1) && die "a short key was accepted"
grep -q "INVALID_VALUE" <<<"$out" && grep -q "auth_key" <<<"$out" || die "short key: $out"
grep -q short <<<"$out" && die "the refused key was echoed: $out"
list=$(hv snmp-receiver-list)
json=$(hv snmp-receiver-list --json)
[[ $(grep -c '^uuid:' <<<"$list") -eq 4 ]] || die "list: $list"
grep -q "engine_id: $ENGINE" <<<"$list" || die "engine id not listed: $list"
sess=$(jsonrpc session.login_with_password "[\"root\",\"$ROOT_PW\"]" | sed -E 's/.*"result":"([^"]*)".*/\1/')
raw=$(jsonrpc pool.snmp_receiver_get_all_records "[\"$sess\"]")
grep -q '"community_set":true' <<<"$raw" || die "get_all_records: $raw"
for s in "$SECRET_COMM" "$AUTH" "$PRIV"; do
	grep -qF -- "$s" <<<"$list$json$raw" && die "a secret is in the receiver list"
done
echo "ok: 4 receivers, no secret in list output"

# ---- 2. snmp-test: three live receivers answer, the late one cannot
out=$(hv snmp-test 2>&1) && die "snmp-test succeeded with a dead inform receiver: $out"
[[ $(grep -c ": ok$" <<<"$out") -eq 3 ]] || die "snmp-test: $out"
grep -q "127.0.0.1:$LATE_PORT: FAILED: inform.*no acknowledgement" <<<"$out" || die "snmp-test late: $out"
wait_for 10 "3 test notifications" sh -c "[ \$(grep -c 'hasvcTestNotification' '$T/trapd.log') -ge 3 ]"
echo "ok: snmp-test: $(tr '\n' ';' <<<"$out")"

# ---- 3. an alert: the planner marks the pool overcommitted (a 1-host pool
# tolerates no failure) and stores HA_POOL_OVERCOMMITTED.
hv pool-param-set ha-host-failures-to-tolerate=1 || die "set ntol"
wait_for 20 "the alert message" sh -c "'$BINDIR/hasvc-db' -d '$T/data/pool.db' message-list | grep -q HA_POOL_OVERCOMMITTED"
MSG=$(db message-list | awk '$1=="uuid:" {u=$2} /HA_POOL_OVERCOMMITTED/ {print u; exit}')
[[ -n $MSG ]] || die "no message uuid: $(db message-list)"
t_msg=$(date +%s)
# the live receivers have it at once, while the late one is still down
wait_for 8 "the alert at 3 receivers" sh -c "[ \$(grep -c '$MSG' '$T/trapd.log') -ge 3 ]"
wait_for 10 "the first unacknowledged attempt" grep -q "inform to 127.0.0.1:$LATE_PORT not acknowledged" "$T/hasvcd.log"
marked() { python3 -c 'import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
sys.exit(0 if c.execute("select 1 from message_notified where uuid = ?", (sys.argv[2],)).fetchone() else 1)' "$T/data/pool.db" "$MSG"; }
marked && die "the message is marked while an inform is unacknowledged"
# the late receiver comes up ~15 s after the alert: the inform is retried
# with backoff (1 2 4 8 ... s) until it acknowledges
sleep $((15 - ($(date +%s) - t_msg)))
marked && die "the message is marked while an inform is unacknowledged"
start_trapd late $LATE_PORT
wait_for 40 "the alert at the late receiver" grep -q "$MSG" "$T/late.log"
echo "ok: the late inform acknowledged $(($(date +%s) - t_msg)) s after the alert"
wait_for 10 "the marker" marked
sleep 3 # anything sent twice would be here by now (scans every 2 s)
n=$(grep -c "$MSG" "$T/trapd.log")
[[ $n -eq 3 ]] || die "the alert reached the 3 receivers $n times, not 3"
[[ $(grep -c "$MSG" "$T/late.log") -eq 1 ]] || die "the late receiver got it $(grep -c "$MSG" "$T/late.log") times"
grep -q "late .*inform.*sent\|SNMP notification to 127.0.0.1:$LATE_PORT sent" "$T/hasvcd.log" || die "late inform not logged as sent"
# each: the notification by name and every varbind
for v in "snmpTrapOID.0 = OID: HASVC-MIB::hasvcHaPoolOvercommitted" \
	"HASVC-MIB::hasvcAlertUuid.0 = STRING: $MSG" \
	"HASVC-MIB::hasvcAlertName.0 = STRING: HA_POOL_OVERCOMMITTED" \
	"HASVC-MIB::hasvcAlertPriority.0 = INTEGER: 3" \
	"HASVC-MIB::hasvcAlertObjectClass.0 = STRING: Pool" \
	"HASVC-MIB::hasvcAlertObjectUuid.0 = STRING: $POOL" \
	"HASVC-MIB::hasvcAlertHostUuid.0 = STRING: $HOST" \
	"HASVC-MIB::hasvcAlertHostName.0 = STRING: snmp-host" \
	"HASVC-MIB::hasvcAlertBody.0 = STRING: " \
	"HASVC-MIB::hasvcAlertTime.0 = STRING: $(date -u +%Y-%m-%d),"; do
	[[ $(grep "$MSG" "$T/trapd.log" | grep -cF -- "$v") -eq 3 ]] ||
		die "varbind '$v' not in the 3 notifications: $(grep "$MSG" "$T/trapd.log")"
done
grep "$MSG" "$T/late.log" | grep -qF "HASVC-MIB::hasvcAlertName.0 = STRING: HA_POOL_OVERCOMMITTED" ||
	die "late receiver: $(cat "$T/late.log")"
echo "ok: HA_POOL_OVERCOMMITTED once per receiver, by name (v2c trap, v3 trap, v3 inform, late inform)"

# ---- a receiver removed gets nothing more; snmp-test succeeds again
hv snmp-receiver-remove uuid=$R4 || die "remove"
out=$(hv snmp-receiver-remove uuid=$R4 2>&1) && die "removed twice: $out"
before=$(grep -c . "$T/late.log")
out=$(hv snmp-test) || die "snmp-test after removing the late receiver: $out"
[[ $(grep -c ": ok$" <<<"$out") -eq 3 ]] || die "snmp-test: $out"
wait_for 10 "6 test notifications" sh -c "[ \$(grep -c 'hasvcTestNotification' '$T/trapd.log') -ge 6 ]"
grep 'hasvcTestNotification' "$T/trapd.log" | tail -n 1 | grep -qF "hasvcAlertHostUuid.0 = STRING: $HOST" ||
	die "test notification host: $(tail -n 1 "$T/trapd.log")"
sleep 1
[[ $(grep -c . "$T/late.log") -eq $before ]] || die "a removed receiver still gets notifications"
echo "ok: remove; snmp-test reaches the 3 remaining receivers"

# ---- 5. hooks
wait_for 10 "the hook's JSON" grep -q HA_POOL_OVERCOMMITTED "$T/hook.out"
python3 - "$T/hook.out" "$MSG" "$POOL" <<'EOP' || die "hook JSON: $(cat "$T/hook.out")"
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
d = [x for x in docs if x["uuid"] == sys.argv[2]]
assert len(d) == 1, docs
d = d[0]
assert d["name"] == "HA_POOL_OVERCOMMITTED" and d["priority"] == 3 and d["class"] == "Pool"
assert d["obj_uuid"] == sys.argv[3] and d["time"].endswith("Z") and d["timestamp"] > 0
EOP
grep -qx HA_POOL_OVERCOMMITTED "$T/hook.args" || die "hook argv[1]"
wait_for 10 "the hanging hook killed" grep -q "hook $T/hook-hang failed: killed after its timeout of 1500 ms" "$T/hasvcd.log"
for p in $(cat "$T/hang.pids"); do
	kill -0 "$p" 2>/dev/null && die "the hanging hook $p still runs"
done
hv pool-list >/dev/null || die "the API stopped answering"
kill -0 $hasvcd_pid || die "hasvcd died"
echo "ok: hook got the JSON; the hanging hook was killed at 1.5 s; the API answers"

# ---- a clean stop with the workers running: exit 0, nothing leaked (ASan)
kill -TERM $hasvcd_pid
rc=0; wait $hasvcd_pid || rc=$?
[[ $rc -eq 0 ]] || die "hasvcd exited $rc on SIGTERM"
grep -qE "LeakSanitizer|AddressSanitizer|runtime error" "$T/hasvcd.log" && die "sanitizer report in hasvcd.log"
echo "ok: clean stop"
