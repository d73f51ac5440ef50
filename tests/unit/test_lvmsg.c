/*
** The liveness messages' codec (heartbeat/lvmsg.c).
**
** Pins the wire format with one golden encoding of each type, round-trips
** extreme values, reaches every rejection reason (and checks that the
** encoder refuses the same values), rejects every truncation, a trailing
** byte and every nonzero reserved byte (STATE, VERDICT, ADMIT), tells HARP
** buffers apart, and runs a seeded random property loop over all five
** types: decode(encode(m)) == m and the re-encoding is byte-identical.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "heartbeat/lvmsg.h"
#include "lib/log.h"

/* Golden encodings: magic "HALV", version 1, type, from, ring.seq,
** ring.nodeid, then the body of lvmsg.h. */
static const uint8_t gold_state[64] = {
    0x48, 0x41, 0x4c, 0x56, 0x01, 0x01, 0x00, 0x05, /* HALV v1 STATE from 5 */
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0a, 0x0b, 0x0c, 0x0d, /* ring */
    0x01, 0x01, 0x00, 0x00,                         /* access, has_verdict, 0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2f, /* live */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x03, /* prev_ring */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x02, /* vring */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f,                         /* vlive */
};

static const uint8_t gold_verdict[48] = {
    0x48, 0x41, 0x4c, 0x56, 0x01, 0x02, 0x00, 0x02, /* HALV v1 VERDICT from 2 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x01, /* ring */
    0x01, 0x03, 0x00, 0x00,                                                 /* SURVIVE, WON, 0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,                         /* live */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18,                         /* lost */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,                         /* winner */
};

static const uint8_t gold_ping[40] = {
    0x48, 0x41, 0x4c, 0x56, 0x01, 0x03, 0x00, 0x3f, /* HALV v1 PING from 63 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* ring */
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,                         /* seq */
    0x00, 0x01, 0x02, 0x03,                                                 /* count */
    0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,                         /* view */
};

static const uint8_t gold_join[28] = {
    0x48, 0x41, 0x4c, 0x56, 0x01, 0x04, 0x00, 0x07, /* HALV v1 JOIN from 7 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x04, /* ring */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,                         /* seq */
};

static const uint8_t gold_admit[52] = {
    0x48, 0x41, 0x4c, 0x56, 0x01, 0x05, 0x00, 0x01, /* HALV v1 ADMIT from 1 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00, 0x05, /* ring */
    0x00, 0x09, 0x00, 0x00,                         /* host 9, 0 */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, /* seq */
    0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, /* live: hosts 1, 2, 63 */
    0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, /* prev_ring */
};

static const struct {
	const uint8_t *b;
	size_t len;
} golds[] = {
    {gold_state, sizeof(gold_state)},
    {gold_verdict, sizeof(gold_verdict)},
    {gold_ping, sizeof(gold_ping)},
    {gold_join, sizeof(gold_join)},
    {gold_admit, sizeof(gold_admit)},
};

#define N_GOLDS (sizeof(golds) / sizeof(golds[0]))

static void
gold_state_msg(struct lv_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = LV_MSG_STATE;
	m->from = 5;
	m->ring = (struct ls_ring){0x0102030405060708ull, 0x0a0b0c0d};
	m->u.state.access = 1;
	m->u.state.live = 0x2f;
	m->u.state.prev_ring = (struct ls_ring){0x10, 3};
	m->u.state.has_verdict = 1;
	m->u.state.vring = (struct ls_ring){0x0c, 2};
	m->u.state.vlive = 0x0f;
}

static void
gold_verdict_msg(struct lv_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = LV_MSG_VERDICT;
	m->from = 2;
	m->ring = (struct ls_ring){0x11, 1};
	m->u.verdict.verdict = LS_SURVIVE;
	m->u.verdict.reason = LS_R_WON;
	m->u.verdict.live = 0x07;
	m->u.verdict.lost = 0x18;
	m->u.verdict.winner = 0x07;
}

static void
gold_ping_msg(struct lv_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = LV_MSG_PING;
	m->from = 63;
	m->ring = (struct ls_ring){UINT64_MAX, UINT32_MAX};
	m->u.ping.seq = 0x0123456789abcdefull;
	m->u.ping.count = 0x00010203;
	m->u.ping.view = 0xfedcba9876543210ull;
}

static void
gold_join_msg(struct lv_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = LV_MSG_JOIN;
	m->from = 7;
	m->ring = (struct ls_ring){0x20, 4};
	m->u.join.seq = 0x0000000100000002ull;
}

static void
gold_admit_msg(struct lv_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = LV_MSG_ADMIT;
	m->from = 1;
	m->ring = (struct ls_ring){0x30, 5};
	m->u.admit.host = 9;
	m->u.admit.seq = 0x0000000100000002ull;
	m->u.admit.live = 0x8000000000000006ull;
	m->u.admit.prev_ring = (struct ls_ring){0x0000000a0000000bull, 0x0c0d0e0f};
}

static int
ring_eq(struct ls_ring a, struct ls_ring b)
{
	return a.seq == b.seq && a.nodeid == b.nodeid;
}

static int
msg_eq(const struct lv_msg *a, const struct lv_msg *b)
{
	if (a->type != b->type || a->from != b->from || !ring_eq(a->ring, b->ring))
		return 0;
	switch (a->type) {
	case LV_MSG_STATE:
		return a->u.state.access == b->u.state.access &&
		       a->u.state.live == b->u.state.live &&
		       ring_eq(a->u.state.prev_ring, b->u.state.prev_ring) &&
		       a->u.state.has_verdict == b->u.state.has_verdict &&
		       ring_eq(a->u.state.vring, b->u.state.vring) &&
		       a->u.state.vlive == b->u.state.vlive;
	case LV_MSG_VERDICT:
		return a->u.verdict.verdict == b->u.verdict.verdict &&
		       a->u.verdict.reason == b->u.verdict.reason &&
		       a->u.verdict.live == b->u.verdict.live &&
		       a->u.verdict.lost == b->u.verdict.lost &&
		       a->u.verdict.winner == b->u.verdict.winner;
	case LV_MSG_PING:
		return a->u.ping.seq == b->u.ping.seq && a->u.ping.count == b->u.ping.count &&
		       a->u.ping.view == b->u.ping.view;
	case LV_MSG_JOIN:
		return a->u.join.seq == b->u.join.seq;
	case LV_MSG_ADMIT:
		return a->u.admit.host == b->u.admit.host && a->u.admit.seq == b->u.admit.seq &&
		       a->u.admit.live == b->u.admit.live &&
		       ring_eq(a->u.admit.prev_ring, b->u.admit.prev_ring);
	}
	return 0;
}

/* m encodes to a message that decodes back to m and re-encodes identically. */
static void
roundtrip(const struct lv_msg *m)
{
	uint8_t buf[LV_MSG_MAX], again[LV_MSG_MAX];
	struct lv_msg d;
	const char *why = "unset";
	size_t n, n2;

	n = lv_msg_encode(m, buf, sizeof(buf));
	assert_true(n > 0 && n <= LV_MSG_MAX);
	assert_true(lv_msg_is_mine(buf, n));
	assert_int_equal(lv_msg_decode(buf, n, &d, &why), 0);
	assert_null(why);
	assert_true(msg_eq(m, &d));
	n2 = lv_msg_encode(&d, again, sizeof(again));
	assert_int_equal(n2, n);
	assert_memory_equal(again, buf, n);
	/* Exactly enough room is enough; one byte less is not. */
	assert_int_equal(lv_msg_encode(m, again, n), n);
	assert_int_equal(lv_msg_encode(m, again, n - 1), 0);
}

/* Decoding b must fail with `want`. */
static void
reject(const uint8_t *b, size_t len, const char *want)
{
	struct lv_msg d;
	const char *why = NULL;

	assert_int_equal(lv_msg_decode(b, len, &d, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, want);
	assert_int_equal(lv_msg_decode(b, len, &d, NULL), -1);
}

static void
test_golden(void **state)
{
	struct lv_msg m[N_GOLDS], d;
	uint8_t buf[LV_MSG_MAX];
	size_t i, n;

	gold_state_msg(&m[0]);
	gold_verdict_msg(&m[1]);
	gold_ping_msg(&m[2]);
	gold_join_msg(&m[3]);
	gold_admit_msg(&m[4]);
	for (i = 0; i < N_GOLDS; i++) {
		n = lv_msg_encode(&m[i], buf, sizeof(buf));
		assert_int_equal(n, golds[i].len);
		assert_memory_equal(buf, golds[i].b, n);
		assert_int_equal(lv_msg_decode(golds[i].b, golds[i].len, &d, NULL), 0);
		assert_true(msg_eq(&d, &m[i]));
		roundtrip(&m[i]);
	}
}

static void
test_extremes(void **state)
{
	struct lv_msg m;

	memset(&m, 0, sizeof(m));
	m.type = LV_MSG_STATE;
	m.from = 63;
	m.ring = (struct ls_ring){UINT64_MAX, UINT32_MAX};
	m.u.state.access = 1;
	m.u.state.live = UINT64_MAX;
	m.u.state.prev_ring = (struct ls_ring){UINT64_MAX, UINT32_MAX};
	m.u.state.has_verdict = 1;
	m.u.state.vring = (struct ls_ring){UINT64_MAX, UINT32_MAX};
	m.u.state.vlive = UINT64_MAX;
	roundtrip(&m);
	/* No verdict, no access, the smallest values allowed. */
	memset(&m, 0, sizeof(m));
	m.type = LV_MSG_STATE;
	m.ring.nodeid = 1;
	m.u.state.live = 1;
	roundtrip(&m);
	/* prev_ring may be anything, (0,0) included (nothing agreed yet). */
	m.u.state.vring = (struct ls_ring){0, 1};
	m.u.state.has_verdict = 1;
	m.u.state.vlive = 1;
	roundtrip(&m);

	memset(&m, 0, sizeof(m));
	m.type = LV_MSG_VERDICT;
	m.from = 63;
	m.ring = (struct ls_ring){UINT64_MAX, UINT32_MAX};
	m.u.verdict.verdict = LS_SURVIVE;
	m.u.verdict.reason = LS_R_PREEMPTED;
	m.u.verdict.live = UINT64_MAX;
	m.u.verdict.winner = UINT64_MAX;
	roundtrip(&m);
	m.u.verdict.live = 0x5555555555555555ull;
	m.u.verdict.lost = 0xaaaaaaaaaaaaaaaaull;
	m.u.verdict.reason = 1;
	roundtrip(&m);
	m.u.verdict.verdict = LS_FENCE;
	m.u.verdict.reason = LS_R_LOST;
	m.u.verdict.live = 0;
	m.u.verdict.lost = 0;
	roundtrip(&m);

	memset(&m, 0, sizeof(m));
	m.type = LV_MSG_PING;
	m.from = 63;
	m.ring = (struct ls_ring){UINT64_MAX, UINT32_MAX};
	m.u.ping.seq = UINT64_MAX;
	m.u.ping.count = UINT32_MAX;
	roundtrip(&m);
	m.from = 0;
	m.ring = (struct ls_ring){0, 1};
	m.u.ping.seq = 1;
	roundtrip(&m);

	/* JOIN: any seq, 0 included (a first incarnation). */
	memset(&m, 0, sizeof(m));
	m.type = LV_MSG_JOIN;
	m.from = 63;
	m.ring = (struct ls_ring){UINT64_MAX, UINT32_MAX};
	m.u.join.seq = UINT64_MAX;
	roundtrip(&m);
	m.from = 0;
	m.ring = (struct ls_ring){0, 1};
	m.u.join.seq = 0;
	roundtrip(&m);

	memset(&m, 0, sizeof(m));
	m.type = LV_MSG_ADMIT;
	m.from = 63;
	m.ring = (struct ls_ring){UINT64_MAX, UINT32_MAX};
	m.u.admit.host = 63;
	m.u.admit.seq = UINT64_MAX;
	m.u.admit.live = UINT64_MAX;
	m.u.admit.prev_ring = (struct ls_ring){UINT64_MAX, UINT32_MAX};
	roundtrip(&m);
	/* The smallest values allowed: the sender alone, seq 0. */
	memset(&m, 0, sizeof(m));
	m.type = LV_MSG_ADMIT;
	m.ring = (struct ls_ring){0, 1};
	m.u.admit.live = 1;
	m.u.admit.prev_ring = (struct ls_ring){0, 1};
	roundtrip(&m);
	m.from = 63;
	m.u.admit.live = LS_BIT(63);
	roundtrip(&m);
}

/* A copy of golden message `g` with bytes [off, off+n) set to v (big-endian). */
static size_t
patched(uint8_t *buf, int g, size_t off, size_t n, uint64_t v)
{
	size_t i;

	memcpy(buf, golds[g].b, golds[g].len);
	for (i = 0; i < n; i++)
		buf[off + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return golds[g].len;
}

/* Field offsets past the common header (20 bytes). */
enum {
	O_TYPE = 5,
	O_FROM = 6,
	O_RING_NODEID = 16,
	O_B0 = 20, /* access / verdict */
	O_B1 = 21, /* has_verdict / reason */
	O_RSV = 22,
	O_LIVE = 24,
	O_S_VRING_SEQ = 44,
	O_S_VRING_NODEID = 52,
	O_S_VLIVE = 56,
	O_V_LOST = 32,
	O_P_SEQ = 20,
	O_J_SEQ = 20,
	O_A_HOST = 20,
	O_A_SEQ = 24,
	O_A_LIVE = 32,
	O_A_PREV_SEQ = 40,
	O_A_PREV_NODEID = 48,
};

enum { G_STATE, G_VERDICT, G_PING, G_JOIN, G_ADMIT };

/* The wire value patched into golden message g at off must be rejected as
** out of range, and the message it would stand for must not encode. */
struct bad_value {
	int g;
	size_t off, n;
	uint64_t v;
};

static const struct bad_value bad_values[] = {
    {G_STATE, O_FROM, 2, 64},
    {G_VERDICT, O_FROM, 2, 0xffff},
    {G_PING, O_FROM, 2, 64},
    {G_JOIN, O_FROM, 2, 64},
    {G_JOIN, O_FROM, 2, 0xffff},
    {G_ADMIT, O_FROM, 2, 64},
    {G_ADMIT, O_FROM, 2, 0x101}, /* 1 mod 256: still out of range */
    {G_STATE, O_RING_NODEID, 4, 0},
    {G_VERDICT, O_RING_NODEID, 4, 0},
    {G_PING, O_RING_NODEID, 4, 0},
    {G_JOIN, O_RING_NODEID, 4, 0},
    {G_ADMIT, O_RING_NODEID, 4, 0},
    {G_STATE, O_B0, 1, 2},             /* access */
    {G_STATE, O_B0, 1, 0xff},          /* access */
    {G_STATE, O_B1, 1, 2},             /* has_verdict */
    {G_STATE, O_LIVE, 8, 0},           /* live */
    {G_STATE, O_S_VRING_NODEID, 4, 0}, /* has_verdict with vring.nodeid 0 */
    {G_STATE, O_S_VLIVE, 8, 0},        /* has_verdict with vlive 0 */
    {G_VERDICT, O_B0, 1, 0},           /* verdict */
    {G_VERDICT, O_B0, 1, LS_WAIT},     /* verdict */
    {G_VERDICT, O_B0, 1, 4},           /* verdict */
    {G_VERDICT, O_B1, 1, 0},           /* reason */
    {G_VERDICT, O_B1, 1, LS_R_PREEMPTED + 1},
    {G_VERDICT, O_B1, 1, 0xff},
    {G_VERDICT, O_LIVE, 8, 0},      /* SURVIVE with an empty liveset */
    {G_VERDICT, O_V_LOST, 8, 0x1c}, /* SURVIVE with live & lost */
    {G_PING, O_P_SEQ, 8, 0},
    {G_ADMIT, O_A_HOST, 2, 64},                    /* host */
    {G_ADMIT, O_A_HOST, 2, 0x109},                 /* host, 9 mod 256 */
    {G_ADMIT, O_A_HOST, 2, 0xffff},                /* host */
    {G_ADMIT, O_A_PREV_NODEID, 4, 0},              /* prev_ring.nodeid */
    {G_ADMIT, O_A_LIVE, 8, 0},                     /* live empty */
    {G_ADMIT, O_A_LIVE, 8, 0x8000000000000004ull}, /* live without the sender (1) */
    {G_ADMIT, O_A_LIVE, 8, 0xfffffffffffffffdull}, /* ... all the others */
    {G_ADMIT, O_FROM, 2, 0},                       /* a sender not in live */
    {G_ADMIT, O_FROM, 2, 9},                       /* ... the admitted host */
};

static void
test_value_out_of_range(void **state)
{
	uint8_t buf[LV_MSG_MAX], out[LV_MSG_MAX];
	struct lv_msg m;
	size_t i, n;

	for (i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		const struct bad_value *b = &bad_values[i];

		n = patched(buf, b->g, b->off, b->n, b->v);
		reject(buf, n, "value out of range");
	}

	/* The same values, and a few wider ones, refused by the encoder. */
	gold_state_msg(&m);
	m.from = 64;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_state_msg(&m);
	m.ring.nodeid = 0;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_state_msg(&m);
	m.u.state.access = 2;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	m.u.state.access = -1;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_state_msg(&m);
	m.u.state.has_verdict = 256; /* would wrap to 0 on the wire */
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_state_msg(&m);
	m.u.state.live = 0;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_state_msg(&m);
	m.u.state.vlive = 0;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_state_msg(&m);
	m.u.state.vring.nodeid = 0;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_verdict_msg(&m);
	m.u.verdict.verdict = LS_WAIT;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	m.u.verdict.verdict = LS_SURVIVE + 256;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_verdict_msg(&m);
	m.u.verdict.reason = LS_R_NONE;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	m.u.verdict.reason = LS_R_PREEMPTED + 1;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	m.u.verdict.reason = LS_R_WON + 256;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_verdict_msg(&m);
	m.u.verdict.lost = 0x1c;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_verdict_msg(&m);
	m.u.verdict.live = 0;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_ping_msg(&m);
	m.u.ping.seq = 0;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_ping_msg(&m);
	m.from = 0x10000 + 5; /* would wrap on the wire */
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_join_msg(&m);
	m.from = 64;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_join_msg(&m);
	m.ring.nodeid = 0;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_admit_msg(&m);
	m.from = 64;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_admit_msg(&m);
	m.ring.nodeid = 0;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_admit_msg(&m);
	m.u.admit.host = 64;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	m.u.admit.host = 0x10000 + 9; /* would wrap to 9 on the wire */
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_admit_msg(&m);
	m.u.admit.prev_ring.nodeid = 0;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_admit_msg(&m);
	m.u.admit.live = 0;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	m.u.admit.live = 0x8000000000000004ull; /* without the sender */
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_admit_msg(&m);
	m.from = 9; /* the sender not in live */
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	gold_ping_msg(&m);
	m.type = (enum lv_msg_type)6;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	m.type = (enum lv_msg_type)0xff;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
	m.type = (enum lv_msg_type)0;
	assert_int_equal(lv_msg_encode(&m, out, sizeof(out)), 0);
}

/* STATE without a verdict: vring must be (0,0) and vlive 0; FENCE: live and
** lost 0. */
static void
test_no_verdict_fields(void **state)
{
	uint8_t buf[LV_MSG_MAX];
	struct lv_msg m, d;
	size_t n;

	gold_state_msg(&m);
	m.u.state.has_verdict = 0;
	m.u.state.vring = (struct ls_ring){0, 0};
	m.u.state.vlive = 0;
	n = lv_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(n, sizeof(gold_state));
	assert_int_equal(lv_msg_decode(buf, n, &d, NULL), 0);
	buf[O_S_VRING_SEQ + 7] = 1;
	reject(buf, n, "value out of range");
	buf[O_S_VRING_SEQ + 7] = 0;
	buf[O_S_VRING_NODEID + 3] = 1;
	reject(buf, n, "value out of range");
	buf[O_S_VRING_NODEID + 3] = 0;
	buf[O_S_VLIVE] = 0x80;
	reject(buf, n, "value out of range");
	m.u.state.vring.seq = 1;
	assert_int_equal(lv_msg_encode(&m, buf, sizeof(buf)), 0);
	m.u.state.vring.seq = 0;
	m.u.state.vring.nodeid = 1;
	assert_int_equal(lv_msg_encode(&m, buf, sizeof(buf)), 0);
	m.u.state.vring.nodeid = 0;
	m.u.state.vlive = 1;
	assert_int_equal(lv_msg_encode(&m, buf, sizeof(buf)), 0);

	gold_verdict_msg(&m);
	m.u.verdict.verdict = LS_FENCE;
	m.u.verdict.reason = LS_R_DEADLINE;
	m.u.verdict.live = 0;
	m.u.verdict.lost = 0;
	n = lv_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(n, sizeof(gold_verdict));
	assert_int_equal(lv_msg_decode(buf, n, &d, NULL), 0);
	buf[O_LIVE + 7] = 1;
	reject(buf, n, "value out of range");
	buf[O_LIVE + 7] = 0;
	buf[O_V_LOST] = 1;
	reject(buf, n, "value out of range");
	m.u.verdict.live = 1;
	assert_int_equal(lv_msg_encode(&m, buf, sizeof(buf)), 0);
	m.u.verdict.live = 0;
	m.u.verdict.lost = 1;
	assert_int_equal(lv_msg_encode(&m, buf, sizeof(buf)), 0);
}

static void
test_header_rejections(void **state)
{
	uint8_t buf[LV_MSG_MAX + 1];
	struct lv_msg d;
	size_t n, g;

	reject(gold_ping, 0, "short");
	reject(gold_ping, 19, "short");
	n = patched(buf, G_STATE, 0, 4, 0x48414c57);
	reject(buf, n, "bad magic");
	n = patched(buf, G_STATE, 4, 1, 0);
	reject(buf, n, "bad version");
	n = patched(buf, G_VERDICT, 4, 1, 2);
	reject(buf, n, "bad version");
	n = patched(buf, G_PING, O_TYPE, 1, 0);
	reject(buf, n, "bad type");
	n = patched(buf, G_PING, O_TYPE, 1, 6);
	reject(buf, n, "bad type");
	n = patched(buf, G_JOIN, O_TYPE, 1, 6);
	reject(buf, n, "bad type");
	n = patched(buf, G_PING, O_TYPE, 1, 0xff);
	reject(buf, n, "bad type");
	/* A valid header of another type: the length gives it away. */
	n = patched(buf, G_STATE, O_TYPE, 1, LV_MSG_PING);
	reject(buf, n, "bad length");
	n = patched(buf, G_PING, O_TYPE, 1, LV_MSG_VERDICT);
	reject(buf, n, "bad length");
	n = patched(buf, G_PING, O_TYPE, 1, LV_MSG_JOIN);
	reject(buf, n, "bad length");
	n = patched(buf, G_JOIN, O_TYPE, 1, LV_MSG_ADMIT);
	reject(buf, n, "bad length");
	n = patched(buf, G_ADMIT, O_TYPE, 1, LV_MSG_JOIN);
	reject(buf, n, "bad length");
	n = patched(buf, G_ADMIT, O_TYPE, 1, LV_MSG_STATE);
	reject(buf, n, "bad length");

	for (g = 0; g < N_GOLDS; g++) {
		/* Every truncation, and one trailing byte. */
		for (n = 0; n < golds[g].len; n++)
			reject(golds[g].b, n, n < 20 ? "short" : "bad length");
		memcpy(buf, golds[g].b, golds[g].len);
		buf[golds[g].len] = 0;
		reject(buf, golds[g].len + 1, "bad length");
		assert_int_equal(lv_msg_decode(buf, golds[g].len, &d, NULL), 0);
	}
}

static void
test_reserved(void **state)
{
	/* The types with a reserved u16, all at O_RSV. */
	static const int with_rsv[] = {G_STATE, G_VERDICT, G_ADMIT};
	uint8_t buf[LV_MSG_MAX];
	size_t i, off, n;
	int bit;

	for (i = 0; i < sizeof(with_rsv) / sizeof(with_rsv[0]); i++)
		for (off = O_RSV; off < O_RSV + 2; off++)
			for (bit = 0; bit < 8; bit++) {
				n = patched(buf, with_rsv[i], 0, 0, 0);
				buf[off] ^= (uint8_t)(1u << bit);
				reject(buf, n, "reserved field not zero");
				buf[off] = 0xff;
				reject(buf, n, "reserved field not zero");
			}
}

/* Every single-bit flip of a golden message is rejected or decodes to a
** message that encodes back to the flipped bytes. */
static void
test_bit_flips(void **state)
{
	uint8_t buf[LV_MSG_MAX], out[LV_MSG_MAX];
	struct lv_msg d;
	size_t g, i, n;
	int bit;

	for (g = 0; g < N_GOLDS; g++)
		for (i = 0; i < golds[g].len; i++)
			for (bit = 0; bit < 8; bit++) {
				n = patched(buf, (int)g, 0, 0, 0);
				buf[i] ^= (uint8_t)(1u << bit);
				if (lv_msg_decode(buf, n, &d, NULL) != 0)
					continue;
				assert_int_equal(lv_msg_encode(&d, out, sizeof(out)), n);
				assert_memory_equal(out, buf, n);
			}
}

static void
test_is_mine(void **state)
{
	static const uint8_t harp[32] = {0x48, 0x41, 0x52, 0x50, 0x01, 0x01};
	struct lv_msg d;
	const char *why;
	size_t g;

	assert_int_equal(lv_msg_is_mine(harp, sizeof(harp)), 0);
	assert_int_equal(lv_msg_is_mine(harp, 4), 0);
	assert_int_equal(lv_msg_decode(harp, sizeof(harp), &d, &why), -1);
	assert_string_equal(why, "bad magic");
	for (g = 0; g < N_GOLDS; g++) {
		assert_int_equal(lv_msg_is_mine(golds[g].b, golds[g].len), 1);
		assert_int_equal(lv_msg_is_mine(golds[g].b, 4), 1);
		assert_int_equal(lv_msg_is_mine(golds[g].b, 3), 0);
		assert_int_equal(lv_msg_is_mine(golds[g].b, 0), 0);
	}
}

static void
test_type_name(void **state)
{
	assert_string_equal(lv_msg_type_name(LV_MSG_STATE), "state");
	assert_string_equal(lv_msg_type_name(LV_MSG_VERDICT), "verdict");
	assert_string_equal(lv_msg_type_name(LV_MSG_PING), "ping");
	assert_string_equal(lv_msg_type_name(LV_MSG_JOIN), "join");
	assert_string_equal(lv_msg_type_name(LV_MSG_ADMIT), "admit");
	assert_string_equal(lv_msg_type_name(0), "?");
	assert_string_equal(lv_msg_type_name(6), "?");
	assert_string_equal(lv_msg_type_name(-1), "?");
}

/* xorshift64*: fixed seed, the same sequence every run. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

/* A 64-bit value biased towards the edges. */
static uint64_t
rnd_value(void)
{
	switch (rnd() % 6) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX;
	case 2:
		return rnd() % 8;
	case 3:
		return UINT64_MAX - rnd() % 8;
	}
	return rnd();
}

static uint64_t
rnd_nonzero(void)
{
	uint64_t v;

	while ((v = rnd_value()) == 0)
		;
	return v;
}

static struct ls_ring
rnd_ring(int nonzero_nodeid)
{
	struct ls_ring r;

	r.seq = rnd_value();
	r.nodeid = (uint32_t)rnd_value();
	if (nonzero_nodeid && r.nodeid == 0)
		r.nodeid = 1;
	return r;
}

static void
rnd_msg(struct lv_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = (enum lv_msg_type)(1 + rnd() % 5);
	m->from = (unsigned)(rnd() % LS_MAX_HOSTS);
	m->ring = rnd_ring(1);
	switch (m->type) {
	case LV_MSG_STATE:
		m->u.state.access = (int)(rnd() % 2);
		m->u.state.live = rnd_nonzero();
		m->u.state.prev_ring = rnd_ring(0);
		m->u.state.has_verdict = (int)(rnd() % 2);
		if (m->u.state.has_verdict) {
			m->u.state.vring = rnd_ring(1);
			m->u.state.vlive = rnd_nonzero();
		}
		break;
	case LV_MSG_VERDICT:
		m->u.verdict.reason = (int)(1 + rnd() % LS_R_PREEMPTED);
		m->u.verdict.winner = rnd_value();
		if (rnd() % 2) {
			m->u.verdict.verdict = LS_SURVIVE;
			m->u.verdict.live = rnd_nonzero();
			m->u.verdict.lost = rnd_value() & ~m->u.verdict.live;
		} else {
			m->u.verdict.verdict = LS_FENCE;
		}
		break;
	case LV_MSG_PING:
		m->u.ping.seq = rnd_nonzero();
		m->u.ping.count = (uint32_t)rnd();
		m->u.ping.view = rnd_value();
		break;
	case LV_MSG_JOIN:
		m->u.join.seq = rnd_value();
		break;
	case LV_MSG_ADMIT:
		m->u.admit.host = (unsigned)(rnd() % LS_MAX_HOSTS);
		m->u.admit.seq = rnd_value();
		m->u.admit.live = rnd_value() | LS_BIT(m->from);
		m->u.admit.prev_ring = rnd_ring(1);
		break;
	}
}

static void
test_random_roundtrip(void **state)
{
	uint8_t buf[LV_MSG_MAX], again[LV_MSG_MAX];
	struct lv_msg m, d;
	size_t n;
	int i;

	for (i = 0; i < 100000; i++) {
		rnd_msg(&m);
		n = lv_msg_encode(&m, buf, sizeof(buf));
		assert_true(n == sizeof(gold_state) || n == sizeof(gold_verdict) ||
		            n == sizeof(gold_ping) || n == sizeof(gold_join) ||
		            n == sizeof(gold_admit));
		assert_int_equal(lv_msg_decode(buf, n, &d, NULL), 0);
		if (!msg_eq(&m, &d))
			fail_msg("iteration %d: %s decodes differently", i,
			         lv_msg_type_name(m.type));
		assert_int_equal(lv_msg_encode(&d, again, sizeof(again)), n);
		assert_memory_equal(again, buf, n);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden),
	    cmocka_unit_test(test_extremes),
	    cmocka_unit_test(test_value_out_of_range),
	    cmocka_unit_test(test_no_verdict_fields),
	    cmocka_unit_test(test_header_rejections),
	    cmocka_unit_test(test_reserved),
	    cmocka_unit_test(test_bit_flips),
	    cmocka_unit_test(test_is_mine),
	    cmocka_unit_test(test_type_name),
	    cmocka_unit_test(test_random_roundtrip),
	};

	log_init("test_lvmsg", LOG_NO_BLACKBOX, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
