/*
** JSON-RPC codec (see jsonrpc.h).  json-c tokenizes (strict, UTF-8
** validating, depth-limited) and serializes; this file maps between its
** objects and xvals and enforces the JSON-RPC envelope rules.
*/
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "api/jsonrpc.h"
#include "lib/check.h"
#include "lib/xmalloc.h"

/* json-c counts containers; xval depth counts the leaf too.  The exact
** limit is enforced in from_json(); this only bounds json-c's recursion. */
#define TOKENER_DEPTH (XVAL_MAX_DEPTH + 4)

struct jctx {
	char *err;
	size_t errsz;
	int rc;
	size_t nodes;
};

static void fail(struct jctx *d, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct jctx *d, int rc, const char *fmt, ...)
{
	va_list ap;

	if (d->rc != 0)
		return;
	d->rc = rc;
	va_start(ap, fmt);
	vsnprintf(d->err, d->errsz, fmt, ap);
	va_end(ap);
}

/* ---- JSON -> xval ---------------------------------------------------- */

static struct xval *
from_json(struct jctx *d, struct json_object *o, int depth)
{
	struct xval *v = NULL;
	const char *s;
	int64_t i;
	size_t k, n;
	int len;

	if (depth > XVAL_MAX_DEPTH) {
		fail(d, XVAL_ELIMIT, "values are nested deeper than %d levels", XVAL_MAX_DEPTH);
		return NULL;
	}
	if (++d->nodes > XVAL_MAX_NODES) {
		fail(d, XVAL_ELIMIT, "the body holds more than %u values", XVAL_MAX_NODES);
		return NULL;
	}
	switch (json_object_get_type(o)) {
	case json_type_null:
		return xval_new_nil();
	case json_type_boolean:
		return xval_new_bool(json_object_get_boolean(o));
	case json_type_int:
		i = json_object_get_int64(o);
		/* Out-of-range integers were refused by ints_in_range(). */
		return xval_new_int(i);
	case json_type_double:
		if (!isfinite(json_object_get_double(o))) {
			fail(d, XVAL_EBAD, "a number is not finite (NaN, or out of range)");
			return NULL;
		}
		return xval_new_double(json_object_get_double(o));
	case json_type_string:
		s = json_object_get_string(o);
		len = json_object_get_string_len(o);
		if (memchr(s, '\0', (size_t)len) != NULL) {
			fail(d, XVAL_EBAD, "a string holds a NUL character");
			return NULL;
		}
		/* json-c's own check lets overlong forms through. */
		if (!xval_utf8_valid(s, (size_t)len)) {
			fail(d, XVAL_EBAD, "a string is not valid UTF-8");
			return NULL;
		}
		return xval_new_stringn(s, (size_t)len);
	case json_type_array:
		v = xval_new_array();
		n = json_object_array_length(o);
		for (k = 0; k < n; k++) {
			struct xval *item =
			    from_json(d, json_object_array_get_idx(o, k), depth + 1);

			if (item == NULL)
				goto fail;
			xval_array_append(v, item);
		}
		return v;
	case json_type_object:
		v = xval_new_struct();
		json_object_object_foreach(o, key, val)
		{
			struct xval *item;

			if (!xval_utf8_valid(key, strlen(key))) {
				fail(d, XVAL_EBAD, "an object key is not valid UTF-8");
				goto fail;
			}
			item = from_json(d, val, depth + 1);

			if (item == NULL)
				goto fail;
			xval_struct_add(v, key, item);
		}
		return v;
	}
	fail(d, XVAL_EBAD, "unsupported JSON value");
fail:
	xval_free(v);
	return NULL;
}

static int
all_blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return 0;
	return 1;
}

/* json-c saturates integers outside int64 silently, so look at the integer
** tokens of the text first.  This is not a parser: it only tells string
** contents (skipped, escapes included) from number tokens; json-c still
** decides what is well-formed. */
static int
ints_in_range(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t start, ndig = 0;
		int is_int = 1;

		if (s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			i++;
			continue;
		}
		if (s[i] != '-' && (s[i] < '0' || s[i] > '9')) {
			i++;
			continue;
		}
		start = i;
		for (; i < n && strchr("+-0123456789.eE", s[i]) != NULL; i++) {
			if (s[i] >= '0' && s[i] <= '9')
				ndig++;
			else if (s[i] == '.' || s[i] == 'e' || s[i] == 'E')
				is_int = 0;
		}
		if (is_int && ndig >= 19) {
			char buf[64];
			size_t k = i - start < sizeof(buf) - 1 ? i - start : sizeof(buf) - 1;

			memcpy(buf, s + start, k);
			buf[k] = '\0';
			errno = 0;
			(void)strtoll(buf, NULL, 10);
			if (errno == ERANGE || i - start >= sizeof(buf) - 1)
				return 0;
		}
	}
	return 1;
}

/* Tokenize the whole body into one JSON object (which must be an object). */
static struct json_object *
parse_body(struct jctx *d, const char *body, size_t len, size_t max_body)
{
	struct json_tokener *tok;
	struct json_object *o = NULL;
	enum json_tokener_error jerr;
	size_t end;
	int fed_eof = 0;

	if (len > max_body || len > INT_MAX - 1) {
		fail(d, XVAL_ELIMIT, "the JSON-RPC body is %zu bytes, over the limit of %zu", len,
		     max_body < INT_MAX - 1 ? max_body : (size_t)INT_MAX - 1);
		return NULL;
	}
	if (all_blank(body, len)) {
		fail(d, XVAL_EBAD, "the JSON-RPC body is empty");
		return NULL;
	}
	if (memchr(body, '\0', len) != NULL) {
		fail(d, XVAL_EBAD, "the JSON-RPC body holds a NUL byte");
		return NULL;
	}
	tok = json_tokener_new_ex(TOKENER_DEPTH);
	ha_assert(tok != NULL);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8 |
	                                JSON_TOKENER_ALLOW_TRAILING_CHARS);
	o = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	if (o == NULL && jerr == json_tokener_continue) {
		/* A top-level number ends only at end of input: say so. */
		o = json_tokener_parse_ex(tok, "", 1);
		fed_eof = 1;
		jerr = json_tokener_get_error(tok);
		if (o == NULL &&
		    (jerr == json_tokener_continue || jerr == json_tokener_error_parse_eof)) {
			fail(d, XVAL_EBAD, "the JSON-RPC body is truncated");
			goto fail;
		}
	}
	if (o == NULL && jerr == json_tokener_error_depth) {
		fail(d, XVAL_ELIMIT, "the JSON-RPC body is nested deeper than %d levels",
		     XVAL_MAX_DEPTH);
		goto fail;
	}
	if (o == NULL && jerr != json_tokener_success) {
		fail(d, XVAL_EBAD, "the JSON-RPC body is not valid JSON (%s at byte %zu)",
		     json_tokener_error_desc(jerr), json_tokener_get_parse_end(tok));
		goto fail;
	}
	/* After the end-of-input feed the offset is into that feed. */
	end = fed_eof ? len : json_tokener_get_parse_end(tok);
	if (end < len && !all_blank(body + end, len - end)) {
		fail(d, XVAL_EBAD, "the JSON-RPC body has trailing data after the JSON value");
		goto fail;
	}
	if (!ints_in_range(body, len)) {
		fail(d, XVAL_EBAD, "an integer is out of the 64-bit range");
		goto fail;
	}
	if (!json_object_is_type(o, json_type_object)) {
		fail(d, XVAL_EBAD, "the JSON-RPC body must be a JSON object");
		goto fail;
	}
	json_tokener_free(tok);
	return o;
fail:
	json_object_put(o);
	json_tokener_free(tok);
	return NULL;
}

/* The id: required, an integer or a string. */
static struct xval *
decode_id(struct jctx *d, struct json_object *top)
{
	struct json_object *id;

	if (!json_object_object_get_ex(top, "id", &id)) {
		fail(d, XVAL_EBAD, "the request has no \"id\" (notifications are not supported)");
		return NULL;
	}
	if (id == NULL) {
		fail(d, XVAL_EBAD, "the \"id\" must not be null");
		return NULL;
	}
	if (!json_object_is_type(id, json_type_int) && !json_object_is_type(id, json_type_string)) {
		fail(d, XVAL_EBAD, "the \"id\" must be an integer or a string");
		return NULL;
	}
	return from_json(d, id, 1);
}

/* "jsonrpc": absent -> 1, "2.0" -> 2, else -1 with d set. */
static int
decode_version(struct jctx *d, struct json_object *top)
{
	struct json_object *ver;

	if (!json_object_object_get_ex(top, "jsonrpc", &ver))
		return 1;
	if (json_object_is_type(ver, json_type_string) &&
	    strcmp(json_object_get_string(ver), "2.0") == 0)
		return 2;
	fail(d, XVAL_EBAD, "\"jsonrpc\" must be the string \"2.0\"");
	return -1;
}

void
jsonrpc_request_clear(struct jsonrpc_request *req)
{
	if (req == NULL)
		return;
	xfree(req->method);
	xval_free(req->params);
	xval_free(req->id);
	req->method = NULL;
	req->params = NULL;
	req->id = NULL;
}

int
jsonrpc_decode_request(const char *body, size_t len, size_t max_body, struct jsonrpc_request *req,
                       char *err, size_t errsz)
{
	struct jctx d = {.err = err, .errsz = errsz};
	struct json_object *top, *method, *params;
	struct xval *p;
	int has_params;

	memset(req, 0, sizeof(*req));
	top = parse_body(&d, body, len, max_body);
	if (top == NULL)
		goto fail;
	req->version = decode_version(&d, top);
	if (req->version < 0)
		goto fail;
	if (!json_object_object_get_ex(top, "method", &method) ||
	    !json_object_is_type(method, json_type_string) ||
	    json_object_get_string_len(method) == 0) {
		fail(&d, XVAL_EBAD, "the request needs a \"method\" that is a non-empty string");
		goto fail;
	}
	if (memchr(json_object_get_string(method), '\0',
	           (size_t)json_object_get_string_len(method)) != NULL ||
	    !xval_utf8_valid(json_object_get_string(method),
	                     (size_t)json_object_get_string_len(method))) {
		fail(&d, XVAL_EBAD, "the \"method\" holds a NUL character or invalid UTF-8");
		goto fail;
	}
	req->method = xstrdup(json_object_get_string(method));
	has_params = json_object_object_get_ex(top, "params", &params);
	if (req->version == 1 && (!has_params || !json_object_is_type(params, json_type_array))) {
		fail(&d, XVAL_EBAD, "a JSON-RPC 1.0 request needs a \"params\" array");
		goto fail;
	}
	if (!has_params || params == NULL) {
		req->params = xval_new_array();
	} else if (json_object_is_type(params, json_type_array)) {
		req->params = from_json(&d, params, 0);
	} else if (json_object_is_type(params, json_type_object)) {
		/* By-name params: one struct param, as ocaml-rpc does. */
		p = from_json(&d, params, 1);
		if (p != NULL) {
			req->params = xval_new_array();
			xval_array_append(req->params, p);
		}
	} else {
		fail(&d, XVAL_EBAD, "\"params\" must be an array, an object or null");
		goto fail;
	}
	if (req->params == NULL)
		goto fail;
	req->id = decode_id(&d, top);
	if (req->id == NULL)
		goto fail;
	json_object_put(top);
	return 0;
fail:
	if (NEVER(d.rc == 0))
		fail(&d, XVAL_EBAD, "the JSON-RPC request is malformed");
	json_object_put(top);
	jsonrpc_request_clear(req);
	return d.rc;
}

/* v2 {code, message, data} -> [message, data...] */
static struct xval *
v2_error_desc(struct jctx *d, struct json_object *e)
{
	struct json_object *code, *msg, *data;
	struct xval *desc, *extra;
	size_t i;

	if (!json_object_is_type(e, json_type_object) ||
	    !json_object_object_get_ex(e, "code", &code) ||
	    !json_object_is_type(code, json_type_int) ||
	    !json_object_object_get_ex(e, "message", &msg) ||
	    !json_object_is_type(msg, json_type_string)) {
		fail(d, XVAL_EBAD,
		     "a JSON-RPC 2.0 error must be an object with an integer \"code\" and a "
		     "string \"message\"");
		return NULL;
	}
	desc = xval_new_array();
	xval_array_append(desc, xval_new_string(json_object_get_string(msg)));
	if (!json_object_object_get_ex(e, "data", &data))
		return desc;
	extra = from_json(d, data, 2);
	if (extra == NULL) {
		xval_free(desc);
		return NULL;
	}
	if (extra->type != XVAL_ARRAY) {
		xval_array_append(desc, extra);
		return desc;
	}
	for (i = 0; i < extra->u.a.n; i++)
		xval_array_append(desc, extra->u.a.v[i]);
	extra->u.a.n = 0;
	xval_free(extra);
	return desc;
}

int
jsonrpc_decode_response(const char *body, size_t len, size_t max_body, struct xval_reply *reply,
                        struct xval **id, char *err, size_t errsz)
{
	struct jctx d = {.err = err, .errsz = errsz};
	struct json_object *top, *res = NULL, *e = NULL;
	struct xval *idv = NULL;
	int version, has_res, has_err;

	reply->kind = XVAL_REPLY_SUCCESS;
	reply->value = NULL;
	if (id != NULL)
		*id = NULL;
	top = parse_body(&d, body, len, max_body);
	if (top == NULL)
		goto fail;
	version = decode_version(&d, top);
	if (version < 0)
		goto fail;
	idv = decode_id(&d, top);
	if (idv == NULL)
		goto fail;
	has_res = json_object_object_get_ex(top, "result", &res);
	has_err = json_object_object_get_ex(top, "error", &e);
	if (version == 1) {
		if (!has_res || !has_err) {
			fail(&d, XVAL_EBAD,
			     "a JSON-RPC 1.0 response needs \"result\" and \"error\"");
			goto fail;
		}
		if (e == NULL) {
			reply->value = from_json(&d, res, 1);
		} else if (res == NULL) {
			reply->kind = XVAL_REPLY_FAILURE;
			reply->value = from_json(&d, e, 1);
		} else {
			fail(&d, XVAL_EBAD,
			     "a JSON-RPC 1.0 response has both a result and an error");
			goto fail;
		}
	} else {
		if (has_res == has_err) {
			fail(&d, XVAL_EBAD,
			     "a JSON-RPC 2.0 response needs exactly one of \"result\" and "
			     "\"error\"");
			goto fail;
		}
		if (has_res) {
			reply->value = from_json(&d, res, 1);
		} else {
			reply->kind = XVAL_REPLY_FAILURE;
			reply->value = v2_error_desc(&d, e);
		}
	}
	if (reply->value == NULL)
		goto fail;
	if (id != NULL)
		*id = idv;
	else
		xval_free(idv);
	json_object_put(top);
	return 0;
fail:
	if (NEVER(d.rc == 0))
		fail(&d, XVAL_EBAD, "the JSON-RPC response is malformed");
	xval_free(idv);
	json_object_put(top);
	xval_reply_clear(reply);
	return d.rc;
}

/* ---- xval -> JSON ---------------------------------------------------- */

/* A copy of s with every byte that is not part of valid UTF-8 replaced by
** U+FFFD, so that the output is always valid JSON text; NULL if s is fine. */
static char *
utf8_repair(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, o = 0;
	char *out;

	if (xval_utf8_valid(s, n))
		return NULL;
	out = xmalloc(3 * n + 1);
	while (i < n) {
		size_t k = p[i] < 0x80 ? 1 : p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : 2;

		if (k <= n - i && xval_utf8_valid(s + i, k)) {
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	return out;
}

static struct json_object *
new_string(const char *s)
{
	char *fixed = utf8_repair(s);
	struct json_object *o = json_object_new_string(fixed != NULL ? fixed : s);

	xfree(fixed);
	return o;
}

/* The shortest of %.15g, %.16g, %.17g that reads back as d, and always
** with a '.' or an exponent so that it reads back as a double: what
** yojson (xapi) writes, where json-c alone would always use %.17g. */
static struct json_object *
new_double(double d)
{
	static const int prec[] = {15, 16, 17};
	char buf[48];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(prec); i++) {
		snprintf(buf, sizeof(buf) - 2, "%.*g", prec[i], d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (strpbrk(buf, ".eE") == NULL)
		strcat(buf, ".0");
	return json_object_new_double_s(d, buf);
}

static struct json_object *
to_json(const struct xval *v)
{
	struct json_object *o;
	size_t i;

	if (v == NULL)
		return NULL;
	switch (v->type) {
	case XVAL_NIL:
		return NULL;
	case XVAL_BOOL:
		return json_object_new_boolean(v->u.b);
	case XVAL_INT:
		return json_object_new_int64(v->u.i);
	case XVAL_DOUBLE:
		/* JSON has no NaN or infinity. */
		return isfinite(v->u.d) ? new_double(v->u.d) : NULL;
	case XVAL_STRING:
	case XVAL_DATETIME:
		return new_string(v->u.s);
	case XVAL_ARRAY:
		o = json_object_new_array_ext((int)(v->u.a.n < 16 ? 16 : v->u.a.n));
		for (i = 0; i < v->u.a.n; i++)
			json_object_array_add(o, to_json(v->u.a.v[i]));
		return o;
	case XVAL_STRUCT:
		o = json_object_new_object();
		for (i = 0; i < v->u.st.n; i++) {
			char *fixed = utf8_repair(v->u.st.m[i].name);

			json_object_object_add(o, fixed != NULL ? fixed : v->u.st.m[i].name,
			                       to_json(v->u.st.m[i].value));
			xfree(fixed);
		}
		return o;
	}
	return NULL;
}

static char *
serialize(struct json_object *o, size_t *len)
{
	size_t n;
	const char *s;
	char *out;

	s = json_object_to_json_string_length(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	ha_assert(s != NULL);
	out = xstrndup(s, n);
	if (len != NULL)
		*len = n;
	json_object_put(o);
	return out;
}

static struct json_object *
envelope(int version)
{
	struct json_object *o = json_object_new_object();

	ha_assert(version == 1 || version == 2);
	if (version == 2)
		json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
	return o;
}

char *
jsonrpc_encode_success(int version, const struct xval *id, const struct xval *result, size_t *len)
{
	struct json_object *o = envelope(version);

	json_object_object_add(o, "result", to_json(result));
	if (version == 1)
		json_object_object_add(o, "error", NULL);
	json_object_object_add(o, "id", to_json(id));
	return serialize(o, len);
}

char *
jsonrpc_encode_failure(int version, const struct xval *id, const struct xval *error, size_t *len)
{
	struct json_object *o = envelope(version), *e, *data;
	size_t i;

	if (version == 1) {
		json_object_object_add(o, "result", NULL);
		json_object_object_add(o, "error", to_json(error));
	} else {
		const struct xval *code = NULL;

		if (error != NULL && error->type == XVAL_ARRAY && error->u.a.n > 0)
			code = error->u.a.v[0];
		e = json_object_new_object();
		json_object_object_add(e, "code", json_object_new_int(1));
		json_object_object_add(e, "message",
		                       code != NULL && code->type == XVAL_STRING
		                           ? new_string(code->u.s)
		                           : json_object_new_string("INTERNAL_ERROR"));
		data = json_object_new_array();
		for (i = 1; code != NULL && i < error->u.a.n; i++)
			json_object_array_add(data, to_json(error->u.a.v[i]));
		json_object_object_add(e, "data", data);
		json_object_object_add(o, "error", e);
	}
	json_object_object_add(o, "id", to_json(id));
	return serialize(o, len);
}

char *
jsonrpc_encode_request(int version, const struct xval *id, const char *method,
                       const struct xval *params, size_t *len)
{
	struct json_object *o = envelope(version);

	json_object_object_add(o, "method", new_string(method));
	if (params != NULL) {
		ha_assert(params->type == XVAL_ARRAY);
		json_object_object_add(o, "params", to_json(params));
	} else {
		json_object_object_add(o, "params", json_object_new_array());
	}
	json_object_object_add(o, "id", to_json(id));
	return serialize(o, len);
}
