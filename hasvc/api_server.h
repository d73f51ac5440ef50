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

struct event_base;
struct api_server;

/* `db` and `cfg` must outlive the server. */
struct api_server *api_server_start(struct event_base *base, struct db *db,
				    const struct config *cfg);
/* Close every connection, detach from the database; NULL is a no-op. */
void api_server_stop(struct api_server *s);

#endif
