/*
** The watchdog keeper's codec (fencing/wdmsg.c).
**
** Pins the wire format with one golden encoding of each type, round-trips
** extreme values, reaches every rejection reason (and checks that the
** encoder refuses the same values), rejects every truncation, a trailing
** byte and every nonzero reserved byte, the reason text rules (NUL, NUL
** padding, control bytes; the encoder cuts a long reason), and runs a seeded
** random property loop: decode(encode(m)) == m, re-encoding byte-identical.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fencing/wdmsg.h"
#include "lib/log.h"

#define HDR(type) 0x48, 0x41, 0x57, 0x44, 0x01, (type), 0x00, 0x00

static const uint8_t gold_hello[12] = {HDR(1), 0x00, 0x01, 0xe2, 0x40}; /* pid 123456 */
static const uint8_t gold_arm[16] = {HDR(2), 0x00, 0x00, 0x75, 0x30,    /* 30000 */
                                     0x00,   0x00, 0x1d, 0x4c};         /* 7500 */
static const uint8_t gold_pet[16] = {HDR(3), 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
static const uint8_t gold_disarm[8] = {HDR(4)};
static const uint8_t gold_reset[136] = {HDR(5), 'w', 'a', 't', 'c',
                                        'h',    'd', 'o', 'g'}; /* NUL-padded */
static const uint8_t gold_status[28] = {
    HDR(6), 0x01, 0x00, 0x00, 0x00,                   /* armed, not fenced, zero */
    0x00,   0x00, 0x07, 0xd0,                         /* timeout 2000 */
    0x00,   0x00, 0x00, 0x00, 0x00, 0x0f, 0x42, 0x40, /* lease 1000000 */
    0x00,   0x00, 0x00, 0x03,                         /* resets 3 */
};
static const uint8_t gold_fence[12] = {HDR(7), 0x00, 0x00, 0x0b, 0xb8}; /* 3000 */

static const struct {
	const uint8_t *b;
	size_t len;
} golds[] = {
    {gold_hello, sizeof(gold_hello)}, {gold_arm, sizeof(gold_arm)},
    {gold_pet, sizeof(gold_pet)},     {gold_disarm, sizeof(gold_disarm)},
    {gold_reset, sizeof(gold_reset)}, {gold_status, sizeof(gold_status)},
    {gold_fence, sizeof(gold_fence)},
};

static void
gold_msg(int i, struct wd_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = (enum wd_msg_type)(i + 1);
	switch (m->type) {
	case WD_MSG_HELLO:
		m->u.hello.pid = 123456;
		break;
	case WD_MSG_ARM:
		m->u.arm.timeout_ms = 30000;
		m->u.arm.pet_ms = 7500;
		break;
	case WD_MSG_PET:
		m->u.pet.lease_ms = 0x0123456789abcdefull;
		break;
	case WD_MSG_DISARM:
		break;
	case WD_MSG_RESET:
		snprintf(m->u.reset.reason, sizeof(m->u.reset.reason), "watchdog");
		break;
	case WD_MSG_STATUS:
		m->u.status.armed = 1;
		m->u.status.timeout_ms = 2000;
		m->u.status.lease_ms = 1000000;
		m->u.status.resets = 3;
		break;
	case WD_MSG_FENCE:
		m->u.fence.timeout_ms = 3000;
		break;
	}
}

static int
msg_eq(const struct wd_msg *a, const struct wd_msg *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case WD_MSG_HELLO:
		return a->u.hello.pid == b->u.hello.pid;
	case WD_MSG_ARM:
		return a->u.arm.timeout_ms == b->u.arm.timeout_ms &&
		       a->u.arm.pet_ms == b->u.arm.pet_ms;
	case WD_MSG_PET:
		return a->u.pet.lease_ms == b->u.pet.lease_ms;
	case WD_MSG_DISARM:
		return 1;
	case WD_MSG_RESET:
		return strcmp(a->u.reset.reason, b->u.reset.reason) == 0;
	case WD_MSG_STATUS:
		return a->u.status.armed == b->u.status.armed &&
		       a->u.status.fenced == b->u.status.fenced &&
		       a->u.status.timeout_ms == b->u.status.timeout_ms &&
		       a->u.status.lease_ms == b->u.status.lease_ms &&
		       a->u.status.resets == b->u.status.resets;
	case WD_MSG_FENCE:
		return a->u.fence.timeout_ms == b->u.fence.timeout_ms;
	}
	return 0;
}

/* Decoding must fail with `why`. */
static void
expect_reject(const uint8_t *b, size_t len, const char *why)
{
	struct wd_msg m;
	const char *got = NULL;

	assert_int_equal(wd_msg_decode(b, len, &m, &got), -1);
	assert_non_null(got);
	assert_string_equal(got, why);
}

static void
test_golden(void **state)
{
	uint8_t buf[WD_MSG_MAX];
	struct wd_msg m, d;
	const char *why = "x";
	size_t i, n;

	for (i = 0; i < sizeof(golds) / sizeof(golds[0]); i++) {
		gold_msg((int)i, &m);
		n = wd_msg_encode(&m, buf, sizeof(buf));
		assert_int_equal(n, golds[i].len);
		assert_memory_equal(buf, golds[i].b, n);
		assert_int_equal(wd_msg_decode(golds[i].b, golds[i].len, &d, &why), 0);
		assert_null(why);
		assert_true(msg_eq(&m, &d));
		/* Too short a buffer: 0, not a partial message. */
		assert_int_equal(wd_msg_encode(&m, buf, n - 1), 0);
	}
	assert_int_equal(sizeof(gold_reset), 136);
}

static void
test_extremes(void **state)
{
	uint8_t buf[WD_MSG_MAX];
	struct wd_msg m, d;
	size_t n;

	memset(&m, 0, sizeof(m));
	m.type = WD_MSG_HELLO;
	m.u.hello.pid = UINT32_MAX;
	n = wd_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(wd_msg_decode(buf, n, &d, NULL), 0);
	assert_true(msg_eq(&m, &d));

	m.type = WD_MSG_ARM;
	m.u.arm.timeout_ms = 1000;
	m.u.arm.pet_ms = 250; /* 4 pets == timeout: allowed */
	n = wd_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(n, 16);
	assert_int_equal(wd_msg_decode(buf, n, &d, NULL), 0);
	assert_true(msg_eq(&m, &d));
	m.u.arm.timeout_ms = 3600000;
	m.u.arm.pet_ms = 1;
	n = wd_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(wd_msg_decode(buf, n, &d, NULL), 0);
	assert_true(msg_eq(&m, &d));

	memset(&m, 0, sizeof(m));
	m.type = WD_MSG_PET; /* lease 0 and UINT64_MAX */
	n = wd_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(wd_msg_decode(buf, n, &d, NULL), 0);
	assert_true(msg_eq(&m, &d));
	m.u.pet.lease_ms = UINT64_MAX;
	n = wd_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(wd_msg_decode(buf, n, &d, NULL), 0);
	assert_true(msg_eq(&m, &d));

	memset(&m, 0, sizeof(m));
	m.type = WD_MSG_RESET; /* empty reason */
	n = wd_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(n, 136);
	assert_int_equal(wd_msg_decode(buf, n, &d, NULL), 0);
	assert_string_equal(d.u.reset.reason, "");
	/* UTF-8 is text. */
	snprintf(m.u.reset.reason, sizeof(m.u.reset.reason), "h\xc3\xb4te");
	n = wd_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(wd_msg_decode(buf, n, &d, NULL), 0);
	assert_true(msg_eq(&m, &d));

	memset(&m, 0, sizeof(m));
	m.type = WD_MSG_STATUS; /* disarmed, fenced, all max */
	m.u.status.fenced = 1;
	m.u.status.lease_ms = UINT64_MAX;
	m.u.status.resets = UINT32_MAX;
	n = wd_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(wd_msg_decode(buf, n, &d, NULL), 0);
	assert_true(msg_eq(&m, &d));
}

/* A message the encoder refuses: "value out of range" when decoded from a
** hand-made encoding. */
static void
test_value_out_of_range(void **state)
{
	static const struct {
		uint32_t timeout, pet;
	} bad_arms[] = {
	    {0, 0},    {999, 100},  {1500, 100}, {3601000, 1000}, {4000000000u, 1000},
	    {2000, 0}, {2000, 501}, {1000, 251},
	};
	uint8_t buf[WD_MSG_MAX], hand[16] = {HDR(2)};
	struct wd_msg m;
	size_t i;

	memset(&m, 0, sizeof(m));
	m.type = WD_MSG_HELLO; /* pid 0 */
	assert_int_equal(wd_msg_encode(&m, buf, sizeof(buf)), 0);
	{
		uint8_t b[12] = {HDR(1), 0, 0, 0, 0};

		expect_reject(b, sizeof(b), "value out of range");
	}
	for (i = 0; i < sizeof(bad_arms) / sizeof(bad_arms[0]); i++) {
		memset(&m, 0, sizeof(m));
		m.type = WD_MSG_ARM;
		m.u.arm.timeout_ms = bad_arms[i].timeout;
		m.u.arm.pet_ms = bad_arms[i].pet;
		assert_int_equal(wd_msg_encode(&m, buf, sizeof(buf)), 0);
		hand[8] = (uint8_t)(bad_arms[i].timeout >> 24);
		hand[9] = (uint8_t)(bad_arms[i].timeout >> 16);
		hand[10] = (uint8_t)(bad_arms[i].timeout >> 8);
		hand[11] = (uint8_t)bad_arms[i].timeout;
		hand[12] = (uint8_t)(bad_arms[i].pet >> 24);
		hand[13] = (uint8_t)(bad_arms[i].pet >> 16);
		hand[14] = (uint8_t)(bad_arms[i].pet >> 8);
		hand[15] = (uint8_t)bad_arms[i].pet;
		expect_reject(hand, sizeof(hand), "value out of range");
	}

	/* STATUS: flags 0/1; timeout 0 iff disarmed, else an ARM timeout. */
	{
		uint8_t b[28];

		memcpy(b, gold_status, sizeof(b));
		b[8] = 2;
		expect_reject(b, sizeof(b), "value out of range");
		memcpy(b, gold_status, sizeof(b));
		b[9] = 0xff;
		expect_reject(b, sizeof(b), "value out of range");
		memcpy(b, gold_status, sizeof(b));
		b[8] = 0; /* disarmed with a timeout */
		expect_reject(b, sizeof(b), "value out of range");
		memcpy(b, gold_status, sizeof(b));
		b[12] = b[13] = b[14] = b[15] = 0; /* armed without one */
		expect_reject(b, sizeof(b), "value out of range");
		memcpy(b, gold_status, sizeof(b));
		b[15] = 0xd1; /* 2001 */
		expect_reject(b, sizeof(b), "value out of range");
	}
	memset(&m, 0, sizeof(m));
	m.type = WD_MSG_STATUS;
	m.u.status.armed = 2;
	assert_int_equal(wd_msg_encode(&m, buf, sizeof(buf)), 0);
	m.u.status.armed = 0;
	m.u.status.fenced = -1;
	assert_int_equal(wd_msg_encode(&m, buf, sizeof(buf)), 0);
	m.u.status.fenced = 0;
	m.u.status.timeout_ms = 2000;
	assert_int_equal(wd_msg_encode(&m, buf, sizeof(buf)), 0);
	m.u.status.armed = 1;
	m.u.status.timeout_ms = 0;
	assert_int_equal(wd_msg_encode(&m, buf, sizeof(buf)), 0);

	/* Unknown types are refused both ways. */
	m.type = (enum wd_msg_type)0;
	assert_int_equal(wd_msg_encode(&m, buf, sizeof(buf)), 0);
	m.type = (enum wd_msg_type)7;
	assert_int_equal(wd_msg_encode(&m, buf, sizeof(buf)), 0);
}

static void
test_reason_rules(void **state)
{
	uint8_t buf[WD_MSG_MAX], b[136];
	struct wd_msg m, d;
	size_t n;

	/* The encoder cuts at 127 bytes; the field keeps a NUL. */
	memset(&m, 0, sizeof(m));
	m.type = WD_MSG_RESET;
	memset(m.u.reset.reason, 'x', sizeof(m.u.reset.reason) - 1);
	n = wd_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(n, 136);
	assert_int_equal(buf[135], 0);
	assert_int_equal(buf[134], 'x');
	assert_int_equal(wd_msg_decode(buf, n, &d, NULL), 0);
	assert_int_equal(strlen(d.u.reset.reason), 127);
	/* Not terminated in the struct: still cut, never overread. */
	memset(m.u.reset.reason, 'y', sizeof(m.u.reset.reason));
	n = wd_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(n, 136);
	assert_int_equal(buf[135], 0);
	/* A control byte: refused by the encoder and the decoder. */
	snprintf(m.u.reset.reason, sizeof(m.u.reset.reason), "line\nbreak");
	assert_int_equal(wd_msg_encode(&m, buf, sizeof(buf)), 0);
	snprintf(m.u.reset.reason, sizeof(m.u.reset.reason), "del\x7f");
	assert_int_equal(wd_msg_encode(&m, buf, sizeof(buf)), 0);
	snprintf(m.u.reset.reason, sizeof(m.u.reset.reason), "tab\there");
	assert_int_equal(wd_msg_encode(&m, buf, sizeof(buf)), 0);

	memcpy(b, gold_reset, sizeof(b));
	b[10] = '\t';
	expect_reject(b, sizeof(b), "bad reason text");
	memcpy(b, gold_reset, sizeof(b));
	b[8] = 0x1b;
	expect_reject(b, sizeof(b), "bad reason text");
	memcpy(b, gold_reset, sizeof(b));
	b[8 + 20] = 'z'; /* a byte after the first NUL: not NUL-padded */
	expect_reject(b, sizeof(b), "bad reason text");
	memcpy(b, gold_reset, sizeof(b));
	b[135] = 1;
	expect_reject(b, sizeof(b), "bad reason text");
	memset(b + 8, 'a', 128); /* no NUL at all */
	expect_reject(b, sizeof(b), "bad reason text");
	b[135] = 0; /* 127 bytes and a NUL: fine */
	assert_int_equal(wd_msg_decode(b, sizeof(b), &d, NULL), 0);
	assert_int_equal(strlen(d.u.reset.reason), 127);
}

static void
test_header_rejections(void **state)
{
	uint8_t b[WD_MSG_MAX + 1];
	struct wd_msg m;
	size_t i, n;

	expect_reject(gold_disarm, 0, "short");
	expect_reject(gold_disarm, 7, "short");
	memcpy(b, gold_disarm, 8);
	b[0] = 'X';
	expect_reject(b, 8, "bad magic");
	memcpy(b, gold_disarm, 8);
	b[4] = 2;
	expect_reject(b, 8, "bad version");
	b[4] = 0;
	expect_reject(b, 8, "bad version");
	memcpy(b, gold_disarm, 8);
	b[5] = 0;
	expect_reject(b, 8, "bad type");
	b[5] = 8;
	expect_reject(b, 8, "bad type");
	b[5] = 0xff;
	expect_reject(b, 8, "bad type");

	/* Every truncation and a trailing byte of every golden message. */
	for (i = 0; i < sizeof(golds) / sizeof(golds[0]); i++) {
		for (n = 8; n < golds[i].len; n++)
			expect_reject(golds[i].b, n, "bad length");
		memcpy(b, golds[i].b, golds[i].len);
		b[golds[i].len] = 0;
		expect_reject(b, golds[i].len + 1, "bad length");
		for (n = 0; n < 8 && n < golds[i].len; n++)
			assert_int_equal(wd_msg_decode(golds[i].b, n, &m, NULL), -1);
	}
}

static void
test_reserved(void **state)
{
	uint8_t b[WD_MSG_MAX];
	size_t i, j;

	for (i = 0; i < sizeof(golds) / sizeof(golds[0]); i++)
		for (j = 6; j < 8; j++) {
			memcpy(b, golds[i].b, golds[i].len);
			b[j] = 0x80;
			expect_reject(b, golds[i].len, "reserved field not zero");
		}
	for (j = 10; j < 12; j++) {
		memcpy(b, gold_status, sizeof(gold_status));
		b[j] = 1;
		expect_reject(b, sizeof(gold_status), "reserved field not zero");
	}
}

/* Every single-bit flip of every golden message: rejected, or accepted and
** then re-encoded to the flipped bytes exactly (canonical). */
static void
test_bit_flips(void **state)
{
	uint8_t b[WD_MSG_MAX], again[WD_MSG_MAX];
	struct wd_msg m;
	const char *why;
	size_t i, j;
	int bit;

	for (i = 0; i < sizeof(golds) / sizeof(golds[0]); i++)
		for (j = 0; j < golds[i].len; j++)
			for (bit = 0; bit < 8; bit++) {
				memcpy(b, golds[i].b, golds[i].len);
				b[j] ^= (uint8_t)(1u << bit);
				why = NULL;
				if (wd_msg_decode(b, golds[i].len, &m, &why) != 0) {
					assert_non_null(why);
					continue;
				}
				assert_int_equal(wd_msg_encode(&m, again, sizeof(again)),
				                 golds[i].len);
				assert_memory_equal(again, b, golds[i].len);
			}
}

static void
test_type_name(void **state)
{
	assert_string_equal(wd_msg_type_name(WD_MSG_HELLO), "hello");
	assert_string_equal(wd_msg_type_name(WD_MSG_ARM), "arm");
	assert_string_equal(wd_msg_type_name(WD_MSG_PET), "pet");
	assert_string_equal(wd_msg_type_name(WD_MSG_DISARM), "disarm");
	assert_string_equal(wd_msg_type_name(WD_MSG_RESET), "reset");
	assert_string_equal(wd_msg_type_name(WD_MSG_STATUS), "status");
	assert_string_equal(wd_msg_type_name(WD_MSG_FENCE), "fence");
	assert_string_equal(wd_msg_type_name(0), "?");
	assert_string_equal(wd_msg_type_name(8), "?");
	assert_string_equal(wd_msg_type_name(-1), "?");
}

static uint64_t
rnd64(void)
{
	return ((uint64_t)(unsigned)rand() << 33) ^ ((uint64_t)(unsigned)rand() << 11) ^
	       (uint64_t)(unsigned)rand();
}

static void
random_msg(struct wd_msg *m)
{
	size_t i, l;

	memset(m, 0, sizeof(*m));
	m->type = (enum wd_msg_type)(1 + rand() % 7);
	switch (m->type) {
	case WD_MSG_HELLO:
		m->u.hello.pid = 1 + (uint32_t)(rnd64() % UINT32_MAX);
		break;
	case WD_MSG_ARM:
		m->u.arm.timeout_ms = 1000u * (1 + (uint32_t)(rand() % 3600));
		m->u.arm.pet_ms = 1 + (uint32_t)(rnd64() % (m->u.arm.timeout_ms / 4));
		break;
	case WD_MSG_PET:
		m->u.pet.lease_ms = rnd64();
		break;
	case WD_MSG_DISARM:
		break;
	case WD_MSG_FENCE:
		m->u.fence.timeout_ms = 1000u * (1 + (uint32_t)(rand() % 3600));
		break;
	case WD_MSG_RESET:
		l = (size_t)rand() % WD_REASON_LEN;
		for (i = 0; i < l; i++)
			m->u.reset.reason[i] = (char)(0x20 + rand() % 0x5f);
		break;
	case WD_MSG_STATUS:
		m->u.status.armed = rand() % 2;
		m->u.status.fenced = rand() % 2;
		m->u.status.timeout_ms =
		    m->u.status.armed ? 1000u * (1 + (uint32_t)(rand() % 3600)) : 0;
		m->u.status.lease_ms = rnd64();
		m->u.status.resets = (uint32_t)rnd64();
		break;
	}
}

static void
test_random_roundtrip(void **state)
{
	uint8_t buf[WD_MSG_MAX], again[WD_MSG_MAX];
	struct wd_msg m, d;
	size_t n;
	int i;

	srand(20240607);
	for (i = 0; i < 20000; i++) {
		random_msg(&m);
		n = wd_msg_encode(&m, buf, sizeof(buf));
		assert_true(n >= 8 && n <= WD_MSG_MAX);
		assert_int_equal(wd_msg_decode(buf, n, &d, NULL), 0);
		if (!msg_eq(&m, &d))
			fail_msg("iteration %d: %s decodes differently", i,
			         wd_msg_type_name(m.type));
		assert_int_equal(wd_msg_encode(&d, again, sizeof(again)), n);
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
	    cmocka_unit_test(test_reason_rules),
	    cmocka_unit_test(test_header_rejections),
	    cmocka_unit_test(test_reserved),
	    cmocka_unit_test(test_bit_flips),
	    cmocka_unit_test(test_type_name),
	    cmocka_unit_test(test_random_roundtrip),
	};

	log_init("test_wdmsg", LOG_NO_BLACKBOX, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
