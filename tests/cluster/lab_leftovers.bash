# lab_leftovers DIR PIDFILE LABID TMP: print what a lab that `down` took
# down left behind, one line per kind, and return 1; nothing and 0 when it
# is clean.  DIR: the lab directory; PIDFILE: a copy of DIR/pids taken
# before `down`; LABID: the lab's id (namespaces hasvc-LABID-*); TMP: the
# test's temporary directory (no mount may be left under it).  Sourced by
# lab_updown.sh and lab_storage.sh; not a test itself.
lab_leftovers() {
	local dir=$1 pids=$2 labid=$3 tmp=$4 bad=0 ns m p i left
	[[ ! -e $dir ]] || { echo "$dir still exists"; bad=1; }
	ns=$(ip netns list | awk '{print $1}' | grep "^hasvc-$labid-" || true)
	[[ -z $ns ]] || { echo "namespaces left: $(tr '\n' ' ' <<<"$ns")"; bad=1; }
	m=$(awk -v d="$dir/" '$3 ~ /^fuse/ && index($2, d) == 1' /proc/mounts)
	[[ -z $m ]] || { echo "fuse mounts left under $dir: $m"; bad=1; }
	m=$(grep -E "$tmp|netns/hasvc-$labid-" /proc/mounts || true)
	[[ -z $m ]] || { echo "mounts left: $m"; bad=1; }
	# Killed processes may stay zombies until init reaps them: that is not
	# a leak (a zombie holds no file, socket or namespace).
	for ((i = 0; i < 50; i++)); do
		left=""
		while read -r p _; do
			[[ -d /proc/$p ]] || continue
			grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && continue
			left+=" $p"
		done <"$pids"
		[[ -z $left && -z $(pgrep -f "$dir/" || true) ]] && break
		sleep 0.1
	done
	[[ -z $left ]] || { echo "processes left:$left"; bad=1; }
	[[ -z $(pgrep -f "$dir/" || true) ]] || { echo "processes left: $(pgrep -af "$dir/")"; bad=1; }
	while read -r p _; do
		if find /dev/shm -maxdepth 1 -regextype egrep -regex "/dev/shm/qb-(.+-)?$p-.*" | grep -q .; then
			echo "/dev/shm files of pid $p left"
			bad=1
		fi
	done <"$pids"
	return $bad
}
