/*
** The single-host core state machine.  See core.h for the contract.
**
** Owns: the core state, the polling and metrics deadlines, the HA view
** (enabled, liveset membership, reboot on internal shutdown), whether the
** database shows my incarnation (and when INCARNATE was last sent), and
** per-VM tracking (a start in flight, the backoff of a failing one, the last
** report, claim or adoption sent, a STOP carried out).  Not the host
** watchdog: that is the fence state machine's (core.h).  Invariants:
**   - no START_VM except for a START intent ISSUED to my incarnation
**     (cfg.incarnation), its VM Halted with no domain here: the core never
**     starts a VM on its own say (a restart is claimed first);
**   - no START_VM, CLAIM or ADOPT unless the last snapshot showed my
**     incarnation in my host row, nor while HA is enabled and this host is
**     not in the liveset;
**   - at most one START_VM in flight per VM;
**   - no START_VM for a START intent this host has reported FAILED (same
**     issue);
**   - INCARNATE, CLAIM, ADOPT, INTENT_DONE and INTENT_FAILED are repeated no
**     more often than every poll_ms while the database does not show them;
**   - no action is emitted from CORE_STOPPED.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hasvc/core.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* A clean shutdown that has not finished after this long is followed by a
** hard one. */
#define CORE_CLEAN_STOP_MS 30000

/* What a track last sent to the database about its VM (throttled resends):
** a report of its intent, the adoption of its START, or its claim (the one
** that is about a VM with no intent). */
enum {
	REPORT_NONE = 0,
	REPORT_START_DONE,
	REPORT_STOP_DONE,
	REPORT_FAILED,
	REPORT_ADOPT,
	REPORT_CLAIM
};

struct vm_track {
	char uuid[HA_UUID_LEN];
	int in_flight;
	uint64_t next_try; /* no start before this time */
	uint32_t backoff;  /* current retry delay, 0 = none yet */
	int64_t attempts;  /* the START intent's issue the start is for */
	/* START intent: FAILED reported for issue `failed_attempts`. */
	int failed;
	int64_t failed_attempts;
	char reason[128];
	/* The last INTENT_DONE / INTENT_FAILED / ADOPT / CLAIM emitted, and when. */
	int reported;
	uint64_t reported_at;
	/* STOP intent: STOP_VM emitted (clean?), at stop_at. */
	int stop_sent;
	int stop_clean;
	uint64_t stop_at;
};

struct core {
	struct core_config cfg;
	enum core_state state;
	int ha_enabled;
	int member; /* my host is in the agreed liveset (CORE_EV_HA) */
	int reboot_on_internal_shutdown;
	int incarnated;     /* the last snapshot showed my incarnation */
	int incarnate_sent; /* INCARNATE emitted, at incarnate_at */
	uint64_t incarnate_at;
	uint64_t next_poll;
	uint64_t next_metrics;
	int query_outstanding;
	int dirty; /* something changed while a query was outstanding */

	struct vm_track *tracks;
	size_t ntracks;

	char (*foreign)[HA_UUID_LEN]; /* domains unknown to the DB, logged once */
	size_t nforeign;
};

static const char *const state_names[CORE_NSTATES] = {
	[CORE_INIT] = "init",
	[CORE_RECONCILING] = "reconciling",
	[CORE_RUNNING] = "running",
	[CORE_STOPPED] = "stopped",
};

static const char *const event_names[CORE_NEVENTS] = {
	[CORE_EV_START] = "start",		[CORE_EV_DOMAINS] = "domains",
	[CORE_EV_HV_EVENT] = "hv-event",	[CORE_EV_START_RESULT] = "start-result",
	[CORE_EV_TICK] = "tick",		[CORE_EV_HV_LOST] = "hv-lost",
	[CORE_EV_STOP] = "stop",		[CORE_EV_HA] = "ha",
	[CORE_EV_DB_CHANGED] = "db-changed",
};

static const char *const action_names[CORE_NACTIONS] = {
	[CORE_ACT_QUERY_DOMAINS] = "query-domains",
	[CORE_ACT_START_VM] = "start-vm",
	[CORE_ACT_DESTROY_VM] = "destroy-vm",
	[CORE_ACT_SET_VM_POWER] = "set-vm-power",
	[CORE_ACT_UPDATE_METRICS] = "update-metrics",
	[CORE_ACT_EXIT] = "exit",
	[CORE_ACT_STOP_VM] = "stop-vm",
	[CORE_ACT_INTENT_DONE] = "intent-done",
	[CORE_ACT_INTENT_FAILED] = "intent-failed",
	[CORE_ACT_INCARNATE] = "incarnate",
	[CORE_ACT_CLAIM] = "claim",
	[CORE_ACT_ADOPT] = "adopt",
};

const char *
core_state_name(enum core_state s)
{
	return (unsigned)s < CORE_NSTATES ? state_names[s] : "?";
}

const char *
core_event_name(enum core_event_type e)
{
	return (unsigned)e < CORE_NEVENTS ? event_names[e] : "?";
}

const char *
core_action_name(enum core_action_type a)
{
	return (unsigned)a < CORE_NACTIONS ? action_names[a] : "?";
}

void
core_config_defaults(struct core_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->poll_ms = 2000;
	cfg->metrics_ms = 5000;
	cfg->retry_min_ms = 1000;
	cfg->retry_max_ms = 60000;
}

struct core *
core_new(const struct core_config *cfg)
{
	struct core *c = xcalloc(1, sizeof(*c));

	ha_assert(cfg->poll_ms > 0 && cfg->metrics_ms > 0);
	ha_assert(cfg->retry_min_ms > 0 && cfg->retry_max_ms >= cfg->retry_min_ms);
	ha_assert(cfg->incarnation > 0);
	c->cfg = *cfg;
	c->state = CORE_INIT;
	c->reboot_on_internal_shutdown = 1;
	return c;
}

void
core_free(struct core *c)
{
	if (c == NULL)
		return;
	xfree(c->tracks);
	xfree(c->foreign);
	xfree(c);
}

enum core_state
core_get_state(const struct core *c)
{
	return c->state;
}

void
core_actions_reset(struct core_actions *a)
{
	a->n = 0;
}

void
core_actions_free(struct core_actions *a)
{
	xfree(a->v);
	memset(a, 0, sizeof(*a));
}

static struct core_action *
emit(struct core_actions *out, enum core_action_type type)
{
	struct core_action *a;

	if (out->n == out->cap) {
		out->cap = out->cap ? 2 * out->cap : 16;
		out->v = xreallocarray(out->v, out->cap, sizeof(*out->v));
	}
	a = &out->v[out->n++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	return a;
}

static void
emit_vm(struct core_actions *out, enum core_action_type type, const char *vm)
{
	struct core_action *a = emit(out, type);

	memcpy(a->vm, vm, HA_UUID_LEN);
}

static void
emit_query(struct core *c, struct core_actions *out, uint64_t now)
{
	if (c->query_outstanding)
		return;
	c->dirty = 0;
	c->query_outstanding = 1;
	c->next_poll = now + c->cfg.poll_ms;
	emit(out, CORE_ACT_QUERY_DOMAINS);
}

static struct vm_track *
track_find(struct core *c, const char *uuid, int create)
{
	size_t i;

	for (i = 0; i < c->ntracks; i++)
		if (strcmp(c->tracks[i].uuid, uuid) == 0)
			return &c->tracks[i];
	if (!create)
		return NULL;
	c->tracks = xreallocarray(c->tracks, c->ntracks + 1, sizeof(*c->tracks));
	memset(&c->tracks[c->ntracks], 0, sizeof(*c->tracks));
	memcpy(c->tracks[c->ntracks].uuid, uuid, HA_UUID_LEN);
	return &c->tracks[c->ntracks++];
}

static void
track_drop(struct core *c, const char *uuid)
{
	struct vm_track *t = track_find(c, uuid, 0);

	if (t == NULL)
		return;
	*t = c->tracks[--c->ntracks];
}

static void
foreign_note(struct core *c, const char *uuid)
{
	size_t i;

	for (i = 0; i < c->nforeign; i++)
		if (strcmp(c->foreign[i], uuid) == 0)
			return;
	c->foreign = xreallocarray(c->foreign, c->nforeign + 1, sizeof(*c->foreign));
	memcpy(c->foreign[c->nforeign++], uuid, HA_UUID_LEN);
	log_warnx("domain %s: not in the pool database; left alone", uuid);
}

static const struct hv_domain *
dom_find(const struct core_event *ev, const char *uuid)
{
	size_t i;

	for (i = 0; i < ev->u.domains.ndoms; i++)
		if (strcmp(ev->u.domains.doms[i].uuid, uuid) == 0)
			return &ev->u.domains.doms[i];
	return NULL;
}

static const struct core_vm_view *
vm_find(const struct core_event *ev, const char *uuid)
{
	size_t i;

	for (i = 0; i < ev->u.domains.nvms; i++)
		if (strcmp(ev->u.domains.vms[i].uuid, uuid) == 0)
			return &ev->u.domains.vms[i];
	return NULL;
}

/* Whether the always-run rule restarts (claims) this VM when its domain is
** missing. */
static int
wants_restart(const struct core *c, const struct core_vm_view *vm)
{
	if (!c->ha_enabled)
		return 0;
	if (vm->priority == DB_PRIO_RESTART && vm->always_run)
		return 1;
	return vm->priority == DB_PRIO_BEST_EFFORT;
}

/* May this host start, claim or adopt VMs now?  The liveset gate (core.h),
** and my incarnation in my host row: until it is there, a write of the
** master against my old self may still be on its way. */
static int
may_start(const struct core *c)
{
	return c->incarnated && (!c->ha_enabled || c->member);
}

/* Whether the start result `err` is certain to have left no domain behind.
** A lost connection, a timeout or an I/O error says nothing about what the
** hypervisor did; EEXIST says the domain is there. */
static int
err_definite(int err)
{
	switch (err) {
	case ETIMEDOUT:
	case ECONNRESET:
	case EPIPE:
	case ENOTCONN:
	case EHOSTDOWN:
	case ENODEV:
	case EIO:
	case EEXIST:
		return 0;
	default:
		return 1;
	}
}

static int
cmp_order(const void *a, const void *b)
{
	const struct core_vm_view *x = *(const struct core_vm_view *const *)a;
	const struct core_vm_view *y = *(const struct core_vm_view *const *)b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return strcmp(x->uuid, y->uuid);
}

/* Whether a report (`what`: REPORT_*) is due: the first, or a repeat at
** least poll_ms after the last one (the database still does not show it). */
static int
report_due(const struct core *c, struct vm_track *t, int what, uint64_t now)
{
	if (t->reported == what && now < t->reported_at + c->cfg.poll_ms)
		return 0;
	t->reported = what;
	t->reported_at = now;
	return 1;
}

static void
emit_intent_done(struct core *c, struct core_actions *out, const char *vm, int op,
		 enum db_power_state power, int here, uint64_t now)
{
	struct vm_track *t = track_find(c, vm, 1);
	struct core_action *a;

	if (!report_due(c, t, op == DB_INTENT_START ? REPORT_START_DONE : REPORT_STOP_DONE, now))
		return;
	log_notice("vm %s: %s intent carried out on host %s", vm,
		   op == DB_INTENT_START ? "start" : "stop", c->cfg.host_uuid);
	a = emit(out, CORE_ACT_INTENT_DONE);
	memcpy(a->vm, vm, HA_UUID_LEN);
	a->intent_op = op;
	a->power = power;
	a->here = here;
}

static void
emit_intent_failed(struct core *c, struct core_actions *out, struct vm_track *t, uint64_t now)
{
	struct core_action *a;

	if (!report_due(c, t, REPORT_FAILED, now))
		return;
	log_warnx("vm %s: start intent failed on host %s: %s", t->uuid, c->cfg.host_uuid,
		  t->reason);
	a = emit(out, CORE_ACT_INTENT_FAILED);
	memcpy(a->vm, t->uuid, HA_UUID_LEN);
	a->intent_op = DB_INTENT_START;
	snprintf(a->reason, sizeof(a->reason), "%s", t->reason);
}

/* A STOP intent whose domain runs here: stop it once; a clean stop that
** has not finished after CORE_CLEAN_STOP_MS is followed by a hard one (and
** a hard one that left the domain is tried again as often). */
static void
stop_domain(struct core *c, const struct core_vm_view *vm, uint64_t now,
	    struct core_actions *out)
{
	struct vm_track *t = track_find(c, vm->uuid, 1);
	struct core_action *a;
	int clean;

	if (!t->stop_sent) {
		clean = vm->intent_clean != 0;
		log_notice("vm %s: stop intent: %s shutdown", vm->uuid, clean ? "clean" : "hard");
	} else if (now >= t->stop_at + CORE_CLEAN_STOP_MS) {
		clean = 0;
		log_warnx("vm %s: %s shutdown not finished after %d s; destroying it", vm->uuid,
			  t->stop_clean ? "clean" : "hard", CORE_CLEAN_STOP_MS / 1000);
	} else {
		return;
	}
	t->stop_sent = 1;
	t->stop_clean = clean;
	t->stop_at = now;
	a = emit(out, CORE_ACT_STOP_VM);
	memcpy(a->vm, vm->uuid, HA_UUID_LEN);
	a->clean = clean;
}

/* Domains that exist: correct the DB to them, reap the dead ones, carry
** out the intents of the VMs they belong to. */
static void
reconcile_domains(struct core *c, const struct core_event *ev, uint64_t now,
		  struct core_actions *out)
{
	size_t i;

	for (i = 0; i < ev->u.domains.ndoms; i++) {
		const struct hv_domain *d = &ev->u.domains.doms[i];
		const struct core_vm_view *vm = vm_find(ev, d->uuid);
		enum db_power_state want;
		struct core_action *a;

		if (vm == NULL) {
			foreign_note(c, d->uuid);
			continue;
		}
		if (d->state == HV_DOM_SHUTDOWN || d->state == HV_DOM_CRASHED) {
			log_notice("vm %s: domain is %s; reaping it", d->uuid,
				   hv_dom_state_name(d->state));
			emit_vm(out, CORE_ACT_DESTROY_VM, d->uuid);
			if (vm->intent_op == DB_INTENT_STOP) {
				emit_intent_done(c, out, vm->uuid, DB_INTENT_STOP, DB_POWER_HALTED,
						 0, now);
			} else if (d->state == HV_DOM_SHUTDOWN && c->ha_enabled &&
				   !c->reboot_on_internal_shutdown && vm->power != DB_POWER_HALTED) {
				/* The guest asked to stop: it stays stopped. */
				log_notice("vm %s: shut down from inside; Halted, always-run "
					   "cleared (ha_reboot_vm_on_internal_shutdown is off)",
					   vm->uuid);
				a = emit(out, CORE_ACT_SET_VM_POWER);
				memcpy(a->vm, vm->uuid, HA_UUID_LEN);
				a->power = DB_POWER_HALTED;
				a->here = 0;
				a->clear_always_run = 1;
			}
			continue;
		}
		if (d->state == HV_DOM_DYING)
			continue;
		want = d->state == HV_DOM_PAUSED ? DB_POWER_PAUSED : DB_POWER_RUNNING;
		if (vm->intent_op == DB_INTENT_START) {
			emit_intent_done(c, out, vm->uuid, DB_INTENT_START, want, 1, now);
			continue;
		}
		if (vm->intent_op == DB_INTENT_STOP)
			stop_domain(c, vm, now, out);
		if (vm->here && vm->power == want)
			continue;
		log_notice("vm %s: %s%s -> %s here (domain found on this host)", d->uuid,
			   db_power_state_name(vm->power), vm->here ? "" : " elsewhere",
			   db_power_state_name(want));
		a = emit(out, CORE_ACT_SET_VM_POWER);
		memcpy(a->vm, d->uuid, HA_UUID_LEN);
		a->power = want;
		a->here = 1;
	}
}

/* A START intent ISSUED to my incarnation, the VM Halted with no domain
** here: start it unless a start is in flight or backing off. */
static void
try_start(struct core *c, const struct core_vm_view *vm, uint64_t now, struct core_actions *out)
{
	struct vm_track *t = track_find(c, vm->uuid, 1);

	if (t->in_flight || now < t->next_try)
		return;
	log_notice("vm %s: start intent (issue %lld) for host %s; starting it", vm->uuid,
		   (long long)vm->intent_attempts, c->cfg.host_uuid);
	t->in_flight = 1;
	t->attempts = vm->intent_attempts;
	emit_vm(out, CORE_ACT_START_VM, vm->uuid);
}

/* A START intent ISSUED here to another incarnation (an old self's): never
** started as it is, adopted first. */
static void
try_adopt(struct core *c, const struct core_vm_view *vm, uint64_t now, struct core_actions *out)
{
	struct vm_track *t = track_find(c, vm->uuid, 1);

	if (!report_due(c, t, REPORT_ADOPT, now))
		return;
	log_notice("vm %s: start intent issued to incarnation %lld of host %s; adopting it "
		   "for incarnation %lld", vm->uuid, (long long)vm->intent_incarnation,
		   c->cfg.host_uuid, (long long)c->cfg.incarnation);
	emit_vm(out, CORE_ACT_ADOPT, vm->uuid);
}

/* A VM to restart here (the always-run rule): claimed, so that a START
** intent issued to my incarnation starts it. */
static void
try_claim(struct core *c, const struct core_vm_view *vm, uint64_t now, struct core_actions *out)
{
	struct vm_track *t = track_find(c, vm->uuid, 1);

	if (t->in_flight || !report_due(c, t, REPORT_CLAIM, now))
		return;
	log_notice("vm %s: %s and not running; claiming its restart (order %lld)", vm->uuid,
		   vm->priority == DB_PRIO_RESTART ? "protected" : "best-effort",
		   (long long)vm->order);
	emit_vm(out, CORE_ACT_CLAIM, vm->uuid);
}

/* A START intent ISSUED here, the VM Halted with no domain. */
static void
start_intent(struct core *c, const struct core_vm_view *vm, uint64_t now,
	     struct core_actions *out)
{
	struct vm_track *t;

	if (vm->intent_incarnation != c->cfg.incarnation) {
		if (may_start(c))
			try_adopt(c, vm, now, out);
		return;
	}
	t = track_find(c, vm->uuid, 1);
	if (t->failed && t->failed_attempts == vm->intent_attempts) {
		emit_intent_failed(c, out, t, now);
		return;
	}
	t->failed = 0;
	if (may_start(c))
		try_start(c, vm, now, out);
}

/* VMs with no domain here: intents to carry out, and the ones the DB runs
** here, claimed or marked halted -- in ascending restart order. */
static void
reconcile_missing(struct core *c, const struct core_event *ev, uint64_t now,
		  struct core_actions *out)
{
	const struct core_vm_view **missing;
	size_t i, n = 0;

	missing = xcalloc(ev->u.domains.nvms, sizeof(*missing));
	for (i = 0; i < ev->u.domains.nvms; i++) {
		const struct core_vm_view *vm = &ev->u.domains.vms[i];
		int resident = vm->here &&
			       (vm->power == DB_POWER_RUNNING || vm->power == DB_POWER_PAUSED);

		if (!resident && vm->intent_op == 0)
			continue;
		if (dom_find(ev, vm->uuid) == NULL)
			missing[n++] = vm;
	}
	qsort(missing, n, sizeof(*missing), cmp_order);

	for (i = 0; i < n; i++) {
		const struct core_vm_view *vm = missing[i];
		struct vm_track *t;
		struct core_action *a;

		if (vm->intent_op == DB_INTENT_STOP) {
			/* Stopped (or never running here): done, unless the
			** database runs it on another host -- not ours to say. */
			if (vm->here || (vm->power != DB_POWER_RUNNING &&
					 vm->power != DB_POWER_PAUSED))
				emit_intent_done(c, out, vm->uuid, DB_INTENT_STOP,
						 DB_POWER_HALTED, 0, now);
			continue;
		}
		if (vm->intent_op == DB_INTENT_START && vm->power == DB_POWER_HALTED) {
			start_intent(c, vm, now, out);
			continue;
		}
		if (!vm->here)
			continue; /* a START intent for a VM not Halted: the master's */
		if (vm->intent_op == 0 && wants_restart(c, vm)) {
			if (may_start(c))
				try_claim(c, vm, now, out);
			continue;
		}
		/* Not to be restarted -- or a START intent is here for it
		** already (no claim then), which starts it once it is Halted. */
		log_notice("vm %s: %s -> Halted (no domain on this host)", vm->uuid,
			   db_power_state_name(vm->power));
		a = emit(out, CORE_ACT_SET_VM_POWER);
		memcpy(a->vm, vm->uuid, HA_UUID_LEN);
		a->power = DB_POWER_HALTED;
		a->here = 0;
		t = track_find(c, vm->uuid, 0);
		if (t != NULL && !t->in_flight && vm->intent_op == 0)
			track_drop(c, vm->uuid);
	}
	xfree(missing);
}

/* Forget what no longer applies: a track whose intent went away loses its
** intent state; one with nothing left to remember goes. */
static void
tracks_prune(struct core *c, const struct core_event *ev)
{
	size_t i;

	for (i = 0; i < c->ntracks;) {
		struct vm_track *t = &c->tracks[i];
		const struct core_vm_view *vm = vm_find(ev, t->uuid);
		int op = vm != NULL ? vm->intent_op : 0;
		int resident = vm != NULL && vm->here &&
			       (vm->power == DB_POWER_RUNNING || vm->power == DB_POWER_PAUSED);

		if (op != DB_INTENT_START)
			t->failed = 0;
		if (op != DB_INTENT_STOP)
			t->stop_sent = 0;
		/* A claim is about a VM with no intent, the other reports
		** about its intent: each is forgotten with what it was about. */
		if (t->reported == REPORT_CLAIM ? op != 0 : op == 0)
			t->reported = REPORT_NONE;
		if (!t->in_flight && op == 0 &&
		    (vm == NULL || !resident || dom_find(ev, t->uuid) != NULL))
			c->tracks[i] = c->tracks[--c->ntracks];
		else
			i++;
	}
}

static void
do_start(struct core *c, const struct core_event *ev, uint64_t now, struct core_actions *out)
{
	c->ha_enabled = ev->u.start.ha_enabled;
	log_info("host %s: core starting (HA %s)", c->cfg.host_uuid,
		 c->ha_enabled ? "enabled" : "disabled");
	emit_query(c, out, now);
	emit(out, CORE_ACT_UPDATE_METRICS);
	c->next_metrics = now + c->cfg.metrics_ms;
}

/* My host row does not show my incarnation: (again) say who runs it. */
static void
incarnate(struct core *c, const struct core_event *ev, uint64_t now, struct core_actions *out)
{
	if (ev->u.domains.incarnated) {
		if (!c->incarnated)
			log_notice("host %s: incarnation %lld recorded", c->cfg.host_uuid,
				   (long long)c->cfg.incarnation);
		c->incarnated = 1;
		c->incarnate_sent = 0;
		return;
	}
	if (c->incarnated)
		log_warnx("host %s: the database no longer shows incarnation %lld; nothing "
			  "starts until it does", c->cfg.host_uuid, (long long)c->cfg.incarnation);
	c->incarnated = 0;
	/* With HA on, not before my host is in the liveset: a host that died
	** and came back is admitted only after the master's engine announced
	** its old self dead, so written after its admission my incarnation
	** cannot be the one a dead-host write names (failover.h,
	** fo_event.incarnation). */
	if (c->ha_enabled && !c->member)
		return;
	if (c->incarnate_sent && now < c->incarnate_at + c->cfg.poll_ms)
		return;
	log_info("host %s: recording incarnation %lld", c->cfg.host_uuid,
		 (long long)c->cfg.incarnation);
	c->incarnate_sent = 1;
	c->incarnate_at = now;
	emit(out, CORE_ACT_INCARNATE);
}

static void
do_domains(struct core *c, const struct core_event *ev, uint64_t now, struct core_actions *out)
{
	c->query_outstanding = 0;
	incarnate(c, ev, now, out);
	reconcile_domains(c, ev, now, out);
	reconcile_missing(c, ev, now, out);
	tracks_prune(c, ev);
	/* Something changed while this snapshot was taken: look again. */
	if (c->dirty)
		emit_query(c, out, now);
}

/* Look at the database again: now, or after the query outstanding. */
static void
requery(struct core *c, struct core_actions *out, uint64_t now)
{
	if (c->query_outstanding)
		c->dirty = 1;
	else
		emit_query(c, out, now);
}

static void
do_ha(struct core *c, const struct core_event *ev, uint64_t now, struct core_actions *out)
{
	int enabled = ev->u.ha.enabled != 0, member = ev->u.ha.member != 0;
	int reboot = ev->u.ha.reboot_on_internal_shutdown != 0;

	if (enabled == c->ha_enabled && member == c->member &&
	    reboot == c->reboot_on_internal_shutdown)
		return;
	log_notice("host %s: HA %s, %s the liveset%s", c->cfg.host_uuid,
		   enabled ? "enabled" : "disabled", member ? "in" : "not in",
		   reboot ? "" : ", no reboot on internal shutdown");
	if (enabled != c->ha_enabled || member != c->member) {
		c->ha_enabled = enabled;
		c->member = member;
		requery(c, out, now);
	}
	c->reboot_on_internal_shutdown = reboot;
}

static void
do_db_changed(struct core *c, const struct core_event *ev, uint64_t now,
	      struct core_actions *out)
{
	requery(c, out, now);
}

static void
do_hv_event(struct core *c, const struct core_event *ev, uint64_t now, struct core_actions *out)
{
	log_info("vm %s: hypervisor reports %s (%s)", ev->u.hv.uuid, hv_event_name(ev->u.hv.type),
		 ev->u.hv.reason);
	emit_query(c, out, now);
}

static void
do_start_result(struct core *c, const struct core_event *ev, uint64_t now,
		struct core_actions *out)
{
	struct vm_track *t = track_find(c, ev->u.start_result.vm, 0);
	int err = ev->u.start_result.err;

	if (NEVER(t == NULL || !t->in_flight))
		return;
	t->in_flight = 0;
	if (err == 0) {
		t->backoff = 0;
		t->next_try = 0;
		log_notice("vm %s: started", t->uuid);
		emit_intent_done(c, out, t->uuid, DB_INTENT_START, DB_POWER_RUNNING, 1, now);
	} else if (err_definite(err) && !c->cfg.standalone) {
		/* No domain left behind: the master may place it elsewhere.
		** (Standalone, there is no master to: backoff and retry.) */
		t->failed = 1;
		t->failed_attempts = t->attempts;
		snprintf(t->reason, sizeof(t->reason), "%s", strerror(err));
		t->reported = REPORT_NONE;
		emit_intent_failed(c, out, t, now);
	} else {
		t->backoff = t->backoff ? t->backoff * 2 : c->cfg.retry_min_ms;
		if (t->backoff > c->cfg.retry_max_ms)
			t->backoff = c->cfg.retry_max_ms;
		t->next_try = now + t->backoff;
		log_warnx("vm %s: start failed (%s); retrying in %u ms", t->uuid, strerror(err),
			  t->backoff);
	}
	emit_query(c, out, now);
}

static void
do_tick(struct core *c, const struct core_event *ev, uint64_t now, struct core_actions *out)
{
	size_t i;

	if (now >= c->next_metrics) {
		emit(out, CORE_ACT_UPDATE_METRICS);
		c->next_metrics = now + c->cfg.metrics_ms;
	}
	if (now >= c->next_poll) {
		emit_query(c, out, now);
		c->next_poll = now + c->cfg.poll_ms;
	}
	/* A backoff that expired wants a fresh look at the domains. */
	for (i = 0; i < c->ntracks; i++)
		if (!c->tracks[i].in_flight && c->tracks[i].next_try && now >= c->tracks[i].next_try) {
			c->tracks[i].next_try = 0;
			emit_query(c, out, now);
		}
}

static void
leave(struct core_actions *out, int code, const char *reason)
{
	struct core_action *a = emit(out, CORE_ACT_EXIT);

	a->exit_code = code;
	snprintf(a->reason, sizeof(a->reason), "%s", reason);
}

static void
do_stop(struct core *c, const struct core_event *ev, uint64_t now, struct core_actions *out)
{
	leave(out, 0, "stop requested");
}

static void
do_hv_lost(struct core *c, const struct core_event *ev, uint64_t now, struct core_actions *out)
{
	/* Without the hypervisor this daemon can neither see nor protect its
	** VMs.  Exit and let the supervisor restart it.  Whether the host must
	** fence is not the core's decision: the watchdog is not the core's. */
	log_errx("host %s: hypervisor backend lost: %s", c->cfg.host_uuid, ev->u.lost.reason);
	leave(out, 1, "hypervisor backend lost");
}

typedef void (*core_handler)(struct core *, const struct core_event *, uint64_t,
			     struct core_actions *);

struct transition {
	core_handler fn;
	enum core_state next;
};

#define STAY CORE_NSTATES /* next state: unchanged */

/* (state, event) -> (handler, next state).  A NULL handler rejects the event. */
static const struct transition fsm[CORE_NSTATES][CORE_NEVENTS] = {
	[CORE_INIT] = {
		[CORE_EV_START] = {do_start, CORE_RECONCILING},
		[CORE_EV_STOP] = {do_stop, CORE_STOPPED},
	},
	[CORE_RECONCILING] = {
		[CORE_EV_DOMAINS] = {do_domains, CORE_RUNNING},
		[CORE_EV_HV_EVENT] = {do_hv_event, STAY},
		[CORE_EV_TICK] = {do_tick, STAY},
		[CORE_EV_HV_LOST] = {do_hv_lost, CORE_STOPPED},
		[CORE_EV_STOP] = {do_stop, CORE_STOPPED},
		[CORE_EV_HA] = {do_ha, STAY},
		[CORE_EV_DB_CHANGED] = {do_db_changed, STAY},
	},
	[CORE_RUNNING] = {
		[CORE_EV_DOMAINS] = {do_domains, STAY},
		[CORE_EV_HV_EVENT] = {do_hv_event, STAY},
		[CORE_EV_START_RESULT] = {do_start_result, STAY},
		[CORE_EV_TICK] = {do_tick, STAY},
		[CORE_EV_HV_LOST] = {do_hv_lost, CORE_STOPPED},
		[CORE_EV_STOP] = {do_stop, CORE_STOPPED},
		[CORE_EV_HA] = {do_ha, STAY},
		[CORE_EV_DB_CHANGED] = {do_db_changed, STAY},
	},
	[CORE_STOPPED] = {{0}},
};

int
core_step(struct core *c, const struct core_event *ev, uint64_t now, struct core_actions *out)
{
	const struct transition *t;
	enum core_state from = c->state;

	if ((unsigned)ev->type >= CORE_NEVENTS) {
		log_warnx("host %s: event %d unknown; rejected", c->cfg.host_uuid, (int)ev->type);
		return -1;
	}
	t = &fsm[from][ev->type];
	if (t->fn == NULL) {
		log_warnx("host %s: event %s not valid in state %s; rejected", c->cfg.host_uuid,
			  core_event_name(ev->type), core_state_name(from));
		return -1;
	}
	t->fn(c, ev, now, out);
	if (t->next != STAY && t->next != from) {
		c->state = t->next;
		log_info("host %s: event %s: %s -> %s", c->cfg.host_uuid, core_event_name(ev->type),
			 core_state_name(from), core_state_name(c->state));
	}
	return 0;
}

uint64_t
core_next_deadline(const struct core *c, uint64_t now)
{
	uint64_t d = UINT64_MAX;
	size_t i;

	if (c->state != CORE_RUNNING && c->state != CORE_RECONCILING)
		return d;
	if (c->next_metrics < d)
		d = c->next_metrics;
	if (c->next_poll < d)
		d = c->next_poll;
	for (i = 0; i < c->ntracks; i++)
		if (!c->tracks[i].in_flight && c->tracks[i].next_try && c->tracks[i].next_try < d)
			d = c->tracks[i].next_try;
	return d < now ? now : d;
}
