# Shared helpers for tests/cluster/*.sh (sourced, not run; not a test itself).
# Each test runs its own hasvc-lab pool (real corosync, hasvcd, hasvc-simhv in
# network namespaces it creates) in a temporary directory, and takes it down
# on exit whatever happens.  Needs root and corosync; otherwise exit 77.
set -euo pipefail
if [[ $(id -u) -ne 0 ]]; then echo "needs root (network namespaces)"; exit 77; fi
command -v corosync >/dev/null || { echo "corosync is not installed (make deps)"; exit 77; }
command -v jq >/dev/null || { echo "jq is not installed (make deps)"; exit 77; }

: "${BINDIR:?}"
T=$(mktemp -d /tmp/hasvc-cluster.XXXXXX)
export HASVC_LAB_DIR=$T/lab HASVC_BIN=$BINDIR
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

lab() { "$BINDIR/hasvc-lab" "$@"; }
die() { echo "FAIL: $*" >&2; exit 1; }

on_exit() {
	local rc=$? f bad=0
	# Sanitizer reports of any daemon are failures too.
	for f in "$HASVC_LAB_DIR"/host*/hasvcd.log; do
		[[ -f $f ]] || continue
		if grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' -e 'ERROR: LeakSanitizer' "$f"; then
			echo "FAIL: sanitizer report in $f"
			grep -A30 -e 'ERROR: AddressSanitizer' -e 'runtime error:' -e 'ERROR: LeakSanitizer' "$f" | head -60
			bad=1
		fi
	done
	if ((rc != 0 || bad)); then
		for f in "$HASVC_LAB_DIR"/host*/hasvcd.log; do
			[[ -f $f ]] || continue
			echo "--- $f (last 25 lines)"
			tail -n 25 "$f"
		done
	fi
	lab down >/dev/null 2>&1 || lab down || true
	rm -rf "$T"
	((rc == 0 && bad)) && rc=1
	exit $rc
}
trap on_exit EXIT

# wait_for SECONDS DESCRIPTION COMMAND...: poll every 100 ms.
wait_for() {
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "timed out after ${secs}s waiting for $what"
}

# cstatus HOST: that host's cluster-status as JSON.
cstatus() { lab exec "$1" hasvc cluster-status --json; }
# hosts: the lab's host names.
hosts() { lab creds --json | jq -r '.hosts | keys[]' | sort -V; }
# master: the name of the host that says it is the master (exactly one, or fail).
master() {
	local h m="" n=0
	for h in $(hosts); do
		if [[ $(cstatus "$h" | jq -r .is_master) == true ]]; then m=$h; n=$((n + 1)); fi
	done
	((n == 1)) || { echo "master: $n hosts claim to be master" >&2; return 1; }
	echo "$m"
}
# all_ready HOST...: every host ready and agreeing on one writable master.
all_ready() {
	local h s m="" w=0
	for h in "$@"; do
		s=$(cstatus "$h") || return 1
		[[ $(jq -r .phase <<<"$s") == ready ]] || return 1
		[[ -z $m || $m == $(jq -r .master_uuid <<<"$s") ]] || return 1
		m=$(jq -r .master_uuid <<<"$s")
		[[ $(jq -r .writable <<<"$s") == true ]] && w=$((w + 1))
	done
	[[ -n $m && $m != "" && $w -eq 1 ]]
}
# same_db HOST...: every host at the same (term, seq) with the same checksum.
# converged_db HOST...: wait up to 20 s for a moment when same_db holds and
# print its "term.seq checksum" (background writes, e.g. the liveness
# engine's alerts, may land between two comparisons: a second call could
# see a newer write on one host only).
converged_db() {
	local i sum
	for ((i = 0; i < 200; i++)); do
		if sum=$(same_db "$@"); then
			echo "$sum"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

same_db() {
	local h s want="" got
	for h in "$@"; do
		s=$(cstatus "$h") || return 1
		got=$(jq -r '"\(.term).\(.seq) \(.checksum)"' <<<"$s")
		[[ -z $want || $want == "$got" ]] || return 1
		want=$got
	done
	echo "$want"
}
# local_get HOST PARAM: a pool parameter from HOST's own copy of the database.
local_get() { lab exec "$1" hasvc --local pool-param-get param-name="$2"; }
# liv HOST FILTER: jq FILTER applied to HOST's liveness status.
liv() { cstatus "$1" | jq -r ".liveness | $2"; }
# simhv HOST: HOST's simulated hypervisor status ("key: value" lines).
simhv() { "$BINDIR/hasvc-simhv" ctl "$HASVC_LAB_DIR/$1/simhv.sock" status 2>/dev/null; }
# resets HOST: how many times HOST was reset (by its watchdog or a fence).
resets() { simhv "$1" | sed -n 's/^resets: //p'; }
# no_resets HOST...: fail unless none of the hosts was ever reset.
no_resets() {
	local h
	for h in "$@"; do
		[[ $(resets "$h") == 0 ]] || die "$h was reset: $(simhv "$h" | grep reset)"
	done
}

# Tests on hasvc-sffuse's statefile views need /dev/fuse and fusermount3.
need_fuse() {
	[[ -e /dev/fuse ]] || { echo "no /dev/fuse"; exit 77; }
	command -v fusermount3 >/dev/null || { echo "fusermount3 is not installed (make deps)"; exit 77; }
}

# failover_pool N UP-ARGS...: `lab up --hosts N UP-ARGS...`, then every host
# ready, liveness steady on each with all N live (so the master's failover
# executor is active), and every protected VM running (wait-failover).
failover_pool() {
	local n=$1 i
	local -a all=()
	shift
	for ((i = 1; i <= n; i++)); do all+=("host$i"); done
	lab up --hosts "$n" "$@" >/dev/null
	wait_for 60 "$n ready hosts" all_ready "${all[@]}"
	wait_for 30 "liveness steady on every host" steady_n "$n" "${all[@]}"
	lab wait-failover --timeout 60 >/dev/null || die "the protected VMs do not all run before the fault"
}
steady_n() {
	local n=$1 h
	shift
	for h in "$@"; do
		[[ $(liv "$h" '"\(.state) \(.live | length)"') == "steady $n" ]] || return 1
	done
}
