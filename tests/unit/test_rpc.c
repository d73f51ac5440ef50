/*
** RPC dispatch, in process: requests go through rpc_handle_raw (the same
** path as HTTP, minus the socket) on an event_base this test runs.  Covers
** the byte shapes of both encodings, routing, the dispatch errors in
** order, sessions (login, logout, idle expiry, the cap), roles, login rate
** limiting, HOST_IS_SLAVE, deferred and aborted calls, and the param
** helpers.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <cmocka.h>
#include <event2/event.h>

#include "api/jsonrpc.h"
#include "api/passwd.h"
#include "api/rpc.h"
#include "api/xmlrpc.h"
#include "lib/xmalloc.h"

/* ---- users ---- */

static struct user {
	const char *name;
	const char *pw;
	enum rpc_role role;
	char hash[PASSWD_HASH_LEN];
} users[] = {
    {"root", "rootpw", RPC_ROLE_POOL_ADMIN, ""},
    {"op", "oppw", RPC_ROLE_POOL_OPERATOR, ""},
    {"ro", "ropw", RPC_ROLE_READ_ONLY, ""},
    {"nobody", "nopw", RPC_ROLE_NONE, ""},
};

static int
group_setup(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++)
		assert_int_equal(passwd_hash(users[i].pw, PASSWD_MIN_ITERATIONS, users[i].hash,
		                             sizeof(users[i].hash)),
		                 0);
	return 0;
}

/* ---- the fixture ---- */

struct fx {
	struct event_base *base;
	struct rpc *rpc;
	struct rpc_config cfg;
	const char *master; /* master_address() answer */
	int lookups;        /* user_lookup calls */
	struct rpc_call *deferred;
	int aborted;
	struct event *later;
	int hold_writes;       /* the write hook holds every write's answer */
	struct rpc_call *held; /* ... the last one held */
	int writes_hooked;
	int not_serving;
};

static int
hook_lookup(void *arg, const char *user, char *hash, size_t hashlen, enum rpc_role *role)
{
	struct fx *f = arg;
	size_t i;

	f->lookups++;
	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++)
		if (strcmp(users[i].name, user) == 0) {
			snprintf(hash, hashlen, "%s", users[i].hash);
			*role = users[i].role;
			return 0;
		}
	return 1;
}

static const char *
hook_master(void *arg)
{
	return ((struct fx *)arg)->master;
}

static void
hook_write(void *arg, struct rpc_call *c, rpc_handler fn, void *fnarg)
{
	struct fx *f = arg;

	f->writes_hooked++;
	if (f->hold_writes) {
		rpc_call_hold(c);
		f->held = c;
	}
	fn(fnarg, c);
}

static int
hook_serving(void *arg)
{
	return !((struct fx *)arg)->not_serving;
}

/* ---- test methods ---- */

static void
m_get_thing(void *arg, struct rpc_call *c)
{
	char uuid[HA_UUID_LEN];

	if (rpc_param_ref(c, 0, "VM", uuid) < 0)
		return;
	rpc_reply(c, xval_new_string(uuid));
}

static void
m_set_thing(void *arg, struct rpc_call *c)
{
	int64_t v;

	if (rpc_param_int(c, 0, &v) < 0)
		return;
	rpc_reply(c, xval_new_int(v));
}

static void
m_set_order(void *arg, struct rpc_call *c)
{
	char uuid[HA_UUID_LEN];
	int64_t v;

	if (rpc_param_ref(c, 0, "VM", uuid) < 0 || rpc_param_int(c, 1, &v) < 0)
		return;
	rpc_reply(c, xval_new_string(""));
}

static void
m_flag(void *arg, struct rpc_call *c)
{
	int b;

	if (rpc_param_bool(c, 0, &b) < 0)
		return;
	rpc_reply(c, xval_new_bool(b));
}

static void
m_whoami(void *arg, struct rpc_call *c)
{
	const struct rpc_session_info *s = rpc_call_session(c);
	struct xval *st = xval_new_struct();

	xval_struct_add(st, "user", xval_new_string(s->user));
	xval_struct_add(st, "role", xval_new_string(rpc_role_name(s->role)));
	xval_struct_add(st, "originator", xval_new_string(s->originator));
	xval_struct_add(st, "method", xval_new_string(rpc_call_method(c)));
	xval_struct_add(st, "peer", xval_new_string(rpc_call_peer(c)));
	rpc_reply(c, st);
}

static void
on_deferred_abort(void *arg)
{
	struct fx *f = arg;

	f->aborted++;
	f->deferred = NULL;
}

static void
on_later(evutil_socket_t fd, short what, void *arg)
{
	struct fx *f = arg;

	if (f->deferred) {
		struct rpc_call *c = f->deferred;

		f->deferred = NULL;
		rpc_reply(c, xval_new_string("later"));
	}
}

/* Completes 20 ms later from a timer; forgets the call if it is aborted. */
static void
m_defer(void *arg, struct rpc_call *c)
{
	struct fx *f = arg;
	struct timeval tv = {0, 20000};

	f->deferred = c;
	rpc_call_on_abort(c, on_deferred_abort, f);
	evtimer_add(f->later, &tv);
}

/* The same without an abort callback: a completion after the client went
** away must be dropped safely. */
static void
m_defer_noabort(void *arg, struct rpc_call *c)
{
	struct fx *f = arg;
	struct timeval tv = {0, 20000};

	f->deferred = c;
	evtimer_add(f->later, &tv);
}

static const char *const p_self_value[] = {"self", "value", NULL};

static const struct rpc_method methods[] = {
    {.name = "VM.get_thing",
     .min_params = 1,
     .max_params = 1,
     .role = RPC_ROLE_READ_ONLY,
     .fn = m_get_thing},
    {.name = "pool.set_thing",
     .min_params = 1,
     .max_params = 1,
     .flags = RPC_WRITE,
     .role = RPC_ROLE_POOL_ADMIN,
     .fn = m_set_thing},
    {.name = "VM.set_order",
     .min_params = 2,
     .max_params = 2,
     .flags = RPC_WRITE,
     .role = RPC_ROLE_POOL_OPERATOR,
     .fn = m_set_order,
     .param_names = p_self_value},
    {.name = "test.flag",
     .min_params = 1,
     .max_params = 1,
     .role = RPC_ROLE_READ_ONLY,
     .fn = m_flag},
    {.name = "test.whoami",
     .min_params = 0,
     .max_params = 0,
     .role = RPC_ROLE_READ_ONLY,
     .fn = m_whoami},
    {.name = "test.defer",
     .min_params = 0,
     .max_params = 0,
     .role = RPC_ROLE_READ_ONLY,
     .fn = m_defer},
    {.name = "test.defer_noabort",
     .min_params = 0,
     .max_params = 0,
     .role = RPC_ROLE_READ_ONLY,
     .fn = m_defer_noabort},
};

static struct fx *
fx_new(const struct rpc_config *cfg)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	struct rpc_hooks hooks = {
	    .arg = f,
	    .user_lookup = hook_lookup,
	    .master_address = hook_master,
	    .write = hook_write,
	    .serving = hook_serving};
	size_t i;

	f->base = event_base_new();
	f->later = evtimer_new(f->base, on_later, f);
	if (cfg) {
		f->cfg = *cfg;
	} else {
		rpc_config_defaults(&f->cfg);
		f->cfg.login_failures = 3;
	}
	f->rpc = rpc_new(f->base, &f->cfg, &hooks);
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		struct rpc_method m = methods[i];

		m.arg = f;
		assert_int_equal(rpc_register(f->rpc, &m), 0);
	}
	return f;
}

/* Run the loop for `ms` milliseconds (lets password checks finish). */
static void
fx_run(struct fx *f, unsigned ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(f->base, &tv);
	event_base_dispatch(f->base);
}

static void
fx_free(struct fx *f)
{
	rpc_free(f->rpc);
	/* Let any cut-loose password check report before the base goes: once
	** rpc is freed, only those (and our own timer) are left on the base. */
	event_del(f->later);
	while (event_base_get_num_events(f->base, EVENT_BASE_COUNT_ADDED) > 0)
		event_base_loop(f->base, EVLOOP_ONCE);
	event_free(f->later);
	event_base_free(f->base);
	xfree(f);
}

static int
setup(void **state)
{
	*state = fx_new(NULL);
	return 0;
}

static int
teardown(void **state)
{
	fx_free(*state);
	return 0;
}

/* ---- requests ---- */

struct reply {
	int done;
	int status;
	char ctype[64];
	char *body;
	size_t len;
};

static void
on_done(void *arg, int status, const char *ctype, const char *body, size_t len)
{
	struct reply *r = arg;

	assert_int_equal(r->done, 0); /* exactly once */
	r->done = 1;
	r->status = status;
	snprintf(r->ctype, sizeof(r->ctype), "%s", ctype ? ctype : "");
	r->body = xstrndup(body, len);
	r->len = len;
}

static void
reply_clear(struct reply *r)
{
	xfree(r->body);
	memset(r, 0, sizeof(*r));
}

static void
wait_done(struct fx *f, struct reply *r)
{
	while (!r->done)
		event_base_loop(f->base, EVLOOP_ONCE);
}

static void
raw_from(struct fx *f, const char *peer, const char *method, const char *path, const char *body,
         struct reply *r)
{
	memset(r, 0, sizeof(*r));
	rpc_handle_raw(f->rpc, method, path, body, body ? strlen(body) : 0, peer, on_done, r);
	wait_done(f, r);
}

static void
raw(struct fx *f, const char *method, const char *path, const char *body, struct reply *r)
{
	raw_from(f, "192.0.2.1", method, path, body, r);
}

/* JSON-RPC 2.0 call with id 1; params is the inside of the JSON array. */
static void
json_from(struct fx *f, const char *peer, const char *method, const char *params, struct reply *r)
{
	char *body = xasprintf("{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"params\":[%s],\"id\":1}",
	                       method, params);

	raw_from(f, peer, "POST", "/jsonrpc", body, r);
	xfree(body);
	assert_int_equal(r->status, 200);
	assert_string_equal(r->ctype, "application/json");
}

static void
json(struct fx *f, const char *method, const char *params, struct reply *r)
{
	json_from(f, "192.0.2.1", method, params, r);
}

/* The reply must be a JSON-RPC 2.0 error with exactly this data array. */
static void
expect_json_error(struct reply *r, const char *code, const char *data)
{
	char *want = xasprintf("{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"%s\","
	                       "\"data\":[%s]},\"id\":1}",
	                       code, data);

	if (strcmp(r->body, want) != 0)
		fail_msg("got  %s\nwant %s", r->body, want);
	xfree(want);
}

static void
expect_json_result(struct reply *r, const char *result)
{
	char *want = xasprintf("{\"jsonrpc\":\"2.0\",\"result\":%s,\"id\":1}", result);

	if (strcmp(r->body, want) != 0)
		fail_msg("got  %s\nwant %s", r->body, want);
	xfree(want);
}

/* Log in over JSON-RPC; the session ref into ref[]. */
static void
login_from(struct fx *f, const char *peer, const char *user, const char *pw, char ref[HA_REF_LEN])
{
	struct reply r;
	char *params = xasprintf("\"%s\",\"%s\"", user, pw);
	struct xval_reply rep = {0};
	char err[XVAL_ERR_MAX];

	json_from(f, peer, "session.login_with_password", params, &r);
	xfree(params);
	assert_int_equal(
	    jsonrpc_decode_response(r.body, r.len, 1 << 20, &rep, NULL, err, sizeof(err)), 0);
	if (rep.kind != XVAL_REPLY_SUCCESS)
		fail_msg("login %s failed: %s", user, r.body);
	assert_int_equal(strncmp(xval_string(rep.value), "OpaqueRef:", 10), 0);
	snprintf(ref, HA_REF_LEN, "%s", xval_string(rep.value));
	xval_reply_clear(&rep);
	reply_clear(&r);
}

static void
login(struct fx *f, const char *user, const char *pw, char ref[HA_REF_LEN])
{
	login_from(f, "192.0.2.1", user, pw, ref);
}

/* JSON call with the session first, then `rest` (may be ""). */
static void
jcall(struct fx *f, const char *ref, const char *method, const char *rest, struct reply *r)
{
	char *params = xasprintf("\"%s\"%s%s", ref, *rest ? "," : "", rest);

	json(f, method, params, r);
	xfree(params);
}

static char *
xml_call(const char *method, const struct xval *params)
{
	return xmlrpc_encode_call(method, params, NULL);
}

/* ---- tests: encodings ---- */

static void
test_xml_shapes(void **state)
{
	struct fx *f = *state;
	struct xval *p = xval_new_array();
	struct xval_reply rep = {0};
	struct reply r;
	char err[XVAL_ERR_MAX], *body, ref[HA_REF_LEN];

	/* Login over XML-RPC with the two params XO sends. */
	xval_array_append(p, xval_new_string("root"));
	xval_array_append(p, xval_new_string("rootpw"));
	body = xml_call("session.login_with_password", p);
	raw(f, "POST", "/RPC2", body, &r);
	xfree(body);
	xval_free(p);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "text/xml");
	assert_non_null(strstr(r.body, "<name>Status</name><value>Success</value>"));
	assert_int_equal(xmlrpc_decode_response(r.body, r.len, 1 << 20, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.kind, XVAL_REPLY_SUCCESS);
	snprintf(ref, sizeof(ref), "%s", xval_string(rep.value));
	xval_reply_clear(&rep);
	reply_clear(&r);

	/* Success with a value, on every XML path. */
	{
		static const char *const paths[] = {"/", "/RPC2", "/xmlrpc"};
		size_t i;

		for (i = 0; i < 3; i++) {
			p = xval_new_array();
			xval_array_append(p, xval_new_string(ref));
			xval_array_append(p, xval_new_string("42"));
			body = xml_call("pool.set_thing", p);
			raw(f, "POST", paths[i], body, &r);
			xfree(body);
			xval_free(p);
			assert_string_equal(r.ctype, "text/xml");
			/* int64 goes out as an untyped string, as xapi's. */
			assert_non_null(
			    strstr(r.body, "<name>Status</name><value>Success</value>"));
			assert_non_null(strstr(r.body, "<name>Value</name><value>42</value>"));
			reply_clear(&r);
		}
	}

	/* Failure: Status Failure, ErrorDescription a string array. */
	p = xval_new_array();
	xval_array_append(p, xval_new_string(ref));
	body = xml_call("VM.nonesuch", p);
	raw(f, "POST", "/", body, &r);
	xfree(body);
	xval_free(p);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "<name>Status</name><value>Failure</value>"));
	assert_non_null(strstr(r.body, "<name>ErrorDescription</name><value><array><data>"
	                               "<value>MESSAGE_METHOD_UNKNOWN</value>"
	                               "<value>VM.nonesuch</value></data></array></value>"));
	reply_clear(&r);
}

static void
test_json_shapes(void **state)
{
	struct fx *f = *state;
	struct reply r;
	char ref[HA_REF_LEN], *body, *want;

	login(f, "root", "rootpw", ref);

	/* v1 with a string id: result, error null, id kept as a string. */
	body =
	    xasprintf("{\"method\":\"pool.set_thing\",\"params\":[\"%s\",7],\"id\":\"abc\"}", ref);
	raw(f, "POST", "/jsonrpc", body, &r);
	xfree(body);
	assert_string_equal(r.ctype, "application/json");
	assert_string_equal(r.body, "{\"result\":7,\"error\":null,\"id\":\"abc\"}");
	reply_clear(&r);

	/* v1 failure. */
	raw(f, "POST", "/jsonrpc", "{\"method\":\"x.y\",\"params\":[],\"id\":\"q\"}", &r);
	assert_string_equal(r.body,
	                    "{\"result\":null,\"error\":[\"MESSAGE_METHOD_UNKNOWN\",\"x.y\"],"
	                    "\"id\":\"q\"}");
	reply_clear(&r);

	/* v2 with an integer id: no error key on success. */
	body = xasprintf("{\"jsonrpc\":\"2.0\",\"method\":\"pool.set_thing\",\"params\":[\"%s\","
	                 "\"9\"],\"id\":77}",
	                 ref);
	raw(f, "POST", "/jsonrpc", body, &r);
	xfree(body);
	assert_string_equal(r.body, "{\"jsonrpc\":\"2.0\",\"result\":9,\"id\":77}");
	reply_clear(&r);

	/* v2 failure with a string id. */
	raw(f, "POST", "/jsonrpc",
	    "{\"jsonrpc\":\"2.0\",\"method\":\"x.y\",\"params\":[],\"id\":\"s\"}", &r);
	want = "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"MESSAGE_METHOD_UNKNOWN\","
	       "\"data\":[\"x.y\"]},\"id\":\"s\"}";
	assert_string_equal(r.body, want);
	reply_clear(&r);
}

static void
test_list_methods(void **state)
{
	struct fx *f = *state;
	struct reply r;
	struct xval_reply rep = {0};
	char err[XVAL_ERR_MAX], *body;
	size_t i;

	body = xml_call("system.listMethods", NULL);
	raw(f, "POST", "/", body, &r);
	xfree(body);
	/* Bare: no Status wrapper. */
	assert_null(strstr(r.body, "Status"));
	assert_int_equal(xmlrpc_decode_response(r.body, r.len, 1 << 20, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.kind, XVAL_REPLY_BARE);
	assert_int_equal(xval_len(rep.value), 4 + sizeof(methods) / sizeof(methods[0]));
	for (i = 1; i < xval_len(rep.value); i++)
		assert_true(strcmp(xval_string(xval_array_get(rep.value, i - 1)),
		                   xval_string(xval_array_get(rep.value, i))) < 0);
	xval_reply_clear(&rep);
	reply_clear(&r);

	/* JSON: the ordinary envelope, the same sorted list. */
	json(f, "system.listMethods", "", &r);
	expect_json_result(&r, "[\"VM.get_thing\",\"VM.set_order\",\"pool.set_thing\","
	                       "\"session.login_with_password\",\"session.logout\","
	                       "\"session.slave_local_login_with_password\","
	                       "\"system.listMethods\",\"test.defer\",\"test.defer_noabort\","
	                       "\"test.flag\",\"test.whoami\"]");
	reply_clear(&r);
}

/* ---- tests: routing and malformed requests ---- */

static void
test_http_routing(void **state)
{
	struct fx *f = *state;
	struct reply r;

	raw(f, "POST", "/nowhere", "x", &r);
	assert_int_equal(r.status, 404);
	reply_clear(&r);
	raw(f, "POST", "/jsonrpc/x", "x", &r);
	assert_int_equal(r.status, 404);
	reply_clear(&r);
	raw(f, "GET", "/jsonrpc", NULL, &r);
	assert_int_equal(r.status, 405);
	reply_clear(&r);
	raw(f, "PUT", "/", "x", &r);
	assert_int_equal(r.status, 405);
	reply_clear(&r);
	raw(f, "OPTIONS", "/jsonrpc", NULL, &r);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.len, 0);
	reply_clear(&r);
	raw(f, "OPTIONS", "/", NULL, &r);
	assert_int_equal(r.status, 204);
	reply_clear(&r);
}

static void
test_malformed(void **state)
{
	struct fx *f = *state;
	struct reply r;

	raw(f, "POST", "/", "this is not XML", &r);
	assert_int_equal(r.status, 500);
	assert_string_equal(r.ctype, "text/plain");
	assert_true(r.len > 0 && r.len < 400);
	reply_clear(&r);
	raw(f, "POST", "/xmlrpc", "<methodCall><methodName>a.b</methodName><params>", &r);
	assert_int_equal(r.status, 500);
	reply_clear(&r);
	raw(f, "POST", "/", "", &r);
	assert_int_equal(r.status, 500);
	reply_clear(&r);

	raw(f, "POST", "/jsonrpc", "{\"jsonrpc\":\"2.0\",\"method\":\"a.b\",\"params\":[", &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(r.ctype, "text/plain");
	reply_clear(&r);
	/* A notification (no id) is refused, as xapi refuses it. */
	raw(f, "POST", "/jsonrpc", "{\"jsonrpc\":\"2.0\",\"method\":\"a.b\",\"params\":[]}", &r);
	assert_int_equal(r.status, 400);
	reply_clear(&r);
	/* XML sent to the JSON endpoint. */
	raw(f, "POST", "/jsonrpc", "<methodCall/>", &r);
	assert_int_equal(r.status, 400);
	reply_clear(&r);
	/* The server is still fine. */
	json(f, "system.listMethods", "", &r);
	assert_non_null(strstr(r.body, "\"result\""));
	reply_clear(&r);
}

/* ---- tests: dispatch errors ---- */

static void
test_unknown_method(void **state)
{
	struct fx *f = *state;
	struct reply r;

	json(f, "VM.nonesuch", "\"OpaqueRef:whatever\"", &r);
	expect_json_error(&r, "MESSAGE_METHOD_UNKNOWN", "\"VM.nonesuch\"");
	reply_clear(&r);
}

static void
test_param_count(void **state)
{
	struct fx *f = *state;
	struct reply r;
	char ref[HA_REF_LEN];

	login(f, "root", "rootpw", ref);
	/* Counts leave the session out, as xapi's dispatcher does. */
	jcall(f, ref, "VM.get_thing", "", &r);
	expect_json_error(&r, "MESSAGE_PARAMETER_COUNT_MISMATCH", "\"VM.get_thing\",\"1\",\"0\"");
	reply_clear(&r);
	jcall(f, ref, "VM.set_order", "\"a\",\"b\",\"c\"", &r);
	expect_json_error(&r, "MESSAGE_PARAMETER_COUNT_MISMATCH", "\"VM.set_order\",\"2\",\"3\"");
	reply_clear(&r);
	/* Not even a session: xapi reports -1 given. */
	json(f, "VM.get_thing", "", &r);
	expect_json_error(&r, "MESSAGE_PARAMETER_COUNT_MISMATCH", "\"VM.get_thing\",\"1\",\"-1\"");
	reply_clear(&r);
	/* The count is checked before the session. */
	jcall(f, "OpaqueRef:bogus", "VM.get_thing", "", &r);
	expect_json_error(&r, "MESSAGE_PARAMETER_COUNT_MISMATCH", "\"VM.get_thing\",\"1\",\"0\"");
	reply_clear(&r);
	json(f, "session.login_with_password", "\"root\"", &r);
	expect_json_error(&r, "MESSAGE_PARAMETER_COUNT_MISMATCH",
	                  "\"session.login_with_password\",\"2\",\"1\"");
	reply_clear(&r);
	json(f, "session.login_with_password", "\"a\",\"b\",\"c\",\"d\",\"e\"", &r);
	expect_json_error(&r, "MESSAGE_PARAMETER_COUNT_MISMATCH",
	                  "\"session.login_with_password\",\"4\",\"5\"");
	reply_clear(&r);
	json(f, "system.listMethods", "1", &r);
	expect_json_error(&r, "MESSAGE_PARAMETER_COUNT_MISMATCH",
	                  "\"system.listMethods\",\"0\",\"1\"");
	reply_clear(&r);
}

static void
test_bad_session(void **state)
{
	struct fx *f = *state;
	struct reply r;

	jcall(f, "OpaqueRef:00000000-0000-0000-0000-000000000000", "VM.get_thing", "\"x\"", &r);
	expect_json_error(&r, "SESSION_INVALID",
	                  "\"OpaqueRef:00000000-0000-0000-0000-000000000000\"");
	reply_clear(&r);
	jcall(f, "garbage", "test.whoami", "", &r);
	expect_json_error(&r, "SESSION_INVALID", "\"garbage\"");
	reply_clear(&r);
	json(f, "test.whoami", "42", &r);
	expect_json_error(&r, "FIELD_TYPE_ERROR", "\"session_id\"");
	reply_clear(&r);
}

static void
test_logout(void **state)
{
	struct fx *f = *state;
	struct reply r;
	char ref[HA_REF_LEN], ref2[HA_REF_LEN], *data;

	login(f, "ro", "ropw", ref);
	login(f, "ro", "ropw", ref2);
	assert_string_not_equal(ref, ref2);
	assert_int_equal(rpc_session_count(f->rpc), 2);
	jcall(f, ref, "session.logout", "", &r);
	expect_json_result(&r, "\"\"");
	reply_clear(&r);
	assert_int_equal(rpc_session_count(f->rpc), 1);
	data = xasprintf("\"%s\"", ref);
	jcall(f, ref, "test.whoami", "", &r);
	expect_json_error(&r, "SESSION_INVALID", data);
	reply_clear(&r);
	jcall(f, ref, "session.logout", "", &r);
	expect_json_error(&r, "SESSION_INVALID", data);
	reply_clear(&r);
	xfree(data);
	/* The other session is untouched. */
	jcall(f, ref2, "test.whoami", "", &r);
	assert_non_null(strstr(r.body, "\"user\":\"ro\""));
	reply_clear(&r);
}

/* ---- tests: login ---- */

static void
test_login_params(void **state)
{
	struct fx *f = *state;
	struct reply r;
	struct xval_reply rep = {0};
	char err[XVAL_ERR_MAX], *params;

	/* Four params: version and originator. */
	json(f, "session.login_with_password", "\"op\",\"oppw\",\"1.1\",\"xo-test\"", &r);
	assert_int_equal(
	    jsonrpc_decode_response(r.body, r.len, 1 << 20, &rep, NULL, err, sizeof(err)), 0);
	assert_int_equal(rep.kind, XVAL_REPLY_SUCCESS);
	params = xasprintf("\"%s\"", xval_string(rep.value));
	xval_reply_clear(&rep);
	reply_clear(&r);
	json_from(f, "198.51.100.7", "test.whoami", params, &r);
	xfree(params);
	expect_json_result(&r, "{\"user\":\"op\",\"role\":\"pool-operator\",\"originator\":"
	                       "\"xo-test\",\"method\":\"test.whoami\",\"peer\":\"198.51.100.7\"}");
	reply_clear(&r);

	/* Three params are fine too (version only). */
	json(f, "session.login_with_password", "\"op\",\"oppw\",\"1.1\"", &r);
	assert_non_null(strstr(r.body, "\"result\":\"OpaqueRef:"));
	reply_clear(&r);

	/* Wrong types. */
	json(f, "session.login_with_password", "\"op\",5", &r);
	expect_json_error(&r, "FIELD_TYPE_ERROR", "\"pwd\"");
	reply_clear(&r);
	json(f, "session.login_with_password", "\"op\",\"oppw\",1.1", &r);
	expect_json_error(&r, "FIELD_TYPE_ERROR", "\"version\"");
	reply_clear(&r);
	assert_int_equal(rpc_session_count(f->rpc), 2);
}

static void
test_login_failures(void **state)
{
	struct fx *f = *state;
	struct reply r;

	json(f, "session.login_with_password", "\"root\",\"wrong\"", &r);
	expect_json_error(&r, "SESSION_AUTHENTICATION_FAILED",
	                  "\"root\",\"Authentication failure\"");
	reply_clear(&r);
	/* Unknown user: the same answer (and the same slow check). */
	json_from(f, "192.0.2.2", "session.login_with_password", "\"mallory\",\"x\"", &r);
	expect_json_error(&r, "SESSION_AUTHENTICATION_FAILED",
	                  "\"mallory\",\"Authentication failure\"");
	reply_clear(&r);
	/* A user without a role cannot log in even with its password. */
	json_from(f, "192.0.2.3", "session.login_with_password", "\"nobody\",\"nopw\"", &r);
	expect_json_error(&r, "SESSION_AUTHENTICATION_FAILED",
	                  "\"nobody\",\"Authentication failure\"");
	reply_clear(&r);
	assert_int_equal(rpc_session_count(f->rpc), 0);
}

static void
test_rate_limit(void **state)
{
	struct fx *f = *state;
	struct reply r;
	char ref[HA_REF_LEN];
	int i, before;

	/* login_failures is 3 in this fixture. */
	for (i = 0; i < 3; i++) {
		json_from(f, "203.0.113.9", "session.login_with_password", "\"root\",\"guess\"",
		          &r);
		expect_json_error(&r, "SESSION_AUTHENTICATION_FAILED",
		                  "\"root\",\"Authentication failure\"");
		reply_clear(&r);
	}
	/* Over the limit: refused at once, even with the right password,
	** without looking the user up or checking anything. */
	before = f->lookups;
	for (i = 0; i < 2; i++) {
		json_from(f, "203.0.113.9", "session.login_with_password", "\"root\",\"rootpw\"",
		          &r);
		expect_json_error(&r, "SESSION_AUTHENTICATION_FAILED",
		                  "\"root\",\"Authentication failure\"");
		reply_clear(&r);
	}
	assert_int_equal(f->lookups, before);
	/* Another address still logs in. */
	login_from(f, "203.0.113.10", "root", "rootpw", ref);
	assert_int_equal(rpc_session_count(f->rpc), 1);
}

static void
test_rate_limit_window(void **state)
{
	struct rpc_config cfg;
	struct fx *f;
	struct reply r;
	char ref[HA_REF_LEN];

	rpc_config_defaults(&cfg);
	cfg.login_failures = 1;
	cfg.login_window_s = 1;
	f = fx_new(&cfg);
	json(f, "session.login_with_password", "\"root\",\"guess\"", &r);
	reply_clear(&r);
	json(f, "session.login_with_password", "\"root\",\"rootpw\"", &r);
	expect_json_error(&r, "SESSION_AUTHENTICATION_FAILED",
	                  "\"root\",\"Authentication failure\"");
	reply_clear(&r);
	/* The window ends: the address may try again. */
	fx_run(f, 1100);
	login(f, "root", "rootpw", ref);
	fx_free(f);
}

/* Parallel attempts in flight count against the limit too. */
static void
test_rate_limit_parallel(void **state)
{
	struct fx *f = *state;
	struct reply r[5];
	int i, failed = 0;
	const char *body = "{\"jsonrpc\":\"2.0\",\"method\":\"session.login_with_password\","
	                   "\"params\":[\"root\",\"guess\"],\"id\":1}";

	for (i = 0; i < 5; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		rpc_handle_raw(f->rpc, "POST", "/jsonrpc", body, strlen(body), "203.0.113.50",
		               on_done, &r[i]);
	}
	/* Two were refused at once: three were already being checked. */
	assert_int_equal(r[3].done, 1);
	assert_int_equal(r[4].done, 1);
	assert_int_equal(f->lookups, 3);
	for (i = 0; i < 5; i++) {
		wait_done(f, &r[i]);
		failed += strstr(r[i].body, "SESSION_AUTHENTICATION_FAILED") != NULL;
		reply_clear(&r[i]);
	}
	assert_int_equal(failed, 5);
}

static void
test_login_aborted(void **state)
{
	struct fx *f = *state;
	struct reply r = {0};
	const char *body = "{\"jsonrpc\":\"2.0\",\"method\":\"session.login_with_password\","
	                   "\"params\":[\"root\",\"rootpw\"],\"id\":1}";

	rpc_handle_raw(f->rpc, "POST", "/jsonrpc", body, strlen(body), "192.0.2.1", on_done, &r);
	assert_int_equal(r.done, 0);
	rpc_raw_abort(f->rpc, &r);
	/* The check finishes; its result is dropped: no answer, no session. */
	fx_run(f, 500);
	assert_int_equal(r.done, 0);
	assert_int_equal(rpc_session_count(f->rpc), 0);
}

/* The password checks in flight are capped for all clients together: a
** check outlives its client, so without the cap logins sent from many
** addresses (each under its own limit) and dropped at once would queue
** checks without bound. */
static void
test_login_cap(void **state)
{
	struct rpc_config cfg;
	struct fx *f;
	struct reply r[4], late;
	char peer[32];
	int i;
	const char *body = "{\"jsonrpc\":\"2.0\",\"method\":\"session.login_with_password\","
	                   "\"params\":[\"root\",\"guess\"],\"id\":1}";

	rpc_config_defaults(&cfg);
	cfg.max_logins = 2;
	f = fx_new(&cfg);
	for (i = 0; i < 4; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		snprintf(peer, sizeof(peer), "198.51.100.%d", i + 1);
		rpc_handle_raw(f->rpc, "POST", "/jsonrpc", body, strlen(body), peer, on_done,
		               &r[i]);
	}
	/* Two are being checked; the others were refused at once, unchecked. */
	assert_int_equal(r[0].done, 0);
	assert_int_equal(r[1].done, 0);
	assert_int_equal(r[2].done, 1);
	assert_int_equal(r[3].done, 1);
	assert_int_equal(f->lookups, 2);
	expect_json_error(&r[2], "SESSION_AUTHENTICATION_FAILED",
	                  "\"root\",\"Authentication failure\"");
	/* A client that went away still holds its slot until its check ends. */
	rpc_raw_abort(f->rpc, &r[0]);
	memset(&late, 0, sizeof(late));
	rpc_handle_raw(f->rpc, "POST", "/jsonrpc", body, strlen(body), "198.51.100.9", on_done,
	               &late);
	assert_int_equal(late.done, 1);
	reply_clear(&late);
	wait_done(f, &r[1]);
	/* Once the checks are over, logins work again. */
	for (i = 0; i < 100 && rpc_session_count(f->rpc) == 0; i++) {
		json_from(f, "198.51.100.10", "session.login_with_password",
		          "\"root\",\"rootpw\"", &late);
		reply_clear(&late);
		if (rpc_session_count(f->rpc) == 0)
			fx_run(f, 50); /* the aborted check still holds its slot */
	}
	assert_int_equal(rpc_session_count(f->rpc), 1);
	for (i = 1; i < 4; i++)
		reply_clear(&r[i]);
	assert_int_equal(r[0].done, 0);
	fx_free(f);
}

/* A user changed (removed, demoted, new password) while its login is being
** checked: the login was looked up before the change and must not open a
** session with the old role or password. */
static void
test_login_user_changed(void **state)
{
	struct fx *f = *state;
	struct reply r = {0};
	const char *body = "{\"jsonrpc\":\"2.0\",\"method\":\"session.login_with_password\","
	                   "\"params\":[\"root\",\"rootpw\"],\"id\":1}";

	rpc_handle_raw(f->rpc, "POST", "/jsonrpc", body, strlen(body), "192.0.2.1", on_done, &r);
	assert_int_equal(r.done, 0);
	rpc_sessions_drop_user(f->rpc, "root");
	wait_done(f, &r);
	expect_json_error(&r, "SESSION_AUTHENTICATION_FAILED", "\"root\",\"Authentication failure\"");
	reply_clear(&r);
	assert_int_equal(rpc_session_count(f->rpc), 0);
}

/* rpc_free while a password check runs: the check reports into nothing. */
static void
test_free_during_login(void **state)
{
	struct fx *f = fx_new(NULL);
	struct reply r = {0};
	const char *body = "{\"jsonrpc\":\"2.0\",\"method\":\"session.login_with_password\","
	                   "\"params\":[\"root\",\"rootpw\"],\"id\":1}";

	rpc_handle_raw(f->rpc, "POST", "/jsonrpc", body, strlen(body), "192.0.2.1", on_done, &r);
	assert_int_equal(r.done, 0);
	rpc_free(f->rpc);
	f->rpc = NULL;
	/* The client heard the shutdown. */
	assert_int_equal(r.done, 1);
	assert_non_null(strstr(r.body, "INTERNAL_ERROR"));
	reply_clear(&r);
	fx_free(f);
}

/* ---- tests: sessions ---- */

static void
test_idle_expiry(void **state)
{
	struct rpc_config cfg;
	struct fx *f;
	struct reply r;
	char ref[HA_REF_LEN], ref2[HA_REF_LEN], *data;

	rpc_config_defaults(&cfg);
	cfg.session_idle_s = 1;
	f = fx_new(&cfg);

	/* Lazily, on use. */
	login(f, "ro", "ropw", ref);
	fx_run(f, 600);
	jcall(f, ref, "test.whoami", "", &r); /* use keeps it alive */
	assert_non_null(strstr(r.body, "\"result\""));
	reply_clear(&r);
	fx_run(f, 600);
	jcall(f, ref, "test.whoami", "", &r);
	assert_non_null(strstr(r.body, "\"result\""));
	reply_clear(&r);
	fx_run(f, 1100);
	data = xasprintf("\"%s\"", ref);
	jcall(f, ref, "test.whoami", "", &r);
	expect_json_error(&r, "SESSION_INVALID", data);
	reply_clear(&r);
	xfree(data);

	/* By the sweep, with nobody calling. */
	login(f, "ro", "ropw", ref2);
	assert_int_equal(rpc_session_count(f->rpc), 1);
	fx_run(f, 2300);
	assert_int_equal(rpc_session_count(f->rpc), 0);
	fx_free(f);
}

static void
test_session_cap(void **state)
{
	struct rpc_config cfg;
	struct fx *f;
	struct reply r;
	char a[HA_REF_LEN], b[HA_REF_LEN], c[HA_REF_LEN];

	rpc_config_defaults(&cfg);
	cfg.max_sessions = 2;
	f = fx_new(&cfg);
	login(f, "ro", "ropw", a);
	login(f, "ro", "ropw", b);
	/* Use a: b is now the least recently used. */
	jcall(f, a, "test.whoami", "", &r);
	reply_clear(&r);
	login(f, "ro", "ropw", c);
	assert_int_equal(rpc_session_count(f->rpc), 2);
	jcall(f, b, "test.whoami", "", &r);
	assert_non_null(strstr(r.body, "SESSION_INVALID"));
	reply_clear(&r);
	jcall(f, a, "test.whoami", "", &r);
	assert_non_null(strstr(r.body, "\"result\""));
	reply_clear(&r);
	jcall(f, c, "test.whoami", "", &r);
	assert_non_null(strstr(r.body, "\"result\""));
	reply_clear(&r);

	rpc_sessions_drop_user(f->rpc, "ro");
	assert_int_equal(rpc_session_count(f->rpc), 0);
	fx_free(f);
}

/* Logins are not rate-limited once they succeed: without a per-user cap a
** read-only user logging in max_sessions times would evict everyone else.
** At the per-user cap, the user's own least recently used session goes. */
static void
test_session_cap_per_user(void **state)
{
	struct rpc_config cfg;
	struct fx *f;
	struct reply r;
	char root[HA_REF_LEN], a[HA_REF_LEN], b[HA_REF_LEN], c[HA_REF_LEN];
	int i;

	rpc_config_defaults(&cfg);
	assert_int_equal(cfg.max_sessions_per_user, 50);
	cfg.max_sessions = 4;
	cfg.max_sessions_per_user = 2;
	f = fx_new(&cfg);
	login(f, "root", "rootpw", root);
	login(f, "ro", "ropw", a);
	login(f, "ro", "ropw", b);
	/* Use a: b is ro's least recently used, root the global one. */
	jcall(f, a, "test.whoami", "", &r);
	reply_clear(&r);
	for (i = 0; i < 5; i++) {
		login(f, "ro", "ropw", c);
		assert_int_equal(rpc_session_count(f->rpc), 3);
	}
	jcall(f, b, "test.whoami", "", &r);
	assert_non_null(strstr(r.body, "SESSION_INVALID"));
	reply_clear(&r);
	/* Someone else's session is never the one evicted. */
	jcall(f, root, "test.whoami", "", &r);
	assert_non_null(strstr(r.body, "\"result\""));
	reply_clear(&r);
	jcall(f, c, "test.whoami", "", &r);
	assert_non_null(strstr(r.body, "\"result\""));
	reply_clear(&r);
	fx_free(f);
}

/* ---- tests: roles and pool members ---- */

static void
test_rbac(void **state)
{
	struct fx *f = *state;
	struct reply r;
	char ro[HA_REF_LEN], op[HA_REF_LEN], root[HA_REF_LEN];
	const char *vm = "\"OpaqueRef:8d5bd5f4-1c3e-4a6b-9f0e-3b2a1c4d5e6f\"";
	char *rest = xasprintf("%s,3", vm);

	login(f, "ro", "ropw", ro);
	login(f, "op", "oppw", op);
	login(f, "root", "rootpw", root);

	jcall(f, ro, "pool.set_thing", "1", &r);
	expect_json_error(&r, "RBAC_PERMISSION_DENIED",
	                  "\"pool.set_thing\",\"No permission in user session. "
	                  "(Roles with this permission: pool-admin)\"");
	reply_clear(&r);
	jcall(f, op, "pool.set_thing", "1", &r);
	assert_non_null(strstr(r.body, "RBAC_PERMISSION_DENIED"));
	reply_clear(&r);
	jcall(f, root, "pool.set_thing", "1", &r);
	expect_json_result(&r, "1");
	reply_clear(&r);

	/* The permission is the method name in lower case. */
	jcall(f, ro, "VM.set_order", rest, &r);
	expect_json_error(&r, "RBAC_PERMISSION_DENIED",
	                  "\"vm.set_order\",\"No permission in user session. "
	                  "(Roles with this permission: pool-admin, pool-operator)\"");
	reply_clear(&r);
	jcall(f, op, "VM.set_order", rest, &r);
	expect_json_result(&r, "\"\"");
	reply_clear(&r);
	jcall(f, root, "VM.set_order", rest, &r);
	expect_json_result(&r, "\"\"");
	reply_clear(&r);
	/* Read-only may read. */
	jcall(f, ro, "VM.get_thing", vm, &r);
	expect_json_result(&r, "\"8d5bd5f4-1c3e-4a6b-9f0e-3b2a1c4d5e6f\"");
	reply_clear(&r);
	xfree(rest);
}

static void
test_host_is_slave(void **state)
{
	struct fx *f = *state;
	struct reply r;
	char ref[HA_REF_LEN];
	int before;

	login(f, "root", "rootpw", ref);
	f->master = "10.0.0.1";
	before = f->lookups;
	json(f, "session.login_with_password", "\"root\",\"rootpw\"", &r);
	expect_json_error(&r, "HOST_IS_SLAVE", "\"10.0.0.1\"");
	reply_clear(&r);
	/* Even a wrong password gets HOST_IS_SLAVE: it is said first. */
	json(f, "session.login_with_password", "\"root\",\"wrong\"", &r);
	expect_json_error(&r, "HOST_IS_SLAVE", "\"10.0.0.1\"");
	reply_clear(&r);
	assert_int_equal(f->lookups, before);
	/* Writes are refused, reads still answered. */
	jcall(f, ref, "pool.set_thing", "5", &r);
	expect_json_error(&r, "HOST_IS_SLAVE", "\"10.0.0.1\"");
	reply_clear(&r);
	jcall(f, ref, "test.whoami", "", &r);
	assert_non_null(strstr(r.body, "\"result\""));
	reply_clear(&r);
	f->master = NULL;
	jcall(f, ref, "pool.set_thing", "5", &r);
	expect_json_result(&r, "5");
	reply_clear(&r);
}

/* session.slave_local_login_with_password: a session on a pool member,
** which reads there and is still refused writes. */
static void
test_slave_local_login(void **state)
{
	struct fx *f = *state;
	struct reply r;
	char ref[HA_REF_LEN];

	f->master = "10.0.0.1";
	json(f, "session.slave_local_login_with_password", "\"root\",\"wrong\"", &r);
	assert_non_null(strstr(r.body, "\"SESSION_AUTHENTICATION_FAILED\""));
	reply_clear(&r);
	json(f, "session.slave_local_login_with_password", "\"root\",\"rootpw\"", &r);
	assert_non_null(strstr(r.body, "\"result\":\"OpaqueRef:"));
	snprintf(ref, sizeof(ref), "%.*s", HA_REF_LEN - 1, strstr(r.body, "OpaqueRef:"));
	reply_clear(&r);
	jcall(f, ref, "test.whoami", "", &r);
	assert_non_null(strstr(r.body, "\"user\":\"root\""));
	reply_clear(&r);
	jcall(f, ref, "pool.set_thing", "5", &r);
	expect_json_error(&r, "HOST_IS_SLAVE", "\"10.0.0.1\"");
	reply_clear(&r);
	f->master = NULL;
}

/* The write hook sees every RPC_WRITE call (and no read); a held answer
** leaves only at rpc_call_release, or is replaced by rpc_call_release_fail;
** a held call whose client went away stays valid until released. */
static void
test_write_hook_hold(void **state)
{
	struct fx *f = *state;
	struct reply r = {0};
	char ref[HA_REF_LEN], *body;

	login(f, "root", "rootpw", ref);
	jcall(f, ref, "test.whoami", "", &r);
	reply_clear(&r);
	assert_int_equal(f->writes_hooked, 0);
	jcall(f, ref, "pool.set_thing", "7", &r);
	expect_json_result(&r, "7");
	reply_clear(&r);
	assert_int_equal(f->writes_hooked, 1);

	f->hold_writes = 1;
	body = xasprintf("{\"jsonrpc\":\"2.0\",\"method\":\"pool.set_thing\",\"params\":"
	                 "[\"%s\",8],\"id\":1}", ref);
	rpc_handle_raw(f->rpc, "POST", "/jsonrpc", body, strlen(body), "192.0.2.1", on_done, &r);
	assert_non_null(f->held);
	assert_true(rpc_call_completed(f->held));
	assert_int_equal(r.done, 0); /* answered, but held */
	rpc_call_release(f->held);
	assert_int_equal(r.done, 1);
	assert_string_equal(r.body, "{\"jsonrpc\":\"2.0\",\"result\":8,\"id\":1}");
	reply_clear(&r);

	/* release_fail: the client hears the given error instead. */
	f->held = NULL;
	rpc_handle_raw(f->rpc, "POST", "/jsonrpc", body, strlen(body), "192.0.2.1", on_done, &r);
	assert_non_null(f->held);
	rpc_call_release_fail(f->held, "HOST_STILL_BOOTING", NULL);
	assert_int_equal(r.done, 1);
	assert_non_null(strstr(r.body, "HOST_STILL_BOOTING"));
	reply_clear(&r);

	/* The client goes away while the call is held: nothing is sent, the
	** call stays valid and is freed by its release. */
	f->held = NULL;
	rpc_handle_raw(f->rpc, "POST", "/jsonrpc", body, strlen(body), "192.0.2.1", on_done, &r);
	assert_non_null(f->held);
	rpc_raw_abort(f->rpc, &r);
	assert_string_equal(rpc_call_method(f->held), "pool.set_thing");
	rpc_call_release(f->held);
	assert_int_equal(r.done, 0);
	xfree(body);
	f->hold_writes = 0;
}

/* While the layer above says it is not serving, only RPC_ALWAYS methods
** answer; the rest get HOST_STILL_BOOTING. */
static void
test_not_serving(void **state)
{
	struct fx *f = *state;
	struct reply r;
	char ref[HA_REF_LEN];

	login(f, "ro", "ropw", ref);
	f->not_serving = 1;
	jcall(f, ref, "test.whoami", "", &r);
	expect_json_error(&r, "HOST_STILL_BOOTING", "");
	reply_clear(&r);
	json(f, "system.listMethods", "", &r);
	assert_non_null(strstr(r.body, "\"result\""));
	reply_clear(&r);
	login(f, "root", "rootpw", ref); /* logins still work */
	f->not_serving = 0;
	jcall(f, ref, "test.whoami", "", &r);
	assert_non_null(strstr(r.body, "\"result\""));
	reply_clear(&r);
}

/* ---- tests: deferred calls ---- */

static void
test_deferred(void **state)
{
	struct fx *f = *state;
	struct reply r = {0};
	char ref[HA_REF_LEN], *body;

	login(f, "ro", "ropw", ref);
	body = xasprintf("{\"jsonrpc\":\"2.0\",\"method\":\"test.defer\",\"params\":[\"%s\"],"
	                 "\"id\":5}",
	                 ref);
	rpc_handle_raw(f->rpc, "POST", "/jsonrpc", body, strlen(body), "192.0.2.1", on_done, &r);
	xfree(body);
	assert_int_equal(r.done, 0);
	wait_done(f, &r);
	assert_string_equal(r.body, "{\"jsonrpc\":\"2.0\",\"result\":\"later\",\"id\":5}");
	assert_int_equal(f->aborted, 0);
	reply_clear(&r);
}

static void
test_deferred_aborted(void **state)
{
	struct fx *f = *state;
	struct reply r = {0}, other = {0};
	char ref[HA_REF_LEN], *body;

	login(f, "ro", "ropw", ref);
	body = xasprintf("{\"jsonrpc\":\"2.0\",\"method\":\"test.defer\",\"params\":[\"%s\"],"
	                 "\"id\":5}",
	                 ref);
	rpc_handle_raw(f->rpc, "POST", "/jsonrpc", body, strlen(body), "192.0.2.1", on_done, &r);
	assert_non_null(f->deferred);
	/* Aborting some other client changes nothing. */
	rpc_raw_abort(f->rpc, &other);
	assert_non_null(f->deferred);
	rpc_raw_abort(f->rpc, &r);
	assert_int_equal(f->aborted, 1);
	assert_null(f->deferred);
	fx_run(f, 60);
	assert_int_equal(r.done, 0);

	/* Without an abort callback: the late completion is dropped. */
	xfree(body);
	body = xasprintf("{\"jsonrpc\":\"2.0\",\"method\":\"test.defer_noabort\",\"params\":"
	                 "[\"%s\"],\"id\":6}",
	                 ref);
	rpc_handle_raw(f->rpc, "POST", "/jsonrpc", body, strlen(body), "192.0.2.1", on_done, &r);
	xfree(body);
	assert_non_null(f->deferred);
	rpc_raw_abort(f->rpc, &r);
	assert_non_null(f->deferred); /* still the handler's to complete */
	fx_run(f, 60);
	assert_null(f->deferred);    /* completed by the timer ... */
	assert_int_equal(r.done, 0); /* ... into nothing */
}

static void
test_free_with_pending(void **state)
{
	struct fx *f = fx_new(NULL);
	struct reply r = {0};
	char ref[HA_REF_LEN], *body;

	login(f, "ro", "ropw", ref);
	body = xasprintf("{\"jsonrpc\":\"2.0\",\"method\":\"test.defer\",\"params\":[\"%s\"],"
	                 "\"id\":5}",
	                 ref);
	rpc_handle_raw(f->rpc, "POST", "/jsonrpc", body, strlen(body), "192.0.2.1", on_done, &r);
	xfree(body);
	rpc_free(f->rpc);
	f->rpc = NULL;
	assert_int_equal(f->aborted, 1);
	assert_int_equal(r.done, 1);
	assert_string_equal(r.body, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":"
	                            "\"INTERNAL_ERROR\",\"data\":[\"hasvcd is shutting down\"]},"
	                            "\"id\":5}");
	reply_clear(&r);
	fx_free(f);
}

/* ---- tests: param helpers ---- */

static void
test_params(void **state)
{
	struct fx *f = *state;
	struct reply r;
	char ref[HA_REF_LEN];
	struct xval *p;
	char *body;

	login(f, "root", "rootpw", ref);
	/* A malformed ref: HANDLE_INVALID [class, ref]. */
	jcall(f, ref, "VM.get_thing", "\"OpaqueRef:nope\"", &r);
	expect_json_error(&r, "HANDLE_INVALID", "\"VM\",\"OpaqueRef:nope\"");
	reply_clear(&r);
	jcall(f, ref, "VM.get_thing", "\"OpaqueRef:NULL\"", &r);
	expect_json_error(&r, "HANDLE_INVALID", "\"VM\",\"OpaqueRef:NULL\"");
	reply_clear(&r);
	/* Wrong types: FIELD_TYPE_ERROR [name], or the index without names. */
	jcall(f, ref, "VM.get_thing", "12", &r);
	expect_json_error(&r, "FIELD_TYPE_ERROR", "\"0\"");
	reply_clear(&r);
	jcall(f, ref, "VM.set_order", "\"OpaqueRef:8d5bd5f4-1c3e-4a6b-9f0e-3b2a1c4d5e6f\",\"x\"",
	      &r);
	expect_json_error(&r, "FIELD_TYPE_ERROR", "\"value\"");
	reply_clear(&r);
	jcall(f, ref, "VM.set_order", "true,1", &r);
	expect_json_error(&r, "FIELD_TYPE_ERROR", "\"self\"");
	reply_clear(&r);
	jcall(f, ref, "pool.set_thing", "1.5", &r);
	expect_json_error(&r, "FIELD_TYPE_ERROR", "\"0\"");
	reply_clear(&r);
	jcall(f, ref, "pool.set_thing", "\"99999999999999999999\"", &r);
	expect_json_error(&r, "FIELD_TYPE_ERROR", "\"0\"");
	reply_clear(&r);
	/* int64 as a decimal string, as XML-RPC clients send it. */
	jcall(f, ref, "pool.set_thing", "\"-9223372036854775808\"", &r);
	expect_json_result(&r, "-9223372036854775808");
	reply_clear(&r);
	p = xval_new_array();
	xval_array_append(p, xval_new_string(ref));
	xval_array_append(p, xval_new_string("123"));
	body = xml_call("pool.set_thing", p);
	raw(f, "POST", "/", body, &r);
	assert_non_null(strstr(r.body, "<name>Value</name><value>123</value>"));
	reply_clear(&r);
	xfree(body);
	xval_free(p);
	/* Bools: true JSON bools, and "true"/"false" strings. */
	jcall(f, ref, "test.flag", "true", &r);
	expect_json_result(&r, "true");
	reply_clear(&r);
	jcall(f, ref, "test.flag", "\"false\"", &r);
	expect_json_result(&r, "false");
	reply_clear(&r);
	jcall(f, ref, "test.flag", "1", &r);
	expect_json_error(&r, "FIELD_TYPE_ERROR", "\"0\"");
	reply_clear(&r);
	jcall(f, ref, "test.flag", "\"yes\"", &r);
	expect_json_error(&r, "FIELD_TYPE_ERROR", "\"0\"");
	reply_clear(&r);
}

static void
test_register(void **state)
{
	struct fx *f = *state;
	struct rpc_method m = methods[0];

	assert_int_equal(rpc_register(f->rpc, &m), -1);
	m.name = "session.logout";
	assert_int_equal(rpc_register(f->rpc, &m), -1);
	m.name = "AAA.first";
	assert_int_equal(rpc_register(f->rpc, &m), 0);
	assert_string_equal(rpc_role_name(RPC_ROLE_READ_ONLY), "read-only");
	assert_string_equal(rpc_role_name(RPC_ROLE_POOL_OPERATOR), "pool-operator");
	assert_string_equal(rpc_role_name(RPC_ROLE_POOL_ADMIN), "pool-admin");
	assert_int_equal(rpc_role_from_name("pool-admin"), RPC_ROLE_POOL_ADMIN);
	assert_int_equal(rpc_role_from_name("read-only"), RPC_ROLE_READ_ONLY);
	assert_int_equal(rpc_role_from_name("root"), -1);
	assert_int_equal(rpc_role_from_name("none"), -1);
	assert_int_equal(rpc_role_from_name(NULL), -1);
	rpc_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_xml_shapes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_json_shapes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_methods, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_http_routing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_method, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_param_count, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_session, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_logout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_login_params, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_login_failures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
	    cmocka_unit_test(test_rate_limit_window),
	    cmocka_unit_test_setup_teardown(test_rate_limit_parallel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_login_aborted, setup, teardown),
	    cmocka_unit_test(test_login_cap),
	    cmocka_unit_test_setup_teardown(test_login_user_changed, setup, teardown),
	    cmocka_unit_test(test_free_during_login),
	    cmocka_unit_test(test_idle_expiry),
	    cmocka_unit_test(test_session_cap),
	    cmocka_unit_test(test_session_cap_per_user),
	    cmocka_unit_test_setup_teardown(test_rbac, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_host_is_slave, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slave_local_login, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_hook_hold, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_serving, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deferred, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deferred_aborted, setup, teardown),
	    cmocka_unit_test(test_free_with_pending),
	    cmocka_unit_test_setup_teardown(test_params, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_register, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
