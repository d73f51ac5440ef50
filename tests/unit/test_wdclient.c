/*
** hasvcd's keeper client (hasvc/wdclient.c) against a real listening
** AF_UNIX SOCK_SEQPACKET socket in a fresh temporary directory, served by
** this test (a tiny server: accept, read, write).
**
** Checks: HELLO with our pid first on every connection; each STATUS to the
** callback, anything else dropped; ARM / PET / DISARM / RESET on the wire
** as wdmsg.h says (a reset reason's control bytes become '?'); a missing
** keeper is retried every second and found when it appears; a closed
** connection calls on_lost, fails sends at once, and reconnects to a
** restarted server, which then reads HELLO first and nothing older; a full
** socket fails a send with -1 instead of blocking; a path too long for
** sun_path never connects and never crashes.
*/
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "fencing/wdmsg.h"
#include "hasvc/wdclient.h"
#include "lib/clock.h"
#include "lib/log.h"

static char dir[64];
static char sock_path[128];
static int lfd = -1; /* the listening socket */

struct seen {
	int statuses, lost;
	struct wd_msg last;
};

static void
on_status(void *arg, const struct wd_msg *m)
{
	struct seen *s = arg;

	s->statuses++;
	s->last = *m;
}

static void
on_lost(void *arg)
{
	((struct seen *)arg)->lost++;
}

static void
server_listen(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
}

static void
server_stop(void)
{
	if (lfd >= 0)
		close(lfd);
	lfd = -1;
	unlink(sock_path);
}

static int
server_accept(void)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* One message from the client (blocking, 2 s at most). */
static void
server_read(int fd, struct wd_msg *m)
{
	struct timeval tv = {2, 0};
	uint8_t buf[WD_MSG_MAX + 1];
	const char *why = NULL;
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(fd, buf, sizeof(buf), 0);
	assert_true(n > 0);
	if (wd_msg_decode(buf, (size_t)n, m, &why) < 0)
		fail_msg("the client sent a bad message: %s", why);
}

/* Nothing more to read now. */
static void
server_nothing(int fd)
{
	uint8_t buf[WD_MSG_MAX + 1];

	assert_int_equal(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
}

static void
server_send_status(int fd, int armed, uint64_t lease)
{
	struct wd_msg m = {.type = WD_MSG_STATUS};
	uint8_t buf[WD_MSG_MAX];
	size_t n;

	m.u.status.armed = armed;
	m.u.status.timeout_ms = armed ? 2000 : 0;
	m.u.status.lease_ms = lease;
	m.u.status.resets = 0;
	n = wd_msg_encode(&m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(send(fd, buf, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Run the loop until *flag >= want, at most ms. */
static void
pump(struct event_base *base, const int *flag, int want, int ms)
{
	uint64_t until = clock_mono_ms() + (uint64_t)ms;
	struct timeval tv = {0, 20 * 1000};

	while ((flag == NULL || *flag < want) && clock_mono_ms() < until) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

static void
pump_connected(struct event_base *base, struct wdc *c, int ms)
{
	uint64_t until = clock_mono_ms() + (uint64_t)ms;
	struct timeval tv = {0, 20 * 1000};

	while (!wdc_is_connected(c) && clock_mono_ms() < until) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test_wdclient.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/k.sock", dir);
	return 0;
}

static int
teardown(void **state)
{
	server_stop();
	rmdir(dir);
	return 0;
}

static void
expect_hello(int fd)
{
	struct wd_msg m;

	server_read(fd, &m);
	assert_int_equal(m.type, WD_MSG_HELLO);
	assert_int_equal(m.u.hello.pid, (uint32_t)getpid());
}

static void
test_messages(void **state)
{
	struct event_base *base = event_base_new();
	struct seen s = {0};
	struct wdc *c;
	struct wd_msg m;
	char err[256], longr[300];
	uint8_t junk[12] = {'H', 'A', 'W', 'D', 1, 1, 0, 0, 0, 0, 0, 9}; /* a HELLO */
	int fd;

	server_listen();
	c = wdc_new(base, sock_path, on_status, on_lost, &s);
	assert_true(wdc_is_connected(c));
	fd = server_accept();
	expect_hello(fd);

	/* STATUS to the callback. */
	server_send_status(fd, 1, 123456);
	pump(base, &s.statuses, 1, 2000);
	assert_int_equal(s.statuses, 1);
	assert_int_equal(s.last.u.status.armed, 1);
	assert_int_equal(s.last.u.status.lease_ms, 123456);
	/* A HELLO from the keeper, garbage and an oversized one: dropped. */
	assert_int_equal(send(fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	assert_int_equal(send(fd, "garbage", 7, 0), 7);
	memset(longr, 'x', sizeof(longr));
	assert_int_equal(send(fd, longr, sizeof(longr), 0), (ssize_t)sizeof(longr));
	server_send_status(fd, 0, 7);
	pump(base, &s.statuses, 2, 2000);
	assert_int_equal(s.statuses, 2);
	assert_int_equal(s.last.u.status.armed, 0);
	assert_int_equal(s.last.u.status.lease_ms, 7);
	assert_int_equal(s.lost, 0);

	/* What the daemon sends. */
	assert_int_equal(wdc_arm(c, 2000, 500, err, sizeof(err)), 0);
	server_read(fd, &m);
	assert_int_equal(m.type, WD_MSG_ARM);
	assert_int_equal(m.u.arm.timeout_ms, 2000);
	assert_int_equal(m.u.arm.pet_ms, 500);
	assert_int_equal(wdc_pet(c, 987654321, err, sizeof(err)), 0);
	server_read(fd, &m);
	assert_int_equal(m.type, WD_MSG_PET);
	assert_int_equal(m.u.pet.lease_ms, 987654321);
	assert_int_equal(wdc_disarm(c, err, sizeof(err)), 0);
	server_read(fd, &m);
	assert_int_equal(m.type, WD_MSG_DISARM);
	assert_int_equal(wdc_reset(c, "self-fence:\nlost\tit", err, sizeof(err)), 0);
	server_read(fd, &m);
	assert_int_equal(m.type, WD_MSG_RESET);
	assert_string_equal(m.u.reset.reason, "self-fence:?lost?it");
	memset(longr, 'r', sizeof(longr) - 1);
	longr[sizeof(longr) - 1] = '\0';
	assert_int_equal(wdc_reset(c, longr, err, sizeof(err)), 0);
	server_read(fd, &m);
	assert_int_equal(strlen(m.u.reset.reason), WD_REASON_LEN - 1);
	/* Out of range: refused locally, with a sentence. */
	err[0] = '\0';
	assert_int_equal(wdc_arm(c, 1500, 500, err, sizeof(err)), -1);
	assert_true(strstr(err, "out of range") != NULL);
	server_nothing(fd);

	close(fd);
	wdc_free(c);
	wdc_free(NULL);
	server_stop();
	event_base_free(base);
}

/* The keeper goes away and comes back: on_lost, sends fail, reconnect,
** HELLO first and nothing older. */
static void
test_restart(void **state)
{
	struct event_base *base = event_base_new();
	struct seen s = {0};
	struct wdc *c;
	char err[256];
	int fd;

	server_listen();
	c = wdc_new(base, sock_path, on_status, on_lost, &s);
	fd = server_accept();
	expect_hello(fd);
	close(fd);
	server_stop();
	pump(base, &s.lost, 1, 2000);
	assert_int_equal(s.lost, 1);
	assert_false(wdc_is_connected(c));
	err[0] = '\0';
	assert_int_equal(wdc_pet(c, 5, err, sizeof(err)), -1);
	assert_true(strstr(err, "not connected") != NULL);
	/* Still gone for a while: retries fail quietly. */
	pump(base, NULL, 0, 1300);
	assert_false(wdc_is_connected(c));
	assert_int_equal(s.lost, 1);
	server_listen();
	pump_connected(base, c, 3000);
	assert_true(wdc_is_connected(c));
	fd = server_accept();
	expect_hello(fd);
	server_nothing(fd);
	assert_int_equal(wdc_pet(c, 6, err, sizeof(err)), 0);
	{
		struct wd_msg m;

		server_read(fd, &m);
		assert_int_equal(m.type, WD_MSG_PET);
		assert_int_equal(m.u.pet.lease_ms, 6);
	}
	close(fd);
	wdc_free(c);
	server_stop();
	event_base_free(base);
}

/* No keeper at first: wdc_new does not fail, and finds it later. */
static void
test_late_keeper(void **state)
{
	struct event_base *base = event_base_new();
	struct seen s = {0};
	struct wdc *c;
	int fd;

	c = wdc_new(base, sock_path, on_status, on_lost, &s);
	assert_non_null(c);
	assert_false(wdc_is_connected(c));
	pump(base, NULL, 0, 300);
	server_listen();
	pump_connected(base, c, 3000);
	assert_true(wdc_is_connected(c));
	fd = server_accept();
	expect_hello(fd);
	assert_int_equal(s.lost, 0);
	close(fd);
	wdc_free(c);
	server_stop();
	event_base_free(base);
}

/* A keeper that never reads: sends fail fast, never block; after a
** reconnection nothing of the old connection arrives. */
static void
test_full_socket(void **state)
{
	struct event_base *base = event_base_new();
	struct seen s = {0};
	struct wdc *c;
	char err[256];
	uint64_t t0;
	int fd, i, sent = 0, failed = 0;

	server_listen();
	c = wdc_new(base, sock_path, on_status, on_lost, &s);
	fd = server_accept();
	t0 = clock_mono_ms();
	for (i = 0; i < 200000 && !failed; i++) {
		if (wdc_pet(c, (uint64_t)i, err, sizeof(err)) == 0)
			sent++;
		else
			failed = 1;
	}
	assert_true(failed);
	assert_true(sent > 0);
	assert_true(strstr(err, "full") != NULL);
	assert_true(clock_mono_ms() - t0 < 5000);
	/* The keeper restarts: the queued PETs die with the old connection. */
	close(fd);
	pump(base, &s.lost, 1, 2000);
	assert_int_equal(s.lost, 1);
	pump_connected(base, c, 3000);
	assert_true(wdc_is_connected(c));
	fd = server_accept();
	expect_hello(fd);
	server_nothing(fd);
	close(fd);
	wdc_free(c);
	server_stop();
	event_base_free(base);
}

static void
test_long_path(void **state)
{
	struct event_base *base = event_base_new();
	struct seen s = {0};
	char path[200];
	struct wdc *c;
	char err[256];

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	c = wdc_new(base, path, on_status, on_lost, &s);
	assert_false(wdc_is_connected(c));
	pump(base, NULL, 0, 200);
	assert_int_equal(wdc_disarm(c, err, sizeof(err)), -1);
	wdc_free(c);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_messages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_late_keeper, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_socket, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_path, setup, teardown),
	};

	log_init("test_wdclient", LOG_NO_BLACKBOX, LOG_CRIT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
