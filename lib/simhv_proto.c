/*
** The simhv protocol codec and the small blocking client helpers (see
** simhv_proto.h).  Every payload layout is written once, as a pair of
** encode/decode functions in a table indexed by type; the decoder trusts
** nothing: it reads every field through a bounds-checked cursor and then
** requires that the cursor consumed the payload exactly.
*/
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/check.h"
#include "lib/clock.h"
#include "lib/simhv_proto.h"
#include "lib/wire.h"
#include "lib/xmalloc.h"

/* Largest errno value a reply may carry: anything bigger is garbage. */
#define STATUS_MAX 4095

enum dir { REQUEST, EVENT, REPLY };

struct codec {
	const char *name;
	enum dir dir;
	void (*enc)(struct wbuf *w, const struct simhv_msg *m);
	void (*dec)(struct rbuf *r, struct simhv_msg *m);
};

struct body_codec {
	void (*enc)(struct wbuf *w, const struct simhv_msg *m);
	void (*dec)(struct rbuf *r, struct simhv_msg *m);
};

static void
enc_hello(struct wbuf *w, const struct simhv_msg *m)
{
	wput_str(w, m->u.hello.name, sizeof(m->u.hello.name));
	wput_u32(w, m->u.hello.pid);
}

static void
dec_hello(struct rbuf *r, struct simhv_msg *m)
{
	rget_str(r, m->u.hello.name, sizeof(m->u.hello.name));
	m->u.hello.pid = rget_u32(r);
}

static void
enc_pid(struct wbuf *w, const struct simhv_msg *m)
{
	wput_u32(w, m->u.pid.pid);
}

static void
dec_pid(struct rbuf *r, struct simhv_msg *m)
{
	m->u.pid.pid = rget_u32(r);
}

static void
enc_start(struct wbuf *w, const struct simhv_msg *m)
{
	wput_str(w, m->u.start.uuid, sizeof(m->u.start.uuid));
	wput_str(w, m->u.start.name, sizeof(m->u.start.name));
	wput_u64(w, m->u.start.memory);
	wput_u32(w, m->u.start.vcpus);
}

static void
dec_start(struct rbuf *r, struct simhv_msg *m)
{
	rget_str(r, m->u.start.uuid, sizeof(m->u.start.uuid));
	rget_str(r, m->u.start.name, sizeof(m->u.start.name));
	m->u.start.memory = rget_u64(r);
	m->u.start.vcpus = rget_u32(r);
}

static void
enc_dom(struct wbuf *w, const struct simhv_msg *m)
{
	wput_str(w, m->u.dom.uuid, sizeof(m->u.dom.uuid));
}

static void
dec_dom(struct rbuf *r, struct simhv_msg *m)
{
	rget_str(r, m->u.dom.uuid, sizeof(m->u.dom.uuid));
}

static void
enc_wd(struct wbuf *w, const struct simhv_msg *m)
{
	wput_u32(w, m->u.wd.timeout_ms);
}

static void
dec_wd(struct rbuf *r, struct simhv_msg *m)
{
	m->u.wd.timeout_ms = rget_u32(r);
}

static void
enc_reset(struct wbuf *w, const struct simhv_msg *m)
{
	wput_str(w, m->u.reset.reason, sizeof(m->u.reset.reason));
}

static void
dec_reset(struct rbuf *r, struct simhv_msg *m)
{
	rget_str(r, m->u.reset.reason, sizeof(m->u.reset.reason));
}

static void
enc_event(struct wbuf *w, const struct simhv_msg *m)
{
	if (m->u.event.kind == 0 || m->u.event.kind >= SIMHV_EV_END)
		w->err = 1;
	wput_u16(w, m->u.event.kind);
	wput_str(w, m->u.event.uuid, sizeof(m->u.event.uuid));
	wput_str(w, m->u.event.reason, sizeof(m->u.event.reason));
}

static void
dec_event(struct rbuf *r, struct simhv_msg *m)
{
	m->u.event.kind = rget_u16(r);
	rget_str(r, m->u.event.uuid, sizeof(m->u.event.uuid));
	rget_str(r, m->u.event.reason, sizeof(m->u.event.reason));
	if (m->u.event.kind == 0 || m->u.event.kind >= SIMHV_EV_END)
		r->err = 1;
}

/* Reply bodies, present only when the status is 0. */

static void
enc_body_hello(struct wbuf *w, const struct simhv_msg *m)
{
	wput_str(w, m->u.reply.u.hello.host, sizeof(m->u.reply.u.hello.host));
	wput_u32(w, m->u.reply.u.hello.pid);
}

static void
dec_body_hello(struct rbuf *r, struct simhv_msg *m)
{
	rget_str(r, m->u.reply.u.hello.host, sizeof(m->u.reply.u.hello.host));
	m->u.reply.u.hello.pid = rget_u32(r);
}

static void
enc_body_info(struct wbuf *w, const struct simhv_msg *m)
{
	const struct simhv_host_info *i = &m->u.reply.u.info;

	if (i->powered_on > 1)
		w->err = 1;
	wput_str(w, i->host, sizeof(i->host));
	wput_u64(w, i->memory_total);
	wput_u64(w, i->memory_free);
	wput_u32(w, i->cpus);
	wput_u8(w, i->powered_on);
	wput_u32(w, i->resets);
}

static void
dec_body_info(struct rbuf *r, struct simhv_msg *m)
{
	struct simhv_host_info *i = &m->u.reply.u.info;

	rget_str(r, i->host, sizeof(i->host));
	i->memory_total = rget_u64(r);
	i->memory_free = rget_u64(r);
	i->cpus = rget_u32(r);
	i->powered_on = rget_u8(r);
	i->resets = rget_u32(r);
	if (i->powered_on > 1)
		r->err = 1;
}

static void
enc_body_status(struct wbuf *w, const struct simhv_msg *m)
{
	const struct simhv_status *s = &m->u.reply.u.status;

	if (s->powered_on > 1 || s->wd_armed > 1)
		w->err = 1;
	wput_u8(w, s->powered_on);
	wput_u32(w, s->resets);
	wput_u64(w, (uint64_t)s->last_reset_wall);
	wput_u64(w, s->last_reset_mono_ns);
	wput_str(w, s->last_reason, sizeof(s->last_reason));
	wput_u8(w, s->wd_armed);
	wput_u32(w, s->wd_timeout_ms);
	wput_u32(w, s->ndomains);
	wput_u32(w, s->npids);
}

static void
dec_body_status(struct rbuf *r, struct simhv_msg *m)
{
	struct simhv_status *s = &m->u.reply.u.status;

	s->powered_on = rget_u8(r);
	s->resets = rget_u32(r);
	s->last_reset_wall = (int64_t)rget_u64(r);
	s->last_reset_mono_ns = rget_u64(r);
	rget_str(r, s->last_reason, sizeof(s->last_reason));
	s->wd_armed = rget_u8(r);
	s->wd_timeout_ms = rget_u32(r);
	s->ndomains = rget_u32(r);
	s->npids = rget_u32(r);
	if (s->powered_on > 1 || s->wd_armed > 1)
		r->err = 1;
}

static void
enc_body_list(struct wbuf *w, const struct simhv_msg *m)
{
	uint32_t i, n = m->u.reply.u.list.n;

	if (n > SIMHV_MAX_DOMAINS) {
		w->err = 1;
		return;
	}
	wput_u32(w, n);
	for (i = 0; i < n; i++) {
		const struct simhv_domain *d = &m->u.reply.u.list.d[i];

		if (d->state == 0 || d->state >= SIMHV_DOM_END)
			w->err = 1;
		wput_str(w, d->uuid, sizeof(d->uuid));
		wput_str(w, d->name, sizeof(d->name));
		wput_u64(w, d->memory);
		wput_u32(w, d->vcpus);
		wput_u8(w, d->state);
	}
}

static void
dec_body_list(struct rbuf *r, struct simhv_msg *m)
{
	uint32_t i, n = rget_u32(r);

	if (n > SIMHV_MAX_DOMAINS) {
		r->err = 1;
		return;
	}
	m->u.reply.u.list.n = n;
	for (i = 0; i < n && !r->err; i++) {
		struct simhv_domain *d = &m->u.reply.u.list.d[i];

		rget_str(r, d->uuid, sizeof(d->uuid));
		rget_str(r, d->name, sizeof(d->name));
		d->memory = rget_u64(r);
		d->vcpus = rget_u32(r);
		d->state = rget_u8(r);
		if (d->state == 0 || d->state >= SIMHV_DOM_END)
			r->err = 1;
	}
}

static const struct body_codec bodies[SIMHV_TYPE_END] = {
	[SIMHV_HELLO] = {enc_body_hello, dec_body_hello},
	[SIMHV_HOST_INFO] = {enc_body_info, dec_body_info},
	[SIMHV_LIST_DOMAINS] = {enc_body_list, dec_body_list},
	[SIMHV_STATUS] = {enc_body_status, dec_body_status},
};

static const struct codec codecs[SIMHV_TYPE_END];

static int
is_request(unsigned type)
{
	return type > 0 && type < SIMHV_TYPE_END && codecs[type].dir == REQUEST;
}

static void
enc_reply(struct wbuf *w, const struct simhv_msg *m)
{
	unsigned req = m->u.reply.req;

	if (!is_request(req) || m->u.reply.status > STATUS_MAX) {
		w->err = 1;
		return;
	}
	wput_u16(w, m->u.reply.req);
	wput_u32(w, m->u.reply.status);
	wput_str(w, m->u.reply.message, sizeof(m->u.reply.message));
	if (m->u.reply.status == 0 && bodies[req].enc)
		bodies[req].enc(w, m);
}

static void
dec_reply(struct rbuf *r, struct simhv_msg *m)
{
	unsigned req;

	m->u.reply.req = rget_u16(r);
	m->u.reply.status = rget_u32(r);
	rget_str(r, m->u.reply.message, sizeof(m->u.reply.message));
	req = m->u.reply.req;
	if (r->err || !is_request(req) || m->u.reply.status > STATUS_MAX) {
		r->err = 1;
		return;
	}
	if (m->u.reply.status == 0 && bodies[req].dec)
		bodies[req].dec(r, m);
}

static const struct codec codecs[SIMHV_TYPE_END] = {
	[SIMHV_HELLO] = {"hello", REQUEST, enc_hello, dec_hello},
	[SIMHV_REGISTER_PID] = {"register-pid", REQUEST, enc_pid, dec_pid},
	[SIMHV_HOST_INFO] = {"host-info", REQUEST, NULL, NULL},
	[SIMHV_LIST_DOMAINS] = {"list-domains", REQUEST, NULL, NULL},
	[SIMHV_START] = {"start", REQUEST, enc_start, dec_start},
	[SIMHV_SHUTDOWN] = {"shutdown", REQUEST, enc_dom, dec_dom},
	[SIMHV_DESTROY] = {"destroy", REQUEST, enc_dom, dec_dom},
	[SIMHV_WD_ARM] = {"wd-arm", REQUEST, enc_wd, dec_wd},
	[SIMHV_WD_PET] = {"wd-pet", REQUEST, NULL, NULL},
	[SIMHV_WD_DISARM] = {"wd-disarm", REQUEST, NULL, NULL},
	[SIMHV_SELF_RESET] = {"self-reset", REQUEST, enc_reset, dec_reset},
	[SIMHV_SUBSCRIBE] = {"subscribe", REQUEST, NULL, NULL},
	[SIMHV_EVENT] = {"event", EVENT, enc_event, dec_event},
	[SIMHV_CRASH_DOMAIN] = {"crash-domain", REQUEST, enc_dom, dec_dom},
	[SIMHV_GUEST_SHUTDOWN] = {"guest-shutdown", REQUEST, enc_dom, dec_dom},
	[SIMHV_POWER_ON] = {"power-on", REQUEST, NULL, NULL},
	[SIMHV_STATUS] = {"status", REQUEST, NULL, NULL},
	[SIMHV_REPLY] = {"reply", REPLY, enc_reply, dec_reply},
};

const char *
simhv_type_name(unsigned type)
{
	return type > 0 && type < SIMHV_TYPE_END ? codecs[type].name : "unknown";
}

const char *
simhv_event_name(unsigned kind)
{
	static const char *const names[SIMHV_EV_END] = {
		[SIMHV_EV_DIED] = "died",
		[SIMHV_EV_CRASHED] = "crashed",
		[SIMHV_EV_STARTED] = "started",
	};

	return kind > 0 && kind < SIMHV_EV_END ? names[kind] : "unknown";
}

const char *
simhv_dom_state_name(unsigned state)
{
	static const char *const names[SIMHV_DOM_END] = {
		[SIMHV_DOM_BOOTING] = "booting",
		[SIMHV_DOM_RUNNING] = "running",
		[SIMHV_DOM_SHUTTING_DOWN] = "shutting-down",
		[SIMHV_DOM_SHUTDOWN] = "shutdown",
		[SIMHV_DOM_CRASHED] = "crashed",
	};

	return state > 0 && state < SIMHV_DOM_END ? names[state] : "unknown";
}

/* Requests and replies need seq >= 1, events seq 0. */
static int
seq_ok(const struct codec *c, uint32_t seq)
{
	return c->dir == EVENT ? seq == 0 : seq != 0;
}

ssize_t
simhv_msg_encode(const struct simhv_msg *m, uint8_t *buf, size_t size)
{
	struct wbuf w = WBUF_INIT(buf, size);
	const struct codec *c;
	size_t plen;
	uint8_t *hdr;

	if (m->type == 0 || m->type >= SIMHV_TYPE_END)
		return -1;
	c = &codecs[m->type];
	if (!seq_ok(c, m->seq))
		return -1;
	hdr = wbuf_reserve(&w, SIMHV_HDR_LEN);
	if (c->enc)
		c->enc(&w, m);
	if (w.err || hdr == NULL)
		return -1;
	plen = w.off - SIMHV_HDR_LEN;
	if (plen > SIMHV_PAYLOAD_MAX)
		return -1;
	w.off = 0;
	wput_u32(&w, SIMHV_MAGIC);
	wput_u16(&w, SIMHV_VERSION);
	wput_u16(&w, m->type);
	wput_u32(&w, m->seq);
	wput_u32(&w, (uint32_t)plen);
	return w.err ? -1 : (ssize_t)(SIMHV_HDR_LEN + plen);
}

ssize_t
simhv_hdr_check(const uint8_t *buf, size_t len)
{
	struct rbuf r = RBUF_INIT(buf, len);
	uint32_t magic, plen;
	uint16_t version, type;

	magic = rget_u32(&r);
	version = rget_u16(&r);
	type = rget_u16(&r);
	(void)rget_u32(&r);
	plen = rget_u32(&r);
	if (r.err || magic != SIMHV_MAGIC || version != SIMHV_VERSION || type == 0 ||
	    type >= SIMHV_TYPE_END || plen > SIMHV_PAYLOAD_MAX)
		return -1;
	return (ssize_t)plen;
}

int
simhv_msg_decode(const uint8_t *buf, size_t len, struct simhv_msg *m)
{
	ssize_t plen = simhv_hdr_check(buf, len);
	struct rbuf h = RBUF_INIT(buf, len);
	struct rbuf r;
	const struct codec *c;

	if (plen < 0 || len != SIMHV_HDR_LEN + (size_t)plen)
		return -1;
	memset(m, 0, offsetof(struct simhv_msg, u));
	(void)rget_u32(&h);
	(void)rget_u16(&h);
	m->type = rget_u16(&h);
	m->seq = rget_u32(&h);
	c = &codecs[m->type];
	if (!seq_ok(c, m->seq))
		return -1;
	r = (struct rbuf)RBUF_INIT(buf + SIMHV_HDR_LEN, (size_t)plen);
	if (c->dec)
		c->dec(&r, m);
	if (r.err || r.off != r.len)
		return -1;
	return 0;
}

ssize_t
simhv_reader_fill(struct simhv_reader *r, int fd)
{
	ssize_t n;

	if (NEVER(r->len >= sizeof(r->buf))) {
		errno = EPROTO;
		return -1;
	}
	do
		n = read(fd, r->buf + r->len, sizeof(r->buf) - r->len);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		r->len += (size_t)n;
	return n;
}

int
simhv_reader_next(struct simhv_reader *r, struct simhv_msg *m)
{
	ssize_t plen;
	size_t total;

	if (r->len < SIMHV_HDR_LEN)
		return 0;
	plen = simhv_hdr_check(r->buf, r->len);
	if (plen < 0)
		return -1;
	total = SIMHV_HDR_LEN + (size_t)plen;
	if (r->len < total)
		return 0;
	if (simhv_msg_decode(r->buf, total, m) < 0)
		return -1;
	memmove(r->buf, r->buf + total, r->len - total);
	r->len -= total;
	return 1;
}

int
simhv_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int fd, e;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "simhv socket path %s is too long", path);
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "socket: %s", strerror(e));
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		snprintf(err, errlen, "cannot connect to simhv at %s: %s", path, strerror(e));
		close(fd);
		goto fail;
	}
	return fd;
fail:
	errno = e;
	return -1;
}

int
simhv_send(int fd, const struct simhv_msg *m)
{
	uint8_t *buf = xmalloc(SIMHV_MSG_MAX);
	ssize_t len = simhv_msg_encode(m, buf, SIMHV_MSG_MAX), n;
	size_t off = 0;
	int rc = -1;

	if (len < 0) {
		errno = EINVAL;
		goto out;
	}
	while (off < (size_t)len) {
		n = send(fd, buf + off, (size_t)len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		off += (size_t)n;
	}
	rc = 0;
out:
	xfree(buf);
	return rc;
}

int
simhv_call(int fd, struct simhv_reader *r, const struct simhv_msg *req,
	   struct simhv_msg *reply, uint64_t deadline_ms,
	   void (*on_event)(void *arg, const struct simhv_msg *ev), void *arg)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	uint64_t now;
	ssize_t n;
	int rc;

	if (simhv_send(fd, req) < 0) {
		if (errno != EINVAL)
			errno = ECONNRESET;
		return -1;
	}
	for (;;) {
		while ((rc = simhv_reader_next(r, reply)) == 1) {
			if (reply->type == SIMHV_EVENT) {
				if (on_event)
					on_event(arg, reply);
				continue;
			}
			if (reply->type != SIMHV_REPLY || reply->seq != req->seq ||
			    reply->u.reply.req != req->type) {
				errno = EPROTO;
				return -1;
			}
			return 0;
		}
		if (rc < 0) {
			errno = EPROTO;
			return -1;
		}
		now = clock_mono_ms();
		if (now >= deadline_ms) {
			errno = ETIMEDOUT;
			return -1;
		}
		rc = poll(&pfd, 1, (int)(deadline_ms - now > 60000 ? 60000 : deadline_ms - now));
		if (rc < 0 && errno != EINTR)
			return -1;
		if (rc <= 0)
			continue;
		n = simhv_reader_fill(r, fd);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
			errno = ECONNRESET;
			return -1;
		}
	}
}
