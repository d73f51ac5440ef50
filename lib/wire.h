/*
** Explicit-byte-order, bounds-checked encoding and decoding for every wire
** and disk format (STYLE habit 14).  All integers are big-endian.
**
** A cursor remembers the first error: after an overrun every further put/get
** does nothing and `err` stays set, so a decoder reads all its fields and
** checks once at the end:
**
**     struct rbuf r = RBUF_INIT(buf, len);
**     v = rget_u32(&r);  rget_str(&r, name, sizeof(name));
**     if (r.err || r.off != r.len) return -1;
*/
#ifndef HASVC_LIB_WIRE_H
#define HASVC_LIB_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct wbuf {
	uint8_t *p;
	size_t len;
	size_t off;
	int err;
};

struct rbuf {
	const uint8_t *p;
	size_t len;
	size_t off;
	int err;
};

#define WBUF_INIT(buf, size) {(uint8_t *)(buf), (size), 0, 0}
#define RBUF_INIT(buf, size) {(const uint8_t *)(buf), (size), 0, 0}

static inline uint8_t *
wbuf_reserve(struct wbuf *w, size_t n)
{
	uint8_t *p;

	if (w->err || w->len - w->off < n) {
		w->err = 1;
		return NULL;
	}
	p = w->p + w->off;
	w->off += n;
	return p;
}

static inline void
wput_u8(struct wbuf *w, uint8_t v)
{
	uint8_t *p = wbuf_reserve(w, 1);

	if (p)
		p[0] = v;
}

static inline void
wput_u16(struct wbuf *w, uint16_t v)
{
	uint8_t *p = wbuf_reserve(w, 2);

	if (p) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	}
}

static inline void
wput_u32(struct wbuf *w, uint32_t v)
{
	uint8_t *p = wbuf_reserve(w, 4);
	int i;

	if (p)
		for (i = 0; i < 4; i++)
			p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static inline void
wput_u64(struct wbuf *w, uint64_t v)
{
	uint8_t *p = wbuf_reserve(w, 8);
	int i;

	if (p)
		for (i = 0; i < 8; i++)
			p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static inline void
wput_bytes(struct wbuf *w, const void *src, size_t n)
{
	uint8_t *p = wbuf_reserve(w, n);

	if (p && n)
		memcpy(p, src, n);
}

/* A string in a fixed field of `n` bytes, NUL-padded.  A string that does not
** fit with its NUL is an error. */
static inline void
wput_str(struct wbuf *w, const char *s, size_t n)
{
	size_t l = strlen(s);
	uint8_t *p;

	if (l >= n) {
		w->err = 1;
		return;
	}
	p = wbuf_reserve(w, n);
	if (p) {
		memcpy(p, s, l);
		memset(p + l, 0, n - l);
	}
}

static inline const uint8_t *
rbuf_take(struct rbuf *r, size_t n)
{
	const uint8_t *p;

	if (r->err || r->len - r->off < n) {
		r->err = 1;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static inline uint8_t
rget_u8(struct rbuf *r)
{
	const uint8_t *p = rbuf_take(r, 1);

	return p ? p[0] : 0;
}

static inline uint16_t
rget_u16(struct rbuf *r)
{
	const uint8_t *p = rbuf_take(r, 2);

	return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

static inline uint32_t
rget_u32(struct rbuf *r)
{
	const uint8_t *p = rbuf_take(r, 4);
	uint32_t v = 0;
	int i;

	if (p)
		for (i = 0; i < 4; i++)
			v = (v << 8) | p[i];
	return v;
}

static inline uint64_t
rget_u64(struct rbuf *r)
{
	const uint8_t *p = rbuf_take(r, 8);
	uint64_t v = 0;
	int i;

	if (p)
		for (i = 0; i < 8; i++)
			v = (v << 8) | p[i];
	return v;
}

static inline void
rget_bytes(struct rbuf *r, void *dst, size_t n)
{
	const uint8_t *p = rbuf_take(r, n);

	if (p && n)
		memcpy(dst, p, n);
	else if (n)
		memset(dst, 0, n);
}

/* A fixed field of `n` bytes holding a NUL-terminated string; the field must
** contain a NUL and only zero bytes after it.  `dst` has room for n bytes. */
static inline void
rget_str(struct rbuf *r, char *dst, size_t n)
{
	const uint8_t *p = rbuf_take(r, n);
	const uint8_t *nul;
	size_t i;

	dst[0] = '\0';
	if (p == NULL)
		return;
	nul = memchr(p, 0, n);
	if (nul == NULL) {
		r->err = 1;
		return;
	}
	for (i = (size_t)(nul - p); i < n; i++)
		if (p[i] != 0) {
			r->err = 1;
			return;
		}
	memcpy(dst, p, n);
}

/* The start of hasvc's typed messages (liveness, watchdog keeper): u32
** magic, u8 version, u8 type, where len_of(type) is the whole length of a
** message of that type (0: unknown type).  The buffer's whole length must be
** at least hdr_len and exactly len_of(type).  0 with *type set (the reader
** past the type byte), or -1 with *why one of "short", "bad magic", "bad
** version", "bad type", "bad length". */
static inline int
rget_msg_start(struct rbuf *r, size_t hdr_len, uint32_t magic, uint8_t version,
               size_t (*len_of)(int type), uint8_t *type, const char **why)
{
	if (r->len < hdr_len) {
		*why = "short";
		return -1;
	}
	if (rget_u32(r) != magic) {
		*why = "bad magic";
		return -1;
	}
	if (rget_u8(r) != version) {
		*why = "bad version";
		return -1;
	}
	*type = rget_u8(r);
	if (len_of(*type) == 0) {
		*why = "bad type";
		return -1;
	}
	if (r->len != len_of(*type)) {
		*why = "bad length";
		return -1;
	}
	return 0;
}

#endif
