/*
** A small server around api/httpd for tests/host/httpd.sh.
**
**   httpd_echo --cert FILE --key FILE [--port N] [--max-body BYTES]
**              [--request-timeout MS] [--idle-timeout MS] [--max-conn N]
**
** Generates the certificate pair with tlscert_ensure() if it is missing,
** prints the bound port on stdout (one line, flushed), logs to stderr and
** exits 0 on SIGTERM or SIGINT.  Endpoints:
**   POST /echo          200, the request body back
**   POST /delay?ms=N    200 "delayed N" after N ms (a deferred reply); if the
**                       client leaves first, logs "abort /delay ms=N"
**   GET  /conns         200, httpd_connections()
**   anything else       404
*/
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "api/httpd.h"
#include "api/tlscert.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

struct delayed {
	struct httpd_req *req;
	struct event *timer;
	unsigned long ms;
};

static struct httpd *server;

static void
delay_done(evutil_socket_t fd, short what, void *arg)
{
	struct delayed *d = arg;
	char *msg = xasprintf("delayed %lu\n", d->ms);

	httpd_reply(d->req, 200, "text/plain", msg, strlen(msg));
	xfree(msg);
	event_free(d->timer);
	xfree(d);
}

static void
delay_abort(void *arg)
{
	struct delayed *d = arg;

	log_notice("abort /delay ms=%lu", d->ms);
	event_free(d->timer);
	xfree(d);
}

static void
handle(void *arg, struct httpd_req *req)
{
	struct event_base *base = arg;
	const char *m = httpd_req_method(req), *path = httpd_req_path(req);
	const char *q = httpd_req_query(req);
	size_t len;
	const char *body = httpd_req_body(req, &len);

	if (!strcmp(m, "POST") && !strcmp(path, "/echo")) {
		httpd_reply(req, 200, "application/octet-stream", body, len);
	} else if (!strcmp(m, "POST") && !strcmp(path, "/delay") && q && !strncmp(q, "ms=", 3)) {
		struct delayed *d = xcalloc(1, sizeof(*d));
		struct timeval tv;

		d->req = req;
		d->ms = strtoul(q + 3, NULL, 10);
		d->timer = evtimer_new(base, delay_done, d);
		tv.tv_sec = (time_t)(d->ms / 1000);
		tv.tv_usec = (suseconds_t)(d->ms % 1000) * 1000;
		evtimer_add(d->timer, &tv);
		httpd_req_on_abort(req, delay_abort, d);
	} else if (!strcmp(m, "GET") && !strcmp(path, "/conns")) {
		char *msg = xasprintf("%u\n", httpd_connections(server));

		httpd_reply(req, 200, "text/plain", msg, strlen(msg));
		xfree(msg);
	} else {
		httpd_reply(req, 404, "text/plain", "not found\n", 10);
	}
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	log_notice("signal %d: exiting", (int)sig);
	event_base_loopexit(arg, NULL);
}

static void
usage(void)
{
	fprintf(stderr, "usage: httpd_echo --cert FILE --key FILE [--port N] [--max-body BYTES]\n"
	                "       [--request-timeout MS] [--idle-timeout MS] [--max-conn N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"port", required_argument, NULL, 'p'},
	    {"cert", required_argument, NULL, 'c'},
	    {"key", required_argument, NULL, 'k'},
	    {"max-body", required_argument, NULL, 'b'},
	    {"request-timeout", required_argument, NULL, 'r'},
	    {"idle-timeout", required_argument, NULL, 'i'},
	    {"max-conn", required_argument, NULL, 'm'},
	    {NULL, 0, NULL, 0},
	};
	static const char *const sans[] = {"127.0.0.1", "localhost"};
	struct httpd_config cfg = {.address = "127.0.0.1"};
	struct event_base *base;
	struct event *sigterm, *sigint;
	char err[512];
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			cfg.port = (uint16_t)atoi(optarg);
			break;
		case 'c':
			cfg.cert_path = optarg;
			break;
		case 'k':
			cfg.key_path = optarg;
			break;
		case 'b':
			cfg.max_body = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			cfg.request_timeout_ms = (unsigned)atoi(optarg);
			break;
		case 'i':
			cfg.idle_timeout_ms = (unsigned)atoi(optarg);
			break;
		case 'm':
			cfg.max_connections = (unsigned)atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (!cfg.cert_path || !cfg.key_path || optind != argc)
		usage();
	log_init("httpd_echo", LOG_TO_STDERR | LOG_NO_BLACKBOX, LOG_DEBUG);
	signal(SIGPIPE, SIG_IGN);
	if (tlscert_ensure(cfg.cert_path, cfg.key_path, "localhost", sans, 2, err, sizeof(err)) < 0)
		fatalx("%s", err);
	base = event_base_new();
	if (!base)
		fatalx("event_base_new failed");
	server = httpd_new(base, &cfg, handle, base, err, sizeof(err));
	if (!server)
		fatalx("%s", err);
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	printf("%u\n", (unsigned)httpd_port(server));
	fflush(stdout);
	event_base_dispatch(base);
	httpd_free(server);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(base);
	log_fini();
	return 0;
}
