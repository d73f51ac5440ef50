#!/usr/bin/env bash
# hasvc-lab up/down leaves nothing behind: no namespace, process, mount (the
# hosts' FUSE statefile views included) or /dev/shm file of the lab, and no
# lab directory.
#  1. `up --hosts 5 --no-wait`, then `down`;
#  2. `up` in the background, kill -9 of the `up` bash and of some hasvcd and
#     corosync processes a moment after they started, then `down`.
# --no-wait: `up` does not wait for the cluster to be ready (phase "ready" on
# every host), so the test does not depend on hasvcd's cluster mode; corosync
# is still started wherever hasvcd wrote a corosync.conf within 20 s.
# Exit 0 pass, 1 fail, 77 skip.  The programs: $BINDIR (tests/run.sh sets it
# to the variant's), else $HASVC_BIN, else the repository's bin/.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LAB=$ROOT/lab/hasvc-lab
export HASVC_BIN=${BINDIR:-${HASVC_BIN:-$ROOT/bin}}

skip() { echo "SKIP: $*"; exit 77; }
((EUID == 0)) || skip "needs root (network namespaces)"
command -v corosync >/dev/null || skip "corosync is not installed"
command -v jq >/dev/null || skip "jq is not installed"
command -v fusermount3 >/dev/null || skip "fusermount3 is not installed (fuse3)"
[[ -c /dev/fuse ]] || skip "no /dev/fuse"
for b in hasvcd hasvc hasvc-simhv hasvc-db hasvc-statefile hasvc-sffuse; do
	[[ -x $HASVC_BIN/$b ]] || skip "$HASVC_BIN/$b not built"
done

T=$(mktemp -d /tmp/hasvc-lab-test.XXXXXX)
DIR=$T/lab
LABID=$(printf '%s' "$DIR" | sha256sum | cut -c1-6)
bgpid=""
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
on_exit() {
	local rc=$?
	set +e
	if [[ -n $bgpid ]]; then kill -KILL "$bgpid" 2>/dev/null; fi
	# Whatever happened, leave nothing behind.
	"$LAB" down --dir "$DIR" >/dev/null 2>&1 || true
	if ((rc != 0)); then
		for f in "$T"/*.out; do
			[[ -f $f ]] && { echo "--- $f"; tail -n 20 "$f"; }
		done
	fi
	rm -rf "$T"
	exit $rc
}
trap on_exit EXIT

fuse_mounts_of_lab() { awk -v d="$DIR/" '$3 ~ /^fuse/ && index($2, d) == 1' /proc/mounts; }
ns_of_lab() { ip netns list | awk '{print $1}' | grep "^hasvc-$LABID-" || true; }

source "$ROOT/tests/cluster/lab_leftovers.bash"
# assert_clean PIDFILE: the lab left nothing (PIDFILE: a copy of DIR/pids).
assert_clean() {
	local out
	out=$(lab_leftovers "$DIR" "$1" "$LABID" "$T") || fail "$out"
	return 0
}

shm_before=$(find /dev/shm -mindepth 1 -maxdepth 1 | wc -l)
mounts_before=$(wc -l </proc/mounts)
[[ -z $(ns_of_lab) ]] || fail "namespaces hasvc-$LABID-* exist before the test"

echo "== 1: up --hosts 5, down"
"$LAB" up --hosts 5 --no-wait --dir "$DIR" >"$T/up1.out" 2>&1 || fail "up failed: $(cat "$T/up1.out")"
[[ $(ns_of_lab | wc -l) -eq 6 ]] || fail "expected 6 namespaces, got: $(ns_of_lab | tr '\n' ' ')"
[[ $(grep -c ' simhv ' "$DIR/pids") -eq 5 ]] || fail "expected 5 simhv in pids: $(cat "$DIR/pids")"
[[ $(grep -c ' hasvcd ' "$DIR/pids") -eq 5 ]] || fail "expected 5 hasvcd in pids"
[[ $(grep -c ' sffuse ' "$DIR/pids") -eq 5 ]] || fail "expected 5 sffuse in pids"
[[ $(fuse_mounts_of_lab | wc -l) -eq 5 ]] || fail "expected 5 statefile views: $(fuse_mounts_of_lab)"
[[ -s $DIR/creds.json && $(jq -r .user "$DIR/creds.json") == root ]] || fail "no creds.json"
[[ $(jq -r '.hosts.host5' "$DIR/creds.json") == https://10.213.0.5:443/ ]] || fail "creds: bad host5 URL"
"$LAB" status --json --dir "$DIR" >"$T/status.out" 2>&1 || fail "status failed"
[[ $(jq '.hosts | length' "$T/status.out") -eq 5 ]] || fail "status: not 5 hosts"
"$LAB" exec --dir "$DIR" host3 sh -c 'ip -br addr show eth0' | grep -q '10.213.0.3/24' ||
	fail "host3's eth0 does not have 10.213.0.3"
# host1 reaches host5: a connection to a closed port is refused at once
# (unreachable would time out).
reach=$("$LAB" exec --dir "$DIR" host1 timeout 3 bash -c ': </dev/tcp/10.213.0.5/7' 2>&1 || true)
[[ $reach == *"Connection refused"* ]] || fail "host1 cannot reach host5: $reach"
echo "processes: $(wc -l <"$DIR/pids") started ($(grep -c ' corosync ' "$DIR/pids" || true) corosync)"
cp "$DIR/pids" "$T/pids1"
"$LAB" down --dir "$DIR" >"$T/down1.out" 2>&1 || fail "down failed: $(cat "$T/down1.out")"
assert_clean "$T/pids1"
echo "clean"

echo "== 2: kill -9 mid-way through up, then down"
"$LAB" up --hosts 5 --no-wait --dir "$DIR" >"$T/up2.out" 2>&1 &
bgpid=$!
for ((i = 0; i < 200; i++)); do
	grep -q ' hasvcd 2$' "$DIR/pids" 2>/dev/null && break
	sleep 0.05
done
grep -q ' hasvcd 2$' "$DIR/pids" || fail "up started no hasvcd in 10 s: $(cat "$T/up2.out")"
# The second host's hasvcd was just started: `up` is mid-way.
{
	kill -KILL "$bgpid" || true
	wait "$bgpid" || true
} 2>/dev/null
bgpid=""
grep -q ' simhv 5$' "$DIR/pids" && echo "note: up had already started every host"
sleep 1
victims=$(awk '$2 == "hasvcd" || $2 == "corosync" {print $1}' "$DIR/pids" | head -n 3)
for p in $victims; do
	if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$DIR/"; then kill -KILL "$p"; fi
done
echo "killed up and: $(echo "$victims" | tr '\n' ' ')"
cp "$DIR/pids" "$T/pids2"
"$LAB" down --dir "$DIR" >"$T/down2.out" 2>&1 || fail "down failed: $(cat "$T/down2.out")"
assert_clean "$T/pids2"
echo "clean"

# A second down, with nothing there, succeeds and does nothing.
"$LAB" down --dir "$DIR" >"$T/down3.out" 2>&1 || fail "a second down failed: $(cat "$T/down3.out")"

# Other tests may run alongside: report (not compare) the global counts.
echo "mounts: $mounts_before before, $(wc -l </proc/mounts) after;" \
	"/dev/shm: $shm_before before, $(find /dev/shm -mindepth 1 -maxdepth 1 | wc -l) after"
echo "PASS"
