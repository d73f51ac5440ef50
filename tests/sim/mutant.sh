#!/usr/bin/env bash
# The engine needs its stable-PING rule (docs/protocol.md, "Dead before
# restart", assumption (S)), and the simulator can show it
# (docs/simulator.md, "Mutation check").  Builds a second simulator whose
# engine is compiled with -DLV_MUTATE_SELF_FRESH (heartbeat/liveness.c: my
# own PING makes my ring fresh as soon as it is delivered to me, no
# acknowledgements) and requires that
#   - stall_token_replay.scn breaks I2 with it (the real engine passes it:
#     scenarios.sh),
#   - a bounded search of random schedules (agreed CPG delivery, corosync
#     stalls) finds a schedule that breaks a safety invariant (I1..I4), and
#     the real engine runs that schedule without a violation;
#   - the failover executor fed a host as dead when it leaves the liveset
#     (not when the engine announces it certainly dead: `--mutant
#     early-dead`) restarts VMs their host still runs: a bounded search
#     finds a schedule where I1/I2 catch it, and the real wiring runs that
#     schedule without a violation;
#   - targets that ignore incarnations (`--mutant no-incarnation`: the old
#     core, which restarted the VMs recorded on its host itself) break I1/I2
#     in failover_rejoin.scn, which the real model runs clean.
# Needs BINDIR; BUILD (tests/run.sh sets it; default build/release) holds
# the engine's archives, linked as they are with the mutant object first.
set -u
: "${BINDIR:?}"
top=${HASVC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1
sim=$(realpath "$BINDIR")/hasvc-sim
build=$(realpath "${BUILD:-build/release}")
[[ -x $sim ]] || { echo "no $sim"; exit 1; }
archives=()
for l in hasvc heartbeat fencing placement api lab lib; do
	[[ -f $build/lib$l.a ]] && archives+=("$build/lib$l.a")
done
for a in libhasvc.a libheartbeat.a liblib.a; do
	[[ -f $build/$a ]] || { echo "no $build/$a (build the variant first: make)"; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The variant's instrumentation, as the Makefile adds it.
flags=(-std=gnu11 -O2 -g -fno-strict-aliasing -pthread -I. -D_GNU_SOURCE)
case $(basename "$build") in *asan*) flags+=(-fsanitize=address -fno-omit-frame-pointer) ;; esac
case $(basename "$build") in
*ubsan*) flags+=(-fsanitize=undefined -fno-sanitize-recover=undefined) ;;
esac
case $(basename "$build") in *faults*) flags+=(-DHASVC_FAULTS) ;; esac
[[ $(basename "$build") != release ]] && flags+=(-DHASVC_TESTING)
mutant=$tmp/hasvc-sim-mutant
if ! cc "${flags[@]}" -DLV_MUTATE_SELF_FRESH -c heartbeat/liveness.c -o "$tmp/liveness.o" ||
	! cc "${flags[@]}" -o "$mutant" tests/sim/*.c "$tmp/liveness.o" "${archives[@]}" \
		$(make -s -p -n 2>/dev/null | sed -n 's/^LDLIBS := //p' | head -n 1); then
	echo "FAIL: cannot build the mutant simulator"
	exit 1
fi
fail=0

# 1. The scenario: the mutant survives on self-delivered PINGs, h0 restarts
# h2's VMs while h2 runs them.
out=$("$mutant" tests/sim/scenarios/stall_token_replay.scn 2>&1)
rc=$?
want='VIOLATION vm4 restarted on h0 while h2, where it runs, is alive'
if ((rc != 1)) || ! grep -q "$want" <<<"$out"; then
	echo "FAIL: the mutant passes stall_token_replay.scn (rc=$rc):"
	grep -E 'SURVIVE|FENCE|VIOLATION|resumes|end:' <<<"$out" | sed 's/^/    /'
	fail=1
else
	echo "ok   mutant breaks stall_token_replay.scn:"
	grep -E 'resumes|VIOLATION' <<<"$out" | sed 's/^/    /'
fi

# 2. A bounded search: the first random schedule (agreed CPG) that breaks
# a safety invariant with the mutant; the real engine must survive it.
n=${MUTANT_SEEDS:-20000}
out=$("$mutant" --seeds "$n" --until-unsafe 2>&1)
rc=$?
seed=$(sed -n 's/^UNSAFE seed \([0-9]*\) .*/\1/p' <<<"$out")
if ((rc != 1)) || [[ -z $seed ]]; then
	echo "FAIL: no schedule of $n broke a safety invariant with the mutant (rc=$rc)"
	tail -n 3 <<<"$out" | sed 's/^/    /'
	fail=1
else
	echo "ok   mutant: $(head -n 1 <<<"$out")"
	real=$("$sim" --seed "$seed" 2>&1)
	if [[ $real != *": 0 violation(s)"* ]]; then
		echo "FAIL: the real engine breaks seed $seed too: $real"
		fail=1
	else
		echo "ok   real engine, $real"
	fi
	# Information: the same schedule with safe delivery (the old model).
	echo "     mutant with safe CPG delivery, $("$mutant" --seed "$seed" --cpg safe 2>&1)"
fi

# 3. The executor's input: a host lost from the liveset taken for dead.
out=$("$sim" --seeds "${MUTANT_FO_SEEDS:-3000}" --until-unsafe --mutant early-dead 2>&1)
rc=$?
seed=$(sed -n 's/^UNSAFE seed \([0-9]*\) .*/\1/p' <<<"$out")
if ((rc != 1)) || [[ -z $seed ]] || ! grep -qE 'runs on two hosts|while h[0-9]+, where it runs, is alive' <<<"$out"; then
	echo "FAIL: the early-dead executor mutant broke no I1/I2 (rc=$rc)"
	tail -n 3 <<<"$out" | sed 's/^/    /'
	fail=1
else
	echo "ok   executor mutant early-dead: $(head -n 1 <<<"$out")"
	real=$("$sim" --seed "$seed" 2>&1)
	if [[ $real != *": 0 violation(s)"* ]]; then
		echo "FAIL: the real wiring breaks seed $seed too: $real"
		fail=1
	else
		echo "ok   real executor, $real"
	fi
fi

# 4. The targets without incarnations (the old core): a host rebooted and
# admitted before the master's late dead-host write lands restarts its VMs
# itself, and the write restarts them elsewhere too.  The real model runs
# failover_rejoin.scn clean (scenarios.sh).
out=$("$sim" --mutant no-incarnation tests/sim/scenarios/failover_rejoin.scn 2>&1)
rc=$?
if ((rc != 1)) || ! grep -qE 'VIOLATION (vm[0-9]+ runs on two hosts|vm[0-9]+ restarted on h[0-9]+ while h[0-9]+, where it runs, is alive)' <<<"$out"; then
	echo "FAIL: the no-incarnation mutant passes failover_rejoin.scn (rc=$rc)"
	grep -E 'claims|starts|VIOLATION|end:' <<<"$out" | sed 's/^/    /'
	fail=1
else
	echo "ok   target mutant no-incarnation breaks failover_rejoin.scn:"
	grep -E 'VIOLATION' <<<"$out" | sed 's/^/    /'
fi
exit $fail
