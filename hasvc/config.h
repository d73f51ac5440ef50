/*
** hasvcd's local configuration: one XML file (libxml2), default
** /etc/hasvc/hasvcd.conf, overridable with `hasvcd -c FILE`.  See
** docs/configuration.md for the format.
**
** Loading is strict: an unknown element or attribute, a missing required
** element, a repeated single element, or a bad value is an error, never
** silently ignored.  config_load() reports *every* problem it finds, each as
** one line "FILE:LINE: message", not only the first.
**
** The parser never fetches anything: no network, no external entities, and
** a document type declaration (<!DOCTYPE ...>) is refused outright, so no
** entity can be declared at all.
*/
#ifndef HASVC_HASVC_CONFIG_H
#define HASVC_HASVC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ids.h"

#define CONFIG_DEFAULT_PATH  "/etc/hasvc/hasvcd.conf"
#define CONFIG_PATH_LEN      4096
#define CONFIG_MAX_ADDRS     2
#define CONFIG_MAX_HOOKS     4
#define CONFIG_MAX_FILE_SIZE (1024 * 1024) /* larger files are refused */
#define CONFIG_DEFAULT_KEEPER_SOCKET "/run/hasvc/wdkeeper.sock"
#define CONFIG_MAX_ERRORS    100           /* later problems are summed up in one last error */

enum config_watchdog_driver {
	CONFIG_WD_XEN = 0,
	CONFIG_WD_LINUX,
	CONFIG_WD_SIM,
};

enum config_hv_backend {
	CONFIG_HV_XEN = 0,
	CONFIG_HV_SIM,
};

struct config {
	char host_uuid[HA_UUID_LEN];
	size_t naddrs;
	char management_address[CONFIG_MAX_ADDRS][64]; /* IPv4 or IPv6 literal */
	char data_dir[CONFIG_PATH_LEN];
	char statefile[CONFIG_PATH_LEN]; /* "" = none configured (quorum-only pool) */

	enum config_watchdog_driver watchdog_driver;
	char watchdog_device[CONFIG_PATH_LEN]; /* linux driver only; required there */
	uint32_t watchdog_timeout_ms;          /* default 30000 */
	/* hasvc-wdkeeper's socket (docs/fencing.md, "The keeper"); an AF_UNIX
	** path, shorter than sun_path.  Default /run/hasvc/wdkeeper.sock. */
	char watchdog_keeper_socket[CONFIG_PATH_LEN];

	enum config_hv_backend hv_backend;
	char hv_socket[CONFIG_PATH_LEN]; /* sim backend only; required there */

	char api_address[64];                  /* default "0.0.0.0" */
	uint16_t api_port;                     /* default 443; 1..65535 */
	char api_certificate[CONFIG_PATH_LEN]; /* default <data_dir>/xapi-ssl.pem */
	char api_key[CONFIG_PATH_LEN];         /* default <data_dir>/xapi-ssl.key */
	/* Read once, at a start with no API user, to create "root" (pool-admin);
	** "" = prompt on a terminal, else no user until one is added. */
	char api_root_password_file[CONFIG_PATH_LEN];
	/* <metrics-auth> basic|none: GET /metrics needs HTTP Basic credentials
	** of an API user (0, the default) or nothing (1; docs/metrics.md).
	** The values are enum metrics_auth's (hasvc/metrics.h). */
	int api_metrics_auth; /* 0 basic (default), 1 none */

	/* <cluster>: present = this host is a member of a multi-host pool over
	** corosync (docs/cluster.md); absent = a standalone one-host pool.
	** hasvcd writes corosync.conf and the authkey from the pool database. */
	int cluster;
	char corosync_conf[CONFIG_PATH_LEN];      /* default /etc/corosync/corosync.conf */
	char corosync_authkey[CONFIG_PATH_LEN];   /* default /etc/corosync/authkey */
	char corosync_log[CONFIG_PATH_LEN];       /* default /var/log/corosync/corosync.log */
	char corosync_state_dir[CONFIG_PATH_LEN]; /* default /var/lib/corosync */

	/* <notify>: alert hook scripts (docs/monitoring.md), run with the alert
	** as JSON on stdin, killed after hook_timeout_ms (default 5000). */
	size_t nhooks;
	char notify_hook[CONFIG_MAX_HOOKS][CONFIG_PATH_LEN];
	uint32_t notify_hook_timeout_ms;

	int log_level;  /* syslog priority, default LOG_INFO */
	int log_syslog; /* default 1 */
};

/* One problem found in a file. */
struct config_error {
	int line;       /* 0 when the problem has no line (e.g. file unreadable) */
	char msg[256];  /* the sentence alone, e.g. "<port> -1 is out of range: ..." */
	char text[512]; /* the full line: "FILE:LINE: sentence" ("FILE: sentence" when line is 0) */
};

struct config_errors {
	struct config_error *v;
	size_t n;
};

/* Parse `path` into `cfg`.  Returns 0 when the file is valid; -1 otherwise,
** with every problem appended to `errs` (caller frees with
** config_errors_clear).  `cfg` holds defaults where the file was silent; on
** failure its contents are unspecified.  Files that are not regular files or
** are larger than CONFIG_MAX_FILE_SIZE are refused. */
int config_load(const char *path, struct config *cfg, struct config_errors *errs);

/* config_load() for a program's start: every error printed on stderr, then
** "PATH: configuration is not valid".  0, or -1. */
int config_load_or_say(const char *path, struct config *cfg);
/* The same from a memory buffer; `name` is used in messages. */
int config_parse(const char *buf, size_t len, const char *name, struct config *cfg,
                 struct config_errors *errs);
/* Empty `errs` (free its vector); safe on an already empty one. */
void config_errors_clear(struct config_errors *errs);

/* Fill `cfg` with every default: what an empty <hasvcd version="1"/> would
** give, apart from the required host-uuid and management-address. */
void config_defaults(struct config *cfg);

const char *config_watchdog_driver_name(enum config_watchdog_driver d);
const char *config_hv_backend_name(enum config_hv_backend b);

#endif
