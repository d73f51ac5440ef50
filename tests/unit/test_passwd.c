/*
** Password hashes: round trip, wrong passwords, every way a stored hash
** string can be malformed or tampered with, the iteration floor, and the
** asynchronous check reporting on the loop thread.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>
#include <event2/event.h>

#include "api/passwd.h"

static char good[PASSWD_HASH_LEN]; /* "secret", PASSWD_MIN_ITERATIONS */

static int
setup(void **state)
{
	assert_int_equal(passwd_hash("secret", PASSWD_MIN_ITERATIONS, good, sizeof(good)), 0);
	return 0;
}

static void
test_round_trip(void **state)
{
	char h2[PASSWD_HASH_LEN];

	assert_int_equal(strncmp(good, "$pbkdf2-sha256$200000$", 22), 0);
	assert_int_equal(strlen(good), 22 + 24 + 1 + 44);
	assert_int_equal(passwd_verify("secret", good), 1);
	/* A fresh salt each time: same password, different string. */
	assert_int_equal(passwd_hash("secret", PASSWD_MIN_ITERATIONS, h2, sizeof(h2)), 0);
	assert_string_not_equal(good, h2);
	assert_int_equal(passwd_verify("secret", h2), 1);
	/* The empty password is a password like any other. */
	assert_int_equal(passwd_hash("", PASSWD_MIN_ITERATIONS, h2, sizeof(h2)), 0);
	assert_int_equal(passwd_verify("", h2), 1);
	assert_int_equal(passwd_verify("x", h2), 0);
}

static void
test_wrong_password(void **state)
{
	assert_int_equal(passwd_verify("Secret", good), 0);
	assert_int_equal(passwd_verify("secret ", good), 0);
	assert_int_equal(passwd_verify("", good), 0);
}

static void
test_small_buffer(void **state)
{
	char small[40];

	assert_int_equal(passwd_hash("secret", PASSWD_MIN_ITERATIONS, small, sizeof(small)), -1);
	assert_string_equal(small, "");
}

static void
test_too_few_iterations(void **state)
{
	char h[PASSWD_HASH_LEN], *p;

	assert_int_equal(passwd_hash("secret", PASSWD_MIN_ITERATIONS - 1, h, sizeof(h)), -1);
	assert_int_equal(passwd_hash("secret", 1000, h, sizeof(h)), -1);
	/* A stored string claiming fewer iterations is refused, not checked. */
	snprintf(h, sizeof(h), "$pbkdf2-sha256$199999%s", strchr(good + 15, '$'));
	assert_int_equal(passwd_verify("secret", h), -1);
	snprintf(h, sizeof(h), "$pbkdf2-sha256$1%s", strchr(good + 15, '$'));
	assert_int_equal(passwd_verify("secret", h), -1);
	/* A changed count is a different derivation: well-formed, no match. */
	snprintf(h, sizeof(h), "$pbkdf2-sha256$200001%s", strchr(good + 15, '$'));
	assert_int_equal(passwd_verify("secret", h), 0);
	p = strchr(good + 15, '$');
	snprintf(h, sizeof(h), "$pbkdf2-sha256$99999999999%s", p);
	assert_int_equal(passwd_verify("secret", h), -1);
}

/* Replace good[at] by c and expect passwd_verify to give `want`. */
static void
tamper(size_t at, char c, int want)
{
	char h[PASSWD_HASH_LEN];

	strcpy(h, good);
	h[at] = c;
	if (passwd_verify("secret", h) != want)
		fail_msg("tampered \"%s\": want %d", h, want);
}

static void
test_tampered(void **state)
{
	size_t salt = 22, key = 22 + 24 + 1;
	char h[PASSWD_HASH_LEN + 8];

	/* A changed byte of salt or hash: well-formed, no match. */
	tamper(salt + 1, good[salt + 1] == 'A' ? 'B' : 'A', 0);
	tamper(key + 1, good[key + 1] == 'A' ? 'B' : 'A', 0);
	/* Not base64, padding in the middle, a separator lost. */
	tamper(salt + 3, '*', -1);
	tamper(key + 5, '=', -1);
	tamper(salt + 24, 'x', -1);
	tamper(0, '#', -1);
	tamper(3, 'x', -1);
	/* Truncated, extended, whitespace, emptied. */
	strcpy(h, good);
	h[strlen(h) - 1] = '\0';
	assert_int_equal(passwd_verify("secret", h), -1);
	snprintf(h, sizeof(h), "%sA", good);
	assert_int_equal(passwd_verify("secret", h), -1);
	snprintf(h, sizeof(h), "%s\n", good);
	assert_int_equal(passwd_verify("secret", h), -1);
	snprintf(h, sizeof(h), "%s$", good);
	assert_int_equal(passwd_verify("secret", h), -1);
	assert_int_equal(passwd_verify("secret", ""), -1);
	assert_int_equal(passwd_verify("secret", "$pbkdf2-sha256$"), -1);
	assert_int_equal(passwd_verify("secret", "$pbkdf2-sha256$200000$$"), -1);
	assert_int_equal(passwd_verify("secret", NULL), -1);
	/* Leading zero, sign and space in the count. */
	snprintf(h, sizeof(h), "$pbkdf2-sha256$0200000%s", strchr(good + 15, '$'));
	assert_int_equal(passwd_verify("secret", h), -1);
	snprintf(h, sizeof(h), "$pbkdf2-sha256$+200000%s", strchr(good + 15, '$'));
	assert_int_equal(passwd_verify("secret", h), -1);
	snprintf(h, sizeof(h), "$pbkdf2-sha256$ 200000%s", strchr(good + 15, '$'));
	assert_int_equal(passwd_verify("secret", h), -1);
	/* Another algorithm's prefix. */
	snprintf(h, sizeof(h), "$pbkdf2-sha512$%s", good + 15);
	assert_int_equal(passwd_verify("secret", h), -1);
	/* Non-canonical base64: the salt's last character carries bits that
	** padding says are not there ('g' = 100000, 'h' = 100001). */
	if (good[salt + 21] != 'h')
		tamper(salt + 21, 'h', -1);
	else
		tamper(salt + 21, 'j', -1);
}

struct async_state {
	pthread_t loop;
	int calls;
	int results[8];
	int wrong_thread;
};

static void
on_verified(void *arg, int result)
{
	struct async_state *s = arg;

	if (!pthread_equal(pthread_self(), s->loop))
		s->wrong_thread++;
	s->results[s->calls++] = result;
}

static void
test_async(void **state)
{
	struct event_base *base = event_base_new();
	struct async_state s = {.loop = pthread_self()};
	int i, n = 6, ok = 0, no = 0, bad = 0;

	/* More requests than workers: the extra ones queue. */
	for (i = 0; i < n; i++) {
		const char *pw = i % 2 ? "secret" : "nope";

		assert_int_equal(
		    passwd_verify_async(base, pw, i == 4 ? "junk" : good, on_verified, &s), 0);
	}
	assert_int_equal(s.calls, 0); /* never synchronous */
	while (s.calls < n)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(s.wrong_thread, 0);
	for (i = 0; i < n; i++) {
		ok += s.results[i] == 1;
		no += s.results[i] == 0;
		bad += s.results[i] == -1;
	}
	assert_int_equal(ok, 3);
	assert_int_equal(no, 2);
	assert_int_equal(bad, 1);
	/* Nothing is left registered on the base. */
	assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 0);
	event_base_free(base);
}

struct hash_state {
	pthread_t loop;
	int calls;
	int wrong_thread;
	int rcs[4];
	char hashes[4][PASSWD_HASH_LEN];
};

static void
on_hashed(void *arg, int rc, const char *hash)
{
	struct hash_state *s = arg;

	if (!pthread_equal(pthread_self(), s->loop))
		s->wrong_thread++;
	s->rcs[s->calls] = rc;
	snprintf(s->hashes[s->calls], sizeof(s->hashes[0]), "%s", hash ? hash : "");
	s->calls++;
}

/* passwd_hash_async shares the verification pool: never synchronous, the
** answer comes on the loop thread, and the hash verifies. */
static void
test_hash_async(void **state)
{
	struct event_base *base = event_base_new();
	struct hash_state s = {.loop = pthread_self()};
	char pw[] = "hunter2";
	int i, n = 4;

	/* Refused at once, without a callback. */
	assert_int_equal(passwd_hash_async(base, "x", PASSWD_MIN_ITERATIONS - 1, on_hashed, &s),
	                 -1);
	assert_int_equal(passwd_hash_async(base, NULL, PASSWD_MIN_ITERATIONS, on_hashed, &s), -1);
	for (i = 0; i < n; i++)
		assert_int_equal(passwd_hash_async(base, pw, PASSWD_MIN_ITERATIONS, on_hashed, &s),
		                 0);
	/* The caller's buffer is its own: the pool works on a copy. */
	explicit_bzero(pw, sizeof(pw));
	assert_int_equal(s.calls, 0);
	while (s.calls < n)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(s.wrong_thread, 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(s.rcs[i], 0);
		assert_int_equal(passwd_verify("hunter2", s.hashes[i]), 1);
		assert_int_equal(passwd_verify("hunter3", s.hashes[i]), 0);
	}
	/* Fresh salt every time. */
	assert_string_not_equal(s.hashes[0], s.hashes[1]);
	assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 0);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_wrong_password),
	    cmocka_unit_test(test_small_buffer), cmocka_unit_test(test_too_few_iterations),
	    cmocka_unit_test(test_tampered),     cmocka_unit_test(test_async),
	    cmocka_unit_test(test_hash_async),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
