/*
** The XAPI object classes hasvc serves, read from and written to the pool
** database: pool, host, host_metrics, VM, VM_group, message, task (always
** empty for now), and the handlers of their methods.
**
** Records follow xapi's field names and types (reference/xapi.md §4.6); a
** ref is "OpaqueRef:<uuid>" of the object's uuid.  Every write goes through
** the pool database, whose change hook turns it into an event (api_events.h).
*/
#ifndef HASVC_HASVC_API_OBJECTS_H
#define HASVC_HASVC_API_OBJECTS_H

#include <stddef.h>

#include "api/rpc.h"
#include "api/xval.h"
#include "hasvc/db.h"
#include "lib/ids.h"

enum api_class {
	API_POOL = 0,
	API_HOST,
	API_HOST_METRICS,
	API_VM,
	API_VM_GROUP,
	API_MESSAGE,
	API_TASK,
	API_NCLASSES
};

/* The XAPI spelling: "pool", "host", "host_metrics", "VM", "VM_group",
** "message", "task". */
const char *api_class_name(enum api_class c);
/* Case-insensitive (event.from uses lower case); -1 if unknown. */
int api_class_from_name(const char *name);

/* The whole record of object `uuid`, as get_record returns it; NULL if there
** is no such object. */
struct xval *api_record(struct db *db, enum api_class c, const char *uuid);

/* The uuids of every object of class c (xmalloc'd array). */
int api_list(struct db *db, enum api_class c, char (**uuids)[HA_UUID_LEN], size_t *n);

/* host_metrics has no table: the metrics of host H are served under a uuid
** derived from H's, which this function computes -- and, being its own
** inverse, H's uuid from the metrics uuid.  The two must differ: XAPI refs
** are unique across classes, and clients (Xen Orchestra) key every object
** by its ref alone. */
void api_host_metrics_uuid(const char *uuid, char out[HA_UUID_LEN]);

/*
** guard, if set, may veto the HA policy writes that can break the failover
** plan: VM.set_ha_restart_priority, VM.set_ha_always_run and
** pool.set_ha_host_failures_to_tolerate.  It is called after the value is
** validated and before the transaction, with the record as it would be
** stored (struct db_vm * or struct db_pool *).  0 lets the write go; -1 means
** the guard has failed the call (e.g. HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN)
** and nothing is written.
*/
typedef int (*api_guard_fn)(void *arg, struct rpc_call *c, enum api_class cls, const void *rec);

struct api_ctx {
	struct db *db;
	struct rpc *rpc;
	char host_uuid[HA_UUID_LEN]; /* this host */
	const char *statefile;       /* this host's view of the pool's statefile ("" or
	                             ** NULL: none): pool.enable_ha renews it */
	api_guard_fn guard;          /* NULL: every valid write goes */
	void *guard_arg;
	/* A clustered pool (hasvc/cluster.h); all NULL on a standalone host,
	** where writes go straight to ctx->db.  local_write: a write outside
	** an API call (see cluster_local_write); call_write: run fn(fnarg, c)
	** for a call whose write comes later (after async work) through the
	** replicated write path again. */
	int (*local_write)(void *arg, int master_only, int (*fn)(void *fnarg, struct db *db),
			   void *fnarg);
	void (*call_write)(void *arg, struct rpc_call *c, rpc_handler fn, void *fnarg);
	void *write_arg;
};

/* Register every object method: <class>.get_all, get_all_records,
** get_record, get_by_uuid, get_<field>; the HA setters of VM and pool;
** VM_group.create/destroy; message.get_all_records/destroy; pool.enable_ha,
** disable_ha, ha_prevent_restarts_for, set_ha_host_failures_to_tolerate,
** set_ha_allow_overcommit, add_to/remove_from/set_other_config; user
** management (pool-admin). */
void api_objects_register(struct api_ctx *ctx);

/* rpc_register with arg = ctx and param names (NULL-terminated, for
** FIELD_TYPE_ERROR); a name taken already is logged and skipped.  `name`
** must outlive ctx->rpc. */
void api_register_method(struct api_ctx *ctx, const char *name, int min_params, int max_params,
			 unsigned flags, enum rpc_role role, rpc_handler fn,
			 const char *const *param_names);

/* Fail call c with INTERNAL_ERROR and the database's last error. */
void api_fail_db(struct api_ctx *ctx, struct rpc_call *c);
/* Load the pool row into *pool (the caller clears it); -1 after failing the
** call (no pool row is an internal error: hasvcd always has one). */
int api_load_pool(struct api_ctx *ctx, struct rpc_call *c, struct db_pool *pool);

/* The hasvc_user.* methods (a hasvc extension: xapi has external auth and
** subjects instead): add, remove, set_role, set_password, get_record.
** Called by api_objects_register(). */
void api_users_register(struct api_ctx *ctx);

/* The rpc_hooks.user_lookup callback, arg = struct api_ctx *: 0 found (hash
** and role filled), 1 unknown user, -1 error (db failure, a hash longer than
** hashlen, or a role name that is not one of rpc_role_name's). */
int api_user_lookup(void *arg, const char *user, char *hash, size_t hashlen,
		    enum rpc_role *role);

#endif
