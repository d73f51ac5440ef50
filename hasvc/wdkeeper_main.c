/*
** hasvc-wdkeeper: holds the host watchdog on hasvcd's behalf (docs/fencing.md,
** "The keeper"; the logic is fencing/wdkeep.c, the messages fencing/wdmsg.h).
**
**     hasvc-wdkeeper [-c FILE] [-f] [-d]
**     hasvc-wdkeeper ctl SOCKET COMMAND [ARGS] [COMMAND [ARGS]]...
**
**   -c FILE  hasvcd's configuration (default /etc/hasvc/hasvcd.conf): the
**            watchdog driver (xen, linux, sim), its device (linux), the
**            simhv socket (sim) and <watchdog><keeper-socket>
**   -f       stay in the foreground (systemd, tests); without it the keeper
**            detaches first, before it opens the driver (hv_sim registers
**            the pid that a simulated host reset must kill)
**   -d       debug logging
**
** One libevent loop: the listening socket (mode 0600, its directory made
** 0700 if missing, a stale socket replaced, a live keeper's refused), one
** daemon connection at a time (another is closed with a log line), the
** logic's deadline timer, SIGTERM / SIGINT.  Every event goes through
** wdk_step(); its actions run on the driver, synchronously (a driver call
** is bounded: hv.h, wd_linux.h); STATUS goes back to the daemon.
**
** SIGTERM while armed exits WITHOUT disarming, loudly: an armed host whose
** keeper stops is reset within W, by design (the keeper cannot tell a
** shutdown from a crash of the daemon's fence).  Disarmed: exit 0.
**
** ctl: a daemon client for tests and diagnosis.  It connects, says HELLO
** (and prints the STATUS answer for `hello`), then runs its commands in
** order on the same connection:
**   hello                  print the keeper's STATUS
**   arm TIMEOUT_MS PET_MS  arm; print the STATUS answer
**   pet LEASE_MS | +MS     a PET with an absolute CLOCK_MONOTONIC lease in
**                          ms, or now + MS
**   disarm                 disarm; print the STATUS answer
**   fence TIMEOUT_MS       stop petting for good (arm first if disarmed);
**                          print the STATUS answer
**   reset REASON           ask for a reset (nothing comes back)
**   hold SECONDS           keep the connection open, silent (a hung daemon)
** STATUS is printed as `armed: 0|1`, `fenced: 0|1`, `timeout-ms: N`,
** `lease-ms: N`, `resets: N`.  Exit 0, 1 on a failure (sentence on stderr),
** 2 on a usage error.
*/
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "fencing/fence.h"
#include "fencing/record.h"
#include "fencing/wd_linux.h"
#include "fencing/wdkeep.h"
#include "fencing/wdmsg.h"
#include "hasvc/config.h"
#include "hasvc/hv.h"
#include "lib/check.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define PET_ERR_LOG_MS 10000 /* a failing pet is logged at most this often */

/* ---- the drivers behind fence_wd_ops --------------------------------------- */

/* The xen and sim drivers: the hypervisor seam's watchdog ops. */
static void
hv_drain(struct hv *hv)
{
	struct hv_event ev;

	/* hv_sim queues domain events it reads while waiting for a reply; the
	** keeper has no use for them. */
	while (hv->ops->next_event != NULL && hv->ops->next_event(hv, &ev) == 1)
		;
}

static int
hv_result(struct hv *hv, int rc, char *err, size_t errlen)
{
	if (rc < 0)
		snprintf(err, errlen, "%s", hv->last_error);
	hv_drain(hv);
	return rc < 0 ? -1 : 0;
}

static int
hvwd_arm(void *ctx, uint32_t timeout_ms, char *err, size_t errlen)
{
	struct hv *hv = ctx;

	return hv_result(hv, hv->ops->wd_arm(hv, timeout_ms), err, errlen);
}

static int
hvwd_pet(void *ctx, char *err, size_t errlen)
{
	struct hv *hv = ctx;

	return hv_result(hv, hv->ops->wd_pet(hv), err, errlen);
}

static int
hvwd_disarm(void *ctx, char *err, size_t errlen)
{
	struct hv *hv = ctx;

	return hv_result(hv, hv->ops->wd_disarm(hv), err, errlen);
}

static int
hvwd_reset(void *ctx, const char *reason, char *err, size_t errlen)
{
	struct hv *hv = ctx;

	return hv_result(hv, hv->ops->self_reset(hv, reason), err, errlen);
}

static const struct fence_wd_ops hv_wd_ops = {
    .name = "hypervisor",
    .arm = hvwd_arm,
    .pet = hvwd_pet,
    .disarm = hvwd_disarm,
    .reset = hvwd_reset,
};

/* ---- the keeper ------------------------------------------------------------ */

struct keeper {
	struct event_base *base;
	struct wdk *wdk;
	const struct fence_wd_ops *ops;
	void *ctx;
	struct hv *hv;        /* xen, sim */
	struct wd_linux *wdl; /* linux */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd, cfd; /* listening socket, the daemon's connection (-1: none) */
	struct event *ev_listen, *ev_client, *ev_timer, *ev_sig[2];
	uint64_t pet_fail_logged; /* when a failing pet was last logged */
	uint64_t pet_fails;       /* failures since */
	uint64_t bad_msgs;
	int exit_code;
	const struct config *cfg;
	char record[CONFIG_PATH_LEN + 128]; /* the fence record left while pets are
	                                    ** withheld ("": none) */
};

static void reschedule(struct keeper *kp);

static void
send_status(struct keeper *kp)
{
	uint8_t buf[WD_MSG_MAX];
	struct wd_msg m;
	size_t n;

	if (kp->cfd < 0)
		return;
	wdk_status(kp->wdk, &m);
	n = wd_msg_encode(&m, buf, sizeof(buf));
	if (NEVER(n == 0))
		return;
	if (send(kp->cfd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)n)
		log_warn("wdkeeper: cannot send STATUS to the daemon");
}

/* Pets withheld: the watchdog fires W after the last one unless they resume.
** Leave a fence record saying why (hasvcd's own records are written by its
** fence machine; a hung or dead daemon writes none), so that the host, once
** booted, knows it was fenced and why (HA_HOST_WAS_FENCED, out of the pool).
** Removed again if the pets resume. */
static void
record_stop(struct keeper *kp, const char *why)
{
	struct fence_record *rec = xcalloc(1, sizeof(*rec));
	char dir[CONFIG_PATH_LEN + 8], err[256];

	snprintf(rec->reason_text, sizeof(rec->reason_text), "watchdog");
	snprintf(rec->detail, sizeof(rec->detail), "%s; the watchdog resets the host", why);
	rec->wall_s = clock_wall_s();
	rec->mono_ms = clock_mono_ms();
	snprintf(rec->host, sizeof(rec->host), "%s", kp->cfg->host_uuid);
	snprintf(rec->views, sizeof(rec->views), "the watchdog keeper's (hasvc-wdkeeper)");
	snprintf(dir, sizeof(dir), "%s/fence", kp->cfg->data_dir);
	if (kp->record[0] == '\0' &&
	    fence_record_write(dir, rec, kp->record, sizeof(kp->record), err, sizeof(err)) < 0) {
		kp->record[0] = '\0';
		log_errx("wdkeeper: cannot write the fence record: %s", err);
	}
	xfree(rec);
}

static void
record_void(struct keeper *kp)
{
	if (kp->record[0] == '\0')
		return;
	if (unlink(kp->record) < 0 && errno != ENOENT)
		log_warn("wdkeeper: cannot remove %s", kp->record);
	else
		log_notice("wdkeeper: pets resumed: fence record %s removed", kp->record);
	kp->record[0] = '\0';
}

static void
run_actions(struct keeper *kp, const struct wdk_actions *acts)
{
	char err[256];
	uint64_t now;
	size_t i;

	for (i = 0; i < acts->n; i++) {
		const struct wdk_action *a = &acts->v[i];

		err[0] = '\0';
		switch (a->type) {
		case WDK_ACT_ARM:
			if (kp->ops->arm(kp->ctx, a->timeout_ms, err, sizeof(err)) < 0)
				log_errx("wdkeeper: cannot arm the %s watchdog (%" PRIu32
				         " ms): %s",
				         kp->ops->name, a->timeout_ms, err);
			else
				log_notice("wdkeeper: %s watchdog armed: %" PRIu32 " ms",
				           kp->ops->name, a->timeout_ms);
			break;
		case WDK_ACT_PET:
			if (kp->ops->pet(kp->ctx, err, sizeof(err)) == 0)
				break;
			kp->pet_fails++;
			now = clock_mono_ms();
			if (kp->pet_fail_logged == 0 ||
			    now - kp->pet_fail_logged >= PET_ERR_LOG_MS) {
				log_errx("wdkeeper: cannot pet the %s watchdog: %s (%" PRIu64
				         " failures in the last %d s)",
				         kp->ops->name, err, kp->pet_fails, PET_ERR_LOG_MS / 1000);
				kp->pet_fail_logged = now;
				kp->pet_fails = 0;
			}
			break;
		case WDK_ACT_DISARM:
			if (kp->ops->disarm(kp->ctx, err, sizeof(err)) < 0)
				log_errx("wdkeeper: cannot disarm the %s watchdog: %s",
				         kp->ops->name, err);
			else
				log_notice("wdkeeper: %s watchdog disarmed", kp->ops->name);
			record_void(kp); /* a disarmed watchdog fires no more */
			break;
		case WDK_ACT_RESET:
			log_errx("wdkeeper: resetting the host: %s", a->reason);
			if (kp->ops->reset(kp->ctx, a->reason, err, sizeof(err)) < 0)
				log_errx("wdkeeper: the reset failed: %s; the watchdog, no longer "
				         "petted, resets the host if armed",
				         err);
			break;
		case WDK_ACT_STATUS:
			send_status(kp);
			break;
		case WDK_ACT_STOPPED:
			record_stop(kp, a->reason);
			break;
		case WDK_ACT_RESUMED:
			record_void(kp);
			break;
		}
	}
}

static int
feed(struct keeper *kp, enum wdk_event_type type, const struct wd_msg *m)
{
	struct wdk_event ev = {.type = type, .msg = m};
	struct wdk_actions acts;
	int rc;

	rc = wdk_step(kp->wdk, &ev, clock_mono_ms(), &acts);
	if (rc == 0)
		run_actions(kp, &acts);
	reschedule(kp);
	return rc;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	feed(arg, WDK_EV_TICK, NULL);
}

static void
reschedule(struct keeper *kp)
{
	uint64_t d = wdk_next_deadline(kp->wdk), now = clock_mono_ms(), in;
	struct timeval tv;

	event_del(kp->ev_timer);
	if (d == UINT64_MAX)
		return;
	in = d > now ? d - now : 0;
	tv.tv_sec = (time_t)(in / 1000);
	tv.tv_usec = (suseconds_t)(in % 1000) * 1000;
	evtimer_add(kp->ev_timer, &tv);
}

static void
client_gone(struct keeper *kp, const char *why)
{
	log_info("wdkeeper: daemon connection closed: %s", why);
	event_del(kp->ev_client);
	event_free(kp->ev_client);
	kp->ev_client = NULL;
	close(kp->cfd);
	kp->cfd = -1;
	feed(kp, WDK_EV_DISCONNECT, NULL);
}

static void
on_client(evutil_socket_t fd, short what, void *arg)
{
	struct keeper *kp = arg;
	uint8_t buf[WD_MSG_MAX + 1];
	struct wd_msg m;
	const char *why;
	ssize_t n;

	for (;;) {
		n = recv(kp->cfd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n < 0) {
			client_gone(kp, strerror(errno));
			return;
		}
		if (n == 0) {
			client_gone(kp, "end of file");
			return;
		}
		if ((size_t)n > WD_MSG_MAX) {
			kp->bad_msgs++;
			log_warnx("wdkeeper: a %zd-byte message from the daemon dropped (too long)",
			          n);
			continue;
		}
		if (wd_msg_decode(buf, (size_t)n, &m, &why) < 0) {
			kp->bad_msgs++;
			log_warnx("wdkeeper: a message from the daemon dropped: %s", why);
			continue;
		}
		/* ARM and DISARM always get an answer, also when refused (FENCED):
		** the STATUS tells the daemon why nothing happened. */
		if (feed(kp, WDK_EV_MSG, &m) < 0 &&
		    (m.type == WD_MSG_ARM || m.type == WD_MSG_DISARM))
			send_status(kp);
		if (kp->cfd < 0)
			return;
	}
}

static void
on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct keeper *kp = arg;
	int c;

	c = accept4(kp->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			log_warn("wdkeeper: accept");
		return;
	}
	if (kp->cfd >= 0 || feed(kp, WDK_EV_CONNECT, NULL) < 0) {
		log_warnx("wdkeeper: another connection closed: one daemon at a time");
		close(c);
		return;
	}
	kp->cfd = c;
	kp->ev_client = event_new(kp->base, c, EV_READ | EV_PERSIST, on_client, kp);
	if (kp->ev_client == NULL || event_add(kp->ev_client, NULL) < 0)
		fatalx("wdkeeper: cannot watch the daemon connection");
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct keeper *kp = arg;
	struct wd_msg st;

	wdk_status(kp->wdk, &st);
	if (st.u.status.armed) {
		log_errx("wdkeeper: signal %d: exiting with the watchdog ARMED (%" PRIu32
		         " ms, state %s): it is not disarmed, and resets this host within %" PRIu32
		         " ms unless a keeper is started again and the daemon re-arms it",
		         (int)sig, st.u.status.timeout_ms, wdk_state_name(wdk_get_state(kp->wdk)),
		         st.u.status.timeout_ms);
		kp->exit_code = 1;
	} else {
		log_notice("wdkeeper: signal %d: exiting, the watchdog is disarmed", (int)sig);
		kp->exit_code = 0;
	}
	event_base_loopbreak(kp->base);
}

/* 0 if something answers at `path` (a live keeper). */
static int
probe(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rc;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return rc;
}

static int
listen_on(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char tmp[sizeof(sa.sun_path)];
	const char *dir;
	struct stat st;
	mode_t old;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s", path);
	dir = dirname(tmp);
	if (stat(dir, &st) < 0) {
		if (errno != ENOENT || mkdir(dir, 0700) < 0) {
			log_err("wdkeeper: %s", dir);
			return -1;
		}
		log_info("wdkeeper: created %s (mode 0700)", dir);
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_errx("wdkeeper: %s exists and is not a socket", path);
			return -1;
		}
		if (probe(path) == 0) {
			log_errx("wdkeeper: another keeper is listening on %s", path);
			return -1;
		}
		log_info("wdkeeper: replacing the stale socket %s", path);
		unlink(path);
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("wdkeeper: socket");
		return -1;
	}
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		umask(old);
		log_err("wdkeeper: bind %s", path);
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(path, 0600) < 0 || listen(fd, 4) < 0) {
		log_err("wdkeeper: listen %s", path);
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

static int
open_driver(struct keeper *kp, const struct config *cfg)
{
	char err[256];

	switch (cfg->watchdog_driver) {
	case CONFIG_WD_SIM:
		kp->hv = hv_sim_open(cfg->hv_socket, err, sizeof(err));
		break;
	case CONFIG_WD_XEN:
		kp->hv = hv_xen_open(NULL, err, sizeof(err));
		break;
	case CONFIG_WD_LINUX:
		kp->wdl = wd_linux_new(cfg->watchdog_device, 0);
		kp->ops = &wd_linux_ops;
		kp->ctx = kp->wdl;
		return 0;
	}
	if (kp->hv == NULL) {
		log_errx("wdkeeper: cannot open the %s watchdog: %s",
		         config_watchdog_driver_name(cfg->watchdog_driver), err);
		return -1;
	}
	kp->ops = &hv_wd_ops;
	kp->ctx = kp->hv;
	return 0;
}

static int
keeper_run(const struct config *cfg, int foreground)
{
	static const int sigs[2] = {SIGTERM, SIGINT};
	struct keeper kp;
	int i, rc = 1;

	memset(&kp, 0, sizeof(kp));
	kp.lfd = kp.cfd = -1;
	kp.cfg = cfg;
	kp.exit_code = 1;
	if (strlen(cfg->watchdog_keeper_socket) >= sizeof(kp.path)) {
		log_errx("wdkeeper: the keeper socket path is too long");
		return 1;
	}
	snprintf(kp.path, sizeof(kp.path), "%s", cfg->watchdog_keeper_socket);
	signal(SIGPIPE, SIG_IGN);
	if (!foreground && daemon(0, 0) < 0) {
		log_err("wdkeeper: daemon");
		return 1;
	}
	if (open_driver(&kp, cfg) < 0)
		return 1;
	kp.lfd = listen_on(kp.path);
	if (kp.lfd < 0)
		goto out;
	kp.base = event_base_new();
	if (kp.base == NULL)
		fatalx("wdkeeper: cannot create an event base");
	kp.wdk = wdk_new(0);
	kp.ev_listen = event_new(kp.base, kp.lfd, EV_READ | EV_PERSIST, on_accept, &kp);
	kp.ev_timer = evtimer_new(kp.base, on_timer, &kp);
	if (kp.ev_listen == NULL || kp.ev_timer == NULL || event_add(kp.ev_listen, NULL) < 0)
		fatalx("wdkeeper: cannot set up the loop");
	for (i = 0; i < 2; i++) {
		kp.ev_sig[i] = evsignal_new(kp.base, sigs[i], on_signal, &kp);
		if (kp.ev_sig[i] == NULL || evsignal_add(kp.ev_sig[i], NULL) < 0)
			fatalx("wdkeeper: cannot watch signal %d", sigs[i]);
	}
	log_notice("wdkeeper: holding the %s watchdog for hasvcd on %s (pid %d)",
	           config_watchdog_driver_name(cfg->watchdog_driver), kp.path, (int)getpid());
	event_base_dispatch(kp.base);
	rc = kp.exit_code;

	if (kp.ev_client != NULL)
		event_free(kp.ev_client);
	if (kp.cfd >= 0)
		close(kp.cfd);
	for (i = 0; i < 2; i++)
		if (kp.ev_sig[i] != NULL)
			event_free(kp.ev_sig[i]);
	event_free(kp.ev_listen);
	event_free(kp.ev_timer);
	wdk_free(kp.wdk);
	event_base_free(kp.base);
out:
	if (kp.lfd >= 0) {
		close(kp.lfd);
		unlink(kp.path);
	}
	/* Neither closes disarm: an armed watchdog stays armed. */
	hv_close(kp.hv);
	wd_linux_free(kp.wdl);
	return rc;
}

/* ---- ctl ------------------------------------------------------------------- */

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr, "usage: hasvc-wdkeeper [-c FILE] [-f] [-d]\n"
	                "       hasvc-wdkeeper ctl SOCKET COMMAND [ARGS] [COMMAND [ARGS]]...\n"
	                "         hello | arm TIMEOUT_MS PET_MS | pet LEASE_MS|+MS | disarm |\n"
	                "         fence TIMEOUT_MS | reset REASON | hold SECONDS\n");
	exit(2);
}

static int
ctl_send(int fd, const struct wd_msg *m)
{
	uint8_t buf[WD_MSG_MAX];
	size_t n = wd_msg_encode(m, buf, sizeof(buf));

	if (n == 0) {
		fprintf(stderr, "hasvc-wdkeeper ctl: a %s message with a value out of range\n",
		        wd_msg_type_name(m->type));
		return -1;
	}
	if (send(fd, buf, n, MSG_NOSIGNAL) != (ssize_t)n) {
		fprintf(stderr, "hasvc-wdkeeper ctl: send: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* Wait for a STATUS (5 s) and print it if `print`. */
static int
ctl_status(int fd, int print)
{
	uint8_t buf[WD_MSG_MAX + 1];
	struct wd_msg m;
	const char *why;
	ssize_t n;

	n = recv(fd, buf, sizeof(buf), MSG_TRUNC);
	if (n <= 0) {
		fprintf(stderr, "hasvc-wdkeeper ctl: no answer from the keeper: %s\n",
		        n == 0 ? "connection closed" : strerror(errno));
		return -1;
	}
	if ((size_t)n > WD_MSG_MAX || wd_msg_decode(buf, (size_t)n, &m, &why) < 0 ||
	    m.type != WD_MSG_STATUS) {
		fprintf(stderr, "hasvc-wdkeeper ctl: a bad answer from the keeper\n");
		return -1;
	}
	if (print)
		printf("armed: %d\nfenced: %d\ntimeout-ms: %" PRIu32 "\nlease-ms: %" PRIu64
		       "\nresets: %" PRIu32 "\n",
		       m.u.status.armed, m.u.status.fenced, m.u.status.timeout_ms,
		       m.u.status.lease_ms, m.u.status.resets);
	fflush(stdout);
	return 0;
}

static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int
parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;

	if (parse_u64(s, &v) < 0 || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
ctl_main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {5, 0};
	struct wd_msg m;
	uint64_t v;
	int fd, i;

	if (argc < 2)
		usage();
	/* Check every command before connecting. */
	for (i = 1; i < argc; i++) {
		const char *c = argv[i];
		uint32_t a, b;

		if (strcmp(c, "hello") == 0 || strcmp(c, "disarm") == 0)
			continue;
		if (strcmp(c, "arm") == 0 && i + 2 < argc && parse_u32(argv[i + 1], &a) == 0 &&
		    parse_u32(argv[i + 2], &b) == 0) {
			i += 2;
			continue;
		}
		if (strcmp(c, "pet") == 0 && i + 1 < argc &&
		    parse_u64(argv[i + 1] + (argv[i + 1][0] == '+'), &v) == 0) {
			i++;
			continue;
		}
		if ((strcmp(c, "reset") == 0 && i + 1 < argc) ||
		    (strcmp(c, "fence") == 0 && i + 1 < argc && parse_u32(argv[i + 1], &a) == 0) ||
		    (strcmp(c, "hold") == 0 && i + 1 < argc && parse_u32(argv[i + 1], &a) == 0)) {
			i++;
			continue;
		}
		usage();
	}
	if (strlen(argv[0]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "hasvc-wdkeeper ctl: socket path too long\n");
		return 1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[0]);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "hasvc-wdkeeper ctl: %s: %s\n", argv[0], strerror(errno));
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&m, 0, sizeof(m));
	m.type = WD_MSG_HELLO;
	m.u.hello.pid = (uint32_t)getpid();
	if (ctl_send(fd, &m) < 0 || ctl_status(fd, strcmp(argv[1], "hello") == 0) < 0)
		goto fail;
	for (i = 1; i < argc; i++) {
		const char *c = argv[i];

		memset(&m, 0, sizeof(m));
		if (strcmp(c, "hello") == 0) {
			if (i == 1)
				continue; /* answered above */
			m.type = WD_MSG_HELLO;
			m.u.hello.pid = (uint32_t)getpid();
			if (ctl_send(fd, &m) < 0 || ctl_status(fd, 1) < 0)
				goto fail;
		} else if (strcmp(c, "arm") == 0) {
			m.type = WD_MSG_ARM;
			parse_u32(argv[++i], &m.u.arm.timeout_ms);
			parse_u32(argv[++i], &m.u.arm.pet_ms);
			if (ctl_send(fd, &m) < 0 || ctl_status(fd, 1) < 0)
				goto fail;
		} else if (strcmp(c, "pet") == 0) {
			const char *a = argv[++i];

			m.type = WD_MSG_PET;
			parse_u64(a + (a[0] == '+'), &v);
			m.u.pet.lease_ms = a[0] == '+' ? clock_mono_ms() + v : v;
			if (ctl_send(fd, &m) < 0)
				goto fail;
			printf("pet: lease-ms %" PRIu64 "\n", m.u.pet.lease_ms);
			fflush(stdout);
		} else if (strcmp(c, "disarm") == 0) {
			m.type = WD_MSG_DISARM;
			if (ctl_send(fd, &m) < 0 || ctl_status(fd, 1) < 0)
				goto fail;
		} else if (strcmp(c, "fence") == 0) {
			m.type = WD_MSG_FENCE;
			parse_u32(argv[++i], &m.u.fence.timeout_ms);
			if (ctl_send(fd, &m) < 0 || ctl_status(fd, 1) < 0)
				goto fail;
		} else if (strcmp(c, "reset") == 0) {
			m.type = WD_MSG_RESET;
			snprintf(m.u.reset.reason, sizeof(m.u.reset.reason), "%s", argv[++i]);
			if (ctl_send(fd, &m) < 0)
				goto fail;
		} else if (strcmp(c, "hold") == 0) {
			uint32_t s = 0;

			parse_u32(argv[++i], &s);
			sleep(s);
		}
	}
	close(fd);
	return 0;
fail:
	close(fd);
	return 1;
}

int
main(int argc, char **argv)
{
	const char *path = CONFIG_DEFAULT_PATH;
	struct config cfg;
	int ch, foreground = 0, debug = 0, flags, rc;

	if (argc >= 2 && strcmp(argv[1], "ctl") == 0) {
		log_init("hasvc-wdkeeper-ctl", LOG_TO_STDERR | LOG_NO_BLACKBOX, LOG_WARNING);
		rc = ctl_main(argc - 2, argv + 2);
		log_fini();
		return rc;
	}
	while ((ch = getopt(argc, argv, "c:fd")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'd':
			debug = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (config_load_or_say(path, &cfg) < 0)
		return 1;
	flags = LOG_TO_STDERR | (cfg.log_syslog ? LOG_TO_SYSLOG : 0);
	log_init("hasvc-wdkeeper", flags, debug ? LOG_DEBUG : cfg.log_level);
	rc = keeper_run(&cfg, foreground);
	log_fini();
	return rc;
}
