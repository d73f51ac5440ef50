/*
** cpg_inject: join a pool's CPG group as a foreign process and multicast
** malformed pool messages, for tests/cluster/bad_input.sh.
**
**     cpg_inject POOL_UUID DB_FILE
**
** Builds, from a copy of a host's pool database (DB_FILE, only read), a real
** change that would rename the pool to "INJECTED", and sends it four ways
** that every host must drop and count, never apply:
**   1. with another pool's id,
**   2. with protocol version 99,
**   3. with a body length one byte longer than the message,
**   4. truncated in the middle of its changeset,
** plus 5. eight random bytes.  Exits 0 once all five came back to it in
** total order (so every member has had them delivered), 1 on any failure.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <uuid/uuid.h>

#include "hasvc/db.h"
#include "hasvc/repl.h"
#include "heartbeat/cpg.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define NMSG 5

static struct event_base *base;
static struct hb_cpg *cpg;
static uint8_t *msgs[NMSG];
static size_t lens[NMSG];
static int sent, delivered, failed;
static uint32_t me;

static void
on_up(void *arg, uint32_t nodeid)
{
	int i;

	me = nodeid;
	if (sent)
		return;
	for (i = 0; i < NMSG; i++)
		if (hb_cpg_send(cpg, msgs[i], lens[i]) < 0)
			failed = 1;
	sent = 1;
}

static void
on_deliver(void *arg, uint32_t nodeid, uint32_t pid, const void *msg, size_t len)
{
	int i;

	if (pid != (uint32_t)getpid() || nodeid != me)
		return;
	for (i = 0; i < NMSG; i++)
		if (len == lens[i] && memcmp(msg, msgs[i], len) == 0) {
			if (++delivered == NMSG)
				event_base_loopbreak(base);
			return;
		}
}

static void
on_down(void *arg, const char *why)
{
	fprintf(stderr, "cpg_inject: corosync: %s\n", why);
	failed = 1;
	event_base_loopbreak(base);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	fprintf(stderr, "cpg_inject: only %d of %d messages came back\n", delivered, NMSG);
	failed = 1;
	event_base_loopbreak(base);
}

/* The changeset renaming the pool, captured on a private copy of the file. */
static int
rename_changeset(const char *src, void **cs, size_t *len)
{
	char tmp[] = "/tmp/cpg-inject.XXXXXX", cmd[4096], err[512];
	struct db_pool pool;
	struct db *db;
	int fd = mkstemp(tmp), rc = -1;

	if (fd < 0)
		return -1;
	close(fd);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, tmp);
	if (system(cmd) != 0)
		goto out;
	if ((db = db_open(tmp, 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "cpg_inject: %s\n", err);
		goto out;
	}
	db_pool_init(&pool);
	if (db_pool_get(db, &pool) == 0 && db_capture_begin(db) == 0) {
		snprintf(pool.name_label, sizeof(pool.name_label), "INJECTED");
		if (db_pool_put(db, &pool) == 0 && db_capture_end(db, cs, len) == 0 && *cs != NULL)
			rc = 0;
	}
	db_pool_clear(&pool);
	db_close(db);
out:
	unlink(tmp);
	snprintf(cmd, sizeof(cmd), "%s-wal", tmp);
	unlink(cmd);
	snprintf(cmd, sizeof(cmd), "%s-shm", tmp);
	unlink(cmd);
	return rc;
}

int
main(int argc, char **argv)
{
	struct hb_cpg_callbacks cb = {.deliver = on_deliver, .up = on_up, .down = on_down};
	struct hb_cpg_config cc = {0};
	struct repl_msg m;
	struct timeval tv = {20, 0};
	char group[128];
	void *cs = NULL;
	size_t cslen = 0, n;
	uuid_t other;
	int i;

	if (argc != 3) {
		fprintf(stderr, "usage: cpg_inject POOL_UUID DB_FILE\n");
		return 2;
	}
	log_init("cpg_inject", LOG_TO_STDERR | LOG_NO_BLACKBOX, LOG_WARNING);
	if (rename_changeset(argv[2], &cs, &cslen) < 0) {
		fprintf(stderr, "cpg_inject: cannot build the change from %s\n", argv[2]);
		return 1;
	}
	memset(&m, 0, sizeof(m));
	m.type = REPL_MSG_CHANGE;
	uuid_generate(other); /* 1: another pool */
	memcpy(m.pool_id, other, 16);
	m.u.change.term = 1000;
	m.u.change.seq = 1000000;
	m.u.change.origin = 1;
	m.u.change.cs = cs;
	m.u.change.len = (uint32_t)cslen;
	for (i = 0; i < 4; i++) {
		msgs[i] = xmalloc(REPL_MSG_MAX);
		if (i > 0 && uuid_parse(argv[1], m.pool_id) < 0) {
			fprintf(stderr, "cpg_inject: %s is not a uuid\n", argv[1]);
			return 2;
		}
		n = repl_msg_encode(&m, msgs[i], REPL_MSG_MAX);
		if (n == 0)
			return 1;
		lens[i] = n;
	}
	msgs[1][4] = 99;                               /* 2: version */
	msgs[2][27] = (uint8_t)(msgs[2][27] + 1);      /* 3: body length + 1 */
	lens[3] = lens[3] - cslen / 2;                 /* 4: cut in the changeset */
	msgs[4] = xmalloc(8);
	memcpy(msgs[4], "\x48\x41\x52\x50garb", 8);    /* 5: a magic and nothing */
	lens[4] = 8;

	base = event_base_new();
	snprintf(group, sizeof(group), "hasvc:%s", argv[1]);
	cc.group = group;
	cc.retry_ms = 200;
	cpg = hb_cpg_new(base, &cc, &cb);
	event_base_once(base, -1, EV_TIMEOUT, on_timeout, NULL, &tv);
	event_base_dispatch(base);
	hb_cpg_free(cpg);
	event_base_free(base);
	for (i = 0; i < NMSG; i++)
		xfree(msgs[i]);
	xfree(cs);
	if (!failed)
		printf("cpg_inject: %d malformed messages delivered to the group\n", NMSG);
	log_fini();
	return failed;
}
