/*
** The liveness engine: one host's side of the liveness protocol, sans-I/O
** (DESIGN §4, §5; docs/protocol.md).  hasvcd and the deterministic simulator
** (tests/sim) run this same code.
**
** The engine is fed events with `now` (the host's own CLOCK_MONOTONIC, ms):
** the corosync ring it is in, the liveness messages delivered in total order
** (heartbeat/lvmsg.h), the answers to its statefile requests, timer ticks.
** It answers with actions: write my slot, read the statefile, multicast a
** message, pet the watchdog, fence, a round ended with a new liveset, the
** master changed, a lost host is now dead (its VMs may restart elsewhere).
** It never reads a clock, a socket or a file.
**
** What it adds to the pure decision ls_decide() (heartbeat/liveset.h):
**   - the statefile cycle: every cycle_ms one write of my slot (a new seq),
**     then one full read issued after that write completed, each with its
**     deadline; continuous storage access computed from the completions and
**     latched lost for the round;
**   - the peers' slots aged (last_seen), kept at their last valid decoding
**     when a later read of them fails its checks;
**   - CPG: STATE on every new ring and when my access changes; the first
**     VERDICT delivered for a ring is adopted by every member; PINGs: my
**     PING is stable once every other member of my group says (in its own
**     PINGs) that it delivered it, and a stable PING keeps my ring "fresh"
**     (rule 1 holds only in a fresh ring);
**   - the model's rules (docs/protocol.md, "Model check"): verdicts learned
**     over CPG, re-wait after growth, publish-then-confirm;
**   - watchdog pets while the host is not fenced; the fence decision;
**   - master election from the surviving liveset (sticky);
**   - "dead before restart": for every host decided lost, the time from
**     which it is certainly dead (docs/protocol.md), announced with
**     LV_ACT_HOST_DEAD.
**
** Host sets are 64-bit maps of host indexes (liveset.h).  The caller maps
** corosync nodeids and slots to indexes.
*/
#ifndef HASVC_HEARTBEAT_LIVENESS_H
#define HASVC_HEARTBEAT_LIVENESS_H

#include <stddef.h>
#include <stdint.h>

#include "heartbeat/liveset.h"
#include "heartbeat/lv_timing.h"
#include "heartbeat/lvmsg.h"

struct lv_config {
	struct ls_config ls; /* hosts, weights, preferred, statefile or quorum-only */
	unsigned self;       /* my index, < ls.n */
	struct lv_timing timing;
	uint64_t live;      /* the liveset at start (hosts with HA enabled), self included */
	int master;         /* the master at start (an index in live), or -1: elect */
	struct ls_ring prev_ring; /* where `live` was agreed, if known ({0,0}: not known).
	                    ** A restarted daemon passes what its predecessor last
	                    ** agreed (hasvcd keeps it in <data-dir>/liveset, this
	                    ** boot only); a cold start passes {0,0} and `live` = the
	                    ** hosts with HA enabled */
	int out;            /* 1: start out of the pool (LV_OUT): a fenced host that booted
	                    ** and is not admitted again.  It acknowledges its ring mates'
	                    ** PINGs, says on the statefile that it is fenced, and asks the
	                    ** master to admit it (JOIN) until it does (docs/protocol.md,
	                    ** "Rejoining") */
	uint64_t pending_dead; /* a restarted daemon: the hosts its predecessor had
	                    ** decided lost and not yet announced dead (hasvcd keeps
	                    ** them with the liveset).  Their restart bound counts
	                    ** from my start -- later than their last message, so
	                    ** never early; a host in `live` or in a liveset I adopt
	                    ** is not pending (docs/protocol.md, "Lost hosts") */
	uint64_t seq0;      /* my slot's first write carries seq0 + 1: a restarted daemon
	                    ** must write above its predecessor (readers drop a seq that
	                    ** goes back); hasvcd passes its start time in wall-clock us */
};

/* Ring seqs.  The caller numbers corosync's rings LV_RING_SPAN apart (its
** seq times LV_RING_SPAN): an admission opens a round of its own in the
** "ring" seq + 1 of the one it is delivered in, which must sort after that
** ring and before corosync's next one (docs/protocol.md, "Rejoining").  At
** most LV_RING_SPAN - 1 admissions per corosync ring. */
#define LV_RING_SPAN 256

/* An out-of-the-pool engine sends its JOIN this often until admitted. */
#define LV_JOIN_RETRY_MS 1000

/* A slot as the engine sees it (the daemon decodes sf_slot and maps nodeids
** to indexes; a slot naming an unknown nodeid is invalid).  When valid == 0
** nothing else is read. */
struct lv_slot {
	int valid;
	uint64_t seq;
	uint32_t state;      /* enum ls_state */
	struct ls_ring ring; /* the ring it published ... */
	uint64_t members;    /* ... and its members */
	int has_verdict;     /* its last published SURVIVE verdict: */
	struct ls_ring vring;
	uint64_t vlive;
	int vconfirmed;      /* ... which it acted on (SF_VERDICT_SURVIVED), not only
	                     ** published while confirming a win (SF_VERDICT_PUBLISHED) */
	int fence_present;     /* a fence record (state FENCING/FENCED): */
	uint32_t fence_reason; /* enum ls_reason */
};

enum lv_event_type {
	LV_EV_START = 1, /* first event: the ring I am in (`ring`) */
	LV_EV_RING,      /* corosync installed a new ring (`ring`) */
	LV_EV_DELIVER,   /* a liveness message delivered in total order (`msg`) */
	LV_EV_WRITTEN,   /* answer to LV_ACT_WRITE (`io`) */
	LV_EV_READ,      /* answer to LV_ACT_READ (`io`, `slots`) */
	LV_EV_TICK,      /* lv_next_deadline() passed */
	LV_EV_STOP,      /* clean shutdown: write LEAVING, then LV_ACT_EXIT */
	LV_EV_MAINT,     /* the pool's maintenance window: until `maint_until` (my
	                 ** clock; 0: over now).  docs/protocol.md, "Maintenance" */
};

/* After a maintenance window every peer counts as heard from this much
** later than the window's end: the hosts learn an early end up to a poll
** period (1 s) plus a replication apart, and a host that must lose starts
** its deadline at its own end (docs/protocol.md, "Maintenance"). */
#define LV_MAINT_SLACK_MS 1500

struct lv_ring_view {
	struct ls_ring ring;
	uint64_t members; /* the ring's nodes (corosync's totem membership), self
	                  ** included; hosts outside the pool config dropped */
	uint64_t group;   /* members whose daemon is in the pool's CPG group (0:
	                  ** all members).  A change of the group alone comes as
	                  ** LV_EV_RING with the same ring: it restarts the count
	                  ** of delivered messages that makes PINGs stable */
	uint64_t view;    /* identifies the group's processes: the caller's hash of the
	                  ** group members' (nodeid, pid), so that a daemon that left
	                  ** and came back (a new pid) makes a new view.  A PING's
	                  ** count is taken only in the view it was sent in (0 in
	                  ** every view: the counts of the PINGs delivered) */
	int quorate;      /* votequorum, for quorum-only pools */
	int local;        /* 1: corosync is down, this is a ring of myself alone
	                  ** (ring.nodeid = my nodeid, ring.seq = the last seq + 1):
	                  ** my own messages are delivered by the engine itself */
};

struct lv_event {
	enum lv_event_type type;
	union {
		struct lv_ring_view ring; /* START, RING */
		struct lv_msg msg;        /* DELIVER */
		struct {
			uint64_t id; /* the request's id (lv_action.id) */
			int ok;      /* completed by its deadline without error */
			const struct lv_slot *slots; /* READ and ok: ls.n entries, borrowed */
		} io;
		uint64_t maint_until; /* MAINT */
	} u;
};

enum lv_action_type {
	LV_ACT_WRITE = 1, /* write `slot` into my sector by `deadline`; answer LV_EV_WRITTEN */
	LV_ACT_READ,      /* read the whole statefile by `deadline`; answer LV_EV_READ */
	LV_ACT_SEND,      /* multicast `msg` (AGREED) */
	LV_ACT_PET,       /* pet the watchdog */
	LV_ACT_FENCE,     /* self-fence now: stop petting, write `slot` (the fence record,
	                  ** best effort, no answer expected), then reset the host */
	LV_ACT_SURVIVE,   /* a round ended: `live` is the new liveset, `lost` the hosts
	                  ** decided against (`reason`) */
	LV_ACT_MASTER,    /* `host` is the master now (may be me) */
	LV_ACT_HOST_DEAD, /* lost host `host` is certainly dead: its VMs may restart */
	LV_ACT_ALERT,     /* the alert bits changed to `alerts` (LS_ALERT_* | LV_ALERT_*) */
	LV_ACT_EXIT,      /* after LV_EV_STOP: the LEAVING slot is written (or could not be) */
};

enum {
	LV_ALERT_STALLED = 1 << 8, /* my ring is not fresh: corosync delivers nothing */
};

struct lv_action {
	enum lv_action_type type;
	uint64_t id;       /* WRITE, READ: the request id to answer with */
	uint64_t deadline; /* WRITE, READ: absolute, my clock */
	struct lv_slot slot;   /* WRITE, FENCE (valid = 1) */
	struct lv_msg msg;     /* SEND */
	int host;              /* MASTER, HOST_DEAD */
	uint64_t live, lost;   /* SURVIVE */
	enum ls_reason reason; /* SURVIVE, FENCE */
	unsigned alerts;       /* ALERT */
	char detail[160];      /* FENCE, SURVIVE, HOST_DEAD: a sentence for the log and the record */
};

struct lv_actions {
	struct lv_action *v;
	size_t n, cap;
};

enum lv_state {
	LV_INIT = 0,
	LV_STEADY, /* my liveset is agreed in my current (or an earlier) ring */
	LV_ROUND,  /* a round is open: deciding survive / fence */
	LV_FENCED, /* decided to fence; does nothing any more */
	LV_LEFT,   /* stopped cleanly */
	LV_OUT,    /* out of the pool (lv_config.out): in the CPG group, sending PINGs so
	           ** that my ring mates' PINGs can become stable, and JOINs; my slot
	           ** says FENCED; no STATE, no decision, no pet.  The master's ADMIT
	           ** takes me into a round (LV_ROUND); until I survive one, a fence
	           ** decision brings me back here instead (I never ran anything) */
};

struct lv;

/* Check cfg (ls_config_check, self in live, master in live or -1,
** lv_timing_check); NULL with the reason in err on a bad one. */
struct lv *lv_new(const struct lv_config *cfg, char *err, size_t errlen);
void lv_free(struct lv *lv);

/* Feed one event at `now`; appends actions to `out`.  Events that make no
** sense in the current state (an answer to an unknown request, a message of
** another ring, anything after FENCED) are ignored and counted. */
void lv_step(struct lv *lv, const struct lv_event *ev, uint64_t now, struct lv_actions *out);

/* The earliest time at which the engine wants an LV_EV_TICK (UINT64_MAX: none). */
uint64_t lv_next_deadline(const struct lv *lv);

/* The lease: the latest time until which this engine, given no further
** input, would go on petting before it fences itself -- the round's deadline,
** or, in a steady ring, the deadline of the stall round that would start
** when freshness runs out (fresh_until + decide_ms); a re-waiting round that
** holds the liveset may pet on while fresh.  0 when the engine does not pet
** (not started, fenced, left) and before my first SURVIVE since start (a
** restarted engine does not know its predecessor's deadline; the keeper keeps
** the predecessor's lease until then).  Every lease is at most sigma + S + T_decide
** for the send time sigma of my last stable PING, the bound that step 3 of
** "Dead before restart" (docs/protocol.md) proves for my fence: the watchdog
** keeper (fencing/wdkeep.h) may keep my host alive until it after hasvcd
** died, at no cost to the proof. */
uint64_t lv_lease(const struct lv *lv);

/* Read-only views, for the daemon's status, the simulator's invariants and
** tests. */
enum lv_state lv_get_state(const struct lv *lv);
uint64_t lv_get_live(const struct lv *lv);              /* L */
uint64_t lv_get_pending_dead(const struct lv *lv);      /* lost, not yet announced dead */
struct ls_ring lv_get_prev_ring(const struct lv *lv);   /* the ring L was agreed in */
struct ls_ring lv_get_ring(const struct lv *lv);        /* my current ring */
uint64_t lv_get_members(const struct lv *lv);           /* its members */
int lv_get_master(const struct lv *lv);                 /* -1: none known */
int lv_is_fresh(const struct lv *lv, uint64_t now);
int lv_has_access(const struct lv *lv, uint64_t now);   /* continuous storage access now */
unsigned lv_get_alerts(const struct lv *lv);
/* The last decision (for logs and `hasvc simulate`). */
const struct ls_result *lv_last_result(const struct lv *lv);

struct lv_stats {
	uint64_t rounds, survived, writes, reads, io_failed, msgs_ignored, slots_invalid, stalls;
};
void lv_get_stats(const struct lv *lv, struct lv_stats *out);

const char *lv_state_name(int s);
const char *lv_action_name(int a);
const char *lv_event_name(int e);

void lv_actions_reset(struct lv_actions *a);
void lv_actions_free(struct lv_actions *a);

/*
** Read-only accessors for /metrics (hasvc/metrics.h), kept together here.
**
** lv_get_timers() copies the engine's clocks: times are on my clock (ms, the
** `now` of the events), 0 where nothing happened yet; the reader computes
** ages and margins from them.  A time may lie ahead of the last event (after
** a maintenance window every peer counts as heard from slightly in the
** future): a reader clamps a negative age to 0.
*/
struct lv_timers {
	unsigned n, self;          /* hosts of the config, my index */
	enum lv_state state;
	struct lv_timing timing;   /* the derived timers (stale_ms, decide_ms, ...) */
	uint64_t last_from[LS_MAX_HOSTS]; /* my last delivery of a message from h */
	uint64_t last_seen[LS_MAX_HOSTS]; /* the read that last saw h's slot advance */
	uint64_t fresh_until;      /* my ring is fresh (rule 1 holds) until then */
	uint64_t decide_at;        /* LV_ROUND: the round's deadline; else 0 */
	uint64_t last_write_ok, last_read_ok; /* my last statefile successes */
	int streak;                /* 1: a run of storage access is going on */
	uint64_t lease;            /* lv_lease() */
};
void lv_get_timers(const struct lv *lv, struct lv_timers *out);

#endif
