/*
** XAPI events: event.from and event.inject over the pool database's change
** hook.  See api_events.h.
**
** History.  Every change becomes an entry (generation, class, uuid, op) in a
** ring of the last `cap` entries.  Generations are consecutive, so the
** entry of generation g sits in slot g % cap and the ring holds exactly the
** generations cur - n + 1 .. cur.  A host's change is two entries, host and
** host_metrics (api_host_metrics_uuid of the host's); users and fence
** records are not API classes and make none.
**
** Generations.  The first one of a run is the wall clock in microseconds at
** api_events_new(), so tokens of an earlier run (smaller, unless the clock
** went back or an earlier run made more than a million changes a second)
** fall outside this run's history and resync instead of silently matching
** unrelated changes.  The history is memory only: nothing is lost by that,
** since a resync returns every current object.
**
** Tokens.  "%020llu,%020llu" as xapi's: (database generation, message
** generation).  Messages here are ordinary database rows with ordinary
** generations, so the second part is always 0 on output and ignored on input
** (clients only echo tokens; XO does).  A token T is served from history iff
** cur - n <= T <= cur (every generation after T is still held); any other
** token, and "", is a resync: every current object of the subscribed
** classes as "add", with the current token.
**
** Coalescing.  The entries after T that match the subscription are merged
** per object: it existed before the window unless its first entry is an
** add, it exists after unless its last is a del; so add+mod = add, add+del
** = nothing, mod+del = del, del+add = mod.  Events come in the order of
** their latest generation, which is their id; add and mod carry the
** object's current record as snapshot, del none (xapi omits the field).
**
** Waiting.  An event.from with nothing to return is parked as a waiter with
** a libevent timer for its timeout (capped at 60 s).  New history entries
** activate one event (wake), so a burst of commits costs one pass over the
** waiters, run from the loop and never from inside a database write.  A
** waiter is completed by the wake pass (something matched), by its timer
** (an empty batch with the current token), or dropped when its client goes
** away (rpc_call_on_abort).
*/
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "hasvc/api_events.h"
#include "lib/check.h"
#include "lib/clock.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define EV_RING_DEFAULT   16384
#define EV_TIMEOUT_MAX_MS 60000
/* event.inject calls allowed per session per window (see h_event_inject). */
#define EV_INJECT_MAX       20
#define EV_INJECT_WINDOW_MS 1000

/* event.inject accounting of one session in its current window. */
struct ev_inject_rate {
	char ref[HA_REF_LEN];
	uint64_t start_ms;
	unsigned n;
	int logged;
};

struct ev_entry {
	uint64_t gen;
	enum api_class cls;
	enum db_change op;
	char uuid[HA_UUID_LEN];
};

/* One element of a subscription: every class, a class, or one object. */
struct ev_sub {
	int none; /* a class we do not serve: matches nothing, as in xapi */
	int all;
	enum api_class cls;
	char uuid[HA_UUID_LEN]; /* "" = the whole class */
};

struct ev_filter {
	struct ev_sub *subs;
	size_t n;
};

struct ev_waiter {
	struct ev_waiter *prev, *next;
	struct api_events *ev;
	struct rpc_call *call;
	struct ev_filter f;
	uint64_t since;
	struct event *timer;
};

struct api_events {
	struct event_base *base;
	struct api_ctx *ctx;
	uint64_t cur; /* the last generation handed out */
	struct ev_entry *ring;
	size_t cap, n;
	struct ev_waiter *waiters;
	size_t nwaiters;
	struct event *wake;
	/* Sessions that injected within the last window; at most one entry
	** per live session, stale ones pruned on every inject. */
	struct ev_inject_rate *rates;
	size_t nrates, caprates;
};

/* ---- history ---- */

static void
ring_push(struct api_events *ev, enum api_class cls, const char *uuid, enum db_change op)
{
	struct ev_entry *e;

	ev->cur++;
	e = &ev->ring[ev->cur % ev->cap];
	e->gen = ev->cur;
	e->cls = cls;
	e->op = op;
	snprintf(e->uuid, sizeof(e->uuid), "%s", uuid);
	if (ev->n < ev->cap)
		ev->n++;
	if (ev->wake != NULL && ev->waiters != NULL)
		event_active(ev->wake, 0, 0);
}

void
api_events_db_hook(void *arg, enum db_table table, const char *uuid, enum db_change op)
{
	struct api_events *ev = arg;

	switch (table) {
	case DB_TABLE_POOL:
		ring_push(ev, API_POOL, uuid, op);
		break;
	case DB_TABLE_HOST: {
		char m[HA_UUID_LEN];

		api_host_metrics_uuid(uuid, m);
		ring_push(ev, API_HOST, uuid, op);
		ring_push(ev, API_HOST_METRICS, m, op);
		break;
	}
	case DB_TABLE_VM:
		ring_push(ev, API_VM, uuid, op);
		break;
	case DB_TABLE_VM_GROUP:
		ring_push(ev, API_VM_GROUP, uuid, op);
		break;
	case DB_TABLE_MESSAGE:
		ring_push(ev, API_MESSAGE, uuid, op);
		break;
	case DB_TABLE_USER:
	case DB_TABLE_FENCE:
	case DB_TABLE_INTENT:
		break; /* not API objects */
	}
}

/* Is token generation `t` served from history (every later one is held)? */
static int
token_in_history(const struct api_events *ev, uint64_t t)
{
	return t <= ev->cur && t >= ev->cur - ev->n;
}

/* ---- subscriptions and tokens ---- */

static int
sub_matches_class(const struct ev_filter *f, enum api_class cls)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (!f->subs[i].none && (f->subs[i].all || f->subs[i].cls == cls))
			return 1;
	return 0;
}

static int
sub_matches(const struct ev_filter *f, enum api_class cls, const char *uuid)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		const struct ev_sub *s = &f->subs[i];

		if (s->none)
			continue;
		if (s->all || (s->cls == cls && (s->uuid[0] == '\0' || strcmp(s->uuid, uuid) == 0)))
			return 1;
	}
	return 0;
}

/* Parse one subscription: "*", "class" or "class/ref" (class any case).
** A well-formed name of a class we do not serve matches nothing, as in
** xapi: clients subscribe to every type that system.listMethods shows a
** get_all_records for (Xen Orchestra does), extensions included.  -1 if
** the entry is not a class name or the ref is not a ref. */
static int
sub_parse(const char *s, struct ev_sub *out)
{
	char cls[64];
	const char *slash = strchr(s, '/');
	size_t len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	int c;

	memset(out, 0, sizeof(*out));
	if (strcmp(s, "*") == 0) {
		out->all = 1;
		return 0;
	}
	if (len >= sizeof(cls))
		return -1;
	memcpy(cls, s, len);
	cls[len] = '\0';
	if (len == 0 || strspn(cls, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789") != len)
		return -1;
	c = api_class_from_name(cls);
	if (c < 0) {
		out->none = 1;
		return slash != NULL && id_ref_to_uuid(slash + 1, out->uuid) < 0 ? -1 : 0;
	}
	out->cls = (enum api_class)c;
	if (slash != NULL && id_ref_to_uuid(slash + 1, out->uuid) < 0)
		return -1;
	return 0;
}

/* "D,M": D and M 1..20 decimal digits within int64 (xapi's %020Ld).  The
** message part is checked and ignored.  0 or -1. */
static int
token_parse(const char *s, uint64_t *gen)
{
	const char *p = s;
	uint64_t v[2];
	int i;

	for (i = 0; i < 2; i++) {
		const char *start = p;
		uint64_t x = 0;

		while (*p >= '0' && *p <= '9') {
			uint64_t d = (uint64_t)(*p++ - '0');

			if (x > ((uint64_t)INT64_MAX - d) / 10)
				return -1;
			x = x * 10 + d;
		}
		if (p == start)
			return -1;
		v[i] = x;
		if (i == 0 && *p++ != ',')
			return -1;
	}
	if (*p != '\0')
		return -1;
	*gen = v[0];
	return 0;
}

static struct xval *
token_new(uint64_t gen)
{
	char buf[48];

	snprintf(buf, sizeof(buf), "%020" PRIu64 ",%020d", gen, 0);
	return xval_new_string(buf);
}

static void
filter_clear(struct ev_filter *f)
{
	xfree(f->subs);
	f->subs = NULL;
	f->n = 0;
}

/* ---- building an answer ---- */

/* Lower case, as xapi's event classes and valid_ref_counts keys. */
static void
class_lower(enum api_class cls, char *out, size_t size)
{
	const char *name = api_class_name(cls);
	size_t i;

	for (i = 0; name[i] != '\0' && i + 1 < size; i++)
		out[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
	out[i] = '\0';
}

static const char *const op_names[] = {
    [DB_CHANGE_ADD] = "add",
    [DB_CHANGE_MOD] = "mod",
    [DB_CHANGE_DEL] = "del",
};

/* Append one event; for add and mod the snapshot is read now, and an object
** that is gone by now (changed behind our back, e.g. by hasvc-db) is
** reported as deleted. */
static void
events_append(struct api_events *ev, struct xval *events, uint64_t gen, enum api_class cls,
              const char *uuid, enum db_change op)
{
	struct xval *e, *snap = NULL;
	char id[24], lc[32], ref[HA_REF_LEN];

	if (op != DB_CHANGE_DEL) {
		snap = api_record(ev->ctx->db, cls, uuid);
		if (snap == NULL)
			op = DB_CHANGE_DEL;
	}
	snprintf(id, sizeof(id), "%" PRIu64, gen);
	class_lower(cls, lc, sizeof(lc));
	id_ref_from_uuid(ref, uuid);
	e = xval_new_struct();
	xval_struct_add(e, "id", xval_new_string(id));
	xval_struct_add(e, "timestamp", xval_new_string("0.0"));
	xval_struct_add(e, "class", xval_new_string(lc));
	xval_struct_add(e, "operation", xval_new_string(op_names[op]));
	xval_struct_add(e, "ref", xval_new_string(ref));
	if (snap != NULL)
		xval_struct_add(e, "snapshot", snap);
	xval_array_append(events, e);
}

/* Every current object of the subscribed classes, as "add". */
static void
events_resync(struct api_events *ev, const struct ev_filter *f, struct xval *events)
{
	char(*uuids)[HA_UUID_LEN];
	size_t n, i;
	int c;

	for (c = 0; c < API_NCLASSES; c++) {
		if (!sub_matches_class(f, (enum api_class)c))
			continue;
		if (api_list(ev->ctx->db, (enum api_class)c, &uuids, &n) < 0) {
			log_warnx("event.from: listing %s failed; the resync misses it",
			          api_class_name((enum api_class)c));
			continue;
		}
		for (i = 0; i < n; i++)
			if (sub_matches(f, (enum api_class)c, uuids[i]))
				events_append(ev, events, ev->cur, (enum api_class)c, uuids[i],
				              DB_CHANGE_ADD);
		xfree(uuids);
	}
}

/* Per-object merge of the history window. */
struct ev_merge {
	enum api_class cls;
	const char *uuid;
	uint64_t first_gen, last_gen;
	enum db_change first, last;
};

static int
merge_cmp_obj(const void *a, const void *b)
{
	const struct ev_merge *x = a, *y = b;
	int c;

	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	c = strcmp(x->uuid, y->uuid);
	if (c != 0)
		return c;
	return x->first_gen < y->first_gen ? -1 : x->first_gen > y->first_gen;
}

static int
merge_cmp_gen(const void *a, const void *b)
{
	const struct ev_merge *x = a, *y = b;

	return x->last_gen < y->last_gen ? -1 : x->last_gen > y->last_gen;
}

/* The coalesced events of generations since+1 .. cur that match f. */
static void
events_since(struct api_events *ev, const struct ev_filter *f, uint64_t since,
             struct xval *events)
{
	struct ev_merge *m = NULL;
	size_t n = 0, i, j, out = 0;
	uint64_t g;

	if (since >= ev->cur)
		return;
	m = xcalloc((size_t)(ev->cur - since), sizeof(*m));
	for (g = since + 1; g <= ev->cur; g++) {
		const struct ev_entry *e = &ev->ring[g % ev->cap];

		ha_assert(e->gen == g);
		if (!sub_matches(f, e->cls, e->uuid))
			continue;
		m[n].cls = e->cls;
		m[n].uuid = e->uuid;
		m[n].first_gen = m[n].last_gen = g;
		m[n].first = m[n].last = e->op;
		n++;
	}
	qsort(m, n, sizeof(*m), merge_cmp_obj);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && m[j].cls == m[i].cls && strcmp(m[j].uuid, m[i].uuid) == 0;
		     j++) {
			m[i].last = m[j].last;
			m[i].last_gen = m[j].last_gen;
		}
		m[out++] = m[i];
	}
	qsort(m, out, sizeof(*m), merge_cmp_gen);
	for (i = 0; i < out; i++) {
		int before = m[i].first != DB_CHANGE_ADD, after = m[i].last != DB_CHANGE_DEL;

		if (!before && !after)
			continue;
		events_append(ev, events, m[i].last_gen, m[i].cls, m[i].uuid,
		              !before ? DB_CHANGE_ADD : after ? DB_CHANGE_MOD : DB_CHANGE_DEL);
	}
	xfree(m);
}

/* Counts of every class's current objects, as xapi (which counts every
** table, not only the subscribed ones; XO reads "task"). */
static struct xval *
valid_ref_counts(struct api_events *ev)
{
	struct xval *counts = xval_new_struct();
	char(*uuids)[HA_UUID_LEN];
	char lc[32];
	size_t n;
	int c;

	for (c = 0; c < API_NCLASSES; c++) {
		if (api_list(ev->ctx->db, (enum api_class)c, &uuids, &n) < 0)
			continue;
		xfree(uuids);
		class_lower((enum api_class)c, lc, sizeof(lc));
		xval_struct_add(counts, lc, xval_new_int32((int32_t)n));
	}
	return counts;
}

/* The answer to an event.from from generation `since` (resync: from
** nothing), or NULL if it has no event and `force` is 0. */
static struct xval *
answer_build(struct api_events *ev, const struct ev_filter *f, uint64_t since, int resync,
             int force)
{
	struct xval *events = xval_new_array(), *r;

	if (resync || !token_in_history(ev, since))
		events_resync(ev, f, events);
	else
		events_since(ev, f, since, events);
	if (xval_len(events) == 0 && !force) {
		xval_free(events);
		return NULL;
	}
	r = xval_new_struct();
	xval_struct_add(r, "events", events);
	xval_struct_add(r, "valid_ref_counts", valid_ref_counts(ev));
	xval_struct_add(r, "token", token_new(ev->cur));
	return r;
}

/* ---- waiters ---- */

static void
waiter_unlink_free(struct ev_waiter *w)
{
	struct api_events *ev = w->ev;

	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		ev->waiters = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	ev->nwaiters--;
	event_free(w->timer);
	filter_clear(&w->f);
	xfree(w);
}

/* The client went away: rpc frees the call, we forget the waiter. */
static void
waiter_aborted(void *arg)
{
	waiter_unlink_free(arg);
}

/* Its timeout passed: an empty batch (or whatever arrived meanwhile). */
static void
waiter_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct ev_waiter *w = arg;
	struct rpc_call *call = w->call;
	struct xval *r = answer_build(w->ev, &w->f, w->since, 0, 1);

	waiter_unlink_free(w);
	rpc_reply(call, r);
}

/* New history: complete every waiter that now has something. */
static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api_events *ev = arg;
	struct ev_waiter *w, *next;

	for (w = ev->waiters; w != NULL; w = next) {
		struct rpc_call *call = w->call;
		struct xval *r;

		next = w->next;
		if (w->since == ev->cur)
			continue;
		r = answer_build(ev, &w->f, w->since, 0, 0);
		if (r == NULL)
			continue;
		waiter_unlink_free(w);
		rpc_reply(call, r);
	}
}

static void
waiter_add(struct api_events *ev, struct rpc_call *call, struct ev_filter *f, uint64_t since,
           int64_t timeout_ms)
{
	struct ev_waiter *w = xcalloc(1, sizeof(*w));
	struct timeval tv;

	w->ev = ev;
	w->call = call;
	w->f = *f;
	memset(f, 0, sizeof(*f));
	w->since = since;
	w->timer = evtimer_new(ev->base, waiter_timeout, w);
	if (w->timer == NULL)
		fatalx("event.from: cannot create a timer");
	tv.tv_sec = (time_t)(timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
	evtimer_add(w->timer, &tv);
	w->next = ev->waiters;
	if (w->next != NULL)
		w->next->prev = w;
	ev->waiters = w;
	ev->nwaiters++;
	rpc_call_on_abort(call, waiter_aborted, w);
}

/* ---- the methods ---- */

/* A timeout in seconds (int, int as string, or double) as milliseconds in
** 0 .. EV_TIMEOUT_MAX_MS; -1 if it is not a number. */
static int
timeout_parse(const struct xval *v, int64_t *ms)
{
	double d;
	int64_t i;

	if (xval_is(v, XVAL_DOUBLE)) {
		d = xval_double(v);
	} else if (xval_get_int64(v, &i) == 0) {
		d = (double)i;
	} else if (xval_is(v, XVAL_STRING)) {
		char *end;

		errno = 0;
		d = strtod(xval_string(v), &end);
		if (errno != 0 || end == xval_string(v) || *end != '\0')
			return -1;
	} else {
		return -1;
	}
	if (isnan(d) || d <= 0)
		*ms = 0;
	else if (d >= EV_TIMEOUT_MAX_MS / 1000.0)
		*ms = EV_TIMEOUT_MAX_MS;
	else
		*ms = (int64_t)(d * 1000.0 + 0.5);
	return 0;
}

/* event.from(session, classes, token, timeout) */
static void
h_event_from(void *arg, struct rpc_call *call)
{
	struct api_events *ev = arg;
	const struct xval *classes = rpc_call_param(call, 0);
	struct ev_filter f = {0};
	const char *token;
	uint64_t since = 0;
	int64_t timeout_ms;
	int resync = 0;
	struct xval *r;
	size_t i;

	if (!xval_is(classes, XVAL_ARRAY)) {
		rpc_fail(call, "FIELD_TYPE_ERROR", "classes", NULL);
		return;
	}
	if (rpc_param_string(call, 1, &token) < 0)
		return;
	if (timeout_parse(rpc_call_param(call, 2), &timeout_ms) < 0) {
		rpc_fail(call, "FIELD_TYPE_ERROR", "timeout", NULL);
		return;
	}
	f.n = xval_len(classes);
	f.subs = xcalloc(f.n != 0 ? f.n : 1, sizeof(*f.subs));
	for (i = 0; i < f.n; i++) {
		const struct xval *c = xval_array_get(classes, i);

		if (!xval_is(c, XVAL_STRING)) {
			rpc_fail(call, "FIELD_TYPE_ERROR", "classes", NULL);
			goto out;
		}
		if (sub_parse(xval_string(c), &f.subs[i]) < 0) {
			rpc_fail(call, "EVENT_SUBSCRIPTION_PARSE_FAILURE", xval_string(c), NULL);
			goto out;
		}
	}
	if (token[0] == '\0')
		resync = 1;
	else if (token_parse(token, &since) < 0) {
		rpc_fail(call, "EVENT_FROM_TOKEN_PARSE_FAILURE", token, NULL);
		goto out;
	}
	r = answer_build(ev, &f, since, resync, timeout_ms == 0);
	if (r != NULL) {
		rpc_reply(call, r);
		goto out;
	}
	/* Nothing yet: wait from now on.  (A resync with no object is a wait
	** from the current generation, as from any token.) */
	if (resync || !token_in_history(ev, since))
		since = ev->cur;
	waiter_add(ev, call, &f, since, timeout_ms);
out:
	filter_clear(&f);
}

/* Count one event.inject of `session` at `now`: 0 if it may go on, -1 if
** the session used up its EV_INJECT_MAX calls of the current window. */
static int
inject_admit(struct api_events *ev, const struct rpc_session_info *session, uint64_t now)
{
	struct ev_inject_rate *r = NULL;
	size_t i = 0;

	while (i < ev->nrates) {
		if (now - ev->rates[i].start_ms >= EV_INJECT_WINDOW_MS) {
			ev->rates[i] = ev->rates[--ev->nrates];
			continue;
		}
		if (strcmp(ev->rates[i].ref, session->ref) == 0)
			r = &ev->rates[i];
		i++;
	}
	if (r == NULL) {
		if (ev->nrates == ev->caprates) {
			ev->caprates = ev->caprates ? 2 * ev->caprates : 16;
			ev->rates = xreallocarray(ev->rates, ev->caprates, sizeof(*ev->rates));
		}
		r = &ev->rates[ev->nrates++];
		memset(r, 0, sizeof(*r));
		snprintf(r->ref, sizeof(r->ref), "%s", session->ref);
		r->start_ms = now;
	}
	if (r->n >= EV_INJECT_MAX) {
		if (!r->logged)
			log_warnx("session %s: user %s called event.inject more than %u times in "
			          "%u ms; refusing until the window ends",
			          session->ref, session->user, EV_INJECT_MAX, EV_INJECT_WINDOW_MS);
		r->logged = 1;
		return -1;
	}
	r->n++;
	return 0;
}

/* event.inject(session, class, ref): touch the object, so that it shows up
** as a mod, and return a token just before that mod.  No database write: the
** touch exists in the event history only, which is all xapi's touch_row is
** for.  Hence read-only (xapi too allows it to every role) and allowed on
** any host.  But every inject takes a slot of the bounded history, so a
** read-only session injecting in a loop could flush it and force every
** watcher into a resync: each session gets EV_INJECT_MAX calls per
** EV_INJECT_WINDOW_MS, beyond which the call fails with TOO_BUSY []. */
static void
h_event_inject(void *arg, struct rpc_call *call)
{
	struct api_events *ev = arg;
	const char *cls_name, *ref;
	char uuid[HA_UUID_LEN];
	struct xval *rec;
	int c;

	if (inject_admit(ev, rpc_call_session(call), clock_mono_ms()) < 0) {
		rpc_fail(call, "TOO_BUSY", NULL);
		return;
	}
	if (rpc_param_string(call, 0, &cls_name) < 0 || rpc_param_string(call, 1, &ref) < 0)
		return;
	c = api_class_from_name(cls_name);
	if (c < 0 || id_ref_to_uuid(ref, uuid) < 0 ||
	    (rec = api_record(ev->ctx->db, (enum api_class)c, uuid)) == NULL) {
		rpc_fail(call, "HANDLE_INVALID", cls_name, ref, NULL);
		return;
	}
	xval_free(rec);
	ring_push(ev, (enum api_class)c, uuid, DB_CHANGE_MOD);
	rpc_reply(call, token_new(ev->cur - 1));
}

static const char *const from_params[] = {"classes", "token", "timeout", NULL};
static const char *const inject_params[] = {"class", "ref", NULL};

void
api_events_register(struct api_events *ev)
{
	const struct rpc_method from = {
	    .name = "event.from",
	    .min_params = 3,
	    .max_params = 3,
	    .role = RPC_ROLE_READ_ONLY,
	    .fn = h_event_from,
	    .arg = ev,
	    .param_names = from_params,
	};
	const struct rpc_method inject = {
	    .name = "event.inject",
	    .min_params = 2,
	    .max_params = 2,
	    .role = RPC_ROLE_READ_ONLY,
	    .fn = h_event_inject,
	    .arg = ev,
	    .param_names = inject_params,
	};

	if (rpc_register(ev->ctx->rpc, &from) < 0 || rpc_register(ev->ctx->rpc, &inject) < 0)
		log_warnx("event methods are registered twice; keeping the first");
}

/* ---- lifetime ---- */

struct api_events *
api_events_new_with(struct event_base *base, struct api_ctx *ctx, uint64_t first_gen,
                    size_t ring_size)
{
	struct api_events *ev = xcalloc(1, sizeof(*ev));

	ha_assert(ring_size > 0 && first_gen <= (uint64_t)INT64_MAX / 2);
	ev->base = base;
	ev->ctx = ctx;
	ev->cur = first_gen;
	ev->cap = ring_size;
	ev->ring = xcalloc(ring_size, sizeof(*ev->ring));
	ev->wake = event_new(base, -1, 0, wake_cb, ev);
	if (ev->wake == NULL)
		fatalx("events: cannot create the wake event");
	return ev;
}

struct api_events *
api_events_new(struct event_base *base, struct api_ctx *ctx)
{
	struct timespec ts;

	/* The one wall-clock read of this module: where this run's
	** generations start (see the top of the file).  (event.inject's rate
	** limit reads the monotonic clock.) */
	clock_gettime(CLOCK_REALTIME, &ts);
	return api_events_new_with(base, ctx,
	                           (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u,
	                           EV_RING_DEFAULT);
}

void
api_events_free(struct api_events *ev)
{
	if (ev == NULL)
		return;
	while (ev->waiters != NULL) {
		struct ev_waiter *w = ev->waiters;
		struct rpc_call *call = w->call;
		struct xval *r = answer_build(ev, &w->f, w->since, 0, 1);

		waiter_unlink_free(w);
		rpc_reply(call, r);
	}
	event_free(ev->wake);
	xfree(ev->rates);
	xfree(ev->ring);
	xfree(ev);
}

uint64_t
api_events_generation(const struct api_events *ev)
{
	return ev->cur;
}

size_t
api_events_waiting(const struct api_events *ev)
{
	return ev->nwaiters;
}
