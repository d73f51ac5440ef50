/*
** `hasvc-simhv ctl SOCKET COMMAND [ARGS]`: one request to a running simhv, for
** tests, the demo and fault injection.  Output is plain text, one line per
** item; a failed request prints simhv's sentence on stderr and exits 1.
*/
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lab/simhv.h"
#include "lib/check.h"
#include "lib/clock.h"
#include "lib/simhv_proto.h"
#include "lib/xmalloc.h"

#define CTL_DEADLINE_MS 5000

struct ctl_cmd {
	const char *name;
	unsigned type;
	int nargs_min, nargs_max;
	const char *usage;
};

static const struct ctl_cmd cmds[] = {
	{"info", SIMHV_HOST_INFO, 0, 0, ""},
	{"list", SIMHV_LIST_DOMAINS, 0, 0, ""},
	{"start", SIMHV_START, 2, 4, "UUID MEM_MIB [VCPUS [NAME]]"},
	{"shutdown", SIMHV_SHUTDOWN, 1, 1, "UUID"},
	{"destroy", SIMHV_DESTROY, 1, 1, "UUID"},
	{"crash", SIMHV_CRASH_DOMAIN, 1, 1, "UUID"},
	{"guest-shutdown", SIMHV_GUEST_SHUTDOWN, 1, 1, "UUID"},
	{"wd-arm", SIMHV_WD_ARM, 1, 1, "MS"},
	{"wd-pet", SIMHV_WD_PET, 0, 0, ""},
	{"wd-disarm", SIMHV_WD_DISARM, 0, 0, ""},
	{"register-pid", SIMHV_REGISTER_PID, 1, 1, "PID"},
	{"reset", SIMHV_SELF_RESET, 1, 1, "REASON"},
	{"power-on", SIMHV_POWER_ON, 0, 0, ""},
	{"status", SIMHV_STATUS, 0, 0, ""},
};

static void
usage(void)
{
	size_t i;

	fprintf(stderr, "usage: hasvc-simhv ctl SOCKET COMMAND [ARGS]\ncommands:\n");
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(stderr, "  %s %s\n", cmds[i].name, cmds[i].usage);
}

static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
fill_request(const struct ctl_cmd *cmd, char **args, int nargs, struct simhv_msg *m)
{
	uint64_t v;

	m->type = (uint16_t)cmd->type;
	switch (cmd->type) {
	case SIMHV_START:
		if (snprintf(m->u.start.uuid, sizeof(m->u.start.uuid), "%s", args[0]) >=
			    (int)sizeof(m->u.start.uuid) ||
		    parse_u64(args[1], UINT64_MAX >> 20, &v) < 0)
			return -1;
		m->u.start.memory = v << 20;
		m->u.start.vcpus = 1;
		if (nargs > 2) {
			if (parse_u64(args[2], UINT32_MAX, &v) < 0)
				return -1;
			m->u.start.vcpus = (uint32_t)v;
		}
		snprintf(m->u.start.name, sizeof(m->u.start.name), "%s",
			 nargs > 3 ? args[3] : "ctl-vm");
		return 0;
	case SIMHV_SHUTDOWN:
	case SIMHV_DESTROY:
	case SIMHV_CRASH_DOMAIN:
	case SIMHV_GUEST_SHUTDOWN:
		return snprintf(m->u.dom.uuid, sizeof(m->u.dom.uuid), "%s", args[0]) <
			       (int)sizeof(m->u.dom.uuid)
			       ? 0
			       : -1;
	case SIMHV_WD_ARM:
		if (parse_u64(args[0], UINT32_MAX, &v) < 0)
			return -1;
		m->u.wd.timeout_ms = (uint32_t)v;
		return 0;
	case SIMHV_REGISTER_PID:
		if (parse_u64(args[0], INT32_MAX, &v) < 0)
			return -1;
		m->u.pid.pid = (uint32_t)v;
		return 0;
	case SIMHV_SELF_RESET:
		snprintf(m->u.reset.reason, sizeof(m->u.reset.reason), "%s", args[0]);
		return 0;
	}
	return 0;
}

static void
print_reply(const struct simhv_msg *rep)
{
	char when[64];
	uint32_t i;

	switch (rep->u.reply.req) {
	case SIMHV_HOST_INFO: {
		const struct simhv_host_info *h = &rep->u.reply.u.info;

		printf("host: %s\n", h->host);
		printf("memory-total-mib: %" PRIu64 "\n", h->memory_total >> 20);
		printf("memory-free-mib: %" PRIu64 "\n", h->memory_free >> 20);
		printf("cpus: %u\n", h->cpus);
		printf("power: %s\n", h->powered_on ? "on" : "off");
		printf("resets: %u\n", h->resets);
		break;
	}
	case SIMHV_LIST_DOMAINS:
		for (i = 0; i < rep->u.reply.u.list.n; i++) {
			const struct simhv_domain *d = &rep->u.reply.u.list.d[i];

			printf("%s %s %" PRIu64 "MiB %uvcpus %s\n", d->uuid,
			       simhv_dom_state_name(d->state), d->memory >> 20, d->vcpus, d->name);
		}
		break;
	case SIMHV_STATUS: {
		const struct simhv_status *s = &rep->u.reply.u.status;
		time_t t = (time_t)s->last_reset_wall;
		struct tm tm;

		printf("power: %s\n", s->powered_on ? "on" : "off");
		printf("resets: %u\n", s->resets);
		if (s->resets) {
			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
			printf("last-reset: %s mono_ns=%" PRIu64 "\n", when, s->last_reset_mono_ns);
			printf("last-reset-reason: %s\n", s->last_reason);
		}
		if (s->wd_armed)
			printf("watchdog: armed %u ms\n", s->wd_timeout_ms);
		else
			printf("watchdog: disarmed\n");
		printf("domains: %u\n", s->ndomains);
		printf("registered-pids: %u\n", s->npids);
		break;
	}
	default:
		printf("%s\n", rep->u.reply.message);
	}
}

int
simhv_ctl(int argc, char **argv)
{
	const struct ctl_cmd *cmd = NULL;
	struct simhv_reader *rd = NULL;
	struct simhv_msg *req = NULL, *rep = NULL, *hello = NULL;
	char err[256];
	int fd = -1, rc = 1, nargs;
	size_t i;

	if (argc < 2) {
		usage();
		return 2;
	}
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			cmd = &cmds[i];
	nargs = argc - 2;
	if (cmd == NULL || nargs < cmd->nargs_min || nargs > cmd->nargs_max) {
		usage();
		return 2;
	}
	req = xcalloc(1, sizeof(*req));
	rep = xcalloc(1, sizeof(*rep));
	rd = xcalloc(1, sizeof(*rd));
	if (fill_request(cmd, argv + 2, nargs, req) < 0) {
		fprintf(stderr, "hasvc-simhv ctl %s: bad arguments\n", cmd->name);
		usage();
		rc = 2;
		goto out;
	}
	fd = simhv_connect(argv[0], err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "hasvc-simhv ctl: %s\n", err);
		goto out;
	}
	/* Introduce ourselves, so that simhv's log and ledger name us. */
	hello = xcalloc(1, sizeof(*hello));
	hello->type = SIMHV_HELLO;
	hello->seq = 1;
	snprintf(hello->u.hello.name, sizeof(hello->u.hello.name), "ctl");
	hello->u.hello.pid = (uint32_t)getpid();
	if (simhv_call(fd, rd, hello, rep, clock_mono_ms() + CTL_DEADLINE_MS, NULL, NULL) < 0) {
		fprintf(stderr, "hasvc-simhv ctl: hello: %s\n", strerror(errno));
		goto out;
	}
	req->seq = 2;
	if (simhv_call(fd, rd, req, rep, clock_mono_ms() + CTL_DEADLINE_MS, NULL, NULL) < 0) {
		fprintf(stderr, "hasvc-simhv ctl %s: %s\n", cmd->name, strerror(errno));
		goto out;
	}
	if (rep->u.reply.status != 0) {
		fprintf(stderr, "hasvc-simhv ctl %s: %s (%s)\n", cmd->name, rep->u.reply.message,
			strerror((int)rep->u.reply.status));
		goto out;
	}
	print_reply(rep);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	xfree(rd);
	xfree(hello);
	xfree(req);
	xfree(rep);
	return rc;
}
