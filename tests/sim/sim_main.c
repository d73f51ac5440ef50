/*
** hasvc-sim: the deterministic simulator's command line (docs/simulator.md).
**
**   hasvc-sim SCENARIO          print the timeline; exit 0 if no invariant
**                               broke and every `expect` held, 1 otherwise,
**                               2 on a bad scenario or usage
**   hasvc-sim --seeds N [--from S] [--quiet]
**                               run N random schedules and print figures
**   hasvc-sim --seed S --trace  replay one random schedule with its timeline
**   hasvc-sim ... --cpg safe|agreed
**                               random schedules with that CPG delivery
**                               (default agreed; a scenario says `cpg`)
**   hasvc-sim ... --mutant early-dead|no-incarnation
**                               a broken executor input (FO_EV_HOST_DEAD at
**                               the SURVIVE), or targets that ignore
**                               incarnations: I1/I2 must catch it
**   hasvc-sim --seeds N --until-unsafe
**                               stop at the first schedule that breaks a
**                               safety invariant (I1..I4): exit 1 and print
**                               it, else exit 0 (tests/sim/mutant.sh)
**
** `hasvc simulate ARGS` runs this program.
*/
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "heartbeat/liveness.h"
#include "tests/sim/sim.h"

static int
usage(void)
{
	fprintf(stderr, "usage: hasvc-sim SCENARIO-FILE\n"
	                "       hasvc-sim --seeds N [--from S] [--quiet] [--until-unsafe]"
	                " [--cpg safe|agreed]\n"
	                "       hasvc-sim --seed S [--trace] [--cpg safe|agreed]\n"
	                "       hasvc-sim ... --mutant early-dead|no-incarnation"
	                "   (tests/sim/mutant.sh)\n"
	                "       hasvc-sim --timing T [fast|conservative]\n");
	return 2;
}

/* --timing T [PROFILE]: the timers lv_timing_derive() gives for the timeout
** T and the two failure -> safe-to-restart bounds docs/protocol.md quotes
** (bench/liveness.sh prints them beside the simulator's figures). */
static int
print_timing(const char *ts, const char *ps)
{
	struct lv_timing t;
	char err[200], *end;
	unsigned long v = strtoul(ts, &end, 10);
	int p = ps != NULL ? lv_profile_parse(ps) : LV_PROFILE_FAST;
	uint32_t io;

	if (*ts == '\0' || *end != '\0' || v > 100000 || p < 0)
		return usage();
	if (lv_timing_derive((unsigned)v, (enum lv_profile)p, &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "hasvc-sim: %s\n", err);
		return 2;
	}
	io = t.cycle_ms + 2 * t.io_deadline_ms;
	printf("timeout %lu s (%s): token %u ms, cycle %u ms, io deadline %u ms, stale %u ms, "
	       "fresh %u ms, decide %u ms, watchdog %u ms, restart %u ms\n",
	       v, lv_profile_name(p), t.token_ms, t.cycle_ms, t.io_deadline_ms, t.stale_ms,
	       t.fresh_ms, t.decide_ms, t.wd_ms, t.restart_ms);
	printf("power-off bound %u ms\n", t.ping_ms / 2 + t.restart_ms);
	printf("partition bound %u ms\n", t.ring_ms + 2 * io + t.fence_restart_ms);
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void
print_stats(struct sim_stats *st)
{
	static const char *const rs[] = {
	    "none", "no-partition", "quorate", "won", "lost", "not-quorate", "no-storage",
	    "await-verdict", "publishing", "await-hosts", "inconsistent", "outdated", "deadline",
	    "confirming", "preempted", "adopted",
	};

	printf("schedules run:      %" PRIu64 "\n", st->runs);
	printf("virtual time:       %" PRIu64 " s (%.1f h)\n", st->virt_ms / 1000,
	       (double)st->virt_ms / 3.6e6);
	printf("events, steps:      %" PRIu64 ", %" PRIu64 " engine steps\n", st->events, st->steps);
	printf("faults exercised:  ");
	for (int k = 0; k < SS__N; k++)
		printf(" %s %" PRIu64 "%s", sim_stat_fault_name(k), st->faults[k],
		       k + 1 < SS__N ? "," : "\n");
	printf("survive decisions: ");
	for (int r = 0; r < 16; r++)
		if (st->survive[r])
			printf(" %s %" PRIu64, rs[r], st->survive[r]);
	printf("\nfence decisions:   ");
	for (int r = 0; r < 16; r++)
		if (st->fence[r])
			printf(" %s %" PRIu64, rs[r], st->fence[r]);
	printf("\nhost resets:        %" PRIu64 " (fence or watchdog)\n", st->resets);
	printf("VM restarts:        %" PRIu64 " (starts that did not fit: %" PRIu64 ", "
	       "restart-failed alerts: %" PRIu64 ")\n", st->restarts, st->start_failed, st->alerts);
	printf("executors:          %" PRIu64 " steps, %" PRIu64 " writes, %" PRIu64
	       " edits skipped (precondition), %" PRIu64 " sent while one was in flight\n",
	       st->fo_steps, st->fo_writes, st->fo_skipped_edits, st->fo_overlap);
	printf("I-restart windows:  %" PRIu64 " checked, %" PRIu64 " not (capacity, faults)\n",
	       st->restart_checked, st->restart_excused);
	if (st->ndelay > 0) {
		qsort(st->delay, st->ndelay, sizeof(*st->delay), cmp_u64);
		printf("power-off -> VM restarted: median %.3f s, max %.3f s (seed %" PRIu64
		       "), %zu VMs\n",
		       (double)st->delay[st->ndelay / 2] / 1000,
		       (double)st->delay[st->ndelay - 1] / 1000, st->max_delay_seed, st->ndelay);
	} else {
		printf("power-off -> VM restarted: none\n");
	}
	printf("violations:         %" PRIu64 "\n", st->violations);
}

static int cpg_mode = -1; /* --cpg: for random schedules; -1: theirs */
static int mutant;        /* --mutant early-dead|no-incarnation (tests/sim/mutant.sh) */

static int
run_seeds(uint64_t from, uint64_t count, int quiet, int until_unsafe)
{
	struct sim_stats st;
	struct sim_result res;
	struct sim_spec sp;
	char err[256];
	uint64_t bad = 0;

	memset(&st, 0, sizeof(st));
	for (uint64_t s = from; s < from + count; s++) {
		sim_spec_random(s, &sp);
		if (cpg_mode >= 0)
			sp.cpg = cpg_mode;
		sp.mutant = mutant;
		if (sim_run(&sp, NULL, &st, &res, err, sizeof(err)) < 0) {
			fprintf(stderr, "hasvc-sim: seed %" PRIu64 ": %s\n", s, err);
			return 2;
		}
		if (until_unsafe) {
			if (res.unsafe == 0)
				continue;
			printf("UNSAFE seed %" PRIu64 " (after %" PRIu64 " schedules): %s\n",
			       s, s - from + 1, res.first_unsafe);
			printf("  replay: hasvc-sim --seed %" PRIu64 " --trace\n", s);
			free(st.delay);
			return 1;
		}
		if (res.violations > 0) {
			bad++;
			printf("FAIL seed %" PRIu64 ": %s\n  replay: hasvc-sim --seed %" PRIu64
			       " --trace\n", s, res.first, s);
			fflush(stdout);
		} else if (!quiet && (s - from + 1) % 1000 == 0) {
			fprintf(stderr, "hasvc-sim: %" PRIu64 " schedules\n", s - from + 1);
		}
	}
	print_stats(&st);
	free(st.delay);
	if (bad)
		printf("%" PRIu64 " schedule(s) broke an invariant\n", bad);
	return bad ? 1 : 0;
}

int
main(int argc, char **argv)
{
	struct sim_spec sp;
	struct sim_result res;
	struct sim_stats st;
	char err[512];
	uint64_t seeds = 0, from = 1, seed = 0;
	int quiet = 0, trace = 0, have_seed = 0, until_unsafe = 0, rc;
	const char *file = NULL;

	if (argc >= 3 && strcmp(argv[1], "--timing") == 0)
		return print_timing(argv[2], argc > 3 ? argv[3] : NULL);
	for (int i = 1; i < argc; i++) {
		char *end;
		if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) {
			seeds = strtoull(argv[++i], &end, 10);
			if (*end || seeds == 0)
				return usage();
		} else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
			from = strtoull(argv[++i], &end, 10);
			if (*end)
				return usage();
		} else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
			seed = strtoull(argv[++i], &end, 10);
			if (*end)
				return usage();
			have_seed = 1;
		} else if (strcmp(argv[i], "--quiet") == 0) {
			quiet = 1;
		} else if (strcmp(argv[i], "--cpg") == 0 && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "safe") == 0)
				cpg_mode = SIM_CPG_SAFE;
			else if (strcmp(argv[i], "agreed") == 0)
				cpg_mode = SIM_CPG_AGREED;
			else
				return usage();
		} else if (strcmp(argv[i], "--mutant") == 0 && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "early-dead") == 0)
				mutant = SIM_MUT_EARLY_DEAD;
			else if (strcmp(argv[i], "no-incarnation") == 0)
				mutant = SIM_MUT_NO_INCARNATION;
			else
				return usage();
		} else if (strcmp(argv[i], "--until-unsafe") == 0) {
			until_unsafe = 1;
		} else if (strcmp(argv[i], "--trace") == 0) {
			trace = 1;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage();
			return 0;
		} else if (argv[i][0] != '-' && file == NULL) {
			file = argv[i];
		} else {
			return usage();
		}
	}
	if (seeds > 0)
		return file || have_seed ? usage() : run_seeds(from, seeds, quiet, until_unsafe);
	if (have_seed == (file != NULL))
		return usage();
	if (have_seed) {
		sim_spec_random(seed, &sp);
		if (cpg_mode >= 0)
			sp.cpg = cpg_mode;
	} else if (sim_spec_parse(file, &sp, err, sizeof(err)) < 0) {
		fprintf(stderr, "hasvc-sim: %s\n", err);
		return 2;
	}
	memset(&st, 0, sizeof(st));
	sp.mutant = mutant;
	rc = sim_run(&sp, have_seed && !trace ? NULL : stdout, &st, &res, err, sizeof(err));
	free(st.delay);
	if (rc < 0) {
		fprintf(stderr, "hasvc-sim: %s\n", err);
		return 2;
	}
	if (have_seed && !trace)
		printf("seed %" PRIu64 ": %u violation(s)%s%s\n", seed, res.violations,
		       res.violations ? ": " : "", res.first);
	return res.violations || res.expects_failed ? 1 : 0;
}
