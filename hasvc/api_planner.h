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

#include "hasvc/api_objects.h"
#include "hasvc/db.h"

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
** on base.  It installs itself as ctx->guard.  _free(NULL) is a no-op. */
struct api_planner *api_planner_new(struct event_base *base, struct api_ctx *ctx);
void api_planner_free(struct api_planner *p);

/* Register pool.ha_compute_max_host_failures_to_tolerate,
** ha_compute_hypothetical_max_host_failures_to_tolerate,
** ha_failover_plan_exists, ha_compute_vm_failover_plan and the hasvc
** extension pool.ha_what_if (read-only role). */
void api_planner_register(struct api_planner *p);

/* A db_change_hook (arg = the planner): a committed change of a host, VM, VM
** group or the pool (re)arms the debounce timer; nothing is computed here. */
void api_planner_db_hook(void *arg, enum db_table table, const char *uuid, enum db_change op);

/* Recompute ntol now and, if HA is enabled, store plan_exists_for and
** overcommitted when they changed, with their alerts, in one transaction.
** 0 ok, -1 on a database error or a pool the planner cannot model (logged). */
int api_planner_update_status(struct api_planner *p);

#endif
