/*
** Schedules for the simulator: the scenario language (docs/simulator.md,
** "Scenario files") and the random schedule of a seed.  A parsed or
** generated schedule is a plain `struct sim_spec`; world.c runs it.
*/
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "heartbeat/liveness.h"
#include "lib/check.h"
#include "tests/sim/sim.h"

static const char *const stat_fault_names[SS__N] = {
    [SS_POWEROFF] = "power off",       [SS_POWERON] = "power on",
    [SS_PARTITION] = "partition",      [SS_HEAL] = "heal",
    [SS_ONEWAY] = "one-way loss",      [SS_DELAY] = "CPG delay",
    [SS_ST_ERROR] = "storage error",   [SS_ST_HANG] = "storage hang",
    [SS_ST_SLOW] = "storage slow",     [SS_ST_OK] = "storage ok",
    [SS_HANG_SHORT] = "daemon hang < W", [SS_HANG_LONG] = "daemon hang >= W",
    [SS_SKEW] = "skewed clocks",        [SS_VMSLOW] = "slow VM starts",
    [SS_CPGSTALL] = "corosync stall",   [SS_RESTART] = "daemon kill + restart",
};

const char *
sim_stat_fault_name(int k)
{
	return k >= 0 && k < SS__N ? stat_fault_names[k] : "?";
}

void
sim_spec_default(struct sim_spec *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->n = 3;
	sp->timeout_s = 10;
	sp->profile = LV_PROFILE_FAST;
	sp->statefile = 1;
	sp->preferred = -1;
	sp->vms = 2;
	sp->seed = 1;
	sp->fence_mode = SIM_FENCE_WATCHDOG;
	sp->random_offsets = 1;
}

/* ---- parsing ---- */

struct parser {
	const char *path;
	int line;
	char *err;
	size_t errlen;
	struct sim_spec *sp;
	char *tok[64];
	int ntok;
};

static int __attribute__((format(printf, 2, 3)))
perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int k = snprintf(p->err, p->errlen, "%s:%d: ", p->path, p->line);

	va_start(ap, fmt);
	if (k >= 0 && (size_t)k < p->errlen)
		vsnprintf(p->err + k, p->errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return -1;
}

static int
parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

/* "5s", "2500ms", "1.5s", "0" */
static int
parse_time(const char *s, uint64_t *ms)
{
	char *end;
	double v;

	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || v < 0 || v > 1e7)
		return -1;
	if (strcmp(end, "ms") == 0)
		*ms = (uint64_t)(v + 0.5);
	else if (strcmp(end, "s") == 0)
		*ms = (uint64_t)(v * 1000 + 0.5);
	else
		return -1;
	return 0;
}

static int
parse_host(struct parser *p, const char *s, int *h)
{
	uint64_t v;

	if (s[0] != 'h' || parse_uint(s + 1, SIM_MAX_HOSTS - 1, &v) < 0)
		return perr(p, "'%s' is not a host (h0, h1, ...)", s);
	if (v >= p->sp->n)
		return perr(p, "host %s is not in the pool (hosts %u; put `hosts` first)", s,
		            p->sp->n);
	*h = (int)v;
	return 0;
}

/* Hosts from tokens i.. (each may be "h0,h1"). */
static int
parse_hosts(struct parser *p, int i, uint64_t *set)
{
	*set = 0;
	for (; i < p->ntok; i++) {
		char buf[128], *save = NULL, *t;
		snprintf(buf, sizeof(buf), "%s", p->tok[i]);
		for (t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
			int h;
			if (parse_host(p, t, &h) < 0)
				return -1;
			*set |= LS_BIT(h);
		}
	}
	return 0;
}

static int
parse_expect(struct parser *p, int i, uint64_t at)
{
	struct sim_spec *sp = p->sp;
	struct sim_expect *x;
	size_t k = 0;

	if (i >= p->ntok)
		return perr(p, "expect what? (alive, fenced, master, survivors, live, restarted)");
	if (sp->nexpect == SIM_MAX_EXPECT)
		return perr(p, "too many expectations (max %d)", SIM_MAX_EXPECT);
	x = &sp->expect[sp->nexpect];
	memset(x, 0, sizeof(*x));
	x->at = at;
	x->line = p->line;
	for (int j = i; j < p->ntok && k < sizeof(x->text); j++)
		k += (size_t)snprintf(x->text + k, sizeof(x->text) - k, "%s%s", j > i ? " " : "",
		                      p->tok[j]);
	if (strcmp(p->tok[i], "alive") == 0 || strcmp(p->tok[i], "fenced") == 0 ||
	    strcmp(p->tok[i], "survivors") == 0 || strcmp(p->tok[i], "live") == 0) {
		x->kind = p->tok[i][0] == 'a' ? SX_ALIVE : p->tok[i][0] == 'f' ? SX_FENCED
		        : p->tok[i][0] == 's' ? SX_SURVIVORS : SX_LIVE;
		if (parse_hosts(p, i + 1, &x->hosts) < 0)
			return -1;
	} else if (strcmp(p->tok[i], "master") == 0) {
		x->kind = SX_MASTER;
		if (p->ntok != i + 2 || parse_host(p, p->tok[i + 1], &x->value) < 0)
			return p->ntok != i + 2 ? perr(p, "expect master hN") : -1;
	} else if (strcmp(p->tok[i], "restarted") == 0) {
		uint64_t v;
		x->kind = SX_RESTARTED;
		if (p->ntok != i + 2 || parse_uint(p->tok[i + 1], SIM_MAX_VMS, &v) < 0)
			return perr(p, "expect restarted N");
		x->value = (int)v;
	} else {
		return perr(p, "unknown expectation '%s' (alive, fenced, master, survivors, live, "
		            "restarted)",
		            p->tok[i]);
	}
	sp->nexpect++;
	return 0;
}

static int
parse_action(struct parser *p, uint64_t at)
{
	struct sim_spec *sp = p->sp;
	struct sim_fault *f;
	const char *a;

	if (p->ntok < 3)
		return perr(p, "at TIME ACTION");
	a = p->tok[2];
	if (strcmp(a, "expect") == 0)
		return parse_expect(p, 3, at);
	if (sp->nfaults == SIM_MAX_FAULTS)
		return perr(p, "too many actions (max %d)", SIM_MAX_FAULTS);
	f = &sp->fault[sp->nfaults];
	memset(f, 0, sizeof(*f));
	f->at = at;
	f->host = -1;
	if (strcmp(a, "poweroff") == 0 || strcmp(a, "poweron") == 0) {
		f->kind = strcmp(a, "poweroff") == 0 ? SF_POWEROFF : SF_POWERON;
		if (p->ntok != 4)
			return perr(p, "%s hN", a);
		if (parse_host(p, p->tok[3], &f->host) < 0)
			return -1;
	} else if (strcmp(a, "partition") == 0) {
		int g = 0, seen = 0;
		uint64_t listed = 0;
		f->kind = SF_PARTITION;
		for (int i = 3; i < p->ntok; i++) {
			char buf[128], *save = NULL, *t;
			snprintf(buf, sizeof(buf), "%s", p->tok[i]);
			for (t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
				int h;
				if (strcmp(t, "|") == 0) {
					g += seen;
					seen = 0;
					continue;
				}
				if (parse_host(p, t, &h) < 0)
					return -1;
				if (listed & LS_BIT(h))
					return perr(p, "h%d is on two sides", h);
				listed |= LS_BIT(h);
				f->group[h] = (uint8_t)g;
				seen = 1;
			}
		}
		g += seen;
		if (g < 1)
			return perr(p, "partition h0,h1 | h2 ...");
		for (unsigned h = 0; h < sp->n; h++)
			if (!(listed & LS_BIT(h)))
				f->group[h] = (uint8_t)g++; /* unlisted: alone */
	} else if (strcmp(a, "heal") == 0) {
		f->kind = SF_HEAL;
		if (p->ntok != 3)
			return perr(p, "heal takes no argument");
	} else if (strcmp(a, "oneway") == 0) {
		f->kind = SF_ONEWAY;
		if (p->ntok != 5)
			return perr(p, "oneway hA hB (messages from hA to hB are lost)");
		if (parse_host(p, p->tok[3], &f->host) < 0 || parse_host(p, p->tok[4], &f->host2) < 0)
			return -1;
		if (f->host == f->host2)
			return perr(p, "oneway needs two hosts");
	} else if (strcmp(a, "delay") == 0) {
		f->kind = SF_DELAY;
		if (p->ntok != 4 || parse_time(p->tok[3], &f->ms) < 0)
			return perr(p, "delay DURATION (extra CPG delay; 0 ends it)");
	} else if (strcmp(a, "storage") == 0) {
		static const char *const modes[] = {"ok", "error", "hang", "slow"};
		f->kind = SF_STORAGE;
		if (p->ntok != 5)
			return perr(p, "storage hN|all error|hang|slow|ok");
		if (strcmp(p->tok[3], "all") != 0 && parse_host(p, p->tok[3], &f->host) < 0)
			return -1;
		f->mode = -1;
		for (int m = 0; m < 4; m++)
			if (strcmp(p->tok[4], modes[m]) == 0)
				f->mode = m;
		if (f->mode < 0)
			return perr(p, "storage mode '%s': error, hang, slow or ok", p->tok[4]);
	} else if (strcmp(a, "hang") == 0) {
		f->kind = SF_HANG;
		if (p->ntok != 5)
			return perr(p, "hang hN DURATION");
		if (parse_host(p, p->tok[3], &f->host) < 0)
			return -1;
		if (parse_time(p->tok[4], &f->ms) < 0 || f->ms == 0)
			return perr(p, "bad duration '%s' (5s, 2500ms)", p->tok[4]);
	} else if (strcmp(a, "restart") == 0) {
		f->kind = SF_RESTART;
		if (p->ntok != 5)
			return perr(p, "restart hN DOWNTIME");
		if (parse_host(p, p->tok[3], &f->host) < 0)
			return -1;
		if (parse_time(p->tok[4], &f->ms) < 0)
			return perr(p, "bad downtime '%s' (5s, 2500ms)", p->tok[4]);
	} else if (strcmp(a, "cpgstall") == 0) {
		f->kind = SF_CPGSTALL;
		if (p->ntok != 5)
			return perr(p, "cpgstall hN DURATION");
		if (parse_host(p, p->tok[3], &f->host) < 0)
			return -1;
		if (parse_time(p->tok[4], &f->ms) < 0 || f->ms == 0)
			return perr(p, "bad duration '%s' (5s, 2500ms)", p->tok[4]);
	} else if (strcmp(a, "dbdelay") == 0) {
		f->kind = SF_DBDELAY;
		if (p->ntok != 4 || parse_time(p->tok[3], &f->ms) < 0)
			return perr(p, "dbdelay DURATION (executor writes apply that much later; 0 ends it)");
	} else if (strcmp(a, "vmstart") == 0) {
		f->kind = SF_VMSTART;
		if (p->ntok != 4 || (strcmp(p->tok[3], "slow") && strcmp(p->tok[3], "normal")))
			return perr(p, "vmstart slow|normal");
		f->mode = strcmp(p->tok[3], "slow") == 0;
	} else {
		return perr(p, "unknown action '%s'", a);
	}
	sp->nfaults++;
	return 0;
}

static int
parse_line(struct parser *p)
{
	struct sim_spec *sp = p->sp;
	const char *k = p->tok[0];
	uint64_t v;

	if (strcmp(k, "at") == 0) {
		if (p->ntok < 2 || parse_time(p->tok[1], &v) < 0)
			return perr(p, "at TIME ACTION (TIME like 5s, 2500ms)");
		return parse_action(p, v);
	}
	if (strcmp(k, "expect") == 0)
		return parse_expect(p, 1, SIM_NEVER);
	if (strcmp(k, "weights") == 0) {
		if (p->ntok != (int)sp->n + 1)
			return perr(p, "weights takes one weight per host (%u)", sp->n);
		for (int i = 1; i < p->ntok; i++) {
			if (parse_uint(p->tok[i], LS_WEIGHT_MAX, &v) < 0 || v == 0)
				return perr(p, "weight '%s': 1..%u", p->tok[i], LS_WEIGHT_MAX);
			sp->weight[i - 1] = (uint32_t)v;
		}
		return 0;
	}
	if (strcmp(k, "vm") == 0) { /* vm hN [mem MB] [prio P] [order K] [delay S] [vcpus N] */
		struct sim_vmspec *vm = &sp->vm[sp->nvm];
		if (p->ntok < 2 || p->ntok % 2 != 0 || sp->nvm == SIM_MAX_VMS)
			return perr(p, "vm hN [mem MB] [prio restart|best-effort|none] [order K] "
			            "[delay SECONDS] [vcpus N] (at most %d VMs)", SIM_MAX_VMS);
		memset(vm, 0, sizeof(*vm));
		vm->mem_mb = SIM_VM_MEM_MB;
		vm->vcpus = 1;
		if (parse_host(p, p->tok[1], &vm->home) < 0)
			return -1;
		for (int i = 2; i < p->ntok; i += 2) {
			const char *key = p->tok[i], *val = p->tok[i + 1];
			if (strcmp(key, "prio") == 0) {
				if (strcmp(val, "restart") == 0)
					vm->prio = SIM_PRIO_RESTART;
				else if (strcmp(val, "best-effort") == 0)
					vm->prio = SIM_PRIO_BEST_EFFORT;
				else if (strcmp(val, "none") == 0)
					vm->prio = SIM_PRIO_NONE;
				else
					return perr(p, "prio restart|best-effort|none");
			} else if (parse_uint(val, 1u << 20, &v) < 0) {
				return perr(p, "vm %s: a number, not '%s'", key, val);
			} else if (strcmp(key, "mem") == 0 && v > 0) {
				vm->mem_mb = (uint32_t)v;
			} else if (strcmp(key, "order") == 0) {
				vm->order = (int)v;
			} else if (strcmp(key, "delay") == 0) {
				vm->delay_s = (uint32_t)v;
			} else if (strcmp(key, "vcpus") == 0 && v > 0) {
				vm->vcpus = (uint32_t)v;
			} else {
				return perr(p, "vm: unknown or bad '%s %s'", key, val);
			}
		}
		sp->nvm++;
		return 0;
	}
	if (strcmp(k, "hostmem") == 0) { /* hostmem [hN] MB */
		int h = -1;
		if ((p->ntok != 2 && p->ntok != 3) ||
		    (p->ntok == 3 && parse_host(p, p->tok[1], &h) < 0) ||
		    parse_uint(p->tok[p->ntok - 1], 1u << 30, &v) < 0 || v == 0)
			return perr(p, "hostmem [hN] MB");
		for (unsigned x = 0; x < SIM_MAX_HOSTS; x++)
			if (h < 0 || (int)x == h)
				sp->host_mem_mb[x] = (uint32_t)v;
		return 0;
	}
	if (strcmp(k, "skew") == 0) { /* skew hN PPM: clock rate error from time 0 */
		struct sim_fault *f = &sp->fault[sp->nfaults];
		char *end;
		long ppm;
		if (p->ntok != 3 || sp->nfaults == SIM_MAX_FAULTS)
			return perr(p, "skew hN PPM");
		memset(f, 0, sizeof(*f));
		f->kind = SF_SKEW;
		if (parse_host(p, p->tok[1], &f->host) < 0)
			return -1;
		ppm = strtol(p->tok[2], &end, 10);
		if (*end || ppm < -1000 || ppm > 1000)
			return perr(p, "skew PPM: -1000..1000 (the engine's bound is drift_ppm)");
		f->ppm = (int32_t)ppm;
		sp->nfaults++;
		return 0;
	}
	if (p->ntok != 2)
		return perr(p, "unknown line (or wrong number of words): '%s'", k);
	if (strcmp(k, "hosts") == 0) {
		if (parse_uint(p->tok[1], SIM_MAX_HOSTS, &v) < 0 || v < 1)
			return perr(p, "hosts 1..%d", SIM_MAX_HOSTS);
		if (sp->nfaults || sp->nexpect)
			return perr(p, "`hosts` must come before any host is named");
		sp->n = (unsigned)v;
	} else if (strcmp(k, "timeout") == 0) {
		if (parse_uint(p->tok[1], LV_TIMEOUT_MAX_S, &v) < 0)
			return perr(p, "timeout SECONDS");
		sp->timeout_s = (unsigned)v;
	} else if (strcmp(k, "profile") == 0) {
		int pr = lv_profile_parse(p->tok[1]);
		if (pr < 0)
			return perr(p, "profile fast|conservative");
		sp->profile = pr;
	} else if (strcmp(k, "statefile") == 0) {
		if (strcmp(p->tok[1], "on") && strcmp(p->tok[1], "off"))
			return perr(p, "statefile on|off");
		sp->statefile = strcmp(p->tok[1], "on") == 0;
	} else if (strcmp(k, "preferred") == 0) {
		return parse_host(p, p->tok[1], &sp->preferred);
	} else if (strcmp(k, "vms") == 0) {
		if (parse_uint(p->tok[1], SIM_MAX_VMS, &v) < 0)
			return perr(p, "vms K");
		sp->vms = (unsigned)v;
	} else if (strcmp(k, "seed") == 0) {
		if (parse_uint(p->tok[1], UINT64_MAX, &sp->seed) < 0)
			return perr(p, "seed S");
	} else if (strcmp(k, "fence") == 0) {
		if (strcmp(p->tok[1], "immediate") == 0)
			sp->fence_mode = SIM_FENCE_IMMEDIATE;
		else if (strcmp(p->tok[1], "watchdog") == 0)
			sp->fence_mode = SIM_FENCE_WATCHDOG;
		else
			return perr(p, "fence immediate|watchdog");
	} else if (strcmp(k, "cpg") == 0) {
		if (strcmp(p->tok[1], "agreed") == 0)
			sp->cpg = SIM_CPG_AGREED;
		else if (strcmp(p->tok[1], "safe") == 0)
			sp->cpg = SIM_CPG_SAFE;
		else
			return perr(p, "cpg agreed|safe");
	} else if (strcmp(k, "reboot") == 0) {
		if (parse_time(p->tok[1], &sp->reboot_ms) < 0 || sp->reboot_ms == 0)
			return perr(p, "reboot DURATION (like 3s): a reset host boots again after it");
	} else if (strcmp(k, "run") == 0) {
		if (parse_time(p->tok[1], &sp->run_ms) < 0)
			return perr(p, "run DURATION (like 60s)");
	} else {
		return perr(p, "unknown line '%s'", k);
	}
	return 0;
}

int
sim_spec_parse(const char *path, struct sim_spec *sp, char *err, size_t errlen)
{
	struct parser p = {path, 0, err, errlen, sp, {0}, 0};
	char line[1024];
	FILE *f = fopen(path, "r");
	int rc = 0;

	sim_spec_default(sp);
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		char *hash = strchr(line, '#'), *save = NULL, *t;
		p.line++;
		if (hash != NULL)
			*hash = '\0';
		p.ntok = 0;
		for (t = strtok_r(line, " \t\r\n", &save); t != NULL && p.ntok < 64;
		     t = strtok_r(NULL, " \t\r\n", &save))
			p.tok[p.ntok++] = t;
		if (p.ntok > 0)
			rc = parse_line(&p);
	}
	fclose(f);
	if (rc == 0 && sp->nvm == 0 && sp->n * sp->vms > SIM_MAX_VMS) {
		snprintf(err, errlen, "%s: hosts * vms must be at most %d", path, SIM_MAX_VMS);
		rc = -1;
	}
	return rc;
}

/* ---- random schedules ---- */

static int
pick_host(uint64_t *r, unsigned n)
{
	return (int)sim_rand(r, n);
}

/* The pool's memory and VMs (docs/simulator.md, "Random schedules"), from
** a stream of their own (the faults of a seed do not depend on them): hosts
** of 8..32 GiB, 0..4 VMs each of 1..8 GiB that fit their host, 70 %
** protected, 20 % best-effort, 10 % unprotected, order 0..2 in half the
** pools, a start delay of 1..3 s in 30 %. */
static void
random_vms(uint64_t seed, struct sim_spec *sp)
{
	uint64_t r = seed * 0x9e3779b97f4a7c15ull + 0x5eedull;
	int orders = sim_rand(&r, 2) != 0;

	sp->nvm = 0;
	for (unsigned h = 0; h < sp->n; h++) {
		unsigned k = (unsigned)sim_rand(&r, 5);
		uint32_t room;
		sp->host_mem_mb[h] = (uint32_t)(8 + sim_rand(&r, 25)) * 1024;
		room = sp->host_mem_mb[h];
		for (unsigned i = 0; i < k && sp->nvm < SIM_MAX_VMS; i++) {
			struct sim_vmspec *vm = &sp->vm[sp->nvm];
			uint64_t p = sim_rand(&r, 100);
			memset(vm, 0, sizeof(*vm));
			vm->home = (int)h;
			vm->mem_mb = (uint32_t)(1 + sim_rand(&r, 8)) * 1024;
			vm->vcpus = 1 + (uint32_t)sim_rand(&r, 4);
			vm->prio = p < 70 ? SIM_PRIO_RESTART : p < 90 ? SIM_PRIO_BEST_EFFORT : SIM_PRIO_NONE;
			vm->order = orders ? (int)sim_rand(&r, 3) : 0;
			vm->delay_s = sim_rand(&r, 100) < 30 ? 1 + (uint32_t)sim_rand(&r, 3) : 0;
			if (vm->mem_mb > room)
				continue;
			room -= vm->mem_mb;
			sp->nvm++;
		}
	}
}

void
sim_spec_random(uint64_t seed, struct sim_spec *sp)
{
	uint64_t r = seed * 0x2545f4914f6cdd1dull + 1;
	unsigned nf;
	uint64_t wd_guess, stall_guess, tail = 30000;

	sim_spec_default(sp);
	sp->seed = seed;
	sp->n = 2 + (unsigned)sim_rand(&r, 5);
	sp->timeout_s = (unsigned[]){10, 15, 30}[sim_rand(&r, 3)];
	sp->profile = sim_rand(&r, 100) < 5 ? LV_PROFILE_CONSERVATIVE : LV_PROFILE_FAST;
	sp->statefile = sim_rand(&r, 100) < 90;
	sp->fence_mode = SIM_FENCE_RANDOM;
	sp->cpg = SIM_CPG_AGREED;
	if (sim_rand(&r, 100) < 30)
		for (unsigned h = 0; h < sp->n; h++)
			sp->weight[h] = 1 + (uint32_t)sim_rand(&r, 3);
	if (sim_rand(&r, 100) < 30)
		sp->preferred = pick_host(&r, sp->n);
	if (sim_rand(&r, 100) < 50)
		for (unsigned h = 0; h < sp->n && sp->nfaults < SIM_MAX_FAULTS; h++) {
			struct sim_fault *f = &sp->fault[sp->nfaults++];
			memset(f, 0, sizeof(*f));
			f->kind = SF_SKEW;
			f->host = (int)h;
			/* within the stated bound (100 ppm for every profile today) */
			f->ppm = (int32_t)sim_rand(&r, 201) - 100;
		}
	{
		struct lv_timing t = {0};
		char why[160];
		if (lv_timing_derive(sp->timeout_s, (enum lv_profile)sp->profile, &t, why,
		                     sizeof(why)) == 0)
			wd_guess = t.wd_ms;
		else
			wd_guess = sp->timeout_s * 1000ull; /* sim_run will report it */
		/* A stall round's deadline comes about S + T_decide after the
		** stall: stalls of up to twice that end before it or after it. */
		stall_guess = 2ull * (t.fresh_ms + t.decide_ms);
		if (stall_guess < 1000)
			stall_guess = 1000;
		tail = 30000;
		if (t.restart_ms + 2ull * t.decide_ms + 10000 > tail)
			tail = t.restart_ms + 2ull * t.decide_ms + 10000;
	}
	/* Half the pools reboot a reset host: it comes back out of the pool
	** and asks to be admitted (docs/protocol.md, "Rejoining"). */
	if (sim_rand(&r, 2))
		sp->reboot_ms = 1000 + sim_rand(&r, 4000);
	nf = (unsigned)sim_rand(&r, 7);
	for (unsigned i = 0; i < nf; i++) {
		struct sim_fault *f = &sp->fault[sp->nfaults++];
		unsigned k = (unsigned)sim_rand(&r, 14);
		memset(f, 0, sizeof(*f));
		f->at = 500 + sim_rand(&r, 29500);
		f->host = pick_host(&r, sp->n);
		switch (k) {
		case 0:
			f->kind = SF_PARTITION;
			for (unsigned h = 0; h < sp->n; h++)
				f->group[h] = (uint8_t)sim_rand(&r, sp->n);
			break;
		case 1:
			f->kind = SF_HEAL;
			break;
		case 2:
			f->kind = SF_ONEWAY;
			f->host2 = (f->host + 1 + (int)sim_rand(&r, sp->n - 1)) % (int)sp->n;
			break;
		case 3:
			f->kind = SF_DELAY;
			f->ms = 50 + sim_rand(&r, 1500);
			if (sp->nfaults < SIM_MAX_FAULTS) { /* and its end */
				struct sim_fault *g = &sp->fault[sp->nfaults++];
				*g = *f;
				g->at = f->at + 200 + sim_rand(&r, 5000);
				g->ms = 0;
			}
			break;
		case 4:
		case 5:
			f->kind = SF_STORAGE;
			f->mode = (int)sim_rand(&r, 4);
			if (sim_rand(&r, 3) == 0)
				f->host = -1;
			break;
		case 6:
			f->kind = SF_HANG;
			f->ms = sim_rand(&r, 2) ? 50 + sim_rand(&r, wd_guess - 100)
			                       : wd_guess + sim_rand(&r, wd_guess);
			break;
		case 7:
		case 8:
			f->kind = SF_POWEROFF;
			break;
		case 9:
			f->kind = SF_POWERON;
			break;
		case 10:
			f->kind = SF_VMSTART;
			f->mode = 1;
			break;
		case 12:
			f->kind = SF_CPGSTALL;
			f->ms = 50 + sim_rand(&r, stall_guess);
			/* Half of them on a host that is being cut off: its
			** storage fails, then the network isolates it, while
			** its corosync stalls (stall_token_replay.scn). */
			if (sim_rand(&r, 2) && sp->nfaults + 2 <= SIM_MAX_FAULTS) {
				struct sim_fault *g = &sp->fault[sp->nfaults++];
				struct sim_fault *q = &sp->fault[sp->nfaults++];
				memset(g, 0, sizeof(*g));
				g->kind = SF_STORAGE;
				g->mode = SIM_ST_ERROR;
				g->host = f->host;
				g->at = f->at - sim_rand(&r, 500);
				memset(q, 0, sizeof(*q));
				q->kind = SF_PARTITION;
				q->host = -1;
				q->at = f->at + sim_rand(&r, f->ms);
				for (unsigned h = 0; h < sp->n; h++)
					q->group[h] = (int)h == f->host;
			}
			break;
		case 13:
			/* Killed and restarted: within the lease (no fence
			** expected) or well past it (the watchdog fires). */
			f->kind = SF_RESTART;
			f->ms = sim_rand(&r, 2) ? 100 + sim_rand(&r, 2000)
			                       : sim_rand(&r, stall_guess);
			break;
		default:
			f->kind = SF_STORAGE;
			f->mode = SIM_ST_OK;
			f->host = -1;
			break;
		}
	}
	random_vms(seed, sp);
	/* 30 s of faults, then quiet until every consequence has played out
	** (and a failover's order groups have started: up to 3 start delays
	** of up to 3 s, and a slow start per group). */
	sp->run_ms = 30000 + tail + 25000;
}
