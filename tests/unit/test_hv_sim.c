/*
** hv_sim (hasvc/hv_sim.c) against a real hasvc-simhv: each test starts its own
** simhv ($BINDIR/hasvc-simhv; skipped when BINDIR is unset or the program is
** missing) on a socket in a temp dir and stops it afterwards, by pid.
**
** hv_sim_open registers the calling process with simhv, so any test that
** makes simhv reset the host opens hv_sim in a forked child (the victim) and
** observes from the parent through raw protocol messages.
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
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hasvc/hv.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/simhv_proto.h"

#define VM_A "aaaaaaaa-0000-4000-8000-00000000000a"
#define VM_B "aaaaaaaa-0000-4000-8000-00000000000b"
#define VM_C "aaaaaaaa-0000-4000-8000-00000000000c"
#define MiB (UINT64_C(1) << 20)

struct fx {
	char dir[64];
	char sock[128];
	char ledger[128];
	pid_t simhv;
	struct hv *hv;
	/* raw client */
	int fd;
	uint32_t seq;
	struct simhv_reader *rd;
	struct simhv_msg *req, *rep;
};

static void
msleep(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int
setup(void **state)
{
	const char *bindir = getenv("BINDIR");
	char prog[512], err[256];
	struct fx *f;
	int i, fd;

	if (bindir == NULL)
		return 0; /* *state stays NULL: each test skips */
	snprintf(prog, sizeof(prog), "%s/hasvc-simhv", bindir);
	if (access(prog, X_OK) != 0)
		return 0;
	f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/hasvc-hvsim.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sock, sizeof(f->sock), "%s/s.sock", f->dir);
	snprintf(f->ledger, sizeof(f->ledger), "%s/ledger", f->dir);
	f->fd = -1;
	f->simhv = fork();
	assert_true(f->simhv >= 0);
	if (f->simhv == 0) {
		char log[160];

		snprintf(log, sizeof(log), "%s/simhv.log", f->dir);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(prog, prog, "--host", "t1", "--socket", f->sock, "--ledger", f->ledger,
		      "--state-dir", f->dir, "--memory", "4096", "--dom0-memory", "1024", "--cpus",
		      "8", "--boot-ms", "20", "--shutdown-ms", "50", "-v", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200; i++) {
		fd = simhv_connect(f->sock, err, sizeof(err));
		if (fd >= 0) {
			close(fd);
			break;
		}
		msleep(25);
	}
	assert_true(i < 200);
	f->rd = calloc(1, sizeof(*f->rd));
	f->req = calloc(1, sizeof(*f->req));
	f->rep = calloc(1, sizeof(*f->rep));
	*state = f;
	return 0;
}

static void
stop_simhv(struct fx *f)
{
	int status;

	if (f->simhv > 0) {
		kill(f->simhv, SIGTERM);
		waitpid(f->simhv, &status, 0);
		f->simhv = 0;
	}
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	if (f == NULL)
		return 0;
	hv_close(f->hv);
	if (f->fd >= 0)
		close(f->fd);
	stop_simhv(f);
	if (getenv("KEEP_TMP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", f->dir);
	}
	free(f->rd);
	free(f->req);
	free(f->rep);
	free(f);
	return 0;
}

#define NEED_SIMHV(f)                                                                              \
	do {                                                                                       \
		if ((f) == NULL)                                                                   \
			skip();                                                                    \
	} while (0)

static struct hv *
open_hv(struct fx *f)
{
	char err[256] = "";

	f->hv = hv_sim_open(f->sock, err, sizeof(err));
	if (f->hv == NULL)
		fail_msg("hv_sim_open: %s", err);
	assert_string_equal(f->hv->ops->name, "sim");
	return f->hv;
}

/* A raw request on the test's own, unregistered connection: the reply status. */
static struct simhv_msg *
raw_new(struct fx *f, unsigned type)
{
	memset(f->req, 0, sizeof(*f->req));
	f->req->type = (uint16_t)type;
	return f->req;
}

static uint32_t
raw_call(struct fx *f)
{
	char err[256];

	if (f->fd < 0) {
		f->fd = simhv_connect(f->sock, err, sizeof(err));
		assert_true(f->fd >= 0);
		memset(f->rd, 0, sizeof(*f->rd));
	}
	f->req->seq = ++f->seq;
	assert_int_equal(simhv_call(f->fd, f->rd, f->req, f->rep, clock_mono_ms() + 3000, NULL,
				    NULL),
			 0);
	return f->rep->u.reply.status;
}

static uint32_t
raw_dom(struct fx *f, unsigned type, const char *uuid)
{
	strcpy(raw_new(f, type)->u.dom.uuid, uuid);
	return raw_call(f);
}

static uint32_t
raw_start(struct fx *f, const char *uuid, uint64_t mib)
{
	struct simhv_msg *m = raw_new(f, SIMHV_START);

	strcpy(m->u.start.uuid, uuid);
	strcpy(m->u.start.name, "raw");
	m->u.start.memory = mib * MiB;
	m->u.start.vcpus = 1;
	return raw_call(f);
}

static struct simhv_status
raw_status(struct fx *f)
{
	raw_new(f, SIMHV_STATUS);
	assert_int_equal(raw_call(f), 0);
	return f->rep->u.reply.u.status;
}

static int
start_vm(struct hv *hv, const char *uuid, uint64_t mib)
{
	struct hv_vm_spec spec;

	memset(&spec, 0, sizeof(spec));
	strcpy(spec.uuid, uuid);
	strcpy(spec.name, "test-vm");
	spec.memory = mib * MiB;
	spec.vcpus = 2;
	return hv->ops->start(hv, &spec);
}

/* Wait up to ms for an event of `type` about `uuid`; other events are skipped. */
static int
wait_event(struct hv *hv, enum hv_event_type type, const char *uuid, unsigned ms,
	   struct hv_event *out)
{
	uint64_t until = clock_mono_ms() + ms;
	struct pollfd pfd = {.fd = hv->ops->event_fd(hv), .events = POLLIN};
	struct hv_event ev;
	int rc;

	assert_true(pfd.fd >= 0);
	while (clock_mono_ms() < until) {
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		while ((rc = hv->ops->next_event(hv, &ev)) == 1)
			if (ev.type == type && strcmp(ev.uuid, uuid) == 0) {
				if (out)
					*out = ev;
				return 0;
			}
		assert_int_equal(rc, 0);
	}
	return -1;
}

static size_t
count_ledger(struct fx *f, const char *what)
{
	char line[512];
	size_t n = 0;
	FILE *lf = fopen(f->ledger, "r");

	if (lf == NULL)
		return 0;
	while (fgets(line, sizeof(line), lf))
		if (strstr(line, what))
			n++;
	fclose(lf);
	return n;
}

static void
test_host_info(void **state)
{
	struct fx *f = *state;
	struct hv_host_info hi;
	struct hv *hv;

	NEED_SIMHV(f);
	hv = open_hv(f);
	assert_int_equal(hv->ops->host_info(hv, &hi), 0);
	assert_true(hi.memory_total == 4096 * MiB);
	assert_true(hi.memory_free == 3072 * MiB);
	assert_int_equal(hi.cpus, 8);
	/* our pid is registered */
	assert_int_equal(raw_status(f).npids, 1);
}

static void
test_start_list_destroy(void **state)
{
	struct fx *f = *state;
	struct hv_host_info hi;
	struct hv_domain *doms = NULL;
	size_t n = 99;
	struct hv *hv;

	NEED_SIMHV(f);
	hv = open_hv(f);
	assert_int_equal(hv->ops->list_domains(hv, &doms, &n), 0);
	assert_int_equal(n, 0);
	free(doms);
	assert_int_equal(start_vm(hv, VM_A, 1024), 0);
	assert_int_equal(hv->ops->list_domains(hv, &doms, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(doms[0].uuid, VM_A);
	assert_int_equal(doms[0].state, HV_DOM_RUNNING);
	assert_true(doms[0].memory == 1024 * MiB);
	assert_int_equal(doms[0].vcpus, 2);
	free(doms);
	assert_int_equal(hv->ops->host_info(hv, &hi), 0);
	assert_true(hi.memory_free == 2048 * MiB);

	assert_int_equal(hv->ops->destroy(hv, VM_A), 0);
	assert_int_equal(hv->ops->list_domains(hv, &doms, &n), 0);
	assert_int_equal(n, 0);
	free(doms);
	errno = 0;
	assert_int_equal(hv->ops->destroy(hv, VM_A), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(hv->last_error, VM_A));
	assert_int_equal(count_ledger(f, VM_A " start"), 1);
	assert_int_equal(count_ledger(f, VM_A " stop destroy"), 1);
}

static void
test_enomem_eexist(void **state)
{
	struct fx *f = *state;
	struct hv *hv;

	NEED_SIMHV(f);
	hv = open_hv(f);
	assert_int_equal(start_vm(hv, VM_A, 2048), 0);
	errno = 0;
	assert_int_equal(start_vm(hv, VM_B, 2048), -1);
	assert_int_equal(errno, ENOMEM);
	assert_non_null(strstr(hv->last_error, "free"));
	errno = 0;
	assert_int_equal(start_vm(hv, VM_A, 16), -1);
	assert_int_equal(errno, EEXIST);
	/* exactly what is left still fits */
	assert_int_equal(start_vm(hv, VM_B, 1024), 0);
	errno = 0;
	assert_int_equal(start_vm(hv, VM_C, 1), -1);
	assert_int_equal(errno, ENOMEM);
	/* bad requests */
	errno = 0;
	assert_int_equal(start_vm(hv, "not-a-uuid", 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(count_ledger(f, " start "), 2);
}

static void
test_events(void **state)
{
	struct fx *f = *state;
	struct hv_domain *doms = NULL;
	struct hv_event ev;
	struct pollfd pfd;
	size_t n, i;
	struct hv *hv;

	NEED_SIMHV(f);
	hv = open_hv(f);
	assert_int_equal(start_vm(hv, VM_A, 512), 0);
	assert_int_equal(wait_event(hv, HV_EV_DOMAIN_STARTED, VM_A, 2000, NULL), 0);

	/* crash (test control): a CRASHED event; the domain stays, crashed, until destroyed */
	assert_int_equal(raw_dom(f, SIMHV_CRASH_DOMAIN, VM_A), 0);
	assert_int_equal(wait_event(hv, HV_EV_DOMAIN_CRASHED, VM_A, 2000, &ev), 0);
	assert_string_equal(ev.reason, "crashed");
	assert_int_equal(hv->ops->list_domains(hv, &doms, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(doms[0].state, HV_DOM_CRASHED);
	free(doms);
	assert_int_equal(hv->ops->destroy(hv, VM_A), 0);
	assert_int_equal(wait_event(hv, HV_EV_DOMAIN_DIED, VM_A, 2000, &ev), 0);
	assert_string_equal(ev.reason, "destroy");

	/* the guest shuts itself down */
	assert_int_equal(start_vm(hv, VM_B, 512), 0);
	assert_int_equal(raw_dom(f, SIMHV_GUEST_SHUTDOWN, VM_B), 0);
	assert_int_equal(wait_event(hv, HV_EV_DOMAIN_DIED, VM_B, 2000, &ev), 0);
	assert_string_equal(ev.reason, "guest-shutdown");
	assert_int_equal(hv->ops->list_domains(hv, &doms, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(doms[0].state, HV_DOM_SHUTDOWN);
	free(doms);

	/* an event that arrives while a call waits for its reply is queued,
	** and event_fd says so although the socket has been drained */
	assert_int_equal(start_vm(hv, VM_C, 512), 0);
	assert_int_equal(raw_dom(f, SIMHV_CRASH_DOMAIN, VM_C), 0);
	msleep(50);
	assert_int_equal(hv->ops->list_domains(hv, &doms, &n), 0);
	free(doms);
	pfd = (struct pollfd){.fd = hv->ops->event_fd(hv), .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 0), 1);
	assert_int_equal(wait_event(hv, HV_EV_DOMAIN_CRASHED, VM_C, 1000, NULL), 0);
	while (hv->ops->next_event(hv, &ev) == 1)
		;
	assert_int_equal(poll(&pfd, 1, 0), 0);

	/* clean shutdown completes after --shutdown-ms */
	assert_int_equal(hv->ops->destroy(hv, VM_B), 0);
	assert_int_equal(hv->ops->destroy(hv, VM_C), 0);
	assert_int_equal(start_vm(hv, VM_A, 512), 0);
	assert_int_equal(hv->ops->shutdown(hv, VM_A), 0);
	assert_int_equal(wait_event(hv, HV_EV_DOMAIN_DIED, VM_A, 2000, &ev), 0);
	assert_string_equal(ev.reason, "shutdown");
	assert_int_equal(hv->ops->list_domains(hv, &doms, &n), 0);
	for (i = 0; i < n; i++)
		assert_string_not_equal(doms[i].uuid, VM_A);
	free(doms);
	assert_int_equal(count_ledger(f, "stop crashed"), 2);
	assert_int_equal(count_ledger(f, "stop guest-shutdown"), 1);
	assert_int_equal(count_ledger(f, "stop shutdown"), 1);
}

static void
test_watchdog_pet_keeps_host_up(void **state)
{
	struct fx *f = *state;
	struct simhv_status st;
	struct hv *hv;
	int i;

	NEED_SIMHV(f);
	hv = open_hv(f);
	assert_int_equal(start_vm(hv, VM_A, 512), 0);
	errno = 0;
	assert_int_equal(hv->ops->wd_pet(hv), -1); /* not armed yet */
	assert_int_equal(errno, EINVAL);
	assert_int_equal(hv->ops->wd_arm(hv, 200), 0);
	for (i = 0; i < 12; i++) {
		msleep(50);
		assert_int_equal(hv->ops->wd_pet(hv), 0);
	}
	st = raw_status(f);
	assert_int_equal(st.resets, 0);
	assert_int_equal(st.powered_on, 1);
	assert_int_equal(st.wd_armed, 1);
	assert_int_equal(st.wd_timeout_ms, 200);
	assert_int_equal(hv->ops->wd_disarm(hv), 0);
	msleep(400);
	st = raw_status(f);
	assert_int_equal(st.resets, 0);
	assert_int_equal(st.wd_armed, 0);
	assert_int_equal(st.ndomains, 1);
}

/* Wait up to ms for child `pid`; its wait status, or -1 if still running. */
static int
wait_child(pid_t pid, unsigned ms)
{
	uint64_t until = clock_mono_ms() + ms;
	int status;

	while (clock_mono_ms() < until) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		msleep(20);
	}
	return -1;
}

static void
test_watchdog_reset(void **state)
{
	struct fx *f = *state;
	struct simhv_status st;
	pid_t victim, daemon;
	int status;
	char line[512], path[160];
	FILE *rf;

	NEED_SIMHV(f);
	victim = fork();
	assert_true(victim >= 0);
	if (victim == 0) {
		execlp("sleep", "sleep", "600", (char *)NULL);
		_exit(127);
	}
	msleep(50); /* let it exec, so that its start time is final */
	raw_new(f, SIMHV_REGISTER_PID)->u.pid.pid = (uint32_t)victim;
	assert_int_equal(raw_call(f), 0);
	assert_int_equal(raw_start(f, VM_A, 512), 0);
	assert_int_equal(raw_start(f, VM_B, 512), 0);

	/* The "daemon": opens hv_sim (registering itself), arms, never pets. */
	daemon = fork();
	assert_true(daemon >= 0);
	if (daemon == 0) {
		char err[256];
		struct hv *hv = hv_sim_open(f->sock, err, sizeof(err));

		if (hv == NULL || hv->ops->wd_arm(hv, 200) < 0)
			_exit(3);
		for (;;)
			pause();
	}
	status = wait_child(daemon, 5000);
	assert_true(status != -1);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	status = wait_child(victim, 2000);
	if (status == -1) {
		kill(victim, SIGKILL);
		waitpid(victim, &status, 0);
		fail_msg("the registered sleep was not killed");
	}
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);

	st = raw_status(f);
	assert_int_equal(st.resets, 1);
	assert_int_equal(st.powered_on, 0);
	assert_string_equal(st.last_reason, "watchdog timeout");
	assert_int_equal(st.ndomains, 0);
	assert_int_equal(st.npids, 0);
	assert_int_equal(st.wd_armed, 0);
	assert_int_equal(count_ledger(f, "stop host-reset"), 2);
	snprintf(path, sizeof(path), "%s/resets.log", f->dir);
	rf = fopen(path, "r");
	assert_non_null(rf);
	assert_non_null(fgets(line, sizeof(line), rf));
	fclose(rf);
	assert_non_null(strstr(line, "watchdog timeout"));

	/* powered off: requests fail with EHOSTDOWN until POWER_ON */
	assert_int_equal(raw_start(f, VM_A, 512), EHOSTDOWN);
	raw_new(f, SIMHV_LIST_DOMAINS);
	assert_int_equal(raw_call(f), 0);
	assert_int_equal(f->rep->u.reply.u.list.n, 0);
	raw_new(f, SIMHV_POWER_ON);
	assert_int_equal(raw_call(f), 0);
	assert_int_equal(raw_start(f, VM_A, 512), 0);
}

static void
test_self_reset(void **state)
{
	struct fx *f = *state;
	struct simhv_status st;
	pid_t daemon;
	int status;

	NEED_SIMHV(f);
	assert_int_equal(raw_start(f, VM_A, 512), 0);
	daemon = fork();
	assert_true(daemon >= 0);
	if (daemon == 0) {
		char err[256];
		struct hv *hv = hv_sim_open(f->sock, err, sizeof(err));

		if (hv == NULL)
			_exit(3);
		hv->ops->self_reset(hv, "fence: test");
		_exit(4); /* not reached: the reset kills us */
	}
	status = wait_child(daemon, 8000);
	assert_true(status != -1);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	st = raw_status(f);
	assert_int_equal(st.resets, 1);
	assert_string_equal(st.last_reason, "self-reset: fence: test");
	assert_int_equal(count_ledger(f, "stop host-reset"), 1);
}

static void
test_malformed_client_is_dropped(void **state)
{
	struct fx *f = *state;
	char err[256], byte;
	uint8_t junk[64];
	int fd;

	NEED_SIMHV(f);
	fd = simhv_connect(f->sock, err, sizeof(err));
	assert_true(fd >= 0);
	memset(junk, 'J', sizeof(junk));
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	/* simhv closes the connection: read sees end of stream */
	assert_int_equal(read(fd, &byte, 1), 0);
	close(fd);
	/* and keeps serving others */
	assert_int_equal(raw_status(f).powered_on, 1);
}

static void
test_lost_connection(void **state)
{
	struct fx *f = *state;
	struct hv_host_info hi;
	struct hv_event ev;
	struct pollfd pfd;
	struct hv *hv;

	NEED_SIMHV(f);
	hv = open_hv(f);
	stop_simhv(f);
	pfd = (struct pollfd){.fd = hv->ops->event_fd(hv), .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 2000), 1); /* the hang-up wakes the loop */
	assert_int_equal(hv->ops->next_event(hv, &ev), -1);
	errno = 0;
	assert_int_equal(hv->ops->host_info(hv, &hi), -1);
	assert_int_equal(errno, ECONNRESET);
	assert_non_null(strstr(hv->last_error, "lost"));
}

static void
test_open_fails_cleanly(void **state)
{
	char err[256] = "";

	(void)state;
	assert_null(hv_sim_open("/nonexistent/simhv.sock", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/simhv.sock"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_fails_cleanly),
		cmocka_unit_test_setup_teardown(test_host_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_list_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enomem_eexist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watchdog_pet_keeps_host_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watchdog_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_client_is_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_connection, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	log_init("test_hv_sim", LOG_TO_STDERR | LOG_NO_BLACKBOX, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
