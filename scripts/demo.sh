#!/usr/bin/env bash
# make demo: a live 3-host pool on this machine (hasvc-lab), one host lost,
# and its VMs restarted elsewhere -- in under two minutes.
#
# Each simulated host is a network namespace with its own corosync,
# hasvc-simhv (the hypervisor, with a watchdog), hasvc-wdkeeper and hasvcd;
# a dozen VMs carry mixed HA policies (protected in three restart orders,
# best-effort, unprotected).  The demo:
#   1. shows the pool: the hosts, the master, and every VM with its HA
#      policy and where it runs;
#   2. powers off the host that runs the most protected VMs, and shows live,
#      in seconds after the power-off, what the pool does: the survivors
#      decide the host is certainly dead (safe: it can no longer write), the
#      master restarts its protected VMs order group by order group (a start
#      delay after the first groups makes the order visible), then the
#      best-effort ones; every domain created and running, from the
#      hypervisors' ledger;
#   3. shows the pool again, audits the ledger (no VM ever ran on two hosts
#      at once) and prints "power-off -> last protected VM running: X.X s";
#   4. if time allows (the whole demo stays under two minutes): boots the
#      host again (it rejoins the pool); kills the master's hasvcd with
#      SIGKILL (a new master within a second, no fence: the watchdog keeper
#      pets on, and the old daemon comes back); isolates the host that now
#      runs the most protected VMs on the network (it loses the HA
#      arbitration and fences itself, and its VMs restart elsewhere, shown
#      live).
# Everything is taken down at the end (hasvc-lab down), also on failure or
# Ctrl-C.  Set DEMO_DIR to choose the lab's directory and keep it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath -m "${BINDIR:-bin}")
TL=$PWD/bench/failover_timeline.py

if [[ $(id -u) -ne 0 ]]; then
	echo "demo: run as root (it creates network namespaces)" >&2
	exit 1
fi
# make demo installs the packages (scripts/deps.sh) and builds first; run
# alone, build what is missing.
for b in hasvcd hasvc hasvc-lab hasvc-simhv hasvc-db hasvc-sffuse hasvc-wdkeeper hasvc-statefile; do
	if [[ ! -x $BIN/$b ]]; then
		echo "demo: $BIN/$b missing: building (make)"
		make --no-print-directory all >/dev/null
		break
	fi
done
for t in corosync jq python3 nft fusermount3; do
	command -v "$t" >/dev/null || { echo "demo: $t is not installed (run: make deps)" >&2; exit 1; }
done

W=$(mktemp -d /tmp/hasvc-demo.XXXXXX)
export HASVC_BIN=$BIN HASVC_LAB_DIR=${DEMO_DIR:-$W/lab}
FOLLOW=""
lab() { "$BIN/hasvc-lab" "$@"; }
cleanup() {
	if [[ -n $FOLLOW ]]; then kill "$FOLLOW" 2>/dev/null || true; wait "$FOLLOW" 2>/dev/null || true; fi
	lab down >/dev/null 2>&1 || lab down >&2 || true
	if grep -qF " $W/" /proc/self/mountinfo; then
		echo "demo: mounts left under $W; not removed" >&2
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=${EPOCHREALTIME/./}
elapsed() { echo $(((${EPOCHREALTIME/./} - t0) / 1000000)); }
say() { printf '\n\033[1m[%6.1fs] %s\033[0m\n' "$(((${EPOCHREALTIME/./} - t0) / 100000))e-1" "$*"; }
cs() { lab exec "$1" hasvc cluster-status --json; }
hosts() { lab creds --json | jq -r '.hosts | keys[]' | sort -V; }
show_hosts() {
	local h s
	for h in $(hosts); do
		s=$(cs "$h" 2>/dev/null) || { printf '  %-6s powered off / not answering\n' "$h"; continue; }
		jq -r --arg h "$h" '"  \($h)  \(if .is_master and .writable then "MASTER" else "member" end)  \(.phase), HA liveness \(.liveness.state // "-") with \(.liveness.live // [] | length) live hosts"' <<<"$s"
	done
}
ready() { # every named host ready under one writable master
	local h n=0 m="" s
	for h in "$@"; do
		s=$(cs "$h") || return 1
		[[ $(jq -r .phase <<<"$s") == ready ]] || return 1
		[[ -z $m || $m == $(jq -r .master_uuid <<<"$s") ]] || return 1
		m=$(jq -r .master_uuid <<<"$s")
		[[ $(jq -r .writable <<<"$s") == true ]] && n=$((n + 1))
	done
	((n == 1))
}
master_host() { # the host that says it is the writable master
	local h
	for h in $(hosts); do
		[[ $(cs "$h" 2>/dev/null | jq -r '.is_master and .writable') == true ]] && { echo "$h"; return 0; }
	done
	return 1
}
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

say "Starting a pool of 3 simulated hosts (namespaces with corosync, hasvc-simhv, hasvcd) and 12 VMs"
lab up --hosts 3 --vms 12 --timeout 10 --start-delay 3 --boot-ms 500 | sed 's/^/  /'
steady() { # HA liveness steady on every host, all 3 live
	local h
	for h in $(hosts); do
		[[ $(cs "$h" | jq -r '"\(.liveness.state) \(.liveness.live | length)"') == "steady 3" ]] || return 1
	done
}
wait_for 30 "HA liveness steady on every host" steady
wait_for 30 "every protected VM running" lab wait-failover --timeout 1
show_hosts
echo
lab status --vms | sed 's/^/  /'
cat <<'EOF'

  HA: protected = restarted after a host failure, always (ha-restart-priority restart,
      always-run); best-effort = restarted if room remains; unprotected = never.
  ORDER: protected VMs restart by order group, 0 first; DELAY: the wait after the
      group before the next group starts.  ON: the host the VM runs on.
EOF

# The victim: the host running the most protected VMs (a member on a tie).
m=$(lab status --json | jq -r '.hosts[] | select(.master) | .name' | head -n 1)
victim=$(lab status --vms | awk -v m="$m" '$2 == "protected" && $7 ~ /^host/ { n[$7]++ }
	END { for (h in n) print n[h], (h == m ? 0 : 1), h }' | sort -k1,1nr -k2,2nr | head -n 1 | awk '{print $3}')
[[ -n $victim ]] || { echo "demo: no host runs a protected VM" >&2; exit 1; }
nprot=$(lab status --vms | awk -v v="$victim" '$2 == "protected" && $7 == v' | wc -l)
"$BIN/hasvc-db" -d "$HASVC_LAB_DIR/${m:-host1}/data/pool.db" vm-list >"$W/vms"
awk '$1 == "uuid:" { u = $2 } $1 == "ha-restart-priority:" { p = $2 }
	$1 == "ha-always-run:" && p == "restart" && $2 == "true" { print u }' "$W/vms" >"$W/protected"

say "Powering off $victim ($nprot protected VMs on it; the master is $m). Live, in seconds after the power-off:"
python3 "$TL" follow "$W/t0" "$HASVC_LAB_DIR" "$W/vms" &
FOLLOW=$!
sleep 0.3
python3 "$TL" stamp "$W/t0" "$BIN/hasvc-lab" poweroff "$victim" >/dev/null
lab wait-failover --timeout 60 >/dev/null || { lab wait-failover --timeout 1 || true; exit 1; }
sleep 0.5
kill "$FOLLOW" 2>/dev/null || true
wait "$FOLLOW" 2>/dev/null || true
FOLLOW=""

say "After the failover:"
show_hosts
echo
lab status --vms | sed 's/^/  /'

say "The ledger of every domain start and stop, across all hosts (no VM ever on two hosts at once):"
lab check | sed 's/^/  /'
: >"$W/stamped"
read -r _ first last _ _ _ < <(python3 "$TL" analyze "$HASVC_LAB_DIR/ledger" "$W/stamped" "$(cat "$W/t0")" \
	"${victim#host}" "$W/protected")
summary="power-off -> last protected VM running: $(awk -v l="$last" 'BEGIN { if (l == "-") print "-"; else printf "%.1f s", l / 1000 }')"
summary+=" (first restart at $(awk -v l="$first" 'BEGIN { if (l == "-") print "-"; else printf "%.1f s", l / 1000 }'); HA timeout 10 s, start delay 3 s after groups 0 and 1, boot 0.5 s)"

# The rejoin, if it fits in the two minutes.
if (($(elapsed) < 75)); then
	say "Booting $victim again: it rejoins the pool and the HA liveset"
	lab boot "$victim" | sed 's/^/  /'
	admitted() { [[ $(cs "$victim" 2>/dev/null | jq -r '.liveness | "\(.state) \(.live | length)"') == "steady 3" ]]; }
	# shellcheck disable=SC2046
	if wait_for 35 "$victim back" ready $(hosts) && wait_for 30 "$victim admitted" admitted; then
		show_hosts
	fi
fi

# The earlier demo's fault tour, each step only if the whole still fits in
# two minutes: a daemon crash (no fence), then a network isolation (a fence
# and a failover).
# shellcheck disable=SC2046
if (($(elapsed) < 60)) && ready $(hosts) 2>/dev/null; then
	m=$(master_host)
	say "A daemon crash is not a host failure: kill -9 of the master's hasvcd ($m)"
	n0=$(wc -l <"$HASVC_LAB_DIR/ledger")
	s0=${EPOCHREALTIME/./}
	lab kill "$m" hasvcd | sed 's/^/  /'
	# shellcheck disable=SC2046
	wait_for 15 "a new master" ready $(hosts | grep -vx "$m")
	say "   $(master_host) is master $(((${EPOCHREALTIME/./} - s0) / 1000)) ms later; $m's hasvcd starts again:"
	lab start "$m" hasvcd | sed 's/^/  /'
	# shellcheck disable=SC2046
	wait_for 30 "$m back" ready $(hosts)
	show_hosts
	echo "  ledger: $(($(wc -l <"$HASVC_LAB_DIR/ledger") - n0)) new lines: no VM stopped or restarted, no host reset (its watchdog keeper petted on)"
fi
if (($(elapsed) < 75)); then
	m=$(lab status --vms | awk '$2 == "protected" && $7 ~ /^host/ { n[$7]++ }
		END { for (h in n) print n[h], h }' | sort -k1,1nr | head -n 1 | awk '{print $2}')
	say "Network isolation of $m, which runs $(lab status --vms | awk -v h="$m" '$2 == "protected" && $7 == h' | wc -l) protected VMs now: it loses the HA arbitration and fences itself, and its VMs restart elsewhere; live:"
	python3 "$TL" follow "$W/t1" "$HASVC_LAB_DIR" "$W/vms" &
	FOLLOW=$!
	sleep 0.3
	python3 "$TL" stamp "$W/t1" "$BIN/hasvc-lab" isolate "$m" >/dev/null
	fenced() { "$BIN/hasvc-simhv" ctl "$HASVC_LAB_DIR/$m/simhv.sock" status 2>/dev/null | grep -q '^power: off'; }
	wait_for 30 "$m fenced" fenced
	lab wait-failover --timeout 40 >/dev/null || true
	sleep 0.5
	kill "$FOLLOW" 2>/dev/null || true
	wait "$FOLLOW" 2>/dev/null || true
	FOLLOW=""
	show_hosts
	echo
	lab status --vms | sed 's/^/  /'
	lab check | head -n 1 | sed 's/^/  /'
fi
say "$summary"
say "Done in $(elapsed) s. Taking the lab down."
