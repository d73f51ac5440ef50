/*
** The survival decision (heartbeat/liveset.c).
**
** Exhaustive part: for n = 1..6 hosts, every non-empty liveset L, every set
** partition of L into components, every storage-access pattern of L.  Each
** host with access publishes its component's new ring; each host without
** access stops advancing (its slot keeps the old ring and goes stale
** T_stale after its last write).  Every host decides at three times:
** early (some hosts not yet stale), late (all stale, before the deadline)
** and at the deadline.  The invariants (docs/protocol.md, "Invariants
** checked"):
**   (a) at most one component survives;
**   (b) the members of a component decide as a unit: its provers agree,
**       the others await that verdict; with no prover, all wait alike;
**   (c) a component holding the whole liveset survives, storage or not;
**   (d) if some host of L has access, exactly one component survives;
**       else, when L is split, none does (and all fence at the deadline);
**   (e) the survivor is the oracle's winner among the components with a
**       prover: weight, size, preferred host, lowest index;
**   and an early decision is never other than the late one (WAIT allowed).
** Then with random weights and a preferred host for n <= 5.
**
** Focused tests: 2|1, 3|2, 1|1 tie-breaks, storage loss without partition,
** storage lost during a partition, waits and the deadline, inconsistent and
** superseded claims, leaving hosts, quorum-only pools; {a}|{b}|{c} then
** {b,c} (published verdicts).  Then two successive membership changes
** (test_two_changes, n <= 4).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "heartbeat/liveset.h"
#include "lib/check.h"
#include "lib/log.h"

#define T_STALE  3000u
#define T_DECIDE 10000u
#define T_CHANGE 100000u
#define PREV_SEQ 40u

/* ---- a simulated round ---------------------------------------------------- */

struct world {
	struct ls_config cfg;
	uint64_t live;
	int comp_of[LS_MAX_HOSTS]; /* component index, -1 outside L */
	uint64_t comp[LS_MAX_HOSTS];
	unsigned ncomp;
	uint64_t access;
	uint64_t off[LS_MAX_HOSTS]; /* ms before t_change a no-access host last wrote */
};

static struct ls_ring
comp_ring(const struct world *w, unsigned k)
{
	struct ls_ring r;

	/* Corosync: every new ring's seq exceeds the old one's; the
	** representative is the lowest nodeid (host index + 1 here). */
	r.seq = PREV_SEQ + 4;
	r.nodeid = (uint32_t)__builtin_ctzll(w->comp[k]) + 1;
	return r;
}

/* `published`: the hosts with access whose claim has landed; the others
** with access still show the old ring, but keep advancing. */
static void
world_slots(const struct world *w, uint64_t now, uint64_t published, struct ls_peer *peer)
{
	unsigned h;

	memset(peer, 0, sizeof(*peer) * LS_MAX_HOSTS);
	for (h = 0; h < w->cfg.n; h++) {
		if (!(w->live & LS_BIT(h)))
			continue; /* absent: never written */
		peer[h].valid = 1;
		peer[h].state = LS_ALIVE;
		if (w->access & published & LS_BIT(h)) {
			peer[h].ring = comp_ring(w, (unsigned)w->comp_of[h]);
			peer[h].members = w->comp[w->comp_of[h]];
			peer[h].last_seen_ms = now - 500; /* keeps advancing */
		} else {
			peer[h].ring.seq = PREV_SEQ;
			peer[h].ring.nodeid = 1;
			peer[h].members = w->live;
			peer[h].last_seen_ms =
			    w->access & LS_BIT(h) ? now - 500 : T_CHANGE - w->off[h];
		}
	}
}

static void
world_decide(const struct world *w, unsigned self, uint64_t now, const struct ls_peer *peer,
             struct ls_result *out)
{
	struct ls_input in;
	unsigned k = (unsigned)w->comp_of[self];

	memset(&in, 0, sizeof(in));
	in.cfg = &w->cfg;
	in.self = self;
	in.live = w->live;
	in.comp = w->comp[k];
	in.ring = comp_ring(w, k);
	in.prev_ring.seq = PREV_SEQ;
	in.prev_ring.nodeid = 1;
	in.self_access = (w->access & LS_BIT(self)) != 0;
	in.access = w->access & w->comp[k];
	in.peer = peer;
	in.now = now;
	in.t_change = T_CHANGE;
	in.t_stale = T_STALE;
	in.t_decide = T_DECIDE;
	ls_decide(&in, out);
	if (out->reason == LS_R_CONFIRMING) {
		/* Publish the verdict, read back: the others' slots unchanged. */
		static struct ls_peer view[LS_MAX_HOSTS];

		assert_true(out->publish && out->live == w->comp[k]);
		memcpy(view, peer, sizeof(view));
		view[self].has_verdict = 1;
		view[self].vring = in.ring;
		view[self].vlive = out->live;
		in.peer = view;
		ls_decide(&in, out);
	}
}

/* The oracle's order, written independently of ls_beats. */
static int
oracle_better(const struct ls_config *cfg, uint64_t a, uint64_t b)
{
	uint64_t wa = 0, wb = 0;
	int ca = 0, cb = 0, pa = 0, pb = 0, la = 99, lb = 99;
	unsigned h;

	for (h = 0; h < cfg->n; h++) {
		if (a & LS_BIT(h)) {
			wa += cfg->weight[h];
			ca++;
			pa |= (int)h == cfg->preferred;
			if (la == 99)
				la = (int)h;
		}
		if (b & LS_BIT(h)) {
			wb += cfg->weight[h];
			cb++;
			pb |= (int)h == cfg->preferred;
			if (lb == 99)
				lb = (int)h;
		}
	}
	if (wa != wb)
		return wa > wb;
	if (ca != cb)
		return ca > cb;
	if (pa != pb)
		return pa;
	return la < lb;
}

struct counts {
	long cases, decisions, survived, none_survived, early_decided;
};

/* One case: every host decides early, late and at the deadline. */
static void
check_world(const struct world *w, struct counts *cnt)
{
	static struct ls_peer peer[LS_MAX_HOSTS];
	const uint64_t t_early = T_CHANGE + T_STALE / 2, t_late = T_CHANGE + T_STALE;
	const uint64_t t_dead = T_CHANGE + T_DECIDE;
	struct ls_result r;
	const uint64_t pubmasks[4] = {~(uint64_t)0, 0, 0x5555555555555555ull,
	                              0xaaaaaaaaaaaaaaaaull};
	int verdict[LS_MAX_HOSTS]; /* the component verdict, late */
	unsigned h, k, p, survivors = 0, oracle = 0;
	int have_oracle = 0;

	cnt->cases++;
	for (k = 0; k < w->ncomp; k++)
		verdict[k] = 0;

	/* Late: everyone without access is stale. */
	world_slots(w, t_late, w->access, peer);
	for (h = 0; h < w->cfg.n; h++) {
		if (!(w->live & LS_BIT(h)))
			continue;
		k = (unsigned)w->comp_of[h];
		world_decide(w, h, t_late, peer, &r);
		cnt->decisions++;
		if (w->comp[k] == w->live) {
			/* (c) no partition, no fencing */
			assert_int_equal(r.verdict, LS_SURVIVE);
			assert_int_equal(r.reason, LS_R_NO_PARTITION);
			verdict[k] = LS_SURVIVE;
		} else if (!(w->access & w->comp[k])) {
			/* (b) no prover: all wait for the deadline alike */
			assert_int_equal(r.verdict, LS_WAIT);
			assert_int_equal(r.reason, LS_R_NO_STORAGE);
			assert_int_equal(r.next_ms, t_dead);
			verdict[k] = LS_FENCE;
		} else if (!(w->access & LS_BIT(h))) {
			/* (b) a member without access adopts the verdict */
			assert_int_equal(r.verdict, LS_WAIT);
			assert_int_equal(r.reason, LS_R_AWAIT_VERDICT);
		} else {
			/* (b) every prover computes the same verdict */
			assert_int_not_equal(r.verdict, LS_WAIT);
			if (verdict[k] == 0)
				verdict[k] = (int)r.verdict;
			assert_int_equal(verdict[k], r.verdict);
		}
		if (r.verdict == LS_SURVIVE) {
			assert_true(r.live == w->comp[k]);
			assert_true(r.lost == (w->live & ~w->comp[k]));
		}
		if (r.alerts & LS_ALERT_ALL_NO_STORAGE)
			assert_true((w->access & w->comp[k]) == 0);
	}

	/* (e) the oracle: the best component among those with a prover. */
	for (k = 0; k < w->ncomp; k++) {
		if (w->comp[k] != w->live && !(w->access & w->comp[k]))
			continue;
		if (!have_oracle || oracle_better(&w->cfg, w->comp[k], w->comp[oracle]))
			oracle = k;
		have_oracle = 1;
	}
	for (k = 0; k < w->ncomp; k++) {
		if (verdict[k] == LS_SURVIVE) {
			survivors++;
			assert_true(have_oracle);
			assert_int_equal(k, oracle); /* (e) */
		}
	}
	/* (a) and (d) */
	assert_true(survivors <= 1);
	if ((w->access & w->live) || w->ncomp == 1) {
		assert_int_equal(survivors, 1);
		cnt->survived++;
	} else {
		assert_int_equal(survivors, 0);
		cnt->none_survived++;
	}

	/* Early: some hosts without access are not stale yet, and some claims
	** have not landed.  A decision, if any, is the late one. */
	for (p = 0; p < ARRAY_SIZE(pubmasks); p++) {
		world_slots(w, t_early, pubmasks[p], peer);
		for (h = 0; h < w->cfg.n; h++) {
			if (!(w->live & LS_BIT(h)))
				continue;
			k = (unsigned)w->comp_of[h];
			world_decide(w, h, t_early, peer, &r);
			cnt->decisions++;
			if (r.verdict != LS_WAIT) {
				assert_int_equal(r.verdict, verdict[k]);
				cnt->early_decided++;
			} else {
				assert_true(r.next_ms > t_early && r.next_ms <= t_dead);
				if (w->comp[k] != w->live && (w->access & ~pubmasks[p] & LS_BIT(h)))
					assert_int_equal(r.reason, LS_R_PUBLISHING);
			}
		}
	}

	/* At the deadline: only a component holding all of L survives. */
	world_slots(w, t_dead, w->access, peer);
	for (h = 0; h < w->cfg.n; h++) {
		if (!(w->live & LS_BIT(h)))
			continue;
		k = (unsigned)w->comp_of[h];
		world_decide(w, h, t_dead, peer, &r);
		cnt->decisions++;
		assert_int_equal(r.verdict, w->comp[k] == w->live ? LS_SURVIVE : LS_FENCE);
	}
}

/* Every set partition of the hosts of L (restricted growth strings), every
** access pattern. */
static void
sweep_live(struct world *w, struct counts *cnt)
{
	unsigned idx[LS_MAX_HOSTS], rgs[LS_MAX_HOSTS], max[LS_MAX_HOSTS];
	unsigned m = 0, i, k, h;
	uint64_t a, amask;

	for (h = 0; h < w->cfg.n; h++)
		if (w->live & LS_BIT(h))
			idx[m++] = h;
	for (i = 0; i < m; i++)
		rgs[i] = 0;
	for (;;) {
		/* Build the components of this partition. */
		w->ncomp = 0;
		for (i = 0; i < m; i++)
			if (rgs[i] + 1 > w->ncomp)
				w->ncomp = rgs[i] + 1;
		for (k = 0; k < w->ncomp; k++)
			w->comp[k] = 0;
		for (h = 0; h < w->cfg.n; h++)
			w->comp_of[h] = -1;
		for (i = 0; i < m; i++) {
			w->comp[rgs[i]] |= LS_BIT(idx[i]);
			w->comp_of[idx[i]] = (int)rgs[i];
		}
		for (amask = 0; amask < ((uint64_t)1 << m); amask++) {
			a = 0;
			for (i = 0; i < m; i++)
				if (amask & LS_BIT(i))
					a |= LS_BIT(idx[i]);
			w->access = a;
			check_world(w, cnt);
		}
		/* Next restricted growth string. */
		max[0] = 0;
		for (i = 1; i < m; i++)
			max[i] = (rgs[i - 1] > max[i - 1] ? rgs[i - 1] : max[i - 1]);
		for (i = m; i-- > 1;) {
			if (rgs[i] <= max[i]) {
				rgs[i]++;
				break;
			}
		}
		if (i == 0)
			break;
		for (k = i + 1; k < m; k++)
			rgs[k] = 0;
		/* recompute is cheap; max[] is rebuilt at the top next time */
	}
}

static void
sweep(struct world *w, struct counts *cnt)
{
	uint64_t live, all = LS_BIT(w->cfg.n) - 1;
	unsigned h;

	for (h = 0; h < w->cfg.n; h++)
		w->off[h] = (h * 1000u) % 3000u; /* 0..2000: some stale early, all late */
	for (live = 1; live <= all; live++) {
		w->live = live;
		sweep_live(w, cnt);
	}
}

static void
test_exhaustive(void **state)
{
	static const long bell[7] = {1, 1, 2, 5, 15, 52, 203};
	struct world w;
	struct counts cnt, total;
	unsigned n, h, k;
	long expect, binom;

	(void)state;
	memset(&total, 0, sizeof(total));
	for (n = 1; n <= 6; n++) {
		memset(&w, 0, sizeof(w));
		memset(&cnt, 0, sizeof(cnt));
		w.cfg.n = n;
		w.cfg.preferred = -1;
		w.cfg.statefile = 1;
		for (h = 0; h < n; h++)
			w.cfg.weight[h] = 1;
		sweep(&w, &cnt);
		print_message("n=%u: %ld cases (liveset x partition x access), %ld decisions, "
		              "%ld with a survivor, %ld with none, %ld decided early\n",
		              n, cnt.cases, cnt.decisions, cnt.survived, cnt.none_survived,
		              cnt.early_decided);
		/* sum over |L| = k of C(n, k) * Bell(k) * 2^k */
		expect = 0;
		binom = 1;
		for (k = 1; k <= n; k++) {
			binom = binom * (long)(n - k + 1) / (long)k;
			expect += binom * bell[k] * (1L << k);
		}
		assert_int_equal(cnt.cases, expect);
		total.cases += cnt.cases;
		total.decisions += cnt.decisions;
	}
	print_message("n=1..6: %ld cases, %ld decisions\n", total.cases, total.decisions);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
test_exhaustive_weighted(void **state)
{
	struct world w;
	struct counts cnt;
	unsigned n, h, round, rounds;

	(void)state;
	memset(&cnt, 0, sizeof(cnt));
	print_message("weighted: seed 0x%llx\n", (unsigned long long)rng_state);
	for (n = 2; n <= 5; n++) {
		rounds = n <= 4 ? 40 : 12;
		for (round = 0; round < rounds; round++) {
			memset(&w, 0, sizeof(w));
			w.cfg.n = n;
			w.cfg.statefile = 1;
			w.cfg.preferred = (int)(rng() % (n + 1)) - 1;
			for (h = 0; h < n; h++)
				w.cfg.weight[h] = 1 + (uint32_t)(rng() % 3); /* ties are common */
			sweep(&w, &cnt);
		}
	}
	print_message("weighted: %ld cases, %ld decisions, %ld with a survivor, %ld with none\n",
	              cnt.cases, cnt.decisions, cnt.survived, cnt.none_survived);
}

/* ---- focused tests -------------------------------------------------------- */

struct fx {
	struct ls_config cfg;
	struct ls_peer peer[LS_MAX_HOSTS];
	struct ls_input in;
	struct ls_result r;
};

static void
fx_init(struct fx *f, unsigned n, uint64_t live)
{
	unsigned h;

	memset(f, 0, sizeof(*f));
	f->cfg.n = n;
	f->cfg.preferred = -1;
	f->cfg.statefile = 1;
	for (h = 0; h < n; h++) {
		f->cfg.weight[h] = 1;
		if (live & LS_BIT(h)) {
			f->peer[h].valid = 1;
			f->peer[h].state = LS_ALIVE;
			f->peer[h].ring.seq = PREV_SEQ;
			f->peer[h].ring.nodeid = 1;
			f->peer[h].members = live;
			f->peer[h].last_seen_ms = T_CHANGE;
		}
	}
	f->in.cfg = &f->cfg;
	f->in.live = live;
	f->in.prev_ring.seq = PREV_SEQ;
	f->in.prev_ring.nodeid = 1;
	f->in.peer = f->peer;
	f->in.now = T_CHANGE + 100;
	f->in.t_change = T_CHANGE;
	f->in.t_stale = T_STALE;
	f->in.t_decide = T_DECIDE;
}

/* Host h publishes ring (seq, nodeid) with members, seen advancing at `seen`. */
static void
fx_publish(struct fx *f, unsigned h, uint64_t seq, uint32_t nodeid, uint64_t members, uint64_t seen)
{
	f->peer[h].valid = 1;
	f->peer[h].state = LS_ALIVE;
	f->peer[h].ring.seq = seq;
	f->peer[h].ring.nodeid = nodeid;
	f->peer[h].members = members;
	f->peer[h].last_seen_ms = seen;
}

/* Decide for self in component comp (ring PREV_SEQ + 4, nodeid = lowest + 1). */
static void
fx_decide(struct fx *f, unsigned self, uint64_t comp, uint64_t access, uint64_t now)
{
	f->in.self = self;
	f->in.comp = comp;
	f->in.ring.seq = PREV_SEQ + 4;
	f->in.ring.nodeid = (uint32_t)__builtin_ctzll(comp) + 1;
	f->in.self_access = (access & LS_BIT(self)) != 0;
	f->in.access = access & comp;
	f->in.now = now;
	ls_decide(&f->in, &f->r);
	if (f->r.reason == LS_R_CONFIRMING) {
		/* Publish the verdict and confirm on a read with the same other
		** slots; then take it back off the fixture, so that the next host
		** decides as if it had read before the verdict landed. */
		struct ls_peer saved = f->peer[self];

		assert_true(f->r.publish);
		f->peer[self].has_verdict = 1;
		f->peer[self].vring = f->in.ring;
		f->peer[self].vlive = f->r.live;
		ls_decide(&f->in, &f->r);
		f->peer[self] = saved;
	}
}

/* Every host of live with access publishes its component (fresh at now). */
static void
fx_split(struct fx *f, const uint64_t *comps, unsigned ncomp, uint64_t access, uint64_t now)
{
	unsigned k, h;

	for (k = 0; k < ncomp; k++)
		for (h = 0; h < f->cfg.n; h++)
			if ((comps[k] & access & LS_BIT(h)))
				fx_publish(f, h, PREV_SEQ + 4,
				           (uint32_t)__builtin_ctzll(comps[k]) + 1, comps[k],
				           now - 100);
}

static void
test_two_one(void **state)
{
	struct fx f;
	const uint64_t comps[2] = {0x3, 0x4};
	const uint64_t now = T_CHANGE + 500;

	(void)state;
	fx_init(&f, 3, 0x7);
	fx_split(&f, comps, 2, 0x7, now);
	fx_decide(&f, 0, 0x3, 0x7, now);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
	assert_int_equal(f.r.reason, LS_R_WON);
	assert_true(f.r.live == 0x3 && f.r.lost == 0x4 && f.r.winner == 0x3);
	assert_int_equal(f.r.alerts, 0);
	fx_decide(&f, 2, 0x4, 0x7, now);
	assert_int_equal(f.r.verdict, LS_FENCE);
	assert_int_equal(f.r.reason, LS_R_LOST);
	assert_true(f.r.winner == 0x3);

	/* The pair lost storage: it cannot prove; the single host can. */
	fx_init(&f, 3, 0x7);
	fx_split(&f, comps, 2, 0x4, now);
	fx_decide(&f, 2, 0x4, 0x4, now); /* 0 and 1 not stale yet */
	assert_int_equal(f.r.verdict, LS_WAIT);
	assert_int_equal(f.r.reason, LS_R_AWAIT_HOSTS);
	assert_true(f.r.unsettled == 0x3);
	assert_int_equal(f.r.next_ms, T_CHANGE + T_STALE);
	fx_decide(&f, 2, 0x4, 0x4, T_CHANGE + T_STALE);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
	assert_true(f.r.live == 0x4 && f.r.lost == 0x3);
	fx_decide(&f, 0, 0x3, 0x4, T_CHANGE + T_STALE);
	assert_int_equal(f.r.verdict, LS_WAIT);
	assert_int_equal(f.r.reason, LS_R_NO_STORAGE);
	assert_true(f.r.alerts & LS_ALERT_ALL_NO_STORAGE);
	fx_decide(&f, 0, 0x3, 0x4, T_CHANGE + T_DECIDE);
	assert_int_equal(f.r.verdict, LS_FENCE);
	assert_int_equal(f.r.reason, LS_R_NO_STORAGE);

	/* One of the pair keeps access: its claim settles its mate at once. */
	fx_init(&f, 3, 0x7);
	fx_split(&f, comps, 2, 0x5, now);
	fx_decide(&f, 2, 0x4, 0x5, now);
	assert_int_equal(f.r.verdict, LS_FENCE);
	assert_int_equal(f.r.reason, LS_R_LOST);
	fx_decide(&f, 0, 0x3, 0x5, now);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
	fx_decide(&f, 1, 0x3, 0x5, now);
	assert_int_equal(f.r.verdict, LS_WAIT);
	assert_int_equal(f.r.reason, LS_R_AWAIT_VERDICT);
	assert_true(f.r.alerts & LS_ALERT_SELF_NO_STORAGE);
	assert_true(f.r.alerts & LS_ALERT_SOME_NO_STORAGE);
}

static void
test_three_two(void **state)
{
	struct fx f;
	const uint64_t comps[2] = {0x07, 0x18};
	const uint64_t now = T_CHANGE + 500;

	(void)state;
	fx_init(&f, 5, 0x1f);
	fx_split(&f, comps, 2, 0x1f, now);
	fx_decide(&f, 1, 0x07, 0x1f, now);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
	fx_decide(&f, 4, 0x18, 0x1f, now);
	assert_int_equal(f.r.verdict, LS_FENCE);

	/* Weight beats size: hosts 3 and 4 weigh 2 each (4 > 3). */
	f.cfg.weight[3] = f.cfg.weight[4] = 2;
	fx_decide(&f, 1, 0x07, 0x1f, now);
	assert_int_equal(f.r.verdict, LS_FENCE);
	assert_true(f.r.winner == 0x18);
	fx_decide(&f, 3, 0x18, 0x1f, now);
	assert_int_equal(f.r.verdict, LS_SURVIVE);

	/* Equal weight (3 = 3): size decides, the three win. */
	f.cfg.weight[3] = 1;
	fx_decide(&f, 3, 0x18, 0x1f, now);
	assert_int_equal(f.r.verdict, LS_FENCE);
	fx_decide(&f, 0, 0x07, 0x1f, now);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
}

static void
test_one_one_tiebreak(void **state)
{
	struct fx f;
	const uint64_t comps[2] = {0x1, 0x2};
	const uint64_t now = T_CHANGE + 500;

	(void)state;
	fx_init(&f, 2, 0x3);
	fx_split(&f, comps, 2, 0x3, now);
	/* No preference: the lowest index, host 0. */
	fx_decide(&f, 0, 0x1, 0x3, now);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
	fx_decide(&f, 1, 0x2, 0x3, now);
	assert_int_equal(f.r.verdict, LS_FENCE);
	/* The preferred host wins the tie. */
	f.cfg.preferred = 1;
	fx_decide(&f, 0, 0x1, 0x3, now);
	assert_int_equal(f.r.verdict, LS_FENCE);
	fx_decide(&f, 1, 0x2, 0x3, now);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
	/* Weight comes before the preference. */
	f.cfg.weight[0] = 2;
	fx_decide(&f, 0, 0x1, 0x3, now);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
	fx_decide(&f, 1, 0x2, 0x3, now);
	assert_int_equal(f.r.verdict, LS_FENCE);

	assert_int_equal(ls_beats(&f.cfg, 0x3, 0x1, 0x2), 1);
	assert_int_equal(ls_beats(&f.cfg, 0x3, 0x2, 0x1), 0);
	assert_int_equal(ls_beats(&f.cfg, 0x1, 0x2, 0x1), 0); /* no liveset host */
	assert_int_equal(ls_beats(&f.cfg, 0x2, 0x2, 0x1), 1);
}

static void
test_storage_loss_no_partition(void **state)
{
	struct fx f;
	uint64_t now = T_CHANGE + 60000;

	(void)state;
	/* A lone host loses its own storage path: no fence, an alert. */
	fx_init(&f, 3, 0x7);
	fx_decide(&f, 2, 0x7, 0x3, now);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
	assert_int_equal(f.r.reason, LS_R_NO_PARTITION);
	assert_true(f.r.live == 0x7 && f.r.lost == 0);
	assert_int_equal(f.r.alerts, LS_ALERT_SELF_NO_STORAGE | LS_ALERT_SOME_NO_STORAGE);
	fx_decide(&f, 0, 0x7, 0x3, now);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
	assert_int_equal(f.r.alerts, LS_ALERT_SOME_NO_STORAGE);

	/* All storage lost, network whole: survive, alert loudly. */
	fx_decide(&f, 1, 0x7, 0, now);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
	assert_true(f.r.alerts & LS_ALERT_ALL_NO_STORAGE);
	/* ... even long past any deadline, and with a joiner in C. */
	f.in.joined = 0x8;
	f.cfg.n = 4;
	f.cfg.weight[3] = 1;
	fx_decide(&f, 1, 0xf, 0, now + 10 * T_DECIDE);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
	assert_true(f.r.live == 0xf);

	/* A single-host pool. */
	fx_init(&f, 1, 0x1);
	fx_decide(&f, 0, 0x1, 0, now);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
}

static void
test_storage_lost_during_partition(void **state)
{
	struct fx f;
	const uint64_t comps[2] = {0x1, 0x6};
	uint64_t t;

	(void)state;
	/* {0} | {1,2}: host 1 publishes {1,2}, host 2 has no access. */
	fx_init(&f, 3, 0x7);
	fx_publish(&f, 0, PREV_SEQ + 4, 1, 0x1, T_CHANGE + 400);
	fx_publish(&f, 1, PREV_SEQ + 4, 2, 0x6, T_CHANGE + 400);
	t = T_CHANGE + 500;
	fx_decide(&f, 0, 0x1, 0x1, t);
	assert_int_equal(f.r.verdict, LS_FENCE); /* {1,2} is heavier */
	fx_decide(&f, 1, 0x6, 0x2, t);
	assert_int_equal(f.r.verdict, LS_SURVIVE);

	/* Then host 1 loses storage too (stale T_stale after its last
	** write): its claim is dropped and {0} wins.  Whoever decided while
	** the claim was fresh already fenced: nobody survives (the documented
	** double fault). */
	t = T_CHANGE + 400 + T_STALE;
	fx_decide(&f, 0, 0x1, 0x1, t);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
	assert_true(f.r.lost == 0x6);
	fx_decide(&f, 1, 0x6, 0x0, t);
	assert_int_equal(f.r.verdict, LS_WAIT);
	assert_int_equal(f.r.reason, LS_R_NO_STORAGE);

	/* Host 0 loses storage before publishing: it cannot prove. */
	fx_init(&f, 3, 0x7);
	fx_split(&f, comps, 2, 0x6, T_CHANGE + 500);
	fx_decide(&f, 0, 0x1, 0x0, T_CHANGE + 500);
	assert_int_equal(f.r.verdict, LS_WAIT);
	assert_int_equal(f.r.reason, LS_R_NO_STORAGE);
	fx_decide(&f, 2, 0x6, 0x6, T_CHANGE + 500);
	assert_int_equal(f.r.verdict, LS_WAIT); /* host 0 not stale yet */
	fx_decide(&f, 2, 0x6, 0x6, T_CHANGE + T_STALE);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
}

static void
test_waits_and_deadline(void **state)
{
	struct fx f;
	const uint64_t comps[2] = {0x3, 0x4};

	(void)state;
	fx_init(&f, 3, 0x7);
	f.peer[2].last_seen_ms = T_CHANGE - 1000;
	/* My own claim is not written yet. */
	fx_decide(&f, 0, 0x3, 0x7, T_CHANGE + 100);
	assert_int_equal(f.r.verdict, LS_WAIT);
	assert_int_equal(f.r.reason, LS_R_PUBLISHING);
	assert_int_equal(f.r.next_ms, T_CHANGE - 1000 + T_STALE);
	/* Written; host 2 neither claimed nor stale: wait until it is stale. */
	fx_split(&f, comps, 1, 0x3, T_CHANGE + 200);
	fx_decide(&f, 0, 0x3, 0x7, T_CHANGE + 200);
	assert_int_equal(f.r.verdict, LS_WAIT);
	assert_int_equal(f.r.reason, LS_R_AWAIT_HOSTS);
	assert_true(f.r.unsettled == 0x4);
	assert_int_equal(f.r.next_ms, T_CHANGE - 1000 + T_STALE);
	/* Host 2 keeps writing the old ring (never stale, never claims): the
	** deadline fences. */
	f.peer[2].last_seen_ms = T_CHANGE + T_DECIDE - 100;
	fx_decide(&f, 0, 0x3, 0x7, T_CHANGE + T_DECIDE - 50);
	assert_int_equal(f.r.verdict, LS_WAIT);
	assert_int_equal(f.r.next_ms, T_CHANGE + T_DECIDE);
	fx_decide(&f, 0, 0x3, 0x7, T_CHANGE + T_DECIDE);
	assert_int_equal(f.r.verdict, LS_FENCE);
	assert_int_equal(f.r.reason, LS_R_DEADLINE);
	assert_int_equal(f.r.blocked, LS_R_AWAIT_HOSTS);
	/* A member awaiting the verdict fences at the deadline too. */
	fx_decide(&f, 1, 0x3, 0x1, T_CHANGE + T_DECIDE);
	assert_int_equal(f.r.verdict, LS_FENCE);
	assert_int_equal(f.r.blocked, LS_R_AWAIT_VERDICT);
	/* A win computed after the deadline is too late. */
	f.peer[2].state = LS_LEAVING;
	f.peer[2].last_seen_ms = T_CHANGE + T_DECIDE;
	fx_decide(&f, 0, 0x3, 0x7, T_CHANGE + T_DECIDE - 1);
	assert_int_equal(f.r.verdict, LS_SURVIVE); /* rule 1: 2 left cleanly */
	assert_int_equal(f.r.reason, LS_R_NO_PARTITION);
	assert_true(f.r.lost == 0x4);
	f.peer[2].state = LS_ALIVE;
	f.peer[2].last_seen_ms = T_CHANGE;
	fx_decide(&f, 0, 0x3, 0x7, T_CHANGE + T_DECIDE + 1);
	assert_int_equal(f.r.verdict, LS_FENCE);
	assert_int_equal(f.r.blocked, LS_R_WON);
}

static void
test_inconsistent_and_superseded(void **state)
{
	struct fx f;
	const uint64_t now = T_CHANGE + 500;

	(void)state;
	/* {0} | {1,2} | {3}; host 1 claims {1,2} and host 2 claims {2,3} in
	** another ring of the same seq: contradiction. */
	fx_init(&f, 4, 0xf);
	fx_publish(&f, 0, PREV_SEQ + 4, 1, 0x1, now);
	fx_publish(&f, 1, PREV_SEQ + 4, 2, 0x6, now);
	fx_publish(&f, 2, PREV_SEQ + 4, 3, 0xc, now);
	fx_decide(&f, 0, 0x1, 0x1, now);
	assert_int_equal(f.r.verdict, LS_WAIT);
	assert_int_equal(f.r.reason, LS_R_INCONSISTENT);
	assert_true(f.r.alerts & LS_ALERT_INCONSISTENT);
	/* Still contradictory (the claimers fresh) at the deadline: fence. */
	f.peer[1].last_seen_ms = f.peer[2].last_seen_ms = T_CHANGE + T_DECIDE - 100;
	fx_decide(&f, 0, 0x1, 0x1, T_CHANGE + T_DECIDE);
	assert_int_equal(f.r.verdict, LS_FENCE);
	assert_int_equal(f.r.blocked, LS_R_INCONSISTENT);
	/* Had both claimers gone stale, their claims would not count. */
	f.peer[1].last_seen_ms = f.peer[2].last_seen_ms = now;
	fx_decide(&f, 0, 0x1, 0x1, now + T_STALE);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
	/* A claim that leaves out its own claimer. */
	fx_publish(&f, 2, PREV_SEQ + 4, 3, 0x8, now);
	fx_decide(&f, 0, 0x1, 0x1, now);
	assert_int_equal(f.r.reason, LS_R_INCONSISTENT);
	/* Same ring, different member sets. */
	fx_publish(&f, 2, PREV_SEQ + 4, 2, 0xe, now);
	fx_decide(&f, 0, 0x1, 0x1, now);
	assert_int_equal(f.r.reason, LS_R_INCONSISTENT);

	/* Superseded: host 2 now publishes a newer ring {2,3}; host 1's
	** {1,2} ended, so host 1 (still on it) is unsettled until it claims
	** again or goes stale. */
	fx_publish(&f, 2, PREV_SEQ + 8, 3, 0xc, now);
	fx_decide(&f, 0, 0x1, 0x1, now);
	assert_int_equal(f.r.verdict, LS_WAIT);
	assert_int_equal(f.r.reason, LS_R_AWAIT_HOSTS);
	assert_true(f.r.unsettled == 0x2);
	fx_publish(&f, 1, PREV_SEQ + 8, 2, 0x2, now);
	fx_decide(&f, 0, 0x1, 0x1, now);
	assert_int_equal(f.r.verdict, LS_FENCE); /* {2,3} is the heaviest */
	assert_true(f.r.winner == 0xc);

	/* Outdated: a member of my component is already in a newer ring. */
	fx_init(&f, 3, 0x7);
	fx_publish(&f, 0, PREV_SEQ + 4, 1, 0x3, now);
	fx_publish(&f, 1, PREV_SEQ + 8, 2, 0x6, now);
	fx_decide(&f, 0, 0x3, 0x3, now);
	assert_int_equal(f.r.verdict, LS_WAIT);
	assert_int_equal(f.r.reason, LS_R_OUTDATED);
}

static void
test_gone_hosts(void **state)
{
	struct fx f;

	(void)state;
	/* A host that left cleanly or is fencing is not "another side". */
	fx_init(&f, 3, 0x7);
	f.peer[2].state = LS_LEAVING;
	fx_decide(&f, 0, 0x3, 0x0, T_CHANGE + 10);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
	assert_true(f.r.live == 0x3 && f.r.lost == 0x4);
	f.peer[2].state = LS_FENCING;
	fx_decide(&f, 1, 0x3, 0x0, T_CHANGE + 10);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
	/* ... but a fenced host does not make a partition whole. */
	f.peer[2].state = LS_FENCED;
	fx_decide(&f, 1, 0x2, 0x0, T_CHANGE + 10);
	assert_int_equal(f.r.verdict, LS_WAIT);
	assert_int_equal(f.r.reason, LS_R_NO_STORAGE);
	/* With storage, a fenced missing host is settled at once. */
	fx_publish(&f, 0, PREV_SEQ + 4, 1, 0x1, T_CHANGE + 10);
	fx_publish(&f, 1, PREV_SEQ + 4, 2, 0x2, T_CHANGE + 10);
	f.peer[2].state = LS_FENCED;
	f.peer[2].valid = 1;
	fx_decide(&f, 0, 0x1, 0x1, T_CHANGE + 20);
	assert_int_equal(f.r.verdict, LS_SURVIVE); /* {0} vs {1}: lowest index */
	fx_decide(&f, 1, 0x2, 0x2, T_CHANGE + 20);
	assert_int_equal(f.r.verdict, LS_FENCE);
}

static void
test_quorum_only(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f, 3, 0x7);
	f.cfg.statefile = 0;
	f.in.peer = NULL;
	f.in.quorate = 1;
	fx_decide(&f, 0, 0x3, 0, T_CHANGE + 10);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
	assert_int_equal(f.r.reason, LS_R_QUORATE);
	assert_true(f.r.live == 0x3 && f.r.lost == 0x4);
	assert_int_equal(f.r.alerts, 0);
	f.in.quorate = 0;
	fx_decide(&f, 2, 0x4, 0, T_CHANGE + 10);
	assert_int_equal(f.r.verdict, LS_WAIT);
	assert_int_equal(f.r.reason, LS_R_NOT_QUORATE);
	assert_int_equal(f.r.next_ms, T_CHANGE + T_DECIDE);
	fx_decide(&f, 2, 0x4, 0, T_CHANGE + T_DECIDE);
	assert_int_equal(f.r.verdict, LS_FENCE);
	assert_int_equal(f.r.reason, LS_R_NOT_QUORATE);
	/* Votequorum is the authority, even for a component holding L. */
	fx_decide(&f, 2, 0x7, 0, T_CHANGE + T_DECIDE);
	assert_int_equal(f.r.verdict, LS_FENCE);
}

static void
test_config_and_names(void **state)
{
	struct ls_config c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(ls_config_check(&c), -1);
	assert_int_equal(ls_config_check(NULL), -1);
	c.n = 2;
	c.weight[0] = c.weight[1] = 1;
	c.preferred = -1;
	assert_int_equal(ls_config_check(&c), 0);
	c.preferred = 2;
	assert_int_equal(ls_config_check(&c), -1);
	c.preferred = 1;
	c.weight[1] = 0;
	assert_int_equal(ls_config_check(&c), -1);
	c.weight[1] = LS_WEIGHT_MAX + 1;
	assert_int_equal(ls_config_check(&c), -1);
	c.n = LS_MAX_HOSTS + 1;
	assert_int_equal(ls_config_check(&c), -1);

	assert_string_equal(ls_verdict_name(LS_FENCE), "fence");
	assert_string_equal(ls_verdict_name(0), "?");
	assert_string_equal(ls_reason_name(LS_R_LOST), "lost the arbitration");
	assert_string_equal(ls_reason_name(LS_R_DEADLINE), "no decision by the deadline");
	assert_string_equal(ls_reason_name(-1), "?");
	assert_string_equal(ls_reason_name(99), "?");
}

/* 64 hosts: the bit arithmetic at the top of the map. */
static void
test_sixty_four(void **state)
{
	struct fx f;
	const uint64_t all = ~(uint64_t)0, hi = (uint64_t)1 << 63;
	const uint64_t now = T_CHANGE + 500;

	(void)state;
	fx_init(&f, 64, all);
	fx_publish(&f, 63, PREV_SEQ + 4, 64, hi, now);
	fx_publish(&f, 0, PREV_SEQ + 4, 1, all & ~hi, now);
	fx_decide(&f, 63, hi, hi, now);
	assert_int_equal(f.r.verdict, LS_FENCE);
	fx_decide(&f, 0, all & ~hi, 1, now);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
	assert_true(f.r.lost == hi);
	f.cfg.weight[63] = LS_WEIGHT_MAX;
	fx_decide(&f, 63, hi, hi, now);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
}

/* ---- two successive membership changes ------------------------------------ */

/*
** A sequential model of the statefile (one slot per host: what is on
** storage) and of every host's round state.  Every read is issued after the
** reader's last write landed (liveset.h, struct ls_peer), so a sequential
** schedule is a faithful linearization of the storage.  Members of the
** evaluating host's component show, instead of their slot's verdict, the
** verdict they confirmed (their CPG state message of the current ring).
*/
struct h2 {
	int dead;            /* fenced */
	int done;            /* decided in its current ring */
	int undecided1;      /* was still in the first round at the second change */
	uint64_t L;          /* its liveset ... */
	struct ls_ring P;    /* ... agreed in this ring */
	uint64_t t_change;   /* its round's first change */
	uint64_t comp;       /* current component ... */
	struct ls_ring ring; /* ... and ring */
	int survived;        /* last decision SURVIVE: running as a survivor */
	int survived_now;    /* took SURVIVE after the second change */
	int defer;           /* its verdict writes land late (held in pv) */
	struct ls_peer pv;   /* has_verdict, vring, vlive not yet landed */
};

struct tw {
	struct ls_config cfg;
	uint64_t access;
	struct ls_peer disk[LS_MAX_HOSTS];
	struct h2 h[LS_MAX_HOSTS];
};

struct counts2 {
	long cases, decisions, r1_survived, end_survivor, end_none, preempted, r2_after_r1;
};

#define T2 (T_CHANGE + T_STALE + 1000) /* the second change */

static int
ring_same(struct ls_ring a, struct ls_ring b)
{
	return a.seq == b.seq && a.nodeid == b.nodeid;
}

/* Write my verdict {ring, live}; a deferred host's write lands later. */
static void
tw_write_verdict(struct tw *t, unsigned h, uint64_t live)
{
	struct ls_peer *p = t->h[h].defer ? &t->h[h].pv : &t->disk[h];

	p->has_verdict = 1;
	p->vring = t->h[h].ring;
	p->vlive = live;
}

static void
tw_land(struct tw *t)
{
	unsigned h;

	for (h = 0; h < t->cfg.n; h++) {
		if (t->h[h].defer && t->h[h].pv.has_verdict) {
			t->disk[h].has_verdict = 1;
			t->disk[h].vring = t->h[h].pv.vring;
			t->disk[h].vlive = t->h[h].pv.vlive;
		}
		t->h[h].defer = 0;
	}
}

static void
tw_install(struct tw *t, unsigned h, uint64_t live)
{
	struct h2 *me = &t->h[h];

	me->survived = 1;
	me->survived_now = 1;
	me->done = 1;
	if (t->access & LS_BIT(h))
		tw_write_verdict(t, h, live);
	me->L = live;
	me->P = me->ring;
	me->t_change = T2; /* its next round starts at the next change */
}

static void
tw_fence(struct tw *t, unsigned h)
{
	t->h[h].dead = 1;
	t->h[h].done = 1;
	t->h[h].survived = 0;
	if (t->access & LS_BIT(h))
		t->disk[h].state = LS_FENCING;
}

/* Host h evaluates at `now` and acts.  1 if something changed. */
static int
tw_step(struct tw *t, unsigned h, uint64_t now, struct counts2 *cnt)
{
	static struct ls_peer view[LS_MAX_HOSTS];
	struct h2 *me = &t->h[h];
	struct ls_ring ring = me->ring, P = me->P;
	uint64_t L = me->L;
	struct ls_input in;
	struct ls_result r;
	unsigned g;

	if (me->dead || me->done || me->comp == 0)
		return 0; /* fenced, decided, or not in the pool */
	memcpy(view, t->disk, sizeof(view));
	for (g = 0; g < t->cfg.n; g++) {
		view[g].last_seen_ms =
		    (t->access & LS_BIT(g)) && !t->h[g].dead ? now - 100 : T_CHANGE - 2000;
		if (g != h && (me->comp & LS_BIT(g))) {
			memset(&view[g].vring, 0, sizeof(view[g].vring));
			view[g].has_verdict = t->h[g].P.seq > PREV_SEQ;
			view[g].vring = view[g].has_verdict ? t->h[g].P : view[g].vring;
			view[g].vlive = view[g].has_verdict ? t->h[g].L : 0;
		}
	}
	memset(&in, 0, sizeof(in));
	in.cfg = &t->cfg;
	in.self = h;
	in.live = me->L;
	in.comp = me->comp;
	in.ring = me->ring;
	in.prev_ring = me->P;
	in.self_access = (t->access & LS_BIT(h)) != 0;
	in.access = t->access & me->comp;
	in.peer = view;
	in.now = now;
	in.t_change = me->t_change;
	in.t_stale = T_STALE;
	in.t_decide = T_DECIDE;
	ls_decide(&in, &r);
	cnt->decisions++;
	if (r.reason == LS_R_PREEMPTED)
		cnt->preempted++;
	if (r.reason == LS_R_CONFIRMING) {
		assert_true(r.publish);
		if (me->defer && me->pv.has_verdict && ring_same(me->pv.vring, me->ring))
			return 0; /* already written, not landed */
		tw_write_verdict(t, h, r.live);
		return 1;
	}
	if (r.verdict == LS_WAIT)
		return 0;
	if (r.verdict == LS_SURVIVE)
		tw_install(t, h, r.live);
	else
		tw_fence(t, h);
	/* A prover's verdict, multicast in total order, is the first one
	** delivered (the schedule is sequential): every member of the same
	** round and ring that has not decided adopts it. */
	if (!in.self_access || !(L & LS_BIT(h)) || r.reason == LS_R_NO_PARTITION ||
	    r.reason == LS_R_DEADLINE || r.reason == LS_R_NO_STORAGE)
		return 1;
	for (g = 0; g < t->cfg.n; g++) {
		struct h2 *o = &t->h[g];

		if (g == h || o->dead || o->done || !(me->comp & LS_BIT(g)) ||
		    !ring_same(o->ring, ring) || !ring_same(o->P, P) || o->L != L)
			continue;
		if (r.verdict == LS_SURVIVE)
			tw_install(t, g, r.live);
		else
			tw_fence(t, g);
	}
	return 1;
}

static void
tw_settle(struct tw *t, uint64_t now, struct counts2 *cnt)
{
	unsigned h, pass;
	int changed = 1;

	/* One pass reads before the deferred writes land. */
	for (h = 0; h < t->cfg.n; h++)
		tw_step(t, h, now, cnt);
	tw_land(t);
	for (pass = 0; changed; pass++) {
		assert_true(pass < 16);
		changed = 0;
		for (h = 0; h < t->cfg.n; h++)
			changed |= tw_step(t, h, now, cnt);
	}
}

/* Next restricted growth string of length m (a set partition); 0 at the end. */
static int
rgs_next(unsigned *rgs, unsigned m)
{
	unsigned i, k, mx;

	for (i = m; i-- > 1;) {
		mx = 0;
		for (k = 0; k < i; k++)
			if (rgs[k] > mx)
				mx = rgs[k];
		if (rgs[i] <= mx) {
			rgs[i]++;
			for (k = i + 1; k < m; k++)
				rgs[k] = 0;
			return 1;
		}
	}
	return 0;
}

/* The parts of `set` given by rgs; returns their number. */
static unsigned
rgs_parts(uint64_t set, const unsigned *rgs, uint64_t *part)
{
	unsigned i = 0, h, np = 0;

	for (h = 0; h < 64; h++) {
		if (!(set & LS_BIT(h)))
			continue;
		while (np <= rgs[i])
			part[np++] = 0;
		part[rgs[i++]] |= LS_BIT(h);
	}
	return np;
}

/* After round 1 (t1): every second change (a set partition of the living
** hosts: merges, further splits, or none), round 2 to quiescence, then past
** every deadline.  The invariants are checked throughout. */
static void
tw_second(const struct tw *t1, struct counts2 *cnt)
{
	static struct tw t;
	uint64_t alive = 0, part[LS_MAX_HOSTS], winpart, runpart;
	unsigned rgs[LS_MAX_HOSTS], m = 0, np, k, h, g;

	for (h = 0; h < t1->cfg.n; h++)
		if (t1->disk[h].valid && !t1->h[h].dead)
			alive |= LS_BIT(h), rgs[m++] = 0;
	if (m == 0)
		return;
	do {
		t = *t1;
		cnt->cases++;
		np = rgs_parts(alive, rgs, part);
		for (k = 0; k < np; k++) {
			for (h = 0; h < t.cfg.n; h++) {
				if (!(part[k] & LS_BIT(h)))
					continue;
				t.h[h].undecided1 = !t.h[h].done;
				t.h[h].comp = part[k];
				t.h[h].ring.seq = PREV_SEQ + 8;
				t.h[h].ring.nodeid = (uint32_t)__builtin_ctzll(part[k]) + 1;
				t.h[h].done = 0;
				t.h[h].survived_now = 0;
				if (t.access & LS_BIT(h)) { /* its claim */
					t.disk[h].ring = t.h[h].ring;
					t.disk[h].members = part[k];
				}
			}
		}
		tw_settle(&t, T2 + 500, cnt);

		/* Never two components surviving at once: who took SURVIVE
		** after the change is in one part; if one of them was still in
		** the first round, no survivor of the first round runs outside
		** its part (their restart clocks would not cover it). */
		winpart = 0;
		for (h = 0; h < t.cfg.n; h++) {
			if (!t.h[h].survived_now)
				continue;
			if (winpart == 0)
				winpart = t.h[h].comp;
			assert_true(t.h[h].comp == winpart);
			if (!t.h[h].undecided1)
				continue;
			for (g = 0; g < t.cfg.n; g++)
				if (t.h[g].survived && !t.h[g].dead && !(winpart & LS_BIT(g))) {
					print_message(
					    "round-1 survivor %u runs beside round-2 survivor %u\n",
					    g, h);
					fail();
				}
		}
		for (h = 0; h < t.cfg.n; h++)
			if (t.h[h].survived_now && t.h[h].undecided1)
				for (g = 0; g < t.cfg.n; g++)
					if (t1->h[g].survived && !(t.h[h].comp & LS_BIT(g)))
						cnt->r2_after_r1++;

		/* Past every deadline: everyone still waiting fences; those
		** still running are in one part. */
		tw_settle(&t, T2 + T_DECIDE, cnt);
		runpart = 0;
		for (h = 0; h < t.cfg.n; h++) {
			if (t.h[h].dead || !t.h[h].survived)
				continue;
			if (runpart == 0)
				runpart = t.h[h].comp;
			assert_true(t.h[h].comp == runpart);
		}
		if (runpart)
			cnt->end_survivor++;
		else
			cnt->end_none++;
	} while (rgs_next(rgs, m));
}

/* One first round: liveset L split into comp[0..nc), access pattern, and
** how far each component got before the second change (stage 0: not
** evaluated; 1: once; 2: twice; 3: once, but the verdict it wrote lands
** only after the other hosts' first reads after the change), in forward or
** reverse order. */
static void
tw_first(const struct ls_config *cfg, uint64_t L, const uint64_t *comp, unsigned nc,
         uint64_t access, const unsigned *stage, int reverse, struct counts2 *cnt)
{
	static struct tw t;
	unsigned i, k, h, pass, survivors = 0;

	memset(&t, 0, sizeof(t));
	t.cfg = *cfg;
	t.access = access;
	for (k = 0; k < nc; k++) {
		for (h = 0; h < cfg->n; h++) {
			if (!(comp[k] & LS_BIT(h)))
				continue;
			t.h[h].L = L;
			t.h[h].P.seq = PREV_SEQ;
			t.h[h].P.nodeid = 1;
			t.h[h].t_change = T_CHANGE;
			t.h[h].comp = comp[k];
			t.h[h].ring.seq = PREV_SEQ + 4;
			t.h[h].ring.nodeid = (uint32_t)__builtin_ctzll(comp[k]) + 1;
			t.h[h].defer = stage[k] == 3;
			t.disk[h].valid = 1;
			t.disk[h].state = LS_ALIVE;
			t.disk[h].ring = access & LS_BIT(h) ? t.h[h].ring : t.h[h].P;
			t.disk[h].members = access & LS_BIT(h) ? comp[k] : L;
		}
	}
	for (pass = 1; pass <= 2; pass++)
		for (i = 0; i < nc; i++) {
			k = reverse ? nc - 1 - i : i;
			if (stage[k] == 3 ? pass == 1 : stage[k] >= pass)
				for (h = 0; h < cfg->n; h++)
					if (comp[k] & LS_BIT(h))
						tw_step(&t, h, T_CHANGE + T_STALE + 500, cnt);
		}
	for (k = 0; k < nc; k++)
		for (h = 0; h < cfg->n; h++)
			if ((comp[k] & LS_BIT(h)) && t.h[h].survived) {
				survivors++;
				break;
			}
	assert_true(survivors <= 1);
	cnt->r1_survived += survivors;
	tw_second(&t, cnt);
}

static void
test_two_changes(void **state)
{
	struct ls_config cfg;
	struct counts2 cnt;
	uint64_t L, all, comp[LS_MAX_HOSTS], a, amask;
	unsigned rgs[LS_MAX_HOSTS], stage[LS_MAX_HOSTS], n, m, i, nc, h, idx[LS_MAX_HOSTS];
	unsigned long sp, spn;
	int rev;

	(void)state;
	for (n = 1; n <= 4; n++) {
		memset(&cfg, 0, sizeof(cfg));
		memset(&cnt, 0, sizeof(cnt));
		cfg.n = n;
		cfg.preferred = -1;
		cfg.statefile = 1;
		for (h = 0; h < n; h++)
			cfg.weight[h] = 1;
		all = LS_BIT(n) - 1;
		for (L = 1; L <= all; L++) {
			m = 0;
			for (h = 0; h < n; h++)
				if (L & LS_BIT(h))
					idx[m] = h, rgs[m++] = 0;
			do {
				nc = rgs_parts(L, rgs, comp);
				for (amask = 0; amask < ((uint64_t)1 << m); amask++) {
					a = 0;
					for (i = 0; i < m; i++)
						if (amask & LS_BIT(i))
							a |= LS_BIT(idx[i]);
					spn = 1;
					for (i = 0; i < nc; i++)
						spn *= 4;
					for (sp = 0; sp < spn; sp++) {
						unsigned long x = sp;

						for (i = 0; i < nc; i++, x /= 4)
							stage[i] = (unsigned)(x % 4);
						for (rev = 0; rev <= (nc > 1); rev++)
							tw_first(&cfg, L, comp, nc, a, stage, rev,
							         &cnt);
					}
				}
			} while (rgs_next(rgs, m));
		}
		print_message("two changes, n=%u: %ld cases (first round x second change), "
		              "%ld decisions, %ld first-round survivors, %ld end with a "
		              "survivor, %ld with none, %ld preempted, %ld second-round wins "
		              "beside a first-round winner\n",
		              n, cnt.cases, cnt.decisions, cnt.r1_survived, cnt.end_survivor,
		              cnt.end_none, cnt.preempted, cnt.r2_after_r1);
	}
}

/* {0} | {1} | {2}: 0 wins on the index tie-break; then {1,2} merge, which
** would beat {0}.  Before the published verdicts both survived. */
static void
test_merge_after_win(void **state)
{
	struct fx f;
	const uint64_t comps[3] = {0x1, 0x2, 0x4};
	const uint64_t now = T_CHANGE + 500;
	struct ls_peer v0;

	(void)state;
	fx_init(&f, 3, 0x7);
	fx_split(&f, comps, 3, 0x7, now);
	/* Host 0 wins: publishes its verdict, then confirms. */
	f.in.self = 0;
	f.in.comp = 0x1;
	f.in.ring.seq = PREV_SEQ + 4;
	f.in.ring.nodeid = 1;
	f.in.self_access = 1;
	f.in.access = 0x1;
	ls_decide(&f.in, &f.r);
	assert_int_equal(f.r.verdict, LS_WAIT);
	assert_int_equal(f.r.reason, LS_R_CONFIRMING);
	assert_true(f.r.publish && f.r.live == 0x1 && f.r.lost == 0x6);
	f.peer[0].has_verdict = 1;
	f.peer[0].vring = f.in.ring;
	f.peer[0].vlive = 0x1;
	ls_decide(&f.in, &f.r);
	assert_int_equal(f.r.verdict, LS_SURVIVE);
	assert_int_equal(f.r.reason, LS_R_WON);
	v0 = f.peer[0];

	/* {1,2} merge (ring PREV_SEQ + 8) and publish their claim. */
	fx_publish(&f, 1, PREV_SEQ + 8, 2, 0x6, now + 200);
	fx_publish(&f, 2, PREV_SEQ + 8, 2, 0x6, now + 200);
	f.in.self = 1;
	f.in.comp = 0x6;
	f.in.ring.seq = PREV_SEQ + 8;
	f.in.ring.nodeid = 2;
	f.in.access = 0x6;
	f.in.now = now + 300;
	/* Without the verdict (what the old code saw) {1,2} wins ... */
	f.peer[0].has_verdict = 0;
	ls_decide(&f.in, &f.r);
	assert_int_equal(f.r.reason, LS_R_CONFIRMING);
	assert_true(f.r.winner == 0x6);
	/* ... with it, {1,2} fences. */
	f.peer[0] = v0;
	ls_decide(&f.in, &f.r);
	assert_int_equal(f.r.verdict, LS_FENCE);
	assert_int_equal(f.r.reason, LS_R_PREEMPTED);
	assert_true(f.r.winner == 0x1);
	f.in.self = 2;
	ls_decide(&f.in, &f.r);
	assert_int_equal(f.r.reason, LS_R_PREEMPTED);

	/* The race: 1 read before 0's verdict landed and published its own;
	** 0 confirms on a read that shows {1,2}: it loses; 1 confirms on a
	** read that shows 0's verdict: preempted.  Nobody survives (safe). */
	f.peer[1].has_verdict = 1;
	f.peer[1].vring = f.in.ring;
	f.peer[1].vlive = 0x6;
	f.in.self = 1;
	ls_decide(&f.in, &f.r);
	assert_int_equal(f.r.reason, LS_R_PREEMPTED);
	f.in.self = 0;
	f.in.comp = 0x1;
	f.in.ring.seq = PREV_SEQ + 4;
	f.in.ring.nodeid = 1;
	f.in.access = 0x1;
	ls_decide(&f.in, &f.r);
	assert_int_equal(f.r.verdict, LS_FENCE);
	assert_int_equal(f.r.reason, LS_R_PREEMPTED); /* 1's verdict leaves 0 out */

	/* Old verdicts (of the ring in which L was agreed or before) and
	** verdicts that include me do not count. */
	f.peer[1].vring.seq = PREV_SEQ;
	f.in.self = 0;
	ls_decide(&f.in, &f.r);
	assert_int_not_equal(f.r.reason, LS_R_PREEMPTED);
	f.peer[1].vring.seq = PREV_SEQ + 8;
	f.peer[1].vlive = 0x7;
	ls_decide(&f.in, &f.r);
	assert_int_not_equal(f.r.reason, LS_R_PREEMPTED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exhaustive),
	    cmocka_unit_test(test_exhaustive_weighted),
	    cmocka_unit_test(test_two_one),
	    cmocka_unit_test(test_three_two),
	    cmocka_unit_test(test_one_one_tiebreak),
	    cmocka_unit_test(test_storage_loss_no_partition),
	    cmocka_unit_test(test_storage_lost_during_partition),
	    cmocka_unit_test(test_waits_and_deadline),
	    cmocka_unit_test(test_inconsistent_and_superseded),
	    cmocka_unit_test(test_gone_hosts),
	    cmocka_unit_test(test_quorum_only),
	    cmocka_unit_test(test_config_and_names),
	    cmocka_unit_test(test_sixty_four),
	    cmocka_unit_test(test_merge_after_win),
	    cmocka_unit_test(test_two_changes),
	};

	log_init("test_liveset", LOG_NO_BLACKBOX, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
