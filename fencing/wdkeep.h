/*
** The watchdog keeper's logic (docs/fencing.md, "The keeper"), sans-I/O:
** events with `now` (CLOCK_MONOTONIC ms) in, driver actions out.  The
** hasvc-wdkeeper process runs it around a watchdog driver (xen, linux,
** sim) and one daemon connection (fencing/wdmsg.h).
**
** Why a keeper.  hasvcd decides when the host may live; the host watchdog
** enforces it.  If hasvcd held the watchdog itself, a daemon that crashes or
** is killed and restarted would always be fenced, because W (1 s at the
** default timeout) is shorter than a daemon restart.  The keeper tells a
** dead daemon (its connection closed) from a hung one (connected, silent):
**
**   - connected: the keeper pets only while the daemon's PETs arrive (one
**     within alive_ms, 2 pet_ms by default) and now < lease.  A hung daemon
**     stops the pets at once, as if it held the watchdog itself: the
**     watchdog fires W later (docs/protocol.md, T8 unchanged).  Until its
**     first PET a new connection counts as none (next rule): a restarted
**     daemon that is still rejoining does not pet yet, and the lease of its
**     predecessor holds meanwhile;
**   - disconnected (the daemon exited or was killed): the keeper pets every
**     pet_ms while now < lease, the last lease the daemon gave, and then
**     stops: the watchdog fires W after the lease at the latest.  A daemon
**     restarted within the lease takes over without a fence.
**
** The lease is the liveness engine's own bound (heartbeat/liveness.h,
** lv_lease()): the time until which the engine, given no further input,
** would have kept petting before fencing itself.  A host kept alive until
** its lease dies no later than the proof of "dead before restart"
** (docs/protocol.md) already assumes, so the restart tolerance costs the
** failover time nothing.  Leases only grow (the keeper keeps the maximum):
** every lease the engine ever gave was a bound it was entitled to.
**
** Invariants (tests/unit/test_wdkeep.c):
**   - WDK_ACT_PET only while ARMED and now < lease, and, while a daemon is
**     connected and has sent a PET on its connection, only within alive_ms
**     of its last PET message;
**   - after FENCE or RESET no pet, no disarm, ever; FENCE arms a watchdog
**     that is not armed (never to pet it) and answers STATUS fenced;
**   - ARM with the timeout already armed emits nothing (a restarted daemon);
**   - one daemon at a time: a second CONNECT is rejected.
**
** A table of (state x event) -> (handler, next state) drives every step;
** wdk_step() logs `wdkeep: event E: A -> B` on a change and rejects (logs,
** counts, no action) a pair the table does not allow.
*/
#ifndef HASVC_FENCING_WDKEEP_H
#define HASVC_FENCING_WDKEEP_H

#include <stddef.h>
#include <stdint.h>

#include "fencing/wdmsg.h"

enum wdk_state {
	WDK_S_DISARMED = 0,
	WDK_S_ARMED,
	WDK_S_FENCED, /* RESET asked for: never pet again */
	WDK_S_COUNT,
};

enum wdk_event_type {
	WDK_EV_CONNECT = 0, /* a daemon connected */
	WDK_EV_DISCONNECT,  /* its connection closed (exit, crash, kill) */
	WDK_EV_MSG,         /* a message from the daemon: `msg` (decoded) */
	WDK_EV_TICK,        /* wdk_next_deadline() passed */
	WDK_EV_COUNT,
};

struct wdk_event {
	enum wdk_event_type type;
	const struct wd_msg *msg; /* MSG */
};

enum wdk_action_type {
	WDK_ACT_ARM = 1, /* driver: arm (or re-time) with `timeout_ms` */
	WDK_ACT_PET,     /* driver: pet */
	WDK_ACT_DISARM,  /* driver: disarm */
	WDK_ACT_RESET,   /* driver: reset the host now: `reason` */
	WDK_ACT_STATUS,  /* send wdk_status() to the daemon */
	WDK_ACT_STOPPED, /* pets withheld from now on (`reason`: a hung daemon, the lease
	                 ** ran out): the watchdog fires W after the last pet unless
	                 ** they resume -- the keeper leaves a fence record saying why */
	WDK_ACT_RESUMED, /* petting again: that record is void */
};

struct wdk_action {
	enum wdk_action_type type;
	uint32_t timeout_ms;          /* ARM */
	char reason[WD_REASON_LEN];   /* RESET */
};

#define WDK_ACTIONS_MAX 4

struct wdk_actions {
	struct wdk_action v[WDK_ACTIONS_MAX];
	size_t n;
};

struct wdk_stats {
	uint64_t steps, rejected, pets, arms, disarms, resets;
	uint64_t lease_pets;   /* pets on the lease alone: no daemon connected, or
	                       ** one that has not sent a PET yet */
	uint64_t hung_stops;   /* a connected daemon went silent: pets stopped */
	uint64_t lease_stops;  /* the lease ran out: pets stopped */
};

struct wdk;

/* alive_ms: a connected daemon is alive while its last PET is at most this
** old (0: 2 pet_ms of the current arm). */
struct wdk *wdk_new(uint32_t alive_ms);
void wdk_free(struct wdk *k); /* NULL: no-op */

/* Feed one event; out is reset, then filled.  0 if accepted, -1 if the
** table rejected it (logged and counted; no action, no change). */
int wdk_step(struct wdk *k, const struct wdk_event *ev, uint64_t now, struct wdk_actions *out);

/* The earliest time at which a WDK_EV_TICK is due (UINT64_MAX: none). */
uint64_t wdk_next_deadline(const struct wdk *k);

/* The STATUS message describing the keeper now. */
void wdk_status(const struct wdk *k, struct wd_msg *out);

enum wdk_state wdk_get_state(const struct wdk *k);
int wdk_is_connected(const struct wdk *k);
uint64_t wdk_get_lease(const struct wdk *k);
void wdk_get_stats(const struct wdk *k, struct wdk_stats *out);

const char *wdk_state_name(int s);
const char *wdk_event_name(int e);
const char *wdk_action_name(int a);

#endif
