/*
** The fence state machine: when the host watchdog is armed, petted, disarmed,
** and when the host resets itself (docs/fencing.md).  Sans-I/O: it takes
** events with `now` (CLOCK_MONOTONIC ms) and answers with actions that the
** daemon carries out through a watchdog driver (wd_linux.h, or the xen / sim
** hypervisor watchdogs) and the fence record writer (record.h).  It never
** reads a clock, a device or a file.
**
** One transition table, (state x event) -> (handler, next state), drives
** every step; one function (fence_step) looks the pair up, logs
** `fence: event E: A -> B`, and rejects (logs and counts, never crashes) any
** pair the table does not allow.
**
** Invariants (checked by tests/unit/test_fence.c):
**   - the watchdog is armed only in ARMED, FENCING and FENCED, and only after
**     `joined` (my host is in the agreed liveset);
**   - WD_PET only in ARMED, every pet_ms, while the last decision is not FENCE
**     and loop_alive (and io_progress, when a statefile is configured) were
**     seen within 2 pet_ms;
**   - after a FENCE decision no pet and no disarm ever again; WRITE_RECORD
**     at once, then RESET on record_written or record_bound_ms later,
**     whichever comes first;
**   - SUSPENDED (maintenance) re-arms by itself at its deadline.
*/
#ifndef HASVC_FENCING_FENCE_H
#define HASVC_FENCING_FENCE_H

#include <stddef.h>
#include <stdint.h>

#include "fencing/record.h"

enum fence_state {
	FENCE_S_OFF = 0,   /* HA disabled: watchdog disarmed */
	FENCE_S_JOINING,   /* HA enabled, not (yet) in the liveset: not armed */
	FENCE_S_ARMED,     /* in the liveset: armed and petted */
	FENCE_S_SUSPENDED, /* maintenance: disarmed until a re-arm deadline */
	FENCE_S_FENCING,   /* decided to fence: the record is being written */
	FENCE_S_FENCED,    /* reset requested */
	FENCE_S_COUNT,
};

enum fence_event_type {
	FENCE_EV_HA_ENABLE = 0,
	FENCE_EV_HA_DISABLE,
	FENCE_EV_JOINED,         /* my host is in the agreed liveset */
	FENCE_EV_LEFT,           /* my host left the liveset cleanly (LEAVING written) */
	FENCE_EV_DECISION,       /* the engine's decision: `verdict`, `reason`, `record` */
	FENCE_EV_TICK,           /* fence_next_deadline() passed (or any timer) */
	FENCE_EV_LOOP_ALIVE,     /* once per event-loop iteration */
	FENCE_EV_IO_PROGRESS,    /* the statefile I/O side reported a completion or a
	                         ** deadline verdict: the loop handles storage outcomes
	                         ** (NOT "storage works") */
	FENCE_EV_RECORD_WRITTEN, /* the local fence record is durable */
	FENCE_EV_MAINT_DISARM,   /* pool maintenance: disarm until `until` */
	FENCE_EV_MAINT_ARM,      /* maintenance over: arm again */
	FENCE_EV_COUNT,
};

enum fence_verdict {
	FENCE_V_SURVIVE = 0,
	FENCE_V_WAIT,
	FENCE_V_FENCE,
};

struct fence_event {
	enum fence_event_type type;
	enum fence_verdict verdict;        /* DECISION */
	uint32_t reason;                   /* DECISION: the engine's reason code */
	const struct fence_record *record; /* DECISION, FENCE: the record (copied;
	                                   ** NULL: a bare one with the reason) */
	uint64_t until;                    /* MAINT_DISARM: re-arm deadline (absolute ms) */
};

enum fence_action_type {
	FENCE_ACT_WD_ARM = 1, /* arm the watchdog: `timeout_ms` */
	FENCE_ACT_WD_PET,
	FENCE_ACT_WD_DISARM,
	FENCE_ACT_WRITE_RECORD, /* write `record` to local disk and my statefile slot, off
	                        ** the loop; answer FENCE_EV_RECORD_WRITTEN when durable */
	FENCE_ACT_RESET,        /* reset the host now: `reason` */
};

struct fence_action {
	enum fence_action_type type;
	uint32_t timeout_ms;               /* WD_ARM */
	const struct fence_record *record; /* WRITE_RECORD: owned by the machine, valid
	                                   ** until fence_free() */
	char reason[160];                  /* RESET */
};

#define FENCE_ACTIONS_MAX 4

struct fence_actions {
	struct fence_action v[FENCE_ACTIONS_MAX];
	size_t n;
};

struct fence_config {
	uint32_t wd_ms;           /* W: the watchdog timeout (lv_timing wd_ms) */
	uint32_t pet_ms;          /* pet period (lv_timing pet_ms), 0 < 4 pet_ms <= W */
	int statefile;            /* 1: a statefile is configured: pets need io_progress */
	uint32_t record_bound_ms; /* FENCING -> RESET at the latest after this (0: 200) */
	uint32_t max_suspend_ms;  /* a maintenance window is cut to this (0: 1 hour) */
	uint32_t reset_retry_ms;  /* FENCED: RESET again every this (0: 1000) */
};

struct fence_stats {
	uint64_t steps, rejected, pets, pets_skipped, arms, disarms, resets;
	uint64_t fences_suppressed; /* FENCE decisions during maintenance */
	uint64_t record_timeouts;   /* RESET because the record was not durable in time */
};

struct fence;

/* NULL with a sentence in err if cfg is unusable. */
struct fence *fence_new(const struct fence_config *cfg, char *err, size_t errlen);
void fence_free(struct fence *f);

/* Feed one event at `now`; out is reset, then filled.  0 if the table
** accepted the event, -1 if it rejected it (logged and counted; no action,
** no change). */
int fence_step(struct fence *f, const struct fence_event *ev, uint64_t now,
               struct fence_actions *out);

/* The earliest time at which a FENCE_EV_TICK is due (UINT64_MAX: none). */
uint64_t fence_next_deadline(const struct fence *f);

enum fence_state fence_get_state(const struct fence *f);
int fence_is_armed(const struct fence *f); /* the watchdog is armed (as far as we asked) */
void fence_get_stats(const struct fence *f, struct fence_stats *out);

const char *fence_state_name(int s);
const char *fence_event_name(int e);
const char *fence_action_name(int a);
const char *fence_verdict_name(int v);

/*
** A watchdog driver, as the daemon sees it: the linux driver (wd_linux.h)
** provides one; the xen and sim drivers are the hypervisor's watchdog ops
** (hasvc/hv.h) behind the same table.  Each returns 0, or -1 with a sentence
** in err.  reset does not return on success.
*/
struct fence_wd_ops {
	const char *name;
	int (*arm)(void *ctx, uint32_t timeout_ms, char *err, size_t errlen);
	int (*pet)(void *ctx, char *err, size_t errlen);
	int (*disarm)(void *ctx, char *err, size_t errlen);
	int (*reset)(void *ctx, const char *reason, char *err, size_t errlen);
};

#endif
