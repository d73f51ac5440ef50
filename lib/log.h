/*
** A tiny logging API over libqb's qb_log (STYLE habit 12).
**
** Every message goes to an in-memory blackbox (the last ~1 MiB of debug-level
** history), which fatal(), fatalx() and a failed ha_assert() write to the
** file named by log_set_blackbox() before the process ends; read it back with
** `qb-blackbox FILE`.  Messages at or above the configured level also go to
** stderr and/or syslog.  The source file (qb's %f) is the subsystem tag.
**
** State changes are logged as sentences with the host/VM first:
**     log_notice("vm %s: halted -> running (reconcile)", uuid);
*/
#ifndef HASVC_LIB_LOG_H
#define HASVC_LIB_LOG_H

#include <syslog.h>
#include <qb/qblog.h>

enum {
	LOG_TO_STDERR = 1 << 0,
	LOG_TO_SYSLOG = 1 << 1,
	/* No blackbox: for short-lived tools.  libqb keeps the blackbox ring in
	** /dev/shm, where a killed process would leave it behind. */
	LOG_NO_BLACKBOX = 1 << 2,
};

/* Set up logging for process `ident`.  `flags` is LOG_TO_*; `level` a syslog
** priority (LOG_INFO, LOG_DEBUG, ...).  Safe to call more than once. */
void log_init(const char *ident, int flags, int level);

/* Change the stderr/syslog threshold. */
void log_set_level(int level);

/* Parse "debug", "info", "notice", "warning", "error"; -1 if unknown. */
int log_level_from_name(const char *name);

/* Where the blackbox is written on a fatal error (copied; NULL disables). */
void log_set_blackbox(const char *path);

/* Write the blackbox now; 0 on success, -1 on failure. */
int log_blackbox_dump(const char *path);

/* Close logging, flushing every target. */
void log_fini(void);

#define log_debug(...) qb_log(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) qb_log(LOG_INFO, __VA_ARGS__)
#define log_notice(...) qb_log(LOG_NOTICE, __VA_ARGS__)
#define log_warnx(...) qb_log(LOG_WARNING, __VA_ARGS__)
#define log_errx(...) qb_log(LOG_ERR, __VA_ARGS__)
/* As above, with ": strerror(errno)" appended. */
#define log_warn(fmt, ...) qb_perror(LOG_WARNING, fmt, ##__VA_ARGS__)
#define log_err(fmt, ...) qb_perror(LOG_ERR, fmt, ##__VA_ARGS__)

/* Log, dump the blackbox and exit(1).  fatal() appends strerror(errno). */
void fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void fatalx(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
