/*
** A host's part in a multi-host pool.  See cluster.h.
**
** Everything runs on the daemon's event loop.  repl (the decision logic) is
** fed from here: corosync callbacks, one timer set to repl_next_deadline(),
** and the write requests of the API and of the local core.  What repl asks
** for comes back through the two tables below: the store (the pool database)
** and the io (multicast, capture, completion, status).
**
** API writes.  cluster_api_write() gives each call a request id and asks
** repl_write(); repl calls io_capture() when it is that write's turn, which
** runs the handler inside db_capture_begin/end with the call's answer held
** (rpc_call_hold), so the answer leaves only in io_done() -- after every
** member has the change durably -- or is replaced by an error if the write
** was not confirmed.
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "hasvc/cluster.h"
#include "hasvc/ha.h"
#include "heartbeat/corosync_conf.h"
#include "heartbeat/cpg.h"
#include "lib/check.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define DEFAULT_HA_TIMEOUT_S 30
#define VIEW_HOLD_MS         200

/* An API write waiting for its turn or for its acknowledgements. */
struct pending {
	struct pending *next;
	uint64_t id;
	struct rpc_call *call;
	rpc_handler fn;
	void *fnarg;
};

struct cluster {
	struct event_base *base;
	struct db *db;
	const struct config *cfg;
	struct cluster_hooks hooks;
	struct hb_cpg *cpg;
	struct repl *repl;
	struct event *timer;
	char pool_uuid[HA_UUID_LEN];
	uint32_t nodeid; /* ours, from the database */
	struct pending *pending;
	uint64_t next_id;
	enum repl_phase last_phase;
	int conf_written; /* corosync.conf written once: later changes reload */
	int ejected;
	/* The nodes of the current totem ring, and the nodeids of the
	** configuration written last.  corosync must not be told to drop a node
	** that is still in its ring (its ring stalls): such a reload waits until
	** a ring without the node comes (the ejected host shuts its corosync
	** down as soon as it learns it was ejected). */
	uint32_t ring_nodes[REPL_MAX_MEMBERS];
	size_t nring;
	uint32_t conf_nodes[REPL_MAX_MEMBERS];
	size_t nconf;
	int reload_pending;
	/* corosync reports a group change before the ring change that caused
	** it (two IPC events sent back to back, which may reach us in two
	** dispatches); repl wants the ring first (its quorum view must be about
	** the ring of the view being elected in).  The group change waits here
	** for the ring change, the next message or quorum event, or
	** VIEW_HOLD_MS when no ring change comes (a process joined or died). */
	int view_pending;
	size_t view_n;
	uint32_t view[REPL_MAX_MEMBERS];
	struct event *ev_view;
	struct ha *ha; /* the liveness engine's shell; NULL when HA is off */
	/* corosync as last reported, for an engine started later (HA enabled
	** while running): ha_follow() replays it */
	struct event *ev_ha;
	int ha_err_logged;
	int ha_seen_off; /* this daemon has seen the pool's HA off: a start is an enable */
	int ring_known, group_known, quorum_known, down;
	uint64_t ring_seq, quorum_seq;
	uint32_t ring_nodeid;
	int quorate;
	size_t group_n;
	uint32_t group_nodes[REPL_MAX_MEMBERS], group_pids[REPL_MAX_MEMBERS];
};

/* ---- corosync's files ---- */

/* Write corosync's files, keeping the nodes written (cluster_write_files). */
static int
write_corosync_files(struct cluster *cl, char *err, size_t errlen)
{
	struct cluster_nodes nodes;
	int rc = cluster_write_files(cl->db, cl->cfg, &nodes, err, errlen);

	if (rc == 0 || rc == 1) {
		cl->nconf = nodes.n;
		memcpy(cl->conf_nodes, nodes.id, nodes.n * sizeof(nodes.id[0]));
	}
	return rc;
}

/* A node of the current ring that the configuration no longer lists, or 0. */
static uint32_t
ring_node_dropped(const struct cluster *cl)
{
	size_t i, k;

	for (i = 0; i < cl->nring; i++) {
		for (k = 0; k < cl->nconf; k++)
			if (cl->conf_nodes[k] == cl->ring_nodes[i])
				break;
		if (k == cl->nconf)
			return cl->ring_nodes[i];
	}
	return 0;
}

static void
reload_corosync(struct cluster *cl)
{
	char err[512];
	uint32_t still = ring_node_dropped(cl);

	if (still != 0) {
		if (!cl->reload_pending)
			log_notice("host %s: corosync reloads once node %u has left its ring",
				   cl->cfg->host_uuid, still);
		cl->reload_pending = 1;
		return;
	}
	cl->reload_pending = 0;
	log_notice("host %s: the pool's hosts changed; corosync reloads %s", cl->cfg->host_uuid,
		   cl->cfg->corosync_conf);
	if (hb_cfg_reload(err, sizeof(err)) < 0)
		log_warnx("host %s: corosync reload failed: %s", cl->cfg->host_uuid, err);
}

int
cluster_write_files(struct db *db, const struct config *cfg, struct cluster_nodes *out,
		    char *err, size_t errlen)
{
	struct db_pool pool;
	struct db_host *hosts = NULL;
	struct cc_node *nodes = NULL;
	struct cc_params p;
	uint8_t key[DB_CLUSTER_KEY_LEN];
	char *text = NULL;
	size_t n = 0, i, k = 0;
	long timeout;
	int rc = -1, changed, member = 0;

	db_pool_init(&pool);
	if (db_pool_get(db, &pool) != 0) {
		snprintf(err, errlen, "the pool database has no pool: %s", db_errmsg(db));
		goto out;
	}
	if (db_pool_cluster_key(&pool, key) != 0) {
		snprintf(err, errlen, "pool %s has no cluster key: it is not a clustered pool",
			 pool.uuid);
		goto out;
	}
	if (db_host_list(db, &hosts, &n) < 0) {
		snprintf(err, errlen, "listing hosts: %s", db_errmsg(db));
		goto out;
	}
	nodes = xcalloc(n > 0 ? n : 1, sizeof(*nodes));
	for (i = 0; i < n; i++) {
		if (hosts[i].cluster_nodeid == 0)
			continue;
		if (strcmp(hosts[i].uuid, cfg->host_uuid) == 0)
			member = 1;
		if (out != NULL && k < REPL_MAX_MEMBERS)
			out->id[k] = hosts[i].cluster_nodeid;
		nodes[k].nodeid = hosts[i].cluster_nodeid;
		snprintf(nodes[k].name, sizeof(nodes[k].name), "%s", hosts[i].uuid);
		snprintf(nodes[k].addrs[0], sizeof(nodes[k].addrs[0]), "%s", hosts[i].address);
		nodes[k].naddrs = 1;
		if (hosts[i].address2[0] != '\0') {
			snprintf(nodes[k].addrs[1], sizeof(nodes[k].addrs[1]), "%s",
				 hosts[i].address2);
			nodes[k].naddrs = 2;
		}
		k++;
	}
	if (out != NULL)
		out->n = k < REPL_MAX_MEMBERS ? k : REPL_MAX_MEMBERS;
	if (!member) {
		rc = 2; /* a configuration without this host is not ours to write */
		goto out;
	}
	timeout = (long)cluster_ha_timeout_s(&pool);
	memset(&p, 0, sizeof(p));
	p.cluster_name = "hasvc";
	p.token_ms = cc_token_ms((uint32_t)timeout);
	p.keyfile = cfg->corosync_authkey;
	p.logfile = cfg->corosync_log;
	p.state_dir = cfg->corosync_state_dir;
	p.nodes = nodes;
	p.nnodes = k;
	text = cc_render(&p);
	if (text == NULL) {
		snprintf(err, errlen, "cannot describe the pool to corosync (%zu hosts with a nodeid)",
			 k);
		goto out;
	}
	if (cc_write_file(cfg->corosync_authkey, key, sizeof(key), 0600, err, errlen) < 0)
		goto out;
	changed = cc_write_file(cfg->corosync_conf, text, strlen(text), 0644, err, errlen);
	if (changed < 0)
		goto out;
	rc = changed;
out:
	explicit_bzero(key, sizeof(key));
	xfree(text);
	xfree(nodes);
	db_host_list_free(hosts, n);
	db_pool_clear(&pool);
	return rc;
}

/* After a change that may touch the hosts: rewrite, and reload corosync if
** the configuration is different now.  A host whose own record is gone has
** been ejected: it tells the daemon and writes nothing more. */
static void
refresh_corosync(struct cluster *cl)
{
	char err[512];
	int rc = write_corosync_files(cl, err, sizeof(err));

	if (rc == 2) {
		if (!cl->ejected) {
			cl->ejected = 1;
			log_warnx("host %s: this host is no longer in the pool's database: ejected; "
				  "its corosync leaves the pool",
				  cl->cfg->host_uuid);
			if (hb_cfg_shutdown(err, sizeof(err)) < 0)
				log_warnx("host %s: %s", cl->cfg->host_uuid, err);
			if (cl->hooks.ejected)
				cl->hooks.ejected(cl->hooks.arg);
		}
		return;
	}
	if (rc < 0) {
		log_warnx("host %s: corosync configuration not updated: %s", cl->cfg->host_uuid,
			  err);
		return;
	}
	repl_set_hosts(cl->repl, (uint32_t)cl->nconf);
	if ((rc == 1 || cl->reload_pending) && hb_cpg_connected(cl->cpg))
		reload_corosync(cl);
}

/* ---- the store: the pool database as repl sees it ---- */

static int
st_position(void *arg, uint64_t *term, uint64_t *seq)
{
	struct cluster *cl = arg;

	return db_repl_get(cl->db, term, seq);
}

static void
hash_piece(void *arg, const void *p, size_t n)
{
	EVP_DigestUpdate(arg, p, n);
}

static int
st_checksum(void *arg, uint8_t out[REPL_CHECKSUM_LEN])
{
	struct cluster *cl = arg;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned len = 0;
	int rc = -1;

	if (md == NULL)
		return -1;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    db_dump(cl->db, hash_piece, md) == 0 && EVP_DigestFinal_ex(md, out, &len) == 1 &&
	    len == REPL_CHECKSUM_LEN)
		rc = 0;
	EVP_MD_CTX_free(md);
	return rc;
}

static int
st_apply(void *arg, uint64_t term, uint64_t seq, const void *cs, size_t len)
{
	struct cluster *cl = arg;

	if (db_apply_change(cl->db, term, seq, cs, len) < 0) {
		log_warnx("host %s: change %llu.%llu does not apply: %s", cl->cfg->host_uuid,
			  (unsigned long long)term, (unsigned long long)seq, db_errmsg(cl->db));
		return -1;
	}
	refresh_corosync(cl);
	return 0;
}

static int
st_propose(void *arg, const void *cs, size_t len, void **out, size_t *outlen)
{
	struct cluster *cl = arg;

	return db_apply_proposal(cl->db, cs, len, out, outlen);
}

static int
st_snapshot(void *arg, void **img, size_t *len)
{
	struct cluster *cl = arg;

	return db_snapshot(cl->db, img, len);
}

static int
st_restore(void *arg, const void *img, size_t len)
{
	struct cluster *cl = arg;

	if (db_restore(cl->db, img, len) < 0) {
		log_warnx("host %s: the master's snapshot was refused: %s", cl->cfg->host_uuid,
			  db_errmsg(cl->db));
		return -1;
	}
	refresh_corosync(cl);
	return 0;
}

/* ---- the io ---- */

static int
io_send(void *arg, const void *msg, size_t len)
{
	struct cluster *cl = arg;

	return hb_cpg_send(cl->cpg, msg, len);
}

static struct pending *
pending_find(struct cluster *cl, uint64_t id, struct pending ***prevp)
{
	struct pending **pp, *p;

	for (pp = &cl->pending; (p = *pp) != NULL; pp = &p->next)
		if (p->id == id) {
			if (prevp)
				*prevp = pp;
			return p;
		}
	return NULL;
}

/* The announcement of a new master: pool.master = this host. */
static int
announce(void *arg, struct db *db)
{
	struct cluster *cl = arg;
	struct db_pool pool;
	int rc;

	db_pool_init(&pool);
	if (db_pool_get(db, &pool) != 0) {
		db_pool_clear(&pool);
		return -1;
	}
	memcpy(pool.master, cl->cfg->host_uuid, HA_UUID_LEN);
	rc = db_pool_put(db, &pool);
	db_pool_clear(&pool);
	return rc;
}

static int
io_capture(void *arg, uint64_t req_id, void **cs, size_t *len)
{
	struct cluster *cl = arg;
	struct pending *p = NULL;

	*cs = NULL;
	*len = 0;
	if (req_id != 0 && (p = pending_find(cl, req_id, NULL)) == NULL)
		return -1; /* NEVER: repl only captures what it was given */
	if (db_capture_begin(cl->db) < 0) {
		log_warnx("host %s: cannot start capturing a write: %s", cl->cfg->host_uuid,
			  db_errmsg(cl->db));
		return -1;
	}
	if (p == NULL) {
		if (announce(cl, cl->db) < 0) {
			db_capture_abort(cl->db);
			return -1;
		}
	} else {
		/* The handler answers into the held call (or starts async work
		** that comes back through cluster_api_write again). */
		p->fn(p->fnarg, p->call);
	}
	return db_capture_end(cl->db, cs, len);
}

static void
io_done(void *arg, uint64_t req_id, int rc)
{
	struct cluster *cl = arg;
	struct pending **pp, *p = pending_find(cl, req_id, &pp);
	char addr[DB_ADDR_LEN];

	if (p == NULL)
		return;
	*pp = p->next;
	switch (rc) {
	case REPL_OK:
		rpc_call_release(p->call);
		break;
	case REPL_ENOTMASTER:
		if (cluster_master_address(cl, addr, sizeof(addr)) != NULL)
			rpc_call_release_fail(p->call, "HOST_IS_SLAVE", addr, NULL);
		else
			rpc_call_release_fail(p->call, "HOST_STILL_BOOTING", NULL);
		break;
	case REPL_ELOST:
		rpc_call_release_fail(p->call, "INTERNAL_ERROR",
				      "the pool master changed before every host confirmed this "
				      "change; it may or may not have been made: check, then retry",
				      NULL);
		break;
	default:
		rpc_call_release_fail(p->call, "INTERNAL_ERROR",
				      "the change could not be recorded in the pool database", NULL);
		break;
	}
	xfree(p);
}

static void
io_status(void *arg, const struct repl_status *st)
{
	struct cluster *cl = arg;
	enum repl_phase was = cl->last_phase;

	cl->last_phase = st->phase;
	if (st->phase == REPL_PHASE_READY && was != REPL_PHASE_READY && cl->hooks.resynced)
		cl->hooks.resynced(cl->hooks.arg, 0);
	if (cl->hooks.status)
		cl->hooks.status(cl->hooks.arg, st);
}

static void
io_restored(void *arg)
{
	struct cluster *cl = arg;

	if (cl->hooks.resynced)
		cl->hooks.resynced(cl->hooks.arg, 1);
}

/* ---- the timer ---- */

static void
rearm(struct cluster *cl)
{
	uint64_t next = repl_next_deadline(cl->repl), now = clock_mono_ms();
	struct timeval tv;

	if (next == UINT64_MAX) {
		event_del(cl->timer);
		return;
	}
	next = next > now ? next - now : 0;
	tv.tv_sec = (time_t)(next / 1000);
	tv.tv_usec = (suseconds_t)(next % 1000) * 1000;
	event_add(cl->timer, &tv);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *cl = arg;

	repl_tick(cl->repl, clock_mono_ms());
	rearm(cl);
}

/* ---- HA on and off ---- */

static int ha_send(void *arg, const void *msg, size_t len);
static int ha_write(void *arg, int master_only, int (*fn)(void *fnarg, struct db *db),
		    void *fnarg);


/* The liveness engine's decisions (inside corosync's callbacks): a two-host
** pool's survivor alone is a majority of the database while the other host
** is certainly dead (repl_peer_dead, docs/cluster.md "Two-host pools");
** then the daemon's hooks. */
static void
on_ha_liveset(void *arg, const char (*uuids)[HA_UUID_LEN], size_t n)
{
	struct cluster *cl = arg;
	size_t i;

	for (i = 0; i < n && cl->nconf == 2; i++)
		if (strcmp(uuids[i], cl->cfg->host_uuid) != 0)
			repl_peer_dead(cl->repl, clock_mono_ms(), 0);
	rearm(cl);
	if (cl->hooks.liveset != NULL)
		cl->hooks.liveset(cl->hooks.arg, uuids, n);
}

static void
on_ha_host_dead(void *arg, const char *host)
{
	struct cluster *cl = arg;
	struct ha_status st;

	/* Only with a statefile: in a quorum-only pool two_node makes both
	** sides of a split quorate, and votequorum is all the engines have. */
	ha_get_status(cl->ha, &st);
	if (cl->nconf == 2 && st.statefile && strcmp(host, cl->cfg->host_uuid) != 0) {
		repl_peer_dead(cl->repl, clock_mono_ms(), 1);
		rearm(cl);
	}
	if (cl->hooks.host_dead != NULL)
		cl->hooks.host_dead(cl->hooks.arg, host);
}

/* Every second: the pool's ha_enabled, as replicated, decides whether this
** host runs the liveness engine (pool.enable_ha / pool.disable_ha reach every
** host through the database).  An engine started late gets corosync's last
** reports (ring, group, quorum) at once.  Every host sees a change within
** about a second of the others, far inside S + T_decide: a host that has
** stopped its engine (it no longer answers PINGs) does not stall one still
** running long enough to make it fence. */
static void
ha_follow(struct cluster *cl)
{
	struct db_pool pool;
	char err[256] = "";
	const char *m;
	long long until_s = 0;
	uint64_t until = 0;
	int on;

	db_pool_init(&pool);
	if (db_pool_get(cl->db, &pool) < 0) {
		db_pool_clear(&pool);
		return;
	}
	on = pool.ha_enabled;
	/* The maintenance window, wall-clock seconds in the pool's
	** other_config: my monotonic clock's view of its end (at most an hour
	** ahead, however far the wall clock is off). */
	m = db_map_get(&pool.other_config, HA_MAINTENANCE_KEY);
	if (m != NULL && sscanf(m, "%lld", &until_s) == 1 && until_s > (long long)clock_wall_s()) {
		long long left = until_s - (long long)clock_wall_s();

		if (left > HA_MAINTENANCE_MAX_S)
			left = HA_MAINTENANCE_MAX_S;
		until = clock_mono_ms() + (uint64_t)left * 1000;
	}
	db_pool_clear(&pool);
	if (cl->ha != NULL)
		ha_maintenance(cl->ha, until);
	if (!on && cl->ha != NULL) {
		ha_disable(cl->ha);
		cl->ha = NULL;
		cl->ha_err_logged = 0;
		return;
	}
	if (!on && cluster_serving(cl))
		cl->ha_seen_off = 1; /* the pool's (in step with the master), not a stale copy's */
	if (!on || cl->ha != NULL)
		return;
	cl->ha = ha_start(cl->base, cl->db, cl->cfg, ha_send, ha_write, cl, !cl->ha_seen_off, err,
			  sizeof(err));
	if (cl->ha == NULL) {
		if (err[0] != '\0' && !cl->ha_err_logged)
			log_errx("host %s: HA is enabled but liveness cannot run: %s",
				 cl->cfg->host_uuid, err);
		cl->ha_err_logged = err[0] != '\0';
		return;
	}
	log_notice("host %s: HA is enabled on the pool: liveness starts", cl->cfg->host_uuid);
	{
		struct ha_observer obs = {cl, on_ha_liveset, on_ha_host_dead};

		ha_set_observer(cl->ha, &obs);
	}
	ha_maintenance(cl->ha, until);
	if (cl->down) {
		ha_cpg_down(cl->ha);
		return;
	}
	if (cl->group_known)
		ha_group(cl->ha, cl->group_nodes, cl->group_pids, cl->group_n);
	if (cl->ring_known)
		ha_ring(cl->ha, cl->ring_seq, cl->ring_nodeid, cl->ring_nodes, cl->nring);
	if (cl->quorum_known)
		ha_quorum(cl->ha, cl->quorum_seq, cl->quorate);
}

static void
on_ha_follow(evutil_socket_t fd, short what, void *arg)
{
	ha_follow(arg);
}

/* ---- corosync events ---- */

static void
flush_view(struct cluster *cl)
{
	if (!cl->view_pending)
		return;
	cl->view_pending = 0;
	evtimer_del(cl->ev_view);
	repl_view(cl->repl, clock_mono_ms(), cl->view, cl->view_n);
}

static void
on_view(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *cl = arg;

	flush_view(cl);
	rearm(cl);
}

static void
cb_deliver(void *arg, uint32_t nodeid, uint32_t pid, const void *msg, size_t len)
{
	struct cluster *cl = arg;

	flush_view(cl);
	if (!ha_deliver(cl->ha, nodeid, msg, len))
		repl_deliver(cl->repl, clock_mono_ms(), nodeid, msg, len);
	rearm(cl);
}

static void
cb_confchg(void *arg, const struct hb_member *members, size_t nmembers,
	   const struct hb_member *left, size_t nleft, const struct hb_member *joined,
	   size_t njoined)
{
	struct cluster *cl = arg;
	uint32_t pids[REPL_MAX_MEMBERS];
	size_t i, n = 0;

	flush_view(cl);
	for (i = 0; i < nmembers && n < REPL_MAX_MEMBERS; i++) {
		pids[n] = members[i].pid;
		cl->view[n++] = members[i].nodeid;
	}
	cl->view_n = n;
	ha_group(cl->ha, cl->view, pids, n);
	memcpy(cl->group_nodes, cl->view, n * sizeof(cl->view[0]));
	memcpy(cl->group_pids, pids, n * sizeof(pids[0]));
	cl->group_n = n;
	cl->group_known = 1;
	for (i = 0; i < nleft; i++)
		log_info("host %s: cluster node %u left the pool's group (%s)",
			 cl->cfg->host_uuid, left[i].nodeid, hb_reason_name(left[i].reason));
	for (i = 0; i < njoined; i++)
		log_info("host %s: cluster node %u joined the pool's group (%s)",
			 cl->cfg->host_uuid, joined[i].nodeid, hb_reason_name(joined[i].reason));
	cl->view_pending = 1;
	{
		struct timeval tv = {0, VIEW_HOLD_MS * 1000};

		evtimer_add(cl->ev_view, &tv);
	}
}

static void
cb_ring(void *arg, uint64_t ring_seq, uint32_t ring_nodeid, const uint32_t *nodes, size_t nnodes)
{
	struct cluster *cl = arg;

	log_info("host %s: corosync ring %llu with %zu nodes", cl->cfg->host_uuid,
		 (unsigned long long)ring_seq, nnodes);
	cl->nring = nnodes < REPL_MAX_MEMBERS ? nnodes : REPL_MAX_MEMBERS;
	memcpy(cl->ring_nodes, nodes, cl->nring * sizeof(nodes[0]));
	if (cl->reload_pending)
		reload_corosync(cl);
	repl_ring(cl->repl, clock_mono_ms(), ring_seq);
	ha_ring(cl->ha, ring_seq, ring_nodeid, nodes, nnodes);
	cl->ring_known = 1;
	cl->down = 0;
	cl->ring_seq = ring_seq;
	cl->ring_nodeid = ring_nodeid;
	flush_view(cl);
	rearm(cl);
}

static void
cb_quorum(void *arg, const struct hb_quorum *q)
{
	struct cluster *cl = arg;

	log_info("host %s: ring %llu is %s (%u of %u votes, %u needed)", cl->cfg->host_uuid,
		 (unsigned long long)q->ring_seq, q->quorate ? "quorate" : "NOT quorate",
		 q->total_votes, q->expected_votes, q->quorum);
	flush_view(cl);
	repl_quorum(cl->repl, clock_mono_ms(), q->ring_seq, q->quorate);
	ha_quorum(cl->ha, q->ring_seq, q->quorate);
	cl->quorum_known = 1;
	cl->quorum_seq = q->ring_seq;
	cl->quorate = q->quorate;
	rearm(cl);
}

static void
cb_up(void *arg, uint32_t local_nodeid)
{
	struct cluster *cl = arg;

	if (local_nodeid != cl->nodeid)
		log_warnx("host %s: corosync says we are node %u, the pool database says %u",
			  cl->cfg->host_uuid, local_nodeid, cl->nodeid);
	log_notice("host %s: connected to corosync as node %u", cl->cfg->host_uuid,
		   local_nodeid);
	repl_up(cl->repl, clock_mono_ms(), local_nodeid);
	rearm(cl);
}

static void
cb_down(void *arg, const char *why)
{
	struct cluster *cl = arg;

	log_warnx("host %s: lost corosync (%s); cut off from the pool until it is back",
		  cl->cfg->host_uuid, why);
	cl->view_pending = 0;
	repl_down(cl->repl, clock_mono_ms());
	ha_cpg_down(cl->ha);
	cl->down = 1;
	rearm(cl);
}

static int
ha_send(void *arg, const void *msg, size_t len)
{
	struct cluster *cl = arg;

	return hb_cpg_send(cl->cpg, msg, len);
}

/* The liveness alerts' database writes (ha.h): replicated like the core's. */
static int
ha_write(void *arg, int master_only, int (*fn)(void *fnarg, struct db *db), void *fnarg)
{
	struct cluster *cl = arg;

	return cluster_local_write(cl, master_only, fn, fnarg);
}

/* ---- public ---- */

unsigned
cluster_ha_timeout_s(const struct db_pool *pool)
{
	const char *t = db_map_get(&pool->ha_configuration, "timeout");
	long timeout;
	char *end;

	if (t == NULL)
		return DEFAULT_HA_TIMEOUT_S;
	errno = 0;
	timeout = strtol(t, &end, 10);
	if (errno != 0 || *end != '\0' || timeout <= 0 || timeout > 3600)
		return DEFAULT_HA_TIMEOUT_S;
	return (unsigned)timeout;
}

void
cluster_get_ha_status(const struct cluster *cl, struct ha_status *out)
{
	ha_get_status(cl != NULL ? cl->ha : NULL, out);
}

struct cluster *
cluster_start(struct event_base *base, struct db *db, const struct config *cfg,
	      const struct cluster_hooks *hooks, char *err, size_t errlen)
{
	struct cluster *cl = xcalloc(1, sizeof(*cl));
	struct db_pool pool;
	struct db_host host;
	struct repl_config rc;
	struct repl_store store = {
	    .arg = cl,
	    .position = st_position,
	    .checksum = st_checksum,
	    .apply = st_apply,
	    .propose = st_propose,
	    .snapshot = st_snapshot,
	    .restore = st_restore,
	};
	struct repl_io io = {
	    .arg = cl,
	    .send = io_send,
	    .capture = io_capture,
	    .done = io_done,
	    .status = io_status,
	    .restored = io_restored,
	};
	struct hb_cpg_callbacks cb = {
	    .arg = cl,
	    .deliver = cb_deliver,
	    .confchg = cb_confchg,
	    .ring = cb_ring,
	    .quorum = cb_quorum,
	    .up = cb_up,
	    .down = cb_down,
	};
	struct hb_cpg_config cc;
	char group[128];
	int found;

	cl->base = base;
	cl->db = db;
	cl->cfg = cfg;
	if (hooks)
		cl->hooks = *hooks;
	cl->next_id = 1;

	db_pool_init(&pool);
	found = db_pool_get(db, &pool);
	memcpy(cl->pool_uuid, pool.uuid, HA_UUID_LEN);
	db_pool_clear(&pool);
	if (found != 0) {
		snprintf(err, errlen, "the pool database has no pool");
		goto fail;
	}
	db_host_init(&host);
	found = db_host_get(db, cfg->host_uuid, &host);
	cl->nodeid = host.cluster_nodeid;
	db_host_clear(&host);
	if (found != 0 || cl->nodeid == 0) {
		snprintf(err, errlen,
			 "host %s is not a cluster member of pool %s (%s); seed the database "
			 "with hasvc-db or join the pool",
			 cfg->host_uuid, cl->pool_uuid, found != 0 ? "no such host" : "no nodeid");
		goto fail;
	}
	if (write_corosync_files(cl, err, errlen) < 0) /* membership checked above */
		goto fail;
	cl->conf_written = 1;

	repl_config_defaults(&rc);
	memcpy(rc.pool_uuid, cl->pool_uuid, HA_UUID_LEN);
	memcpy(rc.host_uuid, cfg->host_uuid, HA_UUID_LEN);
	rc.hosts = (uint32_t)cl->nconf;
	cl->repl = repl_new(&rc, &store, &io);
	if (cl->repl == NULL) {
		snprintf(err, errlen, "cannot start replication (pool %s)", cl->pool_uuid);
		goto fail;
	}
	cl->timer = evtimer_new(base, on_timer, cl);
	cl->ev_view = evtimer_new(base, on_view, cl);
	ha_follow(cl); /* HA on, and a maintenance window, at once */
	cl->ev_ha = event_new(base, -1, EV_PERSIST, on_ha_follow, cl);
	{
		struct timeval tv = {1, 0};

		event_add(cl->ev_ha, &tv);
	}
	snprintf(group, sizeof(group), "hasvc:%s", cl->pool_uuid);
	memset(&cc, 0, sizeof(cc));
	cc.group = group;
	cc.retry_ms = 1000;
	cc.resend_ms = 10;
	cl->cpg = hb_cpg_new(base, &cc, &cb);
	log_notice("host %s: member of pool %s as cluster node %u; waiting for corosync",
		   cfg->host_uuid, cl->pool_uuid, cl->nodeid);
	return cl;
fail:
	repl_free(cl->repl);
	xfree(cl);
	return NULL;
}

void
cluster_stop(struct cluster *cl)
{
	struct pending *p;

	if (cl == NULL)
		return;
	if (cl->ev_ha != NULL)
		event_free(cl->ev_ha);
	hb_cpg_free(cl->cpg);
	ha_stop(cl->ha);
	repl_free(cl->repl); /* fails what is pending through io_done */
	while ((p = cl->pending) != NULL) {
		cl->pending = p->next;
		rpc_call_release_fail(p->call, "HOST_STILL_BOOTING", NULL);
		xfree(p);
	}
	if (cl->timer)
		event_free(cl->timer);
	if (cl->ev_view)
		event_free(cl->ev_view);
	xfree(cl);
}

int
cluster_is_member(struct db *db, const struct config *cfg)
{
	struct db_pool pool;
	struct db_host host;
	int member;

	db_pool_init(&pool);
	db_host_init(&host);
	member = db_pool_get(db, &pool) == 0 && pool.cluster_key[0] != '\0' &&
		 db_host_get(db, cfg->host_uuid, &host) == 0 && host.cluster_nodeid != 0;
	db_pool_clear(&pool);
	db_host_clear(&host);
	return member;
}

void
cluster_get_status(const struct cluster *cl, struct repl_status *out)
{
	repl_get_status(cl->repl, out);
}

int
cluster_serving(const struct cluster *cl)
{
	struct repl_status st;

	repl_get_status(cl->repl, &st);
	return st.phase == REPL_PHASE_READY;
}

const char *
cluster_master_address(struct cluster *cl, char *buf, size_t len)
{
	struct repl_status st;
	struct db_host host;
	const char *addr = NULL;

	repl_get_status(cl->repl, &st);
	if (st.is_master || st.master_uuid[0] == '\0')
		return NULL;
	db_host_init(&host);
	if (db_host_get(cl->db, st.master_uuid, &host) == 0 && host.address[0] != '\0') {
		snprintf(buf, len, "%s", host.address);
		addr = buf;
	}
	db_host_clear(&host);
	return addr;
}

int
cluster_checksum_hex(struct cluster *cl, char out[2 * REPL_CHECKSUM_LEN + 1])
{
	uint8_t sum[REPL_CHECKSUM_LEN];
	size_t i;

	if (st_checksum(cl, sum) < 0)
		return -1;
	for (i = 0; i < REPL_CHECKSUM_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", sum[i]);
	return 0;
}

void
cluster_api_write(struct cluster *cl, struct rpc_call *c, rpc_handler fn, void *fnarg)
{
	struct pending *p = xcalloc(1, sizeof(*p));
	char addr[DB_ADDR_LEN];

	p->id = cl->next_id++;
	p->call = c;
	p->fn = fn;
	p->fnarg = fnarg;
	rpc_call_hold(c);
	p->next = cl->pending;
	cl->pending = p;
	if (repl_write(cl->repl, clock_mono_ms(), p->id) < 0) {
		cl->pending = p->next;
		xfree(p);
		/* The handler never ran: un-hold the call and answer for it. */
		rpc_call_release(c);
		if (cluster_master_address(cl, addr, sizeof(addr)) != NULL)
			rpc_fail(c, "HOST_IS_SLAVE", addr, NULL);
		else
			rpc_fail(c, "HOST_STILL_BOOTING", NULL);
		return;
	}
	rearm(cl);
}

int
cluster_local_write(struct cluster *cl, int master_only, int (*fn)(void *fnarg, struct db *db),
		    void *fnarg)
{
	struct repl_status st;
	void *cs = NULL;
	size_t len = 0;
	int rc;

	repl_get_status(cl->repl, &st);
	if (master_only && !st.writable)
		return 1;
	if (st.phase != REPL_PHASE_READY || st.master_nodeid == 0)
		return -1;
	if (db_capture_begin(cl->db) < 0)
		return -1;
	if (fn(fnarg, cl->db) < 0) {
		db_capture_abort(cl->db);
		return -1;
	}
	if (db_capture_end(cl->db, &cs, &len) < 0)
		return -1;
	if (cs == NULL)
		return 1;
	rc = repl_propose(cl->repl, clock_mono_ms(), cs, len);
	xfree(cs);
	rearm(cl);
	return rc < 0 ? -1 : 0;
}
