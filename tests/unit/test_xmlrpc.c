/*
** XML-RPC codec: round trips of every value type, the exact bytes xapi
** writes, and every bad path (malformed, hostile and oversized bodies),
** with libxml2 kept silent throughout.
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

#include "api/xmlrpc.h"

#define MAX (64 * 1024)

static int
decode(const char *body, struct xmlrpc_call *c, char *err)
{
	return xmlrpc_decode_call(body, strlen(body), MAX, c, err, XVAL_ERR_MAX);
}

/* Expect a failure with `rc` whose sentence contains `needle`. */
static void
bad(const char *body, int rc, const char *needle)
{
	struct xmlrpc_call c;
	char err[XVAL_ERR_MAX] = "";

	assert_int_equal(decode(body, &c, err), rc);
	if (strstr(err, needle) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
	assert_null(c.method);
	assert_null(c.params);
}

static struct xval *
sample(void)
{
	struct xval *st = xval_new_struct(), *arr = xval_new_array(), *inner = xval_new_struct();

	xval_struct_add(st, "nil", xval_new_nil());
	xval_struct_add(st, "t", xval_new_bool(1));
	xval_struct_add(st, "f", xval_new_bool(0));
	xval_struct_add(st, "d", xval_new_double(-1234.5e-7));
	xval_struct_add(st, "s", xval_new_string("  spaced <&> \"q\" \t\n "));
	xval_struct_add(st, "empty", xval_new_string(""));
	xval_struct_add(st, "unicode",
	                xval_new_string("h\xc3\xa9llo \xf0\x9f\x98\x80 \xe2\x82\xac"));
	xval_struct_add(st, "cr", xval_new_string("a\r\nb"));
	xval_struct_add(st, "when", xval_new_datetime("20240229T23:59:59Z"));
	xval_array_append(arr, xval_new_string("x"));
	xval_array_append(arr, xval_new_array());
	xval_array_append(arr, xval_new_struct());
	xval_struct_add(inner, "k&<", xval_new_string("v"));
	xval_array_append(arr, inner);
	xval_struct_add(st, "arr", arr);
	return st;
}

static void
test_roundtrip_all_types(void **state)
{
	struct xval *params = xval_new_array(), *want;
	struct xmlrpc_call c;
	char err[XVAL_ERR_MAX];
	size_t len;
	char *enc;

	xval_array_append(params, sample());
	xval_array_append(params, xval_new_int(INT64_MIN));
	xval_array_append(params, xval_new_int(INT64_MAX));
	enc = xmlrpc_encode_call("VM.set_ha_restart_priority", params, &len);
	assert_int_equal(len, strlen(enc));
	assert_int_equal(xmlrpc_decode_call(enc, len, MAX, &c, err, sizeof(err)), 0);
	assert_string_equal(c.method, "VM.set_ha_restart_priority");
	/* int64 travels as an untyped string, as xapi sends it. */
	want = xval_new_array();
	xval_array_append(want, sample());
	xval_array_append(want, xval_new_string("-9223372036854775808"));
	xval_array_append(want, xval_new_string("9223372036854775807"));
	assert_true(xval_equal(c.params, want));
	{
		int64_t v;

		assert_int_equal(xval_get_int64(xval_array_get(c.params, 1), &v), 0);
		assert_true(v == INT64_MIN);
	}
	xmlrpc_call_clear(&c);
	xval_free(want);
	xval_free(params);
	free(enc);
}

static void
test_decode_typed(void **state)
{
	const char *body =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c --><methodCall>\n"
	    " <methodName> event.from </methodName>\n <params>\n"
	    "  <param><value><i8>-9223372036854775808</i8></value></param>\n"
	    "  <param><value><int> 7 </int></value></param>\n"
	    "  <param><value><i4>-2</i4></value></param>\n"
	    "  <param><value>\n  <boolean>1</boolean>\n</value></param>\n"
	    "  <param><value><double>60.1</double></value></param>\n"
	    "  <param><value>  untyped  </value></param>\n"
	    "  <param><value/></param>\n"
	    "  <param><value><string></string></value></param>\n"
	    "  <param><value><string> s </string></value></param>\n"
	    "  <param><value><nil/></value></param>\n"
	    "  <param><value><dateTime.iso8601>20240101T00:00:00Z</dateTime.iso8601></value>"
	    "</param>\n"
	    "  <param><value><array><data/></array></value></param>\n"
	    "  <param><value><struct><member><name> k </name><value><![CDATA[<x>]]></value>"
	    "</member></struct></value></param>\n"
	    " </params>\n</methodCall>\n";
	struct xmlrpc_call c;
	char err[XVAL_ERR_MAX];
	struct xval *p, *m;

	assert_int_equal(decode(body, &c, err), 0);
	assert_string_equal(c.method, "event.from");
	p = c.params;
	assert_int_equal(xval_len(p), 13);
	assert_true(xval_int(xval_array_get(p, 0)) == INT64_MIN);
	assert_int_equal(xval_int(xval_array_get(p, 1)), 7);
	assert_int_equal(xval_int(xval_array_get(p, 2)), -2);
	assert_int_equal(xval_bool(xval_array_get(p, 3)), 1);
	assert_true(xval_double(xval_array_get(p, 4)) == 60.1);
	assert_string_equal(xval_string(xval_array_get(p, 5)), "  untyped  ");
	assert_string_equal(xval_string(xval_array_get(p, 6)), "");
	assert_string_equal(xval_string(xval_array_get(p, 7)), "");
	assert_string_equal(xval_string(xval_array_get(p, 8)), " s ");
	assert_true(xval_is(xval_array_get(p, 9), XVAL_NIL));
	assert_true(xval_is(xval_array_get(p, 10), XVAL_DATETIME));
	assert_string_equal(xval_string(xval_array_get(p, 10)), "20240101T00:00:00Z");
	assert_int_equal(xval_len(xval_array_get(p, 11)), 0);
	m = xval_array_get(p, 12);
	assert_string_equal(xval_struct_name(m, 0), " k ");
	assert_string_equal(xval_string(xval_struct_get(m, " k ")), "<x>");
	xmlrpc_call_clear(&c);

	/* No <params> at all is an empty call (XML-RPC allows it). */
	assert_int_equal(decode("<methodCall><methodName>system.listMethods</methodName>"
	                        "</methodCall>",
	                        &c, err),
	                 0);
	assert_int_equal(xval_len(c.params), 0);
	xmlrpc_call_clear(&c);
}

static void
expect_bytes(char *got, const char *want)
{
	assert_string_equal(got, want);
	free(got);
}

#define HEAD "<?xml version=\"1.0\"?><methodResponse><params><param>"
#define TAIL "</param></params></methodResponse>"

static void
test_exact_bytes(void **state)
{
	struct xval *v, *e, *st;

	v = xval_new_string("OpaqueRef:5a8f3d7e");
	expect_bytes(xmlrpc_encode_success(v, NULL), HEAD
	             "<value><struct><member><name>Status</name><value>Success</value></member>"
	             "<member><name>Value</name><value>OpaqueRef:5a8f3d7e</value></member>"
	             "</struct></value>" TAIL);
	xval_free(v);

	e = xval_new_array();
	xval_array_append(e, xval_new_string("SESSION_INVALID"));
	xval_array_append(e, xval_new_string("OpaqueRef:x"));
	expect_bytes(xmlrpc_encode_failure(e, NULL), HEAD
	             "<value><struct><member><name>Status</name><value>Failure</value></member>"
	             "<member><name>ErrorDescription</name><value><array><data>"
	             "<value>SESSION_INVALID</value><value>OpaqueRef:x</value>"
	             "</data></array></value></member></struct></value>" TAIL);
	/* system.listMethods: the bare array. */
	expect_bytes(xmlrpc_encode_bare(e, NULL),
	             HEAD "<value><array><data><value>SESSION_INVALID</value>"
	                  "<value>OpaqueRef:x</value></data></array></value>" TAIL);
	xval_free(e);

	st = xval_new_struct();
	xval_struct_add(st, "memory_total", xval_new_int(8589934592LL));
	xval_struct_add(st, "task", xval_new_int32(3)); /* valid_ref_counts: <i4> */
	xval_struct_add(st, "live", xval_new_bool(1));
	xval_struct_add(st, "timeout", xval_new_double(60.1));
	xval_struct_add(st, "big", xval_new_double(1.3262e9));
	xval_struct_add(st, "other_config", xval_new_struct());
	xval_struct_add(st, "x", xval_new_nil());
	xval_struct_add(st, "esc", xval_new_string("a&b<c>\"d\x01"));
	xval_struct_add(st, "t", xval_new_datetime("20240101T00:00:00Z"));
	expect_bytes(xmlrpc_encode_bare(st, NULL), HEAD
	             "<value><struct>"
	             "<member><name>memory_total</name><value>8589934592</value></member>"
	             "<member><name>task</name><value><i4>3</i4></value></member>"
	             "<member><name>live</name><value><boolean>1</boolean></value></member>"
	             "<member><name>timeout</name><value><double>60.1</double></value></member>"
	             "<member><name>big</name><value><double>1326200000</double></value>"
	             "</member>"
	             "<member><name>other_config</name><value><struct></struct></value></member>"
	             "<member><name>x</name><value><nil/></value></member>"
	             "<member><name>esc</name><value>a&amp;b&lt;c&gt;&quot;d</value></member>"
	             "<member><name>t</name><value><dateTime.iso8601>20240101T00:00:00Z"
	             "</dateTime.iso8601></value></member>"
	             "</struct></value>" TAIL);
	xval_free(st);

	v = xval_new_array();
	xval_array_append(v, xval_new_string("root"));
	expect_bytes(xmlrpc_encode_call("session.login_with_password", v, NULL),
	             "<?xml version=\"1.0\"?><methodCall><methodName>session.login_with_password"
	             "</methodName><params><param><value>root</value></param></params>"
	             "</methodCall>");
	xval_free(v);
}

static void
test_decode_response(void **state)
{
	struct xval_reply r;
	char err[XVAL_ERR_MAX];
	struct xval *v = xval_new_string("OpaqueRef:1"), *e = xval_new_array();
	const char *fault = "<methodResponse><fault><value><struct><member><name>faultCode"
	                    "</name><value><int>4</int></value></member><member><name>"
	                    "faultString</name><value>Too many</value></member></struct></value>"
	                    "</fault></methodResponse>";
	char *enc;
	size_t len;

	enc = xmlrpc_encode_success(v, &len);
	assert_int_equal(xmlrpc_decode_response(enc, len, MAX, &r, err, sizeof(err)), 0);
	assert_int_equal(r.kind, XVAL_REPLY_SUCCESS);
	assert_true(xval_equal(r.value, v));
	xval_reply_clear(&r);
	free(enc);

	xval_array_append(e, xval_new_string("HOST_IS_SLAVE"));
	xval_array_append(e, xval_new_string("10.0.0.1"));
	enc = xmlrpc_encode_failure(e, &len);
	assert_int_equal(xmlrpc_decode_response(enc, len, MAX, &r, err, sizeof(err)), 0);
	assert_int_equal(r.kind, XVAL_REPLY_FAILURE);
	assert_true(xval_equal(r.value, e));
	xval_reply_clear(&r);
	free(enc);

	enc = xmlrpc_encode_bare(e, &len);
	assert_int_equal(xmlrpc_decode_response(enc, len, MAX, &r, err, sizeof(err)), 0);
	assert_int_equal(r.kind, XVAL_REPLY_BARE);
	assert_true(xval_equal(r.value, e));
	xval_reply_clear(&r);
	free(enc);

	assert_int_equal(xmlrpc_decode_response(fault, strlen(fault), MAX, &r, err, sizeof(err)),
	                 0);
	assert_int_equal(r.kind, XVAL_REPLY_FAILURE);
	assert_string_equal(xval_string(xval_array_get(r.value, 0)), "FAULT");
	assert_string_equal(xval_string(xval_array_get(r.value, 1)), "4");
	assert_string_equal(xval_string(xval_array_get(r.value, 2)), "Too many");
	xval_reply_clear(&r);

	assert_int_equal(xmlrpc_decode_response("<methodCall/>", 13, MAX, &r, err, sizeof(err)),
	                 XVAL_EBAD);
	assert_non_null(strstr(err, "methodResponse"));
	assert_null(r.value);
	xval_free(v);
	xval_free(e);
}

static void
test_bad_bodies(void **state)
{
	bad("", XVAL_EBAD, "not well-formed");
	bad("this is not XML", XVAL_EBAD, "not well-formed");
	bad("<methodCall><methodName>a</methodName><params><param><value>x", XVAL_EBAD,
	    "not well-formed");
	bad("<methodCall><methodName>a</methodName></methodCall><x/>", XVAL_EBAD,
	    "not well-formed");
	bad("<methodResponse/>", XVAL_EBAD, "root element is <methodResponse>");
	bad("<methodCall><params/></methodCall>", XVAL_EBAD, "no <methodName>");
	bad("<methodCall></methodCall>", XVAL_EBAD, "no <methodName>");
	bad("<methodCall><methodName> </methodName></methodCall>", XVAL_EBAD, "empty");
	bad("<methodCall><methodName>a</methodName><params><param><value><base64>AA</base64>"
	    "</value></param></params></methodCall>",
	    XVAL_EBAD, "unsupported XML-RPC value type <base64>");
	bad("<methodCall><methodName>a</methodName><params><param><value><frob/>"
	    "</value></param></params></methodCall>",
	    XVAL_EBAD, "<frob>");
	bad("<methodCall><methodName>a</methodName><params><param><value><int>12x</int>"
	    "</value></param></params></methodCall>",
	    XVAL_EBAD, "64-bit integer");
	bad("<methodCall><methodName>a</methodName><params><param><value><i8>"
	    "9223372036854775808</i8></value></param></params></methodCall>",
	    XVAL_EBAD, "64-bit integer");
	bad("<methodCall><methodName>a</methodName><params><param><value><boolean>true"
	    "</boolean></value></param></params></methodCall>",
	    XVAL_EBAD, "0 or 1");
	bad("<methodCall><methodName>a</methodName><params><param><value><double>0x10"
	    "</double></value></param></params></methodCall>",
	    XVAL_EBAD, "decimal");
	bad("<methodCall><methodName>a</methodName><params><param><value><dateTime.iso8601>"
	    "2024-01-01</dateTime.iso8601></value></param></params></methodCall>",
	    XVAL_EBAD, "YYYYMMDD");
	bad("<methodCall><methodName>a</methodName><params><param><value>x<string>y</string>"
	    "</value></param></params></methodCall>",
	    XVAL_EBAD, "unexpected text");
	bad("<methodCall><methodName>a</methodName><params><param><value><string>y</string>"
	    "<string>z</string></value></param></params></methodCall>",
	    XVAL_EBAD, "unexpected <string>");
	bad("<methodCall><methodName>a</methodName><params><param><value><struct><member>"
	    "<value>v</value></member></struct></value></param></params></methodCall>",
	    XVAL_EBAD, "<name>");
	bad("<methodCall><methodName>a</methodName><params><param><value><array><value>v"
	    "</value></array></value></param></params></methodCall>",
	    XVAL_EBAD, "<data>");
	bad("<methodCall><methodName>a</methodName><params><value>v</value></params>"
	    "</methodCall>",
	    XVAL_EBAD, "<param>");
}

/* A call whose one param is `arrays` nested arrays around a string (depth
** arrays + 1), closed or left open. */
static char *
nested(int arrays, int closed)
{
	char *s = malloc(64 * 1024);
	size_t n = 0;
	int i;

	n += (size_t)sprintf(s + n, "<methodCall><methodName>a</methodName><params><param>");
	for (i = 0; i < arrays; i++)
		n += (size_t)sprintf(s + n, "<value><array><data>");
	if (!closed)
		return s;
	n += (size_t)sprintf(s + n, "<value>x</value>");
	for (i = 0; i < arrays; i++)
		n += (size_t)sprintf(s + n, "</data></array></value>");
	sprintf(s + n, "</param></params></methodCall>");
	return s;
}

static void
test_hostile_bodies(void **state)
{
	char path[] = "/tmp/test_xmlrpc_secretXXXXXX";
	char body[1024];
	int fd = mkstemp(path);
	struct xmlrpc_call c;
	char err[XVAL_ERR_MAX];
	char *deep;

	/* XXE: the external entity must never be read. */
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "TOPSECRET", 9), 9);
	close(fd);
	snprintf(body, sizeof(body),
	         "<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY xxe SYSTEM \"file://%s\">]>"
	         "<methodCall><methodName>&xxe;</methodName></methodCall>",
	         path);
	assert_int_equal(decode(body, &c, err), XVAL_EBAD);
	assert_non_null(strstr(err, "DTD"));
	assert_null(strstr(err, "TOPSECRET"));
	unlink(path);

	/* Billion laughs. */
	bad("<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\">"
	    "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
	    "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
	    "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">]>"
	    "<methodCall><methodName>&d;</methodName></methodCall>",
	    XVAL_EBAD, "DTD");
	/* An external DTD, and an undeclared entity. */
	bad("<!DOCTYPE methodCall SYSTEM \"http://example.invalid/x.dtd\">"
	    "<methodCall><methodName>a</methodName></methodCall>",
	    XVAL_EBAD, "DTD");
	bad("<methodCall><methodName>&nope;</methodName></methodCall>", XVAL_EBAD,
	    "not well-formed");

	/* Depth bomb: a param of depth 65 is one level too many; 64 is fine. */
	deep = nested(XVAL_MAX_DEPTH, 1);
	bad(deep, XVAL_ELIMIT, "nested deeper than 64");
	free(deep);
	deep = nested(XVAL_MAX_DEPTH - 1, 1);
	assert_int_equal(decode(deep, &c, err), 0);
	xmlrpc_call_clear(&c);
	free(deep);
	/* Far deeper than libxml2's own limit of 256 elements. */
	deep = nested(1000, 0);
	bad(deep, XVAL_EBAD, "not well-formed");
	free(deep);

	/* Too large. */
	strcpy(body, "<methodCall><methodName>a</methodName></methodCall>");
	assert_int_equal(xmlrpc_decode_call(body, strlen(body), 10, &c, err, sizeof(err)),
	                 XVAL_ELIMIT);
	assert_non_null(strstr(err, "over the limit of 10"));
}

/* libxml2 must print nothing: run the bad paths with stderr captured. */
static void
test_silent(void **state)
{
	char path[] = "/tmp/test_xmlrpc_errXXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	off_t size;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	test_bad_bodies(state);
	test_hostile_bodies(state);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	size = lseek(fd, 0, SEEK_END);
	close(fd);
	unlink(path);
	assert_int_equal(size, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_all_types),
	    cmocka_unit_test(test_decode_typed),
	    cmocka_unit_test(test_exact_bytes),
	    cmocka_unit_test(test_decode_response),
	    cmocka_unit_test(test_bad_bodies),
	    cmocka_unit_test(test_hostile_bodies),
	    cmocka_unit_test(test_silent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
