/*
** hasvcd's side of the watchdog keeper (fencing/wdkeep.h, fencing/wdmsg.h;
** docs/fencing.md, "The keeper"): one AF_UNIX SOCK_SEQPACKET connection to
** hasvc-wdkeeper on the daemon's libevent loop.
**
** Connects at wdc_new() and, while disconnected, again every second; says
** HELLO first on every connection and hands each STATUS the keeper sends to
** the caller's callback (the first one tells a restarted daemon whether the
** watchdog is armed already).  Sends never block: a message the socket
** cannot take now fails with -1 (the keeper is stuck: its watchdog will act).
** A message is never queued across a reconnection: an old PET or RESET
** must not reach a later connection.
*/
#ifndef HASVC_HASVC_WDCLIENT_H
#define HASVC_HASVC_WDCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "fencing/wdmsg.h"

struct event_base;
struct wdc;

/* The callbacks run on the loop; they may send (wdc_arm, ...) but must not
** call wdc_free(). */
typedef void (*wdc_status_fn)(void *arg, const struct wd_msg *status);
/* Called when the connection is lost (after it was up). */
typedef void (*wdc_lost_fn)(void *arg);

/* Never fails for a missing keeper: it retries.  `path` is copied. */
struct wdc *wdc_new(struct event_base *base, const char *path, wdc_status_fn on_status,
		    wdc_lost_fn on_lost, void *arg);
void wdc_free(struct wdc *c); /* closes the connection; NULL: no-op */

int wdc_is_connected(const struct wdc *c);

/* Each: 0 sent, -1 not sent (not connected, or the socket is full), with a
** sentence in err. */
int wdc_arm(struct wdc *c, uint32_t timeout_ms, uint32_t pet_ms, char *err, size_t errlen);
int wdc_pet(struct wdc *c, uint64_t lease_ms, char *err, size_t errlen);
int wdc_disarm(struct wdc *c, char *err, size_t errlen);
/* The reason is cut to WD_REASON_LEN - 1 bytes, control bytes become '?'. */
int wdc_fence(struct wdc *c, uint32_t timeout_ms, char *err, size_t errlen);
int wdc_reset(struct wdc *c, const char *reason, char *err, size_t errlen);

#endif
