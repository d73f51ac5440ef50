/*
** hasvcd's I/O shell: the event loop that feeds the sans-I/O core (core.h)
** with real events and carries out its actions against the real pool
** database, hypervisor backend and clock.
**
** The loop owns every piece of mutable state of the process; nothing else
** runs concurrently with it (STYLE habit 6).  Backend calls made from it are
** bounded by the backends' own deadlines (hv.h).
*/
#ifndef HASVC_HASVC_DAEMON_H
#define HASVC_HASVC_DAEMON_H

#include "hasvc/config.h"

/* Run hasvcd with configuration `cfg` until SIGTERM/SIGINT or a fatal error.
** Returns the process exit code. */
int daemon_run(const struct config *cfg);

/* daemon_run's answer when hasvcd must start again from scratch (it joined a
** pool, or was ejected from one): hasvcd re-executes itself. */
#define DAEMON_EXIT_RESTART 75

#endif
