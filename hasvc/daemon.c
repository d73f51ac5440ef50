/*
** hasvcd's event loop.  See daemon.h.
**
** Start-up: take the data directory's lock (one hasvcd per host), open the
** pool database (refusing a corrupt or foreign one), make sure the pool and
** this host have rows (a host that starts alone forms a one-host pool and is
** its master, as xapi does on first boot), open the hypervisor backend, and
** hand the core CORE_EV_START.
**
** Loop: poll(signalfd, hypervisor event fd) with the core's next deadline as
** the timeout; every wake-up becomes one core event, and every action the
** core returns is carried out here.  Actions that produce an answer
** (QUERY_DOMAINS, START_VM) queue that answer as the next event, so one
** wake-up runs the core to quiescence.
*/
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

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
	int sigfd;
	int lockfd;
	int exiting;
	int exit_code;

	struct core_event pending[PENDING_MAX];
	size_t npending;

	/* Storage behind the last CORE_EV_DOMAINS event. */
	struct core_vm_view *views;
	struct hv_domain *doms;
};

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
	if (db_host_set_metrics(d->db, d->cfg->host_uuid, 1, (int64_t)hi.memory_total,
				(int64_t)hi.memory_free, clock_wall_s()) < 0)
		fatalx("pool database: updating host metrics failed: %s", db_errmsg(d->db));
}

static void
act_watchdog(struct daemon *d, const struct core_action *a)
{
	int rc;

	switch (a->type) {
	case CORE_ACT_WD_ARM:
		rc = d->hv->ops->wd_arm(d->hv, a->timeout_ms);
		break;
	case CORE_ACT_WD_PET:
		rc = d->hv->ops->wd_pet(d->hv);
		break;
	default:
		rc = d->hv->ops->wd_disarm(d->hv);
		break;
	}
	if (rc < 0) {
		log_errx("host %s: watchdog %s failed: %s", d->cfg->host_uuid,
			 core_action_name(a->type), d->hv->last_error);
		if (hv_gone(errno) && a->type != CORE_ACT_WD_DISARM)
			push_lost(d, "watchdog call failed");
	}
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
		if (db_vm_set_power(d->db, a->vm, a->power, a->here ? d->cfg->host_uuid : "") < 0)
			fatalx("pool database: recording vm %s as %s failed: %s", a->vm,
			       db_power_state_name(a->power), db_errmsg(d->db));
		break;
	case CORE_ACT_UPDATE_METRICS:
		act_metrics(d);
		break;
	case CORE_ACT_WD_ARM:
	case CORE_ACT_WD_PET:
	case CORE_ACT_WD_DISARM:
		act_watchdog(d, a);
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
		/* A long chain of answers must not starve the watchdog: a due
		** deadline goes first, so the gap between pets is at most one
		** pet period plus one backend call (docs/architecture.md). */
		if (clock_mono_ms() >= core_next_deadline(d->core, clock_mono_ms())) {
			memset(&ev, 0, sizeof(ev));
			ev.type = CORE_EV_TICK;
			continue;
		}
		ev = d->pending[0];
		memmove(d->pending, d->pending + 1, --d->npending * sizeof(d->pending[0]));
	}
	d->npending = 0;
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
** itself as master; a known host keeps its record. */
static void
ensure_rows(struct daemon *d)
{
	struct db_pool pool;
	struct db_host host;
	int rc;

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
	}
	db_pool_clear(&pool);

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

static int
open_signals(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		fatal("sigprocmask");
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		fatal("signalfd");
	signal(SIGPIPE, SIG_IGN);
	return fd;
}

static void
read_signal(struct daemon *d)
{
	struct signalfd_siginfo si;
	struct core_event ev = {.type = CORE_EV_STOP};

	while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("host %s: SIGHUP ignored (configuration is read at start)",
				 d->cfg->host_uuid);
			continue;
		}
		log_notice("host %s: signal %u received; stopping", d->cfg->host_uuid,
			   si.ssi_signo);
		feed(d, &ev);
	}
}

static void
read_hv_events(struct daemon *d)
{
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
			feed(d, &ev);
			return;
		}
		feed(d, &ev);
		if (d->exiting)
			return;
	}
}

static void
loop(struct daemon *d)
{
	while (!d->exiting) {
		struct pollfd pfd[2];
		uint64_t now = clock_mono_ms(), deadline = core_next_deadline(d->core, now);
		int timeout, nfds = 1, hvfd = d->hv->ops->event_fd(d->hv), rc;

		timeout = deadline == UINT64_MAX ? -1
			  : deadline - now > INT_MAX ? INT_MAX
						     : (int)(deadline - now);
		pfd[0].fd = d->sigfd;
		pfd[0].events = POLLIN;
		if (hvfd >= 0) {
			pfd[1].fd = hvfd;
			pfd[1].events = POLLIN;
			nfds = 2;
		}
		rc = poll(pfd, (nfds_t)nfds, timeout);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[0].revents)
			read_signal(d);
		if (!d->exiting && nfds == 2 && pfd[1].revents)
			read_hv_events(d);
		if (!d->exiting && clock_mono_ms() >= core_next_deadline(d->core, clock_mono_ms())) {
			struct core_event ev = {.type = CORE_EV_TICK};

			feed(d, &ev);
		}
	}
}

int
daemon_run(const struct config *cfg)
{
	struct daemon d;
	struct core_config cc;
	struct core_event ev = {.type = CORE_EV_START};
	struct db_pool pool;
	char path[CONFIG_PATH_LEN + 32], err[512];

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
	ensure_rows(&d);
	d.hv = open_backend(cfg);
	d.sigfd = open_signals();

	core_config_defaults(&cc);
	memcpy(cc.host_uuid, cfg->host_uuid, HA_UUID_LEN);
	cc.wd_timeout_ms = cfg->watchdog_timeout_ms;
	d.core = core_new(&cc);

	if (db_pool_get(d.db, &pool) != 0)
		fatalx("pool database: reading the pool failed: %s", db_errmsg(d.db));
	ev.u.start.ha_enabled = pool.ha_enabled;
	db_pool_clear(&pool);
	log_notice("host %s: hasvcd %d running (backend %s, watchdog %s %u ms)", cfg->host_uuid,
		   (int)getpid(), d.hv->ops->name, config_watchdog_driver_name(cfg->watchdog_driver),
		   cfg->watchdog_timeout_ms);
	feed(&d, &ev);
	loop(&d);

	core_free(d.core);
	core_actions_free(&d.actions);
	xfree(d.views);
	xfree(d.doms);
	hv_close(d.hv);
	db_close(d.db);
	close(d.sigfd);
	close(d.lockfd);
	return d.exit_code;
}
