#!/usr/bin/env bash
# 2,000 random fault schedules in the simulator (docs/simulator.md), with
# agreed CPG delivery and corosync stalls: every invariant after every
# event; a failure prints its seed and how to replay it.  Replays one seed
# twice to check that a run is deterministic.
# Needs BINDIR (tests/run.sh sets it).
set -u
: "${BINDIR:?}"
sim=$BINDIR/hasvc-sim
[[ -x $sim ]] || { echo "no $sim"; exit 1; }
"$sim" --seeds "${SIM_SEEDS:-2000}" --quiet || exit 1
a=$("$sim" --seed 7 --trace | md5sum)
b=$("$sim" --seed 7 --trace | md5sum)
[[ $a == "$b" ]] || { echo "FAIL: seed 7 does not replay identically"; exit 1; }
echo "seed 7 replays identically"
