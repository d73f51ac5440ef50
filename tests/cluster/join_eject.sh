#!/usr/bin/env bash
# Pool membership on a running 3-host pool: a new standalone host is refused
# with wrong credentials, members of a pool cannot join another, then it
# joins (pool-join), restarts as a member, receives the pool's database and
# catches up, and every host's corosync nodelist has it; a host is ejected
# (pool-eject): the others' corosync nodelist loses it, the ejected host
# restarts standalone, and the pool goes on writing with identical
# databases.  As in xapi, HA must be off for either (HA_IS_ENABLED).
source "$(dirname "$0")/common.bash"

lab up --hosts 3 --vms 6 >"$T/up.log" 2>&1 || { cat "$T/up.log"; die "lab up failed"; }
pw=$(jq -r .password "$HASVC_LAB_DIR/creds.json")
m=$(master)
maddr=$(cstatus "$m" | jq -r .master_address)
[[ -n $maddr ]] || die "no master address"

lab add-host >"$T/add.log" 2>&1 || { cat "$T/add.log"; die "add-host failed"; }
[[ $(cstatus host4 | jq -r .clustered) == false ]] || die "host4 is not standalone"

try() { # expect failure with code $1: command...
	local code=$1
	shift
	if "$@" >"$T/try.out" 2>&1; then die "'$*' succeeded"; fi
	grep -q "$code" "$T/try.out" || { cat "$T/try.out"; die "'$*' did not fail with $code"; }
	echo "refused as expected: $code"
}
try HA_IS_ENABLED lab exec host4 hasvc pool-join master-address="$maddr" master-username=root \
	master-password="$pw"
lab exec "$m" hasvc pool-ha-disable
lab exec "$m" hasvc pool-param-set name-description=before-the-join
try SESSION_AUTHENTICATION_FAILED lab exec host4 hasvc pool-join master-address="$maddr" \
	master-username=root master-password="wrong-$pw"
try JOINING_HOST_CONNECTION_FAILED lab exec host4 hasvc pool-join master-address=10.213.0.99 \
	master-username=root master-password="$pw"
other=host2; [[ $m == host2 ]] && other=host3
try HOST_IS_SLAVE lab exec "$other" hasvc --local pool-join master-address="$maddr" \
	master-username=root master-password="$pw"
try JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS lab exec "$m" hasvc pool-join \
	master-address=10.213.0.4 master-username=root master-password="$pw"

# The join: host4 restarts as a member; the lab starts its corosync.
lab exec host4 hasvc pool-join master-address="$maddr" master-username=root master-password="$pw"
wait_for 20 "host4's corosync.conf" test -s "$HASVC_LAB_DIR/host4/corosync/corosync.conf"
lab start host4 corosync >/dev/null
H=(host1 host2 host3 host4)
wait_for 40 "host4 in the pool and in sync" all_ready "${H[@]}"
[[ $(master) == "$m" ]] || die "the master changed when host4 joined"
wait_for 20 "identical databases" same_db "${H[@]}"
[[ $(local_get host4 name-description) == before-the-join ]] || die "host4 lacks the pool's data"
nodelist() { lab exec "$1" corosync-cmapctl -b nodelist.node | grep ring0_addr | sort; }
for h in "${H[@]}"; do
	nodelist "$h" | grep -q 10.213.0.4 || { nodelist "$h"; die "$h's corosync does not list host4"; }
done
lab exec host4 hasvc pool-param-set name-description=written-after-the-join
[[ $(local_get host4 name-description) == written-after-the-join ]] || die "host4 missed a write"
echo "host4 joined: $(same_db "${H[@]}")"

# Eject a member that is not the master.
victim=host3; [[ $m == host3 ]] && victim=host2
vuuid=$(cstatus "$victim" | jq -r .host_uuid)
vaddr=$(jq -r ".hosts.$victim" "$HASVC_LAB_DIR/creds.json" | sed 's|https://||; s|:.*||')
lab exec "$m" hasvc pool-eject host-uuid="$vuuid"
rest=()
for h in "${H[@]}"; do [[ $h == "$victim" ]] || rest+=("$h"); done
for h in "${rest[@]}"; do
	wait_for 20 "$h's corosync to drop $victim" bash -c "! lab_nodes=\$('$BINDIR/hasvc-lab' exec $h corosync-cmapctl -b nodelist.node | grep ring0_addr); ! grep -q '= $vaddr\$' <<<\"\$lab_nodes\""
done
wait_for 20 "$victim standalone" bash -c "'$BINDIR/hasvc-lab' exec $victim hasvc cluster-status --json | jq -e '.clustered == false'"
lab kill "$victim" corosync >/dev/null || true
wait_for 30 "the pool without $victim ready" all_ready "${rest[@]}"
lab exec "$m" hasvc pool-param-set name-description=after-the-eject
for h in "${rest[@]}"; do
	[[ $(local_get "$h" name-description) == after-the-eject ]] || die "$h missed a write"
done
[[ $(lab exec "$m" hasvc host-list --minimal | tr ',' '\n' | grep -c .) == 3 ]] ||
	die "the pool does not have 3 hosts after the eject"
echo "ejected $victim: $(same_db "${rest[@]}")"
echo "PASS"
