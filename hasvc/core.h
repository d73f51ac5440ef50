/*
** The sans-I/O core of one host's hasvcd (DESIGN §4).
**
** The core is a deterministic state machine.  It is fed events (the daemon
** started, a snapshot of the hypervisor's domains and the pool database's
** view of the VMs, a hypervisor event, a start result, a timer tick, a stop
** request), each with `now` in monotonic milliseconds, and answers with
** actions (query the domains, start or reap a VM, record a VM's power state,
** refresh the host metrics, exit).  It never reads a clock, a socket or a
** file: hasvcd executes its actions against the real world, and a test or
** the simulator executes them against a model.
**
** The core owns a single host: start-up reconciliation of the pool database
** with the hypervisor, the always-run rule for protected VMs on this host,
** host metrics, and carrying out the VM intents (db.h, "VM intents") the
** pool master ISSUED to this host.  The pool-wide protocol (membership,
** survival, failover decisions) is not here: the liveness layer (ha.c) and
** the failover executor (failover.c) own it; the core learns only what it
** needs through CORE_EV_HA (HA on, my host in the agreed liveset) and
** re-reads the database on CORE_EV_DB_CHANGED (coalesced: one query at a
** time, one more after it if anything changed meanwhile).
**
** The core never touches the host watchdog: it emits no watchdog action.
** The watchdog belongs to the fence state machine (fencing/fence.h), driven
** by the liveness layer (hasvc/ha.c), and is held by the keeper process
** (fencing/wdkeep.h).  One watchdog has exactly one owner.
**
** Reconciliation rule (as xapi's resync after a host boot):
**   - a domain that runs here but the DB places elsewhere or halted: the DB is
**     corrected to Running/Paused, resident here (the hypervisor is the truth
**     about what runs);
**   - a domain in the shutdown or crashed state: reaped (destroyed);
**   - a domain unknown to the DB: logged once and left alone (never killed);
**   - a VM the DB marks Running/Paused here that has no domain: with HA
**     enabled, a protected (restart + always-run) or best-effort VM without
**     an intent is restarted here -- claimed first (below), then started as
**     an intent; any other is marked Halted with resident_on cleared.
**
** The liveset gate: with HA enabled the core starts no VM at all (neither
** an always-run restart nor an intent's start) until CORE_EV_HA says my host
** is a member of the agreed liveset, and none while it is not.  A host out
** of the liveset may be about to fence, and its VMs may be restarted
** elsewhere.  Before the first CORE_EV_HA, member is 0.
**
** Incarnations (hasvc/db.h, "Incarnations"; docs/failover.md).  The core
** starts a VM only through a START intent ISSUED to its own incarnation
** (cfg.incarnation), never on its own say: a dead-host write of the master
** may be in flight against what the database shows of this host.  So:
**   - until the host row shows my incarnation (ev.u.domains.incarnated) the
**     core emits CORE_ACT_INCARNATE (again every poll_ms while it does not
**     land) -- with HA enabled only while my host is in the liveset, so that
**     it is written after my admission -- and starts, claims and adopts
**     nothing;
**   - a VM to restart here (the rule above) is first claimed:
**     CORE_ACT_CLAIM, one write that halts it and ISSUEs its START to my
**     incarnation (failover.h, FO_E_VM_CLAIM); the intent path then starts it;
**   - a START ISSUED here to another incarnation (an old self's) is never
**     started as it is: CORE_ACT_ADOPT first (FO_E_INTENT_ADOPT);
** each only with the gate open (below), at most once per poll_ms per VM.
**
** Intents ISSUED to this host (view.intent_op):
**   - START: a domain exists here -> CORE_ACT_INTENT_DONE (the VM Running
**     here, the intent gone; instead of SET_VM_POWER), whatever its
**     incarnation; else, the VM Halted, issued to my incarnation, my
**     incarnation recorded, the gate open and no start in flight ->
**     CORE_ACT_START_VM.  A start
**     that fails with a definite error (anything but the uncertain ones
**     below, or EEXIST) -> CORE_ACT_INTENT_FAILED with the error (not on a
**     standalone host, which retries with backoff: nobody else could), and no
**     further try of that issue (intent_attempts); an uncertain outcome
**     (ETIMEDOUT, ECONNRESET, EPIPE, ENOTCONN, EHOSTDOWN, ENODEV, EIO; EEXIST:
**     it may run after all) is never FAILED: backoff, look again, try again.
**   - STOP: a domain exists and is not already going -> CORE_ACT_STOP_VM
**     once (clean per intent_clean); a clean shutdown not finished after
**     30 s is followed by a hard one.  No domain (or one just reaped) ->
**     CORE_ACT_INTENT_DONE.  While a STOP intent is here the VM is not
**     restarted by the always-run rule.
** DONE / FAILED are sent again, no more often than every poll_ms, while the
** database still shows the intent ISSUED here (a report may be lost while
** no master is reachable; the write's precondition makes a repeat harmless).
**
** A guest that shut itself down (HV_DOM_SHUTDOWN) with no STOP intent is
** reaped; with HA enabled and reboot_on_internal_shutdown 0 the VM is also
** recorded Halted, not here, with ha_always_run cleared (xapi's semantics:
** the guest asked to stop); with it 1 (the default) the always-run rule
** restarts it.
*/
#ifndef HASVC_HASVC_CORE_H
#define HASVC_HASVC_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "hasvc/db.h"
#include "hasvc/hv.h"
#include "lib/ids.h"

enum core_state {
	CORE_INIT = 0,
	CORE_RECONCILING, /* waiting for the first domain snapshot */
	CORE_RUNNING,
	CORE_STOPPED,
	CORE_NSTATES
};

enum core_event_type {
	CORE_EV_START = 0, /* the daemon is up and the DB is open */
	CORE_EV_DOMAINS,   /* answer to CORE_ACT_QUERY_DOMAINS */
	CORE_EV_HV_EVENT,  /* a domain died, crashed or started */
	CORE_EV_START_RESULT,
	CORE_EV_TICK,    /* a deadline from core_next_deadline() passed */
	CORE_EV_HV_LOST, /* the hypervisor backend is unusable */
	CORE_EV_STOP,    /* SIGTERM */
	CORE_EV_HA,      /* HA settings or my liveset membership changed: u.ha */
	CORE_EV_DB_CHANGED, /* a VM or intent changed in the database: look again */
	CORE_NEVENTS
};

/* The DB's view of one VM, as the daemon read it. */
struct core_vm_view {
	char uuid[HA_UUID_LEN];
	enum db_power_state power;
	int here; /* resident_on is this host */
	enum db_restart_priority priority;
	int always_run;
	int64_t order;
	/* Its intent (hasvc/db.h, "VM intents") when ISSUED to this host:
	** DB_INTENT_START / DB_INTENT_STOP, else 0. */
	int intent_op;
	int intent_clean; /* STOP: clean shutdown */
	/* Its `attempts` (times ISSUED): a START intent issued here again
	** after a FAILED is a new one, tried afresh. */
	int64_t intent_attempts;
	/* START ISSUED here: the incarnation it was issued to (db.h). */
	int64_t intent_incarnation;
};

struct core_event {
	enum core_event_type type;
	union {
		struct {
			int ha_enabled;
		} start;
		struct {
			int enabled;
			/* My host is in the agreed liveset (its engine is steady
			** and not out of the pool).  With HA enabled the core
			** starts nothing while this is 0: a host out of the pool
			** may be about to fence, or its VMs restarted elsewhere. */
			int member;
			int reboot_on_internal_shutdown; /* pool.ha_reboot_vm_on_internal_shutdown */
		} ha;
		struct {
			const struct core_vm_view *vms;
			size_t nvms;
			const struct hv_domain *doms;
			size_t ndoms;
			int incarnated; /* my host row shows cfg.incarnation */
		} domains;
		struct hv_event hv;
		struct {
			char vm[HA_UUID_LEN];
			int err; /* 0 ok, else an errno value */
		} start_result;
		struct {
			char reason[128];
		} lost;
	} u;
};

enum core_action_type {
	CORE_ACT_QUERY_DOMAINS = 0, /* list domains + DB VMs, answer CORE_EV_DOMAINS */
	CORE_ACT_START_VM,          /* start `vm` from its DB record, answer CORE_EV_START_RESULT */
	CORE_ACT_DESTROY_VM,        /* hard-stop (reap) domain `vm` */
	CORE_ACT_SET_VM_POWER,      /* DB: vm.power_state = power, resident_on = here or "" */
	CORE_ACT_UPDATE_METRICS,    /* read host info, write host_metrics */
	CORE_ACT_EXIT,              /* exit_code */
	CORE_ACT_STOP_VM,           /* shut `vm` down: clean (asynchronous) if `clean`, else destroy */
	/* One write: the intent ISSUED to this host for `vm` is carried out
	** (precondition: it still is).  START: vm Running, resident here, the
	** intent deleted.  STOP: vm Halted, resident_on "", the intent deleted
	** -- or, for an evacuation, turned into a QUEUED START from this host. */
	CORE_ACT_INTENT_DONE,
	/* The intent ISSUED here for `vm` could not be carried out (`reason`: a
	** definite error, no domain left behind): FAILED, for the master. */
	CORE_ACT_INTENT_FAILED,
	/* One write: my host row's incarnation := cfg.incarnation
	** (FO_E_HOST_INCARNATE). */
	CORE_ACT_INCARNATE,
	/* One write: FO_E_VM_CLAIM of `vm` for my incarnation -- `vm`, Running
	** here without a domain, is to be restarted here. */
	CORE_ACT_CLAIM,
	/* One write: FO_E_INTENT_ADOPT of `vm`'s START, ISSUED here to another
	** incarnation, for mine. */
	CORE_ACT_ADOPT,
	CORE_NACTIONS
};

struct core_action {
	enum core_action_type type;
	char vm[HA_UUID_LEN];
	enum db_power_state power;
	int here;
	int clear_always_run; /* SET_VM_POWER: also ha_always_run := false (a guest
	                      ** shutdown with ha_reboot_vm_on_internal_shutdown off) */
	int clean;            /* STOP_VM */
	int intent_op;        /* INTENT_DONE: DB_INTENT_START or DB_INTENT_STOP */
	int exit_code;
	char reason[128];
};

struct core_actions {
	struct core_action *v;
	size_t n;
	size_t cap;
};

struct core_config {
	char host_uuid[HA_UUID_LEN];
	uint32_t poll_ms;      /* domain re-query period (backends without events) */
	uint32_t metrics_ms;   /* host metrics refresh period */
	uint32_t retry_min_ms; /* first retry of a failed start */
	uint32_t retry_max_ms; /* backoff cap */
	int64_t incarnation;   /* this hasvcd's, > 0 (db.h, "Incarnations") */
	/* A standalone host: no master replans a FAILED START, so a START
	** ISSUED here (a claimed restart) that fails is retried here with
	** backoff, never reported FAILED. */
	int standalone;
};

/* Defaults: poll 2 s, metrics 5 s, retries 1 s .. 60 s. */
void core_config_defaults(struct core_config *cfg);

struct core;

struct core *core_new(const struct core_config *cfg);
void core_free(struct core *c); /* core_free(NULL) is a no-op */

/* Feed one event at time `now`; appends the resulting actions to `out` (which
** the caller empties with core_actions_reset).  Returns 0 if the event was
** handled, -1 if the state machine rejects it in its current state (logged;
** no action, no state change). */
int core_step(struct core *c, const struct core_event *ev, uint64_t now, struct core_actions *out);

/* The earliest time at which the core wants a CORE_EV_TICK; UINT64_MAX if none. */
uint64_t core_next_deadline(const struct core *c, uint64_t now);

enum core_state core_get_state(const struct core *c);
const char *core_state_name(enum core_state s);
const char *core_event_name(enum core_event_type e);
const char *core_action_name(enum core_action_type a);

void core_actions_reset(struct core_actions *a);
void core_actions_free(struct core_actions *a);

#endif
