/*
** plan_json: the pool description read by the offline planner (`hasvc-plan
** --pool FILE`, issue 7 item 5) and written by `hasvc pool-export-plan-input`.
**
** The file is one JSON object:
**
**   {"hosts": [{"name", "memory_total", "memory_overhead", "vcpus", "enabled",
**               "live"}],
**    "vms": [{"name", "memory_static_max", "memory_overhead", "vcpus",
**             "resident_on", "power_state", "ha_restart_priority",
**             "ha_always_run", "order", "groups", "allowed_hosts"}],
**    "vm_groups": [{"name", "placement"}],
**    "ha_host_failures_to_tolerate": N}
**
** Memory is in bytes.  Hosts, VMs and groups are referred to by name; names
** are unique within their kind.  docs/planner.md "Offline planner" lists each
** field's default (xapi's where xapi has one).  The result is a struct
** place_pool for placement/place.h plus the names for output.
**
** Every input is either accepted whole or refused with one message that starts
** with the path of the offending field ("vms[3].resident_on: no host named
** \"h9\""); nothing is trusted before it is checked.
*/
#ifndef HASVC_HASVC_PLAN_JSON_H
#define HASVC_HASVC_PLAN_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "placement/place.h"

/* Largest file plan_json_load() reads. */
#define PLAN_JSON_MAX_BYTES (64u << 20)
/* Largest VM count; keeps every sum of vCPUs far from overflow. */
#define PLAN_JSON_MAX_VMS 1000000
/* Each memory field, and the sum over hosts and over VMs, stays below this so
** that the planner's int64 arithmetic cannot overflow. */
#define PLAN_JSON_MAX_MEM ((uint64_t)1 << 62)
/* Largest vCPU count of one host or VM. */
#define PLAN_JSON_MAX_VCPUS 65536u
/* A host without "vcpus" has no vCPU limit: it gets this many, and at the
** ratio of 100 used here 2^30 x 100 exceeds the largest possible sum of VM
** vCPUs, PLAN_JSON_MAX_VMS x PLAN_JSON_MAX_VCPUS. */
#define PLAN_JSON_NO_CPU_LIMIT (1u << 30)
/* Longest name accepted, in bytes. */
#define PLAN_JSON_MAX_NAME 1024

enum plan_power { PLAN_HALTED, PLAN_RUNNING, PLAN_PAUSED, PLAN_SUSPENDED };

struct plan_pool {
	struct place_pool pool; /* points into hosts[] and vms[] below */
	struct place_host *hosts;
	struct place_vm *vms;
	char **host_names;      /* pool.nhosts */
	char **vm_names;        /* pool.nvms */
	enum plan_power *power; /* pool.nvms */
	int ngroups;
	char **group_names;    /* ngroups; bit g of place_vm.groups = group g */
	int *group_aa;         /* ngroups; 1 if placement is "anti_affinity" */
	int ha_ntol;           /* ha_host_failures_to_tolerate */
};

/*
** Parse len bytes of buf (need not be NUL-terminated).  Returns a new pool the
** caller frees with plan_json_free(), or NULL with a one-line message in err
** (errlen bytes, always terminated).
*/
struct plan_pool *plan_json_parse(const char *buf, size_t len, char *err, size_t errlen);

/* Read and parse the file at path (at most PLAN_JSON_MAX_BYTES); as above. */
struct plan_pool *plan_json_load(const char *path, char *err, size_t errlen);

/* NULL: no-op. */
void plan_json_free(struct plan_pool *p);

/* Index of the host called name, or -1. */
int plan_json_host_index(const struct plan_pool *p, const char *name);

/*
** Parse a comma-separated list of host names ("h1,h2"; "" is the empty set)
** into a host mask.  0, or -1 with err set for an unknown or repeated name.
*/
int plan_json_host_mask(const struct plan_pool *p, const char *list, uint64_t *mask, char *err,
                        size_t errlen);

#endif
