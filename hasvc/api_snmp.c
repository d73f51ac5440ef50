/*
** pool.snmp_receiver_* and pool.snmp_test: see api_snmp.h.  The secrets
** go into the database and out to the SNMP worker, never into an answer or
** a log line.
*/
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hasvc/api_snmp.h"
#include "hasvc/notify.h"
#include "hasvc/snmp_trap.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define KEY_MIN 8 /* RFC 3414: a passphrase of at least 8 characters */

struct api_snmp;

struct held {
	struct held *next;
	struct api_snmp *s;
	struct rpc_call *call;
};

struct api_snmp {
	struct api_ctx *ctx;
	struct notify *notify;
	struct held *tests; /* pool.snmp_test calls waiting for their results */
};

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* A receiver from the call's params, checked; -1 after failing the call. */
static int
receiver_from_params(struct rpc_call *c, struct db_snmp_receiver *r)
{
	const char *address, *version, *community, *user, *auth, *priv;
	int64_t port;
	int inform;
	const char *bad = NULL, *why = NULL;

	if (rpc_param_string(c, 0, &address) < 0 || rpc_param_int(c, 1, &port) < 0 ||
	    rpc_param_string(c, 2, &version) < 0 || rpc_param_bool(c, 3, &inform) < 0 ||
	    rpc_param_string(c, 4, &community) < 0 || rpc_param_string(c, 5, &user) < 0 ||
	    rpc_param_string(c, 6, &auth) < 0 || rpc_param_string(c, 7, &priv) < 0)
		return -1;
	memset(r, 0, sizeof(*r));
	if (address[0] == '\0' || strlen(address) >= sizeof(r->address) || !printable(address) ||
	    strchr(address, ' ') != NULL || strchr(address, '/') != NULL)
		bad = "address", why = "not an address or host name";
	else if (port < 1 || port > 65535)
		bad = "port", why = "a port is 1..65535";
	else if (strcmp(version, "2c") != 0 && strcmp(version, "3") != 0)
		bad = "version", why = "2c or 3";
	else if (strcmp(version, "2c") == 0 &&
	         (community[0] == '\0' || strlen(community) >= sizeof(r->community)))
		bad = "community", why = "required for version 2c, at most 127 characters";
	else if (strcmp(version, "2c") == 0 &&
	         (user[0] != '\0' || auth[0] != '\0' || priv[0] != '\0'))
		bad = "user", why = "user and keys are for version 3";
	else if (strcmp(version, "3") == 0 && community[0] != '\0')
		bad = "community", why = "a community is for version 2c";
	else if (strcmp(version, "3") == 0 &&
	         (user[0] == '\0' || strlen(user) >= sizeof(r->user) || !printable(user)))
		bad = "user", why = "required for version 3, at most 63 characters";
	else if (strcmp(version, "3") == 0 &&
	         (strlen(auth) < KEY_MIN || strlen(auth) >= sizeof(r->auth_key)))
		bad = "auth_key", why = "8..127 characters";
	else if (strcmp(version, "3") == 0 &&
	         (strlen(priv) < KEY_MIN || strlen(priv) >= sizeof(r->priv_key)))
		bad = "priv_key", why = "8..127 characters";
	if (bad != NULL) {
		/* the value itself is not echoed: it may be a secret */
		rpc_fail(c, "INVALID_VALUE", bad, why, NULL);
		return -1;
	}
	id_uuid_new(r->uuid);
	snprintf(r->address, sizeof(r->address), "%s", address);
	r->port = port;
	snprintf(r->version, sizeof(r->version), "%s", version);
	r->inform = inform;
	snprintf(r->community, sizeof(r->community), "%s", community);
	snprintf(r->user, sizeof(r->user), "%s", user);
	snprintf(r->auth_key, sizeof(r->auth_key), "%s", auth);
	snprintf(r->priv_key, sizeof(r->priv_key), "%s", priv);
	return 0;
}

static void
h_add(void *arg, struct rpc_call *c)
{
	struct api_snmp *s = arg;
	struct db_snmp_receiver r;

	if (receiver_from_params(c, &r) < 0)
		return;
	if (db_snmp_receiver_put(s->ctx->db, &r) < 0) {
		rpc_fail(c, "INTERNAL_ERROR", db_errmsg(s->ctx->db), NULL);
	} else {
		log_notice("pool: SNMP receiver %s (%s port %" PRId64 ", v%s%s) added by %s",
		           r.uuid, r.address, r.port, r.version, r.inform ? ", inform" : "",
		           rpc_call_session(c)->user);
		rpc_reply(c, xval_new_string(r.uuid));
	}
	explicit_bzero(&r, sizeof(r));
}

static void
h_remove(void *arg, struct rpc_call *c)
{
	struct api_snmp *s = arg;
	const char *uuid;
	int rc;

	if (rpc_param_string(c, 0, &uuid) < 0)
		return;
	if (strncmp(uuid, "OpaqueRef:", 10) == 0)
		uuid += 10;
	if (!id_uuid_valid(uuid)) {
		rpc_fail(c, "UUID_INVALID", "snmp_receiver", uuid, NULL);
		return;
	}
	rc = db_snmp_receiver_delete(s->ctx->db, uuid);
	if (rc < 0) {
		rpc_fail(c, "INTERNAL_ERROR", db_errmsg(s->ctx->db), NULL);
		return;
	}
	if (rc > 0) {
		rpc_fail(c, "UUID_INVALID", "snmp_receiver", uuid, NULL);
		return;
	}
	log_notice("pool: SNMP receiver %s removed by %s", uuid, rpc_call_session(c)->user);
	rpc_reply(c, xval_new_string(""));
}

/* The pool's v3 engine ID as "0x...", or "" without a pool. */
static void
engine_hex(struct api_snmp *s, char *hex, size_t len)
{
	struct db_pool p;
	uint8_t id[SNMP_TRAP_ENGINE_ID_LEN];

	hex[0] = '\0';
	if (db_pool_get(s->ctx->db, &p) == 0) {
		if (snmp_trap_engine_id(p.uuid, id, hex, len) < 0)
			hex[0] = '\0';
		db_pool_clear(&p);
	}
}

static void
h_list(void *arg, struct rpc_call *c)
{
	struct api_snmp *s = arg;
	struct db_snmp_receiver *v = NULL;
	struct xval *a;
	char hex[2 * SNMP_TRAP_ENGINE_ID_LEN + 3];
	size_t n, i;

	if (db_snmp_receiver_list(s->ctx->db, &v, &n) < 0) {
		rpc_fail(c, "INTERNAL_ERROR", db_errmsg(s->ctx->db), NULL);
		return;
	}
	engine_hex(s, hex, sizeof(hex));
	a = xval_new_array();
	for (i = 0; i < n; i++) {
		struct xval *x = xval_new_struct();
		int v3 = strcmp(v[i].version, "3") == 0;

		xval_struct_add(x, "uuid", xval_new_string(v[i].uuid));
		xval_struct_add(x, "address", xval_new_string(v[i].address));
		xval_struct_add(x, "port", xval_new_int(v[i].port));
		xval_struct_add(x, "version", xval_new_string(v[i].version));
		xval_struct_add(x, "inform", xval_new_bool(v[i].inform));
		xval_struct_add(x, "user", xval_new_string(v[i].user));
		xval_struct_add(x, "community_set", xval_new_bool(v[i].community[0] != '\0'));
		xval_struct_add(x, "auth_key_set", xval_new_bool(v[i].auth_key[0] != '\0'));
		xval_struct_add(x, "priv_key_set", xval_new_bool(v[i].priv_key[0] != '\0'));
		xval_struct_add(x, "engine_id", xval_new_string(v3 && !v[i].inform ? hex : ""));
		xval_array_append(a, x);
	}
	db_snmp_receiver_list_free(v, n);
	rpc_reply(c, a);
}

static void
held_drop(struct held *h)
{
	struct held **pp;

	for (pp = &h->s->tests; *pp != NULL; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	xfree(h);
}

static void
test_done(void *arg, const struct db_snmp_receiver *rcv, char (*results)[256], size_t n)
{
	struct held *h = arg;
	struct xval *a = xval_new_array();
	size_t i;

	for (i = 0; i < n; i++) {
		struct xval *x = xval_new_struct();

		xval_struct_add(x, "uuid", xval_new_string(rcv[i].uuid));
		xval_struct_add(x, "address", xval_new_string(rcv[i].address));
		xval_struct_add(x, "port", xval_new_int(rcv[i].port));
		xval_struct_add(x, "ok", xval_new_bool(results[i][0] == '\0'));
		xval_struct_add(x, "error", xval_new_string(results[i]));
		xval_array_append(a, x);
	}
	rpc_reply(h->call, a);
	rpc_call_release(h->call);
	held_drop(h);
}

/* Held until every receiver has an outcome (the SNMP worker's). */
static void
h_test(void *arg, struct rpc_call *c)
{
	struct api_snmp *s = arg;
	struct held *h = xcalloc(1, sizeof(*h));

	h->s = s;
	h->call = c;
	h->next = s->tests;
	s->tests = h;
	rpc_call_hold(c);
	if (notify_test(s->notify, test_done, h) < 0) {
		rpc_fail(c, "INTERNAL_ERROR", db_errmsg(s->ctx->db), NULL);
		rpc_call_release(c);
		held_drop(h);
	}
}

static const char *const p_add[] = {"address", "port",     "version",  "inform", "community",
                                    "user",    "auth_key", "priv_key", NULL};
static const char *const p_uuid[] = {"uuid", NULL};

struct api_snmp *
api_snmp_new(struct api_ctx *ctx, struct notify *n)
{
	struct api_snmp *s = xcalloc(1, sizeof(*s));
	const struct rpc_method m[] = {
	    {.name = "pool.snmp_receiver_add",
	     .min_params = 8,
	     .max_params = 8,
	     .flags = RPC_WRITE,
	     .role = RPC_ROLE_POOL_ADMIN,
	     .fn = h_add,
	     .arg = s,
	     .param_names = p_add},
	    {.name = "pool.snmp_receiver_remove",
	     .min_params = 1,
	     .max_params = 1,
	     .flags = RPC_WRITE,
	     .role = RPC_ROLE_POOL_ADMIN,
	     .fn = h_remove,
	     .arg = s,
	     .param_names = p_uuid},
	    {.name = "pool.snmp_receiver_get_all_records",
	     .min_params = 0,
	     .max_params = 0,
	     .flags = 0,
	     .role = RPC_ROLE_POOL_ADMIN,
	     .fn = h_list,
	     .arg = s},
	    {.name = "pool.snmp_test",
	     .min_params = 0,
	     .max_params = 0,
	     .flags = 0,
	     .role = RPC_ROLE_POOL_ADMIN,
	     .fn = h_test,
	     .arg = s},
	};
	size_t i;

	s->ctx = ctx;
	s->notify = n;
	for (i = 0; i < ARRAY_SIZE(m); i++)
		if (rpc_register(ctx->rpc, &m[i]) < 0)
			log_warnx("API method %s registered twice", m[i].name);
	return s;
}

void
api_snmp_free(struct api_snmp *s)
{
	struct held *h;

	if (s == NULL)
		return;
	while ((h = s->tests) != NULL) {
		s->tests = h->next;
		notify_test_cancel(s->notify, h);
		rpc_call_release_fail(h->call, "INTERNAL_ERROR", "hasvcd is stopping", NULL);
		xfree(h);
	}
	xfree(s);
}
