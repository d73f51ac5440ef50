/*
** The liveness protocol's timers, all derived from one admin-facing number:
** XAPI's ha_configuration:timeout T (seconds).  docs/protocol.md, "Timing
** derivation", states every formula and proves the inequalities that
** lv_timing_check() tests; the two must stay in step.
**
** Everything is in milliseconds of a host's own CLOCK_MONOTONIC.  Clocks of
** different hosts are never compared; their rates may differ by at most
** drift_ppm parts per million from real time, and every bound that one
** host computes about another multiplies by (1 + 2 rho) where it must.
**
** Profiles:
**   LV_PROFILE_FAST          the default: failure -> safe to restart in a few
**                            seconds on a healthy network and storage;
**   LV_PROFILE_CONSERVATIVE  storage with slow multipath failover: an I/O
**                            may take tens of seconds without costing the
**                            host its "continuous access".
*/
#ifndef HASVC_HEARTBEAT_LV_TIMING_H
#define HASVC_HEARTBEAT_LV_TIMING_H

#include <stddef.h>
#include <stdint.h>

enum lv_profile {
	LV_PROFILE_FAST = 0,
	LV_PROFILE_CONSERVATIVE = 1,
};

#define LV_TIMEOUT_MIN_S 5    /* XAPI accepts smaller; we refuse what cannot be safe */
#define LV_TIMEOUT_MAX_S 3600

struct lv_timing {
	/* corosync (rendered into corosync.conf; heartbeat/corosync_conf.h) */
	uint32_t token_ms;     /* K: token loss timeout = cc_token_ms(T) */
	uint32_t consensus_ms; /* C: corosync's default, 1.2 K */
	uint32_t ring_ms;      /* D: fault -> every host of a component has its new ring */
	/* statefile */
	uint32_t cycle_ms;       /* c: one slot write then one full read, every c */
	uint32_t io_deadline_ms; /* d: deadline of each statefile request */
	uint32_t gap_ms;         /* T_gap: continuous access tolerates this between successes */
	uint32_t stale_ms;       /* T_stale: a slot that has not advanced for this long is stale */
	/* CPG */
	uint32_t ping_ms;   /* p: a host multicasts a PING every p */
	uint32_t fresh_ms;  /* S: rule 1 holds only while a stable PING of mine was sent within S */
	uint32_t deliver_ms; /* delta: a verdict reaches the members of a stable ring within this */
	/* the round */
	uint32_t decide_ms; /* T_decide: a round that has not decided by t_change + T_decide fences */
	uint32_t rewait_ms; /* a component that grew during a round waits this long (= T_stale) */
	/* the watchdog */
	uint32_t wd_ms;  /* W: the watchdog fires W after the last pet (whole seconds) */
	uint32_t pet_ms; /* pet period: W / 4 */
	uint32_t drift_ppm; /* rho: bound on clock-rate error, ppm (100 = 1e-4) */
	/* results */
	uint32_t fence_restart_ms; /* after a fence record is first seen: safe to restart */
	uint32_t restart_ms;       /* after my round's t_change, a lost host with no fence
	                           ** record is dead: docs/protocol.md, "Dead before restart" */
};

/* Fill *t for `timeout_s` (LV_TIMEOUT_MIN_S..LV_TIMEOUT_MAX_S) and the
** profile.  0, or -1 with a sentence in err when the timeout is out of range. */
int lv_timing_derive(unsigned timeout_s, enum lv_profile profile, struct lv_timing *t, char *err,
                     size_t errlen);

/* Check the inequalities of docs/protocol.md (T1..T8) on *t, which may have
** been hand-edited (tests, the simulator).  0 if they all hold, else -1 with
** the first one that fails, named and with its numbers, in why. */
int lv_timing_check(const struct lv_timing *t, char *why, size_t whylen);

/* x * (1 + 2 rho), rounded up: a duration measured on one clock, made safe to
** wait for on another. */
uint64_t lv_timing_skew(const struct lv_timing *t, uint64_t x);

const char *lv_profile_name(int p); /* "fast", "conservative" */
int lv_profile_parse(const char *s); /* -1 if unknown */

#endif
