/*
** The XAPI value tree (see xval.h): constructors, accessors, deep copy,
** deep equality and free.  Pure: no I/O, no global state.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/xval.h"
#include "lib/check.h"
#include "lib/xmalloc.h"

static struct xval *
xval_alloc(enum xval_type t)
{
	struct xval *v = xcalloc(1, sizeof(*v));

	v->type = t;
	return v;
}

struct xval *
xval_new_nil(void)
{
	return xval_alloc(XVAL_NIL);
}

struct xval *
xval_new_bool(int b)
{
	struct xval *v = xval_alloc(XVAL_BOOL);

	v->u.b = b ? 1 : 0;
	return v;
}

struct xval *
xval_new_int(int64_t i)
{
	struct xval *v = xval_alloc(XVAL_INT);

	v->u.i = i;
	return v;
}

struct xval *
xval_new_int32(int32_t i)
{
	struct xval *v = xval_new_int(i);

	v->int32 = 1;
	return v;
}

struct xval *
xval_new_double(double d)
{
	struct xval *v = xval_alloc(XVAL_DOUBLE);

	v->u.d = d;
	return v;
}

struct xval *
xval_new_stringn(const char *s, size_t n)
{
	struct xval *v = xval_alloc(XVAL_STRING);

	v->u.s = xstrndup(s, n);
	return v;
}

struct xval *
xval_new_string(const char *s)
{
	return xval_new_stringn(s, strlen(s));
}

struct xval *
xval_new_datetime(const char *s)
{
	struct xval *v = xval_alloc(XVAL_DATETIME);

	v->u.s = xstrdup(s);
	return v;
}

struct xval *
xval_new_datetime_time(time_t t)
{
	struct tm tm;
	char buf[64];

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(buf, sizeof(buf), "%04d%02d%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return xval_new_datetime(buf);
}

struct xval *
xval_new_array(void)
{
	return xval_alloc(XVAL_ARRAY);
}

struct xval *
xval_new_struct(void)
{
	return xval_alloc(XVAL_STRUCT);
}

void
xval_array_append(struct xval *array, struct xval *item)
{
	ha_assert(array->type == XVAL_ARRAY && item != NULL);
	if (array->u.a.n == array->u.a.cap) {
		array->u.a.cap = array->u.a.cap ? 2 * array->u.a.cap : 4;
		array->u.a.v = xreallocarray(array->u.a.v, array->u.a.cap, sizeof(*array->u.a.v));
	}
	array->u.a.v[array->u.a.n++] = item;
}

void
xval_struct_add(struct xval *st, const char *name, struct xval *value)
{
	ha_assert(st->type == XVAL_STRUCT && name != NULL && value != NULL);
	if (st->u.st.n == st->u.st.cap) {
		st->u.st.cap = st->u.st.cap ? 2 * st->u.st.cap : 4;
		st->u.st.m = xreallocarray(st->u.st.m, st->u.st.cap, sizeof(*st->u.st.m));
	}
	st->u.st.m[st->u.st.n].name = xstrdup(name);
	st->u.st.m[st->u.st.n].value = value;
	st->u.st.n++;
}

void
xval_free(struct xval *v)
{
	size_t i;

	if (v == NULL)
		return;
	switch (v->type) {
	case XVAL_STRING:
	case XVAL_DATETIME:
		xfree(v->u.s);
		break;
	case XVAL_ARRAY:
		for (i = 0; i < v->u.a.n; i++)
			xval_free(v->u.a.v[i]);
		xfree(v->u.a.v);
		break;
	case XVAL_STRUCT:
		for (i = 0; i < v->u.st.n; i++) {
			xfree(v->u.st.m[i].name);
			xval_free(v->u.st.m[i].value);
		}
		xfree(v->u.st.m);
		break;
	default:
		break;
	}
	xfree(v);
}

void
xval_reply_clear(struct xval_reply *reply)
{
	if (reply == NULL)
		return;
	xval_free(reply->value);
	reply->value = NULL;
}

struct xval *
xval_copy(const struct xval *v)
{
	struct xval *c;
	size_t i;

	switch (v->type) {
	case XVAL_STRING:
		return xval_new_string(v->u.s);
	case XVAL_DATETIME:
		return xval_new_datetime(v->u.s);
	case XVAL_ARRAY:
		c = xval_new_array();
		for (i = 0; i < v->u.a.n; i++)
			xval_array_append(c, xval_copy(v->u.a.v[i]));
		return c;
	case XVAL_STRUCT:
		c = xval_new_struct();
		for (i = 0; i < v->u.st.n; i++)
			xval_struct_add(c, v->u.st.m[i].name, xval_copy(v->u.st.m[i].value));
		return c;
	default:
		c = xval_alloc(v->type);
		c->u = v->u;
		c->int32 = v->int32;
		return c;
	}
}

int
xval_equal(const struct xval *a, const struct xval *b)
{
	size_t i;

	if (a == NULL || b == NULL)
		return a == b;
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case XVAL_NIL:
		return 1;
	case XVAL_BOOL:
		return a->u.b == b->u.b;
	case XVAL_INT:
		return a->u.i == b->u.i;
	case XVAL_DOUBLE:
		/* Bitwise, so that NaN == NaN and a round trip is checkable. */
		return memcmp(&a->u.d, &b->u.d, sizeof(double)) == 0 ||
		       (a->u.d != a->u.d && b->u.d != b->u.d);
	case XVAL_STRING:
	case XVAL_DATETIME:
		return strcmp(a->u.s, b->u.s) == 0;
	case XVAL_ARRAY:
		if (a->u.a.n != b->u.a.n)
			return 0;
		for (i = 0; i < a->u.a.n; i++)
			if (!xval_equal(a->u.a.v[i], b->u.a.v[i]))
				return 0;
		return 1;
	case XVAL_STRUCT:
		if (a->u.st.n != b->u.st.n)
			return 0;
		for (i = 0; i < a->u.st.n; i++)
			if (strcmp(a->u.st.m[i].name, b->u.st.m[i].name) != 0 ||
			    !xval_equal(a->u.st.m[i].value, b->u.st.m[i].value))
				return 0;
		return 1;
	}
	return 0;
}

const char *
xval_type_name(enum xval_type t)
{
	static const char *const names[] = {"nil",    "bool",     "int",   "double",
	                                    "string", "datetime", "array", "struct"};

	return (unsigned)t < ARRAY_SIZE(names) ? names[t] : "?";
}

int
xval_is(const struct xval *v, enum xval_type t)
{
	return v != NULL && v->type == t;
}

int
xval_bool(const struct xval *v)
{
	ha_assert(v->type == XVAL_BOOL);
	return v->u.b;
}

int64_t
xval_int(const struct xval *v)
{
	ha_assert(v->type == XVAL_INT);
	return v->u.i;
}

double
xval_double(const struct xval *v)
{
	ha_assert(v->type == XVAL_DOUBLE);
	return v->u.d;
}

const char *
xval_string(const struct xval *v)
{
	ha_assert(v->type == XVAL_STRING || v->type == XVAL_DATETIME);
	return v->u.s;
}

size_t
xval_len(const struct xval *v)
{
	ha_assert(v->type == XVAL_ARRAY || v->type == XVAL_STRUCT);
	return v->type == XVAL_ARRAY ? v->u.a.n : v->u.st.n;
}

struct xval *
xval_array_get(const struct xval *v, size_t i)
{
	ha_assert(v->type == XVAL_ARRAY && i < v->u.a.n);
	return v->u.a.v[i];
}

const char *
xval_struct_name(const struct xval *v, size_t i)
{
	ha_assert(v->type == XVAL_STRUCT && i < v->u.st.n);
	return v->u.st.m[i].name;
}

struct xval *
xval_struct_value(const struct xval *v, size_t i)
{
	ha_assert(v->type == XVAL_STRUCT && i < v->u.st.n);
	return v->u.st.m[i].value;
}

struct xval *
xval_struct_get(const struct xval *v, const char *name)
{
	size_t i;

	if (v == NULL || v->type != XVAL_STRUCT)
		return NULL;
	for (i = v->u.st.n; i > 0; i--)
		if (strcmp(v->u.st.m[i - 1].name, name) == 0)
			return v->u.st.m[i - 1].value;
	return NULL;
}

int
xval_get_int64(const struct xval *v, int64_t *out)
{
	const char *s;
	char *end;
	long long ll;

	if (v == NULL)
		return -1;
	if (v->type == XVAL_INT) {
		*out = v->u.i;
		return 0;
	}
	if (v->type != XVAL_STRING)
		return -1;
	s = v->u.s;
	/* strtoll alone would take leading blanks and an empty string. */
	if (!((*s >= '0' && *s <= '9') || ((*s == '-' || *s == '+') && s[1] >= '0' && s[1] <= '9')))
		return -1;
	errno = 0;
	ll = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = ll;
	return 0;
}

static int
digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int
xval_datetime_valid(const char *s)
{
	size_t n = strlen(s);

	if (n != 17 && !(n == 18 && s[17] == 'Z'))
		return 0;
	return digits(s, 8) && s[8] == 'T' && digits(s + 9, 2) && s[11] == ':' &&
	       digits(s + 12, 2) && s[14] == ':' && digits(s + 15, 2);
}

int
xval_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned c = p[i];
		size_t need, k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= need)
			return 0;
		for (k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}
