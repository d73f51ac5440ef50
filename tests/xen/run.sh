#!/usr/bin/env bash
# Real-Xen tests (issue 10, docs/xen-tests.md): Debian's Xen 4.17 hypervisor
# and Debian's kernel as a PV dom0 boot under QEMU (TCG) from a busybox
# initramfs that carries hasvcd, hasvc-wdkeeper, the hasvc CLI, corosync and
# Xen's tools.  One scenario per boot; dom0 runs tests/xen/scen/NAME.sh and
# reports on the serial console with markers (XT-MARK, XT-FAIL, XT-DONE);
# this script watches the log, enforces a hard timeout per boot and decides.
#
#   tests/xen/run.sh [SCENARIO...]     (default: every scenario, in order)
#   tests/xen/run.sh --list
#   tests/xen/run.sh --shell           interactive dom0 (Ctrl-a x quits)
#   tests/xen/run.sh --deps            install the missing Debian packages;
#                                      exit 77 if that is impossible
#
# env: BINDIR (default bin: release build), TESTBIN (build/release/tests),
#      XT_DIR (cache and logs, default build/xen), XT_TIMEOUT_SCALE (x1),
#      XT_KEEP=1 (keep the disk images), XT_HA_TIMEOUT (the pool's HA timeout
#      in the watchdog scenarios, default 90 s: W = 3 s).
# Exit: 0 all passed, 1 a failure, 77 QEMU or Xen's tools are not installed.
# Nothing about Xen is installed on the host: the hypervisor and kernel .debs
# are fetched with `apt-get download` into $XT_DIR/debs and unpacked there.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BINDIR=${BINDIR:-$ROOT/bin}
TESTBIN=${TESTBIN:-$ROOT/build/release/tests}
B=${XT_DIR:-$ROOT/build/xen}
XENVER=4.17
XB=/usr/lib/xen-$XENVER/bin
MEM_MB=${MEM_MB:-1024}
DOM0_MEM=${DOM0_MEM:-512M}
SCALE=${XT_TIMEOUT_SCALE:-1}

# name:timeout-seconds (one boot each; `fence` boots twice on one disk)
SCENARIOS=(info:150 vm:300 wd-hang:240 wd-disable:240 fence:300)

log() { echo "[xen $(date +%T)] $*" >&2; }

# The QEMU of the running boot: killed (by PID, after checking its command
# line) if this script exits early.
QPID=""
kill_qemu() {
	if [[ -n $QPID ]] && kill -0 "$QPID" 2>/dev/null &&
		[[ $(tr '\0' ' ' </proc/$QPID/cmdline 2>/dev/null) == *qemu-system-x86_64* ]]; then
		kill "$QPID" 2>/dev/null || true
		wait "$QPID" 2>/dev/null || true
	fi
	QPID=""
}
trap kill_qemu EXIT
trap 'exit 130' INT TERM
die() { echo "tests/xen: $*" >&2; exit 1; }

# ---- assets --------------------------------------------------------------------

have_deps() {
	command -v qemu-system-x86_64 >/dev/null && [[ -x $XB/xl ]] &&
		[[ -x /bin/busybox ]] && command -v cpio >/dev/null && command -v mkfs.ext4 >/dev/null &&
		command -v debugfs >/dev/null && command -v corosync >/dev/null
}

# The hypervisor and dom0 kernel: downloaded and unpacked once (cached).
fetch() {
	[[ -f $B/xen.elf && -d $B/x/lib/modules && -f $B/x/.complete ]] && return 0
	local kpkg
	kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
	[[ -n $kpkg ]] || die "cannot tell which linux-image package linux-image-amd64 depends on"
	mkdir -p "$B/debs"
	rm -rf "$B/x"
	mkdir -p "$B/x"
	log "apt-get download xen-hypervisor-$XENVER-amd64 $kpkg"
	(cd "$B/debs" && apt-get download -qq "xen-hypervisor-$XENVER-amd64" "$kpkg" 2>/dev/null) ||
		die "apt-get download failed"
	for d in "$B"/debs/xen-hypervisor-"$XENVER"-amd64_*.deb "$B"/debs/"$kpkg"_*.deb; do
		dpkg-deb -x "$d" "$B/x"
	done
	# QEMU's multiboot loader wants the plain ELF32 image
	zcat "$B"/x/boot/xen-$XENVER-amd64.gz >"$B/xen.elf"
	# the .deb carries no modules.dep (depmod makes it at install): make it here
	busybox depmod -b "$B/x" "$(kver)" || die "busybox depmod -b $B/x failed"
	touch "$B/x/.complete"
}

kver() { find "$B/x/lib/modules" -mindepth 1 -maxdepth 1 -printf "%f\n" | sort | head -n 1; }

# copy_elf ROOT FILE...: FILE and its ldd libraries at the same paths
copy_elf() {
	local root=$1 f lib
	shift
	for f in "$@"; do
		mkdir -p "$root$(dirname "$f")"
		cp -L "$f" "$root$f"
		while read -r lib; do
			[[ -e $root$lib ]] && continue
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done < <(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' || true)
	done
}

# mod_order NAME...: the modules' .ko paths (relative), dependencies first
mod_order() {
	local dep
	dep=$B/x/lib/modules/$(kver)/modules.dep
	awk -v want="$*" '
		function base(p) { sub(/.*\//, "", p); sub(/\.ko.*$/, "", p); gsub(/-/, "_", p); return p }
		{ k = $1; sub(/:$/, "", k); path[base(k)] = k; deps[base(k)] = ""
		  for (i = 2; i <= NF; i++) deps[base(k)] = deps[base(k)] " " base($i) }
		function visit(m,   n, a, i) {
			if (m in seen) return; seen[m] = 1
			if (!(m in path)) { print "missing module " m > "/dev/stderr"; exit 1 }
			n = split(deps[m], a, " "); for (i = n; i >= 1; i--) visit(a[i])
			print path[m]
		}
		END { n = split(want, w, " "); for (i = 1; i <= n; i++) { m = w[i]; gsub(/-/, "_", m); visit(m) } }
	' "$dep"
}

# The tiny PV guest: busybox, an init that prints a marker and sleeps, and a
# /sbin/poweroff for the kernel's orderly_poweroff (a PV shutdown request).
build_guest() {
	local g=$B/guestroot
	rm -rf "$g"
	mkdir -p "$g"/{bin,sbin,proc,dev}
	cp /bin/busybox "$g/bin/busybox"
	cp "$HERE/guestinit.sh" "$g/guestinit"
	printf '#!/bin/busybox sh\necho XT-GUEST-POWEROFF\n/bin/busybox poweroff -f\n' >"$g/sbin/poweroff"
	chmod +x "$g/guestinit" "$g/sbin/poweroff"
	(cd "$g" && find . | cpio -o -H newc --quiet) >"$B/guest-initrd.cpio"
	rm -rf "$g"
}

build_dom0() {
	local r=$B/dom0root k m lib
	k=$(kver)
	rm -rf "$r"
	mkdir -p "$r"/{bin,sbin,etc,proc,sys,dev,tmp,run,var,data,guest,xt,lib/modules/xt}
	cp /bin/busybox "$r/bin/busybox"
	cp "$HERE/init.sh" "$r/init"
	chmod +x "$r/init"
	cp "$HERE/lib.sh" "$r/xt/lib.sh"
	cp "$HERE"/scen/*.sh "$r/xt/"
	# Xen's toolstack
	copy_elf "$r" $XB/xl $XB/xenstored $XB/xenconsoled $XB/xen-init-dom0 $XB/libxl-save-helper \
		$XB/xenconsole
	# glibc dlopen()s libgcc_s for pthread_cancel (xl, libxl)
	copy_elf "$r" /lib/x86_64-linux-gnu/libgcc_s.so.1
	cp -a /etc/xen "$r/etc/"
	# hasvc (release build), and the backend's unit test for a run on real Xen
	for m in hasvcd hasvc hasvc-db hasvc-statefile hasvc-wdkeeper; do
		[[ -x $BINDIR/$m ]] || die "$BINDIR/$m is missing (make)"
		copy_elf "$r" "$(readlink -f "$BINDIR/$m")"
		cp "$BINDIR/$m" "$r/bin/$m"
	done
	if [[ -x $TESTBIN/test_hv_xen ]]; then
		copy_elf "$r" "$(readlink -f "$TESTBIN/test_hv_xen")"
		cp "$TESTBIN/test_hv_xen" "$r/bin/test_hv_xen"
	fi
	# corosync, with knet's crypto plugin and NSS (dlopen()ed)
	copy_elf "$r" "$(command -v corosync)" "$(command -v corosync-quorumtool)"
	for lib in /usr/lib/x86_64-linux-gnu/kronosnet/crypto_nss.so \
		/usr/lib/x86_64-linux-gnu/nss/*.so /usr/lib/x86_64-linux-gnu/libnss3.so \
		/usr/lib/x86_64-linux-gnu/libsoftokn3.so /usr/lib/x86_64-linux-gnu/libfreebl3.so \
		/usr/lib/x86_64-linux-gnu/libfreeblpriv3.so /usr/lib/x86_64-linux-gnu/libnssutil3.so \
		/usr/lib/x86_64-linux-gnu/libsqlite3.so.0; do
		[[ -e $lib ]] && copy_elf "$r" "$lib"
	done
	[[ -d /usr/lib/x86_64-linux-gnu/nss ]] && cp -a /usr/lib/x86_64-linux-gnu/nss "$r/usr/lib/x86_64-linux-gnu/"
	# kernel modules: Xen's devices, the data disk (virtio) and its ext4
	local mods
	mods=$(mod_order xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs virtio_pci virtio_blk crc32c_generic ext4) ||
		die "cannot resolve the kernel modules"
	: >"$r/lib/modules/xt/order"
	for m in $mods; do
		cp "$B/x/lib/modules/$k/$m" "$r/lib/modules/xt/"
		basename "$m" >>"$r/lib/modules/xt/order"
	done
	cp "$B/x/boot/vmlinuz-$k" "$r/guest/vmlinuz"
	cp "$B/guest-initrd.cpio" "$r/guest/initrd.cpio"
	echo "root:x:0:0:root:/:/bin/sh" >"$r/etc/passwd"
	echo "root:x:0:" >"$r/etc/group"
	printf '127.0.0.1 localhost xt-dom0\n' >"$r/etc/hosts"
	# plain cpio: TCG would spend seconds inflating a compressed one
	(cd "$r" && find . | cpio -o -H newc --quiet) >"$B/dom0-initrd.cpio"
	rm -rf "$r"
	log "dom0 initramfs: $(du -m "$B/dom0-initrd.cpio" | cut -f1) MiB"
}

# ---- one boot ------------------------------------------------------------------

# boot NAME PHASE TIMEOUT DISK: boots, watches $B/serial-NAME-PHASE.log, sets
# BOOT_RESULT (done | reset | timeout | qemu-exited) and BOOT_SECS; host
# timestamps of the markers go to $B/marks-NAME-PHASE (seconds since start).
boot() {
	local name=$1 phase=$2 timeout=$3 disk=$4 k serial marks qerr t0 now el qpid
	k=$(kver)
	serial=$B/serial-$name-$phase.log
	marks=$B/marks-$name-$phase
	qerr=$B/qemu-$name-$phase.err
	local xen_args="console=com1 com1=115200,8n1 dom0_mem=$DOM0_MEM,max:$DOM0_MEM dom0_max_vcpus=2 loglvl=all guest_loglvl=all console_timestamps=boot"
	local dom0_args="console=hvc0 earlyprintk=xen rdinit=/init xt=$name xtphase=$phase"
	# the pool's HA timeout for the watchdog scenarios (W = timeout / 30, whole s)
	[[ -n ${XT_HA_TIMEOUT:-} ]] && dom0_args+=" XT_HA_TIMEOUT=$XT_HA_TIMEOUT"
	# shellcheck disable=SC2054 # QEMU's options take commas
	local qemu=(nice -n 10 qemu-system-x86_64 -accel tcg,thread=multi,tb-size=256 -machine pc
		-cpu qemu64,+svm,+npt -m "$MEM_MB" -smp 2 -display none -monitor none -no-reboot -nic none
		-drive "file=$disk,format=raw,if=virtio,cache=writeback"
		-kernel "$B/xen.elf" -append "$xen_args"
		-initrd "$B/x/boot/vmlinuz-$k $dom0_args,$B/dom0-initrd.cpio")
	if [[ $name == shell ]]; then
		exec "${qemu[@]}" -serial mon:stdio
	fi
	: >"$serial"
	: >"$marks"
	t0=$(date +%s%N)
	"${qemu[@]}" -serial "file:$serial" 2>"$qerr" &
	qpid=$!
	QPID=$qpid
	BOOT_RESULT=timeout
	local seen=""
	while :; do
		now=$(date +%s%N)
		el=$(((now - t0) / 1000000))
		# new markers, stamped with host time
		while read -r line; do
			[[ " $seen " == *" ${line%% *} "* ]] && continue
			seen="$seen ${line%% *}"
			printf '%d.%03d %s\n' $((el / 1000)) $((el % 1000)) "$line" >>"$marks"
		done < <(grep -a -o 'XT-MARK [A-Za-z0-9_-]*' "$serial" | sed 's/^XT-MARK //' || true)
		if ! kill -0 "$qpid" 2>/dev/null; then
			BOOT_RESULT="qemu-exited"
			break
		fi
		if ((el / 1000 >= timeout)); then break; fi
		sleep 0.2
	done
	kill_qemu
	BOOT_SECS=$(printf '%d.%01d' $((el / 1000)) $((el % 1000 / 100)))
	if [[ $BOOT_RESULT == qemu-exited ]]; then
		if grep -aq 'XT-DONE' "$serial"; then
			BOOT_RESULT="done"
		elif grep -aq 'Watchdog timer fired for domain 0' "$serial"; then
			BOOT_RESULT=reset
		fi
	fi
	printf 'end %s %s\n' "$BOOT_SECS" "$BOOT_RESULT" >>"$marks"
	# debugfs reads the file system without its journal: replay it first
	# (what the next boot's mount would do), so that what dom0 made durable
	# before a reset is what run.sh sees
	e2fsck -fy "$disk" >/dev/null 2>&1 || true
	log "$name/$phase: $BOOT_RESULT after ${BOOT_SECS}s (serial log $serial)"
	grep -v 'host doesn.t support requested feature' "$qerr" | head -n 5 >&2 || true
}

# mark_time NAME PHASE MARK: host seconds at which MARK was seen ("" if never)
mark_time() { awk -v m="$3" '$2 == m {print $1; exit}' "$B/marks-$1-$2"; }

# fail_info NAME PHASE DISK: the end of the serial log and dom0's logs on the disk
fail_info() {
	local f
	echo "--- serial log $B/serial-$1-$2.log (last 40 lines)"
	grep -av '^\s*$' "$B/serial-$1-$2.log" | tail -n 40
	for f in hasvcd.log wdkeeper.log corosync.log; do
		if debugfs -R "stat /log/$f" "$3" 2>&1 | grep -q '^Inode:'; then
			echo "--- $f on the data disk (last 25 lines)"
			debugfs -R "cat /log/$f" "$3" 2>/dev/null | tail -n 25
		fi
	done
}

# disk_file DISK PATH: a file of the data disk (ext4, read with debugfs)
disk_file() { debugfs -R "cat $2" "$1" 2>/dev/null; }
disk_ls() { debugfs -R "ls -l $2" "$1" 2>/dev/null; }

new_disk() {
	rm -f "$1"
	truncate -s 64M "$1"
	mkfs.ext4 -q -F -L xtdata "$1"
}

# done_ok NAME PHASE: dom0 finished the scenario with rc=0
done_ok() { [[ $BOOT_RESULT == "done" ]] && grep -aq 'XT-DONE rc=0' "$B/serial-$1-$2.log"; }

# ---- scenarios (host side) -----------------------------------------------------


# info, vm: dom0 decides everything; the boot must end with XT-DONE rc=0.
run_plain() {
	local name=$1 timeout=$2 disk=$B/disk-$1.img
	new_disk "$disk"
	boot "$name" 1 "$timeout" "$disk"
	if ! done_ok "$name" 1; then
		fail_info "$name" 1 "$disk"
		return 1
	fi
	echo "XTNOTE $(grep -a 'XT-NOTE' "$B/serial-$name-1.log" | sed 's/.*XT-NOTE //' | tr -d '\r' | paste -sd ';' || true)"
}

# expect_reset NAME DISK WHAT: the first boot of NAME ended in a reset without
# a failure on the console; else say what was expected and show the evidence.
expect_reset() {
	[[ $BOOT_RESULT == reset ]] && ! grep -aq 'XT-FAIL' "$B/serial-$1-1.log" && return 0
	echo "expected $3, got $BOOT_RESULT"
	fail_info "$1" 1 "$2"
	return 1
}

# wd-hang: HA armed, hasvcd SIGSTOPped: Xen's watchdog must reset the
# machine within W plus slack, with the keeper's fence record on the disk.
run_wd_hang() {
	local name=$1 timeout=$2 disk=$B/disk-$1.img ts te dt wd
	new_disk "$disk"
	boot "$name" 1 "$timeout" "$disk"
	expect_reset "$name" "$disk" "a watchdog reset after SIGSTOP" || return 1
	ts=$(mark_time "$name" 1 sigstop)
	te=$(awk '$1 == "end" {print $2}' "$B/marks-$name-1")
	wd=$(grep -a -o 'XT-NOTE wd_ms=[0-9]*' "$B/serial-$name-1.log" | head -n 1 | sed 's/.*=//')
	[[ -n $ts && -n $wd ]] || { echo "no sigstop mark or W"; fail_info "$name" 1 "$disk"; return 1; }
	dt=$(echo "$te - $ts" | bc)
	# W + two pet periods + the 0.2 s polling + TCG slack
	if (($(echo "$dt > $wd / 1000 + 10" | bc))); then
		echo "the reset came ${dt}s after SIGSTOP; W is ${wd} ms"
		fail_info "$name" 1 "$disk"
		return 1
	fi
	if ! disk_ls "$disk" /data/fence | grep -q '\.fence$'; then
		echo "no fence record under data-dir/fence after the watchdog reset"
		disk_ls "$disk" /data
		fail_info "$name" 1 "$disk"
		return 1
	fi
	local f
	f=$(disk_ls "$disk" /data/fence | awk '/\.fence$/ {print $NF; exit}')
	echo "the keeper's fence record $f:"
	disk_file "$disk" "/data/fence/$f"
	echo "XTNOTE reset ${dt}s after SIGSTOP (W ${wd} ms); keeper's fence record on disk"
}

# wd-disable: HA armed, pool.disable_ha, hasvcd SIGSTOPped: no reset for 3 W.
run_wd_disable() { run_plain "$@"; }

# fence: a fence decision (corosync stopped: the engine's deadline fences)
# resets at once; a second boot of the same disk raises HA_HOST_WAS_FENCED.
run_fence() {
	local name=$1 timeout=$2 disk=$B/disk-$1.img ts te dt rec
	new_disk "$disk"
	boot "$name" 1 "$timeout" "$disk"
	expect_reset "$name" "$disk" "a reset by the fence decision" || return 1
	local s1=$BOOT_SECS
	if ! grep -aq 'self-fence' "$B/serial-$name-1.log" && ! disk_file "$disk" /log/hasvcd.log | grep -q 'fence: resetting this host now'; then
		echo "the reset was not hasvcd's fence"
		fail_info "$name" 1 "$disk"
		return 1
	fi
	ts=$(mark_time "$name" 1 fence-decided)
	te=$(awk '$1 == "end" {print $2}' "$B/marks-$name-1")
	rec=$(disk_ls "$disk" /data/fence | grep -c '\.fence$' || true)
	((rec >= 1)) || { echo "no fence record on the disk after the reset"; fail_info "$name" 1 "$disk"; return 1; }
	boot "$name" 2 "$timeout" "$disk"
	if ! done_ok "$name" 2; then
		fail_info "$name" 2 "$disk"
		return 1
	fi
	[[ -n $ts ]] || { echo "no fence-decided mark"; fail_info "$name" 1 "$disk"; return 1; }
	dt=$(echo "$te - $ts" | bc)
	if (($(echo "$dt > 5" | bc))); then
		echo "the reset came ${dt}s after the fence decision (self_reset arms a 1 s watchdog)"
		fail_info "$name" 1 "$disk"
		return 1
	fi
	local f hv=0
	for f in $(disk_ls "$disk" /data/fence | awk '/\.fence$/ {print $NF}'); do
		echo "fence record $f:"
		disk_file "$disk" "/data/fence/$f" | tee "$B/fence-record.txt"
		grep -q '^reason_text=watchdog' "$B/fence-record.txt" || hv=1
	done
	((hv)) || { echo "no fence record of hasvcd's fence machine (only the keeper's)"; return 1; }
	local cs
	cs=$(mark_time "$name" 1 corosync-sigstop)
	echo "XTNOTE boot 1 ${s1}s (corosync stopped -> fence decision $(echo "$ts - $cs" | bc)s -> reset ${dt}s), boot 2 ${BOOT_SECS}s; $(grep -a 'XT-NOTE' "$B/serial-$name-2.log" | sed 's/.*XT-NOTE //' | tr -d '\r' | paste -sd ';' || true)"
}

run_scenario() {
	local name=$1 timeout=$2
	timeout=$(echo "$timeout * $SCALE / 1" | bc)
	case $name in
	info | vm | wd-disable) run_plain "$name" "$timeout" ;;
	wd-hang) run_wd_hang "$name" "$timeout" ;;
	fence) run_fence "$name" "$timeout" ;;
	*) die "unknown scenario $name" ;;
	esac
}

# ---- main ----------------------------------------------------------------------

# What `make deps` installs for these tests (scripts/deps.sh), plus the
# e2fsprogs that make and read the data disk.
DEB_PKGS=(qemu-system-x86 "xen-utils-$XENVER" libxen-dev busybox-static cpio e2fsprogs corosync bc)
if [[ ${1:-} == --deps ]]; then
	need=()
	for p in "${DEB_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
	((${#need[@]} == 0)) && exit 0
	[[ $(id -u) -eq 0 ]] || { echo "tests/xen: ${need[*]} missing and not root"; exit 77; }
	log "apt-get install ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
		{ echo "tests/xen: apt-get install ${need[*]} failed"; exit 77; }
	# Debian starts xen's init scripts on installation; this host is no dom0
	have_deps || exit 77
	exit 0
fi

if [[ ${1:-} == --list ]]; then
	for s in "${SCENARIOS[@]}"; do echo "${s%%:*}"; done
	exit 0
fi
[[ $(id -u) -eq 0 ]] || { echo "tests/xen: needs root (apt-get download, QEMU)"; exit 77; }
have_deps || { echo "tests/xen: qemu-system-x86, xen-utils-$XENVER, busybox-static, cpio, e2fsprogs or corosync missing (make deps)"; exit 77; }
mkdir -p "$B"
fetch
build_guest
build_dom0

if [[ ${1:-} == --shell ]]; then
	new_disk "$B/disk-shell.img"
	boot shell 1 0 "$B/disk-shell.img"
fi

want=("$@")
if ((${#want[@]} == 0)); then
	for s in "${SCENARIOS[@]}"; do want+=("${s%%:*}"); done
fi
fails=0
summary=()
for w in "${want[@]}"; do
	to=""
	for s in "${SCENARIOS[@]}"; do [[ ${s%%:*} == "$w" ]] && to=${s#*:}; done
	[[ -n $to ]] || die "unknown scenario $w (try --list)"
		t0=$(date +%s%N)
	res=$B/result-$w.txt
	if run_scenario "$w" "$to" >"$res" 2>&1; then r=PASS; else r=FAIL; fails=$((fails + 1)); fi
	out=$(cat "$res")
	t1=$(date +%s%N)
	secs=$(printf '%d.%01d' $(((t1 - t0) / 1000000000)) $(((t1 - t0) / 100000000 % 10)))
	[[ $r == PASS ]] || echo "$out"
	note=$(grep -a '^XTNOTE ' <<<"$out" | tail -n 1 | sed 's/^XTNOTE //' || true)
	line=$(printf '%s %-11s %6ss  %s' "$r" "$w" "$secs" "$note")
	echo "$line"
	summary+=("$line")
	[[ ${XT_KEEP:-0} == 1 ]] || rm -f "$B/disk-$w.img"
done
echo "== tests/xen: ${#want[@]} scenario(s), $fails failed"
for l in "${summary[@]}"; do echo "   $l"; done
((fails == 0))
