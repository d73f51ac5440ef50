/*
** The liveness engine (liveness.h; docs/protocol.md, "The engine").
**
** One host's protocol state, driven by lv_step().  The pieces, in the order
** of this file: the statefile cycle and continuous access; the peers' slots;
** CPG (STATE, VERDICT, PING and the fresh ring); the round (evaluate()
** around ls_decide(), with the gates the model needed); survive / fence;
** dead before restart; ticks.
**
** Gates on top of ls_decide() (docs/protocol.md, "Model check"), applied by
** evaluate() in this order:
**   - a published verdict that excludes me fences at once (rule V), gate or
**     not;
**   - no decision unless my ring is fresh (my own PING sent within
**     fresh_ms was delivered in it): a stalled or cut-off corosync must not
**     let rule 1 keep me running;
**   - no decision before every member of my ring that is in my liveset has
**     sent its STATE in this ring (its confirmed verdict may exclude me);
**   - no decision while re-waiting after my component grew in this round;
**     at the deadline a re-waiting component that holds the liveset keeps
**     waiting, any other gated wait fences.
*/
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "heartbeat/liveness.h"
#include "lib/check.h"
#include "lib/xmalloc.h"

#define NONE UINT64_MAX
#define PING_RING 64 /* sent PINGs remembered, for their send times */

enum io_kind { IO_NONE = 0, IO_WRITE, IO_READ, IO_LEAVE };

struct lv {
	struct lv_config cfg;
	const struct lv_timing *t; /* &cfg.timing */
	uint64_t all;              /* the n hosts */
	enum lv_state state;
	struct lv_stats stats;

	/* membership */
	struct lv_ring_view view; /* my current ring (an admission's: seq above corosync's) */
	struct ls_ring base;      /* corosync's ring, as the caller last gave it */
	uint64_t live;            /* L */
	struct ls_ring prev_ring; /* the ring L was agreed in */
	int master;

	/* the round */
	uint64_t t_change;
	uint64_t rewait_until; /* 0: not re-waiting */
	int access_lost;       /* latched for the round */
	int verdict_sent;      /* I multicast a VERDICT for the current ring */
	int verdict_taken;     /* the first VERDICT for the current ring was delivered */
	int adopt_pending;     /* ... a SURVIVE that includes me, waiting for a fresh ring */
	struct lv_msg_verdict adopted;
	int announced_access;  /* the access bit of my last STATE */
	struct ls_result res;  /* the last decision */
	uint64_t next_eval;    /* res.next_ms of a WAIT, or NONE */

	/* CPG: per member, what its STATE of the current ring said */
	uint64_t state_have, state_access;
	struct {
		int has_verdict;
		struct ls_ring vring;
		uint64_t vlive;
	} mstate[LS_MAX_HOSTS];
	uint64_t last_from[LS_MAX_HOSTS]; /* my time of my last delivery of a message from h */
	uint64_t fresh_until;
	uint64_t ping_seq, next_ping;
	struct {
		uint64_t seq, sent;
		struct ls_ring ring;
		uint32_t pos; /* its position in the view's delivery order; 0: not delivered */
	} pings[PING_RING];
	uint32_t dcount;                /* liveness messages delivered in this view */
	uint32_t acked[LS_MAX_HOSTS];   /* the highest count in each member's PINGs */
	struct lv_msg localq[8]; /* a local ring delivers my own messages itself */
	unsigned nlocal;

	/* statefile: my slot, the cycle, access */
	struct lv_slot mine;     /* what my next write carries (seq: the last issued) */
	struct lv_slot on_disk;  /* my last completed write */
	struct lv_slot at_issue; /* on_disk when the pending read was issued */
	struct lv_slot for_peers; /* at_issue of the last completed read */
	struct ls_ring confirmed_vring; /* the verdict of my last SURVIVE */
	uint64_t confirmed_vlive;
	int has_confirmed;
	enum io_kind io;
	uint64_t io_id, next_id, next_cycle;
	uint64_t streak_start, last_write_ok, last_read_ok;

	/* peers */
	struct lv_slot peer[LS_MAX_HOSTS]; /* last valid decoding */
	uint64_t last_seen[LS_MAX_HOSTS];
	uint64_t fence_seen[LS_MAX_HOSTS];

	/* dead before restart */
	uint64_t pending_dead; /* lost, not yet known dead */

	uint64_t next_pet;
	unsigned alerts;
	uint64_t maint_until; /* in a maintenance window until then (0: not) */

	/* rejoining (docs/protocol.md, "Rejoining") */
	uint64_t joined;      /* the host the ADMIT that made my current ring admitted
	                      ** (ls_input.joined); 0 after corosync's next ring */
	uint64_t join_seq[LS_MAX_HOSTS]; /* a host's slot counts only above this seq */
	int admit_sent;       /* as master: I sent an ADMIT in my current ring */
	int admission;        /* my round is an admission's, opened while I was steady:
	                      ** it is timed like a steady ring (round_start()) */
	int caught_up;        /* my ring is an admission's that I did not see made (I
	                      ** started after it): I adopt its verdict, never decide it */
	uint64_t next_join;   /* out: when my next JOIN goes */
	uint64_t jreq_have;   /* hosts whose JOIN was delivered in this view ... */
	uint64_t jreq[LS_MAX_HOSTS]; /* ... with this seq */
	int out_written;      /* out: my FENCED slot is on the statefile */
};

static int
ring_eq(struct ls_ring a, struct ls_ring b)
{
	return a.seq == b.seq && a.nodeid == b.nodeid;
}

static uint64_t
min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static struct lv_action *
push(struct lv_actions *out, enum lv_action_type type)
{
	struct lv_action *a;

	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 16;
		out->v = xreallocarray(out->v, out->cap, sizeof(*out->v));
	}
	a = &out->v[out->n++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->host = -1;
	return a;
}

static void
hosts_str(char *buf, size_t len, uint64_t set)
{
	size_t off = 0;
	unsigned h;

	buf[0] = '\0';
	off += (size_t)snprintf(buf + off, len - off, "{");
	for (h = 0; h < LS_MAX_HOSTS && off < len; h++)
		if (set & LS_BIT(h))
			off += (size_t)snprintf(buf + off, len - off, "%s%u",
			                        off > 1 ? "," : "", h);
	if (off < len)
		snprintf(buf + off, len - off, "}");
}

/* ---------------------------------------------------------------------- */
/* Continuous storage access (docs/protocol.md, "Words")                   */

static int
access_now(const struct lv *lv, uint64_t now)
{
	if (!lv->cfg.ls.statefile || lv->streak_start == NONE)
		return 0;
	return now - lv->last_write_ok <= lv->t->gap_ms && now - lv->last_read_ok <= lv->t->gap_ms;
}

/* Would I be a prover if a round started now? */
static int
steady_access(const struct lv *lv, uint64_t now)
{
	return access_now(lv, now) && lv->streak_start + lv->t->stale_ms <= now;
}

/* A prover of the current round: continuous access over
** [t_change - stale_ms, now], latched lost once lost. */
static int
prover_now(struct lv *lv, uint64_t now)
{
	if (lv->access_lost)
		return 0;
	if (!access_now(lv, now) || lv->streak_start + lv->t->stale_ms > lv->t_change) {
		if (lv->state == LV_ROUND)
			lv->access_lost = 1;
		return 0;
	}
	return 1;
}

/* ---------------------------------------------------------------------- */
/* CPG                                                                     */

static void handle_deliver(struct lv *lv, const struct lv_msg *m, uint64_t now,
                           struct lv_actions *out);

static void
send_msg(struct lv *lv, struct lv_msg *m, struct lv_actions *out)
{
	m->from = lv->cfg.self;
	m->ring = lv->view.ring;
	if (lv->view.local) {
		if (ALWAYS(lv->nlocal < ARRAY_SIZE(lv->localq)))
			lv->localq[lv->nlocal++] = *m;
		return;
	}
	push(out, LV_ACT_SEND)->msg = *m;
}

static void
send_state(struct lv *lv, uint64_t now, struct lv_actions *out)
{
	struct lv_msg m;

	memset(&m, 0, sizeof(m));
	m.type = LV_MSG_STATE;
	m.u.state.access = lv->state == LV_ROUND ? prover_now(lv, now) : steady_access(lv, now);
	lv->announced_access = m.u.state.access;
	m.u.state.live = lv->live;
	m.u.state.prev_ring = lv->prev_ring;
	if (lv->has_confirmed) {
		m.u.state.has_verdict = 1;
		m.u.state.vring = lv->confirmed_vring;
		m.u.state.vlive = lv->confirmed_vlive;
	}
	send_msg(lv, &m, out);
}

static void
send_ping(struct lv *lv, uint64_t now, struct lv_actions *out)
{
	struct lv_msg m;
	unsigned i;

	memset(&m, 0, sizeof(m));
	m.type = LV_MSG_PING;
	m.u.ping.seq = ++lv->ping_seq;
	m.u.ping.count = lv->dcount;
	m.u.ping.view = lv->view.view;
	i = (unsigned)(lv->ping_seq % PING_RING);
	lv->pings[i].seq = lv->ping_seq;
	lv->pings[i].sent = now;
	lv->pings[i].ring = lv->view.ring;
	lv->pings[i].pos = 0;
	lv->next_ping = now + lv->t->ping_ms;
	send_msg(lv, &m, out);
}

/* A new view (ring, or group in the ring): delivery positions start again. */
static void
reset_view_count(struct lv *lv)
{
	unsigned i;

	lv->dcount = 0;
	memset(lv->acked, 0, sizeof(lv->acked));
	lv->jreq_have = 0;
	for (i = 0; i < PING_RING; i++)
		lv->pings[i].seq = 0; /* their positions meant the old view's */
}

/* My newest PING that every other member of my group delivered (a count >=
** its position in one of that member's PINGs) makes my ring fresh until
** its send time + fresh_ms: docs/protocol.md, "The fresh ring". */
static void
update_fresh(struct lv *lv)
{
	uint64_t others = lv->view.group & lv->view.members & ~LS_BIT(lv->cfg.self);
	uint32_t stable = UINT32_MAX;
	unsigned h, i;

	for (h = 0; h < lv->cfg.ls.n; h++)
		if ((others & LS_BIT(h)) && lv->acked[h] < stable)
			stable = lv->acked[h];
	for (i = 0; i < PING_RING; i++) {
		if (lv->pings[i].seq == 0 || lv->pings[i].pos == 0 || lv->pings[i].pos > stable)
			continue;
		if (lv->pings[i].sent + lv->t->fresh_ms > lv->fresh_until)
			lv->fresh_until = lv->pings[i].sent + lv->t->fresh_ms;
	}
}

int
lv_is_fresh(const struct lv *lv, uint64_t now)
{
	return now < lv->fresh_until;
}

/* ---------------------------------------------------------------------- */
/* The statefile cycle                                                     */

static void
issue_write(struct lv *lv, uint64_t now, struct lv_actions *out)
{
	struct lv_action *a = push(out, LV_ACT_WRITE);

	lv->mine.seq++;
	a->slot = lv->mine;
	a->id = lv->io_id = ++lv->next_id;
	a->deadline = now + lv->t->io_deadline_ms;
	lv->io = IO_WRITE;
	lv->stats.writes++;
}

static void
issue_read(struct lv *lv, uint64_t now, struct lv_actions *out)
{
	struct lv_action *a = push(out, LV_ACT_READ);

	a->id = lv->io_id = ++lv->next_id;
	a->deadline = now + lv->t->io_deadline_ms;
	lv->io = IO_READ;
	lv->at_issue = lv->on_disk;
	lv->stats.reads++;
}

/* Start a cycle now if none is running and one is due. */
static void
cycle(struct lv *lv, uint64_t now, struct lv_actions *out)
{
	if (!lv->cfg.ls.statefile || lv->io != IO_NONE || now < lv->next_cycle)
		return;
	if (lv->state == LV_OUT && !lv->out_written) {
		/* Out of the pool: my slot says FENCED until it is on the
		** statefile -- a fence record of my old self, which lets the
		** others count it dead (check_dead) and admit me. */
		lv->next_cycle = now + lv->t->cycle_ms;
		issue_write(lv, now, out);
		return;
	}
	if (lv->state != LV_STEADY && lv->state != LV_ROUND)
		return;
	lv->next_cycle = now + lv->t->cycle_ms;
	issue_write(lv, now, out);
}

/* My slot must change (a new claim, a verdict): write it at once. */
static void
publish_soon(struct lv *lv, uint64_t now, struct lv_actions *out)
{
	lv->next_cycle = now;
	cycle(lv, now, out);
}

static void
set_claim(struct lv *lv)
{
	lv->mine.ring = lv->view.ring;
	lv->mine.members = lv->view.members;
}

static void
read_done(struct lv *lv, const struct lv_slot *slots, uint64_t now)
{
	unsigned h;
	int written;

	for (h = 0; h < lv->cfg.ls.n; h++) {
		const struct lv_slot *s = &slots[h];

		if (h == lv->cfg.self)
			continue;
		if (!s->valid) {
			lv->stats.slots_invalid++;
			continue; /* keep the last valid decoding */
		}
		if (s->seq <= lv->join_seq[h])
			continue; /* written before it was admitted again: its old self */
		if (lv->peer[h].valid && s->seq < lv->peer[h].seq) {
			lv->stats.slots_invalid++; /* a writer's seq never goes back */
			continue;
		}
		/* A write I saw happen: above one I read before, or above the
		** JOIN of an admission I saw.  A fence record already there at my
		** first read may be of an incarnation older than one admitted
		** without me (I started after its ADMIT): it says nothing about
		** the host now, and only its silence can announce it dead. */
		written = lv->peer[h].valid ? s->seq > lv->peer[h].seq : lv->join_seq[h] != 0;
		if (!lv->peer[h].valid || s->seq > lv->peer[h].seq)
			lv->last_seen[h] = now;
		lv->peer[h] = *s;
		if (lv->fence_seen[h] == NONE && written &&
		    (s->fence_present || s->state == LS_FENCING || s->state == LS_FENCED ||
		     s->state == LS_LEAVING))
			lv->fence_seen[h] = now;
	}
	lv->for_peers = lv->at_issue;
}

static void
io_done(struct lv *lv, const struct lv_event *ev, uint64_t now, struct lv_actions *out)
{
	enum io_kind kind = lv->io;

	if (kind == IO_NONE || ev->u.io.id != lv->io_id ||
	    (ev->type == LV_EV_READ) != (kind == IO_READ)) {
		lv->stats.msgs_ignored++;
		return;
	}
	lv->io = IO_NONE;
	if (!ev->u.io.ok) {
		lv->stats.io_failed++;
		lv->streak_start = NONE;
	}
	switch (kind) {
	case IO_LEAVE:
		lv->state = LV_LEFT;
		push(out, LV_ACT_EXIT);
		return;
	case IO_WRITE:
		if (ev->u.io.ok) {
			if (lv->streak_start == NONE || now - lv->last_write_ok > lv->t->gap_ms)
				lv->streak_start = now;
			lv->last_write_ok = now;
			lv->on_disk = lv->mine;
		}
		if (lv->state == LV_OUT && ev->u.io.ok && lv->mine.state == LS_FENCED)
			lv->out_written = 1;
		issue_read(lv, now, out); /* out too: the first read tells the
		                          ** caller the statefile's generation */
		return;
	case IO_READ:
		if (ev->u.io.ok) {
			if (NEVER(ev->u.io.slots == NULL))
				return;
			lv->last_read_ok = now;
			read_done(lv, ev->u.io.slots, now);
		}
		return; /* lv_step evaluates, then starts the next cycle */
	case IO_NONE:
		break;
	}
}

/* ---------------------------------------------------------------------- */
/* Master, survive, fence, dead before restart                             */

static int
elect(const struct lv *lv, uint64_t live)
{
	int best = -1;
	unsigned h;

	for (h = 0; h < lv->cfg.ls.n; h++) {
		if (!(live & LS_BIT(h)))
			continue;
		if (best < 0 || lv->cfg.ls.weight[h] > lv->cfg.ls.weight[best] ||
		    (lv->cfg.ls.weight[h] == lv->cfg.ls.weight[best] &&
		     (int)h == lv->cfg.ls.preferred && best != lv->cfg.ls.preferred))
			best = (int)h;
	}
	return best;
}

static void
set_master(struct lv *lv, struct lv_actions *out)
{
	int m = lv->master;

	if (m < 0 || !(lv->live & LS_BIT(m)))
		m = elect(lv, lv->live);
	if (m == lv->master)
		return;
	lv->master = m;
	push(out, LV_ACT_MASTER)->host = m;
}

static void
set_alerts(struct lv *lv, unsigned alerts, struct lv_actions *out)
{
	if (alerts == lv->alerts)
		return;
	lv->alerts = alerts;
	push(out, LV_ACT_ALERT)->alerts = alerts;
}

static void
survive(struct lv *lv, uint64_t live, uint64_t lost, enum ls_reason reason, uint64_t now,
        struct lv_actions *out)
{
	struct lv_action *a;
	char l[200], d[200];

	ha_assert(live & LS_BIT(lv->cfg.self));
	lv->live = live;
	lv->joined = 0;
	lv->caught_up = 0;
	lv->admission = 0;
	lv->prev_ring = lv->view.ring;
	lv->state = LV_STEADY;
	lv->stats.survived++;
	lv->pending_dead = (lv->pending_dead | lost) & ~live;
	lv->has_confirmed = 1;
	lv->confirmed_vring = lv->view.ring;
	lv->confirmed_vlive = live;
	a = push(out, LV_ACT_SURVIVE);
	a->live = live;
	a->lost = lost;
	a->reason = reason;
	hosts_str(l, sizeof(l), live);
	hosts_str(d, sizeof(d), lost);
	snprintf(a->detail, sizeof(a->detail), "%s: live %s, lost %s", ls_reason_name(reason), l, d);
	if (lv->cfg.ls.statefile) {
		lv->mine.has_verdict = 1;
		lv->mine.vring = lv->view.ring;
		lv->mine.vlive = live;
		lv->mine.vconfirmed = 1;
		publish_soon(lv, now, out);
	}
	/* Members still deciding this ring learn the verdict (rule 1 may
	** have rested on a fence record they have not read yet). */
	send_state(lv, now, out);
	set_master(lv, out);
}

/* Out of the pool (again): a host that started out and has not survived
** since -- it never ran anything and nobody waits for its fence.  Its slot
** says FENCED again, so that whoever counted it in counts it dead. */
static void
go_out(struct lv *lv)
{
	lv->state = LV_OUT;
	lv->joined = 0;
	lv->adopt_pending = 0;
	lv->mine.state = LS_FENCED;
	lv->mine.has_verdict = 0;
	lv->mine.vconfirmed = 0;
	lv->mine.vring = (struct ls_ring){0, 0};
	lv->mine.vlive = 0;
	lv->out_written = 0;
	lv->next_join = 0;
}

static void
fence(struct lv *lv, enum ls_reason reason, enum ls_reason blocked, uint64_t winner,
      struct lv_actions *out)
{
	struct lv_action *a;
	char w[200];

	if (lv->cfg.out && !lv->has_confirmed) {
		go_out(lv);
		return;
	}
	lv->state = LV_FENCED;
	a = push(out, LV_ACT_FENCE);
	a->reason = reason;
	lv->mine.seq++;
	lv->mine.state = LS_FENCING;
	lv->mine.fence_present = 1;
	lv->mine.fence_reason = reason;
	a->slot = lv->mine;
	hosts_str(w, sizeof(w), winner);
	if (reason == LS_R_DEADLINE)
		snprintf(a->detail, sizeof(a->detail), "%s (was: %s)", ls_reason_name(reason),
		         blocked ? ls_reason_name(blocked) : "no fresh ring");
	else if (winner)
		snprintf(a->detail, sizeof(a->detail), "%s (winner %s)", ls_reason_name(reason), w);
	else
		snprintf(a->detail, sizeof(a->detail), "%s", ls_reason_name(reason));
}

/* When lost host h is certainly dead: its silence (not while it is in my
** ring: a member is heard from), or its fence record -- which speaks of the
** incarnation that wrote it, in my ring or not: a host fenced and booted
** again is in my ring, out of the pool, and its old self is dead all the
** same. */
static uint64_t
dead_at(const struct lv *lv, unsigned h)
{
	uint64_t t = (lv->view.members & LS_BIT(h)) ? NONE : lv->last_from[h] + lv->t->restart_ms;

	if (lv->fence_seen[h] != NONE)
		t = min_u64(t, lv->fence_seen[h] + lv->t->fence_restart_ms);
	return t;
}

static void
check_dead(struct lv *lv, uint64_t now, struct lv_actions *out)
{
	unsigned h;

	if (lv->state != LV_STEADY && lv->state != LV_ROUND)
		return;
	if (lv->maint_until != 0)
		return; /* the watchdogs are disarmed: nobody is known dead */
	for (h = 0; h < lv->cfg.ls.n; h++) {
		struct lv_action *a;

		if (!(lv->pending_dead & LS_BIT(h)) || now < dead_at(lv, h))
			continue;
		lv->pending_dead &= ~LS_BIT(h);
		a = push(out, LV_ACT_HOST_DEAD);
		a->host = (int)h;
		snprintf(a->detail, sizeof(a->detail), "%s",
		         lv->fence_seen[h] != NONE && now >= lv->fence_seen[h] + lv->t->fence_restart_ms
		             ? "its fence record is older than the watchdog timeout"
		             : "not heard from for longer than the restart bound");
	}
}

/* ---------------------------------------------------------------------- */
/* The round                                                               */

/* When my round counts as started, for its deadline t_change + decide_ms.
** An admission's round disturbs nothing: while my ring stays fresh it is
** timed like a steady ring, whose stall round would start when freshness
** runs out -- so a member hung during an admission costs no more than one
** hung in a steady ring (T8), and the lease stays fresh_until + decide_ms. */
static uint64_t
round_start(const struct lv *lv)
{
	return lv->admission && lv->fresh_until > lv->t_change ? lv->fresh_until : lv->t_change;
}

static void
start_round(struct lv *lv, uint64_t t_change)
{
	lv->state = LV_ROUND;
	lv->t_change = t_change;
	lv->rewait_until = 0;
	lv->access_lost = 0;
	lv->next_eval = NONE;
	lv->stats.rounds++;
}

static void
evaluate(struct lv *lv, uint64_t now, struct lv_actions *out)
{
	struct ls_peer peer[LS_MAX_HOSTS];
	int confirmed[LS_MAX_HOSTS];
	struct ls_input in;
	struct ls_result *r = &lv->res;
	uint64_t C = lv->view.members, L = lv->live, deadline, need;
	unsigned h, alerts;
	int fresh, gated = 0;
	enum ls_reason why = LS_R_NONE;

	if (lv->state != LV_ROUND)
		return;
	memset(peer, 0, sizeof(peer));
	for (h = 0; h < lv->cfg.ls.n; h++) {
		const struct lv_slot *s = h == lv->cfg.self ? &lv->for_peers : &lv->peer[h];
		struct ls_peer *p = &peer[h];

		p->valid = s->valid;
		p->state = s->state;
		p->ring = s->ring;
		p->members = s->members & lv->all;
		p->last_seen_ms = h == lv->cfg.self ? now : lv->last_seen[h];
		if (h != lv->cfg.self && (C & lv->view.group & LS_BIT(h))) {
			/* A member's verdict comes from its STATE of this ring:
			** only a confirmed one (docs/protocol.md, model rule 2). */
			p->has_verdict = lv->mstate[h].has_verdict;
			p->vring = lv->mstate[h].vring;
			p->vlive = lv->mstate[h].vlive;
			p->valid |= p->has_verdict; /* known over CPG, slot or not */
			confirmed[h] = 1;           /* a STATE carries only those */
		} else {
			p->has_verdict = s->has_verdict;
			p->vring = s->vring;
			p->vlive = s->vlive & lv->all;
			confirmed[h] = s->vconfirmed;
		}
	}
	memset(&in, 0, sizeof(in));
	in.cfg = &lv->cfg.ls;
	in.self = lv->cfg.self;
	in.live = L;
	in.joined = lv->joined;
	in.comp = C;
	in.ring = lv->view.ring;
	in.prev_ring = lv->prev_ring;
	in.quorate = lv->view.quorate;
	in.self_access = prover_now(lv, now);
	if (in.self_access != lv->announced_access)
		send_state(lv, now, out); /* my members must know who can prove */
	in.access = lv->state_access & C;
	in.peer = peer;
	in.now = now;
	in.t_change = round_start(lv);
	in.t_stale = lv->t->stale_ms;
	in.t_decide = lv->t->decide_ms;
	ls_decide(&in, r);
	deadline = round_start(lv) + lv->t->decide_ms;

	fresh = lv_is_fresh(lv, now);
	alerts = r->alerts | (fresh ? 0 : LV_ALERT_STALLED);
	set_alerts(lv, alerts, out);

	/* A maintenance window: nobody is fenced, nobody decided lost --
	** only a round that holds the whole liveset (rule 1) or takes its
	** component's verdict ends; anything else waits for the window's end,
	** when the deadline starts again (docs/protocol.md, "Maintenance"). */
	if (lv->maint_until != 0) {
		if (lv->adopt_pending && fresh && (lv->adopted.live & LS_BIT(lv->cfg.self))) {
			lv->adopt_pending = 0;
			survive(lv, lv->adopted.live & lv->all, lv->adopted.lost & lv->all,
			        (enum ls_reason)lv->adopted.reason, now, out);
		} else if (fresh && (lv->state_have & C & L & lv->view.group & ~LS_BIT(lv->cfg.self) &
		                     ~lv->jreq_have) ==
		                        (C & L & lv->view.group & ~LS_BIT(lv->cfg.self) & ~lv->jreq_have) &&
		           r->verdict == LS_SURVIVE && r->reason == LS_R_NO_PARTITION) {
			survive(lv, r->live, r->lost, r->reason, now, out);
		} else {
			lv->next_eval = lv->maint_until;
		}
		return;
	}

	/* Rule V fences whatever the gates say: a verdict never goes away. */
	if (r->verdict == LS_FENCE && r->reason == LS_R_PREEMPTED) {
		fence(lv, LS_R_PREEMPTED, LS_R_NONE, r->winner, out);
		return;
	}
	/* A member of my ring survived this very ring without me: I am not
	** in its liveset (a daemon restarted after its host was decided
	** lost, found by the simulator), so no verdict of this ring can
	** include me.  As a VERDICT excluding me does (adopt()), it fences. */
	for (h = 0; h < lv->cfg.ls.n; h++)
		if (h != lv->cfg.self && confirmed[h] && peer[h].has_verdict &&
		    (C & lv->view.group & LS_BIT(h)) && ring_eq(peer[h].vring, lv->view.ring) &&
		    !(peer[h].vlive & LS_BIT(lv->cfg.self))) {
			fence(lv, LS_R_PREEMPTED, LS_R_NONE, peer[h].vlive, out);
			return;
		}

	/* A verdict that includes me, of a ring newer than the one my liveset
	** was agreed in: a member of that ring closed my round with me in it
	** (rule 1 seen with information I did not have yet, or a verdict I
	** missed before the ring broke).  Its ring is where my round ended:
	** take its liveset and go on deciding my current ring as the next
	** round -- else I would go on arbitrating an old round, with an old
	** liveset, against hosts that have moved on (found by the simulator).
	** For my current ring it is the component's decision (rule 5): adopt
	** it once fresh. */
	{
		int best = -1;

		for (h = 0; h < lv->cfg.ls.n; h++)
			if (h != lv->cfg.self && peer[h].valid && peer[h].has_verdict &&
			    confirmed[h] && peer[h].vring.seq > lv->prev_ring.seq &&
			    (peer[h].vlive & LS_BIT(lv->cfg.self)) &&
			    (best < 0 || peer[h].vring.seq > peer[best].vring.seq))
				best = (int)h;
		if (best >= 0 && ring_eq(peer[best].vring, lv->view.ring)) {
			if (!lv->adopt_pending) {
				memset(&lv->adopted, 0, sizeof(lv->adopted));
				lv->adopted.verdict = LS_SURVIVE;
				lv->adopted.reason = LS_R_ADOPTED;
				lv->adopted.live = peer[best].vlive;
				lv->adopted.lost = L & ~peer[best].vlive;
				lv->adopt_pending = 1;
			}
		} else if (best >= 0) {
			lv->pending_dead = (lv->pending_dead | (L & ~peer[best].vlive)) &
			                   ~peer[best].vlive;
			lv->live = peer[best].vlive;
			lv->prev_ring = peer[best].vring;
			evaluate(lv, now, out); /* prev_ring grew: this recursion ends */
			return;
		}
	}

	if (lv->adopt_pending && fresh) {
		lv->adopt_pending = 0;
		survive(lv, lv->adopted.live & lv->all, lv->adopted.lost & lv->all,
		        (enum ls_reason)lv->adopted.reason, now, out);
		return;
	}
	/* A member out of the pool (its JOIN says so) sends no STATE and has
	** no verdict to tell: its liveset entry is a fenced host back before
	** its loss was decided (it is admitted again from there). */
	need = C & L & lv->view.group & ~LS_BIT(lv->cfg.self) & ~lv->jreq_have;
	if (!fresh)
		gated = 1, why = LS_R_NONE;
	else if ((lv->state_have & need) != need)
		gated = 1, why = LS_R_AWAIT_VERDICT;
	else if (now < lv->rewait_until)
		gated = 1, why = LS_R_OUTDATED;
	else if (lv->caught_up && !ring_eq(lv->prev_ring, lv->view.ring))
		gated = 1, why = LS_R_AWAIT_VERDICT; /* an admission's round I did not see open
		                                     ** (my predecessor may have closed it) */
	if (gated) {
		if (now >= deadline) {
			/* Re-waiting with the whole liveset: rule 1 is not
			** subject to the deadline. */
			if (why == LS_R_OUTDATED && r->verdict == LS_SURVIVE &&
			    r->reason == LS_R_NO_PARTITION) {
				lv->next_eval = lv->rewait_until;
				return;
			}
			fence(lv, LS_R_DEADLINE, why, 0, out);
			return;
		}
		lv->next_eval = lv->rewait_until > now ? min_u64(deadline, lv->rewait_until) : deadline;
		return;
	}

	/* A joiner whose admission round a ring change cut short, with no
	** verdict that took it in: out again (it asks again). */
	if (!((L | lv->joined) & LS_BIT(lv->cfg.self))) {
		go_out(lv);
		return;
	}

	switch (r->verdict) {
	case LS_SURVIVE:
		if (r->reason == LS_R_WON) {
			/* A statefile win is the component's verdict: it counts
			** when delivered, first, to every member. */
			if (!lv->verdict_sent) {
				struct lv_msg m;

				memset(&m, 0, sizeof(m));
				m.type = LV_MSG_VERDICT;
				m.u.verdict.verdict = LS_SURVIVE;
				m.u.verdict.reason = LS_R_WON;
				m.u.verdict.live = r->live;
				m.u.verdict.lost = r->lost;
				m.u.verdict.winner = r->winner;
				lv->verdict_sent = 1;
				send_msg(lv, &m, out);
			}
			lv->next_eval = deadline;
			return;
		}
		survive(lv, r->live, r->lost, r->reason, now, out);
		return;
	case LS_FENCE:
		if (r->reason == LS_R_LOST && !lv->verdict_sent) {
			struct lv_msg m;

			memset(&m, 0, sizeof(m));
			m.type = LV_MSG_VERDICT;
			m.u.verdict.verdict = LS_FENCE;
			m.u.verdict.reason = LS_R_LOST;
			m.u.verdict.winner = r->winner;
			lv->verdict_sent = 1;
			send_msg(lv, &m, out);
			lv->next_eval = deadline;
			return;
		}
		if (r->reason == LS_R_LOST && now < deadline) {
			lv->next_eval = deadline;
			return; /* sent: wait for the first delivered verdict */
		}
		fence(lv, r->reason, r->blocked, r->winner, out);
		return;
	case LS_WAIT:
		if (r->publish && lv->cfg.ls.statefile &&
		    !(lv->mine.has_verdict && ring_eq(lv->mine.vring, lv->view.ring) &&
		      lv->mine.vlive == r->live)) {
			lv->mine.has_verdict = 1;
			lv->mine.vring = lv->view.ring;
			lv->mine.vlive = r->live;
			lv->mine.vconfirmed = 0; /* published, not yet acted on */
			publish_soon(lv, now, out);
		}
		lv->next_eval = r->next_ms ? r->next_ms : deadline;
		return;
	}
}

static void evaluate(struct lv *lv, uint64_t now, struct lv_actions *out);

/* The first VERDICT delivered for my ring is the component's. */
static void
adopt(struct lv *lv, const struct lv_msg_verdict *v, uint64_t now, struct lv_actions *out)
{
	if (lv->state != LV_ROUND)
		return; /* decided this ring already (rule 1 is unanimous) */
	if (lv->maint_until != 0 &&
	    (v->verdict != LS_SURVIVE || !(v->live & LS_BIT(lv->cfg.self))))
		return; /* no fence in a maintenance window: the verdict is on the
		        ** statefile and in its members' STATEs, and fences me at
		        ** the first evaluation after the window */
	if (v->verdict == LS_SURVIVE) {
		if (!(v->live & LS_BIT(lv->cfg.self))) {
			fence(lv, LS_R_PREEMPTED, LS_R_NONE, v->live, out);
			return;
		}
		/* Surviving needs a fresh ring like any decision: only then
		** is a later stall round timed from my own stable PINGs.
		** evaluate() applies it once fresh (or the deadline fences). */
		lv->adopted = *v;
		lv->adopt_pending = 1;
		evaluate(lv, now, out);
		return;
	}
	fence(lv, LS_R_LOST, LS_R_NONE, v->winner, out);
}

/* ---------------------------------------------------------------------- */
/* Rejoining (docs/protocol.md, "Rejoining")                               */

static void install_ring(struct lv *lv, const struct lv_ring_view *v, int same_view,
                         uint64_t now, struct lv_actions *out);

/* An admission's ring is seq + 1 of mine: it must stay below corosync's next
** (LV_RING_SPAN apart). */
static int
admission_room(const struct lv *lv)
{
	return !lv->view.local && lv->view.ring.seq - lv->base.seq < LV_RING_SPAN - 1;
}

static void
send_admit(struct lv *lv, unsigned host, uint64_t seq, uint64_t live, struct ls_ring prev,
           struct lv_actions *out)
{
	struct lv_msg m;

	memset(&m, 0, sizeof(m));
	m.type = LV_MSG_ADMIT;
	m.u.admit.host = host;
	m.u.admit.seq = seq;
	m.u.admit.live = live;
	m.u.admit.prev_ring = prev;
	lv->admit_sent = 1;
	send_msg(lv, &m, out);
}

/* The master, steady in the ring its liveset was agreed in, answers a JOIN
** of a ring mate whose old self is known dead with an ADMIT (one per ring). */
static void
consider_join(struct lv *lv, unsigned j, uint64_t jseq, uint64_t now, struct lv_actions *out)
{
	lv->jreq_have |= LS_BIT(j);
	lv->jreq[j] = jseq;
	if (lv->state == LV_OUT && lv->jreq_have == lv->all && (lv->view.group & lv->all) == lv->all &&
	    lv->cfg.self == 0 && !lv->admit_sent && admission_room(lv)) {
		/* Every host of the pool is in my ring, and every one asks to
		** be admitted: nobody is in the pool to admit anybody (they were
		** all fenced).  The lowest host re-forms it: an ADMIT of itself
		** with every host as the liveset, agreed in this ring. */
		send_admit(lv, lv->cfg.self, jseq, lv->all, lv->view.ring, out);
		return;
	}
	if (lv->state != LV_STEADY || lv->master != (int)lv->cfg.self || lv->admit_sent ||
	    j == lv->cfg.self || lv->maint_until != 0 || !admission_room(lv))
		return;
	if (!ring_eq(lv->view.ring, lv->prev_ring) || !lv_is_fresh(lv, now))
		return;
	if (!(lv->view.group & LS_BIT(j)) || (lv->pending_dead & LS_BIT(j)))
		return; /* its old self may still run VMs: restarts come first */
	send_admit(lv, j, jseq, lv->live, lv->prev_ring, out);
}

/* Host h is admitted again: its slot counts from its new self on (above
** `seq`), and its old self, known dead, is pending no more. */
static void
forget_old_self(struct lv *lv, unsigned h, uint64_t seq, uint64_t now)
{
	lv->join_seq[h] = seq;
	lv->peer[h].valid = 0;
	lv->last_seen[h] = now;
	lv->fence_seen[h] = NONE;
	lv->pending_dead &= ~LS_BIT(h);
}

/* I am admitted (or the pool re-forms): I start from the liveset `live`
** agreed in `prev`, with `master`; install_ring() opens my round. */
static void
enter_pool(struct lv *lv, uint64_t live, struct ls_ring prev, int master, uint64_t now,
           struct lv_actions *out)
{
	lv->live = live & lv->all;
	lv->pending_dead &= ~lv->live;
	lv->prev_ring = prev;
	lv->master = master;
	lv->mine.state = LS_ALIVE;
	lv->state = LV_STEADY;
	lv->next_pet = now;
	lv->next_cycle = now;
	push(out, LV_ACT_MASTER)->host = master;
}

/* An ADMIT delivered in my ring: every engine (steady, in a round or out)
** moves to the ring seq + 1 at this point of the total order, where the
** admitted host's round is decided with it as `joined` (ls_decide). */
static void
admit(struct lv *lv, unsigned from, const struct lv_msg_admit *a, uint64_t now,
      struct lv_actions *out)
{
	struct lv_ring_view v = lv->view;
	unsigned j = a->host;

	if (!admission_room(lv)) {
		lv->stats.msgs_ignored++;
		return;
	}
	v.ring.seq++;
	lv->joined = 0;
	lv->caught_up = 0;
	if (j == from && lv->state == LV_OUT && (lv->jreq_have & lv->all) == lv->all &&
	    (a->live & lv->all) == lv->all) {
		/* The pool re-forms (consider_join): every host starts from
		** the whole pool as its liveset, each one's slot counting from
		** its JOIN's seq on. */
		unsigned h;

		for (h = 0; h < lv->cfg.ls.n; h++)
			if (h != lv->cfg.self)
				forget_old_self(lv, h, lv->jreq[h], now);
		lv->pending_dead = 0;
		enter_pool(lv, lv->all, a->prev_ring, (int)from, now, out);
	} else if (j < lv->cfg.ls.n && (lv->view.members & LS_BIT(j)) && j != from) {
		lv->admission = lv->state == LV_STEADY || (lv->state == LV_ROUND && lv->admission);
		if (j == lv->cfg.self && lv->state == LV_OUT)
			enter_pool(lv, a->live, a->prev_ring, (int)from, now, out); /* the master's */
		if (!(lv->live & LS_BIT(j)))
			lv->joined = LS_BIT(j);
		if (j != lv->cfg.self)
			forget_old_self(lv, j, a->seq, now); /* the master waited for its death */
	}
	install_ring(lv, &v, 1, now, out);
}

static void
handle_deliver(struct lv *lv, const struct lv_msg *m, uint64_t now, struct lv_actions *out)
{
	unsigned from = m->from, i;

	if (from < lv->cfg.ls.n && (lv->view.members & LS_BIT(from)) && !lv->view.local &&
	    m->ring.nodeid == lv->view.ring.nodeid && m->ring.seq > lv->view.ring.seq &&
	    m->ring.seq - lv->base.seq < LV_RING_SPAN && ring_eq(lv->view.ring, lv->base)) {
		/* A ring mate is in an admission's ring of my corosync ring that
		** I have not seen made: I started after its ADMIT.  Join it
		** there; its round is the admitted host's, which I do not know:
		** I take its verdict from a member, I do not decide it. */
		struct lv_ring_view v = lv->view;

		v.ring.seq = m->ring.seq;
		install_ring(lv, &v, 0, now, out);
		lv->caught_up = lv->state == LV_ROUND;
	}
	if (from >= lv->cfg.ls.n || !ring_eq(m->ring, lv->view.ring) ||
	    !(lv->view.members & LS_BIT(from))) {
		lv->stats.msgs_ignored++;
		return;
	}
	lv->last_from[from] = now;
	lv->dcount++;
	switch (m->type) {
	case LV_MSG_PING:
		if (from != lv->cfg.self) {
			/* A count of another view (sent before its sender
			** delivered the change that made mine) says nothing
			** about my positions. */
			if (m->u.ping.view == lv->view.view && m->u.ping.count > lv->acked[from])
				lv->acked[from] = m->u.ping.count;
		} else {
			i = (unsigned)(m->u.ping.seq % PING_RING);
			if (lv->pings[i].seq == m->u.ping.seq && ring_eq(lv->pings[i].ring, m->ring))
				lv->pings[i].pos = lv->dcount;
#ifdef LV_MUTATE_SELF_FRESH
			/* A deliberately broken engine for tests/sim/mutant.sh: my
			** own PING counts for freshness as soon as it is delivered
			** to me, without the others' acknowledgements (assumption
			** (S) of docs/protocol.md dropped).  Never built into hasvcd. */
			if (lv->pings[i].seq == m->u.ping.seq && ring_eq(lv->pings[i].ring, m->ring) &&
			    lv->pings[i].sent + lv->t->fresh_ms > lv->fresh_until)
				lv->fresh_until = lv->pings[i].sent + lv->t->fresh_ms;
#endif
		}
		update_fresh(lv);
		return;
	case LV_MSG_STATE:
		lv->state_have |= LS_BIT(from);
		if (m->u.state.access)
			lv->state_access |= LS_BIT(from);
		else
			lv->state_access &= ~LS_BIT(from);
		lv->mstate[from].has_verdict = m->u.state.has_verdict;
		lv->mstate[from].vring = m->u.state.vring;
		lv->mstate[from].vlive = m->u.state.vlive & lv->all;
		return;
	case LV_MSG_VERDICT:
		if (lv->verdict_taken)
			return;
		lv->verdict_taken = 1;
		adopt(lv, &m->u.verdict, now, out);
		return;
	case LV_MSG_JOIN:
		consider_join(lv, from, m->u.join.seq, now, out);
		return;
	case LV_MSG_ADMIT:
		admit(lv, from, &m->u.admit, now, out);
		return;
	}
	lv->stats.msgs_ignored++;
}

static void
new_ring(struct lv *lv, const struct lv_ring_view *v, uint64_t now, struct lv_actions *out)
{

	if (ring_eq(v->ring, lv->base) && !v->local == !lv->view.local &&
	    v->members == lv->view.members) {
		/* The same ring: a quorum update, or a daemon joined or left
		** the group (a new view: positions start again). */
		uint64_t group = (v->group ? v->group : v->members) & lv->view.members;

		uint64_t grew;

		lv->view.quorate = v->quorate;
		if ((group | LS_BIT(lv->cfg.self)) != lv->view.group || v->view != lv->view.view) {
			grew = group & ~lv->view.group;
			if ((group | LS_BIT(lv->cfg.self)) == lv->view.group)
				grew = group; /* the same hosts, another process among them */
			lv->view.group = group | LS_BIT(lv->cfg.self);
			lv->view.view = v->view;
			reset_view_count(lv);
			/* A daemon (re)started in my ring learns my liveset and
			** my confirmed verdict from my STATE: it waits for the
			** STATE of every member before deciding anything. */
			if (grew && (lv->state == LV_STEADY || lv->state == LV_ROUND))
				send_state(lv, now, out);
		}
		return;
	}
	/* corosync's ring: an admission's round is over, or never happens.
	** A round that was one goes on as a steady ring's would: from this
	** change, or from when freshness ran out if that came first. */
	if (lv->state == LV_ROUND && lv->admission)
		lv->t_change = round_start(lv) < now ? round_start(lv) : now;
	lv->admission = 0;
	lv->base = v->ring;
	lv->joined = 0;
	lv->caught_up = 0;
	install_ring(lv, v, 0, now, out);
}

/* Install ring v: corosync's (new_ring), or an admission's (admit():
** `same_view`, the CPG view goes on -- every engine of it moves at the same
** point of its total order, so the delivery count and the acknowledgements
** go on too, and freshness with them). */
static void
install_ring(struct lv *lv, const struct lv_ring_view *v, int same_view, uint64_t now,
             struct lv_actions *out)
{
	uint64_t before = lv->view.members;
	struct ls_ring before_ring = lv->view.ring;

	lv->view = *v;
	lv->view.members &= lv->all;
	lv->view.members |= LS_BIT(lv->cfg.self);
	lv->view.group = ((v->group ? v->group : v->members) & lv->view.members) |
	                 LS_BIT(lv->cfg.self);
	if (!same_view)
		reset_view_count(lv);
	lv->jreq_have = 0;
	lv->admit_sent = 0;
	if (lv->state == LV_OUT) {
		lv->nlocal = 0;
		send_ping(lv, now, out);
		return;
	}
	lv->state_have = lv->state_access = 0;
	memset(lv->mstate, 0, sizeof(lv->mstate));
	lv->verdict_sent = lv->verdict_taken = lv->adopt_pending = 0;
	if (!same_view)
		lv->fresh_until = 0;
	lv->nlocal = 0;
	if (lv->state == LV_STEADY)
		start_round(lv, now);
	else if ((lv->view.members & ~before) && !ring_eq(before_ring, lv->prev_ring))
		/* Grew during the round (model rule 3).  Not when the round is
		** a stall whose first ring change this is: the stall was this
		** very change on its way. */
		lv->rewait_until = now + lv->t->rewait_ms;
	set_claim(lv);
	send_state(lv, now, out);
	send_ping(lv, now, out);
	publish_soon(lv, now, out);
}

/* ---------------------------------------------------------------------- */

struct lv *
lv_new(const struct lv_config *cfg, char *err, size_t errlen)
{
	struct lv *lv;
	char why[200];
	unsigned h;

	if (ls_config_check(&cfg->ls) != 0) {
		snprintf(err, errlen, "bad pool configuration (hosts, weights or preferred host)");
		return NULL;
	}
	if (cfg->self >= cfg->ls.n || !(cfg->live & LS_BIT(cfg->self))) {
		snprintf(err, errlen, "host index %u is not in the liveset", cfg->self);
		return NULL;
	}
	if (cfg->ls.n < 64 && (cfg->live >> cfg->ls.n) != 0) {
		snprintf(err, errlen, "the liveset names hosts beyond the %u configured", cfg->ls.n);
		return NULL;
	}
	if (cfg->master >= 0 && (cfg->master >= (int)cfg->ls.n || !(cfg->live & LS_BIT(cfg->master)))) {
		snprintf(err, errlen, "the master %d is not in the liveset", cfg->master);
		return NULL;
	}
	if (lv_timing_check(&cfg->timing, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "unsafe timing: %s", why);
		return NULL;
	}
	lv = xcalloc(1, sizeof(*lv));
	lv->cfg = *cfg;
	lv->t = &lv->cfg.timing;
	lv->all = cfg->ls.n >= 64 ? ~(uint64_t)0 : LS_BIT(cfg->ls.n) - 1;
	lv->master = -1;
	lv->streak_start = NONE;
	lv->next_eval = NONE;
	for (h = 0; h < LS_MAX_HOSTS; h++)
		lv->fence_seen[h] = NONE;
	return lv;
}

void
lv_free(struct lv *lv)
{
	free(lv);
}

static void
start(struct lv *lv, const struct lv_ring_view *v, uint64_t now, struct lv_actions *out)
{
	unsigned h;

	for (h = 0; h < lv->cfg.ls.n; h++) {
		lv->last_seen[h] = now;
		lv->last_from[h] = now;
	}
	lv->live = lv->cfg.live;
	lv->mine.seq = lv->cfg.seq0;
	lv->mine.valid = 1;
	lv->mine.state = LS_ALIVE;
	lv->view = *v;
	lv->base = v->ring;
	lv->view.members = (v->members & lv->all) | LS_BIT(lv->cfg.self);
	lv->view.group = ((v->group ? v->group : v->members) & lv->view.members) |
	                 LS_BIT(lv->cfg.self);
	if (lv->cfg.out) {
		/* Out of the pool: my PINGs, whose counts acknowledge my ring
		** mates' (they wait for every member of the group), my FENCED
		** slot, my JOINs. */
		lv->state = LV_OUT;
		lv->mine.state = LS_FENCED;
		lv->next_cycle = now;
		send_ping(lv, now, out);
		cycle(lv, now, out);
		return;
	}
	/* Where L was agreed: my predecessor's last agreement (a restarted
	** daemon), or not known ({0,0}: a cold start -- HA enabled, a new
	** statefile generation, nobody has a verdict and rule 1 decides).
	** Either way the members' STATEs (sent when my daemon joins their
	** group) bring the verdicts agreed since, which I adopt or catch up
	** with before deciding anything myself. */
	lv->prev_ring = lv->cfg.prev_ring;
	lv->master = lv->cfg.master;
	/* My predecessor's lost hosts, dead restart_ms after my start (every
	** last_from is now) unless back in my ring (dead_at). */
	lv->pending_dead = lv->cfg.pending_dead & lv->all & ~lv->live;
	set_claim(lv);
	push(out, LV_ACT_PET);
	lv->next_pet = now + lv->t->pet_ms;
	if (lv->master >= 0)
		push(out, LV_ACT_MASTER)->host = lv->master;
	set_master(lv, out);
	/* Nothing is proven yet: a round decides, by rule 1 as soon as a
	** stable PING makes my ring fresh. */
	start_round(lv, now);
	send_state(lv, now, out);
	send_ping(lv, now, out);
	lv->next_cycle = now;
	cycle(lv, now, out);
}

static void
stop(struct lv *lv, uint64_t now, struct lv_actions *out)
{
	if (lv->state == LV_FENCED || lv->state == LV_LEFT)
		return;
	if (lv->state == LV_OUT || !lv->cfg.ls.statefile || lv->io != IO_NONE) {
		/* An I/O is in flight: its answer would be confused with
		** the LEAVING write's.  Leave without it. */
		lv->state = LV_LEFT;
		push(out, LV_ACT_EXIT);
		return;
	}
	lv->mine.state = LS_LEAVING;
	issue_write(lv, now, out);
	lv->io = IO_LEAVE;
	lv->state = LV_LEFT; /* no decisions; EXIT comes with the answer */
}

/* The maintenance window ends (its time came, or it was cut short): a
** running round's deadline starts again now, and every peer counts as heard
** from LV_MAINT_SLACK_MS from now -- their watchdogs were disarmed, so no
** earlier evidence bounds their death; fence records read during the window
** are read again. */
static void
maint_end(struct lv *lv, uint64_t now)
{
	unsigned h;

	lv->maint_until = 0;
	for (h = 0; h < lv->cfg.ls.n; h++) {
		if (lv->last_from[h] < now + LV_MAINT_SLACK_MS)
			lv->last_from[h] = now + LV_MAINT_SLACK_MS;
		lv->fence_seen[h] = NONE;
	}
	if (lv->state == LV_ROUND) {
		lv->t_change = now;
		lv->rewait_until = 0;
		lv->next_eval = NONE;
	}
}

static void
maint(struct lv *lv, uint64_t until, uint64_t now)
{
	if (until > now) {
		lv->maint_until = until;
		return;
	}
	if (lv->maint_until != 0)
		maint_end(lv, now);
}

static void
tick(struct lv *lv, uint64_t now, struct lv_actions *out)
{
	if (lv->maint_until != 0 && now >= lv->maint_until)
		maint_end(lv, now);
	if (lv->state == LV_OUT) {
		if (now >= lv->next_ping)
			send_ping(lv, now, out);
		if (now >= lv->next_join) {
			struct lv_msg m;

			memset(&m, 0, sizeof(m));
			m.type = LV_MSG_JOIN;
			m.u.join.seq = lv->mine.seq; /* my FENCED write's: the others take
			                             ** my slot from my next write on */
			lv->next_join = now + LV_JOIN_RETRY_MS;
			send_msg(lv, &m, out);
		}
		cycle(lv, now, out);
		return;
	}
	if (lv->state != LV_STEADY && lv->state != LV_ROUND)
		return;
	if (now >= lv->next_pet) {
		push(out, LV_ACT_PET);
		lv->next_pet = now + lv->t->pet_ms;
	}
	if (now >= lv->next_ping)
		send_ping(lv, now, out);
	if (lv->state == LV_STEADY && !lv_is_fresh(lv, now)) {
		/* My ring stalled: rule 1 no longer holds.  The round starts
		** when freshness ran out (docs/protocol.md, "Fresh ring"). */
		lv->stats.stalls++;
		start_round(lv, lv->fresh_until);
	}
	cycle(lv, now, out);
}

void
lv_step(struct lv *lv, const struct lv_event *ev, uint64_t now, struct lv_actions *out)
{
	if (lv->state == LV_FENCED || (lv->state == LV_LEFT && ev->type != LV_EV_WRITTEN)) {
		lv->stats.msgs_ignored++;
		return;
	}
	if (lv->state == LV_INIT && ev->type != LV_EV_START) {
		lv->stats.msgs_ignored++;
		return;
	}
	switch (ev->type) {
	case LV_EV_START:
		if (lv->state != LV_INIT) {
			lv->stats.msgs_ignored++;
			return;
		}
		start(lv, &ev->u.ring, now, out);
		break;
	case LV_EV_RING:
		new_ring(lv, &ev->u.ring, now, out);
		break;
	case LV_EV_DELIVER:
		handle_deliver(lv, &ev->u.msg, now, out);
		break;
	case LV_EV_WRITTEN:
	case LV_EV_READ:
		io_done(lv, ev, now, out);
		break;
	case LV_EV_TICK:
		tick(lv, now, out);
		break;
	case LV_EV_STOP:
		stop(lv, now, out);
		return;
	case LV_EV_MAINT:
		maint(lv, ev->u.maint_until, now);
		break;
	}
	/* My own messages in a local ring (corosync down). */
	while (lv->nlocal > 0 &&
	       (lv->state == LV_STEADY || lv->state == LV_ROUND || lv->state == LV_OUT)) {
		struct lv_msg m = lv->localq[0];

		memmove(lv->localq, lv->localq + 1, --lv->nlocal * sizeof(lv->localq[0]));
		handle_deliver(lv, &m, now, out);
	}
	if (lv->state == LV_STEADY) {
		/* Between rounds: my own storage alert, and my members keep an
		** up-to-date idea of who could prove (for the next round). */
		set_alerts(lv, lv->cfg.ls.statefile && !access_now(lv, now) ? LS_ALERT_SELF_NO_STORAGE : 0,
		           out);
		if (lv->cfg.ls.statefile && steady_access(lv, now) != lv->announced_access)
			send_state(lv, now, out);
	}
	evaluate(lv, now, out);
	cycle(lv, now, out);
	check_dead(lv, now, out);
}

uint64_t
lv_lease(const struct lv *lv)
{
	uint64_t deadline;

	/* Before my first SURVIVE since start my liveset is not agreed: a
	** restarted engine does not know its predecessor's deadline, which
	** the keeper still holds as its lease. */
	if (!lv->has_confirmed)
		return 0;
	switch (lv->state) {
	case LV_STEADY:
		return lv->fresh_until + lv->t->decide_ms;
	case LV_ROUND:
		deadline = round_start(lv) + lv->t->decide_ms;
		return deadline > lv->fresh_until ? deadline : lv->fresh_until;
	default:
		return 0;
	}
}

uint64_t
lv_next_deadline(const struct lv *lv)
{
	uint64_t t = NONE;
	unsigned h;

	if (lv->state == LV_OUT) {
		t = min_u64(lv->next_ping, lv->next_join);
		if (lv->cfg.ls.statefile && lv->io == IO_NONE && !lv->out_written)
			t = min_u64(t, lv->next_cycle);
		return t;
	}
	if (lv->state != LV_STEADY && lv->state != LV_ROUND)
		return NONE;
	t = min_u64(lv->next_pet, lv->next_ping);
	if (lv->maint_until != 0)
		t = min_u64(t, lv->maint_until);
	if (lv->cfg.ls.statefile && lv->io == IO_NONE)
		t = min_u64(t, lv->next_cycle);
	if (lv->state == LV_STEADY)
		t = min_u64(t, lv->fresh_until);
	else
		t = min_u64(t, lv->next_eval); /* evaluate() sets it, the deadline at the latest
		                                ** (a re-wait past the deadline: its end) */
	for (h = 0; h < lv->cfg.ls.n; h++)
		if (lv->pending_dead & LS_BIT(h))
			t = min_u64(t, dead_at(lv, h));
	return t;
}

enum lv_state
lv_get_state(const struct lv *lv)
{
	return lv->state;
}

uint64_t
lv_get_live(const struct lv *lv)
{
	return lv->live;
}

uint64_t
lv_get_pending_dead(const struct lv *lv)
{
	return lv->pending_dead;
}

struct ls_ring
lv_get_prev_ring(const struct lv *lv)
{
	return lv->prev_ring;
}

struct ls_ring
lv_get_ring(const struct lv *lv)
{
	return lv->view.ring;
}

uint64_t
lv_get_members(const struct lv *lv)
{
	return lv->view.members;
}

int
lv_get_master(const struct lv *lv)
{
	return lv->master;
}

int
lv_has_access(const struct lv *lv, uint64_t now)
{
	return access_now(lv, now);
}

unsigned
lv_get_alerts(const struct lv *lv)
{
	return lv->alerts;
}

const struct ls_result *
lv_last_result(const struct lv *lv)
{
	return &lv->res;
}

void
lv_get_stats(const struct lv *lv, struct lv_stats *out)
{
	*out = lv->stats;
}

const char *
lv_state_name(int s)
{
	static const char *const names[] = {"init", "steady", "round", "fenced", "left", "out"};

	return s >= 0 && (size_t)s < ARRAY_SIZE(names) ? names[s] : "?";
}

const char *
lv_action_name(int a)
{
	static const char *const names[] = {
	    [LV_ACT_WRITE] = "write",   [LV_ACT_READ] = "read",       [LV_ACT_SEND] = "send",
	    [LV_ACT_PET] = "pet",       [LV_ACT_FENCE] = "fence",     [LV_ACT_SURVIVE] = "survive",
	    [LV_ACT_MASTER] = "master", [LV_ACT_HOST_DEAD] = "host-dead", [LV_ACT_ALERT] = "alert",
	    [LV_ACT_EXIT] = "exit",
	};

	return a > 0 && (size_t)a < ARRAY_SIZE(names) && names[a] ? names[a] : "?";
}

const char *
lv_event_name(int e)
{
	static const char *const names[] = {
	    [LV_EV_START] = "start", [LV_EV_RING] = "ring", [LV_EV_DELIVER] = "deliver",
	    [LV_EV_WRITTEN] = "written", [LV_EV_READ] = "read", [LV_EV_TICK] = "tick",
	    [LV_EV_STOP] = "stop", [LV_EV_MAINT] = "maintenance",
	};

	return e > 0 && (size_t)e < ARRAY_SIZE(names) && names[e] ? names[e] : "?";
}

void
lv_actions_reset(struct lv_actions *a)
{
	a->n = 0;
}

void
lv_actions_free(struct lv_actions *a)
{
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

/* Read-only accessors for /metrics (liveness.h).  Nothing above depends on
** them. */
void
lv_get_timers(const struct lv *lv, struct lv_timers *out)
{
	unsigned h;

	memset(out, 0, sizeof(*out));
	out->n = lv->cfg.ls.n;
	out->self = lv->cfg.self;
	out->state = lv->state;
	out->timing = *lv->t;
	for (h = 0; h < lv->cfg.ls.n && h < LS_MAX_HOSTS; h++) {
		out->last_from[h] = lv->last_from[h];
		out->last_seen[h] = lv->last_seen[h];
	}
	out->fresh_until = lv->fresh_until;
	if (lv->state == LV_ROUND)
		out->decide_at = round_start(lv) + lv->t->decide_ms;
	out->last_write_ok = lv->last_write_ok;
	out->last_read_ok = lv->last_read_ok;
	out->streak = lv->streak_start != NONE;
	out->lease = lv_lease(lv);
}
