#!/usr/bin/env bash
# Failure detection on real corosync (hasvc-lab, 5 hosts, this machine):
# how long after a fault the liveness engine (hasvc/ha.c) decides, beside
# the bound docs/protocol.md derives (`hasvc-sim --timing T`, T the lab's
# HA timeout):
#   - power-off of a non-master host (hasvc-lab poweroff) -> the first
#     survivor's HOST_DEAD for it ("host U (node N) is certainly dead");
#     bound: "power-off bound";
#   - partition 3|2, the master in the 3 (hasvc-lab partition) -> each of
#     the 2 losers' FENCE decision ("decided to FENCE"; the later of the
#     two), and the survivors' HOST_DEAD for both losers (for each loser
#     the first survivor to say it, then the later of the two);
#     bound: "partition bound" (loser -> restart; the FENCE precedes it);
#   - with MASTER=1 also the same two faults hitting the master (power-off
#     of the master; the master in the 2).
# Clock: every hasvcd.log line is stamped on arrival (CLOCK_REALTIME, a
# poller reading the 5 logs every 10 ms; hasvcd's own stamps are whole
# seconds); the fault time is $EPOCHREALTIME (the same clock) just before
# the fault command starts.  A host that was declared lost cannot rejoin
# (no join step yet: booted, it fences itself; in observe mode its return
# made every survivor FENCE), so each run is a fresh `hasvc-lab up`,
# waited on until all 5 hosts are ready with liveness steady, live 5, no
# alert; `hasvc-lab check` (the ledger) after each run.  Needs root, corosync, nft, /dev/fuse; prints "skipped"
# otherwise.  RUNS (default 10) per fault, TIMEOUT (default 30, the lab's).
# VERBOSE=1 lists every run.  Prints figures, asserts nothing (misses and
# check failures are counted).
set -euo pipefail
cd "$(dirname "$0")/.."
BINDIR=$(realpath "${BINDIR:-bin}")
RUNS=${RUNS:-10}
TIMEOUT=${TIMEOUT:-30}
MASTER=${MASTER:-0}
VMS=${VMS:-10}
VERBOSE=${VERBOSE:-0}
N=5
if [[ $(id -u) -ne 0 ]] || ! command -v corosync >/dev/null || ! command -v nft >/dev/null ||
	! command -v python3 >/dev/null || [[ ! -c /dev/fuse ]]; then
	echo "skipped (needs root, corosync, nft, python3 and /dev/fuse)"
	exit 0
fi
for b in hasvc-lab hasvc-sim hasvcd; do
	[[ -x $BINDIR/$b ]] || { echo "skipped ($BINDIR/$b not built)"; exit 0; }
done
NAME=detect
source "$PWD/bench/lab.bash"

# The poller: stamps each new line of the hosts' hasvcd.log that mentions
# the liveness engine, "EPOCH HOSTNUM LINE".
cat >"$T/poll.py" <<'EOF'
import sys, time
out = open(sys.argv[1], "a", buffering=1)
files = []
for i, p in enumerate(sys.argv[2:]):
	f = open(p, "rb")
	f.seek(0, 2)
	files.append((i + 1, f, [b""]))
while True:
	for h, f, buf in files:
		data = f.read()
		if not data:
			continue
		now = time.time()
		lines = (buf[0] + data).split(b"\n")
		buf[0] = lines.pop()
		for l in lines:
			if b"liveness:" in l:
				out.write("%.3f %d %s\n" % (now, h, l.decode(errors="replace")))
	time.sleep(0.01)
EOF

read -r PBOUND QBOUND < <("$BINDIR/hasvc-sim" --timing "$TIMEOUT" 2>/dev/null | awk '
	/^power-off bound/ { p = $3 } /^partition bound/ { q = $3 } END { print (p ? p : "-"), (q ? q : "-") }')

# healthy: every host ready, liveness steady with all N live and no alert.
healthy() {
	local h s
	for ((h = 1; h <= N; h++)); do
		s=$(lab exec "host$h" hasvc cluster-status --json 2>/dev/null) || return 1
		jq -e --argjson n "$N" '.phase == "ready" and .liveness.state == "steady" and
			(.liveness.live | length) == $n and .liveness.alerts == 0' >/dev/null 2>&1 <<<"$s" ||
			return 1
	done
}

# first_ms FILE T0 AWKCOND: ms from T0 to the first stamped line matching.
first_ms() {
	awk -v t0="$2" "$3"' { printf "%d\n", ($1 - t0) * 1000; exit }' "$1"
}

# run KIND SCEN: one lab, one fault (1 if the pool did not come up); appends to $T/SCEN.{fence,dead,cmd,setup,run}
# and counts misses, anomalies and check failures.
run() {
	local kind=$1 sc=$2 s0 t0 t1 master m v h ok deadline lost=() win=() st=$T/stamped
	local fence dead x
	s0=${EPOCHREALTIME/./}
	ok=0
	if lab up --hosts "$N" --vms "$VMS" --timeout "$TIMEOUT" >"$T/up.log" 2>&1; then
		for ((x = 0; x < 120; x++)); do
			if healthy; then ok=1; break; fi
			sleep 0.5
		done
	fi
	if ((!ok)); then
		echo "detect: $sc: the pool did not become ready and steady; run retried. up said:" >&2
		tail -n 2 "$T/up.log" | sed 's/^/  /' >&2
		for ((h = 1; h <= N; h++)); do
			x=$(lab exec "host$h" hasvc cluster-status --json 2>/dev/null |
				jq -c '[.phase, .members, .liveness.state, (.liveness.live | length), .liveness.alerts]' 2>/dev/null) || x="no answer"
			echo "  host$h: $x" >&2
			if [[ $x == "no answer" ]]; then
				lab status 2>&1 | awk -v h="host$h" '$1 == h' | sed 's/^/    status: /' >&2
				tail -n 4 "$L/host$h/hasvcd.log" 2>/dev/null | sed 's/^/    hasvcd.log: /' >&2
			fi
		done
		echo 1 >>"$T/$sc.setupfail"; lab down >/dev/null 2>&1 || true
		return 1
	fi
	echo $(((${EPOCHREALTIME/./} - s0) / 1000)) >>"$T/$sc.setup"
	master=$(lab status --json | jq -r '.hosts[] | select(.master) | .name' | head -n 1)
	m=${master#host}
	[[ $m =~ ^[1-5]$ ]] || m=1
	# Victims: a non-master (the highest-numbered ones) unless SCEN says master.
	local others=()
	for ((h = N; h >= 1; h--)); do ((h == m)) || others+=("$h"); done
	case $sc in
	poweroff) lost=("${others[0]}") ;;
	poweroff-master) lost=("$m") ;;
	partition) lost=("${others[0]}" "${others[1]}") ;;
	partition-master) lost=("$m" "${others[0]}") ;;
	esac
	win=()
	for ((h = 1; h <= N; h++)); do
		[[ " ${lost[*]} " == *" $h "* ]] || win+=("$h")
	done
	: >"$st"
	python3 "$T/poll.py" "$st" "$L"/host{1..5}/hasvcd.log &
	POLLER=$!
	sleep 0.3
	t0=$EPOCHREALTIME
	if [[ $kind == poweroff ]]; then
		lab poweroff "host${lost[0]}" >/dev/null
	else
		lab partition "$(IFS=,; echo "${win[*]}")" "$(IFS=,; echo "${lost[*]}")" >/dev/null
	fi
	t1=$EPOCHREALTIME
	echo "$(((${t1/./} - ${t0/./}) / 1000))" >>"$T/$sc.cmd"
	# Wait for every expected decision (or 60 s + 3 bounds), then 2 s more
	# for anything unexpected.
	deadline=$((SECONDS + 60 + 3 * TIMEOUT / 10))
	while ((SECONDS < deadline)); do
		ok=1
		for v in "${lost[@]}"; do
			grep -q "(node $v) is certainly dead" "$st" || ok=0
			if [[ $kind == partition ]] && ! grep -q "^[0-9.]* $v .*decided to FENCE" "$st"; then ok=0; fi
		done
		((ok)) && break
		sleep 0.2
	done
	sleep 2
	stop_poller
	# The later (over the lost hosts) of the first survivor's HOST_DEAD,
	# and of each loser's own FENCE.
	dead="" fence=""
	for v in "${lost[@]}"; do
		x=$(first_ms "$st" "$t0" "\$2 != $v && /\\(node $v\\) is certainly dead/")
		if [[ -z $x ]]; then echo 1 >>"$T/$sc.miss"; dead=miss; fi
		[[ $dead == miss || ( -n $dead && $dead -ge ${x:-0} ) ]] || dead=$x
		if [[ $kind == partition ]]; then
			x=$(first_ms "$st" "$t0" "\$2 == $v && /decided to FENCE/")
			if [[ -z $x ]]; then echo 1 >>"$T/$sc.miss"; fence=miss; fi
			[[ $fence == miss || ( -n $fence && $fence -ge ${x:-0} ) ]] || fence=$x
		fi
	done
	[[ $dead == miss || -z $dead ]] || echo "$dead" >>"$T/$sc.dead"
	[[ $fence == miss || -z $fence ]] || echo "$fence" >>"$T/$sc.fence"
	# Anomalies: a survivor that fences, or a survivor declared dead.
	for v in "${win[@]}"; do
		if grep -q "^[0-9.]* $v .*decided to FENCE" "$st" || grep -q "(node $v) is certainly dead" "$st"; then
			echo "$sc: host$v (a survivor) fenced or was declared dead" >>"$T/anomalies"
		fi
	done
	if ! lab check >"$T/check.log" 2>&1; then
		echo 1 >>"$T/$sc.checkfail"
		echo "detect: check failed ($sc):" >&2; tail -n 3 "$T/check.log" >&2
	fi
	lab down >/dev/null
	echo $(((${EPOCHREALTIME/./} - s0) / 1000)) >>"$T/$sc.run"
	printf '  %-17s run: master host%s, lost %s: fence %s ms, dead %s ms\n' "$sc" "$m" \
		"${lost[*]}" "${fence:--}" "${dead:--}" >>"$T/runs.txt"
}

scens=(poweroff partition)
((MASTER)) && scens+=(poweroff-master partition-master)
start=$SECONDS
for sc in "${scens[@]}"; do
	# A run whose pool does not come up is retried, at most 3 times in all.
	for ((r = 0, a = 0; r < RUNS && a < RUNS + 3; a++)); do
		if run "${sc%%-*}" "$sc"; then r=$((r + 1)); fi
	done
done

med() { if [[ -f $1 ]]; then median <"$1"; else echo -; fi; }
cnt() { if [[ -f $1 ]]; then wc -l <"$1"; else echo 0; fi; }
figs() { [[ -f $1 ]] || { printf '%7s %7s' - -; return; }; printf '%7s %7s' "$(median <"$1")" "$(maxof <"$1")"; }
echo "5-host lab, HA timeout $TIMEOUT s, $VMS VMs; a fresh lab per run; ms after the fault command starts"
printf '%-34s %-30s %4s %7s %7s %7s %5s %6s\n' fault decision runs median max bound miss check!
for sc in "${scens[@]}"; do
	case $sc in
	poweroff) f="power-off of a non-master" ;;
	poweroff-master) f="power-off of the master" ;;
	partition) f="partition 3|2, master in the 3" ;;
	partition-master) f="partition 3|2, master in the 2" ;;
	esac
	if [[ $sc == partition* ]]; then
		printf '%-34s %-30s %4s %s %7s %5s %6s\n' "$f" "losers' FENCE (later of 2)" \
			"$(cnt "$T/$sc.fence")" "$(figs "$T/$sc.fence")" "(<$QBOUND)" "-" "-"
		printf '%-34s %-30s %4s %s %7s %5s %6s\n' "" "survivors' HOST_DEAD (both)" \
			"$(cnt "$T/$sc.dead")" "$(figs "$T/$sc.dead")" "$QBOUND" "$(cnt "$T/$sc.miss")" \
			"$(cnt "$T/$sc.checkfail")"
	else
		printf '%-34s %-30s %4s %s %7s %5s %6s\n' "$f" "survivors' HOST_DEAD" \
			"$(cnt "$T/$sc.dead")" "$(figs "$T/$sc.dead")" "$PBOUND" "$(cnt "$T/$sc.miss")" \
			"$(cnt "$T/$sc.checkfail")"
	fi
done
echo "bound: hasvc-sim --timing $TIMEOUT (power-off bound; partition bound = loser -> restart, the FENCE comes before)"
for sc in "${scens[@]}"; do
	printf '%-17s fault command %s ms (median), up+steady %s ms, whole run %s ms (median); setup failures %s\n' \
		"$sc" "$(med "$T/$sc.cmd")" "$(med "$T/$sc.setup")" "$(med "$T/$sc.run")" "$(cnt "$T/$sc.setupfail")"
done
echo "anomalies (a survivor fenced or declared dead): $(cnt "$T/anomalies")"
if [[ -f $T/anomalies ]]; then sort "$T/anomalies" | uniq -c | sed 's/^/  /'; fi
if ((VERBOSE)); then
	echo "per run:"
	cat "$T/runs.txt"
fi
echo "total $((SECONDS - start)) s"
