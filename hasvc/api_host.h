/*
** Host maintenance and VM power through the API (docs/api.md, docs/failover.md):
** host.disable, host.enable, host.evacuate, VM.clean_shutdown,
** VM.hard_shutdown.  Each is a replicated write on the master that records
** what must happen (a host's enabled flag; a VM intent, hasvc/db.h); the
** host named carries it out and the failover executor (hasvc/failover.h)
** places what must start elsewhere.  The simulated hypervisor has no live
** migration: an evacuation stops a VM and starts it on another host.
*/
#ifndef HASVC_HASVC_API_HOST_H
#define HASVC_HASVC_API_HOST_H

#include "hasvc/api_objects.h"

struct api_planner;
struct api_host;

/* The methods over ctx (its database and rpc, which must outlive them);
** `planner` answers whether taking a host out would break the failover
** plan (HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN).  _free(NULL) is a no-op. */
struct api_host *api_host_new(struct api_ctx *ctx, struct api_planner *planner);
void api_host_free(struct api_host *ah);
/* Register them on ctx->rpc. */
void api_host_register(struct api_host *ah);

#endif
