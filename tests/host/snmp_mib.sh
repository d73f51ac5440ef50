#!/usr/bin/env bash
# docs/HASVC-MIB.txt passes smilint (smitools) at level 3 with no error, and
# every notification and varbind hasvc/snmp_trap.c sends is defined in it.
# Debian ships no IETF MIB modules (non-free there); the three the MIB
# imports are in tests/host/snmp_mibs/ (from net-snmp's mibs/, RFC 2578-2580
# code components), so smilint checks the imports too instead of failing on
# "failed to locate MIB module" -- which is itself an error it would print.
. "$(dirname "$0")/common.bash"
command -v smilint >/dev/null || die "smilint not installed (Debian package smitools)"
here=$(cd "$(dirname "$0")" && pwd)
mib=$here/../../docs/HASVC-MIB.txt

# smilint exits 0 whatever it finds: any line it prints at level 3 is an error.
out=$(SMIPATH=$here/snmp_mibs smilint -l 3 "$mib" 2>&1) || die "smilint failed to run: $out"
[[ -z $out ]] || die "smilint -l 3 reports errors:
$out"
echo "ok: smilint -l 3 clean"
# Warnings (levels 4-6) about our own module are shown, not fatal.
SMIPATH=$here/snmp_mibs smilint -l 6 "$mib" 2>&1 | grep -F "HASVC-MIB.txt" || echo "ok: no warnings about HASVC-MIB itself at level 6"

# The test fails if smilint would pass anything: a MIB with a broken import
# and an undefined type must be reported.
sed -e 's/DisplayString, DateAndTime/DisplayString, DateAndTimeX/' "$mib" >"$T/BROKEN-MIB.txt"
bad=$(SMIPATH=$here/snmp_mibs smilint -l 3 "$T/BROKEN-MIB.txt" 2>&1 || true)
[[ -n $bad ]] || die "smilint did not notice a broken MIB"
echo "ok: a broken MIB is reported"

# Every OID the sender uses has its name in the MIB (smidump resolves them).
dump=$(SMIPATH=$here/snmp_mibs smidump -f identifiers "$mib" 2>/dev/null)
for name in hasvcHaHostFailed:1.3.6.1.4.1.32473.1.0.1 hasvcHaHostWasFenced:1.3.6.1.4.1.32473.1.0.2 \
	hasvcTestNotification:1.3.6.1.4.1.32473.1.0.99 hasvcAlert:1.3.6.1.4.1.32473.1.0.100 \
	hasvcAlertUuid:1.3.6.1.4.1.32473.1.1.1 hasvcAlertTime:1.3.6.1.4.1.32473.1.1.9; do
	grep -E "^HASVC-MIB +${name%%:*} +[a-z]+ +${name#*:}\$" <<<"$dump" >/dev/null ||
		die "${name%%:*} is not ${name#*:} in the MIB"
done
echo "ok: notification and varbind OIDs match hasvc/snmp_trap.c"
