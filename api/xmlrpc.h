/*
** XML-RPC codec for the XAPI wire protocol (reference/xapi.md §4.2), over
** libxml2.  Pure: bytes in, values out and back; no I/O.
**
** Decoding is defensive: the parser never touches the network
** (XML_PARSE_NONET), never substitutes entities, refuses any document type
** declaration (so no external entity and no entity-expansion bomb can even
** be declared), caps the body size, the nesting depth (XVAL_MAX_DEPTH) and
** the number of values (XVAL_MAX_NODES), and sends libxml2's own messages to
** a structured handler, never to stderr.  A failure is reported as one
** sentence in `err` (XVAL_ERR_MAX bytes is enough) and a return code:
** XVAL_EBAD for a malformed body, XVAL_ELIMIT for one over a limit.
**
** Encoding produces exactly what xapi (ocaml-rpc) produces: strings and
** int64 as untyped `<value>text</value>`, `<boolean>0|1</boolean>`,
** `<double>` with %.16g, `<nil/>`, `<dateTime.iso8601>`, arrays and structs.
** Encoders return a malloc'ed NUL-terminated buffer (free with free()) and
** its length in *len when len is not NULL; they cannot fail.
*/
#ifndef HASVC_API_XMLRPC_H
#define HASVC_API_XMLRPC_H

#include <stddef.h>

#include "api/xval.h"

struct xmlrpc_call {
	char *method;        /* methodName, surrounding whitespace trimmed */
	struct xval *params; /* an XVAL_ARRAY, one item per <param> */
};

void xmlrpc_call_clear(struct xmlrpc_call *call);

/* Decode a <methodCall> of `len` bytes (refused if len > max_body).  On
** success fills *call (the caller clears it) and returns 0; on failure
** *call is left empty and a sentence is written to err. */
int xmlrpc_decode_call(const char *body, size_t len, size_t max_body, struct xmlrpc_call *call,
                       char *err, size_t errsz);

/* Decode a <methodResponse>: a struct with Status "Success" and Value, or
** Status "Failure" and ErrorDescription, gives XVAL_REPLY_SUCCESS or
** XVAL_REPLY_FAILURE with that member; any other value is XVAL_REPLY_BARE; a
** <fault> gives XVAL_REPLY_FAILURE with ["FAULT", faultCode, faultString]
** (both as strings). */
int xmlrpc_decode_response(const char *body, size_t len, size_t max_body, struct xval_reply *reply,
                           char *err, size_t errsz);

/* {Status: "Success", Value: value} */
char *xmlrpc_encode_success(const struct xval *value, size_t *len);
/* {Status: "Failure", ErrorDescription: error}; `error` is the array
** [code, params...] (an XVAL_ARRAY of strings, by XAPI convention). */
char *xmlrpc_encode_failure(const struct xval *error, size_t *len);
/* The bare value, without the Status wrapper (system.listMethods). */
char *xmlrpc_encode_bare(const struct xval *value, size_t *len);
/* A <methodCall>; `params` is an XVAL_ARRAY (NULL: no params). */
char *xmlrpc_encode_call(const char *method, const struct xval *params, size_t *len);

#endif
