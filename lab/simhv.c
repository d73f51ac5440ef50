/*
** The simhv server: one simulated host's hypervisor (docs/simhv.md).
**
** One single-threaded poll() loop owns all state: the domains, the memory
** accounting, the watchdog, the registered pids and the power state.  Timers
** (domain boot, clean shutdown, watchdog, power-on) are CLOCK_MONOTONIC
** deadlines checked after every poll().
**
** Invariants:
**  - a domain is "live" (booting, running, shutting-down) exactly between its
**    ledger "start" line and its ledger "stop" line; SHUTDOWN and CRASHED
**    domains are no longer live but keep their memory until destroyed;
**  - Σ domain memory <= memory − dom0 at all times;
**  - while the host is powered off there are no domains, no registered pids
**    and no armed watchdog.
**
** Client sockets are non-blocking with an output queue: a stopped client (a
** SIGSTOPped hasvcd) must never block the loop, or the watchdog of its host
** would never fire.  A client that lets its queue grow past OUT_MAX, or sends
** a malformed message, is disconnected.
*/
#include <errno.h>
#include <glob.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab/simhv.h"
#include "lib/check.h"
#include "lib/clock.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/simhv_proto.h"
#include "lib/xmalloc.h"

#define MAX_CONNS 64
#define MAX_PIDS 64
#define OUT_MAX (1u << 20)

struct dom {
	struct simhv_domain d;
	uint64_t due_ms; /* booting: boot completes; shutting-down: shutdown completes */
};

struct pidrec {
	pid_t pid;
	unsigned long long start; /* /proc/PID/stat starttime at registration */
};

struct conn {
	int fd;
	int dead;
	int subscribed;
	char name[SIMHV_HOST_LEN];
	uint32_t pid;
	struct simhv_reader *rd;
	uint8_t *out;
	size_t outlen, outcap;
};

struct server {
	const struct simhv_config *cfg;
	int lfd, sigfd, ledgerfd;
	struct conn *conns[MAX_CONNS];
	size_t nconns;
	struct dom doms[SIMHV_MAX_DOMAINS];
	size_t ndoms;
	struct pidrec pids[MAX_PIDS];
	size_t npids;

	int powered_on;
	uint64_t power_on_at; /* ms; 0: no power-on scheduled */
	int wd_armed;
	uint32_t wd_timeout_ms;
	uint64_t wd_deadline;

	uint32_t resets;
	int64_t last_reset_wall;
	uint64_t last_reset_mono_ns;
	char last_reason[SIMHV_REASON_LEN];
	char reset_pending[SIMHV_REASON_LEN]; /* SELF_RESET: done after the reply */
	int reset_requested;

	unsigned long bad_msgs;
	int exiting;
};

void
simhv_config_defaults(struct simhv_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->memory_mib = 16384;
	cfg->dom0_mib = 1024;
	cfg->cpus = 16;
	cfg->boot_ms = 200;
	cfg->shutdown_ms = 200;
	cfg->power_on_delay_ms = -1;
}

static const char *
client_name(const struct conn *c)
{
	return c->name[0] ? c->name : "anonymous";
}

static int
dom_live(const struct dom *d)
{
	return d->d.state == SIMHV_DOM_BOOTING || d->d.state == SIMHV_DOM_RUNNING ||
	       d->d.state == SIMHV_DOM_SHUTTING_DOWN;
}

static struct dom *
dom_find(struct server *s, const char *uuid)
{
	size_t i;

	for (i = 0; i < s->ndoms; i++)
		if (strcasecmp(s->doms[i].d.uuid, uuid) == 0)
			return &s->doms[i];
	return NULL;
}

static uint64_t
guest_memory(const struct server *s)
{
	return (s->cfg->memory_mib - s->cfg->dom0_mib) << 20;
}

static uint64_t
memory_used(const struct server *s)
{
	uint64_t used = 0;
	size_t i;

	for (i = 0; i < s->ndoms; i++)
		used += s->doms[i].d.memory;
	return used;
}

/*
** The ledger: one line per domain start, stop or end of boot (`running`,
** which has no reason: reason NULL), written with one write() on an O_APPEND
** descriptor so that lines of all simulated hosts interleave whole.  A ledger
** that cannot be written makes the audit meaningless: fatal.
*/
static void
ledger_append(struct server *s, const char *uuid, const char *what, const char *reason)
{
	char line[256];
	int n;
	ssize_t w;

	if (s->ledgerfd < 0)
		return;
	if (reason)
		n = snprintf(line, sizeof(line), "%" PRIu64 " %s %s %s %s\n", clock_mono_ns(),
			     s->cfg->host, uuid, what, reason);
	else
		n = snprintf(line, sizeof(line), "%" PRIu64 " %s %s %s\n", clock_mono_ns(),
			     s->cfg->host, uuid, what);
	ha_assert(n > 0 && (size_t)n < sizeof(line));
	do
		w = write(s->ledgerfd, line, (size_t)n);
	while (w < 0 && errno == EINTR);
	if (w != n)
		fatal("host %s: writing the ledger %s failed", s->cfg->host, s->cfg->ledger_path);
}

/* Output: queue, then write what the socket takes now. */
static void
conn_flush(struct conn *c)
{
	ssize_t n;

	while (c->outlen > 0 && !c->dead) {
		n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			log_debug("client %s: send: %s; closing", client_name(c), strerror(errno));
			c->dead = 1;
			return;
		}
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
	}
}

static void
conn_send(struct conn *c, const struct simhv_msg *m)
{
	uint8_t *buf;
	ssize_t len;

	if (c->dead)
		return;
	buf = xmalloc(SIMHV_MSG_MAX);
	len = simhv_msg_encode(m, buf, SIMHV_MSG_MAX);
	ha_assert(len > 0);
	if (c->outlen + (size_t)len > OUT_MAX) {
		log_warnx("client %s: %zu bytes unread; disconnecting it", client_name(c),
			  c->outlen);
		c->dead = 1;
		goto out;
	}
	if (c->outlen + (size_t)len > c->outcap) {
		c->outcap = c->outlen + (size_t)len + 4096;
		c->out = xrealloc(c->out, c->outcap);
	}
	memcpy(c->out + c->outlen, buf, (size_t)len);
	c->outlen += (size_t)len;
	conn_flush(c);
out:
	xfree(buf);
}

static void
emit_event(struct server *s, unsigned kind, const char *uuid, const char *reason)
{
	struct simhv_msg ev;
	size_t i;

	memset(&ev, 0, sizeof(ev));
	ev.type = SIMHV_EVENT;
	ev.u.event.kind = (uint16_t)kind;
	snprintf(ev.u.event.uuid, sizeof(ev.u.event.uuid), "%s", uuid);
	snprintf(ev.u.event.reason, sizeof(ev.u.event.reason), "%s", reason);
	log_info("host %s: vm %s: event %s (%s)", s->cfg->host, uuid, simhv_event_name(kind),
		 reason);
	for (i = 0; i < s->nconns; i++)
		if (s->conns[i]->subscribed)
			conn_send(s->conns[i], &ev);
}

/* The domain stops running: ledger, new state (or removal), event. */
static void
dom_stop(struct server *s, struct dom *d, const char *reason, uint8_t new_state, unsigned kind)
{
	char uuid[HA_UUID_LEN];
	size_t i = (size_t)(d - s->doms);

	memcpy(uuid, d->d.uuid, sizeof(uuid));
	if (dom_live(d))
		ledger_append(s, uuid, "stop", reason);
	log_notice("host %s: vm %s: %s -> %s (%s)", s->cfg->host, uuid,
		   simhv_dom_state_name(d->d.state), new_state ? simhv_dom_state_name(new_state) : "gone",
		   reason);
	if (new_state) {
		d->d.state = new_state;
		d->due_ms = 0;
	} else {
		memmove(&s->doms[i], &s->doms[i + 1], (s->ndoms - i - 1) * sizeof(s->doms[0]));
		s->ndoms--;
	}
	emit_event(s, kind, uuid, reason);
}

/* starttime (field 22) of /proc/PID/stat, or 0 if the process is gone. */
static unsigned long long
proc_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: fields restart after
	** the last ')'.  Field 3 (state) follows it. */
	p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	p++;
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p + 1, ' ');
	}
	if (p == NULL || sscanf(p, " %llu", &start) != 1)
		return 0;
	return start;
}

static void
run_power_on_command(struct server *s)
{
	sigset_t none;
	pid_t pid;

	if (s->cfg->on_power_on == NULL)
		return;
	pid = fork();
	if (pid < 0) {
		log_warn("host %s: cannot fork for --on-power-on", s->cfg->host);
		return;
	}
	if (pid == 0) {
		/* simhv blocks the signals it reads through its signalfd: the
		** command (a hasvcd, typically) must not inherit that. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", s->cfg->on_power_on, (char *)NULL);
		_exit(127);
	}
	log_notice("host %s: ran --on-power-on (pid %d): %s", s->cfg->host, (int)pid,
		   s->cfg->on_power_on);
}

static void
power_on(struct server *s)
{
	s->powered_on = 1;
	s->power_on_at = 0;
	log_notice("host %s: powered on", s->cfg->host);
	run_power_on_command(s);
}

static void
write_reset_record(struct server *s)
{
	char path[4096], line[512], when[64];
	time_t t = (time_t)s->last_reset_wall;
	struct tm tm;
	int fd, n;

	if (s->cfg->state_dir == NULL)
		return;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(path, sizeof(path), "%s/resets.log", s->cfg->state_dir);
	n = snprintf(line, sizeof(line), "%s mono_ns=%" PRIu64 " host=%s reset %u: %s\n", when,
		     s->last_reset_mono_ns, s->cfg->host, s->resets, s->last_reason);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1, line[n - 1] = '\n';
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, (size_t)n) != n)
		log_warn("host %s: cannot record the reset in %s", s->cfg->host, path);
	if (fd >= 0)
		close(fd);
}

/*
** Reset the host, as a hardware watchdog or a self-fence would: kill its
** processes first (they must not act on a half-reset host), then halt every
** domain, record why, and power off.
*/
/* A real reset clears tmpfs; the simulated one clears what a killed process
** left in /dev/shm (libqb's blackbox ring, "qb-NAME-PID-blackbox-*"), which
** it can no longer remove itself. */
static void
clear_shm(pid_t pid)
{
	char pattern[64];
	glob_t g;
	size_t i;

	snprintf(pattern, sizeof(pattern), "/dev/shm/qb-*-%d-blackbox-*", (int)pid);
	if (glob(pattern, 0, NULL, &g) != 0)
		return;
	for (i = 0; i < g.gl_pathc; i++)
		unlink(g.gl_pathv[i]);
	globfree(&g);
}

static void
host_reset(struct server *s, const char *reason)
{
	size_t i;

	log_notice("host %s: RESET (%s): killing %zu registered processes, halting %zu domains",
		   s->cfg->host, reason, s->npids, s->ndoms);
	for (i = 0; i < s->npids; i++) {
		unsigned long long now_start = proc_start_time(s->pids[i].pid);

		if (now_start == 0 || now_start != s->pids[i].start) {
			log_info("host %s: pid %d is gone or reused; not killing it", s->cfg->host,
				 (int)s->pids[i].pid);
			continue;
		}
		if (kill(s->pids[i].pid, SIGKILL) < 0) {
			log_warn("host %s: kill %d", s->cfg->host, (int)s->pids[i].pid);
		} else {
			log_info("host %s: killed pid %d", s->cfg->host, (int)s->pids[i].pid);
			clear_shm(s->pids[i].pid);
		}
	}
	s->npids = 0;
	while (s->ndoms > 0)
		dom_stop(s, &s->doms[s->ndoms - 1], "host-reset", 0, SIMHV_EV_DIED);
	s->wd_armed = 0;
	s->wd_deadline = 0;
	s->resets++;
	s->last_reset_wall = clock_wall_s();
	s->last_reset_mono_ns = clock_mono_ns();
	snprintf(s->last_reason, sizeof(s->last_reason), "%s", reason);
	write_reset_record(s);
	s->powered_on = 0;
	if (s->cfg->power_on_delay_ms >= 0) {
		s->power_on_at = clock_mono_ms() + (uint64_t)s->cfg->power_on_delay_ms;
		log_notice("host %s: powered off; powering on in %" PRId64 " ms", s->cfg->host,
			   s->cfg->power_on_delay_ms);
	} else {
		log_notice("host %s: powered off until POWER_ON", s->cfg->host);
	}
}

/*
** Request handlers, in a table indexed by type.  Each fills reply->u.reply:
** status 0 and, for some types, a body; or an errno and a sentence.
*/
typedef void (*handler_fn)(struct server *s, struct conn *c, const struct simhv_msg *req,
			   struct simhv_msg *reply);

static void fail(struct simhv_msg *reply, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
fail(struct simhv_msg *reply, int err, const char *fmt, ...)
{
	va_list ap;

	reply->u.reply.status = (uint32_t)err;
	va_start(ap, fmt);
	vsnprintf(reply->u.reply.message, sizeof(reply->u.reply.message), fmt, ap);
	va_end(ap);
}

static void
ok(struct simhv_msg *reply, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
ok(struct simhv_msg *reply, const char *fmt, ...)
{
	va_list ap;

	reply->u.reply.status = 0;
	va_start(ap, fmt);
	vsnprintf(reply->u.reply.message, sizeof(reply->u.reply.message), fmt, ap);
	va_end(ap);
}

static void
h_hello(struct server *s, struct conn *c, const struct simhv_msg *req, struct simhv_msg *reply)
{
	char *p;

	snprintf(c->name, sizeof(c->name), "%s", req->u.hello.name);
	for (p = c->name; *p; p++)
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			*p = '_';
	c->pid = req->u.hello.pid;
	log_debug("host %s: client %s (pid %u) connected", s->cfg->host, client_name(c), c->pid);
	ok(reply, "hello %s, this is simhv of host %s", client_name(c), s->cfg->host);
	snprintf(reply->u.reply.u.hello.host, sizeof(reply->u.reply.u.hello.host), "%s",
		 s->cfg->host);
	reply->u.reply.u.hello.pid = (uint32_t)getpid();
}

static void
h_register_pid(struct server *s, struct conn *c, const struct simhv_msg *req,
	       struct simhv_msg *reply)
{
	pid_t pid = (pid_t)req->u.pid.pid;
	unsigned long long start;
	size_t i, j;

	if (req->u.pid.pid == 0 || req->u.pid.pid > INT32_MAX || pid == 1 || pid == getpid()) {
		fail(reply, EINVAL, "pid %u cannot be registered", req->u.pid.pid);
		return;
	}
	start = proc_start_time(pid);
	if (start == 0) {
		fail(reply, ENOENT, "no process %d", (int)pid);
		return;
	}
	/* Forget processes that have gone since they registered. */
	for (i = j = 0; i < s->npids; i++)
		if (proc_start_time(s->pids[i].pid) == s->pids[i].start && s->pids[i].pid != pid)
			s->pids[j++] = s->pids[i];
	s->npids = j;
	if (s->npids == MAX_PIDS) {
		fail(reply, ENOMEM, "too many registered processes (%d)", MAX_PIDS);
		return;
	}
	s->pids[s->npids].pid = pid;
	s->pids[s->npids].start = start;
	s->npids++;
	log_info("host %s: pid %d registered by %s: killed on reset", s->cfg->host, (int)pid,
		 client_name(c));
	ok(reply, "pid %d belongs to host %s", (int)pid, s->cfg->host);
}

static void
h_host_info(struct server *s, struct conn *c, const struct simhv_msg *req,
	    struct simhv_msg *reply)
{
	struct simhv_host_info *i = &reply->u.reply.u.info;

	ok(reply, "host %s", s->cfg->host);
	snprintf(i->host, sizeof(i->host), "%s", s->cfg->host);
	i->memory_total = s->cfg->memory_mib << 20;
	i->memory_free = guest_memory(s) - memory_used(s);
	i->cpus = s->cfg->cpus;
	i->powered_on = (uint8_t)s->powered_on;
	i->resets = s->resets;
}

static void
h_list(struct server *s, struct conn *c, const struct simhv_msg *req, struct simhv_msg *reply)
{
	size_t i;

	ok(reply, "%zu domains", s->ndoms);
	reply->u.reply.u.list.n = (uint32_t)s->ndoms;
	for (i = 0; i < s->ndoms; i++)
		reply->u.reply.u.list.d[i] = s->doms[i].d;
}

static void
h_start(struct server *s, struct conn *c, const struct simhv_msg *req, struct simhv_msg *reply)
{
	uint64_t now = clock_mono_ms(), free_mem = guest_memory(s) - memory_used(s);
	const char *uuid = req->u.start.uuid;
	struct dom *d;

	if (!id_uuid_valid(uuid)) {
		fail(reply, EINVAL, "'%s' is not a VM uuid", uuid);
		return;
	}
	if (req->u.start.memory == 0 || req->u.start.vcpus == 0) {
		fail(reply, EINVAL, "vm %s: memory and vcpus must be positive", uuid);
		return;
	}
	if (dom_find(s, uuid)) {
		fail(reply, EEXIST, "vm %s: a domain with this uuid exists on host %s", uuid,
		     s->cfg->host);
		return;
	}
	if (req->u.start.memory > free_mem) {
		fail(reply, ENOMEM, "vm %s: needs %" PRIu64 " MiB, host %s has %" PRIu64 " MiB free",
		     uuid, req->u.start.memory >> 20, s->cfg->host, free_mem >> 20);
		return;
	}
	if (s->ndoms == SIMHV_MAX_DOMAINS) {
		fail(reply, ENOMEM, "vm %s: host %s runs the most domains it can (%d)", uuid,
		     s->cfg->host, SIMHV_MAX_DOMAINS);
		return;
	}
	d = &s->doms[s->ndoms++];
	memset(d, 0, sizeof(*d));
	snprintf(d->d.uuid, sizeof(d->d.uuid), "%s", uuid);
	snprintf(d->d.name, sizeof(d->d.name), "%s", req->u.start.name);
	d->d.memory = req->u.start.memory;
	d->d.vcpus = req->u.start.vcpus;
	d->d.state = SIMHV_DOM_BOOTING;
	d->due_ms = now + s->cfg->boot_ms;
	ledger_append(s, d->d.uuid, "start", client_name(c));
	log_notice("host %s: vm %s: created (%s, %" PRIu64 " MiB, %u vcpus) by %s", s->cfg->host,
		   uuid, d->d.name, d->d.memory >> 20, d->d.vcpus, client_name(c));
	ok(reply, "vm %s: domain created on host %s", uuid, s->cfg->host);
}

/* Common part of the per-domain requests: the domain, or NULL and a reply. */
static struct dom *
need_dom(struct server *s, const struct simhv_msg *req, struct simhv_msg *reply)
{
	struct dom *d = dom_find(s, req->u.dom.uuid);

	if (d == NULL)
		fail(reply, ENOENT, "vm %s: no such domain on host %s", req->u.dom.uuid,
		     s->cfg->host);
	return d;
}

static void
h_shutdown(struct server *s, struct conn *c, const struct simhv_msg *req,
	   struct simhv_msg *reply)
{
	struct dom *d = need_dom(s, req, reply);

	if (d == NULL)
		return;
	if (!dom_live(d)) {
		fail(reply, EINVAL, "vm %s: domain is %s, not running", d->d.uuid,
		     simhv_dom_state_name(d->d.state));
		return;
	}
	if (d->d.state != SIMHV_DOM_SHUTTING_DOWN) {
		d->d.state = SIMHV_DOM_SHUTTING_DOWN;
		d->due_ms = clock_mono_ms() + s->cfg->shutdown_ms;
		log_notice("host %s: vm %s: shutting down (asked by %s)", s->cfg->host, d->d.uuid,
			   client_name(c));
	}
	ok(reply, "vm %s: shutting down", d->d.uuid);
}

static void
h_destroy(struct server *s, struct conn *c, const struct simhv_msg *req, struct simhv_msg *reply)
{
	struct dom *d = need_dom(s, req, reply);

	if (d == NULL)
		return;
	ok(reply, "vm %s: destroyed", d->d.uuid);
	dom_stop(s, d, "destroy", 0, SIMHV_EV_DIED);
}

static void
h_crash(struct server *s, struct conn *c, const struct simhv_msg *req, struct simhv_msg *reply)
{
	struct dom *d = need_dom(s, req, reply);

	if (d == NULL)
		return;
	if (!dom_live(d)) {
		fail(reply, EINVAL, "vm %s: domain is %s, not running", d->d.uuid,
		     simhv_dom_state_name(d->d.state));
		return;
	}
	ok(reply, "vm %s: crashed", d->d.uuid);
	dom_stop(s, d, "crashed", SIMHV_DOM_CRASHED, SIMHV_EV_CRASHED);
}

static void
h_guest_shutdown(struct server *s, struct conn *c, const struct simhv_msg *req,
		 struct simhv_msg *reply)
{
	struct dom *d = need_dom(s, req, reply);

	if (d == NULL)
		return;
	if (!dom_live(d)) {
		fail(reply, EINVAL, "vm %s: domain is %s, not running", d->d.uuid,
		     simhv_dom_state_name(d->d.state));
		return;
	}
	ok(reply, "vm %s: the guest shut itself down", d->d.uuid);
	dom_stop(s, d, "guest-shutdown", SIMHV_DOM_SHUTDOWN, SIMHV_EV_DIED);
}

static void
h_wd_arm(struct server *s, struct conn *c, const struct simhv_msg *req, struct simhv_msg *reply)
{
	if (req->u.wd.timeout_ms == 0) {
		fail(reply, EINVAL, "watchdog timeout must be positive");
		return;
	}
	if (!s->wd_armed || s->wd_timeout_ms != req->u.wd.timeout_ms)
		log_notice("host %s: watchdog armed, %u ms, by %s", s->cfg->host,
			   req->u.wd.timeout_ms, client_name(c));
	s->wd_armed = 1;
	s->wd_timeout_ms = req->u.wd.timeout_ms;
	s->wd_deadline = clock_mono_ms() + req->u.wd.timeout_ms;
	ok(reply, "watchdog armed: %u ms", s->wd_timeout_ms);
}

static void
h_wd_pet(struct server *s, struct conn *c, const struct simhv_msg *req, struct simhv_msg *reply)
{
	if (!s->wd_armed) {
		fail(reply, EINVAL, "watchdog of host %s is not armed", s->cfg->host);
		return;
	}
	s->wd_deadline = clock_mono_ms() + s->wd_timeout_ms;
	ok(reply, "watchdog petted");
}

static void
h_wd_disarm(struct server *s, struct conn *c, const struct simhv_msg *req,
	    struct simhv_msg *reply)
{
	if (s->wd_armed)
		log_notice("host %s: watchdog disarmed by %s", s->cfg->host, client_name(c));
	s->wd_armed = 0;
	s->wd_deadline = 0;
	ok(reply, "watchdog disarmed");
}

static void
h_self_reset(struct server *s, struct conn *c, const struct simhv_msg *req,
	     struct simhv_msg *reply)
{
	snprintf(s->reset_pending, sizeof(s->reset_pending), "self-reset: %s",
		 req->u.reset.reason);
	s->reset_requested = 1;
	ok(reply, "host %s resets now", s->cfg->host);
}

static void
h_subscribe(struct server *s, struct conn *c, const struct simhv_msg *req,
	    struct simhv_msg *reply)
{
	c->subscribed = 1;
	ok(reply, "subscribed to the events of host %s", s->cfg->host);
}

static void
h_power_on(struct server *s, struct conn *c, const struct simhv_msg *req,
	   struct simhv_msg *reply)
{
	if (s->powered_on) {
		ok(reply, "host %s is already on", s->cfg->host);
		return;
	}
	ok(reply, "host %s powered on", s->cfg->host);
	power_on(s);
}

static void
h_status(struct server *s, struct conn *c, const struct simhv_msg *req, struct simhv_msg *reply)
{
	struct simhv_status *st = &reply->u.reply.u.status;

	ok(reply, "host %s is %s", s->cfg->host, s->powered_on ? "on" : "off");
	st->powered_on = (uint8_t)s->powered_on;
	st->resets = s->resets;
	st->last_reset_wall = s->last_reset_wall;
	st->last_reset_mono_ns = s->last_reset_mono_ns;
	memcpy(st->last_reason, s->last_reason, sizeof(st->last_reason));
	st->wd_armed = (uint8_t)s->wd_armed;
	st->wd_timeout_ms = s->wd_timeout_ms;
	st->ndomains = (uint32_t)s->ndoms;
	st->npids = (uint32_t)s->npids;
}

static const struct {
	handler_fn fn;
	int while_off; /* allowed while the host is powered off */
} handlers[SIMHV_TYPE_END] = {
	[SIMHV_HELLO] = {h_hello, 1},
	[SIMHV_REGISTER_PID] = {h_register_pid, 0},
	[SIMHV_HOST_INFO] = {h_host_info, 1},
	[SIMHV_LIST_DOMAINS] = {h_list, 1},
	[SIMHV_START] = {h_start, 0},
	[SIMHV_SHUTDOWN] = {h_shutdown, 0},
	[SIMHV_DESTROY] = {h_destroy, 0},
	[SIMHV_WD_ARM] = {h_wd_arm, 0},
	[SIMHV_WD_PET] = {h_wd_pet, 0},
	[SIMHV_WD_DISARM] = {h_wd_disarm, 0},
	[SIMHV_SELF_RESET] = {h_self_reset, 0},
	[SIMHV_SUBSCRIBE] = {h_subscribe, 1},
	[SIMHV_CRASH_DOMAIN] = {h_crash, 0},
	[SIMHV_GUEST_SHUTDOWN] = {h_guest_shutdown, 0},
	[SIMHV_POWER_ON] = {h_power_on, 1},
	[SIMHV_STATUS] = {h_status, 1},
};

static void
dispatch(struct server *s, struct conn *c, const struct simhv_msg *req)
{
	struct simhv_msg *reply;

	if (req->type >= SIMHV_TYPE_END || handlers[req->type].fn == NULL) {
		/* EVENT or REPLY from a client: well-formed, but not a request. */
		s->bad_msgs++;
		log_warnx("host %s: client %s sent a %s, not a request; closing (%lu bad messages)",
			  s->cfg->host, client_name(c), simhv_type_name(req->type), s->bad_msgs);
		c->dead = 1;
		return;
	}
	reply = xcalloc(1, sizeof(*reply));
	reply->type = SIMHV_REPLY;
	reply->seq = req->seq;
	reply->u.reply.req = req->type;
	if (!s->powered_on && !handlers[req->type].while_off)
		fail(reply, EHOSTDOWN, "host %s is powered off", s->cfg->host);
	else
		handlers[req->type].fn(s, c, req, reply);
	log_debug("host %s: %s from %s: %s (%s)", s->cfg->host, simhv_type_name(req->type),
		  client_name(c), reply->u.reply.status ? strerror((int)reply->u.reply.status) : "ok",
		  reply->u.reply.message);
	conn_send(c, reply);
	xfree(reply);
	if (s->reset_requested) {
		s->reset_requested = 0;
		host_reset(s, s->reset_pending);
	}
}

static void
conn_read(struct server *s, struct conn *c)
{
	struct simhv_msg *m = xmalloc(sizeof(*m));
	ssize_t n;
	int rc;

	n = simhv_reader_fill(c->rd, c->fd);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
		log_debug("host %s: client %s disconnected", s->cfg->host, client_name(c));
		c->dead = 1;
		goto out;
	}
	while (!c->dead && (rc = simhv_reader_next(c->rd, m)) != 0) {
		if (rc < 0) {
			s->bad_msgs++;
			log_warnx("host %s: malformed message from client %s; closing it (%lu bad "
				  "messages)",
				  s->cfg->host, client_name(c), s->bad_msgs);
			c->dead = 1;
			break;
		}
		dispatch(s, c, m);
	}
out:
	xfree(m);
}

static void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	xfree(c->rd);
	xfree(c->out);
	xfree(c);
}

static void
reap_dead_conns(struct server *s)
{
	size_t i, j;

	for (i = j = 0; i < s->nconns; i++) {
		if (s->conns[i]->dead)
			conn_free(s->conns[i]);
		else
			s->conns[j++] = s->conns[i];
	}
	s->nconns = j;
}

static void
do_accept(struct server *s)
{
	struct conn *c;
	int fd;

	fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("host %s: accept", s->cfg->host);
		return;
	}
	if (s->nconns == MAX_CONNS) {
		log_warnx("host %s: %d clients already; refusing one", s->cfg->host, MAX_CONNS);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->rd = xcalloc(1, sizeof(*c->rd));
	s->conns[s->nconns++] = c;
}

static void
read_signals(struct server *s)
{
	struct signalfd_siginfo si;
	int status;
	pid_t pid;

	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
				log_debug("host %s: child %d exited (status %d)", s->cfg->host,
					  (int)pid, status);
		} else {
			log_notice("host %s: signal %d; exiting", s->cfg->host, (int)si.ssi_signo);
			s->exiting = 1;
		}
	}
}

/* Fire every timer that is due. */
static void
run_timers(struct server *s, uint64_t now)
{
	size_t i;

	if (s->wd_armed && now >= s->wd_deadline) {
		log_warnx("host %s: watchdog not petted within %u ms", s->cfg->host,
			  s->wd_timeout_ms);
		host_reset(s, "watchdog timeout");
	}
	if (!s->powered_on && s->power_on_at && now >= s->power_on_at)
		power_on(s);
	for (i = 0; i < s->ndoms; i++) {
		struct dom *d = &s->doms[i];

		if (d->due_ms == 0 || now < d->due_ms)
			continue;
		if (d->d.state == SIMHV_DOM_BOOTING) {
			d->d.state = SIMHV_DOM_RUNNING;
			d->due_ms = 0;
			ledger_append(s, d->d.uuid, "running", NULL);
			log_notice("host %s: vm %s: booting -> running", s->cfg->host, d->d.uuid);
			emit_event(s, SIMHV_EV_STARTED, d->d.uuid, "booted");
		} else if (d->d.state == SIMHV_DOM_SHUTTING_DOWN) {
			dom_stop(s, d, "shutdown", 0, SIMHV_EV_DIED);
			i--; /* the array moved down by one */
		} else {
			d->due_ms = 0;
		}
	}
}

static int
next_timeout(const struct server *s, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	size_t i;

	if (s->wd_armed)
		next = s->wd_deadline;
	if (!s->powered_on && s->power_on_at && s->power_on_at < next)
		next = s->power_on_at;
	for (i = 0; i < s->ndoms; i++)
		if (s->doms[i].due_ms && s->doms[i].due_ms < next)
			next = s->doms[i].due_ms;
	if (next == UINT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	return next - now > 60000 ? 60000 : (int)(next - now);
}

static int
open_socket(const struct simhv_config *cfg)
{
	struct sockaddr_un sa;
	struct stat st;
	char err[256];
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(cfg->socket_path) >= sizeof(sa.sun_path)) {
		log_errx("socket path %s is too long", cfg->socket_path);
		return -1;
	}
	strcpy(sa.sun_path, cfg->socket_path);
	if (stat(cfg->socket_path, &st) == 0) {
		fd = simhv_connect(cfg->socket_path, err, sizeof(err));
		if (fd >= 0) {
			close(fd);
			log_errx("another simhv is serving %s", cfg->socket_path);
			return -1;
		}
		if (!S_ISSOCK(st.st_mode)) {
			log_errx("%s exists and is not a socket", cfg->socket_path);
			return -1;
		}
		unlink(cfg->socket_path); /* stale, from a simhv that died */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("socket");
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 32) < 0) {
		log_err("cannot listen on %s", cfg->socket_path);
		close(fd);
		return -1;
	}
	return fd;
}

int
simhv_run(const struct simhv_config *cfg)
{
	struct server *s = xcalloc(1, sizeof(*s));
	struct pollfd *pfd = xcalloc(MAX_CONNS + 2, sizeof(*pfd));
	sigset_t mask;
	int rc = 1;
	size_t i;

	s->cfg = cfg;
	s->lfd = s->sigfd = s->ledgerfd = -1;
	s->powered_on = 1;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (s->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		log_err("signalfd");
		goto fail;
	}
	if (cfg->ledger_path) {
		s->ledgerfd = open(cfg->ledger_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (s->ledgerfd < 0) {
			log_err("cannot open the ledger %s", cfg->ledger_path);
			goto fail;
		}
	}
	s->lfd = open_socket(cfg);
	if (s->lfd < 0)
		goto fail;
	log_notice("host %s: simhv serving %s: %" PRIu64 " MiB (dom0 %" PRIu64
		   " MiB), %u cpus, boot %u ms, shutdown %u ms, power-on delay %" PRId64 " ms",
		   cfg->host, cfg->socket_path, cfg->memory_mib, cfg->dom0_mib, cfg->cpus,
		   cfg->boot_ms, cfg->shutdown_ms, cfg->power_on_delay_ms);

	while (!s->exiting) {
		int timeout = next_timeout(s, clock_mono_ms()), n;

		pfd[0] = (struct pollfd){.fd = s->sigfd, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
		for (i = 0; i < s->nconns; i++) {
			pfd[2 + i].fd = s->conns[i]->fd;
			pfd[2 + i].events = (short)(POLLIN | (s->conns[i]->outlen ? POLLOUT : 0));
			pfd[2 + i].revents = 0;
		}
		n = poll(pfd, 2 + s->nconns, timeout);
		if (n < 0 && errno != EINTR) {
			log_err("poll");
			goto fail;
		}
		/* Timers first: a busy client must not delay the watchdog. */
		run_timers(s, clock_mono_ms());
		if (n > 0) {
			size_t nc = s->nconns; /* accepted connections wait a round */

			if (pfd[0].revents)
				read_signals(s);
			for (i = 0; i < nc; i++) {
				struct conn *c = s->conns[i];

				if (pfd[2 + i].revents & POLLOUT)
					conn_flush(c);
				if (pfd[2 + i].revents & (POLLIN | POLLHUP | POLLERR))
					conn_read(s, c);
			}
			if (pfd[1].revents)
				do_accept(s);
		}
		reap_dead_conns(s);
	}
	rc = 0;
	log_notice("host %s: simhv exits (%lu malformed messages seen)", cfg->host, s->bad_msgs);
fail:
	for (i = 0; i < s->nconns; i++)
		conn_free(s->conns[i]);
	if (s->lfd >= 0) {
		close(s->lfd);
		unlink(cfg->socket_path);
	}
	if (s->ledgerfd >= 0)
		close(s->ledgerfd);
	if (s->sigfd >= 0)
		close(s->sigfd);
	xfree(pfd);
	xfree(s);
	return rc;
}
