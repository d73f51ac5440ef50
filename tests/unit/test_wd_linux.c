/*
** The Linux watchdog driver (fencing/wd_linux.c), against stand-ins ONLY.
**
** Safety: no test here opens /dev/watchdog or any real watchdog device, loads
** softdog or resets the machine.  Every device is a FIFO or a regular file in
** a fresh temporary directory (device_path() refuses anything under /dev);
** wd_linux_reset_fn is replaced before the first test runs and each test
** checks that the default (which leaves the reset to the watchdog) is not
** installed and never ran.
**
**  - a FIFO stand-in: ioctls fail with ENOTTY, so the driver runs degraded
**    and says so; the bytes on the reading end are exactly the pets ('.'),
**    the 'V' of a disarm, no 'V' on a fence; re-arming reopens;
**  - the ops table refuses a degraded device unless allowed (and leaves
**    nothing running: 'V' written);
**  - a stand-in driver behind the ioctl seam: timeout set in seconds rounded
**    up, confirmed, keepalive by ioctl; a device that sets another timeout,
**    or refuses it, fails the arm with a sentence and is magic-closed;
**  - errors: a missing device, a pet when not armed.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/watchdog.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fencing/wd_linux.h"
#include "lib/check.h"

static char tmpdir[] = "/tmp/test_wd_linux.XXXXXX";
static char devpath[256];
static int reader = -1;

static int resets;
static char last_reason[256];

static int
fake_reset(const char *reason)
{
	resets++;
	snprintf(last_reason, sizeof(last_reason), "%s", reason);
	errno = EPERM;
	return -1;
}

/* A FIFO stand-in under tmpdir, with its reading end open (non-blocking). */
static const char *
device_path(const char *name)
{
	if (reader >= 0) {
		close(reader);
		unlink(devpath);
	}
	snprintf(devpath, sizeof(devpath), "%s/%s", tmpdir, name);
	ha_assert(strncmp(devpath, "/dev/", 5) != 0);
	unlink(devpath);
	ha_assert(mkfifo(devpath, 0600) == 0);
	reader = open(devpath, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ha_assert(reader >= 0);
	return devpath;
}

/* Everything written to the stand-in since the last call. */
static const char *
written(void)
{
	static char buf[256];
	ssize_t n = read(reader, buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static int
setup(void **state)
{
	/* The real reset must never be installed while a test runs. */
	assert_true(wd_linux_reset_fn == fake_reset);
	resets = 0;
	last_reason[0] = '\0';
	return 0;
}

static int
teardown(void **state)
{
	assert_true(wd_linux_reset_fn == fake_reset);
	if (reader >= 0)
		close(reader);
	reader = -1;
	unlink(devpath);
	return 0;
}

static void
test_fifo_degraded(void **state)
{
	struct wd_linux *w = wd_linux_new(device_path("wd"), 0);
	char err[512];

	assert_false(wd_linux_is_armed(w));
	assert_int_equal(wd_linux_arm(w, 4000, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "not a watchdog device"));
	assert_non_null(strstr(err, "the timeout of 4 s could not be set"));
	assert_non_null(strstr(err, "keepalives are written as bytes"));
	assert_true(wd_linux_is_armed(w));
	assert_true(wd_linux_is_degraded(w));
	assert_int_equal(wd_linux_timeout_s(w), 0);
	assert_string_equal(written(), ".");
	for (int i = 0; i < 3; i++)
		assert_int_equal(wd_linux_pet(w, err, sizeof(err)), 0);
	assert_string_equal(written(), "...");
	/* Disarm: the magic close. */
	assert_int_equal(wd_linux_disarm(w, err, sizeof(err)), 0);
	assert_string_equal(written(), "V");
	assert_false(wd_linux_is_armed(w));
	assert_int_equal(wd_linux_disarm(w, err, sizeof(err)), 0); /* no-op */
	/* Arm again = reopen. */
	assert_int_equal(wd_linux_arm(w, 2000, err, sizeof(err)), 1);
	assert_int_equal(wd_linux_pet(w, err, sizeof(err)), 0);
	assert_string_equal(written(), "..");
	assert_int_equal(wd_linux_disarm(w, err, sizeof(err)), 0);
	assert_string_equal(written(), "V");
	wd_linux_free(w);
	assert_int_equal(resets, 0);
}

/* A fence: the reset hook is called, no 'V' is ever written, the watchdog
** stays armed; closing the driver afterwards does not disarm either. */
static void
test_fence_never_disarms(void **state)
{
	struct wd_linux *w = wd_linux_new(device_path("wd"), 0);
	char err[512];

	assert_int_equal(wd_linux_arm(w, 4000, err, sizeof(err)), 1);
	assert_int_equal(wd_linux_pet(w, err, sizeof(err)), 0);
	assert_int_equal(wd_linux_reset(w, "self-fence (lost): test", err, sizeof(err)), -1);
	assert_int_equal(resets, 1);
	assert_string_equal(last_reason, "self-fence (lost): test");
	assert_non_null(strstr(err, "the host reset failed"));
	assert_non_null(strstr(err, "will fire"));
	assert_true(wd_linux_is_armed(w));
	/* Through the ops table too. */
	assert_int_equal(wd_linux_ops.reset(w, "again", err, sizeof(err)), -1);
	assert_int_equal(resets, 2);
	wd_linux_free(w);
	assert_string_equal(written(), "..");
	assert_null(strchr(written(), 'V'));
}

static void
test_ops_refuse_degraded(void **state)
{
	struct wd_linux *w = wd_linux_new(device_path("wd"), 0);
	char err[512];

	assert_string_equal(wd_linux_ops.name, "linux");
	assert_int_equal(wd_linux_ops.arm(w, 4000, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "could not be set"));
	assert_non_null(strstr(err, "refused: the fence timing needs a confirmed timeout"));
	assert_false(wd_linux_is_armed(w));
	assert_string_equal(written(), ".V"); /* nothing left running */
	wd_linux_free(w);

	w = wd_linux_new(device_path("wd2"), WD_LINUX_ALLOW_UNCONFIRMED);
	assert_int_equal(wd_linux_ops.arm(w, 4000, err, sizeof(err)), 0);
	assert_int_equal(wd_linux_ops.pet(w, err, sizeof(err)), 0);
	assert_int_equal(wd_linux_ops.disarm(w, err, sizeof(err)), 0);
	assert_string_equal(written(), "..V");
	wd_linux_free(w);
	assert_int_equal(resets, 0);
}

/* ---- a stand-in driver behind the ioctl seam ------------------------------ */

static int drv_timeout = 60, drv_max = 60, drv_keepalives, drv_einval;

static int
fake_ioctl(int fd, unsigned long req, int *arg)
{
	switch (req) {
	case WDIOC_SETTIMEOUT:
		if (drv_einval) {
			errno = EINVAL;
			return -1;
		}
		drv_timeout = *arg > drv_max ? drv_max : *arg;
		*arg = drv_timeout;
		return 0;
	case WDIOC_GETTIMEOUT:
		*arg = drv_timeout;
		return 0;
	case WDIOC_KEEPALIVE:
		drv_keepalives++;
		return 0;
	}
	errno = ENOTTY;
	return -1;
}

static void
test_ioctl_driver(void **state)
{
	wd_linux_ioctl_fn_t saved = wd_linux_ioctl_fn;
	struct wd_linux *w = wd_linux_new(device_path("wd"), 0);
	char err[512];

	wd_linux_ioctl_fn = fake_ioctl;
	drv_keepalives = 0;
	drv_einval = 0;
	/* 1500 ms rounds up to 2 s, confirmed; the arm pets once. */
	assert_int_equal(wd_linux_arm(w, 1500, err, sizeof(err)), 0);
	assert_int_equal(drv_timeout, 2);
	assert_int_equal(wd_linux_timeout_s(w), 2);
	assert_false(wd_linux_is_degraded(w));
	assert_int_equal(drv_keepalives, 1);
	assert_int_equal(wd_linux_pet(w, err, sizeof(err)), 0);
	assert_int_equal(drv_keepalives, 2);
	assert_string_equal(written(), ""); /* keepalives by ioctl, no bytes */
	/* Re-timing an armed watchdog: no reopen. */
	assert_int_equal(wd_linux_arm(w, 4000, err, sizeof(err)), 0);
	assert_int_equal(wd_linux_timeout_s(w), 4);
	assert_int_equal(wd_linux_disarm(w, err, sizeof(err)), 0);
	assert_string_equal(written(), "V");

	/* The device caps the timeout: refused, magic-closed. */
	assert_int_equal(wd_linux_arm(w, 120000, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "asked for a timeout of 120 s, the device set 60 s"));
	assert_false(wd_linux_is_armed(w));
	assert_string_equal(written(), "V");

	/* The device refuses the timeout. */
	drv_einval = 1;
	assert_int_equal(wd_linux_arm(w, 4000, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot set its timeout to 4 s"));
	assert_non_null(strstr(err, strerror(EINVAL)));
	assert_false(wd_linux_is_armed(w));
	assert_string_equal(written(), "V");

	wd_linux_ioctl_fn = saved;
	wd_linux_free(w);
	assert_int_equal(resets, 0);
}

static void
test_errors(void **state)
{
	char path[300], err[512];
	struct wd_linux *w;

	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	w = wd_linux_new(path, 0);
	assert_int_equal(wd_linux_arm(w, 4000, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open it"));
	assert_non_null(strstr(err, strerror(ENOENT)));
	assert_int_equal(wd_linux_pet(w, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not armed"));
	assert_int_equal(wd_linux_arm(w, 0, err, sizeof(err)), -1);
	wd_linux_free(w);
	wd_linux_free(NULL);

	/* A regular file works as a stand-in as well. */
	snprintf(path, sizeof(path), "%s/file", tmpdir);
	close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	w = wd_linux_new(path, 0);
	assert_int_equal(wd_linux_arm(w, 1000, err, sizeof(err)), 1);
	assert_int_equal(wd_linux_pet(w, err, sizeof(err)), 0);
	assert_int_equal(wd_linux_disarm(w, err, sizeof(err)), 0);
	{
		char buf[8] = {0};
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		assert_int_equal(read(fd, buf, sizeof(buf)), 3);
		assert_string_equal(buf, "..V");
		close(fd);
	}
	unlink(path);
	wd_linux_free(w);
	assert_int_equal(resets, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fifo_degraded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fence_never_disarms, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ops_refuse_degraded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ioctl_driver, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};
	int rc;

	/* First thing, before any test: never the real reset. */
	wd_linux_reset_fn = fake_reset;
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(tmpdir);
	return rc;
}
