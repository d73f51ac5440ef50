/*
** libFuzzer target over the replication message codec and its receiver
** (hasvc/repl.c).
**
** Properties checked on every input:
**  - repl_msg_decode never reads out of bounds or crashes (ASan/UBSan);
**  - a message it accepts re-encodes to exactly the same bytes, and that
**    encoding decodes again (one encoding per message);
**  - the same bytes delivered to a running one-node repl (a READY master
**    with a tiny fake store), from itself and from a stranger, never crash
**    it; with the pool id patched to ours, the typed handlers are reached.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hasvc/repl.h"
#include "lib/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define POOL "11111111-2222-4333-8444-555555555555"
#define HOST "aaaaaaaa-0000-4000-8000-000000000001"

static const uint8_t pool_bin[16] = {0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x43, 0x33,
                                     0x84, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55};

/* The fake store: one 64-bit value; a changeset is 8 bytes, the new value. */
static uint64_t value, fterm, fseq;

static int
f_position(void *arg, uint64_t *term, uint64_t *seq)
{
	*term = fterm;
	*seq = fseq;
	return 0;
}

static int
f_checksum(void *arg, uint8_t out[REPL_CHECKSUM_LEN])
{
	memset(out, 0, REPL_CHECKSUM_LEN);
	memcpy(out, &value, sizeof(value));
	return 0;
}

static int
f_apply(void *arg, uint64_t term, uint64_t seq, const void *cs, size_t len)
{
	if (len != 0 && len != 8)
		return -1;
	if (len)
		memcpy(&value, cs, 8);
	fterm = term;
	fseq = seq;
	return 0;
}

static int
f_propose(void *arg, const void *cs, size_t len, void **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (len != 8)
		return -1;
	*out = xmalloc(8);
	memcpy(*out, cs, 8);
	*outlen = 8;
	return 0;
}

static int
f_snapshot(void *arg, void **img, size_t *len)
{
	uint8_t *p = xmalloc(24);

	memcpy(p, &fterm, 8);
	memcpy(p + 8, &fseq, 8);
	memcpy(p + 16, &value, 8);
	*img = p;
	*len = 24;
	return 0;
}

static int
f_restore(void *arg, const void *img, size_t len)
{
	const uint8_t *p = img;

	if (len != 24)
		return -1;
	memcpy(&fterm, p, 8);
	memcpy(&fseq, p + 8, 8);
	memcpy(&value, p + 16, 8);
	return 0;
}

/* Our own multicasts come back through a small queue, delivered after
** each call as corosync would (never re-entrantly). */
static struct repl *self;
static uint8_t *queue[16];
static size_t queue_len[16], nqueue;

static int
io_send(void *arg, const void *msg, size_t len)
{
	if (nqueue == 16)
		return -1;
	queue[nqueue] = xmalloc(len);
	memcpy(queue[nqueue], msg, len);
	queue_len[nqueue++] = len;
	return 0;
}

static void
drain(uint64_t now)
{
	int rounds = 0;

	while (nqueue > 0 && rounds++ < 64) {
		uint8_t *m = queue[0];
		size_t len = queue_len[0];

		nqueue--;
		memmove(queue, queue + 1, nqueue * sizeof(queue[0]));
		memmove(queue_len, queue_len + 1, nqueue * sizeof(queue_len[0]));
		repl_deliver(self, now, 1, m, len);
		free(m);
	}
	while (nqueue > 0)
		free(queue[--nqueue]);
}

static int
io_capture(void *arg, uint64_t req_id, void **cs, size_t *len)
{
	uint64_t v = value + 1;

	*cs = xmalloc(8);
	memcpy(*cs, &v, 8);
	*len = 8;
	return 0;
}

static void
io_done(void *arg, uint64_t req_id, int rc)
{
}

static void
io_status(void *arg, const struct repl_status *st)
{
}

static void
io_restored(void *arg)
{
}

static struct repl *
one_node(void)
{
	struct repl_config cfg;
	struct repl_store store = {NULL,      f_position, f_checksum, f_apply,
	                           f_propose, f_snapshot, f_restore};
	struct repl_io io = {NULL, io_send, io_capture, io_done, io_status, io_restored};
	uint32_t me = 1;
	struct repl *r;

	value = fterm = fseq = 0;
	repl_config_defaults(&cfg);
	strcpy(cfg.pool_uuid, POOL);
	strcpy(cfg.host_uuid, HOST);
	cfg.hosts = 1;
	r = repl_new(&cfg, &store, &io);
	if (r == NULL)
		abort();
	self = r;
	repl_up(r, 1, 1);
	repl_ring(r, 1, 1);
	repl_quorum(r, 1, 1, 1);
	repl_view(r, 1, &me, 1);
	drain(1); /* elects itself, announces, becomes writable */
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct repl_msg m, again;
	static uint8_t buf[REPL_MSG_MAX * 2];
	struct repl_status st;
	struct repl *r;
	uint8_t *patched;
	size_t n;

	if (repl_msg_decode(data, size, &m, NULL) == 0) {
		n = repl_msg_encode(&m, buf, sizeof(buf));
		if (n != size || memcmp(buf, data, size) != 0)
			abort();
		if (repl_msg_decode(buf, n, &again, NULL) != 0 || again.type != m.type)
			abort();
	}

	r = one_node();
	repl_get_status(r, &st);
	if (!st.writable)
		abort();
	repl_deliver(r, 2, 1, data, size);
	repl_deliver(r, 2, 7, data, size);
	drain(2);
	if (size >= 24) {
		/* Ours: reaches the handlers past the pool check. */
		patched = xmalloc(size);
		memcpy(patched, data, size);
		memcpy(patched + 8, pool_bin, 16);
		repl_deliver(r, 3, 1, patched, size);
		drain(3);
		repl_deliver(r, 3, 7, patched, size);
		drain(3);
		repl_write(r, 4, 42);
		drain(4);
		if (repl_next_deadline(r) != UINT64_MAX)
			repl_tick(r, repl_next_deadline(r));
		drain(5);
		free(patched);
	}
	repl_free(r);
	drain(6);
	return 0;
}
