#!/usr/bin/env bash
# hasvc-db refuses a pool database that is random bytes, a foreign SQLite
# file or from a newer schema: `check` exits non-zero with a clear message
# and the file's bytes are unchanged, with no -wal/-shm/-journal left.  A
# database seeded with the tool round-trips through vm-list.
set -euo pipefail
: "${BINDIR:?}"
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI not installed"; exit 77; }
[[ -x $BINDIR/hasvc-db ]] || { echo "$BINDIR/hasvc-db not built"; exit 77; }
T=$(mktemp -d /tmp/hasvc-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
die() { echo "FAIL: $*" >&2; exit 1; }
db() { "$BINDIR/hasvc-db" -d "$T/pool.db" "$@"; }

check_refused() { # description, expected message regex
	local before after out rc=0 cmd
	for cmd in check vm-list; do
		before=$(sha256sum <"$T/pool.db")
		out=$(db $cmd 2>&1) || rc=$?
		after=$(sha256sum <"$T/pool.db")
		((rc == 1)) || die "$1: hasvc-db $cmd exited $rc, want 1: $out"
		grep -qE "$2" <<<"$out" || die "$1: message does not match /$2/: $out"
		[[ $before == "$after" ]] || die "$1: $cmd modified the file"
		ls "$T" | grep -qE 'pool\.db-(wal|shm|journal)' && die "$1: $cmd left journal files"
	done
	echo "$1: refused: $out"
}

head -c 65536 /dev/urandom >"$T/pool.db"
check_refused "random bytes" "pool\.db: not an SQLite database$"

rm -f "$T/pool.db"
sqlite3 "$T/pool.db" 'CREATE TABLE invoices(id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);'
check_refused "foreign sqlite file" "not a hasvc pool database \(application_id 0x00000000\)"

rm -f "$T/pool.db"
db init >/dev/null
sqlite3 "$T/pool.db" 'PRAGMA user_version = 999;'
check_refused "newer schema" "schema version 999 is newer than this hasvcd supports \([0-9]+\); refusing to open it"

rm -f "$T/pool.db"
out=$(db vm-list 2>&1) && die "a missing file was accepted"
grep -q "no such file" <<<"$out" || die "missing file: $out"
[[ ! -e $T/pool.db ]] || die "vm-list created the file"

# A good database seeded with the tool.
HOST=7a1f0c2e-5b3d-4e8f-9a6b-0c1d2e3f4a5b
POOL=$(db init name-label=test-pool)
[[ $(db host-add uuid=$HOST name-label=h1 address=127.0.0.1 memory-total=16GiB) == "$HOST" ]] ||
	die "host-add did not print the uuid"
VM=$(db vm-add name-label=p1 memory-static-max=1GiB vcpus=2 ha-restart-priority=restart \
	ha-always-run=true order=3 start-delay=5 resident-on=$HOST power-state=Running)
db vm-add name-label=un memory-static-max=512MiB >/dev/null
db pool-param-set ha-enabled=true master=$HOST ha-host-failures-to-tolerate=1
db vm-param-set uuid=$VM other-config:k=v
db check >/dev/null || die "check refused a good database"

vm_field() { db vm-list | awk -v u="$1" -v f="$2:" '$1=="uuid:" {cur=$2} cur==u && $1==f {print $2; exit}'; }
for kv in name-label=p1 memory-static-max=1073741824 VCPUs-max=2 ha-restart-priority=restart \
	ha-always-run=true order=3 start-delay=5 resident-on=$HOST power-state=Running \
	other-config=k=v; do
	k=${kv%%=*} v=${kv#*=}
	[[ $(vm_field "$VM" "$k") == "$v" ]] || die "vm-list $k: got '$(vm_field "$VM" "$k")', want '$v'"
done
[[ $(db vm-list | grep -c '^uuid:') == 2 ]] || die "vm-list does not show 2 VMs"
db pool-show | grep -qx "uuid: $POOL" || die "pool-show: wrong uuid"
db pool-show | grep -qx "ha-enabled: true" || die "pool-show: ha-enabled not set"
db pool-show | grep -qx "master: $HOST" || die "pool-show: master not set"
db host-list | grep -qx "memory-total: 17179869184" || die "host-list: memory-total"

# Bad arguments: exit 2, named, nothing written.
before=$(sha256sum <"$T/pool.db")
bad() { # expected-word, args...
	local want=$1 out rc=0
	shift
	out=$(db "$@" 2>&1) || rc=$?
	((rc == 2)) || die "'$*' exited $rc, want 2: $out"
	grep -qF -- "$want" <<<"$out" || die "'$*': message does not name '$want': $out"
}
bad colour vm-add name-label=x memory-static-max=1GiB colour=red
bad "memory-static-max=1G" vm-add name-label=x memory-static-max=1G
bad "order=-1" vm-add name-label=x memory-static-max=1GiB order=-1
bad "vcpus=two" vm-add name-label=x memory-static-max=1GiB vcpus=two
bad "ha-restart-priority=always" vm-add name-label=x memory-static-max=1GiB ha-restart-priority=always
bad "power-state=running" vm-param-set uuid=$VM power-state=running
bad "resident-on=$VM" vm-param-set uuid=$VM resident-on=$VM
bad "uuid=$HOST" vm-param-set uuid=$HOST order=1
bad "ha-enabled=maybe" pool-param-set ha-enabled=maybe
bad "memory-static-max" vm-add name-label=x
bad frobnicate frobnicate
[[ $before == "$(sha256sum <"$T/pool.db")" ]] || die "a rejected command modified the file"
echo "seeded database round-trips; bad arguments rejected"
