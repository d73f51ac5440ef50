#!/usr/bin/env bash
# The XAPI-compatible API of one hasvcd, over TLS with keep-alive (wrk, 2
# threads, 16 connections, 5 s per run, median of RUNS runs):
#   - VM.get_record and VM.get_all_records with 100 and 2000 VMs, JSON-RPC and
#     XML-RPC side by side;
#   - event latency: a write (VM.set_order) until a waiting event.from returns it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${BINDIR:-bin}")
RUNS=${RUNS:-3}
W=$(mktemp -d /tmp/hasvc-bench-api.XXXXXX)
HOST=7a1f0c2e-5b3d-4e8f-9a6b-0c1d2e3f4a5b
PORT=$((20000 + RANDOM % 20000))
URL=https://127.0.0.1:$PORT
PW=bench-$RANDOM
simpid= hpid=
cleanup() {
	[[ -n $hpid ]] && kill -TERM "$hpid" 2>/dev/null || true
	[[ -n $simpid ]] && kill -TERM "$simpid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
command -v wrk >/dev/null || { echo "wrk is not installed (make deps installs it)"; exit 1; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
call() { # method params-json
	curl -ks -H 'Content-Type: application/json' \
		--data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$URL/jsonrpc"
}
result() { sed -E 's/.*"result":"([^"]+)".*/\1/'; }

start() { # nvms
	[[ -n $hpid ]] && { kill -TERM "$hpid"; wait "$hpid" 2>/dev/null || true; }
	rm -rf "$W/data"
	mkdir -p "$W/data"
	"$BIN/hasvc-db" -d "$W/data/pool.db" init >/dev/null
	"$BIN/hasvc-db" -d "$W/data/pool.db" host-add uuid=$HOST name-label=h1 address=127.0.0.1 memory-total=1TiB >/dev/null
	for ((i = 0; i < $1; i++)); do
		echo "vm-add name-label=vm$i memory-static-max=1GiB ha-restart-priority=restart order=$((i % 4))"
	done | while read -r line; do "$BIN/hasvc-db" -d "$W/data/pool.db" $line >/dev/null; done
	"$BIN/hasvcd" -c "$W/conf" 2>>"$W/log" &
	hpid=$!
	until curl -ks --max-time 1 -o /dev/null -X OPTIONS "$URL/jsonrpc"; do sleep 0.1; done
	SESSION=$(call session.login_with_password "[\"root\",\"$PW\"]" | result)
	VMREF=$(call VM.get_all "[\"$SESSION\"]" | sed -E 's/.*"result":\["([^"]+)".*/\1/')
}

printf '%s\n' "$PW" >"$W/pw"
"$BIN/hasvc-simhv" --host h1 --socket "$W/sock" --ledger "$W/ledger" --state-dir "$W" >/dev/null 2>&1 &
simpid=$!
cat >"$W/conf" <<EOC
<?xml version="1.0"?>
<hasvcd version="1">
  <host-uuid>$HOST</host-uuid>
  <management-address>127.0.0.1</management-address>
  <data-dir>$W/data</data-dir>
  <watchdog><driver>sim</driver><timeout>30s</timeout></watchdog>
  <hypervisor><backend>sim</backend><socket>$W/sock</socket></hypervisor>
  <api><address>127.0.0.1</address><port>$PORT</port><root-password-file>$W/pw</root-password-file></api>
  <log><level>warning</level><syslog>false</syslog></log>
</hasvcd>
EOC
while [[ ! -S $W/sock ]]; do sleep 0.05; done

wrk_rate() { # path content-type body-file
	cat >"$W/post.lua" <<EOL
wrk.method = "POST"
wrk.headers["Content-Type"] = "$2"
local f = io.open("$3", "r"); wrk.body = f:read("*a"); f:close()
EOL
	wrk -t2 -c16 -d5s -s "$W/post.lua" "$URL$1" | awk '/Requests\/sec/ {print $2}'
}
measure() { # label path ctype body
	local r rates=()
	for ((r = 0; r < RUNS; r++)); do rates+=("$(wrk_rate "$2" "$3" "$4")"); done
	printf '%s\n' "${rates[@]}" | median
}

printf '%-40s %14s %14s %8s\n' "calls/s (wrk, 16 connections, TLS)" "JSON-RPC" "XML-RPC" "ratio"
for n in 100 2000; do
	start $n
	for m in get_record get_all_records; do
		if [[ $m == get_record ]]; then jp="[\"$SESSION\",\"$VMREF\"]"; xp="<param><value>$SESSION</value></param><param><value>$VMREF</value></param>"
		else jp="[\"$SESSION\"]"; xp="<param><value>$SESSION</value></param>"; fi
		echo "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"VM.$m\",\"params\":$jp}" >"$W/j"
		echo "<?xml version=\"1.0\"?><methodCall><methodName>VM.$m</methodName><params>$xp</params></methodCall>" >"$W/x"
		j=$(measure "" /jsonrpc application/json "$W/j")
		x=$(measure "" / text/xml "$W/x")
		printf '%-40s %14s %14s %8s\n' "VM.$m, $n VMs" "$j" "$x" "$(awk -v a="$j" -v b="$x" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')"
	done
done

# Event latency: a blocked event.from returns when another client writes.
start 100
TOKEN=$(call event.from "[\"$SESSION\",[\"vm\"],\"\",0.1]" | sed -E 's/.*"token":"([^"]+)".*/\1/')
lat=()
for ((r = 0; r < 5; r++)); do
	call event.from "[\"$SESSION\",[\"vm\"],\"$TOKEN\",30.0]" >"$W/ev" &
	ev=$!
	sleep 0.3
	t0=${EPOCHREALTIME/./}
	call VM.set_order "[\"$SESSION\",\"$VMREF\",$r]" >/dev/null
	wait $ev
	t1=${EPOCHREALTIME/./}
	TOKEN=$(sed -E 's/.*"token":"([^"]+)".*/\1/' "$W/ev")
	lat+=($(((t1 - t0) / 1000)))
done
printf 'event latency (write -> event.from returns): median %s ms (runs: %s; includes both curl processes)\n' \
	"$(printf '%s\n' "${lat[@]}" | median)" "${lat[*]}"
