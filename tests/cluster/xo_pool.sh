#!/usr/bin/env bash
# Xen Orchestra's own client (npm xen-api) against a clustered pool, pointed
# at a member: it follows HOST_IS_SLAVE to the master, as it does with xapi,
# and runs its whole sequence there -- objects, a replicated write through
# call(), the change arriving through its own event.from loop, a barrier --
# over both its transports.
source "$(dirname "$0")/common.bash"
CLIENTS=$(cd "$HERE/../clients" && pwd)
command -v node >/dev/null || { echo "node is not installed (make deps)"; exit 77; }
if [[ ! -d $CLIENTS/node_modules/xen-api ]]; then
	(cd "$CLIENTS" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
fi

lab up --hosts 3 --vms 3 >"$T/up.log" 2>&1 || { cat "$T/up.log"; die "lab up failed"; }
pw=$(jq -r .password "$HASVC_LAB_DIR/creds.json")
m=$(master)
member=host2; [[ $m == host2 ]] && member=host3
url=$(jq -r ".hosts.$member" "$HASVC_LAB_DIR/creds.json")
echo "pointing Xen Orchestra's client at $member ($url); the master is $m"
for transport in json-rpc xml-rpc; do
	lab exec "$member" timeout 90 node "$CLIENTS/xo.mjs" "$url" root "$pw" "$transport" vm01 ||
		die "xen-api ($transport) through $member failed"
done
wait_for 20 "identical databases" same_db host1 host2 host3
echo "PASS"
