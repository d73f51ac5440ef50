# Shared by the lab benchmarks (bench/detect.sh, bench/failover.sh): a lab in
# a fresh temporary directory, taken down on exit (also on failure or ^C),
# a background log poller to stop, and the statistics they print.
# Source it after setting BINDIR; `NAME` names the benchmark in messages.
T=$(mktemp -d "/tmp/hasvc-$NAME.XXXXXX")
export HASVC_LAB_DIR=$T/lab HASVC_BIN=$BINDIR
L=$HASVC_LAB_DIR
lab() { "$BINDIR/hasvc-lab" "$@"; }
POLLER=""
stop_poller() {
	if [[ -n $POLLER ]] && kill -0 "$POLLER" 2>/dev/null; then
		kill "$POLLER" 2>/dev/null || true
		wait "$POLLER" 2>/dev/null || true
	fi
	POLLER=""
}
cleanup() {
	stop_poller
	lab down >/dev/null 2>&1 || lab down >&2 || true
	# Never rm -rf into a FUSE view that down could not detach.
	if grep -qF " $T/" /proc/self/mountinfo; then
		echo "$NAME: mounts left under $T; not removed" >&2
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

median() { sort -n | awk '{a[NR]=$1} END {if (!NR) print "-"; else print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
maxof() { sort -n | tail -n 1 | grep . || echo -; }
