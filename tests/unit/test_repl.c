/*
** Unit tests of the replication and master election core (hasvc/repl.c),
** driven by an in-process simulator: N nodes, each with its own repl and a
** fake store, over a fake total-order bus.
**
** The fake store is a sorted map key -> value (values are nonzero; absent
** keys read 0).  A changeset is a list of ops {key, old, new} (new 0 =
** delete): strict apply fails unless every old value matches; propose
** re-applies leniently and returns the net effect; the checksum is FNV-1a
** over the map; a snapshot is (term, seq, map).
**
** The bus is one global FIFO.  Delivering pops the oldest message and hands
** it to every live (and not frozen) process in the sender's component at
** that moment; a frozen process keeps its deliveries in a backlog replayed
** on thaw.  Components change by calling repl_ring/repl_quorum/repl_view on
** their members; quorate = the component's live processes are a majority of
** N (what the daemon must pass, see docs/cluster.md).
*/
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "hasvc/repl.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define POOL       "11111111-2222-4333-8444-555555555555"
#define MAXN       7
#define KEY_MASTER 1u
#define KEY_PROP   0x1000u
#define KEY_WRITE  0x100000u

/* ---- the fake store ---- */

struct kv {
	uint32_t key, val;
};

struct op {
	uint32_t key, old, new;
};

struct fstore {
	struct kv *kv;
	size_t n, cap;
	uint64_t term, seq;
	int fail_apply; /* the next apply fails */
};

static uint32_t
fs_get(const struct fstore *s, uint32_t key)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->kv[mid].key == key)
			return s->kv[mid].val;
		if (s->kv[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static void
fs_set(struct fstore *s, uint32_t key, uint32_t val)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->kv[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->n && s->kv[lo].key == key) {
		if (val)
			s->kv[lo].val = val;
		else {
			memmove(&s->kv[lo], &s->kv[lo + 1], (s->n - lo - 1) * sizeof(s->kv[0]));
			s->n--;
		}
		return;
	}
	if (val == 0)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 32;
		s->kv = xreallocarray(s->kv, s->cap, sizeof(s->kv[0]));
	}
	memmove(&s->kv[lo + 1], &s->kv[lo], (s->n - lo) * sizeof(s->kv[0]));
	s->kv[lo].key = key;
	s->kv[lo].val = val;
	s->n++;
}

static int
fs_position(void *arg, uint64_t *term, uint64_t *seq)
{
	struct fstore *s = arg;

	*term = s->term;
	*seq = s->seq;
	return 0;
}

static uint64_t
fs_hash(const struct fstore *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const uint8_t *p = (const uint8_t *)s->kv;
	size_t i;

	for (i = 0; i < s->n * sizeof(s->kv[0]); i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int
fs_checksum(void *arg, uint8_t out[REPL_CHECKSUM_LEN])
{
	uint64_t h = fs_hash(arg);
	int i;

	for (i = 0; i < REPL_CHECKSUM_LEN; i++)
		out[i] = (uint8_t)(h >> (8 * (i % 8))) ^ (uint8_t)i;
	return 0;
}

static int
fs_apply(void *arg, uint64_t term, uint64_t seq, const void *cs, size_t len)
{
	struct fstore *s = arg;
	const struct op *ops = cs;
	size_t i, n = len / sizeof(struct op);

	if (s->fail_apply) {
		s->fail_apply = 0;
		return -1;
	}
	if (len % sizeof(struct op))
		return -1;
	for (i = 0; i < n; i++)
		if (fs_get(s, ops[i].key) != ops[i].old)
			return -1;
	for (i = 0; i < n; i++)
		fs_set(s, ops[i].key, ops[i].new);
	s->term = term;
	s->seq = seq;
	return 0;
}

static int
fs_propose(void *arg, const void *cs, size_t len, void **out, size_t *outlen)
{
	struct fstore *s = arg;
	const struct op *ops = cs;
	struct op *res;
	size_t i, k = 0, n = len / sizeof(struct op);

	*out = NULL;
	*outlen = 0;
	if (len % sizeof(struct op))
		return -1;
	res = xmalloc(len + 1);
	for (i = 0; i < n; i++) {
		uint32_t cur = fs_get(s, ops[i].key);

		if (cur != ops[i].new) {
			res[k].key = ops[i].key;
			res[k].old = cur;
			res[k].new = ops[i].new;
			k++;
		}
	}
	if (k == 0) {
		xfree(res);
		return 0;
	}
	*out = res;
	*outlen = k * sizeof(struct op);
	return 0;
}

static int
fs_snapshot(void *arg, void **img, size_t *len)
{
	struct fstore *s = arg;
	size_t n = 16 + s->n * sizeof(struct kv);
	uint8_t *p = xmalloc(n);

	memcpy(p, &s->term, 8);
	memcpy(p + 8, &s->seq, 8);
	memcpy(p + 16, s->kv, s->n * sizeof(struct kv));
	*img = p;
	*len = n;
	return 0;
}

static int
fs_restore(void *arg, const void *img, size_t len)
{
	struct fstore *s = arg;
	const uint8_t *p = img;

	if (len < 16 || (len - 16) % sizeof(struct kv))
		return -1;
	memcpy(&s->term, p, 8);
	memcpy(&s->seq, p + 8, 8);
	s->n = (len - 16) / sizeof(struct kv);
	if (s->n > s->cap) {
		s->cap = s->n;
		s->kv = xreallocarray(s->kv, s->cap, sizeof(s->kv[0]));
	}
	memcpy(s->kv, p + 16, len - 16);
	return 0;
}

/* ---- the simulator ---- */

enum { RC_PENDING = 1 };

struct req {
	int node;
	uint32_t key, val;
	int rc;
	int cold; /* S.cold when it was answered */
};

struct event {
	int is_view; /* 1 view, 2 ring, 3 quorum (ring = from, quorate = len) */
	int from;
	uint8_t *buf;
	size_t len;
	uint32_t members[MAXN];
	size_t nmembers;
};

struct node {
	int id; /* nodeid = index + 1 */
	struct fstore st;
	struct repl *r;
	int live, frozen, incarnation;
	int comp;
	struct repl_status last;
	int restored;
	struct event *backlog;
	size_t nbacklog;
};

struct msg {
	int from, incarnation;
	uint8_t *buf;
	size_t len;
};

static uint64_t cur_seed;
/* Deliver a view before its ring and quorum (what corosync's IPC may do
** when the two events reach the daemon in two dispatches); else after. */
static int view_first;

static struct sim {
	int n;
	struct node nodes[MAXN];
	uint64_t now;
	uint64_t ring;
	struct msg *q;
	size_t qhead, qlen, qcap;
	struct req *reqs;
	size_t nreqs, capreqs;
	uint32_t state_timeout, ack_timeout;
	/* Cold starts so far: moments when no running process was PRIMARY.
	** Acknowledged writes are promised to survive only while some
	** process stays PRIMARY (docs/cluster.md, known limits). */
	int cold, was_cold;
	int check_no_dup_done;
} S;

static int
io_send(void *arg, const void *buf, size_t len)
{
	struct node *nd = arg;
	struct msg *m;

	if (!nd->live)
		return -1;
	if (S.qlen == S.qcap) {
		S.qcap = S.qcap ? 2 * S.qcap : 256;
		S.q = xreallocarray(S.q, S.qcap, sizeof(*S.q));
	}
	m = &S.q[S.qlen++];
	m->from = nd->id;
	m->incarnation = nd->incarnation;
	m->buf = xmalloc(len);
	memcpy(m->buf, buf, len);
	m->len = len;
	return 0;
}

static int
io_capture(void *arg, uint64_t req_id, void **cs, size_t *len)
{
	struct node *nd = arg;
	struct op *o;
	uint32_t key, val;

	*cs = NULL;
	*len = 0;
	if (req_id == 0) {
		key = KEY_MASTER;
		val = (uint32_t)nd->id;
	} else {
		assert_true(req_id <= S.nreqs);
		assert_int_equal(S.reqs[req_id - 1].node, nd->id);
		key = S.reqs[req_id - 1].key;
		val = S.reqs[req_id - 1].val;
	}
	if (fs_get(&nd->st, key) == val)
		return 0;
	o = xmalloc(sizeof(*o));
	o->key = key;
	o->old = fs_get(&nd->st, key);
	o->new = val;
	*cs = o;
	*len = sizeof(*o);
	return 0;
}

static void
io_done(void *arg, uint64_t req_id, int rc)
{
	struct node *nd = arg;

	assert_true(req_id >= 1 && req_id <= S.nreqs);
	assert_int_equal(S.reqs[req_id - 1].node, nd->id);
	assert_int_equal(S.reqs[req_id - 1].rc, RC_PENDING);
	S.reqs[req_id - 1].rc = rc;
	S.reqs[req_id - 1].cold = S.cold;
	if (getenv("REPL_DEBUG"))
		fprintf(stderr,
		        "SIM t=%" PRIu64 " node %d: write %" PRIu64 " done %d at (%" PRIu64
		        ",%" PRIu64 ")\n",
		        S.now, nd->id, req_id, rc, nd->st.term, nd->st.seq);
}

static void
io_status(void *arg, const struct repl_status *st)
{
	struct node *nd = arg;

	nd->last = *st;
}

static void
io_restored(void *arg)
{
	struct node *nd = arg;

	nd->restored++;
}

static void
node_start(struct node *nd)
{
	struct repl_config cfg;
	struct repl_store store = {&nd->st,    fs_position, fs_checksum, fs_apply,
	                           fs_propose, fs_snapshot, fs_restore};
	struct repl_io io = {nd, io_send, io_capture, io_done, io_status, io_restored};

	repl_config_defaults(&cfg);
	strcpy(cfg.pool_uuid, POOL);
	snprintf(cfg.host_uuid, sizeof(cfg.host_uuid), "aaaaaaaa-0000-4000-8000-%012d", nd->id);
	cfg.state_timeout_ms = S.state_timeout;
	cfg.ack_timeout_ms = S.ack_timeout;
	cfg.hosts = (uint32_t)S.n;
	nd->r = repl_new(&cfg, &store, &io);
	assert_non_null(nd->r);
	nd->live = 1;
	nd->incarnation++;
	repl_up(nd->r, S.now, (uint32_t)nd->id);
}

static void
sim_init(int n)
{
	int i;

	memset(&S, 0, sizeof(S));
	S.n = n;
	S.now = 1000;
	S.state_timeout = 3000;
	S.ack_timeout = 3000;
	for (i = 0; i < n; i++) {
		S.nodes[i].id = i + 1;
		node_start(&S.nodes[i]);
	}
}

static void
backlog_free(struct node *nd)
{
	size_t i;

	for (i = 0; i < nd->nbacklog; i++)
		xfree(nd->backlog[i].buf);
	xfree(nd->backlog);
	nd->backlog = NULL;
	nd->nbacklog = 0;
}

static void
sim_fini(void)
{
	int i;
	size_t k;

	for (i = 0; i < S.n; i++) {
		repl_free(S.nodes[i].r);
		backlog_free(&S.nodes[i]);
		xfree(S.nodes[i].st.kv);
	}
	for (k = S.qhead; k < S.qlen; k++)
		xfree(S.q[k].buf);
	xfree(S.q);
	xfree(S.reqs);
	memset(&S, 0, sizeof(S));
}

static struct node *
N(int id)
{
	return &S.nodes[id - 1];
}

static void
backlog_add(struct node *nd, const struct event *ev)
{
	nd->backlog = xreallocarray(nd->backlog, nd->nbacklog + 1, sizeof(*nd->backlog));
	nd->backlog[nd->nbacklog] = *ev;
	if (ev->buf) {
		nd->backlog[nd->nbacklog].buf = xmalloc(ev->len);
		memcpy(nd->backlog[nd->nbacklog].buf, ev->buf, ev->len);
	}
	nd->nbacklog++;
}

static void
node_event(struct node *nd, const struct event *ev)
{
	if (nd->frozen) {
		backlog_add(nd, ev);
		return;
	}
	if (ev->is_view == 1)
		repl_view(nd->r, S.now, ev->members, ev->nmembers);
	else if (ev->is_view == 2)
		repl_ring(nd->r, S.now, (uint64_t)ev->from);
	else if (ev->is_view == 3)
		repl_quorum(nd->r, S.now, (uint64_t)ev->from, (int)ev->len);
	else
		repl_deliver(nd->r, S.now, (uint32_t)ev->from, ev->buf, ev->len);
}

static void
thaw(int id)
{
	struct node *nd = N(id);
	struct event *bl = nd->backlog;
	size_t i, n = nd->nbacklog;

	if (getenv("REPL_DEBUG"))
		fprintf(stderr, "SIM thaw %d (%zu events)\n", id, n);
	nd->frozen = 0;
	nd->backlog = NULL;
	nd->nbacklog = 0;
	for (i = 0; i < n; i++) {
		if (nd->live)
			node_event(nd, &bl[i]);
		xfree(bl[i].buf);
	}
	xfree(bl);
}

/* Deliver the oldest message; 0 if there was none. */
static int
deliver_one(void)
{
	struct msg m;
	struct node *from;
	struct event ev;
	int i;

	if (S.qhead == S.qlen)
		return 0;
	m = S.q[S.qhead++];
	if (S.qhead == S.qlen)
		S.qhead = S.qlen = 0;
	from = N(m.from);
	if (from->live && from->incarnation == m.incarnation) {
		memset(&ev, 0, sizeof(ev));
		ev.from = m.from;
		ev.buf = m.buf;
		ev.len = m.len;
		for (i = 0; i < S.n; i++)
			if (S.nodes[i].live && S.nodes[i].comp == from->comp)
				node_event(&S.nodes[i], &ev);
	}
	xfree(m.buf);
	return 1;
}

static void
deliver_all(void)
{
	int guard = 0;

	while (deliver_one())
		if (++guard > 200000)
			fail_msg("seed %" PRIu64 ": messages never stop", cur_seed);
}

static size_t
comp_members(int comp, uint32_t *out)
{
	size_t k = 0;
	int i;

	for (i = 0; i < S.n; i++)
		if (S.nodes[i].live && S.nodes[i].comp == comp)
			out[k++] = (uint32_t)S.nodes[i].id;
	return k;
}

static void kill_node(int id);

static int
backlog_has_view(const struct node *nd)
{
	size_t i;

	for (i = 0; i < nd->nbacklog; i++)
		if (nd->backlog[i].is_view == 1)
			return 1;
	return 0;
}

/* A new CPG view for component `comp` (new_ring: the totem ring changed).
** A process stalled across two membership changes has been killed by its
** watchdog (docs/cluster.md: the protocol relies on it). */
/* corosync's two_node: in a two-host cluster one node alone is quorate. */
static int two_node;

static void
view_comp(int comp, int new_ring)
{
	uint32_t mem[MAXN] = {0};
	size_t k, j;
	int i;

	for (i = 0; i < S.n; i++)
		if (S.nodes[i].live && S.nodes[i].frozen && S.nodes[i].comp == comp &&
		    backlog_has_view(&S.nodes[i]))
			kill_node(S.nodes[i].id);
	k = comp_members(comp, mem);
	int q = (int)k > S.n / 2 || (two_node && S.n == 2 && k == 1);
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.is_view = 1;
	memcpy(ev.members, mem, sizeof(mem));
	ev.nmembers = k;
	if (view_first)
		for (j = 0; j < k; j++)
			node_event(N((int)mem[j]), &ev);
	for (j = 0; j < k; j++) {
		struct node *nd = N((int)mem[j]);
		struct event re = {2, (int)S.ring, NULL, 0, {0}, 0};
		struct event qe = {3, (int)S.ring, NULL, (size_t)q, {0}, 0};

		if (new_ring)
			node_event(nd, &re);
		node_event(nd, &qe);
	}
	if (!view_first)
		for (j = 0; j < k; j++)
			node_event(N((int)mem[j]), &ev);
}

/* Every node goes to comps[i]; a new ring everywhere.  Messages still in
** the bus cross the view change: they reach the sender's new component
** after the new view (harsher than corosync, which delivers them before,
** in the transitional configuration). */
static void
partition_raw(const int *comps)
{
	int i, c, seen[MAXN] = {0};

	S.ring++;
	if (getenv("REPL_DEBUG")) {
		fprintf(stderr, "SIM ring %" PRIu64 ":", S.ring);
		for (i = 0; i < S.n; i++)
			fprintf(stderr, " %d", comps[i]);
		fprintf(stderr, "\n");
	}
	for (i = 0; i < S.n; i++)
		S.nodes[i].comp = comps[i];
	for (i = 0; i < S.n; i++) {
		c = S.nodes[i].comp;
		if (!seen[c]) {
			seen[c] = 1;
			view_comp(c, 1);
		}
	}
}

/* As corosync does (extended virtual synchrony): what was multicast in
** the old configuration is delivered there first, then the new views. */
static void
partition(const int *comps)
{
	deliver_all();
	partition_raw(comps);
}

static void
heal(void)
{
	int comps[MAXN] = {0};

	partition(comps);
}

static void
kill_node(int id)
{
	struct node *nd = N(id);

	if (getenv("REPL_DEBUG"))
		fprintf(stderr, "SIM kill %d\n", id);
	deliver_all();
	repl_free(nd->r);
	nd->r = NULL;
	nd->live = 0;
	nd->frozen = 0;
	backlog_free(nd);
	memset(&nd->last, 0, sizeof(nd->last));
	view_comp(nd->comp, 0);
}

static void
restart_node(int id)
{
	struct node *nd = N(id);

	if (getenv("REPL_DEBUG"))
		fprintf(stderr, "SIM restart %d\n", id);
	deliver_all();
	node_start(nd);
	repl_ring(nd->r, S.now, S.ring);
	view_comp(nd->comp, 0);
}

static void
tick_all(void)
{
	int i;

	for (i = 0; i < S.n; i++) {
		struct node *nd = &S.nodes[i];

		if (nd->live && !nd->frozen && repl_next_deadline(nd->r) <= S.now)
			repl_tick(nd->r, S.now);
	}
}

static void
advance(uint64_t ms)
{
	S.now += ms;
	tick_all();
}

static uint64_t
new_req(int node, uint32_t key, uint32_t val)
{
	if (S.nreqs == S.capreqs) {
		S.capreqs = S.capreqs ? 2 * S.capreqs : 64;
		S.reqs = xreallocarray(S.reqs, S.capreqs, sizeof(*S.reqs));
	}
	S.reqs[S.nreqs].node = node;
	S.reqs[S.nreqs].key = key;
	S.reqs[S.nreqs].val = val;
	S.reqs[S.nreqs].rc = RC_PENDING;
	return ++S.nreqs;
}

/* A write of a fresh key at node `id`; the req id, or 0 if refused. */
static uint64_t
write_at(int id)
{
	uint64_t req = new_req(id, 0, 0);

	S.reqs[req - 1].key = KEY_WRITE + (uint32_t)req;
	S.reqs[req - 1].val = (uint32_t)req;
	if (repl_write(N(id)->r, S.now, req) < 0) {
		S.reqs[req - 1].rc = -100; /* refused */
		return 0;
	}
	return req;
}

static int
propose_at(int id, uint32_t k, uint32_t val)
{
	struct node *nd = N(id);
	struct op o = {KEY_PROP + (uint32_t)id * 16 + k, 0, val};

	o.old = fs_get(&nd->st, o.key);
	return repl_propose(nd->r, S.now, &o, sizeof(o));
}

static struct repl_status *
status(int id)
{
	static struct repl_status st;

	repl_get_status(N(id)->r, &st);
	return &st;
}

static int
master_of(int comp)
{
	int i, m = 0;

	for (i = 0; i < S.n; i++) {
		struct node *nd = &S.nodes[i];

		if (nd->live && nd->comp == comp && status(nd->id)->is_master) {
			assert_int_equal(m, 0);
			m = nd->id;
		}
	}
	return m;
}

static void
dump_nodes(void)
{
	int i;

	for (i = 0; i < S.n; i++) {
		struct node *nd = &S.nodes[i];
		struct repl_status *st;

		if (!nd->live) {
			print_message("  node %d: dead (comp %d)\n", nd->id, nd->comp);
			continue;
		}
		st = status(nd->id);
		print_message("  node %d comp %d: %s master %u%s%s%s pos (%" PRIu64 ",%" PRIu64
		              ") q%zu f%zu\n",
		              nd->id, nd->comp, repl_phase_name(st->phase), st->master_nodeid,
		              st->is_master ? " is-master" : "", st->writable ? " writable" : "",
		              st->quorate ? " quorate" : "", st->term, st->seq, st->writes_queued,
		              st->writes_in_flight);
	}
}

/* Deliver and advance time until nothing moves: every live process of each
** component READY with one writable master. */
static void
settle(void)
{
	int round, i, ok;

	for (round = 0; round < 200; round++) {
		deliver_all();
		ok = 1;
		for (i = 0; i < S.n; i++) {
			struct node *nd = &S.nodes[i];
			struct repl_status *st;

			if (!nd->live)
				continue;
			st = status(nd->id);
			if (st->phase != REPL_PHASE_READY || st->writes_in_flight ||
			    st->writes_queued)
				ok = 0;
			/* (A lone two_node host is quorate without a majority.) */
			if (st->quorate && master_of(nd->comp) == 0 && !two_node)
				ok = 0;
			if (st->is_master && st->quorate && !st->writable && !two_node)
				ok = 0;
		}
		if (ok && S.qhead == S.qlen)
			return;
		advance(500);
	}
	dump_nodes();
	fail_msg("seed %" PRIu64 ": no quiescence after 200 rounds", cur_seed);
}

static void
form(int n)
{
	sim_init(n);
	heal();
	settle();
}

static int
count_writable(void)
{
	int i, k = 0;

	for (i = 0; i < S.n; i++)
		if (S.nodes[i].live && !S.nodes[i].frozen && status(S.nodes[i].id)->writable)
			k++;
	return k;
}

static int
stores_equal(int a, int b)
{
	struct fstore *x = &N(a)->st, *y = &N(b)->st;

	return x->term == y->term && x->seq == y->seq && fs_hash(x) == fs_hash(y);
}

/* All READY live processes of each component hold the same database. */
static int
check_components_equal(void)
{
	int i, j;

	for (i = 0; i < S.n; i++) {
		struct node *a = &S.nodes[i];

		if (!a->live || a->frozen || status(a->id)->phase != REPL_PHASE_READY)
			continue;
		for (j = i + 1; j < S.n; j++) {
			struct node *b = &S.nodes[j];

			if (!b->live || b->frozen || b->comp != a->comp ||
			    status(b->id)->phase != REPL_PHASE_READY)
				continue;
			if (!stores_equal(a->id, b->id)) {
				print_message("nodes %d (%" PRIu64 ",%" PRIu64 ") and %d (%" PRIu64
				              ",%" PRIu64 ") differ\n",
				              a->id, a->st.term, a->st.seq, b->id, b->st.term,
				              b->st.seq);
				dump_nodes();
				return 0;
			}
		}
	}
	return 1;
}

/* Every write answered REPL_OK is in every READY process's store. */
static int
check_acked_present(void)
{
	size_t k;
	int i;

	for (k = 0; k < S.nreqs; k++) {
		if (S.reqs[k].rc != REPL_OK || S.reqs[k].cold != S.cold)
			continue;
		for (i = 0; i < S.n; i++) {
			struct node *nd = &S.nodes[i];

			if (!nd->live || status(nd->id)->phase != REPL_PHASE_READY)
				continue;
			if (fs_get(&nd->st, S.reqs[k].key) != S.reqs[k].val) {
				print_message("write %zu (node %d) missing on node %d\n", k + 1,
				              S.reqs[k].node, nd->id);
				return 0;
			}
		}
	}
	return 1;
}

/* ---- scripted tests ---- */

static void
check_formed(int n)
{
	int i, m = master_of(0), masters = 0;

	assert_int_equal(m, 1); /* all equal, nobody primary: the lowest nodeid */
	for (i = 1; i <= n; i++) {
		struct repl_status *st = status(i);

		assert_int_equal(st->phase, REPL_PHASE_READY);
		assert_int_equal(st->master_nodeid, (uint32_t)m);
		masters += st->is_master;
		assert_true(stores_equal(1, i));
		assert_int_equal(st->term, 1);
	}
	assert_int_equal(masters, 1);
	assert_int_equal(count_writable(), 1);
	assert_int_equal(fs_get(&N(1)->st, KEY_MASTER), (uint32_t)m);
	assert_string_equal(status(1)->master_uuid, status(m)->master_uuid);
	assert_true(N(1)->last.phase == REPL_PHASE_READY);
}

static void
test_form_3_and_5(void **state)
{
	form(3);
	check_formed(3);
	assert_int_equal(status(1)->elections, 1);
	sim_fini();
	form(5);
	check_formed(5);
	sim_fini();
}

static void
test_write_acked_after_all(void **state)
{
	uint64_t req;
	int m, i;

	form(3);
	m = master_of(0);
	/* Not the master: refused, no callback. */
	assert_int_equal(write_at(m == 1 ? 2 : 1), 0);
	req = write_at(m);
	assert_true(req != 0);
	assert_int_equal(status(m)->writes_in_flight, 1);
	/* Deliver the CHANGE: applied everywhere, acks queued, not yet done. */
	assert_true(deliver_one());
	for (i = 1; i <= 3; i++)
		assert_int_equal(fs_get(&N(i)->st, KEY_WRITE + (uint32_t)req), (uint32_t)req);
	assert_int_equal(S.reqs[req - 1].rc, RC_PENDING);
	/* Three acks queued; after two the write is still pending. */
	assert_int_equal(S.qlen - S.qhead, 3);
	assert_true(deliver_one());
	assert_true(deliver_one());
	assert_int_equal(S.reqs[req - 1].rc, RC_PENDING);
	assert_true(deliver_one());
	assert_int_equal(S.reqs[req - 1].rc, REPL_OK);
	assert_int_equal(status(m)->writes_in_flight, 0);

	/* A second write is captured only once the first is applied locally. */
	req = write_at(m);
	assert_true(write_at(m) != 0);
	assert_int_equal(status(m)->writes_queued, 1);
	assert_int_equal(S.qlen - S.qhead, 1);
	deliver_all();
	assert_int_equal(S.reqs[req - 1].rc, REPL_OK);
	assert_int_equal(S.reqs[req].rc, REPL_OK);
	assert_true(stores_equal(1, 2) && stores_equal(1, 3));
	sim_fini();
}

static void
test_proposal_lands_everywhere(void **state)
{
	int m, member, i;

	form(3);
	m = master_of(0);
	member = m == 1 ? 2 : 1;
	assert_int_equal(propose_at(member, 3, 77), 0);
	assert_int_equal(propose_at(m, 4, 78), 0);
	deliver_all();
	for (i = 1; i <= 3; i++) {
		assert_int_equal(fs_get(&N(i)->st, KEY_PROP + (uint32_t)member * 16 + 3), 77);
		assert_int_equal(fs_get(&N(i)->st, KEY_PROP + (uint32_t)m * 16 + 4), 78);
	}
	assert_true(stores_equal(1, 2) && stores_equal(1, 3));
	sim_fini();
}

static void
test_master_dies(void **state)
{
	int m, m2, i;
	uint64_t req;

	form(3);
	m = master_of(0);
	req = write_at(m);
	deliver_all();
	assert_int_equal(S.reqs[req - 1].rc, REPL_OK);
	kill_node(m);
	settle();
	m2 = master_of(0);
	assert_true(m2 != 0 && m2 != m);
	assert_int_equal(status(m2)->term, 2);
	req = write_at(m2);
	assert_true(req != 0);
	deliver_all();
	assert_int_equal(S.reqs[req - 1].rc, REPL_OK);
	/* The old master comes back, is synchronised, the new master stays. */
	restart_node(m);
	settle();
	assert_int_equal(master_of(0), m2);
	for (i = 1; i <= 3; i++)
		assert_true(stores_equal(m2, i));
	assert_true(check_acked_present());
	sim_fini();
}

/* A two-host pool (corosync two_node: one node alone is quorate): a lone
** survivor writes only once its liveness engine said the other host is
** certainly dead (repl_peer_dead); the other host, back alone, does not
** write; back together, the survivor's writes are everybody's. */
static void
test_two_hosts_peer_dead(void **state)
{
	uint64_t req;
	int m, o, i;

	two_node = 1;
	form(2);
	m = master_of(0);
	o = 3 - m;
	req = write_at(m);
	deliver_all();
	assert_int_equal(S.reqs[req - 1].rc, REPL_OK);
	/* The member dies: the master alone is quorate but holds no majority. */
	kill_node(o);
	settle();
	assert_int_equal(count_writable(), 0);
	assert_int_equal(write_at(m), 0);
	repl_peer_dead(N(m)->r, S.now, 1);
	settle();
	assert_int_equal(count_writable(), 1);
	req = write_at(m);
	assert_true(req != 0);
	deliver_all();
	assert_int_equal(S.reqs[req - 1].rc, REPL_OK);
	/* It comes back: synchronised from the survivor, which stays master. */
	restart_node(o);
	settle();
	repl_peer_dead(N(m)->r, S.now, 0);
	settle();
	assert_int_equal(master_of(0), m);
	assert_true(stores_equal(m, o));
	/* Now the master dies: the member alone writes nothing until its
	** engine says so -- then it does, with every acknowledged write. */
	kill_node(m);
	settle();
	assert_int_equal(count_writable(), 0);
	repl_peer_dead(N(o)->r, S.now, 1);
	settle();
	assert_int_equal(master_of(0), o);
	req = write_at(o);
	assert_true(req != 0);
	deliver_all();
	assert_int_equal(S.reqs[req - 1].rc, REPL_OK);
	/* The old master returns while the survivor has been restarted (its
	** peer_dead forgotten): neither writes alone, together they agree. */
	kill_node(o);
	restart_node(m);
	settle();
	assert_int_equal(count_writable(), 0);
	restart_node(o);
	settle();
	assert_int_equal(count_writable(), 1);
	for (i = 1; i <= 2; i++)
		assert_true(stores_equal(master_of(0), i));
	assert_true(check_acked_present());
	/* Ignored in a pool of three. */
	sim_fini();
	form(3);
	m = master_of(0);
	kill_node(m == 1 ? 2 : 1);
	kill_node(m == 3 ? 2 : 3);
	settle();
	repl_peer_dead(N(m)->r, S.now, 1);
	settle();
	assert_int_equal(count_writable(), 0);
	sim_fini();
	two_node = 0;
}

static void
test_stale_member_joins(void **state)
{
	int m, i, k, stale;

	form(3);
	m = master_of(0);
	stale = m == 3 ? 2 : 3;
	kill_node(stale);
	settle();
	for (k = 0; k < 10; k++)
		assert_true(write_at(m) != 0);
	deliver_all();
	restart_node(stale);
	settle();
	assert_int_equal(master_of(0), m);
	assert_int_equal(status(m)->snapshots_sent, 1);
	assert_int_equal(status(stale)->snapshots_received, 1);
	assert_int_equal(N(stale)->restored, 1);
	for (i = 1; i <= 3; i++)
		assert_true(stores_equal(m, i));
	assert_true(check_acked_present());
	sim_fini();
}

static void
test_partition_2_3(void **state)
{
	int comps[MAXN] = {1, 1, 0, 0, 0};
	int i, m_major, old_master;
	uint64_t req, divergent;

	form(5);
	/* The master and one other node end in the minority. */
	old_master = master_of(0);
	comps[0] = comps[1] = 0;
	comps[old_master - 1] = 1;
	comps[old_master == 1 ? 1 : 0] = 1;
	/* A write multicast, then the split before it is delivered: the CHANGE
	** is delivered in the master's own (minority) component only. */
	divergent = write_at(old_master);
	assert_true(divergent != 0);
	partition_raw(comps);
	deliver_all();
	assert_int_equal(S.reqs[divergent - 1].rc, REPL_ELOST);
	settle();
	/* The minority re-elected the old master (no quorum): it applied the
	** divergent change, but cannot write. */
	assert_int_equal(fs_get(&N(old_master)->st, KEY_WRITE + (uint32_t)divergent),
	                 (uint32_t)divergent);
	assert_int_equal(master_of(1), old_master);
	assert_false(status(old_master)->writable);
	m_major = master_of(0);
	assert_true(m_major != 0 && N(m_major)->comp == 0);
	assert_int_equal(count_writable(), 1);
	assert_true(status(m_major)->writable);
	for (i = 1; i <= 5; i++)
		if (N(i)->comp == 1)
			assert_int_equal(write_at(i), 0);
	for (i = 0; i < 5; i++) {
		req = write_at(m_major);
		assert_true(req != 0);
	}
	deliver_all();
	assert_int_equal(S.reqs[req - 1].rc, REPL_OK);
	heal();
	settle();
	assert_int_equal(master_of(0), m_major);
	for (i = 1; i <= 5; i++) {
		assert_true(stores_equal(m_major, i));
		assert_int_equal(fs_get(&N(i)->st, KEY_WRITE + (uint32_t)divergent), 0);
	}
	assert_true(check_acked_present());
	sim_fini();
}

static uint8_t pool_id[16] = {0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x43, 0x33,
                              0x84, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55};

static size_t
enc(struct repl_msg *m, uint8_t *buf)
{
	size_t n;

	memcpy(m->pool_id, pool_id, 16);
	n = repl_msg_encode(m, buf, REPL_MSG_MAX);
	assert_true(n > 0);
	return n;
}

static void
test_malformed_and_foreign(void **state)
{
	static uint8_t buf[REPL_MSG_MAX];
	struct repl_msg m, d;
	struct op o = {KEY_WRITE + 999, 0, 999};
	const char *why;
	uint64_t h1, dropped;
	size_t n;
	int mst;

	form(3);
	mst = master_of(0);
	h1 = fs_hash(&N(1)->st);
	dropped = status(1)->dropped;
	memset(&m, 0, sizeof(m));
	m.type = REPL_MSG_CHANGE;
	m.u.change.term = N(1)->st.term;
	m.u.change.seq = N(1)->st.seq + 1;
	m.u.change.origin = (uint32_t)mst;
	m.u.change.cs = (const uint8_t *)&o;
	m.u.change.len = sizeof(o);
	n = enc(&m, buf);
	assert_int_equal(repl_msg_decode(buf, n, &d, &why), 0);
	assert_int_equal(d.u.change.len, sizeof(o));

	/* Wrong pool. */
	buf[10] ^= 1;
	repl_deliver(N(1)->r, S.now, (uint32_t)mst, buf, n);
	buf[10] ^= 1;
	/* Wrong version. */
	buf[4] = 2;
	assert_int_equal(repl_msg_decode(buf, n, &d, &why), -1);
	repl_deliver(N(1)->r, S.now, (uint32_t)mst, buf, n);
	buf[4] = 1;
	/* Truncated, and a body length that lies. */
	repl_deliver(N(1)->r, S.now, (uint32_t)mst, buf, n - 1);
	buf[27]++;
	repl_deliver(N(1)->r, S.now, (uint32_t)mst, buf, n);
	buf[27]--;
	/* Bad magic, unknown type, garbage. */
	buf[0] ^= 0xff;
	repl_deliver(N(1)->r, S.now, (uint32_t)mst, buf, n);
	buf[0] ^= 0xff;
	buf[5] = 99;
	repl_deliver(N(1)->r, S.now, (uint32_t)mst, buf, n);
	buf[5] = REPL_MSG_CHANGE;
	repl_deliver(N(1)->r, S.now, (uint32_t)mst, "hello", 5);
	assert_int_equal(status(1)->dropped, dropped + 7);
	assert_int_equal(fs_hash(&N(1)->st), h1);
	/* From a node that is not the master: dropped too. */
	if (mst != 2) {
		repl_deliver(N(1)->r, S.now, 2, buf, n);
		assert_int_equal(status(1)->dropped, dropped + 8);
		assert_int_equal(fs_hash(&N(1)->st), h1);
	}
	/* The intact message from the master is applied. */
	repl_deliver(N(1)->r, S.now, (uint32_t)mst, buf, n);
	assert_int_equal(fs_get(&N(1)->st, KEY_WRITE + 999), 999);

	/* Decoder checks on other types. */
	memset(&m, 0, sizeof(m));
	m.type = REPL_MSG_EXPEL;
	m.u.nodes.n = 2;
	m.u.nodes.nodeids[0] = 1;
	m.u.nodes.nodeids[1] = 2;
	n = enc(&m, buf);
	assert_int_equal(repl_msg_decode(buf, n, &d, &why), 0);
	buf[28 + 11] = 65; /* n = 65 */
	assert_int_equal(repl_msg_decode(buf, n, &d, &why), -1);
	memset(&m, 0, sizeof(m));
	m.type = REPL_MSG_SNAPSHOT;
	m.u.snapshot.total = 10;
	m.u.snapshot.offset = 8;
	m.u.snapshot.data = (const uint8_t *)"abcd";
	m.u.snapshot.len = 4;
	n = enc(&m, buf);
	assert_int_equal(repl_msg_decode(buf, n, &d, &why), -1);
	assert_string_equal(why, "snapshot chunk beyond its total");
	memset(&m, 0, sizeof(m));
	m.type = REPL_MSG_STATE;
	strcpy(m.u.state.host_uuid, "aaaaaaaa-0000-4000-8000-000000000001");
	n = enc(&m, buf);
	assert_int_equal(repl_msg_decode(buf, n, &d, &why), 0);
	buf[n - 1] = 'x';
	assert_int_equal(repl_msg_decode(buf, n, &d, &why), -1);
	assert_string_equal(why, "bad host uuid");
	sim_fini();
}

static void
test_state_timeout(void **state)
{
	int i, m;

	sim_init(3);
	N(3)->frozen = 1;
	heal();
	deliver_all();
	for (i = 1; i <= 2; i++)
		assert_int_equal(status(i)->phase, REPL_PHASE_ELECTING);
	assert_true(repl_next_deadline(N(1)->r) == S.now + 3000);
	advance(3000);
	deliver_all();
	m = master_of(0);
	assert_true(m == 1 || m == 2);
	assert_int_equal(count_writable(), 1);
	assert_true(status(m)->members[2].expelled);
	/* Two of three is still a majority: writes complete without node 3. */
	assert_true(write_at(m) != 0);
	deliver_all();
	assert_int_equal(S.reqs[S.nreqs - 1].rc, REPL_OK);
	/* Node 3 wakes up: it catches up by snapshot and is back in sync. */
	thaw(3);
	settle();
	assert_int_equal(master_of(0), m);
	for (i = 1; i <= 3; i++)
		assert_true(stores_equal(m, i));
	assert_false(status(m)->members[2].expelled);
	sim_fini();

	/* 3 hosts, 2 silent: no election without a majority. */
	sim_init(3);
	N(2)->frozen = 1;
	N(3)->frozen = 1;
	heal();
	deliver_all();
	advance(3000);
	deliver_all();
	assert_int_equal(status(1)->phase, REPL_PHASE_ELECTING);
	assert_int_equal(status(1)->elections, 0);
	thaw(2);
	thaw(3);
	settle();
	assert_int_equal(count_writable(), 1);
	sim_fini();
}

static void
test_ack_timeout_expel(void **state)
{
	int m, slow, i;
	uint64_t req;

	form(3);
	m = master_of(0);
	slow = m == 3 ? 2 : 3;
	N(slow)->frozen = 1;
	req = write_at(m);
	deliver_all();
	assert_int_equal(S.reqs[req - 1].rc, RC_PENDING);
	assert_true(repl_next_deadline(N(m)->r) <= S.now + 3000);
	advance(3000);
	deliver_all();
	assert_int_equal(S.reqs[req - 1].rc, REPL_OK);
	assert_true(status(m)->members[slow - 1].expelled);
	assert_true(write_at(m) != 0);
	deliver_all();
	assert_int_equal(S.reqs[S.nreqs - 1].rc, REPL_OK);
	/* The slow one wakes up, finds itself expelled, resynchronises. */
	thaw(slow);
	settle();
	for (i = 1; i <= 3; i++)
		assert_true(stores_equal(m, i));
	assert_false(status(m)->members[slow - 1].expelled);
	assert_int_equal(status(slow)->snapshots_received, 1);
	sim_fini();
}

static void
test_quorum_loss_fails_writes(void **state)
{
	int m;
	uint64_t r1, r2;

	form(3);
	m = master_of(0);
	r1 = write_at(m);
	r2 = write_at(m);
	repl_quorum(N(m)->r, S.now, S.ring, 0);
	assert_int_equal(S.reqs[r1 - 1].rc, REPL_ELOST);
	assert_int_equal(S.reqs[r2 - 1].rc, REPL_ENOTMASTER);
	assert_false(status(m)->writable);
	assert_int_equal(write_at(m), 0);
	repl_quorum(N(m)->r, S.now, S.ring, 1);
	deliver_all();
	assert_true(status(m)->writable);
	assert_true(write_at(m) != 0);
	deliver_all();
	assert_int_equal(S.reqs[S.nreqs - 1].rc, REPL_OK);
	sim_fini();
}

static void
test_failed_apply_resyncs(void **state)
{
	int m, other, i;

	form(3);
	m = master_of(0);
	other = m == 1 ? 2 : 1;
	N(other)->st.fail_apply = 1;
	assert_true(write_at(m) != 0);
	settle();
	for (i = 1; i <= 3; i++)
		assert_true(stores_equal(m, i));
	assert_int_equal(status(other)->snapshots_received, 1);
	/* The master itself fails: it resigns, the pool elects again. */
	N(m)->st.fail_apply = 1;
	assert_true(write_at(m) != 0);
	settle();
	assert_int_equal(count_writable(), 1);
	for (i = 1; i <= 3; i++)
		assert_true(stores_equal(master_of(0), i));
	sim_fini();
}

/* ---- random schedules ---- */

static uint64_t rng;
static uint64_t stats[7]; /* ok, refused, failed, virtual ms, snapshots received, cold
                           ** starts, ok writes checked */

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static int
random_live(void)
{
	int i, k = 0, ids[MAXN];

	for (i = 0; i < S.n; i++)
		if (S.nodes[i].live)
			ids[k++] = S.nodes[i].id;
	return k ? ids[rnd((uint32_t)k)] : 0;
}

static int
nfrozen(void)
{
	int i, k = 0;

	for (i = 0; i < S.n; i++)
		k += S.nodes[i].live && S.nodes[i].frozen;
	return k;
}

static int
random_dead(void)
{
	int i, k = 0, ids[MAXN];

	for (i = 0; i < S.n; i++)
		if (!S.nodes[i].live)
			ids[k++] = S.nodes[i].id;
	return k ? ids[rnd((uint32_t)k)] : 0;
}

/* 0 on success; prints why on failure. */
static int
run_schedule(uint64_t seed, int steps, uint64_t *elections)
{
	int n = 3 + (int)(seed % 5), step, i, id, op;
	int comps[MAXN];

	rng = seed * 0x9e3779b97f4a7c15ull + 1;
	cur_seed = seed;
	view_first = (seed / 5) % 2; /* half the schedules, every pool size */
	form(n);
	for (step = 0; step < steps; step++) {
		op = (int)rnd(100);
		if (op < 30) {
			id = rnd(2) ? random_live() : 0;
			if (id == 0)
				for (i = 1; i <= n; i++)
					if (N(i)->live && status(i)->is_master)
						id = i;
			if (id)
				write_at(id);
		} else if (op < 38) {
			id = random_live();
			if (id)
				propose_at(id, rnd(4), rnd(3) ? rnd(1000) + 1 : 0);
		} else if (op < 70) {
			for (i = (int)rnd(8) + 1; i > 0; i--)
				deliver_one();
		} else if (op < 74) {
			/* Mostly a minority cut off (a majority side survives),
			** sometimes any split. */
			int cut = rnd(10) < 7 ? (int)rnd((uint32_t)(n - 1) / 2) + 1 : n;

			for (i = 0; i < n; i++)
				comps[i] = cut == n ? (int)rnd(2) : 0;
			for (i = 0; cut < n && i < cut; i++)
				comps[rnd((uint32_t)n)] = 1;
			partition(comps);
		} else if (op < 78) {
			heal();
		} else if (op < 81) {
			/* Mostly not the last running PRIMARY process: each such
			** kill is a cold start, after which acknowledged writes
			** are not promised. */
			id = random_live();
			if (id && status(id)->primary && rnd(10) < 8) {
				for (i = 1; i <= n; i++)
					if (i != id && N(i)->live && !N(i)->frozen &&
					    status(i)->primary)
						break;
				if (i > n)
					id = 0;
			}
			if (id)
				kill_node(id);
		} else if (op < 85) {
			id = random_dead();
			if (id)
				restart_node(id);
		} else if (op < 87) {
			id = random_live();
			if (id && nfrozen() < (n - 1) / 2) {
				N(id)->frozen = 1;
				if (getenv("REPL_DEBUG"))
					fprintf(stderr, "SIM freeze %d\n", id);
			}
		} else if (op < 89) {
			for (i = 1; i <= n; i++)
				if (N(i)->frozen) {
					thaw(i);
					break;
				}
		} else if (op < 90) {
			id = random_live();
			if (id)
				N(id)->st.fail_apply = 1; /* a local storage error */
		} else if (op < 95) {
			advance(rnd(2500));
		} else {
			deliver_all();
			if (!check_components_equal()) {
				print_message("seed %" PRIu64 ": step %d: a component diverges\n",
				              seed, step);
				return -1;
			}
		}
		for (i = 1; i <= n; i++)
			if (N(i)->live && !N(i)->frozen && status(i)->primary)
				break;
		if (i > n && !S.was_cold) {
			S.cold++;
			stats[5]++;
		}
		S.was_cold = i > n;
		if (count_writable() > 1) {
			print_message("seed %" PRIu64 ": step %d: two writable masters\n", seed,
			              step);
			return -1;
		}
	}
	for (i = 1; i <= n; i++)
		if (N(i)->frozen)
			thaw(i);
	for (i = 1; i <= n; i++)
		if (!N(i)->live)
			restart_node(i);
	heal();
	settle();
	if (count_writable() != 1 || !check_components_equal() || !check_acked_present()) {
		print_message("seed %" PRIu64 ": final state wrong\n", seed);
		return -1;
	}
	for (i = 0; i < (int)S.nreqs; i++)
		if (S.reqs[i].rc == RC_PENDING) {
			print_message("seed %" PRIu64 ": write %d never answered\n", seed, i + 1);
			return -1;
		}
	for (i = 1; i <= n; i++) {
		*elections += status(i)->elections;
		stats[4] += status(i)->snapshots_received;
	}
	for (i = 0; i < (int)S.nreqs; i++) {
		stats[S.reqs[i].rc == REPL_OK ? 0 : S.reqs[i].rc == -100 ? 1 : 2]++;
		if (S.reqs[i].rc == REPL_OK && S.reqs[i].cold == S.cold)
			stats[6]++;
	}
	stats[3] += S.now;
	sim_fini();
	return 0;
}

static void
test_random_schedules(void **state)
{
	uint64_t seed, elections = 0, first = 1, nseeds = 3000;
	const char *env = getenv("REPL_SEED");
	struct timespec t0, t1;
	int failures = 0;

	if (env) {
		first = strtoull(env, NULL, 10);
		nseeds = 1;
	}
	if (getenv("REPL_SEEDS")) /* a longer soak: REPL_SEEDS=20000 */
		nseeds = strtoull(getenv("REPL_SEEDS"), NULL, 10);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (seed = first; seed < first + nseeds; seed++)
		if (run_schedule(seed, 400, &elections) < 0) {
			failures++;
			sim_fini();
			if (failures > 5)
				break;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("%" PRIu64 " schedules, %" PRIu64 " elections, %" PRIu64
	              " writes ok, %" PRIu64 " refused, %" PRIu64 " failed, %" PRIu64
	              " snapshots received, %" PRIu64 " cold starts, %" PRIu64
	              " ok writes checked after the last one, %" PRIu64 " s virtual, %.2f s\n",
	              nseeds, elections, stats[0], stats[1], stats[2], stats[4], stats[5], stats[6],
	              stats[3] / 1000,
	              (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	assert_int_equal(failures, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_form_3_and_5),
	    cmocka_unit_test(test_write_acked_after_all),
	    cmocka_unit_test(test_proposal_lands_everywhere),
	    cmocka_unit_test(test_master_dies),
	    cmocka_unit_test(test_two_hosts_peer_dead),
	    cmocka_unit_test(test_stale_member_joins),
	    cmocka_unit_test(test_partition_2_3),
	    cmocka_unit_test(test_malformed_and_foreign),
	    cmocka_unit_test(test_state_timeout),
	    cmocka_unit_test(test_ack_timeout_expel),
	    cmocka_unit_test(test_quorum_loss_fails_writes),
	    cmocka_unit_test(test_failed_apply_resyncs),
	    cmocka_unit_test(test_random_schedules),
	};

	log_init("test_repl", LOG_NO_BLACKBOX | (getenv("REPL_DEBUG") ? LOG_TO_STDERR : 0),
	         getenv("REPL_DEBUG") ? LOG_DEBUG : LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
