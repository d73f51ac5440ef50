/*
** hv_xen: the hypervisor seam (hv.h) over libxenctrl + libxl, for a real Xen
** dom0.  docs/hv_xen.md describes the choices made here for admins.
**
** Owns one xc_interface (host facts, the Xen watchdog), one libxl_ctx
** (domains), a logger that routes libxl/libxc messages to our log and keeps
** the last error for hv->last_error, the watchdog slot, and the last domain
** snapshot used to derive events.
**
** Invariants and contracts:
**   - Every call is synchronous.  libxl is called with ao_how == NULL, so a
**     domain create blocks for as long as libxl needs (seconds; DESIGN §4
**     moves it to a worker later).
**   - Domains are named by their libxl UUID; domid 0 is never listed.
**   - The stored VM config (hv_vm_spec.config) is libxl's own JSON form of a
**     libxl_domain_config, as `xl list -l DOMAIN` prints it under "config".
**     xl's text syntax is not used: turning it into a libxl_domain_config is
**     done by xl's private parser (parse_config_data), which no library
**     exports, and a home-made copy of it would drift from libxl.  The JSON is
**     libxl's stable serialisation, parsed by libxl itself.
**   - Events: libxl's event machinery (libxl_evenable_domain_death) needs its
**     fd/timeout registration hooks wired into our loop; until then event_fd
**     returns -1 and next_event diffs successive domain lists, so an event is
**     seen on the daemon's next poll, not at once.
**   - Reaping: like `xl create` without its per-domain monitor, nothing here
**     destroys a guest that shut down or crashed; the core does so when it
**     sees HV_DOM_SHUTDOWN/HV_DOM_CRASHED (CORE_ACT_DESTROY_VM).
**   - The Xen watchdog counts in whole seconds.  A millisecond timeout is
**     rounded DOWN: the host must be reset no later than the time the
**     failover timing was derived from (DESIGN §1: a later reset could let a
**     VM run on two hosts), and an earlier one only costs liveness.  Timeouts
**     under one second cannot be honoured and are refused.
*/
#define LIBXL_API_VERSION 0x041400

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libxl.h>
#include <libxl_utils.h>
#include <xenctrl.h>
#include <xentoollog.h>

#include "hasvc/hv.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* How long self_reset waits for Xen to reset the host before giving up. */
#define XEN_SELF_RESET_WAIT_S 10

/* libxl's INVALID_DOMID is an int (~0); domids are uint32_t. */
#define XEN_NO_DOMID ((uint32_t)INVALID_DOMID)

struct xen_snap {
	char uuid[HA_UUID_LEN];
	enum hv_dom_state state;
};

struct hv_xen;

/* A xentoollog logger embedded in hv_xen; `vt` must stay first because libxl
** and libxc hand back a pointer to it. */
struct xen_logger {
	xentoollog_logger vt;
	struct hv_xen *x;
};

struct hv_xen {
	struct hv hv; /* first: a struct hv_xen * is a struct hv * */
	struct xen_logger lg;
	char lib_error[160]; /* last error-level message of libxl/libxc */
	int lib_errno;       /* its errno, or 0 */
	xc_interface *xch;
	libxl_ctx *ctx;
	int wd_id; /* Xen watchdog slot, 0 when disarmed */
	uint32_t wd_timeout_s;
	struct xen_snap *snap; /* the previous domain list, for events */
	size_t nsnap;
	struct hv_event *queue; /* events found by the last diff, not yet read */
	size_t nqueue, qhead;
};

static struct hv_xen *
to_xen(struct hv *hv)
{
	return (struct hv_xen *)hv;
}

static void
xen_logger_vmessage(struct xentoollog_logger *logger, xentoollog_level level, int errnoval,
                    const char *context, const char *format, va_list al)
{
	struct xen_logger *lg = (struct xen_logger *)logger;
	char msg[512];
	int prio;

	vsnprintf(msg, sizeof(msg), format, al);
	if (level >= XTL_ERROR)
		prio = LOG_ERR;
	else if (level >= XTL_WARN)
		prio = LOG_WARNING;
	else if (level >= XTL_NOTICE)
		prio = LOG_INFO;
	else
		prio = LOG_DEBUG;
	if (errnoval > 0)
		qb_log(prio, "%s: %s: %s", context ? context : "xen", msg, strerror(errnoval));
	else
		qb_log(prio, "%s: %s", context ? context : "xen", msg);
	if (level >= XTL_ERROR && lg->x != NULL) {
		snprintf(lg->x->lib_error, sizeof(lg->x->lib_error), "%s", msg);
		lg->x->lib_errno = errnoval > 0 ? errnoval : 0;
	}
}

static void
xen_logger_progress(struct xentoollog_logger *logger, const char *context, const char *doing_what,
                    int percent, unsigned long done, unsigned long total)
{
	(void)logger;
	(void)done;
	(void)total;
	qb_log(LOG_DEBUG, "%s: %s: %d%%", context ? context : "xen", doing_what, percent);
}

/* The logger lives inside hv_xen, which frees it. */
static void
xen_logger_destroy(struct xentoollog_logger *logger)
{
	(void)logger;
}

static void
lib_clear(struct hv_xen *x)
{
	x->lib_error[0] = '\0';
	x->lib_errno = 0;
}

/* Fill last_error with a sentence (plus the library's last error message, if
** it logged one), set errno to `err` and return -1. */
static int __attribute__((format(printf, 3, 4)))
xen_fail(struct hv_xen *x, int err, const char *fmt, ...)
{
	char msg[sizeof(x->hv.last_error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (x->lib_error[0] != '\0')
		snprintf(x->hv.last_error, sizeof(x->hv.last_error), "%s: %s", msg, x->lib_error);
	else
		snprintf(x->hv.last_error, sizeof(x->hv.last_error), "%s", msg);
	errno = err;
	return -1;
}

/* libxl error code -> hv.h errno.  ENOMEM also when libxl/libxc logged an
** out-of-memory failure (Xen has no "does not fit" error code of its own). */
static int
xen_errno(const struct hv_xen *x, int rc)
{
	switch (rc) {
	case ERROR_DOMAIN_NOTFOUND:
	case ERROR_NOTFOUND:
		return ENOENT;
	case ERROR_NOMEM:
		return ENOMEM;
	case ERROR_TIMEDOUT:
	case ERROR_GUEST_TIMEDOUT:
		return ETIMEDOUT;
	}
	if (x->lib_errno == ENOMEM)
		return ENOMEM;
	return EIO;
}

static void
xen_uuid_format(const libxl_uuid *u, char out[HA_UUID_LEN])
{
	snprintf(out, HA_UUID_LEN, LIBXL_UUID_FMT, LIBXL_UUID_BYTES(*u));
}

static enum hv_dom_state
xen_dom_state(const libxl_dominfo *d)
{
	if (d->dying)
		return HV_DOM_DYING;
	if (d->shutdown) {
		/* A guest killed by its own watchdog crashed as far as HA cares. */
		if (d->shutdown_reason == LIBXL_SHUTDOWN_REASON_CRASH ||
		    d->shutdown_reason == LIBXL_SHUTDOWN_REASON_WATCHDOG)
			return HV_DOM_CRASHED;
		return HV_DOM_SHUTDOWN;
	}
	if (d->paused)
		return HV_DOM_PAUSED;
	return HV_DOM_RUNNING;
}

/* The domid of the domain with UUID `uuid`, preferring one that is not dying
** (a destroyed domain lingers as dying for a moment).  Returns 0 and sets
** *domid and *state, or -1 with errno ENOENT (none) or EIO. */
static int
xen_find_domain(struct hv_xen *x, const char *uuid, uint32_t *domid, enum hv_dom_state *state)
{
	libxl_dominfo *list;
	libxl_uuid want;
	int n, i, found = 0;

	if (libxl_uuid_from_string(&want, uuid) != 0)
		return xen_fail(x, EINVAL, "'%s' is not a UUID", uuid);
	lib_clear(x);
	list = libxl_list_domain(x->ctx, &n);
	if (list == NULL)
		return xen_fail(x, EIO, "listing the Xen domains failed");
	for (i = 0; i < n; i++) {
		enum hv_dom_state s = xen_dom_state(&list[i]);

		if (list[i].domid == 0 || libxl_uuid_compare(&list[i].uuid, &want) != 0)
			continue;
		if (found && s == HV_DOM_DYING)
			continue;
		*domid = list[i].domid;
		*state = s;
		found = 1;
	}
	libxl_dominfo_list_free(list, n);
	if (!found)
		return xen_fail(x, ENOENT, "no Xen domain has UUID %s", uuid);
	return 0;
}

static int
xen_host_info(struct hv *hv, struct hv_host_info *out)
{
	struct hv_xen *x = to_xen(hv);
	xc_physinfo_t pi;

	memset(&pi, 0, sizeof(pi));
	lib_clear(x);
	if (xc_physinfo(x->xch, &pi) != 0)
		return xen_fail(x, errno ? errno : EIO, "xc_physinfo failed: %s", strerror(errno));
	out->memory_total = (uint64_t)pi.total_pages * XC_PAGE_SIZE;
	out->memory_free = (uint64_t)pi.free_pages * XC_PAGE_SIZE;
	out->cpus = pi.nr_cpus;
	return 0;
}

static int
xen_list_domains(struct hv *hv, struct hv_domain **out, size_t *nout)
{
	struct hv_xen *x = to_xen(hv);
	struct hv_domain *doms;
	libxl_dominfo *list;
	size_t k = 0;
	int n, i;

	lib_clear(x);
	list = libxl_list_domain(x->ctx, &n);
	if (list == NULL)
		return xen_fail(x, EIO, "listing the Xen domains failed");
	doms = xcalloc(n > 0 ? (size_t)n : 1, sizeof(*doms));
	for (i = 0; i < n; i++) {
		if (list[i].domid == 0)
			continue;
		xen_uuid_format(&list[i].uuid, doms[k].uuid);
		doms[k].state = xen_dom_state(&list[i]);
		doms[k].memory = list[i].current_memkb * 1024;
		/* The configured count (online vCPUs drop to 0 on shutdown). */
		doms[k].vcpus = list[i].vcpu_max_id + 1;
		k++;
	}
	libxl_dominfo_list_free(list, n);
	*out = doms;
	*nout = k;
	return 0;
}

/* Apply the pool database's view of the VM over the stored config: the UUID
** and name always, memory and vCPUs when the spec gives them. */
static int
xen_config_override(struct hv_xen *x, libxl_domain_config *cfg, const struct hv_vm_spec *spec,
                    const libxl_uuid *uuid)
{
	libxl_domain_build_info *b = &cfg->b_info;
	uint32_t i;

	cfg->c_info.uuid = *uuid;
	if (spec->name[0] != '\0') {
		free(cfg->c_info.name);
		cfg->c_info.name = xstrdup(spec->name);
	}
	if (spec->memory > 0) {
		b->max_memkb = (spec->memory + 1023) / 1024;
		if (b->target_memkb == LIBXL_MEMKB_DEFAULT || b->target_memkb > b->max_memkb)
			b->target_memkb = b->max_memkb;
	}
	if (spec->vcpus > 0) {
		b->max_vcpus = (int)spec->vcpus;
		libxl_bitmap_dispose(&b->avail_vcpus);
		libxl_bitmap_init(&b->avail_vcpus);
		if (libxl_bitmap_alloc(x->ctx, &b->avail_vcpus, (int)spec->vcpus) != 0)
			return xen_fail(x, EIO, "VM %s: allocating the vCPU map failed",
			                spec->uuid);
		for (i = 0; i < spec->vcpus; i++)
			libxl_bitmap_set(&b->avail_vcpus, (int)i);
	}
	return 0;
}

static int
xen_start(struct hv *hv, const struct hv_vm_spec *spec)
{
	struct hv_xen *x = to_xen(hv);
	libxl_domain_config cfg;
	libxl_uuid uuid;
	enum hv_dom_state state = HV_DOM_RUNNING;
	uint32_t domid = XEN_NO_DOMID;
	uint64_t need_kb = 0, free_kb = 0;
	int rc, err;

	libxl_domain_config_init(&cfg);
	if (libxl_uuid_from_string(&uuid, spec->uuid) != 0) {
		xen_fail(x, EINVAL, "'%s' is not a UUID", spec->uuid);
		goto fail;
	}
	if (spec->config == NULL || spec->config[0] == '\0') {
		xen_fail(x, EINVAL, "VM %s has no stored Xen config (libxl JSON)", spec->uuid);
		goto fail;
	}
	rc = xen_find_domain(x, spec->uuid, &domid, &state);
	if (rc == 0 && state != HV_DOM_DYING) {
		lib_clear(x);
		xen_fail(x, EEXIST, "VM %s already exists here as Xen domain %u (%s)", spec->uuid,
		         domid, hv_dom_state_name(state));
		goto fail;
	}
	if (rc < 0 && errno != ENOENT)
		goto fail; /* listing failed; last_error says why */
	domid = XEN_NO_DOMID;

	lib_clear(x);
	rc = libxl_domain_config_from_json(x->ctx, &cfg, spec->config);
	if (rc != 0) {
		xen_fail(x, EINVAL,
		         "VM %s: the stored Xen config is not a valid libxl JSON "
		         "domain config",
		         spec->uuid);
		goto fail;
	}
	if (xen_config_override(x, &cfg, spec, &uuid) < 0)
		goto fail;

	/* xl would balloon dom0 down here; an HA host runs with a fixed dom0_mem,
	** so memory that is not free now means the VM does not fit. */
	lib_clear(x);
	if (libxl_domain_need_memory(x->ctx, &cfg, XEN_NO_DOMID, &need_kb) == 0 &&
	    libxl_get_free_memory(x->ctx, &free_kb) == 0 && need_kb > free_kb) {
		lib_clear(x);
		xen_fail(x, ENOMEM, "VM %s needs %llu MiB but only %llu MiB are free on this host",
		         spec->uuid, (unsigned long long)(need_kb / 1024),
		         (unsigned long long)(free_kb / 1024));
		goto fail;
	}

	lib_clear(x);
	rc = libxl_domain_create_new(x->ctx, &cfg, &domid, NULL, NULL);
	if (rc != 0) {
		err = xen_errno(x, rc);
		xen_fail(x, err, "VM %s: creating the Xen domain failed (libxl error %d)",
		         spec->uuid, rc);
		goto fail_destroy;
	}
	lib_clear(x);
	rc = libxl_domain_unpause(x->ctx, domid, NULL);
	if (rc != 0) {
		xen_fail(x, xen_errno(x, rc),
		         "VM %s: unpausing Xen domain %u failed (libxl error %d)", spec->uuid,
		         domid, rc);
		goto fail_destroy;
	}
	log_info("vm %s: started as Xen domain %u", spec->uuid, domid);
	libxl_domain_config_dispose(&cfg);
	return 0;

fail_destroy:
	/* Never leave a half-built domain carrying the VM's UUID: the pool would
	** count the VM as running here. */
	err = errno;
	/* last_error already says why; destroy's own failure is only logged. */
	if (domid != XEN_NO_DOMID && libxl_domid_valid_guest(domid) &&
	    libxl_domain_destroy(x->ctx, domid, NULL) != 0)
		log_errx("vm %s: destroying the half-built Xen domain %u failed", spec->uuid,
		         domid);
	errno = err;
fail:
	err = errno;
	libxl_domain_config_dispose(&cfg);
	errno = err;
	return -1;
}

static int
xen_shutdown(struct hv *hv, const char *uuid)
{
	struct hv_xen *x = to_xen(hv);
	enum hv_dom_state state;
	uint32_t domid;
	int rc;

	if (xen_find_domain(x, uuid, &domid, &state) < 0)
		return -1;
	lib_clear(x);
	rc = libxl_domain_shutdown(x->ctx, domid, NULL);
	if (rc == ERROR_NOPARAVIRT) {
		/* An HVM guest without PV drivers: press its ACPI power button,
		** as `xl shutdown -F` does. */
		lib_clear(x);
		rc = libxl_send_trigger(x->ctx, domid, LIBXL_TRIGGER_POWER, 0, NULL);
	}
	if (rc != 0)
		return xen_fail(x, xen_errno(x, rc),
		                "VM %s: shutting down Xen domain %u failed (libxl error %d)", uuid,
		                domid, rc);
	return 0;
}

static int
xen_destroy(struct hv *hv, const char *uuid)
{
	struct hv_xen *x = to_xen(hv);
	enum hv_dom_state state;
	uint32_t domid;
	int rc;

	if (xen_find_domain(x, uuid, &domid, &state) < 0)
		return -1;
	lib_clear(x);
	rc = libxl_domain_destroy(x->ctx, domid, NULL);
	if (rc != 0)
		return xen_fail(x, xen_errno(x, rc),
		                "VM %s: destroying Xen domain %u failed (libxl error %d)", uuid,
		                domid, rc);
	return 0;
}

/* Whole seconds for the Xen watchdog: rounded down (see the file comment). */
static int
xen_wd_seconds(struct hv_xen *x, uint32_t timeout_ms, uint32_t *secs)
{
	if (timeout_ms < 1000)
		return xen_fail(
		    x, EINVAL,
		    "the Xen watchdog counts whole seconds: a %u ms timeout is too short",
		    timeout_ms);
	*secs = timeout_ms / 1000;
	return 0;
}

static int
xen_wd_arm(struct hv *hv, uint32_t timeout_ms)
{
	struct hv_xen *x = to_xen(hv);
	uint32_t secs = 0;
	int id;

	lib_clear(x);
	if (xen_wd_seconds(x, timeout_ms, &secs) < 0)
		return -1;
	/* Armed already: renew the same slot with the new timeout. */
	id = xc_watchdog(x->xch, (uint32_t)x->wd_id, secs);
	if (id < 0)
		return xen_fail(x, errno ? errno : EIO, "arming the Xen watchdog (%u s) failed: %s",
		                secs, strerror(errno));
	if (x->wd_id == 0) {
		if (id == 0)
			return xen_fail(x, EIO, "the Xen watchdog returned no slot");
		x->wd_id = id;
	}
	x->wd_timeout_s = secs;
	log_info("Xen watchdog slot %d armed (%u s)", x->wd_id, secs);
	return 0;
}

static int
xen_wd_pet(struct hv *hv)
{
	struct hv_xen *x = to_xen(hv);

	lib_clear(x);
	if (x->wd_id == 0)
		return xen_fail(x, EINVAL, "the Xen watchdog is not armed");
	if (xc_watchdog(x->xch, (uint32_t)x->wd_id, x->wd_timeout_s) < 0)
		return xen_fail(x, errno ? errno : EIO, "renewing Xen watchdog slot %d failed: %s",
		                x->wd_id, strerror(errno));
	return 0;
}

static int
xen_wd_disarm(struct hv *hv)
{
	struct hv_xen *x = to_xen(hv);

	lib_clear(x);
	if (x->wd_id == 0)
		return 0;
	if (xc_watchdog(x->xch, (uint32_t)x->wd_id, 0) < 0)
		return xen_fail(x, errno ? errno : EIO, "releasing Xen watchdog slot %d failed: %s",
		                x->wd_id, strerror(errno));
	log_info("Xen watchdog slot %d released", x->wd_id);
	x->wd_id = 0;
	x->wd_timeout_s = 0;
	return 0;
}

/* Arm a fresh 1-second Xen watchdog slot and never renew it: Xen resets the
** whole machine ("Watchdog timer fired for domain 0").  Only ever runs on a
** real Xen dom0; the tests on build machines cannot reach it (no Xen there,
** so open fails).  Any slot armed earlier stays armed, as a second line.  If
** the machine is still up after XEN_SELF_RESET_WAIT_S, returns -1 so that the
** caller can exit; the slots still fire after the process is gone. */
static int
xen_self_reset(struct hv *hv, const char *reason)
{
	struct hv_xen *x = to_xen(hv);
	struct timespec ts = {.tv_sec = XEN_SELF_RESET_WAIT_S, .tv_nsec = 0};
	int id;

	lib_clear(x);
	log_errx("self-fence (%s): arming a 1 s Xen watchdog that will not be renewed",
	         reason ? reason : "no reason given");
	id = xc_watchdog(x->xch, 0, 1);
	if (id <= 0)
		return xen_fail(x, errno ? errno : EIO,
		                "self-fence: arming the Xen watchdog failed: %s", strerror(errno));
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return xen_fail(x, EIO, "self-fence: Xen did not reset the host within %d s",
	                XEN_SELF_RESET_WAIT_S);
}

static int
xen_event_fd(struct hv *hv)
{
	(void)hv;
	return -1;
}

static const struct xen_snap *
xen_snap_find(const struct xen_snap *s, size_t n, const char *uuid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s[i].uuid, uuid) == 0)
			return &s[i];
	return NULL;
}

/* 1 if a domain in state `s` is, for HA, no longer running. */
static int
xen_state_dead(enum hv_dom_state s)
{
	return s == HV_DOM_SHUTDOWN || s == HV_DOM_CRASHED || s == HV_DOM_DYING;
}

static void
xen_queue_push(struct hv_xen *x, enum hv_event_type type, const char *uuid, const char *reason)
{
	struct hv_event *ev;

	x->queue = xreallocarray(x->queue, x->nqueue + 1, sizeof(*x->queue));
	ev = &x->queue[x->nqueue++];
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	snprintf(ev->uuid, sizeof(ev->uuid), "%s", uuid);
	snprintf(ev->reason, sizeof(ev->reason), "%s", reason);
}

/* Take a new snapshot; with `emit`, queue the events that lead from the old
** one to it.  A domain that was listed more than once (a dying leftover and
** its successor) counts by its first entry. */
static int
xen_snapshot(struct hv_xen *x, int emit)
{
	struct hv_domain *doms = NULL;
	struct xen_snap *snap;
	size_t n = 0, i;

	if (xen_list_domains(&x->hv, &doms, &n) < 0)
		return -1;
	snap = xcalloc(n > 0 ? n : 1, sizeof(*snap));
	for (i = 0; i < n; i++) {
		memcpy(snap[i].uuid, doms[i].uuid, HA_UUID_LEN);
		snap[i].state = doms[i].state;
	}
	xfree(doms);
	if (emit) {
		for (i = 0; i < x->nsnap; i++) {
			const struct xen_snap *o = &x->snap[i];

			if (!xen_state_dead(o->state) && xen_snap_find(snap, n, o->uuid) == NULL)
				xen_queue_push(x, HV_EV_DOMAIN_DIED, o->uuid, "destroyed");
		}
		for (i = 0; i < n; i++) {
			const struct xen_snap *o = xen_snap_find(x->snap, x->nsnap, snap[i].uuid);
			enum hv_dom_state s = snap[i].state;

			if (o == NULL && !xen_state_dead(s)) {
				xen_queue_push(x, HV_EV_DOMAIN_STARTED, snap[i].uuid, "appeared");
				continue;
			}
			if (o == NULL || xen_state_dead(o->state) || !xen_state_dead(s))
				continue;
			if (s == HV_DOM_CRASHED)
				xen_queue_push(x, HV_EV_DOMAIN_CRASHED, snap[i].uuid, "crashed");
			else
				xen_queue_push(x, HV_EV_DOMAIN_DIED, snap[i].uuid,
				               s == HV_DOM_SHUTDOWN ? "shut down" : "dying");
		}
	}
	xfree(x->snap);
	x->snap = snap;
	x->nsnap = n;
	return 0;
}

static int
xen_next_event(struct hv *hv, struct hv_event *ev)
{
	struct hv_xen *x = to_xen(hv);

	if (x->qhead == x->nqueue) {
		x->qhead = x->nqueue = 0;
		if (xen_snapshot(x, 1) < 0)
			return -1;
		if (x->nqueue == 0)
			return 0;
	}
	*ev = x->queue[x->qhead++];
	return 1;
}

static void
xen_close(struct hv *hv)
{
	struct hv_xen *x = to_xen(hv);

	if (x->wd_id != 0)
		log_warnx("Xen watchdog slot %d is still armed at close", x->wd_id);
	libxl_ctx_free(x->ctx); /* NULL is fine */
	if (x->xch != NULL)
		xc_interface_close(x->xch);
	xfree(x->snap);
	xfree(x->queue);
	xfree(x);
}

static const struct hv_ops xen_ops = {
    .name = "xen",
    .host_info = xen_host_info,
    .list_domains = xen_list_domains,
    .start = xen_start,
    .shutdown = xen_shutdown,
    .destroy = xen_destroy,
    .wd_arm = xen_wd_arm,
    .wd_pet = xen_wd_pet,
    .wd_disarm = xen_wd_disarm,
    .self_reset = xen_self_reset,
    .event_fd = xen_event_fd,
    .next_event = xen_next_event,
    .close = xen_close,
};

/* Open libxenctrl and libxl.  `arg` is ignored.  On a machine that is not a
** Xen dom0 (or without privilege) this fails with a message that says so, and
** leaves nothing allocated. */
struct hv *
hv_xen_open(const char *arg, char *err, size_t errlen)
{
	struct hv_xen *x;
	int e;

	(void)arg;
	x = xcalloc(1, sizeof(*x));
	x->hv.ops = &xen_ops;
	x->lg.vt.vmessage = xen_logger_vmessage;
	x->lg.vt.progress = xen_logger_progress;
	x->lg.vt.destroy = xen_logger_destroy;
	x->lg.x = x;

	errno = 0;
	x->xch = xc_interface_open(&x->lg.vt, &x->lg.vt, 0);
	if (x->xch == NULL) {
		e = errno ? errno : x->lib_errno;
		snprintf(err, errlen,
		         "cannot open the Xen control interface (xc_interface_open: %s): "
		         "is this a Xen dom0?",
		         e                 ? strerror(e)
		         : x->lib_error[0] ? x->lib_error
		                           : "unknown error");
		goto fail;
	}
	lib_clear(x);
	if (libxl_ctx_alloc(&x->ctx, LIBXL_VERSION, 0, &x->lg.vt) != 0) {
		x->ctx = NULL;
		snprintf(err, errlen,
		         "cannot open libxl (libxl_ctx_alloc: %s): is xenstored running in this "
		         "dom0?",
		         x->lib_error[0] ? x->lib_error : "unknown error");
		goto fail;
	}
	/* The baseline for events: domains that run now are not "started". */
	if (xen_snapshot(x, 0) < 0) {
		snprintf(err, errlen, "%s", x->hv.last_error);
		goto fail;
	}
	log_info("hypervisor backend xen: libxenctrl and libxl open, %zu guest domain(s)",
	         x->nsnap);
	return &x->hv;

fail:
	xen_close(&x->hv);
	return NULL;
}
