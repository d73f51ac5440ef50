/*
** hasvcd's event loop.  See daemon.h.
**
** Start-up: take the data directory's lock (one hasvcd per host), open the
** pool database (refusing a corrupt or foreign one), make sure the pool and
** this host have rows (a host that starts alone forms a one-host pool and is
** its master, as xapi does on first boot), open the hypervisor backend, and
** hand the core CORE_EV_START.
**
** Loop: one libevent event_base carries the signals, the hypervisor's event
** descriptor, a timer set to the core's next deadline, and the HTTPS API.
** Every wake-up for the core becomes one core event, and every action the
** core returns is carried out here.  Actions that produce an answer
** (QUERY_DOMAINS, START_VM) queue that answer as the next event, so one
** wake-up runs the core to quiescence.  API calls run on the same loop
** between core events: nothing in them blocks (password checks run on a
** worker thread), so the API cannot starve the timers (the liveness layer's
** pets to the watchdog keeper among them: hasvc/ha_fence.h).
**
** The core's view of HA (CORE_EV_HA: pool.ha_enabled, my host in the agreed
** liveset, pool.ha_reboot_vm_on_internal_shutdown) is checked every second
** and at every cluster status change, and fed on a change.  Committed
** changes of VMs, intents and the pool (the API server's db_changed hook)
** and the liveness engine's decisions (cluster_hooks.liveset / host_dead)
** may arrive from inside corosync's callbacks, which must not call back into
** the cluster: they only set flags and activate one zero-timeout event
** (ev_kick), whose callback feeds the core one CORE_EV_DB_CHANGED and the
** failover executor one snapshot, however many changes came.
**
** The failover executor (hasvc/failover.h, clustered hosts only) runs here
** too: fed the liveness engine's livesets and dead hosts (always), its role
** (active = the writable master, HA running, my host in the liveset), a
** database snapshot when active and something changed, and ticks at its
** deadline; its writes go through cluster_local_write (master only), its
** notes to the log.
*/
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "hasvc/api_server.h"
#include "hasvc/cluster.h"
#include "hasvc/core.h"
#include "hasvc/daemon.h"
#include "hasvc/db.h"
#include "hasvc/failover.h"
#include "hasvc/failover_db.h"
#include "hasvc/ha.h"
#include "hasvc/hv.h"
#include "lib/check.h"
#include "lib/clock.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* Events produced while carrying out actions, fed back in order. */
#define PENDING_MAX 64

struct daemon {
	const struct config *cfg;
	struct db *db;
	struct hv *hv;
	struct core *core;
	struct core_actions actions;
	struct event_base *base;
	struct event *ev_timer;
	struct event *ev_hv;
	struct event *ev_sig[3];
	int lockfd;
	int exiting;
	int exit_code;

	struct core_event pending[PENDING_MAX];
	size_t npending;

	/* This hasvcd's incarnation (db.h, "Incarnations"): random, > 0. */
	int64_t incarnation;

	/* Storage behind the last CORE_EV_DOMAINS event. */
	struct core_vm_view *views;
	struct hv_domain *doms;

	struct api_server *api;
	struct cluster *cluster; /* NULL: a standalone one-host pool */
	int core_started;
	int clustered; /* cfg->cluster and the database says we are a member */
	int restart;   /* leave with DAEMON_EXIT_RESTART */
	int set_aside; /* ... after setting the pool database aside (ejected) */
	struct event *ev_restart;

	/* The HA view last fed to the core (CORE_EV_HA); ha_fed 0: none yet. */
	int ha_fed, ha_enabled, ha_member, ha_reboot;
	struct event *ev_second; /* every second: the HA view, the executor's role */
	struct event *ev_kick;   /* zero timeout: deferred work (see the top) */
	int kick_db;             /* a VM, intent or pool changed: the core looks again */
	int kick_ha;             /* look at the HA view again */

	/* The failover executor; NULL on a standalone host. */
	struct failover *fo;
	struct fo_actions fo_out; /* actions not yet carried out */
	int fo_running;           /* fo_run() is carrying them out */
	int fo_active;            /* the role last fed */
	int fo_dirty;             /* the database changed: a snapshot for it */
	struct event *ev_fo;      /* its deadline */
};

/* Clustered, metrics are replicated writes: refresh them when they change,
** and at least this often. */
#define METRICS_REFRESH_S 60

static void
push_event(struct daemon *d, const struct core_event *ev)
{
	if (NEVER(d->npending == PENDING_MAX)) {
		log_errx("host %s: event queue full; dropping %s", d->cfg->host_uuid,
			 core_event_name(ev->type));
		return;
	}
	d->pending[d->npending++] = *ev;
}

static void
push_lost(struct daemon *d, const char *what)
{
	struct core_event ev = {.type = CORE_EV_HV_LOST};

	snprintf(ev.u.lost.reason, sizeof(ev.u.lost.reason), "%s: %s", what, d->hv->last_error);
	push_event(d, &ev);
}

/* Whether a failed backend call means the backend itself is gone. */
static int
hv_gone(int err)
{
	return err == ECONNRESET || err == EPIPE || err == ENOTCONN || err == ETIMEDOUT ||
	       err == ENODEV;
}

/* The incarnation the local database shows for `host` (0: none, or no row). */
static int64_t
host_incarnation(struct daemon *d, const char *host)
{
	struct db_host h;
	int64_t inc = 0;
	int rc = db_host_get(d->db, host, &h);

	if (rc < 0)
		fatalx("pool database: reading host %s failed: %s", host, db_errmsg(d->db));
	if (rc == 0)
		inc = h.incarnation;
	db_host_clear(&h);
	return inc;
}

static void
act_query(struct daemon *d)
{
	struct core_event ev = {.type = CORE_EV_DOMAINS};
	struct db_vm *vms = NULL;
	struct db_vm_intent *intents = NULL;
	size_t nvms = 0, ndoms = 0, nintents = 0, i, j;

	xfree(d->views);
	xfree(d->doms);
	d->views = NULL;
	d->doms = NULL;
	if (d->hv->ops->list_domains(d->hv, &d->doms, &ndoms) < 0) {
		log_warnx("host %s: listing domains failed: %s", d->cfg->host_uuid,
			  d->hv->last_error);
		push_lost(d, "listing domains failed");
		return;
	}
	if (db_vm_list(d->db, &vms, &nvms) < 0)
		fatalx("pool database: listing VMs failed: %s", db_errmsg(d->db));
	if (db_intent_list(d->db, &intents, &nintents) < 0)
		fatalx("pool database: listing VM intents failed: %s", db_errmsg(d->db));
	d->views = xcalloc(nvms, sizeof(*d->views));
	for (i = 0; i < nvms; i++) {
		struct core_vm_view *v = &d->views[i];

		memcpy(v->uuid, vms[i].uuid, HA_UUID_LEN);
		v->power = vms[i].power_state;
		v->here = strcmp(vms[i].resident_on, d->cfg->host_uuid) == 0;
		v->priority = vms[i].ha_restart_priority;
		v->always_run = vms[i].ha_always_run;
		v->order = vms[i].order;
		/* Its intent, if ISSUED to this host (both lists are by uuid,
		** but VMs by name first: look it up). */
		for (j = 0; j < nintents; j++) {
			const struct db_vm_intent *in = &intents[j];

			if (in->state != DB_INTENT_ISSUED || strcmp(in->vm, v->uuid) != 0 ||
			    strcmp(in->host, d->cfg->host_uuid) != 0)
				continue;
			v->intent_op = (int)in->op;
			v->intent_clean = in->clean;
			v->intent_attempts = in->attempts;
			v->intent_incarnation = in->incarnation;
		}
	}
	db_vm_list_free(vms, nvms);
	xfree(intents);
	ev.u.domains.vms = d->views;
	ev.u.domains.nvms = nvms;
	ev.u.domains.doms = d->doms;
	ev.u.domains.ndoms = ndoms;
	ev.u.domains.incarnated = host_incarnation(d, d->cfg->host_uuid) == d->incarnation;
	push_event(d, &ev);
}

static void
act_start(struct daemon *d, const char *uuid)
{
	struct core_event ev = {.type = CORE_EV_START_RESULT};
	struct hv_vm_spec spec;
	struct db_vm vm;
	int rc;

	memcpy(ev.u.start_result.vm, uuid, HA_UUID_LEN);
	rc = db_vm_get(d->db, uuid, &vm);
	if (rc != 0) {
		log_warnx("vm %s: cannot start: %s", uuid,
			  rc > 0 ? "no longer in the pool database" : db_errmsg(d->db));
		ev.u.start_result.err = ENOENT;
		push_event(d, &ev);
		return;
	}
	memset(&spec, 0, sizeof(spec));
	memcpy(spec.uuid, vm.uuid, HA_UUID_LEN);
	snprintf(spec.name, sizeof(spec.name), "%s", vm.name_label);
	spec.memory = (uint64_t)vm.memory_static_max;
	spec.vcpus = vm.VCPUs_max > 0 ? (uint32_t)vm.VCPUs_max : 1;
	spec.config = vm.hv_config[0] ? vm.hv_config : NULL;
	if (d->hv->ops->start(d->hv, &spec) < 0) {
		ev.u.start_result.err = errno ? errno : EIO;
		log_warnx("vm %s: start failed: %s", uuid, d->hv->last_error);
		if (hv_gone(ev.u.start_result.err))
			push_lost(d, "starting a VM failed");
	} else {
		log_notice("vm %s: domain created on host %s", uuid, d->cfg->host_uuid);
	}
	db_vm_clear(&vm);
	push_event(d, &ev);
}

/* A STOP intent's shutdown: clean (asynchronous: the domain goes to the
** shutdown state, and is reaped) or hard. */
static void
act_stop(struct daemon *d, const char *uuid, int clean)
{
	int rc = clean ? d->hv->ops->shutdown(d->hv, uuid) : d->hv->ops->destroy(d->hv, uuid);

	if (rc == 0) {
		log_notice("vm %s: %s on host %s", uuid, clean ? "clean shutdown asked" : "destroyed",
			   d->cfg->host_uuid);
		return;
	}
	if (errno == ENOENT)
		return; /* gone already: the next look reports it */
	log_warnx("vm %s: %s failed: %s", uuid, clean ? "clean shutdown" : "destroy",
		  d->hv->last_error);
	if (hv_gone(errno))
		push_lost(d, "stopping a VM failed");
}

struct metrics_write {
	const char *host;
	int64_t total, free, now;
};

static int
write_metrics(void *arg, struct db *db)
{
	struct metrics_write *mw = arg;

	return db_host_set_metrics(db, mw->host, 1, mw->total, mw->free, mw->now) < 0 ? -1 : 0;
}

struct power_write {
	const char *vm;
	enum db_power_state power;
	const char *resident_on;
	int clear_always_run;
};

static int
write_power(void *arg, struct db *db)
{
	struct power_write *pw = arg;
	struct db_vm vm;
	int rc;

	if (db_vm_set_power(db, pw->vm, pw->power, pw->resident_on) < 0)
		return -1;
	if (!pw->clear_always_run)
		return 0;
	rc = db_vm_get(db, pw->vm, &vm);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = 0;
	if (vm.ha_always_run) {
		vm.ha_always_run = 0;
		rc = db_vm_put(db, &vm) < 0 ? -1 : 0;
	}
	db_vm_clear(&vm);
	return rc;
}

/* The report of an intent ISSUED to this host (CORE_ACT_INTENT_DONE /
** _FAILED), as one write whose precondition is checked inside it: the
** intent is still ISSUED to this host, for the same op.  If not (the
** master moved or ended it meanwhile), nothing is written. */
struct intent_write {
	const char *vm;
	const char *host;
	int op;
	int failed; /* INTENT_FAILED: reason */
	const char *reason;
	enum db_power_state power; /* START done: Running or Paused */
};

static int
write_intent(void *arg, struct db *db)
{
	struct intent_write *iw = arg;
	struct db_vm_intent in;
	int rc;

	rc = db_intent_get(db, iw->vm, &in);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (in.state != DB_INTENT_ISSUED || strcmp(in.host, iw->host) != 0 ||
	    (int)in.op != iw->op) {
		log_info("vm %s: intent no longer issued to this host; report dropped", iw->vm);
		return 0;
	}
	if (iw->failed) {
		in.state = DB_INTENT_FAILED;
		snprintf(in.error, sizeof(in.error), "%s", iw->reason);
		return db_intent_put(db, &in) < 0 ? -1 : 0;
	}
	if (in.op == DB_INTENT_START) {
		if (db_vm_set_power(db, iw->vm, iw->power, iw->host) < 0)
			return -1;
		return db_intent_delete(db, iw->vm) < 0 ? -1 : 0;
	}
	/* STOP: halted; an evacuation goes on as a START from here, for the
	** master to place elsewhere. */
	if (db_vm_set_power(db, iw->vm, DB_POWER_HALTED, "") < 0)
		return -1;
	if (in.why != DB_WHY_EVACUATE)
		return db_intent_delete(db, iw->vm) < 0 ? -1 : 0;
	in.op = DB_INTENT_START;
	in.state = DB_INTENT_QUEUED;
	memcpy(in.from, iw->host, HA_UUID_LEN);
	in.host[0] = '\0';
	in.error[0] = '\0';
	return db_intent_put(db, &in) < 0 ? -1 : 0;
}

/* One of this host's own edits (hasvc/failover.h: INCARNATE, CLAIM,
** ADOPT), its precondition checked inside the write. */
struct edit_write {
	struct fo_edit e;
	const char *host;
};

static int
write_edit(void *arg, struct db *db)
{
	struct edit_write *ew = arg;
	int rc = fo_apply(db, &ew->e, 1, ew->host, clock_wall_ms());

	if (rc == 0)
		log_info("%s of %s: no longer applies; not written", fo_edit_name(ew->e.type),
			 ew->e.vm[0] != '\0' ? ew->e.vm : ew->host);
	return rc < 0 ? -1 : 0;
}

/* A write of this host's: through the master when clustered (a write that
** cannot go now is reported again by the core's next look), else in one
** local transaction, whose failure is fatal (docs/architecture.md). */
static void
local_write(struct daemon *d, int (*fn)(void *arg, struct db *db), void *arg, const char *what)
{
	if (d->cluster != NULL) {
		(void)cluster_local_write(d->cluster, 0, fn, arg);
		return;
	}
	if (db_begin(d->db) < 0 || fn(arg, d->db) < 0 || db_commit(d->db) < 0) {
		char err[512];

		snprintf(err, sizeof(err), "%s", db_errmsg(d->db));
		db_rollback(d->db);
		fatalx("pool database: %s failed: %s", what, err);
	}
}

static void
act_metrics(struct daemon *d)
{
	struct hv_host_info hi;

	if (d->hv->ops->host_info(d->hv, &hi) < 0) {
		log_warnx("host %s: reading host info failed: %s", d->cfg->host_uuid,
			  d->hv->last_error);
		if (hv_gone(errno))
			push_lost(d, "reading host info failed");
		return;
	}
	if (d->cluster != NULL) {
		struct db_host h;
		struct metrics_write mw = {d->cfg->host_uuid, (int64_t)hi.memory_total,
					   (int64_t)hi.memory_free, clock_wall_s()};
		int same;

		db_host_init(&h);
		same = db_host_get(d->db, d->cfg->host_uuid, &h) == 0 && h.live &&
		       h.memory_total == mw.total && h.memory_free == mw.free &&
		       h.last_updated + METRICS_REFRESH_S > mw.now;
		db_host_clear(&h);
		if (!same)
			(void)cluster_local_write(d->cluster, 0, write_metrics, &mw);
		return;
	}
	if (db_host_set_metrics(d->db, d->cfg->host_uuid, 1, (int64_t)hi.memory_total,
				(int64_t)hi.memory_free, clock_wall_s()) < 0)
		fatalx("pool database: updating host metrics failed: %s", db_errmsg(d->db));
}

static void
execute(struct daemon *d, const struct core_action *a)
{
	log_debug("host %s: action %s %s", d->cfg->host_uuid, core_action_name(a->type), a->vm);
	switch (a->type) {
	case CORE_ACT_QUERY_DOMAINS:
		act_query(d);
		break;
	case CORE_ACT_START_VM:
		act_start(d, a->vm);
		break;
	case CORE_ACT_DESTROY_VM:
		if (d->hv->ops->destroy(d->hv, a->vm) < 0 && errno != ENOENT)
			log_warnx("vm %s: destroy failed: %s", a->vm, d->hv->last_error);
		break;
	case CORE_ACT_SET_VM_POWER: {
		/* Clustered, reported to the master; if it cannot be sent now
		** the next poll reports it again (the database still differs). */
		struct power_write pw = {a->vm, a->power, a->here ? d->cfg->host_uuid : "",
					 a->clear_always_run};

		local_write(d, write_power, &pw, "recording a VM's power state");
		break;
	}
	case CORE_ACT_UPDATE_METRICS:
		act_metrics(d);
		break;
	case CORE_ACT_EXIT:
		log_notice("host %s: exiting (%s)", d->cfg->host_uuid, a->reason);
		d->exiting = 1;
		d->exit_code = a->exit_code;
		break;
	case CORE_ACT_STOP_VM:
		act_stop(d, a->vm, a->clean);
		break;
	case CORE_ACT_INTENT_DONE:
	case CORE_ACT_INTENT_FAILED: {
		struct intent_write iw = {a->vm,
					  d->cfg->host_uuid,
					  a->type == CORE_ACT_INTENT_FAILED ? DB_INTENT_START
									    : a->intent_op,
					  a->type == CORE_ACT_INTENT_FAILED,
					  a->reason,
					  a->power};

		local_write(d, write_intent, &iw, "reporting a VM intent");
		break;
	}
	case CORE_ACT_INCARNATE:
	case CORE_ACT_CLAIM:
	case CORE_ACT_ADOPT: {
		struct edit_write ew;

		memset(&ew, 0, sizeof(ew));
		ew.e.type = a->type == CORE_ACT_INCARNATE ? FO_E_HOST_INCARNATE
			    : a->type == CORE_ACT_CLAIM   ? FO_E_VM_CLAIM
							  : FO_E_INTENT_ADOPT;
		memcpy(ew.e.vm, a->vm, HA_UUID_LEN);
		memcpy(ew.e.host, d->cfg->host_uuid, HA_UUID_LEN);
		ew.e.incarnation = d->incarnation;
		ew.e.intent.created = clock_wall_ms();
		ew.host = d->cfg->host_uuid;
		local_write(d, write_edit, &ew, core_action_name(a->type));
		break;
	}
	case CORE_NACTIONS:
		(void)NEVER(1);
		break;
	}
}

/* Arm the timer for the core's next deadline. */
static void
reschedule(struct daemon *d)
{
	uint64_t now = clock_mono_ms(), deadline = core_next_deadline(d->core, now);
	struct timeval tv;

	if (deadline == UINT64_MAX) {
		evtimer_del(d->ev_timer);
		return;
	}
	tv.tv_sec = (time_t)((deadline - now) / 1000);
	tv.tv_usec = (suseconds_t)((deadline - now) % 1000) * 1000;
	evtimer_add(d->ev_timer, &tv);
}

/* Feed `ev` and every event its actions produce to the core. */
static void
feed(struct daemon *d, const struct core_event *first)
{
	struct core_event ev = *first;
	size_t i;

	for (;;) {
		core_actions_reset(&d->actions);
		core_step(d->core, &ev, clock_mono_ms(), &d->actions);
		for (i = 0; i < d->actions.n; i++)
			execute(d, &d->actions.v[i]);
		if (d->npending == 0 || d->exiting)
			break;
		/* A long chain of answers must not starve the core's timers: a
		** due deadline goes first (docs/architecture.md). */
		if (clock_mono_ms() >= core_next_deadline(d->core, clock_mono_ms())) {
			memset(&ev, 0, sizeof(ev));
			ev.type = CORE_EV_TICK;
			continue;
		}
		ev = d->pending[0];
		memmove(d->pending, d->pending + 1, --d->npending * sizeof(d->pending[0]));
	}
	d->npending = 0;
	if (d->exiting)
		event_base_loopbreak(d->base);
	else
		reschedule(d);
}

static void feed(struct daemon *d, const struct core_event *first);
static void kick(struct daemon *d);

/* Hand the core CORE_EV_START: at once on a standalone host; on a clustered
** one when its database is first in sync with the pool, since a stale copy
** could name VMs that have been restarted elsewhere meanwhile. */
static void
start_core(struct daemon *d)
{
	struct core_event ev = {.type = CORE_EV_START};
	struct db_pool pool;

	if (d->core_started)
		return;
	d->core_started = 1;
	db_pool_init(&pool);
	if (db_pool_get(d->db, &pool) != 0)
		fatalx("pool database: reading the pool failed: %s", db_errmsg(d->db));
	ev.u.start.ha_enabled = pool.ha_enabled;
	db_pool_clear(&pool);
	feed(d, &ev);
	/* The HA view at once: until it comes, the core starts nothing. */
	d->kick_ha = 1;
	kick(d);
}

/* Stop (as for SIGTERM) and restart. */
static void
on_restart(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct core_event ev = {.type = CORE_EV_STOP};

	feed(d, &ev);
	if (!d->exiting) {
		d->exiting = 1;
		event_base_loopbreak(d->base);
	}
}

/* Restart after the answers now pending have gone out (a short grace). */
static void
request_restart(void *arg, const char *why)
{
	struct daemon *d = arg;
	struct timeval tv = {0, 300 * 1000};

	if (d->restart)
		return;
	log_notice("host %s: restarting: %s", d->cfg->host_uuid, why);
	d->restart = 1;
	d->ev_restart = evtimer_new(d->base, on_restart, d);
	evtimer_add(d->ev_restart, &tv);
}

static void
on_ejected(void *arg)
{
	struct daemon *d = arg;

	d->set_aside = 1;
	request_restart(d, "ejected from the pool; starting again as a standalone host");
}

/* An ejected host keeps its old pool database for inspection, under a new
** name, and its corosync files go: it must not rejoin the pool by them. */
static void
set_pool_db_aside(const struct config *cfg)
{
	char from[CONFIG_PATH_LEN + 32], to[CONFIG_PATH_LEN + 64];

	snprintf(from, sizeof(from), "%s/pool.db", cfg->data_dir);
	snprintf(to, sizeof(to), "%s/pool.db.ejected-%lld", cfg->data_dir,
		 (long long)clock_wall_s());
	if (rename(from, to) < 0)
		log_warn("cannot set %s aside", from);
	else
		log_notice("host %s: the old pool database is kept as %s", cfg->host_uuid, to);
	if (unlink(cfg->corosync_conf) < 0 && errno != ENOENT)
		log_warn("cannot remove %s", cfg->corosync_conf);
	if (unlink(cfg->corosync_authkey) < 0 && errno != ENOENT)
		log_warn("cannot remove %s", cfg->corosync_authkey);
}

static void
on_cluster_status(void *arg, const struct repl_status *st)
{
	struct daemon *d = arg;

	api_server_cluster_status(d->api, st);
	d->kick_ha = 1;
	kick(d);
	/* In sync with a quorate part of the pool: not merely with itself
	** while the others are still out of sight. */
	if (st->phase == REPL_PHASE_READY && st->quorate && !d->exiting)
		start_core(d);
}

/* ---- deferred work: the HA view, database changes, the failover executor ---- */

static void
kick(struct daemon *d)
{
	if (d->ev_kick != NULL && !d->exiting)
		event_active(d->ev_kick, EV_TIMEOUT, 0);
}

/* Whether my host is in the liveness engine's agreed liveset (its engine
** running and steady).  A standalone host is its own liveset. */
static int
in_liveset(struct daemon *d)
{
	struct ha_status *st;
	size_t i;
	int r = 0;

	if (d->cluster == NULL)
		return 1;
	st = xcalloc(1, sizeof(*st));
	cluster_get_ha_status(d->cluster, st);
	if (st->running && st->state == LV_STEADY)
		for (i = 0; i < st->nlive && !r; i++)
			r = strcmp(st->live[i], d->cfg->host_uuid) == 0;
	xfree(st);
	return r;
}

static void fo_feed(struct daemon *d, const struct fo_event *ev);

/* The core's HA view and the executor's role, fed on a change. */
static void
ha_check(struct daemon *d)
{
	struct db_pool pool;
	int enabled, member, reboot, live, active;
	enum core_state cs = core_get_state(d->core);

	db_pool_init(&pool);
	if (db_pool_get(d->db, &pool) < 0) {
		log_warnx("pool database: reading the pool failed: %s", db_errmsg(d->db));
		db_pool_clear(&pool);
		return;
	}
	enabled = pool.ha_enabled != 0;
	reboot = pool.ha_reboot_vm_on_internal_shutdown != 0;
	db_pool_clear(&pool);
	live = in_liveset(d);
	member = !enabled || live;
	if (d->core_started && (cs == CORE_RECONCILING || cs == CORE_RUNNING) &&
	    (!d->ha_fed || enabled != d->ha_enabled || member != d->ha_member ||
	     reboot != d->ha_reboot)) {
		struct core_event ev = {.type = CORE_EV_HA};

		d->ha_fed = 1;
		d->ha_enabled = enabled;
		d->ha_member = member;
		d->ha_reboot = reboot;
		ev.u.ha.enabled = enabled;
		ev.u.ha.member = member;
		ev.u.ha.reboot_on_internal_shutdown = reboot;
		feed(d, &ev);
	}
	if (d->fo == NULL)
		return;
	{
		struct repl_status rs;

		cluster_get_status(d->cluster, &rs);
		active = rs.writable && enabled && live;
	}
	if (active != d->fo_active) {
		struct fo_event ev = {.type = FO_EV_ROLE};

		d->fo_active = active;
		ev.u.active = active;
		log_notice("failover: host %s: executor %s", d->cfg->host_uuid,
			   active ? "active (writable master in the liveset)" : "inactive");
		fo_feed(d, &ev);
		if (active)
			d->fo_dirty = 1;
	}
}

struct fo_write {
	const struct fo_edit *edits;
	size_t n;
	const char *origin;
	int64_t wall_ms;
};

static int
write_fo(void *arg, struct db *db)
{
	struct fo_write *w = arg;

	return fo_apply(db, w->edits, w->n, w->origin, w->wall_ms) < 0 ? -1 : 0;
}

static void
fo_reschedule(struct daemon *d)
{
	uint64_t now = clock_mono_ms(), deadline;
	struct timeval tv;

	if (d->fo == NULL || d->ev_fo == NULL)
		return;
	deadline = fo_next_deadline(d->fo, now);
	if (deadline == UINT64_MAX) {
		evtimer_del(d->ev_fo);
		return;
	}
	if (deadline < now)
		deadline = now;
	tv.tv_sec = (time_t)((deadline - now) / 1000);
	tv.tv_usec = (suseconds_t)((deadline - now) % 1000) * 1000;
	evtimer_add(d->ev_fo, &tv);
}

/* Feed the executor (pure: safe anywhere); its actions wait for fo_run(),
** from the loop. */
static void
fo_feed(struct daemon *d, const struct fo_event *ev)
{
	if (d->fo == NULL)
		return;
	fo_step(d->fo, ev, clock_mono_ms(), &d->fo_out);
	if (d->fo_out.n > 0 && !d->fo_running)
		kick(d);
	fo_reschedule(d);
}

/* Carry out the executor's actions, those their answers produce included. */
static void
fo_run(struct daemon *d)
{
	size_t i;

	if (d->fo == NULL || d->fo_running)
		return;
	d->fo_running = 1;
	for (i = 0; i < d->fo_out.n; i++) {
		struct fo_action a = d->fo_out.v[i]; /* v may move as answers append */

		switch (a.type) {
		case FO_ACT_WRITE: {
			struct fo_write w = {a.edits, a.nedits, d->cfg->host_uuid, clock_wall_ms()};
			struct fo_event ev = {.type = FO_EV_WRITTEN};
			int rc = cluster_local_write(d->cluster, 1, write_fo, &w);

			ev.u.written.id = a.id;
			ev.u.written.ok = rc == 0;
			fo_step(d->fo, &ev, clock_mono_ms(), &d->fo_out);
			break;
		}
		case FO_ACT_NOTE:
			log_notice("failover: %s", a.text);
			break;
		case FO_NACTIONS:
			(void)NEVER(1);
			break;
		}
	}
	fo_actions_reset(&d->fo_out);
	d->fo_running = 0;
	fo_reschedule(d);
}

/* A database snapshot for the active executor. */
static void
fo_snapshot(struct daemon *d)
{
	struct fo_snapshot snap;
	struct fo_event ev = {.type = FO_EV_DB};

	if (d->fo == NULL || !d->fo_active)
		return;
	memset(&snap, 0, sizeof(snap));
	if (fo_snapshot_read(d->db, &snap) < 0) {
		log_warnx("failover: reading the pool database failed: %s", db_errmsg(d->db));
		fo_snapshot_free(&snap);
		return;
	}
	fo_snapshot_view(&snap, clock_wall_ms(), &ev.u.db);
	fo_feed(d, &ev);
	fo_snapshot_free(&snap);
}

static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	enum core_state cs;

	if (d->exiting)
		return;
	if (d->kick_ha) {
		d->kick_ha = 0;
		ha_check(d);
	}
	cs = core_get_state(d->core);
	if (d->kick_db && !d->exiting) {
		d->kick_db = 0;
		if (cs == CORE_RECONCILING || cs == CORE_RUNNING) {
			struct core_event ev = {.type = CORE_EV_DB_CHANGED};

			feed(d, &ev);
		}
	}
	if (d->fo_dirty && !d->exiting) {
		d->fo_dirty = 0;
		fo_snapshot(d);
	}
	if (!d->exiting)
		fo_run(d);
}

static void
on_second(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	if (d->exiting)
		return;
	ha_check(d);
	if (d->fo_dirty)
		kick(d);
	else if (d->fo_out.n > 0)
		fo_run(d);
}

static void
on_fo_timer(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct fo_event ev = {.type = FO_EV_TICK};

	if (d->exiting)
		return;
	fo_feed(d, &ev);
	fo_run(d);
}

/* The API server's db_changed hook: a committed change (possibly applied
** inside a corosync callback): note it, act from the loop. */
static void
on_db_changed(void *arg, enum db_table table, const char *uuid, enum db_change op)
{
	struct daemon *d = arg;

	switch (table) {
	case DB_TABLE_POOL:
		d->kick_ha = 1;
		/* fall through */
	case DB_TABLE_VM:
	case DB_TABLE_INTENT:
		d->kick_db = 1;
		/* fall through */
	case DB_TABLE_HOST:
		/* my row: my incarnation landed (the core waits for it) */
		if (table == DB_TABLE_HOST && uuid != NULL &&
		    strcmp(uuid, d->cfg->host_uuid) == 0)
			d->kick_db = 1;
		/* fall through */
	case DB_TABLE_VM_GROUP:
		d->fo_dirty = 1;
		kick(d);
		break;
	case DB_TABLE_MESSAGE:
	case DB_TABLE_USER:
	case DB_TABLE_FENCE:
		break;
	}
}

/* The liveness engine's decisions (inside corosync's callbacks). */
static void
on_liveset(void *arg, const char (*uuids)[HA_UUID_LEN], size_t n)
{
	struct daemon *d = arg;
	struct fo_event ev = {.type = FO_EV_LIVESET};

	ev.u.hosts.uuids = uuids;
	ev.u.hosts.n = n;
	fo_feed(d, &ev);
	d->kick_ha = 1;
	kick(d);
}

static void
on_host_dead(void *arg, const char *host)
{
	struct daemon *d = arg;
	struct fo_event ev = {.type = FO_EV_HOST_DEAD};

	snprintf(ev.u.host, sizeof(ev.u.host), "%s", host);
	/* The incarnation that died: my database cannot hold a later one yet
	** (failover.h, fo_event.incarnation). */
	ev.incarnation = host_incarnation(d, host);
	fo_feed(d, &ev);
	d->kick_ha = 1;
	kick(d);
}

/* A snapshot replaced the database (no change hook for that), or this
** host is in sync again: everything may have changed. */
static void
on_resynced(void *arg, int restored)
{
	struct daemon *d = arg;

	d->kick_db = d->kick_ha = d->fo_dirty = 1;
	kick(d);
}

static int
take_lock(struct daemon *d)
{
	char path[CONFIG_PATH_LEN + 32];

	snprintf(path, sizeof(path), "%s/hasvcd.lock", d->cfg->data_dir);
	d->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lockfd < 0) {
		log_err("cannot open %s", path);
		return -1;
	}
	if (flock(d->lockfd, LOCK_EX | LOCK_NB) < 0) {
		log_errx("%s is locked: another hasvcd runs on this data directory", path);
		return -1;
	}
	if (ftruncate(d->lockfd, 0) == 0)
		dprintf(d->lockfd, "%ld\n", (long)getpid());
	return 0;
}

/* A host that starts with an empty database forms a one-host pool with
** itself as master; a known host keeps its record.  A clustered host writes
** nothing here: its database changes only through replication, and
** cluster_start() checks that it describes this host. */
static void
ensure_rows(struct daemon *d)
{
	struct db_pool pool;
	struct db_host host;
	int rc;

	if (d->clustered)
		return;

	rc = db_host_get(d->db, d->cfg->host_uuid, &host);
	if (rc < 0)
		fatalx("pool database: reading host %s failed: %s", d->cfg->host_uuid,
		       db_errmsg(d->db));
	if (rc > 0) {
		db_host_init(&host);
		memcpy(host.uuid, d->cfg->host_uuid, HA_UUID_LEN);
		if (gethostname(host.hostname, sizeof(host.hostname) - 1) < 0)
			snprintf(host.hostname, sizeof(host.hostname), "localhost");
		snprintf(host.name_label, sizeof(host.name_label), "%s", host.hostname);
		snprintf(host.address, sizeof(host.address), "%s", d->cfg->management_address[0]);
		host.enabled = 1;
		if (db_host_put(d->db, &host) < 0)
			fatalx("pool database: adding host %s failed: %s", d->cfg->host_uuid,
			       db_errmsg(d->db));
		log_notice("host %s: added to the pool database", d->cfg->host_uuid);
	}
	db_host_clear(&host);

	rc = db_pool_get(d->db, &pool);
	if (rc < 0)
		fatalx("pool database: reading the pool failed: %s", db_errmsg(d->db));
	if (rc > 0) {
		db_pool_init(&pool);
		id_uuid_new(pool.uuid);
		memcpy(pool.master, d->cfg->host_uuid, HA_UUID_LEN);
		if (db_pool_put(d->db, &pool) < 0)
			fatalx("pool database: creating the pool failed: %s", db_errmsg(d->db));
		log_notice("pool %s: created with host %s as master", pool.uuid,
			   d->cfg->host_uuid);
	} else if (pool.master[0] == '\0') {
		/* A pool seeded without a master (hasvc-db init): the host that
		** starts first in it takes the role.  The cluster protocol will
		** make this an election. */
		memcpy(pool.master, d->cfg->host_uuid, HA_UUID_LEN);
		if (db_pool_put(d->db, &pool) < 0)
			fatalx("pool database: recording the master failed: %s", db_errmsg(d->db));
		log_notice("pool %s: host %s is master", pool.uuid, d->cfg->host_uuid);
	}
	db_pool_clear(&pool);
}

static struct hv *
open_backend(const struct config *cfg)
{
	char err[512] = "";
	struct hv *hv;

	if (cfg->hv_backend == CONFIG_HV_SIM)
		hv = hv_sim_open(cfg->hv_socket, err, sizeof(err));
	else
		hv = hv_xen_open(NULL, err, sizeof(err));
	if (hv == NULL)
		fatalx("hypervisor backend %s: %s", config_hv_backend_name(cfg->hv_backend), err);
	return hv;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct core_event ev = {.type = CORE_EV_STOP};

	if (sig == SIGHUP) {
		log_info("host %s: SIGHUP ignored (configuration is read at start)",
			 d->cfg->host_uuid);
		return;
	}
	log_notice("host %s: signal %d received; stopping", d->cfg->host_uuid, (int)sig);
	feed(d, &ev);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct core_event ev = {.type = CORE_EV_TICK};

	feed(d, &ev);
}

static void
on_hv(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct core_event ev;
	int rc;

	for (;;) {
		memset(&ev, 0, sizeof(ev));
		ev.type = CORE_EV_HV_EVENT;
		rc = d->hv->ops->next_event(d->hv, &ev.u.hv);
		if (rc == 0)
			return;
		if (rc < 0) {
			memset(&ev, 0, sizeof(ev));
			ev.type = CORE_EV_HV_LOST;
			snprintf(ev.u.lost.reason, sizeof(ev.u.lost.reason), "%s",
				 d->hv->last_error);
			event_del(d->ev_hv);
			feed(d, &ev);
			return;
		}
		feed(d, &ev);
		if (d->exiting)
			return;
	}
}

static void
setup_loop(struct daemon *d)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	int hvfd = d->hv->ops->event_fd(d->hv);
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	d->base = event_base_new();
	if (d->base == NULL)
		fatalx("cannot create the event loop");
	for (i = 0; i < ARRAY_SIZE(sigs); i++) {
		d->ev_sig[i] = evsignal_new(d->base, sigs[i], on_signal, d);
		if (d->ev_sig[i] == NULL || evsignal_add(d->ev_sig[i], NULL) < 0)
			fatalx("cannot watch signal %d", sigs[i]);
	}
	d->ev_timer = evtimer_new(d->base, on_timer, d);
	d->ev_kick = event_new(d->base, -1, 0, on_kick, d);
	d->ev_second = event_new(d->base, -1, EV_PERSIST, on_second, d);
	if (d->ev_kick == NULL || d->ev_second == NULL)
		fatalx("cannot create the loop's timers");
	{
		struct timeval sec = {1, 0};

		event_add(d->ev_second, &sec);
	}
	if (hvfd >= 0) {
		d->ev_hv = event_new(d->base, hvfd, EV_READ | EV_PERSIST, on_hv, d);
		if (d->ev_hv == NULL || event_add(d->ev_hv, NULL) < 0)
			fatalx("cannot watch the hypervisor's event descriptor");
	}
}

/* A fresh incarnation: random, > 0 (db.h, "Incarnations").  Two starts of
** hasvcd must not pick the same one; 63 random bits make that a 2^-63
** chance per pair. */
static int64_t
new_incarnation(void)
{
	uint64_t r = 0;

	while (r == 0) {
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			fatal("getrandom");
		r &= INT64_MAX;
	}
	return (int64_t)r;
}

int
daemon_run(const struct config *cfg)
{
	struct daemon d;
	struct core_config cc;
	char path[CONFIG_PATH_LEN + 32], err[512];
	size_t i;

	memset(&d, 0, sizeof(d));
	d.cfg = cfg;
	d.lockfd = -1;
	if (mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST)
		fatal("cannot create data directory %s", cfg->data_dir);
	snprintf(path, sizeof(path), "%s/hasvcd.blackbox", cfg->data_dir);
	log_set_blackbox(path);
	if (take_lock(&d) < 0)
		return 1;

	snprintf(path, sizeof(path), "%s/pool.db", cfg->data_dir);
	d.db = db_open(path, DB_OPEN_CREATE, err, sizeof(err));
	if (d.db == NULL)
		fatalx("%s", err);
	d.clustered = cfg->cluster && cluster_is_member(d.db, cfg);
	if (cfg->cluster && !d.clustered)
		log_notice("host %s: not a member of a clustered pool: running as a standalone "
			   "host until it joins one (pool-join)",
			   cfg->host_uuid);
	ensure_rows(&d);
	d.hv = open_backend(cfg);
	setup_loop(&d);

	d.incarnation = new_incarnation();
	core_config_defaults(&cc);
	memcpy(cc.host_uuid, cfg->host_uuid, HA_UUID_LEN);
	cc.incarnation = d.incarnation;
	cc.standalone = !d.clustered;
	d.core = core_new(&cc);

	log_notice("host %s: hasvcd %d running (backend %s; watchdog keeper at %s; incarnation "
		   "%" PRId64 ")",
		   cfg->host_uuid, (int)getpid(), d.hv->ops->name, cfg->watchdog_keeper_socket,
		   d.incarnation);
	if (d.clustered) {
		struct cluster_hooks ch = {.arg = &d,
					   .status = on_cluster_status,
					   .ejected = on_ejected,
					   .resynced = on_resynced,
					   .liveset = on_liveset,
					   .host_dead = on_host_dead};
		struct fo_config fc;

		/* Before the cluster: the engine's first decisions go to it. */
		fo_config_defaults(&fc);
		memcpy(fc.host_uuid, cfg->host_uuid, HA_UUID_LEN);
		d.fo = fo_new(&fc);
		d.ev_fo = evtimer_new(d.base, on_fo_timer, &d);

		d.cluster = cluster_start(d.base, d.db, cfg, &ch, err, sizeof(err));
		if (d.cluster == NULL)
			fatalx("%s", err);
	}
	{
		struct api_server_hooks ah = {
		    .arg = &d, .restart = request_restart, .db_changed = on_db_changed};

		d.api = api_server_start(d.base, d.db, cfg, d.cluster, &ah);
	}
	if (d.cluster == NULL)
		start_core(&d);
	if (!d.exiting)
		event_base_dispatch(d.base);

	cluster_stop(d.cluster);
	api_server_stop(d.api);
	fo_free(d.fo);
	fo_actions_free(&d.fo_out);
	if (d.ev_fo != NULL)
		event_free(d.ev_fo);
	event_free(d.ev_kick);
	event_free(d.ev_second);
	core_free(d.core);
	core_actions_free(&d.actions);
	xfree(d.views);
	xfree(d.doms);
	hv_close(d.hv);
	db_close(d.db);
	for (i = 0; i < ARRAY_SIZE(d.ev_sig); i++)
		if (d.ev_sig[i] != NULL)
			event_free(d.ev_sig[i]);
	if (d.ev_hv != NULL)
		event_free(d.ev_hv);
	if (d.ev_restart != NULL)
		event_free(d.ev_restart);
	event_free(d.ev_timer);
	event_base_free(d.base);
	if (d.restart && d.set_aside)
		set_pool_db_aside(cfg);
	close(d.lockfd);
	return d.restart ? DAEMON_EXIT_RESTART : d.exit_code;
}
