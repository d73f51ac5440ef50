/*
** The liveness engine's alerts as XAPI messages: which, when, and by whom
** (hasvc/ha.c carries them out; docs/api.md, "HA alerts").  Pure: the alert
** bits of LV_ACT_ALERT and `now` (monotonic ms) in, what is due out; no
** clock, no I/O.
**
** Names and priorities are xapi's (Api_messages; /work/shared/reference
** xapi.md §3.7): HA_HOST_FAILED 3, HA_STATEFILE_LOST 2,
** HA_{HEARTBEAT,STATEFILE}_APPROACHING_TIMEOUT 5, all of class Host.
**
** Episodes.  A condition that becomes true starts an episode, which lasts
** until it is false again; each message below is raised at most once per
** episode, at the first poll after its threshold.
**
** The storage episode: LS_ALERT_SELF_NO_STORAGE set and no continuous
** storage access now (lv_has_access: in a round the engine keeps the bit
** latched after access is back, and a host with access is not stale to
** anyone).  After this host has had access once since the engine started:
**   - HA_STATEFILE_APPROACHING_TIMEOUT after stale_ms / 2.  The engine sets
**     the bit when my last successful write or read is older than gap_ms;
**     the timing's T1 (stale_ms > 2 (gap_ms + io_deadline_ms)) then means
**     my slot, last advanced at most gap_ms + io_deadline_ms before the bit,
**     is not yet stale to the others: the warning comes while it matters;
**   - HA_STATEFILE_LOST after stale_ms: my slot has not advanced for
**     stale_ms, the others see it stale (debounced: a blip shorter than
**     that raises nothing).
** Before the first access (start-up: the statefile's generation must be
** read before my slot can be written, which takes a few cycles) nothing is
** lost yet: only HA_STATEFILE_LOST, and only after decide_ms + stale_ms, so
** a host that starts without reaching its statefile still says so.
**
** The heartbeat episode: LV_ALERT_STALLED (my ring is not fresh) set;
** HA_HEARTBEAT_APPROACHING_TIMEOUT after decide_ms / 2 (a round open for
** decide_ms fences).
**
** A poll that finds both statefile thresholds passed raises only the LOST.
*/
#ifndef HASVC_HASVC_HA_ALERTS_H
#define HASVC_HASVC_HA_ALERTS_H

#include <stdint.h>

enum ha_alert {
	HA_ALERT_HOST_FAILED = 0,
	HA_ALERT_STATEFILE_LOST,
	HA_ALERT_STATEFILE_APPROACHING,
	HA_ALERT_HEARTBEAT_APPROACHING,
	HA_ALERT_HOST_WAS_FENCED, /* raised by hasvc/ha.c at start, from the fence record */
	HA_ALERT_COUNT
};

struct ha_alert_def {
	const char *name; /* the XAPI message name */
	int priority;     /* 1 critical .. 5 info */
	const char *cls;  /* the class of obj_uuid */
};

/* The definition of `a` (never NULL for a < HA_ALERT_COUNT). */
const struct ha_alert_def *ha_alert_def(enum ha_alert a);

#define HA_ALERTS_NONE UINT64_MAX

struct ha_alerts {
	uint32_t stale_ms, decide_ms;
	unsigned bits;          /* the engine's alert bits, as last set */
	int access;             /* continuous storage access, as last told */
	int established;        /* had access once since the start */
	uint64_t nostore_since; /* the storage episode's start (HA_ALERTS_NONE: none) */
	int nostore_startup;    /* ... which began before the first access */
	uint64_t stall_since;   /* LV_ALERT_STALLED set since */
	unsigned raised;        /* 1 << enum ha_alert: raised in the current episode */
};

void ha_alerts_init(struct ha_alerts *a, uint32_t stale_ms, uint32_t decide_ms);

/* The engine's alert bits changed to `bits` at `now` (LV_ACT_ALERT). */
void ha_alerts_set(struct ha_alerts *a, unsigned bits, uint64_t now);

/* This host's continuous storage access at `now` (lv_has_access), told
** after every engine step. */
void ha_alerts_access(struct ha_alerts *a, int access, uint64_t now);

/* The alerts due at `now`, as 1 << enum ha_alert; each is marked raised and
** is not returned again before its episode ends. */
unsigned ha_alerts_due(struct ha_alerts *a, uint64_t now);

/* When the episode of `which` began (HA_ALERTS_NONE: none open). */
uint64_t ha_alerts_since(const struct ha_alerts *a, enum ha_alert which);

/* The next time ha_alerts_due() may return something (HA_ALERTS_NONE: none). */
uint64_t ha_alerts_next_deadline(const struct ha_alerts *a);

/* SURVIVE with `lost` hosts: the hosts this host raises HA_HOST_FAILED for.
** Every survivor computes the same verdict and the same master, so only the
** liveset's master (`master`, after the verdict) raises them: one message
** per lost host for the pool, not one per survivor.  0 when I am not it. */
uint64_t ha_alerts_host_failed(uint64_t lost, int master, unsigned self);

#endif
