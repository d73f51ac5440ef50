/*
** The pool's SNMP receivers through the API (hasvc extensions; docs/api.md,
** "SNMP receivers"), pool-admin only:
**
**   pool.snmp_receiver_add(session, address, port, version, inform,
**                          community, user, auth_key, priv_key) -> uuid
**       version "2c" (community required, user and keys empty) or "3"
**       (user, auth_key and priv_key required, passphrases of 8..127
**       characters; authPriv with SHA and AES-128).  A pool write.
**   pool.snmp_receiver_remove(session, uuid)
**   pool.snmp_receiver_get_all_records(session) -> [{uuid, address, port,
**       version, inform, user, community_set, auth_key_set, priv_key_set,
**       engine_id}]: never a secret, only whether it is set; engine_id is the
**       one v3 traps are sent with (for the receiver's createUser -e).
**   pool.snmp_test(session) -> [{uuid, address, port, ok, error}]: one
**       hasvcTestNotification to every receiver from the host called;
**       answered when every receiver has an outcome (informs: acknowledged
**       or out of retries).
**
** The receivers are rows of the pool database (db.h), so they replicate to
** every host, any of which may become the master that sends.
*/
#ifndef HASVC_HASVC_API_SNMP_H
#define HASVC_HASVC_API_SNMP_H

#include "hasvc/api_objects.h"

struct api_snmp;
struct notify;

/* Register the methods; `n` sends pool.snmp_test's notifications. */
struct api_snmp *api_snmp_new(struct api_ctx *ctx, struct notify *n);
/* Before rpc_free and notify_free: a pool.snmp_test still waiting is
** answered INTERNAL_ERROR.  NULL is a no-op. */
void api_snmp_free(struct api_snmp *s);

#endif
