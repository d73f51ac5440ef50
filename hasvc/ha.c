/*
** hasvcd's liveness shell (ha.h).
**
** Every input becomes one engine event at clock_mono_ms(); the actions are
** carried out at once, and answers that cannot come from the outside (a
** statefile request with no statefile open) are queued and fed back before
** the step returns, so one wake-up runs the engine to quiescence.  One
** libevent timer serves both the engine's next deadline and the statefile
** requests' deadlines (sfio_next_deadline): a hung request is reported
** failed at its deadline by sfio_poll, from the loop, whatever the I/O
** thread is doing.
**
** Alerts (ha.h): the engine's SURVIVE and alert bits go through
** hasvc/ha_alerts.h, which decides; what it raises becomes a db_message in
** the outbox, written by the write hook from a libevent callback of its own
** (the engine may step inside a corosync callback: no database write, no
** replication proposal from there).  The liveset's master raises
** HA_HOST_FAILED with master_only = 0: it is not necessarily the database
** master, and the database master may be the lost host or still being
** re-elected, so "master_only" would drop the message on every host.
** An alert that waits longer than NOTIFY_DIRECT_AFTER_MS (no master) is
** sent to the SNMP receivers and hooks by this host itself (notify_direct)
** and later stored with its notified marker (notify_put_sent), so that no
** master sends it again (docs/monitoring.md, "When there is no master").
*/
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "hasvc/cluster.h"
#include "fencing/record.h"
#include "hasvc/ha.h"
#include "hasvc/ha_alerts.h"
#include "hasvc/ha_fence.h"
#include "hasvc/notify.h"
#include "heartbeat/lvmsg.h"
#include "heartbeat/sf_io.h"
#include "heartbeat/statefile.h"
#include "lib/check.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define DEFERRED_MAX 8

struct ha {
	struct event_base *base;
	const struct config *cfg;
	ha_send_fn send;
	ha_write_fn write;
	void *send_arg;

	struct lv *lv;
	struct lv_config lvc;
	struct lv_actions acts;
	int started;

	/* the pool's cluster members, by index (ordered by nodeid) */
	unsigned n, self;
	uint32_t nodeid[LS_MAX_HOSTS];
	char uuid[LS_MAX_HOSTS][HA_UUID_LEN];
	uint8_t uuid_bytes[LS_MAX_HOSTS][SF_ID_LEN];

	/* corosync, as last reported */
	struct ls_ring ring;
	uint64_t members, group;
	uint64_t view; /* lv_ring_view.view of the group */
	int quorate;
	int down;

	/* the statefile */
	struct sfio *sf;
	struct sf_key key;
	uint8_t pool_id[SF_ID_LEN];
	uint64_t generation; /* the header's, from the last good read; 0 unknown */
	struct event *ev_sf;
	uint64_t sf_req, lv_req; /* the engine's one outstanding request */
	struct lv_slot slots[LS_MAX_HOSTS];

	struct event *ev_timer;
	struct lv_event deferred[DEFERRED_MAX];
	unsigned ndeferred;

	/* alerts: the decisions (ha_alerts.h) and the messages not yet written */
	struct ha_alerts alerts;
	struct db_message outbox[HA_OUTBOX_MAX];
	struct {
		uint64_t since; /* queued at, monotonic ms */
		int direct;     /* sent by this host itself (notify_direct) */
	} outmeta[HA_OUTBOX_MAX];
	unsigned nout;
	struct event *ev_outbox;
	uint64_t alerts_sent, alerts_dropped;

	/* the hands: the fence state machine through the watchdog keeper */
	struct ha_fence *hf;
	int joined; /* my host was in an agreed liveset since the start */
	struct lv_slot fence_slot; /* the engine's FENCE slot, for the hook */
	uint64_t fence_req;        /* its write's request id (0: none in flight) */
	uint64_t maint_until;      /* the maintenance window's end, my clock (0: none) */

	char last[200];
	uint64_t dropped;

	struct ha_observer obs; /* ha_set_observer(); members NULL: none */
};

static void step(struct ha *ha, const struct lv_event *ev);

void
ha_set_observer(struct ha *ha, const struct ha_observer *obs)
{
	if (ha == NULL)
		return;
	if (obs != NULL)
		ha->obs = *obs;
	else
		memset(&ha->obs, 0, sizeof(ha->obs));
}

/* Tell the observer the liveset `live` (a map of host indexes). */
static void
observe_liveset(struct ha *ha, uint64_t live)
{
	char uuids[LS_MAX_HOSTS][HA_UUID_LEN];
	size_t n = 0;
	unsigned i;

	if (ha->obs.liveset == NULL)
		return;
	for (i = 0; i < ha->n; i++)
		if (live & LS_BIT(i))
			memcpy(uuids[n++], ha->uuid[i], HA_UUID_LEN);
	ha->obs.liveset(ha->obs.arg, (const char (*)[HA_UUID_LEN])uuids, n);
}

static int
index_of(const struct ha *ha, uint32_t nodeid)
{
	unsigned i;

	for (i = 0; i < ha->n; i++)
		if (ha->nodeid[i] == nodeid)
			return (int)i;
	return -1;
}

static uint64_t
set_of(const struct ha *ha, const uint32_t *nodes, size_t n)
{
	uint64_t set = 0;
	size_t i;
	int h;

	for (i = 0; i < n; i++)
		if ((h = index_of(ha, nodes[i])) >= 0)
			set |= LS_BIT(h);
	return set;
}

static void
members_of(const struct ha *ha, uint64_t set, struct sf_members *out)
{
	unsigned i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < ha->n; i++)
		if (set & LS_BIT(i))
			out->nodeid[out->count++] = ha->nodeid[i];
}

/* A member set read from the statefile: -1 if it names a node that is not a
** cluster member of this pool (the slot is then not trusted). */
static int
set_from(const struct ha *ha, const struct sf_members *m, uint64_t *out)
{
	uint32_t i;
	int h;

	*out = 0;
	for (i = 0; i < m->count && i < SF_MAX_HOSTS; i++) {
		if ((h = index_of(ha, m->nodeid[i])) < 0)
			return -1;
		*out |= LS_BIT(h);
	}
	return 0;
}

static void
hosts_str(const struct ha *ha, uint64_t set, char *buf, size_t len)
{
	size_t off = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < ha->n && off < len; i++)
		if (set & LS_BIT(i))
			off += (size_t)snprintf(buf + off, len - off, "%s%u", off ? "," : "",
						ha->nodeid[i]);
	if (off == 0)
		snprintf(buf, len, "none");
}

/* ---- the statefile ---------------------------------------------------------- */

static void
defer(struct ha *ha, const struct lv_event *ev)
{
	if (ALWAYS(ha->ndeferred < DEFERRED_MAX))
		ha->deferred[ha->ndeferred++] = *ev;
}

static void
io_failed_now(struct ha *ha, uint64_t id, enum lv_event_type type)
{
	struct lv_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.u.io.id = id;
	ev.u.io.ok = 0;
	defer(ha, &ev);
}

static int
encode_slot(struct ha *ha, const struct lv_slot *s, uint8_t sector[SF_SECTOR])
{
	struct sf_slot x;
	const char *why = NULL;

	memset(&x, 0, sizeof(x));
	x.version = SF_SLOT_VERSION;
	memcpy(x.pool_id, ha->pool_id, SF_ID_LEN);
	x.generation = ha->generation;
	x.host_index = ha->self;
	memcpy(x.host_uuid, ha->uuid_bytes[ha->self], SF_ID_LEN);
	x.seq = s->seq;
	x.state = s->state;
	x.ring_nodeid = s->ring.nodeid;
	x.ring_seq = s->ring.seq;
	members_of(ha, s->members, &x.members);
	x.mono_ms = clock_mono_ms();
	x.wall_s = (uint64_t)clock_wall_s();
	if (s->fence_present) {
		x.fence.present = 1;
		x.fence.reason = s->fence_reason;
		x.fence.wall_s = x.wall_s;
		x.fence.mono_ms = x.mono_ms;
		snprintf(x.fence.detail, sizeof(x.fence.detail), "%s",
			 ls_reason_name((int)s->fence_reason));
		x.fence.members = x.members;
	}
	if (s->has_verdict) {
		x.verdict.kind = s->vconfirmed ? SF_VERDICT_SURVIVED : SF_VERDICT_PUBLISHED;
		x.verdict.ring_nodeid = s->vring.nodeid;
		x.verdict.ring_seq = s->vring.seq;
		members_of(ha, s->vlive, &x.verdict.live);
		x.verdict.wall_s = x.wall_s;
		x.verdict.mono_ms = x.mono_ms;
	}
	if (sf_slot_encode(&x, &ha->key, sector, &why) != SF_SECTOR) {
		log_errx("liveness: cannot encode my slot: %s", why ? why : "?");
		return -1;
	}
	return 0;
}

/* Decode a whole-file read into ha->slots; 0, or -1 when the header is not
** this pool's (nothing in it can be trusted). */
static int
decode_file(struct ha *ha, const uint8_t *buf)
{
	struct sf_snapshot *snap = xmalloc(sizeof(*snap));
	struct sf_expect exp = {.pool_id = ha->pool_id, .generation = 0, .index = -1};
	unsigned i;
	int rc = 0;

	sf_snapshot_decode(buf, SF_FILE_SIZE, &ha->key, &exp, snap);
	memset(ha->slots, 0, sizeof(ha->slots));
	if (!snap->header_ok || (snap->header.pool_state != SF_POOL_ACTIVE &&
				 snap->header.pool_state != SF_POOL_INIT)) {
		static int warned;

		if (!warned++)
			log_errx("liveness: the statefile %s is not usable: %s", ha->cfg->statefile,
				 snap->header_ok ? "HA is disabled on it" : snap->header_why);
		rc = -1;
		goto out;
	}
	ha->generation = snap->header.generation;
	for (i = 0; i < ha->n; i++) {
		const struct sf_slot *x = &snap->slot[i].slot;
		struct lv_slot *s = &ha->slots[i];

		if (!snap->slot[i].valid)
			continue; /* absent, or failed its checks (counted by the engine) */
		if (memcmp(x->host_uuid, ha->uuid_bytes[i], SF_ID_LEN) != 0)
			continue; /* another host's slot at this index: not trusted */
		if (set_from(ha, &x->members, &s->members) < 0)
			continue;
		s->seq = x->seq;
		s->state = x->state;
		s->ring.nodeid = x->ring_nodeid;
		s->ring.seq = x->ring_seq;
		s->fence_present = (int)x->fence.present;
		s->fence_reason = x->fence.reason;
		if (x->verdict.kind != SF_VERDICT_NONE) {
			if (set_from(ha, &x->verdict.live, &s->vlive) < 0)
				continue;
			s->has_verdict = 1;
			s->vconfirmed = x->verdict.kind == SF_VERDICT_SURVIVED;
			s->vring.nodeid = x->verdict.ring_nodeid;
			s->vring.seq = x->verdict.ring_seq;
		}
		s->valid = 1;
	}
out:
	free(snap);
	return rc;
}

static void
sf_result(struct ha *ha, struct sfio_result *r)
{
	struct lv_event ev;

	/* Any answer, a deadline's included, is progress of the statefile
	** side: the fence machine's pet rule (docs/fencing.md). */
	ha_fence_io_progress(ha->hf);
	if (ha->fence_req != 0 && r->id == ha->fence_req) {
		ha->fence_req = 0;
		log_notice("liveness: host %s: the fence record %s on the statefile",
			   ha->cfg->host_uuid, r->status == SFIO_OK ? "is" : "could not be written");
		sfio_result_clear(r);
		ha_fence_record_done(ha->hf);
		return;
	}
	if (r->id != ha->sf_req) {
		sfio_result_clear(r); /* the fence record's write, or a stale one */
		return;
	}
	ha->sf_req = 0;
	memset(&ev, 0, sizeof(ev));
	ev.u.io.id = ha->lv_req;
	ev.u.io.ok = r->status == SFIO_OK;
	if (r->op == SFIO_READ_ALL) {
		ev.type = LV_EV_READ;
		if (ev.u.io.ok && decode_file(ha, r->buf) < 0)
			ev.u.io.ok = 0;
		ev.u.io.slots = ha->slots;
	} else {
		ev.type = LV_EV_WRITTEN;
	}
	if (r->status != SFIO_OK)
		log_debug("liveness: statefile %s %s", r->op == SFIO_READ_ALL ? "read" : "write",
			  r->status == SFIO_TIMEOUT ? "timed out" : strerror(r->err));
	sfio_result_clear(r);
	step(ha, &ev);
}

static void
sf_poll_all(struct ha *ha)
{
	struct sfio_result r;

	while (ha->sf != NULL && sfio_poll(ha->sf, clock_mono_ms(), &r) == 1)
		sf_result(ha, &r);
}

static void
on_sf(evutil_socket_t fd, short what, void *arg)
{
	sf_poll_all(arg);
}

/* ---- alerts as XAPI messages ------------------------------------------------- */

#define A_BIT(a) (1u << (a))

/* The wall-clock time (UTC, ISO 8601) of monotonic time `mono`. */
static void
wall_of(uint64_t mono, char *buf, size_t len)
{
	uint64_t now = clock_mono_ms();
	time_t t = (time_t)clock_wall_s() - (time_t)((now > mono ? now - mono : 0) / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "?");
}

/* The outbox's oldest message (ha->outbox[0]); with its notified marker if
** this host sent it itself, in the same write: no master sends it again. */
static int
put_message(void *arg, struct db *db)
{
	struct ha *ha = arg;

	if (ha->outmeta[0].direct)
		return notify_put_sent(db, &ha->outbox[0], ha->cfg->host_uuid) < 0 ? -1 : 0;
	return db_message_add(db, &ha->outbox[0]) < 0 ? -1 : 0;
}

static void
outbox_pop(struct ha *ha)
{
	ha->nout--;
	memmove(ha->outbox, ha->outbox + 1, ha->nout * sizeof(ha->outbox[0]));
	memmove(ha->outmeta, ha->outmeta + 1, ha->nout * sizeof(ha->outmeta[0]));
}

/* No master has taken the outbox for NOTIFY_DIRECT_AFTER_MS: the alerts
** waiting that long go to the SNMP receivers and hooks from here, once
** each (the notifier's workers: this never blocks). */
static void
outbox_direct(struct ha *ha)
{
	uint64_t now = clock_mono_ms();
	unsigned i;

	for (i = 0; i < ha->nout; i++) {
		if (ha->outmeta[i].direct || now - ha->outmeta[i].since < NOTIFY_DIRECT_AFTER_MS)
			continue;
		if (notify_direct(notify_process(), &ha->outbox[i]) < 0)
			continue; /* tried again at the next failure */
		ha->outmeta[i].direct = 1;
		log_warnx("liveness: alert %s %s about %s: no master for %" PRIu64
			  " s; sent to the SNMP receivers and hooks by this host",
			  ha->outbox[i].name, ha->outbox[i].uuid, ha->outbox[i].obj_uuid,
			  (now - ha->outmeta[i].since) / 1000);
	}
}

/* Write the outbox, oldest first, from the loop; on "not possible now" (no
** master, corosync down) try again in a second, after sending what has
** waited too long directly. */
static void
on_outbox(evutil_socket_t fd, short what, void *arg)
{
	struct ha *ha = arg;
	struct timeval retry = {1, 0};
	int rc;

	while (ha->nout > 0) {
		rc = ha->write(ha->send_arg, 0, put_message, ha);
		if (rc < 0) {
			outbox_direct(ha);
			evtimer_add(ha->ev_outbox, &retry);
			return;
		}
		if (rc == 0)
			ha->alerts_sent++;
		log_info("liveness: alert %s %s about %s sent to the pool database%s",
			 ha->outbox[0].name, ha->outbox[0].uuid, ha->outbox[0].obj_uuid,
			 ha->outmeta[0].direct ? " with its notified marker" : "");
		outbox_pop(ha);
	}
}

/* Log an alert and queue it as a message about host `obj`. */
static void
raise_alert(struct ha *ha, enum ha_alert which, const char *obj, const char *body)
{
	const struct ha_alert_def *def = ha_alert_def(which);
	struct db_message *m;
	struct timeval now = {0, 0};

	log_warnx("liveness: alert %s (priority %d) about host %s: %s", def->name, def->priority,
		  obj, body);
	if (ha->write == NULL)
		return;
	if (ha->nout == HA_OUTBOX_MAX) {
		log_warnx("liveness: alert %s about %s dropped: %u alerts are waiting for a master",
			  ha->outbox[0].name, ha->outbox[0].obj_uuid, ha->nout);
		outbox_pop(ha);
		ha->alerts_dropped++;
	}
	ha->outmeta[ha->nout].since = clock_mono_ms();
	ha->outmeta[ha->nout].direct = 0;
	m = &ha->outbox[ha->nout++];
	memset(m, 0, sizeof(*m));
	id_uuid_new(m->uuid); /* its own from the start: sent directly, then stored */
	snprintf(m->name, sizeof(m->name), "%s", def->name);
	m->priority = def->priority;
	snprintf(m->cls, sizeof(m->cls), "%s", def->cls);
	snprintf(m->obj_uuid, sizeof(m->obj_uuid), "%s", obj);
	m->timestamp = clock_wall_s();
	snprintf(m->body, sizeof(m->body), "%s", body);
	if (!evtimer_pending(ha->ev_outbox, NULL))
		evtimer_add(ha->ev_outbox, &now);
}

/* SURVIVE with lost hosts: HA_HOST_FAILED, one per lost host, from the
** liveset's master only (ha_alerts_host_failed). */
static void
alert_host_failed(struct ha *ha, const struct lv_action *a)
{
	uint64_t raise = ha_alerts_host_failed(a->lost, lv_get_master(ha->lv), ha->self);
	char l[400], when[32], body[DB_TEXT_LEN];
	unsigned i;

	if (raise == 0)
		return;
	hosts_str(ha, a->live, l, sizeof(l));
	wall_of(clock_mono_ms(), when, sizeof(when));
	for (i = 0; i < ha->n; i++) {
		if (!(raise & LS_BIT(i)))
			continue;
		snprintf(body, sizeof(body),
			 "Host %s (cluster node %u) has failed: it left the HA liveset at %s. The "
			 "hosts of corosync ring %" PRIu64 " (nodes %s) decided without it (%s); "
			 "reported by the liveset's master, host %s (node %u).",
			 ha->uuid[i], ha->nodeid[i], when, lv_get_ring(ha->lv).seq, l,
			 ls_reason_name(a->reason), ha->cfg->host_uuid, ha->nodeid[ha->self]);
		raise_alert(ha, HA_ALERT_HOST_FAILED, ha->uuid[i], body);
	}
}

/* After each step: the debounced alerts that are due (none once the engine
** has fenced or left: it decides nothing more). */
static void
poll_alerts(struct ha *ha)
{
	uint64_t now = clock_mono_ms(), since;
	enum lv_state st = lv_get_state(ha->lv);
	unsigned due, node = ha->nodeid[ha->self];
	const char *me = ha->cfg->host_uuid;
	char when[32], body[DB_TEXT_LEN];

	if (st == LV_FENCED || st == LV_LEFT)
		return;
	ha_alerts_access(&ha->alerts, lv_has_access(ha->lv, now), now);
	due = ha_alerts_due(&ha->alerts, now);
	if (due & (A_BIT(HA_ALERT_STATEFILE_LOST) | A_BIT(HA_ALERT_STATEFILE_APPROACHING))) {
		since = ha_alerts_since(&ha->alerts, HA_ALERT_STATEFILE_LOST);
		wall_of(since, when, sizeof(when));
		if (due & A_BIT(HA_ALERT_STATEFILE_LOST))
			snprintf(body, sizeof(body),
				 "Host %s (cluster node %u) has had no continuous access to the HA "
				 "statefile %s since %s (%" PRIu64 " ms, longer than T_stale %u ms): "
				 "the other hosts see its slot as stale, and in a partition it cannot "
				 "prove its side (corosync ring %" PRIu64 ").",
				 me, node, ha->cfg->statefile, when, now - since,
				 ha->lvc.timing.stale_ms, lv_get_ring(ha->lv).seq);
		else
			snprintf(body, sizeof(body),
				 "Host %s (cluster node %u) has had no continuous access to the HA "
				 "statefile %s since %s (%" PRIu64 " ms); its slot goes stale to the "
				 "other hosts after T_stale %u ms (corosync ring %" PRIu64 ").",
				 me, node, ha->cfg->statefile, when, now - since,
				 ha->lvc.timing.stale_ms, lv_get_ring(ha->lv).seq);
		raise_alert(ha,
			    due & A_BIT(HA_ALERT_STATEFILE_LOST) ? HA_ALERT_STATEFILE_LOST
								 : HA_ALERT_STATEFILE_APPROACHING,
			    me, body);
	}
	if (due & A_BIT(HA_ALERT_HEARTBEAT_APPROACHING)) {
		since = ha_alerts_since(&ha->alerts, HA_ALERT_HEARTBEAT_APPROACHING);
		wall_of(since, when, sizeof(when));
		snprintf(body, sizeof(body),
			 "Host %s (cluster node %u): corosync ring %" PRIu64 " has not been fresh "
			 "(none of its liveness messages delivered to the pool's group) since %s "
			 "(%" PRIu64 " ms); a round undecided for T_decide %u ms fences.",
			 me, node, lv_get_ring(ha->lv).seq, when, now - since,
			 ha->lvc.timing.decide_ms);
		raise_alert(ha, HA_ALERT_HEARTBEAT_APPROACHING, me, body);
	}
}

/* ---- the local fence record -------------------------------------------------- */

/* What the engine saw, for people: the ring, the group, the liveset, my
** access, the host index map (the record's sets are host indexes), the
** statefile slots as last read, the engine's counters. */
static void
fence_views(struct ha *ha, char *buf, size_t len)
{
	struct ls_ring ring = lv_get_ring(ha->lv), prev = lv_get_prev_ring(ha->lv);
	uint64_t now = clock_mono_ms();
	struct lv_stats st;
	char a[400], b[400], c[400];
	size_t off;
	unsigned i;
	int m = lv_get_master(ha->lv);

#define VAPPEND(...)                                                                       	do {                                                                               		if (off < len)                                                             			off += (size_t)snprintf(buf + off, len - off, __VA_ARGS__);        	} while (0)
	off = 0;
	buf[0] = '\0';
	hosts_str(ha, lv_get_members(ha->lv), a, sizeof(a));
	hosts_str(ha, ha->group & ha->members, b, sizeof(b));
	hosts_str(ha, lv_get_live(ha->lv), c, sizeof(c));
	VAPPEND("ring %" PRIu64 " (node %u): members nodes %s; CPG group nodes %s; %s%s. ",
		ring.seq, ring.nodeid, a, b, ha->quorate ? "quorate" : "not quorate",
		ha->down ? "; corosync down" : "");
	VAPPEND("Liveset nodes %s, agreed in ring %" PRIu64 "; master node %d. ", c, prev.seq,
		m >= 0 && (unsigned)m < ha->n ? (int)ha->nodeid[m] : -1);
	VAPPEND("Me: node %u, storage access %s, ring %s, alerts 0x%x. ", ha->nodeid[ha->self],
		lv_has_access(ha->lv, now) ? "yes" : "no", lv_is_fresh(ha->lv, now) ? "fresh" : "stale",
		lv_get_alerts(ha->lv));
	VAPPEND("Host indexes:");
	for (i = 0; i < ha->n; i++)
		VAPPEND(" %u=node %u %s%s", i, ha->nodeid[i], ha->uuid[i], i + 1 < ha->n ? "," : ".");
	VAPPEND(" Statefile slots as last read:");
	for (i = 0; i < ha->n; i++) {
		const struct lv_slot *s = &ha->slots[i];

		if (!s->valid) {
			VAPPEND(" node %u: none;", ha->nodeid[i]);
			continue;
		}
		hosts_str(ha, s->members, a, sizeof(a));
		VAPPEND(" node %u: seq %" PRIu64 " %s, ring %" PRIu64 " members %s", ha->nodeid[i],
			s->seq, sf_host_state_name(s->state), s->ring.seq, a);
		if (s->has_verdict) {
			hosts_str(ha, s->vlive, b, sizeof(b));
			VAPPEND(", verdict ring %" PRIu64 " live %s%s", s->vring.seq, b,
				s->vconfirmed ? "" : " (published)");
		}
		if (s->fence_present)
			VAPPEND(", fence record: %s", ls_reason_name((int)s->fence_reason));
		VAPPEND(";");
	}
	lv_get_stats(ha->lv, &st);
	VAPPEND(" Engine: %" PRIu64 " rounds, %" PRIu64 " survived, %" PRIu64 " writes, %" PRIu64
		" reads, %" PRIu64 " failed I/O, %" PRIu64 " invalid slots, %" PRIu64 " stalls.",
		st.rounds, st.survived, st.writes, st.reads, st.io_failed, st.slots_invalid, st.stalls);
#undef VAPPEND
}

/* The fence record of the engine's FENCE action `a` (fencing/record.h). */
static struct fence_record *
build_fence_record(struct ha *ha, const struct lv_action *a)
{
	struct fence_record *rec = xcalloc(1, sizeof(*rec));
	struct ls_ring ring = lv_get_ring(ha->lv);

	rec->reason = (uint32_t)a->reason;
	snprintf(rec->reason_text, sizeof(rec->reason_text), "%s", ls_reason_name(a->reason));
	snprintf(rec->detail, sizeof(rec->detail), "%s", a->detail);
	rec->wall_s = clock_wall_s();
	rec->mono_ms = clock_mono_ms();
	snprintf(rec->host, sizeof(rec->host), "%s", ha->cfg->host_uuid);
	rec->ring_seq = ring.seq;
	rec->ring_node = ring.nodeid;
	rec->members = lv_get_members(ha->lv);
	rec->liveset = lv_get_live(ha->lv);
	fence_views(ha, rec->views, sizeof(rec->views));
	return rec;
}

/* The fence machine's WRITE_RECORD, once the keeper stopped petting: my
** statefile slot, and the local record under <data-dir>/fence, durably (the
** writer fsyncs the file and the directory).  On the loop: a local disk that
** hangs here delays the reset, and the watchdog, no longer petted, fences
** within W all the same. */
static int
write_record_hook(void *arg, const struct fence_record *rec, int slot_ok)
{
	struct ha *ha = arg;
	struct fence_record copy = *rec;
	char dir[CONFIG_PATH_LEN + 8], path[CONFIG_PATH_LEN + 128], err[256];
	uint8_t sector[SF_SECTOR];

	/* My slot first, through the I/O thread (nobody waits for it): it
	** lets the survivors restart my VMs after W (docs/protocol.md, "Dead
	** before restart" (a)), which holds only once the keeper stopped
	** petting. */
	if (slot_ok && ha->sf != NULL && ha->generation != 0 &&
	    encode_slot(ha, &ha->fence_slot, sector) == 0)
		ha->fence_req = sfio_write_slot(ha->sf, ha->self, sector, clock_mono_ms() + 1000);

	snprintf(dir, sizeof(dir), "%s/fence", ha->cfg->data_dir);
	if (fence_record_write(dir, &copy, path, sizeof(path), err, sizeof(err)) < 0) {
		log_errx("liveness: host %s: the local fence record could not be written: %s",
			 ha->cfg->host_uuid, err);
		return -1;
	}
	log_notice("liveness: host %s: fence record %" PRIu64 " written to %s", ha->cfg->host_uuid,
		   copy.seq, path);
	return ha->fence_req != 0 ? 1 : 0; /* the reset waits for the slot (sf_result) */
}

/* The newest valid local fence record (<data-dir>/fence): 1 with *rec, 0 if
** there is none.  Refused files are logged if `log_refused`. */
static int
newest_fence_record(const struct ha *ha, struct fence_record *rec, int log_refused)
{
	struct fence_record_entry *v = NULL;
	char dir[CONFIG_PATH_LEN + 8], err[256];
	size_t n = 0, i;
	int found = 0;

	snprintf(dir, sizeof(dir), "%s/fence", ha->cfg->data_dir);
	if (fence_record_list(dir, &v, &n, err, sizeof(err)) < 0) {
		log_warnx("liveness: %s", err);
		return 0;
	}
	for (i = 0; i < n && !v[i].ok; i++)
		if (log_refused)
			log_warnx("liveness: fence record %s refused: %s", v[i].name, v[i].why);
	if (i < n) {
		*rec = v[i].rec;
		found = 1;
	}
	xfree(v);
	return found;
}

/* <data-dir>/NAME: the seq of the last fence record reported (fence-reported)
** or behind an admission to a liveset (fence-admitted); 0 if none. */
static uint64_t
mark_get(const struct ha *ha, const char *name)
{
	char path[CONFIG_PATH_LEN + 32];
	unsigned long long seq = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", ha->cfg->data_dir, name);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(fp, "%llu", &seq) != 1)
		seq = 0;
	fclose(fp);
	return seq;
}

/* Replace <data-dir>/NAME with `seq` (temporary file, fsync, rename). */
static void
mark_set(const struct ha *ha, const char *name, uint64_t seq)
{
	char path[CONFIG_PATH_LEN + 32], tmp[CONFIG_PATH_LEN + 40];
	FILE *fp;
	int bad;

	snprintf(path, sizeof(path), "%s/%s", ha->cfg->data_dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fp = fopen(tmp, "w")) == NULL) {
		log_warn("liveness: cannot write %s", tmp);
		return;
	}
	bad = fprintf(fp, "%llu\n", (unsigned long long)seq) < 0 || fflush(fp) != 0 ||
	      fsync(fileno(fp)) != 0;
	bad |= fclose(fp) != 0;
	if (bad || rename(tmp, path) != 0) {
		log_warn("liveness: cannot write %s", path);
		(void)unlink(tmp);
	}
}

/* HA_HOST_WAS_FENCED, once per fence: the newest valid local record newer
** than the one named in <data-dir>/fence-reported (xapi raises it at boot,
** reference xapi.md 3.5).  The marker is written when the alert is queued:
** a daemon that dies before the master took the message loses it, rather
** than raising it at every start. */
static void
report_was_fenced(struct ha *ha)
{
	struct fence_record rec;
	char when[64], body[900];
	struct tm tm;
	time_t t;

	if (!newest_fence_record(ha, &rec, 1) || rec.seq <= mark_get(ha, "fence-reported"))
		return;
	t = (time_t)rec.wall_s;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(body, sizeof(body), "This host was fenced by hasvc at %s (fence record %llu): %s: %s",
		 when, (unsigned long long)rec.seq, rec.reason_text, rec.detail);
	raise_alert(ha, HA_ALERT_HOST_WAS_FENCED, ha->cfg->host_uuid, body);
	mark_set(ha, "fence-reported", rec.seq);
}

/* ---- the agreed liveset, kept across a daemon restart ------------------------ */

/* <the keeper socket's directory>/liveset: volatile per-boot state (on a
** real host /run, cleared by a reboot; the lab clears it at a power-off). */
static void
liveset_path(const struct ha *ha, char *buf, size_t len)
{
	const char *s = ha->cfg->watchdog_keeper_socket, *slash = strrchr(s, '/');
	int dl = slash != NULL ? (int)(slash - s) : 1;

	snprintf(buf, len, "%.*s/liveset", dl, slash != NULL ? s : ".");
}

/* At every SURVIVE that keeps me: the liveset, the ring it was agreed in,
** the master, and the hosts lost and not yet announced dead, as host uuids,
** so that a restarted daemon starts where its predecessor stood
** (lv_config.live, prev_ring, master, pending_dead) instead of at a cold
** start -- and still announces the death of a host its predecessor lost
** (their VMs restart).  No fsync: after a crash of the host the file means
** nothing. */
static void
save_liveset(struct ha *ha)
{
	char path[CONFIG_PATH_LEN + 16], tmp[CONFIG_PATH_LEN + 24];
	struct ls_ring prev = lv_get_prev_ring(ha->lv);
	uint64_t live = lv_get_live(ha->lv), lost = lv_get_pending_dead(ha->lv);
	int m = lv_get_master(ha->lv);
	FILE *fp;
	unsigned i;

	liveset_path(ha, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fp = fopen(tmp, "w")) == NULL) {
		log_debug("liveness: cannot save the liveset in %s: %s", tmp, strerror(errno));
		return;
	}
	fprintf(fp, "hasvc-liveset 2\nring %" PRIu64 " %" PRIu32 "\nmaster %s\n", prev.seq,
		prev.nodeid, m >= 0 && (unsigned)m < ha->n ? ha->uuid[m] : "-");
	for (i = 0; i < ha->n; i++)
		if (live & LS_BIT(i))
			fprintf(fp, "live %s\n", ha->uuid[i]);
	for (i = 0; i < ha->n; i++)
		if (lost & LS_BIT(i))
			fprintf(fp, "lost %s\n", ha->uuid[i]);
	if (fclose(fp) != 0 || rename(tmp, path) != 0) {
		log_debug("liveness: cannot save the liveset in %s: %s", path, strerror(errno));
		(void)unlink(tmp);
	}
}

static int
uuid_index(const struct ha *ha, const char *uuid)
{
	unsigned i;

	for (i = 0; i < ha->n; i++)
		if (strcmp(ha->uuid[i], uuid) == 0)
			return (int)i;
	return -1;
}

/* Read what save_liveset() wrote into ha->lvc; an unreadable, foreign or
** inconsistent file (a host it names is no longer a member, my host not in
** it) is ignored with a log line: a cold start. */
static void
load_liveset(struct ha *ha)
{
	char path[CONFIG_PATH_LEN + 16], line[256], word[16], uuid[HA_UUID_LEN + 8];
	unsigned long long seq = 0;
	unsigned node = 0, version = 0;
	uint64_t live = 0, lost = 0;
	int master = -1, ok = 1, idx;
	FILE *fp;

	liveset_path(ha, path, sizeof(path));
	if ((fp = fopen(path, "r")) == NULL)
		return;
	if (fgets(line, sizeof(line), fp) == NULL || sscanf(line, "hasvc-liveset %u", &version) != 1 ||
	    (version != 1 && version != 2) || fgets(line, sizeof(line), fp) == NULL ||
	    sscanf(line, "ring %llu %u", &seq, &node) != 2)
		ok = 0;
	while (ok && fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, "%15s %44s", word, uuid) != 2) {
			ok = 0;
		} else if (strcmp(word, "master") == 0) {
			master = strcmp(uuid, "-") == 0 ? -1 : uuid_index(ha, uuid);
		} else if (strcmp(word, "live") == 0 && (idx = uuid_index(ha, uuid)) >= 0) {
			live |= LS_BIT(idx);
		} else if (strcmp(word, "lost") == 0 && version >= 2) {
			/* a host no longer a member is nobody's to announce */
			if ((idx = uuid_index(ha, uuid)) >= 0)
				lost |= LS_BIT(idx);
		} else {
			ok = 0;
		}
	}
	fclose(fp);
	if (!ok || !(live & LS_BIT(ha->self)) || (master >= 0 && !(live & LS_BIT(master)))) {
		log_warnx("liveness: %s is not usable (written for another pool membership?): "
			  "starting cold",
			  path);
		return;
	}
	ha->lvc.live = live;
	ha->lvc.pending_dead = lost & ~live;
	ha->lvc.prev_ring.seq = seq;
	ha->lvc.prev_ring.nodeid = node;
	ha->lvc.master = master;
	log_notice("liveness: a restart: the liveset agreed in ring %llu by my predecessor "
		   "is my starting point (%s; %d host(s) it lost, not yet known dead)",
		   seq, path, __builtin_popcountll(ha->lvc.pending_dead));
}

/* A fenced host that booted: the newest valid local fence record is newer
** than the last admission (<data-dir>/fence-admitted, written when this
** host joins a liveset).  It starts out of the pool (lv_config.out): the
** others decided without it and it has nothing to protect -- its reset
** stopped its VMs.  The master admits it again (docs/protocol.md,
** "Rejoining"); its first SURVIVE marks the admission. */
static int
fenced_since_admitted(const struct ha *ha, uint64_t *newest)
{
	struct fence_record rec;

	*newest = newest_fence_record(ha, &rec, 0) ? rec.seq : 0;
	return *newest > mark_get(ha, "fence-admitted");
}

/* My host is in an agreed liveset: every fence record so far is behind it. */
static void
mark_admitted(struct ha *ha)
{
	struct fence_record rec;

	if (newest_fence_record(ha, &rec, 0))
		mark_set(ha, "fence-admitted", rec.seq);
}

/* ---- carrying out the engine's actions ------------------------------------- */

static void
act_io(struct ha *ha, const struct lv_action *a)
{
	uint8_t sector[SF_SECTOR];
	enum lv_event_type answer = a->type == LV_ACT_READ ? LV_EV_READ : LV_EV_WRITTEN;

	if (ha->sf == NULL || (a->type == LV_ACT_WRITE && ha->generation == 0)) {
		/* No statefile, or none read yet: its generation is unknown and a
		** slot written now could only be refused. */
		io_failed_now(ha, a->id, answer);
		return;
	}
	if (a->type == LV_ACT_WRITE && encode_slot(ha, &a->slot, sector) < 0) {
		io_failed_now(ha, a->id, answer);
		return;
	}
	ha->lv_req = a->id;
	ha->sf_req = a->type == LV_ACT_READ ? sfio_read_all(ha->sf, a->deadline)
					    : sfio_write_slot(ha->sf, ha->self, sector, a->deadline);
}

/* FENCE: the engine has stopped petting.  The fence machine has the keeper
** stop too, writes the records (write_record_hook) and resets the host
** through the keeper -- at its record bound at the latest (docs/fencing.md). */
static void
act_fence(struct ha *ha, const struct lv_action *a)
{
	struct fence_record *rec;

	snprintf(ha->last, sizeof(ha->last), "FENCE: %s", a->detail);
	log_errx("liveness: host %s decided to FENCE: %s", ha->cfg->host_uuid, a->detail);
	ha->fence_slot = a->slot;
	rec = build_fence_record(ha, a);
	ha_fence_decision(ha->hf, FENCE_V_FENCE, (uint32_t)a->reason, rec);
	xfree(rec);
}

static void
execute(struct ha *ha, const struct lv_action *a)
{
	char l[400], d[400];
	uint8_t buf[LV_MSG_MAX];
	size_t len;

	switch (a->type) {
	case LV_ACT_WRITE:
	case LV_ACT_READ:
		act_io(ha, a);
		break;
	case LV_ACT_SEND:
		len = lv_msg_encode(&a->msg, buf, sizeof(buf));
		if (NEVER(len == 0))
			break;
		if (ha->send(ha->send_arg, buf, len) < 0)
			log_debug("liveness: cannot send a %s: corosync is down",
				  lv_msg_type_name(a->msg.type));
		break;
	case LV_ACT_PET:
		break; /* the fence machine pets, at its period, with lv_lease() */
	case LV_ACT_FENCE:
		act_fence(ha, a);
		break;
	case LV_ACT_SURVIVE:
		hosts_str(ha, a->live, l, sizeof(l));
		hosts_str(ha, a->lost, d, sizeof(d));
		snprintf(ha->last, sizeof(ha->last), "SURVIVE %s: liveset nodes %s, lost %s",
			 ls_reason_name(a->reason), l, d);
		log_notice("liveness: host %s: %s", ha->cfg->host_uuid, ha->last);
		alert_host_failed(ha, a);
		observe_liveset(ha, a->live);
		if (a->live & LS_BIT(ha->self)) {
			save_liveset(ha);
			ha_fence_set_lease(ha->hf, lv_lease(ha->lv));
			if (!ha->joined) {
				ha->joined = 1;
				ha_fence_joined(ha->hf);
				mark_admitted(ha);
				if (ha->lvc.out)
					log_notice("liveness: host %s is admitted to the liveset again",
						   ha->cfg->host_uuid);
			}
			ha_fence_decision(ha->hf, FENCE_V_SURVIVE, (uint32_t)a->reason, NULL);
		}
		break;
	case LV_ACT_MASTER:
		if (a->host >= 0 && (unsigned)a->host < ha->n)
			log_notice("liveness: the liveset's master is %s (node %u)",
				   ha->uuid[a->host], ha->nodeid[a->host]);
		break;
	case LV_ACT_HOST_DEAD:
		if (a->host < 0 || (unsigned)a->host >= ha->n)
			break;
		log_notice("liveness: host %s (node %u) is certainly dead: %s", ha->uuid[a->host],
			   ha->nodeid[a->host], a->detail);
		if (ha->obs.host_dead != NULL)
			ha->obs.host_dead(ha->obs.arg, ha->uuid[a->host]);
		break;
	case LV_ACT_ALERT:
		ha_alerts_set(&ha->alerts, a->alerts, clock_mono_ms());
		if (a->alerts != 0)
			log_warnx("liveness: alerts 0x%x%s%s%s%s%s", a->alerts,
				  a->alerts & LS_ALERT_SELF_NO_STORAGE ? " self-no-storage" : "",
				  a->alerts & LS_ALERT_SOME_NO_STORAGE ? " some-no-storage" : "",
				  a->alerts & LS_ALERT_ALL_NO_STORAGE ? " all-no-storage" : "",
				  a->alerts & LS_ALERT_INCONSISTENT ? " inconsistent" : "",
				  a->alerts & LV_ALERT_STALLED ? " stalled" : "");
		else
			log_info("liveness: alerts cleared");
		break;
	case LV_ACT_EXIT:
		break;
	}
}

static void
reschedule(struct ha *ha)
{
	uint64_t now = clock_mono_ms(), next = lv_next_deadline(ha->lv), d;
	struct timeval tv;

	if (ha->sf != NULL && sfio_next_deadline(ha->sf, &d) && d < next)
		next = d;
	if (lv_get_state(ha->lv) != LV_FENCED && lv_get_state(ha->lv) != LV_LEFT &&
	    (d = ha_alerts_next_deadline(&ha->alerts)) < next)
		next = d;
	if (next == UINT64_MAX) {
		evtimer_del(ha->ev_timer);
		return;
	}
	d = next > now ? next - now : 0;
	tv.tv_sec = (time_t)(d / 1000);
	tv.tv_usec = (suseconds_t)(d % 1000) * 1000;
	evtimer_add(ha->ev_timer, &tv);
}

static void
step(struct ha *ha, const struct lv_event *first)
{
	struct lv_event ev = *first;
	size_t i;

	for (;;) {
		lv_actions_reset(&ha->acts);
		lv_step(ha->lv, &ev, clock_mono_ms(), &ha->acts);
		for (i = 0; i < ha->acts.n; i++)
			execute(ha, &ha->acts.v[i]);
		ha_fence_set_lease(ha->hf, lv_lease(ha->lv));
		if (ha->ndeferred == 0)
			break;
		ev = ha->deferred[0];
		memmove(ha->deferred, ha->deferred + 1, --ha->ndeferred * sizeof(ha->deferred[0]));
	}
	poll_alerts(ha);
	reschedule(ha);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ha *ha = arg;
	struct lv_event ev = {.type = LV_EV_TICK};

	sf_poll_all(ha); /* deadlines: a hung request fails now */
	step(ha, &ev);
}

/* ---- the maintenance window ------------------------------------------------- */

static void
feed_maint(struct ha *ha)
{
	struct lv_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = LV_EV_MAINT;
	ev.u.maint_until = ha->maint_until;
	step(ha, &ev);
}

void
ha_maintenance(struct ha *ha, uint64_t until)
{
	uint64_t now = clock_mono_ms();

	if (ha == NULL)
		return;
	if (until <= now)
		until = 0;
	/* The same window, seen again a second later: its end moves by the
	** clocks' jitter only. */
	if ((until == 0) == (ha->maint_until == 0) &&
	    (until == 0 || (until > ha->maint_until ? until - ha->maint_until
						     : ha->maint_until - until) < 2000))
		return;
	if (until != 0)
		log_notice("liveness: host %s: maintenance window for %" PRIu64
			   " s: watchdog disarmed, no fencing decision until it ends",
			   ha->cfg->host_uuid, (until - now + 999) / 1000);
	else
		log_notice("liveness: host %s: the maintenance window is over: the watchdog "
			   "is armed again, decisions resume",
			   ha->cfg->host_uuid);
	ha->maint_until = until;
	if (ha->started && !ha->down)
		feed_maint(ha);
	ha_fence_maintenance(ha->hf, until);
}

/* ---- corosync ---------------------------------------------------------------- */

static void
feed_ring(struct ha *ha, enum lv_event_type type)
{
	struct lv_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.u.ring.ring = ha->ring;
	ev.u.ring.members = ha->members;
	ev.u.ring.group = ha->group & ha->members;
	ev.u.ring.view = ha->down ? 0 : ha->view;
	ev.u.ring.quorate = ha->quorate;
	ev.u.ring.local = ha->down;
	step(ha, &ev);
}

void
ha_ring(struct ha *ha, uint64_t ring_seq, uint32_t ring_nodeid, const uint32_t *nodes, size_t n)
{
	if (ha == NULL)
		return;
	ha->down = 0;
	/* The engine numbers admissions inside a corosync ring: its ring
	** seqs are corosync's LV_RING_SPAN apart (liveness.h). */
	ha->ring.seq = ring_seq * LV_RING_SPAN;
	ha->ring.nodeid = ring_nodeid;
	ha->members = set_of(ha, nodes, n);
	if (!(ha->members & LS_BIT(ha->self))) {
		log_warnx("liveness: corosync ring %" PRIu64 " does not hold my node %u",
			  ring_seq, ha->nodeid[ha->self]);
		return;
	}
	if (!ha->started) {
		ha->started = 1;
		feed_ring(ha, LV_EV_START);
		if (ha->maint_until != 0)
			feed_maint(ha);
		return;
	}
	feed_ring(ha, LV_EV_RING);
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void
ha_group(struct ha *ha, const uint32_t *nodes, const uint32_t *pids, size_t n)
{
	uint64_t procs[LS_MAX_HOSTS * 2], x = 0xcbf29ce484222325ull;
	size_t i, k = 0;

	if (ha == NULL)
		return;
	ha->group = set_of(ha, nodes, n);
	/* The view: the group's processes, (nodeid, pid) sorted, hashed
	** (FNV-1a): the same on every member, new when a daemon restarts. */
	for (i = 0; i < n && k < ARRAY_SIZE(procs); i++)
		procs[k++] = (uint64_t)nodes[i] << 32 | pids[i];
	qsort(procs, k, sizeof(procs[0]), u64_cmp);
	for (i = 0; i < k; i++)
		for (unsigned b = 0; b < 8; b++)
			x = (x ^ ((procs[i] >> (8 * b)) & 0xff)) * 0x100000001b3ull;
	ha->view = x;
	if (ha->started && !ha->down)
		feed_ring(ha, LV_EV_RING); /* the same ring: a new group view */
}

void
ha_quorum(struct ha *ha, uint64_t ring_seq, int quorate)
{
	if (ha == NULL || ring_seq * LV_RING_SPAN != ha->ring.seq)
		return; /* a view of another ring is stale (cpg.h) */
	ha->quorate = quorate;
	if (ha->started && !ha->down)
		feed_ring(ha, LV_EV_RING);
}

void
ha_cpg_down(struct ha *ha)
{
	if (ha == NULL || !ha->started || ha->down)
		return;
	/* Cut off from every other host: a ring of myself alone, newer than
	** any I have seen (docs/protocol.md: corosync down). */
	ha->down = 1;
	ha->ring.seq += LV_RING_SPAN;
	ha->ring.nodeid = ha->nodeid[ha->self];
	ha->members = ha->group = LS_BIT(ha->self);
	ha->quorate = 0;
	feed_ring(ha, LV_EV_RING);
}

int
ha_deliver(struct ha *ha, uint32_t nodeid, const void *msg, size_t len)
{
	struct lv_event ev;
	const char *why = NULL;
	int from;

	if (!lv_msg_is_mine(msg, len))
		return 0;
	if (ha == NULL || !ha->started)
		return 1;
	memset(&ev, 0, sizeof(ev));
	ev.type = LV_EV_DELIVER;
	if (lv_msg_decode(msg, len, &ev.u.msg, &why) < 0) {
		if (ha->dropped++ < 10)
			log_warnx("liveness: dropped a message from node %u: %s", nodeid, why);
		return 1;
	}
	from = index_of(ha, nodeid);
	if (from < 0 || (unsigned)from != ev.u.msg.from) {
		/* A sender is the node corosync says it is, or nothing. */
		if (ha->dropped++ < 10)
			log_warnx("liveness: dropped a message from node %u claiming host index %u",
				  nodeid, ev.u.msg.from);
		return 1;
	}
	step(ha, &ev);
	return 1;
}

/* ---- start, stop, status ------------------------------------------------------ */

static int
host_cmp(const void *a, const void *b)
{
	const struct db_host *x = a, *y = b;

	return x->cluster_nodeid < y->cluster_nodeid ? -1 : x->cluster_nodeid > y->cluster_nodeid;
}

struct ha *
ha_start(struct event_base *base, struct db *db, const struct config *cfg, ha_send_fn send,
	 ha_write_fn write, void *arg, int booted, char *err, size_t errlen)
{
	struct ha *ha = NULL;
	struct db_pool pool;
	struct db_host *hosts = NULL;
	size_t nhosts = 0, i;
	uint8_t secret[DB_CLUSTER_KEY_LEN];
	unsigned timeout;
	const char *prof;
	int profile = LV_PROFILE_FAST, self = -1;
	char lverr[256];

	err[0] = '\0';
	db_pool_init(&pool);
	if (db_pool_get(db, &pool) != 0 || !pool.ha_enabled)
		goto out; /* HA off: nothing to run */
	timeout = cluster_ha_timeout_s(&pool);
	if ((prof = db_map_get(&pool.ha_configuration, "hasvc-profile")) != NULL &&
	    (profile = lv_profile_parse(prof)) < 0) {
		snprintf(err, errlen, "ha_configuration:hasvc-profile %s: fast or conservative", prof);
		goto out;
	}
	if (db_pool_cluster_key(&pool, secret) < 0) {
		snprintf(err, errlen, "pool %s has no usable cluster key", pool.uuid);
		goto out;
	}
	if (db_host_list(db, &hosts, &nhosts) < 0) {
		snprintf(err, errlen, "pool database: listing the hosts failed: %s", db_errmsg(db));
		goto out;
	}
	qsort(hosts, nhosts, sizeof(*hosts), host_cmp);

	ha = xcalloc(1, sizeof(*ha));
	ha->base = base;
	ha->cfg = cfg;
	ha->send = send;
	ha->write = write;
	ha->send_arg = arg;
	for (i = 0; i < nhosts && ha->n < LS_MAX_HOSTS; i++) {
		if (hosts[i].cluster_nodeid == 0)
			continue;
		if (strcmp(hosts[i].uuid, cfg->host_uuid) == 0)
			self = (int)ha->n;
		ha->nodeid[ha->n] = hosts[i].cluster_nodeid;
		memcpy(ha->uuid[ha->n], hosts[i].uuid, HA_UUID_LEN);
		if (id_uuid_to_bytes(hosts[i].uuid, ha->uuid_bytes[ha->n]) < 0)
			memset(ha->uuid_bytes[ha->n], 0, SF_ID_LEN);
		ha->n++;
	}
	if (self < 0) {
		snprintf(err, errlen, "host %s is not a cluster member of pool %s", cfg->host_uuid,
			 pool.uuid);
		goto fail;
	}
	ha->self = (unsigned)self;
	if (id_uuid_to_bytes(pool.uuid, ha->pool_id) < 0 ||
	    sf_key_derive(secret, sizeof(secret), &ha->key) < 0) {
		snprintf(err, errlen, "pool %s: cannot derive the statefile key", pool.uuid);
		goto fail;
	}

	memset(&ha->lvc, 0, sizeof(ha->lvc));
	ha->lvc.ls.n = ha->n;
	for (i = 0; i < ha->n; i++)
		ha->lvc.ls.weight[i] = 1;
	ha->lvc.ls.preferred = -1;
	ha->lvc.ls.statefile = cfg->statefile[0] != '\0';
	ha->lvc.self = ha->self;
	ha->lvc.live = ha->n >= 64 ? ~(uint64_t)0 : LS_BIT(ha->n) - 1;
	ha->lvc.master = -1;
	for (i = 0; i < ha->n; i++)
		if (strcmp(ha->uuid[i], pool.master) == 0)
			ha->lvc.master = (int)i;
	/* My slot's seq goes on above any predecessor's: wall-clock us at
	** start, ahead of the ~10 writes per second of a previous run unless
	** the clock stepped back by more than that run's length. */
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ha->lvc.seq0 = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	}
	load_liveset(ha);
	{
		uint64_t newest;

		if (fenced_since_admitted(ha, &newest)) {
			ha->lvc.out = 1;
			log_warnx("liveness: host %s was fenced (record %llu) and is not admitted "
				  "again: it starts out of the pool's liveset (no watchdog, no "
				  "decisions) and asks the master to admit it",
				  cfg->host_uuid, (unsigned long long)newest);
		} else if (booted && ha->lvc.prev_ring.nodeid == 0) {
			ha->lvc.out = 1;
			log_notice("liveness: host %s starts with HA already on and no liveset of "
				   "this boot: it starts out of the pool's liveset and asks the "
				   "master to admit it",
				   cfg->host_uuid);
		}
	}
	if (lv_timing_derive(timeout, (enum lv_profile)profile, &ha->lvc.timing, err, errlen) < 0)
		goto fail;
	ha->lv = lv_new(&ha->lvc, lverr, sizeof(lverr));
	if (ha->lv == NULL) {
		snprintf(err, errlen, "liveness engine: %s", lverr);
		goto fail;
	}
	ha->ev_timer = evtimer_new(base, on_timer, ha);
	ha->ev_outbox = evtimer_new(base, on_outbox, ha);
	{
		struct ha_fence_hooks hooks = {.arg = ha, .write_record = write_record_hook};

		ha->hf = ha_fence_new(base, cfg->watchdog_keeper_socket, ha->lvc.timing.wd_ms,
				      ha->lvc.timing.pet_ms, ha->lvc.ls.statefile, &hooks, lverr,
				      sizeof(lverr));
		if (ha->hf == NULL) {
			snprintf(err, errlen, "fencing: %s", lverr);
			goto fail;
		}
	}
	report_was_fenced(ha);
	ha_alerts_init(&ha->alerts, ha->lvc.timing.stale_ms, ha->lvc.timing.decide_ms);
	if (ha->lvc.ls.statefile) {
		ha->sf = sfio_open(cfg->statefile, lverr, sizeof(lverr));
		if (ha->sf == NULL) {
			/* Not fatal: the engine sees no storage access (rule 1 still
			** keeps the pool running while it is whole). */
			log_errx("liveness: %s; running without storage access", lverr);
		} else {
			ha->ev_sf = event_new(base, sfio_fd(ha->sf), EV_READ | EV_PERSIST, on_sf, ha);
			event_add(ha->ev_sf, NULL);
		}
	}
	log_notice("liveness: host %s is index %u of %u; timeout %u s (%s): token %u ms, "
		   "T_decide %u ms, watchdog %u ms, restart bound %u ms; statefile %s",
		   cfg->host_uuid, ha->self, ha->n, timeout, lv_profile_name(profile),
		   ha->lvc.timing.token_ms, ha->lvc.timing.decide_ms, ha->lvc.timing.wd_ms,
		   ha->lvc.timing.restart_ms, ha->lvc.ls.statefile ? cfg->statefile : "none");
	goto out;
fail:
	ha_stop(ha);
	ha = NULL;
out:
	db_host_list_free(hosts, nhosts);
	db_pool_clear(&pool);
	return ha;
}

void
ha_stop(struct ha *ha)
{
	if (ha == NULL)
		return;
	if (ha->ev_sf != NULL)
		event_free(ha->ev_sf);
	if (ha->ev_timer != NULL)
		event_free(ha->ev_timer);
	if (ha->ev_outbox != NULL)
		event_free(ha->ev_outbox);
	if (ha->nout > 0)
		log_warnx("liveness: %u alerts not written to the pool database (the first: %s "
			  "about %s)",
			  ha->nout, ha->outbox[0].name, ha->outbox[0].obj_uuid);
	ha_fence_free(ha->hf); /* armed stays armed: the keeper holds the lease */
	sfio_close(ha->sf);
	lv_free(ha->lv);
	lv_actions_free(&ha->acts);
	xfree(ha);
}

void
ha_disable(struct ha *ha)
{
	char path[CONFIG_PATH_LEN + 16];

	if (ha == NULL)
		return;
	log_notice("liveness: HA disabled on pool: host %s disarms its watchdog and stops",
		   ha->cfg->host_uuid);
	ha_fence_disable(ha->hf);
	ha->hf = NULL;
	liveset_path(ha, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("liveness: cannot remove %s", path);
	mark_admitted(ha);
	ha_stop(ha);
}

void
ha_get_status(const struct ha *ha, struct ha_status *out)
{
	uint64_t live, now = clock_mono_ms();
	unsigned i;
	int m;

	memset(out, 0, sizeof(*out));
	if (ha == NULL || ha->lv == NULL)
		return;
	out->running = ha->started;
	out->state = lv_get_state(ha->lv);
	out->ring_seq = lv_get_ring(ha->lv).seq;
	out->prev_ring_seq = lv_get_prev_ring(ha->lv).seq;
	live = lv_get_live(ha->lv);
	for (i = 0; i < ha->n; i++)
		if (live & LS_BIT(i))
			memcpy(out->live[out->nlive++], ha->uuid[i], HA_UUID_LEN);
	m = lv_get_master(ha->lv);
	if (m >= 0 && (unsigned)m < ha->n)
		memcpy(out->master, ha->uuid[m], HA_UUID_LEN);
	out->fresh = lv_is_fresh(ha->lv, now);
	out->access = lv_has_access(ha->lv, now);
	out->statefile = ha->lvc.ls.statefile;
	out->alerts = lv_get_alerts(ha->lv);
	snprintf(out->last, sizeof(out->last), "%s", ha->last);
	lv_get_stats(ha->lv, &out->stats);
	out->dropped = ha->dropped;
	out->alerts_sent = ha->alerts_sent;
	out->alerts_dropped = ha->alerts_dropped;
	ha_fence_get_status(ha->hf, &out->fence);
	out->now = now;
	lv_get_timers(ha->lv, &out->timers);
	out->live_set = live;
	for (i = 0; i < ha->n; i++)
		memcpy(out->hosts[i], ha->uuid[i], HA_UUID_LEN);
}
