#!/usr/bin/env bash
# Runs every test of one build variant and prints one closing line
# "N passed, N failed" (and skipped).  Called by `make check` with
#   BINDIR  where the programs are (bin/ or build/<variant>/bin)
#   BUILD   the variant's build directory (unit tests in $BUILD/tests,
#           fuzz targets in $BUILD/fuzz, test helpers in $BUILD/helpers)
#
# Kinds of test:
#   unit   $BUILD/tests/test_*   cmocka binaries; exit 0 = pass
#   fuzz   $BUILD/fuzz/fuzz_*    replay tests/fuzz/corpus/<name>/ + random inputs
#   host   tests/host/*.sh       single-host system tests (real processes);
#          tests/sim/*.sh        the deterministic simulator: scenarios + random schedules;
#          tests/cluster/*.sh    pools of hosts in network namespaces (hasvc-lab:
#                                real corosync, hasvcd, hasvc-simhv);
#          tests/model/*.sh      spin model checks of the liveness protocol;
#          tests/depcheck/*.sh   exit 0 pass, 77 skip, else fail
# TESTS=glob limits the run to tests whose name matches.
set -u
cd "$(dirname "$0")/.."
: "${BINDIR:?}" "${BUILD:?}"
export BINDIR BUILD
BINDIR=$(realpath "$BINDIR"); BUILD=$(realpath "$BUILD")
export HASVC_TOP=$PWD
pass=0 fail=0 skip=0
failed=()
logdir=$BUILD/test-logs
mkdir -p "$logdir"
filter=${TESTS:-*}

run_one() { # name, command...
	local name=$1; shift
	[[ $name == $filter ]] || return 0
	local log=$logdir/${name//\//_}.log start end rc
	start=${EPOCHREALTIME/./}
	timeout --kill-after=10 "${TEST_TIMEOUT:-600}" "$@" >"$log" 2>&1
	rc=$?
	end=${EPOCHREALTIME/./}
	local t=$(((end - start) / 100000))
	t="$((t / 10)).$((t % 10))"
	case $rc in
	0) pass=$((pass + 1)); printf 'PASS  %-40s %6ss\n' "$name" "$t" ;;
	77) skip=$((skip + 1)); printf 'SKIP  %-40s (%s)\n' "$name" "$(tail -n1 "$log")" ;;
	*) fail=$((fail + 1)); failed+=("$name"); printf 'FAIL  %-40s rc=%d\n' "$name" "$rc"
	   sed 's/^/    | /' "$log" | tail -n 40 ;;
	esac
}

shm_before=$(ls /dev/shm 2>/dev/null | sort)
echo "== variant ${VARIANT:-?}"
for t in "$BUILD"/tests/test_*; do
	[[ -x $t && ! -d $t ]] || continue
	run_one "unit/$(basename "$t")" "$t"
done
for t in "$BUILD"/fuzz/fuzz_*; do
	[[ -x $t ]] || continue
	n=$(basename "$t")
	corpus=tests/fuzz/corpus/${n#fuzz_}
	if [[ -d $corpus ]]; then run_one "fuzz/$n" "$t" "$corpus"; else run_one "fuzz/$n" "$t"; fi
done
for t in tests/host/*.sh tests/sim/*.sh tests/cluster/*.sh tests/model/*.sh tests/depcheck/*.sh; do
	[[ -f $t ]] || continue
	# A model check does not depend on how the C code was built: once is enough.
	[[ $t == tests/model/* && ${VARIANT:-release} != release ]] && continue
	run_one "${t#tests/}" bash "$t"
done

# Tests must leave nothing in /dev/shm (libqb puts blackbox rings there).
left=$(comm -13 <(echo "$shm_before") <(ls /dev/shm 2>/dev/null | sort) | grep '^qb-' || true)
if [[ -n $left ]]; then
	fail=$((fail + 1)); failed+=("hygiene/dev-shm")
	printf 'FAIL  %-40s left in /dev/shm:\n' "hygiene/dev-shm"
	sed 's/^/    | /' <<<"$left"
	(cd /dev/shm && rm -f $left)
else
	pass=$((pass + 1)); printf 'PASS  %-40s\n' "hygiene/dev-shm"
fi

echo
((fail > 0)) && echo "failed: ${failed[*]} (logs in $logdir)"
echo "$pass passed, $fail failed, $skip skipped"
((fail == 0))
