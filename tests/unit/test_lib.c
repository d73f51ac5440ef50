/*
** The ground floor: ids, wire cursors, fault points, logging blackbox.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/fault.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/wire.h"
#include "lib/xmalloc.h"

static void
test_uuid_and_refs(void **state)
{
	char u[HA_UUID_LEN], v[HA_UUID_LEN], ref[HA_REF_LEN], back[HA_UUID_LEN];

	id_uuid_new(u);
	id_uuid_new(v);
	assert_true(id_uuid_valid(u));
	assert_string_not_equal(u, v);
	assert_int_equal(u[14], '4'); /* version 4 */
	id_ref_from_uuid(ref, u);
	assert_int_equal(strncmp(ref, "OpaqueRef:", 10), 0);
	assert_int_equal(id_ref_to_uuid(ref, back), 0);
	assert_string_equal(back, u);

	assert_true(id_uuid_valid("7A1F0C2E-5B3D-4E8F-9A6B-0C1D2E3F4A5B"));
	assert_false(id_uuid_valid(NULL));
	assert_false(id_uuid_valid(""));
	assert_false(id_uuid_valid("7a1f0c2e-5b3d-4e8f-9a6b-0c1d2e3f4a5"));   /* short */
	assert_false(id_uuid_valid("7a1f0c2e-5b3d-4e8f-9a6b-0c1d2e3f4a5bb")); /* long */
	assert_false(id_uuid_valid("7a1f0c2e 5b3d-4e8f-9a6b-0c1d2e3f4a5b"));
	assert_false(id_uuid_valid("7a1f0c2e-5b3d-4e8f-9a6b-0c1d2e3f4a5g"));
	{
		unsigned char b[16];
		static const unsigned char want[16] = {0x7a, 0x1f, 0x0c, 0x2e, 0x5b, 0x3d,
						       0x4e, 0x8f, 0x9a, 0x6b, 0x0c, 0x1d,
						       0x2e, 0x3f, 0x4a, 0x5b};

		assert_int_equal(id_uuid_to_bytes("7A1F0C2E-5b3d-4e8f-9a6b-0c1d2e3f4a5b", b), 0);
		assert_memory_equal(b, want, 16);
		assert_int_equal(id_uuid_to_bytes("7a1f0c2e-5b3d-4e8f-9a6b-0c1d2e3f4a5", b), -1);
		assert_int_equal(id_uuid_to_bytes("7a1f0c2e5b3d4e8f9a6b0c1d2e3f4a5b", b), -1);
	}
	assert_int_equal(id_ref_to_uuid(HA_REF_NULL, back), -1);
	assert_int_equal(id_ref_to_uuid("OpaqueRef:", back), -1);
	assert_int_equal(id_ref_to_uuid(u, back), -1);
}

static void
test_wire_roundtrip(void **state)
{
	uint8_t buf[64];
	struct wbuf w = WBUF_INIT(buf, sizeof(buf));
	struct rbuf r;
	char s[8];
	uint8_t raw[3];

	wput_u8(&w, 0xab);
	wput_u16(&w, 0x1234);
	wput_u32(&w, 0xdeadbeef);
	wput_u64(&w, 0x0102030405060708ull);
	wput_str(&w, "abc", 8);
	wput_bytes(&w, "xyz", 3);
	assert_false(w.err);
	assert_int_equal(w.off, 1 + 2 + 4 + 8 + 8 + 3);
	/* explicit big-endian layout */
	assert_int_equal(buf[1], 0x12);
	assert_int_equal(buf[3], 0xde);
	assert_int_equal(buf[7], 0x01);

	r = (struct rbuf)RBUF_INIT(buf, w.off);
	assert_int_equal(rget_u8(&r), 0xab);
	assert_int_equal(rget_u16(&r), 0x1234);
	assert_int_equal(rget_u32(&r), 0xdeadbeef);
	assert_true(rget_u64(&r) == 0x0102030405060708ull);
	rget_str(&r, s, sizeof(s));
	assert_string_equal(s, "abc");
	rget_bytes(&r, raw, 3);
	assert_memory_equal(raw, "xyz", 3);
	assert_false(r.err);
	assert_int_equal(r.off, r.len);
	/* reading past the end sets err and returns zeroes */
	assert_int_equal(rget_u32(&r), 0);
	assert_true(r.err);
}

static void
test_wire_errors(void **state)
{
	uint8_t buf[8];
	struct wbuf w = WBUF_INIT(buf, 6);
	struct rbuf r;
	char s[4];

	wput_u32(&w, 1);
	wput_u32(&w, 2); /* overflows */
	assert_true(w.err);
	assert_int_equal(w.off, 4);
	wput_u8(&w, 3); /* sticky */
	assert_int_equal(w.off, 4);

	w = (struct wbuf)WBUF_INIT(buf, 8);
	wput_str(&w, "four", 4); /* no room for the NUL */
	assert_true(w.err);

	memcpy(buf, "abcd", 4); /* unterminated */
	r = (struct rbuf)RBUF_INIT(buf, 4);
	rget_str(&r, s, 4);
	assert_true(r.err);
	assert_string_equal(s, "");

	memcpy(buf, "a\0b\0", 4); /* garbage after the NUL */
	r = (struct rbuf)RBUF_INIT(buf, 4);
	rget_str(&r, s, 4);
	assert_true(r.err);
}

static void
test_fault_points(void **state)
{
#ifdef HASVC_FAULTS
	int i, fired = 0;

	assert_int_equal(fault_configure("t.a:after=2:repeat=3,t.b"), 0);
	for (i = 0; i < 10; i++)
		fired += FAULT("t.a");
	assert_int_equal(fired, 3);
	assert_int_equal(fault_fired("t.a"), 3);
	assert_true(FAULT("t.b"));
	assert_true(FAULT("t.b"));
	assert_false(FAULT("t.c"));
	assert_int_equal(fault_configure("t.a:bogus=1"), -1);
	assert_false(FAULT("t.b")); /* a bad spec arms nothing */
	assert_int_equal(fault_configure(""), 0);
#else
	/* Without FAULTS=1 a fault point is the constant 0. */
	assert_int_equal(FAULT("t.a"), 0);
#endif
}

static void
test_blackbox_dump(void **state)
{
	char dir[] = "/tmp/hasvc-lib.XXXXXX", path[64];
	struct stat st;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bb", dir);
	log_init("test_lib", 0, LOG_ERR);
	log_info("vm 1: something worth keeping in the blackbox");
	assert_int_equal(log_blackbox_dump(path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 0);
	unlink(path);
	rmdir(dir);
	assert_int_equal(log_level_from_name("debug"), LOG_DEBUG);
	assert_int_equal(log_level_from_name("warning"), LOG_WARNING);
	assert_int_equal(log_level_from_name("loud"), -1);
	/* Closing removes the blackbox ring from /dev/shm. */
	snprintf(path, sizeof(path), "/dev/shm/qb-test_lib-%d-blackbox-data", (int)getpid());
	assert_int_equal(stat(path, &st), 0);
	log_fini();
	assert_int_equal(stat(path, &st), -1);
	/* Without a blackbox nothing reaches /dev/shm at all. */
	log_init("test_lib", LOG_NO_BLACKBOX, LOG_ERR);
	assert_int_equal(stat(path, &st), -1);
	log_fini();
}

static void
test_xmalloc(void **state)
{
	char *s = xasprintf("%s-%d", "vm", 7);
	int *v = xreallocarray(NULL, 4, sizeof(int));

	assert_string_equal(s, "vm-7");
	v[3] = 1;
	xfree(s);
	xfree(v);
	xfree(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid_and_refs), cmocka_unit_test(test_wire_roundtrip),
		cmocka_unit_test(test_wire_errors),   cmocka_unit_test(test_fault_points),
		cmocka_unit_test(test_blackbox_dump), cmocka_unit_test(test_xmalloc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
