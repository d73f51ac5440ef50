/*
** JSON-RPC codec for the XAPI wire protocol (reference/xapi.md §4.3), over
** json-c.  Pure: bytes in, values out and back; no I/O.
**
** Requests are JSON-RPC 2.0 (`"jsonrpc":"2.0"`; params absent, null, an
** array, or an object taken as the single param) or 1.0 (no `jsonrpc`,
** `params` a required array).  The id is required, non-null, and an integer
** or a string: notifications are refused, as xapi refuses them.
**
** JSON to xval: null -> nil, true/false -> bool, an integer -> int (out of
** int64 range is an error), any other number -> double, a string -> string
** (valid UTF-8, no NUL), an array -> array, an object -> struct (members in
** document order; json-c keeps the last of duplicate keys).
**
** Decoders cap the body size (an argument), the nesting depth
** (XVAL_MAX_DEPTH) and the number of values (XVAL_MAX_NODES); they refuse
** trailing data after the JSON value.  A failure is one sentence in `err`
** and XVAL_EBAD (malformed) or XVAL_ELIMIT (over a limit).
**
** Encoders write exactly what xapi writes (compact, members in this order):
**   v1  {"result":X,"error":null,"id":ID}
**       {"result":null,"error":[CODE,p...],"id":ID}
**   v2  {"jsonrpc":"2.0","result":X,"id":ID}
**       {"jsonrpc":"2.0","error":{"code":1,"message":CODE,"data":[p...]},"id":ID}
** int64 is a bare JSON integer, a datetime a string, a non-finite double
** null; the id is echoed with its type.  Encoders return a malloc'ed
** NUL-terminated buffer (free()) and its length in *len if len is not NULL.
*/
#ifndef HASVC_API_JSONRPC_H
#define HASVC_API_JSONRPC_H

#include <stddef.h>

#include "api/xval.h"

struct jsonrpc_request {
	int version;         /* 1 or 2 */
	char *method;        /* non-empty */
	struct xval *params; /* an XVAL_ARRAY */
	struct xval *id;     /* an XVAL_INT or XVAL_STRING */
};

void jsonrpc_request_clear(struct jsonrpc_request *req);

/* Decode a request of `len` bytes (refused if len > max_body).  0 with *req
** filled (the caller clears it), or an XVAL_E* code with *req empty. */
int jsonrpc_decode_request(const char *body, size_t len, size_t max_body,
                           struct jsonrpc_request *req, char *err, size_t errsz);

/* Decode a response (v1 or v2 by the presence of "jsonrpc").  A v2 error
** object {code, message, data} becomes the ErrorDescription
** [message, data...]; a v1 error is taken as it is.  If id is not NULL it
** receives a copy of the response's id (the caller frees it). */
int jsonrpc_decode_response(const char *body, size_t len, size_t max_body, struct xval_reply *reply,
                            struct xval **id, char *err, size_t errsz);

/* `id` may be NULL (JSON null: a reply to a request whose id is unknown). */
char *jsonrpc_encode_success(int version, const struct xval *id, const struct xval *result,
                             size_t *len);
/* `error` is the XAPI ErrorDescription: an XVAL_ARRAY [code, params...]. */
char *jsonrpc_encode_failure(int version, const struct xval *id, const struct xval *error,
                             size_t *len);
/* A request; `params` is an XVAL_ARRAY (NULL: []). */
char *jsonrpc_encode_request(int version, const struct xval *id, const char *method,
                             const struct xval *params, size_t *len);

#endif
