/*
** The survival decision (liveset.h; docs/protocol.md, "Decision rules").
**
** The order of the rules is the order of the code in ls_decide():
**   V. a published verdict of a ring newer than prev_ring excludes me => FENCE
**      (in a quorum-only pool, a verdict learned over CPG);
**   Q. quorum-only pool: quorate => SURVIVE, else WAIT until the deadline, then FENCE;
**   1. no partition (C holds L minus the hosts that left or fence) => SURVIVE;
**   5. not a prover => WAIT for the component verdict (or, with no prover at
**      all in C, WAIT until the deadline, then FENCE);
**   3/4. statefile arbitration (arbitrate()), from the counted claims; a win
**      is first published as a verdict (WAIT LS_R_CONFIRMING) and becomes
**      SURVIVE only when a read issued after that write still shows it;
**   D. the deadline turns any WAIT (and a late win) into FENCE.
**
** Safety rests on one argument (docs/protocol.md, "Why at most one component
** survives"): a component survives only through a prover whose own claim is
** on the statefile and who never goes stale to anyone, so every other prover
** waits for that claim and compares the same two member sets with the same
** strict order.  Membership changes inside a round (merges) are covered by
** the published verdicts: of two confirmed winners of one round, the one
** whose verdict landed later read the other's and was preempted (rule V).
*/
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "heartbeat/liveset.h"
#include "lib/check.h"

static uint64_t
all_hosts(unsigned n)
{
	return n >= 64 ? ~(uint64_t)0 : LS_BIT(n) - 1;
}

static int
ring_eq(struct ls_ring a, struct ls_ring b)
{
	return a.seq == b.seq && a.nodeid == b.nodeid;
}

static int
is_gone_state(uint32_t s)
{
	return s == LS_FENCING || s == LS_FENCED || s == LS_LEAVING;
}

static int
stale(const struct ls_input *in, unsigned h)
{
	return in->now >= in->peer[h].last_seen_ms + in->t_stale;
}

int
ls_config_check(const struct ls_config *cfg)
{
	unsigned h;

	if (cfg == NULL || cfg->n == 0 || cfg->n > LS_MAX_HOSTS)
		return -1;
	for (h = 0; h < cfg->n; h++)
		if (cfg->weight[h] == 0 || cfg->weight[h] > LS_WEIGHT_MAX)
			return -1;
	if (cfg->preferred < -1 || cfg->preferred >= (int)cfg->n)
		return -1;
	return 0;
}

static uint64_t
set_weight(const struct ls_config *cfg, uint64_t set)
{
	uint64_t w = 0;
	unsigned h;

	for (h = 0; h < cfg->n; h++)
		if (set & LS_BIT(h))
			w += cfg->weight[h];
	return w;
}

int
ls_beats(const struct ls_config *cfg, uint64_t live, uint64_t a, uint64_t b)
{
	uint64_t wa, wb, pref;
	int ca, cb;

	a &= live;
	b &= live;
	if (a == 0)
		return 0; /* holds no liveset host: never wins */
	if (b == 0)
		return 1;
	wa = set_weight(cfg, a);
	wb = set_weight(cfg, b);
	if (wa != wb)
		return wa > wb;
	ca = __builtin_popcountll(a);
	cb = __builtin_popcountll(b);
	if (ca != cb)
		return ca > cb;
	pref = cfg->preferred >= 0 ? LS_BIT(cfg->preferred) : 0;
	if ((a & pref) != (b & pref))
		return (a & pref) != 0;
	/* Lowest host index: the last, explicit tie-break. */
	return __builtin_ctzll(a) < __builtin_ctzll(b);
}

/* The earliest time after now at which a liveset host other than me goes
** stale, or the deadline if that comes first. */
static uint64_t
next_change(const struct ls_input *in, uint64_t deadline)
{
	uint64_t next = deadline, t;
	unsigned h;

	for (h = 0; h < in->cfg->n; h++) {
		if (h == in->self || !(in->live & LS_BIT(h)))
			continue;
		t = in->peer[h].last_seen_ms + in->t_stale;
		if (t > in->now && t < next)
			next = t;
	}
	return next;
}

/*
** Rule V: a host other than me publishes a SURVIVE verdict for a ring newer
** than the one in which my liveset was agreed (so it closes my round or a
** later one), other than my own ring, and its new liveset leaves me out: a
** component without me survived after L was agreed, and counts me as lost.
** Whatever the publisher's state or staleness: a survivor may have lost the
** storage since, and a verdict never comes back.  Returns the 1st such
** liveset in *by.
*/
static int
preempted(const struct ls_input *in, uint64_t *by)
{
	unsigned h;

	for (h = 0; h < in->cfg->n; h++) {
		const struct ls_peer *p = &in->peer[h];

		if (h == in->self || !p->valid || !p->has_verdict)
			continue;
		if (p->vring.seq <= in->prev_ring.seq || ring_eq(p->vring, in->ring))
			continue;
		if (p->vlive & LS_BIT(in->self))
			continue;
		*by = p->vlive;
		return 1;
	}
	return 0;
}

/*
** Rules 3 and 4, for a prover (self in L with continuous access).  Fills
** verdict, reason, winner, unsettled; the caller applies the deadline.
*/
static void
arbitrate(const struct ls_input *in, struct ls_result *out)
{
	const struct ls_config *cfg = in->cfg;
	const struct ls_peer *me = &in->peer[in->self];
	struct ls_ring ring[LS_MAX_HOSTS];
	uint64_t set[LS_MAX_HOSTS];
	uint64_t counted = 0, current = 0, claimed = 0, unsettled = 0, best;
	unsigned g, h, n = cfg->n;

	/* My own claim must be on the statefile before anyone can see it. */
	if (!me->valid || me->state != LS_ALIVE || !ring_eq(me->ring, in->ring) ||
	    me->members != in->comp) {
		out->verdict = LS_WAIT;
		out->reason = LS_R_PUBLISHING;
		return;
	}
	if (NEVER(in->ring.seq <= in->prev_ring.seq)) {
		out->verdict = LS_WAIT;
		out->reason = LS_R_OUTDATED;
		return;
	}

	/* Counted claims: mine, and every fresh liveset host's slot that
	** publishes a ring newer than the round's.  A stale claimer's claim is
	** dropped: its component, if it has a prover, is claimed by that prover
	** too (the prover is never stale). */
	for (h = 0; h < n; h++) {
		const struct ls_peer *p = &in->peer[h];

		if (h == in->self) {
			ring[h] = in->ring;
			set[h] = in->comp;
		} else if ((in->live & LS_BIT(h)) && p->valid &&
		           (p->state == LS_ALIVE || p->state == LS_FENCING) &&
		           p->ring.seq > in->prev_ring.seq && !stale(in, h)) {
			ring[h] = p->ring;
			set[h] = p->members & all_hosts(n);
			if (!(set[h] & LS_BIT(h)))
				goto inconsistent; /* a claim without its claimer */
		} else {
			continue;
		}
		counted |= LS_BIT(h);
	}

	/* Rule 4a: a claim is superseded when one of its hosts is in a claim of
	** a newer ring (that ring ended).  If mine is, a membership event is on
	** its way to me. */
	for (h = 0; h < n; h++) {
		if (!(counted & LS_BIT(h)))
			continue;
		for (g = 0; g < n; g++)
			if ((counted & LS_BIT(g)) && ring[g].seq > ring[h].seq && (set[g] & set[h]))
				break;
		if (g == n)
			current |= LS_BIT(h);
	}
	if (!(current & LS_BIT(in->self))) {
		out->verdict = LS_WAIT;
		out->reason = LS_R_OUTDATED;
		return;
	}

	/* Rule 4b: current claims of one ring agree; of two rings, are disjoint. */
	for (h = 0; h < n; h++) {
		if (!(current & LS_BIT(h)))
			continue;
		for (g = h + 1; g < n; g++) {
			if (!(current & LS_BIT(g)))
				continue;
			if (ring_eq(ring[g], ring[h]) ? set[g] != set[h] : (set[g] & set[h]) != 0)
				goto inconsistent;
		}
		claimed |= set[h];
	}

	/* Every missing liveset host must be settled. */
	for (h = 0; h < n; h++) {
		const struct ls_peer *p = &in->peer[h];

		if (!(in->live & LS_BIT(h)) || (in->comp & LS_BIT(h)))
			continue;
		if ((claimed & LS_BIT(h)) || stale(in, h) || (p->valid && is_gone_state(p->state)))
			continue;
		unsettled |= LS_BIT(h);
	}
	if (unsettled) {
		out->verdict = LS_WAIT;
		out->reason = LS_R_AWAIT_HOSTS;
		out->unsettled = unsettled;
		return;
	}

	/* The winner among the current components (one per ring). */
	best = in->comp;
	for (h = 0; h < n; h++)
		if ((current & LS_BIT(h)) && set[h] != in->comp &&
		    ls_beats(cfg, in->live, set[h], best))
			best = set[h];
	out->winner = best;
	if (best == in->comp) {
		out->verdict = LS_SURVIVE;
		out->reason = LS_R_WON;
	} else {
		out->verdict = LS_FENCE;
		out->reason = LS_R_LOST;
	}
	return;

inconsistent:
	out->verdict = LS_WAIT;
	out->reason = LS_R_INCONSISTENT;
	out->alerts |= LS_ALERT_INCONSISTENT;
}

/* My slot, as of the write before the read that gave peer[], carries the
** verdict {ring, live}: every other slot in peer[] was read after it landed. */
static int
confirmed(const struct ls_input *in, uint64_t live)
{
	const struct ls_peer *me = &in->peer[in->self];

	return me->valid && me->has_verdict && ring_eq(me->vring, in->ring) && me->vlive == live;
}

void
ls_decide(const struct ls_input *in, struct ls_result *out)
{
	const struct ls_config *cfg = in->cfg;
	uint64_t all, L, C, provers, gone, deadline, by;
	unsigned h;
	int late;

	ha_assert(ls_config_check(cfg) == 0);
	ha_assert(in->self < cfg->n);
	all = all_hosts(cfg->n);
	ha_assert((in->comp & LS_BIT(in->self)) != 0);
	ha_assert(((in->live | in->joined | in->comp | in->access) & ~all) == 0);
	ha_assert(in->peer != NULL || !cfg->statefile);

	memset(out, 0, sizeof(*out));
	L = in->live;
	C = in->comp;
	deadline = in->t_change + in->t_decide;
	late = in->now >= deadline;

	/* Alerts: storage trouble of my component, whatever the verdict. */
	provers = C & L & (in->access & ~LS_BIT(in->self));
	if (in->self_access)
		provers |= C & L & LS_BIT(in->self);
	if (cfg->statefile) {
		if (!in->self_access)
			out->alerts |= LS_ALERT_SELF_NO_STORAGE;
		if (C & L & ~provers)
			out->alerts |= LS_ALERT_SOME_NO_STORAGE;
		if (provers == 0)
			out->alerts |= LS_ALERT_ALL_NO_STORAGE;
	}

	/* Rule V first, in every pool: another component survived this round
	** without me.  (In a quorum-only pool only the verdicts learned over
	** CPG exist; a host that merges back into a quorate ring after being
	** decided against must not survive by rule Q.) */
	if (in->peer != NULL && preempted(in, &by)) {
		out->verdict = LS_FENCE;
		out->reason = LS_R_PREEMPTED;
		out->winner = by;
		return;
	}

	/* Rule Q: a quorum-only pool follows votequorum. */
	if (!cfg->statefile) {
		if (in->quorate) {
			out->verdict = LS_SURVIVE;
			out->reason = LS_R_QUORATE;
			out->live = C & (L | in->joined);
			out->lost = L & ~C;
			return;
		}
		out->verdict = late ? LS_FENCE : LS_WAIT;
		out->reason = LS_R_NOT_QUORATE;
		out->next_ms = late ? 0 : deadline;
		return;
	}

	/* Rule 1: no partition, no fencing.  Hosts whose slot says they left
	** cleanly, were fenced or are fencing cannot be on another side. */
	gone = 0;
	for (h = 0; h < cfg->n; h++)
		if ((L & ~C & LS_BIT(h)) && in->peer[h].valid && is_gone_state(in->peer[h].state))
			gone |= LS_BIT(h);
	if ((L & ~gone & ~C) == 0) {
		out->verdict = LS_SURVIVE;
		out->reason = LS_R_NO_PARTITION;
		out->live = C & (L | in->joined);
		out->lost = L & ~C;
		out->publish = 1;
		return;
	}

	/* Rule 5: only a prover computes the component's verdict. */
	if (!(in->self_access && (L & LS_BIT(in->self)))) {
		out->verdict = LS_WAIT;
		out->reason = provers ? LS_R_AWAIT_VERDICT : LS_R_NO_STORAGE;
		out->next_ms = deadline;
	} else {
		arbitrate(in, out);
		if (out->reason == LS_R_WON && !late && !confirmed(in, C & (L | in->joined))) {
			/* Publish first, then confirm on a read issued after. */
			out->verdict = LS_WAIT;
			out->reason = LS_R_CONFIRMING;
		}
		if (out->verdict == LS_WAIT)
			out->next_ms = next_change(in, deadline);
	}

	/* Rule D: the deadline. */
	if (late && (out->verdict == LS_WAIT || out->reason == LS_R_WON)) {
		if (out->reason != LS_R_NO_STORAGE) {
			out->blocked = out->reason;
			out->reason = LS_R_DEADLINE;
		}
		out->verdict = LS_FENCE;
		out->next_ms = 0;
		out->unsettled = 0;
	}
	if (out->verdict == LS_SURVIVE || out->reason == LS_R_CONFIRMING) {
		out->live = C & (L | in->joined);
		out->lost = L & ~C;
		out->publish = 1;
	}
}

const char *
ls_verdict_name(int v)
{
	switch (v) {
	case LS_SURVIVE:
		return "survive";
	case LS_WAIT:
		return "wait";
	case LS_FENCE:
		return "fence";
	}
	return "?";
}

const char *
ls_reason_name(int r)
{
	static const char *const names[] = {
	    [LS_R_NONE] = "none",
	    [LS_R_NO_PARTITION] = "no partition",
	    [LS_R_QUORATE] = "quorate",
	    [LS_R_WON] = "won the arbitration",
	    [LS_R_LOST] = "lost the arbitration",
	    [LS_R_NOT_QUORATE] = "not quorate",
	    [LS_R_NO_STORAGE] = "no member can reach the statefile",
	    [LS_R_AWAIT_VERDICT] = "awaiting the component verdict",
	    [LS_R_PUBLISHING] = "own claim not yet on the statefile",
	    [LS_R_AWAIT_HOSTS] = "awaiting missing hosts",
	    [LS_R_INCONSISTENT] = "inconsistent claims",
	    [LS_R_OUTDATED] = "membership outdated",
	    [LS_R_DEADLINE] = "no decision by the deadline",
	    [LS_R_CONFIRMING] = "won, confirming the published verdict",
	    [LS_R_PREEMPTED] = "a published verdict excludes me",
	    [LS_R_ADOPTED] = "adopted a member's verdict for my ring",
	};

	if (r < 0 || (size_t)r >= ARRAY_SIZE(names) || names[r] == NULL)
		return "?";
	return names[r];
}
