#!/usr/bin/env bash
# Figures of a clustered pool on real corosync (hasvc-lab, this machine):
#   - pool formation: `hasvc-lab up` until every host is in sync under one
#     writable master, for 3, 5 and 16 hosts;
#   - replicated write latency and throughput through the API (each write
#     acknowledged once durable on every counted host), 3 and 5 hosts,
#     beside the same client against a standalone host (baseline);
#   - master takeover: kill -9 of the master's hasvcd -> first write acked
#     by the new master (client side), median of 5.
# Needs root (namespaces); prints "skipped" otherwise.  Medians of RUNS.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BINDIR:?}"
BINDIR=$(realpath "$BINDIR")
RUNS=${RUNS:-5}
if [[ $(id -u) -ne 0 ]] || ! command -v corosync >/dev/null; then
	echo "skipped (needs root and corosync)"
	exit 0
fi
T=$(mktemp -d /tmp/hasvc-bench.XXXXXX)
export HASVC_LAB_DIR=$T/lab HASVC_BIN=$BINDIR
lab() { "$BINDIR/hasvc-lab" "$@"; }
trap 'lab down >/dev/null 2>&1 || true; rm -rf "$T"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ms() { echo $(((${EPOCHREALTIME/./} - $1) / 1000)); }

for n in 3 5 16; do
	runs=$RUNS; ((n == 16)) && runs=1
	for ((r = 0; r < runs; r++)); do
		s=${EPOCHREALTIME/./}
		lab up --hosts "$n" --vms "$n" >/dev/null
		ms "$s"
		if ((r == 0 && n <= 5)); then
			lab exec host1 python3 bench/cluster_client.py "$HASVC_LAB_DIR/creds.json" 300 >"$T/w$n"
		fi
		if ((r == 0 && n == 3)); then
			# Baseline: the same client against a standalone host (no replication).
			lab add-host >/dev/null
			lab exec host4 python3 bench/cluster_client.py "$HASVC_LAB_DIR/creds.json" 300 host4 \
				>"$T/w1"
		fi
		if ((r == 0 && n == 3)); then
			for ((k = 0; k < RUNS; k++)); do
				m=$(lab status --json | jq -r '.hosts[] | select(.master) | .name')
				other=host1; [[ $m == host1 ]] && other=host2
				lab exec "$other" python3 tests/cluster/failover_probe.py \
					"$HASVC_LAB_DIR/creds.json" "$m" "$BINDIR/hasvc-lab" kill "$m" hasvcd |
					sed -n 's/.*elapsed_ms=\([0-9]*\).*/\1/p' >>"$T/takeover"
				lab start "$m" hasvcd >/dev/null
				sleep 3
			done
		fi
		lab down >/dev/null
	done >"$T/up$n"
	printf 'pool formation, %2d hosts: %6s ms (median of %d; up to every host in sync)\n' \
		"$n" "$(median <"$T/up$n")" "$runs"
done
echo "writes, standalone host (baseline): $(cat "$T/w1")"
for n in 3 5; do
	echo "replicated writes, $n hosts:         $(cat "$T/w$n")"
done
echo "master takeover after kill -9 of its hasvcd: $(median <"$T/takeover") ms to the first acknowledged write (median of $RUNS; $(tr '\n' ' ' <"$T/takeover")ms)"
