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
# Connection defaults from the environment (what hasvc-lab exec sets); the
# command line wins over them, and a bad one is named.
HASVC_PORT=70000 expect 2 'HASVC_PORT=70000: not a port' pool-list
HASVC_NO_VERIFY=1 expect 2 'no password' --cacert /dev/null pool-list
HASVC_CACERT=/dev/null expect 2 'no password' --no-verify pool-list
# Where the defaults lead: nothing listens on 127.0.0.1:1, so the error
# names the host and port taken from the environment.
HASVC_HOST=127.0.0.1 HASVC_PORT=1 HASVC_PASSWORD=x HASVC_NO_VERIFY=1 \
	expect 3 '127\.0\.0\.1.*1|onnect' pool-list
expect 0 'pool-join master-address=ADDR' help command=pool-join
expect 2 'master-address=, master-username= and master-password= are required' \
	pool-join master-address=10.0.0.1
expect 0 'cluster-status \[--json\]' help command=cluster-status
exit $fail
