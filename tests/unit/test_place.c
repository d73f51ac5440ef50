/*
** The failover planner: xapi's documented cases, then a brute-force oracle
** (every assignment of the VMs to place, all constraints checked) against
** place_plan() existence and place_ntol() on random small pools, then
** properties on random larger pools.  Random pools come from a fixed seed
** (PLACE_SEED overrides it) and every failure prints the seed and case number;
** PLACE_SCALE (default 1) multiplies the number of random cases.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/xmalloc.h"
#include "placement/place.h"

#define BIT(h) ((uint64_t)1 << (h))
#define ALL    (~(uint64_t)0)
#define GIB    ((uint64_t)1 << 30)
#define BUDGET 1000000L
#define MAXVMS 2000

/* ---- helpers ------------------------------------------------------------- */

struct tpool {
	struct place_host hosts[PLACE_MAX_HOSTS];
	struct place_vm vms[MAXVMS];
	struct place_pool pool;
};

static void
tp_init(struct tpool *t, int nhosts, uint64_t mem, uint32_t cpus)
{
	memset(t, 0, sizeof(*t));
	for (int h = 0; h < nhosts; h++)
		t->hosts[h] = (struct place_host){mem, 0, cpus, true};
	t->pool = (struct place_pool){nhosts, t->hosts, 0, t->vms, 100, false};
}

static int
tp_vm(struct tpool *t, uint64_t mem, uint32_t vcpus, int host, enum place_prio prio)
{
	int v = t->pool.nvms++;

	t->vms[v] = (struct place_vm){mem, vcpus, host, prio, 0, 0, ALL};
	return v;
}

static uint64_t
scale(void)
{
	const char *s = getenv("PLACE_SCALE");

	return s ? strtoull(s, NULL, 10) : 1;
}

static uint64_t
seed0(void)
{
	const char *s = getenv("PLACE_SEED");

	return s ? strtoull(s, NULL, 0) : 0x5eed2026;
}

/* splitmix64: a tiny deterministic generator. */
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

/* ---- the oracle ---------------------------------------------------------- */

/* Written from place.h's definitions alone, sharing no code with place.c. */
struct oracle {
	const struct place_pool *p;
	uint64_t surv;
	bool aa;
	int n, items[MAXVMS];
	int64_t mem[PLACE_MAX_HOSTS], cpu[PLACE_MAX_HOSTS];
	int gcount[PLACE_MAX_HOSTS][64];
};

static bool
oracle_rec(struct oracle *o, int i)
{
	const struct place_vm *vm;

	if (i == o->n)
		return true;
	vm = &o->p->vms[o->items[i]];
	for (int h = 0; h < o->p->nhosts; h++) {
		bool clash = false;

		if (!(o->surv & vm->allowed & BIT(h)))
			continue;
		if (o->mem[h] < (int64_t)vm->mem || o->cpu[h] < (int64_t)vm->vcpus)
			continue;
		for (int g = 0; g < 64 && o->aa; g++)
			if ((vm->groups & BIT(g)) && o->gcount[h][g])
				clash = true;
		if (clash)
			continue;
		o->mem[h] -= (int64_t)vm->mem;
		o->cpu[h] -= (int64_t)vm->vcpus;
		for (int g = 0; g < 64; g++)
			o->gcount[h][g] += !!(vm->groups & BIT(g));
		bool ok = oracle_rec(o, i + 1);
		o->mem[h] += (int64_t)vm->mem;
		o->cpu[h] += (int64_t)vm->vcpus;
		for (int g = 0; g < 64; g++)
			o->gcount[h][g] -= !!(vm->groups & BIT(g));
		if (ok)
			return true;
	}
	return false;
}

static bool
oracle_plan(const struct place_pool *p, uint64_t failed, bool aa)
{
	static struct oracle o;
	uint64_t usable = 0;

	memset(&o, 0, sizeof(o));
	o.p = p;
	o.aa = aa;
	for (int h = 0; h < p->nhosts; h++)
		if (p->hosts[h].usable)
			usable |= BIT(h);
	o.surv = usable & ~failed;
	for (int h = 0; h < p->nhosts; h++) {
		o.mem[h] = (int64_t)p->hosts[h].mem_total - (int64_t)p->hosts[h].mem_overhead;
		o.cpu[h] = (int64_t)p->hosts[h].cpus * p->vcpu_ratio_pct / 100;
	}
	for (int v = 0; v < p->nvms; v++) {
		const struct place_vm *vm = &p->vms[v];

		if (vm->host != PLACE_NONE) {
			o.mem[vm->host] -= (int64_t)vm->mem;
			o.cpu[vm->host] -= (int64_t)vm->vcpus;
			if (o.surv & BIT(vm->host))
				for (int g = 0; g < 64; g++)
					o.gcount[vm->host][g] += !!(vm->groups & BIT(g));
		}
	}
	for (int v = 0; v < p->nvms; v++) {
		const struct place_vm *vm = &p->vms[v];
		bool running = vm->host != PLACE_NONE && (o.surv & BIT(vm->host));
		bool pinned = (vm->allowed & usable) != usable;

		if (vm->prio != PLACE_PROTECTED || running)
			continue;
		if (pinned && !(vm->allowed & o.surv))
			continue; /* excused */
		o.items[o.n++] = v;
	}
	return oracle_rec(&o, 0);
}

/* Largest k with a plan for every failure set of size <= k; -1 if none. */
static int
oracle_ntol(const struct place_pool *p)
{
	uint64_t usable = 0;
	int nu, best = -1;

	for (int h = 0; h < p->nhosts; h++)
		if (p->hosts[h].usable)
			usable |= BIT(h);
	nu = __builtin_popcountll(usable);
	for (int k = 0; k <= nu; k++) {
		for (uint64_t f = 0; f < BIT(p->nhosts); f++) {
			if ((f & ~usable) || __builtin_popcountll(f) != k)
				continue;
			if (!oracle_plan(p, f, p->aa_hard))
				return best;
		}
		best = k;
	}
	return best;
}

/*
** The sequential claim, by simulation: fail k usable hosts one after another
** in random order; after each, restart every protected VM that needs a host
** on a random survivor with room (any valid placement, earlier ones kept).
** Returns false if some VM finds no room.
*/
static bool
seq_simulate(const struct place_pool *p, int k, uint64_t *s)
{
	struct place_vm *vms = xcalloc((size_t)p->nvms + 1, sizeof(*vms));
	struct place_pool q = *p;
	uint64_t usable = 0, dead = 0;
	int idx[PLACE_MAX_HOSTS], nu = 0;
	bool ok = true;

	memcpy(vms, p->vms, sizeof(*vms) * (size_t)p->nvms);
	q.vms = vms;
	for (int h = 0; h < p->nhosts; h++)
		if (p->hosts[h].usable) {
			usable |= BIT(h);
			idx[nu++] = h;
		}
	for (int step = 0; step <= k && ok; step++) {
		uint64_t surv;

		if (step > 0) { /* step 0 restarts what is down already */
			int h;

			do
				h = idx[rndn(s, nu)];
			while (dead & BIT(h));
			dead |= BIT(h);
		}
		surv = usable & ~dead;
		for (int v = 0; v < q.nvms && ok; v++) {
			int cand[PLACE_MAX_HOSTS], nc = 0;

			if (vms[v].prio != PLACE_PROTECTED ||
			    (vms[v].host != PLACE_NONE && (surv & BIT(vms[v].host))))
				continue;
			vms[v].host = PLACE_NONE; /* its host is gone */
			for (int h = 0; h < q.nhosts; h++) {
				int64_t m = (int64_t)q.hosts[h].mem_total -
				            (int64_t)q.hosts[h].mem_overhead;
				int64_t c = (int64_t)q.hosts[h].cpus * q.vcpu_ratio_pct / 100;

				if (!(surv & vms[v].allowed & BIT(h)))
					continue;
				for (int w = 0; w < q.nvms; w++)
					if (vms[w].host == h) {
						m -= (int64_t)vms[w].mem;
						c -= (int64_t)vms[w].vcpus;
					}
				if (m >= (int64_t)vms[v].mem && c >= (int64_t)vms[v].vcpus)
					cand[nc++] = h;
			}
			if (nc == 0)
				ok = false;
			else
				vms[v].host = cand[rndn(s, nc)];
		}
		/* VMs that are not protected die with their host */
		for (int v = 0; v < q.nvms; v++)
			if (vms[v].host != PLACE_NONE && !(surv & BIT(vms[v].host)))
				vms[v].host = PLACE_NONE;
	}
	xfree(vms);
	return ok;
}

/* ---- random pools -------------------------------------------------------- */

static void
gen_small(struct tpool *t, uint64_t *s)
{
	int nh = 1 + rndn(s, 6), nv = rndn(s, 13);

	tp_init(t, nh, 0, 0);
	t->pool.vcpu_ratio_pct = rndn(s, 2) ? 100 : 150;
	t->pool.aa_hard = rndn(s, 3) == 0;
	/* Half the pools have identical hosts, to exercise host symmetry; a
	** third have many pinned VMs. */
	bool uniform = rndn(s, 2);
	int pin_rate = rndn(s, 3) ? 5 : 2;
	/* A third are fine-grained (small VMs, tight vCPUs), where the capacity
	** bound, not the search, decides ntol. */
	bool fine = rndn(s, 3) == 0;
	for (int h = 0; h < nh; h++) {
		if (uniform && h > 0) {
			t->hosts[h] = t->hosts[0];
			continue;
		}
		t->hosts[h].mem_total = (uint64_t)(fine ? 8 + rndn(s, 8) : 6 + rndn(s, 14));
		t->hosts[h].mem_overhead = (uint64_t)rndn(s, 2);
		t->hosts[h].cpus = (uint32_t)(fine ? 4 + rndn(s, 6) : 2 + rndn(s, 6));
		t->hosts[h].usable = rndn(s, 8) != 0;
	}
	for (int i = 0; i < nv; i++) {
		int r = rndn(s, 10), host = rndn(s, 10) == 0 ? PLACE_NONE : rndn(s, nh);
		enum place_prio prio = r < 6   ? PLACE_PROTECTED
		                       : r < 8 ? PLACE_BEST_EFFORT
		                               : PLACE_UNPROTECTED;
		int v = tp_vm(t, (uint64_t)(1 + rndn(s, fine ? 3 : 8)),
		              (uint32_t)(1 + rndn(s, fine ? 4 : 3)), host, prio);

		if (rndn(s, 3) == 0)
			t->vms[v].groups = BIT(rndn(s, 2));
		if (rndn(s, pin_rate) == 0)
			t->vms[v].allowed = rnd(s) & (BIT(nh) - 1);
		t->vms[v].order = rndn(s, 3);
	}
}

/* Realistic-ish larger pools: 8-40 hosts of 256-512 GiB, 4-30 VMs per host. */
static void
gen_large(struct tpool *t, uint64_t *s)
{
	int nh = 8 + rndn(s, 33), per = 4 + rndn(s, 27);
	bool pins = rndn(s, 2); /* half the pools have pinned VMs */

	tp_init(t, nh, 0, 0);
	t->pool.vcpu_ratio_pct = 200;
	for (int h = 0; h < nh; h++) {
		t->hosts[h].mem_total = (uint64_t)(256 + 256 * rndn(s, 2)) * GIB;
		t->hosts[h].mem_overhead = 8 * GIB;
		t->hosts[h].cpus = (uint32_t)(32 + 32 * rndn(s, 2));
		t->hosts[h].usable = rndn(s, 20) != 0;
	}
	for (int h = 0; h < nh; h++)
		for (int i = 0; i < per && t->pool.nvms < MAXVMS; i++) {
			static const uint64_t sz[] = {1, 2, 4, 8, 16, 32};
			int r = rndn(s, 10);
			int v = tp_vm(t, sz[rndn(s, 6)] * GIB + 64 * 1024 * 1024,
			              (uint32_t)(1 << rndn(s, 4)), h,
			              r < 7   ? PLACE_PROTECTED
			              : r < 9 ? PLACE_BEST_EFFORT
			                      : PLACE_UNPROTECTED);

			if (rndn(s, 10) == 0)
				t->vms[v].groups = BIT(rndn(s, 4));
			if (pins && rndn(s, 25) == 0)
				t->vms[v].allowed = BIT(h) | BIT(rndn(s, nh)) | BIT(rndn(s, nh));
		}
}

/* ---- hand cases ---------------------------------------------------------- */

static void
test_two_hosts_one_down(void **state)
{
	struct tpool *t = xcalloc(1, sizeof(*t));
	struct place_plan *p;
	struct place_ntol n;

	/* xapi: two hosts, one down; the survivor's failure cannot be planned. */
	tp_init(t, 2, 16 * GIB, 8);
	tp_vm(t, 4 * GIB, 2, 0, PLACE_PROTECTED);
	t->hosts[1].usable = false;
	p = place_plan_new(t->pool.nvms);
	assert_int_equal(place_plan(&t->pool, 0, BUDGET, p), PLACE_YES);
	assert_int_equal(place_plan(&t->pool, BIT(0), BUDGET, p), PLACE_NO);
	place_ntol(&t->pool, BUDGET, &n);
	assert_int_equal(n.ntol, 0);
	assert_true(n.exact);
	assert_int_equal(n.witness, BIT(0));

	/* Both up: one failure tolerated, two not (the VM is agile). */
	t->hosts[1].usable = true;
	assert_int_equal(place_plan(&t->pool, BIT(0), BUDGET, p), PLACE_YES);
	assert_int_equal(p->fate[0], PLACE_F_PLACED);
	assert_int_equal(p->target[0], 1);
	assert_int_equal(place_plan_check(&t->pool, BIT(0), p), 0);
	place_ntol(&t->pool, BUDGET, &n);
	assert_int_equal(n.ntol, 1);
	assert_true(n.exact);
	place_plan_free(p);
	xfree(t);
}

static void
test_vm_bigger_than_any_host(void **state)
{
	struct tpool *t = xcalloc(1, sizeof(*t));
	struct place_ntol n;

	tp_init(t, 3, 16 * GIB, 16);
	t->hosts[0].mem_total = 64 * GIB;
	tp_vm(t, 24 * GIB, 2, 0, PLACE_PROTECTED);
	tp_vm(t, 1 * GIB, 1, 1, PLACE_PROTECTED);
	place_ntol(&t->pool, BUDGET, &n);
	assert_int_equal(n.ntol, 0);
	assert_true(n.exact);
	assert_int_equal(n.witness, BIT(0));

	/* Halted and bigger than every host: no plan even now. */
	t->vms[0].host = PLACE_NONE;
	t->vms[0].mem = 100 * GIB;
	place_ntol(&t->pool, BUDGET, &n);
	assert_int_equal(n.ntol, -1);
	assert_true(n.exact);
	xfree(t);
}

static void
test_pinned_vm(void **state)
{
	struct tpool *t = xcalloc(1, sizeof(*t));
	struct place_plan *p;
	struct place_ntol n;
	int pin, ag;

	/* A local-disk VM on host 0: its restart is impossible when host 0
	** fails, but the agile VM next to it still gets a plan, and ntol is
	** not zeroed as in xapi. */
	tp_init(t, 3, 16 * GIB, 8);
	pin = tp_vm(t, 4 * GIB, 2, 0, PLACE_PROTECTED);
	t->vms[pin].allowed = BIT(0);
	ag = tp_vm(t, 4 * GIB, 2, 0, PLACE_PROTECTED);
	p = place_plan_new(t->pool.nvms);
	assert_int_equal(place_plan(&t->pool, BIT(0), BUDGET, p), PLACE_YES);
	assert_int_equal(p->fate[pin], PLACE_F_EXCUSED);
	assert_int_equal(p->fate[ag], PLACE_F_PLACED);
	assert_int_equal(place_plan_check(&t->pool, BIT(0), p), 0);
	place_ntol(&t->pool, BUDGET, &n);
	assert_int_equal(n.ntol, 2);
	assert_true(n.exact);

	/* Pinned to hosts {0,1}: host 0 failing sends it to host 1 only. */
	t->vms[pin].allowed = BIT(0) | BIT(1);
	assert_int_equal(place_plan(&t->pool, BIT(0), BUDGET, p), PLACE_YES);
	assert_int_equal(p->target[pin], 1);
	t->hosts[1].mem_total = 5 * GIB; /* 3 GiB of room left on host 1 */
	tp_vm(t, 2 * GIB, 1, 1, PLACE_UNPROTECTED);
	place_plan_free(p);
	p = place_plan_new(t->pool.nvms);
	assert_int_equal(place_plan(&t->pool, BIT(0), BUDGET, p), PLACE_NO);
	place_plan_free(p);
	xfree(t);
}

static void
test_symmetry_respects_pins(void **state)
{
	struct tpool *t = xcalloc(1, sizeof(*t));
	struct place_plan *p;
	int a, b;

	/* Hosts 1 and 2 look alike, but B may only run on 1: A must take 2.
	** Host 3 (too small for either) makes both VMs pinned, so they are
	** placed by size: A first. */
	tp_init(t, 4, 10 * GIB, 8);
	t->hosts[3].mem_total = 1 * GIB;
	a = tp_vm(t, 6 * GIB, 1, 0, PLACE_PROTECTED);
	b = tp_vm(t, 5 * GIB, 1, 0, PLACE_PROTECTED);
	t->vms[a].allowed = BIT(0) | BIT(1) | BIT(2);
	t->vms[b].allowed = BIT(0) | BIT(1);
	t->hosts[0].mem_total = 32 * GIB;
	p = place_plan_new(t->pool.nvms);
	assert_int_equal(place_plan(&t->pool, BIT(0), BUDGET, p), PLACE_YES);
	assert_int_equal(p->target[a], 2);
	assert_int_equal(p->target[b], 1);
	assert_int_equal(place_plan_check(&t->pool, BIT(0), p), 0);
	place_plan_free(p);
	xfree(t);
}

static void
test_vcpu_limit(void **state)
{
	struct tpool *t = xcalloc(1, sizeof(*t));
	struct place_plan *p;

	tp_init(t, 2, 64 * GIB, 4);
	tp_vm(t, 1 * GIB, 3, 0, PLACE_PROTECTED);
	tp_vm(t, 1 * GIB, 2, 1, PLACE_UNPROTECTED);
	p = place_plan_new(t->pool.nvms);
	assert_int_equal(place_plan(&t->pool, BIT(0), BUDGET, p), PLACE_NO);
	t->pool.vcpu_ratio_pct = 200; /* 8 vCPUs of room on host 1 */
	assert_int_equal(place_plan(&t->pool, BIT(0), BUDGET, p), PLACE_YES);
	assert_int_equal(place_plan_check(&t->pool, BIT(0), p), 0);
	place_plan_free(p);
	xfree(t);
}

static void
test_anti_affinity(void **state)
{
	struct tpool *t = xcalloc(1, sizeof(*t));
	struct place_plan *p;
	int a, b;

	/* Host 1 is the best fit for both, but they are in one group. */
	tp_init(t, 3, 32 * GIB, 16);
	t->hosts[1].mem_total = 16 * GIB;
	a = tp_vm(t, 4 * GIB, 1, 0, PLACE_PROTECTED);
	b = tp_vm(t, 4 * GIB, 1, 0, PLACE_PROTECTED);
	t->vms[a].groups = t->vms[b].groups = BIT(3);
	p = place_plan_new(t->pool.nvms);
	assert_int_equal(place_plan(&t->pool, BIT(0), BUDGET, p), PLACE_YES);
	assert_true(p->spread);
	assert_int_not_equal(p->target[a], p->target[b]);
	assert_int_equal(place_plan_check(&t->pool, BIT(0), p), 0);

	/* Only one survivor: soft gives an unspread plan, hard gives none. */
	t->pool.nhosts = 2;
	assert_int_equal(place_plan(&t->pool, BIT(0), BUDGET, p), PLACE_YES);
	assert_false(p->spread);
	t->pool.aa_hard = true;
	assert_int_equal(place_plan(&t->pool, BIT(0), BUDGET, p), PLACE_NO);
	place_plan_free(p);
	xfree(t);
}

static void
test_best_effort_and_determinism(void **state)
{
	struct tpool *t = xcalloc(1, sizeof(*t));
	struct place_plan *p = NULL, *q = NULL, *single[PLACE_MAX_HOSTS] = {NULL};
	uint64_t s = seed0();
	int be;

	tp_init(t, 2, 16 * GIB, 16);
	tp_vm(t, 10 * GIB, 1, 0, PLACE_PROTECTED);
	be = tp_vm(t, 10 * GIB, 1, 0, PLACE_BEST_EFFORT);
	p = place_plan_new(t->pool.nvms);
	assert_int_equal(place_plan(&t->pool, BIT(0), BUDGET, p), PLACE_YES);
	assert_int_equal(p->fate[0], PLACE_F_PLACED);
	assert_int_equal(p->fate[be], PLACE_F_NO_ROOM);
	assert_int_equal(place_plan_check(&t->pool, BIT(0), p), 0);
	place_plan_free(p);

	gen_large(t, &s);
	p = place_plan_new(t->pool.nvms);
	q = place_plan_new(t->pool.nvms);
	for (int h = 0; h < t->pool.nhosts; h++)
		single[h] = place_plan_new(t->pool.nvms);
	place_single_failure_plans(&t->pool, BUDGET, single);
	for (int h = 0; h < t->pool.nhosts; h++) {
		if (!t->hosts[h].usable)
			continue;
		place_plan(&t->pool, BIT(h), BUDGET, p);
		place_plan(&t->pool, BIT(h), BUDGET, q);
		assert_int_equal(p->verdict, q->verdict);
		assert_int_equal(p->verdict, single[h]->verdict);
		assert_memory_equal(p->target, q->target, sizeof(int) * (size_t)t->pool.nvms);
		assert_memory_equal(p->target, single[h]->target,
		                    sizeof(int) * (size_t)t->pool.nvms);
		if (p->verdict == PLACE_YES)
			assert_int_equal(place_plan_check(&t->pool, BIT(h), p), 0);
	}
	for (int h = 0; h < t->pool.nhosts; h++)
		place_plan_free(single[h]);
	place_plan_free(p);
	place_plan_free(q);
	xfree(t);
}

/* ---- oracle agreement ---------------------------------------------------- */

static void
test_oracle_small(void **state)
{
	struct tpool *t = xcalloc(1, sizeof(*t));
	uint64_t seed = seed0(), s = seed;
	long cases = 10000 * (long)scale(), plans = 0, inexact = 0, yes = 0, seqsims = 0;

	for (long c = 0; c < cases; c++) {
		struct place_plan *p;
		struct place_ntol n;
		uint64_t usable = 0;
		int on;

		gen_small(t, &s);
		p = place_plan_new(t->pool.nvms);
		for (int h = 0; h < t->pool.nhosts; h++)
			if (t->hosts[h].usable)
				usable |= BIT(h);
		for (uint64_t f = 0; f < BIT(t->pool.nhosts); f++) {
			bool want, spread_possible;
			enum place_verdict r;

			if (f & ~usable)
				continue;
			want = oracle_plan(&t->pool, f, t->pool.aa_hard);
			r = place_plan(&t->pool, f, BUDGET, p);
			plans++;
			if (r != (want ? PLACE_YES : PLACE_NO))
				fail_msg("seed %#llx case %ld failed %#llx: planner %s oracle %s",
				         (unsigned long long)seed, c, (unsigned long long)f,
				         r == PLACE_YES  ? "yes"
				         : r == PLACE_NO ? "no"
				                         : "undecided",
				         want ? "yes" : "no");
			if (r != PLACE_YES)
				continue;
			yes++;
			if (place_plan_check(&t->pool, f, p) != 0)
				fail_msg("seed %#llx case %ld failed %#llx: invalid plan",
				         (unsigned long long)seed, c, (unsigned long long)f);
			/* Soft anti-affinity: spread whenever a spread plan exists. */
			spread_possible = oracle_plan(&t->pool, f, true);
			if (!t->pool.aa_hard && spread_possible && !p->spread)
				fail_msg("seed %#llx case %ld failed %#llx: not spread",
				         (unsigned long long)seed, c, (unsigned long long)f);
		}
		place_plan_free(p);

		on = oracle_ntol(&t->pool);
		place_ntol(&t->pool, BUDGET, &n);
		if (n.ntol > on || (n.exact && n.ntol != on) || n.upper < on)
			fail_msg("seed %#llx case %ld: ntol %d (exact %d, upper %d) oracle %d",
			         (unsigned long long)seed, c, n.ntol, n.exact, n.upper, on);
		inexact += !n.exact;
		if (n.seq > n.ntol || (n.ntol >= 0 && n.seq < 0))
			fail_msg("seed %#llx case %ld: seq %d ntol %d", (unsigned long long)seed, c,
			         n.seq, n.ntol);
		for (int i = 0; i < 3 && n.seq > 0; i++, seqsims++)
			if (!seq_simulate(&t->pool, n.seq, &s))
				fail_msg("seed %#llx case %ld: a sequence of %d failures got stuck",
				         (unsigned long long)seed, c, n.seq);
		/* Small budgets send ntol through branch and bound instead of
		** plain enumeration; they may lose exactness, never soundness. */
		for (long bud = 300; bud <= 3000; bud *= 10) {
			place_ntol(&t->pool, bud, &n);
			if (n.ntol > on || (n.exact && n.ntol != on) || n.upper < on)
				fail_msg("seed %#llx case %ld: budget %ld ntol %d (exact %d, upper "
				         "%d) oracle %d",
				         (unsigned long long)seed, c, bud, n.ntol, n.exact, n.upper,
				         on);
		}
		place_ntol(&t->pool, 1, &n);
		if (n.ntol > on || (n.exact && n.ntol != on) || n.upper < on)
			fail_msg("seed %#llx case %ld: budget 1 ntol %d (exact %d, upper %d) "
			         "oracle %d",
			         (unsigned long long)seed, c, n.ntol, n.exact, n.upper, on);
	}
	print_message("oracle: %ld pools, %ld failure sets (%ld with a plan), %ld ntol inexact, "
	              "%ld sequential runs\n",
	              cases, plans, yes, inexact, seqsims);
	assert_int_equal(inexact, 0);
	xfree(t);
}

/* ---- properties on larger pools ------------------------------------------ */

static void
test_properties_large(void **state)
{
	struct tpool *t = xcalloc(1, sizeof(*t));
	uint64_t seed = seed0() ^ 0x1a26e, s = seed;
	long cases = 100 * (long)scale(), exact = 0, checked = 0, seqsims = 0, seqsum = 0;

	for (long c = 0; c < cases; c++) {
		struct place_plan *p;
		struct place_ntol n, lo;
		uint64_t usable = 0;
		int idx[PLACE_MAX_HOSTS], nu = 0;

		gen_large(t, &s);
		p = place_plan_new(t->pool.nvms);
		for (int h = 0; h < t->pool.nhosts; h++)
			if (t->hosts[h].usable) {
				usable |= BIT(h);
				idx[nu++] = h;
			}
		place_ntol(&t->pool, 200000, &n);
		exact += n.exact;
		assert_true(n.ntol <= n.upper);
		assert_true(!n.exact || n.ntol == n.upper);
		if (n.upper < nu) {
			assert_int_equal(__builtin_popcountll(n.witness), n.upper + 1);
			if (place_plan(&t->pool, n.witness, BUDGET, p) != PLACE_NO)
				fail_msg("seed %#llx case %ld: witness has a plan",
				         (unsigned long long)seed, c);
		}
		/* Every set of size <= ntol has a plan; never a NO. */
		for (int i = 0; i < 30 && n.ntol > 0; i++) {
			int k = 1 + rndn(&s, n.ntol);
			uint64_t f = 0;

			while (__builtin_popcountll(f) < k)
				f |= BIT(idx[rndn(&s, nu)]);
			if (place_plan(&t->pool, f, BUDGET, p) == PLACE_NO)
				fail_msg("seed %#llx case %ld: set %#llx of size %d <= ntol %d has "
				         "no plan",
				         (unsigned long long)seed, c, (unsigned long long)f, k,
				         n.ntol);
			if (p->verdict == PLACE_YES && place_plan_check(&t->pool, f, p) != 0)
				fail_msg("seed %#llx case %ld: invalid plan for %#llx",
				         (unsigned long long)seed, c, (unsigned long long)f);
			checked++;
		}
		assert_true(n.seq <= n.ntol);
		for (int i = 0; i < 5 && n.seq > 0; i++, seqsims++) {
			seqsum += n.seq;
			if (!seq_simulate(&t->pool, n.seq, &s))
				fail_msg("seed %#llx case %ld: a sequence of %d failures got stuck",
				         (unsigned long long)seed, c, n.seq);
		}
		/* A smaller budget gives a lower or equal bound. */
		place_ntol(&t->pool, 100, &lo);
		if (lo.ntol > n.upper || lo.upper < n.ntol)
			fail_msg("seed %#llx case %ld: budget 100 [%d,%d] vs [%d,%d]",
			         (unsigned long long)seed, c, lo.ntol, lo.upper, n.ntol, n.upper);
		if (n.exact && lo.ntol > n.ntol)
			fail_msg("seed %#llx case %ld: budget 100 ntol %d > exact %d",
			         (unsigned long long)seed, c, lo.ntol, n.ntol);
		if (lo.exact && n.exact)
			assert_int_equal(lo.ntol, n.ntol);
		place_plan_free(p);
	}
	print_message("large: %ld pools, %ld exact ntol, %ld sampled sets re-verified, %ld "
	              "sequential runs (mean length %.1f)\n",
	              cases, exact, checked, seqsims, seqsims ? (double)seqsum / seqsims : 0.0);
	xfree(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_hosts_one_down),
	    cmocka_unit_test(test_vm_bigger_than_any_host),
	    cmocka_unit_test(test_pinned_vm),
	    cmocka_unit_test(test_symmetry_respects_pins),
	    cmocka_unit_test(test_vcpu_limit),
	    cmocka_unit_test(test_anti_affinity),
	    cmocka_unit_test(test_best_effort_and_determinism),
	    cmocka_unit_test(test_oracle_small),
	    cmocka_unit_test(test_properties_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
