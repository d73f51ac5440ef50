/*
** The API side of hasvcd: the HTTPS listener, the XAPI call mechanics, the
** object and event handlers, and what only the daemon knows -- which host is
** master (for HOST_IS_SLAVE), where the users live, the first root user, and
** the certificate files.  Everything runs on the daemon's event loop.
*/
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "api/httpd.h"
#include "api/passwd.h"
#include "api/rpc.h"
#include "api/tlscert.h"
#include "fencing/record.h"
#include "hasvc/api_events.h"
#include "hasvc/api_host.h"
#include "hasvc/api_objects.h"
#include "hasvc/api_planner.h"
#include "hasvc/api_pool.h"
#include "hasvc/api_server.h"
#include "hasvc/api_snmp.h"
#include "hasvc/cluster.h"
#include "hasvc/ha.h"
#include "hasvc/metrics.h"
#include "hasvc/notify.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

struct api_server {
	struct db *db;
	const struct config *cfg;
	struct api_ctx actx;
	struct rpc *rpc;
	struct api_events *events;
	struct api_planner *planner;
	struct api_host *host; /* host maintenance, VM power (hasvc/api_host.h) */
	struct api_pool *pool;
	struct notify *notify; /* alerts to SNMP receivers and hooks (hasvc/notify.h) */
	struct api_snmp *snmp;
	struct api_server_hooks hooks;
	struct cluster *cluster; /* NULL: a standalone one-host pool */
	int root_pending;        /* clustered: user root still to be created by the master */
	struct httpd *httpd;
	struct metrics *metrics; /* GET /metrics (hasvc/metrics.h) */
	char master_addr[DB_ADDR_LEN];
};

/* NULL when this host is the pool master, else the master's address. */
static const char *
master_address(void *arg)
{
	struct api_server *d = arg;
	struct db_pool pool;
	struct db_host host;
	const char *addr = NULL;

	if (d->cluster != NULL)
		return cluster_master_address(d->cluster, d->master_addr, sizeof(d->master_addr));
	if (db_pool_get(d->db, &pool) != 0)
		return NULL;
	if (pool.master[0] != '\0' && strcmp(pool.master, d->cfg->host_uuid) != 0 &&
	    db_host_get(d->db, pool.master, &host) == 0) {
		snprintf(d->master_addr, sizeof(d->master_addr), "%s", host.address);
		addr = d->master_addr;
		db_host_clear(&host);
	}
	db_pool_clear(&pool);
	return addr;
}

/* The notifier sends from the writable master only; its markers are
** replicated writes of the master (hasvc/notify.h). */
static int
notify_is_sender(void *arg)
{
	struct api_server *d = arg;
	struct repl_status st;

	cluster_get_status(d->cluster, &st);
	return st.writable;
}

static int
notify_write(void *arg, int (*fn)(void *fnarg, struct db *db), void *fnarg)
{
	struct api_server *d = arg;

	return cluster_local_write(d->cluster, 1, fn, fnarg);
}

/* The pool database has one change hook (db.h); this fans each committed
** change out to the API events and to the planner's debounce, in that
** order.  Neither does more than record the change. */
static void
db_changed(void *arg, enum db_table table, const char *uuid, enum db_change op)
{
	struct api_server *d = arg;

	api_events_db_hook(d->events, table, uuid, op);
	api_planner_db_hook(d->planner, table, uuid, op);
	notify_db_hook(d->notify, table, uuid, op);
	if (d->hooks.db_changed != NULL)
		d->hooks.db_changed(d->hooks.arg, table, uuid, op);
}

static int
user_lookup(void *arg, const char *user, char *hash, size_t hashlen, enum rpc_role *role)
{
	struct api_server *d = arg;

	return api_user_lookup(&d->actx, user, hash, hashlen, role);
}

/* Read a password: the first line of `path`, or twice from the terminal. */
static int
read_root_password(const char *path, char *pw, size_t len)
{
	struct termios old, quiet;
	char again[256];
	FILE *f;
	size_t n;

	if (path[0] != '\0') {
		f = fopen(path, "re");
		if (f == NULL) {
			log_err("cannot read the root password file %s", path);
			return -1;
		}
		{
			struct stat st;

			/* Not fatal (the file is read once, then may be
			** deleted), but the admin should know. */
			if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0)
				log_warnx("the root password file %s is readable by others "
					  "(mode %03o); make it 0600 or delete it after the first "
					  "start", path, (unsigned)(st.st_mode & 0777));
		}
		if (fgets(pw, (int)len, f) == NULL)
			pw[0] = '\0';
		fclose(f);
	} else {
		if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &old) < 0)
			return 1;
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		fprintf(stderr, "hasvcd: no API user yet; choose a password for root: ");
		if (fgets(pw, (int)len, stdin) == NULL)
			pw[0] = '\0';
		fprintf(stderr, "\nhasvcd: again: ");
		if (fgets(again, sizeof(again), stdin) == NULL)
			again[0] = '\0';
		fprintf(stderr, "\n");
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		if (strcmp(pw, again) != 0) {
			log_errx("the two passwords differ");
			return -1;
		}
	}
	n = strcspn(pw, "\r\n");
	pw[n] = '\0';
	if (n == 0) {
		log_errx("the root password is empty");
		return -1;
	}
	return 0;
}

static int
store_root(void *arg, struct db *db)
{
	const struct db_user *u = arg;

	return db_user_put(db, u);
}

/* At a start with no user "root", create it (pool-admin) from the password
** file or the terminal.  The password itself is never logged.  In a
** clustered pool the user table is the pool's: only the master adds root,
** through replication, once it can write (api_server_cluster_status). */
static void
ensure_root_user(struct api_server *d)
{
	struct db_user u;
	char pw[256];
	int rc;

	if (db_user_get(d->db, "root", &u) == 0)
		return;
	if (d->cluster != NULL && !d->root_pending) {
		d->root_pending = 1; /* later, when this host is the writable master */
		return;
	}
	rc = read_root_password(d->cfg->api_root_password_file, pw, sizeof(pw));
	if (rc > 0) {
		log_warnx("the API has no user root and no root password file is configured: "
			  "every login will be refused");
		return;
	}
	if (rc < 0)
		fatalx("cannot create the API user root (see above)");
	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "root");
	snprintf(u.role, sizeof(u.role), "pool-admin");
	if (passwd_hash(pw, PASSWD_MIN_ITERATIONS, u.password_hash, sizeof(u.password_hash)) < 0)
		fatalx("cannot hash the root password");
	explicit_bzero(pw, sizeof(pw));
	if (d->cluster != NULL) {
		rc = cluster_local_write(d->cluster, 1, store_root, &u);
		if (rc == 0) {
			d->root_pending = 0;
			log_notice("API user root created (pool-admin), for the whole pool");
		}
		return;
	}
	if (db_user_put(d->db, &u) < 0)
		fatalx("pool database: storing user root failed: %s", db_errmsg(d->db));
	log_notice("API user root created (pool-admin)");
}

void
api_server_cluster_status(struct api_server *d, const struct repl_status *st)
{
	if (d == NULL)
		return;
	if (d->root_pending && st->writable)
		ensure_root_user(d);
}

/* rpc's write hook: in a clustered pool every write is replicated. */
static void
write_hook(void *arg, struct rpc_call *c, rpc_handler fn, void *fnarg)
{
	struct api_server *d = arg;

	cluster_api_write(d->cluster, c, fn, fnarg);
}

static int
local_write(void *arg, int master_only, int (*fn)(void *fnarg, struct db *db), void *fnarg)
{
	struct api_server *d = arg;

	return cluster_local_write(d->cluster, master_only, fn, fnarg);
}

static int
serving(void *arg)
{
	struct api_server *d = arg;

	return d->cluster == NULL || cluster_serving(d->cluster);
}

/* The liveness engine's view, for pool.get_cluster_status. */
static struct xval *
liveness_status(struct api_server *d)
{
	struct ha_status hs;
	struct xval *l = xval_new_struct(), *live = xval_new_array();
	size_t i;

	cluster_get_ha_status(d->cluster, &hs);
	xval_struct_add(l, "running", xval_new_bool(hs.running));
	xval_struct_add(l, "state", xval_new_string(hs.running ? lv_state_name(hs.state) : "off"));
	xval_struct_add(l, "ring_seq", xval_new_int((int64_t)hs.ring_seq));
	xval_struct_add(l, "prev_ring_seq", xval_new_int((int64_t)hs.prev_ring_seq));
	for (i = 0; i < hs.nlive; i++)
		xval_array_append(live, xval_new_string(hs.live[i]));
	xval_struct_add(l, "live", live);
	xval_struct_add(l, "master_uuid", xval_new_string(hs.master));
	xval_struct_add(l, "fresh", xval_new_bool(hs.fresh));
	xval_struct_add(l, "statefile", xval_new_bool(hs.statefile));
	xval_struct_add(l, "storage_access", xval_new_bool(hs.access));
	xval_struct_add(l, "alerts", xval_new_int((int64_t)hs.alerts));
	xval_struct_add(l, "last_decision", xval_new_string(hs.last));
	xval_struct_add(l, "rounds", xval_new_int((int64_t)hs.stats.rounds));
	xval_struct_add(l, "statefile_reads", xval_new_int((int64_t)hs.stats.reads));
	xval_struct_add(l, "statefile_io_failed", xval_new_int((int64_t)hs.stats.io_failed));
	xval_struct_add(l, "dropped", xval_new_int((int64_t)hs.dropped));
	xval_struct_add(l, "alerts_sent", xval_new_int((int64_t)hs.alerts_sent));
	xval_struct_add(l, "alerts_dropped", xval_new_int((int64_t)hs.alerts_dropped));
	/* the hands: the fence machine and the watchdog keeper */
	xval_struct_add(l, "fence_state",
			xval_new_string(hs.running ? fence_state_name(hs.fence.state) : "off"));
	xval_struct_add(l, "watchdog_armed", xval_new_bool(hs.fence.armed));
	xval_struct_add(l, "keeper_connected", xval_new_bool(hs.fence.keeper_connected));
	xval_struct_add(l, "keeper_armed", xval_new_bool(hs.fence.keeper_armed));
	xval_struct_add(l, "pets", xval_new_int((int64_t)hs.fence.stats.pets));
	xval_struct_add(l, "pets_skipped", xval_new_int((int64_t)hs.fence.stats.pets_skipped));
	xval_struct_add(l, "keeper_send_failures", xval_new_int((int64_t)hs.fence.send_failures));
	return l;
}

/* A host bitmap of a fence record as an array of host indexes. */
static struct xval *
index_set(uint64_t set)
{
	struct xval *a = xval_new_array();
	unsigned i;

	for (i = 0; i < 64; i++)
		if (set & ((uint64_t)1 << i))
			xval_array_append(a, xval_new_int((int64_t)i));
	return a;
}

/* host.get_ha_fence_history(session[, host]): the local fence records of the
** host called (<data-dir>/fence, fencing/record.h), newest first; a corrupt
** file is listed as refused with the reason, never trusted.  A hasvc
** extension; any host answers for itself, as pool.get_cluster_status. */
static void
h_fence_history(void *arg, struct rpc_call *c)
{
	struct api_server *d = arg;
	struct fence_record_entry *e = NULL;
	struct xval *r;
	char dir[CONFIG_PATH_LEN + 8], host[HA_UUID_LEN], err[512];
	size_t n = 0, i;

	if (rpc_call_nparams(c) > 0) {
		if (rpc_param_ref(c, 0, "host", host) < 0)
			return;
		if (strcmp(host, d->cfg->host_uuid) != 0) {
			rpc_fail(c, "INVALID_VALUE", "host",
				 "call this on the host whose fence history it is", NULL);
			return;
		}
	}
	snprintf(dir, sizeof(dir), "%s/fence", d->cfg->data_dir);
	if (fence_record_list(dir, &e, &n, err, sizeof(err)) < 0) {
		rpc_fail(c, "INTERNAL_ERROR", err, NULL);
		return;
	}
	r = xval_new_array();
	for (i = 0; i < n; i++) {
		struct xval *x = xval_new_struct();
		const struct fence_record *f = &e[i].rec;

		xval_struct_add(x, "file", xval_new_string(e[i].name));
		xval_struct_add(x, "seq", xval_new_int((int64_t)e[i].seq));
		xval_struct_add(x, "refused", xval_new_bool(!e[i].ok));
		if (!e[i].ok) {
			xval_struct_add(x, "why", xval_new_string(e[i].why));
			xval_array_append(r, x);
			continue;
		}
		xval_struct_add(x, "reason", xval_new_int((int64_t)f->reason));
		xval_struct_add(x, "reason_text", xval_new_string(f->reason_text));
		xval_struct_add(x, "detail", xval_new_string(f->detail));
		xval_struct_add(x, "time", xval_new_datetime_time((time_t)f->wall_s));
		xval_struct_add(x, "mono_ms", xval_new_int((int64_t)f->mono_ms));
		xval_struct_add(x, "host", xval_new_string(f->host));
		xval_struct_add(x, "ring_seq", xval_new_int((int64_t)f->ring_seq));
		xval_struct_add(x, "ring_node", xval_new_int((int64_t)f->ring_node));
		xval_struct_add(x, "members", index_set(f->members));
		xval_struct_add(x, "liveset", index_set(f->liveset));
		xval_struct_add(x, "views", xval_new_string(f->views));
		xval_array_append(r, x);
	}
	xfree(e);
	rpc_reply(c, r);
}

/* pool.get_cluster_status(session): the cluster as this host sees it (a
** hasvc extension; any host answers, pool member or not). */
static void
h_cluster_status(void *arg, struct rpc_call *c)
{
	struct api_server *d = arg;
	struct repl_status st;
	struct xval *r = xval_new_struct(), *members = xval_new_array();
	char sum[2 * REPL_CHECKSUM_LEN + 1] = "", addr[DB_ADDR_LEN] = "";
	size_t i;

	memset(&st, 0, sizeof(st));
	if (d->cluster != NULL) {
		cluster_get_status(d->cluster, &st);
		if (cluster_checksum_hex(d->cluster, sum) < 0)
			sum[0] = '\0';
		if (!st.is_master && cluster_master_address(d->cluster, addr, sizeof(addr)) == NULL)
			addr[0] = '\0';
		if (st.is_master && d->cfg->naddrs > 0)
			snprintf(addr, sizeof(addr), "%s", d->cfg->management_address[0]);
	}
	xval_struct_add(r, "host_uuid", xval_new_string(d->cfg->host_uuid));
	xval_struct_add(r, "clustered", xval_new_bool(d->cluster != NULL));
	xval_struct_add(r, "nodeid", xval_new_int((int64_t)st.nodeid));
	xval_struct_add(r, "connected", xval_new_bool(st.phase != REPL_PHASE_DOWN));
	{
		char phase[16] = "standalone";

		if (d->cluster != NULL)
			for (i = 0; i + 1 < sizeof(phase); i++)
				if ((phase[i] = (char)tolower((unsigned char)repl_phase_name(st.phase)[i])) == '\0')
					break;
		xval_struct_add(r, "phase", xval_new_string(phase));
	}
	xval_struct_add(r, "quorate", xval_new_bool(st.quorate));
	xval_struct_add(r, "master_uuid", xval_new_string(st.master_uuid));
	xval_struct_add(r, "master_address", xval_new_string(addr));
	xval_struct_add(r, "is_master", xval_new_bool(st.is_master));
	xval_struct_add(r, "writable", xval_new_bool(st.writable));
	xval_struct_add(r, "term", xval_new_int((int64_t)st.term));
	xval_struct_add(r, "seq", xval_new_int((int64_t)st.seq));
	xval_struct_add(r, "checksum", xval_new_string(sum));
	for (i = 0; i < st.nmembers; i++)
		xval_array_append(members, xval_new_int((int64_t)st.members[i].nodeid));
	xval_struct_add(r, "members", members);
	xval_struct_add(r, "dropped", xval_new_int((int64_t)st.dropped));
	xval_struct_add(r, "elections", xval_new_int((int64_t)st.elections));
	xval_struct_add(r, "snapshots_received", xval_new_int((int64_t)st.snapshots_received));
	xval_struct_add(r, "liveness", liveness_status(d));
	rpc_reply(c, r);
}

/* host.install_server_certificate(host, certificate, private_key,
** certificate_chain): check the new pair, replace the files atomically and
** serve new connections with it; on any problem the old pair stays. */
static void
h_install_certificate(void *arg, struct rpc_call *c)
{
	struct api_server *d = arg;
	char host[HA_UUID_LEN], err[512];
	const char *cert, *key, *chain;

	if (rpc_param_ref(c, 0, "host", host) < 0 || rpc_param_string(c, 1, &cert) < 0 ||
	    rpc_param_string(c, 2, &key) < 0 || rpc_param_string(c, 3, &chain) < 0)
		return;
	if (strcmp(host, d->cfg->host_uuid) != 0) {
		/* Until the pool forwards calls, a host installs only its own. */
		rpc_fail(c, "INVALID_VALUE", "host", "call this on the host whose certificate it is",
			 NULL);
		return;
	}
	if (tlscert_install(d->cfg->api_certificate, d->cfg->api_key, cert, key,
			    chain[0] != '\0' ? chain : NULL, err, sizeof(err)) < 0) {
		rpc_fail(c, "SERVER_CERTIFICATE_INVALID", err, NULL);
		return;
	}
	if (httpd_reload_cert(d->httpd, err, sizeof(err)) < 0) {
		log_errx("host %s: new API certificate installed but not loaded: %s",
			 d->cfg->host_uuid, err);
		rpc_fail(c, "INTERNAL_ERROR", err, NULL);
		return;
	}
	log_notice("host %s: API certificate replaced by %s", d->cfg->host_uuid,
		   rpc_call_session(c)->user);
	rpc_reply(c, xval_new_string(""));
}

/* The httpd handler: GET /metrics, else the XAPI. */
static void
http_request(void *arg, struct httpd_req *req)
{
	struct api_server *d = arg;

	if (!metrics_handle(d->metrics, req))
		rpc_handle_http(d->rpc, req);
}

static unsigned
api_connections(void *arg)
{
	struct api_server *d = arg;

	return d->httpd != NULL ? httpd_connections(d->httpd) : 0;
}

struct api_server *
api_server_start(struct event_base *base, struct db *db, const struct config *cfg,
		 struct cluster *cluster, const struct api_server_hooks *shooks)
{
	struct api_server *d = xcalloc(1, sizeof(*d));
	struct httpd_config hc;
	struct rpc_config rc;
	struct rpc_hooks hooks = {.arg = d, .user_lookup = user_lookup,
				  .master_address = master_address};
	const char *sans[CONFIG_MAX_ADDRS + 2];
	char hostname[256] = "localhost", err[512];
	size_t nsans = 0, i;

	d->db = db;
	d->cfg = cfg;
	d->cluster = cluster;
	if (shooks != NULL)
		d->hooks = *shooks;
	if (cluster != NULL) {
		hooks.write = write_hook;
		hooks.serving = serving;
	}
	if (gethostname(hostname, sizeof(hostname) - 1) < 0)
		snprintf(hostname, sizeof(hostname), "localhost");
	for (i = 0; i < cfg->naddrs; i++)
		sans[nsans++] = cfg->management_address[i];
	sans[nsans++] = hostname;
	if (tlscert_ensure(cfg->api_certificate, cfg->api_key, hostname, sans, nsans, err,
			   sizeof(err)) < 0)
		fatalx("API certificate: %s", err);
	ensure_root_user(d);

	rpc_config_defaults(&rc);
	d->rpc = rpc_new(base, &rc, &hooks);
	d->actx.db = d->db;
	d->actx.rpc = d->rpc;
	memcpy(d->actx.host_uuid, cfg->host_uuid, HA_UUID_LEN);
	d->actx.statefile = cfg->statefile;
	if (cluster != NULL) {
		d->actx.local_write = local_write;
		d->actx.call_write = write_hook;
		d->actx.write_arg = d;
	}
	api_objects_register(&d->actx);
	d->events = api_events_new(base, &d->actx);
	api_events_register(d->events);
	d->planner = api_planner_new(base, &d->actx);
	api_planner_register(d->planner);
	d->host = api_host_new(&d->actx, d->planner);
	api_host_register(d->host);
	{
		struct api_pool_hooks ph = {.arg = d->hooks.arg, .restart = d->hooks.restart};

		d->pool = api_pool_new(base, &d->actx, cfg, cluster, &ph);
		api_pool_register(d->pool);
	}
	{
		struct notify_hooks nh = {.arg = d};

		if (cluster != NULL) {
			nh.is_sender = notify_is_sender;
			nh.write = notify_write;
		}
		d->notify = notify_new(base, d->db, cfg, &nh);
		d->snmp = api_snmp_new(&d->actx, d->notify);
	}
	db_set_change_hook(d->db, db_changed, d);

	memset(&hc, 0, sizeof(hc));
	hc.address = cfg->api_address;
	hc.port = cfg->api_port;
	hc.cert_path = cfg->api_certificate;
	hc.key_path = cfg->api_key;
	httpd_config_defaults(&hc);
	{
		struct metrics_hooks mh = {.arg = d, .user_lookup = user_lookup,
					   .connections = api_connections};

		d->metrics = metrics_new(base, d->db, cfg, cluster, d->planner, d->rpc,
					 (enum metrics_auth)cfg->api_metrics_auth, &mh);
	}
	d->httpd = httpd_new(base, &hc, http_request, d, err, sizeof(err));
	if (d->httpd == NULL)
		fatalx("API on %s port %u: %s", cfg->api_address, cfg->api_port, err);
	{
		static const char *const names[] = {"host", "certificate", "private_key",
						    "certificate_chain", NULL};
		struct rpc_method st = {.name = "pool.get_cluster_status", .flags = RPC_ALWAYS,
					.role = RPC_ROLE_READ_ONLY, .fn = h_cluster_status,
					.arg = d};
		/* Per host, not a pool write: any host installs its own. */
		struct rpc_method m = {.name = "host.install_server_certificate",
				       .min_params = 4, .max_params = 4, .flags = 0,
				       .role = RPC_ROLE_POOL_ADMIN, .fn = h_install_certificate,
				       .arg = d, .param_names = names};

		static const char *const fh_names[] = {"host", NULL};
		struct rpc_method fh = {.name = "host.get_ha_fence_history", .min_params = 0,
					.max_params = 1, .flags = RPC_ALWAYS,
					.role = RPC_ROLE_READ_ONLY, .fn = h_fence_history,
					.arg = d, .param_names = fh_names};

		rpc_register(d->rpc, &m);
		rpc_register(d->rpc, &st);
		rpc_register(d->rpc, &fh);
	}
	log_notice("host %s: API listening on https://%s:%u/", cfg->host_uuid, cfg->api_address,
		   httpd_port(d->httpd));
	return d;
}

void
api_server_stop(struct api_server *d)
{
	if (d == NULL)
		return;
	httpd_free(d->httpd);
	metrics_free(d->metrics);
	db_set_change_hook(d->db, NULL, NULL);
	api_pool_free(d->pool);
	api_snmp_free(d->snmp);
	notify_free(d->notify);
	api_host_free(d->host);
	api_planner_free(d->planner);
	api_events_free(d->events);
	rpc_free(d->rpc);
	xfree(d);
}

