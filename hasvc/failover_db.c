/*
** The failover executor's writes, and a host's own (failover_db.h).  Each
** edit reads the rows its precondition is about and writes only when it
** holds, so a write decided on a stale snapshot cannot undo a newer change:
** an intent ISSUED meanwhile is not issued again, one requeued by someone
** else is not requeued twice.  The caller wraps the call in one transaction (a
** capture, or db_begin/db_commit on a standalone host).
*/
#include <stdio.h>
#include <string.h>

#include "hasvc/failover_db.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/*
** One edit: the rows it is about (its host, its VM and the VM's intent) are
** read into a struct fo_rows, fo_rows_apply() -- the one statement of the
** preconditions and effects, which the executor's scratch copy and the
** simulator use too -- decides and edits them, and what it changed is
** written back.  1 applied, 0 precondition false, -1 database error.
*/
static int
apply_one(struct db *db, const struct fo_edit *e, int64_t wall_ms)
{
	struct db_host host, host0;
	struct db_vm vm, vm0;
	struct db_vm_intent in0, *in;
	struct fo_rows r;
	int rc, has_host = 0, has_vm = 0, has_in = 0, applied, ret = -1;

	memset(&r, 0, sizeof(r));
	db_host_init(&host);
	db_vm_init(&vm);
	if (e->host[0] != '\0' && (rc = db_host_get(db, e->host, &host)) != 1) {
		if (rc < 0)
			goto out;
		has_host = 1;
	}
	if (e->vm[0] != '\0' && (rc = db_vm_get(db, e->vm, &vm)) != 1) {
		if (rc < 0)
			goto out;
		has_vm = 1;
	}
	r.capintents = 1;
	r.intents = xcalloc(1, sizeof(*r.intents));
	if (has_vm && (rc = db_intent_get(db, e->vm, &r.intents[0])) != 1) {
		if (rc < 0)
			goto out;
		has_in = 1;
	}
	r.hosts = &host;
	r.nhosts = (size_t)has_host;
	r.vms = &vm;
	r.nvms = (size_t)has_vm;
	r.nintents = (size_t)has_in;
	host0 = host;
	vm0 = vm;
	in0 = r.intents[0];
	applied = fo_rows_apply(&r, e);
	if (!applied) {
		ret = 0;
		goto out;
	}
	if (has_host && (host.live != host0.live) &&
	    db_host_set_metrics(db, host.uuid, host.live, host.memory_total, host.memory_free,
	                        host.last_updated) < 0)
		goto out;
	if (has_host && host.incarnation != host0.incarnation &&
	    db_host_set_incarnation(db, host.uuid, host.incarnation) < 0)
		goto out;
	if (has_vm && (vm.power_state != vm0.power_state ||
	               strcmp(vm.resident_on, vm0.resident_on) != 0) &&
	    db_vm_set_power(db, vm.uuid, vm.power_state, vm.resident_on) < 0)
		goto out;
	in = r.nintents > 0 ? &r.intents[0] : NULL;
	if (in == NULL && has_in && db_intent_delete(db, e->vm) < 0)
		goto out;
	if (in != NULL && (!has_in || memcmp(in, &in0, sizeof(*in)) != 0)) {
		if (in->created == 0)
			in->created = wall_ms;
		if (db_intent_put(db, in) < 0)
			goto out;
	}
	ret = 1;
out:
	xfree(r.intents);
	db_host_clear(&host);
	db_vm_clear(&vm);
	return ret;
}

/* The alert's message: only the database has messages. */
static int
add_alert(struct db *db, const struct fo_edit *e, int64_t wall_ms)
{
	struct db_message m;

	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "%s", e->name);
	m.priority = 2;
	snprintf(m.cls, sizeof(m.cls), "VM");
	snprintf(m.obj_uuid, sizeof(m.obj_uuid), "%s", e->vm);
	m.timestamp = wall_ms / 1000;
	snprintf(m.body, sizeof(m.body), "%s", e->text);
	return db_message_add(db, &m);
}

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
		rc = apply_one(db, &edits[i], wall_ms);
		if (rc > 0 && edits[i].type == FO_E_ALERT && add_alert(db, &edits[i], wall_ms) < 0)
			rc = -1;
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
