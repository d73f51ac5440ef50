/*
** The local fence record (fencing/record.c).
**
**  - encode/decode round trip, escapes included (newline, backslash, control
**    bytes, UTF-8), extreme numbers;
**  - the decoder refuses every truncation and every one-byte change of a
**    valid record, and each kind of malformed line, with a reason;
**  - files: written atomically (no temporary file left, none after a
**    failed write), listed newest first by seq even when the wall clock went
**    back, corrupt / foreign / oversized files listed as refused with the
**    reason and never trusted, a leftover temporary file ignored, a missing
**    directory an empty list.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fencing/record.h"
#include "lib/check.h"
#include "lib/fault.h"
#include "lib/xmalloc.h"

static char tmpdir[] = "/tmp/test_fence_record.XXXXXX";
static char dir[300];

static struct fence_record
sample(int i)
{
	struct fence_record r;

	memset(&r, 0, sizeof(r));
	r.reason = 4;
	snprintf(r.reason_text, sizeof(r.reason_text), "lost");
	snprintf(r.detail, sizeof(r.detail),
	         "fence %d: component {h1,h2} beat mine\nline 2 \\ done", i);
	r.wall_s = 1700000000 + i;
	r.mono_ms = 123456789 + (uint64_t)i;
	snprintf(r.host, sizeof(r.host), "host-%d \xc3\xa9t\xc3\xa9", i);
	r.ring_seq = 42;
	r.ring_node = 3;
	r.members = 0x5;
	r.liveset = 0x7;
	snprintf(r.views, sizeof(r.views), "h1: seq 40 ring 7\th2: \x01\x1f\x7f stale");
	return r;
}

static void
assert_same(const struct fence_record *a, const struct fence_record *b)
{
	assert_memory_equal(a, b, sizeof(*a));
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
setup(void **state)
{
	static int n;

	snprintf(dir, sizeof(dir), "%s/fence%d", tmpdir, n++);
	return 0;
}

static int
teardown(void **state)
{
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void
test_round_trip(void **state)
{
	struct fence_record r = sample(1), back;
	const char *why = NULL;
	size_t len;
	char *s = fence_record_encode(&r, &len);

	assert_int_equal(strlen(s), len);
	assert_non_null(strstr(s, "hasvc-fence-record 1\n"));
	assert_non_null(strstr(s, "\\nline 2 \\\\ done\n"));
	assert_non_null(strstr(s, "\\x01\\x1f\\x7f"));
	assert_non_null(strstr(s, "members=0x5\n"));
	assert_int_equal(fence_record_decode(s, len, &back, &why), 0);
	assert_same(&r, &back);
	xfree(s);

	/* Extremes. */
	memset(&r, 0, sizeof(r));
	r.seq = UINT64_MAX;
	r.reason = UINT32_MAX;
	r.wall_s = INT64_MIN;
	r.mono_ms = UINT64_MAX;
	r.liveset = UINT64_MAX;
	memset(r.views, '\\', sizeof(r.views) - 1);
	s = fence_record_encode(&r, &len);
	assert_int_equal(fence_record_decode(s, len, &back, &why), 0);
	assert_same(&r, &back);
	xfree(s);
	r.wall_s = INT64_MAX;
	s = fence_record_encode(&r, &len);
	assert_int_equal(fence_record_decode(s, len, &back, &why), 0);
	assert_same(&r, &back);
	xfree(s);
	assert_int_equal(fence_record_crc32c(0, "123456789", 9), 0xe3069283);
}

static void
test_refusals(void **state)
{
	struct fence_record r = sample(2), back;
	const char *why;
	size_t len;
	char *s = fence_record_encode(&r, &len), *m = xmalloc(len + 64);

	/* Every truncation, every one-byte change. */
	for (size_t i = 0; i < len; i++) {
		why = NULL;
		assert_int_equal(fence_record_decode(s, i, &back, &why), -1);
		assert_non_null(why);
	}
	for (size_t i = 0; i < len; i++) {
		memcpy(m, s, len);
		m[i] ^= 0x20;
		why = NULL;
		assert_int_equal(fence_record_decode(m, len, &back, &why), -1);
		assert_non_null(why);
	}
	/* Trailing bytes. */
	memcpy(m, s, len);
	m[len] = '\n';
	assert_int_equal(fence_record_decode(m, len + 1, &back, &why), -1);
	assert_string_equal(why, "bytes follow the checksum line");
	/* A flipped byte is caught by the checksum when nothing else sees it. */
	memcpy(m, s, len);
	*strstr(m, "lost") = 'L';
	assert_int_equal(fence_record_decode(m, len, &back, &why), -1);
	assert_non_null(strstr(why, "checksum does not match"));
	xfree(m);
	xfree(s);

	/* Malformed lines, each sealed with a correct checksum. */
	static const struct {
		const char *from, *to, *why;
	} cases[] = {
	    {"reason=4", "reason=04", "number"},
	    {"reason=4", "reason=4294967296", "number"},
	    {"members=0x5", "members=0X5", "number"},
	    {"members=0x5", "members=0x05", "number"},
	    {"ring_seq=42", "ring_sq=42", "missing, unknown or out of order"},
	    {"reason_text=lost", "reason_text=lo\\x41st", "canonical"},
	    {"reason_text=lost", "reason_text=lo\\qst", "unknown escape"},
	    {"reason_text=lost", "reason_text=lost\\", "lone backslash"},
	    {"reason_text=lost", "reason_text=lost\\x00", "canonical"},
	    {"wall_s=1700000002", "wall_s=-0", "number"},
	    {"hasvc-fence-record 1", "hasvc-fence-record 2", "not a fence record"},
	};
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		char *enc = fence_record_encode(&r, &len), *at, *crc;
		char buf[8192];
		int n;

		at = strstr(enc, cases[c].from);
		assert_non_null(at);
		*at = '\0';
		n = snprintf(buf, sizeof(buf), "%s%s%s", enc, cases[c].to,
		             at + strlen(cases[c].from));
		crc = strstr(buf, "crc32c=");
		n = (int)(crc - buf);
		snprintf(crc, sizeof(buf) - (size_t)n, "crc32c=%08x\n",
		         fence_record_crc32c(0, buf, (size_t)n));
		why = NULL;
		assert_int_equal(fence_record_decode(buf, strlen(buf), &back, &why), -1);
		if (strstr(why, cases[c].why) == NULL)
			fail_msg("case %zu: why '%s'", c, why);
		xfree(enc);
	}
	/* A text longer than its field. */
	{
		char buf[8192], *enc = fence_record_encode(&r, &len), *at = strstr(enc, "host=");
		size_t n;

		*at = '\0';
		n = (size_t)snprintf(buf, sizeof(buf), "%shost=", enc);
		memset(buf + n, 'h', 200);
		n += 200;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", strchr(at + 1, '\n'));
		n = (size_t)(strstr(buf, "crc32c=") - buf);
		snprintf(buf + n, sizeof(buf) - n, "crc32c=%08x\n", fence_record_crc32c(0, buf, n));
		assert_int_equal(fence_record_decode(buf, strlen(buf), &back, &why), -1);
		assert_non_null(strstr(why, "too long"));
		xfree(enc);
	}
}

static int
count_temp_files(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
write_file(const char *name, const void *data, size_t len)
{
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void
test_files(void **state)
{
	struct fence_record r[3];
	struct fence_record_entry *e;
	char path[600], err[256];
	size_t n;

	/* A missing directory is an empty list. */
	assert_int_equal(fence_record_list(dir, &e, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_null(e);

	for (int i = 0; i < 3; i++) {
		r[i] = sample(i);
		assert_int_equal(
		    fence_record_write(dir, &r[i], path, sizeof(path), err, sizeof(err)), 0);
		assert_int_equal(r[i].seq, (uint64_t)i + 1);
		assert_int_equal(count_temp_files(), 0);
	}
	assert_non_null(strstr(path, "/1700000002-3.fence"));
	/* The wall clock steps back: seq still orders. */
	r[0].wall_s = 1600000000;
	assert_int_equal(fence_record_write(dir, &r[0], NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(r[0].seq, 4);
	/* A leftover temporary file from a crash is ignored. */
	write_file(".9.tmp", "partial", 7);

	assert_int_equal(fence_record_list(dir, &e, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	assert_int_equal(e[0].seq, 4);
	assert_string_equal(e[0].name, "1600000000-4.fence");
	assert_true(e[0].ok);
	assert_same(&e[0].rec, &r[0]);
	assert_int_equal(e[1].seq, 3);
	assert_same(&e[1].rec, &r[2]);
	assert_int_equal(e[3].seq, 1);
	{
		struct fence_record first = sample(0);

		first.seq = 1;
		assert_same(&e[3].rec, &first);
	}
	xfree(e);
}

static void
test_corrupt_files(void **state)
{
	struct fence_record r = sample(5);
	struct fence_record_entry *e;
	char path[600], err[256], buf[4096];
	size_t n, len;
	int fd;

	for (int i = 0; i < 3; i++)
		assert_int_equal(fence_record_write(dir, &r, NULL, 0, err, sizeof(err)), 0);
	/* seq 2: one byte altered in place. */
	snprintf(path, sizeof(path), "%s/%lld-2.fence", dir, (long long)r.wall_s);
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	len = (size_t)read(fd, buf, sizeof(buf));
	buf[len / 2] ^= 1;
	assert_int_equal(pwrite(fd, buf, len, 0), (ssize_t)len);
	close(fd);
	/* Garbage, a truncated copy, a record under the wrong name, a huge file,
	** a directory. */
	write_file("7-10.fence", "\x00\xff garbage", 10);
	{
		char *enc = fence_record_encode(&r, &len);

		write_file("7-11.fence", enc, len / 3);
		write_file("7-12.fence", enc, len); /* its seq is 3, not 12 */
		xfree(enc);
	}
	{
		char *big = xcalloc(1, FENCE_RECORD_MAX + 1);

		write_file("7-13.fence", big, FENCE_RECORD_MAX + 1);
		xfree(big);
	}
	snprintf(path, sizeof(path), "%s/7-14.fence", dir);
	assert_int_equal(mkdir(path, 0700), 0);

	assert_int_equal(fence_record_list(dir, &e, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 8);
	assert_int_equal(e[0].seq, 14);
	assert_false(e[0].ok);
	assert_non_null(strstr(e[0].why, "not a regular file"));
	assert_false(e[1].ok);
	assert_non_null(strstr(e[1].why, "larger than 64 KiB"));
	assert_false(e[2].ok);
	assert_non_null(strstr(e[2].why, "not its name's"));
	assert_false(e[3].ok);
	assert_non_null(strstr(e[3].why, "corrupt"));
	assert_false(e[4].ok);
	assert_non_null(strstr(e[4].why, "not a fence record"));
	assert_true(e[5].ok); /* seq 3 */
	assert_int_equal(e[5].rec.seq, 3);
	assert_false(e[6].ok); /* seq 2 */
	assert_non_null(strstr(e[6].why, "corrupt"));
	assert_true(e[7].ok);
	/* A refused entry carries nothing of the file. */
	assert_int_equal(e[6].rec.reason, 0);
	xfree(e);
	/* The next write goes past every name, refused ones included. */
	assert_int_equal(fence_record_write(dir, &r, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(r.seq, 15);
}

static void
test_write_failures(void **state)
{
	struct fence_record r = sample(6);
	char path[600], err[256];

	/* The directory is a file. */
	snprintf(path, sizeof(path), "%s", dir);
	close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	assert_int_equal(fence_record_write(dir, &r, NULL, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "fence record directory"));
	unlink(path);
#ifdef HASVC_FAULTS
	/* The write fails: no file at all is left, temporary or final. */
	{
		struct fence_record_entry *e;
		size_t n;

		assert_int_equal(fault_configure("fence.record.eio"), 0);
		assert_int_equal(fence_record_write(dir, &r, NULL, 0, err, sizeof(err)), -1);
		assert_non_null(strstr(err, strerror(EIO)));
		assert_int_equal(count_temp_files(), 0);
		assert_int_equal(fence_record_list(dir, &e, &n, err, sizeof(err)), 0);
		assert_int_equal(n, 0);
		xfree(e);
		assert_int_equal(fault_configure(""), 0);
	}
#endif
	/* An unreadable directory (as root, a directory replaced by a file). */
	{
		struct fence_record_entry *e;
		size_t n;

		assert_int_equal(fence_record_write(dir, &r, NULL, 0, err, sizeof(err)), 0);
		snprintf(path, sizeof(path), "%s/1700000006-1.fence/x", dir);
		assert_int_equal(fence_record_list(path, &e, &n, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "cannot read"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test_setup_teardown(test_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_failures, setup, teardown),
	};
	int rc;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return rc;
}
