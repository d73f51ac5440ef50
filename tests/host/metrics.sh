#!/usr/bin/env bash
# GET /metrics on a standalone hasvcd (hasvc/metrics.h, docs/metrics.md):
#  1. without credentials, with a wrong password, or an unknown user: 401;
#     another method: 405; the XAPI still answers on the same port;
#  2. with an API user (root, then a read-only user): 200, text/plain
#     version=0.0.4, parsed by prometheus_client's text parser and checked
#     against the format's rules it does not enforce (HELP and TYPE before the
#     samples, one family per name, samples of a family together, histogram
#     buckets cumulative with le="+Inf" equal to _count);
#  3. the figures follow the pool: a VM made protected through the API moves
#     hasvc_vms_protected, a login moves hasvc_api_sessions, refusals count in
#     hasvc_metrics_auth_refused_total;
#  4. a client that leaves during its password check, then SIGTERM: exit 0,
#     no sanitizer report;
#  5. restarted with <metrics-auth>none</metrics-auth>: 200 without
#     credentials and with wrong ones, no refusal counted; the XAPI still
#     refuses a wrong password.
. "$(dirname "$0")/common.bash"
HOST=7a1f0c2e-5b3d-4e8f-9a6b-0c1d2e3f4a5b
PY=/usr/bin/python3
[[ -x $PY ]] && $PY -c 'import prometheus_client' 2>/dev/null ||
	die "python3-prometheus-client is missing (make deps)"

# check_metrics FILE: the strict checker; prints "families N samples M".
PROM_CHECK=$(cd "$(dirname "$0")/../clients" && pwd)/prom_check.py
check_metrics() { $PY "$PROM_CHECK" "$1"; }

# The checker refuses what the format forbids (a checker that passes
# everything would prove nothing).
checker_refuses() {
	printf '%b' "$1" >"$T/bad.prom"
	! check_metrics "$T/bad.prom" >/dev/null 2>&1 || die "the checker accepted: $1"
}
checker_refuses '# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'
checker_refuses '# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 2\n'
checker_refuses 'a 1\n# HELP a x\n# TYPE a gauge\n'
checker_refuses '# HELP a x\n# TYPE a gauge\na 1\n# HELP a x\n# TYPE a gauge\na 2\n'
checker_refuses '# HELP a x\n# TYPE a counter\na 1\n'
checker_refuses '# HELP a x\n# TYPE a gauge\na 1\n# HELP b x\n# TYPE b gauge\nb 1\na 2\n'

# value FILE SAMPLE: the value of one sample line ("name{labels}").
value() { awk -v s="$2" '$1 == s {print $2; found=1} END {exit !found}' "$1"; }

# scrape FILE [curl options]: prints the HTTP status, body into FILE.
scrape() {
	local f=$1
	shift
	curl -ks --max-time 20 -o "$f" -w '%{http_code}' "$@" "$API_URL/metrics"
}

start_simhv h1 --memory 16384 --dom0-memory 1024 --boot-ms 50
write_conf $HOST h1 10s
db init name-label=metrics-pool >/dev/null
db host-add uuid=$HOST name-label=h1 address=127.0.0.1 memory-total=16GiB >/dev/null
P1=$(db vm-add name-label=p1 memory-static-max=1GiB ha-restart-priority=restart ha-always-run=true resident-on=$HOST power-state=Running)
UN=$(db vm-add name-label=un memory-static-max=1GiB power-state=Halted)
db pool-param-set ha-enabled=true # protected VMs are kept running
start_hasvcd
wait_api

# 1. refused
[[ $(scrape "$T/m0") == 401 ]] || die "no credentials: not 401"
[[ $(scrape "$T/m0" -u "root:wrong-$RANDOM") == 401 ]] || die "wrong password: not 401"
[[ $(scrape "$T/m0" -u "nobody:$ROOT_PW") == 401 ]] || die "unknown user: not 401"
[[ $(scrape "$T/m0" -H 'Authorization: Basic !!!!') == 401 ]] || die "bad base64: not 401"
[[ $(scrape "$T/m0" -u "root:$ROOT_PW" -X POST --data x) == 405 ]] || die "POST: not 405"
grep -q '^hasvc' "$T/m0" && die "a refused request got metrics"
jsonrpc session.login_with_password "[\"root\",\"$ROOT_PW\"]" | grep -q '"result":"OpaqueRef:' ||
	die "the XAPI does not answer next to /metrics"
echo "ok: refused without valid credentials (401), POST 405"

# 2. served and valid
ctype=$(curl -ks --max-time 20 -u "root:$ROOT_PW" -o "$T/m1" -w '%{content_type}' "$API_URL/metrics")
[[ $ctype == "text/plain; version=0.0.4; charset=utf-8" ]] || die "content type: $ctype"
echo "ok: root scrape: $(check_metrics "$T/m1")"
[[ $(value "$T/m1" hasvc_info{host_uuid=\"$HOST\"}) == 1 ]] || die "hasvc_info missing"
[[ $(value "$T/m1" hasvc_ha_running) == 0 ]] || die "HA runs on a standalone host?"
[[ $(value "$T/m1" hasvc_pool_ha_enabled) == 1 ]] || die "hasvc_pool_ha_enabled"
[[ $(value "$T/m1" hasvc_vms) == 2 ]] || die "hasvc_vms: $(value "$T/m1" hasvc_vms)"
[[ $(value "$T/m1" hasvc_vms_protected) == 1 ]] || die "protected: $(value "$T/m1" hasvc_vms_protected)"
wait_for 15 "p1 running in the database" sh -c "curl -ks -u 'root:$ROOT_PW' '$API_URL/metrics' | grep -qx 'hasvc_vms_protected_running 1'"
refused1=$(value "$T/m1" hasvc_metrics_auth_refused_total)
((refused1 >= 4)) || die "refusals not counted: $refused1"

# 3. figures follow the pool
S=$(jsonrpc session.login_with_password "[\"root\",\"$ROOT_PW\"]" | sed -E 's/.*"result":"([^"]+)".*/\1/')
[[ $S == OpaqueRef:* ]] || die "login: $S"
jsonrpc VM.set_ha_restart_priority "[\"$S\",\"OpaqueRef:$UN\",\"restart\"]" | grep -q '"result"' ||
	die "VM.set_ha_restart_priority failed"
[[ $(scrape "$T/m2" -u "root:$ROOT_PW") == 200 ]] || die "second scrape"
check_metrics "$T/m2" >/dev/null
[[ $(value "$T/m2" hasvc_vms_protected) == 2 ]] || die "protected after the change: $(value "$T/m2" hasvc_vms_protected)"
(($(value "$T/m2" hasvc_api_sessions) >= 2)) || die "sessions: $(value "$T/m2" hasvc_api_sessions)"
(($(value "$T/m2" hasvc_metrics_scrapes_total) > $(value "$T/m1" hasvc_metrics_scrapes_total))) ||
	die "scrapes not counted"
echo "ok: VM made protected through the API: hasvc_vms_protected 1 -> 2"

# A read-only API user may scrape too.
RO_PW=reader-pw-$RANDOM
jsonrpc hasvc_user.add "[\"$S\",\"reader\",\"$RO_PW\",\"read-only\"]" | grep -q '"result"' ||
	die "hasvc_user.add failed"
[[ $(scrape "$T/m3" -u "reader:$RO_PW") == 200 ]] || die "read-only user refused"
[[ $(scrape "$T/m3" -u "reader:x$RO_PW") == 401 ]] || die "read-only user, wrong password: not 401"
echo "ok: a read-only user scrapes"
# The cached check answers at once; a refusal after success is still a refusal.
[[ $(scrape "$T/m4" -u "root:$ROOT_PW") == 200 ]] || die "cached scrape"
[[ $(scrape "$T/m4" -u "root:x$ROOT_PW") == 401 ]] || die "wrong password after a success: not 401"
kill -0 "$hasvcd_pid" || die "hasvcd died"
# A password check still running when the client goes away, then a clean stop
# (sanitizer builds: no leak, no report).
curl -ks --max-time 0.05 -u "root:slow-$RANDOM" "$API_URL/metrics" >/dev/null 2>&1 || true
sleep 0.5
kill -TERM "$hasvcd_pid"
rc=0
wait "$hasvcd_pid" || rc=$?
((rc == 0)) || die "hasvcd exited $rc on SIGTERM"
echo "ok: clean stop"

# 5. <metrics-auth>none</metrics-auth>
sed -i "s|<port>$API_PORT</port>|<port>$API_PORT</port><metrics-auth>none</metrics-auth>|" "$T/hasvcd.conf"
grep -q '<metrics-auth>none</metrics-auth>' "$T/hasvcd.conf" || die "conf edit"
start_hasvcd
wait_api
[[ $(scrape "$T/m5") == 200 ]] || die "metrics-auth none, no credentials: not 200"
echo "ok: metrics-auth none: $(check_metrics "$T/m5")"
[[ $(value "$T/m5" hasvc_info{host_uuid=\"$HOST\"}) == 1 ]] || die "hasvc_info missing"
[[ $(scrape "$T/m6" -u "root:wrong-$RANDOM") == 200 ]] || die "metrics-auth none, wrong password: not 200"
[[ $(value "$T/m6" hasvc_metrics_auth_refused_total) == 0 ]] || die "a refusal counted with metrics-auth none"
[[ $(scrape "$T/m6" -X POST --data x) == 405 ]] || die "metrics-auth none, POST: not 405"
jsonrpc session.login_with_password "[\"root\",\"wrong-$RANDOM\"]" | grep -q '"result":"OpaqueRef:' &&
	die "the XAPI let a wrong password in"
jsonrpc session.login_with_password "[\"root\",\"$ROOT_PW\"]" | grep -q '"result":"OpaqueRef:' ||
	die "the XAPI does not answer next to an open /metrics"
echo "ok: metrics-auth none: 200 without credentials; the XAPI still needs a password"
kill -TERM "$hasvcd_pid"
rc=0
wait "$hasvcd_pid" || rc=$?
((rc == 0)) || die "hasvcd exited $rc on SIGTERM"
! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/hasvcd.log" || die "sanitizer report"
echo "PASS"
