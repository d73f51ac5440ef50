/*
** A harness for tests that drive API methods in-process: JSON-RPC bodies
** through rpc_handle_raw on an event loop, real sessions, and assertions on
** the XAPI replies.  Shared by test_api_objects.c and test_api_planner.c.
**
** The including test defines, before including this file:
**     static struct db *db;  static struct event_base *base;  static struct rpc *rpc;
** and includes cmocka, api/jsonrpc.h, api/passwd.h, api/rpc.h, hasvc/db.h,
** lib/xmalloc.h.
*/
#ifndef HASVC_TESTS_API_HARNESS_H
#define HASVC_TESTS_API_HARNESS_H

struct answer {
	int done;
	int status;
	char *body;
	size_t len;
};

static void
on_done(void *arg, int status, const char *ctype, const char *body, size_t len)
{
	struct answer *a = arg;

	a->done = 1;
	a->status = status;
	a->body = xstrndup(body, len);
	a->len = len;
}

/* Call `method` with JSON params (the text inside [...]) and wait for the
** answer on the loop.  The caller clears the reply. */
static struct xval_reply
call(const char *method, const char *fmt, ...)
{
	struct answer a = {0};
	struct xval_reply r = {0};
	char params[4096], err[XVAL_ERR_MAX];
	char *body;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(params, sizeof(params), fmt, ap);
	va_end(ap);
	body = xasprintf("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":[%s]}", method,
	                 params);
	rpc_handle_raw(rpc, "POST", "/jsonrpc", body, strlen(body), "127.0.0.1", on_done, &a);
	while (!a.done)
		assert_int_not_equal(event_base_loop(base, EVLOOP_ONCE), -1);
	xfree(body);
	assert_int_equal(a.status, 200);
	assert_int_equal(
	    jsonrpc_decode_response(a.body, a.len, 1u << 26, &r, NULL, err, sizeof(err)), 0);
	xfree(a.body);
	return r;
}

/* The value of a successful reply (the reply keeps it). */
static struct xval *
ok(struct xval_reply *r)
{
	if (r->kind != XVAL_REPLY_SUCCESS) {
		size_t i;

		for (i = 0; xval_is(r->value, XVAL_ARRAY) && i < xval_len(r->value); i++)
			if (xval_is(xval_array_get(r->value, i), XVAL_STRING))
				print_error("error[%zu] = %s\n", i,
				            xval_string(xval_array_get(r->value, i)));
	}
	assert_int_equal(r->kind, XVAL_REPLY_SUCCESS);
	return r->value;
}

/* Assert a failure [code, params...] (params end with NULL) and clear r. */
static void
expect_error(struct xval_reply *r, const char *code, ...)
{
	const char *p;
	va_list ap;
	size_t i = 1;

	assert_int_equal(r->kind, XVAL_REPLY_FAILURE);
	assert_true(xval_is(r->value, XVAL_ARRAY));
	assert_true(xval_len(r->value) >= 1);
	assert_string_equal(xval_string(xval_array_get(r->value, 0)), code);
	va_start(ap, code);
	while ((p = va_arg(ap, const char *)) != NULL) {
		assert_true(i < xval_len(r->value));
		assert_string_equal(xval_string(xval_array_get(r->value, i)), p);
		i++;
	}
	va_end(ap);
	assert_int_equal(i, xval_len(r->value));
	xval_reply_clear(r);
}

/* A call that must succeed with the void result "". */
#define CALL_VOID(...)                                                                             \
	do {                                                                                       \
		struct xval_reply r_ = call(__VA_ARGS__);                                          \
		assert_string_equal(xval_string(ok(&r_)), "");                                     \
		xval_reply_clear(&r_);                                                             \
	} while (0)

static void
login(const char *user, const char *pw, char out[HA_REF_LEN])
{
	struct xval_reply r = call("session.login_with_password", "\"%s\",\"%s\"", user, pw);

	snprintf(out, HA_REF_LEN, "%s", xval_string(ok(&r)));
	xval_reply_clear(&r);
}

static void
add_user(const char *name, const char *pw, const char *role)
{
	struct db_user u;

	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "%s", name);
	snprintf(u.role, sizeof(u.role), "%s", role);
	assert_int_equal(
	    passwd_hash(pw, PASSWD_MIN_ITERATIONS, u.password_hash, sizeof(u.password_hash)), 0);
	assert_int_equal(db_user_put(db, &u), 0);
}

#endif
