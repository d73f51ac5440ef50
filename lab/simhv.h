/*
** hasvc-simhv, the simulated hypervisor of one host (DESIGN §8, docs/simhv.md).
**
**   simhv_run          the server: owns the host's domains, memory and watchdog
**                      and appends every domain start/stop to the shared ledger
**   simhv_ctl          a small client for tests, the demo and fault injection
**   simhv_check_ledger the audit: no VM ran on two hosts at once
*/
#ifndef HASVC_LAB_SIMHV_H
#define HASVC_LAB_SIMHV_H

#include <stdint.h>

struct simhv_config {
	const char *host;        /* host name: no white space, < SIMHV_HOST_LEN */
	const char *socket_path; /* unix socket to listen on */
	const char *ledger_path; /* shared ledger, or NULL for none */
	const char *state_dir;   /* resets.log goes here, or NULL for none */
	const char *on_power_on; /* run with /bin/sh -c at power-on, or NULL */
	uint64_t memory_mib;     /* host memory, dom0 included */
	uint64_t dom0_mib;       /* memory that guests never get */
	uint32_t cpus;
	uint32_t boot_ms;           /* a new domain reports "running" after this */
	uint32_t shutdown_ms;       /* a clean shutdown completes after this */
	int64_t power_on_delay_ms;  /* after a reset; -1: stay off until POWER_ON */
};

/* Fill in the defaults of docs/simhv.md. */
void simhv_config_defaults(struct simhv_config *cfg);

/* Serve until SIGTERM or SIGINT; returns the process exit code.  Fails with
** a message on stderr if the socket or the ledger cannot be opened. */
int simhv_run(const struct simhv_config *cfg);

/* `hasvc-simhv ctl SOCKET COMMAND [ARGS]`: argv[0] is SOCKET.  Prints one
** line per item on stdout; returns 0, 1 on a failed request, 2 on usage. */
int simhv_ctl(int argc, char **argv);

/* `hasvc-simhv --check-ledger FILE`: returns 0 (consistent: a summary is
** printed), 1 (overlaps or inconsistencies, each printed), or 2 (unreadable
** file or malformed line, named with its number). */
int simhv_check_ledger(const char *path);

#endif
