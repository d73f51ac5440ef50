/*
** hasvc-db: the offline pool-database tool.  It seeds and inspects a pool
** database before hasvcd runs (tests, the demo), with xe-style arguments:
**
**     hasvc-db -d FILE COMMAND [key=value ...]
**
** Exit status: 0 success; 1 the database was refused or a database call
** failed (the message names the file); 2 a bad command line (the message
** names the offending key or value).  A command with a bad argument writes
** nothing.
**
** Listings print one record per block, one "field: value" line per field, a
** blank line between records.  Empty strings and null references print as
** "-", so every line has exactly two whitespace-separated words unless the
** value itself contains spaces; maps print as "k1=v1; k2=v2".
**
** The settable fields of each record are rows of a table (key, kind, where
** in the struct); the same table drives parsing and printing.
**
** Clustering (schema v2): `init` gives the pool a corosync authkey
** (DB_CLUSTER_KEY_LEN bytes from OpenSSL's RAND_bytes, stored as hex) unless
** told cluster-key=none; hosts take nodeid=N (the corosync nodeid, unique
** among hosts, 0 = not a member) and address2=ADDR (a second knet link).
** The key is never printed: pool-show says only whether one is set, and
** `corosync-key FILE` writes it, binary, mode 0600, for tools that want it.
*/
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "api/cliargs.h"
#include "hasvc/db.h"
#include "heartbeat/corosync_conf.h"
#include "lib/check.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define EXIT_DB    1
#define EXIT_USAGE 2

enum kind {
	K_STR,   /* char array */
	K_INT,   /* int64_t, >= min */
	K_SIZE,  /* int64_t bytes, KiB/MiB/GiB/TiB suffixes accepted */
	K_BOOL,  /* int */
	K_HOST,  /* char[HA_UUID_LEN] naming a host in the database, or "" */
	K_POWER, /* enum db_power_state */
	K_PRIO,  /* enum db_restart_priority */
	K_MAP,   /* struct db_map, set as KEY:MAPKEY=VALUE ("" removes) */
	K_U32,   /* uint32_t, >= min */
};

struct field {
	const char *key;
	enum kind kind;
	size_t off;
	size_t size;
	int64_t min;
	int hidden; /* an alias: accepted, not printed */
};

#define FLD(type, key, kind, member, min, hidden)                                                  \
	{                                                                                          \
		key, kind, offsetof(type, member), sizeof(((type *)0)->member), min, hidden        \
	}

static const struct field pool_fields[] = {
    FLD(struct db_pool, "name-label", K_STR, name_label, 0, 0),
    FLD(struct db_pool, "name-description", K_STR, name_description, 0, 0),
    FLD(struct db_pool, "master", K_HOST, master, 0, 0),
    FLD(struct db_pool, "ha-enabled", K_BOOL, ha_enabled, 0, 0),
    FLD(struct db_pool, "ha-host-failures-to-tolerate", K_INT, ha_host_failures_to_tolerate, 0, 0),
    FLD(struct db_pool, "ha-plan-exists-for", K_INT, ha_plan_exists_for, 0, 0),
    FLD(struct db_pool, "ha-allow-overcommit", K_BOOL, ha_allow_overcommit, 0, 0),
    FLD(struct db_pool, "ha-overcommitted", K_BOOL, ha_overcommitted, 0, 0),
    FLD(struct db_pool, "ha-reboot-vm-on-internal-shutdown", K_BOOL,
        ha_reboot_vm_on_internal_shutdown, 0, 0),
    FLD(struct db_pool, "ha-cluster-stack", K_STR, ha_cluster_stack, 0, 0),
    FLD(struct db_pool, "ha-configuration", K_MAP, ha_configuration, 0, 0),
    FLD(struct db_pool, "other-config", K_MAP, other_config, 0, 0),
};

static const struct field host_fields[] = {
    FLD(struct db_host, "name-label", K_STR, name_label, 0, 0),
    FLD(struct db_host, "hostname", K_STR, hostname, 0, 0),
    FLD(struct db_host, "address", K_STR, address, 0, 0),
    FLD(struct db_host, "enabled", K_BOOL, enabled, 0, 0),
    FLD(struct db_host, "memory-total", K_SIZE, memory_total, 0, 0),
    FLD(struct db_host, "memory-overhead", K_SIZE, memory_overhead, 0, 0),
    FLD(struct db_host, "live", K_BOOL, live, 0, 0),
    FLD(struct db_host, "memory-free", K_SIZE, memory_free, 0, 0),
    FLD(struct db_host, "last-updated", K_INT, last_updated, INT64_MIN, 0),
    FLD(struct db_host, "other-config", K_MAP, other_config, 0, 0),
    FLD(struct db_host, "nodeid", K_U32, cluster_nodeid, 0, 0),
    FLD(struct db_host, "address2", K_STR, address2, 0, 0),
};

/* The demo and tests grep name-label, ha-restart-priority, order and
** power-state in this order: keep it. */
static const struct field vm_fields[] = {
    FLD(struct db_vm, "name-label", K_STR, name_label, 0, 0),
    FLD(struct db_vm, "ha-restart-priority", K_PRIO, ha_restart_priority, 0, 0),
    FLD(struct db_vm, "ha-always-run", K_BOOL, ha_always_run, 0, 0),
    FLD(struct db_vm, "order", K_INT, order, 0, 0),
    FLD(struct db_vm, "start-delay", K_INT, start_delay, 0, 0),
    FLD(struct db_vm, "power-state", K_POWER, power_state, 0, 0),
    FLD(struct db_vm, "resident-on", K_HOST, resident_on, 0, 0),
    FLD(struct db_vm, "affinity", K_HOST, affinity, 0, 0),
    FLD(struct db_vm, "memory-static-max", K_SIZE, memory_static_max, 0, 0),
    FLD(struct db_vm, "memory-overhead", K_SIZE, memory_overhead, 0, 0),
    FLD(struct db_vm, "VCPUs-max", K_INT, VCPUs_max, 0, 0),
    FLD(struct db_vm, "vcpus", K_INT, VCPUs_max, 0, 1),
    FLD(struct db_vm, "is-control-domain", K_BOOL, is_control_domain, 0, 0),
    FLD(struct db_vm, "hv-config", K_STR, hv_config, 0, 0),
    FLD(struct db_vm, "other-config", K_MAP, other_config, 0, 0),
};

static const char *dbpath;

static int usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "hasvc-db: <message>" and return EXIT_USAGE. */
static int
usage_err(const char *fmt, ...)
{
	va_list ap;

	fputs("hasvc-db: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

static int
db_err(struct db *db)
{
	fprintf(stderr, "hasvc-db: %s\n", db_errmsg(db));
	return EXIT_DB;
}

static struct db *
open_db(int flags, int *rc)
{
	char err[512];
	struct db *db = db_open(dbpath, flags, err, sizeof(err));

	if (db == NULL) {
		fprintf(stderr, "hasvc-db: %s\n", err);
		*rc = EXIT_DB;
	}
	return db;
}

static int
parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno == ERANGE)
		return -1;
	*out = v;
	return 0;
}

static const struct field *
find_field(const struct field *fields, size_t n, const char *key, const char **mapkey)
{
	const char *colon = strchr(key, ':');
	size_t i, len = colon != NULL ? (size_t)(colon - key) : strlen(key);

	for (i = 0; i < n; i++) {
		if (strlen(fields[i].key) != len || strncmp(fields[i].key, key, len) != 0)
			continue;
		if ((fields[i].kind == K_MAP) != (colon != NULL))
			return NULL;
		if (colon != NULL && colon[1] == '\0')
			return NULL;
		*mapkey = colon != NULL ? colon + 1 : NULL;
		return &fields[i];
	}
	return NULL;
}

/* Set key=value in the record `rec` described by `fields`.  0, or
** EXIT_USAGE with the reason printed. */
static int
set_field(struct db *db, const struct field *fields, size_t n, void *rec, const char *key,
          const char *value)
{
	const char *mapkey;
	const struct field *f = find_field(fields, n, key, &mapkey);
	char *p = (char *)rec;
	int64_t v;
	int b, e;

	if (f == NULL)
		return usage_err("%s: unknown parameter", key);
	p += f->off;
	switch (f->kind) {
	case K_STR:
		if (strlen(value) >= f->size)
			return usage_err("%s: longer than %zu characters", key, f->size - 1);
		memcpy(p, value, strlen(value) + 1);
		return 0;
	case K_INT:
		if (parse_int(value, &v) < 0)
			return usage_err("%s=%s: not an integer", key, value);
		if (v < f->min)
			return usage_err("%s=%s: must be >= %" PRId64, key, value, f->min);
		memcpy(p, &v, sizeof(v));
		return 0;
	case K_U32: {
		uint32_t u;

		if (parse_int(value, &v) < 0)
			return usage_err("%s=%s: not an integer", key, value);
		if (v < f->min || v > UINT32_MAX)
			return usage_err("%s=%s: must be between %" PRId64 " and %" PRIu32, key,
			                 value, f->min, UINT32_MAX);
		u = (uint32_t)v;
		memcpy(p, &u, sizeof(u));
		return 0;
	}
	case K_SIZE:
		if (cliargs_parse_size(value, &v) < 0)
			return usage_err("%s=%s: not a size (bytes, or with KiB/MiB/GiB/TiB)", key,
			                 value);
		memcpy(p, &v, sizeof(v));
		return 0;
	case K_BOOL:
		if (cliargs_parse_bool(value, &b) < 0)
			return usage_err("%s=%s: not true or false", key, value);
		memcpy(p, &b, sizeof(b));
		return 0;
	case K_HOST:
		if (value[0] != '\0' && strcmp(value, HA_REF_NULL) != 0) {
			struct db_host h;
			int r;

			if (!id_uuid_valid(value))
				return usage_err("%s=%s: not a uuid", key, value);
			r = db_host_get(db, value, &h);
			db_host_clear(&h);
			if (r < 0)
				return db_err(db);
			if (r > 0)
				return usage_err("%s=%s: unknown host uuid", key, value);
			memcpy(p, value, HA_UUID_LEN);
		} else {
			p[0] = '\0';
		}
		return 0;
	case K_POWER:
		e = db_power_state_from_name(value);
		if (e < 0)
			return usage_err("%s=%s: not one of Halted, Paused, Running, Suspended",
			                 key, value);
		memcpy(p, &(enum db_power_state){(enum db_power_state)e},
		       sizeof(enum db_power_state));
		return 0;
	case K_PRIO:
		e = db_restart_priority_from_name(value);
		if (e < 0)
			return usage_err("%s=%s: not one of restart, best-effort or empty", key,
			                 value);
		memcpy(p, &(enum db_restart_priority){(enum db_restart_priority)e},
		       sizeof(enum db_restart_priority));
		return 0;
	case K_MAP:
		if (value[0] == '\0')
			db_map_remove((struct db_map *)(void *)p, mapkey);
		else
			db_map_set((struct db_map *)(void *)p, mapkey, value);
		return 0;
	}
	return usage_err("%s: unknown parameter", key);
}

/* Apply every argument except those in `skip` (NULL-terminated). */
static int
set_fields(struct db *db, struct cliargs *args, const struct field *fields, size_t n, void *rec,
           const char *const *skip)
{
	size_t i, j;
	int rc;

	for (i = 0; i < args->n; i++) {
		const struct cliarg *a = &args->v[i];

		if (a->value == NULL)
			return usage_err("--%s: unknown flag", a->key);
		for (j = 0; skip[j] != NULL; j++)
			if (strcmp(skip[j], a->key) == 0)
				break;
		if (skip[j] != NULL)
			continue;
		rc = set_field(db, fields, n, rec, a->key, a->value);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static void
print_value(const char *s)
{
	printf("%s\n", s[0] != '\0' ? s : "-");
}

static void
print_fields(const struct field *fields, size_t n, const void *rec)
{
	const char *p;
	size_t i, j;
	int64_t v;
	int b;

	for (i = 0; i < n; i++) {
		const struct field *f = &fields[i];

		if (f->hidden)
			continue;
		p = (const char *)rec + f->off;
		printf("%s: ", f->key);
		switch (f->kind) {
		case K_STR:
		case K_HOST:
			print_value(p);
			break;
		case K_INT:
		case K_SIZE:
			memcpy(&v, p, sizeof(v));
			printf("%" PRId64 "\n", v);
			break;
		case K_BOOL:
			memcpy(&b, p, sizeof(b));
			printf("%s\n", b ? "true" : "false");
			break;
		case K_U32: {
			uint32_t u;

			memcpy(&u, p, sizeof(u));
			printf("%" PRIu32 "\n", u);
			break;
		}
		case K_POWER: {
			enum db_power_state e;

			memcpy(&e, p, sizeof(e));
			print_value(db_power_state_name(e));
			break;
		}
		case K_PRIO: {
			enum db_restart_priority e;

			memcpy(&e, p, sizeof(e));
			print_value(db_restart_priority_name(e));
			break;
		}
		case K_MAP: {
			const struct db_map *m = (const struct db_map *)(const void *)p;

			for (j = 0; j < m->n; j++)
				printf("%s%s=%s", j > 0 ? "; " : "", m->kv[j].key, m->kv[j].value);
			printf("%s\n", m->n == 0 ? "-" : "");
			break;
		}
		}
	}
}

/* A uuid= argument for a new record: a fresh one if absent. */
static int
new_uuid(struct cliargs *args, char out[HA_UUID_LEN])
{
	const char *u = cliargs_get(args, "uuid");

	if (u == NULL) {
		id_uuid_new(out);
		return 0;
	}
	if (!id_uuid_valid(u))
		return usage_err("uuid=%s: not a uuid", u);
	snprintf(out, HA_UUID_LEN, "%s", u);
	return 0;
}

static int
require(struct cliargs *args, const char *const *keys)
{
	size_t i;

	for (i = 0; keys[i] != NULL; i++)
		if (cliargs_get(args, keys[i]) == NULL)
			return usage_err("%s: %s= is required", args->command, keys[i]);
	return 0;
}

/* Fill `hex` with DB_CLUSTER_KEY_LEN random bytes as lowercase hex. */
static int
new_cluster_key(char hex[2 * DB_CLUSTER_KEY_LEN + 1])
{
	unsigned char key[DB_CLUSTER_KEY_LEN];
	size_t i;

	if (RAND_bytes(key, sizeof(key)) != 1) {
		fprintf(stderr, "hasvc-db: cannot generate a cluster key: RAND_bytes failed\n");
		return EXIT_DB;
	}
	for (i = 0; i < sizeof(key); i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	OPENSSL_cleanse(key, sizeof(key));
	return 0;
}

static int
cmd_init(struct cliargs *args)
{
	static const char *const skip[] = {"uuid", "cluster-key", NULL};
	struct db_pool pool;
	struct db *db = NULL;
	const char *ck;
	int rc, r;

	db_pool_init(&pool);
	rc = new_uuid(args, pool.uuid);
	if (rc == 0)
		rc = set_fields(NULL, args, pool_fields, 2, &pool,
		                skip); /* name-label/-description */
	if (rc != 0)
		goto out;
	ck = cliargs_get(args, "cluster-key");
	if (ck != NULL && strcmp(ck, "none") != 0) {
		rc = usage_err("cluster-key=%s: only cluster-key=none is accepted", ck);
		goto out;
	}
	if (ck == NULL && (rc = new_cluster_key(pool.cluster_key)) != 0)
		goto out;
	db = open_db(DB_OPEN_CREATE, &rc);
	if (db == NULL)
		goto out;
	{
		struct db_pool old;

		r = db_pool_get(db, &old);
		if (r == 0)
			fprintf(stderr, "hasvc-db: %s already holds pool %s\n", dbpath, old.uuid);
		db_pool_clear(&old);
	}
	if (r < 0)
		rc = db_err(db);
	else if (r == 0)
		rc = EXIT_DB;
	else if (db_pool_put(db, &pool) < 0)
		rc = db_err(db);
	else
		printf("%s\n", pool.uuid);
out:
	db_pool_clear(&pool);
	db_close(db);
	return rc;
}

/* EXIT_USAGE if another host already has `host`'s nonzero nodeid (the
** schema refuses it too, with a less helpful message). */
static int
nodeid_unique(struct db *db, const struct db_host *host)
{
	struct db_host *hosts;
	size_t i, n;
	int rc = 0;

	if (host->cluster_nodeid == 0)
		return 0;
	if (db_host_list(db, &hosts, &n) < 0)
		return db_err(db);
	for (i = 0; i < n && rc == 0; i++)
		if (hosts[i].cluster_nodeid == host->cluster_nodeid &&
		    strcmp(hosts[i].uuid, host->uuid) != 0)
			rc = usage_err("nodeid=%" PRIu32 ": host %s already has this nodeid",
			               host->cluster_nodeid, hosts[i].uuid);
	db_host_list_free(hosts, n);
	return rc;
}

static int
cmd_host_add(struct cliargs *args)
{
	static const char *const skip[] = {"uuid", NULL};
	static const char *const required[] = {"name-label", "address", "memory-total", NULL};
	struct db_host host, old;
	struct db *db;
	int rc = 0, r;

	db_host_init(&host);
	if ((rc = new_uuid(args, host.uuid)) != 0 || (rc = require(args, required)) != 0)
		return rc;
	db = open_db(0, &rc);
	if (db == NULL)
		return rc;
	rc = set_fields(db, args, host_fields, ARRAY_SIZE(host_fields), &host, skip);
	if (rc != 0)
		goto out;
	if (host.hostname[0] == '\0')
		memcpy(host.hostname, host.name_label, sizeof(host.hostname));
	if ((rc = nodeid_unique(db, &host)) != 0)
		goto out;
	r = db_host_get(db, host.uuid, &old);
	db_host_clear(&old);
	if (r < 0)
		rc = db_err(db);
	else if (r == 0)
		rc = usage_err("uuid=%s: a host with this uuid already exists", host.uuid);
	else if (db_host_put(db, &host) < 0)
		rc = db_err(db);
	else
		printf("%s\n", host.uuid);
out:
	db_host_clear(&host);
	db_close(db);
	return rc;
}

static int
cmd_vm_add(struct cliargs *args)
{
	static const char *const skip[] = {"uuid", NULL};
	static const char *const required[] = {"name-label", "memory-static-max", NULL};
	struct db_vm vm, old;
	struct db *db;
	int rc = 0, r;

	db_vm_init(&vm);
	if ((rc = new_uuid(args, vm.uuid)) != 0 || (rc = require(args, required)) != 0)
		return rc;
	db = open_db(0, &rc);
	if (db == NULL)
		return rc;
	rc = set_fields(db, args, vm_fields, ARRAY_SIZE(vm_fields), &vm, skip);
	if (rc != 0)
		goto out;
	r = db_vm_get(db, vm.uuid, &old);
	db_vm_clear(&old);
	if (r < 0)
		rc = db_err(db);
	else if (r == 0)
		rc = usage_err("uuid=%s: a VM with this uuid already exists", vm.uuid);
	else if (db_vm_put(db, &vm) < 0)
		rc = db_err(db);
	else
		printf("%s\n", vm.uuid);
out:
	db_vm_clear(&vm);
	db_close(db);
	return rc;
}

static int
cmd_pool_param_set(struct cliargs *args)
{
	static const char *const skip[] = {"uuid", NULL};
	struct db_pool pool;
	struct db *db;
	const char *u;
	int rc = 0, r;

	if (args->n == 0)
		return usage_err("pool-param-set: nothing to set");
	db = open_db(0, &rc);
	if (db == NULL)
		return rc;
	r = db_pool_get(db, &pool);
	if (r != 0) {
		rc = r < 0 ? db_err(db) : EXIT_DB;
		if (r > 0)
			fprintf(stderr, "hasvc-db: %s holds no pool: run init first\n", dbpath);
		goto out;
	}
	u = cliargs_get(args, "uuid");
	if (u != NULL && strcmp(u, pool.uuid) != 0) {
		rc = usage_err("uuid=%s: unknown pool uuid", u);
		goto out;
	}
	rc = set_fields(db, args, pool_fields, ARRAY_SIZE(pool_fields), &pool, skip);
	if (rc == 0 && db_pool_put(db, &pool) < 0)
		rc = db_err(db);
out:
	db_pool_clear(&pool);
	db_close(db);
	return rc;
}

/* Read the record named by uuid= with `get`. */
static int
param_set_target(struct cliargs *args, const char **uuid)
{
	*uuid = cliargs_get(args, "uuid");
	if (*uuid == NULL)
		return usage_err("%s: uuid= is required", args->command);
	if (!id_uuid_valid(*uuid))
		return usage_err("uuid=%s: not a uuid", *uuid);
	if (args->n < 2)
		return usage_err("%s: nothing to set", args->command);
	return 0;
}

static int
cmd_host_param_set(struct cliargs *args)
{
	static const char *const skip[] = {"uuid", NULL};
	struct db_host host;
	struct db *db;
	const char *uuid;
	int rc, r;

	if ((rc = param_set_target(args, &uuid)) != 0)
		return rc;
	db = open_db(0, &rc);
	if (db == NULL)
		return rc;
	r = db_host_get(db, uuid, &host);
	if (r < 0)
		rc = db_err(db);
	else if (r > 0)
		rc = usage_err("uuid=%s: unknown host uuid", uuid);
	else if ((rc = set_fields(db, args, host_fields, ARRAY_SIZE(host_fields), &host, skip)) ==
	             0 &&
	         (rc = nodeid_unique(db, &host)) == 0 && db_host_put(db, &host) < 0)
		rc = db_err(db);
	db_host_clear(&host);
	db_close(db);
	return rc;
}

static int
cmd_vm_param_set(struct cliargs *args)
{
	static const char *const skip[] = {"uuid", NULL};
	struct db_vm vm;
	struct db *db;
	const char *uuid;
	int rc, r;

	if ((rc = param_set_target(args, &uuid)) != 0)
		return rc;
	db = open_db(0, &rc);
	if (db == NULL)
		return rc;
	r = db_vm_get(db, uuid, &vm);
	if (r < 0)
		rc = db_err(db);
	else if (r > 0)
		rc = usage_err("uuid=%s: unknown VM uuid", uuid);
	else if ((rc = set_fields(db, args, vm_fields, ARRAY_SIZE(vm_fields), &vm, skip)) == 0 &&
	         db_vm_put(db, &vm) < 0)
		rc = db_err(db);
	db_vm_clear(&vm);
	db_close(db);
	return rc;
}

static int
no_args(struct cliargs *args)
{
	if (args->n > 0)
		return usage_err("%s: unknown parameter %s", args->command, args->v[0].key);
	return 0;
}

static int
cmd_pool_show(struct cliargs *args)
{
	struct db_pool pool;
	struct db *db;
	int rc, r;

	if ((rc = no_args(args)) != 0)
		return rc;
	db = open_db(0, &rc);
	if (db == NULL)
		return rc;
	r = db_pool_get(db, &pool);
	if (r < 0) {
		rc = db_err(db);
	} else if (r == 0) {
		printf("uuid: %s\n", pool.uuid);
		print_fields(pool_fields, ARRAY_SIZE(pool_fields), &pool);
		printf("cluster-key-set: %s\n", pool.cluster_key[0] != '\0' ? "true" : "false");
	}
	db_pool_clear(&pool);
	db_close(db);
	return rc;
}

static int
cmd_host_list(struct cliargs *args)
{
	struct db_host *hosts;
	struct db *db;
	size_t i, n;
	int rc;

	if ((rc = no_args(args)) != 0)
		return rc;
	db = open_db(0, &rc);
	if (db == NULL)
		return rc;
	if (db_host_list(db, &hosts, &n) < 0) {
		rc = db_err(db);
		goto out;
	}
	for (i = 0; i < n; i++) {
		printf("%suuid: %s\n", i > 0 ? "\n" : "", hosts[i].uuid);
		print_fields(host_fields, ARRAY_SIZE(host_fields), &hosts[i]);
	}
	db_host_list_free(hosts, n);
out:
	db_close(db);
	return rc;
}

static int
cmd_vm_list(struct cliargs *args)
{
	struct db_vm *vms;
	struct db *db;
	size_t i, j, n;
	int rc;

	if ((rc = no_args(args)) != 0)
		return rc;
	db = open_db(0, &rc);
	if (db == NULL)
		return rc;
	if (db_vm_list(db, &vms, &n) < 0) {
		rc = db_err(db);
		goto out;
	}
	for (i = 0; i < n; i++) {
		printf("%suuid: %s\n", i > 0 ? "\n" : "", vms[i].uuid);
		print_fields(vm_fields, ARRAY_SIZE(vm_fields), &vms[i]);
		printf("groups: ");
		for (j = 0; j < vms[i].ngroups; j++)
			printf("%s%s", j > 0 ? "; " : "", vms[i].groups[j]);
		printf("%s\n", vms[i].ngroups == 0 ? "-" : "");
	}
	db_vm_list_free(vms, n);
out:
	db_close(db);
	return rc;
}

static int
cmd_message_list(struct cliargs *args)
{
	struct db_message *m;
	struct db *db;
	size_t i, n;
	int rc;

	if ((rc = no_args(args)) != 0)
		return rc;
	db = open_db(0, &rc);
	if (db == NULL)
		return rc;
	if (db_message_list(db, INT64_MIN, &m, &n) < 0) {
		rc = db_err(db);
		goto out;
	}
	for (i = 0; i < n; i++) {
		printf("%suuid: %s\nname: %s\npriority: %" PRId64 "\nclass: ", i > 0 ? "\n" : "",
		       m[i].uuid, m[i].name, m[i].priority);
		print_value(m[i].cls);
		printf("obj-uuid: ");
		print_value(m[i].obj_uuid);
		printf("timestamp: %" PRId64 "\nbody: ", m[i].timestamp);
		print_value(m[i].body);
	}
	xfree(m);
out:
	db_close(db);
	return rc;
}

static int
cmd_fence_list(struct cliargs *args)
{
	struct db_fence_record *r;
	struct db *db;
	size_t i, n;
	int rc;

	if ((rc = no_args(args)) != 0)
		return rc;
	db = open_db(0, &rc);
	if (db == NULL)
		return rc;
	if (db_fence_list(db, NULL, &r, &n) < 0) {
		rc = db_err(db);
		goto out;
	}
	for (i = 0; i < n; i++) {
		printf("%sid: %" PRId64 "\nhost-uuid: %s\ntimestamp: %" PRId64 "\nreason: ",
		       i > 0 ? "\n" : "", r[i].id, r[i].host_uuid, r[i].timestamp);
		print_value(r[i].reason);
		printf("detail: ");
		print_value(r[i].detail);
	}
	xfree(r);
out:
	db_close(db);
	return rc;
}

/* The VM intents (schema 4; hasvc/db.h, "VM intents"), by VM. */
static int
cmd_intent_list(struct cliargs *args)
{
	static const char *const ops[] = {"?", "start", "stop"};
	static const char *const states[] = {"queued", "issued", "failed"};
	static const char *const whys[] = {"failover", "always-run", "evacuate", "api"};
	struct db_vm_intent *v;
	struct db *db;
	size_t i, n;
	int rc;

	if ((rc = no_args(args)) != 0)
		return rc;
	db = open_db(0, &rc);
	if (db == NULL)
		return rc;
	if (db_intent_list(db, &v, &n) < 0) {
		rc = db_err(db);
		goto out;
	}
	for (i = 0; i < n; i++) {
		printf("%svm-uuid: %s\nop: %s\nstate: %s\nwhy: %s\nhost: ", i > 0 ? "\n" : "",
		       v[i].vm, (size_t)v[i].op < ARRAY_SIZE(ops) ? ops[v[i].op] : "?",
		       (size_t)v[i].state < ARRAY_SIZE(states) ? states[v[i].state] : "?",
		       (size_t)v[i].why < ARRAY_SIZE(whys) ? whys[v[i].why] : "?");
		print_value(v[i].host);
		printf("from: ");
		print_value(v[i].from);
		printf("clean: %s\nalerted: %s\nattempts: %" PRId64 "\ncreated: %" PRId64
		       "\nincarnation: %" PRId64 "\nerror: ",
		       v[i].clean ? "true" : "false", v[i].alerted ? "true" : "false",
		       v[i].attempts, v[i].created, v[i].incarnation);
		print_value(v[i].error);
	}
	xfree(v);
out:
	db_close(db);
	return rc;
}

/* Write the pool's cluster key, binary, mode 0600, to file=FILE (also
** given as a bare word: `corosync-key FILE`). */
static int
cmd_corosync_key(struct cliargs *args)
{
	unsigned char key[DB_CLUSTER_KEY_LEN];
	struct db_pool pool;
	struct db *db;
	const char *file = cliargs_get(args, "file");
	char err[512];
	int rc = 0, r;

	if (file == NULL || file[0] == '\0')
		return usage_err("corosync-key: FILE is required");
	if (args->n > 1)
		return usage_err("corosync-key: unknown parameter %s",
		                 strcmp(args->v[0].key, "file") != 0 ? args->v[0].key
		                                                     : args->v[1].key);
	db = open_db(DB_OPEN_READONLY, &rc);
	if (db == NULL)
		return rc;
	r = db_pool_get(db, &pool);
	if (r != 0) {
		rc = r < 0 ? db_err(db) : EXIT_DB;
		if (r > 0)
			fprintf(stderr, "hasvc-db: %s holds no pool: run init first\n", dbpath);
		goto out;
	}
	r = db_pool_cluster_key(&pool, key);
	if (r != 0) {
		fprintf(stderr, "hasvc-db: pool %s: %s\n", pool.uuid,
		        r > 0 ? "no cluster key" : "the cluster key is not valid hex");
		rc = EXIT_DB;
		goto out;
	}
	if (cc_write_file(file, key, sizeof(key), 0600, err, sizeof(err)) < 0) {
		fprintf(stderr, "hasvc-db: %s\n", err);
		rc = EXIT_DB;
	}
out:
	OPENSSL_cleanse(key, sizeof(key));
	db_pool_clear(&pool);
	db_close(db);
	return rc;
}

/* Open read-only (nothing is written, nothing migrated) and check. */
static int
cmd_check(struct cliargs *args)
{
	struct db *db;
	int rc;

	if ((rc = no_args(args)) != 0)
		return rc;
	db = open_db(DB_OPEN_READONLY, &rc);
	if (db == NULL)
		return rc;
	printf("%s: ok (schema version %d)\n", dbpath, DB_SCHEMA_VERSION);
	db_close(db);
	return 0;
}

struct command {
	const char *name;
	const char *synopsis;
	int (*run)(struct cliargs *args);
};

static const struct command commands[] = {
    {"init",
     "init [name-label=NAME] [name-description=TEXT] [uuid=UUID] [cluster-key=none]",
     cmd_init},
    {"host-add",
     "host-add name-label=NAME address=ADDR memory-total=SIZE [memory-overhead=SIZE] "
     "[hostname=NAME] [nodeid=N] [address2=ADDR] [uuid=UUID] [field=value ...]",
     cmd_host_add},
    {"vm-add",
     "vm-add name-label=NAME memory-static-max=SIZE [vcpus=N] "
     "[ha-restart-priority=restart|best-effort|] [ha-always-run=BOOL] [order=N] "
     "[start-delay=S] [resident-on=HOST] [power-state=STATE] [uuid=UUID] [field=value ...]",
     cmd_vm_add},
    {"pool-param-set", "pool-param-set field=value ...", cmd_pool_param_set},
    {"host-param-set", "host-param-set uuid=UUID field=value ...", cmd_host_param_set},
    {"vm-param-set", "vm-param-set uuid=UUID field=value ...", cmd_vm_param_set},
    {"pool-show", "pool-show", cmd_pool_show},
    {"host-list", "host-list", cmd_host_list},
    {"vm-list", "vm-list", cmd_vm_list},
    {"message-list", "message-list", cmd_message_list},
    {"fence-list", "fence-list", cmd_fence_list},
    {"intent-list", "intent-list      the VM intents (failover, shutdowns, evacuations)",
     cmd_intent_list},
    {"corosync-key", "corosync-key FILE     write the cluster key (binary, mode 0600)",
     cmd_corosync_key},
    {"check", "check            open read-only and run quick_check", cmd_check},
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: hasvc-db -d FILE COMMAND [key=value ...]\ncommands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %s\n", commands[i].synopsis);
	fprintf(f, "map fields are set as FIELD:KEY=VALUE (an empty VALUE removes KEY)\n");
}

int
main(int argc, char **argv)
{
	struct cliargs args;
	size_t i;
	int c, rc;

	log_init("hasvc-db", LOG_TO_STDERR | LOG_NO_BLACKBOX, LOG_WARNING);
	while ((c = getopt(argc, argv, "+d:h")) != -1) {
		switch (c) {
		case 'd':
			dbpath = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (dbpath == NULL) {
		usage(stderr);
		return usage_err("-d FILE is required");
	}
	/* `corosync-key FILE`: the one positional argument, as file=FILE. */
	if (argc - optind == 2 && strcmp(argv[optind], "corosync-key") == 0 &&
	    strchr(argv[optind + 1], '=') == NULL && argv[optind + 1][0] != '-') {
		char *fileargv[2];
		char *kv = xasprintf("file=%s", argv[optind + 1]);

		fileargv[0] = argv[optind];
		fileargv[1] = kv;
		rc = cliargs_parse(&args, 2, fileargv);
		xfree(kv);
	} else {
		rc = cliargs_parse(&args, argc - optind, argv + optind);
	}
	if (rc < 0) {
		rc = usage_err("%s", args.err);
		cliargs_clear(&args);
		return rc;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, args.command) == 0)
			break;
	if (i == ARRAY_SIZE(commands)) {
		usage(stderr);
		rc = usage_err("%s: unknown command", args.command);
	} else {
		rc = commands[i].run(&args);
	}
	cliargs_clear(&args);
	log_fini();
	return rc;
}
