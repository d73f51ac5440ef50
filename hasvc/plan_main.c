/*
** hasvc-plan: the offline failover planner (issue 7 item 5).  Reads a pool
** description (hasvc/plan_json.h), runs the same placement/ code as the
** daemon, and prints ntol, the plan for each --fail set and the time taken.
**
**     hasvc-plan --pool FILE [--fail h1,h2 ...] [--budget N] [--json]
**
** Exit status: 0 done; 1 bad input (one line on stderr naming the field);
** 2 a usage error.  A failure set without a plan is an answer, not an error.
*/
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "hasvc/plan_json.h"
#include "lib/xmalloc.h"

#define EXIT_INPUT 1
#define EXIT_USAGE 2

/* Default search budget: a few hundred ms at ~0.3 us per node. */
#define DEFAULT_BUDGET 2000000L
#define MAX_FAIL_SETS  64

struct fail_set {
	const char *arg;
	uint64_t mask;
	struct place_plan *plan;
	double ms;
};

static void
usage(FILE *f)
{
	fputs("usage: hasvc-plan --pool FILE [--fail h1,h2 ...] [--budget N] [--json]\n"
	      "  --pool FILE    pool description (JSON, see docs/planner.md \"Offline planner\")\n"
	      "  --fail LIST    plan the failure of these hosts (comma-separated names);\n"
	      "                 may be repeated\n"
	      "  --budget N     search nodes for ntol and for each plan (default 2000000)\n"
	      "  --json         print the result as JSON\n",
	      f);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *
fate_name(enum place_fate f)
{
	switch (f) {
	case PLACE_F_STAYS: return "stays";
	case PLACE_F_PLACED: return "placed";
	case PLACE_F_EXCUSED: return "excused";
	case PLACE_F_NO_ROOM: return "no room";
	}
	return "?";
}

static const char *
verdict_name(enum place_verdict v)
{
	switch (v) {
	case PLACE_YES: return "yes";
	case PLACE_NO: return "no";
	case PLACE_UNDECIDED: return "undecided";
	}
	return "?";
}

static int
popcount64(uint64_t m)
{
	return __builtin_popcountll(m);
}

/* "h1,h2" for a mask, into a new string. */
static char *
mask_names(const struct plan_pool *p, uint64_t m)
{
	size_t len = 1, off = 0;
	char *s;
	int h;

	for (h = 0; h < p->pool.nhosts; h++)
		if (m & ((uint64_t)1 << h))
			len += strlen(p->host_names[h]) + 1;
	s = xmalloc(len);
	s[0] = '\0';
	for (h = 0; h < p->pool.nhosts; h++) {
		if (!(m & ((uint64_t)1 << h)))
			continue;
		off += (size_t)snprintf(s + off, len - off, "%s%s", off ? "," : "", p->host_names[h]);
	}
	return s;
}

static json_object *
mask_json(const struct plan_pool *p, uint64_t m)
{
	json_object *a = json_object_new_array();
	int h;

	for (h = 0; h < p->pool.nhosts; h++)
		if (m & ((uint64_t)1 << h))
			json_object_array_add(a, json_object_new_string(p->host_names[h]));
	return a;
}

static uint64_t
usable_mask(const struct plan_pool *p)
{
	uint64_t m = 0;
	int h;

	for (h = 0; h < p->pool.nhosts; h++)
		if (p->hosts[h].usable)
			m |= (uint64_t)1 << h;
	return m;
}

/* VMs of a plan in restart order: by order group, then file order. */
static const struct plan_pool *sort_pool;

static int
cmp_order(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	int ox = sort_pool->vms[x].order, oy = sort_pool->vms[y].order;

	if (ox != oy)
		return ox < oy ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int *
restart_order(const struct plan_pool *p)
{
	int *idx = xcalloc((size_t)p->pool.nvms + 1, sizeof(int));
	int i;

	for (i = 0; i < p->pool.nvms; i++)
		idx[i] = i;
	sort_pool = p;
	qsort(idx, (size_t)p->pool.nvms, sizeof(int), cmp_order);
	return idx;
}

static void
print_text(const struct plan_pool *p, const struct place_ntol *nt, double ntol_ms,
           struct fail_set *fs, int nfs)
{
	uint64_t usable = usable_mask(p);
	int nusable = popcount64(usable), i, k, nprot = 0, nbe = 0, naa = 0;
	int *idx = restart_order(p);
	char *w;

	for (i = 0; i < p->pool.nvms; i++) {
		nprot += p->vms[i].prio == PLACE_PROTECTED;
		nbe += p->vms[i].prio == PLACE_BEST_EFFORT;
	}
	for (i = 0; i < p->ngroups; i++)
		naa += p->group_aa[i];
	printf("pool: %d hosts (%d usable), %d VMs (%d protected, %d best-effort), "
	       "%d anti-affinity groups\n",
	       p->pool.nhosts, nusable, p->pool.nvms, nprot, nbe, naa);
	if (nt->exact)
		printf("ntol: %d (exact)\n", nt->ntol);
	else
		printf("ntol: %d..%d (proven interval: at least %d, at most %d; budget ran out)\n",
		       nt->ntol, nt->upper, nt->ntol, nt->upper);
	if (nt->upper < nusable) {
		w = mask_names(p, nt->witness);
		printf("  no plan if these %d hosts fail: %s\n", popcount64(nt->witness), w);
		free(w);
	}
	printf("sequential guarantee: %d (any %d failures one after another, each "
	       "restarted anywhere valid, leave a plan)\n",
	       nt->seq, nt->seq);
	printf("ha_host_failures_to_tolerate: %d (%s)\n", p->ha_ntol,
	       nt->ntol >= p->ha_ntol ? "a plan exists" : "overcommitted");
	printf("time: %.3f ms (%ld nodes, %ld failure sets planned)\n", ntol_ms, nt->nodes, nt->sets);
	for (k = 0; k < nfs; k++) {
		const struct place_plan *pl = fs[k].plan;
		int nstay = 0;

		w = mask_names(p, fs[k].mask);
		printf("\nplan for the failure of %s: %s%s\n", w[0] ? w : "(no host)",
		       verdict_name(pl->verdict),
		       pl->verdict == PLACE_YES ? (pl->spread ? " (anti-affinity kept)"
		                                              : " (anti-affinity not kept)")
		                                : "");
		free(w);
		printf("  %-24s %-8s %-24s %s\n", "VM", "fate", "target", "order");
		for (i = 0; i < p->pool.nvms; i++) {
			int v = idx[i];

			if (pl->fate[v] == PLACE_F_STAYS) {
				nstay++;
				continue;
			}
			printf("  %-24s %-8s %-24s %d\n", p->vm_names[v], fate_name(pl->fate[v]),
			       pl->target[v] >= 0 ? p->host_names[pl->target[v]] : "-",
			       p->vms[v].order);
		}
		printf("  (%d VMs stay as they are)\n", nstay);
		printf("  time: %.3f ms (%ld nodes)\n", fs[k].ms, pl->nodes);
	}
	free(idx);
}

static void
print_json(const struct plan_pool *p, const struct place_ntol *nt, double ntol_ms,
           struct fail_set *fs, int nfs)
{
	json_object *root = json_object_new_object(), *o = json_object_new_object();
	json_object *plans = json_object_new_array();
	int nusable = popcount64(usable_mask(p)), *idx = restart_order(p), i, k;

	json_object_object_add(o, "ntol", json_object_new_int(nt->ntol));
	json_object_object_add(o, "exact", json_object_new_boolean(nt->exact));
	json_object_object_add(o, "upper", json_object_new_int(nt->upper));
	json_object_object_add(o, "witness", nt->upper < nusable ? mask_json(p, nt->witness) : NULL);
	json_object_object_add(o, "sequential", json_object_new_int(nt->seq));
	json_object_object_add(o, "nodes", json_object_new_int64(nt->nodes));
	json_object_object_add(o, "sets", json_object_new_int64(nt->sets));
	json_object_object_add(o, "time_ms", json_object_new_double(ntol_ms));
	json_object_object_add(root, "ntol", o);
	json_object_object_add(root, "ha_host_failures_to_tolerate", json_object_new_int(p->ha_ntol));
	json_object_object_add(root, "overcommitted", json_object_new_boolean(nt->ntol < p->ha_ntol));
	for (k = 0; k < nfs; k++) {
		const struct place_plan *pl = fs[k].plan;
		json_object *po = json_object_new_object(), *vms = json_object_new_array();

		json_object_object_add(po, "failed", mask_json(p, fs[k].mask));
		json_object_object_add(po, "verdict", json_object_new_string(verdict_name(pl->verdict)));
		json_object_object_add(po, "spread", json_object_new_boolean(pl->spread));
		for (i = 0; i < p->pool.nvms; i++) {
			int v = idx[i];
			json_object *vo;

			if (pl->fate[v] == PLACE_F_STAYS)
				continue;
			vo = json_object_new_object();
			json_object_object_add(vo, "name", json_object_new_string(p->vm_names[v]));
			json_object_object_add(vo, "fate", json_object_new_string(fate_name(pl->fate[v])));
			json_object_object_add(vo, "target",
			                       pl->target[v] >= 0
			                           ? json_object_new_string(p->host_names[pl->target[v]])
			                           : NULL);
			json_object_object_add(vo, "order", json_object_new_int(p->vms[v].order));
			json_object_array_add(vms, vo);
		}
		json_object_object_add(po, "vms", vms);
		json_object_object_add(po, "nodes", json_object_new_int64(pl->nodes));
		json_object_object_add(po, "time_ms", json_object_new_double(fs[k].ms));
		json_object_array_add(plans, po);
	}
	json_object_object_add(root, "plans", plans);
	puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
	                                               JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	free(idx);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"pool", required_argument, NULL, 'p'}, {"fail", required_argument, NULL, 'f'},
		{"budget", required_argument, NULL, 'b'}, {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
	struct fail_set fs[MAX_FAIL_SETS];
	struct plan_pool *p = NULL;
	struct place_ntol nt;
	const char *pool_path = NULL;
	char err[512], *end;
	long budget = DEFAULT_BUDGET;
	int json = 0, nfs = 0, c, k, rc = EXIT_INPUT;
	double t0, ntol_ms;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pool_path = optarg;
			break;
		case 'f':
			if (nfs == MAX_FAIL_SETS) {
				fprintf(stderr, "hasvc-plan: at most %d --fail options\n", MAX_FAIL_SETS);
				return EXIT_USAGE;
			}
			fs[nfs].arg = optarg;
			fs[nfs].plan = NULL;
			nfs++;
			break;
		case 'b':
			errno = 0;
			budget = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || budget < 1) {
				fprintf(stderr, "hasvc-plan: --budget: \"%s\" is not a positive integer\n",
				        optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hasvc-plan: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (pool_path == NULL) {
		fprintf(stderr, "hasvc-plan: --pool FILE is required\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	p = plan_json_load(pool_path, err, sizeof(err));
	if (p == NULL) {
		fprintf(stderr, "hasvc-plan: %s\n", err);
		return EXIT_INPUT;
	}
	for (k = 0; k < nfs; k++) {
		if (plan_json_host_mask(p, fs[k].arg, &fs[k].mask, err, sizeof(err)) < 0) {
			fprintf(stderr, "hasvc-plan: %s\n", err);
			goto fail;
		}
	}
	t0 = now_ms();
	place_ntol(&p->pool, budget, &nt);
	ntol_ms = now_ms() - t0;
	for (k = 0; k < nfs; k++) {
		fs[k].plan = place_plan_new(p->pool.nvms);
		t0 = now_ms();
		place_plan(&p->pool, fs[k].mask, budget, fs[k].plan);
		fs[k].ms = now_ms() - t0;
	}
	if (json)
		print_json(p, &nt, ntol_ms, fs, nfs);
	else
		print_text(p, &nt, ntol_ms, fs, nfs);
	rc = fflush(stdout) == 0 ? 0 : EXIT_INPUT;
fail:
	for (k = 0; k < nfs; k++)
		place_plan_free(fs[k].plan);
	plan_json_free(p);
	return rc;
}
