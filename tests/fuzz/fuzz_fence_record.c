/*
** libFuzzer target over the fence record decoder (fencing/record.c), the
** reader behind `host.get_ha_fence_history`.
**
** Properties checked on every input:
**  - the decoder reads nothing outside the input and never crashes
**    (ASan/UBSan), and a refusal always says why;
**  - what decodes re-encodes to exactly the input (one encoding per record),
**    which decodes to the same struct;
**  - the same input with its last line replaced by a correct checksum (so
**    the fuzzer gets past the CRC and reaches the field checks) behaves the
**    same way.
** Corpus seeds are whole records (tests/fuzz/corpus/fence_record/).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fencing/record.h"
#include "lib/check.h"
#include "lib/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const uint8_t *data, size_t size)
{
	struct fence_record r, r2;
	const char *why = NULL;
	size_t len;
	char *enc;

	if (fence_record_decode(data, size, &r, &why) != 0) {
		ha_assert(why != NULL);
		return;
	}
	enc = fence_record_encode(&r, &len);
	ha_assert(len == size && memcmp(enc, data, size) == 0);
	ha_assert(fence_record_decode(enc, len, &r2, &why) == 0);
	ha_assert(memcmp(&r, &r2, sizeof(r)) == 0);
	xfree(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p;
	uint8_t *sealed;
	size_t body;

	if (size > FENCE_RECORD_MAX + 1)
		return 0;
	check(data, size);
	/* Seal: keep everything up to the last "crc32c=" and append a correct
	** checksum line. */
	p = NULL;
	for (size_t i = 0; i + 7 <= size; i++)
		if (memcmp(data + i, "crc32c=", 7) == 0)
			p = data + i;
	body = p != NULL ? (size_t)(p - data) : size;
	sealed = xmalloc(body + 17);
	memcpy(sealed, data, body);
	snprintf((char *)sealed + body, 17, "crc32c=%08x\n", fence_record_crc32c(0, data, body));
	check(sealed, body + 16);
	xfree(sealed);
	return 0;
}
