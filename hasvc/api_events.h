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

#include <stddef.h>
#include <stdint.h>

#include "hasvc/api_objects.h"
#include "hasvc/db.h"

struct event_base;
struct api_events;

struct api_events *api_events_new(struct event_base *base, struct api_ctx *ctx);
/* Completes pending waits (as if their timeout passed), so call it while the
** database and rpc are still there, after clearing the database's change
** hook.  NULL: no-op. */
void api_events_free(struct api_events *ev);

/* The database change hook (db_set_change_hook), arg = struct api_events *. */
void api_events_db_hook(void *arg, enum db_table table, const char *uuid, enum db_change op);

/* Register event.from and event.inject. */
void api_events_register(struct api_events *ev);

/* api_events_new with this run's first generation and history size given
** (api_events_new: wall-clock microseconds, 16384 entries); for tests. */
struct api_events *api_events_new_with(struct event_base *base, struct api_ctx *ctx,
				       uint64_t first_gen, size_t ring_size);
/* The current generation (the first part of the current token). */
uint64_t api_events_generation(const struct api_events *ev);
/* How many event.from calls are waiting. */
size_t api_events_waiting(const struct api_events *ev);

#endif
