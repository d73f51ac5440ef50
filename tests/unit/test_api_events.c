/*
** event.from and event.inject, end to end without HTTP: a temp pool
** database, the real rpc dispatch (rpc_handle_raw, JSON-RPC) and the
** object records of api_objects.c, on an in-process event_base.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "api/jsonrpc.h"
#include "api/passwd.h"
#include "api/rpc.h"
#include "api/xmlrpc.h"
#include "api/xval.h"
#include "hasvc/api_events.h"
#include "hasvc/api_objects.h"
#include "hasvc/db.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

static char tmpdir[64];
static char root_hash[PASSWD_HASH_LEN];

struct fx {
	char *path;
	struct db *db;
	struct event_base *base;
	struct rpc *rpc;
	struct api_ctx ctx;
	struct api_events *ev;
	char session[HA_REF_LEN];
	char pool[HA_UUID_LEN], h1[HA_UUID_LEN], h2[HA_UUID_LEN], v1[HA_UUID_LEN],
	    v2[HA_UUID_LEN];
};

struct reply {
	int done;
	int status;
	struct xval_reply r;
};

static int
user_lookup(void *arg, const char *user, char *hash, size_t hashlen, enum rpc_role *role)
{
	if (strcmp(user, "root") != 0)
		return 1;
	snprintf(hash, hashlen, "%s", root_hash);
	*role = RPC_ROLE_POOL_ADMIN;
	return 0;
}

static const char *
master_address(void *arg)
{
	return NULL;
}

static void
on_done(void *arg, int status, const char *ctype, const char *body, size_t len)
{
	struct reply *out = arg;
	char err[256];

	assert_false(out->done);
	out->done = 1;
	out->status = status;
	if (jsonrpc_decode_response(body, len, 64u << 20, &out->r, NULL, err, sizeof(err)) != 0)
		fail_msg("undecodable reply (%s): %.*s", err, (int)len, body);
}

/* Start a JSON-RPC call; `params` (owned) after the session if `with_session`. */
static void
call_start(struct fx *f, struct reply *out, const char *method, struct xval *params,
           int with_session)
{
	struct xval *p = xval_new_array(), *id = xval_new_int(1);
	size_t i, len;
	char *body;

	memset(out, 0, sizeof(*out));
	if (with_session)
		xval_array_append(p, xval_new_string(f->session));
	for (i = 0; params != NULL && i < xval_len(params); i++)
		xval_array_append(p, xval_copy(xval_array_get(params, i)));
	xval_free(params);
	body = jsonrpc_encode_request(2, id, method, p, &len);
	rpc_handle_raw(f->rpc, "POST", "/jsonrpc", body, len, "127.0.0.1", on_done, out);
	xfree(body);
	xval_free(p);
	xval_free(id);
}

static void
call_wait(struct fx *f, struct reply *out)
{
	int i;

	for (i = 0; !out->done && i < 100000; i++)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_true(out->done);
	assert_int_equal(out->status, 200);
}

/* event.from(classes "a,b,c", token, timeout) started, not waited for. */
static void
from_start(struct fx *f, struct reply *out, const char *classes, const char *token,
           double timeout)
{
	struct xval *p = xval_new_array(), *c = xval_new_array();
	char *dup = xstrdup(classes), *save = NULL, *tok;

	for (tok = strtok_r(dup, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		xval_array_append(c, xval_new_string(tok));
	xfree(dup);
	xval_array_append(p, c);
	xval_array_append(p, xval_new_string(token));
	xval_array_append(p, xval_new_double(timeout));
	call_start(f, out, "event.from", p, 1);
}

/* A successful event.from's result (owned by out). */
static struct xval *
from_call(struct fx *f, struct reply *out, const char *classes, const char *token, double timeout)
{
	from_start(f, out, classes, token, timeout);
	call_wait(f, out);
	if (out->r.kind != XVAL_REPLY_SUCCESS)
		fail_msg("event.from failed: %s",
		         xval_string(xval_array_get(out->r.value, 0)));
	return out->r.value;
}

static void
expect_failure(struct reply *out, const char *code, const char *param)
{
	assert_int_equal(out->r.kind, XVAL_REPLY_FAILURE);
	assert_string_equal(xval_string(xval_array_get(out->r.value, 0)), code);
	if (param != NULL) {
		assert_true(xval_len(out->r.value) >= 2);
		assert_string_equal(xval_string(xval_array_get(out->r.value, 1)), param);
	}
	xval_reply_clear(&out->r);
}

static const char *
token_of(const struct xval *r)
{
	return xval_string(xval_struct_get(r, "token"));
}

static size_t
nevents(const struct xval *r)
{
	return xval_len(xval_struct_get(r, "events"));
}

/* Event i must be (class, op, uuid), with a snapshot naming uuid unless del. */
static void
expect_event(const struct xval *r, size_t i, const char *cls, const char *op, const char *uuid)
{
	const struct xval *e = xval_array_get(xval_struct_get(r, "events"), i);
	const struct xval *snap = xval_struct_get(e, "snapshot");
	char ref[HA_REF_LEN];

	id_ref_from_uuid(ref, uuid);
	assert_string_equal(xval_string(xval_struct_get(e, "class")), cls);
	assert_string_equal(xval_string(xval_struct_get(e, "operation")), op);
	assert_string_equal(xval_string(xval_struct_get(e, "ref")), ref);
	assert_string_equal(xval_string(xval_struct_get(e, "timestamp")), "0.0");
	assert_non_null(xval_struct_get(e, "id"));
	if (strcmp(op, "del") == 0) {
		assert_null(snap);
	} else {
		assert_non_null(snap);
		assert_string_equal(xval_string(xval_struct_get(snap, "uuid")), uuid);
	}
}

/* Is there an event (cls, op, uuid) anywhere in r? */
static int
has_event(const struct xval *r, const char *cls, const char *op, const char *uuid)
{
	const struct xval *ev = xval_struct_get(r, "events");
	char ref[HA_REF_LEN];
	size_t i;

	id_ref_from_uuid(ref, uuid);
	for (i = 0; i < xval_len(ev); i++) {
		const struct xval *e = xval_array_get(ev, i);

		if (strcmp(xval_string(xval_struct_get(e, "class")), cls) == 0 &&
		    strcmp(xval_string(xval_struct_get(e, "operation")), op) == 0 &&
		    strcmp(xval_string(xval_struct_get(e, "ref")), ref) == 0)
			return 1;
	}
	return 0;
}

static void
put_vm(struct fx *f, const char *uuid, int64_t order)
{
	struct db_vm v;

	db_vm_init(&v);
	snprintf(v.uuid, sizeof(v.uuid), "%s", uuid);
	snprintf(v.name_label, sizeof(v.name_label), "vm-%.8s", uuid);
	v.order = order;
	assert_int_equal(db_vm_put(f->db, &v), 0);
	db_vm_clear(&v);
}

static void
fx_open(struct fx *f, uint64_t first_gen, size_t ring)
{
	static int seq;
	char err[512];
	struct rpc_config cfg;
	struct rpc_hooks hooks = {.user_lookup = user_lookup, .master_address = master_address};
	struct db_pool pool;
	struct db_host h;
	struct reply login;

	memset(f, 0, sizeof(*f));
	f->path = xasprintf("%s/pool-%d.db", tmpdir, ++seq);
	f->db = db_open(f->path, DB_OPEN_CREATE, err, sizeof(err));
	if (f->db == NULL)
		fail_msg("%s", err);
	db_pool_init(&pool);
	id_uuid_new(pool.uuid);
	snprintf(f->pool, sizeof(f->pool), "%s", pool.uuid);
	assert_int_equal(db_pool_put(f->db, &pool), 0);
	db_pool_clear(&pool);
	db_host_init(&h);
	id_uuid_new(h.uuid);
	snprintf(f->h1, sizeof(f->h1), "%s", h.uuid);
	assert_int_equal(db_host_put(f->db, &h), 0);
	id_uuid_new(h.uuid);
	snprintf(f->h2, sizeof(f->h2), "%s", h.uuid);
	assert_int_equal(db_host_put(f->db, &h), 0);
	db_host_clear(&h);
	id_uuid_new(f->v1);
	id_uuid_new(f->v2);
	put_vm(f, f->v1, 1);

	f->base = event_base_new();
	assert_non_null(f->base);
	rpc_config_defaults(&cfg);
	f->rpc = rpc_new(f->base, &cfg, &hooks);
	assert_non_null(f->rpc);
	f->ctx.db = f->db;
	f->ctx.rpc = f->rpc;
	snprintf(f->ctx.host_uuid, sizeof(f->ctx.host_uuid), "%s", f->h1);
	api_objects_register(&f->ctx);
	f->ev = first_gen != 0 ? api_events_new_with(f->base, &f->ctx, first_gen, ring)
	                       : api_events_new(f->base, &f->ctx);
	api_events_register(f->ev);
	db_set_change_hook(f->db, api_events_db_hook, f->ev);

	call_start(f, &login, "session.login_with_password",
	           ({
		           struct xval *p = xval_new_array();
		           xval_array_append(p, xval_new_string("root"));
		           xval_array_append(p, xval_new_string("secret"));
		           p;
	           }),
	           0);
	call_wait(f, &login);
	assert_int_equal(login.r.kind, XVAL_REPLY_SUCCESS);
	snprintf(f->session, sizeof(f->session), "%s", xval_string(login.r.value));
	xval_reply_clear(&login.r);
}

static void
fx_close(struct fx *f)
{
	db_set_change_hook(f->db, NULL, NULL);
	api_events_free(f->ev);
	rpc_free(f->rpc);
	event_base_free(f->base);
	db_close(f->db);
	unlink(f->path);
	{
		char *p = xasprintf("%s-wal", f->path);

		unlink(p);
		xfree(p);
		p = xasprintf("%s-shm", f->path);
		unlink(p);
		xfree(p);
	}
	xfree(f->path);
}

/* ---- tests ---- */

static void
test_from_beginning(void **state)
{
	struct fx f;
	struct reply r;
	struct xval *v;
	const struct xval *counts;
	char m1[HA_UUID_LEN];

	fx_open(&f, 0, 0);
	v = from_call(&f, &r, "*", "", 0);
	/* pool, 2 hosts, their 2 metrics, 1 VM: all "add" with snapshots */
	assert_int_equal(nevents(v), 6);
	assert_true(has_event(v, "pool", "add", f.pool));
	assert_true(has_event(v, "host", "add", f.h1));
	assert_true(has_event(v, "host", "add", f.h2));
	api_host_metrics_uuid(f.h1, m1);
	assert_true(has_event(v, "host_metrics", "add", m1));
	/* refs are unique across classes: a host's metrics have their own */
	assert_false(has_event(v, "host_metrics", "add", f.h1));
	assert_true(has_event(v, "vm", "add", f.v1));
	counts = xval_struct_get(v, "valid_ref_counts");
	assert_int_equal(xval_int(xval_struct_get(counts, "vm")), 1);
	assert_int_equal(xval_int(xval_struct_get(counts, "host")), 2);
	assert_int_equal(xval_int(xval_struct_get(counts, "task")), 0);
	assert_int_equal(strlen(token_of(v)), 41);
	assert_int_equal(token_of(v)[20], ',');
	assert_int_equal(strtoull(token_of(v), NULL, 10), api_events_generation(f.ev));
	xval_reply_clear(&r.r);

	/* Class filter on the beginning. */
	v = from_call(&f, &r, "vm", "", 0);
	assert_int_equal(nevents(v), 1);
	expect_event(v, 0, "vm", "add", f.v1);
	xval_reply_clear(&r.r);
	fx_close(&f);
}

static void
test_change_and_coalesce(void **state)
{
	struct fx f;
	struct reply r;
	struct xval *v;
	char token[64];
	const struct xval *snap;

	fx_open(&f, 1000, 64);
	v = from_call(&f, &r, "*", "", 0);
	snprintf(token, sizeof(token), "%s", token_of(v));
	xval_reply_clear(&r.r);

	/* One write: exactly that change, with the new record. */
	put_vm(&f, f.v1, 7);
	v = from_call(&f, &r, "*", token, 5);
	assert_int_equal(nevents(v), 1);
	expect_event(v, 0, "vm", "mod", f.v1);
	snap = xval_struct_get(xval_array_get(xval_struct_get(v, "events"), 0), "snapshot");
	assert_int_equal(xval_int(xval_struct_get(snap, "order")), 7);
	assert_string_equal(
	    xval_string(xval_struct_get(xval_array_get(xval_struct_get(v, "events"), 0), "id")),
	    "1001");
	snprintf(token, sizeof(token), "%s", token_of(v));
	assert_string_equal(token, "00000000000000001001,00000000000000000000");
	xval_reply_clear(&r.r);

	/* add + mod = add; mod + mod = one mod; add + del = nothing. */
	put_vm(&f, f.v2, 1);
	put_vm(&f, f.v2, 2);
	put_vm(&f, f.v1, 8);
	put_vm(&f, f.v1, 9);
	v = from_call(&f, &r, "vm", token, 5);
	assert_int_equal(nevents(v), 2);
	expect_event(v, 0, "vm", "add", f.v2);
	expect_event(v, 1, "vm", "mod", f.v1);
	snprintf(token, sizeof(token), "%s", token_of(v));
	xval_reply_clear(&r.r);
	assert_int_equal(db_vm_delete(f.db, f.v2), 0);
	put_vm(&f, f.v2, 3);
	assert_int_equal(db_vm_delete(f.db, f.v2), 0);
	v = from_call(&f, &r, "vm", token, 5); /* mod+del = del, no snapshot */
	assert_int_equal(nevents(v), 1);
	expect_event(v, 0, "vm", "del", f.v2);
	snprintf(token, sizeof(token), "%s", token_of(v));
	xval_reply_clear(&r.r);
	put_vm(&f, f.v2, 4);
	assert_int_equal(db_vm_delete(f.db, f.v2), 0);
	v = from_call(&f, &r, "vm", token, 0); /* add+del: nothing (timeout 0) */
	assert_int_equal(nevents(v), 0);
	assert_true(strcmp(token_of(v), token) > 0);
	xval_reply_clear(&r.r);
	fx_close(&f);
}

static void
test_filters(void **state)
{
	struct fx f;
	struct reply r;
	struct xval *v;
	char token[64], sub[80], ref[HA_REF_LEN], m2[HA_UUID_LEN];

	fx_open(&f, 5000, 64);
	v = from_call(&f, &r, "pool", "", 0);
	snprintf(token, sizeof(token), "%s", token_of(v));
	xval_reply_clear(&r.r);
	put_vm(&f, f.v2, 1);
	put_vm(&f, f.v1, 2);
	assert_int_equal(db_host_set_metrics(f.db, f.h2, 1, 10, 5, 1), 0);

	/* A class the changes are not in: nothing (timeout 0). */
	v = from_call(&f, &r, "pool", token, 0);
	assert_int_equal(nevents(v), 0);
	xval_reply_clear(&r.r);
	/* Mixed case names map to the API class; events are lower case. */
	v = from_call(&f, &r, "VM", token, 0);
	assert_int_equal(nevents(v), 2);
	expect_event(v, 0, "vm", "add", f.v2);
	expect_event(v, 1, "vm", "mod", f.v1);
	xval_reply_clear(&r.r);
	v = from_call(&f, &r, "host_metrics,pool", token, 0);
	assert_int_equal(nevents(v), 1);
	api_host_metrics_uuid(f.h2, m2);
	expect_event(v, 0, "host_metrics", "mod", m2);
	xval_reply_clear(&r.r);
	/* One object. */
	id_ref_from_uuid(ref, f.v1);
	snprintf(sub, sizeof(sub), "vm/%s", ref);
	v = from_call(&f, &r, sub, token, 0);
	assert_int_equal(nevents(v), 1);
	expect_event(v, 0, "vm", "mod", f.v1);
	xval_reply_clear(&r.r);
	fx_close(&f);
}

static void
write_later(evutil_socket_t fd, short what, void *arg)
{
	struct fx *f = arg;

	put_vm(f, f->v1, 42);
}

static void
test_blocking(void **state)
{
	struct fx f;
	struct reply r, r2;
	struct xval *v;
	struct event *t;
	struct timeval tv = {0, 50000};
	char token[64];

	fx_open(&f, 10, 64);
	v = from_call(&f, &r, "*", "", 0);
	snprintf(token, sizeof(token), "%s", token_of(v));
	xval_reply_clear(&r.r);

	/* Two waiters; a change that matches only one of them completes it. */
	from_start(&f, &r, "vm", token, 10);
	from_start(&f, &r2, "pool", token, 0.3);
	assert_false(r.done);
	assert_false(r2.done);
	assert_int_equal(api_events_waiting(f.ev), 2);
	t = evtimer_new(f.base, write_later, &f);
	evtimer_add(t, &tv);
	call_wait(&f, &r);
	assert_int_equal(r.r.kind, XVAL_REPLY_SUCCESS);
	assert_int_equal(nevents(r.r.value), 1);
	expect_event(r.r.value, 0, "vm", "mod", f.v1);
	assert_false(r2.done);
	assert_int_equal(api_events_waiting(f.ev), 1);
	/* The other one returns empty at its timeout, with the current token. */
	call_wait(&f, &r2);
	assert_int_equal(r2.r.kind, XVAL_REPLY_SUCCESS);
	assert_int_equal(nevents(r2.r.value), 0);
	assert_string_equal(token_of(r2.r.value), token_of(r.r.value));
	assert_int_equal(api_events_waiting(f.ev), 0);
	xval_reply_clear(&r.r);
	xval_reply_clear(&r2.r);
	event_free(t);

	/* A client that goes away: its waiter is removed (ASan: no leak). */
	from_start(&f, &r, "vm", token_of(v = from_call(&f, &r2, "vm", "", 0)), 30);
	xval_reply_clear(&r2.r);
	assert_int_equal(api_events_waiting(f.ev), 1);
	rpc_raw_abort(f.rpc, &r);
	assert_int_equal(api_events_waiting(f.ev), 0);
	put_vm(&f, f.v1, 43);
	event_base_loop(f.base, EVLOOP_NONBLOCK);
	assert_false(r.done);

	/* Freeing the module completes a pending wait (empty). */
	from_start(&f, &r, "pool", "", 30);
	assert_int_equal(api_events_waiting(f.ev), 0); /* the pool exists: answered */
	call_wait(&f, &r);
	xval_reply_clear(&r.r);
	from_start(&f, &r, "task", "", 30);
	assert_int_equal(api_events_waiting(f.ev), 1);
	db_set_change_hook(f.db, NULL, NULL);
	api_events_free(f.ev);
	f.ev = NULL;
	assert_true(r.done);
	assert_int_equal(r.r.kind, XVAL_REPLY_SUCCESS);
	assert_int_equal(nevents(r.r.value), 0);
	xval_reply_clear(&r.r);
	fx_close(&f);
}

static void
test_errors(void **state)
{
	struct fx f;
	struct reply r;
	struct xval *p;

	fx_open(&f, 10, 64);
	from_start(&f, &r, "*", "garbage", 0);
	call_wait(&f, &r);
	expect_failure(&r, "EVENT_FROM_TOKEN_PARSE_FAILURE", "garbage");
	from_start(&f, &r, "*", "1,2,3", 0);
	call_wait(&f, &r);
	expect_failure(&r, "EVENT_FROM_TOKEN_PARSE_FAILURE", "1,2,3");
	from_start(&f, &r, "*", "99999999999999999999,0", 0); /* > int64 */
	call_wait(&f, &r);
	expect_failure(&r, "EVENT_FROM_TOKEN_PARSE_FAILURE", NULL);
	from_start(&f, &r, "*", "12,", 0);
	call_wait(&f, &r);
	expect_failure(&r, "EVENT_FROM_TOKEN_PARSE_FAILURE", "12,");
	from_start(&f, &r, "vm,no such!", "", 0);
	call_wait(&f, &r);
	expect_failure(&r, "EVENT_SUBSCRIPTION_PARSE_FAILURE", "no such!");
	/* A class we do not serve (an extension in system.listMethods, say)
	** is accepted and matches nothing, as in xapi. */
	{
		struct xval *res = from_call(&f, &r, "nosuch", "", 0);

		assert_int_equal(nevents(res), 0);
		xval_reply_clear(&r.r);
	}
	from_start(&f, &r, "vm/notaref", "", 0);
	call_wait(&f, &r);
	expect_failure(&r, "EVENT_SUBSCRIPTION_PARSE_FAILURE", "vm/notaref");

	/* classes not an array; timeout not a number */
	p = xval_new_array();
	xval_array_append(p, xval_new_string("*"));
	xval_array_append(p, xval_new_string(""));
	xval_array_append(p, xval_new_double(1));
	call_start(&f, &r, "event.from", p, 1);
	call_wait(&f, &r);
	expect_failure(&r, "FIELD_TYPE_ERROR", NULL);
	p = xval_new_array();
	xval_array_append(p, xval_new_array());
	xval_array_append(p, xval_new_string(""));
	xval_array_append(p, xval_new_string("soon"));
	call_start(&f, &r, "event.from", p, 1);
	call_wait(&f, &r);
	expect_failure(&r, "FIELD_TYPE_ERROR", NULL);
	/* wrong number of params */
	p = xval_new_array();
	xval_array_append(p, xval_new_array());
	call_start(&f, &r, "event.from", p, 1);
	call_wait(&f, &r);
	expect_failure(&r, "MESSAGE_PARAMETER_COUNT_MISMATCH", NULL);
	assert_int_equal(api_events_waiting(f.ev), 0);
	fx_close(&f);
}

static void
test_resync(void **state)
{
	struct fx f;
	struct reply r;
	struct xval *v;
	char token[64], old[64];
	int i;

	fx_open(&f, 100, 4);
	v = from_call(&f, &r, "vm", "", 0);
	snprintf(token, sizeof(token), "%s", token_of(v));
	xval_reply_clear(&r.r);
	/* More changes than the history holds: every VM comes back as add. */
	put_vm(&f, f.v2, 1);
	for (i = 0; i < 5; i++)
		put_vm(&f, f.v1, 10 + i);
	assert_int_equal(db_host_set_metrics(f.db, f.h1, 1, 1, 1, 1), 0);
	v = from_call(&f, &r, "vm", token, 5);
	assert_int_equal(nevents(v), 2);
	assert_true(has_event(v, "vm", "add", f.v1));
	assert_true(has_event(v, "vm", "add", f.v2));
	assert_int_equal(strtoull(token_of(v), NULL, 10), api_events_generation(f.ev));
	xval_reply_clear(&r.r);

	/* A token from before this run (or from the future) resyncs too. */
	snprintf(old, sizeof(old), "%020d,%020d", 50, 0);
	v = from_call(&f, &r, "vm", old, 5);
	assert_int_equal(nevents(v), 2);
	xval_reply_clear(&r.r);
	snprintf(old, sizeof(old), "%020d,%020d", 100000, 0);
	v = from_call(&f, &r, "vm", old, 5);
	assert_int_equal(nevents(v), 2);
	xval_reply_clear(&r.r);
	fx_close(&f);
}

static void
test_inject(void **state)
{
	struct fx f;
	struct reply r;
	struct xval *p, *v;
	char ref[HA_REF_LEN], token[64];

	fx_open(&f, 0, 0); /* the real generation seed */
	assert_true(api_events_generation(f.ev) > 1600000000000000ull);
	id_ref_from_uuid(ref, f.pool);
	p = xval_new_array();
	xval_array_append(p, xval_new_string("pool"));
	xval_array_append(p, xval_new_string(ref));
	call_start(&f, &r, "event.inject", p, 1);
	call_wait(&f, &r);
	assert_int_equal(r.r.kind, XVAL_REPLY_SUCCESS);
	snprintf(token, sizeof(token), "%s", xval_string(r.r.value));
	assert_int_equal(strtoull(token, NULL, 10) + 1, api_events_generation(f.ev));
	xval_reply_clear(&r.r);
	/* XO's loop: the next event.from returns the touched object. */
	v = from_call(&f, &r, "pool,host,vm,task", token, 60.1);
	assert_int_equal(nevents(v), 1);
	expect_event(v, 0, "pool", "mod", f.pool);
	xval_reply_clear(&r.r);

	/* An unknown object, a ref of another class, an unknown class. */
	id_ref_from_uuid(ref, f.v2);
	p = xval_new_array();
	xval_array_append(p, xval_new_string("VM"));
	xval_array_append(p, xval_new_string(ref));
	call_start(&f, &r, "event.inject", p, 1);
	call_wait(&f, &r);
	expect_failure(&r, "HANDLE_INVALID", "VM");
	id_ref_from_uuid(ref, f.pool);
	p = xval_new_array();
	xval_array_append(p, xval_new_string("vm"));
	xval_array_append(p, xval_new_string(ref));
	call_start(&f, &r, "event.inject", p, 1);
	call_wait(&f, &r);
	expect_failure(&r, "HANDLE_INVALID", "vm");
	p = xval_new_array();
	xval_array_append(p, xval_new_string("SR"));
	xval_array_append(p, xval_new_string(ref));
	call_start(&f, &r, "event.inject", p, 1);
	call_wait(&f, &r);
	expect_failure(&r, "HANDLE_INVALID", "SR");
	fx_close(&f);
}

/* event.inject of `cls`/`ref` from f->session, answered. */
static void
inject_call(struct fx *f, struct reply *r, const char *cls, const char *ref)
{
	struct xval *p = xval_new_array();

	xval_array_append(p, xval_new_string(cls));
	xval_array_append(p, xval_new_string(ref));
	call_start(f, r, "event.inject", p, 1);
	call_wait(f, r);
}

/* Every inject takes a slot of the bounded history: a read-only session
** injecting in a loop would flush it and force every watcher to resync.
** xapi lets every role inject, so hasvc rate-limits per session instead. */
static void
test_inject_rate(void **state)
{
	struct fx f;
	struct reply r, login;
	struct xval *p;
	char ref[HA_REF_LEN], first[HA_REF_LEN];
	uint64_t gen;
	int i;

	fx_open(&f, 1000, 64);
	id_ref_from_uuid(ref, f.pool);
	gen = api_events_generation(f.ev);
	for (i = 0; i < 20; i++) {
		inject_call(&f, &r, "pool", ref);
		assert_int_equal(r.r.kind, XVAL_REPLY_SUCCESS);
		xval_reply_clear(&r.r);
	}
	inject_call(&f, &r, "pool", ref);
	expect_failure(&r, "TOO_BUSY", NULL);
	/* A refused inject leaves the history alone. */
	assert_int_equal(api_events_generation(f.ev), gen + 20);

	/* Another session has its own allowance. */
	snprintf(first, sizeof(first), "%s", f.session);
	p = xval_new_array();
	xval_array_append(p, xval_new_string("root"));
	xval_array_append(p, xval_new_string("secret"));
	call_start(&f, &login, "session.login_with_password", p, 0);
	call_wait(&f, &login);
	assert_int_equal(login.r.kind, XVAL_REPLY_SUCCESS);
	snprintf(f.session, sizeof(f.session), "%s", xval_string(login.r.value));
	xval_reply_clear(&login.r);
	inject_call(&f, &r, "pool", ref);
	assert_int_equal(r.r.kind, XVAL_REPLY_SUCCESS);
	xval_reply_clear(&r.r);

	/* Once the window is over, the first session may inject again. */
	snprintf(f.session, sizeof(f.session), "%s", first);
	usleep(1100 * 1000);
	inject_call(&f, &r, "pool", ref);
	assert_int_equal(r.r.kind, XVAL_REPLY_SUCCESS);
	xval_reply_clear(&r.r);
	fx_close(&f);
}

static int
group_setup(void **state)
{
	log_init("test_api_events", LOG_NO_BLACKBOX, LOG_WARNING);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hasvc-test-ev.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return passwd_hash("secret", PASSWD_MIN_ITERATIONS, root_hash, sizeof(root_hash));
}

static int
group_teardown(void **state)
{
	return rmdir(tmpdir);
}

/* valid_ref_counts are int32 in XAPI's model: <i4> in XML-RPC, as xapi sends
** them.  An untyped (string) count never equals Xen Orchestra's number of
** cached tasks, so it refetched every task after each event.from. */
static void
on_xml_done(void *arg, int status, const char *ctype, const char *body, size_t len)
{
	char **out = arg;

	*out = xstrndup(body, len);
}

static void
test_counts_xmlrpc(void **state)
{
	struct fx f;
	struct xval *p = xval_new_array(), *c = xval_new_array();
	char *body, *reply = NULL;
	size_t len;
	int i;

	fx_open(&f, 0, 0);
	xval_array_append(p, xval_new_string(f.session));
	xval_array_append(c, xval_new_string("pool"));
	xval_array_append(p, c);
	xval_array_append(p, xval_new_string(""));
	xval_array_append(p, xval_new_double(0));
	body = xmlrpc_encode_call("event.from", p, &len);
	xval_free(p);
	rpc_handle_raw(f.rpc, "POST", "/", body, len, "127.0.0.1", on_xml_done, &reply);
	free(body);
	for (i = 0; reply == NULL && i < 100000; i++)
		event_base_loop(f.base, EVLOOP_ONCE);
	assert_non_null(reply);
	if (strstr(reply, "<name>task</name><value><i4>0</i4></value>") == NULL ||
	    strstr(reply, "<name>host</name><value><i4>2</i4></value>") == NULL)
		fail_msg("valid_ref_counts not <i4>: %s", reply);
	xfree(reply);
	fx_close(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_from_beginning), cmocka_unit_test(test_change_and_coalesce),
	    cmocka_unit_test(test_filters),        cmocka_unit_test(test_blocking),
	    cmocka_unit_test(test_errors),         cmocka_unit_test(test_resync),
	    cmocka_unit_test(test_inject),         cmocka_unit_test(test_counts_xmlrpc),
	    cmocka_unit_test(test_inject_rate),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
