/*
** Logging over libqb.  Owns the process-wide qb_log targets and the blackbox
** path.  See log.h for the contract.
*/
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/check.h"
#include "lib/log.h"

#define BLACKBOX_SIZE (1024 * 1024)
#define LOG_FORMAT "%t %N[%P] %p %f:%l %b"

static char blackbox_path[4096];
static int cur_flags;
static int initialised;

static void
apply_filters(int level)
{
	int t;

	for (t = QB_LOG_SYSLOG; t <= QB_LOG_STDERR; t++) {
		if (t == QB_LOG_BLACKBOX)
			continue;
		qb_log_filter_ctl(t, QB_LOG_FILTER_CLEAR_ALL, QB_LOG_FILTER_FILE, "*", LOG_TRACE);
		qb_log_filter_ctl(t, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*", level);
	}
}

void
log_init(const char *ident, int flags, int level)
{
	if (initialised)
		qb_log_fini();
	qb_log_init(ident, LOG_DAEMON, LOG_DEBUG);
	initialised = 1;
	cur_flags = flags;

	qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED, (flags & LOG_TO_SYSLOG) ? QB_TRUE : QB_FALSE);
	qb_log_ctl(QB_LOG_STDERR, QB_LOG_CONF_ENABLED, (flags & LOG_TO_STDERR) ? QB_TRUE : QB_FALSE);
	qb_log_format_set(QB_LOG_STDERR, LOG_FORMAT);
	qb_log_format_set(QB_LOG_SYSLOG, "%f:%l %b");

	if (!(flags & LOG_NO_BLACKBOX)) {
		qb_log_ctl(QB_LOG_BLACKBOX, QB_LOG_CONF_SIZE, BLACKBOX_SIZE);
		qb_log_ctl(QB_LOG_BLACKBOX, QB_LOG_CONF_ENABLED, QB_TRUE);
		qb_log_filter_ctl(QB_LOG_BLACKBOX, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*",
				  LOG_DEBUG);
		qb_log_format_set(QB_LOG_BLACKBOX, LOG_FORMAT);
	}
	apply_filters(level);
}

void
log_set_level(int level)
{
	apply_filters(level);
}

int
log_level_from_name(const char *name)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{"debug", LOG_DEBUG}, {"info", LOG_INFO},  {"notice", LOG_NOTICE},
		{"warning", LOG_WARNING}, {"error", LOG_ERR},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(levels); i++)
		if (strcmp(name, levels[i].name) == 0)
			return levels[i].level;
	return -1;
}

void
log_set_blackbox(const char *path)
{
	if (path == NULL) {
		blackbox_path[0] = '\0';
		return;
	}
	snprintf(blackbox_path, sizeof(blackbox_path), "%s", path);
}

int
log_blackbox_dump(const char *path)
{
	if (!initialised || path == NULL || path[0] == '\0')
		return -1;
	return qb_log_blackbox_write_to_file(path) < 0 ? -1 : 0;
}

void
log_fini(void)
{
	if (initialised)
		qb_log_fini();
	initialised = 0;
}

static void __attribute__((noreturn))
vfatal(int with_errno, int code, const char *fmt, va_list ap)
{
	char msg[1024];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!initialised)
		log_init("hasvc", LOG_TO_STDERR, LOG_INFO);
	if (with_errno)
		qb_log(LOG_CRIT, "fatal: %s: %s", msg, strerror(saved));
	else
		qb_log(LOG_CRIT, "fatal: %s", msg);
	if (blackbox_path[0] != '\0')
		log_blackbox_dump(blackbox_path);
	log_fini();
	if (code < 0)
		abort();
	exit(code);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfatal(1, 1, fmt, ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfatal(0, 1, fmt, ap);
}

static void __attribute__((noreturn))
abortx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfatal(0, -1, fmt, ap);
}

void
ha_assert_fail(const char *expr, const char *file, int line, const char *func)
{
	abortx("assertion failed: %s (%s:%d, %s)", expr, file, line, func);
}
