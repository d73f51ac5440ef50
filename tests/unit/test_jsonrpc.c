/*
** JSON-RPC codec: v1 and v2 requests, round trips of every value type, the
** exact bytes xapi writes, and every bad path.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/jsonrpc.h"

#define MAX (64 * 1024)

static int
decode(const char *body, struct jsonrpc_request *r, char *err)
{
	return jsonrpc_decode_request(body, strlen(body), MAX, r, err, XVAL_ERR_MAX);
}

static void
bad(const char *body, int rc, const char *needle)
{
	struct jsonrpc_request r;
	char err[XVAL_ERR_MAX] = "";

	assert_int_equal(decode(body, &r, err), rc);
	if (strstr(err, needle) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
	assert_null(r.method);
	assert_null(r.params);
	assert_null(r.id);
}

static void
test_requests(void **state)
{
	struct jsonrpc_request r;
	char err[XVAL_ERR_MAX];

	/* What Xen Orchestra's xen-api sends. */
	assert_int_equal(decode("{\"id\":0,\"jsonrpc\":\"2.0\",\"method\":"
	                        "\"session.login_with_password\",\"params\":[\"root\",\"pw\"]}",
	                        &r, err),
	                 0);
	assert_int_equal(r.version, 2);
	assert_string_equal(r.method, "session.login_with_password");
	assert_int_equal(xval_len(r.params), 2);
	assert_string_equal(xval_string(xval_array_get(r.params, 1)), "pw");
	assert_true(xval_is(r.id, XVAL_INT) && xval_int(r.id) == 0);
	jsonrpc_request_clear(&r);

	assert_int_equal(decode(" {\"method\":\"a\",\"params\":[],\"id\":\"s-1\"}\n", &r, err), 0);
	assert_int_equal(r.version, 1);
	assert_true(xval_is(r.id, XVAL_STRING));
	assert_string_equal(xval_string(r.id), "s-1");
	jsonrpc_request_clear(&r);

	assert_int_equal(decode("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1}", &r, err), 0);
	assert_int_equal(xval_len(r.params), 0);
	jsonrpc_request_clear(&r);
	assert_int_equal(
	    decode("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":null,\"id\":1}", &r, err), 0);
	assert_int_equal(xval_len(r.params), 0);
	jsonrpc_request_clear(&r);
	/* By-name params are one struct param. */
	assert_int_equal(decode("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":{\"x\":1},"
	                        "\"id\":1}",
	                        &r, err),
	                 0);
	assert_int_equal(xval_len(r.params), 1);
	assert_int_equal(xval_int(xval_struct_get(xval_array_get(r.params, 0), "x")), 1);
	jsonrpc_request_clear(&r);
}

static struct xval *
sample(void)
{
	struct xval *st = xval_new_struct(), *arr = xval_new_array(), *inner = xval_new_struct();

	xval_struct_add(st, "nil", xval_new_nil());
	xval_struct_add(st, "t", xval_new_bool(1));
	xval_struct_add(st, "f", xval_new_bool(0));
	xval_struct_add(st, "min", xval_new_int(INT64_MIN));
	xval_struct_add(st, "max", xval_new_int(INT64_MAX));
	xval_struct_add(st, "zero", xval_new_int(0));
	xval_struct_add(st, "d", xval_new_double(0.1));
	xval_struct_add(st, "d1", xval_new_double(1.0));
	xval_struct_add(st, "dneg", xval_new_double(-1.5e-300));
	xval_struct_add(st, "s", xval_new_string("q\"\\/\t\n\x01 end"));
	xval_struct_add(st, "empty", xval_new_string(""));
	xval_struct_add(st, "unicode", xval_new_string("h\xc3\xa9llo \xf0\x9f\x98\x80"));
	xval_array_append(arr, xval_new_array());
	xval_array_append(arr, xval_new_struct());
	xval_struct_add(inner, "k", xval_new_string("v"));
	xval_array_append(arr, inner);
	xval_struct_add(st, "arr", arr);
	return st;
}

static void
test_roundtrip(void **state)
{
	struct xval *params = xval_new_array(), *id = xval_new_string("x-9");
	struct jsonrpc_request r;
	char err[XVAL_ERR_MAX];
	struct xval_reply rep;
	struct xval *rid;
	size_t len;
	char *enc;
	int v;

	xval_array_append(params, sample());
	xval_array_append(params, xval_new_string("OpaqueRef:s"));
	for (v = 1; v <= 2; v++) {
		enc = jsonrpc_encode_request(v, id, "VM.set_ha_restart_priority", params, &len);
		assert_int_equal(jsonrpc_decode_request(enc, len, MAX, &r, err, sizeof(err)), 0);
		assert_int_equal(r.version, v);
		assert_string_equal(r.method, "VM.set_ha_restart_priority");
		assert_true(xval_equal(r.id, id));
		assert_true(xval_equal(r.params, params));
		jsonrpc_request_clear(&r);
		free(enc);

		enc = jsonrpc_encode_success(v, id, params, &len);
		assert_int_equal(
		    jsonrpc_decode_response(enc, len, MAX, &rep, &rid, err, sizeof(err)), 0);
		assert_int_equal(rep.kind, XVAL_REPLY_SUCCESS);
		assert_true(xval_equal(rep.value, params));
		assert_true(xval_equal(rid, id));
		xval_reply_clear(&rep);
		xval_free(rid);
		free(enc);
	}
	xval_free(params);
	xval_free(id);
}

static void
expect_bytes(char *got, const char *want)
{
	assert_string_equal(got, want);
	free(got);
}

static void
test_exact_bytes(void **state)
{
	struct xval *id0 = xval_new_int(0), *ids = xval_new_string("7"), *e = xval_new_array();
	struct xval *ref = xval_new_string("OpaqueRef:5a8f3d7e"), *st = xval_new_struct();

	expect_bytes(jsonrpc_encode_success(2, id0, ref, NULL),
	             "{\"jsonrpc\":\"2.0\",\"result\":\"OpaqueRef:5a8f3d7e\",\"id\":0}");
	expect_bytes(jsonrpc_encode_success(1, ids, ref, NULL),
	             "{\"result\":\"OpaqueRef:5a8f3d7e\",\"error\":null,\"id\":\"7\"}");
	xval_array_append(e, xval_new_string("HOST_IS_SLAVE"));
	xval_array_append(e, xval_new_string("10.0.0.1"));
	expect_bytes(jsonrpc_encode_failure(2, id0, e, NULL),
	             "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"HOST_IS_SLAVE\","
	             "\"data\":[\"10.0.0.1\"]},\"id\":0}");
	expect_bytes(jsonrpc_encode_failure(1, id0, e, NULL),
	             "{\"result\":null,\"error\":[\"HOST_IS_SLAVE\",\"10.0.0.1\"],\"id\":0}");
	xval_struct_add(st, "memory_total", xval_new_int(8589934592LL));
	xval_struct_add(st, "timeout", xval_new_double(60.1));
	xval_struct_add(st, "one", xval_new_double(1.0));
	xval_struct_add(st, "live", xval_new_bool(1));
	xval_struct_add(st, "t", xval_new_datetime("20240101T00:00:00Z"));
	xval_struct_add(st, "path", xval_new_string("a/b"));
	xval_struct_add(st, "nan", xval_new_double(0.0 / 0.0));
	expect_bytes(jsonrpc_encode_success(2, id0, st, NULL),
	             "{\"jsonrpc\":\"2.0\",\"result\":{\"memory_total\":8589934592,"
	             "\"timeout\":60.1,\"one\":1.0,\"live\":true,\"t\":\"20240101T00:00:00Z\","
	             "\"path\":\"a/b\",\"nan\":null},\"id\":0}");
	xval_free(id0);
	xval_free(ids);
	xval_free(e);
	xval_free(ref);
	xval_free(st);
}

static void
test_decode_response(void **state)
{
	const char *v2err = "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":"
	                    "\"SESSION_INVALID\",\"data\":[\"OpaqueRef:x\"]},\"id\":3}";
	const char *v1err = "{\"result\":null,\"error\":[\"SESSION_INVALID\",\"OpaqueRef:x\"],"
	                    "\"id\":3}";
	const char *both = "{\"jsonrpc\":\"2.0\",\"result\":1,\"error\":null,\"id\":3}";
	struct xval_reply r;
	char err[XVAL_ERR_MAX];
	struct xval *id;

	assert_int_equal(
	    jsonrpc_decode_response(v2err, strlen(v2err), MAX, &r, &id, err, sizeof(err)), 0);
	assert_int_equal(r.kind, XVAL_REPLY_FAILURE);
	assert_string_equal(xval_string(xval_array_get(r.value, 0)), "SESSION_INVALID");
	assert_string_equal(xval_string(xval_array_get(r.value, 1)), "OpaqueRef:x");
	assert_int_equal(xval_int(id), 3);
	xval_free(id);
	xval_reply_clear(&r);
	assert_int_equal(
	    jsonrpc_decode_response(v1err, strlen(v1err), MAX, &r, NULL, err, sizeof(err)), 0);
	assert_int_equal(r.kind, XVAL_REPLY_FAILURE);
	assert_int_equal(xval_len(r.value), 2);
	xval_reply_clear(&r);
	/* What xen-api's strict parser refuses, so do we. */
	assert_int_equal(
	    jsonrpc_decode_response(both, strlen(both), MAX, &r, NULL, err, sizeof(err)),
	    XVAL_EBAD);
	assert_non_null(strstr(err, "exactly one"));
	assert_null(r.value);
}

static void
test_bad_bodies(void **state)
{
	char *deep;
	size_t i, n;

	bad("", XVAL_EBAD, "empty");
	bad("not json", XVAL_EBAD, "not valid JSON");
	bad("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":[1,2", XVAL_EBAD, "truncated");
	bad("[1,2]", XVAL_EBAD, "must be a JSON object");
	bad("42", XVAL_EBAD, "must be a JSON object");
	bad("{\"method\":\"a\",\"id\":1}", XVAL_EBAD, "1.0 request needs a \"params\" array");
	bad("{\"method\":\"a\",\"params\":null,\"id\":1}", XVAL_EBAD, "\"params\" array");
	bad("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":[],\"id\":null}", XVAL_EBAD,
	    "must not be null");
	bad("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":[]}", XVAL_EBAD, "notifications");
	bad("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":[],\"id\":true}", XVAL_EBAD,
	    "integer or a string");
	bad("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":[],\"id\":1.5}", XVAL_EBAD,
	    "integer or a string");
	bad("{\"jsonrpc\":\"2.0\",\"method\":7,\"params\":[],\"id\":1}", XVAL_EBAD, "\"method\"");
	bad("{\"jsonrpc\":\"2.0\",\"method\":\"\",\"params\":[],\"id\":1}", XVAL_EBAD,
	    "\"method\"");
	bad("{\"jsonrpc\":\"2.0\",\"params\":[],\"id\":1}", XVAL_EBAD, "\"method\"");
	bad("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":\"x\",\"id\":1}", XVAL_EBAD,
	    "\"params\" must be");
	bad("{\"jsonrpc\":\"1.0\",\"method\":\"a\",\"params\":[],\"id\":1}", XVAL_EBAD, "\"2.0\"");
	bad("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":[],\"id\":1} x", XVAL_EBAD,
	    "trailing data");
	bad("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":[],\"id\":1}{}", XVAL_EBAD,
	    "trailing data");
	bad("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":[9223372036854775808],\"id\":1}",
	    XVAL_EBAD, "64-bit range");
	bad("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":[-9223372036854775809],\"id\":1}",
	    XVAL_EBAD, "64-bit range");
	bad("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":[1e400],\"id\":1}", XVAL_EBAD,
	    "not finite");
	bad("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":[NaN],\"id\":1}", XVAL_EBAD, "");
	bad("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":[\"a\\u0000b\"],\"id\":1}", XVAL_EBAD,
	    "NUL");
	bad("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":[\"\xff\"],\"id\":1}", XVAL_EBAD,
	    "not valid JSON");
	/* Overlong UTF-8 (json-c's own check lets it through). */
	bad("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":[\"\xc0\xb5\"],\"id\":1}", XVAL_EBAD,
	    "UTF-8");
	bad("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":[{\"\xc0\xb5\":1}],\"id\":1}",
	    XVAL_EBAD, "UTF-8");
	/* A string that merely looks like a big number is fine. */
	{
		struct jsonrpc_request r;
		char err[XVAL_ERR_MAX];

		assert_int_equal(
		    decode("{\"method\":\"a\",\"params\":[\"99999999999999999999\\\"\"]"
		           ",\"id\":1}",
		           &r, err),
		    0);
		jsonrpc_request_clear(&r);
	}

	/* Depth: 64 nested arrays in a param (depth 65) is too deep; 63 is fine. */
	deep = malloc(4096);
	for (n = 63; n <= 64; n++) {
		struct jsonrpc_request r;
		char err[XVAL_ERR_MAX];
		size_t k = 0;

		k += (size_t)sprintf(deep + k, "{\"method\":\"a\",\"params\":[");
		for (i = 0; i < n; i++)
			deep[k++] = '[';
		deep[k++] = '1';
		for (i = 0; i < n; i++)
			deep[k++] = ']';
		sprintf(deep + k, "],\"id\":1}");
		if (n == 63) {
			assert_int_equal(decode(deep, &r, err), 0);
			jsonrpc_request_clear(&r);
		} else {
			bad(deep, XVAL_ELIMIT, "deeper than 64");
		}
	}
	/* A depth bomb stops in the tokenizer. */
	memset(deep, '[', 4000);
	deep[4000] = '\0';
	bad(deep, XVAL_ELIMIT, "deeper than 64");
	free(deep);

	{
		struct jsonrpc_request r;
		char err[XVAL_ERR_MAX];
		const char *b = "{\"method\":\"a\",\"params\":[],\"id\":1}";

		assert_int_equal(jsonrpc_decode_request(b, strlen(b), 8, &r, err, sizeof(err)),
		                 XVAL_ELIMIT);
		assert_non_null(strstr(err, "over the limit of 8"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_requests),    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_exact_bytes), cmocka_unit_test(test_decode_response),
	    cmocka_unit_test(test_bad_bodies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
