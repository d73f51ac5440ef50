/*
** libFuzzer target over the watchdog keeper's codec (fencing/wdmsg.c).
**
** Properties checked on every input, as given and with the magic and
** version patched in (so that random inputs reach the type, length, reason
** and value checks):
**  - wd_msg_decode never reads out of bounds or crashes (ASan/UBSan);
**  - a message it accepts re-encodes to exactly the same bytes, and that
**    encoding decodes again to the same type;
**  - a rejection always comes with a reason, an acceptance never.
** Corpus seeds: one message of each type, a long reason, a truncated one, a
** bad magic (tests/fuzz/corpus/wd_msg/).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fencing/wdmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const uint8_t *data, size_t size)
{
	static uint8_t buf[WD_MSG_MAX * 2];
	struct wd_msg m, again;
	const char *why = NULL;
	size_t n;

	if (wd_msg_decode(data, size, &m, &why) != 0) {
		if (why == NULL)
			abort();
		return;
	}
	if (why != NULL)
		abort();
	n = wd_msg_encode(&m, buf, sizeof(buf));
	if (n != size || n > WD_MSG_MAX || memcmp(buf, data, size) != 0)
		abort();
	if (wd_msg_decode(buf, n, &again, NULL) != 0 || again.type != m.type)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t patched[WD_MSG_MAX * 2];

	check(data, size);
	if (size >= 5 && size <= sizeof(patched)) {
		memcpy(patched, data, size);
		patched[0] = 'H';
		patched[1] = 'A';
		patched[2] = 'W';
		patched[3] = 'D';
		patched[4] = WD_MSG_VERSION;
		check(patched, size);
	}
	return 0;
}
