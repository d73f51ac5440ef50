/*
** libFuzzer target over the simhv protocol decoder (lib/simhv_proto.c).
**
** Properties checked on every input:
**  - the decoder never reads out of bounds or crashes (ASan/UBSan);
**  - a message it accepts re-encodes to exactly the same bytes (there is one
**    encoding per message: nothing the peer sends is silently reinterpreted);
**  - the header check agrees with the decoder on the payload length.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/simhv_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct simhv_msg m;
	static uint8_t again[SIMHV_MSG_MAX];
	ssize_t plen, n;

	plen = simhv_hdr_check(data, size);
	if (simhv_msg_decode(data, size, &m) < 0)
		return 0;
	if (plen < 0 || (size_t)plen + SIMHV_HDR_LEN != size)
		abort();
	n = simhv_msg_encode(&m, again, sizeof(again));
	if (n < 0 || (size_t)n != size || memcmp(again, data, size) != 0)
		abort();
	return 0;
}
