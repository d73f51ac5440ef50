/*
** The corosync adapter (heartbeat/cpg.c) against a real corosync 3: a
** one-node cluster (ring0_addr 127.0.0.1, knet, token 500, coefficient 0)
** in a private network namespace hasvc-tcpg-<pid> with a private /run, its
** log and state in a temp dir.  This process enters that namespace with
** setns() before anything else (corosync's IPC sockets are abstract unix
** sockets, one set per namespace).
**
** The tests run in order on the one corosync: connect, 1000 ordered
** messages, a second member (a forked child: corosync refuses a second join
** of one group from the same pid), its clean leave, cfg reload, then
** kill -9 of corosync (down, sends refused) and its restart (up again by
** itself).  Skipped (exit 77) when not root or without `ip`/corosync.
**
** Cleanup runs from atexit and from the group teardown, and again on
** SIGINT/SIGTERM: corosync stopped by its PID, the namespace deleted, the
** /dev/shm leftovers of every corosync we killed removed, the temp dir
** removed.  Corosync also gets PR_SET_PDEATHSIG, so it dies with us.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <glob.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <corosync/cpg.h>
#include <event2/event.h>

#include "heartbeat/cpg.h"
#include "lib/clock.h"
#include "lib/fault.h"
#include "lib/log.h"

#define GROUP   "hasvc:test-cpg"
#define NMSG    1000
#define MAXPIDS 8

/* ---- the namespace and corosync ---- */

static char ns[64];
static char dir[64];
static pid_t coro;             /* the running corosync, 0 if none */
static pid_t started[MAXPIDS]; /* every corosync we started, for /dev/shm */
static int nstarted;
static int ns_made;
static pid_t owner; /* cleanup only in the process that made things */

static void
msleep(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int
write_config(void)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/corosync.conf", dir);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fprintf(f,
	        "totem {\n    version: 2\n    cluster_name: tcpg\n    transport: knet\n"
	        "    crypto_cipher: none\n    crypto_hash: none\n    token: 500\n"
	        "    token_coefficient: 0\n}\n"
	        "nodelist {\n    node {\n        name: n1\n        nodeid: 1\n"
	        "        ring0_addr: 127.0.0.1\n    }\n}\n"
	        "quorum {\n    provider: corosync_votequorum\n}\n"
	        "logging {\n    to_stderr: no\n    to_syslog: no\n    to_logfile: yes\n"
	        "    logfile: %s/corosync.log\n    timestamp: hires\n}\n"
	        "system {\n    state_dir: %s/state\n}\n",
	        dir, dir);
	return fclose(f);
}

/* ip, sh and corosync all exec, so the child's PID is corosync's. */
static pid_t
corosync_start(void)
{
	char cmd[512], out[128];
	pid_t pid;
	int fd;

	snprintf(cmd, sizeof(cmd),
	         "mount --bind %s/run /run && exec corosync -f -c %s/corosync.conf", dir, dir);
	snprintf(out, sizeof(out), "%s/corosync.out", dir);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open("/dev/null", O_RDONLY);
		dup2(fd, 0);
		fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("ip", "ip", "netns", "exec", ns, "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	coro = pid;
	if (nstarted < MAXPIDS)
		started[nstarted++] = pid;
	return pid;
}

static void
corosync_kill9(void)
{
	if (coro <= 0)
		return;
	kill(coro, SIGKILL);
	waitpid(coro, NULL, 0);
	coro = 0;
}

static void
corosync_stop(void)
{
	int i;

	if (coro <= 0)
		return;
	kill(coro, SIGTERM);
	for (i = 0; i < 300; i++) { /* it exits after ~1 s */
		if (waitpid(coro, NULL, WNOHANG) == coro) {
			coro = 0;
			return;
		}
		msleep(10);
	}
	corosync_kill9();
}

/* A SIGKILLed corosync leaves its blackbox and the client ring buffers in
** /dev/shm (libqb); remove those of every corosync we started. */
static void
clean_shm(void)
{
	char pat[2][64];
	glob_t g;
	size_t k;
	int i, j;

	for (i = 0; i < nstarted; i++) {
		if (started[i] <= 0 || kill(started[i], 0) == 0)
			continue;
		snprintf(pat[0], sizeof(pat[0]), "/dev/shm/qb-corosync-%d-blackbox-*",
		         (int)started[i]);
		snprintf(pat[1], sizeof(pat[1]), "/dev/shm/qb-%d-*", (int)started[i]);
		for (j = 0; j < 2; j++) {
			if (glob(pat[j], 0, NULL, &g) != 0)
				continue;
			for (k = 0; k < g.gl_pathc; k++)
				run("rm -rf -- '%s'", g.gl_pathv[k]);
			globfree(&g);
		}
	}
}

static void
cleanup(void)
{
	if (owner != getpid())
		return;
	corosync_stop();
	clean_shm();
	nstarted = 0;
	if (ns_made) {
		run("ip netns del %s 2>/dev/null", ns);
		ns_made = 0;
	}
	if (dir[0] != '\0') {
		run("rm -rf -- '%s'", dir);
		dir[0] = '\0';
	}
}

static void
on_signal(int sig)
{
	cleanup();
	_exit(128 + sig);
}

static int
skip_test(const char *why)
{
	printf("test_cpg: skipped: %s\n", why);
	return 77;
}

/* ---- what an adapter reported ---- */

struct rec {
	struct hb_cpg *cpg;
	int ups, downs;
	uint32_t nodeid;
	char why[256];
	uint64_t up_ms, down_ms;
	int rings, quorums, confchgs;
	uint64_t ring_seq;
	uint32_t ring_rep;
	int ring_rep_member;
	struct hb_quorum q;
	struct hb_member members[16], left[16], joined[16];
	size_t nmembers, nleft, njoined;
	/* deliveries: (nodeid, pid, seq) in order */
	size_t ndel;
	uint32_t del_pid[4 * NMSG];
	uint32_t del_seq[4 * NMSG];
	int bad;        /* a message with damaged content */
	int empty;      /* zero-length messages (sent from `up`) */
	char order[64]; /* callbacks in order: Up Down Confchg Ring Quorum */
};

static struct event_base *base;
static struct rec ra, rb;

static void
fill(unsigned char *buf, uint32_t seq, uint32_t tag, size_t len)
{
	size_t i;

	memcpy(buf, &seq, 4);
	memcpy(buf + 4, &tag, 4);
	for (i = 8; i < len; i++)
		buf[i] = (unsigned char)(seq * 31 + i);
}

static size_t
msglen(uint32_t seq)
{
	return 8 + (seq * 37) % 1500;
}

static int
send_one(struct hb_cpg *c, uint32_t seq)
{
	unsigned char buf[8 + 1500];
	size_t len = msglen(seq);

	fill(buf, seq, (uint32_t)getpid(), len);
	return hb_cpg_send(c, buf, len);
}

static void
note(struct rec *r, char ev)
{
	size_t n = strlen(r->order);

	if (n + 1 < sizeof(r->order))
		r->order[n] = ev;
}

static void
cb_deliver(void *arg, uint32_t nodeid, uint32_t pid, const void *msg, size_t len)
{
	struct rec *r = arg;
	unsigned char want[8 + 1500];
	uint32_t seq, tag;

	if (len == 0) { /* from cb_up */
		r->empty++;
		return;
	}
	if (len < 8) {
		r->bad++;
		return;
	}
	memcpy(&seq, msg, 4);
	memcpy(&tag, (const unsigned char *)msg + 4, 4);
	if (tag != pid || len != msglen(seq)) {
		r->bad++;
		return;
	}
	fill(want, seq, tag, len);
	if (memcmp(want, msg, len) != 0)
		r->bad++;
	if (r->ndel < 4 * NMSG) {
		r->del_pid[r->ndel] = pid;
		r->del_seq[r->ndel] = seq;
		r->ndel++;
	}
}

static void
cb_confchg(void *arg, const struct hb_member *m, size_t nm, const struct hb_member *l, size_t nl,
           const struct hb_member *j, size_t nj)
{
	struct rec *r = arg;

	note(r, 'C');
	r->confchgs++;
	r->nmembers = nm < 16 ? nm : 16;
	memcpy(r->members, m, r->nmembers * sizeof(*m));
	r->nleft = nl < 16 ? nl : 16;
	memcpy(r->left, l, r->nleft * sizeof(*l));
	r->njoined = nj < 16 ? nj : 16;
	memcpy(r->joined, j, r->njoined * sizeof(*j));
}

static void
cb_ring(void *arg, uint64_t seq, uint32_t rep, const uint32_t *nodes, size_t n)
{
	struct rec *r = arg;

	note(r, 'R');
	r->rings++;
	r->ring_seq = seq;
	r->ring_rep = rep;
	r->ring_rep_member = 0;
	for (size_t i = 0; i < n; i++)
		r->ring_rep_member |= nodes[i] == rep;
}

static void
cb_quorum(void *arg, const struct hb_quorum *q)
{
	struct rec *r = arg;

	note(r, 'Q');
	r->quorums++;
	r->q = *q;
}

static void
cb_up(void *arg, uint32_t nodeid)
{
	struct rec *r = arg;

	note(r, 'U');
	r->ups++;
	r->nodeid = nodeid;
	r->up_ms = clock_mono_ms();
	/* Sending from a callback is allowed. */
	assert_int_equal(hb_cpg_send(r->cpg, "\0\0\0\0\0\0\0\0", 0), 0);
}

static void
cb_down(void *arg, const char *why)
{
	struct rec *r = arg;

	note(r, 'D');
	r->downs++;
	r->down_ms = clock_mono_ms();
	snprintf(r->why, sizeof(r->why), "%s", why);
	assert_int_equal(hb_cpg_send(r->cpg, "x", 1), -1);
}

static struct hb_cpg *
open_rec(struct rec *r)
{
	struct hb_cpg_config cfg = {.group = GROUP, .retry_ms = 100, .resend_ms = 5};
	struct hb_cpg_callbacks cb = {
	    .arg = r,
	    .deliver = cb_deliver,
	    .confchg = cb_confchg,
	    .ring = cb_ring,
	    .quorum = cb_quorum,
	    .up = cb_up,
	    .down = cb_down,
	};

	memset(r, 0, sizeof(*r));
	r->cpg = hb_cpg_new(base, &cfg, &cb);
	return r->cpg;
}

/* Run the loop until pred() holds or ms pass; 0 if it held. */
static int
run_until(int (*pred)(void), unsigned ms)
{
	uint64_t end = clock_mono_ms() + ms;
	struct timeval tv = {0, 2000};

	while (!pred()) {
		if (clock_mono_ms() >= end)
			return -1;
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	return 0;
}

/* The cmocka checks below only run in the parent. */
static int
has_member(const struct hb_member *m, size_t n, uint32_t pid, enum hb_reason reason)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (m[i].nodeid == 1 && m[i].pid == pid && m[i].reason == reason)
			return 1;
	return 0;
}

static int
a_ready(void)
{
	return ra.ups == 1 && ra.rings > 0 && ra.quorums > 0 && ra.confchgs > 0;
}

static void
test_connect(void **state)
{
	assert_non_null(open_rec(&ra));
	/* Nothing runs inside hb_cpg_new. */
	assert_int_equal(ra.ups + ra.downs, 0);
	assert_int_equal(hb_cpg_connected(ra.cpg), 0);
	assert_int_equal(hb_cpg_send(ra.cpg, "x", 1), -1);
	assert_int_equal(run_until(a_ready, 10000), 0);
	assert_int_equal(ra.downs, 0);
	assert_int_equal(ra.nodeid, 1);
	assert_int_equal(hb_cpg_local_nodeid(ra.cpg), 1);
	assert_int_equal(hb_cpg_connected(ra.cpg), 1);
	assert_true(ra.ring_seq > 0);
	assert_true(ra.ring_rep != 0 && ra.ring_rep_member); /* the representative is a node */
	assert_true(ra.q.quorate);
	assert_int_equal(ra.q.ring_seq, ra.ring_seq);
	assert_int_equal(ra.q.expected_votes, 1);
	assert_int_equal(ra.q.total_votes, 1);
	assert_int_equal(ra.q.quorum, 1);
	assert_int_equal(ra.nmembers, 1);
	assert_true(has_member(ra.members, ra.nmembers, (uint32_t)getpid(), HB_REASON_JOIN));
	assert_true(has_member(ra.joined, ra.njoined, (uint32_t)getpid(), HB_REASON_JOIN));
	assert_string_equal(hb_reason_name(HB_REASON_PROCDOWN), "procdown");
	/* `up` first; the quorum view after the ring it names. */
	printf("test_cpg: callbacks after connect: %s\n", ra.order);
	assert_int_equal(ra.order[0], 'U');
	assert_true(strchr(ra.order, 'R') < strchr(ra.order, 'Q'));
}

static int
a_got_all(void)
{
	return ra.ndel >= NMSG;
}

static int
a_down(void)
{
	return ra.downs == 1;
}

#ifdef HASVC_FAULTS
static int
a_got_20(void)
{
	return ra.ndel >= 20;
}
#endif

static int
a_got_all_10(void)
{
	return ra.ndel >= 10;
}

static void
test_send_1000(void **state)
{
	uint32_t i;

	assert_int_equal(hb_cpg_connected(ra.cpg), 1);
	ra.ndel = 0;
	for (i = 0; i < NMSG; i++)
		assert_int_equal(send_one(ra.cpg, i), 0);
	assert_int_equal(hb_cpg_queued(ra.cpg), NMSG);
	assert_int_equal(run_until(a_got_all, 10000), 0);
	assert_int_equal(ra.ndel, NMSG);
	assert_int_equal(ra.bad, 0);
	for (i = 0; i < NMSG; i++) {
		assert_int_equal(ra.del_pid[i], (uint32_t)getpid());
		assert_int_equal(ra.del_seq[i], i);
	}
	assert_int_equal(hb_cpg_queued(ra.cpg), 0);
	printf("test_cpg: %d messages, %" PRIu64 " TRY_AGAIN retries\n", NMSG,
	       hb_cpg_retries(ra.cpg));
}

/* FAULTS=1 builds: TRY_AGAIN retried in order; a send error on a live
** corosync drops the queue, calls `down` once and reconnects. */
#ifdef HASVC_FAULTS
static int
a_up_after_fault(void)
{
	return ra.ups == 2 && ra.confchgs > 0;
}
#endif

static void
test_send_faults(void **state)
{
#ifdef HASVC_FAULTS
	uint64_t r0 = hb_cpg_retries(ra.cpg);
	uint32_t i;

	ra.ndel = 0;
	assert_int_equal(fault_configure("cpg.mcast.try_again:after=5:repeat=3"), 0);
	for (i = 0; i < 20; i++)
		assert_int_equal(send_one(ra.cpg, i), 0);
	assert_int_equal(run_until(a_got_20, 5000), 0);
	assert_int_equal(hb_cpg_retries(ra.cpg) - r0, 3);
	for (i = 0; i < 20; i++)
		assert_int_equal(ra.del_seq[i], i);

	ra.ndel = 0;
	ra.confchgs = 0;
	assert_int_equal(fault_configure("cpg.mcast.library:after=10:repeat=1"), 0);
	for (i = 0; i < 20; i++)
		assert_int_equal(send_one(ra.cpg, i), 0);
	assert_int_equal(run_until(a_down, 5000), 0);
	assert_non_null(strstr(ra.why, "cpg_mcast_joined"));
	assert_int_equal(hb_cpg_send(ra.cpg, "x", 1), -1);
	assert_int_equal(run_until(a_up_after_fault, 5000), 0);
	assert_int_equal(ra.downs, 1);
	/* The first 10 went to corosync (delivered to the other members, if
	** any); we tore our handle down before their deliveries were read, so
	** we see at most those, in order.  The other 10 were never ordered. */
	assert_true(ra.ndel <= 10);
	for (i = 0; i < ra.ndel; i++)
		assert_int_equal(ra.del_seq[i], i);
	assert_int_equal(fault_configure(""), 0);
	ra.ups = ra.downs = 0;
	printf("test_cpg: send error -> reconnected to a live corosync: %s\n", ra.order);
#else
	skip();
#endif
}

/* ---- the second member: a forked child running its own adapter ---- */

static pid_t child;
static int to_child = -1, from_child = -1;

/* Child: open an adapter, report "up", wait for the 'go' byte, send NMSG/2
** messages, wait for NMSG deliveries (ours and the parent's), write the
** (pid, seq) order to the pipe, wait for 'q', free the adapter (a clean
** leave) and exit. */
static int
b_ready(void)
{
	return rb.ups == 1 && rb.confchgs > 0;
}

static int
b_got_all(void)
{
	return rb.ndel >= NMSG;
}

static int
b_go(void)
{
	char c;

	return read(to_child, &c, 1) == 1;
}

static void
child_main(int rfd, int wfd)
{
	uint32_t i;
	char ok = 'u';

	to_child = rfd;
	fcntl(rfd, F_SETFL, O_NONBLOCK);
	base = event_base_new();
	if (base == NULL || open_rec(&rb) == NULL || run_until(b_ready, 10000) != 0)
		_exit(2);
	if (write(wfd, &ok, 1) != 1 || run_until(b_go, 10000) != 0)
		_exit(3);
	for (i = 0; i < NMSG / 2; i++)
		if (send_one(rb.cpg, i) != 0)
			_exit(4);
	if (run_until(b_got_all, 10000) != 0 || rb.bad != 0)
		_exit(5);
	if (write(wfd, rb.del_pid, NMSG * 4) != NMSG * 4 ||
	    write(wfd, rb.del_seq, NMSG * 4) != NMSG * 4)
		_exit(6);
	if (run_until(b_go, 10000) != 0)
		_exit(7);
	hb_cpg_free(rb.cpg);
	_exit(0);
}

static int
a_sees_b(void)
{
	return has_member(ra.joined, ra.njoined, (uint32_t)child, HB_REASON_JOIN);
}

static int
a_sees_b_leave(void)
{
	return has_member(ra.left, ra.nleft, (uint32_t)child, HB_REASON_LEAVE);
}

static void
test_second_member(void **state)
{
	int p1[2], p2[2];
	uint32_t bpid[NMSG], bseq[NMSG], i;
	char c;
	int st;
	size_t got;
	ssize_t n;

	assert_int_equal(pipe(p1), 0);
	assert_int_equal(pipe(p2), 0);
	fflush(NULL);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(p1[1]);
		close(p2[0]);
		child_main(p1[0], p2[1]);
	}
	close(p1[0]);
	close(p2[1]);
	to_child = p1[1];
	from_child = p2[0];

	/* Both see the join: the child's confchg lists both, with itself joined. */
	assert_int_equal(run_until(a_sees_b, 10000), 0);
	assert_int_equal(ra.nmembers, 2);
	assert_int_equal(read(from_child, &c, 1), 1);
	assert_int_equal(c, 'u');

	/* Both send NMSG/2, interleaved in time; both deliver the same order. */
	ra.ndel = 0;
	assert_int_equal(write(to_child, "g", 1), 1);
	for (i = 0; i < NMSG / 2; i++)
		assert_int_equal(send_one(ra.cpg, i), 0);
	assert_int_equal(run_until(a_got_all, 10000), 0);
	assert_int_equal(ra.bad, 0);
	for (got = 0; got < sizeof(bpid) + sizeof(bseq); got += (size_t)n) {
		char *dst =
		    got < sizeof(bpid) ? (char *)bpid + got : (char *)bseq + (got - sizeof(bpid));
		size_t want =
		    got < sizeof(bpid) ? sizeof(bpid) - got : sizeof(bseq) - (got - sizeof(bpid));

		n = read(from_child, dst, want);
		assert_true(n > 0);
	}
	assert_int_equal(ra.ndel, NMSG);
	for (i = 0; i < NMSG; i++) {
		assert_int_equal(ra.del_pid[i], bpid[i]);
		assert_int_equal(ra.del_seq[i], bseq[i]);
	}

	/* The child frees its adapter: we see LEAVE. */
	assert_int_equal(write(to_child, "q", 1), 1);
	assert_int_equal(run_until(a_sees_b_leave, 10000), 0);
	assert_int_equal(ra.nmembers, 1);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	child = 0;
	close(to_child);
	close(from_child);
}

static void
test_cfg_reload(void **state)
{
	char err[256] = "";

	assert_int_equal(hb_cfg_reload(err, sizeof(err)), 0);
}

static int
a_up_again(void)
{
	return ra.ups == 2 && ra.confchgs > 0 && ra.quorums > 0;
}

static void
test_kill_restart(void **state)
{
	char err[256] = "";
	uint64_t t_kill, t_start;
	uint32_t i;

	assert_int_equal(hb_cpg_connected(ra.cpg), 1);
	ra.ups = 1;
	ra.downs = 0;
	t_kill = clock_mono_ms();
	corosync_kill9();
	assert_int_equal(run_until(a_down, 5000), 0);
	assert_true(strlen(ra.why) > 10);
	printf("test_cpg: kill -9 -> down in %" PRIu64 " ms: %s\n", ra.down_ms - t_kill, ra.why);
	assert_int_equal(hb_cpg_connected(ra.cpg), 0);
	assert_int_equal(hb_cpg_local_nodeid(ra.cpg), 0);
	assert_int_equal(hb_cpg_send(ra.cpg, "x", 1), -1);
	assert_int_equal(hb_cfg_reload(err, sizeof(err)), -1);
	assert_true(strlen(err) > 10);
	printf("test_cpg: cfg reload without corosync: %s\n", err);

	/* A few failed reconnects must not call `down` again. */
	msleep(300);
	run_until(a_up_again, 300);
	assert_int_equal(ra.downs, 1);

	ra.confchgs = ra.quorums = 0;
	ra.ndel = 0;
	t_start = clock_mono_ms();
	assert_true(corosync_start() > 0);
	assert_int_equal(run_until(a_up_again, 10000), 0);
	printf("test_cpg: restart -> up in %" PRIu64 " ms (retry_ms 100); callbacks: %s\n",
	       ra.up_ms - t_start, ra.order);
	assert_int_equal(ra.downs, 1);
	assert_true(ra.q.quorate);
	assert_true(has_member(ra.joined, ra.njoined, (uint32_t)getpid(), HB_REASON_JOIN));
	for (i = 0; i < 10; i++)
		assert_int_equal(send_one(ra.cpg, i), 0);
	assert_int_equal(run_until(a_got_all_10, 5000), 0);
}

static int
group_teardown(void **state)
{
	if (ra.cpg != NULL)
		hb_cpg_free(ra.cpg);
	ra.cpg = NULL;
	cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_connect),     cmocka_unit_test(test_send_1000),
	    cmocka_unit_test(test_send_faults), cmocka_unit_test(test_second_member),
	    cmocka_unit_test(test_cfg_reload),  cmocka_unit_test(test_kill_restart),
	};
	char path[128];
	int fd, i;

	if (geteuid() != 0)
		return skip_test("needs root (network namespace, corosync)");
	if (run("command -v ip >/dev/null && command -v corosync >/dev/null") != 0)
		return skip_test("needs `ip` and corosync");
	owner = getpid();
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	log_init("test_cpg", LOG_TO_STDERR | LOG_NO_BLACKBOX, LOG_WARNING);

	snprintf(ns, sizeof(ns), "hasvc-tcpg-%d", (int)getpid());
	strcpy(dir, "/tmp/hasvc-tcpg.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		dir[0] = '\0';
		return skip_test("cannot make a temp dir");
	}
	if (run("mkdir -p %s/run %s/state", dir, dir) != 0 || write_config() != 0)
		return skip_test("cannot write the corosync config");
	if (run("ip netns add %s", ns) != 0)
		return skip_test("cannot create a network namespace");
	ns_made = 1;
	if (run("ip -n %s link set lo up", ns) != 0)
		return skip_test("cannot bring lo up in the namespace");
	/* Enter it: before any thread exists, so this (only) thread moves. */
	snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) != 0)
		return skip_test("cannot enter the network namespace");
	close(fd);
	if (corosync_start() < 0)
		return skip_test("cannot start corosync");
	/* Wait until corosync answers IPC (it listens ~0.35 s after exec). */
	for (i = 0; i < 100; i++) {
		cpg_handle_t h;

		if (cpg_initialize(&h, NULL) == CS_OK) {
			cpg_finalize(h);
			break;
		}
		msleep(50);
	}
	if (i == 100) {
		fprintf(stderr, "test_cpg: corosync did not answer in 5 s:\n");
		run("cat %s/corosync.out; tail -20 %s/corosync.log >&2", dir, dir);
		return 1;
	}
	base = event_base_new();
	if (base == NULL)
		return skip_test("event_base_new failed");
	return cmocka_run_group_tests(tests, NULL, group_teardown);
}
