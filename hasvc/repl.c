/*
** The replicated pool database and master election.  See repl.h for the
** contract and docs/cluster.md for the protocol.
**
** Owns: the current CPG view (members, view hash, each member's collected
** STATE, acknowledged position and expelled flag), the phase, the master,
** the quorum view, the CHANGEs buffered while not READY, the snapshot being
** assembled, and on the master the write FIFO and the outstanding changes.
**
** Invariants:
**   - no I/O: everything goes through r->store and r->io;
**   - the database position only moves by store.apply (READY, or the
**     buffered tail right after a sync) or store.restore (SYNCING);
**   - on the master at most one change is in flight (sent, not yet applied
**     locally), and it is the last entry of the outstanding list; entries
**     complete in seq order;
**   - writable => is_master && READY && quorate on the current ring &&
**     elected in a quorate view of this ring holding a majority && announced;
**   - a write completes only while we can lead, once a majority of the
**     hosts holds it (docs/cluster.md: why acknowledged writes survive);
**   - io.status is called from one place, notify(), when one of the
**     reported fields changed.
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hasvc/repl.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/wire.h"
#include "lib/xmalloc.h"

#define REPL_MAGIC        0x48415250u /* "HARP" */
#define REPL_VERSION      1
#define REPL_HDR_LEN      28
#define REPL_SNAPSHOT_MAX (1u << 30)
#define REPL_BUFFER_MAX   ((size_t)64 << 20)
#define REPL_UUID_WIRE    36

struct member {
	uint32_t nodeid;
	char host_uuid[HA_UUID_LEN];
	uint64_t acked_term, acked_seq;
	int expelled;
	int resync_seen; /* expelled, and its resync STATE has been delivered since */
	/* This election. */
	int have_state;
	int timed_out;
	uint64_t term, seq;
	uint8_t checksum[REPL_CHECKSUM_LEN];
	uint32_t flags;
};

struct buffered {
	uint32_t from;
	uint64_t term, seq;
	uint8_t *cs;
	size_t len;
};

enum wkind { WK_REQ, WK_PROPOSAL, WK_ANNOUNCE };

/* A write: queued (not captured yet), then outstanding (multicast). */
struct write {
	struct write *next;
	enum wkind kind;
	uint64_t req_id; /* WK_REQ; 0 once its caller has been answered */
	void *blob;      /* WK_PROPOSAL: the member's changeset */
	size_t len;
	uint64_t term, seq;
	uint64_t sent_at, expel_at;
	int delivered; /* applied locally */
	size_t nreq;   /* the view when it was delivered here */
	uint32_t req[REPL_MAX_MEMBERS];
};

struct repl {
	struct repl_config cfg;
	uint8_t pool_id[16];
	struct repl_store store;
	struct repl_io io;

	int up;
	uint32_t nodeid;
	enum repl_phase phase;
	const char *why; /* reason of the last phase change, for the log */

	struct member members[REPL_MAX_MEMBERS];
	size_t nmembers;
	int in_view;
	uint64_t view_hash;
	uint64_t t_view;
	int state_sent, state_collected;
	/* Our last STATE has been delivered: a snapshot stream that starts
	** later answers it (one that started before may be older than what we
	** applied since, and is ignored). */
	int state_delivered;
	uint64_t t_state;        /* our last STATE send (or attempt) */
	int timeout_seen;        /* a STATE_TIMEOUT for this view was delivered */
	uint64_t t_timeout_sent; /* 0 = none sent this round */

	uint32_t master;
	char master_uuid[HA_UUID_LEN];
	int is_master;
	int announced;
	uint64_t new_term;

	uint64_t ring_seq;
	uint64_t quorum_ring;
	int quorum_ok;
	int primary;
	uint64_t view_ring; /* ring_seq when the current view was delivered */
	int sync_quorate;   /* the last election completed quorate in a view of this ring */
	int peer_dead;      /* two hosts: the other is certainly dead (repl_peer_dead) */

	/* Not READY: CHANGEs delivered from the master, in order. */
	struct buffered *buf;
	size_t nbuf, capbuf, buf_bytes;
	/* The highest change dropped from the buffer (overflow, expel, failed
	** sync) and its sender: a snapshot of that master that ends before it
	** cannot be followed by a contiguous tail. */
	uint64_t buf_dropped_seq;
	uint32_t buf_dropped_from;
	/* Entries buffered before the election that made us SYNCING: a full
	** snapshot of that election already holds what the master kept. */
	size_t buf_presync;

	/* SYNCING: the snapshot being assembled. */
	uint8_t *snap;
	uint32_t snap_total, snap_got;
	uint64_t snap_term, snap_seq;
	uint8_t snap_cs[REPL_CHECKSUM_LEN];
	uint64_t t_progress;

	/* Master. */
	struct write *q_head, *q_tail;
	size_t nqueued;
	struct write *o_head, *o_tail;
	size_t nout;
	int pumping;

	uint64_t dropped, elections, snapshots_sent, snapshots_received;

	/* What notify() last reported. */
	enum repl_phase r_phase;
	uint32_t r_master;
	int r_is_master, r_writable, r_quorate, r_primary;
};

static void pump(struct repl *r, uint64_t now);
static void notify(struct repl *r);

const char *
repl_phase_name(enum repl_phase p)
{
	switch (p) {
	case REPL_PHASE_DOWN:
		return "DOWN";
	case REPL_PHASE_ELECTING:
		return "ELECTING";
	case REPL_PHASE_SYNCING:
		return "SYNCING";
	case REPL_PHASE_READY:
		return "READY";
	}
	return "?";
}

void
repl_config_defaults(struct repl_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->state_timeout_ms = 3000;
	cfg->ack_timeout_ms = 3000;
}

/* ---- the wire format ---- */

static size_t
body_len(const struct repl_msg *m)
{
	switch (m->type) {
	case REPL_MSG_STATE:
		return 8 + 8 + REPL_CHECKSUM_LEN + 4 + 8 + REPL_UUID_WIRE;
	case REPL_MSG_CHANGE:
		return 8 + 8 + 4 + 4 + (size_t)m->u.change.len;
	case REPL_MSG_ACK:
		return 16;
	case REPL_MSG_PROPOSE:
		return 8 + 8 + 4 + (size_t)m->u.propose.len;
	case REPL_MSG_SNAPSHOT:
		return 8 + 8 + 8 + REPL_CHECKSUM_LEN + 4 + 4 + 4 + (size_t)m->u.snapshot.len;
	case REPL_MSG_STATE_TIMEOUT:
	case REPL_MSG_EXPEL:
		return 8 + 4 + 4 * (size_t)m->u.nodes.n;
	}
	return SIZE_MAX;
}

size_t
repl_msg_encode(const struct repl_msg *m, uint8_t *buf, size_t cap)
{
	struct wbuf w = WBUF_INIT(buf, cap);
	size_t blen = body_len(m);
	uint32_t i;

	if (blen == SIZE_MAX || blen > UINT32_MAX || cap < REPL_HDR_LEN ||
	    cap - REPL_HDR_LEN < blen)
		return 0;
	if ((m->type == REPL_MSG_STATE_TIMEOUT || m->type == REPL_MSG_EXPEL) &&
	    m->u.nodes.n > REPL_MAX_MEMBERS)
		return 0;
	wput_u32(&w, REPL_MAGIC);
	wput_u8(&w, REPL_VERSION);
	wput_u8(&w, (uint8_t)m->type);
	wput_u16(&w, 0);
	wput_bytes(&w, m->pool_id, 16);
	wput_u32(&w, (uint32_t)blen);
	switch (m->type) {
	case REPL_MSG_STATE:
		wput_u64(&w, m->u.state.term);
		wput_u64(&w, m->u.state.seq);
		wput_bytes(&w, m->u.state.checksum, REPL_CHECKSUM_LEN);
		wput_u32(&w, m->u.state.flags);
		wput_u64(&w, m->u.state.view_hash);
		if (strlen(m->u.state.host_uuid) != REPL_UUID_WIRE)
			return 0;
		wput_bytes(&w, m->u.state.host_uuid, REPL_UUID_WIRE);
		break;
	case REPL_MSG_CHANGE:
		wput_u64(&w, m->u.change.term);
		wput_u64(&w, m->u.change.seq);
		wput_u32(&w, m->u.change.origin);
		wput_u32(&w, m->u.change.len);
		wput_bytes(&w, m->u.change.cs, m->u.change.len);
		break;
	case REPL_MSG_ACK:
		wput_u64(&w, m->u.ack.term);
		wput_u64(&w, m->u.ack.seq);
		break;
	case REPL_MSG_PROPOSE:
		wput_u64(&w, m->u.propose.base_term);
		wput_u64(&w, m->u.propose.base_seq);
		wput_u32(&w, m->u.propose.len);
		wput_bytes(&w, m->u.propose.cs, m->u.propose.len);
		break;
	case REPL_MSG_SNAPSHOT:
		wput_u64(&w, m->u.snapshot.view_hash);
		wput_u64(&w, m->u.snapshot.term);
		wput_u64(&w, m->u.snapshot.seq);
		wput_bytes(&w, m->u.snapshot.checksum, REPL_CHECKSUM_LEN);
		wput_u32(&w, m->u.snapshot.total);
		wput_u32(&w, m->u.snapshot.offset);
		wput_u32(&w, m->u.snapshot.len);
		wput_bytes(&w, m->u.snapshot.data, m->u.snapshot.len);
		break;
	case REPL_MSG_STATE_TIMEOUT:
	case REPL_MSG_EXPEL:
		wput_u64(&w, m->u.nodes.view_hash);
		wput_u32(&w, m->u.nodes.n);
		for (i = 0; i < m->u.nodes.n; i++)
			wput_u32(&w, m->u.nodes.nodeids[i]);
		break;
	}
	if (w.err || w.off != REPL_HDR_LEN + blen)
		return 0;
	return w.off;
}

/* Variable data: u32 length + bytes, borrowed. */
static const uint8_t *
rget_blob(struct rbuf *r, uint32_t *len)
{
	*len = rget_u32(r);
	if (r->err)
		return NULL;
	return rbuf_take(r, *len);
}

int
repl_msg_decode(const uint8_t *buf, size_t len, struct repl_msg *m, const char **why)
{
	struct rbuf r = RBUF_INIT(buf, len);
	const char *dummy;
	uint32_t blen, i;
	uint8_t type;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	memset(m, 0, sizeof(*m));
	if (len < REPL_HDR_LEN) {
		*why = "shorter than the header";
		return -1;
	}
	if (rget_u32(&r) != REPL_MAGIC) {
		*why = "bad magic";
		return -1;
	}
	if (rget_u8(&r) != REPL_VERSION) {
		*why = "unknown version";
		return -1;
	}
	type = rget_u8(&r);
	if (rget_u16(&r) != 0) {
		*why = "reserved field not zero";
		return -1;
	}
	rget_bytes(&r, m->pool_id, 16);
	blen = rget_u32(&r);
	if ((size_t)blen != len - REPL_HDR_LEN) {
		*why = "body length does not match";
		return -1;
	}
	m->type = (enum repl_msg_type)type;
	switch (type) {
	case REPL_MSG_STATE:
		m->u.state.term = rget_u64(&r);
		m->u.state.seq = rget_u64(&r);
		rget_bytes(&r, m->u.state.checksum, REPL_CHECKSUM_LEN);
		m->u.state.flags = rget_u32(&r);
		m->u.state.view_hash = rget_u64(&r);
		rget_bytes(&r, m->u.state.host_uuid, REPL_UUID_WIRE);
		m->u.state.host_uuid[REPL_UUID_WIRE] = '\0';
		if (r.err)
			break;
		if (m->u.state.flags &
		    ~(uint32_t)(REPL_STATE_PRIMARY | REPL_STATE_MASTER | REPL_STATE_RESIGN)) {
			*why = "unknown STATE flags";
			return -1;
		}
		if (!id_uuid_valid(m->u.state.host_uuid)) {
			*why = "bad host uuid";
			return -1;
		}
		break;
	case REPL_MSG_CHANGE:
		m->u.change.term = rget_u64(&r);
		m->u.change.seq = rget_u64(&r);
		m->u.change.origin = rget_u32(&r);
		m->u.change.cs = rget_blob(&r, &m->u.change.len);
		if (!r.err && m->u.change.len > REPL_CHUNK_MAX) {
			*why = "changeset too long";
			return -1;
		}
		break;
	case REPL_MSG_ACK:
		m->u.ack.term = rget_u64(&r);
		m->u.ack.seq = rget_u64(&r);
		break;
	case REPL_MSG_PROPOSE:
		m->u.propose.base_term = rget_u64(&r);
		m->u.propose.base_seq = rget_u64(&r);
		m->u.propose.cs = rget_blob(&r, &m->u.propose.len);
		if (!r.err && m->u.propose.len > REPL_CHUNK_MAX) {
			*why = "changeset too long";
			return -1;
		}
		break;
	case REPL_MSG_SNAPSHOT:
		m->u.snapshot.view_hash = rget_u64(&r);
		m->u.snapshot.term = rget_u64(&r);
		m->u.snapshot.seq = rget_u64(&r);
		rget_bytes(&r, m->u.snapshot.checksum, REPL_CHECKSUM_LEN);
		m->u.snapshot.total = rget_u32(&r);
		m->u.snapshot.offset = rget_u32(&r);
		m->u.snapshot.data = rget_blob(&r, &m->u.snapshot.len);
		if (r.err)
			break;
		if (m->u.snapshot.len > REPL_CHUNK_MAX) {
			*why = "snapshot chunk too long";
			return -1;
		}
		if (m->u.snapshot.total > REPL_SNAPSHOT_MAX) {
			*why = "snapshot too large";
			return -1;
		}
		if ((uint64_t)m->u.snapshot.offset + m->u.snapshot.len > m->u.snapshot.total) {
			*why = "snapshot chunk beyond its total";
			return -1;
		}
		if (m->u.snapshot.total > 0 && m->u.snapshot.len == 0) {
			*why = "empty snapshot chunk";
			return -1;
		}
		break;
	case REPL_MSG_STATE_TIMEOUT:
	case REPL_MSG_EXPEL:
		m->u.nodes.view_hash = rget_u64(&r);
		m->u.nodes.n = rget_u32(&r);
		if (r.err)
			break;
		if (m->u.nodes.n > REPL_MAX_MEMBERS) {
			*why = "too many nodes";
			return -1;
		}
		for (i = 0; i < m->u.nodes.n; i++) {
			m->u.nodes.nodeids[i] = rget_u32(&r);
			if (!r.err && m->u.nodes.nodeids[i] == 0) {
				*why = "nodeid 0";
				return -1;
			}
		}
		break;
	default:
		*why = "unknown type";
		return -1;
	}
	if (r.err) {
		*why = "truncated body";
		return -1;
	}
	if (r.off != r.len) {
		*why = "trailing bytes";
		return -1;
	}
	return 0;
}

/* ---- small helpers ---- */

static struct member *
member_find(struct repl *r, uint32_t nodeid)
{
	size_t i;

	for (i = 0; i < r->nmembers; i++)
		if (r->members[i].nodeid == nodeid)
			return &r->members[i];
	return NULL;
}

static int
quorate_now(const struct repl *r)
{
	return r->quorum_ok && r->quorum_ring == r->ring_seq;
}

/* Quorate, and our last election or sync happened in a quorate view of
** this ring: a quorum notification that arrives before the view of its
** ring must not make the leader of a stale (minority) view writable or
** primary (docs/cluster.md). */
static int majority(const struct repl *r, size_t n);

static int
can_lead(const struct repl *r)
{
	return quorate_now(r) && r->sync_quorate && majority(r, r->nmembers);
}

/* Members of the view that count for durability (not expelled). */
static size_t
live_members(const struct repl *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->nmembers; i++)
		if (!r->members[i].expelled && !r->members[i].timed_out)
			n++;
	return n;
}

/* n members hold a majority of the pool's hosts (always, when unknown) --
** of a two-host pool whose other host is certainly dead, the one left. */
static int
majority(const struct repl *r, size_t n)
{
	uint32_t hosts = r->cfg.hosts == 2 && r->peer_dead ? 1 : r->cfg.hosts;

	return hosts == 0 || n >= hosts / 2 + 1;
}

static int
writable(const struct repl *r)
{
	return r->is_master && r->phase == REPL_PHASE_READY && can_lead(r) && r->announced;
}

static int
position(struct repl *r, uint64_t *term, uint64_t *seq)
{
	if (r->store.position(r->store.arg, term, seq) < 0) {
		log_errx("host %s: cannot read the database position", r->cfg.host_uuid);
		*term = *seq = 0;
		return -1;
	}
	return 0;
}

static int
checksum(struct repl *r, uint8_t out[REPL_CHECKSUM_LEN])
{
	if (r->store.checksum(r->store.arg, out) < 0) {
		log_errx("host %s: cannot compute the database checksum", r->cfg.host_uuid);
		memset(out, 0, REPL_CHECKSUM_LEN);
		return -1;
	}
	return 0;
}

/* Our (term, seq, checksum) equal these. */
static int
in_sync_with(struct repl *r, uint64_t term, uint64_t seq, const uint8_t cs[REPL_CHECKSUM_LEN])
{
	uint8_t mine[REPL_CHECKSUM_LEN];
	uint64_t t, s;

	if (position(r, &t, &s) < 0 || t != term || s != seq)
		return 0;
	if (checksum(r, mine) < 0)
		return 0;
	return memcmp(mine, cs, REPL_CHECKSUM_LEN) == 0;
}

static int
send_msg(struct repl *r, struct repl_msg *m)
{
	size_t need = REPL_HDR_LEN + body_len(m), n;
	uint8_t *buf;
	int rc;

	memcpy(m->pool_id, r->pool_id, 16);
	buf = xmalloc(need);
	n = repl_msg_encode(m, buf, need);
	if (NEVER(n == 0)) {
		xfree(buf);
		return -1;
	}
	rc = r->io.send(r->io.arg, buf, n);
	xfree(buf);
	if (rc < 0)
		log_warnx("host %s: multicast of a type %d message failed", r->cfg.host_uuid,
		          (int)m->type);
	return rc < 0 ? -1 : 0;
}

static void
send_state_flags(struct repl *r, uint64_t now, uint32_t extra)
{
	struct repl_msg m;

	r->t_state = now;
	r->state_delivered = 0;
	if (!r->in_view)
		return;
	memset(&m, 0, sizeof(m));
	m.type = REPL_MSG_STATE;
	position(r, &m.u.state.term, &m.u.state.seq);
	checksum(r, m.u.state.checksum);
	m.u.state.flags = (r->primary ? REPL_STATE_PRIMARY : 0) |
	                  (r->is_master && r->announced ? REPL_STATE_MASTER : 0) | extra;
	m.u.state.view_hash = r->view_hash;
	memcpy(m.u.state.host_uuid, r->cfg.host_uuid, HA_UUID_LEN);
	if (send_msg(r, &m) == 0)
		r->state_sent = 1;
}

static void
send_state(struct repl *r, uint64_t now)
{
	send_state_flags(r, now, 0);
}

static void
send_ack(struct repl *r, uint64_t term, uint64_t seq)
{
	struct repl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = REPL_MSG_ACK;
	m.u.ack.term = term;
	m.u.ack.seq = seq;
	send_msg(r, &m);
}

static void
set_phase(struct repl *r, enum repl_phase p, const char *why)
{
	if (r->phase != p)
		r->why = why;
	r->phase = p;
}

static void
set_master(struct repl *r, uint32_t nodeid, const char *uuid)
{
	r->master = nodeid;
	snprintf(r->master_uuid, sizeof(r->master_uuid), "%s", nodeid ? uuid : "");
}

/* ---- the CHANGE buffer ---- */

static void
buffer_clear(struct repl *r)
{
	size_t i;

	for (i = 0; i < r->nbuf; i++)
		xfree(r->buf[i].cs);
	r->nbuf = 0;
	r->buf_bytes = 0;
	r->buf_presync = 0;
}

/* A full snapshot arrived: the changes buffered before the election are in
** it, or were not kept by the master. */
static void
buffer_drop_presync(struct repl *r)
{
	size_t i, k = r->buf_presync;

	if (k == 0 || NEVER(k > r->nbuf))
		return;
	for (i = 0; i < k; i++) {
		r->buf_bytes -= r->buf[i].len;
		xfree(r->buf[i].cs);
	}
	memmove(r->buf, r->buf + k, (r->nbuf - k) * sizeof(r->buf[0]));
	r->nbuf -= k;
	r->buf_presync = 0;
}

/* Forget the buffer and what was dropped: we are in sync. */
static void
buffer_reset(struct repl *r)
{
	buffer_clear(r);
	r->buf_dropped_seq = 0;
	r->buf_dropped_from = 0;
}

static void
note_dropped(struct repl *r, uint32_t from, uint64_t seq)
{
	if (seq > r->buf_dropped_seq || from != r->buf_dropped_from) {
		r->buf_dropped_seq = seq;
		r->buf_dropped_from = from;
	}
}

/* Drop the buffered changes, remembering the highest. */
static void
buffer_drop(struct repl *r)
{
	size_t i;

	for (i = 0; i < r->nbuf; i++)
		note_dropped(r, r->buf[i].from, r->buf[i].seq);
	buffer_clear(r);
}

static void
buffer_add(struct repl *r, uint32_t from, uint64_t term, uint64_t seq, const void *cs, size_t len)
{
	struct buffered *b;

	if (r->buf_bytes + len > REPL_BUFFER_MAX) {
		/* Beyond the cap the tail cannot be kept: drop it, remember how far
		** it went; the snapshot that ends this sync then cannot be followed
		** by a contiguous tail and the member asks again (docs/cluster.md). */
		log_warnx("host %s: change buffer over %zu bytes, dropped", r->cfg.host_uuid,
		          REPL_BUFFER_MAX);
		buffer_drop(r);
		note_dropped(r, from, seq);
		return;
	}
	if (r->nbuf == r->capbuf) {
		r->capbuf = r->capbuf ? 2 * r->capbuf : 16;
		r->buf = xreallocarray(r->buf, r->capbuf, sizeof(*r->buf));
	}
	b = &r->buf[r->nbuf++];
	b->from = from;
	b->term = term;
	b->seq = seq;
	b->len = len;
	b->cs = NULL;
	if (len) {
		b->cs = xmalloc(len);
		memcpy(b->cs, cs, len);
	}
	r->buf_bytes += len;
}

/* ---- writes on the master ---- */

static void
write_free(struct write *w)
{
	if (w) {
		xfree(w->blob);
		xfree(w);
	}
}

static void
queue_push(struct repl *r, struct write *w)
{
	w->next = NULL;
	if (r->q_tail)
		r->q_tail->next = w;
	else
		r->q_head = w;
	r->q_tail = w;
	r->nqueued++;
}

static struct write *
queue_pop(struct repl *r)
{
	struct write *w = r->q_head;

	if (w) {
		r->q_head = w->next;
		if (r->q_head == NULL)
			r->q_tail = NULL;
		r->nqueued--;
		w->next = NULL;
	}
	return w;
}

static void
out_push(struct repl *r, struct write *w)
{
	w->next = NULL;
	if (r->o_tail)
		r->o_tail->next = w;
	else
		r->o_head = w;
	r->o_tail = w;
	r->nout++;
}

/* Answer every caller: queued writes with rc_queued, outstanding ones with
** rc_out.  With keep_out the outstanding entries stay (without callers) so
** that the one in flight is still recognised when it is delivered. */
static void
fail_writes(struct repl *r, int rc_queued, int rc_out, int keep_out)
{
	struct write *w, *next;

	while ((w = queue_pop(r)) != NULL) {
		if (w->kind == WK_REQ && w->req_id)
			r->io.done(r->io.arg, w->req_id, rc_queued);
		write_free(w);
	}
	for (w = r->o_head; w; w = next) {
		next = w->next;
		if (w->kind == WK_REQ && w->req_id)
			r->io.done(r->io.arg, w->req_id, rc_out);
		w->req_id = 0;
		if (!keep_out)
			write_free(w);
	}
	if (!keep_out) {
		r->o_head = r->o_tail = NULL;
		r->nout = 0;
	}
}

static void
lose_mastership(struct repl *r, const char *why)
{
	if (!r->is_master)
		return;
	log_info("host %s: no longer the master (%s)", r->cfg.host_uuid, why);
	fail_writes(r, REPL_ENOTMASTER, REPL_ELOST, 0);
	r->is_master = 0;
	r->announced = 0;
	r->new_term = 0;
}

static int
has_acked(const struct member *m, const struct write *w)
{
	return m->acked_term == w->term && m->acked_seq >= w->seq;
}

/* Complete, in seq order, the outstanding changes that every required
** member has acknowledged (the view when the master applied the change,
** minus those gone or expelled since), and that a majority of the hosts
** now holds: members that joined later count once they acknowledged the
** change or a later one of the same term (they synchronised past it). */
static void
check_completions(struct repl *r)
{
	/* An acknowledgement counts only while we lead a quorate view: without
	** it the write is not known to survive (cluster.md).  Entries nobody
	** waits for (their caller was answered when the quorum was lost) just
	** leave once applied. */
	int durable = can_lead(r);
	struct write *w;
	struct member *m;
	size_t i, holders;

	while ((w = r->o_head) != NULL && w->delivered) {
		if (!durable && w->kind == WK_REQ && w->req_id)
			return;
		for (i = 0; durable && i < w->nreq; i++) {
			m = member_find(r, w->req[i]);
			if (m == NULL || m->expelled)
				continue;
			if (!has_acked(m, w))
				return;
		}
		for (i = 0, holders = 0; i < r->nmembers; i++)
			if (!r->members[i].expelled && has_acked(&r->members[i], w))
				holders++;
		if (durable && !majority(r, holders))
			return;
		r->o_head = w->next;
		if (r->o_head == NULL)
			r->o_tail = NULL;
		r->nout--;
		if (w->kind == WK_REQ && w->req_id)
			r->io.done(r->io.arg, w->req_id, REPL_OK);
		write_free(w);
	}
}

/* After a change was applied here (READY). */
static void
applied(struct repl *r, uint64_t now, uint64_t term, uint64_t seq)
{
	struct write *w = r->o_tail;
	struct member *self;
	size_t i;

	if (r->is_master) {
		if (w && !w->delivered && w->term == term && w->seq == seq) {
			w->delivered = 1;
			w->nreq = r->nmembers;
			for (i = 0; i < r->nmembers; i++)
				w->req[i] = r->members[i].nodeid;
		}
		self = member_find(r, r->nodeid);
		if (self) {
			self->acked_term = term;
			self->acked_seq = seq;
		}
		if (!r->announced && term >= r->new_term)
			r->announced = 1;
	}
	send_ack(r, term, seq);
}

/* Apply one change delivered from the master: 0, or -1 on a gap, a stale
** term or a failed apply. */
static int
apply_one(struct repl *r, uint64_t now, uint64_t term, uint64_t seq, const void *cs, size_t len)
{
	uint64_t t, s;

	if (position(r, &t, &s) < 0)
		return -1;
	if (seq != s + 1 || term < t) {
		log_warnx("host %s: change (%" PRIu64 ", %" PRIu64 ") does not follow (%" PRIu64
		          ", %" PRIu64 ")",
		          r->cfg.host_uuid, term, seq, t, s);
		return -1;
	}
	if (r->store.apply(r->store.arg, term, seq, cs, len) < 0) {
		log_warnx("host %s: applying change (%" PRIu64 ", %" PRIu64 ") failed",
		          r->cfg.host_uuid, term, seq);
		return -1;
	}
	applied(r, now, term, seq);
	return 0;
}

/* Apply the buffered changes that follow our position, up to seq `upto`,
** only those sent by `only_from` (0: any); `clear` empties the buffer.
** -1 on a gap or a failure. */
static int
apply_buffered(struct repl *r, uint64_t now, uint64_t upto, uint32_t only_from, int clear)
{
	uint64_t t, s;
	size_t i;
	int rc = 0;

	if (position(r, &t, &s) < 0)
		rc = -1;
	else if (r->buf_dropped_from == r->master && r->buf_dropped_seq > s &&
	         r->buf_dropped_seq <= upto)
		rc = -1; /* part of the tail was dropped */
	for (i = 0; rc == 0 && i < r->nbuf; i++) {
		if (r->buf[i].seq <= s)
			continue;
		if (r->buf[i].seq > upto)
			break;
		if (only_from && r->buf[i].from != only_from)
			continue; /* a stale master's, that the master did not apply */
		rc = apply_one(r, now, r->buf[i].term, r->buf[i].seq, r->buf[i].cs, r->buf[i].len);
		s = r->buf[i].seq;
	}
	if (clear && rc == 0)
		buffer_reset(r);
	else if (clear)
		buffer_drop(r);
	return rc;
}

static void
snap_reset(struct repl *r)
{
	xfree(r->snap);
	r->snap = NULL;
	r->snap_total = r->snap_got = 0;
}

/* A member leaves READY to ask the master for a snapshot. */
static void
go_syncing(struct repl *r, uint64_t now, const char *why, int drop_buffer)
{
	set_phase(r, REPL_PHASE_SYNCING, why);
	r->primary = 0;
	if (drop_buffer)
		buffer_drop(r);
	snap_reset(r);
	r->t_progress = now;
	send_state(r, now);
}

/* The master applies its own change and fails: its database can no longer
** be trusted to lead.  It resigns: a STATE with RESIGN, delivered in total
** order, makes every member of the view (itself included) start a new
** election round under a derived view hash (docs/cluster.md). */
static void
resign(struct repl *r, uint64_t now, const char *why)
{
	log_errx("host %s: resigning as master (%s)", r->cfg.host_uuid, why);
	lose_mastership(r, why);
	set_master(r, 0, NULL);
	r->primary = 0;
	set_phase(r, REPL_PHASE_ELECTING, why);
	r->state_collected = 0; /* no STATE_TIMEOUT for the round we left */
	send_state_flags(r, now, REPL_STATE_RESIGN);
}

/* Become READY after a sync point or a restore: apply the tail. */
static int
enter_ready(struct repl *r, uint64_t now, const char *why)
{
	int rc = apply_buffered(r, now, UINT64_MAX, r->master, 1);

	if (rc < 0 && !r->is_master)
		return -1;
	set_phase(r, REPL_PHASE_READY, why);
	snap_reset(r);
	if (can_lead(r))
		r->primary = 1;
	return 0;
}

/* Multicast our whole database for the members that are not in sync. */
static void
send_snapshot_stream(struct repl *r, uint64_t now)
{
	struct repl_msg m;
	void *img = NULL;
	size_t len = 0, off;
	uint32_t n;

	if (r->store.snapshot(r->store.arg, &img, &len) < 0 || len == 0 ||
	    len > REPL_SNAPSHOT_MAX) {
		log_errx("host %s: cannot take a snapshot of the database (%zu bytes)",
		         r->cfg.host_uuid, len);
		xfree(img);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = REPL_MSG_SNAPSHOT;
	m.u.snapshot.view_hash = r->view_hash;
	position(r, &m.u.snapshot.term, &m.u.snapshot.seq);
	checksum(r, m.u.snapshot.checksum);
	m.u.snapshot.total = (uint32_t)len;
	for (off = 0; off < len; off += n) {
		n = (uint32_t)(len - off > REPL_CHUNK_MAX ? REPL_CHUNK_MAX : len - off);
		m.u.snapshot.offset = (uint32_t)off;
		m.u.snapshot.data = (const uint8_t *)img + off;
		m.u.snapshot.len = n;
		if (send_msg(r, &m) < 0)
			break;
	}
	if (off >= len)
		r->snapshots_sent++;
	log_info("host %s: sent a snapshot at (%" PRIu64 ", %" PRIu64 "), %zu bytes",
	         r->cfg.host_uuid, m.u.snapshot.term, m.u.snapshot.seq, len);
	xfree(img);
}

static void
send_sync_point(struct repl *r)
{
	struct repl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = REPL_MSG_SNAPSHOT;
	m.u.snapshot.view_hash = r->view_hash;
	position(r, &m.u.snapshot.term, &m.u.snapshot.seq);
	checksum(r, m.u.snapshot.checksum);
	send_msg(r, &m);
}

/* ---- election ---- */

static int
pos_greater(uint64_t t1, uint64_t s1, uint64_t t2, uint64_t s2)
{
	return t1 > t2 || (t1 == t2 && s1 > s2);
}

static void
start_election(struct repl *r, uint64_t now)
{
	size_t i;

	for (i = 0; i < r->nmembers; i++)
		r->members[i].have_state = r->members[i].timed_out = 0;
	r->state_sent = r->state_collected = 0;
	r->timeout_seen = 0;
	r->t_timeout_sent = 0;
	r->t_view = now;
	if (r->phase != REPL_PHASE_DOWN)
		set_phase(r, REPL_PHASE_ELECTING, "new view");
	snap_reset(r);
	send_state(r, now);
}

/* Once every member's STATE (or the STATE_TIMEOUT) is in: everyone computes
** the same winner from the same delivered data. */
static void
try_elect(struct repl *r, uint64_t now)
{
	struct member *m, *win = NULL, *self;
	uint64_t maxterm_elig = 0, maxterm_all = 0, t, s;
	int any_primary = 0, was_master, all_equal, sticky;
	uint8_t cs[REPL_CHECKSUM_LEN];
	size_t i, ncand = 0;
	uint32_t prev_master;

	if (r->phase != REPL_PHASE_ELECTING || !r->in_view)
		return;
	for (i = 0; i < r->nmembers; i++) {
		m = &r->members[i];
		if (m->timed_out)
			continue;
		if (!m->have_state)
			return;
		ncand++;
		if (m->flags & REPL_STATE_PRIMARY)
			any_primary = 1;
		if (m->term > maxterm_all)
			maxterm_all = m->term;
	}
	if (ncand == 0 || (r->timeout_seen && !majority(r, ncand))) {
		/* The silent ones are too many to decide without them: take the
		** timeout back and wait for their STATEs or a new view. */
		log_info("host %s: only %zu STATEs, not enough to elect without the others",
		         r->cfg.host_uuid, ncand);
		for (i = 0; i < r->nmembers; i++)
			if (r->members[i].timed_out) {
				r->members[i].timed_out = 0;
				r->members[i].expelled = 0;
			}
		r->timeout_seen = 0;
		r->t_timeout_sent = now;
		return;
	}
	for (i = 0; i < r->nmembers; i++) {
		m = &r->members[i];
		if (m->timed_out || (any_primary && !(m->flags & REPL_STATE_PRIMARY)))
			continue;
		if (m->term > maxterm_elig)
			maxterm_elig = m->term;
	}
	/* Sticky: a live master with the greatest eligible term stays. */
	for (i = 0; i < r->nmembers; i++) {
		m = &r->members[i];
		if (m->timed_out || (any_primary && !(m->flags & REPL_STATE_PRIMARY)))
			continue;
		if (!(m->flags & REPL_STATE_MASTER) || m->term != maxterm_elig)
			continue;
		if (win == NULL || m->seq > win->seq ||
		    (m->seq == win->seq && m->nodeid < win->nodeid))
			win = m;
	}
	sticky = win != NULL;
	for (i = 0; !sticky && i < r->nmembers; i++) {
		m = &r->members[i];
		if (m->timed_out || (any_primary && !(m->flags & REPL_STATE_PRIMARY)))
			continue;
		if (win == NULL || pos_greater(m->term, m->seq, win->term, win->seq) ||
		    (m->term == win->term && m->seq == win->seq && m->nodeid < win->nodeid))
			win = m;
	}
	if (NEVER(win == NULL))
		return;
	for (i = 0; i < r->nmembers; i++) {
		m = &r->members[i];
		log_debug("host %s: candidate %" PRIu32 " (%" PRIu64 ", %" PRIu64 ") flags %" PRIu32
		          "%s",
		          r->cfg.host_uuid, m->nodeid, m->term, m->seq, m->flags,
		          m->timed_out ? " timed out" : "");
	}
	r->elections++;
	r->buf_dropped_seq = 0; /* a new sync point for everyone */
	r->buf_dropped_from = 0;
	r->sync_quorate = quorate_now(r) && r->view_ring == r->ring_seq && majority(r, r->nmembers);
	log_info("host %s: election in view %016" PRIx64 ": node %" PRIu32 " wins at (%" PRIu64
	         ", %" PRIu64 ")%s",
	         r->cfg.host_uuid, r->view_hash, win->nodeid, win->term, win->seq,
	         (win->flags & REPL_STATE_MASTER) ? " (sticky)" : "");
	self = member_find(r, r->nodeid);

	if (win->nodeid != r->nodeid) {
		if (r->is_master)
			lose_mastership(r, "another master elected");
		set_master(r, win->nodeid, win->host_uuid);
		set_phase(r, REPL_PHASE_SYNCING, "waiting for the master's sync point");
		r->t_progress = now;
		r->buf_presync = r->nbuf;
		if (self && self->timed_out) {
			/* Named by the STATE_TIMEOUT: treated as expelled. */
			r->primary = 0;
			buffer_drop(r);
			send_state(r, now);
		}
		return;
	}

	was_master = self && (self->flags & REPL_STATE_MASTER) && r->is_master;
	prev_master = r->master;
	set_master(r, r->nodeid, r->cfg.host_uuid);
	if (!was_master) {
		fail_writes(r, REPL_ENOTMASTER, REPL_ELOST, 0);
		r->is_master = 1;
		r->announced = 0;
		r->new_term = maxterm_all + 1;
	} else if (!r->announced && !(r->o_tail && !r->o_tail->delivered) &&
	           r->new_term < maxterm_all + 1) {
		r->new_term = maxterm_all + 1;
	}
	all_equal = position(r, &t, &s) == 0 && checksum(r, cs) == 0;
	for (i = 0; all_equal && i < r->nmembers; i++) {
		m = &r->members[i];
		if (m->timed_out)
			continue;
		if (m->term != t || m->seq != s || memcmp(m->checksum, cs, REPL_CHECKSUM_LEN) != 0)
			all_equal = 0;
	}
	/* The changes delivered while electing (from the previous master) are
	** in every member's buffer too: apply them first, so that the sync
	** point or snapshot is the position everyone must reach. */
	if (apply_buffered(r, now, UINT64_MAX, prev_master, 1) < 0) {
		resign(r, now, "cannot apply the changes delivered during the election");
		return;
	}
	if (all_equal)
		send_sync_point(r);
	else
		send_snapshot_stream(r, now);
	enter_ready(r, now, "elected master");
	pump(r, now);
}

/* ---- delivered messages ---- */

static void
on_state(struct repl *r, uint64_t now, uint32_t from, const struct repl_msg *msg)
{
	struct member *m = member_find(r, from);

	if (m == NULL || msg->u.state.view_hash != r->view_hash)
		return;
	if (from == r->nodeid)
		r->state_delivered = 1;
	if (msg->u.state.flags & REPL_STATE_RESIGN) {
		if (from != r->master && from != r->nodeid)
			return;
		/* The master resigned: a new round in this view, under a hash
		** that no STATE of the old round carries. */
		log_info("host %s: node %" PRIu32 " resigned as master", r->cfg.host_uuid, from);
		if (from == r->master)
			set_master(r, 0, NULL);
		r->view_hash = (r->view_hash ^ 0x524553494721ull) * 0x100000001b3ull;
		start_election(r, now);
		return;
	}
	if (r->phase != REPL_PHASE_ELECTING) {
		if (r->is_master && r->phase == REPL_PHASE_READY && from != r->nodeid) {
			/* A member asks to be resynchronised. */
			if (m->expelled)
				m->resync_seen = 1;
			memcpy(m->host_uuid, msg->u.state.host_uuid, HA_UUID_LEN);
			send_snapshot_stream(r, now);
			return;
		} else {
			return;
		}
	}
	if (m->have_state)
		return;
	m->have_state = 1;
	m->term = msg->u.state.term;
	m->seq = msg->u.state.seq;
	memcpy(m->checksum, msg->u.state.checksum, REPL_CHECKSUM_LEN);
	m->flags = msg->u.state.flags;
	memcpy(m->host_uuid, msg->u.state.host_uuid, HA_UUID_LEN);
	if (from == r->nodeid)
		r->state_collected = 1;
	try_elect(r, now);
}

static void
on_timeout(struct repl *r, uint64_t now, uint32_t from, const struct repl_msg *msg)
{
	struct member *m;
	uint32_t i;

	if (r->phase != REPL_PHASE_ELECTING || msg->u.nodes.view_hash != r->view_hash ||
	    r->timeout_seen || member_find(r, from) == NULL)
		return;
	r->timeout_seen = 1;
	for (i = 0; i < msg->u.nodes.n; i++) {
		m = member_find(r, msg->u.nodes.nodeids[i]);
		if (m == NULL)
			continue;
		m->timed_out = 1;
		m->expelled = 1;
		m->resync_seen = 0;
		log_info("host %s: node %" PRIu32 " sent no STATE in time, expelled",
		         r->cfg.host_uuid, m->nodeid);
	}
	try_elect(r, now);
}

static void
on_change(struct repl *r, uint64_t now, uint32_t from, const struct repl_msg *msg)
{
	/* From the master; while electing without a known master (we just
	** joined), from any member: the others buffer the previous master's
	** changes, and the term and seq checks at apply time keep the rest out. */
	if (from == 0 ||
	    (from != r->master && !(r->master == 0 && r->phase == REPL_PHASE_ELECTING &&
	                            member_find(r, from) != NULL))) {
		r->dropped++;
		log_debug("host %s: CHANGE from node %" PRIu32 ", not the master, dropped",
		          r->cfg.host_uuid, from);
		return;
	}
	if (r->phase != REPL_PHASE_READY) {
		buffer_add(r, from, msg->u.change.term, msg->u.change.seq, msg->u.change.cs,
		           msg->u.change.len);
		return;
	}
	if (apply_one(r, now, msg->u.change.term, msg->u.change.seq, msg->u.change.cs,
	              msg->u.change.len) == 0) {
		if (r->is_master) {
			check_completions(r);
			pump(r, now);
		}
		return;
	}
	if (r->is_master) {
		resign(r, now, "cannot apply its own change");
		return;
	}
	/* Keep the change: the snapshot we ask for may end just before it. */
	go_syncing(r, now, "a change could not be applied", 1);
	buffer_add(r, from, msg->u.change.term, msg->u.change.seq, msg->u.change.cs,
	           msg->u.change.len);
}

static void
on_ack(struct repl *r, uint64_t now, uint32_t from, const struct repl_msg *msg)
{
	struct member *m = member_find(r, from);
	uint64_t t, s;

	if (m == NULL)
		return;
	if (pos_greater(msg->u.ack.term, msg->u.ack.seq, m->acked_term, m->acked_seq)) {
		m->acked_term = msg->u.ack.term;
		m->acked_seq = msg->u.ack.seq;
	}
	if (m->expelled && position(r, &t, &s) == 0 &&
	    ((msg->u.ack.term == t && msg->u.ack.seq == s) || m->resync_seen)) {
		m->expelled = 0;
		m->resync_seen = 0;
		log_info("host %s: node %" PRIu32 " is back in sync", r->cfg.host_uuid, from);
	}
	if (r->is_master)
		check_completions(r);
}

static void
on_propose(struct repl *r, uint64_t now, uint32_t from, const struct repl_msg *msg)
{
	struct write *w;

	if (!r->is_master || !can_lead(r) || member_find(r, from) == NULL)
		return;
	if (msg->u.propose.len == 0)
		return;
	w = xcalloc(1, sizeof(*w));
	w->kind = WK_PROPOSAL;
	w->blob = xmalloc(msg->u.propose.len);
	memcpy(w->blob, msg->u.propose.cs, msg->u.propose.len);
	w->len = msg->u.propose.len;
	queue_push(r, w);
	pump(r, now);
}

static void
on_snapshot(struct repl *r, uint64_t now, uint32_t from, const struct repl_msg *msg)
{
	typeof(msg->u.snapshot) *sn = &msg->u.snapshot;
	uint64_t t, s;
	uint8_t cs[REPL_CHECKSUM_LEN];

	if (from != r->master || from == r->nodeid || sn->view_hash != r->view_hash ||
	    r->phase != REPL_PHASE_SYNCING)
		return;
	if (!r->state_delivered || (sn->total > 0 && sn->offset > 0 && r->snap == NULL))
		return; /* not the answer to our last request */
	r->t_progress = now;
	if (sn->total > 0)
		buffer_drop_presync(r);
	if (sn->total == 0 && !in_sync_with(r, sn->term, sn->seq, sn->checksum))
		/* Our base equalled the master's: the buffered changes it applied
		** before sending this should take us there too. */
		apply_buffered(r, now, sn->seq, 0, 0);
	if (sn->total == 0)
		buffer_reset(r); /* the master had applied every change before it */
	if (sn->total == 0 ||
	    (sn->offset == 0 && in_sync_with(r, sn->term, sn->seq, sn->checksum))) {
		if (in_sync_with(r, sn->term, sn->seq, sn->checksum) &&
		    enter_ready(r, now, "in sync with the master") == 0) {
			position(r, &t, &s);
			send_ack(r, t, s);
			return;
		}
		go_syncing(r, now, "not in sync with the master", 0);
		return;
	}
	if (sn->offset == 0) {
		snap_reset(r);
		r->snap = xmalloc(sn->total);
		r->snap_total = sn->total;
		r->snap_term = sn->term;
		r->snap_seq = sn->seq;
		memcpy(r->snap_cs, sn->checksum, REPL_CHECKSUM_LEN);
	} else if (r->snap == NULL || sn->offset != r->snap_got || sn->total != r->snap_total ||
	           sn->term != r->snap_term || sn->seq != r->snap_seq ||
	           memcmp(sn->checksum, r->snap_cs, REPL_CHECKSUM_LEN) != 0) {
		if (r->snap == NULL)
			return; /* the middle of a stream we did not start: wait for ours */
		log_warnx("host %s: snapshot chunk at %" PRIu32 " does not follow, discarded",
		          r->cfg.host_uuid, sn->offset);
		go_syncing(r, now, "snapshot out of order", 0);
		return;
	}
	memcpy(r->snap + sn->offset, sn->data, sn->len);
	r->snap_got = sn->offset + sn->len;
	if (r->snap_got < r->snap_total)
		return;

	if (r->store.restore(r->store.arg, r->snap, r->snap_total) < 0 || position(r, &t, &s) < 0 ||
	    t != r->snap_term || s != r->snap_seq || checksum(r, cs) < 0 ||
	    memcmp(cs, r->snap_cs, REPL_CHECKSUM_LEN) != 0) {
		log_warnx("host %s: restoring the snapshot failed", r->cfg.host_uuid);
		go_syncing(r, now, "snapshot restore failed", 0);
		return;
	}
	snap_reset(r);
	r->snapshots_received++;
	log_info("host %s: restored a snapshot at (%" PRIu64 ", %" PRIu64 ")", r->cfg.host_uuid, t,
	         s);
	r->io.restored(r->io.arg);
	if (enter_ready(r, now, "restored the master's snapshot") < 0) {
		go_syncing(r, now, "the changes after the snapshot could not be applied", 0);
		return;
	}
	position(r, &t, &s);
	send_ack(r, t, s);
}

static void
on_expel(struct repl *r, uint64_t now, uint32_t from, const struct repl_msg *msg)
{
	struct member *m;
	uint32_t i;
	int me = 0;

	if (from != r->master || msg->u.nodes.view_hash != r->view_hash)
		return;
	for (i = 0; i < msg->u.nodes.n; i++) {
		m = member_find(r, msg->u.nodes.nodeids[i]);
		if (m == NULL || m->nodeid == r->master)
			continue;
		if (!m->expelled)
			log_info("host %s: node %" PRIu32 " expelled by the master",
			         r->cfg.host_uuid, m->nodeid);
		m->expelled = 1;
		m->resync_seen = 0;
		if (m->nodeid == r->nodeid)
			me = 1;
	}
	if (me && r->phase != REPL_PHASE_ELECTING)
		go_syncing(r, now, "expelled by the master", 1);
	else if (me)
		r->primary = 0;
	if (r->is_master)
		check_completions(r);
}

static void
log_drop(struct repl *r, uint32_t from, const char *why)
{
	r->dropped++;
	if ((r->dropped & (r->dropped - 1)) == 0)
		log_warnx("host %s: message from node %" PRIu32 " dropped (%s), %" PRIu64 " so far",
		          r->cfg.host_uuid, from, why, r->dropped);
	else
		log_debug("host %s: message from node %" PRIu32 " dropped (%s)", r->cfg.host_uuid,
		          from, why);
}

void
repl_deliver(struct repl *r, uint64_t now, uint32_t from, const void *buf, size_t len)
{
	struct repl_msg *msg;
	const char *why = NULL;

	if (r == NULL || r->phase == REPL_PHASE_DOWN || !r->in_view)
		return;
	msg = xmalloc(sizeof(*msg));
	if (repl_msg_decode(buf, len, msg, &why) < 0) {
		log_drop(r, from, why);
		goto out;
	}
	if (memcmp(msg->pool_id, r->pool_id, 16) != 0) {
		log_drop(r, from, "another pool");
		goto out;
	}
	switch (msg->type) {
	case REPL_MSG_STATE:
		on_state(r, now, from, msg);
		break;
	case REPL_MSG_CHANGE:
		on_change(r, now, from, msg);
		break;
	case REPL_MSG_ACK:
		on_ack(r, now, from, msg);
		break;
	case REPL_MSG_PROPOSE:
		on_propose(r, now, from, msg);
		break;
	case REPL_MSG_SNAPSHOT:
		on_snapshot(r, now, from, msg);
		break;
	case REPL_MSG_STATE_TIMEOUT:
		on_timeout(r, now, from, msg);
		break;
	case REPL_MSG_EXPEL:
		on_expel(r, now, from, msg);
		break;
	}
out:
	xfree(msg);
	notify(r);
}

/* ---- writes ---- */

/* Capture and multicast the next write while we may, one in flight. */
static void
pump(struct repl *r, uint64_t now)
{
	struct repl_msg m;
	struct write *w;
	void *cs;
	size_t len;
	uint64_t t, s;
	int rc;

	if (r->pumping)
		return;
	r->pumping = 1;
	while (r->is_master && r->phase == REPL_PHASE_READY && can_lead(r)) {
		if (r->o_tail && !r->o_tail->delivered)
			break;
		if (!r->announced) {
			w = xcalloc(1, sizeof(*w));
			w->kind = WK_ANNOUNCE;
		} else if ((w = queue_pop(r)) == NULL) {
			break;
		}
		cs = NULL;
		len = 0;
		switch (w->kind) {
		case WK_ANNOUNCE:
			rc = r->io.capture(r->io.arg, 0, &cs, &len);
			if (rc < 0) {
				log_warnx("host %s: the announcement could not be captured, "
				          "announcing an empty change",
				          r->cfg.host_uuid);
				cs = NULL;
				len = 0;
			}
			break;
		case WK_REQ:
			rc = r->io.capture(r->io.arg, w->req_id, &cs, &len);
			break;
		case WK_PROPOSAL:
			rc = r->store.propose(r->store.arg, w->blob, w->len, &cs, &len);
			break;
		default:
			rc = -1;
		}
		if (w->kind != WK_ANNOUNCE && (rc < 0 || len > REPL_CHUNK_MAX)) {
			if (rc == 0)
				log_warnx("host %s: a change of %zu bytes is too large",
				          r->cfg.host_uuid, len);
			if (w->kind == WK_REQ)
				r->io.done(r->io.arg, w->req_id, REPL_EFAIL);
			xfree(cs);
			write_free(w);
			continue;
		}
		if (w->kind != WK_ANNOUNCE && len == 0) {
			if (w->kind == WK_REQ)
				r->io.done(r->io.arg, w->req_id, REPL_OK);
			xfree(cs);
			write_free(w);
			continue;
		}
		if (len > REPL_CHUNK_MAX) {
			xfree(cs);
			cs = NULL;
			len = 0;
		}
		position(r, &t, &s);
		memset(&m, 0, sizeof(m));
		m.type = REPL_MSG_CHANGE;
		m.u.change.term = w->kind == WK_ANNOUNCE ? r->new_term : t;
		m.u.change.seq = s + 1;
		m.u.change.origin = r->nodeid;
		m.u.change.cs = cs;
		m.u.change.len = (uint32_t)len;
		w->term = m.u.change.term;
		w->seq = m.u.change.seq;
		w->sent_at = now;
		xfree(w->blob);
		w->blob = NULL;
		rc = send_msg(r, &m);
		xfree(cs);
		if (rc < 0) {
			if (w->kind == WK_REQ)
				r->io.done(r->io.arg, w->req_id, REPL_ELOST);
			write_free(w);
			break;
		}
		out_push(r, w);
	}
	r->pumping = 0;
}

int
repl_write(struct repl *r, uint64_t now, uint64_t req_id)
{
	struct write *w;

	if (r == NULL || req_id == 0 || !r->is_master || !can_lead(r))
		return -1;
	w = xcalloc(1, sizeof(*w));
	w->kind = WK_REQ;
	w->req_id = req_id;
	queue_push(r, w);
	pump(r, now);
	notify(r);
	return 0;
}

int
repl_propose(struct repl *r, uint64_t now, const void *cs, size_t len)
{
	struct repl_msg m;
	struct write *w;
	uint64_t t, s;

	if (r == NULL || r->phase == REPL_PHASE_DOWN || len > REPL_CHUNK_MAX)
		return -1;
	if (r->is_master) {
		if (!can_lead(r))
			return -1;
		if (len == 0)
			return 0;
		w = xcalloc(1, sizeof(*w));
		w->kind = WK_PROPOSAL;
		w->blob = xmalloc(len);
		memcpy(w->blob, cs, len);
		w->len = len;
		queue_push(r, w);
		pump(r, now);
		notify(r);
		return 0;
	}
	if (r->master == 0 || !r->in_view)
		return -1;
	memset(&m, 0, sizeof(m));
	m.type = REPL_MSG_PROPOSE;
	position(r, &t, &s);
	m.u.propose.base_term = t;
	m.u.propose.base_seq = s;
	m.u.propose.cs = cs;
	m.u.propose.len = (uint32_t)len;
	return send_msg(r, &m);
}

/* ---- membership, quorum, timers ---- */

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void
repl_view(struct repl *r, uint64_t now, const uint32_t *ids, size_t n)
{
	struct member old[REPL_MAX_MEMBERS], *m;
	uint32_t sorted[REPL_MAX_MEMBERS];
	size_t nold, i, k = 0;
	uint64_t h = 0xcbf29ce484222325ull;
	int j;

	if (r == NULL || !r->up)
		return;
	for (i = 0; i < n; i++) {
		if (ids[i] == 0)
			continue;
		for (j = 0; j < (int)k; j++)
			if (sorted[j] == ids[i])
				break;
		if (j < (int)k)
			continue;
		if (k == REPL_MAX_MEMBERS) {
			log_errx("host %s: more than %d members in the view, ignoring the rest",
			         r->cfg.host_uuid, REPL_MAX_MEMBERS);
			break;
		}
		sorted[k++] = ids[i];
	}
	qsort(sorted, k, sizeof(sorted[0]), cmp_u32);
	for (i = 0; i < k; i++)
		for (j = 0; j < 4; j++) {
			h ^= (uint8_t)(sorted[i] >> (24 - 8 * j));
			h *= 0x100000001b3ull;
		}

	nold = r->nmembers;
	memcpy(old, r->members, nold * sizeof(old[0]));
	r->nmembers = 0;
	r->in_view = 0;
	for (i = 0; i < k; i++) {
		m = &r->members[r->nmembers++];
		memset(m, 0, sizeof(*m));
		m->nodeid = sorted[i];
		for (j = 0; j < (int)nold; j++)
			if (old[j].nodeid == sorted[i]) {
				*m = old[j];
				break;
			}
		if (sorted[i] == r->nodeid)
			r->in_view = 1;
	}
	r->view_hash = h;
	r->view_ring = r->ring_seq;
	log_info("host %s: view %016" PRIx64 " with %zu members", r->cfg.host_uuid, h, k);

	if (r->is_master && !majority(r, r->nmembers)) {
		log_info("host %s: the view holds no majority of the %" PRIu32 " hosts",
		         r->cfg.host_uuid, r->cfg.hosts);
		fail_writes(r, REPL_ENOTMASTER, REPL_ELOST, 1);
	}
	if (!r->in_view) {
		lose_mastership(r, "not in the view");
		set_master(r, 0, NULL);
		r->primary = 0;
	} else if (r->master && member_find(r, r->master) == NULL) {
		set_master(r, 0, NULL);
	}
	if (r->phase == REPL_PHASE_DOWN)
		set_phase(r, REPL_PHASE_ELECTING, "first view");
	start_election(r, now);
	if (r->is_master)
		check_completions(r);
	notify(r);
}

void
repl_ring(struct repl *r, uint64_t now, uint64_t ring_seq)
{
	if (r == NULL)
		return;
	/* corosync reports a group change before the ring change that caused
	** it; the daemon holds the view back for the ring, but if the ring comes
	** later still, the election it started is the election of this ring:
	** its STATEs are delivered in it.  (A minority view gains nothing by
	** this: leading also needs a majority of the pool's hosts.) */
	if (r->phase == REPL_PHASE_ELECTING && r->in_view && r->view_ring != ring_seq)
		r->view_ring = ring_seq;
	r->ring_seq = ring_seq;
	notify(r);
}

/* The view of this ring, elected before its quorum (repl_quorum) or its
** majority (repl_peer_dead) came, may lead now. */
static void
may_lead_now(struct repl *r, uint64_t now)
{
	if (quorate_now(r) && r->view_ring == r->ring_seq && r->in_view &&
	    majority(r, r->nmembers) && r->phase != REPL_PHASE_ELECTING &&
	    r->phase != REPL_PHASE_DOWN)
		r->sync_quorate = 1;
	if (r->phase == REPL_PHASE_READY && can_lead(r))
		r->primary = 1;
	pump(r, now);
	notify(r);
}

void
repl_quorum(struct repl *r, uint64_t now, uint64_t ring_seq, int quorate)
{
	if (r == NULL)
		return;
	r->quorum_ring = ring_seq;
	r->quorum_ok = quorate != 0;
	if (ring_seq == r->ring_seq && !quorate) {
		if (r->is_master && (r->nqueued || r->nout))
			log_info("host %s: quorum lost, failing pending writes", r->cfg.host_uuid);
		fail_writes(r, REPL_ENOTMASTER, REPL_ELOST, 1);
		r->primary = 0;
		r->sync_quorate = 0;
	}
	may_lead_now(r, now);
}

void
repl_up(struct repl *r, uint64_t now, uint32_t local_nodeid)
{
	if (r == NULL)
		return;
	r->up = 1;
	r->nodeid = local_nodeid;
	notify(r);
}

void
repl_down(struct repl *r, uint64_t now)
{
	if (r == NULL)
		return;
	lose_mastership(r, "disconnected from corosync");
	fail_writes(r, REPL_ENOTMASTER, REPL_ELOST, 0);
	set_phase(r, REPL_PHASE_DOWN, "disconnected from corosync");
	set_master(r, 0, NULL);
	r->primary = 0;
	r->up = 0;
	r->nmembers = 0;
	r->in_view = 0;
	r->view_hash = 0;
	buffer_reset(r);
	snap_reset(r);
	notify(r);
}

/* The oldest delivered change not yet acknowledged by all. */
static struct write *
oldest_unacked(const struct repl *r)
{
	struct write *w = r->o_head;

	return w && w->delivered ? w : NULL;
}

void
repl_tick(struct repl *r, uint64_t now)
{
	struct repl_msg m;
	struct member *mb;
	struct write *w;
	size_t i;

	if (r == NULL || r->phase == REPL_PHASE_DOWN || !r->in_view)
		return;
	if (r->phase == REPL_PHASE_ELECTING) {
		if (!r->state_sent && now >= r->t_state + r->cfg.state_timeout_ms) {
			send_state(r, now);
		} else if (r->state_collected && !r->timeout_seen &&
		           now >= (r->t_timeout_sent ? r->t_timeout_sent : r->t_view) +
		                      r->cfg.state_timeout_ms) {
			memset(&m, 0, sizeof(m));
			m.type = REPL_MSG_STATE_TIMEOUT;
			m.u.nodes.view_hash = r->view_hash;
			for (i = 0; i < r->nmembers; i++)
				if (!r->members[i].have_state)
					m.u.nodes.nodeids[m.u.nodes.n++] = r->members[i].nodeid;
			log_info("host %s: %" PRIu32 " members sent no STATE in %" PRIu32 " ms",
			         r->cfg.host_uuid, m.u.nodes.n, r->cfg.state_timeout_ms);
			r->t_timeout_sent = now;
			send_msg(r, &m);
		}
	}
	if (r->phase == REPL_PHASE_SYNCING && now >= r->t_progress + r->cfg.state_timeout_ms) {
		log_info("host %s: no snapshot progress, asking again", r->cfg.host_uuid);
		r->t_progress = now;
		snap_reset(r);
		send_state(r, now);
	}
	w = r->is_master ? oldest_unacked(r) : NULL;
	if (w && now >= (w->expel_at ? w->expel_at : w->sent_at) + r->cfg.ack_timeout_ms) {
		memset(&m, 0, sizeof(m));
		m.type = REPL_MSG_EXPEL;
		m.u.nodes.view_hash = r->view_hash;
		for (i = 0; i < w->nreq; i++) {
			mb = member_find(r, w->req[i]);
			if (mb == NULL || mb->expelled || mb->nodeid == r->nodeid)
				continue;
			if (!has_acked(mb, w))
				m.u.nodes.nodeids[m.u.nodes.n++] = mb->nodeid;
		}
		w->expel_at = now;
		if (m.u.nodes.n && !majority(r, live_members(r) - m.u.nodes.n)) {
			log_warnx("host %s: %" PRIu32 " members did not acknowledge change %" PRIu64
			          ", too many to expel without losing the quorum",
			          r->cfg.host_uuid, m.u.nodes.n, w->seq);
		} else if (m.u.nodes.n) {
			log_info("host %s: %" PRIu32 " members did not acknowledge change %" PRIu64
			         " in %" PRIu32 " ms, expelling them",
			         r->cfg.host_uuid, m.u.nodes.n, w->seq, r->cfg.ack_timeout_ms);
			send_msg(r, &m);
		}
	}
	notify(r);
}

uint64_t
repl_next_deadline(const struct repl *r)
{
	uint64_t d = UINT64_MAX, t;
	struct write *w;

	if (r == NULL || r->phase == REPL_PHASE_DOWN || !r->in_view)
		return UINT64_MAX;
	if (r->phase == REPL_PHASE_ELECTING) {
		if (!r->state_sent)
			d = r->t_state + r->cfg.state_timeout_ms;
		else if (r->state_collected && !r->timeout_seen)
			d = (r->t_timeout_sent ? r->t_timeout_sent : r->t_view) +
			    r->cfg.state_timeout_ms;
	}
	if (r->phase == REPL_PHASE_SYNCING) {
		t = r->t_progress + r->cfg.state_timeout_ms;
		if (t < d)
			d = t;
	}
	w = r->is_master ? oldest_unacked(r) : NULL;
	if (w) {
		t = (w->expel_at ? w->expel_at : w->sent_at) + r->cfg.ack_timeout_ms;
		if (t < d)
			d = t;
	}
	return d;
}

/* ---- status ---- */

void
repl_get_status(const struct repl *r, struct repl_status *st)
{
	const struct member *m;
	size_t i;

	memset(st, 0, sizeof(*st));
	st->phase = r->phase;
	st->nodeid = r->up ? r->nodeid : 0;
	st->master_nodeid = r->master;
	memcpy(st->master_uuid, r->master_uuid, HA_UUID_LEN);
	st->is_master = r->is_master;
	st->writable = writable(r);
	st->quorate = quorate_now(r);
	st->primary = r->primary;
	st->ring_seq = r->ring_seq;
	r->store.position(r->store.arg, &st->term, &st->seq);
	st->nmembers = r->nmembers;
	for (i = 0; i < r->nmembers; i++) {
		m = &r->members[i];
		st->members[i].nodeid = m->nodeid;
		memcpy(st->members[i].host_uuid, m->host_uuid, HA_UUID_LEN);
		st->members[i].acked_seq = m->acked_seq;
		st->members[i].expelled = m->expelled;
	}
	st->dropped = r->dropped;
	st->elections = r->elections;
	st->snapshots_sent = r->snapshots_sent;
	st->snapshots_received = r->snapshots_received;
	st->writes_queued = r->nqueued;
	st->writes_in_flight = r->nout;
}

/* The one place that reports status changes (STYLE habit 9). */
static void
notify(struct repl *r)
{
	struct repl_status *st;
	int w = writable(r), q = quorate_now(r);

	if (r->phase == REPL_PHASE_READY && can_lead(r))
		r->primary = 1;
	if (r->phase == r->r_phase && r->master == r->r_master && r->is_master == r->r_is_master &&
	    w == r->r_writable && q == r->r_quorate && r->primary == r->r_primary)
		return;
	if (r->phase != r->r_phase)
		log_info("host %s: %s -> %s (%s)", r->cfg.host_uuid, repl_phase_name(r->r_phase),
		         repl_phase_name(r->phase), r->why ? r->why : "-");
	if (r->master != r->r_master) {
		if (r->master)
			log_info("host %s: master is now node %" PRIu32 " (host %s)%s",
			         r->cfg.host_uuid, r->master, r->master_uuid,
			         r->is_master ? ", this host" : "");
		else
			log_info("host %s: master is now unknown", r->cfg.host_uuid);
	}
	if (r->primary != r->r_primary)
		log_debug("host %s: primary %d (ring %" PRIu64 ", view ring %" PRIu64 ")",
		          r->cfg.host_uuid, r->primary, r->ring_seq, r->view_ring);
	if (w != r->r_writable)
		log_info("host %s: %s", r->cfg.host_uuid,
		         w ? "writable master" : "no longer writable");
	r->r_phase = r->phase;
	r->r_master = r->master;
	r->r_is_master = r->is_master;
	r->r_writable = w;
	r->r_quorate = q;
	r->r_primary = r->primary;
	st = xmalloc(sizeof(*st));
	repl_get_status(r, st);
	r->io.status(r->io.arg, st);
	xfree(st);
}

/* ---- lifetime ---- */

struct repl *
repl_new(const struct repl_config *cfg, const struct repl_store *store, const struct repl_io *io)
{
	struct repl *r;

	if (!id_uuid_valid(cfg->pool_uuid) || !id_uuid_valid(cfg->host_uuid) ||
	    strlen(cfg->host_uuid) != REPL_UUID_WIRE) {
		log_errx("repl: bad pool or host uuid");
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->cfg = *cfg;
	if (r->cfg.state_timeout_ms == 0)
		r->cfg.state_timeout_ms = 3000;
	if (r->cfg.ack_timeout_ms == 0)
		r->cfg.ack_timeout_ms = 3000;
	if (id_uuid_to_bytes(cfg->pool_uuid, r->pool_id) < 0) {
		xfree(r);
		return NULL;
	}
	r->store = *store;
	r->io = *io;
	r->phase = REPL_PHASE_DOWN;
	r->r_phase = REPL_PHASE_DOWN;
	return r;
}

void
repl_free(struct repl *r)
{
	if (r == NULL)
		return;
	fail_writes(r, REPL_ELOST, REPL_ELOST, 0);
	buffer_reset(r);
	xfree(r->buf);
	snap_reset(r);
	xfree(r);
}

void
repl_set_hosts(struct repl *r, uint32_t hosts)
{
	if (r->cfg.hosts != hosts)
		log_info("host %s: the pool has %" PRIu32 " hosts now", r->cfg.host_uuid, hosts);
	r->cfg.hosts = hosts;
	if (hosts != 2)
		r->peer_dead = 0;
}

void
repl_peer_dead(struct repl *r, uint64_t now, int dead)
{
	if (r == NULL || r->cfg.hosts != 2 || !!dead == r->peer_dead)
		return;
	r->peer_dead = !!dead;
	log_notice("host %s: the other host of the pool is %s", r->cfg.host_uuid,
	           dead ? "certainly dead: this one alone holds the majority"
	                : "in the liveset again: writes need both hosts");
	/* A view of one holds no majority any more (as in repl_view). */
	if (!dead && r->is_master && !majority(r, r->nmembers))
		fail_writes(r, REPL_ENOTMASTER, REPL_ELOST, 1);
	may_lead_now(r, now);
}
