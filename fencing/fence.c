/*
** The fence state machine (fencing/fence.h, docs/fencing.md).
**
** The table below is the whole behaviour: a row per state, a column per
** (internal) event; a cell names its handler and the next state.  The public
** DECISION event is split by verdict into three columns (SURVIVE, WAIT,
** FENCE) before the lookup, so the table says outright what a FENCE does in
** each state.  A cell without a handler is a rejection: logged, counted, no
** action, no change.  A handler may refuse its event (-1: an invalid
** argument) or, in the few cells marked NEXT_GUARDED, pick the next state
** itself (the re-arm of a maintenance window: ARMED if my host is still in
** the liveset, else JOINING; the reset bound; a due pet).
**
** Owns: the copy of the fence record handed out with WRITE_RECORD.
*/
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fencing/fence.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* Internal events: the public ones with DECISION split by verdict. */
enum ev {
	E_ENABLE,
	E_DISABLE,
	E_JOINED,
	E_LEFT,
	E_SURVIVE,
	E_WAIT,
	E_FENCE,
	E_TICK,
	E_LOOP,
	E_IO,
	E_WRITTEN,
	E_MDISARM,
	E_MARM,
	E_COUNT,
};

static const char *const ev_names[E_COUNT] = {
    "ha_enable",        "ha_disable",    "joined",         "left",
    "decision survive", "decision wait", "decision fence", "tick",
    "loop_alive",       "io_progress",   "record_written", "maintenance_disarm",
    "maintenance_arm",
};

struct fence {
	struct fence_config cfg;
	enum fence_state state;
	int armed;                   /* we asked for WD_ARM and no WD_DISARM since */
	int in_liveset;              /* joined and not left (nor fenced out in maintenance) */
	enum fence_verdict last;     /* the engine's last decision */
	uint64_t last_loop, last_io; /* when loop_alive / io_progress were last seen */
	uint64_t next_pet;           /* ARMED */
	int stalled;                 /* ARMED: pets are being withheld (logged once) */
	uint64_t until;              /* SUSPENDED: re-arm deadline */
	uint64_t fence_deadline;     /* FENCING: RESET at the latest then */
	uint64_t next_reset;         /* FENCED: RESET again then */
	struct fence_record rec;     /* FENCING, FENCED: the record */
	struct fence_stats stats;
};

typedef int (*handler_fn)(struct fence *f, const struct fence_event *ev, uint64_t now,
                          struct fence_actions *out, int next);

#define NEXT_GUARDED (-1)

struct cell {
	handler_fn fn; /* NULL: rejected */
	int next;      /* a state, or NEXT_GUARDED: the handler says */
};

/* ---- actions -------------------------------------------------------------- */

static struct fence_action *
act(struct fence_actions *out, enum fence_action_type type)
{
	struct fence_action *a;

	ha_assert(out->n < FENCE_ACTIONS_MAX);
	a = &out->v[out->n++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	return a;
}

static void
do_arm(struct fence *f, uint64_t now, struct fence_actions *out)
{
	act(out, FENCE_ACT_WD_ARM)->timeout_ms = f->cfg.wd_ms;
	f->armed = 1;
	f->stats.arms++;
	/* Arming counts as a pet; the loop and the I/O side start with a clean
	** slate (they delivered the event that armed us). */
	f->next_pet = now + f->cfg.pet_ms;
	f->last_loop = f->last_io = now;
	f->stalled = 0;
}

static void
do_disarm(struct fence *f, struct fence_actions *out)
{
	if (!f->armed)
		return;
	act(out, FENCE_ACT_WD_DISARM);
	f->armed = 0;
	f->stats.disarms++;
}

static void
do_reset(struct fence *f, uint64_t now, struct fence_actions *out, const char *why)
{
	struct fence_action *a = act(out, FENCE_ACT_RESET);
	const char *name = f->rec.reason_text[0] ? f->rec.reason_text : "fence";

	snprintf(a->reason, sizeof(a->reason), "self-fence (%s, reason %" PRIu32 "): %s", name,
	         f->rec.reason, why);
	f->stats.resets++;
	f->next_reset = now + f->cfg.reset_retry_ms;
}

/* ---- handlers ------------------------------------------------------------- */

static int
h_keep(struct fence *f, const struct fence_event *ev, uint64_t now, struct fence_actions *out,
       int next)
{
	return next;
}

static int
h_enable(struct fence *f, const struct fence_event *ev, uint64_t now, struct fence_actions *out,
         int next)
{
	f->in_liveset = 0;
	f->last = FENCE_V_WAIT;
	return next;
}

static int
h_disable(struct fence *f, const struct fence_event *ev, uint64_t now, struct fence_actions *out,
          int next)
{
	do_disarm(f, out);
	f->in_liveset = 0;
	return next;
}

static int
h_join_arm(struct fence *f, const struct fence_event *ev, uint64_t now, struct fence_actions *out,
           int next)
{
	f->in_liveset = 1;
	do_arm(f, now, out);
	return next;
}

static int
h_join_note(struct fence *f, const struct fence_event *ev, uint64_t now, struct fence_actions *out,
            int next)
{
	f->in_liveset = 1;
	return next;
}

static int
h_left(struct fence *f, const struct fence_event *ev, uint64_t now, struct fence_actions *out,
       int next)
{
	f->in_liveset = 0;
	do_disarm(f, out);
	return next;
}

static int
h_verdict(struct fence *f, const struct fence_event *ev, uint64_t now, struct fence_actions *out,
          int next)
{
	f->last = ev->verdict;
	return next;
}

/* JOINING, ARMED: stop petting at once (the state leaves ARMED), never
** disarm, write the record, and reset when it is durable or at the bound. */
static int
h_fence(struct fence *f, const struct fence_event *ev, uint64_t now, struct fence_actions *out,
        int next)
{
	f->last = FENCE_V_FENCE;
	if (ev->record != NULL)
		f->rec = *ev->record;
	else
		memset(&f->rec, 0, sizeof(f->rec));
	f->rec.reason = ev->reason;
	f->rec.mono_ms = now;
	act(out, FENCE_ACT_WRITE_RECORD)->record = &f->rec;
	f->fence_deadline = now + f->cfg.record_bound_ms;
	log_errx("fence: self-fence decided (%s, reason %" PRIu32 "): %s; watchdog no longer "
	         "petted, writing the fence record, reset within %" PRIu32 " ms",
	         f->rec.reason_text[0] ? f->rec.reason_text : "no name", f->rec.reason,
	         f->rec.detail[0] ? f->rec.detail : "no detail", f->cfg.record_bound_ms);
	return next;
}

/* SUSPENDED: maintenance means no fencing; the engine says my host is out,
** so the re-arm goes through JOINING. */
static int
h_fence_suppressed(struct fence *f, const struct fence_event *ev, uint64_t now,
                   struct fence_actions *out, int next)
{
	f->last = FENCE_V_FENCE;
	f->in_liveset = 0;
	f->stats.fences_suppressed++;
	log_warnx("fence: a fence decision (reason %" PRIu32 ") during maintenance is not acted "
	          "on; the watchdog will re-arm only after the host rejoins the liveset",
	          ev->reason);
	return next;
}

static int
pets_healthy(struct fence *f, uint64_t now, const char **why)
{
	uint64_t window = 2 * (uint64_t)f->cfg.pet_ms;

	if (f->last == FENCE_V_FENCE) {
		*why = "the last decision is fence";
		return 0;
	}
	if (now - f->last_loop > window) {
		*why = "the event loop made no progress";
		return 0;
	}
	if (f->cfg.statefile && now - f->last_io > window) {
		*why = "the statefile results are not being handled";
		return 0;
	}
	return 1;
}

static int
h_tick_armed(struct fence *f, const struct fence_event *ev, uint64_t now, struct fence_actions *out,
             int next)
{
	const char *why = NULL;

	if (now < f->next_pet)
		return next;
	f->next_pet = now + f->cfg.pet_ms;
	if (!pets_healthy(f, now, &why)) {
		f->stats.pets_skipped++;
		if (!f->stalled)
			log_errx("fence: not petting the watchdog: %s for over %" PRIu32
			         " ms; it fires %" PRIu32 " ms after the last pet",
			         why, 2 * f->cfg.pet_ms, f->cfg.wd_ms);
		f->stalled = 1;
		return next;
	}
	if (f->stalled)
		log_notice("fence: petting the watchdog again");
	f->stalled = 0;
	act(out, FENCE_ACT_WD_PET);
	f->stats.pets++;
	return next;
}

static int
rearm(struct fence *f, uint64_t now, struct fence_actions *out)
{
	if (!f->in_liveset)
		return FENCE_S_JOINING;
	do_arm(f, now, out);
	return FENCE_S_ARMED;
}

static int
h_tick_suspended(struct fence *f, const struct fence_event *ev, uint64_t now,
                 struct fence_actions *out, int next)
{
	if (now < f->until)
		return FENCE_S_SUSPENDED;
	log_notice("fence: the maintenance window ended: re-arming");
	return rearm(f, now, out);
}

static int
h_maint_arm(struct fence *f, const struct fence_event *ev, uint64_t now, struct fence_actions *out,
            int next)
{
	return rearm(f, now, out);
}

static int
h_maint_disarm(struct fence *f, const struct fence_event *ev, uint64_t now,
               struct fence_actions *out, int next)
{
	uint64_t until = ev->until;

	if (until <= now) {
		log_warnx("fence: maintenance_disarm with a deadline in the past refused");
		return -1;
	}
	if (until - now > f->cfg.max_suspend_ms)
		until = now + f->cfg.max_suspend_ms;
	do_disarm(f, out);
	f->until = until;
	return next;
}

static int
h_tick_fencing(struct fence *f, const struct fence_event *ev, uint64_t now,
               struct fence_actions *out, int next)
{
	char why[96];

	if (now < f->fence_deadline)
		return FENCE_S_FENCING;
	f->stats.record_timeouts++;
	snprintf(why, sizeof(why), "the fence record was not durable within %" PRIu32 " ms",
	         f->cfg.record_bound_ms);
	do_reset(f, now, out, why);
	return FENCE_S_FENCED;
}

static int
h_written(struct fence *f, const struct fence_event *ev, uint64_t now, struct fence_actions *out,
          int next)
{
	do_reset(f, now, out, "the fence record is written");
	return next;
}

static int
h_tick_fenced(struct fence *f, const struct fence_event *ev, uint64_t now,
              struct fence_actions *out, int next)
{
	if (now >= f->next_reset)
		do_reset(f, now, out, "the host is still running after a reset request");
	return next;
}

static int
h_loop(struct fence *f, const struct fence_event *ev, uint64_t now, struct fence_actions *out,
       int next)
{
	f->last_loop = now;
	return next;
}

static int
h_io(struct fence *f, const struct fence_event *ev, uint64_t now, struct fence_actions *out,
     int next)
{
	f->last_io = now;
	return next;
}

/* ---- the table ------------------------------------------------------------ */

/* clang-format off */
#define OFF FENCE_S_OFF
#define JOI FENCE_S_JOINING
#define ARM FENCE_S_ARMED
#define SUS FENCE_S_SUSPENDED
#define FNG FENCE_S_FENCING
#define FND FENCE_S_FENCED
#define GRD NEXT_GUARDED
#define REJ {NULL, 0}

/* docs/fencing.md renders this table; keep the two in step. */
static const struct cell table[FENCE_S_COUNT][E_COUNT] = {
    [OFF] =
        {
            [E_ENABLE] = {h_enable, JOI},
            [E_DISABLE] = {h_keep, OFF},
            [E_JOINED] = REJ,
            [E_LEFT] = REJ,
            [E_SURVIVE] = REJ,
            [E_WAIT] = REJ,
            [E_FENCE] = REJ,
            [E_TICK] = {h_keep, OFF},
            [E_LOOP] = {h_loop, OFF},
            [E_IO] = {h_io, OFF},
            [E_WRITTEN] = REJ,
            [E_MDISARM] = REJ,
            [E_MARM] = REJ,
        },
    [JOI] =
        {
            [E_ENABLE] = REJ,
            [E_DISABLE] = {h_disable, OFF},
            [E_JOINED] = {h_join_arm, ARM},
            [E_LEFT] = {h_left, JOI},
            [E_SURVIVE] = {h_verdict, JOI},
            [E_WAIT] = {h_verdict, JOI},
            [E_FENCE] = {h_fence, FNG},
            [E_TICK] = {h_keep, JOI},
            [E_LOOP] = {h_loop, JOI},
            [E_IO] = {h_io, JOI},
            [E_WRITTEN] = REJ,
            [E_MDISARM] = {h_maint_disarm, SUS},
            [E_MARM] = REJ,
        },
    [ARM] =
        {
            [E_ENABLE] = REJ,
            [E_DISABLE] = {h_disable, OFF},
            [E_JOINED] = {h_join_note, ARM},
            [E_LEFT] = {h_left, JOI},
            [E_SURVIVE] = {h_verdict, ARM},
            [E_WAIT] = {h_verdict, ARM},
            [E_FENCE] = {h_fence, FNG},
            [E_TICK] = {h_tick_armed, ARM},
            [E_LOOP] = {h_loop, ARM},
            [E_IO] = {h_io, ARM},
            [E_WRITTEN] = REJ,
            [E_MDISARM] = {h_maint_disarm, SUS},
            [E_MARM] = REJ,
        },
    [SUS] =
        {
            [E_ENABLE] = REJ,
            [E_DISABLE] = {h_disable, OFF},
            [E_JOINED] = {h_join_note, SUS},
            [E_LEFT] = {h_left, SUS},
            [E_SURVIVE] = {h_verdict, SUS},
            [E_WAIT] = {h_verdict, SUS},
            [E_FENCE] = {h_fence_suppressed, SUS},
            [E_TICK] = {h_tick_suspended, GRD},
            [E_LOOP] = {h_loop, SUS},
            [E_IO] = {h_io, SUS},
            [E_WRITTEN] = REJ,
            [E_MDISARM] = {h_maint_disarm, SUS},
            [E_MARM] = {h_maint_arm, GRD},
        },
    [FNG] =
        {
            [E_ENABLE] = REJ,
            [E_DISABLE] = REJ,
            [E_JOINED] = REJ,
            [E_LEFT] = REJ,
            [E_SURVIVE] = REJ,
            [E_WAIT] = REJ,
            [E_FENCE] = REJ,
            [E_TICK] = {h_tick_fencing, GRD},
            [E_LOOP] = {h_loop, FNG},
            [E_IO] = {h_io, FNG},
            [E_WRITTEN] = {h_written, FND},
            [E_MDISARM] = REJ,
            [E_MARM] = REJ,
        },
    [FND] =
        {
            [E_ENABLE] = REJ,
            [E_DISABLE] = REJ,
            [E_JOINED] = REJ,
            [E_LEFT] = REJ,
            [E_SURVIVE] = REJ,
            [E_WAIT] = REJ,
            [E_FENCE] = REJ,
            [E_TICK] = {h_tick_fenced, FND},
            [E_LOOP] = {h_loop, FND},
            [E_IO] = {h_io, FND},
            [E_WRITTEN] = {h_keep, FND}, /* late, after the bound: nothing to do */
            [E_MDISARM] = REJ,
            [E_MARM] = REJ,
        },
};

/* clang-format on */

/* ---- the machine ---------------------------------------------------------- */

struct fence *
fence_new(const struct fence_config *cfg, char *err, size_t errlen)
{
	struct fence *f;

	if (cfg->wd_ms == 0 || cfg->pet_ms == 0 || 4 * (uint64_t)cfg->pet_ms > cfg->wd_ms) {
		snprintf(err, errlen,
		         "watchdog timeout %" PRIu32 " ms and pet period %" PRIu32
		         " ms: need 0 < 4 pets <= timeout",
		         cfg->wd_ms, cfg->pet_ms);
		return NULL;
	}
	f = xcalloc(1, sizeof(*f));
	f->cfg = *cfg;
	if (f->cfg.record_bound_ms == 0)
		f->cfg.record_bound_ms = 200;
	if (f->cfg.max_suspend_ms == 0)
		f->cfg.max_suspend_ms = 3600 * 1000;
	if (f->cfg.reset_retry_ms == 0)
		f->cfg.reset_retry_ms = 1000;
	f->state = FENCE_S_OFF;
	f->last = FENCE_V_WAIT;
	return f;
}

void
fence_free(struct fence *f)
{
	xfree(f);
}

static int
internal_event(const struct fence_event *ev)
{
	switch (ev->type) {
	case FENCE_EV_HA_ENABLE:
		return E_ENABLE;
	case FENCE_EV_HA_DISABLE:
		return E_DISABLE;
	case FENCE_EV_JOINED:
		return E_JOINED;
	case FENCE_EV_LEFT:
		return E_LEFT;
	case FENCE_EV_DECISION:
		switch (ev->verdict) {
		case FENCE_V_SURVIVE:
			return E_SURVIVE;
		case FENCE_V_WAIT:
			return E_WAIT;
		case FENCE_V_FENCE:
			return E_FENCE;
		}
		return -1;
	case FENCE_EV_TICK:
		return E_TICK;
	case FENCE_EV_LOOP_ALIVE:
		return E_LOOP;
	case FENCE_EV_IO_PROGRESS:
		return E_IO;
	case FENCE_EV_RECORD_WRITTEN:
		return E_WRITTEN;
	case FENCE_EV_MAINT_DISARM:
		return E_MDISARM;
	case FENCE_EV_MAINT_ARM:
		return E_MARM;
	case FENCE_EV_COUNT:
		break;
	}
	return -1;
}

int
fence_step(struct fence *f, const struct fence_event *ev, uint64_t now, struct fence_actions *out)
{
	int e = internal_event(ev), next;
	enum fence_state from = f->state;
	const struct cell *c;

	out->n = 0;
	f->stats.steps++;
	if (e < 0) {
		f->stats.rejected++;
		log_warnx("fence: unknown event %d rejected in state %s", (int)ev->type,
		          fence_state_name(from));
		return -1;
	}
	c = &table[from][e];
	if (c->fn == NULL) {
		f->stats.rejected++;
		log_warnx("fence: event %s rejected in state %s", ev_names[e],
		          fence_state_name(from));
		return -1;
	}
	next = c->fn(f, ev, now, out, c->next);
	if (next < 0) {
		ha_assert(out->n == 0);
		f->stats.rejected++;
		log_warnx("fence: event %s refused in state %s", ev_names[e],
		          fence_state_name(from));
		return -1;
	}
	ha_assert(next < FENCE_S_COUNT);
	f->state = (enum fence_state)next;
	if (f->state != from)
		log_notice("fence: event %s: %s -> %s", ev_names[e], fence_state_name(from),
		           fence_state_name(f->state));
	/* The invariants of fence.h. */
	ha_assert(!f->armed || f->state == FENCE_S_ARMED || f->state == FENCE_S_FENCING ||
	          f->state == FENCE_S_FENCED);
	return 0;
}

uint64_t
fence_next_deadline(const struct fence *f)
{
	switch (f->state) {
	case FENCE_S_ARMED:
		return f->next_pet;
	case FENCE_S_SUSPENDED:
		return f->until;
	case FENCE_S_FENCING:
		return f->fence_deadline;
	case FENCE_S_FENCED:
		return f->next_reset;
	default:
		return UINT64_MAX;
	}
}

enum fence_state
fence_get_state(const struct fence *f)
{
	return f->state;
}

int
fence_is_armed(const struct fence *f)
{
	return f->armed;
}

void
fence_get_stats(const struct fence *f, struct fence_stats *out)
{
	*out = f->stats;
}

const char *
fence_state_name(int s)
{
	static const char *const names[FENCE_S_COUNT] = {"off",       "joining", "armed",
	                                                 "suspended", "fencing", "fenced"};

	return s >= 0 && s < FENCE_S_COUNT ? names[s] : "?";
}

const char *
fence_event_name(int e)
{
	static const char *const names[FENCE_EV_COUNT] = {
	    "ha_enable",       "ha_disable",
	    "joined",          "left",
	    "decision",        "tick",
	    "loop_alive",      "io_progress",
	    "record_written",  "maintenance_disarm",
	    "maintenance_arm",
	};

	return e >= 0 && e < FENCE_EV_COUNT ? names[e] : "?";
}

const char *
fence_action_name(int a)
{
	static const char *const names[] = {"?",         "wd_arm",       "wd_pet",
	                                    "wd_disarm", "write_record", "reset"};

	return a >= 0 && (size_t)a < ARRAY_SIZE(names) ? names[a] : "?";
}

const char *
fence_verdict_name(int v)
{
	static const char *const names[] = {"survive", "wait", "fence"};

	return v >= 0 && (size_t)v < ARRAY_SIZE(names) ? names[v] : "?";
}
