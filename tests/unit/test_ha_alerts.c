/*
** The liveness alerts' decisions (hasvc/ha_alerts.h): xapi's names and
** priorities; the statefile episode (nothing for a blip, the warning at
** stale/2, the loss after stale, once each per episode, again in a new
** episode, the loss alone when both are passed at one poll; nothing while
** the bit is latched but access is back; at start-up, before the first
** access, only the loss and only after decide + stale); the heartbeat
** episode at decide/2; episodes of the two bits independent; the next
** deadline is exactly when something becomes due; HA_HOST_FAILED only from
** the liveset's master, never about itself.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hasvc/ha_alerts.h"
#include "heartbeat/liveness.h"

#define STALE   1000
#define DECIDE  4000
#define BIT(a)  (1u << (a))
#define NOSTORE LS_ALERT_SELF_NO_STORAGE

/* A started engine that has had storage access. */
static void
started(struct ha_alerts *a)
{
	ha_alerts_init(a, STALE, DECIDE);
	ha_alerts_access(a, 1, 0);
}

/* Access lost at t: the bit and lv_has_access, in the daemon's order. */
static void
lose(struct ha_alerts *a, unsigned more, uint64_t t)
{
	ha_alerts_set(a, NOSTORE | more, t);
	ha_alerts_access(a, 0, t);
}

static void
regain(struct ha_alerts *a, unsigned bits, uint64_t t)
{
	ha_alerts_access(a, 1, t);
	ha_alerts_set(a, bits, t);
}

static void
test_defs(void **state)
{
	static const struct {
		enum ha_alert a;
		const char *name;
		int prio;
	} want[] = {
	    {HA_ALERT_HOST_FAILED, "HA_HOST_FAILED", 3},
	    {HA_ALERT_STATEFILE_LOST, "HA_STATEFILE_LOST", 2},
	    {HA_ALERT_STATEFILE_APPROACHING, "HA_STATEFILE_APPROACHING_TIMEOUT", 5},
	    {HA_ALERT_HEARTBEAT_APPROACHING, "HA_HEARTBEAT_APPROACHING_TIMEOUT", 5},
	};
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_string_equal(ha_alert_def(want[i].a)->name, want[i].name);
		assert_int_equal(ha_alert_def(want[i].a)->priority, want[i].prio);
		assert_string_equal(ha_alert_def(want[i].a)->cls, "Host");
	}
}

static void
test_nothing_without_bits(void **state)
{
	struct ha_alerts a;

	ha_alerts_init(&a, STALE, DECIDE);
	assert_true(ha_alerts_next_deadline(&a) == HA_ALERTS_NONE);
	assert_int_equal(ha_alerts_due(&a, 0), 0);
	assert_int_equal(ha_alerts_due(&a, 1000000), 0);
	/* Bits that are not debounced here raise nothing. */
	ha_alerts_set(&a, LS_ALERT_SOME_NO_STORAGE | LS_ALERT_INCONSISTENT, 10);
	assert_int_equal(ha_alerts_due(&a, 1000000), 0);
	assert_true(ha_alerts_next_deadline(&a) == HA_ALERTS_NONE);
}

static void
test_statefile_episode(void **state)
{
	struct ha_alerts a;
	uint64_t t0 = 5000;

	started(&a);
	/* A blip shorter than stale/2: nothing. */
	lose(&a, 0, t0);
	assert_int_equal(ha_alerts_due(&a, t0 + STALE / 2), 0);
	regain(&a, 0, t0 + STALE / 2);
	assert_int_equal(ha_alerts_due(&a, t0 + 10 * STALE), 0);

	/* A real loss: the warning strictly after stale/2, once. */
	t0 = 20000;
	lose(&a, 0, t0);
	assert_true(ha_alerts_since(&a, HA_ALERT_STATEFILE_LOST) == t0);
	assert_true(ha_alerts_next_deadline(&a) == t0 + STALE / 2 + 1);
	assert_int_equal(ha_alerts_due(&a, t0 + STALE / 2), 0);
	assert_int_equal(ha_alerts_due(&a, t0 + STALE / 2 + 1),
	                 BIT(HA_ALERT_STATEFILE_APPROACHING));
	assert_int_equal(ha_alerts_due(&a, t0 + STALE / 2 + 2), 0);
	/* Other bits coming and going do not end the episode. */
	ha_alerts_set(&a, NOSTORE | LS_ALERT_SOME_NO_STORAGE, t0 + 600);
	ha_alerts_access(&a, 0, t0 + 700);
	assert_true(ha_alerts_since(&a, HA_ALERT_STATEFILE_LOST) == t0);
	/* The loss strictly after stale, once. */
	assert_true(ha_alerts_next_deadline(&a) == t0 + STALE + 1);
	assert_int_equal(ha_alerts_due(&a, t0 + STALE), 0);
	assert_int_equal(ha_alerts_due(&a, t0 + STALE + 1), BIT(HA_ALERT_STATEFILE_LOST));
	assert_int_equal(ha_alerts_due(&a, t0 + 100 * STALE), 0);
	assert_true(ha_alerts_next_deadline(&a) == HA_ALERTS_NONE);
	/* The episode ends; a new one raises both again. */
	regain(&a, 0, t0 + 200 * STALE);
	assert_true(ha_alerts_since(&a, HA_ALERT_STATEFILE_LOST) == HA_ALERTS_NONE);
	t0 += 300 * STALE;
	lose(&a, 0, t0);
	assert_int_equal(ha_alerts_due(&a, t0 + STALE / 2 + 1),
	                 BIT(HA_ALERT_STATEFILE_APPROACHING));
	assert_int_equal(ha_alerts_due(&a, t0 + STALE + 1), BIT(HA_ALERT_STATEFILE_LOST));
}

static void
test_statefile_late_poll(void **state)
{
	struct ha_alerts a;

	/* Both thresholds passed at one poll: the loss alone. */
	started(&a);
	lose(&a, 0, 0);
	assert_int_equal(ha_alerts_due(&a, 3 * STALE), BIT(HA_ALERT_STATEFILE_LOST));
	assert_int_equal(ha_alerts_due(&a, 4 * STALE), 0);
	assert_true(ha_alerts_next_deadline(&a) == HA_ALERTS_NONE);
}

static void
test_heartbeat_episode(void **state)
{
	struct ha_alerts a;

	ha_alerts_init(&a, STALE, DECIDE);
	ha_alerts_set(&a, LV_ALERT_STALLED, 100);
	ha_alerts_set(&a, 0, 100 + DECIDE / 2); /* exactly half: not longer */
	assert_int_equal(ha_alerts_due(&a, 100 + DECIDE), 0);
	ha_alerts_set(&a, LV_ALERT_STALLED, 10000);
	assert_true(ha_alerts_since(&a, HA_ALERT_HEARTBEAT_APPROACHING) == 10000);
	assert_true(ha_alerts_next_deadline(&a) == 10000 + DECIDE / 2 + 1);
	assert_int_equal(ha_alerts_due(&a, 10000 + DECIDE / 2), 0);
	assert_int_equal(ha_alerts_due(&a, 10000 + DECIDE / 2 + 1),
	                 BIT(HA_ALERT_HEARTBEAT_APPROACHING));
	assert_int_equal(ha_alerts_due(&a, 10000 + 5 * DECIDE), 0);
	ha_alerts_set(&a, 0, 30000);
	ha_alerts_set(&a, LV_ALERT_STALLED, 40000);
	assert_int_equal(ha_alerts_due(&a, 40000 + DECIDE), BIT(HA_ALERT_HEARTBEAT_APPROACHING));
	assert_true(ha_alerts_since(&a, HA_ALERT_HOST_FAILED) == HA_ALERTS_NONE);
}

static void
test_independent(void **state)
{
	struct ha_alerts a;

	started(&a);
	lose(&a, LV_ALERT_STALLED, 0);
	/* The earlier of the two thresholds first. */
	assert_true(ha_alerts_next_deadline(&a) == STALE / 2 + 1);
	assert_int_equal(ha_alerts_due(&a, STALE / 2 + 1), BIT(HA_ALERT_STATEFILE_APPROACHING));
	assert_true(ha_alerts_next_deadline(&a) == STALE + 1);
	/* The stall ends; the storage episode goes on. */
	ha_alerts_set(&a, NOSTORE, STALE);
	assert_int_equal(ha_alerts_due(&a, STALE + 1), BIT(HA_ALERT_STATEFILE_LOST));
	assert_true(ha_alerts_next_deadline(&a) == HA_ALERTS_NONE);
	/* Storage back, stalled again. */
	regain(&a, LV_ALERT_STALLED, 2 * DECIDE);
	assert_int_equal(ha_alerts_due(&a, 3 * DECIDE), BIT(HA_ALERT_HEARTBEAT_APPROACHING));
}

static void
test_latched(void **state)
{
	struct ha_alerts a;

	/* The bit without the loss (a round keeps it latched): nothing. */
	started(&a);
	ha_alerts_set(&a, NOSTORE, 100);
	assert_true(ha_alerts_since(&a, HA_ALERT_STATEFILE_LOST) == HA_ALERTS_NONE);
	assert_int_equal(ha_alerts_due(&a, 100 * STALE), 0);
	assert_true(ha_alerts_next_deadline(&a) == HA_ALERTS_NONE);
	/* The access goes too: the episode starts then. */
	ha_alerts_access(&a, 0, 5000);
	assert_true(ha_alerts_since(&a, HA_ALERT_STATEFILE_LOST) == 5000);
	/* Back before the threshold (the bit still latched): it ends. */
	ha_alerts_access(&a, 1, 5000 + STALE / 4);
	assert_true(ha_alerts_since(&a, HA_ALERT_STATEFILE_LOST) == HA_ALERTS_NONE);
	assert_int_equal(ha_alerts_due(&a, 100 * STALE), 0);
	/* No access and no bit (the engine's view of a passing gap): nothing. */
	ha_alerts_set(&a, 0, 200000);
	ha_alerts_access(&a, 0, 200000);
	assert_int_equal(ha_alerts_due(&a, 300000), 0);
}

static void
test_startup(void **state)
{
	struct ha_alerts a;

	/* Start-up: the access is being established; a slow start is no loss. */
	ha_alerts_init(&a, STALE, DECIDE);
	ha_alerts_access(&a, 0, 0);
	ha_alerts_set(&a, NOSTORE | LV_ALERT_STALLED, 10);
	ha_alerts_access(&a, 0, 10);
	assert_true(ha_alerts_since(&a, HA_ALERT_STATEFILE_LOST) == 10);
	assert_int_equal(ha_alerts_due(&a, 10 + STALE + 1), 0);
	assert_true(ha_alerts_next_deadline(&a) == 10 + DECIDE / 2 + 1); /* the stall */
	assert_int_equal(ha_alerts_due(&a, 10 + DECIDE / 2 + 1),
	                 BIT(HA_ALERT_HEARTBEAT_APPROACHING));
	assert_true(ha_alerts_next_deadline(&a) == 10 + DECIDE + STALE + 1);
	assert_int_equal(ha_alerts_due(&a, 10 + DECIDE + STALE), 0);
	/* A start that never reaches the statefile says so, once. */
	assert_int_equal(ha_alerts_due(&a, 10 + DECIDE + STALE + 1), BIT(HA_ALERT_STATEFILE_LOST));
	assert_int_equal(ha_alerts_due(&a, 10 * DECIDE), 0);
	/* Access at last; a later loss is a normal episode. */
	regain(&a, 0, 100000);
	lose(&a, 0, 200000);
	assert_int_equal(ha_alerts_due(&a, 200000 + STALE / 2 + 1),
	                 BIT(HA_ALERT_STATEFILE_APPROACHING));
	assert_int_equal(ha_alerts_due(&a, 200000 + STALE + 1), BIT(HA_ALERT_STATEFILE_LOST));

	/* A normal start: access within a few cycles, nothing raised. */
	ha_alerts_init(&a, STALE, DECIDE);
	ha_alerts_set(&a, NOSTORE, 0);
	ha_alerts_access(&a, 0, 0);
	assert_int_equal(ha_alerts_due(&a, 3 * STALE), 0);
	regain(&a, 0, 3 * STALE);
	assert_int_equal(ha_alerts_due(&a, 100 * STALE), 0);
}

static void
test_host_failed(void **state)
{
	/* Only the master raises, about the lost hosts, never about itself. */
	assert_true(ha_alerts_host_failed(0x4, 0, 0) == 0x4);
	assert_true(ha_alerts_host_failed(0x4, 0, 1) == 0);
	assert_true(ha_alerts_host_failed(0x4, -1, 0) == 0);
	assert_true(ha_alerts_host_failed(0, 1, 1) == 0);
	assert_true(ha_alerts_host_failed(0x7, 1, 1) == 0x5);
	assert_true(ha_alerts_host_failed((uint64_t)1 << 63, 2, 2) == (uint64_t)1 << 63);
	assert_true(ha_alerts_host_failed(~(uint64_t)0, 63, 63) == ~(uint64_t)0 >> 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defs),
	    cmocka_unit_test(test_nothing_without_bits),
	    cmocka_unit_test(test_statefile_episode),
	    cmocka_unit_test(test_statefile_late_poll),
	    cmocka_unit_test(test_heartbeat_episode),
	    cmocka_unit_test(test_independent),
	    cmocka_unit_test(test_latched),
	    cmocka_unit_test(test_startup),
	    cmocka_unit_test(test_host_failed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
