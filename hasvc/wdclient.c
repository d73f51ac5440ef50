/*
** hasvcd's side of the watchdog keeper (hasvc/wdclient.h).
**
** One nonblocking AF_UNIX SOCK_SEQPACKET socket on the daemon's event base:
** a read event while connected, a one-second timer while not.  The connect
** of a unix socket completes at once or fails at once (ENOENT, ECONNREFUSED,
** EAGAIN with a full backlog): every failure waits for the timer.  Nothing
** is ever queued: a send the socket cannot take now fails, and a lost
** connection forgets everything, so no old PET or RESET reaches a later
** connection.  A send error does not tear the connection down by itself:
** the peer's close makes the socket readable, and the read side, the only
** place a connection ends, notices and calls on_lost from the loop (never
** from inside a caller's wdc_* call).
*/
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "fencing/wdmsg.h"
#include "hasvc/wdclient.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define RECONNECT_MS 1000

struct wdc {
	struct event_base *base;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int path_ok; /* path fits in sun_path */
	int fd;      /* -1: not connected */
	struct event *ev_read;
	struct event *ev_retry;
	int failing; /* connect failures since the last success (logged once) */
	wdc_status_fn on_status;
	wdc_lost_fn on_lost;
	void *arg;
	uint64_t dropped; /* messages from the keeper that were not a STATUS */
};

static void try_connect(struct wdc *c);

static void
schedule_retry(struct wdc *c)
{
	struct timeval tv = {RECONNECT_MS / 1000, (RECONNECT_MS % 1000) * 1000};

	evtimer_add(c->ev_retry, &tv);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	try_connect(arg);
}

static void
drop_connection(struct wdc *c, const char *why)
{
	if (c->fd < 0)
		return;
	event_del(c->ev_read);
	event_free(c->ev_read);
	c->ev_read = NULL;
	close(c->fd);
	c->fd = -1;
	log_warnx("wdclient: connection to the watchdog keeper %s lost: %s; reconnecting every "
	          "%d ms",
	          c->path, why, RECONNECT_MS);
	schedule_retry(c);
	if (c->on_lost != NULL)
		c->on_lost(c->arg);
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct wdc *c = arg;
	uint8_t buf[WD_MSG_MAX + 1];
	struct wd_msg m;
	const char *why;
	ssize_t n;

	for (;;) {
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n < 0) {
			drop_connection(c, strerror(errno));
			return;
		}
		if (n == 0) {
			drop_connection(c, "the keeper closed it");
			return;
		}
		if ((size_t)n > WD_MSG_MAX) {
			c->dropped++;
			log_warnx("wdclient: a %zd-byte message from the keeper dropped (too long)",
			          n);
			continue;
		}
		if (wd_msg_decode(buf, (size_t)n, &m, &why) < 0) {
			c->dropped++;
			log_warnx("wdclient: a message from the keeper dropped: %s", why);
			continue;
		}
		if (m.type != WD_MSG_STATUS) {
			c->dropped++;
			log_warnx("wdclient: a %s message from the keeper dropped",
			          wd_msg_type_name(m.type));
			continue;
		}
		if (c->on_status != NULL)
			c->on_status(c->arg, &m);
	}
}

/* 0 sent, -1 with a sentence. */
static int
send_msg(struct wdc *c, const struct wd_msg *m, char *err, size_t errlen)
{
	uint8_t buf[WD_MSG_MAX];
	size_t len;
	ssize_t n;

	if (c->fd < 0) {
		snprintf(err, errlen, "not connected to the watchdog keeper at %s", c->path);
		return -1;
	}
	len = wd_msg_encode(m, buf, sizeof(buf));
	if (len == 0) {
		snprintf(err, errlen, "a %s message with a value out of range not sent",
		         wd_msg_type_name(m->type));
		return -1;
	}
	n = send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		snprintf(err, errlen, "the watchdog keeper's socket is full (the keeper is stuck)");
		return -1;
	}
	if (n < 0) {
		snprintf(err, errlen, "send to the watchdog keeper: %s", strerror(errno));
		return -1;
	}
	if (NEVER((size_t)n != len)) {
		snprintf(err, errlen, "a short send to the watchdog keeper");
		return -1;
	}
	return 0;
}

static void
try_connect(struct wdc *c)
{
	struct sockaddr_un sa;
	struct wd_msg hello;
	char err[256];
	int fd = -1;

	if (c->fd >= 0)
		return;
	if (!c->path_ok) {
		if (c->failing++ == 0)
			log_errx("wdclient: the keeper socket path %.64s... is too long", c->path);
		return; /* never: no retry can help */
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, sizeof(err), "socket: %s", strerror(errno));
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, sizeof(err), "connect: %s", strerror(errno));
		goto fail;
	}
	c->fd = fd;
	memset(&hello, 0, sizeof(hello));
	hello.type = WD_MSG_HELLO;
	hello.u.hello.pid = (uint32_t)getpid();
	if (send_msg(c, &hello, err, sizeof(err)) < 0) {
		c->fd = -1;
		goto fail;
	}
	c->ev_read = event_new(c->base, fd, EV_READ | EV_PERSIST, on_readable, c);
	if (c->ev_read == NULL || event_add(c->ev_read, NULL) < 0) {
		if (c->ev_read != NULL)
			event_free(c->ev_read);
		c->ev_read = NULL;
		c->fd = -1;
		snprintf(err, sizeof(err), "cannot watch the socket");
		goto fail;
	}
	if (c->failing > 0)
		log_notice("wdclient: connected to the watchdog keeper %s", c->path);
	else
		log_info("wdclient: connected to the watchdog keeper %s", c->path);
	c->failing = 0;
	return;
fail:
	if (fd >= 0)
		close(fd);
	if (c->failing++ == 0)
		log_warnx("wdclient: cannot connect to the watchdog keeper %s: %s; retrying every "
		          "%d ms",
		          c->path, err, RECONNECT_MS);
	else
		log_debug("wdclient: cannot connect to the watchdog keeper %s: %s", c->path, err);
	schedule_retry(c);
}

struct wdc *
wdc_new(struct event_base *base, const char *path, wdc_status_fn on_status, wdc_lost_fn on_lost,
        void *arg)
{
	struct wdc *c = xcalloc(1, sizeof(*c));

	c->base = base;
	c->fd = -1;
	c->path_ok = strlen(path) < sizeof(c->path);
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->on_status = on_status;
	c->on_lost = on_lost;
	c->arg = arg;
	c->ev_retry = evtimer_new(base, on_retry, c);
	if (c->ev_retry == NULL)
		fatalx("wdclient: cannot create a timer");
	try_connect(c);
	return c;
}

void
wdc_free(struct wdc *c)
{
	if (c == NULL)
		return;
	if (c->ev_read != NULL) {
		event_del(c->ev_read);
		event_free(c->ev_read);
	}
	if (c->fd >= 0)
		close(c->fd);
	event_del(c->ev_retry);
	event_free(c->ev_retry);
	xfree(c);
}

int
wdc_is_connected(const struct wdc *c)
{
	return c->fd >= 0;
}

int
wdc_arm(struct wdc *c, uint32_t timeout_ms, uint32_t pet_ms, char *err, size_t errlen)
{
	struct wd_msg m = {.type = WD_MSG_ARM};

	m.u.arm.timeout_ms = timeout_ms;
	m.u.arm.pet_ms = pet_ms;
	return send_msg(c, &m, err, errlen);
}

int
wdc_pet(struct wdc *c, uint64_t lease_ms, char *err, size_t errlen)
{
	struct wd_msg m = {.type = WD_MSG_PET};

	m.u.pet.lease_ms = lease_ms;
	return send_msg(c, &m, err, errlen);
}

int
wdc_disarm(struct wdc *c, char *err, size_t errlen)
{
	struct wd_msg m = {.type = WD_MSG_DISARM};

	return send_msg(c, &m, err, errlen);
}

/* The reason is cut to the field and its control bytes become '?': a fence
** is never refused for its wording. */
int
wdc_fence(struct wdc *c, uint32_t timeout_ms, char *err, size_t errlen)
{
	struct wd_msg m = {.type = WD_MSG_FENCE};

	m.u.fence.timeout_ms = timeout_ms;
	return send_msg(c, &m, err, errlen);
}

int
wdc_reset(struct wdc *c, const char *reason, char *err, size_t errlen)
{
	struct wd_msg m = {.type = WD_MSG_RESET};
	size_t i;

	snprintf(m.u.reset.reason, sizeof(m.u.reset.reason), "%s", reason != NULL ? reason : "");
	for (i = 0; m.u.reset.reason[i] != '\0'; i++)
		if ((unsigned char)m.u.reset.reason[i] < 0x20 || m.u.reset.reason[i] == 0x7f)
			m.u.reset.reason[i] = '?';
	return send_msg(c, &m, err, errlen);
}
