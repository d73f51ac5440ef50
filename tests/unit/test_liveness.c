/*
** The liveness engine (heartbeat/liveness.c), one host driven by hand.
**
** The simulator (tests/sim) runs whole pools of engines under random faults;
** these tests pin the engine's own mechanics with exact times: the start-up
** actions, the statefile cycle, the fresh-ring rule and the stall round,
** the gates (STATE of every member, re-wait), verdicts learned over CPG,
** adopted component verdicts, continuous access and its latch, and the
** "dead before restart" bounds.
**
** A `host` answers the engine's statefile requests from a local slot array
** (`disk`, the test edits the other hosts' slots) after `io_ms`, and loops
** the engine's own multicasts back to it after `cpg_ms` unless `cpg_stalled`.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "heartbeat/liveness.h"
#include "heartbeat/lv_timing.h"

#define N_MAX 8

struct host {
	struct lv *lv;
	struct lv_config cfg;
	uint64_t now;
	struct lv_slot disk[N_MAX];
	int storage_fails;
	int cpg_stalled;
	uint64_t echo;               /* peers that answer each of my PINGs with theirs */
	int no_auto_state;           /* ... and send their STATE first (unless set) */
	uint64_t stated;             /* peers whose STATE of this ring was delivered */
	uint32_t dcount;             /* messages delivered in the current ring */
	uint64_t heard[N_MAX];       /* when a message from each peer was last delivered */
	/* requests in flight: one I/O and a queue of own messages */
	struct {
		uint64_t id, at;
		int read;
		struct lv_slot slot;
	} io;
	int io_pending;
	struct {
		struct lv_msg m;
		uint64_t at;
	} q[256];
	unsigned nq;
	/* what the engine did */
	unsigned pets, fences, survives, writes;
	enum ls_reason fence_reason, survive_reason;
	uint64_t survive_live, survive_lost, dead, dead_at[N_MAX];
	int master;
	struct lv_msg sent[512];
	unsigned nsent;
};

static const uint64_t io_ms = 2, cpg_ms = 3;

static struct ls_ring
R(uint64_t seq)
{
	struct ls_ring r = {seq, 1};
	return r;
}

static void
apply(struct host *h, struct lv_actions *acts)
{
	size_t i;

	for (i = 0; i < acts->n; i++) {
		const struct lv_action *a = &acts->v[i];

		switch (a->type) {
		case LV_ACT_WRITE:
		case LV_ACT_READ:
			assert_false(h->io_pending); /* one request at a time */
			h->io_pending = 1;
			h->io.id = a->id;
			h->io.read = a->type == LV_ACT_READ;
			h->io.slot = a->slot;
			h->io.at = h->now + io_ms;
			if (a->type == LV_ACT_WRITE)
				h->writes++;
			break;
		case LV_ACT_SEND:
			h->sent[h->nsent++ % 512] = a->msg;
			if (!h->cpg_stalled && h->nq < 256) {
				h->q[h->nq].m = a->msg;
				h->q[h->nq].at = h->now + cpg_ms;
				h->nq++;
			}
			break;
		case LV_ACT_PET:
			h->pets++;
			break;
		case LV_ACT_FENCE:
			h->fences++;
			h->fence_reason = a->reason;
			h->disk[h->cfg.self] = a->slot;
			break;
		case LV_ACT_SURVIVE:
			h->survives++;
			h->survive_reason = a->reason;
			h->survive_live = a->live;
			h->survive_lost = a->lost;
			break;
		case LV_ACT_MASTER:
			h->master = a->host;
			break;
		case LV_ACT_HOST_DEAD:
			h->dead |= (uint64_t)1 << a->host;
			h->dead_at[a->host] = h->now;
			break;
		case LV_ACT_ALERT:
		case LV_ACT_EXIT:
			break;
		}
	}
}

static void
step(struct host *h, const struct lv_event *ev)
{
	struct lv_actions acts = {0};
	struct ls_ring before = lv_get_ring(h->lv);

	if (ev->type == LV_EV_DELIVER && ev->u.msg.ring.seq == before.seq &&
	    ev->u.msg.ring.nodeid == before.nodeid) {
		h->dcount++; /* the engine counts only its ring's messages */
		h->heard[ev->u.msg.from] = h->now;
		if (ev->u.msg.type == LV_MSG_STATE)
			h->stated |= (uint64_t)1 << ev->u.msg.from;
	}
	lv_step(h->lv, ev, h->now, &acts);
	apply(h, &acts);
	lv_actions_free(&acts);
	if (ev->type == LV_EV_DELIVER && lv_get_ring(h->lv).seq != before.seq)
		h->stated = 0; /* an admission's ring: STATEs again (the CPG view, and its
		               ** delivery count, go on) */
}

/* The peers in h->echo deliver my PING and answer with theirs, whose count
** says so (it makes my PING stable). */
static void
echo(struct host *h)
{
	struct lv_event ev;
	unsigned i;

	for (i = 0; i < h->cfg.ls.n; i++) {
		if (!(h->echo & ((uint64_t)1 << i)) || lv_get_state(h->lv) == LV_FENCED)
			continue;
		if (!h->no_auto_state && !(h->stated & ((uint64_t)1 << i))) {
			memset(&ev, 0, sizeof(ev));
			ev.type = LV_EV_DELIVER;
			ev.u.msg.type = LV_MSG_STATE;
			ev.u.msg.from = i;
			ev.u.msg.ring = lv_get_ring(h->lv);
			ev.u.msg.u.state.access = 1;
			ev.u.msg.u.state.live = lv_get_live(h->lv);
			step(h, &ev);
		}
		memset(&ev, 0, sizeof(ev));
		ev.type = LV_EV_DELIVER;
		ev.u.msg.type = LV_MSG_PING;
		ev.u.msg.from = i;
		ev.u.msg.ring = lv_get_ring(h->lv);
		ev.u.msg.u.ping.seq = 1;
		ev.u.msg.u.ping.count = h->dcount;
		step(h, &ev);
	}
}

/* Run until `until`, delivering I/O answers, own messages and ticks in time
** order. */
static void
run(struct host *h, uint64_t until)
{
	for (;;) {
		uint64_t t = lv_next_deadline(h->lv);
		struct lv_event ev;

		if (h->io_pending && h->io.at < t)
			t = h->io.at;
		if (h->nq > 0 && h->q[0].at < t)
			t = h->q[0].at;
		if (t > until)
			break;
		if (t > h->now)
			h->now = t;
		memset(&ev, 0, sizeof(ev));
		if (h->io_pending && h->io.at <= h->now) {
			h->io_pending = 0;
			ev.type = h->io.read ? LV_EV_READ : LV_EV_WRITTEN;
			ev.u.io.id = h->io.id;
			ev.u.io.ok = !h->storage_fails;
			if (ev.u.io.ok && !h->io.read)
				h->disk[h->cfg.self] = h->io.slot;
			ev.u.io.slots = h->disk;
		} else if (h->nq > 0 && h->q[0].at <= h->now) {
			ev.type = LV_EV_DELIVER;
			ev.u.msg = h->q[0].m;
			memmove(h->q, h->q + 1, --h->nq * sizeof(h->q[0]));
			step(h, &ev);
			if (ev.u.msg.type == LV_MSG_PING)
				echo(h);
			if (lv_get_state(h->lv) == LV_FENCED)
				break;
			continue;
		} else {
			ev.type = LV_EV_TICK;
		}
		step(h, &ev);
		if (lv_get_state(h->lv) == LV_FENCED)
			break;
	}
	if (h->now < until)
		h->now = until;
}

/* A restarted daemon's engine: it starts from `live` agreed in `prev`, with
** `pending` lost and not yet known dead (0, {0,0}, 0: a cold start). */
static void host_init_from(struct host *h, unsigned n, unsigned self, int statefile,
                           uint64_t members, uint64_t live, struct ls_ring prev, uint64_t pending);

static void
host_init(struct host *h, unsigned n, unsigned self, int statefile, uint64_t members)
{
	struct ls_ring none = {0, 0};

	host_init_from(h, n, self, statefile, members, 0, none, 0);
}

static void
host_init_from(struct host *h, unsigned n, unsigned self, int statefile, uint64_t members,
               uint64_t live, struct ls_ring prev, uint64_t pending)
{
	char err[200];
	struct lv_event ev;
	unsigned i;

	memset(h, 0, sizeof(*h));
	h->master = -1;
	h->cfg.ls.n = n;
	for (i = 0; i < n; i++)
		h->cfg.ls.weight[i] = 1;
	h->cfg.ls.preferred = -1;
	h->cfg.ls.statefile = statefile;
	h->cfg.self = self;
	h->cfg.live = live ? live : ((uint64_t)1 << n) - 1;
	h->cfg.prev_ring = prev;
	h->cfg.pending_dead = pending;
	h->cfg.master = 0;
	assert_int_equal(lv_timing_derive(30, LV_PROFILE_FAST, &h->cfg.timing, err, sizeof(err)), 0);
	h->lv = lv_new(&h->cfg, err, sizeof(err));
	assert_non_null(h->lv);
	h->now = 1000;
	memset(&ev, 0, sizeof(ev));
	ev.type = LV_EV_START;
	ev.u.ring.ring = R(8);
	ev.u.ring.members = members;
	ev.u.ring.quorate = 1;
	h->echo = members & ~((uint64_t)1 << self);
	step(h, &ev);
}

static void
host_free(struct host *h)
{
	lv_free(h->lv);
}

static void
ring_change(struct host *h, uint64_t seq, uint64_t members, int quorate)
{
	struct lv_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = LV_EV_RING;
	ev.u.ring.ring = R(seq);
	ev.u.ring.members = members;
	ev.u.ring.quorate = quorate;
	h->dcount = 0;
	h->stated = 0;
	h->nq = 0; /* messages of the old ring are never delivered in the new one */
	h->echo = members & ~((uint64_t)1 << h->cfg.self);
	step(h, &ev);
}

/* A message from another member, delivered now. */
static void
deliver(struct host *h, const struct lv_msg *m)
{
	struct lv_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = LV_EV_DELIVER;
	ev.u.msg = *m;
	step(h, &ev);
}

static struct lv_msg
state_msg(unsigned from, uint64_t ring_seq, int access, uint64_t live)
{
	struct lv_msg m;

	memset(&m, 0, sizeof(m));
	m.type = LV_MSG_STATE;
	m.from = from;
	m.ring = R(ring_seq);
	m.u.state.access = access;
	m.u.state.live = live;
	m.u.state.prev_ring = R(8);
	return m;
}

static struct lv_msg
ping_msg(unsigned from, uint64_t ring_seq)
{
	struct lv_msg m;

	memset(&m, 0, sizeof(m));
	m.type = LV_MSG_PING;
	m.from = from;
	m.ring = R(ring_seq);
	m.u.ping.seq = 1;
	return m;
}

/* A slot of another host, as a running peer writes it. */
static void
peer_slot(struct host *h, unsigned i, uint64_t seq, uint64_t ring_seq, uint64_t members,
          uint32_t state)
{
	struct lv_slot *s = &h->disk[i];

	memset(s, 0, sizeof(*s));
	s->valid = 1;
	s->seq = seq;
	s->state = state;
	s->ring = R(ring_seq);
	s->members = members;
}

/* ---- tests ------------------------------------------------------------------ */

static void
test_start(void **state)
{
	struct host h;
	unsigned i, states = 0, pings = 0;

	(void)state;
	host_init(&h, 3, 1, 1, 7);
	/* Nothing proven yet: a round, ended by rule 1 once my ring is fresh. */
	assert_int_equal(lv_get_state(h.lv), LV_ROUND);
	assert_int_equal(h.pets, 1);
	assert_int_equal(h.master, 0);
	assert_true(h.io_pending && !h.io.read); /* the first cycle writes my slot */
	assert_int_equal(h.io.slot.state, LS_ALIVE);
	assert_int_equal(h.io.slot.seq, 1);
	assert_int_equal(h.io.slot.ring.seq, 8);
	for (i = 0; i < h.nsent; i++) {
		states += h.sent[i].type == LV_MSG_STATE;
		pings += h.sent[i].type == LV_MSG_PING;
		assert_int_equal(h.sent[i].from, 1);
	}
	assert_int_equal(states, 1);
	assert_int_equal(pings, 1);
	run(&h, 1000 + 2 * cpg_ms);
	assert_int_equal(lv_get_state(h.lv), LV_STEADY);
	assert_int_equal(h.survive_reason, LS_R_NO_PARTITION);
	assert_int_equal(h.survive_live, 7);

	/* A healthy host: a write and a read every cycle, pets every pet_ms,
	** fresh all along, no round. */
	run(&h, 1000 + 10000);
	assert_int_equal(lv_get_state(h.lv), LV_STEADY);
	assert_true(lv_is_fresh(h.lv, h.now));
	assert_in_range(h.writes, 10000 / h.cfg.timing.cycle_ms - 2, 10000 / h.cfg.timing.cycle_ms + 2);
	assert_in_range(h.pets, 10000 / h.cfg.timing.pet_ms, 10000 / h.cfg.timing.pet_ms + 2);
	assert_true(lv_has_access(h.lv, h.now));
	assert_in_range(h.disk[1].seq, h.writes - 1, h.writes); /* the last may be in flight */
	host_free(&h);
}

/* corosync stops delivering (a stalled or cut-off ring): rule 1 no longer
** holds; the stall round starts when freshness runs out and, with no fresh
** ring by the deadline, fences. */
static void
test_stall_fences_at_deadline(void **state)
{
	struct host h;
	uint64_t stalled_at, fresh_end;

	(void)state;
	host_init(&h, 3, 0, 1, 7);
	run(&h, 3000);
	assert_int_equal(lv_get_state(h.lv), LV_STEADY);
	stalled_at = h.now;
	h.cpg_stalled = 1;
	h.nq = 0;
	/* The last stable PING was sent at most ping_ms before. */
	fresh_end = stalled_at + h.cfg.timing.fresh_ms;
	run(&h, fresh_end - h.cfg.timing.ping_ms - 1);
	assert_int_equal(lv_get_state(h.lv), LV_STEADY);
	run(&h, fresh_end + 1);
	assert_int_equal(lv_get_state(h.lv), LV_ROUND);
	assert_true(lv_get_alerts(h.lv) & LV_ALERT_STALLED);
	run(&h, fresh_end + h.cfg.timing.decide_ms + 1);
	assert_int_equal(lv_get_state(h.lv), LV_FENCED);
	assert_int_equal(h.fences, 1);
	assert_int_equal(h.fence_reason, LS_R_DEADLINE);
	/* The fence record went to my slot, and pets stopped. */
	assert_int_equal(h.disk[0].state, LS_FENCING);
	assert_true(h.disk[0].fence_present);
	host_free(&h);
}

/* My own PINGs keep being delivered to me, but one member stops answering:
** they are not stable (that member may not have delivered them: a stalled
** corosync replaying an old token, or a partition that agreed delivery does
** not tell me about), so my ring is not fresh and rule 1 does not hold. */
static void
test_unacked_pings_are_not_fresh(void **state)
{
	struct host h;
	uint64_t quiet;

	(void)state;
	host_init(&h, 3, 0, 1, 7);
	run(&h, 3000);
	assert_int_equal(lv_get_state(h.lv), LV_STEADY);
	quiet = h.now;
	h.echo = 2; /* host 2 says nothing any more; host 1 goes on */
	run(&h, quiet + h.cfg.timing.fresh_ms + 1);
	assert_int_equal(lv_get_state(h.lv), LV_ROUND);
	assert_false(lv_is_fresh(h.lv, h.now));
	run(&h, quiet + h.cfg.timing.fresh_ms + h.cfg.timing.decide_ms + 1);
	assert_int_equal(lv_get_state(h.lv), LV_FENCED);
	assert_int_equal(h.fence_reason, LS_R_DEADLINE);
	host_free(&h);
}

/* A stall shorter than the deadline: the next delivered PING ends the round
** by rule 1, nobody fences. */
static void
test_stall_heals(void **state)
{
	struct host h;
	unsigned pets;

	(void)state;
	host_init(&h, 3, 0, 1, 7);
	run(&h, 3000);
	h.cpg_stalled = 1;
	h.nq = 0;
	run(&h, 3000 + h.cfg.timing.fresh_ms + 500);
	assert_int_equal(lv_get_state(h.lv), LV_ROUND);
	pets = h.pets;
	h.cpg_stalled = 0;
	run(&h, h.now + h.cfg.timing.pet_ms + h.cfg.timing.ping_ms);
	assert_int_equal(lv_get_state(h.lv), LV_STEADY);
	assert_int_equal(h.survives, 2); /* the start round, then this one */
	assert_int_equal(h.survive_reason, LS_R_NO_PARTITION);
	assert_int_equal(h.survive_live, 7);
	assert_true(h.pets > pets); /* petting never stopped */
	assert_int_equal(h.fences, 0);
	host_free(&h);
}

/* A new ring that holds the liveset: no decision before every member's
** STATE of that ring is in (its confirmed verdict might exclude me). */
static void
test_rule1_waits_for_member_states(void **state)
{
	struct host h;
	struct lv_msg m;

	(void)state;
	host_init(&h, 3, 0, 1, 7);
	run(&h, 3000);
	h.no_auto_state = 1;
	ring_change(&h, 12, 7, 1);
	run(&h, h.now + 50);
	assert_int_equal(lv_get_state(h.lv), LV_ROUND);
	assert_true(lv_is_fresh(h.lv, h.now)); /* fresh, but a STATE is missing */
	m = state_msg(1, 12, 1, 7);
	deliver(&h, &m);
	run(&h, h.now + 50);
	assert_int_equal(lv_get_state(h.lv), LV_ROUND);
	m = state_msg(2, 12, 1, 7);
	deliver(&h, &m);
	assert_int_equal(lv_get_state(h.lv), LV_STEADY);
	assert_int_equal(h.survive_reason, LS_R_NO_PARTITION);
	assert_int_equal(lv_get_prev_ring(h.lv).seq, 12);
	host_free(&h);
}

/* Model rule 2: a member that confirmed a verdict excluding me (it survived
** a round without me) merges back: its STATE preempts me, although my ring
** holds my whole liveset. */
static void
test_member_verdict_preempts(void **state)
{
	struct host h;
	struct lv_msg m;

	(void)state;
	host_init(&h, 3, 0, 1, 7);
	run(&h, 3000);
	ring_change(&h, 16, 7, 1);
	m = state_msg(1, 16, 1, 6);
	m.u.state.has_verdict = 1;
	m.u.state.vring = R(12);
	m.u.state.vlive = 6; /* {1,2} survived ring 12 without me */
	deliver(&h, &m);
	assert_int_equal(lv_get_state(h.lv), LV_FENCED);
	assert_int_equal(h.fence_reason, LS_R_PREEMPTED);
	host_free(&h);
}

/* Rule 5: a member without storage adopts the first VERDICT delivered for
** its ring; a later, different one is ignored. */
static void
test_adopts_first_verdict(void **state)
{
	struct host h;
	struct lv_msg m;

	(void)state;
	host_init(&h, 3, 1, 1, 7);
	h.storage_fails = 1; /* no access: not a prover */
	run(&h, 3000);
	ring_change(&h, 12, 3, 1); /* {0,1} | {2} */
	m = state_msg(0, 12, 1, 7);
	deliver(&h, &m);
	m = ping_msg(0, 12);
	deliver(&h, &m);
	run(&h, h.now + 100);
	assert_int_equal(lv_get_state(h.lv), LV_ROUND);
	assert_int_equal(lv_last_result(h.lv)->reason, LS_R_AWAIT_VERDICT);
	memset(&m, 0, sizeof(m));
	m.type = LV_MSG_VERDICT;
	m.from = 0;
	m.ring = R(12);
	m.u.verdict.verdict = LS_SURVIVE;
	m.u.verdict.reason = LS_R_WON;
	m.u.verdict.live = 3;
	m.u.verdict.lost = 4;
	m.u.verdict.winner = 3;
	deliver(&h, &m);
	assert_int_equal(lv_get_state(h.lv), LV_STEADY);
	assert_int_equal(h.survive_live, 3);
	assert_int_equal(h.survive_lost, 4);
	assert_int_equal(lv_get_live(h.lv), 3);
	host_free(&h);
}

/* Quorum-only pool: a lost host is declared dead exactly restart_ms after I
** last heard from it, not earlier; the master moves off it. */
static void
test_dead_before_restart_quorum(void **state)
{
	struct host h;
	struct lv_msg m;
	uint64_t heard;

	(void)state;
	host_init(&h, 3, 1, 0, 7);
	run(&h, 3500);
	ring_change(&h, 12, 2, 0); /* {1} | {0,2}: not quorate */
	run(&h, h.now + h.cfg.timing.decide_ms + 10);
	assert_int_equal(lv_get_state(h.lv), LV_FENCED);
	assert_int_equal(h.fence_reason, LS_R_NOT_QUORATE);
	host_free(&h);

	host_init(&h, 3, 1, 0, 7);
	run(&h, 3500);
	heard = h.heard[2]; /* host 2's last PING before it went */
	assert_true(heard > 3300);
	ring_change(&h, 12, 3, 1); /* {0,1} | {2}: quorate */
	m = state_msg(0, 12, 0, 7);
	deliver(&h, &m);
	run(&h, h.now + 100);
	assert_int_equal(lv_get_state(h.lv), LV_STEADY);
	assert_int_equal(h.survive_reason, LS_R_QUORATE);
	assert_int_equal(h.survive_lost, 4);
	run(&h, heard + h.cfg.timing.restart_ms - 1);
	assert_int_equal(h.dead, 0);
	run(&h, heard + h.cfg.timing.restart_ms + 1);
	assert_int_equal(h.dead, 4);
	assert_int_equal(h.dead_at[2], heard + h.cfg.timing.restart_ms);
	host_free(&h);
}

static struct lv_msg admit_msg(unsigned from, struct ls_ring ring, unsigned host, uint64_t seq,
                               uint64_t live, struct ls_ring prev);

/* A restarted daemon remembers the hosts its predecessor lost and had not
** yet announced dead (docs/protocol.md, "Residual limits", seed 26904):
** announced restart_ms after the restart (never earlier), unless the host
** is in the liveset it starts from or adopts (admitted meanwhile). */
static void
test_restart_remembers_lost(void **state)
{
	struct host h;
	struct lv_msg m;
	uint64_t t0;

	(void)state;
	/* {0,1} agreed in ring 8 without host 2, which was still pending. */
	host_init_from(&h, 3, 1, 0, 3, 3, R(8), 4);
	t0 = h.now;
	m = state_msg(0, 8, 0, 3);
	deliver(&h, &m);
	run(&h, t0 + h.cfg.timing.restart_ms - 1);
	assert_int_equal(lv_get_state(h.lv), LV_STEADY);
	assert_int_equal(lv_get_pending_dead(h.lv), 4);
	assert_int_equal(h.dead, 0);
	run(&h, t0 + h.cfg.timing.restart_ms + 1);
	assert_int_equal(h.dead, 4);
	assert_true(h.dead_at[2] >= t0 + h.cfg.timing.restart_ms);
	host_free(&h);

	/* Host 2 is in the liveset the restart starts from: not pending. */
	host_init_from(&h, 3, 1, 0, 3, 7, R(8), 4);
	assert_int_equal(lv_get_pending_dead(h.lv), 0);
	host_free(&h);

	/* Host 2 comes back into my ring (rebooted, out of the pool): not
	** announced dead by the timeout while it is there; its admission
	** makes it pending no more. */
	host_init_from(&h, 3, 1, 0, 7, 3, R(8), 4);
	m = state_msg(0, 8, 0, 3);
	deliver(&h, &m);
	run(&h, h.now + 2 * h.cfg.timing.restart_ms);
	assert_int_equal(h.dead, 0);
	assert_int_equal(lv_get_pending_dead(h.lv), 4);
	m = admit_msg(0, R(8), 2, 5000, 3, R(8));
	deliver(&h, &m);
	assert_int_equal(lv_get_pending_dead(h.lv), 0);
	run(&h, h.now + 2 * h.cfg.timing.restart_ms);
	assert_int_equal(h.dead, 0);
	host_free(&h);
}

/* A lost host whose slot shows a fence record is dead fence_restart_ms
** after the record was first read, sooner than the general bound; and the
** master moves off a lost master. */
static void
test_fence_record_fast_path(void **state)
{
	struct host h;
	struct lv_msg m;
	uint64_t seen;

	(void)state;
	host_init(&h, 3, 1, 1, 7);
	run(&h, 5000);
	peer_slot(&h, 0, 50, 8, 7, LS_ALIVE);
	peer_slot(&h, 2, 50, 8, 7, LS_ALIVE);
	run(&h, 5200);
	ring_change(&h, 12, 6, 1); /* {0} | {1,2} */
	m = state_msg(2, 12, 1, 7);
	deliver(&h, &m);
	/* Host 0 fences (it lost): its record is on the statefile. */
	peer_slot(&h, 0, 51, 12, 1, LS_FENCING);
	h.disk[0].fence_present = 1;
	h.disk[0].fence_reason = LS_R_LOST;
	peer_slot(&h, 2, 51, 12, 6, LS_ALIVE);
	run(&h, h.now + 2 * h.cfg.timing.cycle_ms);
	/* Host 0 gone: rule 1 for {1,2}. */
	assert_int_equal(lv_get_state(h.lv), LV_STEADY);
	assert_int_equal(h.survive_reason, LS_R_NO_PARTITION);
	assert_int_equal(h.survive_lost, 1);
	assert_int_equal(h.master, 1); /* the lost master replaced: lowest index */
	seen = h.now;
	run(&h, h.now + h.cfg.timing.fence_restart_ms + 2 * h.cfg.timing.cycle_ms);
	assert_int_equal(h.dead, 1);
	assert_true(h.dead_at[0] >= seen - 2 * h.cfg.timing.cycle_ms + h.cfg.timing.fence_restart_ms);
	assert_true(h.dead_at[0] < 5200 + h.cfg.timing.restart_ms);
	host_free(&h);
}

/* A fence record already in a slot at my first read may be of an older
** incarnation than the one now in my liveset (admitted before my engine
** started, with no storage since): it does not announce the host dead;
** only its silence does (the simulator's seed 10299 restarted a VM on a
** host that had decided to fence but not yet reset). */
static void
test_fence_record_seen_written(void **state)
{
	struct host h;
	struct lv_msg m;

	(void)state;
	host_init(&h, 3, 1, 1, 7);
	peer_slot(&h, 0, 50, 8, 1, LS_FENCED); /* there before my first read */
	h.disk[0].fence_present = 1;
	h.disk[0].fence_reason = LS_R_LOST;
	peer_slot(&h, 2, 50, 8, 7, LS_ALIVE);
	run(&h, 5200);
	ring_change(&h, 12, 6, 1); /* {0} | {1,2} */
	m = state_msg(2, 12, 1, 7);
	deliver(&h, &m);
	peer_slot(&h, 2, 51, 12, 6, LS_ALIVE);
	run(&h, h.now + 2 * h.cfg.timing.cycle_ms);
	assert_int_equal(lv_get_state(h.lv), LV_STEADY);
	assert_int_equal(h.survive_lost, 1);
	/* Past the fence record's bound: not dead -- the record is not news. */
	run(&h, h.now + h.cfg.timing.fence_restart_ms + 2 * h.cfg.timing.cycle_ms);
	assert_int_equal(h.dead, 0);
	/* Host 0's silence: dead at the restart bound. */
	run(&h, 5200 + h.cfg.timing.restart_ms + 2 * h.cfg.timing.cycle_ms);
	assert_int_equal(h.dead, 1);
	assert_true(h.dead_at[0] >= h.cfg.timing.restart_ms);
	host_free(&h);
}

/* Continuous access: failing I/O drops it at once, it comes back only after
** stale_ms of success (as the prover rule requires), and within a round the
** loss is latched and announced in a STATE. */
static void
test_access_latch(void **state)
{
	struct host h;
	unsigned i, n0;
	int announced = 0;

	(void)state;
	host_init(&h, 3, 0, 1, 7);
	run(&h, 4000);
	assert_true(lv_has_access(h.lv, h.now));
	ring_change(&h, 12, 3, 1); /* {0,1} | {2} */
	n0 = h.nsent;
	h.storage_fails = 1;
	run(&h, h.now + 3 * h.cfg.timing.cycle_ms);
	assert_false(lv_has_access(h.lv, h.now));
	for (i = n0; i < h.nsent; i++)
		if (h.sent[i % 512].type == LV_MSG_STATE && !h.sent[i % 512].u.state.access)
			announced = 1;
	assert_true(announced);
	h.storage_fails = 0;
	run(&h, h.now + 3 * h.cfg.timing.cycle_ms);
	assert_true(lv_has_access(h.lv, h.now)); /* access is back ... */
	assert_int_not_equal(lv_last_result(h.lv)->reason, LS_R_PUBLISHING);
	assert_true(lv_last_result(h.lv)->alerts & LS_ALERT_SELF_NO_STORAGE); /* ... not as a prover */
	host_free(&h);
}

static void
maint(struct host *h, uint64_t until)
{
	struct lv_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = LV_EV_MAINT;
	ev.u.maint_until = until;
	step(h, &ev);
}

/* A maintenance window: a stalled ring past any deadline does not fence; a
** host left alone with the others stale decides nobody lost and announces
** nobody dead; at the window's end the round's deadline starts again, the
** lost are decided then, and announced dead only restart_ms after the end
** plus the slack. */
static void
test_maintenance(void **state)
{
	struct host h;
	uint64_t end;

	(void)state;
	/* A stall through the window, then the deadline from its end. */
	host_init(&h, 3, 1, 1, 7);
	run(&h, 5000);
	assert_int_equal(lv_get_state(h.lv), LV_STEADY);
	end = h.now + 20000;
	maint(&h, end);
	h.cpg_stalled = 1;
	h.echo = 0;
	run(&h, end - 1);
	assert_int_equal(h.fences, 0);
	assert_int_equal(lv_get_state(h.lv), LV_ROUND);
	run(&h, end + h.cfg.timing.decide_ms - 1);
	assert_int_equal(h.fences, 0); /* the deadline counts from the end */
	run(&h, end + h.cfg.timing.decide_ms + 2 * h.cfg.timing.cycle_ms);
	assert_int_equal(h.fences, 1);
	assert_int_equal(h.fence_reason, LS_R_DEADLINE);
	host_free(&h);

	/* Alone with storage, the others stale: nobody lost in the window. */
	host_init(&h, 3, 0, 1, 7);
	run(&h, 5000);
	end = h.now + 10000;
	maint(&h, end);
	ring_change(&h, 12, 1, 0);
	run(&h, end - 1);
	assert_int_equal(h.fences + h.survives - 1, 0); /* only the start's SURVIVE */
	assert_int_equal(h.dead, 0);
	run(&h, end + h.cfg.timing.decide_ms + 1000);
	assert_int_equal(h.fences, 0);
	assert_int_equal(h.survives, 2);
	assert_int_equal(h.survive_reason, LS_R_WON);
	assert_int_equal(h.survive_lost, 6);
	assert_int_equal(h.dead, 0); /* not yet: their watchdogs were disarmed */
	run(&h, end + LV_MAINT_SLACK_MS + h.cfg.timing.restart_ms + 2 * h.cfg.timing.cycle_ms);
	assert_int_equal(h.dead, 6);
	assert_true(h.dead_at[1] >= end + LV_MAINT_SLACK_MS + h.cfg.timing.restart_ms);
	host_free(&h);
}

/* A fenced host that booted and is not admitted again (lv_config.out): it
** sends PINGs, whose counts acknowledge its ring mates' (they wait for every
** member of the group), and nothing else -- no statefile I/O (its slot keeps
** saying fenced), no STATE, no pet, no decision, no lease -- whatever it
** delivers, through ring changes and a stop. */
static struct lv_msg
admit_msg(unsigned from, struct ls_ring ring, unsigned host, uint64_t seq, uint64_t live,
          struct ls_ring prev)
{
	struct lv_msg m;

	memset(&m, 0, sizeof(m));
	m.type = LV_MSG_ADMIT;
	m.from = from;
	m.ring = ring;
	m.u.admit.host = host;
	m.u.admit.seq = seq;
	m.u.admit.live = live;
	m.u.admit.prev_ring = prev;
	return m;
}

/* Host 2 of 3, started out of the pool (seq0 as given) in ring 8 with all
** three members; hosts 0 and 1 answer its PINGs. */
static void
out_host_init(struct host *h, uint64_t seq0)
{
	struct lv_event ev;
	char err[200];
	unsigned i;

	memset(h, 0, sizeof(*h));
	h->master = -1;
	h->cfg.ls.n = 3;
	for (i = 0; i < 3; i++)
		h->cfg.ls.weight[i] = 1;
	h->cfg.ls.preferred = -1;
	h->cfg.ls.statefile = 1;
	h->cfg.self = 2;
	h->cfg.live = 7;
	h->cfg.master = -1;
	h->cfg.out = 1;
	h->cfg.seq0 = seq0;
	assert_int_equal(lv_timing_derive(30, LV_PROFILE_FAST, &h->cfg.timing, err, sizeof(err)), 0);
	h->lv = lv_new(&h->cfg, err, sizeof(err));
	assert_non_null(h->lv);
	h->now = 1000;
	memset(&ev, 0, sizeof(ev));
	ev.type = LV_EV_START;
	ev.u.ring.ring = R(8);
	ev.u.ring.members = 7;
	h->echo = 3;
	step(h, &ev);
	assert_int_equal(lv_get_state(h->lv), LV_OUT);
}

/* A host out of the pool (fenced, booted): PINGs, one FENCED write, JOINs
** every LV_JOIN_RETRY_MS carrying that write's seq -- no pet, no survive, no
** lease, whatever its ring mates say.  The master's ADMIT takes it into
** the ring seq + 1 with the master's liveset; it survives that round by
** rule 1 with itself in the liveset, and only then pets with a lease. */
static void
test_out_of_the_pool(void **state)
{
	struct host h;
	struct lv_msg v, p;
	struct lv_event ev;
	unsigned i, pings = 0, joins = 0, counted = 0;
	uint64_t jseq = 0;

	(void)state;
	out_host_init(&h, 5000);
	/* The others' verdict without me, their PINGs and STATEs: nothing. */
	memset(&v, 0, sizeof(v));
	v.type = LV_MSG_VERDICT;
	v.from = 0;
	v.ring = R(8);
	v.u.verdict.verdict = LS_SURVIVE;
	v.u.verdict.reason = LS_R_WON;
	v.u.verdict.live = 3;
	v.u.verdict.lost = 4;
	deliver(&h, &v);
	p = state_msg(1, 8, 1, 3);
	deliver(&h, &p);
	run(&h, 1000 + 10000);
	ring_change(&h, 12, 7, 1);
	run(&h, 1000 + 20000);
	assert_int_equal(lv_get_state(h.lv), LV_OUT);
	/* one write: my slot says FENCED, above my predecessor's seqs */
	assert_int_equal(h.writes, 1);
	assert_int_equal(h.disk[2].state, LS_FENCED);
	assert_int_equal(h.disk[2].seq, 5001);
	assert_false(h.disk[2].has_verdict);
	assert_int_equal(h.pets + h.fences + h.survives, 0);
	assert_false(h.io_pending);
	assert_int_equal(lv_lease(h.lv), 0);
	assert_int_equal(h.master, -1);
	for (i = 0; i < h.nsent && i < 512; i++) {
		if (h.sent[i].type == LV_MSG_JOIN) {
			joins++;
			jseq = h.sent[i].u.join.seq;
			continue;
		}
		assert_int_equal(h.sent[i].type, LV_MSG_PING);
		pings++;
		counted += h.sent[i].u.ping.count > 0;
	}
	/* a PING every ping_ms, counting what was delivered; a JOIN a second */
	assert_in_range(pings, 20000 / h.cfg.timing.ping_ms - 2, 20000 / h.cfg.timing.ping_ms + 2);
	assert_true(counted > pings / 2);
	assert_in_range(joins, 20000 / LV_JOIN_RETRY_MS - 1, 20000 / LV_JOIN_RETRY_MS + 1);
	assert_int_equal(jseq, 5001);

	/* An ADMIT of another ring, or for another host, is no admission. */
	p = admit_msg(0, R(8), 2, jseq, 3, R(8));
	deliver(&h, &p);
	assert_int_equal(lv_get_state(h.lv), LV_OUT);
	p = admit_msg(0, R(12), 1, 0, 3, R(12));
	deliver(&h, &p);
	assert_int_equal(lv_get_state(h.lv), LV_OUT);
	assert_int_equal(lv_get_ring(h.lv).seq, 13); /* every engine follows the ring */
	/* The master (0) admits me in ring 13: round of ring 14 with L = {0,1}. */
	p = admit_msg(0, R(13), 2, jseq, 3, R(13));
	deliver(&h, &p);
	assert_int_equal(lv_get_state(h.lv), LV_ROUND);
	assert_int_equal(lv_get_ring(h.lv).seq, 14);
	assert_int_equal(lv_get_live(h.lv), 3);
	assert_int_equal(h.master, 0);
	assert_int_equal(lv_lease(h.lv), 0);
	run(&h, h.now + 5000);
	assert_int_equal(lv_get_state(h.lv), LV_STEADY);
	assert_int_equal(h.survives, 1);
	assert_int_equal(h.survive_live, 7);
	assert_int_equal(h.survive_reason, LS_R_NO_PARTITION);
	assert_int_equal(lv_get_live(h.lv), 7);
	assert_int_equal(h.fences, 0);
	assert_true(h.pets > 0);
	assert_true(lv_lease(h.lv) > h.now);
	/* my slot is alive again, with the round's verdict */
	assert_int_equal(h.disk[2].state, LS_ALIVE);
	assert_true(h.disk[2].seq > jseq);
	assert_true(h.disk[2].has_verdict);
	assert_int_equal(h.disk[2].vring.seq, 14);
	assert_int_equal(h.disk[2].vlive, 7);

	memset(&ev, 0, sizeof(ev));
	ev.type = LV_EV_STOP;
	step(&h, &ev);
	assert_int_equal(lv_get_state(h.lv), LV_LEFT);
	host_free(&h);
}

/* A joiner whose admission round a corosync ring change cuts short, with no
** verdict that took it in, is out again -- not fenced (it never ran
** anything) -- says FENCED again and asks again. */
static void
test_admission_cut_short(void **state)
{
	struct host h;
	struct lv_msg p;
	unsigned i, joins = 0;

	(void)state;
	out_host_init(&h, 0);
	h.no_auto_state = 1; /* the members decide nothing before the cut */
	run(&h, 3000);
	p = admit_msg(0, R(8), 2, h.disk[2].seq, 3, R(8));
	deliver(&h, &p);
	assert_int_equal(lv_get_state(h.lv), LV_ROUND);
	run(&h, h.now + 100);
	/* corosync's next ring: the admission never completed anywhere */
	h.no_auto_state = 0;
	ring_change(&h, 12, 7, 1);
	run(&h, h.now + 3000);
	assert_int_equal(lv_get_state(h.lv), LV_OUT);
	assert_int_equal(h.fences + h.survives, 0);
	assert_int_equal(h.disk[2].state, LS_FENCED);
	h.nsent = 0;
	run(&h, h.now + 3000);
	for (i = 0; i < h.nsent; i++)
		joins += h.sent[i].type == LV_MSG_JOIN;
	assert_true(joins >= 2);
	host_free(&h);
}

/* The master's side: a JOIN of a ring mate out of the pool is answered with
** one ADMIT carrying my liveset and the ring it was agreed in; at its
** delivery every engine moves to the ring seq + 1, where rule 1 takes the
** joiner in.  Its old slot (a fence record from before its admission) no
** longer counts: cut off again at once, it is dead only after the restart
** bound, not by that record. */
static void
test_admit(void **state)
{
	struct host h;
	struct lv_msg j;
	unsigned i, admits = 0;

	(void)state;
	host_init(&h, 3, 0, 1, 7);
	run(&h, 5000);
	assert_int_equal(lv_get_state(h.lv), LV_STEADY);
	assert_int_equal(h.master, 0);
	/* host 2 is fenced: its record is on the statefile, it leaves the ring */
	peer_slot(&h, 2, 900, 8, 7, LS_FENCING);
	h.disk[2].fence_present = 1;
	h.disk[2].fence_reason = LS_R_LOST;
	run(&h, h.now + 1000);
	ring_change(&h, 10, 3, 1);
	run(&h, h.now + 20000);
	assert_int_equal(lv_get_state(h.lv), LV_STEADY);
	assert_int_equal(lv_get_live(h.lv), 3);
	assert_true(h.dead & 4);
	/* it boots, out of the pool, in corosync's ring 12 */
	ring_change(&h, 12, 7, 1);
	peer_slot(&h, 2, 1001, 12, 7, LS_FENCED);
	run(&h, h.now + 5000);
	assert_int_equal(lv_get_state(h.lv), LV_STEADY);
	assert_int_equal(lv_get_live(h.lv), 3);
	/* its JOIN: one ADMIT (a second JOIN in the same ring: none) */
	memset(&j, 0, sizeof(j));
	j.type = LV_MSG_JOIN;
	j.from = 2;
	j.ring = lv_get_ring(h.lv);
	j.u.join.seq = 1001;
	h.nsent = 0;
	deliver(&h, &j);
	deliver(&h, &j);
	for (i = 0; i < h.nsent; i++)
		if (h.sent[i].type == LV_MSG_ADMIT) {
			admits++;
			assert_int_equal(h.sent[i].u.admit.host, 2);
			assert_int_equal(h.sent[i].u.admit.seq, 1001);
			assert_int_equal(h.sent[i].u.admit.live, 3);
			assert_int_equal(h.sent[i].u.admit.prev_ring.seq, 12);
		}
	assert_int_equal(admits, 1);
	h.survives = 0;
	run(&h, h.now + 5000); /* the ADMIT is delivered: ring 13, rule 1 */
	assert_int_equal(lv_get_ring(h.lv).seq, 13);
	assert_int_equal(h.survives, 1);
	assert_int_equal(h.survive_live, 7);
	assert_int_equal(lv_get_live(h.lv), 7);
	/* Host 2 is cut off before it wrote anything new: its slot still says
	** FENCED (seq 1001, not above its JOIN's).  Not dead by that record:
	** only by the restart bound from its last message. */
	h.dead = 0;
	ring_change(&h, 16, 3, 1);
	run(&h, h.now + h.cfg.timing.fence_restart_ms + 1000);
	assert_false(h.dead & 4);
	run(&h, h.heard[2] + h.cfg.timing.restart_ms + 1000);
	assert_true(h.dead & 4);
	assert_true(h.dead_at[2] >= h.heard[2] + h.cfg.timing.restart_ms);
	host_free(&h);
}

static void
test_bad_config(void **state)
{
	struct lv_config cfg;
	char err[200];

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.ls.n = 3;
	cfg.ls.weight[0] = cfg.ls.weight[1] = cfg.ls.weight[2] = 1;
	cfg.ls.preferred = -1;
	cfg.ls.statefile = 1;
	cfg.self = 1;
	cfg.live = 5; /* self not in it */
	cfg.master = -1;
	assert_int_equal(lv_timing_derive(30, LV_PROFILE_FAST, &cfg.timing, err, sizeof(err)), 0);
	assert_null(lv_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "liveset"));
	cfg.live = 7;
	cfg.timing.stale_ms = cfg.timing.gap_ms; /* breaks T1 */
	assert_null(lv_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "unsafe timing"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_start),
	    cmocka_unit_test(test_stall_fences_at_deadline),
	    cmocka_unit_test(test_unacked_pings_are_not_fresh),
	    cmocka_unit_test(test_stall_heals),
	    cmocka_unit_test(test_rule1_waits_for_member_states),
	    cmocka_unit_test(test_member_verdict_preempts),
	    cmocka_unit_test(test_adopts_first_verdict),
	    cmocka_unit_test(test_dead_before_restart_quorum),
	    cmocka_unit_test(test_fence_record_fast_path),
	    cmocka_unit_test(test_restart_remembers_lost),
	    cmocka_unit_test(test_fence_record_seen_written),
	    cmocka_unit_test(test_access_latch),
	    cmocka_unit_test(test_maintenance),
	    cmocka_unit_test(test_out_of_the_pool),
	    cmocka_unit_test(test_admission_cut_short),
	    cmocka_unit_test(test_admit),
	    cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
