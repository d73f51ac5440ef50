/*
** The liveness timers (heartbeat/lv_timing.h): every admin timeout of both
** profiles derives timers that pass lv_timing_check(); pinned values for the
** figures quoted in docs/protocol.md ("Timing derivation", whose table this
** test prints); out-of-range timeouts refused; each inequality T1..T8 broken
** by hand is named by lv_timing_check(); skew() rounding; restart_ms never
** shrinks when the timeout grows.
*/
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "heartbeat/lv_timing.h"

#define TICK 10 /* LV_TICK_MS of lv_timing.c */

static struct lv_timing
derive(unsigned t, enum lv_profile p)
{
	struct lv_timing tm;
	char err[200] = "";

	if (lv_timing_derive(t, p, &tm, err, sizeof(err)) != 0)
		fail_msg("derive %u %s: %s", t, lv_profile_name(p), err);
	return tm;
}

static void
test_every_timeout(void **state)
{
	char why[300];
	int p;

	(void)state;
	for (p = LV_PROFILE_FAST; p <= LV_PROFILE_CONSERVATIVE; p++) {
		uint32_t prev_restart = 0, prev_fence = 0, prev_decide = 0;
		unsigned t;

		for (t = LV_TIMEOUT_MIN_S; t <= LV_TIMEOUT_MAX_S; t++) {
			struct lv_timing tm = derive(t, (enum lv_profile)p);

			why[0] = 0;
			if (lv_timing_check(&tm, why, sizeof(why)) != 0)
				fail_msg("T=%u %s: %s", t, lv_profile_name(p), why);
			/* monotone in T: a longer timeout never restarts sooner */
			assert_true(tm.restart_ms >= prev_restart);
			assert_true(tm.fence_restart_ms >= prev_fence);
			assert_true(tm.decide_ms >= prev_decide);
			prev_restart = tm.restart_ms;
			prev_fence = tm.fence_restart_ms;
			prev_decide = tm.decide_ms;
			/* the fixed formulas the doc states */
			assert_int_equal(tm.drift_ppm, 100);
			assert_int_equal(tm.consensus_ms, tm.token_ms * 6 / 5);
			assert_int_equal(tm.ring_ms, tm.token_ms + tm.consensus_ms + 150);
			assert_int_equal(tm.rewait_ms, tm.stale_ms);
			assert_int_equal(tm.pet_ms, tm.wd_ms / 4);
			assert_int_equal(tm.decide_ms % 100, 0);
			assert_int_equal(tm.gap_ms, 2 * tm.cycle_ms + 2 * tm.io_deadline_ms);
			if (p == LV_PROFILE_FAST)
				assert_int_equal(tm.io_deadline_ms, tm.cycle_ms);
			else
				assert_true(tm.io_deadline_ms >= t * 1000 / 3);
			/* T2's 25 % margin absorbs the worst cycle alignment
			** (docs/protocol.md, "The deadline"): >= 6d fast, >= 3d
			** conservative */
			{
				uint64_t io = tm.cycle_ms + 2 * (uint64_t)tm.io_deadline_ms;
				uint64_t x = (tm.ring_ms > tm.stale_ms + io ? tm.ring_ms
				                                            : tm.stale_ms + io) +
				             2 * io + tm.deliver_ms + 2 * (uint64_t)tm.ping_ms -
				             tm.fresh_ms;

				assert_true(tm.decide_ms >= x + (p == LV_PROFILE_FAST ? 6 : 3) *
				                                    (uint64_t)tm.io_deadline_ms);
			}
			/* every value fits its uint32_t with room (the largest,
			** T = 3600 s conservative, is 1.8e7 ms) */
			assert_true(tm.restart_ms < 50000000u);
		}
	}
}

struct row {
	unsigned t;
	enum lv_profile p;
	struct lv_timing want;
	uint32_t poweroff_ms, loser_ms; /* predictions quoted in the doc */
};

/* Pinned: token, consensus, ring, cycle, deadline, gap, stale, ping, fresh,
** deliver, decide, rewait, wd, pet, drift, fence_restart, restart. */
static const struct row rows[] = {
    {5,
     LV_PROFILE_FAST,
     {500, 600, 1250, 50, 50, 200, 551, 50, 500, 50, 3200, 551, 1000, 250, 100, 1011, 4961},
     4986,
     2561},
    {10,
     LV_PROFILE_FAST,
     {500, 600, 1250, 50, 50, 200, 551, 50, 500, 50, 3200, 551, 1000, 250, 100, 1011, 4961},
     4986,
     2561},
    {15,
     LV_PROFILE_FAST,
     {500, 600, 1250, 50, 50, 200, 551, 50, 500, 50, 3200, 551, 1000, 250, 100, 1011, 4961},
     4986,
     2561},
    {30,
     LV_PROFILE_FAST,
     {1000, 1200, 2350, 100, 100, 400, 1101, 100, 1000, 50, 4600, 1101, 1000, 250, 100, 1011, 6862},
     6912,
     3961},
    {60,
     LV_PROFILE_FAST,
     {2000, 2400, 4550, 200, 200, 800, 2201, 200, 2000, 100, 8900, 2201, 2000, 500, 100, 2011, 13413},
     13513,
     7761},
    {120,
     LV_PROFILE_FAST,
     {4000, 4800, 8950, 400, 400, 1600, 4401, 400, 4000, 200, 17500, 4401, 4000, 1000, 100, 4011, 26516},
     26716,
     15361},
    {30,
     LV_PROFILE_CONSERVATIVE,
     {1000, 1200, 2350, 100, 10000, 20200, 60513, 100, 1000, 50, 150100, 60513, 1000, 250, 100, 1011, 152391},
     152441,
     43561},
    {60,
     LV_PROFILE_CONSERVATIVE,
     {2000, 2400, 4550, 200, 20000, 40400, 121025, 200, 2000, 100, 300200, 121025, 2000, 500, 100, 2011, 304771},
     304871,
     86961},
};

static void
test_pinned(void **state)
{
	size_t i;

	(void)state;
	print_message(
	    "| T | profile | K | c | d | T_gap | T_stale | S | T_decide | W | restart_ms | "
	    "power-off -> restart | loser -> restart |\n");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct lv_timing tm = derive(r->t, r->p);
		uint32_t io = tm.cycle_ms + 2 * tm.io_deadline_ms;
		uint32_t poweroff = tm.ping_ms / 2 + tm.restart_ms;
		uint32_t loser = tm.ring_ms + 2 * io + tm.fence_restart_ms;

		print_message(
		    "| %u | %s | %u | %u | %u | %u | %u | %u | %u | %u | %u | %.1f s | %.1f s |\n",
		    r->t, lv_profile_name(r->p), tm.token_ms, tm.cycle_ms, tm.io_deadline_ms,
		    tm.gap_ms, tm.stale_ms, tm.fresh_ms, tm.decide_ms, tm.wd_ms, tm.restart_ms,
		    poweroff / 1000.0, loser / 1000.0);
		assert_memory_equal(&tm, &r->want, sizeof(tm));
		assert_int_equal(poweroff, r->poweroff_ms);
		assert_int_equal(loser, r->loser_ms);
	}
	/* DESIGN §5's "a few seconds": the fastest power-off -> restart (any
	** T <= 15 s) is about 5 s, T = 30 about 7 s, as the doc says; T8 (a
	** hung member) is what sets T_decide there */
	{
		struct lv_timing a = derive(15, LV_PROFILE_FAST), b = derive(30, LV_PROFILE_FAST);

		assert_true(a.ping_ms / 2 + a.restart_ms < 5100);
		assert_true(b.ping_ms / 2 + b.restart_ms < 7500);
	}
}

static void
test_out_of_range(void **state)
{
	static const unsigned bad[] = {0,     1,       LV_TIMEOUT_MIN_S - 1, LV_TIMEOUT_MAX_S + 1,
	                               86400, UINT_MAX};
	struct lv_timing tm;
	char err[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(lv_timing_derive(bad[i], LV_PROFILE_FAST, &tm, err, sizeof(err)),
		                 -1);
		assert_non_null(strstr(err, "out of range"));
	}
	err[0] = 0;
	assert_int_equal(lv_timing_derive(30, (enum lv_profile)7, &tm, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "profile"));
	/* the bounds themselves are accepted */
	assert_int_equal(lv_timing_derive(LV_TIMEOUT_MIN_S, LV_PROFILE_FAST, &tm, err, sizeof(err)),
	                 0);
	assert_int_equal(
	    lv_timing_derive(LV_TIMEOUT_MAX_S, LV_PROFILE_CONSERVATIVE, &tm, err, sizeof(err)), 0);
}

/* Check `tm` and expect a failure whose sentence contains `name`. */
static void
expect_fail(const struct lv_timing *tm, const char *name)
{
	char why[300] = "";

	assert_int_equal(lv_timing_check(tm, why, sizeof(why)), -1);
	if (strstr(why, name) == NULL)
		fail_msg("expected %s, got: %s", name, why);
}

static void
test_each_inequality(void **state)
{
	int p;

	(void)state;
	for (p = LV_PROFILE_FAST; p <= LV_PROFILE_CONSERVATIVE; p++) {
		static const unsigned ts[] = {5, 30, 60, 3600};
		size_t i;

		for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
			const struct lv_timing base = derive(ts[i], (enum lv_profile)p);
			struct lv_timing tm;
			uint64_t io = base.cycle_ms + 2 * (uint64_t)base.io_deadline_ms, b;

			/* T1: stale exactly at the bound */
			tm = base;
			tm.stale_ms = (uint32_t)(lv_timing_skew(&tm, 2 * (uint64_t)tm.gap_ms +
			                                                 2 * tm.io_deadline_ms) +
			                         TICK);
			tm.rewait_ms = tm.stale_ms;
			expect_fail(&tm, "T1");
			tm.stale_ms++;
			tm.rewait_ms++;
			assert_int_equal(lv_timing_check(&tm, NULL, 0), 0);

			/* T2: one ms short */
			tm = base;
			b = (tm.ring_ms > tm.stale_ms + io ? tm.ring_ms : tm.stale_ms + io) +
			    2 * io + tm.deliver_ms + 2 * (uint64_t)tm.ping_ms - tm.fresh_ms;
			tm.decide_ms = (uint32_t)b - 1;
			expect_fail(&tm, "T2");
			/* T8: one ms short of the hung-member bound */
			{
				uint64_t b8 = (uint64_t)tm.wd_ms + tm.ring_ms + 4 * (uint64_t)tm.ping_ms +
				              5 * (uint64_t)tm.deliver_ms + 2 * io + TICK - tm.fresh_ms;

				if (b8 > b) {
					tm.decide_ms = (uint32_t)b8 - 1;
					tm.restart_ms = base.restart_ms;
					expect_fail(&tm, "T8");
					b = b8;
				}
			}
			tm.decide_ms = (uint32_t)b;
			tm.restart_ms = (uint32_t)lv_timing_skew(&tm, tm.fresh_ms + TICK +
			                                                  (uint64_t)tm.decide_ms +
			                                                  tm.pet_ms + tm.wd_ms);
			assert_int_equal(lv_timing_check(&tm, NULL, 0), 0);
			/* fresh_ms larger than the T2 bound: no unsigned underflow in T2,
			** the failure is restart_ms (T6) */
			tm = base;
			tm.fresh_ms = UINT32_MAX;
			expect_fail(&tm, "T6");

			/* T3 */
			tm = base;
			tm.gap_ms = (uint32_t)io;
			expect_fail(&tm, "T3");

			/* T4 */
			tm = base;
			tm.fresh_ms = tm.ping_ms + tm.deliver_ms;
			expect_fail(&tm, "T4");

			/* T5 */
			tm = base;
			tm.wd_ms = base.wd_ms + 500;
			expect_fail(&tm, "T5");
			tm = base;
			tm.wd_ms = 999;
			tm.pet_ms = 1;
			expect_fail(&tm, "T5");
			tm = base;
			tm.pet_ms = tm.wd_ms / 4 + 1;
			expect_fail(&tm, "T5");
			tm = base;
			tm.pet_ms = 0;
			expect_fail(&tm, "pet_ms");

			/* T6, both bounds */
			tm = base;
			tm.restart_ms--;
			expect_fail(&tm, "T6");
			tm = base;
			tm.fence_restart_ms--;
			expect_fail(&tm, "T6");

			/* T7 */
			tm = base;
			tm.rewait_ms = tm.stale_ms - 1;
			expect_fail(&tm, "T7");

			/* sanity */
			tm = base;
			tm.decide_ms = tm.stale_ms;
			expect_fail(&tm, "decide_ms");
			tm = base;
			tm.consensus_ms = 0;
			expect_fail(&tm, "consensus_ms is 0");
			tm = base;
			tm.drift_ppm = 1000000;
			expect_fail(&tm, "drift_ppm");
		}
	}
}

static void
test_skew(void **state)
{
	struct lv_timing tm = derive(30, LV_PROFILE_FAST);
	uint64_t x;

	(void)state;
	assert_int_equal(lv_timing_skew(&tm, 0), 0);
	assert_int_equal(lv_timing_skew(&tm, 1), 2);             /* any x > 0 gains >= 1 ms */
	assert_int_equal(lv_timing_skew(&tm, 4999), 5000);       /* 0.9998 -> 1 */
	assert_int_equal(lv_timing_skew(&tm, 5000), 5001);       /* exactly 1 */
	assert_int_equal(lv_timing_skew(&tm, 5001), 5003);       /* 1.0002 -> 2 */
	assert_int_equal(lv_timing_skew(&tm, 1000000), 1000200); /* exactly 200 */
	assert_int_equal(lv_timing_skew(&tm, 1000001), 1000202);
	/* against the exact ceiling, across the split at 1e6 */
	for (x = 0; x < ((uint64_t)1 << 40); x = x * 3 + 7) {
		unsigned __int128 e = (unsigned __int128)x * 200;
		uint64_t want = x + (uint64_t)((e + 999999) / 1000000);

		assert_int_equal(lv_timing_skew(&tm, x), want);
	}
	tm.drift_ppm = 0;
	assert_int_equal(lv_timing_skew(&tm, 12345), 12345);
	tm.drift_ppm = 500000; /* 2 rho = 1: doubles */
	assert_int_equal(lv_timing_skew(&tm, 12345), 24690);
}

static void
test_profiles(void **state)
{
	(void)state;
	assert_string_equal(lv_profile_name(LV_PROFILE_FAST), "fast");
	assert_string_equal(lv_profile_name(LV_PROFILE_CONSERVATIVE), "conservative");
	assert_string_equal(lv_profile_name(9), "?");
	assert_int_equal(lv_profile_parse("fast"), LV_PROFILE_FAST);
	assert_int_equal(lv_profile_parse("conservative"), LV_PROFILE_CONSERVATIVE);
	assert_int_equal(lv_profile_parse("Fast"), -1);
	assert_int_equal(lv_profile_parse(""), -1);
	assert_int_equal(lv_profile_parse(NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_timeout), cmocka_unit_test(test_pinned),
	    cmocka_unit_test(test_out_of_range),  cmocka_unit_test(test_each_inequality),
	    cmocka_unit_test(test_skew),          cmocka_unit_test(test_profiles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
