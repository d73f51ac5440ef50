/*
** The XAPI object classes: records built from a real pool database (field
** names, types, refs, null refs, maps, DateTimes), and every method driven
** in-process through rpc_handle_raw with JSON-RPC bodies and real sessions:
** getters, setters with good and bad values (and the database changed, or
** not), HA enable/disable errors, RBAC per role, and user management.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "api/jsonrpc.h"
#include "api/passwd.h"
#include "api/xmlrpc.h"
#include "api/rpc.h"
#include "hasvc/api_objects.h"
#include "hasvc/db.h"
#include "lib/clock.h"
#include "lib/ids.h"
#include "lib/xmalloc.h"

#define T_POOL "11111111-0000-4000-8000-000000000000"
#define T_H1   "22222222-0000-4000-8000-000000000001"
#define T_H2   "22222222-0000-4000-8000-000000000002"
/* their host_metrics (api_host_metrics_uuid) */
#define T_M1   "22222222-0000-4000-8000-800000000001"
#define T_M2   "22222222-0000-4000-8000-800000000002"
#define T_VM1  "33333333-0000-4000-8000-000000000001"
#define T_VM2  "33333333-0000-4000-8000-000000000002"
#define T_G1   "44444444-0000-4000-8000-000000000001"
#define T_MSG  "55555555-0000-4000-8000-000000000001"
#define T_NONE "66666666-0000-4000-8000-000000000009"
#define REF(u) "OpaqueRef:" u

static char tmpdir[64];
static char dbpath[128];
static struct db *db;
static struct event_base *base;
static struct rpc *rpc;
static struct api_ctx ctx;
static char s_admin[HA_REF_LEN], s_op[HA_REF_LEN], s_ro[HA_REF_LEN];
static int changes[8]; /* per db_table, counted by the change hook */

#include "tests/unit/api_harness.h"

/* ---- calling methods ---- */

/* Start a call like call() but do not wait: the answer lands in *a. */
static void
call_start(struct answer *a, const char *method, const char *fmt, ...)
{
	char params[4096];
	char *body;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(params, sizeof(params), fmt, ap);
	va_end(ap);
	body = xasprintf("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":[%s]}", method,
	                 params);
	memset(a, 0, sizeof(*a));
	rpc_handle_raw(rpc, "POST", "/jsonrpc", body, strlen(body), "127.0.0.1", on_done, a);
	xfree(body);
}

/* Wait for a call started with call_start; the caller clears the reply. */
static struct xval_reply
call_wait(struct answer *a)
{
	struct xval_reply r = {0};
	char err[XVAL_ERR_MAX];

	while (!a->done)
		assert_int_not_equal(event_base_loop(base, EVLOOP_ONCE), -1);
	assert_int_equal(a->status, 200);
	assert_int_equal(
	    jsonrpc_decode_response(a->body, a->len, 1u << 26, &r, NULL, err, sizeof(err)), 0);
	xfree(a->body);
	a->body = NULL;
	return r;
}

/* A call that must fail with `code` (its params not checked). */
#define CALL_FAILS(code, ...)                                                                      \
	do {                                                                                       \
		struct xval_reply r_ = call(__VA_ARGS__);                                          \
		assert_int_equal(r_.kind, XVAL_REPLY_FAILURE);                                     \
		assert_string_equal(xval_string(xval_array_get(r_.value, 0)), code);               \
		xval_reply_clear(&r_);                                                             \
	} while (0)

static const char *
field_str(const struct xval *rec, const char *name)
{
	const struct xval *v = xval_struct_get(rec, name);

	assert_non_null(v);
	assert_true(xval_is(v, XVAL_STRING));
	return xval_string(v);
}

static int64_t
field_int(const struct xval *rec, const char *name)
{
	const struct xval *v = xval_struct_get(rec, name);

	assert_non_null(v);
	assert_true(xval_is(v, XVAL_INT));
	return xval_int(v);
}

static int
field_bool(const struct xval *rec, const char *name)
{
	const struct xval *v = xval_struct_get(rec, name);

	assert_non_null(v);
	assert_true(xval_is(v, XVAL_BOOL));
	return xval_bool(v);
}

static const struct xval *
field_of(const struct xval *rec, const char *name, enum xval_type t)
{
	const struct xval *v = xval_struct_get(rec, name);

	if (v == NULL)
		print_error("missing field %s\n", name);
	assert_non_null(v);
	assert_int_equal(v->type, t);
	return v;
}

/* ---- fixture ---- */

static void
hook(void *arg, enum db_table table, const char *uuid, enum db_change op)
{
	if ((unsigned)table < 8)
		changes[table]++;
}

static void
seed(void)
{
	struct db_pool pool;
	struct db_host h;
	struct db_vm vm;
	struct db_vm_group g;
	struct db_message m;

	db_pool_init(&pool);
	snprintf(pool.uuid, sizeof(pool.uuid), T_POOL);
	snprintf(pool.name_label, sizeof(pool.name_label), "pool0");
	assert_int_equal(db_pool_put(db, &pool), 0);

	db_host_init(&h);
	snprintf(h.uuid, sizeof(h.uuid), T_H1);
	snprintf(h.name_label, sizeof(h.name_label), "host1");
	snprintf(h.address, sizeof(h.address), "10.0.0.1");
	h.enabled = 1;
	h.live = 1;
	h.memory_total = 8LL << 30;
	h.memory_free = 6LL << 30;
	h.last_updated = 1700000000;
	assert_int_equal(db_host_put(db, &h), 0);
	snprintf(h.uuid, sizeof(h.uuid), T_H2);
	snprintf(h.name_label, sizeof(h.name_label), "host2");
	h.live = 0;
	assert_int_equal(db_host_put(db, &h), 0);
	db_host_clear(&h);

	/* The master can be named only once its host exists. */
	snprintf(pool.master, sizeof(pool.master), T_H1);
	assert_int_equal(db_pool_put(db, &pool), 0);
	db_pool_clear(&pool);

	memset(&g, 0, sizeof(g));
	snprintf(g.uuid, sizeof(g.uuid), T_G1);
	snprintf(g.name_label, sizeof(g.name_label), "web");
	g.placement = DB_PLACEMENT_ANTI_AFFINITY;
	assert_int_equal(db_vm_group_put(db, &g), 0);

	db_vm_init(&vm);
	snprintf(vm.uuid, sizeof(vm.uuid), T_VM1);
	snprintf(vm.name_label, sizeof(vm.name_label), "vm1");
	vm.power_state = DB_POWER_RUNNING;
	snprintf(vm.resident_on, sizeof(vm.resident_on), T_H1);
	vm.memory_static_max = 1LL << 30;
	vm.VCPUs_max = 2;
	vm.ha_restart_priority = DB_PRIO_RESTART;
	vm.ha_always_run = 1;
	vm.ngroups = 1;
	snprintf(vm.groups[0], sizeof(vm.groups[0]), T_G1);
	db_map_set(&vm.other_config, "k", "v");
	assert_int_equal(db_vm_put(db, &vm), 0);
	db_vm_clear(&vm);

	db_vm_init(&vm);
	snprintf(vm.uuid, sizeof(vm.uuid), T_VM2);
	snprintf(vm.name_label, sizeof(vm.name_label), "vm2");
	vm.memory_static_max = 512LL << 20;
	assert_int_equal(db_vm_put(db, &vm), 0);
	db_vm_clear(&vm);

	memset(&m, 0, sizeof(m));
	snprintf(m.uuid, sizeof(m.uuid), T_MSG);
	snprintf(m.name, sizeof(m.name), "HA_HOST_FAILED");
	m.priority = 3;
	snprintf(m.cls, sizeof(m.cls), "Host");
	snprintf(m.obj_uuid, sizeof(m.obj_uuid), T_H2);
	m.timestamp = 1700000000;
	snprintf(m.body, sizeof(m.body), "Server 'host2' has failed");
	assert_int_equal(db_message_add(db, &m), 0);

	add_user("admin", "adminpw", "pool-admin");
	add_user("op", "oppw", "pool-operator");
	add_user("ro", "ropw", "read-only");
}

static int
setup(void **state)
{
	struct rpc_hooks hooks = {.arg = &ctx, .user_lookup = api_user_lookup};
	char err[256];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_api_objects.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/pool.db", tmpdir);
	db = db_open(dbpath, DB_OPEN_CREATE, err, sizeof(err));
	assert_non_null(db);
	seed();
	db_set_change_hook(db, hook, NULL);
	base = event_base_new();
	assert_non_null(base);
	rpc = rpc_new(base, NULL, &hooks);
	assert_non_null(rpc);
	ctx.db = db;
	ctx.rpc = rpc;
	snprintf(ctx.host_uuid, sizeof(ctx.host_uuid), T_H1);
	api_objects_register(&ctx);
	login("admin", "adminpw", s_admin);
	login("op", "oppw", s_op);
	login("ro", "ropw", s_ro);
	return 0;
}

static int
teardown(void **state)
{
	rpc_free(rpc);
	event_base_free(base);
	db_close(db);
	unlink(dbpath);
	{
		char *p = xasprintf("%s-wal", dbpath);

		unlink(p);
		xfree(p);
		p = xasprintf("%s-shm", dbpath);
		unlink(p);
		xfree(p);
	}
	rmdir(tmpdir);
	return 0;
}

/* ---- records, without rpc ---- */

static void
test_class_names(void **state)
{
	assert_string_equal(api_class_name(API_VM), "VM");
	assert_string_equal(api_class_name(API_VM_GROUP), "VM_group");
	assert_string_equal(api_class_name(API_HOST_METRICS), "host_metrics");
	assert_null(api_class_name(API_NCLASSES));
	assert_int_equal(api_class_from_name("vm"), API_VM);
	assert_int_equal(api_class_from_name("vm_group"), API_VM_GROUP);
	assert_int_equal(api_class_from_name("Pool"), API_POOL);
	assert_int_equal(api_class_from_name("task"), API_TASK);
	assert_int_equal(api_class_from_name("SR"), -1);
}

static void
test_record_pool(void **state)
{
	struct xval *r = api_record(db, API_POOL, T_POOL);
	const char *names[] = {"uuid",
	                       "name_label",
	                       "name_description",
	                       "master",
	                       "default_SR",
	                       "ha_enabled",
	                       "ha_configuration",
	                       "ha_statefiles",
	                       "ha_host_failures_to_tolerate",
	                       "ha_plan_exists_for",
	                       "ha_allow_overcommit",
	                       "ha_overcommitted",
	                       "ha_cluster_stack",
	                       "ha_reboot_vm_on_internal_shutdown",
	                       "other_config",
	                       "allowed_operations",
	                       "current_operations"};
	size_t i;

	assert_non_null(r);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_non_null(xval_struct_get(r, names[i]));
	assert_string_equal(field_str(r, "uuid"), T_POOL);
	assert_string_equal(field_str(r, "name_label"), "pool0");
	assert_string_equal(field_str(r, "master"), REF(T_H1));
	assert_string_equal(field_str(r, "default_SR"), "OpaqueRef:NULL");
	assert_false(field_bool(r, "ha_enabled"));
	assert_true(field_bool(r, "ha_reboot_vm_on_internal_shutdown"));
	assert_int_equal(field_int(r, "ha_host_failures_to_tolerate"), 0);
	assert_int_equal(xval_len(field_of(r, "ha_configuration", XVAL_STRUCT)), 0);
	assert_int_equal(xval_len(field_of(r, "ha_statefiles", XVAL_ARRAY)), 0);
	field_of(r, "other_config", XVAL_STRUCT);
	xval_free(r);

	assert_null(api_record(db, API_POOL, T_NONE));
}

static void
test_record_host_and_metrics(void **state)
{
	struct xval *r = api_record(db, API_HOST, T_H1);
	const struct xval *v;

	assert_non_null(r);
	assert_string_equal(field_str(r, "name_label"), "host1");
	assert_string_equal(field_str(r, "address"), "10.0.0.1");
	assert_true(field_bool(r, "enabled"));
	/* Not the host's own ref: refs are unique across classes. */
	assert_string_equal(field_str(r, "metrics"), REF(T_M1));
	v = field_of(r, "resident_VMs", XVAL_ARRAY);
	assert_int_equal(xval_len(v), 1);
	assert_string_equal(xval_string(xval_array_get(v, 0)), REF(T_VM1));
	assert_int_equal(xval_len(field_of(r, "PIFs", XVAL_ARRAY)), 0);
	assert_int_equal(xval_len(field_of(r, "ha_network_peers", XVAL_ARRAY)), 0);
	xval_free(r);

	assert_null(api_record(db, API_HOST_METRICS, T_H1));
	r = api_record(db, API_HOST_METRICS, T_M1);
	assert_non_null(r);
	assert_string_equal(field_str(r, "uuid"), T_M1);
	assert_true(field_bool(r, "live"));
	assert_int_equal(field_int(r, "memory_total"), 8LL << 30);
	assert_int_equal(field_int(r, "memory_free"), 6LL << 30);
	v = field_of(r, "last_updated", XVAL_DATETIME);
	assert_string_equal(xval_string(v), "20231114T22:13:20Z");
	xval_free(r);

	r = api_record(db, API_HOST_METRICS, T_M2);
	assert_false(field_bool(r, "live"));
	xval_free(r);
}

static void
test_record_vm(void **state)
{
	struct xval *r = api_record(db, API_VM, T_VM1);
	const struct xval *v;

	assert_non_null(r);
	assert_string_equal(field_str(r, "uuid"), T_VM1);
	assert_string_equal(field_str(r, "power_state"), "Running");
	assert_string_equal(field_str(r, "resident_on"), REF(T_H1));
	assert_string_equal(field_str(r, "affinity"), "OpaqueRef:NULL");
	assert_string_equal(field_str(r, "scheduled_to_be_resident_on"), "OpaqueRef:NULL");
	assert_string_equal(field_str(r, "ha_restart_priority"), "restart");
	assert_true(field_bool(r, "ha_always_run"));
	assert_false(field_bool(r, "is_a_template"));
	assert_false(field_bool(r, "is_a_snapshot"));
	assert_false(field_bool(r, "is_control_domain"));
	assert_int_equal(field_int(r, "memory_static_max"), 1LL << 30);
	assert_int_equal(field_int(r, "memory_dynamic_max"), 1LL << 30);
	assert_int_equal(field_int(r, "VCPUs_max"), 2);
	assert_int_equal(field_int(r, "order"), 0);
	assert_int_equal(field_int(r, "start_delay"), 0);
	v = field_of(r, "groups", XVAL_ARRAY);
	assert_int_equal(xval_len(v), 1);
	assert_string_equal(xval_string(xval_array_get(v, 0)), REF(T_G1));
	v = field_of(r, "other_config", XVAL_STRUCT);
	assert_int_equal(xval_len(v), 1);
	assert_string_equal(xval_string(xval_struct_get(v, "k")), "v");
	assert_int_equal(xval_len(field_of(r, "VBDs", XVAL_ARRAY)), 0);
	assert_int_equal(xval_len(field_of(r, "VIFs", XVAL_ARRAY)), 0);
	assert_int_equal(xval_len(field_of(r, "allowed_operations", XVAL_ARRAY)), 0);
	xval_free(r);

	r = api_record(db, API_VM, T_VM2);
	assert_string_equal(field_str(r, "power_state"), "Halted");
	assert_string_equal(field_str(r, "resident_on"), "OpaqueRef:NULL");
	assert_string_equal(field_str(r, "ha_restart_priority"), "");
	assert_int_equal(xval_len(field_of(r, "groups", XVAL_ARRAY)), 0);
	xval_free(r);
	assert_null(api_record(db, API_VM, T_NONE));
}

static void
test_record_group_message_task(void **state)
{
	struct xval *r = api_record(db, API_VM_GROUP, T_G1);
	char(*uuids)[HA_UUID_LEN];
	const struct xval *v;
	size_t n;

	assert_non_null(r);
	assert_string_equal(field_str(r, "name_label"), "web");
	assert_string_equal(field_str(r, "name_description"), "");
	assert_string_equal(field_str(r, "placement"), "anti_affinity");
	v = field_of(r, "VMs", XVAL_ARRAY);
	assert_int_equal(xval_len(v), 1);
	assert_string_equal(xval_string(xval_array_get(v, 0)), REF(T_VM1));
	xval_free(r);

	r = api_record(db, API_MESSAGE, T_MSG);
	assert_non_null(r);
	assert_string_equal(field_str(r, "name"), "HA_HOST_FAILED");
	assert_int_equal(field_int(r, "priority"), 3);
	assert_string_equal(field_str(r, "cls"), "Host");
	assert_string_equal(field_str(r, "obj_uuid"), T_H2);
	assert_string_equal(xval_string(field_of(r, "timestamp", XVAL_DATETIME)),
	                    "20231114T22:13:20Z");
	assert_string_equal(field_str(r, "body"), "Server 'host2' has failed");
	xval_free(r);

	assert_null(api_record(db, API_TASK, T_NONE));
	assert_int_equal(api_list(db, API_TASK, &uuids, &n), 0);
	assert_int_equal(n, 0);
	xfree(uuids);

	assert_int_equal(api_list(db, API_HOST, &uuids, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(uuids[0], T_H1);
	assert_string_equal(uuids[1], T_H2);
	xfree(uuids);
	assert_int_equal(api_list(db, API_POOL, &uuids, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(uuids[0], T_POOL);
	xfree(uuids);
	assert_int_equal(api_list(db, API_HOST_METRICS, &uuids, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(uuids[0], T_M1);
	assert_string_equal(uuids[1], T_M2);
	xfree(uuids);
	assert_int_equal(api_list(db, API_VM, &uuids, &n), 0);
	assert_int_equal(n, 2);
	xfree(uuids);
	assert_int_equal(api_list(db, API_MESSAGE, &uuids, &n), 0);
	assert_int_equal(n, 1);
	xfree(uuids);
}

/* ---- getters through rpc ---- */

static void
test_get_all_records(void **state)
{
	struct xval_reply r;
	struct xval *v;

	r = call("VM.get_all_records", "\"%s\"", s_ro);
	v = ok(&r);
	assert_true(xval_is(v, XVAL_STRUCT));
	assert_int_equal(xval_len(v), 2);
	assert_string_equal(field_str(xval_struct_get(v, REF(T_VM1)), "uuid"), T_VM1);
	assert_string_equal(field_str(xval_struct_get(v, REF(T_VM2)), "uuid"), T_VM2);
	/* JSON carries int64 as a bare integer */
	assert_int_equal(field_int(xval_struct_get(v, REF(T_VM1)), "VCPUs_max"), 2);
	xval_reply_clear(&r);

	r = call("pool.get_all_records", "\"%s\"", s_ro);
	v = ok(&r);
	assert_int_equal(xval_len(v), 1);
	assert_string_equal(xval_struct_name(v, 0), REF(T_POOL));
	assert_string_equal(field_str(xval_struct_value(v, 0), "master"), REF(T_H1));
	xval_reply_clear(&r);

	r = call("host.get_all", "\"%s\"", s_ro);
	v = ok(&r);
	assert_int_equal(xval_len(v), 2);
	assert_string_equal(xval_string(xval_array_get(v, 0)), REF(T_H1));
	xval_reply_clear(&r);

	r = call("task.get_all", "\"%s\"", s_ro);
	v = ok(&r);
	assert_true(xval_is(v, XVAL_ARRAY));
	assert_int_equal(xval_len(v), 0);
	xval_reply_clear(&r);
	r = call("task.get_all_records", "\"%s\"", s_ro);
	v = ok(&r);
	assert_true(xval_is(v, XVAL_STRUCT));
	assert_int_equal(xval_len(v), 0);
	xval_reply_clear(&r);

	r = call("message.get_all_records", "\"%s\"", s_ro);
	v = ok(&r);
	assert_int_equal(xval_len(v), 1);
	assert_string_equal(field_str(xval_struct_get(v, REF(T_MSG)), "name"), "HA_HOST_FAILED");
	xval_reply_clear(&r);

	r = call("host_metrics.get_all_records", "\"%s\"", s_ro);
	v = ok(&r);
	assert_int_equal(xval_len(v), 2);
	assert_non_null(xval_struct_get(v, REF(T_M1)));
	assert_null(xval_struct_get(v, REF(T_H1)));
	xval_reply_clear(&r);

	r = call("VM_group.get_all_records", "\"%s\"", s_ro);
	v = ok(&r);
	assert_int_equal(xval_len(v), 1);
	xval_reply_clear(&r);
}

static void
test_get_by_uuid_record_field(void **state)
{
	struct xval_reply r;

	r = call("VM.get_by_uuid", "\"%s\",\"%s\"", s_ro, T_VM2);
	assert_string_equal(xval_string(ok(&r)), REF(T_VM2));
	xval_reply_clear(&r);
	r = call("VM.get_by_uuid", "\"%s\",\"%s\"", s_ro, T_NONE);
	expect_error(&r, "UUID_INVALID", "VM", T_NONE, NULL);
	r = call("host.get_by_uuid", "\"%s\",\"not-a-uuid\"", s_ro);
	expect_error(&r, "UUID_INVALID", "host", "not-a-uuid", NULL);
	/* a VM's uuid is not a host's */
	r = call("host.get_by_uuid", "\"%s\",\"%s\"", s_ro, T_VM1);
	expect_error(&r, "UUID_INVALID", "host", T_VM1, NULL);

	r = call("VM.get_record", "\"%s\",\"%s\"", s_ro, REF(T_NONE));
	expect_error(&r, "HANDLE_INVALID", "VM", REF(T_NONE), NULL);
	r = call("VM.get_record", "\"%s\",\"OpaqueRef:NULL\"", s_ro);
	expect_error(&r, "HANDLE_INVALID", "VM", "OpaqueRef:NULL", NULL);
	r = call("task.get_record", "\"%s\",\"%s\"", s_ro, REF(T_NONE));
	expect_error(&r, "HANDLE_INVALID", "task", REF(T_NONE), NULL);
	r = call("task.get_status", "\"%s\",\"%s\"", s_ro, REF(T_NONE));
	expect_error(&r, "HANDLE_INVALID", "task", REF(T_NONE), NULL);
	r = call("VM.get_order", "\"%s\",7", s_ro);
	expect_error(&r, "FIELD_TYPE_ERROR", "self", NULL);

	r = call("VM.get_record", "\"%s\",\"%s\"", s_ro, REF(T_VM1));
	assert_string_equal(field_str(ok(&r), "name_label"), "vm1");
	xval_reply_clear(&r);
	r = call("VM.get_uuid", "\"%s\",\"%s\"", s_ro, REF(T_VM1));
	assert_string_equal(xval_string(ok(&r)), T_VM1);
	xval_reply_clear(&r);
	r = call("VM.get_ha_restart_priority", "\"%s\",\"%s\"", s_ro, REF(T_VM1));
	assert_string_equal(xval_string(ok(&r)), "restart");
	xval_reply_clear(&r);
	r = call("VM.get_memory_static_max", "\"%s\",\"%s\"", s_ro, REF(T_VM1));
	assert_int_equal(xval_int(ok(&r)), 1LL << 30);
	xval_reply_clear(&r);
	r = call("host.get_metrics", "\"%s\",\"%s\"", s_ro, REF(T_H2));
	assert_string_equal(xval_string(ok(&r)), REF(T_M2));
	xval_reply_clear(&r);
	r = call("host_metrics.get_live", "\"%s\",\"%s\"", s_ro, REF(T_M2));
	assert_false(xval_bool(ok(&r)));
	xval_reply_clear(&r);
	CALL_FAILS("HANDLE_INVALID", "host_metrics.get_live", "\"%s\",\"%s\"", s_ro, REF(T_H2));
	r = call("host_metrics.get_by_uuid", "\"%s\",\"%s\"", s_ro, T_M1);
	assert_string_equal(xval_string(ok(&r)), REF(T_M1));
	xval_reply_clear(&r);
	r = call("host_metrics.get_last_updated", "\"%s\",\"%s\"", s_ro, REF(T_M1));
	/* a DateTime is a string in JSON */
	assert_string_equal(xval_string(ok(&r)), "20231114T22:13:20Z");
	xval_reply_clear(&r);
	r = call("pool.get_ha_configuration", "\"%s\",\"%s\"", s_ro, REF(T_POOL));
	assert_true(xval_is(ok(&r), XVAL_STRUCT));
	xval_reply_clear(&r);
	r = call("VM_group.get_VMs", "\"%s\",\"%s\"", s_ro, REF(T_G1));
	assert_int_equal(xval_len(ok(&r)), 1);
	xval_reply_clear(&r);
	r = call("message.get_priority", "\"%s\",\"%s\"", s_ro, REF(T_MSG));
	assert_int_equal(xval_int(ok(&r)), 3);
	xval_reply_clear(&r);

	/* read-only fields have no setter */
	r = call("VM.set_power_state", "\"%s\",\"%s\",\"Halted\"", s_admin, REF(T_VM1));
	expect_error(&r, "MESSAGE_METHOD_UNKNOWN", "VM.set_power_state", NULL);
	r = call("VM.get_order", "\"%s\"", s_ro);
	assert_int_equal(r.kind, XVAL_REPLY_FAILURE);
	assert_string_equal(xval_string(xval_array_get(r.value, 0)),
	                    "MESSAGE_PARAMETER_COUNT_MISMATCH");
	xval_reply_clear(&r);
}

/* Over XML-RPC, int64 fields travel as strings and DateTimes as
** dateTime.iso8601: the records are the same values, encoded by the codec. */
static void
test_xmlrpc_record(void **state)
{
	struct answer a = {0};
	struct xval_reply r = {0};
	struct xval *params = xval_new_array();
	char err[XVAL_ERR_MAX];
	const struct xval *v;
	char *body;
	size_t len;

	xval_array_append(params, xval_new_string(s_ro));
	xval_array_append(params, xval_new_string(REF(T_M1)));
	body = xmlrpc_encode_call("host_metrics.get_record", params, &len);
	xval_free(params);
	rpc_handle_raw(rpc, "POST", "/", body, len, "127.0.0.1", on_done, &a);
	while (!a.done)
		assert_int_not_equal(event_base_loop(base, EVLOOP_ONCE), -1);
	free(body);
	assert_int_equal(a.status, 200);
	assert_int_equal(xmlrpc_decode_response(a.body, a.len, 1u << 26, &r, err, sizeof(err)), 0);
	xfree(a.body);
	v = ok(&r);
	assert_string_equal(field_str(v, "memory_total"), "8589934592");
	assert_string_equal(xval_string(field_of(v, "last_updated", XVAL_DATETIME)),
	                    "20231114T22:13:20Z");
	assert_true(field_bool(v, "live"));
	xval_reply_clear(&r);
}

/* ---- setters ---- */

static void
load_vm(const char *uuid, struct db_vm *vm)
{
	assert_int_equal(db_vm_get(db, uuid, vm), 0);
}

static void
test_vm_priority(void **state)
{
	struct db_vm vm;
	struct xval_reply r;
	int before = changes[DB_TABLE_VM];

	CALL_VOID("VM.set_ha_restart_priority", "\"%s\",\"%s\",\"best-effort\"", s_op, REF(T_VM2));
	assert_int_equal(changes[DB_TABLE_VM], before + 1);
	load_vm(T_VM2, &vm);
	assert_int_equal(vm.ha_restart_priority, DB_PRIO_BEST_EFFORT);
	assert_false(vm.ha_always_run); /* Halted: unchanged */
	db_vm_clear(&vm);

	r = call("VM.set_ha_restart_priority", "\"%s\",\"%s\",\"always\"", s_op, REF(T_VM2));
	expect_error(&r, "INVALID_VALUE", "ha_restart_priority", "always", NULL);
	r = call("VM.set_ha_restart_priority", "\"%s\",\"%s\",3", s_op, REF(T_VM2));
	expect_error(&r, "FIELD_TYPE_ERROR", "value", NULL);
	r = call("VM.set_ha_restart_priority", "\"%s\",\"%s\",\"restart\"", s_op, REF(T_NONE));
	expect_error(&r, "HANDLE_INVALID", "VM", REF(T_NONE), NULL);
	assert_int_equal(changes[DB_TABLE_VM], before + 1);
	load_vm(T_VM2, &vm);
	assert_int_equal(vm.ha_restart_priority, DB_PRIO_BEST_EFFORT);
	db_vm_clear(&vm);

	/* A Running VM is unprotected and protected at once. */
	CALL_VOID("VM.set_ha_restart_priority", "\"%s\",\"%s\",\"\"", s_op, REF(T_VM1));
	load_vm(T_VM1, &vm);
	assert_int_equal(vm.ha_restart_priority, DB_PRIO_NONE);
	assert_false(vm.ha_always_run);
	db_vm_clear(&vm);
	CALL_VOID("VM.set_ha_restart_priority", "\"%s\",\"%s\",\"restart\"", s_admin, REF(T_VM1));
	load_vm(T_VM1, &vm);
	assert_int_equal(vm.ha_restart_priority, DB_PRIO_RESTART);
	assert_true(vm.ha_always_run);
	db_vm_clear(&vm);

	/* ha_always_run is priority restart / "" */
	CALL_VOID("VM.set_ha_always_run", "\"%s\",\"%s\",false", s_op, REF(T_VM1));
	load_vm(T_VM1, &vm);
	assert_int_equal(vm.ha_restart_priority, DB_PRIO_NONE);
	assert_false(vm.ha_always_run);
	db_vm_clear(&vm);
	CALL_VOID("VM.set_ha_always_run", "\"%s\",\"%s\",true", s_op, REF(T_VM1));
	load_vm(T_VM1, &vm);
	assert_int_equal(vm.ha_restart_priority, DB_PRIO_RESTART);
	assert_true(vm.ha_always_run);
	db_vm_clear(&vm);
	r = call("VM.set_ha_always_run", "\"%s\",\"%s\",\"maybe\"", s_op, REF(T_VM1));
	expect_error(&r, "FIELD_TYPE_ERROR", "value", NULL);
}

static void
test_vm_order_delay_groups(void **state)
{
	struct db_vm vm;
	struct xval_reply r;

	CALL_VOID("VM.set_order", "\"%s\",\"%s\",5", s_op, REF(T_VM2));
	CALL_VOID("VM.set_start_delay", "\"%s\",\"%s\",30", s_op, REF(T_VM2));
	r = call("VM.set_order", "\"%s\",\"%s\",-1", s_op, REF(T_VM2));
	expect_error(&r, "INVALID_VALUE", "order must be non-negative", "-1", NULL);
	r = call("VM.set_start_delay", "\"%s\",\"%s\",-3", s_op, REF(T_VM2));
	expect_error(&r, "INVALID_VALUE", "start_delay must be non-negative", "-3", NULL);
	r = call("VM.set_order", "\"%s\",\"%s\",\"x\"", s_op, REF(T_VM2));
	expect_error(&r, "FIELD_TYPE_ERROR", "value", NULL);
	load_vm(T_VM2, &vm);
	assert_int_equal(vm.order, 5);
	assert_int_equal(vm.start_delay, 30);
	db_vm_clear(&vm);
	/* int64 as a string (XML-RPC clients) */
	CALL_VOID("VM.set_order", "\"%s\",\"%s\",\"7\"", s_op, REF(T_VM2));
	r = call("VM.get_order", "\"%s\",\"%s\"", s_ro, REF(T_VM2));
	assert_int_equal(xval_int(ok(&r)), 7);
	xval_reply_clear(&r);

	CALL_VOID("VM.set_groups", "\"%s\",\"%s\",[\"%s\",\"%s\"]", s_op, REF(T_VM2), REF(T_G1),
	          REF(T_G1));
	load_vm(T_VM2, &vm);
	assert_int_equal(vm.ngroups, 1);
	assert_string_equal(vm.groups[0], T_G1);
	db_vm_clear(&vm);
	r = call("VM.set_groups", "\"%s\",\"%s\",[\"%s\"]", s_op, REF(T_VM2), REF(T_NONE));
	expect_error(&r, "HANDLE_INVALID", "VM_group", REF(T_NONE), NULL);
	r = call("VM.set_groups", "\"%s\",\"%s\",\"%s\"", s_op, REF(T_VM2), REF(T_G1));
	expect_error(&r, "FIELD_TYPE_ERROR", "value", NULL);
	load_vm(T_VM2, &vm);
	assert_int_equal(vm.ngroups, 1);
	db_vm_clear(&vm);
	r = call("VM_group.get_VMs", "\"%s\",\"%s\"", s_ro, REF(T_G1));
	assert_int_equal(xval_len(ok(&r)), 2);
	xval_reply_clear(&r);
	CALL_VOID("VM.set_groups", "\"%s\",\"%s\",[]", s_op, REF(T_VM2));
	load_vm(T_VM2, &vm);
	assert_int_equal(vm.ngroups, 0);
	db_vm_clear(&vm);
}

static void
test_other_config(void **state)
{
	struct db_pool pool;
	struct db_host h;
	struct db_vm vm;
	struct xval_reply r;

	CALL_VOID("VM.add_to_other_config", "\"%s\",\"%s\",\"k2\",\"v2\"", s_op, REF(T_VM1));
	r = call("VM.add_to_other_config", "\"%s\",\"%s\",\"k2\",\"v3\"", s_op, REF(T_VM1));
	expect_error(&r, "MAP_DUPLICATE_KEY", "VM", "other_config", REF(T_VM1), "k2", NULL);
	load_vm(T_VM1, &vm);
	assert_string_equal(db_map_get(&vm.other_config, "k2"), "v2");
	db_vm_clear(&vm);
	CALL_VOID("VM.remove_from_other_config", "\"%s\",\"%s\",\"k2\"", s_op, REF(T_VM1));
	CALL_VOID("VM.remove_from_other_config", "\"%s\",\"%s\",\"absent\"", s_op, REF(T_VM1));
	load_vm(T_VM1, &vm);
	assert_null(db_map_get(&vm.other_config, "k2"));
	assert_string_equal(db_map_get(&vm.other_config, "k"), "v");
	db_vm_clear(&vm);
	CALL_VOID("VM.set_other_config", "\"%s\",\"%s\",{\"a\":\"b\"}", s_op, REF(T_VM1));
	load_vm(T_VM1, &vm);
	assert_int_equal(vm.other_config.n, 1);
	assert_string_equal(db_map_get(&vm.other_config, "a"), "b");
	db_vm_clear(&vm);
	r = call("VM.set_other_config", "\"%s\",\"%s\",{\"a\":1}", s_op, REF(T_VM1));
	expect_error(&r, "FIELD_TYPE_ERROR", "value", NULL);

	/* Xen Orchestra's barrier */
	CALL_VOID("pool.add_to_other_config", "\"%s\",\"%s\",\"xo:barrier:42\",\"\"", s_op,
	          REF(T_POOL));
	assert_int_equal(db_pool_get(db, &pool), 0);
	assert_non_null(db_map_get(&pool.other_config, "xo:barrier:42"));
	db_pool_clear(&pool);
	CALL_VOID("pool.remove_from_other_config", "\"%s\",\"%s\",\"xo:barrier:42\"", s_op,
	          REF(T_POOL));
	assert_int_equal(db_pool_get(db, &pool), 0);
	assert_null(db_map_get(&pool.other_config, "xo:barrier:42"));
	db_pool_clear(&pool);

	CALL_VOID("host.add_to_other_config", "\"%s\",\"%s\",\"rack\",\"r1\"", s_op, REF(T_H2));
	assert_int_equal(db_host_get(db, T_H2, &h), 0);
	assert_string_equal(db_map_get(&h.other_config, "rack"), "r1");
	db_host_clear(&h);

	r = call("pool.add_to_other_config", "\"%s\",\"%s\",\"a\",\"b\"", s_ro, REF(T_POOL));
	assert_int_equal(r.kind, XVAL_REPLY_FAILURE);
	assert_string_equal(xval_string(xval_array_get(r.value, 0)), "RBAC_PERMISSION_DENIED");
	xval_reply_clear(&r);
}

static void
test_pool_setters(void **state)
{
	struct db_pool pool;
	struct xval_reply r;

	/* The pool HA settings are pool-admin's; the operator only reads them. */
	CALL_FAILS("RBAC_PERMISSION_DENIED", "pool.set_ha_allow_overcommit", "\"%s\",\"%s\",true",
	           s_op, REF(T_POOL));
	CALL_FAILS("RBAC_PERMISSION_DENIED", "pool.set_ha_host_failures_to_tolerate",
	           "\"%s\",\"%s\",2", s_op, REF(T_POOL));
	assert_int_equal(db_pool_get(db, &pool), 0);
	assert_false(pool.ha_allow_overcommit);
	assert_int_equal(pool.ha_host_failures_to_tolerate, 0);
	db_pool_clear(&pool);
	CALL_VOID("pool.set_ha_allow_overcommit", "\"%s\",\"%s\",true", s_admin, REF(T_POOL));
	CALL_VOID("pool.set_ha_host_failures_to_tolerate", "\"%s\",\"%s\",2", s_admin,
	          REF(T_POOL));
	r = call("pool.set_ha_host_failures_to_tolerate", "\"%s\",\"%s\",-1", s_admin,
	         REF(T_POOL));
	expect_error(&r, "INVALID_VALUE", "ha_host_failures_to_tolerate", "-1", NULL);
	CALL_VOID("pool.set_name_label", "\"%s\",\"%s\",\"prod\"", s_op, REF(T_POOL));
	CALL_VOID("pool.set_name_description", "\"%s\",\"%s\",\"the pool\"", s_op, REF(T_POOL));
	r = call("pool.set_name_label", "\"%s\",\"%s\",\"x\"", s_op, REF(T_NONE));
	expect_error(&r, "HANDLE_INVALID", "pool", REF(T_NONE), NULL);
	assert_int_equal(db_pool_get(db, &pool), 0);
	assert_true(pool.ha_allow_overcommit);
	assert_int_equal(pool.ha_host_failures_to_tolerate, 2);
	assert_string_equal(pool.name_label, "prod");
	assert_string_equal(pool.name_description, "the pool");
	db_pool_clear(&pool);
}

static void
test_pool_ha(void **state)
{
	struct db_pool pool;
	struct xval_reply r;
	const char *until;
	int64_t now;

	r = call("pool.disable_ha", "\"%s\"", s_admin);
	expect_error(&r, "HA_NOT_ENABLED", NULL);
	r = call("pool.enable_ha", "\"%s\",[],{\"timeout\":\"soon\"}", s_admin);
	expect_error(&r, "INVALID_VALUE", "timeout", "soon", NULL);
	r = call("pool.enable_ha", "\"%s\",[],{\"timeout\":\"0\"}", s_admin);
	expect_error(&r, "INVALID_VALUE", "timeout", "0", NULL);
	r = call("pool.enable_ha", "\"%s\",[],{\"timeout\":\"-5\"}", s_admin);
	expect_error(&r, "INVALID_VALUE", "timeout", "-5", NULL);
	r = call("pool.enable_ha", "\"%s\",\"sr\",{}", s_admin);
	expect_error(&r, "FIELD_TYPE_ERROR", "heartbeat_srs", NULL);
	r = call("pool.enable_ha", "\"%s\",[],[]", s_admin);
	expect_error(&r, "FIELD_TYPE_ERROR", "configuration", NULL);
	r = call("pool.enable_ha", "\"%s\",[],{\"timeout\":\"30\"}", s_op);
	assert_string_equal(xval_string(xval_array_get(r.value, 0)), "RBAC_PERMISSION_DENIED");
	xval_reply_clear(&r);
	assert_int_equal(db_pool_get(db, &pool), 0);
	assert_false(pool.ha_enabled);
	db_pool_clear(&pool);

	CALL_VOID("pool.enable_ha", "\"%s\",[],{\"timeout\":\"30\"}", s_admin);
	assert_int_equal(db_pool_get(db, &pool), 0);
	assert_true(pool.ha_enabled);
	assert_string_equal(db_map_get(&pool.ha_configuration, "timeout"), "30");
	db_pool_clear(&pool);
	r = call("pool.enable_ha", "\"%s\",[],{}", s_admin);
	expect_error(&r, "HA_IS_ENABLED", NULL);
	r = call("pool.disable_ha", "\"%s\"", s_op);
	assert_string_equal(xval_string(xval_array_get(r.value, 0)), "RBAC_PERMISSION_DENIED");
	xval_reply_clear(&r);
	CALL_VOID("pool.disable_ha", "\"%s\"", s_admin);
	assert_int_equal(db_pool_get(db, &pool), 0);
	assert_false(pool.ha_enabled);
	db_pool_clear(&pool);
	r = call("pool.disable_ha", "\"%s\"", s_admin);
	expect_error(&r, "HA_NOT_ENABLED", NULL);

	r = call("pool.ha_prevent_restarts_for", "\"%s\",-1", s_admin);
	expect_error(&r, "INVALID_VALUE", "seconds", "-1", NULL);
	now = clock_wall_s();
	CALL_VOID("pool.ha_prevent_restarts_for", "\"%s\",60", s_admin);
	assert_int_equal(db_pool_get(db, &pool), 0);
	until = db_map_get(&pool.other_config, "hasvc:ha_prevent_restarts_until");
	assert_non_null(until);
	assert_true(atoll(until) >= now + 60 && atoll(until) <= clock_wall_s() + 60);
	db_pool_clear(&pool);
	CALL_VOID("pool.ha_prevent_restarts_for", "\"%s\",0", s_admin);
	assert_int_equal(db_pool_get(db, &pool), 0);
	assert_null(db_map_get(&pool.other_config, "hasvc:ha_prevent_restarts_until"));
	db_pool_clear(&pool);
	/* The largest int64 blocks restarts for ever; it must not wrap into
	** a deadline in the past. */
	CALL_VOID("pool.ha_prevent_restarts_for", "\"%s\",9223372036854775807", s_admin);
	assert_int_equal(db_pool_get(db, &pool), 0);
	until = db_map_get(&pool.other_config, "hasvc:ha_prevent_restarts_until");
	assert_non_null(until);
	assert_string_equal(until, "9223372036854775807");
	db_pool_clear(&pool);
}

/* pool.ha_maintenance_for: the window's end in the pool's other_config,
** cut to HA_MAINTENANCE_MAX_S, removed by 0, with HA on or off. */
static void
test_pool_maintenance(void **state)
{
	static const char key[] = "hasvc:ha_maintenance_until";
	struct db_pool pool;
	struct xval_reply r;
	const char *until;
	int64_t now;

	assert_int_equal(db_pool_get(db, &pool), 0);
	if (pool.ha_enabled)
		CALL_VOID("pool.disable_ha", "\"%s\"", s_admin);
	db_pool_clear(&pool);

	/* HA off. */
	now = clock_wall_s();
	CALL_VOID("pool.ha_maintenance_for", "\"%s\",60", s_admin);
	assert_int_equal(db_pool_get(db, &pool), 0);
	assert_false(pool.ha_enabled);
	until = db_map_get(&pool.other_config, key);
	assert_non_null(until);
	assert_in_range(atoll(until), now + 59, now + 61);
	db_pool_clear(&pool);

	/* Longer than an hour: cut to an hour, not an error. */
	now = clock_wall_s();
	CALL_VOID("pool.ha_maintenance_for", "\"%s\",99999", s_admin);
	assert_int_equal(db_pool_get(db, &pool), 0);
	until = db_map_get(&pool.other_config, key);
	assert_non_null(until);
	assert_in_range(atoll(until), now + 3600 - 1, now + 3600 + 1);
	db_pool_clear(&pool);
	CALL_VOID("pool.ha_maintenance_for", "\"%s\",9223372036854775807", s_admin);
	assert_int_equal(db_pool_get(db, &pool), 0);
	until = db_map_get(&pool.other_config, key);
	assert_non_null(until);
	assert_in_range(atoll(until), now + 3600 - 1, clock_wall_s() + 3600 + 1);
	db_pool_clear(&pool);

	/* 0 ends the window; ending none is not an error. */
	CALL_VOID("pool.ha_maintenance_for", "\"%s\",0", s_admin);
	assert_int_equal(db_pool_get(db, &pool), 0);
	assert_null(db_map_get(&pool.other_config, key));
	db_pool_clear(&pool);
	CALL_VOID("pool.ha_maintenance_for", "\"%s\",0", s_admin);

	/* Refused, writing nothing: a negative count, a wrong type, a missing
	** count, a role below pool-admin. */
	r = call("pool.ha_maintenance_for", "\"%s\",-1", s_admin);
	expect_error(&r, "INVALID_VALUE", "seconds", "-1", NULL);
	r = call("pool.ha_maintenance_for", "\"%s\",\"soon\"", s_admin);
	assert_int_equal(r.kind, XVAL_REPLY_FAILURE);
	xval_reply_clear(&r);
	r = call("pool.ha_maintenance_for", "\"%s\"", s_admin);
	assert_int_equal(r.kind, XVAL_REPLY_FAILURE);
	xval_reply_clear(&r);
	CALL_FAILS("RBAC_PERMISSION_DENIED", "pool.ha_maintenance_for", "\"%s\",60", s_op);
	CALL_FAILS("RBAC_PERMISSION_DENIED", "pool.ha_maintenance_for", "\"%s\",60", s_ro);
	assert_int_equal(db_pool_get(db, &pool), 0);
	assert_null(db_map_get(&pool.other_config, key));
	db_pool_clear(&pool);

	/* HA on: allowed too, and the window leaves HA on. */
	CALL_VOID("pool.enable_ha", "\"%s\",[],{}", s_admin);
	now = clock_wall_s();
	CALL_VOID("pool.ha_maintenance_for", "\"%s\",600", s_admin);
	assert_int_equal(db_pool_get(db, &pool), 0);
	assert_true(pool.ha_enabled);
	until = db_map_get(&pool.other_config, key);
	assert_non_null(until);
	assert_in_range(atoll(until), now + 599, now + 601);
	db_pool_clear(&pool);
	CALL_VOID("pool.ha_maintenance_for", "\"%s\",0", s_admin);
	CALL_VOID("pool.disable_ha", "\"%s\"", s_admin);
	assert_int_equal(db_pool_get(db, &pool), 0);
	assert_null(db_map_get(&pool.other_config, key));
	db_pool_clear(&pool);
}

static void
test_groups_and_messages(void **state)
{
	struct db_vm_group g;
	struct xval_reply r;
	char ref2[HA_REF_LEN], ref3[HA_REF_LEN], uuid[HA_UUID_LEN];

	r = call("VM_group.create", "\"%s\",{\"name_label\":\"db\",\"placement\":\"normal\"}",
	         s_admin);
	snprintf(ref2, sizeof(ref2), "%s", xval_string(ok(&r)));
	xval_reply_clear(&r);
	assert_int_equal(id_ref_to_uuid(ref2, uuid), 0);
	assert_int_equal(db_vm_group_get(db, uuid, &g), 0);
	assert_string_equal(g.name_label, "db");
	assert_int_equal(g.placement, DB_PLACEMENT_NORMAL);

	r = call("VM_group.create", "\"%s\",\"spread\",\"d\",\"anti_affinity\"", s_admin);
	snprintf(ref3, sizeof(ref3), "%s", xval_string(ok(&r)));
	xval_reply_clear(&r);
	assert_int_equal(id_ref_to_uuid(ref3, uuid), 0);
	assert_int_equal(db_vm_group_get(db, uuid, &g), 0);
	assert_string_equal(g.name_description, "d");
	assert_int_equal(g.placement, DB_PLACEMENT_ANTI_AFFINITY);

	r = call("VM_group.create", "\"%s\",\"x\",\"\",\"clustered\"", s_admin);
	expect_error(&r, "INVALID_VALUE", "placement", "clustered", NULL);
	r = call("VM_group.create", "\"%s\",{\"placement\":\"weird\"}", s_admin);
	expect_error(&r, "INVALID_VALUE", "placement", "weird", NULL);
	r = call("VM_group.create", "\"%s\",\"a\",\"b\"", s_admin);
	assert_string_equal(xval_string(xval_array_get(r.value, 0)),
	                    "MESSAGE_PARAMETER_COUNT_MISMATCH");
	xval_reply_clear(&r);
	r = call("VM_group.create", "\"%s\",{\"name_label\":\"n\"}", s_op);
	assert_string_equal(xval_string(xval_array_get(r.value, 0)), "RBAC_PERMISSION_DENIED");
	xval_reply_clear(&r);

	CALL_VOID("VM_group.destroy", "\"%s\",\"%s\"", s_admin, ref2);
	r = call("VM_group.destroy", "\"%s\",\"%s\"", s_admin, ref2);
	expect_error(&r, "HANDLE_INVALID", "VM_group", ref2, NULL);
	CALL_VOID("VM_group.destroy", "\"%s\",\"%s\"", s_admin, ref3);
	r = call("VM_group.get_all", "\"%s\"", s_ro);
	assert_int_equal(xval_len(ok(&r)), 1);
	xval_reply_clear(&r);

	r = call("message.destroy", "\"%s\",\"%s\"", s_ro, REF(T_MSG));
	assert_string_equal(xval_string(xval_array_get(r.value, 0)), "RBAC_PERMISSION_DENIED");
	xval_reply_clear(&r);
	CALL_VOID("message.destroy", "\"%s\",\"%s\"", s_op, REF(T_MSG));
	r = call("message.destroy", "\"%s\",\"%s\"", s_op, REF(T_MSG));
	expect_error(&r, "HANDLE_INVALID", "message", REF(T_MSG), NULL);
	r = call("message.get_all_records", "\"%s\"", s_ro);
	assert_int_equal(xval_len(ok(&r)), 0);
	xval_reply_clear(&r);
}

static void
test_rbac(void **state)
{
	struct xval_reply r;
	struct db_vm vm;

	r = call("VM.set_ha_restart_priority", "\"%s\",\"%s\",\"best-effort\"", s_ro, REF(T_VM2));
	assert_int_equal(r.kind, XVAL_REPLY_FAILURE);
	assert_string_equal(xval_string(xval_array_get(r.value, 0)), "RBAC_PERMISSION_DENIED");
	assert_string_equal(xval_string(xval_array_get(r.value, 1)), "vm.set_ha_restart_priority");
	xval_reply_clear(&r);
	load_vm(T_VM2, &vm);
	assert_int_equal(vm.ha_restart_priority, DB_PRIO_BEST_EFFORT);
	db_vm_clear(&vm);
	CALL_FAILS("RBAC_PERMISSION_DENIED", "VM.set_order", "\"%s\",\"%s\",1", s_ro, REF(T_VM2));

	r = call("VM.get_record", "\"%s\",\"%s\"", s_ro, REF(T_VM2));
	ok(&r);
	xval_reply_clear(&r);
	CALL_VOID("VM.set_ha_restart_priority", "\"%s\",\"%s\",\"\"", s_op, REF(T_VM2));
	r = call("hasvc_user.add", "\"%s\",\"x\",\"pw\",\"read-only\"", s_op);
	assert_string_equal(xval_string(xval_array_get(r.value, 0)), "RBAC_PERMISSION_DENIED");
	xval_reply_clear(&r);
	r = call("VM.get_record", "\"OpaqueRef:%s\",\"%s\"", T_NONE, REF(T_VM2));
	assert_string_equal(xval_string(xval_array_get(r.value, 0)), "SESSION_INVALID");
	xval_reply_clear(&r);
}

static void
test_users(void **state)
{
	char s_new[HA_REF_LEN], s_new2[HA_REF_LEN], hash[PASSWD_HASH_LEN];
	struct xval_reply r;
	struct db_user u;
	enum rpc_role role;
	struct xval *v;

	assert_int_equal(api_user_lookup(&ctx, "nobody", hash, sizeof(hash), &role), 1);
	assert_int_equal(api_user_lookup(&ctx, "op", hash, sizeof(hash), &role), 0);
	assert_int_equal(role, RPC_ROLE_POOL_OPERATOR);
	assert_int_equal(strncmp(hash, "$pbkdf2-sha256$", 15), 0);
	assert_int_equal(api_user_lookup(&ctx, "op", hash, 8, &role), -1);
	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "odd");
	snprintf(u.role, sizeof(u.role), "superuser");
	snprintf(u.password_hash, sizeof(u.password_hash), "x");
	assert_int_equal(db_user_put(db, &u), 0);
	assert_int_equal(api_user_lookup(&ctx, "odd", hash, sizeof(hash), &role), -1);
	assert_int_equal(db_user_delete(db, "odd"), 0);

	CALL_VOID("hasvc_user.add", "\"%s\",\"new\",\"pw1\",\"read-only\"", s_admin);
	assert_int_equal(db_user_get(db, "new", &u), 0);
	assert_string_equal(u.role, "read-only");
	assert_int_equal(passwd_verify("pw1", u.password_hash), 1);
	r = call("hasvc_user.add", "\"%s\",\"new\",\"pw1\",\"read-only\"", s_admin);
	expect_error(&r, "SUBJECT_ALREADY_EXISTS", NULL);
	r = call("hasvc_user.add", "\"%s\",\"other\",\"pw1\",\"god\"", s_admin);
	expect_error(&r, "ROLE_NOT_FOUND", NULL);
	r = call("hasvc_user.add", "\"%s\",\"other\",\"\",\"read-only\"", s_admin);
	expect_error(&r, "INVALID_VALUE", "password", "", NULL);
	r = call("hasvc_user.add", "\"%s\",\"\",\"pw\",\"read-only\"", s_admin);
	expect_error(&r, "INVALID_VALUE", "name", "", NULL);
	assert_int_equal(db_user_get(db, "other", &u), 1);

	login("new", "pw1", s_new);
	r = call("hasvc_user.get_record", "\"%s\",\"new\"", s_admin);
	v = ok(&r);
	assert_int_equal(xval_len(v), 2);
	assert_string_equal(field_str(v, "name"), "new");
	assert_string_equal(field_str(v, "role"), "read-only");
	xval_reply_clear(&r);
	CALL_FAILS("RBAC_PERMISSION_DENIED", "hasvc_user.get_record", "\"%s\",\"new\"", s_new);

	/* a role change ends the user's sessions */
	CALL_VOID("hasvc_user.set_role", "\"%s\",\"new\",\"pool-operator\"", s_admin);
	r = call("VM.get_all", "\"%s\"", s_new);
	assert_string_equal(xval_string(xval_array_get(r.value, 0)), "SESSION_INVALID");
	xval_reply_clear(&r);
	r = call("hasvc_user.set_role", "\"%s\",\"new\",\"boss\"", s_admin);
	expect_error(&r, "ROLE_NOT_FOUND", NULL);
	r = call("hasvc_user.set_role", "\"%s\",\"ghost\",\"read-only\"", s_admin);
	expect_error(&r, "SUBJECT_CANNOT_BE_RESOLVED", NULL);
	login("new", "pw1", s_new);
	CALL_VOID("VM.set_order", "\"%s\",\"%s\",3", s_new, REF(T_VM2));

	/* own password: allowed; someone else's: pool-admin only */
	CALL_FAILS("RBAC_PERMISSION_DENIED", "hasvc_user.set_password", "\"%s\",\"new\",\"x\"",
	           s_ro);
	CALL_VOID("hasvc_user.set_password", "\"%s\",\"new\",\"pw2\"", s_new);
	r = call("session.login_with_password", "\"new\",\"pw1\"");
	assert_string_equal(xval_string(xval_array_get(r.value, 0)),
	                    "SESSION_AUTHENTICATION_FAILED");
	xval_reply_clear(&r);
	login("new", "pw2", s_new2);
	CALL_VOID("hasvc_user.set_password", "\"%s\",\"new\",\"pw3\"", s_admin);
	r = call("VM.get_all", "\"%s\"", s_new2);
	assert_string_equal(xval_string(xval_array_get(r.value, 0)), "SESSION_INVALID");
	xval_reply_clear(&r);
	login("new", "pw3", s_new);

	CALL_VOID("hasvc_user.remove", "\"%s\",\"new\"", s_admin);
	r = call("VM.get_all", "\"%s\"", s_new);
	assert_string_equal(xval_string(xval_array_get(r.value, 0)), "SESSION_INVALID");
	xval_reply_clear(&r);
	r = call("hasvc_user.remove", "\"%s\",\"new\"", s_admin);
	expect_error(&r, "SUBJECT_CANNOT_BE_RESOLVED", NULL);
	assert_int_equal(db_user_get(db, "new", &u), 1);
	CALL_FAILS("RBAC_PERMISSION_DENIED", "hasvc_user.remove", "\"%s\",\"ro\"", s_op);
}

/* Run the loop for about `ms` milliseconds. */
static void
run_for(unsigned ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* hasvc_user.add and set_password hash (0.1-0.3 s of PBKDF2) off the loop:
** the call is answered later, other calls are served meanwhile, and the
** answer reflects the user as it is when the hash is done. */
static void
test_users_deferred(void **state)
{
	struct answer a;
	struct xval_reply r;
	struct db_user u;
	int i;

	call_start(&a, "hasvc_user.add", "\"%s\",\"async1\",\"pw1\",\"read-only\"", s_admin);
	assert_int_equal(a.done, 0);
	r = call("VM.get_all", "\"%s\"", s_ro);
	ok(&r);
	xval_reply_clear(&r);
	/* One hash per calling user at a time. */
	r = call("hasvc_user.add", "\"%s\",\"async2\",\"pw2\",\"read-only\"", s_admin);
	expect_error(&r, "TOO_BUSY", NULL);
	r = call_wait(&a);
	assert_string_equal(xval_string(ok(&r)), "");
	xval_reply_clear(&r);
	assert_int_equal(db_user_get(db, "async1", &u), 0);
	assert_string_equal(u.role, "read-only");
	assert_int_equal(passwd_verify("pw1", u.password_hash), 1);

	/* Changed meanwhile: the new password goes with the current role. */
	call_start(&a, "hasvc_user.set_password", "\"%s\",\"async1\",\"pw2\"", s_admin);
	assert_int_equal(a.done, 0);
	CALL_VOID("hasvc_user.set_role", "\"%s\",\"async1\",\"pool-operator\"", s_admin);
	r = call_wait(&a);
	assert_string_equal(xval_string(ok(&r)), "");
	xval_reply_clear(&r);
	assert_int_equal(db_user_get(db, "async1", &u), 0);
	assert_string_equal(u.role, "pool-operator");
	assert_int_equal(passwd_verify("pw2", u.password_hash), 1);

	/* Removed meanwhile: refused, and not brought back. */
	call_start(&a, "hasvc_user.set_password", "\"%s\",\"async1\",\"pw3\"", s_admin);
	CALL_VOID("hasvc_user.remove", "\"%s\",\"async1\"", s_admin);
	r = call_wait(&a);
	expect_error(&r, "SUBJECT_CANNOT_BE_RESOLVED", NULL);
	assert_int_equal(db_user_get(db, "async1", &u), 1);

	/* Added by someone else meanwhile: SUBJECT_ALREADY_EXISTS, theirs stays. */
	call_start(&a, "hasvc_user.add", "\"%s\",\"async2\",\"pw1\",\"read-only\"", s_admin);
	add_user("async2", "theirs", "pool-operator");
	r = call_wait(&a);
	expect_error(&r, "SUBJECT_ALREADY_EXISTS", NULL);
	assert_int_equal(db_user_get(db, "async2", &u), 0);
	assert_string_equal(u.role, "pool-operator");
	assert_int_equal(passwd_verify("theirs", u.password_hash), 1);

	/* The client goes away: the hash is thrown away when it ends, and
	** holds its slot until then. */
	call_start(&a, "hasvc_user.set_password", "\"%s\",\"async2\",\"gone\"", s_admin);
	assert_int_equal(a.done, 0);
	rpc_raw_abort(rpc, &a);
	for (i = 0; i < 200; i++) {
		r = call("hasvc_user.set_password", "\"%s\",\"async2\",\"pw8\"", s_admin);
		if (r.kind == XVAL_REPLY_SUCCESS)
			break;
		expect_error(&r, "TOO_BUSY", NULL);
		run_for(10);
	}
	assert_true(i > 0 && i < 200);
	xval_reply_clear(&r);
	assert_int_equal(a.done, 0);
	assert_int_equal(db_user_get(db, "async2", &u), 0);
	assert_int_equal(passwd_verify("pw8", u.password_hash), 1);
	assert_int_equal(passwd_verify("gone", u.password_hash), 0);
	CALL_VOID("hasvc_user.remove", "\"%s\",\"async2\"", s_admin);
	explicit_bzero(&u, sizeof(u));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_class_names),
	    cmocka_unit_test(test_record_pool),
	    cmocka_unit_test(test_record_host_and_metrics),
	    cmocka_unit_test(test_record_vm),
	    cmocka_unit_test(test_record_group_message_task),
	    cmocka_unit_test(test_get_all_records),
	    cmocka_unit_test(test_get_by_uuid_record_field),
	    cmocka_unit_test(test_xmlrpc_record),
	    cmocka_unit_test(test_vm_priority),
	    cmocka_unit_test(test_vm_order_delay_groups),
	    cmocka_unit_test(test_other_config),
	    cmocka_unit_test(test_pool_setters),
	    cmocka_unit_test(test_pool_ha),
	    cmocka_unit_test(test_pool_maintenance),
	    cmocka_unit_test(test_groups_and_messages),
	    cmocka_unit_test(test_rbac),
	    cmocka_unit_test(test_users),
	    cmocka_unit_test(test_users_deferred),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
