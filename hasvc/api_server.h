/*
** hasvcd's API server: HTTPS + XML-RPC/JSON-RPC on the daemon's event loop,
** serving the pool database (see docs/api.md).
**
** Start-up generates the self-signed certificate if there is none, creates
** the user root from the configured password file (or the terminal) when
** there is no root yet, and listens; a failure to do any of it is fatal, as
** a host whose API cannot start cannot be managed.
*/
#ifndef HASVC_HASVC_API_SERVER_H
#define HASVC_HASVC_API_SERVER_H

#include "hasvc/config.h"
#include "hasvc/db.h"
#include "hasvc/repl.h"

struct event_base;
struct api_server;
struct cluster;

struct api_server_hooks {
	void *arg;
	/* The pool changed under this host (it joined one, or its standalone
	** pool became clustered): restart once the pending answers are out. */
	void (*restart)(void *arg, const char *why);
	/* A committed change of the pool database (db_change_hook's contract,
	** hasvc/db.h), after the API's own consumers; NULL: none. */
	void (*db_changed)(void *arg, enum db_table table, const char *uuid, enum db_change op);
};

/* `db`, `cfg` and `cluster` must outlive the server.  `cluster` NULL: a
** standalone one-host pool; else every write is replicated through it, and
** a host that is not in sync answers only the cluster status and logins. */
struct api_server *api_server_start(struct event_base *base, struct db *db,
				    const struct config *cfg, struct cluster *cluster,
				    const struct api_server_hooks *hooks);
/* The cluster's status changed (the daemon passes it on). */
void api_server_cluster_status(struct api_server *s, const struct repl_status *st);
/* Close every connection, detach from the database; NULL is a no-op. */
void api_server_stop(struct api_server *s);

#endif
