/*
** `hasvc-simhv --check-ledger FILE`: the audit of DESIGN §1's first promise.
**
** The ledger is shared by every simulated host; each line is
**
**     <CLOCK_MONOTONIC ns> <host> <vm uuid> start|stop <reason>
**     <CLOCK_MONOTONIC ns> <host> <vm uuid> running
**
** (`running`: the domain finished booting; it must follow a start of that VM
** on that host, once per run, and changes nothing else: the VM counts as
** running from its start line either way.)
** Lines of different hosts may be out of order in the file (each host's
** write() is atomic, not ordered with the others), so the events are sorted
** by (VM, timestamp) and each VM's history is replayed on its own: a VM that
** runs on two hosts at once is an overlap; a start of a VM already running on
** the same host, a stop of a VM not running there, or a `running` of a VM not
** started there (or said twice for one start), is an inconsistency.  Equal
** timestamps put stops before starts before `running`s (the order is
** unknowable at 1 ns; the resulting interval would be empty anyway).
*/
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab/simhv.h"
#include "lib/ids.h"
#include "lib/simhv_proto.h"
#include "lib/xmalloc.h"

struct lev {
	uint64_t ts;
	size_t host; /* index into hosts[] */
	size_t line;
	int kind; /* LEV_STOP, LEV_START or LEV_RUNNING: the order at equal times */
	char uuid[HA_UUID_LEN];
};

struct lhost {
	char name[SIMHV_HOST_LEN];
	unsigned long starts, stops;
};

struct ledger {
	struct lev *ev;
	size_t nev, evcap;
	size_t nrunning; /* of which `running` lines (not counted as events) */
	struct lhost *hosts;
	size_t nhosts;
};

enum { LEV_STOP, LEV_START, LEV_RUNNING };

struct running {
	size_t host;
	uint64_t since;
	size_t line;
	int booted; /* its `running` line was seen */
};

static size_t
host_intern(struct ledger *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->nhosts; i++)
		if (strcmp(l->hosts[i].name, name) == 0)
			return i;
	l->hosts = xreallocarray(l->hosts, l->nhosts + 1, sizeof(*l->hosts));
	memset(&l->hosts[l->nhosts], 0, sizeof(l->hosts[0]));
	snprintf(l->hosts[l->nhosts].name, sizeof(l->hosts[0].name), "%s", name);
	return l->nhosts++;
}

/* Parse one line (without its newline); 0, or -1 with the problem in why. */
static int
parse_line(struct ledger *l, char *line, size_t lineno, const char **why)
{
	char *fields[5], *save = NULL, *p, *end;
	struct lev *e;
	unsigned long long ts;
	int n;

	for (n = 0, p = strtok_r(line, " ", &save); p && n < 5; p = strtok_r(NULL, " ", &save))
		fields[n++] = p;
	if (n < 4 || (n < 5 && strcmp(fields[3], "running") != 0)) {
		*why = "expected '<ns> <host> <vm uuid> start|stop <reason>' or '<ns> <host> <vm "
		       "uuid> running'";
		return -1;
	}
	if (n == 5 && strcmp(fields[3], "running") == 0) {
		*why = "a 'running' line has no reason";
		return -1;
	}
	if (fields[0][0] < '0' || fields[0][0] > '9') {
		*why = "timestamp is not a number";
		return -1;
	}
	errno = 0;
	ts = strtoull(fields[0], &end, 10);
	if (errno || *end) {
		*why = "timestamp is not a number";
		return -1;
	}
	if (strlen(fields[1]) >= SIMHV_HOST_LEN) {
		*why = "host name too long";
		return -1;
	}
	if (!id_uuid_valid(fields[2])) {
		*why = "not a VM uuid";
		return -1;
	}
	if (strcmp(fields[3], "start") != 0 && strcmp(fields[3], "stop") != 0 &&
	    strcmp(fields[3], "running") != 0) {
		*why = "event is neither 'start', 'stop' nor 'running'";
		return -1;
	}
	if (l->nev == l->evcap) {
		l->evcap = l->evcap ? 2 * l->evcap : 256;
		l->ev = xreallocarray(l->ev, l->evcap, sizeof(*l->ev));
	}
	e = &l->ev[l->nev++];
	e->ts = ts;
	e->host = host_intern(l, fields[1]);
	e->line = lineno;
	e->kind = strcmp(fields[3], "start") == 0  ? LEV_START
		  : strcmp(fields[3], "stop") == 0 ? LEV_STOP
						   : LEV_RUNNING;
	for (n = 0; n < HA_UUID_LEN - 1; n++) /* uuids compare case-insensitively */
		e->uuid[n] = (char)(fields[2][n] >= 'A' && fields[2][n] <= 'F' ? fields[2][n] + 32
										: fields[2][n]);
	e->uuid[HA_UUID_LEN - 1] = '\0';
	if (e->kind == LEV_RUNNING)
		l->nrunning++;
	else if (e->kind == LEV_START)
		l->hosts[e->host].starts++;
	else if (e->kind == LEV_STOP)
		l->hosts[e->host].stops++;
	return 0;
}

static int
cmp_lev(const void *a, const void *b)
{
	const struct lev *x = a, *y = b;
	int c = strcmp(x->uuid, y->uuid);

	if (c)
		return c;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind - y->kind; /* stops, then starts, then runnings */
	return x->line < y->line ? -1 : x->line > y->line;
}

static void
report_overlap(const struct ledger *l, const char *uuid, const struct running *a,
	       const struct running *b, const uint64_t *until)
{
	uint64_t from = a->since > b->since ? a->since : b->since;

	if (until)
		printf("OVERLAP: vm %s ran on hosts %s and %s at once from %" PRIu64 " to %" PRIu64
		       " ns (%.3f ms; starts on lines %zu and %zu)\n",
		       uuid, l->hosts[a->host].name, l->hosts[b->host].name, from, *until,
		       (double)(*until - from) / 1e6, a->line, b->line);
	else
		printf("OVERLAP: vm %s runs on hosts %s and %s at once from %" PRIu64
		       " ns to the end of the ledger (starts on lines %zu and %zu)\n",
		       uuid, l->hosts[a->host].name, l->hosts[b->host].name, from, a->line,
		       b->line);
}

/* Replay one VM's events ev[0..n); returns the number of problems and adds
** its runs and still-running count. */
static unsigned
replay_vm(const struct ledger *l, const struct lev *ev, size_t n, unsigned long *runs,
	  unsigned long *still)
{
	struct running *run = xcalloc(l->nhosts, sizeof(*run));
	size_t nrun = 0, i, j, k;
	unsigned problems = 0;

	for (i = 0; i < n; i++) {
		const struct lev *e = &ev[i];

		for (j = 0; j < nrun && run[j].host != e->host; j++)
			;
		if (e->kind == LEV_RUNNING) {
			if (j == nrun || run[j].booted) {
				printf("INCONSISTENT: line %zu: vm %s running on host %s, where it "
				       "%s\n",
				       e->line, e->uuid, l->hosts[e->host].name,
				       j == nrun ? "was not started" : "had finished booting already");
				problems++;
				continue;
			}
			run[j].booted = 1;
			continue;
		}
		if (e->kind == LEV_START) {
			if (j < nrun) {
				printf("INCONSISTENT: line %zu: vm %s started on host %s, where it "
				       "runs since line %zu\n",
				       e->line, e->uuid, l->hosts[e->host].name, run[j].line);
				problems++;
				continue;
			}
			run[nrun++] = (struct running){e->host, e->ts, e->line, 0};
			(*runs)++;
			continue;
		}
		if (j == nrun) {
			printf("INCONSISTENT: line %zu: vm %s stopped on host %s, where it was not "
			       "running\n",
			       e->line, e->uuid, l->hosts[e->host].name);
			problems++;
			continue;
		}
		for (k = 0; k < nrun; k++)
			if (k != j) {
				report_overlap(l, e->uuid, &run[k], &run[j], &e->ts);
				problems++;
			}
		run[j] = run[--nrun];
	}
	for (j = 0; j < nrun; j++)
		for (k = j + 1; k < nrun; k++) {
			report_overlap(l, ev[0].uuid, &run[j], &run[k], NULL);
			problems++;
		}
	*still += nrun;
	xfree(run);
	return problems;
}

int
simhv_check_ledger(const char *path)
{
	struct ledger l = {0};
	unsigned long runs = 0, still = 0, vms = 0;
	unsigned problems = 0;
	char *line = NULL;
	size_t cap = 0, lineno = 0, i, j;
	ssize_t len;
	const char *why;
	FILE *f;
	int rc = 2;

	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "ledger %s: %s\n", path, strerror(errno));
		return 2;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if ((size_t)len != strlen(line)) {
			fprintf(stderr, "ledger %s:%zu: malformed line: contains a NUL byte\n", path,
				lineno);
			goto out;
		}
		if (parse_line(&l, line, lineno, &why) < 0) {
			fprintf(stderr, "ledger %s:%zu: malformed line: %s\n", path, lineno, why);
			goto out;
		}
	}
	if (ferror(f)) {
		fprintf(stderr, "ledger %s: read error\n", path);
		goto out;
	}
	qsort(l.ev, l.nev, sizeof(*l.ev), cmp_lev);
	for (i = 0; i < l.nev; i = j) {
		for (j = i + 1; j < l.nev && strcmp(l.ev[j].uuid, l.ev[i].uuid) == 0; j++)
			;
		vms++;
		problems += replay_vm(&l, &l.ev[i], j - i, &runs, &still);
	}
	if (problems) {
		printf("ledger %s: %u problem%s found in %zu events\n", path, problems,
		       problems == 1 ? "" : "s", l.nev - l.nrunning);
		rc = 1;
		goto out;
	}
	printf("ledger %s: OK: %zu events, %lu VMs, %lu runs, %lu still running, no VM on two "
	       "hosts at once\n",
	       path, l.nev - l.nrunning, vms, runs, still);
	for (i = 0; i < l.nhosts; i++)
		printf("host %s: %lu starts, %lu stops\n", l.hosts[i].name, l.hosts[i].starts,
		       l.hosts[i].stops);
	rc = 0;
out:
	free(line);
	fclose(f);
	xfree(l.ev);
	xfree(l.hosts);
	return rc;
}
