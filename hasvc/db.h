/*
** The pool database (DESIGN §2): hosts, VMs and their HA policy, the pool's HA
** configuration, VM groups, alerts (XAPI messages), fence records and users,
** in one SQLite file per host (WAL, synchronous=FULL: a write acknowledged by
** a db_* call that returned 0 survives a crash or power loss).
**
** SQL lives only in db.c; everything here is typed.  Field names follow XAPI
** (reference/xapi.md §1, §4.6).  Objects are named by UUID; their XAPI ref is
** "OpaqueRef:<uuid>" (lib/ids.h).  Strings are fixed-size arrays, so records
** can be copied by value; the maps (ha_configuration, other_config) are heap
** arrays owned by the record and released by the record's _clear function.
**
** Opening: a file that is not an SQLite database, an SQLite database that is
** not a hasvc pool database (wrong application_id, or foreign tables), or one
** whose schema version is newer than this build knows, is refused with a clear
** message and left byte-for-byte untouched.  An older schema is migrated in
** one transaction.
**
** Not thread-safe: one struct db belongs to one thread (the event loop).
*/
#ifndef HASVC_HASVC_DB_H
#define HASVC_HASVC_DB_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ids.h"

#define DB_SCHEMA_VERSION 5
#define DB_APPLICATION_ID 0x48415356 /* "HASV" */

#define DB_NAME_LEN 256
#define DB_ADDR_LEN 64
#define DB_TEXT_LEN 1024
#define DB_CLUSTER_KEY_LEN 256 /* bytes; knet wants 128..4096 */

struct db;

struct db_kv {
	char *key;
	char *value;
};

/* A (string -> string) map, kept sorted by key. */
struct db_map {
	struct db_kv *kv;
	size_t n;
};

const char *db_map_get(const struct db_map *m, const char *key);
void db_map_set(struct db_map *m, const char *key, const char *value);
int db_map_remove(struct db_map *m, const char *key); /* 0 removed, -1 absent */
void db_map_clear(struct db_map *m);
void db_map_copy(struct db_map *dst, const struct db_map *src);

enum db_power_state {
	DB_POWER_HALTED = 0,
	DB_POWER_PAUSED,
	DB_POWER_RUNNING,
	DB_POWER_SUSPENDED,
};

enum db_restart_priority {
	DB_PRIO_NONE = 0,  /* "" */
	DB_PRIO_RESTART,   /* "restart" */
	DB_PRIO_BEST_EFFORT, /* "best-effort" */
};

enum db_placement {
	DB_PLACEMENT_NORMAL = 0,
	DB_PLACEMENT_ANTI_AFFINITY,
};

/* XAPI spellings: "Halted", "Running", ...; "restart", "best-effort", "";
** "normal", "anti_affinity".  *_from_name return -1 for an unknown name (or
** NULL); *_name return NULL for a value outside the enum. */
const char *db_power_state_name(enum db_power_state s);
int db_power_state_from_name(const char *name);
const char *db_restart_priority_name(enum db_restart_priority p);
int db_restart_priority_from_name(const char *name);
const char *db_placement_name(enum db_placement p);
int db_placement_from_name(const char *name);

struct db_pool {
	char uuid[HA_UUID_LEN];
	char name_label[DB_NAME_LEN];
	char name_description[DB_NAME_LEN];
	char master[HA_UUID_LEN]; /* host uuid, "" if none */
	int ha_enabled;
	struct db_map ha_configuration;
	int64_t ha_host_failures_to_tolerate;
	int64_t ha_plan_exists_for;
	int ha_allow_overcommit;
	int ha_overcommitted;
	int ha_reboot_vm_on_internal_shutdown; /* default 1, as xapi */
	char ha_cluster_stack[32];             /* "corosync" */
	struct db_map other_config;
	/* The pool's corosync authkey (DB_CLUSTER_KEY_LEN random bytes, as hex;
	** "" until the pool is clustered).  Never shown through the API. */
	char cluster_key[2 * DB_CLUSTER_KEY_LEN + 1];
};

struct db_host {
	char uuid[HA_UUID_LEN];
	char name_label[DB_NAME_LEN];
	char hostname[DB_NAME_LEN];
	char address[DB_ADDR_LEN];
	int enabled;
	int64_t memory_total;    /* bytes */
	int64_t memory_overhead; /* bytes */
	/* host_metrics */
	int live;
	int64_t memory_free;  /* bytes */
	int64_t last_updated; /* seconds since the epoch */
	struct db_map other_config;
	/* Cluster membership: the corosync nodeid (1..), 0 = not a cluster
	** member; a second management address for a second knet link, or "". */
	uint32_t cluster_nodeid;
	char address2[DB_ADDR_LEN];
	/* Who runs this host now (schema 5, "Incarnations" below); 0: nobody
	** has said yet.  Read with the record, written only by
	** db_host_set_incarnation (db_host_put leaves it as it is). */
	int64_t incarnation;
};

#define DB_VM_MAX_GROUPS 8

struct db_vm {
	char uuid[HA_UUID_LEN];
	char name_label[DB_NAME_LEN];
	enum db_power_state power_state;
	char resident_on[HA_UUID_LEN]; /* host uuid, "" = OpaqueRef:NULL */
	char affinity[HA_UUID_LEN];    /* host uuid, "" = none */
	int64_t memory_static_max;     /* bytes */
	int64_t memory_overhead;       /* bytes */
	int64_t VCPUs_max;
	enum db_restart_priority ha_restart_priority;
	int ha_always_run;
	int64_t order;
	int64_t start_delay; /* seconds */
	int is_control_domain;
	size_t ngroups;
	char groups[DB_VM_MAX_GROUPS][HA_UUID_LEN]; /* VM_group uuids */
	char hv_config[DB_TEXT_LEN]; /* backend config (libxl JSON for hv_xen: docs/hv_xen.md), may be "" */
	struct db_map other_config;
};

struct db_vm_group {
	char uuid[HA_UUID_LEN];
	char name_label[DB_NAME_LEN];
	char name_description[DB_NAME_LEN];
	enum db_placement placement;
};

/* An alert, as a XAPI message object. */
struct db_message {
	char uuid[HA_UUID_LEN];
	char name[64];      /* HA_HOST_FAILED, ... */
	int64_t priority;   /* 1 critical .. 5 info */
	char cls[16];       /* VM | Host | Pool | ... */
	char obj_uuid[HA_UUID_LEN];
	int64_t timestamp;  /* seconds since the epoch */
	char body[DB_TEXT_LEN];
};

struct db_fence_record {
	int64_t id; /* assigned by db_fence_add */
	char host_uuid[HA_UUID_LEN];
	int64_t timestamp; /* seconds since the epoch */
	char reason[64];
	char detail[DB_TEXT_LEN];
};

struct db_user {
	char name[DB_NAME_LEN];
	char password_hash[256]; /* opaque to db.c */
	char role[32];
};

enum {
	DB_OPEN_CREATE = 1 << 0, /* create a new database if the file does not exist */
	DB_OPEN_READONLY = 1 << 1,
};

/* Open (or with DB_OPEN_CREATE, create) the database at `path`.  On failure
** returns NULL with a sentence in err[] that starts with the path:
**     "FILE: no such file"                       (absent, no DB_OPEN_CREATE)
**     "FILE: not an SQLite database"
**     "FILE: not a hasvc pool database (application_id 0x12345678)"
**     "FILE: schema version 7 is newer than this hasvcd supports (1); refusing to open it"
**     "FILE: the database is damaged (...); refusing to open it"   (quick_check)
** A refused file is inspected read-only and left byte-for-byte as it was, with
** no -wal/-shm/-journal file created.  An empty file, or an SQLite file with
** no tables and application_id 0 or ours, is a new database.  An older schema
** is migrated in one transaction.  The parent directory must exist.
**
** DB_OPEN_READONLY writes nothing and migrates nothing (an older schema is
** refused); every write on such a handle fails.  When no -wal file exists it
** reads the file without locking it, so it is for offline inspection. */
struct db *db_open(const char *path, int flags, char *err, size_t errlen);
void db_close(struct db *db); /* db_close(NULL) is a no-op */

/* The last error as a sentence. */
const char *db_errmsg(struct db *db);

/* Group several writes into one atomic, durable transaction.  Without these,
** each write is its own transaction.  A write that fails inside the
** transaction is undone alone (the transaction stays usable); db_commit()
** returns -1 and rolls everything back if the commit fails.  No nesting:
** db_begin() inside a transaction fails.  db_close() rolls back an open one. */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/* Lookups return 0 found, 1 not found, -1 error; so do _delete and the
** partial updates (_set_metrics, _set_power): 1 means no such row.  _put
** inserts or replaces the whole record (maps and groups included); a record's
** uuid must be well-formed.  References are checked (foreign keys): a VM's
** resident_on/affinity must name a stored host and its groups stored VM
** groups, or the put fails and writes nothing; deleting a host clears the
** resident_on/affinity naming it, deleting a group removes it from its VMs.
** Lists return xmalloc'd arrays freed by the _list_free functions (which also
** clear each record's maps); hosts, VMs and groups are listed by name_label,
** then uuid.  VM groups, messages and fence records own no maps: free their arrays with
** xfree(). */
int db_pool_get(struct db *db, struct db_pool *out);
int db_pool_put(struct db *db, const struct db_pool *pool);
void db_pool_init(struct db_pool *pool); /* XAPI defaults */
/* The pool's cluster key as bytes: 0, 1 if the pool has none, -1 if the
** stored hex is malformed. */
int db_pool_cluster_key(const struct db_pool *pool, uint8_t key[DB_CLUSTER_KEY_LEN]);
void db_pool_clear(struct db_pool *pool);

int db_host_get(struct db *db, const char *uuid, struct db_host *out);
int db_host_put(struct db *db, const struct db_host *host);
int db_host_delete(struct db *db, const char *uuid);
int db_host_list(struct db *db, struct db_host **out, size_t *n);
void db_host_init(struct db_host *host);
void db_host_clear(struct db_host *host);
void db_host_list_free(struct db_host *hosts, size_t n);
/* A host's hasvcd says who it is (schema 5, "Incarnations"): 0, 1 no such host, -1. */
int db_host_set_incarnation(struct db *db, const char *uuid, int64_t incarnation);
/* Update only the host_metrics part (live, memory_free, memory_total, last_updated). */
int db_host_set_metrics(struct db *db, const char *uuid, int live, int64_t memory_total,
			int64_t memory_free, int64_t last_updated);

int db_vm_get(struct db *db, const char *uuid, struct db_vm *out);
int db_vm_put(struct db *db, const struct db_vm *vm);
int db_vm_delete(struct db *db, const char *uuid);
int db_vm_list(struct db *db, struct db_vm **out, size_t *n);
/* VMs whose resident_on is `host_uuid`. */
int db_vm_list_resident(struct db *db, const char *host_uuid, struct db_vm **out, size_t *n);
void db_vm_init(struct db_vm *vm);
void db_vm_clear(struct db_vm *vm);
void db_vm_list_free(struct db_vm *vms, size_t n);
/* Update only power_state and resident_on ("" clears it). */
int db_vm_set_power(struct db *db, const char *uuid, enum db_power_state state,
		    const char *resident_on);

int db_vm_group_get(struct db *db, const char *uuid, struct db_vm_group *out);
int db_vm_group_put(struct db *db, const struct db_vm_group *g);
int db_vm_group_delete(struct db *db, const char *uuid);
int db_vm_group_list(struct db *db, struct db_vm_group **out, size_t *n);

/* Store an alert; fills m->uuid if empty.  priority must be 1..5. */
int db_message_add(struct db *db, struct db_message *m);
/* Messages with timestamp >= since, oldest first. */
int db_message_list(struct db *db, int64_t since, struct db_message **out, size_t *n);
int db_message_delete(struct db *db, const char *uuid);

/* The notified marker (hasvc/notify.h): a message is sent to the SNMP
** receivers and hooks once, by whoever writes its marker.  _unnotified lists
** the messages without one, oldest first (xfree the array); _mark_notified
** stores it (by host, at wall-clock time), a no-op if it is there already;
** _notified returns 1 marked, 0 not, -1 error.  Deleting a message deletes
** its marker in the same write.  Neither table is reported to the change
** hook. */
int db_message_unnotified(struct db *db, struct db_message **out, size_t *n);
int db_message_mark_notified(struct db *db, const char *uuid, const char *host, int64_t time);
int db_message_notified(struct db *db, const char *uuid);

/* An SNMP notification receiver of the pool (hasvc/api_snmp.h).  Holds the
** secrets: never hand one to the API as is; free lists with
** db_snmp_receiver_list_free, which wipes them. */
struct db_snmp_receiver {
	char uuid[HA_UUID_LEN];
	char address[DB_ADDR_LEN]; /* IPv4 or IPv6 literal, or a host name */
	int64_t port;              /* 1..65535 */
	char version[4];           /* "2c" or "3" */
	int inform;                /* 1: InformRequest (acknowledged), 0: trap */
	char community[128];       /* v2c */
	char user[64];             /* v3 (authPriv, SHA + AES-128) */
	char auth_key[128];        /* v3 passphrases, >= 8 characters */
	char priv_key[128];
};

/* _put inserts or replaces; _delete returns 0, 1 no such receiver, -1. */
int db_snmp_receiver_put(struct db *db, const struct db_snmp_receiver *r);
int db_snmp_receiver_delete(struct db *db, const char *uuid);
int db_snmp_receiver_list(struct db *db, struct db_snmp_receiver **out, size_t *n);
void db_snmp_receiver_list_free(struct db_snmp_receiver *v, size_t n);

/*
** VM intents (schema 4; docs/failover.md).  The master tells a host to start
** or stop a VM by writing an intent row that names the host; the host named
** carries it out on its own hypervisor and reports back in one write (the
** VM's power state and the row's end).  At most one intent per VM.  A START
** intent is the restart of a VM a dead host ran (failover), of a protected VM
** found halted (always-run), or the second half of an evacuation; a STOP
** intent is a VM.clean_shutdown / hard_shutdown through the API, or the
** first half of an evacuation.
**
** Who may start a VM (the rule that keeps it from running twice): the host
** it is Running/Paused on in the database, or, while it is Halted with no
** resident host, the host its ISSUED START intent names -- nobody else.  The
** master moves an ISSUED intent to another host only when the host named
** reported FAILED (a definite error, no domain left behind) or is certainly
** dead (heartbeat/liveness.h, LV_ACT_HOST_DEAD).
**
** Incarnations (schema 5; docs/failover.md, "Incarnations").  Every start of
** hasvcd picks a random incarnation, > 0, and writes it into its host row
** before it starts anything.  A START is ISSUED to a host's incarnation (the
** one its row shows at the write), and only that incarnation carries it out:
** a later one finds it "inherited" and must first adopt it -- a write that
** holds only while the row shows the adopter's incarnation.  The master's
** dead-host write names the incarnation that died (its host row as the
** master's database had it when its engine announced the death) and changes
** nothing once the row shows another: so a host that reboots and is admitted
** before that write lands is never undone by it, and whatever its old self
** left behind the new one settles itself (it adopts the STARTs ISSUED to its
** old self, and claims the restart of a VM recorded Running on it without a
** domain), each in a write whose precondition excludes the dead-host write's.
*/
enum db_intent_op {
	DB_INTENT_START = 1,
	DB_INTENT_STOP = 2,
};

enum db_intent_state {
	DB_INTENT_QUEUED = 0, /* START: waiting for the master to choose a host */
	DB_INTENT_ISSUED,     /* `host` is to carry it out */
	DB_INTENT_FAILED,     /* `host` could not (error says why); the master replans */
};

enum db_intent_why {
	DB_WHY_FAILOVER = 0, /* its host died */
	DB_WHY_ALWAYS_RUN,   /* a protected VM found halted */
	DB_WHY_EVACUATE,     /* host.evacuate: STOP on the source, then START elsewhere */
	DB_WHY_API,          /* VM.clean_shutdown / VM.hard_shutdown */
};

struct db_vm_intent {
	char vm[HA_UUID_LEN];
	enum db_intent_op op;
	enum db_intent_state state;
	enum db_intent_why why;
	char host[HA_UUID_LEN]; /* the host to carry it out; "" while QUEUED */
	char from[HA_UUID_LEN]; /* the host the VM ran on (dead, evacuated), or "" */
	int clean;              /* STOP: clean shutdown (else hard) */
	int alerted;            /* HA_PROTECTED_VM_RESTART_FAILED raised for it */
	int64_t attempts;       /* times ISSUED */
	int64_t created;        /* wall-clock milliseconds since the epoch */
	char error[128];        /* FAILED: why, as the host said */
	/* START ISSUED: the incarnation of `host` it was issued to (below);
	** only that incarnation carries it out. */
	int64_t incarnation;
};

void db_intent_init(struct db_vm_intent *in);
/* _get: 0 found, 1 none, -1 error.  _put inserts or replaces (the VM must
** exist); _delete: 0, 1 none, -1.  _list: every intent, by vm (xfree). */
int db_intent_get(struct db *db, const char *vm, struct db_vm_intent *out);
int db_intent_put(struct db *db, const struct db_vm_intent *in);
int db_intent_delete(struct db *db, const char *vm);
int db_intent_list(struct db *db, struct db_vm_intent **out, size_t *n);

/* Append a fence record; fills r->id. */
int db_fence_add(struct db *db, struct db_fence_record *r);
/* Records for host_uuid (NULL: all), newest first. */
int db_fence_list(struct db *db, const char *host_uuid, struct db_fence_record **out, size_t *n);

int db_user_get(struct db *db, const char *name, struct db_user *out);
int db_user_put(struct db *db, const struct db_user *u);
int db_user_delete(struct db *db, const char *name);
/* Every user, by name; free the array with xfree (it holds hashes: callers
** must not pass them on). */
int db_user_list(struct db *db, struct db_user **out, size_t *n);

/* ---- change notification ---- */

enum db_table {
	DB_TABLE_POOL = 0,
	DB_TABLE_HOST, /* includes its host_metrics */
	DB_TABLE_VM,
	DB_TABLE_VM_GROUP,
	DB_TABLE_MESSAGE,
	DB_TABLE_USER,
	DB_TABLE_FENCE,
	DB_TABLE_INTENT, /* uuid = the VM's */
};

enum db_change {
	DB_CHANGE_ADD = 0,
	DB_CHANGE_MOD,
	DB_CHANGE_DEL,
};

/* Called once per changed row after its transaction commits (never for a
** rolled-back one), in commit order; a row changed twice in one transaction
** is reported once (add+mod = add, add+del = nothing, mod+del = del,
** del+add = mod).  A write outside db_begin() is its own transaction; a
** write that fails inside one reports nothing.  `uuid` is the row's uuid,
** a user's name, or a fence record's id in decimal.  Besides the rows
** written, a write reports the records that list them back: a VM whose
** resident_on changes is a mod of the old and new host (resident_VMs), a VM
** joining or leaving a group a mod of the group (VMs); deleting a host is a
** mod of the VMs resident on or affine to it, deleting a group a mod of its
** members, deleting a VM a mod of its host and groups.  The hook may call
** db_* functions, writes included (reported in turn).  Without a hook,
** nothing is recorded. */
typedef void (*db_change_hook)(void *arg, enum db_table table, const char *uuid,
			       enum db_change op);
void db_set_change_hook(struct db *db, db_change_hook fn, void *arg);

/* ---- replication (hasvc/repl.c, docs/cluster.md) ----
**
** In a pool every change is made on the master, captured as an SQLite
** changeset (the session extension), multicast in CPG total order with a
** pool-wide sequence number, and applied by every host, the master included,
** in delivery order.  The database records the position of the last change
** it holds -- (term, seq): the master's term and the pool-wide sequence
** number -- in the table repl, which is never itself captured. */

/* Start capturing: the writes that follow (any db_* writes, db_begin/
** db_commit pairs included, which become no-ops returning 0 inside a capture,
** as does db_rollback) run in a transaction whose net effect is recorded; a
** write that fails is undone alone, as inside db_begin().  Reads see the
** captured writes.  -1 if a capture or a db_begin() transaction is already
** open, or on a read-only handle.  db_close() aborts an open capture. */
int db_capture_begin(struct db *db);
/* End the capture: roll every captured write back and return their net
** effect as a changeset in *blob (xmalloc'd; NULL with *len 0 when nothing
** changed).  Nothing is reported to the change hook: the change is reported
** when it is applied.  -1 on error, or if no capture is open (everything
** rolled back, *blob NULL). */
int db_capture_end(struct db *db, void **blob, size_t *len);
/* Roll a capture back and forget it; a no-op outside a capture. */
void db_capture_abort(struct db *db);
int db_capturing(const struct db *db);

/* Apply a changeset captured on a database identical to this one, and set
** the position to (term, seq), in one durable transaction.  Strict: any
** conflict (a row missing, different, or already there) or constraint
** failure fails the whole apply with -1 and changes nothing -- the two
** databases have diverged.  So does a change the API could not have made: a
** reference to a host, VM or group that does not exist afterwards, or a VM
** in more than DB_VM_MAX_GROUPS groups.  An empty changeset (NULL, 0) only
** sets the position.  After the commit every changed row is reported to the
** change hook, as the db_* writes that made the change in one db_begin()
** transaction would report it (a write that stored identical values is no
** change, and reports nothing).  A blob that is not a changeset of our
** tables (a patchset, unknown or non-replicated tables, other columns)
** fails with -1 before anything is touched; it never crashes.  -1 inside a
** capture or a transaction. */
int db_apply_change(struct db *db, uint64_t term, uint64_t seq, const void *blob, size_t len);
/* Apply a changeset captured on another, possibly older copy of the pool
** database (a member's proposal) inside a capture, leniently: a row changed
** meanwhile takes the proposal's values for the columns the proposal changed,
** a row deleted meanwhile stays deleted, an insert of an existing row
** replaces it (note: as a delete and an insert, so the delete's foreign-key
** actions run: replacing a host clears its VMs' resident_on and affinity,
** replacing a VM or a group drops its memberships); a foreign-key
** or CHECK violation fails it, and so do the checks db_apply_change makes.
** Not lenient for VM intents: a change to a vm_intent row that is not as
** the proposal found it (changed, deleted, or inserted meanwhile) fails the
** whole proposal -- a member's intent write (its report, claim or adoption)
** must not undo the master's move of that intent.
** Returns the net effect against *this* database as db_capture_end does
** (NULL, 0 if nothing is left to do), and changes nothing.  -1 on failure,
** or inside a capture or a transaction. */
int db_apply_proposal(struct db *db, const void *blob, size_t len, void **out, size_t *outlen);

/* The position of the last applied change ((0, 0) for a new database). */
int db_repl_get(struct db *db, uint64_t *term, uint64_t *seq);
/* Set it outside a change (a pool's creation); durable.  -1 inside a
** capture or a transaction. */
int db_repl_set(struct db *db, uint64_t term, uint64_t seq);

/* A consistent image of the whole database (the bytes of a database file,
** sqlite3_serialize), for a state transfer; xmalloc'd.  Inside a capture or
** a transaction it is the last committed state, read through a connection of
** its own, without the open writes. */
int db_snapshot(struct db *db, void **blob, size_t *len);
/* Replace the whole content, position included, by a snapshot, in
** one durable transaction.  The image is checked first (an SQLite database,
** our application_id, our schema version, integrity) and refused with -1
** and a message in db_errmsg, the current content kept.  The change hook is
** not called: the caller resynchronises its watchers.  -1 inside a capture
** or a transaction. */
int db_restore(struct db *db, const void *blob, size_t len);

/* The logical content in a canonical form: every row of every replicated
** table in primary-key order, each value typed and length-prefixed, fed to
** fn in pieces (the caller hashes it).  Two databases with the same rows give
** the same bytes, however they got them.  The repl table is left out (and
** SQLite's AUTOINCREMENT counter).  The encoding (db.c) is stable within a
** schema version; read in one read transaction. */
int db_dump(struct db *db, void (*fn)(void *arg, const void *p, size_t n), void *arg);

#endif
