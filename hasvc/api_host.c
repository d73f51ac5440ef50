/*
** Host maintenance and VM power through the API: host.disable, host.enable,
** host.evacuate, VM.clean_shutdown and VM.hard_shutdown (docs/api.md,
** "Host maintenance and VM power").
**
** None of these acts on a hypervisor.  Each validates the call, then records
** what must happen in the pool database in one write -- a host's enabled
** flag, or VM intents (hasvc/db.h, "VM intents") -- and answers once that
** write is acknowledged.  The host an intent names carries it out on its own
** hypervisor (hasvc/core.c), and the master's failover executor
** (hasvc/failover.h) places the START half of an evacuation; so the move or
** the shutdown completes after the call has returned.
**
** Invariants:
**   - every check runs before the first write, and the writes of one call are
**     one transaction (on a pool member's master: one captured change), so a
**     refused call writes nothing and an accepted one is seen whole or not
**     at all;
**   - a VM with an intent is never given a second one (at most one per VM):
**     the call fails with OTHER_OPERATION_IN_PROGRESS instead;
**   - only Running/Paused VMs resident on a host get a STOP intent ISSUED to
**     that host, the one host that may stop them.
**
** The handlers run on the master, inside the capture of cluster_api_write
** in a pool (RPC_WRITE), or straight against the database on a standalone
** host.  Inside a capture db_begin/db_commit are no-ops, so a write that
** fails half-way aborts the capture: the change is then not replicated and
** the caller gets INTERNAL_ERROR.
*/
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hasvc/api_host.h"
#include "hasvc/api_planner.h"
#include "lib/check.h"
#include "lib/clock.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* What the handlers need: the API context and the planner. */
struct api_host {
	struct api_ctx *ctx;
	struct api_planner *planner;
};

/* The VM power states a shutdown accepts, as xapi's VM_BAD_POWER_STATE
** "expected" param spells them (Record_util.power_to_string, lower case). */
#define SHUTDOWN_EXPECTED "running, paused"

/* ---- helpers ---- */


/* Load the host named by the ref in param 0: 0, or -1 after failing the
** call (HANDLE_INVALID [host, ref]). */
static int
load_host(struct api_ctx *ctx, struct rpc_call *c, struct db_host *h)
{
	char uuid[HA_UUID_LEN];
	int rc;

	db_host_init(h);
	if (rpc_param_ref(c, 0, "host", uuid) < 0)
		return -1;
	rc = db_host_get(ctx->db, uuid, h);
	if (rc == 0)
		return 0;
	if (rc < 0)
		api_fail_db(ctx, c);
	else
		rpc_fail(c, "HANDLE_INVALID", "host", xval_string(rpc_call_param(c, 0)), NULL);
	return -1;
}

static int
load_vm(struct api_ctx *ctx, struct rpc_call *c, struct db_vm *vm)
{
	char uuid[HA_UUID_LEN];
	int rc;

	db_vm_init(vm);
	if (rpc_param_ref(c, 0, "VM", uuid) < 0)
		return -1;
	rc = db_vm_get(ctx->db, uuid, vm);
	if (rc == 0)
		return 0;
	if (rc < 0)
		api_fail_db(ctx, c);
	else
		rpc_fail(c, "HANDLE_INVALID", "VM", xval_string(rpc_call_param(c, 0)), NULL);
	return -1;
}

/* xapi's name of the operation an intent stands for, for
** OTHER_OPERATION_IN_PROGRESS. */
static const char *
intent_op_name(const struct db_vm_intent *in)
{
	if (in->op == DB_INTENT_START)
		return in->why == DB_WHY_EVACUATE ? "pool_migrate" : "start";
	if (in->why == DB_WHY_EVACUATE)
		return "pool_migrate";
	return in->clean ? "clean_shutdown" : "hard_shutdown";
}

/* 0 if vm has no intent; else -1 after failing the call
** (OTHER_OPERATION_IN_PROGRESS [VM, ref, operation], as xapi's
** report_concurrent_operations_error), or on a database error. */
static int
check_no_intent(struct api_ctx *ctx, struct rpc_call *c, const char *vm)
{
	struct db_vm_intent in;
	char ref[HA_REF_LEN];
	int rc;

	db_intent_init(&in);
	rc = db_intent_get(ctx->db, vm, &in);
	if (rc == 1)
		return 0;
	if (rc < 0) {
		api_fail_db(ctx, c);
		return -1;
	}
	id_ref_from_uuid(ref, vm);
	rpc_fail(c, "OTHER_OPERATION_IN_PROGRESS", "VM", ref, intent_op_name(&in), NULL);
	return -1;
}

/* Open the call's transaction (a no-op inside a capture). */
static int
write_begin(struct api_ctx *ctx, struct rpc_call *c)
{
	if (db_begin(ctx->db) < 0) {
		api_fail_db(ctx, c);
		return -1;
	}
	return 0;
}

/* Undo a call's writes after one failed: roll the transaction back, or
** abort the capture (db_rollback is a no-op inside one), so that nothing of
** a refused call is replicated. */
static void
write_abort(struct api_ctx *ctx, struct rpc_call *c)
{
	api_fail_db(ctx, c);
	if (db_capturing(ctx->db))
		db_capture_abort(ctx->db);
	else
		db_rollback(ctx->db);
}

static void
write_commit(struct api_ctx *ctx, struct rpc_call *c)
{
	if (db_commit(ctx->db) < 0) {
		api_fail_db(ctx, c);
		return;
	}
	rpc_reply(c, xval_new_string(""));
}

/* With HA enabled (and overcommit not allowed: the planner's call), would
** taking `host` out of service break the failover plan?  0 no; -1 after
** failing the call: HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN [why] (xapi has
** no param; hasvc adds the planner's sentence), or INTERNAL_ERROR. */
static int
check_plan(struct api_host *ah, struct rpc_call *c, const struct db_pool *pool, const char *host)
{
	char why[256] = "";
	int rc;

	if (!pool->ha_enabled || ah->planner == NULL)
		return 0;
	rc = api_planner_check_host_out(ah->planner, host, why, sizeof(why));
	if (rc == 0)
		return 0;
	if (rc == 1) {
		log_notice("host %s: %s refused: %s", host, rpc_call_method(c), why);
		rpc_fail(c, "HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN", why, NULL);
	} else {
		rpc_fail(c, "INTERNAL_ERROR",
		         why[0] != '\0' ? why : "the failover plan cannot be checked", NULL);
	}
	return -1;
}


/* ---- host.disable / host.enable ---- */

/* host.disable(host): no new VM is placed on it (placement and failover use
** enabled hosts only).  With HA enabled, refused when the pool without it
** would not keep its failover plan.  A disabled host: nothing to do. */
static void
h_host_disable(void *arg, struct rpc_call *c)
{
	struct api_host *ah = arg;
	struct api_ctx *ctx = ah->ctx;
	struct db_pool pool;
	struct db_host h;

	db_pool_init(&pool);
	if (load_host(ctx, c, &h) < 0)
		goto out;
	if (!h.enabled) {
		rpc_reply(c, xval_new_string(""));
		goto out;
	}
	if (api_load_pool(ctx, c, &pool) < 0 || check_plan(ah, c, &pool, h.uuid) < 0)
		goto out;
	h.enabled = 0;
	if (db_host_put(ctx->db, &h) < 0) {
		api_fail_db(ctx, c);
		goto out;
	}
	log_notice("host %s (%s) disabled through the API", h.uuid, h.name_label);
	rpc_reply(c, xval_new_string(""));
out:
	db_pool_clear(&pool);
	db_host_clear(&h);
}

/* host.enable(host): the host takes VMs again.  An enabled host: nothing to
** do. */
static void
h_host_enable(void *arg, struct rpc_call *c)
{
	struct api_host *ah = arg;
	struct api_ctx *ctx = ah->ctx;
	struct db_host h;

	if (load_host(ctx, c, &h) < 0)
		goto out;
	if (!h.enabled) {
		h.enabled = 1;
		if (db_host_put(ctx->db, &h) < 0) {
			api_fail_db(ctx, c);
			goto out;
		}
		log_notice("host %s (%s) enabled through the API", h.uuid, h.name_label);
	}
	rpc_reply(c, xval_new_string(""));
out:
	db_host_clear(&h);
}

/* ---- host.evacuate ---- */

/* Is there a host other than `host` that could take a VM (enabled and
** live)?  1 yes, 0 no, -1 on a database error. */
static int
other_host_usable(struct api_ctx *ctx, const char *host)
{
	struct db_host *hosts = NULL;
	size_t n = 0, i;
	int found = 0;

	if (db_host_list(ctx->db, &hosts, &n) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(hosts[i].uuid, host) != 0 && hosts[i].enabled && hosts[i].live)
			found = 1;
	db_host_list_free(hosts, n);
	return found;
}

static int
vm_movable(const struct db_vm *vm)
{
	return !vm->is_control_domain &&
	       (vm->power_state == DB_POWER_RUNNING || vm->power_state == DB_POWER_PAUSED);
}

/*
** host.evacuate(host [, network, evacuate_batch_size]): move every VM off a
** disabled host.  The extra params of newer xapi are accepted and ignored
** (hasvc moves no network traffic and starts VMs by restart order group).
**
** Refused: the host enabled (HOST_NOT_DISABLED, as xapi); HA disabled
** (HA_NOT_ENABLED: the START half is the failover executor's, which runs
** only with HA on); a VM to move that has an intent already
** (OTHER_OPERATION_IN_PROGRESS); VMs to move and no other enabled live host
** (NO_HOSTS_AVAILABLE); the plan check (HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN).
** Else one write: a STOP intent (why EVACUATE, clean, from the host) ISSUED
** to the host for each of its Running/Paused VMs but the control domain.
** The host stops each; the intent becomes a QUEUED START that the executor
** places elsewhere, whatever the VM's priority.  The answer comes when the
** write is acknowledged; the moves complete later.
*/
static void
h_host_evacuate(void *arg, struct rpc_call *c)
{
	struct api_host *ah = arg;
	struct api_ctx *ctx = ah->ctx;
	struct db_vm *vms = NULL;
	struct db_vm_intent in;
	struct db_pool pool;
	struct db_host h;
	size_t n = 0, i, nmove = 0;
	int64_t created;
	int rc;

	db_pool_init(&pool);
	if (load_host(ctx, c, &h) < 0)
		goto out;
	if (h.enabled) {
		rpc_fail(c, "HOST_NOT_DISABLED", NULL);
		goto out;
	}
	if (api_load_pool(ctx, c, &pool) < 0)
		goto out;
	if (!pool.ha_enabled) {
		rpc_fail(c, "HA_NOT_ENABLED", NULL);
		goto out;
	}
	if (db_vm_list_resident(ctx->db, h.uuid, &vms, &n) < 0) {
		api_fail_db(ctx, c);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!vm_movable(&vms[i]))
			continue;
		if (check_no_intent(ctx, c, vms[i].uuid) < 0)
			goto out;
		nmove++;
	}
	if (nmove == 0) {
		rpc_reply(c, xval_new_string(""));
		goto out;
	}
	rc = other_host_usable(ctx, h.uuid);
	if (rc < 0) {
		api_fail_db(ctx, c);
		goto out;
	}
	if (rc == 0) {
		rpc_fail(c, "NO_HOSTS_AVAILABLE", NULL);
		goto out;
	}
	if (check_plan(ah, c, &pool, h.uuid) < 0)
		goto out;

	created = clock_wall_ms();
	if (write_begin(ctx, c) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (!vm_movable(&vms[i]))
			continue;
		db_intent_init(&in);
		memcpy(in.vm, vms[i].uuid, HA_UUID_LEN);
		in.op = DB_INTENT_STOP;
		in.state = DB_INTENT_ISSUED;
		in.why = DB_WHY_EVACUATE;
		memcpy(in.host, h.uuid, HA_UUID_LEN);
		memcpy(in.from, h.uuid, HA_UUID_LEN);
		in.clean = 1;
		in.created = created;
		if (db_intent_put(ctx->db, &in) < 0) {
			write_abort(ctx, c);
			goto out;
		}
	}
	log_notice("host %s (%s) evacuating through the API: %zu VMs to stop here and start "
	           "elsewhere",
	           h.uuid, h.name_label, nmove);
	write_commit(ctx, c);
out:
	db_vm_list_free(vms, n);
	db_pool_clear(&pool);
	db_host_clear(&h);
}

/* ---- VM.clean_shutdown / VM.hard_shutdown ---- */

/*
** VM.clean_shutdown(vm) / VM.hard_shutdown(vm): the VM must be Running or
** Paused (VM_BAD_POWER_STATE [vm, expected, actual], as xapi), not the
** control domain (OPERATION_NOT_ALLOWED), and have no intent
** (OTHER_OPERATION_IN_PROGRESS).  One write: ha_always_run := false (xapi
** clears it on an API shutdown, so HA leaves the VM halted) and a STOP
** intent (why API) ISSUED to its resident host, clean or hard.  The answer
** comes when the write is acknowledged; the host stops the VM afterwards
** and records it Halted.
*/
static void
shutdown_vm(struct api_host *ah, struct rpc_call *c, int clean)
{
	struct api_ctx *ctx = ah->ctx;
	struct db_vm_intent in;
	const char *actual;
	char ref[HA_REF_LEN], lower[16];
	struct db_vm vm;
	size_t i;

	if (load_vm(ctx, c, &vm) < 0)
		goto out;
	id_ref_from_uuid(ref, vm.uuid);
	if (vm.is_control_domain) {
		rpc_fail(c, "OPERATION_NOT_ALLOWED", "the control domain cannot be shut down",
		         NULL);
		goto out;
	}
	if (vm.power_state != DB_POWER_RUNNING && vm.power_state != DB_POWER_PAUSED) {
		actual = db_power_state_name(vm.power_state);
		snprintf(lower, sizeof(lower), "%s", actual != NULL ? actual : "halted");
		for (i = 0; lower[i] != '\0'; i++)
			if (lower[i] >= 'A' && lower[i] <= 'Z')
				lower[i] = (char)(lower[i] - 'A' + 'a');
		rpc_fail(c, "VM_BAD_POWER_STATE", ref, SHUTDOWN_EXPECTED, lower, NULL);
		goto out;
	}
	if (vm.resident_on[0] == '\0') {
		/* NEVER in a consistent database: Running means resident. */
		rpc_fail(c, "OPERATION_NOT_ALLOWED", "the VM is running but has no resident host",
		         NULL);
		goto out;
	}
	if (check_no_intent(ctx, c, vm.uuid) < 0)
		goto out;

	if (write_begin(ctx, c) < 0)
		goto out;
	vm.ha_always_run = 0;
	db_intent_init(&in);
	memcpy(in.vm, vm.uuid, HA_UUID_LEN);
	in.op = DB_INTENT_STOP;
	in.state = DB_INTENT_ISSUED;
	in.why = DB_WHY_API;
	memcpy(in.host, vm.resident_on, HA_UUID_LEN);
	in.clean = clean;
	in.created = clock_wall_ms();
	if (db_vm_put(ctx->db, &vm) < 0 || db_intent_put(ctx->db, &in) < 0) {
		write_abort(ctx, c);
		goto out;
	}
	log_notice("VM %s (%s): %s through the API, asked of host %s", vm.uuid, vm.name_label,
	           clean ? "clean shutdown" : "hard shutdown", vm.resident_on);
	write_commit(ctx, c);
out:
	db_vm_clear(&vm);
}

static void
h_vm_clean_shutdown(void *arg, struct rpc_call *c)
{
	shutdown_vm(arg, c, 1);
}

static void
h_vm_hard_shutdown(void *arg, struct rpc_call *c)
{
	shutdown_vm(arg, c, 0);
}

/* ---- registration ---- */

static const char *const p_host[] = {"host", NULL};
static const char *const p_evacuate[] = {"host", "network", "evacuate_batch_size", NULL};
static const char *const p_vm[] = {"vm", NULL};

static void
reg(struct api_host *ah, const char *name, int minp, int maxp, enum rpc_role role, rpc_handler fn,
    const char *const *params)
{
	struct rpc_method m = {
	    .name = name,
	    .min_params = minp,
	    .max_params = maxp,
	    .flags = RPC_WRITE,
	    .role = role,
	    .fn = fn,
	    .arg = ah,
	    .param_names = params,
	};

	if (rpc_register(ah->ctx->rpc, &m) < 0)
		log_warnx("method %s is registered twice; keeping the first", name);
}

struct api_host *
api_host_new(struct api_ctx *ctx, struct api_planner *planner)
{
	struct api_host *ah = xcalloc(1, sizeof(*ah));

	ah->ctx = ctx;
	ah->planner = planner;
	return ah;
}

void
api_host_free(struct api_host *ah)
{
	xfree(ah);
}

void
api_host_register(struct api_host *ah)
{
	reg(ah, "host.disable", 1, 1, RPC_ROLE_POOL_ADMIN, h_host_disable, p_host);
	reg(ah, "host.enable", 1, 1, RPC_ROLE_POOL_ADMIN, h_host_enable, p_host);
	reg(ah, "host.evacuate", 1, 3, RPC_ROLE_POOL_ADMIN, h_host_evacuate, p_evacuate);
	reg(ah, "VM.clean_shutdown", 1, 1, RPC_ROLE_POOL_OPERATOR, h_vm_clean_shutdown, p_vm);
	reg(ah, "VM.hard_shutdown", 1, 1, RPC_ROLE_POOL_OPERATOR, h_vm_hard_shutdown, p_vm);
}
