/*
** The failover planner (placement/place.h) behind the XAPI: the pool
** database turned into a struct place_pool, the planning methods of pool,
** the upkeep of pool.ha_plan_exists_for / ha_overcommitted with their alerts,
** and overcommit protection (HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN) as the
** guard of struct api_ctx.  Everything runs on the event loop; see
** docs/planner.md ("The API") for the model's mapping and its defaults.
*/
#ifndef HASVC_HASVC_API_PLANNER_H
#define HASVC_HASVC_API_PLANNER_H

#include <stdbool.h>
#include <stdint.h>

#include "hasvc/api_objects.h"
#include "hasvc/db.h"
#include "placement/place.h"

struct event_base;
struct api_planner;

/* Search nodes per planning question (~50 ms at 64 hosts, docs/planner.md). */
#define API_PLANNER_BUDGET 500000L
/* The plan status is recomputed this long after the last relevant change. */
#define API_PLANNER_DEBOUNCE_MS 200
/* Host other_config "cpus" when absent (the DB has no CPU count). */
#define API_PLANNER_DEFAULT_CPUS 64
/* vCPUs per 100 pCPUs unless pool other_config "hasvc:vcpu_ratio_pct" says. */
#define API_PLANNER_VCPU_RATIO_PCT 400

/* A planner over ctx->db and ctx->rpc (both must outlive it); its timer runs
** on base.  It installs itself as ctx->guard, and arms its timer at once so
** that the single-failure plans are computed on the loop's first turn (the
** plan status is left alone until a change).  _free(NULL) is a no-op. */
struct api_planner *api_planner_new(struct event_base *base, struct api_ctx *ctx);
void api_planner_free(struct api_planner *p);

/* Register pool.ha_compute_max_host_failures_to_tolerate,
** ha_compute_hypothetical_max_host_failures_to_tolerate,
** ha_failover_plan_exists, ha_compute_vm_failover_plan and the hasvc
** extensions pool.ha_what_if and pool.get_ha_single_failure_plans
** (read-only role). */
void api_planner_register(struct api_planner *p);

/* A db_change_hook (arg = the planner): a committed change of a host, VM, VM
** group or the pool (re)arms the debounce timer; nothing is computed here. */
void api_planner_db_hook(void *arg, enum db_table table, const char *uuid, enum db_change op);

/* Recompute ntol now and, if HA is enabled, store plan_exists_for and
** overcommitted when they changed, with their alerts, in one transaction;
** then bring the single-failure plans up to date (as the debounce does).
** 0 ok, -1 on a database error or a pool the planner cannot model (logged). */
int api_planner_update_status(struct api_planner *p);

/*
** Precomputed single-failure plans (docs/planner.md, "Precomputed
** single-failure plans").  The planner keeps, for every host of the model,
** place_single_failure_plans()' plan of its failure alone, with the model it
** was computed from.  It is recomputed by the debounce timer (and at start)
** only when the model changed; the model is compared exactly, a 64-bit
** FNV-1a fingerprint of it being only the fast reject.
*/

/* One VM the plan starts when the host fails. */
struct api_planner_restart {
	const char *vm_uuid;
	const char *host_uuid;  /* target; NULL when it cannot restart */
	const char *error_code; /* NULL when placed, else the XAPI reason:
	                        ** VM_ALLOWED_HOSTS_ALL_FAILED (excused),
	                        ** HOST_NOT_ENOUGH_FREE_MEMORY, HA_PLANNER_OUT_OF_BUDGET */
	int order;              /* restart order group (VM.order) */
	enum place_prio prio;   /* PLACE_PROTECTED or PLACE_BEST_EFFORT */
	bool resident;          /* it ran on the failed host (else it was halted or on
	                        ** an unusable host and the plan starts it too) */
};

/* The plan for the failure of one host: every VM that does not stay where
** it is (fate PLACED, EXCUSED or NO_ROOM), by order group, then model order. */
struct api_planner_single {
	const char *host_uuid;
	enum place_verdict verdict;
	bool spread; /* soft anti-affinity kept */
	int nrestarts;
	const struct api_planner_restart *restarts;
	const struct place_plan *plan; /* raw, indexed by the cached model's VMs */
};

/*
** The cached plan for host_uuid's failure, or NULL (with a reason in *why
** if why is not NULL): no cache yet, the host is not in the model or not
** usable (enabled && live: place_single_failure_plans keeps no plan for it),
** the database cannot be modelled, or the cache is not current: the model
** built from the database now differs from the cache's, i.e. a change is
** waiting for the debounce (the timer is armed if it was not).  On NULL the
** caller plans on demand (place_plan on a fresh model).  The check loads the
** model (about 8 ms at 64 hosts x 1 500 VMs), it never plans.  The result
** belongs to the planner and stays valid until control returns to the event
** loop or api_planner_update_status() runs.
*/
const struct api_planner_single *api_planner_single_plan(struct api_planner *p,
                                                         const char *host_uuid, const char **why);

/* Counters for tests and the extension. */
struct api_planner_stats {
	uint64_t refreshes;     /* cache refreshes (timer, start, lazy first use) */
	uint64_t recomputes;    /* of those, the model had changed: all plans recomputed */
	uint64_t cache_answers; /* pool.ha_what_if answered from the cache */
	uint64_t recompute_us;  /* wall time of the last recompute */
};

void api_planner_stats(const struct api_planner *p, struct api_planner_stats *out);

/* Would taking host `host_uuid` out of service (disabled, its VMs to be
** started elsewhere) break the failover plan?  With HA enabled and overcommit
** not allowed: 1 when the pool, that host unusable and its protected VMs
** needing a place, tolerates fewer than ha_host_failures_to_tolerate
** failures (or cannot place them at all), with a sentence in why; else 0.
** -1 on a database error or a pool the planner cannot model (why says). */
int api_planner_check_host_out(struct api_planner *p, const char *host_uuid, char *why,
			       size_t whylen);

#endif
