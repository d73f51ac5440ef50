/*
** hv_sim: the hypervisor seam (hv.h) over hasvc-simhv's socket
** (lib/simhv_proto.h, docs/simhv.md).
**
** On open it says HELLO, registers this process with REGISTER_PID (so that a
** reset of the simulated host kills it, as a real host reset would kill
** hasvcd) and SUBSCRIBEs to domain events.  Every op is one synchronous
** request with a REQUEST_MS deadline.  Events that arrive while a call waits
** for its reply are queued for next_event.
**
** event_fd is an epoll descriptor that watches both the socket and an
** eventfd kept readable while the queue is not empty: events queued during a
** call have already left the socket, so the socket alone would not wake the
** caller's poll() for them.
**
** A timeout, a malformed message or a lost connection makes the connection
** unusable: every later call fails with ECONNRESET (ETIMEDOUT for the call
** that timed out), and next_event returns -1.
*/
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "hasvc/hv.h"
#include "lib/check.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/simhv_proto.h"
#include "lib/xmalloc.h"

#define REQUEST_MS 2000
/* How long self_reset waits to be killed by the reset it asked for. */
#define SELF_RESET_WAIT_MS 5000

struct hv_sim {
	struct hv hv; /* first: struct hv * converts to struct hv_sim * */
	int fd;       /* the simhv socket */
	int epfd;     /* event_fd: socket + evfd */
	int evfd;     /* readable while queue is not empty */
	int lost;     /* the connection is unusable */
	uint32_t seq;
	char path[108];
	struct simhv_reader *rd;
	struct simhv_msg *req; /* scratch for requests */
	struct simhv_msg *msg; /* scratch for replies and events */
	struct hv_event *queue;
	size_t qhead, qlen, qcap;
};

static struct hv_sim *
to_sim(struct hv *hv)
{
	return (struct hv_sim *)hv;
}

static void seterr(struct hv_sim *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
seterr(struct hv_sim *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->hv.last_error, sizeof(h->hv.last_error), fmt, ap);
	va_end(ap);
}

static void
evfd_set(struct hv_sim *h, int on)
{
	uint64_t v = 1;
	ssize_t n;

	if (on)
		n = write(h->evfd, &v, sizeof(v));
	else
		n = read(h->evfd, &v, sizeof(v)); /* EAGAIN if already clear */
	(void)n;
}

static void
queue_event(void *arg, const struct simhv_msg *m)
{
	struct hv_sim *h = arg;
	struct hv_event *ev;
	size_t i;

	if (h->qlen == h->qcap) {
		struct hv_event *q = xcalloc(h->qcap ? 2 * h->qcap : 16, sizeof(*q));

		for (i = 0; i < h->qlen; i++)
			q[i] = h->queue[(h->qhead + i) % h->qcap];
		xfree(h->queue);
		h->queue = q;
		h->qhead = 0;
		h->qcap = h->qcap ? 2 * h->qcap : 16;
	}
	ev = &h->queue[(h->qhead + h->qlen) % h->qcap];
	memset(ev, 0, sizeof(*ev));
	/* The kinds have hv.h's values (lib/simhv_proto.h). */
	ev->type = (enum hv_event_type)m->u.event.kind;
	snprintf(ev->uuid, sizeof(ev->uuid), "%s", m->u.event.uuid);
	snprintf(ev->reason, sizeof(ev->reason), "%s", m->u.event.reason);
	if (h->qlen++ == 0)
		evfd_set(h, 1);
}

static void
mark_lost(struct hv_sim *h)
{
	h->lost = 1;
}

/*
** One request: 0 if simhv answered with status 0 (the reply in h->msg), else
** -1 with errno (the status, or ETIMEDOUT / ECONNRESET) and last_error set.
*/
static int
request(struct hv_sim *h, struct simhv_msg *req)
{
	const char *what = simhv_type_name(req->type);
	int e;

	if (h->lost) {
		seterr(h, "%s: the connection to simhv at %s is lost", what, h->path);
		errno = ECONNRESET;
		return -1;
	}
	if (++h->seq == 0)
		h->seq = 1;
	req->seq = h->seq;
	if (simhv_call(h->fd, h->rd, req, h->msg, clock_mono_ms() + REQUEST_MS, queue_event, h) <
	    0) {
		e = errno;
		if (e == EINVAL) {
			seterr(h, "%s: the request cannot be encoded (a field is too long)", what);
			errno = EINVAL;
			return -1;
		}
		mark_lost(h);
		if (e == ETIMEDOUT) {
			seterr(h, "%s: simhv at %s did not answer within %d ms", what, h->path,
			       REQUEST_MS);
		} else if (e == EPROTO) {
			seterr(h, "%s: malformed or unexpected message from simhv at %s", what,
			       h->path);
			e = ECONNRESET;
		} else {
			seterr(h, "%s: connection to simhv at %s lost", what, h->path);
			e = ECONNRESET;
		}
		errno = e;
		return -1;
	}
	if (h->msg->u.reply.status != 0) {
		seterr(h, "%s", h->msg->u.reply.message);
		errno = (int)h->msg->u.reply.status;
		return -1;
	}
	return 0;
}

static struct simhv_msg *
new_req(struct hv_sim *h, unsigned type)
{
	memset(h->req, 0, sizeof(*h->req));
	h->req->type = (uint16_t)type;
	return h->req;
}

static int
sim_host_info(struct hv *hv, struct hv_host_info *out)
{
	struct hv_sim *h = to_sim(hv);

	if (request(h, new_req(h, SIMHV_HOST_INFO)) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->memory_total = h->msg->u.reply.u.info.memory_total;
	out->memory_free = h->msg->u.reply.u.info.memory_free;
	out->cpus = h->msg->u.reply.u.info.cpus;
	return 0;
}

static enum hv_dom_state
map_state(uint8_t s)
{
	switch (s) {
	case SIMHV_DOM_SHUTDOWN:
		return HV_DOM_SHUTDOWN;
	case SIMHV_DOM_CRASHED:
		return HV_DOM_CRASHED;
	default: /* booting, running, shutting down: the domain exists and runs */
		return HV_DOM_RUNNING;
	}
}

static int
sim_list_domains(struct hv *hv, struct hv_domain **out, size_t *n)
{
	struct hv_sim *h = to_sim(hv);
	struct hv_domain *d;
	uint32_t i, cnt;

	if (request(h, new_req(h, SIMHV_LIST_DOMAINS)) < 0)
		return -1;
	cnt = h->msg->u.reply.u.list.n;
	d = xcalloc(cnt ? cnt : 1, sizeof(*d));
	for (i = 0; i < cnt; i++) {
		const struct simhv_domain *s = &h->msg->u.reply.u.list.d[i];

		memcpy(d[i].uuid, s->uuid, sizeof(d[i].uuid));
		d[i].state = map_state(s->state);
		d[i].memory = s->memory;
		d[i].vcpus = s->vcpus;
	}
	*out = d;
	*n = cnt;
	return 0;
}

static int
sim_start(struct hv *hv, const struct hv_vm_spec *spec)
{
	struct hv_sim *h = to_sim(hv);
	struct simhv_msg *req = new_req(h, SIMHV_START);

	snprintf(req->u.start.uuid, sizeof(req->u.start.uuid), "%s", spec->uuid);
	snprintf(req->u.start.name, sizeof(req->u.start.name), "%s", spec->name);
	req->u.start.memory = spec->memory;
	req->u.start.vcpus = spec->vcpus;
	return request(h, req);
}

static int
dom_request(struct hv *hv, unsigned type, const char *uuid)
{
	struct hv_sim *h = to_sim(hv);
	struct simhv_msg *req = new_req(h, type);

	if (strlen(uuid) >= sizeof(req->u.dom.uuid)) {
		seterr(h, "'%s' is not a domain uuid", uuid);
		errno = ENOENT;
		return -1;
	}
	snprintf(req->u.dom.uuid, sizeof(req->u.dom.uuid), "%s", uuid);
	return request(h, req);
}

static int
sim_shutdown(struct hv *hv, const char *uuid)
{
	return dom_request(hv, SIMHV_SHUTDOWN, uuid);
}

static int
sim_destroy(struct hv *hv, const char *uuid)
{
	return dom_request(hv, SIMHV_DESTROY, uuid);
}

static int
sim_wd_arm(struct hv *hv, uint32_t timeout_ms)
{
	struct hv_sim *h = to_sim(hv);
	struct simhv_msg *req = new_req(h, SIMHV_WD_ARM);

	req->u.wd.timeout_ms = timeout_ms;
	return request(h, req);
}

static int
sim_wd_pet(struct hv *hv)
{
	struct hv_sim *h = to_sim(hv);

	return request(h, new_req(h, SIMHV_WD_PET));
}

static int
sim_wd_disarm(struct hv *hv)
{
	struct hv_sim *h = to_sim(hv);

	return request(h, new_req(h, SIMHV_WD_DISARM));
}

static int
sim_self_reset(struct hv *hv, const char *reason)
{
	struct hv_sim *h = to_sim(hv);
	struct simhv_msg *req = new_req(h, SIMHV_SELF_RESET);
	struct timespec ts = {0, 50 * 1000000};
	uint64_t until;

	snprintf(req->u.reset.reason, sizeof(req->u.reset.reason), "%s", reason);
	if (request(h, req) < 0)
		return -1;
	/* simhv answers, then kills every registered process of the host: us. */
	until = clock_mono_ms() + SELF_RESET_WAIT_MS;
	while (clock_mono_ms() < until)
		nanosleep(&ts, NULL);
	seterr(h, "simhv reset the host but did not kill this process (pid %d) within %d ms",
	       (int)getpid(), SELF_RESET_WAIT_MS);
	errno = EIO;
	return -1;
}

static int
sim_event_fd(struct hv *hv)
{
	return to_sim(hv)->epfd;
}

/* Read whatever the socket holds now, without blocking: events to the queue.
** -1 if the connection is lost or the stream is malformed. */
static int
pump(struct hv_sim *h)
{
	struct pollfd pfd = {.fd = h->fd, .events = POLLIN};
	ssize_t n;
	int rc;

	while (poll(&pfd, 1, 0) > 0) {
		n = simhv_reader_fill(h->rd, h->fd);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			seterr(h, "connection to simhv at %s lost", h->path);
			return -1;
		}
		while ((rc = simhv_reader_next(h->rd, h->msg)) == 1) {
			if (h->msg->type != SIMHV_EVENT) {
				seterr(h, "simhv at %s sent an unexpected %s", h->path,
				       simhv_type_name(h->msg->type));
				return -1;
			}
			queue_event(h, h->msg);
		}
		if (rc < 0) {
			seterr(h, "malformed message from simhv at %s", h->path);
			return -1;
		}
		if (n < 0)
			break;
	}
	return 0;
}

static int
sim_next_event(struct hv *hv, struct hv_event *ev)
{
	struct hv_sim *h = to_sim(hv);

	if (h->qlen == 0 && !h->lost && pump(h) < 0)
		mark_lost(h);
	if (h->qlen > 0) {
		*ev = h->queue[h->qhead];
		h->qhead = (h->qhead + 1) % h->qcap;
		if (--h->qlen == 0)
			evfd_set(h, 0);
		return 1;
	}
	if (h->lost) {
		if (h->hv.last_error[0] == '\0')
			seterr(h, "connection to simhv at %s lost", h->path);
		errno = ECONNRESET;
		return -1;
	}
	return 0;
}

static void
sim_close(struct hv *hv)
{
	struct hv_sim *h = to_sim(hv);

	if (h->fd >= 0)
		close(h->fd);
	if (h->epfd >= 0)
		close(h->epfd);
	if (h->evfd >= 0)
		close(h->evfd);
	xfree(h->rd);
	xfree(h->req);
	xfree(h->msg);
	xfree(h->queue);
	xfree(h);
}

static const struct hv_ops sim_ops = {
	.name = "sim",
	.host_info = sim_host_info,
	.list_domains = sim_list_domains,
	.start = sim_start,
	.shutdown = sim_shutdown,
	.destroy = sim_destroy,
	.wd_arm = sim_wd_arm,
	.wd_pet = sim_wd_pet,
	.wd_disarm = sim_wd_disarm,
	.self_reset = sim_self_reset,
	.event_fd = sim_event_fd,
	.next_event = sim_next_event,
	.close = sim_close,
};

struct hv *
hv_sim_open(const char *socket_path, char *err, size_t errlen)
{
	struct hv_sim *h = xcalloc(1, sizeof(*h));
	struct epoll_event ee;
	struct simhv_msg *req;

	h->hv.ops = &sim_ops;
	h->fd = h->epfd = h->evfd = -1;
	h->rd = xcalloc(1, sizeof(*h->rd));
	h->req = xcalloc(1, sizeof(*h->req));
	h->msg = xcalloc(1, sizeof(*h->msg));
	if (socket_path == NULL || socket_path[0] == '\0') {
		snprintf(err, errlen, "no simhv socket configured");
		goto fail;
	}
	snprintf(h->path, sizeof(h->path), "%s", socket_path);
	h->fd = simhv_connect(socket_path, err, errlen);
	if (h->fd < 0)
		goto fail;
	h->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->evfd < 0 || h->epfd < 0) {
		snprintf(err, errlen, "eventfd/epoll: %s", strerror(errno));
		goto fail;
	}
	memset(&ee, 0, sizeof(ee));
	ee.events = EPOLLIN;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->fd, &ee) < 0 ||
	    epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->evfd, &ee) < 0) {
		snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
		goto fail;
	}

	req = new_req(h, SIMHV_HELLO);
	snprintf(req->u.hello.name, sizeof(req->u.hello.name), "%s", program_invocation_short_name);
	req->u.hello.pid = (uint32_t)getpid();
	if (request(h, req) < 0)
		goto fail_req;
	log_info("hypervisor: connected to simhv of host %s (pid %u) at %s",
		 h->msg->u.reply.u.hello.host, h->msg->u.reply.u.hello.pid, socket_path);
	req = new_req(h, SIMHV_REGISTER_PID);
	req->u.pid.pid = (uint32_t)getpid();
	if (request(h, req) < 0)
		goto fail_req;
	if (request(h, new_req(h, SIMHV_SUBSCRIBE)) < 0)
		goto fail_req;
	return &h->hv;
fail_req:
	snprintf(err, errlen, "simhv at %s: %s", socket_path, h->hv.last_error);
fail:
	sim_close(&h->hv);
	return NULL;
}
