/*
** Fuzz target for hasvc/plan_json.c: any bytes give a pool or a NULL with a
** non-empty one-line message, never a crash or a leak; a pool that parses is
** within place.h's limits, and place_ntol() on it with a small budget gives a
** sane answer (ntol <= upper <= usable hosts, seq <= ntol).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hasvc/plan_json.h"
#include "lib/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plan_pool *p;
	struct place_ntol nt;
	char err[256];
	char *buf = malloc(size ? size : 1);
	int h, v, nusable = 0;

	if (buf == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);
	p = plan_json_parse(buf, size, err, sizeof(err));
	if (p == NULL) {
		ha_assert(memchr(err, '\0', sizeof(err)) != NULL);
		ha_assert(err[0] != '\0' && strchr(err, '\n') == NULL);
		ha_assert(strstr(err, ": ") != NULL);
		free(buf);
		return 0;
	}
	ha_assert(p->pool.nhosts >= 1 && p->pool.nhosts <= PLACE_MAX_HOSTS);
	ha_assert(p->ngroups >= 0 && p->ngroups <= 64);
	for (h = 0; h < p->pool.nhosts; h++)
		nusable += p->hosts[h].usable;
	for (v = 0; v < p->pool.nvms; v++) {
		const struct place_vm *vm = &p->vms[v];

		ha_assert(vm->host == PLACE_NONE || (vm->host >= 0 && vm->host < p->pool.nhosts));
		ha_assert(vm->allowed != 0);
		ha_assert(p->pool.nhosts == 64 || (vm->allowed >> p->pool.nhosts) == 0);
		ha_assert(p->ngroups == 64 || (vm->groups >> p->ngroups) == 0);
	}
	place_ntol(&p->pool, 2000, &nt);
	ha_assert(nt.ntol >= -1 && nt.ntol <= nusable);
	ha_assert(nt.ntol <= nt.upper && nt.upper <= nusable);
	ha_assert(nt.seq <= nt.ntol || nt.ntol < 0);
	ha_assert(!nt.exact || nt.ntol == nt.upper);
	plan_json_free(p);
	free(buf);
	return 0;
}
