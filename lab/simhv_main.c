/*
** hasvc-simhv: the simulated hypervisor of one host (docs/simhv.md).
**
**   hasvc-simhv --host NAME --socket PATH [options]   serve
**   hasvc-simhv ctl SOCKET COMMAND [ARGS]             one request, for tests
**   hasvc-simhv --check-ledger FILE                   audit a ledger
*/
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab/simhv.h"
#include "lib/log.h"
#include "lib/simhv_proto.h"

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: hasvc-simhv --host NAME --socket PATH [options]\n"
		"       hasvc-simhv ctl SOCKET COMMAND [ARGS]   (hasvc-simhv ctl - help)\n"
		"       hasvc-simhv --check-ledger FILE\n"
		"options:\n"
		"  --ledger FILE          shared ledger of domain starts and stops\n"
		"  --state-dir DIR        where resets.log is appended\n"
		"  --memory MIB           host memory (default 16384)\n"
		"  --dom0-memory MIB      memory kept by dom0 (default 1024)\n"
		"  --cpus N               (default 16)\n"
		"  --boot-ms MS           a domain reports running after this (default 200)\n"
		"  --shutdown-ms MS       a clean shutdown takes this long (default 200)\n"
		"  --power-on-delay MS    power on this long after a reset; -1: stay off (default)\n"
		"  --on-power-on CMD      run with /bin/sh -c at power-on\n"
		"  -v                     debug logging\n");
}

static int
num(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "hasvc-simhv: %s: '%s' is not a number in [%" PRId64 ", %" PRId64
				"]\n",
			opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"host", required_argument, NULL, 'H'},
		{"socket", required_argument, NULL, 's'},
		{"ledger", required_argument, NULL, 'l'},
		{"state-dir", required_argument, NULL, 'd'},
		{"memory", required_argument, NULL, 'm'},
		{"dom0-memory", required_argument, NULL, '0'},
		{"cpus", required_argument, NULL, 'c'},
		{"boot-ms", required_argument, NULL, 'b'},
		{"shutdown-ms", required_argument, NULL, 'S'},
		{"power-on-delay", required_argument, NULL, 'p'},
		{"on-power-on", required_argument, NULL, 'o'},
		{"check-ledger", required_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct simhv_config cfg;
	int level = LOG_INFO, c, rc;
	int64_t v;
	const char *p;

	if (argc >= 2 && strcmp(argv[1], "ctl") == 0) {
		log_init("hasvc-simhv-ctl", LOG_TO_STDERR | LOG_NO_BLACKBOX, LOG_WARNING);
		rc = simhv_ctl(argc - 2, argv + 2);
		log_fini();
		return rc;
	}
	simhv_config_defaults(&cfg);
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			cfg.host = optarg;
			break;
		case 's':
			cfg.socket_path = optarg;
			break;
		case 'l':
			cfg.ledger_path = optarg;
			break;
		case 'd':
			cfg.state_dir = optarg;
			break;
		case 'o':
			cfg.on_power_on = optarg;
			break;
		case 'L':
			return simhv_check_ledger(optarg);
		case 'm':
			if (num("--memory", optarg, 1, INT64_C(1) << 30, &v) < 0)
				return 2;
			cfg.memory_mib = (uint64_t)v;
			break;
		case '0':
			if (num("--dom0-memory", optarg, 0, INT64_C(1) << 30, &v) < 0)
				return 2;
			cfg.dom0_mib = (uint64_t)v;
			break;
		case 'c':
			if (num("--cpus", optarg, 1, 65536, &v) < 0)
				return 2;
			cfg.cpus = (uint32_t)v;
			break;
		case 'b':
			if (num("--boot-ms", optarg, 0, 3600000, &v) < 0)
				return 2;
			cfg.boot_ms = (uint32_t)v;
			break;
		case 'S':
			if (num("--shutdown-ms", optarg, 0, 3600000, &v) < 0)
				return 2;
			cfg.shutdown_ms = (uint32_t)v;
			break;
		case 'p':
			if (num("--power-on-delay", optarg, -1, 3600000, &cfg.power_on_delay_ms) < 0)
				return 2;
			break;
		case 'v':
			level = LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || cfg.host == NULL || cfg.socket_path == NULL) {
		usage(stderr);
		return 2;
	}
	if (cfg.host[0] == '\0' || strlen(cfg.host) >= SIMHV_HOST_LEN) {
		fprintf(stderr, "hasvc-simhv: --host must be 1 to %d characters\n",
			SIMHV_HOST_LEN - 1);
		return 2;
	}
	for (p = cfg.host; *p; p++)
		if (*p <= ' ' || *p == 0x7f) {
			fprintf(stderr, "hasvc-simhv: --host must not contain white space\n");
			return 2;
		}
	if (cfg.dom0_mib >= cfg.memory_mib) {
		fprintf(stderr, "hasvc-simhv: --dom0-memory must be less than --memory\n");
		return 2;
	}
	log_init("hasvc-simhv", LOG_TO_STDERR, level);
	rc = simhv_run(&cfg);
	log_fini();
	return rc;
}
