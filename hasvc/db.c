/*
** The pool database over SQLite.  See db.h.
**
** Durability: WAL journal, synchronous=FULL, so a COMMIT that returned has
** reached the disk.  Every public write runs inside write_begin()/write_end():
** outside db_begin() that is its own BEGIN IMMEDIATE ... COMMIT; inside (or
** inside a capture, see "replication" below), a SAVEPOINT, so a write that
** fails half-way is undone without aborting the caller's transaction.
** Either way a failed write leaves nothing behind.
**
** Opening never modifies a file it refuses: the file is first inspected
** through a read-only connection that cannot create or write anything
** ("immutable" when no -wal file exists, since a plain read-only connection
** to a WAL-mode file creates -wal/-shm files and leaves them behind).  Only a
** file that passes every check is reopened read-write, switched to WAL and
** migrated.
**
** Schema: one table per record type; enums are stored as their XAPI strings
** under CHECK constraints; the maps of every record live in one table `map`
** keyed by (owner uuid, field name, key); VM group membership is the join
** table vm_group_member.  A schema change is a new step appended to
** migrations[] and a bump of DB_SCHEMA_VERSION; all pending steps run in one
** transaction together with the user_version update.
**
** Schema version 2 adds cluster membership and the table repl, which holds
** the replication position and is the one table never replicated.  Version
** 4 adds vm_intent (db.h, "VM intents"): one row per VM at most, deleted
** with its VM (ON DELETE CASCADE, like vm_group_member).  Version 5 adds the
** incarnations (db.h, "Incarnations"): host.incarnation, vm_intent.incarnation.
**
** Only constant SQL is ever compiled: values are always bound parameters.
** Statements are prepared once per connection and cached in db->stmt[].
*/
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The session extension (changesets) and the pre-update hook it rests on:
** Debian's libsqlite3 is built with both; the header declares them only
** when asked. */
#define SQLITE_ENABLE_SESSION
#define SQLITE_ENABLE_PREUPDATE_HOOK
#include <sqlite3.h>

#include "hasvc/db.h"
#include "lib/check.h"
#include "lib/fault.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define XSTR(x) STR(x)
#define STR(x)  #x

/* How long a write waits for another process (hasvc-db next to hasvcd). */
#define DB_BUSY_TIMEOUT_MS 5000

/* ---- schema and migrations ---- */

/* clang-format off */
static const char schema_v1[] =
	"CREATE TABLE pool ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" uuid TEXT NOT NULL,"
	" name_label TEXT NOT NULL DEFAULT '',"
	" name_description TEXT NOT NULL DEFAULT '',"
	" master TEXT NOT NULL DEFAULT '',"
	" ha_enabled INTEGER NOT NULL DEFAULT 0 CHECK (ha_enabled IN (0, 1)),"
	" ha_host_failures_to_tolerate INTEGER NOT NULL DEFAULT 0,"
	" ha_plan_exists_for INTEGER NOT NULL DEFAULT 0,"
	" ha_allow_overcommit INTEGER NOT NULL DEFAULT 0 CHECK (ha_allow_overcommit IN (0, 1)),"
	" ha_overcommitted INTEGER NOT NULL DEFAULT 0 CHECK (ha_overcommitted IN (0, 1)),"
	" ha_reboot_vm_on_internal_shutdown INTEGER NOT NULL DEFAULT 1"
	"  CHECK (ha_reboot_vm_on_internal_shutdown IN (0, 1)),"
	" ha_cluster_stack TEXT NOT NULL DEFAULT 'corosync');"
	"CREATE TABLE host ("
	" uuid TEXT PRIMARY KEY NOT NULL,"
	" name_label TEXT NOT NULL DEFAULT '',"
	" hostname TEXT NOT NULL DEFAULT '',"
	" address TEXT NOT NULL DEFAULT '',"
	" enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),"
	" memory_total INTEGER NOT NULL DEFAULT 0 CHECK (memory_total >= 0),"
	" memory_overhead INTEGER NOT NULL DEFAULT 0 CHECK (memory_overhead >= 0),"
	" live INTEGER NOT NULL DEFAULT 0 CHECK (live IN (0, 1)),"
	" memory_free INTEGER NOT NULL DEFAULT 0 CHECK (memory_free >= 0),"
	" last_updated INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE vm ("
	" uuid TEXT PRIMARY KEY NOT NULL,"
	" name_label TEXT NOT NULL DEFAULT '',"
	" power_state TEXT NOT NULL DEFAULT 'Halted'"
	"  CHECK (power_state IN ('Halted', 'Paused', 'Running', 'Suspended')),"
	" resident_on TEXT REFERENCES host(uuid) ON DELETE SET NULL,"
	" affinity TEXT REFERENCES host(uuid) ON DELETE SET NULL,"
	" memory_static_max INTEGER NOT NULL DEFAULT 0 CHECK (memory_static_max >= 0),"
	" memory_overhead INTEGER NOT NULL DEFAULT 0 CHECK (memory_overhead >= 0),"
	" VCPUs_max INTEGER NOT NULL DEFAULT 1 CHECK (VCPUs_max >= 0),"
	" ha_restart_priority TEXT NOT NULL DEFAULT ''"
	"  CHECK (ha_restart_priority IN ('', 'restart', 'best-effort')),"
	" ha_always_run INTEGER NOT NULL DEFAULT 0 CHECK (ha_always_run IN (0, 1)),"
	" \"order\" INTEGER NOT NULL DEFAULT 0 CHECK (\"order\" >= 0),"
	" start_delay INTEGER NOT NULL DEFAULT 0 CHECK (start_delay >= 0),"
	" is_control_domain INTEGER NOT NULL DEFAULT 0 CHECK (is_control_domain IN (0, 1)),"
	" hv_config TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX vm_resident_on ON vm(resident_on);"
	"CREATE TABLE vm_group ("
	" uuid TEXT PRIMARY KEY NOT NULL,"
	" name_label TEXT NOT NULL DEFAULT '',"
	" name_description TEXT NOT NULL DEFAULT '',"
	" placement TEXT NOT NULL DEFAULT 'normal' CHECK (placement IN ('normal', 'anti_affinity')));"
	"CREATE TABLE vm_group_member ("
	" vm_uuid TEXT NOT NULL REFERENCES vm(uuid) ON DELETE CASCADE,"
	" group_uuid TEXT NOT NULL REFERENCES vm_group(uuid) ON DELETE CASCADE,"
	" position INTEGER NOT NULL,"
	" PRIMARY KEY (vm_uuid, group_uuid)) WITHOUT ROWID;"
	"CREATE INDEX vm_group_member_group ON vm_group_member(group_uuid);"
	"CREATE TABLE message ("
	" uuid TEXT PRIMARY KEY NOT NULL,"
	" name TEXT NOT NULL,"
	" priority INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 5),"
	" cls TEXT NOT NULL DEFAULT '',"
	" obj_uuid TEXT NOT NULL DEFAULT '',"
	" timestamp INTEGER NOT NULL,"
	" body TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX message_timestamp ON message(timestamp);"
	"CREATE TABLE fence_record ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" host_uuid TEXT NOT NULL,"
	" timestamp INTEGER NOT NULL,"
	" reason TEXT NOT NULL DEFAULT '',"
	" detail TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX fence_record_host ON fence_record(host_uuid, timestamp);"
	"CREATE TABLE user ("
	" name TEXT PRIMARY KEY NOT NULL CHECK (name <> ''),"
	" password_hash TEXT NOT NULL DEFAULT '',"
	" role TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE map ("
	" owner TEXT NOT NULL,"
	" field TEXT NOT NULL,"
	" key TEXT NOT NULL,"
	" value TEXT NOT NULL,"
	" PRIMARY KEY (owner, field, key)) WITHOUT ROWID;";
/* clang-format on */

/* Version 2: cluster membership (host.cluster_nodeid, host.address2,
** pool.cluster_key) and the replication position (repl, one row). */
/* clang-format off */
static const char schema_v2[] =
	"ALTER TABLE host ADD COLUMN cluster_nodeid INTEGER NOT NULL DEFAULT 0"
	" CHECK (cluster_nodeid >= 0);"
	"ALTER TABLE host ADD COLUMN address2 TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE pool ADD COLUMN cluster_key TEXT NOT NULL DEFAULT '';"
	"CREATE UNIQUE INDEX host_cluster_nodeid ON host(cluster_nodeid) WHERE cluster_nodeid > 0;"
	"CREATE TABLE repl ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" term INTEGER NOT NULL,"
	" seq INTEGER NOT NULL);"
	"INSERT INTO repl VALUES (1, 0, 0);";
/* clang-format on */

/* Version 3: SNMP trap receivers (pool-wide, secrets included: the file is
** 0600) and the per-message "notified" marker (hasvc/notify.h).  Messages
** already stored count as notified: an upgrade must not replay old alerts. */
/* clang-format off */
static const char schema_v3[] =
	"CREATE TABLE snmp_receiver ("
	" uuid TEXT PRIMARY KEY NOT NULL,"
	" address TEXT NOT NULL,"
	" port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),"
	" version TEXT NOT NULL CHECK (version IN ('2c', '3')),"
	" inform INTEGER NOT NULL DEFAULT 0 CHECK (inform IN (0, 1)),"
	" community TEXT NOT NULL DEFAULT '',"
	" user TEXT NOT NULL DEFAULT '',"
	" auth_key TEXT NOT NULL DEFAULT '',"
	" priv_key TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE message_notified ("
	" uuid TEXT PRIMARY KEY NOT NULL,"
	" host TEXT NOT NULL DEFAULT '',"
	" time INTEGER NOT NULL DEFAULT 0);"
	"INSERT INTO message_notified (uuid, host, time) SELECT uuid, '', 0 FROM message;";
/* clang-format on */

/* Version 4: VM intents (db.h, "VM intents"; docs/failover.md).  The host
** columns are plain uuids, not references: an intent outlives neither its VM
** (CASCADE) nor the master's attention, and a host's delete must not
** silently move an ISSUED intent.  An ISSUED intent names its host. */
/* clang-format off */
static const char schema_v4[] =
	"CREATE TABLE vm_intent ("
	" vm TEXT PRIMARY KEY NOT NULL REFERENCES vm(uuid) ON DELETE CASCADE,"
	" op TEXT NOT NULL CHECK (op IN ('start', 'stop')),"
	" state TEXT NOT NULL CHECK (state IN ('queued', 'issued', 'failed')),"
	" why TEXT NOT NULL CHECK (why IN ('failover', 'always_run', 'evacuate', 'api')),"
	" host TEXT NOT NULL DEFAULT '',"
	" from_host TEXT NOT NULL DEFAULT '',"
	" clean INTEGER NOT NULL DEFAULT 0 CHECK (clean IN (0, 1)),"
	" alerted INTEGER NOT NULL DEFAULT 0 CHECK (alerted IN (0, 1)),"
	" attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
	" created INTEGER NOT NULL DEFAULT 0,"
	" error TEXT NOT NULL DEFAULT '',"
	" CHECK (state <> 'issued' OR host <> ''));"
	"CREATE INDEX vm_intent_host ON vm_intent(host);";
/* clang-format on */

/* Version 5: incarnations (db.h, "Incarnations"; docs/failover.md).  0 is
** "none yet": a host whose hasvcd has not said who it is, an intent not
** ISSUED (or issued before version 5, which no host then carries out
** without adopting it first). */
/* clang-format off */
static const char schema_v5[] =
	"ALTER TABLE host ADD COLUMN incarnation INTEGER NOT NULL DEFAULT 0"
	" CHECK (incarnation >= 0);"
	"ALTER TABLE vm_intent ADD COLUMN incarnation INTEGER NOT NULL DEFAULT 0"
	" CHECK (incarnation >= 0);";
/* clang-format on */

/* migrations[i] takes a database from schema version i to i + 1. */
static const char *const migrations[] = {
    schema_v1,
    schema_v2,
    schema_v3,
    schema_v4,
    schema_v5,
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == DB_SCHEMA_VERSION,
               "one migration step per schema version");

/* ---- statements ---- */

#define POOL_COLS                                                                                  \
	"uuid, name_label, name_description, master, ha_enabled, ha_host_failures_to_tolerate, "   \
	"ha_plan_exists_for, ha_allow_overcommit, ha_overcommitted, "                              \
	"ha_reboot_vm_on_internal_shutdown, ha_cluster_stack, cluster_key"
#define HOST_COLS                                                                                  \
	"uuid, name_label, hostname, address, enabled, memory_total, memory_overhead, live, "      \
	"memory_free, last_updated, cluster_nodeid, address2"
/* incarnation is read with HOST_COLS but written only by db_host_set_incarnation:
** a put of a host record never moves it (an API edit read before a daemon's
** start must not undo it). */
#define HOST_READ_COLS HOST_COLS ", incarnation"
#define VM_COLS                                                                                    \
	"uuid, name_label, power_state, ifnull(resident_on, ''), ifnull(affinity, ''), "           \
	"memory_static_max, memory_overhead, VCPUs_max, ha_restart_priority, ha_always_run, "      \
	"\"order\", start_delay, is_control_domain, hv_config"
#define GROUP_COLS "uuid, name_label, name_description, placement"
#define MSG_COLS   "uuid, name, priority, cls, obj_uuid, timestamp, body"
#define FENCE_COLS "id, host_uuid, timestamp, reason, detail"
#define SNMP_COLS  "uuid, address, port, version, inform, community, user, auth_key, priv_key"
#define INTENT_COLS                                                                                \
	"vm, op, state, why, host, from_host, clean, alerted, attempts, created, error, incarnation"

enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_MAP_SELECT,
	S_MAP_DELETE,
	S_MAP_DELETE_OWNER,
	S_MAP_INSERT,
	S_POOL_SELECT,
	S_POOL_UPSERT,
	S_POOL_DELETE_MAPS,
	S_HOST_SELECT,
	S_HOST_LIST,
	S_HOST_UPSERT,
	S_HOST_DELETE,
	S_HOST_METRICS,
	S_HOST_INCARNATION,
	S_VM_SELECT,
	S_VM_LIST,
	S_VM_LIST_RESIDENT,
	S_VM_UPSERT,
	S_VM_DELETE,
	S_VM_SET_POWER,
	S_MEMBER_SELECT,
	S_MEMBER_DELETE,
	S_MEMBER_INSERT,
	S_GROUP_SELECT,
	S_GROUP_LIST,
	S_GROUP_UPSERT,
	S_GROUP_DELETE,
	S_MSG_INSERT,
	S_MSG_LIST,
	S_MSG_DELETE,
	S_MSG_UNNOTIFIED,
	S_NOTIFIED_INSERT,
	S_NOTIFIED_DELETE,
	S_NOTIFIED_SELECT,
	S_SNMP_UPSERT,
	S_SNMP_DELETE,
	S_SNMP_LIST,
	S_FENCE_INSERT,
	S_FENCE_LIST_ALL,
	S_FENCE_LIST_HOST,
	S_USER_SELECT,
	S_USER_UPSERT,
	S_USER_DELETE,
	S_INTENT_SELECT,
	S_INTENT_LIST,
	S_INTENT_UPSERT,
	S_INTENT_DELETE,
	/* for the change hook (db_set_change_hook) */
	S_POOL_UUID,
	S_HOST_EXISTS,
	S_VM_RESIDENT,
	S_GROUP_EXISTS,
	S_USER_EXISTS,
	S_USER_LIST,
	S_VMS_OF_HOST,
	S_GROUP_MEMBERS,
	S_INTENT_EXISTS,
	/* replication */
	S_REPL_GET,
	S_REPL_SET,
	S_FK_ON,
	S_FK_OFF,
	S_TABLE_INFO,
	S_FKCHECK_VM,
	S_FKCHECK_MEMBER,
	S_FKCHECK_INTENT,
	S_GROUPS_MAX,
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SAVEPOINT] = "SAVEPOINT db_write",
    [S_RELEASE] = "RELEASE db_write",
    [S_ROLLBACK_TO] = "ROLLBACK TO db_write",
    [S_MAP_SELECT] = "SELECT key, value FROM map WHERE owner = ?1 AND field = ?2 ORDER BY key",
    [S_MAP_DELETE] = "DELETE FROM map WHERE owner = ?1 AND field = ?2",
    [S_MAP_DELETE_OWNER] = "DELETE FROM map WHERE owner = ?1",
    [S_MAP_INSERT] = "INSERT INTO map (owner, field, key, value) VALUES (?1, ?2, ?3, ?4)",
    [S_POOL_SELECT] = "SELECT " POOL_COLS " FROM pool WHERE id = 1",
    [S_POOL_UPSERT] = "INSERT INTO pool (id, " POOL_COLS ") VALUES "
                      "(1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
                      "ON CONFLICT (id) DO UPDATE SET uuid = ?1, name_label = ?2, "
                      "name_description = ?3, master = ?4, ha_enabled = ?5, "
                      "ha_host_failures_to_tolerate = ?6, ha_plan_exists_for = ?7, "
                      "ha_allow_overcommit = ?8, ha_overcommitted = ?9, "
                      "ha_reboot_vm_on_internal_shutdown = ?10, ha_cluster_stack = ?11, "
                      "cluster_key = ?12",
    [S_POOL_DELETE_MAPS] = "DELETE FROM map WHERE owner IN (SELECT uuid FROM pool)",
    [S_HOST_SELECT] = "SELECT " HOST_READ_COLS " FROM host WHERE uuid = ?1",
    [S_HOST_LIST] = "SELECT " HOST_READ_COLS " FROM host ORDER BY name_label, uuid",
    [S_HOST_UPSERT] = "INSERT INTO host (" HOST_COLS ") VALUES "
                      "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
                      "ON CONFLICT (uuid) DO UPDATE SET name_label = ?2, hostname = ?3, "
                      "address = ?4, enabled = ?5, memory_total = ?6, memory_overhead = ?7, "
                      "live = ?8, memory_free = ?9, last_updated = ?10, "
                      "cluster_nodeid = ?11, address2 = ?12",
    [S_HOST_DELETE] = "DELETE FROM host WHERE uuid = ?1",
    [S_HOST_METRICS] = "UPDATE host SET live = ?2, memory_total = ?3, memory_free = ?4, "
                       "last_updated = ?5 WHERE uuid = ?1",
    [S_HOST_INCARNATION] = "UPDATE host SET incarnation = ?2 WHERE uuid = ?1",
    [S_VM_SELECT] = "SELECT " VM_COLS " FROM vm WHERE uuid = ?1",
    [S_VM_LIST] = "SELECT " VM_COLS " FROM vm ORDER BY name_label, uuid",
    [S_VM_LIST_RESIDENT] = "SELECT " VM_COLS " FROM vm WHERE resident_on = ?1 "
                           "ORDER BY name_label, uuid",
    [S_VM_UPSERT] = "INSERT INTO vm (uuid, name_label, power_state, resident_on, affinity, "
                    "memory_static_max, memory_overhead, VCPUs_max, ha_restart_priority, "
                    "ha_always_run, \"order\", start_delay, is_control_domain, hv_config) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
                    "ON CONFLICT (uuid) DO UPDATE SET name_label = ?2, power_state = ?3, "
                    "resident_on = ?4, affinity = ?5, memory_static_max = ?6, "
                    "memory_overhead = ?7, VCPUs_max = ?8, ha_restart_priority = ?9, "
                    "ha_always_run = ?10, \"order\" = ?11, start_delay = ?12, "
                    "is_control_domain = ?13, hv_config = ?14",
    [S_VM_DELETE] = "DELETE FROM vm WHERE uuid = ?1",
    [S_VM_SET_POWER] = "UPDATE vm SET power_state = ?2, resident_on = ?3 WHERE uuid = ?1",
    [S_MEMBER_SELECT] = "SELECT group_uuid FROM vm_group_member WHERE vm_uuid = ?1 "
                        "ORDER BY position",
    [S_MEMBER_DELETE] = "DELETE FROM vm_group_member WHERE vm_uuid = ?1",
    [S_MEMBER_INSERT] = "INSERT INTO vm_group_member (vm_uuid, group_uuid, position) "
                        "VALUES (?1, ?2, ?3)",
    [S_GROUP_SELECT] = "SELECT " GROUP_COLS " FROM vm_group WHERE uuid = ?1",
    [S_GROUP_LIST] = "SELECT " GROUP_COLS " FROM vm_group ORDER BY name_label, uuid",
    [S_GROUP_UPSERT] = "INSERT INTO vm_group (" GROUP_COLS ") VALUES (?1, ?2, ?3, ?4) "
                       "ON CONFLICT (uuid) DO UPDATE SET name_label = ?2, "
                       "name_description = ?3, placement = ?4",
    [S_GROUP_DELETE] = "DELETE FROM vm_group WHERE uuid = ?1",
    [S_MSG_INSERT] = "INSERT INTO message (" MSG_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_MSG_LIST] = "SELECT " MSG_COLS " FROM message WHERE timestamp >= ?1 "
                   "ORDER BY timestamp, rowid",
    [S_MSG_DELETE] = "DELETE FROM message WHERE uuid = ?1",
    [S_MSG_UNNOTIFIED] = "SELECT " MSG_COLS " FROM message WHERE uuid NOT IN "
                         "(SELECT uuid FROM message_notified) ORDER BY timestamp, rowid",
    [S_NOTIFIED_INSERT] = "INSERT OR IGNORE INTO message_notified (uuid, host, time) "
                          "VALUES (?1, ?2, ?3)",
    [S_NOTIFIED_DELETE] = "DELETE FROM message_notified WHERE uuid = ?1",
    [S_NOTIFIED_SELECT] = "SELECT 1 FROM message_notified WHERE uuid = ?1",
    [S_SNMP_UPSERT] = "INSERT INTO snmp_receiver (" SNMP_COLS ") VALUES "
                      "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                      "ON CONFLICT (uuid) DO UPDATE SET address = ?2, port = ?3, version = ?4, "
                      "inform = ?5, community = ?6, user = ?7, auth_key = ?8, priv_key = ?9",
    [S_SNMP_DELETE] = "DELETE FROM snmp_receiver WHERE uuid = ?1",
    [S_SNMP_LIST] = "SELECT " SNMP_COLS " FROM snmp_receiver ORDER BY address, port, uuid",
    [S_FENCE_INSERT] = "INSERT INTO fence_record (host_uuid, timestamp, reason, detail) "
                       "VALUES (?1, ?2, ?3, ?4)",
    [S_FENCE_LIST_ALL] = "SELECT " FENCE_COLS " FROM fence_record "
                         "ORDER BY timestamp DESC, id DESC",
    [S_FENCE_LIST_HOST] = "SELECT " FENCE_COLS " FROM fence_record WHERE host_uuid = ?1 "
                          "ORDER BY timestamp DESC, id DESC",
    [S_USER_SELECT] = "SELECT name, password_hash, role FROM user WHERE name = ?1",
    [S_USER_UPSERT] = "INSERT INTO user (name, password_hash, role) VALUES (?1, ?2, ?3) "
                      "ON CONFLICT (name) DO UPDATE SET password_hash = ?2, role = ?3",
    [S_USER_DELETE] = "DELETE FROM user WHERE name = ?1",
    [S_INTENT_SELECT] = "SELECT " INTENT_COLS " FROM vm_intent WHERE vm = ?1",
    [S_INTENT_LIST] = "SELECT " INTENT_COLS " FROM vm_intent ORDER BY vm",
    [S_INTENT_UPSERT] = "INSERT INTO vm_intent (" INTENT_COLS ") VALUES "
                        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
                        "ON CONFLICT (vm) DO UPDATE SET op = ?2, state = ?3, why = ?4, "
                        "host = ?5, from_host = ?6, clean = ?7, alerted = ?8, attempts = ?9, "
                        "created = ?10, error = ?11, incarnation = ?12",
    [S_INTENT_DELETE] = "DELETE FROM vm_intent WHERE vm = ?1",
    [S_POOL_UUID] = "SELECT uuid FROM pool WHERE id = 1",
    [S_HOST_EXISTS] = "SELECT 1 FROM host WHERE uuid = ?1",
    [S_VM_RESIDENT] = "SELECT ifnull(resident_on, '') FROM vm WHERE uuid = ?1",
    [S_GROUP_EXISTS] = "SELECT 1 FROM vm_group WHERE uuid = ?1",
    [S_USER_EXISTS] = "SELECT 1 FROM user WHERE name = ?1",
    [S_USER_LIST] = "SELECT name, password_hash, role FROM user ORDER BY name",
    [S_VMS_OF_HOST] = "SELECT uuid FROM vm WHERE resident_on = ?1 OR affinity = ?1",
    [S_GROUP_MEMBERS] = "SELECT vm_uuid FROM vm_group_member WHERE group_uuid = ?1",
    [S_INTENT_EXISTS] = "SELECT vm FROM vm_intent WHERE vm = ?1",
    [S_REPL_GET] = "SELECT term, seq FROM repl WHERE id = 1",
    [S_REPL_SET] = "UPDATE repl SET term = ?1, seq = ?2 WHERE id = 1",
    [S_FK_ON] = "PRAGMA foreign_keys = ON",
    [S_FK_OFF] = "PRAGMA foreign_keys = OFF",
    [S_TABLE_INFO] = "SELECT name, pk FROM pragma_table_info(?1) ORDER BY cid",
    [S_FKCHECK_VM] = "PRAGMA foreign_key_check(vm)",
    [S_FKCHECK_MEMBER] = "PRAGMA foreign_key_check(vm_group_member)",
    [S_FKCHECK_INTENT] = "PRAGMA foreign_key_check(vm_intent)",
    [S_GROUPS_MAX] = "SELECT 1 FROM vm_group_member GROUP BY vm_uuid "
                     "HAVING count(*) > " XSTR(DB_VM_MAX_GROUPS) " LIMIT 1",
};

/* One row change noted by a write, waiting for its transaction to commit.
** The key is a uuid, a user name, or a fence record id in decimal. */
struct db_pending {
	enum db_table table;
	enum db_change op;
	int done; /* merged into an earlier entry while delivering */
	char key[DB_NAME_LEN];
};

/* The columns of a replicated table, read from the schema once per
** connection (see repl_tables[]). */
#define DB_MAX_COLS 32

struct db_tinfo {
	int loaded;
	int ncol;
	unsigned char pk[DB_MAX_COLS]; /* position in the primary key (1..), 0 if not in it */
	int col_a, col_b;              /* repl_tables[].col_a/col_b, -1 if none */
};

#define DB_NTABLES 12

struct db {
	sqlite3 *h;
	char *path;
	int readonly;
	int txn; /* inside db_begin() */
	/* Inside db_capture_begin(): a transaction like db_begin()'s, recorded
	** by `session`. */
	int capture;
	sqlite3_session *session;
	struct db_tinfo tinfo[DB_NTABLES];
	sqlite3_stmt *stmt[S_COUNT];
	char err[512];
	/* The change hook.  Changes are noted only while a hook is set, as a
	** raw append-only log of the open transaction (pend[0..npend)); a write
	** that fails inside db_begin() truncates the log back to pend_mark, the
	** length it had when that write started.  Coalescing happens once, on
	** delivery after COMMIT; a rollback just empties the log. */
	db_change_hook hook;
	void *hook_arg;
	struct db_pending *pend;
	size_t npend, pend_cap, pend_mark;
};

static void db_set_err(struct db *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
db_set_err(struct db *db, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(db->err, sizeof(db->err), fmt, ap);
	va_end(ap);
}

/* Record the connection's current error, prefixed by what we were doing. */
static void
db_sql_err(struct db *db, const char *what)
{
	db_set_err(db, "%s: %s: %s", db->path, what, sqlite3_errmsg(db->h));
}

/* The cached statement `id`, reset and with no bindings; NULL on error. */
static sqlite3_stmt *
st(struct db *db, enum stmt_id id)
{
	sqlite3_stmt *s = db->stmt[id];

	if (s == NULL) {
		if (sqlite3_prepare_v3(db->h, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s,
		                       NULL) != SQLITE_OK) {
			db_sql_err(db, "preparing a statement");
			return NULL;
		}
		db->stmt[id] = s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

/* Run a statement that returns no rows; 0 or -1. */
static int
run(struct db *db, sqlite3_stmt *s, const char *what)
{
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		db_sql_err(db, what);
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	return 0;
}

/* Fixed-size strings are bound up to their NUL or their size, whichever
** comes first, so an unterminated array is never over-read. */
static void
bind_str(sqlite3_stmt *s, int i, const char *str, size_t size)
{
	sqlite3_bind_text(s, i, str, (int)strnlen(str, size), SQLITE_STATIC);
}

/* A reference to a row of another table: "" is bound as NULL. */
static void
bind_ref(sqlite3_stmt *s, int i, const char *uuid, size_t size)
{
	if (uuid[0] == '\0')
		sqlite3_bind_null(s, i);
	else
		bind_str(s, i, uuid, size);
}

static void
col_str(sqlite3_stmt *s, int i, char *out, size_t size)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	snprintf(out, size, "%s", t != NULL ? (const char *)t : "");
}

#define COL_STR(s, i, field)  col_str((s), (i), (field), sizeof(field))
#define BIND_STR(s, i, field) bind_str((s), (i), (field), sizeof(field))
#define BIND_REF(s, i, field) bind_ref((s), (i), (field), sizeof(field))
/* Copy a fixed-size string field into a fixed-size buffer, bounded by both. */
#define BUF_STR(dst, src) snprintf((dst), sizeof(dst), "%.*s", (int)sizeof(src), (src))

/* ---- change notification ---- */

void
db_set_change_hook(struct db *db, db_change_hook fn, void *arg)
{
	db->hook = fn;
	db->hook_arg = arg;
}

/* Log that row `key` of `table` changed by `op` in the current write.  A
** no-op without a hook, so that a database nobody watches pays nothing. */
static void
note(struct db *db, enum db_table table, const char *key, enum db_change op)
{
	struct db_pending *p;

	if (db->hook == NULL)
		return;
	if (db->npend == db->pend_cap) {
		db->pend_cap = db->pend_cap != 0 ? 2 * db->pend_cap : 16;
		db->pend = xreallocarray(db->pend, db->pend_cap, sizeof(*db->pend));
	}
	p = &db->pend[db->npend++];
	p->table = table;
	p->op = op;
	p->done = 0;
	snprintf(p->key, sizeof(p->key), "%s", key);
}

/* The transaction was rolled back: forget what it changed. */
static void
changes_drop(struct db *db)
{
	db->npend = 0;
	db->pend_mark = 0;
}

/* The transaction committed: report each changed row once, in the order of
** its first change, with the net effect of its changes (db.h): whether it
** existed before is told by the first change (anything but an add means it
** did), whether it exists now by the last (anything but a del). */
static void
changes_deliver(struct db *db)
{
	struct db_pending *p = db->pend;
	size_t n = db->npend, i, j;

	/* Take the log away first: a hook may write, and so log, again. */
	db->pend = NULL;
	db->npend = db->pend_cap = db->pend_mark = 0;
	for (i = 0; i < n && db->hook != NULL; i++) {
		enum db_change first = p[i].op, last = p[i].op, op;
		int before, after;

		if (p[i].done)
			continue;
		for (j = i + 1; j < n; j++) {
			if (p[j].done || p[j].table != p[i].table || strcmp(p[j].key, p[i].key) != 0)
				continue;
			last = p[j].op;
			p[j].done = 1;
		}
		before = first != DB_CHANGE_ADD;
		after = last != DB_CHANGE_DEL;
		if (!before && !after)
			continue; /* created and deleted: nobody saw it */
		op = !before ? DB_CHANGE_ADD : after ? DB_CHANGE_MOD : DB_CHANGE_DEL;
		db->hook(db->hook_arg, p[i].table, p[i].key, op);
	}
	xfree(p);
}

/* ---- transactions ---- */

static void
rollback_quietly(struct db *db)
{
	sqlite3_stmt *s;

	if (sqlite3_get_autocommit(db->h))
		return; /* nothing open: SQLite already rolled it back */
	s = st(db, S_ROLLBACK);
	if (s != NULL) {
		sqlite3_step(s);
		sqlite3_reset(s);
	}
}

/* Inside a transaction of the caller's: db_begin() or a capture. */
static int
in_txn(const struct db *db)
{
	return db->txn || db->capture;
}

static int
write_begin(struct db *db)
{
	if (in_txn(db)) {
		if (sqlite3_get_autocommit(db->h)) {
			db_set_err(db, "%s: the transaction was rolled back by an earlier error",
			           db->path);
			return -1;
		}
		if (run(db, st(db, S_SAVEPOINT), "starting a write") < 0)
			return -1;
		db->pend_mark = db->npend;
		return 0;
	}
	/* Outside db_begin() the log is always empty here (every write ends
	** by delivering or dropping it); clearing it is belt and braces. */
	changes_drop(db);
	return run(db, st(db, S_BEGIN), "starting a transaction");
}

/* End a write started by write_begin(): keep it if rc >= 0, undo it all
** otherwise.  Returns rc, or -1 if the commit failed. */
static int
write_end(struct db *db, int rc)
{
	if (in_txn(db)) {
		if (sqlite3_get_autocommit(db->h))
			return -1; /* SQLite rolled the whole transaction back */
		if (rc < 0) {
			/* This write is undone (or the whole transaction is, if
			** the ROLLBACK TO fails): its changes never happened. */
			db->npend = db->pend_mark;
			if (run(db, st(db, S_ROLLBACK_TO), "undoing a failed write") < 0)
				return -1;
		}
		if (run(db, st(db, S_RELEASE), "ending a write") < 0)
			return -1;
		return rc;
	}
	if (rc >= 0) {
		if (FAULT("db.commit.fail")) {
			db_set_err(db, "%s: commit failed (fault db.commit.fail)", db->path);
			rc = -1;
		} else if (run(db, st(db, S_COMMIT), "committing") < 0) {
			rc = -1;
		}
	}
	if (rc < 0) {
		rollback_quietly(db);
		changes_drop(db);
	} else {
		changes_deliver(db);
	}
	return rc;
}

/* Inside a capture db_begin/db_commit/db_rollback are no-ops: the capture
** is the transaction (db.h). */
int
db_begin(struct db *db)
{
	if (db->capture)
		return 0;
	if (db->txn) {
		db_set_err(db, "%s: a transaction is already open", db->path);
		return -1;
	}
	if (run(db, st(db, S_BEGIN), "starting a transaction") < 0)
		return -1;
	db->txn = 1;
	changes_drop(db);
	return 0;
}

int
db_commit(struct db *db)
{
	int rc = 0;

	if (db->capture)
		return 0;
	if (!db->txn) {
		db_set_err(db, "%s: commit without a transaction", db->path);
		return -1;
	}
	db->txn = 0;
	if (sqlite3_get_autocommit(db->h)) {
		db_set_err(db, "%s: the transaction was rolled back by an earlier error", db->path);
		changes_drop(db);
		return -1;
	}
	if (FAULT("db.commit.fail")) {
		db_set_err(db, "%s: commit failed (fault db.commit.fail)", db->path);
		rc = -1;
	} else if (run(db, st(db, S_COMMIT), "committing") < 0) {
		rc = -1;
	}
	if (rc < 0) {
		rollback_quietly(db);
		changes_drop(db);
	} else {
		changes_deliver(db);
	}
	return rc;
}

void
db_rollback(struct db *db)
{
	if (db == NULL || db->capture || !db->txn)
		return;
	db->txn = 0;
	rollback_quietly(db);
	changes_drop(db);
}

/* ---- maps ---- */

/* Index of `key`, or of where it would go (with *found = 0). */
static size_t
map_find(const struct db_map *m, const char *key, int *found)
{
	size_t lo = 0, hi = m->n;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->kv[mid].key, key);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const char *
db_map_get(const struct db_map *m, const char *key)
{
	int found;
	size_t i = map_find(m, key, &found);

	return found ? m->kv[i].value : NULL;
}

void
db_map_set(struct db_map *m, const char *key, const char *value)
{
	int found;
	size_t i = map_find(m, key, &found);

	if (found) {
		char *v = xstrdup(value);

		xfree(m->kv[i].value);
		m->kv[i].value = v;
		return;
	}
	m->kv = xreallocarray(m->kv, m->n + 1, sizeof(*m->kv));
	memmove(&m->kv[i + 1], &m->kv[i], (m->n - i) * sizeof(*m->kv));
	m->kv[i].key = xstrdup(key);
	m->kv[i].value = xstrdup(value);
	m->n++;
}

int
db_map_remove(struct db_map *m, const char *key)
{
	int found;
	size_t i = map_find(m, key, &found);

	if (!found)
		return -1;
	xfree(m->kv[i].key);
	xfree(m->kv[i].value);
	memmove(&m->kv[i], &m->kv[i + 1], (m->n - i - 1) * sizeof(*m->kv));
	m->n--;
	return 0;
}

void
db_map_clear(struct db_map *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		xfree(m->kv[i].key);
		xfree(m->kv[i].value);
	}
	xfree(m->kv);
	m->kv = NULL;
	m->n = 0;
}

void
db_map_copy(struct db_map *dst, const struct db_map *src)
{
	size_t i;

	if (dst == src)
		return;
	db_map_clear(dst);
	if (src->n == 0)
		return;
	dst->kv = xcalloc(src->n, sizeof(*dst->kv));
	for (i = 0; i < src->n; i++) {
		dst->kv[i].key = xstrdup(src->kv[i].key);
		dst->kv[i].value = xstrdup(src->kv[i].value);
	}
	dst->n = src->n;
}

/* Replace *m by the stored map (owner, field); 0 or -1. */
static int
map_load(struct db *db, const char *owner, const char *field, struct db_map *m)
{
	sqlite3_stmt *s = st(db, S_MAP_SELECT);
	int rc;

	db_map_clear(m);
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, field, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		db_map_set(m, (const char *)sqlite3_column_text(s, 0),
		           (const char *)sqlite3_column_text(s, 1));
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		db_sql_err(db, "reading a map");
		db_map_clear(m);
		return -1;
	}
	return 0;
}

/* Store `m` as the whole map (owner, field).  Call inside a write. */
static int
map_save(struct db *db, const char *owner, const char *field, const struct db_map *m)
{
	sqlite3_stmt *s;
	size_t i;

	s = st(db, S_MAP_DELETE);
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, field, -1, SQLITE_STATIC);
	if (run(db, s, "replacing a map") < 0)
		return -1;
	for (i = 0; i < m->n; i++) {
		s = st(db, S_MAP_INSERT);
		if (s == NULL)
			return -1;
		sqlite3_bind_text(s, 1, owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, field, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, m->kv[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, m->kv[i].value, -1, SQLITE_STATIC);
		if (run(db, s, "writing a map") < 0)
			return -1;
	}
	return 0;
}

static int
maps_delete(struct db *db, const char *owner)
{
	sqlite3_stmt *s = st(db, S_MAP_DELETE_OWNER);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, owner, -1, SQLITE_STATIC);
	return run(db, s, "deleting maps");
}

/* ---- enums ---- */

static const char *const power_names[] = {
    [DB_POWER_HALTED] = "Halted",
    [DB_POWER_PAUSED] = "Paused",
    [DB_POWER_RUNNING] = "Running",
    [DB_POWER_SUSPENDED] = "Suspended",
};
static const char *const prio_names[] = {
    [DB_PRIO_NONE] = "",
    [DB_PRIO_RESTART] = "restart",
    [DB_PRIO_BEST_EFFORT] = "best-effort",
};
static const char *const placement_names[] = {
    [DB_PLACEMENT_NORMAL] = "normal",
    [DB_PLACEMENT_ANTI_AFFINITY] = "anti_affinity",
};

static const char *
enum_name(const char *const *names, size_t n, int v)
{
	return v >= 0 && (size_t)v < n ? names[v] : NULL;
}

static int
enum_from_name(const char *const *names, size_t n, const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *
db_power_state_name(enum db_power_state s)
{
	return enum_name(power_names, ARRAY_SIZE(power_names), (int)s);
}

int
db_power_state_from_name(const char *name)
{
	return enum_from_name(power_names, ARRAY_SIZE(power_names), name);
}

const char *
db_restart_priority_name(enum db_restart_priority p)
{
	return enum_name(prio_names, ARRAY_SIZE(prio_names), (int)p);
}

int
db_restart_priority_from_name(const char *name)
{
	return enum_from_name(prio_names, ARRAY_SIZE(prio_names), name);
}

const char *
db_placement_name(enum db_placement p)
{
	return enum_name(placement_names, ARRAY_SIZE(placement_names), (int)p);
}

int
db_placement_from_name(const char *name)
{
	return enum_from_name(placement_names, ARRAY_SIZE(placement_names), name);
}

/* ---- opening ---- */

/* "file:" URI for `path` with `query`, percent-encoding what a URI parser
** would otherwise interpret. */
static char *
file_uri(const char *path, const char *query)
{
	size_t n = strlen(path), i, o = 0;
	char *u = xmalloc(5 + 3 * n + strlen(query) + 2);

	memcpy(u, "file:", 5);
	o = 5;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)path[i];

		if (c == '%' || c == '?' || c == '#' || c <= ' ' || c >= 0x7f) {
			snprintf(u + o, 4, "%%%02X", c);
			o += 3;
		} else {
			u[o++] = (char)c;
		}
	}
	u[o++] = '?';
	strcpy(u + o, query);
	return u;
}

static int
file_exists(const char *path, const char *suffix)
{
	char *p = xasprintf("%s%s", path, suffix);
	struct stat sb;
	int r = stat(p, &sb) == 0;

	xfree(p);
	return r;
}

/* One integer from a constant query; 0 or the SQLite error code. */
static int
query_int(sqlite3 *h, const char *sql, int64_t *out)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(h, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_ERROR;
	}
	sqlite3_finalize(s);
	return rc;
}

static void
sqlite_refusal(sqlite3 *h, const char *path, int rc, char *err, size_t errlen)
{
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
		snprintf(err, errlen, "%s: not an SQLite database", path);
		break;
	case SQLITE_CORRUPT:
		snprintf(err, errlen, "%s: the database is damaged (%s); refusing to open it", path,
		         sqlite3_errmsg(h));
		break;
	default:
		snprintf(err, errlen, "%s: cannot read the database: %s", path, sqlite3_errmsg(h));
		break;
	}
}

/* chmod 0600 the database file and its -wal/-shm files if they exist (and
** are group- or world-accessible).  0, or -1 with errno. */
static int
protect_files(const char *path)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};
	char f[PATH_MAX];
	struct stat sb;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sfx); i++) {
		if ((size_t)snprintf(f, sizeof(f), "%s%s", path, sfx[i]) >= sizeof(f)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (stat(f, &sb) < 0) {
			if (errno == ENOENT && i > 0)
				continue;
			return -1;
		}
		if ((sb.st_mode & 077) != 0 && chmod(f, sb.st_mode & 0700) < 0)
			return -1;
	}
	return 0;
}

/* Is the database behind `h` one we may open?  Checks that it is SQLite,
** that it is ours (or brand new and empty), and that its schema is not newer
** than ours.  Reads only.  0 with *version set, or -1 with err set. */
static int
check_identity(sqlite3 *h, const char *path, int64_t *version, char *err, size_t errlen)
{
	int64_t appid, ntables;
	int rc;

	rc = query_int(h, "SELECT count(*) FROM sqlite_master", &ntables);
	if (rc == SQLITE_OK)
		rc = query_int(h, "PRAGMA application_id", &appid);
	if (rc == SQLITE_OK)
		rc = query_int(h, "PRAGMA user_version", version);
	if (rc != SQLITE_OK) {
		sqlite_refusal(h, path, rc, err, errlen);
		return -1;
	}
	if (appid != DB_APPLICATION_ID && !(appid == 0 && ntables == 0)) {
		snprintf(err, errlen,
		         "%s: not a hasvc pool database (application_id 0x%08" PRIx32 ")", path,
		         (uint32_t)appid);
		return -1;
	}
	if (*version > DB_SCHEMA_VERSION || *version < 0) {
		snprintf(err, errlen,
		         "%s: schema version %" PRId64
		         " is newer than this hasvcd supports (%d); refusing to open it",
		         path, *version, DB_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

static int
check_integrity(sqlite3 *h, const char *path, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(h, "PRAGMA quick_check(1)", -1, &s, NULL);
	if (rc != SQLITE_OK) {
		sqlite_refusal(h, path, rc, err, errlen);
		return -1;
	}
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite_refusal(h, path, rc, err, errlen);
		sqlite3_finalize(s);
		return -1;
	}
	if (strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0) {
		snprintf(err, errlen,
		         "%s: the database is damaged (quick_check: %s); refusing to open it", path,
		         (const char *)sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	return 0;
}

/* A read-only connection that writes nothing and creates no file: with no
** -wal present, "immutable" (no locks, no -shm); with one (a live writer or a
** crash), an ordinary read-only connection, so the WAL's contents are seen. */
static int
open_readonly(const char *path, sqlite3 **hp, char *err, size_t errlen)
{
	char *uri = file_uri(path, file_exists(path, "-wal") ? "mode=ro" : "mode=ro&immutable=1");
	int rc;

	rc = sqlite3_open_v2(uri, hp, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	xfree(uri);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		         *hp != NULL ? sqlite3_errmsg(*hp) : sqlite3_errstr(rc));
		sqlite3_close(*hp);
		*hp = NULL;
		return -1;
	}
	sqlite3_busy_timeout(*hp, DB_BUSY_TIMEOUT_MS);
	return 0;
}

static int
exec_const(struct db *db, const char *sql, const char *what)
{
	if (sqlite3_exec(db->h, sql, NULL, NULL, NULL) != SQLITE_OK) {
		db_sql_err(db, what);
		return -1;
	}
	return 0;
}

/* Bring the schema to DB_SCHEMA_VERSION in one transaction. */
static int
migrate(struct db *db, char *err, size_t errlen)
{
	int64_t version;
	size_t v;

	if (exec_const(db, "BEGIN IMMEDIATE", "starting the migration") < 0)
		goto fail;
	/* Again, now under the write lock: another process may have won. */
	if (check_identity(db->h, db->path, &version, err, errlen) < 0)
		goto fail_refused;
	if (version == DB_SCHEMA_VERSION) {
		if (exec_const(db, "COMMIT", "ending the migration") < 0)
			goto fail;
		return 0;
	}
	for (v = (size_t)version; v < DB_SCHEMA_VERSION; v++) {
		char what[64];

		snprintf(what, sizeof(what), "migrating from schema version %zu", v);
		if (exec_const(db, migrations[v], what) < 0)
			goto fail;
		if (FAULT("db.migrate.fail")) {
			db_set_err(db, "%s: %s: failed (fault db.migrate.fail)", db->path, what);
			goto fail;
		}
	}
	if (exec_const(db, "PRAGMA application_id = " XSTR(DB_APPLICATION_ID), "tagging") < 0 ||
	    exec_const(db, "PRAGMA user_version = " XSTR(DB_SCHEMA_VERSION), "versioning") < 0 ||
	    exec_const(db, "COMMIT", "committing the migration") < 0)
		goto fail;
	log_info("pool database %s: schema version %" PRId64 " -> %d", db->path, version,
	         DB_SCHEMA_VERSION);
	return 0;
fail:
	snprintf(err, errlen, "%s", db->err);
fail_refused:
	rollback_quietly(db);
	return -1;
}

struct db *
db_open(const char *path, int flags, char *err, size_t errlen)
{
	struct db *db;
	struct stat sb;
	sqlite3 *ro = NULL;
	int64_t version = 0;
	int exists, rc;

	if (stat(path, &sb) == 0) {
		exists = 1;
		if (!S_ISREG(sb.st_mode)) {
			snprintf(err, errlen, "%s: not a regular file", path);
			return NULL;
		}
	} else if (errno == ENOENT) {
		exists = 0;
		if (!(flags & DB_OPEN_CREATE) || (flags & DB_OPEN_READONLY)) {
			snprintf(err, errlen, "%s: no such file", path);
			return NULL;
		}
	} else {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}

	if (exists) {
		if (open_readonly(path, &ro, err, errlen) < 0)
			return NULL;
		if (check_identity(ro, path, &version, err, errlen) < 0 ||
		    check_integrity(ro, path, err, errlen) < 0)
			goto fail_ro;
	}

	db = xcalloc(1, sizeof(*db));
	db->path = xstrdup(path);
	if (flags & DB_OPEN_READONLY) {
		if (version < DB_SCHEMA_VERSION) {
			snprintf(
			    err, errlen,
			    "%s: schema version %" PRId64
			    " is older than this hasvcd's (%d); open it read-write to migrate it",
			    path, version, DB_SCHEMA_VERSION);
			db_close(db);
			goto fail_ro;
		}
		db->h = ro;
		db->readonly = 1;
		return db;
	}
	sqlite3_close(ro);

	rc = sqlite3_open_v2(
	    path, &db->h,
	    SQLITE_OPEN_READWRITE | (exists ? 0 : SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot %s: %s", path, exists ? "open" : "create",
		         db->h != NULL ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(db->h, 1);
	sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);
	/* The file holds secrets (SNMP keys, the cluster key, password
	** hashes): owner only, and so are the -wal/-shm files SQLite creates
	** next to it with the main file's mode. */
	if (protect_files(db->path) < 0) {
		snprintf(err, errlen, "%s: cannot make it mode 0600: %s", path, strerror(errno));
		goto fail;
	}
	if (exec_const(db, "PRAGMA foreign_keys = ON", "enabling foreign keys") < 0 ||
	    exec_const(db, "PRAGMA journal_mode = WAL", "switching to WAL") < 0 ||
	    exec_const(db, "PRAGMA synchronous = FULL", "setting synchronous") < 0) {
		snprintf(err, errlen, "%s", db->err);
		goto fail;
	}
	if (migrate(db, err, errlen) < 0)
		goto fail;
	return db;
fail:
	db_close(db);
	return NULL;
fail_ro:
	sqlite3_close(ro);
	return NULL;
}

void
db_close(struct db *db)
{
	size_t i;

	if (db == NULL)
		return;
	db_capture_abort(db);
	if (db->txn)
		db_rollback(db);
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(db->stmt[i]);
	if (db->h != NULL && sqlite3_close(db->h) != SQLITE_OK)
		log_warnx("pool database %s: close: %s", db->path, sqlite3_errmsg(db->h));
	xfree(db->pend);
	xfree(db->path);
	xfree(db);
}

const char *
db_errmsg(struct db *db)
{
	return db->err[0] != '\0' ? db->err : "no error";
}

/* ---- what a write changes, for the change hook ---- */

/* 1 if query `id` with ?1 = key returns a row, 0 if not, -1 on error. */
static int
row_exists(struct db *db, enum stmt_id id, const char *key)
{
	sqlite3_stmt *s = st(db, id);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		db_sql_err(db, "looking up a row");
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Before an upsert of `key`: log an add if the row is new, else a mod. */
static int
note_put(struct db *db, enum stmt_id exists, enum db_table table, const char *key)
{
	int r;

	if (db->hook == NULL)
		return 0;
	r = row_exists(db, exists, key);
	if (r >= 0)
		note(db, table, key, r ? DB_CHANGE_MOD : DB_CHANGE_ADD);
	return r < 0 ? -1 : 0;
}

/* Log `op` on `table` for each key in the first column of query `id`
** (?1 = key). */
static int
note_rows(struct db *db, enum stmt_id id, const char *key, enum db_table table,
          enum db_change op)
{
	sqlite3_stmt *s = st(db, id);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		note(db, table, (const char *)sqlite3_column_text(s, 0), op);
	if (rc != SQLITE_DONE)
		db_sql_err(db, "finding the rows a write changes");
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The references of a VM that other records list back: the host's
** resident_VMs and each group's VMs (xapi reports a mod of the referenced
** object when such a reference changes, and so do we). */
struct vm_links {
	char resident_on[HA_UUID_LEN];
	size_t ngroups;
	char groups[DB_VM_MAX_GROUPS][HA_UUID_LEN];
};

/* The stored links of VM `uuid`: 0, 1 no such VM (*l empty), -1 error. */
static int
vm_links_load(struct db *db, const char *uuid, struct vm_links *l)
{
	sqlite3_stmt *s = st(db, S_VM_RESIDENT);
	int rc;

	memset(l, 0, sizeof(*l));
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		COL_STR(s, 0, l->resident_on);
	else if (rc != SQLITE_DONE)
		db_sql_err(db, "reading a VM's host");
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 1 : -1;
	s = st(db, S_MEMBER_SELECT);
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (ALWAYS(l->ngroups < DB_VM_MAX_GROUPS))
			COL_STR(s, 0, l->groups[l->ngroups++]);
	if (rc != SQLITE_DONE)
		db_sql_err(db, "reading a VM's groups");
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
links_has_group(const struct vm_links *l, const char *g)
{
	size_t i;

	for (i = 0; i < l->ngroups; i++)
		if (strcmp(l->groups[i], g) == 0)
			return 1;
	return 0;
}

/* Log a mod of every host and group that lists the VM in one of `a`, `b`
** but not the other. */
static void
note_links_diff(struct db *db, const struct vm_links *a, const struct vm_links *b)
{
	size_t i;

	if (strcmp(a->resident_on, b->resident_on) != 0) {
		if (a->resident_on[0] != '\0')
			note(db, DB_TABLE_HOST, a->resident_on, DB_CHANGE_MOD);
		if (b->resident_on[0] != '\0')
			note(db, DB_TABLE_HOST, b->resident_on, DB_CHANGE_MOD);
	}
	for (i = 0; i < a->ngroups; i++)
		if (!links_has_group(b, a->groups[i]))
			note(db, DB_TABLE_VM_GROUP, a->groups[i], DB_CHANGE_MOD);
	for (i = 0; i < b->ngroups; i++)
		if (!links_has_group(a, b->groups[i]))
			note(db, DB_TABLE_VM_GROUP, b->groups[i], DB_CHANGE_MOD);
}

/* Before deleting row `uuid` of `table`: log what the delete changes
** besides the row itself.  A host's VMs lose their resident_on/affinity
** (ON DELETE SET NULL), a group's members lose the group, a VM's host and
** groups lose the VM, and its intent goes (ON DELETE CASCADE). */
static int
note_delete_cascade(struct db *db, enum db_table table, const char *uuid)
{
	struct vm_links old, none;
	int r;

	if (db->hook == NULL)
		return 0;
	switch (table) {
	case DB_TABLE_HOST:
		return note_rows(db, S_VMS_OF_HOST, uuid, DB_TABLE_VM, DB_CHANGE_MOD);
	case DB_TABLE_VM_GROUP:
		return note_rows(db, S_GROUP_MEMBERS, uuid, DB_TABLE_VM, DB_CHANGE_MOD);
	case DB_TABLE_VM:
		r = vm_links_load(db, uuid, &old);
		if (r < 0)
			return -1;
		memset(&none, 0, sizeof(none));
		note_links_diff(db, &old, &none);
		return note_rows(db, S_INTENT_EXISTS, uuid, DB_TABLE_INTENT, DB_CHANGE_DEL);
	default:
		return 0;
	}
}

/* ---- pool ---- */

void
db_pool_init(struct db_pool *pool)
{
	memset(pool, 0, sizeof(*pool));
	pool->ha_reboot_vm_on_internal_shutdown = 1;
	snprintf(pool->ha_cluster_stack, sizeof(pool->ha_cluster_stack), "corosync");
}

void
db_pool_clear(struct db_pool *pool)
{
	db_map_clear(&pool->ha_configuration);
	db_map_clear(&pool->other_config);
}

int
db_pool_get(struct db *db, struct db_pool *out)
{
	sqlite3_stmt *s = st(db, S_POOL_SELECT);
	int rc;

	db_pool_init(out);
	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		return 1;
	}
	if (rc != SQLITE_ROW) {
		db_sql_err(db, "reading the pool");
		sqlite3_reset(s);
		return -1;
	}
	COL_STR(s, 0, out->uuid);
	COL_STR(s, 1, out->name_label);
	COL_STR(s, 2, out->name_description);
	COL_STR(s, 3, out->master);
	out->ha_enabled = sqlite3_column_int(s, 4);
	out->ha_host_failures_to_tolerate = sqlite3_column_int64(s, 5);
	out->ha_plan_exists_for = sqlite3_column_int64(s, 6);
	out->ha_allow_overcommit = sqlite3_column_int(s, 7);
	out->ha_overcommitted = sqlite3_column_int(s, 8);
	out->ha_reboot_vm_on_internal_shutdown = sqlite3_column_int(s, 9);
	COL_STR(s, 10, out->ha_cluster_stack);
	COL_STR(s, 11, out->cluster_key);
	sqlite3_reset(s);
	if (map_load(db, out->uuid, "ha_configuration", &out->ha_configuration) < 0 ||
	    map_load(db, out->uuid, "other_config", &out->other_config) < 0) {
		db_pool_clear(out);
		return -1;
	}
	return 0;
}

/* The pool is one row whose uuid a put may change: that is the old pool
** object deleted and a new one added. */
static int
note_pool_put(struct db *db, const char *uuid)
{
	sqlite3_stmt *s = st(db, S_POOL_UUID);
	char old[HA_UUID_LEN] = "";
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		COL_STR(s, 0, old);
	else if (rc != SQLITE_DONE)
		db_sql_err(db, "reading the pool");
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	if (rc == SQLITE_ROW && strcmp(old, uuid) == 0) {
		note(db, DB_TABLE_POOL, uuid, DB_CHANGE_MOD);
		return 0;
	}
	if (rc == SQLITE_ROW)
		note(db, DB_TABLE_POOL, old, DB_CHANGE_DEL);
	note(db, DB_TABLE_POOL, uuid, DB_CHANGE_ADD);
	return 0;
}

int
db_pool_put(struct db *db, const struct db_pool *pool)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (!id_uuid_valid(pool->uuid)) {
		db_set_err(db, "%s: pool: invalid uuid", db->path);
		return -1;
	}
	if (write_begin(db) < 0)
		return -1;
	if (db->hook != NULL && note_pool_put(db, pool->uuid) < 0)
		goto out;
	/* The maps follow the pool's uuid, which a put may change. */
	if (run(db, st(db, S_POOL_DELETE_MAPS), "replacing the pool") < 0)
		goto out;
	s = st(db, S_POOL_UPSERT);
	if (s == NULL)
		goto out;
	BIND_STR(s, 1, pool->uuid);
	BIND_STR(s, 2, pool->name_label);
	BIND_STR(s, 3, pool->name_description);
	BIND_STR(s, 4, pool->master);
	sqlite3_bind_int(s, 5, !!pool->ha_enabled);
	sqlite3_bind_int64(s, 6, pool->ha_host_failures_to_tolerate);
	sqlite3_bind_int64(s, 7, pool->ha_plan_exists_for);
	sqlite3_bind_int(s, 8, !!pool->ha_allow_overcommit);
	sqlite3_bind_int(s, 9, !!pool->ha_overcommitted);
	sqlite3_bind_int(s, 10, !!pool->ha_reboot_vm_on_internal_shutdown);
	BIND_STR(s, 11, pool->ha_cluster_stack);
	BIND_STR(s, 12, pool->cluster_key);
	if (run(db, s, "writing the pool") < 0)
		goto out;
	if (map_save(db, pool->uuid, "ha_configuration", &pool->ha_configuration) < 0 ||
	    map_save(db, pool->uuid, "other_config", &pool->other_config) < 0)
		goto out;
	rc = 0;
out:
	return write_end(db, rc);
}

/* ---- hosts ---- */

void
db_host_init(struct db_host *host)
{
	memset(host, 0, sizeof(*host));
	host->enabled = 1;
}

void
db_host_clear(struct db_host *host)
{
	db_map_clear(&host->other_config);
}

void
db_host_list_free(struct db_host *hosts, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		db_host_clear(&hosts[i]);
	xfree(hosts);
}

static void
host_from_row(sqlite3_stmt *s, struct db_host *h)
{
	db_host_init(h);
	COL_STR(s, 0, h->uuid);
	COL_STR(s, 1, h->name_label);
	COL_STR(s, 2, h->hostname);
	COL_STR(s, 3, h->address);
	h->enabled = sqlite3_column_int(s, 4);
	h->memory_total = sqlite3_column_int64(s, 5);
	h->memory_overhead = sqlite3_column_int64(s, 6);
	h->live = sqlite3_column_int(s, 7);
	h->memory_free = sqlite3_column_int64(s, 8);
	h->last_updated = sqlite3_column_int64(s, 9);
	h->cluster_nodeid = (uint32_t)sqlite3_column_int64(s, 10);
	COL_STR(s, 11, h->address2);
	h->incarnation = sqlite3_column_int64(s, 12);
}

int
db_host_get(struct db *db, const char *uuid, struct db_host *out)
{
	sqlite3_stmt *s = st(db, S_HOST_SELECT);
	int rc;

	db_host_init(out);
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		host_from_row(s, out);
	else if (rc != SQLITE_DONE)
		db_sql_err(db, "reading a host");
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 1;
	if (rc != SQLITE_ROW)
		return -1;
	if (map_load(db, out->uuid, "other_config", &out->other_config) < 0)
		return -1;
	return 0;
}

int
db_host_put(struct db *db, const struct db_host *host)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (!id_uuid_valid(host->uuid)) {
		db_set_err(db, "%s: host: invalid uuid", db->path);
		return -1;
	}
	if (write_begin(db) < 0)
		return -1;
	if (note_put(db, S_HOST_EXISTS, DB_TABLE_HOST, host->uuid) < 0)
		goto out;
	s = st(db, S_HOST_UPSERT);
	if (s == NULL)
		goto out;
	BIND_STR(s, 1, host->uuid);
	BIND_STR(s, 2, host->name_label);
	BIND_STR(s, 3, host->hostname);
	BIND_STR(s, 4, host->address);
	sqlite3_bind_int(s, 5, !!host->enabled);
	sqlite3_bind_int64(s, 6, host->memory_total);
	sqlite3_bind_int64(s, 7, host->memory_overhead);
	sqlite3_bind_int(s, 8, !!host->live);
	sqlite3_bind_int64(s, 9, host->memory_free);
	sqlite3_bind_int64(s, 10, host->last_updated);
	sqlite3_bind_int64(s, 11, (int64_t)host->cluster_nodeid);
	BIND_STR(s, 12, host->address2);
	if (run(db, s, "writing a host") < 0)
		goto out;
	if (map_save(db, host->uuid, "other_config", &host->other_config) < 0)
		goto out;
	rc = 0;
out:
	return write_end(db, rc);
}

/* Delete the row named `uuid` with statement `id`, and its maps.  0 deleted,
** 1 absent, -1 error. */
static int
delete_row(struct db *db, enum stmt_id id, enum db_table table, const char *uuid,
           const char *what)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (write_begin(db) < 0)
		return -1;
	if (note_delete_cascade(db, table, uuid) < 0)
		goto out;
	s = st(db, id);
	if (s == NULL)
		goto out;
	sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
	if (run(db, s, what) < 0)
		goto out;
	if (sqlite3_changes(db->h) == 0) {
		rc = 1;
		goto out;
	}
	if (maps_delete(db, uuid) < 0)
		goto out;
	note(db, table, uuid, DB_CHANGE_DEL);
	rc = 0;
out:
	return write_end(db, rc);
}

int
db_host_delete(struct db *db, const char *uuid)
{
	return delete_row(db, S_HOST_DELETE, DB_TABLE_HOST, uuid, "deleting a host");
}

int
db_host_list(struct db *db, struct db_host **out, size_t *n)
{
	sqlite3_stmt *s = st(db, S_HOST_LIST);
	struct db_host *v = NULL;
	size_t i, len = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v = xreallocarray(v, len + 1, sizeof(*v));
		host_from_row(s, &v[len++]);
	}
	if (rc != SQLITE_DONE)
		db_sql_err(db, "listing hosts");
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		goto fail;
	for (i = 0; i < len; i++)
		if (map_load(db, v[i].uuid, "other_config", &v[i].other_config) < 0)
			goto fail;
	*out = v;
	*n = len;
	return 0;
fail:
	db_host_list_free(v, len);
	return -1;
}

/* An UPDATE of row `uuid` of `table` with statement `s` (already bound,
** ?1 = uuid); 0 updated, 1 absent, -1 error.  A VM's new resident_on is
** `resident_on` (NULL for another table): the hosts that gain or lose it
** change too. */
static int
update_row(struct db *db, sqlite3_stmt *s, const char *what, enum db_table table,
           const char *uuid, const char *resident_on)
{
	struct vm_links old, new;
	int rc = -1;

	if (s == NULL)
		return -1;
	if (write_begin(db) < 0) {
		sqlite3_reset(s);
		return -1;
	}
	if (db->hook != NULL && resident_on != NULL) {
		int r = vm_links_load(db, uuid, &old);

		if (r < 0) {
			sqlite3_reset(s);
			goto out;
		}
		if (r == 0) {
			new = old;
			snprintf(new.resident_on, sizeof(new.resident_on), "%s", resident_on);
			note_links_diff(db, &old, &new);
		}
	}
	if (run(db, s, what) == 0)
		rc = sqlite3_changes(db->h) > 0 ? 0 : 1;
	if (rc == 0)
		note(db, table, uuid, DB_CHANGE_MOD);
out:
	return write_end(db, rc);
}

int
db_host_set_metrics(struct db *db, const char *uuid, int live, int64_t memory_total,
                    int64_t memory_free, int64_t last_updated)
{
	sqlite3_stmt *s = st(db, S_HOST_METRICS);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, !!live);
	sqlite3_bind_int64(s, 3, memory_total);
	sqlite3_bind_int64(s, 4, memory_free);
	sqlite3_bind_int64(s, 5, last_updated);
	return update_row(db, s, "updating host metrics", DB_TABLE_HOST, uuid, NULL);
}

int
db_host_set_incarnation(struct db *db, const char *uuid, int64_t incarnation)
{
	sqlite3_stmt *s;

	if (incarnation < 0) {
		db_set_err(db, "%s: host %s: negative incarnation", db->path, uuid);
		return -1;
	}
	if ((s = st(db, S_HOST_INCARNATION)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, incarnation);
	return update_row(db, s, "recording a host's incarnation", DB_TABLE_HOST, uuid, NULL);
}

/* ---- VMs ---- */

void
db_vm_init(struct db_vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->power_state = DB_POWER_HALTED;
	vm->VCPUs_max = 1;
}

void
db_vm_clear(struct db_vm *vm)
{
	db_map_clear(&vm->other_config);
}

void
db_vm_list_free(struct db_vm *vms, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		db_vm_clear(&vms[i]);
	xfree(vms);
}

/* 0, or -1 if a stored enum is not one we know (CHECK makes that unlikely). */
static int
vm_from_row(struct db *db, sqlite3_stmt *s, struct db_vm *vm)
{
	int power, prio;

	db_vm_init(vm);
	COL_STR(s, 0, vm->uuid);
	COL_STR(s, 1, vm->name_label);
	power = db_power_state_from_name((const char *)sqlite3_column_text(s, 2));
	COL_STR(s, 3, vm->resident_on);
	COL_STR(s, 4, vm->affinity);
	vm->memory_static_max = sqlite3_column_int64(s, 5);
	vm->memory_overhead = sqlite3_column_int64(s, 6);
	vm->VCPUs_max = sqlite3_column_int64(s, 7);
	prio = db_restart_priority_from_name((const char *)sqlite3_column_text(s, 8));
	vm->ha_always_run = sqlite3_column_int(s, 9);
	vm->order = sqlite3_column_int64(s, 10);
	vm->start_delay = sqlite3_column_int64(s, 11);
	vm->is_control_domain = sqlite3_column_int(s, 12);
	COL_STR(s, 13, vm->hv_config);
	if (NEVER(power < 0 || prio < 0)) {
		db_set_err(db, "%s: vm %s: unknown power state or restart priority", db->path,
		           vm->uuid);
		return -1;
	}
	vm->power_state = (enum db_power_state)power;
	vm->ha_restart_priority = (enum db_restart_priority)prio;
	return 0;
}

/* Groups and maps of a VM read from its row. */
static int
vm_load_extras(struct db *db, struct db_vm *vm)
{
	sqlite3_stmt *s = st(db, S_MEMBER_SELECT);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, vm->uuid, -1, SQLITE_STATIC);
	vm->ngroups = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (NEVER(vm->ngroups == DB_VM_MAX_GROUPS))
			continue;
		COL_STR(s, 0, vm->groups[vm->ngroups]);
		vm->ngroups++;
	}
	if (rc != SQLITE_DONE)
		db_sql_err(db, "reading a VM's groups");
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return -1;
	return map_load(db, vm->uuid, "other_config", &vm->other_config);
}

int
db_vm_get(struct db *db, const char *uuid, struct db_vm *out)
{
	sqlite3_stmt *s = st(db, S_VM_SELECT);
	int rc, r = 0;

	db_vm_init(out);
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		r = vm_from_row(db, s, out);
	else if (rc != SQLITE_DONE)
		db_sql_err(db, "reading a VM");
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 1;
	if (rc != SQLITE_ROW || r < 0 || vm_load_extras(db, out) < 0) {
		db_vm_clear(out);
		return -1;
	}
	return 0;
}

int
db_vm_put(struct db *db, const struct db_vm *vm)
{
	const char *power = db_power_state_name(vm->power_state);
	const char *prio = db_restart_priority_name(vm->ha_restart_priority);
	sqlite3_stmt *s;
	size_t i;
	int rc = -1;

	if (!id_uuid_valid(vm->uuid)) {
		db_set_err(db, "%s: vm: invalid uuid", db->path);
		return -1;
	}
	if (power == NULL || prio == NULL || vm->ngroups > DB_VM_MAX_GROUPS) {
		db_set_err(db, "%s: vm %s: invalid power state, restart priority or groups",
		           db->path, vm->uuid);
		return -1;
	}
	if (write_begin(db) < 0)
		return -1;
	if (db->hook != NULL) {
		struct vm_links old, new;
		int r = vm_links_load(db, vm->uuid, &old);

		if (r < 0)
			goto out;
		memset(&new, 0, sizeof(new));
		BUF_STR(new.resident_on, vm->resident_on);
		for (i = 0; i < vm->ngroups; i++)
			BUF_STR(new.groups[new.ngroups++], vm->groups[i]);
		note(db, DB_TABLE_VM, vm->uuid, r == 0 ? DB_CHANGE_MOD : DB_CHANGE_ADD);
		note_links_diff(db, &old, &new);
	}
	s = st(db, S_VM_UPSERT);
	if (s == NULL)
		goto out;
	BIND_STR(s, 1, vm->uuid);
	BIND_STR(s, 2, vm->name_label);
	sqlite3_bind_text(s, 3, power, -1, SQLITE_STATIC);
	BIND_REF(s, 4, vm->resident_on);
	BIND_REF(s, 5, vm->affinity);
	sqlite3_bind_int64(s, 6, vm->memory_static_max);
	sqlite3_bind_int64(s, 7, vm->memory_overhead);
	sqlite3_bind_int64(s, 8, vm->VCPUs_max);
	sqlite3_bind_text(s, 9, prio, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 10, !!vm->ha_always_run);
	sqlite3_bind_int64(s, 11, vm->order);
	sqlite3_bind_int64(s, 12, vm->start_delay);
	sqlite3_bind_int(s, 13, !!vm->is_control_domain);
	BIND_STR(s, 14, vm->hv_config);
	if (run(db, s, "writing a VM") < 0)
		goto out;
	if (FAULT("db.vm_put.fail")) {
		db_set_err(db, "%s: writing a VM: failed (fault db.vm_put.fail)", db->path);
		goto out;
	}
	s = st(db, S_MEMBER_DELETE);
	if (s == NULL)
		goto out;
	BIND_STR(s, 1, vm->uuid);
	if (run(db, s, "writing a VM's groups") < 0)
		goto out;
	for (i = 0; i < vm->ngroups; i++) {
		s = st(db, S_MEMBER_INSERT);
		if (s == NULL)
			goto out;
		BIND_STR(s, 1, vm->uuid);
		BIND_STR(s, 2, vm->groups[i]);
		sqlite3_bind_int64(s, 3, (int64_t)i);
		if (run(db, s, "writing a VM's groups") < 0)
			goto out;
	}
	if (map_save(db, vm->uuid, "other_config", &vm->other_config) < 0)
		goto out;
	rc = 0;
out:
	return write_end(db, rc);
}

int
db_vm_delete(struct db *db, const char *uuid)
{
	return delete_row(db, S_VM_DELETE, DB_TABLE_VM, uuid, "deleting a VM");
}

static int
vm_list(struct db *db, sqlite3_stmt *s, struct db_vm **out, size_t *n)
{
	struct db_vm *v = NULL;
	size_t i, len = 0;
	int rc, bad = 0;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v = xreallocarray(v, len + 1, sizeof(*v));
		if (vm_from_row(db, s, &v[len++]) < 0)
			bad = 1;
	}
	if (rc != SQLITE_DONE)
		db_sql_err(db, "listing VMs");
	sqlite3_reset(s);
	if (rc != SQLITE_DONE || bad)
		goto fail;
	for (i = 0; i < len; i++)
		if (vm_load_extras(db, &v[i]) < 0)
			goto fail;
	*out = v;
	*n = len;
	return 0;
fail:
	db_vm_list_free(v, len);
	return -1;
}

int
db_vm_list(struct db *db, struct db_vm **out, size_t *n)
{
	return vm_list(db, st(db, S_VM_LIST), out, n);
}

int
db_vm_list_resident(struct db *db, const char *host_uuid, struct db_vm **out, size_t *n)
{
	sqlite3_stmt *s = st(db, S_VM_LIST_RESIDENT);

	if (s != NULL)
		sqlite3_bind_text(s, 1, host_uuid, -1, SQLITE_STATIC);
	return vm_list(db, s, out, n);
}

int
db_vm_set_power(struct db *db, const char *uuid, enum db_power_state state, const char *resident_on)
{
	const char *power = db_power_state_name(state);
	sqlite3_stmt *s;

	if (power == NULL) {
		db_set_err(db, "%s: vm %s: invalid power state %d", db->path, uuid, (int)state);
		return -1;
	}
	s = st(db, S_VM_SET_POWER);
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, power, -1, SQLITE_STATIC);
	if (resident_on == NULL || resident_on[0] == '\0')
		sqlite3_bind_null(s, 3);
	else
		sqlite3_bind_text(s, 3, resident_on, -1, SQLITE_STATIC);
	return update_row(db, s, "setting a VM's power state", DB_TABLE_VM, uuid,
	                  resident_on != NULL ? resident_on : "");
}

/* ---- VM groups ---- */

static int
group_from_row(struct db *db, sqlite3_stmt *s, struct db_vm_group *g)
{
	int p;

	memset(g, 0, sizeof(*g));
	COL_STR(s, 0, g->uuid);
	COL_STR(s, 1, g->name_label);
	COL_STR(s, 2, g->name_description);
	p = db_placement_from_name((const char *)sqlite3_column_text(s, 3));
	if (NEVER(p < 0)) {
		db_set_err(db, "%s: VM group %s: unknown placement", db->path, g->uuid);
		return -1;
	}
	g->placement = (enum db_placement)p;
	return 0;
}

int
db_vm_group_get(struct db *db, const char *uuid, struct db_vm_group *out)
{
	sqlite3_stmt *s = st(db, S_GROUP_SELECT);
	int rc, r = 0;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		r = group_from_row(db, s, out);
	else if (rc != SQLITE_DONE)
		db_sql_err(db, "reading a VM group");
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 1;
	return rc == SQLITE_ROW && r == 0 ? 0 : -1;
}

int
db_vm_group_put(struct db *db, const struct db_vm_group *g)
{
	const char *placement = db_placement_name(g->placement);
	sqlite3_stmt *s;
	int rc = -1;

	if (!id_uuid_valid(g->uuid) || placement == NULL) {
		db_set_err(db, "%s: VM group: invalid uuid or placement", db->path);
		return -1;
	}
	if (write_begin(db) < 0)
		return -1;
	if (note_put(db, S_GROUP_EXISTS, DB_TABLE_VM_GROUP, g->uuid) < 0)
		goto out;
	s = st(db, S_GROUP_UPSERT);
	if (s == NULL)
		goto out;
	BIND_STR(s, 1, g->uuid);
	BIND_STR(s, 2, g->name_label);
	BIND_STR(s, 3, g->name_description);
	sqlite3_bind_text(s, 4, placement, -1, SQLITE_STATIC);
	rc = run(db, s, "writing a VM group");
out:
	return write_end(db, rc);
}

int
db_vm_group_delete(struct db *db, const char *uuid)
{
	return delete_row(db, S_GROUP_DELETE, DB_TABLE_VM_GROUP, uuid, "deleting a VM group");
}

/* Step statement s and collect its rows, each decoded by fn into an element
** of `size` bytes (*out: an xmalloc'd array); on any failure nothing is
** returned and `what` names the list in the error. */
static int
list_rows(struct db *db, sqlite3_stmt *s, size_t size,
	  int (*fn)(struct db *, sqlite3_stmt *, void *), const char *what, void **out,
	  size_t *n)
{
	char *v = NULL;
	size_t len = 0;
	int rc, bad = 0;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v = xreallocarray(v, len + 1, size);
		if (fn(db, s, v + size * len++) < 0)
			bad = 1;
	}
	if (rc != SQLITE_DONE)
		db_sql_err(db, what);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE || bad) {
		xfree(v);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

static int
group_row(struct db *db, sqlite3_stmt *s, void *g)
{
	return group_from_row(db, s, g);
}

int
db_vm_group_list(struct db *db, struct db_vm_group **out, size_t *n)
{
	void *v;
	int rc = list_rows(db, st(db, S_GROUP_LIST), sizeof(**out), group_row, "listing VM groups",
			   &v, n);

	*out = v;
	return rc;
}

/* ---- messages ---- */

int
db_message_add(struct db *db, struct db_message *m)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (m->uuid[0] == '\0')
		id_uuid_new(m->uuid);
	if (!id_uuid_valid(m->uuid)) {
		db_set_err(db, "%s: message: invalid uuid", db->path);
		return -1;
	}
	if (write_begin(db) < 0)
		return -1;
	s = st(db, S_MSG_INSERT);
	if (s == NULL)
		goto out;
	BIND_STR(s, 1, m->uuid);
	BIND_STR(s, 2, m->name);
	sqlite3_bind_int64(s, 3, m->priority);
	BIND_STR(s, 4, m->cls);
	BIND_STR(s, 5, m->obj_uuid);
	sqlite3_bind_int64(s, 6, m->timestamp);
	BIND_STR(s, 7, m->body);
	rc = run(db, s, "storing a message");
	if (rc == 0)
		note(db, DB_TABLE_MESSAGE, m->uuid, DB_CHANGE_ADD);
out:
	return write_end(db, rc);
}

static int
message_rows(struct db *db, enum stmt_id id, int64_t since, struct db_message **out, size_t *n)
{
	sqlite3_stmt *s = st(db, id);
	struct db_message *v = NULL, *m;
	size_t len = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	if (id == S_MSG_LIST)
		sqlite3_bind_int64(s, 1, since);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v = xreallocarray(v, len + 1, sizeof(*v));
		m = &v[len++];
		memset(m, 0, sizeof(*m));
		COL_STR(s, 0, m->uuid);
		COL_STR(s, 1, m->name);
		m->priority = sqlite3_column_int64(s, 2);
		COL_STR(s, 3, m->cls);
		COL_STR(s, 4, m->obj_uuid);
		m->timestamp = sqlite3_column_int64(s, 5);
		COL_STR(s, 6, m->body);
	}
	if (rc != SQLITE_DONE)
		db_sql_err(db, "listing messages");
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		xfree(v);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

int
db_message_list(struct db *db, int64_t since, struct db_message **out, size_t *n)
{
	return message_rows(db, S_MSG_LIST, since, out, n);
}

/* A message's notified marker goes with it, in the same write. */
int
db_message_delete(struct db *db, const char *uuid)
{
	sqlite3_stmt *s;
	int rc;

	if (write_begin(db) < 0)
		return -1;
	rc = -1;
	s = st(db, S_MSG_DELETE);
	if (s == NULL)
		goto out;
	sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
	if (run(db, s, "deleting a message") < 0)
		goto out;
	if (sqlite3_changes(db->h) == 0) {
		rc = 1;
		goto out;
	}
	s = st(db, S_NOTIFIED_DELETE);
	if (s == NULL)
		goto out;
	sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
	if (run(db, s, "deleting a message's notified marker") < 0)
		goto out;
	note(db, DB_TABLE_MESSAGE, uuid, DB_CHANGE_DEL);
	rc = 0;
out:
	return write_end(db, rc);
}

int
db_message_unnotified(struct db *db, struct db_message **out, size_t *n)
{
	return message_rows(db, S_MSG_UNNOTIFIED, INT64_MIN, out, n);
}

int
db_message_mark_notified(struct db *db, const char *uuid, const char *host, int64_t time)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (!id_uuid_valid(uuid)) {
		db_set_err(db, "%s: notified marker: invalid uuid", db->path);
		return -1;
	}
	if (write_begin(db) < 0)
		return -1;
	s = st(db, S_NOTIFIED_INSERT);
	if (s != NULL) {
		sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, host != NULL ? host : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, time);
		rc = run(db, s, "marking a message notified");
	}
	return write_end(db, rc);
}

int
db_message_notified(struct db *db, const char *uuid)
{
	return row_exists(db, S_NOTIFIED_SELECT, uuid);
}

/* ---- SNMP receivers ---- */

int
db_snmp_receiver_put(struct db *db, const struct db_snmp_receiver *r)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (!id_uuid_valid(r->uuid)) {
		db_set_err(db, "%s: SNMP receiver: invalid uuid", db->path);
		return -1;
	}
	if (write_begin(db) < 0)
		return -1;
	s = st(db, S_SNMP_UPSERT);
	if (s == NULL)
		goto out;
	BIND_STR(s, 1, r->uuid);
	BIND_STR(s, 2, r->address);
	sqlite3_bind_int64(s, 3, r->port);
	BIND_STR(s, 4, r->version);
	sqlite3_bind_int(s, 5, r->inform != 0);
	BIND_STR(s, 6, r->community);
	BIND_STR(s, 7, r->user);
	BIND_STR(s, 8, r->auth_key);
	BIND_STR(s, 9, r->priv_key);
	rc = run(db, s, "storing an SNMP receiver");
out:
	return write_end(db, rc);
}

int
db_snmp_receiver_delete(struct db *db, const char *uuid)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (write_begin(db) < 0)
		return -1;
	s = st(db, S_SNMP_DELETE);
	if (s != NULL) {
		sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
		rc = run(db, s, "deleting an SNMP receiver");
		if (rc == 0 && sqlite3_changes(db->h) == 0)
			rc = 1;
	}
	return write_end(db, rc);
}

int
db_snmp_receiver_list(struct db *db, struct db_snmp_receiver **out, size_t *n)
{
	sqlite3_stmt *s = st(db, S_SNMP_LIST);
	struct db_snmp_receiver *v = NULL, *r;
	size_t len = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v = xreallocarray(v, len + 1, sizeof(*v));
		r = &v[len++];
		memset(r, 0, sizeof(*r));
		COL_STR(s, 0, r->uuid);
		COL_STR(s, 1, r->address);
		r->port = sqlite3_column_int64(s, 2);
		COL_STR(s, 3, r->version);
		r->inform = sqlite3_column_int(s, 4);
		COL_STR(s, 5, r->community);
		COL_STR(s, 6, r->user);
		COL_STR(s, 7, r->auth_key);
		COL_STR(s, 8, r->priv_key);
	}
	if (rc != SQLITE_DONE)
		db_sql_err(db, "listing SNMP receivers");
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		explicit_bzero(v, len * sizeof(*v));
		xfree(v);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

void
db_snmp_receiver_list_free(struct db_snmp_receiver *v, size_t n)
{
	if (v == NULL)
		return;
	explicit_bzero(v, n * sizeof(*v));
	xfree(v);
}

/* ---- VM intents ---- */

/* The stored spellings of the intent enums (schema 4's CHECKs); index 0 of
** intent_op_names is a hole (NULL), as DB_INTENT_START is 1. */
static const char *const intent_op_names[] = {
    [DB_INTENT_START] = "start",
    [DB_INTENT_STOP] = "stop",
};
static const char *const intent_state_names[] = {
    [DB_INTENT_QUEUED] = "queued",
    [DB_INTENT_ISSUED] = "issued",
    [DB_INTENT_FAILED] = "failed",
};
static const char *const intent_why_names[] = {
    [DB_WHY_FAILOVER] = "failover",
    [DB_WHY_ALWAYS_RUN] = "always_run",
    [DB_WHY_EVACUATE] = "evacuate",
    [DB_WHY_API] = "api",
};

void
db_intent_init(struct db_vm_intent *in)
{
	memset(in, 0, sizeof(*in));
	in->op = DB_INTENT_START;
	in->state = DB_INTENT_QUEUED;
	in->why = DB_WHY_FAILOVER;
}

/* 0, or -1 if a stored enum is not one we know (CHECK makes that unlikely). */
static int
intent_from_row(struct db *db, sqlite3_stmt *s, struct db_vm_intent *in)
{
	int op, state, why;

	db_intent_init(in);
	COL_STR(s, 0, in->vm);
	op = enum_from_name(intent_op_names, ARRAY_SIZE(intent_op_names),
	                    (const char *)sqlite3_column_text(s, 1));
	state = enum_from_name(intent_state_names, ARRAY_SIZE(intent_state_names),
	                       (const char *)sqlite3_column_text(s, 2));
	why = enum_from_name(intent_why_names, ARRAY_SIZE(intent_why_names),
	                     (const char *)sqlite3_column_text(s, 3));
	COL_STR(s, 4, in->host);
	COL_STR(s, 5, in->from);
	in->clean = sqlite3_column_int(s, 6);
	in->alerted = sqlite3_column_int(s, 7);
	in->attempts = sqlite3_column_int64(s, 8);
	in->created = sqlite3_column_int64(s, 9);
	COL_STR(s, 10, in->error);
	in->incarnation = sqlite3_column_int64(s, 11);
	if (NEVER(op < 0 || state < 0 || why < 0)) {
		db_set_err(db, "%s: intent of vm %s: unknown op, state or reason", db->path, in->vm);
		return -1;
	}
	in->op = (enum db_intent_op)op;
	in->state = (enum db_intent_state)state;
	in->why = (enum db_intent_why)why;
	return 0;
}

int
db_intent_get(struct db *db, const char *vm, struct db_vm_intent *out)
{
	sqlite3_stmt *s = st(db, S_INTENT_SELECT);
	int rc, r = 0;

	db_intent_init(out);
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, vm, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		r = intent_from_row(db, s, out);
	else if (rc != SQLITE_DONE)
		db_sql_err(db, "reading a VM intent");
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 1;
	return rc == SQLITE_ROW && r == 0 ? 0 : -1;
}

/* The VM must exist (foreign key); an ISSUED intent must name its host
** (CHECK); enums outside their range and malformed uuids are refused here,
** before SQL sees them. */
int
db_intent_put(struct db *db, const struct db_vm_intent *in)
{
	const char *op = enum_name(intent_op_names, ARRAY_SIZE(intent_op_names), (int)in->op);
	const char *state =
	    enum_name(intent_state_names, ARRAY_SIZE(intent_state_names), (int)in->state);
	const char *why = enum_name(intent_why_names, ARRAY_SIZE(intent_why_names), (int)in->why);
	sqlite3_stmt *s;
	int rc = -1;

	if (!id_uuid_valid(in->vm)) {
		db_set_err(db, "%s: VM intent: invalid VM uuid", db->path);
		return -1;
	}
	if (op == NULL || state == NULL || why == NULL) {
		db_set_err(db, "%s: intent of vm %s: invalid op, state or reason", db->path, in->vm);
		return -1;
	}
	if ((in->host[0] != '\0' && !id_uuid_valid(in->host)) ||
	    (in->from[0] != '\0' && !id_uuid_valid(in->from))) {
		db_set_err(db, "%s: intent of vm %s: invalid host uuid", db->path, in->vm);
		return -1;
	}
	if (write_begin(db) < 0)
		return -1;
	if (note_put(db, S_INTENT_EXISTS, DB_TABLE_INTENT, in->vm) < 0)
		goto out;
	s = st(db, S_INTENT_UPSERT);
	if (s == NULL)
		goto out;
	BIND_STR(s, 1, in->vm);
	sqlite3_bind_text(s, 2, op, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, why, -1, SQLITE_STATIC);
	BIND_STR(s, 5, in->host);
	BIND_STR(s, 6, in->from);
	sqlite3_bind_int(s, 7, !!in->clean);
	sqlite3_bind_int(s, 8, !!in->alerted);
	sqlite3_bind_int64(s, 9, in->attempts);
	sqlite3_bind_int64(s, 10, in->created);
	BIND_STR(s, 11, in->error);
	sqlite3_bind_int64(s, 12, in->incarnation);
	rc = run(db, s, "writing a VM intent");
out:
	return write_end(db, rc);
}

int
db_intent_delete(struct db *db, const char *vm)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (write_begin(db) < 0)
		return -1;
	s = st(db, S_INTENT_DELETE);
	if (s == NULL)
		goto out;
	sqlite3_bind_text(s, 1, vm, -1, SQLITE_STATIC);
	if (run(db, s, "deleting a VM intent") == 0)
		rc = sqlite3_changes(db->h) > 0 ? 0 : 1;
	if (rc == 0)
		note(db, DB_TABLE_INTENT, vm, DB_CHANGE_DEL);
out:
	return write_end(db, rc);
}

static int
intent_row(struct db *db, sqlite3_stmt *s, void *in)
{
	return intent_from_row(db, s, in);
}

int
db_intent_list(struct db *db, struct db_vm_intent **out, size_t *n)
{
	void *v;
	int rc = list_rows(db, st(db, S_INTENT_LIST), sizeof(**out), intent_row,
			   "listing VM intents", &v, n);

	*out = v;
	return rc;
}

/* ---- fence records ---- */

int
db_fence_add(struct db *db, struct db_fence_record *r)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (write_begin(db) < 0)
		return -1;
	s = st(db, S_FENCE_INSERT);
	if (s == NULL)
		goto out;
	BIND_STR(s, 1, r->host_uuid);
	sqlite3_bind_int64(s, 2, r->timestamp);
	BIND_STR(s, 3, r->reason);
	BIND_STR(s, 4, r->detail);
	rc = run(db, s, "storing a fence record");
	if (rc == 0) {
		char key[24];

		r->id = sqlite3_last_insert_rowid(db->h);
		snprintf(key, sizeof(key), "%" PRId64, r->id);
		note(db, DB_TABLE_FENCE, key, DB_CHANGE_ADD);
	}
out:
	return write_end(db, rc);
}

int
db_fence_list(struct db *db, const char *host_uuid, struct db_fence_record **out, size_t *n)
{
	sqlite3_stmt *s = st(db, host_uuid != NULL ? S_FENCE_LIST_HOST : S_FENCE_LIST_ALL);
	struct db_fence_record *v = NULL, *r;
	size_t len = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	if (host_uuid != NULL)
		sqlite3_bind_text(s, 1, host_uuid, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v = xreallocarray(v, len + 1, sizeof(*v));
		r = &v[len++];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(s, 0);
		COL_STR(s, 1, r->host_uuid);
		r->timestamp = sqlite3_column_int64(s, 2);
		COL_STR(s, 3, r->reason);
		COL_STR(s, 4, r->detail);
	}
	if (rc != SQLITE_DONE)
		db_sql_err(db, "listing fence records");
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		xfree(v);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

/* ---- users ---- */

int
db_user_get(struct db *db, const char *name, struct db_user *out)
{
	sqlite3_stmt *s = st(db, S_USER_SELECT);
	int rc;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		COL_STR(s, 0, out->name);
		COL_STR(s, 1, out->password_hash);
		COL_STR(s, 2, out->role);
	} else if (rc != SQLITE_DONE) {
		db_sql_err(db, "reading a user");
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 1;
	return rc == SQLITE_ROW ? 0 : -1;
}

int
db_user_list(struct db *db, struct db_user **out, size_t *n)
{
	sqlite3_stmt *s = st(db, S_USER_LIST);
	struct db_user *v = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v = xreallocarray(v, len + 1, sizeof(*v));
		memset(&v[len], 0, sizeof(*v));
		COL_STR(s, 0, v[len].name);
		COL_STR(s, 1, v[len].password_hash);
		COL_STR(s, 2, v[len].role);
		len++;
	}
	if (rc != SQLITE_DONE)
		db_sql_err(db, "listing users");
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		xfree(v);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

int
db_user_put(struct db *db, const struct db_user *u)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (write_begin(db) < 0)
		return -1;
	if (note_put(db, S_USER_EXISTS, DB_TABLE_USER, u->name) < 0)
		goto out;
	s = st(db, S_USER_UPSERT);
	if (s == NULL)
		goto out;
	BIND_STR(s, 1, u->name);
	BIND_STR(s, 2, u->password_hash);
	BIND_STR(s, 3, u->role);
	rc = run(db, s, "writing a user");
out:
	return write_end(db, rc);
}

int
db_user_delete(struct db *db, const char *name)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (write_begin(db) < 0)
		return -1;
	s = st(db, S_USER_DELETE);
	if (s == NULL)
		goto out;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if (run(db, s, "deleting a user") == 0)
		rc = sqlite3_changes(db->h) > 0 ? 0 : 1;
	if (rc == 0)
		note(db, DB_TABLE_USER, name, DB_CHANGE_DEL);
out:
	return write_end(db, rc);
}

/* ---- replication ----
**
** A capture is a BEGIN IMMEDIATE transaction with an SQLite session attached
** to every replicated table; its net effect is the session's changeset, and
** the transaction is always rolled back: the change takes effect only when
** it comes back from the group and is applied (db_apply_change), on the
** master as everywhere else.  The session works out the net effect from the
** values it saw first and the values in the database at the end, so writes
** undone inside the capture (a failed write's ROLLBACK TO) leave no trace.
**
** Changes made by foreign-key actions (a host's delete clearing resident_on,
** a VM's delete removing its memberships) are captured like any other.  So a
** strict apply runs with foreign keys off: the actions must not run twice.
**
** A changeset from the wire is untrusted: before it touches anything it is
** parsed whole and each change checked against the schema (a known table,
** the same columns and primary key, the values a changeset of that kind
** has), since sqlite3changeset_apply() silently skips a table whose schema
** does not match -- which for a strict apply would be a divergence unseen. */

/* The replicated tables: every table but repl (and SQLite's own
** sqlite_sequence), in the order they are attached to a capture session,
** which is the order a changeset lists them in, and the order of a dump.
** `table` is the record type a row change reports (-1: a row that only
** changes the records it names); col_a and col_b name the columns the
** change hook reads: the key (uuid, name, id, the member's VM, the map's
** owner) and, for a VM its host, for a membership its group. */
static const struct repl_table {
	const char *name;
	const char *dump_sql;
	int table;
	const char *col_a, *col_b;
} repl_tables[] = {
    {"pool", "SELECT * FROM pool ORDER BY id", DB_TABLE_POOL, "uuid", NULL},
    {"host", "SELECT * FROM host ORDER BY uuid", DB_TABLE_HOST, "uuid", NULL},
    {"vm", "SELECT * FROM vm ORDER BY uuid", DB_TABLE_VM, "uuid", "resident_on"},
    {"vm_group", "SELECT * FROM vm_group ORDER BY uuid", DB_TABLE_VM_GROUP, "uuid", NULL},
    {"vm_group_member", "SELECT * FROM vm_group_member ORDER BY vm_uuid, group_uuid", -1, "vm_uuid",
     "group_uuid"},
    {"message", "SELECT * FROM message ORDER BY uuid", DB_TABLE_MESSAGE, "uuid", NULL},
    {"fence_record", "SELECT * FROM fence_record ORDER BY id", DB_TABLE_FENCE, "id", NULL},
    {"user", "SELECT * FROM user ORDER BY name", DB_TABLE_USER, "name", NULL},
    {"map", "SELECT * FROM map ORDER BY owner, field, key", -1, "owner", NULL},
    /* Schema 3.  No record type: nothing watches them through the hook
    ** (hasvc/notify.c reads them when it needs them). */
    {"snmp_receiver", "SELECT * FROM snmp_receiver ORDER BY uuid", -1, "uuid", NULL},
    {"message_notified", "SELECT * FROM message_notified ORDER BY uuid", -1, "uuid", NULL},
    /* Schema 4.  Reported as DB_TABLE_INTENT, keyed by the VM. */
    {"vm_intent", "SELECT * FROM vm_intent ORDER BY vm", DB_TABLE_INTENT, "vm", NULL},
};

enum { T_POOL, T_HOST, T_VM, T_GROUP, T_MEMBER, T_MESSAGE, T_FENCE, T_USER, T_MAP, T_SNMP,
       T_NOTIFIED, T_INTENT };

_Static_assert(ARRAY_SIZE(repl_tables) == DB_NTABLES, "one db_tinfo per replicated table");

static int
table_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < ARRAY_SIZE(repl_tables); i++)
		if (strcmp(repl_tables[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* The columns of replicated table `t`, read once per connection. */
static const struct db_tinfo *
tinfo_get(struct db *db, int t)
{
	const struct repl_table *rt = &repl_tables[t];
	struct db_tinfo *ti = &db->tinfo[t];
	sqlite3_stmt *s;
	int rc, wide = 0;

	if (ti->loaded)
		return ti;
	s = st(db, S_TABLE_INFO);
	if (s == NULL)
		return NULL;
	memset(ti, 0, sizeof(*ti));
	ti->col_a = ti->col_b = -1;
	sqlite3_bind_text(s, 1, rt->name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);

		if (ti->ncol == DB_MAX_COLS) {
			wide = 1;
			continue;
		}
		ti->pk[ti->ncol] = (unsigned char)sqlite3_column_int(s, 1);
		if (name != NULL && strcmp(name, rt->col_a) == 0)
			ti->col_a = ti->ncol;
		if (name != NULL && rt->col_b != NULL && strcmp(name, rt->col_b) == 0)
			ti->col_b = ti->ncol;
		ti->ncol++;
	}
	if (rc != SQLITE_DONE)
		db_sql_err(db, "reading the schema");
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return NULL;
	if (NEVER(wide || ti->col_a < 0 || (rt->col_b != NULL && ti->col_b < 0))) {
		db_set_err(db, "%s: table %s has an unexpected schema", db->path, rt->name);
		return NULL;
	}
	ti->loaded = 1;
	return ti;
}

/* A change as a changeset of table `ti` holds it: an insert has every new
** value; a delete every old one; an update the old primary key, no new
** one, and both values of each column it changes.  (A patchset, whose
** updates and deletes lack old values, fails this: strict needs them.) */
static int
change_well_formed(sqlite3_changeset_iter *it, int op, const struct db_tinfo *ti)
{
	int i;

	for (i = 0; i < ti->ncol; i++) {
		sqlite3_value *o = NULL, *n = NULL;

		if (op != SQLITE_INSERT && sqlite3changeset_old(it, i, &o) != SQLITE_OK)
			return -1;
		if (op != SQLITE_DELETE && sqlite3changeset_new(it, i, &n) != SQLITE_OK)
			return -1;
		switch (op) {
		case SQLITE_INSERT:
			if (n == NULL)
				return -1;
			break;
		case SQLITE_DELETE:
			if (o == NULL)
				return -1;
			break;
		case SQLITE_UPDATE:
			if (ti->pk[i] ? o == NULL || n != NULL : (o == NULL) != (n == NULL))
				return -1;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

/* A varint of the changeset format (SQLite's: 7 bits a byte, big-endian,
** high bit set on all but the last), at most 4 bytes here -- no count or
** length in a changeset of ours comes near 2^28.  Advances *i; -1 if it
** runs past n or is longer. */
static int
cs_varint(const unsigned char *p, size_t n, size_t *i, uint32_t *v)
{
	int k;

	*v = 0;
	for (k = 0; k < 4; k++) {
		if (*i >= n)
			return -1;
		*v = (*v << 7) | (p[*i] & 0x7f);
		if ((p[(*i)++] & 0x80) == 0)
			return 0;
	}
	return -1;
}

/* One record of `ncol` values: a type byte, then 8 bytes (integer, real),
** a varint length and the bytes (text, blob), or nothing (undefined, NULL). */
static int
cs_record(const unsigned char *p, size_t n, size_t *i, uint32_t ncol)
{
	uint32_t c, len;

	for (c = 0; c < ncol; c++) {
		if (*i >= n)
			return -1;
		switch (p[(*i)++]) {
		case 0x00: /* undefined */
		case SQLITE_NULL:
			break;
		case SQLITE_INTEGER:
		case SQLITE_FLOAT:
			if (n - *i < 8)
				return -1;
			*i += 8;
			break;
		case SQLITE_TEXT:
		case SQLITE_BLOB:
			if (cs_varint(p, n, i, &len) < 0 || n - *i < len)
				return -1;
			*i += len;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

/* Walk the changeset format (sqlite3session.h: per table 'T', a varint
** column count, a primary-key byte per column, the NUL-terminated name;
** then its changes: an op byte, an indirect byte, the old record for an
** update or delete, the new one for an insert or update) and check that it
** holds together (a primary-key byte is the column's position in the key,
** 0 if not in it), before SQLite's iterator sees it: SQLite 3.40's loops
** forever on some truncated inputs.  Patchsets ('P') are refused. */
static int
cs_wellformed(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t ncol, c;
		size_t nchanges = 0;

		if (p[i++] != 'T')
			return -1;
		if (cs_varint(p, n, &i, &ncol) < 0 || ncol == 0 || ncol > DB_MAX_COLS ||
		    n - i < ncol)
			return -1;
		for (c = 0; c < ncol; c++)
			if (p[i + c] > ncol)
				return -1;
		i += ncol;
		if (i >= n || p[i] == '\0' || memchr(p + i, '\0', n - i) == NULL)
			return -1;
		i += strlen((const char *)p + i) + 1;
		while (i < n && p[i] != 'T' && p[i] != 'P') {
			int op = p[i++];

			if (op != SQLITE_INSERT && op != SQLITE_UPDATE && op != SQLITE_DELETE)
				return -1;
			if (i >= n || p[i++] > 1)
				return -1;
			if (op != SQLITE_INSERT && cs_record(p, n, &i, ncol) < 0)
				return -1;
			if (op != SQLITE_DELETE && cs_record(p, n, &i, ncol) < 0)
				return -1;
			nchanges++;
		}
		if (nchanges == 0)
			return -1;
	}
	return 0;
}

/* Parse the whole changeset and check every change against the schema
** (see above).  Reads nothing but the schema.  0, or -1 with the reason. */
static int
changeset_check(struct db *db, const void *blob, size_t len, const char *what, unsigned *touched)
{
	sqlite3_changeset_iter *it = NULL;
	const char *why = NULL;
	char tab[64] = "";
	int rc, frc;

	*touched = 0;
	if (len == 0)
		return 0;
	if (blob == NULL || len > INT_MAX || cs_wellformed(blob, len) < 0) {
		db_set_err(db, "%s: %s: not a changeset", db->path, what);
		return -1;
	}
	rc = sqlite3changeset_start(&it, (int)len, (void *)(uintptr_t)blob);
	if (rc != SQLITE_OK) {
		db_set_err(db, "%s: %s: not a changeset (%s)", db->path, what, sqlite3_errstr(rc));
		return -1;
	}
	while ((rc = sqlite3changeset_next(it)) == SQLITE_ROW) {
		const struct db_tinfo *ti;
		const char *name = NULL;
		unsigned char *pk = NULL;
		int ncol = 0, op = 0, indirect, npk = 0, t, i;

		if (sqlite3changeset_op(it, &name, &ncol, &op, &indirect) != SQLITE_OK) {
			why = "an unreadable change";
			break;
		}
		snprintf(tab, sizeof(tab), "%s", name != NULL ? name : "");
		t = table_find(name);
		if (t < 0) {
			why = "a change to a table that is not replicated";
			break;
		}
		*touched |= 1u << t;
		ti = tinfo_get(db, t);
		if (ti == NULL) {
			sqlite3changeset_finalize(it);
			return -1;
		}
		if (sqlite3changeset_pk(it, &pk, &npk) != SQLITE_OK || npk != ncol ||
		    ncol != ti->ncol) {
			why = "a change whose columns do not match the table";
			break;
		}
		/* Exactly, as apply compares them: on a mismatch it would skip
		** the table without a word. */
		for (i = 0; i < ncol; i++)
			if (pk[i] != ti->pk[i])
				break;
		if (i < ncol) {
			why = "a change whose primary key does not match the table";
			break;
		}
		if (change_well_formed(it, op, ti) < 0) {
			why = "a malformed change";
			break;
		}
	}
	frc = sqlite3changeset_finalize(it);
	if (why != NULL) {
		db_set_err(db, "%s: %s: the changeset holds %s (table \"%s\")", db->path, what, why,
		           tab);
		return -1;
	}
	if (rc != SQLITE_DONE || frc != SQLITE_OK) {
		db_set_err(db, "%s: %s: not a changeset (%s)", db->path, what,
		           sqlite3_errstr(rc != SQLITE_DONE ? rc : frc));
		return -1;
	}
	return 0;
}

/* 1 if constant query `id` returns a row, 0 if not, -1 on error. */
static int
query_has_row(struct db *db, enum stmt_id id, const char *what)
{
	sqlite3_stmt *s = st(db, id);
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		db_sql_err(db, what);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* After applying a changeset from outside, in its transaction: what db.c
** relies on that the constraints do not say.  No dangling reference (a
** strict apply runs with foreign keys off, so a changeset that deletes a
** host but not the references to it would leave them), and no VM in more
** than DB_VM_MAX_GROUPS groups.  A changeset captured here never fails
** this; one that does is refused whole.  Checks only what the changeset's
** tables (`touched`, 1 << T_*) can have broken. */
static int
check_invariants(struct db *db, unsigned touched, const char *what)
{
	const char *why = NULL;
	int r = 0;

	if (touched & (1u << T_HOST | 1u << T_VM)) {
		r = query_has_row(db, S_FKCHECK_VM, what);
		if (r > 0)
			why = "a VM would name a host that does not exist";
	}
	if (r == 0 && (touched & (1u << T_VM | 1u << T_GROUP | 1u << T_MEMBER))) {
		r = query_has_row(db, S_FKCHECK_MEMBER, what);
		if (r > 0)
			why = "a group membership would name a VM or group that does not exist";
	}
	if (r == 0 && (touched & (1u << T_VM | 1u << T_INTENT))) {
		r = query_has_row(db, S_FKCHECK_INTENT, what);
		if (r > 0)
			why = "an intent would name a VM that does not exist";
	}
	if (r == 0 && (touched & 1u << T_MEMBER)) {
		r = query_has_row(db, S_GROUPS_MAX, what);
		if (r > 0)
			why = "a VM would be in more than " XSTR(DB_VM_MAX_GROUPS) " groups";
	}
	if (why != NULL)
		db_set_err(db, "%s: %s: refused: %s", db->path, what, why);
	return r == 0 ? 0 : -1;
}

/* Replication calls that need the connection to themselves. */
static int
repl_idle(struct db *db, const char *what)
{
	if (db->readonly) {
		db_set_err(db, "%s: %s: the database is open read-only", db->path, what);
		return -1;
	}
	if (in_txn(db)) {
		db_set_err(db, "%s: %s: a transaction or a capture is open", db->path, what);
		return -1;
	}
	return 0;
}

/* ---- capture ---- */

int
db_capture_begin(struct db *db)
{
	size_t i;
	int rc;

	if (repl_idle(db, "starting a capture") < 0)
		return -1;
	if (run(db, st(db, S_BEGIN), "starting a capture") < 0)
		return -1;
	rc = sqlite3session_create(db->h, "main", &db->session);
	if (rc != SQLITE_OK) {
		db->session = NULL;
		db_set_err(db, "%s: starting a capture: %s", db->path, sqlite3_errstr(rc));
		goto fail;
	}
	for (i = 0; i < ARRAY_SIZE(repl_tables); i++) {
		rc = sqlite3session_attach(db->session, repl_tables[i].name);
		if (rc != SQLITE_OK) {
			db_set_err(db, "%s: starting a capture: table %s: %s", db->path,
			           repl_tables[i].name, sqlite3_errstr(rc));
			goto fail;
		}
	}
	changes_drop(db);
	db->capture = 1;
	return 0;
fail:
	if (db->session != NULL)
		sqlite3session_delete(db->session);
	db->session = NULL;
	rollback_quietly(db);
	return -1;
}

/* Forget the session, roll the transaction back, drop what it noted. */
static void
capture_close(struct db *db)
{
	if (db->session != NULL)
		sqlite3session_delete(db->session);
	db->session = NULL;
	db->capture = 0;
	rollback_quietly(db);
	changes_drop(db);
}

int
db_capture_end(struct db *db, void **blob, size_t *len)
{
	void *p = NULL;
	int n = 0, rc;

	*blob = NULL;
	*len = 0;
	if (!db->capture) {
		db_set_err(db, "%s: ending a capture: no capture is open", db->path);
		return -1;
	}
	if (sqlite3_get_autocommit(db->h)) {
		db_set_err(db, "%s: ending a capture: it was rolled back by an earlier error",
		           db->path);
		capture_close(db);
		return -1;
	}
	rc = sqlite3session_changeset(db->session, &n, &p);
	capture_close(db);
	if (rc != SQLITE_OK || n < 0) {
		db_set_err(db, "%s: ending a capture: %s", db->path, sqlite3_errstr(rc));
		sqlite3_free(p);
		return -1;
	}
	if (n > 0) {
		*blob = xmalloc((size_t)n);
		memcpy(*blob, p, (size_t)n);
		*len = (size_t)n;
	}
	sqlite3_free(p);
	return 0;
}

void
db_capture_abort(struct db *db)
{
	if (db == NULL || !db->capture)
		return;
	capture_close(db);
}

int
db_capturing(const struct db *db)
{
	return db->capture;
}

/* ---- what an applied change reports ---- */

/* A changeset value as a key (text, or an integer in decimal); -1 if it is
** undefined or NULL. */
static int
value_key(sqlite3_value *v, char *out, size_t size)
{
	const unsigned char *t;

	if (v == NULL || sqlite3_value_type(v) == SQLITE_NULL)
		return -1;
	t = sqlite3_value_text(v);
	if (t == NULL)
		return -1;
	snprintf(out, size, "%s", (const char *)t);
	return 0;
}

/* Column `i` of the row a change leaves (insert) or finds (update, delete),
** as a key. */
static int
change_key(sqlite3_changeset_iter *it, int op, int i, char *out, size_t size)
{
	sqlite3_value *v = NULL;

	if (op == SQLITE_INSERT)
		sqlite3changeset_new(it, i, &v);
	else
		sqlite3changeset_old(it, i, &v);
	return value_key(v, out, size);
}

/* The pool's uuid now: 0, 1 no pool, -1 error. */
static int
pool_uuid(struct db *db, char *out, size_t size)
{
	sqlite3_stmt *s = st(db, S_POOL_UUID);
	int rc;

	out[0] = '\0';
	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		col_str(s, 0, out, size);
	else if (rc != SQLITE_DONE)
		db_sql_err(db, "reading the pool");
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

/* Note a change to a row of a record table (pass 1): an add, mod or del of
** the row.  A pool update that changes the uuid is the old pool deleted and
** a new one added, as note_pool_put() says. */
static int
note_change_direct(struct db *db, sqlite3_changeset_iter *it, int t, int op,
                   const struct db_tinfo *ti)
{
	enum db_table table = (enum db_table)repl_tables[t].table;
	char key[DB_NAME_LEN], old[DB_NAME_LEN];
	sqlite3_value *v = NULL;

	if (t == T_POOL && op == SQLITE_UPDATE) {
		sqlite3changeset_new(it, ti->col_a, &v);
		if (v != NULL) {
			if (change_key(it, op, ti->col_a, old, sizeof(old)) == 0)
				note(db, table, old, DB_CHANGE_DEL);
			if (value_key(v, key, sizeof(key)) == 0)
				note(db, table, key, DB_CHANGE_ADD);
			return 0;
		}
		if (pool_uuid(db, key, sizeof(key)) < 0)
			return -1;
		if (key[0] != '\0')
			note(db, table, key, DB_CHANGE_MOD);
		return 0;
	}
	if (change_key(it, op, ti->col_a, key, sizeof(key)) < 0)
		return 0;
	note(db, table, key,
	     op == SQLITE_INSERT   ? DB_CHANGE_ADD
	     : op == SQLITE_DELETE ? DB_CHANGE_DEL
	                           : DB_CHANGE_MOD);
	return 0;
}

/* Whether row `key` of `table` (any record table if table < 0) has a change
** of its own among the first `ndirect` entries of the log. */
static int
noted_direct(struct db *db, size_t ndirect, int table, const char *key)
{
	size_t i;

	for (i = 0; i < ndirect; i++)
		if ((table < 0 || db->pend[i].table == (enum db_table)table) &&
		    strcmp(db->pend[i].key, key) == 0)
			return 1;
	return 0;
}

/* A mod of a record that lists the changed row back (pass 2), unless the
** record has a change of its own: then that add, mod or del says it all, as
** with a direct write (deleting a host is a del of it, not a mod because
** its VMs lost their resident_on too). */
static void
note_derived(struct db *db, size_t ndirect, enum db_table table, const char *key)
{
	if (!noted_direct(db, ndirect, (int)table, key))
		note(db, table, key, DB_CHANGE_MOD);
}

/* A map row changed: a mod of its owner -- the pool, a host or a VM, told
** by looking the uuid up (they share the field name other_config). */
static int
note_map_owner(struct db *db, size_t ndirect, const char *owner)
{
	char pool[HA_UUID_LEN];
	int r;

	if (noted_direct(db, ndirect, -1, owner))
		return 0;
	r = pool_uuid(db, pool, sizeof(pool));
	if (r < 0)
		return -1;
	if (r == 0 && strcmp(pool, owner) == 0) {
		note(db, DB_TABLE_POOL, owner, DB_CHANGE_MOD);
		return 0;
	}
	r = row_exists(db, S_HOST_EXISTS, owner);
	if (r != 0) {
		if (r > 0)
			note(db, DB_TABLE_HOST, owner, DB_CHANGE_MOD);
		return r < 0 ? -1 : 0;
	}
	r = row_exists(db, S_VM_RESIDENT, owner);
	if (r > 0)
		note(db, DB_TABLE_VM, owner, DB_CHANGE_MOD);
	return r < 0 ? -1 : 0; /* no owner: a map nobody lists */
}

/* Note what a change to a row means for the records that list it (pass 2):
** a VM's old and new host, a membership's VM and group, a map's owner. */
static int
note_change_derived(struct db *db, sqlite3_changeset_iter *it, int t, int op,
                    const struct db_tinfo *ti, size_t ndirect)
{
	char key[DB_NAME_LEN];
	sqlite3_value *o = NULL, *n = NULL;

	switch (t) {
	case T_VM:
		if (op == SQLITE_UPDATE) {
			sqlite3changeset_new(it, ti->col_b, &n);
			if (n == NULL)
				return 0; /* resident_on unchanged */
			sqlite3changeset_old(it, ti->col_b, &o);
			if (value_key(o, key, sizeof(key)) == 0)
				note_derived(db, ndirect, DB_TABLE_HOST, key);
			if (value_key(n, key, sizeof(key)) == 0)
				note_derived(db, ndirect, DB_TABLE_HOST, key);
		} else if (change_key(it, op, ti->col_b, key, sizeof(key)) == 0) {
			note_derived(db, ndirect, DB_TABLE_HOST, key);
		}
		return 0;
	case T_MEMBER:
		if (change_key(it, op, ti->col_a, key, sizeof(key)) == 0)
			note_derived(db, ndirect, DB_TABLE_VM, key);
		/* An update only moves the group in the VM's list. */
		if (op != SQLITE_UPDATE && change_key(it, op, ti->col_b, key, sizeof(key)) == 0)
			note_derived(db, ndirect, DB_TABLE_VM_GROUP, key);
		return 0;
	case T_MAP:
		if (change_key(it, op, ti->col_a, key, sizeof(key)) < 0)
			return 0;
		return note_map_owner(db, ndirect, key);
	default:
		return 0;
	}
}

/* One pass over a checked changeset: the rows' own changes, or (derived)
** what they mean for the records that list them. */
static int
changeset_walk(struct db *db, const void *blob, size_t len, int derived, size_t ndirect)
{
	sqlite3_changeset_iter *it = NULL;
	int rc, r = 0;

	rc = sqlite3changeset_start(&it, (int)len, (void *)(uintptr_t)blob);
	if (rc != SQLITE_OK) {
		db_set_err(db, "%s: reading a change: %s", db->path, sqlite3_errstr(rc));
		return -1;
	}
	while (r == 0 && (rc = sqlite3changeset_next(it)) == SQLITE_ROW) {
		const struct db_tinfo *ti;
		const char *name = NULL;
		int ncol, op, indirect, t;

		sqlite3changeset_op(it, &name, &ncol, &op, &indirect);
		t = table_find(name);
		ti = t >= 0 ? tinfo_get(db, t) : NULL;
		if (ti == NULL) {
			r = -1;
			break;
		}
		if (!derived && repl_tables[t].table >= 0)
			r = note_change_direct(db, it, t, op, ti);
		else if (derived)
			r = note_change_derived(db, it, t, op, ti, ndirect);
	}
	if (sqlite3changeset_finalize(it) != SQLITE_OK && r == 0) {
		db_set_err(db, "%s: reading a change: corrupt", db->path);
		r = -1;
	}
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		db_set_err(db, "%s: reading a change: %s", db->path, sqlite3_errstr(rc));
		r = -1;
	}
	return r;
}

/* Log, for the change hook, what an applied changeset changed, as the db_*
** writes that made it would have: first every row's own add/mod/del, then
** the mods of the records listing a changed row back that have no change of
** their own.  Runs inside the apply's transaction, after the apply (a map's
** owner is looked up in the new state). */
static int
changeset_note(struct db *db, const void *blob, size_t len)
{
	if (db->hook == NULL || len == 0)
		return 0;
	if (changeset_walk(db, blob, len, 0, 0) < 0)
		return -1;
	return changeset_walk(db, blob, len, 1, db->npend);
}

/* ---- applying ---- */

struct apply_ctx {
	int conflict; /* the first conflict's SQLITE_CHANGESET_*, 0 if none */
	char tab[64]; /* and its table */
	int refused;  /* the filter refused a table */
};

static int
apply_filter(void *arg, const char *tab)
{
	struct apply_ctx *c = arg;

	if (table_find(tab) >= 0)
		return 1;
	c->refused = 1;
	return 0;
}

static void
apply_note_conflict(struct apply_ctx *c, int type, sqlite3_changeset_iter *it)
{
	const char *name = NULL;
	int ncol, op, indirect;

	if (c->conflict != 0)
		return;
	c->conflict = type;
	/* The foreign-key check comes with a dummy iterator, no table. */
	if (type != SQLITE_CHANGESET_FOREIGN_KEY &&
	    sqlite3changeset_op(it, &name, &ncol, &op, &indirect) == SQLITE_OK && name != NULL)
		snprintf(c->tab, sizeof(c->tab), "%s", name);
}

/* Strict: any conflict aborts the whole apply. */
static int
conflict_strict(void *arg, int type, sqlite3_changeset_iter *it)
{
	apply_note_conflict(arg, type, it);
	return SQLITE_CHANGESET_ABORT;
}

/* Lenient (a proposal): the proposal wins over what changed meanwhile, a
** row deleted meanwhile stays deleted, a constraint failure aborts -- except
** for a VM intent, where any conflict aborts: a member's intent write (its
** report, its claim or adoption; db.h "VM intents") holds only on the intent
** as the member saw it, and the master's may have moved it meanwhile. */
static int
conflict_lenient(void *arg, int type, sqlite3_changeset_iter *it)
{
	const char *name = NULL;
	int ncol, op, indirect;

	/* (The foreign-key check comes with a dummy iterator, no table.) */
	if (type != SQLITE_CHANGESET_FOREIGN_KEY &&
	    sqlite3changeset_op(it, &name, &ncol, &op, &indirect) == SQLITE_OK && name != NULL &&
	    strcmp(name, "vm_intent") == 0)
		return conflict_strict(arg, type, it);
	switch (type) {
	case SQLITE_CHANGESET_DATA:
	case SQLITE_CHANGESET_CONFLICT:
		return SQLITE_CHANGESET_REPLACE;
	case SQLITE_CHANGESET_NOTFOUND:
		return SQLITE_CHANGESET_OMIT;
	default:
		apply_note_conflict(arg, type, it);
		return SQLITE_CHANGESET_ABORT;
	}
}

static const char *
conflict_name(int type)
{
	switch (type) {
	case SQLITE_CHANGESET_DATA:
		return "a row is not as the change found it";
	case SQLITE_CHANGESET_NOTFOUND:
		return "a row the change updates or deletes is missing";
	case SQLITE_CHANGESET_CONFLICT:
		return "a row the change inserts is already there";
	case SQLITE_CHANGESET_CONSTRAINT:
		return "a constraint fails";
	case SQLITE_CHANGESET_FOREIGN_KEY:
		return "a foreign key fails";
	default:
		return "conflict";
	}
}

static void
apply_err(struct db *db, const char *what, int rc, const struct apply_ctx *c)
{
	if (c->conflict != 0)
		db_set_err(db, "%s: %s: %s%s%s%s", db->path, what, conflict_name(c->conflict),
		           c->tab[0] != '\0' ? " (table " : "", c->tab,
		           c->tab[0] != '\0' ? ")" : "");
	else if (c->refused)
		db_set_err(db, "%s: %s: the change touches a table that is not replicated",
		           db->path, what);
	else
		db_set_err(db, "%s: %s: %s", db->path, what, sqlite3_errmsg(db->h));
	(void)rc;
}

int
db_apply_change(struct db *db, uint64_t term, uint64_t seq, const void *blob, size_t len)
{
	struct apply_ctx c;
	sqlite3_stmt *s;
	unsigned touched;
	int rc = -1, arc;

	memset(&c, 0, sizeof(c));
	if (repl_idle(db, "applying a change") < 0 ||
	    changeset_check(db, blob, len, "applying a change", &touched) < 0)
		return -1;
	/* The changeset holds what the foreign-key actions did when it was
	** captured; they must not run again.  (A no-op inside a transaction,
	** so set before BEGIN and reset after COMMIT or ROLLBACK.) */
	if (run(db, st(db, S_FK_OFF), "applying a change: disabling foreign keys") < 0)
		return -1;
	changes_drop(db);
	if (run(db, st(db, S_BEGIN), "applying a change") < 0)
		goto out;
	if (len > 0) {
		arc = sqlite3changeset_apply_v2(db->h, (int)len, (void *)(uintptr_t)blob,
		                                apply_filter, conflict_strict, &c, NULL, NULL, 0);
		if (arc != SQLITE_OK || c.refused) {
			apply_err(db, "applying a change", arc, &c);
			goto out;
		}
	}
	if (check_invariants(db, touched, "applying a change") < 0 ||
	    changeset_note(db, blob, len) < 0)
		goto out;
	s = st(db, S_REPL_SET);
	if (s == NULL)
		goto out;
	sqlite3_bind_int64(s, 1, (int64_t)term);
	sqlite3_bind_int64(s, 2, (int64_t)seq);
	if (run(db, s, "applying a change: recording the position") < 0)
		goto out;
	if (FAULT("db.commit.fail")) {
		db_set_err(db, "%s: commit failed (fault db.commit.fail)", db->path);
		goto out;
	}
	if (run(db, st(db, S_COMMIT), "applying a change: committing") < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0) {
		rollback_quietly(db);
		changes_drop(db);
	}
	if (NEVER(run(db, st(db, S_FK_ON), "enabling foreign keys") < 0))
		log_warnx("pool database %s: foreign keys stay off: %s", db->path, db->err);
	if (rc == 0)
		changes_deliver(db);
	return rc;
}

int
db_apply_proposal(struct db *db, const void *blob, size_t len, void **out, size_t *outlen)
{
	struct apply_ctx c;
	unsigned touched;
	int arc;

	*out = NULL;
	*outlen = 0;
	memset(&c, 0, sizeof(c));
	if (repl_idle(db, "applying a proposal") < 0 ||
	    changeset_check(db, blob, len, "applying a proposal", &touched) < 0)
		return -1;
	/* Foreign keys stay on: apply_v2 defers their check to the end of
	** the apply and reports a violation as SQLITE_CHANGESET_FOREIGN_KEY. */
	if (db_capture_begin(db) < 0)
		return -1;
	if (len > 0) {
		arc = sqlite3changeset_apply_v2(db->h, (int)len, (void *)(uintptr_t)blob,
		                                apply_filter, conflict_lenient, &c, NULL, NULL, 0);
		if (arc != SQLITE_OK || c.refused) {
			apply_err(db, "applying a proposal", arc, &c);
			db_capture_abort(db);
			return -1;
		}
	}
	if (check_invariants(db, touched, "applying a proposal") < 0) {
		db_capture_abort(db);
		return -1;
	}
	return db_capture_end(db, out, outlen);
}

/* ---- position ---- */

int
db_repl_get(struct db *db, uint64_t *term, uint64_t *seq)
{
	sqlite3_stmt *s = st(db, S_REPL_GET);
	int rc;

	*term = *seq = 0;
	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*term = (uint64_t)sqlite3_column_int64(s, 0);
		*seq = (uint64_t)sqlite3_column_int64(s, 1);
	} else if (rc == SQLITE_DONE) {
		db_set_err(db, "%s: the replication position is missing", db->path);
	} else {
		db_sql_err(db, "reading the replication position");
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
db_repl_set(struct db *db, uint64_t term, uint64_t seq)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (repl_idle(db, "setting the replication position") < 0)
		return -1;
	if (write_begin(db) < 0)
		return -1;
	s = st(db, S_REPL_SET);
	if (s == NULL)
		goto out;
	sqlite3_bind_int64(s, 1, (int64_t)term);
	sqlite3_bind_int64(s, 2, (int64_t)seq);
	rc = run(db, s, "setting the replication position");
out:
	return write_end(db, rc);
}

/* ---- snapshots ---- */

int
db_snapshot(struct db *db, void **blob, size_t *len)
{
	sqlite3_int64 n = 0;
	unsigned char *p;

	*blob = NULL;
	*len = 0;
	if (in_txn(db)) {
		/* This connection would see the open transaction's uncommitted
		** writes: read the committed state through a connection of its
		** own (WAL lets it read beside the writer). */
		sqlite3 *h = NULL;
		int rc = sqlite3_open_v2(db->path, &h, SQLITE_OPEN_READONLY, NULL);

		if (rc == SQLITE_OK)
			p = sqlite3_serialize(h, "main", &n, 0);
		else
			p = NULL;
		if (p == NULL || n <= 0) {
			db_set_err(db, "%s: taking a snapshot beside a transaction: %s", db->path,
			           h != NULL ? sqlite3_errmsg(h) : "cannot open");
			sqlite3_free(p);
			sqlite3_close(h);
			return -1;
		}
		sqlite3_close(h);
		goto copy;
	}
	p = sqlite3_serialize(db->h, "main", &n, 0);
	if (p == NULL || n <= 0) {
		db_set_err(db, "%s: taking a snapshot: %s", db->path, sqlite3_errmsg(db->h));
		sqlite3_free(p);
		return -1;
	}
copy:
	*blob = xmalloc((size_t)n);
	memcpy(*blob, p, (size_t)n);
	*len = (size_t)n;
	sqlite3_free(p);
	return 0;
}

int
db_restore(struct db *db, const void *blob, size_t len)
{
	char what[512], err[512];
	sqlite3 *mem = NULL;
	sqlite3_backup *b;
	unsigned char *copy;
	int64_t version;
	int rc, frc;

	if (repl_idle(db, "restoring a snapshot") < 0)
		return -1;
	snprintf(what, sizeof(what), "%s: restoring a snapshot", db->path);
	/* 100 bytes: an SQLite file header, the least any database has. */
	if (blob == NULL || len < 100 || len > (size_t)INT64_MAX) {
		db_set_err(db, "%s: not an SQLite database", what);
		return -1;
	}
	rc = sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		db_set_err(db, "%s: %s", what, sqlite3_errstr(rc));
		goto fail;
	}
	/* FREEONCLOSE wants SQLite's allocator; the copy is ours to patch. */
	copy = sqlite3_malloc64(len);
	if (copy == NULL) {
		db_set_err(db, "%s: out of memory", what);
		goto fail;
	}
	memcpy(copy, blob, len);
	/* An image of a WAL database says so in bytes 18-19 (read and write
	** versions 2); an in-memory database cannot use a WAL, so read the
	** image as a rollback-journal one.  The backup sets them back. */
	if (copy[18] == 2 && copy[19] == 2)
		copy[18] = copy[19] = 1;
	rc = sqlite3_deserialize(mem, "main", copy, (sqlite3_int64)len, (sqlite3_int64)len,
	                         SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY);
	if (rc != SQLITE_OK) {
		db_set_err(db, "%s: %s", what, sqlite3_errstr(rc));
		goto fail;
	}
	if (check_identity(mem, what, &version, err, sizeof(err)) < 0 ||
	    check_integrity(mem, what, err, sizeof(err)) < 0) {
		db_set_err(db, "%s", err);
		goto fail;
	}
	if (version != DB_SCHEMA_VERSION) {
		db_set_err(db, "%s: schema version %" PRId64 ", this hasvcd's is %d; refusing it",
		           what, version, DB_SCHEMA_VERSION);
		goto fail;
	}
	/* One write transaction on the destination, committed like any other
	** (WAL, synchronous=FULL): all of the image or nothing.  Cached
	** statements are reset, so no read is open; they are recompiled on
	** their next use (the schema cookie changed). */
	b = sqlite3_backup_init(db->h, "main", mem, "main");
	if (b == NULL) {
		db_set_err(db, "%s: %s", what, sqlite3_errmsg(db->h));
		goto fail;
	}
	rc = sqlite3_backup_step(b, -1);
	frc = sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE || frc != SQLITE_OK) {
		db_set_err(db, "%s: %s", what, sqlite3_errmsg(db->h));
		goto fail;
	}
	sqlite3_close(mem);
	memset(db->tinfo, 0, sizeof(db->tinfo));
	changes_drop(db);
	log_info("pool database %s: content replaced by a snapshot (%zu bytes)", db->path, len);
	return 0;
fail:
	sqlite3_close(mem);
	return -1;
}

/* ---- canonical dump ---- */

static void
put_be64(unsigned char *b, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		b[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

/* A type byte and an 8-byte big-endian length, then `n` bytes. */
static void
dump_bytes(void (*fn)(void *, const void *, size_t), void *arg, char type, const void *p, size_t n)
{
	unsigned char hdr[9];

	hdr[0] = (unsigned char)type;
	put_be64(hdr + 1, (uint64_t)n);
	fn(arg, hdr, sizeof(hdr));
	if (n > 0)
		fn(arg, p, n);
}

/* Encoding: per table 'T' + length + name, then 'C' + column count (8 bytes
** BE); per row, per column: 'N' (NULL), 'I' + 8-byte BE two's complement,
** 'F' + the 8-byte BE IEEE double, 'S' or 'B' + 8-byte BE length + bytes. */
int
db_dump(struct db *db, void (*fn)(void *arg, const void *p, size_t n), void *arg)
{
	int own_txn = 0, r = -1;
	size_t t;

	if (!in_txn(db) && sqlite3_get_autocommit(db->h)) {
		/* One read transaction: every table from the same state. */
		if (exec_const(db, "BEGIN", "dumping") < 0)
			return -1;
		own_txn = 1;
	}
	for (t = 0; t < ARRAY_SIZE(repl_tables); t++) {
		unsigned char b[9];
		sqlite3_stmt *s;
		int rc, i, ncol;

		if (sqlite3_prepare_v2(db->h, repl_tables[t].dump_sql, -1, &s, NULL) != SQLITE_OK) {
			db_sql_err(db, "dumping");
			goto out;
		}
		ncol = sqlite3_column_count(s);
		dump_bytes(fn, arg, 'T', repl_tables[t].name, strlen(repl_tables[t].name));
		b[0] = 'C';
		put_be64(b + 1, (uint64_t)ncol);
		fn(arg, b, 9);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			for (i = 0; i < ncol; i++) {
				const void *p;
				double d;
				uint64_t u;

				switch (sqlite3_column_type(s, i)) {
				case SQLITE_INTEGER:
					b[0] = 'I';
					put_be64(b + 1, (uint64_t)sqlite3_column_int64(s, i));
					fn(arg, b, 9);
					break;
				case SQLITE_FLOAT:
					d = sqlite3_column_double(s, i);
					memcpy(&u, &d, sizeof(u));
					b[0] = 'F';
					put_be64(b + 1, u);
					fn(arg, b, 9);
					break;
				case SQLITE_TEXT:
					p = sqlite3_column_text(s, i);
					dump_bytes(fn, arg, 'S', p,
					           (size_t)sqlite3_column_bytes(s, i));
					break;
				case SQLITE_BLOB:
					p = sqlite3_column_blob(s, i);
					dump_bytes(fn, arg, 'B', p,
					           (size_t)sqlite3_column_bytes(s, i));
					break;
				default:
					b[0] = 'N';
					fn(arg, b, 1);
					break;
				}
			}
		}
		if (rc != SQLITE_DONE)
			db_sql_err(db, "dumping");
		sqlite3_finalize(s);
		if (rc != SQLITE_DONE)
			goto out;
	}
	r = 0;
out:
	if (own_txn)
		exec_const(db, r == 0 ? "COMMIT" : "ROLLBACK", "ending a dump");
	return r;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
db_pool_cluster_key(const struct db_pool *pool, uint8_t key[DB_CLUSTER_KEY_LEN])
{
	size_t i, len = strlen(pool->cluster_key);

	if (len == 0)
		return 1;
	if (len != 2 * DB_CLUSTER_KEY_LEN)
		return -1;
	for (i = 0; i < DB_CLUSTER_KEY_LEN; i++) {
		int hi = hex_digit(pool->cluster_key[2 * i]);
		int lo = hex_digit(pool->cluster_key[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			explicit_bzero(key, DB_CLUSTER_KEY_LEN);
			return -1;
		}
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
