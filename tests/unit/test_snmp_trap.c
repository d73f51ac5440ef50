/*
** hasvc/snmp_trap.c against a plain UDP socket on loopback: what goes on
** the wire (the notification OID, the varbinds' strings, encryption under
** v3), and an inform nobody acknowledges is retried, then fails.  Decoding
** by a real snmptrapd with the MIB is tests/host/snmp.sh.
*/
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "hasvc/snmp_trap.h"
#include "lib/check.h"

#define POOL "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"

static int
udp_listen(unsigned *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* One datagram, or -1 after timeout_ms. */
static ssize_t
recv_one(int fd, unsigned char *buf, size_t len, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (poll(&p, 1, timeout_ms) != 1)
		return -1;
	return recv(fd, buf, len, 0);
}

static int
contains(const unsigned char *hay, size_t n, const void *needle, size_t m)
{
	return memmem(hay, n, needle, m) != NULL;
}

static void
make_alert(struct snmp_trap_alert *a)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->uuid, sizeof(a->uuid), "11111111-1111-4111-8111-111111111111");
	snprintf(a->host_uuid, sizeof(a->host_uuid), "22222222-2222-4222-8222-222222222222");
	snprintf(a->host_name, sizeof(a->host_name), "host-one");
	snprintf(a->cls, sizeof(a->cls), "Host");
	snprintf(a->obj_uuid, sizeof(a->obj_uuid), "33333333-3333-4333-8333-333333333333");
	snprintf(a->name, sizeof(a->name), "HA_HOST_FAILED");
	a->priority = 3;
	snprintf(a->body, sizeof(a->body), "the body text");
	a->timestamp = 1700000000;
}

static void
make_target(struct snmp_trap_target *t, unsigned port)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->address, sizeof(t->address), "127.0.0.1");
	t->port = port;
	snprintf(t->community, sizeof(t->community), "c0mmunity");
	t->timeout_ms = 100;
	t->retries = 2;
	assert_int_equal(snmp_trap_engine_id(POOL, t->engine_id, NULL, 0), 0);
}

static void
test_names(void **state)
{
	unsigned sub = 0;

	assert_string_equal(snmp_trap_notification("HA_HOST_FAILED", 0, &sub), "hasvcHaHostFailed");
	assert_int_equal(sub, 1);
	assert_string_equal(snmp_trap_notification("HA_HOST_WAS_FENCED", 0, &sub),
	                    "hasvcHaHostWasFenced");
	assert_int_equal(sub, 2);
	assert_string_equal(snmp_trap_notification("SOMETHING_ELSE", 0, &sub), "hasvcAlert");
	assert_int_equal(sub, 100);
	assert_string_equal(snmp_trap_notification("HA_HOST_FAILED", 1, &sub),
	                    "hasvcTestNotification");
	assert_int_equal(sub, 99);
}

static void
test_engine_id(void **state)
{
	uint8_t id[SNMP_TRAP_ENGINE_ID_LEN];
	char hex[2 * SNMP_TRAP_ENGINE_ID_LEN + 3];

	assert_int_equal(snmp_trap_engine_id(POOL, id, hex, sizeof(hex)), 0);
	assert_string_equal(hex, "0x80007ED9050F1E2D3C4B5A49788695A4B3C2D1E0F9");
	assert_int_equal(snmp_trap_engine_id("not-a-uuid", id, NULL, 0), -1);
}

static void
test_v2c_trap_on_the_wire(void **state)
{
	/* hasvcHaHostFailed = 1.3.6.1.4.1.32473.1.0.1, BER */
	static const unsigned char trap_oid[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x81,
	                                         0xfd, 0x59, 0x01, 0x00, 0x01};
	struct snmp_trap_alert a;
	struct snmp_trap_target t;
	unsigned char buf[4096];
	unsigned port;
	char err[256];
	ssize_t n;
	int fd = udp_listen(&port);

	make_alert(&a);
	make_target(&t, port);
	assert_int_equal(snmp_trap_send(&t, &a, err, sizeof(err)), 0);
	n = recv_one(fd, buf, sizeof(buf), 2000);
	assert_true(n > 0);
	assert_true(contains(buf, (size_t)n, "c0mmunity", 9));
	assert_true(contains(buf, (size_t)n, trap_oid, sizeof(trap_oid)));
	assert_true(contains(buf, (size_t)n, "the body text", 13));
	assert_true(contains(buf, (size_t)n, "host-one", 8));
	assert_true(contains(buf, (size_t)n, a.obj_uuid, 36));
	assert_true(contains(buf, (size_t)n, "HA_HOST_FAILED", 14));
	/* A trap is sent once: nothing else arrives. */
	assert_int_equal(recv_one(fd, buf, sizeof(buf), 300), -1);
	close(fd);
}

static void
test_v3_trap_encrypted(void **state)
{
	struct snmp_trap_alert a;
	struct snmp_trap_target t;
	unsigned char buf[4096];
	unsigned port;
	char err[256];
	ssize_t n;
	int fd = udp_listen(&port);

	make_alert(&a);
	make_target(&t, port);
	t.v3 = 1;
	snprintf(t.user, sizeof(t.user), "trapuser");
	snprintf(t.auth_key, sizeof(t.auth_key), "authpassphrase");
	snprintf(t.priv_key, sizeof(t.priv_key), "privpassphrase");
	assert_int_equal(snmp_trap_send(&t, &a, err, sizeof(err)), 0);
	n = recv_one(fd, buf, sizeof(buf), 2000);
	assert_true(n > 0);
	assert_true(contains(buf, (size_t)n, "trapuser", 8));
	assert_true(contains(buf, (size_t)n, t.engine_id, SNMP_TRAP_ENGINE_ID_LEN));
	/* authPriv: the varbinds are encrypted, the passphrases never sent */
	assert_false(contains(buf, (size_t)n, "the body text", 13));
	assert_false(contains(buf, (size_t)n, "host-one", 8));
	assert_false(contains(buf, (size_t)n, "authpassphrase", 14));
	assert_false(contains(buf, (size_t)n, "privpassphrase", 14));
	close(fd);
}

static void
test_inform_unacknowledged(void **state)
{
	struct snmp_trap_alert a;
	struct snmp_trap_target t;
	unsigned char buf[4096];
	unsigned port, got = 0;
	char err[256];
	int fd = udp_listen(&port);

	make_alert(&a);
	make_target(&t, port);
	t.inform = 1;
	assert_int_equal(snmp_trap_send(&t, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no acknowledgement after 3 attempts"));
	while (recv_one(fd, buf, sizeof(buf), 100) > 0)
		got++;
	assert_int_equal(got, 3); /* the first send and 2 retries */
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_engine_id),
	    cmocka_unit_test(test_v2c_trap_on_the_wire),
	    cmocka_unit_test(test_v3_trap_encrypted),
	    cmocka_unit_test(test_inform_unacknowledged),
	};
	char dir[] = "/tmp/test_snmp_trap.XXXXXX", sub[64];
	int rc;

	assert_non_null(mkdtemp(dir));
	snmp_trap_init(dir);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snmp_trap_shutdown();
	snprintf(sub, sizeof(sub), "%s/cert_indexes", dir);
	rmdir(sub);
	rmdir(dir);
	return rc;
}
