/*
** The XAPI value model shared by the XML-RPC and JSON-RPC codecs: a small
** tagged tree of nil, bool, int64, double, string, datetime, array and
** struct (an ordered list of name -> value members).
**
** Ownership: every struct xval is owned by exactly one parent or by the
** caller that made it; xval_array_append() and xval_struct_add() take
** ownership of the value they are given; xval_free() frees a whole tree and
** is a no-op on NULL.  Allocation cannot fail (lib/xmalloc.h).
**
** Strings (and datetimes) are NUL-terminated; the decoders only ever produce
** valid UTF-8 without NUL characters.  A datetime is kept in its wire form,
** normally `YYYYMMDDTHH:MM:SSZ`.
**
** The decoders bound what a peer can make us build: at most XVAL_MAX_DEPTH
** nested values (a scalar is depth 1, an array of scalars depth 2) and at most
** XVAL_MAX_NODES values in one document, on top of the body size cap each
** decoder takes as an argument.  See docs/wire.md.
*/
#ifndef HASVC_API_XVAL_H
#define HASVC_API_XVAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define XVAL_MAX_DEPTH 64
#define XVAL_MAX_NODES (1u << 20)
/* A sensible body cap for requests; responses read by the CLI may need more. */
#define XVAL_MAX_BODY_DEFAULT (4u << 20)

/* Decoder return codes: 0 ok, else one of these with a sentence in err. */
#define XVAL_EBAD    -1  /* malformed: the server answers 400/500 */
#define XVAL_ELIMIT  -2  /* well-formed so far but over a size/depth/count limit */
#define XVAL_ERR_MAX 256 /* a good size for decoders' err buffers */

enum xval_type {
	XVAL_NIL,
	XVAL_BOOL,
	XVAL_INT,
	XVAL_DOUBLE,
	XVAL_STRING,
	XVAL_DATETIME,
	XVAL_ARRAY,
	XVAL_STRUCT,
};

struct xval;

struct xval_member {
	char *name;
	struct xval *value;
};

struct xval {
	enum xval_type type;
	/* XVAL_INT only: an int32 in XAPI's data model (e.g. valid_ref_counts),
	** which XML-RPC sends typed as <i4>; every other int is an int64, sent
	** untyped.  Decoders never set it; xval_equal ignores it. */
	int int32;
	union {
		int b;
		int64_t i;
		double d;
		char *s; /* XVAL_STRING, XVAL_DATETIME */
		struct {
			struct xval **v;
			size_t n, cap;
		} a;
		struct {
			struct xval_member *m;
			size_t n, cap;
		} st;
	} u;
};

/* A decoded reply: Status Success + Value, Status Failure + ErrorDescription
** (an array: code, then params), or a bare value (system.listMethods). */
enum xval_reply_kind {
	XVAL_REPLY_SUCCESS,
	XVAL_REPLY_FAILURE,
	XVAL_REPLY_BARE,
};

struct xval_reply {
	enum xval_reply_kind kind;
	struct xval *value;
};

void xval_reply_clear(struct xval_reply *reply);

struct xval *xval_new_nil(void);
struct xval *xval_new_bool(int b);
struct xval *xval_new_int(int64_t i);
/* An int32 of XAPI's model: `i` must fit in 32 bits. */
struct xval *xval_new_int32(int32_t i);
struct xval *xval_new_double(double d);
struct xval *xval_new_string(const char *s);
struct xval *xval_new_stringn(const char *s, size_t n);
/* `s` is stored as given; see xval_datetime_valid(). */
struct xval *xval_new_datetime(const char *s);
/* The UTC time `t` as `YYYYMMDDTHH:MM:SSZ`. */
struct xval *xval_new_datetime_time(time_t t);
struct xval *xval_new_array(void);
struct xval *xval_new_struct(void);

/* Append `item` (ownership passes to `array`). */
void xval_array_append(struct xval *array, struct xval *item);
/* Append member `name` -> `value` (ownership of value passes to `st`); the
** name is copied.  No duplicate check: callers building records use
** distinct names; decoded XML-RPC structs keep duplicates in document order. */
void xval_struct_add(struct xval *st, const char *name, struct xval *value);

void xval_free(struct xval *v);
struct xval *xval_copy(const struct xval *v);

/* Deep equality: same types, same scalars (doubles compare bitwise-equal,
** so NaN equals NaN and -0 differs from 0), same items and members in the
** same order. */
int xval_equal(const struct xval *a, const struct xval *b);

const char *xval_type_name(enum xval_type t);

/* Accessors.  Each one asserts the type (ha_assert): check xval_is() first
** when the value came from a peer. */
int xval_is(const struct xval *v, enum xval_type t);
int xval_bool(const struct xval *v);
int64_t xval_int(const struct xval *v);
double xval_double(const struct xval *v);
const char *xval_string(const struct xval *v); /* STRING or DATETIME */
size_t xval_len(const struct xval *v);         /* ARRAY or STRUCT */
struct xval *xval_array_get(const struct xval *v, size_t i);
const char *xval_struct_name(const struct xval *v, size_t i);
struct xval *xval_struct_value(const struct xval *v, size_t i);
/* The value of the last member called `name`, or NULL (also when `v` is not
** a struct). */
struct xval *xval_struct_get(const struct xval *v, const char *name);

/* An int64 as XAPI carries it: an XVAL_INT, or (XML-RPC) an XVAL_STRING of
** decimal digits with an optional sign, in range.  0 with *out set, or -1. */
int xval_get_int64(const struct xval *v, int64_t *out);

/* 1 if `s` is `YYYYMMDDTHH:MM:SS` with an optional trailing `Z`, else 0. */
int xval_datetime_valid(const char *s);

/* 1 if s[0..len) is valid UTF-8 (shortest forms, no surrogates, no code
** point above U+10FFFF), else 0. */
int xval_utf8_valid(const char *s, size_t len);

#endif
