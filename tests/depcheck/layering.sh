#!/usr/bin/env bash
# The layering check (scripts/depcheck.sh, DESIGN §3) passes on the real tree
# and catches injected violations in temporary copies of it.  Run from the repo
# root by tests/run.sh; exit 0 pass, anything else fail.
set -u
top=$(pwd)
check=$top/scripts/depcheck.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hasvc-depcheck.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# A fresh copy of the source folders and scripts in $tmp/$1.
copy_tree() {
	local dst=$tmp/$1 d
	mkdir -p "$dst"
	for d in lib heartbeat fencing placement api lab hasvc tests bench scripts; do
		[[ -d $top/$d ]] && cp -a "$top/$d" "$dst/"
		mkdir -p "$dst/$d" # git keeps no empty folder; the rules need them
	done
	echo "$dst"
}

# A .c file of folder $2 in tree $1 (an existing one, else a new one).
pick_file() {
	local f
	f=$(find "$1/$2" -maxdepth 1 -name '*.c' | LC_ALL=C sort | head -n1)
	if [[ -z $f ]]; then
		f=$1/$2/depcheck_probe.c
		printf '/* probe */\n' >"$f"
	fi
	echo "$f"
}

# Append `#include "$3"` to a file of folder $2 in a fresh tree named $1; run
# the check; expect exit 1 and the line "FILE:LINE: $4".
expect_violation() {
	local name=$1 dir=$2 target=$3 want=$4 root f line out rc
	root=$(copy_tree "$name")
	f=$(pick_file "$root" "$dir")
	printf '#include "%s"\n' "$target" >>"$f"
	line=$(wc -l <"$f")
	out=$("$check" "$root" 2>&1)
	rc=$?
	echo "--- $name: rc=$rc"
	echo "$out"
	((rc == 1)) || fail "$name: exit $rc, want 1"
	grep -qxF "${f#"$root"/}:$line: $want" <<<"$out" ||
		fail "$name: no line '${f#"$root"/}:$line: $want'"
}

out=$("$check" "$top" 2>&1)
rc=$?
echo "--- real tree: rc=$rc"
echo "$out"
((rc == 0)) || fail "the real tree violates the layering"
[[ $out == *OK* ]] || fail "no OK summary on the real tree"

expect_violation lib-hasvc lib hasvc/db.h \
	"lib may not include hasvc/db.h (DESIGN §3)"
expect_violation heartbeat-api heartbeat api/http.h \
	"heartbeat may not include api/http.h (DESIGN §3)"
expect_violation placement-fencing placement fencing/fence.h \
	"placement may not include fencing/fence.h (DESIGN §3)"
expect_violation fencing-nosuch fencing nosuch/thing.h \
	"fencing may not include nosuch/thing.h: there is no project folder 'nosuch' (DESIGN §3)"
expect_violation hasvc-tests hasvc tests/helpers/x.h \
	"hasvc may not include tests/helpers/x.h (DESIGN §3)"

# Allowed directions stay quiet: hasvc/ over an adapter, tests/ over hasvc/,
# an adapter over lib/ and its own folder, a bare same-directory include.
root=$(copy_tree allowed)
printf '#include "heartbeat/liveset.h"\n' >>"$(pick_file "$root" hasvc)"
printf '#include "hasvc/db.h"\n' >>"$root/tests/unit/depcheck_probe.c"
printf '#include "lib/log.h"\n#include "api/x.h"\n#include "y.h"\n' >>"$(pick_file "$root" api)"
out=$("$check" "$root" 2>&1)
rc=$?
echo "--- allowed: rc=$rc"
echo "$out"
((rc == 0)) || fail "allowed includes were reported"

# Bad usage is not a pass.
"$check" "$tmp/does-not-exist" >/dev/null 2>&1
rc=$?
((rc == 2)) || fail "a missing ROOT gave exit $rc, want 2"

((fails == 0)) && echo "layering: all checks passed"
((fails == 0))
