/*
** place: the pure failover planner (DESIGN §6).  No I/O, no globals, no clock:
** every function is a deterministic function of its arguments.
**
** Model.  A pool is an array of hosts and an array of VMs, referred to by
** index.  Host sets are uint64_t bitmasks (bit h = host index h), so a pool
** has at most PLACE_MAX_HOSTS = 64 hosts; anti-affinity groups are a uint64_t
** mask too (at most 64 groups).
**
**   host  free memory = mem_total - mem_overhead - sum(mem of VMs resident on
**         it, any priority); vCPU room = cpus * vcpu_ratio_pct / 100 - sum(vcpus
**         of VMs resident on it).  A host is a failover target only if usable
**         (enabled && live).
**   VM    mem = static max + overhead (bytes); prio PROTECTED (restart &&
**         ha_always_run), BEST_EFFORT or UNPROTECTED; host = resident host or
**         PLACE_NONE; groups = anti-affinity groups; allowed = the hosts it may
**         run on.  A VM is *agile* if allowed covers every usable host, else
**         *pinned*.
**
** Plan for a failure set F (a subset of the usable hosts).  Survivors = usable
** hosts not in F.  Running VMs on survivors never move.  Every VM that is not
** running on a survivor (resident on F, on an unusable host, or halted) and is
** PROTECTED must be placed on an allowed survivor within memory and vCPU room,
** except that a *pinned* VM none of whose allowed hosts survives is *excused*
** (reported, it does not make the plan fail: a local-disk VM cannot restart
** elsewhere, and unlike xapi that must not zero the whole plan).  An agile VM
** is never excused, so a pool whose every host fails has no plan while it has
** protected VMs.  BEST_EFFORT VMs are then placed where room remains; they never
** decide existence.
**
** Anti-affinity is SOFT by default (as xapi: best-effort spreading): plan
** existence ignores it, and place_plan() returns a plan that puts no two VMs of
** one group on one host (counting VMs already running there) whenever it can
** find one within half the budget, else a plan that spreads greedily.  With
** pool.aa_hard it is a constraint of existence.
**
** Budget.  Searches count nodes; when the budget runs out the answer is
** PLACE_UNDECIDED, never YES without a proof (a packing in hand for
** place_plan, a packing or the capacity bound for place_ntol) nor NO without
** one (a finished search or a violated capacity sum).
*/
#ifndef HASVC_PLACEMENT_PLACE_H
#define HASVC_PLACEMENT_PLACE_H

#include <stdbool.h>
#include <stdint.h>

#define PLACE_MAX_HOSTS 64
#define PLACE_NONE      (-1)

enum place_prio { PLACE_UNPROTECTED, PLACE_BEST_EFFORT, PLACE_PROTECTED };

struct place_host {
	uint64_t mem_total;
	uint64_t mem_overhead;
	uint32_t cpus;
	bool usable; /* enabled && live */
};

struct place_vm {
	uint64_t mem; /* static max + overhead, bytes */
	uint32_t vcpus;
	int host; /* resident host index, or PLACE_NONE */
	enum place_prio prio;
	int order;        /* restart order group, carried through for callers */
	uint64_t groups;  /* anti-affinity group mask */
	uint64_t allowed; /* hosts it may run on */
};

struct place_pool {
	int nhosts; /* 0..PLACE_MAX_HOSTS */
	const struct place_host *hosts;
	int nvms;
	const struct place_vm *vms;
	uint32_t vcpu_ratio_pct; /* vCPU overcommit, 100 = one vCPU per pCPU */
	bool aa_hard;            /* anti-affinity decides existence */
};

enum place_verdict { PLACE_YES, PLACE_NO, PLACE_UNDECIDED };

/* What a plan says about one VM. */
enum place_fate {
	PLACE_F_STAYS,   /* keeps running where it is, or unprotected and down */
	PLACE_F_PLACED,  /* restarts on target[] */
	PLACE_F_EXCUSED, /* pinned, and none of its allowed hosts survives */
	PLACE_F_NO_ROOM, /* needed a host and got none (best-effort, or no plan) */
};

/* A plan; arrays of pool.nvms entries, owned by the struct. */
struct place_plan {
	enum place_verdict verdict;
	int nvms;
	int *target; /* host index for PLACE_F_PLACED, else PLACE_NONE */
	enum place_fate *fate;
	bool spread; /* no protected VM placed where a VM of its group runs or
	             ** was placed before it (best-effort VMs may breach soft
	             ** anti-affinity; they are placed after the protected ones) */
	long nodes;  /* search nodes spent */
};

struct place_plan *place_plan_new(int nvms);
void place_plan_free(struct place_plan *p);

/*
** Plan the failure of the usable hosts in failed (other bits ignored) with at
** most budget search nodes (budget <= 0 means 1).  Fills out (sized for
** pool->nvms) and returns out->verdict.  YES: every protected VM needing a host
** is PLACED or EXCUSED, and the assignment is valid.  NO: proven impossible.
** UNDECIDED: budget exhausted; protected VMs are then NO_ROOM.
*/
enum place_verdict place_plan(const struct place_pool *pool, uint64_t failed, long budget,
                              struct place_plan *out);

/* Free memory and vCPU room of host h as defined above (may be negative). */
void place_host_room(const struct place_pool *pool, int h, int64_t *mem, int64_t *cpu);

/*
** ntol = the largest k such that every failure set of at most k usable hosts
** has a plan (ignoring soft anti-affinity); -1 when even the current state has
** no plan (a halted protected VM fits nowhere).  "At most" because excusing
** pinned VMs makes the per-k question non-monotone; the guarantee an admin
** wants is "up to k failures".
**
** exact: ntol is proven: every set of size <= ntol has a plan (by a
** capacity bound or by a packing for each set up to host symmetry), and, unless
** ntol == usable hosts, the set in witness has none (NO, proven).  Otherwise
** ntol is a sound lower bound: the budget ran out, or too many sets.  An
** UNDECIDED set always counts as not tolerated.
*/
struct place_ntol {
	int ntol;
	bool exact;
	int upper;        /* proven: ntol <= the true answer <= upper (== ntol if exact) */
	uint64_t witness; /* a failure set of size upper + 1 with no plan, if upper
	                  ** < usable hosts (and of size ntol + 1 when exact) */
	int seq;          /* proven sequential guarantee, <= ntol: any seq failures one
	                  ** after another, each restarted by ANY valid placement that
	                  ** keeps the earlier ones, always leave a plan (0 when nothing
	                  ** beyond the current state is proven; ntol if ntol < 0) */
	long nodes;       /* search nodes spent */
	long sets;        /* failure sets planned explicitly */
};

void place_ntol(const struct place_pool *pool, long budget, struct place_ntol *out);

/*
** The plan for each single usable host failure, so that failover never waits
** for planning: out[h] (an array of pool->nhosts pointers, each from
** place_plan_new(pool->nvms)) gets place_plan(pool, 1 << h, budget); entries of
** unusable hosts get verdict YES with every VM STAYS.
*/
void place_single_failure_plans(const struct place_pool *pool, long budget,
                                struct place_plan **out);

/*
** Check plan p for failure set failed independently of the search: capacities,
** allowed hosts, excuses, hard anti-affinity when pool->aa_hard.  Returns 0 if
** p is a valid YES plan, -1 otherwise.  Used by tests and benchmarks.
*/
int place_plan_check(const struct place_pool *pool, uint64_t failed, const struct place_plan *p);

#endif
