/*
** Fuzz target for api/xmlrpc.c.  Any bytes are tried both as a methodCall
** and as a methodResponse.  Whatever decodes must re-encode into something
** that decodes again to the same values, modulo the two documented lossy
** steps of the XML-RPC mapping: an int64 comes back as its decimal string
** (xapi's untyped encoding), and a double is written with %.16g so it comes
** back within 1e-15 relative.  The input is copied so that ASan sees a read
** past `size`.
*/
#include <math.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/xmlrpc.h"
#include "lib/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BODY (256 * 1024)

/* b is a decoded re-encoding of a. */
static int
same(const struct xval *a, const struct xval *b)
{
	char num[32];
	size_t i;

	if (a->type == XVAL_INT) {
		snprintf(num, sizeof(num), "%" PRId64, a->u.i);
		return b->type == XVAL_STRING && strcmp(b->u.s, num) == 0;
	}
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case XVAL_DOUBLE:
		if (isnan(a->u.d) || isinf(a->u.d))
			return xval_equal(a, b);
		return fabs(a->u.d - b->u.d) <= 1e-15 * fabs(a->u.d) + 1e-300;
	case XVAL_ARRAY:
		if (a->u.a.n != b->u.a.n)
			return 0;
		for (i = 0; i < a->u.a.n; i++)
			if (!same(a->u.a.v[i], b->u.a.v[i]))
				return 0;
		return 1;
	case XVAL_STRUCT:
		if (a->u.st.n != b->u.st.n)
			return 0;
		for (i = 0; i < a->u.st.n; i++)
			if (strcmp(a->u.st.m[i].name, b->u.st.m[i].name) != 0 ||
			    !same(a->u.st.m[i].value, b->u.st.m[i].value))
				return 0;
		return 1;
	default:
		return xval_equal(a, b);
	}
}

static void
check_call(const char *buf, size_t size)
{
	struct xmlrpc_call c1, c2;
	char err[XVAL_ERR_MAX];
	char *enc;
	size_t len;

	if (xmlrpc_decode_call(buf, size, MAX_BODY, &c1, err, sizeof(err)) != 0) {
		ha_assert(err[0] != '\0' && c1.method == NULL && c1.params == NULL);
		return;
	}
	enc = xmlrpc_encode_call(c1.method, c1.params, &len);
	if (xmlrpc_decode_call(enc, len, SIZE_MAX, &c2, err, sizeof(err)) != 0) {
		fprintf(stderr, "re-encoded call does not decode: %s\n%s\n", err, enc);
		abort();
	}
	ha_assert(strcmp(c1.method, c2.method) == 0);
	ha_assert(same(c1.params, c2.params));
	free(enc);
	xmlrpc_call_clear(&c1);
	xmlrpc_call_clear(&c2);
}

static void
check_response(const char *buf, size_t size)
{
	struct xval_reply r1, r2;
	char err[XVAL_ERR_MAX];
	char *enc;
	size_t len;

	if (xmlrpc_decode_response(buf, size, MAX_BODY, &r1, err, sizeof(err)) != 0) {
		ha_assert(err[0] != '\0' && r1.value == NULL);
		return;
	}
	switch (r1.kind) {
	case XVAL_REPLY_SUCCESS:
		enc = xmlrpc_encode_success(r1.value, &len);
		break;
	case XVAL_REPLY_FAILURE:
		enc = xmlrpc_encode_failure(r1.value, &len);
		break;
	default:
		enc = xmlrpc_encode_bare(r1.value, &len);
		break;
	}
	if (xmlrpc_decode_response(enc, len, SIZE_MAX, &r2, err, sizeof(err)) != 0) {
		fprintf(stderr, "re-encoded response does not decode: %s\n%s\n", err, enc);
		abort();
	}
	ha_assert(r1.kind == r2.kind);
	ha_assert(same(r1.value, r2.value));
	free(enc);
	xval_reply_clear(&r1);
	xval_reply_clear(&r2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);

	if (buf == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);
	check_call(buf, size);
	check_response(buf, size);
	free(buf);
	return 0;
}
