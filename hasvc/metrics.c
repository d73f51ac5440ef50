/*
** GET /metrics (contract in metrics.h; the families in docs/metrics.md).
**
** The formatter writes families in a fixed order, each as HELP, TYPE, then
** its samples, every family name once: the exposition format's rules, which
** tests/unit/test_metrics.c checks on every output.  Histograms are
** cumulative with le="+Inf" equal to _count.
**
** Authentication (METRICS_AUTH_BASIC): "Authorization: Basic" with an API
** user's name and password, any role.  The PBKDF2 check is deliberately slow,
** so it runs on passwd's worker (passwd_verify_async) while the request
** waits; an unknown user is checked against a dummy hash so that it takes as
** long.  A success is remembered for METRICS_CACHE_MS under a SHA-256 of
** (user, password, stored hash) -- a scraper every 15 s costs one PBKDF2 a
** minute, and a password change (a new stored hash) misses the cache.  At
** most METRICS_MAX_CHECKS checks run at once; beyond that a request is
** answered 503, so a flood of guesses costs bounded CPU and never the loop.
*/
#include "hasvc/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "api/passwd.h"
#include "fencing/record.h"
#include "hasvc/api_planner.h"
#include "hasvc/cluster.h"
#include "hasvc/config.h"
#include "hasvc/db.h"
#include "hasvc/ha.h"
#include "lib/check.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define METRICS_CACHE 8
#define METRICS_CACHE_MS 60000
#define METRICS_MAX_CHECKS 4
#define METRICS_CTYPE "text/plain; version=0.0.4; charset=utf-8"

/* ---------------------------------------------------------------------- */
/* The formatter (pure)                                                    */

struct out {
	char *buf;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3)))
out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		ha_assert(n >= 0);
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		o->cap = 2 * o->cap + (size_t)n + 1;
		o->buf = xrealloc(o->buf, o->cap);
	}
}

/* A label value, escaped as the format wants (\\, \", \n). */
static void
out_label(struct out *o, const char *name, const char *v)
{
	out_printf(o, "%s=\"", name);
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			out_printf(o, "\\\\");
		else if (*v == '"')
			out_printf(o, "\\\"");
		else if (*v == '\n')
			out_printf(o, "\\n");
		else
			out_printf(o, "%c", *v);
	}
	out_printf(o, "\"");
}

static void
family(struct out *o, const char *name, const char *type, const char *help)
{
	out_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
gauge_u(struct out *o, const char *name, const char *help, uint64_t v)
{
	family(o, name, "gauge", help);
	out_printf(o, "%s %llu\n", name, (unsigned long long)v);
}

static void
gauge_i(struct out *o, const char *name, const char *help, int64_t v)
{
	family(o, name, "gauge", help);
	out_printf(o, "%s %lld\n", name, (long long)v);
}

static void
gauge_s(struct out *o, const char *name, const char *help, double seconds)
{
	family(o, name, "gauge", help);
	out_printf(o, "%s %.3f\n", name, seconds);
}

static void
counter(struct out *o, const char *name, const char *help, uint64_t v)
{
	family(o, name, "counter", help);
	out_printf(o, "%s %llu\n", name, (unsigned long long)v);
}

static void
histogram(struct out *o, const char *name, const char *help, const struct sfio_hist *h)
{
	uint64_t cum = 0;
	unsigned i;

	family(o, name, "histogram", help);
	for (i = 0; i < SFIO_HIST_BOUNDS; i++) {
		cum += h->bucket[i];
		out_printf(o, "%s_bucket{le=\"%g\"} %llu\n", name,
		           (double)sfio_hist_bound_us[i] / 1e6, (unsigned long long)cum);
	}
	/* +Inf is the count itself: a reader's check that nothing was lost */
	out_printf(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
	out_printf(o, "%s_sum %.6f\n", name, (double)h->sum_us / 1e6);
	out_printf(o, "%s_count %llu\n", name, (unsigned long long)h->count);
}

static void
format_liveness(struct out *o, const struct metrics_figures *f)
{
	int s;

	family(o, "hasvc_liveness_state", "gauge",
	       "The liveness engine's state: 1 for the current one, 0 for the others.");
	for (s = LV_INIT; s <= LV_OUT; s++) {
		out_printf(o, "hasvc_liveness_state{");
		out_label(o, "state", lv_state_name(s));
		out_printf(o, "} %d\n", f->state != NULL && strcmp(f->state, lv_state_name(s)) == 0);
	}
	gauge_u(o, "hasvc_liveset_size", "Hosts in this host's agreed liveset, itself included.",
	        f->liveset_size);
	gauge_u(o, "hasvc_ha_master", "1 if this host is the HA master.", (uint64_t)f->is_master);
	if (f->master_uuid[0] != '\0') {
		family(o, "hasvc_ha_master_info", "gauge",
		       "The HA master this host knows of (always 1; the uuid is the label).");
		out_printf(o, "hasvc_ha_master_info{");
		out_label(o, "master_uuid", f->master_uuid);
		out_printf(o, "} 1\n");
	}
	gauge_u(o, "hasvc_ring_fresh", "1 while a stable PING of mine keeps my ring fresh.",
	        (uint64_t)f->fresh);
	gauge_u(o, "hasvc_statefile_enabled", "1 if the pool has a statefile (else quorum only).",
	        (uint64_t)f->statefile);
	gauge_u(o, "hasvc_statefile_access", "1 while this host has continuous statefile access.",
	        (uint64_t)f->access);
	gauge_u(o, "hasvc_watchdog_armed", "1 while this host's watchdog is armed.",
	        (uint64_t)f->watchdog_armed);
	counter(o, "hasvc_liveness_rounds_total", "Rounds (decisions after a ring change) begun.",
	        f->rounds);
	counter(o, "hasvc_liveness_rounds_survived_total", "Rounds this host survived.",
	        f->survived);
	counter(o, "hasvc_liveness_stalls_total", "Times my ring stopped being fresh.", f->stalls);
	counter(o, "hasvc_statefile_io_failures_total",
	        "Statefile requests that failed or missed their deadline.", f->sf_io_failed);
	counter(o, "hasvc_statefile_slots_invalid_total",
	        "Peer slots read that failed their checks or went back.", f->slots_invalid);
	counter(o, "hasvc_liveness_messages_ignored_total",
	        "Engine events that made no sense in its state.", f->msgs_ignored);
	counter(o, "hasvc_liveness_messages_dropped_total",
	        "Malformed liveness messages or unknown senders.", f->dropped);
	counter(o, "hasvc_alerts_sent_total", "HA alerts written to the pool database.",
	        f->alerts_sent);
	counter(o, "hasvc_alerts_dropped_total", "HA alerts given up (outbox full).",
	        f->alerts_dropped);
}

static void
format_timers(struct out *o, const struct metrics_figures *f)
{
	static const char *const tnames[] = {"statefile_stale", "decide", "fresh", "storage_gap",
	                                     "watchdog"};
	const double tv[] = {f->timeout_stale_s, f->timeout_decide_s, f->timeout_fresh_s,
	                     f->timeout_gap_s, f->timeout_watchdog_s};
	unsigned i;

	family(o, "hasvc_timeout_seconds", "gauge",
	       "The liveness timers derived from ha_configuration:timeout.");
	for (i = 0; i < ARRAY_SIZE(tnames); i++) {
		out_printf(o, "hasvc_timeout_seconds{");
		out_label(o, "timeout", tnames[i]);
		out_printf(o, "} %.3f\n", tv[i]);
	}
	if (f->npeers > 0) {
		family(o, "hasvc_peer_live", "gauge", "1 if the peer is in this host's liveset.");
		for (i = 0; i < f->npeers; i++) {
			out_printf(o, "hasvc_peer_live{");
			out_label(o, "peer", f->peer[i].uuid);
			out_printf(o, "} %d\n", f->peer[i].live);
		}
		family(o, "hasvc_peer_heartbeat_age_seconds", "gauge",
		       "Since the peer was last heard from: path=network, its last liveness "
		       "message delivered here; path=statefile, the last read that saw its "
		       "slot advance.");
		for (i = 0; i < f->npeers; i++) {
			out_printf(o, "hasvc_peer_heartbeat_age_seconds{");
			out_label(o, "peer", f->peer[i].uuid);
			out_printf(o, ",path=\"network\"} %.3f\n", f->peer[i].net_age_s);
			if (!f->statefile)
				continue;
			out_printf(o, "hasvc_peer_heartbeat_age_seconds{");
			out_label(o, "peer", f->peer[i].uuid);
			out_printf(o, ",path=\"statefile\"} %.3f\n", f->peer[i].sf_age_s);
		}
		if (f->statefile) {
			family(o, "hasvc_peer_statefile_stale_margin_seconds", "gauge",
			       "Until the peer's slot turns stale if it does not advance "
			       "(negative: stale).");
			for (i = 0; i < f->npeers; i++) {
				out_printf(o, "hasvc_peer_statefile_stale_margin_seconds{");
				out_label(o, "peer", f->peer[i].uuid);
				out_printf(o, "} %.3f\n", f->peer[i].stale_margin_s);
			}
		}
	}
	gauge_s(o, "hasvc_ring_fresh_margin_seconds",
	        "Until my ring stops being fresh unless a PING becomes stable (negative: not fresh).",
	        f->fresh_margin_s);
	if (f->in_round)
		gauge_s(o, "hasvc_round_decide_margin_seconds",
		        "Until the open round's deadline: undecided then, this host fences.",
		        f->decide_margin_s);
	if (f->has_access_margin)
		gauge_s(o, "hasvc_statefile_access_margin_seconds",
		        "Until continuous statefile access is lost without a new success.",
		        f->access_margin_s);
	if (f->has_lease)
		gauge_s(o, "hasvc_watchdog_lease_margin_seconds",
		        "Until the engine's lease ends: it would stop petting without further input.",
		        f->lease_margin_s);
}

char *
metrics_format(const struct metrics_figures *f, size_t *len)
{
	struct out o = {xmalloc(4096), 0, 4096};

	o.buf[0] = '\0';
	family(&o, "hasvc_info", "gauge", "This host (always 1; the uuid is the label).");
	out_printf(&o, "hasvc_info{");
	out_label(&o, "host_uuid", f->host_uuid);
	out_printf(&o, "} 1\n");
	gauge_u(&o, "hasvc_ha_running", "1 if the liveness engine runs on this host.",
	        (uint64_t)f->ha_running);
	if (f->ha_running)
		format_liveness(&o, f);
	if (f->ha_running && f->has_timers)
		format_timers(&o, f);
	histogram(&o, "hasvc_statefile_read_duration_seconds",
	          "Statefile reads (the whole file), time spent in the I/O.", &f->sf_read);
	histogram(&o, "hasvc_statefile_write_duration_seconds",
	          "Statefile slot writes, time spent in the I/O.", &f->sf_write);

	gauge_u(&o, "hasvc_pool_fence_records", "Fence records in the pool database, all hosts.",
	        f->fence_records_pool);
	gauge_u(&o, "hasvc_host_fence_records", "Fence records of this host in the pool database.",
	        f->fence_records_host);
	gauge_u(&o, "hasvc_host_fence_records_local",
	        "Fence records on this host's disk (<data-dir>/fence).", f->fence_records_local);
	family(&o, "hasvc_pool_messages", "gauge",
	       "HA alerts (XAPI messages) in the pool database, by name; HA_HOST_FAILED counts "
	       "failovers.");
	out_printf(&o, "hasvc_pool_messages{name=\"HA_HOST_FAILED\"} %llu\n",
	           (unsigned long long)f->msg_host_failed);
	out_printf(&o, "hasvc_pool_messages{name=\"HA_HOST_WAS_FENCED\"} %llu\n",
	           (unsigned long long)f->msg_host_was_fenced);
	out_printf(&o, "hasvc_pool_messages{name=\"HA_STATEFILE_LOST\"} %llu\n",
	           (unsigned long long)f->msg_statefile_lost);

	gauge_u(&o, "hasvc_pool_ha_enabled", "1 if HA is enabled on the pool.",
	        (uint64_t)f->pool_ha_enabled);
	gauge_i(&o, "hasvc_pool_ha_plan_exists_for",
	        "Host failures the current plan tolerates (pool.ha_plan_exists_for).",
	        f->plan_exists_for);
	gauge_i(&o, "hasvc_pool_ha_host_failures_to_tolerate",
	        "Host failures the admin asked to tolerate (pool.ha_host_failures_to_tolerate).",
	        f->failures_to_tolerate);
	gauge_u(&o, "hasvc_pool_ha_overcommitted", "1 if the pool is overcommitted.",
	        (uint64_t)f->overcommitted);
	counter(&o, "hasvc_planner_recomputes_total",
	        "Times the planner recomputed every single-failure plan (the model changed).",
	        f->planner_recomputes);
	gauge_s(&o, "hasvc_planner_last_recompute_seconds", "Wall time of the last recompute.",
	        f->planner_recompute_s);

	gauge_u(&o, "hasvc_vms", "VMs of the pool (control domains excluded).", f->vms);
	gauge_u(&o, "hasvc_vms_running", "VMs running.", f->vms_running);
	gauge_u(&o, "hasvc_vms_protected", "VMs with ha_restart_priority \"restart\".",
	        f->vms_protected);
	gauge_u(&o, "hasvc_vms_protected_running", "Protected VMs running.",
	        f->vms_protected_running);

	gauge_u(&o, "hasvc_cluster_clustered", "1 if this host runs in a clustered pool.",
	        (uint64_t)f->clustered);
	if (f->clustered) {
		gauge_u(&o, "hasvc_db_master", "1 if this host is the pool database's master.",
		        (uint64_t)f->db_master);
		gauge_u(&o, "hasvc_cluster_quorate", "1 if this host's ring is quorate.",
		        (uint64_t)f->quorate);
		gauge_u(&o, "hasvc_cluster_members", "Hosts in this host's replication view.",
		        f->cluster_members);
		counter(&o, "hasvc_cluster_elections_total", "Database master elections seen.",
		        f->elections);
	}

	gauge_u(&o, "hasvc_api_connections", "Open API (HTTPS) connections.", f->api_connections);
	gauge_u(&o, "hasvc_api_sessions", "API sessions logged in.", f->api_sessions);
	counter(&o, "hasvc_metrics_scrapes_total", "/metrics requests answered.", f->scrapes);
	counter(&o, "hasvc_metrics_auth_refused_total", "/metrics requests refused (401).",
	        f->auth_refused);
	if (len != NULL)
		*len = o.len;
	return o.buf;
}

/* b - a in seconds, signed (the times are on one clock). */
static double
diff_s(uint64_t b, uint64_t a)
{
	return (double)(int64_t)(b - a) / 1000.0;
}

static double
age_s(uint64_t now, uint64_t then)
{
	return then >= now ? 0.0 : diff_s(now, then);
}

void
metrics_fill_timers(struct metrics_figures *f, const struct lv_timers *t,
                    const char (*uuid)[HA_UUID_LEN], uint64_t live, uint64_t now)
{
	const struct lv_timing *tm = &t->timing;
	uint64_t last;
	unsigned h;

	f->has_timers = 1;
	f->npeers = 0;
	for (h = 0; h < t->n && h < LS_MAX_HOSTS; h++) {
		struct metrics_peer *p;

		if (h == t->self)
			continue;
		p = &f->peer[f->npeers++];
		memcpy(p->uuid, uuid[h], HA_UUID_LEN);
		p->uuid[HA_UUID_LEN - 1] = '\0';
		p->live = (live & LS_BIT(h)) != 0;
		p->net_age_s = age_s(now, t->last_from[h]);
		p->sf_age_s = age_s(now, t->last_seen[h]);
		p->stale_margin_s = tm->stale_ms / 1000.0 - p->sf_age_s;
	}
	f->timeout_stale_s = tm->stale_ms / 1000.0;
	f->timeout_decide_s = tm->decide_ms / 1000.0;
	f->timeout_fresh_s = tm->fresh_ms / 1000.0;
	f->timeout_gap_s = tm->gap_ms / 1000.0;
	f->timeout_watchdog_s = tm->wd_ms / 1000.0;
	f->fresh_margin_s = diff_s(t->fresh_until, now);
	f->in_round = t->state == LV_ROUND && t->decide_at != 0;
	f->decide_margin_s = f->in_round ? diff_s(t->decide_at, now) : 0;
	f->has_access_margin = t->streak;
	last = t->last_write_ok < t->last_read_ok ? t->last_write_ok : t->last_read_ok;
	f->access_margin_s = t->streak ? tm->gap_ms / 1000.0 - age_s(now, last) : 0;
	f->has_lease = t->lease != 0;
	f->lease_margin_s = t->lease != 0 ? diff_s(t->lease, now) : 0;
}

/* ---------------------------------------------------------------------- */
/* The I/O shell                                                           */

/* Compared against any password given for an unknown user (rpc.c's dummy:
** the hash of a random string nobody knows), so that "no such user" takes
** as long as "wrong password". */
static const char metrics_dummy_hash[] = "$pbkdf2-sha256$200000$a2dXVTbdc+J2Zm667EhkWA==$"
                                         "1SFTGZ75af9f1lBLh7bjrrq3H8Pr80Swo6XO87Aj8l4=";

struct metrics_check {
	struct metrics_check *prev, *next;
	struct metrics *m;     /* NULL once metrics_free ran */
	struct httpd_req *req; /* NULL once the client went away */
	uint8_t key[32];       /* the cache key, if it succeeds */
	int known;             /* the user exists */
};

struct metrics {
	struct event_base *base;
	struct db *db;
	const struct config *cfg;
	struct cluster *cluster;
	struct api_planner *planner;
	struct rpc *rpc;
	enum metrics_auth auth;
	struct metrics_hooks hooks;
	struct metrics_check *checks;
	unsigned nchecks;
	struct {
		uint8_t key[32];
		uint64_t until; /* 0: empty */
	} cache[METRICS_CACHE];
	uint64_t scrapes, refused;
};

struct metrics *
metrics_new(struct event_base *base, struct db *db, const struct config *cfg,
            struct cluster *cluster, struct api_planner *planner, struct rpc *rpc,
            enum metrics_auth auth, const struct metrics_hooks *hooks)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	m->base = base;
	m->db = db;
	m->cfg = cfg;
	m->cluster = cluster;
	m->planner = planner;
	m->rpc = rpc;
	m->auth = auth;
	if (hooks != NULL)
		m->hooks = *hooks;
	return m;
}

void
metrics_free(struct metrics *m)
{
	struct metrics_check *c;

	if (m == NULL)
		return;
	/* The checks cannot be cancelled: they finish later and free
	** themselves, answering nobody. */
	for (c = m->checks; c != NULL; c = c->next)
		c->m = NULL;
	explicit_bzero(m->cache, sizeof(m->cache));
	xfree(m);
}

static void
count_vms(struct metrics *m, struct metrics_figures *f)
{
	struct db_vm *vms = NULL;
	size_t n = 0, i;

	if (db_vm_list(m->db, &vms, &n) < 0)
		return;
	for (i = 0; i < n; i++) {
		int running = vms[i].power_state == DB_POWER_RUNNING;
		int prot = vms[i].ha_restart_priority == DB_PRIO_RESTART;

		if (vms[i].is_control_domain)
			continue;
		f->vms++;
		f->vms_running += running;
		f->vms_protected += prot;
		f->vms_protected_running += running && prot;
	}
	db_vm_list_free(vms, n);
}

static void
count_records(struct metrics *m, struct metrics_figures *f)
{
	struct db_message *msgs = NULL;
	struct db_fence_record *recs = NULL;
	struct fence_record_entry *e = NULL;
	char dir[CONFIG_PATH_LEN + 8], err[256];
	size_t n = 0, i;

	if (db_message_list(m->db, 0, &msgs, &n) == 0) {
		for (i = 0; i < n; i++) {
			f->msg_host_failed += strcmp(msgs[i].name, "HA_HOST_FAILED") == 0;
			f->msg_host_was_fenced += strcmp(msgs[i].name, "HA_HOST_WAS_FENCED") == 0;
			f->msg_statefile_lost += strcmp(msgs[i].name, "HA_STATEFILE_LOST") == 0;
		}
		xfree(msgs);
	}
	n = 0;
	if (db_fence_list(m->db, NULL, &recs, &n) == 0) {
		f->fence_records_pool = n;
		for (i = 0; i < n; i++)
			f->fence_records_host += strcmp(recs[i].host_uuid, m->cfg->host_uuid) == 0;
		xfree(recs);
	}
	n = 0;
	snprintf(dir, sizeof(dir), "%s/fence", m->cfg->data_dir);
	if (fence_record_list(dir, &e, &n, err, sizeof(err)) == 0) {
		for (i = 0; i < n; i++)
			f->fence_records_local += e[i].ok;
		xfree(e);
	}
}

void
metrics_gather(struct metrics *m, struct metrics_figures *f)
{
	struct ha_status hs;
	struct db_pool pool;

	memset(f, 0, sizeof(*f));
	snprintf(f->host_uuid, sizeof(f->host_uuid), "%s", m->cfg->host_uuid);
	cluster_get_ha_status(m->cluster, &hs);
	f->ha_running = hs.running;
	f->state = lv_state_name(hs.state);
	f->liveset_size = (unsigned)hs.nlive;
	memcpy(f->master_uuid, hs.master, HA_UUID_LEN);
	f->is_master = hs.master[0] != '\0' && strcmp(hs.master, m->cfg->host_uuid) == 0;
	f->fresh = hs.fresh;
	f->access = hs.access;
	f->statefile = hs.statefile;
	f->rounds = hs.stats.rounds;
	f->survived = hs.stats.survived;
	f->sf_io_failed = hs.stats.io_failed;
	f->stalls = hs.stats.stalls;
	f->msgs_ignored = hs.stats.msgs_ignored;
	f->slots_invalid = hs.stats.slots_invalid;
	f->dropped = hs.dropped;
	f->alerts_sent = hs.alerts_sent;
	f->alerts_dropped = hs.alerts_dropped;
	f->watchdog_armed = hs.fence.armed;
	if (hs.running)
		metrics_fill_timers(f, &hs.timers, (const char(*)[HA_UUID_LEN])hs.hosts, hs.live_set,
		                    hs.now);

	sfio_get_latency_totals(&f->sf_read, &f->sf_write);
	count_records(m, f);
	if (db_pool_get(m->db, &pool) == 0) {
		f->pool_ha_enabled = pool.ha_enabled;
		f->plan_exists_for = pool.ha_plan_exists_for;
		f->failures_to_tolerate = pool.ha_host_failures_to_tolerate;
		f->overcommitted = pool.ha_overcommitted;
		db_pool_clear(&pool);
	}
	if (m->planner != NULL) {
		struct api_planner_stats ps;

		api_planner_stats(m->planner, &ps);
		f->planner_recomputes = ps.recomputes;
		f->planner_recompute_s = (double)ps.recompute_us / 1e6;
	}
	count_vms(m, f);
	if (m->cluster != NULL) {
		struct repl_status st;

		cluster_get_status(m->cluster, &st);
		f->clustered = 1;
		f->db_master = st.is_master;
		f->quorate = st.quorate;
		f->cluster_members = (unsigned)st.nmembers;
		f->elections = st.elections;
	}
	if (m->hooks.connections != NULL)
		f->api_connections = m->hooks.connections(m->hooks.arg);
	if (m->rpc != NULL)
		f->api_sessions = rpc_session_count(m->rpc);
	f->scrapes = m->scrapes;
	f->auth_refused = m->refused;
}

static void
text(struct httpd_req *req, int status, const char *msg)
{
	httpd_reply(req, status, "text/plain; charset=utf-8", msg, strlen(msg));
}

static void
answer(struct metrics *m, struct httpd_req *req)
{
	struct metrics_figures *f = xmalloc(sizeof(*f));
	size_t len;
	char *body;

	m->scrapes++;
	metrics_gather(m, f);
	body = metrics_format(f, &len);
	httpd_reply(req, 200, METRICS_CTYPE, body, len);
	xfree(body);
	xfree(f);
}

static void
refuse(struct metrics *m, struct httpd_req *req)
{
	m->refused++;
	text(req, 401, "authentication required: HTTP Basic with an API user\n");
}

static int
cache_hit(struct metrics *m, const uint8_t key[32], uint64_t now)
{
	unsigned i;

	for (i = 0; i < METRICS_CACHE; i++)
		if (m->cache[i].until > now && CRYPTO_memcmp(m->cache[i].key, key, 32) == 0)
			return 1;
	return 0;
}

static void
cache_put(struct metrics *m, const uint8_t key[32], uint64_t now)
{
	unsigned i, oldest = 0;

	for (i = 0; i < METRICS_CACHE; i++)
		if (m->cache[i].until < m->cache[oldest].until)
			oldest = i;
	memcpy(m->cache[oldest].key, key, 32);
	m->cache[oldest].until = now + METRICS_CACHE_MS;
}

static void
check_unlink(struct metrics *m, struct metrics_check *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		m->checks = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	m->nchecks--;
}

static void
check_abort(void *arg)
{
	struct metrics_check *c = arg;

	c->req = NULL;
}

static void
check_done(void *arg, int result)
{
	struct metrics_check *c = arg;
	struct metrics *m = c->m;

	if (m != NULL) {
		check_unlink(m, c);
		if (c->req != NULL) {
			if (result == 1 && c->known) {
				cache_put(m, c->key, clock_mono_ms());
				answer(m, c->req);
			} else {
				refuse(m, c->req);
			}
		}
	}
	explicit_bzero(c->key, sizeof(c->key));
	xfree(c);
}

/* "Basic <base64 of user:password>" into user[] and pw[]; 0 or -1. */
static int
parse_basic(const char *hdr, char *user, size_t ulen, char *pw, size_t pwlen)
{
	unsigned char dec[768];
	size_t n, pad = 0;
	const char *colon;
	int k;

	if (hdr == NULL || strncasecmp(hdr, "Basic ", 6) != 0)
		return -1;
	hdr += 6;
	while (*hdr == ' ')
		hdr++;
	n = strcspn(hdr, " \t\r\n");
	if (n == 0 || n % 4 != 0 || n / 4 * 3 >= sizeof(dec) || hdr[n] != '\0')
		return -1;
	k = EVP_DecodeBlock(dec, (const unsigned char *)hdr, (int)n);
	if (k < 0)
		return -1;
	if (hdr[n - 1] == '=')
		pad++;
	if (n >= 2 && hdr[n - 2] == '=')
		pad++;
	if ((size_t)k < pad)
		return -1;
	k -= (int)pad;
	dec[k] = '\0';
	if (memchr(dec, '\0', (size_t)k) != NULL)
		return -1;
	colon = strchr((const char *)dec, ':');
	if (colon == NULL || (size_t)(colon - (const char *)dec) >= ulen ||
	    strlen(colon + 1) >= pwlen) {
		explicit_bzero(dec, sizeof(dec));
		return -1;
	}
	memcpy(user, dec, (size_t)(colon - (const char *)dec));
	user[colon - (const char *)dec] = '\0';
	snprintf(pw, pwlen, "%s", colon + 1);
	explicit_bzero(dec, sizeof(dec));
	return 0;
}

/* SHA-256 of user, password and the stored hash, NUL-separated. */
static void
cache_key(const char *user, const char *pw, const char *hash, uint8_t key[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int klen = 32;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, user, strlen(user) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, pw, strlen(pw) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, hash, strlen(hash) + 1) != 1 ||
	    EVP_DigestFinal_ex(ctx, key, &klen) != 1)
		fatalx("metrics: SHA-256 failed");
	EVP_MD_CTX_free(ctx);
}

static void
authenticate(struct metrics *m, struct httpd_req *req)
{
	char user[256], pw[256], hash[PASSWD_HASH_LEN + 96];
	enum rpc_role role = RPC_ROLE_NONE;
	struct metrics_check *c;
	int rc = 1;

	if (parse_basic(httpd_req_header(req, "Authorization"), user, sizeof(user), pw,
	                sizeof(pw)) < 0) {
		refuse(m, req);
		return;
	}
	hash[0] = '\0';
	if (m->hooks.user_lookup != NULL)
		rc = m->hooks.user_lookup(m->hooks.arg, user, hash, sizeof(hash), &role);
	if (rc < 0) {
		explicit_bzero(pw, sizeof(pw));
		text(req, 503, "the user table cannot be read now\n");
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->known = rc == 0 && role >= RPC_ROLE_READ_ONLY;
	if (c->known) {
		cache_key(user, pw, hash, c->key);
		if (cache_hit(m, c->key, clock_mono_ms())) {
			explicit_bzero(pw, sizeof(pw));
			xfree(c);
			answer(m, req);
			return;
		}
	}
	if (m->nchecks >= METRICS_MAX_CHECKS) {
		explicit_bzero(pw, sizeof(pw));
		xfree(c);
		text(req, 503, "too many password checks running; retry\n");
		return;
	}
	c->m = m;
	c->req = req;
	c->next = m->checks;
	if (m->checks != NULL)
		m->checks->prev = c;
	m->checks = c;
	m->nchecks++;
	if (passwd_verify_async(m->base, pw, c->known ? hash : metrics_dummy_hash, check_done, c) <
	    0) {
		check_unlink(m, c);
		xfree(c);
		text(req, 503, "cannot check the password now\n");
	} else {
		httpd_req_on_abort(req, check_abort, c);
	}
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(hash, sizeof(hash));
}

int
metrics_handle(struct metrics *m, struct httpd_req *req)
{
	const char *method;

	if (m == NULL || strcmp(httpd_req_path(req), "/metrics") != 0)
		return 0;
	method = httpd_req_method(req);
	if (strcmp(method, "GET") != 0) {
		text(req, 405, "only GET /metrics\n");
		return 1;
	}
	if (m->auth == METRICS_AUTH_NONE)
		answer(m, req);
	else
		authenticate(m, req);
	return 1;
}
