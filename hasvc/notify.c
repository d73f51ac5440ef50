/*
** The notification choke point: see notify.h for who sends what when.
**
** State on the loop: the in-flight table (messages fanned out whose marker
** this host has not yet seen in its database), the informs waiting for
** their next attempt (the retry list, each with its own due time) and the
** snmp-test requests.
**
** Sent directly (notify_direct): the origin of an alert that no master can
** store fans it out itself.  Its in-flight entry and jobs are flagged
** `direct`: they are sent and retried whether or not this host is the
** sender, a scan neither forgets nor marks them (the message is not in the
** database yet; the outbox stores it with its marker), and the entry is
** forgotten, not marked, once every job has its outcome.
**
** Informs and the worker.  An inform job is one attempt (one send, one
** timeout of 1 s, no library retry), so a dead receiver keeps the SNMP
** worker for one second per attempt and the others queued behind it wait
** at most that.  An unacknowledged attempt goes back to the loop, which
** parks the job on the retry list with its next-attempt time (1 s doubling
** to 60 s) and requeues it when due; its message's pending count is not
** decremented, so the marker waits for the acknowledgement -- or for the
** message to pass NOTIFY_MAX_AGE_S, the inform's final failure.
** State shared with the workers: only each worker's queue, under its mutex;
** a job belongs to the loop until queued, to the worker until it writes the
** job's pointer to the completion pipe, and to the loop again after.
*/
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "hasvc/notify.h"
#include "hasvc/snmp_trap.h"
#include "lib/check.h"
#include "lib/clock.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

extern char **environ;

struct ntest;

struct job {
	enum notify_kind kind;
	char msg_uuid[HA_UUID_LEN];
	char msg_name[64];
	char target_name[CONFIG_PATH_LEN]; /* "addr:port" or the hook's path, for logs */
	struct snmp_trap_alert alert;      /* SNMP */
	struct snmp_trap_target target;
	unsigned timeout_ms; /* hook */
	char *json;
	struct ntest *test; /* snmp-test */
	size_t index;
	int direct; /* notify_direct's: sent whoever is the sender */
	/* inform retries, on the loop */
	int64_t msg_time;  /* the message's timestamp: the stale bound */
	unsigned failures; /* unacknowledged attempts so far */
	uint64_t due_ms;   /* the next attempt, monotonic */
	struct job *next;  /* on the retry list */
	/* the outcome, filled by the worker */
	int rc;
	int killed;
	char err[256];
};

struct worker {
	struct notify *n;
	enum notify_kind kind;
	pthread_t th;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *q[NOTIFY_QUEUE_MAX];
	size_t head, len;
	int stop; /* under mu; also read atomically by a running hook */
};

struct inflight {
	char uuid[HA_UUID_LEN];
	unsigned pending; /* jobs without an outcome; 0: write the marker */
	int direct;       /* notify_direct's: 0 pending -> forgotten, not marked */
};

struct ntest {
	struct ntest *next;
	notify_test_done done; /* NULL: cancelled */
	void *arg;
	struct db_snmp_receiver *rcv;
	size_t n, pending;
	char (*res)[256];
};

struct notify {
	struct event_base *base;
	struct db *db;
	const struct config *cfg;
	struct notify_hooks hooks;
	struct event *timer, *done_ev, *retry_ev;
	int pipe[2]; /* completions: worker -> loop, one struct job * per write */
	struct worker w[2];
	struct inflight fl[NOTIFY_INFLIGHT];
	size_t nfl;
	struct ntest *tests;
	struct job *retries; /* unacknowledged informs, unordered */
	size_t nretries;
	notify_sink sink;
	void *sink_arg;
	struct notify_stats stats;
	char snmp_dir[CONFIG_PATH_LEN];
};

/* The daemon's notifier (notify_process), for the liveness outbox. */
static struct notify *process_notifier;

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	xfree(j->json);
	explicit_bzero(j, sizeof(*j)); /* the receiver's secrets */
	xfree(j);
}

/* ---- the workers ---- */

static int
stopping(struct worker *w)
{
	return __atomic_load_n(&w->stop, __ATOMIC_RELAXED);
}

/* Run hook j->target_name with the JSON on stdin; killed (its whole process
** group) at its timeout or when the worker stops. */
static void
run_hook(struct worker *w, struct job *j)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	char *argv[3];
	int in[2], status = 0;
	pid_t pid;
	uint64_t deadline;
	ssize_t k;

	if (pipe2(in, O_CLOEXEC) < 0) {
		snprintf(j->err, sizeof(j->err), "pipe: %s", strerror(errno));
		return;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	                                  POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all); /* hasvcd ignores SIGPIPE */
	argv[0] = j->target_name;
	argv[1] = j->msg_name;
	argv[2] = NULL;
	errno = posix_spawn(&pid, j->target_name, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(in[0]);
	if (errno != 0) {
		snprintf(j->err, sizeof(j->err), "cannot run it: %s", strerror(errno));
		close(in[1]);
		return;
	}
	/* A few KiB: fits the pipe, so this never waits for the hook. */
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	k = write(in[1], j->json, strlen(j->json));
	(void)k; /* a hook that does not read its stdin is its business */
	close(in[1]);

	deadline = clock_mono_ms() + j->timeout_ms;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			snprintf(j->err, sizeof(j->err), "waitpid: %s", strerror(errno));
			return;
		}
		if (clock_mono_ms() >= deadline || stopping(w)) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			j->killed = 1;
			snprintf(j->err, sizeof(j->err), "killed after its timeout of %u ms",
			         j->timeout_ms);
			return;
		}
		poll(NULL, 0, 10);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		j->rc = 0;
	else if (WIFEXITED(status))
		snprintf(j->err, sizeof(j->err), "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(j->err, sizeof(j->err), "killed by signal %d", WTERMSIG(status));
}

static void
run_job(struct worker *w, struct job *j)
{
	j->rc = -1;
	j->err[0] = '\0';
	if (j->kind == NOTIFY_SNMP)
		j->rc = snmp_trap_send(&j->target, &j->alert, j->err, sizeof(j->err));
	else
		run_hook(w, j);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct job *j;
	sigset_t all;

	/* Signals are the loop's (libevent); a hook gets a clean mask. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (w->kind == NOTIFY_SNMP)
		snmp_trap_init(w->n->snmp_dir[0] != '\0' ? w->n->snmp_dir : NULL);
	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (!w->stop && w->len == 0)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		j = w->q[w->head];
		w->head = (w->head + 1) % NOTIFY_QUEUE_MAX;
		w->len--;
		pthread_mutex_unlock(&w->mu);
		run_job(w, j);
		/* Blocks only while the loop is behind: fine, it is ours. */
		while (write(w->n->pipe[1], &j, sizeof(j)) < 0 && errno == EINTR)
			;
	}
	if (w->kind == NOTIFY_SNMP)
		snmp_trap_shutdown();
	return NULL;
}

/* ---- completions, on the loop ---- */

static struct inflight *
fl_find(struct notify *n, const char *uuid)
{
	size_t i;

	for (i = 0; i < n->nfl; i++)
		if (strcmp(n->fl[i].uuid, uuid) == 0)
			return &n->fl[i];
	return NULL;
}

struct marker {
	char uuid[HA_UUID_LEN];
	char host[HA_UUID_LEN];
	int64_t time;
};

static int
put_marker(void *arg, struct db *db)
{
	const struct marker *m = arg;

	return db_message_mark_notified(db, m->uuid, m->host, m->time) < 0 ? -1 : 0;
}

/* Write message uuid's marker: now (standalone) or through the master's
** replicated write.  A failure is retried by the next scan. */
static void
mark(struct notify *n, const char *uuid)
{
	struct marker m;
	int rc;

	memset(&m, 0, sizeof(m));
	snprintf(m.uuid, sizeof(m.uuid), "%s", uuid);
	snprintf(m.host, sizeof(m.host), "%s", n->cfg->host_uuid);
	m.time = clock_wall_s();
	if (n->hooks.write != NULL)
		rc = n->hooks.write(n->hooks.arg, put_marker, &m);
	else
		rc = put_marker(&m, n->db);
	if (rc < 0)
		log_debug("message %s: notified marker not written now; will retry", uuid);
}

/* Every job of in-flight message f has its outcome: mark it, or forget it
** if it was sent directly (its outbox writes the marker with it). */
static void
settle(struct notify *n, struct inflight *f)
{
	if (!f->direct) {
		mark(n, f->uuid);
		return;
	}
	*f = n->fl[--n->nfl];
}

static void
test_finish(struct notify *n, struct ntest *t)
{
	struct ntest **pp;

	for (pp = &n->tests; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	if (t->done != NULL)
		t->done(t->arg, t->rcv, t->res, t->n);
	db_snmp_receiver_list_free(t->rcv, t->n);
	xfree(t->res);
	xfree(t);
}

uint64_t
notify_retry_delay_ms(unsigned failures)
{
	uint64_t d = NOTIFY_RETRY_FIRST_MS;

	while (failures > 1 && d < NOTIFY_RETRY_MAX_MS) {
		d *= 2;
		failures--;
	}
	return d < NOTIFY_RETRY_MAX_MS ? d : NOTIFY_RETRY_MAX_MS;
}

int
notify_retry_allowed(int64_t msg_time, int64_t now)
{
	return msg_time >= now - NOTIFY_MAX_AGE_S;
}

/* Arm the retry timer for the earliest due job (none: disarmed). */
static void
retry_arm(struct notify *n)
{
	struct job *j;
	uint64_t first = UINT64_MAX, now = clock_mono_ms(), d;
	struct timeval tv;

	if (n->retry_ev == NULL)
		return;
	evtimer_del(n->retry_ev);
	for (j = n->retries; j != NULL; j = j->next)
		if (j->due_ms < first)
			first = j->due_ms;
	if (first == UINT64_MAX)
		return;
	d = first > now ? first - now : 0;
	tv.tv_sec = (time_t)(d / 1000);
	tv.tv_usec = (suseconds_t)(d % 1000) * 1000;
	evtimer_add(n->retry_ev, &tv);
}

/* An inform not acknowledged, still worth sending: park it until its next
** attempt.  The first failure is a warning, the following ones debug. */
static void
retry_later(struct notify *n, struct job *j)
{
	uint64_t d;

	j->failures++;
	d = notify_retry_delay_ms(j->failures);
	j->due_ms = clock_mono_ms() + d;
	n->stats.informs_retried++;
	if (j->failures == 1)
		log_warnx("alert %s %s: SNMP inform to %s not acknowledged (%s); retrying with "
		          "backoff until acknowledged or %d s old",
		          j->msg_name, j->msg_uuid, j->target_name, j->err, NOTIFY_MAX_AGE_S);
	else
		log_debug("alert %s %s: inform to %s: attempt %u not acknowledged; next in %" PRIu64
		          " ms",
		          j->msg_name, j->msg_uuid, j->target_name, j->failures, d);
	j->next = n->retries;
	n->retries = j;
	n->nretries++;
	retry_arm(n);
}

/* A job has its outcome: log it, count it, and mark its message once every
** job of the message has one. */
static void
complete(struct notify *n, struct job *j)
{
	struct inflight *f;

	if (j->test != NULL) {
		struct ntest *t = j->test;

		snprintf(t->res[j->index], sizeof(t->res[0]), "%s",
		         j->rc == 0          ? ""
		         : j->err[0] != '\0' ? j->err
		                             : "failed");
		if (--t->pending == 0)
			test_finish(n, t);
		job_free(j);
		return;
	}
	if (j->kind == NOTIFY_SNMP && j->rc != 0 && j->target.inform &&
	    notify_retry_allowed(j->msg_time, clock_wall_s())) {
		retry_later(n, j);
		return;
	}
	if (j->kind == NOTIFY_SNMP) {
		if (j->rc == 0) {
			n->stats.traps_sent++;
			log_info("alert %s %s: SNMP notification to %s sent", j->msg_name,
			         j->msg_uuid, j->target_name);
		} else {
			n->stats.traps_failed++;
			log_warnx("alert %s %s: SNMP notification to %s failed: %s", j->msg_name,
			          j->msg_uuid, j->target_name, j->err);
		}
	} else if (j->rc == 0) {
		n->stats.hooks_ok++;
		log_info("alert %s %s: hook %s ran", j->msg_name, j->msg_uuid, j->target_name);
	} else {
		if (j->killed)
			n->stats.hooks_killed++;
		else
			n->stats.hooks_failed++;
		log_warnx("alert %s %s: hook %s failed: %s", j->msg_name, j->msg_uuid,
		          j->target_name, j->err);
	}
	f = fl_find(n, j->msg_uuid);
	if (f != NULL && f->pending > 0 && --f->pending == 0)
		settle(n, f);
	job_free(j);
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct notify *n = arg;
	struct job *j;

	while (read(fd, &j, sizeof(j)) == (ssize_t)sizeof(j))
		complete(n, j);
}

/* Hand a job to its worker (or the test sink); 0, or -1 dropped (freed). */
static int
enqueue(struct notify *n, struct job *j)
{
	struct worker *w = &n->w[j->kind];

	if (n->sink != NULL) {
		struct db_message m;

		memset(&m, 0, sizeof(m));
		snprintf(m.uuid, sizeof(m.uuid), "%s", j->msg_uuid);
		snprintf(m.name, sizeof(m.name), "%s", j->msg_name);
		if (j->kind == NOTIFY_SNMP) {
			m.priority = j->alert.priority;
			snprintf(m.cls, sizeof(m.cls), "%s", j->alert.cls);
			snprintf(m.obj_uuid, sizeof(m.obj_uuid), "%s", j->alert.obj_uuid);
			snprintf(m.body, sizeof(m.body), "%s", j->alert.body);
			m.timestamp = j->alert.timestamp;
		}
		j->rc = n->sink(n->sink_arg, j->kind, j->target_name, &m);
		complete(n, j);
		return 0;
	}
	if (!w->started) {
		job_free(j);
		return -1;
	}
	pthread_mutex_lock(&w->mu);
	if (w->len == NOTIFY_QUEUE_MAX) {
		pthread_mutex_unlock(&w->mu);
		n->stats.dropped++;
		log_warnx("alert %s %s: %s queue full (%d), notification to %s dropped",
		          j->msg_name, j->msg_uuid, j->kind == NOTIFY_SNMP ? "SNMP" : "hook",
		          NOTIFY_QUEUE_MAX, j->target_name);
		job_free(j);
		return -1;
	}
	w->q[(w->head + w->len) % NOTIFY_QUEUE_MAX] = j;
	w->len++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

static int is_sender(struct notify *n);

size_t
notify_run_retries(struct notify *n, uint64_t now_ms)
{
	struct job **pp = &n->retries, *due = NULL, *j;

	/* Take the due ones off first: enqueue may complete a job at once
	** (the sink), which can put it back on the list. */
	while (*pp != NULL) {
		j = *pp;
		if (j->due_ms > now_ms) {
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		n->nretries--;
		j->next = due;
		due = j;
	}
	while ((j = due) != NULL) {
		struct inflight *f = fl_find(n, j->msg_uuid);

		due = j->next;
		j->next = NULL;
		if (f == NULL || f->pending == 0) {
			/* marked meanwhile (or deleted): nothing left to do */
			job_free(j);
			continue;
		}
		if (!j->direct && !is_sender(n)) {
			/* Not the sender now (a brief loss of writability, or a
			** new master, which sends it too): wait, do not send. */
			j->due_ms = now_ms + notify_retry_delay_ms(j->failures);
			j->next = n->retries;
			n->retries = j;
			n->nretries++;
			continue;
		}
		if (!notify_retry_allowed(j->msg_time, clock_wall_s())) {
			complete(n, j); /* rc still -1: failed for good */
			continue;
		}
		if (enqueue(n, j) < 0 && --f->pending == 0)
			settle(n, f);
	}
	retry_arm(n);
	return n->nretries;
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct notify *n = arg;

	notify_run_retries(n, clock_mono_ms());
}

/* ---- fan-out ---- */

char *
notify_alert_json(const struct db_message *m, const char *host_uuid, const char *host_name,
                  const char *sender)
{
	struct json_object *o = json_object_new_object();
	char when[32];
	time_t t = (time_t)m->timestamp;
	struct tm tm;
	char *s;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	json_object_object_add(o, "uuid", json_object_new_string(m->uuid));
	json_object_object_add(o, "name", json_object_new_string(m->name));
	json_object_object_add(o, "priority", json_object_new_int64(m->priority));
	json_object_object_add(o, "class", json_object_new_string(m->cls));
	json_object_object_add(o, "obj_uuid", json_object_new_string(m->obj_uuid));
	json_object_object_add(o, "timestamp", json_object_new_int64(m->timestamp));
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "body", json_object_new_string(m->body));
	json_object_object_add(o, "host_uuid", json_object_new_string(host_uuid));
	json_object_object_add(o, "host_name", json_object_new_string(host_name));
	json_object_object_add(o, "sender", json_object_new_string(sender));
	s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

/* The host an alert is about: the object of a Host alert, else this host. */
static void
alert_host(struct notify *n, const struct db_message *m, char uuid[HA_UUID_LEN], char *name,
           size_t namelen)
{
	struct db_host h;
	const char *u =
	    strcmp(m->cls, "Host") == 0 && m->obj_uuid[0] != '\0' ? m->obj_uuid : n->cfg->host_uuid;

	snprintf(uuid, HA_UUID_LEN, "%s", u);
	name[0] = '\0';
	if (db_host_get(n->db, u, &h) == 0) {
		snprintf(name, namelen, "%s", h.name_label[0] != '\0' ? h.name_label : h.hostname);
		db_host_clear(&h);
	}
	if (name[0] == '\0' && strcmp(u, n->cfg->host_uuid) == 0 && gethostname(name, namelen) < 0)
		name[0] = '\0';
}

static void
fill_target(struct snmp_trap_target *t, const struct db_snmp_receiver *r, const uint8_t *engine)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->address, sizeof(t->address), "%s", r->address);
	t->port = (unsigned)r->port;
	t->v3 = strcmp(r->version, "3") == 0;
	t->inform = r->inform;
	snprintf(t->community, sizeof(t->community), "%s", r->community);
	snprintf(t->user, sizeof(t->user), "%s", r->user);
	snprintf(t->auth_key, sizeof(t->auth_key), "%s", r->auth_key);
	snprintf(t->priv_key, sizeof(t->priv_key), "%s", r->priv_key);
	memcpy(t->engine_id, engine, SNMP_TRAP_ENGINE_ID_LEN);
	t->timeout_ms = 1000;
	/* An alert's inform: one attempt per job, retried by the loop
	** (retry_later); snmp-test answers at once: net-snmp's retries. */
	t->retries = r->inform ? 0 : 5;
}

static void
fill_alert(struct snmp_trap_alert *a, const struct db_message *m, const char *host_uuid,
           const char *host_name)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->uuid, sizeof(a->uuid), "%s", m->uuid);
	snprintf(a->host_uuid, sizeof(a->host_uuid), "%s", host_uuid);
	snprintf(a->host_name, sizeof(a->host_name), "%s", host_name);
	snprintf(a->cls, sizeof(a->cls), "%s", m->cls);
	snprintf(a->obj_uuid, sizeof(a->obj_uuid), "%s", m->obj_uuid);
	snprintf(a->name, sizeof(a->name), "%s", m->name);
	a->priority = m->priority;
	snprintf(a->body, sizeof(a->body), "%s", m->body);
	a->timestamp = m->timestamp;
}

static void
pool_engine(struct notify *n, uint8_t engine[SNMP_TRAP_ENGINE_ID_LEN])
{
	struct db_pool p;

	memset(engine, 0, SNMP_TRAP_ENGINE_ID_LEN);
	if (db_pool_get(n->db, &p) == 0) {
		if (snmp_trap_engine_id(p.uuid, engine, NULL, 0) < 0)
			memset(engine, 0, SNMP_TRAP_ENGINE_ID_LEN);
		db_pool_clear(&p);
	}
}

/* Queue one job per receiver and hook for message m, counted in f->pending
** before each is queued (the sink completes it at once); a dropped job is
** uncounted again. */
static void
fan_out(struct notify *n, struct inflight *f, const struct db_message *m,
        const struct db_snmp_receiver *rcv, size_t nrcv, const uint8_t *engine)
{
	char host_uuid[HA_UUID_LEN], host_name[256];
	size_t i;

	alert_host(n, m, host_uuid, host_name, sizeof(host_name));
	log_notice("alert %s %s (priority %" PRId64 ", %s %s): to %zu SNMP receiver(s) and %zu "
	           "hook(s)",
	           m->name, m->uuid, m->priority, m->cls, m->obj_uuid, nrcv, n->cfg->nhooks);
	n->stats.messages++;
	for (i = 0; i < nrcv; i++) {
		struct job *j = xcalloc(1, sizeof(*j));

		j->kind = NOTIFY_SNMP;
		snprintf(j->msg_uuid, sizeof(j->msg_uuid), "%s", m->uuid);
		snprintf(j->msg_name, sizeof(j->msg_name), "%s", m->name);
		snprintf(j->target_name, sizeof(j->target_name), "%s:%" PRId64, rcv[i].address,
		         rcv[i].port);
		fill_alert(&j->alert, m, host_uuid, host_name);
		fill_target(&j->target, &rcv[i], engine);
		j->msg_time = m->timestamp;
		j->direct = f->direct;
		f->pending++;
		if (enqueue(n, j) < 0)
			f->pending--;
	}
	for (i = 0; i < n->cfg->nhooks; i++) {
		struct job *j = xcalloc(1, sizeof(*j));

		j->kind = NOTIFY_HOOK;
		snprintf(j->msg_uuid, sizeof(j->msg_uuid), "%s", m->uuid);
		snprintf(j->msg_name, sizeof(j->msg_name), "%s", m->name);
		snprintf(j->target_name, sizeof(j->target_name), "%s", n->cfg->notify_hook[i]);
		j->timeout_ms = n->cfg->notify_hook_timeout_ms;
		j->json = notify_alert_json(m, host_uuid, host_name, n->cfg->host_uuid);
		j->direct = f->direct;
		f->pending++;
		if (enqueue(n, j) < 0)
			f->pending--;
	}
}

static int
is_sender(struct notify *n)
{
	return n->hooks.is_sender == NULL || n->hooks.is_sender(n->hooks.arg);
}

void
notify_scan(struct notify *n)
{
	struct db_message *m = NULL;
	struct db_snmp_receiver *rcv = NULL;
	uint8_t engine[SNMP_TRAP_ENGINE_ID_LEN];
	size_t nm = 0, nrcv = 0, i, k;
	int64_t now = clock_wall_s();
	int have_rcv = 0;

	if (!is_sender(n))
		return;
	if (db_message_unnotified(n->db, &m, &nm) < 0) {
		log_warnx("notify: cannot list messages: %s", db_errmsg(n->db));
		return;
	}
	/* In flight: gone from the list (marked, or deleted) -> forget it;
	** every job done but still unmarked -> write the marker again. */
	for (k = 0; k < n->nfl;) {
		int listed = 0;

		if (n->fl[k].direct) {
			k++; /* not stored yet, or stored marked: its own way */
			continue;
		}
		for (i = 0; i < nm && !listed; i++)
			listed = strcmp(m[i].uuid, n->fl[k].uuid) == 0;
		if (!listed) {
			n->fl[k] = n->fl[--n->nfl];
			continue;
		}
		if (n->fl[k].pending == 0)
			mark(n, n->fl[k].uuid);
		k++;
	}
	for (i = 0; i < nm; i++) {
		struct inflight *f;

		if (fl_find(n, m[i].uuid) != NULL)
			continue;
		if (m[i].timestamp < now - NOTIFY_MAX_AGE_S) {
			n->stats.stale++;
			log_notice("alert %s %s: older than %d s and never sent; marked, not sent",
			           m[i].name, m[i].uuid, NOTIFY_MAX_AGE_S);
			mark(n, m[i].uuid);
			continue;
		}
		if (n->nfl == NOTIFY_INFLIGHT)
			break; /* the rest at a later scan */
		if (!have_rcv) {
			if (db_snmp_receiver_list(n->db, &rcv, &nrcv) < 0) {
				log_warnx("notify: cannot list SNMP receivers: %s",
				          db_errmsg(n->db));
				break;
			}
			pool_engine(n, engine);
			have_rcv = 1;
		}
		f = &n->fl[n->nfl++];
		memset(f, 0, sizeof(*f));
		snprintf(f->uuid, sizeof(f->uuid), "%s", m[i].uuid);
		/* pending covers the fan-out itself, so that jobs completing
		** during it (the sink) cannot mark early. */
		f->pending = 1;
		fan_out(n, f, &m[i], rcv, nrcv, engine);
		if (--f->pending == 0)
			mark(n, f->uuid);
	}
	db_snmp_receiver_list_free(rcv, nrcv);
	xfree(m);
}

int
notify_direct(struct notify *n, const struct db_message *m)
{
	struct db_snmp_receiver *rcv = NULL;
	uint8_t engine[SNMP_TRAP_ENGINE_ID_LEN];
	struct inflight *f;
	size_t nrcv = 0;

	if (n == NULL || !id_uuid_valid(m->uuid))
		return -1;
	if (fl_find(n, m->uuid) != NULL)
		return 0; /* on its way already */
	if (m->timestamp < clock_wall_s() - NOTIFY_MAX_AGE_S) {
		n->stats.stale++;
		log_notice("alert %s %s: older than %d s and never sent; not sent", m->name,
		           m->uuid, NOTIFY_MAX_AGE_S);
		return 0;
	}
	if (n->nfl == NOTIFY_INFLIGHT)
		return -1;
	if (db_snmp_receiver_list(n->db, &rcv, &nrcv) < 0) {
		log_warnx("notify: cannot list SNMP receivers: %s", db_errmsg(n->db));
		return -1;
	}
	pool_engine(n, engine);
	log_notice("alert %s %s: no master stores it; sent by this host, its origin", m->name,
	           m->uuid);
	n->stats.direct++;
	f = &n->fl[n->nfl++];
	memset(f, 0, sizeof(*f));
	snprintf(f->uuid, sizeof(f->uuid), "%s", m->uuid);
	f->direct = 1;
	f->pending = 1; /* the fan-out itself, as in notify_scan */
	fan_out(n, f, m, rcv, nrcv, engine);
	if (--f->pending == 0)
		settle(n, f);
	db_snmp_receiver_list_free(rcv, nrcv);
	return 0;
}

int
notify_put_sent(struct db *db, struct db_message *m, const char *host)
{
	if (db_message_add(db, m) < 0)
		return -1;
	return db_message_mark_notified(db, m->uuid, host, clock_wall_s());
}

struct notify *
notify_process(void)
{
	return process_notifier;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct notify *n = arg;
	struct timeval tv = {NOTIFY_SCAN_MS / 1000, (NOTIFY_SCAN_MS % 1000) * 1000};

	notify_scan(n);
	evtimer_add(n->timer, &tv);
}

void
notify_db_hook(struct notify *n, enum db_table table, const char *uuid, enum db_change op)
{
	struct timeval now = {0, 0};

	if (n == NULL || table != DB_TABLE_MESSAGE || op != DB_CHANGE_ADD)
		return;
	/* Not from inside the hook: the scan writes (the marker). */
	if (n->timer != NULL) {
		evtimer_del(n->timer);
		evtimer_add(n->timer, &now);
	}
}

/* ---- snmp-test ---- */

int
notify_test(struct notify *n, notify_test_done done, void *arg)
{
	struct ntest *t = xcalloc(1, sizeof(*t));
	uint8_t engine[SNMP_TRAP_ENGINE_ID_LEN];
	struct db_message m;
	char host_uuid[HA_UUID_LEN], host_name[256];
	size_t i;

	if (db_snmp_receiver_list(n->db, &t->rcv, &t->n) < 0) {
		xfree(t);
		return -1;
	}
	t->done = done;
	t->arg = arg;
	t->res = xcalloc(t->n + 1, sizeof(*t->res));
	t->next = n->tests;
	n->tests = t;
	if (t->n == 0) {
		test_finish(n, t);
		return 0;
	}
	pool_engine(n, engine);
	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "HASVC_SNMP_TEST");
	m.priority = 5;
	snprintf(m.cls, sizeof(m.cls), "Host");
	snprintf(m.obj_uuid, sizeof(m.obj_uuid), "%s", n->cfg->host_uuid);
	m.timestamp = clock_wall_s();
	snprintf(m.body, sizeof(m.body), "hasvc SNMP test notification");
	alert_host(n, &m, host_uuid, host_name, sizeof(host_name));
	/* Every job is counted first: a queue-full drop or the sink
	** completes jobs during this loop. */
	t->pending = t->n + 1;
	for (i = 0; i < t->n; i++) {
		struct job *j = xcalloc(1, sizeof(*j));

		j->kind = NOTIFY_SNMP;
		j->test = t;
		j->index = i;
		snprintf(j->msg_name, sizeof(j->msg_name), "%s", m.name);
		snprintf(j->target_name, sizeof(j->target_name), "%s:%" PRId64, t->rcv[i].address,
		         t->rcv[i].port);
		fill_alert(&j->alert, &m, host_uuid, host_name);
		j->alert.test = 1;
		fill_target(&j->target, &t->rcv[i], engine);
		j->target.retries = 5;
		if (enqueue(n, j) < 0) {
			snprintf(t->res[i], sizeof(t->res[0]), "dropped: the SNMP queue is full");
			t->pending--;
		}
	}
	if (--t->pending == 0)
		test_finish(n, t);
	return 0;
}

void
notify_test_cancel(struct notify *n, void *arg)
{
	struct ntest *t;

	for (t = n->tests; t != NULL; t = t->next)
		if (t->arg == arg)
			t->done = NULL;
}

/* ---- life cycle ---- */

void
notify_set_sink(struct notify *n, notify_sink fn, void *arg)
{
	n->sink = fn;
	n->sink_arg = arg;
}

void
notify_get_stats(const struct notify *n, struct notify_stats *out)
{
	*out = n->stats;
}

struct notify *
notify_new(struct event_base *base, struct db *db, const struct config *cfg,
           const struct notify_hooks *hooks)
{
	struct notify *n = xcalloc(1, sizeof(*n));
	struct timeval first = {NOTIFY_SCAN_MS / 1000, (NOTIFY_SCAN_MS % 1000) * 1000};
	int k;

	n->base = base;
	n->db = db;
	n->cfg = cfg;
	n->pipe[0] = n->pipe[1] = -1;
	if (hooks != NULL)
		n->hooks = *hooks;
	snprintf(n->snmp_dir, sizeof(n->snmp_dir), "%s/snmp", cfg->data_dir);
	if (base == NULL)
		return n;
	if (pipe2(n->pipe, O_CLOEXEC) < 0)
		fatal("notify: pipe");
	if (fcntl(n->pipe[0], F_SETFL, O_NONBLOCK) < 0)
		fatal("notify: fcntl");
	n->done_ev = event_new(base, n->pipe[0], EV_READ | EV_PERSIST, on_done, n);
	event_add(n->done_ev, NULL);
	n->timer = evtimer_new(base, on_timer, n);
	n->retry_ev = evtimer_new(base, on_retry, n);
	evtimer_add(n->timer, &first);
	for (k = 0; k < 2; k++) {
		struct worker *w = &n->w[k];

		w->n = n;
		w->kind = (enum notify_kind)k;
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cv, NULL);
		errno = pthread_create(&w->th, NULL, worker_main, w);
		if (errno != 0)
			fatal("notify: cannot start a worker thread");
		w->started = 1;
	}
	process_notifier = n;
	return n;
}

void
notify_free(struct notify *n)
{
	struct job *j;
	size_t i;
	int k;

	if (n == NULL)
		return;
	if (process_notifier == n)
		process_notifier = NULL;
	for (k = 0; k < 2; k++) {
		struct worker *w = &n->w[k];

		if (!w->started)
			continue;
		pthread_mutex_lock(&w->mu);
		__atomic_store_n(&w->stop, 1, __ATOMIC_RELAXED);
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
		for (i = 0; i < w->len; i++)
			job_free(w->q[(w->head + i) % NOTIFY_QUEUE_MAX]);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
	}
	if (n->pipe[0] >= 0) {
		while (read(n->pipe[0], &j, sizeof(j)) == (ssize_t)sizeof(j))
			job_free(j);
		close(n->pipe[0]);
		close(n->pipe[1]);
	}
	while ((j = n->retries) != NULL) {
		n->retries = j->next;
		job_free(j);
	}
	while (n->tests != NULL) {
		n->tests->done = NULL;
		test_finish(n, n->tests);
	}
	if (n->done_ev != NULL)
		event_free(n->done_ev);
	if (n->timer != NULL)
		event_free(n->timer);
	if (n->retry_ev != NULL)
		event_free(n->retry_ev);
	xfree(n);
}
