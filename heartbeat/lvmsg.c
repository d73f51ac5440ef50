/*
** The liveness protocol's CPG messages: see lvmsg.h for the layout.
**
** One check, msg_check(), states what a valid message is; the encoder
** refuses what it refuses and the decoder runs it on what it read, so both
** directions accept exactly the same messages.  The encoding is fixed-size
** per type with no free bits (reserved fields are zero, every flag is 0/1),
** hence each accepted message has exactly one encoding:
** encode(decode(b)) == b and decode(encode(m)) == m.
*/
#include "heartbeat/lvmsg.h"

#include <string.h>

#include "lib/check.h"
#include "lib/wire.h"

#define LV_HDR_LEN     20 /* magic, version, type, from, ring */
#define LV_STATE_LEN   (LV_HDR_LEN + 4 + 8 + 12 + 12 + 8)
#define LV_VERDICT_LEN (LV_HDR_LEN + 4 + 8 + 8 + 8)
#define LV_PING_LEN    (LV_HDR_LEN + 20)
#define LV_JOIN_LEN    (LV_HDR_LEN + 8)
#define LV_ADMIT_LEN   (LV_HDR_LEN + 4 + 8 + 8 + 12)

/* The whole length of a message of `type`, or 0 for an unknown type. */
static size_t
msg_len(int type)
{
	switch (type) {
	case LV_MSG_STATE:
		return LV_STATE_LEN;
	case LV_MSG_VERDICT:
		return LV_VERDICT_LEN;
	case LV_MSG_PING:
		return LV_PING_LEN;
	case LV_MSG_JOIN:
		return LV_JOIN_LEN;
	case LV_MSG_ADMIT:
		return LV_ADMIT_LEN;
	}
	return 0;
}

static int
is_bool(int v)
{
	return v == 0 || v == 1;
}

/* NULL if every value of m is in range (its type is known), else why not. */
static const char *
msg_check(const struct lv_msg *m)
{
	const struct lv_msg_state *s = &m->u.state;
	const struct lv_msg_verdict *v = &m->u.verdict;
	const struct lv_msg_admit *a = &m->u.admit;

	if (m->from >= LS_MAX_HOSTS || m->ring.nodeid == 0)
		return "value out of range";
	switch (m->type) {
	case LV_MSG_STATE:
		if (!is_bool(s->access) || !is_bool(s->has_verdict) || s->live == 0)
			return "value out of range";
		if (s->has_verdict && (s->vring.nodeid == 0 || s->vlive == 0))
			return "value out of range";
		if (!s->has_verdict && (s->vring.seq != 0 || s->vring.nodeid != 0 || s->vlive != 0))
			return "value out of range";
		return NULL;
	case LV_MSG_VERDICT:
		if (v->reason < 1 || v->reason > LS_R_PREEMPTED)
			return "value out of range";
		if (v->verdict == LS_SURVIVE && v->live != 0 && (v->live & v->lost) == 0)
			return NULL;
		if (v->verdict == LS_FENCE && v->live == 0 && v->lost == 0)
			return NULL;
		return "value out of range";
	case LV_MSG_PING:
		return m->u.ping.seq != 0 ? NULL : "value out of range";
	case LV_MSG_JOIN:
		return NULL;
	case LV_MSG_ADMIT:
		if (a->host >= LS_MAX_HOSTS || a->prev_ring.nodeid == 0 ||
		    !(a->live & LS_BIT(m->from)))
			return "value out of range";
		return NULL;
	}
	return "bad type";
}

size_t
lv_msg_encode(const struct lv_msg *m, uint8_t *buf, size_t len)
{
	struct wbuf w = WBUF_INIT(buf, len);
	size_t n = msg_len((int)m->type);

	if (n == 0 || len < n || msg_check(m) != NULL)
		return 0;
	wput_u32(&w, LV_MSG_MAGIC);
	wput_u8(&w, LV_MSG_VERSION);
	wput_u8(&w, (uint8_t)m->type);
	wput_u16(&w, (uint16_t)m->from);
	wput_u64(&w, m->ring.seq);
	wput_u32(&w, m->ring.nodeid);
	switch (m->type) {
	case LV_MSG_STATE:
		wput_u8(&w, (uint8_t)m->u.state.access);
		wput_u8(&w, (uint8_t)m->u.state.has_verdict);
		wput_u16(&w, 0);
		wput_u64(&w, m->u.state.live);
		wput_u64(&w, m->u.state.prev_ring.seq);
		wput_u32(&w, m->u.state.prev_ring.nodeid);
		wput_u64(&w, m->u.state.vring.seq);
		wput_u32(&w, m->u.state.vring.nodeid);
		wput_u64(&w, m->u.state.vlive);
		break;
	case LV_MSG_VERDICT:
		wput_u8(&w, (uint8_t)m->u.verdict.verdict);
		wput_u8(&w, (uint8_t)m->u.verdict.reason);
		wput_u16(&w, 0);
		wput_u64(&w, m->u.verdict.live);
		wput_u64(&w, m->u.verdict.lost);
		wput_u64(&w, m->u.verdict.winner);
		break;
	case LV_MSG_PING:
		wput_u64(&w, m->u.ping.seq);
		wput_u32(&w, m->u.ping.count);
		wput_u64(&w, m->u.ping.view);
		break;
	case LV_MSG_JOIN:
		wput_u64(&w, m->u.join.seq);
		break;
	case LV_MSG_ADMIT:
		wput_u16(&w, (uint16_t)m->u.admit.host);
		wput_u16(&w, 0);
		wput_u64(&w, m->u.admit.seq);
		wput_u64(&w, m->u.admit.live);
		wput_u64(&w, m->u.admit.prev_ring.seq);
		wput_u32(&w, m->u.admit.prev_ring.nodeid);
		break;
	}
	if (w.err || w.off != n)
		return 0;
	return w.off;
}

int
lv_msg_is_mine(const uint8_t *buf, size_t len)
{
	struct rbuf r = RBUF_INIT(buf, len);

	return len >= 4 && rget_u32(&r) == LV_MSG_MAGIC;
}

int
lv_msg_decode(const uint8_t *buf, size_t len, struct lv_msg *out, const char **why)
{
	struct rbuf r = RBUF_INIT(buf, len);
	const char *dummy;
	uint16_t reserved = 0;
	uint8_t type;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	memset(out, 0, sizeof(*out));
	if (rget_msg_start(&r, LV_HDR_LEN, LV_MSG_MAGIC, LV_MSG_VERSION, msg_len, &type, why) < 0)
		return -1;
	out->type = (enum lv_msg_type)type;
	out->from = rget_u16(&r);
	out->ring.seq = rget_u64(&r);
	out->ring.nodeid = rget_u32(&r);
	switch (out->type) {
	case LV_MSG_STATE:
		out->u.state.access = rget_u8(&r);
		out->u.state.has_verdict = rget_u8(&r);
		reserved = rget_u16(&r);
		out->u.state.live = rget_u64(&r);
		out->u.state.prev_ring.seq = rget_u64(&r);
		out->u.state.prev_ring.nodeid = rget_u32(&r);
		out->u.state.vring.seq = rget_u64(&r);
		out->u.state.vring.nodeid = rget_u32(&r);
		out->u.state.vlive = rget_u64(&r);
		break;
	case LV_MSG_VERDICT:
		out->u.verdict.verdict = rget_u8(&r);
		out->u.verdict.reason = rget_u8(&r);
		reserved = rget_u16(&r);
		out->u.verdict.live = rget_u64(&r);
		out->u.verdict.lost = rget_u64(&r);
		out->u.verdict.winner = rget_u64(&r);
		break;
	case LV_MSG_PING:
		out->u.ping.seq = rget_u64(&r);
		out->u.ping.count = rget_u32(&r);
		out->u.ping.view = rget_u64(&r);
		break;
	case LV_MSG_JOIN:
		out->u.join.seq = rget_u64(&r);
		break;
	case LV_MSG_ADMIT:
		out->u.admit.host = rget_u16(&r);
		reserved = rget_u16(&r);
		out->u.admit.seq = rget_u64(&r);
		out->u.admit.live = rget_u64(&r);
		out->u.admit.prev_ring.seq = rget_u64(&r);
		out->u.admit.prev_ring.nodeid = rget_u32(&r);
		break;
	}
	/* The length was checked against the type: the fields fill it exactly. */
	if (NEVER(r.err || r.off != r.len)) {
		*why = "bad length";
		return -1;
	}
	if (reserved != 0) {
		*why = "reserved field not zero";
		return -1;
	}
	*why = msg_check(out);
	return *why == NULL ? 0 : -1;
}

const char *
lv_msg_type_name(int type)
{
	switch (type) {
	case LV_MSG_STATE:
		return "state";
	case LV_MSG_VERDICT:
		return "verdict";
	case LV_MSG_PING:
		return "ping";
	case LV_MSG_JOIN:
		return "join";
	case LV_MSG_ADMIT:
		return "admit";
	}
	return "?";
}
