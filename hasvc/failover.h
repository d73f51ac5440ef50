/*
** The failover executor (DESIGN §7; docs/failover.md).  Sans-I/O: it is fed
** events with `now` (monotonic ms) and answers with actions; it never reads
** a clock, the database or a socket.  hasvcd (hasvc/failover_db.c carries
** out its writes) and the simulator (tests/sim) run the same code.
**
** One executor runs on every host.  Every host's executor learns from its
** own liveness engine which hosts are certainly dead (FO_EV_HOST_DEAD) and
** which are in the agreed liveset (FO_EV_LIVESET); only the *active* one --
** on the writable pool master that is itself in the liveset (FO_EV_ROLE) --
** acts.  A new master therefore knows the dead hosts already and finishes a
** failover from the replicated database: the intents (hasvc/db.h, "VM
** intents") are the whole state of a failover; the executor's memory holds
** only timing (start delays, retry backoff) and is rebuilt at once.
**
** What the active executor does, from each database snapshot (FO_EV_DB):
**   1. a host certainly dead that the database still shows with VMs or
**      intents: one write -- the host not live; its Running/Paused VMs
**      Halted with resident_on cleared; a QUEUED START intent (why
**      FAILOVER, from = the host) for each protected (restart + always-run)
**      and best-effort one; START intents ISSUED to it back to QUEUED; STOP
**      intents ISSUED to it finished (the VM is halted: an evacuation's goes
**      on as a QUEUED START, an API one is deleted);
**   2. a protected VM Halted, without resident host or intent, while no
**      restart prevention is active (pool other_config
**      "hasvc:ha_prevent_restarts_until", wall seconds): a QUEUED START intent
**      (why ALWAYS_RUN);
**   3. (not while restart prevention is active: it holds every restart, as
**      xapi's does) START intents, in restart order groups.  An intent *must* be placed
**      if its VM is protected or it is an evacuation's (why EVACUATE, any
**      priority); best-effort ones only where room remains.  The group is
**      the lowest `order` among must-place intents QUEUED, ISSUED, or FAILED
**      with their retry due.  Its QUEUED (and due FAILED) intents are placed (the
**      planner, placement/place.h, over the live enabled hosts with the
**      running VMs and the ISSUED intents counted where they are going; a
**      packing of every protected VM still to place is preferred, else the
**      group greedily) and ISSUED in one write.  A group is complete when
**      none of its intents is ISSUED; the next group waits for the largest
**      start_delay of the VMs the group started.  A protected VM no host
**      can take, or whose host reported FAILED, raises
**      HA_PROTECTED_VM_RESTART_FAILED once (intent.alerted) and is retried
**      with backoff (retry_min_ms doubling to retry_max_ms) and at once when
**      a host is admitted or enabled or a VM stops; it never holds up later
**      groups.  Best-effort intents go after every protected group, where
**      room remains, one try each (xapi): no room or FAILED deletes them;
**   4. an intent whose VM is gone, no longer Halted (for a START), or no
**      longer protected / best-effort (a failover START not yet ISSUED) is
**      deleted.
** One write is in flight at a time: FO_EV_WRITTEN says it was sent (ok) or
** could not be (no writable master); after a sent one the executor decides
** again at the first FO_EV_DB that shows its effect (every one of its edits
** would now be skipped: each edit's effect fails its own precondition), or
** FO_WRITE_WAIT_MS later without one -- never on a snapshot that other
** writes changed before its own landed.  Every edit carries its own precondition and
** is skipped when it no longer holds, so a stale decision cannot undo a
** newer one.
**
** Never: an intent moved away from a host that is neither FAILED nor
** certainly dead; a START ISSUED to a host outside my liveset, disabled, or
** certainly dead; a host marked dead that my engine has not announced dead
** (a host admitted into the liveset again is forgotten as dead).
*/
#ifndef HASVC_HASVC_FAILOVER_H
#define HASVC_HASVC_FAILOVER_H

#include <stddef.h>
#include <stdint.h>

#include "hasvc/db.h"
#include "lib/ids.h"

struct failover;

#define FO_WRITE_WAIT_MS 2000

struct fo_config {
	char host_uuid[HA_UUID_LEN]; /* this host */
	uint32_t retry_min_ms;       /* first retry of a VM that could not start */
	uint32_t retry_max_ms;       /* backoff cap */
	long plan_budget;            /* search nodes per placement (placement/place.h) */
	uint32_t vcpu_ratio_pct;     /* default when the pool says nothing */
	uint32_t default_cpus;       /* a host's CPUs when its other_config has no "cpus" */
};

/* Defaults: retries 1 s .. 60 s, budget 200000, the planner's defaults
** (hasvc/api_planner.h) for the ratio and CPUs. */
void fo_config_defaults(struct fo_config *cfg);

/* A snapshot of the pool database, borrowed for the call. */
struct fo_db_view {
	const struct db_pool *pool;
	const struct db_host *hosts;
	size_t nhosts;
	const struct db_vm *vms;
	size_t nvms;
	const struct db_vm_group *groups;
	size_t ngroups;
	const struct db_vm_intent *intents;
	size_t nintents;
	int64_t wall_ms; /* wall clock at the snapshot: intents' `created`, prevention */
};

enum fo_event_type {
	FO_EV_ROLE = 0,  /* u.active changed */
	FO_EV_LIVESET,   /* my engine's agreed liveset: u.hosts */
	FO_EV_HOST_DEAD, /* my engine: u.host is certainly dead */
	FO_EV_DB,        /* u.db: the database changed (or first snapshot) */
	FO_EV_WRITTEN,   /* u.written: the write in flight ended */
	FO_EV_TICK,      /* fo_next_deadline() passed */
	FO_NEVENTS
};

struct fo_event {
	enum fo_event_type type;
	union {
		/* writable master, HA enabled, my engine steady in its liveset */
		int active;
		struct {
			const char (*uuids)[HA_UUID_LEN];
			size_t n;
		} hosts;
		char host[HA_UUID_LEN]; /* HOST_DEAD: and `incarnation` below */
		struct fo_db_view db;
		struct {
			uint64_t id;
			int ok; /* 1 sent to the master, 0 not possible now */
		} written;
	} u;
	/* HOST_DEAD: the incarnation that died -- the host row's as my database
	** had it when my engine announced the death.  No later incarnation can
	** be in it then: the host is admitted again only after the master's
	** engine announced the death, and writes after its ADMIT in the total
	** order (docs/failover.md, "Incarnations"). */
	int64_t incarnation;
};

/* One edit of a write, with its precondition (checked against the database
** at the time of the write; an edit whose precondition fails is skipped).
**
** "host is at `incarnation`": its row shows that incarnation (a host with no
** row is at 0; hasvc/db.h, "Incarnations").  The dead-host edits (HOST_NOT_LIVE, VM_HALT,
** REQUEUE) name the incarnation that died and hold only while the row still
** shows it; the last three are a host's own writes, not the executor's.
*/
enum fo_edit_type {
	FO_E_HOST_NOT_LIVE = 0, /* if host is at incarnation: host.live := 0 */
	FO_E_VM_HALT,           /* if vm resident_on == host and host is at incarnation:
	                        ** Halted, resident_on "" */
	FO_E_INTENT_ADD,        /* if vm exists and has no intent (and, if `host` is
	                        ** set, host is at incarnation): add `intent` */
	FO_E_INTENT_ISSUE,      /* if vm's START intent is not ISSUED, vm Halted with no
	                        ** resident host, and host is at incarnation (> 0):
	                        ** ISSUED to host and incarnation, attempts + 1, error "" */
	FO_E_INTENT_REQUEUE,    /* if vm's intent is ISSUED to host and host is at
	                        ** incarnation: START -> QUEUED, host "";
	                        ** STOP why EVACUATE -> START QUEUED; STOP other -> deleted */
	FO_E_INTENT_FAIL,       /* if vm's intent is QUEUED: FAILED, error */
	FO_E_INTENT_DELETE,     /* vm's intent, whatever it is */
	FO_E_ALERT,             /* if vm's intent has alerted == 0: a message `name`
	                        ** (priority 2, class VM) about vm, body `text`, and
	                        ** its intent.alerted := 1 */
	FO_E_HOST_INCARNATE,    /* if host exists: host.incarnation := incarnation (> 0) */
	FO_E_VM_CLAIM,          /* if vm is Running/Paused resident on host, has no intent,
	                        ** and host is at incarnation (> 0): Halted, resident_on
	                        ** "", and a START intent ISSUED to host and incarnation
	                        ** (why ALWAYS_RUN, from host, attempts 1, created
	                        ** intent.created) -- a host restarting its own VM */
	FO_E_INTENT_ADOPT,      /* if vm's START intent is ISSUED to host with another
	                        ** incarnation, vm Halted with no resident host, and host
	                        ** is at incarnation (> 0): intent.incarnation :=
	                        ** incarnation -- a host taking over its old self's START */
	FO_NEDITS
};

struct fo_edit {
	enum fo_edit_type type;
	char vm[HA_UUID_LEN];
	char host[HA_UUID_LEN];
	struct db_vm_intent intent; /* FO_E_INTENT_ADD */
	char name[64];              /* FO_E_ALERT */
	char text[256];             /* FO_E_ALERT body, FO_E_INTENT_FAIL error */
	int64_t incarnation;        /* host's: see above */
};

enum fo_action_type {
	FO_ACT_WRITE = 0, /* apply edits[0..nedits) in one replicated write; answer
	                  ** FO_EV_WRITTEN with `id` */
	FO_ACT_NOTE,      /* a line for the failover timeline (`text`): log it */
	FO_NACTIONS
};

struct fo_action {
	enum fo_action_type type;
	uint64_t id;
	struct fo_edit *edits; /* owned by the actions list */
	size_t nedits;
	char text[256];
};

struct fo_actions {
	struct fo_action *v;
	size_t n;
	size_t cap;
};

/* The rows the edits touch, as plain arrays: the executor's scratch copy of
** a snapshot, and the simulator's database.  `intents` is xmalloc'd (an
** INTENT_ADD grows it); the hosts and VMs are edited in place. */
struct fo_rows {
	struct db_host *hosts;
	size_t nhosts;
	struct db_vm *vms;
	size_t nvms;
	struct db_vm_intent *intents;
	size_t nintents, capintents;
};

/* Apply one edit to rows if its precondition holds -- exactly what fo_apply
** (hasvc/failover_db.h) does to the database, the alert's message aside.
** 1 applied, 0 skipped. */
int fo_rows_apply(struct fo_rows *r, const struct fo_edit *e);
struct db_host *fo_rows_host(struct fo_rows *r, const char *uuid);
struct db_vm *fo_rows_vm(struct fo_rows *r, const char *uuid);
struct db_vm_intent *fo_rows_intent(struct fo_rows *r, const char *vm);

struct failover *fo_new(const struct fo_config *cfg);
void fo_free(struct failover *fo); /* NULL: no-op */

/* Feed one event; appends actions to `out` (the caller empties it with
** fo_actions_reset).  Returns 0, or -1 for an event it rejects (logged). */
int fo_step(struct failover *fo, const struct fo_event *ev, uint64_t now, struct fo_actions *out);

/* The earliest time the executor wants FO_EV_TICK; UINT64_MAX if none. */
uint64_t fo_next_deadline(const struct failover *fo, uint64_t now);

/* For status and /metrics. */
struct fo_status {
	int active;
	size_t dead;       /* hosts my engine announced dead, not admitted since */
	size_t queued;     /* START intents QUEUED or FAILED waiting for a retry */
	size_t issued;     /* intents ISSUED */
	int64_t group;     /* the order group being started; -1 none */
	uint64_t restarts; /* VMs seen running after an intent of mine, since start */
	uint64_t failures; /* HA_PROTECTED_VM_RESTART_FAILED raised by me */
};
void fo_get_status(const struct failover *fo, struct fo_status *out);

void fo_actions_reset(struct fo_actions *a); /* frees the edits, keeps the array */
void fo_actions_free(struct fo_actions *a);

const char *fo_event_name(enum fo_event_type t);
const char *fo_edit_name(enum fo_edit_type t);

#endif
