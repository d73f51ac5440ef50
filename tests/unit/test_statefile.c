/*
** The statefile format (heartbeat/statefile.c): CRC32C, the key derivation,
** round trips of every field, every rejection reason (single-bit flips, wrong
** key/pool/generation, a newer version, out-of-range values under a valid
** seal) and the whole-file snapshot.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "heartbeat/statefile.h"
#include "lib/log.h"
#include "lib/wire.h"
#include "lib/xmalloc.h"

static const uint8_t pool_a[SF_ID_LEN] = {0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x43, 0x33,
                                          0x84, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55};
static const uint8_t pool_b[SF_ID_LEN] = {0x99, 0x11, 0x11, 0x11, 0x22, 0x22, 0x43, 0x33,
                                          0x84, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55};
static struct sf_key key, key2;

static int
setup(void **state)
{
	assert_int_equal(sf_key_derive("pool secret", 11, &key), 0);
	assert_int_equal(sf_key_derive("other secret", 12, &key2), 0);
	return 0;
}

static void
make_header(struct sf_header *h)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->pool_id, pool_a, SF_ID_LEN);
	h->version = SF_VERSION;
	h->generation = 0x0102030405060708ull;
	h->pool_state = SF_POOL_ACTIVE;
	h->host_count = 17;
	h->created = 1700000000;
}

static void
make_slot(struct sf_slot *s, unsigned index)
{
	unsigned i;

	memset(s, 0, sizeof(*s));
	s->version = SF_SLOT_VERSION;
	memcpy(s->pool_id, pool_a, SF_ID_LEN);
	s->generation = 0x0102030405060708ull;
	s->host_index = index;
	for (i = 0; i < SF_ID_LEN; i++)
		s->host_uuid[i] = (uint8_t)(0xa0 + i + index);
	s->seq = 0xfedcba9876543210ull;
	s->state = SF_HOST_FENCING;
	s->ring_nodeid = 3;
	s->ring_seq = 0x1122334455667788ull;
	s->members.count = SF_MAX_HOSTS;
	for (i = 0; i < SF_MAX_HOSTS; i++)
		s->members.nodeid[i] = 1000 + i;
	s->storage_view = 0x8000000000000005ull;
	s->mono_ms = 123456789012ull;
	s->wall_s = 1700000123;
	s->fence.present = 1;
	s->fence.reason = 7;
	s->fence.wall_s = 1700000100;
	s->fence.mono_ms = 123456780000ull;
	snprintf(s->fence.detail, sizeof(s->fence.detail), "lost the partition: %s",
	         "component {1,2} weight 2 < {3,4,5} weight 3");
	s->fence.members.count = 2;
	s->fence.members.nodeid[0] = 1;
	s->fence.members.nodeid[1] = 2;
	s->verdict.kind = SF_VERDICT_SURVIVED;
	s->verdict.ring_nodeid = 3;
	s->verdict.ring_seq = 0x1122334455667700ull;
	s->verdict.live.count = 3;
	s->verdict.live.nodeid[0] = 3;
	s->verdict.live.nodeid[1] = 4;
	s->verdict.live.nodeid[2] = 5;
	s->verdict.wall_s = 1700000050;
	s->verdict.mono_ms = 123456700000ull;
}

static const struct sf_expect expect_a = {pool_a, 0x0102030405060708ull, -1};

static void
test_crc32c(void **state)
{
	assert_int_equal(sf_crc32c(0, "123456789", 9), 0xe3069283u);
	/* Continuation over pieces gives the same value. */
	assert_int_equal(sf_crc32c(sf_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
	assert_int_equal(sf_crc32c(0, "", 0), 0);
}

static void
test_key_derive(void **state)
{
	/* HMAC-SHA256(key = "pool secret", "hasvc statefile v1"), from Python's hmac. */
	static const uint8_t want[SF_KEY_LEN] = {0xd2, 0x45, 0xcb, 0x33, 0x96, 0x9f, 0x4d, 0xa6,
	                                         0x8d, 0xd7, 0x18, 0x28, 0x83, 0xae, 0xe5, 0xe7,
	                                         0xaa, 0x4d, 0xd2, 0xcd, 0x34, 0x83, 0x56, 0xde,
	                                         0x97, 0xae, 0xd9, 0xe6, 0x20, 0xa9, 0xc5, 0xd0};

	assert_memory_equal(key.k, want, SF_KEY_LEN);
	assert_memory_not_equal(key.k, key2.k, SF_KEY_LEN);
}

static void
test_header_roundtrip(void **state)
{
	uint8_t buf[SF_SECTOR], buf2[SF_SECTOR];
	struct sf_header h, d;
	const char *why = NULL;

	make_header(&h);
	assert_int_equal(sf_header_encode(&h, &key, buf, &why), SF_SECTOR);
	assert_memory_equal(buf, "HASVCSF\0\0\0\0\1", 12);
	assert_true(sf_is_zero(buf + SF_HEADER_USED, SF_SECTOR - SF_HEADER_USED));
	assert_int_equal(sf_header_decode(buf, sizeof(buf), &key, &expect_a, &d, &why), 0);
	assert_memory_equal(&h, &d, sizeof(h));
	assert_int_equal(sf_header_encode(&d, &key, buf2, NULL), SF_SECTOR);
	assert_memory_equal(buf, buf2, SF_SECTOR);
	/* No expectations, and no key (diagnosis only). */
	assert_int_equal(sf_header_decode(buf, sizeof(buf), &key, NULL, &d, &why), 0);
	assert_int_equal(sf_header_decode(buf, sizeof(buf), NULL, NULL, &d, &why), 0);
	assert_int_equal(sf_header_decode(buf, SF_SECTOR - 1, &key, NULL, &d, &why), -1);
	assert_string_equal(why, "short sector");
}

static void
test_slot_roundtrip(void **state)
{
	uint8_t buf[SF_SECTOR], buf2[SF_SECTOR];
	struct sf_slot s, d;
	const char *why = NULL;

	make_slot(&s, 5);
	assert_int_equal(sf_slot_encode(&s, &key, buf, &why), SF_SECTOR);
	assert_memory_equal(buf, "SLOT\0\0\0\2", 8);
	/* The verdict at 900: kind, ring nodeid, ring seq, liveset, times. */
	assert_memory_equal(buf + 900, "\0\0\0\2\0\0\0\3", 8);
	assert_memory_equal(buf + 908, "\x11\x22\x33\x44\x55\x66\x77\x00", 8);
	assert_memory_equal(buf + 916, "\0\0\0\3\0\0\0\3\0\0\0\4\0\0\0\5", 16);
	assert_true(sf_is_zero(buf + 932, 1176 - 932));
	assert_true(sf_is_zero(buf + SF_SLOT_USED, SF_SECTOR - SF_SLOT_USED));
	assert_int_equal(SF_SLOT_USED, 1228);
	assert_int_equal(sf_slot_decode(buf, sizeof(buf), &key, &expect_a, &d, &why), 0);
	assert_memory_equal(&s, &d, sizeof(s));
	assert_int_equal(sf_slot_encode(&d, &key, buf2, NULL), SF_SECTOR);
	assert_memory_equal(buf, buf2, SF_SECTOR);

	/* No fence record: the encoder writes its fields as zeros whatever the
	** struct holds, and the result decodes with a zeroed fence. */
	s.fence.present = 0;
	assert_int_equal(sf_slot_encode(&s, &key, buf, &why), SF_SECTOR);
	assert_int_equal(sf_slot_decode(buf, sizeof(buf), &key, &expect_a, &d, &why), 0);
	assert_int_equal(d.fence.present, 0);
	assert_int_equal(d.fence.reason, 0);
	assert_int_equal(d.fence.members.count, 0);
	assert_string_equal(d.fence.detail, "");
	assert_int_equal(d.seq, s.seq);

	/* No verdict: likewise. */
	s.verdict.kind = SF_VERDICT_NONE;
	assert_int_equal(sf_slot_encode(&s, &key, buf, &why), SF_SECTOR);
	assert_true(sf_is_zero(buf + 900, SF_SLOT_BODY_LEN - 900));
	assert_int_equal(sf_slot_decode(buf, sizeof(buf), &key, &expect_a, &d, &why), 0);
	assert_int_equal(d.verdict.ring_seq, 0);
	assert_int_equal(d.verdict.live.count, 0);
	assert_string_equal(sf_verdict_kind_name(SF_VERDICT_SURVIVED), "survived");
	assert_string_equal(sf_verdict_kind_name(SF_VERDICT_PUBLISHED), "published");
	assert_string_equal(sf_verdict_kind_name(SF_VERDICT_NONE), "none");
	assert_string_equal(sf_verdict_kind_name(9), "?");

	/* Members past the count are not written. */
	s.members.count = 3;
	assert_int_equal(sf_slot_encode(&s, &key, buf, &why), SF_SECTOR);
	assert_int_equal(sf_slot_decode(buf, sizeof(buf), &key, &expect_a, &d, &why), 0);
	assert_int_equal(d.members.count, 3);
	assert_int_equal(d.members.nodeid[2], 1002);
	assert_int_equal(d.members.nodeid[3], 0);
}

/* Flip every bit of the used area, and some of the padding. */
static void
flip_all(uint8_t *buf, size_t body_len, size_t version_off, int is_slot)
{
	size_t bit, used = body_len + 4 + SF_HMAC_LEN;
	struct sf_header h;
	struct sf_slot s;
	const char *why;
	int rc;

	for (bit = 0; bit < (used + 8) * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		why = NULL;
		rc = is_slot ? sf_slot_decode(buf, SF_SECTOR, &key, &expect_a, &s, &why)
		             : sf_header_decode(buf, SF_SECTOR, &key, &expect_a, &h, &why);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(rc, -1);
		assert_non_null(why);
		if (bit / 8 >= version_off && bit / 8 < version_off + 4)
			assert_string_equal(why, "unsupported version");
		else if (bit / 8 < body_len + 4)
			assert_string_equal(why, "bad crc");
		else if (bit / 8 < used)
			assert_string_equal(why, "bad hmac");
		else
			assert_string_equal(why, "nonzero padding");
	}
	/* The last byte of the sector too. */
	buf[SF_SECTOR - 1] = 1;
	rc = is_slot ? sf_slot_decode(buf, SF_SECTOR, &key, &expect_a, &s, &why)
	             : sf_header_decode(buf, SF_SECTOR, &key, &expect_a, &h, &why);
	buf[SF_SECTOR - 1] = 0;
	assert_int_equal(rc, -1);
	assert_string_equal(why, "nonzero padding");
}

static void
test_bit_flips(void **state)
{
	uint8_t buf[SF_SECTOR];
	struct sf_header h;
	struct sf_slot s;

	make_header(&h);
	assert_int_equal(sf_header_encode(&h, &key, buf, NULL), SF_SECTOR);
	flip_all(buf, SF_HEADER_BODY_LEN, 8, 0);
	make_slot(&s, 9);
	assert_int_equal(sf_slot_encode(&s, &key, buf, NULL), SF_SECTOR);
	flip_all(buf, SF_SLOT_BODY_LEN, 4, 1);
}

static void
test_wrong_key_pool_generation_version(void **state)
{
	uint8_t buf[SF_SECTOR];
	struct sf_header h;
	struct sf_slot s;
	struct sf_expect e = expect_a;
	const char *why;
	struct wbuf w;

	make_header(&h);
	assert_int_equal(sf_header_encode(&h, &key, buf, NULL), SF_SECTOR);
	assert_int_equal(sf_header_decode(buf, SF_SECTOR, &key2, &e, &h, &why), -1);
	assert_string_equal(why, "bad hmac");
	e.pool_id = pool_b;
	assert_int_equal(sf_header_decode(buf, SF_SECTOR, &key, &e, &h, &why), -1);
	assert_string_equal(why, "wrong pool id");
	e = expect_a;
	e.generation = 99;
	assert_int_equal(sf_header_decode(buf, SF_SECTOR, &key, &e, &h, &why), -1);
	assert_string_equal(why, "wrong generation");
	/* Version 2 under a valid seal. */
	w = (struct wbuf)WBUF_INIT(buf + 8, 4);
	wput_u32(&w, 2);
	sf_seal(buf, SF_HEADER_BODY_LEN, &key);
	assert_int_equal(sf_header_decode(buf, SF_SECTOR, &key, &expect_a, &h, &why), -1);
	assert_string_equal(why, "unsupported version");
	/* Bad magic under a valid seal. */
	buf[0] = 'X';
	sf_seal(buf, SF_HEADER_BODY_LEN, &key);
	assert_int_equal(sf_header_decode(buf, SF_SECTOR, &key, &expect_a, &h, &why), -1);
	assert_string_equal(why, "bad magic");

	make_slot(&s, 1);
	assert_int_equal(sf_slot_encode(&s, &key, buf, NULL), SF_SECTOR);
	assert_int_equal(sf_slot_decode(buf, SF_SECTOR, &key2, &expect_a, &s, &why), -1);
	assert_string_equal(why, "bad hmac");
	e = expect_a;
	e.pool_id = pool_b;
	assert_int_equal(sf_slot_decode(buf, SF_SECTOR, &key, &e, &s, &why), -1);
	assert_string_equal(why, "wrong pool id");
	e = expect_a;
	e.generation = 99;
	assert_int_equal(sf_slot_decode(buf, SF_SECTOR, &key, &e, &s, &why), -1);
	assert_string_equal(why, "wrong generation");
	e = expect_a;
	e.index = 2;
	assert_int_equal(sf_slot_decode(buf, SF_SECTOR, &key, &e, &s, &why), -1);
	assert_string_equal(why, "host index does not match the slot's position");
	e.index = 1;
	assert_int_equal(sf_slot_decode(buf, SF_SECTOR, &key, &e, &s, &why), 0);
	/* Version 1 (before the verdict) and 3, under a valid seal; version 1
	** sealed where version 1 had its CRC (body 900) fails the CRC here,
	** and reads "unsupported version" by the diagnosis exception. */
	w = (struct wbuf)WBUF_INIT(buf + 4, 4);
	wput_u32(&w, 1);
	sf_seal(buf, SF_SLOT_BODY_LEN, &key);
	assert_int_equal(sf_slot_decode(buf, SF_SECTOR, &key, &expect_a, &s, &why), -1);
	assert_string_equal(why, "unsupported version");
	memset(buf + 900, 0, SF_SECTOR - 900);
	sf_seal(buf, 900, &key);
	assert_int_equal(sf_slot_decode(buf, SF_SECTOR, &key, &expect_a, &s, &why), -1);
	assert_string_equal(why, "unsupported version");
	make_slot(&s, 1);
	assert_int_equal(sf_slot_encode(&s, &key, buf, NULL), SF_SECTOR);
	w = (struct wbuf)WBUF_INIT(buf + 4, 4);
	wput_u32(&w, 3);
	sf_seal(buf, SF_SLOT_BODY_LEN, &key);
	assert_int_equal(sf_slot_decode(buf, SF_SECTOR, &key, &expect_a, &s, &why), -1);
	assert_string_equal(why, "unsupported version");
	/* A zeroed sector is not a slot. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(sf_slot_decode(buf, SF_SECTOR, &key, &expect_a, &s, &why), -1);
	assert_string_equal(why, "bad crc");
}

/* Patch a u32 at `off` of a freshly encoded slot / header, reseal, decode. */
static const char *
slot_patched(size_t off, uint32_t v)
{
	uint8_t buf[SF_SECTOR];
	struct wbuf w = WBUF_INIT(buf + off, 4);
	struct sf_slot s;
	const char *why = NULL;

	make_slot(&s, 4);
	assert_int_equal(sf_slot_encode(&s, &key, buf, NULL), SF_SECTOR);
	wput_u32(&w, v);
	sf_seal(buf, SF_SLOT_BODY_LEN, &key);
	assert_int_equal(sf_slot_decode(buf, SF_SECTOR, &key, NULL, &s, &why), -1);
	return why;
}

static const char *
header_patched(size_t off, uint32_t v)
{
	uint8_t buf[SF_SECTOR];
	struct wbuf w = WBUF_INIT(buf + off, 4);
	struct sf_header h;
	const char *why = NULL;

	make_header(&h);
	assert_int_equal(sf_header_encode(&h, &key, buf, NULL), SF_SECTOR);
	wput_u32(&w, v);
	sf_seal(buf, SF_HEADER_BODY_LEN, &key);
	assert_int_equal(sf_header_decode(buf, SF_SECTOR, &key, NULL, &h, &why), -1);
	return why;
}

static void
test_out_of_range(void **state)
{
	uint8_t buf[SF_SECTOR];
	struct sf_slot s;
	struct sf_header h;
	const char *why;

	assert_string_equal(header_patched(36, 0), "out of range: unknown pool state");
	assert_string_equal(header_patched(36, 4), "out of range: unknown pool state");
	assert_string_equal(header_patched(40, 0), "out of range: host count");
	assert_string_equal(header_patched(40, 65), "out of range: host count");
	{
		/* generation 0 */
		uint8_t b[SF_SECTOR];
		struct sf_header hh;

		make_header(&hh);
		assert_int_equal(sf_header_encode(&hh, &key, b, NULL), SF_SECTOR);
		memset(b + 28, 0, 8);
		sf_seal(b, SF_HEADER_BODY_LEN, &key);
		assert_int_equal(sf_header_decode(b, SF_SECTOR, &key, NULL, &hh, &why), -1);
		assert_string_equal(why, "out of range: generation 0");
	}

	assert_string_equal(slot_patched(32, 64), "out of range: host index >= 64");
	assert_string_equal(slot_patched(60, 0), "out of range: unknown host state");
	assert_string_equal(slot_patched(60, 5), "out of range: unknown host state");
	assert_string_equal(slot_patched(76, 65), "out of range: member count > 64");
	assert_string_equal(slot_patched(80, 0), "out of range: nodeid 0 in a member set");
	assert_string_equal(slot_patched(360, 2), "out of range: fence present flag");
	assert_string_equal(slot_patched(640, 65), "out of range: member count > 64");
	/* fence member count 2: entry 3 (offset 644 + 8) must be zero */
	assert_string_equal(slot_patched(644 + 8, 77),
	                    "out of range: member entries past the count are not zero");

	/* The verdict. */
	assert_string_equal(slot_patched(900, 3), "out of range: unknown verdict kind");
	assert_string_equal(slot_patched(904, 0), "out of range: verdict ring nodeid 0");
	assert_string_equal(slot_patched(916, 0), "out of range: verdict with an empty liveset");
	assert_string_equal(slot_patched(916, 65), "out of range: member count > 64");
	assert_string_equal(slot_patched(920, 0), "out of range: nodeid 0 in a member set");
	assert_string_equal(slot_patched(920 + 12, 9),
	                    "out of range: member entries past the count are not zero");
	make_slot(&s, 4);
	s.verdict.kind = SF_VERDICT_NONE;
	assert_int_equal(sf_slot_encode(&s, &key, buf, NULL), SF_SECTOR);
	buf[1183] = 1; /* wall s */
	sf_seal(buf, SF_SLOT_BODY_LEN, &key);
	assert_int_equal(sf_slot_decode(buf, SF_SECTOR, &key, NULL, &s, &why), -1);
	assert_string_equal(why, "out of range: verdict fields set without a verdict");
	make_slot(&s, 0);
	s.verdict.ring_nodeid = 0;
	assert_int_equal(sf_slot_encode(&s, &key, buf, &why), 0);
	assert_string_equal(why, "out of range: verdict ring nodeid 0");

	/* Detail without NUL; detail with garbage after its NUL. */
	make_slot(&s, 4);
	assert_int_equal(sf_slot_encode(&s, &key, buf, NULL), SF_SECTOR);
	memset(buf + 384, 'x', SF_DETAIL_LEN);
	sf_seal(buf, SF_SLOT_BODY_LEN, &key);
	assert_int_equal(sf_slot_decode(buf, SF_SECTOR, &key, NULL, &s, &why), -1);
	assert_string_equal(why, "out of range: fence detail not NUL-terminated");
	make_slot(&s, 4);
	assert_int_equal(sf_slot_encode(&s, &key, buf, NULL), SF_SECTOR);
	buf[384 + SF_DETAIL_LEN - 1] = 'x';
	buf[384 + SF_DETAIL_LEN - 2] = '\0';
	sf_seal(buf, SF_SLOT_BODY_LEN, &key);
	assert_int_equal(sf_slot_decode(buf, SF_SECTOR, &key, NULL, &s, &why), -1);
	assert_string_equal(why, "out of range: fence detail not NUL-padded");
	/* Fence fields without a record. */
	make_slot(&s, 4);
	s.fence.present = 0;
	assert_int_equal(sf_slot_encode(&s, &key, buf, NULL), SF_SECTOR);
	buf[365] = 1;
	sf_seal(buf, SF_SLOT_BODY_LEN, &key);
	assert_int_equal(sf_slot_decode(buf, SF_SECTOR, &key, NULL, &s, &why), -1);
	assert_string_equal(why, "out of range: fence fields set without a fence record");

	/* The encoders refuse the same values. */
	make_slot(&s, 64);
	assert_int_equal(sf_slot_encode(&s, &key, buf, &why), 0);
	assert_string_equal(why, "out of range: host index >= 64");
	make_slot(&s, 0);
	s.state = SF_HOST_ABSENT;
	assert_int_equal(sf_slot_encode(&s, &key, buf, &why), 0);
	make_slot(&s, 0);
	memset(s.fence.detail, 'y', sizeof(s.fence.detail));
	assert_int_equal(sf_slot_encode(&s, &key, buf, &why), 0);
	assert_string_equal(why, "out of range: fence detail not NUL-terminated");
	make_header(&h);
	h.host_count = 65;
	assert_int_equal(sf_header_encode(&h, &key, buf, &why), 0);
	make_header(&h);
	h.generation = 0;
	assert_int_equal(sf_header_encode(&h, &key, buf, &why), 0);
}

static void
test_snapshot(void **state)
{
	uint8_t *file = xcalloc(1, SF_FILE_SIZE);
	struct sf_snapshot *snap = xmalloc(sizeof(*snap));
	struct sf_header h;
	struct sf_slot s;
	struct sf_expect e = {pool_a, 0, -1};

	make_header(&h);
	assert_int_equal(sf_header_encode(&h, &key, file, NULL), SF_SECTOR);
#define SEC(i) (file + (size_t)(1 + (i)) * SF_SECTOR)
	make_slot(&s, 0); /* valid */
	assert_int_equal(sf_slot_encode(&s, &key, SEC(0), NULL), SF_SECTOR);
	make_slot(&s, 1); /* corrupt */
	assert_int_equal(sf_slot_encode(&s, &key, SEC(1), NULL), SF_SECTOR);
	SEC(1)[100] ^= 0x10;
	make_slot(&s, 2); /* an older generation */
	s.generation = 5;
	assert_int_equal(sf_slot_encode(&s, &key, SEC(2), NULL), SF_SECTOR);
	make_slot(&s, 4); /* written at the wrong position (3) */
	assert_int_equal(sf_slot_encode(&s, &key, SEC(3), NULL), SF_SECTOR);
	make_slot(&s, 63); /* valid, the last one */
	s.state = SF_HOST_ALIVE;
	s.fence.present = 0;
	assert_int_equal(sf_slot_encode(&s, &key, SEC(63), NULL), SF_SECTOR);
	make_slot(&s, 10); /* another pool's key */
	assert_int_equal(sf_slot_encode(&s, &key2, SEC(10), NULL), SF_SECTOR);

	sf_snapshot_decode(file, SF_FILE_SIZE, &key, &e, snap);
	assert_true(snap->header_present);
	assert_true(snap->header_ok);
	assert_int_equal(snap->header.host_count, 17);
	assert_int_equal(snap->nvalid, 2);
	assert_int_equal(snap->ninvalid, 4);
	assert_int_equal(snap->nabsent, 58);
	assert_true(snap->slot[0].valid);
	assert_int_equal(snap->slot[0].slot.seq, 0xfedcba9876543210ull);
	assert_true(snap->slot[63].valid);
	assert_int_equal(snap->slot[63].slot.state, SF_HOST_ALIVE);
	assert_true(snap->slot[1].present && !snap->slot[1].valid);
	assert_string_equal(snap->slot[1].why, "bad crc");
	assert_string_equal(snap->slot[2].why, "wrong generation");
	assert_string_equal(snap->slot[3].why, "host index does not match the slot's position");
	assert_string_equal(snap->slot[10].why, "bad hmac");
	assert_false(snap->slot[5].present);
	assert_false(snap->slot[5].valid);

	/* A corrupt header: slots are still decoded (for the tool), without a
	** generation check; the caller must not trust any of it. */
	file[30] ^= 1;
	sf_snapshot_decode(file, SF_FILE_SIZE, &key, &e, snap);
	assert_false(snap->header_ok);
	assert_string_equal(snap->header_why, "bad crc");
	assert_true(snap->slot[2].valid);
	/* A zeroed header is absent. */
	memset(file, 0, SF_SECTOR);
	sf_snapshot_decode(file, SF_FILE_SIZE, &key, &e, snap);
	assert_false(snap->header_present);
	assert_string_equal(snap->header_why, "absent");
	/* Too short. */
	sf_snapshot_decode(file, SF_FILE_SIZE - 1, &key, &e, snap);
	assert_false(snap->header_ok);
	assert_string_equal(snap->header_why, "short file");
	assert_int_equal(snap->nvalid, 0);

	assert_string_equal(sf_host_state_name(SF_HOST_LEAVING), "leaving");
	assert_string_equal(sf_host_state_name(9), "?");
	assert_string_equal(sf_pool_state_name(SF_POOL_DISABLED), "disabled");
	xfree(snap);
	xfree(file);
#undef SEC
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc32c),
	    cmocka_unit_test(test_key_derive),
	    cmocka_unit_test(test_header_roundtrip),
	    cmocka_unit_test(test_slot_roundtrip),
	    cmocka_unit_test(test_bit_flips),
	    cmocka_unit_test(test_wrong_key_pool_generation_version),
	    cmocka_unit_test(test_out_of_range),
	    cmocka_unit_test(test_snapshot),
	};

	log_init("test_statefile", LOG_NO_BLACKBOX, LOG_WARNING);
	return cmocka_run_group_tests(tests, setup, NULL);
}
