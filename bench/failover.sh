#!/usr/bin/env bash
# Failover on real corosync (hasvc-lab, 5 hosts, VMS VMs, this machine): how
# long from a fault to the last protected VM running again, phase by phase,
# beside the bound docs/protocol.md derives (`hasvc-sim --timing T`, T the
# lab's HA timeout) for the decision:
#   - poweroff: power-off of a non-master host (it runs protected VMs: the
#     lab seeds them round-robin);
#   - sigstop: SIGSTOP of a non-master's hasvcd (its keeper withholds the
#     pets, the watchdog resets the host);
#   - partition: 3|2, the master in the 3 (the 2 lose and fence);
#   - poweroff-master: power-off of the master.
# Phases, per run, in ms:
#   decision  fault -> dead and safe: the first survivor's "(node N) is
#             certainly dead" (liveness) line, the later over the lost hosts
#             (else the executor's "failover: ... certainly dead" line);
#   restart   decision -> the first ledger start of a VM of the lost hosts
#             on a survivor;
#   complete  first restart -> the last protected (restart, always-run) VM
#             of the lost hosts running on a survivor (ledger `running`);
#   total     fault -> that last protected VM running.
# Clock: CLOCK_MONOTONIC throughout (the ledger's clock): the fault time is
# stamped just before the fault command runs (failover_timeline.py stamp),
# hasvcd.log lines are stamped on arrival by a poller (10 ms).
# One fresh lab per run: `up --hosts 5 --vms VMS --boot-ms BOOT_MS`, waited on
# until every host is ready with liveness steady (live 5, no alert) and
# `wait-failover` says every protected VM runs; the fault; a wait until the
# lost hosts are off (reset) and `wait-failover` (<= 120 s); `check`; `down`.
# Needs root, corosync, nft, python3, /dev/fuse; prints "skipped" otherwise.
# Knobs: RUNS (10 per fault; RUNS=1 is the quick smoke mode), VMS (50),
# BOOT_MS (0: simhv's boot time; 2000 for the second figure), TIMEOUT (30),
# FAULTS (the list above, space-separated), HOSTS (5; 2 for a two-host pool,
# with FAULTS="poweroff poweroff-master": a 3|2 partition needs 5).  Prints figures, asserts nothing
# (misses, timeouts and check failures are counted).
set -euo pipefail
cd "$(dirname "$0")/.."
BINDIR=$(realpath "${BINDIR:-bin}")
RUNS=${RUNS:-10}
VMS=${VMS:-50}
BOOT_MS=${BOOT_MS:-0}
TIMEOUT=${TIMEOUT:-30}
FAULTS=${FAULTS:-poweroff sigstop partition poweroff-master}
N=${HOSTS:-5}
if [[ $(id -u) -ne 0 ]] || ! command -v corosync >/dev/null || ! command -v nft >/dev/null ||
	! command -v python3 >/dev/null || [[ ! -c /dev/fuse ]]; then
	echo "skipped (needs root, corosync, nft, python3 and /dev/fuse)"
	exit 0
fi
for b in hasvc-lab hasvc-sim hasvcd hasvc-db; do
	[[ -x $BINDIR/$b ]] || { echo "skipped ($BINDIR/$b not built)"; exit 0; }
done
TL=$PWD/bench/failover_timeline.py
NAME=failover
source "$PWD/bench/lab.bash"

read -r PBOUND QBOUND < <("$BINDIR/hasvc-sim" --timing "$TIMEOUT" 2>/dev/null | awk '
	/^power-off bound/ { p = $3 } /^partition bound/ { q = $3 } END { print (p ? p : "-"), (q ? q : "-") }')

healthy() {
	local h s
	for ((h = 1; h <= N; h++)); do
		s=$(lab exec "host$h" hasvc cluster-status --json 2>/dev/null) || return 1
		jq -e --argjson n "$N" '.phase == "ready" and .liveness.state == "steady" and
			(.liveness.live | length) == $n and .liveness.alerts == 0' >/dev/null 2>&1 <<<"$s" ||
			return 1
	done
}

# host_off H: H's simhv is gone or powered off (a reset, a power-off).
host_off() {
	local st
	st=$("$BINDIR/hasvc-simhv" ctl "$L/host$1/simhv.sock" status 2>/dev/null) || return 0
	grep -q '^power: off' <<<"$st"
}

# run SCEN: one lab, one fault; 1 if the pool did not come up.  Appends to
# $T/SCEN.{decision,restart,complete,total} and counts misses.
run() {
	local sc=$1 m h x ok deadline lost=() win=() st=$T/stamped t0 res
	local dead first last nvic nprot nran chk
	ok=0
	if lab up --hosts "$N" --vms "$VMS" --timeout "$TIMEOUT" --boot-ms "$BOOT_MS" >"$T/up.log" 2>&1; then
		for ((x = 0; x < 120; x++)); do
			if healthy; then ok=1; break; fi
			sleep 0.5
		done
		((ok)) && { lab wait-failover --timeout 60 >/dev/null 2>"$T/wait0.log" || ok=0; }
	fi
	if ((!ok)); then
		echo "failover: $sc: the pool did not become ready, steady and running; run retried:" >&2
		tail -n 3 "$T/up.log" "$T/wait0.log" 2>/dev/null | sed 's/^/  /' >&2
		echo 1 >>"$T/$sc.setupfail"
		lab down >/dev/null 2>&1 || true
		return 1
	fi
	m=$(lab status --json | jq -r '.hosts[] | select(.master) | .name' | head -n 1)
	m=${m#host}
	[[ $m =~ ^[1-5]$ ]] || m=1
	local others=()
	for ((h = N; h >= 1; h--)); do ((h == m)) || others+=("$h"); done
	case $sc in
	poweroff | sigstop) lost=("${others[0]}") ;;
	poweroff-master) lost=("$m") ;;
	partition) lost=("${others[0]}" "${others[1]}") ;;
	esac
	win=()
	for ((h = 1; h <= N; h++)); do
		[[ " ${lost[*]} " == *" $h "* ]] || win+=("$h")
	done
	# The protected VMs, from the master's copy of the database.
	"$BINDIR/hasvc-db" -d "$L/host$m/data/pool.db" vm-list | awk '
		$1 == "uuid:" { u = $2 } $1 == "ha-restart-priority:" { p = $2 }
		$1 == "ha-always-run:" && p == "restart" && $2 == "true" { print u }' >"$T/protected"
	: >"$st"
	python3 "$TL" poll "$st" "$L"/host{1..5}/hasvcd.log &
	POLLER=$!
	sleep 0.3
	case $sc in
	poweroff | poweroff-master) python3 "$TL" stamp "$T/t0" "$BINDIR/hasvc-lab" poweroff "host${lost[0]}" >/dev/null ;;
	sigstop) python3 "$TL" stamp "$T/t0" "$BINDIR/hasvc-lab" kill "host${lost[0]}" hasvcd --signal STOP >/dev/null ;;
	partition)
		python3 "$TL" stamp "$T/t0" "$BINDIR/hasvc-lab" partition "$(IFS=,; echo "${win[*]}")" \
			"$(IFS=,; echo "${lost[*]}")" >/dev/null
		;;
	esac
	t0=$(cat "$T/t0")
	# The lost hosts reset (at once for a power-off), then the failover.
	deadline=$((SECONDS + 60))
	for h in "${lost[@]}"; do
		while ! host_off "$h" && ((SECONDS < deadline)); do sleep 0.2; done
	done
	res=ok
	if ! lab wait-failover --timeout 120 >/dev/null 2>"$T/wait.log"; then
		res=timeout
		echo 1 >>"$T/$sc.timeout"
		echo "failover: $sc: wait-failover timed out:" >&2
		head -n 6 "$T/wait.log" | sed 's/^/  /' >&2
	fi
	sleep 1
	stop_poller
	read -r dead first last nvic nprot nran < <(python3 "$TL" analyze "$L/ledger" "$st" "$t0" \
		"$(IFS=,; echo "${lost[*]}")" "$T/protected")
	[[ $dead != - ]] || echo 1 >>"$T/$sc.miss"
	[[ $dead == - ]] || echo "$dead" >>"$T/$sc.decision"
	[[ $dead == - || $first == - ]] || echo $((first - dead)) >>"$T/$sc.restart"
	[[ $first == - || $last == - ]] || echo $((last - first)) >>"$T/$sc.complete"
	[[ $last == - || $nran != "$nprot" ]] || echo "$last" >>"$T/$sc.total"
	chk=OK
	if ! lab check >"$T/check.log" 2>&1; then
		chk=FAILED
		echo 1 >>"$T/$sc.checkfail"
		echo "failover: check failed ($sc):" >&2
		tail -n 3 "$T/check.log" >&2
	fi
	lab down >/dev/null
	printf '  %-16s master host%s, lost %-4s: decision %6s, first restart %6s, last protected running %6s ms; %2s/%-2s protected victims ran (%s VMs lost), wait %s, check %s\n' \
		"$sc" "$m" "${lost[*]}" "$dead" "$first" "$last" "$nran" "$nprot" "$nvic" "$res" "$chk" >>"$T/runs.txt"
	tail -n 1 "$T/runs.txt"
}

start=$SECONDS
echo "5-host lab, $VMS VMs, HA timeout $TIMEOUT s, simhv boot $BOOT_MS ms, $RUNS run(s) per fault; a fresh lab per run"
for sc in $FAULTS; do
	case $sc in poweroff | sigstop | partition | poweroff-master) ;; *) echo "failover: unknown fault $sc" >&2; exit 2 ;; esac
	for ((r = 0, a = 0; r < RUNS && a < RUNS + 3; a++)); do
		if run "$sc"; then r=$((r + 1)); fi
	done
done

cnt() { if [[ -f $1 ]]; then wc -l <"$1"; else echo 0; fi; }
figs() { [[ -f $1 ]] || { printf '%7s %7s' - -; return; }; printf '%7s %7s' "$(median <"$1")" "$(maxof <"$1")"; }
echo
echo "ms, median and max over the runs; bound: the decision's (hasvc-sim --timing $TIMEOUT)"
printf '%-32s %-36s %4s %7s %7s %7s\n' fault phase runs median max bound
for sc in $FAULTS; do
	case $sc in
	poweroff) f="power-off of a non-master" b=$PBOUND ;;
	sigstop) f="SIGSTOP of a non-master's hasvcd" b=$PBOUND ;;
	partition) f="partition 3|2, master in the 3" b=$QBOUND ;;
	poweroff-master) f="power-off of the master" b=$PBOUND ;;
	esac
	printf '%-32s %-36s %4s %s %7s\n' "$f" "fault -> certainly dead" "$(cnt "$T/$sc.decision")" "$(figs "$T/$sc.decision")" "$b"
	printf '%-32s %-36s %4s %s\n' "" "certainly dead -> first restart" "$(cnt "$T/$sc.restart")" "$(figs "$T/$sc.restart")"
	printf '%-32s %-36s %4s %s\n' "" "first restart -> last prot. running" "$(cnt "$T/$sc.complete")" "$(figs "$T/$sc.complete")"
	printf '%-32s %-36s %4s %s\n' "" "TOTAL fault -> last prot. running" "$(cnt "$T/$sc.total")" "$(figs "$T/$sc.total")"
	printf '%-32s misses %s, wait-failover timeouts %s, check failures %s, setup failures %s\n' "" \
		"$(cnt "$T/$sc.miss")" "$(cnt "$T/$sc.timeout")" "$(cnt "$T/$sc.checkfail")" "$(cnt "$T/$sc.setupfail")"
done
echo "bounds: power-off bound (also for SIGSTOP: a hung member is decided as a dead one) and partition bound of hasvc-sim --timing $TIMEOUT"
echo "total $((SECONDS - start)) s"
