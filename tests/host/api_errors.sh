#!/usr/bin/env bash
# Every error path of the API, each with curl, each followed by a good call to
# prove the daemon kept running: bad credentials, stale session, unknown method,
# wrong parameter count, wrong types, invalid priority, non-XML body,
# truncated JSON, a 100 MiB body, a slowloris client, plain HTTP to the TLS
# port, and a read-only user's write.
. "$(dirname "$0")/common.bash"
HOST=7a1f0c2e-5b3d-4e8f-9a6b-0c1d2e3f4a5b

start_simhv h1
write_conf $HOST h1 10s
db init >/dev/null
db host-add uuid=$HOST name-label=h1 address=127.0.0.1 memory-total=16GiB >/dev/null
VM=$(db vm-add name-label=target memory-static-max=1GiB)
start_hasvcd
wait_api

alive() { # a good call still works
	jsonrpc session.login_with_password "[\"root\",\"$ROOT_PW\"]" | grep -q '"result":"OpaqueRef:' ||
		die "the API stopped answering after: $1"
}
passed() { # description: print it, then prove the daemon still answers
	echo "ok: $1"
	alive "$1"
}
expect() { # description, regex, reply
	grep -qE "$2" <<<"$3" || die "$1: reply does not match /$2/: ${3:0:300}"
	echo "ok: $1"
	alive "$1"
}

SESSION=$(jsonrpc session.login_with_password "[\"root\",\"$ROOT_PW\"]" | sed -E 's/.*"result":"([^"]+)".*/\1/')
[[ $SESSION == OpaqueRef:* ]] || die "login failed: $SESSION"
REF=OpaqueRef:$VM

expect "bad credentials" '"message":"SESSION_AUTHENTICATION_FAILED"' \
	"$(jsonrpc session.login_with_password '["root","wrong"]')"
expect "stale session" '"message":"SESSION_INVALID"' \
	"$(jsonrpc VM.get_all '["OpaqueRef:00000000-0000-4000-8000-000000000000"]')"
expect "unknown method" '"message":"MESSAGE_METHOD_UNKNOWN"' \
	"$(jsonrpc VM.frobnicate "[\"$SESSION\"]")"
expect "wrong parameter count" '"message":"MESSAGE_PARAMETER_COUNT_MISMATCH"' \
	"$(jsonrpc VM.set_order "[\"$SESSION\",\"$REF\"]")"
expect "wrong type" '"message":"(FIELD_TYPE_ERROR|INVALID_VALUE)"' \
	"$(jsonrpc VM.set_order "[\"$SESSION\",\"$REF\",\"three\"]")"
expect "invalid priority" '"message":"INVALID_VALUE"' \
	"$(jsonrpc VM.set_ha_restart_priority "[\"$SESSION\",\"$REF\",\"always\"]")"
expect "unknown object" '"message":"HANDLE_INVALID"' \
	"$(jsonrpc VM.get_record "[\"$SESSION\",\"OpaqueRef:00000000-0000-4000-8000-000000000001\"]")"

code=$(curl -ks -o "$T/out" -w '%{http_code}' -H 'Content-Type: text/xml' --data 'this is not xml' "$API_URL/")
[[ $code == 400 || $code == 500 ]] || die "non-XML body: HTTP $code"
passed "non-XML body (HTTP $code)"
code=$(curl -ks -o "$T/out" -w '%{http_code}' -H 'Content-Type: application/json' --data '{"jsonrpc":"2.0","id":1,"method":"VM.get_all","params":["' "$API_URL/jsonrpc")
[[ $code == 400 ]] || die "truncated JSON: HTTP $code"
passed "truncated JSON (HTTP $code)"

head -c $((100 * 1024 * 1024)) /dev/zero >"$T/big"
code=$(curl -ks -o /dev/null -w '%{http_code}' --max-time 60 -H 'Content-Type: application/json' --data-binary @"$T/big" "$API_URL/jsonrpc" || true)
[[ $code == 413 || $code == 000 ]] || die "100 MiB body: HTTP $code"
rm -f "$T/big"
passed "100 MiB body refused (HTTP $code)"

# A request is refused above 1 MiB, before it is decoded: a decoded JSON array
# costs ~40 times its text, so a 16 MiB body cost 700 MB of RSS, unauthenticated.
python3 -c 'import sys; sys.stdout.write("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"VM.get_all\",\"params\":[" + ",".join(["1"] * (1 << 20)) + "]}")' >"$T/big"
code=$(curl -ks -o /dev/null -w '%{http_code}' --max-time 60 -H 'Content-Type: application/json' --data-binary @"$T/big" "$API_URL/jsonrpc" || true)
[[ $code == 413 || $code == 000 ]] || die "2 MiB body: HTTP $code"
rm -f "$T/big"
passed "2 MiB body refused (HTTP $code)"

# slowloris: one header byte per second through a TLS client; the server must
# close it long before the headers could ever complete, and serve others meanwhile.
(
	printf 'POST /jsonrpc HTTP/1.1\r\nHost: x\r\n'
	for ((i = 0; i < 60; i++)); do printf 'X'; sleep 1; done
) | timeout 70 openssl s_client -quiet -connect 127.0.0.1:$API_PORT >/dev/null 2>&1 &
slow=$!
started+=($slow)
sleep 2
alive "a slowloris client connected"
t0=$SECONDS
wait $slow 2>/dev/null || true
((SECONDS - t0 < 40)) || die "slowloris connection was kept for $((SECONDS - t0 + 2)) s"
echo "ok: slowloris client closed after about $((SECONDS - t0 + 2)) s"

curl -s --max-time 5 -o /dev/null "http://127.0.0.1:$API_PORT/jsonrpc" && die "plain HTTP was answered"
passed "plain HTTP to the TLS port refused"
curl -ks --max-time 5 --tls-max 1.1 -o /dev/null "$API_URL/jsonrpc" && die "TLS 1.1 accepted"
passed "TLS 1.1 refused"

# A read-only user may read but not write.
jsonrpc hasvc_user.add "[\"$SESSION\",\"reader\",\"reader-pw-1\",\"read-only\"]" | grep -q '"result"' ||
	die "could not add a read-only user"
RO=$(jsonrpc session.login_with_password '["reader","reader-pw-1"]' | sed -E 's/.*"result":"([^"]+)".*/\1/')
expect "read-only user reads" '"result":\[' "$(jsonrpc VM.get_all "[\"$RO\"]")"
expect "read-only user cannot write" '"message":"RBAC_PERMISSION_DENIED"' \
	"$(jsonrpc VM.set_order "[\"$RO\",\"$REF\",1]")"

kill -0 "$hasvcd_pid" || die "hasvcd died"
