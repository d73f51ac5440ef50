/*
** The placement model (placement/place.h) of a pool database: struct
** place_pool built from plain records, shared by the API's planner
** (hasvc/api_planner.c) and the failover executor (hasvc/failover.c).
**
** The mapping (docs/planner.md, "The API"):
**   hosts  every host, in the order given, at most PLACE_MAX_HOSTS;
**          mem_total/mem_overhead from the host, cpus from host
**          other_config "cpus" (default opts->default_cpus), usable =
**          enabled && live unless opts->host_usable says otherwise.
**   VMs    every VM but the control domains, in the order given; mem =
**          memory_static_max + memory_overhead, vcpus = VCPUs_max; host =
**          resident_on when Running or Paused, unless opts->vm_host names
**          another (the executor counts an ISSUED START as placed at its
**          target); PROTECTED = "restart" && ha_always_run, BEST_EFFORT =
**          "best-effort", else UNPROTECTED; order; groups = the VM's
**          anti_affinity VM_groups (one bit each, at most 64); allowed =
**          every host, unless VM other_config "hasvc:allowed_hosts" lists
**          host uuids (comma-separated; unknown uuids are ignored).
**   pool   vcpu_ratio_pct from pool other_config "hasvc:vcpu_ratio_pct"
**          (default opts->vcpu_ratio_pct); soft anti-affinity.
** The model copies what it keeps (the pool record included); it borrows
** nothing after plan_model_build returns.
*/
#ifndef HASVC_HASVC_PLAN_MODEL_H
#define HASVC_HASVC_PLAN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hasvc/db.h"
#include "lib/ids.h"
#include "placement/place.h"

struct plan_model {
	struct db_pool dbpool; /* a copy of the pool record */
	int nhosts;
	struct place_host hosts[PLACE_MAX_HOSTS];
	char huuid[PLACE_MAX_HOSTS][HA_UUID_LEN];
	int nvms;
	struct place_vm *vms;
	char (*vuuid)[HA_UUID_LEN];
	size_t *vsrc; /* vms[i] is the input's VM vsrc[i] */
	struct place_pool pool;
};

struct plan_model_opts {
	uint32_t default_cpus;   /* a host's CPUs without other_config "cpus" */
	uint32_t vcpu_ratio_pct; /* without pool other_config "hasvc:vcpu_ratio_pct" */
	/* NULL: usable = enabled && live. */
	bool (*host_usable)(void *arg, const struct db_host *h);
	/* NULL, or returning NULL: the VM's resident host as above; else the
	** uuid of the host it counts as placed on ("" or an unknown one: none). */
	const char *(*vm_host)(void *arg, const struct db_vm *vm);
	void *arg;
};

/* Build m from the records; 0, or -1 with a sentence in err (more hosts
** than PLACE_MAX_HOSTS).  m is left empty on failure. */
int plan_model_build(struct plan_model *m, const struct db_pool *pool, const struct db_host *hosts,
                     size_t nhosts, const struct db_vm *vms, size_t nvms,
                     const struct db_vm_group *groups, size_t ngroups,
                     const struct plan_model_opts *opts, char *err, size_t errlen);
void plan_model_free(struct plan_model *m); /* empties m; an empty m is a no-op */

/* Index of a host / VM of the model by uuid, -1 if absent. */
int plan_model_host(const struct plan_model *m, const char *uuid);
int plan_model_vm(const struct plan_model *m, const char *uuid);

/* A VM's priority as the model reads it. */
enum place_prio plan_model_prio(const struct db_vm *vm);

#endif
