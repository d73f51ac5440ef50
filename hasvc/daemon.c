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
*/
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "hasvc/api_server.h"
#include "hasvc/cluster.h"
#include "hasvc/core.h"
#include "hasvc/daemon.h"
#include "hasvc/db.h"
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

static void
act_query(struct daemon *d)
{
	struct core_event ev = {.type = CORE_EV_DOMAINS};
	struct db_vm *vms = NULL;
	size_t nvms = 0, ndoms = 0, i;

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
	d->views = xcalloc(nvms, sizeof(*d->views));
	for (i = 0; i < nvms; i++) {
		struct core_vm_view *v = &d->views[i];

		memcpy(v->uuid, vms[i].uuid, HA_UUID_LEN);
		v->power = vms[i].power_state;
		v->here = strcmp(vms[i].resident_on, d->cfg->host_uuid) == 0;
		v->priority = vms[i].ha_restart_priority;
		v->always_run = vms[i].ha_always_run;
		v->order = vms[i].order;
	}
	db_vm_list_free(vms, nvms);
	ev.u.domains.vms = d->views;
	ev.u.domains.nvms = nvms;
	ev.u.domains.doms = d->doms;
	ev.u.domains.ndoms = ndoms;
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
};

static int
write_power(void *arg, struct db *db)
{
	struct power_write *pw = arg;

	return db_vm_set_power(db, pw->vm, pw->power, pw->resident_on) < 0 ? -1 : 0;
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
	case CORE_ACT_SET_VM_POWER:
		if (d->cluster != NULL) {
			/* Reported to the master; if it cannot be sent now the
			** next poll reports it again (the database still differs). */
			struct power_write pw = {a->vm, a->power, a->here ? d->cfg->host_uuid : ""};

			(void)cluster_local_write(d->cluster, 0, write_power, &pw);
			break;
		}
		if (db_vm_set_power(d->db, a->vm, a->power, a->here ? d->cfg->host_uuid : "") < 0)
			fatalx("pool database: recording vm %s as %s failed: %s", a->vm,
			       db_power_state_name(a->power), db_errmsg(d->db));
		break;
	case CORE_ACT_UPDATE_METRICS:
		act_metrics(d);
		break;
	case CORE_ACT_EXIT:
		log_notice("host %s: exiting (%s)", d->cfg->host_uuid, a->reason);
		d->exiting = 1;
		d->exit_code = a->exit_code;
		break;
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
	/* In sync with a quorate part of the pool: not merely with itself
	** while the others are still out of sight. */
	if (st->phase == REPL_PHASE_READY && st->quorate && !d->exiting)
		start_core(d);
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
	if (hvfd >= 0) {
		d->ev_hv = event_new(d->base, hvfd, EV_READ | EV_PERSIST, on_hv, d);
		if (d->ev_hv == NULL || event_add(d->ev_hv, NULL) < 0)
			fatalx("cannot watch the hypervisor's event descriptor");
	}
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

	core_config_defaults(&cc);
	memcpy(cc.host_uuid, cfg->host_uuid, HA_UUID_LEN);
	d.core = core_new(&cc);

	log_notice("host %s: hasvcd %d running (backend %s; watchdog keeper at %s)", cfg->host_uuid,
		   (int)getpid(), d.hv->ops->name, cfg->watchdog_keeper_socket);
	if (d.clustered) {
		struct cluster_hooks ch = {
		    .arg = &d, .status = on_cluster_status, .ejected = on_ejected};

		d.cluster = cluster_start(d.base, d.db, cfg, &ch, err, sizeof(err));
		if (d.cluster == NULL)
			fatalx("%s", err);
	}
	{
		struct api_server_hooks ah = {.arg = &d, .restart = request_restart};

		d.api = api_server_start(d.base, d.db, cfg, d.cluster, &ah);
	}
	if (d.cluster == NULL)
		start_core(&d);
	if (!d.exiting)
		event_base_dispatch(d.base);

	cluster_stop(d.cluster);
	api_server_stop(d.api);
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
