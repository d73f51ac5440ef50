/*
** The watchdog keeper's logic (fencing/wdkeep.c) against the invariants of
** fencing/wdkeep.h.
**
** Scenarios: a daemon's life (hello, arm, pets, a hung daemon, a killed one
** kept alive until its lease, a restarted one taking over without a fence),
** the lease only growing, re-arming with the same and another timeout,
** disarm, reset (and nothing but reset after it), every rejection; every
** (state, message) pair against an oracle table written out here again; and
** a seeded random property test: 3000 random event sequences against an
** independent model of the pet rule, asserting that no pet happens outside
** it, that a due pet it allows is never missed, and that after a RESET no
** pet, arm or disarm is ever emitted.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fencing/wdkeep.h"
#include "lib/log.h"

static struct wdk_actions out;

static int
step(struct wdk *k, enum wdk_event_type type, const struct wd_msg *m, uint64_t now)
{
	struct wdk_event ev = {.type = type, .msg = m};

	return wdk_step(k, &ev, now, &out);
}

static int
msg(struct wdk *k, const struct wd_msg *m, uint64_t now)
{
	return step(k, WDK_EV_MSG, m, now);
}

static struct wd_msg
m_hello(uint32_t pid)
{
	struct wd_msg m = {.type = WD_MSG_HELLO};

	m.u.hello.pid = pid;
	return m;
}

static struct wd_msg
m_arm(uint32_t timeout, uint32_t pet)
{
	struct wd_msg m = {.type = WD_MSG_ARM};

	m.u.arm.timeout_ms = timeout;
	m.u.arm.pet_ms = pet;
	return m;
}

static struct wd_msg
m_pet(uint64_t lease)
{
	struct wd_msg m = {.type = WD_MSG_PET};

	m.u.pet.lease_ms = lease;
	return m;
}

static struct wd_msg
m_simple(enum wd_msg_type t)
{
	struct wd_msg m = {.type = t};

	return m;
}

static struct wd_msg
m_reset(const char *why)
{
	struct wd_msg m = {.type = WD_MSG_RESET};

	snprintf(m.u.reset.reason, sizeof(m.u.reset.reason), "%s", why);
	return m;
}

/* The actions of the last step, as a string: "arm(2000) status". */
static const char *
acts(void)
{
	static char buf[256];
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < out.n; i++) {
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? " " : "",
		                      wdk_action_name(out.v[i].type));
		if (out.v[i].type == WDK_ACT_ARM)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "(%u)",
			                      (unsigned)out.v[i].timeout_ms);
	}
	return buf;
}

static uint64_t
stat_of(const struct wdk *k, size_t off)
{
	struct wdk_stats s;

	wdk_get_stats(k, &s);
	return *(const uint64_t *)((const char *)&s + off);
}
#define STAT(k, f) stat_of((k), offsetof(struct wdk_stats, f))

/* Connected, hello'd and armed 2000/500 at t=1000; no lease yet. */
static struct wdk *
armed_keeper(uint32_t alive)
{
	struct wdk *k = wdk_new(alive);
	struct wd_msg h = m_hello(77), a = m_arm(2000, 500);

	assert_int_equal(step(k, WDK_EV_CONNECT, NULL, 1000), 0);
	assert_string_equal(acts(), "");
	assert_int_equal(msg(k, &h, 1000), 0);
	assert_string_equal(acts(), "status");
	assert_int_equal(msg(k, &a, 1000), 0);
	assert_string_equal(acts(), "arm(2000) status");
	assert_int_equal(wdk_get_state(k), WDK_S_ARMED);
	assert_int_equal(wdk_next_deadline(k), 1500);
	return k;
}

static void
test_new(void **state)
{
	struct wdk *k = wdk_new(0);
	struct wd_msg st;

	assert_int_equal(wdk_get_state(k), WDK_S_DISARMED);
	assert_int_equal(wdk_is_connected(k), 0);
	assert_int_equal(wdk_get_lease(k), 0);
	assert_int_equal(wdk_next_deadline(k), UINT64_MAX);
	wdk_status(k, &st);
	assert_int_equal(st.type, WD_MSG_STATUS);
	assert_int_equal(st.u.status.armed, 0);
	assert_int_equal(st.u.status.fenced, 0);
	assert_int_equal(st.u.status.timeout_ms, 0);
	assert_int_equal(st.u.status.lease_ms, 0);
	assert_int_equal(st.u.status.resets, 0);
	/* Ticks while disarmed do nothing. */
	assert_int_equal(step(k, WDK_EV_TICK, NULL, 5000), 0);
	assert_string_equal(acts(), "");
	wdk_free(k);
	wdk_free(NULL);
}

/* Connected and alive: pets on every PET message and at every pet_ms. */
static void
test_alive_daemon(void **state)
{
	struct wdk *k = armed_keeper(0);
	struct wd_msg p = m_pet(10000), st;
	uint64_t t;

	/* No lease yet: the tick does not pet (and says so: a fence record). */
	assert_int_equal(step(k, WDK_EV_TICK, NULL, 1500), 0);
	assert_string_equal(acts(), "stopped");
	assert_int_equal(STAT(k, lease_stops), 1);
	assert_int_equal(msg(k, &p, 1600), 0);
	assert_string_equal(acts(), "resumed pet");
	assert_int_equal(wdk_next_deadline(k), 2100);
	for (t = 2100; t < 6000; t += 500) {
		assert_int_equal(msg(k, &p, t - 10), 0);
		assert_string_equal(acts(), "pet");
		assert_int_equal(step(k, WDK_EV_TICK, NULL, t), 0);
		assert_string_equal(acts(), ""); /* the PET just petted */
		assert_int_equal(step(k, WDK_EV_TICK, NULL, t + 490), 0);
		assert_string_equal(acts(), "pet"); /* due, alive within 2 pet_ms */
	}
	wdk_status(k, &st);
	assert_int_equal(st.u.status.armed, 1);
	assert_int_equal(st.u.status.timeout_ms, 2000);
	assert_int_equal(st.u.status.lease_ms, 10000);
	assert_int_equal(STAT(k, lease_pets), 0);
	wdk_free(k);
}

/* A hung daemon (connected, silent): pets stop after alive_ms, logged and
** counted once, however long the lease; a late PET resumes them. */
static void
test_hung_daemon(void **state)
{
	struct wdk *k = armed_keeper(0);
	struct wd_msg p = m_pet(1000000);
	uint64_t t, last_pet = 0;
	int stops = 0;

	assert_int_equal(msg(k, &p, 1100), 0);
	assert_string_equal(acts(), "pet");
	for (t = 1101; t < 20000; t++) {
		if (t < wdk_next_deadline(k))
			continue;
		assert_int_equal(step(k, WDK_EV_TICK, NULL, t), 0);
		if (out.n && strcmp(acts(), "stopped") == 0) {
			stops++;
		} else if (out.n) {
			assert_string_equal(acts(), "pet");
			last_pet = t;
		}
	}
	assert_int_equal(stops, 1); /* said once: the keeper's fence record */
	/* alive_ms = 2 pet_ms = 1000: the pets at 1600 and 2100 only. */
	assert_int_equal(last_pet, 2100);
	assert_int_equal(STAT(k, hung_stops), 1);
	assert_int_equal(STAT(k, pets), 3);
	/* It wakes up: the record is void. */
	assert_int_equal(msg(k, &p, 20000), 0);
	assert_string_equal(acts(), "resumed pet");
	wdk_free(k);

	/* An explicit alive_ms. */
	k = armed_keeper(1700);
	assert_int_equal(msg(k, &p, 1000), 0);
	assert_int_equal(step(k, WDK_EV_TICK, NULL, 2700), 0);
	assert_string_equal(acts(), "pet");
	assert_int_equal(step(k, WDK_EV_TICK, NULL, 3200), 0);
	assert_string_equal(acts(), "stopped");
	assert_int_equal(STAT(k, hung_stops), 1);
	wdk_free(k);
}

/* The daemon is killed: pets go on every pet_ms until the lease, then stop
** for good; a restarted daemon reconnects and takes over without a gap. */
static void
test_dead_daemon_lease(void **state)
{
	struct wdk *k = armed_keeper(0);
	struct wd_msg p = m_pet(5000), h = m_hello(78), a = m_arm(2000, 500);
	uint64_t t;
	int pets = 0;

	assert_int_equal(msg(k, &p, 1200), 0);
	assert_string_equal(acts(), "pet");
	assert_int_equal(step(k, WDK_EV_DISCONNECT, NULL, 1300), 0);
	assert_int_equal(wdk_is_connected(k), 0);
	for (t = 1301; t < 9000; t++) {
		if (t < wdk_next_deadline(k))
			continue;
		assert_int_equal(step(k, WDK_EV_TICK, NULL, t), 0);
		if (out.n && strcmp(acts(), "stopped") == 0) {
			assert_true(t >= 5000); /* the lease ran out */
		} else if (out.n) {
			assert_true(t < 5000);
			pets++;
		}
	}
	assert_int_equal(pets, 7); /* 1700 .. 4700 */
	assert_int_equal(STAT(k, lease_pets), 7);
	assert_int_equal(STAT(k, lease_stops), 1);
	assert_int_equal(STAT(k, hung_stops), 0);
	wdk_free(k);

	/* Restarted within the lease: connects, says hello, arms with the same
	** timeout (no driver action), is still rejoining (no PET yet: the old
	** lease holds), then pets with its own lease. */
	k = armed_keeper(0);
	p = m_pet(8000);
	assert_int_equal(msg(k, &p, 1200), 0);
	assert_int_equal(step(k, WDK_EV_DISCONNECT, NULL, 1300), 0);
	assert_int_equal(step(k, WDK_EV_TICK, NULL, 1700), 0);
	assert_string_equal(acts(), "pet");
	assert_int_equal(step(k, WDK_EV_CONNECT, NULL, 1800), 0);
	assert_int_equal(msg(k, &h, 1800), 0);
	assert_string_equal(acts(), "status");
	assert_int_equal(msg(k, &a, 1810), 0);
	assert_string_equal(acts(), "status");
	for (t = 2200; t <= 4700; t += 500) {
		assert_int_equal(step(k, WDK_EV_TICK, NULL, t), 0);
		assert_string_equal(acts(), "pet");
	}
	p = m_pet(20000);
	assert_int_equal(msg(k, &p, 4800), 0);
	assert_string_equal(acts(), "pet");
	assert_int_equal(wdk_get_lease(k), 20000);
	/* From its first PET on, the alive rule applies. */
	assert_int_equal(step(k, WDK_EV_TICK, NULL, 5300), 0);
	assert_string_equal(acts(), "pet");
	assert_int_equal(step(k, WDK_EV_TICK, NULL, 5900), 0);
	assert_string_equal(acts(), "stopped");
	assert_int_equal(STAT(k, hung_stops), 1);
	assert_int_equal(STAT(k, arms), 1);
	wdk_free(k);
}

static void
test_lease_only_grows(void **state)
{
	struct wdk *k = armed_keeper(0);
	struct wd_msg p1 = m_pet(9000), p0 = m_pet(0), p2 = m_pet(3000), st;

	assert_int_equal(msg(k, &p1, 1100), 0);
	assert_int_equal(msg(k, &p2, 1200), 0);
	assert_int_equal(wdk_get_lease(k), 9000);
	assert_int_equal(msg(k, &p0, 1300), 0);
	assert_string_equal(acts(), "pet"); /* still before 9000 */
	assert_int_equal(wdk_get_lease(k), 9000);
	wdk_status(k, &st);
	assert_int_equal(st.u.status.lease_ms, 9000);
	/* At the lease exactly: no pet. */
	assert_int_equal(msg(k, &p0, 9000), 0);
	assert_string_equal(acts(), "stopped");
	assert_int_equal(STAT(k, lease_stops), 1);
	wdk_free(k);
}

static void
test_rearm(void **state)
{
	struct wdk *k = armed_keeper(0);
	struct wd_msg same = m_arm(2000, 500), other = m_arm(4000, 1000), pets = m_arm(4000, 250);
	struct wd_msg st;

	assert_int_equal(msg(k, &same, 1100), 0);
	assert_string_equal(acts(), "status");
	assert_int_equal(msg(k, &other, 1200), 0);
	assert_string_equal(acts(), "arm(4000) status");
	assert_int_equal(wdk_next_deadline(k), 2200);
	wdk_status(k, &st);
	assert_int_equal(st.u.status.timeout_ms, 4000);
	/* Only the pet period changes: no driver action, a nearer deadline. */
	assert_int_equal(msg(k, &pets, 1300), 0);
	assert_string_equal(acts(), "status");
	assert_int_equal(wdk_next_deadline(k), 1550);
	assert_int_equal(STAT(k, arms), 2);
	wdk_free(k);
}

static void
test_disarm(void **state)
{
	struct wdk *k = armed_keeper(0);
	struct wd_msg d = m_simple(WD_MSG_DISARM), p = m_pet(100000), a = m_arm(3000, 500), st;

	assert_int_equal(msg(k, &p, 1100), 0);
	assert_int_equal(msg(k, &d, 1200), 0);
	assert_string_equal(acts(), "disarm status");
	assert_int_equal(wdk_get_state(k), WDK_S_DISARMED);
	assert_int_equal(wdk_next_deadline(k), UINT64_MAX);
	wdk_status(k, &st);
	assert_int_equal(st.u.status.armed, 0);
	assert_int_equal(st.u.status.timeout_ms, 0);
	assert_int_equal(step(k, WDK_EV_TICK, NULL, 1700), 0);
	assert_string_equal(acts(), "");
	/* PET while disarmed: noted, never a pet. */
	assert_int_equal(msg(k, &p, 1800), 0);
	assert_string_equal(acts(), "");
	/* Disarm again: nothing to do, but an answer. */
	assert_int_equal(msg(k, &d, 1900), 0);
	assert_string_equal(acts(), "status");
	assert_int_equal(STAT(k, disarms), 1);
	/* Arm again. */
	assert_int_equal(msg(k, &a, 2000), 0);
	assert_string_equal(acts(), "arm(3000) status");
	wdk_free(k);
}

static void
test_reset(void **state)
{
	struct wdk *k = armed_keeper(0);
	struct wd_msg r = m_reset("self-fence: lost the liveset"), p = m_pet(100000),
	              d = m_simple(WD_MSG_DISARM), a = m_arm(2000, 500), h = m_hello(5), st;
	uint64_t t;

	assert_int_equal(msg(k, &p, 1100), 0);
	assert_int_equal(msg(k, &r, 1200), 0);
	assert_string_equal(acts(), "reset");
	assert_string_equal(out.v[0].reason, "self-fence: lost the liveset");
	assert_int_equal(wdk_get_state(k), WDK_S_FENCED);
	assert_int_equal(wdk_next_deadline(k), UINT64_MAX);
	/* Nothing but resets, ever. */
	assert_int_equal(msg(k, &d, 1300), -1);
	assert_string_equal(acts(), "");
	assert_int_equal(msg(k, &a, 1300), -1);
	assert_int_equal(msg(k, &p, 1400), 0);
	assert_string_equal(acts(), "");
	for (t = 1500; t < 10000; t += 100) {
		assert_int_equal(step(k, WDK_EV_TICK, NULL, t), 0);
		assert_string_equal(acts(), "");
	}
	assert_int_equal(step(k, WDK_EV_DISCONNECT, NULL, 10000), 0);
	assert_int_equal(step(k, WDK_EV_CONNECT, NULL, 10001), 0);
	assert_int_equal(msg(k, &h, 10002), 0);
	assert_string_equal(acts(), "status");
	wdk_status(k, &st);
	assert_int_equal(st.u.status.fenced, 1);
	assert_int_equal(st.u.status.armed, 1); /* never disarmed */
	assert_int_equal(st.u.status.resets, 1);
	assert_int_equal(msg(k, &r, 10003), 0);
	assert_string_equal(acts(), "reset");
	wdk_status(k, &st);
	assert_int_equal(st.u.status.resets, 2);
	assert_int_equal(STAT(k, pets), 1);
	assert_int_equal(STAT(k, disarms), 0);
	wdk_free(k);

	/* A reset while disarmed: fenced, not armed. */
	k = wdk_new(0);
	assert_int_equal(step(k, WDK_EV_CONNECT, NULL, 1), 0);
	assert_int_equal(msg(k, &r, 2), 0);
	assert_string_equal(acts(), "reset");
	wdk_status(k, &st);
	assert_int_equal(st.u.status.fenced, 1);
	assert_int_equal(st.u.status.armed, 0);
	wdk_free(k);
}

/* FENCE: no pet ever after it, and the answer says so; a watchdog not armed
** is armed first (never petted), so the host dies within W even without a
** reset. */
static void
test_fence(void **state)
{
	struct wdk *k = armed_keeper(0);
	struct wd_msg p = m_pet(100000), f = m_simple(WD_MSG_FENCE), st;
	uint64_t t;

	f.u.fence.timeout_ms = 2000;
	assert_int_equal(msg(k, &p, 1100), 0);
	assert_string_equal(acts(), "pet");
	assert_int_equal(msg(k, &f, 1200), 0);
	assert_string_equal(acts(), "status");
	wdk_status(k, &st);
	assert_int_equal(st.u.status.fenced, 1);
	assert_int_equal(st.u.status.armed, 1);
	for (t = 1300; t < 100000; t += 100) {
		assert_int_equal(msg(k, &p, t), 0); /* a daemon still petting */
		assert_string_equal(acts(), "");
		assert_int_equal(step(k, WDK_EV_TICK, NULL, t + 50), 0);
		assert_string_equal(acts(), "");
	}
	assert_int_equal(step(k, WDK_EV_DISCONNECT, NULL, 100000), 0); /* within the lease */
	assert_int_equal(step(k, WDK_EV_TICK, NULL, 100001), 0);
	assert_string_equal(acts(), "");
	assert_int_equal(STAT(k, pets), 1);
	wdk_free(k);

	k = wdk_new(0);
	assert_int_equal(step(k, WDK_EV_CONNECT, NULL, 1), 0);
	assert_int_equal(msg(k, &f, 2), 0);
	assert_string_equal(acts(), "arm(2000) status");
	wdk_status(k, &st);
	assert_int_equal(st.u.status.fenced, 1);
	assert_int_equal(st.u.status.armed, 1);
	assert_int_equal(wdk_next_deadline(k), UINT64_MAX);
	wdk_free(k);
}

static void
test_rejections(void **state)
{
	struct wdk *k = wdk_new(0);
	struct wd_msg h = m_hello(1), st = m_simple(WD_MSG_STATUS), bad = m_simple(WD_MSG_STATUS);
	struct wdk_event ev = {.type = WDK_EV_COUNT};
	struct wd_msg s0;

	bad.type = (enum wd_msg_type)99;
	/* No connection: no message, no disconnect. */
	assert_int_equal(msg(k, &h, 1), -1);
	assert_int_equal(step(k, WDK_EV_DISCONNECT, NULL, 1), -1);
	assert_int_equal(step(k, WDK_EV_CONNECT, NULL, 2), 0);
	/* One daemon at a time. */
	assert_int_equal(step(k, WDK_EV_CONNECT, NULL, 3), -1);
	assert_int_equal(wdk_is_connected(k), 1);
	/* A daemon does not send STATUS; unknown types and events; no msg. */
	assert_int_equal(msg(k, &st, 4), -1);
	assert_int_equal(msg(k, &bad, 4), -1);
	assert_int_equal(msg(k, NULL, 4), -1);
	assert_int_equal(wdk_step(k, &ev, 5, &out), -1);
	ev.type = (enum wdk_event_type) - 1;
	assert_int_equal(wdk_step(k, &ev, 5, &out), -1);
	assert_int_equal(out.n, 0);
	assert_int_equal(STAT(k, rejected), 8);
	assert_int_equal(wdk_get_state(k), WDK_S_DISARMED);
	wdk_status(k, &s0);
	assert_int_equal(s0.u.status.armed, 0);
	wdk_free(k);
}

/* Every (state, message / event) pair against the table written out again:
** the next state and the actions, or a rejection. */
static void
test_table(void **state)
{
	static const struct {
		enum wdk_state from;
		int ev; /* a message type, or -1 connect... see below */
		int rc;
		enum wdk_state to;
		const char *acts;
	} oracle[] = {
	    /* ev: 1..6 message types, 10 tick, 11 connect (second), 12 disconnect */
	    {WDK_S_DISARMED, WD_MSG_HELLO, 0, WDK_S_DISARMED, "status"},
	    {WDK_S_DISARMED, WD_MSG_ARM, 0, WDK_S_ARMED, "arm(2000) status"},
	    {WDK_S_DISARMED, WD_MSG_PET, 0, WDK_S_DISARMED, ""},
	    {WDK_S_DISARMED, WD_MSG_DISARM, 0, WDK_S_DISARMED, "status"},
	    {WDK_S_DISARMED, WD_MSG_RESET, 0, WDK_S_FENCED, "reset"},
	    {WDK_S_DISARMED, WD_MSG_STATUS, -1, WDK_S_DISARMED, ""},
	    {WDK_S_DISARMED, WD_MSG_FENCE, 0, WDK_S_FENCED, "arm(3000) status"},
	    {WDK_S_DISARMED, 10, 0, WDK_S_DISARMED, ""},
	    {WDK_S_DISARMED, 11, -1, WDK_S_DISARMED, ""},
	    {WDK_S_DISARMED, 12, 0, WDK_S_DISARMED, ""},
	    {WDK_S_ARMED, WD_MSG_HELLO, 0, WDK_S_ARMED, "status"},
	    {WDK_S_ARMED, WD_MSG_ARM, 0, WDK_S_ARMED, "status"},
	    {WDK_S_ARMED, WD_MSG_PET, 0, WDK_S_ARMED, "pet"},
	    {WDK_S_ARMED, WD_MSG_DISARM, 0, WDK_S_DISARMED, "disarm status"},
	    {WDK_S_ARMED, WD_MSG_RESET, 0, WDK_S_FENCED, "reset"},
	    {WDK_S_ARMED, WD_MSG_STATUS, -1, WDK_S_ARMED, ""},
	    {WDK_S_ARMED, WD_MSG_FENCE, 0, WDK_S_FENCED, "status"},
	    {WDK_S_ARMED, 10, 0, WDK_S_ARMED, "pet"},
	    {WDK_S_ARMED, 11, -1, WDK_S_ARMED, ""},
	    {WDK_S_ARMED, 12, 0, WDK_S_ARMED, ""},
	    {WDK_S_FENCED, WD_MSG_HELLO, 0, WDK_S_FENCED, "status"},
	    {WDK_S_FENCED, WD_MSG_ARM, -1, WDK_S_FENCED, ""},
	    {WDK_S_FENCED, WD_MSG_PET, 0, WDK_S_FENCED, ""},
	    {WDK_S_FENCED, WD_MSG_DISARM, -1, WDK_S_FENCED, ""},
	    {WDK_S_FENCED, WD_MSG_RESET, 0, WDK_S_FENCED, "reset"},
	    {WDK_S_FENCED, WD_MSG_STATUS, -1, WDK_S_FENCED, ""},
	    {WDK_S_FENCED, WD_MSG_FENCE, 0, WDK_S_FENCED, "status"},
	    {WDK_S_FENCED, 10, 0, WDK_S_FENCED, ""},
	    {WDK_S_FENCED, 11, -1, WDK_S_FENCED, ""},
	    {WDK_S_FENCED, 12, 0, WDK_S_FENCED, ""},
	};
	struct wd_msg a = m_arm(2000, 500), p = m_pet(100000), r = m_reset("x"), m;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(oracle) / sizeof(oracle[0]); i++) {
		struct wdk *k = wdk_new(0);
		uint64_t now = 1000;

		assert_int_equal(step(k, WDK_EV_CONNECT, NULL, now), 0);
		if (oracle[i].from != WDK_S_DISARMED) {
			assert_int_equal(msg(k, &a, now), 0);
			assert_int_equal(msg(k, &p, now), 0);
		}
		if (oracle[i].from == WDK_S_FENCED)
			assert_int_equal(msg(k, &r, now), 0);
		assert_int_equal(wdk_get_state(k), oracle[i].from);
		now = 1500; /* a pet is due in ARMED */
		switch (oracle[i].ev) {
		case 10:
			rc = step(k, WDK_EV_TICK, NULL, now);
			break;
		case 11:
			rc = step(k, WDK_EV_CONNECT, NULL, now);
			break;
		case 12:
			rc = step(k, WDK_EV_DISCONNECT, NULL, now);
			break;
		default:
			switch (oracle[i].ev) {
			case WD_MSG_HELLO:
				m = m_hello(3);
				break;
			case WD_MSG_ARM:
				m = a;
				break;
			case WD_MSG_PET:
				m = p;
				break;
			case WD_MSG_RESET:
				m = r;
				break;
			case WD_MSG_FENCE:
				m = m_simple(WD_MSG_FENCE);
				m.u.fence.timeout_ms = 3000;
				break;
			default:
				m = m_simple((enum wd_msg_type)oracle[i].ev);
			}
			rc = msg(k, &m, now);
		}
		if (rc != oracle[i].rc || wdk_get_state(k) != oracle[i].to ||
		    strcmp(acts(), oracle[i].acts) != 0)
			fail_msg("row %zu: %s + %d: rc %d state %s actions \"%s\"", i,
			         wdk_state_name(oracle[i].from), oracle[i].ev, rc,
			         wdk_state_name(wdk_get_state(k)), acts());
		wdk_free(k);
	}
}

static void
test_names(void **state)
{
	assert_string_equal(wdk_state_name(WDK_S_DISARMED), "disarmed");
	assert_string_equal(wdk_state_name(WDK_S_ARMED), "armed");
	assert_string_equal(wdk_state_name(WDK_S_FENCED), "fenced");
	assert_string_equal(wdk_state_name(3), "?");
	assert_string_equal(wdk_event_name(WDK_EV_TICK), "tick");
	assert_string_equal(wdk_event_name(WDK_EV_MSG), "msg");
	assert_string_equal(wdk_event_name(-1), "?");
	assert_string_equal(wdk_action_name(WDK_ACT_PET), "pet");
	assert_string_equal(wdk_action_name(WDK_ACT_STATUS), "status");
	assert_string_equal(wdk_action_name(WDK_ACT_STOPPED), "stopped");
	assert_string_equal(wdk_action_name(WDK_ACT_RESUMED), "resumed");
	assert_string_equal(wdk_action_name(0), "?");
	assert_string_equal(wdk_action_name(8), "?");
}

/* ---- the random property test ---------------------------------------------- */

/* An independent model of the keeper's rules (wdkeep.h). */
struct model {
	int state; /* 0 disarmed, 1 armed, 2 fenced */
	int driver_armed;
	uint32_t timeout, pet, alive_cfg;
	int connected, seen_pet;
	uint64_t last_pet, lease;
};

static int
model_may_pet(const struct model *m, uint64_t now)
{
	uint32_t alive = m->alive_cfg ? m->alive_cfg : 2 * m->pet;

	if (m->state != 1 || now >= m->lease)
		return 0;
	return !m->connected || !m->seen_pet || now - m->last_pet <= alive;
}

static uint32_t
rnd(uint32_t n)
{
	return (uint32_t)rand() % n;
}

static size_t
count_acts(enum wdk_action_type t)
{
	size_t i, n = 0;

	for (i = 0; i < out.n; i++)
		n += out.v[i].type == t;
	return n;
}

static void
check_actions(const struct model *before, int fenced_before, uint64_t now, int may)
{
	size_t i;

	for (i = 0; i < out.n; i++) {
		switch (out.v[i].type) {
		case WDK_ACT_PET:
			if (!may)
				fail_msg("a pet at %llu outside the rule", (unsigned long long)now);
			/* fallthrough */
		case WDK_ACT_ARM:
		case WDK_ACT_DISARM:
			if (fenced_before)
				fail_msg("%s after RESET", wdk_action_name(out.v[i].type));
			break;
		default:
			break;
		}
	}
	(void)before;
}

static void
test_random(void **state)
{
	static const uint32_t timeouts[] = {1000, 2000, 3000};
	int seq, i, pets_seen;
	uint64_t total_pets = 0, total_hung = 0, total_lease = 0, total_resets = 0;

	srand(4711);
	for (seq = 0; seq < 3000; seq++) {
		struct model md = {.alive_cfg = rnd(3) == 0 ? 300 + rnd(1500) : 0};
		struct wdk *k = wdk_new(md.alive_cfg);
		uint64_t now = 1000 + rnd(100000);

		pets_seen = 0;
		for (i = 0; i < 200; i++) {
			uint64_t at = now + rnd(rnd(5) == 0 ? 3000 : 400);
			struct model before;
			struct wd_msg m;
			int rc, may, ev = (int)rnd(100);

			/* The loop's ticks up to the next event, sometimes late. */
			while (wdk_next_deadline(k) <= at) {
				uint64_t d = wdk_next_deadline(k);

				now = d > now ? d : now;
				if (rnd(10) == 0)
					now += rnd(200);
				if (now > at)
					at = now;
				may = model_may_pet(&md, now);
				rc = step(k, WDK_EV_TICK, NULL, now);
				assert_int_equal(rc, 0);
				check_actions(&md, md.state == 2, now, may);
				/* A due pet the rule allows is never missed; a tick
				** says nothing else but stopped / resumed. */
				if (may && count_acts(WDK_ACT_PET) != 1)
					fail_msg("seq %d: a due pet at %llu missed", seq,
					         (unsigned long long)now);
				if (!may)
					assert_int_equal(count_acts(WDK_ACT_PET), 0);
				assert_int_equal(count_acts(WDK_ACT_PET) + count_acts(WDK_ACT_STOPPED) +
				                     count_acts(WDK_ACT_RESUMED),
				                 out.n);
				pets_seen += (int)count_acts(WDK_ACT_PET);
			}
			now = at;
			before = md;
			memset(&m, 0, sizeof(m));
			if (ev < 8) {
				rc = step(k, WDK_EV_CONNECT, NULL, now);
				assert_int_equal(rc, md.connected ? -1 : 0);
				if (rc == 0) {
					md.connected = 1;
					md.seen_pet = 0;
				}
			} else if (ev < 16) {
				rc = step(k, WDK_EV_DISCONNECT, NULL, now);
				assert_int_equal(rc, md.connected ? 0 : -1);
				md.connected = 0;
			} else {
				int t = ev < 20   ? WD_MSG_HELLO
				        : ev < 30 ? WD_MSG_ARM
				        : ev < 85 ? WD_MSG_PET
				        : ev < 93 ? WD_MSG_DISARM
				        : ev < 95 ? WD_MSG_RESET
				                  : WD_MSG_STATUS;
				int expect_rc = md.connected ? 0 : -1;

				m.type = (enum wd_msg_type)t;
				if (t == WD_MSG_ARM) {
					m.u.arm.timeout_ms = timeouts[rnd(3)];
					m.u.arm.pet_ms = 100 + rnd(m.u.arm.timeout_ms / 4 - 99);
				} else if (t == WD_MSG_PET) {
					m.u.pet.lease_ms = rnd(8) == 0 ? 0 : now - 500 + rnd(6000);
				} else if (t == WD_MSG_RESET) {
					snprintf(m.u.reset.reason, sizeof(m.u.reset.reason), "r%d",
					         i);
				}
				if (t == WD_MSG_STATUS ||
				    (md.state == 2 && (t == WD_MSG_ARM || t == WD_MSG_DISARM)))
					expect_rc = -1;
				rc = msg(k, &m, now);
				assert_int_equal(rc, expect_rc);
				if (rc == 0) {
					switch (t) {
					case WD_MSG_ARM:
						if (md.state == 0 ||
						    m.u.arm.timeout_ms != md.timeout) {
							assert_int_equal(out.v[0].type,
							                 WDK_ACT_ARM);
							assert_int_equal(out.v[0].timeout_ms,
							                 m.u.arm.timeout_ms);
						} else {
							assert_string_equal(acts(), "status");
						}
						md.state = 1;
						md.driver_armed = 1;
						md.timeout = m.u.arm.timeout_ms;
						md.pet = m.u.arm.pet_ms;
						break;
					case WD_MSG_PET:
						if (m.u.pet.lease_ms > md.lease)
							md.lease = m.u.pet.lease_ms;
						md.last_pet = now;
						md.seen_pet = 1;
						break;
					case WD_MSG_DISARM:
						assert_string_equal(acts(), md.driver_armed
						                                ? "disarm status"
						                                : "status");
						md.state = 0;
						md.driver_armed = 0;
						break;
					case WD_MSG_RESET:
						assert_string_equal(acts(), "reset");
						md.state = 2;
						break;
					}
				}
			}
			may = model_may_pet(&md, now) && ev >= 16 && m.type == WD_MSG_PET;
			check_actions(&before, before.state == 2, now, may);
			if (rc != 0)
				assert_int_equal(out.n, 0);
			if (m.type == WD_MSG_PET && rc == 0) {
				assert_int_equal(count_acts(WDK_ACT_PET), (size_t)(may ? 1 : 0));
				assert_int_equal(count_acts(WDK_ACT_PET) + count_acts(WDK_ACT_STOPPED) +
				                     count_acts(WDK_ACT_RESUMED),
				                 out.n);
			}
			for (size_t j = 0; j < out.n; j++)
				pets_seen += out.v[j].type == WDK_ACT_PET;
			/* The keeper's view agrees with the model. */
			assert_int_equal((int)wdk_get_state(k), md.state);
			assert_int_equal(wdk_is_connected(k), md.connected);
			assert_int_equal(wdk_get_lease(k), md.lease);
			{
				struct wd_msg st;

				wdk_status(k, &st);
				assert_int_equal(st.u.status.armed, md.driver_armed);
				assert_int_equal(st.u.status.fenced, md.state == 2);
			}
		}
		assert_int_equal(STAT(k, pets), (uint64_t)pets_seen);
		total_pets += (uint64_t)pets_seen;
		total_hung += STAT(k, hung_stops);
		total_lease += STAT(k, lease_stops);
		total_resets += STAT(k, resets);
		wdk_free(k);
	}
	/* The sequences reached every rule. */
	assert_true(total_pets > 10000);
	assert_true(total_hung > 100);
	assert_true(total_lease > 100);
	assert_true(total_resets > 100);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new),
	    cmocka_unit_test(test_alive_daemon),
	    cmocka_unit_test(test_hung_daemon),
	    cmocka_unit_test(test_dead_daemon_lease),
	    cmocka_unit_test(test_lease_only_grows),
	    cmocka_unit_test(test_rearm),
	    cmocka_unit_test(test_disarm),
	    cmocka_unit_test(test_reset),
	    cmocka_unit_test(test_fence),
	    cmocka_unit_test(test_rejections),
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_random),
	};

	log_init("test_wdkeep", LOG_NO_BLACKBOX, LOG_CRIT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
