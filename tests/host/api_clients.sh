#!/usr/bin/env bash
# Real third-party XAPI clients against a live hasvcd:
#  - Xen Orchestra's npm xen-api (installed from tests/clients/package-lock.json),
#    over JSON-RPC and, forced, over XML-RPC: its whole connect sequence, hosts
#    and VMs listed, a priority set with call() and seen through its own
#    event.from loop, a barrier, a clean disconnect;
#  - Python's standard xmlrpc.client over TLS.
. "$(dirname "$0")/common.bash"
HOST=7a1f0c2e-5b3d-4e8f-9a6b-0c1d2e3f4a5b
CLIENTS=$HASVC_TOP/tests/clients

command -v node >/dev/null || die "node is not installed (make deps installs it)"
if [[ ! -d $CLIENTS/node_modules/xen-api ]]; then
	(cd "$CLIENTS" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
fi

start_simhv h1
write_conf $HOST h1 10s
db init name-label=client-pool >/dev/null
db host-add uuid=$HOST name-label=h1 address=127.0.0.1 memory-total=16GiB >/dev/null
db vm-add name-label=xo-target memory-static-max=1GiB resident-on=$HOST power-state=Running >/dev/null
db vm-add name-label=py-target memory-static-max=1GiB >/dev/null
db vm-add name-label=other memory-static-max=2GiB ha-restart-priority=restart ha-always-run=true >/dev/null
start_hasvcd
wait_api

for transport in json-rpc xml-rpc; do
	timeout 90 node "$CLIENTS/xo.mjs" "$API_URL" root "$ROOT_PW" $transport xo-target ||
		die "xen-api over $transport failed"
done
timeout 60 python3 "$CLIENTS/xmlrpc_client.py" "$API_URL" root "$ROOT_PW" py-target ||
	die "python xmlrpc.client failed"

# The daemon is still up and the changes are in its database.
kill -0 "$hasvcd_pid" || die "hasvcd died"
db vm-list | grep -A12 'name-label: py-target' | grep -q 'ha-restart-priority: best-effort' ||
	die "python's change is not in the database"
