/*
** The XAPI call mechanics: endpoints, decoding, the method table, sessions,
** roles, and encoding the answer.  api/ knows how to carry a call, not what
** it means: hasvc/ registers the handlers (DESIGN §3).
**
** Endpoints (rpc_handle_http is the httpd handler):
**   POST /, /RPC2, /xmlrpc   XML-RPC  (reply Content-Type text/xml)
**   POST /jsonrpc            JSON-RPC 1.0 and 2.0 (reply exactly application/json)
**   OPTIONS on those         204 with CORS headers
**   anything else            404 / 405
** A body that does not decode is answered 400 (JSON) or 500 (XML-RPC, as
** xapi) with a short text body; an API failure is HTTP 200 with a XAPI error
** (Status Failure / ErrorDescription, or JSON-RPC error {code 1, message,
** data}), exactly as xapi.
**
** Dispatch of "Class.method" with params p0..pn:
**   unknown method                 MESSAGE_METHOD_UNKNOWN [name]
**   wrong number of params         MESSAGE_PARAMETER_COUNT_MISMATCH [name, expected, given]
**   session param not a live ref   SESSION_INVALID [ref]
**   role below the method's        RBAC_PERMISSION_DENIED [permission, message]
**   a write on a pool member       HOST_IS_SLAVE [master address]
** then the handler runs with the params after the session.
**
** Built in: session.login_with_password (2 or 4 params; HOST_IS_SLAVE on a
** pool member; SESSION_AUTHENTICATION_FAILED [user, message]),
** session.slave_local_login_with_password (any host; a session there),
** session.logout, and system.listMethods (bare result, no Status wrapper).
**
** Sessions live in memory (a restart logs everyone out, as a xapi restart
** does for non-pool sessions), expire after an idle time, and are capped in
** number, in total and per user.  Failed logins are rate-limited per client address.  Password
** checks (PBKDF2, deliberately slow) run on a worker thread so that a login
** never stalls the event loop.
*/
#ifndef HASVC_API_RPC_H
#define HASVC_API_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "api/httpd.h"
#include "api/xval.h"
#include "lib/ids.h"

struct event_base;
struct rpc;
struct rpc_call;

enum rpc_role {
	RPC_ROLE_NONE = 0,
	RPC_ROLE_READ_ONLY,
	RPC_ROLE_POOL_OPERATOR, /* may change VM HA policy */
	RPC_ROLE_POOL_ADMIN,    /* everything */
};

/* "read-only", "pool-operator", "pool-admin"; -1 for an unknown name. */
const char *rpc_role_name(enum rpc_role r);
int rpc_role_from_name(const char *name);

struct rpc_session_info {
	char ref[HA_REF_LEN];
	char user[256];
	enum rpc_role role;
	char originator[128];
};

/* What the API needs from the layer above; every callback runs on the loop. */
typedef void (*rpc_handler)(void *arg, struct rpc_call *call);

struct rpc_hooks {
	void *arg;
	/* Look up a user: 0 found (hash and role filled), 1 unknown, -1 error. */
	int (*user_lookup)(void *arg, const char *user, char *hash, size_t hashlen,
			   enum rpc_role *role);
	/* NULL if this host is the pool master, else the master's address (for
	** HOST_IS_SLAVE). */
	const char *(*master_address)(void *arg);
	/* Optional: every RPC_WRITE call that passed the checks goes here
	** instead of straight to its handler; the layer above runs fn(fnarg, c)
	** itself (e.g. capturing the database writes it makes, holding the
	** answer with rpc_call_hold until they are replicated). */
	void (*write)(void *arg, struct rpc_call *c, rpc_handler fn, void *fnarg);
	/* Optional: 0 while this host cannot answer from current state (a pool
	** member catching up): every method without RPC_ALWAYS is answered
	** HOST_STILL_BOOTING, which clients retry. */
	int (*serving)(void *arg);
};

struct rpc_config {
	unsigned session_idle_s;    /* default 86400, as xapi */
	unsigned max_sessions;      /* default 400, as xapi */
	/* Default 50; a login of a user at it evicts that user's own least
	** recently used session (never someone else's). */
	unsigned max_sessions_per_user;
	unsigned login_failures;    /* failed logins allowed per address ... */
	unsigned login_window_s;    /* ... per this window before refusing; defaults 5 / 60 */
	size_t max_body;            /* decode cap, default 1 MiB */
	unsigned max_logins;        /* password checks queued or running, all clients
				    ** together (default 64); beyond it logins fail at once */
};

void rpc_config_defaults(struct rpc_config *cfg);

struct rpc *rpc_new(struct event_base *base, const struct rpc_config *cfg,
		    const struct rpc_hooks *hooks);
/* Fails every pending call, drops every session.  rpc_free(NULL): no-op. */
void rpc_free(struct rpc *rpc);

/* The httpd handler: pass rpc as its arg. */
void rpc_handle_http(void *rpc, struct httpd_req *req);

/* Exactly rpc_handle_http's path without HTTP, for tests and the CLI: the
** answer (status, content type, body; borrowed for the callback only) goes
** to done(arg, ...), now or later, once -- or never if the request is
** aborted first.  body need not be NUL-terminated. */
void rpc_handle_raw(struct rpc *rpc, const char *http_method, const char *path, const char *body,
		    size_t len, const char *peer,
		    void (*done)(void *arg, int status, const char *content_type,
				 const char *body, size_t len),
		    void *arg);
/* The raw client(s) that passed `arg` went away, as a closed connection
** does for rpc_handle_http: their pending calls are aborted and done is
** not called for them. */
void rpc_raw_abort(struct rpc *rpc, void *arg);

/* ---- the method table ---- */

enum {
	RPC_NO_SESSION = 1 << 0, /* no session param (login, system.listMethods) */
	RPC_WRITE = 1 << 1,      /* changes state: refused on pool members, runs through hooks.write */
	RPC_MASTER_ONLY = 1 << 2, /* refused on pool members (HOST_IS_SLAVE), but writes nothing */
	RPC_ALWAYS = 1 << 3,      /* answered even while not serving (logins, status) */
};

struct rpc_method {
	const char *name;   /* "VM.set_order" */
	int min_params;     /* not counting the session */
	int max_params;
	unsigned flags;
	enum rpc_role role; /* least role allowed to call it */
	rpc_handler fn;
	void *arg;
	/* Optional NULL-terminated names of the params after the session, for
	** FIELD_TYPE_ERROR [name]; without them the error names the index. */
	const char *const *param_names;
};

/* Register a method (the struct is copied; name must stay valid).  -1 if
** the name is already taken. */
int rpc_register(struct rpc *rpc, const struct rpc_method *m);

/* ---- inside a handler ---- */

size_t rpc_call_nparams(const struct rpc_call *c);
/* Param i after the session (borrowed; valid until the call completes). */
const struct xval *rpc_call_param(const struct rpc_call *c, size_t i);
/* The caller's session; NULL for RPC_NO_SESSION methods. */
const struct rpc_session_info *rpc_call_session(const struct rpc_call *c);
const char *rpc_call_method(const struct rpc_call *c);
const char *rpc_call_peer(const struct rpc_call *c);

/* Complete a call, exactly once, now or later.  rpc_reply takes ownership of
** `result`; rpc_fail takes a XAPI error code and string params ending with
** NULL; rpc_fail_xval takes ownership of an array [code, params...]. */
void rpc_reply(struct rpc_call *c, struct xval *result);
void rpc_fail(struct rpc_call *c, const char *code, ...) __attribute__((sentinel));
void rpc_fail_xval(struct rpc_call *c, struct xval *error);

/* Holding an answer: after rpc_call_hold(c), completing the call (rpc_reply,
** rpc_fail...) keeps the answer instead of sending it; rpc_call_release()
** sends the kept answer (or, if the handler has not answered yet, lets its
** answer go straight out when it comes), and rpc_call_release_fail() sends
** the given XAPI error instead of it.  A held call is never freed before its
** release, even if its client goes away (then nothing is sent), so the
** holder's pointer stays valid.  rpc_call_completed(): answered while held.
** Release every held call before rpc_free(). */
void rpc_call_hold(struct rpc_call *c);
void rpc_call_release(struct rpc_call *c);
void rpc_call_release_fail(struct rpc_call *c, const char *code, ...) __attribute__((sentinel));
int rpc_call_completed(const struct rpc_call *c);

/* A deferred call learns that its client went away: fn runs once, after
** which the call is freed by rpc and must not be completed. */
void rpc_call_on_abort(struct rpc_call *c, void (*fn)(void *arg), void *arg);

/* Param helpers for handlers: each returns 0 and fills *out, or completes the
** call with the right XAPI error (e.g. FIELD_TYPE_ERROR / INVALID_VALUE /
** HANDLE_INVALID) and returns -1, after which the handler must just return. */
int rpc_param_string(struct rpc_call *c, size_t i, const char **out);
int rpc_param_int(struct rpc_call *c, size_t i, int64_t *out);
int rpc_param_bool(struct rpc_call *c, size_t i, int *out);
/* A ref "OpaqueRef:<uuid>" of class `cls` (used in HANDLE_INVALID [cls, ref]). */
int rpc_param_ref(struct rpc_call *c, size_t i, const char *cls, char uuid[HA_UUID_LEN]);

/* ---- sessions, for the layer above ---- */

/* Drop every session of `user` (user removed, role or password changed), and
** refuse the logins of `user` whose password is still being checked: they
** were looked up before the change. */
void rpc_sessions_drop_user(struct rpc *rpc, const char *user);
/* The event_base rpc runs on (handlers that defer work start it there). */
struct event_base *rpc_event_base(const struct rpc *rpc);
unsigned rpc_session_count(const struct rpc *rpc);

#endif
