/*
** The statefile's on-disk format (DESIGN §2, §5; docs/statefile.md): pure
** encode/decode/check functions, no I/O.
**
** The file is (1 + SF_MAX_HOSTS) sectors of SF_SECTOR bytes: sector 0 is the
** header, sector 1 + i the slot of host index i.  Every integer is big-endian
** (lib/wire.h).  Each sector's signed body is followed by a CRC32C of the
** body and an HMAC-SHA256 (key from sf_key_derive) of body + CRC; the rest of
** the sector is zero.  Only the owner of slot i ever writes sector 1 + i.
**
** Decoders never trust what they read: a sector that fails any check is
** rejected with a reason (a static string) and the caller counts it and
** ignores it.  An accepted sector is canonical: encoding what was decoded
** gives back the same bytes.
**
** Check order: CRC, then HMAC, then magic, version, pool id, generation, the
** value ranges, the zero padding.  Integrity comes before interpretation, so
** a single flipped bit anywhere in the signed area reads "bad crc" — with one
** exception for diagnosis: when the CRC fails but the magic is right and the
** version field is not the current one the reason is "unsupported version"
** (another format has its checksum elsewhere).
**
** Versions: the header is version 1 (SF_VERSION), the slot version 2
** (SF_SLOT_VERSION: version 1 had no published verdict and is refused).
*/
#ifndef HASVC_HEARTBEAT_STATEFILE_H
#define HASVC_HEARTBEAT_STATEFILE_H

#include <stddef.h>
#include <stdint.h>

#define SF_SECTOR       4096
#define SF_MAX_HOSTS    64
#define SF_FILE_SIZE    ((1 + SF_MAX_HOSTS) * SF_SECTOR)
#define SF_VERSION      1  /* the header's */
#define SF_SLOT_VERSION 2  /* the slot's: 2 added the published verdict */
#define SF_ID_LEN       16 /* a pool id or host uuid, binary */
#define SF_HMAC_LEN     32
#define SF_DETAIL_LEN   256
#define SF_KEY_LEN      32

/* Byte offsets (docs/statefile.md has the full tables).  The CRC32C sits at
** *_BODY_LEN and covers [0, *_BODY_LEN); the HMAC follows it and covers
** [0, *_BODY_LEN + 4). */
#define SF_HEADER_BODY_LEN 52
#define SF_HEADER_USED     (SF_HEADER_BODY_LEN + 4 + SF_HMAC_LEN) /* 88 */
#define SF_SLOT_BODY_LEN   1192
#define SF_SLOT_USED       (SF_SLOT_BODY_LEN + 4 + SF_HMAC_LEN) /* 1228 */

/* 0 is never a valid pool state: a zeroed header does not decode. */
enum sf_pool_state {
	SF_POOL_INIT = 1,     /* written by `hasvc-statefile init`, not yet in use */
	SF_POOL_ACTIVE = 2,   /* HA is running on this statefile */
	SF_POOL_DISABLED = 3, /* HA was disabled; hosts must not use it */
};

enum sf_host_state {
	SF_HOST_ABSENT = 0, /* never written (an all-zero sector); never on disk */
	SF_HOST_ALIVE = 1,
	SF_HOST_FENCING = 2, /* decided to self-fence; the fence record says why */
	SF_HOST_FENCED = 3,  /* rebooted after a fence, not yet rejoined */
	SF_HOST_LEAVING = 4, /* clean shutdown: not a failure */
};

struct sf_key {
	uint8_t k[SF_KEY_LEN];
};

struct sf_header {
	uint32_t version; /* SF_VERSION */
	uint8_t pool_id[SF_ID_LEN];
	uint64_t generation; /* nonzero; bumped by each re-init */
	uint32_t pool_state; /* enum sf_pool_state */
	uint32_t host_count; /* 1..SF_MAX_HOSTS */
	uint64_t created;    /* wall clock, seconds since the epoch */
};

/* A membership as seen by one host: count entries are meaningful, the rest
** are zero (on disk and in a decoded struct). */
struct sf_members {
	uint32_t count; /* 0..SF_MAX_HOSTS */
	uint32_t nodeid[SF_MAX_HOSTS];
};

/* Written before a self-fence.  When present == 0 every other field is 0. */
struct sf_fence {
	uint32_t present; /* 0 or 1 */
	uint32_t reason;  /* a code of the liveness protocol; opaque here */
	uint64_t wall_s;
	uint64_t mono_ms;
	char detail[SF_DETAIL_LEN]; /* NUL-terminated, NUL-padded */
	struct sf_members members;  /* the membership the host saw */
};

/* The last SURVIVE verdict the host published (docs/protocol.md, "Published
** verdicts"): the ring of the round it closed and the new liveset, as nodeids
** like a member set.  It stays in the slot, whatever the host's state, until
** a later verdict replaces it.  PUBLISHED: a statefile win being confirmed
** (it may still end in a fence); SURVIVED: the host acted on it.  Both
** preempt the hosts they leave out; only a SURVIVED one may close the round
** of a host it includes (docs/protocol.md, "Catching up").  When kind ==
** SF_VERDICT_NONE every other field is 0. */
enum sf_verdict_kind {
	SF_VERDICT_NONE = 0,
	SF_VERDICT_PUBLISHED = 1,
	SF_VERDICT_SURVIVED = 2,
};

struct sf_verdict {
	uint32_t kind;          /* enum sf_verdict_kind */
	uint32_t ring_nodeid;   /* the ring it closes: representative (nonzero) ... */
	uint64_t ring_seq;      /* ... and sequence */
	struct sf_members live; /* the new liveset, 1..64 nodeids */
	uint64_t wall_s;        /* when it was taken: wall clock ... */
	uint64_t mono_ms;       /* ... and the writer's CLOCK_MONOTONIC */
};

struct sf_slot {
	uint32_t version; /* SF_SLOT_VERSION */
	uint8_t pool_id[SF_ID_LEN];
	uint64_t generation; /* equals the header's */
	uint32_t host_index; /* < SF_MAX_HOSTS; equals the slot's position */
	uint8_t host_uuid[SF_ID_LEN];
	uint64_t seq;         /* strictly increasing per writer (checked by the reader) */
	uint32_t state;       /* enum sf_host_state, never SF_HOST_ABSENT */
	uint32_t ring_nodeid; /* corosync ring id: representative nodeid ... */
	uint64_t ring_seq;    /* ... and ring sequence */
	struct sf_members members;
	uint64_t storage_view; /* bit i: this host reached host i's slot on storage */
	uint64_t mono_ms;      /* the writer's CLOCK_MONOTONIC; comparable only to itself */
	uint64_t wall_s;
	struct sf_fence fence;
	struct sf_verdict verdict;
};

/* What the reader expects; NULL / 0 fields are not checked. */
struct sf_expect {
	const uint8_t *pool_id; /* SF_ID_LEN bytes, or NULL */
	uint64_t generation;    /* 0: any */
	int index;              /* slots: the slot's position, or -1 for any */
};

/* CRC32C (Castagnoli, reflected, init and final xor ~0): continue `crc`
** (0 to start) over buf.  sf_crc32c(0, "123456789", 9) == 0xe3069283. */
uint32_t sf_crc32c(uint32_t crc, const void *buf, size_t len);

/* The statefile key: HMAC-SHA256(key = secret, data = "hasvc statefile v1").
** `secret` is the pool's secret (its corosync authkey bytes).  0 or -1. */
int sf_key_derive(const void *secret, size_t len, struct sf_key *out);

/* Write the CRC32C of sector[0, body_len) at body_len and the HMAC of
** sector[0, body_len + 4) after it.  For encoders, and for tests that craft
** sectors with out-of-range values but valid seals. */
void sf_seal(uint8_t *sector, size_t body_len, const struct sf_key *k);

/* Encode into a whole sector (padding zeroed).  Returns SF_SECTOR, or 0 when
** a value is out of range (the reason in *why if why is not NULL). */
size_t sf_header_encode(const struct sf_header *h, const struct sf_key *k, uint8_t buf[SF_SECTOR],
                        const char **why);
size_t sf_slot_encode(const struct sf_slot *s, const struct sf_key *k, uint8_t buf[SF_SECTOR],
                      const char **why);

/* Decode and check one sector (len >= SF_SECTOR; only the first SF_SECTOR
** bytes are read).  0 with *out filled, or -1 with *why set to a static
** reason and *out unspecified.  k == NULL skips the HMAC check: for the
** offline tool's diagnosis only ("whose statefile is this?"), never for
** decisions. */
int sf_header_decode(const uint8_t *buf, size_t len, const struct sf_key *k,
                     const struct sf_expect *exp, struct sf_header *out, const char **why);
int sf_slot_decode(const uint8_t *buf, size_t len, const struct sf_key *k,
                   const struct sf_expect *exp, struct sf_slot *out, const char **why);

/* 1 if the n bytes at p are all zero. */
int sf_is_zero(const uint8_t *p, size_t n);

/* Everything one read of the whole file tells. */
struct sf_snapshot {
	int header_present; /* the header sector is not all zero */
	int header_ok;
	const char *header_why; /* when !header_ok: "absent" or a decode reason */
	struct sf_header header;
	struct {
		int present; /* the sector is not all zero */
		int valid;
		const char *why; /* when present && !valid */
		struct sf_slot slot;
	} slot[SF_MAX_HOSTS];
	unsigned nvalid, ninvalid, nabsent;
};

/* Decode a whole file image (len >= SF_FILE_SIZE, else every part is
** invalid: "short file").  The header is checked against exp->pool_id (and
** exp->generation if nonzero).  Slots are checked against the pool id, the
** slot's position, and the generation: exp->generation if nonzero, else the
** header's when the header is ok, else not at all (the header is then
** invalid and a caller must not trust anything; the tool still shows it). */
void sf_snapshot_decode(const uint8_t *buf, size_t len, const struct sf_key *k,
                        const struct sf_expect *exp, struct sf_snapshot *out);

/* Names for logs and the tool; "?" for an unknown value. */
const char *sf_pool_state_name(uint32_t s);
const char *sf_host_state_name(uint32_t s);
const char *sf_verdict_kind_name(uint32_t k);

#endif
