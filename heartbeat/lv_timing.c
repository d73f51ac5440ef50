/*
** The liveness protocol's timers (see lv_timing.h).  docs/protocol.md,
** "Timing derivation" and "Dead before restart", states each formula below
** and proves the inequalities T1..T7 that lv_timing_check() tests: a change
** here is a change there.
**
** All arithmetic is integer milliseconds in 64 bits (the largest value, for
** T = 3600 s conservative, is about 1.8e7 ms), and every value is stored in
** 32 bits only once computed.  Derived values round up wherever rounding
** could weaken a bound.
*/
#include <stdio.h>
#include <string.h>

#include "heartbeat/corosync_conf.h"
#include "heartbeat/lv_timing.h"
#include "lib/check.h"

#define LV_DRIFT_PPM 100 /* rho = 1e-4 per host: two clocks differ by at most 2 rho */
#ifndef LV_TICK_MS
#define LV_TICK_MS 10 /* timer granularity: a timer fires at most this late */
#endif
#define LV_DRIFT_MAX_PPM 10000 /* 1 %: beyond, no clock is worth the name */
#define LV_JOIN_MS       150   /* 2 corosync join timeouts (50 ms) + 50 ms for the daemon */

static uint64_t
max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t
round_up(uint64_t x, uint64_t unit)
{
	return (x + unit - 1) / unit * unit;
}

/* x + ceil(x * 2 rho / 1e6), split so that no product overflows for any
** x below 2^40 and any drift_ppm (lv_timing_check bounds drift_ppm). */
uint64_t
lv_timing_skew(const struct lv_timing *t, uint64_t x)
{
	uint64_t r2 = 2 * (uint64_t)t->drift_ppm;

	return x + x / 1000000 * r2 + (x % 1000000 * r2 + 999999) / 1000000;
}

/* The lower bound of T2 on decide_ms, plus fresh_ms (so no subtraction):
** max(D, T_stale + c + 2d) + 2(c + 2d) + delta + 2p.  decide_ms must be at
** least this minus fresh_ms. */
static uint64_t
t2_bound(const struct lv_timing *t)
{
	uint64_t io = (uint64_t)t->cycle_ms + 2 * (uint64_t)t->io_deadline_ms;

	return max64(t->ring_ms, (uint64_t)t->stale_ms + io) + 2 * io + t->deliver_ms +
	       2 * (uint64_t)t->ping_ms;
}

/* The lower bound of T8 on decide_ms, plus fresh_ms: a member whose daemon
** hangs stops acknowledging PINGs, so nobody in its ring is fresh until its
** watchdog resets it and corosync drops it:
** W + D + 4p + 5 delta + 2(c + 2d) + tick. */
static uint64_t
t8_bound(const struct lv_timing *t)
{
	uint64_t io = (uint64_t)t->cycle_ms + 2 * (uint64_t)t->io_deadline_ms;

	return (uint64_t)t->wd_ms + t->ring_ms + 4 * (uint64_t)t->ping_ms +
	       5 * (uint64_t)t->deliver_ms + 2 * io + LV_TICK_MS;
}

/* The lower bound of T6 on restart_ms. */
static uint64_t
t6_bound(const struct lv_timing *t)
{
	uint64_t last = max64((uint64_t)t->fresh_ms + LV_TICK_MS + t->decide_ms, t->rewait_ms);

	return lv_timing_skew(t, last + t->pet_ms + t->wd_ms);
}

int
lv_timing_derive(unsigned timeout_s, enum lv_profile profile, struct lv_timing *t, char *err,
                 size_t errlen)
{
	uint64_t k, cons, c, d, gap, stale, s, delta, p, decide, w, x;

	if (timeout_s < LV_TIMEOUT_MIN_S || timeout_s > LV_TIMEOUT_MAX_S) {
		snprintf(err, errlen, "HA timeout %u s is out of range (%d..%d s)", timeout_s,
		         LV_TIMEOUT_MIN_S, LV_TIMEOUT_MAX_S);
		return -1;
	}
	if (profile != LV_PROFILE_FAST && profile != LV_PROFILE_CONSERVATIVE) {
		snprintf(err, errlen, "unknown timing profile %d", (int)profile);
		return -1;
	}
	memset(t, 0, sizeof(*t));
	t->drift_ppm = LV_DRIFT_PPM;

	k = cc_token_ms(timeout_s);
	cons = k * 6 / 5;
	c = max64(50, k / 10);
	d = c;
	if (profile == LV_PROFILE_CONSERVATIVE)
		d = max64(c, (uint64_t)timeout_s * 1000 / 3);
	gap = 2 * c + 2 * d;
	stale = lv_timing_skew(t, 2 * gap + 2 * d) + c;
	p = c;
	delta = max64(50, k / 20);
	/* T4 with room for one more PING period and tick, and at least a token
	** timeout: S costs nothing at the end (the deadline counts from the
	** stall, T2 and T8 subtract S), and a larger S tolerates CPG latency. */
	s = max64(k, 3 * p + 2 * delta + 2 * LV_TICK_MS);
	w = round_up(max64(1000, k), 1000);

	t->token_ms = (uint32_t)k;
	t->consensus_ms = (uint32_t)cons;
	t->ring_ms = (uint32_t)(k + cons + LV_JOIN_MS);
	t->cycle_ms = (uint32_t)c;
	t->io_deadline_ms = (uint32_t)d;
	t->gap_ms = (uint32_t)gap;
	t->stale_ms = (uint32_t)stale;
	t->ping_ms = (uint32_t)p;
	t->fresh_ms = (uint32_t)s;
	t->deliver_ms = (uint32_t)delta;
	t->rewait_ms = (uint32_t)stale;
	t->wd_ms = (uint32_t)w;
	t->pet_ms = (uint32_t)(w / 4);

	/* T2 with a 25 % margin, in whole tenths of a second. */
	x = max64(t2_bound(t), t8_bound(t));
	ha_assert(x > s);
	decide = round_up((x - s) * 5 / 4, 100);
	t->decide_ms = (uint32_t)decide;

	t->fence_restart_ms = (uint32_t)lv_timing_skew(t, w + LV_TICK_MS);
	t->restart_ms = (uint32_t)t6_bound(t);
	return 0;
}

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(why, whylen, __VA_ARGS__);                                                \
		return -1;                                                                         \
	} while (0)

int
lv_timing_check(const struct lv_timing *t, char *why, size_t whylen)
{
	const struct {
		const char *name;
		uint32_t v;
	} f[] = {
	    {"token_ms", t->token_ms},
	    {"consensus_ms", t->consensus_ms},
	    {"ring_ms", t->ring_ms},
	    {"cycle_ms", t->cycle_ms},
	    {"io_deadline_ms", t->io_deadline_ms},
	    {"gap_ms", t->gap_ms},
	    {"stale_ms", t->stale_ms},
	    {"ping_ms", t->ping_ms},
	    {"fresh_ms", t->fresh_ms},
	    {"deliver_ms", t->deliver_ms},
	    {"decide_ms", t->decide_ms},
	    {"rewait_ms", t->rewait_ms},
	    {"wd_ms", t->wd_ms},
	    {"pet_ms", t->pet_ms},
	    {"drift_ppm", t->drift_ppm},
	    {"fence_restart_ms", t->fence_restart_ms},
	    {"restart_ms", t->restart_ms},
	};
	uint64_t c = t->cycle_ms, d = t->io_deadline_ms, io = c + 2 * d, b;
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].v == 0)
			FAIL("%s is 0", f[i].name);
	if (t->drift_ppm > LV_DRIFT_MAX_PPM)
		FAIL("drift_ppm %u is more than %u", t->drift_ppm, LV_DRIFT_MAX_PPM);
	if (t->decide_ms <= t->stale_ms)
		FAIL("decide_ms %u must exceed stale_ms %u", t->decide_ms, t->stale_ms);

	b = lv_timing_skew(t, 2 * (uint64_t)t->gap_ms + 2 * d) + LV_TICK_MS;
	if (t->stale_ms <= b)
		FAIL("T1 (a prover is never stale): stale_ms %u must exceed "
		     "skew(2 gap_ms + 2 io_deadline_ms) + tick = %llu",
		     t->stale_ms, (unsigned long long)b);

	b = t2_bound(t);
	if ((uint64_t)t->decide_ms + t->fresh_ms < b)
		FAIL("T2 (a decision is reachable): decide_ms %u must be at least "
		     "max(ring_ms, stale_ms + c + 2d) + 2(c + 2d) + deliver_ms + 2 ping_ms "
		     "- fresh_ms = %lld",
		     t->decide_ms, (long long)b - (long long)t->fresh_ms);

	if (t->gap_ms <= io)
		FAIL("T3 (healthy storage keeps access): gap_ms %u must exceed "
		     "cycle_ms + 2 io_deadline_ms = %llu",
		     t->gap_ms, (unsigned long long)io);

	b = 2 * (uint64_t)t->ping_ms + 2 * (uint64_t)t->deliver_ms + LV_TICK_MS;
	if (t->fresh_ms <= b)
		FAIL("T4 (a healthy ring stays fresh): fresh_ms %u must exceed "
		     "2 ping_ms + 2 deliver_ms + tick = %llu",
		     t->fresh_ms, (unsigned long long)b);

	if (t->wd_ms < 1000 || t->wd_ms % 1000 != 0)
		FAIL("T5 (watchdog): wd_ms %u must be a whole number of seconds, at least 1000",
		     t->wd_ms);
	if (4 * (uint64_t)t->pet_ms > t->wd_ms)
		FAIL("T5 (watchdog): pet_ms %u must be at most wd_ms / 4 = %u", t->pet_ms,
		     t->wd_ms / 4);

	b = t6_bound(t);
	if (t->restart_ms < b)
		FAIL("T6 (dead before restart): restart_ms %u must be at least "
		     "skew(max(fresh_ms + tick + decide_ms, rewait_ms) + pet_ms + wd_ms) = %llu",
		     t->restart_ms, (unsigned long long)b);
	b = lv_timing_skew(t, (uint64_t)t->wd_ms + LV_TICK_MS);
	if (t->fence_restart_ms < b)
		FAIL("T6 (dead before restart): fence_restart_ms %u must be at least "
		     "skew(wd_ms + tick) = %llu",
		     t->fence_restart_ms, (unsigned long long)b);

	if (t->rewait_ms < t->stale_ms)
		FAIL("T7 (re-wait lets the old round's verdicts land): rewait_ms %u must be "
		     "at least stale_ms %u",
		     t->rewait_ms, t->stale_ms);

	b = t8_bound(t);
	if ((uint64_t)t->decide_ms + t->fresh_ms < b)
		FAIL("T8 (a hung member is reset and dropped before the deadline): decide_ms %u "
		     "must be at least wd_ms + ring_ms + 4 ping_ms + 5 deliver_ms + 2(c + 2d) + "
		     "tick - fresh_ms = %lld",
		     t->decide_ms, (long long)b - (long long)t->fresh_ms);
	return 0;
}

const char *
lv_profile_name(int p)
{
	switch (p) {
	case LV_PROFILE_FAST:
		return "fast";
	case LV_PROFILE_CONSERVATIVE:
		return "conservative";
	}
	return "?";
}

int
lv_profile_parse(const char *s)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "fast") == 0)
		return LV_PROFILE_FAST;
	if (strcmp(s, "conservative") == 0)
		return LV_PROFILE_CONSERVATIVE;
	return -1;
}
