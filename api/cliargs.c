/*
** xe-style argument parsing.  See cliargs.h.
*/
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/cliargs.h"
#include "lib/xmalloc.h"

static struct cliarg *
find(struct cliargs *args, const char *key, int flag)
{
	size_t i;

	for (i = 0; i < args->n; i++)
		if (strcmp(args->v[i].key, key) == 0 && (args->v[i].value == NULL) == flag)
			return &args->v[i];
	return NULL;
}

int
cliargs_parse(struct cliargs *args, int argc, char *const argv[])
{
	int i;

	memset(args, 0, sizeof(*args));
	if (argc < 1 || argv[0][0] == '\0' || strchr(argv[0], '=') != NULL) {
		snprintf(args->err, sizeof(args->err), "no command given");
		return -1;
	}
	args->command = xstrdup(argv[0]);
	args->v = xcalloc((size_t)argc, sizeof(*args->v));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		struct cliarg *arg = &args->v[args->n];

		if (strncmp(a, "--", 2) == 0 && eq == NULL && a[2] != '\0') {
			if (find(args, a + 2, 1) != NULL) {
				snprintf(args->err, sizeof(args->err), "flag --%s given twice", a + 2);
				return -1;
			}
			arg->key = xstrdup(a + 2);
			args->n++;
			continue;
		}
		if (eq == NULL) {
			snprintf(args->err, sizeof(args->err),
				 "'%s' is not of the form key=value", a);
			return -1;
		}
		if (eq == a) {
			snprintf(args->err, sizeof(args->err), "'%s' has an empty key", a);
			return -1;
		}
		arg->key = xstrndup(a, (size_t)(eq - a));
		arg->value = xstrdup(eq + 1);
		args->n++;
		if (find(args, arg->key, 0) != arg) {
			snprintf(args->err, sizeof(args->err), "%s given twice", arg->key);
			return -1;
		}
	}
	return 0;
}

void
cliargs_clear(struct cliargs *args)
{
	size_t i;

	for (i = 0; i < args->n; i++) {
		xfree(args->v[i].key);
		xfree(args->v[i].value);
	}
	xfree(args->v);
	xfree(args->command);
	memset(args, 0, sizeof(*args));
}

const char *
cliargs_get(struct cliargs *args, const char *key)
{
	struct cliarg *a = find(args, key, 0);

	if (a == NULL)
		return NULL;
	a->used = 1;
	return a->value;
}

int
cliargs_flag(struct cliargs *args, const char *flag)
{
	struct cliarg *a = find(args, flag, 1);

	if (a == NULL)
		return 0;
	a->used = 1;
	return 1;
}

int
cliargs_get_int(struct cliargs *args, const char *key, int64_t min, int64_t max, int64_t *out)
{
	const char *s = cliargs_get(args, key);
	char *end;
	long long v;

	if (s == NULL)
		return 1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno == ERANGE) {
		snprintf(args->err, sizeof(args->err), "%s=%s: not an integer", key, s);
		return -1;
	}
	if (v < min || v > max) {
		snprintf(args->err, sizeof(args->err),
			 "%s=%s: out of range (%" PRId64 "..%" PRId64 ")", key, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int
cliargs_parse_size(const char *s, int64_t *out)
{
	static const struct {
		const char *suffix;
		int shift;
	} units[] = {{"", 0}, {"B", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}};
	char *end;
	unsigned long long v;
	size_t i;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) != 0)
			continue;
		if (v > (unsigned long long)INT64_MAX >> units[i].shift)
			return -1;
		*out = (int64_t)(v << units[i].shift);
		return 0;
	}
	return -1;
}

int
cliargs_get_size(struct cliargs *args, const char *key, int64_t *out)
{
	const char *s = cliargs_get(args, key);

	if (s == NULL)
		return 1;
	if (cliargs_parse_size(s, out) < 0) {
		snprintf(args->err, sizeof(args->err),
			 "%s=%s: not a size (bytes, or a number with KiB, MiB, GiB or TiB)", key, s);
		return -1;
	}
	return 0;
}

int
cliargs_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

int
cliargs_get_bool(struct cliargs *args, const char *key, int *out)
{
	const char *s = cliargs_get(args, key);

	if (s == NULL)
		return 1;
	if (cliargs_parse_bool(s, out) < 0) {
		snprintf(args->err, sizeof(args->err), "%s=%s: not a boolean (true or false)", key,
			 s);
		return -1;
	}
	return 0;
}

int
cliargs_check_known(struct cliargs *args)
{
	size_t i;

	for (i = 0; i < args->n; i++) {
		if (args->v[i].used)
			continue;
		if (args->v[i].value == NULL)
			snprintf(args->err, sizeof(args->err), "unknown flag --%s for %s",
				 args->v[i].key, args->command);
		else
			snprintf(args->err, sizeof(args->err), "unknown parameter %s for %s",
				 args->v[i].key, args->command);
		return -1;
	}
	return 0;
}
