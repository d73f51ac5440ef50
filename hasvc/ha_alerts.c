/*
** The liveness engine's alerts as XAPI messages (ha_alerts.h).
*/
#include <string.h>

#include "hasvc/ha_alerts.h"
#include "heartbeat/liveness.h"
#include "lib/check.h"

#define A_BIT(a) (1u << (a))

static const struct ha_alert_def defs[HA_ALERT_COUNT] = {
    [HA_ALERT_HOST_FAILED] = {"HA_HOST_FAILED", 3, "Host"},
    [HA_ALERT_STATEFILE_LOST] = {"HA_STATEFILE_LOST", 2, "Host"},
    [HA_ALERT_STATEFILE_APPROACHING] = {"HA_STATEFILE_APPROACHING_TIMEOUT", 5, "Host"},
    [HA_ALERT_HEARTBEAT_APPROACHING] = {"HA_HEARTBEAT_APPROACHING_TIMEOUT", 5, "Host"},
    [HA_ALERT_HOST_WAS_FENCED] = {"HA_HOST_WAS_FENCED", 4, "Host"},
};

const struct ha_alert_def *
ha_alert_def(enum ha_alert a)
{
	ha_assert((unsigned)a < HA_ALERT_COUNT);
	return &defs[a];
}

void
ha_alerts_init(struct ha_alerts *a, uint32_t stale_ms, uint32_t decide_ms)
{
	memset(a, 0, sizeof(*a));
	a->stale_ms = stale_ms;
	a->decide_ms = decide_ms;
	a->nostore_since = HA_ALERTS_NONE;
	a->stall_since = HA_ALERTS_NONE;
}

static void
update_storage(struct ha_alerts *a, uint64_t now)
{
	int on = (a->bits & LS_ALERT_SELF_NO_STORAGE) && !a->access;

	if (on && a->nostore_since == HA_ALERTS_NONE) {
		a->nostore_since = now;
		a->nostore_startup = !a->established;
	} else if (!on && a->nostore_since != HA_ALERTS_NONE) {
		a->nostore_since = HA_ALERTS_NONE; /* the episode ends */
		a->raised &=
		    ~(A_BIT(HA_ALERT_STATEFILE_LOST) | A_BIT(HA_ALERT_STATEFILE_APPROACHING));
	}
}

void
ha_alerts_access(struct ha_alerts *a, int access, uint64_t now)
{
	a->access = access != 0;
	if (access)
		a->established = 1;
	update_storage(a, now);
}

void
ha_alerts_set(struct ha_alerts *a, unsigned bits, uint64_t now)
{
	a->bits = bits;
	update_storage(a, now);
	if (bits & LV_ALERT_STALLED) {
		if (a->stall_since == HA_ALERTS_NONE)
			a->stall_since = now;
	} else if (a->stall_since != HA_ALERTS_NONE) {
		a->stall_since = HA_ALERTS_NONE;
		a->raised &= ~A_BIT(HA_ALERT_HEARTBEAT_APPROACHING);
	}
}

/* The storage episode's thresholds: LOST after, APPROACHING after (none at
** start-up). */
static uint32_t
lost_after(const struct ha_alerts *a)
{
	return a->nostore_startup ? a->decide_ms + a->stale_ms : a->stale_ms;
}

/* The time at which an episode begun at `since` passes `after` ms ("longer
** than": strictly after). */
static uint64_t
due_at(uint64_t since, uint32_t after)
{
	return since + after + 1;
}

unsigned
ha_alerts_due(struct ha_alerts *a, uint64_t now)
{
	unsigned due = 0;

	if (a->nostore_since != HA_ALERTS_NONE) {
		if (!(a->raised & A_BIT(HA_ALERT_STATEFILE_LOST)) &&
		    now >= due_at(a->nostore_since, lost_after(a))) {
			due |= A_BIT(HA_ALERT_STATEFILE_LOST);
			/* The warning would come after the fact: skipped. */
			a->raised |= A_BIT(HA_ALERT_STATEFILE_APPROACHING);
		} else if (!a->nostore_startup &&
		           !(a->raised & A_BIT(HA_ALERT_STATEFILE_APPROACHING)) &&
		           now >= due_at(a->nostore_since, a->stale_ms / 2)) {
			due |= A_BIT(HA_ALERT_STATEFILE_APPROACHING);
		}
	}
	if (a->stall_since != HA_ALERTS_NONE &&
	    !(a->raised & A_BIT(HA_ALERT_HEARTBEAT_APPROACHING)) &&
	    now >= due_at(a->stall_since, a->decide_ms / 2))
		due |= A_BIT(HA_ALERT_HEARTBEAT_APPROACHING);
	a->raised |= due;
	return due;
}

uint64_t
ha_alerts_since(const struct ha_alerts *a, enum ha_alert which)
{
	switch (which) {
	case HA_ALERT_STATEFILE_LOST:
	case HA_ALERT_STATEFILE_APPROACHING:
		return a->nostore_since;
	case HA_ALERT_HEARTBEAT_APPROACHING:
		return a->stall_since;
	default:
		return HA_ALERTS_NONE;
	}
}

uint64_t
ha_alerts_next_deadline(const struct ha_alerts *a)
{
	uint64_t next = HA_ALERTS_NONE, t;

	if (a->nostore_since != HA_ALERTS_NONE) {
		if (!a->nostore_startup && !(a->raised & A_BIT(HA_ALERT_STATEFILE_APPROACHING)))
			next = due_at(a->nostore_since, a->stale_ms / 2);
		else if (!(a->raised & A_BIT(HA_ALERT_STATEFILE_LOST)))
			next = due_at(a->nostore_since, lost_after(a));
	}
	if (a->stall_since != HA_ALERTS_NONE &&
	    !(a->raised & A_BIT(HA_ALERT_HEARTBEAT_APPROACHING)) &&
	    (t = due_at(a->stall_since, a->decide_ms / 2)) < next)
		next = t;
	return next;
}

uint64_t
ha_alerts_host_failed(uint64_t lost, int master, unsigned self)
{
	if (master < 0 || (unsigned)master != self)
		return 0;
	return lost & ~LS_BIT(self);
}
