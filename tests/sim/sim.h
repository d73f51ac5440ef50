/*
** The deterministic simulator (DESIGN §4, docs/simulator.md): N hosts in one
** process on virtual time, each running the real liveness engine
** (heartbeat/liveness.h) against simulated corosync membership and CPG, a
** simulated statefile, watchdog and hypervisor, with injected faults.
**
** A run is described by a `struct sim_spec` (from a scenario file, script.c,
** or generated from a seed) and is a pure function of it: one PRNG seeded
** from spec.seed drives every random choice, and the event queue is ordered
** by (time, insertion number).  world.c runs it and checks the invariants
** after every event.
*/
#ifndef HASVC_TESTS_SIM_H
#define HASVC_TESTS_SIM_H

#include <stdint.h>
#include <stdio.h>

#define SIM_MAX_HOSTS  8
#define SIM_MAX_VMS    64
#define SIM_MAX_FAULTS 64
#define SIM_MAX_EXPECT 64
#define SIM_NEVER      UINT64_MAX

/* Faults and actions of a schedule (scenario `at TIME ACTION`). */
enum sim_fault_kind {
	SF_POWEROFF = 0,
	SF_POWERON,
	SF_PARTITION, /* group[] gives each host's side */
	SF_HEAL,      /* one side, no one-way loss */
	SF_ONEWAY,    /* host -> host2 lost */
	SF_DELAY,     /* extra CPG delay `ms` (0: none) */
	SF_STORAGE,   /* host (-1: all) storage `mode` (enum sim_storage) */
	SF_HANG,      /* daemon of host hung for `ms` */
	SF_VMSTART,   /* mode 1: slow VM starts, 0: normal */
	SF_SKEW,      /* host's clock rate error set to `ppm` */
	SF_CPGSTALL,  /* host's corosync frozen for `ms` (token held) */
	SF_RESTART,   /* daemon of host killed, restarted after `ms`; its watchdog
	              ** keeper pets on until the engine's last lease */
	SF_DBDELAY,   /* the executors' writes sent from now on apply `ms` later
	              ** (0: no more): a master's dead-host write that is late */
	SF__N
};

enum sim_storage { SIM_ST_OK = 0, SIM_ST_ERROR, SIM_ST_HANG, SIM_ST_SLOW };

struct sim_fault {
	uint64_t at; /* ms of virtual real time */
	int kind;
	int host, host2;
	int mode;
	int32_t ppm;
	uint64_t ms;
	uint8_t group[SIM_MAX_HOSTS];
};

enum sim_expect_kind {
	SX_ALIVE = 0, /* exactly these hosts are powered */
	SX_FENCED,    /* exactly these hosts decided to fence (so far) */
	SX_MASTER,    /* every survivor reports this master */
	SX_SURVIVORS, /* exactly these hosts are powered, in the pool and not fenced */
	SX_RESTARTED, /* this many VM restarts so far */
	SX_LIVE,      /* exactly these hosts run engines steady in the pool with exactly
	              ** these hosts as their liveset (a rejoined host among them) */
};

struct sim_expect {
	uint64_t at; /* SIM_NEVER: at the end of the run */
	int kind;
	uint64_t hosts;
	int value;
	int line;
	char text[96]; /* as written, for the trace */
};

/* One VM of a scenario (`vm` lines) or a random schedule: it runs on `home`
** from the start.  Priorities as XAPI's: restart (protected: restart and
** ha_always_run), best-effort, none. */
enum sim_prio { SIM_PRIO_RESTART = 0, SIM_PRIO_BEST_EFFORT, SIM_PRIO_NONE };

struct sim_vmspec {
	int home;
	uint32_t mem_mb;
	uint32_t vcpus;
	int prio;          /* enum sim_prio */
	int order;         /* restart order group */
	uint32_t delay_s;  /* start_delay: the next group waits for it */
};

#define SIM_HOST_MEM_MB 65536 /* a host's memory unless `hostmem` says */
#define SIM_VM_MEM_MB   1024  /* a VM's unless its `vm` line says */

enum sim_fence_mode { SIM_FENCE_WATCHDOG = 0, SIM_FENCE_IMMEDIATE, SIM_FENCE_RANDOM };

/* CPG delivery (docs/simulator.md, "CPG"): safe (all members of the ring at
** once, or nobody) or agreed (corosync's: the sender at once, each other
** member after its latency; at a break, in-flight messages go to the
** sender's side only). */
enum sim_cpg { SIM_CPG_SAFE = 0, SIM_CPG_AGREED };

struct sim_spec {
	unsigned n;
	unsigned timeout_s;
	int profile; /* enum lv_profile */
	int statefile;
	uint32_t weight[SIM_MAX_HOSTS];
	int preferred;
	unsigned vms; /* per host */
	uint64_t seed;
	int fence_mode;
	int cpg;            /* enum sim_cpg: scenarios safe, random schedules agreed */
	int random_offsets; /* random clock offsets per host (else 0) */
	uint64_t run_ms;    /* 0: last fault or expect + 30 s */
	uint64_t reboot_ms; /* a host reset by a fence or its watchdog boots again this
	                    ** long after (0: it stays off until a power on) */
	struct sim_fault fault[SIM_MAX_FAULTS];
	unsigned nfaults;
	struct sim_expect expect[SIM_MAX_EXPECT];
	unsigned nexpect;
	uint32_t host_mem_mb[SIM_MAX_HOSTS]; /* 0: SIM_HOST_MEM_MB */
	struct sim_vmspec vm[SIM_MAX_VMS];   /* nvm > 0: these VMs (else `vms` per host, */
	unsigned nvm;                        /* protected, order 0, SIM_VM_MEM_MB) */
	int mutant;                          /* a broken participant (sim_main --mutant) */
};

/* Mutants (tests/sim/mutant.sh): the simulator, not the code under test, is
** broken on purpose, to show the invariants catch it. */
enum sim_mutant {
	SIM_MUT_NONE = 0,
	SIM_MUT_EARLY_DEAD, /* the executor takes a host lost from the liveset for
	                    ** certainly dead (FO_EV_HOST_DEAD at the SURVIVE, not at
	                    ** LV_ACT_HOST_DEAD): it halts and requeues the VMs of a
	                    ** host that may still run them (I1/I2 must catch it) */
	SIM_MUT_NO_INCARNATION, /* targets without incarnations (the old core): no
	                        ** INCARNATE write, a START ISSUED here started
	                        ** whoever it was issued to, a VM Running here
	                        ** without a domain restarted directly (no claim);
	                        ** a host rebooted and admitted before its dead-host
	                        ** write lands runs its VMs twice (I1/I2) */
};

/* Counters over runs (hasvc-sim --seeds prints them). */
enum sim_stat_fault {
	SS_POWEROFF = 0, SS_POWERON, SS_PARTITION, SS_HEAL, SS_ONEWAY, SS_DELAY,
	SS_ST_ERROR, SS_ST_HANG, SS_ST_SLOW, SS_ST_OK, SS_HANG_SHORT, SS_HANG_LONG,
	SS_SKEW, SS_VMSLOW, SS_CPGSTALL, SS_RESTART, SS__N
};

struct sim_stats {
	uint64_t runs, virt_ms, events, steps;
	uint64_t faults[SS__N];
	uint64_t survive[16], fence[16]; /* by enum ls_reason */
	uint64_t restarts, resets, host_dead;
	uint64_t fo_steps, fo_writes, fo_skipped_edits, start_failed, alerts;
	uint64_t fo_overlap; /* executor writes sent while its previous one was in flight */
	uint64_t restart_checked, restart_excused; /* I-restart windows checked / not */
	uint64_t violations, expects_failed;
	uint64_t *delay; /* power-off -> VM restarted, ms */
	size_t ndelay, capdelay;
	uint64_t max_delay, max_delay_seed; /* the slowest, and its schedule */
};

struct sim_result {
	unsigned violations;
	unsigned expects_failed;
	char first[256]; /* the first violation, a sentence */
	unsigned unsafe;        /* violations of I1..I4 (safety; I5 is about needless fences) */
	char first_unsafe[256]; /* the first of those */
};

/* Run `spec`; the timeline goes to `trace` (NULL: none); counters are added
** to *st (may be NULL).  Returns -1 with err if the spec cannot run (bad
** timing, hosts out of range), else 0 with *res filled. */
int sim_run(const struct sim_spec *spec, FILE *trace, struct sim_stats *st, struct sim_result *res,
            char *err, size_t errlen);

/* script.c */
void sim_spec_default(struct sim_spec *spec);
/* Parse a scenario file; -1 with "FILE:LINE: reason" in err. */
int sim_spec_parse(const char *path, struct sim_spec *spec, char *err, size_t errlen);
/* The random schedule of `seed` (docs/simulator.md, "Random schedules"). */
void sim_spec_random(uint64_t seed, struct sim_spec *spec);
const char *sim_stat_fault_name(int k);

/* The one PRNG (splitmix64). */
static inline uint64_t
sim_rand64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t
sim_rand(uint64_t *s, uint64_t n) /* 0..n-1; n > 0 */
{
	return sim_rand64(s) % n;
}

#endif
