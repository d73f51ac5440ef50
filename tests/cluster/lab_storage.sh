#!/usr/bin/env bash
# hasvc-lab's statefile views (docs/hasvc-lab.md, "Storage faults"): a 3-host
# lab where each host has its own hasvc-sffuse view DIR/hostN/sf/statefile of
# the one DIR/statefile.
#  - every view is mounted, named in the host's hasvcd.conf, seen inside the
#    host's namespace, and shows the bytes of DIR/statefile (hasvc-statefile
#    dump works through it); a write through one view (slot 60, beyond the
#    pool's hosts) is seen through the others and in DIR/statefile;
#  - `storage host2 error`: EIO through host2's view, host1's works;
#  - `storage host2 hang`: a reader on host2's view is still blocked after
#    2 s while host1 and host3 work; `storage host2 ok` releases it;
#  - `status --json` shows each host's mode; `poweroff` keeps the view and
#    its `hang`, `boot` brings the host back;
#  - `down` with a reader hung on a view leaves no mount, process, namespace
#    or /dev/shm file (lab_updown.sh's checks).
# Exit 0 pass, 1 fail, 77 skip (not root, no corosync, no /dev/fuse, ...).
source "$(dirname "$0")/common.bash"
[[ -c /dev/fuse ]] || { echo "no /dev/fuse"; exit 77; }
command -v fusermount3 >/dev/null || { echo "fusermount3 not installed (fuse3)"; exit 77; }
command -v python3 >/dev/null || { echo "python3 not installed"; exit 77; }
for b in hasvc-sffuse hasvc-statefile hasvc-lab; do
	[[ -x $BINDIR/$b ]] || { echo "$BINDIR/$b not built"; exit 77; }
done

D=$HASVC_LAB_DIR
LABID=$(printf '%s' "$(realpath -m "$D")" | sha256sum | cut -c1-6)
SLOT60=$(((1 + 60) * 4096)) # slot 60's sector: no host of this pool writes it

# Background readers we start: killed (after `lab down` released them) on
# any exit, before common.bash's on_exit.
readers=()
cleanup() {
	local rc=$? p
	set +e
	for p in "${readers[@]+"${readers[@]}"}"; do kill -KILL "$p" 2>/dev/null; done
	(exit $rc)
	on_exit
}
trap cleanup EXIT

# io.py: O_DIRECT (O_DSYNC for writes) I/O of one 4096-byte block.
#   io.py read PATH OFFSET        print the block's first byte (or "zero")
#   io.py write PATH OFFSET CHAR  write a block of CHAR ("zero": of zeros)
# Prints "EIO" and exits 5 on EIO, the errno's name and 6 on another error.
cat >"$T/io.py" <<'EOF'
import errno, mmap, os, sys
op, path, off = sys.argv[1], sys.argv[2], int(sys.argv[3])
buf = mmap.mmap(-1, 4096)
try:
    if op == "write":
        c = sys.argv[4]
        buf.write(bytes(4096) if c == "zero" else c.encode() * 4096)
        fd = os.open(path, os.O_RDWR | os.O_DIRECT | os.O_DSYNC)
        assert os.pwrite(fd, buf, off) == 4096
        print("done")
    else:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
        assert os.preadv(fd, [buf], off) == 4096
        print("zero" if buf[0] == 0 else chr(buf[0]))
    os.close(fd)
except OSError as e:
    print("EIO" if e.errno == errno.EIO else errno.errorcode.get(e.errno, str(e.errno)))
    sys.exit(5 if e.errno == errno.EIO else 6)
EOF
io() { timeout 5 python3 "$T/io.py" "$@"; }
view() { echo "$D/$1/sf/statefile"; }
mode_of() { lab status --json | jq -r --arg h "$1" '.hosts[] | select(.name == $h) | .storage'; }
gone() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}

# HA off: this test is about the views, and a host powered off and booted
# again is fenced at once while HA is on (no join protocol admits it yet).
lab up --hosts 3 --vms 3 --no-ha >"$T/up.log" 2>&1 || { cat "$T/up.log"; die "lab up failed"; }
H=(host1 host2 host3)

echo "== three views of one statefile"
[[ -s $D/statefile ]] || die "no $D/statefile"
lab exec host1 true # the lab answers
for h in "${H[@]}"; do
	mountpoint -q "$D/$h/sf" || die "$D/$h/sf is not mounted"
	grep -qF "<statefile>$D/$h/sf/statefile</statefile>" "$D/$h/hasvcd.conf" ||
		die "$h's hasvcd.conf does not name its view"
	cmp "$(view "$h")" "$D/statefile" || die "$h's view differs from $D/statefile"
	"$BINDIR/hasvc-statefile" dump "$(view "$h")" --db "$D/pool.db" --json >"$T/dump-$h.json" ||
		die "hasvc-statefile dump through $h's view failed"
	[[ $(jq -r .header.ok "$T/dump-$h.json") == true ]] || die "$h: header not ok: $(cat "$T/dump-$h.json")"
	# hasvcd's namespace (a copy of the mounts when it started) has it too.
	lab exec "$h" cmp "$(view "$h")" "$D/statefile" || die "$h's view not seen in its namespace"
done
[[ $(grep -c ' - fuse.hasvc-sffuse ' /proc/self/mountinfo) -ge 3 ]] || die "fewer than 3 sffuse mounts"
[[ $(grep -c ' sffuse ' "$D/pids") -eq 3 ]] || die "expected 3 sffuse in pids: $(cat "$D/pids")"
[[ $(jq -S '.header' "$T/dump-host1.json") == $(jq -S '.header' "$T/dump-host3.json") ]] ||
	die "host1 and host3 dump different headers"

[[ $(io read "$(view host3)" $SLOT60) == zero ]] || die "slot 60 is not empty"
out=$(io write "$(view host1)" $SLOT60 Q) || die "write through host1's view: $out"
[[ $(io read "$(view host3)" $SLOT60) == Q ]] || die "host3 does not see host1's write"
[[ $(io read "$(view host2)" $SLOT60) == Q ]] || die "host2 does not see host1's write"
[[ $(dd if="$D/statefile" bs=4096 skip=61 count=1 status=none | tr -d Q | wc -c) -eq 0 ]] ||
	die "host1's write is not in $D/statefile"
io write "$(view host2)" $SLOT60 zero >/dev/null || die "zeroing slot 60 through host2's view"
[[ $(io read "$(view host1)" $SLOT60) == zero ]] || die "host1 does not see slot 60 zeroed"
for h in "${H[@]}"; do [[ $(mode_of "$h") == ok ]] || die "$h: storage $(mode_of "$h"), want ok"; done
echo "ok"

echo "== storage host2 error"
lab storage host2 error >/dev/null
out=$(io read "$(view host2)" 0) && die "read through host2's view in error mode: $out"
[[ $out == EIO ]] || die "host2 in error mode: $out, want EIO"
io read "$(view host1)" 0 >/dev/null || die "host1's view fails while host2 errors"
[[ $(mode_of host2) == error && $(mode_of host1) == ok ]] || die "status: host2 $(mode_of host2), host1 $(mode_of host1)"
lab storage host2 ok >/dev/null
io read "$(view host2)" 0 >/dev/null || die "host2's view does not recover from error"
echo "ok"

echo "== storage host2 hang, then ok"
lab storage host2 hang >/dev/null
python3 "$T/io.py" read "$(view host2)" 0 >"$T/hang.out" 2>&1 &
rpid=$!
readers+=("$rpid")
sleep 2
kill -0 "$rpid" 2>/dev/null || die "reader returned in hang mode: $(cat "$T/hang.out")"
echo "hung reader $rpid: state $(awk '/^State/ {print $2}' "/proc/$rpid/status"), wchan $(cat "/proc/$rpid/wchan" 2>/dev/null || true)"
io read "$(view host1)" 0 >/dev/null || die "host1's view fails while host2 hangs"
io read "$(view host3)" 0 >/dev/null || die "host3's view fails while host2 hangs"
json=$(lab status --json)
[[ $(jq -r '[.hosts[] | .storage] | join(",")' <<<"$json") == ok,hang,ok ]] ||
	die "status --json modes: $(jq -c '[.hosts[] | {name, storage}]' <<<"$json")"
lab status | grep -E '^host2 .* hang ' >/dev/null || die "text status has no hang for host2: $(lab status)"
lab storage host2 ok >/dev/null
gone "$rpid" 2 || die "reader not released within 2 s of storage ok"
wait "$rpid" || die "released reader failed: $(cat "$T/hang.out")"
[[ $(sed -n 1p "$T/hang.out") == H ]] || die "released reader read: $(cat "$T/hang.out")" # "HASVCSF"
echo "ok"

echo "== poweroff keeps the view and its mode; boot"
lab storage host3 hang >/dev/null
lab poweroff host3 >/dev/null
mountpoint -q "$D/host3/sf" || die "poweroff unmounted host3's view"
json=$(lab status --json)
[[ $(jq -r '.hosts[2] | "\(.live) \(.statefile) \(.storage)"' <<<"$json") == "false true hang" ]] ||
	die "host3 after poweroff: $(jq -c '.hosts[2]' <<<"$json")"
lab storage host3 ok >/dev/null
lab boot host3 >/dev/null
wait_for 30 "host3 live again" bash -c "'$BINDIR/hasvc-lab' status --json | jq -e '.hosts[2].live' | grep -qx true"
[[ $(grep -c ' sffuse 3$' "$D/pids") -eq 1 ]] || die "boot restarted a running view"
echo "ok"

echo "== down with a reader hung on host2's view"
lab storage host2 hang >/dev/null
python3 "$T/io.py" read "$(view host2)" 0 >"$T/hang2.out" 2>&1 &
rpid=$!
readers+=("$rpid")
sleep 1
kill -0 "$rpid" 2>/dev/null || die "reader returned in hang mode: $(cat "$T/hang2.out")"
cp "$D/pids" "$T/pids"
lab down >"$T/down.out" 2>&1 || die "down failed: $(cat "$T/down.out")"
gone "$rpid" 3 || die "the hung reader is still blocked after down"

# lab_updown.sh's checks: nothing of the lab is left.
source "$(dirname "$0")/lab_leftovers.bash"
out=$(lab_leftovers "$D" "$T/pids" "$LABID" "$T") || die "$out"
echo "clean"
echo "PASS"
