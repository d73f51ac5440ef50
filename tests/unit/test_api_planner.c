/*
** The planner behind the API (hasvc/api_planner.c), in-process through
** rpc_handle_raw with JSON-RPC bodies: a three-host pool in a real database;
** ntol from the API equal to place_ntol on the same model, the hypothetical
** ntol and its errors, plan_exists, the shapes of ha_compute_vm_failover_plan
** and ha_what_if, overcommit protection with and without ha_allow_overcommit,
** and the plan status with its alerts kept current through the debounce.
**
** The pool: hosts of 8 GiB; vm1 4 GiB on h1, vm2 4 GiB on h2, vm3 2 GiB on
** h3 (all restart), vm5 5 GiB on h3 (unprotected).  One failure is
** tolerated, two are not (ntol 1); vm5 protected leaves no plan for h3's
** failure (ntol 0).
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
#include "api/rpc.h"
#include "hasvc/api_objects.h"
#include "hasvc/api_planner.h"
#include "hasvc/db.h"
#include "lib/ids.h"
#include "lib/xmalloc.h"
#include "placement/place.h"

#define T_POOL "11111111-0000-4000-8000-000000000000"
#define T_H1   "22222222-0000-4000-8000-000000000001"
#define T_H2   "22222222-0000-4000-8000-000000000002"
#define T_H3   "22222222-0000-4000-8000-000000000003"
#define T_VM1  "33333333-0000-4000-8000-000000000001"
#define T_VM2  "33333333-0000-4000-8000-000000000002"
#define T_VM3  "33333333-0000-4000-8000-000000000003"
#define T_VM5  "33333333-0000-4000-8000-000000000005"
#define T_NONE "66666666-0000-4000-8000-000000000009"
#define REF(u) "OpaqueRef:" u
#define GiB    (1LL << 30)

static char tmpdir[64];
static char dbpath[128];
static struct db *db;
static struct event_base *base;
static struct rpc *rpc;
static struct api_ctx ctx;
static struct api_planner *planner;
static char s_admin[HA_REF_LEN], s_op[HA_REF_LEN], s_ro[HA_REF_LEN];

#include "tests/unit/api_harness.h"

/* ---- calling methods ---- */

/* ---- fixture ---- */

static void
put_host(const char *uuid, const char *name)
{
	struct db_host h;

	db_host_init(&h);
	snprintf(h.uuid, sizeof(h.uuid), "%s", uuid);
	snprintf(h.name_label, sizeof(h.name_label), "%s", name);
	h.enabled = 1;
	h.live = 1;
	h.memory_total = 8 * GiB;
	assert_int_equal(db_host_put(db, &h), 0);
	db_host_clear(&h);
}

static void
put_vm(const char *uuid, const char *name, const char *host, int64_t mem,
       enum db_restart_priority prio)
{
	struct db_vm vm;

	db_vm_init(&vm);
	snprintf(vm.uuid, sizeof(vm.uuid), "%s", uuid);
	snprintf(vm.name_label, sizeof(vm.name_label), "%s", name);
	vm.power_state = DB_POWER_RUNNING;
	snprintf(vm.resident_on, sizeof(vm.resident_on), "%s", host);
	vm.memory_static_max = mem;
	vm.VCPUs_max = 1;
	vm.ha_restart_priority = prio;
	vm.ha_always_run = prio == DB_PRIO_RESTART;
	assert_int_equal(db_vm_put(db, &vm), 0);
	db_vm_clear(&vm);
}

static void
seed(void)
{
	struct db_pool pool;

	db_pool_init(&pool);
	snprintf(pool.uuid, sizeof(pool.uuid), T_POOL);
	snprintf(pool.name_label, sizeof(pool.name_label), "pool0");
	pool.ha_enabled = 1;
	pool.ha_host_failures_to_tolerate = 1;
	pool.ha_plan_exists_for = 1;
	assert_int_equal(db_pool_put(db, &pool), 0);
	db_pool_clear(&pool);
	put_host(T_H1, "host1");
	put_host(T_H2, "host2");
	put_host(T_H3, "host3");
	put_vm(T_VM1, "vm1", T_H1, 4 * GiB, DB_PRIO_RESTART);
	put_vm(T_VM2, "vm2", T_H2, 4 * GiB, DB_PRIO_RESTART);
	put_vm(T_VM3, "vm3", T_H3, 2 * GiB, DB_PRIO_RESTART);
	put_vm(T_VM5, "vm5", T_H3, 5 * GiB, DB_PRIO_NONE);
	add_user("admin", "adminpw", "pool-admin");
	add_user("op", "oppw", "pool-operator");
	add_user("ro", "ropw", "read-only");
}

static int
setup(void **state)
{
	struct rpc_hooks hooks = {.arg = &ctx, .user_lookup = api_user_lookup};
	char err[256];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_api_planner.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/pool.db", tmpdir);
	db = db_open(dbpath, DB_OPEN_CREATE, err, sizeof(err));
	assert_non_null(db);
	seed();
	base = event_base_new();
	assert_non_null(base);
	rpc = rpc_new(base, NULL, &hooks);
	assert_non_null(rpc);
	memset(&ctx, 0, sizeof(ctx));
	ctx.db = db;
	ctx.rpc = rpc;
	snprintf(ctx.host_uuid, sizeof(ctx.host_uuid), T_H1);
	api_objects_register(&ctx);
	planner = api_planner_new(base, &ctx);
	api_planner_register(planner);
	db_set_change_hook(db, api_planner_db_hook, planner);
	login("admin", "adminpw", s_admin);
	login("op", "oppw", s_op);
	login("ro", "ropw", s_ro);
	return 0;
}

static int
teardown(void **state)
{
	db_set_change_hook(db, NULL, NULL);
	api_planner_free(planner);
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

/* Run the loop for ms milliseconds (the planner's debounce fires in it). */
static void
run_loop(int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(base, &tv);
	assert_int_not_equal(event_base_dispatch(base), -1);
}

static int64_t
call_int(const char *method, const char *fmt, ...)
{
	struct xval_reply r;
	char params[4096];
	int64_t v;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(params, sizeof(params), fmt, ap);
	va_end(ap);
	r = call(method, "%s", params);
	assert_int_equal(xval_get_int64(ok(&r), &v), 0);
	xval_reply_clear(&r);
	return v;
}

static int
count_messages(const char *name)
{
	struct db_message *m = NULL;
	size_t n = 0, i;
	int k = 0;

	assert_int_equal(db_message_list(db, 0, &m, &n), 0);
	for (i = 0; i < n; i++)
		if (strcmp(m[i].name, name) == 0) {
			assert_int_equal(m[i].priority, 3);
			assert_string_equal(m[i].cls, "Pool");
			assert_string_equal(m[i].obj_uuid, T_POOL);
			k++;
		}
	xfree(m);
	return k;
}

/* ---- tests ---- */

/* The same pool built by hand, as the API's model should be. */
static void
test_ntol_matches_place(void **state)
{
	struct place_host hosts[3];
	struct place_vm vms[4];
	struct place_pool pool = {.nhosts = 3, .hosts = hosts, .nvms = 4, .vms = vms,
				  .vcpu_ratio_pct = API_PLANNER_VCPU_RATIO_PCT};
	const int64_t mem[4] = {4 * GiB, 4 * GiB, 2 * GiB, 5 * GiB};
	const int on[4] = {0, 1, 2, 2};
	struct place_ntol r;
	int i;

	for (i = 0; i < 3; i++)
		hosts[i] = (struct place_host){.mem_total = 8 * GiB, .cpus = 64, .usable = true};
	for (i = 0; i < 4; i++)
		vms[i] = (struct place_vm){.mem = (uint64_t)mem[i], .vcpus = 1, .host = on[i],
					   .prio = i < 3 ? PLACE_PROTECTED : PLACE_UNPROTECTED,
					   .allowed = 7};
	place_ntol(&pool, API_PLANNER_BUDGET, &r);
	assert_true(r.exact);
	assert_int_equal(r.ntol, 1);
	assert_int_equal(call_int("pool.ha_compute_max_host_failures_to_tolerate", "\"%s\"", s_ro),
			 r.ntol);
}

static void
test_hypothetical(void **state)
{
	struct xval_reply r;

	/* vm1 and vm5 only: vm5 fits nowhere if h3 fails. */
	assert_int_equal(
	    call_int("pool.ha_compute_hypothetical_max_host_failures_to_tolerate",
		     "\"%s\",{\"" REF(T_VM1) "\":\"restart\",\"" REF(T_VM5) "\":\"restart\"}",
		     s_ro),
	    0);
	/* vm3 (2 GiB) alone: any two failures leave a host with room. */
	assert_int_equal(call_int("pool.ha_compute_hypothetical_max_host_failures_to_tolerate",
				  "\"%s\",{\"" REF(T_VM3) "\":\"restart\"}", s_ro),
			 2);
	r = call("pool.ha_compute_hypothetical_max_host_failures_to_tolerate",
		 "\"%s\",{\"" REF(T_VM1) "\":\"always\"}", s_ro);
	expect_error(&r, "INVALID_VALUE", "ha_restart_priority", "always", NULL);
	r = call("pool.ha_compute_hypothetical_max_host_failures_to_tolerate",
		 "\"%s\",{\"" REF(T_NONE) "\":\"restart\"}", s_ro);
	expect_error(&r, "HANDLE_INVALID", "VM", REF(T_NONE), NULL);
}

static void
test_plan_exists(void **state)
{
	struct xval_reply r;

	r = call("pool.ha_failover_plan_exists", "\"%s\",1", s_ro);
	assert_true(xval_bool(ok(&r)));
	xval_reply_clear(&r);
	r = call("pool.ha_failover_plan_exists", "\"%s\",2", s_ro);
	assert_false(xval_bool(ok(&r)));
	xval_reply_clear(&r);
}

static void
test_plan_shapes(void **state)
{
	struct xval_reply r;
	const struct xval *v, *e;

	r = call("pool.ha_compute_vm_failover_plan", "\"%s\",[\"" REF(T_H1) "\"],[]", s_ro);
	v = ok(&r);
	assert_int_equal(xval_len(v), 1);
	e = xval_struct_get(v, REF(T_VM1));
	assert_non_null(e);
	assert_string_equal(xval_string(xval_struct_get(e, "host")), REF(T_H2));
	assert_null(xval_struct_get(e, "order"));
	xval_reply_clear(&r);

	/* vm3 failed alone: it restarts beside the others. */
	r = call("pool.ha_compute_vm_failover_plan", "\"%s\",[],[\"" REF(T_VM3) "\"]", s_ro);
	e = xval_struct_get(ok(&r), REF(T_VM3));
	assert_non_null(xval_struct_get(e, "host"));
	xval_reply_clear(&r);

	r = call("pool.ha_what_if", "\"%s\",[\"" REF(T_H1) "\"]", s_ro);
	e = xval_struct_get(ok(&r), REF(T_VM1));
	assert_string_equal(xval_string(xval_struct_get(e, "host")), REF(T_H2));
	assert_string_equal(xval_string(xval_struct_get(e, "order")), "0");
	xval_reply_clear(&r);

	/* Two failures: neither 4 GiB VM fits in h3's 1 GiB. */
	r = call("pool.ha_what_if", "\"%s\",[\"" REF(T_H1) "\",\"" REF(T_H2) "\"]", s_ro);
	v = ok(&r);
	assert_int_equal(xval_len(v), 2);
	e = xval_struct_get(v, REF(T_VM2));
	assert_string_equal(xval_string(xval_struct_get(e, "error_code")),
			    "HOST_NOT_ENOUGH_FREE_MEMORY");
	xval_reply_clear(&r);

	r = call("pool.ha_what_if", "\"%s\",[\"" REF(T_NONE) "\"]", s_ro);
	expect_error(&r, "HANDLE_INVALID", "host", REF(T_NONE), NULL);
	r = call("pool.ha_compute_vm_failover_plan", "\"%s\",[],[\"" REF(T_NONE) "\"]", s_ro);
	expect_error(&r, "HANDLE_INVALID", "VM", REF(T_NONE), NULL);
}

static void
test_overcommit_protection(void **state)
{
	struct db_vm vm;
	struct db_pool pool;
	struct xval_reply r;

	r = call("VM.set_ha_restart_priority", "\"%s\",\"" REF(T_VM5) "\",\"restart\"", s_op);
	expect_error(&r, "HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN", NULL);
	assert_int_equal(db_vm_get(db, T_VM5, &vm), 0);
	assert_int_equal(vm.ha_restart_priority, DB_PRIO_NONE);
	db_vm_clear(&vm);
	r = call("VM.set_ha_always_run", "\"%s\",\"" REF(T_VM5) "\",true", s_op);
	expect_error(&r, "HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN", NULL);
	/* A target above ntol (1). */
	r = call("pool.set_ha_host_failures_to_tolerate", "\"%s\",\"" REF(T_POOL) "\",2", s_admin);
	expect_error(&r, "HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN", NULL);
	assert_int_equal(db_pool_get(db, &pool), 0);
	assert_int_equal(pool.ha_host_failures_to_tolerate, 1);
	db_pool_clear(&pool);
	/* Changes that keep the plan go. */
	CALL_VOID("VM.set_ha_restart_priority", "\"%s\",\"" REF(T_VM5) "\",\"best-effort\"", s_op);
	CALL_VOID("pool.set_ha_host_failures_to_tolerate", "\"%s\",\"" REF(T_POOL) "\",0",
		  s_admin);
	CALL_VOID("pool.set_ha_host_failures_to_tolerate", "\"%s\",\"" REF(T_POOL) "\",1",
		  s_admin);

	CALL_VOID("pool.set_ha_allow_overcommit", "\"%s\",\"" REF(T_POOL) "\",true", s_admin);
	CALL_VOID("VM.set_ha_restart_priority", "\"%s\",\"" REF(T_VM5) "\",\"restart\"", s_op);
	assert_int_equal(db_vm_get(db, T_VM5, &vm), 0);
	assert_int_equal(vm.ha_restart_priority, DB_PRIO_RESTART);
	db_vm_clear(&vm);
}

static void
test_status_and_alerts(void **state)
{
	struct db_pool pool;

	CALL_VOID("pool.set_ha_allow_overcommit", "\"%s\",\"" REF(T_POOL) "\",true", s_admin);
	run_loop(400);
	assert_int_equal(db_pool_get(db, &pool), 0);
	assert_int_equal(pool.ha_plan_exists_for, 1);
	assert_false(pool.ha_overcommitted);
	db_pool_clear(&pool);
	assert_int_equal(count_messages("HA_POOL_OVERCOMMITTED"), 0);

	CALL_VOID("VM.set_ha_restart_priority", "\"%s\",\"" REF(T_VM5) "\",\"restart\"", s_op);
	/* Nothing happens inside the write: the debounce has not run. */
	assert_int_equal(db_pool_get(db, &pool), 0);
	assert_int_equal(pool.ha_plan_exists_for, 1);
	db_pool_clear(&pool);
	run_loop(400);
	assert_int_equal(db_pool_get(db, &pool), 0);
	assert_int_equal(pool.ha_plan_exists_for, 0);
	assert_true(pool.ha_overcommitted);
	db_pool_clear(&pool);
	assert_int_equal(count_messages("HA_POOL_OVERCOMMITTED"), 1);
	assert_int_equal(count_messages("HA_POOL_DROP_IN_PLAN_EXISTS_FOR"), 1);

	/* Another change that leaves the status as it is: no second alert. */
	CALL_VOID("VM.set_order", "\"%s\",\"" REF(T_VM1) "\",3", s_op);
	run_loop(400);
	assert_int_equal(count_messages("HA_POOL_OVERCOMMITTED"), 1);
	assert_int_equal(count_messages("HA_POOL_DROP_IN_PLAN_EXISTS_FOR"), 1);

	/* Back to a plan: overcommitted clears, no alert. */
	CALL_VOID("VM.set_ha_restart_priority", "\"%s\",\"" REF(T_VM5) "\",\"\"", s_op);
	run_loop(400);
	assert_int_equal(db_pool_get(db, &pool), 0);
	assert_int_equal(pool.ha_plan_exists_for, 1);
	assert_false(pool.ha_overcommitted);
	db_pool_clear(&pool);
	assert_int_equal(count_messages("HA_POOL_OVERCOMMITTED"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ntol_matches_place, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hypothetical, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_plan_exists, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_plan_shapes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overcommit_protection, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_and_alerts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
