#!/usr/bin/env bash
# hasvcd refuses a pool database that is corrupt, foreign or from a newer
# version: it exits non-zero naming the problem, and the file is unchanged.
. "$(dirname "$0")/common.bash"
HOST=7a1f0c2e-5b3d-4e8f-9a6b-0c1d2e3f4a5b
start_simhv h1
write_conf $HOST h1 5s

check_refused() { # description, expected message regex
	local before after out rc=0
	before=$(sha256sum "$T/data/pool.db")
	out=$(timeout 20 "$BINDIR/hasvcd" -c "$T/hasvcd.conf" 2>&1) || rc=$?
	after=$(sha256sum "$T/data/pool.db")
	((rc != 0)) || die "$1: hasvcd accepted it"
	((rc != 124)) || die "$1: hasvcd did not exit"
	grep -qiE "$2" <<<"$out" || die "$1: message does not match /$2/: $out"
	[[ $before == "$after" ]] || die "$1: the file was modified"
	ls "$T/data" | grep -qE 'pool\.db-(wal|shm|journal)' && die "$1: left journal files"
	echo "$1: refused: $(grep -iE "$2" <<<"$out" | head -n1 | sed 's/^.*fatal: //')"
}

head -c 65536 /dev/urandom >"$T/data/pool.db"
check_refused "random bytes" "not an SQLite database|not a database|file is not a database"

rm -f "$T/data/pool.db"
sqlite3 "$T/data/pool.db" 'CREATE TABLE invoices(id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);'
check_refused "foreign sqlite file" "not a hasvc pool database"

rm -f "$T/data/pool.db"
db init >/dev/null
sqlite3 "$T/data/pool.db" 'PRAGMA user_version = 999;'
check_refused "newer schema" "newer"
