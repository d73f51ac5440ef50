/*
** The statefile I/O thread (heartbeat/sf_io.c) against a real file in
** /var/tmp (O_DIRECT on ext4/xfs) and one in /dev/shm (tmpfs: the fallback
** without O_DIRECT).  With FAULTS=1 builds: an I/O error is reported as EIO;
** a hung I/O is reported as TIMEOUT at its deadline while the thread is still
** stuck, so are the requests queued behind it, the loop is never blocked,
** and the late result is discarded when the thread comes back.  The latency
** histograms count every I/O that returned, the hung one with its 10 s.
*/
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

#include "heartbeat/sf_io.h"
#include "heartbeat/statefile.h"
#include "lib/clock.h"
#include "lib/fault.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

static const uint8_t pool[SF_ID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static struct sf_key key;
static char path[64];

/* The longest any sfio_* call or any wake-up of our loop took, in ms. */
static uint64_t max_blocked;

static int
setup(void **state)
{
	int fd;

	assert_int_equal(sf_key_derive("secret", 6, &key), 0);
	snprintf(path, sizeof(path), "/var/tmp/hasvc-test-sfio.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, SF_FILE_SIZE), 0);
	close(fd);
	return 0;
}

static int
teardown(void **state)
{
	unlink(path);
	return 0;
}

static void
note_blocked(uint64_t t0)
{
	uint64_t d = clock_mono_ms() - t0;

	if (d > max_blocked)
		max_blocked = d;
}

/* Run a loop until one result arrives or `within` ms pass: wait on the
** eventfd with a timeout of the next deadline, as the daemon's loop will.
** 1 and *r with *at (arrival time), or 0. */
static int
loop_once(struct sfio *s, uint64_t within, struct sfio_result *r, uint64_t *at)
{
	uint64_t end = clock_mono_ms() + within, now, dl, t0;
	struct pollfd pfd = {sfio_fd(s), POLLIN, 0};
	int got, has_dl, timeout;

	for (;;) {
		now = clock_mono_ms();
		t0 = now;
		got = sfio_poll(s, now, r);
		note_blocked(t0);
		if (got) {
			*at = now;
			return 1;
		}
		if (now >= end)
			return 0;
		t0 = clock_mono_ms();
		has_dl = sfio_next_deadline(s, &dl);
		note_blocked(t0);
		timeout = (int)(end - now);
		if (has_dl && dl <= now)
			timeout = 0;
		else if (has_dl && dl - now < (uint64_t)timeout)
			timeout = (int)(dl - now);
		t0 = clock_mono_ms();
		(void)poll(&pfd, 1, timeout);
		/* A wake-up later than asked for would mean the loop was held up. */
		now = clock_mono_ms();
		if (now - t0 > (uint64_t)timeout)
			note_blocked(t0 + (uint64_t)timeout);
	}
}

static void
make_sector(uint8_t sec[SF_SECTOR], unsigned index, uint64_t seq)
{
	struct sf_slot s;

	memset(&s, 0, sizeof(s));
	memcpy(s.pool_id, pool, SF_ID_LEN);
	s.generation = 1;
	s.host_index = index;
	s.host_uuid[0] = (uint8_t)index;
	s.seq = seq;
	s.state = SF_HOST_ALIVE;
	s.members.count = 1;
	s.members.nodeid[0] = index + 1;
	s.storage_view = 1ull << index;
	assert_int_equal(sf_slot_encode(&s, &key, sec, NULL), SF_SECTOR);
}

static void
write_and_read_back(struct sfio *s)
{
	static const unsigned idx[] = {0, 5, 63};
	struct sf_expect e = {pool, 1, -1};
	struct sf_snapshot *snap = xmalloc(sizeof(*snap));
	uint8_t sec[SF_SECTOR];
	struct sfio_result r;
	uint64_t id[3], rid, at;
	unsigned i;

	for (i = 0; i < 3; i++) {
		make_sector(sec, idx[i], 100 + i);
		id[i] = sfio_write_slot(s, idx[i], sec, clock_mono_ms() + 5000);
		assert_true(id[i] != 0);
	}
	rid = sfio_read_all(s, clock_mono_ms() + 5000);
	assert_int_equal(sfio_pending(s), 4);
	for (i = 0; i < 3; i++) {
		assert_int_equal(loop_once(s, 5000, &r, &at), 1);
		assert_int_equal(r.id, id[i]); /* in order */
		assert_int_equal(r.op, SFIO_WRITE_SLOT);
		assert_int_equal(r.index, idx[i]);
		assert_int_equal(r.status, SFIO_OK);
		assert_null(r.buf);
	}
	assert_int_equal(loop_once(s, 5000, &r, &at), 1);
	assert_int_equal(r.id, rid);
	assert_int_equal(r.op, SFIO_READ_ALL);
	assert_int_equal(r.status, SFIO_OK);
	assert_non_null(r.buf);
	sf_snapshot_decode(r.buf, SF_FILE_SIZE, &key, &e, snap);
	assert_int_equal(snap->nvalid, 3);
	assert_int_equal(snap->nabsent, 61);
	assert_int_equal(snap->slot[5].slot.seq, 101);
	assert_int_equal(snap->slot[63].slot.storage_view, 1ull << 63);
	sfio_result_clear(&r);
	sfio_result_clear(&r);
	assert_int_equal(sfio_pending(s), 0);
	assert_int_equal(sfio_next_deadline(s, &at), 0);
	assert_int_equal(sfio_poll(s, clock_mono_ms(), &r), 0);
	xfree(snap);
}

static uint64_t
hist_total(const struct sfio_hist *h)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i <= SFIO_HIST_BOUNDS; i++)
		n += h->bucket[i];
	return n;
}

/* A latency goes into the first bucket whose bound it does not exceed. */
static void
test_hist_buckets(void **state)
{
	struct sfio_hist h;
	unsigned i;

	memset(&h, 0, sizeof(h));
	for (i = 1; i < SFIO_HIST_BOUNDS; i++)
		assert_true(sfio_hist_bound_us[i] > sfio_hist_bound_us[i - 1]);
	sfio_hist_add(&h, 0);
	sfio_hist_add(&h, 100);
	assert_int_equal(h.bucket[0], 2);
	sfio_hist_add(&h, 101);
	assert_int_equal(h.bucket[1], 1);
	sfio_hist_add(&h, sfio_hist_bound_us[SFIO_HIST_BOUNDS - 1]);
	assert_int_equal(h.bucket[SFIO_HIST_BOUNDS - 1], 1);
	sfio_hist_add(&h, sfio_hist_bound_us[SFIO_HIST_BOUNDS - 1] + 1);
	sfio_hist_add(&h, UINT64_MAX / 4);
	assert_int_equal(h.bucket[SFIO_HIST_BOUNDS], 2);
	assert_int_equal(h.count, 6);
	assert_int_equal(hist_total(&h), 6);
	assert_int_equal(h.sum_us, 0 + 100 + 101 + 30000000 + 30000001 + UINT64_MAX / 4);
}

static void
test_write_read(void **state)
{
	char err[256];
	struct sfio *s = sfio_open(path, err, sizeof(err));
	struct sfio_stats st;
	struct sfio_hist rd0, wr0, rd1, wr1;

	assert_non_null(s);
	fprintf(stderr, "# %s: O_DIRECT %s\n", path, sfio_direct(s) ? "yes" : "no");
	sfio_get_latency_totals(&rd0, &wr0);
	write_and_read_back(s);
	sfio_get_stats(s, &st);
	assert_int_equal(st.submitted, 4);
	assert_int_equal(st.ok, 4);
	assert_int_equal(st.timeouts + st.eio + st.late, 0);
	/* Every I/O is timed, per statefile and in the process' totals. */
	assert_int_equal(st.write_lat.count, 3);
	assert_int_equal(st.read_lat.count, 1);
	assert_int_equal(hist_total(&st.write_lat), 3);
	assert_int_equal(hist_total(&st.read_lat), 1);
	sfio_get_latency_totals(&rd1, NULL);
	sfio_get_latency_totals(NULL, &wr1);
	assert_int_equal(rd1.count - rd0.count, 1);
	assert_int_equal(wr1.count - wr0.count, 3);
	assert_int_equal(wr1.sum_us - wr0.sum_us, st.write_lat.sum_us);
	assert_int_equal(hist_total(&rd1), rd1.count);
	/* Closing with requests still queued frees them. */
	sfio_read_all(s, clock_mono_ms() + 5000);
	sfio_read_all(s, clock_mono_ms() + 5000);
	sfio_close(s);
	sfio_close(NULL);
}

/* tmpfs (before Linux 6.6) refuses O_DIRECT: the file is then opened without
** it and works.  The fallback itself is forced in FAULTS=1 builds. */
static void
test_tmpfs_fallback(void **state)
{
	char shm[64], err[256];
	struct sfio *s;
	int fd;

	snprintf(shm, sizeof(shm), "/dev/shm/hasvc-test-sfio.XXXXXX");
	fd = mkstemp(shm);
	if (fd < 0) {
		skip();
		return;
	}
	assert_int_equal(ftruncate(fd, SF_FILE_SIZE), 0);
	close(fd);
	s = sfio_open(shm, err, sizeof(err));
	unlink(shm); /* the open descriptor keeps it */
	assert_non_null(s);
	fprintf(stderr, "# tmpfs: O_DIRECT %s\n", sfio_direct(s) ? "yes" : "no");
	write_and_read_back(s);
	sfio_close(s);
#ifdef HASVC_FAULTS
	assert_int_equal(fault_configure("sf.open.nodirect:repeat=1"), 0);
	s = sfio_open(path, err, sizeof(err));
	assert_non_null(s);
	assert_false(sfio_direct(s));
	write_and_read_back(s);
	sfio_close(s);
	assert_int_equal(fault_configure(""), 0);
#endif
}

static void
test_open_errors(void **state)
{
	char p2[64], err[256];
	int fd;

	assert_null(sfio_open("/var/tmp/hasvc-test-no-such-dir/x", err, sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
	snprintf(p2, sizeof(p2), "/var/tmp/hasvc-test-sfio.XXXXXX");
	fd = mkstemp(p2);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, SF_SECTOR), 0);
	close(fd);
	assert_null(sfio_open(p2, err, sizeof(err)));
	assert_non_null(strstr(err, "a statefile has 266240"));
	unlink(p2);
}

/* A result that comes back after its deadline, before the loop looked, is a
** TIMEOUT and is counted late. */
static void
test_late_done(void **state)
{
	char err[256];
	struct sfio *s = sfio_open(path, err, sizeof(err));
	struct pollfd pfd;
	struct sfio_result r;
	struct sfio_stats st;
	uint64_t id;

	assert_non_null(s);
	pfd = (struct pollfd){sfio_fd(s), POLLIN, 0};
	id = sfio_read_all(s, clock_mono_ms() - 1);
	assert_int_equal(poll(&pfd, 1, 5000), 1); /* the thread is done */
	assert_int_equal(sfio_poll(s, clock_mono_ms(), &r), 1);
	assert_int_equal(r.id, id);
	assert_int_equal(r.status, SFIO_TIMEOUT);
	assert_null(r.buf);
	sfio_get_stats(s, &st);
	assert_int_equal(st.late, 1);
	assert_int_equal(st.timeouts, 1);
	sfio_close(s);
}

#ifdef HASVC_FAULTS
static void
test_fault_eio(void **state)
{
	char err[256];
	struct sfio *s = sfio_open(path, err, sizeof(err));
	uint8_t sec[SF_SECTOR];
	struct sfio_result r;
	uint64_t at;

	assert_non_null(s);
	assert_int_equal(fault_configure("sf.io.eio:repeat=1"), 0);
	make_sector(sec, 1, 1);
	sfio_write_slot(s, 1, sec, clock_mono_ms() + 5000);
	sfio_read_all(s, clock_mono_ms() + 5000);
	assert_int_equal(loop_once(s, 5000, &r, &at), 1);
	assert_int_equal(r.status, SFIO_EIO);
	assert_int_equal(r.err, EIO);
	assert_int_equal(loop_once(s, 5000, &r, &at), 1);
	assert_int_equal(r.status, SFIO_OK); /* the next one goes through */
	sfio_result_clear(&r);
	assert_int_equal(fault_fired("sf.io.eio"), 1);
	assert_int_equal(fault_configure(""), 0);
	sfio_close(s);
}

static void
test_fault_hang(void **state)
{
	static const uint64_t rel[3] = {300, 500, 700};
	char err[256];
	struct sfio *s = sfio_open(path, err, sizeof(err));
	uint8_t sec[SF_SECTOR];
	struct sfio_result r;
	struct sfio_stats st;
	uint64_t t0, at, id[3], waited;
	unsigned i;

	assert_non_null(s);
	assert_int_equal(fault_configure("sf.io.hang:repeat=1"), 0);
	max_blocked = 0;
	t0 = clock_mono_ms();
	make_sector(sec, 2, 7);
	id[0] = sfio_read_all(s, t0 + rel[0]);
	id[1] = sfio_write_slot(s, 2, sec, t0 + rel[1]);
	id[2] = sfio_read_all(s, t0 + rel[2]);
	for (i = 0; i < 3; i++) {
		assert_int_equal(loop_once(s, 3000, &r, &at), 1);
		assert_int_equal(r.id, id[i]);
		assert_int_equal(r.status, SFIO_TIMEOUT);
		assert_null(r.buf);
		/* At the deadline, not before, and within 200 ms after it. */
		assert_true(at >= t0 + rel[i]);
		assert_true(at <= t0 + rel[i] + 200);
	}
	/* The thread is still stuck in the first request. */
	assert_int_equal(fault_fired("sf.io.hang"), 1);
	sfio_get_stats(s, &st);
	assert_int_equal(st.timeouts, 3);
	assert_int_equal(st.late, 0);
	assert_true(clock_mono_ms() - t0 < 10000);
	assert_int_equal(sfio_pending(s), 0);
	/* Our loop never waited for it (the margin is for a loaded machine: the
	** thread is stuck for 10 s). */
	fprintf(stderr, "# longest loop stall during the hang: %llu ms\n",
	        (unsigned long long)max_blocked);
	assert_true(max_blocked < 150);

	/* A request queued now runs once the hang ends (10 s after it began). */
	id[0] = sfio_read_all(s, t0 + 20000);
	assert_int_equal(loop_once(s, 15000, &r, &at), 1);
	assert_int_equal(r.id, id[0]);
	assert_int_equal(r.status, SFIO_OK);
	waited = at - t0;
	assert_true(waited >= 10000);
	sfio_result_clear(&r);
	/* The hung read came back late and was discarded; the two queued behind
	** it were never run. */
	sfio_get_stats(s, &st);
	assert_int_equal(st.late, 1);
	assert_int_equal(st.ok, 1);
	assert_int_equal(st.timeouts, 3);
	/* The hung read is timed when it returns: 10 s, in the <= 30 s bucket;
	** the two never run are in no histogram. */
	assert_int_equal(st.read_lat.count, 2);
	assert_int_equal(st.write_lat.count, 0);
	assert_int_equal(st.read_lat.bucket[SFIO_HIST_BOUNDS - 1], 1);
	assert_true(st.read_lat.sum_us >= 10000000ull);
	assert_int_equal(fault_configure(""), 0);
	sfio_close(s);
}

/* sfio_close() on a hung thread returns at once; the thread frees itself. */
static void
test_close_while_hung(void **state)
{
	char err[256];
	struct sfio *s = sfio_open(path, err, sizeof(err));
	uint64_t t0;

	assert_non_null(s);
	assert_int_equal(fault_configure("sf.io.hang:repeat=1"), 0);
	sfio_read_all(s, clock_mono_ms() + 100);
	while (fault_fired("sf.io.hang") == 0)
		usleep(1000);
	t0 = clock_mono_ms();
	sfio_close(s);
	assert_true(clock_mono_ms() - t0 < 50);
	assert_int_equal(fault_configure(""), 0);
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hist_buckets),
	    cmocka_unit_test(test_write_read),       cmocka_unit_test(test_tmpfs_fallback),
	    cmocka_unit_test(test_open_errors),      cmocka_unit_test(test_late_done),
#ifdef HASVC_FAULTS
	    cmocka_unit_test(test_fault_eio),        cmocka_unit_test(test_fault_hang),
	    cmocka_unit_test(test_close_while_hung),
#endif
	};

	log_init("test_sf_io", LOG_NO_BLACKBOX, LOG_WARNING);
	return cmocka_run_group_tests(tests, setup, teardown);
}
