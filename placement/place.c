/*
** place.c owns the failover search (place_plan), the capacity bound and the
** ntol computation (see place.h for the model, docs/planner.md for the
** arguments).  Invariants:
**   - in a search, rem_mem/rem_cpu of a survivor only decrease while an item
**     sits on it and are restored exactly on backtrack; an item goes only
**     where it fits, so a host that started with negative room gets nothing;
**   - items are sorted pinned-first, then by decreasing (mem, vcpus), with
**     identical items adjacent;
**   - a branch is cut only by a rule that keeps at least one solution if one
**     exists (capacity sums, size thresholds, host symmetry, identical-item
**     order), so a NO from a search that kept its budget is a proof;
**   - ntol counts a size k as tolerated only on a proof (the capacity bound
**     for every k-set or family of k-sets, or a YES for each set); an
**     UNDECIDED set stops the count, so ntol never over-claims.
*/
#include <limits.h>
#include <string.h>

#include "lib/check.h"
#include "lib/xmalloc.h"
#include "placement/place.h"

#define BIT(h) ((uint64_t)1 << (h))

struct search {
	const struct place_pool *pool;
	uint64_t surv;
	bool aa;          /* anti-affinity is a constraint */
	bool spread_pref; /* order candidates to avoid group conflicts */
	int64_t rem_mem[PLACE_MAX_HOSTS];
	int64_t rem_cpu[PLACE_MAX_HOSTS];
	uint64_t grp[PLACE_MAX_HOSTS];
	int cls[PLACE_MAX_HOSTS]; /* lowest host with the same allowed column */
	int64_t tot_mem, tot_cpu; /* sum of positive room over survivors */
	int n, npinned;           /* items[0..npinned) are pinned among the survivors */
	int *items;
	int *assign;
	uint64_t *suf_mem, *suf_cpu; /* needs of items[i..n) */
	long nodes, budget;
};

void
place_host_room(const struct place_pool *pool, int h, int64_t *mem, int64_t *cpu)
{
	const struct place_host *ho = &pool->hosts[h];
	int64_t m = (int64_t)ho->mem_total - (int64_t)ho->mem_overhead;
	int64_t c = (int64_t)ho->cpus * pool->vcpu_ratio_pct / 100;

	for (int v = 0; v < pool->nvms; v++) {
		if (pool->vms[v].host != h)
			continue;
		m -= (int64_t)pool->vms[v].mem;
		c -= (int64_t)pool->vms[v].vcpus;
	}
	*mem = m;
	*cpu = c;
}

struct place_plan *
place_plan_new(int nvms)
{
	struct place_plan *p = xcalloc(1, sizeof(*p));

	p->nvms = nvms;
	p->target = xcalloc((size_t)(nvms > 0 ? nvms : 1), sizeof(*p->target));
	p->fate = xcalloc((size_t)(nvms > 0 ? nvms : 1), sizeof(*p->fate));
	return p;
}

void
place_plan_free(struct place_plan *p)
{
	if (p == NULL)
		return;
	xfree(p->target);
	xfree(p->fate);
	xfree(p);
}

static uint64_t
usable_mask(const struct place_pool *pool)
{
	uint64_t u = 0;

	for (int h = 0; h < pool->nhosts; h++)
		if (pool->hosts[h].usable)
			u |= BIT(h);
	return u;
}

/* Does VM v need a host when the survivors are surv? */
static bool
vm_needs_host(const struct place_vm *vm, uint64_t surv)
{
	return vm->host == PLACE_NONE || !(surv & BIT(vm->host));
}

static bool
vm_pinned(const struct place_vm *vm, uint64_t usable)
{
	return (vm->allowed & usable) != usable;
}

/*
** Item order: pinned ones (not allowed on every survivor) first, then
** decreasing size, identical items adjacent.  With this order the first
** descent of the search is the constructive argument of the capacity bound
** (pinned into their reserved room, then any-fit decreasing), so a set the
** bound proves gets its packing without backtracking.
*/
static int
item_cmp(const struct search *s, int a, int b)
{
	const struct place_vm *x = &s->pool->vms[a], *y = &s->pool->vms[b];
	bool px = (x->allowed & s->surv) != s->surv, py = (y->allowed & s->surv) != s->surv;

	if (px != py)
		return px ? -1 : 1;
	if (x->mem != y->mem)
		return x->mem > y->mem ? -1 : 1;
	if (x->vcpus != y->vcpus)
		return x->vcpus > y->vcpus ? -1 : 1;
	if (x->groups != y->groups)
		return x->groups < y->groups ? -1 : 1;
	if (x->allowed != y->allowed)
		return x->allowed < y->allowed ? -1 : 1;
	return a < b ? -1 : (a > b);
}

static int
item_qcmp(const void *a, const void *b, void *s)
{
	return item_cmp(s, *(const int *)a, *(const int *)b);
}

/* A total order (index last), so the result is deterministic. */
static void
items_sort(const struct search *s, int *it, int n)
{
	qsort_r(it, (size_t)n, sizeof(int), item_qcmp, (void *)(uintptr_t)s);
}

static bool
items_same(const struct place_pool *pool, int a, int b)
{
	const struct place_vm *x = &pool->vms[a], *y = &pool->vms[b];

	return x->mem == y->mem && x->vcpus == y->vcpus && x->groups == y->groups &&
	       x->allowed == y->allowed;
}

static void
search_put(struct search *s, int i, int h)
{
	const struct place_vm *vm = &s->pool->vms[s->items[i]];

	s->assign[i] = h;
	s->rem_mem[h] -= (int64_t)vm->mem;
	s->rem_cpu[h] -= (int64_t)vm->vcpus;
	s->tot_mem -= (int64_t)vm->mem;
	s->tot_cpu -= (int64_t)vm->vcpus;
}

static void
search_take(struct search *s, int i, int h, uint64_t old_grp)
{
	const struct place_vm *vm = &s->pool->vms[s->items[i]];

	s->assign[i] = PLACE_NONE;
	s->rem_mem[h] += (int64_t)vm->mem;
	s->rem_cpu[h] += (int64_t)vm->vcpus;
	s->tot_mem += (int64_t)vm->mem;
	s->tot_cpu += (int64_t)vm->vcpus;
	s->grp[h] = old_grp;
}

/*
** Threshold bound, a relaxation that ignores allowed hosts and vCPUs, used
** once the pinned items are placed (the rest is sorted by size): the
** items i..j, each of at least s_j bytes, can only go to survivors with room
** >= s_j, so their bytes must fit in the sum of those rooms and their number
** in sum(floor(room / s_j)).  Evaluated at the end of each run of equal sizes.
*/
static bool
search_threshold_cut(const struct search *s, int i)
{
	const struct place_pool *pool = s->pool;

	if (i < s->npinned) /* sizes decrease only in the agile run */
		return false;
	for (int j = i; j < s->n; j++) {
		int64_t sj = (int64_t)pool->vms[s->items[j]].mem, cap = 0, slots = 0;

		if (j + 1 < s->n && (int64_t)pool->vms[s->items[j + 1]].mem == sj)
			continue;
		if (sj == 0)
			break;
		for (int h = 0; h < pool->nhosts; h++) {
			if (!(s->surv & BIT(h)) || s->rem_mem[h] < sj)
				continue;
			cap += s->rem_mem[h];
			slots += s->rem_mem[h] / sj;
		}
		if ((int64_t)(s->suf_mem[i] - s->suf_mem[j + 1]) > cap || j + 1 - i > slots)
			return true;
	}
	return false;
}

/* Depth-first search over hosts for items[i..n).  Returns YES with assign[]
** filled, NO when no completion exists, UNDECIDED when the budget ran out. */
static enum place_verdict
search_dfs(struct search *s, int i)
{
	const struct place_pool *pool = s->pool;
	const struct place_vm *vm;
	int cand[PLACE_MAX_HOSTS], nc = 0, lo = 0;
	bool undecided = false;
	uint64_t mask;

	if (i == s->n)
		return PLACE_YES;
	if (s->nodes >= s->budget)
		return PLACE_UNDECIDED;
	s->nodes++;
	if ((int64_t)s->suf_mem[i] > s->tot_mem || (int64_t)s->suf_cpu[i] > s->tot_cpu)
		return PLACE_NO;
	if (search_threshold_cut(s, i))
		return PLACE_NO;
	vm = &pool->vms[s->items[i]];
	/* Identical items are interchangeable: take their hosts in index order. */
	if (i > 0 && items_same(pool, s->items[i - 1], s->items[i]))
		lo = s->assign[i - 1];
	mask = vm->allowed & s->surv;
	for (int h = lo; h < pool->nhosts; h++) {
		if (!(mask & BIT(h)) || s->rem_mem[h] < (int64_t)vm->mem ||
		    s->rem_cpu[h] < (int64_t)vm->vcpus)
			continue;
		if (s->aa && (s->grp[h] & vm->groups))
			continue;
		/* Keep candidates ordered: group conflict last (if spreading),
		** then best fit (least room left), then index. */
		int j = nc++;
		while (j > 0) {
			int g = cand[j - 1];
			bool cg = s->spread_pref && (s->grp[g] & vm->groups);
			bool ch = s->spread_pref && (s->grp[h] & vm->groups);

			if (cg < ch || (cg == ch && s->rem_mem[g] <= s->rem_mem[h]))
				break;
			cand[j] = g;
			j--;
		}
		cand[j] = h;
	}
	for (int j = 0; j < nc; j++) {
		int h = cand[j];
		bool twin = false;
		uint64_t old;
		enum place_verdict r;

		/* Host symmetry: an equivalent host in the same state was tried.
		** Equal rooms sit next to each other in cand. */
		for (int t = j - 1; t >= 0 && !twin && s->rem_mem[cand[t]] == s->rem_mem[h]; t--) {
			int g = cand[t];

			twin = g < h && s->cls[g] == s->cls[h] && s->rem_mem[g] == s->rem_mem[h] &&
			       s->rem_cpu[g] == s->rem_cpu[h] && (!s->aa || s->grp[g] == s->grp[h]);
		}
		if (twin)
			continue;
		old = s->grp[h];
		search_put(s, i, h);
		s->grp[h] |= vm->groups;
		r = search_dfs(s, i + 1);
		if (r == PLACE_YES)
			return PLACE_YES;
		search_take(s, i, h, old);
		if (r == PLACE_UNDECIDED) {
			undecided = true;
			if (s->nodes >= s->budget)
				break;
		}
	}
	return undecided ? PLACE_UNDECIDED : PLACE_NO;
}

/* Reset s to the pool's state with survivors surv. */
static void
search_reset(struct search *s, uint64_t surv)
{
	const struct place_pool *pool = s->pool;

	s->tot_mem = s->tot_cpu = 0;
	for (int h = 0; h < pool->nhosts; h++) {
		s->grp[h] = 0;
		s->rem_mem[h] = s->rem_cpu[h] = 0;
		if (!(surv & BIT(h)))
			continue;
		place_host_room(pool, h, &s->rem_mem[h], &s->rem_cpu[h]);
		if (s->rem_mem[h] > 0)
			s->tot_mem += s->rem_mem[h];
		if (s->rem_cpu[h] > 0)
			s->tot_cpu += s->rem_cpu[h];
	}
	for (int v = 0; v < pool->nvms; v++) {
		int h = pool->vms[v].host;

		if (h != PLACE_NONE && (surv & BIT(h)))
			s->grp[h] |= pool->vms[v].groups;
	}
	for (int i = 0; i < s->n; i++)
		s->assign[i] = PLACE_NONE;
}

/* Host classes for the search: survivors with equal allowed bits for every
** item.  Only pinned items can tell survivors apart. */
static void
search_classes(struct search *s)
{
	const struct place_pool *pool = s->pool;
	uint64_t *pin = xcalloc((size_t)s->n + 1, sizeof(uint64_t));
	int np = 0;

	for (int i = 0; i < s->n; i++) {
		uint64_t a = pool->vms[s->items[i]].allowed;

		if ((a & s->surv) != s->surv)
			pin[np++] = a;
	}
	for (int h = 0; h < pool->nhosts; h++) {
		s->cls[h] = h;
		for (int g = 0; g < h; g++) {
			bool same = true;

			if (s->cls[g] != g)
				continue;
			for (int i = 0; i < np && same; i++)
				same = !!(pin[i] & BIT(g)) == !!(pin[i] & BIT(h));
			if (same) {
				s->cls[h] = g;
				break;
			}
		}
	}
	xfree(pin);
}

/*
** The planner proper.  exist_only skips the spread-first attempt (ntol needs
** existence only).
*/
static enum place_verdict
plan_run(const struct place_pool *pool, uint64_t failed, long budget, bool exist_only,
         struct place_plan *out)
{
	struct search s;
	uint64_t usable = usable_mask(pool), surv = usable & ~failed;
	enum place_verdict r = PLACE_NO;
	bool any_groups = false;
	int *besteff = NULL, nb = 0;

	ha_assert(pool->nhosts >= 0 && pool->nhosts <= PLACE_MAX_HOSTS);
	ha_assert(out->nvms == pool->nvms);
	if (budget <= 0)
		budget = 1;
	memset(&s, 0, sizeof(s));
	s.pool = pool;
	s.surv = surv;
	s.budget = budget;
	s.items = xcalloc((size_t)pool->nvms + 1, sizeof(int));
	s.assign = xcalloc((size_t)pool->nvms + 1, sizeof(int));
	s.suf_mem = xcalloc((size_t)pool->nvms + 1, sizeof(uint64_t));
	s.suf_cpu = xcalloc((size_t)pool->nvms + 1, sizeof(uint64_t));
	besteff = xcalloc((size_t)pool->nvms + 1, sizeof(int));

	out->spread = true;
	for (int v = 0; v < pool->nvms; v++) {
		const struct place_vm *vm = &pool->vms[v];

		out->target[v] = PLACE_NONE;
		out->fate[v] = PLACE_F_STAYS;
		if (vm->prio == PLACE_UNPROTECTED || !vm_needs_host(vm, surv))
			continue;
		if (vm_pinned(vm, usable) && !(vm->allowed & surv)) {
			out->fate[v] = PLACE_F_EXCUSED;
			continue;
		}
		if (vm->prio == PLACE_BEST_EFFORT) {
			besteff[nb++] = v;
			continue;
		}
		s.items[s.n++] = v;
		s.npinned += (vm->allowed & surv) != surv;
		any_groups |= vm->groups != 0;
	}
	items_sort(&s, s.items, s.n);
	for (int i = s.n - 1; i >= 0; i--) {
		s.suf_mem[i] = s.suf_mem[i + 1] + pool->vms[s.items[i]].mem;
		s.suf_cpu[i] = s.suf_cpu[i + 1] + pool->vms[s.items[i]].vcpus;
	}
	search_classes(&s);

	if (pool->aa_hard || (!exist_only && any_groups)) {
		s.aa = true;
		if (!pool->aa_hard)
			s.budget = budget / 2 > 0 ? budget / 2 : 1;
		search_reset(&s, surv);
		r = search_dfs(&s, 0);
		s.budget = budget;
	}
	if (!pool->aa_hard && r != PLACE_YES) {
		s.aa = false;
		s.spread_pref = any_groups;
		search_reset(&s, surv);
		r = search_dfs(&s, 0);
	}
	out->verdict = r;
	out->nodes = s.nodes;
	if (r != PLACE_YES) {
		for (int i = 0; i < s.n; i++)
			out->fate[s.items[i]] = PLACE_F_NO_ROOM;
		for (int i = 0; i < nb; i++)
			out->fate[besteff[i]] = PLACE_F_NO_ROOM;
		goto done;
	}
	for (int i = 0; i < s.n; i++) {
		out->target[s.items[i]] = s.assign[i];
		out->fate[s.items[i]] = PLACE_F_PLACED;
	}
	/* Best-effort VMs: largest first, each where it avoids a group
	** conflict if it can, then best fit.  They never move protected ones. */
	items_sort(&s, besteff, nb);
	for (int i = 0; i < nb; i++) {
		const struct place_vm *vm = &pool->vms[besteff[i]];
		int best = PLACE_NONE;
		bool bestc = false;

		for (int h = 0; h < pool->nhosts; h++) {
			bool c = (s.grp[h] & vm->groups) != 0;

			if (!((vm->allowed & surv) & BIT(h)) || s.rem_mem[h] < (int64_t)vm->mem ||
			    s.rem_cpu[h] < (int64_t)vm->vcpus || (pool->aa_hard && c))
				continue;
			if (best == PLACE_NONE || c < bestc ||
			    (c == bestc && s.rem_mem[h] < s.rem_mem[best])) {
				best = h;
				bestc = c;
			}
		}
		if (best == PLACE_NONE) {
			out->fate[besteff[i]] = PLACE_F_NO_ROOM;
			continue;
		}
		s.rem_mem[best] -= (int64_t)vm->mem;
		s.rem_cpu[best] -= (int64_t)vm->vcpus;
		s.grp[best] |= vm->groups;
		out->target[besteff[i]] = best;
		out->fate[besteff[i]] = PLACE_F_PLACED;
	}
done:
	/* spread: recompute from the result rather than trust the search. */
	{
		uint64_t g[PLACE_MAX_HOSTS] = {0};

		for (int v = 0; v < pool->nvms; v++) {
			int h = pool->vms[v].host;

			if (h != PLACE_NONE && (surv & BIT(h)))
				g[h] |= pool->vms[v].groups;
		}
		for (int v = 0; v < pool->nvms; v++) {
			int h = out->target[v];

			if (out->fate[v] != PLACE_F_PLACED)
				continue;
			if (pool->vms[v].prio != PLACE_PROTECTED)
				continue;
			if (g[h] & pool->vms[v].groups)
				out->spread = false;
			g[h] |= pool->vms[v].groups;
		}
	}
	xfree(besteff);
	xfree(s.items);
	xfree(s.assign);
	xfree(s.suf_mem);
	xfree(s.suf_cpu);
	return r;
}

enum place_verdict
place_plan(const struct place_pool *pool, uint64_t failed, long budget, struct place_plan *out)
{
	return plan_run(pool, failed, budget, false, out);
}

int
place_plan_check(const struct place_pool *pool, uint64_t failed, const struct place_plan *p)
{
	uint64_t usable = usable_mask(pool), surv = usable & ~failed;
	int64_t mem[PLACE_MAX_HOSTS], cpu[PLACE_MAX_HOSTS];
	uint64_t grp[PLACE_MAX_HOSTS] = {0}, pgrp[PLACE_MAX_HOSTS];

	if (p->verdict != PLACE_YES || p->nvms != pool->nvms)
		return -1;
	for (int h = 0; h < pool->nhosts; h++)
		place_host_room(pool, h, &mem[h], &cpu[h]);
	for (int v = 0; v < pool->nvms; v++) {
		int h = pool->vms[v].host;

		if (h != PLACE_NONE && (surv & BIT(h)))
			grp[h] |= pool->vms[v].groups;
	}
	memcpy(pgrp, grp, sizeof(grp));
	for (int v = 0; v < pool->nvms; v++) {
		const struct place_vm *vm = &pool->vms[v];
		bool need = vm->prio != PLACE_UNPROTECTED && vm_needs_host(vm, surv);
		int h = p->target[v];

		switch (p->fate[v]) {
		case PLACE_F_STAYS:
			if (need || h != PLACE_NONE)
				return -1;
			break;
		case PLACE_F_EXCUSED:
			if (!need || !vm_pinned(vm, usable) || (vm->allowed & surv) ||
			    h != PLACE_NONE)
				return -1;
			break;
		case PLACE_F_NO_ROOM:
			if (!need || vm->prio != PLACE_BEST_EFFORT || h != PLACE_NONE)
				return -1;
			break;
		case PLACE_F_PLACED:
			if (!need || h < 0 || h >= pool->nhosts || !(surv & vm->allowed & BIT(h)))
				return -1;
			if (mem[h] < (int64_t)vm->mem || cpu[h] < (int64_t)vm->vcpus)
				return -1;
			mem[h] -= (int64_t)vm->mem;
			cpu[h] -= (int64_t)vm->vcpus;
			if (pool->aa_hard && (grp[h] & vm->groups))
				return -1;
			if (p->spread && vm->prio == PLACE_PROTECTED && (pgrp[h] & vm->groups))
				return -1;
			grp[h] |= vm->groups;
			if (vm->prio == PLACE_PROTECTED)
				pgrp[h] |= vm->groups;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

void
place_single_failure_plans(const struct place_pool *pool, long budget, struct place_plan **out)
{
	for (int h = 0; h < pool->nhosts; h++) {
		if (pool->hosts[h].usable) {
			place_plan(pool, BIT(h), budget, out[h]);
			continue;
		}
		out[h]->verdict = PLACE_YES;
		out[h]->spread = true;
		out[h]->nodes = 0;
		for (int v = 0; v < pool->nvms; v++) {
			out[h]->target[v] = PLACE_NONE;
			out[h]->fate[v] = PLACE_F_STAYS;
		}
	}
}

/* ---- ntol ---------------------------------------------------------------- */

/*
** The capacity bound proves "every k-set has a plan" without enumerating sets.
** Pinned protected VMs get a reservation on every allowed host they could
** arrive at; if every reservation fits, they can go anywhere allowed.  The
** agile ones are then placed first-fit in decreasing size.  If item x (size s)
** is the first to fail, only items of size >= s were placed, and every
** survivor h rejected x: it has used more than cap_h - s bytes, or more than
** ccap_h - c vCPUs (c = the most vCPUs of any agile item).  With
** a_h(s) = max(0, cap_h - s), ac_h = max(0, ccap_h - c), and NM(s)/NC(s) the
** bytes/vCPUs of agile items of size >= s to restart, x cannot fail if
**   every ccap_h >= NC(s) (cpu never rejects) and NM(s) <= sum_S a_h(s), or
**   every cap_h >= NM(s) (memory never rejects) and NC(s) <= sum_S ac_h, or
**   sum_S min(a_h(s) NC(s), ac_h NM(s)) >= 2 NM(s) NC(s)
** (charge each survivor to the resource that rejected: the placed bytes and
** vCPUs would exceed what was there to place).  The condition is checked for
** every item size s (sizes are grouped in at most BOUND_SIZES buckets, using
** the bucket's largest size for a_h and its smallest for NM: conservative on
** both sides).  Worst cases are taken independently (the k hosts with the
** most to restart fail, and the k with the most capacity), which is sound and
** pessimistic; see docs/planner.md.
*/
#define BOUND_SIZES 16

struct bound {
	bool ok;     /* reservations fit and anti-affinity is soft */
	bool pinned; /* some protected VM is pinned */
	int nu, nb;
	int idx[PLACE_MAX_HOSTS];                    /* usable position -> host */
	int64_t lo[BOUND_SIZES], hi[BOUND_SIZES];    /* bucket size range */
	int64_t nm0[BOUND_SIZES], nc0[BOUND_SIZES];  /* agile need off usable hosts, >= lo */
	int64_t need[BOUND_SIZES][PLACE_MAX_HOSTS];  /* per usable position, >= lo */
	int64_t needc[BOUND_SIZES][PLACE_MAX_HOSTS]; /* the same in vCPUs */
	int64_t cap[PLACE_MAX_HOSTS], ccap[PLACE_MAX_HOSTS];
	int64_t ac[PLACE_MAX_HOSTS];
	int64_t cap_min, ccap_min;
};

static void
sort_desc(int64_t *x, int n)
{
	for (int i = 1; i < n; i++) {
		int64_t t = x[i];
		int j = i - 1;

		while (j >= 0 && x[j] < t) {
			x[j + 1] = x[j];
			j--;
		}
		x[j + 1] = t;
	}
}

static int
cmp_i64_desc(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

static struct bound *
bound_new(const struct place_pool *pool, int maxb)
{
	struct bound *b = xcalloc(1, sizeof(*b));
	uint64_t usable = usable_mask(pool);
	int64_t res[PLACE_MAX_HOSTS] = {0}, resc[PLACE_MAX_HOSTS] = {0};
	int64_t *sizes = xcalloc((size_t)pool->nvms + 1, sizeof(int64_t));
	int64_t c = 0;
	int pos[PLACE_MAX_HOSTS], ns = 0, nd = 0;

	b->ok = true;
	for (int h = 0; h < pool->nhosts; h++)
		if (usable & BIT(h)) {
			pos[h] = b->nu;
			b->idx[b->nu++] = h;
		}
	for (int v = 0; v < pool->nvms; v++) {
		const struct place_vm *vm = &pool->vms[v];

		if (vm->prio != PLACE_PROTECTED)
			continue;
		if (pool->aa_hard && vm->groups)
			b->ok = false;
		if (vm_pinned(vm, usable)) {
			b->pinned = true;
			for (int h = 0; h < pool->nhosts; h++) {
				if (!(usable & vm->allowed & BIT(h)) || h == vm->host)
					continue;
				res[h] += (int64_t)vm->mem;
				resc[h] += (int64_t)vm->vcpus;
			}
			continue;
		}
		if (vm->mem == 0)
			b->ok = false; /* the argument needs s > 0 */
		sizes[ns++] = (int64_t)vm->mem;
		if ((int64_t)vm->vcpus > c)
			c = (int64_t)vm->vcpus;
	}
	/* Buckets of distinct sizes, largest first; at most BOUND_SIZES. */
	qsort(sizes, (size_t)ns, sizeof(int64_t), cmp_i64_desc);
	for (int i = 0; i < ns; i++)
		if (i == 0 || sizes[i] != sizes[i - 1])
			sizes[nd++] = sizes[i];
	for (int i = 0; i < nd; i++) {
		int bk = (int)((long)i * maxb / nd);

		if (bk >= b->nb) {
			b->nb = bk + 1;
			b->hi[bk] = sizes[i];
		}
		b->lo[bk] = sizes[i];
	}
	for (int v = 0; v < pool->nvms; v++) {
		const struct place_vm *vm = &pool->vms[v];
		bool resident = vm->host != PLACE_NONE && (usable & BIT(vm->host));

		if (vm->prio != PLACE_PROTECTED || vm_pinned(vm, usable))
			continue;
		for (int bk = 0; bk < b->nb; bk++) {
			if ((int64_t)vm->mem < b->lo[bk])
				continue;
			if (resident) {
				b->need[bk][pos[vm->host]] += (int64_t)vm->mem;
				b->needc[bk][pos[vm->host]] += (int64_t)vm->vcpus;
			} else {
				b->nm0[bk] += (int64_t)vm->mem;
				b->nc0[bk] += (int64_t)vm->vcpus;
			}
		}
	}
	b->cap_min = b->ccap_min = INT64_MAX;
	for (int i = 0; i < b->nu; i++) {
		int h = b->idx[i];

		place_host_room(pool, h, &b->cap[i], &b->ccap[i]);
		b->cap[i] -= res[h];
		b->ccap[i] -= resc[h];
		if ((b->cap[i] < 0 && res[h] > 0) || (b->ccap[i] < 0 && resc[h] > 0))
			b->ok = false;
		b->ac[i] = b->ccap[i] - c > 0 ? b->ccap[i] - c : 0;
		if (b->cap[i] < b->cap_min)
			b->cap_min = b->cap[i];
		if (b->ccap[i] < b->ccap_min)
			b->ccap_min = b->ccap[i];
	}
	xfree(sizes);
	return b;
}

/*
** The charging argument as a fractional knapsack: failure needs survivors B
** (cpu-rejecting, so ccap_h < nc and sum_B ac_h <= nc) with the rest holding
** less than nm bytes, i.e. sum_B a_h > sum_S a_h - nm.  The fractional optimum
** over the candidate positions cand bounds sum_B a_h from above (rounded up).
** Returns that bound.
*/
static unsigned __int128
bound_knapsack(const struct bound *b, const int64_t *a, uint64_t cand, int64_t nc)
{
	int ord[PLACE_MAX_HOSTS], n = 0;
	unsigned __int128 val = 0;
	int64_t left = nc;

	for (int i = 0; i < b->nu; i++) {
		if (!(cand & BIT(i)) || b->ccap[i] >= nc || a[i] == 0)
			continue;
		/* insert by a/ac descending: a1*ac2 > a2*ac1 */
		int j = n++;
		while (j > 0) {
			int g = ord[j - 1];
			unsigned __int128 lhs = (unsigned __int128)a[i] * (uint64_t)b->ac[g];
			unsigned __int128 rhs = (unsigned __int128)a[g] * (uint64_t)b->ac[i];

			if (lhs <= rhs)
				break;
			ord[j] = g;
			j--;
		}
		ord[j] = i;
	}
	for (int j = 0; j < n; j++) {
		int i = ord[j];

		if (b->ac[i] <= left) {
			val += (uint64_t)a[i];
			left -= b->ac[i];
			continue;
		}
		if (left > 0) /* ceil(a * left / ac) */
			val += ((unsigned __int128)a[i] * (uint64_t)left + (uint64_t)b->ac[i] - 1) /
			       (uint64_t)b->ac[i];
		break;
	}
	return val;
}

/* Sum of the kk largest x[i] over positions i in m. */
static int64_t
sum_top_in(const int64_t *x, int n, uint64_t m, int kk)
{
	int64_t t[PLACE_MAX_HOSTS], s = 0;
	int c = 0;

	for (int i = 0; i < n; i++)
		if (m & BIT(i))
			t[c++] = x[i];
	sort_desc(t, c);
	for (int i = 0; i < kk && i < c; i++)
		s += t[i];
	return s;
}

/*
** A family of failure sets: F = in + any kk positions of freem (masks of
** usable positions; in and freem disjoint).  The whole family is proven when
** the condition holds for its worst member, bounding each term separately.
*/
struct fam {
	uint64_t in, freem;
	int kk;
};

/*
** The knapsack for a family through LP duality: for any lambda = p/q >= 0,
** sum_B a_h <= lambda NC + sum_S r_h with r_h = max(0, a_h - lambda ac_h), so
** no member fails if
**   sum_F (a_h + need_h + lambda needc_h - r_h) <= sum_U a - nm0 - lambda nc0
**                                                  - sum_U r_h,
** which is linear in F: its worst member takes the top kk keys of freem.
** Tried for lambda = a_g / ac_g over a spread of hosts g (any lambda is sound).
*/
static bool
bound_dual(const struct bound *b, int bk, const struct fam *f, const int64_t *a)
{
	typedef __int128 i128;
	int ord[PLACE_MAX_HOSTS], n = 0;

	for (int i = 0; i < b->nu; i++)
		if (b->ac[i] > 0 && a[i] > 0)
			ord[n++] = i;
	for (int t = 0; t < 8 && t < n; t++) {
		int g = ord[(long)t * n / (n < 8 ? n : 8)];
		i128 p = a[g], q = b->ac[g], ru = 0, au = 0, rhs, lhs = 0;
		i128 key[PLACE_MAX_HOSTS];
		bool used[PLACE_MAX_HOSTS] = {false};

		for (int i = 0; i < b->nu; i++) {
			i128 r = (i128)a[i] * q - p * b->ac[i];

			r = r > 0 ? r : 0;
			ru += r;
			au += (i128)a[i] * q;
			key[i] = ((i128)a[i] + b->need[bk][i]) * q + p * b->needc[bk][i] - r;
			if (f->in & BIT(i))
				lhs += key[i];
		}
		rhs = au - (i128)b->nm0[bk] * q - p * b->nc0[bk] - ru;
		for (int j = 0; j < f->kk; j++) { /* top kk of freem by selection */
			int best = -1;

			for (int i = 0; i < b->nu; i++)
				if ((f->freem & BIT(i)) && !used[i] &&
				    (best < 0 || key[i] > key[best]))
					best = i;
			if (best < 0)
				break;
			lhs += key[best];
			used[best] = true;
		}
		if (lhs <= rhs)
			return true;
	}
	return false;
}

/* The conditions above for bucket bk over family f. */
static bool
bound_bucket(const struct bound *b, int bk, const struct fam *f)
{
	int64_t nm = b->nm0[bk], nc = b->nc0[bk], a[PLACE_MAX_HOSTS];
	int64_t suma = 0, sumac = 0, key[PLACE_MAX_HOSTS], keyc[PLACE_MAX_HOSTS];
	int64_t slack, slackc, cap_min = INT64_MAX, ccap_min = INT64_MAX;
	uint64_t cand = 0;

	for (int i = 0; i < b->nu; i++) {
		a[i] = b->cap[i] - b->hi[bk] > 0 ? b->cap[i] - b->hi[bk] : 0;
		suma += a[i];
		sumac += b->ac[i];
		key[i] = a[i] + b->need[bk][i];
		keyc[i] = b->ac[i] + b->needc[bk][i];
	}
	/* sum_S a - NM = sum_U a - nm0 - sum_F (a + need): bound F's part by in
	** plus the top kk of freem. */
	slack = suma - nm;
	slackc = sumac - nc;
	for (int i = 0; i < b->nu; i++) {
		if (f->in & BIT(i)) {
			nm += b->need[bk][i];
			nc += b->needc[bk][i];
			slack -= key[i];
			slackc -= keyc[i];
			continue;
		}
		/* every survivor is outside in */
		cand |= BIT(i);
		if (b->cap[i] < cap_min)
			cap_min = b->cap[i];
		if (b->ccap[i] < ccap_min)
			ccap_min = b->ccap[i];
	}
	nm += sum_top_in(b->need[bk], b->nu, f->freem, f->kk);
	nc += sum_top_in(b->needc[bk], b->nu, f->freem, f->kk);
	slack -= sum_top_in(key, b->nu, f->freem, f->kk);
	slackc -= sum_top_in(keyc, b->nu, f->freem, f->kk);
	if (nm == 0 && nc == 0)
		return true;
	if (b->nu - __builtin_popcountll(f->in) - f->kk <= 0)
		return false; /* no survivor */
	if (ccap_min >= nc && slack >= 0)
		return true;
	if (cap_min >= nm && slackc >= 0)
		return true;
	if (slack >= 0 && bound_knapsack(b, a, cand, nc) <= (unsigned __int128)slack)
		return true;
	return f->kk > 0 && bound_dual(b, bk, f, a);
}

/* Every member of the family has a plan (proven), or don't know. */
static bool
bound_family(const struct bound *b, const struct fam *f)
{
	if (!b->ok)
		return false;
	if (__builtin_popcountll(f->freem) < f->kk)
		return true; /* no member */
	for (int bk = 0; bk < b->nb; bk++)
		if (!bound_bucket(b, bk, f))
			return false;
	return true;
}

static uint64_t
all_pos(const struct bound *b)
{
	return b->nu == 64 ? ~(uint64_t)0 : BIT(b->nu) - 1;
}

/* Every k-set has a plan (proven), or don't know. */
static bool
bound_yes(const struct bound *b, int k)
{
	struct fam f = {0, all_pos(b), k};

	return k < b->nu && bound_family(b, &f);
}

/* This failure set has a plan (proven), or don't know. */
static bool
bound_set(const struct bound *b, uint64_t failed)
{
	struct fam f = {0, 0, 0};

	for (int i = 0; i < b->nu; i++)
		if (failed & BIT(b->idx[i]))
			f.in |= BIT(i);
	return bound_family(b, &f);
}

/* Failure sets up to host symmetry: usable hosts with no protected VM, equal
** room, equal resident groups (if hard) and equal allowed bits in every
** protected VM are interchangeable, so only "the first j of a class" fail. */
struct enumr {
	const struct place_pool *pool;
	struct place_plan *plan;
	const struct bound *bound;
	uint64_t usable;
	int prev[PLACE_MAX_HOSTS]; /* previous member of the class, or -1 */
	int pos[PLACE_MAX_HOSTS];  /* host -> usable position */
	const int64_t *key;        /* branching key per host */
	long budget;               /* nodes left */
	long nodes, sets;
	bool undecided;
	uint64_t witness;
	bool found_no;
};

static void
enum_classes(const struct place_pool *pool, uint64_t usable, int *prev)
{
	int64_t m[PLACE_MAX_HOSTS], c[PLACE_MAX_HOSTS];
	uint64_t g[PLACE_MAX_HOSTS] = {0};
	bool busy[PLACE_MAX_HOSTS] = {false};

	for (int h = 0; h < pool->nhosts; h++)
		place_host_room(pool, h, &m[h], &c[h]);
	for (int v = 0; v < pool->nvms; v++) {
		int h = pool->vms[v].host;

		if (h == PLACE_NONE)
			continue;
		g[h] |= pool->vms[v].groups;
		if (pool->vms[v].prio == PLACE_PROTECTED)
			busy[h] = true;
	}
	for (int h = 0; h < pool->nhosts; h++) {
		prev[h] = -1;
		if (!(usable & BIT(h)) || busy[h])
			continue;
		for (int x = h - 1; x >= 0 && prev[h] < 0; x--) {
			bool same = (usable & BIT(x)) && !busy[x] && m[x] == m[h] && c[x] == c[h] &&
			            (!pool->aa_hard || g[x] == g[h]) &&
			            pool->hosts[x].mem_total == pool->hosts[h].mem_total;

			for (int v = 0; v < pool->nvms && same; v++) {
				uint64_t a = pool->vms[v].allowed;

				if (pool->vms[v].prio != PLACE_PROTECTED)
					continue;
				same = !!(a & BIT(x)) == !!(a & BIT(h));
			}
			if (same)
				prev[h] = x;
		}
	}
}

/* C(n, k), saturating at cap. */
static long
binomial_sat(int n, int k, long cap)
{
	long c = 1;

	for (int i = 1; i <= k; i++) {
		/* c * (n - k + i) / i stays exact; saturate before overflow */
		if (c > cap / (n - k + i))
			return cap;
		c = c * (n - k + i) / i;
	}
	return c;
}

/* What a family check costs in search nodes: about nu/4 per size bucket. */
static long
bound_cost(const struct bound *b)
{
	return (long)b->nb * (b->nu / 4 + 1) + 1;
}

/* Plan one set; returns false to stop the enumeration (a NO, or no budget). */
static bool
enum_try(struct enumr *e, uint64_t set)
{
	enum place_verdict r;

	if (e->budget <= 0) {
		e->undecided = true;
		return false;
	}
	e->sets++;
	e->budget -= bound_cost(e->bound);
	e->nodes += bound_cost(e->bound);
	if (bound_set(e->bound, set))
		return true;
	r = plan_run(e->pool, set, e->budget, true, e->plan);
	e->nodes += e->plan->nodes + 1;
	e->budget -= e->plan->nodes + 1;
	if (r == PLACE_NO) {
		e->found_no = true;
		e->witness = set;
		return false;
	}
	if (r == PLACE_UNDECIDED)
		e->undecided = true;
	return true;
}

/*
** Branch and bound over the failure sets of a family: a family the capacity
** bound proves is dropped whole; otherwise branch on its free host with the
** largest key (failing it first: the likelier NO) down to single sets, which
** are planned.  Symmetric hosts have equal keys, so the lower-indexed one is
** branched on first, and a host whose class predecessor was left out is left
** out too (each set is visited once up to symmetry).  Returns false to stop:
** a NO, or the budget ran out (then e->undecided).
*/
static bool
enum_bb(struct enumr *e, const struct fam *f)
{
	const struct bound *b = e->bound;
	struct fam g;
	int best = -1, h, pv;

	if (__builtin_popcountll(f->freem) < f->kk)
		return true;
	if (e->budget <= 0) {
		e->undecided = true;
		return false;
	}
	e->budget -= bound_cost(b);
	e->nodes += bound_cost(b);
	if (bound_family(b, f))
		return true;
	if (f->kk == 0) {
		uint64_t set = 0;

		for (int i = 0; i < b->nu; i++)
			if (f->in & BIT(i))
				set |= BIT(b->idx[i]);
		return enum_try(e, set);
	}
	for (int i = 0; i < b->nu; i++)
		if ((f->freem & BIT(i)) && (best < 0 || e->key[b->idx[i]] > e->key[b->idx[best]]))
			best = i;
	h = b->idx[best];
	pv = e->prev[h];
	g = *f;
	g.freem &= ~BIT(best);
	if (pv >= 0 && !(f->in & BIT(e->pos[pv])))
		return enum_bb(e, &g); /* its predecessor survives: so does it */
	g.in |= BIT(best);
	g.kk--;
	if (!enum_bb(e, &g))
		return false;
	g = *f;
	g.freem &= ~BIT(best);
	return enum_bb(e, &g);
}

#define NKEYS 4

/* The first k usable hosts in decreasing key order (ties by index). */
static uint64_t
witness_set(const struct place_pool *pool, uint64_t usable, const int64_t *key, int k)
{
	uint64_t set = 0;

	for (int i = 0; i < k; i++) {
		int best = -1;

		for (int h = 0; h < pool->nhosts; h++) {
			if (!(usable & BIT(h)) || (set & BIT(h)))
				continue;
			if (best < 0 || key[h] > key[best])
				best = h;
		}
		if (best < 0)
			break;
		set |= BIT(best);
	}
	return set;
}

/* Try the witness sets of size k, each with at most a quarter of the budget
** left and at most cap nodes; true (and e->witness) when one has no plan. */
static bool
ntol_witness(struct enumr *e, int64_t (*keys)[PLACE_MAX_HOSTS], int k, long cap)
{
	for (int w = 0; w < NKEYS; w++) {
		uint64_t set = witness_set(e->pool, e->usable, keys[w], k);
		long saved = e->budget, give = saved / 4 < cap ? saved / 4 : cap;

		e->budget = give;
		enum_try(e, set);
		e->budget = saved - (give - e->budget);
		e->undecided = false;
		if (e->found_no)
			return true;
	}
	return false;
}

/*
** The sequential guarantee.  With a single size bucket (a_h = cap_h - m for
** the largest agile VM m, NM = all agile VMs of the failed hosts), the
** capacity argument never uses the order in which VMs were placed nor where:
** when a VM x finds no room, every survivor of the final failure set S holds
** more than a_h bytes (or ac_h vCPUs) of VMs that came from F, whatever
** earlier failures put them there.  So if it holds for k, then k failures
** arriving one after another, each handled by ANY valid placement that keeps
** earlier choices, always leave a plan.  Pinned VMs break this (an earlier
** agile restart may take the room they were counted on), so a pool with a
** pinned protected VM gets no sequential claim beyond 0.
*/
static int
ntol_sequential(const struct place_pool *pool, int ntol)
{
	struct bound *b1;
	int k = 0;

	if (ntol <= 0)
		return ntol;
	b1 = bound_new(pool, 1);
	if (!b1->pinned)
		while (k < ntol && bound_yes(b1, k + 1))
			k++;
	xfree(b1);
	return k;
}

void
place_ntol(const struct place_pool *pool, long budget, struct place_ntol *out)
{
	struct enumr e;
	struct bound *b;
	int64_t keys[NKEYS][PLACE_MAX_HOSTS] = {{0}};
	uint64_t usable = usable_mask(pool);
	int nu = __builtin_popcountll(usable);
	long reserve;

	memset(&e, 0, sizeof(e));
	memset(out, 0, sizeof(*out));
	e.pool = pool;
	e.usable = usable;
	e.budget = budget > 0 ? budget : 1;
	e.plan = place_plan_new(pool->nvms);
	enum_classes(pool, usable, e.prev);
	b = bound_new(pool, BOUND_SIZES);
	e.bound = b;
	for (int i = 0; i < b->nu; i++)
		e.pos[b->idx[i]] = i;
	e.key = keys[1];
	/* Witness keys: a host's failure costs its room plus what it had to
	** restart, so the top k by room + need are the k-set with the least
	** slack in the capacity sums, the likeliest to have no plan. */
	for (int h = 0; h < pool->nhosts; h++) {
		place_host_room(pool, h, &keys[1][h], &keys[3][h]);
		keys[1][h] = keys[1][h] > 0 ? keys[1][h] : 0;
		keys[3][h] = keys[3][h] > 0 ? keys[3][h] : 0;
	}
	for (int v = 0; v < pool->nvms; v++) {
		const struct place_vm *vm = &pool->vms[v];

		if (vm->prio != PLACE_PROTECTED || vm->host == PLACE_NONE)
			continue;
		keys[0][vm->host] += (int64_t)vm->mem;
		keys[1][vm->host] += (int64_t)vm->mem;
		keys[2][vm->host] += (int64_t)vm->vcpus;
		keys[3][vm->host] += (int64_t)vm->vcpus;
	}

	out->ntol = -1;
	for (int k = 0; k <= nu; k++) {
		if (bound_yes(b, k)) {
			out->ntol = k;
			continue;
		}
		/* Cheap witnesses first: the most to restart, the least slack
		** in bytes, the most vCPUs to restart, the least vCPU slack. */
		if (k > 0 && ntol_witness(&e, keys, k, 4L * pool->nvms + 1024))
			goto decided;
		e.undecided = false;
		reserve = e.budget / 8; /* for the upper bound */
		e.budget -= reserve;
		{
			/* Branch and bound.  When checking every set one by one would
			** cost more than eight budgets, the search is a long shot
			** (pruning rarely wins that much): give it an eighth, so the
			** upper bound and the caller's time keep the rest. */
			struct fam f = {0, all_pos(b), k};
			long rest = 0;

			if (binomial_sat(nu, k, LONG_MAX / 4) > 8 * (e.budget / bound_cost(b)))
				rest = e.budget - e.budget / 8;
			e.budget -= rest;
			enum_bb(&e, &f);
			e.budget += rest;
		}
		e.budget += reserve;
		if (e.found_no)
			goto decided;
		if (e.undecided)
			goto bounded;
		out->ntol = k;
	}
	out->exact = true; /* every size up to nu proven */
	out->upper = nu;
	goto done;
decided:
	out->exact = true;
	out->witness = e.witness;
	out->upper = out->ntol;
	goto done;
bounded:
	/* Look further for a set without a plan, for the upper bound; a
	** witness that the bounds do not refute at once is not worth a search
	** here, so each try is capped at a few nodes per VM. */
	out->exact = false;
	out->upper = nu;
	for (int k = out->ntol + 2; k <= nu && e.budget > 0; k++)
		if (ntol_witness(&e, keys, k, 2L * pool->nvms + 64)) {
			out->upper = k - 1;
			out->witness = e.witness;
			break;
		}
done:
	out->seq = ntol_sequential(pool, out->ntol);
	out->nodes = e.nodes;
	out->sets = e.sets;
	place_plan_free(e.plan);
	xfree(b);
}
