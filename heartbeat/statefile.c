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
#include "lib/wire.h"

static const uint8_t header_magic[8] = {'H', 'A', 'S', 'V', 'C', 'S', 'F', '\0'};
static const uint8_t slot_magic[4] = {'S', 'L', 'O', 'T'};
static const char key_label[] = "hasvc statefile v1";

/* CRC32C, reflected polynomial 0x82f63b78, one byte per step. */
static const uint32_t crc32c_table[256] = {
    0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
    0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b, 0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
    0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
    0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
    0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a, 0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
    0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
    0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
    0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a, 0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
    0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
    0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
    0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927, 0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
    0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
    0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
    0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859, 0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
    0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
    0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
    0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c, 0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
    0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
    0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
    0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c, 0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
    0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
    0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
    0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d, 0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
    0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
    0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
    0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff, 0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
    0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
    0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
    0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee, 0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
    0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
    0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
    0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e, 0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

uint32_t
sf_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
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
