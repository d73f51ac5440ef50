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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hasvc/db.h"
#include "hasvc/failover.h"
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
	EV_FO_TICK,   /* host's executor asked for FO_EV_TICK */
	EV_DB_APPLY,  /* write `a` reaches the database */
	EV_RESTART_CHECK, /* I-restart window `a` closes */
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
	uint64_t fo_early;   /* mutant: hosts given to the executor as dead at the SURVIVE */
	/* the failover executor of its daemon (hasvc/failover.h) */
	struct failover *fo;
	uint64_t fo_gen;     /* one more at every fo_new: a write names its executor */
	int fo_active;       /* it was told it is active (FO_EV_ROLE) */
	uint64_t fo_since;   /* ... since then */
	uint64_t fo_tick_gen, fo_tick_at, fo_tick_same;
	uint64_t fo_pending, fo_sent; /* its write in flight (id; 0 none), sent then */
	uint64_t life;       /* one more at every death: its domains and writes die with it */
	int64_t dbinc;       /* its daemon's database incarnation (hasvc/db.h, "Incarnations"):
	                     ** a fresh one at every daemon start */
	uint64_t tgt_busy;   /* VMs with a claim, adopt or halt write of mine in flight */
	int inc_busy;        /* its INCARNATE write is in flight */
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
	struct ls_ring saved_prev; /* agreed liveset, where, and the master, and */
	int saved_master;
	uint64_t saved_lost; /* the hosts lost then and not yet announced dead */
	uint64_t restart_gen;
};

/* A VM as the hypervisors see it (the database row is in world.dbvm). */
struct vmx {
	uint64_t on;         /* hosts running its domain now (I1: at most one) */
	uint64_t starting;   /* hosts creating its domain now */
	uint64_t started_at; /* the database last showed it started then (0: never) */
	int started_mp;      /* ... by a must-place intent */
	int64_t start_inc[SIM_MAX_HOSTS]; /* the daemon incarnation that started it there */
};

/* I-restart: a window opened by a host's death. */
struct rwatch {
	int host, valid;
	uint64_t vms; /* its protected VMs */
	uint64_t at, deadline;
};

struct pwrite;

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
	struct vmx vm[SIM_MAX_VMS];
	unsigned nvm;
	/* the pool database (one copy: writes are atomic and globally ordered) */
	struct db_pool pool;
	struct db_host dbhost[SIM_MAX_HOSTS];
	struct db_vm dbvm[SIM_MAX_VMS];
	struct db_vm_intent in[SIM_MAX_VMS];
	size_t nin;
	struct pwrite *pw; /* writes on their way */
	size_t npw, cappw;
	struct fo_actions foacts;
	unsigned alerts;
	int64_t next_inc; /* the next daemon start's incarnation (deterministic) */
	uint64_t db_delay; /* `dbdelay`: extra latency of the executors' writes */
	struct rwatch rw[SIM_MAX_FAULTS];
	unsigned nrw;
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

enum {
	I1 = 1, I2 = 2, I3 = 4, I3B = 8, I4 = 16, I5 = 32, IENG = 64,
	IRESTART = 128, /* I-restart: protected VMs running again within B_restart */
	IISSUE = 256,   /* I6: no ISSUE outside the liveset, no requeue from a live host */
	IORDER = 512,   /* I7: order groups and start delays */
};

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
	if (which & (I1 | I2 | I3 | I3B | I4 | IISSUE) && w->res->unsafe++ == 0)
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

static void restart_watch(struct world *w, int h, uint64_t vms);
static void restart_disturb(struct world *w, int h, const char *what);

static void
kill_host(struct world *w, int h, int cause)
{
	struct host *hp = &w->h[h];
	uint64_t ran = 0;

	if (!hp->powered)
		return;
	restart_disturb(w, h, "another host died");
	hp->powered = 0;
	hp->died_at = w->now;
	hp->death = cause;
	if (cause != D_POWEROFF) {
		w->st->resets++;
		tr(w, h, cause == D_WATCHDOG ? "watchdog reset" : "reset (fence)");
	}
	for (unsigned v = 0; v < w->nvm; v++) {
		if (w->vm[v].on & LS_BIT(h))
			ran |= LS_BIT(v);
		w->vm[v].on &= ~LS_BIT(h);
		w->vm[v].starting &= ~LS_BIT(h);
	}
	hp->life++;
	hp->dbinc = 0;
	hp->tgt_busy = 0;
	hp->inc_busy = 0;
	fo_free(hp->fo);
	hp->fo = NULL;
	hp->fo_active = 0;
	hp->fo_tick_gen++;
	hp->fo_tick_at = SIM_NEVER;
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
	restart_watch(w, h, ran);
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
	restart_disturb(w, h, "a host boots");
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

/* ---- the pool database, the failover executors, the target side ----
**
** One copy of the replicated database (writes are atomic and globally
** ordered in the model) with write latency: a write applies PW_MIN..PW_MAX
** ms after it is sent, an executor's only if its writer is still the active
** master then (docs/simulator.md, "Failover").  The executor is the real one
** (hasvc/failover.h); the edits are applied here by a small applier over
** these arrays with the preconditions failover.h states. */

#define PW_MIN_MS 5
#define PW_MAX_MS 20
#define VM_START_MS      100  /* domain creation (`vmstart normal`) */
#define VM_START_SLOW_MS 5000 /* `vmstart slow` */
#define WALL0_MS 1800000000000ll /* the wall clock at t = 0 */
#define FO_STEP_MS 50 /* a decision and its write: tick lateness, PW_MAX_MS, margin */

/* Writes: an executor's (PW_FO), and a target's -- a start's outcome, `live`
** again, and (hasvc/core.h, "Incarnations") its incarnation, a claim or an
** adopt (one fo_edit each, applied with fo_rows_apply), the halt of VMs
** recorded here that it will not restart (`vms`). */
enum pw_kind {
	PW_FO = 0, PW_START_DONE, PW_START_FAILED, PW_HOST_LIVE, PW_INCARNATE, PW_CLAIM, PW_ADOPT,
	PW_HALT
};

struct pwrite {
	int used;
	int kind;
	int writer;
	uint64_t gen;  /* PW_FO: the executor's incarnation; else the host's life */
	unsigned vm;
	uint64_t vms; /* PW_HALT */
	uint64_t id;
	struct fo_edit *edits;
	size_t nedits;
};

static void
uuid_host(int h, char out[HA_UUID_LEN])
{
	snprintf(out, HA_UUID_LEN, "00000000-0000-4000-8000-0000000000%02x", (unsigned)h & 0xff);
}

static void
uuid_vm(unsigned v, char out[HA_UUID_LEN])
{
	snprintf(out, HA_UUID_LEN, "00000000-0000-4000-9000-0000000000%02x", v & 0xff);
}

static int
host_of(const struct world *w, const char *uuid)
{
	unsigned x;

	if (strncmp(uuid, "00000000-0000-4000-8000-0000000000", 34) != 0 ||
	    sscanf(uuid + 34, "%2x", &x) != 1 || x >= w->n)
		return -1;
	return (int)x;
}

static int
vm_of(const struct world *w, const char *uuid)
{
	unsigned x;

	if (strncmp(uuid, "00000000-0000-4000-9000-0000000000", 34) != 0 ||
	    sscanf(uuid + 34, "%2x", &x) != 1 || x >= w->nvm)
		return -1;
	return (int)x;
}

static struct db_vm_intent *
intent_of(struct world *w, unsigned v)
{
	for (size_t i = 0; i < w->nin; i++)
		if (vm_of(w, w->in[i].vm) == (int)v)
			return &w->in[i];
	return NULL;
}

static void
intent_del(struct world *w, struct db_vm_intent *in)
{
	size_t i = (size_t)(in - w->in);
	memmove(&w->in[i], &w->in[i + 1], (w->nin - i - 1) * sizeof(w->in[0]));
	w->nin--;
}

/* The mutant: targets without incarnations (sim.h). */
static int
no_incarnation(const struct world *w)
{
	return w->sp->mutant == SIM_MUT_NO_INCARNATION;
}

static int
protected_vm(const struct db_vm *vm)
{
	return vm->ha_restart_priority == DB_PRIO_RESTART && vm->ha_always_run;
}

static int
must_place(const struct world *w, const struct db_vm_intent *in)
{
	int v = vm_of(w, in->vm);
	return in->why == DB_WHY_EVACUATE || (v >= 0 && protected_vm(&w->dbvm[v]));
}

static int64_t
vm_mem(const struct world *w, unsigned v)
{
	return w->dbvm[v].memory_static_max + w->dbvm[v].memory_overhead;
}

/* Memory the hypervisor of x has in use: its domains and the starts under
** way (but `except`). */
static int64_t
hv_used(const struct world *w, int x, int except)
{
	int64_t m = 0;

	for (unsigned v = 0; v < w->nvm; v++)
		if ((int)v != except && ((w->vm[v].on | w->vm[v].starting) & LS_BIT(x)))
			m += vm_mem(w, v);
	return m;
}

static void
fo_view(const struct world *w, struct fo_db_view *out)
{
	memset(out, 0, sizeof(*out));
	out->pool = &w->pool;
	out->hosts = w->dbhost;
	out->nhosts = w->n;
	out->vms = w->dbvm;
	out->nvms = w->nvm;
	out->intents = w->in;
	out->nintents = w->nin;
	out->wall_ms = WALL0_MS + (int64_t)w->now;
}

/* The executor of h is active: hasvcd's writable master, HA enabled, its
** engine steady in its liveset.  The simulator has no replication: the
** liveness master stands for the writable database master. */
static int
fo_should_be_active(const struct world *w, int h)
{
	const struct host *hp = &w->h[h];

	return hp->fo != NULL && running_engine(hp) && lv_get_state(hp->lv) == LV_STEADY &&
	       (lv_get_live(hp->lv) & LS_BIT(h)) && lv_get_master(hp->lv) == h;
}

static void fo_feed(struct world *w, int h, const struct fo_event *ev);

static void
fo_schedule(struct world *w, int h)
{
	struct host *hp = &w->h[h];
	uint64_t d, r;

	if (hp->fo == NULL || !running_engine(hp) || w->now < hp->hung_until)
		return;
	d = fo_next_deadline(hp->fo, local_at(hp, w->now));
	r = real_for(hp, d);
	if (r != SIM_NEVER) {
		r += rnd(w, 0, SIM_TICK_LATE_MS);
		if (r < w->now)
			r = w->now;
		if (r == w->now && hp->fo_tick_same > 1000)
			r = w->now + 1;
	}
	if (r == hp->fo_tick_at)
		return;
	hp->fo_tick_at = r;
	hp->fo_tick_gen++;
	if (r != SIM_NEVER)
		push(w, r, EV_FO_TICK, h, 0, hp->fo_tick_gen);
}

static void
fo_feed_db(struct world *w, int h)
{
	struct fo_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = FO_EV_DB;
	fo_view(w, &ev.u.db);
	fo_feed(w, h, &ev);
}

static void
fo_feed_hosts(struct world *w, int h, int type, uint64_t set)
{
	char u[SIM_MAX_HOSTS][HA_UUID_LEN];
	struct fo_event ev;
	size_t n = 0;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	if (type == FO_EV_HOST_DEAD) {
		/* the incarnation that died: the host row as the database has
		** it now (failover.h, fo_event.incarnation) */
		uuid_host(__builtin_ctzll(set), ev.u.host);
		ev.incarnation = w->dbhost[__builtin_ctzll(set)].incarnation;
	} else {
		for (unsigned x = 0; x < w->n; x++)
			if (set & LS_BIT(x))
				uuid_host((int)x, u[n++]);
		ev.u.hosts.uuids = (const char(*)[HA_UUID_LEN])u;
		ev.u.hosts.n = n;
	}
	fo_feed(w, h, &ev);
}

/* Recompute h's role; tell its executor when it changed (and give a new
** active one its liveset and a first snapshot). */
static void
fo_role(struct world *w, int h)
{
	struct host *hp = &w->h[h];
	int a = fo_should_be_active(w, h);
	struct fo_event ev;

	if (a == hp->fo_active || hp->fo == NULL || w->now < hp->hung_until)
		return;
	hp->fo_active = a;
	if (a) {
		hp->fo_since = w->now;
		fo_feed_hosts(w, h, FO_EV_LIVESET, lv_get_live(hp->lv));
	}
	if (!a)
		tr(w, h, "executor inactive");
	memset(&ev, 0, sizeof(ev));
	ev.type = FO_EV_ROLE;
	ev.u.active = a;
	fo_feed(w, h, &ev);
}

static size_t
pw_alloc(struct world *w)
{
	for (size_t i = 0; i < w->npw; i++)
		if (!w->pw[i].used)
			return i;
	if (w->npw == w->cappw) {
		w->cappw = w->cappw ? 2 * w->cappw : 16;
		w->pw = xreallocarray(w->pw, w->cappw, sizeof(*w->pw));
	}
	memset(&w->pw[w->npw], 0, sizeof(w->pw[0]));
	return w->npw++;
}

/* Send a write: it applies PW_MIN..PW_MAX ms later. */
static struct pwrite *
pw_send(struct world *w, int kind, int writer, uint64_t gen, unsigned vm)
{
	size_t i = pw_alloc(w);
	struct pwrite *p = &w->pw[i];

	memset(p, 0, sizeof(*p));
	p->used = 1;
	p->kind = kind;
	p->writer = writer;
	p->gen = gen;
	p->vm = vm;
	push(w, w->now + rnd(w, PW_MIN_MS, PW_MAX_MS) + (kind == PW_FO ? w->db_delay : 0), EV_DB_APPLY,
	     writer, (uint32_t)i, 0);
	return p;
}

/* Feed one event to h's executor and carry out its actions. */
static void
fo_feed(struct world *w, int h, const struct fo_event *ev)
{
	struct host *hp = &w->h[h];
	uint64_t written[8];
	size_t nwritten = 0;

	if (hp->fo == NULL || !running_engine(hp))
		return;
	fo_actions_reset(&w->foacts);
	if (fo_step(hp->fo, ev, local_at(hp, w->now), &w->foacts) < 0)
		violation(w, IENG, "h%d's executor rejects a %s event", h, fo_event_name(ev->type));
	w->st->fo_steps++;
	for (size_t i = 0; i < w->foacts.n; i++) {
		struct fo_action *a = &w->foacts.v[i];
		if (a->type == FO_ACT_NOTE) {
			tr(w, h, "fo: %s", a->text);
		} else if (a->type == FO_ACT_WRITE) {
			struct pwrite *p;
			/* "one write in flight": the executor takes any FO_EV_DB for
			** the one showing its write; another host's write can come
			** first (counted and traced, not a violation: every edit
			** carries its precondition) */
			if (hp->fo_pending && w->now < hp->fo_sent + FO_WRITE_WAIT_MS) {
				w->st->fo_overlap++;
				tr(w, h, "executor: write #%" PRIu64 " sent while its #%" PRIu64
				   " (sent %" PRIu64 " ms ago) has not applied", a->id, hp->fo_pending,
				   w->now - hp->fo_sent);
			}
			/* I6, judged when the executor decides (its write may
			** land after the host is admitted again: its edits'
			** preconditions and the order of landing cover that) */
			for (size_t k = 0; k < a->nedits; k++) {
				const struct fo_edit *e = &a->edits[k];
				int x = host_of(w, e->host);

				if ((e->type == FO_E_HOST_NOT_LIVE || e->type == FO_E_INTENT_REQUEUE) &&
				    x >= 0 && !(hp->dead_known & LS_BIT(x)) && !(hp->fo_early & LS_BIT(x)))
					violation(w, IISSUE, "h%d %s h%d, which its engine has not "
					          "announced dead", h, e->type == FO_E_HOST_NOT_LIVE ?
					          "marks not live" : "requeues an intent ISSUED to", x);
			}
			p = pw_send(w, PW_FO, h, hp->fo_gen, 0);
			hp->fo_pending = a->id;
			hp->fo_sent = w->now;
			p->id = a->id;
			p->nedits = a->nedits;
			p->edits = xreallocarray(NULL, a->nedits ? a->nedits : 1, sizeof(*p->edits));
			memcpy(p->edits, a->edits, a->nedits * sizeof(*p->edits));
			w->st->fo_writes++;
			if (nwritten < ARRAY_SIZE(written))
				written[nwritten++] = a->id;
			else
				violation(w, IENG, "h%d's executor sends more than %zu writes at once", h,
				          ARRAY_SIZE(written));
		}
	}
	/* FO_EV_WRITTEN ok: sent to the (simulated) master. */
	for (size_t i = 0; i < nwritten && hp->fo != NULL; i++) {
		struct fo_event we;
		memset(&we, 0, sizeof(we));
		we.type = FO_EV_WRITTEN;
		we.u.written.id = written[i];
		we.u.written.ok = 1;
		fo_feed(w, h, &we);
	}
	fo_schedule(w, h);
}

static void
ev_fo_tick(struct world *w, int h, uint64_t gen)
{
	struct host *hp = &w->h[h];
	struct fo_event ev;

	if (gen != hp->fo_tick_gen || hp->fo == NULL || !running_engine(hp) ||
	    w->now < hp->hung_until)
		return;
	hp->fo_tick_at = SIM_NEVER;
	memset(&ev, 0, sizeof(ev));
	ev.type = FO_EV_TICK;
	fo_feed(w, h, &ev);
	if (hp->fo != NULL && fo_next_deadline(hp->fo, local_at(hp, w->now)) <=
	                          local_at(hp, w->now)) {
		if (++hp->fo_tick_same == 1000)
			violation(w, IENG, "h%d's executor asks for a tick at once after every tick", h);
	} else {
		hp->fo_tick_same = 0;
	}
}

/* ---- the applier: failover.h's edits and their preconditions ---- */

static const char *
vname(const struct world *w, const char *uuid, char buf[16])
{
	int v = vm_of(w, uuid);
	if (v < 0)
		return "vm?";
	snprintf(buf, 16, "vm%d", v);
	return buf;
}

/* Order groups (I7), checked when an ISSUE applies: no must-place START of
** a lower order is ISSUED (a group completes first); no best-effort one
** while a must-place one is ISSUED; and an executor that saw a VM of a lower
** order start (for an intent older than that) waits for its start_delay. */
static void
check_issue_order(struct world *w, int writer, const struct db_vm_intent *in, int v)
{
	const struct db_vm *vm = &w->dbvm[v];
	int mp = must_place(w, in);
	char b1[16];

	for (size_t i = 0; i < w->nin; i++) {
		const struct db_vm_intent *o = &w->in[i];
		int u = vm_of(w, o->vm);
		if (u < 0 || u == v || o->op != DB_INTENT_START || o->state != DB_INTENT_ISSUED ||
		    !must_place(w, o))
			continue;
		/* a host's claim (FO_E_VM_CLAIM: its own VM, restarted where the
		** database had it running) is no placement: it may land between
		** the executor's decision and its write (seed 6174) */
		if (o->why == DB_WHY_ALWAYS_RUN && strcmp(o->from, o->host) == 0)
			continue;
		if (!mp)
			violation(w, IORDER, "best-effort vm%d ISSUED while must-place %s (order %" PRId64
			          ") is ISSUED", v, vname(w, o->vm, b1), w->dbvm[u].order);
		else if (w->dbvm[u].order < vm->order)
			violation(w, IORDER, "vm%d (order %" PRId64 ") ISSUED while vm%d (order %" PRId64
			          ") is still ISSUED", v, vm->order, u, w->dbvm[u].order);
	}
	if (!mp)
		return;
	for (unsigned u = 0; u < w->nvm; u++) {
		const struct vmx *x = &w->vm[u];
		uint64_t need;
		if (x->started_at == 0 || w->dbvm[u].order >= vm->order || !x->started_mp ||
		    x->started_at < w->h[writer].fo_since ||
		    in->created > WALL0_MS + (int64_t)x->started_at)
			continue;
		need = (uint64_t)w->dbvm[u].start_delay * 1000;
		/* the executor's clock may run 100 ppm slow; it decided before this */
		if (w->now + 2 + need / 5000 < x->started_at + need)
			violation(w, IORDER, "vm%d (order %" PRId64 ") ISSUED %" PRIu64 " ms after vm%u "
			          "(order %" PRId64 ") started, before its start_delay %" PRId64 " s", v,
			          vm->order, w->now - x->started_at, u, w->dbvm[u].order,
			          w->dbvm[u].start_delay);
	}
}

struct edit_log {
	char buf[FO_NEDITS][200];
	size_t len[FO_NEDITS];
	unsigned skipped;
};

static void
log_edit(struct edit_log *lg, int type, const char *fmt, ...)
{
	va_list ap;
	size_t k = lg->len[type];

	if (k >= sizeof(lg->buf[type]) - 8)
		return;
	va_start(ap, fmt);
	k += (size_t)vsnprintf(lg->buf[type] + k, sizeof(lg->buf[type]) - k, fmt, ap);
	va_end(ap);
	lg->len[type] = k < sizeof(lg->buf[type]) ? k : sizeof(lg->buf[type]) - 1;
}

/* Apply one edit with fo_rows_apply (the very preconditions fo_apply
** checks in hasvcd), then check what the writer was allowed to do. */
static int
apply_edit(struct world *w, int writer, const struct fo_edit *e, struct edit_log *lg)
{
	struct host *wp = &w->h[writer];
	int v = vm_of(w, e->vm), x = host_of(w, e->host);
	struct fo_rows r = {.hosts = w->dbhost, .nhosts = (size_t)w->n, .vms = w->dbvm, .nvms = w->nvm,
			    .intents = w->in, .nintents = w->nin, .capintents = SIM_MAX_VMS};
	struct db_vm_intent *in;
	char b[16];

	if ((unsigned)e->type >= FO_NEDITS) {
		violation(w, IENG, "h%d writes an unknown edit %d", writer, (int)e->type);
		return 0;
	}
	/* one intent per VM: the array never grows past SIM_MAX_VMS */
	if (e->type == FO_E_INTENT_ADD && w->nin == SIM_MAX_VMS)
		return 0;
	if (!fo_rows_apply(&r, e))
		return 0;
	ha_assert(r.intents == w->in);
	w->nin = r.nintents;
	switch (e->type) {
	case FO_E_HOST_NOT_LIVE:
		log_edit(lg, e->type, " h%d", x);
		break;
	case FO_E_INTENT_ADD:
		if (strcmp(e->intent.vm, e->vm) != 0)
			violation(w, IENG, "h%d adds an intent for %s under vm%d", writer,
			          vname(w, e->intent.vm, b), v);
		log_edit(lg, e->type, " vm%d", v);
		break;
	case FO_E_INTENT_ISSUE:
		/* never to a host outside my liveset, disabled, or certainly dead */
		if (x < 0 || !(lv_get_live(wp->lv) & LS_BIT(x)) || (wp->dead_known & LS_BIT(x)) ||
		    !w->dbhost[x].enabled)
			violation(w, IISSUE, "h%d ISSUES vm%d to h%d, outside its liveset %s, dead or "
			          "disabled", writer, v, x, setstr((char[80]){0}, 80, lv_get_live(wp->lv)));
		in = intent_of(w, (unsigned)v);
		check_issue_order(w, writer, in, v);
		log_edit(lg, e->type, " vm%d>h%d", v, x);
		break;
	case FO_E_INTENT_REQUEUE:
		log_edit(lg, e->type, " vm%d", v);
		break;
	case FO_E_ALERT:
		w->st->alerts++;
		w->alerts++;
		log_edit(lg, e->type, " %s(vm%d)", e->name, v);
		break;
	default:
		log_edit(lg, e->type, " vm%d", v);
		break;
	}
	return 1;
}

static void db_changed(struct world *w);

static void
apply_fo_write(struct world *w, struct pwrite *p)
{
	struct host *hp = &w->h[p->writer];
	struct edit_log lg;
	char line[1024];
	size_t k = 0;

	if (hp->fo_gen == p->gen && hp->fo_pending == p->id)
		hp->fo_pending = 0;
	if (hp->fo == NULL || hp->fo_gen != p->gen || !hp->fo_active) {
		tr(w, p->writer, "db: write #%" PRIu64 " lost (no longer the active master)", p->id);
		return;
	}
	memset(&lg, 0, sizeof(lg));
	for (size_t i = 0; i < p->nedits; i++)
		if (!apply_edit(w, p->writer, &p->edits[i], &lg)) {
			lg.skipped++;
			w->st->fo_skipped_edits++;
		}
	line[0] = '\0';
	for (int t = 0; t < FO_NEDITS; t++)
		if (lg.len[t] > 0 && k < sizeof(line))
			k += (size_t)snprintf(line + k, sizeof(line) - k, "%s%s%s", k ? "; " : "",
			                      fo_edit_name((enum fo_edit_type)t), lg.buf[t]);
	if (lg.skipped && k < sizeof(line))
		snprintf(line + k, sizeof(line) - k, "%s%u edit(s) skipped", k ? "; " : "", lg.skipped);
	tr(w, p->writer, "db: %s", line);
	db_changed(w);
}

static void target_scan(struct world *w, int x);

/* A target's own edit (INCARNATE, CLAIM, ADOPT): fo_rows_apply, the very
** preconditions fo_apply checks in hasvcd. */
static void
apply_own_edit(struct world *w, struct pwrite *p)
{
	int x = p->writer;
	const struct fo_edit *e = &p->edits[0];
	struct fo_rows r = {.hosts = w->dbhost, .nhosts = (size_t)w->n, .vms = w->dbvm, .nvms = w->nvm,
			    .intents = w->in, .nintents = w->nin, .capintents = SIM_MAX_VMS};
	int ok;

	ok = !(e->type == FO_E_VM_CLAIM && w->nin == SIM_MAX_VMS) && fo_rows_apply(&r, e);
	ha_assert(r.intents == w->in);
	w->nin = r.nintents;
	if (!ok) {
		if (p->kind == PW_INCARNATE)
			tr(w, x, "db: incarnation %" PRId64 " skipped", e->incarnation);
		else
			tr(w, x, "db: %s vm%u skipped", p->kind == PW_CLAIM ? "claim of" : "adopt of",
			   p->vm);
		target_scan(w, x); /* look again (hasvcd: at its next poll) */
		return;
	}
	if (p->kind == PW_INCARNATE)
		tr(w, x, "db: incarnation %" PRId64, e->incarnation);
	else if (p->kind == PW_CLAIM)
		tr(w, x, "db: vm%u claimed: Halted, START ISSUED here (incarnation %" PRId64 ")",
		   p->vm, e->incarnation);
	else
		tr(w, x, "db: vm%u's START adopted (incarnation %" PRId64 ")", p->vm, e->incarnation);
	db_changed(w);
}

static void
apply_target_write(struct world *w, struct pwrite *p)
{
	int x = p->writer;
	struct host *hp = &w->h[x];
	struct db_vm *vm = &w->dbvm[p->vm];
	struct db_vm_intent *in = intent_of(w, p->vm);

	if (!hp->powered || hp->life != p->gen)
		return; /* the host died before its write reached the master */
	switch (p->kind) {
	case PW_START_DONE:
		vm->power_state = DB_POWER_RUNNING;
		uuid_host(x, vm->resident_on);
		if (in != NULL && in->op == DB_INTENT_START) {
			w->vm[p->vm].started_mp = must_place(w, in);
			intent_del(w, in);
		} else {
			w->vm[p->vm].started_mp = protected_vm(vm);
		}
		w->vm[p->vm].started_at = w->now;
		tr(w, x, "db: vm%u Running here, intent done", p->vm);
		break;
	case PW_START_FAILED:
		if (in == NULL || in->state != DB_INTENT_ISSUED || host_of(w, in->host) != x)
			return;
		in->state = DB_INTENT_FAILED;
		snprintf(in->error, sizeof(in->error), "not enough free memory on h%d", x);
		tr(w, x, "db: vm%u FAILED here (not enough free memory)", p->vm);
		break;
	case PW_HOST_LIVE:
		if (w->dbhost[x].live)
			return;
		w->dbhost[x].live = 1;
		tr(w, x, "db: host live again");
		break;
	case PW_INCARNATE:
		if (no_incarnation(w)) {
			/* the old core wrote none; sent all the same so that the
			** mutant's schedule draws what the real one does */
			tr(w, x, "db: incarnation ignored (mutant)");
			return;
		}
		hp->inc_busy = 0;
		apply_own_edit(w, p);
		return;
	case PW_CLAIM:
	case PW_ADOPT:
		hp->tgt_busy &= ~LS_BIT(p->vm);
		apply_own_edit(w, p);
		return;
	case PW_HALT: {
		char names[200];
		size_t k = 0;
		names[0] = '\0';
		hp->tgt_busy &= ~p->vms;
		for (unsigned v = 0; v < w->nvm; v++)
			if ((p->vms & LS_BIT(v)) && host_of(w, w->dbvm[v].resident_on) == x &&
			    !(w->vm[v].on & LS_BIT(x))) {
				w->dbvm[v].power_state = DB_POWER_HALTED;
				w->dbvm[v].resident_on[0] = '\0';
				if (k < sizeof(names))
					k += (size_t)snprintf(names + k, sizeof(names) - k, " vm%u", v);
			}
		if (k == 0)
			return;
		tr(w, x, "db: not running here, Halted:%s", names);
		break;
	}
	}
	db_changed(w);
}

static void
ev_db_apply(struct world *w, uint32_t i)
{
	struct pwrite p = w->pw[i];

	w->pw[i].used = 0;
	w->pw[i].edits = NULL;
	if (p.kind == PW_FO)
		apply_fo_write(w, &p);
	else
		apply_target_write(w, &p);
	free(p.edits);
}

/* ---- the target side (hasvc/core.c; core.h, "Incarnations"): a daemon
** writes its incarnation into its host row first; then, in the agreed
** liveset and with the row showing it, it starts the VMs whose START intent
** is ISSUED to its incarnation, adopts those ISSUED to an older one, claims
** the restart of a VM recorded Running here without a domain (halts it if
** it is not to be restarted).  The mutant SIM_MUT_NO_INCARNATION is the old
** core: no incarnation, intents started whoever they were issued to, stale
** VMs restarted directly. ---- */

static int
target_ready(const struct world *w, int x)
{
	const struct host *hp = &w->h[x];

	return running_engine(hp) && w->now >= hp->hung_until && !hp->stalled &&
	       lv_get_state(hp->lv) == LV_STEADY && (lv_get_live(hp->lv) & LS_BIT(x)) &&
	       (no_incarnation(w) || w->dbhost[x].incarnation == hp->dbinc);
}

/* Send one of x's own edits (INCARNATE, CLAIM, ADOPT) of VM v. */
static void
target_edit(struct world *w, int x, int kind, unsigned v)
{
	struct host *hp = &w->h[x];
	struct pwrite *p = pw_send(w, kind, x, hp->life, v);
	struct fo_edit *e = xcalloc(1, sizeof(*e));

	p->edits = e;
	p->nedits = 1;
	e->type = kind == PW_INCARNATE ? FO_E_HOST_INCARNATE
	          : kind == PW_CLAIM   ? FO_E_VM_CLAIM
	                               : FO_E_INTENT_ADOPT;
	uuid_host(x, e->host);
	e->incarnation = hp->dbinc;
	if (kind == PW_INCARNATE) {
		hp->inc_busy = 1;
		return;
	}
	uuid_vm(v, e->vm);
	hp->tgt_busy |= LS_BIT(v);
	if (kind == PW_CLAIM) {
		struct db_vm_intent *in = &e->intent;
		memcpy(in->vm, e->vm, HA_UUID_LEN);
		in->op = DB_INTENT_START;
		in->state = DB_INTENT_ISSUED;
		in->why = DB_WHY_ALWAYS_RUN;
		memcpy(in->host, e->host, HA_UUID_LEN);
		memcpy(in->from, e->host, HA_UUID_LEN);
		in->attempts = 1;
		in->created = WALL0_MS + (int64_t)w->now;
		in->incarnation = hp->dbinc;
		tr(w, x, "claims vm%u (Running here in the database, no domain)", v);
	} else {
		const struct db_vm_intent *in = intent_of(w, v);
		tr(w, x, "adopts vm%u's START (ISSUED to incarnation %" PRId64 ")", v,
		   in != NULL ? in->incarnation : 0);
	}
}

/* x creates VM v's domain (for an intent, or -- the mutant -- on its own). */
static void
target_start(struct world *w, int x, unsigned v, const char *why)
{
	struct vmx *vm = &w->vm[v];

	vm->starting |= LS_BIT(x);
	vm->start_inc[x] = w->h[x].dbinc;
	tr(w, x, "starts vm%u%s", v, why);
	push(w, w->now + (w->vmslow ? VM_START_SLOW_MS : VM_START_MS), EV_VM_START, x, v,
	     w->h[x].life);
}

static void
target_scan(struct world *w, int x)
{
	struct host *hp = &w->h[x];
	uint64_t halt = 0;

	/* hasvcd writes its incarnation before anything else -- once its host
	** is in the agreed liveset (after its admission: core.h) -- and again
	** while its row shows another (a write of its killed predecessor) */
	if (running_engine(hp) && w->now >= hp->hung_until && hp->dbinc > 0 &&
	    lv_get_state(hp->lv) == LV_STEADY && (lv_get_live(hp->lv) & LS_BIT(x)) &&
	    w->dbhost[x].incarnation != hp->dbinc && !hp->inc_busy)
		target_edit(w, x, PW_INCARNATE, 0);
	if (!target_ready(w, x))
		return;
	for (size_t i = 0; i < w->nin; i++) {
		const struct db_vm_intent *in = &w->in[i];
		int v = vm_of(w, in->vm);
		struct vmx *vm;
		if (v < 0 || in->op != DB_INTENT_START || in->state != DB_INTENT_ISSUED ||
		    host_of(w, in->host) != x)
			continue;
		vm = &w->vm[v];
		if ((vm->on | vm->starting) & LS_BIT(x))
			continue; /* under way, or done and the write not applied yet */
		if (no_incarnation(w) || in->incarnation == hp->dbinc)
			target_start(w, x, (unsigned)v, "");
		else if (!(hp->tgt_busy & LS_BIT(v)))
			target_edit(w, x, PW_ADOPT, (unsigned)v);
	}
	/* Running here in the database, no domain (my old self ran it) */
	for (unsigned v = 0; v < w->nvm; v++) {
		const struct db_vm *d = &w->dbvm[v];
		if (host_of(w, d->resident_on) != x ||
		    (d->power_state != DB_POWER_RUNNING && d->power_state != DB_POWER_PAUSED) ||
		    ((w->vm[v].on | w->vm[v].starting) & LS_BIT(x)) || (hp->tgt_busy & LS_BIT(v)) ||
		    intent_of(w, v) != NULL)
			continue;
		if (!w->pool.ha_enabled ||
		    (!protected_vm(d) && d->ha_restart_priority != DB_PRIO_BEST_EFFORT))
			halt |= LS_BIT(v);
		else if (no_incarnation(w))
			target_start(w, x, v, " (Running here in the database, no domain)");
		else
			target_edit(w, x, PW_CLAIM, v);
	}
	if (halt) {
		struct pwrite *p = pw_send(w, PW_HALT, x, hp->life, 0);
		p->vms = halt;
		hp->tgt_busy |= halt;
	}
}

static void
db_changed(struct world *w)
{
	/* every daemon's copy of the database changes (the executor acts
	** only if active, but a new master has a fresh snapshot) */
	for (unsigned h = 0; h < w->n; h++)
		if (w->now >= w->h[h].hung_until)
			fo_feed_db(w, (int)h);
	for (unsigned h = 0; h < w->n; h++)
		target_scan(w, (int)h);
}

static void
ev_vm_start(struct world *w, int x, unsigned v, uint64_t life)
{
	struct vmx *vm = &w->vm[v];
	const struct db_vm_intent *in = intent_of(w, v);
	int from = in != NULL ? host_of(w, in->from) : -1;

	if (life != w->h[x].life || !(vm->starting & LS_BIT(x)) || !w->h[x].powered)
		return;
	vm->starting &= ~LS_BIT(x);
	/* I6: a START is carried out by the incarnation it was ISSUED to (an
	** older one's is adopted first; the mutant does not) */
	if (in != NULL && !no_incarnation(w) && in->op == DB_INTENT_START &&
	    in->state == DB_INTENT_ISSUED && host_of(w, in->host) == x &&
	    in->incarnation != vm->start_inc[x])
		violation(w, IISSUE, "vm%u started on h%d by incarnation %" PRId64 " for a START "
		          "ISSUED to incarnation %" PRId64, v, x, vm->start_inc[x], in->incarnation);
	if (hv_used(w, x, (int)v) + vm_mem(w, v) > w->dbhost[x].memory_total) {
		w->st->start_failed++;
		tr(w, x, "vm%u does not fit (%" PRId64 " MiB free): FAILED", v,
		   (w->dbhost[x].memory_total - hv_used(w, x, (int)v)) >> 20);
		pw_send(w, PW_START_FAILED, x, w->h[x].life, v);
		return;
	}
	/* I2: the incarnation of the host it ran on must be dead (a host
	** powered on again comes back empty); I1: nowhere else. */
	if (from >= 0 && from != x && (vm->on & LS_BIT(from)))
		violation(w, I2, "vm%u restarted on h%d while h%d, where it runs, is alive", v, x, from);
	else if (vm->on & ~LS_BIT(x))
		violation(w, I1, "vm%u runs on two hosts at once (h%d and h%d)", v, x,
		          __builtin_ctzll(vm->on & ~LS_BIT(x)));
	vm->on |= LS_BIT(x);
	w->restarts++;
	w->st->restarts++;
	if (from >= 0)
		tr(w, x, "vm%u running (was on h%d)", v, from);
	else
		tr(w, x, "vm%u running", v);
	if (from >= 0 && from != x && w->h[from].death == D_POWEROFF && !w->h[from].powered) {
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
	pw_send(w, PW_START_DONE, x, w->h[x].life, v);
}

/* ---- I-restart (docs/simulator.md, "Failover"): after a host dies,
** every protected VM it ran runs again within B_restart, whenever
** capacity allows ---- */

/* First fit decreasing of `items` (VM indices) into the free memory of the
** hosts `to`: success proves a packing exists. */
static int
ffd_fits(const struct world *w, uint64_t items, uint64_t to)
{
	int64_t free_[SIM_MAX_HOSTS];
	unsigned idx[SIM_MAX_VMS], n = 0;

	for (unsigned x = 0; x < w->n; x++) {
		free_[x] = w->dbhost[x].memory_total;
		for (unsigned v = 0; v < w->nvm; v++)
			if ((w->vm[v].on | w->vm[v].starting) & LS_BIT(x) ||
			    host_of(w, w->dbvm[v].resident_on) == (int)x)
				free_[x] -= vm_mem(w, v);
	}
	for (uint64_t m = items; m; m &= m - 1)
		idx[n++] = (unsigned)__builtin_ctzll(m);
	for (unsigned i = 1; i < n; i++) /* by memory, largest first */
		for (unsigned j = i; j > 0 && vm_mem(w, idx[j]) > vm_mem(w, idx[j - 1]); j--) {
			unsigned t = idx[j];
			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	for (unsigned i = 0; i < n; i++) {
		int ok = 0;
		for (unsigned x = 0; x < w->n && !ok; x++)
			if ((to & LS_BIT(x)) && free_[x] >= vm_mem(w, idx[i])) {
				free_[x] -= vm_mem(w, idx[i]);
				ok = 1;
			}
		if (!ok)
			return 0;
	}
	return 1;
}

/* Why the window of a death at h is not checked ("" if it is). */
static const char *
restart_excuse(const struct world *w, int h, uint64_t vms, uint64_t *surv)
{
	uint64_t S = 0;

	for (unsigned x = 0; x < w->n; x++) {
		const struct host *xp = &w->h[x];
		if ((int)x == h || !xp->powered)
			continue;
		if (xp->fenced)
			continue; /* it dies soon: the window is not checked then */
		if (xp->down || xp->booting || xp->unadmitted)
			return "a host is being admitted or its daemon restarts";
		if (xp->hung_until > w->now || xp->stalled)
			return "a survivor's daemon hangs or its corosync stalls";
		if (xp->st_mode != SIM_ST_OK)
			return "a survivor's storage is faulty";
		S |= LS_BIT(x);
	}
	if (S == 0)
		return "no survivors";
	for (unsigned a = 0; a < w->n; a++)
		for (unsigned b = 0; b < w->n; b++)
			if ((S & LS_BIT(a)) && (S & LS_BIT(b)) && a != b && !reaches(w, (int)a, (int)b))
				return "survivors are partitioned";
	if (w->extra_delay > 0)
		return "a CPG delay";
	for (unsigned v = 0; v < w->nvm; v++)
		if (protected_vm(&w->dbvm[v]) && w->vm[v].on == 0 && !(vms & LS_BIT(v)))
			return "another failover is under way";
	/* a host down before this one, not yet announced dead: its VMs
	** (best-effort ones too) will want room the capacity check counts */
	for (unsigned v = 0; v < w->nvm; v++) {
		int x = host_of(w, w->dbvm[v].resident_on);
		if (x >= 0 && x != h && !w->h[x].powered && w->vm[v].on == 0 &&
		    (protected_vm(&w->dbvm[v]) || w->dbvm[v].ha_restart_priority == DB_PRIO_BEST_EFFORT))
			return "another host's failover is pending";
	}
	/* best-effort STARTs still to place may take the room first (the
	** executor does not know yet that h's VMs will need it) */
	for (size_t i = 0; i < w->nin; i++)
		if (w->in[i].op == DB_INTENT_START && !must_place(w, &w->in[i]))
			return "best-effort VMs are still to place";
	if (!ffd_fits(w, vms, S))
		return "no capacity";
	*surv = S;
	return "";
}

static void
restart_watch(struct world *w, int h, uint64_t ran)
{
	struct rwatch *rw;
	uint64_t vms = 0, S = 0;
	uint64_t lat = w->vmslow ? VM_START_SLOW_MS : VM_START_MS, b, bdead;
	int64_t ord[SIM_MAX_VMS];
	unsigned nord = 0;
	const char *why;
	uint32_t io = w->tm.cycle_ms + 2 * w->tm.io_deadline_ms;

	for (unsigned v = 0; v < w->nvm; v++)
		if ((ran & LS_BIT(v)) && protected_vm(&w->dbvm[v]))
			vms |= LS_BIT(v);
	if (vms == 0)
		return;
	why = restart_excuse(w, h, vms, &S);
	/* B_dead: the engine's bounds (docs/protocol.md, "Lost hosts"; the
	** power-off and partition bounds of hasvc-sim --timing), drift, ticks */
	bdead = w->tm.ping_ms / 2 + w->tm.restart_ms;
	if (w->tm.ring_ms + 2ull * io + w->tm.fence_restart_ms > bdead)
		bdead = w->tm.ring_ms + 2ull * io + w->tm.fence_restart_ms;
	bdead += bdead / 2000 + 3 * SIM_TICK_LATE_MS + SIM_CPG_MAX_MS + 100;
	/* B_fo: the write marking h dead, then per order group an ISSUE
	** write, the start, the target's write and the group's start delay */
	b = bdead + FO_STEP_MS;
	for (unsigned v = 0; v < w->nvm; v++) {
		int seen = 0;
		if (!protected_vm(&w->dbvm[v]) || !(vms & LS_BIT(v)))
			continue;
		for (unsigned i = 0; i < nord; i++)
			seen |= ord[i] == w->dbvm[v].order;
		if (!seen)
			ord[nord++] = w->dbvm[v].order;
	}
	for (unsigned i = 0; i < nord; i++) {
		int64_t dmax = 0, last = 1;
		for (unsigned j = 0; j < nord; j++)
			last &= ord[j] <= ord[i];
		for (unsigned v = 0; v < w->nvm; v++)
			if ((vms & LS_BIT(v)) && w->dbvm[v].order == ord[i] &&
			    w->dbvm[v].start_delay > dmax)
				dmax = w->dbvm[v].start_delay;
		b += 2 * FO_STEP_MS + lat + (last ? 0 : (uint64_t)dmax * 1000 + dmax);
	}
	b += 500;
	if (why[0] != '\0') {
		w->st->restart_excused++;
		tr(w, -1, "I-restart: h%d's protected VMs not checked (%s)", h, why);
		return;
	}
	if (w->nrw == SIM_MAX_FAULTS)
		return;
	rw = &w->rw[w->nrw];
	rw->host = h;
	rw->vms = vms;
	rw->at = w->now;
	rw->deadline = w->now + b;
	rw->valid = 1;
	tr(w, -1, "I-restart: h%d's protected VMs must run again by %" PRIu64 ".%03" PRIu64
	   " (B_restart %" PRIu64 " ms)", h, rw->deadline / 1000, rw->deadline % 1000, b);
	push(w, rw->deadline, EV_RESTART_CHECK, h, (uint32_t)w->nrw, 0);
	w->nrw++;
}

/* Something else happened in the windows open now: they are not checked. */
static void
restart_disturb(struct world *w, int h, const char *what)
{
	for (unsigned i = 0; i < w->nrw; i++) {
		struct rwatch *rw = &w->rw[i];
		if (!rw->valid || w->now >= rw->deadline || (rw->host == h && rw->at == w->now))
			continue;
		rw->valid = 0;
		w->st->restart_excused++;
		tr(w, -1, "I-restart: h%d's window not checked (%s)", rw->host, what);
	}
}

static void
ev_restart_check(struct world *w, uint32_t i)
{
	struct rwatch *rw = &w->rw[i];
	uint64_t missing = 0;
	char s[200];
	size_t k = 0;

	if (!rw->valid)
		return;
	rw->valid = 0;
	{
		int master = 0;
		for (unsigned h = 0; h < w->n; h++)
			master |= w->h[h].fo_active;
		if (!master) { /* the survivors' rounds did not end well */
			w->st->restart_excused++;
			tr(w, -1, "I-restart: h%d's window not checked (no active master at its end)",
			   rw->host);
			return;
		}
	}
	w->st->restart_checked++;
	for (uint64_t m = rw->vms; m; m &= m - 1)
		if (w->vm[__builtin_ctzll(m)].on == 0)
			missing |= m & -m;
	if (missing == 0) {
		tr(w, -1, "I-restart: h%d's protected VMs run again", rw->host);
		return;
	}
	s[0] = '\0';
	for (uint64_t m = missing; m && k < sizeof(s); m &= m - 1)
		k += (size_t)snprintf(s + k, sizeof(s) - k, "%svm%d", k ? "," : "",
		                      __builtin_ctzll(m));
	violation(w, IRESTART, "%s of h%d not running %" PRIu64 " ms after its death (B_restart; "
	          "capacity allowed)", s, rw->host, w->now - rw->at);
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
	hp->fo_active = 0; /* the daemon stops: its executor with it */
	restart_disturb(w, h, "a host fenced");
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
			if (a->live & LS_BIT(h)) {
				hp->unadmitted = 0; /* hasvcd marks the admission */
				target_scan(w, (int)h); /* in the liveset: its incarnation */
			}
			/* a host in my liveset is not dead: one admitted again
			** runs its own VMs (its old self's are restarted already) */
			hp->dead_known &= ~a->live;
			hp->fo_early &= ~a->live;
			fo_feed_hosts(w, h, FO_EV_LIVESET, a->live);
			if (w->sp->mutant == SIM_MUT_EARLY_DEAD)
				for (uint64_t m = a->lost & ~hp->fo_early; m; m &= m - 1) {
					hp->fo_early |= m & -m;
					fo_feed_hosts(w, h, FO_EV_HOST_DEAD, m & -m);
				}
			/* hasvcd reports its host live again once admitted */
			if ((a->live & LS_BIT(h)) && !w->dbhost[h].live)
				pw_send(w, PW_HOST_LIVE, h, hp->life, 0);
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
				fo_feed_hosts(w, h, FO_EV_HOST_DEAD, LS_BIT(a->host));
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
	fo_role(w, h);
	target_scan(w, h);
	schedule_tick(w, h);
}

/* ---- faults ---- */

static void
apply_fault(struct world *w, const struct sim_fault *f)
{
	char s[128];
	size_t k;

	if (f->kind != SF_SKEW)
		restart_disturb(w, -1, "a fault");
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
		fo_free(hp->fo); /* the executor dies with the daemon */
		hp->fo = NULL;
		hp->fo_active = 0;
		hp->fo_tick_gen++;
		hp->fo_tick_at = SIM_NEVER;
		push(w, w->now + f->ms, EV_RESTART, f->host, 0, ++hp->restart_gen);
		break;
	}
	case SF_DBDELAY:
		w->db_delay = f->ms;
		tr(w, -1, "executor writes apply %" PRIu64 " ms late", f->ms);
		break;
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
	hp->dbinc = w->next_inc++; /* hasvcd's incarnation: a fresh one */
	hp->tgt_busy = 0;
	hp->inc_busy = 0;
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
	/* a new executor (it knows no dead host), and a new incarnation,
	** written into the host row before anything else (target_scan, from
	** host_step below); VMs the database shows here that its hypervisor
	** does not run are claimed or halted once it is in the liveset */
	fo_free(hp->fo);
	{
		struct fo_config fc;
		fo_config_defaults(&fc);
		uuid_host(h, fc.host_uuid);
		hp->fo = fo_new(&fc);
		hp->fo_gen++;
		hp->fo_pending = 0;
		hp->fo_active = 0;
		hp->fo_tick_same = 0;
		hp->fo_tick_at = SIM_NEVER;
		fo_feed_db(w, h); /* its first snapshot */
	}
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
	/* its executor missed the database changes meanwhile */
	if (running_engine(hp)) {
		fo_feed_db(w, h);
		fo_role(w, h);
		fo_schedule(w, h);
		target_scan(w, h);
	}
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
	hp->saved_lost = lv_get_pending_dead(hp->lv);
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
		cfg.pending_dead = hp->saved_lost & ~hp->saved_live;
	}
	return lv_new(&cfg, why, whylen);
}

/* The database at t = 0: every host live and enabled, every VM Running on
** its home host, an executor per host. */
static int
db_init(struct world *w, char *err, size_t errlen)
{
	const struct sim_spec *sp = w->sp;
	static const enum db_restart_priority prio[] = {DB_PRIO_RESTART, DB_PRIO_BEST_EFFORT,
	                                                DB_PRIO_NONE};
	unsigned nv = 0;

	uuid_host(SIM_MAX_HOSTS + 1, w->pool.uuid);
	uuid_host(0, w->pool.master);
	w->pool.ha_enabled = 1;
	w->pool.ha_reboot_vm_on_internal_shutdown = 1;
	for (unsigned h = 0; h < w->n; h++) {
		struct db_host *d = &w->dbhost[h];
		uuid_host((int)h, d->uuid);
		snprintf(d->name_label, sizeof(d->name_label), "h%u", h);
		d->enabled = 1;
		d->live = 1;
		d->memory_total = (int64_t)(sp->host_mem_mb[h] ? sp->host_mem_mb[h] : SIM_HOST_MEM_MB)
		                  << 20;
		d->cluster_nodeid = h + 1;
		/* every daemon at t = 0 has written its incarnation */
		d->incarnation = (int64_t)h + 1;
		w->h[h].dbinc = d->incarnation;
	}
	w->next_inc = (int64_t)w->n + 1;
	for (unsigned i = 0; i < (sp->nvm ? sp->nvm : sp->n * sp->vms); i++) {
		struct sim_vmspec def = {(int)(i / (sp->vms ? sp->vms : 1)), SIM_VM_MEM_MB, 1,
		                         SIM_PRIO_RESTART, 0, 0};
		const struct sim_vmspec *vs = sp->nvm ? &sp->vm[i] : &def;
		struct db_vm *d = &w->dbvm[nv];
		if (vs->home < 0 || vs->home >= (int)w->n) {
			snprintf(err, errlen, "vm%u: home host h%d out of range", nv, vs->home);
			return -1;
		}
		uuid_vm(nv, d->uuid);
		snprintf(d->name_label, sizeof(d->name_label), "vm%u", nv);
		d->power_state = DB_POWER_RUNNING;
		uuid_host(vs->home, d->resident_on);
		d->memory_static_max = (int64_t)(vs->mem_mb ? vs->mem_mb : SIM_VM_MEM_MB) << 20;
		d->VCPUs_max = vs->vcpus ? vs->vcpus : 1;
		d->ha_restart_priority = prio[vs->prio >= 0 && vs->prio <= 2 ? vs->prio : 0];
		d->ha_always_run = vs->prio == SIM_PRIO_RESTART;
		d->order = vs->order;
		d->start_delay = vs->delay_s;
		w->vm[nv].on = LS_BIT(vs->home);
		nv++;
	}
	w->nvm = nv;
	for (unsigned h = 0; h < w->n; h++) {
		struct fo_config fc;
		if (hv_used(w, (int)h, -1) > w->dbhost[h].memory_total) {
			snprintf(err, errlen, "h%u: its VMs need more memory than it has", h);
			return -1;
		}
		fo_config_defaults(&fc);
		uuid_host((int)h, fc.host_uuid);
		w->h[h].fo = fo_new(&fc);
		w->h[h].fo_gen = 1;
		w->h[h].fo_tick_at = SIM_NEVER;
	}
	return 0;
}

static int
world_init(struct world *w, const struct sim_spec *sp, char *err, size_t errlen)
{
	char why[200];

	w->sp = sp;
	w->n = sp->n;
	w->rng = sp->seed ^ 0x5eed5eed5eedull;
	w->freemsg = -1;
	if (sp->n < 1 || sp->n > SIM_MAX_HOSTS ||
	    (sp->nvm == 0 && sp->n * sp->vms > SIM_MAX_VMS) || sp->nvm > SIM_MAX_VMS) {
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
	return db_init(w, err, errlen);
}

static void
world_free(struct world *w)
{
	for (unsigned h = 0; h < w->n; h++) {
		lv_free(w->h[h].lv);
		fo_free(w->h[h].fo);
		free(w->h[h].held);
	}
	for (size_t i = 0; i < w->npw; i++)
		if (w->pw[i].used)
			free(w->pw[i].edits);
	free(w->pw);
	fo_actions_free(&w->foacts);
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
			fo_feed_db(w, e.host); /* the executor's first snapshot */
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
			ev_vm_start(w, e.host, e.a, e.gen);
			break;
		case EV_FO_TICK:
			ev_fo_tick(w, e.host, e.gen);
			break;
		case EV_DB_APPLY:
			ev_db_apply(w, e.a);
			break;
		case EV_RESTART_CHECK:
			ev_restart_check(w, e.a);
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
