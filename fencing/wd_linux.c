/*
** The Linux watchdog driver (fencing/wd_linux.h).
**
** Owns one descriptor on the device while armed.  Every failure is a sentence
** naming the device and what could not be done.  Nothing here runs in a test
** against a real watchdog: the tests use a FIFO or a regular file and replace
** wd_linux_reset_fn (tests/unit/test_wd_linux.c).
*/
#include <errno.h>
#include <fcntl.h>
#include <linux/watchdog.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fencing/wd_linux.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

struct wd_linux {
	char *path;
	int flags;
	int fd;             /* -1: not armed */
	int degraded;       /* the device takes no ioctls: keepalive by write */
	unsigned timeout_s; /* confirmed by WDIOC_GETTIMEOUT, 0: unknown */
};

int
wd_linux_reset_default(const char *reason)
{
	/* No reboot(2) here, ever: the device is left open without the magic
	** close and no pet follows, so the watchdog resets the host within its
	** timeout -- the bound the protocol counts on anyway (docs/fencing.md).
	** A stray call (a bug, a test) cannot take the machine down at once. */
	log_errx("fence: not petting the watchdog any more; it resets this host: %s", reason);
	return 0;
}

static int
sys_ioctl(int fd, unsigned long req, int *arg)
{
	return ioctl(fd, req, arg);
}

wd_linux_reset_fn_t wd_linux_reset_fn = wd_linux_reset_default;
wd_linux_ioctl_fn_t wd_linux_ioctl_fn = sys_ioctl;

struct wd_linux *
wd_linux_new(const char *path, int flags)
{
	struct wd_linux *w = xcalloc(1, sizeof(*w));

	w->path = xstrdup(path);
	w->flags = flags;
	w->fd = -1;
	return w;
}

void
wd_linux_free(struct wd_linux *w)
{
	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	xfree(w->path);
	xfree(w);
}

static int
write_byte(int fd, char c)
{
	ssize_t r;

	do
		r = write(fd, &c, 1);
	while (r < 0 && errno == EINTR);
	if (r == 1)
		return 0;
	if (r >= 0)
		errno = EIO;
	return -1;
}

/* Close with 'V' (best effort) after a failed arm: leave nothing running. */
static void
abort_arm(struct wd_linux *w)
{
	if (w->fd < 0)
		return;
	(void)write_byte(w->fd, 'V');
	close(w->fd);
	w->fd = -1;
}

int
wd_linux_arm(struct wd_linux *w, uint32_t timeout_ms, char *err, size_t errlen)
{
	unsigned want;
	int t, was_armed = w->fd >= 0;

	if (timeout_ms == 0) {
		snprintf(err, errlen, "watchdog %s: a timeout of 0 ms cannot be armed", w->path);
		return -1;
	}
	want = (unsigned)((timeout_ms + 999u) / 1000u);
	if (!was_armed) {
		w->fd = open(w->path, O_WRONLY | O_CLOEXEC);
		if (w->fd < 0) {
			snprintf(err, errlen, "watchdog %s: cannot open it: %s", w->path,
			         strerror(errno));
			return -1;
		}
		w->degraded = 0;
		w->timeout_s = 0;
	}
	t = (int)want;
	if (wd_linux_ioctl_fn(w->fd, WDIOC_SETTIMEOUT, &t) < 0) {
		if (errno != ENOTTY) {
			snprintf(err, errlen, "watchdog %s: cannot set its timeout to %u s: %s",
			         w->path, want, strerror(errno));
			goto fail;
		}
		goto degraded;
	}
	t = 0;
	if (wd_linux_ioctl_fn(w->fd, WDIOC_GETTIMEOUT, &t) < 0) {
		if (errno != ENOTTY) {
			snprintf(err, errlen, "watchdog %s: cannot read its timeout back: %s",
			         w->path, strerror(errno));
			goto fail;
		}
		goto degraded;
	}
	if (t != (int)want) {
		snprintf(err, errlen,
		         "watchdog %s: asked for a timeout of %u s, the device set %d s: "
		         "refused, the fence timing needs exactly %u s",
		         w->path, want, t, want);
		goto fail;
	}
	w->timeout_s = want;
	if (wd_linux_pet(w, err, errlen) < 0)
		goto fail;
	return 0;
degraded:
	w->degraded = 1;
	w->timeout_s = 0;
	snprintf(err, errlen,
	         "watchdog %s: not a watchdog device (it refuses the watchdog ioctls: %s); "
	         "the timeout of %u s could not be set and the device's own timeout, unknown, "
	         "applies; keepalives are written as bytes",
	         w->path, strerror(ENOTTY), want);
	if (write_byte(w->fd, WD_LINUX_PET_BYTE) < 0) {
		snprintf(err, errlen, "watchdog %s: cannot write a keepalive: %s", w->path,
		         strerror(errno));
		goto fail;
	}
	return 1;
fail:
	if (!was_armed)
		abort_arm(w);
	return -1;
}

int
wd_linux_pet(struct wd_linux *w, char *err, size_t errlen)
{
	int dummy = 0;

	if (w->fd < 0) {
		snprintf(err, errlen, "watchdog %s: cannot pet it: not armed", w->path);
		errno = EINVAL;
		return -1;
	}
	if (!w->degraded) {
		if (wd_linux_ioctl_fn(w->fd, WDIOC_KEEPALIVE, &dummy) == 0)
			return 0;
		if (errno != ENOTTY) {
			snprintf(err, errlen, "watchdog %s: keepalive failed: %s", w->path,
			         strerror(errno));
			return -1;
		}
		w->degraded = 1;
		log_warnx("watchdog %s: WDIOC_KEEPALIVE is not supported: keepalives are "
		          "written as bytes from now on",
		          w->path);
	}
	if (write_byte(w->fd, WD_LINUX_PET_BYTE) < 0) {
		snprintf(err, errlen, "watchdog %s: cannot write a keepalive: %s", w->path,
		         strerror(errno));
		return -1;
	}
	return 0;
}

int
wd_linux_disarm(struct wd_linux *w, char *err, size_t errlen)
{
	int rc = 0;

	if (w->fd < 0)
		return 0;
	if (write_byte(w->fd, 'V') < 0) {
		snprintf(err, errlen,
		         "watchdog %s: the magic close failed (%s): the watchdog may still be "
		         "running",
		         w->path, strerror(errno));
		rc = -1;
	}
	if (close(w->fd) < 0 && rc == 0) {
		snprintf(err, errlen,
		         "watchdog %s: close failed (%s): the watchdog may still be "
		         "running",
		         w->path, strerror(errno));
		rc = -1;
	}
	w->fd = -1;
	w->degraded = 0;
	w->timeout_s = 0;
	return rc;
}

int
wd_linux_reset(struct wd_linux *w, const char *reason, char *err, size_t errlen)
{
	int e;

	log_errx("watchdog %s: self-fence: %s", w != NULL ? w->path : "-", reason);
	(void)wd_linux_reset_fn(reason);
	e = errno;
	snprintf(err, errlen,
	         "the host reset failed (%s); the watchdog %s will fire since it is "
	         "no longer petted",
	         strerror(e), w != NULL && w->fd >= 0 ? "armed" : "(not armed)");
	return -1;
}

int
wd_linux_is_armed(const struct wd_linux *w)
{
	return w->fd >= 0;
}

int
wd_linux_is_degraded(const struct wd_linux *w)
{
	return w->fd >= 0 && w->degraded;
}

unsigned
wd_linux_timeout_s(const struct wd_linux *w)
{
	return w->fd >= 0 ? w->timeout_s : 0;
}

/* ---- the ops table -------------------------------------------------------- */

static int
ops_arm(void *ctx, uint32_t timeout_ms, char *err, size_t errlen)
{
	struct wd_linux *w = ctx;
	int rc = wd_linux_arm(w, timeout_ms, err, errlen);

	if (rc == 1 && !(w->flags & WD_LINUX_ALLOW_UNCONFIRMED)) {
		char why[512];

		snprintf(why, sizeof(why), "%s", err);
		abort_arm(w);
		snprintf(err, errlen, "%s; refused: the fence timing needs a confirmed timeout",
		         why);
		return -1;
	}
	if (rc == 1)
		log_warnx("%s", err);
	return rc < 0 ? -1 : 0;
}

static int
ops_pet(void *ctx, char *err, size_t errlen)
{
	return wd_linux_pet(ctx, err, errlen);
}

static int
ops_disarm(void *ctx, char *err, size_t errlen)
{
	return wd_linux_disarm(ctx, err, errlen);
}

static int
ops_reset(void *ctx, const char *reason, char *err, size_t errlen)
{
	return wd_linux_reset(ctx, reason, err, errlen);
}

const struct fence_wd_ops wd_linux_ops = {
    .name = "linux",
    .arm = ops_arm,
    .pet = ops_pet,
    .disarm = ops_disarm,
    .reset = ops_reset,
};
