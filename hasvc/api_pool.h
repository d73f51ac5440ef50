/*
** Pool membership through the API (docs/cluster.md, "Joining and leaving"):
**
**   pool.join(session, master_address, master_username, master_password)
**       on the host that joins (a standalone one-host pool): logs in to the
**       master, asks it to admit this host, takes the pool's database it
**       answers with, writes corosync's files, answers, and restarts
**       hasvcd as a member (xapi restarts itself after a join too).
**   pool.admit_host(session, host record)            (a hasvc extension)
**       on the master: the joining side of pool.join.  Gives the host the
**       next cluster nodeid and adds it -- a replicated write, so every
**       host's corosync.conf gains it and corosync reloads -- then answers
**       {pool, nodeid, snapshot}: the database image, base64.  A standalone
**       master becomes a clustered pool of two (and restarts as a member).
**   pool.eject(session, host)
**       on the master: removes a member; every host's corosync.conf loses it
**       and corosync reloads; the ejected host, seeing its own record gone,
**       sets its database aside and restarts as a standalone host.
**
** As in xapi, none of these runs while HA is enabled (HA_IS_ENABLED).
*/
#ifndef HASVC_HASVC_API_POOL_H
#define HASVC_HASVC_API_POOL_H

#include "hasvc/api_objects.h"
#include "hasvc/config.h"

struct api_pool;
struct cluster;
struct event_base;

struct api_pool_hooks {
	void *arg;
	/* Restart hasvcd once the answers now pending have gone out: this
	** host's pool changed under it (it joined one, or became clustered). */
	void (*restart)(void *arg, const char *why);
};

/* `cluster` NULL: a standalone host. */
struct api_pool *api_pool_new(struct event_base *base, struct api_ctx *ctx,
			      const struct config *cfg, struct cluster *cluster,
			      const struct api_pool_hooks *hooks);
void api_pool_register(struct api_pool *p);
/* A join still talking to its master is cut loose (its answer dropped). */
void api_pool_free(struct api_pool *p);

#endif
