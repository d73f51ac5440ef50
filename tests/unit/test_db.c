/*
** The pool database: every record and field round-trips, writes are atomic,
** data survives close/reopen, and a file that is not ours is refused with a
** clear message and left byte-for-byte untouched.
*/
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
/* For the session extension (changesets built by hand below). */
#define SQLITE_ENABLE_SESSION
#define SQLITE_ENABLE_PREUPDATE_HOOK
#include <sqlite3.h>

#include "hasvc/db.h"
#include "lib/check.h"
#include "lib/fault.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

static char tmpdir[64];
static int seq;

/* A fresh path in the test's temp dir (file not created). */
static char *
tmp_path(const char *tag)
{
	return xasprintf("%s/%s-%d.db", tmpdir, tag, ++seq);
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

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = xmalloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Run constant SQL on `path` with plain SQLite (rollback journal). */
static void
sql(const char *path, const char *text)
{
	sqlite3 *h;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, text, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
}

static int64_t
sql_int(const char *path, const char *text)
{
	sqlite3 *h;
	sqlite3_stmt *s;
	int64_t v;

	assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, text, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

static struct db *
open_new(char **path)
{
	char err[512];
	struct db *db;

	*path = tmp_path("pool");
	db = db_open(*path, DB_OPEN_CREATE, err, sizeof(err));
	if (db == NULL)
		fail_msg("db_open: %s", err);
	return db;
}

/* db_open must refuse `path` with a message containing `want`, leave its
** bytes as they were and create no journal file. */
static void
assert_refused(const char *path, int flags, const char *want)
{
	char err[512] = "";
	size_t n0, n1;
	char *before = slurp(path, &n0), *after;
	struct db *db = db_open(path, flags, err, sizeof(err));

	if (db != NULL)
		fail_msg("%s: opened, expected refusal with \"%s\"", path, want);
	if (strstr(err, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err, want);
	assert_non_null(strstr(err, path)); /* names the file */
	after = slurp(path, &n1);
	assert_int_equal(n0, n1);
	assert_memory_equal(before, after, n0);
	assert_false(file_exists(path, "-wal"));
	assert_false(file_exists(path, "-shm"));
	assert_false(file_exists(path, "-journal"));
	xfree(before);
	xfree(after);
}

static void
remove_db(char *path)
{
	char *p;

	unlink(path);
	p = xasprintf("%s-wal", path);
	unlink(p);
	xfree(p);
	p = xasprintf("%s-shm", path);
	unlink(p);
	xfree(p);
	xfree(path);
}

static void
make_host(struct db_host *h, const char *name)
{
	db_host_init(h);
	id_uuid_new(h->uuid);
	snprintf(h->name_label, sizeof(h->name_label), "%s", name);
}

static void
make_vm(struct db_vm *vm, const char *name)
{
	db_vm_init(vm);
	id_uuid_new(vm->uuid);
	snprintf(vm->name_label, sizeof(vm->name_label), "%s", name);
}

/* ---- enums and maps ---- */

static void
test_enum_names(void **state)
{
	static const char *const power[] = {"Halted", "Paused", "Running", "Suspended"};
	static const char *const prio[] = {"", "restart", "best-effort"};
	static const char *const placement[] = {"normal", "anti_affinity"};
	int i;

	for (i = 0; i < 4; i++) {
		assert_string_equal(db_power_state_name((enum db_power_state)i), power[i]);
		assert_int_equal(db_power_state_from_name(power[i]), i);
	}
	for (i = 0; i < 3; i++) {
		assert_string_equal(db_restart_priority_name((enum db_restart_priority)i), prio[i]);
		assert_int_equal(db_restart_priority_from_name(prio[i]), i);
	}
	for (i = 0; i < 2; i++) {
		assert_string_equal(db_placement_name((enum db_placement)i), placement[i]);
		assert_int_equal(db_placement_from_name(placement[i]), i);
	}
	assert_int_equal(db_power_state_from_name("running"), -1);
	assert_int_equal(db_power_state_from_name(""), -1);
	assert_int_equal(db_power_state_from_name(NULL), -1);
	assert_int_equal(db_restart_priority_from_name("Restart"), -1);
	assert_int_equal(db_restart_priority_from_name("best_effort"), -1);
	assert_int_equal(db_placement_from_name("anti-affinity"), -1);
	assert_null(db_power_state_name((enum db_power_state)4));
	assert_null(db_power_state_name((enum db_power_state) - 1));
	assert_null(db_restart_priority_name((enum db_restart_priority)3));
	assert_null(db_placement_name((enum db_placement)2));
}

static void
test_map_ops(void **state)
{
	struct db_map m = {0}, c = {0};

	db_map_set(&m, "b", "2");
	db_map_set(&m, "c", "3");
	db_map_set(&m, "a", "1");
	db_map_set(&m, "b", "two");
	assert_int_equal(m.n, 3);
	assert_string_equal(m.kv[0].key, "a");
	assert_string_equal(m.kv[1].key, "b");
	assert_string_equal(m.kv[2].key, "c");
	assert_string_equal(db_map_get(&m, "b"), "two");
	assert_null(db_map_get(&m, "z"));
	assert_int_equal(db_map_remove(&m, "z"), -1);
	assert_int_equal(db_map_remove(&m, "a"), 0);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.kv[0].key, "b");
	db_map_copy(&c, &m);
	db_map_clear(&m);
	assert_int_equal(m.n, 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(db_map_get(&c, "c"), "3");
	db_map_clear(&c);
	db_map_clear(&c);
}

/* ---- records ---- */

static void
test_pool_roundtrip(void **state)
{
	struct db_pool p, q;
	char *path;
	struct db *db = open_new(&path);
	char old_uuid[HA_UUID_LEN];

	assert_int_equal(db_pool_get(db, &q), 1);
	db_pool_clear(&q);

	db_pool_init(&p);
	assert_int_equal(p.ha_reboot_vm_on_internal_shutdown, 1);
	assert_string_equal(p.ha_cluster_stack, "corosync");
	assert_int_equal(db_pool_put(db, &p), -1); /* no uuid */
	id_uuid_new(p.uuid);
	strcpy(p.name_label, "pool one");
	strcpy(p.name_description, "a description");
	id_uuid_new(p.master);
	p.ha_enabled = 1;
	p.ha_host_failures_to_tolerate = 2;
	p.ha_plan_exists_for = 1;
	p.ha_allow_overcommit = 1;
	p.ha_overcommitted = 1;
	p.ha_reboot_vm_on_internal_shutdown = 0;
	strcpy(p.ha_cluster_stack, "xhad");
	db_map_set(&p.ha_configuration, "timeout", "30");
	db_map_set(&p.ha_configuration, "a", "b");
	db_map_set(&p.other_config, "k", "v");
	assert_int_equal(db_pool_put(db, &p), 0);

	assert_int_equal(db_pool_get(db, &q), 0);
	assert_string_equal(q.uuid, p.uuid);
	assert_string_equal(q.name_label, "pool one");
	assert_string_equal(q.name_description, "a description");
	assert_string_equal(q.master, p.master);
	assert_int_equal(q.ha_enabled, 1);
	assert_int_equal(q.ha_host_failures_to_tolerate, 2);
	assert_int_equal(q.ha_plan_exists_for, 1);
	assert_int_equal(q.ha_allow_overcommit, 1);
	assert_int_equal(q.ha_overcommitted, 1);
	assert_int_equal(q.ha_reboot_vm_on_internal_shutdown, 0);
	assert_string_equal(q.ha_cluster_stack, "xhad");
	assert_string_equal(q.cluster_key, "");
	assert_int_equal(q.ha_configuration.n, 2);
	assert_string_equal(q.ha_configuration.kv[0].key, "a");
	assert_string_equal(db_map_get(&q.ha_configuration, "timeout"), "30");
	assert_int_equal(q.other_config.n, 1);
	assert_string_equal(db_map_get(&q.other_config, "k"), "v");
	db_pool_clear(&q);

	/* Update: a new uuid carries the maps, the old uuid keeps none. */
	memcpy(old_uuid, p.uuid, HA_UUID_LEN);
	id_uuid_new(p.uuid);
	p.ha_enabled = 0;
	memset(p.cluster_key, 'a', sizeof(p.cluster_key) - 1);
	db_map_remove(&p.ha_configuration, "a");
	db_map_clear(&p.other_config);
	assert_int_equal(db_pool_put(db, &p), 0);
	assert_int_equal(db_pool_get(db, &q), 0);
	assert_string_equal(q.uuid, p.uuid);
	assert_int_equal(q.ha_enabled, 0);
	assert_int_equal(strlen(q.cluster_key), 2 * DB_CLUSTER_KEY_LEN);
	assert_memory_equal(q.cluster_key, p.cluster_key, sizeof(p.cluster_key));
	{
		uint8_t key[DB_CLUSTER_KEY_LEN];

		assert_int_equal(db_pool_cluster_key(&q, key), 0);
		assert_int_equal(key[0], 0xaa);
		assert_int_equal(key[DB_CLUSTER_KEY_LEN - 1], 0xaa);
		q.cluster_key[7] = 'g';
		assert_int_equal(db_pool_cluster_key(&q, key), -1);
		q.cluster_key[7] = '\0';
		assert_int_equal(db_pool_cluster_key(&q, key), -1);
		q.cluster_key[0] = '\0';
		assert_int_equal(db_pool_cluster_key(&q, key), 1);
	}
	assert_int_equal(q.ha_configuration.n, 1);
	assert_int_equal(q.other_config.n, 0);
	db_pool_clear(&q);
	db_close(db);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM pool"), 1);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM map"), 1);
	db_pool_clear(&p);
	remove_db(path);
}

static void
test_host_roundtrip(void **state)
{
	struct db_host a, b, got, *list;
	size_t n;
	char *path;
	struct db *db = open_new(&path);

	make_host(&a, "zeta");
	strcpy(a.hostname, "zeta.example");
	strcpy(a.address, "192.0.2.7");
	a.enabled = 0;
	a.memory_total = INT64_C(68719476736);
	a.memory_overhead = 123456;
	a.live = 1;
	a.memory_free = 4096;
	a.last_updated = 1700000000;
	db_map_set(&a.other_config, "rack", "r1");
	assert_int_equal(db_host_put(db, &a), 0);
	make_host(&b, "alpha");
	assert_int_equal(db_host_put(db, &b), 0);

	assert_int_equal(db_host_get(db, a.uuid, &got), 0);
	assert_string_equal(got.uuid, a.uuid);
	assert_string_equal(got.name_label, "zeta");
	assert_string_equal(got.hostname, "zeta.example");
	assert_string_equal(got.address, "192.0.2.7");
	assert_int_equal(got.enabled, 0);
	assert_int_equal(got.memory_total, INT64_C(68719476736));
	assert_int_equal(got.memory_overhead, 123456);
	assert_int_equal(got.live, 1);
	assert_int_equal(got.memory_free, 4096);
	assert_int_equal(got.last_updated, 1700000000);
	assert_string_equal(db_map_get(&got.other_config, "rack"), "r1");
	assert_int_equal(got.cluster_nodeid, 0);
	assert_string_equal(got.address2, "");
	db_host_clear(&got);

	/* Cluster membership; a nodeid belongs to one host. */
	a.cluster_nodeid = 7;
	strcpy(a.address2, "198.51.100.7");
	assert_int_equal(db_host_put(db, &a), 0);
	assert_int_equal(db_host_get(db, a.uuid, &got), 0);
	assert_int_equal(got.cluster_nodeid, 7);
	assert_string_equal(got.address2, "198.51.100.7");
	db_host_clear(&got);
	b.cluster_nodeid = 7;
	assert_int_equal(db_host_put(db, &b), -1);
	b.cluster_nodeid = 0;
	assert_int_equal(db_host_put(db, &b), 0);

	/* Metrics only; other fields and the map untouched. */
	assert_int_equal(db_host_set_metrics(db, a.uuid, 0, 1000, 500, 42), 0);
	assert_int_equal(db_host_get(db, a.uuid, &got), 0);
	assert_int_equal(got.live, 0);
	assert_int_equal(got.memory_total, 1000);
	assert_int_equal(got.memory_free, 500);
	assert_int_equal(got.last_updated, 42);
	assert_string_equal(got.address, "192.0.2.7");
	assert_int_equal(got.other_config.n, 1);
	db_host_clear(&got);
	assert_int_equal(
	    db_host_set_metrics(db, "00000000-0000-4000-8000-000000000000", 1, 1, 1, 1), 1);

	/* Listed by name_label. */
	assert_int_equal(db_host_list(db, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name_label, "alpha");
	assert_string_equal(list[1].name_label, "zeta");
	assert_string_equal(db_map_get(&list[1].other_config, "rack"), "r1");
	assert_int_equal(list[1].cluster_nodeid, 7);
	assert_string_equal(list[1].address2, "198.51.100.7");
	db_host_list_free(list, n);

	assert_int_equal(db_host_delete(db, a.uuid), 0);
	assert_int_equal(db_host_delete(db, a.uuid), 1);
	assert_int_equal(db_host_get(db, a.uuid, &got), 1);
	db_host_clear(&got);
	db_close(db);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM map"), 0);
	db_host_clear(&a);
	db_host_clear(&b);
	remove_db(path);
}

static void
test_vm_roundtrip(void **state)
{
	struct db_host h1, h2;
	struct db_vm_group g1, g2, gg, *groups;
	struct db_vm v, w, got, *list;
	size_t n;
	char *path;
	struct db *db = open_new(&path);

	make_host(&h1, "h1");
	make_host(&h2, "h2");
	assert_int_equal(db_host_put(db, &h1), 0);
	assert_int_equal(db_host_put(db, &h2), 0);
	memset(&g1, 0, sizeof(g1));
	id_uuid_new(g1.uuid);
	strcpy(g1.name_label, "web");
	strcpy(g1.name_description, "web tier");
	g1.placement = DB_PLACEMENT_ANTI_AFFINITY;
	g2 = g1;
	id_uuid_new(g2.uuid);
	strcpy(g2.name_label, "all");
	g2.placement = DB_PLACEMENT_NORMAL;
	assert_int_equal(db_vm_group_put(db, &g1), 0);
	assert_int_equal(db_vm_group_put(db, &g2), 0);
	assert_int_equal(db_vm_group_get(db, g1.uuid, &gg), 0);
	assert_string_equal(gg.name_label, "web");
	assert_string_equal(gg.name_description, "web tier");
	assert_int_equal(gg.placement, DB_PLACEMENT_ANTI_AFFINITY);

	make_vm(&v, "web-1");
	v.power_state = DB_POWER_RUNNING;
	memcpy(v.resident_on, h1.uuid, HA_UUID_LEN);
	memcpy(v.affinity, h2.uuid, HA_UUID_LEN);
	v.memory_static_max = INT64_C(1) << 30;
	v.memory_overhead = 8 << 20;
	v.VCPUs_max = 4;
	v.ha_restart_priority = DB_PRIO_RESTART;
	v.ha_always_run = 1;
	v.order = 3;
	v.start_delay = 10;
	v.is_control_domain = 1;
	v.ngroups = 2;
	memcpy(v.groups[0], g1.uuid, HA_UUID_LEN); /* order kept, not sorted */
	memcpy(v.groups[1], g2.uuid, HA_UUID_LEN);
	strcpy(v.hv_config, "name = \"web-1\"\nmemory = 1024\n");
	db_map_set(&v.other_config, "z", "last");
	db_map_set(&v.other_config, "a", "first");
	assert_int_equal(db_vm_put(db, &v), 0);

	assert_int_equal(db_vm_get(db, v.uuid, &got), 0);
	assert_string_equal(got.uuid, v.uuid);
	assert_string_equal(got.name_label, "web-1");
	assert_int_equal(got.power_state, DB_POWER_RUNNING);
	assert_string_equal(got.resident_on, h1.uuid);
	assert_string_equal(got.affinity, h2.uuid);
	assert_int_equal(got.memory_static_max, INT64_C(1) << 30);
	assert_int_equal(got.memory_overhead, 8 << 20);
	assert_int_equal(got.VCPUs_max, 4);
	assert_int_equal(got.ha_restart_priority, DB_PRIO_RESTART);
	assert_int_equal(got.ha_always_run, 1);
	assert_int_equal(got.order, 3);
	assert_int_equal(got.start_delay, 10);
	assert_int_equal(got.is_control_domain, 1);
	assert_int_equal(got.ngroups, 2);
	assert_string_equal(got.groups[0], g1.uuid);
	assert_string_equal(got.groups[1], g2.uuid);
	assert_string_equal(got.hv_config, v.hv_config);
	assert_int_equal(got.other_config.n, 2);
	assert_string_equal(got.other_config.kv[0].key, "a");
	assert_string_equal(got.other_config.kv[1].value, "last");
	db_vm_clear(&got);

	/* Update: one group, another priority, map replaced. */
	v.ngroups = 1;
	memcpy(v.groups[0], g2.uuid, HA_UUID_LEN);
	v.ha_restart_priority = DB_PRIO_BEST_EFFORT;
	db_map_remove(&v.other_config, "z");
	assert_int_equal(db_vm_put(db, &v), 0);
	assert_int_equal(db_vm_get(db, v.uuid, &got), 0);
	assert_int_equal(got.ngroups, 1);
	assert_string_equal(got.groups[0], g2.uuid);
	assert_int_equal(got.ha_restart_priority, DB_PRIO_BEST_EFFORT);
	assert_int_equal(got.other_config.n, 1);
	db_vm_clear(&got);

	/* A second VM on h2, then lists. */
	make_vm(&w, "db-1");
	memcpy(w.resident_on, h2.uuid, HA_UUID_LEN);
	w.power_state = DB_POWER_PAUSED;
	assert_int_equal(db_vm_put(db, &w), 0);
	assert_int_equal(db_vm_list(db, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name_label, "db-1");
	assert_string_equal(list[1].name_label, "web-1");
	assert_int_equal(list[1].ngroups, 1);
	assert_int_equal(list[1].other_config.n, 1);
	db_vm_list_free(list, n);
	assert_int_equal(db_vm_list_resident(db, h1.uuid, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].uuid, v.uuid);
	db_vm_list_free(list, n);
	assert_int_equal(db_vm_list_resident(db, "00000000-0000-4000-8000-000000000000", &list, &n),
	                 0);
	assert_int_equal(n, 0);
	db_vm_list_free(list, n);

	/* set_power: state and residence only. */
	assert_int_equal(db_vm_set_power(db, v.uuid, DB_POWER_HALTED, ""), 0);
	assert_int_equal(db_vm_get(db, v.uuid, &got), 0);
	assert_int_equal(got.power_state, DB_POWER_HALTED);
	assert_string_equal(got.resident_on, "");
	assert_int_equal(got.ha_restart_priority, DB_PRIO_BEST_EFFORT);
	assert_int_equal(got.ngroups, 1);
	db_vm_clear(&got);
	assert_int_equal(db_vm_set_power(db, v.uuid, DB_POWER_SUSPENDED, h2.uuid), 0);
	assert_int_equal(db_vm_list_resident(db, h2.uuid, &list, &n), 0);
	assert_int_equal(n, 2);
	db_vm_list_free(list, n);
	assert_int_equal(
	    db_vm_set_power(db, "00000000-0000-4000-8000-000000000000", DB_POWER_RUNNING, ""), 1);
	assert_int_equal(db_vm_set_power(db, v.uuid, (enum db_power_state)9, ""), -1);

	/* References are checked: an unknown host or group writes nothing. */
	make_vm(&got, "bad");
	id_uuid_new(got.resident_on);
	assert_int_equal(db_vm_put(db, &got), -1);
	assert_int_equal(db_vm_set_power(db, v.uuid, DB_POWER_RUNNING, got.resident_on), -1);
	got.resident_on[0] = '\0';
	got.ngroups = 1;
	id_uuid_new(got.groups[0]);
	assert_int_equal(db_vm_put(db, &got), -1);
	assert_int_equal(db_vm_get(db, got.uuid, &w), 1);
	db_vm_clear(&w);
	got.ha_restart_priority = (enum db_restart_priority)7;
	assert_int_equal(db_vm_put(db, &got), -1);
	db_vm_clear(&got);

	/* Deleting a group drops memberships; deleting a host clears residence. */
	assert_int_equal(db_vm_group_list(db, &groups, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(groups[0].name_label, "all");
	xfree(groups);
	assert_int_equal(db_vm_group_delete(db, g2.uuid), 0);
	assert_int_equal(db_vm_group_delete(db, g2.uuid), 1);
	assert_int_equal(db_vm_group_get(db, g2.uuid, &gg), 1);
	assert_int_equal(db_host_delete(db, h2.uuid), 0);
	assert_int_equal(db_vm_get(db, v.uuid, &got), 0);
	assert_int_equal(got.ngroups, 0);
	assert_string_equal(got.resident_on, "");
	assert_string_equal(got.affinity, "");
	db_vm_clear(&got);

	assert_int_equal(db_vm_delete(db, v.uuid), 0);
	assert_int_equal(db_vm_delete(db, v.uuid), 1);
	assert_int_equal(db_vm_get(db, v.uuid, &got), 1);
	db_vm_clear(&got);
	db_close(db);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM map"), 0);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM vm_group_member"), 0);
	db_vm_clear(&v);
	db_host_clear(&h1);
	db_host_clear(&h2);
	remove_db(path);
}

static void
test_messages_fences_users(void **state)
{
	struct db_message m, *ml;
	struct db_fence_record f, *fl;
	struct db_user u, got;
	char host[HA_UUID_LEN];
	size_t n;
	char *path;
	struct db *db = open_new(&path);
	int i;

	for (i = 0; i < 3; i++) {
		memset(&m, 0, sizeof(m));
		snprintf(m.name, sizeof(m.name), "HA_HOST_FAILED");
		m.priority = 1 + i;
		strcpy(m.cls, "Host");
		id_uuid_new(m.obj_uuid);
		m.timestamp = 300 - 100 * i; /* added newest first */
		snprintf(m.body, sizeof(m.body), "<body>%d</body>", i);
		assert_int_equal(db_message_add(db, &m), 0);
		assert_true(id_uuid_valid(m.uuid));
	}
	assert_int_equal(db_message_add(db, &m), -1); /* same uuid again */
	m.uuid[0] = '\0';
	m.priority = 9;
	assert_int_equal(db_message_add(db, &m), -1); /* priority out of range */
	assert_int_equal(db_message_list(db, 0, &ml, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ml[0].timestamp, 100); /* oldest first */
	assert_int_equal(ml[2].timestamp, 300);
	assert_string_equal(ml[0].body, "<body>2</body>");
	assert_string_equal(ml[0].cls, "Host");
	assert_string_equal(ml[0].name, "HA_HOST_FAILED");
	assert_int_equal(ml[0].priority, 3);
	assert_true(id_uuid_valid(ml[0].obj_uuid));
	assert_int_equal(db_message_delete(db, ml[0].uuid), 0);
	assert_int_equal(db_message_delete(db, ml[0].uuid), 1);
	xfree(ml);
	assert_int_equal(db_message_list(db, 250, &ml, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ml[0].timestamp, 300);
	xfree(ml);

	id_uuid_new(host);
	for (i = 0; i < 3; i++) {
		memset(&f, 0, sizeof(f));
		if (i < 2)
			memcpy(f.host_uuid, host, HA_UUID_LEN);
		else
			id_uuid_new(f.host_uuid);
		f.timestamp = 1000 + i;
		snprintf(f.reason, sizeof(f.reason), "statefile-lost-%d", i);
		strcpy(f.detail, "views: {a,b} vs {c}");
		assert_int_equal(db_fence_add(db, &f), 0);
		assert_true(f.id > 0);
	}
	assert_int_equal(db_fence_list(db, NULL, &fl, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(fl[0].timestamp, 1002); /* newest first */
	xfree(fl);
	assert_int_equal(db_fence_list(db, host, &fl, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(fl[0].reason, "statefile-lost-1");
	assert_string_equal(fl[1].reason, "statefile-lost-0");
	assert_string_equal(fl[1].detail, "views: {a,b} vs {c}");
	assert_string_equal(fl[1].host_uuid, host);
	assert_true(fl[0].id > fl[1].id);
	xfree(fl);

	memset(&u, 0, sizeof(u));
	strcpy(u.name, "root");
	strcpy(u.password_hash, "$6$salt$hash");
	strcpy(u.role, "pool-admin");
	assert_int_equal(db_user_put(db, &u), 0);
	assert_int_equal(db_user_get(db, "root", &got), 0);
	assert_string_equal(got.password_hash, "$6$salt$hash");
	assert_string_equal(got.role, "pool-admin");
	strcpy(u.role, "read-only");
	assert_int_equal(db_user_put(db, &u), 0);
	assert_int_equal(db_user_get(db, "root", &got), 0);
	assert_string_equal(got.role, "read-only");
	assert_int_equal(db_user_get(db, "nobody", &got), 1);
	assert_int_equal(db_user_delete(db, "root"), 0);
	assert_int_equal(db_user_delete(db, "root"), 1);
	u.name[0] = '\0';
	assert_int_equal(db_user_put(db, &u), -1);
	db_close(db);
	remove_db(path);
}

/* ---- transactions and durability ---- */

static void
test_transactions(void **state)
{
	struct db_vm v, bad, got, *list;
	struct db_host h, hgot;
	size_t n;
	char *path;
	struct db *db = open_new(&path);

	assert_int_equal(db_commit(db), -1); /* none open */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_begin(db), -1); /* no nesting */
	make_host(&h, "h");
	assert_int_equal(db_host_put(db, &h), 0);
	make_vm(&v, "v");
	memcpy(v.resident_on, h.uuid, HA_UUID_LEN);
	assert_int_equal(db_vm_put(db, &v), 0);
	db_rollback(db);
	assert_int_equal(db_host_get(db, h.uuid, &hgot), 1);
	assert_int_equal(db_vm_list(db, &list, &n), 0);
	assert_int_equal(n, 0);
	db_vm_list_free(list, n);

	/* A failed write inside a transaction is undone alone. */
	make_host(&h, "h");
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_host_put(db, &h), 0);
	make_vm(&bad, "bad");
	bad.ngroups = 1;
	id_uuid_new(bad.groups[0]); /* unknown group: fails after the VM row went in */
	db_map_set(&bad.other_config, "k", "v");
	assert_int_equal(db_vm_put(db, &bad), -1);
	assert_non_null(strstr(db_errmsg(db), "FOREIGN KEY"));
	memcpy(v.resident_on, h.uuid, HA_UUID_LEN);
	assert_int_equal(db_vm_put(db, &v), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(db_vm_get(db, bad.uuid, &got), 1);
	assert_int_equal(db_vm_get(db, v.uuid, &got), 0);
	db_vm_clear(&got);
	db_vm_clear(&bad);

	/* Durable: a batch committed before close is there after reopen. */
	assert_int_equal(db_begin(db), 0);
	for (int i = 0; i < 50; i++) {
		struct db_vm x;

		make_vm(&x, "batch");
		assert_int_equal(db_vm_put(db, &x), 0);
	}
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(db_begin(db), 0); /* left open at close: rolled back */
	assert_int_equal(db_vm_delete(db, v.uuid), 0);
	db_close(db);
	assert_false(file_exists(path, "-wal"));
	assert_int_equal(sql_int(path, "SELECT count(*) FROM vm"), 51);
	assert_int_equal(sql_int(path, "PRAGMA application_id"), DB_APPLICATION_ID);
	assert_int_equal(sql_int(path, "PRAGMA user_version"), DB_SCHEMA_VERSION);
	{
		char err[512];

		db = db_open(path, 0, err, sizeof(err));
		assert_non_null(db);
	}
	assert_int_equal(db_vm_get(db, v.uuid, &got), 0);
	assert_string_equal(got.resident_on, h.uuid);
	db_vm_clear(&got);
	assert_int_equal(db_host_get(db, h.uuid, &hgot), 0);
	db_host_clear(&hgot);
	db_close(db);
	db_vm_clear(&v);
	remove_db(path);
}

static void
test_pragmas(void **state)
{
	char *path;
	struct db *db = open_new(&path);
	sqlite3 *h;
	sqlite3_stmt *s;

	/* While open, the journal is WAL. */
	assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_close(h);
	db_close(db);
	remove_db(path);
}

static void
test_readonly_open(void **state)
{
	char err[512];
	char *path;
	struct db *db = open_new(&path);
	struct db_pool p, q;
	size_t n0, n1;
	char *before, *after;

	db_pool_init(&p);
	id_uuid_new(p.uuid);
	assert_int_equal(db_pool_put(db, &p), 0);
	db_close(db);
	before = slurp(path, &n0);
	db = db_open(path, DB_OPEN_READONLY, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(db_pool_get(db, &q), 0);
	assert_string_equal(q.uuid, p.uuid);
	db_pool_clear(&q);
	assert_int_equal(db_pool_put(db, &p), -1);
	db_close(db);
	after = slurp(path, &n1);
	assert_int_equal(n0, n1);
	assert_memory_equal(before, after, n0);
	assert_false(file_exists(path, "-wal"));
	assert_false(file_exists(path, "-shm"));
	xfree(before);
	xfree(after);
	remove_db(path);
}

/* ---- refusals ---- */

static void
test_refuse_random_bytes(void **state)
{
	char *path = tmp_path("random");
	unsigned char buf[65536];
	size_t i;

	srand(42);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)rand();
	write_file(path, buf, sizeof(buf));
	assert_refused(path, 0, "not an SQLite database");
	assert_refused(path, DB_OPEN_CREATE, "not an SQLite database");
	assert_refused(path, DB_OPEN_READONLY, "not an SQLite database");
	write_file(path, "hello", 5);
	assert_refused(path, DB_OPEN_CREATE, "not an SQLite database");
	remove_db(path);
}

static void
test_refuse_foreign(void **state)
{
	char *path = tmp_path("foreign");

	sql(path, "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL);"
	          "INSERT INTO invoices VALUES (1, 9.5);");
	assert_refused(path, DB_OPEN_CREATE,
	               "not a hasvc pool database (application_id 0x00000000)");
	remove_db(path);

	/* Foreign in WAL mode: still no -wal/-shm left. */
	path = tmp_path("foreign-wal");
	sql(path, "PRAGMA journal_mode = WAL; CREATE TABLE t (x);");
	assert_false(file_exists(path, "-wal"));
	assert_refused(path, 0, "not a hasvc pool database");
	remove_db(path);

	/* Another application's id, even with no tables. */
	path = tmp_path("appid");
	sql(path, "PRAGMA application_id = 305419896;"); /* 0x12345678 */
	assert_refused(path, DB_OPEN_CREATE,
	               "not a hasvc pool database (application_id 0x12345678)");
	remove_db(path);
}

static void
test_refuse_newer(void **state)
{
	char *path;
	struct db *db = open_new(&path);
	char want[128];

	db_close(db);
	sql(path, "PRAGMA user_version = 999;");
	/* sql() switched nothing: the file is still in WAL mode, as ours are. */
	snprintf(want, sizeof(want),
	         "schema version 999 is newer than this hasvcd supports (%d); refusing to open it",
	         DB_SCHEMA_VERSION);
	assert_refused(path, 0, want);
	assert_refused(path, DB_OPEN_CREATE, want);
	assert_refused(path, DB_OPEN_READONLY, want);
	remove_db(path);
}

static void
test_refuse_damaged(void **state)
{
	char *path;
	struct db *db = open_new(&path);
	size_t len, i;
	char *buf;

	assert_int_equal(db_begin(db), 0);
	for (i = 0; i < 300; i++) {
		struct db_vm v;

		make_vm(&v, "filler-vm-with-a-long-name-to-use-pages");
		db_map_set(&v.other_config, "k", "some value to fill pages");
		assert_int_equal(db_vm_put(db, &v), 0);
		db_vm_clear(&v);
	}
	assert_int_equal(db_commit(db), 0);
	db_close(db);
	buf = slurp(path, &len);
	assert_true(len > 16 * 4096);

	/* Truncated to half. */
	write_file(path, buf, len / 2);
	assert_refused(path, 0, "damaged");
	assert_refused(path, DB_OPEN_READONLY, "damaged");

	/* Garbled: the pages after the first two overwritten. */
	for (i = 2 * 4096; i < len; i++)
		buf[i] = (char)(0xa5 ^ (i * 7));
	write_file(path, buf, len);
	assert_refused(path, 0, "damaged");
	xfree(buf);
	remove_db(path);
}

static void
test_open_errors(void **state)
{
	char err[512];
	char *path = tmp_path("absent");
	char *nodir = xasprintf("%s/no/such/dir/pool.db", tmpdir);

	assert_null(db_open(path, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "no such file"));
	assert_false(file_exists(path, ""));
	assert_null(db_open(path, DB_OPEN_READONLY | DB_OPEN_CREATE, err, sizeof(err)));
	assert_false(file_exists(path, ""));
	assert_null(db_open(nodir, DB_OPEN_CREATE, err, sizeof(err)));
	assert_non_null(strstr(err, nodir));
	assert_null(db_open(tmpdir, DB_OPEN_CREATE, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	db_close(NULL);
	xfree(nodir);
	xfree(path);
}

/* ---- migration ---- */

static void
test_migrate_from_v0(void **state)
{
	char err[512];
	char *path = tmp_path("v0");
	struct db *db;
	struct db_pool p;

	/* An empty file (as `touch` leaves it) is a new version-0 database. */
	write_file(path, "", 0);
	db = db_open(path, 0, err, sizeof(err));
	if (db == NULL)
		fail_msg("%s", err);
	db_pool_init(&p);
	id_uuid_new(p.uuid);
	assert_int_equal(db_pool_put(db, &p), 0);
	db_close(db);
	assert_int_equal(sql_int(path, "PRAGMA user_version"), DB_SCHEMA_VERSION);
	remove_db(path);

	/* A version-0 file already tagged as ours, in rollback-journal mode. */
	path = tmp_path("v0-tagged");
	sql(path, "PRAGMA application_id = 1212240726;"); /* 0x48415356 */
	db = db_open(path, 0, err, sizeof(err));
	if (db == NULL)
		fail_msg("%s", err);
	assert_int_equal(db_pool_get(db, &p), 1);
	db_close(db);
	assert_int_equal(sql_int(path, "PRAGMA user_version"), DB_SCHEMA_VERSION);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'vm'"), 1);
	remove_db(path);
}


/* ---- the change hook ---- */

struct hook_event {
	enum db_table table;
	enum db_change op;
	char key[DB_NAME_LEN];
};

struct hook_rec {
	size_t n;
	struct hook_event e[64];
};

static void
rec_hook(void *arg, enum db_table table, const char *key, enum db_change op)
{
	struct hook_rec *r = arg;

	assert_true(r->n < ARRAY_SIZE(r->e));
	r->e[r->n].table = table;
	r->e[r->n].op = op;
	snprintf(r->e[r->n].key, sizeof(r->e[r->n].key), "%s", key);
	r->n++;
}

static const char *const table_names[] = {"pool", "host", "vm", "group", "message", "user",
                                          "fence", "intent"};
static const char *const op_names[] = {"add", "mod", "del"};

/* The hook must have seen exactly `n` changes, in this order, given as
** (enum db_table, enum db_change, const char *key) triples; then forget them. */
static void
rec_expect(struct hook_rec *r, size_t n, ...)
{
	va_list ap;
	size_t i;

	va_start(ap, n);
	for (i = 0; i < n; i++) {
		enum db_table t = va_arg(ap, enum db_table);
		enum db_change op = va_arg(ap, enum db_change);
		const char *key = va_arg(ap, const char *);

		if (i >= r->n)
			fail_msg("change %zu: missing, expected %s %s %s", i, table_names[t],
			         op_names[op], key);
		if (r->e[i].table != t || r->e[i].op != op || strcmp(r->e[i].key, key) != 0)
			fail_msg("change %zu: got %s %s %s, expected %s %s %s", i,
			         table_names[r->e[i].table], op_names[r->e[i].op], r->e[i].key,
			         table_names[t], op_names[op], key);
	}
	va_end(ap);
	if (r->n != n)
		fail_msg("%zu changes reported, expected %zu (first extra: %s %s %s)", r->n, n,
		         table_names[r->e[n].table], op_names[r->e[n].op], r->e[n].key);
	r->n = 0;
}

static void
test_hook_accessors(void **state)
{
	char *path;
	struct db *db = open_new(&path);
	struct hook_rec r = {0};
	struct db_pool pool;
	struct db_host h, h2;
	struct db_vm v;
	struct db_vm_group g;
	struct db_message m;
	struct db_fence_record f;
	struct db_user u;
	char old_pool[HA_UUID_LEN], key[24], bogus[HA_UUID_LEN];

	db_set_change_hook(db, rec_hook, &r);
	id_uuid_new(bogus);

	/* pool: add, mod, and a new uuid is the old pool gone and a new one */
	db_pool_init(&pool);
	id_uuid_new(pool.uuid);
	assert_int_equal(db_pool_put(db, &pool), 0);
	rec_expect(&r, 1, DB_TABLE_POOL, DB_CHANGE_ADD, pool.uuid);
	pool.ha_enabled = 1;
	assert_int_equal(db_pool_put(db, &pool), 0);
	rec_expect(&r, 1, DB_TABLE_POOL, DB_CHANGE_MOD, pool.uuid);
	snprintf(old_pool, sizeof(old_pool), "%s", pool.uuid);
	id_uuid_new(pool.uuid);
	assert_int_equal(db_pool_put(db, &pool), 0);
	rec_expect(&r, 2, DB_TABLE_POOL, DB_CHANGE_DEL, old_pool, DB_TABLE_POOL, DB_CHANGE_ADD,
	           pool.uuid);

	/* hosts, their metrics */
	make_host(&h, "h1");
	make_host(&h2, "h2");
	assert_int_equal(db_host_put(db, &h), 0);
	assert_int_equal(db_host_put(db, &h2), 0);
	rec_expect(&r, 2, DB_TABLE_HOST, DB_CHANGE_ADD, h.uuid, DB_TABLE_HOST, DB_CHANGE_ADD,
	           h2.uuid);
	h.enabled = 0;
	assert_int_equal(db_host_put(db, &h), 0);
	rec_expect(&r, 1, DB_TABLE_HOST, DB_CHANGE_MOD, h.uuid);
	assert_int_equal(db_host_set_metrics(db, h.uuid, 1, 100, 50, 7), 0);
	rec_expect(&r, 1, DB_TABLE_HOST, DB_CHANGE_MOD, h.uuid);
	assert_int_equal(db_host_set_metrics(db, bogus, 1, 100, 50, 7), 1);
	rec_expect(&r, 0);

	/* groups and VMs: a VM's groups and host are listed back by them */
	memset(&g, 0, sizeof(g));
	id_uuid_new(g.uuid);
	assert_int_equal(db_vm_group_put(db, &g), 0);
	rec_expect(&r, 1, DB_TABLE_VM_GROUP, DB_CHANGE_ADD, g.uuid);
	snprintf(g.name_label, sizeof(g.name_label), "renamed");
	assert_int_equal(db_vm_group_put(db, &g), 0);
	rec_expect(&r, 1, DB_TABLE_VM_GROUP, DB_CHANGE_MOD, g.uuid);
	make_vm(&v, "v");
	assert_int_equal(db_vm_put(db, &v), 0);
	rec_expect(&r, 1, DB_TABLE_VM, DB_CHANGE_ADD, v.uuid);
	v.order = 3;
	assert_int_equal(db_vm_put(db, &v), 0);
	rec_expect(&r, 1, DB_TABLE_VM, DB_CHANGE_MOD, v.uuid);
	v.ngroups = 1;
	snprintf(v.groups[0], sizeof(v.groups[0]), "%s", g.uuid);
	snprintf(v.resident_on, sizeof(v.resident_on), "%s", h.uuid);
	assert_int_equal(db_vm_put(db, &v), 0);
	rec_expect(&r, 3, DB_TABLE_VM, DB_CHANGE_MOD, v.uuid, DB_TABLE_HOST, DB_CHANGE_MOD, h.uuid,
	           DB_TABLE_VM_GROUP, DB_CHANGE_MOD, g.uuid);
	assert_int_equal(db_vm_put(db, &v), 0); /* same links: only the VM */
	rec_expect(&r, 1, DB_TABLE_VM, DB_CHANGE_MOD, v.uuid);
	assert_int_equal(db_vm_set_power(db, v.uuid, DB_POWER_RUNNING, h2.uuid), 0);
	rec_expect(&r, 3, DB_TABLE_HOST, DB_CHANGE_MOD, h.uuid, DB_TABLE_HOST, DB_CHANGE_MOD,
	           h2.uuid, DB_TABLE_VM, DB_CHANGE_MOD, v.uuid);
	assert_int_equal(db_vm_set_power(db, v.uuid, DB_POWER_RUNNING, h2.uuid), 0);
	rec_expect(&r, 1, DB_TABLE_VM, DB_CHANGE_MOD, v.uuid);
	assert_int_equal(db_vm_set_power(db, bogus, DB_POWER_HALTED, ""), 1);
	rec_expect(&r, 0);
	/* a write refused by a foreign key reports nothing */
	assert_int_equal(db_vm_set_power(db, v.uuid, DB_POWER_RUNNING, bogus), -1);
	snprintf(v.affinity, sizeof(v.affinity), "%s", bogus);
	assert_int_equal(db_vm_put(db, &v), -1);
	rec_expect(&r, 0);
	v.affinity[0] = '\0';

	/* messages, fence records, users */
	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "HA_HOST_FAILED");
	m.priority = 1;
	assert_int_equal(db_message_add(db, &m), 0);
	rec_expect(&r, 1, DB_TABLE_MESSAGE, DB_CHANGE_ADD, m.uuid);
	m.priority = 9; /* refused by CHECK */
	m.uuid[0] = '\0';
	assert_int_equal(db_message_add(db, &m), -1);
	rec_expect(&r, 0);
	memset(&f, 0, sizeof(f));
	snprintf(f.host_uuid, sizeof(f.host_uuid), "%s", h.uuid);
	assert_int_equal(db_fence_add(db, &f), 0);
	snprintf(key, sizeof(key), "%lld", (long long)f.id);
	rec_expect(&r, 1, DB_TABLE_FENCE, DB_CHANGE_ADD, key);
	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "alice");
	assert_int_equal(db_user_put(db, &u), 0);
	assert_int_equal(db_user_put(db, &u), 0);
	assert_int_equal(db_user_delete(db, "alice"), 0);
	assert_int_equal(db_user_delete(db, "alice"), 1);
	rec_expect(&r, 3, DB_TABLE_USER, DB_CHANGE_ADD, "alice", DB_TABLE_USER, DB_CHANGE_MOD,
	           "alice", DB_TABLE_USER, DB_CHANGE_DEL, "alice");

	/* deletes; deleting what is not there reports nothing */
	assert_int_equal(db_message_delete(db, m.uuid), 1); /* the refused one */
	rec_expect(&r, 0);
	assert_int_equal(db_vm_delete(db, bogus), 1);
	assert_int_equal(db_host_delete(db, bogus), 1);
	assert_int_equal(db_vm_group_delete(db, bogus), 1);
	rec_expect(&r, 0);

	db_close(db);
	db_pool_clear(&pool);
	db_host_clear(&h);
	db_host_clear(&h2);
	db_vm_clear(&v);
	remove_db(path);
}

static void
test_hook_transactions(void **state)
{
	char *path;
	struct db *db = open_new(&path);
	struct hook_rec r = {0};
	struct db_host a, b, c;
	struct db_vm v;

	make_host(&a, "a");
	make_host(&b, "b");
	make_host(&c, "c");
	assert_int_equal(db_host_put(db, &c), 0); /* before the hook: unseen */
	db_set_change_hook(db, rec_hook, &r);

	/* Nothing before COMMIT; then one change per row, in first-change
	** order: add+mod = add, mod+del = del. */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_host_put(db, &b), 0);
	assert_int_equal(db_host_put(db, &c), 0);
	assert_int_equal(db_host_set_metrics(db, b.uuid, 1, 1, 1, 1), 0);
	assert_int_equal(db_host_delete(db, c.uuid), 0);
	rec_expect(&r, 0);
	assert_int_equal(db_commit(db), 0);
	rec_expect(&r, 2, DB_TABLE_HOST, DB_CHANGE_ADD, b.uuid, DB_TABLE_HOST, DB_CHANGE_DEL,
	           c.uuid);

	/* add+del = nothing; del+add = mod */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_host_put(db, &a), 0);
	assert_int_equal(db_host_delete(db, a.uuid), 0);
	assert_int_equal(db_host_delete(db, b.uuid), 0);
	assert_int_equal(db_host_put(db, &b), 0);
	assert_int_equal(db_commit(db), 0);
	rec_expect(&r, 1, DB_TABLE_HOST, DB_CHANGE_MOD, b.uuid);

	/* A rolled-back transaction reports nothing, and the next write only
	** itself. */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_host_put(db, &a), 0);
	assert_int_equal(db_host_delete(db, b.uuid), 0);
	db_rollback(db);
	rec_expect(&r, 0);
	assert_int_equal(db_host_set_metrics(db, b.uuid, 0, 1, 1, 2), 0);
	rec_expect(&r, 1, DB_TABLE_HOST, DB_CHANGE_MOD, b.uuid);

	/* A write that fails inside a transaction is undone alone: its own
	** changes (here: the VM and its host, before the bad affinity) are not
	** reported, the others are. */
	make_vm(&v, "v");
	snprintf(v.resident_on, sizeof(v.resident_on), "%s", b.uuid);
	id_uuid_new(v.affinity);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_host_put(db, &a), 0);
	assert_int_equal(db_vm_put(db, &v), -1);
	assert_int_equal(db_commit(db), 0);
	rec_expect(&r, 1, DB_TABLE_HOST, DB_CHANGE_ADD, a.uuid);

	/* db_close() with an open transaction rolls it back silently. */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_host_delete(db, a.uuid), 0);
	db_close(db);
	rec_expect(&r, 0);

	db_host_clear(&a);
	db_host_clear(&b);
	db_host_clear(&c);
	db_vm_clear(&v);
	remove_db(path);
}

static void
test_hook_cascades(void **state)
{
	char *path;
	struct db *db = open_new(&path);
	struct hook_rec r = {0};
	struct db_host h, h2;
	struct db_vm v1, v2, v3;
	struct db_vm_group g1, g2;

	make_host(&h, "h");
	make_host(&h2, "h2");
	memset(&g1, 0, sizeof(g1));
	memset(&g2, 0, sizeof(g2));
	id_uuid_new(g1.uuid);
	id_uuid_new(g2.uuid);
	make_vm(&v1, "v1"); /* on h, in g1 and g2 */
	make_vm(&v2, "v2"); /* affine to h, in g1 */
	make_vm(&v3, "v3"); /* on h2 */
	snprintf(v1.resident_on, sizeof(v1.resident_on), "%s", h.uuid);
	snprintf(v2.affinity, sizeof(v2.affinity), "%s", h.uuid);
	snprintf(v3.resident_on, sizeof(v3.resident_on), "%s", h2.uuid);
	v1.ngroups = 2;
	snprintf(v1.groups[0], sizeof(v1.groups[0]), "%s", g1.uuid);
	snprintf(v1.groups[1], sizeof(v1.groups[1]), "%s", g2.uuid);
	v2.ngroups = 1;
	snprintf(v2.groups[0], sizeof(v2.groups[0]), "%s", g1.uuid);
	assert_int_equal(db_host_put(db, &h), 0);
	assert_int_equal(db_host_put(db, &h2), 0);
	assert_int_equal(db_vm_group_put(db, &g1), 0);
	assert_int_equal(db_vm_group_put(db, &g2), 0);
	assert_int_equal(db_vm_put(db, &v1), 0);
	assert_int_equal(db_vm_put(db, &v2), 0);
	assert_int_equal(db_vm_put(db, &v3), 0);
	db_set_change_hook(db, rec_hook, &r);

	/* Deleting a group: its members lose it. */
	assert_int_equal(db_vm_group_delete(db, g2.uuid), 0);
	rec_expect(&r, 2, DB_TABLE_VM, DB_CHANGE_MOD, v1.uuid, DB_TABLE_VM_GROUP, DB_CHANGE_DEL,
	           g2.uuid);

	/* Deleting a host: VMs resident on it or affine to it lose it; v3,
	** on another host, is untouched.  (Order: as SQLite returns them.) */
	assert_int_equal(db_host_delete(db, h.uuid), 0);
	assert_int_equal(r.n, 3);
	assert_true((strcmp(r.e[0].key, v1.uuid) == 0 && strcmp(r.e[1].key, v2.uuid) == 0) ||
	            (strcmp(r.e[0].key, v2.uuid) == 0 && strcmp(r.e[1].key, v1.uuid) == 0));
	assert_int_equal(r.e[0].table, DB_TABLE_VM);
	assert_int_equal(r.e[0].op, DB_CHANGE_MOD);
	assert_int_equal(r.e[1].table, DB_TABLE_VM);
	assert_int_equal(r.e[1].op, DB_CHANGE_MOD);
	assert_int_equal(r.e[2].table, DB_TABLE_HOST);
	assert_int_equal(r.e[2].op, DB_CHANGE_DEL);
	assert_string_equal(r.e[2].key, h.uuid);
	r.n = 0;
	{
		struct db_vm got;

		assert_int_equal(db_vm_get(db, v1.uuid, &got), 0);
		assert_string_equal(got.resident_on, "");
		db_vm_clear(&got);
	}

	/* Deleting a VM: its host and groups no longer list it. */
	assert_int_equal(db_vm_delete(db, v3.uuid), 0);
	rec_expect(&r, 2, DB_TABLE_HOST, DB_CHANGE_MOD, h2.uuid, DB_TABLE_VM, DB_CHANGE_DEL,
	           v3.uuid);
	assert_int_equal(db_vm_delete(db, v2.uuid), 0);
	rec_expect(&r, 2, DB_TABLE_VM_GROUP, DB_CHANGE_MOD, g1.uuid, DB_TABLE_VM, DB_CHANGE_DEL,
	           v2.uuid);

	/* In one transaction, a cascade coalesces with the rows' own changes:
	** a VM added then orphaned by its group's delete is still one add. */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_vm_put(db, &v2), -1); /* its group and host are gone */
	v2.ngroups = 0;
	v2.affinity[0] = '\0';
	snprintf(v2.groups[0], sizeof(v2.groups[0]), "%s", g1.uuid);
	v2.ngroups = 1;
	assert_int_equal(db_vm_put(db, &v2), 0);
	assert_int_equal(db_vm_group_delete(db, g1.uuid), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.e[0].table, DB_TABLE_VM);
	assert_int_equal(r.e[0].op, DB_CHANGE_ADD);
	assert_string_equal(r.e[0].key, v2.uuid);
	/* g1: mod (v2 joined) then del = del; v1 lost g1: mod */
	assert_int_equal(r.e[1].table, DB_TABLE_VM_GROUP);
	assert_int_equal(r.e[1].op, DB_CHANGE_DEL);
	assert_string_equal(r.e[1].key, g1.uuid);
	assert_int_equal(r.e[2].table, DB_TABLE_VM);
	assert_int_equal(r.e[2].op, DB_CHANGE_MOD);
	assert_string_equal(r.e[2].key, v1.uuid);
	r.n = 0;

	db_close(db);
	db_host_clear(&h);
	db_host_clear(&h2);
	db_vm_clear(&v1);
	db_vm_clear(&v2);
	db_vm_clear(&v3);
	remove_db(path);
}

/* A hook that writes: its write is its own transaction, reported in turn. */
static struct db *reentrant_db;

static void
reentrant_hook(void *arg, enum db_table table, const char *key, enum db_change op)
{
	struct hook_rec *r = arg;

	rec_hook(arg, table, key, op);
	if (table == DB_TABLE_HOST && r->n == 1) {
		struct db_message m;

		memset(&m, 0, sizeof(m));
		snprintf(m.name, sizeof(m.name), "HOST_ADDED");
		m.priority = 5;
		assert_int_equal(db_message_add(reentrant_db, &m), 0);
	}
}

static void
test_hook_none(void **state)
{
	char *path;
	struct db *db = open_new(&path);
	struct hook_rec r = {0};
	struct db_host h;

	/* No hook: writes work and nothing is recorded anywhere. */
	make_host(&h, "h");
	assert_int_equal(db_host_put(db, &h), 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_host_set_metrics(db, h.uuid, 1, 1, 1, 1), 0);
	assert_int_equal(db_commit(db), 0);

	/* Set then cleared: nothing reported. */
	db_set_change_hook(db, rec_hook, &r);
	db_set_change_hook(db, NULL, NULL);
	assert_int_equal(db_host_delete(db, h.uuid), 0);
	assert_int_equal(r.n, 0);

	/* A hook may write; that write is reported after the one that caused it. */
	reentrant_db = db;
	db_set_change_hook(db, reentrant_hook, &r);
	assert_int_equal(db_host_put(db, &h), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.e[0].table, DB_TABLE_HOST);
	assert_int_equal(r.e[1].table, DB_TABLE_MESSAGE);
	assert_int_equal(r.e[1].op, DB_CHANGE_ADD);

	db_close(db);
	db_host_clear(&h);
	remove_db(path);
}

/* ---- schema version 1 ---- */

/* The schema of version 1, as hasvcd 1 created it. */
static const char schema_v1[] =
    "CREATE TABLE pool (id INTEGER PRIMARY KEY CHECK (id = 1), uuid TEXT NOT NULL,"
    " name_label TEXT NOT NULL DEFAULT '', name_description TEXT NOT NULL DEFAULT '',"
    " master TEXT NOT NULL DEFAULT '', ha_enabled INTEGER NOT NULL DEFAULT 0 CHECK (ha_enabled IN "
    "(0, 1)),"
    " ha_host_failures_to_tolerate INTEGER NOT NULL DEFAULT 0,"
    " ha_plan_exists_for INTEGER NOT NULL DEFAULT 0,"
    " ha_allow_overcommit INTEGER NOT NULL DEFAULT 0 CHECK (ha_allow_overcommit IN (0, 1)),"
    " ha_overcommitted INTEGER NOT NULL DEFAULT 0 CHECK (ha_overcommitted IN (0, 1)),"
    " ha_reboot_vm_on_internal_shutdown INTEGER NOT NULL DEFAULT 1"
    "  CHECK (ha_reboot_vm_on_internal_shutdown IN (0, 1)),"
    " ha_cluster_stack TEXT NOT NULL DEFAULT 'corosync');"
    "CREATE TABLE host (uuid TEXT PRIMARY KEY NOT NULL, name_label TEXT NOT NULL DEFAULT '',"
    " hostname TEXT NOT NULL DEFAULT '', address TEXT NOT NULL DEFAULT '',"
    " enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),"
    " memory_total INTEGER NOT NULL DEFAULT 0 CHECK (memory_total >= 0),"
    " memory_overhead INTEGER NOT NULL DEFAULT 0 CHECK (memory_overhead >= 0),"
    " live INTEGER NOT NULL DEFAULT 0 CHECK (live IN (0, 1)),"
    " memory_free INTEGER NOT NULL DEFAULT 0 CHECK (memory_free >= 0),"
    " last_updated INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE vm (uuid TEXT PRIMARY KEY NOT NULL, name_label TEXT NOT NULL DEFAULT '',"
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
    "CREATE TABLE vm_group (uuid TEXT PRIMARY KEY NOT NULL, name_label TEXT NOT NULL DEFAULT '',"
    " name_description TEXT NOT NULL DEFAULT '',"
    " placement TEXT NOT NULL DEFAULT 'normal' CHECK (placement IN ('normal', 'anti_affinity')));"
    "CREATE TABLE vm_group_member ("
    " vm_uuid TEXT NOT NULL REFERENCES vm(uuid) ON DELETE CASCADE,"
    " group_uuid TEXT NOT NULL REFERENCES vm_group(uuid) ON DELETE CASCADE,"
    " position INTEGER NOT NULL, PRIMARY KEY (vm_uuid, group_uuid)) WITHOUT ROWID;"
    "CREATE INDEX vm_group_member_group ON vm_group_member(group_uuid);"
    "CREATE TABLE message (uuid TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,"
    " priority INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 5), cls TEXT NOT NULL DEFAULT '',"
    " obj_uuid TEXT NOT NULL DEFAULT '', timestamp INTEGER NOT NULL, body TEXT NOT NULL DEFAULT "
    "'');"
    "CREATE INDEX message_timestamp ON message(timestamp);"
    "CREATE TABLE fence_record (id INTEGER PRIMARY KEY AUTOINCREMENT, host_uuid TEXT NOT NULL,"
    " timestamp INTEGER NOT NULL, reason TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT "
    "'');"
    "CREATE INDEX fence_record_host ON fence_record(host_uuid, timestamp);"
    "CREATE TABLE user (name TEXT PRIMARY KEY NOT NULL CHECK (name <> ''),"
    " password_hash TEXT NOT NULL DEFAULT '', role TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE map (owner TEXT NOT NULL, field TEXT NOT NULL, key TEXT NOT NULL,"
    " value TEXT NOT NULL, PRIMARY KEY (owner, field, key)) WITHOUT ROWID;";

#define UUID_H1   "11111111-1111-4111-8111-111111111111"
#define UUID_VM1  "22222222-2222-4222-8222-222222222222"
#define UUID_POOL "33333333-3333-4333-8333-333333333333"

static void
test_migrate_from_v1(void **state)
{
	char err[512], *text;
	char *path = tmp_path("v1");
	struct db *db;
	struct db_pool p;
	struct db_host h, h2;
	struct db_vm v;
	uint64_t term, pos;

	text = xasprintf("%s"
	                 "INSERT INTO pool (id, uuid, name_label) VALUES (1, '" UUID_POOL "', 'p');"
	                 "INSERT INTO host (uuid, name_label, address) VALUES"
	                 " ('" UUID_H1 "', 'h1', '192.0.2.1');"
	                 "INSERT INTO vm (uuid, name_label, resident_on) VALUES"
	                 " ('" UUID_VM1 "', 'vm1', '" UUID_H1 "');"
	                 "INSERT INTO map VALUES ('" UUID_H1 "', 'other_config', 'k', 'v');"
	                 "INSERT INTO message (uuid, name, priority, timestamp) VALUES"
	                 " ('" UUID_POOL "', 'HA_HOST_FAILED', 3, 1);"
	                 "PRAGMA application_id = 1212240726; PRAGMA user_version = 1;",
	                 schema_v1);
	sql(path, text);
	xfree(text);

	db = db_open(path, 0, err, sizeof(err));
	if (db == NULL)
		fail_msg("%s", err);
	assert_int_equal(db_pool_get(db, &p), 0);
	assert_string_equal(p.uuid, UUID_POOL);
	assert_string_equal(p.name_label, "p");
	assert_string_equal(p.cluster_key, "");
	db_pool_clear(&p);
	assert_int_equal(db_host_get(db, UUID_H1, &h), 0);
	assert_string_equal(h.address, "192.0.2.1");
	assert_int_equal(h.cluster_nodeid, 0);
	assert_string_equal(h.address2, "");
	assert_string_equal(db_map_get(&h.other_config, "k"), "v");
	assert_int_equal(db_vm_get(db, UUID_VM1, &v), 0);
	assert_string_equal(v.resident_on, UUID_H1);
	db_vm_clear(&v);
	assert_int_equal(db_repl_get(db, &term, &pos), 0);
	assert_int_equal(term, 0);
	assert_int_equal(pos, 0);
	/* Schema 3: a message stored before counts as notified (no replay). */
	assert_int_equal(db_message_notified(db, UUID_POOL), 1);

	/* The new columns work, the nodeid is unique among members. */
	h.cluster_nodeid = 1;
	strcpy(h.address2, "198.51.100.1");
	assert_int_equal(db_host_put(db, &h), 0);
	make_host(&h2, "h2");
	h2.cluster_nodeid = 1;
	assert_int_equal(db_host_put(db, &h2), -1);
	h2.cluster_nodeid = 2;
	assert_int_equal(db_host_put(db, &h2), 0);
	db_close(db);
	assert_int_equal(sql_int(path, "PRAGMA user_version"), DB_SCHEMA_VERSION);
	assert_int_equal(
	    sql_int(path, "SELECT cluster_nodeid FROM host WHERE uuid = '" UUID_H1 "'"), 1);
	/* A CHECK refuses a negative nodeid written by hand. */
	{
		sqlite3 *raw;

		assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
		assert_int_not_equal(
		    sqlite3_exec(raw, "UPDATE host SET cluster_nodeid = -1", NULL, NULL, NULL),
		    SQLITE_OK);
		sqlite3_close(raw);
	}
	db_host_clear(&h);
	db_host_clear(&h2);
	remove_db(path);
}

/* ---- replication ---- */

struct buf {
	unsigned char *p;
	size_t n, cap;
};

static void
buf_add(void *arg, const void *p, size_t n)
{
	struct buf *b = arg;

	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

/* db's dump, xmalloc'd. */
static struct buf
dump(struct db *db)
{
	struct buf b = {0};

	assert_int_equal(db_dump(db, buf_add, &b), 0);
	assert_true(b.n > 0);
	return b;
}

static void
assert_dump_equal(struct db *a, struct db *b)
{
	struct buf x = dump(a), y = dump(b);

	assert_int_equal(x.n, y.n);
	assert_memory_equal(x.p, y.p, x.n);
	xfree(x.p);
	xfree(y.p);
}

static void
assert_dump_is(struct db *db, const struct buf *want)
{
	struct buf x = dump(db);

	assert_int_equal(x.n, want->n);
	assert_memory_equal(x.p, want->p, x.n);
	xfree(x.p);
}

/* A second database with the content of `db` (its snapshot written to a
** new file). */
static struct db *
clone_db(struct db *db, char **path)
{
	char err[512];
	void *blob;
	size_t len;
	struct db *c;

	assert_int_equal(db_snapshot(db, &blob, &len), 0);
	*path = tmp_path("clone");
	write_file(*path, blob, len);
	xfree(blob);
	c = db_open(*path, 0, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_dump_equal(db, c);
	return c;
}

/* A pool with two hosts, two groups, a VM on h1 in g1, a message, a fence
** record and a user. */
struct fixture {
	struct db_pool pool;
	struct db_host h1, h2;
	struct db_vm_group g1, g2;
	struct db_vm v1;
	struct db_message m;
};

static void
populate(struct db *db, struct fixture *f)
{
	struct db_fence_record fr;
	struct db_user u;

	memset(f, 0, sizeof(*f));
	db_pool_init(&f->pool);
	id_uuid_new(f->pool.uuid);
	db_map_set(&f->pool.ha_configuration, "timeout", "30");
	db_map_set(&f->pool.other_config, "k", "v");
	assert_int_equal(db_pool_put(db, &f->pool), 0);
	make_host(&f->h1, "h1");
	db_map_set(&f->h1.other_config, "rack", "r1");
	make_host(&f->h2, "h2");
	assert_int_equal(db_host_put(db, &f->h1), 0);
	assert_int_equal(db_host_put(db, &f->h2), 0);
	id_uuid_new(f->g1.uuid);
	id_uuid_new(f->g2.uuid);
	assert_int_equal(db_vm_group_put(db, &f->g1), 0);
	assert_int_equal(db_vm_group_put(db, &f->g2), 0);
	make_vm(&f->v1, "v1");
	snprintf(f->v1.resident_on, sizeof(f->v1.resident_on), "%s", f->h1.uuid);
	snprintf(f->v1.affinity, sizeof(f->v1.affinity), "%s", f->h2.uuid);
	f->v1.power_state = DB_POWER_RUNNING;
	f->v1.ngroups = 1;
	snprintf(f->v1.groups[0], sizeof(f->v1.groups[0]), "%s", f->g1.uuid);
	db_map_set(&f->v1.other_config, "a", "b");
	assert_int_equal(db_vm_put(db, &f->v1), 0);
	snprintf(f->m.name, sizeof(f->m.name), "HA_POOL_OVERCOMMITTED");
	f->m.priority = 3;
	f->m.timestamp = 1000;
	assert_int_equal(db_message_add(db, &f->m), 0);
	memset(&fr, 0, sizeof(fr));
	snprintf(fr.host_uuid, sizeof(fr.host_uuid), "%s", f->h2.uuid);
	snprintf(fr.reason, sizeof(fr.reason), "lost");
	assert_int_equal(db_fence_add(db, &fr), 0);
	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "root");
	snprintf(u.role, sizeof(u.role), "pool-admin");
	assert_int_equal(db_user_put(db, &u), 0);
}

static void
fixture_clear(struct fixture *f)
{
	db_pool_clear(&f->pool);
	db_host_clear(&f->h1);
	db_host_clear(&f->h2);
	db_vm_clear(&f->v1);
}

static int
cmp_event(const void *a, const void *b)
{
	const struct hook_event *x = a, *y = b;

	if (x->table != y->table)
		return (int)x->table - (int)y->table;
	if (x->op != y->op)
		return (int)x->op - (int)y->op;
	return strcmp(x->key, y->key);
}

/* Both hooks saw the same (table, key, op) set; then forget them. */
static void
assert_same_changes(struct hook_rec *a, struct hook_rec *b)
{
	size_t i;

	qsort(a->e, a->n, sizeof(a->e[0]), cmp_event);
	qsort(b->e, b->n, sizeof(b->e[0]), cmp_event);
	if (a->n != b->n || (a->n > 0 && memcmp(a->e, b->e, a->n * sizeof(a->e[0])) != 0)) {
		for (i = 0; i < a->n; i++)
			print_message("applied: %s %s %s\n", table_names[a->e[i].table],
			              op_names[a->e[i].op], a->e[i].key);
		for (i = 0; i < b->n; i++)
			print_message("direct:  %s %s %s\n", table_names[b->e[i].table],
			              op_names[b->e[i].op], b->e[i].key);
	}
	for (i = 0; i < a->n && i < b->n; i++)
		if (cmp_event(&a->e[i], &b->e[i]) != 0)
			fail_msg("change %zu: %s %s %s vs %s %s %s", i, table_names[a->e[i].table],
			         op_names[a->e[i].op], a->e[i].key, table_names[b->e[i].table],
			         op_names[b->e[i].op], b->e[i].key);
	if (a->n != b->n)
		fail_msg("%zu changes vs %zu", a->n, b->n);
	a->n = b->n = 0;
}

static void
assert_position(struct db *db, uint64_t term, uint64_t pos)
{
	uint64_t t, s;

	assert_int_equal(db_repl_get(db, &t, &s), 0);
	assert_int_equal(t, term);
	assert_int_equal(s, pos);
}

static void
test_capture_apply(void **state)
{
	char *pa, *pb, *pc;
	struct db *a = open_new(&pa), *b, *c;
	struct hook_rec ra = {0}, rb = {0}, rc = {0};
	struct fixture f;
	struct db_vm v, got;
	struct db_host bad;
	struct buf before;
	void *blob;
	size_t len;

	populate(a, &f);
	b = clone_db(a, &pb);
	c = clone_db(a, &pc);
	db_set_change_hook(a, rec_hook, &ra);
	db_set_change_hook(b, rec_hook, &rb);
	db_set_change_hook(c, rec_hook, &rc);
	before = dump(a);

	/* A new VM with maps and groups, on h2: captured, nothing changes. */
	make_vm(&v, "v2");
	snprintf(v.resident_on, sizeof(v.resident_on), "%s", f.h2.uuid);
	v.ngroups = 2;
	snprintf(v.groups[0], sizeof(v.groups[0]), "%s", f.g2.uuid);
	snprintf(v.groups[1], sizeof(v.groups[1]), "%s", f.g1.uuid);
	db_map_set(&v.other_config, "x", "1");
	db_map_set(&v.other_config, "y", "2");
	assert_int_equal(db_capturing(a), 0);
	assert_int_equal(db_capture_begin(a), 0);
	assert_int_equal(db_capturing(a), 1);
	assert_int_equal(db_capture_begin(a), -1); /* no nesting */
	assert_int_equal(db_vm_put(a, &v), 0);
	assert_int_equal(db_vm_get(a, v.uuid, &got), 0); /* visible inside */
	db_vm_clear(&got);
	assert_int_equal(db_capture_end(a, &blob, &len), 0);
	assert_int_equal(db_capturing(a), 0);
	assert_non_null(blob);
	assert_true(len > 0);
	assert_int_equal(ra.n, 0);
	assert_dump_is(a, &before);
	assert_int_equal(db_vm_get(a, v.uuid, &got), 1);
	assert_position(a, 0, 0);

	/* Applied on an identical copy: as the direct write on another. */
	assert_int_equal(db_apply_change(b, 1, 1, blob, len), 0);
	assert_int_equal(db_vm_put(c, &v), 0);
	assert_dump_equal(b, c);
	assert_true(rb.n > 0);
	assert_same_changes(&rb, &rc);
	assert_position(b, 1, 1);
	assert_int_equal(db_vm_get(b, v.uuid, &got), 0);
	assert_int_equal(got.ngroups, 2);
	assert_string_equal(got.groups[0], f.g2.uuid);
	assert_string_equal(db_map_get(&got.other_config, "y"), "2");
	db_vm_clear(&got);
	/* ... and on the master itself. */
	assert_int_equal(db_apply_change(a, 1, 1, blob, len), 0);
	assert_dump_equal(a, b);
	ra.n = 0;
	xfree(blob);

	/* Nothing written: nothing captured. */
	assert_int_equal(db_capture_begin(a), 0);
	assert_int_equal(db_capture_end(a, &blob, &len), 0);
	assert_null(blob);
	assert_int_equal(len, 0);
	/* A write undone: nothing captured either. */
	assert_int_equal(db_capture_begin(a), 0);
	assert_int_equal(db_host_set_metrics(a, f.h1.uuid, 1, 10, 5, 99), 0);
	assert_int_equal(db_host_set_metrics(a, f.h1.uuid, 0, 0, 0, 0), 0);
	assert_int_equal(db_capture_end(a, &blob, &len), 0);
	assert_null(blob);
	/* The empty change applies and moves the position. */
	assert_int_equal(db_apply_change(a, 1, 2, NULL, 0), 0);
	assert_position(a, 1, 2);
	assert_int_equal(ra.n, 0);

	/* db_begin/db_commit/db_rollback inside a capture are no-ops; a failed
	** write is undone alone; an abort forgets everything. */
	assert_int_equal(db_capture_begin(a), 0);
	assert_int_equal(db_begin(a), 0);
	assert_int_equal(db_host_set_metrics(a, f.h1.uuid, 1, 4096, 2048, 77), 0);
	make_host(&bad, "bad");
	strcpy(bad.uuid, "not-a-uuid");
	assert_int_equal(db_host_put(a, &bad), -1);
	v.power_state = DB_POWER_HALTED;
	snprintf(v.resident_on, sizeof(v.resident_on), "%s", bad.uuid); /* unknown host */
	assert_int_equal(db_vm_put(a, &v), -1);
	assert_int_equal(db_commit(a), 0);
	db_rollback(a);
	assert_int_equal(db_capturing(a), 1);
	assert_int_equal(db_repl_set(a, 5, 5), -1);
	assert_int_equal(db_apply_change(a, 1, 3, NULL, 0), -1);
	assert_int_equal(db_capture_end(a, &blob, &len), 0);
	assert_non_null(blob);
	assert_int_equal(db_apply_change(a, 1, 3, blob, len), 0);
	assert_int_equal(db_apply_change(b, 1, 3, blob, len), 0);
	assert_int_equal(db_host_set_metrics(c, f.h1.uuid, 1, 4096, 2048, 77), 0);
	assert_dump_equal(a, b);
	assert_dump_equal(a, c);
	assert_same_changes(&rb, &rc);
	rec_expect(&ra, 1, DB_TABLE_HOST, DB_CHANGE_MOD, f.h1.uuid);
	xfree(blob);
	assert_int_equal(db_capture_begin(a), 0);
	assert_int_equal(db_host_delete(a, f.h2.uuid), 0);
	db_capture_abort(a);
	db_capture_abort(a);
	assert_int_equal(db_capturing(a), 0);
	assert_dump_equal(a, b);
	assert_int_equal(ra.n, 0);

	/* Not inside a db_begin() transaction. */
	assert_int_equal(db_begin(a), 0);
	assert_int_equal(db_capture_begin(a), -1);
	db_rollback(a);
	assert_int_equal(db_capture_end(a, &blob, &len), -1);
	assert_null(blob);

	xfree(before.p);
	fixture_clear(&f);
	db_vm_clear(&v);
	db_host_clear(&bad);
	db_close(a);
	db_close(b);
	db_close(c);
	remove_db(pa);
	remove_db(pb);
	remove_db(pc);
}

/* Capture `call` on `a`, apply it strictly on `a` and `b`, and make it
** directly on `c` in one transaction (as a capture is): same content, same
** changes reported. */
#define CAPTURE_APPLY_DIRECT(a, b, c, rb, rc, seqno, call)                                         \
	do {                                                                                       \
		void *blob_;                                                                       \
		size_t len_;                                                                       \
		assert_int_equal(db_capture_begin(a), 0);                                          \
		assert_int_equal(call(a), 0);                                                      \
		assert_int_equal(db_capture_end(a, &blob_, &len_), 0);                             \
		assert_non_null(blob_);                                                            \
		assert_int_equal(db_apply_change(a, 1, seqno, blob_, len_), 0);                    \
		assert_int_equal(db_apply_change(b, 1, seqno, blob_, len_), 0);                    \
		assert_int_equal(db_begin(c), 0);                                                  \
		assert_int_equal(call(c), 0);                                                      \
		assert_int_equal(db_commit(c), 0);                                                 \
		xfree(blob_);                                                                      \
		assert_dump_equal(a, b);                                                           \
		assert_dump_equal(b, c);                                                           \
		assert_same_changes(rb, rc);                                                       \
	} while (0)

static struct fixture *cf;

static int
do_host_delete(struct db *db)
{
	return db_host_delete(db, cf->h1.uuid);
}

static int
do_group_delete(struct db *db)
{
	return db_vm_group_delete(db, cf->g1.uuid);
}

static int
do_vm_delete(struct db *db)
{
	return db_vm_delete(db, cf->v1.uuid);
}

static int
do_pool_new_uuid(struct db *db)
{
	struct db_pool p;

	db_pool_init(&p);
	snprintf(p.uuid, sizeof(p.uuid), "%s", UUID_POOL);
	db_map_set(&p.other_config, "new", "1");
	snprintf(p.cluster_key, sizeof(p.cluster_key), "00ff");
	assert_int_equal(db_pool_put(db, &p), 0);
	db_pool_clear(&p);
	return 0;
}

static int
do_misc(struct db *db)
{
	struct db_message m;
	struct db_fence_record fr;
	struct db_user u;
	struct db_host h;

	memset(&m, 0, sizeof(m));
	snprintf(m.uuid, sizeof(m.uuid), "%s", UUID_VM1);
	snprintf(m.name, sizeof(m.name), "HA_HOST_FAILED");
	m.priority = 1;
	assert_int_equal(db_message_add(db, &m), 0);
	assert_int_equal(db_message_delete(db, cf->m.uuid), 0);
	memset(&fr, 0, sizeof(fr));
	snprintf(fr.host_uuid, sizeof(fr.host_uuid), "%s", cf->h1.uuid);
	fr.timestamp = 5;
	assert_int_equal(db_fence_add(db, &fr), 0);
	assert_int_equal(db_user_delete(db, "root"), 0);
	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "op");
	assert_int_equal(db_user_put(db, &u), 0);
	db_host_init(&h);
	snprintf(h.uuid, sizeof(h.uuid), "%s", UUID_H1);
	h.cluster_nodeid = 3;
	db_map_set(&h.other_config, "x", "y");
	assert_int_equal(db_host_put(db, &h), 0);
	db_host_clear(&h);
	/* A map change alone: a mod of its owner. */
	h = cf->h1;
	memset(&h.other_config, 0, sizeof(h.other_config));
	db_map_set(&h.other_config, "rack", "r2");
	assert_int_equal(db_host_put(db, &h), 0);
	db_host_clear(&h);
	return db_vm_set_power(db, cf->v1.uuid, DB_POWER_RUNNING, cf->h2.uuid);
}

static void
test_capture_cascades(void **state)
{
	char *pa, *pb, *pc;
	struct db *a = open_new(&pa), *b, *c;
	struct hook_rec rb = {0}, rc = {0};
	struct fixture f;
	struct db_vm got;

	populate(a, &f);
	cf = &f;
	b = clone_db(a, &pb);
	c = clone_db(a, &pc);
	db_set_change_hook(b, rec_hook, &rb);
	db_set_change_hook(c, rec_hook, &rc);

	CAPTURE_APPLY_DIRECT(a, b, c, &rb, &rc, 1, do_misc);
	CAPTURE_APPLY_DIRECT(a, b, c, &rb, &rc, 2, do_pool_new_uuid);
	/* v1 moved to h2 above; put it back on h1 for the host's delete. */
	assert_int_equal(db_vm_set_power(a, f.v1.uuid, DB_POWER_RUNNING, f.h1.uuid), 0);
	assert_int_equal(db_vm_set_power(b, f.v1.uuid, DB_POWER_RUNNING, f.h1.uuid), 0);
	assert_int_equal(db_vm_set_power(c, f.v1.uuid, DB_POWER_RUNNING, f.h1.uuid), 0);
	rb.n = rc.n = 0;
	/* The host's delete clears resident_on (ON DELETE SET NULL): captured
	** and applied strictly with foreign keys off, the action not repeated. */
	CAPTURE_APPLY_DIRECT(a, b, c, &rb, &rc, 3, do_host_delete);
	assert_int_equal(db_vm_get(b, f.v1.uuid, &got), 0);
	assert_string_equal(got.resident_on, "");
	db_vm_clear(&got);
	CAPTURE_APPLY_DIRECT(a, b, c, &rb, &rc, 4, do_group_delete);
	assert_int_equal(db_vm_get(b, f.v1.uuid, &got), 0);
	assert_int_equal(got.ngroups, 0);
	db_vm_clear(&got);
	CAPTURE_APPLY_DIRECT(a, b, c, &rb, &rc, 5, do_vm_delete);
	assert_position(b, 1, 5);

	fixture_clear(&f);
	db_close(a);
	db_close(b);
	db_close(c);
	remove_db(pa);
	remove_db(pb);
	remove_db(pc);
}

/* A changeset made with plain SQLite (foreign keys off): `sqltext` run on
** a scratch copy of `db` with a session on table `tab` (NULL: all). */
static void *
raw_changeset(struct db *db, const char *tab, const char *sqltext, size_t *len)
{
	char *path;
	struct db *c = clone_db(db, &path);
	sqlite3 *h;
	sqlite3_session *sess;
	void *p, *out;
	int n;

	db_close(c);
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3session_create(h, "main", &sess), SQLITE_OK);
	assert_int_equal(sqlite3session_attach(sess, tab), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, sqltext, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3session_changeset(sess, &n, &p), SQLITE_OK);
	assert_true(n > 0);
	out = xmalloc((size_t)n);
	memcpy(out, p, (size_t)n);
	*len = (size_t)n;
	sqlite3_free(p);
	sqlite3session_delete(sess);
	sqlite3_close(h);
	remove_db(path);
	return out;
}

static void
test_apply_strict(void **state)
{
	char err[512];
	char *pa, *pb;
	struct db *a = open_new(&pa), *b;
	struct hook_rec rb = {0};
	struct fixture f;
	struct buf before;
	unsigned char junk[512];
	void *blob, *bad;
	size_t len, badlen, i;

	populate(a, &f);
	b = clone_db(a, &pb);
	db_set_change_hook(b, rec_hook, &rb);

	/* b diverged: v1 renamed.  a's change to v1 conflicts there. */
	f.v1.power_state = DB_POWER_HALTED;
	assert_int_equal(db_vm_set_power(b, f.v1.uuid, DB_POWER_PAUSED, f.h1.uuid), 0);
	assert_int_equal(db_apply_change(b, 3, 9, NULL, 0), 0);
	rb.n = 0;
	before = dump(b);
	assert_int_equal(db_capture_begin(a), 0);
	assert_int_equal(db_vm_set_power(a, f.v1.uuid, DB_POWER_HALTED, ""), 0);
	assert_int_equal(db_capture_end(a, &blob, &len), 0);
	assert_int_equal(db_apply_change(b, 3, 10, blob, len), -1);
	assert_non_null(strstr(db_errmsg(b), "applying a change"));
	assert_dump_is(b, &before);
	assert_position(b, 3, 9);
	assert_int_equal(rb.n, 0);
	/* Twice on a: the second finds the row changed. */
	assert_int_equal(db_apply_change(a, 1, 1, blob, len), 0);
	assert_int_equal(db_apply_change(a, 1, 2, blob, len), -1);
	assert_position(a, 1, 1);
	/* An insert of a row already there. */
	xfree(blob);
	assert_int_equal(db_capture_begin(a), 0);
	assert_int_equal(db_user_delete(a, "root"), 0);
	assert_int_equal(db_capture_end(a, &blob, &len), 0);
	assert_int_equal(db_apply_change(a, 1, 2, blob, len), 0);
	assert_int_equal(db_apply_change(a, 1, 3, blob, len), -1); /* missing */
	xfree(blob);

	/* Foreign keys are back on after an apply, failed or not. */
	{
		struct db_vm v;

		make_vm(&v, "orphan");
		snprintf(v.resident_on, sizeof(v.resident_on), "%s", UUID_H1);
		assert_int_equal(db_vm_put(b, &v), -1);
		assert_int_equal(db_vm_put(a, &v), -1);
		db_vm_clear(&v);
	}

	/* Tables that are not replicated, made by hand. */
	bad = raw_changeset(a, "repl", "UPDATE repl SET seq = 100", &badlen);
	assert_int_equal(db_apply_change(b, 3, 10, bad, badlen), -1);
	assert_non_null(strstr(db_errmsg(b), "not replicated"));
	xfree(bad);
	bad = raw_changeset(a, "foo",
	                    "CREATE TABLE foo (a INTEGER PRIMARY KEY); "
	                    "INSERT INTO foo VALUES (1)",
	                    &badlen);
	assert_int_equal(db_apply_change(b, 3, 10, bad, badlen), -1);
	xfree(bad);
	/* Dangling references, or too many groups: refused whole. */
	bad = raw_changeset(a, "host", "DELETE FROM host", &badlen);
	assert_int_equal(db_apply_change(b, 3, 10, bad, badlen), -1);
	assert_non_null(strstr(db_errmsg(b), "a VM would name a host"));
	xfree(bad);
	bad = raw_changeset(a, "vm_group", "DELETE FROM vm_group", &badlen);
	assert_int_equal(db_apply_change(b, 3, 10, bad, badlen), -1);
	assert_non_null(strstr(db_errmsg(b), "membership"));
	xfree(bad);
	bad = raw_changeset(a, NULL,
	                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
	                    "WHERE i < 8) INSERT INTO vm_group (uuid) SELECT 'g' || i FROM n; "
	                    "INSERT INTO vm_group_member SELECT v.uuid, g.uuid, 1 FROM vm v, "
	                    "vm_group g WHERE g.uuid LIKE 'g_'",
	                    &badlen);
	assert_int_equal(db_apply_change(b, 3, 10, bad, badlen), -1);
	assert_non_null(strstr(db_errmsg(b), "more than 8 groups"));
	assert_int_equal(db_apply_proposal(b, bad, badlen, &blob, &len), -1);
	xfree(bad);
	assert_dump_is(b, &before);
	/* The same table with other columns. */
	bad = raw_changeset(a, "user",
	                    "ALTER TABLE user ADD COLUMN extra TEXT; "
	                    "INSERT INTO user VALUES ('x', '', '', 'e')",
	                    &badlen);
	assert_int_equal(db_apply_change(b, 3, 10, bad, badlen), -1);
	assert_non_null(strstr(db_errmsg(b), "columns"));
	xfree(bad);
	/* A patchset has no old values: refused. */
	{
		char *path;
		struct db *c = clone_db(a, &path);
		sqlite3 *h;
		sqlite3_session *sess;
		void *p;
		int n;

		db_close(c);
		assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
		assert_int_equal(sqlite3session_create(h, "main", &sess), SQLITE_OK);
		assert_int_equal(sqlite3session_attach(sess, "host"), SQLITE_OK);
		assert_int_equal(sqlite3_exec(h, "UPDATE host SET live = 1", NULL, NULL, NULL),
		                 SQLITE_OK);
		assert_int_equal(sqlite3session_patchset(sess, &n, &p), SQLITE_OK);
		assert_int_equal(db_apply_change(b, 3, 10, p, (size_t)n), -1);
		sqlite3_free(p);
		sqlite3session_delete(sess);
		sqlite3_close(h);
		remove_db(path);
	}

	/* Garbage, and truncated or damaged changesets. */
	assert_int_equal(db_capture_begin(a), 0);
	assert_int_equal(db_host_set_metrics(a, f.h2.uuid, 1, 100, 50, 7), 0);
	assert_int_equal(db_capture_end(a, &blob, &len), 0);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 131 + 7);
	assert_int_equal(db_apply_change(b, 3, 10, junk, sizeof(junk)), -1);
	assert_int_equal(db_apply_change(b, 3, 10, NULL, 5), -1);
	for (i = 1; i < len; i++)
		assert_int_equal(db_apply_change(b, 3, 10, blob, i), -1);
	for (i = 0; i < len; i++) {
		unsigned char *m = xmalloc(len);

		memcpy(m, blob, len);
		m[i] ^= 0x5a;
		(void)db_apply_change(b, 3, 10, m, len); /* may apply; must not crash */
		xfree(m);
	}
	xfree(blob);
	assert_int_equal(db_apply_proposal(b, junk, sizeof(junk), &blob, &len), -1);
	assert_null(blob);

	/* Read-only: refused. */
	xfree(before.p);
	db_close(b);
	b = db_open(pb, DB_OPEN_READONLY, err, sizeof(err));
	assert_non_null(b);
	assert_int_equal(db_apply_change(b, 3, 11, NULL, 0), -1);
	assert_int_equal(db_capture_begin(b), -1);

	fixture_clear(&f);
	db_close(a);
	db_close(b);
	remove_db(pa);
	remove_db(pb);
}

static void
test_position_durable(void **state)
{
	char err[512], *path;
	struct db *db = open_new(&path);
	struct fixture f;
	void *blob;
	size_t len;

	populate(db, &f);
	assert_position(db, 0, 0);
	assert_int_equal(db_repl_set(db, 2, 40), 0);
	assert_position(db, 2, 40);
	assert_int_equal(db_capture_begin(db), 0);
	assert_int_equal(db_host_set_metrics(db, f.h1.uuid, 1, 1, 1, 1), 0);
	assert_int_equal(db_capture_end(db, &blob, &len), 0);
	assert_int_equal(db_apply_change(db, 7, UINT64_C(0xfffffffffffffff0), blob, len), 0);
	xfree(blob);
	db_close(db);
	db = db_open(path, 0, err, sizeof(err));
	assert_non_null(db);
	assert_position(db, 7, UINT64_C(0xfffffffffffffff0));
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_repl_set(db, 1, 1), -1);
	db_rollback(db);
	db_close(db);
	fixture_clear(&f);
	remove_db(path);
}

static void make_intent(struct db_vm_intent *in, const char *vm, enum db_intent_op op,
                        enum db_intent_state state, const char *host);

/* A member's proposal touching a VM intent holds only on the intent as
** the member saw it: an insert of an intent the master has meanwhile, an
** update or a delete of one the master changed or deleted, fail the whole
** proposal (its VM row change too); unchanged, it applies. */
static void
test_proposal_intent_strict(void **state)
{
	char *pm, *pp;
	struct db *m = open_new(&pm), *p;
	struct fixture f;
	struct db_vm_intent in;
	struct db_vm got;
	void *prop, *net;
	size_t plen, nlen;

	populate(m, &f);
	p = clone_db(m, &pp);
	/* The member claims v1 (halted + an intent); the master queued one. */
	make_intent(&in, f.v1.uuid, DB_INTENT_START, DB_INTENT_QUEUED, "");
	assert_int_equal(db_intent_put(m, &in), 0);
	assert_int_equal(db_capture_begin(p), 0);
	assert_int_equal(db_vm_set_power(p, f.v1.uuid, DB_POWER_HALTED, ""), 0);
	make_intent(&in, f.v1.uuid, DB_INTENT_START, DB_INTENT_ISSUED, f.h2.uuid);
	assert_int_equal(db_intent_put(p, &in), 0);
	assert_int_equal(db_capture_end(p, &prop, &plen), 0);
	assert_int_equal(db_apply_proposal(m, prop, plen, &net, &nlen), -1);
	assert_non_null(strstr(db_errmsg(m), "vm_intent"));
	assert_null(net);
	xfree(prop);
	/* The master's intent is ISSUED to h1 in both; the member's update
	** (its report) applies only while the master has not moved it. */
	make_intent(&in, f.v1.uuid, DB_INTENT_START, DB_INTENT_ISSUED, f.h1.uuid);
	assert_int_equal(db_intent_put(m, &in), 0);
	assert_int_equal(db_intent_put(p, &in), 0);
	assert_int_equal(db_capture_begin(p), 0);
	in.state = DB_INTENT_FAILED;
	assert_int_equal(db_intent_put(p, &in), 0);
	assert_int_equal(db_capture_end(p, &prop, &plen), 0);
	in.state = DB_INTENT_QUEUED; /* the master requeued it */
	in.host[0] = '\0';
	assert_int_equal(db_intent_put(m, &in), 0);
	assert_int_equal(db_apply_proposal(m, prop, plen, &net, &nlen), -1);
	in.state = DB_INTENT_ISSUED; /* as the member saw it: applies */
	snprintf(in.host, sizeof(in.host), "%s", f.h1.uuid);
	assert_int_equal(db_intent_put(m, &in), 0);
	assert_int_equal(db_apply_proposal(m, prop, plen, &net, &nlen), 0);
	assert_non_null(net);
	xfree(net);
	xfree(prop);
	/* A report that deletes the intent and runs the VM: refused once the
	** master deleted the intent, the VM row untouched. */
	assert_int_equal(db_capture_begin(p), 0);
	assert_int_equal(db_vm_set_power(p, f.v1.uuid, DB_POWER_RUNNING, f.h1.uuid), 0);
	assert_int_equal(db_intent_delete(p, f.v1.uuid), 0);
	assert_int_equal(db_capture_end(p, &prop, &plen), 0);
	assert_int_equal(db_intent_delete(m, f.v1.uuid), 0);
	assert_int_equal(db_apply_proposal(m, prop, plen, &net, &nlen), -1);
	assert_int_equal(db_vm_get(m, f.v1.uuid, &got), 0);
	assert_int_equal(got.power_state, f.v1.power_state);
	db_vm_clear(&got);
	xfree(prop);
	fixture_clear(&f);
	db_close(m);
	db_close(p);
	remove_db(pm);
	remove_db(pp);
}

static void
test_proposal(void **state)
{
	char *pm, *pp, *pc;
	struct db *m = open_new(&pm), *p, *c;
	struct hook_rec rm = {0};
	struct fixture f;
	struct db_vm v, got;
	struct db_host hx;
	struct buf before;
	void *prop, *net;
	size_t plen, nlen;

	populate(m, &f);
	p = clone_db(m, &pp); /* a member's copy, soon older than m */

	/* Meanwhile on the master: v1 renamed and paused. */
	v = f.v1;
	memset(&v.other_config, 0, sizeof(v.other_config));
	db_map_copy(&v.other_config, &f.v1.other_config);
	snprintf(v.name_label, sizeof(v.name_label), "renamed");
	v.power_state = DB_POWER_PAUSED;
	assert_int_equal(db_vm_put(m, &v), 0);
	assert_int_equal(db_message_delete(m, f.m.uuid), 0);
	assert_int_equal(db_apply_change(m, 1, 4, NULL, 0), 0);

	/* The member proposes: v1 halted on h2, the message deleted, a user. */
	assert_int_equal(db_capture_begin(p), 0);
	assert_int_equal(db_vm_set_power(p, f.v1.uuid, DB_POWER_HALTED, f.h2.uuid), 0);
	assert_int_equal(db_message_delete(p, f.m.uuid), 0);
	{
		struct db_user u;

		memset(&u, 0, sizeof(u));
		snprintf(u.name, sizeof(u.name), "op");
		assert_int_equal(db_user_put(p, &u), 0);
	}
	assert_int_equal(db_capture_end(p, &prop, &plen), 0);

	/* The master turns it into its net effect; changes and reports nothing. */
	db_set_change_hook(m, rec_hook, &rm);
	before = dump(m);
	c = clone_db(m, &pc);
	assert_int_equal(db_apply_proposal(m, prop, plen, &net, &nlen), 0);
	assert_non_null(net);
	assert_int_equal(db_capturing(m), 0);
	assert_dump_is(m, &before);
	assert_int_equal(rm.n, 0);
	/* The net effect applies strictly on the master and on a copy. */
	assert_int_equal(db_apply_change(m, 1, 5, net, nlen), 0);
	assert_int_equal(db_apply_change(c, 1, 5, net, nlen), 0);
	assert_dump_equal(m, c);
	assert_int_equal(db_vm_get(c, f.v1.uuid, &got), 0);
	assert_string_equal(got.name_label, "renamed");
	assert_int_equal(got.power_state, DB_POWER_HALTED);
	assert_string_equal(got.resident_on, f.h2.uuid);
	db_vm_clear(&got);
	xfree(net);
	rm.n = 0;

	/* The same proposal again: only what is still to do (nothing). */
	assert_int_equal(db_apply_proposal(m, prop, plen, &net, &nlen), 0);
	assert_null(net);
	assert_int_equal(nlen, 0);
	xfree(prop);

	/* A foreign-key violation: v1 on a host the master does not have. */
	make_host(&hx, "hx");
	assert_int_equal(db_host_put(p, &hx), 0);
	assert_int_equal(db_capture_begin(p), 0);
	assert_int_equal(db_vm_set_power(p, f.v1.uuid, DB_POWER_RUNNING, hx.uuid), 0);
	assert_int_equal(db_capture_end(p, &prop, &plen), 0);
	xfree(before.p);
	before = dump(m);
	assert_int_equal(db_apply_proposal(m, prop, plen, &net, &nlen), -1);
	assert_null(net);
	assert_non_null(strstr(db_errmsg(m), "foreign key"));
	assert_int_equal(db_capturing(m), 0);
	assert_dump_is(m, &before);
	xfree(prop);
	/* A CHECK violation fails too (a VM's power state by hand). */
	prop = raw_changeset(m, "vm", "UPDATE vm SET power_state = 'Running'", &plen);
	{
		unsigned char *q = prop;
		size_t i;

		/* 'Running' -> 'Rxnning' in the new value. */
		for (i = plen - 7; i > 0; i--)
			if (memcmp(q + i, "Running", 7) == 0) {
				q[i + 1] = 'x';
				break;
			}
		assert_true(i > 0);
	}
	assert_int_equal(db_apply_proposal(m, prop, plen, &net, &nlen), -1);
	assert_dump_is(m, &before);
	xfree(prop);
	/* Not while a transaction is open. */
	assert_int_equal(db_begin(m), 0);
	assert_int_equal(db_apply_proposal(m, NULL, 0, &net, &nlen), -1);
	db_rollback(m);
	assert_int_equal(db_apply_proposal(m, NULL, 0, &net, &nlen), 0);
	assert_null(net);

	xfree(before.p);
	db_host_clear(&hx);
	db_vm_clear(&v);
	fixture_clear(&f);
	db_close(m);
	db_close(p);
	db_close(c);
	remove_db(pm);
	remove_db(pp);
	remove_db(pc);
}

static void
test_snapshot_restore(void **state)
{
	char err[512], *pa, *pb, *pf, *msg;
	struct db *a = open_new(&pa), *b = open_new(&pb);
	struct hook_rec rb = {0};
	struct fixture f, g;
	struct buf before;
	struct db_vm got, v;
	unsigned char *junk;
	void *blob, *img;
	size_t len, ilen, i;

	populate(a, &f);
	assert_int_equal(db_repl_set(a, 3, 9), 0);
	populate(b, &g); /* other content */
	assert_int_equal(db_repl_set(b, 1, 1), 0);
	/* Prepare every cached statement b has on its connection. */
	assert_int_equal(db_vm_get(b, g.v1.uuid, &got), 0);
	db_vm_clear(&got);
	db_set_change_hook(b, rec_hook, &rb);

	assert_int_equal(db_snapshot(a, &blob, &len), 0);
	assert_int_equal(db_restore(b, blob, len), 0);
	assert_dump_equal(a, b);
	assert_position(b, 3, 9);
	assert_int_equal(rb.n, 0);
	/* Cached statements still work, on the new content. */
	assert_int_equal(db_vm_get(b, g.v1.uuid, &got), 1);
	assert_int_equal(db_vm_get(b, f.v1.uuid, &got), 0);
	db_vm_clear(&got);
	make_vm(&v, "after");
	assert_int_equal(db_vm_put(b, &v), 0);
	assert_int_equal(db_vm_put(a, &v), 0);
	assert_dump_equal(a, b);
	rb.n = 0;
	/* Durable: after reopening. */
	db_close(b);
	b = db_open(pb, 0, err, sizeof(err));
	assert_non_null(b);
	assert_dump_equal(a, b);
	assert_position(b, 3, 9);
	before = dump(b);

	/* Refusals: content and position unchanged. */
	assert_int_equal(db_begin(b), 0);
	assert_int_equal(db_restore(b, blob, len), -1);
	/* Inside a transaction a snapshot is the committed state, without
	** the open writes. */
	{
		struct db_pool pl;
		void *cimg = NULL;
		size_t clen = 0;

		db_pool_init(&pl);
		assert_int_equal(db_pool_get(b, &pl), 0);
		snprintf(pl.name_label, sizeof(pl.name_label), "uncommitted");
		assert_int_equal(db_pool_put(b, &pl), 0);
		assert_int_equal(db_snapshot(b, &cimg, &clen), 0);
		db_rollback(b);
		assert_int_equal(db_snapshot(b, &img, &ilen), 0);
		assert_int_equal(clen, ilen);
		assert_memory_equal(cimg, img, ilen);
		xfree(cimg);
		xfree(img);
		img = NULL;
		db_pool_clear(&pl);
	}
	xfree(blob);
	junk = xmalloc(8192);
	for (i = 0; i < 8192; i++)
		junk[i] = (unsigned char)(i * 37 + 11);
	assert_int_equal(db_restore(b, junk, 8192), -1);
	assert_non_null(strstr(db_errmsg(b), "not an SQLite database"));
	assert_int_equal(db_restore(b, junk, 10), -1);
	assert_int_equal(db_restore(b, NULL, 0), -1);
	xfree(junk);

	pf = tmp_path("foreign");
	sql(pf, "CREATE TABLE foo (a); INSERT INTO foo VALUES (1);");
	img = slurp(pf, &ilen);
	assert_int_equal(db_restore(b, img, ilen), -1);
	assert_non_null(strstr(db_errmsg(b), "not a hasvc pool database"));
	xfree(img);
	remove_db(pf);

	/* A newer schema. */
	{
		char *pn;
		struct db *n = clone_db(a, &pn);

		db_close(n);
		msg = xasprintf("PRAGMA user_version = %d;", DB_SCHEMA_VERSION + 1);
		sql(pn, msg);
		xfree(msg);
		img = slurp(pn, &ilen);
		assert_int_equal(db_restore(b, img, ilen), -1);
		msg = xasprintf("schema version %d", DB_SCHEMA_VERSION + 1);
		assert_non_null(strstr(db_errmsg(b), msg));
		xfree(msg);
		xfree(img);
		remove_db(pn);
	}
	/* Damaged: truncated, or pages garbled. */
	assert_int_equal(db_snapshot(a, &img, &ilen), 0);
	assert_true(ilen >= 3 * 4096);
	assert_int_equal(db_restore(b, img, ilen / 2), -1);
	for (i = 2 * 4096; i < ilen; i++)
		((unsigned char *)img)[i] ^= 0xa5;
	assert_int_equal(db_restore(b, img, ilen), -1);
	xfree(img);

	assert_dump_is(b, &before);
	assert_position(b, 3, 9);
	assert_int_equal(rb.n, 0);

	xfree(before.p);
	db_vm_clear(&v);
	fixture_clear(&f);
	fixture_clear(&g);
	db_close(a);
	db_close(b);
	remove_db(pa);
	remove_db(pb);
}

/* The dump is canonical: the same rows, written in another order, dump
** the same; a different value does not. */
static void
test_dump_canonical(void **state)
{
	char *pa, *pb;
	struct db *a = open_new(&pa), *b = open_new(&pb);
	struct db_host h1, h2;
	struct buf x, y;

	make_host(&h1, "one");
	make_host(&h2, "two");
	db_map_set(&h1.other_config, "k1", "v1");
	db_map_set(&h1.other_config, "k2", "v2");
	assert_int_equal(db_host_put(a, &h1), 0);
	assert_int_equal(db_host_put(a, &h2), 0);
	assert_int_equal(db_host_put(b, &h2), 0);
	assert_int_equal(db_host_put(b, &h1), 0);
	assert_int_equal(db_repl_set(b, 4, 4), 0); /* not in the dump */
	assert_dump_equal(a, b);
	assert_int_equal(db_host_set_metrics(b, h1.uuid, 0, 0, 0, 1), 0);
	x = dump(a);
	y = dump(b);
	assert_true(x.n != y.n || memcmp(x.p, y.p, x.n) != 0);
	xfree(x.p);
	xfree(y.p);
	db_host_clear(&h1);
	db_host_clear(&h2);
	db_close(a);
	db_close(b);
	remove_db(pa);
	remove_db(pb);
}

#ifdef HASVC_FAULTS
static void
test_faults(void **state)
{
	char err[512];
	char *path;
	struct db *db = open_new(&path);
	struct db_vm v, got;

	/* Commit fails: the write reports failure and leaves nothing. */
	make_vm(&v, "v");
	db_map_set(&v.other_config, "k", "v");
	assert_int_equal(fault_configure("db.commit.fail:repeat=1"), 0);
	assert_int_equal(db_vm_put(db, &v), -1);
	assert_non_null(strstr(db_errmsg(db), "db.commit.fail"));
	assert_int_equal(fault_fired("db.commit.fail"), 1);
	assert_int_equal(db_vm_get(db, v.uuid, &got), 1);

	/* A write that fails half-way (after the VM row) leaves nothing. */
	assert_int_equal(fault_configure("db.vm_put.fail:repeat=1"), 0);
	assert_int_equal(db_vm_put(db, &v), -1);
	assert_int_equal(db_vm_get(db, v.uuid, &got), 1);
	assert_int_equal(db_vm_put(db, &v), 0);

	/* An explicit transaction whose commit fails is rolled back. */
	assert_int_equal(db_vm_delete(db, v.uuid), 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_vm_put(db, &v), 0);
	assert_int_equal(fault_configure("db.commit.fail:repeat=1"), 0);
	assert_int_equal(db_commit(db), -1);
	assert_int_equal(db_vm_get(db, v.uuid, &got), 1);
	db_close(db);
	db_vm_clear(&v);
	remove_db(path);

	/* A failed migration leaves the file at version 0. */
	path = tmp_path("migrate-fault");
	sql(path, "PRAGMA application_id = 1212240726;");
	assert_int_equal(fault_configure("db.migrate.fail:repeat=1"), 0);
	assert_null(db_open(path, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "db.migrate.fail"));
	assert_int_equal(sql_int(path, "PRAGMA user_version"), 0);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_master"), 0);
	assert_int_equal(fault_configure(""), 0);
	db = db_open(path, 0, err, sizeof(err));
	assert_non_null(db);
	db_close(db);
	remove_db(path);
}

static void
test_hook_faults(void **state)
{
	char *path;
	struct db *db = open_new(&path);
	struct hook_rec r = {0};
	struct db_vm v;

	db_set_change_hook(db, rec_hook, &r);
	make_vm(&v, "v");
	/* A commit that fails reports nothing, alone or in a transaction. */
	assert_int_equal(fault_configure("db.commit.fail:repeat=1"), 0);
	assert_int_equal(db_vm_put(db, &v), -1);
	assert_int_equal(r.n, 0);
	assert_int_equal(fault_configure("db.vm_put.fail:repeat=1"), 0);
	assert_int_equal(db_vm_put(db, &v), -1);
	assert_int_equal(r.n, 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_vm_put(db, &v), 0);
	assert_int_equal(fault_configure("db.commit.fail:repeat=1"), 0);
	assert_int_equal(db_commit(db), -1);
	assert_int_equal(r.n, 0);
	assert_int_equal(fault_configure(""), 0);
	assert_int_equal(db_vm_put(db, &v), 0);
	rec_expect(&r, 1, DB_TABLE_VM, DB_CHANGE_ADD, v.uuid);
	db_close(db);
	db_vm_clear(&v);
	remove_db(path);
}
static void
test_apply_faults(void **state)
{
	char *pa, *pb;
	struct db *a = open_new(&pa), *b;
	struct hook_rec rb = {0};
	struct fixture f;
	struct db_vm v;
	struct buf before;
	void *blob;
	size_t len;

	populate(a, &f);
	b = clone_db(a, &pb);
	db_set_change_hook(b, rec_hook, &rb);
	assert_int_equal(db_capture_begin(a), 0);
	assert_int_equal(db_vm_delete(a, f.v1.uuid), 0);
	assert_int_equal(db_capture_end(a, &blob, &len), 0);

	/* The commit fails: nothing applied, nothing reported, the position
	** kept, foreign keys back on. */
	before = dump(b);
	assert_int_equal(fault_configure("db.commit.fail:repeat=1"), 0);
	assert_int_equal(db_apply_change(b, 1, 1, blob, len), -1);
	assert_int_equal(fault_configure(""), 0);
	assert_dump_is(b, &before);
	assert_position(b, 0, 0);
	assert_int_equal(rb.n, 0);
	make_vm(&v, "orphan");
	snprintf(v.resident_on, sizeof(v.resident_on), "%s", UUID_H1);
	assert_int_equal(db_vm_put(b, &v), -1);
	assert_int_equal(db_apply_change(b, 1, 1, blob, len), 0);
	assert_position(b, 1, 1);
	assert_true(rb.n > 0);
	xfree(blob);

	/* A write failing inside a capture is undone alone. */
	assert_int_equal(db_capture_begin(a), 0);
	assert_int_equal(fault_configure("db.vm_put.fail:repeat=1"), 0);
	assert_int_equal(db_vm_put(a, &f.v1), -1);
	assert_int_equal(fault_configure(""), 0);
	assert_int_equal(db_host_set_metrics(a, f.h1.uuid, 1, 2, 1, 3), 0);
	assert_int_equal(db_capture_end(a, &blob, &len), 0);
	assert_int_equal(db_apply_change(a, 1, 1, blob, len), 0);
	xfree(blob);

	/* Closed while capturing: the capture is dropped. */
	assert_int_equal(db_capture_begin(a), 0);
	assert_int_equal(db_host_delete(a, f.h2.uuid), 0);
	db_close(a);
	a = db_open(pa, 0, (char[512]){0}, 512);
	assert_non_null(a);
	{
		struct db_host got;

		assert_int_equal(db_host_get(a, f.h2.uuid, &got), 0);
		db_host_clear(&got);
	}

	xfree(before.p);
	db_vm_clear(&v);
	fixture_clear(&f);
	db_close(a);
	db_close(b);
	remove_db(pa);
	remove_db(pb);
}
#endif

static int
group_setup(void **state)
{
	log_init("test_db", LOG_NO_BLACKBOX, LOG_WARNING);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hasvc-test-db.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	return rmdir(tmpdir); /* fails, and so does the run, if a test left a file */
}

/* ---- SNMP receivers and the notified marker (schema 3) ---- */

#define UUID_R1 "44444444-4444-4444-8444-444444444444"
#define UUID_R2 "55555555-5555-4555-8555-555555555555"

static void
make_receiver(struct db_snmp_receiver *r, const char *uuid, const char *addr, const char *ver)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->uuid, sizeof(r->uuid), "%s", uuid);
	snprintf(r->address, sizeof(r->address), "%s", addr);
	r->port = 162;
	snprintf(r->version, sizeof(r->version), "%s", ver);
	if (strcmp(ver, "3") == 0) {
		snprintf(r->user, sizeof(r->user), "u");
		snprintf(r->auth_key, sizeof(r->auth_key), "authsecret");
		snprintf(r->priv_key, sizeof(r->priv_key), "privsecret");
	} else {
		snprintf(r->community, sizeof(r->community), "public");
	}
}

static void
test_snmp_notified(void **state)
{
	struct db_snmp_receiver r1, r2, *v = NULL;
	struct db_message m1, m2, *mv = NULL;
	struct stat sb;
	struct hook_rec rr;
	size_t n;
	char *path, *wal;
	struct db *db = open_new(&path);

	/* Secrets live here: the file and its WAL are owner-only. */
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 077, 0);
	wal = xasprintf("%s-wal", path);
	if (stat(wal, &sb) == 0)
		assert_int_equal(sb.st_mode & 077, 0);
	xfree(wal);

	memset(&rr, 0, sizeof(rr));
	db_set_change_hook(db, rec_hook, &rr);
	make_receiver(&r1, UUID_R1, "192.0.2.9", "2c");
	make_receiver(&r2, UUID_R2, "192.0.2.8", "3");
	r2.inform = 1;
	assert_int_equal(db_snmp_receiver_put(db, &r1), 0);
	assert_int_equal(db_snmp_receiver_put(db, &r2), 0);
	assert_int_equal(rr.n, 0); /* not reported to the hook */
	assert_int_equal(db_snmp_receiver_list(db, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].uuid, UUID_R2); /* by address */
	assert_string_equal(v[0].version, "3");
	assert_int_equal(v[0].inform, 1);
	assert_string_equal(v[0].priv_key, "privsecret");
	assert_string_equal(v[1].community, "public");
	db_snmp_receiver_list_free(v, n);
	r1.port = 70000; /* CHECK */
	assert_int_equal(db_snmp_receiver_put(db, &r1), -1);
	r1.port = 162;
	snprintf(r1.version, sizeof(r1.version), "1");
	assert_int_equal(db_snmp_receiver_put(db, &r1), -1);
	assert_int_equal(db_snmp_receiver_delete(db, UUID_R1), 0);
	assert_int_equal(db_snmp_receiver_delete(db, UUID_R1), 1);
	assert_int_equal(db_snmp_receiver_list(db, &v, &n), 0);
	assert_int_equal(n, 1);
	db_snmp_receiver_list_free(v, n);

	/* Markers: unnotified lists what has none, oldest first. */
	memset(&m1, 0, sizeof(m1));
	snprintf(m1.name, sizeof(m1.name), "HA_HOST_FAILED");
	m1.priority = 3;
	m1.timestamp = 200;
	m2 = m1;
	m2.timestamp = 100;
	assert_int_equal(db_message_add(db, &m1), 0);
	assert_int_equal(db_message_add(db, &m2), 0);
	assert_int_equal(db_message_unnotified(db, &mv, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(mv[0].uuid, m2.uuid);
	xfree(mv);
	assert_int_equal(db_message_notified(db, m2.uuid), 0);
	rr.n = 0;
	assert_int_equal(db_message_mark_notified(db, m2.uuid, UUID_H1, 5), 0);
	assert_int_equal(db_message_mark_notified(db, m2.uuid, UUID_H1, 6), 0); /* no-op */
	assert_int_equal(rr.n, 0);
	assert_int_equal(db_message_notified(db, m2.uuid), 1);
	assert_int_equal(db_message_unnotified(db, &mv, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(mv[0].uuid, m1.uuid);
	xfree(mv);
	assert_int_equal(db_message_mark_notified(db, "nope", UUID_H1, 5), -1);
	/* Deleting a message deletes its marker. */
	assert_int_equal(db_message_delete(db, m2.uuid), 0);
	assert_int_equal(db_message_notified(db, m2.uuid), 0);
	assert_int_equal(db_message_delete(db, m2.uuid), 1);
	db_close(db);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM message_notified"), 0);
	remove_db(path);
}

/* Both tables replicate: a capture of receiver and marker writes applied on
** a copy gives the same dump. */
static void
test_snmp_replicated(void **state)
{
	struct db_snmp_receiver r1;
	struct db_message m;
	char *pa, *pb;
	struct db *a = open_new(&pa), *b;
	void *blob = NULL;
	size_t len = 0;

	b = clone_db(a, &pb);
	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "HA_HOST_FAILED");
	m.priority = 3;
	assert_int_equal(db_capture_begin(a), 0);
	make_receiver(&r1, UUID_R1, "192.0.2.9", "3");
	assert_int_equal(db_snmp_receiver_put(a, &r1), 0);
	assert_int_equal(db_message_add(a, &m), 0);
	assert_int_equal(db_message_mark_notified(a, m.uuid, UUID_H1, 7), 0);
	assert_int_equal(db_capture_end(a, &blob, &len), 0);
	assert_int_equal(db_apply_change(a, 1, 1, blob, len), 0);
	assert_int_equal(db_apply_change(b, 1, 1, blob, len), 0);
	xfree(blob);
	assert_dump_equal(a, b);
	assert_int_equal(db_message_notified(b, m.uuid), 1);
	db_close(a);
	db_close(b);
	remove_db(pa);
	remove_db(pb);
}

/* ---- VM intents (schema 4) ---- */

static void
make_intent(struct db_vm_intent *in, const char *vm, enum db_intent_op op,
            enum db_intent_state state, const char *host)
{
	db_intent_init(in);
	snprintf(in->vm, sizeof(in->vm), "%s", vm);
	in->op = op;
	in->state = state;
	snprintf(in->host, sizeof(in->host), "%s", host);
}

static void
test_intent_roundtrip(void **state)
{
	char *path;
	struct db *db = open_new(&path);
	struct db_host h1, h2;
	struct db_vm v1, v2;
	struct db_vm_intent in, got, *v = NULL;
	struct hook_rec rr;
	size_t n;

	make_host(&h1, "h1");
	make_host(&h2, "h2");
	assert_int_equal(db_host_put(db, &h1), 0);
	assert_int_equal(db_host_put(db, &h2), 0);
	make_vm(&v1, "v1");
	make_vm(&v2, "v2");
	assert_int_equal(db_vm_put(db, &v1), 0);
	assert_int_equal(db_vm_put(db, &v2), 0);
	memset(&rr, 0, sizeof(rr));
	db_set_change_hook(db, rec_hook, &rr);

	assert_int_equal(db_intent_get(db, v1.uuid, &got), 1);
	assert_int_equal(db_intent_list(db, &v, &n), 0);
	assert_int_equal(n, 0);
	xfree(v);

	/* Every field round-trips; the hook sees an add keyed by the VM. */
	make_intent(&in, v1.uuid, DB_INTENT_START, DB_INTENT_FAILED, h1.uuid);
	in.why = DB_WHY_EVACUATE;
	snprintf(in.from, sizeof(in.from), "%s", h2.uuid);
	in.alerted = 1;
	in.attempts = 3;
	in.created = 1700000000123;
	snprintf(in.error, sizeof(in.error), "Cannot allocate memory");
	assert_int_equal(db_intent_put(db, &in), 0);
	rec_expect(&rr, 1, DB_TABLE_INTENT, DB_CHANGE_ADD, v1.uuid);
	assert_int_equal(db_intent_get(db, v1.uuid, &got), 0);
	assert_memory_equal(&got, &in, sizeof(in));
	in.state = DB_INTENT_ISSUED;
	in.error[0] = '\0';
	assert_int_equal(db_intent_put(db, &in), 0);
	rec_expect(&rr, 1, DB_TABLE_INTENT, DB_CHANGE_MOD, v1.uuid);
	make_intent(&in, v2.uuid, DB_INTENT_STOP, DB_INTENT_ISSUED, h2.uuid);
	in.why = DB_WHY_API;
	in.clean = 1;
	assert_int_equal(db_intent_put(db, &in), 0);
	rec_expect(&rr, 1, DB_TABLE_INTENT, DB_CHANGE_ADD, v2.uuid);
	assert_int_equal(db_intent_list(db, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_true(strcmp(v[0].vm, v[1].vm) < 0); /* by vm */
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].vm, v2.uuid) == 0) {
			assert_int_equal(v[i].op, DB_INTENT_STOP);
			assert_int_equal(v[i].why, DB_WHY_API);
			assert_int_equal(v[i].clean, 1);
			assert_string_equal(v[i].host, h2.uuid);
		} else {
			assert_int_equal(v[i].state, DB_INTENT_ISSUED);
			assert_int_equal(v[i].attempts, 3);
		}
	}
	xfree(v);

	/* Bad values are refused and write nothing. */
	make_intent(&in, v1.uuid, (enum db_intent_op)0, DB_INTENT_QUEUED, "");
	assert_int_equal(db_intent_put(db, &in), -1);
	in.op = (enum db_intent_op)3;
	assert_int_equal(db_intent_put(db, &in), -1);
	make_intent(&in, v1.uuid, DB_INTENT_START, (enum db_intent_state)7, "");
	assert_int_equal(db_intent_put(db, &in), -1);
	make_intent(&in, v1.uuid, DB_INTENT_START, DB_INTENT_QUEUED, "");
	in.why = (enum db_intent_why)9;
	assert_int_equal(db_intent_put(db, &in), -1);
	make_intent(&in, v1.uuid, DB_INTENT_START, DB_INTENT_ISSUED, ""); /* ISSUED to nobody */
	assert_int_equal(db_intent_put(db, &in), -1);
	make_intent(&in, v1.uuid, DB_INTENT_START, DB_INTENT_ISSUED, "not-a-uuid");
	assert_int_equal(db_intent_put(db, &in), -1);
	make_intent(&in, v1.uuid, DB_INTENT_START, DB_INTENT_QUEUED, "");
	in.attempts = -1;
	assert_int_equal(db_intent_put(db, &in), -1);
	make_intent(&in, UUID_VM1, DB_INTENT_START, DB_INTENT_QUEUED, ""); /* no such VM */
	assert_int_equal(db_intent_put(db, &in), -1);
	make_intent(&in, "nope", DB_INTENT_START, DB_INTENT_QUEUED, "");
	assert_int_equal(db_intent_put(db, &in), -1);
	assert_int_equal(rr.n, 0);
	assert_int_equal(db_intent_get(db, v1.uuid, &got), 0);
	assert_int_equal(got.state, DB_INTENT_ISSUED);

	/* Delete; deleting a VM deletes its intent, reported as such. */
	assert_int_equal(db_intent_delete(db, v1.uuid), 0);
	rec_expect(&rr, 1, DB_TABLE_INTENT, DB_CHANGE_DEL, v1.uuid);
	assert_int_equal(db_intent_delete(db, v1.uuid), 1);
	assert_int_equal(rr.n, 0);
	assert_int_equal(db_vm_delete(db, v2.uuid), 0);
	rec_expect(&rr, 2, DB_TABLE_INTENT, DB_CHANGE_DEL, v2.uuid, DB_TABLE_VM, DB_CHANGE_DEL,
	           v2.uuid);
	assert_int_equal(db_intent_get(db, v2.uuid, &got), 1);
	/* Inside a transaction: added and deleted is nothing; a rollback too. */
	assert_int_equal(db_begin(db), 0);
	make_intent(&in, v1.uuid, DB_INTENT_START, DB_INTENT_QUEUED, "");
	assert_int_equal(db_intent_put(db, &in), 0);
	assert_int_equal(db_intent_delete(db, v1.uuid), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(rr.n, 0);
	db_close(db);

	/* The CHECKs hold against SQL written by hand. */
	{
		sqlite3 *raw;
		char *q;
		static const char *const bad[] = {"op = 'restart'", "state = 'done'",
		                                  "why = 'because'", "clean = 2", "alerted = -1",
		                                  "state = 'issued', host = ''"};

		assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
		q = xasprintf("INSERT INTO vm_intent (vm, op, state, why) VALUES ('%s', 'start',"
		              " 'queued', 'failover')",
		              v1.uuid);
		assert_int_equal(sqlite3_exec(raw, q, NULL, NULL, NULL), SQLITE_OK);
		xfree(q);
		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			q = xasprintf("UPDATE vm_intent SET %s", bad[i]);
			if (sqlite3_exec(raw, q, NULL, NULL, NULL) == SQLITE_OK)
				fail_msg("accepted: %s", q);
			xfree(q);
		}
		sqlite3_close(raw);
	}
	db_host_clear(&h1);
	db_host_clear(&h2);
	db_vm_clear(&v1);
	db_vm_clear(&v2);
	remove_db(path);
}

/* A schema 3 database (today's minus vm_intent and the incarnations)
** migrates to 5 with its data; a schema 4 one (today's minus the
** incarnations) too, its intents kept with incarnation 0. */
static void
migrate_from(int version)
{
	char err[512], *path;
	struct db *db = open_new(&path);
	struct db_host h, goth;
	struct db_vm v, got;
	struct db_vm_intent in;

	make_host(&h, "h1");
	assert_int_equal(db_host_put(db, &h), 0);
	make_vm(&v, "v1");
	snprintf(v.resident_on, sizeof(v.resident_on), "%s", h.uuid);
	v.power_state = DB_POWER_RUNNING;
	assert_int_equal(db_vm_put(db, &v), 0);
	make_intent(&in, v.uuid, DB_INTENT_START, DB_INTENT_QUEUED, "");
	assert_int_equal(db_intent_put(db, &in), 0);
	db_close(db);
	sql(path, "DROP INDEX vm_intent_host; ALTER TABLE vm_intent DROP COLUMN incarnation;"
	          "CREATE INDEX vm_intent_host ON vm_intent(host);"
	          "ALTER TABLE host DROP COLUMN incarnation;");
	if (version == 3)
		sql(path, "DROP TABLE vm_intent; PRAGMA user_version = 3;");
	else
		sql(path, "PRAGMA user_version = 4;");
	assert_int_equal(sql_int(path, "SELECT count(*) FROM pragma_table_info('host') "
	                               "WHERE name = 'incarnation'"),
	                 0);

	db = db_open(path, 0, err, sizeof(err));
	if (db == NULL)
		fail_msg("%s", err);
	assert_int_equal(db_vm_get(db, v.uuid, &got), 0);
	assert_string_equal(got.resident_on, h.uuid);
	assert_int_equal(got.power_state, DB_POWER_RUNNING);
	db_vm_clear(&got);
	assert_int_equal(db_host_get(db, h.uuid, &goth), 0);
	assert_int_equal(goth.incarnation, 0);
	db_host_clear(&goth);
	if (version == 4) {
		assert_int_equal(db_intent_get(db, v.uuid, &in), 0);
		assert_int_equal(in.incarnation, 0);
	}
	make_intent(&in, v.uuid, DB_INTENT_STOP, DB_INTENT_ISSUED, h.uuid);
	assert_int_equal(db_intent_put(db, &in), 0);
	db_close(db);
	assert_int_equal(sql_int(path, "PRAGMA user_version"), 5);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM vm_intent"), 1);
	db_host_clear(&h);
	db_vm_clear(&v);
	remove_db(path);
}

static void
test_migrate_from_v3(void **state)
{
	migrate_from(3);
}

static void
test_migrate_from_v4(void **state)
{
	migrate_from(4);
}

/* A host's incarnation is written only by db_host_set_incarnation: a put of
** the host record (an API edit read before) leaves it; an intent keeps its
** own. */
static void
test_incarnation(void **state)
{
	char *path;
	struct db *db = open_new(&path);
	struct db_host h, got;
	struct db_vm v;
	struct db_vm_intent in, gin;

	make_host(&h, "h1");
	assert_int_equal(db_host_put(db, &h), 0);
	assert_int_equal(db_host_set_incarnation(db, h.uuid, 42), 0);
	assert_int_equal(db_host_get(db, h.uuid, &got), 0);
	assert_int_equal(got.incarnation, 42);
	db_host_clear(&got);
	h.incarnation = 7; /* ignored by a put */
	snprintf(h.name_label, sizeof(h.name_label), "renamed");
	assert_int_equal(db_host_put(db, &h), 0);
	assert_int_equal(db_host_get(db, h.uuid, &got), 0);
	assert_int_equal(got.incarnation, 42);
	assert_string_equal(got.name_label, "renamed");
	db_host_clear(&got);
	assert_int_equal(db_host_set_incarnation(db, h.uuid, -1), -1);
	assert_int_equal(db_host_set_incarnation(db, "00000000-0000-4000-8000-0000000000ff", 3), 1);

	make_vm(&v, "v1");
	assert_int_equal(db_vm_put(db, &v), 0);
	make_intent(&in, v.uuid, DB_INTENT_START, DB_INTENT_ISSUED, h.uuid);
	in.incarnation = 42;
	assert_int_equal(db_intent_put(db, &in), 0);
	assert_int_equal(db_intent_get(db, v.uuid, &gin), 0);
	assert_int_equal(gin.incarnation, 42);
	db_close(db);
	db_host_clear(&h);
	db_vm_clear(&v);
	remove_db(path);
}

/* Intents replicate: a capture applied on a copy, the VM's delete cascading
** through the changeset, the hook reporting as the direct writes did;
** snapshots carry them; the dump covers them. */
static void
test_intent_replicated(void **state)
{
	char *pa, *pb, *pc;
	struct db *a = open_new(&pa), *b, *c;
	struct hook_rec ra = {0}, rb = {0};
	struct fixture f;
	struct db_vm_intent in, got;
	struct buf before;
	void *blob = NULL;
	size_t len = 0;

	populate(a, &f);
	b = clone_db(a, &pb);
	before = dump(a);
	db_set_change_hook(a, rec_hook, &ra);
	db_set_change_hook(b, rec_hook, &rb);

	/* An intent added: b gets it, both hooks agree. */
	assert_int_equal(db_capture_begin(a), 0);
	make_intent(&in, f.v1.uuid, DB_INTENT_START, DB_INTENT_ISSUED, f.h2.uuid);
	in.created = 42;
	assert_int_equal(db_intent_put(a, &in), 0);
	assert_int_equal(db_capture_end(a, &blob, &len), 0);
	assert_non_null(blob);
	assert_int_equal(ra.n, 0);
	assert_dump_is(a, &before); /* a capture changes nothing by itself */
	assert_int_equal(db_apply_change(a, 1, 1, blob, len), 0);
	assert_int_equal(db_apply_change(b, 1, 1, blob, len), 0);
	xfree(blob);
	assert_dump_equal(a, b);
	rec_expect(&rb, 1, DB_TABLE_INTENT, DB_CHANGE_ADD, f.v1.uuid);
	rec_expect(&ra, 1, DB_TABLE_INTENT, DB_CHANGE_ADD, f.v1.uuid);
	assert_int_equal(db_intent_get(b, f.v1.uuid, &got), 0);
	assert_string_equal(got.host, f.h2.uuid);
	assert_int_equal(got.created, 42);
	xfree(before.p);
	before = dump(a);

	/* A snapshot carries it; c keeps the VM for the last check below. */
	c = clone_db(a, &pc);
	assert_int_equal(db_intent_get(c, f.v1.uuid, &got), 0);

	/* The VM deleted: the cascade is in the changeset (applied with foreign
	** keys off), both hooks report the intent's delete. */
	assert_int_equal(db_capture_begin(a), 0);
	assert_int_equal(db_vm_delete(a, f.v1.uuid), 0);
	assert_int_equal(db_capture_end(a, &blob, &len), 0);
	assert_int_equal(db_apply_change(b, 1, 2, blob, len), 0);
	assert_int_equal(db_intent_get(b, f.v1.uuid, &got), 1);
	assert_int_equal(db_apply_change(a, 1, 2, blob, len), 0);
	xfree(blob);
	assert_dump_equal(a, b);
	assert_same_changes(&ra, &rb);

	rec_expect(&rb, 0);

	/* An intent naming a VM that does not exist is refused whole by a
	** strict apply: one captured on c, which still has the VM. */
	assert_int_equal(db_intent_delete(c, f.v1.uuid), 0);
	assert_int_equal(db_capture_begin(c), 0);
	assert_int_equal(db_intent_put(c, &in), 0);
	assert_int_equal(db_capture_end(c, &blob, &len), 0);
	xfree(before.p);
	before = dump(b);
	assert_int_equal(db_apply_change(b, 1, 3, blob, len), -1);
	assert_non_null(strstr(db_errmsg(b), "intent"));
	assert_dump_is(b, &before);
	assert_int_equal(rb.n, 0);
	xfree(blob);
	db_close(c);
	remove_db(pc);
	xfree(before.p);
	db_close(a);
	db_close(b);
	fixture_clear(&f);
	remove_db(pa);
	remove_db(pb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_enum_names),      cmocka_unit_test(test_map_ops),
	    cmocka_unit_test(test_pool_roundtrip),  cmocka_unit_test(test_host_roundtrip),
	    cmocka_unit_test(test_vm_roundtrip),    cmocka_unit_test(test_messages_fences_users),
	    cmocka_unit_test(test_transactions),    cmocka_unit_test(test_pragmas),
	    cmocka_unit_test(test_readonly_open),   cmocka_unit_test(test_refuse_random_bytes),
	    cmocka_unit_test(test_refuse_foreign),  cmocka_unit_test(test_refuse_newer),
	    cmocka_unit_test(test_refuse_damaged),  cmocka_unit_test(test_open_errors),
	    cmocka_unit_test(test_migrate_from_v0), cmocka_unit_test(test_hook_accessors),
	    cmocka_unit_test(test_hook_transactions), cmocka_unit_test(test_hook_cascades),
	    cmocka_unit_test(test_hook_none),
	    cmocka_unit_test(test_migrate_from_v1), cmocka_unit_test(test_capture_apply),
	    cmocka_unit_test(test_capture_cascades), cmocka_unit_test(test_apply_strict),
	    cmocka_unit_test(test_position_durable), cmocka_unit_test(test_proposal),
	    cmocka_unit_test(test_proposal_intent_strict),
	    cmocka_unit_test(test_snapshot_restore), cmocka_unit_test(test_dump_canonical),
#ifdef HASVC_FAULTS
	    cmocka_unit_test(test_faults),          cmocka_unit_test(test_hook_faults),
	    cmocka_unit_test(test_apply_faults),
#endif
	    cmocka_unit_test(test_snmp_notified), cmocka_unit_test(test_snmp_replicated),
	    cmocka_unit_test(test_intent_roundtrip), cmocka_unit_test(test_migrate_from_v3),
	    cmocka_unit_test(test_migrate_from_v4), cmocka_unit_test(test_incarnation),
	    cmocka_unit_test(test_intent_replicated),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
