/*
** The watchdog keeper's logic (fencing/wdkeep.h, docs/fencing.md "The
** keeper").
**
** The table below is the whole behaviour: a row per state, a column per
** (internal) event; a cell names its handler and the next state.  The public
** MSG event is split by message type (HELLO, ARM, PET, DISARM, RESET, and
** STATUS, which a daemon never sends) before the lookup, so the table says
** outright what a DISARM does in FENCED: nothing, it is rejected.  A cell
** without a handler is a rejection: logged, counted, no action, no change.
** A handler may refuse its event (-1): a second CONNECT, a DISCONNECT or a
** message without a connection.
**
** Connection and lease are orthogonal to the state: `connected`, `seen_pet`
** (a PET arrived on this connection), `last_pet` and `lease` feed one
** predicate, may_pet(), that every pet goes through.
*/
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fencing/wdkeep.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* Internal events: the public ones with MSG split by message type. */
enum ev {
	E_CONNECT,
	E_DISCONNECT,
	E_HELLO,
	E_ARM,
	E_PET,
	E_DISARM,
	E_RESET,
	E_STATUS,
	E_FENCE,
	E_TICK,
	E_COUNT,
};

static const char *const ev_names[E_COUNT] = {
    "connect",    "disconnect", "msg hello",  "msg arm", "msg pet",
    "msg disarm", "msg reset",  "msg status", "msg fence", "tick",
};

/* Why pets are withheld while ARMED (logged once per stop). */
enum stop {
	STOP_NONE = 0,
	STOP_HUNG,  /* a connected daemon's PETs stopped */
	STOP_LEASE, /* now >= lease */
};

struct wdk {
	enum wdk_state state;
	uint32_t alive_cfg;  /* 0: 2 pet_ms */
	int connected;       /* a daemon is connected */
	int seen_pet;        /* ... and has sent a PET on this connection */
	uint32_t pid;        /* its HELLO pid (0: none yet) */
	uint64_t last_pet;   /* when its last PET arrived */
	uint64_t lease;      /* the greatest lease ever given */
	int armed;           /* the driver is armed, as far as we asked */
	uint32_t timeout_ms; /* armed: the timeout */
	uint32_t pet_ms;     /* armed: the pet period */
	uint64_t next_pet;   /* ARMED: the next tick */
	enum stop stopped;   /* ARMED: pets withheld, and why */
	struct wdk_stats stats;
};

typedef int (*handler_fn)(struct wdk *k, const struct wdk_event *ev, uint64_t now,
                          struct wdk_actions *out, int next);

struct cell {
	handler_fn fn; /* NULL: rejected */
	int next;
};

/* ---- actions -------------------------------------------------------------- */

static struct wdk_action *
act(struct wdk_actions *out, enum wdk_action_type type)
{
	struct wdk_action *a;

	ha_assert(out->n < WDK_ACTIONS_MAX);
	a = &out->v[out->n++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	return a;
}

static uint32_t
alive_ms(const struct wdk *k)
{
	return k->alive_cfg != 0 ? k->alive_cfg : 2 * k->pet_ms;
}

/* The pet rule of wdkeep.h.  *why: the stop reason when 0. */
static int
may_pet(const struct wdk *k, uint64_t now, enum stop *why)
{
	*why = STOP_NONE;
	if (k->state != WDK_S_ARMED || !k->armed)
		return 0;
	if (now >= k->lease) {
		*why = STOP_LEASE;
		return 0;
	}
	if (k->connected && k->seen_pet && now - k->last_pet > alive_ms(k)) {
		*why = STOP_HUNG;
		return 0;
	}
	return 1;
}

static void
do_pet(struct wdk *k, uint64_t now, struct wdk_actions *out)
{
	if (k->stopped != STOP_NONE)
		act(out, WDK_ACT_RESUMED);
	act(out, WDK_ACT_PET);
	k->stats.pets++;
	if (!k->connected || !k->seen_pet)
		k->stats.lease_pets++;
	k->next_pet = now + k->pet_ms;
	if (k->stopped != STOP_NONE)
		log_notice("wdkeep: petting the watchdog again");
	k->stopped = STOP_NONE;
}

static void
note_stop(struct wdk *k, uint64_t now, enum stop why, struct wdk_actions *out)
{
	struct wdk_action *a;

	if (why == k->stopped)
		return;
	k->stopped = why;
	a = act(out, WDK_ACT_STOPPED);
	if (why == STOP_HUNG)
		snprintf(a->reason, sizeof(a->reason),
		         "hasvcd (pid %" PRIu32 ") stopped answering: the watchdog keeper stopped "
		         "petting",
		         k->pid);
	else
		snprintf(a->reason, sizeof(a->reason),
		         "hasvcd gone and its lease ran out: the watchdog keeper stopped petting");
	if (why == STOP_HUNG) {
		k->stats.hung_stops++;
		log_errx("wdkeep: hung daemon: pets stopped (pid %" PRIu32 " connected, its last "
		         "PET %" PRIu64 " ms ago, over %" PRIu32 " ms); the watchdog fires "
		         "%" PRIu32 " ms after the last pet",
		         k->pid, now - k->last_pet, alive_ms(k), k->timeout_ms);
	} else if (why == STOP_LEASE) {
		k->stats.lease_stops++;
		log_errx("wdkeep: lease ran out at %" PRIu64 " (now %" PRIu64 "): pets stopped; "
		         "the watchdog fires %" PRIu32 " ms after the last pet",
		         k->lease, now, k->timeout_ms);
	}
}

/* ---- handlers ------------------------------------------------------------- */

static int
h_keep(struct wdk *k, const struct wdk_event *ev, uint64_t now, struct wdk_actions *out, int next)
{
	return next;
}

static int
h_connect(struct wdk *k, const struct wdk_event *ev, uint64_t now, struct wdk_actions *out,
          int next)
{
	if (k->connected) {
		log_warnx("wdkeep: a second daemon connection refused (pid %" PRIu32
		          " is connected)",
		          k->pid);
		return -1;
	}
	k->connected = 1;
	k->seen_pet = 0;
	k->pid = 0;
	log_info("wdkeep: a daemon connected");
	return next;
}

static int
h_disconnect(struct wdk *k, const struct wdk_event *ev, uint64_t now, struct wdk_actions *out,
             int next)
{
	if (!k->connected)
		return -1;
	k->connected = 0;
	k->seen_pet = 0;
	if (k->state != WDK_S_ARMED)
		log_info("wdkeep: daemon gone (pid %" PRIu32 "), watchdog %s", k->pid,
		         wdk_state_name(k->state));
	else if (now < k->lease)
		log_warnx("wdkeep: daemon gone (pid %" PRIu32 "), petting until lease at %" PRIu64
		          " (%" PRIu64 " ms from now), then the watchdog fires %" PRIu32
		          " ms later",
		          k->pid, k->lease, k->lease - now, k->timeout_ms);
	else
		log_errx("wdkeep: daemon gone (pid %" PRIu32 ") and its lease ran out at %" PRIu64
		         ": not petting; the watchdog fires %" PRIu32 " ms after the last pet",
		         k->pid, k->lease, k->timeout_ms);
	k->pid = 0;
	return next;
}

static int
h_hello(struct wdk *k, const struct wdk_event *ev, uint64_t now, struct wdk_actions *out, int next)
{
	k->pid = ev->msg->u.hello.pid;
	log_info("wdkeep: daemon pid %" PRIu32 " says hello (watchdog %s)", k->pid,
	         wdk_state_name(k->state));
	act(out, WDK_ACT_STATUS);
	return next;
}

/* DISARMED: arm.  Arming counts as a pet. */
static int
h_arm(struct wdk *k, const struct wdk_event *ev, uint64_t now, struct wdk_actions *out, int next)
{
	k->timeout_ms = ev->msg->u.arm.timeout_ms;
	k->pet_ms = ev->msg->u.arm.pet_ms;
	act(out, WDK_ACT_ARM)->timeout_ms = k->timeout_ms;
	k->armed = 1;
	k->stats.arms++;
	k->next_pet = now + k->pet_ms;
	k->stopped = STOP_NONE;
	log_notice("wdkeep: arming the watchdog: %" PRIu32 " ms, pet every %" PRIu32 " ms",
	           k->timeout_ms, k->pet_ms);
	act(out, WDK_ACT_STATUS);
	return next;
}

/* ARMED: the same timeout is a restarted daemon arming again: nothing to do
** to the driver.  Another timeout re-times it (which also counts as a pet). */
static int
h_rearm(struct wdk *k, const struct wdk_event *ev, uint64_t now, struct wdk_actions *out, int next)
{
	uint32_t t = ev->msg->u.arm.timeout_ms;

	if (ev->msg->u.arm.pet_ms != k->pet_ms) {
		k->pet_ms = ev->msg->u.arm.pet_ms;
		if (k->next_pet > now + k->pet_ms)
			k->next_pet = now + k->pet_ms;
	}
	if (t != k->timeout_ms) {
		log_notice("wdkeep: re-timing the watchdog: %" PRIu32 " -> %" PRIu32 " ms",
		           k->timeout_ms, t);
		k->timeout_ms = t;
		act(out, WDK_ACT_ARM)->timeout_ms = t;
		k->stats.arms++;
		k->next_pet = now + k->pet_ms;
	}
	act(out, WDK_ACT_STATUS);
	return next;
}

static int
h_pet(struct wdk *k, const struct wdk_event *ev, uint64_t now, struct wdk_actions *out, int next)
{
	enum stop why;

	if (ev->msg->u.pet.lease_ms > k->lease)
		k->lease = ev->msg->u.pet.lease_ms;
	k->last_pet = now;
	k->seen_pet = 1;
	if (may_pet(k, now, &why))
		do_pet(k, now, out);
	else if (k->state == WDK_S_ARMED)
		note_stop(k, now, why, out);
	return next;
}

static int
h_disarm(struct wdk *k, const struct wdk_event *ev, uint64_t now, struct wdk_actions *out, int next)
{
	if (k->armed) {
		act(out, WDK_ACT_DISARM);
		k->stats.disarms++;
		log_notice("wdkeep: disarming the watchdog");
	}
	k->armed = 0;
	k->timeout_ms = 0;
	k->pet_ms = 0;
	k->stopped = STOP_NONE;
	act(out, WDK_ACT_STATUS);
	return next;
}

static int
h_reset(struct wdk *k, const struct wdk_event *ev, uint64_t now, struct wdk_actions *out, int next)
{
	struct wdk_action *a = act(out, WDK_ACT_RESET);

	snprintf(a->reason, sizeof(a->reason), "%s", ev->msg->u.reset.reason);
	k->stats.resets++;
	log_errx("wdkeep: daemon pid %" PRIu32 " asks for a reset: %s; never petting again", k->pid,
	         a->reason);
	return next;
}

/* FENCE: never pet again, and say so (STATUS fenced) before the daemon
** writes its fence record.  A watchdog not armed yet is armed first, never
** to be petted: the host then dies within W even if no reset comes. */
static int
h_fence(struct wdk *k, const struct wdk_event *ev, uint64_t now, struct wdk_actions *out, int next)
{
	if (!k->armed) {
		k->timeout_ms = ev->msg->u.fence.timeout_ms;
		act(out, WDK_ACT_ARM)->timeout_ms = k->timeout_ms;
		k->armed = 1;
		k->stats.arms++;
		log_errx("wdkeep: daemon pid %" PRIu32 " fences: watchdog armed (%" PRIu32
		         " ms) and never petted",
		         k->pid, k->timeout_ms);
	} else if (k->state != WDK_S_FENCED) {
		log_errx("wdkeep: daemon pid %" PRIu32 " fences: never petting again", k->pid);
	}
	act(out, WDK_ACT_STATUS);
	return next;
}

static int
h_tick_armed(struct wdk *k, const struct wdk_event *ev, uint64_t now, struct wdk_actions *out,
             int next)
{
	enum stop why;

	if (now < k->next_pet)
		return next;
	if (may_pet(k, now, &why)) {
		do_pet(k, now, out);
	} else {
		k->next_pet = now + k->pet_ms;
		note_stop(k, now, why, out);
	}
	return next;
}

/* ---- the table ------------------------------------------------------------ */

/* clang-format off */
#define DIS WDK_S_DISARMED
#define ARM WDK_S_ARMED
#define FND WDK_S_FENCED
#define REJ {NULL, 0}

/* docs/fencing.md renders this table; keep the two in step. */
static const struct cell table[WDK_S_COUNT][E_COUNT] = {
    [DIS] =
        {
            [E_CONNECT] = {h_connect, DIS},
            [E_DISCONNECT] = {h_disconnect, DIS},
            [E_HELLO] = {h_hello, DIS},
            [E_ARM] = {h_arm, ARM},
            [E_PET] = {h_pet, DIS},       /* the lease is noted */
            [E_DISARM] = {h_disarm, DIS}, /* nothing to disarm: STATUS */
            [E_RESET] = {h_reset, FND},
            [E_STATUS] = REJ,
            [E_FENCE] = {h_fence, FND},   /* armed first, never petted */
            [E_TICK] = {h_keep, DIS},
        },
    [ARM] =
        {
            [E_CONNECT] = {h_connect, ARM},
            [E_DISCONNECT] = {h_disconnect, ARM},
            [E_HELLO] = {h_hello, ARM},
            [E_ARM] = {h_rearm, ARM},
            [E_PET] = {h_pet, ARM},
            [E_DISARM] = {h_disarm, DIS},
            [E_RESET] = {h_reset, FND},
            [E_STATUS] = REJ,
            [E_FENCE] = {h_fence, FND},
            [E_TICK] = {h_tick_armed, ARM},
        },
    [FND] =
        {
            [E_CONNECT] = {h_connect, FND},
            [E_DISCONNECT] = {h_disconnect, FND},
            [E_HELLO] = {h_hello, FND},
            [E_ARM] = REJ,
            [E_PET] = {h_pet, FND},       /* the lease is noted, never a pet */
            [E_DISARM] = REJ,
            [E_RESET] = {h_reset, FND},   /* asked again: reset again */
            [E_STATUS] = REJ,
            [E_FENCE] = {h_fence, FND},   /* confirmed again */
            [E_TICK] = {h_keep, FND},
        },
};

/* clang-format on */

/* ---- the machine ---------------------------------------------------------- */

struct wdk *
wdk_new(uint32_t alive)
{
	struct wdk *k = xcalloc(1, sizeof(*k));

	k->state = WDK_S_DISARMED;
	k->alive_cfg = alive;
	return k;
}

void
wdk_free(struct wdk *k)
{
	xfree(k);
}

static int
internal_event(const struct wdk_event *ev)
{
	switch (ev->type) {
	case WDK_EV_CONNECT:
		return E_CONNECT;
	case WDK_EV_DISCONNECT:
		return E_DISCONNECT;
	case WDK_EV_TICK:
		return E_TICK;
	case WDK_EV_MSG:
		if (ev->msg == NULL)
			return -1;
		switch (ev->msg->type) {
		case WD_MSG_HELLO:
			return E_HELLO;
		case WD_MSG_ARM:
			return E_ARM;
		case WD_MSG_PET:
			return E_PET;
		case WD_MSG_DISARM:
			return E_DISARM;
		case WD_MSG_RESET:
			return E_RESET;
		case WD_MSG_STATUS:
			return E_STATUS;
		case WD_MSG_FENCE:
			return E_FENCE;
		}
		return -1;
	case WDK_EV_COUNT:
		break;
	}
	return -1;
}

int
wdk_step(struct wdk *k, const struct wdk_event *ev, uint64_t now, struct wdk_actions *out)
{
	int e = internal_event(ev), next;
	enum wdk_state from = k->state;
	const struct cell *c;
	size_t i;

	out->n = 0;
	k->stats.steps++;
	if (e < 0) {
		k->stats.rejected++;
		log_warnx("wdkeep: unknown event %d rejected in state %s", (int)ev->type,
		          wdk_state_name(from));
		return -1;
	}
	c = &table[from][e];
	if (c->fn == NULL) {
		k->stats.rejected++;
		log_warnx("wdkeep: event %s rejected in state %s", ev_names[e],
		          wdk_state_name(from));
		return -1;
	}
	/* Messages come only on a connection. */
	next = ev->type == WDK_EV_MSG && !k->connected ? -1 : c->fn(k, ev, now, out, c->next);
	if (next < 0) {
		ha_assert(out->n == 0);
		k->stats.rejected++;
		log_warnx("wdkeep: event %s refused in state %s", ev_names[e],
		          wdk_state_name(from));
		return -1;
	}
	ha_assert(next < WDK_S_COUNT);
	k->state = (enum wdk_state)next;
	if (k->state != from)
		log_notice("wdkeep: event %s: %s -> %s", ev_names[e], wdk_state_name(from),
		           wdk_state_name(k->state));
	/* The invariants of wdkeep.h. */
	ha_assert(!k->armed || k->state != WDK_S_DISARMED);
	ha_assert(k->state != WDK_S_ARMED || k->armed);
	for (i = 0; i < out->n; i++) {
		if (out->v[i].type == WDK_ACT_PET)
			ha_assert(from == WDK_S_ARMED && k->state == WDK_S_ARMED && now < k->lease);
		if (out->v[i].type == WDK_ACT_DISARM || out->v[i].type == WDK_ACT_ARM)
			ha_assert(from != WDK_S_FENCED);
	}
	return 0;
}

uint64_t
wdk_next_deadline(const struct wdk *k)
{
	return k->state == WDK_S_ARMED ? k->next_pet : UINT64_MAX;
}

void
wdk_status(const struct wdk *k, struct wd_msg *out)
{
	memset(out, 0, sizeof(*out));
	out->type = WD_MSG_STATUS;
	out->u.status.armed = k->armed;
	out->u.status.fenced = k->state == WDK_S_FENCED;
	out->u.status.timeout_ms = k->armed ? k->timeout_ms : 0;
	out->u.status.lease_ms = k->lease;
	out->u.status.resets =
	    k->stats.resets > UINT32_MAX ? UINT32_MAX : (uint32_t)k->stats.resets;
}

enum wdk_state
wdk_get_state(const struct wdk *k)
{
	return k->state;
}

int
wdk_is_connected(const struct wdk *k)
{
	return k->connected;
}

uint64_t
wdk_get_lease(const struct wdk *k)
{
	return k->lease;
}

void
wdk_get_stats(const struct wdk *k, struct wdk_stats *out)
{
	*out = k->stats;
}

const char *
wdk_state_name(int s)
{
	static const char *const names[WDK_S_COUNT] = {"disarmed", "armed", "fenced"};

	return s >= 0 && s < WDK_S_COUNT ? names[s] : "?";
}

const char *
wdk_event_name(int e)
{
	static const char *const names[WDK_EV_COUNT] = {"connect", "disconnect", "msg", "tick"};

	return e >= 0 && e < WDK_EV_COUNT ? names[e] : "?";
}

const char *
wdk_action_name(int a)
{
	static const char *const names[] = {"?",      "arm",     "pet",    "disarm",
	                                    "reset", "status", "stopped", "resumed"};

	return a >= 0 && (size_t)a < ARRAY_SIZE(names) ? names[a] : "?";
}
