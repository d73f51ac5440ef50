/*
** Fuzz target for api/jsonrpc.c.  Any bytes are tried both as a request and
** as a response.  Whatever decodes must re-encode (same version, id and
** method) into something that decodes again to exactly the same values:
** the JSON mapping of decoded values is lossless.  The input is copied so
** that ASan sees a read past `size`.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/jsonrpc.h"
#include "lib/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BODY (256 * 1024)

static void
check_request(const char *buf, size_t size)
{
	struct jsonrpc_request r1, r2;
	char err[XVAL_ERR_MAX];
	char *enc;
	size_t len;

	if (jsonrpc_decode_request(buf, size, MAX_BODY, &r1, err, sizeof(err)) != 0) {
		ha_assert(err[0] != '\0' && r1.method == NULL && r1.params == NULL);
		return;
	}
	enc = jsonrpc_encode_request(r1.version, r1.id, r1.method, r1.params, &len);
	if (jsonrpc_decode_request(enc, len, SIZE_MAX, &r2, err, sizeof(err)) != 0) {
		fprintf(stderr, "re-encoded request does not decode: %s\n%s\n", err, enc);
		abort();
	}
	ha_assert(r1.version == r2.version);
	ha_assert(strcmp(r1.method, r2.method) == 0);
	ha_assert(xval_equal(r1.id, r2.id));
	ha_assert(xval_equal(r1.params, r2.params));
	free(enc);
	jsonrpc_request_clear(&r1);
	jsonrpc_request_clear(&r2);
}

static void
check_response(const char *buf, size_t size)
{
	struct xval_reply r1, r2;
	struct xval *id1, *id2;
	char err[XVAL_ERR_MAX];
	char *enc;
	size_t len;
	int v;

	if (jsonrpc_decode_response(buf, size, MAX_BODY, &r1, &id1, err, sizeof(err)) != 0) {
		ha_assert(err[0] != '\0' && r1.value == NULL && id1 == NULL);
		return;
	}
	for (v = 1; v <= 2; v++) {
		/* v2 failures carry [message, data...]: a v1 error must be an
		** array with a string head to survive the v2 shape. */
		if (r1.kind == XVAL_REPLY_FAILURE && v == 2 &&
		    !(r1.value->type == XVAL_ARRAY && r1.value->u.a.n > 0 &&
		      r1.value->u.a.v[0]->type == XVAL_STRING))
			continue;
		if (r1.kind == XVAL_REPLY_FAILURE)
			enc = jsonrpc_encode_failure(v, id1, r1.value, &len);
		else
			enc = jsonrpc_encode_success(v, id1, r1.value, &len);
		if (jsonrpc_decode_response(enc, len, SIZE_MAX, &r2, &id2, err, sizeof(err)) != 0) {
			fprintf(stderr, "re-encoded response does not decode: %s\n%s\n", err, enc);
			abort();
		}
		ha_assert(r1.kind == r2.kind);
		ha_assert(xval_equal(id1, id2));
		ha_assert(xval_equal(r1.value, r2.value));
		free(enc);
		xval_free(id2);
		xval_reply_clear(&r2);
	}
	xval_free(id1);
	xval_reply_clear(&r1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);

	if (buf == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);
	check_request(buf, size);
	check_response(buf, size);
	free(buf);
	return 0;
}
