/*
** libFuzzer target over the liveness message codec (heartbeat/lvmsg.c).
**
** Properties checked on every input, as given and with the magic and
** version patched in (so that random inputs reach the type, length and
** value checks):
**  - lv_msg_decode never reads out of bounds or crashes (ASan/UBSan);
**  - a message it accepts is lv_msg_is_mine, re-encodes to exactly the
**    same bytes, and that encoding decodes again to the same type;
**  - a rejection always comes with a reason.
** Corpus seeds: one message of each type, a truncated one, a bad magic
** (tests/fuzz/corpus/lv_msg/).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heartbeat/lvmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const uint8_t *data, size_t size)
{
	static uint8_t buf[LV_MSG_MAX * 2];
	struct lv_msg m, again;
	const char *why = NULL;
	size_t n;

	if (lv_msg_decode(data, size, &m, &why) != 0) {
		if (why == NULL)
			abort();
		return;
	}
	if (why != NULL || !lv_msg_is_mine(data, size))
		abort();
	n = lv_msg_encode(&m, buf, sizeof(buf));
	if (n != size || n > LV_MSG_MAX || memcmp(buf, data, size) != 0)
		abort();
	if (lv_msg_decode(buf, n, &again, NULL) != 0 || again.type != m.type ||
	    again.from != m.from)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t patched[LV_MSG_MAX * 2];

	check(data, size);
	if (size >= 5 && size <= sizeof(patched)) {
		memcpy(patched, data, size);
		patched[0] = 'H';
		patched[1] = 'A';
		patched[2] = 'L';
		patched[3] = 'V';
		patched[4] = LV_MSG_VERSION;
		check(patched, size);
	}
	return 0;
}
