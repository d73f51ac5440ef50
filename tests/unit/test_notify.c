/*
** hasvc/notify.c, the choke point's logic, on a real pool database with the
** workers replaced by a sink: the sender fans each message out once to
** every receiver and hook and marks it; a non-sender sends nothing; a new
** sender sends what has no marker; a marker still on its way (replication)
** or not writable now never causes a resend; stale messages are marked
** unsent; an unacknowledged inform is retried with backoff (1 s doubling to
** 60 s) until acknowledged or stale, and only then is its message marked;
** the hook JSON; snmp-test's per-receiver results.  With no master, the
** origin sends an alert itself (notify_direct: every receiver and hook,
** the same alert as a sender's scan, whether or not it is the sender, its
** informs retried) and stores it with its marker (notify_put_sent), which
** no new master sends again.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "hasvc/config.h"
#include "hasvc/db.h"
#include "hasvc/notify.h"
#include "lib/check.h"
#include "lib/clock.h"
#include "lib/xmalloc.h"

#define HOST_A "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define HOST_B "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"

struct env {
	char path[64];
	struct db *db;
	struct config cfg;
	/* the sink's record */
	unsigned calls, snmp, hooks;
	char last_target[256];
	struct db_message last_snmp; /* the alert of the last SNMP job */
	int fail; /* the sink's rc */
	/* hooks */
	int sender;
	int write_mode; /* 0: apply directly, 1: defer (in flight), 2: not possible now */
	unsigned writes;
	struct db *deferred_db;
};

static int
sink(void *arg, enum notify_kind kind, const char *target, const struct db_message *m)
{
	struct env *e = arg;

	e->calls++;
	if (kind == NOTIFY_SNMP)
		e->snmp++;
	else
		e->hooks++;
	snprintf(e->last_target, sizeof(e->last_target), "%s", target);
	if (kind == NOTIFY_SNMP)
		e->last_snmp = *m;
	return e->fail ? -1 : 0;
}

static int
is_sender(void *arg)
{
	return ((struct env *)arg)->sender;
}

/* The deferred write: remembered, applied when the test says so. */
static int (*pending_fn)(void *, struct db *);
static char pending_arg[256];

static int
write_hook(void *arg, int (*fn)(void *fnarg, struct db *db), void *fnarg)
{
	struct env *e = arg;

	e->writes++;
	switch (e->write_mode) {
	case 0:
		return fn(fnarg, e->db) < 0 ? -1 : 0;
	case 1:
		pending_fn = fn;
		memcpy(pending_arg, fnarg, sizeof(pending_arg));
		return 0;
	default:
		return -1;
	}
}

static int
setup(void **state)
{
	struct env *e = xcalloc(1, sizeof(*e));
	char err[256];
	struct db_pool p;
	struct db_snmp_receiver r;
	int fd;

	snprintf(e->path, sizeof(e->path), "/tmp/test_notify.XXXXXX");
	fd = mkstemp(e->path);
	assert_true(fd >= 0);
	close(fd);
	unlink(e->path);
	e->db = db_open(e->path, DB_OPEN_CREATE, err, sizeof(err));
	assert_non_null(e->db);
	db_pool_init(&p);
	id_uuid_new(p.uuid);
	assert_int_equal(db_pool_put(e->db, &p), 0);
	db_pool_clear(&p);
	config_defaults(&e->cfg);
	snprintf(e->cfg.host_uuid, sizeof(e->cfg.host_uuid), HOST_A);
	e->cfg.nhooks = 1;
	snprintf(e->cfg.notify_hook[0], sizeof(e->cfg.notify_hook[0]), "/bin/hook");
	/* two receivers */
	memset(&r, 0, sizeof(r));
	id_uuid_new(r.uuid);
	snprintf(r.address, sizeof(r.address), "192.0.2.1");
	r.port = 162;
	snprintf(r.version, sizeof(r.version), "2c");
	snprintf(r.community, sizeof(r.community), "public");
	assert_int_equal(db_snmp_receiver_put(e->db, &r), 0);
	id_uuid_new(r.uuid);
	snprintf(r.address, sizeof(r.address), "192.0.2.2");
	assert_int_equal(db_snmp_receiver_put(e->db, &r), 0);
	e->sender = 1;
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;
	char p[128];

	db_close(e->db);
	unlink(e->path);
	snprintf(p, sizeof(p), "%s-wal", e->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", e->path);
	unlink(p);
	xfree(e);
	return 0;
}

static struct notify *
make(struct env *e, int with_write)
{
	struct notify_hooks h = {
	    .arg = e, .is_sender = is_sender, .write = with_write ? write_hook : NULL};
	struct notify *n = notify_new(NULL, e->db, &e->cfg, &h);

	notify_set_sink(n, sink, e);
	return n;
}

static void
add_message(struct env *e, struct db_message *m, const char *name, int64_t age)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->priority = 3;
	snprintf(m->cls, sizeof(m->cls), "Host");
	snprintf(m->obj_uuid, sizeof(m->obj_uuid), HOST_B);
	m->timestamp = clock_wall_s() - age;
	assert_int_equal(db_message_add(e->db, m), 0);
}

static void
test_sender_fans_out_once(void **state)
{
	struct env *e = *state;
	struct notify *n = make(e, 0);
	struct db_message m;
	struct notify_stats st;

	add_message(e, &m, "HA_HOST_FAILED", 0);
	notify_scan(n);
	assert_int_equal(e->snmp, 2);
	assert_int_equal(e->hooks, 1);
	assert_int_equal(db_message_notified(e->db, m.uuid), 1);
	notify_scan(n);
	notify_scan(n);
	assert_int_equal(e->calls, 3); /* never again */
	notify_get_stats(n, &st);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.traps_sent, 2);
	assert_int_equal(st.hooks_ok, 1);
	notify_free(n);
}

static void
test_non_sender_then_new_master(void **state)
{
	struct env *e = *state;
	struct notify *n = make(e, 0);
	struct db_message m1, m2;

	e->sender = 0;
	add_message(e, &m1, "HA_HOST_FAILED", 0);
	add_message(e, &m2, "HA_STATEFILE_LOST", 0);
	notify_scan(n);
	assert_int_equal(e->calls, 0);
	assert_int_equal(db_message_notified(e->db, m1.uuid), 0);
	/* This host becomes master: it sends what nobody marked, once. */
	e->sender = 1;
	notify_scan(n);
	assert_int_equal(e->calls, 6);
	assert_int_equal(db_message_notified(e->db, m1.uuid), 1);
	assert_int_equal(db_message_notified(e->db, m2.uuid), 1);
	notify_scan(n);
	assert_int_equal(e->calls, 6);
	notify_free(n);

	/* Another host's notifier after a master change: what the old master
	** marked is not sent again. */
	n = make(e, 0);
	notify_scan(n);
	assert_int_equal(e->calls, 6);
	notify_free(n);
}

static void
test_marker_in_flight_no_resend(void **state)
{
	struct env *e = *state;
	struct notify *n = make(e, 1);
	struct db_message m;

	e->write_mode = 1; /* the marker is on its way to the master */
	add_message(e, &m, "HA_HOST_FAILED", 0);
	notify_scan(n);
	assert_int_equal(e->calls, 3);
	assert_int_equal(e->writes, 1);
	assert_int_equal(db_message_notified(e->db, m.uuid), 0);
	notify_scan(n); /* not sent again; the marker is written again */
	assert_int_equal(e->calls, 3);
	assert_int_equal(e->writes, 2);
	/* No master now: the marker cannot be written; still no resend. */
	e->write_mode = 2;
	notify_scan(n);
	assert_int_equal(e->calls, 3);
	/* The replicated marker arrives. */
	assert_non_null(pending_fn);
	assert_int_equal(pending_fn(pending_arg, e->db), 0);
	assert_int_equal(db_message_notified(e->db, m.uuid), 1);
	e->write_mode = 0;
	e->writes = 0;
	notify_scan(n);
	notify_scan(n);
	assert_int_equal(e->calls, 3);
	assert_int_equal(e->writes, 0); /* forgotten: nothing more to write */
	notify_free(n);
}

static void
test_failures_and_stale(void **state)
{
	struct env *e = *state;
	struct notify *n = make(e, 0);
	struct db_message m, old;
	struct notify_stats st;

	/* A receiver or hook that fails for good does not block the marker. */
	e->fail = 1;
	add_message(e, &m, "HA_HOST_FAILED", 0);
	notify_scan(n);
	assert_int_equal(e->calls, 3);
	assert_int_equal(db_message_notified(e->db, m.uuid), 1);
	notify_get_stats(n, &st);
	assert_int_equal(st.traps_failed, 2);
	assert_int_equal(st.hooks_failed, 1);
	/* An unmarked message older than the bound: marked, not sent. */
	add_message(e, &old, "HA_HOST_FAILED", NOTIFY_MAX_AGE_S + 10);
	notify_scan(n);
	assert_int_equal(e->calls, 3);
	assert_int_equal(db_message_notified(e->db, old.uuid), 1);
	notify_get_stats(n, &st);
	assert_int_equal(st.stale, 1);
	/* A deleted message's marker goes with it. */
	assert_int_equal(db_message_delete(e->db, m.uuid), 0);
	assert_int_equal(db_message_notified(e->db, m.uuid), 0);
	notify_scan(n);
	assert_int_equal(e->calls, 3);
	notify_free(n);
}

static void
test_retry_schedule(void **state)
{
	int64_t now = 1800000000;

	(void)state;
	assert_int_equal(notify_retry_delay_ms(1), 1000);
	assert_int_equal(notify_retry_delay_ms(2), 2000);
	assert_int_equal(notify_retry_delay_ms(3), 4000);
	assert_int_equal(notify_retry_delay_ms(6), 32000);
	assert_int_equal(notify_retry_delay_ms(7), 60000);
	assert_int_equal(notify_retry_delay_ms(8), 60000);
	assert_int_equal(notify_retry_delay_ms(1000000), 60000);
	assert_int_equal(notify_retry_allowed(now, now), 1);
	assert_int_equal(notify_retry_allowed(now - NOTIFY_MAX_AGE_S, now), 1);
	assert_int_equal(notify_retry_allowed(now - NOTIFY_MAX_AGE_S - 1, now), 0);
	assert_int_equal(notify_retry_allowed(now + 60, now), 1); /* clock skew */
}

/* Make both receivers informs. */
static void
informs(struct env *e)
{
	struct db_snmp_receiver *r = NULL;
	size_t nr = 0, i;

	assert_int_equal(db_snmp_receiver_list(e->db, &r, &nr), 0);
	assert_int_equal(nr, 2);
	for (i = 0; i < nr; i++) {
		r[i].inform = 1;
		assert_int_equal(db_snmp_receiver_put(e->db, &r[i]), 0);
	}
	db_snmp_receiver_list_free(r, nr);
}

static void
test_inform_retried_until_acknowledged(void **state)
{
	struct env *e = *state;
	struct notify *n;
	struct db_message m;
	struct notify_stats st;
	uint64_t t0;

	informs(e);
	n = make(e, 0);
	e->fail = 1;
	add_message(e, &m, "HA_HOST_FAILED", 0);
	t0 = clock_mono_ms();
	notify_scan(n);
	/* 2 informs + the hook; the hook failed for good, the informs wait */
	assert_int_equal(e->snmp, 2);
	assert_int_equal(e->hooks, 1);
	assert_int_equal(db_message_notified(e->db, m.uuid), 0);
	notify_get_stats(n, &st);
	assert_int_equal(st.traps_failed, 0);
	assert_int_equal(st.informs_retried, 2);
	/* a scan neither resends nor marks while they wait */
	notify_scan(n);
	assert_int_equal(e->calls, 3);
	assert_int_equal(db_message_notified(e->db, m.uuid), 0);
	/* not due yet; due after 1 s, then 2 s, then 4 s */
	assert_int_equal(notify_run_retries(n, t0 + 500), 2);
	assert_int_equal(e->snmp, 2);
	assert_int_equal(notify_run_retries(n, t0 + 100000), 2);
	assert_int_equal(e->snmp, 4);
	assert_int_equal(notify_run_retries(n, clock_mono_ms() + 1500), 2);
	assert_int_equal(e->snmp, 4);
	assert_int_equal(notify_run_retries(n, clock_mono_ms() + 2100), 2);
	assert_int_equal(e->snmp, 6);
	/* not the sender now: nothing sent, still waiting */
	e->sender = 0;
	assert_int_equal(notify_run_retries(n, clock_mono_ms() + 100000), 2);
	assert_int_equal(e->snmp, 6);
	/* the receivers come up: acknowledged, and only now marked */
	e->sender = 1;
	e->fail = 0;
	assert_int_equal(notify_run_retries(n, clock_mono_ms() + 1000000), 0);
	assert_int_equal(e->snmp, 8);
	assert_int_equal(db_message_notified(e->db, m.uuid), 1);
	notify_get_stats(n, &st);
	assert_int_equal(st.traps_sent, 2);
	assert_int_equal(st.traps_failed, 0);
	notify_scan(n);
	assert_int_equal(e->snmp, 8);
	notify_free(n);
}

static void
test_inform_stale_fails(void **state)
{
	struct env *e = *state;
	struct notify *n;
	struct db_message m;
	struct notify_stats st;

	informs(e);
	n = make(e, 0);
	e->fail = 1;
	/* 2 s inside the bound: retried once, then older than the bound */
	add_message(e, &m, "HA_HOST_FAILED", NOTIFY_MAX_AGE_S - 2);
	notify_scan(n);
	assert_int_equal(e->snmp, 2);
	assert_int_equal(db_message_notified(e->db, m.uuid), 0);
	sleep(3);
	assert_int_equal(notify_run_retries(n, clock_mono_ms() + 100000), 0);
	assert_int_equal(e->snmp, 2); /* not sent again: failed for good */
	assert_int_equal(db_message_notified(e->db, m.uuid), 1);
	notify_get_stats(n, &st);
	assert_int_equal(st.traps_failed, 2);
	notify_free(n);
}

static void
test_inform_message_gone(void **state)
{
	struct env *e = *state;
	struct notify *n;
	struct db_message m;

	informs(e);
	n = make(e, 0);
	e->fail = 1;
	add_message(e, &m, "HA_HOST_FAILED", 0);
	notify_scan(n);
	assert_int_equal(e->snmp, 2);
	/* deleted while its informs wait: the scan forgets it, the retries go */
	assert_int_equal(db_message_delete(e->db, m.uuid), 0);
	notify_scan(n);
	e->fail = 0;
	assert_int_equal(notify_run_retries(n, clock_mono_ms() + 100000), 0);
	assert_int_equal(e->snmp, 2);
	/* jobs still waiting when the notifier goes are freed (ASan) */
	e->fail = 1;
	add_message(e, &m, "HA_HOST_FAILED", 0);
	notify_scan(n);
	assert_int_equal(notify_run_retries(n, 0), 2);
	notify_free(n);
}

static void
test_alert_json(void **state)
{
	struct db_message m;
	struct json_object *o, *v;
	char *s;

	memset(&m, 0, sizeof(m));
	snprintf(m.uuid, sizeof(m.uuid), HOST_A);
	snprintf(m.name, sizeof(m.name), "HA_HOST_FAILED");
	m.priority = 3;
	snprintf(m.cls, sizeof(m.cls), "Host");
	snprintf(m.obj_uuid, sizeof(m.obj_uuid), HOST_B);
	m.timestamp = 86400;
	snprintf(m.body, sizeof(m.body), "a \"quoted\"\nbody");
	s = notify_alert_json(&m, HOST_B, "host-b", HOST_A);
	o = json_tokener_parse(s);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "name", &v));
	assert_string_equal(json_object_get_string(v), "HA_HOST_FAILED");
	assert_true(json_object_object_get_ex(o, "body", &v));
	assert_string_equal(json_object_get_string(v), "a \"quoted\"\nbody");
	assert_true(json_object_object_get_ex(o, "time", &v));
	assert_string_equal(json_object_get_string(v), "1970-01-02T00:00:00Z");
	assert_true(json_object_object_get_ex(o, "priority", &v));
	assert_int_equal(json_object_get_int64(v), 3);
	assert_true(json_object_object_get_ex(o, "host_name", &v));
	assert_string_equal(json_object_get_string(v), "host-b");
	json_object_put(o);
	xfree(s);
}

static unsigned test_done_calls;
static char test_results[4][256];

static void
test_done(void *arg, const struct db_snmp_receiver *rcv, char (*results)[256], size_t n)
{
	size_t i;

	test_done_calls++;
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++)
		snprintf(test_results[i], sizeof(test_results[i]), "%s", results[i]);
	/* results are in receiver order */
	assert_string_equal(rcv[0].address, "192.0.2.1");
}

static void
test_snmp_test(void **state)
{
	struct env *e = *state;
	struct notify *n = make(e, 0);

	assert_int_equal(notify_test(n, test_done, e), 0);
	assert_int_equal(test_done_calls, 1);
	assert_int_equal(e->snmp, 2);
	assert_int_equal(e->hooks, 0); /* the test is SNMP only */
	assert_string_equal(test_results[0], "");
	e->fail = 1;
	assert_int_equal(notify_test(n, test_done, e), 0);
	assert_int_equal(test_done_calls, 2);
	assert_string_equal(test_results[1], "failed");
	notify_free(n);
}

/* An alert as the liveness outbox holds it: not in the database (yet). */
static void
outbox_message(struct db_message *m, const char *name)
{
	memset(m, 0, sizeof(*m));
	id_uuid_new(m->uuid);
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->priority = 2;
	snprintf(m->cls, sizeof(m->cls), "Host");
	snprintf(m->obj_uuid, sizeof(m->obj_uuid), HOST_B);
	m->timestamp = clock_wall_s();
	snprintf(m->body, sizeof(m->body), "host B is gone");
}

static void
same_alert(const struct db_message *a, const struct db_message *b)
{
	assert_string_equal(a->uuid, b->uuid);
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->priority, b->priority);
	assert_string_equal(a->cls, b->cls);
	assert_string_equal(a->obj_uuid, b->obj_uuid);
	assert_string_equal(a->body, b->body);
	assert_int_equal(a->timestamp, b->timestamp);
}

static void
test_direct_then_stored_with_marker(void **state)
{
	struct env *e = *state;
	struct notify *n = make(e, 1);
	struct db_message m, sent, copy;
	struct notify_stats st;

	/* No master: this host is not the sender, and writes are impossible. */
	e->sender = 0;
	e->write_mode = 2;
	outbox_message(&m, "HA_HOST_FAILED");
	assert_int_equal(notify_direct(n, &m), 0);
	assert_int_equal(e->snmp, 2); /* every receiver of this host's copy */
	assert_int_equal(e->hooks, 1);
	sent = e->last_snmp;
	same_alert(&sent, &m);
	assert_string_equal(e->last_target, "/bin/hook");
	assert_int_equal(e->writes, 0); /* no marker of its own: the outbox's */
	notify_get_stats(n, &st);
	assert_int_equal(st.direct, 1);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.traps_sent, 2);
	assert_int_equal(st.hooks_ok, 1);
	/* Done: forgotten, so that a second call (never made by the outbox)
	** would send again; no scan sends it meanwhile. */
	notify_scan(n);
	assert_int_equal(e->calls, 3);

	/* A master appears: the outbox stores the message with its marker in
	** one write; neither that master nor this host (as a new master)
	** sends it. */
	copy = m;
	assert_int_equal(notify_put_sent(e->db, &copy, HOST_A), 0);
	assert_int_equal(db_message_notified(e->db, m.uuid), 1);
	e->sender = 1;
	e->write_mode = 0;
	notify_scan(n);
	assert_int_equal(e->calls, 3);
	notify_free(n);
	n = make(e, 0); /* another host, the master */
	notify_scan(n);
	assert_int_equal(e->calls, 3);
	notify_free(n);

	/* What a master sends of the same alert stored without a marker: the
	** same trap content. */
	outbox_message(&m, "HA_HOST_FAILED");
	copy = m;
	assert_int_equal(db_message_add(e->db, &copy), 0);
	n = make(e, 0);
	notify_scan(n);
	assert_int_equal(e->calls, 6);
	same_alert(&e->last_snmp, &m);
	assert_string_equal(e->last_snmp.name, sent.name);
	assert_string_equal(e->last_snmp.body, sent.body);
	notify_free(n);
}

static void
test_direct_informs_retried_not_sender(void **state)
{
	struct env *e = *state;
	struct notify *n;
	struct db_message m, copy;
	struct notify_stats st;

	informs(e);
	n = make(e, 1);
	e->sender = 0;
	e->write_mode = 2;
	e->fail = 1;
	outbox_message(&m, "HA_HOST_FAILED");
	assert_int_equal(notify_direct(n, &m), 0);
	assert_int_equal(e->snmp, 2);
	assert_int_equal(notify_direct(n, &m), 0); /* in flight: not again */
	assert_int_equal(e->snmp, 2);
	/* Retried although this host is not the sender. */
	assert_int_equal(notify_run_retries(n, clock_mono_ms() + 100000), 2);
	assert_int_equal(e->snmp, 4);
	/* Stored with its marker meanwhile (a master appeared), and this host
	** is that master: a scan neither resends nor drops the retries. */
	copy = m;
	assert_int_equal(notify_put_sent(e->db, &copy, HOST_A), 0);
	e->sender = 1;
	e->write_mode = 0;
	notify_scan(n);
	assert_int_equal(e->snmp, 4);
	e->fail = 0;
	assert_int_equal(notify_run_retries(n, clock_mono_ms() + 1000000), 0);
	assert_int_equal(e->snmp, 6);
	notify_get_stats(n, &st);
	assert_int_equal(st.traps_sent, 2);
	assert_int_equal(st.informs_retried, 4);
	assert_int_equal(e->writes, 0); /* never a marker of its own */
	notify_scan(n);
	assert_int_equal(e->snmp, 6);
	/* Not possible: no notifier; a bad uuid. */
	assert_int_equal(notify_direct(NULL, &m), -1);
	m.uuid[0] = '\0';
	assert_int_equal(notify_direct(n, &m), -1);
	assert_null(notify_process()); /* only a daemon's notifier registers */
	notify_free(n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sender_fans_out_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_non_sender_then_new_master, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_marker_in_flight_no_resend, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failures_and_stale, setup, teardown),
	    cmocka_unit_test(test_retry_schedule),
	    cmocka_unit_test_setup_teardown(test_inform_retried_until_acknowledged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inform_stale_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inform_message_gone, setup, teardown),
	    cmocka_unit_test(test_alert_json),
	    cmocka_unit_test_setup_teardown(test_snmp_test, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_direct_then_stored_with_marker, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_direct_informs_retried_not_sender, setup,
	                                    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
