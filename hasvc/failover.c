/*
** The failover executor (failover.h is its contract; docs/failover.md).
**
** The executor keeps a deep copy of the last database snapshot, the dead
** hosts its engine announced, its engine's liveset, and timing: retry
** backoff per VM, the order group being started and the gate (the largest
** start_delay of a completed group) before the next one.  Everything else
** -- which VM restarts where -- is in the intents of the snapshot.
**
** A decision (decide()) runs when the executor is active, holds a snapshot
** and has no write in flight or pending.  It works on a scratch copy of the
** snapshot (struct work) to which every edit it makes is applied at once
** with the precondition fo_apply() will check, so later steps see the
** effect of earlier ones: the dead-host edits and the first group's ISSUE
** edits go out in one write.  The steps, in order: dead hosts (1), stale
** intents (4), always-run (2), order groups and best-effort (3).
**
** Invariants: a START is ISSUED only to a host that is enabled, in my
** liveset and not announced dead (host_usable()); an ISSUED intent is
** requeued only by the dead-host step, for a host announced dead; only one
** write is in flight.
*/
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hasvc/failover.h"
#include "hasvc/failover_db.h"
#include "hasvc/api_planner.h"
#include "hasvc/plan_model.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "placement/place.h"

/* After a write could not be sent: wait this long before deciding again. */
#define FO_UNSENT_WAIT_MS 500

#define PREVENT_KEY "hasvc:ha_prevent_restarts_until"
#define ALERT_NAME  "HA_PROTECTED_VM_RESTART_FAILED"

/* A host my engine announced dead (and has not admitted since). */
struct fo_dead {
	char uuid[HA_UUID_LEN];
	int64_t incarnation; /* the one that died (fo_event.incarnation) */
	uint64_t at;     /* when announced */
	size_t nprot;    /* protected VMs its failover restarts; 0 until handled */
	int handled;     /* its dead-host write was made */
	int all_running; /* "all protected VMs ... running again" said */
};

/* Retry timing of a VM whose START could not be placed or failed. */
struct fo_retry {
	char vm[HA_UUID_LEN];
	int64_t attempts; /* the intent's attempts when this failure was seen */
	uint32_t delay;   /* the backoff now */
	uint64_t due;
};

/* A start_delay being waited for. */
struct fo_hold {
	int64_t order;
	uint64_t until;
};

/* A START seen ISSUED: to say when it runs. */
struct fo_track {
	char vm[HA_UUID_LEN];
	char host[HA_UUID_LEN];
	char from[HA_UUID_LEN];
	int64_t order;
	int must;
	int mine;
	uint64_t at;
};

struct failover {
	struct fo_config cfg;
	int active;
	char (*live)[HA_UUID_LEN];
	size_t nlive;
	struct fo_dead *dead;
	size_t ndead;
	struct fo_retry *retry;
	size_t nretry;
	struct fo_track *track;
	size_t ntrack;
	struct fo_snapshot snap; /* the last FO_EV_DB, deep-copied */
	int64_t snap_wall;       /* its wall clock ... */
	uint64_t snap_mono;      /* ... and mine when it came */
	int have_snap;
	/* the write */
	int inflight;
	uint64_t write_id;
	uint64_t next_id;
	uint64_t hold_until; /* no decision before this ... */
	int hold_for_db;     /* ... unless a snapshot shows the write landed */
	struct fo_edit *sent; /* the edits of the last write sent */
	size_t nsent;
	/* order groups */
	int64_t group;       /* being started, -1 none */
	/* start_delay: a must-place VM of order o seen running at t with
	** start_delay d holds every group above o until t + d */
	struct fo_hold *holds;
	size_t nholds;
	uint64_t said_wait; /* the hold last announced (no repeats) */
	int rehold;         /* just became active: hold the delays again */
	uint64_t wake;       /* the earliest retry or gate, UINT64_MAX none */
	uint64_t restarts;
	uint64_t failures;
};

/* ---- small helpers ---- */

static const char *const event_names[FO_NEVENTS] = {
    "ROLE", "LIVESET", "HOST_DEAD", "DB", "WRITTEN", "TICK",
};

static const char *const edit_names[FO_NEDITS] = {
    "HOST_NOT_LIVE",  "VM_HALT",     "INTENT_ADD",    "INTENT_ISSUE",
    "INTENT_REQUEUE", "INTENT_FAIL", "INTENT_DELETE", "ALERT",
    "HOST_INCARNATE", "VM_CLAIM",    "INTENT_ADOPT",
};

const char *
fo_event_name(enum fo_event_type t)
{
	return (unsigned)t < FO_NEVENTS ? event_names[t] : "?";
}

const char *
fo_edit_name(enum fo_edit_type t)
{
	return (unsigned)t < FO_NEDITS ? edit_names[t] : "?";
}

void
fo_config_defaults(struct fo_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->retry_min_ms = 1000;
	cfg->retry_max_ms = 60000;
	cfg->plan_budget = 200000;
	cfg->vcpu_ratio_pct = API_PLANNER_VCPU_RATIO_PCT;
	cfg->default_cpus = API_PLANNER_DEFAULT_CPUS;
}

static void
copy_uuid(char dst[HA_UUID_LEN], const char *src)
{
	snprintf(dst, HA_UUID_LEN, "%s", src);
}

static int
is_protected(const struct db_vm *vm)
{
	return !vm->is_control_domain && plan_model_prio(vm) == PLACE_PROTECTED;
}

static int
is_best_effort(const struct db_vm *vm)
{
	return !vm->is_control_domain && plan_model_prio(vm) == PLACE_BEST_EFFORT;
}

static int
is_up(const struct db_vm *vm)
{
	return vm->power_state == DB_POWER_RUNNING || vm->power_state == DB_POWER_PAUSED;
}

static struct fo_action *
action_add(struct fo_actions *out, enum fo_action_type type)
{
	struct fo_action *a;

	if (out->n == out->cap) {
		out->cap = out->cap ? 2 * out->cap : 8;
		out->v = xreallocarray(out->v, out->cap, sizeof(*out->v));
	}
	a = &out->v[out->n++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	return a;
}

/* A line of the failover timeline. */
static void note(struct fo_actions *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
note(struct fo_actions *out, const char *fmt, ...)
{
	struct fo_action *a = action_add(out, FO_ACT_NOTE);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->text, sizeof(a->text), fmt, ap);
	va_end(ap);
}

void
fo_actions_reset(struct fo_actions *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		xfree(a->v[i].edits);
	a->n = 0;
}

void
fo_actions_free(struct fo_actions *a)
{
	fo_actions_reset(a);
	xfree(a->v);
	memset(a, 0, sizeof(*a));
}

/* ---- the snapshot copy ---- */

static void
map_dup(struct db_map *m)
{
	struct db_map src = *m;

	memset(m, 0, sizeof(*m));
	db_map_copy(m, &src);
}

static void *
dup_array(const void *v, size_t n, size_t size)
{
	void *p = xcalloc(n + 1, size);

	if (n > 0)
		memcpy(p, v, n * size);
	return p;
}

static void
snap_copy(struct fo_snapshot *s, const struct fo_db_view *v)
{
	size_t i;

	fo_snapshot_free(s);
	if (v->pool != NULL) {
		s->pool = *v->pool;
		map_dup(&s->pool.ha_configuration);
		map_dup(&s->pool.other_config);
	} else {
		db_pool_init(&s->pool);
	}
	s->hosts = dup_array(v->hosts, v->nhosts, sizeof(*s->hosts));
	s->nhosts = v->nhosts;
	for (i = 0; i < s->nhosts; i++)
		map_dup(&s->hosts[i].other_config);
	s->vms = dup_array(v->vms, v->nvms, sizeof(*s->vms));
	s->nvms = v->nvms;
	for (i = 0; i < s->nvms; i++)
		map_dup(&s->vms[i].other_config);
	s->groups = dup_array(v->groups, v->ngroups, sizeof(*s->groups));
	s->ngroups = v->ngroups;
	s->intents = dup_array(v->intents, v->nintents, sizeof(*s->intents));
	s->nintents = v->nintents;
}

static const struct db_host *
snap_host(const struct fo_snapshot *s, const char *uuid)
{
	size_t i;

	for (i = 0; i < s->nhosts; i++)
		if (strcmp(s->hosts[i].uuid, uuid) == 0)
			return &s->hosts[i];
	return NULL;
}

static const struct db_vm *
snap_vm(const struct fo_snapshot *s, const char *uuid)
{
	size_t i;

	for (i = 0; i < s->nvms; i++)
		if (strcmp(s->vms[i].uuid, uuid) == 0)
			return &s->vms[i];
	return NULL;
}

static const struct db_vm_intent *
snap_intent(const struct fo_snapshot *s, const char *vm)
{
	size_t i;

	for (i = 0; i < s->nintents; i++)
		if (strcmp(s->intents[i].vm, vm) == 0)
			return &s->intents[i];
	return NULL;
}

/* A host's name_label for the timeline, else its uuid. */
static const char *
host_name(const struct failover *fo, const char *uuid)
{
	const struct db_host *h = snap_host(&fo->snap, uuid);

	return h != NULL && h->name_label[0] != '\0' ? h->name_label : uuid;
}

static const char *
vm_name(const struct failover *fo, const char *uuid)
{
	const struct db_vm *v = snap_vm(&fo->snap, uuid);

	return v != NULL && v->name_label[0] != '\0' ? v->name_label : uuid;
}

/* ---- hosts: liveset and dead ---- */

static int
in_liveset(const struct failover *fo, const char *uuid)
{
	size_t i;

	for (i = 0; i < fo->nlive; i++)
		if (strcmp(fo->live[i], uuid) == 0)
			return 1;
	return 0;
}

static struct fo_dead *
dead_find(struct failover *fo, const char *uuid)
{
	size_t i;

	for (i = 0; i < fo->ndead; i++)
		if (strcmp(fo->dead[i].uuid, uuid) == 0)
			return &fo->dead[i];
	return NULL;
}

static void
dead_remove(struct failover *fo, size_t i)
{
	fo->dead[i] = fo->dead[--fo->ndead];
}

/* A target for a START: enabled, in my liveset, not announced dead, and
** its hasvcd has said who it is (an ISSUE names the incarnation). */
static int
host_usable(struct failover *fo, const struct db_host *h)
{
	return h->enabled && h->incarnation > 0 && in_liveset(fo, h->uuid) &&
	       dead_find(fo, h->uuid) == NULL;
}

/* ---- retries ---- */

static struct fo_retry *
retry_find(struct failover *fo, const char *vm)
{
	size_t i;

	for (i = 0; i < fo->nretry; i++)
		if (strcmp(fo->retry[i].vm, vm) == 0)
			return &fo->retry[i];
	return NULL;
}

/* Schedule the next try of vm after a failure: retry_min_ms, doubling to
** retry_max_ms.  Returns the delay. */
static uint32_t
retry_schedule(struct failover *fo, const char *vm, int64_t attempts, uint64_t now)
{
	struct fo_retry *r = retry_find(fo, vm);

	if (r == NULL) {
		fo->retry = xreallocarray(fo->retry, fo->nretry + 1, sizeof(*fo->retry));
		r = &fo->retry[fo->nretry++];
		memset(r, 0, sizeof(*r));
		copy_uuid(r->vm, vm);
		r->delay = fo->cfg.retry_min_ms;
	} else {
		r->delay =
		    r->delay >= fo->cfg.retry_max_ms / 2 ? fo->cfg.retry_max_ms : 2 * r->delay;
	}
	if (r->delay == 0)
		r->delay = 1;
	r->attempts = attempts;
	r->due = now + r->delay;
	return r->delay;
}

static int
retry_due(struct failover *fo, const char *vm, uint64_t now)
{
	const struct fo_retry *r = retry_find(fo, vm);

	return r == NULL || r->due <= now;
}

/* A host admitted or enabled, or a VM stopped: room may have appeared. */
static void
retry_all_now(struct failover *fo, uint64_t now, const char *why)
{
	size_t i;

	for (i = 0; i < fo->nretry; i++)
		fo->retry[i].due = now;
	if (fo->nretry > 0)
		log_info("failover: %s: retrying the VMs waiting for room now", why);
}

/* ---- the scratch copy a decision works on ---- */

struct work {
	struct failover *fo;
	struct fo_rows r; /* shallow copies of the snapshot's */
	struct fo_edit *edits;
	size_t nedits, capedits;
};

static void
work_init(struct work *w, struct failover *fo)
{
	const struct fo_snapshot *s = &fo->snap;

	memset(w, 0, sizeof(*w));
	w->fo = fo;
	w->r.hosts = dup_array(s->hosts, s->nhosts, sizeof(*w->r.hosts));
	w->r.nhosts = s->nhosts;
	w->r.vms = dup_array(s->vms, s->nvms, sizeof(*w->r.vms));
	w->r.nvms = s->nvms;
	w->r.intents = dup_array(s->intents, s->nintents, sizeof(*w->r.intents));
	w->r.nintents = w->r.capintents = s->nintents;
}

static void
work_free(struct work *w)
{
	xfree(w->r.hosts);
	xfree(w->r.vms);
	xfree(w->r.intents);
	xfree(w->edits);
}

struct db_host *
fo_rows_host(struct fo_rows *r, const char *uuid)
{
	size_t i;

	for (i = 0; i < r->nhosts; i++)
		if (strcmp(r->hosts[i].uuid, uuid) == 0)
			return &r->hosts[i];
	return NULL;
}

struct db_vm *
fo_rows_vm(struct fo_rows *r, const char *uuid)
{
	size_t i;

	for (i = 0; i < r->nvms; i++)
		if (strcmp(r->vms[i].uuid, uuid) == 0)
			return &r->vms[i];
	return NULL;
}

struct db_vm_intent *
fo_rows_intent(struct fo_rows *r, const char *vm)
{
	size_t i;

	for (i = 0; i < r->nintents; i++)
		if (strcmp(r->intents[i].vm, vm) == 0)
			return &r->intents[i];
	return NULL;
}

static void
rows_intent_delete(struct fo_rows *r, struct db_vm_intent *in)
{
	size_t i = (size_t)(in - r->intents);

	memmove(&r->intents[i], &r->intents[i + 1], (r->nintents - i - 1) * sizeof(*in));
	r->nintents--;
}

/* Apply edit e to rows if its precondition holds (as fo_apply checks it
** against the database); 1 applied, 0 skipped. */
/* The host is at incarnation `inc` (failover.h): its row shows it, or it
** has no row and inc is 0. */
static int
host_at(struct fo_rows *r, const char *host, int64_t inc)
{
	const struct db_host *h = fo_rows_host(r, host);

	return (h != NULL ? h->incarnation : 0) == inc;
}

static void
rows_intent_add(struct fo_rows *r, const struct db_vm_intent *in, const char *vm)
{
	if (r->nintents == r->capintents) {
		r->capintents = r->capintents ? 2 * r->capintents : 8;
		r->intents = xreallocarray(r->intents, r->capintents, sizeof(*r->intents));
	}
	r->intents[r->nintents] = *in;
	copy_uuid(r->intents[r->nintents++].vm, vm);
}

int
fo_rows_apply(struct fo_rows *r, const struct fo_edit *e)
{
	struct db_host *h;
	struct db_vm *vm = fo_rows_vm(r, e->vm);
	struct db_vm_intent *in = fo_rows_intent(r, e->vm);
	struct db_vm_intent claim;

	switch (e->type) {
	case FO_E_HOST_NOT_LIVE:
		if ((h = fo_rows_host(r, e->host)) == NULL || !h->live ||
		    h->incarnation != e->incarnation)
			return 0;
		h->live = 0;
		return 1;
	case FO_E_VM_HALT:
		if (vm == NULL || e->host[0] == '\0' || strcmp(vm->resident_on, e->host) != 0 ||
		    !host_at(r, e->host, e->incarnation))
			return 0;
		vm->power_state = DB_POWER_HALTED;
		vm->resident_on[0] = '\0';
		return 1;
	case FO_E_INTENT_ADD:
		if (vm == NULL || in != NULL ||
		    (e->host[0] != '\0' && !host_at(r, e->host, e->incarnation)))
			return 0;
		rows_intent_add(r, &e->intent, e->vm);
		return 1;
	case FO_E_INTENT_ISSUE:
		if (vm == NULL || in == NULL || in->op != DB_INTENT_START ||
		    in->state == DB_INTENT_ISSUED || vm->power_state != DB_POWER_HALTED ||
		    vm->resident_on[0] != '\0' || e->incarnation <= 0 ||
		    !host_at(r, e->host, e->incarnation))
			return 0;
		in->state = DB_INTENT_ISSUED;
		copy_uuid(in->host, e->host);
		in->incarnation = e->incarnation;
		in->attempts++;
		in->error[0] = '\0';
		return 1;
	case FO_E_INTENT_REQUEUE:
		if (in == NULL || in->state != DB_INTENT_ISSUED || strcmp(in->host, e->host) != 0 ||
		    !host_at(r, e->host, e->incarnation))
			return 0;
		if (in->op == DB_INTENT_STOP && in->why != DB_WHY_EVACUATE) {
			rows_intent_delete(r, in);
			return 1;
		}
		if (in->op == DB_INTENT_STOP)
			copy_uuid(in->from, e->host);
		in->op = DB_INTENT_START;
		in->state = DB_INTENT_QUEUED;
		in->host[0] = '\0';
		in->incarnation = 0;
		return 1;
	case FO_E_INTENT_FAIL:
		if (in == NULL || in->state != DB_INTENT_QUEUED)
			return 0;
		in->state = DB_INTENT_FAILED;
		snprintf(in->error, sizeof(in->error), "%s", e->text);
		return 1;
	case FO_E_INTENT_DELETE:
		if (in == NULL)
			return 0;
		rows_intent_delete(r, in);
		return 1;
	case FO_E_ALERT:
		if (in == NULL || in->alerted)
			return 0;
		in->alerted = 1;
		return 1;
	case FO_E_HOST_INCARNATE:
		if ((h = fo_rows_host(r, e->host)) == NULL || e->incarnation <= 0 ||
		    h->incarnation == e->incarnation)
			return 0;
		h->incarnation = e->incarnation;
		return 1;
	case FO_E_VM_CLAIM:
		if (vm == NULL || in != NULL || strcmp(vm->resident_on, e->host) != 0 ||
		    (vm->power_state != DB_POWER_RUNNING && vm->power_state != DB_POWER_PAUSED) ||
		    e->incarnation <= 0 || !host_at(r, e->host, e->incarnation))
			return 0;
		vm->power_state = DB_POWER_HALTED;
		vm->resident_on[0] = '\0';
		db_intent_init(&claim);
		claim.op = DB_INTENT_START;
		claim.state = DB_INTENT_ISSUED;
		claim.why = DB_WHY_ALWAYS_RUN;
		copy_uuid(claim.host, e->host);
		copy_uuid(claim.from, e->host);
		claim.attempts = 1;
		claim.created = e->intent.created;
		claim.incarnation = e->incarnation;
		rows_intent_add(r, &claim, e->vm);
		return 1;
	case FO_E_INTENT_ADOPT:
		if (vm == NULL || in == NULL || in->op != DB_INTENT_START ||
		    in->state != DB_INTENT_ISSUED || strcmp(in->host, e->host) != 0 ||
		    in->incarnation == e->incarnation || vm->power_state != DB_POWER_HALTED ||
		    vm->resident_on[0] != '\0' || e->incarnation <= 0 ||
		    !host_at(r, e->host, e->incarnation))
			return 0;
		in->incarnation = e->incarnation;
		return 1;
	case FO_NEDITS:
		break;
	}
	(void)NEVER(1);
	return 0;
}

/* Make an edit: applied to the scratch copy and kept for the write when
** its precondition holds.  Returns 1 if kept. */
static int
edit_at(struct work *w, enum fo_edit_type type, const char *vm, const char *host, int64_t inc,
        const struct db_vm_intent *intent, const char *name, const char *text)
{
	struct fo_edit e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	copy_uuid(e.vm, vm != NULL ? vm : "");
	copy_uuid(e.host, host != NULL ? host : "");
	e.incarnation = inc;
	if (intent != NULL)
		e.intent = *intent;
	snprintf(e.name, sizeof(e.name), "%s", name != NULL ? name : "");
	snprintf(e.text, sizeof(e.text), "%s", text != NULL ? text : "");
	if (!fo_rows_apply(&w->r, &e))
		return 0;
	if (w->nedits == w->capedits) {
		w->capedits = w->capedits ? 2 * w->capedits : 16;
		w->edits = xreallocarray(w->edits, w->capedits, sizeof(*w->edits));
	}
	w->edits[w->nedits++] = e;
	return 1;
}

static int64_t
rows_incarnation(struct fo_rows *r, const char *host)
{
	const struct db_host *h = fo_rows_host(r, host);

	return h != NULL ? h->incarnation : 0;
}

/* An edit whose precondition names no incarnation. */
static int
edit(struct work *w, enum fo_edit_type type, const char *vm, const char *host,
     const struct db_vm_intent *intent, const char *name, const char *text)
{
	return edit_at(w, type, vm, host, 0, intent, name, text);
}

/* A QUEUED START for vm; `from` (a dead host's, at incarnation inc) also
** makes the edit's precondition: that incarnation is still the host's. */
static void
add_start(struct work *w, const struct db_vm *vm, enum db_intent_why why, const char *from,
          int64_t inc)
{
	struct db_vm_intent in;

	db_intent_init(&in);
	copy_uuid(in.vm, vm->uuid);
	in.op = DB_INTENT_START;
	in.state = DB_INTENT_QUEUED;
	in.why = why;
	copy_uuid(in.from, from != NULL ? from : "");
	in.created = w->fo->snap_wall;
	(void)edit_at(w, FO_E_INTENT_ADD, vm->uuid, from, inc, &in, NULL, NULL);
}

/* ---- step 1: dead hosts ---- */

/* Whether dead host d still has a dead-host write to make: the database
** shows the incarnation that died (a later one settled what its old self
** left, docs/failover.md "Incarnations") still live, running VMs, or with
** intents ISSUED to it. */
static int
dead_needs_write(struct work *w, const struct fo_dead *d)
{
	const char *host = d->uuid;
	const struct db_host *h = fo_rows_host(&w->r, host);
	size_t i;

	if (h == NULL || h->incarnation != d->incarnation)
		return 0;
	if (h->live)
		return 1;
	for (i = 0; i < w->r.nvms; i++)
		if (!w->r.vms[i].is_control_domain && strcmp(w->r.vms[i].resident_on, host) == 0)
			return 1;
	for (i = 0; i < w->r.nintents; i++)
		if (w->r.intents[i].state == DB_INTENT_ISSUED &&
		    strcmp(w->r.intents[i].host, host) == 0)
			return 1;
	return 0;
}

static void
step_dead_host(struct work *w, struct fo_dead *d, struct fo_actions *out)
{
	struct failover *fo = w->fo;
	size_t i, nprot = 0, nbe = 0, nother = 0, nreq = 0;
	char vms[DB_TEXT_LEN];

	(void)edit_at(w, FO_E_HOST_NOT_LIVE, NULL, d->uuid, d->incarnation, NULL, NULL, NULL);
	for (i = 0; i < w->r.nvms; i++) {
		struct db_vm *vm = &w->r.vms[i];

		if (vm->is_control_domain || strcmp(vm->resident_on, d->uuid) != 0)
			continue;
		(void)edit_at(w, FO_E_VM_HALT, vm->uuid, d->uuid, d->incarnation, NULL, NULL, NULL);
		if (is_protected(vm))
			nprot++;
		else if (is_best_effort(vm))
			nbe++;
		else
			nother++;
		if ((is_protected(vm) || is_best_effort(vm)) && fo_rows_intent(&w->r, vm->uuid) == NULL)
			add_start(w, vm, DB_WHY_FAILOVER, d->uuid, d->incarnation);
	}
	/* Collect first: a requeue may delete the row. */
	vms[0] = '\0';
	for (i = 0; i < w->r.nintents;) {
		struct db_vm_intent *in = &w->r.intents[i];
		char vm[HA_UUID_LEN];

		if (in->state != DB_INTENT_ISSUED || strcmp(in->host, d->uuid) != 0) {
			i++;
			continue;
		}
		copy_uuid(vm, in->vm);
		if (nreq < 4)
			snprintf(vms + strlen(vms), sizeof(vms) - strlen(vms), "%s%s",
			         nreq ? ", " : "", vm_name(fo, vm));
		nreq++;
		(void)edit_at(w, FO_E_INTENT_REQUEUE, vm, d->uuid, d->incarnation, NULL, NULL, NULL);
		if (i < w->r.nintents && strcmp(w->r.intents[i].vm, vm) == 0)
			i++; /* requeued in place; else deleted: i is the next one */
	}
	/* Said again only if a failed write makes the step run again. */
	if (nprot + nbe + nother > 0)
		note(out,
		     "host %s is certainly dead: restarting %zu VM%s (%zu protected, %zu "
		     "best-effort)%s",
		     host_name(fo, d->uuid), nprot + nbe, nprot + nbe == 1 ? "" : "s", nprot, nbe,
		     nother ? "; its unprotected VMs stay halted" : "");
	else if (!d->handled)
		note(out, "host %s is certainly dead: none of its VMs to restart",
		     host_name(fo, d->uuid));
	if (nprot > 0)
		d->nprot = nprot;
	if (nreq > 0)
		note(out, "host %s died with %zu intent(s) issued to it (%s%s): requeued",
		     host_name(fo, d->uuid), nreq, vms, nreq > 4 ? ", ..." : "");
	d->handled = 1;
}

static void
step_dead(struct work *w, struct fo_actions *out)
{
	struct failover *fo = w->fo;
	size_t i;

	for (i = 0; i < fo->ndead; i++)
		if (dead_needs_write(w, &fo->dead[i]))
			step_dead_host(w, &fo->dead[i], out);
}

/* ---- step 4: stale intents ---- */

static const char *
stale_reason(struct work *w, const struct db_vm_intent *in)
{
	const struct db_vm *vm = fo_rows_vm(&w->r, in->vm);

	if (vm == NULL)
		return "the VM is gone";
	if (in->op != DB_INTENT_START)
		return NULL;
	if (vm->power_state != DB_POWER_HALTED || vm->resident_on[0] != '\0')
		return "the VM is no longer halted";
	if (in->state != DB_INTENT_ISSUED && in->why == DB_WHY_FAILOVER && !is_protected(vm) &&
	    !is_best_effort(vm))
		return "the VM is no longer protected or best-effort";
	if (in->state != DB_INTENT_ISSUED && in->why == DB_WHY_ALWAYS_RUN && !is_protected(vm))
		return "the VM is no longer protected";
	return NULL;
}

static void
step_stale(struct work *w, struct fo_actions *out)
{
	size_t i = 0;
	const char *why;
	char vm[HA_UUID_LEN];

	while (i < w->r.nintents) {
		if ((why = stale_reason(w, &w->r.intents[i])) == NULL) {
			i++;
			continue;
		}
		copy_uuid(vm, w->r.intents[i].vm);
		note(out, "%s: its intent is dropped (%s)", vm_name(w->fo, vm), why);
		if (!edit(w, FO_E_INTENT_DELETE, vm, NULL, NULL, NULL, NULL))
			i++;
	}
}

/* ---- step 2: always-run ---- */

/* Restarts prevented until (pool other_config, wall seconds): the wall ms
** left, 0 if none. */
static int64_t
prevention_left(const struct failover *fo, uint64_t now)
{
	const char *s = db_map_get(&fo->snap.pool.other_config, PREVENT_KEY);
	int64_t until, wall = fo->snap_wall + (int64_t)(now - fo->snap_mono);

	if (s == NULL)
		return 0;
	until = strtoll(s, NULL, 10) * 1000;
	return until > wall ? until - wall : 0;
}

static void
step_always_run(struct work *w, uint64_t now, struct fo_actions *out)
{
	struct failover *fo = w->fo;
	int64_t left = prevention_left(fo, now);
	size_t i;

	for (i = 0; i < w->r.nvms; i++) {
		struct db_vm *vm = &w->r.vms[i];

		if (!is_protected(vm) || vm->power_state != DB_POWER_HALTED ||
		    vm->resident_on[0] != '\0' || fo_rows_intent(&w->r, vm->uuid) != NULL)
			continue;
		if (left > 0) {
			if (now + (uint64_t)left < fo->wake)
				fo->wake = now + (uint64_t)left;
			continue;
		}
		note(out, "%s is protected but halted: starting it (always-run)",
		     vm_name(fo, vm->uuid));
		add_start(w, vm, DB_WHY_ALWAYS_RUN, NULL, 0);
	}
}

/* ---- step 3: placement ---- */

struct cand {
	int mi;    /* index in the model */
	size_t wi; /* index in w->r.vms */
	char vm[HA_UUID_LEN];
	int target; /* model host index, -1 none */
};

struct model_arg {
	struct work *w;
};

static bool
model_host_usable(void *arg, const struct db_host *h)
{
	struct model_arg *a = arg;

	return host_usable(a->w->fo, h);
}

/* An ISSUED START counts as placed at its target. */
static const char *
model_vm_host(void *arg, const struct db_vm *vm)
{
	struct model_arg *a = arg;
	const struct db_vm_intent *in = fo_rows_intent(&a->w->r, vm->uuid);

	if (in != NULL && in->op == DB_INTENT_START && in->state == DB_INTENT_ISSUED)
		return in->host;
	return NULL;
}

static int
model_build(struct work *w, struct plan_model *m)
{
	struct failover *fo = w->fo;
	struct model_arg a = {w};
	struct plan_model_opts opts = {
	    .default_cpus = fo->cfg.default_cpus,
	    .vcpu_ratio_pct = fo->cfg.vcpu_ratio_pct,
	    .host_usable = model_host_usable,
	    .vm_host = model_vm_host,
	    .arg = &a,
	};
	char err[256];

	if (plan_model_build(m, &fo->snap.pool, w->r.hosts, w->r.nhosts, w->r.vms, w->r.nvms,
	                     fo->snap.groups, fo->snap.ngroups, &opts, err, sizeof(err)) < 0) {
		log_warnx("failover: cannot model the pool: %s", err);
		return -1;
	}
	return 0;
}

/* Must the START be placed (protected VM, or an evacuation's)? */
static int
must_place(const struct db_vm *vm, const struct db_vm_intent *in)
{
	return is_protected(vm) || in->why == DB_WHY_EVACUATE;
}

/* The hosts an intent may go to beyond the VM's own allowed set: not the
** one that reported FAILED, not the one an evacuation leaves. */
static uint64_t
intent_allowed(const struct plan_model *m, const struct db_vm_intent *in, uint64_t allowed)
{
	int h;

	if (in->state == DB_INTENT_FAILED && in->host[0] != '\0' &&
	    (h = plan_model_host(m, in->host)) >= 0)
		allowed &= ~((uint64_t)1 << h);
	if (in->why == DB_WHY_EVACUATE && in->from[0] != '\0' &&
	    (h = plan_model_host(m, in->from)) >= 0)
		allowed &= ~((uint64_t)1 << h);
	return allowed;
}

/* Greedy order: restart order, larger memory first, then uuid. */
static int
cand_cmp(const void *a, const void *b, void *arg)
{
	const struct plan_model *m = arg;
	const struct cand *x = a, *y = b;
	const struct place_vm *vx = &m->vms[x->mi], *vy = &m->vms[y->mi];

	if (vx->order != vy->order)
		return vx->order < vy->order ? -1 : 1;
	if (vx->mem != vy->mem)
		return vx->mem > vy->mem ? -1 : 1;
	return strcmp(x->vm, y->vm);
}

/* Greedy: best fit by memory among the allowed usable hosts with room,
** hosts without a VM of the same anti-affinity group first. */
static void
place_greedy(struct plan_model *m, struct cand *c, size_t nc)
{
	int64_t mem[PLACE_MAX_HOSTS], cpu[PLACE_MAX_HOSTS];
	uint64_t aa[PLACE_MAX_HOSTS];
	size_t k;
	int h, i, pass, best;

	for (h = 0; h < m->nhosts; h++) {
		place_host_room(&m->pool, h, &mem[h], &cpu[h]);
		aa[h] = 0;
	}
	for (i = 0; i < m->nvms; i++)
		if (m->vms[i].host != PLACE_NONE)
			aa[m->vms[i].host] |= m->vms[i].groups;
	qsort_r(c, nc, sizeof(*c), cand_cmp, m);
	for (k = 0; k < nc; k++) {
		const struct place_vm *v = &m->vms[c[k].mi];

		best = -1;
		for (pass = 0; pass < 2 && best < 0; pass++)
			for (h = 0; h < m->nhosts; h++) {
				if (!m->hosts[h].usable || !((v->allowed >> h) & 1) ||
				    mem[h] < (int64_t)v->mem || cpu[h] < (int64_t)v->vcpus)
					continue;
				if (pass == 0 && (aa[h] & v->groups) != 0)
					continue;
				if (best < 0 || mem[h] < mem[best])
					best = h;
			}
		c[k].target = best;
		if (best >= 0) {
			mem[best] -= (int64_t)v->mem;
			cpu[best] -= (int64_t)v->vcpus;
			aa[best] |= v->groups;
		}
	}
}

/* Targets for the candidates: place_plan over every must-place START still
** to place when it says YES, else greedy. */
static void
place_cands(struct work *w, struct plan_model *m, struct cand *c, size_t nc, int use_plan)
{
	struct place_plan *plan;
	size_t k;
	int i;

	for (i = 0; i < m->nvms; i++) {
		struct place_vm *v = &m->vms[i];
		const struct db_vm *vm = &w->r.vms[m->vsrc[i]];
		const struct db_vm_intent *in = fo_rows_intent(&w->r, vm->uuid);

		if (v->host != PLACE_NONE) {
			if (!m->hosts[v->host].usable)
				v->prio = PLACE_UNPROTECTED; /* no one moves it */
		} else if (in != NULL && in->op == DB_INTENT_START &&
		           in->state != DB_INTENT_ISSUED && must_place(vm, in)) {
			v->prio = PLACE_PROTECTED;
			v->allowed = intent_allowed(m, in, v->allowed);
		} else {
			v->prio = PLACE_UNPROTECTED;
		}
	}
	for (k = 0; k < nc; k++) {
		const struct db_vm_intent *in = fo_rows_intent(&w->r, c[k].vm);

		m->vms[c[k].mi].allowed = intent_allowed(m, in, m->vms[c[k].mi].allowed);
		c[k].target = -1;
	}
	if (use_plan) {
		plan = place_plan_new(m->nvms);
		if (place_plan(&m->pool, 0, w->fo->cfg.plan_budget, plan) == PLACE_YES) {
			for (k = 0; k < nc; k++)
				if (plan->fate[c[k].mi] == PLACE_F_PLACED)
					c[k].target = plan->target[c[k].mi];
			place_plan_free(plan);
			return;
		}
		place_plan_free(plan);
	}
	place_greedy(m, c, nc);
}

static struct fo_track *
track_find(struct failover *fo, const char *vm)
{
	size_t i;

	for (i = 0; i < fo->ntrack; i++)
		if (strcmp(fo->track[i].vm, vm) == 0)
			return &fo->track[i];
	return NULL;
}

static void
track_add(struct failover *fo, const struct db_vm *vm, const struct db_vm_intent *in, int must,
          int mine, uint64_t now)
{
	struct fo_track *t = track_find(fo, vm->uuid);

	if (t == NULL) {
		fo->track = xreallocarray(fo->track, fo->ntrack + 1, sizeof(*fo->track));
		t = &fo->track[fo->ntrack++];
		memset(t, 0, sizeof(*t));
		t->at = now;
	}
	copy_uuid(t->vm, vm->uuid);
	copy_uuid(t->host, in->host);
	copy_uuid(t->from, in->from);
	t->order = vm->order;
	t->must = must;
	t->mine |= mine;
}

/* "vm03 on host2, vm07 on host3" into buf. */
static void
list_add(char *buf, size_t len, size_t *n, const char *a, const char *b)
{
	size_t l = strlen(buf);

	if (*n == 6)
		snprintf(buf + l, len - l, ", ...");
	else if (*n < 6) {
		if (*n > 0)
			snprintf(buf + l, len - l, ", ");
		l = strlen(buf);
		snprintf(buf + l, len - l, "%s on %s", a, b);
	}
	(*n)++;
}

/* Issue the placed candidates, fail (and alert, retry) the others. */
static void
issue_cands(struct work *w, struct plan_model *m, struct cand *c, size_t nc, int must, uint64_t now,
            struct fo_actions *out, const char *what)
{
	struct failover *fo = w->fo;
	char started[200] = "", body[256];
	size_t k, n = 0;
	uint32_t delay;
	int alerted;

	for (k = 0; k < nc; k++) {
		struct db_vm *vm = &w->r.vms[c[k].wi];
		struct db_vm_intent *in;
		const char *host;

		if (c[k].target >= 0) {
			host = m->huuid[c[k].target];
			if (!edit_at(w, FO_E_INTENT_ISSUE, vm->uuid, host, rows_incarnation(&w->r, host),
			             NULL, NULL, NULL))
				continue;
			in = fo_rows_intent(&w->r, vm->uuid);
			track_add(fo, vm, in, must, 1, now);
			list_add(started, sizeof(started), &n, vm_name(fo, vm->uuid),
			         host_name(fo, host));
			continue;
		}
		if (!must) {
			note(out, "%s (best-effort): no host has room; it stays halted",
			     vm_name(fo, vm->uuid));
			(void)edit(w, FO_E_INTENT_DELETE, vm->uuid, NULL, NULL, NULL, NULL);
			continue;
		}
		in = fo_rows_intent(&w->r, vm->uuid);
		delay = retry_schedule(fo, vm->uuid, in->attempts, now);
		if (in->state != DB_INTENT_FAILED)
			(void)edit(w, FO_E_INTENT_FAIL, vm->uuid, NULL, NULL, NULL,
			           "HOST_NOT_ENOUGH_FREE_MEMORY: no host has room");
		snprintf(body, sizeof(body),
		         "VM %s could not be restarted: no host has room for it; retrying",
		         vm->name_label);
		alerted = is_protected(vm) &&
			  edit(w, FO_E_ALERT, vm->uuid, NULL, NULL, ALERT_NAME, body);
		if (alerted)
			fo->failures++;
		note(out, "%s: no host has room%s, retrying in %.3g s", vm_name(fo, vm->uuid),
		     alerted ? ": " ALERT_NAME : "", delay / 1000.0);
	}
	if (n > 0)
		note(out, "%s: starting %s", what, started);
}

/* Collect START intents: must (1) of order `order` QUEUED or due FAILED,
** or best-effort (0) QUEUED. */
static size_t
collect(struct work *w, struct plan_model *m, int must, int64_t order, uint64_t now,
        struct cand **out)
{
	struct cand *c = xcalloc(w->r.nintents + 1, sizeof(*c));
	size_t i, n = 0;
	int mi;

	for (i = 0; i < w->r.nintents; i++) {
		const struct db_vm_intent *in = &w->r.intents[i];
		struct db_vm *vm = fo_rows_vm(&w->r, in->vm);

		if (vm == NULL || in->op != DB_INTENT_START || in->state == DB_INTENT_ISSUED)
			continue;
		if (must_place(vm, in) != must || (must && vm->order != order))
			continue;
		if (in->state == DB_INTENT_FAILED && !retry_due(w->fo, vm->uuid, now))
			continue;
		if ((mi = plan_model_vm(m, vm->uuid)) < 0)
			continue;
		c[n].mi = mi;
		c[n].wi = (size_t)(vm - w->r.vms);
		copy_uuid(c[n].vm, vm->uuid);
		n++;
	}
	*out = c;
	return n;
}

/* The group: the lowest order among must-place STARTs QUEUED, ISSUED, or
** FAILED with their retry due; -1 none. */
static int64_t
current_group(struct work *w, uint64_t now)
{
	struct failover *fo = w->fo;
	int64_t g = -1;
	size_t i;

	for (i = 0; i < w->r.nintents; i++) {
		const struct db_vm_intent *in = &w->r.intents[i];
		const struct db_vm *vm = fo_rows_vm(&w->r, in->vm);

		if (vm == NULL || in->op != DB_INTENT_START || !must_place(vm, in))
			continue;
		if (in->state == DB_INTENT_FAILED && !retry_due(fo, vm->uuid, now))
			continue;
		if (g < 0 || vm->order < g)
			g = vm->order;
	}
	return g;
}

/* Does any START of the candidates' kind wait (best-effort FAILED: one try). */
static void
drop_failed_best_effort(struct work *w, struct fo_actions *out)
{
	size_t i = 0;
	char vm[HA_UUID_LEN];

	while (i < w->r.nintents) {
		const struct db_vm_intent *in = &w->r.intents[i];
		const struct db_vm *v = fo_rows_vm(&w->r, in->vm);

		if (v == NULL || in->op != DB_INTENT_START || in->state != DB_INTENT_FAILED ||
		    must_place(v, in)) {
			i++;
			continue;
		}
		copy_uuid(vm, in->vm);
		note(out, "%s (best-effort) failed to start on %s (%s); it stays halted",
		     vm_name(w->fo, vm), host_name(w->fo, in->host), in->error);
		if (!edit(w, FO_E_INTENT_DELETE, vm, NULL, NULL, NULL, NULL))
			i++;
	}
}

/* The latest start_delay hold on group g (every group when g < 0); expired
** holds go.  0: none. */
static uint64_t
hold_until(struct failover *fo, int64_t g, uint64_t now, int64_t *order)
{
	uint64_t u = 0;
	size_t i = 0;

	while (i < fo->nholds) {
		if (fo->holds[i].until <= now) {
			fo->holds[i] = fo->holds[--fo->nholds];
			continue;
		}
		if ((g < 0 || fo->holds[i].order < g) && fo->holds[i].until > u) {
			u = fo->holds[i].until;
			*order = fo->holds[i].order;
		}
		i++;
	}
	return u;
}

/* One group: place its QUEUED and due FAILED STARTs.  Returns 1 if some
** were ISSUED or some wait ISSUED (the group is under way), 0 if every
** candidate failed (the next group may go at once). */
static int
place_group(struct work *w, int64_t g, uint64_t now, struct fo_actions *out)
{
	struct plan_model m;
	struct cand *c = NULL;
	char what[64];
	size_t nc, k;
	int busy = 0;

	if (model_build(w, &m) < 0)
		return 1;
	nc = collect(w, &m, 1, g, now, &c);
	snprintf(what, sizeof(what), "order group %" PRId64, g);
	if (nc > 0) {
		place_cands(w, &m, c, nc, 1);
		issue_cands(w, &m, c, nc, 1, now, out, what);
	}
	for (k = 0; k < w->r.nintents && !busy; k++) {
		const struct db_vm_intent *in = &w->r.intents[k];
		const struct db_vm *vm = fo_rows_vm(&w->r, in->vm);

		busy = vm != NULL && in->op == DB_INTENT_START && in->state != DB_INTENT_FAILED &&
		       vm->order == g && must_place(vm, in);
	}
	xfree(c);
	plan_model_free(&m);
	return busy;
}

static void
place_best_effort(struct work *w, uint64_t now, struct fo_actions *out)
{
	struct plan_model m;
	struct cand *c = NULL;
	size_t nc;

	if (model_build(w, &m) < 0)
		return;
	nc = collect(w, &m, 0, 0, now, &c);
	if (nc > 0) {
		place_cands(w, &m, c, nc, 0);
		issue_cands(w, &m, c, nc, 0, now, out, "best-effort");
	}
	xfree(c);
	plan_model_free(&m);
}

static void
step_place(struct work *w, uint64_t now, struct fo_actions *out)
{
	struct failover *fo = w->fo;
	uint64_t until;
	int64_t g, o = -1;
	int round;

	drop_failed_best_effort(w, out);
	for (round = 0; round < 1000; round++) {
		g = current_group(w, now);
		until = hold_until(fo, g, now, &o);
		if (until > now) {
			if (until < fo->wake)
				fo->wake = until;
			if (fo->said_wait != until)
				note(out, "%s waits %.1f s for the start_delay of order group %" PRId64,
				     g < 0 ? "best-effort" : "the next order group",
				     (double)(until - now) / 1000.0, o);
			fo->said_wait = until;
			return;
		}
		if (g < 0) {
			fo->group = -1;
			place_best_effort(w, now, out);
			return;
		}
		fo->group = g;
		if (place_group(w, g, now, out))
			return;
	}
	(void)NEVER(1);
}

/* A protected VM whose host reported FAILED: the alert, once. */
static void
step_alert_failed(struct work *w)
{
	char body[256], vm[HA_UUID_LEN];
	size_t i;

	for (i = 0; i < w->r.nintents; i++) {
		const struct db_vm_intent *in = &w->r.intents[i];
		const struct db_vm *v = fo_rows_vm(&w->r, in->vm);

		if (v == NULL || in->op != DB_INTENT_START || in->state != DB_INTENT_FAILED ||
		    in->alerted || !is_protected(v))
			continue;
		snprintf(body, sizeof(body), "VM %s could not be restarted on host %s: %s",
		         v->name_label, host_name(w->fo, in->host), in->error);
		copy_uuid(vm, in->vm);
		if (edit(w, FO_E_ALERT, vm, NULL, NULL, ALERT_NAME, body))
			w->fo->failures++;
	}
}

/* The earliest retry still to come. */
static void
wake_retries(struct failover *fo, struct work *w, uint64_t now)
{
	size_t i;

	for (i = 0; i < fo->nretry; i++) {
		const struct db_vm_intent *in = fo_rows_intent(&w->r, fo->retry[i].vm);

		if (in != NULL && in->state == DB_INTENT_FAILED && fo->retry[i].due > now &&
		    fo->retry[i].due < fo->wake)
			fo->wake = fo->retry[i].due;
	}
}

/* A new master does not know when the VMs its predecessor started came up:
** while a failover is under way (START intents in the database), every
** must-place VM running with a start_delay holds the groups above its
** order for that whole delay from now.  Waiting too long is safe; starting
** a group before a delay is over is what start_delay forbids. */
static void
rehold(struct failover *fo, uint64_t now)
{
	size_t i;
	int starts = 0;

	fo->rehold = 0;
	for (i = 0; i < fo->snap.nintents; i++)
		starts |= fo->snap.intents[i].op == DB_INTENT_START;
	if (!starts)
		return;
	for (i = 0; i < fo->snap.nvms; i++) {
		const struct db_vm *vm = &fo->snap.vms[i];

		if (!is_up(vm) || !is_protected(vm) || vm->start_delay <= 0)
			continue;
		fo->holds = xreallocarray(fo->holds, fo->nholds + 1, sizeof(*fo->holds));
		fo->holds[fo->nholds].order = vm->order;
		fo->holds[fo->nholds++].until = now + (uint64_t)vm->start_delay * 1000;
	}
}

/* ---- deciding ---- */

static void
decide(struct failover *fo, uint64_t now, struct fo_actions *out)
{
	struct work w;
	struct fo_action *a;
	int64_t left;

	fo->wake = UINT64_MAX;
	fo->hold_until = 0;
	fo->hold_for_db = 0;
	work_init(&w, fo);
	if (fo->rehold)
		rehold(fo, now);
	step_dead(&w, out);
	step_stale(&w, out);
	step_always_run(&w, now, out);
	step_alert_failed(&w);
	/* pool.ha_prevent_restarts_for holds every restart, a failover's
	** too (xapi); the dead hosts are still marked and their VMs halted. */
	left = prevention_left(fo, now);
	if (left > 0) {
		if (now + (uint64_t)left < fo->wake)
			fo->wake = now + (uint64_t)left;
	} else {
		step_place(&w, now, out);
	}
	wake_retries(fo, &w, now);
	if (w.nedits > 0) {
		a = action_add(out, FO_ACT_WRITE);
		a->id = ++fo->next_id;
		a->edits = w.edits;
		a->nedits = w.nedits;
		w.edits = NULL;
		xfree(fo->sent);
		fo->sent = dup_array(a->edits, a->nedits, sizeof(*a->edits));
		fo->nsent = a->nedits;
		fo->inflight = 1;
		fo->write_id = a->id;
		log_debug("failover: write %" PRIu64 " with %zu edit(s)", a->id, a->nedits);
	}
	work_free(&w);
}

static int
can_decide(const struct failover *fo, uint64_t now)
{
	return fo->active && fo->have_snap && !fo->inflight && now >= fo->hold_until;
}

/* ---- what a new snapshot tells ---- */

/* Seconds since a dead host was announced, for the timeline. */
static void
say_running(struct failover *fo, const struct fo_track *t, uint64_t now, struct fo_actions *out)
{
	struct fo_dead *d = t->from[0] != '\0' ? dead_find(fo, t->from) : NULL;

	if (d != NULL)
		note(out, "%s is running on %s (%.2f s after %s's death)", vm_name(fo, t->vm),
		     host_name(fo, t->host), (double)(now - d->at) / 1000.0,
		     host_name(fo, t->from));
	else
		note(out, "%s is running on %s (%.2f s after it was issued)", vm_name(fo, t->vm),
		     host_name(fo, t->host), (double)(now - t->at) / 1000.0);
}

/* The tracked STARTs that ended: running (said, counted), else dropped. */
static void
ingest_tracks(struct failover *fo, uint64_t now, struct fo_actions *out)
{
	size_t i = 0;

	while (i < fo->ntrack) {
		struct fo_track *t = &fo->track[i];
		const struct db_vm_intent *in = snap_intent(&fo->snap, t->vm);
		const struct db_vm *vm = snap_vm(&fo->snap, t->vm);
		struct fo_retry *r;

		if (in != NULL && in->state == DB_INTENT_ISSUED && strcmp(in->host, t->host) == 0) {
			i++;
			continue;
		}
		if (vm != NULL && is_up(vm) && strcmp(vm->resident_on, t->host) == 0 &&
		    (in == NULL || in->op != DB_INTENT_START)) {
			if (fo->active)
				say_running(fo, t, now, out);
			if (t->must && vm->start_delay > 0) {
				fo->holds = xreallocarray(fo->holds, fo->nholds + 1,
							  sizeof(*fo->holds));
				fo->holds[fo->nholds].order = t->order;
				fo->holds[fo->nholds++].until =
				    now + (uint64_t)vm->start_delay * 1000;
			}
			if (t->mine)
				fo->restarts++;
			if ((r = retry_find(fo, t->vm)) != NULL)
				*r = fo->retry[--fo->nretry];
		}
		fo->track[i] = fo->track[--fo->ntrack];
	}
}

/* New definite failures reported by targets: backoff, said once each. */
static void
ingest_failures(struct failover *fo, uint64_t now, struct fo_actions *out)
{
	size_t i;
	uint32_t delay;

	for (i = 0; i < fo->snap.nintents; i++) {
		const struct db_vm_intent *in = &fo->snap.intents[i];
		const struct fo_retry *r = retry_find(fo, in->vm);

		if (in->op != DB_INTENT_START || in->state != DB_INTENT_FAILED ||
		    (r != NULL && r->attempts == in->attempts))
			continue;
		delay = retry_schedule(fo, in->vm, in->attempts, now);
		if (fo->active && in->host[0] != '\0')
			note(out,
			     "%s failed to start on %s (%s); retrying in %.3g s on another host",
			     vm_name(fo, in->vm), host_name(fo, in->host), in->error,
			     delay / 1000.0);
	}
}

/* Protected STARTs of a dead host's failover all done: said once. */
static void
ingest_dead_done(struct failover *fo, uint64_t now, struct fo_actions *out)
{
	size_t i, j;

	for (i = 0; i < fo->ndead; i++) {
		struct fo_dead *d = &fo->dead[i];
		int left = 0;

		if (!d->handled || d->all_running || d->nprot == 0)
			continue;
		for (j = 0; j < fo->snap.nintents && !left; j++) {
			const struct db_vm_intent *in = &fo->snap.intents[j];
			const struct db_vm *vm = snap_vm(&fo->snap, in->vm);

			left = in->op == DB_INTENT_START && in->why == DB_WHY_FAILOVER &&
			       strcmp(in->from, d->uuid) == 0 && vm != NULL && is_protected(vm);
		}
		if (left)
			continue;
		d->all_running = 1;
		if (fo->active)
			note(out, "all protected VMs of %s are running again (%.2f s)",
			     host_name(fo, d->uuid), (double)(now - d->at) / 1000.0);
	}
}

/* Room may have appeared: a host enabled, or a VM stopped. */
static int
room_appeared(const struct fo_snapshot *old, const struct fo_snapshot *s)
{
	const struct db_host *h;
	const struct db_vm *v;
	size_t i;

	for (i = 0; i < s->nhosts; i++)
		if (s->hosts[i].enabled && (h = snap_host(old, s->hosts[i].uuid)) != NULL &&
		    !h->enabled)
			return 1;
	for (i = 0; i < old->nvms; i++)
		if (is_up(&old->vms[i]) &&
		    ((v = snap_vm(s, old->vms[i].uuid)) == NULL || !is_up(v)))
			return 1;
	return 0;
}

static void
ingest_db(struct failover *fo, const struct fo_db_view *v, uint64_t now, struct fo_actions *out)
{
	struct fo_snapshot old = fo->snap;
	size_t i;

	memset(&fo->snap, 0, sizeof(fo->snap));
	snap_copy(&fo->snap, v);
	fo->snap_wall = v->wall_ms;
	fo->snap_mono = now;
	if (fo->have_snap && room_appeared(&old, &fo->snap))
		retry_all_now(fo, now, "a host was enabled or a VM stopped");
	fo_snapshot_free(&old);
	fo->have_snap = 1;
	for (i = 0; i < fo->snap.nintents; i++) {
		const struct db_vm_intent *in = &fo->snap.intents[i];
		const struct db_vm *vm = snap_vm(&fo->snap, in->vm);

		if (vm != NULL && in->op == DB_INTENT_START && in->state == DB_INTENT_ISSUED &&
		    track_find(fo, in->vm) == NULL)
			track_add(fo, vm, in, must_place(vm, in), 0, now);
	}
	ingest_tracks(fo, now, out);
	ingest_failures(fo, now, out);
	ingest_dead_done(fo, now, out);
}

/* ---- events ---- */

static int
ev_role(struct failover *fo, const struct fo_event *ev, uint64_t now, struct fo_actions *out)
{
	if (!!ev->u.active == fo->active)
		return 0;
	fo->active = !!ev->u.active;
	log_notice("failover executor %s",
	           fo->active ? "active (pool master in the liveset)" : "inactive");
	if (fo->active) {
		/* Timing is rebuilt from the intents at once; the start
		** delays, which only the old master knew, in full. */
		fo->rehold = 1;
		fo->group = -1;
		fo->hold_until = 0;
		note(out, "this host now drives failover (%zu host(s) known dead)", fo->ndead);
	}
	return 0;
}

static int
ev_liveset(struct failover *fo, const struct fo_event *ev, uint64_t now, struct fo_actions *out)
{
	size_t i, j;
	int admitted = 0;

	for (i = 0; i < ev->u.hosts.n; i++)
		if (!in_liveset(fo, ev->u.hosts.uuids[i]))
			admitted = 1;
	fo->live = xreallocarray(fo->live, ev->u.hosts.n + 1, sizeof(*fo->live));
	for (i = 0; i < ev->u.hosts.n; i++)
		copy_uuid(fo->live[i], ev->u.hosts.uuids[i]);
	fo->nlive = ev->u.hosts.n;
	for (j = 0; j < fo->ndead;) {
		if (in_liveset(fo, fo->dead[j].uuid)) {
			log_notice("failover: host %s is in the liveset again: no longer dead",
			           host_name(fo, fo->dead[j].uuid));
			dead_remove(fo, j);
		} else {
			j++;
		}
	}
	if (admitted)
		retry_all_now(fo, now, "a host was admitted");
	return 0;
}

static int
ev_host_dead(struct failover *fo, const struct fo_event *ev, uint64_t now, struct fo_actions *out)
{
	struct fo_dead *d;
	size_t i;

	if (strcmp(ev->u.host, fo->cfg.host_uuid) == 0) {
		log_warnx("failover: my engine announced my own host dead; ignored");
		return -1;
	}
	if ((d = dead_find(fo, ev->u.host)) != NULL) {
		d->incarnation = ev->incarnation; /* a later one died too */
		return 0;
	}
	fo->dead = xreallocarray(fo->dead, fo->ndead + 1, sizeof(*fo->dead));
	d = &fo->dead[fo->ndead++];
	memset(d, 0, sizeof(*d));
	copy_uuid(d->uuid, ev->u.host);
	d->incarnation = ev->incarnation;
	d->at = now;
	for (i = 0; i < fo->nlive;)
		if (strcmp(fo->live[i], ev->u.host) == 0)
			memcpy(fo->live[i], fo->live[--fo->nlive], HA_UUID_LEN);
		else
			i++;
	log_notice("failover: host %s announced dead%s", host_name(fo, ev->u.host),
	           fo->active ? "" : " (not acting: not the active executor)");
	return 0;
}

/* Does the snapshot show the last write sent?  Every one of its edits
** would be skipped now (its effect fails its own precondition), or was made
** moot by a newer change -- either way, deciding again cannot repeat it. */
static int
sent_landed(struct failover *fo)
{
	struct work w;
	size_t i;
	int landed = 1;

	work_init(&w, fo);
	for (i = 0; i < fo->nsent && landed; i++)
		landed = !fo_rows_apply(&w.r, &fo->sent[i]);
	work_free(&w);
	return landed;
}

static int
ev_db(struct failover *fo, const struct fo_event *ev, uint64_t now, struct fo_actions *out)
{
	ingest_db(fo, &ev->u.db, now, out);
	if (fo->hold_for_db && sent_landed(fo)) {
		fo->hold_for_db = 0;
		fo->hold_until = 0;
	}
	return 0;
}

static int
ev_written(struct failover *fo, const struct fo_event *ev, uint64_t now, struct fo_actions *out)
{
	if (!fo->inflight || ev->u.written.id != fo->write_id) {
		log_warnx("failover: write %" PRIu64 " ended but it is not the one in flight",
		          ev->u.written.id);
		return -1;
	}
	fo->inflight = 0;
	if (ev->u.written.ok) {
		fo->hold_until = now + FO_WRITE_WAIT_MS;
		fo->hold_for_db = 1;
	} else {
		log_info("failover: write %" PRIu64 " could not be sent; deciding again in %d ms",
		         ev->u.written.id, FO_UNSENT_WAIT_MS);
		fo->hold_until = now + FO_UNSENT_WAIT_MS;
		fo->hold_for_db = 0;
	}
	return 0;
}

static int
ev_tick(struct failover *fo, const struct fo_event *ev, uint64_t now, struct fo_actions *out)
{
	return 0; /* fo_step decides if anything is due */
}

static int (*const handlers[FO_NEVENTS])(struct failover *, const struct fo_event *, uint64_t,
                                         struct fo_actions *) = {
    [FO_EV_ROLE] = ev_role, [FO_EV_LIVESET] = ev_liveset, [FO_EV_HOST_DEAD] = ev_host_dead,
    [FO_EV_DB] = ev_db,     [FO_EV_WRITTEN] = ev_written, [FO_EV_TICK] = ev_tick,
};

int
fo_step(struct failover *fo, const struct fo_event *ev, uint64_t now, struct fo_actions *out)
{
	if ((unsigned)ev->type >= FO_NEVENTS) {
		log_warnx("failover: event %d rejected: unknown", (int)ev->type);
		return -1;
	}
	log_debug("failover: event %s", fo_event_name(ev->type));
	if (handlers[ev->type](fo, ev, now, out) < 0)
		return -1;
	if (can_decide(fo, now))
		decide(fo, now, out);
	return 0;
}

uint64_t
fo_next_deadline(const struct failover *fo, uint64_t now)
{
	if (!fo->active || !fo->have_snap || fo->inflight)
		return UINT64_MAX;
	if (fo->hold_until != 0)
		return fo->hold_until; /* a decision waits for it */
	return fo->wake;
}

void
fo_get_status(const struct failover *fo, struct fo_status *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->active = fo->active;
	out->dead = fo->ndead;
	for (i = 0; i < fo->snap.nintents; i++) {
		const struct db_vm_intent *in = &fo->snap.intents[i];

		if (in->state == DB_INTENT_ISSUED)
			out->issued++;
		else if (in->op == DB_INTENT_START)
			out->queued++;
	}
	out->group = fo->group;
	out->restarts = fo->restarts;
	out->failures = fo->failures;
}

struct failover *
fo_new(const struct fo_config *cfg)
{
	struct failover *fo = xcalloc(1, sizeof(*fo));

	fo->cfg = *cfg;
	fo->group = -1;
	fo->wake = UINT64_MAX;
	return fo;
}

void
fo_free(struct failover *fo)
{
	if (fo == NULL)
		return;
	fo_snapshot_free(&fo->snap);
	xfree(fo->live);
	xfree(fo->dead);
	xfree(fo->retry);
	xfree(fo->track);
	xfree(fo->sent);
	xfree(fo->holds);
	xfree(fo);
}
