/*
** The XAPI call mechanics (see rpc.h): routing, decoding, the method table,
** sessions, roles, login rate limiting, and encoding answers.
**
** Everything runs on the loop thread of the event_base given to rpc_new();
** the only other thread involved is passwd's worker, which talks back
** through its own loop-side event.
**
** Lifetimes.  A request becomes a struct rpc_call, kept on rpc->calls until
** it completes (rpc_reply / rpc_fail*), which encodes the answer, sends it
** to the sink (an httpd request or a raw `done` callback) and frees the call.
** If the client goes away first: a call with an abort callback gets it and
** is freed at once (the handler has promised to forget it); a call without
** one is kept, marked gone, and its later completion is discarded.  Nothing
** is ever written to a sink after its client went away.
**
** Sessions are kept most recently used first, so the idle sweep and the
** eviction at the cap (the least recently used session goes, see
** rpc_session_new) both work from the tail.
*/
#include "api/rpc.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "api/jsonrpc.h"
#include "api/passwd.h"
#include "api/xmlrpc.h"
#include "lib/check.h"
#include "lib/clock.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/*
** httpd is referenced weakly: only httpd itself calls rpc_handle_http, so a
** program that links rpc without the TLS server (the unit tests, which use
** rpc_handle_raw) never reaches these calls and need not pull httpd in.
*/
#pragma weak httpd_req_method
#pragma weak httpd_req_path
#pragma weak httpd_req_body
#pragma weak httpd_req_peer
#pragma weak httpd_reply
#pragma weak httpd_req_on_abort

#define RPC_AUTH_FAILED  "SESSION_AUTHENTICATION_FAILED"
#define RPC_AUTH_MESSAGE "Authentication failure"
#define RPC_MAX_PEERS    4096 /* rate-limit table bound */
#define RPC_SWEEP_MAX_S  60   /* the idle sweep runs at least this often */

/*
** Compared in constant time against any password given for an unknown user,
** so that "no such user" takes as long as "wrong password".  It is the hash
** of a random string nobody knows.
*/
static const char rpc_dummy_hash[] = "$pbkdf2-sha256$200000$a2dXVTbdc+J2Zm667EhkWA==$"
                                     "1SFTGZ75af9f1lBLh7bjrrq3H8Pr80Swo6XO87Aj8l4=";

enum rpc_proto {
	RPC_XML,
	RPC_JSON,
};

typedef void (*rpc_raw_done)(void *arg, int status, const char *content_type, const char *body,
                             size_t len);

/* Where an answer goes: exactly one of http / done is set until the client
** goes away, then neither. */
struct rpc_sink {
	struct httpd_req *http;
	rpc_raw_done done;
	void *arg;
};

struct rpc_session {
	struct rpc_session *prev, *next;
	struct rpc_session_info info;
	uint64_t last_ms;
};

/* Failed-login accounting for one client address. */
struct rpc_peer {
	struct rpc_peer *next;
	char addr[64];
	uint64_t start_ms; /* window start */
	unsigned failures; /* in this window */
	unsigned inflight; /* password checks running */
	int logged;        /* "refusing" logged in this window */
};

/* A login waiting for its password check.  Outlives rpc if need be: the
** check cannot be cancelled, so rpc_free only sets rpc to NULL. */
struct rpc_login {
	struct rpc_login *prev, *next;
	struct rpc *rpc;
	struct rpc_call *call; /* NULL once the client went away */
	char user[256];
	char peer[64];
	enum rpc_role role;
	int known;
	int stale; /* the user changed meanwhile: the lookup is out of date */
};

struct rpc_call {
	struct rpc_call *prev, *next;
	struct rpc *rpc;
	enum rpc_proto proto;
	int jversion;
	struct xval *id; /* JSON-RPC id */
	char *method;
	struct xval *params; /* every param, the session included */
	size_t first;        /* index of the first handler param */
	struct rpc_method m;
	int has_session;
	struct rpc_session_info session;
	char *peer;
	struct rpc_sink sink;
	int gone; /* client went away: discard the answer */
	void (*abort_fn)(void *arg);
	void *abort_arg;
	/* rpc_call_hold(): the answer is kept until rpc_call_release*(). */
	int held;
	int completed;         /* answered while held */
	enum rpc_shape_kept {
		KEPT_SUCCESS,
		KEPT_FAILURE,
		KEPT_BARE,
	} kept_shape;
	struct xval *kept;     /* the answer, while held */
	struct xval *override; /* rpc_call_release_fail() before the answer */
};

struct rpc {
	struct event_base *base;
	struct rpc_config cfg;
	struct rpc_hooks hooks;
	struct rpc_method *methods; /* sorted by name */
	size_t nmethods, capmethods;
	struct rpc_session *shead, *stail;
	unsigned nsessions;
	struct rpc_peer *peers;
	unsigned npeers;
	struct rpc_call *calls;
	struct rpc_login *logins;
	unsigned nlogins;   /* on logins */
	int logins_logged;  /* "too many checks" logged since the last one ended */
	struct event *sweep;
};

/* ---- roles ---- */

static const char *const rpc_role_names[] = {
    [RPC_ROLE_NONE] = "none",
    [RPC_ROLE_READ_ONLY] = "read-only",
    [RPC_ROLE_POOL_OPERATOR] = "pool-operator",
    [RPC_ROLE_POOL_ADMIN] = "pool-admin",
};

const char *
rpc_role_name(enum rpc_role r)
{
	if ((unsigned)r >= ARRAY_SIZE(rpc_role_names))
		return "unknown";
	return rpc_role_names[r];
}

int
rpc_role_from_name(const char *name)
{
	size_t i;

	for (i = RPC_ROLE_READ_ONLY; i < ARRAY_SIZE(rpc_role_names); i++)
		if (name && strcmp(name, rpc_role_names[i]) == 0)
			return (int)i;
	return -1;
}

/* ---- config ---- */

void
rpc_config_defaults(struct rpc_config *cfg)
{
	cfg->session_idle_s = 86400;
	cfg->max_sessions = 400;
	cfg->max_sessions_per_user = 50;
	cfg->login_failures = 5;
	cfg->login_window_s = 60;
	cfg->max_body = 1u << 20;
	cfg->max_logins = 64;
}

/* ---- answers ---- */

static void
rpc_sink_send(struct rpc_sink *s, int status, const char *ctype, const char *body, size_t len)
{
	if (s->http)
		httpd_reply(s->http, status, ctype, body, len);
	else if (s->done)
		s->done(s->arg, status, ctype, body, len);
	s->http = NULL;
	s->done = NULL;
}

static void
rpc_sink_text(struct rpc_sink *s, int status, const char *text)
{
	rpc_sink_send(s, status, "text/plain", text, strlen(text));
}

static void
rpc_call_unlink(struct rpc_call *c)
{
	struct rpc *rpc = c->rpc;

	if (c->prev)
		c->prev->next = c->next;
	else
		rpc->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/* Free a call that is not (or no longer) on rpc->calls. */
static void
rpc_call_destroy(struct rpc_call *c)
{
	xval_free(c->kept);
	xval_free(c->override);
	xval_free(c->id);
	xval_free(c->params);
	xfree(c->method);
	xfree(c->peer);
	xfree(c);
}

static void
rpc_call_free(struct rpc_call *c)
{
	rpc_call_unlink(c);
	rpc_call_destroy(c);
}

enum rpc_shape {
	RPC_SUCCESS,
	RPC_FAILURE,
	RPC_BARE,
};

static struct xval *rpc_error_v(const char *code, va_list ap);

/* Encode `v` in the call's protocol and send it, unless the client is gone. */
static void
rpc_send(struct rpc_call *c, enum rpc_shape shape, const struct xval *v)
{
	char *out = NULL;
	size_t len = 0;

	if (c->gone) {
		log_debug("rpc: %s from %s completed after its client went away; answer dropped",
		          c->method, c->peer);
		return;
	}
	if (c->proto == RPC_XML) {
		if (shape == RPC_FAILURE)
			out = xmlrpc_encode_failure(v, &len);
		else if (shape == RPC_BARE)
			out = xmlrpc_encode_bare(v, &len);
		else
			out = xmlrpc_encode_success(v, &len);
		rpc_sink_send(&c->sink, 200, "text/xml", out, len);
	} else {
		/* JSON-RPC has no bare form: xapi sends listMethods in the
		** ordinary envelope. */
		if (shape == RPC_FAILURE)
			out = jsonrpc_encode_failure(c->jversion, c->id, v, &len);
		else
			out = jsonrpc_encode_success(c->jversion, c->id, v, &len);
		rpc_sink_send(&c->sink, 200, "application/json", out, len);
	}
	free(out);
}

static void
rpc_complete(struct rpc_call *c, enum rpc_shape shape, const struct xval *v)
{
	if (c->override != NULL) {
		struct xval *e = c->override;

		c->override = NULL;
		rpc_send(c, RPC_FAILURE, e);
		xval_free(e);
		rpc_call_free(c);
		return;
	}
	if (c->held) {
		ha_assert(!c->completed);
		c->completed = 1;
		c->kept_shape = (enum rpc_shape_kept)shape;
		c->kept = xval_copy(v);
		return;
	}
	rpc_send(c, shape, v);
	rpc_call_free(c);
}

void
rpc_call_hold(struct rpc_call *c)
{
	c->held = 1;
}

void
rpc_call_release(struct rpc_call *c)
{
	struct xval *v;

	ha_assert(c->held);
	c->held = 0;
	if (!c->completed)
		return; /* the handler answers later, directly */
	v = c->kept;
	c->kept = NULL;
	rpc_send(c, (enum rpc_shape)c->kept_shape, v);
	xval_free(v);
	rpc_call_free(c);
}

void
rpc_call_release_fail(struct rpc_call *c, const char *code, ...)
{
	va_list ap;
	struct xval *e;

	ha_assert(c->held);
	va_start(ap, code);
	e = rpc_error_v(code, ap);
	va_end(ap);
	c->held = 0;
	if (!c->completed) {
		xval_free(c->override);
		c->override = e; /* replaces whatever the handler answers */
		return;
	}
	xval_free(c->kept);
	c->kept = NULL;
	rpc_send(c, RPC_FAILURE, e);
	xval_free(e);
	rpc_call_free(c);
}

int
rpc_call_completed(const struct rpc_call *c)
{
	return c->completed;
}

void
rpc_reply(struct rpc_call *c, struct xval *result)
{
	rpc_complete(c, RPC_SUCCESS, result);
	xval_free(result);
}

static void
rpc_reply_bare(struct rpc_call *c, struct xval *result)
{
	rpc_complete(c, RPC_BARE, result);
	xval_free(result);
}

void
rpc_fail_xval(struct rpc_call *c, struct xval *error)
{
	ha_assert(xval_is(error, XVAL_ARRAY) && xval_len(error) >= 1);
	log_debug("rpc: %s from %s failed: %s", c->method, c->peer,
	          xval_string(xval_array_get(error, 0)));
	rpc_complete(c, RPC_FAILURE, error);
	xval_free(error);
}

static struct xval *
rpc_error_v(const char *code, va_list ap)
{
	struct xval *e = xval_new_array();
	const char *s;

	xval_array_append(e, xval_new_string(code));
	while ((s = va_arg(ap, const char *)) != NULL)
		xval_array_append(e, xval_new_string(s));
	return e;
}

void
rpc_fail(struct rpc_call *c, const char *code, ...)
{
	va_list ap;
	struct xval *e;

	va_start(ap, code);
	e = rpc_error_v(code, ap);
	va_end(ap);
	rpc_fail_xval(c, e);
}

void
rpc_call_on_abort(struct rpc_call *c, void (*fn)(void *arg), void *arg)
{
	c->abort_fn = fn;
	c->abort_arg = arg;
}

/* The client of `c` went away (connection closed, raw abort). */
static void
rpc_call_gone(struct rpc_call *c)
{
	c->sink.http = NULL;
	c->sink.done = NULL;
	c->gone = 1;
	if (c->abort_fn) {
		void (*fn)(void *) = c->abort_fn;

		c->abort_fn = NULL;
		fn(c->abort_arg);
		if (!c->held)
			rpc_call_free(c);
		else
			c->completed = 1; /* nothing to send; released later */
	}
	/* else: kept until the handler completes it (or, held, until it is
	** released); the answer is dropped */
}

static void
rpc_on_http_abort(void *arg)
{
	rpc_call_gone(arg);
}

void
rpc_raw_abort(struct rpc *rpc, void *arg)
{
	struct rpc_call *c;

again:
	for (c = rpc->calls; c; c = c->next) {
		if (!c->gone && !c->sink.http && c->sink.done && c->sink.arg == arg) {
			rpc_call_gone(c);
			goto again; /* the list may have changed under us */
		}
	}
}

/* ---- accessors ---- */

size_t
rpc_call_nparams(const struct rpc_call *c)
{
	size_t n = xval_len(c->params);

	return n > c->first ? n - c->first : 0;
}

const struct xval *
rpc_call_param(const struct rpc_call *c, size_t i)
{
	if (i >= rpc_call_nparams(c))
		return NULL;
	return xval_array_get(c->params, c->first + i);
}

const struct rpc_session_info *
rpc_call_session(const struct rpc_call *c)
{
	return c->has_session ? &c->session : NULL;
}

const char *
rpc_call_method(const struct rpc_call *c)
{
	return c->method;
}

const char *
rpc_call_peer(const struct rpc_call *c)
{
	return c->peer;
}

/* ---- param helpers ---- */

/* FIELD_TYPE_ERROR [field], as xapi's unmarshallers raise it: the param's
** name when the method declares names, else its index after the session. */
static void
rpc_fail_type(struct rpc_call *c, size_t i)
{
	const char *const *names = c->m.param_names;
	char idx[24];
	size_t k;

	for (k = 0; names && names[k]; k++)
		if (k == i) {
			rpc_fail(c, "FIELD_TYPE_ERROR", names[k], NULL);
			return;
		}
	snprintf(idx, sizeof(idx), "%zu", i);
	rpc_fail(c, "FIELD_TYPE_ERROR", idx, NULL);
}

static const struct xval *
rpc_param_get(struct rpc_call *c, size_t i)
{
	const struct xval *v = rpc_call_param(c, i);

	/* A handler asking past the params it was given is a bug of the
	** handler (min_params would have refused the call). */
	if (NEVER(!v))
		rpc_fail(c, "INTERNAL_ERROR", "parameter index out of range", NULL);
	return v;
}

int
rpc_param_string(struct rpc_call *c, size_t i, const char **out)
{
	const struct xval *v = rpc_param_get(c, i);

	if (!v)
		return -1;
	if (!xval_is(v, XVAL_STRING)) {
		rpc_fail_type(c, i);
		return -1;
	}
	*out = xval_string(v);
	return 0;
}

int
rpc_param_int(struct rpc_call *c, size_t i, int64_t *out)
{
	const struct xval *v = rpc_param_get(c, i);

	if (!v)
		return -1;
	if (xval_get_int64(v, out) < 0) {
		rpc_fail_type(c, i);
		return -1;
	}
	return 0;
}

int
rpc_param_bool(struct rpc_call *c, size_t i, int *out)
{
	const struct xval *v = rpc_param_get(c, i);

	if (!v)
		return -1;
	if (xval_is(v, XVAL_BOOL)) {
		*out = xval_bool(v);
		return 0;
	}
	/* ocaml-rpc also reads the strings "true"/"false" as bools. */
	if (xval_is(v, XVAL_STRING) && strcmp(xval_string(v), "true") == 0) {
		*out = 1;
		return 0;
	}
	if (xval_is(v, XVAL_STRING) && strcmp(xval_string(v), "false") == 0) {
		*out = 0;
		return 0;
	}
	rpc_fail_type(c, i);
	return -1;
}

int
rpc_param_ref(struct rpc_call *c, size_t i, const char *cls, char uuid[HA_UUID_LEN])
{
	const char *ref;

	if (rpc_param_string(c, i, &ref) < 0)
		return -1;
	if (id_ref_to_uuid(ref, uuid) < 0) {
		rpc_fail(c, "HANDLE_INVALID", cls, ref, NULL);
		return -1;
	}
	return 0;
}

/* ---- sessions ---- */

static void
rpc_session_unlink(struct rpc *rpc, struct rpc_session *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		rpc->shead = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		rpc->stail = s->prev;
	s->prev = s->next = NULL;
}

static void
rpc_session_push(struct rpc *rpc, struct rpc_session *s)
{
	s->prev = NULL;
	s->next = rpc->shead;
	if (rpc->shead)
		rpc->shead->prev = s;
	else
		rpc->stail = s;
	rpc->shead = s;
}

static void
rpc_session_drop(struct rpc *rpc, struct rpc_session *s, const char *why)
{
	log_info("session %s of user %s: closed (%s)", s->info.ref, s->info.user, why);
	rpc_session_unlink(rpc, s);
	rpc->nsessions--;
	xfree(s);
}

static int
rpc_session_expired(const struct rpc *rpc, const struct rpc_session *s, uint64_t now)
{
	return now - s->last_ms >= (uint64_t)rpc->cfg.session_idle_s * 1000;
}

/* The live session `ref`, touched (moved to the head); NULL if there is
** none or it has idled out (then it is dropped here, lazily). */
static struct rpc_session *
rpc_session_use(struct rpc *rpc, const char *ref, uint64_t now)
{
	struct rpc_session *s;

	for (s = rpc->shead; s; s = s->next)
		if (strcmp(s->info.ref, ref) == 0)
			break;
	if (!s)
		return NULL;
	if (rpc_session_expired(rpc, s, now)) {
		rpc_session_drop(rpc, s, "idle");
		return NULL;
	}
	s->last_ms = now;
	rpc_session_unlink(rpc, s);
	rpc_session_push(rpc, s);
	return s;
}

/*
** At the cap, the least recently used session is evicted rather than the
** login refused: a client that logs in and never logs out (xapi sees many)
** would otherwise lock every administrator out until the idle timeout.
** xapi makes the same choice (its session GC destroys the oldest).
**
** Successful logins are not rate-limited, so the global eviction alone would
** let any user, however unprivileged, log in max_sessions times and push
** every administrator out.  Hence the per-user cap, applied first: a user
** at max_sessions_per_user loses their own least recently used session,
** never someone else's.  The global cap then only bites when many users
** together exceed it.
*/
static struct rpc_session *
rpc_session_new(struct rpc *rpc, const char *user, enum rpc_role role, const char *originator,
                uint64_t now)
{
	struct rpc_session *s, *oldest;
	char uuid[HA_UUID_LEN];
	unsigned mine;

	for (;;) {
		mine = 0;
		oldest = NULL;
		for (s = rpc->shead; s; s = s->next)
			if (strcmp(s->info.user, user) == 0) {
				mine++;
				oldest = s; /* the list runs most recently used first */
			}
		if (mine < rpc->cfg.max_sessions_per_user || !oldest)
			break;
		rpc_session_drop(rpc, oldest, "per-user session cap reached, least recently used");
	}
	while (rpc->nsessions >= rpc->cfg.max_sessions && rpc->stail)
		rpc_session_drop(rpc, rpc->stail, "session cap reached, least recently used");
	s = xcalloc(1, sizeof(*s));
	id_uuid_new(uuid);
	id_ref_from_uuid(s->info.ref, uuid);
	snprintf(s->info.user, sizeof(s->info.user), "%s", user);
	snprintf(s->info.originator, sizeof(s->info.originator), "%s", originator);
	s->info.role = role;
	s->last_ms = now;
	rpc_session_push(rpc, s);
	rpc->nsessions++;
	return s;
}

void
rpc_sessions_drop_user(struct rpc *rpc, const char *user)
{
	struct rpc_session *s, *next;
	struct rpc_login *l;

	for (s = rpc->shead; s; s = next) {
		next = s->next;
		if (strcmp(s->info.user, user) == 0)
			rpc_session_drop(rpc, s, "user changed or removed");
	}
	/* A login being checked was looked up before the change: it must not
	** open a session with the old password or role once the check ends. */
	for (l = rpc->logins; l; l = l->next)
		if (strcmp(l->user, user) == 0)
			l->stale = 1;
}

struct event_base *
rpc_event_base(const struct rpc *rpc)
{
	return rpc->base;
}

unsigned
rpc_session_count(const struct rpc *rpc)
{
	return rpc->nsessions;
}

/* ---- failed-login accounting ---- */

static struct rpc_peer *
rpc_peer_find(struct rpc *rpc, const char *addr)
{
	struct rpc_peer *p;

	for (p = rpc->peers; p; p = p->next)
		if (strcmp(p->addr, addr) == 0)
			return p;
	return NULL;
}

static void
rpc_peer_roll(struct rpc *rpc, struct rpc_peer *p, uint64_t now)
{
	if (now - p->start_ms >= (uint64_t)rpc->cfg.login_window_s * 1000) {
		p->start_ms = now;
		p->failures = 0;
		p->logged = 0;
	}
}

/* Drop the entries with nothing to remember: window over, nothing running. */
static void
rpc_peer_sweep(struct rpc *rpc, uint64_t now)
{
	struct rpc_peer **pp = &rpc->peers, *p;

	while ((p = *pp) != NULL) {
		rpc_peer_roll(rpc, p, now);
		if (p->failures == 0 && p->inflight == 0) {
			*pp = p->next;
			rpc->npeers--;
			xfree(p);
		} else {
			pp = &p->next;
		}
	}
}

static struct rpc_peer *
rpc_peer_get(struct rpc *rpc, const char *addr, uint64_t now)
{
	struct rpc_peer *p = rpc_peer_find(rpc, addr);

	if (p) {
		rpc_peer_roll(rpc, p, now);
		return p;
	}
	if (rpc->npeers >= RPC_MAX_PEERS)
		rpc_peer_sweep(rpc, now);
	/* Still full: the table is under a spray of failing addresses; keep
	** counting the ones we have rather than growing without bound (a
	** new address then shares nothing and is simply not limited). */
	if (rpc->npeers >= RPC_MAX_PEERS)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	p->start_ms = now;
	p->next = rpc->peers;
	rpc->peers = p;
	rpc->npeers++;
	return p;
}

/* ---- the method table ---- */

static int
rpc_method_cmp(const void *key, const void *m)
{
	return strcmp(key, ((const struct rpc_method *)m)->name);
}

static const struct rpc_method *
rpc_method_find(const struct rpc *rpc, const char *name)
{
	if (!rpc->nmethods)
		return NULL;
	return bsearch(name, rpc->methods, rpc->nmethods, sizeof(*rpc->methods), rpc_method_cmp);
}

int
rpc_register(struct rpc *rpc, const struct rpc_method *m)
{
	size_t i;

	ha_assert(m->name && m->fn && m->min_params >= 0 && m->max_params >= m->min_params);
	for (i = 0; i < rpc->nmethods; i++) {
		int d = strcmp(m->name, rpc->methods[i].name);

		if (d == 0)
			return -1;
		if (d < 0)
			break;
	}
	if (rpc->nmethods == rpc->capmethods) {
		rpc->capmethods = rpc->capmethods ? 2 * rpc->capmethods : 64;
		rpc->methods = xreallocarray(rpc->methods, rpc->capmethods, sizeof(*rpc->methods));
	}
	memmove(&rpc->methods[i + 1], &rpc->methods[i],
	        (rpc->nmethods - i) * sizeof(*rpc->methods));
	rpc->methods[i] = *m;
	rpc->nmethods++;
	return 0;
}

/* ---- built-in methods ---- */

static void
rpc_login_unlink(struct rpc *rpc, struct rpc_login *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		rpc->logins = l->next;
	if (l->next)
		l->next->prev = l->prev;
	l->prev = l->next = NULL;
	ha_assert(rpc->nlogins > 0);
	rpc->nlogins--;
	rpc->logins_logged = 0;
}

static void
rpc_login_abort(void *arg)
{
	struct rpc_login *l = arg;

	l->call = NULL; /* rpc frees the call; the check's result is dropped */
}

static void
rpc_login_done(void *arg, int result)
{
	struct rpc_login *l = arg;
	struct rpc *rpc = l->rpc;
	struct rpc_call *c = l->call;
	struct rpc_peer *p;
	struct rpc_session *s;
	uint64_t now;
	const char *originator = "";

	if (!rpc) /* rpc_free ran meanwhile */
		goto out;
	rpc_login_unlink(rpc, l);
	now = clock_mono_ms();
	p = rpc_peer_find(rpc, l->peer);
	if (p && ALWAYS(p->inflight > 0))
		p->inflight--;
	if (l->known && result < 0)
		log_errx("user %s: stored password hash is malformed; login refused", l->user);
	if (l->stale)
		log_notice("user %s: changed while a login from %s was being checked; login refused",
		           l->user, l->peer);
	if (!l->known || result != 1 || l->role == RPC_ROLE_NONE || l->stale) {
		log_notice("user %s: failed login from %s", l->user, l->peer);
		if (p) {
			rpc_peer_roll(rpc, p, now);
			p->failures++;
		}
		if (c)
			rpc_fail(c, RPC_AUTH_FAILED, l->user, RPC_AUTH_MESSAGE, NULL);
		goto out;
	}
	if (!c) /* authenticated, but nobody is waiting for the session */
		goto out;
	if (rpc_call_nparams(c) >= 4 && xval_is(rpc_call_param(c, 3), XVAL_STRING))
		originator = xval_string(rpc_call_param(c, 3));
	s = rpc_session_new(rpc, l->user, l->role, originator, now);
	log_info("session %s: user %s (%s) logged in from %s", s->info.ref, l->user,
	         rpc_role_name(l->role), l->peer);
	rpc_reply(c, xval_new_string(s->info.ref));
out:
	xfree(l);
}

/* session.login_with_password(uname, pwd [, version, originator]).  A pool
** member has already answered HOST_IS_SLAVE (the method is RPC_MASTER_ONLY).
** Also session.slave_local_login_with_password(uname, pwd), which any host
** accepts: a session on this host alone, for reading its own state (xapi's
** emergency access to a pool member). */
static void
rpc_builtin_login(void *arg, struct rpc_call *c)
{
	struct rpc *rpc = arg;
	const char *user, *pw;
	char hash[PASSWD_HASH_LEN] = "";
	struct rpc_peer *p;
	struct rpc_login *l;
	uint64_t now = clock_mono_ms();
	size_t i;
	int rc;

	if (rpc_param_string(c, 0, &user) < 0 || rpc_param_string(c, 1, &pw) < 0)
		return;
	for (i = 2; i < rpc_call_nparams(c); i++)
		if (!xval_is(rpc_call_param(c, i), XVAL_STRING)) {
			rpc_fail_type(c, i);
			return;
		}
	p = rpc_peer_get(rpc, c->peer, now);
	if (p && p->failures + p->inflight >= rpc->cfg.login_failures) {
		if (!p->logged)
			log_warnx("client %s: %u failed logins within %u s; refusing its logins "
			          "until the window ends",
			          p->addr, p->failures, rpc->cfg.login_window_s);
		p->logged = 1;
		rpc_fail(c, RPC_AUTH_FAILED, user, RPC_AUTH_MESSAGE, NULL);
		return;
	}
	/* The per-address limit alone does not bound the checks: a check
	** outlives its client, and addresses beyond the table are not
	** counted.  Without this cap the worker queue (and its memory) grows
	** with every login sent from enough addresses. */
	if (rpc->nlogins >= rpc->cfg.max_logins) {
		if (!rpc->logins_logged)
			log_warnx("client %s: %u password checks already pending; refusing logins "
			          "until one ends",
			          c->peer, rpc->nlogins);
		rpc->logins_logged = 1;
		rpc_fail(c, RPC_AUTH_FAILED, user, RPC_AUTH_MESSAGE, NULL);
		return;
	}

	l = xcalloc(1, sizeof(*l));
	snprintf(l->user, sizeof(l->user), "%s", user);
	snprintf(l->peer, sizeof(l->peer), "%s", c->peer);
	rc = rpc->hooks.user_lookup
	         ? rpc->hooks.user_lookup(rpc->hooks.arg, user, hash, sizeof(hash), &l->role)
	         : 1;
	if (rc < 0) {
		xfree(l);
		rpc_fail(c, "INTERNAL_ERROR", "cannot read the user table", NULL);
		return;
	}
	l->known = rc == 0;
	if (passwd_verify_async(rpc->base, pw, l->known ? hash : rpc_dummy_hash, rpc_login_done,
	                        l) < 0) {
		xfree(l);
		rpc_fail(c, "INTERNAL_ERROR", "cannot check the password", NULL);
		return;
	}
	explicit_bzero(hash, sizeof(hash));
	if (p)
		p->inflight++;
	l->rpc = rpc;
	l->call = c;
	l->next = rpc->logins;
	if (rpc->logins)
		rpc->logins->prev = l;
	rpc->logins = l;
	rpc->nlogins++;
	rpc_call_on_abort(c, rpc_login_abort, l);
}

static void
rpc_builtin_logout(void *arg, struct rpc_call *c)
{
	struct rpc *rpc = arg;
	struct rpc_session *s;

	for (s = rpc->shead; s; s = s->next)
		if (strcmp(s->info.ref, c->session.ref) == 0) {
			rpc_session_drop(rpc, s, "logout");
			break;
		}
	rpc_reply(c, xval_new_string(""));
}

static void
rpc_builtin_list_methods(void *arg, struct rpc_call *c)
{
	struct rpc *rpc = arg;
	struct xval *a = xval_new_array();
	size_t i;

	for (i = 0; i < rpc->nmethods; i++)
		xval_array_append(a, xval_new_string(rpc->methods[i].name));
	rpc_reply_bare(c, a);
}

static const char *const rpc_login_params[] = {"uname", "pwd", "version", "originator", NULL};

static const struct rpc_method rpc_builtins[] = {
    {
        .name = "session.login_with_password",
        .min_params = 2,
        .max_params = 4,
        .flags = RPC_NO_SESSION | RPC_MASTER_ONLY | RPC_ALWAYS,
        .role = RPC_ROLE_NONE,
        .fn = rpc_builtin_login,
        .param_names = rpc_login_params,
    },
    {
        .name = "session.slave_local_login_with_password",
        .min_params = 2,
        .max_params = 2,
        .flags = RPC_NO_SESSION | RPC_ALWAYS,
        .role = RPC_ROLE_NONE,
        .fn = rpc_builtin_login,
        .param_names = rpc_login_params,
    },
    {
        .name = "session.logout",
        .min_params = 0,
        .max_params = 0,
        .flags = RPC_ALWAYS,
        .role = RPC_ROLE_READ_ONLY,
        .fn = rpc_builtin_logout,
    },
    {
        .name = "system.listMethods",
        .min_params = 0,
        .max_params = 0,
        .flags = RPC_NO_SESSION | RPC_ALWAYS,
        .role = RPC_ROLE_NONE,
        .fn = rpc_builtin_list_methods,
    },
};

/* ---- dispatch ---- */

/* RBAC_PERMISSION_DENIED [permission, message] as xapi words it: the
** permission is the method name in lower case, the message lists the roles
** that have it. */
static void
rpc_fail_rbac(struct rpc_call *c)
{
	char perm[256], msg[256], roles[128] = "";
	size_t i, n;
	int r;

	n = strlen(c->method);
	if (n >= sizeof(perm))
		n = sizeof(perm) - 1;
	for (i = 0; i < n; i++)
		perm[i] = (char)tolower((unsigned char)c->method[i]);
	perm[n] = '\0';
	for (r = RPC_ROLE_POOL_ADMIN; r >= (int)c->m.role && r > RPC_ROLE_NONE; r--) {
		size_t len = strlen(roles);

		snprintf(roles + len, sizeof(roles) - len, "%s%s", len ? ", " : "",
		         rpc_role_name((enum rpc_role)r));
	}
	snprintf(msg, sizeof(msg),
	         "No permission in user session. (Roles with this permission: %s)", roles);
	log_notice("session %s: user %s (%s) denied %s", c->session.ref, c->session.user,
	           rpc_role_name(c->session.role), c->method);
	rpc_fail(c, "RBAC_PERMISSION_DENIED", perm, msg, NULL);
}

static void
rpc_dispatch(struct rpc *rpc, struct rpc_call *c)
{
	const struct rpc_method *m = rpc_method_find(rpc, c->method);
	long given, after;
	int sess;

	if (!m) {
		rpc_fail(c, "MESSAGE_METHOD_UNKNOWN", c->method, NULL);
		return;
	}
	c->m = *m;
	sess = !(m->flags & RPC_NO_SESSION);
	given = (long)xval_len(c->params);
	/* As xapi's generated dispatcher: both counts leave the session out,
	** so a call missing even its session reports "-1" given. */
	after = given - sess;
	if (after < m->min_params || after > m->max_params) {
		char exp[24], got[24];

		snprintf(exp, sizeof(exp), "%d",
		         after < m->min_params ? m->min_params : m->max_params);
		snprintf(got, sizeof(got), "%ld", after);
		rpc_fail(c, "MESSAGE_PARAMETER_COUNT_MISMATCH", c->method, exp, got, NULL);
		return;
	}
	c->first = (size_t)sess;
	if (!(m->flags & RPC_ALWAYS) && rpc->hooks.serving != NULL &&
	    !rpc->hooks.serving(rpc->hooks.arg)) {
		rpc_fail(c, "HOST_STILL_BOOTING", NULL);
		return;
	}
	if (sess) {
		const struct xval *ref = xval_array_get(c->params, 0);
		struct rpc_session *s;

		if (!xval_is(ref, XVAL_STRING)) {
			rpc_fail(c, "FIELD_TYPE_ERROR", "session_id", NULL);
			return;
		}
		s = rpc_session_use(rpc, xval_string(ref), clock_mono_ms());
		if (!s) {
			rpc_fail(c, "SESSION_INVALID", xval_string(ref), NULL);
			return;
		}
		c->session = s->info;
		c->has_session = 1;
		if (s->info.role < m->role) {
			rpc_fail_rbac(c);
			return;
		}
	}
	if (m->flags & (RPC_WRITE | RPC_MASTER_ONLY)) {
		const char *master =
		    rpc->hooks.master_address ? rpc->hooks.master_address(rpc->hooks.arg) : NULL;

		if (master) {
			rpc_fail(c, "HOST_IS_SLAVE", master, NULL);
			return;
		}
	}
	/* The handler owns the call from here; c may be gone when it returns. */
	if ((m->flags & RPC_WRITE) && rpc->hooks.write != NULL)
		rpc->hooks.write(rpc->hooks.arg, c, m->fn, m->arg);
	else
		m->fn(m->arg, c);
}

/* ---- requests ---- */

static const struct rpc_route {
	const char *path;
	enum rpc_proto proto;
} rpc_routes[] = {
    {"/", RPC_XML},
    {"/RPC2", RPC_XML},
    {"/xmlrpc", RPC_XML},
    {"/jsonrpc", RPC_JSON},
};

static void
rpc_handle(struct rpc *rpc, const char *method, const char *path, const char *body, size_t len,
           const char *peer, struct rpc_sink *sink)
{
	const struct rpc_route *route = NULL;
	struct rpc_call *c;
	char err[XVAL_ERR_MAX], text[XVAL_ERR_MAX + 64];
	size_t i;
	int rc;

	for (i = 0; i < ARRAY_SIZE(rpc_routes); i++)
		if (path && strcmp(path, rpc_routes[i].path) == 0)
			route = &rpc_routes[i];
	if (!route) {
		rpc_sink_text(sink, 404, "Not Found\n");
		return;
	}
	if (method && strcmp(method, "OPTIONS") == 0) {
		rpc_sink_send(sink, 204, "text/plain", "", 0);
		return;
	}
	if (!method || strcmp(method, "POST") != 0) {
		rpc_sink_text(sink, 405, "Method Not Allowed\n");
		return;
	}
	if (!body)
		body = "", len = 0;

	c = xcalloc(1, sizeof(*c));
	c->rpc = rpc;
	c->proto = route->proto;
	c->peer = xstrdup(peer ? peer : "");
	if (route->proto == RPC_XML) {
		struct xmlrpc_call x = {0};

		rc = xmlrpc_decode_call(body, len, rpc->cfg.max_body, &x, err, sizeof(err));
		c->method = x.method;
		c->params = x.params;
	} else {
		struct jsonrpc_request j = {0};

		rc = jsonrpc_decode_request(body, len, rpc->cfg.max_body, &j, err, sizeof(err));
		c->jversion = j.version;
		c->method = j.method;
		c->params = j.params;
		c->id = j.id;
	}
	if (rc != 0) {
		/* xapi answers an undecodable XML-RPC body with 500; for
		** JSON-RPC a 400 is what clients expect. */
		log_info("rpc: malformed %s request from %s: %s",
		         route->proto == RPC_XML ? "XML-RPC" : "JSON-RPC", c->peer, err);
		snprintf(text, sizeof(text), "Malformed request: %s\n", err);
		rpc_sink_text(sink, route->proto == RPC_XML ? 500 : 400, text);
		rpc_call_destroy(c);
		return;
	}
	c->sink = *sink;
	c->next = rpc->calls;
	if (rpc->calls)
		rpc->calls->prev = c;
	rpc->calls = c;
	if (c->sink.http)
		httpd_req_on_abort(c->sink.http, rpc_on_http_abort, c);
	rpc_dispatch(rpc, c);
}

void
rpc_handle_http(void *arg, struct httpd_req *req)
{
	struct rpc_sink sink = {.http = req};
	const char *body;
	size_t len = 0;

	body = httpd_req_body(req, &len);
	rpc_handle(arg, httpd_req_method(req), httpd_req_path(req), body, len, httpd_req_peer(req),
	           &sink);
}

void
rpc_handle_raw(struct rpc *rpc, const char *http_method, const char *path, const char *body,
               size_t len, const char *peer,
               void (*done)(void *arg, int status, const char *content_type, const char *body,
                            size_t len),
               void *arg)
{
	struct rpc_sink sink = {.done = done, .arg = arg};

	rpc_handle(rpc, http_method, path, body, len, peer, &sink);
}

/* ---- lifetime ---- */

static void
rpc_on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct rpc *rpc = arg;
	uint64_t now = clock_mono_ms();

	while (rpc->stail && rpc_session_expired(rpc, rpc->stail, now))
		rpc_session_drop(rpc, rpc->stail, "idle");
	rpc_peer_sweep(rpc, now);
}

struct rpc *
rpc_new(struct event_base *base, const struct rpc_config *cfg, const struct rpc_hooks *hooks)
{
	struct rpc_config def;
	struct rpc *rpc;
	struct timeval tv;
	unsigned period;
	size_t i;

	rpc_config_defaults(&def);
	rpc = xcalloc(1, sizeof(*rpc));
	rpc->base = base;
	rpc->cfg = cfg ? *cfg : def;
	/* A zero field means "the default". */
	if (!rpc->cfg.session_idle_s)
		rpc->cfg.session_idle_s = def.session_idle_s;
	if (!rpc->cfg.max_sessions)
		rpc->cfg.max_sessions = def.max_sessions;
	if (!rpc->cfg.max_sessions_per_user)
		rpc->cfg.max_sessions_per_user = def.max_sessions_per_user;
	if (!rpc->cfg.login_failures)
		rpc->cfg.login_failures = def.login_failures;
	if (!rpc->cfg.login_window_s)
		rpc->cfg.login_window_s = def.login_window_s;
	if (!rpc->cfg.max_body)
		rpc->cfg.max_body = def.max_body;
	if (!rpc->cfg.max_logins)
		rpc->cfg.max_logins = def.max_logins;
	if (hooks)
		rpc->hooks = *hooks;
	for (i = 0; i < ARRAY_SIZE(rpc_builtins); i++) {
		struct rpc_method m = rpc_builtins[i];

		m.arg = rpc;
		ha_assert(rpc_register(rpc, &m) == 0);
	}
	/* Sweep a few times per idle period, at least once a minute. */
	period = rpc->cfg.session_idle_s / 4;
	if (period < 1)
		period = 1;
	if (period > RPC_SWEEP_MAX_S)
		period = RPC_SWEEP_MAX_S;
	tv.tv_sec = period;
	tv.tv_usec = 0;
	rpc->sweep = event_new(base, -1, EV_PERSIST, rpc_on_sweep, rpc);
	if (!rpc->sweep || event_add(rpc->sweep, &tv) < 0)
		fatalx("rpc: cannot arm the session sweep timer");
	return rpc;
}

void
rpc_free(struct rpc *rpc)
{
	struct rpc_session *s;
	struct rpc_peer *p;
	struct rpc_login *l;

	if (!rpc)
		return;
	/* Pending password checks cannot be stopped: cut them loose, their
	** completion frees them. */
	while ((l = rpc->logins) != NULL) {
		rpc_login_unlink(rpc, l);
		l->rpc = NULL;
	}
	/* Pending calls: the client hears INTERNAL_ERROR, the handler its
	** abort callback (so it forgets the call), then the call goes.  A
	** handler that defers a call must set an abort callback. */
	while (rpc->calls) {
		struct rpc_call *c = rpc->calls;
		void (*fn)(void *) = c->abort_fn;

		c->abort_fn = NULL;
		if (!c->gone) {
			struct xval *e = xval_new_array();

			xval_array_append(e, xval_new_string("INTERNAL_ERROR"));
			xval_array_append(e, xval_new_string("hasvcd is shutting down"));
			rpc_send(c, RPC_FAILURE, e);
			xval_free(e);
		}
		if (fn)
			fn(c->abort_arg);
		rpc_call_free(c);
	}
	while ((s = rpc->shead) != NULL)
		rpc_session_drop(rpc, s, "shutdown");
	while ((p = rpc->peers) != NULL) {
		rpc->peers = p->next;
		xfree(p);
	}
	if (rpc->sweep)
		event_free(rpc->sweep);
	xfree(rpc->methods);
	xfree(rpc);
}
