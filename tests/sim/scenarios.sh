#!/usr/bin/env bash
# Every simulator scenario (tests/sim/scenarios/*.scn, docs/simulator.md):
# hasvc-sim must exit 0 (no invariant broken, every `expect` held) and print
# exactly the golden timeline beside it (*.trace).  UPDATE=1 rewrites the
# golden traces instead of comparing.  A scenario with a line
# "# xfail: REASON" is expected to exit 1 (a known engine bug, reported).
# Needs BINDIR (tests/run.sh sets it).
set -u
: "${BINDIR:?}"
BINDIR=$(realpath "$BINDIR")
cd "$(dirname "$0")/scenarios"
sim=$BINDIR/hasvc-sim
[[ -x $sim ]] || { echo "no $sim"; exit 1; }
fail=0 n=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for scn in *.scn; do
	n=$((n + 1))
	name=${scn%.scn}
	"$sim" "$scn" >"$out" 2>&1
	rc=$?
	want=0
	grep -q '^# xfail:' "$scn" && want=1
	if ((rc != want)); then
		echo "FAIL $name: hasvc-sim exited $rc (want $want)"
		grep -E 'FAILED|VIOLATION|hasvc-sim:' "$out" | sed 's/^/    /'
		fail=$((fail + 1))
	fi
	if [[ ${UPDATE:-0} == 1 ]]; then
		cp "$out" "$name.trace"
		echo "updated $name.trace"
	elif [[ ! -f $name.trace ]]; then
		echo "FAIL $name: no golden trace $name.trace (run with UPDATE=1)"
		fail=$((fail + 1))
	elif ! diff -u "$name.trace" "$out" >"$out.diff"; then
		echo "FAIL $name: the timeline differs from $name.trace:"
		head -n 60 "$out.diff" | sed 's/^/    /'
		fail=$((fail + 1))
	else
		echo "ok   $name"
	fi
	rm -f "$out.diff"
done
# A scenario error is a clear message with the line number, exit 2.
bad=$(mktemp --suffix=.scn)
printf 'hosts 3\nat 5s explode h1\n' >"$bad"
msg=$("$sim" "$bad" 2>&1)
rc=$?
rm -f "$bad"
if ((rc != 2)) || [[ $msg != *":2: unknown action 'explode'"* ]]; then
	echo "FAIL bad scenario: rc=$rc, message: $msg"
	fail=$((fail + 1))
fi
echo "$n scenarios, $fail failure(s)"
((fail == 0))
