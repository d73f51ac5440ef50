#!/usr/bin/env bash
# hasvc-statefile, the offline statefile tool: init a statefile for a pool
# database, dump it as text and JSON, write slots, refuse to overwrite a
# random file, a statefile of another pool or of this pool without --force,
# show a corrupted slot as invalid with its reason (exit 0) and a corrupted
# header as an error (exit 1); usage errors exit 2.
source "$(dirname "$0")/common.bash"
S=$BINDIR/hasvc-statefile
[[ -x $S ]] || { echo "$S not built"; exit 77; }
[[ -x $BINDIR/hasvc-db ]] || { echo "$BINDIR/hasvc-db not built"; exit 77; }
command -v python3 >/dev/null || { echo "python3 not installed"; exit 77; }
SIZE=266240

"$BINDIR/hasvc-db" -d "$T/a.db" init name-label=a >/dev/null
"$BINDIR/hasvc-db" -d "$T/b.db" init name-label=b >/dev/null
A=$("$BINDIR/hasvc-db" -d "$T/a.db" pool-show | awk '/^uuid:/ {print $2}')
[[ -n $A ]] || die "no pool uuid"

expect_rc() { # want, command... (stdout+stderr in $out)
	local want=$1 rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	((rc == want)) || die "$* exited $rc, want $want: $out"
}

# init, then dump.
expect_rc 0 "$S" init "$T/sf" --db "$T/a.db" --hosts 3
grep -q "initialised: generation 1, 3 hosts" <<<"$out" || die "init said: $out"
[[ $(stat -c %s "$T/sf") -eq $SIZE ]] || die "size $(stat -c %s "$T/sf")"
expect_rc 0 "$S" dump "$T/sf" --db "$T/a.db"
echo "$out"
grep -qx "header: ok" <<<"$out"
grep -qx "  pool: $A" <<<"$out"
grep -qx "  generation: 1" <<<"$out"
grep -qx "  pool-state: init" <<<"$out"
grep -qx "  host-count: 3" <<<"$out"
grep -qx "slots: 0 valid, 0 invalid, 64 absent" <<<"$out"

# Two slots written as hosts 0 and 2 would; the JSON dump shows them.
H0=11111111-2222-4333-8444-000000000000
expect_rc 0 "$S" write-slot "$T/sf" --db "$T/a.db" --index 0 --seq 7 --host $H0
expect_rc 0 "$S" write-slot "$T/sf" --db "$T/a.db" --index 2 --fence "lost the partition"
"$S" dump "$T/sf" --db "$T/a.db" --json >"$T/dump.json"
# The same through the CLI, which runs the tool as `hasvc statefile-dump`.
"$BINDIR/hasvc" statefile-dump "$T/sf" --db "$T/a.db" --json >"$T/dump2.json" ||
	{ echo "FAIL: hasvc statefile-dump"; exit 1; }
# (slots carry ages, which move between the two runs: compare the rest)
[[ $(jq -cS 'del(.slots)' "$T/dump.json") == $(jq -cS 'del(.slots)' "$T/dump2.json") &&
	$(jq '.slots | length' "$T/dump.json") == $(jq '.slots | length' "$T/dump2.json") ]] ||
	{ echo "FAIL: hasvc statefile-dump differs"; exit 1; }
python3 - "$T/dump.json" "$A" "$H0" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
h = d["header"]
assert h["ok"] and h["pool"] == sys.argv[2] and h["generation"] == 1, h
assert h["pool_state"] == "init" and h["host_count"] == 3 and h["version"] == 1, h
assert d["counts"] == {"valid": 2, "invalid": 0, "absent": 62}, d["counts"]
s0, s2 = d["slots"]
assert s0["index"] == 0 and s0["valid"] and s0["host"] == sys.argv[3], s0
assert s0["state"] == "alive" and s0["seq"] == 7 and s0["fence"] is None, s0
assert "verdict" in s0 and s0["verdict"] is None, s0
assert s0["members"] == [1] and s0["storage_view"] == [0] and s0["ring"] == {"rep": 1, "seq": 1}, s0
assert 0 <= s0["age_s"] < 60, s0
assert s2["state"] == "fencing" and s2["fence"]["detail"] == "lost the partition", s2
assert s2["fence"]["members"] == [3], s2
PY
expect_rc 0 "$S" dump "$T/sf" --db "$T/a.db"
grep -qx "slot 2: valid" <<<"$out"
grep -qx "  fence-detail: lost the partition" <<<"$out"
grep -qx "  verdict: none" <<<"$out" || die "no verdict line in the dump"

# Re-init of this pool's statefile: only with --force, and it bumps the generation.
expect_rc 1 "$S" init "$T/sf" --db "$T/a.db"
grep -q "already the statefile of this pool (generation 1)" <<<"$out" || die "$out"
expect_rc 0 "$S" init "$T/sf" --db "$T/a.db" --force
grep -q "generation 2" <<<"$out" || die "$out"
expect_rc 0 "$S" dump "$T/sf" --db "$T/a.db"
grep -qx "slots: 0 valid, 0 invalid, 64 absent" <<<"$out"

# Another pool's statefile: refused without --force; its dump fails the HMAC.
expect_rc 1 "$S" init "$T/sf" --db "$T/b.db"
grep -q "the statefile of another pool ($A)" <<<"$out" || die "$out"
expect_rc 1 "$S" dump "$T/sf" --db "$T/b.db"
grep -qx "header: invalid: bad hmac" <<<"$out" || die "$out"

# A file with other data: refused and left alone without --force.
head -c 100000 /dev/urandom >"$T/rnd"
sum=$(sha256sum <"$T/rnd")
expect_rc 1 "$S" init "$T/rnd" --db "$T/a.db"
grep -q "holds data that is not a statefile" <<<"$out" || die "$out"
[[ $(sha256sum <"$T/rnd") == "$sum" ]] || die "refused init modified the file"
expect_rc 0 "$S" init "$T/rnd" --db "$T/a.db" --force
[[ $(stat -c %s "$T/rnd") -eq $SIZE ]]
# An all-zero file is empty: no --force needed.
head -c 4096 /dev/zero >"$T/zero"
expect_rc 0 "$S" init "$T/zero" --db "$T/a.db"

# A corrupted slot: shown invalid with its reason, exit 0.
expect_rc 0 "$S" write-slot "$T/zero" --db "$T/a.db" --index 1
printf '\x5a' | dd of="$T/zero" bs=1 seek=$((4096 * 2 + 100)) conv=notrunc status=none
printf '\x01' | dd of="$T/zero" bs=1 seek=$((4096 * 6 + 3000)) conv=notrunc status=none
expect_rc 0 "$S" dump "$T/zero" --db "$T/a.db"
echo "$out"
grep -qx "header: ok" <<<"$out"
grep -qx "slot 1: invalid: bad crc" <<<"$out"
grep -qx "slot 5: invalid: bad crc" <<<"$out"
grep -qx "slots: 0 valid, 2 invalid, 62 absent" <<<"$out"
"$S" dump "$T/zero" --db "$T/a.db" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["header"]["ok"]
assert d["slots"] == [{"index": 1, "valid": False, "why": "bad crc"},
                      {"index": 5, "valid": False, "why": "bad crc"}], d["slots"]'

# A corrupted header: exit 1.
printf '\x5a' | dd of="$T/zero" bs=1 seek=30 conv=notrunc status=none
expect_rc 1 "$S" dump "$T/zero" --db "$T/a.db"
grep -qx "header: invalid: bad crc" <<<"$out" || die "$out"
rc=0; "$S" dump "$T/zero" --db "$T/a.db" --json >"$T/bad.json" || rc=$?
((rc == 1)) || die "json dump of a bad header exited $rc"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["header"] == {"ok": False, "why": "bad crc"}, d' "$T/bad.json"

# Short or missing files; a pool without a cluster key.
head -c 5000 /dev/zero >"$T/short"
expect_rc 1 "$S" dump "$T/short" --db "$T/a.db"
grep -q "5000 bytes, a statefile has $SIZE" <<<"$out" || die "$out"
expect_rc 1 "$S" dump "$T/missing" --db "$T/a.db"
"$BINDIR/hasvc-db" -d "$T/nokey.db" init cluster-key=none >/dev/null
expect_rc 1 "$S" init "$T/nk" --db "$T/nokey.db"
grep -q "no cluster key" <<<"$out" || die "$out"
expect_rc 1 "$S" init "$T/nk" --db "$T/missing.db"

# Usage errors.
expect_rc 2 "$S"
expect_rc 2 "$S" frob "$T/sf" --db "$T/a.db"
expect_rc 2 "$S" dump "$T/sf"
expect_rc 2 "$S" dump --db "$T/a.db"
expect_rc 2 "$S" init "$T/sf" --db "$T/a.db" --hosts 65
expect_rc 2 "$S" write-slot "$T/sf" --db "$T/a.db"
expect_rc 2 "$S" write-slot "$T/sf" --db "$T/a.db" --index 64
expect_rc 2 "$S" dump "$T/sf" --db "$T/a.db" --frob
echo "statefile_tool: ok"
