/*
** hasvcd's liveness: the I/O shell around the liveness engine
** (heartbeat/liveness.h; docs/protocol.md, "The engine").  It feeds the
** engine corosync's rings and the pool's CPG group (through cluster.c, which
** owns the corosync connection), the liveness messages, the statefile's
** answers (heartbeat/sf_io.h: the I/O thread with deadlines) and the clock,
** and carries out what the engine asks: write my slot, read the statefile,
** multicast, and report its decisions.
**
** Host indexes are the pool's cluster members ordered by corosync nodeid:
** the same on every host (the database is replicated), and the statefile
** slot of host index i is sector 1 + i.
**
** Enforcement.  The engine's decisions get their hands from the fence
** state machine (hasvc/ha_fence.h, fencing/fence.h) through the watchdog
** keeper (fencing/wdkeep.h): armed when my host first joins an agreed
** liveset, petted with the engine's lease (lv_lease) while the loop and the
** statefile side make progress; a FENCE writes my slot and the local fence
** record (<data-dir>/fence, fencing/record.h) and resets the host.  ha_stop()
** never disarms: a daemon that stops with HA on leaves the keeper holding
** its lease, and a successor that joins in time takes over (docs/fencing.md,
** "The keeper").  At start, a local fence record not yet reported raises
** HA_HOST_WAS_FENCED.
**
** Alerts.  The engine's alerts and decisions become XAPI messages
** (hasvc/ha_alerts.h decides which and when), written to the pool database
** through the write hook: queued, sent from the event loop (never from inside
** a corosync callback), and retried every second while no master can take
** them; at most HA_OUTBOX_MAX wait, the oldest is dropped with a log beyond.
*/
#ifndef HASVC_HASVC_HA_H
#define HASVC_HASVC_HA_H

#include <stddef.h>
#include <stdint.h>

#include "hasvc/config.h"
#include "hasvc/db.h"
#include "hasvc/ha_fence.h"
#include "heartbeat/liveness.h"
#include "lib/ids.h"

struct event_base;
struct ha;

/* Multicast `len` bytes in the pool's CPG group (total order); 0 or -1. */
typedef int (*ha_send_fn)(void *arg, const void *msg, size_t len);

/* The pool database write hook (cluster_local_write's contract, cluster.h):
** fn(fnarg, db) runs under capture; 0 sent, 1 skipped, -1 not possible now. */
typedef int (*ha_write_fn)(void *arg, int master_only, int (*fn)(void *fnarg, struct db *db),
			   void *fnarg);

#define HA_OUTBOX_MAX 16

/* The pool's maintenance window (pool.ha_maintenance_for, a hasvc extension):
** the pool's other_config holds its end as wall-clock seconds since the
** epoch; cluster.c passes it to ha_maintenance() every second. */
#define HA_MAINTENANCE_KEY "hasvc:ha_maintenance_until"
#define HA_MAINTENANCE_MAX_S 3600 /* a longer window is cut to this */

/* Start the engine if the pool has HA enabled and this host is one of its
** cluster members: NULL with err[0] == '\0' when HA is off; NULL with a
** sentence in err on a real problem (bad timeout, no cluster key).  The
** engine starts at the first ring (ha_ring).  `send` and `write` get `arg`;
** `write` may be NULL (alerts are then logged only).
**
** `booted`: HA was on before this daemon saw it off -- a boot (or a restart)
** into a running pool, not pool.enable_ha.  Unless a predecessor of this boot
** saved its liveset (a daemon restart), the engine starts out of the pool and
** asks to be admitted (docs/protocol.md, "Rejoining"): a cold start would
** weigh a liveset of every host against a pool that has moved on. */
struct ha *ha_start(struct event_base *base, struct db *db, const struct config *cfg,
		    ha_send_fn send, ha_write_fn write, void *arg, int booted, char *err,
		    size_t errlen);
/* Who hears the engine's decisions besides the log (the failover executor,
** hasvc/failover.h, through cluster.c and the daemon): `liveset` gets each
** SURVIVE's agreed liveset (host uuids), `host_dead` each host
** LV_ACT_HOST_DEAD announces certainly dead.  Called from inside the
** engine's step, which may run inside a corosync callback: an observer must
** not call back into the cluster or repl (it records, and acts later from
** the loop).  Either function may be NULL; `obs` NULL removes the observer. */
struct ha_observer {
	void *arg;
	void (*liveset)(void *arg, const char (*uuids)[HA_UUID_LEN], size_t n);
	void (*host_dead)(void *arg, const char *host);
};
void ha_set_observer(struct ha *ha, const struct ha_observer *obs);

/* Stop, leaving an armed watchdog armed: a daemon restart (the keeper pets on
** until the lease).  NULL: no-op. */
void ha_stop(struct ha *ha);
/* HA disabled for the pool: disarm the watchdog, forget the saved liveset,
** count every fence record as admitted (the next enable starts everyone
** afresh), then stop.  NULL: no-op. */
void ha_disable(struct ha *ha);

/* The pool's maintenance window ends at `until` (CLOCK_MONOTONIC ms; 0 or in
** the past: no window).  Called every second with the replicated window;
** acts on a change only: the watchdog disarmed and the engine's decisions
** frozen for the window (docs/protocol.md, "Maintenance"). */
void ha_maintenance(struct ha *ha, uint64_t until);

/* corosync's events, as cluster.c gets them.  `nodes` are nodeids. */
void ha_ring(struct ha *ha, uint64_t ring_seq, uint32_t ring_nodeid, const uint32_t *nodes,
	     size_t n);
/* The pool's CPG group changed: its members (daemons), nodeids and pids. */
void ha_group(struct ha *ha, const uint32_t *nodes, const uint32_t *pids, size_t n);
void ha_quorum(struct ha *ha, uint64_t ring_seq, int quorate);
void ha_cpg_down(struct ha *ha); /* corosync lost: a ring of myself alone */

/* A message delivered in total order: 1 if it was a liveness message (taken
** or dropped as malformed), 0 if it is not one (the caller's). */
int ha_deliver(struct ha *ha, uint32_t nodeid, const void *msg, size_t len);

struct ha_status {
	int running;
	enum lv_state state;
	uint64_t ring_seq, prev_ring_seq;
	size_t nlive;
	char live[LS_MAX_HOSTS][HA_UUID_LEN];
	char master[HA_UUID_LEN]; /* "" = none */
	int fresh, access, statefile;
	unsigned alerts;
	char last[200]; /* the last decision, a sentence */
	struct lv_stats stats;
	uint64_t dropped; /* malformed liveness messages, unknown senders */
	uint64_t alerts_sent, alerts_dropped; /* XAPI messages written, given up */
	struct ha_fence_status fence;
	/* for /metrics (hasvc/metrics.h): the engine's clocks, taken at `now`
	** (CLOCK_MONOTONIC ms), and the hosts by index (timers.n of them) */
	uint64_t now;
	struct lv_timers timers;
	uint64_t live_set; /* the liveset as a map of indexes */
	char hosts[LS_MAX_HOSTS][HA_UUID_LEN];
};
void ha_get_status(const struct ha *ha, struct ha_status *out); /* ha NULL: not running */

#endif
