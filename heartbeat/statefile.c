/*
** The statefile's on-disk format: encoders, strict decoders, CRC32C and the
** HMAC seal.  Pure: no I/O, no clock, no allocation; safe from any thread.
** OpenSSL (HMAC-SHA256) is this module's one external library.
**
** Encoders are lenient about what cannot matter (members past count, the
** fence fields of an absent fence, bytes after the detail's NUL are written
** as zeros) and strict about values a reader would reject; decoders are
** strict about everything, so each accepted sector has exactly one encoding.
*/
#include "heartbeat/statefile.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lib/check.h"
#include "lib/crc32c.h"
#include "lib/wire.h"

static const uint8_t header_magic[8] = {'H', 'A', 'S', 'V', 'C', 'S', 'F', '\0'};
static const uint8_t slot_magic[4] = {'S', 'L', 'O', 'T'};
static const char key_label[] = "hasvc statefile v1";

uint32_t
sf_crc32c(uint32_t crc, const void *buf, size_t len)
{
	return crc32c(crc, buf, len);
}

int
sf_key_derive(const void *secret, size_t len, struct sf_key *out)
{
	unsigned int mdlen = 0;

	if (len > INT32_MAX)
		return -1;
	if (HMAC(EVP_sha256(), secret, (int)len, (const unsigned char *)key_label,
	         sizeof(key_label) - 1, out->k, &mdlen) == NULL ||
	    mdlen != SF_KEY_LEN)
		return -1;
	return 0;
}

/* HMAC-SHA256 of buf[0, len) under k into mac. */
static void
seal_mac(const uint8_t *buf, size_t len, const struct sf_key *k, uint8_t mac[SF_HMAC_LEN])
{
	unsigned int mdlen = 0;

	/* HMAC() fails only on a broken libcrypto: a host that cannot sign its
	** heartbeat must not go on pretending it can. */
	ha_assert(HMAC(EVP_sha256(), k->k, SF_KEY_LEN, buf, len, mac, &mdlen) != NULL &&
	          mdlen == SF_HMAC_LEN);
}

void
sf_seal(uint8_t *sector, size_t body_len, const struct sf_key *k)
{
	struct wbuf w = WBUF_INIT(sector + body_len, 4);

	ha_assert(body_len + 4 + SF_HMAC_LEN <= SF_SECTOR);
	wput_u32(&w, sf_crc32c(0, sector, body_len));
	seal_mac(sector, body_len + 4, k, sector + body_len + 4);
}

int
sf_is_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

const char *
sf_pool_state_name(uint32_t s)
{
	switch (s) {
	case SF_POOL_INIT:
		return "init";
	case SF_POOL_ACTIVE:
		return "active";
	case SF_POOL_DISABLED:
		return "disabled";
	}
	return "?";
}

const char *
sf_verdict_kind_name(uint32_t k)
{
	switch (k) {
	case SF_VERDICT_NONE:
		return "none";
	case SF_VERDICT_PUBLISHED:
		return "published";
	case SF_VERDICT_SURVIVED:
		return "survived";
	}
	return "?";
}

const char *
sf_host_state_name(uint32_t s)
{
	switch (s) {
	case SF_HOST_ABSENT:
		return "absent";
	case SF_HOST_ALIVE:
		return "alive";
	case SF_HOST_FENCING:
		return "fencing";
	case SF_HOST_FENCED:
		return "fenced";
	case SF_HOST_LEAVING:
		return "leaving";
	}
	return "?";
}

/* ---- value checks shared by encoders (lenient) and decoders (strict) ---- */

static const char *
check_header(const struct sf_header *h)
{
	if (h->generation == 0)
		return "out of range: generation 0";
	if (h->pool_state < SF_POOL_INIT || h->pool_state > SF_POOL_DISABLED)
		return "out of range: unknown pool state";
	if (h->host_count < 1 || h->host_count > SF_MAX_HOSTS)
		return "out of range: host count";
	return NULL;
}

/* strict: also the canonical-form rules a decoder enforces. */
static const char *
check_members(const struct sf_members *m, int strict)
{
	uint32_t i;

	if (m->count > SF_MAX_HOSTS)
		return "out of range: member count > 64";
	for (i = 0; i < m->count; i++)
		if (m->nodeid[i] == 0)
			return "out of range: nodeid 0 in a member set";
	if (strict)
		for (; i < SF_MAX_HOSTS; i++)
			if (m->nodeid[i] != 0)
				return "out of range: member entries past the count are not zero";
	return NULL;
}

static const char *
check_verdict(const struct sf_verdict *v, int strict)
{
	if (v->kind > SF_VERDICT_SURVIVED)
		return "out of range: unknown verdict kind";
	if (v->kind == SF_VERDICT_NONE) {
		if (strict &&
		    (v->ring_nodeid != 0 || v->ring_seq != 0 || v->wall_s != 0 || v->mono_ms != 0 ||
		     v->live.count != 0 ||
		     !sf_is_zero((const uint8_t *)v->live.nodeid, sizeof(v->live.nodeid))))
			return "out of range: verdict fields set without a verdict";
		return NULL;
	}
	if (v->ring_nodeid == 0)
		return "out of range: verdict ring nodeid 0";
	if (v->live.count == 0)
		return "out of range: verdict with an empty liveset";
	return check_members(&v->live, strict);
}

static const char *
check_slot_fence(const struct sf_slot *s, int strict)
{
	const struct sf_fence *f = &s->fence;
	const char *why, *nul;

	if (s->generation == 0)
		return "out of range: generation 0";
	if (s->host_index >= SF_MAX_HOSTS)
		return "out of range: host index >= 64";
	if (s->state < SF_HOST_ALIVE || s->state > SF_HOST_LEAVING)
		return "out of range: unknown host state";
	if ((why = check_members(&s->members, strict)) != NULL)
		return why;
	if (f->present > 1)
		return "out of range: fence present flag";
	if (!f->present) {
		if (strict &&
		    (f->reason != 0 || f->wall_s != 0 || f->mono_ms != 0 ||
		     !sf_is_zero((const uint8_t *)f->detail, SF_DETAIL_LEN) ||
		     f->members.count != 0 ||
		     !sf_is_zero((const uint8_t *)f->members.nodeid, sizeof(f->members.nodeid))))
			return "out of range: fence fields set without a fence record";
		return NULL;
	}
	nul = memchr(f->detail, '\0', SF_DETAIL_LEN);
	if (nul == NULL)
		return "out of range: fence detail not NUL-terminated";
	if (strict && !sf_is_zero((const uint8_t *)nul, (size_t)(f->detail + SF_DETAIL_LEN - nul)))
		return "out of range: fence detail not NUL-padded";
	return check_members(&f->members, strict);
}

/* Everything up to the fence record, then the verdict (in offset order). */
static const char *
check_slot(const struct sf_slot *s, int strict)
{
	const char *why = check_slot_fence(s, strict);

	return why != NULL ? why : check_verdict(&s->verdict, strict);
}

/* ---- encoding ---- */

static void
put_members(struct wbuf *w, const struct sf_members *m)
{
	uint32_t i;

	wput_u32(w, m->count);
	for (i = 0; i < SF_MAX_HOSTS; i++)
		wput_u32(w, i < m->count ? m->nodeid[i] : 0);
}

size_t
sf_header_encode(const struct sf_header *h, const struct sf_key *k, uint8_t buf[SF_SECTOR],
                 const char **why)
{
	struct wbuf w = WBUF_INIT(buf, SF_HEADER_BODY_LEN);
	const char *bad = check_header(h);

	if (bad != NULL) {
		if (why)
			*why = bad;
		return 0;
	}
	memset(buf, 0, SF_SECTOR);
	wput_bytes(&w, header_magic, sizeof(header_magic));
	wput_u32(&w, SF_VERSION);
	wput_bytes(&w, h->pool_id, SF_ID_LEN);
	wput_u64(&w, h->generation);
	wput_u32(&w, h->pool_state);
	wput_u32(&w, h->host_count);
	wput_u64(&w, h->created);
	ha_assert(!w.err && w.off == SF_HEADER_BODY_LEN);
	sf_seal(buf, SF_HEADER_BODY_LEN, k);
	return SF_SECTOR;
}

size_t
sf_slot_encode(const struct sf_slot *s, const struct sf_key *k, uint8_t buf[SF_SECTOR],
               const char **why)
{
	struct wbuf w = WBUF_INIT(buf, SF_SLOT_BODY_LEN);
	const struct sf_fence *f = &s->fence;
	const struct sf_verdict *v = &s->verdict;
	const char *bad = check_slot(s, 0);
	int vp = v->kind != SF_VERDICT_NONE;
	static const struct sf_members none;

	if (bad != NULL) {
		if (why)
			*why = bad;
		return 0;
	}
	memset(buf, 0, SF_SECTOR);
	wput_bytes(&w, slot_magic, sizeof(slot_magic));
	wput_u32(&w, SF_SLOT_VERSION);
	wput_bytes(&w, s->pool_id, SF_ID_LEN);
	wput_u64(&w, s->generation);
	wput_u32(&w, s->host_index);
	wput_bytes(&w, s->host_uuid, SF_ID_LEN);
	wput_u64(&w, s->seq);
	wput_u32(&w, s->state);
	wput_u32(&w, s->ring_nodeid);
	wput_u64(&w, s->ring_seq);
	put_members(&w, &s->members);
	wput_u64(&w, s->storage_view);
	wput_u64(&w, s->mono_ms);
	wput_u64(&w, s->wall_s);
	wput_u32(&w, f->present);
	wput_u32(&w, f->present ? f->reason : 0);
	wput_u64(&w, f->present ? f->wall_s : 0);
	wput_u64(&w, f->present ? f->mono_ms : 0);
	if (f->present)
		wput_str(&w, f->detail, SF_DETAIL_LEN); /* NUL-terminated: checked */
	else
		wbuf_reserve(&w, SF_DETAIL_LEN); /* already zero */
	put_members(&w, f->present ? &f->members : &none);
	wput_u32(&w, v->kind);
	wput_u32(&w, vp ? v->ring_nodeid : 0);
	wput_u64(&w, vp ? v->ring_seq : 0);
	put_members(&w, vp ? &v->live : &none);
	wput_u64(&w, vp ? v->wall_s : 0);
	wput_u64(&w, vp ? v->mono_ms : 0);
	ha_assert(!w.err && w.off == SF_SLOT_BODY_LEN);
	sf_seal(buf, SF_SLOT_BODY_LEN, k);
	return SF_SECTOR;
}

/* ---- decoding ---- */

/* The integrity checks common to both kinds of sector; NULL if they pass. */
static const char *
check_seal(const uint8_t *buf, size_t body_len, const struct sf_key *k, const uint8_t *magic,
           size_t magic_len, uint32_t version)
{
	struct rbuf r = RBUF_INIT(buf + body_len, 4);
	struct rbuf rv = RBUF_INIT(buf + magic_len, 4);
	uint8_t mac[SF_HMAC_LEN];

	if (rget_u32(&r) != sf_crc32c(0, buf, body_len)) {
		if (memcmp(buf, magic, magic_len) == 0 && rget_u32(&rv) != version)
			return "unsupported version";
		return "bad crc";
	}
	if (k != NULL) {
		seal_mac(buf, body_len + 4, k, mac);
		if (CRYPTO_memcmp(mac, buf + body_len + 4, SF_HMAC_LEN) != 0)
			return "bad hmac";
	}
	if (memcmp(buf, magic, magic_len) != 0)
		return "bad magic";
	if (rget_u32(&rv) != version)
		return "unsupported version";
	return NULL;
}

static int
fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -1;
}

int
sf_header_decode(const uint8_t *buf, size_t len, const struct sf_key *k,
                 const struct sf_expect *exp, struct sf_header *out, const char **why)
{
	struct rbuf r = RBUF_INIT(buf, SF_HEADER_BODY_LEN);
	const char *bad;

	if (len < SF_SECTOR)
		return fail(why, "short sector");
	if ((bad = check_seal(buf, SF_HEADER_BODY_LEN, k, header_magic, sizeof(header_magic),
	                      SF_VERSION)))
		return fail(why, bad);
	memset(out, 0, sizeof(*out));
	rbuf_take(&r, sizeof(header_magic));
	out->version = rget_u32(&r);
	rget_bytes(&r, out->pool_id, SF_ID_LEN);
	out->generation = rget_u64(&r);
	out->pool_state = rget_u32(&r);
	out->host_count = rget_u32(&r);
	out->created = rget_u64(&r);
	ha_assert(!r.err && r.off == SF_HEADER_BODY_LEN);
	if (exp != NULL && exp->pool_id != NULL && memcmp(exp->pool_id, out->pool_id, SF_ID_LEN))
		return fail(why, "wrong pool id");
	if (exp != NULL && exp->generation != 0 && exp->generation != out->generation)
		return fail(why, "wrong generation");
	if ((bad = check_header(out)) != NULL)
		return fail(why, bad);
	if (!sf_is_zero(buf + SF_HEADER_USED, SF_SECTOR - SF_HEADER_USED))
		return fail(why, "nonzero padding");
	return 0;
}

static void
get_members(struct rbuf *r, struct sf_members *m)
{
	uint32_t i;

	m->count = rget_u32(r);
	for (i = 0; i < SF_MAX_HOSTS; i++)
		m->nodeid[i] = rget_u32(r);
}

int
sf_slot_decode(const uint8_t *buf, size_t len, const struct sf_key *k, const struct sf_expect *exp,
               struct sf_slot *out, const char **why)
{
	struct rbuf r = RBUF_INIT(buf, SF_SLOT_BODY_LEN);
	struct sf_fence *f = &out->fence;
	struct sf_verdict *v = &out->verdict;
	const char *bad;

	if (len < SF_SECTOR)
		return fail(why, "short sector");
	if ((bad = check_seal(buf, SF_SLOT_BODY_LEN, k, slot_magic, sizeof(slot_magic),
	                      SF_SLOT_VERSION)))
		return fail(why, bad);
	memset(out, 0, sizeof(*out));
	rbuf_take(&r, sizeof(slot_magic));
	out->version = rget_u32(&r);
	rget_bytes(&r, out->pool_id, SF_ID_LEN);
	out->generation = rget_u64(&r);
	out->host_index = rget_u32(&r);
	rget_bytes(&r, out->host_uuid, SF_ID_LEN);
	out->seq = rget_u64(&r);
	out->state = rget_u32(&r);
	out->ring_nodeid = rget_u32(&r);
	out->ring_seq = rget_u64(&r);
	get_members(&r, &out->members);
	out->storage_view = rget_u64(&r);
	out->mono_ms = rget_u64(&r);
	out->wall_s = rget_u64(&r);
	f->present = rget_u32(&r);
	f->reason = rget_u32(&r);
	f->wall_s = rget_u64(&r);
	f->mono_ms = rget_u64(&r);
	rget_bytes(&r, f->detail, SF_DETAIL_LEN);
	get_members(&r, &f->members);
	v->kind = rget_u32(&r);
	v->ring_nodeid = rget_u32(&r);
	v->ring_seq = rget_u64(&r);
	get_members(&r, &v->live);
	v->wall_s = rget_u64(&r);
	v->mono_ms = rget_u64(&r);
	ha_assert(!r.err && r.off == SF_SLOT_BODY_LEN);
	if (exp != NULL && exp->pool_id != NULL && memcmp(exp->pool_id, out->pool_id, SF_ID_LEN))
		return fail(why, "wrong pool id");
	if (exp != NULL && exp->generation != 0 && exp->generation != out->generation)
		return fail(why, "wrong generation");
	if ((bad = check_slot(out, 1)) != NULL)
		return fail(why, bad);
	if (exp != NULL && exp->index >= 0 && out->host_index != (uint32_t)exp->index)
		return fail(why, "host index does not match the slot's position");
	if (!sf_is_zero(buf + SF_SLOT_USED, SF_SECTOR - SF_SLOT_USED))
		return fail(why, "nonzero padding");
	return 0;
}

void
sf_snapshot_decode(const uint8_t *buf, size_t len, const struct sf_key *k,
                   const struct sf_expect *exp, struct sf_snapshot *out)
{
	struct sf_expect se = {NULL, 0, -1};
	int i;

	memset(out, 0, sizeof(*out));
	if (exp != NULL)
		se = *exp;
	if (len < SF_FILE_SIZE) {
		out->header_why = "short file";
		for (i = 0; i < SF_MAX_HOSTS; i++) {
			out->slot[i].why = "short file";
			out->nabsent++;
		}
		return;
	}
	out->header_present = !sf_is_zero(buf, SF_SECTOR);
	if (!out->header_present)
		out->header_why = "absent";
	else if (sf_header_decode(buf, SF_SECTOR, k, &se, &out->header, &out->header_why) == 0)
		out->header_ok = 1;
	if (se.generation == 0 && out->header_ok)
		se.generation = out->header.generation;
	for (i = 0; i < SF_MAX_HOSTS; i++) {
		const uint8_t *sec = buf + (size_t)(1 + i) * SF_SECTOR;

		se.index = i;
		if (sf_is_zero(sec, SF_SECTOR)) {
			out->nabsent++;
			continue;
		}
		out->slot[i].present = 1;
		if (sf_slot_decode(sec, SF_SECTOR, k, &se, &out->slot[i].slot, &out->slot[i].why) ==
		    0) {
			out->slot[i].valid = 1;
			out->slot[i].why = NULL;
			out->nvalid++;
		} else {
			memset(&out->slot[i].slot, 0, sizeof(out->slot[i].slot));
			out->ninvalid++;
		}
	}
}
