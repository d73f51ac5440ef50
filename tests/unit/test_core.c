/*
** Unit tests of the sans-I/O core: events in, actions out, virtual time.
*/
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hasvc/core.h"
#include "lib/check.h"
#include "lib/log.h"

#define HOST "11111111-1111-4111-8111-111111111111"
#define VM_A "aaaaaaaa-0000-4000-8000-000000000001"
#define VM_B "aaaaaaaa-0000-4000-8000-000000000002"
#define VM_C "aaaaaaaa-0000-4000-8000-000000000003"
#define VM_X "ffffffff-0000-4000-8000-00000000000f"

#define INC 77     /* this hasvcd's incarnation */
#define OLD_INC 41 /* an earlier one's */

struct fixture {
	struct core *c;
	struct core_actions out;
	struct core_config cfg;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	core_config_defaults(&f->cfg);
	strcpy(f->cfg.host_uuid, HOST);
	f->cfg.incarnation = INC;
	f->c = core_new(&f->cfg);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	core_free(f->c);
	core_actions_free(&f->out);
	free(f);
	return 0;
}

static struct core_vm_view
vm(const char *uuid, enum db_power_state p, int here, enum db_restart_priority prio, int always,
   int64_t order)
{
	struct core_vm_view v;

	memset(&v, 0, sizeof(v));
	strcpy(v.uuid, uuid);
	v.power = p;
	v.here = here;
	v.priority = prio;
	v.always_run = always;
	v.order = order;
	return v;
}

/* `v` with an intent ISSUED here; a START to my incarnation. */
static struct core_vm_view
with_intent(struct core_vm_view v, int op, int clean, int64_t attempts)
{
	v.intent_op = op;
	v.intent_clean = clean;
	v.intent_attempts = attempts;
	v.intent_incarnation = op == DB_INTENT_START ? INC : 0;
	return v;
}

/* `v` as its claim (FO_E_VM_CLAIM) leaves it: Halted, resident nowhere, a
** START ISSUED to my incarnation. */
static struct core_vm_view
claimed(struct core_vm_view v)
{
	v.power = DB_POWER_HALTED;
	v.here = 0;
	return with_intent(v, DB_INTENT_START, 0, 1);
}

static struct hv_domain
dom(const char *uuid, enum hv_dom_state s)
{
	struct hv_domain d;

	memset(&d, 0, sizeof(d));
	strcpy(d.uuid, uuid);
	d.state = s;
	d.memory = 1 << 30;
	return d;
}

static int
step(struct fixture *f, struct core_event *ev, uint64_t now)
{
	core_actions_reset(&f->out);
	return core_step(f->c, ev, now, &f->out);
}

/* CORE_EV_HA, its actions appended to the last step's (no reset). */
static void
ha_append(struct fixture *f, int enabled, int member, int reboot, uint64_t now)
{
	struct core_event ev = {.type = CORE_EV_HA};

	ev.u.ha.enabled = enabled;
	ev.u.ha.member = member;
	ev.u.ha.reboot_on_internal_shutdown = reboot;
	assert_int_equal(core_step(f->c, &ev, now, &f->out), 0);
}

static void
ha(struct fixture *f, int enabled, int member, int reboot, uint64_t now)
{
	core_actions_reset(&f->out);
	ha_append(f, enabled, member, reboot, now);
}

/* START, then (as hasvcd does at once) CORE_EV_HA: HA as given, this host in
** the liveset, reboot on internal shutdown on.  f->out holds both steps'
** actions. */
static void
start(struct fixture *f, int ha_enabled, uint64_t now)
{
	struct core_event ev = {.type = CORE_EV_START};

	ev.u.start.ha_enabled = ha_enabled;
	assert_int_equal(step(f, &ev, now), 0);
	ha_append(f, ha_enabled, 1, 1, now);
}

/* A snapshot; incarnated_domains: whether my host row shows INC. */
static int
incarnated_domains(struct fixture *f, int incarnated, const struct core_vm_view *vms,
		   size_t nvms, const struct hv_domain *doms, size_t ndoms, uint64_t now)
{
	struct core_event ev = {.type = CORE_EV_DOMAINS};

	ev.u.domains.vms = vms;
	ev.u.domains.nvms = nvms;
	ev.u.domains.doms = doms;
	ev.u.domains.ndoms = ndoms;
	ev.u.domains.incarnated = incarnated;
	return step(f, &ev, now);
}

static int
domains(struct fixture *f, const struct core_vm_view *vms, size_t nvms,
	const struct hv_domain *doms, size_t ndoms, uint64_t now)
{
	return incarnated_domains(f, 1, vms, nvms, doms, ndoms, now);
}

static void
tick(struct fixture *f, uint64_t now)
{
	struct core_event ev = {.type = CORE_EV_TICK};

	assert_int_equal(step(f, &ev, now), 0);
}

static void
start_result(struct fixture *f, const char *uuid, int err, uint64_t now)
{
	struct core_event ev = {.type = CORE_EV_START_RESULT};

	strcpy(ev.u.start_result.vm, uuid);
	ev.u.start_result.err = err;
	assert_int_equal(step(f, &ev, now), 0);
}

/* How many actions of `type` (for `uuid`, if given) the last step emitted. */
static int
count(const struct fixture *f, enum core_action_type type, const char *uuid)
{
	size_t i;
	int n = 0;

	for (i = 0; i < f->out.n; i++)
		if (f->out.v[i].type == type && (uuid == NULL || strcmp(f->out.v[i].vm, uuid) == 0))
			n++;
	return n;
}

static const struct core_action *
find(const struct fixture *f, enum core_action_type type, const char *uuid)
{
	size_t i;

	for (i = 0; i < f->out.n; i++)
		if (f->out.v[i].type == type && (uuid == NULL || strcmp(f->out.v[i].vm, uuid) == 0))
			return &f->out.v[i];
	return NULL;
}

static void
test_start_queries(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(core_get_state(f->c), CORE_INIT);
	start(f, 1, 0);
	assert_int_equal(core_get_state(f->c), CORE_RECONCILING);
	assert_int_equal(count(f, CORE_ACT_QUERY_DOMAINS, NULL), 1);
	assert_int_equal(count(f, CORE_ACT_UPDATE_METRICS, NULL), 1);
}

static void
test_reconcile_restarts_protected_halts_others(void **state)
{
	struct fixture *f = *state;
	struct core_vm_view vms[3];
	const struct core_action *a;

	vms[0] = vm(VM_A, DB_POWER_RUNNING, 1, DB_PRIO_RESTART, 1, 0);
	vms[1] = vm(VM_B, DB_POWER_RUNNING, 1, DB_PRIO_NONE, 0, 0);
	vms[2] = vm(VM_C, DB_POWER_RUNNING, 1, DB_PRIO_BEST_EFFORT, 0, 0);
	start(f, 1, 0);
	assert_int_equal(domains(f, vms, 3, NULL, 0, 10), 0);
	assert_int_equal(core_get_state(f->c), CORE_RUNNING);
	/* Claimed, never started on the core's own say. */
	assert_int_equal(count(f, CORE_ACT_CLAIM, VM_A), 1);
	assert_int_equal(count(f, CORE_ACT_CLAIM, VM_C), 1);
	assert_int_equal(count(f, CORE_ACT_CLAIM, VM_B), 0);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
	a = find(f, CORE_ACT_SET_VM_POWER, VM_B);
	assert_non_null(a);
	assert_int_equal(a->power, DB_POWER_HALTED);
	assert_int_equal(a->here, 0);
	/* The claims landed: the intents start them. */
	vms[0] = claimed(vms[0]);
	vms[1] = vm(VM_B, DB_POWER_HALTED, 0, DB_PRIO_NONE, 0, 0);
	vms[2] = claimed(vms[2]);
	domains(f, vms, 3, NULL, 0, 20);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 1);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_C), 1);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_B), 0);
	assert_int_equal(count(f, CORE_ACT_CLAIM, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_SET_VM_POWER, NULL), 0);
}

static void
test_ha_disabled_halts_protected(void **state)
{
	struct fixture *f = *state;
	struct core_vm_view v = vm(VM_A, DB_POWER_RUNNING, 1, DB_PRIO_RESTART, 1, 0);
	const struct core_action *a;

	start(f, 0, 0);
	domains(f, &v, 1, NULL, 0, 10);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_CLAIM, NULL), 0);
	a = find(f, CORE_ACT_SET_VM_POWER, VM_A);
	assert_non_null(a);
	assert_int_equal(a->power, DB_POWER_HALTED);
}

static void
test_running_domain_corrects_db(void **state)
{
	struct fixture *f = *state;
	struct core_vm_view vms[2];
	struct hv_domain d[3];
	const struct core_action *a;

	vms[0] = vm(VM_A, DB_POWER_HALTED, 0, DB_PRIO_NONE, 0, 0);
	vms[1] = vm(VM_B, DB_POWER_RUNNING, 1, DB_PRIO_NONE, 0, 0);
	d[0] = dom(VM_A, HV_DOM_PAUSED);
	d[1] = dom(VM_B, HV_DOM_RUNNING);
	d[2] = dom(VM_X, HV_DOM_RUNNING); /* foreign */
	start(f, 0, 0);
	domains(f, vms, 2, d, 3, 10);
	a = find(f, CORE_ACT_SET_VM_POWER, VM_A);
	assert_non_null(a);
	assert_int_equal(a->power, DB_POWER_PAUSED);
	assert_int_equal(a->here, 1);
	assert_int_equal(count(f, CORE_ACT_SET_VM_POWER, VM_B), 0); /* already right */
	assert_int_equal(count(f, CORE_ACT_SET_VM_POWER, VM_X), 0);
	assert_int_equal(count(f, CORE_ACT_DESTROY_VM, NULL), 0); /* foreign: left alone */
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
}

static void
test_crashed_domain_reaped_then_restarted(void **state)
{
	struct fixture *f = *state;
	struct core_vm_view v = vm(VM_A, DB_POWER_RUNNING, 1, DB_PRIO_RESTART, 1, 0);
	struct hv_domain d = dom(VM_A, HV_DOM_CRASHED);

	start(f, 1, 0);
	domains(f, &v, 1, &d, 1, 10);
	assert_int_equal(count(f, CORE_ACT_DESTROY_VM, VM_A), 1);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 0);
	assert_int_equal(count(f, CORE_ACT_CLAIM, VM_A), 0);
	/* Reaped: next snapshot has no domain, and the VM is claimed ... */
	domains(f, &v, 1, NULL, 0, 20);
	assert_int_equal(count(f, CORE_ACT_CLAIM, VM_A), 1);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 0);
	/* ... and comes back once the claim landed. */
	v = claimed(v);
	domains(f, &v, 1, NULL, 0, 30);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 1);
}

static void
test_one_start_in_flight(void **state)
{
	struct fixture *f = *state;
	struct core_vm_view v = vm(VM_A, DB_POWER_RUNNING, 1, DB_PRIO_RESTART, 1, 0);

	start(f, 1, 0);
	domains(f, &v, 1, NULL, 0, 10);
	assert_int_equal(count(f, CORE_ACT_CLAIM, VM_A), 1);
	v = claimed(v);
	domains(f, &v, 1, NULL, 0, 20);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 1);
	domains(f, &v, 1, NULL, 0, 30);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 0);
	domains(f, &v, 1, NULL, 0, 30 + f->cfg.poll_ms);
	assert_int_equal(f->out.n, 0);
}

/* Replace the fixture's core by one with cfg.standalone set. */
static void
make_standalone(struct fixture *f)
{
	core_free(f->c);
	f->cfg.standalone = 1;
	f->c = core_new(&f->cfg);
}

/* Standalone: a claimed restart whose start fails for good is retried with
** a doubling backoff, never reported FAILED (no master would replan it). */
static void
test_failed_start_backs_off(void **state)
{
	struct fixture *f = *state;
	struct core_vm_view v = vm(VM_A, DB_POWER_RUNNING, 1, DB_PRIO_RESTART, 1, 0);
	uint64_t now = 10, expect = f->cfg.retry_min_ms;
	int round;

	make_standalone(f);
	start(f, 1, 0);
	domains(f, &v, 1, NULL, 0, now);
	assert_int_equal(count(f, CORE_ACT_CLAIM, VM_A), 1);
	v = claimed(v);
	domains(f, &v, 1, NULL, 0, now);
	for (round = 0; round < 10; round++) {
		assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 1);
		start_result(f, VM_A, ENOMEM, now);
		assert_int_equal(count(f, CORE_ACT_INTENT_FAILED, NULL), 0);
		/* Before the backoff expires, snapshots start nothing. */
		domains(f, &v, 1, NULL, 0, now + expect - 1);
		assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 0);
		assert_int_equal(count(f, CORE_ACT_INTENT_FAILED, NULL), 0);
		assert_true(core_next_deadline(f->c, now) <= now + expect);
		now += expect;
		tick(f, now);
		assert_int_equal(count(f, CORE_ACT_QUERY_DOMAINS, NULL), 1);
		domains(f, &v, 1, NULL, 0, now);
		expect = expect * 2 > f->cfg.retry_max_ms ? f->cfg.retry_max_ms : expect * 2;
	}
	assert_int_equal(expect, f->cfg.retry_max_ms);
	/* Success clears the backoff: a later loss is claimed and started at
	** once. */
	start_result(f, VM_A, 0, now);
	assert_int_equal(count(f, CORE_ACT_INTENT_DONE, VM_A), 1);
	v = vm(VM_A, DB_POWER_RUNNING, 1, DB_PRIO_RESTART, 1, 0);
	{
		struct hv_domain d = dom(VM_A, HV_DOM_RUNNING);

		domains(f, &v, 1, &d, 1, now + 1);
	}
	domains(f, &v, 1, NULL, 0, now + 2);
	assert_int_equal(count(f, CORE_ACT_CLAIM, VM_A), 1);
	v = claimed(v);
	domains(f, &v, 1, NULL, 0, now + 3);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 1);
}

/* A claimed restart whose start fails for good: FAILED for the master to
** replan -- unless standalone (above). */
static void
test_claimed_start_definite_failure(void **state)
{
	struct fixture *f = *state;
	struct core_vm_view v = claimed(vm(VM_A, DB_POWER_RUNNING, 1, DB_PRIO_RESTART, 1, 0));
	int standalone;

	for (standalone = 0; standalone <= 1; standalone++) {
		if (standalone)
			make_standalone(f);
		start(f, 1, 0);
		domains(f, &v, 1, NULL, 0, 10);
		assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 1);
		start_result(f, VM_A, ENOMEM, 20);
		assert_int_equal(count(f, CORE_ACT_INTENT_FAILED, VM_A), standalone ? 0 : 1);
		domains(f, &v, 1, NULL, 0, 20 + f->cfg.poll_ms); /* >= retry_min_ms */
		assert_int_equal(count(f, CORE_ACT_INTENT_FAILED, VM_A), standalone ? 0 : 1);
		assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), standalone ? 1 : 0);
	}
}

static void
test_restart_order(void **state)
{
	struct fixture *f = *state;
	struct core_vm_view vms[3];
	size_t i;
	int seen = 0;

	vms[0] = vm(VM_C, DB_POWER_RUNNING, 1, DB_PRIO_RESTART, 1, 5);
	vms[1] = vm(VM_A, DB_POWER_RUNNING, 1, DB_PRIO_RESTART, 1, 9);
	vms[2] = vm(VM_B, DB_POWER_RUNNING, 1, DB_PRIO_RESTART, 1, 1);
	start(f, 1, 0);
	domains(f, vms, 3, NULL, 0, 10);
	for (i = 0; i < f->out.n; i++) {
		if (f->out.v[i].type != CORE_ACT_CLAIM)
			continue;
		assert_string_equal(f->out.v[i].vm, seen == 0 ? VM_B : seen == 1 ? VM_C : VM_A);
		seen++;
	}
	assert_int_equal(seen, 3);
	for (i = 0; i < 3; i++)
		vms[i] = claimed(vms[i]);
	domains(f, vms, 3, NULL, 0, 20);
	for (i = 0, seen = 0; i < f->out.n; i++) {
		if (f->out.v[i].type != CORE_ACT_START_VM)
			continue;
		assert_string_equal(f->out.v[i].vm, seen == 0 ? VM_B : seen == 1 ? VM_C : VM_A);
		seen++;
	}
	assert_int_equal(seen, 3);
}

/* Whether an action is one the core may emit.  The switch has no default, so
** a new action type does not compile (-Wswitch, WERROR) until it is sorted
** here: the core must never again grow a watchdog action (core.h: the
** watchdog belongs to the fence state machine and its keeper). */
static int
action_allowed(enum core_action_type t)
{
	switch (t) {
	case CORE_ACT_QUERY_DOMAINS:
	case CORE_ACT_START_VM:
	case CORE_ACT_DESTROY_VM:
	case CORE_ACT_SET_VM_POWER:
	case CORE_ACT_UPDATE_METRICS:
	case CORE_ACT_EXIT:
	case CORE_ACT_STOP_VM:
	case CORE_ACT_INTENT_DONE:
	case CORE_ACT_INTENT_FAILED:
	case CORE_ACT_INCARNATE:
	case CORE_ACT_CLAIM:
	case CORE_ACT_ADOPT:
		return 1;
	case CORE_NACTIONS:
		break;
	}
	return 0;
}

/* No action name speaks of the watchdog. */
static int
watchdog_name(const char *name)
{
	return strstr(name, "wd") != NULL || strstr(name, "watchdog") != NULL ||
	       strstr(name, "pet") != NULL || strstr(name, "arm") != NULL;
}

static void
test_action_set_has_no_watchdog(void **state)
{
	int t;

	for (t = 0; t < CORE_NACTIONS; t++) {
		assert_true(action_allowed((enum core_action_type)t));
		assert_string_not_equal(core_action_name((enum core_action_type)t), "?");
		assert_false(watchdog_name(core_action_name((enum core_action_type)t)));
	}
	assert_string_equal(core_action_name(CORE_ACT_INCARNATE), "incarnate");
	assert_string_equal(core_action_name(CORE_ACT_CLAIM), "claim");
	assert_string_equal(core_action_name(CORE_ACT_ADOPT), "adopt");
}

/* A tiny world for full runs: the DB's views and which domains exist, with
** the core's actions carried out on it as hasvcd would (answers fed back at
** once; writes with their preconditions; a FAILED START issued here again
** at once, as a master with no other host would).  VM_A's first start
** fails; VM_X is a foreign domain. */
struct world {
	struct core_vm_view vms[3];
	int up[3];       /* a running domain for vms[i] */
	int crashed[3];  /* a crashed domain for vms[i] */
	int a_failed;    /* VM_A's first start has failed */
	int incarnated;  /* my host row shows INC */
	size_t nactions; /* all actions seen */
	int nstarts, nreaps, nexit, nclaims, nadopts, nincarnates, nfailed;
};

static void feed(struct fixture *f, struct world *w, struct core_event *ev, uint64_t now);

static int
world_vm(const struct world *w, const char *uuid)
{
	int i;

	for (i = 0; i < 3; i++)
		if (strcmp(w->vms[i].uuid, uuid) == 0)
			return i;
	return -1;
}

static void
carry_out(struct fixture *f, struct world *w, uint64_t now)
{
	struct core_action acts[32];
	size_t i, n = f->out.n;
	int k;

	assert_true(n <= 32);
	memcpy(acts, f->out.v, n * sizeof(acts[0]));
	w->nactions += n;
	for (i = 0; i < n; i++) {
		struct core_event ev;

		assert_true(action_allowed(acts[i].type));
		assert_false(watchdog_name(core_action_name(acts[i].type)));
		memset(&ev, 0, sizeof(ev));
		k = world_vm(w, acts[i].vm);
		switch (acts[i].type) {
		case CORE_ACT_QUERY_DOMAINS: {
			struct hv_domain doms[4];
			size_t nd = 0;
			int j;

			doms[nd++] = dom(VM_X, HV_DOM_RUNNING);
			for (j = 0; j < 3; j++)
				if (w->up[j] || w->crashed[j])
					doms[nd++] =
					    dom(w->vms[j].uuid,
						w->crashed[j] ? HV_DOM_CRASHED : HV_DOM_RUNNING);
			ev.type = CORE_EV_DOMAINS;
			ev.u.domains.vms = w->vms;
			ev.u.domains.nvms = 3;
			ev.u.domains.doms = doms;
			ev.u.domains.ndoms = nd;
			ev.u.domains.incarnated = w->incarnated;
			feed(f, w, &ev, now);
			break;
		}
		case CORE_ACT_START_VM:
			assert_true(k >= 0);
			/* only a START ISSUED to my incarnation, recorded */
			assert_true(w->incarnated);
			assert_int_equal(w->vms[k].intent_op, DB_INTENT_START);
			assert_int_equal(w->vms[k].intent_incarnation, INC);
			w->nstarts++;
			ev.type = CORE_EV_START_RESULT;
			strcpy(ev.u.start_result.vm, acts[i].vm);
			if (k == 0 && !w->a_failed) {
				w->a_failed = 1;
				ev.u.start_result.err = 12; /* ENOMEM */
			} else {
				w->up[k] = 1;
			}
			feed(f, w, &ev, now);
			break;
		case CORE_ACT_DESTROY_VM:
			assert_true(k >= 0);
			w->nreaps++;
			w->up[k] = w->crashed[k] = 0;
			break;
		case CORE_ACT_SET_VM_POWER:
			assert_true(k >= 0);
			w->vms[k].power = acts[i].power;
			w->vms[k].here = acts[i].here;
			break;
		case CORE_ACT_EXIT:
			w->nexit++;
			break;
		case CORE_ACT_INCARNATE:
			w->nincarnates++;
			w->incarnated = 1;
			break;
		case CORE_ACT_CLAIM: /* FO_E_VM_CLAIM */
			assert_true(k >= 0);
			w->nclaims++;
			if (w->incarnated && w->vms[k].here && w->vms[k].intent_op == 0 &&
			    (w->vms[k].power == DB_POWER_RUNNING ||
			     w->vms[k].power == DB_POWER_PAUSED))
				w->vms[k] = claimed(w->vms[k]);
			break;
		case CORE_ACT_ADOPT: /* FO_E_INTENT_ADOPT */
			assert_true(k >= 0);
			w->nadopts++;
			if (w->incarnated && w->vms[k].intent_op == DB_INTENT_START &&
			    w->vms[k].power == DB_POWER_HALTED && !w->vms[k].here)
				w->vms[k].intent_incarnation = INC;
			break;
		case CORE_ACT_INTENT_DONE:
			assert_true(k >= 0);
			assert_int_equal(acts[i].intent_op, DB_INTENT_START);
			if (w->vms[k].intent_op == DB_INTENT_START) {
				w->vms[k].power = acts[i].power;
				w->vms[k].here = acts[i].here;
				w->vms[k].intent_op = 0;
			}
			break;
		case CORE_ACT_INTENT_FAILED:
			assert_true(k >= 0);
			w->nfailed++;
			if (w->vms[k].intent_op == DB_INTENT_START)
				w->vms[k].intent_attempts++;
			break;
		case CORE_ACT_STOP_VM:
			fail_msg("%s without an intent", core_action_name(acts[i].type));
			break;
		case CORE_ACT_UPDATE_METRICS:
		case CORE_NACTIONS:
			break;
		}
	}
}

static void
feed(struct fixture *f, struct world *w, struct core_event *ev, uint64_t now)
{
	assert_int_equal(step(f, ev, now), 0);
	carry_out(f, w, now);
}

/* A whole life with HA enabled: start, reconcile (a restart that fails and is
** retried, a reap and restart, an unprotected VM halted, a foreign domain),
** an hour of ticks at the deadlines the core asks for with hypervisor events
** among them, then hv-lost or stop.  Not one watchdog action, ever, and no
** deadline beyond what polling needs. */
static void
full_run(struct fixture *f, enum core_event_type last)
{
	struct world w;
	struct core_event ev;
	uint64_t now = 0, prev;
	int ticks = 0;

	memset(&w, 0, sizeof(w));
	w.vms[0] = vm(VM_A, DB_POWER_RUNNING, 1, DB_PRIO_RESTART, 1, 0);
	w.vms[1] = vm(VM_B, DB_POWER_RUNNING, 1, DB_PRIO_BEST_EFFORT, 0, 1);
	w.vms[2] = vm(VM_C, DB_POWER_RUNNING, 1, DB_PRIO_NONE, 0, 2);
	w.crashed[1] = 1;
	/* VM_B: an old self's START is here, adopted first. */
	w.vms[1] = claimed(w.vms[1]);
	w.vms[1].intent_incarnation = OLD_INC;

	memset(&ev, 0, sizeof(ev));
	ev.type = CORE_EV_START;
	ev.u.start.ha_enabled = 1;
	feed(f, &w, &ev, now);
	memset(&ev, 0, sizeof(ev));
	ev.type = CORE_EV_HA;
	ev.u.ha.enabled = 1;
	ev.u.ha.member = 1;
	ev.u.ha.reboot_on_internal_shutdown = 1;
	feed(f, &w, &ev, now);
	assert_int_equal(core_get_state(f->c), CORE_RUNNING);

	while (now < 3600 * 1000) {
		prev = now;
		now = core_next_deadline(f->c, now);
		assert_true(now >= prev && now - prev <= f->cfg.poll_ms);
		memset(&ev, 0, sizeof(ev));
		ev.type = CORE_EV_TICK;
		feed(f, &w, &ev, now);
		if (++ticks % 500 == 0) {
			/* VM_A crashes now and then: reaped, restarted. */
			w.up[0] = 0;
			w.crashed[0] = 1;
			memset(&ev, 0, sizeof(ev));
			ev.type = CORE_EV_HV_EVENT;
			ev.u.hv.type = HV_EV_DOMAIN_CRASHED;
			strcpy(ev.u.hv.uuid, VM_A);
			feed(f, &w, &ev, now);
		}
		assert_int_equal(core_get_state(f->c), CORE_RUNNING);
	}
	assert_true(ticks >= 1800);
	assert_true(w.a_failed && w.up[0] && w.up[1] && !w.up[2]);
	assert_int_equal(w.vms[2].power, DB_POWER_HALTED);
	assert_true(w.nreaps >= 2 && w.nstarts >= 4);
	assert_true(w.nactions > 2000);
	assert_int_equal(w.nincarnates, 1);
	assert_int_equal(w.nadopts, 1);
	assert_int_equal(w.nfailed, 1);
	assert_true(w.nclaims >= 2);

	memset(&ev, 0, sizeof(ev));
	ev.type = last;
	if (last == CORE_EV_HV_LOST)
		strcpy(ev.u.lost.reason, "connection reset");
	feed(f, &w, &ev, now + 1);
	assert_int_equal(f->out.n, 1); /* only the exit: nothing to disarm */
	assert_int_equal(f->out.v[0].type, CORE_ACT_EXIT);
	assert_int_equal(f->out.v[0].exit_code, last == CORE_EV_HV_LOST ? 1 : 0);
	assert_int_equal(w.nexit, 1);
	assert_int_equal(core_get_state(f->c), CORE_STOPPED);
	assert_int_equal(core_next_deadline(f->c, now + 2), UINT64_MAX);
}

static void
test_full_run_never_touches_watchdog_hv_lost(void **state)
{
	full_run(*state, CORE_EV_HV_LOST);
}

static void
test_full_run_never_touches_watchdog_stop(void **state)
{
	full_run(*state, CORE_EV_STOP);
}

static void
test_stop_exits(void **state)
{
	struct fixture *f = *state;
	struct core_event ev = {.type = CORE_EV_STOP};
	size_t i;

	start(f, 1, 0);
	domains(f, NULL, 0, NULL, 0, 10);
	assert_int_equal(step(f, &ev, 20), 0);
	assert_int_equal(core_get_state(f->c), CORE_STOPPED);
	assert_int_equal(f->out.n, 1);
	assert_int_equal(f->out.v[0].type, CORE_ACT_EXIT);
	assert_int_equal(f->out.v[0].exit_code, 0);
	/* Nothing is accepted once stopped. */
	for (i = 0; i < CORE_NEVENTS; i++) {
		struct core_event e = {.type = (enum core_event_type)i};

		assert_int_equal(step(f, &e, 30), -1);
		assert_int_equal(f->out.n, 0);
	}
	assert_int_equal(core_next_deadline(f->c, 30), UINT64_MAX);
}

static void
test_hv_lost_exits_nonzero(void **state)
{
	struct fixture *f = *state;
	struct core_event ev = {.type = CORE_EV_HV_LOST};
	const struct core_action *a;

	start(f, 1, 0);
	domains(f, NULL, 0, NULL, 0, 10);
	strcpy(ev.u.lost.reason, "connection reset");
	assert_int_equal(step(f, &ev, 20), 0);
	assert_int_equal(f->out.n, 1);
	a = find(f, CORE_ACT_EXIT, NULL);
	assert_non_null(a);
	assert_int_equal(a->exit_code, 1);
}

static void
test_event_rejected_in_wrong_state(void **state)
{
	struct fixture *f = *state;

	/* A snapshot before START, a start result while reconciling. */
	assert_int_equal(domains(f, NULL, 0, NULL, 0, 0), -1);
	assert_int_equal(f->out.n, 0);
	assert_int_equal(core_get_state(f->c), CORE_INIT);
	start(f, 1, 0);
	{
		struct core_event ev = {.type = CORE_EV_START_RESULT};

		strcpy(ev.u.start_result.vm, VM_A);
		assert_int_equal(step(f, &ev, 1), -1);
	}
	{
		struct core_event ev = {.type = (enum core_event_type)99};

		assert_int_equal(step(f, &ev, 1), -1);
	}
	assert_int_equal(core_get_state(f->c), CORE_RECONCILING);
}

/* Random event schedules: the same seed gives the same actions (the core is
** deterministic), and invariants hold after every step. */
static uint64_t rng;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static uint64_t
run_schedule(uint64_t seed, int steps)
{
	static const char *uuids[] = {VM_A, VM_B, VM_C, VM_X};
	struct core_config cfg;
	struct core_actions out = {0};
	struct core *c;
	int r;
	uint64_t now = 0, digest = 1469598103934665603ull;
	int s, in_flight[4] = {0}, ha_en = 0, member = 0;
	static const int errs[] = {0, 0, 12 /* ENOMEM */, ETIMEDOUT, EEXIST};
	size_t i;

	rng = seed * 2654435761u + 1;
	core_config_defaults(&cfg);
	strcpy(cfg.host_uuid, HOST);
	cfg.incarnation = INC;
	cfg.standalone = (int)(seed % 2);
	c = core_new(&cfg);
	for (s = 0; s < steps; s++) {
		struct core_event ev;
		struct core_vm_view vms[4];
		struct hv_domain doms[4];
		size_t nd = 0;

		memset(&ev, 0, sizeof(ev));
		now += rnd(3000);
		ev.type = (enum core_event_type)rnd(CORE_NEVENTS);
		if (ev.type == CORE_EV_STOP && rnd(200) != 0)
			ev.type = CORE_EV_TICK; /* STOP rarely */
		if (rnd(200) == 0)
			ev.type = CORE_EV_STOP;
		switch (ev.type) {
		case CORE_EV_START:
			ev.u.start.ha_enabled = (int)rnd(2);
			break;
		case CORE_EV_HA:
			ev.u.ha.enabled = (int)rnd(2);
			ev.u.ha.member = (int)rnd(2);
			ev.u.ha.reboot_on_internal_shutdown = (int)rnd(2);
			break;
		case CORE_EV_DOMAINS:
			for (i = 0; i < 3; i++) {
				vms[i] = vm(uuids[i], (enum db_power_state)rnd(4), (int)rnd(2),
					    (enum db_restart_priority)rnd(3), (int)rnd(2),
					    (int64_t)rnd(3));
				vms[i].intent_op = (int)rnd(3);
				vms[i].intent_clean = (int)rnd(2);
				vms[i].intent_attempts = (int64_t)rnd(2);
				vms[i].intent_incarnation = rnd(3) ? INC : OLD_INC;
			}
			for (i = 0; i < 4; i++)
				if (rnd(2))
					doms[nd++] = dom(uuids[i], (enum hv_dom_state)(1 + rnd(5)));
			ev.u.domains.vms = vms;
			ev.u.domains.nvms = 3;
			ev.u.domains.doms = doms;
			ev.u.domains.ndoms = nd;
			ev.u.domains.incarnated = rnd(4) != 0;
			break;
		case CORE_EV_START_RESULT:
			strcpy(ev.u.start_result.vm, uuids[rnd(3)]);
			ev.u.start_result.err = errs[rnd(ARRAY_SIZE(errs))];
			break;
		case CORE_EV_HV_LOST:
			if (rnd(10) != 0)
				ev.type = CORE_EV_TICK;
			break;
		default:
			break;
		}
		/* A start result for a VM with no start in flight is a caller bug
		** (NEVER), so only send results for starts we saw. */
		if (ev.type == CORE_EV_START_RESULT) {
			for (i = 0; i < 3 && !in_flight[i]; i++)
				;
			if (i == 3)
				continue;
			strcpy(ev.u.start_result.vm, uuids[i]);
			in_flight[i] = 0;
		}
		core_actions_reset(&out);
		r = core_step(c, &ev, now, &out);
		digest = (digest ^ (uint64_t)(r + 2)) * 1099511628211ull;
		if (r == 0 && ev.type == CORE_EV_START)
			ha_en = ev.u.start.ha_enabled;
		if (r == 0 && ev.type == CORE_EV_HA) {
			ha_en = ev.u.ha.enabled;
			member = ev.u.ha.member;
		}
		for (i = 0; i < out.n; i++) {
			size_t k;

			enum core_action_type t = out.v[i].type;
			const struct core_vm_view *v = NULL;

			digest = (digest ^ t) * 1099511628211ull;
			assert_true(action_allowed(t));
			if (t == CORE_ACT_INCARNATE) {
				assert_int_equal(ev.type, CORE_EV_DOMAINS);
				assert_false(ev.u.domains.incarnated);
			}
			if (t != CORE_ACT_START_VM && t != CORE_ACT_CLAIM && t != CORE_ACT_ADOPT)
				continue;
			/* only on a snapshot that shows my incarnation, with the
			** liveset gate open */
			assert_int_equal(ev.type, CORE_EV_DOMAINS);
			assert_true(ev.u.domains.incarnated);
			assert_true(!ha_en || member);
			for (k = 0; k < 3; k++)
				if (strcmp(out.v[i].vm, uuids[k]) == 0)
					v = &vms[k];
			assert_non_null(v);
			k = (size_t)(v - vms);
			digest = (digest ^ k) * 1099511628211ull;
			for (size_t j = 0; j < nd; j++)
				assert_string_not_equal(doms[j].uuid, v->uuid); /* no domain */
			if (t == CORE_ACT_CLAIM) {
				assert_int_equal(v->intent_op, 0);
				assert_true(v->here && (v->power == DB_POWER_RUNNING ||
							v->power == DB_POWER_PAUSED));
				continue;
			}
			/* START_VM / ADOPT: a START ISSUED here, the VM Halted;
			** started only if mine, adopted only if not */
			assert_int_equal(v->intent_op, DB_INTENT_START);
			assert_int_equal(v->power, DB_POWER_HALTED);
			if (t == CORE_ACT_ADOPT) {
				assert_int_not_equal(v->intent_incarnation, INC);
				continue;
			}
			assert_int_equal(v->intent_incarnation, INC);
			/* never two starts in flight for one VM */
			assert_int_equal(in_flight[k], 0);
			in_flight[k] = 1;
		}
		if (core_get_state(c) == CORE_STOPPED)
			break;
	}
	core_free(c);
	core_actions_free(&out);
	return digest;
}

static void
test_random_schedules_deterministic(void **state)
{
	uint64_t seed;

	for (seed = 1; seed <= 300; seed++)
		assert_true(run_schedule(seed, 400) == run_schedule(seed, 400));
}

/* ---- HA view, liveset gate, intents ---- */

/* Not in the liveset: nothing starts, neither an intent nor the always-run
** restart (not even claimed); once a member, a fresh look starts the one and
** claims the other. */
static void
test_liveset_gate(void **state)
{
	struct fixture *f = *state;
	struct core_event ev = {.type = CORE_EV_START};
	struct core_vm_view vms[3];

	vms[0] = vm(VM_A, DB_POWER_RUNNING, 1, DB_PRIO_RESTART, 1, 0);
	vms[1] = with_intent(vm(VM_B, DB_POWER_HALTED, 0, DB_PRIO_RESTART, 1, 0), DB_INTENT_START,
			     0, 1);
	vms[2] = vm(VM_C, DB_POWER_RUNNING, 1, DB_PRIO_NONE, 0, 0);
	ev.u.start.ha_enabled = 1;
	assert_int_equal(step(f, &ev, 0), 0);
	/* No CORE_EV_HA yet: not a member. */
	domains(f, vms, 3, NULL, 0, 10);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_CLAIM, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_SET_VM_POWER, VM_A), 0); /* protected: left as is */
	assert_int_equal(count(f, CORE_ACT_SET_VM_POWER, VM_C), 1); /* unprotected: halted */
	ha(f, 1, 0, 1, 20);
	assert_int_equal(f->out.n, 0); /* no change */
	domains(f, vms, 3, NULL, 0, 3000);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_CLAIM, NULL), 0);
	/* Member: look again, start the intent, claim the restart. */
	ha(f, 1, 1, 1, 3100);
	assert_int_equal(count(f, CORE_ACT_QUERY_DOMAINS, NULL), 1);
	domains(f, vms, 3, NULL, 0, 3110);
	assert_int_equal(count(f, CORE_ACT_CLAIM, VM_A), 1);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 0);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_B), 1);
	/* Out of the liveset again: a snapshot starts and claims nothing,
	** long after the claim would have been due again. */
	ha(f, 1, 0, 1, 3300);
	domains(f, vms, 3, NULL, 0, 3300 + 70000);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_CLAIM, NULL), 0);
	/* HA off: the gate is open (no liveset to be in). */
	ha(f, 0, 0, 1, 80000);
	domains(f, &vms[1], 1, NULL, 0, 80010);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_B), 0); /* still in flight */
}

/* A claim is repeated no more often than every poll_ms while the database
** does not show it; once it shows, the claim is not sent again. */
static void
test_claim_throttled(void **state)
{
	struct fixture *f = *state;
	struct core_vm_view vms[2];

	vms[0] = vm(VM_A, DB_POWER_RUNNING, 1, DB_PRIO_RESTART, 1, 0);
	vms[1] = vm(VM_B, DB_POWER_PAUSED, 1, DB_PRIO_BEST_EFFORT, 0, 1);
	start(f, 1, 0);
	domains(f, vms, 2, NULL, 0, 10);
	assert_int_equal(count(f, CORE_ACT_CLAIM, VM_A), 1);
	assert_int_equal(count(f, CORE_ACT_CLAIM, VM_B), 1);
	domains(f, vms, 2, NULL, 0, 11);
	assert_int_equal(f->out.n, 0);
	domains(f, vms, 2, NULL, 0, 10 + f->cfg.poll_ms - 1);
	assert_int_equal(f->out.n, 0);
	domains(f, vms, 2, NULL, 0, 10 + f->cfg.poll_ms);
	assert_int_equal(count(f, CORE_ACT_CLAIM, VM_A), 1);
	assert_int_equal(count(f, CORE_ACT_CLAIM, VM_B), 1);
	/* VM_A's landed: started, not claimed again; VM_B's still due. */
	vms[0] = claimed(vms[0]);
	domains(f, vms, 2, NULL, 0, 10 + 2 * f->cfg.poll_ms);
	assert_int_equal(count(f, CORE_ACT_CLAIM, VM_A), 0);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 1);
	assert_int_equal(count(f, CORE_ACT_CLAIM, VM_B), 1);
	/* Out of the liveset: not even a due claim. */
	ha(f, 1, 0, 1, 10 + 3 * f->cfg.poll_ms);
	domains(f, vms, 2, NULL, 0, 10 + 3 * f->cfg.poll_ms);
	assert_int_equal(count(f, CORE_ACT_CLAIM, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
}

/* A VM the database runs here with no domain and a START intent here
** already: never claimed (a claim needs no intent), recorded Halted so that
** the intent starts it. */
static void
test_running_vm_with_start_intent(void **state)
{
	struct fixture *f = *state;
	struct core_vm_view v =
	    with_intent(vm(VM_A, DB_POWER_RUNNING, 1, DB_PRIO_RESTART, 1, 0), DB_INTENT_START, 0, 1);
	const struct core_action *a;

	start(f, 1, 0);
	domains(f, &v, 1, NULL, 0, 10);
	assert_int_equal(count(f, CORE_ACT_CLAIM, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
	a = find(f, CORE_ACT_SET_VM_POWER, VM_A);
	assert_non_null(a);
	assert_int_equal(a->power, DB_POWER_HALTED);
	assert_int_equal(a->here, 0);
	v.power = DB_POWER_HALTED;
	v.here = 0;
	domains(f, &v, 1, NULL, 0, 20);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 1);
}

/* Until my host row shows my incarnation: INCARNATE (again every poll_ms),
** and nothing started, claimed or adopted -- while reconciling the domains
** found goes on. */
/* With HA on, my incarnation is written only once my host is in the
** liveset: after its admission, so a dead-host write decided for my old self
** can never name it (failover.h, fo_event.incarnation). */
static void
test_incarnate_after_admission(void **state)
{
	struct fixture *f = *state;
	struct core_vm_view vms[1];
	uint64_t now = 10;

	vms[0] = vm(VM_B, DB_POWER_RUNNING, 1, DB_PRIO_RESTART, 1, 1);
	start(f, 1, 0);
	ha(f, 1, 0, 1, now); /* HA on, not (yet) in the liveset */
	incarnated_domains(f, 0, vms, 1, NULL, 0, now);
	assert_int_equal(count(f, CORE_ACT_INCARNATE, NULL), 0);
	incarnated_domains(f, 0, vms, 1, NULL, 0, now + 10 * f->cfg.poll_ms);
	assert_int_equal(count(f, CORE_ACT_INCARNATE, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_CLAIM, NULL), 0);
	now += 11 * f->cfg.poll_ms;
	ha(f, 1, 1, 1, now); /* admitted */
	incarnated_domains(f, 0, vms, 1, NULL, 0, now);
	assert_int_equal(count(f, CORE_ACT_INCARNATE, NULL), 1);
	assert_int_equal(count(f, CORE_ACT_CLAIM, NULL), 0);
	incarnated_domains(f, 1, vms, 1, NULL, 0, now + 1);
	assert_int_equal(count(f, CORE_ACT_CLAIM, VM_B), 1);
	/* HA off: at once. */
	ha(f, 0, 0, 1, now + 2);
	incarnated_domains(f, 0, vms, 1, NULL, 0, now + 2);
	assert_int_equal(count(f, CORE_ACT_INCARNATE, NULL), 1);
}

static void
test_incarnate_first(void **state)
{
	struct fixture *f = *state;
	struct core_vm_view vms[4];
	struct hv_domain d[2];
	uint64_t now = 10;

	vms[0] = with_intent(vm(VM_A, DB_POWER_HALTED, 0, DB_PRIO_RESTART, 1, 0), DB_INTENT_START,
			     0, 1);
	vms[1] = vm(VM_B, DB_POWER_RUNNING, 1, DB_PRIO_RESTART, 1, 1);
	vms[2] = with_intent(vm(VM_C, DB_POWER_HALTED, 0, DB_PRIO_RESTART, 1, 2), DB_INTENT_START,
			     0, 1);
	vms[2].intent_incarnation = OLD_INC;
	vms[3] = vm(VM_X, DB_POWER_HALTED, 0, DB_PRIO_NONE, 0, 3);
	d[0] = dom(VM_X, HV_DOM_RUNNING);
	start(f, 1, 0);
	assert_int_equal(count(f, CORE_ACT_INCARNATE, NULL), 0); /* at the first look */
	incarnated_domains(f, 0, vms, 4, d, 1, now);
	assert_int_equal(count(f, CORE_ACT_INCARNATE, NULL), 1);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_CLAIM, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_ADOPT, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_SET_VM_POWER, VM_X), 1); /* found: recorded */
	/* Not landed: again only after poll_ms. */
	incarnated_domains(f, 0, vms, 4, d, 1, now + f->cfg.poll_ms - 1);
	assert_int_equal(count(f, CORE_ACT_INCARNATE, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
	now += f->cfg.poll_ms;
	incarnated_domains(f, 0, vms, 4, d, 1, now);
	assert_int_equal(count(f, CORE_ACT_INCARNATE, NULL), 1);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_CLAIM, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_ADOPT, NULL), 0);
	/* Landed: start, claim, adopt; no more INCARNATE. */
	vms[3] = vm(VM_X, DB_POWER_RUNNING, 1, DB_PRIO_NONE, 0, 3);
	incarnated_domains(f, 1, vms, 4, d, 1, now + 1);
	assert_int_equal(count(f, CORE_ACT_INCARNATE, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 1);
	assert_int_equal(count(f, CORE_ACT_CLAIM, VM_B), 1);
	assert_int_equal(count(f, CORE_ACT_ADOPT, VM_C), 1);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 1);
	incarnated_domains(f, 1, vms, 4, d, 1, now + 10 * f->cfg.poll_ms);
	assert_int_equal(count(f, CORE_ACT_INCARNATE, NULL), 0);
	/* Shown no more (the row was rewritten): said again at once, and
	** nothing claimed or adopted meanwhile. */
	incarnated_domains(f, 0, vms, 4, d, 1, now + 11 * f->cfg.poll_ms);
	assert_int_equal(count(f, CORE_ACT_INCARNATE, NULL), 1);
	assert_int_equal(count(f, CORE_ACT_CLAIM, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_ADOPT, NULL), 0);
}

/* A START ISSUED to an old incarnation of this host: adopted (again every
** poll_ms, only with the gate open), never started as it is; once the
** database shows it adopted, started. */
static void
test_adopt_old_incarnation(void **state)
{
	struct fixture *f = *state;
	struct core_vm_view v =
	    with_intent(vm(VM_A, DB_POWER_HALTED, 0, DB_PRIO_RESTART, 1, 0), DB_INTENT_START, 0, 3);

	v.intent_incarnation = OLD_INC;
	start(f, 1, 0);
	ha(f, 1, 0, 1, 1); /* out of the liveset: nothing */
	domains(f, &v, 1, NULL, 0, 10);
	assert_int_equal(count(f, CORE_ACT_ADOPT, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
	ha(f, 1, 1, 1, 20);
	domains(f, &v, 1, NULL, 0, 30);
	assert_int_equal(count(f, CORE_ACT_ADOPT, VM_A), 1);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_INTENT_FAILED, NULL), 0);
	domains(f, &v, 1, NULL, 0, 30 + f->cfg.poll_ms - 1);
	assert_int_equal(f->out.n, 0);
	domains(f, &v, 1, NULL, 0, 30 + f->cfg.poll_ms);
	assert_int_equal(count(f, CORE_ACT_ADOPT, VM_A), 1);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
	/* Adopted: mine now. */
	v.intent_incarnation = INC;
	domains(f, &v, 1, NULL, 0, 30 + f->cfg.poll_ms + 1);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 1);
	assert_int_equal(count(f, CORE_ACT_ADOPT, NULL), 0);
	start_result(f, VM_A, 0, 30 + f->cfg.poll_ms + 2);
	assert_int_equal(count(f, CORE_ACT_INTENT_DONE, VM_A), 1);
}

/* A START issued to an old incarnation whose domain runs here all the
** same: done, whatever the incarnation, even before mine is recorded. */
static void
test_old_incarnation_domain_exists(void **state)
{
	struct fixture *f = *state;
	struct core_vm_view v =
	    with_intent(vm(VM_A, DB_POWER_HALTED, 0, DB_PRIO_RESTART, 1, 0), DB_INTENT_START, 0, 1);
	struct hv_domain d = dom(VM_A, HV_DOM_RUNNING);
	const struct core_action *a;

	v.intent_incarnation = OLD_INC;
	start(f, 1, 0);
	incarnated_domains(f, 0, &v, 1, &d, 1, 10);
	a = find(f, CORE_ACT_INTENT_DONE, VM_A);
	assert_non_null(a);
	assert_int_equal(a->intent_op, DB_INTENT_START);
	assert_int_equal(a->power, DB_POWER_RUNNING);
	assert_int_equal(a->here, 1);
	assert_int_equal(count(f, CORE_ACT_ADOPT, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
	domains(f, &v, 1, &d, 1, 10 + f->cfg.poll_ms);
	assert_int_equal(count(f, CORE_ACT_INTENT_DONE, VM_A), 1);
	assert_int_equal(count(f, CORE_ACT_ADOPT, NULL), 0);
}

static void
test_intent_start_domain_exists(void **state)
{
	struct fixture *f = *state;
	struct core_vm_view v =
	    with_intent(vm(VM_A, DB_POWER_HALTED, 0, DB_PRIO_RESTART, 1, 0), DB_INTENT_START, 0, 1);
	struct hv_domain d = dom(VM_A, HV_DOM_PAUSED);
	const struct core_action *a;

	start(f, 1, 0);
	domains(f, &v, 1, &d, 1, 10);
	a = find(f, CORE_ACT_INTENT_DONE, VM_A);
	assert_non_null(a);
	assert_int_equal(a->intent_op, DB_INTENT_START);
	assert_int_equal(a->power, DB_POWER_PAUSED);
	assert_int_equal(a->here, 1);
	assert_int_equal(count(f, CORE_ACT_SET_VM_POWER, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
	/* Still shown (the write is on its way): not again before poll_ms. */
	domains(f, &v, 1, &d, 1, 20);
	assert_int_equal(count(f, CORE_ACT_INTENT_DONE, NULL), 0);
	domains(f, &v, 1, &d, 1, 20 + f->cfg.poll_ms);
	assert_int_equal(count(f, CORE_ACT_INTENT_DONE, VM_A), 1);
	/* Gone: nothing more; the domain is simply running here. */
	v = vm(VM_A, DB_POWER_PAUSED, 1, DB_PRIO_RESTART, 1, 0);
	domains(f, &v, 1, &d, 1, 10000);
	assert_int_equal(f->out.n, 0);
}

static void
test_intent_start_ok(void **state)
{
	struct fixture *f = *state;
	struct core_vm_view v =
	    with_intent(vm(VM_A, DB_POWER_HALTED, 0, DB_PRIO_NONE, 0, 0), DB_INTENT_START, 0, 1);
	struct hv_domain d = dom(VM_A, HV_DOM_RUNNING);
	const struct core_action *a;

	start(f, 0, 0); /* HA off: intents are carried out all the same */
	domains(f, &v, 1, NULL, 0, 10);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 1);
	assert_int_equal(count(f, CORE_ACT_SET_VM_POWER, NULL), 0);
	domains(f, &v, 1, NULL, 0, 20);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 0); /* one in flight */
	start_result(f, VM_A, 0, 30);
	a = find(f, CORE_ACT_INTENT_DONE, VM_A);
	assert_non_null(a);
	assert_int_equal(a->intent_op, DB_INTENT_START);
	assert_int_equal(a->power, DB_POWER_RUNNING);
	assert_int_equal(a->here, 1);
	assert_int_equal(count(f, CORE_ACT_QUERY_DOMAINS, NULL), 1);
	domains(f, &v, 1, &d, 1, 40);
	assert_int_equal(count(f, CORE_ACT_INTENT_DONE, NULL), 0); /* just sent */
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
}

static void
test_intent_start_definite_error(void **state)
{
	struct fixture *f = *state;
	struct core_vm_view v =
	    with_intent(vm(VM_A, DB_POWER_HALTED, 0, DB_PRIO_RESTART, 1, 0), DB_INTENT_START, 0, 1);
	const struct core_action *a;
	char want[128];

	start(f, 1, 0);
	domains(f, &v, 1, NULL, 0, 10);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 1);
	start_result(f, VM_A, ENOMEM, 20);
	a = find(f, CORE_ACT_INTENT_FAILED, VM_A);
	assert_non_null(a);
	snprintf(want, sizeof(want), "%s", strerror(ENOMEM));
	assert_string_equal(a->reason, want);
	/* The same issue still shown: never started again; FAILED repeated
	** no more often than poll_ms. */
	domains(f, &v, 1, NULL, 0, 30);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_INTENT_FAILED, NULL), 0);
	domains(f, &v, 1, NULL, 0, 100000);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_INTENT_FAILED, VM_A), 1);
	/* Issued here again (attempts 2): tried afresh. */
	v.intent_attempts = 2;
	domains(f, &v, 1, NULL, 0, 100010);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 1);
	start_result(f, VM_A, E2BIG, 100020);
	assert_int_equal(count(f, CORE_ACT_INTENT_FAILED, VM_A), 1);
	/* The master moved it (FAILED: not ISSUED here any more), then
	** issued it here again under the same count -- a new look all the
	** same once the intent was seen gone. */
	v.intent_op = 0;
	domains(f, &v, 1, NULL, 0, 100030);
	assert_int_equal(f->out.n, 0);
	v.intent_op = DB_INTENT_START;
	domains(f, &v, 1, NULL, 0, 100040);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 1);
}

static void
test_intent_start_uncertain_error(void **state)
{
	static const int uncertain[] = {ETIMEDOUT, ECONNRESET, EPIPE, ENOTCONN,
					EHOSTDOWN, ENODEV,    EIO,   EEXIST};
	struct fixture *f = *state;
	struct core_vm_view v =
	    with_intent(vm(VM_A, DB_POWER_HALTED, 0, DB_PRIO_RESTART, 1, 0), DB_INTENT_START, 0, 1);
	uint64_t now = 10;
	size_t i;

	start(f, 1, 0);
	domains(f, &v, 1, NULL, 0, now);
	for (i = 0; i < ARRAY_SIZE(uncertain); i++) {
		assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 1);
		start_result(f, VM_A, uncertain[i], now);
		assert_int_equal(count(f, CORE_ACT_INTENT_FAILED, NULL), 0);
		domains(f, &v, 1, NULL, 0, now + 1);
		assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0); /* backing off */
		/* ... and tried again when the backoff ends. */
		for (int k = 0; k < 100 && count(f, CORE_ACT_START_VM, VM_A) == 0; k++) {
			now = core_next_deadline(f->c, now + 1);
			tick(f, now);
			domains(f, &v, 1, NULL, 0, now);
		}
	}
	/* The domain was there after all: done. */
	start_result(f, VM_A, EEXIST, now);
	{
		struct hv_domain d = dom(VM_A, HV_DOM_RUNNING);

		domains(f, &v, 1, &d, 1, now + 1);
		assert_int_equal(count(f, CORE_ACT_INTENT_DONE, VM_A), 1);
		assert_int_equal(count(f, CORE_ACT_INTENT_FAILED, NULL), 0);
	}
}

static void
test_intent_stop(void **state)
{
	struct fixture *f = *state;
	struct core_vm_view v =
	    with_intent(vm(VM_A, DB_POWER_RUNNING, 1, DB_PRIO_RESTART, 1, 0), DB_INTENT_STOP, 1, 1);
	struct hv_domain d = dom(VM_A, HV_DOM_RUNNING);
	const struct core_action *a;

	start(f, 1, 0);
	domains(f, &v, 1, &d, 1, 10);
	a = find(f, CORE_ACT_STOP_VM, VM_A);
	assert_non_null(a);
	assert_int_equal(a->clean, 1);
	assert_int_equal(f->out.n, 2); /* the stop and the dirty re-query */
	/* Once. */
	domains(f, &v, 1, &d, 1, 2010);
	assert_int_equal(count(f, CORE_ACT_STOP_VM, NULL), 0);
	/* Not finished after 30 s: destroyed. */
	domains(f, &v, 1, &d, 1, 10 + 30000);
	a = find(f, CORE_ACT_STOP_VM, VM_A);
	assert_non_null(a);
	assert_int_equal(a->clean, 0);
	/* The guest went down: reaped, and done. */
	d.state = HV_DOM_SHUTDOWN;
	domains(f, &v, 1, &d, 1, 30020);
	assert_int_equal(count(f, CORE_ACT_DESTROY_VM, VM_A), 1);
	a = find(f, CORE_ACT_INTENT_DONE, VM_A);
	assert_non_null(a);
	assert_int_equal(a->intent_op, DB_INTENT_STOP);
	assert_int_equal(a->power, DB_POWER_HALTED);
	assert_int_equal(a->here, 0);
	assert_int_equal(count(f, CORE_ACT_SET_VM_POWER, NULL), 0);
	/* No domain, intent still shown: no restart (always-run is held off),
	** the report repeated after poll_ms only. */
	domains(f, &v, 1, NULL, 0, 30030);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_CLAIM, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_INTENT_DONE, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_SET_VM_POWER, NULL), 0);
	domains(f, &v, 1, NULL, 0, 30030 + f->cfg.poll_ms);
	assert_int_equal(count(f, CORE_ACT_INTENT_DONE, VM_A), 1);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
	assert_int_equal(count(f, CORE_ACT_CLAIM, NULL), 0);

	/* A hard stop intent: destroyed at once. */
	v = with_intent(vm(VM_B, DB_POWER_RUNNING, 1, DB_PRIO_NONE, 0, 0), DB_INTENT_STOP, 0, 1);
	d = dom(VM_B, HV_DOM_RUNNING);
	domains(f, &v, 1, &d, 1, 40000);
	a = find(f, CORE_ACT_STOP_VM, VM_B);
	assert_non_null(a);
	assert_int_equal(a->clean, 0);
	/* A stop intent for a VM with no domain here, halted: done at once. */
	v = with_intent(vm(VM_C, DB_POWER_HALTED, 0, DB_PRIO_NONE, 0, 0), DB_INTENT_STOP, 1, 1);
	domains(f, &v, 1, NULL, 0, 40010);
	assert_int_equal(count(f, CORE_ACT_INTENT_DONE, VM_C), 1);
	assert_int_equal(count(f, CORE_ACT_STOP_VM, NULL), 0);
}

/* A guest that shut itself down: with ha_reboot_vm_on_internal_shutdown off
** it stays down (Halted, always-run cleared); on, it is restarted. */
static void
test_guest_shutdown(void **state)
{
	struct fixture *f = *state;
	struct core_vm_view v = vm(VM_A, DB_POWER_RUNNING, 1, DB_PRIO_RESTART, 1, 0);
	struct hv_domain d = dom(VM_A, HV_DOM_SHUTDOWN);
	const struct core_action *a;

	start(f, 1, 0);
	ha(f, 1, 1, 0, 5);
	domains(f, &v, 1, &d, 1, 10);
	assert_int_equal(count(f, CORE_ACT_DESTROY_VM, VM_A), 1);
	a = find(f, CORE_ACT_SET_VM_POWER, VM_A);
	assert_non_null(a);
	assert_int_equal(a->power, DB_POWER_HALTED);
	assert_int_equal(a->here, 0);
	assert_int_equal(a->clear_always_run, 1);
	assert_int_equal(count(f, CORE_ACT_START_VM, NULL), 0);
	/* A crash is not a request to stop: reaped, restarted. */
	d.state = HV_DOM_CRASHED;
	domains(f, &v, 1, &d, 1, 20);
	assert_int_equal(count(f, CORE_ACT_SET_VM_POWER, NULL), 0);
	/* With the flag on (the default): reaped, then restarted (claimed). */
	ha(f, 1, 1, 1, 30);
	d.state = HV_DOM_SHUTDOWN;
	domains(f, &v, 1, &d, 1, 40);
	assert_int_equal(count(f, CORE_ACT_DESTROY_VM, VM_A), 1);
	assert_int_equal(count(f, CORE_ACT_SET_VM_POWER, NULL), 0);
	domains(f, &v, 1, NULL, 0, 50);
	assert_int_equal(count(f, CORE_ACT_CLAIM, VM_A), 1);
	assert_int_equal(count(f, CORE_ACT_START_VM, VM_A), 0);
}

/* CORE_EV_DB_CHANGED: a query at once, or one more after the outstanding
** one's answer. */
static void
test_db_changed_coalesces(void **state)
{
	struct fixture *f = *state;
	struct core_event ev = {.type = CORE_EV_DB_CHANGED};

	start(f, 1, 0);
	assert_int_equal(count(f, CORE_ACT_QUERY_DOMAINS, NULL), 1);
	domains(f, NULL, 0, NULL, 0, 10);
	assert_int_equal(count(f, CORE_ACT_QUERY_DOMAINS, NULL), 1); /* HA came meanwhile */
	domains(f, NULL, 0, NULL, 0, 20);
	assert_int_equal(count(f, CORE_ACT_QUERY_DOMAINS, NULL), 0);
	assert_int_equal(step(f, &ev, 30), 0);
	assert_int_equal(count(f, CORE_ACT_QUERY_DOMAINS, NULL), 1);
	/* Three more while that one is out: one more query after it. */
	assert_int_equal(step(f, &ev, 31), 0);
	assert_int_equal(step(f, &ev, 32), 0);
	assert_int_equal(step(f, &ev, 33), 0);
	assert_int_equal(f->out.n, 0);
	domains(f, NULL, 0, NULL, 0, 40);
	assert_int_equal(count(f, CORE_ACT_QUERY_DOMAINS, NULL), 1);
	domains(f, NULL, 0, NULL, 0, 50);
	assert_int_equal(count(f, CORE_ACT_QUERY_DOMAINS, NULL), 0);
	/* Not before START. */
	{
		struct core *c = core_new(&f->cfg);
		struct core_actions out = {0};

		assert_int_equal(core_step(c, &ev, 0, &out), -1);
		core_free(c);
		core_actions_free(&out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start_queries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_restarts_protected_halts_others, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ha_disabled_halts_protected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_running_domain_corrects_db, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crashed_domain_reaped_then_restarted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_one_start_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_start_backs_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claimed_start_definite_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_order, setup, teardown),
		cmocka_unit_test(test_action_set_has_no_watchdog),
		cmocka_unit_test_setup_teardown(test_full_run_never_touches_watchdog_hv_lost, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_full_run_never_touches_watchdog_stop, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stop_exits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hv_lost_exits_nonzero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_rejected_in_wrong_state, setup, teardown),
		cmocka_unit_test(test_random_schedules_deterministic),
		cmocka_unit_test_setup_teardown(test_liveset_gate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_throttled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_running_vm_with_start_intent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incarnate_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_incarnate_after_admission, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adopt_old_incarnation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_incarnation_domain_exists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intent_start_domain_exists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intent_start_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intent_start_definite_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intent_start_uncertain_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intent_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_db_changed_coalesces, setup, teardown),
	};

	log_init("test_core", LOG_NO_BLACKBOX, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
