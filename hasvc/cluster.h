/*
** A host's part in a multi-host pool (docs/cluster.md): the I/O shell around
** the replication core (repl.c).  It owns the corosync adapter
** (heartbeat/cpg.c), feeds its events and the clock to repl, carries out
** what repl asks (multicast, capture a write, apply a change, snapshot), and
** keeps corosync's configuration and authkey equal to what the pool database
** says (heartbeat/corosync_conf.c), asking corosync to reload when the
** pool's hosts change.
**
** Writes.  Once a host is clustered, its copy of the pool database changes
** only by what repl applies.  API writes run through cluster_api_write (the
** rpc write hook): on the master, the handler runs under db_capture when its
** turn comes, its answer is held, and released once every member has the
** change durably.  Other writes of this host (the core's VM power states and
** metrics, the planner's status) run through cluster_local_write: captured
** here and sent to the master as a proposal.
*/
#ifndef HASVC_HASVC_CLUSTER_H
#define HASVC_HASVC_CLUSTER_H

#include "api/rpc.h"
#include "hasvc/config.h"
#include "hasvc/db.h"
#include "hasvc/repl.h"

struct event_base;
struct cluster;

struct cluster_hooks {
	void *arg;
	/* This host became READY (in sync with the master) or a snapshot
	** replaced its database: re-report local state (the core's domains and
	** metrics), reset API watchers. */
	void (*resynced)(void *arg, int restored);
	/* repl's status changed (phase, master, quorum, writability). */
	void (*status)(void *arg, const struct repl_status *st);
	/* This host's own record left the pool database (pool.eject): it is
	** no longer a member. */
	void (*ejected)(void *arg);
	/* The liveness engine's decisions (hasvc/ha.h, struct ha_observer):
	** each SURVIVE's agreed liveset, each host certainly dead.  Called from
	** inside corosync's callbacks: record, and act from the loop later --
	** never call into the cluster from here.  NULL: not wanted. */
	void (*liveset)(void *arg, const char (*uuids)[HA_UUID_LEN], size_t n);
	void (*host_dead)(void *arg, const char *host);
};

/* Check that the database describes this host as a cluster member (a pool
** with a cluster key, this host with a nodeid), write corosync.conf and the
** authkey, and start connecting to corosync.  Fatal problems (the host is not
** in the pool, files cannot be written) return NULL with a sentence in err. */
struct cluster *cluster_start(struct event_base *base, struct db *db, const struct config *cfg,
			      const struct cluster_hooks *hooks, char *err, size_t errlen);
/* Fail pending writes, leave the group, disconnect.  NULL: no-op. */
void cluster_stop(struct cluster *cl);

/* 1 if `db` describes this host as a member of a clustered pool (the pool
** has a cluster key, this host a nodeid), else 0: the host runs standalone
** until it joins a pool. */
int cluster_is_member(struct db *db, const struct config *cfg);

/* Write corosync.conf and the authkey for this host from `db` (also for a
** host that has just joined, before it runs clustered).  1 written, 0 the
** files were already so, 2 nothing written because `db` does not make this
** host a member (it was ejected), -1 with err.  *out (if not NULL) gets the
** nodeids of the pool's cluster members. */
struct cluster_nodes {
	size_t n;
	uint32_t id[REPL_MAX_MEMBERS];
};
int cluster_write_files(struct db *db, const struct config *cfg, struct cluster_nodes *out,
			char *err, size_t errlen);

void cluster_get_status(const struct cluster *cl, struct repl_status *out);

/* The liveness engine's view (hasvc/ha.h); running == 0 when HA is off. */
struct ha_status;
void cluster_get_ha_status(const struct cluster *cl, struct ha_status *out);

/* XAPI's ha_configuration:timeout in seconds (default 30; a value that is not
** an integer in 1..3600 counts as the default). */
unsigned cluster_ha_timeout_s(const struct db_pool *pool);
/* 1 when this host's copy of the database is current (READY). */
int cluster_serving(const struct cluster *cl);
/* NULL when this host is the master (or no master is known); else the
** master's address, in buf. */
const char *cluster_master_address(struct cluster *cl, char *buf, size_t len);
/* SHA-256 of db_dump, as 64 hex digits + NUL; -1 on error. */
int cluster_checksum_hex(struct cluster *cl, char out[2 * REPL_CHECKSUM_LEN + 1]);

/* The rpc write hook (rpc_hooks.write): see the top of this file.  A call
** that cannot be written now is answered HOST_IS_SLAVE [master] or
** HOST_STILL_BOOTING (no writable master yet: retry). */
void cluster_api_write(struct cluster *cl, struct rpc_call *c, rpc_handler fn, void *fnarg);

/* A write that is not an API call: fn(fnarg, db) runs under capture (its
** db_* writes are recorded, not kept) and the change goes to the master.
** `master_only`: skip it unless this host is the writable master (for
** derived state every host would otherwise compute and send).  Returns 0
** sent (applied later, on every host, in order), 1 skipped (nothing to
** change, or master_only and not the master), -1 not possible now (no
** master, corosync down: the caller re-reports when `resynced` comes). */
int cluster_local_write(struct cluster *cl, int master_only, int (*fn)(void *fnarg, struct db *db),
			void *fnarg);

#endif
