/*
** The HTTPS transport (see httpd.h): libevent's evhttp parses HTTP, a
** bufferevent_openssl per connection does TLS, and this file adds what evhttp
** 2.1 lacks: a deadline for a whole request, an idle deadline, a connection
** cap, and noticing that a client went away while its reply is deferred.
**
** Connection lifetime.  evhttp creates and frees its connections itself and
** tells us little: the bevcb hands us no connection, and the close callback
** is not called on every path.  So each connection has a `struct conn` that
** we create in the bevcb (with the SSL object) and free from the SSL object's
** ex_data free hook, which runs exactly once when libevent finally destroys
** the bufferevent, whatever the path.  That hook is what decrements the
** connection count.  In between:
**   - a zero-delay timer "adopts" the connection on the next loop turn: it
**     learns the evhttp_connection (the bufferevent's callback argument) and
**     sets the close callback, or closes it at once if over the cap (a
**     connection whose handshake failed before that is already gone);
**   - the close callback (evhttp is about to free the connection) forgets
**     the evhttp_connection, stops the timer and aborts a pending request.
**
** Per-connection states and the one timer that bounds each of them:
**   IDLE       no request bytes yet          idle_timeout_ms, then close
**   RECEIVING  a request is arriving         request_timeout_ms, then 408 + close
**   HANDLING   the handler owns the request  none (deferred replies may be long)
**   WRITING    the reply is being sent       idle_timeout_ms, then close
**   CLOSING    our 408 is being flushed      1 s, then close
** IDLE -> RECEIVING is seen through a callback on the input evbuffer (the
** first decrypted byte); RECEIVING -> HANDLING is evhttp's request callback;
** WRITING -> IDLE is the request's on-complete callback.
**
** Ownership rules (libevent 2.1.12, http.c): a server connection keeps the
** request it delivered on its queue until the reply is sent, so freeing the
** connection frees that request too; we never free an evhttp_request.
** evhttp disables reading while the handler holds a request, so a vanished
** client would go unnoticed; for a deferred request we therefore install our
** own read/event callbacks on the bufferevent (evhttp_send_reply installs
** its own again) and free the connection on EOF or error, which runs the
** close callback and thus the abort callback.
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "api/httpd.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define HTTPD_MAX_HEADERS    (64 * 1024)
#define HTTPD_CLOSE_FLUSH_MS 1000
/* Bytes a client may pipeline while its previous request is deferred before
** we stop reading from it (and so stop noticing that it closes). */
#define HTTPD_PIPELINE_MAX (64 * 1024)

/* Mozilla "intermediate": forward secrecy and AEAD only (TLS 1.2; TLS 1.3
** suites are OpenSSL's defaults, all of which qualify). */
static const char httpd_ciphers[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

enum conn_state {
	CONN_ADOPTING,
	CONN_IDLE,
	CONN_RECEIVING,
	CONN_HANDLING,
	CONN_WRITING,
	CONN_CLOSING,
	CONN_CLOSED, /* evhttp freed the connection; waiting for the SSL free hook */
};

struct conn {
	struct httpd *h; /* NULL once httpd_free() detached us */
	struct conn *prev, *next;
	struct bufferevent *bev;
	struct evhttp_connection *evcon; /* NULL until adopted and after close */
	struct event *timer;
	enum conn_state state;
	int refuse;                /* over the cap when accepted */
	struct httpd_req *pending; /* delivered to the handler, not replied */
	char peer[INET6_ADDRSTRLEN];
};

struct httpd_req {
	struct conn *conn;
	struct evhttp_request *ev;
	char *path;
	char *query;
	char *body;
	size_t len;
	void (*abort_fn)(void *arg);
	void *abort_arg;
};

struct httpd {
	struct event_base *base;
	struct evhttp *http;
	SSL_CTX *ctx;
	char *address, *cert_path, *key_path;
	struct httpd_config cfg;
	httpd_handler handler;
	void *arg;
	uint16_t port;
	unsigned nconns;
	struct conn *conns; /* every live struct conn, for httpd_free */
};

static int conn_ex_index = -1;

static void
ms_to_tv(unsigned ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

static void
conn_arm(struct conn *c, enum conn_state st, unsigned ms)
{
	struct timeval tv;

	c->state = st;
	if (!c->timer)
		return;
	if (ms == 0) {
		evtimer_del(c->timer);
		return;
	}
	ms_to_tv(ms, &tv);
	evtimer_add(c->timer, &tv);
}

static const char *
conn_peer(struct conn *c)
{
	return c->peer[0] ? c->peer : "?";
}

/* Free the evhttp connection: runs conn_closecb and frees any request still
** queued on it.  Nothing to do once it is gone (or before adoption, which
** only the adoption timer ends). */
static void
conn_close(struct conn *c)
{
	if (c->evcon)
		evhttp_connection_free(c->evcon);
}

static void
req_free(struct httpd_req *r)
{
	if (!r)
		return;
	xfree(r->path);
	xfree(r->query);
	xfree(r->body);
	xfree(r);
}

/* evhttp is about to free the connection (every path, once adopted). */
static void
conn_closecb(struct evhttp_connection *evcon, void *arg)
{
	struct conn *c = arg;
	struct httpd_req *r = c->pending;

	c->evcon = NULL;
	c->state = CONN_CLOSED;
	if (c->timer)
		evtimer_del(c->timer);
	if (r) {
		void (*fn)(void *) = r->abort_fn;
		void *fnarg = r->abort_arg;

		log_debug("client %s: went away before the reply to %s", conn_peer(c), r->path);
		c->pending = NULL;
		req_free(r);
		if (fn)
			fn(fnarg);
	}
}

/* The SSL object is freed with the bufferevent: the connection is gone. */
static void
conn_ssl_free_hook(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct conn *c = ptr;
	struct httpd *h;

	if (!c)
		return;
	h = c->h;
	if (h) {
		ha_assert(h->nconns > 0);
		h->nconns--;
		if (c->prev)
			c->prev->next = c->next;
		else
			h->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
	}
	if (c->timer)
		event_free(c->timer);
	/* The request, if any, was released by conn_closecb; a connection
	** freed before adoption never had one. */
	ha_assert(c->pending == NULL);
	xfree(c);
}

static void
conn_adopt(struct conn *c)
{
	struct httpd *h = c->h;
	void *cbarg = NULL;
	char *addr = NULL;
	uint16_t port = 0;

	/* evhttp created its connection with our bufferevent right after the
	** bevcb and made itself the callback argument.  No argument: evhttp
	** already freed the connection (a handshake can fail before this timer
	** runs; bufferevent_free clears the callbacks) and the bufferevent
	** awaits finalization, which will run conn_ssl_free_hook. */
	bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
	if (!cbarg) {
		c->state = CONN_CLOSED;
		return;
	}
	c->evcon = cbarg;
	evhttp_connection_set_closecb(c->evcon, conn_closecb, c);
	evhttp_connection_get_peer(c->evcon, &addr, &port);
	if (addr)
		snprintf(c->peer, sizeof(c->peer), "%s", addr);
	if (c->refuse) {
		log_warnx("client %s: connection refused, %u open (cap %u)", conn_peer(c),
		          h->nconns, h->cfg.max_connections);
		conn_close(c);
		return;
	}
	/* TLS writes a reply as several records; with Nagle on, the last one
	** waits for the client's delayed ACK (40 ms per call).  Send at once. */
	{
		int one = 1;
		evutil_socket_t fd = bufferevent_getfd(c->bev);

		if (fd >= 0)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		conn_arm(c, CONN_RECEIVING, h->cfg.request_timeout_ms);
	else
		conn_arm(c, CONN_IDLE, h->cfg.idle_timeout_ms);
}

static void
conn_408_writecb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_close(c);
}

static void
conn_408_eventcb(struct bufferevent *bev, short what, void *arg)
{
	conn_close(arg);
}

/* Answer 408 ourselves (evhttp gives no handle on a half-read request) and
** close once it is flushed or after HTTPD_CLOSE_FLUSH_MS. */
static void
conn_send_408(struct conn *c)
{
	static const char msg[] = "HTTP/1.1 408 Request Timeout\r\n"
	                          "Connection: close\r\n"
	                          "Content-Type: text/plain\r\n"
	                          "Content-Length: 16\r\n"
	                          "\r\n"
	                          "request timeout\n";
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (evbuffer_get_length(out) > 0) {
		/* evhttp is already sending an error reply; do not interleave. */
		conn_close(c);
		return;
	}
	bufferevent_setcb(c->bev, NULL, conn_408_writecb, conn_408_eventcb, c);
	bufferevent_disable(c->bev, EV_READ);
	conn_arm(c, CONN_CLOSING, HTTPD_CLOSE_FLUSH_MS);
	bufferevent_write(c->bev, msg, sizeof(msg) - 1);
	bufferevent_enable(c->bev, EV_WRITE);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct httpd *h = c->h;

	if (!h)
		return;
	switch (c->state) {
	case CONN_ADOPTING:
		conn_adopt(c);
		break;
	case CONN_IDLE:
		log_debug("client %s: idle for %u ms, closing", conn_peer(c),
		          h->cfg.idle_timeout_ms);
		conn_close(c);
		break;
	case CONN_RECEIVING:
		log_warnx("client %s: request not complete within %u ms, closing", conn_peer(c),
		          h->cfg.request_timeout_ms);
		conn_send_408(c);
		break;
	case CONN_WRITING:
		log_warnx("client %s: reply not taken within %u ms, closing", conn_peer(c),
		          h->cfg.idle_timeout_ms);
		conn_close(c);
		break;
	case CONN_CLOSING:
		conn_close(c);
		break;
	case CONN_HANDLING:
	case CONN_CLOSED:
		break;
	}
}

/* Decrypted bytes arrived (or were drained by evhttp). */
static void
conn_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	/* Before adoption the adoption timer looks at the buffer itself. */
	if (!c->h || info->n_added == 0)
		return;
	if (c->state == CONN_IDLE)
		conn_arm(c, CONN_RECEIVING, c->h->cfg.request_timeout_ms);
}

static struct bufferevent *
httpd_bevcb(struct event_base *base, void *arg)
{
	struct httpd *h = arg;
	struct conn *c = xcalloc(1, sizeof(*c));
	SSL *ssl = SSL_new(h->ctx);
	struct timeval zero = {0, 0};

	/* Returning NULL would make evhttp serve plain HTTP: never do it. */
	if (!ssl)
		fatalx("api: SSL_new failed (out of memory)");
	c->h = h;
	c->refuse = h->nconns >= h->cfg.max_connections;
	c->state = CONN_ADOPTING;
	c->timer = evtimer_new(base, conn_timer_cb, c);
	if (!c->timer)
		fatalx("api: evtimer_new failed (out of memory)");
	c->next = h->conns;
	if (h->conns)
		h->conns->prev = c;
	h->conns = c;
	h->nconns++;
	/* From here the SSL object owns c: freeing it frees c. */
	SSL_set_ex_data(ssl, conn_ex_index, c);
	c->bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                        BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		SSL_free(ssl);
		fatalx("api: bufferevent_openssl_socket_new failed (out of memory)");
	}
	evbuffer_add_cb(bufferevent_get_input(c->bev), conn_input_cb, c);
	evtimer_add(c->timer, &zero);
	return c->bev;
}

static struct conn *
conn_of(struct evhttp_request *ev)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;

	return ssl ? SSL_get_ex_data(ssl, conn_ex_index) : NULL;
}

/* While a deferred request is pending, keep reading so that EOF is seen. */
static void
pending_readcb(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_input(bev)) > HTTPD_PIPELINE_MAX)
		bufferevent_disable(bev, EV_READ);
}

static void
pending_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_close(c);
}

static const char *
method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_TRACE:
		return "TRACE";
	case EVHTTP_REQ_CONNECT:
		return "CONNECT";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	}
	return "UNKNOWN";
}

/* evhttp read a whole request. */
static void
httpd_gencb(struct evhttp_request *ev, void *arg)
{
	struct httpd *h = arg;
	struct conn *c = conn_of(ev);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	struct evbuffer *in = evhttp_request_get_input_buffer(ev);
	struct httpd_req *r;
	const char *p;

	/* A request needs I/O, which comes after the adoption timer. */
	if (NEVER(c == NULL || c->evcon == NULL || c->state != CONN_RECEIVING)) {
		evhttp_send_error(ev, HTTP_INTERNAL, NULL);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->conn = c;
	r->ev = ev;
	p = uri ? evhttp_uri_get_path(uri) : NULL;
	r->path = xstrdup(p && *p ? p : "/");
	p = uri ? evhttp_uri_get_query(uri) : NULL;
	r->query = p ? xstrdup(p) : NULL;
	r->len = evbuffer_get_length(in);
	r->body = xmalloc(r->len + 1);
	if (r->len)
		evbuffer_copyout(in, r->body, r->len);
	r->body[r->len] = '\0';
	c->pending = r;
	conn_arm(c, CONN_HANDLING, 0);

	h->handler(h->arg, r);

	if (c->pending && c->evcon) {
		/* Deferred: watch for the client leaving.  evhttp_send_reply
		** installs evhttp's callbacks again. */
		bufferevent_setcb(c->bev, pending_readcb, NULL, pending_eventcb, c);
		bufferevent_enable(c->bev, EV_READ);
	}
}

static void
reply_complete_cb(struct evhttp_request *ev, void *arg)
{
	struct conn *c = arg;

	if (!c->h || !c->evcon)
		return;
	/* evhttp may now free the connection (Connection: close); if it
	** does, conn_closecb stops the timer again. */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		conn_arm(c, CONN_RECEIVING, c->h->cfg.request_timeout_ms);
	else
		conn_arm(c, CONN_IDLE, c->h->cfg.idle_timeout_ms);
}

void
httpd_reply(struct httpd_req *r, int status, const char *content_type, const char *body, size_t len)
{
	struct conn *c = r->conn;
	struct evhttp_request *ev = r->ev;
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(ev);
	struct evbuffer *out = evbuffer_new();

	ha_assert(c->pending == r);
	if (!out)
		fatalx("api: evbuffer_new failed (out of memory)");
	if (content_type)
		evhttp_add_header(hdr, "Content-Type", content_type);
	evhttp_add_header(hdr, "Access-Control-Allow-Origin", "*");
	if (evhttp_request_get_command(ev) == EVHTTP_REQ_OPTIONS) {
		/* A CORS preflight: say what the API endpoints accept. */
		evhttp_add_header(hdr, "Access-Control-Allow-Methods", "POST, OPTIONS");
		evhttp_add_header(hdr, "Access-Control-Allow-Headers", "Content-Type");
	}
	if (len)
		evbuffer_add(out, body, len);
	c->pending = NULL;
	req_free(r);
	evhttp_request_set_on_complete_cb(ev, reply_complete_cb, c);
	conn_arm(c, CONN_WRITING, c->h ? c->h->cfg.idle_timeout_ms : 0);
	evhttp_send_reply(ev, status, NULL, out);
	evbuffer_free(out);
}

void
httpd_req_on_abort(struct httpd_req *r, void (*fn)(void *arg), void *arg)
{
	r->abort_fn = fn;
	r->abort_arg = arg;
}

const char *
httpd_req_method(const struct httpd_req *r)
{
	return method_name(evhttp_request_get_command(r->ev));
}

const char *
httpd_req_path(const struct httpd_req *r)
{
	return r->path;
}

const char *
httpd_req_query(const struct httpd_req *r)
{
	return r->query;
}

const char *
httpd_req_header(const struct httpd_req *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

const char *
httpd_req_body(const struct httpd_req *r, size_t *len)
{
	if (len)
		*len = r->len;
	return r->body;
}

const char *
httpd_req_peer(const struct httpd_req *r)
{
	return conn_peer(r->conn);
}

void
httpd_config_defaults(struct httpd_config *cfg)
{
	if (!cfg->address)
		cfg->address = "0.0.0.0";
	if (!cfg->max_body)
		cfg->max_body = 1u << 20;
	if (!cfg->request_timeout_ms)
		cfg->request_timeout_ms = 10000;
	if (!cfg->idle_timeout_ms)
		cfg->idle_timeout_ms = 60000;
	if (!cfg->max_connections)
		cfg->max_connections = 256;
}

static void
ssl_errstr(char *err, size_t errlen, const char *what, const char *path)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256] = "unknown error";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	snprintf(err, errlen, "%s %s: %s", what, path, buf);
}

/* A fresh server context with our protocol settings and the given files. */
static SSL_CTX *
ctx_load(const char *cert_path, const char *key_path, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		ssl_errstr(err, errlen, "cannot create TLS context for", cert_path);
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, httpd_ciphers) != 1) {
		ssl_errstr(err, errlen, "cannot configure TLS for", cert_path);
		goto fail;
	}
	/* Client-initiated renegotiation is a cheap CPU attack; compression
	** leaks secrets (CRIME). */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		ssl_errstr(err, errlen, "cannot load certificate", cert_path);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) {
		ssl_errstr(err, errlen, "cannot load private key", key_path);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "private key %s does not match certificate %s", key_path,
		         cert_path);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

struct httpd *
httpd_new(struct event_base *base, const struct httpd_config *cfg, httpd_handler handler, void *arg,
          char *err, size_t errlen)
{
	struct httpd *h = xcalloc(1, sizeof(*h));
	struct evhttp_bound_socket *bs;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (conn_ex_index < 0) {
		conn_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_ssl_free_hook);
		if (conn_ex_index < 0) {
			snprintf(err, errlen, "cannot allocate an OpenSSL ex_data index");
			goto fail;
		}
	}
	h->base = base;
	h->cfg = *cfg;
	httpd_config_defaults(&h->cfg);
	h->address = xstrdup(h->cfg.address);
	h->cert_path = xstrdup(cfg->cert_path ? cfg->cert_path : "");
	h->key_path = xstrdup(cfg->key_path ? cfg->key_path : "");
	h->cfg.address = h->address;
	h->cfg.cert_path = h->cert_path;
	h->cfg.key_path = h->key_path;
	h->handler = handler;
	h->arg = arg;
	h->ctx = ctx_load(h->cert_path, h->key_path, err, errlen);
	if (!h->ctx)
		goto fail;
	h->http = evhttp_new(base);
	if (!h->http) {
		snprintf(err, errlen, "cannot create the HTTP server");
		goto fail;
	}
	evhttp_set_max_body_size(h->http, (ev_ssize_t)h->cfg.max_body);
	evhttp_set_max_headers_size(h->http, HTTPD_MAX_HEADERS);
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                        EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_bevcb(h->http, httpd_bevcb, h);
	evhttp_set_gencb(h->http, httpd_gencb, h);
	bs = evhttp_bind_socket_with_handle(h->http, h->address, h->cfg.port);
	if (!bs) {
		snprintf(err, errlen, "cannot listen on %s port %u: %s", h->address,
		         (unsigned)h->cfg.port, strerror(errno));
		goto fail;
	}
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			h->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			h->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	log_info("API listening on %s port %u", h->address, (unsigned)h->port);
	return h;
fail:
	httpd_free(h);
	return NULL;
}

void
httpd_free(struct httpd *h)
{
	struct conn *c, *next;

	if (!h)
		return;
	/* Frees every connection: close callbacks run and abort pending
	** requests.  The bufferevents (and so the SSL free hook) are
	** finalized later by libevent; detach them from h first... */
	if (h->http)
		evhttp_free(h->http);
	/* ...here, once evhttp no longer needs them. */
	for (c = h->conns; c; c = next) {
		next = c->next;
		ha_assert(c->pending == NULL);
		if (c->timer)
			event_free(c->timer);
		c->timer = NULL;
		c->h = NULL;
		c->prev = c->next = NULL;
	}
	SSL_CTX_free(h->ctx);
	xfree(h->address);
	xfree(h->cert_path);
	xfree(h->key_path);
	xfree(h);
}

uint16_t
httpd_port(const struct httpd *h)
{
	return h->port;
}

unsigned
httpd_connections(const struct httpd *h)
{
	return h->nconns;
}

int
httpd_reload_cert(struct httpd *h, char *err, size_t errlen)
{
	SSL_CTX *ctx = ctx_load(h->cert_path, h->key_path, err, errlen);

	if (!ctx)
		return -1;
	/* Open connections hold their own reference to the old context. */
	SSL_CTX_free(h->ctx);
	h->ctx = ctx;
	log_notice("API certificate %s reloaded", h->cert_path);
	return 0;
}
