/*
** The placement model of a pool database (plan_model.h).  Pure: it reads
** the records it is given and nothing else.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hasvc/plan_model.h"
#include "lib/xmalloc.h"

int
plan_model_host(const struct plan_model *m, const char *uuid)
{
	int h;

	for (h = 0; h < m->nhosts; h++)
		if (strcmp(m->huuid[h], uuid) == 0)
			return h;
	return -1;
}

int
plan_model_vm(const struct plan_model *m, const char *uuid)
{
	int i;

	for (i = 0; i < m->nvms; i++)
		if (strcmp(m->vuuid[i], uuid) == 0)
			return i;
	return -1;
}

/* The hosts of a comma-separated uuid list as a mask. */
static uint64_t
hosts_mask(const struct plan_model *m, const char *list)
{
	char buf[DB_TEXT_LEN], *tok, *save = NULL;
	uint64_t mask = 0;
	int h;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save))
		if ((h = plan_model_host(m, tok)) >= 0)
			mask |= (uint64_t)1 << h;
	return mask;
}

enum place_prio
plan_model_prio(const struct db_vm *vm)
{
	if (vm->ha_restart_priority == DB_PRIO_RESTART && vm->ha_always_run)
		return PLACE_PROTECTED;
	if (vm->ha_restart_priority == DB_PRIO_BEST_EFFORT)
		return PLACE_BEST_EFFORT;
	return PLACE_UNPROTECTED;
}

static void
model_vm(struct plan_model *m, int i, const struct db_vm *vm, char aa[][HA_UUID_LEN], size_t naa,
         const struct plan_model_opts *opts)
{
	struct place_vm *v = &m->vms[i];
	const char *allowed, *on = NULL;
	size_t g, j;

	memcpy(m->vuuid[i], vm->uuid, HA_UUID_LEN);
	v->mem = (uint64_t)(vm->memory_static_max > 0 ? vm->memory_static_max : 0) +
	         (uint64_t)(vm->memory_overhead > 0 ? vm->memory_overhead : 0);
	v->vcpus = vm->VCPUs_max > 0 ? (uint32_t)vm->VCPUs_max : 0;
	if (opts->vm_host != NULL)
		on = opts->vm_host(opts->arg, vm);
	if (on == NULL &&
	    (vm->power_state == DB_POWER_RUNNING || vm->power_state == DB_POWER_PAUSED))
		on = vm->resident_on;
	v->host = on != NULL ? plan_model_host(m, on) : PLACE_NONE;
	if (v->host < 0)
		v->host = PLACE_NONE;
	v->prio = plan_model_prio(vm);
	v->order = (int)(vm->order > 0x7fffffff ? 0x7fffffff : vm->order);
	v->groups = 0;
	for (g = 0; g < vm->ngroups; g++)
		for (j = 0; j < naa; j++)
			if (strcmp(vm->groups[g], aa[j]) == 0)
				v->groups |= (uint64_t)1 << j;
	allowed = db_map_get(&vm->other_config, "hasvc:allowed_hosts");
	if (allowed != NULL)
		v->allowed = hosts_mask(m, allowed);
	else
		v->allowed = m->nhosts == 64 ? ~(uint64_t)0 : ((uint64_t)1 << m->nhosts) - 1;
}

int
plan_model_build(struct plan_model *m, const struct db_pool *pool, const struct db_host *hosts,
                 size_t nh, const struct db_vm *vms, size_t nv, const struct db_vm_group *groups,
                 size_t ng, const struct plan_model_opts *opts, char *err, size_t errlen)
{
	char(*aa)[HA_UUID_LEN] = NULL;
	size_t naa = 0, i;
	const char *s;
	int n;

	memset(m, 0, sizeof(*m));
	if (nh > PLACE_MAX_HOSTS) {
		snprintf(err, errlen, "the planner handles at most %d hosts (the pool has %zu)",
		         PLACE_MAX_HOSTS, nh);
		return -1;
	}
	m->dbpool = *pool;
	memset(&m->dbpool.ha_configuration, 0, sizeof(m->dbpool.ha_configuration));
	memset(&m->dbpool.other_config, 0, sizeof(m->dbpool.other_config));
	db_map_copy(&m->dbpool.ha_configuration, &pool->ha_configuration);
	db_map_copy(&m->dbpool.other_config, &pool->other_config);
	for (i = 0; i < nh; i++) {
		struct place_host *h = &m->hosts[i];

		memcpy(m->huuid[i], hosts[i].uuid, HA_UUID_LEN);
		h->mem_total = hosts[i].memory_total > 0 ? (uint64_t)hosts[i].memory_total : 0;
		h->mem_overhead =
		    hosts[i].memory_overhead > 0 ? (uint64_t)hosts[i].memory_overhead : 0;
		s = db_map_get(&hosts[i].other_config, "cpus");
		n = s != NULL ? atoi(s) : 0;
		h->cpus = n > 0 ? (uint32_t)n : opts->default_cpus;
		h->usable = opts->host_usable != NULL ? opts->host_usable(opts->arg, &hosts[i])
		                                      : hosts[i].enabled && hosts[i].live;
	}
	m->nhosts = (int)nh;
	aa = xcalloc(ng + 1, sizeof(*aa));
	for (i = 0; i < ng; i++)
		if (groups[i].placement == DB_PLACEMENT_ANTI_AFFINITY && naa < 64)
			memcpy(aa[naa++], groups[i].uuid, HA_UUID_LEN);
	m->vms = xcalloc(nv + 1, sizeof(*m->vms));
	m->vuuid = xcalloc(nv + 1, sizeof(*m->vuuid));
	m->vsrc = xcalloc(nv + 1, sizeof(*m->vsrc));
	for (i = 0; i < nv; i++)
		if (!vms[i].is_control_domain) {
			m->vsrc[m->nvms] = i;
			model_vm(m, m->nvms++, &vms[i], aa, naa, opts);
		}
	s = db_map_get(&pool->other_config, "hasvc:vcpu_ratio_pct");
	n = s != NULL ? atoi(s) : 0;
	m->pool.vcpu_ratio_pct = n > 0 ? (uint32_t)n : opts->vcpu_ratio_pct;
	m->pool.nhosts = m->nhosts;
	m->pool.hosts = m->hosts;
	m->pool.nvms = m->nvms;
	m->pool.vms = m->vms;
	m->pool.aa_hard = false;
	xfree(aa);
	return 0;
}

void
plan_model_free(struct plan_model *m)
{
	db_pool_clear(&m->dbpool);
	xfree(m->vms);
	xfree(m->vuuid);
	xfree(m->vsrc);
	memset(m, 0, sizeof(*m));
}
