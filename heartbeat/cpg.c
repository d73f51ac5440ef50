/*
** The corosync adapter (cpg.h): one CPG handle joined to the pool's group, a
** libquorum handle tracking the quorum view and a votequorum handle used only
** for votequorum_getinfo, all on the caller's event_base.
**
** States: CONNECTING (the connect timer is armed; handles may be half open,
** e.g. initialized but cpg_join said TRY_AGAIN), UP (joined, descriptors
** watched, sends accepted) and LOST (an error was seen; the descriptors are no
** longer watched and a 0-ms timer will tear the connection down).  The
** teardown is deferred so that no handle is ever finalized from inside its
** own dispatch, and so that an error seen deep in a callback path is handled
** in one place.  `down` is called once per loss: when a connection goes, or
** when the first attempt after start fails; retries that fail again are quiet.
**
** The send queue is a FIFO of copied buffers.  Only the flush timer
** multicasts, never hb_cpg_send() itself, so a caller may send from inside
** any callback (even inside cpg_dispatch) and order is kept by construction:
** the head leaves the queue only when corosync accepted it.
**
** Ordering across descriptors: corosync emits a CPG confchg before the
** quorum notification it causes, but the two arrive on different sockets and
** libevent may report them in any order.  So when the quorum descriptor is
** readable, pending CPG events are dispatched first.
*/
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <corosync/cfg.h>
#include <corosync/corotypes.h>
#include <corosync/cpg.h>
#include <corosync/quorum.h>
#include <corosync/votequorum.h>
#include <event2/event.h>

#include "heartbeat/cpg.h"
#include "lib/check.h"
#include "lib/fault.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define DEFAULT_RETRY_MS  1000
#define DEFAULT_RESEND_MS 10
/* Messages multicast per flush turn before yielding to the loop, so that
** deliveries and membership events keep flowing under a burst of sends. */
#define FLUSH_BATCH 256
/* hb_cpg_free: how often cpg_leave is retried on TRY_AGAIN, 10 ms apart. */
#define LEAVE_TRIES 20

enum cpg_state { ST_CONNECTING, ST_UP, ST_LOST };

struct qmsg {
	struct qmsg *next;
	size_t len;
	unsigned char data[];
};

struct hb_cpg {
	struct event_base *base;
	struct hb_cpg_callbacks cb;
	struct cpg_name group;
	unsigned retry_ms, resend_ms;

	enum cpg_state state;
	int down_reported; /* `down` called since the last `up` (or since start) */
	char why[256];     /* ST_LOST: the error, for `down` */

	cpg_handle_t cpg;
	quorum_handle_t q;
	votequorum_handle_t vq;
	int have_cpg, joined, have_q, have_vq;
	uint32_t nodeid;

	struct event *ev_cpg, *ev_q; /* descriptor watchers; NULL unless UP */
	struct event *ev_connect;    /* connect attempt / retry */
	struct event *ev_flush;      /* send queue flush (0 ms or resend_ms) */
	struct event *ev_lost;       /* deferred teardown */

	struct qmsg *head, *tail;
	size_t queued;
	uint64_t retries;
	int in_callback; /* depth of caller callbacks running now */
};

const char *
hb_reason_name(enum hb_reason r)
{
	switch (r) {
	case HB_REASON_JOIN:
		return "join";
	case HB_REASON_LEAVE:
		return "leave";
	case HB_REASON_NODEDOWN:
		return "nodedown";
	case HB_REASON_NODEUP:
		return "nodeup";
	case HB_REASON_PROCDOWN:
		return "procdown";
	case HB_REASON_OTHER:
		break;
	}
	return "other";
}

static enum hb_reason
reason_from_cpg(uint32_t r)
{
	switch (r) {
	case CPG_REASON_JOIN:
		return HB_REASON_JOIN;
	case CPG_REASON_LEAVE:
		return HB_REASON_LEAVE;
	case CPG_REASON_NODEDOWN:
		return HB_REASON_NODEDOWN;
	case CPG_REASON_NODEUP:
		return HB_REASON_NODEUP;
	case CPG_REASON_PROCDOWN:
		return HB_REASON_PROCDOWN;
	default:
		return HB_REASON_OTHER;
	}
}

static void
arm(struct event *ev, unsigned ms)
{
	struct timeval tv = {ms / 1000, (long)(ms % 1000) * 1000};

	if (evtimer_add(ev, &tv) != 0)
		fatalx("cpg: evtimer_add failed");
}

static void
queue_drop(struct hb_cpg *c)
{
	struct qmsg *m;

	while ((m = c->head) != NULL) {
		c->head = m->next;
		xfree(m);
	}
	c->tail = NULL;
	c->queued = 0;
}

/* Finalize every open handle and stop watching the descriptors.  On a dead
** connection each finalize takes ~40 ms (libqb waits for the peer). */
static void
close_handles(struct hb_cpg *c)
{
	cs_error_t rc;

	if (c->ev_cpg != NULL) {
		event_free(c->ev_cpg);
		c->ev_cpg = NULL;
	}
	if (c->ev_q != NULL) {
		event_free(c->ev_q);
		c->ev_q = NULL;
	}
	if (c->have_cpg) {
		rc = cpg_finalize(c->cpg);
		if (rc != CS_OK)
			log_debug("cpg %s: cpg_finalize: %s", c->group.value, cs_strerror(rc));
		c->have_cpg = 0;
		c->joined = 0;
	}
	if (c->have_q) {
		rc = quorum_finalize(c->q);
		if (rc != CS_OK)
			log_debug("cpg %s: quorum_finalize: %s", c->group.value, cs_strerror(rc));
		c->have_q = 0;
	}
	if (c->have_vq) {
		rc = votequorum_finalize(c->vq);
		if (rc != CS_OK)
			log_debug("cpg %s: votequorum_finalize: %s", c->group.value,
			          cs_strerror(rc));
		c->have_vq = 0;
	}
	c->nodeid = 0;
}

/* An error on a live connection: stop using it now, tear it down from the
** loop (never inside a dispatch).  Only the first error counts. */
static void lost(struct hb_cpg *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
lost(struct hb_cpg *c, const char *fmt, ...)
{
	va_list ap;

	if (c->state != ST_UP)
		return;
	c->state = ST_LOST;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	if (c->ev_cpg != NULL)
		event_del(c->ev_cpg);
	if (c->ev_q != NULL)
		event_del(c->ev_q);
	evtimer_del(c->ev_flush);
	arm(c->ev_lost, 0);
}

static void
report_down(struct hb_cpg *c, const char *why)
{
	if (c->down_reported) {
		log_debug("cpg %s: still down: %s", c->group.value, why);
		return;
	}
	c->down_reported = 1;
	log_warnx("cpg %s: disconnected from corosync: %s", c->group.value, why);
	if (c->cb.down != NULL) {
		c->in_callback++;
		c->cb.down(c->cb.arg, why);
		c->in_callback--;
	}
}

static void
on_lost(evutil_socket_t fd, short what, void *arg)
{
	struct hb_cpg *c = arg;
	size_t n = c->queued;

	if (NEVER(c->state != ST_LOST))
		return;
	c->state = ST_CONNECTING;
	queue_drop(c);
	if (n > 0)
		log_warnx("cpg %s: dropped %zu unsent messages (never ordered, no member "
		          "delivers them)",
		          c->group.value, n);
	/* `down` first: finalizing dead handles takes ~40 ms each. */
	report_down(c, c->why);
	close_handles(c);
	arm(c->ev_connect, c->retry_ms);
}

/* ---- callbacks from corosync's dispatch ---- */

static struct hb_cpg *
cpg_ctx(cpg_handle_t h)
{
	void *ctx = NULL;

	if (cpg_context_get(h, &ctx) != CS_OK)
		return NULL;
	return ctx;
}

static void
on_deliver(cpg_handle_t h, const struct cpg_name *g, uint32_t nodeid, uint32_t pid, void *msg,
           size_t len)
{
	struct hb_cpg *c = cpg_ctx(h);

	if (NEVER(c == NULL) || c->state != ST_UP || c->cb.deliver == NULL)
		return;
	c->in_callback++;
	c->cb.deliver(c->cb.arg, nodeid, pid, msg, len);
	c->in_callback--;
}

static int
member_cmp(const void *a, const void *b)
{
	const struct hb_member *x = a, *y = b;

	if (x->nodeid != y->nodeid)
		return x->nodeid < y->nodeid ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return 0;
}

static size_t
members_from(struct hb_member *out, const struct cpg_address *in, size_t n, int keep_reason)
{
	size_t i;

	if (NEVER(n > CPG_MEMBERS_MAX))
		n = CPG_MEMBERS_MAX;
	for (i = 0; i < n; i++) {
		out[i].nodeid = in[i].nodeid;
		out[i].pid = in[i].pid;
		out[i].reason = keep_reason ? reason_from_cpg(in[i].reason) : HB_REASON_JOIN;
	}
	qsort(out, n, sizeof(*out), member_cmp);
	return n;
}

static void
on_confchg(cpg_handle_t h, const struct cpg_name *g, const struct cpg_address *members,
           size_t nmembers, const struct cpg_address *left, size_t nleft,
           const struct cpg_address *joined, size_t njoined)
{
	struct hb_cpg *c = cpg_ctx(h);
	struct hb_member m[CPG_MEMBERS_MAX], l[CPG_MEMBERS_MAX], j[CPG_MEMBERS_MAX];

	if (NEVER(c == NULL) || c->state != ST_UP)
		return;
	nmembers = members_from(m, members, nmembers, 0);
	nleft = members_from(l, left, nleft, 1);
	njoined = members_from(j, joined, njoined, 1);
	log_info("cpg %s: group now %zu members (%zu left, %zu joined)", c->group.value, nmembers,
	         nleft, njoined);
	if (c->cb.confchg == NULL)
		return;
	c->in_callback++;
	c->cb.confchg(c->cb.arg, m, nmembers, l, nleft, j, njoined);
	c->in_callback--;
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
on_totem_confchg(cpg_handle_t h, struct cpg_ring_id ring, uint32_t n, const uint32_t *nodes)
{
	struct hb_cpg *c = cpg_ctx(h);
	uint32_t sorted[CPG_MEMBERS_MAX];

	if (NEVER(c == NULL) || c->state != ST_UP)
		return;
	if (NEVER(n > CPG_MEMBERS_MAX))
		n = CPG_MEMBERS_MAX;
	memcpy(sorted, nodes, n * sizeof(*nodes));
	qsort(sorted, n, sizeof(*sorted), u32_cmp);
	log_info("cpg %s: totem ring %u.%" PRIx64 " with %u nodes", c->group.value, ring.nodeid,
	         ring.seq, n);
	if (c->cb.ring == NULL)
		return;
	c->in_callback++;
	c->cb.ring(c->cb.arg, ring.seq, ring.nodeid, sorted, n);
	c->in_callback--;
}

static void
on_quorum(quorum_handle_t h, uint32_t quorate, struct quorum_ring_id ring, uint32_t n,
          const uint32_t *nodes)
{
	struct hb_cpg *c = NULL;
	struct hb_quorum q;
	struct votequorum_info info;
	cs_error_t rc;

	if (quorum_context_get(h, (const void **)&c) != CS_OK || NEVER(c == NULL))
		return;
	if (c->state != ST_UP)
		return;
	memset(&q, 0, sizeof(q));
	q.quorate = quorate != 0;
	q.ring_seq = ring.seq;
	/* The vote counts are read now, so they may already describe a newer
	** ring than `ring`; the caller checks ring_seq against `ring` anyway. */
	if (c->have_vq) {
		rc = votequorum_getinfo(c->vq, 0, &info);
		if (rc == CS_OK) {
			q.expected_votes = info.node_expected_votes;
			q.total_votes = info.total_votes;
			q.quorum = info.quorum;
			q.flags =
			    (info.flags & VOTEQUORUM_INFO_TWONODE ? HB_QUORUM_TWO_NODE : 0) |
			    (info.flags & VOTEQUORUM_INFO_WAIT_FOR_ALL ? HB_QUORUM_WAIT_FOR_ALL
			                                               : 0) |
			    (info.flags & VOTEQUORUM_INFO_LAST_MAN_STANDING
			         ? HB_QUORUM_LAST_MAN_STANDING
			         : 0) |
			    (info.flags & VOTEQUORUM_INFO_AUTO_TIE_BREAKER
			         ? HB_QUORUM_AUTO_TIE_BREAKER
			         : 0);
		} else {
			/* A dying daemon: the CPG descriptor reports it. */
			log_warnx("cpg %s: votequorum_getinfo: %s (vote counts unknown)",
			          c->group.value, cs_strerror(rc));
		}
	}
	log_info("cpg %s: quorum %s on ring %u.%" PRIx64 " (%u nodes, %u/%u votes, quorum %u)",
	         c->group.value, q.quorate ? "quorate" : "NOT quorate", ring.nodeid, ring.seq, n,
	         q.total_votes, q.expected_votes, q.quorum);
	if (c->cb.quorum == NULL)
		return;
	c->in_callback++;
	c->cb.quorum(c->cb.arg, &q);
	c->in_callback--;
}

/* ---- descriptors and timers ---- */

static void
dispatch_cpg(struct hb_cpg *c)
{
	cs_error_t rc;

	if (c->state != ST_UP)
		return;
	rc = cpg_dispatch(c->cpg, CS_DISPATCH_ALL);
	if (rc != CS_OK && rc != CS_ERR_TRY_AGAIN)
		lost(c, "cpg_dispatch failed: %s", cs_strerror(rc));
}

static void
on_cpg_fd(evutil_socket_t fd, short what, void *arg)
{
	dispatch_cpg(arg);
}

static void
on_q_fd(evutil_socket_t fd, short what, void *arg)
{
	struct hb_cpg *c = arg;
	cs_error_t rc;

	dispatch_cpg(c); /* a confchg before the quorum change it caused */
	if (c->state != ST_UP)
		return;
	rc = quorum_dispatch(c->q, CS_DISPATCH_ALL);
	if (rc != CS_OK && rc != CS_ERR_TRY_AGAIN)
		lost(c, "quorum_dispatch failed: %s", cs_strerror(rc));
}

static void
flush(struct hb_cpg *c)
{
	struct qmsg *m;
	struct iovec iov;
	cs_error_t rc;
	int n;

	for (n = 0; c->state == ST_UP && (m = c->head) != NULL; n++) {
		if (n == FLUSH_BATCH) {
			arm(c->ev_flush, 0);
			return;
		}
		iov.iov_base = m->data;
		iov.iov_len = m->len;
		if (FAULT("cpg.mcast.try_again"))
			rc = CS_ERR_TRY_AGAIN;
		else if (FAULT("cpg.mcast.library"))
			rc = CS_ERR_LIBRARY;
		else
			rc = cpg_mcast_joined(c->cpg, CPG_TYPE_AGREED, &iov, 1);
		if (rc == CS_ERR_TRY_AGAIN) {
			c->retries++;
			arm(c->ev_flush, c->resend_ms);
			return;
		}
		if (rc == CS_ERR_TOO_BIG || rc == CS_ERR_INVALID_PARAM) {
			/* This message, not the connection: refuse it loudly. */
			c->retries++;
			log_errx("cpg %s: cpg_mcast_joined refused a %zu-byte message: %s; "
			         "dropped",
			         c->group.value, m->len, cs_strerror(rc));
		} else if (rc != CS_OK) {
			c->retries++;
			lost(c, "cpg_mcast_joined failed: %s", cs_strerror(rc));
			return;
		}
		c->head = m->next;
		if (c->head == NULL)
			c->tail = NULL;
		c->queued--;
		xfree(m);
	}
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	flush(arg);
}

/* One connect attempt (or the next step of one: cpg_join may say TRY_AGAIN
** while corosync syncs, and is then retried after resend_ms). */
static void
on_connect(evutil_socket_t fd, short what, void *arg)
{
	struct hb_cpg *c = arg;
	cpg_model_v1_data_t model = {
	    .model = CPG_MODEL_V1,
	    .cpg_deliver_fn = on_deliver,
	    .cpg_confchg_fn = on_confchg,
	    .cpg_totem_confchg_fn = on_totem_confchg,
	    .flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF,
	};
	quorum_model_v1_data_t qmodel = {
	    .model = QUORUM_MODEL_V1,
	    .quorum_notify_fn = on_quorum,
	    .nodelist_notify_fn = NULL,
	};
	votequorum_callbacks_t vqcb;
	char why[256];
	uint32_t qtype = 0;
	unsigned int nodeid = 0;
	int cfd = -1, qfd = -1;
	cs_error_t rc;

	if (NEVER(c->state != ST_CONNECTING))
		return;
	if (!c->have_cpg) {
		rc = cpg_model_initialize(&c->cpg, CPG_MODEL_V1, (cpg_model_data_t *)&model, c);
		if (rc != CS_OK) {
			snprintf(why, sizeof(why), "cannot connect to corosync (cpg): %s",
			         cs_strerror(rc));
			goto fail;
		}
		c->have_cpg = 1;
		rc = cpg_local_get(c->cpg, &nodeid);
		if (rc != CS_OK) {
			snprintf(why, sizeof(why), "cpg_local_get failed: %s", cs_strerror(rc));
			goto fail;
		}
		c->nodeid = nodeid;
	}
	if (!c->joined) {
		rc = cpg_join(c->cpg, &c->group);
		if (rc == CS_ERR_TRY_AGAIN) {
			log_debug("cpg %s: cpg_join: try again", c->group.value);
			arm(c->ev_connect, c->resend_ms);
			return;
		}
		if (rc != CS_OK) {
			snprintf(why, sizeof(why), "cpg_join of %s failed: %s", c->group.value,
			         cs_strerror(rc));
			goto fail;
		}
		c->joined = 1;
	}
	if (!c->have_q) {
		rc = quorum_model_initialize(&c->q, QUORUM_MODEL_V1, (quorum_model_data_t *)&qmodel,
		                             &qtype, c);
		if (rc != CS_OK) {
			snprintf(why, sizeof(why), "cannot connect to corosync (quorum): %s",
			         cs_strerror(rc));
			goto fail;
		}
		c->have_q = 1;
		rc = quorum_trackstart(c->q, CS_TRACK_CHANGES | CS_TRACK_CURRENT);
		if (rc != CS_OK) {
			snprintf(why, sizeof(why), "quorum_trackstart failed: %s", cs_strerror(rc));
			goto fail;
		}
		if (qtype != QUORUM_SET)
			log_warnx("cpg %s: corosync has no quorum provider: always quorate",
			          c->group.value);
	}
	if (!c->have_vq) {
		/* Only for the vote counts; without it they read 0. */
		memset(&vqcb, 0, sizeof(vqcb));
		rc = votequorum_initialize(&c->vq, &vqcb);
		if (rc == CS_OK)
			c->have_vq = 1;
		else
			log_warnx("cpg %s: votequorum_initialize: %s (vote counts will read 0)",
			          c->group.value, cs_strerror(rc));
	}
	rc = cpg_fd_get(c->cpg, &cfd);
	if (rc == CS_OK)
		rc = quorum_fd_get(c->q, &qfd);
	if (rc != CS_OK) {
		snprintf(why, sizeof(why), "cannot get the corosync descriptors: %s",
		         cs_strerror(rc));
		goto fail;
	}
	c->ev_cpg = event_new(c->base, cfd, EV_READ | EV_PERSIST, on_cpg_fd, c);
	c->ev_q = event_new(c->base, qfd, EV_READ | EV_PERSIST, on_q_fd, c);
	if (c->ev_cpg == NULL || c->ev_q == NULL || event_add(c->ev_cpg, NULL) != 0 ||
	    event_add(c->ev_q, NULL) != 0)
		fatalx("cpg: cannot watch the corosync descriptors (out of memory)");

	c->state = ST_UP;
	c->down_reported = 0;
	log_notice("cpg %s: connected to corosync as node %u, joined", c->group.value, c->nodeid);
	if (c->cb.up != NULL) {
		c->in_callback++;
		c->cb.up(c->cb.arg, c->nodeid);
		c->in_callback--;
	}
	return;
fail:
	close_handles(c);
	report_down(c, why);
	arm(c->ev_connect, c->retry_ms);
}

/* ---- public ---- */

struct hb_cpg *
hb_cpg_new(struct event_base *base, const struct hb_cpg_config *cfg,
           const struct hb_cpg_callbacks *cb)
{
	struct hb_cpg *c;
	size_t len;

	ha_assert(base != NULL && cfg != NULL && cfg->group != NULL && cb != NULL);
	len = strlen(cfg->group);
	ha_assert(len > 0 && len < CPG_MAX_NAME_LENGTH);
	c = xcalloc(1, sizeof(*c));
	c->base = base;
	c->cb = *cb;
	c->group.length = (uint32_t)len;
	memcpy(c->group.value, cfg->group, len + 1);
	c->retry_ms = cfg->retry_ms ? cfg->retry_ms : DEFAULT_RETRY_MS;
	c->resend_ms = cfg->resend_ms ? cfg->resend_ms : DEFAULT_RESEND_MS;
	c->state = ST_CONNECTING;
	c->ev_connect = evtimer_new(base, on_connect, c);
	c->ev_flush = evtimer_new(base, on_flush, c);
	c->ev_lost = evtimer_new(base, on_lost, c);
	if (c->ev_connect == NULL || c->ev_flush == NULL || c->ev_lost == NULL)
		fatalx("cpg: evtimer_new failed (out of memory)");
	arm(c->ev_connect, 0);
	return c;
}

void
hb_cpg_free(struct hb_cpg *c)
{
	struct timespec ts = {0, 10 * 1000 * 1000};
	cs_error_t rc;
	int i;

	if (c == NULL)
		return;
	/* Not from inside one of this adapter's callbacks: the dispatch that
	** called it still holds the handle. */
	ha_assert(c->in_callback == 0);
	if (c->queued > 0)
		log_warnx("cpg %s: freed with %zu unsent messages", c->group.value, c->queued);
	if (c->state == ST_UP && c->joined) {
		/* A clean leave, so members see LEAVE rather than PROCDOWN. */
		for (i = 0; i < LEAVE_TRIES; i++) {
			rc = cpg_leave(c->cpg, &c->group);
			if (rc != CS_ERR_TRY_AGAIN)
				break;
			nanosleep(&ts, NULL);
		}
		if (rc != CS_OK)
			log_warnx("cpg %s: cpg_leave: %s", c->group.value, cs_strerror(rc));
	}
	close_handles(c);
	queue_drop(c);
	event_free(c->ev_connect);
	event_free(c->ev_flush);
	event_free(c->ev_lost);
	xfree(c);
}

int
hb_cpg_send(struct hb_cpg *c, const void *msg, size_t len)
{
	struct qmsg *m;

	if (c->state != ST_UP)
		return -1;
	m = xmalloc(sizeof(*m) + len);
	m->next = NULL;
	m->len = len;
	if (len > 0)
		memcpy(m->data, msg, len);
	if (c->tail != NULL)
		c->tail->next = m;
	else
		c->head = m;
	c->tail = m;
	c->queued++;
	/* Leave a pending resend timer alone: it is the next try of the head. */
	if (!evtimer_pending(c->ev_flush, NULL))
		arm(c->ev_flush, 0);
	return 0;
}

size_t
hb_cpg_queued(const struct hb_cpg *c)
{
	return c->queued;
}

int
hb_cpg_connected(const struct hb_cpg *c)
{
	return c->state == ST_UP;
}

uint32_t
hb_cpg_local_nodeid(const struct hb_cpg *c)
{
	return c->state == ST_UP ? c->nodeid : 0;
}

uint64_t
hb_cpg_retries(const struct hb_cpg *c)
{
	return c->retries;
}

int
hb_cfg_reload(char *err, size_t errlen)
{
	corosync_cfg_handle_t h;
	corosync_cfg_callbacks_t cb;
	cs_error_t rc;

	memset(&cb, 0, sizeof(cb));
	rc = corosync_cfg_initialize(&h, &cb);
	if (rc != CS_OK) {
		snprintf(err, errlen, "cannot connect to corosync (cfg): %s", cs_strerror(rc));
		return -1;
	}
	rc = corosync_cfg_reload_config(h);
	corosync_cfg_finalize(h);
	if (rc != CS_OK) {
		snprintf(err, errlen, "corosync could not reload its configuration: %s",
		         cs_strerror(rc));
		return -1;
	}
	return 0;
}

int
hb_cfg_shutdown(char *err, size_t errlen)
{
	corosync_cfg_handle_t h;
	corosync_cfg_callbacks_t cb;
	cs_error_t rc;

	memset(&cb, 0, sizeof(cb));
	rc = corosync_cfg_initialize(&h, &cb);
	if (rc != CS_OK) {
		snprintf(err, errlen, "cannot connect to corosync (cfg): %s", cs_strerror(rc));
		return -1;
	}
	rc = corosync_cfg_try_shutdown(h, COROSYNC_CFG_SHUTDOWN_FLAG_IMMEDIATE);
	corosync_cfg_finalize(h);
	if (rc != CS_OK) {
		snprintf(err, errlen, "corosync did not shut down: %s", cs_strerror(rc));
		return -1;
	}
	return 0;
}
