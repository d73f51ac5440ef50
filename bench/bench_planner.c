/*
** bench_planner: what computing ntol costs, and how it compares with xapi.
**
**     bench_planner [POOLS_PER_SIZE [BUDGET]]      (defaults 10, 500000 nodes)
**
** For generated pools of 8, 16, 32 and 64 hosts (8-64 VMs per host, sizes
** 0.5-32 GiB skewed small, hosts filled to 35-80 % of memory, 70 % of VMs
** protected, half the pools with a few pinned VMs, 5 % of VMs in one of 8
** anti-affinity groups), prints per size: median of 5 runs of place_ntol()
** time, the ntol found, its proven upper bound, how many were exact, and the
** proven sequential guarantee (seq); the same for an xapi-style
** baseline written here from reference/xapi.md §2 (memory-only
** biggest-fit-decreasing, exhaustive over failure sequences while
** C(n,r)·r! < 3500 and n <= 32, slot approximation otherwise, one pinned
** protected VM => 0, bisection over r); the time ratio; on how many pools
** hasvc's ntol is higher / equal / lower than the baseline's; how often the
** baseline claims more than hasvc proved possible (its upper bound); and a soundness re-check of
** hasvc: random failure sets of size <= ntol must get a plan that
** place_plan_check() accepts.  Prints figures only; asserts nothing.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/xmalloc.h"
#include "placement/place.h"

#define RUNS   5
#define BIT(h) ((uint64_t)1 << (h))
#define GIB    ((uint64_t)1 << 30)

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int
rndn(uint64_t *s, int n)
{
	return (int)(rnd(s) % (uint64_t)n);
}

struct gpool {
	struct place_host hosts[PLACE_MAX_HOSTS];
	struct place_vm *vms;
	int cap;
	struct place_pool pool;
};

static void
gen_pool(struct gpool *g, int nh, bool pins, uint64_t *s)
{
	static const uint64_t mib[] = {512, 1024, 2048, 2048, 4096, 4096, 8192, 16384, 32768};

	g->pool = (struct place_pool){nh, g->hosts, 0, g->vms, 400, false};
	for (int h = 0; h < nh; h++) {
		int per = 8 + rndn(s, 57), fill = 35 + rndn(s, 46);
		uint64_t total = (uint64_t)(256 << rndn(s, 2)) * GIB, used = 0;

		g->hosts[h] = (struct place_host){total, 6 * GIB, 64, true};
		for (int i = 0; i < per; i++) {
			uint64_t m = mib[rndn(s, 9)] * 1024 * 1024 + 40 * 1024 * 1024;
			int r = rndn(s, 20);
			struct place_vm *vm;

			if (used + m > total / 100 * (uint64_t)fill)
				break;
			used += m;
			if (g->pool.nvms == g->cap) {
				g->cap = g->cap ? 2 * g->cap : 1024;
				g->vms = xreallocarray(g->vms, (size_t)g->cap, sizeof(*g->vms));
				g->pool.vms = g->vms;
			}
			vm = &g->vms[g->pool.nvms++];
			*vm = (struct place_vm){
			    m,
			    (uint32_t)(1 << rndn(s, 3)),
			    h,
			    r < 14 ? PLACE_PROTECTED : r < 17 ? PLACE_BEST_EFFORT : PLACE_UNPROTECTED,
			    rndn(s, 3),
			    rndn(s, 20) == 0 ? BIT(rndn(s, 8)) : 0,
			    ~(uint64_t)0};
			if (pins && rndn(s, 100) == 0)
				vm->allowed = BIT(h) | BIT(rndn(s, nh));
		}
	}
}

/* ---- the xapi-style baseline (reference/xapi.md §2.3-2.5) ----------------- */

struct xcfg {
	int n;
	bool alive[PLACE_MAX_HOSTS];
	int64_t free[PLACE_MAX_HOSTS];
	int *where; /* per protected agile VM: host */
	int64_t *need;
	int nv;
};

/* Biggest-fit-decreasing of the VMs on host dead onto the live hosts; false
** if one is left unassigned.  Things are visited by size desc, index asc. */
static bool
x_bfd(struct xcfg *c, int dead, int *order)
{
	int nt = 0;

	for (int v = 0; v < c->nv; v++)
		if (c->where[v] == dead)
			order[nt++] = v;
	for (int i = 1; i < nt; i++) {
		int x = order[i], j = i - 1;

		while (j >= 0 && c->need[order[j]] < c->need[x]) {
			order[j + 1] = order[j];
			j--;
		}
		order[j + 1] = x;
	}
	for (int i = 0; i < nt; i++) {
		int best = -1;

		for (int h = 0; h < c->n; h++)
			if (c->alive[h] && (best < 0 || c->free[h] > c->free[best]))
				best = h;
		if (best < 0 || c->free[best] < c->need[order[i]])
			return false;
		c->free[best] -= c->need[order[i]];
		c->where[order[i]] = best;
	}
	return true;
}

static bool
x_perms(const struct xcfg *base, int *combo, int r, int depth, bool *used, int *perm, int *order,
        struct xcfg *c)
{
	if (depth == r) {
		memcpy(c->alive, base->alive, sizeof(c->alive));
		memcpy(c->free, base->free, sizeof(c->free));
		memcpy(c->where, base->where, sizeof(int) * (size_t)base->nv);
		for (int i = 0; i < r; i++) {
			c->alive[perm[i]] = false;
			if (!x_bfd(c, perm[i], order))
				return false;
		}
		return true;
	}
	for (int i = 0; i < r; i++) {
		if (used[i])
			continue;
		used[i] = true;
		perm[depth] = combo[i];
		if (!x_perms(base, combo, r, depth + 1, used, perm, order, c))
			return false;
		used[i] = false;
	}
	return true;
}

static bool
x_combos(const struct xcfg *base, int *combo, int r, int k, int from, int *order, struct xcfg *c)
{
	bool used[PLACE_MAX_HOSTS] = {false};
	int perm[PLACE_MAX_HOSTS];

	if (k == r)
		return x_perms(base, combo, r, 0, used, perm, order, c);
	for (int h = from; h < base->n; h++) {
		combo[k] = h;
		if (!x_combos(base, combo, r, k + 1, h + 1, order, c))
			return false;
	}
	return true;
}

static int
cmp_desc(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

static bool
x_plan_for_n(const struct xcfg *base, int r)
{
	double npr = 1;
	int n = base->n;

	if (n < r || (n == r && base->nv > 0))
		return false;
	for (int i = 0; i < r; i++)
		npr *= n - i;
	if (n <= 32 && npr < 3500) {
		struct xcfg c = *base;
		int combo[PLACE_MAX_HOSTS], *order = xcalloc((size_t)base->nv + 1, sizeof(int));
		bool ok;

		c.where = xcalloc((size_t)base->nv + 1, sizeof(int));
		ok = x_combos(base, combo, r, 0, 0, order, &c);
		xfree(c.where);
		xfree(order);
		return ok;
	}
	/* approximation: every VM as big as the biggest */
	{
		int64_t m = 1, slots[PLACE_MAX_HOSTS], cnt[PLACE_MAX_HOSTS] = {0}, left = 0,
		        moved = 0;

		for (int v = 0; v < base->nv; v++)
			if (base->need[v] > m)
				m = base->need[v];
		for (int v = 0; v < base->nv; v++)
			cnt[base->where[v]]++;
		for (int h = 0; h < n; h++) {
			slots[h] = base->free[h] / m;
			left += slots[h];
		}
		qsort(slots, (size_t)n, sizeof(int64_t), cmp_desc);
		qsort(cnt, (size_t)n, sizeof(int64_t), cmp_desc);
		for (int i = 0; i < r; i++) {
			left -= slots[i];
			moved += cnt[i];
		}
		return moved <= left;
	}
}

static int
x_ntol(const struct place_pool *p)
{
	struct xcfg base;
	int lo, hi, nv = 0;

	memset(&base, 0, sizeof(base));
	base.n = p->nhosts;
	base.where = xcalloc((size_t)p->nvms + 1, sizeof(int));
	base.need = xcalloc((size_t)p->nvms + 1, sizeof(int64_t));
	for (int h = 0; h < p->nhosts; h++) {
		int64_t c;

		base.alive[h] = true;
		place_host_room(p, h, &base.free[h], &c);
		if (base.free[h] < 0)
			base.free[h] = 0;
	}
	for (int v = 0; v < p->nvms; v++) {
		if (p->vms[v].prio != PLACE_PROTECTED)
			continue;
		if (p->vms[v].allowed != ~(uint64_t)0) { /* non-agile: plan_for_n != all_VMs */
			nv = -1;
			break;
		}
		base.where[nv] = p->vms[v].host;
		base.need[nv++] = (int64_t)p->vms[v].mem;
	}
	base.nv = nv;
	if (nv < 0 || !x_plan_for_n(&base, 0)) {
		lo = 0;
		goto done;
	}
	/* bisection, assuming monotonicity as xapi does */
	lo = 0;
	hi = p->nhosts;
	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;

		if (x_plan_for_n(&base, mid))
			lo = mid;
		else
			hi = mid - 1;
	}
done:
	xfree(base.where);
	xfree(base.need);
	return lo;
}

/* ---- the run ------------------------------------------------------------- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *x, int n)
{
	qsort(x, (size_t)n, sizeof(double), cmp_double);
	return x[n / 2];
}

int
main(int argc, char **argv)
{
	static const int sizes[] = {8, 16, 32, 64};
	int pools = argc > 1 ? atoi(argv[1]) : 10;
	long budget = argc > 2 ? atol(argv[2]) : 500000;
	struct gpool g;
	uint64_t seed = 0xbe7c4, s = seed;
	double sf_ms[sizeof(sizes) / sizeof(sizes[0])], sf_max[sizeof(sizes) / sizeof(sizes[0])];

	memset(&g, 0, sizeof(g));
	printf("seed %#llx, %d pools per size, budget %ld nodes, times: median of %d runs\n",
	       (unsigned long long)seed, pools, budget, RUNS);
	printf("%5s %6s | %9s %9s %6s %6s %5s %5s | %9s %9s | %10s | %6s %5s %5s | %9s | %s\n",
	       "hosts", "VMs", "hasvc ms", "max ms", "ntol", "upper", "exact", "seq", "xapi ms",
	       "xapi ntol", "xapi/hasvc", "higher", "equal", "lower", "xapi>upper",
	       "hasvc unsound/sampled");
	for (unsigned si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		int nh = sizes[si], higher = 0, equal = 0, lower = 0, exact = 0, xover = 0;
		long vms = 0, unsound = 0, sampled = 0, undecided = 0;
		double ht = 0, hmax = 0, xt = 0, hn = 0, hu = 0, hs = 0, xn = 0, sf = 0, sfmax = 0;

		for (int pi = 0; pi < pools; pi++) {
			double th[RUNS], tx[RUNS];
			struct place_ntol n;
			struct place_plan *plan;
			int xn1 = 0;
			uint64_t ss;

			gen_pool(&g, nh, pi % 2 == 1, &s);
			vms += g.pool.nvms;
			for (int r = 0; r < RUNS; r++) {
				double t0 = now_ms();

				place_ntol(&g.pool, budget, &n);
				th[r] = now_ms() - t0;
				t0 = now_ms();
				xn1 = x_ntol(&g.pool);
				tx[r] = now_ms() - t0;
			}
			/* The daemon's precomputed single-failure plans
			** (hasvc/api_planner.c): every host's failure, the
			** refresh's total budget shared between them. */
			{
				struct place_plan *pl[PLACE_MAX_HOSTS];
				double tf[RUNS];

				for (int h = 0; h < nh; h++)
					pl[h] = place_plan_new(g.pool.nvms);
				for (int r = 0; r < RUNS; r++) {
					double t0 = now_ms();

					place_single_failure_plans(&g.pool, budget / nh + 1, pl);
					tf[r] = now_ms() - t0;
				}
				for (int h = 0; h < nh; h++)
					place_plan_free(pl[h]);
				sf += median(tf, RUNS);
				if (tf[RUNS - 1] > sfmax)
					sfmax = tf[RUNS - 1];
			}
			ht += median(th, RUNS);
			if (th[RUNS - 1] > hmax)
				hmax = th[RUNS - 1];
			xt += median(tx, RUNS);
			hn += n.ntol;
			hu += n.upper;
			hs += n.seq;
			xn += xn1;
			exact += n.exact;
			higher += n.ntol > xn1;
			equal += n.ntol == xn1;
			lower += n.ntol < xn1;
			xover += xn1 > n.upper; /* over-claims, proven by a witness */
			plan = place_plan_new(g.pool.nvms);
			ss = seed + (uint64_t)pi;
			for (int i = 0; i < 20 && n.ntol > 0; i++) {
				int k = 1 + rndn(&ss, n.ntol);
				uint64_t f = 0;

				while (__builtin_popcountll(f) < k)
					f |= BIT(rndn(&ss, nh));
				sampled++;
				switch (place_plan(&g.pool, f, budget, plan)) {
				case PLACE_YES:
					unsound += place_plan_check(&g.pool, f, plan) != 0;
					break;
				case PLACE_NO:
					unsound++;
					break;
				case PLACE_UNDECIDED:
					undecided++;
					break;
				}
			}
			place_plan_free(plan);
		}
		printf("%5d %6ld | %9.2f %9.2f %6.1f %6.1f %2d/%-2d %5.1f | %9.2f %9.1f | %10.2f | "
		       "%6d %5d "
		       "%5d | %9d | %ld/%ld (%ld undecided)\n",
		       nh, vms / pools, ht / pools, hmax, hn / pools, hu / pools, exact, pools,
		       hs / pools, xt / pools, xn / pools, xt / (ht > 0 ? ht : 1e-9), higher, equal,
		       lower, xover, unsound, sampled, undecided);
		sf_ms[si] = sf / pools;
		sf_max[si] = sfmax;
	}
	printf("single-failure plans of every host (kept precomputed by hasvcd), ms, median of %d runs:",
	       RUNS);
	for (unsigned si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
		printf(" %d hosts %.2f (max %.2f)%s", sizes[si], sf_ms[si], sf_max[si],
		       si + 1 < sizeof(sizes) / sizeof(sizes[0]) ? "," : "\n");
	xfree(g.vms);
	return 0;
}
