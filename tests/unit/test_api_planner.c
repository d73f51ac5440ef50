/*
** The planner behind the API (hasvc/api_planner.c), in-process through
** rpc_handle_raw with JSON-RPC bodies: a three-host pool in a real database;
** ntol from the API equal to place_ntol on the same model, the hypothetical
** ntol and its errors, plan_exists, the shapes of ha_compute_vm_failover_plan
** and ha_what_if, overcommit protection with and without ha_allow_overcommit,
** the plan status with its alerts kept current through the debounce, and the
** precomputed single-failure plans: equal to place_plan() on the same model
** (also on a random 9-host pool), stale exactly while a change waits for the
** debounce, kept across a change that leaves the model as it was, serving
** ha_what_if with the on-demand answer, and pool.get_ha_single_failure_plans.
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

/* ---- precomputed single-failure plans ---- */

static const char *const t_hosts[3] = {T_H1, T_H2, T_H3};

/* The fixture's model by hand (VMs in name order: vm1 vm2 vm3 vm5). */
static void
hand_pool(struct place_pool *pool, struct place_host hosts[3], struct place_vm vms[4])
{
	const int64_t mem[4] = {4 * GiB, 4 * GiB, 2 * GiB, 5 * GiB};
	const int on[4] = {0, 1, 2, 2};
	int i;

	for (i = 0; i < 3; i++)
		hosts[i] = (struct place_host){.mem_total = 8 * GiB, .cpus = 64, .usable = true};
	for (i = 0; i < 4; i++)
		vms[i] = (struct place_vm){.mem = (uint64_t)mem[i], .vcpus = 1, .host = on[i],
					   .prio = i < 3 ? PLACE_PROTECTED : PLACE_UNPROTECTED,
					   .allowed = 7};
	*pool = (struct place_pool){.nhosts = 3, .hosts = hosts, .nvms = 4, .vms = vms,
				    .vcpu_ratio_pct = API_PLANNER_VCPU_RATIO_PCT};
}

/* The cached plan of host h equals place_plan(pool, 1 << h) computed now. */
static void
assert_plan_equal(const struct place_pool *pool, int h, const struct place_plan *got)
{
	struct place_plan *want = place_plan_new(pool->nvms);
	int i;

	place_plan(pool, (uint64_t)1 << h, API_PLANNER_BUDGET, want);
	assert_int_equal(got->nvms, pool->nvms);
	assert_int_equal(got->verdict, want->verdict);
	assert_int_equal(got->spread, want->spread);
	for (i = 0; i < pool->nvms; i++) {
		assert_int_equal(got->fate[i], want->fate[i]);
		assert_int_equal(got->target[i], want->target[i]);
	}
	place_plan_free(want);
}

/* pool.ha_what_if [h] (from the cache when current) against
** ha_compute_vm_failover_plan [h] [] (always planned on demand): the same
** VMs with the same target or error. */
static void
assert_what_if_on_demand(const char *host_uuid)
{
	struct xval_reply a, b;
	const struct xval *va, *vb, *ea, *eb, *x, *y;
	size_t i;

	a = call("pool.ha_what_if", "\"%s\",[\"OpaqueRef:%s\"]", s_ro, host_uuid);
	b = call("pool.ha_compute_vm_failover_plan", "\"%s\",[\"OpaqueRef:%s\"],[]", s_ro,
		 host_uuid);
	va = ok(&a);
	vb = ok(&b);
	assert_int_equal(xval_len(va), xval_len(vb));
	for (i = 0; i < xval_len(va); i++) {
		ea = xval_struct_value(va, i);
		eb = xval_struct_get(vb, xval_struct_name(va, i));
		assert_non_null(eb);
		x = xval_struct_get(ea, "host");
		y = xval_struct_get(eb, "host");
		assert_int_equal(x != NULL, y != NULL);
		if (x != NULL) {
			assert_string_equal(xval_string(x), xval_string(y));
			assert_non_null(xval_struct_get(ea, "order"));
		} else {
			assert_string_equal(xval_string(xval_struct_get(ea, "error_code")),
					    xval_string(xval_struct_get(eb, "error_code")));
		}
	}
	xval_reply_clear(&a);
	xval_reply_clear(&b);
}

static void
test_cache_matches_place(void **state)
{
	struct place_host hosts[3];
	struct place_vm vms[4];
	struct place_pool pool;
	struct api_planner_stats st;
	const struct api_planner_single *s;
	const char *why = NULL;
	int h;

	/* Computed at start (the loop turned during login), with no change. */
	api_planner_stats(planner, &st);
	assert_int_equal(st.recomputes, 1);
	hand_pool(&pool, hosts, vms);
	for (h = 0; h < 3; h++) {
		s = api_planner_single_plan(planner, t_hosts[h], &why);
		assert_non_null(s);
		assert_string_equal(s->host_uuid, t_hosts[h]);
		assert_plan_equal(&pool, h, s->plan);
		assert_int_equal(s->verdict, PLACE_YES);
	}
	/* h1's failure: vm1 to h2, order 0, resident. */
	s = api_planner_single_plan(planner, T_H1, NULL);
	assert_int_equal(s->nrestarts, 1);
	assert_string_equal(s->restarts[0].vm_uuid, T_VM1);
	assert_string_equal(s->restarts[0].host_uuid, T_H2);
	assert_null(s->restarts[0].error_code);
	assert_true(s->restarts[0].resident);
	assert_int_equal(s->restarts[0].prio, PLACE_PROTECTED);
	assert_null(api_planner_single_plan(planner, T_NONE, &why));
	assert_string_equal(why, "no such host");
	api_planner_stats(planner, &st);
	assert_int_equal(st.recomputes, 1);
}

static void
test_cache_follows_changes(void **state)
{
	const struct api_planner_single *s, *before;
	struct api_planner_stats st, st2;
	struct db_vm vm;
	const char *why = NULL;
	int k;

	before = api_planner_single_plan(planner, T_H3, NULL);
	assert_non_null(before);
	assert_int_equal(before->nrestarts, 1); /* vm3; vm5 is unprotected */
	assert_what_if_on_demand(T_H3);
	api_planner_stats(planner, &st);
	assert_int_equal(st.cache_answers, 1);

	/* vm5 becomes best-effort: stale until the debounce. */
	CALL_VOID("VM.set_ha_restart_priority", "\"%s\",\"" REF(T_VM5) "\",\"best-effort\"", s_op);
	assert_null(api_planner_single_plan(planner, T_H3, &why));
	assert_string_equal(why, "a change is pending: the plans are not current");
	assert_what_if_on_demand(T_H3); /* on demand now */
	api_planner_stats(planner, &st2);
	assert_int_equal(st2.cache_answers, st.cache_answers);
	assert_int_equal(st2.recomputes, 1);
	run_loop(400);
	api_planner_stats(planner, &st2);
	assert_int_equal(st2.recomputes, 2);
	s = api_planner_single_plan(planner, T_H3, NULL);
	assert_non_null(s);
	assert_int_equal(s->nrestarts, 2);
	for (k = 0; k < s->nrestarts; k++)
		if (strcmp(s->restarts[k].vm_uuid, T_VM5) == 0)
			assert_int_equal(s->restarts[k].prio, PLACE_BEST_EFFORT);
	assert_what_if_on_demand(T_H3);
	api_planner_stats(planner, &st);
	assert_int_equal(st.cache_answers, st2.cache_answers + 1);

	/* A change outside the model (start_delay) fires the debounce but
	** keeps the plans: no recompute, the same cache. */
	assert_int_equal(db_vm_get(db, T_VM1, &vm), 0);
	vm.start_delay = 7; /* not in the model */
	assert_int_equal(db_vm_put(db, &vm), 0);
	db_vm_clear(&vm);
	assert_non_null(api_planner_single_plan(planner, T_H3, NULL)); /* current all along */
	run_loop(400);
	api_planner_stats(planner, &st2);
	assert_int_equal(st2.refreshes, st.refreshes + 1);
	assert_int_equal(st2.recomputes, 2);
	assert_ptr_equal(api_planner_single_plan(planner, T_H3, NULL), s);

	/* A db write that changes the model (memory) makes it stale too. */
	assert_int_equal(db_vm_get(db, T_VM1, &vm), 0);
	vm.memory_static_max = 3 * GiB;
	assert_int_equal(db_vm_put(db, &vm), 0);
	db_vm_clear(&vm);
	assert_null(api_planner_single_plan(planner, T_H1, NULL));
	run_loop(400);
	assert_non_null(api_planner_single_plan(planner, T_H1, NULL));
	api_planner_stats(planner, &st2);
	assert_int_equal(st2.recomputes, 3);
}

/* A pseudo-random 9-host pool (host9 disabled), 30 more VMs of every kind:
** each usable host's cached plan equals place_plan on the same model built by
** hand, and what_if from the cache equals the on-demand plan. */
static void
test_cache_random_pool(void **state)
{
	enum { NH = 9, NV = 34 };
	struct place_host hosts[NH];
	struct place_vm vms[NV];
	struct place_pool pool = {.nhosts = NH, .hosts = hosts, .nvms = NV, .vms = vms,
				  .vcpu_ratio_pct = API_PLANNER_VCPU_RATIO_PCT};
	char huuid[NH][HA_UUID_LEN], name[32], list[2 * HA_UUID_LEN + 2];
	struct place_host h3[3];
	struct place_pool p3;
	const struct api_planner_single *s;
	struct api_planner_stats st, st2;
	const char *why;
	uint32_t rnd = 12345;
	struct db_host dh;
	struct db_vm vm;
	int h, i, r;

	for (h = 0; h < NH; h++) {
		if (h < 3) {
			snprintf(huuid[h], HA_UUID_LEN, "%s", t_hosts[h]);
		} else {
			snprintf(huuid[h], HA_UUID_LEN, "22222222-0000-4000-8000-0000000000%02d",
				 h + 1);
			snprintf(name, sizeof(name), "host%d", h + 1);
			put_host(huuid[h], name);
		}
		hosts[h] = (struct place_host){.mem_total = 8 * GiB, .cpus = 64, .usable = true};
	}
	assert_int_equal(db_host_get(db, huuid[NH - 1], &dh), 0);
	dh.enabled = 0;
	assert_int_equal(db_host_put(db, &dh), 0);
	db_host_clear(&dh);
	hosts[NH - 1].usable = false;
	hand_pool(&p3, h3, vms); /* vm1 vm2 vm3 vm5 */
	for (i = 0; i < 4; i++)
		vms[i].allowed = (1u << NH) - 1;
	for (i = 4; i < NV; i++) {
		char uuid[HA_UUID_LEN];

		rnd = rnd * 1103515245u + 12345u;
		r = (int)(rnd >> 8);
		snprintf(uuid, sizeof(uuid), "44444444-0000-4000-8000-0000000000%02d", i);
		snprintf(name, sizeof(name), "w%02d", i);
		db_vm_init(&vm);
		snprintf(vm.uuid, sizeof(vm.uuid), "%s", uuid);
		snprintf(vm.name_label, sizeof(vm.name_label), "%s", name);
		vm.memory_static_max = GiB / 2 + (int64_t)(r % 5) * (GiB / 2);
		vm.VCPUs_max = 1 + r % 4;
		vm.ha_restart_priority = (r >> 4) % 3 == 0   ? DB_PRIO_BEST_EFFORT
					 : (r >> 4) % 3 == 1 ? DB_PRIO_RESTART
							     : DB_PRIO_NONE;
		vm.ha_always_run = vm.ha_restart_priority == DB_PRIO_RESTART;
		vms[i] = (struct place_vm){.mem = (uint64_t)vm.memory_static_max,
					   .vcpus = (uint32_t)vm.VCPUs_max,
					   .host = PLACE_NONE,
					   .prio = vm.ha_always_run ? PLACE_PROTECTED
						   : vm.ha_restart_priority == DB_PRIO_BEST_EFFORT
						       ? PLACE_BEST_EFFORT
						       : PLACE_UNPROTECTED,
					   .order = (r >> 6) % 3,
					   .allowed = (1u << NH) - 1};
		vm.order = vms[i].order;
		if ((r >> 8) % 8 != 0) { /* else halted */
			h = (r >> 11) % NH;
			vm.power_state = DB_POWER_RUNNING;
			snprintf(vm.resident_on, sizeof(vm.resident_on), "%s", huuid[h]);
			vms[i].host = h;
		}
		if ((r >> 15) % 6 == 0) { /* pinned to its host and the next */
			h = vms[i].host == PLACE_NONE ? 0 : vms[i].host;
			snprintf(list, sizeof(list), "%s,%s", huuid[h], huuid[(h + 1) % NH]);
			db_map_set(&vm.other_config, "hasvc:allowed_hosts", list);
			vms[i].allowed = (1u << h) | (1u << ((h + 1) % NH));
		}
		assert_int_equal(db_vm_put(db, &vm), 0);
		db_vm_clear(&vm);
	}
	run_loop(400);
	api_planner_stats(planner, &st);
	assert_int_equal(st.recomputes, 2);
	for (h = 0; h < NH; h++) {
		s = api_planner_single_plan(planner, huuid[h], &why);
		if (!hosts[h].usable) {
			assert_null(s);
			assert_string_equal(why, "the host is not usable (disabled or not live)");
		} else {
			assert_non_null(s);
			assert_plan_equal(&pool, h, s->plan);
		}
		assert_what_if_on_demand(huuid[h]);
	}
	api_planner_stats(planner, &st2);
	assert_int_equal(st2.cache_answers, st.cache_answers + NH - 1);
	assert_int_equal(st2.recomputes, 2);
}

static void
test_single_failure_plans_method(void **state)
{
	struct xval_reply r;
	const struct xval *v, *hs, *e;
	int64_t n;
	int h;

	r = call("pool.get_ha_single_failure_plans", "\"%s\"", s_ro);
	v = ok(&r);
	assert_true(xval_bool(xval_struct_get(v, "current")));
	assert_int_equal(xval_get_int64(xval_struct_get(v, "age_ms"), &n), 0);
	assert_true(n >= 0);
	hs = xval_struct_get(v, "hosts");
	assert_int_equal(xval_len(hs), 3);
	for (h = 0; h < 3; h++) {
		char ref[HA_REF_LEN];

		id_ref_from_uuid(ref, t_hosts[h]);
		e = xval_struct_get(hs, ref);
		assert_non_null(e);
		assert_string_equal(xval_string(xval_struct_get(e, "verdict")), "yes");
		assert_int_equal(xval_get_int64(xval_struct_get(e, "restart"), &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(xval_get_int64(xval_struct_get(e, "cannot_restart"), &n), 0);
		assert_int_equal(n, 0);
	}
	xval_reply_clear(&r);

	/* vm5 protected (overcommit allowed): no plan for h3, and not current
	** until the debounce. */
	CALL_VOID("pool.set_ha_allow_overcommit", "\"%s\",\"" REF(T_POOL) "\",true", s_admin);
	CALL_VOID("VM.set_ha_restart_priority", "\"%s\",\"" REF(T_VM5) "\",\"restart\"", s_op);
	r = call("pool.get_ha_single_failure_plans", "\"%s\"", s_ro);
	assert_false(xval_bool(xval_struct_get(ok(&r), "current")));
	xval_reply_clear(&r);
	run_loop(400);
	r = call("pool.get_ha_single_failure_plans", "\"%s\"", s_ro);
	v = ok(&r);
	assert_true(xval_bool(xval_struct_get(v, "current")));
	e = xval_struct_get(xval_struct_get(v, "hosts"), REF(T_H3));
	assert_string_equal(xval_string(xval_struct_get(e, "verdict")), "no");
	assert_int_equal(xval_get_int64(xval_struct_get(e, "cannot_restart"), &n), 0);
	assert_int_equal(n, 2);
	xval_reply_clear(&r);
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
	    cmocka_unit_test_setup_teardown(test_cache_matches_place, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cache_follows_changes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cache_random_pool, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_single_failure_plans_method, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
