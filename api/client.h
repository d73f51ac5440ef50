/*
** The XAPI client used by the `hasvc` CLI: JSON-RPC 2.0 over HTTPS (libcurl),
** one connection reused for every call (keep-alive), and a session.
**
** A client talks to one server: https://HOST:PORT/jsonrpc.  TLS 1.2 or later;
** the server's certificate is verified against `cacert` (or the system's CA
** store when cacert is NULL) unless `verify` is 0.
**
** Every call ends one of four ways: CLIENT_OK with a result the caller owns;
** CLIENT_EAPI, the server answered with a XAPI error (client_error() is its
** ErrorDescription, [code, params...]); CLIENT_ETLS, the certificate was
** refused or the TLS handshake failed; CLIENT_ECONN, no usable answer
** (connection refused, timeout, an HTTP status other than 200, a body that is
** not a JSON-RPC response).  client_errmsg() is one sentence for the last
** two.  CLIENT_EABORT: the abort flag was raised while the call was waiting.
**
** Not thread-safe: one client per thread.  The process calls
** curl_global_init() through the first client_new(), which must therefore run
** before any other thread exists (true of a CLI).
*/
#ifndef HASVC_API_CLIENT_H
#define HASVC_API_CLIENT_H

#include <signal.h>

#include "api/xval.h"

#define CLIENT_OK     0
#define CLIENT_EAPI   -1
#define CLIENT_ECONN  -2
#define CLIENT_ETLS   -3
#define CLIENT_EABORT -4

/* Largest response body accepted: a get_all_records of thousands of VMs. */
#define CLIENT_MAX_BODY (256u << 20)

struct client_opts {
	const char *host;   /* name or address; an IPv6 literal needs no brackets */
	int port;           /* 1..65535 */
	const char *cacert; /* PEM file of trusted certificates; NULL: system store */
	int verify;         /* 0: accept any certificate (self-signed first start) */
	long timeout_s;     /* whole-call timeout, 0 for the default (60 s) */
};

struct client;

/* The strings in `opts` are copied. */
struct client *client_new(const struct client_opts *opts);
/* Logs the session out (best effort) if there is one.  NULL: no-op. */
void client_free(struct client *c);

/* session.login_with_password(user, password, "1.1", "hasvc").  A pool member
** answers HOST_IS_SLAVE [master]: the client then moves to the master's
** address (same port) and logs in there, once, as xe does. */
int client_login(struct client *c, const char *user, const char *password);
/* session.slave_local_login_with_password(user, password): a session on
** this host itself, pool member or not (for reading its own state). */
int client_login_local(struct client *c, const char *user, const char *password);
/* session.logout; the session is forgotten even when the call fails. */
int client_logout(struct client *c);

/* Call `method`.  `params` (an XVAL_ARRAY or NULL for none) is taken over;
** when logged in the session ref is put in front of it.  On CLIENT_OK
** *result is the method's value (the caller frees it); otherwise *result is
** NULL. */
int client_call(struct client *c, const char *method, struct xval *params, struct xval **result);

/* The ErrorDescription of the last CLIENT_EAPI (borrowed, valid until the
** next call), or NULL. */
const struct xval *client_error(const struct client *c);
/* The first string of client_error() ("" if none). */
const char *client_error_code(const struct client *c);
/* One sentence about the last CLIENT_ECONN / CLIENT_ETLS / CLIENT_EABORT. */
const char *client_errmsg(const struct client *c);

/* Where the client now talks to (after a HOST_IS_SLAVE redirect too). */
const char *client_host(const struct client *c);

/* Change the whole-call timeout for the following calls (0: default). */
void client_set_timeout(struct client *c, long timeout_s);
/* While a call waits, a non-zero *flag (set by a signal handler) ends it with
** CLIENT_EABORT within about a second.  NULL: no abort. */
void client_set_abort(struct client *c, volatile sig_atomic_t *flag);

#endif
