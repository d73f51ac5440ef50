/*
** libFuzzer target over the statefile decoders (heartbeat/statefile.c).
**
** The input is padded with zeros (or cut) to one sector and decoded as a
** header and as a slot with a fixed key and no expectations, then with the
** pool id and generation it claims (so the expectation checks are reached).
** Properties checked on every input:
**  - no decoder reads out of bounds or crashes (ASan/UBSan);
**  - what decodes re-encodes to exactly the input sector (one encoding per
**    value), and that encoding decodes to the same struct;
**  - the same sector, sealed again with the key (so the fuzzer gets past the
**    CRC and HMAC and exercises the value checks), behaves the same way.
** Corpus seeds are whole sectors sealed with the key below
** (tests/fuzz/corpus/sf_slot/).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heartbeat/statefile.h"
#include "lib/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sf_key key;
static int have_key;

static void
check_header(const uint8_t *sec)
{
	static uint8_t re[SF_SECTOR];
	struct sf_header h, h2;
	struct sf_expect e = {NULL, 0, -1};
	const char *why = NULL;

	if (sf_header_decode(sec, SF_SECTOR, &key, NULL, &h, &why) != 0) {
		ha_assert(why != NULL);
		return;
	}
	ha_assert(sf_header_encode(&h, &key, re, &why) == SF_SECTOR);
	ha_assert(memcmp(re, sec, SF_SECTOR) == 0);
	e.pool_id = h.pool_id;
	e.generation = h.generation;
	ha_assert(sf_header_decode(re, SF_SECTOR, &key, &e, &h2, &why) == 0);
	ha_assert(memcmp(&h, &h2, sizeof(h)) == 0);
}

static void
check_slot(const uint8_t *sec)
{
	static uint8_t re[SF_SECTOR];
	struct sf_slot s, s2;
	struct sf_expect e = {NULL, 0, -1};
	const char *why = NULL;

	if (sf_slot_decode(sec, SF_SECTOR, &key, NULL, &s, &why) != 0) {
		ha_assert(why != NULL);
		return;
	}
	ha_assert(sf_slot_encode(&s, &key, re, &why) == SF_SECTOR);
	ha_assert(memcmp(re, sec, SF_SECTOR) == 0);
	e.pool_id = s.pool_id;
	e.generation = s.generation;
	e.index = (int)s.host_index;
	ha_assert(sf_slot_decode(re, SF_SECTOR, &key, &e, &s2, &why) == 0);
	ha_assert(memcmp(&s, &s2, sizeof(s)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t sec[SF_SECTOR];

	if (!have_key) {
		ha_assert(sf_key_derive("fuzz secret", 11, &key) == 0);
		have_key = 1;
	}
	memset(sec, 0, sizeof(sec));
	memcpy(sec, data, size < SF_SECTOR ? size : SF_SECTOR);
	check_header(sec);
	check_slot(sec);
	/* Sealed as a header, then as a slot. */
	sf_seal(sec, SF_HEADER_BODY_LEN, &key);
	check_header(sec);
	memset(sec, 0, sizeof(sec));
	memcpy(sec, data, size < SF_SECTOR ? size : SF_SECTOR);
	sf_seal(sec, SF_SLOT_BODY_LEN, &key);
	check_slot(sec);
	return 0;
}
