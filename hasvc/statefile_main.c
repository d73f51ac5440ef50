/*
** hasvc-statefile: the offline statefile tool (docs/statefile.md).
**
**     hasvc-statefile init FILE --db POOL_DB [--hosts N] [--force]
**     hasvc-statefile dump FILE --db POOL_DB [--json]
**     hasvc-statefile write-slot FILE --db POOL_DB --index I [--state S]
**                     [--seq N] [--host UUID] [--fence TEXT]
**
** The pool database (opened read-only) gives the pool id (pool.uuid) and the
** secret the statefile key is derived from (pool.cluster_key).
**
** init creates the file (or zeroes an existing one) at full size and writes a
** header in state INIT with a new generation: the old one + 1 when the file
** was a statefile of this pool, else 1.  It refuses, unless --force, to
** overwrite a statefile of this pool, of another pool, or any file that is
** neither all zeros nor a statefile.
**
** dump prints the header, then every slot that is not absent; an invalid one
** shows why.  write-slot writes one slot as host I would (for tests and the
** lab; never on a statefile a running pool uses).
**
** Exit status: 0 ok; 1 refused, unreadable, or (dump) the header is invalid;
** 2 a usage error.
*/
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <uuid/uuid.h>

#include "hasvc/db.h"
#include "heartbeat/sf_file.h"
#include "heartbeat/statefile.h"
#include "lib/clock.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE   2

struct pool_secret {
	uint8_t pool_id[SF_ID_LEN];
	char pool_uuid[HA_UUID_LEN];
	struct sf_key key;
	size_t nhosts;
};

static void
usage(FILE *f)
{
	fputs("usage: hasvc-statefile init FILE --db POOL_DB [--hosts N] [--force]\n"
	      "       hasvc-statefile dump FILE --db POOL_DB [--json]\n"
	      "       hasvc-statefile write-slot FILE --db POOL_DB --index I [--state S]\n"
	      "                       [--seq N] [--host UUID] [--fence TEXT]\n"
	      "  --db POOL_DB   the pool database (its uuid and cluster key)\n"
	      "  --hosts N      hosts configured (default: the hosts in the database)\n"
	      "  --force        overwrite an existing statefile or other data\n"
	      "  --json         print one JSON object\n",
	      f);
}

static int err_out(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "hasvc-statefile: <message>"; returns rc. */
static int
err_out(int rc, const char *fmt, ...)
{
	va_list ap;

	fputs("hasvc-statefile: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return rc;
}

/* The pool id and the statefile key from the pool database.  0 or -1 (said). */
static int
load_pool(const char *dbpath, struct pool_secret *ps)
{
	uint8_t secret[DB_CLUSTER_KEY_LEN];
	struct db_pool pool;
	struct db_host *hosts = NULL;
	char err[512];
	struct db *db;
	int rc = -1;

	db = db_open(dbpath, DB_OPEN_READONLY, err, sizeof(err));
	if (db == NULL) {
		err_out(0, "%s", err);
		return -1;
	}
	db_pool_init(&pool);
	if (db_pool_get(db, &pool) != 0) {
		err_out(0, "%s: no pool record", dbpath);
		goto out;
	}
	switch (db_pool_cluster_key(&pool, secret)) {
	case 0:
		break;
	case 1:
		err_out(0, "%s: the pool has no cluster key (hasvc-db init makes one)", dbpath);
		goto out;
	default:
		err_out(0, "%s: malformed cluster key", dbpath);
		goto out;
	}
	if (uuid_parse(pool.uuid, ps->pool_id) != 0) {
		err_out(0, "%s: malformed pool uuid \"%s\"", dbpath, pool.uuid);
		goto out;
	}
	snprintf(ps->pool_uuid, sizeof(ps->pool_uuid), "%s", pool.uuid);
	if (sf_key_derive(secret, sizeof(secret), &ps->key) < 0) {
		err_out(0, "cannot derive the statefile key");
		goto out;
	}
	if (db_host_list(db, &hosts, &ps->nhosts) < 0) {
		err_out(0, "%s: %s", dbpath, db_errmsg(db));
		goto out;
	}
	db_host_list_free(hosts, ps->nhosts);
	rc = 0;
out:
	memset(secret, 0, sizeof(secret));
	memset(pool.cluster_key, 0, sizeof(pool.cluster_key));
	db_pool_clear(&pool);
	db_close(db);
	return rc;
}

static void
uuid_str(const uint8_t id[SF_ID_LEN], char out[HA_UUID_LEN])
{
	uuid_unparse_lower(id, out);
}

static int
cmd_init(const char *file, const struct pool_secret *ps, long hosts, int force)
{
	char err[512];
	uint64_t gen;

	if (sf_file_init(file, &ps->key, ps->pool_id, (uint32_t)hosts, force ? SF_INIT_FORCE : 0,
	                 &gen, err, sizeof(err)) < 0) {
		err_out(0, "%s", err);
		return EXIT_REFUSED;
	}
	printf("%s: statefile of pool %s initialised: generation %" PRIu64 ", %u hosts\n", file,
	       ps->pool_uuid, gen, (unsigned)hosts);
	return 0;
}

/* ---- dump ---- */

static void
print_members(const char *label, const struct sf_members *m)
{
	uint32_t i;

	printf("  %s:", label);
	if (m->count == 0)
		printf(" -");
	for (i = 0; i < m->count; i++)
		printf("%s%" PRIu32, i ? "," : " ", m->nodeid[i]);
	printf("\n");
}

static json_object *
members_json(const struct sf_members *m)
{
	json_object *a = json_object_new_array();
	uint32_t i;

	for (i = 0; i < m->count; i++)
		json_object_array_add(a, json_object_new_int64(m->nodeid[i]));
	return a;
}

static void
print_view(uint64_t v)
{
	int i, any = 0;

	printf("  storage-view:");
	for (i = 0; i < SF_MAX_HOSTS; i++)
		if (v & (1ull << i))
			printf("%s%d", any++ ? "," : " ", i);
	printf("%s\n", any ? "" : " -");
}

static json_object *
view_json(uint64_t v)
{
	json_object *a = json_object_new_array();
	int i;

	for (i = 0; i < SF_MAX_HOSTS; i++)
		if (v & (1ull << i))
			json_object_array_add(a, json_object_new_int(i));
	return a;
}

static void
print_text(const char *file, const struct sf_snapshot *sn, int64_t now)
{
	char u[HA_UUID_LEN];
	int i;

	printf("statefile: %s\n", file);
	if (sn->header_ok) {
		uuid_str(sn->header.pool_id, u);
		printf("header: ok\n");
		printf("  version: %" PRIu32 "\n", sn->header.version);
		printf("  pool: %s\n", u);
		printf("  generation: %" PRIu64 "\n", sn->header.generation);
		printf("  pool-state: %s\n", sf_pool_state_name(sn->header.pool_state));
		printf("  host-count: %" PRIu32 "\n", sn->header.host_count);
		printf("  created: %" PRIu64 " (%" PRId64 " s ago)\n", sn->header.created,
		       now - (int64_t)sn->header.created);
	} else {
		printf("header: invalid: %s\n", sn->header_why);
	}
	printf("slots: %u valid, %u invalid, %u absent\n", sn->nvalid, sn->ninvalid, sn->nabsent);
	for (i = 0; i < SF_MAX_HOSTS; i++) {
		const struct sf_slot *s = &sn->slot[i].slot;
		const struct sf_fence *f = &s->fence;

		if (!sn->slot[i].present)
			continue;
		if (!sn->slot[i].valid) {
			printf("slot %d: invalid: %s\n", i, sn->slot[i].why);
			continue;
		}
		uuid_str(s->host_uuid, u);
		printf("slot %d: valid\n", i);
		printf("  host: %s\n", u);
		printf("  state: %s\n", sf_host_state_name(s->state));
		printf("  seq: %" PRIu64 "\n", s->seq);
		printf("  ring: %" PRIu32 "/%" PRIu64 "\n", s->ring_nodeid, s->ring_seq);
		print_members("members", &s->members);
		print_view(s->storage_view);
		printf("  mono-ms: %" PRIu64 "\n", s->mono_ms);
		printf("  wall: %" PRIu64 " (%" PRId64 " s ago)\n", s->wall_s,
		       now - (int64_t)s->wall_s);
		if (s->verdict.kind == SF_VERDICT_NONE) {
			printf("  verdict: none\n");
		} else {
			printf("  verdict: %s, ring %" PRIu32 "/%" PRIu64 ", at %" PRIu64
			       " (%" PRId64 " s ago), mono-ms %" PRIu64 "\n",
			       sf_verdict_kind_name(s->verdict.kind), s->verdict.ring_nodeid,
			       s->verdict.ring_seq, s->verdict.wall_s,
			       now - (int64_t)s->verdict.wall_s, s->verdict.mono_ms);
			print_members("verdict-live", &s->verdict.live);
		}
		if (!f->present) {
			printf("  fence: none\n");
			continue;
		}
		printf("  fence: reason %" PRIu32 " at %" PRIu64 " (%" PRId64
		       " s ago), mono-ms %" PRIu64 "\n",
		       f->reason, f->wall_s, now - (int64_t)f->wall_s, f->mono_ms);
		printf("  fence-detail: %s\n", f->detail);
		print_members("fence-members", &f->members);
	}
}

static void
print_json(const char *file, const struct sf_snapshot *sn, int64_t now)
{
	json_object *o = json_object_new_object(), *h = json_object_new_object();
	json_object *slots = json_object_new_array(), *counts = json_object_new_object();
	char u[HA_UUID_LEN];
	int i;

	json_object_object_add(o, "file", json_object_new_string(file));
	json_object_object_add(h, "ok", json_object_new_boolean(sn->header_ok));
	if (sn->header_ok) {
		uuid_str(sn->header.pool_id, u);
		json_object_object_add(h, "version", json_object_new_int64(sn->header.version));
		json_object_object_add(h, "pool", json_object_new_string(u));
		json_object_object_add(h, "generation",
		                       json_object_new_int64((int64_t)sn->header.generation));
		json_object_object_add(
		    h, "pool_state",
		    json_object_new_string(sf_pool_state_name(sn->header.pool_state)));
		json_object_object_add(h, "host_count",
		                       json_object_new_int64(sn->header.host_count));
		json_object_object_add(h, "created",
		                       json_object_new_int64((int64_t)sn->header.created));
	} else {
		json_object_object_add(h, "why", json_object_new_string(sn->header_why));
	}
	json_object_object_add(o, "header", h);
	for (i = 0; i < SF_MAX_HOSTS; i++) {
		const struct sf_slot *s = &sn->slot[i].slot;
		const struct sf_fence *f = &s->fence;
		json_object *j, *ring, *fj;

		if (!sn->slot[i].present)
			continue;
		j = json_object_new_object();
		json_object_object_add(j, "index", json_object_new_int(i));
		json_object_object_add(j, "valid", json_object_new_boolean(sn->slot[i].valid));
		json_object_array_add(slots, j);
		if (!sn->slot[i].valid) {
			json_object_object_add(j, "why", json_object_new_string(sn->slot[i].why));
			continue;
		}
		uuid_str(s->host_uuid, u);
		json_object_object_add(j, "host", json_object_new_string(u));
		json_object_object_add(j, "state",
		                       json_object_new_string(sf_host_state_name(s->state)));
		json_object_object_add(j, "seq", json_object_new_int64((int64_t)s->seq));
		ring = json_object_new_object();
		json_object_object_add(ring, "rep", json_object_new_int64(s->ring_nodeid));
		json_object_object_add(ring, "seq", json_object_new_int64((int64_t)s->ring_seq));
		json_object_object_add(j, "ring", ring);
		json_object_object_add(j, "members", members_json(&s->members));
		json_object_object_add(j, "storage_view", view_json(s->storage_view));
		json_object_object_add(j, "mono_ms", json_object_new_int64((int64_t)s->mono_ms));
		json_object_object_add(j, "wall_s", json_object_new_int64((int64_t)s->wall_s));
		json_object_object_add(j, "age_s", json_object_new_int64(now - (int64_t)s->wall_s));
		if (s->verdict.kind == SF_VERDICT_NONE) {
			json_object_object_add(j, "verdict", NULL);
		} else {
			json_object *vj = json_object_new_object(), *vr = json_object_new_object();

			json_object_object_add(
			    vj, "kind",
			    json_object_new_string(sf_verdict_kind_name(s->verdict.kind)));
			json_object_object_add(vr, "rep",
			                       json_object_new_int64(s->verdict.ring_nodeid));
			json_object_object_add(vr, "seq",
			                       json_object_new_int64((int64_t)s->verdict.ring_seq));
			json_object_object_add(vj, "ring", vr);
			json_object_object_add(vj, "live", members_json(&s->verdict.live));
			json_object_object_add(vj, "wall_s",
			                       json_object_new_int64((int64_t)s->verdict.wall_s));
			json_object_object_add(vj, "mono_ms",
			                       json_object_new_int64((int64_t)s->verdict.mono_ms));
			json_object_object_add(j, "verdict", vj);
		}
		if (!f->present) {
			json_object_object_add(j, "fence", NULL);
			continue;
		}
		fj = json_object_new_object();
		json_object_object_add(fj, "reason", json_object_new_int64(f->reason));
		json_object_object_add(fj, "wall_s", json_object_new_int64((int64_t)f->wall_s));
		json_object_object_add(fj, "mono_ms", json_object_new_int64((int64_t)f->mono_ms));
		json_object_object_add(fj, "detail", json_object_new_string(f->detail));
		json_object_object_add(fj, "members", members_json(&f->members));
		json_object_object_add(j, "fence", fj);
	}
	json_object_object_add(o, "slots", slots);
	json_object_object_add(counts, "valid", json_object_new_int((int)sn->nvalid));
	json_object_object_add(counts, "invalid", json_object_new_int((int)sn->ninvalid));
	json_object_object_add(counts, "absent", json_object_new_int((int)sn->nabsent));
	json_object_object_add(o, "counts", counts);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* Read the whole file into a snapshot: 0, or EXIT_REFUSED (said). */
static int
load_snapshot(const char *file, const struct pool_secret *ps, struct sf_snapshot *sn)
{
	struct sf_expect exp = {ps->pool_id, 0, -1};
	uint8_t *img = xmalloc(SF_FILE_SIZE);
	ssize_t n;
	int fd, rc = EXIT_REFUSED;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = sf_file_read_image(fd, img)) < 0) {
		err_out(0, "%s: %s", file, strerror(errno));
		goto out;
	}
	if (n < SF_FILE_SIZE) {
		err_out(0, "%s: %zd bytes, a statefile has %d", file, n, SF_FILE_SIZE);
		goto out;
	}
	sf_snapshot_decode(img, SF_FILE_SIZE, &ps->key, &exp, sn);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	xfree(img);
	return rc;
}

static int
cmd_dump(const char *file, const struct pool_secret *ps, int json)
{
	struct sf_snapshot *sn = xmalloc(sizeof(*sn));
	int rc;

	if ((rc = load_snapshot(file, ps, sn)) == 0) {
		if (json)
			print_json(file, sn, clock_wall_s());
		else
			print_text(file, sn, clock_wall_s());
		rc = sn->header_ok ? 0 : EXIT_REFUSED;
	}
	xfree(sn);
	return rc;
}

static int
state_from_name(const char *s)
{
	uint32_t i;

	for (i = SF_HOST_ALIVE; i <= SF_HOST_LEAVING; i++)
		if (strcmp(s, sf_host_state_name(i)) == 0)
			return (int)i;
	return -1;
}

struct slot_args {
	long index;
	int state;
	uint64_t seq;
	const char *host;
	const char *fence;
};

static int
cmd_write_slot(const char *file, const struct pool_secret *ps, const struct slot_args *a)
{
	struct sf_snapshot *sn = xmalloc(sizeof(*sn));
	uint8_t sec[SF_SECTOR];
	struct sf_slot s;
	const char *why = NULL;
	int fd = -1, rc;

	if ((rc = load_snapshot(file, ps, sn)) != 0)
		goto out;
	rc = EXIT_REFUSED;
	if (!sn->header_ok) {
		err_out(0, "%s: the header is invalid (%s)", file, sn->header_why);
		goto out;
	}
	memset(&s, 0, sizeof(s));
	memcpy(s.pool_id, ps->pool_id, SF_ID_LEN);
	s.generation = sn->header.generation;
	s.host_index = (uint32_t)a->index;
	if (a->host != NULL)
		uuid_parse(a->host, s.host_uuid); /* checked by main */
	else
		uuid_generate(s.host_uuid);
	s.seq = a->seq;
	s.state = (uint32_t)(a->fence != NULL ? SF_HOST_FENCING : a->state);
	s.ring_nodeid = 1;
	s.ring_seq = 1;
	s.members.count = 1;
	s.members.nodeid[0] = (uint32_t)a->index + 1;
	s.storage_view = 1ull << a->index;
	s.mono_ms = clock_mono_ms();
	s.wall_s = (uint64_t)clock_wall_s();
	if (a->fence != NULL) {
		s.fence.present = 1;
		s.fence.reason = 1;
		s.fence.wall_s = s.wall_s;
		s.fence.mono_ms = s.mono_ms;
		snprintf(s.fence.detail, sizeof(s.fence.detail), "%s", a->fence);
		s.fence.members = s.members;
	}
	if (sf_slot_encode(&s, &ps->key, sec, &why) != SF_SECTOR) {
		err_out(0, "cannot encode the slot (%s)", why);
		goto out;
	}
	fd = open(file, O_WRONLY | O_DSYNC | O_CLOEXEC);
	if (fd < 0 || sf_file_write_all(fd, sec, SF_SECTOR, (off_t)(1 + a->index) * SF_SECTOR) < 0) {
		err_out(0, "%s: %s", file, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	xfree(sn);
	return rc;
}

static int
parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno == ERANGE || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"hosts", required_argument, NULL, 'n'},
	    {"force", no_argument, NULL, 'f'},
	    {"json", no_argument, NULL, 'j'},
	    {"index", required_argument, NULL, 'i'},
	    {"state", required_argument, NULL, 's'},
	    {"seq", required_argument, NULL, 'q'},
	    {"host", required_argument, NULL, 'u'},
	    {"fence", required_argument, NULL, 'F'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct slot_args sa = {-1, SF_HOST_ALIVE, 1, NULL, NULL};
	const char *cmd, *file, *dbpath = NULL;
	struct pool_secret ps;
	long hosts = -1, v;
	int c, force = 0, json = 0, rc;

	log_init("hasvc-statefile", LOG_TO_STDERR | LOG_NO_BLACKBOX, LOG_WARNING);
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	cmd = argv[1];
	if (strcmp(cmd, "init") != 0 && strcmp(cmd, "dump") != 0 &&
	    strcmp(cmd, "write-slot") != 0) {
		usage(stderr);
		return err_out(EXIT_USAGE, "unknown command \"%s\"", cmd);
	}
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dbpath = optarg;
			break;
		case 'f':
			force = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'n':
			if (parse_long(optarg, 1, SF_MAX_HOSTS, &hosts) < 0)
				return err_out(EXIT_USAGE, "--hosts: a number from 1 to %d",
				               SF_MAX_HOSTS);
			break;
		case 'i':
			if (parse_long(optarg, 0, SF_MAX_HOSTS - 1, &sa.index) < 0)
				return err_out(EXIT_USAGE, "--index: a number from 0 to %d",
				               SF_MAX_HOSTS - 1);
			break;
		case 's':
			if ((sa.state = state_from_name(optarg)) < 0)
				return err_out(EXIT_USAGE,
				               "--state: alive, fencing, fenced or leaving");
			break;
		case 'q':
			if (parse_long(optarg, 0, LONG_MAX, &v) < 0)
				return err_out(EXIT_USAGE, "--seq: a number");
			sa.seq = (uint64_t)v;
			break;
		case 'u':
			if (!id_uuid_valid(optarg))
				return err_out(EXIT_USAGE, "--host: not a uuid");
			sa.host = optarg;
			break;
		case 'F':
			if (strlen(optarg) >= SF_DETAIL_LEN)
				return err_out(EXIT_USAGE, "--fence: at most %d bytes",
				               SF_DETAIL_LEN - 1);
			sa.fence = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - 1 - optind != 1) {
		usage(stderr);
		return err_out(EXIT_USAGE, "%s: exactly one FILE", cmd);
	}
	file = argv[1 + optind];
	if (dbpath == NULL)
		return err_out(EXIT_USAGE, "--db POOL_DB is required");
	if (strcmp(cmd, "write-slot") == 0 && sa.index < 0)
		return err_out(EXIT_USAGE, "write-slot: --index is required");
	if (load_pool(dbpath, &ps) < 0)
		return EXIT_REFUSED;
	if (strcmp(cmd, "init") == 0) {
		if (hosts < 0)
			hosts = ps.nhosts == 0 ? 1 : (long)ps.nhosts;
		if (hosts > SF_MAX_HOSTS)
			rc = err_out(EXIT_REFUSED, "%s: %ld hosts, a statefile holds %d", dbpath,
			             hosts, SF_MAX_HOSTS);
		else
			rc = cmd_init(file, &ps, hosts, force);
	} else if (strcmp(cmd, "dump") == 0) {
		rc = cmd_dump(file, &ps, json);
	} else {
		rc = cmd_write_slot(file, &ps, &sa);
	}
	memset(&ps.key, 0, sizeof(ps.key));
	log_fini();
	return rc;
}
