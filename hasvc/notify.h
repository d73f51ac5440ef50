/*
** The notification choke point (STYLE habit 9, docs/monitoring.md): every
** alert is a message row of the pool database, stored once through the
** replicated write path; this module fans each new one out to the pool's
** SNMP receivers (hasvc/snmp_trap.h) and this host's hook scripts
** (hasvcd.conf <notify>).  The API events get the same row through the same
** change hook (api_server.c db_changed), so nothing else sends a trap.
**
** Who sends.  Every host applies every message insert; only the sender --
** the writable master, or a standalone host -- fans it out, then writes the
** message's "notified" marker (db_message_mark_notified) through the
** replicated write path once every receiver and hook has had it (sent,
** acknowledged, or failed for good).  An unacknowledged inform is retried
** with backoff (notify_retry_delay_ms) until acknowledged or until its
** message is older than NOTIFY_MAX_AGE_S; only then is it failed for good.  Any host that becomes the sender sends
** the messages that have no marker yet.  So across a master change an alert
** is delivered at least once (never lost while some master lives), and
** twice only when the old master sent it and died before its marker
** committed; never twice otherwise.  Messages older than NOTIFY_MAX_AGE_S
** without a marker are marked without being sent (an upgrade, a long
** outage: stale alerts are not news).
**
** No master.  An alert that cannot be stored because the pool has no
** master waits in its origin host's outbox (hasvc/ha.c); past
** NOTIFY_DIRECT_AFTER_MS the origin sends it itself (notify_direct) and,
** when a master appears, stores it with its marker in one write
** (notify_put_sent), so that no master sends it again.
**
** Never blocking the loop: sending runs in two worker threads (SNMP: every
** net-snmp call happens there; hooks: posix_spawn + poll, killed at their
** timeout), fed by bounded queues; a job that does not fit is dropped,
** counted and logged.  Results come back to the loop through a pipe: all
** logging, counting and marking happens on the loop.
**
** Not thread-safe otherwise: every function is for the event loop's thread.
*/
#ifndef HASVC_HASVC_NOTIFY_H
#define HASVC_HASVC_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "hasvc/config.h"
#include "hasvc/db.h"

struct event_base;
struct notify;

#define NOTIFY_QUEUE_MAX 256  /* jobs waiting per worker */
#define NOTIFY_INFLIGHT  1024 /* messages sent, marker not yet seen */
#define NOTIFY_MAX_AGE_S 3600
#define NOTIFY_SCAN_MS   2000 /* the periodic look for unmarked messages */
#define NOTIFY_RETRY_FIRST_MS 1000  /* an unacknowledged inform: first wait */
#define NOTIFY_RETRY_MAX_MS   60000 /* ... doubling up to this */
#define NOTIFY_DIRECT_AFTER_MS 10000 /* an unstorable alert: its origin sends it */

struct notify_hooks {
	void *arg;
	/* 1 if this host sends now (the writable master); NULL: always (a
	** standalone host). */
	int (*is_sender)(void *arg);
	/* Run fn(fnarg, db) as a replicated write of the master
	** (cluster_local_write with master_only): 0 sent, 1 skipped, -1 not
	** possible now.  NULL: write the database directly. */
	int (*write)(void *arg, int (*fn)(void *fnarg, struct db *db), void *fnarg);
};

/* One job as the workers see it, exposed for the unit test's sink. */
enum notify_kind { NOTIFY_SNMP = 0, NOTIFY_HOOK };

struct notify_stats {
	uint64_t messages;   /* messages fanned out */
	uint64_t traps_sent; /* acknowledged for informs */
	uint64_t traps_failed; /* for good: a trap not sent, an inform stale */
	uint64_t informs_retried; /* unacknowledged attempts, retried later */
	uint64_t hooks_ok;
	uint64_t hooks_failed; /* non-zero exit, killed by a signal, cannot start */
	uint64_t hooks_killed; /* at their timeout */
	uint64_t dropped;      /* queue full */
	uint64_t stale;        /* marked unsent: older than NOTIFY_MAX_AGE_S */
	uint64_t direct;       /* sent by this host as their origin (notify_direct) */
};

/* `cfg` and `db` outlive the notifier.  base NULL (unit tests): no timer,
** no threads; the caller calls notify_scan, and jobs go to the sink set by
** notify_set_sink.  Starts the workers; fatal if threads cannot start. */
struct notify *notify_new(struct event_base *base, struct db *db, const struct config *cfg,
                          const struct notify_hooks *hooks);
/* Stop the workers (a running hook is killed, an inform in flight may take
** its retries), drop queued jobs.  NULL is a no-op. */
void notify_free(struct notify *n);

/* The database change hook's share (api_server.c db_changed): a message
** insert triggers a scan, soon, on the loop. */
void notify_db_hook(struct notify *n, enum db_table table, const char *uuid, enum db_change op);
/* Send what has no marker, if this host is the sender; also done every
** NOTIFY_SCAN_MS and after a resynchronisation (notify_db_hook or the
** caller). */
void notify_scan(struct notify *n);

void notify_get_stats(const struct notify *n, struct notify_stats *out);

/* The alert's origin sends it itself, because no master can store it
** (docs/monitoring.md, "When there is no master"): message m (its uuid set:
** the one it will be stored under) is fanned out like the sender's scan
** does -- to the SNMP receivers of this host's copy of the database and to
** this host's hooks, from the workers -- whether or not this host is the
** sender, and its informs are retried until acknowledged or stale whatever
** happens to the sender.  No marker is written: the caller stores the
** message with its marker (notify_put_sent) once a master takes writes.
** 0 sent (or being sent, or older than NOTIFY_MAX_AGE_S: not news), -1 not
** now (n NULL, the in-flight table full, the database unreadable). */
int notify_direct(struct notify *n, const struct db_message *m);
/* Store message m and its notified marker (by host `host`) as one write:
** for a message sent by notify_direct, run through the replicated write
** path, so that every host gets both together and no sender sends it. */
int notify_put_sent(struct db *db, struct db_message *m, const char *host);
/* This process's notifier: the daemon's (notify_new with an event base
** registers itself, notify_free unregisters), or NULL.  For the liveness
** shell's outbox (hasvc/ha.c), created apart from the notifier. */
struct notify *notify_process(void);

/* snmp-test: one hasvcTestNotification to each receiver; done(arg, results,
** n) on the loop when every one has an outcome, results[i] "" for success or
** a sentence, in the order of db_snmp_receiver_list; n = 0 with no
** receivers (called at once).  -1 if the worker queue is full. */
typedef void (*notify_test_done)(void *arg, const struct db_snmp_receiver *rcv,
                                 char (*results)[256], size_t n);
int notify_test(struct notify *n, notify_test_done done, void *arg);
/* Forget a test's callback (its caller went away); results are dropped. */
void notify_test_cancel(struct notify *n, void *arg);

/* The wait after the `failures`-th (>= 1) unacknowledged attempt of an
** inform before the next: NOTIFY_RETRY_FIRST_MS doubling to
** NOTIFY_RETRY_MAX_MS.  Pure. */
uint64_t notify_retry_delay_ms(unsigned failures);
/* 1 if an unacknowledged inform of a message stamped msg_time (wall clock,
** s) is tried again at `now`: until the message is older than
** NOTIFY_MAX_AGE_S (the bound past which an alert is not news).  Pure. */
int notify_retry_allowed(int64_t msg_time, int64_t now);

/* ---- for tests ---- */

/* Requeue the inform retries due at monotonic time now_ms (the daemon's
** timer does this); the number still waiting. */
size_t notify_run_retries(struct notify *n, uint64_t now_ms);

/* Replace the workers: each job is passed to fn on the loop instead, and
** completes with rc (0 ok / -1) when fn returns.  kind, the receiver's
** address (SNMP) or the hook's path, and the alert: uuid and name; for SNMP
** also priority, class, object, body and time, as the trap carries them. */
typedef int (*notify_sink)(void *arg, enum notify_kind kind, const char *target,
                           const struct db_message *m);
void notify_set_sink(struct notify *n, notify_sink fn, void *arg);

/* The alert as the hooks get it on stdin (xmalloc'd JSON): uuid, name,
** priority, class, obj_uuid, timestamp (seconds) and time (ISO 8601 UTC),
** body, host_uuid, host_name, sender (this host's uuid). */
char *notify_alert_json(const struct db_message *m, const char *host_uuid, const char *host_name,
                        const char *sender);

#endif
