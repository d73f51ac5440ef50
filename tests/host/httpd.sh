#!/usr/bin/env bash
# api/httpd over real TLS clients (curl, openssl s_client) against the
# tests/helpers/httpd_echo server: protocol versions, keep-alive, body cap,
# slowloris, plain HTTP, connection cap, deferred replies and aborts.
# Every client runs under a timeout; only processes started here are killed.
source "$(dirname "$0")/common.bash"

ECHO=$BUILD/helpers/httpd_echo
[[ -x $ECHO ]] || { echo "httpd_echo helper not built"; exit 77; }
command -v curl >/dev/null && command -v openssl >/dev/null || { echo "needs curl and openssl"; exit 77; }

# start_echo NAME [options...]: sets PORT_<NAME> and PID_<NAME>.
start_echo() {
	local name=$1 port
	shift
	"$ECHO" --cert "$T/cert.pem" --key "$T/key.pem" "$@" >"$T/$name.port" 2>"$T/$name.log" &
	started+=($!)
	printf -v "PID_$name" %s $!
	wait_for 10 "$name port" test -s "$T/$name.port"
	port=$(head -n1 "$T/$name.port")
	printf -v "PORT_$name" %s "$port"
}

A_REQ_TIMEOUT_MS=3000
start_echo a --max-body $((16 << 20)) --request-timeout $A_REQ_TIMEOUT_MS
URL=https://127.0.0.1:$PORT_a
[[ $(stat -c %a "$T/key.pem") == 600 ]] || die "key file mode is not 0600"

c() { curl -sk --max-time 10 "$@"; }

echo "== TLS 1.2 and 1.3 accepted, certificate verifies for 127.0.0.1"
[[ $(c --tlsv1.2 --tls-max 1.2 "$URL/echo" -d v12) == v12 ]] || die "TLS 1.2 refused"
[[ $(c --tlsv1.3 "$URL/echo" -d v13) == v13 ]] || die "TLS 1.3 refused"
[[ $(curl -s --max-time 10 --cacert "$T/cert.pem" "$URL/echo" -d ca) == ca ]] ||
	die "self-signed certificate does not verify for 127.0.0.1"

echo "== TLS 1.1 refused"
if c --tlsv1.1 --tls-max 1.1 "$URL/echo" -d x; then die "TLS 1.1 accepted by curl"; fi
# Let the client offer TLS 1.1 for real: the server must answer with an alert.
out=$(timeout 10 openssl s_client -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' \
	-connect "127.0.0.1:$PORT_a" </dev/null 2>&1 || true)
grep -q 'alert protocol version' <<<"$out" || die "TLS 1.1 not refused with an alert: $out"

echo "== reply headers"
hdr=$(c -D - -o /dev/null "$URL/echo" -d x)
grep -qi '^Access-Control-Allow-Origin: \*' <<<"$hdr" || die "no CORS header: $hdr"
grep -qi '^Content-Type: application/octet-stream' <<<"$hdr" || die "wrong content type: $hdr"
[[ $(c -o /dev/null -w '%{http_code}' "$URL/nowhere") == 404 ]] || die "404 expected"

echo "== keep-alive: two requests on one connection"
out=$(curl -vsk --max-time 10 "$URL/echo" -d one --next -k "$URL/echo" -d two 2>"$T/ka.err")
[[ $out == onetwo ]] || die "keep-alive replies wrong: $out"
grep -q 'Re-using existing connection' "$T/ka.err" || die "connection not re-used: $(cat "$T/ka.err")"

echo "== body: 1 MiB echoed intact; 100 MiB refused; server still answers"
head -c $((1 << 20)) /dev/urandom >"$T/1m"
c --data-binary @"$T/1m" -o "$T/1m.back" "$URL/echo" || die "1 MiB echo failed"
cmp -s "$T/1m" "$T/1m.back" || die "1 MiB body not echoed intact"
code=$(head -c $((100 << 20)) /dev/zero |
	curl -sk --max-time 20 -o /dev/null -w '%{http_code}' --data-binary @- "$URL/echo" || true)
echo "   100 MiB: HTTP $code"
[[ $code == 413 || $code == 000 ]] || die "100 MiB body got HTTP $code (want 413 or closed)"
[[ $(c "$URL/echo" -d after-big) == after-big ]] || die "no answer after the 100 MiB body"

echo "== slowloris: one header byte per second is closed within the request timeout"
slow_start=$EPOCHREALTIME
(
	req='POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx'
	for ((i = 0; i < ${#req}; i++)); do printf '%s' "${req:i:1}"; sleep 1; done
) 2>/dev/null | timeout 15 openssl s_client -quiet -connect "127.0.0.1:$PORT_a" \
	>"$T/slow.out" 2>"$T/slow.err" &
slow_pid=$!
started+=($slow_pid)
sleep 1
# Meanwhile another client is served normally.
[[ $(c "$URL/echo" -d meanwhile) == meanwhile ]] || die "normal client not served during slowloris"
wait $slow_pid || true
slow_ms=$(((${EPOCHREALTIME/./} - ${slow_start/./}) / 1000))
echo "   slow client closed after ${slow_ms} ms"
((slow_ms < A_REQ_TIMEOUT_MS + 2500)) || die "slow client closed after ${slow_ms} ms"
((slow_ms >= A_REQ_TIMEOUT_MS - 500)) || die "slow client closed too early (${slow_ms} ms)"
grep -q '408' "$T/slow.out" || die "no 408 for the slow client: $(cat "$T/slow.out")"
grep -q 'request not complete within' "$T/a.log" || die "slowloris close not logged"

echo "== plain HTTP to the TLS port fails; server fine"
if curl -s --max-time 5 -o /dev/null "http://127.0.0.1:$PORT_a/echo" -d x; then
	die "plain HTTP was answered"
fi
[[ $(c "$URL/echo" -d after-plain) == after-plain ]] || die "no answer after plain HTTP"

echo "== a deferred reply (2 s) does not block a fast request"
(c "$URL/delay?ms=2000" -d '' >"$T/slow.reply"; echo "${EPOCHREALTIME/./}" >"$T/slow.done") &
started+=($!)
sleep 0.3
[[ $(c "$URL/echo" -d fast) == fast ]] || die "fast request failed"
fast_done=${EPOCHREALTIME/./}
wait_for 10 "deferred reply" test -s "$T/slow.done"
[[ $(cat "$T/slow.reply") == "delayed 2000" ]] || die "deferred reply wrong: $(cat "$T/slow.reply")"
(($(cat "$T/slow.done") > fast_done)) || die "the fast request waited for the deferred one"

echo "== a client leaving during a deferred reply triggers the abort callback"
if c --max-time 1 "$URL/delay?ms=3000" -d ''; then die "curl should have timed out"; fi
wait_for 3 "abort callback" grep -q 'abort /delay ms=3000' "$T/a.log"
sleep 2.5 # past the 3 s: the aborted reply must not crash anything
[[ $(c "$URL/echo" -d after-abort) == after-abort ]] || die "no answer after an abort"

echo "== connection cap: cap+2 idle TLS connections, the extra two refused"
CAP=3
start_echo b --max-conn $CAP
mkfifo "$T/hold"
exec 9<>"$T/hold" # keeps the fifo open: s_client reads nothing and stays idle
idle=()
open_idle() {
	timeout 20 openssl s_client -quiet -connect "127.0.0.1:$PORT_b" <"$T/hold" \
		>/dev/null 2>&1 &
	started+=($!)
	idle+=($!)
}
for ((i = 0; i < CAP; i++)); do open_idle; done
sleep 0.5
open_idle
open_idle
gone() { ! kill -0 "$1" 2>/dev/null; }
wait_for 5 "refused connection 1" gone "${idle[CAP]}"
wait_for 5 "refused connection 2" gone "${idle[CAP + 1]}"
for ((i = 0; i < CAP; i++)); do kill -0 "${idle[i]}" 2>/dev/null || die "idle connection $i closed"; done
[[ $(grep -c 'connection refused' "$T/b.log") == 2 ]] || die "want 2 refusals logged"
kill -TERM "${idle[0]}"
wait_for 5 "a free slot" bash -c "[[ \$(curl -sk --max-time 2 https://127.0.0.1:$PORT_b/conns) == $CAP ]]"

echo "== SIGTERM: clean exit; a pending deferred request is aborted"
c "$URL/delay?ms=20000" -d '' >/dev/null &
started+=($!)
wait_for 5 "pending request" bash -c "[[ \$(curl -sk --max-time 2 $URL/conns) == 2 ]]"
for p in "$PID_a" "$PID_b"; do
	kill -TERM "$p"
	rc=0
	wait "$p" || rc=$?
	((rc == 0)) || die "httpd_echo $p exited with $rc"
done
grep -q 'abort /delay ms=20000' "$T/a.log" || die "pending request not aborted at exit"
exec 9>&-
echo "PASS"
