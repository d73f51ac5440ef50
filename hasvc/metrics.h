/*
** GET /metrics on the API port: this host's view of the pool in the
** Prometheus text exposition format (version 0.0.4); docs/metrics.md lists
** every family and where its figure comes from.
**
** Two halves.  metrics_format() is pure: a struct metrics_figures in, text
** out, no clock, no database, no I/O -- what the unit tests check line by
** line against the format's rules.  The rest (metrics_new/metrics_handle) is
** the I/O shell on the daemon's loop: it answers the request, checks the
** caller's credentials (HTTP Basic against the API's users, the password
** check on passwd's worker thread so the loop never stalls), gathers the
** figures from the liveness engine, the statefile I/O, the pool database,
** the planner and the API, and formats them.
**
** Every figure is what *this* host sees: scrape every host of the pool.
*/
#ifndef HASVC_HASVC_METRICS_H
#define HASVC_HASVC_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "api/httpd.h"
#include "api/rpc.h"
#include "heartbeat/liveness.h"
#include "heartbeat/sf_io.h"
#include "lib/ids.h"

/* One other host of the pool's cluster, as the liveness engine sees it. */
struct metrics_peer {
	char uuid[HA_UUID_LEN];
	int live;               /* in my liveset */
	double net_age_s;       /* since my last delivery of a message from it */
	double sf_age_s;        /* since my last read saw its slot advance */
	double stale_margin_s;  /* T_stale - sf_age_s: its slot turns stale then (< 0: stale) */
};

struct metrics_figures {
	char host_uuid[HA_UUID_LEN];

	/* the liveness engine (ha_status); ha_running 0: HA off here, the
	** engine's families are left out */
	int ha_running;
	const char *state; /* lv_state_name(), static */
	unsigned liveset_size;
	int is_master;               /* this host is the HA master */
	char master_uuid[HA_UUID_LEN]; /* "" none known */
	int fresh, access, statefile;
	uint64_t rounds, survived, sf_io_failed, stalls, msgs_ignored, slots_invalid;
	uint64_t dropped;          /* malformed liveness messages */
	uint64_t alerts_sent, alerts_dropped;
	int watchdog_armed;

	/* per peer and the timeout margins (from lv_timers); has_timers 0:
	** not known (left out) */
	int has_timers;
	unsigned npeers;
	struct metrics_peer peer[LS_MAX_HOSTS];
	double timeout_stale_s, timeout_decide_s, timeout_fresh_s, timeout_gap_s,
	    timeout_watchdog_s;
	double fresh_margin_s;  /* until my ring stops being fresh */
	int in_round;
	double decide_margin_s; /* in_round: until the round's deadline (fence if undecided) */
	int has_access_margin;
	double access_margin_s; /* until continuous storage access is lost */
	int has_lease;
	double lease_margin_s;  /* until the watchdog lease runs out */

	/* the statefile I/O, process-wide (sfio_get_latency_totals) */
	struct sfio_hist sf_read, sf_write;

	/* fencing */
	uint64_t fence_records_pool;  /* the pool database's fence records, all hosts */
	uint64_t fence_records_host;  /* ... of this host */
	uint64_t fence_records_local; /* <data-dir>/fence records on this host's disk */

	/* alerts in the pool database, by name (failovers: HA_HOST_FAILED) */
	uint64_t msg_host_failed, msg_host_was_fenced, msg_statefile_lost;

	/* the pool and the planner */
	int pool_ha_enabled;
	int64_t plan_exists_for;      /* pool.ha_plan_exists_for */
	int64_t failures_to_tolerate; /* pool.ha_host_failures_to_tolerate */
	int overcommitted;
	uint64_t planner_recomputes;
	double planner_recompute_s;

	/* VMs (control domains excluded) */
	unsigned vms, vms_running, vms_protected, vms_protected_running;

	/* the pool database's replication (clustered pools) */
	int clustered, db_master, quorate;
	unsigned cluster_members;
	uint64_t elections;

	/* the API */
	unsigned api_connections, api_sessions;
	uint64_t scrapes;      /* /metrics answered 200 */
	uint64_t auth_refused; /* /metrics answered 401 */
};

/* The text of `f` (NUL-terminated, xmalloc'd; *len its length without the
** NUL).  Pure: the same figures give the same bytes. */
char *metrics_format(const struct metrics_figures *f, size_t *len);

/* Fill the per-peer figures and margins of *f from the engine's timers at
** `now` (my clock, ms); uuid[i] names host index i.  Pure. */
void metrics_fill_timers(struct metrics_figures *f, const struct lv_timers *t,
                         const char (*uuid)[HA_UUID_LEN], uint64_t live, uint64_t now);

/* ---- the I/O shell ---- */

enum metrics_auth {
	METRICS_AUTH_BASIC = 0, /* the default: an API user, any role */
	METRICS_AUTH_NONE = 1,
};

struct db;
struct config;
struct cluster;
struct api_planner;
struct event_base;
struct metrics;

struct metrics_hooks {
	void *arg;
	/* rpc_hooks.user_lookup's contract: 0 found, 1 unknown, -1 error */
	int (*user_lookup)(void *arg, const char *user, char *hash, size_t hashlen,
	                   enum rpc_role *role);
	unsigned (*connections)(void *arg); /* open API connections */
};

/* Everything must outlive the struct metrics; cluster and planner may be
** NULL.  _free(NULL) is a no-op; password checks still running when it is
** freed are answered nothing (their clients are dropped with httpd). */
struct metrics *metrics_new(struct event_base *base, struct db *db, const struct config *cfg,
                            struct cluster *cluster, struct api_planner *planner,
                            struct rpc *rpc, enum metrics_auth auth,
                            const struct metrics_hooks *hooks);
void metrics_free(struct metrics *m);

/* The httpd handler's first look at a request: 1 if it is /metrics (it is
** answered, now or after the password check), 0 if it is someone else's. */
int metrics_handle(struct metrics *m, struct httpd_req *req);

/* Gather the figures now (the handler's work, for tests). */
void metrics_gather(struct metrics *m, struct metrics_figures *f);

#endif
