/*
** Unit tests of the simhv protocol codec (lib/simhv_proto.c): every type
** round-trips; every kind of malformed input is rejected.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "lib/simhv_proto.h"

#define VM "aaaaaaaa-0000-4000-8000-000000000001"

static uint8_t buf[SIMHV_MSG_MAX + 64];

static struct simhv_msg *
msg_new(unsigned type, uint32_t seq)
{
	struct simhv_msg *m = calloc(1, sizeof(*m));

	m->type = (uint16_t)type;
	m->seq = seq;
	return m;
}

static struct simhv_msg *
reply_new(unsigned req, uint32_t status)
{
	struct simhv_msg *m = msg_new(SIMHV_REPLY, 7);

	m->u.reply.req = (uint16_t)req;
	m->u.reply.status = status;
	snprintf(m->u.reply.message, sizeof(m->u.reply.message), "answer to %s",
		 simhv_type_name(req));
	return m;
}

/* Encode, decode, and compare field by field through a re-encoding: the two
** encodings must be identical byte for byte. */
static void
round_trip(const struct simhv_msg *m)
{
	struct simhv_msg *d = calloc(1, sizeof(*d));
	uint8_t *again = malloc(SIMHV_MSG_MAX);
	ssize_t n, n2;

	n = simhv_msg_encode(m, buf, sizeof(buf));
	assert_true(n >= SIMHV_HDR_LEN);
	assert_int_equal(simhv_hdr_check(buf, (size_t)n), n - SIMHV_HDR_LEN);
	assert_int_equal(simhv_msg_decode(buf, (size_t)n, d), 0);
	assert_int_equal(d->type, m->type);
	assert_int_equal(d->seq, m->seq);
	n2 = simhv_msg_encode(d, again, SIMHV_MSG_MAX);
	assert_int_equal(n2, n);
	assert_memory_equal(again, buf, (size_t)n);
	free(again);
	free(d);
}

static void
test_requests_round_trip(void **state)
{
	static const unsigned empty[] = {SIMHV_HOST_INFO, SIMHV_LIST_DOMAINS, SIMHV_WD_PET,
					 SIMHV_WD_DISARM,  SIMHV_SUBSCRIBE,    SIMHV_POWER_ON,
					 SIMHV_STATUS};
	static const unsigned dom[] = {SIMHV_SHUTDOWN, SIMHV_DESTROY, SIMHV_CRASH_DOMAIN,
				       SIMHV_GUEST_SHUTDOWN};
	struct simhv_msg *m, *d = calloc(1, sizeof(*d));
	ssize_t n;
	size_t i;

	m = msg_new(SIMHV_HELLO, 1);
	strcpy(m->u.hello.name, "hasvcd");
	m->u.hello.pid = 4242;
	round_trip(m);
	n = simhv_msg_encode(m, buf, sizeof(buf));
	assert_int_equal(n, SIMHV_HDR_LEN + SIMHV_HOST_LEN + 4);
	assert_int_equal(simhv_msg_decode(buf, (size_t)n, d), 0);
	assert_string_equal(d->u.hello.name, "hasvcd");
	assert_int_equal(d->u.hello.pid, 4242);
	free(m);

	m = msg_new(SIMHV_REGISTER_PID, 2);
	m->u.pid.pid = 99;
	round_trip(m);
	free(m);

	m = msg_new(SIMHV_START, 0xffffffffu);
	strcpy(m->u.start.uuid, VM);
	memset(m->u.start.name, 'n', sizeof(m->u.start.name) - 1); /* longest name */
	m->u.start.memory = UINT64_C(1) << 40;
	m->u.start.vcpus = 64;
	round_trip(m);
	n = simhv_msg_encode(m, buf, sizeof(buf));
	assert_int_equal(simhv_msg_decode(buf, (size_t)n, d), 0);
	assert_string_equal(d->u.start.uuid, VM);
	assert_int_equal(strlen(d->u.start.name), sizeof(m->u.start.name) - 1);
	assert_true(d->u.start.memory == UINT64_C(1) << 40);
	assert_int_equal(d->u.start.vcpus, 64);
	free(m);

	for (i = 0; i < sizeof(dom) / sizeof(dom[0]); i++) {
		m = msg_new(dom[i], 3);
		strcpy(m->u.dom.uuid, VM);
		round_trip(m);
		free(m);
	}
	m = msg_new(SIMHV_WD_ARM, 4);
	m->u.wd.timeout_ms = 30000;
	round_trip(m);
	free(m);
	m = msg_new(SIMHV_SELF_RESET, 5);
	strcpy(m->u.reset.reason, "fence: lost quorum and statefile");
	round_trip(m);
	free(m);
	for (i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		m = msg_new(empty[i], 6);
		round_trip(m);
		assert_int_equal(simhv_msg_encode(m, buf, sizeof(buf)), SIMHV_HDR_LEN);
		free(m);
	}
	free(d);
}

static void
test_event_round_trip(void **state)
{
	struct simhv_msg *m = msg_new(SIMHV_EVENT, 0), *d = calloc(1, sizeof(*d));
	unsigned k;
	ssize_t n;

	for (k = SIMHV_EV_DIED; k < SIMHV_EV_END; k++) {
		m->u.event.kind = (uint16_t)k;
		strcpy(m->u.event.uuid, VM);
		strcpy(m->u.event.reason, "crashed");
		round_trip(m);
		n = simhv_msg_encode(m, buf, sizeof(buf));
		assert_int_equal(simhv_msg_decode(buf, (size_t)n, d), 0);
		assert_int_equal(d->u.event.kind, k);
		assert_string_equal(d->u.event.reason, "crashed");
	}
	assert_string_equal(simhv_event_name(SIMHV_EV_CRASHED), "crashed");
	free(m);
	free(d);
}

static void
test_replies_round_trip(void **state)
{
	struct simhv_msg *m, *d = calloc(1, sizeof(*d));
	unsigned t;
	uint32_t i;
	ssize_t n;

	/* Every request type, success and failure. */
	for (t = 1; t < SIMHV_TYPE_END; t++) {
		if (t == SIMHV_EVENT || t == SIMHV_REPLY)
			continue;
		m = reply_new(t, 0);
		round_trip(m);
		free(m);
		m = reply_new(t, 28 /* ENOSPC-like */);
		round_trip(m);
		n = simhv_msg_encode(m, buf, sizeof(buf));
		/* A failed reply has no body, whatever the request. */
		assert_int_equal(n, SIMHV_HDR_LEN + 2 + 4 + SIMHV_REASON_LEN);
		free(m);
	}

	m = reply_new(SIMHV_HOST_INFO, 0);
	strcpy(m->u.reply.u.info.host, "h1");
	m->u.reply.u.info.memory_total = UINT64_C(16) << 30;
	m->u.reply.u.info.memory_free = UINT64_C(15) << 30;
	m->u.reply.u.info.cpus = 16;
	m->u.reply.u.info.powered_on = 1;
	m->u.reply.u.info.resets = 3;
	round_trip(m);
	n = simhv_msg_encode(m, buf, sizeof(buf));
	assert_int_equal(simhv_msg_decode(buf, (size_t)n, d), 0);
	assert_string_equal(d->u.reply.u.info.host, "h1");
	assert_true(d->u.reply.u.info.memory_free == UINT64_C(15) << 30);
	assert_int_equal(d->u.reply.u.info.resets, 3);
	free(m);

	m = reply_new(SIMHV_STATUS, 0);
	m->u.reply.u.status.resets = 2;
	m->u.reply.u.status.last_reset_wall = 1700000000;
	m->u.reply.u.status.last_reset_mono_ns = 123456789;
	strcpy(m->u.reply.u.status.last_reason, "watchdog timeout");
	m->u.reply.u.status.wd_armed = 1;
	m->u.reply.u.status.wd_timeout_ms = 300;
	round_trip(m);
	n = simhv_msg_encode(m, buf, sizeof(buf));
	assert_int_equal(simhv_msg_decode(buf, (size_t)n, d), 0);
	assert_string_equal(d->u.reply.u.status.last_reason, "watchdog timeout");
	assert_int_equal(d->u.reply.u.status.last_reset_wall, 1700000000);
	free(m);

	m = reply_new(SIMHV_HELLO, 0);
	strcpy(m->u.reply.u.hello.host, "h2");
	m->u.reply.u.hello.pid = 77;
	round_trip(m);
	free(m);

	/* The largest message: a full domain list fits the payload limit. */
	m = reply_new(SIMHV_LIST_DOMAINS, 0);
	m->u.reply.u.list.n = SIMHV_MAX_DOMAINS;
	for (i = 0; i < SIMHV_MAX_DOMAINS; i++) {
		struct simhv_domain *dm = &m->u.reply.u.list.d[i];

		snprintf(dm->uuid, sizeof(dm->uuid), "aaaaaaaa-0000-4000-8000-%012u", i);
		memset(dm->name, 'x', sizeof(dm->name) - 1);
		dm->memory = (uint64_t)i << 20;
		dm->vcpus = i;
		dm->state = (uint8_t)(1 + i % (SIMHV_DOM_END - 1));
	}
	round_trip(m);
	n = simhv_msg_encode(m, buf, sizeof(buf));
	assert_true(n <= SIMHV_MSG_MAX);
	assert_int_equal(simhv_msg_decode(buf, (size_t)n, d), 0);
	assert_int_equal(d->u.reply.u.list.n, SIMHV_MAX_DOMAINS);
	assert_string_equal(d->u.reply.u.list.d[255].uuid, m->u.reply.u.list.d[255].uuid);
	m->u.reply.u.list.n = 0;
	round_trip(m);
	m->u.reply.u.list.n = SIMHV_MAX_DOMAINS + 1;
	assert_int_equal(simhv_msg_encode(m, buf, sizeof(buf)), -1);
	free(m);
	free(d);
}

static void
test_encoder_refuses(void **state)
{
	struct simhv_msg *m = msg_new(SIMHV_START, 0);

	/* seq 0 on a request, seq != 0 on an event */
	strcpy(m->u.start.uuid, VM);
	assert_int_equal(simhv_msg_encode(m, buf, sizeof(buf)), -1);
	m->seq = 1;
	assert_true(simhv_msg_encode(m, buf, sizeof(buf)) > 0);
	/* buffer too small */
	assert_int_equal(simhv_msg_encode(m, buf, 20), -1);
	/* string without room for its NUL */
	memset(m->u.start.name, 'x', sizeof(m->u.start.name));
	assert_int_equal(simhv_msg_encode(m, buf, sizeof(buf)), -1);
	memset(m, 0, sizeof(*m));
	m->type = SIMHV_EVENT;
	m->seq = 1;
	m->u.event.kind = SIMHV_EV_DIED;
	assert_int_equal(simhv_msg_encode(m, buf, sizeof(buf)), -1);
	m->seq = 0;
	m->u.event.kind = 0;
	assert_int_equal(simhv_msg_encode(m, buf, sizeof(buf)), -1);
	m->type = 0;
	assert_int_equal(simhv_msg_encode(m, buf, sizeof(buf)), -1);
	m->type = SIMHV_TYPE_END;
	assert_int_equal(simhv_msg_encode(m, buf, sizeof(buf)), -1);
	/* a reply to a non-request */
	free(m);
	m = reply_new(SIMHV_EVENT, 0);
	assert_int_equal(simhv_msg_encode(m, buf, sizeof(buf)), -1);
	free(m);
}

/* A valid START, encoded into buf; returns its length. */
static size_t
valid_start(void)
{
	struct simhv_msg *m = msg_new(SIMHV_START, 9);
	ssize_t n;

	strcpy(m->u.start.uuid, VM);
	strcpy(m->u.start.name, "web");
	m->u.start.memory = 1 << 30;
	m->u.start.vcpus = 2;
	n = simhv_msg_encode(m, buf, sizeof(buf));
	free(m);
	assert_true(n > 0);
	return (size_t)n;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
test_decoder_rejects(void **state)
{
	struct simhv_msg *d = calloc(1, sizeof(*d));
	size_t n = valid_start(), i;
	uint8_t saved;

	assert_int_equal(simhv_msg_decode(buf, n, d), 0);
	/* truncated anywhere */
	for (i = 0; i < n; i++)
		assert_int_equal(simhv_msg_decode(buf, i, d), -1);
	/* trailing bytes after the message */
	buf[n] = 0;
	assert_int_equal(simhv_msg_decode(buf, n + 1, d), -1);
	/* payload length that disagrees with the type's layout: longer (with a
	** zero byte appended) or shorter */
	put32(buf + 12, (uint32_t)(n - SIMHV_HDR_LEN + 1));
	assert_int_equal(simhv_msg_decode(buf, n + 1, d), -1);
	put32(buf + 12, (uint32_t)(n - SIMHV_HDR_LEN - 1));
	assert_int_equal(simhv_msg_decode(buf, n - 1, d), -1);
	/* oversized: more than the payload limit */
	n = valid_start();
	put32(buf + 12, SIMHV_PAYLOAD_MAX + 1);
	assert_int_equal(simhv_hdr_check(buf, n), -1);
	assert_int_equal(simhv_msg_decode(buf, n, d), -1);
	/* bad magic */
	n = valid_start();
	buf[0] ^= 0x20;
	assert_int_equal(simhv_msg_decode(buf, n, d), -1);
	/* bad version */
	n = valid_start();
	buf[5] = 2;
	assert_int_equal(simhv_msg_decode(buf, n, d), -1);
	/* bad types */
	n = valid_start();
	buf[6] = 0;
	buf[7] = 0;
	assert_int_equal(simhv_msg_decode(buf, n, d), -1);
	buf[7] = SIMHV_TYPE_END;
	assert_int_equal(simhv_msg_decode(buf, n, d), -1);
	buf[6] = 0x80;
	buf[7] = SIMHV_START;
	assert_int_equal(simhv_msg_decode(buf, n, d), -1);
	/* a START payload sent as another type of a different size */
	buf[6] = 0;
	buf[7] = SIMHV_WD_ARM;
	assert_int_equal(simhv_msg_decode(buf, n, d), -1);
	/* seq 0 on a request */
	n = valid_start();
	put32(buf + 8, 0);
	assert_int_equal(simhv_msg_decode(buf, n, d), -1);
	/* unterminated uuid field */
	n = valid_start();
	memset(buf + SIMHV_HDR_LEN, 'a', HA_UUID_LEN);
	assert_int_equal(simhv_msg_decode(buf, n, d), -1);
	/* garbage after the NUL of a string field */
	n = valid_start();
	saved = buf[SIMHV_HDR_LEN + HA_UUID_LEN + 10];
	buf[SIMHV_HDR_LEN + HA_UUID_LEN + 10] = 'z';
	assert_int_equal(simhv_msg_decode(buf, n, d), -1);
	buf[SIMHV_HDR_LEN + HA_UUID_LEN + 10] = saved;
	assert_int_equal(simhv_msg_decode(buf, n, d), 0);
	free(d);
}

static void
test_decoder_rejects_bad_fields(void **state)
{
	struct simhv_msg *m = msg_new(SIMHV_EVENT, 0), *d = calloc(1, sizeof(*d));
	ssize_t n;

	/* event kind out of range, and a non-zero seq on an event */
	m->u.event.kind = SIMHV_EV_DIED;
	strcpy(m->u.event.uuid, VM);
	n = simhv_msg_encode(m, buf, sizeof(buf));
	assert_true(n > 0);
	buf[SIMHV_HDR_LEN + 1] = SIMHV_EV_END;
	assert_int_equal(simhv_msg_decode(buf, (size_t)n, d), -1);
	buf[SIMHV_HDR_LEN + 1] = SIMHV_EV_DIED;
	put32(buf + 8, 5);
	assert_int_equal(simhv_msg_decode(buf, (size_t)n, d), -1);
	free(m);

	/* reply: unknown request type, status beyond errno range, bad domain
	** state, domain count over the limit, a body on a failed reply */
	m = reply_new(SIMHV_LIST_DOMAINS, 0);
	m->u.reply.u.list.n = 1;
	strcpy(m->u.reply.u.list.d[0].uuid, VM);
	m->u.reply.u.list.d[0].state = SIMHV_DOM_RUNNING;
	n = simhv_msg_encode(m, buf, sizeof(buf));
	assert_int_equal(simhv_msg_decode(buf, (size_t)n, d), 0);
	buf[n - 1] = SIMHV_DOM_END;
	assert_int_equal(simhv_msg_decode(buf, (size_t)n, d), -1);
	buf[n - 1] = SIMHV_DOM_RUNNING;
	buf[SIMHV_HDR_LEN + 1] = SIMHV_REPLY;
	assert_int_equal(simhv_msg_decode(buf, (size_t)n, d), -1);
	buf[SIMHV_HDR_LEN + 1] = SIMHV_LIST_DOMAINS;
	put32(buf + SIMHV_HDR_LEN + 2, 100000);
	assert_int_equal(simhv_msg_decode(buf, (size_t)n, d), -1);
	put32(buf + SIMHV_HDR_LEN + 2, 12); /* failed: the list body is now trailing */
	assert_int_equal(simhv_msg_decode(buf, (size_t)n, d), -1);
	put32(buf + SIMHV_HDR_LEN + 2, 0);
	put32(buf + SIMHV_HDR_LEN + 2 + 4 + SIMHV_REASON_LEN, SIMHV_MAX_DOMAINS + 1);
	assert_int_equal(simhv_msg_decode(buf, (size_t)n, d), -1);
	free(m);

	m = reply_new(SIMHV_HOST_INFO, 0);
	m->u.reply.u.info.powered_on = 1;
	n = simhv_msg_encode(m, buf, sizeof(buf));
	assert_int_equal(simhv_msg_decode(buf, (size_t)n, d), 0);
	buf[n - 5] = 2; /* powered_on must be 0 or 1 */
	assert_int_equal(simhv_msg_decode(buf, (size_t)n, d), -1);
	free(m);
	free(d);
}

static void
test_reader_framing(void **state)
{
	struct simhv_reader *r = calloc(1, sizeof(*r));
	struct simhv_msg *m = calloc(1, sizeof(*m));
	size_t n = valid_start(), off = 0, got = 0;
	int sv[2];

	/* Three messages written a few bytes at a time come out whole. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (int k = 0; k < 3; k++)
		for (off = 0; off < n; off += 7) {
			size_t chunk = n - off < 7 ? n - off : 7;

			assert_int_equal(write(sv[0], buf + off, chunk), (ssize_t)chunk);
			assert_true(simhv_reader_fill(r, sv[1]) > 0);
			while (simhv_reader_next(r, m) == 1) {
				assert_int_equal(m->type, SIMHV_START);
				assert_string_equal(m->u.start.uuid, VM);
				got++;
			}
		}
	assert_int_equal(got, 3);
	assert_int_equal(r->len, 0);
	/* A bad header is reported as soon as the header is complete. */
	buf[0] = 'X';
	assert_int_equal(write(sv[0], buf, SIMHV_HDR_LEN), SIMHV_HDR_LEN);
	assert_true(simhv_reader_fill(r, sv[1]) > 0);
	assert_int_equal(simhv_reader_next(r, m), -1);
	close(sv[0]);
	close(sv[1]);
	free(m);
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests_round_trip),
		cmocka_unit_test(test_event_round_trip),
		cmocka_unit_test(test_replies_round_trip),
		cmocka_unit_test(test_encoder_refuses),
		cmocka_unit_test(test_decoder_rejects),
		cmocka_unit_test(test_decoder_rejects_bad_fields),
		cmocka_unit_test(test_reader_framing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
