#!/usr/bin/env bash
# make demo: a live 3-host pool on this machine (hasvc-lab), and what it does
# when things break.
#
# Each simulated host is a network namespace with its own corosync, hasvc-simhv
# (the hypervisor, with a watchdog) and hasvcd; a dozen VMs carry mixed HA
# policies.  The demo then:
#   1. shows the pool: one elected master, every host in sync;
#   2. writes through a member (the CLI follows HOST_IS_SLAVE to the master)
#      and reads the change back from every host's own copy at once;
#   3. kills the master's hasvcd with SIGKILL: a new master takes writes
#      within a fraction of a second; the old one comes back and catches up,
#      and its host is not fenced (the watchdog keeper pets on for it);
#   4. isolates the master's host on the network: the majority elects a new
#      master and keeps writing, the cut-off host loses the HA arbitration and
#      fences itself; healing and booting it makes the pool one again with
#      identical databases, and the master admits the fenced host back into
#      the HA liveset (with its HA_HOST_WAS_FENCED alert);
#   5. freezes a member's hasvcd (SIGSTOP): the master stops waiting for it,
#      and the host's hypervisor watchdog, no longer petted, resets it; the
#      host is booted again and rejoins the pool;
#   6. audits the ledger of every domain start/stop: no VM ever ran twice.
# Everything is taken down at the end (hasvc-lab down), also on failure or
# Ctrl-C.  Set DEMO_DIR to choose the lab's directory and keep it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${BINDIR:-bin}")
export HASVC_BIN=$BIN HASVC_LAB_DIR=${DEMO_DIR:-$(mktemp -d /tmp/hasvc-demo.XXXXXX)/lab}

if [[ $(id -u) -ne 0 ]]; then
	echo "demo: run as root (it creates network namespaces)" >&2
	exit 1
fi

lab() { "$BIN/hasvc-lab" "$@"; }
cleanup() {
	lab down >/dev/null 2>&1 || true
	[[ -n ${DEMO_DIR:-} ]] || rm -rf "$(dirname "$HASVC_LAB_DIR")"
}
trap cleanup EXIT

t0=${EPOCHREALTIME/./}
say() { printf '\n\033[1m[%6.1fs] %s\033[0m\n' "$(((${EPOCHREALTIME/./} - t0) / 100000))e-1" "$*"; }
wait_for() { # seconds, description, command...
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	echo "demo: timed out waiting for $what" >&2
	exit 1
}
cs() { lab exec "$1" hasvc cluster-status --json; }
hosts() { lab creds --json | jq -r '.hosts | keys[]' | sort -V; }
show() { # one line per host: phase, role, position, checksum
	local h s
	for h in $(hosts); do
		s=$(cs "$h" 2>/dev/null) || { printf '  %-6s (not answering)\n' "$h"; continue; }
		jq -r --arg h "$h" '"  \($h)  \(.phase)\t\(if .is_master then (if .writable then "MASTER (writable)" else "master (not writable)" end) else "member" end)\tterm \(.term) seq \(.seq)  checksum \(.checksum[0:12])  quorate \(.quorate)"' <<<"$s"
	done
}
master() {
	local h
	for h in $(hosts); do
		[[ $(cs "$h" 2>/dev/null | jq -r '.is_master and .writable') == true ]] && { echo "$h"; return 0; }
	done
	return 1
}
ready() { # every named host ready under one writable master
	local h n=0 m=""
	for h in "$@"; do
		s=$(cs "$h") || return 1
		[[ $(jq -r .phase <<<"$s") == ready ]] || return 1
		[[ -z $m || $m == $(jq -r .master_uuid <<<"$s") ]] || return 1
		m=$(jq -r .master_uuid <<<"$s")
		[[ $(jq -r .writable <<<"$s") == true ]] && n=$((n + 1))
	done
	((n == 1))
}
others() { local h; for h in $(hosts); do [[ $h == "$1" ]] || echo "$h"; done; }

say "Starting a pool of 3 simulated hosts (namespaces, corosync, hasvc-simhv, hasvcd), 12 VMs"
lab up --hosts 3 --vms 12 --timeout 10
show
lab exec host1 hasvc vm-list params=name-label,power-state,ha-restart-priority,order --json |
	jq -r '.[] | "  \(.["name-label"])\t\(.["power-state"])\tHA: \(if .["ha-restart-priority"] == "" then "unprotected" else .["ha-restart-priority"] end), order \(.order)"' 

m=$(master)
member=$(others "$m" | head -1)
say "1. One master ($m). A write through $member -- the CLI follows HOST_IS_SLAVE to the master --"
lab exec "$member" hasvc pool-param-set name-description="written via $member"
say "   ... is already in every host's own copy when the client hears 'done':"
for h in $(hosts); do
	printf '  %s: %s\n' "$h" "$(lab exec "$h" hasvc --local pool-param-get param-name=name-description)"
done

say "2. kill -9 of the master's hasvcd on $m"
start=${EPOCHREALTIME/./}
lab kill "$m" hasvcd
# shellcheck disable=SC2046
wait_for 10 "a new master" ready $(others "$m")
new=$(master)
say "   $new is master and takes writes $(((${EPOCHREALTIME/./} - start) / 1000)) ms after the kill (as seen by this script)"
lab exec "$new" hasvc pool-param-set name-description="written while $m was down"
lab start "$m" hasvcd
# shellcheck disable=SC2046
wait_for 30 "$m back" ready $(hosts)
say "   $m's hasvcd is back, took the master's snapshot, and the master stayed $new:"
show

m=$(master)
say "3. $m (the master) is cut off the network (nftables in the namespaces)"
lab isolate "$m"
# shellcheck disable=SC2046
wait_for 20 "a master in the majority" ready $(others "$m")
show
new=$(master)
lab exec "$new" hasvc pool-param-set name-description="written by the majority"
if lab exec "$m" hasvc --local pool-param-set name-description="minority" >/dev/null 2>&1; then
	echo "demo: the cut-off host accepted a write" >&2
	exit 1
fi
say "   the majority writes through $new; the cut-off $m refuses writes, loses the HA"
say "   arbitration and fences itself -- its host resets:"
wait_for 20 "$m fenced" grep -q 'RESET' "$HASVC_LAB_DIR/$m/simhv.log"
grep -h 'RESET' "$HASVC_LAB_DIR/$m/simhv.log" | tail -1 | sed 's/^.*simhv\.c:[0-9]* //; s/^/  /'
say "   Healing, and booting $m:"
lab heal
lab boot "$m"
# shellcheck disable=SC2046
wait_for 40 "the pool whole again" ready $(hosts)
show
say "   $m booted out of the HA liveset; it says why it was reset, and the master admits it again:"
lab exec "$new" hasvc message-list params=all --json |
	jq -r '.[] | select(.name == "HA_HOST_WAS_FENCED") | "  \(.name): \(.body)"' | tail -1
admitted() { [[ $(cs "$1" 2>/dev/null | jq -r '.liveness | "\(.state) \(.live | length)"') == "steady 3" ]]; }
wait_for 30 "$m admitted to the HA liveset" admitted "$m"
grep -h 'is admitted to the liveset again' "$HASVC_LAB_DIR/$m/hasvcd.log" | tail -1 |
	sed 's/^.*liveness: /  /'

m=$(master)
victim=$(others "$m" | tail -1)
pid=$(awk -v h="${victim#host}" '$2 == "hasvcd" && $3 == h {p = $1} END {print p}' "$HASVC_LAB_DIR/pids")
say "4. $victim's hasvcd hangs (SIGSTOP): the master expels it after 3 s and goes on writing ..."
kill -STOP "$pid"
sleep 4
lab exec "$m" hasvc pool-param-set name-description="written while $victim hangs"
say "   ... and $victim's hypervisor watchdog, no longer petted, resets the host:"
wait_for 30 "$victim reset" grep -q 'watchdog not petted' "$HASVC_LAB_DIR/$victim/simhv.log"
grep -h -e 'watchdog not petted' -e 'RESET' "$HASVC_LAB_DIR/$victim/simhv.log" | tail -2 |
	sed 's/^.*simhv\.c:[0-9]* //; s/^/  /'
lab boot "$victim"
# shellcheck disable=SC2046
wait_for 40 "$victim back" ready $(hosts)
say "   $victim is booted again and back in the pool:"
show

say "5. The ledger of every domain start and stop, across all hosts:"
lab check
say "Done. Taking the lab down."
