/*
** The fence state machine (fencing/fence.c, docs/fencing.md).
**
**  - the table: every (state, event) pair, from a machine driven into that
**    state, against an oracle written out here (accepted or rejected, the
**    next state, the actions); rejected pairs change nothing;
**  - the pet rule: pets every pet_ms while the loop and the I/O side make
**    progress; they stop when either stalls (the I/O side reporting only
**    timeouts still counts as progress) and resume when it recovers;
**  - the fence: no pet and no disarm after it; WRITE_RECORD at once, RESET on
**    record_written, or at the bound when the record never completes, then
**    again every reset_retry_ms;
**  - maintenance: disarm, automatic re-arm at the deadline (to JOINING when
**    the host left the liveset or was decided out meanwhile), the clamp;
**  - random event sequences against a model watchdog: armed only as the
**    machine says, never petted unarmed, enable/disable cycles leave it
**    disarmed.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fencing/fence.h"
#include "lib/check.h"

#define W   4000u
#define PET 1000u
#define T0  100000u

static struct fence_config
config(int statefile)
{
	struct fence_config c = {0};

	c.wd_ms = W;
	c.pet_ms = PET;
	c.statefile = statefile;
	return c;
}

static struct fence *
make(int statefile)
{
	struct fence_config c = config(statefile);
	char err[160];
	struct fence *f = fence_new(&c, err, sizeof(err));

	assert_non_null(f);
	return f;
}

static int
step(struct fence *f, enum fence_event_type type, uint64_t now, struct fence_actions *out)
{
	struct fence_event ev = {0};

	ev.type = type;
	if (type == FENCE_EV_MAINT_DISARM)
		ev.until = now + 5000;
	return fence_step(f, &ev, now, out);
}

static int
decide(struct fence *f, enum fence_verdict v, uint64_t now, struct fence_actions *out)
{
	struct fence_event ev = {0};

	ev.type = FENCE_EV_DECISION;
	ev.verdict = v;
	ev.reason = 4;
	return fence_step(f, &ev, now, out);
}

/* The actions as a string: A arm, P pet, D disarm, W write record, R reset. */
static const char *
acts(const struct fence_actions *a)
{
	static char s[FENCE_ACTIONS_MAX + 1];
	static const char letters[] = "?APDWR";

	for (size_t i = 0; i < a->n; i++)
		s[i] = letters[a->v[i].type];
	s[a->n] = '\0';
	return s;
}

/* Drive a new machine into state s at T0. */
static struct fence *
in_state(enum fence_state s)
{
	struct fence *f = make(1);
	struct fence_actions a;

	if (s >= FENCE_S_JOINING)
		assert_int_equal(step(f, FENCE_EV_HA_ENABLE, T0, &a), 0);
	if (s >= FENCE_S_ARMED)
		assert_int_equal(step(f, FENCE_EV_JOINED, T0, &a), 0);
	if (s == FENCE_S_SUSPENDED)
		assert_int_equal(step(f, FENCE_EV_MAINT_DISARM, T0, &a), 0);
	if (s >= FENCE_S_FENCING && s != FENCE_S_SUSPENDED)
		assert_int_equal(decide(f, FENCE_V_FENCE, T0, &a), 0);
	if (s == FENCE_S_FENCED)
		assert_int_equal(step(f, FENCE_EV_RECORD_WRITTEN, T0, &a), 0);
	assert_int_equal(fence_get_state(f), s);
	return f;
}

/* ---- the table ------------------------------------------------------------ */

enum col {
	C_EN,
	C_DIS,
	C_JOIN,
	C_LEFT,
	C_SURV,
	C_WAIT,
	C_FENCE,
	C_TICK,
	C_LOOP,
	C_IO,
	C_WR,
	C_MDIS,
	C_MARM,
	C_N
};

struct expect {
	int ok;
	int next;
	const char *acts;
};

/* clang-format off */
#define X {0, -1, ""}
#define OFF FENCE_S_OFF
#define JOI FENCE_S_JOINING
#define ARM FENCE_S_ARMED
#define SUS FENCE_S_SUSPENDED
#define FNG FENCE_S_FENCING
#define FND FENCE_S_FENCED

/* The oracle: docs/fencing.md's table, written out independently. */
static const struct expect oracle[FENCE_S_COUNT][C_N] = {
    /*          enable        disable        joined          left           survive
    **          wait          fence          tick            loop           io
    **          written       mdisarm        marm */
    [OFF] = {{1, JOI, ""}, {1, OFF, ""}, X, X, X, X, X, {1, OFF, ""}, {1, OFF, ""}, {1, OFF, ""}, X,
             X, X},
    [JOI] = {X, {1, OFF, ""}, {1, ARM, "A"}, {1, JOI, ""}, {1, JOI, ""}, {1, JOI, ""},
             {1, FNG, "W"}, {1, JOI, ""}, {1, JOI, ""}, {1, JOI, ""}, X, {1, SUS, ""}, X},
    [ARM] = {X, {1, OFF, "D"}, {1, ARM, ""}, {1, JOI, "D"}, {1, ARM, ""}, {1, ARM, ""},
             {1, FNG, "W"}, {1, ARM, ""}, {1, ARM, ""}, {1, ARM, ""}, X, {1, SUS, "D"}, X},
    [SUS] = {X, {1, OFF, ""}, {1, SUS, ""}, {1, SUS, ""}, {1, SUS, ""}, {1, SUS, ""}, {1, SUS, ""},
             {1, SUS, ""}, {1, SUS, ""}, {1, SUS, ""}, X, {1, SUS, ""}, {1, ARM, "A"}},
    [FNG] = {X, X, X, X, X, X, X, {1, FNG, ""}, {1, FNG, ""}, {1, FNG, ""}, {1, FND, "R"}, X, X},
    [FND] = {X, X, X, X, X, X, X, {1, FND, ""}, {1, FND, ""}, {1, FND, ""}, {1, FND, ""}, X, X},
};

/* clang-format on */

static int
apply_col(struct fence *f, enum col c, uint64_t now, struct fence_actions *a)
{
	static const enum fence_event_type types[C_N] = {
	    FENCE_EV_HA_ENABLE,   FENCE_EV_HA_DISABLE,     FENCE_EV_JOINED,
	    FENCE_EV_LEFT,        FENCE_EV_DECISION,       FENCE_EV_DECISION,
	    FENCE_EV_DECISION,    FENCE_EV_TICK,           FENCE_EV_LOOP_ALIVE,
	    FENCE_EV_IO_PROGRESS, FENCE_EV_RECORD_WRITTEN, FENCE_EV_MAINT_DISARM,
	    FENCE_EV_MAINT_ARM,
	};

	if (c == C_SURV)
		return decide(f, FENCE_V_SURVIVE, now, a);
	if (c == C_WAIT)
		return decide(f, FENCE_V_WAIT, now, a);
	if (c == C_FENCE)
		return decide(f, FENCE_V_FENCE, now, a);
	return step(f, types[c], now, a);
}

static void
test_table(void **state)
{
	int pairs = 0, rejected = 0;

	for (int s = 0; s < FENCE_S_COUNT; s++) {
		for (int c = 0; c < C_N; c++) {
			struct fence *f = in_state((enum fence_state)s);
			const struct expect *x = &oracle[s][c];
			struct fence_stats before, after;
			struct fence_actions a;
			int armed = fence_is_armed(f), rc;

			fence_get_stats(f, &before);
			rc = apply_col(f, (enum col)c, T0 + 1, &a);
			fence_get_stats(f, &after);
			if (!x->ok) {
				assert_int_equal(rc, -1);
				assert_int_equal(a.n, 0);
				assert_int_equal(fence_get_state(f), s);
				assert_int_equal(fence_is_armed(f), armed);
				assert_int_equal(after.rejected, before.rejected + 1);
				rejected++;
			} else {
				if (rc != 0 || (int)fence_get_state(f) != x->next ||
				    strcmp(acts(&a), x->acts) != 0)
					fail_msg("state %s col %d: rc %d, next %s, actions '%s'",
					         fence_state_name(s), c, rc,
					         fence_state_name(fence_get_state(f)), acts(&a));
				assert_int_equal(after.rejected, before.rejected);
				/* Armed exactly where the watchdog should be: in
				** ARMED, and still in FENCING/FENCED if it was. */
				if (fence_is_armed(f) !=
				    (x->next == ARM ||
				     ((x->next == FNG || x->next == FND) && armed)))
					fail_msg("state %s col %d: armed %d", fence_state_name(s),
					         c, fence_is_armed(f));
			}
			pairs++;
			fence_free(f);
		}
	}
	assert_int_equal(pairs, FENCE_S_COUNT * C_N);
	assert_true(rejected > 20);
}

static void
test_unknown_events(void **state)
{
	struct fence *f = in_state(FENCE_S_ARMED);
	struct fence_event ev = {0};
	struct fence_actions a;
	struct fence_stats st;

	ev.type = (enum fence_event_type)99;
	assert_int_equal(fence_step(f, &ev, T0 + 1, &a), -1);
	ev.type = FENCE_EV_DECISION;
	ev.verdict = (enum fence_verdict)7;
	assert_int_equal(fence_step(f, &ev, T0 + 1, &a), -1);
	/* A maintenance deadline in the past is refused by its handler. */
	ev.type = FENCE_EV_MAINT_DISARM;
	ev.until = T0;
	assert_int_equal(fence_step(f, &ev, T0 + 1, &a), -1);
	assert_int_equal(a.n, 0);
	fence_get_stats(f, &st);
	assert_int_equal(st.rejected, 3);
	assert_int_equal(fence_get_state(f), FENCE_S_ARMED);
	assert_true(fence_is_armed(f));
	fence_free(f);
}

static void
test_bad_config(void **state)
{
	struct fence_config c = config(0);
	char err[160];

	c.pet_ms = W / 4 + 1;
	assert_null(fence_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "pet"));
	c.pet_ms = 0;
	assert_null(fence_new(&c, err, sizeof(err)));
}

/* ---- pets ----------------------------------------------------------------- */

/* Run from `from` to `to` in 50 ms steps, feeding loop_alive / io_progress
** when asked and ticking whenever the deadline passed; count the pets and
** the time of the last one. */
static unsigned
run(struct fence *f, uint64_t from, uint64_t to, int loop, int io, uint64_t *last_pet)
{
	struct fence_actions a;
	unsigned pets = 0;

	for (uint64_t t = from; t < to; t += 50) {
		if (loop)
			assert_int_equal(step(f, FENCE_EV_LOOP_ALIVE, t, &a), 0);
		if (io)
			assert_int_equal(step(f, FENCE_EV_IO_PROGRESS, t, &a), 0);
		if (t >= fence_next_deadline(f)) {
			assert_int_equal(step(f, FENCE_EV_TICK, t, &a), 0);
			for (size_t i = 0; i < a.n; i++) {
				assert_int_equal(a.v[i].type, FENCE_ACT_WD_PET);
				pets++;
				if (last_pet != NULL)
					*last_pet = t;
			}
		}
	}
	return pets;
}

static void
test_pets(void **state)
{
	struct fence *f = in_state(FENCE_S_ARMED);
	uint64_t last = 0;
	unsigned n;

	assert_int_equal(fence_next_deadline(f), T0 + PET);
	/* Healthy: one pet every pet_ms. */
	n = run(f, T0, T0 + 10 * PET, 1, 1, &last);
	assert_int_equal(n, 9);
	/* The I/O side stops reporting: pets stop within 2 pet_ms (+ one period). */
	n = run(f, T0 + 10 * PET, T0 + 20 * PET, 1, 0, &last);
	assert_true(last <= T0 + 10 * PET + 3 * PET);
	assert_true(n <= 3);
	{
		struct fence_stats st;

		fence_get_stats(f, &st);
		assert_true(st.pets_skipped >= 5);
	}
	/* It reports again (even only timeouts: a hung path): pets resume. */
	n = run(f, T0 + 20 * PET, T0 + 30 * PET, 1, 1, &last);
	assert_true(n >= 9);
	/* The loop stalls (no loop_alive): pets stop likewise. */
	n = run(f, T0 + 30 * PET, T0 + 40 * PET, 0, 1, &last);
	assert_true(last <= T0 + 30 * PET + 3 * PET);
	n = run(f, T0 + 40 * PET, T0 + 42 * PET, 1, 1, &last);
	assert_true(n >= 1);
	fence_free(f);

	/* Without a statefile, io_progress is not needed. */
	f = make(0);
	{
		struct fence_actions a;

		step(f, FENCE_EV_HA_ENABLE, T0, &a);
		step(f, FENCE_EV_JOINED, T0, &a);
		assert_string_equal(acts(&a), "A");
		assert_int_equal(a.v[0].timeout_ms, W);
	}
	n = run(f, T0, T0 + 10 * PET, 1, 0, NULL);
	assert_int_equal(n, 9);
	fence_free(f);
}

/* WAIT and SURVIVE keep the pets going; JOINING never pets. */
static void
test_pets_only_armed(void **state)
{
	struct fence *f = in_state(FENCE_S_JOINING);
	struct fence_actions a;

	assert_int_equal(run(f, T0, T0 + 10 * PET, 1, 1, NULL), 0);
	assert_int_equal(fence_next_deadline(f), UINT64_MAX);
	step(f, FENCE_EV_JOINED, T0 + 10 * PET, &a);
	decide(f, FENCE_V_WAIT, T0 + 10 * PET, &a);
	assert_int_equal(run(f, T0 + 10 * PET, T0 + 20 * PET, 1, 1, NULL), 9);
	decide(f, FENCE_V_SURVIVE, T0 + 20 * PET, &a);
	assert_int_equal(run(f, T0 + 20 * PET, T0 + 30 * PET, 1, 1, NULL), 10);
	fence_free(f);
}

/* ---- the fence ------------------------------------------------------------ */

static void
test_fence_sequence(void **state)
{
	struct fence *f = in_state(FENCE_S_ARMED);
	struct fence_record rec = {0};
	struct fence_event ev = {0};
	struct fence_actions a;
	uint64_t t = T0 + 5 * PET + 10;

	run(f, T0, t, 1, 1, NULL);
	snprintf(rec.reason_text, sizeof(rec.reason_text), "lost");
	snprintf(rec.detail, sizeof(rec.detail), "component {h1,h2} won");
	rec.wall_s = 1700000000;
	ev.type = FENCE_EV_DECISION;
	ev.verdict = FENCE_V_FENCE;
	ev.reason = 4;
	ev.record = &rec;
	assert_int_equal(fence_step(f, &ev, t, &a), 0);
	assert_string_equal(acts(&a), "W");
	assert_int_equal(a.v[0].record->reason, 4);
	assert_int_equal(a.v[0].record->mono_ms, t);
	assert_int_equal(a.v[0].record->wall_s, 1700000000);
	assert_string_equal(a.v[0].record->detail, "component {h1,h2} won");
	assert_int_equal(fence_get_state(f), FENCE_S_FENCING);
	assert_int_equal(fence_next_deadline(f), t + 200);
	/* No pet and no disarm from here on, whatever arrives. */
	assert_int_equal(run(f, t, t + 150, 1, 1, NULL), 0);
	assert_int_equal(step(f, FENCE_EV_HA_DISABLE, t + 160, &a), -1);
	assert_int_equal(step(f, FENCE_EV_MAINT_DISARM, t + 160, &a), -1);
	assert_int_equal(decide(f, FENCE_V_SURVIVE, t + 160, &a), -1);
	assert_true(fence_is_armed(f));
	/* The record is durable: reset at once. */
	assert_int_equal(step(f, FENCE_EV_RECORD_WRITTEN, t + 170, &a), 0);
	assert_string_equal(acts(&a), "R");
	assert_non_null(strstr(a.v[0].reason, "lost"));
	assert_non_null(strstr(a.v[0].reason, "written"));
	assert_int_equal(fence_get_state(f), FENCE_S_FENCED);
	assert_true(fence_is_armed(f));
	/* Still alive a second later: reset again; never a pet. */
	assert_int_equal(step(f, FENCE_EV_TICK, t + 170 + 999, &a), 0);
	assert_int_equal(a.n, 0);
	assert_int_equal(step(f, FENCE_EV_TICK, t + 170 + 1000, &a), 0);
	assert_string_equal(acts(&a), "R");
	fence_free(f);
}

static void
test_fence_record_never_written(void **state)
{
	struct fence *f = in_state(FENCE_S_ARMED);
	struct fence_actions a;
	struct fence_stats st;
	uint64_t t = T0 + 300;

	assert_int_equal(decide(f, FENCE_V_FENCE, t, &a), 0);
	assert_string_equal(acts(&a), "W");
	assert_int_equal(a.v[0].record->reason, 4); /* a bare record, with the reason */
	assert_int_equal(step(f, FENCE_EV_TICK, t + 199, &a), 0);
	assert_int_equal(a.n, 0);
	assert_int_equal(step(f, FENCE_EV_TICK, t + 200, &a), 0);
	assert_string_equal(acts(&a), "R");
	assert_non_null(strstr(a.v[0].reason, "not durable within 200 ms"));
	assert_int_equal(fence_get_state(f), FENCE_S_FENCED);
	/* The record completes late: nothing more to do. */
	assert_int_equal(step(f, FENCE_EV_RECORD_WRITTEN, t + 5000, &a), 0);
	assert_int_equal(a.n, 0);
	fence_get_stats(f, &st);
	assert_int_equal(st.record_timeouts, 1);
	assert_int_equal(st.resets, 1);
	fence_free(f);
}

/* A FENCE before joining resets too (the previous daemon's watchdog may be
** armed and the others count on it), without arming anything. */
static void
test_fence_while_joining(void **state)
{
	struct fence *f = in_state(FENCE_S_JOINING);
	struct fence_actions a;

	assert_int_equal(decide(f, FENCE_V_FENCE, T0, &a), 0);
	assert_string_equal(acts(&a), "W");
	assert_false(fence_is_armed(f));
	assert_int_equal(step(f, FENCE_EV_TICK, T0 + 200, &a), 0);
	assert_string_equal(acts(&a), "R");
	fence_free(f);
}

/* ---- maintenance ---------------------------------------------------------- */

static void
test_maintenance(void **state)
{
	struct fence *f = in_state(FENCE_S_ARMED);
	struct fence_event ev = {0};
	struct fence_actions a;
	uint64_t t = T0 + 2000;

	ev.type = FENCE_EV_MAINT_DISARM;
	ev.until = t + 60000;
	assert_int_equal(fence_step(f, &ev, t, &a), 0);
	assert_string_equal(acts(&a), "D");
	assert_false(fence_is_armed(f));
	assert_int_equal(fence_next_deadline(f), t + 60000);
	/* hasvcd's corosync restarts: the engine fences; not acted on. */
	assert_int_equal(run(f, t, t + 30000, 1, 1, NULL), 0);
	/* The window ends by itself: armed again, pets resume. */
	assert_int_equal(step(f, FENCE_EV_TICK, t + 60000, &a), 0);
	assert_string_equal(acts(&a), "A");
	assert_int_equal(fence_get_state(f), FENCE_S_ARMED);
	assert_true(run(f, t + 60000, t + 70000, 1, 1, NULL) >= 9);
	/* Again, ended early by maintenance_arm. */
	ev.until = t + 200000;
	assert_int_equal(fence_step(f, &ev, t + 70000, &a), 0);
	assert_int_equal(step(f, FENCE_EV_MAINT_ARM, t + 71000, &a), 0);
	assert_string_equal(acts(&a), "A");
	/* A window longer than max_suspend_ms (1 hour) is cut. */
	ev.until = t + 100ull * 3600 * 1000;
	assert_int_equal(fence_step(f, &ev, t + 80000, &a), 0);
	assert_int_equal(fence_next_deadline(f), t + 80000 + 3600 * 1000);
	/* Extending a window while suspended. */
	ev.until = t + 90000;
	assert_int_equal(fence_step(f, &ev, t + 81000, &a), 0);
	assert_int_equal(a.n, 0);
	assert_int_equal(fence_next_deadline(f), t + 90000);
	fence_free(f);
}

static void
test_maintenance_rejoin(void **state)
{
	struct fence *f = in_state(FENCE_S_SUSPENDED);
	struct fence_actions a;
	struct fence_stats st;

	/* The host left the liveset during the window: back to JOINING. */
	assert_int_equal(step(f, FENCE_EV_LEFT, T0 + 100, &a), 0);
	assert_int_equal(step(f, FENCE_EV_TICK, T0 + 5000, &a), 0);
	assert_int_equal(a.n, 0);
	assert_int_equal(fence_get_state(f), FENCE_S_JOINING);
	assert_false(fence_is_armed(f));
	assert_int_equal(step(f, FENCE_EV_JOINED, T0 + 6000, &a), 0);
	assert_string_equal(acts(&a), "A");
	fence_free(f);

	/* A fence decision during the window is suppressed and counted; the
	** host re-arms only once it is in the liveset again. */
	f = in_state(FENCE_S_SUSPENDED);
	assert_int_equal(decide(f, FENCE_V_FENCE, T0 + 100, &a), 0);
	assert_int_equal(a.n, 0);
	assert_int_equal(step(f, FENCE_EV_MAINT_ARM, T0 + 200, &a), 0);
	assert_int_equal(a.n, 0);
	assert_int_equal(fence_get_state(f), FENCE_S_JOINING);
	fence_get_stats(f, &st);
	assert_int_equal(st.fences_suppressed, 1);
	fence_free(f);
}

/* ---- random sequences ----------------------------------------------------- */

static void
test_random_sequences(void **state)
{
	uint64_t rng = 0x2545f4914f6cdd1dull;

	for (int run_i = 0; run_i < 2000; run_i++) {
		struct fence *f = make(run_i & 1);
		int model_armed = 0, fenced = 0;
		uint64_t now = T0;

		for (int k = 0; k < 60; k++) {
			struct fence_actions a;
			int c, rc;

			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			c = (int)(rng % C_N);
			now += rng >> 40 & 1023;
			if (c == C_FENCE && (rng >> 20) % 8 != 0)
				c = C_TICK; /* fences are rarer than the rest */
			rc = apply_col(f, (enum col)c, now, &a);
			for (size_t i = 0; i < a.n; i++) {
				switch (a.v[i].type) {
				case FENCE_ACT_WD_ARM:
					assert_false(model_armed);
					assert_false(fenced);
					model_armed = 1;
					break;
				case FENCE_ACT_WD_PET:
					assert_true(model_armed);
					assert_false(fenced);
					break;
				case FENCE_ACT_WD_DISARM:
					assert_true(model_armed);
					assert_false(fenced);
					model_armed = 0;
					break;
				case FENCE_ACT_WRITE_RECORD:
					fenced = 1;
					break;
				case FENCE_ACT_RESET:
					assert_true(fenced);
					break;
				}
			}
			assert_int_equal(model_armed, fence_is_armed(f));
			if (rc == 0 && c == C_DIS)
				assert_false(model_armed);
		}
		fence_free(f);
	}
}

static void
test_enable_disable_cycles(void **state)
{
	struct fence *f = make(1);
	struct fence_actions a;
	struct fence_stats st;
	uint64_t t = T0;

	for (int i = 0; i < 50; i++) {
		assert_int_equal(step(f, FENCE_EV_HA_ENABLE, t, &a), 0);
		if (i % 3 != 0)
			assert_int_equal(step(f, FENCE_EV_JOINED, t + 10, &a), 0);
		if (i % 5 == 1)
			assert_int_equal(step(f, FENCE_EV_MAINT_DISARM, t + 20, &a), 0);
		run(f, t + 30, t + 3000, 1, 1, NULL);
		assert_int_equal(step(f, FENCE_EV_HA_DISABLE, t + 3000, &a), 0);
		assert_false(fence_is_armed(f));
		assert_int_equal(fence_get_state(f), FENCE_S_OFF);
		t += 10000;
	}
	fence_get_stats(f, &st);
	assert_int_equal(st.arms, st.disarms);
	assert_true(st.arms > 0);
	fence_free(f);
}

static void
test_names(void **state)
{
	assert_string_equal(fence_state_name(FENCE_S_SUSPENDED), "suspended");
	assert_string_equal(fence_state_name(99), "?");
	assert_string_equal(fence_event_name(FENCE_EV_MAINT_ARM), "maintenance_arm");
	assert_string_equal(fence_action_name(FENCE_ACT_RESET), "reset");
	assert_string_equal(fence_verdict_name(FENCE_V_FENCE), "fence");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_unknown_events),
	    cmocka_unit_test(test_bad_config),
	    cmocka_unit_test(test_pets),
	    cmocka_unit_test(test_pets_only_armed),
	    cmocka_unit_test(test_fence_sequence),
	    cmocka_unit_test(test_fence_record_never_written),
	    cmocka_unit_test(test_fence_while_joining),
	    cmocka_unit_test(test_maintenance),
	    cmocka_unit_test(test_maintenance_rejoin),
	    cmocka_unit_test(test_random_sequences),
	    cmocka_unit_test(test_enable_disable_cycles),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
