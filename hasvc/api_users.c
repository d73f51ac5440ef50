/*
** API users: the hasvc_user.* methods and the rpc user_lookup hook.
**
** xapi authenticates against an external directory and maps "subjects" to
** roles; hasvc keeps its own users in the pool database (name, PBKDF2 hash,
** role name) instead, managed through this hasvc extension class:
**
**   hasvc_user.add(name, password, role)     pool-admin
**   hasvc_user.remove(name)                  pool-admin
**   hasvc_user.set_role(name, role)          pool-admin
**   hasvc_user.set_password(name, password)  any user for their own name,
**                                            pool-admin for anyone
**   hasvc_user.get_record(name)              pool-admin, {name, role}
**   hasvc_user.get_all_records()             pool-admin, {name: {name, role}}
** Removing or demoting the last pool-admin is refused (INVALID_VALUE): a
** pool nobody can administer could only be repaired offline.
**
** Errors reuse xapi's subject/role codes: SUBJECT_ALREADY_EXISTS [],
** SUBJECT_CANNOT_BE_RESOLVED [] (no such user), ROLE_NOT_FOUND [] (a role
** that is not "pool-admin", "pool-operator" or "read-only").  A password
** hash never leaves this file.
**
** Hashing a password takes 0.1-0.3 s and set_password is open to every
** user, so add and set_password never hash on the loop: they check their
** params, start passwd_hash_async() and complete the call from its
** completion (on the loop), which reloads the user -- it may have been
** added, removed or changed meanwhile -- and stores it in one transaction.
** A client that goes away meanwhile (rpc_call_on_abort) leaves the hash to
** finish and be thrown away.  Hashes queued or running are capped for the
** whole process (USERS_HASHES_MAX) and per calling user
** (USERS_HASHES_PER_CALLER); beyond either the call fails at once with
** TOO_BUSY [].  This cap is separate from rpc's login cap on purpose: if
** they were shared, any authenticated user could fill it with password
** changes and lock everyone (administrators included) out of logging in.
** A hash outlives its client, so it keeps its slot until it ends.
**
** Every change that affects a user's rights (remove, set_role,
** set_password) drops that user's sessions after the change is committed, so
** the new rights apply at the next login.
*/
#include <stdio.h>
#include <string.h>

#include "api/passwd.h"
#include "hasvc/api_objects.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define USERS_HASHES_MAX        4 /* queued or running, all callers together */
#define USERS_HASHES_PER_CALLER 1 /* of those, per calling user */

/*
** A password hash in flight for hasvc_user.add or set_password.  Loop thread
** only.  `call` is NULL once the client went away; while it is set, ctx is
** valid too (rpc_free aborts every call before the context goes).
*/
struct user_op {
	struct user_op *prev, *next;
	struct api_ctx *ctx;
	struct rpc_call *call;
	int add; /* hasvc_user.add; else set_password */
	char name[DB_NAME_LEN];
	char role[32]; /* add only */
	char by[256];  /* the calling user */
	char hash[256]; /* once hashed */
};

/* Every hash in flight, in this process: the cap outlives any one rpc. */
static struct user_op *user_ops;
static unsigned user_nops;

int
api_user_lookup(void *arg, const char *user, char *hash, size_t hashlen, enum rpc_role *role)
{
	struct api_ctx *ctx = arg;
	struct db_user u;
	int rc, r;

	rc = db_user_get(ctx->db, user, &u);
	if (rc != 0) {
		if (rc < 0)
			log_warnx("user %s: lookup failed: %s", user, db_errmsg(ctx->db));
		return rc;
	}
	r = rpc_role_from_name(u.role);
	if (r <= RPC_ROLE_NONE) {
		log_warnx("user %s: unknown role '%s' in the pool database; login refused", user,
		          u.role);
		rc = -1;
		goto out;
	}
	if (strlen(u.password_hash) >= hashlen) {
		log_warnx("user %s: password hash too long", user);
		rc = -1;
		goto out;
	}
	memcpy(hash, u.password_hash, strlen(u.password_hash) + 1);
	*role = (enum rpc_role)r;
out:
	explicit_bzero(&u, sizeof(u));
	return rc;
}

/* The role param at index i: 0 with *name the canonical spelling, or -1
** after failing the call with ROLE_NOT_FOUND. */
static int
param_role(struct rpc_call *c, size_t i, const char **name)
{
	const char *s;
	int r;

	if (rpc_param_string(c, i, &s) < 0)
		return -1;
	r = rpc_role_from_name(s);
	if (r <= RPC_ROLE_NONE) {
		rpc_fail(c, "ROLE_NOT_FOUND", NULL);
		return -1;
	}
	*name = rpc_role_name((enum rpc_role)r);
	return 0;
}

/* Load user `name` (param 0); -1 after failing the call. */
static int
load_user(struct api_ctx *ctx, struct rpc_call *c, const char **name, struct db_user *u)
{
	int rc;

	if (rpc_param_string(c, 0, name) < 0)
		return -1;
	rc = db_user_get(ctx->db, *name, u);
	if (rc == 0)
		return 0;
	if (rc == 1)
		rpc_fail(c, "SUBJECT_CANNOT_BE_RESOLVED", NULL);
	else
		rpc_fail(c, "INTERNAL_ERROR", db_errmsg(ctx->db), NULL);
	return -1;
}

/* The password param at index i: 0 with *pw set, or -1 after failing the
** call (an empty password is INVALID_VALUE ["password", ""]). */
static int
param_password(struct rpc_call *c, size_t i, const char **pw)
{
	if (rpc_param_string(c, i, pw) < 0)
		return -1;
	if ((*pw)[0] == '\0') {
		rpc_fail(c, "INVALID_VALUE", "password", "", NULL);
		return -1;
	}
	return 0;
}

/* Store u (one db write, its own transaction); -1 after failing the call.
** The caller replies (and logs first: the call is gone once completed). */
static int
store_user(struct api_ctx *ctx, struct rpc_call *c, const struct db_user *u)
{
	if (db_user_put(ctx->db, u) < 0) {
		rpc_fail(c, "INTERNAL_ERROR", db_errmsg(ctx->db), NULL);
		return -1;
	}
	return 0;
}

static void
user_op_unlink(struct user_op *op)
{
	if (op->prev)
		op->prev->next = op->next;
	else
		user_ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
	op->prev = op->next = NULL;
	ha_assert(user_nops > 0);
	user_nops--;
}

static void
user_op_abort(void *arg)
{
	struct user_op *op = arg;

	op->call = NULL; /* rpc frees the call; the hash is thrown away */
}

/* Store the hashed user and answer (an rpc_handler, so that in a clustered
** pool it runs as a replicated write).  Everything checked before the hash
** started may have changed since, so the user is loaded again and the answer
** is the one a call made now would get.  Frees op. */
static void
user_op_store(void *arg, struct rpc_call *c)
{
	struct user_op *op = arg;
	struct api_ctx *ctx = op->ctx;
	const char *hash = op->hash;
	struct db_user u;
	int found;

	memset(&u, 0, sizeof(u));
	found = db_user_get(ctx->db, op->name, &u);
	if (found < 0) {
		rpc_fail(c, "INTERNAL_ERROR", db_errmsg(ctx->db), NULL);
		goto out;
	}
	if (op->add) {
		if (found == 0) {
			rpc_fail(c, "SUBJECT_ALREADY_EXISTS", NULL);
			goto out;
		}
		memset(&u, 0, sizeof(u));
		snprintf(u.name, sizeof(u.name), "%s", op->name);
		snprintf(u.role, sizeof(u.role), "%s", op->role);
	} else if (found == 1) {
		rpc_fail(c, "SUBJECT_CANNOT_BE_RESOLVED", NULL);
		goto out;
	}
	/* set_password keeps whatever role the user has now. */
	memcpy(u.password_hash, hash, strlen(hash) + 1);
	if (store_user(ctx, c, &u) < 0)
		goto out;
	if (op->add) {
		log_notice("user %s added with role %s by %s", u.name, u.role, op->by);
	} else {
		log_notice("user %s: password changed by %s", u.name, op->by);
		/* The caller's own session goes too when they change their
		** own password: the reply still reaches them, the session is
		** then gone. */
		rpc_sessions_drop_user(ctx->rpc, u.name);
	}
	rpc_reply(c, xval_new_string(""));
out:
	explicit_bzero(&u, sizeof(u));
	explicit_bzero(op->hash, sizeof(op->hash));
	xfree(op);
}

/* The hash is ready (rc 0) or failed: on the loop. */
static void
user_op_hashed(void *arg, int rc, const char *hash)
{
	struct user_op *op = arg;
	struct rpc_call *c = op->call;
	struct api_ctx *ctx = op->ctx;

	user_op_unlink(op);
	if (!c) {
		log_info("user %s: password hashed after the client of %s went away; discarded",
		         op->name, op->by);
		xfree(op);
		return;
	}
	if (rc < 0 || strlen(hash) >= sizeof(op->hash) ||
	    strlen(hash) >= sizeof(((struct db_user *)0)->password_hash)) {
		rpc_fail(c, "INTERNAL_ERROR", "cannot hash the password", NULL);
		xfree(op);
		return;
	}
	memcpy(op->hash, hash, strlen(hash) + 1);
	rpc_call_on_abort(c, NULL, NULL); /* op no longer waits for anything */
	if (ctx->call_write != NULL)
		ctx->call_write(ctx->write_arg, c, user_op_store, op);
	else
		user_op_store(op, c);
}

/* Start hashing `pw` for user `name` and defer the call; the call is
** completed (or failed at once, e.g. TOO_BUSY) either way. */
static void
user_op_start(struct api_ctx *ctx, struct rpc_call *c, int add, const char *name, const char *role,
              const char *pw)
{
	const char *by = rpc_call_session(c)->user;
	struct user_op *op;
	unsigned mine = 0;

	for (op = user_ops; op; op = op->next)
		if (strcmp(op->by, by) == 0)
			mine++;
	if (user_nops >= USERS_HASHES_MAX || mine >= USERS_HASHES_PER_CALLER) {
		log_warnx("user %s: %s refused, %u password hashes already pending (%u of them "
		          "theirs)",
		          by, rpc_call_method(c), user_nops, mine);
		rpc_fail(c, "TOO_BUSY", NULL);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->ctx = ctx;
	op->add = add;
	snprintf(op->name, sizeof(op->name), "%s", name);
	snprintf(op->role, sizeof(op->role), "%s", role ? role : "");
	snprintf(op->by, sizeof(op->by), "%s", by);
	if (passwd_hash_async(rpc_event_base(ctx->rpc), pw, PASSWD_MIN_ITERATIONS, user_op_hashed,
	                      op) < 0) {
		xfree(op);
		rpc_fail(c, "INTERNAL_ERROR", "cannot hash the password", NULL);
		return;
	}
	op->call = c;
	op->next = user_ops;
	if (user_ops)
		user_ops->prev = op;
	user_ops = op;
	user_nops++;
	rpc_call_on_abort(c, user_op_abort, op);
}

static void
h_user_add(void *arg, struct rpc_call *c)
{
	struct api_ctx *ctx = arg;
	const char *name, *role, *pw;
	struct db_user u;
	int rc;

	if (rpc_param_string(c, 0, &name) < 0)
		return;
	if (name[0] == '\0' || strlen(name) >= sizeof(u.name)) {
		rpc_fail(c, "INVALID_VALUE", "name", name, NULL);
		return;
	}
	if (param_role(c, 2, &role) < 0)
		return;
	rc = db_user_get(ctx->db, name, &u);
	explicit_bzero(&u, sizeof(u));
	if (rc < 0) {
		rpc_fail(c, "INTERNAL_ERROR", db_errmsg(ctx->db), NULL);
		return;
	}
	if (rc == 0) {
		rpc_fail(c, "SUBJECT_ALREADY_EXISTS", NULL);
		return;
	}
	if (param_password(c, 1, &pw) < 0)
		return;
	user_op_start(ctx, c, 1, name, role, pw);
}

/* Whether a change that takes pool-admin away from `name` would leave the
** pool with no pool-admin (then nobody could manage users again).  1 if so,
** 0 if not, -1 on a database error. */
static int
last_admin(struct api_ctx *ctx, const char *name)
{
	struct db_user *users;
	size_t n, i, others = 0;

	if (db_user_list(ctx->db, &users, &n) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(users[i].name, name) != 0 && strcmp(users[i].role, "pool-admin") == 0)
			others++;
	explicit_bzero(users, n * sizeof(*users));
	xfree(users);
	return others == 0;
}

/* Fails the call and returns -1 if removing or demoting `u` would leave no
** pool-admin. */
static int
keep_an_admin(struct api_ctx *ctx, struct rpc_call *c, const struct db_user *u)
{
	int rc;

	if (strcmp(u->role, "pool-admin") != 0)
		return 0;
	rc = last_admin(ctx, u->name);
	if (rc == 0)
		return 0;
	if (rc < 0)
		rpc_fail(c, "INTERNAL_ERROR", db_errmsg(ctx->db), NULL);
	else
		rpc_fail(c, "INVALID_VALUE", "name", u->name,
			 "the pool must keep at least one pool-admin", NULL);
	return -1;
}

static void
h_user_remove(void *arg, struct rpc_call *c)
{
	struct api_ctx *ctx = arg;
	const char *name;
	struct db_user u;
	int rc;

	if (load_user(ctx, c, &name, &u) < 0)
		return;
	if (keep_an_admin(ctx, c, &u) < 0)
		goto out;
	rc = db_user_delete(ctx->db, name);
	if (rc != 0)
		goto fail;
	log_notice("user %s removed by %s", u.name, rpc_call_session(c)->user);
	rpc_sessions_drop_user(ctx->rpc, u.name);
	rpc_reply(c, xval_new_string(""));
	goto out;
fail:
	rpc_fail(c, "INTERNAL_ERROR", db_errmsg(ctx->db), NULL);
out:
	explicit_bzero(&u, sizeof(u));
}

static void
h_user_set_role(void *arg, struct rpc_call *c)
{
	struct api_ctx *ctx = arg;
	const char *name, *role;
	struct db_user u;

	if (load_user(ctx, c, &name, &u) < 0)
		return;
	if (param_role(c, 1, &role) < 0)
		goto out;
	if (strcmp(role, "pool-admin") != 0 && keep_an_admin(ctx, c, &u) < 0)
		goto out;
	snprintf(u.role, sizeof(u.role), "%s", role);
	if (store_user(ctx, c, &u) < 0)
		goto out;
	log_notice("user %s now has role %s (set by %s)", u.name, role, rpc_call_session(c)->user);
	rpc_sessions_drop_user(ctx->rpc, u.name);
	rpc_reply(c, xval_new_string(""));
out:
	explicit_bzero(&u, sizeof(u));
}

/* Registered for read-only so that anyone may change their own password;
** changing someone else's needs pool-admin, checked here with the same
** error the dispatcher gives. */
static void
h_user_set_password(void *arg, struct rpc_call *c)
{
	struct api_ctx *ctx = arg;
	const struct rpc_session_info *s = rpc_call_session(c);
	const char *name, *pw;
	struct db_user u;

	if (rpc_param_string(c, 0, &name) < 0)
		return;
	if (strcmp(name, s->user) != 0 && s->role < RPC_ROLE_POOL_ADMIN) {
		rpc_fail(c, "RBAC_PERMISSION_DENIED", "hasvc_user.set_password",
		         "No permission in user session. (Roles with this permission: "
		         "pool-admin)",
		         NULL);
		return;
	}
	if (load_user(ctx, c, &name, &u) < 0)
		return;
	explicit_bzero(&u, sizeof(u));
	if (param_password(c, 1, &pw) < 0)
		return;
	user_op_start(ctx, c, 0, name, NULL, pw);
}

static void
h_user_get_record(void *arg, struct rpc_call *c)
{
	struct api_ctx *ctx = arg;
	const char *name;
	struct db_user u;
	struct xval *st;

	if (load_user(ctx, c, &name, &u) < 0)
		return;
	st = xval_new_struct();
	xval_struct_add(st, "name", xval_new_string(u.name));
	xval_struct_add(st, "role", xval_new_string(u.role));
	explicit_bzero(&u, sizeof(u));
	rpc_reply(c, st);
}

/* {name: {name, role}} for every user; hashes never leave the database. */
static void
h_user_get_all_records(void *arg, struct rpc_call *c)
{
	struct api_ctx *ctx = arg;
	struct db_user *users;
	struct xval *all, *st;
	size_t n, i;

	if (db_user_list(ctx->db, &users, &n) < 0) {
		rpc_fail(c, "INTERNAL_ERROR", db_errmsg(ctx->db), NULL);
		return;
	}
	all = xval_new_struct();
	for (i = 0; i < n; i++) {
		st = xval_new_struct();
		xval_struct_add(st, "name", xval_new_string(users[i].name));
		xval_struct_add(st, "role", xval_new_string(users[i].role));
		xval_struct_add(all, users[i].name, st);
	}
	explicit_bzero(users, n * sizeof(*users));
	xfree(users);
	rpc_reply(c, all);
}

static const char *const p_add[] = {"name", "password", "role", NULL};
static const char *const p_name[] = {"name", NULL};
static const char *const p_role[] = {"name", "role", NULL};
static const char *const p_password[] = {"name", "password", NULL};

void
api_users_register(struct api_ctx *ctx)
{
	const enum rpc_role admin = RPC_ROLE_POOL_ADMIN;

	api_register_method(ctx, "hasvc_user.add", 3, 3, RPC_WRITE, admin, h_user_add, p_add);
	api_register_method(ctx, "hasvc_user.remove", 1, 1, RPC_WRITE, admin, h_user_remove,
	                    p_name);
	api_register_method(ctx, "hasvc_user.set_role", 2, 2, RPC_WRITE, admin, h_user_set_role,
	                    p_role);
	api_register_method(ctx, "hasvc_user.set_password", 2, 2, RPC_WRITE, RPC_ROLE_READ_ONLY,
	                    h_user_set_password, p_password);
	api_register_method(ctx, "hasvc_user.get_all_records", 0, 0, 0, admin,
			    h_user_get_all_records, NULL);
	api_register_method(ctx, "hasvc_user.get_record", 1, 1, 0, admin, h_user_get_record,
	                    p_name);
}
