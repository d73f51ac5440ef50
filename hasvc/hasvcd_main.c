/*
** hasvcd: the hasvc daemon, one per pool host.
**
**     hasvcd [-c FILE] [-n] [-d]
**
**   -c FILE  configuration file (default /etc/hasvc/hasvcd.conf)
**   -n       check the configuration, print every problem with its line
**            number, and exit: 0 if it is valid, 1 if not
**   -d       debug: log at debug level to stderr as well
**
** hasvcd stays in the foreground; systemd (dist/hasvcd.service) supervises it.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hasvc/config.h"
#include "hasvc/daemon.h"
#include "lib/log.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: hasvcd [-c FILE] [-n] [-d]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *path = CONFIG_DEFAULT_PATH;
	struct config cfg;
	int ch, check_only = 0, debug = 0, flags, rc;

	while ((ch = getopt(argc, argv, "c:nd")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check_only = 1;
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
	if (check_only) {
		printf("%s: configuration OK\n", path);
		return 0;
	}
	flags = LOG_TO_STDERR | (cfg.log_syslog ? LOG_TO_SYSLOG : 0);
	log_init("hasvcd", flags, debug ? LOG_DEBUG : cfg.log_level);
	rc = daemon_run(&cfg);
	log_fini();
	if (rc == DAEMON_EXIT_RESTART) {
		/* Same process, same arguments, a fresh start: the pid the
		** supervisor (or hasvc-lab) knows stays valid. */
		execv("/proc/self/exe", argv);
		fprintf(stderr, "hasvcd: cannot restart itself: %s\n", strerror(errno));
		return 1;
	}
	return rc;
}
