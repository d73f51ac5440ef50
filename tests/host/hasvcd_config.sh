#!/usr/bin/env bash
# hasvcd -n: a good file passes; a file with an unknown element, a missing host
# uuid and a negative port fails and names all three with their line numbers.
set -euo pipefail
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"

cat >good.conf <<'EOF2'
<?xml version="1.0"?>
<hasvcd version="1">
  <host-uuid>7a1f0c2e-5b3d-4e8f-9a6b-0c1d2e3f4a5b</host-uuid>
  <management-address>192.0.2.10</management-address>
  <data-dir>/var/lib/hasvc</data-dir>
  <watchdog><driver>sim</driver><timeout>10s</timeout></watchdog>
  <hypervisor><backend>sim</backend><socket>/run/hasvc/simhv.sock</socket></hypervisor>
  <api><address>0.0.0.0</address><port>443</port></api>
</hasvcd>
EOF2
out=$("$BINDIR/hasvcd" -n -c good.conf 2>&1) || { echo "good config refused: $out"; exit 1; }
echo "good: $out"

# Line 3: unknown element; host-uuid missing (reported at the root, line 2);
# line 7: negative port.
cat >bad.conf <<'EOF2'
<?xml version="1.0"?>
<hasvcd version="1">
  <colour>blue</colour>
  <management-address>192.0.2.10</management-address>
  <watchdog><driver>sim</driver></watchdog>
  <hypervisor><backend>sim</backend><socket>/run/hasvc/simhv.sock</socket></hypervisor>
  <api><port>-1</port></api>
</hasvcd>
EOF2
if out=$("$BINDIR/hasvcd" -n -c bad.conf 2>&1); then
	echo "bad config accepted: $out"
	exit 1
fi
echo "bad: $out"
fail=0
grep -qE '^bad\.conf:3: .*colour' <<<"$out" || { echo "unknown element not reported at line 3"; fail=1; }
grep -qE '^bad\.conf:2: .*host-uuid' <<<"$out" || { echo "missing host-uuid not reported at line 2"; fail=1; }
grep -qE '^bad\.conf:7: .*port' <<<"$out" || { echo "negative port not reported at line 7"; fail=1; }

# A file that is not there, and one that is not XML, are refused too.
"$BINDIR/hasvcd" -n -c missing.conf >/dev/null 2>&1 && { echo "missing file accepted"; fail=1; }
echo 'this is <not xml' >garbage.conf
"$BINDIR/hasvcd" -n -c garbage.conf >/dev/null 2>&1 && { echo "garbage accepted"; fail=1; }
exit $fail
