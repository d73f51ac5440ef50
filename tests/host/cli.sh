#!/usr/bin/env bash
# The hasvc CLI: known commands work, anything else is a clear error (exit 2).
set -uo pipefail
fail=0
expect() { # exit-code, output-regex, args...
	local want=$1 re=$2 out rc
	shift 2
	out=$("$BINDIR/hasvc" "$@" 2>&1); rc=$?
	if [[ $rc -ne $want ]] || ! grep -qE "$re" <<<"$out"; then
		echo "hasvc $*: rc=$rc (want $want), output: $out"
		fail=1
	else
		echo "ok: hasvc $* -> $rc"
	fi
}
expect 0 '^hasvc [0-9]+\.[0-9]+' version
expect 0 'version' help
expect 0 'usage: hasvc version' help command=version
expect 2 "unknown command 'frobnicate'" frobnicate
expect 2 "unknown command 'nope'" help command=nope
expect 2 'not of the form key=value' help banana
expect 2 'unknown parameter colour' version colour=blue
expect 2 'usage' # no command at all
expect 2 'not a port' -p 70000 pool-list
expect 2 'unknown option -x' -x pool-list
expect 2 'needs a value' pool-list -s
expect 2 'not both' --no-verify --cacert /dev/null pool-list
expect 2 'unknown parameter colour' vm-list colour=blue   # found before any connection
expect 2 'never an argument' user-add name=a role=read-only password=x
# No password anywhere: a usage error, and no connection is tried.
HASVC_PASSWORD= expect 2 'no password' -p 1 pool-list
exit $fail
