/*
** The corosync adapter (DESIGN §2): one CPG group per pool for membership and
** totally ordered messages, votequorum for the quorum state, libcfg for a
** configuration reload.  It wraps corosync's client libraries and nothing
** else; it knows nothing of what the messages mean.
**
** Everything runs on the caller's libevent event_base: the CPG and
** votequorum descriptors are watched there and dispatched with
** CS_DISPATCH_ALL, so every callback below runs on the loop, in corosync's
** order (a configuration change, then the quorum change it causes).
**
** Sending: hb_cpg_send() queues the message and multicasts it with
** CPG_TYPE_AGREED.  CS_ERR_TRY_AGAIN (corosync is syncing a membership change)
** is retried on a short timer, in order, never dropped; the queue is unbounded
** but its length is reported (hb_cpg_queued) so the layer above can push back.
**
** Losing corosync: when a dispatch or a send fails with anything but
** TRY_AGAIN (CS_ERR_LIBRARY when corosync died or restarted), the adapter
** finalizes its handles, drops the send queue (those messages were never
** ordered, so no member ever delivers them), calls `down` once with the
** error, and tries to connect again every `retry_ms`.  When a connection and
** the join succeed it calls `up`; the first configuration change follows.
** While down, hb_cpg_send() fails at once.  So between `down` and the next
** `confchg` the caller must assume it is cut off from every other host.
** `down` is called once per loss, and also once when the first attempt after
** hb_cpg_new fails; the retries that fail after it are quiet.  Our own
** messages that corosync accepted just before a loss may be missing from our
** deliveries (we stop reading at the error); what is delivered is in order.
**
** Reentrancy: a callback may call hb_cpg_send() and the getters on any
** adapter; it must not call hb_cpg_free() on the adapter that called it
** (asserted): the dispatch under it still uses the handle.
*/
#ifndef HASVC_HEARTBEAT_CPG_H
#define HASVC_HEARTBEAT_CPG_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct hb_cpg;

/* Why a member joined or left (corosync's CPG_REASON_*). */
enum hb_reason {
	HB_REASON_JOIN = 1,  /* a process joined the group */
	HB_REASON_LEAVE,     /* a process left cleanly (cpg_leave / finalize) */
	HB_REASON_NODEDOWN,  /* its node left the totem ring (crash, partition) */
	HB_REASON_NODEUP,    /* its node joined the ring (a partition merged) */
	HB_REASON_PROCDOWN,  /* the process died, its corosync is alive */
	HB_REASON_OTHER,
};

/* "join", "leave", "nodedown", "nodeup", "procdown", "other". */
const char *hb_reason_name(enum hb_reason r);

struct hb_member {
	uint32_t nodeid;
	uint32_t pid;
	enum hb_reason reason; /* for joined/left lists; HB_REASON_JOIN in `members` */
};

struct hb_quorum {
	int quorate;
	uint64_t ring_seq; /* the totem ring this view is about (libquorum's ring_id.seq) */
	uint32_t expected_votes;
	uint32_t total_votes;
	uint32_t quorum; /* votes needed */
	uint32_t flags;  /* HB_QUORUM_* */
};

enum {
	HB_QUORUM_TWO_NODE = 1 << 0,
	HB_QUORUM_WAIT_FOR_ALL = 1 << 1,
	HB_QUORUM_LAST_MAN_STANDING = 1 << 2,
	HB_QUORUM_AUTO_TIE_BREAKER = 1 << 3,
};

struct hb_cpg_callbacks {
	void *arg;
	/* A message delivered in total order (our own ones too); `msg` is
	** borrowed for the call. */
	void (*deliver)(void *arg, uint32_t nodeid, uint32_t pid, const void *msg, size_t len);
	/* The group's membership changed: every member now, who left (with why)
	** and who joined.  Arrays borrowed for the call, sorted by nodeid. */
	void (*confchg)(void *arg, const struct hb_member *members, size_t nmembers,
			const struct hb_member *left, size_t nleft, const struct hb_member *joined,
			size_t njoined);
	/* The totem ring changed (also once right after each connect, from
	** CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF): its id (sequence number and
	** representative nodeid) and nodes.  Comes after the group confchg that
	** a ring change causes; a process joining or dying changes the group,
	** not the ring. */
	void (*ring)(void *arg, uint64_t ring_seq, uint32_t ring_nodeid, const uint32_t *nodes,
		     size_t nnodes);
	/* The quorum view changed (libquorum's notification, which names its
	** ring, completed with votequorum_getinfo); also once right after each
	** connect.  A view is current only while q->ring_seq is the last ring
	** reported by `ring`: the caller must not act on a stale one. */
	void (*quorum)(void *arg, const struct hb_quorum *q);
	/* Connected and joined the group (our nodeid is known from now on). */
	void (*up)(void *arg, uint32_t local_nodeid);
	/* The connection to corosync is gone; `why` is a sentence. */
	void (*down)(void *arg, const char *why);
};

struct hb_cpg_config {
	const char *group;  /* CPG group name, <= 127 bytes ("hasvc:<pool uuid>") */
	unsigned retry_ms;  /* reconnect period, default 1000 */
	unsigned resend_ms; /* TRY_AGAIN retry period, default 10 */
};

/* Start connecting (the first attempt runs from the loop, so `up` or `down`
** never runs inside hb_cpg_new).  NULL only on allocation failure. */
struct hb_cpg *hb_cpg_new(struct event_base *base, const struct hb_cpg_config *cfg,
			  const struct hb_cpg_callbacks *cb);
/* Leave the group cleanly (members see LEAVE) and disconnect; NULL: no-op.
** Messages still queued are dropped (logged).  Not from a callback. */
void hb_cpg_free(struct hb_cpg *c);

/* Queue `len` bytes for ordered delivery to every member, ourselves
** included.  0 queued, -1 when not connected (nothing queued).  The bytes are
** copied. */
int hb_cpg_send(struct hb_cpg *c, const void *msg, size_t len);
size_t hb_cpg_queued(const struct hb_cpg *c);
int hb_cpg_connected(const struct hb_cpg *c);
uint32_t hb_cpg_local_nodeid(const struct hb_cpg *c); /* 0 when not connected */
/* Messages that corosync returned an error for other than TRY_AGAIN, and
** TRY_AGAIN retries, since start (for status and tests). */
uint64_t hb_cpg_retries(const struct hb_cpg *c);

/* Ask the local corosync to re-read corosync.conf (what `corosync-cfgtool -R`
** does, cluster-wide), through libcfg.  Blocking but short (a local IPC
** round trip).  0 ok, -1 with a sentence in err. */
int hb_cfg_reload(char *err, size_t errlen);

/* Ask the local corosync to leave the cluster and exit at once (what
** `corosync-cfgtool -H --force` does): the others see this node leave
** without waiting for a token timeout.  For a host ejected from its pool,
** whose node must be out of the ring before the others drop it from their
** nodelist.  0 ok, -1 with a sentence in err. */
int hb_cfg_shutdown(char *err, size_t errlen);

#endif
