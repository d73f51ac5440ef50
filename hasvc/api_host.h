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

/* Register the methods on ctx->rpc; `planner` answers whether disabling a
** host would break the failover plan (HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN). */
void api_host_register(struct api_ctx *ctx, struct api_planner *planner);

#endif
