/*
** The Linux watchdog driver: a watchdog device node (normally /dev/watchdog,
** a path in the configuration) driven through the kernel's watchdog API
** (docs/fencing.md, "Drivers").
**
**   arm      open(path, O_WRONLY | O_CLOEXEC) (opening starts the watchdog),
**            WDIOC_SETTIMEOUT in whole seconds (a timeout of t ms is rounded
**            up to ceil(t / 1000); lv_timing makes W whole seconds, so no
**            rounding happens in practice), WDIOC_GETTIMEOUT to confirm;
**   pet      WDIOC_KEEPALIVE, or a write of one byte '.' when the device
**            takes no ioctls;
**   disarm   the magic close: write 'V', then close (a kernel built with
**            nowayout ignores it: the watchdog keeps running);
**   reset    wd_linux_reset_fn(reason): the only way this module resets the
**            host; tests replace it.  A fence never writes 'V'.
**
** A device that refuses the ioctls with ENOTTY (not a watchdog, e.g. the
** FIFO or regular file the tests use) is run *degraded*: keepalives are
** written as bytes and the timeout is whatever the device has, unknown to
** us.  wd_linux_arm() then returns 1 and says so; since the host's death
** bound rests on W (docs/protocol.md, T5), the ops table refuses a degraded
** arm unless the driver was made with WD_LINUX_ALLOW_UNCONFIRMED.
** A timeout the device sets to other than asked (WDIOC_GETTIMEOUT) fails the
** arm: the device is magic-closed and the error names both values.
**
** wd_linux_free() closes without the magic close: an armed watchdog stays
** armed (a daemon that exits without disarming is fenced, as it must be).
*/
#ifndef HASVC_FENCING_WD_LINUX_H
#define HASVC_FENCING_WD_LINUX_H

#include <stddef.h>
#include <stdint.h>

#include "fencing/fence.h"

enum {
	WD_LINUX_ALLOW_UNCONFIRMED = 1 << 0, /* the ops' arm accepts a degraded device */
};

#define WD_LINUX_PET_BYTE '.'

/* The reset: called by wd_linux_reset() with a sentence.  Defaults to
** wd_linux_reset_default, which only logs: the device stays open without
** the magic close and unpetted, so the watchdog itself resets the host
** within its timeout.  No code here calls reboot(2).  Tests replace it to
** count the calls. */
typedef int (*wd_linux_reset_fn_t)(const char *reason);
extern wd_linux_reset_fn_t wd_linux_reset_fn;
int wd_linux_reset_default(const char *reason);

/* The ioctl seam (defaults to ioctl(2)): tests stand in for a driver. */
typedef int (*wd_linux_ioctl_fn_t)(int fd, unsigned long req, int *arg);
extern wd_linux_ioctl_fn_t wd_linux_ioctl_fn;

struct wd_linux;

/* A driver for the device at `path` (copied); nothing is opened yet. */
struct wd_linux *wd_linux_new(const char *path, int flags);
/* Close without disarming (see above).  NULL is a no-op. */
void wd_linux_free(struct wd_linux *w);

/* Arm (or re-time an armed watchdog).  0: armed with the timeout confirmed;
** 1: armed degraded (a sentence in err says what could not be done); -1: not
** armed, a sentence in err. */
int wd_linux_arm(struct wd_linux *w, uint32_t timeout_ms, char *err, size_t errlen);
/* 0, or -1 with a sentence (not armed, or the keepalive failed). */
int wd_linux_pet(struct wd_linux *w, char *err, size_t errlen);
/* Magic close.  0 (also when not armed), or -1 with a sentence: the watchdog
** may still be running. */
int wd_linux_disarm(struct wd_linux *w, char *err, size_t errlen);
/* Reset the host through wd_linux_reset_fn; never disarms.  Returns only if
** the reset failed: -1 with a sentence. */
int wd_linux_reset(struct wd_linux *w, const char *reason, char *err, size_t errlen);

int wd_linux_is_armed(const struct wd_linux *w);
int wd_linux_is_degraded(const struct wd_linux *w);
unsigned wd_linux_timeout_s(const struct wd_linux *w); /* confirmed, 0: unknown */

/* The driver behind the ops table; ctx is a struct wd_linux *. */
extern const struct fence_wd_ops wd_linux_ops;

#endif
