/*
** The XAPI object classes (pool, host, host_metrics, VM, VM_group, message,
** task) over the pool database, and the handlers of their methods.
**
** Everything is driven by two tables.  A class table row says how to load
** one record, all records and store a record of the class; a field table per
** class gives each field its XAPI name, its type and where it lives in the
** db record (or a getter for a computed field), and an optional setter.
** From these are generated get_record, get_all_records, get_by_uuid and
** get_<field> (read-only role), set_<field> for every field with a setter,
** and add_to/remove_from/set_other_config for the classes that have one.
** Only the methods that are not about one field (VM_group.create/destroy,
** message.destroy, pool.enable_ha/disable_ha/ha_prevent_restarts_for/
** ha_maintenance_for) are written by hand.
**
** Handlers find their class and field from the method name (arg is the
** struct api_ctx), so one handler serves every get_<field> of every class.
**
** Invariants:
**   - every db record type starts with its uuid (char[HA_UUID_LEN]), so
**     (const char *)rec is the object's uuid;
**   - every write is one db write call, itself one transaction, so the change
**     hook sees a whole change or nothing;
**   - a failed validation writes nothing.
**
** host_metrics has no table of its own: the metrics of host H are the
** object whose uuid is api_host_metrics_uuid(H's uuid), loaded from H's row
** with the uuid rewritten (the class has no setter, so it is never stored).
** Messages have no keyed lookup in db.h, so a message is found by scanning
** the message list; there are few of them and this is only the by-ref path.
** No task exists yet: task.get_all is [] and every task ref is invalid.
*/
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hasvc/api_objects.h"
#include "hasvc/ha.h"
#include "heartbeat/sf_file.h"
#include "lib/ids.h"
#include "lib/check.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* pool.other_config key holding the wall-clock time (seconds since the
** epoch) until which pool.ha_prevent_restarts_for blocks HA restarts. */
#define API_PREVENT_RESTARTS_KEY "hasvc:ha_prevent_restarts_until"

union api_rec {
	struct db_pool pool;
	struct db_host host;
	struct db_vm vm;
	struct db_vm_group group;
	struct db_message msg;
};

/* ---- field table ---- */

enum api_ftype {
	F_STR,   /* char[] at off */
	F_INT,   /* int64_t at off */
	F_BOOL,  /* int at off */
	F_REF,   /* uuid char[] at off, "" = OpaqueRef:NULL */
	F_MAP,   /* struct db_map at off */
	F_TIME,  /* int64_t seconds since the epoch at off, as a DateTime */
	F_FN,    /* computed by get() */
	F_CONST, /* a constant of kind k: hasvc has no data for it */
};

enum api_const {
	K_FALSE,
	K_ZERO,
	K_STR,      /* the string in str */
	K_SET,      /* [] */
	K_MAP,      /* {} */
	K_NULL_REF, /* OpaqueRef:NULL */
};

struct api_field;
typedef struct xval *(*api_getter)(struct db *db, const union api_rec *rec);
/* Read the value param (index 1, or 0 for class-level setters is never
** needed here), validate it and write it into rec; 0, or -1 after failing
** the call. */
typedef int (*api_setter)(struct api_ctx *ctx, struct rpc_call *c, const struct api_field *f,
                          union api_rec *rec);

struct api_field {
	const char *name;
	enum api_ftype type;
	size_t off;
	size_t size;        /* F_STR: the array size */
	enum api_const k;   /* F_CONST */
	const char *str;    /* K_STR value; for setters, INVALID_VALUE's first param */
	api_getter get;     /* F_FN */
	api_setter set;     /* NULL: read-only */
	enum rpc_role role; /* the setter's role; 0 = pool-operator */
	int guarded;        /* the write goes through ctx->guard first */
};

#define MEMBER_SIZE(T, m) sizeof(((T *)0)->m)
#define FSTR(n, T, m, s)                                                                           \
	{                                                                                          \
		.name = n, .type = F_STR, .off = offsetof(T, m), .size = MEMBER_SIZE(T, m),        \
		.set = s                                                                           \
	}
#define FINT(n, T, m)                                                                              \
	{                                                                                          \
		.name = n, .type = F_INT, .off = offsetof(T, m)                                    \
	}
#define FBOOL(n, T, m)                                                                             \
	{                                                                                          \
		.name = n, .type = F_BOOL, .off = offsetof(T, m)                                   \
	}
#define FREF(n, T, m)                                                                              \
	{                                                                                          \
		.name = n, .type = F_REF, .off = offsetof(T, m)                                    \
	}
#define FMAP(n, T, m)                                                                              \
	{                                                                                          \
		.name = n, .type = F_MAP, .off = offsetof(T, m)                                    \
	}
#define FTIME(n, T, m)                                                                             \
	{                                                                                          \
		.name = n, .type = F_TIME, .off = offsetof(T, m)                                   \
	}
#define FFN(n, g)                                                                                  \
	{                                                                                          \
		.name = n, .type = F_FN, .get = g                                                  \
	}
#define FCONST(n, kind)                                                                            \
	{                                                                                          \
		.name = n, .type = F_CONST, .k = kind                                              \
	}
#define FCONSTSTR(n, s)                                                                            \
	{                                                                                          \
		.name = n, .type = F_CONST, .k = K_STR, .str = s                                   \
	}

static const void *
field_ptr(const union api_rec *rec, const struct api_field *f)
{
	return (const char *)rec + f->off;
}

static void *
field_wptr(union api_rec *rec, const struct api_field *f)
{
	return (char *)rec + f->off;
}

static struct xval *
xval_ref(const char *uuid)
{
	char ref[HA_REF_LEN];

	if (uuid[0] == '\0')
		return xval_new_string(HA_REF_NULL);
	id_ref_from_uuid(ref, uuid);
	return xval_new_string(ref);
}

static struct xval *
xval_map(const struct db_map *m)
{
	struct xval *st = xval_new_struct();
	size_t i;

	for (i = 0; i < m->n; i++)
		xval_struct_add(st, m->kv[i].key, xval_new_string(m->kv[i].value));
	return st;
}

static struct xval *
field_get(struct db *db, const struct api_field *f, const union api_rec *rec)
{
	const void *p = field_ptr(rec, f);

	switch (f->type) {
	case F_STR:
		return xval_new_string(p);
	case F_INT:
		return xval_new_int(*(const int64_t *)p);
	case F_BOOL:
		return xval_new_bool(*(const int *)p != 0);
	case F_REF:
		return xval_ref(p);
	case F_MAP:
		return xval_map(p);
	case F_TIME:
		return xval_new_datetime_time((time_t) * (const int64_t *)p);
	case F_FN:
		return f->get(db, rec);
	case F_CONST:
		break;
	}
	switch (f->k) {
	case K_FALSE:
		return xval_new_bool(0);
	case K_ZERO:
		return xval_new_int(0);
	case K_STR:
		return xval_new_string(f->str);
	case K_SET:
		return xval_new_array();
	case K_MAP:
		return xval_new_struct();
	case K_NULL_REF:
		break;
	}
	return xval_new_string(HA_REF_NULL);
}

/* ---- computed getters ---- */

static struct xval *
get_vm_power_state(struct db *db, const union api_rec *rec)
{
	const char *s = db_power_state_name(rec->vm.power_state);

	return xval_new_string(s != NULL ? s : "Halted");
}

static struct xval *
get_vm_priority(struct db *db, const union api_rec *rec)
{
	const char *s = db_restart_priority_name(rec->vm.ha_restart_priority);

	return xval_new_string(s != NULL ? s : "");
}

/* hasvc knows one memory size per VM: static_max.  The static/dynamic
** min/max fields all report it. */
static struct xval *
get_vm_memory(struct db *db, const union api_rec *rec)
{
	return xval_new_int(rec->vm.memory_static_max);
}

static struct xval *
get_vm_groups(struct db *db, const union api_rec *rec)
{
	struct xval *a = xval_new_array();
	size_t i;

	for (i = 0; i < rec->vm.ngroups && i < DB_VM_MAX_GROUPS; i++)
		xval_array_append(a, xval_ref(rec->vm.groups[i]));
	return a;
}

/* The uuid's first node digit with its high bit flipped: an involution
** that always changes the uuid and keeps it a well-formed uuid. */
void
api_host_metrics_uuid(const char *uuid, char out[HA_UUID_LEN])
{
	static const char hex[] = "0123456789abcdef";
	const char *d;

	snprintf(out, HA_UUID_LEN, "%s", uuid);
	if (strlen(out) != HA_UUID_LEN - 1)
		return;
	d = strchr(hex, out[24] >= 'A' && out[24] <= 'F' ? out[24] - 'A' + 'a' : out[24]);
	if (d != NULL && *d != '\0')
		out[24] = hex[(d - hex) ^ 8];
}

static struct xval *
get_host_metrics_ref(struct db *db, const union api_rec *rec)
{
	char m[HA_UUID_LEN];

	api_host_metrics_uuid(rec->host.uuid, m);
	return xval_ref(m);
}

/* A getter cannot fail the call: on a db error the set is empty and the
** error is logged. */
static struct xval *
get_host_resident_vms(struct db *db, const union api_rec *rec)
{
	struct xval *a = xval_new_array();
	struct db_vm *vms = NULL;
	size_t n = 0, i;

	if (db_vm_list_resident(db, rec->host.uuid, &vms, &n) < 0) {
		log_warnx("host %s: listing resident VMs: %s", rec->host.uuid, db_errmsg(db));
		return a;
	}
	for (i = 0; i < n; i++)
		xval_array_append(a, xval_ref(vms[i].uuid));
	db_vm_list_free(vms, n);
	return a;
}

static struct xval *
get_group_placement(struct db *db, const union api_rec *rec)
{
	const char *s = db_placement_name(rec->group.placement);

	return xval_new_string(s != NULL ? s : "normal");
}

static struct xval *
get_group_vms(struct db *db, const union api_rec *rec)
{
	struct xval *a = xval_new_array();
	struct db_vm *vms = NULL;
	size_t n = 0, i, j;

	if (db_vm_list(db, &vms, &n) < 0) {
		log_warnx("VM_group %s: listing VMs: %s", rec->group.uuid, db_errmsg(db));
		return a;
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < vms[i].ngroups && j < DB_VM_MAX_GROUPS; j++)
			if (strcmp(vms[i].groups[j], rec->group.uuid) == 0) {
				xval_array_append(a, xval_ref(vms[i].uuid));
				break;
			}
	db_vm_list_free(vms, n);
	return a;
}

/* ---- setters ---- */

static void
fail_invalid_int(struct rpc_call *c, const struct api_field *f, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	rpc_fail(c, "INVALID_VALUE", f->str != NULL ? f->str : f->name, buf, NULL);
}

static int
set_string(struct api_ctx *ctx, struct rpc_call *c, const struct api_field *f, union api_rec *rec)
{
	const char *s;

	if (rpc_param_string(c, 1, &s) < 0)
		return -1;
	if (strlen(s) >= f->size) {
		rpc_fail(c, "INVALID_VALUE", f->name, "too long", NULL);
		return -1;
	}
	memcpy(field_wptr(rec, f), s, strlen(s) + 1);
	return 0;
}

static int
set_bool(struct api_ctx *ctx, struct rpc_call *c, const struct api_field *f, union api_rec *rec)
{
	int b;

	if (rpc_param_bool(c, 1, &b) < 0)
		return -1;
	*(int *)field_wptr(rec, f) = b != 0;
	return 0;
}

/* An int64 field that must be >= 0; INVALID_VALUE [f->str or name, value]. */
static int
set_nonneg_int(struct api_ctx *ctx, struct rpc_call *c, const struct api_field *f,
               union api_rec *rec)
{
	int64_t v;

	if (rpc_param_int(c, 1, &v) < 0)
		return -1;
	if (v < 0) {
		fail_invalid_int(c, f, v);
		return -1;
	}
	*(int64_t *)field_wptr(rec, f) = v;
	return 0;
}

/* As xapi's Xapi_vm.set_ha_restart_priority: a Running VM is protected or
** unprotected at once (ha_always_run := value = "restart") when the value
** changes.  The plan check of a VM switching to "restart" is ctx->guard's
** (api_planner.c). */
static int
apply_vm_priority(struct db_vm *vm, enum db_restart_priority p)
{
	if (vm->ha_restart_priority == p)
		return 0;
	vm->ha_restart_priority = p;
	if (vm->power_state == DB_POWER_RUNNING)
		vm->ha_always_run = p == DB_PRIO_RESTART;
	return 0;
}

static int
set_vm_priority(struct api_ctx *ctx, struct rpc_call *c, const struct api_field *f,
                union api_rec *rec)
{
	const char *s;
	int p;

	if (rpc_param_string(c, 1, &s) < 0)
		return -1;
	p = db_restart_priority_from_name(s);
	if (p < 0) {
		rpc_fail(c, "INVALID_VALUE", "ha_restart_priority", s, NULL);
		return -1;
	}
	return apply_vm_priority(&rec->vm, (enum db_restart_priority)p);
}

/* Deprecated in xapi since Boston and kept as it does: true is priority
** "restart", false is "". */
static int
set_vm_always_run(struct api_ctx *ctx, struct rpc_call *c, const struct api_field *f,
                  union api_rec *rec)
{
	int b;

	if (rpc_param_bool(c, 1, &b) < 0)
		return -1;
	return apply_vm_priority(&rec->vm, b ? DB_PRIO_RESTART : DB_PRIO_NONE);
}

/* A set of VM_group refs; each must name a stored group (HANDLE_INVALID
** [VM_group, ref]); duplicates are folded; at most DB_VM_MAX_GROUPS
** (INVALID_VALUE [groups, count]). */
static int
set_vm_groups(struct api_ctx *ctx, struct rpc_call *c, const struct api_field *f,
              union api_rec *rec)
{
	const struct xval *v = rpc_call_param(c, 1);
	char groups[DB_VM_MAX_GROUPS][HA_UUID_LEN];
	struct db_vm_group g;
	char uuid[HA_UUID_LEN], buf[32];
	size_t i, j, n = 0;
	int rc;

	if (v == NULL || !xval_is(v, XVAL_ARRAY)) {
		rpc_fail(c, "FIELD_TYPE_ERROR", "value", NULL);
		return -1;
	}
	for (i = 0; i < xval_len(v); i++) {
		const struct xval *item = xval_array_get(v, i);

		if (!xval_is(item, XVAL_STRING)) {
			rpc_fail(c, "FIELD_TYPE_ERROR", "value", NULL);
			return -1;
		}
		if (id_ref_to_uuid(xval_string(item), uuid) < 0 ||
		    (rc = db_vm_group_get(ctx->db, uuid, &g)) == 1) {
			rpc_fail(c, "HANDLE_INVALID", "VM_group", xval_string(item), NULL);
			return -1;
		}
		if (rc < 0) {
			rpc_fail(c, "INTERNAL_ERROR", db_errmsg(ctx->db), NULL);
			return -1;
		}
		for (j = 0; j < n; j++)
			if (strcmp(groups[j], g.uuid) == 0)
				break;
		if (j < n)
			continue;
		if (n == DB_VM_MAX_GROUPS) {
			snprintf(buf, sizeof(buf), "%zu", xval_len(v));
			rpc_fail(c, "INVALID_VALUE", "groups", buf, NULL);
			return -1;
		}
		memcpy(groups[n++], g.uuid, HA_UUID_LEN);
	}
	memcpy(rec->vm.groups, groups, sizeof(groups));
	rec->vm.ngroups = n;
	return 0;
}

/* ---- the field tables ---- */

/* Constants (hasvc has no data for them; present so that records look as
** xapi clients expect): pool default_SR (NULL), ha_statefiles [] (the
** statefile is configured per host, not as a VDI), allowed_operations [],
** current_operations {}, tags []. */
static const struct api_field pool_fields[] = {
    FSTR("uuid", struct db_pool, uuid, NULL),
    FSTR("name_label", struct db_pool, name_label, set_string),
    FSTR("name_description", struct db_pool, name_description, set_string),
    FREF("master", struct db_pool, master),
    FCONST("default_SR", K_NULL_REF),
    FBOOL("ha_enabled", struct db_pool, ha_enabled),
    FMAP("ha_configuration", struct db_pool, ha_configuration),
    FCONST("ha_statefiles", K_SET),
    /* The pool HA settings are pool-admin's (docs/api.md, Roles). */
    {.name = "ha_host_failures_to_tolerate",
     .type = F_INT,
     .off = offsetof(struct db_pool, ha_host_failures_to_tolerate),
     .set = set_nonneg_int,
     .role = RPC_ROLE_POOL_ADMIN,
     .guarded = 1},
    FINT("ha_plan_exists_for", struct db_pool, ha_plan_exists_for),
    {.name = "ha_allow_overcommit",
     .type = F_BOOL,
     .off = offsetof(struct db_pool, ha_allow_overcommit),
     .set = set_bool,
     .role = RPC_ROLE_POOL_ADMIN},
    FBOOL("ha_overcommitted", struct db_pool, ha_overcommitted),
    FSTR("ha_cluster_stack", struct db_pool, ha_cluster_stack, NULL),
    FBOOL("ha_reboot_vm_on_internal_shutdown", struct db_pool, ha_reboot_vm_on_internal_shutdown),
    FMAP("other_config", struct db_pool, other_config),
    FCONST("allowed_operations", K_SET),
    FCONST("current_operations", K_MAP),
    FCONST("tags", K_SET),
};

/* Constants: name_description "", ha_statefiles [], ha_network_peers []
** (come with the heartbeat), PIFs [], PBDs [], allowed_operations [],
** current_operations {}, tags []. */
static const struct api_field host_fields[] = {
    FSTR("uuid", struct db_host, uuid, NULL),
    FSTR("name_label", struct db_host, name_label, NULL),
    FCONSTSTR("name_description", ""),
    FSTR("hostname", struct db_host, hostname, NULL),
    FSTR("address", struct db_host, address, NULL),
    FBOOL("enabled", struct db_host, enabled),
    FFN("metrics", get_host_metrics_ref),
    FFN("resident_VMs", get_host_resident_vms),
    FINT("memory_overhead", struct db_host, memory_overhead),
    FCONST("ha_statefiles", K_SET),
    FCONST("ha_network_peers", K_SET),
    FCONST("PIFs", K_SET),
    FCONST("PBDs", K_SET),
    FMAP("other_config", struct db_host, other_config),
    FCONST("allowed_operations", K_SET),
    FCONST("current_operations", K_MAP),
    FCONST("tags", K_SET),
};

static const struct api_field host_metrics_fields[] = {
    FSTR("uuid", struct db_host, uuid, NULL),
    FBOOL("live", struct db_host, live),
    FINT("memory_total", struct db_host, memory_total),
    FINT("memory_free", struct db_host, memory_free),
    FTIME("last_updated", struct db_host, last_updated),
    FCONST("other_config", K_MAP),
};

/* Constants: name_description "", scheduled_to_be_resident_on NULL,
** is_a_template false, is_a_snapshot false, domain_type "unspecified",
** shutdown_delay 0, VBDs/VIFs/VGPUs [], metrics and guest_metrics NULL,
** allowed_operations [], current_operations {}, blocked_operations {},
** tags []. memory_{static,dynamic}_{min,max} all report static_max. */
static const struct api_field vm_fields[] = {
    FSTR("uuid", struct db_vm, uuid, NULL),
    FSTR("name_label", struct db_vm, name_label, NULL),
    FCONSTSTR("name_description", ""),
    FFN("power_state", get_vm_power_state),
    FREF("resident_on", struct db_vm, resident_on),
    FCONST("scheduled_to_be_resident_on", K_NULL_REF),
    FREF("affinity", struct db_vm, affinity),
    FCONST("is_a_template", K_FALSE),
    FCONST("is_a_snapshot", K_FALSE),
    FBOOL("is_control_domain", struct db_vm, is_control_domain),
    FFN("memory_static_min", get_vm_memory),
    FINT("memory_static_max", struct db_vm, memory_static_max),
    FFN("memory_dynamic_min", get_vm_memory),
    FFN("memory_dynamic_max", get_vm_memory),
    FINT("memory_overhead", struct db_vm, memory_overhead),
    FINT("VCPUs_max", struct db_vm, VCPUs_max),
    FCONSTSTR("domain_type", "unspecified"),
    {.name = "ha_always_run",
     .type = F_BOOL,
     .off = offsetof(struct db_vm, ha_always_run),
     .set = set_vm_always_run,
     .guarded = 1},
    {.name = "ha_restart_priority",
     .type = F_FN,
     .get = get_vm_priority,
     .set = set_vm_priority,
     .guarded = 1},
    {.name = "order",
     .type = F_INT,
     .off = offsetof(struct db_vm, order),
     .str = "order must be non-negative",
     .set = set_nonneg_int},
    {.name = "start_delay",
     .type = F_INT,
     .off = offsetof(struct db_vm, start_delay),
     .str = "start_delay must be non-negative",
     .set = set_nonneg_int},
    FCONST("shutdown_delay", K_ZERO),
    {.name = "groups", .type = F_FN, .get = get_vm_groups, .set = set_vm_groups},
    FCONST("VBDs", K_SET),
    FCONST("VIFs", K_SET),
    FCONST("VGPUs", K_SET),
    FCONST("metrics", K_NULL_REF),
    FCONST("guest_metrics", K_NULL_REF),
    FMAP("other_config", struct db_vm, other_config),
    FCONST("allowed_operations", K_SET),
    FCONST("current_operations", K_MAP),
    FCONST("blocked_operations", K_MAP),
    FCONST("tags", K_SET),
};

static const struct api_field group_fields[] = {
    FSTR("uuid", struct db_vm_group, uuid, NULL),
    FSTR("name_label", struct db_vm_group, name_label, NULL),
    FSTR("name_description", struct db_vm_group, name_description, NULL),
    FFN("placement", get_group_placement),
    FFN("VMs", get_group_vms),
};

static const struct api_field message_fields[] = {
    FSTR("uuid", struct db_message, uuid, NULL),
    FSTR("name", struct db_message, name, NULL),
    FINT("priority", struct db_message, priority),
    FSTR("cls", struct db_message, cls, NULL),
    FSTR("obj_uuid", struct db_message, obj_uuid, NULL),
    FTIME("timestamp", struct db_message, timestamp),
    FSTR("body", struct db_message, body, NULL),
};

/* No task is ever stored yet; these only generate the get_<field> methods,
** which answer HANDLE_INVALID. */
static const struct api_field task_fields[] = {
    FCONSTSTR("uuid", ""),
    FCONSTSTR("name_label", ""),
    FCONSTSTR("name_description", ""),
    FCONSTSTR("status", "pending"),
    FCONST("progress", K_ZERO),
    FCONSTSTR("result", ""),
    FCONST("error_info", K_SET),
    FCONST("resident_on", K_NULL_REF),
    FCONST("other_config", K_MAP),
    FCONST("allowed_operations", K_SET),
    FCONST("current_operations", K_MAP),
};

/* ---- the class table: loading and storing records ---- */

static int
pool_load(struct db *db, const char *uuid, union api_rec *rec)
{
	int rc = db_pool_get(db, &rec->pool);

	if (rc == 0 && strcasecmp(rec->pool.uuid, uuid) != 0) {
		db_pool_clear(&rec->pool);
		return 1;
	}
	return rc;
}

static int
pool_load_all(struct db *db, void **recs, size_t *n)
{
	struct db_pool *p = xmalloc(sizeof(*p));
	int rc = db_pool_get(db, p);

	*recs = p;
	*n = rc == 0;
	return rc < 0 ? -1 : 0;
}

static void
pool_free_all(void *recs, size_t n)
{
	struct db_pool *p = recs;
	size_t i;

	for (i = 0; i < n; i++)
		db_pool_clear(&p[i]);
	xfree(recs);
}

static int
host_load(struct db *db, const char *uuid, union api_rec *rec)
{
	return db_host_get(db, uuid, &rec->host);
}

static int
host_load_all(struct db *db, void **recs, size_t *n)
{
	return db_host_list(db, (struct db_host **)recs, n);
}

static void
host_free_all(void *recs, size_t n)
{
	db_host_list_free(recs, n);
}

/* A host's row under its metrics uuid (see api_host_metrics_uuid). */
static void
metrics_rename(struct db_host *h)
{
	char m[HA_UUID_LEN];

	api_host_metrics_uuid(h->uuid, m);
	memcpy(h->uuid, m, HA_UUID_LEN);
}

static int
metrics_load(struct db *db, const char *uuid, union api_rec *rec)
{
	char host[HA_UUID_LEN];
	int rc;

	api_host_metrics_uuid(uuid, host);
	rc = db_host_get(db, host, &rec->host);
	if (rc == 0)
		metrics_rename(&rec->host);
	return rc;
}

static int
metrics_load_all(struct db *db, void **recs, size_t *n)
{
	struct db_host *hosts;
	size_t i;

	if (db_host_list(db, &hosts, n) < 0)
		return -1;
	for (i = 0; i < *n; i++)
		metrics_rename(&hosts[i]);
	*recs = hosts;
	return 0;
}

static int
vm_load(struct db *db, const char *uuid, union api_rec *rec)
{
	return db_vm_get(db, uuid, &rec->vm);
}

static int
vm_load_all(struct db *db, void **recs, size_t *n)
{
	return db_vm_list(db, (struct db_vm **)recs, n);
}

static void
vm_free_all(void *recs, size_t n)
{
	db_vm_list_free(recs, n);
}

static int
group_load(struct db *db, const char *uuid, union api_rec *rec)
{
	return db_vm_group_get(db, uuid, &rec->group);
}

static int
group_load_all(struct db *db, void **recs, size_t *n)
{
	return db_vm_group_list(db, (struct db_vm_group **)recs, n);
}

static int
message_load_all(struct db *db, void **recs, size_t *n)
{
	return db_message_list(db, 0, (struct db_message **)recs, n);
}

static int
message_load(struct db *db, const char *uuid, union api_rec *rec)
{
	struct db_message *m = NULL;
	size_t n = 0, i;
	int rc = 1;

	if (db_message_list(db, 0, &m, &n) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (strcasecmp(m[i].uuid, uuid) == 0) {
			rec->msg = m[i];
			rc = 0;
			break;
		}
	xfree(m);
	return rc;
}

static int
task_load(struct db *db, const char *uuid, union api_rec *rec)
{
	return 1;
}

static int
task_load_all(struct db *db, void **recs, size_t *n)
{
	*recs = NULL;
	*n = 0;
	return 0;
}

static void
plain_free_all(void *recs, size_t n)
{
	xfree(recs);
}

static int
pool_store(struct db *db, const union api_rec *rec)
{
	return db_pool_put(db, &rec->pool);
}

static int
host_store(struct db *db, const union api_rec *rec)
{
	return db_host_put(db, &rec->host);
}

static int
vm_store(struct db *db, const union api_rec *rec)
{
	return db_vm_put(db, &rec->vm);
}

static int
group_store(struct db *db, const union api_rec *rec)
{
	return db_vm_group_put(db, &rec->group);
}

static void
rec_clear(enum api_class c, union api_rec *rec)
{
	switch (c) {
	case API_POOL:
		db_pool_clear(&rec->pool);
		break;
	case API_HOST:
	case API_HOST_METRICS:
		db_host_clear(&rec->host);
		break;
	case API_VM:
		db_vm_clear(&rec->vm);
		break;
	default:
		break;
	}
}

#define NO_OTHER_CONFIG ((size_t)-1)

struct api_classdef {
	const char *name;
	const struct api_field *fields;
	size_t nfields;
	size_t recsize; /* stride of the load_all array */
	int (*load)(struct db *db, const char *uuid, union api_rec *rec); /* 0, 1 absent, -1 */
	int (*load_all)(struct db *db, void **recs, size_t *n);
	void (*free_all)(void *recs, size_t n);
	int (*store)(struct db *db, const union api_rec *rec); /* NULL: no setters */
	size_t other_config_off; /* NO_OTHER_CONFIG if the class has none served */
};

static const struct api_classdef classes[API_NCLASSES] = {
    [API_POOL] = {"pool", pool_fields, ARRAY_SIZE(pool_fields), sizeof(struct db_pool), pool_load,
                  pool_load_all, pool_free_all, pool_store, offsetof(struct db_pool, other_config)},
    [API_HOST] = {"host", host_fields, ARRAY_SIZE(host_fields), sizeof(struct db_host), host_load,
                  host_load_all, host_free_all, host_store, offsetof(struct db_host, other_config)},
    [API_HOST_METRICS] = {"host_metrics", host_metrics_fields, ARRAY_SIZE(host_metrics_fields),
                          sizeof(struct db_host), metrics_load, metrics_load_all, host_free_all, NULL,
                          NO_OTHER_CONFIG},
    [API_VM] = {"VM", vm_fields, ARRAY_SIZE(vm_fields), sizeof(struct db_vm), vm_load, vm_load_all,
                vm_free_all, vm_store, offsetof(struct db_vm, other_config)},
    [API_VM_GROUP] = {"VM_group", group_fields, ARRAY_SIZE(group_fields),
                      sizeof(struct db_vm_group), group_load, group_load_all, plain_free_all,
                      group_store, NO_OTHER_CONFIG},
    [API_MESSAGE] = {"message", message_fields, ARRAY_SIZE(message_fields),
                     sizeof(struct db_message), message_load, message_load_all, plain_free_all,
                     NULL, NO_OTHER_CONFIG},
    [API_TASK] = {"task", task_fields, ARRAY_SIZE(task_fields), sizeof(struct db_message),
                  task_load, task_load_all, plain_free_all, NULL, NO_OTHER_CONFIG},
};

const char *
api_class_name(enum api_class c)
{
	if ((unsigned)c >= API_NCLASSES)
		return NULL;
	return classes[c].name;
}

int
api_class_from_name(const char *name)
{
	int i;

	for (i = 0; i < API_NCLASSES; i++)
		if (strcasecmp(classes[i].name, name) == 0)
			return i;
	return -1;
}

static struct xval *
record_build(struct db *db, enum api_class c, const union api_rec *rec)
{
	const struct api_classdef *cd = &classes[c];
	struct xval *st = xval_new_struct();
	size_t i;

	for (i = 0; i < cd->nfields; i++)
		xval_struct_add(st, cd->fields[i].name, field_get(db, &cd->fields[i], rec));
	return st;
}

struct xval *
api_record(struct db *db, enum api_class c, const char *uuid)
{
	union api_rec rec;
	struct xval *v;

	if ((unsigned)c >= API_NCLASSES)
		return NULL;
	memset(&rec, 0, sizeof(rec));
	if (classes[c].load(db, uuid, &rec) != 0)
		return NULL;
	v = record_build(db, c, &rec);
	rec_clear(c, &rec);
	return v;
}

int
api_list(struct db *db, enum api_class c, char (**uuids)[HA_UUID_LEN], size_t *n)
{
	const struct api_classdef *cd;
	void *recs = NULL;
	size_t nrecs = 0, i;

	*uuids = NULL;
	*n = 0;
	if ((unsigned)c >= API_NCLASSES)
		return -1;
	cd = &classes[c];
	if (cd->load_all(db, &recs, &nrecs) < 0)
		return -1;
	*uuids = xcalloc(nrecs ? nrecs : 1, HA_UUID_LEN);
	for (i = 0; i < nrecs; i++)
		snprintf((*uuids)[i], HA_UUID_LEN, "%s", (const char *)recs + i * cd->recsize);
	*n = nrecs;
	cd->free_all(recs, nrecs);
	return 0;
}

/* ---- handlers ---- */

/* The class and, for get_/set_ methods, the field a call is about, from its
** method name "Class.verb[_field]". */
static int
call_class(struct rpc_call *c, enum api_class *cls)
{
	const char *m = rpc_call_method(c), *dot = strchr(m, '.');
	char name[32];
	size_t len;
	int i;

	len = dot != NULL ? (size_t)(dot - m) : 0;
	if (NEVER(len == 0 || len >= sizeof(name)))
		return -1;
	memcpy(name, m, len);
	name[len] = '\0';
	for (i = 0; i < API_NCLASSES; i++)
		if (strcmp(classes[i].name, name) == 0) {
			*cls = (enum api_class)i;
			return 0;
		}
	(void)NEVER(1);
	return -1;
}

static const struct api_field *
call_field(struct rpc_call *c, enum api_class cls, const char *prefix)
{
	const char *m = strchr(rpc_call_method(c), '.');
	const struct api_classdef *cd = &classes[cls];
	size_t i, plen = strlen(prefix);

	if (NEVER(m == NULL || strncmp(m + 1, prefix, plen) != 0))
		return NULL;
	m += 1 + plen;
	for (i = 0; i < cd->nfields; i++)
		if (strcmp(cd->fields[i].name, m) == 0)
			return &cd->fields[i];
	(void)NEVER(1);
	return NULL;
}

void
api_fail_db(struct api_ctx *ctx, struct rpc_call *c)
{
	rpc_fail(c, "INTERNAL_ERROR", db_errmsg(ctx->db), NULL);
}

/* Load the object named by the ref in param i: 0 with *rec filled (the
** caller clears it), or -1 after failing the call (HANDLE_INVALID [class,
** ref] for an unknown or malformed ref). */
static int
load_param(struct api_ctx *ctx, struct rpc_call *c, size_t i, enum api_class cls,
           union api_rec *rec)
{
	char uuid[HA_UUID_LEN];
	const struct xval *p;
	int rc;

	memset(rec, 0, sizeof(*rec));
	if (rpc_param_ref(c, i, classes[cls].name, uuid) < 0)
		return -1;
	rc = classes[cls].load(ctx->db, uuid, rec);
	if (rc == 0)
		return 0;
	if (rc < 0) {
		api_fail_db(ctx, c);
		return -1;
	}
	p = rpc_call_param(c, i);
	rpc_fail(c, "HANDLE_INVALID", classes[cls].name, xval_string(p), NULL);
	return -1;
}

/* Store rec (one db write: its own atomic, durable transaction) and answer
** void. */
static void
store_reply(struct api_ctx *ctx, struct rpc_call *c, enum api_class cls, const union api_rec *rec)
{
	if (classes[cls].store(ctx->db, rec) < 0) {
		api_fail_db(ctx, c);
		return;
	}
	rpc_reply(c, xval_new_string(""));
}

static void
h_get_all(void *arg, struct rpc_call *c)
{
	struct api_ctx *ctx = arg;
	char(*uuids)[HA_UUID_LEN] = NULL;
	enum api_class cls;
	struct xval *a;
	size_t n, i;

	if (call_class(c, &cls) < 0 || api_list(ctx->db, cls, &uuids, &n) < 0) {
		api_fail_db(ctx, c);
		return;
	}
	a = xval_new_array();
	for (i = 0; i < n; i++)
		xval_array_append(a, xval_ref(uuids[i]));
	xfree(uuids);
	rpc_reply(c, a);
}

static void
h_get_all_records(void *arg, struct rpc_call *c)
{
	struct api_ctx *ctx = arg;
	const struct api_classdef *cd;
	char ref[HA_REF_LEN];
	enum api_class cls;
	void *recs = NULL;
	struct xval *st;
	size_t n = 0, i;

	if (call_class(c, &cls) < 0)
		goto fail;
	cd = &classes[cls];
	if (cd->load_all(ctx->db, &recs, &n) < 0)
		goto fail;
	st = xval_new_struct();
	for (i = 0; i < n; i++) {
		const union api_rec *rec = (const void *)((const char *)recs + i * cd->recsize);

		id_ref_from_uuid(ref, (const char *)rec);
		xval_struct_add(st, ref, record_build(ctx->db, cls, rec));
	}
	cd->free_all(recs, n);
	rpc_reply(c, st);
	return;
fail:
	api_fail_db(ctx, c);
}

static void
h_get_record(void *arg, struct rpc_call *c)
{
	struct api_ctx *ctx = arg;
	enum api_class cls;
	union api_rec rec;

	if (call_class(c, &cls) < 0) {
		api_fail_db(ctx, c);
		return;
	}
	if (load_param(ctx, c, 0, cls, &rec) < 0)
		return;
	rpc_reply(c, record_build(ctx->db, cls, &rec));
	rec_clear(cls, &rec);
}

static void
h_get_by_uuid(void *arg, struct rpc_call *c)
{
	struct api_ctx *ctx = arg;
	enum api_class cls;
	union api_rec rec;
	const char *uuid;
	int rc;

	if (call_class(c, &cls) < 0) {
		api_fail_db(ctx, c);
		return;
	}
	if (rpc_param_string(c, 0, &uuid) < 0)
		return;
	memset(&rec, 0, sizeof(rec));
	rc = id_uuid_valid(uuid) ? classes[cls].load(ctx->db, uuid, &rec) : 1;
	if (rc < 0) {
		api_fail_db(ctx, c);
		return;
	}
	if (rc == 1) {
		rpc_fail(c, "UUID_INVALID", classes[cls].name, uuid, NULL);
		return;
	}
	rpc_reply(c, xval_ref((const char *)&rec));
	rec_clear(cls, &rec);
}

static void
h_get_field(void *arg, struct rpc_call *c)
{
	struct api_ctx *ctx = arg;
	const struct api_field *f;
	enum api_class cls;
	union api_rec rec;

	if (call_class(c, &cls) < 0 || (f = call_field(c, cls, "get_")) == NULL) {
		api_fail_db(ctx, c);
		return;
	}
	if (load_param(ctx, c, 0, cls, &rec) < 0)
		return;
	rpc_reply(c, field_get(ctx->db, f, &rec));
	rec_clear(cls, &rec);
}

static void
h_set_field(void *arg, struct rpc_call *c)
{
	struct api_ctx *ctx = arg;
	const struct api_field *f;
	enum api_class cls;
	union api_rec rec;

	if (call_class(c, &cls) < 0 || (f = call_field(c, cls, "set_")) == NULL ||
	    NEVER(f->set == NULL)) {
		api_fail_db(ctx, c);
		return;
	}
	if (load_param(ctx, c, 0, cls, &rec) < 0)
		return;
	if (f->set(ctx, c, f, &rec) == 0 &&
	    (!f->guarded || ctx->guard == NULL || ctx->guard(ctx->guard_arg, c, cls, &rec) == 0))
		store_reply(ctx, c, cls, &rec);
	rec_clear(cls, &rec);
}

static struct db_map *
rec_other_config(enum api_class cls, union api_rec *rec)
{
	return (struct db_map *)((char *)rec + classes[cls].other_config_off);
}

/* add_to_other_config(self, key, value): MAP_DUPLICATE_KEY [class,
** "other_config", ref, key] if the key is there, as xapi. */
static void
h_add_to_other_config(void *arg, struct rpc_call *c)
{
	struct api_ctx *ctx = arg;
	const char *key, *value;
	enum api_class cls;
	union api_rec rec;
	struct db_map *m;

	if (call_class(c, &cls) < 0) {
		api_fail_db(ctx, c);
		return;
	}
	if (load_param(ctx, c, 0, cls, &rec) < 0)
		return;
	if (rpc_param_string(c, 1, &key) < 0 || rpc_param_string(c, 2, &value) < 0)
		goto out;
	m = rec_other_config(cls, &rec);
	if (db_map_get(m, key) != NULL) {
		rpc_fail(c, "MAP_DUPLICATE_KEY", classes[cls].name, "other_config",
		         xval_string(rpc_call_param(c, 0)), key, NULL);
		goto out;
	}
	db_map_set(m, key, value);
	store_reply(ctx, c, cls, &rec);
out:
	rec_clear(cls, &rec);
}

/* remove_from_other_config(self, key): an absent key is no error (xapi). */
static void
h_remove_from_other_config(void *arg, struct rpc_call *c)
{
	struct api_ctx *ctx = arg;
	enum api_class cls;
	union api_rec rec;
	const char *key;

	if (call_class(c, &cls) < 0) {
		api_fail_db(ctx, c);
		return;
	}
	if (load_param(ctx, c, 0, cls, &rec) < 0)
		return;
	if (rpc_param_string(c, 1, &key) < 0)
		goto out;
	db_map_remove(rec_other_config(cls, &rec), key);
	store_reply(ctx, c, cls, &rec);
out:
	rec_clear(cls, &rec);
}

/* A (string -> string) map param into m (replacing it); FIELD_TYPE_ERROR
** [name] if it is not a struct of strings. */
static int
param_map(struct rpc_call *c, size_t i, const char *name, struct db_map *m)
{
	const struct xval *v = rpc_call_param(c, i);
	struct db_map tmp = {0};
	size_t j;

	if (v == NULL || !xval_is(v, XVAL_STRUCT))
		goto bad;
	for (j = 0; j < xval_len(v); j++) {
		if (!xval_is(xval_struct_value(v, j), XVAL_STRING))
			goto bad;
		db_map_set(&tmp, xval_struct_name(v, j), xval_string(xval_struct_value(v, j)));
	}
	db_map_clear(m);
	*m = tmp;
	return 0;
bad:
	db_map_clear(&tmp);
	rpc_fail(c, "FIELD_TYPE_ERROR", name, NULL);
	return -1;
}

static void
h_set_other_config(void *arg, struct rpc_call *c)
{
	struct api_ctx *ctx = arg;
	enum api_class cls;
	union api_rec rec;

	if (call_class(c, &cls) < 0) {
		api_fail_db(ctx, c);
		return;
	}
	if (load_param(ctx, c, 0, cls, &rec) < 0)
		return;
	if (param_map(c, 1, "value", rec_other_config(cls, &rec)) == 0)
		store_reply(ctx, c, cls, &rec);
	rec_clear(cls, &rec);
}

/* ---- hand-written methods ---- */

int
api_load_pool(struct api_ctx *ctx, struct rpc_call *c, struct db_pool *pool)
{
	int rc = db_pool_get(ctx->db, pool);

	if (rc == 0)
		return 0;
	if (rc == 1)
		rpc_fail(c, "INTERNAL_ERROR", "the pool database has no pool", NULL);
	else
		api_fail_db(ctx, c);
	return -1;
}

/* "timeout" must be a positive decimal integer that fits an int64. */
static int
timeout_valid(const char *s)
{
	char *end;
	long long v;

	if (s[0] < '0' || s[0] > '9')
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	return errno == 0 && *end == '\0' && v > 0;
}

/* Enabling HA starts a new statefile generation: the slots and verdicts of an
** earlier HA session (a host fenced then, say) must not count in the new
** one, whose engines all start afresh.  Blocking I/O on the loop, once per
** enable, while HA is off (no watchdog is armed).  0, or -1 with the call
** failed (CANNOT_CREATE_STATE_FILE). */
static int
renew_statefile(struct api_ctx *ctx, struct rpc_call *c, const struct db_pool *pool)
{
	uint8_t secret[DB_CLUSTER_KEY_LEN], id[SF_ID_LEN];
	struct db_host *hosts = NULL;
	struct sf_key key;
	size_t n = 0, i;
	uint32_t members = 0;
	uint64_t gen;
	char err[512];
	int rc = -1;

	if (ctx->statefile == NULL || ctx->statefile[0] == '\0' ||
	    db_pool_cluster_key(pool, secret) < 0)
		return 0; /* no statefile here, or a standalone host: nothing to renew */
	if (id_uuid_to_bytes(pool->uuid, id) < 0 || sf_key_derive(secret, sizeof(secret), &key) < 0 ||
	    db_host_list(ctx->db, &hosts, &n) < 0) {
		log_errx("pool.enable_ha: cannot read the pool's statefile key or hosts");
		rpc_fail(c, "CANNOT_CREATE_STATE_FILE", NULL);
		goto out;
	}
	for (i = 0; i < n; i++)
		members += hosts[i].cluster_nodeid != 0;
	if (sf_file_init(ctx->statefile, &key, id, members, SF_INIT_RENEW, &gen, err, sizeof(err)) < 0) {
		log_errx("pool.enable_ha: %s", err);
		rpc_fail(c, "CANNOT_CREATE_STATE_FILE", NULL);
		goto out;
	}
	log_notice("pool.enable_ha: statefile %s renewed: generation %" PRIu64 ", %u hosts",
		   ctx->statefile, gen, members);
	rc = 0;
out:
	memset(secret, 0, sizeof(secret));
	memset(&key, 0, sizeof(key));
	db_host_list_free(hosts, n);
	return rc;
}

/* pool.enable_ha(heartbeat_srs, configuration).  hasvc's statefile is
** configured on each host, so heartbeat_srs must be a set of strings but is
** otherwise ignored.  The HA effects (statefile, liveset, arming) come with
** the HA issues; this validates, records ha_enabled and ha_configuration and
** resets ha_plan_exists_for to 0, as xapi does at enable. */
static void
h_pool_enable_ha(void *arg, struct rpc_call *c)
{
	struct api_ctx *ctx = arg;
	const struct xval *srs = rpc_call_param(c, 0);
	struct db_map conf = {0};
	struct db_pool pool;
	const char *t;
	size_t i;

	if (srs == NULL || !xval_is(srs, XVAL_ARRAY)) {
		rpc_fail(c, "FIELD_TYPE_ERROR", "heartbeat_srs", NULL);
		return;
	}
	for (i = 0; i < xval_len(srs); i++)
		if (!xval_is(xval_array_get(srs, i), XVAL_STRING)) {
			rpc_fail(c, "FIELD_TYPE_ERROR", "heartbeat_srs", NULL);
			return;
		}
	if (param_map(c, 1, "configuration", &conf) < 0)
		return;
	t = db_map_get(&conf, "timeout");
	if (t != NULL && !timeout_valid(t)) {
		rpc_fail(c, "INVALID_VALUE", "timeout", t, NULL);
		goto out;
	}
	if (api_load_pool(ctx, c, &pool) < 0)
		goto out;
	if (pool.ha_enabled) {
		rpc_fail(c, "HA_IS_ENABLED", NULL);
	} else if (renew_statefile(ctx, c, &pool) == 0) {
		pool.ha_enabled = 1;
		pool.ha_plan_exists_for = 0;
		db_map_clear(&pool.ha_configuration);
		pool.ha_configuration = conf;
		conf = (struct db_map){0};
		store_reply(ctx, c, API_POOL, (const union api_rec *)&pool);
	}
	db_pool_clear(&pool);
out:
	db_map_clear(&conf);
}

/* pool.disable_ha(): records ha_enabled false and ha_plan_exists_for 0;
** ha_configuration is kept (the next enable replaces it). */
static void
h_pool_disable_ha(void *arg, struct rpc_call *c)
{
	struct api_ctx *ctx = arg;
	struct db_pool pool;

	if (api_load_pool(ctx, c, &pool) < 0)
		return;
	if (!pool.ha_enabled) {
		rpc_fail(c, "HA_NOT_ENABLED", NULL);
	} else {
		pool.ha_enabled = 0;
		pool.ha_plan_exists_for = 0;
		store_reply(ctx, c, API_POOL, (const union api_rec *)&pool);
	}
	db_pool_clear(&pool);
}

/* A deadline `seconds` from now in the pool's other_config under `key`, as
** wall-clock seconds since the epoch, so that it is replicated and survives
** a master change; 0 removes the key; more than `max` is cut to it (a huge
** count saturates rather than overflow into a deadline in the past).
** Negative: INVALID_VALUE ["seconds", v]. */
static void
store_deadline(struct api_ctx *ctx, struct rpc_call *c, const char *key, int64_t max)
{
	static const struct api_field seconds = {.name = "seconds"};
	struct db_pool pool;
	char buf[32];
	int64_t s, now;

	if (rpc_param_int(c, 0, &s) < 0)
		return;
	if (s < 0) {
		fail_invalid_int(c, &seconds, s);
		return;
	}
	if (api_load_pool(ctx, c, &pool) < 0)
		return;
	if (s == 0) {
		db_map_remove(&pool.other_config, key);
	} else {
		now = clock_wall_s();
		if (s > max)
			s = max;
		snprintf(buf, sizeof(buf), "%lld", (long long)(s > INT64_MAX - now ? INT64_MAX : now + s));
		db_map_set(&pool.other_config, key, buf);
	}
	store_reply(ctx, c, API_POOL, (const union api_rec *)&pool);
	db_pool_clear(&pool);
}

/* pool.ha_prevent_restarts_for(seconds): allowed with HA off (xapi,
** CA-189075); 0 unblocks restarts at once. */
static void
h_pool_prevent_restarts(void *arg, struct rpc_call *c)
{
	store_deadline(arg, c, API_PREVENT_RESTARTS_KEY, INT64_MAX);
}

/* pool.ha_maintenance_for(seconds): opens (or moves the end of, or with 0
** ends) the pool-wide HA maintenance window, replicated to every host (each
** reads it every second, disarms its watchdog and freezes its liveness
** decisions until then).  A request longer than HA_MAINTENANCE_MAX_S is cut
** to it without an error: a forgotten window must not leave the pool
** unprotected for longer than that.  Allowed with HA on or off. */
static void
h_pool_maintenance(void *arg, struct rpc_call *c)
{
	store_deadline(arg, c, HA_MAINTENANCE_KEY, HA_MAINTENANCE_MAX_S);
}

/* A string field of a VM_group.create record or positional param. */
static int
group_arg(struct rpc_call *c, const struct xval *rec, size_t i, const char *name, const char **out)
{
	const struct xval *v;

	if (rec == NULL)
		return rpc_param_string(c, i, out);
	v = xval_struct_get(rec, name);
	if (v == NULL) {
		*out = NULL;
		return 0;
	}
	if (!xval_is(v, XVAL_STRING)) {
		rpc_fail(c, "FIELD_TYPE_ERROR", name, NULL);
		return -1;
	}
	*out = xval_string(v);
	return 0;
}

/* VM_group.create: xapi's generated constructor takes one record
** {name_label, name_description, placement}; the positional form
** (name_label, name_description, placement) is accepted too.  A missing
** member is "" (placement "normal").  Returns the new group's ref. */
static void
h_group_create(void *arg, struct rpc_call *c)
{
	struct api_ctx *ctx = arg;
	const struct xval *rec = NULL;
	const char *label, *desc, *placement;
	struct db_vm_group g;
	int p;

	if (rpc_call_nparams(c) == 1) {
		rec = rpc_call_param(c, 0);
		if (!xval_is(rec, XVAL_STRUCT)) {
			rpc_fail(c, "FIELD_TYPE_ERROR", "args", NULL);
			return;
		}
	} else if (rpc_call_nparams(c) != 3) {
		char given[16];

		snprintf(given, sizeof(given), "%zu", rpc_call_nparams(c));
		rpc_fail(c, "MESSAGE_PARAMETER_COUNT_MISMATCH", rpc_call_method(c), "3", given,
		         NULL);
		return;
	}
	if (group_arg(c, rec, 0, "name_label", &label) < 0 ||
	    group_arg(c, rec, 1, "name_description", &desc) < 0 ||
	    group_arg(c, rec, 2, "placement", &placement) < 0)
		return;
	memset(&g, 0, sizeof(g));
	p = placement != NULL ? db_placement_from_name(placement) : DB_PLACEMENT_NORMAL;
	if (p < 0) {
		rpc_fail(c, "INVALID_VALUE", "placement", placement, NULL);
		return;
	}
	if ((label != NULL && strlen(label) >= sizeof(g.name_label)) ||
	    (desc != NULL && strlen(desc) >= sizeof(g.name_description))) {
		rpc_fail(c, "INVALID_VALUE",
		         label != NULL && strlen(label) >= sizeof(g.name_label)
		             ? "name_label"
		             : "name_description",
		         "too long", NULL);
		return;
	}
	id_uuid_new(g.uuid);
	snprintf(g.name_label, sizeof(g.name_label), "%s", label != NULL ? label : "");
	snprintf(g.name_description, sizeof(g.name_description), "%s", desc != NULL ? desc : "");
	g.placement = (enum db_placement)p;
	if (db_vm_group_put(ctx->db, &g) < 0) {
		api_fail_db(ctx, c);
		return;
	}
	rpc_reply(c, xval_ref(g.uuid));
}

/* <class>.destroy(self) for VM_group (its VMs leave it) and message. */
static void
h_destroy(void *arg, struct rpc_call *c)
{
	struct api_ctx *ctx = arg;
	enum api_class cls;
	union api_rec rec;
	int rc;

	if (call_class(c, &cls) < 0 || NEVER(cls != API_VM_GROUP && cls != API_MESSAGE)) {
		api_fail_db(ctx, c);
		return;
	}
	if (load_param(ctx, c, 0, cls, &rec) < 0)
		return;
	rc = cls == API_VM_GROUP ? db_vm_group_delete(ctx->db, rec.group.uuid)
	                         : db_message_delete(ctx->db, rec.msg.uuid);
	if (rc != 0) {
		api_fail_db(ctx, c);
		return;
	}
	rpc_reply(c, xval_new_string(""));
}

/* ---- registration ---- */

/* Method names must outlive the rpc; they are the same for every context,
** so they are made once and kept for the life of the process. */
static const char *
method_name(const char *cls, const char *verb, const char *field)
{
	static char **names;
	static size_t n, cap;
	char *s = xasprintf("%s.%s%s", cls, verb, field != NULL ? field : "");
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0) {
			xfree(s);
			return names[i];
		}
	if (n == cap) {
		cap = cap ? 2 * cap : 256;
		names = xreallocarray(names, cap, sizeof(*names));
	}
	names[n++] = s;
	return s;
}

/* Param names after the session, for FIELD_TYPE_ERROR [name]. */
static const char *const p_none[] = {NULL};
static const char *const p_self[] = {"self", NULL};
static const char *const p_uuid[] = {"uuid", NULL};
static const char *const p_self_value[] = {"self", "value", NULL};
static const char *const p_self_key[] = {"self", "key", NULL};
static const char *const p_self_key_value[] = {"self", "key", "value", NULL};
static const char *const p_enable_ha[] = {"heartbeat_srs", "configuration", NULL};
static const char *const p_seconds[] = {"seconds", NULL};
static const char *const p_group_create[] = {"name_label", "name_description", "placement", NULL};

void
api_register_method(struct api_ctx *ctx, const char *name, int minp, int maxp, unsigned flags,
                    enum rpc_role role, rpc_handler fn, const char *const *params)
{
	struct rpc_method m = {
	    .name = name,
	    .min_params = minp,
	    .max_params = maxp,
	    .flags = flags,
	    .role = role,
	    .fn = fn,
	    .arg = ctx,
	    .param_names = params,
	};

	if (rpc_register(ctx->rpc, &m) < 0)
		log_warnx("method %s is registered twice; keeping the first", name);
}

void
api_objects_register(struct api_ctx *ctx)
{
	const enum rpc_role ro = RPC_ROLE_READ_ONLY, op = RPC_ROLE_POOL_OPERATOR,
	                    admin = RPC_ROLE_POOL_ADMIN;
	size_t i, j;

	for (i = 0; i < API_NCLASSES; i++) {
		const struct api_classdef *cd = &classes[i];
		const char *cn = cd->name;

		api_register_method(ctx, method_name(cn, "get_all", NULL), 0, 0, 0, ro, h_get_all,
		                    p_none);
		api_register_method(ctx, method_name(cn, "get_all_records", NULL), 0, 0, 0, ro,
		                    h_get_all_records, p_none);
		api_register_method(ctx, method_name(cn, "get_record", NULL), 1, 1, 0, ro,
		                    h_get_record, p_self);
		api_register_method(ctx, method_name(cn, "get_by_uuid", NULL), 1, 1, 0, ro,
		                    h_get_by_uuid, p_uuid);
		for (j = 0; j < cd->nfields; j++) {
			const struct api_field *f = &cd->fields[j];

			api_register_method(ctx, method_name(cn, "get_", f->name), 1, 1, 0, ro,
			                    h_get_field, p_self);
			if (f->set != NULL && ALWAYS(cd->store != NULL))
				api_register_method(ctx, method_name(cn, "set_", f->name), 2, 2,
				                    RPC_WRITE, f->role ? f->role : op, h_set_field,
				                    p_self_value);
		}
		if (cd->other_config_off == NO_OTHER_CONFIG)
			continue;
		api_register_method(ctx, method_name(cn, "add_to_other_config", NULL), 3, 3,
		                    RPC_WRITE, op, h_add_to_other_config, p_self_key_value);
		api_register_method(ctx, method_name(cn, "remove_from_other_config", NULL), 2, 2,
		                    RPC_WRITE, op, h_remove_from_other_config, p_self_key);
		api_register_method(ctx, method_name(cn, "set_other_config", NULL), 2, 2, RPC_WRITE,
		                    op, h_set_other_config, p_self_value);
	}
	api_register_method(ctx, "VM_group.create", 1, 3, RPC_WRITE, admin, h_group_create,
	                    p_group_create);
	api_register_method(ctx, "VM_group.destroy", 1, 1, RPC_WRITE, admin, h_destroy, p_self);
	api_register_method(ctx, "message.destroy", 1, 1, RPC_WRITE, op, h_destroy, p_self);
	api_register_method(ctx, "pool.enable_ha", 2, 2, RPC_WRITE, admin, h_pool_enable_ha,
	                    p_enable_ha);
	api_register_method(ctx, "pool.disable_ha", 0, 0, RPC_WRITE, admin, h_pool_disable_ha,
	                    p_none);
	api_register_method(ctx, "pool.ha_prevent_restarts_for", 1, 1, RPC_WRITE, admin,
	                    h_pool_prevent_restarts, p_seconds);
	api_register_method(ctx, "pool.ha_maintenance_for", 1, 1, RPC_WRITE, admin,
	                    h_pool_maintenance, p_seconds);
	api_users_register(ctx);
}
