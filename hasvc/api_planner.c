/*
** The failover planner behind the XAPI (api_planner.h).
**
** Every question builds a fresh model from the pool database (struct
** plan_model, hasvc/plan_model.h, which gives the mapping; hosts usable =
** enabled && live, API_PLANNER_DEFAULT_CPUS and API_PLANNER_VCPU_RATIO_PCT
** as defaults) and asks placement/place.c, so an answer is never staler
** than the database.  The one thing kept is the single-failure plan cache
** (struct plan_cache): the plan of each host's failure and the model it was
** computed from; it is used only when the model built now is identical to
** it (fingerprint, then an exact comparison).
** ntol == -1 (no plan even now) is reported as 0 and overcommitted.  A
** bounded (not exact) ntol is a proven lower bound: answers never over-claim.
**
** Invariants: the DB hook only arms a timer (it runs inside db_commit); the
** status is written only when a value changes, so each transition raises
** its alert once; a cached plan is served only for a model equal to the
** cache's.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "hasvc/api_planner.h"
#include "hasvc/plan_model.h"
#include "lib/check.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "placement/place.h"

/* The single-failure plans and the model they were computed from; m ==
** NULL until the first refresh with a loadable model. */
struct plan_cache {
	struct plan_model *m;
	uint64_t fp;
	uint64_t computed_ms; /* clock_mono_ms() at the recompute */
	struct place_plan *plans[PLACE_MAX_HOSTS];
	struct api_planner_single singles[PLACE_MAX_HOSTS];
	struct api_planner_restart *restarts[PLACE_MAX_HOSTS];
};

struct api_planner {
	struct api_ctx *ctx;
	struct event *timer;
	bool status_dirty; /* a change since the last status update */
	struct plan_cache cache;
	struct api_planner_stats stats;
};

/* Build the model from the database; 0, or -1 with a sentence in err. */
static int
model_load(struct db *db, struct plan_model *m, char *err, size_t errlen)
{
	static const struct plan_model_opts opts = {
	    .default_cpus = API_PLANNER_DEFAULT_CPUS,
	    .vcpu_ratio_pct = API_PLANNER_VCPU_RATIO_PCT,
	};
	struct db_pool pool;
	struct db_host *hosts = NULL;
	struct db_vm *vms = NULL;
	struct db_vm_group *groups = NULL;
	size_t nh = 0, nv = 0, ng = 0;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	db_pool_init(&pool);
	if (db_pool_get(db, &pool) != 0 || db_host_list(db, &hosts, &nh) < 0 ||
	    db_vm_list(db, &vms, &nv) < 0 || db_vm_group_list(db, &groups, &ng) < 0) {
		snprintf(err, errlen, "pool database: %s", db_errmsg(db));
		goto fail;
	}
	rc = plan_model_build(m, &pool, hosts, nh, vms, nv, groups, ng, &opts, err, errlen);
fail:
	db_pool_clear(&pool);
	db_host_list_free(hosts, nh);
	db_vm_list_free(vms, nv);
	xfree(groups);
	return rc;
}

/* ntol as the API reports it: never negative (-1 = 0 and overcommitted). */
static int
model_ntol(const struct plan_model *m)
{
	struct place_ntol r;

	place_ntol(&m->pool, API_PLANNER_BUDGET, &r);
	return r.ntol;
}

/* ---- single-failure plan cache ---- */

/* Why a VM that needed a host has none. */
static const char *
fate_reason(enum place_fate f, enum place_verdict v)
{
	if (f == PLACE_F_EXCUSED)
		return "VM_ALLOWED_HOSTS_ALL_FAILED";
	if (v == PLACE_UNDECIDED)
		return "HA_PLANNER_OUT_OF_BUDGET";
	return "HOST_NOT_ENOUGH_FREE_MEMORY";
}

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL

static uint64_t
fnv(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= b[i];
		h *= FNV_PRIME;
	}
	return h;
}

static uint64_t
fnv_u64(uint64_t h, uint64_t v)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	return fnv(h, b, sizeof(b));
}

/* FNV-1a over every input of the plans, field by field (never struct
** padding): pool scalars, hosts, VMs, and the uuid tables that name them.
** A cache key, not a security check: equal keys are confirmed by
** model_same(). */
static uint64_t
model_fingerprint(const struct plan_model *m)
{
	uint64_t h = FNV_OFFSET;
	int i;

	h = fnv_u64(h, (uint64_t)m->pool.nhosts);
	h = fnv_u64(h, (uint64_t)m->pool.nvms);
	h = fnv_u64(h, m->pool.vcpu_ratio_pct);
	h = fnv_u64(h, m->pool.aa_hard);
	for (i = 0; i < m->nhosts; i++) {
		const struct place_host *x = &m->hosts[i];

		h = fnv_u64(h, x->mem_total);
		h = fnv_u64(h, x->mem_overhead);
		h = fnv_u64(h, x->cpus);
		h = fnv_u64(h, x->usable);
		h = fnv(h, m->huuid[i], HA_UUID_LEN);
	}
	for (i = 0; i < m->nvms; i++) {
		const struct place_vm *v = &m->vms[i];

		h = fnv_u64(h, v->mem);
		h = fnv_u64(h, v->vcpus);
		h = fnv_u64(h, (uint64_t)(int64_t)v->host);
		h = fnv_u64(h, (uint64_t)v->prio);
		h = fnv_u64(h, (uint64_t)(int64_t)v->order);
		h = fnv_u64(h, v->groups);
		h = fnv_u64(h, v->allowed);
		h = fnv(h, m->vuuid[i], HA_UUID_LEN);
	}
	return h;
}

/* The same planning input, compared exactly. */
static bool
model_same(const struct plan_model *a, const struct plan_model *b)
{
	int i;

	if (a->nhosts != b->nhosts || a->nvms != b->nvms ||
	    a->pool.vcpu_ratio_pct != b->pool.vcpu_ratio_pct || a->pool.aa_hard != b->pool.aa_hard)
		return false;
	for (i = 0; i < a->nhosts; i++) {
		const struct place_host *x = &a->hosts[i], *y = &b->hosts[i];

		if (x->mem_total != y->mem_total || x->mem_overhead != y->mem_overhead ||
		    x->cpus != y->cpus || x->usable != y->usable ||
		    strcmp(a->huuid[i], b->huuid[i]) != 0)
			return false;
	}
	for (i = 0; i < a->nvms; i++) {
		const struct place_vm *x = &a->vms[i], *y = &b->vms[i];

		if (x->mem != y->mem || x->vcpus != y->vcpus || x->host != y->host ||
		    x->prio != y->prio || x->order != y->order || x->groups != y->groups ||
		    x->allowed != y->allowed || strcmp(a->vuuid[i], b->vuuid[i]) != 0)
			return false;
	}
	return true;
}

/* Is the cache computed from exactly model m? */
static bool
cache_matches(const struct plan_cache *c, const struct plan_model *m, uint64_t fp)
{
	return c->m != NULL && c->fp == fp && model_same(c->m, m);
}

static void
cache_clear(struct plan_cache *c)
{
	int h;

	if (c->m != NULL) {
		for (h = 0; h < c->m->nhosts; h++) {
			place_plan_free(c->plans[h]);
			xfree(c->restarts[h]);
		}
		plan_model_free(c->m);
		xfree(c->m);
	}
	memset(c, 0, sizeof(*c));
}

/* Restarts by order group, then model order (qsort is not stable). */
static int
restart_cmp(const void *a, const void *b)
{
	const struct api_planner_restart *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->vm_uuid < y->vm_uuid ? -1 : x->vm_uuid > y->vm_uuid; /* vuuid[] order */
}

/* The failover view of plan h of c. */
static void
single_build(struct plan_cache *c, int h)
{
	const struct plan_model *m = c->m;
	const struct place_plan *pl = c->plans[h];
	struct api_planner_single *s = &c->singles[h];
	struct api_planner_restart *r;
	int i, n = 0;

	r = xcalloc((size_t)m->nvms + 1, sizeof(*r));
	for (i = 0; i < m->nvms; i++) {
		if (pl->fate[i] == PLACE_F_STAYS)
			continue;
		r[n].vm_uuid = m->vuuid[i];
		if (pl->fate[i] == PLACE_F_PLACED)
			r[n].host_uuid = m->huuid[pl->target[i]];
		else
			r[n].error_code = fate_reason(pl->fate[i], pl->verdict);
		r[n].order = m->vms[i].order;
		r[n].prio = m->vms[i].prio;
		r[n].resident = m->vms[i].host == h;
		n++;
	}
	qsort(r, (size_t)n, sizeof(*r), restart_cmp);
	c->restarts[h] = r;
	s->host_uuid = m->huuid[h];
	s->verdict = pl->verdict;
	s->spread = pl->spread;
	s->nrestarts = n;
	s->restarts = r;
	s->plan = pl;
}

/* Take model m (heap, now owned): keep the cache if it was computed from
** the same model, else recompute every host's plan from m. */
static void
cache_update(struct api_planner *p, struct plan_model *m)
{
	struct plan_cache *c = &p->cache;
	uint64_t fp = model_fingerprint(m), t0;
	int h;

	p->stats.refreshes++;
	if (cache_matches(c, m, fp)) {
		plan_model_free(m);
		xfree(m);
		return;
	}
	t0 = clock_mono_ns();
	cache_clear(c);
	for (h = 0; h < m->nhosts; h++)
		c->plans[h] = place_plan_new(m->nvms);
	/* One refresh spends at most one planning question's budget in all, so
	** the loop (and the watchdog petting on it) never waits for hosts x a
	** budget: a plan whose share runs out is UNDECIDED, and failover plans
	** that failure on demand. */
	place_single_failure_plans(&m->pool,
				   API_PLANNER_BUDGET / (m->nhosts > 0 ? m->nhosts : 1) + 1,
				   c->plans);
	c->m = m;
	c->fp = fp;
	for (h = 0; h < m->nhosts; h++)
		single_build(c, h);
	c->computed_ms = clock_mono_ms();
	p->stats.recomputes++;
	p->stats.recompute_us = (clock_mono_ns() - t0) / 1000;
	log_debug("single-failure plans recomputed for %d hosts, %d VMs in %llu us", m->nhosts,
		  m->nvms, (unsigned long long)p->stats.recompute_us);
}

static void
arm_timer(struct api_planner *p, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(p->timer, &tv);
}

const struct api_planner_single *
api_planner_single_plan(struct api_planner *p, const char *host_uuid, const char **why)
{
	struct plan_model m;
	char err[256];
	const char *w = NULL;
	int h = -1;

	if (p->cache.m == NULL) {
		w = "no single-failure plans computed yet";
		goto out;
	}
	if (model_load(p->ctx->db, &m, err, sizeof(err)) < 0) {
		w = "the pool database cannot be modelled";
		goto out;
	}
	if (!cache_matches(&p->cache, &m, model_fingerprint(&m))) {
		w = "a change is pending: the plans are not current";
		if (!evtimer_pending(p->timer, NULL))
			arm_timer(p, API_PLANNER_DEBOUNCE_MS);
	} else if ((h = plan_model_host(&m, host_uuid)) < 0) {
		w = "no such host";
	} else if (!m.hosts[h].usable) {
		w = "the host is not usable (disabled or not live)";
	}
	plan_model_free(&m);
	if (w == NULL)
		return &p->cache.singles[h];
out:
	if (why != NULL)
		*why = w;
	return NULL;
}

void
api_planner_stats(const struct api_planner *p, struct api_planner_stats *out)
{
	*out = p->stats;
}

/* ---- plan status ---- */

static void
alert(struct db *db, const struct db_pool *pool, const char *name, const char *body)
{
	struct db_message msg;

	memset(&msg, 0, sizeof(msg));
	snprintf(msg.name, sizeof(msg.name), "%s", name);
	msg.priority = 3;
	snprintf(msg.cls, sizeof(msg.cls), "Pool");
	memcpy(msg.obj_uuid, pool->uuid, HA_UUID_LEN);
	msg.timestamp = clock_wall_s();
	snprintf(msg.body, sizeof(msg.body), "%s", body);
	if (db_message_add(db, &msg) < 0)
		log_warnx("pool %s: alert %s not stored: %s", pool->uuid, name, db_errmsg(db));
}

/* xapi's update_pool_status / mark_pool_as_overcommitted (reference/xapi.md
** §2.5) for an ntol already computed on m. */
static int
status_store(struct db *db, struct plan_model *m, int ntol)
{
	struct db_pool *pool = &m->dbpool;
	int64_t target = pool->ha_host_failures_to_tolerate;
	int64_t pef = ntol < 0 ? 0 : (ntol < target ? ntol : target);
	int over = ntol < target;
	int64_t old_pef = pool->ha_plan_exists_for;
	int old_over = pool->ha_overcommitted;
	char body[DB_TEXT_LEN];

	if (!pool->ha_enabled || (pef == old_pef && over == old_over))
		return 0;
	if (db_begin(db) < 0)
		goto fail;
	pool->ha_plan_exists_for = pef;
	pool->ha_overcommitted = over;
	if (db_pool_put(db, pool) < 0) {
		db_rollback(db);
		goto fail;
	}
	if (pef < old_pef) {
		snprintf(body, sizeof(body), "%lld", (long long)pef);
		alert(db, pool, "HA_POOL_DROP_IN_PLAN_EXISTS_FOR", body);
	}
	if (over && !old_over) {
		snprintf(body, sizeof(body),
			 "The failover tolerance for pool '%s' has dropped and the initially "
			 "specified number of host failures to tolerate can no longer be "
			 "guaranteed",
			 pool->name_label);
		alert(db, pool, "HA_POOL_OVERCOMMITTED", body);
	}
	if (db_commit(db) < 0)
		goto fail;
	log_notice("pool %s: failover plan exists for %lld host failure(s) of %lld%s",
		   pool->uuid, (long long)pef, (long long)target, over ? ", overcommitted" : "");
	return 0;
fail:
	log_warnx("pool %s: storing the plan status failed: %s", pool->uuid, db_errmsg(db));
	return -1;
}

struct status_args {
	struct plan_model *m;
	int ntol;
};

static int
status_store_fn(void *arg, struct db *db)
{
	struct status_args *a = arg;

	return status_store(db, a->m, a->ntol);
}

/* In a clustered pool only the master stores the plan status (every host
** computes the same), as a replicated write. */
static int
store_status(struct api_planner *p, struct plan_model *m, int ntol)
{
	struct status_args a = {m, ntol};

	if (p->ctx->local_write != NULL)
		return p->ctx->local_write(p->ctx->write_arg, 1, status_store_fn, &a) < 0 ? -1 : 0;
	return status_store(p->ctx->db, m, ntol);
}

/* One model load for both: the plan status when status is set (and HA is
** enabled), then the single-failure plan cache. */
static int
refresh(struct api_planner *p, int status)
{
	struct plan_model *m = xcalloc(1, sizeof(*m));
	char err[256];
	int rc = 0;

	if (model_load(p->ctx->db, m, err, sizeof(err)) < 0) {
		log_warnx("failover plan status and single-failure plans not updated: %s", err);
		xfree(m);
		return -1;
	}
	if (status) {
		p->status_dirty = false;
		if (m->dbpool.ha_enabled)
			rc = store_status(p, m, model_ntol(m));
	}
	cache_update(p, m);
	return rc;
}

int
api_planner_update_status(struct api_planner *p)
{
	return refresh(p, 1);
}

/* The debounce, and the first turn of the loop after api_planner_new (when
** only the plans are due: the status waits for a change, as before). */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct api_planner *p = arg;

	(void)refresh(p, p->status_dirty);
}

void
api_planner_db_hook(void *arg, enum db_table table, const char *uuid, enum db_change op)
{
	struct api_planner *p = arg;

	if (p == NULL || (table != DB_TABLE_POOL && table != DB_TABLE_HOST &&
			  table != DB_TABLE_VM && table != DB_TABLE_VM_GROUP))
		return;
	/* event_add on a pending timer moves it: 200 ms after the last change. */
	p->status_dirty = true;
	arm_timer(p, API_PLANNER_DEBOUNCE_MS);
}

/* ---- overcommit protection ---- */

/* xapi's assert_configuration_change_preserves_ha_plan (reference/xapi.md
** §2.7) for a VM whose record would become *vm, or the pool's new target.
** With r = plan_exists_for: allowed if there is no plan for r now (it
** cannot get worse), refused if the new state has none.  For the target,
** as xapi, only when plan_exists_for > 0, and refused when the new target
** is above ntol.  A bounded ntol is a lower bound, so a refusal may be
** cautious, never a wrong yes. */
static int
guard(void *arg, struct rpc_call *c, enum api_class cls, const void *rec)
{
	struct api_planner *p = arg;
	struct plan_model m;
	char err[256];
	int rc = 0, i, now;

	if (model_load(p->ctx->db, &m, err, sizeof(err)) < 0) {
		rpc_fail(c, "INTERNAL_ERROR", err, NULL);
		return -1;
	}
	if (!m.dbpool.ha_enabled || m.dbpool.ha_allow_overcommit)
		goto out;
	if (cls == API_POOL) {
		const struct db_pool *np = rec;

		if (m.dbpool.ha_plan_exists_for > 0 &&
		    np->ha_host_failures_to_tolerate > m.dbpool.ha_host_failures_to_tolerate &&
		    model_ntol(&m) < np->ha_host_failures_to_tolerate)
			rc = -1;
	} else if (cls == API_VM) {
		const struct db_vm *vm = rec;

		i = plan_model_vm(&m, vm->uuid);
		if (i < 0 || plan_model_prio(vm) != PLACE_PROTECTED || m.vms[i].prio == PLACE_PROTECTED)
			goto out; /* only a VM becoming protected can break the plan */
		now = model_ntol(&m);
		if (now < m.dbpool.ha_plan_exists_for)
			goto out;
		m.vms[i].prio = PLACE_PROTECTED;
		if (model_ntol(&m) < m.dbpool.ha_plan_exists_for)
			rc = -1;
	}
	if (rc < 0)
		rpc_fail(c, "HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN", NULL);
out:
	plan_model_free(&m);
	return rc;
}

/* The pool with host_uuid out of service: unusable, its VMs down (so its
** protected ones need a place elsewhere), then ntol against the target. */
int
api_planner_check_host_out(struct api_planner *p, const char *host_uuid, char *why,
			   size_t whylen)
{
	struct plan_model m;
	char err[256];
	int h, i, ntol, rc = 0;

	if (model_load(p->ctx->db, &m, err, sizeof(err)) < 0) {
		snprintf(why, whylen, "%s", err);
		return -1;
	}
	if (!m.dbpool.ha_enabled || m.dbpool.ha_allow_overcommit)
		goto out;
	if ((h = plan_model_host(&m, host_uuid)) < 0) {
		snprintf(why, whylen, "host %s is not in the pool database", host_uuid);
		rc = -1;
		goto out;
	}
	m.hosts[h].usable = false;
	for (i = 0; i < m.nvms; i++)
		if (m.vms[i].host == h)
			m.vms[i].host = PLACE_NONE;
	ntol = model_ntol(&m);
	if (ntol < 0) {
		snprintf(why, whylen,
			 "with host %s out of service its protected VMs cannot all be placed "
			 "on the other hosts",
			 host_uuid);
		rc = 1;
	} else if (ntol < m.dbpool.ha_host_failures_to_tolerate) {
		snprintf(why, whylen,
			 "with host %s out of service the pool tolerates %d host failure(s), "
			 "fewer than ha_host_failures_to_tolerate (%lld)",
			 host_uuid, ntol, (long long)m.dbpool.ha_host_failures_to_tolerate);
		rc = 1;
	}
out:
	plan_model_free(&m);
	return rc;
}

/* ---- methods ---- */

static struct xval *
xval_ref_of(const char *uuid)
{
	char ref[HA_REF_LEN];

	id_ref_from_uuid(ref, uuid);
	return xval_new_string(ref);
}

/* Load the model or fail the call. */
static int
load_or_fail(struct api_planner *p, struct rpc_call *c, struct plan_model *m)
{
	char err[256];

	if (model_load(p->ctx->db, m, err, sizeof(err)) == 0)
		return 0;
	rpc_fail(c, "INTERNAL_ERROR", err, NULL);
	return -1;
}

static void
h_compute_max(void *arg, struct rpc_call *c)
{
	struct api_planner *p = arg;
	struct plan_model m;
	int ntol;

	if (load_or_fail(p, c, &m) < 0)
		return;
	ntol = model_ntol(&m);
	/* As xapi, the call also brings the pool's plan status up to date. */
	if (m.dbpool.ha_enabled)
		(void)store_status(p, &m, ntol);
	rpc_reply(c, xval_new_int(ntol < 0 ? 0 : ntol));
	plan_model_free(&m);
}

/* configuration: VM ref -> "restart" | "best-effort" | "".  As xapi, the
** protected VMs are exactly the "restart" entries (taken as ha_always_run);
** every VM not in the map is unprotected. */
static void
h_compute_hypothetical(void *arg, struct rpc_call *c)
{
	struct api_planner *p = arg;
	const struct xval *conf = rpc_call_param(c, 0);
	struct plan_model m;
	char uuid[HA_UUID_LEN];
	size_t k;
	int i, ntol, prio;

	if (conf == NULL || !xval_is(conf, XVAL_STRUCT)) {
		rpc_fail(c, "FIELD_TYPE_ERROR", "configuration", NULL);
		return;
	}
	if (load_or_fail(p, c, &m) < 0)
		return;
	for (i = 0; i < m.nvms; i++)
		m.vms[i].prio = PLACE_UNPROTECTED;
	for (k = 0; k < xval_len(conf); k++) {
		const char *ref = xval_struct_name(conf, k);
		const struct xval *v = xval_struct_value(conf, k);

		if (id_ref_to_uuid(ref, uuid) < 0 || (i = plan_model_vm(&m, uuid)) < 0) {
			rpc_fail(c, "HANDLE_INVALID", "VM", ref, NULL);
			goto out;
		}
		if (!xval_is(v, XVAL_STRING)) {
			rpc_fail(c, "FIELD_TYPE_ERROR", "configuration", NULL);
			goto out;
		}
		prio = db_restart_priority_from_name(xval_string(v));
		if (prio < 0) {
			rpc_fail(c, "INVALID_VALUE", "ha_restart_priority", xval_string(v), NULL);
			goto out;
		}
		m.vms[i].prio = prio == DB_PRIO_RESTART       ? PLACE_PROTECTED
				: prio == DB_PRIO_BEST_EFFORT ? PLACE_BEST_EFFORT
							      : PLACE_UNPROTECTED;
	}
	ntol = model_ntol(&m);
	rpc_reply(c, xval_new_int(ntol < 0 ? 0 : ntol));
out:
	plan_model_free(&m);
}

/* n -> ntol >= n.  Pinned protected VMs whose hosts all fail are excused
** (docs/planner.md), so unlike xapi they do not make this false. */
static void
h_plan_exists(void *arg, struct rpc_call *c)
{
	struct api_planner *p = arg;
	struct plan_model m;
	int64_t n;

	if (rpc_param_int(c, 0, &n) < 0 || load_or_fail(p, c, &m) < 0)
		return;
	rpc_reply(c, xval_new_bool(n <= model_ntol(&m)));
	plan_model_free(&m);
}

/* A set of refs of hosts (is_vm 0) or VMs into a mask / flag array; -1
** after failing the call (HANDLE_INVALID for an unknown ref). */
static int
ref_set(struct rpc_call *c, size_t i, const char *name, const struct plan_model *m, int is_vm,
	uint64_t *hosts, unsigned char *vms)
{
	const struct xval *v = rpc_call_param(c, i);
	char uuid[HA_UUID_LEN];
	size_t k;
	int x;

	if (v == NULL || !xval_is(v, XVAL_ARRAY)) {
		rpc_fail(c, "FIELD_TYPE_ERROR", name, NULL);
		return -1;
	}
	for (k = 0; k < xval_len(v); k++) {
		const struct xval *it = xval_array_get(v, k);

		if (!xval_is(it, XVAL_STRING)) {
			rpc_fail(c, "FIELD_TYPE_ERROR", name, NULL);
			return -1;
		}
		x = id_ref_to_uuid(xval_string(it), uuid) < 0 ? -1
		    : is_vm                                  ? plan_model_vm(m, uuid)
							     : plan_model_host(m, uuid);
		if (x < 0) {
			rpc_fail(c, "HANDLE_INVALID", is_vm ? "VM" : "host", xval_string(it),
				 NULL);
			return -1;
		}
		if (is_vm)
			vms[x] = 1;
		else
			*hosts |= (uint64_t)1 << x;
	}
	return 0;
}

/* The plan for failed hosts (and VMs, which count as down): every protected
** or best-effort VM that was resident on a failed host, or is in failed_vms,
** maps to {"host": ref} (with "order" for ha_what_if) or {"error_code": why}. */
static void
reply_plan(struct api_planner *p, struct rpc_call *c, int with_vms)
{
	struct plan_model m;
	struct place_plan *plan = NULL;
	const struct place_plan *cached = NULL;
	struct xval *res, *e;
	unsigned char *failed_vm;
	uint64_t failed = 0;
	char buf[32];
	int i, h;

	if (load_or_fail(p, c, &m) < 0)
		return;
	failed_vm = xcalloc((size_t)m.nvms + 1, 1);
	if (ref_set(c, 0, "failed_hosts", &m, 0, &failed, NULL) < 0 ||
	    (with_vms && ref_set(c, 1, "failed_vms", &m, 1, NULL, failed_vm) < 0))
		goto out;
	/* One usable host and the cache is of this very model: its plan is
	** place_plan() of the same input (moving the failed host's VMs to
	** PLACE_NONE below changes no survivor).  An unusable host's cached
	** entry is "all stay", not its plan, so it is planned here. */
	if (!with_vms && failed != 0 && (failed & (failed - 1)) == 0 &&
	    m.hosts[__builtin_ctzll(failed)].usable &&
	    cache_matches(&p->cache, &m, model_fingerprint(&m))) {
		cached = p->cache.plans[__builtin_ctzll(failed)];
		p->stats.cache_answers++;
	}
	for (i = 0; i < m.nvms; i++) {
		h = m.vms[i].host;
		if (h != PLACE_NONE && ((failed >> h) & 1) != 0)
			failed_vm[i] = 1;
		if (failed_vm[i])
			m.vms[i].host = PLACE_NONE;
	}
	if (cached == NULL) {
		plan = place_plan_new(m.nvms);
		place_plan(&m.pool, failed, API_PLANNER_BUDGET, plan);
		cached = plan;
	}
	res = xval_new_struct();
	for (i = 0; i < m.nvms; i++) {
		char ref[HA_REF_LEN];

		if (!failed_vm[i] || m.vms[i].prio == PLACE_UNPROTECTED)
			continue;
		e = xval_new_struct();
		if (cached->fate[i] == PLACE_F_PLACED) {
			xval_struct_add(e, "host", xval_ref_of(m.huuid[cached->target[i]]));
			if (!with_vms) {
				snprintf(buf, sizeof(buf), "%d", m.vms[i].order);
				xval_struct_add(e, "order", xval_new_string(buf));
			}
		} else {
			xval_struct_add(e, "error_code",
					xval_new_string(fate_reason(cached->fate[i], cached->verdict)));
		}
		id_ref_from_uuid(ref, m.vuuid[i]);
		xval_struct_add(res, ref, e);
	}
	rpc_reply(c, res);
out:
	place_plan_free(plan);
	xfree(failed_vm);
	plan_model_free(&m);
}

static void
h_compute_vm_failover_plan(void *arg, struct rpc_call *c)
{
	reply_plan(arg, c, 1);
}

static void
h_what_if(void *arg, struct rpc_call *c)
{
	reply_plan(arg, c, 0);
}

static const char *
verdict_name(enum place_verdict v)
{
	return v == PLACE_YES ? "yes" : v == PLACE_NO ? "no" : "undecided";
}

/* The cache as it stands: {"current": bool, "age_ms": int, "hosts": {host
** ref: {"verdict": "yes" | "no" | "undecided" | "unusable", "restart": n,
** "cannot_restart": n}}}, the counts over protected VMs.  Computed now if it
** never was (the first turn of the loop normally has). */
static void
h_single_failure_plans(void *arg, struct rpc_call *c)
{
	struct api_planner *p = arg;
	struct plan_cache *pc = &p->cache;
	struct plan_model m;
	struct xval *res, *hosts, *e;
	bool current;
	int h, k, ok, bad;

	if (pc->m == NULL)
		(void)refresh(p, 0);
	if (load_or_fail(p, c, &m) < 0)
		return;
	if (NEVER(pc->m == NULL)) { /* refresh() above succeeds when the model loads */
		plan_model_free(&m);
		rpc_fail(c, "INTERNAL_ERROR", "no single-failure plans", NULL);
		return;
	}
	current = cache_matches(pc, &m, model_fingerprint(&m));
	plan_model_free(&m);
	res = xval_new_struct();
	xval_struct_add(res, "current", xval_new_bool(current));
	xval_struct_add(res, "age_ms", xval_new_int((int64_t)(clock_mono_ms() - pc->computed_ms)));
	hosts = xval_new_struct();
	for (h = 0; h < pc->m->nhosts; h++) {
		const struct api_planner_single *s = &pc->singles[h];
		char ref[HA_REF_LEN];

		ok = bad = 0;
		for (k = 0; k < s->nrestarts; k++)
			if (s->restarts[k].prio == PLACE_PROTECTED) {
				if (s->restarts[k].host_uuid != NULL)
					ok++;
				else
					bad++;
			}
		e = xval_new_struct();
		xval_struct_add(e, "verdict",
				xval_new_string(pc->m->hosts[h].usable ? verdict_name(s->verdict)
								       : "unusable"));
		xval_struct_add(e, "restart", xval_new_int(ok));
		xval_struct_add(e, "cannot_restart", xval_new_int(bad));
		id_ref_from_uuid(ref, pc->m->huuid[h]);
		xval_struct_add(hosts, ref, e);
	}
	xval_struct_add(res, "hosts", hosts);
	rpc_reply(c, res);
}

static const char *const p_none[] = {NULL};
static const char *const p_conf[] = {"configuration", NULL};
static const char *const p_n[] = {"n", NULL};
static const char *const p_failed[] = {"failed_hosts", "failed_vms", NULL};
static const char *const p_failed_hosts[] = {"failed_hosts", NULL};

static const struct {
	const char *name;
	int nparams;
	rpc_handler fn;
	const char *const *params;
} methods[] = {
    {"pool.ha_compute_max_host_failures_to_tolerate", 0, h_compute_max, p_none},
    {"pool.ha_compute_hypothetical_max_host_failures_to_tolerate", 1, h_compute_hypothetical,
     p_conf},
    {"pool.ha_failover_plan_exists", 1, h_plan_exists, p_n},
    {"pool.ha_compute_vm_failover_plan", 2, h_compute_vm_failover_plan, p_failed},
    {"pool.ha_what_if", 1, h_what_if, p_failed_hosts},
    {"pool.get_ha_single_failure_plans", 0, h_single_failure_plans, p_none},
};

void
api_planner_register(struct api_planner *p)
{
	struct rpc_method m;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(methods); i++) {
		memset(&m, 0, sizeof(m));
		m.name = methods[i].name;
		m.min_params = m.max_params = methods[i].nparams;
		m.role = RPC_ROLE_READ_ONLY;
		m.fn = methods[i].fn;
		m.arg = p;
		m.param_names = methods[i].params;
		if (rpc_register(p->ctx->rpc, &m) < 0)
			log_warnx("method %s is registered twice; keeping the first", m.name);
	}
}

struct api_planner *
api_planner_new(struct event_base *base, struct api_ctx *ctx)
{
	struct api_planner *p = xcalloc(1, sizeof(*p));

	p->ctx = ctx;
	p->timer = evtimer_new(base, on_timer, p);
	if (p->timer == NULL)
		fatalx("api_planner: cannot create the debounce timer");
	ctx->guard = guard;
	ctx->guard_arg = p;
	/* The plans on the loop's first turn: ready before failover asks. */
	arm_timer(p, 0);
	return p;
}

void
api_planner_free(struct api_planner *p)
{
	if (p == NULL)
		return;
	if (p->ctx->guard_arg == p) {
		p->ctx->guard = NULL;
		p->ctx->guard_arg = NULL;
	}
	event_free(p->timer);
	cache_clear(&p->cache);
	xfree(p);
}
