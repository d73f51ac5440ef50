#!/usr/bin/env bash
# hasvc-plan, the offline planner: ntol and a --fail plan on a small pool
# file, --json output that parses, a malformed file refused with exit 1 naming
# the field, usage errors exit 2, and `hasvc plan` passing its arguments through.
source "$(dirname "$0")/common.bash"
P=$BINDIR/hasvc-plan
[[ -x $P ]] || { echo "no $P"; exit 1; }
POOL=$HASVC_TOP/tests/fuzz/corpus/plan_json/small.json

out=$("$P" --pool "$POOL" --fail h1 --fail h1,h3)
echo "$out"
grep -q '^ntol: 1 (exact)$' <<<"$out"
grep -q '^  no plan if these 2 hosts fail: h1,h3$' <<<"$out"
grep -q '^ha_host_failures_to_tolerate: 1 (a plan exists)$' <<<"$out"
grep -q '^plan for the failure of h1: yes (anti-affinity kept)$' <<<"$out"
grep -qE '^  db +placed +h2 +0$' <<<"$out"
grep -qE '^  web1 +placed +h3 +1$' <<<"$out"
grep -q '^plan for the failure of h1,h3: no$' <<<"$out"
grep -qE '^  local +excused +- +0$' <<<"$out"
grep -qE '^time: [0-9.]+ ms' <<<"$out"

"$P" --pool "$POOL" --fail h3 --json >"$T/out.json"
python3 -m json.tool "$T/out.json" >/dev/null
python3 - "$T/out.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ntol"]["ntol"] == 1 and d["ntol"]["exact"] and d["ntol"]["witness"] == ["h1", "h3"], d
assert d["overcommitted"] is False
(p,) = d["plans"]
assert p["failed"] == ["h3"] and p["verdict"] == "yes", p
assert p["vms"] == [{"name": "local", "fate": "excused", "target": None, "order": 0}], p
PY

# Malformed input: exit 1, one line naming the field.
printf '{"hosts": [{"name": "h1", "memory_total": 1}], "vms": [{"name": "v", "memory_static_max": 1, "resident_on": "h9"}]}' >"$T/bad.json"
rc=0; "$P" --pool "$T/bad.json" 2>"$T/err" || rc=$?
cat "$T/err"
[[ $rc -eq 1 ]]
grep -qx 'hasvc-plan: vms\[0\].resident_on: no host named "h9"' "$T/err"
rc=0; "$P" --pool "$T/missing.json" 2>/dev/null || rc=$?
[[ $rc -eq 1 ]]
rc=0; "$P" --pool "$POOL" --fail h7 2>"$T/err" || rc=$?
[[ $rc -eq 1 ]] && grep -q 'no host named "h7"' "$T/err"

# Usage errors: exit 2.
rc=0; "$P" 2>/dev/null || rc=$?; [[ $rc -eq 2 ]]
rc=0; "$P" --pool "$POOL" --budget x 2>/dev/null || rc=$?; [[ $rc -eq 2 ]]
rc=0; "$P" --pool "$POOL" --frob 2>/dev/null || rc=$?; [[ $rc -eq 2 ]]

# The CLI passes `hasvc plan ARGS` through to hasvc-plan beside it.
diff <("$BINDIR/hasvc" plan --pool "$POOL" --fail h1 --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ntol"]["ntol"], d["plans"][0]["vms"])') \
     <("$P" --pool "$POOL" --fail h1 --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ntol"]["ntol"], d["plans"][0]["vms"])')
rc=0; "$BINDIR/hasvc" plan --pool "$T/bad.json" 2>/dev/null || rc=$?; [[ $rc -eq 1 ]]
echo "plan_tool: ok"
