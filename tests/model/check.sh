#!/usr/bin/env bash
# Model check of the liveness protocol (tests/model/liveness.pml, described in
# docs/model.md): spin generates the verifier, cc compiles it for safety
# (assertions; exhaustive search, no BITSTATE), it must find no error.  Then
# the same model with the verdict rule switched off (-DNO_VERDICT) must fail:
# this proves the properties can be violated and the search reaches them.
# Prints the state counts of each run.  Run from the repo root by
# tests/run.sh; exit 0 pass, 1 fail, 77 skip (no spin or no C compiler).
set -u
top=$(pwd)
model=$top/tests/model/liveness.pml
cc=${CC:-cc}
command -v spin >/dev/null 2>&1 || { echo "skip: spin is not installed"; exit 77; }
command -v "$cc" >/dev/null 2>&1 || { echo "skip: no C compiler ($cc)"; exit 77; }
[[ -f $model ]] || { echo "FAIL: $model missing"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hasvc-model.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# Build and run one configuration in $tmp/$1 with the spin defines $2;
# leaves pan's output in $tmp/$1/out.  Returns pan's exit status (or 2 if
# the verifier could not be built).
verify() {
	local dir=$tmp/$1 defs=$2
	mkdir -p "$dir"
	cp "$model" "$dir/"
	(
		cd "$dir" || exit 2
		# shellcheck disable=SC2086
		spin -a $defs liveness.pml >spin.log 2>&1 || { cat spin.log; exit 2; }
		# MEMLIM (MB) keeps a runaway search under 2 GB; -w24 hash table.
		"$cc" -O2 -w -DSAFETY -DMEMLIM=1800 -o pan pan.c >cc.log 2>&1 ||
			{ cat cc.log; exit 2; }
		./pan -m1000000 -w24 >out 2>&1
	)
}

# Summary of a run: errors, states, depth, time, memory.
summary() {
	grep -E 'errors:|states, stored|states, matched|total actual memory|elapsed time' "$1" |
		sed 's/^[[:space:]]*/    /'
}

# 1. The protocol as specified: no error, and a complete search.
start=$SECONDS
verify full "-DN=3 -DK=2 -DMAXCRASH=1 -DMAXLOSS=2"
rc=$?
echo "liveness.pml N=3 K=2 MAXCRASH=1 MAXLOSS=2 ($((SECONDS - start)) s):"
summary "$tmp/full/out"
if ((rc == 2)); then
	fail "could not build the verifier"
elif ! grep -q 'errors: 0' "$tmp/full/out"; then
	fail "spin found a violation:"
	grep -E 'violated|error' "$tmp/full/out" | head -n 5
	(cd "$tmp/full" && spin -t -DN=3 -DK=2 -DMAXCRASH=1 -DMAXLOSS=2 liveness.pml | grep -E 'MSC|assert')
elif grep -qE 'max search depth too small|out of memory|Search not completed' "$tmp/full/out"; then
	fail "the search did not complete"
fi

# 2. Without the verdict rule spin must find a counterexample.
start=$SECONDS
verify noverdict "-DN=3 -DK=2 -DMAXCRASH=1 -DMAXLOSS=2 -DNO_VERDICT"
rc=$?
echo "liveness.pml -DNO_VERDICT ($((SECONDS - start)) s):"
summary "$tmp/noverdict/out"
if ((rc == 2)); then
	fail "could not build the verifier (NO_VERDICT)"
elif ! grep -q 'assertion violated' "$tmp/noverdict/out"; then
	fail "without the verdict rule spin found no counterexample: the model checks nothing"
else
	grep -m1 'assertion violated' "$tmp/noverdict/out" | sed 's/^/    expected: /'
fi

((fails == 0)) || exit 1
echo "model check passed"
