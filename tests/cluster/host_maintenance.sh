#!/usr/bin/env bash
# Host maintenance in a pool (hasvc/api_host.c, the failover executor
# hasvc/failover.c, the intents carried out by hasvc/core.c; docs/api.md
# "Host maintenance and VM power"):
#   1. a 3-host pool with HA on and ha-host-failures-to-tolerate 1: disabling
#      a host (not the master) is allowed, since the plan survives;
#   2. host-evacuate moves every VM off it: each VM that ran there runs on
#      another host, none is resident on it or runs in its simhv, as many VMs
#      run in the pool as before, and the ledger shows no VM on two hosts at
#      once (`hasvc-lab check`); host-enable puts it back;
#   3. a 2-host pool with ntol 1: host-disable is refused with
#      HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN and the host stays enabled;
#   4. with ntol 0 the same host-disable is allowed and host-evacuate moves
#      its VMs to the other host.
# Nobody is reset along the way.
source "$(dirname "$0")/common.bash"
need_fuse

# Every host steady in a liveset of n (so the master's executor is active).
steady_all() {
	local n=$1 h
	shift
	for h in "$@"; do
		[[ $(liv "$h" '.state') == steady && $(liv "$h" '.live | length') == "$n" ]] || return 1
	done
}
hv() { lab exec "$M" hasvc "$@"; }
host_uuid() { hv host-list name-label="$1" params=uuid --minimal; }
running_on() { hv vm-list resident-on="$1" power-state=Running --minimal | tr , ' '; }
running_count() { hv vm-list power-state=Running --minimal | tr , '\n' | grep -c . || true; }
simhv_running() { "$BINDIR/hasvc-simhv" ctl "$HASVC_LAB_DIR/$1/simhv.sock" list | grep -c running || true; }
# evacuated HOST UUID VM...: nothing resident on HOST, each VM Running elsewhere.
evacuated() {
	local h=$1 u=$2 vm r
	shift 2
	[[ -z $(hv vm-list resident-on="$u" --minimal) ]] || return 1
	[[ $(simhv_running "$h") == 0 ]] || return 1
	for vm in "$@"; do
		[[ $(hv vm-param-get uuid="$vm" param-name=power-state) == Running ]] || return 1
		r=$(hv vm-param-get uuid="$vm" param-name=resident-on)
		[[ $r =~ ^[0-9a-f-]{36}$ && $r != "$u" ]] || return 1
	done
}
# maintain HOST: disable, evacuate, wait until every VM it ran runs elsewhere.
maintain() {
	local h=$1 u vms before out
	u=$(host_uuid "$h")
	vms=$(running_on "$u")
	[[ -n $vms ]] || die "$h runs no VM to evacuate"
	before=$(running_count)
	hv host-disable host="$h" >/dev/null
	[[ $(hv host-param-get uuid="$u" param-name=enabled) == false ]] || die "$h still enabled"
	out=$(hv host-evacuate host="$h")
	grep -q "vm-list resident-on=$u" <<<"$out" || die "host-evacuate does not say how to watch: $out"
	# shellcheck disable=SC2086
	wait_for 90 "every VM of $h running on another host" evacuated "$h" "$u" $vms
	[[ $(running_count) == "$before" ]] || die "$before VMs ran before the evacuation, $(running_count) after"
	echo "$h evacuated: $(wc -w <<<"$vms") VMs moved, $before running in the pool"
}

echo "== 1: 3 hosts, ntol 1: disable allowed"
lab up --hosts 3 >/dev/null
H=(host1 host2 host3)
wait_for 60 "three ready hosts" all_ready "${H[@]}"
wait_for 60 "every host steady in a liveset of 3" steady_all 3 "${H[@]}"
M=$(master)
for T3 in "${H[@]}"; do [[ $T3 != "$M" ]] && break; done
hv pool-param-set ha-host-failures-to-tolerate=1
plan_for_1() { (($(hv pool-param-get param-name=ha-plan-exists-for) >= 1)); }
wait_for 30 "a plan for 1 failure" plan_for_1

echo "== 2: evacuate $T3, then enable it"
maintain "$T3"
lab check || die "the ledger shows a VM on two hosts at once"
hv host-enable host="$T3" >/dev/null
[[ $(hv host-param-get uuid="$(host_uuid "$T3")" param-name=enabled) == true ]] || die "$T3 not enabled again"
no_resets "${H[@]}"
lab down >/dev/null

echo "== 3: 2 hosts, ntol 1: disable refused"
lab up --hosts 2 >/dev/null
H=(host1 host2)
wait_for 60 "two ready hosts" all_ready "${H[@]}"
wait_for 60 "both hosts steady in a liveset of 2" steady_all 2 "${H[@]}"
M=$(master)
for T2 in "${H[@]}"; do [[ $T2 != "$M" ]] && break; done
U2=$(host_uuid "$T2")
hv pool-param-set ha-host-failures-to-tolerate=1
out=$(hv host-disable host="$T2" 2>&1) && die "host-disable of $T2 with ntol 1 succeeded: $out"
[[ $out == *HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN* ]] || die "host-disable with ntol 1: $out"
[[ $(hv host-param-get uuid="$U2" param-name=enabled) == true ]] || die "a refused host-disable disabled $T2"
echo "refused: $(tr '\n' ' ' <<<"$out")"

echo "== 4: 2 hosts, ntol 0: disable and evacuate"
hv pool-param-set ha-host-failures-to-tolerate=0
maintain "$T2"
lab check || die "the ledger shows a VM on two hosts at once"
hv host-enable host="$T2" >/dev/null
no_resets "${H[@]}"
echo "host_maintenance: ok"
