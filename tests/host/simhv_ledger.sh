#!/usr/bin/env bash
# The ledger audit (hasvc-simhv --check-ledger) on a real ledger written by two
# simulated hosts: VM X runs on host A, is stopped, then starts on host B —
# consistent (exit 0).  A forged line that starts X on A while it runs on B is
# an overlap (exit 1, naming the VM and both hosts); a garbage line is
# malformed (exit 2, naming its line number).
. "$(dirname "$0")/common.bash"
[[ -x $BINDIR/hasvc-simhv ]] || { echo "no $BINDIR/hasvc-simhv"; exit 77; }
X=0c0ffee0-0000-4000-8000-000000000001
Y=0c0ffee0-0000-4000-8000-000000000002

start_simhv A --boot-ms 20 --shutdown-ms 50
start_simhv B --boot-ms 20 --shutdown-ms 50
ctl A start $X 1024 >/dev/null
ctl B start $Y 512 >/dev/null
ctl A shutdown $X >/dev/null
wait_for 5 "X to stop on A" sh -c "! '$BINDIR/hasvc-simhv' ctl '$T/A.sock' list | grep -q $X"
ctl B start $X 1024 >/dev/null
ctl B destroy $Y >/dev/null
cat "$T/ledger"
# five starts and stops; a domain that finished booting also has its
# `running` line (how many depends on timing: --check-ledger checks them)
[[ $(grep -vc ' running$' "$T/ledger") -eq 5 ]] || die "expected 5 start/stop ledger lines"
grep -q " A $X stop shutdown" "$T/ledger" || die "no clean-shutdown stop of X on A"

"$BINDIR/hasvc-simhv" --check-ledger "$T/ledger" | tee "$T/check.out"
grep -q "host A: 1 starts, 1 stops" "$T/check.out" || die "summary for host A wrong"
grep -q "host B: 2 starts, 1 stops" "$T/check.out" || die "summary for host B wrong"

# Forge: host A starts X again while B runs it (timestamp just after B's start,
# appended at the end: the checker must sort).
bstart=$(awk -v x=$X '$2=="B" && $3==x && $4=="start" {print $1}' "$T/ledger")
cp "$T/ledger" "$T/forged"
echo "$((bstart + 1000)) A $X start forged" >>"$T/forged"
echo "$((bstart + 5000)) A $X stop forged" >>"$T/forged"
rc=0
"$BINDIR/hasvc-simhv" --check-ledger "$T/forged" >"$T/forged.out" 2>&1 || rc=$?
cat "$T/forged.out"
[[ $rc -eq 1 ]] || die "overlap: exit $rc, expected 1"
grep "OVERLAP" "$T/forged.out" | grep "$X" | grep -E "hosts (A and B|B and A)" >/dev/null ||
	die "overlap report does not name the VM and both hosts"
grep -q "from $((bstart + 1000)) to $((bstart + 5000)) ns" "$T/forged.out" || die "overlap interval wrong"

# A stop of a VM that is not running there is an inconsistency.
cp "$T/ledger" "$T/stray"
echo "$((bstart + 1)) A $Y stop destroy" >>"$T/stray"
rc=0
"$BINDIR/hasvc-simhv" --check-ledger "$T/stray" >"$T/stray.out" 2>&1 || rc=$?
cat "$T/stray.out"
[[ $rc -eq 1 ]] || die "stray stop: exit $rc, expected 1"
grep -q "INCONSISTENT" "$T/stray.out" || die "stray stop not reported"

# Garbage on line 3.
{ head -n 2 "$T/ledger"; echo "this is not a ledger line"; tail -n +3 "$T/ledger"; } >"$T/garbage"
rc=0
"$BINDIR/hasvc-simhv" --check-ledger "$T/garbage" >"$T/garbage.out" 2>&1 || rc=$?
cat "$T/garbage.out"
[[ $rc -eq 2 ]] || die "garbage: exit $rc, expected 2"
grep -q ":3:" "$T/garbage.out" || die "garbage report does not name line 3"
echo "ledger checks: consistent 0, overlap 1, inconsistency 1, garbage 2"
