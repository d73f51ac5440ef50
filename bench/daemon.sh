#!/usr/bin/env bash
# hasvcd on one simulated host:
#   - reconcile time: from hasvcd's start until every protected VM that the DB
#     marks running here (and the hypervisor lost) runs again, for N VMs;
#   - crash-to-restart: from a protected VM's crash until it runs again
#     (event-driven path);
#   - idle cost: CPU time and RSS of hasvcd over 10 s with 48 VMs and the
#     watchdog armed.
# Each figure is the median of RUNS runs (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${BINDIR:-bin}")
RUNS=${RUNS:-5}
W=$(mktemp -d /tmp/hasvc-bench.XXXXXX)
HOST=7a1f0c2e-5b3d-4e8f-9a6b-0c1d2e3f4a5b
simpid= hpid=
cleanup() {
	[[ -n $hpid ]] && kill -TERM "$hpid" 2>/dev/null || true
	[[ -n $simpid ]] && kill -TERM "$simpid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ctl() { "$BIN/hasvc-simhv" ctl "$W/sock" "$@"; }
running() { ctl list 2>/dev/null | grep -c running || true; }

setup() { # nvms
	rm -rf "$W/data" "$W/ledger" "$W/sock"
	mkdir -p "$W/data"
	"$BIN/hasvc-simhv" --host h1 --socket "$W/sock" --ledger "$W/ledger" --memory 262144 \
		--cpus 64 --boot-ms 0 --state-dir "$W" >/dev/null 2>&1 &
	simpid=$!
	while [[ ! -S $W/sock ]]; do sleep 0.01; done
	local db=("$BIN/hasvc-db" -d "$W/data/pool.db") i
	"${db[@]}" init >/dev/null
	"${db[@]}" host-add uuid=$HOST name-label=h1 address=127.0.0.1 memory-total=256GiB >/dev/null
	for ((i = 0; i < $1; i++)); do
		"${db[@]}" vm-add name-label=vm$i memory-static-max=1GiB ha-restart-priority=restart \
			ha-always-run=true order=$((i % 4)) resident-on=$HOST power-state=Running >/dev/null
	done
	"${db[@]}" pool-param-set ha-enabled=true
	cat >"$W/conf" <<EOC
<?xml version="1.0"?>
<hasvcd version="1">
  <host-uuid>$HOST</host-uuid>
  <management-address>127.0.0.1</management-address>
  <data-dir>$W/data</data-dir>
  <watchdog><driver>sim</driver><timeout>5s</timeout></watchdog>
  <hypervisor><backend>sim</backend><socket>$W/sock</socket></hypervisor>
  <log><level>warning</level><syslog>false</syslog></log>
</hasvcd>
EOC
}
teardown() {
	kill -TERM "$hpid" 2>/dev/null || true
	wait "$hpid" 2>/dev/null || true
	kill -TERM "$simpid" 2>/dev/null || true
	wait "$simpid" 2>/dev/null || true
	hpid= simpid=
}

for n in 12 48; do
	times=()
	for ((r = 0; r < RUNS; r++)); do
		setup $n
		t=$(now_ms)
		"$BIN/hasvcd" -c "$W/conf" 2>>"$W/log" &
		hpid=$!
		until [[ $(running) -eq $n ]]; do sleep 0.005; done
		times+=($(($(now_ms) - t)))
		teardown
	done
	printf 'reconcile %2d protected VMs after a host reboot: median %s ms  (runs: %s)\n' \
		$n "$(printf '%s\n' "${times[@]}" | median)" "${times[*]}"
done

setup 48
"$BIN/hasvcd" -c "$W/conf" 2>>"$W/log" &
hpid=$!
until [[ $(running) -eq 48 ]]; do sleep 0.01; done
times=()
for ((r = 0; r < RUNS; r++)); do
	vm=$(ctl list | awk 'NR==1 {print $1}')
	t=$(now_ms)
	ctl crash "$vm" >/dev/null
	sleep 0.005
	until ctl list | grep -q "^$vm.*running"; do sleep 0.005; done
	times+=($(($(now_ms) - t)))
done
printf 'protected VM crash -> running again:          median %s ms  (runs: %s)\n' \
	"$(printf '%s\n' "${times[@]}" | median)" "${times[*]}"

hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$hpid/stat"; }
c0=$(cpu); sleep 10; c1=$(cpu)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$hpid/status")
printf 'idle hasvcd, 48 VMs, watchdog 5 s:            CPU %s ms per 10 s (%.3f%%), RSS %s KiB\n' \
	$(((c1 - c0) * 1000 / hz)) "$(awk -v c=$((c1 - c0)) -v hz="$hz" 'BEGIN {printf "%.3f", c * 100 / hz / 10}')" "$rss"
teardown
