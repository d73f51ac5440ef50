/*
** Fuzz target for the pool database's replication input (hasvc/db.c): any
** bytes given to db_apply_change() -- a changeset from the wire -- must give
** 0 or -1, never a crash, a hang, a leak or a read outside the buffer, and
** leave a database that still reads: 0 moves the position to the input's,
** -1 leaves it and the content as they were.  The same bytes as a proposal
** (db_apply_proposal) must change nothing at all.
**
** One database, in a temp dir made on the first input and removed at exit,
** holds a small fixed pool (fixed uuids, so that the seed changesets in
** corpus/db_apply/, captured against the same rows, apply).  Inputs that
** apply change it, so later inputs see a drifting state; every 256 inputs
** it is closed and reopened, which runs the open-time integrity check.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hasvc/db.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define F_POOL "0f000000-0000-4000-8000-000000000001"
#define F_H1   "0f000000-0000-4000-8000-000000000011"
#define F_H2   "0f000000-0000-4000-8000-000000000012"
#define F_G1   "0f000000-0000-4000-8000-000000000021"
#define F_V1   "0f000000-0000-4000-8000-000000000031"
#define F_V2   "0f000000-0000-4000-8000-000000000032"
#define F_M1   "0f000000-0000-4000-8000-000000000041"

static struct db *fz_db;
static char fz_dir[64], fz_path[128];
static uint64_t fz_seq;
static unsigned long fz_runs;

static void
fz_remove(void)
{
	char p[160];

	db_close(fz_db);
	fz_db = NULL;
	unlink(fz_path);
	snprintf(p, sizeof(p), "%s-wal", fz_path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", fz_path);
	unlink(p);
	rmdir(fz_dir);
}

static struct db *
fz_open(void)
{
	char err[512];
	struct db *db = db_open(fz_path, DB_OPEN_CREATE, err, sizeof(err));

	if (db == NULL) {
		fprintf(stderr, "fuzz_db_apply: %s\n", err);
		abort();
	}
	return db;
}

/* The fixed pool: two hosts, a group, a VM on h1 in the group, maps, a
** message, a fence record, a user. */
static void
fz_populate(struct db *db)
{
	struct db_pool p;
	struct db_host h;
	struct db_vm_group g;
	struct db_vm v;
	struct db_message m;
	struct db_fence_record f;
	struct db_user u;

	ha_assert(db_begin(db) == 0);
	db_pool_init(&p);
	snprintf(p.uuid, sizeof(p.uuid), F_POOL);
	db_map_set(&p.ha_configuration, "timeout", "30");
	ha_assert(db_pool_put(db, &p) == 0);
	db_pool_clear(&p);
	db_host_init(&h);
	snprintf(h.uuid, sizeof(h.uuid), F_H1);
	snprintf(h.name_label, sizeof(h.name_label), "h1");
	h.cluster_nodeid = 1;
	db_map_set(&h.other_config, "rack", "r1");
	ha_assert(db_host_put(db, &h) == 0);
	db_host_clear(&h);
	db_host_init(&h);
	snprintf(h.uuid, sizeof(h.uuid), F_H2);
	h.cluster_nodeid = 2;
	ha_assert(db_host_put(db, &h) == 0);
	memset(&g, 0, sizeof(g));
	snprintf(g.uuid, sizeof(g.uuid), F_G1);
	ha_assert(db_vm_group_put(db, &g) == 0);
	db_vm_init(&v);
	snprintf(v.uuid, sizeof(v.uuid), F_V1);
	snprintf(v.resident_on, sizeof(v.resident_on), F_H1);
	v.power_state = DB_POWER_RUNNING;
	v.ngroups = 1;
	snprintf(v.groups[0], sizeof(v.groups[0]), F_G1);
	db_map_set(&v.other_config, "a", "b");
	ha_assert(db_vm_put(db, &v) == 0);
	db_vm_clear(&v);
	memset(&m, 0, sizeof(m));
	snprintf(m.uuid, sizeof(m.uuid), F_M1);
	snprintf(m.name, sizeof(m.name), "HA_HOST_FAILED");
	m.priority = 1;
	ha_assert(db_message_add(db, &m) == 0);
	memset(&f, 0, sizeof(f));
	snprintf(f.host_uuid, sizeof(f.host_uuid), F_H2);
	ha_assert(db_fence_add(db, &f) == 0);
	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "root");
	ha_assert(db_user_put(db, &u) == 0);
	ha_assert(db_commit(db) == 0);
}

static void
fz_setup(void)
{
	log_init("fuzz_db_apply", LOG_NO_BLACKBOX, LOG_CRIT);
	snprintf(fz_dir, sizeof(fz_dir), "%s/fuzz-db-apply.XXXXXX",
	         getenv("TMPDIR") != NULL && strlen(getenv("TMPDIR")) < 32 ? getenv("TMPDIR")
	                                                                   : "/tmp");
	if (mkdtemp(fz_dir) == NULL)
		abort();
	snprintf(fz_path, sizeof(fz_path), "%s/pool.db", fz_dir);
	fz_db = fz_open();
	fz_populate(fz_db);
	atexit(fz_remove);
}

/* FNV-1a over the dump. */
static void
fz_hash(void *arg, const void *p, size_t n)
{
	uint64_t *h = arg;
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		*h = (*h ^ c[i]) * UINT64_C(0x100000001b3);
}

static uint64_t
fz_state(struct db *db, uint64_t *seq)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325), term;

	ha_assert(db_dump(db, fz_hash, &h) == 0);
	ha_assert(db_repl_get(db, &term, seq) == 0);
	return h;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t before, after, seq0, seq1;
	struct db_vm *vms;
	size_t nvms, outlen;
	void *out;
	char *buf;
	int rc;

	if (fz_db == NULL)
		fz_setup();
	/* A copy, so that a read past `size` is caught by ASan. */
	buf = xmalloc(size ? size : 1);
	if (size > 0)
		memcpy(buf, data, size);

	before = fz_state(fz_db, &seq0);
	rc = db_apply_proposal(fz_db, buf, size, &out, &outlen);
	ha_assert(rc == 0 || rc == -1);
	ha_assert(rc == 0 || out == NULL);
	ha_assert((out == NULL) == (outlen == 0));
	xfree(out);
	ha_assert(!db_capturing(fz_db));
	after = fz_state(fz_db, &seq1);
	ha_assert(after == before && seq1 == seq0);

	rc = db_apply_change(fz_db, 1, ++fz_seq, buf, size);
	ha_assert(rc == 0 || rc == -1);
	after = fz_state(fz_db, &seq1);
	if (rc == 0)
		ha_assert(seq1 == fz_seq);
	else
		ha_assert(seq1 == seq0 && after == before);
	ha_assert(db_vm_list(fz_db, &vms, &nvms) == 0);
	db_vm_list_free(vms, nvms);
	xfree(buf);

	if (++fz_runs % 256 == 0) {
		db_close(fz_db);
		fz_db = fz_open();
	}
	return 0;
}
