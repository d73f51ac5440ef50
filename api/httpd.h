/*
** The HTTPS transport of the API (libevent evhttp + bufferevent_openssl).
**
** httpd carries requests; it does not know what they mean.  It accepts TLS
** 1.2+ connections on one address, reads each request (bounded in size and
** time), and hands it to one handler function with the request still open;
** the handler answers with httpd_reply() at once or later (long polls such as
** event.from).  Everything runs on the caller's event_base: no thread, no
** blocking call, so a slow or malicious client can never stall the loop that
** also pets the watchdog.
**
** Limits (httpd_config): request body size (larger: 413 and close), time to
** receive a complete request once its first byte arrived (slowloris: 408 and
** close), keep-alive idle time, and a cap on concurrent connections (beyond
** it new connections are closed at once).  A client that speaks plain HTTP
** to the TLS port fails the handshake and is closed.
**
** The process must ignore SIGPIPE (hasvcd does): OpenSSL writes to sockets
** with write(2), and a client that vanishes mid-reply must not kill us.
*/
#ifndef HASVC_API_HTTPD_H
#define HASVC_API_HTTPD_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct httpd;
struct httpd_req;

struct httpd_config {
	const char *address;       /* IPv4/IPv6 literal to bind */
	uint16_t port;             /* 0 = any free port (tests); see httpd_port() */
	const char *cert_path;     /* PEM certificate (+ chain) */
	const char *key_path;      /* PEM private key */
	size_t max_body;           /* default 1 MiB */
	unsigned request_timeout_ms; /* whole request must arrive within this; default 10 s */
	unsigned idle_timeout_ms;  /* keep-alive idle; default 60 s */
	unsigned max_connections;  /* default 256 */
};

/* Called once per complete request; must eventually call httpd_reply(). */
typedef void (*httpd_handler)(void *arg, struct httpd_req *req);

/* Fill defaults for every zero field. */
void httpd_config_defaults(struct httpd_config *cfg);

/* Listen and serve on `base`.  NULL with a sentence in err[] on failure
** (cannot bind, cannot load certificate or key, key does not match). */
struct httpd *httpd_new(struct event_base *base, const struct httpd_config *cfg,
			httpd_handler handler, void *arg, char *err, size_t errlen);
/* Close the listener and every connection; pending requests are dropped
** (their abort callbacks run).  httpd_free(NULL) is a no-op. */
void httpd_free(struct httpd *h);

/* The bound port (useful with port 0). */
uint16_t httpd_port(const struct httpd *h);

/* Load the certificate and key files again (after an install); new
** connections use them, open ones keep theirs.  -1 with err[] on failure,
** in which case the old ones stay in use. */
int httpd_reload_cert(struct httpd *h, char *err, size_t errlen);

/* Number of open connections (for metrics and tests). */
unsigned httpd_connections(const struct httpd *h);

/* Request accessors; strings live until httpd_reply(). */
const char *httpd_req_method(const struct httpd_req *r); /* "POST", "GET", "OPTIONS", ... */
const char *httpd_req_path(const struct httpd_req *r);   /* without the query string */
const char *httpd_req_query(const struct httpd_req *r);  /* raw, after '?'; NULL if none */
const char *httpd_req_header(const struct httpd_req *r, const char *name); /* NULL if absent */
const char *httpd_req_body(const struct httpd_req *r, size_t *len); /* NUL-terminated copy */
const char *httpd_req_peer(const struct httpd_req *r); /* "ADDR" of the client */

/* Answer and release the request.  `body` is copied.  Adds
** Access-Control-Allow-Origin: *, as xapi does, and to an OPTIONS request
** Access-Control-Allow-Methods/-Headers for a CORS preflight. */
void httpd_reply(struct httpd_req *r, int status, const char *content_type, const char *body,
		 size_t len);

/* Called (once) if the connection closes before httpd_reply(); the request
** is then released by httpd and must not be used again. */
void httpd_req_on_abort(struct httpd_req *r, void (*fn)(void *arg), void *arg);

#endif
