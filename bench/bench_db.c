/*
** bench_db: what durability costs the pool database.
**
**     bench_db [WRITES_PER_RUN [BATCHES_PER_RUN]]
**
** Two workloads, each 5 runs in a fresh temp dir under $TMPDIR (default
** /tmp: put it on the disk whose fsync you want to measure), median printed:
**   single  db_vm_set_power() on one of 100 VMs, each its own acknowledged,
**           durable transaction (WAL, synchronous=FULL): writes/s;
**   batch   100 db_vm_set_power() calls inside db_begin()/db_commit():
**           batches/s and VM updates/s.
** Side by side, the same updates through plain SQLite on a one-table
** database with journal_mode=WAL and synchronous=OFF (no fsync at all), and
** the ratio baseline/hasvc.  A third figure, repl, is the replicated write
** path of a master without the network: each db_vm_set_power() captured
** (db_capture_begin/_end, rolled back) and the changeset applied with
** db_apply_change() (durable), and its cost against a single write.
** Prints figures only; asserts nothing.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hasvc/db.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define RUNS 5
#define NVMS 100

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_db: %s\n", what);
	exit(1);
}

struct fixture {
	char path[128];
	struct db *db;
	char host[HA_UUID_LEN];
	char vm[NVMS][HA_UUID_LEN];
};

static void
fixture_open(struct fixture *f, const char *dir, int run)
{
	char err[512];
	struct db_host h;
	struct db_vm v;
	int i;

	snprintf(f->path, sizeof(f->path), "%s/hasvc-%d.db", dir, run);
	f->db = db_open(f->path, DB_OPEN_CREATE, err, sizeof(err));
	if (f->db == NULL)
		die(err);
	db_host_init(&h);
	id_uuid_new(h.uuid);
	memcpy(f->host, h.uuid, HA_UUID_LEN);
	if (db_begin(f->db) < 0 || db_host_put(f->db, &h) < 0)
		die(db_errmsg(f->db));
	for (i = 0; i < NVMS; i++) {
		db_vm_init(&v);
		id_uuid_new(v.uuid);
		snprintf(v.name_label, sizeof(v.name_label), "vm%d", i);
		memcpy(f->vm[i], v.uuid, HA_UUID_LEN);
		if (db_vm_put(f->db, &v) < 0)
			die(db_errmsg(f->db));
	}
	if (db_commit(f->db) < 0)
		die(db_errmsg(f->db));
}

static void
fixture_close(struct fixture *f)
{
	char *p;

	db_close(f->db);
	unlink(f->path);
	p = xasprintf("%s-wal", f->path);
	unlink(p);
	xfree(p);
	p = xasprintf("%s-shm", f->path);
	unlink(p);
	xfree(p);
}

static int
set_power(struct fixture *f, int i)
{
	int on = i % 2 == 0;

	return db_vm_set_power(f->db, f->vm[i % NVMS], on ? DB_POWER_RUNNING : DB_POWER_HALTED,
	                       on ? f->host : "");
}

/* Operations per second of one run of hasvc's db. */
static double
run_hasvc(const char *dir, int run, int batch, int n)
{
	struct fixture f;
	double t0, t;
	int i, j;

	fixture_open(&f, dir, run);
	t0 = now_s();
	for (i = 0; i < n; i++) {
		if (!batch) {
			if (set_power(&f, i) < 0)
				die(db_errmsg(f.db));
			continue;
		}
		if (db_begin(f.db) < 0)
			die(db_errmsg(f.db));
		for (j = 0; j < NVMS; j++)
			if (set_power(&f, i + j) < 0)
				die(db_errmsg(f.db));
		if (db_commit(f.db) < 0)
			die(db_errmsg(f.db));
	}
	t = now_s() - t0;
	fixture_close(&f);
	return n / t;
}

static void
exec_or_die(sqlite3 *h, const char *sql)
{
	if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
		die(sqlite3_errmsg(h));
}

/* Writes per second through capture + strict apply on the same database. */
static double
run_repl(const char *dir, int run, int n)
{
	struct fixture f;
	double t0, t;
	void *blob;
	size_t len;
	int i;

	fixture_open(&f, dir, run);
	t0 = now_s();
	for (i = 0; i < n; i++) {
		if (db_capture_begin(f.db) < 0 || set_power(&f, i) < 0 ||
		    db_capture_end(f.db, &blob, &len) < 0)
			die(db_errmsg(f.db));
		if (db_apply_change(f.db, 1, (uint64_t)i + 1, blob, len) < 0)
			die(db_errmsg(f.db));
		xfree(blob);
	}
	t = now_s() - t0;
	fixture_close(&f);
	return n / t;
}

/* The same updates through plain SQLite without fsync. */
static double
run_baseline(const char *dir, int run, int batch, int n)
{
	char path[128], uuid[NVMS][HA_UUID_LEN], host[HA_UUID_LEN];
	sqlite3 *h;
	sqlite3_stmt *ins, *upd;
	double t0, t;
	int i, j;

	snprintf(path, sizeof(path), "%s/plain-%d.db", dir, run);
	if (sqlite3_open(path, &h) != SQLITE_OK)
		die("cannot open the baseline database");
	exec_or_die(h,
	            "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;"
	            "CREATE TABLE vm (uuid TEXT PRIMARY KEY, power_state TEXT, resident_on TEXT);"
	            "BEGIN");
	if (sqlite3_prepare_v2(h, "INSERT INTO vm VALUES (?1, 'Halted', NULL)", -1, &ins, NULL) ||
	    sqlite3_prepare_v2(h,
	                       "UPDATE vm SET power_state = ?2, resident_on = ?3 WHERE uuid = ?1",
	                       -1, &upd, NULL))
		die(sqlite3_errmsg(h));
	id_uuid_new(host);
	for (i = 0; i < NVMS; i++) {
		id_uuid_new(uuid[i]);
		sqlite3_bind_text(ins, 1, uuid[i], -1, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE)
			die(sqlite3_errmsg(h));
		sqlite3_reset(ins);
	}
	exec_or_die(h, "COMMIT");
	t0 = now_s();
	for (i = 0; i < n; i++) {
		int m = batch ? NVMS : 1;

		if (batch)
			exec_or_die(h, "BEGIN");
		for (j = 0; j < m; j++) {
			int k = i + j, on = k % 2 == 0;

			sqlite3_bind_text(upd, 1, uuid[k % NVMS], -1, SQLITE_STATIC);
			sqlite3_bind_text(upd, 2, on ? "Running" : "Halted", -1, SQLITE_STATIC);
			if (on)
				sqlite3_bind_text(upd, 3, host, -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(upd, 3);
			if (sqlite3_step(upd) != SQLITE_DONE)
				die(sqlite3_errmsg(h));
			sqlite3_reset(upd);
		}
		if (batch)
			exec_or_die(h, "COMMIT");
	}
	t = now_s() - t0;
	sqlite3_finalize(ins);
	sqlite3_finalize(upd);
	sqlite3_close(h);
	unlink(path);
	return n / t;
}

/* The median of hasvc's figure. */
static double
workload(const char *dir, const char *name, int batch, int n)
{
	double hv[RUNS], bv[RUNS], h, b;
	int r;

	for (r = 0; r < RUNS; r++) {
		hv[r] = run_hasvc(dir, r, batch, n);
		bv[r] = run_baseline(dir, r, batch, n);
	}
	h = median(hv, RUNS);
	b = median(bv, RUNS);
	if (batch)
		printf("%-8s %12.1f batches/s (%9.0f VM updates/s) %12.1f batches/s %8.1fx\n", name,
		       h, h * NVMS, b, b / h);
	else
		printf("%-8s %12.1f writes/s  %24s %12.1f writes/s  %8.1fx\n", name, h, "", b,
		       b / h);
	return h;
}

int
main(int argc, char **argv)
{
	const char *base = getenv("TMPDIR");
	char dir[256];
	int writes = argc > 1 ? atoi(argv[1]) : 1000;
	int batches = argc > 2 ? atoi(argv[2]) : 20;

	if (writes <= 0 || batches <= 0)
		die("usage: bench_db [WRITES_PER_RUN [BATCHES_PER_RUN]]");
	log_init("bench_db", LOG_TO_STDERR | LOG_NO_BLACKBOX, LOG_WARNING);
	snprintf(dir, sizeof(dir), "%s/hasvc-bench-db.XXXXXX",
	         base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp failed");
	printf("pool database: %d VMs, median of %d runs (%d single writes, %d batches of %d per "
	       "run), in %s\n",
	       NVMS, RUNS, writes, batches, NVMS, dir);
	printf("%-8s %-47s %-22s %s\n", "workload", "hasvc (WAL, synchronous=FULL)",
	       "sqlite3 (WAL, sync=OFF)", "cost");
	{
		double single = workload(dir, "single", 0, writes), rv[RUNS], r;
		int i;

		workload(dir, "batch", 1, batches);
		for (i = 0; i < RUNS; i++)
			rv[i] = run_repl(dir, i, writes);
		r = median(rv, RUNS);
		printf("%-8s %12.1f writes/s  (capture + db_apply_change each; %.2fx a single "
		       "write's cost)\n",
		       "repl", r, single / r);
	}
	rmdir(dir);
	log_fini();
	return 0;
}
