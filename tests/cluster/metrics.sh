#!/usr/bin/env bash
# GET /metrics on a 3-host lab pool (hasvc/metrics.h, docs/metrics.md): the
# figures follow the pool's state.
#   1. the pool settles: every host's /metrics parses (prometheus_client's
#      parser plus the stricter checks of tests/host/metrics.sh), says HA runs,
#      the liveset has 3 hosts, exactly one host says it is the HA master and
#      every host names that one; the statefile histograms count I/O;
#   2. the master is powered off: on both survivors the liveset drops to 2,
#      a new master is named (the same on both), the HA_HOST_FAILED count
#      rises, and the statefile I/O keeps being counted.
#   When the engine's per-peer timers are exported (hasvc_peer_*): the dead
#   master is not live, its network heartbeat age grows, its slot goes stale;
#   the other survivor stays live, heard from within S, its slot fresh.
source "$(dirname "$0")/common.bash"
[[ -e /dev/fuse ]] || { echo "no /dev/fuse"; exit 77; }
command -v fusermount3 >/dev/null || { echo "fusermount3 is not installed (make deps)"; exit 77; }
PY=/usr/bin/python3
[[ -x $PY ]] && $PY -c 'import prometheus_client' 2>/dev/null ||
	{ echo "python3-prometheus-client is missing (make deps)"; exit 77; }

# check_metrics FILE: prometheus_client's parser plus the format's rules it
# does not enforce (tests/clients/prom_check.py).
PROM_CHECK=$(cd "$(dirname "$0")/../clients" && pwd)/prom_check.py
check_metrics() { $PY "$PROM_CHECK" "$1"; }

lab up --hosts 3 --vms 3 >/dev/null
wait_for 60 "three ready hosts" all_ready host1 host2 host3
PW=$(lab creds --json | jq -r .password)
url() { lab creds --json | jq -r --arg h "$1" '.hosts[$h]'; }

# scrape HOST: HOST's /metrics into $T/HOST.prom (the curl runs in its namespace).
scrape() {
	lab exec "$1" curl -ksf --max-time 10 -u "root:$PW" "$(url "$1")metrics" >"$T/$1.prom.new" &&
		mv "$T/$1.prom.new" "$T/$1.prom"
}
val() { awk -v s="$2" '$1 == s {print $2; f=1} END {exit !f}' "$T/$1.prom"; }
master_of() { sed -n 's/^hasvc_ha_master_info{master_uuid="\([^"]*\)"} 1$/\1/p' "$T/$1.prom"; }
uuid_of() { sed -n 's/^hasvc_info{host_uuid="\([^"]*\)"} 1$/\1/p' "$T/$1.prom"; }
# live_is N HOST...: every host's /metrics says HA runs with a liveset of N.
live_is() {
	local n=$1 h
	shift
	for h in "$@"; do
		scrape "$h" || return 1
		[[ $(val "$h" hasvc_ha_running) == 1 && $(val "$h" hasvc_liveset_size) == "$n" ]] || return 1
		[[ $(val "$h" 'hasvc_liveness_state{state="steady"}') == 1 ]] || return 1
	done
}

echo "== 1: settled: liveset 3, one master"
wait_for 60 "every host's /metrics with a liveset of 3" live_is 3 host1 host2 host3
nmaster=0 master="" mhost=""
for h in host1 host2 host3; do
	echo "$h: $(check_metrics "$T/$h.prom")"
	m=$(master_of "$h")
	[[ -n $m ]] || die "$h names no master"
	[[ -z $master || $master == "$m" ]] || die "$h names master $m, another host $master"
	master=$m
	if [[ $(val "$h" hasvc_ha_master) == 1 ]]; then
		nmaster=$((nmaster + 1)) mhost=$h
		[[ $(uuid_of "$h") == "$m" ]] || die "$h says it is master but names $m"
	fi
	(($(val "$h" hasvc_statefile_read_duration_seconds_count) > 0)) || die "$h: no statefile reads timed"
	(($(val "$h" hasvc_statefile_write_duration_seconds_count) > 0)) || die "$h: no statefile writes timed"
	[[ $(val "$h" hasvc_pool_ha_enabled) == 1 ]] || die "$h: pool HA not enabled?"
done
((nmaster == 1)) || die "$nmaster hosts say they are the HA master"
failed0=$(val host1 'hasvc_pool_messages{name="HA_HOST_FAILED"}')
echo "master: $mhost ($master); HA_HOST_FAILED messages: $failed0"

echo "== 2: power off the master $mhost"
survivors=()
for h in host1 host2 host3; do [[ $h == "$mhost" ]] || survivors+=("$h"); done
a=${survivors[0]} b=${survivors[1]}
reads0=$(val "$a" hasvc_statefile_read_duration_seconds_count)
lab poweroff "$mhost" >/dev/null
wait_for 90 "a liveset of 2 on $a and $b" live_is 2 "$a" "$b"
new_master() {
	scrape "$a" && scrape "$b" || return 1
	local ma mb
	ma=$(master_of "$a") mb=$(master_of "$b")
	[[ -n $ma && $ma == "$mb" && $ma != "$master" ]] || return 1
	(($(val "$a" hasvc_ha_master) + $(val "$b" hasvc_ha_master) == 1))
}
wait_for 30 "a new master named by both survivors" new_master
echo "new master: $(master_of "$a")"
failed_more() {
	scrape "$a" || return 1
	(($(val "$a" 'hasvc_pool_messages{name="HA_HOST_FAILED"}') > failed0))
}
wait_for 60 "the HA_HOST_FAILED count to rise" failed_more
for h in "$a" "$b"; do echo "$h: $(check_metrics "$T/$h.prom")"; done
(($(val "$a" hasvc_statefile_read_duration_seconds_count) > reads0)) || die "$a: statefile reads no longer counted"
dead=$master other_uuid=$(uuid_of "$b")
age() { val "$1" "hasvc_peer_heartbeat_age_seconds{peer=\"$2\",path=\"$3\"}"; }
fgt() { $PY -c "import sys; sys.exit(0 if float('$1') > float('$2') else 1)"; }
age "$a" "$dead" network >/dev/null 2>&1 || die "$a: no per-peer heartbeat age for the dead master"
{
	[[ $(val "$a" "hasvc_peer_live{peer=\"$dead\"}") == 0 ]] || die "$a: the dead master is still live"
	[[ $(val "$a" "hasvc_peer_live{peer=\"$other_uuid\"}") == 1 ]] || die "$a: $b is not live"
	fresh=$(val "$a" 'hasvc_timeout_seconds{timeout="fresh"}')
	age1=$(age "$a" "$dead" network)
	sleep 1.5
	scrape "$a" || die "scrape $a"
	age2=$(age "$a" "$dead" network)
	fgt "$age2" "$age1" || die "$a: the dead master's network age does not grow: $age1 -> $age2"
	fgt "$fresh" "$(age "$a" "$other_uuid" network)" ||
		die "$a: $b's network age $(age "$a" "$other_uuid" network) is past S $fresh"
	echo "$a: dead master's network heartbeat age $age1 -> $age2 s; $b's $(age "$a" "$other_uuid" network) s"
	stale_gone() {
		scrape "$a" || return 1
		fgt 0 "$(val "$a" "hasvc_peer_statefile_stale_margin_seconds{peer=\"$dead\"}")"
	}
	wait_for 60 "the dead master's slot stale on $a (margin < 0)" stale_gone
	fgt "$(val "$a" "hasvc_peer_statefile_stale_margin_seconds{peer=\"$other_uuid\"}")" 0 ||
		die "$a: $b's slot is stale"
	echo "$a: dead master's statefile stale margin $(val "$a" "hasvc_peer_statefile_stale_margin_seconds{peer=\"$dead\"}") s"
}
lab check
echo "PASS"
