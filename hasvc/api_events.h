/*
** XAPI events: event.from, event.inject (and nothing of the legacy
** register/next).
**
** Every change the pool database commits reaches api_events_note() through
** the database's change hook, with a new generation number.  event.from
** returns the changes after the caller's token that match its class filter,
** one event per object (coalesced: the latest operation and the current
** snapshot), or blocks on the event loop until one arrives or its timeout
** (capped at 60 s) passes, then returns an empty batch.  Tokens are
** "%020llu,%020llu" (database generation, message generation) as xapi's.
** A token older than the retained history returns every current object as
** "add" (a resync) rather than losing events.
*/
#ifndef HASVC_HASVC_API_EVENTS_H
#define HASVC_HASVC_API_EVENTS_H

#include "hasvc/api_objects.h"
#include "hasvc/db.h"

struct event_base;
struct api_events;

struct api_events *api_events_new(struct event_base *base, struct api_ctx *ctx);
void api_events_free(struct api_events *ev); /* completes pending waits; NULL: no-op */

/* The database change hook (db_set_change_hook), arg = struct api_events *. */
void api_events_db_hook(void *arg, enum db_table table, const char *uuid, enum db_change op);

/* Register event.from and event.inject. */
void api_events_register(struct api_events *ev);

#endif
