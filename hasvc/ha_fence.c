/*
** The fence state machine on hasvcd's loop, its actions carried out
** through the watchdog keeper (ha_fence.h).
**
** Owns: the machine, the keeper connection, one timer.  Events are fed
** through one function, feed(), which runs the machine's actions; an action
** that answers with an event (a record written) queues it, so that a step
** never runs inside another.
*/
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "hasvc/ha_fence.h"
#include "hasvc/wdclient.h"
#include "lib/check.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

struct ha_fence {
	struct fence *f;
	struct wdc *wdc;
	struct event *ev_timer;
	struct ha_fence_hooks hooks;
	uint32_t wd_ms, pet_ms;
	uint64_t lease, next_keepalive;
	int keeper_armed, keeper_fenced;
	uint64_t keeper_lease;
	uint64_t send_failures;
	int send_failed_logged;
	int busy;                       /* inside feed() */
	int awaiting_fence;             /* FENCE sent, its STATUS not seen yet */
	struct fence_record rec;        /* ... the record to write then */
	enum fence_event_type queued[4]; /* events an action answered with */
	unsigned nqueued;
};

static void feed(struct ha_fence *hf, const struct fence_event *ev);

static void
send_failed(struct ha_fence *hf, const char *what, const char *err)
{
	hf->send_failures++;
	if (!hf->send_failed_logged)
		log_errx("fence: cannot %s through the watchdog keeper: %s", what, err);
	hf->send_failed_logged = 1;
}

static void
run_action(struct ha_fence *hf, const struct fence_action *a)
{
	char err[256];

	switch (a->type) {
	case FENCE_ACT_WD_ARM:
		/* The lease with it: a keeper without one withholds its pets (and
		** leaves a fence record saying so) at the first tick. */
		if (wdc_arm(hf->wdc, a->timeout_ms, hf->pet_ms, err, sizeof(err)) < 0 ||
		    wdc_pet(hf->wdc, hf->lease, err, sizeof(err)) < 0)
			send_failed(hf, "arm the watchdog", err);
		else
			log_notice("fence: watchdog armed through the keeper (%u ms)", a->timeout_ms);
		break;
	case FENCE_ACT_WD_PET:
		if (wdc_pet(hf->wdc, hf->lease, err, sizeof(err)) < 0)
			send_failed(hf, "pet the watchdog", err);
		else
			hf->send_failed_logged = 0;
		break;
	case FENCE_ACT_WD_DISARM:
		if (wdc_disarm(hf->wdc, err, sizeof(err)) < 0)
			send_failed(hf, "disarm the watchdog", err);
		else
			log_notice("fence: watchdog disarmed");
		break;
	case FENCE_ACT_WRITE_RECORD:
		/* The keeper stops petting first; the record follows its word
		** (on_status).  Without a keeper the local record only. */
		hf->rec = *a->record;
		if (wdc_fence(hf->wdc, hf->wd_ms, err, sizeof(err)) == 0) {
			hf->awaiting_fence = 1;
			break;
		}
		log_errx("fence: the keeper cannot be told to stop petting (%s): the fence "
			 "record goes to local disk only",
			 err);
		if (hf->hooks.write_record != NULL &&
		    hf->hooks.write_record(hf->hooks.arg, &hf->rec, 0) == 0 &&
		    ALWAYS(hf->nqueued < ARRAY_SIZE(hf->queued)))
			hf->queued[hf->nqueued++] = FENCE_EV_RECORD_WRITTEN;
		/* else: the machine resets at its bound */
		break;
	case FENCE_ACT_RESET:
		log_errx("fence: resetting this host now: %s", a->reason);
		if (wdc_reset(hf->wdc, a->reason, err, sizeof(err)) < 0)
			log_errx("fence: the keeper cannot reset this host (%s); the watchdog, "
				 "no longer petted, will",
				 err);
		break;
	}
}

static void
schedule(struct ha_fence *hf)
{
	uint64_t now = clock_mono_ms(), next = fence_next_deadline(hf->f), d;
	struct timeval tv;

	/* loop_alive at least twice per pet period */
	if (now + hf->pet_ms / 2 < next)
		next = now + hf->pet_ms / 2;
	d = next > now ? next - now : 0;
	tv.tv_sec = (time_t)(d / 1000);
	tv.tv_usec = (suseconds_t)(d % 1000) * 1000;
	evtimer_add(hf->ev_timer, &tv);
}

static void
feed(struct ha_fence *hf, const struct fence_event *first)
{
	struct fence_actions acts;
	struct fence_event ev = *first;
	size_t i;

	ha_assert(!hf->busy);
	hf->busy = 1;
	for (;;) {
		(void)fence_step(hf->f, &ev, clock_mono_ms(), &acts);
		for (i = 0; i < acts.n; i++)
			run_action(hf, &acts.v[i]);
		if (hf->nqueued == 0)
			break;
		memset(&ev, 0, sizeof(ev));
		ev.type = hf->queued[0];
		memmove(hf->queued, hf->queued + 1, --hf->nqueued * sizeof(hf->queued[0]));
	}
	hf->busy = 0;
	schedule(hf);
}

static void
feed_type(struct ha_fence *hf, enum fence_event_type type)
{
	struct fence_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	feed(hf, &ev);
}

/* A restarted daemon: the keeper holds its predecessor's armed watchdog and
** lease.  Until this machine arms, say that this daemon is alive (lease 0:
** nothing new) so that the keeper pets on until that lease. */
static void
keepalive(struct ha_fence *hf, uint64_t now)
{
	char err[256];

	if (!hf->keeper_armed || hf->keeper_fenced || fence_is_armed(hf->f) ||
	    fence_get_state(hf->f) != FENCE_S_JOINING || now < hf->next_keepalive)
		return;
	hf->next_keepalive = now + hf->pet_ms;
	if (wdc_pet(hf->wdc, 0, err, sizeof(err)) < 0)
		send_failed(hf, "send a keepalive", err);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ha_fence *hf = arg;

	(void)fd;
	(void)what;
	keepalive(hf, clock_mono_ms());
	feed_type(hf, FENCE_EV_LOOP_ALIVE);
	feed_type(hf, FENCE_EV_TICK);
}

static void
on_status(void *arg, const struct wd_msg *st)
{
	struct ha_fence *hf = arg;

	if (st->u.status.armed && !hf->keeper_armed && !fence_is_armed(hf->f))
		log_notice("fence: the keeper holds an armed watchdog (%u ms) with a lease "
			   "%" PRId64 " ms from now: a predecessor armed it; this daemon keeps "
			   "it alive until it joins the liveset",
			   st->u.status.timeout_ms,
			   (int64_t)st->u.status.lease_ms - (int64_t)clock_mono_ms());
	hf->keeper_armed = st->u.status.armed;
	hf->keeper_fenced = st->u.status.fenced;
	hf->keeper_lease = st->u.status.lease_ms;
	if (hf->awaiting_fence && st->u.status.fenced) {
		hf->awaiting_fence = 0;
		if (hf->hooks.write_record != NULL &&
		    hf->hooks.write_record(hf->hooks.arg, &hf->rec, 1) == 0)
			feed_type(hf, FENCE_EV_RECORD_WRITTEN);
		/* 1: the slot's write is in flight, ha_fence_record_done() follows */
		return;
	}
	keepalive(hf, clock_mono_ms());
}

static void
on_lost(void *arg)
{
	struct ha_fence *hf = arg;

	log_errx("fence: the connection to the watchdog keeper was lost%s",
		 fence_is_armed(hf->f) ? ": no pets reach the watchdog until it is back" : "");
}

struct ha_fence *
ha_fence_new(struct event_base *base, const char *keeper_socket, uint32_t wd_ms, uint32_t pet_ms,
	     int statefile, const struct ha_fence_hooks *hooks, char *err, size_t errlen)
{
	struct ha_fence *hf = xcalloc(1, sizeof(*hf));
	struct fence_config fc;

	memset(&fc, 0, sizeof(fc));
	fc.wd_ms = wd_ms;
	fc.pet_ms = pet_ms;
	fc.statefile = statefile;
	hf->f = fence_new(&fc, err, errlen);
	if (hf->f == NULL) {
		xfree(hf);
		return NULL;
	}
	hf->wd_ms = wd_ms;
	hf->pet_ms = pet_ms;
	if (hooks != NULL)
		hf->hooks = *hooks;
	hf->ev_timer = evtimer_new(base, on_timer, hf);
	hf->wdc = wdc_new(base, keeper_socket, on_status, on_lost, hf);
	feed_type(hf, FENCE_EV_HA_ENABLE);
	return hf;
}

void
ha_fence_free(struct ha_fence *hf)
{
	if (hf == NULL)
		return;
	if (fence_is_armed(hf->f))
		log_warnx("fence: stopping with the watchdog armed: the keeper keeps this host "
			  "alive until the last lease (%" PRId64 " ms from now), then the watchdog "
			  "resets it unless a new hasvcd joins the liveset first",
			  (int64_t)hf->lease - (int64_t)clock_mono_ms());
	if (hf->ev_timer != NULL)
		event_free(hf->ev_timer);
	wdc_free(hf->wdc);
	fence_free(hf->f);
	xfree(hf);
}

void
ha_fence_disable(struct ha_fence *hf)
{
	if (hf == NULL)
		return;
	feed_type(hf, FENCE_EV_HA_DISABLE);
	ha_fence_free(hf);
}

void
ha_fence_joined(struct ha_fence *hf)
{
	feed_type(hf, FENCE_EV_JOINED);
}

void
ha_fence_decision(struct ha_fence *hf, enum fence_verdict v, uint32_t reason,
		  const struct fence_record *rec)
{
	struct fence_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = FENCE_EV_DECISION;
	ev.verdict = v;
	ev.reason = reason;
	ev.record = rec;
	feed(hf, &ev);
}

void
ha_fence_record_done(struct ha_fence *hf)
{
	if (hf != NULL && fence_get_state(hf->f) == FENCE_S_FENCING)
		feed_type(hf, FENCE_EV_RECORD_WRITTEN);
}

void
ha_fence_io_progress(struct ha_fence *hf)
{
	feed_type(hf, FENCE_EV_IO_PROGRESS);
}

void
ha_fence_maintenance(struct ha_fence *hf, uint64_t until)
{
	struct fence_event ev;

	if (hf == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = until != 0 ? FENCE_EV_MAINT_DISARM : FENCE_EV_MAINT_ARM;
	ev.until = until;
	feed(hf, &ev);
}

void
ha_fence_set_lease(struct ha_fence *hf, uint64_t lease_ms)
{
	hf->lease = lease_ms;
}

void
ha_fence_get_status(const struct ha_fence *hf, struct ha_fence_status *out)
{
	memset(out, 0, sizeof(*out));
	if (hf == NULL)
		return;
	out->state = fence_get_state(hf->f);
	out->armed = fence_is_armed(hf->f);
	out->keeper_connected = wdc_is_connected(hf->wdc);
	out->keeper_armed = hf->keeper_armed;
	out->keeper_lease = hf->keeper_lease;
	out->lease = hf->lease;
	fence_get_stats(hf->f, &out->stats);
	out->send_failures = hf->send_failures;
}
