/*
** The failover executor's writes against the pool database (hasvc/failover.h
** gives the edits and their preconditions).  Run inside a capture
** (cluster_local_write) or a plain transaction on a standalone host.
*/
#ifndef HASVC_HASVC_FAILOVER_DB_H
#define HASVC_HASVC_FAILOVER_DB_H

#include <stddef.h>
#include <stdint.h>

#include "hasvc/db.h"
#include "hasvc/failover.h"

/* Apply edits[0..n) in order, each only if its precondition holds now;
** `origin` is this host's uuid (messages), `wall_ms` the wall clock.
** Returns the number of edits applied, -1 on a database error (the caller
** aborts the write). */
int fo_apply(struct db *db, const struct fo_edit *edits, size_t n, const char *origin,
	     int64_t wall_ms);

/* Read the snapshot the executor needs (FO_EV_DB); free with
** fo_snapshot_free.  0, or -1 on a database error. */
struct fo_snapshot {
	struct db_pool pool;
	struct db_host *hosts;
	size_t nhosts;
	struct db_vm *vms;
	size_t nvms;
	struct db_vm_group *groups;
	size_t ngroups;
	struct db_vm_intent *intents;
	size_t nintents;
};
int fo_snapshot_read(struct db *db, struct fo_snapshot *out);
void fo_snapshot_view(const struct fo_snapshot *s, int64_t wall_ms, struct fo_db_view *out);
void fo_snapshot_free(struct fo_snapshot *s);

#endif
