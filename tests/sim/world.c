/*
** The simulated world (docs/simulator.md): virtual real time, an event queue,
** and per host a liveness engine, a clock with a rate error, a watchdog, a
** statefile I/O path and VMs; corosync rings and CPG delivery; the faults of
** the spec; the invariants, checked after every event.
**
** Determinism: every random choice comes from one splitmix64 state seeded
** from spec->seed, in event order; the queue is a binary heap ordered by
** (time, insertion number).  Nothing reads a clock or allocates per event
** except the growth of a few arrays.
*/
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "heartbeat/liveness.h"
#include "lib/check.h"
#include "lib/xmalloc.h"
#include "tests/sim/sim.h"

enum ev_type {
	EV_START = 1,
	EV_TICK,
	EV_WD,
	EV_IO_DONE,
	EV_IO_DEADLINE,
	EV_INSTALL,
	EV_DELIVER,
	EV_FAULT,
	EV_HANG_END,
	EV_VM_START,
	EV_EXPECT,
	EV_DELAY_END,
	EV_GROUP,
	EV_PUMP,      /* agreed CPG: host delivers what it holds of ring `a` */
	EV_STALL_END, /* host's corosync resumes */
	EV_RESTART,   /* host's daemon starts again after a kill, or after its boot */
	EV_BOOT,      /* a reset host boots again (sim_spec.reboot_ms) */
};

struct ev {
	uint64_t t, seq;
	uint64_t gen;
	uint32_t a;
	uint8_t type, host;
};

/* Agreed CPG: one entry of a ring's total order (a message, or a daemon
** leaving the group: a view change, ordered like a message). */
struct amsg {
	struct lv_msg m;
	uint64_t arrive[SIM_MAX_HOSTS]; /* when each member holds it; SIM_NEVER: never */
	uint64_t recip;                 /* once the ring broke: the members that deliver it */
	uint64_t group;                 /* a view change: the new group ... */
	uint64_t view_id;               /* ... and its view, as of the change */
	int sender, view;
};

struct ring {
	uint64_t seq;
	uint32_t nodeid;
	uint64_t members, installed;
	uint64_t group; /* members whose daemon is in the CPG group (a fenced one leaves) */
	uint64_t view, view0; /* lv_ring_view.view of `group`, of `group0` */
	uint64_t group0; /* ... when the ring formed (agreed: views are in the log) */
	uint64_t formed, complete, broken; /* SIM_NEVER: not yet / intact */
	uint64_t view_at; /* its group last changed then (a daemon joined or left) */
	int parked;                        /* messages waiting for `complete`, a list */
	struct amsg *log;                  /* agreed: the ring's total order */
	uint32_t nlog, caplog;
	uint32_t next[SIM_MAX_HOSTS]; /* agreed: each member's next entry to deliver */
};

enum io_state { IO_FREE = 0, IO_RUN, IO_FROZEN, IO_DROPPED, IO_FAILED };

#define IO_MAX 32
#define SIM_TICK_LATE_MS 10 /* LV_TICK_MS of heartbeat/lv_timing.c */
#define SIM_CPG_MAX_MS   20 /* CPG latency 1..20 ms (without a delay fault) */

struct ioreq {
	int state;
	int write, fence, answered;
	uint64_t gen, id;
	uint64_t deadline; /* real; SIM_NEVER for a fence record */
	uint64_t start, done;
	struct lv_slot slot;
};

struct held {
	struct lv_event ev;
	struct lv_slot slots[SIM_MAX_HOSTS];
};

enum death { D_NONE = 0, D_POWEROFF, D_WATCHDOG, D_FENCE };

struct host {
	int powered;
	struct lv *lv;
	int fenced, ever_fenced;
	int32_t ppm;
	uint64_t off;
	uint64_t hung_until, hang_gen, last_hang_end;
	struct held *held;
	size_t nheld, capheld;
	uint64_t tick_gen, tick_at, tick_d, tick_same;
	uint64_t last_pet; /* local */
	int wd_pending;
	int stalled;    /* corosync frozen, holding the token of ... */
	int stall_ring; /* ... this ring (-1: it was broken already) */
	uint64_t stall_gen;
	int ring, target; /* installed / to be installed ring index, -1 none */
	uint64_t ring_at;  /* when `ring` was installed */
	uint64_t install_gen;
	int send_ring;
	uint64_t send_last;
	int st_mode;
	uint64_t io_busy;
	struct ioreq io[IO_MAX];
	uint64_t io_gen;
	uint64_t dead_known; /* hosts whose death the engine announced here */
	uint64_t restarting; /* hosts whose VMs this master has restarted (traced) */
	int wait_reason;
	unsigned alerts;
	uint64_t died_at;
	int death;
	uint64_t disturbed; /* first disturbance since the last SURVIVE (SIM_NEVER: none) */
	uint64_t silent_at; /* its daemon hung, fenced or its corosync stalled then (I5b) */
	/* the watchdog keeper (fencing/wdkeep.h): the greatest lease the engine
	** gave (local ms; 0: none yet, the watchdog counts every pet); a killed
	** daemon's keeper pets on until it */
	uint64_t lease;
	uint64_t kp_until; /* local: the keeper pets on its own until then (the
	                   ** daemon died), unless a FENCE stops it first */
	int down; /* the daemon is dead (killed), or not started yet after a boot */
	int booting; /* powered on: corosync runs, the daemon starts soon (EV_RESTART) */
	int unadmitted; /* booted and not admitted since (hasvcd: no liveset of this
	                ** boot, or a fence record newer than <data-dir>/fence-admitted):
	                ** its daemons start out of the pool */
	int wd_armed; /* the watchdog is armed (a booted host's: once it survives a round
	              ** with itself in the liveset, as hasvcd arms it, or it fences) */
	int restarted; /* its engine is a restarted daemon's */
	int survived;  /* ... which survived a round since its start */
	uint64_t incarnation; /* its daemon's "pid": one more at every restart */
	uint64_t saved_live; /* what the daemon keeps across a restart: its last */
	struct ls_ring saved_prev; /* agreed liveset, where, and the master */
	int saved_master;
	uint64_t restart_gen;
};

struct vm {
	int home;       /* the host it runs on, or last ran on */
	uint64_t on;    /* hosts it runs on now (I1: at most one) */
	int restart_to; /* -1, or the master restarting it */
	uint64_t gen;
};

struct pmsg {
	struct lv_msg m;
	int ring;
	int next; /* free list / parked list */
};

struct survive_rec {
	int host;
	struct ls_ring prev;
	uint64_t L, live;
	uint64_t at;
};

struct world {
	const struct sim_spec *sp;
	struct lv_timing tm;
	FILE *tr;
	struct sim_stats *st;
	struct sim_result *res;
	uint64_t rng;
	uint64_t now, seq, end;
	struct ev *heap;
	size_t nheap, capheap;
	struct host h[SIM_MAX_HOSTS];
	unsigned n;
	struct ring *rings;
	size_t nrings, caprings;
	uint64_t ringseq;
	uint8_t group[SIM_MAX_HOSTS];
	uint64_t oneway[SIM_MAX_HOSTS]; /* oneway[a] bit b: a -> b lost */
	uint64_t extra_delay, delay_off; /* delay_off: when the last delay fault ended */
	int vmslow;
	struct vm vm[SIM_MAX_VMS];
	unsigned nvm;
	struct pmsg *msgs;
	int nmsgs, capmsgs, freemsg;
	struct sim_slot {
		struct lv_slot cur, prev;
		uint64_t landed;
	} slot[SIM_MAX_HOSTS];
	struct survive_rec *surv;
	size_t nsurv, capsurv;
	struct lv_actions acts;
	unsigned reported; /* bit per invariant already reported */
	uint64_t restarts;
};

/* ---- the event queue ---- */

static void
push(struct world *w, uint64_t t, int type, int host, uint32_t a, uint64_t gen)
{
	struct ev e = {t, w->seq++, gen, a, (uint8_t)type, (uint8_t)host};
	size_t i;

	if (w->nheap == w->capheap) {
		w->capheap = w->capheap ? 2 * w->capheap : 256;
		w->heap = xreallocarray(w->heap, w->capheap, sizeof(*w->heap));
	}
	i = w->nheap++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (w->heap[p].t < e.t || (w->heap[p].t == e.t && w->heap[p].seq < e.seq))
			break;
		w->heap[i] = w->heap[p];
		i = p;
	}
	w->heap[i] = e;
}

static int
ev_less(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static struct ev
pop(struct world *w)
{
	struct ev top = w->heap[0], last = w->heap[--w->nheap];
	size_t i = 0, n = w->nheap;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && ev_less(&w->heap[c + 1], &w->heap[c]))
			c++;
		if (!ev_less(&w->heap[c], &last))
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (n > 0)
		w->heap[i] = last;
	return top;
}

static uint64_t
rnd(struct world *w, uint64_t lo, uint64_t hi) /* lo..hi */
{
	return lo + sim_rand(&w->rng, hi - lo + 1);
}

/* ---- clocks: local = off + real + real * ppm / 1e6 ---- */

static uint64_t
local_at(const struct host *h, uint64_t real)
{
	int64_t adj = (int64_t)real * h->ppm / 1000000;
	return h->off + (uint64_t)((int64_t)real + adj);
}

/* The first real time at which h's clock shows `loc` or more. */
static uint64_t
real_for(const struct host *h, uint64_t loc)
{
	uint64_t r;

	if (loc == SIM_NEVER)
		return SIM_NEVER;
	if (loc <= local_at(h, 0))
		return 0;
	r = (uint64_t)((double)(loc - h->off) * 1e6 / (1e6 + h->ppm));
	while (r > 0 && local_at(h, r - 1) >= loc)
		r--;
	while (local_at(h, r) < loc)
		r++;
	return r;
}

/* ---- the trace ---- */

static const char *const reason_short[] = {
    "none", "no-partition", "quorate", "won", "lost", "not-quorate", "no-storage",
    "await-verdict", "publishing", "await-hosts", "inconsistent", "outdated", "deadline",
    "confirming", "preempted", "adopted",
};

static const char *
rname(int r)
{
	return r >= 0 && r < (int)ARRAY_SIZE(reason_short) ? reason_short[r] : "?";
}

static char *
setstr(char *buf, size_t len, uint64_t set)
{
	size_t k = 0;
	int first = 1;

	k += (size_t)snprintf(buf + k, len - k, "{");
	for (unsigned i = 0; i < 64 && k < len; i++)
		if (set & LS_BIT(i)) {
			k += (size_t)snprintf(buf + k, len - k, "%sh%u", first ? "" : ",", i);
			first = 0;
		}
	if (k < len)
		snprintf(buf + k, len - k, "}");
	return buf;
}

static void __attribute__((format(printf, 3, 4)))
tr(struct world *w, int host, const char *fmt, ...)
{
	va_list ap;

	if (w->tr == NULL)
		return;
	if (host >= 0)
		fprintf(w->tr, "%6" PRIu64 ".%03" PRIu64 "  h%-2d ", w->now / 1000, w->now % 1000, host);
	else
		fprintf(w->tr, "%6" PRIu64 ".%03" PRIu64 "  --  ", w->now / 1000, w->now % 1000);
	va_start(ap, fmt);
	vfprintf(w->tr, fmt, ap);
	va_end(ap);
	fputc('\n', w->tr);
}

enum { I1 = 1, I2 = 2, I3 = 4, I3B = 8, I4 = 16, I5 = 32, IENG = 64 };

static void __attribute__((format(printf, 3, 4)))
violation(struct world *w, unsigned which, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->reported & which)
		return; /* one report per invariant and run: the first is the story */
	w->reported |= which;
	w->res->violations++;
	if (w->res->first[0] == '\0')
		snprintf(w->res->first, sizeof(w->res->first), "t=%" PRIu64 "ms seed %" PRIu64 ": %s",
		         w->now, w->sp->seed, msg);
	if (which & (I1 | I2 | I3 | I3B | I4) && w->res->unsafe++ == 0)
		snprintf(w->res->first_unsafe, sizeof(w->res->first_unsafe),
		         "t=%" PRIu64 "ms seed %" PRIu64 ": %s", w->now, w->sp->seed, msg);
	if (w->tr != NULL)
		fprintf(w->tr, "%6" PRIu64 ".%03" PRIu64 "  !!  VIOLATION %s (seed %" PRIu64 ")\n",
		        w->now / 1000, w->now % 1000, msg, w->sp->seed);
}

/* ---- hosts ---- */

static int
in_pool(const struct host *h)
{
	return h->powered && h->lv != NULL;
}

static int
running_engine(const struct host *h)
{
	return in_pool(h) && !h->fenced && !h->down;
}

static void recompute_rings(struct world *w);
static void leave_group(struct world *w, int h);
static struct lv *make_engine(struct world *w, unsigned h, uint64_t seq0, int out, char *why,
                              size_t whylen);
static void save_liveset(struct world *w, int h);
static void pump(struct world *w, int k, int r);
static void host_step(struct world *w, int h, const struct lv_event *ev);

static void
io_clear(struct host *hp, int keep_fence)
{
	for (int i = 0; i < IO_MAX; i++)
		if (hp->io[i].state != IO_FREE && !(keep_fence && hp->io[i].fence)) {
			hp->io[i].state = IO_FREE;
			hp->io[i].gen = ++hp->io_gen;
		}
}

static void
kill_host(struct world *w, int h, int cause)
{
	struct host *hp = &w->h[h];

	if (!hp->powered)
		return;
	hp->powered = 0;
	hp->died_at = w->now;
	hp->death = cause;
	if (cause != D_POWEROFF) {
		w->st->resets++;
		tr(w, h, cause == D_WATCHDOG ? "watchdog reset" : "reset (fence)");
	}
	for (unsigned v = 0; v < w->nvm; v++) {
		w->vm[v].on &= ~LS_BIT(h);
		if (w->vm[v].restart_to == h) {
			w->vm[v].restart_to = -1;
			w->vm[v].gen++;
		}
	}
	lv_free(hp->lv);
	hp->lv = NULL;
	hp->lease = 0;
	hp->kp_until = 0;
	hp->down = 0;
	hp->restart_gen++;
	hp->nheld = 0;
	hp->hung_until = 0;
	hp->ring = hp->target = -1;
	hp->stalled = 0;
	hp->stall_gen++;
	hp->tick_at = SIM_NEVER;
	hp->booting = 0;
	hp->saved_live = 0; /* hasvcd keeps it for this boot only */
	io_clear(hp, 1); /* a fence record already on its way may still land */
	recompute_rings(w);
	if (cause != D_POWEROFF && w->sp->reboot_ms != 0)
		push(w, w->now + w->sp->reboot_ms, EV_BOOT, h, 0, 0);
}

/* Host h boots (power on, or the reboot after a reset): its corosync joins
** at once, its daemon starts 0.3 - 2 s later (EV_RESTART) -- out of the pool
** if the host was fenced or reset by its watchdog (hasvcd finds a local
** fence record: docs/fencing.md), else a cold start.  It comes back without
** VMs and with its watchdog disarmed. */
static void
boot_host(struct world *w, int h)
{
	struct host *hp = &w->h[h];
	char why[200];

	if (hp->powered)
		return;
	hp->lv = make_engine(w, (unsigned)h, 0, 0, why, sizeof(why)); /* a stand-in until its start */
	if (NEVER(hp->lv == NULL)) {
		violation(w, IENG, "h%d: engine at boot: %s", h, why);
		return;
	}
	hp->powered = 1;
	hp->fenced = 0;
	hp->down = 1;
	hp->booting = 1;
	hp->wd_armed = 0;
	hp->lease = hp->kp_until = 0;
	hp->last_pet = local_at(hp, w->now);
	hp->hung_until = 0;
	hp->nheld = 0;
	hp->tick_at = SIM_NEVER;
	hp->tick_gen++;
	recompute_rings(w);
	push(w, w->now + rnd(w, 300, 2000), EV_RESTART, h, 0, ++hp->restart_gen);
}

/* Deliver an engine event to h now, or hold it while its daemon hangs. */
static void
feed(struct world *w, int h, const struct lv_event *ev)
{
	struct host *hp = &w->h[h];

	if (!running_engine(hp))
		return;
	if (w->now < hp->hung_until) {
		struct held *x;
		if (hp->nheld == hp->capheld) {
			hp->capheld = hp->capheld ? 2 * hp->capheld : 64;
			hp->held = xreallocarray(hp->held, hp->capheld, sizeof(*hp->held));
		}
		x = &hp->held[hp->nheld++];
		x->ev = *ev;
		if (ev->type == LV_EV_READ && ev->u.io.slots != NULL) {
			memcpy(x->slots, ev->u.io.slots, w->n * sizeof(x->slots[0]));
			x->ev.u.io.slots = x->slots;
		}
		return;
	}
	host_step(w, h, ev);
}

static void
schedule_tick(struct world *w, int h)
{
	struct host *hp = &w->h[h];
	uint64_t d, r;

	if (!running_engine(hp) || w->now < hp->hung_until)
		return;
	d = lv_next_deadline(hp->lv);
	if (d == hp->tick_d && hp->tick_at != SIM_NEVER)
		return; /* already scheduled for that deadline */
	hp->tick_d = d;
	/* A timer fires up to SIM_TICK_LATE_MS late (the derivation's tick). */
	r = real_for(hp, d);
	if (r != SIM_NEVER)
		r += rnd(w, 0, SIM_TICK_LATE_MS);
	if (r != SIM_NEVER && r < w->now)
		r = w->now;
	if (r == w->now && hp->tick_same > 1000)
		r = w->now + 1; /* a spinning engine (reported): let time move on */
	if (r == hp->tick_at)
		return;
	hp->tick_at = r;
	hp->tick_gen++;
	if (r != SIM_NEVER)
		push(w, r, EV_TICK, h, 0, hp->tick_gen);
}

/* The last pet by `local` (the engine's, or the keeper's own until
** kp_until). */
static uint64_t
wd_last(const struct host *hp, uint64_t local)
{
	uint64_t k = hp->kp_until < local ? hp->kp_until : local;

	return k > hp->last_pet ? k : hp->last_pet;
}

static void
schedule_wd(struct world *w, int h)
{
	struct host *hp = &w->h[h];
	uint64_t last;

	if (hp->wd_pending)
		return;
	hp->wd_pending = 1;
	last = wd_last(hp, local_at(hp, w->now));
	if (hp->kp_until > last)
		last = hp->kp_until; /* the keeper pets until then */
	push(w, real_for(hp, last + w->tm.wd_ms), EV_WD, h, 0, 0);
}

/* ---- the statefile ---- */

static struct ioreq *
io_alloc(struct world *w, int h)
{
	struct host *hp = &w->h[h];

	for (int i = 0; i < IO_MAX; i++)
		if (hp->io[i].state == IO_FREE) {
			memset(&hp->io[i], 0, sizeof(hp->io[i]));
			hp->io[i].gen = ++hp->io_gen;
			return &hp->io[i];
		}
	violation(w, IENG, "h%d has more than %d statefile requests outstanding", h, IO_MAX);
	return NULL;
}

static uint64_t
io_latency(struct world *w, int h)
{
	uint64_t d = w->tm.io_deadline_ms;

	if (w->h[h].st_mode == SIM_ST_SLOW)
		return rnd(w, d / 2, d + d / 4);
	return rnd(w, 1, 20);
}

static void
io_issue(struct world *w, int h, const struct lv_action *a, int write, int fence)
{
	struct host *hp = &w->h[h];
	struct ioreq *r = io_alloc(w, h);
	int idx;

	if (r == NULL)
		return;
	idx = (int)(r - hp->io);
	r->write = write;
	r->fence = fence;
	r->id = a->id;
	r->deadline = fence ? SIM_NEVER : real_for(hp, a->deadline);
	if (write)
		r->slot = a->slot;
	r->start = w->now;
	switch (hp->st_mode) {
	case SIM_ST_ERROR:
		r->state = IO_FAILED;
		push(w, w->now, EV_IO_DONE, h, (uint32_t)idx, r->gen);
		return;
	case SIM_ST_HANG:
		r->state = IO_DROPPED;
		if (fence)
			r->state = IO_FREE;
		else
			push(w, r->deadline, EV_IO_DEADLINE, h, (uint32_t)idx, r->gen);
		return;
	default:
		break;
	}
	r->state = IO_RUN;
	r->start = hp->io_busy > w->now ? hp->io_busy : w->now;
	r->done = r->start + io_latency(w, h);
	hp->io_busy = r->done;
	push(w, r->done, EV_IO_DONE, h, (uint32_t)idx, r->gen);
	if (r->done > r->deadline)
		push(w, r->deadline, EV_IO_DEADLINE, h, (uint32_t)idx, r->gen);
}

static void
io_answer(struct world *w, int h, struct ioreq *r, int ok, const struct lv_slot *slots)
{
	struct lv_event ev;

	r->answered = 1;
	if (r->fence)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = r->write ? LV_EV_WRITTEN : LV_EV_READ;
	ev.u.io.id = r->id;
	ev.u.io.ok = ok;
	ev.u.io.slots = ok ? slots : NULL;
	feed(w, h, &ev);
}

static void
ev_io_done(struct world *w, int h, uint32_t idx, uint64_t gen)
{
	struct host *hp = &w->h[h];
	struct ioreq *r = &hp->io[idx];
	struct lv_slot slots[SIM_MAX_HOSTS];
	int ok;

	if (r->gen != gen || r->state == IO_FREE)
		return;
	if (r->state == IO_FAILED) {
		if (!r->answered)
			io_answer(w, h, r, 0, NULL);
		r->state = IO_FREE;
		return;
	}
	if (r->state != IO_RUN)
		return;
	if (r->write) {
		w->slot[h].prev = w->slot[h].cur;
		w->slot[h].cur = r->slot;
		w->slot[h].landed = w->now;
	} else {
		/* Each sector is linearizable; the whole read is not atomic: every
		** slot shows its content at its own instant in [start, done]. */
		for (unsigned j = 0; j < w->n; j++) {
			uint64_t u = rnd(w, r->start, r->done);
			slots[j] = w->slot[j].landed <= u ? w->slot[j].cur : w->slot[j].prev;
		}
	}
	ok = w->now <= r->deadline && !r->answered;
	r->state = IO_FREE;
	if (!r->answered && hp->powered)
		io_answer(w, h, r, ok, slots);
}

static void
ev_io_deadline(struct world *w, int h, uint32_t idx, uint64_t gen)
{
	struct ioreq *r = &w->h[h].io[idx];

	if (r->gen != gen || r->state == IO_FREE || r->answered)
		return;
	io_answer(w, h, r, 0, NULL);
	if (r->state == IO_DROPPED)
		r->state = IO_FREE;
}

static void
storage_mode(struct world *w, int h, int mode)
{
	struct host *hp = &w->h[h];
	int old = hp->st_mode;

	hp->st_mode = mode;
	if (mode == SIM_ST_HANG && old != SIM_ST_HANG) {
		/* The request in progress freezes; the queued ones never run. */
		for (int i = 0; i < IO_MAX; i++) {
			struct ioreq *r = &hp->io[i];
			if (r->state != IO_RUN || r->done <= w->now)
				continue;
			r->gen = ++hp->io_gen;
			r->state = r->start <= w->now ? IO_FROZEN : IO_DROPPED;
			if (r->fence && r->state == IO_DROPPED)
				r->state = IO_FREE;
			else if (!r->answered && !r->fence)
				push(w, r->deadline > w->now ? r->deadline : w->now, EV_IO_DEADLINE, h,
				     (uint32_t)i, r->gen);
		}
		hp->io_busy = w->now;
	} else if (old == SIM_ST_HANG && mode != SIM_ST_HANG) {
		for (int i = 0; i < IO_MAX; i++) {
			struct ioreq *r = &hp->io[i];
			if (r->state != IO_FROZEN)
				continue;
			r->state = IO_RUN;
			r->done = (hp->io_busy > w->now ? hp->io_busy : w->now) + rnd(w, 1, 20);
			hp->io_busy = r->done;
			push(w, r->done, EV_IO_DONE, h, (uint32_t)i, r->gen);
		}
	}
}

/* ---- membership ---- */

static int
reaches(const struct world *w, int a, int b)
{
	return w->group[a] == w->group[b] && !(w->oneway[a] & LS_BIT(b)) &&
	       !(w->oneway[b] & LS_BIT(a));
}

static void
disturb(struct world *w, int h)
{
	if (w->h[h].disturbed == SIM_NEVER)
		w->h[h].disturbed = w->now;
}

/* A silent daemon (hung or fenced) stalls its ring mates too: their PINGs
** wait for its acknowledgement to become stable. */
static void
disturb_ring(struct world *w, int h)
{
	disturb(w, h);
	for (unsigned g = 0; g < w->n; g++)
		if (w->h[h].ring >= 0 && w->h[g].ring == w->h[h].ring)
			disturb(w, (int)g);
}

/* hasvcd's view id: a hash of the group's processes (host, incarnation). */
static uint64_t
view_of(const struct world *w, uint64_t group)
{
	uint64_t x = 0xcbf29ce484222325ull;

	for (unsigned h = 0; h < w->n; h++)
		if (group & LS_BIT(h)) {
			x = (x ^ (h + 1)) * 0x100000001b3ull;
			x = (x ^ w->h[h].incarnation) * 0x100000001b3ull;
		}
	return x;
}

static int
new_ring(struct world *w, uint64_t members)
{
	struct ring *r;

	if (w->nrings == w->caprings) {
		w->caprings = w->caprings ? 2 * w->caprings : 32;
		w->rings = xreallocarray(w->rings, w->caprings, sizeof(*w->rings));
	}
	r = &w->rings[w->nrings];
	memset(r, 0, sizeof(*r));
	w->ringseq += LV_RING_SPAN; /* hasvcd's numbering: admissions fit between */
	r->seq = w->ringseq;
	r->nodeid = (uint32_t)__builtin_ctzll(members) + 1;
	r->members = members;
	r->group = r->group0 = members;
	for (unsigned h = 0; h < w->n; h++)
		if (w->h[h].down) { /* no daemon, no CPG member */
			r->group0 &= ~LS_BIT(h);
			r->group = r->group0;
		}
	r->view = r->view0 = view_of(w, r->group0);
	r->formed = w->now;
	r->complete = r->broken = SIM_NEVER;
	r->parked = -1;
	return (int)w->nrings++;
}

/*
** Agreed CPG: ring r broke now.  Extended virtual synchrony, no more: the
** members that move on together (into one new ring, or a stalled corosync
** alone) deliver the same messages of r, in r's order, before their next
** ring: every message that one of them holds (its sender always does; any
** member once it arrived there), recovered among them; the others skip it.
** Deliveries are pumped at once (EV_PUMP), never from inside a step.
*/
static void
ring_break(struct world *w, int r, const uint64_t *want, int nwant)
{
	struct ring *R = &w->rings[r];
	uint64_t side[SIM_MAX_HOSTS];
	uint32_t from = R->nlog;

	for (unsigned h = 0; h < w->n; h++) {
		side[h] = w->h[h].stalled && in_pool(&w->h[h]) ? LS_BIT(h) : 0;
		for (int k = 0; k < nwant; k++)
			if (want[k] & LS_BIT(h))
				side[h] = want[k];
		side[h] &= R->members;
		if ((R->members & LS_BIT(h)) && R->next[h] < from)
			from = R->next[h];
	}
	for (uint32_t i = from; i < R->nlog; i++) {
		struct amsg *e = &R->log[i];
		uint64_t holders = LS_BIT(e->sender);
		for (unsigned h = 0; h < w->n; h++)
			if (e->arrive[h] <= w->now)
				holders |= LS_BIT(h);
		e->recip = 0;
		for (; holders; holders &= holders - 1)
			e->recip |= side[__builtin_ctzll(holders)];
	}
	for (uint64_t m = R->members; m; m &= m - 1)
		push(w, w->now, EV_PUMP, __builtin_ctzll(m), (uint32_t)r, 0);
}

/*
** Hosts in the pool with corosync up are assigned to rings greedily in index
** order: a host joins the first ring all of whose members it reaches both
** ways, else starts a new one.  An unchanged ring (same members, intact)
** keeps its id; every other ring of the old structure breaks now, and the
** new ones are installed at each member after D + jitter.
*/
static void
recompute_rings(struct world *w)
{
	uint64_t want[SIM_MAX_HOSTS];
	int nwant = 0, keep[SIM_MAX_HOSTS];
	uint64_t D = rnd(w, w->tm.token_ms, w->tm.token_ms + w->tm.consensus_ms + 150);

	for (unsigned h = 0; h < w->n; h++) {
		int k;
		if (!in_pool(&w->h[h]) || w->h[h].stalled)
			continue;
		for (k = 0; k < nwant; k++) {
			uint64_t m = want[k];
			int ok = 1;
			while (m && ok) {
				int o = __builtin_ctzll(m);
				m &= m - 1;
				ok = reaches(w, (int)h, o);
			}
			if (ok)
				break;
		}
		if (k == nwant)
			want[nwant++] = 0;
		want[k] |= LS_BIT(h);
	}
	for (int k = 0; k < nwant; k++) {
		keep[k] = -1;
		for (size_t i = 0; i < w->nrings; i++)
			if (w->rings[i].broken == SIM_NEVER && w->rings[i].members == want[k])
				keep[k] = (int)i;
	}
	for (size_t i = 0; i < w->nrings; i++) {
		int kept = 0;
		for (int k = 0; k < nwant; k++)
			kept |= keep[k] == (int)i;
		if (!kept && w->rings[i].broken == SIM_NEVER) {
			w->rings[i].broken = w->now;
			for (unsigned h = 0; h < w->n; h++)
				if (w->h[h].ring == (int)i)
					disturb(w, (int)h);
			if (w->sp->cpg == SIM_CPG_AGREED)
				ring_break(w, (int)i, want, nwant);
		}
	}
	for (int k = 0; k < nwant; k++) {
		int r;
		if (keep[k] >= 0)
			continue;
		r = new_ring(w, want[k]);
		for (uint64_t m = want[k]; m; m &= m - 1) {
			int h = __builtin_ctzll(m);
			w->h[h].target = r;
			w->h[h].install_gen++;
			push(w, w->now + D + rnd(w, 0, 30), EV_INSTALL, h, (uint32_t)r, w->h[h].install_gen);
		}
	}
}

static struct lv_ring_view
ring_view(const struct world *w, int r)
{
	struct lv_ring_view v;

	memset(&v, 0, sizeof(v));
	v.ring.seq = w->rings[r].seq;
	v.ring.nodeid = w->rings[r].nodeid;
	v.members = w->rings[r].members;
	v.group = w->rings[r].group;
	v.view = w->rings[r].view;
	v.quorate = 2 * (unsigned)__builtin_popcountll(v.members) > w->n;
	return v;
}

static void
ev_install(struct world *w, int h, uint32_t r, uint64_t gen)
{
	struct host *hp = &w->h[h];
	struct ring *R = &w->rings[r];
	struct lv_event ev;
	char s[80];

	if (gen != hp->install_gen || !in_pool(hp) || hp->target != (int)r || hp->stalled)
		return;
	hp->ring = (int)r;
	hp->ring_at = w->now;
	R->installed |= LS_BIT(h);
	if (hp->down && (R->group & LS_BIT(h))) {
		/* The ring formed while the daemon was alive; it died since:
		** corosync tells the group in this ring too. */
		leave_group(w, h);
		R = &w->rings[r];
	}
	tr(w, h, "ring %" PRIu64 ":%u %s", R->seq, R->nodeid, setstr(s, sizeof(s), R->members));
	if (R->installed == R->members && R->complete == SIM_NEVER) {
		R->complete = w->now;
		for (int m = R->parked; m >= 0; m = w->msgs[m].next)
			push(w, w->now, EV_DELIVER, 0, (uint32_t)m, 0);
		R->parked = -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = LV_EV_RING;
	ev.u.ring = ring_view(w, (int)r);
	if (w->sp->cpg == SIM_CPG_AGREED) {
		/* Views after this one are in the ring's log, in order. */
		ev.u.ring.group = R->group0;
		ev.u.ring.view = R->view0;
		feed(w, h, &ev);
		pump(w, h, (int)r);
		return;
	}
	feed(w, h, &ev);
}

/* A daemon left the CPG group of ring r (the ring itself is unchanged):
** the members that have it installed get the new view. */
static void
ev_group(struct world *w, int r)
{
	struct lv_event ev;

	if (w->rings[r].broken != SIM_NEVER)
		return;
	for (uint64_t m = w->rings[r].installed & w->rings[r].group; m; m &= m - 1) {
		int h = __builtin_ctzll(m);

		if (w->h[h].ring != r)
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.type = LV_EV_RING;
		ev.u.ring = ring_view(w, r); /* re-read: a feed may add rings */
		feed(w, h, &ev);
	}
}

/* ---- CPG ---- */

static void
msg_free(struct world *w, int m)
{
	w->msgs[m].next = w->freemsg;
	w->freemsg = m;
}

/*
** Agreed CPG (docs/simulator.md): the entry goes to the end of the sender's
** ring's total order; the sender holds it after 0..2 ms, every other member
** after its latency (+ the delay fault).  A member delivers the entries in
** order, each once it holds it and every earlier one (pump()).  `msg` NULL:
** a view change (the sender's daemon left the group; `group` is the new one).
*/
static void
cpg_send_agreed(struct world *w, int h, const struct lv_msg *msg, uint64_t group)
{
	struct host *hp = &w->h[h];
	struct ring *R;
	struct amsg *e;
	int r = hp->ring;

	if (r < 0)
		return;
	R = &w->rings[r];
	if (R->broken != SIM_NEVER && !(hp->stalled && hp->stall_ring == r))
		return; /* the token is lost: nothing goes out any more */
	if (R->nlog == R->caplog) {
		R->caplog = R->caplog ? 2 * R->caplog : 64;
		R->log = xreallocarray(R->log, R->caplog, sizeof(*R->log));
	}
	e = &R->log[R->nlog++];
	memset(e, 0, sizeof(*e));
	if (msg != NULL)
		e->m = *msg;
	e->view = msg == NULL;
	e->group = group;
	e->view_id = view_of(w, group);
	e->sender = h;
	for (unsigned k = 0; k < w->n; k++)
		e->arrive[k] = SIM_NEVER;
	if (R->broken != SIM_NEVER) {
		/* A stalled corosync still holds the token: it sends this, and
		** delivers it to itself, when it resumes; nobody else will. */
		e->recip = LS_BIT(h);
		return;
	}
	for (uint64_t m = R->members; m; m &= m - 1) {
		int k = __builtin_ctzll(m);
		e->arrive[k] = w->now + (k == h ? rnd(w, 0, 2)
		                                 : rnd(w, 1, SIM_CPG_MAX_MS) + w->extra_delay);
		push(w, e->arrive[k], EV_PUMP, k, (uint32_t)r, 0);
	}
}

/* Agreed CPG: k delivers, in ring r's order, every entry it holds with all
** the earlier ones; in a broken ring, its share of the rest at once. */
static void
pump(struct world *w, int k, int r)
{
	for (;;) {
		struct host *hp = &w->h[k];
		struct ring *R = &w->rings[r]; /* re-read: a step may add rings */
		struct amsg e;
		struct lv_event ev;

		if (hp->ring != r || hp->stalled || !running_engine(hp) || R->next[k] >= R->nlog)
			return;
		if (R->broken == SIM_NEVER && R->log[R->next[k]].arrive[k] > w->now)
			return;
		e = R->log[R->next[k]++]; /* a copy: a step may grow the log */
		if (R->broken != SIM_NEVER && !(e.recip & LS_BIT(k)))
			continue;
		memset(&ev, 0, sizeof(ev));
		if (e.view) {
			ev.type = LV_EV_RING;
			ev.u.ring = ring_view(w, r);
			ev.u.ring.group = e.group;
			ev.u.ring.view = e.view_id;
		} else {
			ev.type = LV_EV_DELIVER;
			ev.u.msg = e.m;
		}
		feed(w, k, &ev);
	}
}

static void
cpg_send(struct world *w, int h, const struct lv_msg *msg)
{
	struct host *hp = &w->h[h];
	struct ring *R;
	uint64_t t;
	int m;

	if (w->sp->cpg == SIM_CPG_AGREED) {
		cpg_send_agreed(w, h, msg, 0);
		return;
	}
	if (hp->ring < 0 || w->rings[hp->ring].broken != SIM_NEVER)
		return; /* the delivery stall: nothing moves in a broken ring */
	R = &w->rings[hp->ring];
	if (w->freemsg < 0) {
		int old = w->capmsgs;
		w->capmsgs = old ? 2 * old : 64;
		w->msgs = xreallocarray(w->msgs, (size_t)w->capmsgs, sizeof(*w->msgs));
		for (int i = w->capmsgs - 1; i >= old; i--)
			msg_free(w, i);
	}
	m = w->freemsg;
	w->freemsg = w->msgs[m].next;
	w->msgs[m].m = *msg;
	w->msgs[m].ring = hp->ring;
	w->msgs[m].next = -1;
	t = w->now + rnd(w, 1, SIM_CPG_MAX_MS) + w->extra_delay;
	if (hp->send_ring == hp->ring && t < hp->send_last)
		t = hp->send_last; /* per-sender FIFO */
	hp->send_ring = hp->ring;
	hp->send_last = t;
	(void)R;
	push(w, t, EV_DELIVER, 0, (uint32_t)m, 0);
}

static void
ev_deliver(struct world *w, int m)
{
	struct pmsg *p = &w->msgs[m];
	struct ring *R = &w->rings[p->ring];
	struct lv_event ev;
	uint64_t members = R->members;

	if (R->broken != SIM_NEVER) {
		msg_free(w, m);
		return;
	}
	if (R->complete == SIM_NEVER) {
		/* Park it, keeping the order. */
		int *q = &R->parked;
		while (*q >= 0)
			q = &w->msgs[*q].next;
		*q = m;
		p->next = -1;
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = LV_EV_DELIVER;
	ev.u.msg = p->m;
	for (uint64_t mm = members; mm; mm &= mm - 1)
		feed(w, __builtin_ctzll(mm), &ev); /* may add rings: R may move */
	msg_free(w, m);
}

/* ---- VMs ---- */

static void
restart_vms(struct world *w, int x)
{
	struct host *hp = &w->h[x];
	uint64_t dead = hp->dead_known;
	uint64_t delay = w->vmslow ? 5000 : 500;

	for (uint64_t d = dead; d; d &= d - 1) {
		int h = __builtin_ctzll(d);
		char names[256];
		size_t k = 0;
		names[0] = '\0';
		for (unsigned v = 0; v < w->nvm; v++) {
			struct vm *vm = &w->vm[v];
			if (vm->home != h || vm->restart_to >= 0 || h == x)
				continue;
			vm->restart_to = x;
			vm->gen++;
			push(w, w->now + delay, EV_VM_START, x, v, vm->gen);
			if (k < sizeof(names))
				k += (size_t)snprintf(names + k, sizeof(names) - k, "%svm%u",
				                      k ? "," : "", v);
		}
		if (k > 0)
			tr(w, x, "h%d is dead: restarting %s", h, names);
	}
}

static void
ev_vm_start(struct world *w, unsigned v, uint64_t gen)
{
	struct vm *vm = &w->vm[v];
	int x = vm->restart_to, from = vm->home;

	if (gen != vm->gen || x < 0)
		return;
	vm->restart_to = -1;
	if (!w->h[x].powered)
		return;
	/* I2: the incarnation of `from` that ran it must be dead (a host powered
	** on again comes back empty, out of the pool). */
	if (w->h[from].powered && (vm->on & LS_BIT(from)))
		violation(w, I2, "vm%u restarted on h%d while h%d, where it runs, is alive", v, x, from);
	else if (vm->on & ~LS_BIT(x))
		violation(w, I1, "vm%u runs on two hosts at once (h%d and h%d)", v, x,
		          __builtin_ctzll(vm->on & ~LS_BIT(x)));
	vm->on |= LS_BIT(x);
	vm->home = x;
	w->restarts++;
	w->st->restarts++;
	tr(w, x, "vm%u running (was on h%d)", v, from);
	if (w->h[from].death == D_POWEROFF) {
		struct sim_stats *st = w->st;
		if (st->ndelay == st->capdelay) {
			st->capdelay = st->capdelay ? 2 * st->capdelay : 256;
			st->delay = xreallocarray(st->delay, st->capdelay, sizeof(*st->delay));
		}
		st->delay[st->ndelay++] = w->now - w->h[from].died_at;
		if (w->now - w->h[from].died_at > st->max_delay) {
			st->max_delay = w->now - w->h[from].died_at;
			st->max_delay_seed = w->sp->seed;
		}
	}
}

/* ---- the engine step and its actions ---- */

static int
slot_gone(const struct world *w, int h)
{
	const struct lv_slot *s = &w->slot[h].cur;
	return s->valid && s->fence_present;
}

/* I5: a fence for lack of a decision, of storage or of quorum while the
** host's ring holds its whole liveset (hosts powered off with a fence
** record on the statefile aside) and has been intact and complete for
** T_decide, with no CPG delay fault and no daemon hang in that time. */
static void
check_false_fence(struct world *w, int h, const struct lv_action *a, uint64_t L)
{
	struct host *hp = &w->h[h];
	const struct ring *R;
	uint64_t need = L, span = w->tm.decide_ms + w->tm.decide_ms / 500 + 1;

	if (a->reason != LS_R_DEADLINE && a->reason != LS_R_NO_STORAGE &&
	    a->reason != LS_R_NOT_QUORATE)
		return;
	/* I5b: a round starts at the earliest S - (2p + 2 delta + tick) after a
	** disturbance (docs/protocol.md, "The fresh ring": the last stable PING
	** was sent at most that long before; delta here is 20 ms): no deadline
	** can pass before that + T_decide (less timer lateness and drift). */
	{
		uint64_t early = (uint64_t)w->tm.fresh_ms + w->tm.decide_ms;
		uint64_t slack = 2 * (uint64_t)w->tm.ping_ms + 2 * SIM_CPG_MAX_MS +
		                 3 * SIM_TICK_LATE_MS + w->tm.decide_ms / 500 + 1;
		/* A view change (a daemon joined or left the group) restarts
		** the delivery count: the first PING stable in the new view can
		** take one more ping period and delivery (a daemon that starts
		** in an admission's ring acknowledges only from its first message
		** of it on). */
		if (hp->ring >= 0 && hp->disturbed != SIM_NEVER &&
		    w->rings[hp->ring].view_at + 2 * (uint64_t)w->tm.ping_ms + 2 * SIM_CPG_MAX_MS >
		        hp->disturbed && w->rings[hp->ring].view_at <= hp->disturbed)
			slack += w->tm.ping_ms + SIM_CPG_MAX_MS;
		early = early > slack ? early - slack : 0;
		/* A CPG delay beyond delta delays stability itself: no bound. */
		/* ... nor after it, while freshness gained under it lasts. */
		int delayed = w->extra_delay > 0 ||
		              (w->delay_off && w->delay_off + span + w->tm.fresh_ms > w->now);
		if (!delayed && (hp->disturbed == SIM_NEVER || w->now < hp->disturbed + early)) {
			if (hp->disturbed == SIM_NEVER)
				violation(w, I5, "h%d fenced (%s) with no disturbance since its last SURVIVE",
				          h, rname(a->reason));
			else
				violation(w, I5, "h%d fenced (%s) %" PRIu64 " ms after the first disturbance "
				          "since its last SURVIVE: no deadline can have passed", h,
				          rname(a->reason), w->now - hp->disturbed);
			return;
		}
	}
	if (hp->ring < 0)
		return;
	R = &w->rings[hp->ring];
	for (unsigned g = 0; g < w->n; g++)
		if ((L & LS_BIT(g)) && !w->h[g].powered && slot_gone(w, (int)g))
			need &= ~LS_BIT(g);
	if ((R->members & need) != need || R->broken != SIM_NEVER || R->complete == SIM_NEVER)
		return;
	if (w->now < R->complete + span || w->now < hp->ring_at + span)
		return;
	if (hp->last_hang_end + span > w->now)
		return;
	if (w->extra_delay > 0 || (w->delay_off && w->delay_off + span > w->now))
		return;
	if (!w->sp->statefile && !ring_view(w, hp->ring).quorate)
		return;
	violation(w, I5, "h%d fenced (%s) although its ring %" PRIu64 " has held its whole liveset "
	          "for %" PRIu64 " ms", h, rname(a->reason), R->seq, w->now - R->complete);
}

static void
record_survive(struct world *w, int h, struct ls_ring prev, uint64_t L, uint64_t live,
               int reason)
{
	uint64_t runnable = 0;
	struct survive_rec *s;
	struct ls_ring now_ring = lv_get_ring(w->h[h].lv);

	/* A SURVIVE in the ring L was agreed in (the engine re-checks a ring
	** that stalled and recovered) closes no round. */
	if (now_ring.seq == prev.seq && now_ring.nodeid == prev.nodeid)
		return;
	/* A restarted engine knows no round before its first SURVIVE (its
	** prev ring is 0): it adopts or catches up with its members' verdict,
	** whose deciders recorded the round. */
	if (w->h[h].restarted && prev.seq == 0)
		return;
	/* Nor does the first SURVIVE of a restarted engine that adopts a
	** member's verdict: rounds may have ended while it was down (an
	** admission's among them), and the verdict it takes is of the ring it
	** is in, recorded by its decider under that round's own prev ring. */
	if (w->h[h].restarted && !w->h[h].survived && reason == LS_R_ADOPTED)
		return;

	for (unsigned g = 0; g < w->n; g++)
		if (running_engine(&w->h[g]))
			runnable |= LS_BIT(g);
	/* I3: one round (same prev_ring and L) has one outcome; hosts that are
	** dead or fenced since do not count. */
	for (size_t i = 0; i < w->nsurv; i++) {
		s = &w->surv[i];
		if (s->prev.seq != prev.seq || s->prev.nodeid != prev.nodeid || s->L != L)
			continue;
		if (((s->live ^ live) & runnable) != 0 && running_engine(&w->h[s->host])) {
			char a[80], b[80];
			violation(w, I3, "two survivors of one round (prev ring %" PRIu64 "): h%d with %s "
			          "and h%d with %s", prev.seq, s->host, setstr(a, sizeof(a), s->live), h,
			          setstr(b, sizeof(b), live));
		}
	}
	if (w->nsurv == w->capsurv) {
		w->capsurv = w->capsurv ? 2 * w->capsurv : 64;
		w->surv = xreallocarray(w->surv, w->capsurv, sizeof(*w->surv));
	}
	s = &w->surv[w->nsurv++];
	s->host = h;
	s->prev = prev;
	s->L = L;
	s->live = live;
	s->at = w->now;
}

/* I5b after a SURVIVE: a ring mate that is silent now (hung, stalled, or
** fenced and still in the pool) still stalls my PINGs, since when it went
** silent, even if I survived meanwhile; so does my ring if it has broken
** already (agreed delivery flushes messages into a SURVIVE after the break). */
static uint64_t
still_disturbed(const struct world *w, int h)
{
	uint64_t t = SIM_NEVER;

	if (w->h[h].ring >= 0 && w->rings[w->h[h].ring].broken != SIM_NEVER)
		t = w->rings[w->h[h].ring].broken;

	for (unsigned g = 0; g < w->n; g++) {
		const struct host *gp = &w->h[g];
		if ((int)g == h || gp->ring < 0 || gp->ring != w->h[h].ring || !in_pool(gp))
			continue;
		if ((gp->hung_until > w->now || gp->stalled || gp->fenced) && gp->silent_at < t)
			t = gp->silent_at;
	}
	return t;
}

/* h's daemon leaves (join: enters) the pool's CPG group of its ring: its
** ring mates learn it like a message. */
static void
set_group(struct world *w, int h, int join)
{
	struct host *hp = &w->h[h];

	if (hp->ring < 0 || w->rings[hp->ring].broken != SIM_NEVER)
		return;
	if (join)
		w->rings[hp->ring].group |= LS_BIT(h);
	else
		w->rings[hp->ring].group &= ~LS_BIT(h);
	w->rings[hp->ring].view_at = w->now;
	w->rings[hp->ring].view = view_of(w, w->rings[hp->ring].group);
	if (w->sp->cpg == SIM_CPG_AGREED)
		cpg_send_agreed(w, h, NULL, w->rings[hp->ring].group);
	else if (join)
		ev_group(w, hp->ring); /* before the joiner's first message */
	else
		push(w, w->now + rnd(w, 1, SIM_CPG_MAX_MS), EV_GROUP, 0, (uint32_t)hp->ring, 0);
}

static void
leave_group(struct world *w, int h)
{
	set_group(w, h, 0);
}

static void
do_fence(struct world *w, int h, const struct lv_action *a, uint64_t L)
{
	struct host *hp = &w->h[h];
	const struct ls_result *res = lv_last_result(hp->lv);
	char s[80];
	int immediate;

	w->st->fence[a->reason & 15]++;
	check_false_fence(w, h, a, L);
	if (a->reason == LS_R_LOST || a->reason == LS_R_PREEMPTED)
		tr(w, h, "FENCE %s (winner %s)", rname(a->reason), setstr(s, sizeof(s), res->winner));
	else if (a->reason == LS_R_DEADLINE)
		tr(w, h, "FENCE deadline (blocked: %s)", rname(res->blocked));
	else
		tr(w, h, "FENCE %s", rname(a->reason));
	hp->fenced = hp->ever_fenced = 1;
	hp->silent_at = w->now;
	if (!hp->wd_armed) {
		/* the keeper arms a disarmed watchdog first, then stops petting */
		hp->wd_armed = 1;
		hp->last_pet = local_at(hp, w->now);
		schedule_wd(w, h);
	}
	/* hasvcd has the keeper stop petting (and acknowledge it) before it
	** writes the fence record (docs/fencing.md, "The keeper") */
	if (hp->kp_until > local_at(hp, w->now)) {
		hp->kp_until = local_at(hp, w->now);
		push(w, real_for(hp, wd_last(hp, hp->kp_until) + w->tm.wd_ms), EV_WD, h, 0, 0);
	}
	disturb_ring(w, h);
	/* The fencing daemon leaves the pool's CPG group (hasvcd does so
	** before the reset). */
	leave_group(w, h);
	io_issue(w, h, a, 1, 1);
	immediate = w->sp->fence_mode == SIM_FENCE_IMMEDIATE ||
	            (w->sp->fence_mode == SIM_FENCE_RANDOM && rnd(w, 0, 1));
	if (immediate)
		kill_host(w, h, D_FENCE);
	/* else: VMs run on until the watchdog fires (the worst case). */
}

static void
alerts_trace(struct world *w, int h, unsigned al)
{
	char buf[160];
	size_t k = 0;
	static const char *const names[] = {"self-no-storage", "some-no-storage", "all-no-storage",
	                                    "inconsistent"};

	buf[0] = '\0';
	for (unsigned i = 0; i < 4; i++)
		if (al & (1u << i))
			k += (size_t)snprintf(buf + k, sizeof(buf) - k, " %s", names[i]);
	if (al & LV_ALERT_STALLED)
		k += (size_t)snprintf(buf + k, sizeof(buf) - k, " stalled");
	tr(w, h, "alerts%s", k ? buf : " cleared");
}

static void
host_step(struct world *w, int h, const struct lv_event *ev)
{
	struct host *hp = &w->h[h];
	struct ls_ring prev = lv_get_prev_ring(hp->lv);
	uint64_t L = lv_get_live(hp->lv);
	const struct ls_result *res;
	int was_master = lv_get_master(hp->lv);

	lv_actions_reset(&w->acts);
	lv_step(hp->lv, ev, local_at(hp, w->now), &w->acts);
	w->st->steps++;
	if (lv_lease(hp->lv) > hp->lease)
		hp->lease = lv_lease(hp->lv);
	for (size_t i = 0; i < w->acts.n && running_engine(hp); i++) {
		const struct lv_action *a = &w->acts.v[i];
		char s1[80], s2[80];
		switch (a->type) {
		case LV_ACT_WRITE:
			io_issue(w, h, a, 1, 0);
			break;
		case LV_ACT_READ:
			io_issue(w, h, a, 0, 0);
			break;
		case LV_ACT_SEND:
			if (a->msg.type == LV_MSG_ADMIT && a->msg.u.admit.host == (unsigned)h)
				tr(w, h, "re-forms the pool: every host asks to be admitted");
			else if (a->msg.type == LV_MSG_ADMIT)
				tr(w, h, "admits h%u", a->msg.u.admit.host);
			cpg_send(w, h, &a->msg);
			break;
		case LV_ACT_PET:
			/* Through the keeper: a pet counts only before the lease
			** (before the first lease, as the engine asks). */
			if (hp->lease == 0 || local_at(hp, w->now) < hp->lease)
				hp->last_pet = local_at(hp, w->now);
			else if (lv_lease(hp->lv) > 0)
				violation(w, I5, "h%d's engine pets past its own lease (%+" PRId64
				          " ms): the keeper would let the watchdog reset it",
				          h, (int64_t)lv_lease(hp->lv) - (int64_t)local_at(hp, w->now));
			break;
		case LV_ACT_FENCE:
			do_fence(w, h, a, L);
			break;
		case LV_ACT_SURVIVE:
			w->st->survive[a->reason & 15]++;
			tr(w, h, "SURVIVE %s live=%s lost=%s", rname(a->reason),
			   setstr(s1, sizeof(s1), a->live), setstr(s2, sizeof(s2), a->lost));
			record_survive(w, h, prev, L, a->live, a->reason);
			hp->survived = 1;
			save_liveset(w, h);
			if (a->live & LS_BIT(h))
				hp->unadmitted = 0; /* hasvcd marks the admission */
			/* a host in my liveset is not dead: one admitted again
			** runs its own VMs (its old self's are restarted already) */
			hp->dead_known &= ~a->live;
			if (!hp->wd_armed && (a->live & LS_BIT(h))) {
				/* hasvcd arms the watchdog when it joins a liveset */
				hp->wd_armed = 1;
				hp->last_pet = local_at(hp, w->now);
				schedule_wd(w, h);
			}
			hp->wait_reason = 0;
			hp->disturbed = still_disturbed(w, h);
			break;
		case LV_ACT_MASTER:
			if (a->host != was_master)
				tr(w, h, "master h%d", a->host);
			was_master = a->host;
			break;
		case LV_ACT_HOST_DEAD:
			w->st->host_dead++;
			if (a->host >= 0 && a->host < (int)w->n) {
				hp->dead_known |= LS_BIT(a->host);
				tr(w, h, "h%d is certainly dead", a->host);
			}
			break;
		case LV_ACT_ALERT:
			if (a->alerts != hp->alerts)
				alerts_trace(w, h, a->alerts);
			hp->alerts = a->alerts;
			break;
		case LV_ACT_EXIT:
			break;
		}
	}
	if (!running_engine(hp))
		return;
	res = lv_last_result(hp->lv);
	if (lv_get_state(hp->lv) == LV_ROUND && res != NULL && res->verdict == LS_WAIT &&
	    (int)res->reason != hp->wait_reason) {
		hp->wait_reason = (int)res->reason;
		if (res->reason == LS_R_AWAIT_HOSTS) {
			char s[80];
			tr(w, h, "wait %s %s", rname(res->reason), setstr(s, sizeof(s), res->unsettled));
		} else {
			tr(w, h, "wait %s", rname(res->reason));
		}
	}
	if (lv_get_master(hp->lv) == h && hp->dead_known)
		restart_vms(w, h);
	schedule_tick(w, h);
}

/* ---- faults ---- */

static void
apply_fault(struct world *w, const struct sim_fault *f)
{
	char s[128];
	size_t k;

	switch (f->kind) {
	case SF_POWEROFF:
		if (w->h[f->host].powered) {
			tr(w, f->host, "power off");
			w->st->faults[SS_POWEROFF]++;
			kill_host(w, f->host, D_POWEROFF);
		}
		break;
	case SF_POWERON:
		if (!w->h[f->host].powered) {
			tr(w, f->host, "power on");
			w->st->faults[SS_POWERON]++;
			boot_host(w, f->host);
		}
		break;
	case SF_PARTITION:
		memcpy(w->group, f->group, sizeof(w->group));
		w->st->faults[SS_PARTITION]++;
		k = 0;
		for (unsigned g = 0; g < w->n; g++) {
			uint64_t m = 0;
			for (unsigned h = 0; h < w->n; h++)
				if (w->group[h] == g)
					m |= LS_BIT(h);
			if (m && k < sizeof(s))
				k += (size_t)snprintf(s + k, sizeof(s) - k, "%s%s", k ? " | " : "",
				                      setstr((char[64]){0}, 64, m));
		}
		tr(w, -1, "partition %s", s);
		recompute_rings(w);
		break;
	case SF_HEAL:
		memset(w->group, 0, sizeof(w->group));
		memset(w->oneway, 0, sizeof(w->oneway));
		w->st->faults[SS_HEAL]++;
		tr(w, -1, "heal");
		recompute_rings(w);
		break;
	case SF_ONEWAY:
		w->oneway[f->host] |= LS_BIT(f->host2);
		w->st->faults[SS_ONEWAY]++;
		tr(w, -1, "one-way loss h%d -> h%d", f->host, f->host2);
		recompute_rings(w);
		break;
	case SF_DELAY:
		if (f->ms == 0 && w->extra_delay > 0)
			w->delay_off = w->now;
		w->extra_delay = f->ms;
		for (unsigned h = 0; h < w->n; h++)
			if (f->ms > 0)
				disturb(w, (int)h);
		w->st->faults[SS_DELAY] += f->ms > 0;
		tr(w, -1, "CPG delay +%" PRIu64 " ms", f->ms);
		break;
	case SF_STORAGE: {
		static const char *const mn[] = {"ok", "error", "hang", "slow"};
		static const int ss[] = {SS_ST_OK, SS_ST_ERROR, SS_ST_HANG, SS_ST_SLOW};
		w->st->faults[ss[f->mode]]++;
		for (unsigned h = 0; h < w->n; h++)
			if (f->host < 0 || f->host == (int)h)
				storage_mode(w, (int)h, f->mode);
		if (f->host < 0)
			tr(w, -1, "storage of all hosts: %s", mn[f->mode]);
		else
			tr(w, f->host, "storage %s", mn[f->mode]);
		break;
	}
	case SF_HANG: {
		struct host *hp = &w->h[f->host];
		if (!in_pool(hp))
			break;
		w->st->faults[f->ms < w->tm.wd_ms ? SS_HANG_SHORT : SS_HANG_LONG]++;
		tr(w, f->host, "daemon hangs for %" PRIu64 " ms", f->ms);
		disturb_ring(w, f->host);
		if (hp->hung_until <= w->now)
			hp->silent_at = w->now;
		if (w->now + f->ms > hp->hung_until)
			hp->hung_until = w->now + f->ms;
		hp->hang_gen++;
		hp->tick_at = SIM_NEVER;
		hp->tick_gen++;
		push(w, hp->hung_until, EV_HANG_END, f->host, 0, hp->hang_gen);
		break;
	}
	case SF_CPGSTALL: {
		/* corosync freezes holding the token: the others lose it and
		** form a ring without this host after D; its engine runs on,
		** its sends queue up, nothing is delivered to it. */
		struct host *hp = &w->h[f->host];
		if (!in_pool(hp) || hp->stalled)
			break;
		w->st->faults[SS_CPGSTALL]++;
		tr(w, f->host, "corosync stalls for %" PRIu64 " ms", f->ms);
		disturb_ring(w, f->host);
		hp->stalled = 1;
		hp->silent_at = w->now;
		hp->stall_ring = -1;
		if (hp->ring >= 0 && w->rings[hp->ring].broken == SIM_NEVER)
			hp->stall_ring = hp->ring;
		hp->stall_gen++;
		hp->install_gen++; /* a ring on its way is not installed */
		hp->target = hp->ring;
		push(w, w->now + f->ms, EV_STALL_END, f->host, 0, hp->stall_gen);
		recompute_rings(w);
		break;
	}
	case SF_RESTART: {
		/* kill -9: the daemon leaves the CPG group at once (corosync
		** sees its connection close), its corosync and VMs run on, and
		** the keeper pets until the engine's last lease. */
		struct host *hp = &w->h[f->host];
		if (!running_engine(hp))
			break;
		w->st->faults[SS_RESTART]++;
		tr(w, f->host, "daemon killed, restarts in %" PRIu64 " ms (keeper lease %+" PRId64 " ms)",
		   f->ms, hp->lease ? (int64_t)hp->lease - (int64_t)local_at(hp, w->now) : 0);
		disturb_ring(w, f->host);
		hp->down = 1;
		hp->silent_at = w->now;
		hp->hung_until = 0;
		hp->nheld = 0;
		hp->tick_at = SIM_NEVER;
		hp->tick_gen++;
		if (hp->lease > hp->kp_until)
			hp->kp_until = hp->lease; /* the keeper's last pet, at the latest */
		leave_group(w, f->host);
		push(w, w->now + f->ms, EV_RESTART, f->host, 0, ++hp->restart_gen);
		break;
	}
	case SF_VMSTART:
		w->vmslow = f->mode;
		w->st->faults[SS_VMSLOW] += f->mode != 0;
		tr(w, -1, "VM starts %s", f->mode ? "slow (5 s)" : "normal");
		break;
	case SF_SKEW:
		/* Only at time 0 (the spec checks it): clocks never jump. */
		w->h[f->host].ppm = f->ppm;
		w->st->faults[SS_SKEW]++;
		tr(w, f->host, "clock rate %+d ppm", f->ppm);
		break;
	}
}

/* The stalled corosync resumes: it first delivers to itself what it holds
** of its old ring (in agreed mode: the messages it queued, sent with the
** stale token, and those that reached it before the stall), then finds the
** token lost and joins the ring assignment again (installed after D >= K). */
static void
ev_stall_end(struct world *w, int h, uint64_t gen)
{
	struct host *hp = &w->h[h];

	if (gen != hp->stall_gen || !hp->stalled || !in_pool(hp))
		return;
	hp->stalled = 0;
	if (w->sp->cpg == SIM_CPG_AGREED && hp->ring >= 0) {
		const struct ring *R = &w->rings[hp->ring];
		unsigned mine = 0, others = 0;
		for (uint32_t i = R->next[h]; i < R->nlog; i++)
			if (R->broken == SIM_NEVER || (R->log[i].recip & LS_BIT(h))) {
				if (R->log[i].sender == h)
					mine++;
				else
					others++;
			}
		tr(w, h, "corosync resumes: delivers %u message(s) of its own and %u of others "
		   "in ring %" PRIu64 " to itself", mine, others, R->seq);
		pump(w, h, hp->ring);
	} else {
		tr(w, h, "corosync resumes");
	}
	recompute_rings(w);
}

/* The killed daemon starts again: a new engine that knows nothing, joining
** the CPG group of the ring its corosync holds (once it holds one). */
static void
ev_restart(struct world *w, int h, uint64_t gen)
{
	struct host *hp = &w->h[h];
	struct lv_event ev;
	struct ring *R;
	char why[200];
	int out;

	if (gen != hp->restart_gen || !hp->powered || !hp->down || hp->lv == NULL)
		return;
	if (hp->ring < 0 || hp->target != hp->ring || hp->stalled ||
	    w->rings[hp->ring].broken != SIM_NEVER) {
		/* corosync is between rings: the daemon connects to the next one */
		push(w, w->now + 50, EV_RESTART, h, 0, gen);
		return;
	}
	lv_free(hp->lv);
	/* hasvcd's seq0 is its start time in wall-clock us: above the old run's */
	/* hasvcd starts out of the pool after a boot into a running pool (no
	** liveset of this boot), and after a fence until it is admitted */
	if (hp->booting)
		hp->unadmitted = 1;
	out = hp->unadmitted;
	hp->lv = make_engine(w, (unsigned)h, local_at(hp, w->now) * 1000, out, why, sizeof(why));
	if (NEVER(hp->lv == NULL)) {
		violation(w, IENG, "h%d: restarted engine: %s", h, why);
		hp->powered = 0;
		return;
	}
	hp->down = 0;
	hp->restarted = 1;
	hp->survived = 0;
	hp->incarnation++;
	hp->alerts = 0;
	hp->wait_reason = -1;
	hp->dead_known = 0;
	hp->tick_at = SIM_NEVER;
	hp->tick_gen++;
	hp->tick_same = 0;
	io_clear(hp, 1); /* the old daemon's requests died with it */
	if (hp->booting) /* its first round starts at START, not S after a stall: */
		hp->disturbed = w->now > w->tm.fresh_ms ? w->now - w->tm.fresh_ms : 0;
	if (!hp->booting)
		tr(w, h, "daemon restarted");
	else
		tr(w, h, "daemon starts after the boot: %s",
		   hp->death == D_POWEROFF ? "out of the pool, asks to be admitted"
		                           : "out of the pool (a fence record), asks to be admitted");
	hp->booting = 0;
	/* The join is a view change ordered before anything the new daemon
	** sends; its own START already has the new group. */
	set_group(w, h, 1);
	R = &w->rings[hp->ring];
	if (w->sp->cpg == SIM_CPG_AGREED)
		R->next[h] = R->nlog;
	memset(&ev, 0, sizeof(ev));
	ev.type = LV_EV_START;
	ev.u.ring = ring_view(w, hp->ring);
	ev.u.ring.group = R->group;
	host_step(w, h, &ev);
	schedule_tick(w, h);
}

static void
ev_hang_end(struct world *w, int h, uint64_t gen)
{
	struct host *hp = &w->h[h];

	if (gen != hp->hang_gen || !running_engine(hp))
		return;
	hp->hung_until = 0;
	hp->last_hang_end = w->now;
	tr(w, h, "daemon resumes (%zu events held)", hp->nheld);
	for (size_t i = 0; i < hp->nheld && running_engine(hp); i++) {
		if (hp->held[i].ev.type == LV_EV_READ && hp->held[i].ev.u.io.slots != NULL)
			hp->held[i].ev.u.io.slots = hp->held[i].slots;
		host_step(w, h, &hp->held[i].ev);
	}
	hp->nheld = 0;
	schedule_tick(w, h);
}

/* ---- expectations ---- */

static uint64_t
set_of(const struct world *w, int kind)
{
	uint64_t m = 0;

	for (unsigned h = 0; h < w->n; h++) {
		const struct host *hp = &w->h[h];
		if ((kind == SX_ALIVE && hp->powered) || (kind == SX_FENCED && hp->ever_fenced) ||
		    (kind == SX_SURVIVORS && running_engine(hp)))
			m |= LS_BIT(h);
	}
	return m;
}

static void
check_expect(struct world *w, const struct sim_expect *x)
{
	char got[96], s[80];
	int ok;

	switch (x->kind) {
	case SX_ALIVE:
	case SX_FENCED:
	case SX_SURVIVORS: {
		uint64_t m = set_of(w, x->kind);
		ok = m == x->hosts;
		snprintf(got, sizeof(got), "%s", setstr(s, sizeof(s), m));
		break;
	}
	case SX_LIVE: {
		uint64_t m = 0;
		ok = 1;
		for (unsigned h = 0; h < w->n; h++) {
			const struct host *hp = &w->h[h];
			if (!running_engine(hp) || lv_get_state(hp->lv) != LV_STEADY)
				continue;
			m |= LS_BIT(h);
			ok &= lv_get_live(hp->lv) == x->hosts;
		}
		ok &= m == x->hosts;
		snprintf(got, sizeof(got), "steady %s", setstr(s, sizeof(s), m));
		break;
	}
	case SX_MASTER: {
		int bad = -2;
		ok = 1;
		for (unsigned h = 0; h < w->n; h++)
			if (running_engine(&w->h[h]) && lv_get_master(w->h[h].lv) != x->value) {
				ok = 0;
				bad = (int)h;
				break;
			}
		if (ok)
			snprintf(got, sizeof(got), "h%d", x->value);
		else
			snprintf(got, sizeof(got), "h%d reports master %d", bad,
			         lv_get_master(w->h[bad].lv));
		break;
	}
	default:
		ok = w->restarts == (uint64_t)x->value;
		snprintf(got, sizeof(got), "%" PRIu64, w->restarts);
		break;
	}
	if (!ok)
		w->res->expects_failed++;
	tr(w, -1, "expect %s: %s%s%s", x->text, ok ? "ok" : "FAILED, got ", ok ? "" : got,
	   "");
}

/* ---- invariants checked after every event ---- */

static void
check_invariants(struct world *w)
{
	for (unsigned a = 0; a < w->n; a++) {
		struct host *ha = &w->h[a];
		uint64_t La;
		struct ls_ring ra;
		int ma;
		if (!running_engine(ha) || lv_get_state(ha->lv) != LV_STEADY)
			continue;
		La = lv_get_live(ha->lv);
		ra = lv_get_ring(ha->lv);
		ma = lv_get_master(ha->lv);
		if (ma < 0 || !(La & LS_BIT(ma)))
			violation(w, I4, "h%u is steady with master %d outside its liveset", a, ma);
		for (unsigned b = a + 1; b < w->n; b++) {
			struct host *hb = &w->h[b];
			uint64_t Lb;
			struct ls_ring rb;
			if (!running_engine(hb) || lv_get_state(hb->lv) != LV_STEADY)
				continue;
			Lb = lv_get_live(hb->lv);
			rb = lv_get_ring(hb->lv);
			if (ra.seq == rb.seq && ra.nodeid == rb.nodeid && lv_get_master(hb->lv) != ma)
				violation(w, I4, "two masters in ring %" PRIu64 ": h%u says h%d, h%u says h%d",
				          ra.seq, a, ma, b, lv_get_master(hb->lv));
			if (!(La & LS_BIT(b)) && !(Lb & LS_BIT(a)) && (La & LS_BIT(a)) && (Lb & LS_BIT(b)))
				violation(w, I3B, "h%u and h%u both run, each with a liveset that excludes the "
				          "other", a, b);
		}
	}
}

/* ---- the run ---- */

/* hasvcd's <data-dir>/liveset: written at every SURVIVE, read at a start in
** the same boot. */
static void
save_liveset(struct world *w, int h)
{
	struct host *hp = &w->h[h];

	hp->saved_live = lv_get_live(hp->lv);
	hp->saved_prev = lv_get_prev_ring(hp->lv);
	hp->saved_master = lv_get_master(hp->lv);
}

/* Host h's engine, as hasvcd makes it at its start: at a cold start the
** liveset is every host; a restarted daemon starts from what its
** predecessor saved (seq0 != 0). */
static struct lv *
make_engine(struct world *w, unsigned h, uint64_t seq0, int out, char *why, size_t whylen)
{
	const struct sim_spec *sp = w->sp;
	const struct host *hp = &w->h[h];
	struct lv_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.ls.n = sp->n;
	for (unsigned g = 0; g < sp->n; g++)
		cfg.ls.weight[g] = sp->weight[g] ? sp->weight[g] : 1;
	cfg.ls.preferred = sp->preferred;
	cfg.ls.statefile = sp->statefile;
	cfg.self = h;
	cfg.timing = w->tm;
	cfg.live = sp->n == 64 ? ~0ull : LS_BIT(sp->n) - 1;
	cfg.master = 0;
	cfg.seq0 = seq0;
	cfg.out = out;
	if (seq0 != 0 && hp->saved_live != 0) {
		cfg.live = hp->saved_live;
		cfg.prev_ring = hp->saved_prev;
		cfg.master = hp->saved_master >= 0 && (hp->saved_live & LS_BIT(hp->saved_master))
		                 ? hp->saved_master : -1;
	}
	return lv_new(&cfg, why, whylen);
}

static int
world_init(struct world *w, const struct sim_spec *sp, char *err, size_t errlen)
{
	char why[200];
	unsigned v = 0;

	w->sp = sp;
	w->n = sp->n;
	w->rng = sp->seed ^ 0x5eed5eed5eedull;
	w->freemsg = -1;
	if (sp->n < 1 || sp->n > SIM_MAX_HOSTS || sp->n * sp->vms > SIM_MAX_VMS) {
		snprintf(err, errlen, "hosts 1..%d and hosts * vms <= %d", SIM_MAX_HOSTS, SIM_MAX_VMS);
		return -1;
	}
	if (lv_timing_derive(sp->timeout_s, (enum lv_profile)sp->profile, &w->tm, why,
	                     sizeof(why)) < 0) {
		snprintf(err, errlen, "timing: %s", why);
		return -1;
	}
	for (unsigned h = 0; h < sp->n; h++) {
		struct host *hp = &w->h[h];
		hp->lv = make_engine(w, h, 0, 0, why, sizeof(why));
		hp->wd_armed = 1;
		if (hp->lv == NULL) {
			snprintf(err, errlen, "lv_new: %s", why);
			return -1;
		}
		hp->powered = 1;
		hp->off = sp->random_offsets ? 1000000 * (h + 1) + rnd(w, 0, 99999) : 0;
		hp->ring = hp->target = hp->send_ring = -1;
		hp->tick_at = SIM_NEVER;
		hp->last_pet = local_at(hp, 0);
		hp->wait_reason = -1;
		hp->disturbed = 0; /* the first round starts at START */
	}
	for (unsigned h = 0; h < sp->n; h++)
		for (unsigned k = 0; k < sp->vms; k++, v++) {
			w->vm[v].home = (int)h;
			w->vm[v].on = LS_BIT(h);
			w->vm[v].restart_to = -1;
		}
	w->nvm = v;
	return 0;
}

static void
world_free(struct world *w)
{
	for (unsigned h = 0; h < w->n; h++) {
		lv_free(w->h[h].lv);
		free(w->h[h].held);
	}
	free(w->heap);
	for (size_t i = 0; i < w->nrings; i++)
		free(w->rings[i].log);
	free(w->rings);
	free(w->msgs);
	free(w->surv);
	lv_actions_free(&w->acts);
}

int
sim_run(const struct sim_spec *sp, FILE *trace, struct sim_stats *st, struct sim_result *res,
        char *err, size_t errlen)
{
	struct world *w = xcalloc(1, sizeof(*w));
	struct sim_stats dummy;
	uint64_t last = 0;
	int r0, rc = -1;

	memset(res, 0, sizeof(*res));
	memset(&dummy, 0, sizeof(dummy));
	w->st = st != NULL ? st : &dummy;
	w->res = res;
	w->tr = trace;
	if (world_init(w, sp, err, errlen) < 0)
		goto out;
	/* Clock skew first (it applies from time 0), then the initial ring. */
	for (unsigned i = 0; i < sp->nfaults; i++)
		if (sp->fault[i].kind == SF_SKEW && sp->fault[i].at == 0)
			apply_fault(w, &sp->fault[i]);
	for (unsigned h = 0; h < w->n; h++)
		w->h[h].last_pet = local_at(&w->h[h], 0);
	r0 = new_ring(w, LS_BIT(w->n) - 1);
	for (unsigned h = 0; h < w->n; h++) {
		w->h[h].ring = w->h[h].target = r0;
		w->rings[r0].installed |= LS_BIT(h);
		push(w, 0, EV_START, (int)h, 0, 0);
		schedule_wd(w, (int)h);
	}
	w->rings[r0].complete = 0;
	for (unsigned i = 0; i < sp->nfaults; i++) {
		if (sp->fault[i].kind != SF_SKEW || sp->fault[i].at != 0)
			push(w, sp->fault[i].at, EV_FAULT, 0, i, 0);
		if (sp->fault[i].at > last)
			last = sp->fault[i].at;
	}
	for (unsigned i = 0; i < sp->nexpect; i++)
		if (sp->expect[i].at != SIM_NEVER) {
			push(w, sp->expect[i].at, EV_EXPECT, 0, i, 0);
			if (sp->expect[i].at > last)
				last = sp->expect[i].at;
		}
	w->end = sp->run_ms ? sp->run_ms : last + 30000;
	{
		char s[80];
		tr(w, -1, "%u hosts, timeout %u s (%s), %s, W %u ms, T_decide %u ms, seed %" PRIu64,
		   w->n, sp->timeout_s, lv_profile_name(sp->profile),
		   sp->statefile ? "statefile" : "quorum only", w->tm.wd_ms, w->tm.decide_ms, sp->seed);
		if (sp->cpg == SIM_CPG_AGREED)
			tr(w, -1, "CPG delivery agreed (self-delivery first; at a break, "
			   "the sender's side)");
		tr(w, -1, "ring %" PRIu64 ":%u %s at every host", w->rings[r0].seq, w->rings[r0].nodeid,
		   setstr(s, sizeof(s), w->rings[r0].members));
	}
	while (w->nheap > 0 && w->heap[0].t <= w->end) {
		struct ev e = pop(w);
		struct lv_event lev;
		struct host *hp = &w->h[e.host];
		w->now = e.t;
		w->st->events++;
		switch (e.type) {
		case EV_START:
			memset(&lev, 0, sizeof(lev));
			lev.type = LV_EV_START;
			lev.u.ring = ring_view(w, hp->ring);
			hp->ring_at = 0;
			feed(w, e.host, &lev);
			break;
		case EV_TICK:
			if (e.gen != hp->tick_gen || !running_engine(hp) || w->now < hp->hung_until)
				break;
			hp->tick_at = SIM_NEVER;
			if (hp->tick_same > 1000)
				violation(w, IENG, "h%d's engine asks for a tick at once after every tick "
				          "(deadline %" PRIu64 " does not advance)", e.host, hp->tick_d);
			memset(&lev, 0, sizeof(lev));
			lev.type = LV_EV_TICK;
			host_step(w, e.host, &lev);
			/* A tick that leaves the deadline in the past did nothing. */
			if (running_engine(hp) && lv_next_deadline(hp->lv) <= local_at(hp, w->now))
				hp->tick_same++;
			else
				hp->tick_same = 0;
			break;
		case EV_WD:
			hp->wd_pending = 0;
			if (!in_pool(hp) || !hp->wd_armed)
				break;
			if (local_at(hp, w->now) >= wd_last(hp, local_at(hp, w->now)) + w->tm.wd_ms) {
				kill_host(w, e.host, D_WATCHDOG);
			}
			else
				schedule_wd(w, e.host);
			break;
		case EV_IO_DONE:
			ev_io_done(w, e.host, e.a, e.gen);
			break;
		case EV_IO_DEADLINE:
			ev_io_deadline(w, e.host, e.a, e.gen);
			break;
		case EV_INSTALL:
			ev_install(w, e.host, e.a, e.gen);
			break;
		case EV_GROUP:
			ev_group(w, (int)e.a);
			break;
		case EV_DELIVER:
			ev_deliver(w, (int)e.a);
			break;
		case EV_PUMP:
			pump(w, e.host, (int)e.a);
			break;
		case EV_STALL_END:
			ev_stall_end(w, e.host, e.gen);
			break;
		case EV_FAULT:
			apply_fault(w, &sp->fault[e.a]);
			break;
		case EV_BOOT:
			if (!w->h[e.host].powered) {
				tr(w, e.host, "boots again");
				boot_host(w, e.host);
			}
			break;
		case EV_RESTART:
			ev_restart(w, e.host, e.gen);
			break;
		case EV_HANG_END:
			ev_hang_end(w, e.host, e.gen);
			break;
		case EV_VM_START:
			ev_vm_start(w, e.a, e.gen);
			break;
		case EV_EXPECT:
			check_expect(w, &sp->expect[e.a]);
			break;
		}
		check_invariants(w);
	}
	w->now = w->end;
	for (unsigned i = 0; i < sp->nexpect; i++)
		if (sp->expect[i].at == SIM_NEVER)
			check_expect(w, &sp->expect[i]);
	tr(w, -1, "end: %u violation(s), %u expectation(s) failed", res->violations,
	   res->expects_failed);
	w->st->runs++;
	w->st->virt_ms += w->end;
	w->st->violations += res->violations;
	w->st->expects_failed += res->expects_failed;
	rc = 0;
out:
	world_free(w);
	free(w);
	return rc;
}
