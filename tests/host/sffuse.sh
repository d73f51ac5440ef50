#!/usr/bin/env bash
# hasvc-sffuse, the lab's per-host view of the shared statefile with a fault
# switch (docs/hasvc-lab.md, "Storage faults"), without the lab: two
# instances ("hosts" a and b) on one 266240-byte backing file.  Checks the
# O_DIRECT round trip to the backing file, that each sees the other's writes,
# `error` (EIO at once), `hang` (an O_DIRECT reader blocks in the kernel, is
# released by `ok` or failed by `error`, and the other host is not affected),
# a lazy unmount and a stop while a request is hung, and a clean stop.
# Needs root, /dev/fuse, fusermount3 and python3; skips (77) without them.
BINDIR=${BINDIR:-$(dirname "$0")/../../bin}
source "$(dirname "$0")/common.bash"
F=$BINDIR/hasvc-sffuse
[[ -x $F ]] || { echo "$F not built"; exit 77; }
((EUID == 0)) || { echo "needs root (FUSE mounts)"; exit 77; }
[[ -c /dev/fuse ]] || { echo "no /dev/fuse"; exit 77; }
command -v fusermount3 >/dev/null || { echo "fusermount3 not installed (fuse3)"; exit 77; }
command -v python3 >/dev/null || { echo "python3 not installed"; exit 77; }
SIZE=266240

# Our daemons (name -> PID) and mount points: on any exit, release hung
# requests (mode ok), stop the daemons, unmount what is left, then
# common.bash's on_exit (processes, $T).
declare -A daemon=()
cleanup() {
	local rc=$? n i
	set +e
	for n in "${!daemon[@]}"; do
		printf 'ok\n' >"$T/$n.mode" 2>/dev/null || true
		kill -TERM "${daemon[$n]}" 2>/dev/null || true
	done
	for n in "${!daemon[@]}"; do
		for ((i = 0; i < 30; i++)); do
			kill -0 "${daemon[$n]}" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "${daemon[$n]}" 2>/dev/null || true
	done
	for n in a b; do
		if mountpoint -q "$T/$n" 2>/dev/null; then
			fusermount3 -u -z "$T/$n" 2>/dev/null || umount -l "$T/$n" || true
		fi
	done
	(exit $rc)
	on_exit
}
trap cleanup EXIT

# setmode HOST MODE: atomically, as hasvc-lab storage does.
setmode() { printf '%s\n' "$2" >"$T/$1.mode.tmp" && mv -f "$T/$1.mode.tmp" "$T/$1.mode"; }

# start HOST: mount $T/HOST (statefile = $T/backing), control $T/HOST.mode.
start() {
	local n=$1
	mkdir -p "$T/$n"
	setmode "$n" ok
	"$F" --backing "$T/backing" --mount "$T/$n" --control "$T/$n.mode" --foreground -v \
		2>"$T/sffuse-$n.log" &
	daemon[$n]=$!
	started+=($!)
	wait_for 5 "mount $T/$n" test -e "$T/$n/statefile"
}

# io.py: O_DIRECT (and O_DSYNC for writes) 4096-byte aligned I/O.
#   io.py read PATH OFFSET       print the block's first byte (or "zero")
#   io.py write PATH OFFSET CHAR write a block of CHAR
#   io.py readall PATH OUT       read the whole file in one O_DIRECT read
# Exit 5 with "EIO" on EIO, 6 with the error's name on any other OSError.
cat >"$T/io.py" <<'EOF'
import errno, mmap, os, sys
op, path = sys.argv[1], sys.argv[2]
try:
    if op == "write":
        fd = os.open(path, os.O_RDWR | os.O_DIRECT | os.O_DSYNC)
        buf = mmap.mmap(-1, 4096)
        buf.write(sys.argv[4].encode() * 4096)
        n = os.pwrite(fd, buf, int(sys.argv[3]))
        assert n == 4096, n
    elif op == "read":
        fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
        buf = mmap.mmap(-1, 4096)
        n = os.preadv(fd, [buf], int(sys.argv[3]))
        assert n == 4096, n
        print("zero" if buf[0] == 0 else chr(buf[0]))
    else:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
        buf = mmap.mmap(-1, 266240)
        n = os.preadv(fd, [buf], 0)
        assert n == 266240, n
        open(sys.argv[3], "wb").write(buf)
    os.close(fd)
    print("done")
except OSError as e:
    print("EIO" if e.errno == errno.EIO else errno.errorcode.get(e.errno, str(e.errno)))
    sys.exit(5 if e.errno == errno.EIO else 6)
EOF
io() { timeout 5 python3 "$T/io.py" "$@"; }
io1() { local o; o=$(io "$@") || true; echo "${o%%$'\n'*}"; } # the first line

# bg_read HOST NAME: an O_DIRECT reader of block 3 in the background; its
# output goes to $T/NAME.out, its PID to bgpid.
bg_read() {
	python3 "$T/io.py" read "$T/$1/statefile" 12288 >"$T/$2.out" 2>&1 &
	bgpid=$!
	started+=($!)
}
# gone PID SECONDS: the process has exited within SECONDS (polled).
gone() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}

head -c $SIZE /dev/zero >"$T/backing"
start a
start b
[[ $(stat -c %s "$T/a/statefile") -eq $SIZE ]] || die "size $(stat -c %s "$T/a/statefile")"
[[ $(ls "$T/a") == statefile ]] || die "ls: $(ls "$T/a")"

echo "== O_DIRECT round trip, through a and b, to the backing file"
out=$(io write "$T/a/statefile" 12288 A) || die "write via a: $out"
[[ $(dd if="$T/backing" bs=4096 skip=3 count=1 status=none | tr -d A | wc -c) -eq 0 ]] ||
	die "block 3 of the backing file is not A"
[[ $(io1 read "$T/a/statefile" 12288) == A ]] || die "a does not read back A"
[[ $(io1 read "$T/b/statefile" 12288) == A ]] || die "b does not see a's write"
io write "$T/b/statefile" 20480 B >/dev/null || die "write via b"
[[ $(io1 read "$T/a/statefile" 20480) == B ]] || die "a does not see b's write"
io readall "$T/a/statefile" "$T/all" >/dev/null || die "whole-file read via a"
cmp -s "$T/all" "$T/backing" || die "whole-file read differs from the backing file"
grep -q 'O_DSYNC: fdatasync' "$T/sffuse-a.log" || die "no fdatasync for an O_DSYNC write"

echo "== error: EIO at once on a, b unaffected"
setmode a error
t0=$(date +%s%N)
out=$(io read "$T/a/statefile" 12288) && die "read in error mode succeeded: $out"
[[ $out == EIO ]] || die "read in error mode: $out, want EIO"
out=$(io write "$T/a/statefile" 12288 X) && die "write in error mode succeeded"
[[ $out == EIO ]] || die "write in error mode: $out, want EIO"
(($(date +%s%N) - t0 < 1000000000)) || die "EIO took more than 1 s"
out=$(timeout 5 dd if="$T/a/statefile" of=/dev/null bs=4096 count=1 iflag=direct 2>&1) &&
	die "dd in error mode succeeded"
grep -q 'Input/output error' <<<"$out" || die "dd: $out"
[[ $(io1 read "$T/b/statefile" 12288) == A ]] || die "b fails while a errors"
setmode a bogus # not a mode: stays error
[[ $(io read "$T/a/statefile" 12288) == EIO ]] || die "a bogus control file changed the mode"
setmode a ok
[[ $(io1 read "$T/a/statefile" 12288) == A ]] || die "a does not recover from error"

echo "== hang: the reader blocks, b works, ok releases it"
setmode a hang
bg_read a hang1
sleep 2
kill -0 "$bgpid" 2>/dev/null || die "reader returned in hang mode: $(cat "$T/hang1.out")"
wchan=$(cat "/proc/$bgpid/wchan" 2>/dev/null || true)
echo "hung reader $bgpid: wchan $wchan, state $(awk '/^State/ {print $2}' "/proc/$bgpid/status")"
stat "$T/a/statefile" >/dev/null || die "getattr on a while hung"
io write "$T/b/statefile" 24576 C >/dev/null || die "b's write while a hangs"
[[ $(io1 read "$T/b/statefile" 24576) == C ]] || die "b's read while a hangs"
setmode a ok
gone "$bgpid" 2 || die "reader not released within 2 s of ok"
wait "$bgpid" || die "released reader failed: $(cat "$T/hang1.out")"
[[ $(sed -n 1p "$T/hang1.out") == A ]] || die "released reader read: $(cat "$T/hang1.out")"

echo "== hang then error: the hung reader gets EIO"
setmode a hang
bg_read a hang2
sleep 1
kill -0 "$bgpid" 2>/dev/null || die "reader returned in hang mode: $(cat "$T/hang2.out")"
setmode a error
gone "$bgpid" 2 || die "reader not failed within 2 s of error"
rc=0 && wait "$bgpid" || rc=$?
((rc == 5)) || die "hang then error: reader exit $rc: $(cat "$T/hang2.out")"

echo "== hang: lazy unmount and stop while a request is hung"
setmode a hang
bg_read a hang3
sleep 1
kill -0 "$bgpid" 2>/dev/null || die "reader returned in hang mode: $(cat "$T/hang3.out")"
timeout 5 fusermount3 -u -z "$T/a" || die "fusermount3 -u -z while hung"
mountpoint -q "$T/a" && die "$T/a still a mount point"
kill -TERM "${daemon[a]}"
gone "${daemon[a]}" 3 || die "daemon a did not stop within 3 s while hung"
rc=0 && wait "${daemon[a]}" || rc=$?
((rc == 0)) || die "daemon a exited $rc after SIGTERM"
unset 'daemon[a]'
gone "$bgpid" 3 || die "hung reader still there after the daemon stopped"
rc=0 && wait "$bgpid" || rc=$?
((rc != 0)) || die "hung reader succeeded after the daemon stopped"
echo "hung reader after stop: $(sed -n 1p "$T/hang3.out")"
grep -q "$T/a " /proc/mounts && die "$T/a still in /proc/mounts"
[[ $(io1 read "$T/b/statefile" 12288) == A ]] || die "b fails after a stopped"

echo "== clean stop of b"
kill -TERM "${daemon[b]}"
gone "${daemon[b]}" 3 || die "daemon b did not stop"
rc=0 && wait "${daemon[b]}" || rc=$?
((rc == 0)) || die "daemon b exited $rc"
unset 'daemon[b]'
mountpoint -q "$T/b" && die "$T/b still mounted after stop"
grep -q "hasvc-sffuse" /proc/mounts && grep "$T" /proc/mounts && die "mounts left"
echo "PASS"
