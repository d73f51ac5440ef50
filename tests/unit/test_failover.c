/*
** The failover executor (hasvc/failover.c) driven against a real pool
** database through fo_apply() and fo_snapshot_read() (hasvc/failover_db.c):
** every WRITE action is applied in one transaction, answered with
** FO_EV_WRITTEN and followed by a fresh FO_EV_DB to every executor, as
** hasvcd does.  Target hosts are simulated by doing what their core would:
** the VM Running there with its intent deleted (one write), or the intent
** FAILED with an error.  Time is virtual (`now`); FO_EV_TICK is sent when
** fo_next_deadline() passes.
**
** Every write is checked as it is applied: a START newly ISSUED must name
** a host that is enabled, in the simulated liveset and not dead, and no
** VM may be ISSUED again unless its last try FAILED or its host died.
**
** The pool: host1..host4 of 16 GiB (16 CPUs), the executor on host2 (a
** second one on host3 for the takeover).
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
#include <event2/event.h>

#include "hasvc/api_objects.h"
#include "hasvc/api_planner.h"
#include "hasvc/db.h"
#include "hasvc/failover.h"
#include "hasvc/failover_db.h"
#include "lib/ids.h"
#include "lib/xmalloc.h"

#define T_POOL "11111111-0000-4000-8000-000000000000"
#define GiB    (1LL << 30)
#define WALL0  1700000000000LL
#define NHOSTS 4
#define MAXVM  32
#define ALERT  "HA_PROTECTED_VM_RESTART_FAILED"

static char tmpdir[64], dbpath[128];
static struct db *db;
static uint64_t now;
static char H[NHOSTS + 1][HA_UUID_LEN]; /* H[1..4] */
static char V[MAXVM][HA_UUID_LEN];

/* The simulated world: liveset and dead hosts as the engines see them. */
static int live[NHOSTS + 1];
static int dead[NHOSTS + 1];
/* Each host's hasvcd incarnation (hasvc/db.h, "Incarnations"). */
static int64_t inc[NHOSTS + 1];

/* Executors: fo[0] on host2, fo[1] on host3 (takeover only). */
static struct failover *fo[2];
static int nfo;
static int writes;        /* WRITE actions applied */
static int issues[MAXVM]; /* times each VM was newly ISSUED */
static int may_reissue[MAXVM];
static char notes[64 * 1024];

static int
vm_idx(const char *uuid)
{
	int i;

	for (i = 0; i < MAXVM; i++)
		if (strcmp(V[i], uuid) == 0)
			return i;
	return -1;
}

static int
host_idx(const char *uuid)
{
	int i;

	for (i = 1; i <= NHOSTS; i++)
		if (strcmp(H[i], uuid) == 0)
			return i;
	return -1;
}

/* ---- database helpers ---- */

static void
put_host(int i, int enabled)
{
	struct db_host h;

	db_host_init(&h);
	snprintf(h.uuid, sizeof(h.uuid), "%s", H[i]);
	snprintf(h.name_label, sizeof(h.name_label), "host%d", i);
	h.enabled = enabled;
	h.live = 1;
	h.memory_total = 16 * GiB;
	db_map_set(&h.other_config, "cpus", "16");
	assert_int_equal(db_host_put(db, &h), 0);
	inc[i] = 100 + i;
	assert_int_equal(db_host_set_incarnation(db, H[i], inc[i]), 0);
	db_host_clear(&h);
}

/* The incarnation host h's row shows. */
static int64_t
db_inc(int h)
{
	struct db_host x;
	int64_t v;

	assert_int_equal(db_host_get(db, H[h], &x), 0);
	v = x.incarnation;
	db_host_clear(&x);
	return v;
}

/* One of host h's own edits (hasvcd's CORE_ACT_INCARNATE / CLAIM / ADOPT)
** for its incarnation inc[h]; 1 applied, 0 skipped. */
static int
host_edit(int h, enum fo_edit_type type, int vm)
{
	struct fo_edit e;
	int rc;

	memset(&e, 0, sizeof(e));
	e.type = type;
	if (vm >= 0)
		snprintf(e.vm, sizeof(e.vm), "%s", V[vm]);
	snprintf(e.host, sizeof(e.host), "%s", H[h]);
	e.incarnation = inc[h];
	assert_int_equal(db_begin(db), 0);
	rc = fo_apply(db, &e, 1, H[h], WALL0 + (int64_t)now);
	assert_int_equal(db_commit(db), 0);
	assert_true(rc >= 0);
	return rc;
}

static void
host_enable(int i, int enabled)
{
	struct db_host h;

	assert_int_equal(db_host_get(db, H[i], &h), 0);
	h.enabled = enabled;
	assert_int_equal(db_host_put(db, &h), 0);
	db_host_clear(&h);
}

/* vm i "vmNN" of mem GiB on host (0: halted), priority: 'p' protected,
** 'b' best-effort, 'u' unprotected. */
static void
put_vm(int i, int host, int64_t mem, char prio, int64_t order, int64_t start_delay)
{
	struct db_vm vm;

	db_vm_init(&vm);
	snprintf(vm.uuid, sizeof(vm.uuid), "%s", V[i]);
	snprintf(vm.name_label, sizeof(vm.name_label), "vm%02d", i);
	vm.power_state = host ? DB_POWER_RUNNING : DB_POWER_HALTED;
	if (host)
		snprintf(vm.resident_on, sizeof(vm.resident_on), "%s", H[host]);
	vm.memory_static_max = mem * GiB;
	vm.VCPUs_max = 1;
	vm.ha_restart_priority = prio == 'p'   ? DB_PRIO_RESTART
	                         : prio == 'b' ? DB_PRIO_BEST_EFFORT
	                                       : DB_PRIO_NONE;
	vm.ha_always_run = prio == 'p';
	vm.order = order;
	vm.start_delay = start_delay;
	assert_int_equal(db_vm_put(db, &vm), 0);
	db_vm_clear(&vm);
}

static void
vm_get(int i, struct db_vm *vm)
{
	assert_int_equal(db_vm_get(db, V[i], vm), 0);
	db_vm_clear(vm);
}

/* The intent's state, -1 none; its host into host (if not NULL). */
static int
intent(int i, int *host)
{
	struct db_vm_intent in;
	int rc = db_intent_get(db, V[i], &in);

	assert_true(rc >= 0);
	if (rc == 1)
		return -1;
	if (host != NULL)
		*host = in.host[0] ? host_idx(in.host) : 0;
	return (int)in.state;
}

static int
issued_to(int i)
{
	int h = 0;

	return intent(i, &h) == DB_INTENT_ISSUED ? h : 0;
}

/* Running on host h (as the DB says). */
static int
running_on(int i, int h)
{
	struct db_vm vm;

	vm_get(i, &vm);
	return vm.power_state == DB_POWER_RUNNING && strcmp(vm.resident_on, H[h]) == 0;
}

static int
halted(int i)
{
	struct db_vm vm;

	vm_get(i, &vm);
	return vm.power_state == DB_POWER_HALTED && vm.resident_on[0] == '\0';
}

static int
host_live(int h)
{
	struct db_host x;
	int l;

	assert_int_equal(db_host_get(db, H[h], &x), 0);
	l = x.live;
	db_host_clear(&x);
	return l;
}

static int
count_alerts(int vm)
{
	struct db_message *m = NULL;
	size_t n = 0, i;
	int k = 0;

	assert_int_equal(db_message_list(db, 0, &m, &n), 0);
	for (i = 0; i < n; i++)
		if (strcmp(m[i].name, ALERT) == 0 &&
		    (vm < 0 || strcmp(m[i].obj_uuid, V[vm]) == 0)) {
			assert_int_equal(m[i].priority, 2);
			assert_string_equal(m[i].cls, "VM");
			k++;
		}
	xfree(m);
	return k;
}

/* ---- driving the executors ---- */

static void feed(int k, const struct fo_event *ev);

static void
broadcast_db(void)
{
	struct fo_snapshot s;
	struct fo_event ev;
	int k;

	for (k = 0; k < nfo; k++) {
		if (fo[k] == NULL)
			continue;
		assert_int_equal(fo_snapshot_read(db, &s), 0);
		memset(&ev, 0, sizeof(ev));
		ev.type = FO_EV_DB;
		fo_snapshot_view(&s, WALL0 + (int64_t)now, &ev.u.db);
		feed(k, &ev);
		fo_snapshot_free(&s);
	}
}

/* Apply one write as hasvcd would, checking every START newly ISSUED. */
static void
apply_write(const struct fo_action *a)
{
	int before_state[MAXVM], before_att[MAXVM], i, h;
	struct db_vm_intent in;

	for (i = 0; i < MAXVM; i++) {
		before_state[i] = -1;
		before_att[i] = 0;
		if (V[i][0] && db_intent_get(db, V[i], &in) == 0) {
			before_state[i] = (int)in.state;
			before_att[i] = (int)in.attempts;
		}
	}
	assert_int_equal(db_begin(db), 0);
	assert_true(fo_apply(db, a->edits, a->nedits, H[2], WALL0 + (int64_t)now) >= 0);
	assert_int_equal(db_commit(db), 0);
	writes++;
	for (i = 0; i < MAXVM; i++) {
		if (!V[i][0] || db_intent_get(db, V[i], &in) != 0 || in.state != DB_INTENT_ISSUED ||
		    (before_state[i] == DB_INTENT_ISSUED && before_att[i] == (int)in.attempts))
			continue;
		h = host_idx(in.host);
		assert_true(h > 0);
		/* Never to a disabled, dead or non-liveset host. */
		assert_true(live[h]);
		assert_false(dead[h]);
		{
			struct db_host x;

			assert_int_equal(db_host_get(db, in.host, &x), 0);
			assert_true(x.enabled);
			db_host_clear(&x);
		}
		/* Never twice unless the last try FAILED or its host died. */
		if (issues[i] > 0)
			assert_true(may_reissue[i]);
		issues[i]++;
		may_reissue[i] = 0;
	}
}

static void
feed(int k, const struct fo_event *ev)
{
	static int depth;
	struct fo_actions out = {0};
	uint64_t ids[8];
	size_t i, nids = 0;
	struct fo_event w;

	assert_true(++depth < 64);
	assert_int_equal(fo_step(fo[k], ev, now, &out), 0);
	for (i = 0; i < out.n; i++) {
		if (out.v[i].type == FO_ACT_NOTE) {
			size_t l = strlen(notes);

			snprintf(notes + l, sizeof(notes) - l, "%s\n", out.v[i].text);
			if (getenv("FO_VERBOSE"))
				printf("  [%6.3f] %s\n", now / 1000.0, out.v[i].text);
			continue;
		}
		assert_int_equal(out.v[i].type, FO_ACT_WRITE);
		assert_true(nids < 8);
		apply_write(&out.v[i]);
		ids[nids++] = out.v[i].id;
	}
	fo_actions_free(&out);
	for (i = 0; i < nids; i++) {
		memset(&w, 0, sizeof(w));
		w.type = FO_EV_WRITTEN;
		w.u.written.id = ids[i];
		w.u.written.ok = 1;
		feed(k, &w);
	}
	if (nids > 0)
		broadcast_db();
	depth--;
}

static void
send_liveset(int k)
{
	char uu[NHOSTS][HA_UUID_LEN];
	struct fo_event ev;
	size_t n = 0;
	int h;

	for (h = 1; h <= NHOSTS; h++)
		if (live[h])
			memcpy(uu[n++], H[h], HA_UUID_LEN);
	memset(&ev, 0, sizeof(ev));
	ev.type = FO_EV_LIVESET;
	ev.u.hosts.uuids = (const char(*)[HA_UUID_LEN])uu;
	ev.u.hosts.n = n;
	feed(k, &ev);
}

static void
liveset_all(void)
{
	int k;

	for (k = 0; k < nfo; k++)
		if (fo[k] != NULL)
			send_liveset(k);
}

/* Host h leaves the liveset (every engine sees it), then is announced dead. */
static void
host_leaves(int h)
{
	live[h] = 0;
	liveset_all();
}

static void
host_dies(int h)
{
	struct fo_event ev;
	int k;

	live[h] = 0;
	liveset_all();
	dead[h] = 1;
	for (k = 0; k < MAXVM; k++) {
		struct db_vm vm;

		if (db_vm_get(db, V[k], &vm) != 0)
			continue;
		if (issued_to(k) == h || strcmp(vm.resident_on, H[h]) == 0)
			may_reissue[k] = 1;
		db_vm_clear(&vm);
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = FO_EV_HOST_DEAD;
	snprintf(ev.u.host, sizeof(ev.u.host), "%s", H[h]);
	ev.incarnation = db_inc(h);
	for (k = 0; k < nfo; k++)
		if (fo[k] != NULL)
			feed(k, &ev);
}

static void
set_active(int k, int active)
{
	struct fo_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = FO_EV_ROLE;
	ev.u.active = active;
	feed(k, &ev);
}

/* What host h's core does with the STARTs ISSUED to it: run them. */
static int
target_run(int h)
{
	struct db_vm_intent *v = NULL;
	size_t n = 0, i;
	int k = 0;

	assert_int_equal(db_intent_list(db, &v, &n), 0);
	assert_int_equal(db_begin(db), 0);
	for (i = 0; i < n; i++) {
		if (v[i].state != DB_INTENT_ISSUED || strcmp(v[i].host, H[h]) != 0 ||
		    v[i].op != DB_INTENT_START || v[i].incarnation != inc[h])
			continue;
		assert_true(halted(vm_idx(v[i].vm))); /* never runs twice */
		assert_int_equal(db_vm_set_power(db, v[i].vm, DB_POWER_RUNNING, H[h]), 0);
		assert_int_equal(db_intent_delete(db, v[i].vm), 0);
		k++;
	}
	assert_int_equal(db_commit(db), 0);
	xfree(v);
	if (k > 0)
		broadcast_db();
	return k;
}

static int
targets_run(void)
{
	int h, k = 0;

	for (h = 1; h <= NHOSTS; h++)
		if (!dead[h])
			k += target_run(h);
	return k;
}

/* The target of vm i reports a definite failure. */
static void
target_fail(int i, const char *err)
{
	struct db_vm_intent in;

	assert_int_equal(db_intent_get(db, V[i], &in), 0);
	assert_int_equal(in.state, DB_INTENT_ISSUED);
	in.state = DB_INTENT_FAILED;
	snprintf(in.error, sizeof(in.error), "%s", err);
	assert_int_equal(db_intent_put(db, &in), 0);
	may_reissue[i] = 1;
	broadcast_db();
}

/* Advance virtual time to t, ticking executors whose deadline passes. */
static void
run_until(uint64_t t)
{
	struct fo_event ev;
	uint64_t next, d;
	int k;

	for (;;) {
		next = UINT64_MAX;
		for (k = 0; k < nfo; k++)
			if (fo[k] != NULL && (d = fo_next_deadline(fo[k], now)) < next)
				next = d;
		if (next > t)
			break;
		if (next > now)
			now = next;
		for (k = 0; k < nfo; k++)
			if (fo[k] != NULL && fo_next_deadline(fo[k], now) <= now) {
				memset(&ev, 0, sizeof(ev));
				ev.type = FO_EV_TICK;
				feed(k, &ev);
			}
	}
	now = t;
}

static struct failover *
new_executor(int host)
{
	struct fo_config cfg;

	fo_config_defaults(&cfg);
	snprintf(cfg.host_uuid, sizeof(cfg.host_uuid), "%s", H[host]);
	return fo_new(&cfg);
}

/* Executor k on host, fed the liveset and the database; not active. */
static void
start_executor(int k, int host)
{
	fo[k] = new_executor(host);
	if (nfo <= k)
		nfo = k + 1;
	send_liveset(k);
	broadcast_db();
}

/* ---- fixture ---- */

static int
setup(void **state)
{
	struct db_pool pool;
	char err[256];
	int i;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_failover.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/pool.db", tmpdir);
	db = db_open(dbpath, DB_OPEN_CREATE, err, sizeof(err));
	assert_non_null(db);
	db_pool_init(&pool);
	snprintf(pool.uuid, sizeof(pool.uuid), T_POOL);
	pool.ha_enabled = 1;
	assert_int_equal(db_pool_put(db, &pool), 0);
	db_pool_clear(&pool);
	memset(V, 0, sizeof(V));
	for (i = 1; i <= NHOSTS; i++) {
		snprintf(H[i], HA_UUID_LEN, "22222222-0000-4000-8000-00000000000%d", i);
		put_host(i, 1);
		live[i] = 1;
		dead[i] = 0;
	}
	for (i = 0; i < MAXVM; i++)
		snprintf(V[i], HA_UUID_LEN, "33333333-0000-4000-8000-0000000000%02d", i);
	memset(issues, 0, sizeof(issues));
	memset(may_reissue, 0, sizeof(may_reissue));
	memset(fo, 0, sizeof(fo));
	nfo = 0;
	writes = 0;
	notes[0] = '\0';
	now = 1000;
	return 0;
}

static int
teardown(void **state)
{
	char *p;
	int k;

	for (k = 0; k < 2; k++)
		fo_free(fo[k]);
	db_close(db);
	unlink(dbpath);
	p = xasprintf("%s-wal", dbpath);
	unlink(p);
	xfree(p);
	p = xasprintf("%s-shm", dbpath);
	unlink(p);
	xfree(p);
	rmdir(tmpdir);
	return 0;
}

/* ---- tests ---- */

/* host1 dies with three order groups, start delays and a best-effort VM:
** each group is ISSUED only after the previous one runs and its largest
** start_delay passed; the best-effort VM after the last group. */
static void
test_order_groups(void **state)
{
	struct fo_status st;
	int w0;

	put_vm(1, 1, 2, 'p', 0, 2); /* group 0, start_delay 2 s */
	put_vm(2, 1, 2, 'p', 0, 1);
	put_vm(3, 1, 2, 'p', 1, 3); /* group 1, 3 s */
	put_vm(4, 1, 2, 'p', 2, 0); /* group 2 */
	put_vm(5, 1, 2, 'b', 0, 0); /* best-effort */
	put_vm(6, 1, 2, 'u', 0, 0); /* unprotected: stays halted */
	put_vm(7, 3, 2, 'p', 0, 0); /* running elsewhere: untouched */
	start_executor(0, 2);
	set_active(0, 1);
	assert_int_equal(writes, 0); /* nothing to do */

	host_dies(1);
	/* One write: host1 not live, its VMs halted, intents, group 0 ISSUED. */
	assert_int_equal(writes, 1);
	assert_false(host_live(1));
	assert_true(issued_to(1) > 1 && issued_to(2) > 1);
	assert_int_equal(intent(3, NULL), DB_INTENT_QUEUED);
	assert_int_equal(intent(4, NULL), DB_INTENT_QUEUED);
	assert_int_equal(intent(5, NULL), DB_INTENT_QUEUED);
	assert_int_equal(intent(6, NULL), -1);
	assert_true(halted(6));
	assert_true(running_on(7, 3));
	assert_non_null(strstr(notes,
	                       "host host1 is certainly dead: restarting 5 VMs "
	                       "(4 protected, 1 best-effort); its unprotected VMs stay halted"));
	assert_non_null(strstr(notes, "order group 0: starting vm0"));

	/* Group 1 waits for group 0 to run ... */
	run_until(now + 5000);
	assert_int_equal(intent(3, NULL), DB_INTENT_QUEUED);
	assert_int_equal(targets_run(), 2);
	assert_non_null(strstr(notes, "vm01 is running on host"));
	/* ... and then for its largest start_delay, 2 s. */
	w0 = writes;
	run_until(now + 1999);
	assert_int_equal(intent(3, NULL), DB_INTENT_QUEUED);
	assert_int_equal(writes, w0);
	run_until(now + 1);
	assert_true(issued_to(3) > 1);
	assert_int_equal(intent(4, NULL), DB_INTENT_QUEUED);
	assert_int_equal(targets_run(), 1);
	run_until(now + 2999);
	assert_int_equal(intent(4, NULL), DB_INTENT_QUEUED);
	run_until(now + 1);
	assert_true(issued_to(4) > 1);
	/* Best-effort only after every protected group. */
	assert_int_equal(intent(5, NULL), DB_INTENT_QUEUED);
	assert_int_equal(targets_run(), 1);
	assert_non_null(strstr(notes, "all protected VMs of host1 are running again"));
	assert_true(issued_to(5) > 1);
	assert_int_equal(targets_run(), 1);
	fo_get_status(fo[0], &st);
	assert_int_equal(st.restarts, 5);
	assert_int_equal(st.issued, 0);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.dead, 1);
	assert_int_equal(count_alerts(-1), 0);
	assert_int_equal(fo_next_deadline(fo[0], now), UINT64_MAX);
}

/* An inactive executor does nothing, but remembers the dead host: when it
** becomes active it acts. */
/* A start_delay holds the groups above it whatever happens meanwhile: a
** lower group that appears (another host dies) and completes without a
** delay does not let a higher group start early (the simulator found an
** earlier per-group gate did: seed 1778). */
static void
test_delay_outlives_lower_group(void **state)
{
	uint64_t t1;

	put_vm(1, 1, 2, 'p', 1, 3); /* group 1, start_delay 3 s */
	put_vm(2, 1, 2, 'p', 2, 0); /* group 2: waits for vm01's delay */
	put_vm(3, 2, 2, 'p', 0, 0); /* group 0, on host2 (no target: disabled) */
	host_enable(2, 0);
	start_executor(0, 3);
	set_active(0, 1);
	host_dies(1);
	assert_true(issued_to(1) >= 2);
	assert_int_equal(targets_run(), 1);
	t1 = now;
	assert_int_equal(intent(2, NULL), DB_INTENT_QUEUED);
	run_until(now + 500);
	host_dies(2); /* a lower group appears ... */
	assert_true(issued_to(3) >= 3);
	assert_int_equal(targets_run(), 1); /* ... and completes at once */
	run_until(t1 + 2900);
	assert_int_equal(intent(2, NULL), DB_INTENT_QUEUED);
	run_until(t1 + 3100);
	assert_true(issued_to(2) >= 3);
	assert_int_equal(targets_run(), 1);
}

static void
test_not_active(void **state)
{
	put_vm(1, 1, 2, 'p', 0, 0);
	start_executor(0, 2);
	host_dies(1);
	run_until(now + 10000);
	assert_int_equal(writes, 0);
	assert_true(host_live(1));
	assert_true(running_on(1, 1));
	assert_int_equal(fo_next_deadline(fo[0], now), UINT64_MAX);
	set_active(0, 1);
	assert_false(host_live(1));
	assert_true(issued_to(1) > 1);
}

/* Not enough room: protected VMs placed by order while room lasts; the
** others FAILED with one alert each, retried with backoff, and placed at
** once when a VM stops and leaves room. */
static void
test_overcommit(void **state)
{
	int w0;

	host_enable(3, 0);
	host_enable(4, 0);
	put_vm(10, 2, 8, 'u', 0, 0); /* host2: 8 GiB used */
	put_vm(1, 1, 4, 'p', 0, 0);
	put_vm(2, 1, 4, 'p', 1, 0);
	put_vm(3, 1, 6, 'p', 1, 0);
	put_vm(4, 1, 2, 'p', 2, 0);
	start_executor(0, 2);
	set_active(0, 1);
	host_dies(1);
	assert_int_equal(issued_to(1), 2);
	assert_int_equal(targets_run(), 1);
	/* Group 1: vm03 (6 GiB, larger first) fits nowhere, vm02 does. */
	assert_int_equal(issued_to(2), 2);
	assert_int_equal(intent(3, NULL), DB_INTENT_FAILED);
	assert_int_equal(count_alerts(3), 1);
	assert_non_null(strstr(notes, "vm03: no host has room: " ALERT ", retrying in 1 s"));
	assert_int_equal(targets_run(), 1);
	/* Group 2 is not held up by vm03: vm04 has no room either. */
	assert_int_equal(intent(4, NULL), DB_INTENT_FAILED);
	assert_int_equal(count_alerts(4), 1);
	/* Retries back off (1, 2, 4, 8 s) and alert no more. */
	w0 = writes;
	run_until(now + 20000);
	assert_non_null(strstr(notes, "vm03: no host has room, retrying in 8 s"));
	assert_null(strstr(notes, "vm03: no host has room, retrying in 32 s"));
	assert_null(strstr(notes, "vm03: no host has room: " ALERT ", retrying in 2 s"));
	assert_int_equal(count_alerts(-1), 2);
	assert_true(writes - w0 <= 2); /* FAILED already: nothing written per retry */
	/* vm10 stops: room for vm03 at once. */
	assert_int_equal(db_vm_set_power(db, V[10], DB_POWER_HALTED, ""), 0);
	broadcast_db();
	assert_int_equal(issued_to(3), 2);
	assert_int_equal(targets_run(), 1);
	assert_int_equal(issued_to(4), 2);
	assert_int_equal(targets_run(), 1);
	assert_true(running_on(3, 2) && running_on(4, 2));
	assert_int_equal(count_alerts(-1), 2);
}

/* A target reports FAILED: the VM is replanned on another host. */
static void
test_target_failed(void **state)
{
	int h1, h2;

	host_enable(4, 0);
	put_vm(1, 1, 2, 'p', 0, 0);
	start_executor(0, 2);
	set_active(0, 1);
	host_dies(1);
	h1 = issued_to(1);
	assert_true(h1 == 2 || h1 == 3);
	target_fail(1, "VM config invalid (EINVAL)");
	assert_int_equal(intent(1, NULL), DB_INTENT_FAILED);
	assert_int_equal(count_alerts(1), 1);
	assert_non_null(strstr(notes, "failed to start on host"));
	run_until(now + 999);
	assert_int_equal(intent(1, NULL), DB_INTENT_FAILED);
	run_until(now + 1);
	h2 = issued_to(1);
	assert_true(h2 == 2 || h2 == 3);
	assert_int_not_equal(h1, h2);
	assert_int_equal(targets_run(), 1);
	assert_true(running_on(1, h2));
	assert_int_equal(count_alerts(1), 1);
}

/* The target dies while ISSUED: the intent stays until its death is
** announced, then goes elsewhere. */
static void
test_target_dies_while_issued(void **state)
{
	int h;

	host_enable(2, 0);
	put_vm(1, 1, 2, 'p', 0, 0);
	put_vm(9, 3, 15, 'u', 0, 0); /* host3 nearly full: host4 is the target */
	start_executor(0, 2);
	set_active(0, 1);
	host_dies(1);
	assert_int_equal(issued_to(1), 4);
	host_leaves(4);
	run_until(now + 60000);
	assert_int_equal(issued_to(1), 4); /* never moved before the death */
	assert_int_equal(db_vm_set_power(db, V[9], DB_POWER_HALTED, ""), 0);
	broadcast_db();
	assert_int_equal(issued_to(1), 4);
	host_dies(4);
	h = issued_to(1);
	assert_int_equal(h, 3);
	assert_int_equal(targets_run(), 1);
	assert_int_equal(issues[1], 2);
}

/* A second executor takes over mid-failover from the database alone. */
static void
test_takeover(void **state)
{
	int i;

	put_vm(1, 1, 2, 'p', 0, 1);
	put_vm(2, 1, 2, 'p', 0, 0);
	put_vm(3, 1, 2, 'p', 1, 0);
	put_vm(4, 1, 2, 'p', 1, 0);
	put_vm(5, 1, 2, 'b', 0, 0);
	start_executor(0, 2);
	start_executor(1, 3);
	set_active(0, 1);
	host_dies(1);
	assert_true(issued_to(1) > 0 && issued_to(2) > 0);
	/* host2's executor stops (its daemon died); host3's becomes master. */
	fo_free(fo[0]);
	fo[0] = NULL;
	set_active(1, 1);
	assert_true(issued_to(1) > 0 && issued_to(2) > 0);
	assert_int_equal(intent(3, NULL), DB_INTENT_QUEUED);
	assert_int_equal(targets_run(), 2);
	run_until(now + 1000);
	assert_true(issued_to(3) > 0 && issued_to(4) > 0);
	assert_int_equal(targets_run(), 2);
	assert_true(issued_to(5) > 0);
	assert_int_equal(targets_run(), 1);
	for (i = 1; i <= 5; i++) {
		assert_int_equal(issues[i], 1);
		assert_int_equal(intent(i, NULL), -1);
		assert_false(halted(i));
	}
}

static void
vm_join_group(int i, const char *group)
{
	struct db_vm vm;

	assert_int_equal(db_vm_get(db, V[i], &vm), 0);
	vm.ngroups = 1;
	snprintf(vm.groups[0], sizeof(vm.groups[0]), "%s", group);
	assert_int_equal(db_vm_put(db, &vm), 0);
	db_vm_clear(&vm);
}

/* Two hosts die together: one write handles both; then host4 dies
** mid-failover with a VM just restarted on it. */
static void
test_multiple_deaths(void **state)
{
	static const char G[] = "44444444-0000-4000-8000-000000000001";
	struct db_vm_group grp;
	struct fo_event ev, w;
	struct fo_actions out = {0};
	int i;

	memset(&grp, 0, sizeof(grp));
	snprintf(grp.uuid, sizeof(grp.uuid), "%s", G);
	grp.placement = DB_PLACEMENT_ANTI_AFFINITY;
	assert_int_equal(db_vm_group_put(db, &grp), 0);
	put_vm(21, 2, 1, 'u', 0, 0); /* on host2, in the group */
	vm_join_group(21, G);
	put_vm(1, 1, 2, 'p', 0, 0); /* in the group: spread to host4 */
	vm_join_group(1, G);
	put_vm(2, 3, 2, 'p', 0, 0);
	put_vm(3, 1, 2, 'p', 1, 0);
	put_vm(4, 3, 2, 'p', 1, 0);
	start_executor(0, 2);
	set_active(0, 1);
	/* Both announced before the executor writes: the first write cannot
	** be sent, the executor waits 500 ms (no hot loop), then one write. */
	live[1] = live[3] = 0;
	liveset_all();
	dead[1] = dead[3] = 1;
	memset(&ev, 0, sizeof(ev));
	ev.type = FO_EV_HOST_DEAD;
	snprintf(ev.u.host, sizeof(ev.u.host), "%s", H[1]);
	ev.incarnation = inc[1];
	assert_int_equal(fo_step(fo[0], &ev, now, &out), 0);
	assert_int_equal(out.v[out.n - 1].type, FO_ACT_WRITE);
	memset(&w, 0, sizeof(w));
	w.type = FO_EV_WRITTEN;
	w.u.written.id = out.v[out.n - 1].id;
	w.u.written.ok = 0; /* no writable master now */
	fo_actions_reset(&out);
	assert_int_equal(fo_step(fo[0], &w, now, &out), 0);
	assert_int_equal(out.n, 0);
	snprintf(ev.u.host, sizeof(ev.u.host), "%s", H[3]);
	ev.incarnation = inc[3];
	assert_int_equal(fo_step(fo[0], &ev, now, &out), 0);
	assert_int_equal(out.n, 0);
	assert_int_equal(fo_next_deadline(fo[0], now), now + 500);
	fo_actions_free(&out);
	assert_int_equal(writes, 0);
	run_until(now + 499);
	assert_int_equal(writes, 0);
	run_until(now + 1);
	assert_int_equal(writes, 1);
	assert_false(host_live(1));
	assert_false(host_live(3));
	assert_int_equal(issued_to(1), 4); /* anti-affinity: not with vm21 */
	assert_true(issued_to(2) > 0);
	assert_non_null(strstr(notes, "host host1 is certainly dead"));
	assert_non_null(strstr(notes, "host host3 is certainly dead"));
	/* vm01 runs on host4, which dies before group 1 starts. */
	assert_int_equal(target_run(4) >= 1, 1);
	assert_true(running_on(1, 4));
	host_dies(4);
	assert_true(halted(1) || running_on(1, 2));
	assert_int_equal(issued_to(1), 2);
	targets_run();
	run_until(now + 100);
	targets_run();
	for (i = 1; i <= 4; i++)
		assert_true(running_on(i, 2));
	assert_false(host_live(4));
	assert_int_equal(issues[1], 2); /* host1 -> host4 -> host2 */
	assert_int_equal(issues[3], 1);
	assert_int_equal(count_alerts(-1), 0);
}

/* A host admitted into the liveset again is forgotten as dead. */
static void
test_admitted_again(void **state)
{
	put_vm(1, 1, 2, 'p', 0, 0);
	start_executor(0, 2);
	host_dies(1);
	live[1] = 1;
	dead[1] = 0;
	liveset_all();
	set_active(0, 1);
	run_until(now + 10000);
	assert_int_equal(writes, 0);
	assert_true(host_live(1));
	assert_true(running_on(1, 1));
	{
		struct fo_status st;

		fo_get_status(fo[0], &st);
		assert_int_equal(st.dead, 0);
	}
}

/* Only enabled liveset hosts that are not dead are targets: host3 is
** disabled, host4 out of the liveset (both empty, the best fits). */
static void
test_only_usable_targets(void **state)
{
	int i;

	put_vm(20, 2, 8, 'u', 0, 0);
	for (i = 1; i <= 3; i++)
		put_vm(i, 1, 2, 'p', 0, 0);
	host_enable(3, 0);
	start_executor(0, 2);
	host_leaves(4);
	set_active(0, 1);
	host_dies(1);
	for (i = 1; i <= 3; i++)
		assert_int_equal(issued_to(i), 2);
	targets_run();
	for (i = 1; i <= 3; i++)
		assert_true(running_on(i, 2));
}

/* Always-run: a protected VM halted without an intent gets one, except
** while restarts are prevented. */
static void
test_always_run(void **state)
{
	struct db_pool pool;
	char until[32];

	assert_int_equal(db_pool_get(db, &pool), 0);
	snprintf(until, sizeof(until), "%lld", (long long)((WALL0 + (int64_t)now) / 1000 + 30));
	db_map_set(&pool.other_config, "hasvc:ha_prevent_restarts_until", until);
	assert_int_equal(db_pool_put(db, &pool), 0);
	db_pool_clear(&pool);
	put_vm(1, 0, 2, 'p', 0, 0);
	put_vm(2, 0, 2, 'b', 0, 0); /* best-effort: not always-run */
	start_executor(0, 2);
	set_active(0, 1);
	run_until(now + 20000);
	assert_int_equal(intent(1, NULL), -1);
	run_until(now + 11000);
	assert_true(issued_to(1) > 0);
	assert_int_equal(intent(2, NULL), -1);
	assert_non_null(strstr(notes, "vm01 is protected but halted"));
	assert_int_equal(targets_run(), 1);
	assert_int_equal(intent(1, NULL), -1);
}

/* An evacuation's START is placed whatever the VM's priority, never on the
** host it leaves; an evacuation STOP ISSUED to a host that dies becomes a
** START. */
static void
test_evacuate(void **state)
{
	struct db_vm_intent in;

	put_vm(1, 0, 2, 'u', 0, 0);
	put_vm(2, 3, 2, 'u', 0, 0);
	put_vm(30, 4, 12, 'u', 0, 0); /* host4 less free than host2 */
	db_intent_init(&in);
	snprintf(in.vm, sizeof(in.vm), "%s", V[1]);
	in.why = DB_WHY_EVACUATE;
	snprintf(in.from, sizeof(in.from), "%s", H[4]);
	assert_int_equal(db_intent_put(db, &in), 0);
	db_intent_init(&in);
	snprintf(in.vm, sizeof(in.vm), "%s", V[2]);
	in.op = DB_INTENT_STOP;
	in.state = DB_INTENT_ISSUED;
	in.why = DB_WHY_EVACUATE;
	snprintf(in.host, sizeof(in.host), "%s", H[3]);
	assert_int_equal(db_intent_put(db, &in), 0);
	host_enable(1, 0);
	start_executor(0, 2);
	set_active(0, 1);
	/* host4 is the best fit but the source: host2 or host3. */
	assert_true(issued_to(1) == 2 || issued_to(1) == 3);
	assert_int_equal(intent(2, NULL), DB_INTENT_ISSUED); /* the STOP stays */
	host_dies(3);
	assert_true(halted(2) || issued_to(2) != 0);
	assert_true(issued_to(2) == 2 || issued_to(2) == 4);
	assert_int_equal(count_alerts(-1), 0);
}

/* An intent whose VM is gone is dropped (a snapshot taken between the two,
** as a replica may see it). */
static void
test_deleted_vm(void **state)
{
	struct fo_config cfg;
	struct failover *f;
	struct fo_snapshot s;
	struct fo_event ev;
	struct fo_actions out = {0};
	struct db_vm_intent in;
	size_t i, j;
	int found = 0;

	put_vm(1, 0, 2, 'p', 0, 0);
	put_vm(2, 0, 2, 'p', 0, 0);
	db_intent_init(&in);
	snprintf(in.vm, sizeof(in.vm), "%s", V[1]);
	assert_int_equal(db_intent_put(db, &in), 0);
	fo_config_defaults(&cfg);
	snprintf(cfg.host_uuid, sizeof(cfg.host_uuid), "%s", H[2]);
	f = fo_new(&cfg);
	assert_int_equal(fo_snapshot_read(db, &s), 0);
	/* vm01 gone from the VM list; its intent still there. */
	assert_int_equal(s.nintents, 1);
	for (i = 0; i < s.nvms; i++)
		if (strcmp(s.vms[i].uuid, V[1]) == 0) {
			db_vm_clear(&s.vms[i]);
			s.vms[i] = s.vms[--s.nvms];
		}
	memset(&ev, 0, sizeof(ev));
	ev.type = FO_EV_LIVESET;
	ev.u.hosts.uuids = (const char(*)[HA_UUID_LEN]) & H[1];
	ev.u.hosts.n = NHOSTS;
	assert_int_equal(fo_step(f, &ev, now, &out), 0);
	memset(&ev, 0, sizeof(ev));
	ev.type = FO_EV_DB;
	fo_snapshot_view(&s, WALL0, &ev.u.db);
	assert_int_equal(fo_step(f, &ev, now, &out), 0);
	ev.type = FO_EV_ROLE;
	ev.u.active = 1;
	assert_int_equal(fo_step(f, &ev, now, &out), 0);
	for (i = 0; i < out.n; i++)
		if (out.v[i].type == FO_ACT_WRITE)
			for (j = 0; j < out.v[i].nedits; j++) {
				const struct fo_edit *e = &out.v[i].edits[j];

				if (strcmp(e->vm, V[1]) == 0) {
					assert_int_equal(e->type, FO_E_INTENT_DELETE);
					found = 1;
				}
			}
	assert_true(found);
	fo_snapshot_free(&s);
	fo_actions_free(&out);
	fo_free(f);
	/* In the database the intent goes with its VM. */
	assert_int_equal(db_vm_delete(db, V[1]), 0);
	assert_int_equal(intent(1, NULL), -1);
}

/* fo_apply checks each edit's precondition. */
static void
test_apply_preconditions(void **state)
{
	struct fo_edit e[3];
	struct db_vm_intent in;

	put_vm(1, 1, 2, 'p', 0, 0);
	memset(e, 0, sizeof(e));
	/* ISSUE refused while the VM runs. */
	db_intent_init(&in);
	e[0].type = FO_E_INTENT_ADD;
	snprintf(e[0].vm, sizeof(e[0].vm), "%s", V[1]);
	e[0].intent = in;
	e[1].type = FO_E_INTENT_ISSUE;
	snprintf(e[1].vm, sizeof(e[1].vm), "%s", V[1]);
	snprintf(e[1].host, sizeof(e[1].host), "%s", H[2]);
	e[1].incarnation = inc[2];
	assert_int_equal(fo_apply(db, e, 2, H[2], WALL0), 1);
	assert_int_equal(intent(1, NULL), DB_INTENT_QUEUED);
	/* Halt on the wrong host: skipped; on its host: applied, then ISSUE. */
	e[0].type = FO_E_VM_HALT;
	snprintf(e[0].host, sizeof(e[0].host), "%s", H[3]);
	assert_int_equal(fo_apply(db, e, 1, H[2], WALL0), 0);
	snprintf(e[0].host, sizeof(e[0].host), "%s", H[1]);
	e[0].incarnation = inc[1] + 1; /* another incarnation of host1's: skipped */
	assert_int_equal(fo_apply(db, e, 1, H[2], WALL0), 0);
	e[0].incarnation = inc[1];
	e[1].incarnation = inc[2] + 1; /* host2 is at another: not ISSUED */
	assert_int_equal(fo_apply(db, e, 2, H[2], WALL0), 1);
	assert_int_equal(issued_to(1), 0);
	e[1].incarnation = inc[2];
	assert_int_equal(fo_apply(db, &e[1], 1, H[2], WALL0), 1);
	assert_int_equal(issued_to(1), 2);
	assert_int_equal(db_intent_get(db, V[1], &in), 0);
	assert_int_equal(in.incarnation, inc[2]);
	/* Not issued twice; requeue only from the host named; FAIL not ISSUED. */
	snprintf(e[1].host, sizeof(e[1].host), "%s", H[3]);
	assert_int_equal(fo_apply(db, &e[1], 1, H[2], WALL0), 0);
	e[2].type = FO_E_INTENT_REQUEUE;
	snprintf(e[2].vm, sizeof(e[2].vm), "%s", V[1]);
	snprintf(e[2].host, sizeof(e[2].host), "%s", H[3]);
	e[2].incarnation = inc[3];
	assert_int_equal(fo_apply(db, &e[2], 1, H[2], WALL0), 0);
	e[0].type = FO_E_INTENT_FAIL;
	assert_int_equal(fo_apply(db, e, 1, H[2], WALL0), 0);
	snprintf(e[2].host, sizeof(e[2].host), "%s", H[2]);
	e[2].incarnation = inc[2] + 1; /* host2 came back as another: not requeued */
	assert_int_equal(fo_apply(db, &e[2], 1, H[2], WALL0), 0);
	e[2].incarnation = inc[2];
	assert_int_equal(fo_apply(db, &e[2], 1, H[2], WALL0), 1);
	assert_int_equal(intent(1, NULL), DB_INTENT_QUEUED);
	/* An alert once per intent. */
	e[0].type = FO_E_ALERT;
	snprintf(e[0].name, sizeof(e[0].name), ALERT);
	snprintf(e[0].text, sizeof(e[0].text), "no room");
	assert_int_equal(fo_apply(db, e, 1, H[2], WALL0), 1);
	assert_int_equal(fo_apply(db, e, 1, H[2], WALL0), 0);
	assert_int_equal(count_alerts(1), 1);
	assert_int_equal(db_intent_get(db, V[1], &in), 0);
	assert_int_equal(in.alerted, 1);
	/* Host not live: only the incarnation named. */
	e[0].type = FO_E_HOST_NOT_LIVE;
	snprintf(e[0].host, sizeof(e[0].host), "%s", H[4]);
	e[0].incarnation = inc[4] - 1;
	assert_int_equal(fo_apply(db, e, 1, H[2], WALL0), 0);
	assert_true(host_live(4));
	e[0].incarnation = inc[4];
	assert_int_equal(fo_apply(db, e, 1, H[2], WALL0), 1);
	assert_false(host_live(4));
	assert_int_equal(fo_apply(db, e, 1, H[2], WALL0), 0);
}

/* A host's own edits: INCARNATE, CLAIM (only a VM Running on it without an
** intent, only for the incarnation its row shows), ADOPT (only a START
** ISSUED to it for another incarnation, the VM Halted). */
static void
test_host_edits(void **state)
{
	struct db_vm_intent in;

	put_vm(1, 1, 2, 'p', 0, 0);
	put_vm(2, 3, 2, 'p', 0, 0);
	put_vm(3, 0, 2, 'p', 0, 0);
	/* Not incarnated as 201 yet: claim and adopt refused. */
	inc[1] = 201;
	assert_int_equal(host_edit(1, FO_E_VM_CLAIM, 1), 0);
	assert_int_equal(host_edit(1, FO_E_HOST_INCARNATE, -1), 1);
	assert_int_equal(host_edit(1, FO_E_HOST_INCARNATE, -1), 0);
	assert_int_equal(db_inc(1), 201);
	/* Claim: a VM on another host, or halted, refused; its own: halted and
	** ISSUED to itself, once. */
	assert_int_equal(host_edit(1, FO_E_VM_CLAIM, 2), 0);
	assert_int_equal(host_edit(1, FO_E_VM_CLAIM, 3), 0);
	assert_int_equal(host_edit(1, FO_E_VM_CLAIM, 1), 1);
	assert_true(halted(1));
	assert_int_equal(db_intent_get(db, V[1], &in), 0);
	assert_int_equal(in.state, DB_INTENT_ISSUED);
	assert_int_equal(in.why, DB_WHY_ALWAYS_RUN);
	assert_string_equal(in.host, H[1]);
	assert_string_equal(in.from, H[1]);
	assert_int_equal(in.incarnation, 201);
	assert_int_equal(in.attempts, 1);
	assert_int_equal(host_edit(1, FO_E_VM_CLAIM, 1), 0);
	/* Adopt: refused for my own incarnation's intent and another host's. */
	assert_int_equal(host_edit(1, FO_E_INTENT_ADOPT, 1), 0);
	in.incarnation = 101; /* as if ISSUED to my old self */
	assert_int_equal(db_intent_put(db, &in), 0);
	assert_int_equal(host_edit(3, FO_E_INTENT_ADOPT, 1), 0);
	assert_int_equal(host_edit(1, FO_E_INTENT_ADOPT, 1), 1);
	assert_int_equal(db_intent_get(db, V[1], &in), 0);
	assert_int_equal(in.incarnation, 201);
	/* ... and while my row shows another incarnation (I was replaced). */
	in.incarnation = 101;
	assert_int_equal(db_intent_put(db, &in), 0);
	assert_int_equal(db_host_set_incarnation(db, H[1], 301), 0);
	assert_int_equal(host_edit(1, FO_E_INTENT_ADOPT, 1), 0);
	assert_int_equal(host_edit(1, FO_E_VM_CLAIM, 2), 0);
}

/* A host that dies and is admitted again -- rebooted, incarnated anew --
** before the master's dead-host write lands: that write, decided for the
** incarnation that died, changes nothing of what the new one did (it
** claimed its stale VMs and adopted the START ISSUED to its old self); the
** VMs run once, on host1.  docs/failover.md, "Incarnations". */
static void
test_rebooted_before_dead_write(void **state)
{
	struct fo_actions out = {0};
	struct fo_event ev;
	struct db_vm_intent in;
	struct fo_action stale;
	int i;

	put_vm(1, 1, 2, 'p', 0, 0);
	put_vm(2, 1, 2, 'p', 1, 0);
	put_vm(3, 0, 2, 'p', 0, 0);
	db_intent_init(&in);
	snprintf(in.vm, sizeof(in.vm), "%s", V[3]);
	in.state = DB_INTENT_ISSUED;
	snprintf(in.host, sizeof(in.host), "%s", H[1]);
	in.incarnation = inc[1];
	in.attempts = 1;
	assert_int_equal(db_intent_put(db, &in), 0);
	start_executor(0, 2);
	set_active(0, 1);
	/* host1 dies: the executor decides its dead-host write; it is in
	** flight (not applied) ... */
	live[1] = 0;
	liveset_all();
	dead[1] = 1;
	memset(&ev, 0, sizeof(ev));
	ev.type = FO_EV_HOST_DEAD;
	snprintf(ev.u.host, sizeof(ev.u.host), "%s", H[1]);
	ev.incarnation = db_inc(1);
	assert_int_equal(fo_step(fo[0], &ev, now, &out), 0);
	assert_int_equal(out.v[out.n - 1].type, FO_ACT_WRITE);
	stale = out.v[out.n - 1];
	/* ... while host1 reboots, is admitted, says who it is and settles what
	** its old self left: claims vm1 and vm2, adopts vm3's START. */
	inc[1] = 201;
	assert_int_equal(host_edit(1, FO_E_HOST_INCARNATE, -1), 1);
	assert_int_equal(host_edit(1, FO_E_VM_CLAIM, 1), 1);
	assert_int_equal(host_edit(1, FO_E_VM_CLAIM, 2), 1);
	assert_int_equal(host_edit(1, FO_E_INTENT_ADOPT, 3), 1);
	/* The stale write lands: every edit skipped. */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(fo_apply(db, stale.edits, stale.nedits, H[2], WALL0 + (int64_t)now), 0);
	assert_int_equal(db_commit(db), 0);
	for (i = 1; i <= 3; i++) {
		assert_int_equal(db_intent_get(db, V[i], &in), 0);
		assert_int_equal(in.state, DB_INTENT_ISSUED);
		assert_string_equal(in.host, H[1]);
		assert_int_equal(in.incarnation, 201);
	}
	assert_true(host_live(1));
	memset(&ev, 0, sizeof(ev));
	ev.type = FO_EV_WRITTEN;
	ev.u.written.id = stale.id;
	ev.u.written.ok = 1;
	fo_actions_free(&out);
	assert_int_equal(fo_step(fo[0], &ev, now, &out), 0);
	fo_actions_free(&out);
	broadcast_db();
	/* The executor has no more to do for host1's old self, even before it
	** sees host1 in its liveset again. */
	run_until(now + 5000);
	assert_int_equal(writes, 0);
	live[1] = 1;
	dead[1] = 0;
	liveset_all();
	assert_int_equal(targets_run(), 3);
	for (i = 1; i <= 3; i++) {
		assert_true(running_on(i, 1));
		assert_int_equal(issues[i], 0); /* never ISSUED by the executor */
	}
	run_until(now + 5000);
	assert_int_equal(writes, 0);
}

/* Only a host whose hasvcd said who it is gets a START: host3 and host4
** have no incarnation yet (both empty, the best fits). */
static void
test_unincarnated_not_a_target(void **state)
{
	struct db_vm_intent in;

	put_vm(1, 1, 2, 'p', 0, 0);
	put_vm(9, 2, 12, 'u', 0, 0);
	assert_int_equal(db_host_set_incarnation(db, H[3], 0), 0);
	assert_int_equal(db_host_set_incarnation(db, H[4], 0), 0);
	start_executor(0, 2);
	set_active(0, 1);
	host_dies(1);
	assert_int_equal(issued_to(1), 2);
	assert_int_equal(db_intent_get(db, V[1], &in), 0);
	assert_int_equal(in.incarnation, inc[2]);
}

/* api_planner_check_host_out: taking a host out breaks the plan when its
** protected VMs then leave fewer failures tolerated than configured. */
static void
test_check_host_out(void **state)
{
	struct event_base *base = event_base_new();
	struct api_ctx ctx;
	struct api_planner *p;
	struct db_pool pool;
	char why[256];

	assert_non_null(base);
	memset(&ctx, 0, sizeof(ctx));
	ctx.db = db;
	p = api_planner_new(base, &ctx);
	put_vm(1, 1, 10, 'p', 0, 0);
	put_vm(2, 2, 10, 'p', 0, 0);
	assert_int_equal(db_pool_get(db, &pool), 0);
	pool.ha_host_failures_to_tolerate = 1;
	assert_int_equal(db_pool_put(db, &pool), 0);
	/* 4 hosts of 16 GiB, two 10 GiB VMs: host1 out still tolerates 1. */
	assert_int_equal(api_planner_check_host_out(p, H[1], why, sizeof(why)), 0);
	put_vm(3, 3, 10, 'p', 0, 0);
	put_vm(4, 4, 10, 'p', 0, 0);
	/* Every host holds 10 GiB: with host1 out its VM has no place. */
	why[0] = '\0';
	assert_int_equal(api_planner_check_host_out(p, H[1], why, sizeof(why)), 1);
	assert_non_null(strstr(why, H[1]));
	pool.ha_allow_overcommit = 1;
	assert_int_equal(db_pool_put(db, &pool), 0);
	assert_int_equal(api_planner_check_host_out(p, H[1], why, sizeof(why)), 0);
	pool.ha_allow_overcommit = 0;
	pool.ha_enabled = 0;
	assert_int_equal(db_pool_put(db, &pool), 0);
	assert_int_equal(api_planner_check_host_out(p, H[1], why, sizeof(why)), 0);
	pool.ha_enabled = 1;
	assert_int_equal(db_pool_put(db, &pool), 0);
	assert_int_equal(
	    api_planner_check_host_out(p, "22222222-0000-4000-8000-000000000099", why, sizeof(why)),
	    -1);
	db_pool_clear(&pool);
	api_planner_free(p);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_order_groups, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delay_outlives_lower_group, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_active, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overcommit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_target_failed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_target_dies_while_issued, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_takeover, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_multiple_deaths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_admitted_again, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_only_usable_targets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_always_run, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_evacuate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_vm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apply_preconditions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_host_edits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rebooted_before_dead_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unincarnated_not_a_target, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_host_out, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
