/*
** The failover executor's writes (failover_db.h).  Each edit reads the rows
** its precondition is about and writes only when it holds, so a write
** decided on a stale snapshot cannot undo a newer change: an intent ISSUED
** meanwhile is not issued again, one requeued by someone else is not
** requeued twice.  The caller wraps the call in one transaction (a
** capture, or db_begin/db_commit on a standalone host).
*/
#include <stdio.h>
#include <string.h>

#include "hasvc/failover_db.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* Each returns 1 applied, 0 precondition false, -1 database error. */

static int
e_host_not_live(struct db *db, const struct fo_edit *e, const char *origin, int64_t wall_ms)
{
	struct db_host h;
	int rc = db_host_get(db, e->host, &h);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc =
	    !h.live ? 0
	    : db_host_set_metrics(db, h.uuid, 0, h.memory_total, h.memory_free, h.last_updated) == 0
	        ? 1
	        : -1;
	db_host_clear(&h);
	return rc;
}

static int
e_vm_halt(struct db *db, const struct fo_edit *e, const char *origin, int64_t wall_ms)
{
	struct db_vm vm;
	int rc = db_vm_get(db, e->vm, &vm);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = e->host[0] == '\0' || strcmp(vm.resident_on, e->host) != 0 ? 0
	     : db_vm_set_power(db, e->vm, DB_POWER_HALTED, "") == 0     ? 1
	                                                                : -1;
	db_vm_clear(&vm);
	return rc;
}

/* The VM and its intent: 0 both read (*has_intent says whether there is
** one), 1 no such VM, -1 error. */
static int
read_vm_intent(struct db *db, const char *uuid, struct db_vm *vm, struct db_vm_intent *in,
               int *has_intent)
{
	int rc = db_vm_get(db, uuid, vm);

	if (rc != 0)
		return rc;
	rc = db_intent_get(db, uuid, in);
	if (rc < 0) {
		db_vm_clear(vm);
		return -1;
	}
	*has_intent = rc == 0;
	return 0;
}

static int
e_intent_add(struct db *db, const struct fo_edit *e, const char *origin, int64_t wall_ms)
{
	struct db_vm vm;
	struct db_vm_intent in;
	int has, rc = read_vm_intent(db, e->vm, &vm, &in, &has);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	db_vm_clear(&vm);
	if (has)
		return 0;
	in = e->intent;
	snprintf(in.vm, sizeof(in.vm), "%s", e->vm);
	if (in.created == 0)
		in.created = wall_ms;
	return db_intent_put(db, &in) == 0 ? 1 : -1;
}

static int
e_intent_issue(struct db *db, const struct fo_edit *e, const char *origin, int64_t wall_ms)
{
	struct db_vm vm;
	struct db_vm_intent in;
	int has, ok, rc = read_vm_intent(db, e->vm, &vm, &in, &has);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	ok = has && in.op == DB_INTENT_START && in.state != DB_INTENT_ISSUED &&
	     vm.power_state == DB_POWER_HALTED && vm.resident_on[0] == '\0' && e->host[0] != '\0';
	db_vm_clear(&vm);
	if (!ok)
		return 0;
	in.state = DB_INTENT_ISSUED;
	snprintf(in.host, sizeof(in.host), "%s", e->host);
	in.attempts++;
	in.error[0] = '\0';
	return db_intent_put(db, &in) == 0 ? 1 : -1;
}

static int
e_intent_requeue(struct db *db, const struct fo_edit *e, const char *origin, int64_t wall_ms)
{
	struct db_vm_intent in;
	int rc = db_intent_get(db, e->vm, &in);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (in.state != DB_INTENT_ISSUED || strcmp(in.host, e->host) != 0)
		return 0;
	if (in.op == DB_INTENT_STOP && in.why != DB_WHY_EVACUATE)
		return db_intent_delete(db, e->vm) < 0 ? -1 : 1;
	if (in.op == DB_INTENT_STOP)
		snprintf(in.from, sizeof(in.from), "%s", e->host);
	in.op = DB_INTENT_START;
	in.state = DB_INTENT_QUEUED;
	in.host[0] = '\0';
	return db_intent_put(db, &in) == 0 ? 1 : -1;
}

static int
e_intent_fail(struct db *db, const struct fo_edit *e, const char *origin, int64_t wall_ms)
{
	struct db_vm_intent in;
	int rc = db_intent_get(db, e->vm, &in);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (in.state != DB_INTENT_QUEUED)
		return 0;
	in.state = DB_INTENT_FAILED;
	snprintf(in.error, sizeof(in.error), "%s", e->text);
	return db_intent_put(db, &in) == 0 ? 1 : -1;
}

static int
e_intent_delete(struct db *db, const struct fo_edit *e, const char *origin, int64_t wall_ms)
{
	int rc = db_intent_delete(db, e->vm);

	return rc < 0 ? -1 : rc == 0;
}

static int
e_alert(struct db *db, const struct fo_edit *e, const char *origin, int64_t wall_ms)
{
	struct db_vm_intent in;
	struct db_message m;
	int rc = db_intent_get(db, e->vm, &in);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (in.alerted)
		return 0;
	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "%s", e->name);
	m.priority = 2;
	snprintf(m.cls, sizeof(m.cls), "VM");
	snprintf(m.obj_uuid, sizeof(m.obj_uuid), "%s", e->vm);
	m.timestamp = wall_ms / 1000;
	snprintf(m.body, sizeof(m.body), "%s", e->text);
	if (db_message_add(db, &m) < 0)
		return -1;
	in.alerted = 1;
	return db_intent_put(db, &in) == 0 ? 1 : -1;
}

static int (*const appliers[FO_NEDITS])(struct db *, const struct fo_edit *, const char *,
                                        int64_t) = {
    [FO_E_HOST_NOT_LIVE] = e_host_not_live,   [FO_E_VM_HALT] = e_vm_halt,
    [FO_E_INTENT_ADD] = e_intent_add,         [FO_E_INTENT_ISSUE] = e_intent_issue,
    [FO_E_INTENT_REQUEUE] = e_intent_requeue, [FO_E_INTENT_FAIL] = e_intent_fail,
    [FO_E_INTENT_DELETE] = e_intent_delete,   [FO_E_ALERT] = e_alert,
};

int
fo_apply(struct db *db, const struct fo_edit *edits, size_t n, const char *origin, int64_t wall_ms)
{
	size_t i;
	int rc, applied = 0;

	for (i = 0; i < n; i++) {
		if ((unsigned)edits[i].type >= FO_NEDITS) {
			log_warnx("failover: edit %d of unknown type; write aborted",
			          (int)edits[i].type);
			return -1;
		}
		rc = appliers[edits[i].type](db, &edits[i], origin, wall_ms);
		if (rc < 0) {
			log_warnx("failover: %s of vm %s host %s failed: %s",
			          fo_edit_name(edits[i].type), edits[i].vm, edits[i].host,
			          db_errmsg(db));
			return -1;
		}
		if (rc == 0)
			log_debug("failover: %s of vm %s host %s skipped: precondition false",
			          fo_edit_name(edits[i].type), edits[i].vm, edits[i].host);
		applied += rc;
	}
	return applied;
}

int
fo_snapshot_read(struct db *db, struct fo_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	db_pool_init(&out->pool);
	if (db_pool_get(db, &out->pool) < 0 || db_host_list(db, &out->hosts, &out->nhosts) < 0 ||
	    db_vm_list(db, &out->vms, &out->nvms) < 0 ||
	    db_vm_group_list(db, &out->groups, &out->ngroups) < 0 ||
	    db_intent_list(db, &out->intents, &out->nintents) < 0) {
		log_warnx("failover: reading the pool database failed: %s", db_errmsg(db));
		fo_snapshot_free(out);
		return -1;
	}
	return 0;
}

void
fo_snapshot_view(const struct fo_snapshot *s, int64_t wall_ms, struct fo_db_view *out)
{
	memset(out, 0, sizeof(*out));
	out->pool = &s->pool;
	out->hosts = s->hosts;
	out->nhosts = s->nhosts;
	out->vms = s->vms;
	out->nvms = s->nvms;
	out->groups = s->groups;
	out->ngroups = s->ngroups;
	out->intents = s->intents;
	out->nintents = s->nintents;
	out->wall_ms = wall_ms;
}

void
fo_snapshot_free(struct fo_snapshot *s)
{
	db_pool_clear(&s->pool);
	db_host_list_free(s->hosts, s->nhosts);
	db_vm_list_free(s->vms, s->nvms);
	xfree(s->groups);
	xfree(s->intents);
	memset(s, 0, sizeof(*s));
}
