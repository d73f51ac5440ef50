/*
** The replicated pool database and master election (DESIGN §4, §5;
** docs/cluster.md).  Sans-I/O: repl never reads a clock, a socket or a file.
** It is fed the corosync events (connect, group membership, ring, quorum,
** delivered messages), local write requests and `now`; it acts through two
** small tables supplied by the caller: the store (the pool database, or a
** fake in tests) and the io (multicast, run a captured write, complete a
** write, report the status).  The daemon and the tests run the same code.
**
** The protocol, in short (the exact rules are in docs/cluster.md):
**
**  Position.  Every database holds (term, seq): the term of the master that
**  made its last change and the pool-wide sequence number of that change.
**  Positions compare as (term, seq) pairs.
**
**  Election.  After every change of the CPG group membership each member
**  multicasts STATE {term, seq, checksum, flags, host uuid, view hash}.  Once
**  the STATE of every member of the current view has been delivered (or a
**  STATE timeout has been announced in total order, expelling the silent
**  ones), every member computes the same winner from the same delivered
**  data: among the *eligible* members -- those whose STATE says PRIMARY
**  (they were synchronised members of a quorate view), or every member when
**  none is -- an announced master (MASTER) whose term is the greatest
**  eligible term stays master (sticky); otherwise the greatest (term, seq)
**  wins, ties to the lowest nodeid.  A host that comes back from a minority
**  or a crash never wins against one that stayed in the quorate part.
**
**  Synchronisation.  Members whose (term, seq, checksum) equal the winner's
**  are in sync; if any is not, the winner multicasts one snapshot of its
**  database (in chunks); out-of-sync members buffer every CHANGE delivered
**  meanwhile, restore the snapshot, then apply the buffered tail in order.
**  A member that is not in sync serves no reads (repl_status.phase).
**
**  Writes.  Only the master writes, and only while it is READY, has a quorate
**  quorum view of the current ring, and has announced its term.  A new master
**  first announces: one CHANGE (the caller's announcement write, req_id 0,
**  which records pool.master) with term = greatest term seen + 1.  A write is
**  captured (run against the master's database, which has applied every
**  earlier change) only when the previous one has been delivered and applied
**  locally; it is multicast as CHANGE {term, seq = last + 1, changeset} and
**  applied by every member, the master too, when delivered.  Each member
**  multicasts ACK {term, seq} once its apply is durable; the write is
**  acknowledged (io.done REPL_OK) when every member of the view it was
**  applied in that is still here and not expelled has acknowledged it, and
**  the members holding it are a majority of repl_config.hosts.  A member
**  that does not
**  acknowledge within ack_timeout_ms is expelled by the master (EXPEL, in
**  total order): it no longer counts, and must resynchronise by snapshot.
**  A member's own changes (its VMs' power states, its metrics) go to the
**  master as PROPOSE {changeset}; the master re-applies them leniently
**  against its current database (store.propose) and multicasts the net
**  effect as an ordinary CHANGE.
**
**  Losing the master, quorum or corosync fails every write in flight with
**  REPL_ENOTMASTER or REPL_ELOST: the client was not told "done", and may
**  retry against the new master.  A write acknowledged with REPL_OK is
**  durable on every member of a quorate view, so it survives any later
**  quorate election.
**
**  Messages are explicit big-endian records with a version and the pool id;
**  a message with a wrong magic, version, pool id, type or length is dropped
**  and counted (repl_status.dropped), never applied.
**
**  The caller's duties: deliver every CPG message and confchg in order; call
**  repl_ring for a new ring before the repl_view of that ring; never call
**  back into repl from an io callback except repl_write/repl_propose; let
**  the watchdog kill a hasvcd whose loop stalls (docs/cluster.md, limits).
*/
#ifndef HASVC_HASVC_REPL_H
#define HASVC_HASVC_REPL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ids.h"

#define REPL_CHECKSUM_LEN 32 /* SHA-256 of db_dump() */
#define REPL_MAX_MEMBERS  64
#define REPL_CHUNK_MAX    (256 * 1024) /* snapshot bytes per message */
#define REPL_MSG_MAX      (REPL_CHUNK_MAX + 1024)

struct repl;

/* Results passed to io.done. */
enum {
	REPL_OK = 0,
	REPL_ENOTMASTER = -1, /* not the master (any more), or not quorate */
	REPL_ELOST = -2,      /* the view changed or corosync went away before every ack */
	REPL_EFAIL = -3,      /* the change could not be captured or applied here */
};

enum repl_phase {
	REPL_PHASE_DOWN = 0, /* not connected to corosync */
	REPL_PHASE_ELECTING, /* waiting for every member's STATE */
	REPL_PHASE_SYNCING,  /* elected master known; waiting for its snapshot */
	REPL_PHASE_READY,    /* in sync: reads are current, changes are applied as delivered */
};

const char *repl_phase_name(enum repl_phase p);

struct repl_member_status {
	uint32_t nodeid;
	char host_uuid[HA_UUID_LEN]; /* "" until its STATE arrived */
	uint64_t acked_seq;          /* highest seq it acknowledged */
	int expelled;
};

struct repl_status {
	enum repl_phase phase;
	uint32_t nodeid;               /* ours; 0 when down */
	uint32_t master_nodeid;        /* 0 = none */
	char master_uuid[HA_UUID_LEN]; /* "" = none */
	int is_master;
	/* is_master && ready && quorate && announced, and elected in a quorate
	** view of this ring that holds a majority of the hosts */
	int writable;
	int quorate; /* quorate view of the current ring */
	int primary;
	uint64_t ring_seq;
	uint64_t term, seq; /* the local database's position */
	size_t nmembers;
	struct repl_member_status members[REPL_MAX_MEMBERS];
	uint64_t dropped; /* malformed or foreign messages */
	uint64_t elections;
	uint64_t snapshots_sent, snapshots_received;
	size_t writes_queued;    /* on the master: waiting to be captured */
	size_t writes_in_flight; /* multicast, not yet acknowledged by all */
};

/* The pool database as repl needs it.  Every function returns 0 or -1. */
struct repl_store {
	void *arg;
	int (*position)(void *arg, uint64_t *term, uint64_t *seq);
	int (*checksum)(void *arg, uint8_t out[REPL_CHECKSUM_LEN]);
	/* db_apply_change: strict, durable, sets the position. */
	int (*apply)(void *arg, uint64_t term, uint64_t seq, const void *cs, size_t len);
	/* db_apply_proposal: lenient, changes nothing, returns the net effect
	** (xmalloc'd; NULL/0 when nothing changes). */
	int (*propose)(void *arg, const void *cs, size_t len, void **out, size_t *outlen);
	int (*snapshot)(void *arg, void **img, size_t *len); /* xmalloc'd */
	int (*restore)(void *arg, const void *img, size_t len);
};

struct repl_io {
	void *arg;
	/* Multicast in total order (hb_cpg_send); 0 or -1. */
	int (*send)(void *arg, const void *msg, size_t len);
	/* Run write req_id now, capturing it (db_capture_begin/end), and return
	** its changeset (xmalloc'd; NULL/0 when it changes nothing, e.g. the
	** handler failed).  req_id 0 is the announcement of a new master: record
	** `master_uuid` (this host) as pool.master.  -1 if the capture failed. */
	int (*capture)(void *arg, uint64_t req_id, void **cs, size_t *len);
	/* Write req_id (from repl_write) is finished: REPL_OK when durable on
	** every member, else the REPL_E* why not.  Never for req_id 0. */
	void (*done)(void *arg, uint64_t req_id, int rc);
	/* The phase, master, quorum or writability changed (log it, update
	** HOST_IS_SLAVE, resync API watchers after a snapshot...). */
	void (*status)(void *arg, const struct repl_status *st);
	/* Something was applied from a snapshot: every row may have changed. */
	void (*restored)(void *arg);
};

struct repl_config {
	char pool_uuid[HA_UUID_LEN];
	char host_uuid[HA_UUID_LEN];
	uint32_t state_timeout_ms; /* election gives up on silent members; default 3000 */
	uint32_t ack_timeout_ms;   /* master expels a member that does not ack; default 3000 */
	/* Hosts in the pool (0 = unknown).  When known, a write completes, a
	** member is expelled and a STATE timeout elects only while the members
	** that count are a majority of them: what makes acknowledged writes
	** survive (docs/cluster.md).  Added by the repl implementer. */
	uint32_t hosts;
};

void repl_config_defaults(struct repl_config *cfg);

/* The store and io tables are copied.  NULL on a bad pool or host uuid. */
struct repl *repl_new(const struct repl_config *cfg, const struct repl_store *store,
                      const struct repl_io *io);
/* Fails every write still pending with REPL_ELOST; NULL: no-op. */
void repl_free(struct repl *r);

/* ---- events (each may call io functions before it returns) ---- */

void repl_up(struct repl *r, uint64_t now, uint32_t local_nodeid);
void repl_down(struct repl *r, uint64_t now);
/* The CPG group's members now (nodeids, any order; duplicates ignored). */
void repl_view(struct repl *r, uint64_t now, const uint32_t *members, size_t n);
void repl_ring(struct repl *r, uint64_t now, uint64_t ring_seq);
void repl_quorum(struct repl *r, uint64_t now, uint64_t ring_seq, int quorate);
void repl_deliver(struct repl *r, uint64_t now, uint32_t from, const void *msg, size_t len);
/* Timers: call repl_tick at repl_next_deadline (UINT64_MAX = none). */
void repl_tick(struct repl *r, uint64_t now);
uint64_t repl_next_deadline(const struct repl *r);

/* ---- writes ---- */

/* Queue a write on the master: io.capture runs it when its turn comes, then
** io.done reports the outcome.  req_id must be nonzero and unique among
** pending writes.  -1 (and no callback) when this host cannot write now:
** the caller answers HOST_IS_SLAVE or a retry error itself. */
int repl_write(struct repl *r, uint64_t now, uint64_t req_id);
/* A change made on this host that is not an API write (the local core's
** reports): on the master, as a write without a caller; on a member, sent
** to the master as PROPOSE.  `cs` is a changeset captured on this host's
** database (copied).  -1 when it cannot be sent (down, no master). */
int repl_propose(struct repl *r, uint64_t now, const void *cs, size_t len);

void repl_get_status(const struct repl *r, struct repl_status *out);
/* The pool's host count changed (a host joined or was ejected): see
** repl_config.hosts. */
void repl_set_hosts(struct repl *r, uint32_t hosts);
/* A two-host pool (hosts == 2): the other host is certainly dead (`dead`
** 1: this host's liveness engine announced it, LV_ACT_HOST_DEAD -- it has
** fenced), or is in this host's liveset again (0).  While it is dead, this
** host alone is a majority: a survivor can write (docs/cluster.md, "Two-host
** pools").  Kept in memory only: a restarted daemon needs the other host, or
** its engine's announcement, again.  Ignored unless hosts == 2. */
void repl_peer_dead(struct repl *r, uint64_t now, int dead);

/* ---- the wire format, exposed for the fuzz target and tests ---- */

enum repl_msg_type {
	REPL_MSG_STATE = 1,
	REPL_MSG_CHANGE,
	REPL_MSG_ACK,
	REPL_MSG_PROPOSE,
	REPL_MSG_SNAPSHOT,
	REPL_MSG_STATE_TIMEOUT,
	REPL_MSG_EXPEL,
};

struct repl_msg {
	enum repl_msg_type type;
	uint8_t pool_id[16];
	union {
		struct {
			uint64_t term, seq;
			uint8_t checksum[REPL_CHECKSUM_LEN];
			uint32_t flags; /* REPL_STATE_* */
			uint64_t view_hash;
			char host_uuid[HA_UUID_LEN];
		} state;
		struct {
			uint64_t term, seq;
			uint32_t origin;   /* nodeid that asked for it */
			const uint8_t *cs; /* borrowed from the decoded buffer */
			uint32_t len;
		} change;
		struct {
			uint64_t term, seq;
		} ack;
		struct {
			uint64_t base_term, base_seq;
			const uint8_t *cs;
			uint32_t len;
		} propose;
		struct {
			uint64_t view_hash; /* the election it answers */
			uint64_t term, seq;
			uint8_t checksum[REPL_CHECKSUM_LEN];
			uint32_t total, offset;
			const uint8_t *data;
			uint32_t len;
		} snapshot;
		struct {
			uint64_t view_hash;
			uint32_t n;
			uint32_t nodeids[REPL_MAX_MEMBERS];
		} nodes; /* STATE_TIMEOUT: the silent ones; EXPEL: the expelled */
	} u;
};

enum {
	REPL_STATE_PRIMARY = 1 << 0,
	REPL_STATE_MASTER = 1 << 1, /* the announced master of its term */
	REPL_STATE_RESIGN = 1 << 2, /* the master gives up: elect again in this view */
};

/* Encode into buf (at least REPL_MSG_MAX, or the exact need); returns the
** length, or 0 if it does not fit. */
size_t repl_msg_encode(const struct repl_msg *m, uint8_t *buf, size_t cap);
/* Decode; 0 ok, -1 malformed (wrong magic/version/type/length/values), with
** a short reason.  Pointers in *m borrow from buf. */
int repl_msg_decode(const uint8_t *buf, size_t len, struct repl_msg *m, const char **why);

#endif
