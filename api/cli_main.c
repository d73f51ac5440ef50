/*
** hasvc: the xe-style command-line client of the XAPI-compatible API.
**
**     hasvc [-s HOST] [-p PORT] [-u USER] [-pw PASS | -pwf FILE]
**           [--no-verify | --cacert FILE] COMMAND [key=value ...] [--minimal] [--json]
**
** Commands are rows of one table (name, class, synopsis, what it does,
** handler); the per-class parameter tables and the output formats live in
** cli_format.c, the transport in client.c.  The client logs in lazily, at a
** command's first call, so that a usage error never needs a server, and logs
** out at exit.
**
** Exit status: 0 done; 1 the server answered with a XAPI error (printed
** like xe: code and parameters on stderr); 2 a usage error; 3 the server
** could not be reached or its TLS certificate was refused.
*/
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "api/cli_format.h"
#include "api/cliargs.h"
#include "api/client.h"
#include "lib/check.h"
#include "lib/ids.h"
#include "lib/xmalloc.h"

#define HASVC_VERSION "0.1.0"
#define EXIT_API      1
#define EXIT_USAGE    2
#define EXIT_CONN     3

/* event-watch: each event.from waits this long; the HTTP timeout is longer. */
#define EVENT_WAIT_S         30.0
#define EVENT_HTTP_TIMEOUT_S 90L

#define PASSWORD_MAX 1024

struct gopts {
	const char *host;
	int port;
	const char *user;
	const char *pw;
	const char *pwf;
	const char *cacert;
	int no_verify;
	int local; /* --local: a session on the host itself, pool member or not */
};

struct command;

struct cli {
	struct cliargs *args;
	const struct gopts *g;
	const struct command *cmd;
	struct client *cl; /* NULL until the first call */
	int local;         /* log in to this host itself, even on a pool member */
};

struct command {
	const char *name;
	const char *cls; /* the class a generic handler works on, or NULL */
	const char *synopsis;
	const char *what;
	int (*run)(struct cli *x);
};

static volatile sig_atomic_t interrupted;

static int usage(struct cli *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
usage(struct cli *x, const char *fmt, ...)
{
	va_list ap;

	fputs("hasvc: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: hasvc %s\n", x->cmd->synopsis);
	return EXIT_USAGE;
}

static int
check_known(struct cli *x)
{
	if (cliargs_check_known(x->args) < 0)
		return usage(x, "%s", x->args->err);
	return 0;
}

/* The first line of `path` without its newline, into buf.  -1 with errno set
** on failure (ENODATA for an empty file). */
static int
read_first_line(FILE *f, char *buf, size_t size)
{
	size_t len;

	if (fgets(buf, (int)size, f) == NULL) {
		errno = ferror(f) ? EIO : ENODATA;
		return -1;
	}
	len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	if (len == 0) {
		errno = ENODATA;
		return -1;
	}
	return 0;
}

static int
read_file_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	int rc, saved;

	if (f == NULL)
		return -1;
	rc = read_first_line(f, buf, size);
	saved = errno;
	fclose(f);
	errno = saved;
	return rc;
}

/* A password from the terminal without echo, or the first line of a
** non-terminal stdin. */
static int
read_password_stdin(const char *prompt, char *buf, size_t size)
{
	struct termios old, quiet;
	int rc, tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;

	if (tty) {
		fputs(prompt, stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	rc = read_first_line(stdin, buf, size);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return rc;
}

/* Log in on first use.  Returns an exit status, having printed the reason. */
static int
connect_login(struct cli *x)
{
	struct client_opts o = {0};
	char pw[PASSWORD_MAX];
	const char *env;
	int rc;

	if (x->g->pw != NULL) {
		snprintf(pw, sizeof(pw), "%s", x->g->pw);
	} else if (x->g->pwf != NULL) {
		if (read_file_line(x->g->pwf, pw, sizeof(pw)) < 0) {
			fprintf(stderr, "hasvc: cannot read a password from %s: %s\n", x->g->pwf,
			        errno == ENODATA ? "its first line is empty" : strerror(errno));
			return EXIT_USAGE;
		}
	} else if ((env = getenv("HASVC_PASSWORD")) != NULL && env[0] != '\0') {
		snprintf(pw, sizeof(pw), "%s", env);
	} else {
		fprintf(stderr, "hasvc: no password: give -pwf FILE or set HASVC_PASSWORD\n");
		return EXIT_USAGE;
	}
	o.host = x->g->host;
	o.port = x->g->port;
	o.cacert = x->g->cacert;
	o.verify = !x->g->no_verify;
	x->cl = client_new(&o);
	if (x->cl == NULL) {
		explicit_bzero(pw, sizeof(pw));
		fprintf(stderr, "hasvc: cannot initialise libcurl\n");
		return EXIT_CONN;
	}
	rc = x->local || x->g->local ? client_login_local(x->cl, x->g->user, pw)
	              : client_login(x->cl, x->g->user, pw);
	explicit_bzero(pw, sizeof(pw));
	switch (rc) {
	case CLIENT_OK:
		return 0;
	case CLIENT_EAPI:
		clifmt_error(stderr, client_error(x->cl));
		return EXIT_API;
	default:
		fprintf(stderr, "hasvc: %s\n", client_errmsg(x->cl));
		return EXIT_CONN;
	}
}

/* One call with the session in front of `params` (taken).  Returns an exit
** status, having printed any error like xe. */
static int
call(struct cli *x, const char *method, struct xval *params, struct xval **result)
{
	int rc;

	*result = NULL;
	if (x->cl == NULL && (rc = connect_login(x)) != 0) {
		xval_free(params);
		return rc;
	}
	switch (client_call(x->cl, method, params, result)) {
	case CLIENT_OK:
		return 0;
	case CLIENT_EAPI:
		clifmt_error(stderr, client_error(x->cl));
		return EXIT_API;
	case CLIENT_EABORT:
		return EXIT_API;
	default:
		fprintf(stderr, "hasvc: %s\n", client_errmsg(x->cl));
		return EXIT_CONN;
	}
}

static struct xval *
params1(struct xval *a)
{
	struct xval *p = xval_new_array();

	if (a != NULL)
		xval_array_append(p, a);
	return p;
}

static struct xval *
params2(struct xval *a, struct xval *b)
{
	struct xval *p = params1(a);

	xval_array_append(p, b);
	return p;
}

static struct xval *
params3(struct xval *a, struct xval *b, struct xval *c)
{
	struct xval *p = params2(a, b);

	xval_array_append(p, c);
	return p;
}

static const char *
method_name(char *buf, size_t size, const struct clifmt_class *c, const char *m)
{
	snprintf(buf, size, "%s.%s", c->xapi, m);
	return buf;
}

/* The records of a get_all_records answer ({ref: record}, or an array of
** records) as borrowed pointers into `all`. */
static const struct xval **
records_of(const struct xval *all, size_t *n)
{
	const struct xval **recs;
	size_t i, k = 0;

	*n = 0;
	if (!xval_is(all, XVAL_STRUCT) && !xval_is(all, XVAL_ARRAY))
		return xcalloc(1, sizeof(*recs));
	recs = xcalloc(xval_len(all) + 1, sizeof(*recs));
	for (i = 0; i < xval_len(all); i++) {
		const struct xval *r =
		    xval_is(all, XVAL_STRUCT) ? xval_struct_value(all, i) : xval_array_get(all, i);

		if (xval_is(r, XVAL_STRUCT))
			recs[k++] = r;
	}
	*n = k;
	return recs;
}

/* Show records as the flags ask: --minimal, --json, else xe blocks. */
static void
show(const struct clifmt_field *const *sel, size_t nsel, const struct xval *const *recs, size_t n,
     int minimal, int json)
{
	size_t i;

	if (minimal)
		clifmt_minimal(stdout, sel[0], recs, n);
	else if (json)
		clifmt_json(stdout, sel, nsel, recs, n);
	else
		for (i = 0; i < n; i++)
			clifmt_record(stdout, sel, nsel, recs[i]);
}

/* <class>-list [params=a,b|all] [field=value ...] [--minimal] [--json] */
static int
cmd_list(struct cli *x)
{
	const struct clifmt_class *c = clifmt_class_find(x->cmd->cls);
	const struct clifmt_field **sel = NULL;
	struct clifmt_filter *filters = NULL;
	const struct xval **recs = NULL, **keep = NULL;
	struct xval *all = NULL;
	char m[128], err[256];
	size_t nsel, nf, n, k = 0, i;
	int minimal, json, hide_templates, rc;
	const char *params;

	ha_assert(c != NULL);
	params = cliargs_get(x->args, "params");
	minimal = cliargs_flag(x->args, "minimal");
	json = cliargs_flag(x->args, "json");
	clifmt_filters_take(c, x->args, &filters, &nf);
	if ((rc = check_known(x)) != 0)
		goto out;
	if (minimal && json) {
		rc = usage(x, "--minimal and --json exclude each other");
		goto out;
	}
	if (clifmt_select(c, params, &sel, &nsel, err, sizeof(err)) < 0) {
		rc = usage(x, "%s", err);
		goto out;
	}
	/* As xe, vm-list lists VMs, not templates, unless asked about them. */
	hide_templates = strcmp(c->name, "vm") == 0;
	for (i = 0; i < nf; i++)
		if (strcmp(filters[i].field->xapi, "is_a_template") == 0)
			hide_templates = 0;

	if ((rc = call(x, method_name(m, sizeof(m), c, "get_all_records"), NULL, &all)) != 0)
		goto out;
	recs = records_of(all, &n);
	keep = xcalloc(n + 1, sizeof(*keep));
	for (i = 0; i < n; i++) {
		const struct xval *t = xval_struct_get(recs[i], "is_a_template");

		if (hide_templates && xval_is(t, XVAL_BOOL) && xval_bool(t))
			continue;
		if (clifmt_match(recs[i], filters, nf))
			keep[k++] = recs[i];
	}
	show(sel, nsel, keep, k, minimal, json);
out:
	xfree(keep);
	xfree(recs);
	xval_free(all);
	xfree(sel);
	xfree(filters);
	return rc;
}

/* The ref of the object the command names: uuid=, or for the pool (of
** which there is one) nothing.  Returns an exit status; *ref is malloc'd. */
static int
object_ref(struct cli *x, const struct clifmt_class *c, const char *uuid, char **ref)
{
	struct xval *r = NULL;
	char m[128];
	int rc;

	*ref = NULL;
	if (uuid != NULL)
		rc = call(x, method_name(m, sizeof(m), c, "get_by_uuid"),
		          params1(xval_new_string(uuid)), &r);
	else
		rc = call(x, method_name(m, sizeof(m), c, "get_all"), NULL, &r);
	if (rc != 0)
		return rc;
	if (xval_is(r, XVAL_ARRAY) && xval_len(r) > 0)
		*ref = xval_is(xval_array_get(r, 0), XVAL_STRING)
		           ? xstrdup(xval_string(xval_array_get(r, 0)))
		           : NULL;
	else if (xval_is(r, XVAL_STRING))
		*ref = xstrdup(xval_string(r));
	xval_free(r);
	if (*ref == NULL) {
		fprintf(stderr, "hasvc: the server has no %s to act on\n", c->name);
		return EXIT_API;
	}
	return 0;
}

/* <class>-param-get uuid=UUID param-name=NAME [param-key=KEY] */
static int
cmd_param_get(struct cli *x)
{
	const struct clifmt_class *c = clifmt_class_find(x->cmd->cls);
	const struct clifmt_field *f;
	const struct xval *v;
	struct xval *rec = NULL;
	const char *uuid, *name, *key;
	char m[128], *ref = NULL, *val;
	int rc;

	ha_assert(c != NULL);
	uuid = cliargs_get(x->args, "uuid");
	name = cliargs_get(x->args, "param-name");
	key = cliargs_get(x->args, "param-key");
	if ((rc = check_known(x)) != 0)
		return rc;
	if (uuid == NULL && strcmp(c->name, "pool") != 0)
		return usage(x, "uuid= is required");
	if (name == NULL)
		return usage(x, "param-name= is required");
	f = clifmt_field_by_name(c, name);
	if (f == NULL)
		return usage(x, "%s has no parameter '%s'", c->name, name);
	if (key != NULL && !(f->flags & CLIFMT_MAP))
		return usage(x, "param-key= needs a map parameter; %s is not one", name);

	if ((rc = object_ref(x, c, uuid, &ref)) != 0)
		goto out;
	if ((rc = call(x, method_name(m, sizeof(m), c, "get_record"), params1(xval_new_string(ref)),
	               &rec)) != 0)
		goto out;
	v = xval_struct_get(rec, f->xapi);
	if (v == NULL) {
		fprintf(stderr, "hasvc: the server's %s record has no field %s\n", c->xapi,
		        f->xapi);
		rc = EXIT_API;
		goto out;
	}
	if (key != NULL) {
		v = xval_struct_get(v, key);
		if (v == NULL) {
			fprintf(stderr, "hasvc: key %s is not in the map %s\n", key, name);
			rc = EXIT_API;
			goto out;
		}
	}
	val = clifmt_value(v, f->flags);
	printf("%s\n", val);
	xfree(val);
out:
	xval_free(rec);
	xfree(ref);
	return rc;
}

/* <class>-param-set uuid=UUID field=value ...: every RW field of the class's
** table.  All values are converted before the first call, so that a typo
** changes nothing; the setters then run in table order. */
static int
cmd_param_set(struct cli *x)
{
	const struct clifmt_class *c = clifmt_class_find(x->cmd->cls);
	const struct clifmt_field *f;
	struct xval *vals[32] = {0}, *r = NULL;
	const struct clifmt_field *flds[32];
	const char *uuid, *s;
	char *ref = NULL;
	size_t i, n = 0;
	int64_t iv;
	int bv, rc = 0;

	ha_assert(c != NULL && c->nfields <= ARRAY_SIZE(vals));
	uuid = cliargs_get(x->args, "uuid");
	for (i = 0; i < c->nfields; i++) {
		f = &c->fields[i];
		if (!(f->flags & CLIFMT_RW) || f->setter == NULL)
			continue;
		switch (f->kind) {
		case CLIFMT_STRING:
			if ((s = cliargs_get(x->args, f->name)) == NULL)
				continue;
			vals[n] = xval_new_string(s);
			break;
		case CLIFMT_INT:
			rc = cliargs_get_int(x->args, f->name, INT64_MIN, INT64_MAX, &iv);
			if (rc == 1)
				continue;
			if (rc < 0) {
				rc = usage(x, "%s", x->args->err);
				goto out;
			}
			vals[n] = xval_new_int(iv);
			break;
		case CLIFMT_BOOL:
			rc = cliargs_get_bool(x->args, f->name, &bv);
			if (rc == 1)
				continue;
			if (rc < 0) {
				rc = usage(x, "%s", x->args->err);
				goto out;
			}
			vals[n] = xval_new_bool(bv);
			break;
		}
		flds[n++] = f;
	}
	rc = 0;
	if ((rc = check_known(x)) != 0)
		goto out;
	if (uuid == NULL && strcmp(c->name, "pool") != 0) {
		rc = usage(x, "uuid= is required");
		goto out;
	}
	if (n == 0) {
		rc = usage(x, "nothing to set");
		goto out;
	}
	if ((rc = object_ref(x, c, uuid, &ref)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		rc = call(x, flds[i]->setter, params2(xval_new_string(ref), vals[i]), &r);
		vals[i] = NULL;
		xval_free(r);
		if (rc != 0)
			goto out;
	}
out:
	for (i = 0; i < n; i++)
		xval_free(vals[i]);
	xfree(ref);
	return rc;
}

/* pool-ha-enable [ha-config:KEY=VALUE ...]: pool.enable_ha with no SRs (the
** server chooses, as xapi does) and the configuration map. */
static int
cmd_ha_enable(struct cli *x)
{
	struct xval *conf = xval_new_struct(), *r = NULL;
	struct cliarg *a;
	const char *key;
	int64_t t;
	size_t i;
	int rc;

	for (i = 0; i < x->args->n; i++) {
		a = &x->args->v[i];
		if (a->value == NULL || strncmp(a->key, "ha-config:", 10) != 0)
			continue;
		key = a->key + 10;
		if (key[0] == '\0') {
			xval_free(conf);
			return usage(x, "ha-config: needs a key, as in ha-config:timeout=30");
		}
		/* The one key xapi reads; a typo here would silently give the
		** default timeout, so check it now. */
		if (strcmp(key, "timeout") == 0 &&
		    (cliargs_get_int(x->args, a->key, 1, 3600, &t) < 0)) {
			xval_free(conf);
			return usage(x, "%s", x->args->err);
		}
		a->used = 1;
		xval_struct_add(conf, key, xval_new_string(a->value));
	}
	if ((rc = check_known(x)) != 0) {
		xval_free(conf);
		return rc;
	}
	rc = call(x, "pool.enable_ha", params2(xval_new_array(), conf), &r);
	xval_free(r);
	return rc;
}

static int
cmd_ha_disable(struct cli *x)
{
	struct xval *r = NULL;
	int rc;

	if ((rc = check_known(x)) != 0)
		return rc;
	rc = call(x, "pool.disable_ha", NULL, &r);
	xval_free(r);
	return rc;
}

static int
cmd_ha_compute_max(struct cli *x)
{
	static const char method[] = "pool.ha_compute_max_host_failures_to_tolerate";
	struct xval *r = NULL;
	int64_t v;
	int rc;

	if ((rc = check_known(x)) != 0)
		return rc;
	if (x->cl == NULL && (rc = connect_login(x)) != 0)
		return rc;
	switch (client_call(x->cl, method, NULL, &r)) {
	case CLIENT_OK:
		break;
	case CLIENT_EAPI:
		if (strcmp(client_error_code(x->cl), "MESSAGE_METHOD_UNKNOWN") == 0)
			fprintf(stderr,
			        "hasvc: the server at %s has no failover planner yet (%s is "
			        "MESSAGE_METHOD_UNKNOWN there)\n",
			        client_host(x->cl), method);
		else
			clifmt_error(stderr, client_error(x->cl));
		return EXIT_API;
	default:
		fprintf(stderr, "hasvc: %s\n", client_errmsg(x->cl));
		return EXIT_CONN;
	}
	if (xval_get_int64(r, &v) < 0) {
		fprintf(stderr, "hasvc: %s answered a %s, not an integer\n", method,
		        xval_type_name(r->type));
		xval_free(r);
		return EXIT_API;
	}
	printf("%" PRId64 "\n", v);
	xval_free(r);
	return 0;
}

/* The uuids of a comma-separated list as an array of refs; NULL after a
** usage message for a malformed uuid.  An absent or empty list is []. */
static struct xval *
uuid_refs(struct cli *x, const char *key)
{
	const char *list = cliargs_get(x->args, key);
	struct xval *a = xval_new_array();
	char buf[4096], ref[HA_REF_LEN], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list != NULL ? list : "");
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (!id_uuid_valid(tok)) {
			xval_free(a);
			usage(x, "%s: '%s' is not a uuid", key, tok);
			return NULL;
		}
		id_ref_from_uuid(ref, tok);
		xval_array_append(a, xval_new_string(ref));
	}
	return a;
}

/* pool-ha-compute-hypothetical-max-host-failures-to-tolerate vm-uuids=a,b
** priorities=restart,best-effort: the i-th priority goes with the i-th VM. */
static int
cmd_ha_hypothetical(struct cli *x)
{
	struct xval *vms, *conf, *r = NULL;
	const char *prios = cliargs_get(x->args, "priorities");
	char buf[4096], *tok, *save = NULL;
	size_t i = 0;
	int64_t v;
	int rc;

	if ((vms = uuid_refs(x, "vm-uuids")) == NULL)
		return EXIT_USAGE;
	if ((rc = check_known(x)) != 0) {
		xval_free(vms);
		return rc;
	}
	conf = xval_new_struct();
	snprintf(buf, sizeof(buf), "%s", prios != NULL ? prios : "");
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (i < xval_len(vms))
			xval_struct_add(conf, xval_string(xval_array_get(vms, i)),
			                xval_new_string(tok));
		i++;
	}
	if (i != xval_len(vms)) {
		rc = usage(x, "vm-uuids= and priorities= need as many entries (%zu and %zu)",
		           xval_len(vms), i);
		xval_free(vms);
		xval_free(conf);
		return rc;
	}
	xval_free(vms);
	rc = call(x, "pool.ha_compute_hypothetical_max_host_failures_to_tolerate", params1(conf),
	          &r);
	if (rc == 0 && xval_get_int64(r, &v) == 0)
		printf("%" PRId64 "\n", v);
	xval_free(r);
	return rc;
}

static int
cmd_ha_plan_exists(struct cli *x)
{
	struct xval *r = NULL;
	int64_t n;
	int rc;

	if (cliargs_get(x->args, "n") == NULL)
		return usage(x, "n= is required");
	if (cliargs_get_int(x->args, "n", 0, 64, &n) < 0)
		return usage(x, "%s", x->args->err);
	if ((rc = check_known(x)) != 0)
		return rc;
	rc = call(x, "pool.ha_failover_plan_exists", params1(xval_new_int(n)), &r);
	if (rc == 0 && xval_is(r, XVAL_BOOL))
		printf("%s\n", xval_bool(r) ? "true" : "false");
	xval_free(r);
	return rc;
}

/* pool-ha-maintenance seconds=N and pool-ha-prevent-restarts seconds=N: the
** pool method that takes one count of seconds.  Negative counts are refused
** here; the server refuses them too, and cuts a maintenance window longer
** than an hour to an hour (docs/api.md). */
static int
seconds_call(struct cli *x, const char *method)
{
	struct xval *r = NULL;
	int64_t s;
	int rc;

	if (cliargs_get(x->args, "seconds") == NULL)
		return usage(x, "seconds= is required");
	if (cliargs_get_int(x->args, "seconds", 0, INT64_MAX, &s) < 0)
		return usage(x, "%s", x->args->err);
	if ((rc = check_known(x)) != 0)
		return rc;
	rc = call(x, method, params1(xval_new_int(s)), &r);
	xval_free(r);
	return rc;
}

static int
cmd_ha_maintenance(struct cli *x)
{
	return seconds_call(x, "pool.ha_maintenance_for");
}

static int
cmd_ha_prevent_restarts(struct cli *x)
{
	return seconds_call(x, "pool.ha_prevent_restarts_for");
}

/* The name_label of the object behind ref (class cls), or the ref itself. */
static void
name_of(struct cli *x, const char *cls, const char *ref, char *out, size_t len)
{
	char m[64];
	struct xval *r = NULL;

	snprintf(out, len, "%s", ref);
	snprintf(m, sizeof(m), "%s.get_name_label", cls);
	if (call(x, m, params1(xval_new_string(ref)), &r) == 0 && xval_is(r, XVAL_STRING))
		snprintf(out, len, "%s", xval_string(r));
	xval_free(r);
}

/* pool-ha-what-if host-uuids=a,b: a table of each VM to restart, its target
** host and restart order group, or why it cannot restart. */
static int
cmd_ha_what_if(struct cli *x)
{
	struct xval *hosts, *r = NULL;
	char vm[256], host[256];
	size_t i;
	int rc;

	if (cliargs_get(x->args, "host-uuids") == NULL)
		return usage(x, "host-uuids= is required");
	if ((hosts = uuid_refs(x, "host-uuids")) == NULL)
		return EXIT_USAGE;
	if ((rc = check_known(x)) != 0) {
		xval_free(hosts);
		return rc;
	}
	if ((rc = call(x, "pool.ha_what_if", params1(hosts), &r)) != 0)
		goto out;
	if (!xval_is(r, XVAL_STRUCT)) {
		fprintf(stderr, "hasvc: pool.ha_what_if answered a %s, not a map\n",
		        xval_type_name(r->type));
		rc = EXIT_API;
		goto out;
	}
	if (xval_len(r) == 0) {
		printf("no protected VM runs on those hosts\n");
		goto out;
	}
	printf("%-32s %-32s %s\n", "VM", "TARGET HOST", "ORDER");
	for (i = 0; i < xval_len(r); i++) {
		const struct xval *e = xval_struct_value(r, i);
		const struct xval *h = xval_struct_get(e, "host");
		const struct xval *o = xval_struct_get(e, "order");
		const struct xval *err = xval_struct_get(e, "error_code");

		name_of(x, "VM", xval_struct_name(r, i), vm, sizeof(vm));
		if (xval_is(h, XVAL_STRING)) {
			name_of(x, "host", xval_string(h), host, sizeof(host));
			printf("%-32s %-32s %s\n", vm, host,
			       xval_is(o, XVAL_STRING) ? xval_string(o) : "-");
		} else {
			printf("%-32s cannot restart: %s\n", vm,
			       xval_is(err, XVAL_STRING) ? xval_string(err) : "?");
		}
	}
out:
	xval_free(r);
	return rc;
}

/* pool-ha-single-failure-plans [--json]: the precomputed plan of each host's
** failure, as pool.get_ha_single_failure_plans keeps it. */
static int
cmd_ha_single_failure_plans(struct cli *x)
{
	struct xval *r = NULL;
	const struct xval *hosts, *e, *cur;
	char host[256];
	int64_t age = -1, ok, bad;
	size_t i;
	int rc, json;

	json = cliargs_flag(x->args, "json");
	if ((rc = check_known(x)) != 0)
		return rc;
	if ((rc = call(x, "pool.get_ha_single_failure_plans", NULL, &r)) != 0)
		return rc;
	hosts = xval_struct_get(r, "hosts");
	cur = xval_struct_get(r, "current");
	if (!xval_is(r, XVAL_STRUCT) || !xval_is(hosts, XVAL_STRUCT) || !xval_is(cur, XVAL_BOOL)) {
		fprintf(stderr, "hasvc: pool.get_ha_single_failure_plans answered a malformed %s\n",
		        xval_type_name(r->type));
		xval_free(r);
		return EXIT_API;
	}
	if (json) {
		clifmt_json_value(stdout, r);
		fputc('\n', stdout);
		xval_free(r);
		return 0;
	}
	(void)xval_get_int64(xval_struct_get(r, "age_ms"), &age);
	printf("computed %" PRId64 " ms ago, %s\n", age,
	       xval_bool(cur) ? "current" : "not current (a change is pending)");
	printf("%-32s %-10s %-8s %s\n", "HOST", "PLAN", "RESTART", "CANNOT RESTART");
	for (i = 0; i < xval_len(hosts); i++) {
		e = xval_struct_value(hosts, i);
		ok = bad = -1;
		(void)xval_get_int64(xval_struct_get(e, "restart"), &ok);
		(void)xval_get_int64(xval_struct_get(e, "cannot_restart"), &bad);
		name_of(x, "host", xval_struct_name(hosts, i), host, sizeof(host));
		printf("%-32s %-10s %-8" PRId64 " %" PRId64 "\n", host,
		       xval_is(xval_struct_get(e, "verdict"), XVAL_STRING)
		           ? xval_string(xval_struct_get(e, "verdict"))
		           : "?",
		       ok, bad);
	}
	xval_free(r);
	return 0;
}

static void
on_interrupt(int sig)
{
	interrupted = 1;
}

/* Print one event as "class operation uuid". */
static void
print_event(const struct xval *ev)
{
	const struct xval *cls = xval_struct_get(ev, "class");
	const struct xval *op = xval_struct_get(ev, "operation");
	const struct xval *ref = xval_struct_get(ev, "ref");
	const struct xval *uuid = xval_struct_get(xval_struct_get(ev, "snapshot"), "uuid");
	char u[HA_UUID_LEN];
	const char *id = "-";

	if (xval_is(uuid, XVAL_STRING))
		id = xval_string(uuid);
	else if (xval_is(ref, XVAL_STRING) && id_ref_to_uuid(xval_string(ref), u) == 0)
		id = u; /* a deleted object has no snapshot; its ref holds the uuid */
	else if (xval_is(ref, XVAL_STRING))
		id = xval_string(ref);
	printf("%s %s %s\n", xval_is(cls, XVAL_STRING) ? xval_string(cls) : "?",
	       xval_is(op, XVAL_STRING) ? xval_string(op) : "?", id);
	fflush(stdout);
}

/* event-watch [class=vm,host,...]: loop event.from until SIGINT/SIGTERM.
** Only changes after the start are printed: the first event.from (timeout
** 0) gives the current token and its batch is dropped. */
static int
cmd_event_watch(struct cli *x)
{
	const char *classes = cliargs_get(x->args, "class");
	struct sigaction sa = {0};
	struct xval *cls, *r = NULL;
	char *list, *tok, *save = NULL, *token = xstrdup("");
	const struct xval *evs, *t;
	int rc, first = 1;
	size_t i;

	if ((rc = check_known(x)) != 0)
		goto out;
	sa.sa_handler = on_interrupt; /* no SA_RESTART: stop waiting at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (x->cl == NULL && (rc = connect_login(x)) != 0)
		goto out;
	client_set_abort(x->cl, &interrupted);
	client_set_timeout(x->cl, EVENT_HTTP_TIMEOUT_S);

	while (!interrupted) {
		list = xstrdup(classes != NULL ? classes : "*");
		cls = xval_new_array();
		for (tok = strtok_r(list, ",", &save); tok != NULL;
		     tok = strtok_r(NULL, ",", &save))
			xval_array_append(cls, xval_new_string(tok));
		xfree(list);
		rc = call(x, "event.from",
		          params3(cls, xval_new_string(token),
		                  xval_new_double(first ? 0.0 : EVENT_WAIT_S)),
		          &r);
		if (rc != 0)
			break;
		evs = xval_struct_get(r, "events");
		t = xval_struct_get(r, "token");
		if (!xval_is(evs, XVAL_ARRAY) || !xval_is(t, XVAL_STRING)) {
			fprintf(stderr, "hasvc: event.from answered without events and token\n");
			rc = EXIT_API;
			break;
		}
		for (i = 0; !first && i < xval_len(evs); i++)
			print_event(xval_array_get(evs, i));
		xfree(token);
		token = xstrdup(xval_string(t));
		xval_free(r);
		r = NULL;
		first = 0;
	}
	if (interrupted)
		rc = 0;
out:
	xval_free(r);
	xfree(token);
	return rc;
}

/* user-add name=NAME role=ROLE [password-file=FILE]: the new user's password
** is the file's first line, or read from stdin (without echo on a
** terminal); never an argument, which any local user could read in ps. */
static int
cmd_user_add(struct cli *x)
{
	const char *name = cliargs_get(x->args, "name");
	const char *role = cliargs_get(x->args, "role");
	const char *pwfile = cliargs_get(x->args, "password-file");
	struct xval *p, *r = NULL;
	char pw[PASSWORD_MAX];
	int rc;

	if (cliargs_get(x->args, "password") != NULL)
		return usage(x, "the password is never an argument; use password-file= or stdin");
	if ((rc = check_known(x)) != 0)
		return rc;
	if (name == NULL || name[0] == '\0' || role == NULL)
		return usage(x, "name= and role= are required");
	if (pwfile != NULL ? read_file_line(pwfile, pw, sizeof(pw)) < 0
	                   : read_password_stdin("Password for the new user: ", pw, sizeof(pw)) < 0)
		return usage(x, "cannot read the new password from %s: %s",
		             pwfile != NULL ? pwfile : "stdin",
		             errno == ENODATA ? "empty" : strerror(errno));
	p = params3(xval_new_string(name), xval_new_string(pw), xval_new_string(role));
	explicit_bzero(pw, sizeof(pw));
	rc = call(x, "hasvc_user.add", p, &r);
	xval_free(r);
	return rc;
}

static int
cmd_user_remove(struct cli *x)
{
	const char *name = cliargs_get(x->args, "name");
	struct xval *r = NULL;
	int rc;

	if ((rc = check_known(x)) != 0)
		return rc;
	if (name == NULL)
		return usage(x, "name= is required");
	rc = call(x, "hasvc_user.remove", params1(xval_new_string(name)), &r);
	xval_free(r);
	return rc;
}

static int
cmd_user_set_role(struct cli *x)
{
	const char *name = cliargs_get(x->args, "name");
	const char *role = cliargs_get(x->args, "role");
	struct xval *r = NULL;
	int rc;

	if ((rc = check_known(x)) != 0)
		return rc;
	if (name == NULL || role == NULL)
		return usage(x, "name= and role= are required");
	rc = call(x, "hasvc_user.set_role", params2(xval_new_string(name), xval_new_string(role)),
	          &r);
	xval_free(r);
	return rc;
}

/* A whole PEM file, at most 1 MiB, NUL-terminated (xmalloc'd); NULL with
** errno set on failure. */
static char *
read_pem(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (f == NULL)
		return NULL;
	buf = xmalloc((1u << 20) + 1);
	n = fread(buf, 1, 1u << 20, f);
	if (ferror(f) || !feof(f)) {
		fclose(f);
		xfree(buf);
		errno = EFBIG;
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* host-server-certificate-install certificate=FILE private-key=FILE
** [certificate-chain=FILE] [host-uuid=UUID]: replace a host's API
** certificate (host.install_server_certificate); the host checks the pair
** and keeps its old one on any problem.  Default host: the pool master. */
/* pool-join master-address=ADDR master-username=USER master-password=PW:
** run on the host that joins, as xe's. */
static int
cmd_pool_join(struct cli *x)
{
	const char *addr = cliargs_get(x->args, "master-address");
	const char *user = cliargs_get(x->args, "master-username");
	const char *pw = cliargs_get(x->args, "master-password");
	struct xval *r = NULL;
	int rc;

	if ((rc = check_known(x)) != 0)
		return rc;
	if (addr == NULL || user == NULL || pw == NULL)
		return usage(x, "master-address=, master-username= and master-password= are "
				"required");
	rc = call(x, "pool.join",
		  params3(xval_new_string(addr), xval_new_string(user), xval_new_string(pw)), &r);
	xval_free(r);
	if (rc == 0)
		printf("joined the pool of %s; this host's hasvcd restarts as a member\n", addr);
	return rc;
}

/* pool-eject host-uuid=UUID: on the master (the CLI follows HOST_IS_SLAVE). */
static int
cmd_pool_eject(struct cli *x)
{
	const char *host = cliargs_get(x->args, "host-uuid");
	char ref[HA_REF_LEN];
	struct xval *r = NULL;
	int rc;

	if ((rc = check_known(x)) != 0)
		return rc;
	if (host == NULL)
		return usage(x, "host-uuid= is required");
	id_ref_from_uuid(ref, host);
	rc = call(x, "pool.eject", params1(xval_new_string(ref)), &r);
	xval_free(r);
	return rc;
}

static int
cmd_cert_install(struct cli *x)
{
	const char *cert = cliargs_get(x->args, "certificate");
	const char *key = cliargs_get(x->args, "private-key");
	const char *chain = cliargs_get(x->args, "certificate-chain");
	const char *host = cliargs_get(x->args, "host-uuid");
	char *pem[3] = {NULL, NULL, NULL};
	const char *paths[3];
	struct xval *r = NULL, *p, *href = NULL;
	char ref[HA_REF_LEN];
	int rc, i;

	if ((rc = check_known(x)) != 0)
		return rc;
	if (cert == NULL || key == NULL)
		return usage(x, "certificate= and private-key= are required");
	paths[0] = cert;
	paths[1] = key;
	paths[2] = chain;
	for (i = 0; i < 3; i++) {
		if (paths[i] == NULL)
			continue;
		pem[i] = read_pem(paths[i]);
		if (pem[i] == NULL) {
			rc = usage(x, "cannot read %s: %s", paths[i], strerror(errno));
			goto out;
		}
	}
	if (host != NULL) {
		id_ref_from_uuid(ref, host);
		href = xval_new_string(ref);
	} else {
		struct xval *pools = NULL;

		if ((rc = call(x, "pool.get_all", NULL, &pools)) != 0)
			goto out;
		if (!xval_is(pools, XVAL_ARRAY) || xval_len(pools) != 1) {
			xval_free(pools);
			rc = usage(x, "the server has no single pool; give host-uuid=");
			goto out;
		}
		rc = call(x, "pool.get_master", params1(xval_copy(xval_array_get(pools, 0))),
			  &href);
		xval_free(pools);
		if (rc != 0)
			goto out;
	}
	p = params2(href, xval_new_string(pem[0]));
	href = NULL;
	xval_array_append(p, xval_new_string(pem[1]));
	xval_array_append(p, xval_new_string(pem[2] != NULL ? pem[2] : ""));
	rc = call(x, "host.install_server_certificate", p, &r);
out:
	xval_free(href);
	xval_free(r);
	for (i = 0; i < 3; i++) {
		if (pem[i] != NULL)
			explicit_bzero(pem[i], strlen(pem[i]));
		xfree(pem[i]);
	}
	return rc;
}

/*
** `hasvc plan ARGS`: the offline planner is hasvc-plan, installed beside this
** binary; api/ may not link placement/ (DESIGN §3), so exec it with the
** arguments as given (its options are --words, which cliargs would refuse).
** Returns only on failure, with a status.
*/
/* Run the companion program `prog` (next to this one) with `pre` (may be
** NULL: a first argument, e.g. a subcommand) then argv; returns only on
** failure. */
static int
companion_exec(const char *prog, char *pre, int argc, char **argv)
{
	char self[4096], *slash, **av;
	ssize_t n;
	int i, k = 1;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0 || (size_t)n >= sizeof(self) - strlen(prog) - 1) {
		fprintf(stderr, "hasvc: cannot find this program's directory: %s\n",
		        n < 0 ? strerror(errno) : "path too long");
		return EXIT_API;
	}
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash == NULL) {
		fprintf(stderr, "hasvc: cannot find this program's directory\n");
		return EXIT_API;
	}
	strcpy(slash + 1, prog);
	av = xcalloc((size_t)argc + 3, sizeof(*av));
	av[0] = self;
	if (pre != NULL)
		av[k++] = pre;
	for (i = 0; i < argc; i++)
		av[k++] = argv[i];
	fflush(NULL);
	execv(self, av);
	fprintf(stderr, "hasvc: cannot run %s: %s\n", self, strerror(errno));
	xfree(av);
	return EXIT_API;
}

static int
plan_exec(int argc, char **argv)
{
	return companion_exec("hasvc-plan", NULL, argc, argv);
}

/* Never reached in practice: main() hands `plan`, `simulate` and `statefile-*` to their
** companion programs before it parses key=value arguments. */
static int
cmd_companion(struct cli *x)
{
	return usage(x, "%s takes its companion program's options", x->cmd->name);
}

/* ---- pool-export-plan-input ---- */

/* A name unique among `used` (n entries): the label, else label-<uuid prefix>,
** else the uuid.  Returned xmalloc'd. */
static char *
unique_name(char **used, size_t n, const char *label, const char *uuid)
{
	char *cand[3];
	size_t c, i;

	cand[0] = xstrdup(label[0] != '\0' ? label : uuid);
	cand[1] = xasprintf("%s-%.8s", label, uuid);
	cand[2] = xstrdup(uuid);
	for (c = 0; c < 3; c++) {
		for (i = 0; i < n && strcmp(used[i], cand[c]) != 0; i++)
			;
		if (i == n)
			break;
	}
	ha_assert(c < 3); /* uuids are unique */
	for (i = 0; i < 3; i++)
		if (i != c)
			xfree(cand[i]);
	return cand[c];
}

static const char *
rec_str(const struct xval *rec, const char *field)
{
	const struct xval *v = xval_struct_get(rec, field);

	return xval_is(v, XVAL_STRING) ? xval_string(v) : "";
}

static int64_t
rec_int(const struct xval *rec, const char *field)
{
	int64_t v = 0;

	if (xval_get_int64(xval_struct_get(rec, field), &v) < 0)
		return 0;
	return v;
}

static int
rec_bool(const struct xval *rec, const char *field)
{
	const struct xval *v = xval_struct_get(rec, field);

	return xval_is(v, XVAL_BOOL) && xval_bool(v);
}

/* The index of the record whose ref (key of `all`) is `ref`, or -1. */
static long
ref_index(const struct xval *all, const char *ref)
{
	size_t i;

	if (!xval_is(all, XVAL_STRUCT))
		return -1;
	for (i = 0; i < xval_len(all); i++)
		if (strcmp(xval_struct_name(all, i), ref) == 0)
			return (long)i;
	return -1;
}

/* pool-export-plan-input [file=PATH]: write the live pool as the offline
** planner's input (docs/planner.md), so that `hasvc plan --pool PATH` can
** study it away from the pool.  Hosts, VMs and groups are named by their
** name_label, made unique with a uuid prefix where two share one. */
static int
cmd_export_plan_input(struct cli *x)
{
	const char *path = cliargs_get(x->args, "file");
	struct xval *pools = NULL, *hosts = NULL, *metrics = NULL, *vms = NULL, *groups = NULL;
	char **hname = NULL, **gname = NULL, **vname = NULL;
	size_t nh = 0, ng = 0, nv = 0, i, k;
	struct xval *out = NULL, *ah, *av, *ag;
	FILE *f = stdout;
	int rc;

	if ((rc = check_known(x)) != 0)
		return rc;
	if ((rc = call(x, "pool.get_all_records", NULL, &pools)) != 0 ||
	    (rc = call(x, "host.get_all_records", NULL, &hosts)) != 0 ||
	    (rc = call(x, "host_metrics.get_all_records", NULL, &metrics)) != 0 ||
	    (rc = call(x, "VM.get_all_records", NULL, &vms)) != 0 ||
	    (rc = call(x, "VM_group.get_all_records", NULL, &groups)) != 0)
		goto out;
	if (!xval_is(hosts, XVAL_STRUCT) || !xval_is(vms, XVAL_STRUCT) ||
	    !xval_is(groups, XVAL_STRUCT) || !xval_is(pools, XVAL_STRUCT) || xval_len(pools) != 1) {
		fprintf(stderr, "hasvc: the server's records are not what a pool answers\n");
		rc = EXIT_API;
		goto out;
	}

	out = xval_new_struct();
	ah = xval_new_array();
	hname = xcalloc(xval_len(hosts) + 1, sizeof(*hname));
	for (i = 0; i < xval_len(hosts); i++) {
		const struct xval *h = xval_struct_value(hosts, i);
		const struct xval *oc = xval_struct_get(h, "other_config");
		const struct xval *cpus = xval_struct_get(oc, "cpus");
		long m = ref_index(metrics, rec_str(h, "metrics"));
		struct xval *e = xval_new_struct();

		hname[nh] = unique_name(hname, nh, rec_str(h, "name_label"), rec_str(h, "uuid"));
		xval_struct_add(e, "name", xval_new_string(hname[nh++]));
		xval_struct_add(e, "uuid", xval_new_string(rec_str(h, "uuid")));
		xval_struct_add(e, "memory_total", xval_new_int(rec_int(h, "memory_total")));
		xval_struct_add(e, "memory_overhead", xval_new_int(rec_int(h, "memory_overhead")));
		if (xval_is(cpus, XVAL_STRING))
			xval_struct_add(e, "vcpus", xval_new_string(xval_string(cpus)));
		xval_struct_add(e, "enabled", xval_new_bool(rec_bool(h, "enabled")));
		xval_struct_add(e, "live",
				xval_new_bool(m >= 0 && rec_bool(xval_struct_value(metrics,
										   (size_t)m),
								 "live")));
		xval_array_append(ah, e);
	}
	xval_struct_add(out, "hosts", ah);

	ag = xval_new_array();
	gname = xcalloc(xval_len(groups) + 1, sizeof(*gname));
	for (i = 0; i < xval_len(groups); i++) {
		const struct xval *g = xval_struct_value(groups, i);
		struct xval *e = xval_new_struct();

		gname[ng] = unique_name(gname, ng, rec_str(g, "name_label"), rec_str(g, "uuid"));
		xval_struct_add(e, "name", xval_new_string(gname[ng++]));
		xval_struct_add(e, "uuid", xval_new_string(rec_str(g, "uuid")));
		xval_struct_add(e, "placement", xval_new_string(rec_str(g, "placement")));
		xval_array_append(ag, e);
	}
	xval_struct_add(out, "vm_groups", ag);

	av = xval_new_array();
	vname = xcalloc(xval_len(vms) + 1, sizeof(*vname));
	for (i = 0; i < xval_len(vms); i++) {
		const struct xval *v = xval_struct_value(vms, i);
		const struct xval *gs = xval_struct_get(v, "groups");
		const char *state = rec_str(v, "power_state");
		long h = ref_index(hosts, rec_str(v, "resident_on"));
		struct xval *e, *eg;

		if (rec_bool(v, "is_control_domain") || rec_bool(v, "is_a_template") ||
		    rec_bool(v, "is_a_snapshot"))
			continue;
		e = xval_new_struct();
		vname[nv] = unique_name(vname, nv, rec_str(v, "name_label"), rec_str(v, "uuid"));
		xval_struct_add(e, "name", xval_new_string(vname[nv++]));
		xval_struct_add(e, "uuid", xval_new_string(rec_str(v, "uuid")));
		xval_struct_add(e, "memory_static_max",
				xval_new_int(rec_int(v, "memory_static_max")));
		xval_struct_add(e, "memory_overhead", xval_new_int(rec_int(v, "memory_overhead")));
		if (rec_int(v, "VCPUs_max") > 0)
			xval_struct_add(e, "vcpus", xval_new_int(rec_int(v, "VCPUs_max")));
		/* The planner accepts a host only for a VM that runs. */
		if (h >= 0 && (strcmp(state, "Running") == 0 || strcmp(state, "Paused") == 0)) {
			xval_struct_add(e, "resident_on", xval_new_string(hname[h]));
			xval_struct_add(e, "power_state", xval_new_string(state));
		} else {
			xval_struct_add(e, "power_state", xval_new_string(
						     strcmp(state, "Suspended") == 0 ? state
										   : "Halted"));
		}
		xval_struct_add(e, "ha_restart_priority",
				xval_new_string(rec_str(v, "ha_restart_priority")));
		xval_struct_add(e, "ha_always_run", xval_new_bool(rec_bool(v, "ha_always_run")));
		xval_struct_add(e, "order", xval_new_int(rec_int(v, "order")));
		eg = xval_new_array();
		for (k = 0; xval_is(gs, XVAL_ARRAY) && k < xval_len(gs); k++) {
			const struct xval *g = xval_array_get(gs, k);
			long gi = xval_is(g, XVAL_STRING) ? ref_index(groups, xval_string(g)) : -1;

			if (gi >= 0)
				xval_array_append(eg, xval_new_string(gname[gi]));
		}
		xval_struct_add(e, "groups", eg);
		xval_array_append(av, e);
	}
	xval_struct_add(out, "vms", av);
	xval_struct_add(out, "ha_host_failures_to_tolerate",
			xval_new_int(rec_int(xval_struct_value(pools, 0),
					     "ha_host_failures_to_tolerate")));

	if (path != NULL && (f = fopen(path, "we")) == NULL) {
		rc = usage(x, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	clifmt_json_value(f, out);
	fputc('\n', f);
	if (f != stdout && fclose(f) != 0) {
		rc = usage(x, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
out:
	for (i = 0; i < nh; i++)
		xfree(hname[i]);
	for (i = 0; i < ng; i++)
		xfree(gname[i]);
	for (i = 0; i < nv; i++)
		xfree(vname[i]);
	xfree(hname);
	xfree(gname);
	xfree(vname);
	xval_free(out);
	xval_free(pools);
	xval_free(hosts);
	xval_free(metrics);
	xval_free(vms);
	xval_free(groups);
	return rc;
}

/* A secret from KEY=VALUE or from the first line of KEY-file=FILE (which
** keeps it out of ps); "" when neither is given.  -1 after usage. */
static int
secret_arg(struct cli *x, const char *key, char *out, size_t len)
{
	char fkey[64];
	const char *v = cliargs_get(x->args, key), *f;

	snprintf(fkey, sizeof(fkey), "%s-file", key);
	f = cliargs_get(x->args, fkey);
	out[0] = '\0';
	if (v != NULL && f != NULL) {
		usage(x, "give %s= or %s=, not both", key, fkey);
		return -1;
	}
	if (v != NULL) {
		snprintf(out, len, "%s", v);
	} else if (f != NULL && read_file_line(f, out, len) < 0) {
		usage(x, "cannot read %s from %s: %s", key, f,
		      errno == ENODATA ? "empty" : strerror(errno));
		return -1;
	}
	return 0;
}

/* snmp-receiver-add address=A [port=162] version=2c|3 [inform=BOOL]
** community=C | user=U auth-key=K priv-key=K (or *-file=FILE): prints the
** new receiver's uuid. */
static int
cmd_snmp_add(struct cli *x)
{
	const char *address = cliargs_get(x->args, "address");
	const char *version = cliargs_get(x->args, "version");
	const char *user = cliargs_get(x->args, "user");
	char community[128], auth[128], priv[128];
	struct xval *p, *r = NULL;
	int64_t port = 162;
	int inform = 0, rc;

	if (cliargs_get_int(x->args, "port", 1, 65535, &port) < 0 ||
	    cliargs_get_bool(x->args, "inform", &inform) < 0)
		return usage(x, "%s", x->args->err);
	if (secret_arg(x, "community", community, sizeof(community)) < 0 ||
	    secret_arg(x, "auth-key", auth, sizeof(auth)) < 0 ||
	    secret_arg(x, "priv-key", priv, sizeof(priv)) < 0)
		return EXIT_USAGE;
	if ((rc = check_known(x)) != 0)
		goto out;
	if (address == NULL || version == NULL) {
		rc = usage(x, "address= and version= are required");
		goto out;
	}
	p = xval_new_array();
	xval_array_append(p, xval_new_string(address));
	xval_array_append(p, xval_new_int(port));
	xval_array_append(p, xval_new_string(version));
	xval_array_append(p, xval_new_bool(inform));
	xval_array_append(p, xval_new_string(community));
	xval_array_append(p, xval_new_string(user != NULL ? user : ""));
	xval_array_append(p, xval_new_string(auth));
	xval_array_append(p, xval_new_string(priv));
	rc = call(x, "pool.snmp_receiver_add", p, &r);
	if (rc == 0 && xval_is(r, XVAL_STRING))
		printf("%s\n", xval_string(r));
	xval_free(r);
out:
	explicit_bzero(community, sizeof(community));
	explicit_bzero(auth, sizeof(auth));
	explicit_bzero(priv, sizeof(priv));
	return rc;
}

static int
cmd_snmp_remove(struct cli *x)
{
	const char *uuid = cliargs_get(x->args, "uuid");
	struct xval *r = NULL;
	int rc;

	if ((rc = check_known(x)) != 0)
		return rc;
	if (uuid == NULL)
		return usage(x, "uuid= is required");
	rc = call(x, "pool.snmp_receiver_remove", params1(xval_new_string(uuid)), &r);
	xval_free(r);
	return rc;
}

/* Each record of array r as "field: value" lines, `order` first, a blank
** line between records. */
static void
print_records(const struct xval *r, const char *const *order)
{
	size_t i, j;

	for (i = 0; i < xval_len(r); i++) {
		const struct xval *e = xval_array_get(r, i), *v;

		if (i > 0)
			fputc('\n', stdout);
		for (j = 0; order[j] != NULL; j++) {
			char *text;

			if ((v = xval_struct_get(e, order[j])) == NULL)
				continue;
			text = clifmt_value(v, 0);
			printf("%s: %s\n", order[j], text);
			xfree(text);
		}
	}
}

static int
cmd_snmp_list(struct cli *x)
{
	static const char *const order[] = {"uuid", "address", "port", "version", "inform", "user",
					    "community_set", "auth_key_set", "priv_key_set",
					    "engine_id", NULL};
	struct xval *r = NULL;
	int rc, json = cliargs_flag(x->args, "json");

	if ((rc = check_known(x)) != 0)
		return rc;
	if ((rc = call(x, "pool.snmp_receiver_get_all_records", NULL, &r)) != 0)
		return rc;
	if (json) {
		clifmt_json_value(stdout, r);
		fputc('\n', stdout);
	} else if (xval_len(r) == 0) {
		printf("no SNMP receivers\n");
	} else {
		print_records(r, order);
	}
	xval_free(r);
	return 0;
}

/* snmp-test: the outcome per receiver; exit status EXIT_API if any failed. */
static int
cmd_snmp_test(struct cli *x)
{
	struct xval *r = NULL;
	size_t i;
	int rc, failed = 0, json = cliargs_flag(x->args, "json");

	if ((rc = check_known(x)) != 0)
		return rc;
	if ((rc = call(x, "pool.snmp_test", NULL, &r)) != 0)
		return rc;
	for (i = 0; i < xval_len(r); i++) {
		const struct xval *e = xval_array_get(r, i), *ok = xval_struct_get(e, "ok");

		failed += ok == NULL || !xval_bool(ok);
	}
	if (json) {
		clifmt_json_value(stdout, r);
		fputc('\n', stdout);
	} else if (xval_len(r) == 0) {
		printf("no SNMP receivers\n");
	} else {
		for (i = 0; i < xval_len(r); i++) {
			const struct xval *e = xval_array_get(r, i);
			const struct xval *a = xval_struct_get(e, "address");
			const struct xval *p = xval_struct_get(e, "port");
			const struct xval *ok = xval_struct_get(e, "ok");
			const struct xval *err = xval_struct_get(e, "error");

			printf("%s:%" PRId64 ": %s%s\n", a != NULL ? xval_string(a) : "?",
			       p != NULL ? xval_int(p) : 0,
			       ok != NULL && xval_bool(ok) ? "ok" : "FAILED: ",
			       ok != NULL && xval_bool(ok) ? "" : err != NULL ? xval_string(err) : "");
		}
	}
	xval_free(r);
	return failed ? EXIT_API : 0;
}

/* ---- host maintenance and VM power (hasvc/api_host.c) ---- */

/* The value of `key`= (or uuid=, which xe also takes) into *v; 0, or an
** exit status after a usage message.  Call it before check_known(). */
static int
name_arg(struct cli *x, const char *key, const char **v)
{
	const char *k = cliargs_get(x->args, key), *u = cliargs_get(x->args, "uuid");

	*v = k != NULL ? k : u;
	if (k != NULL && u != NULL)
		return usage(x, "give %s= or uuid=, not both", key);
	if (*v == NULL || (*v)[0] == '\0')
		return usage(x, "%s= is required (a uuid or a name-label)", key);
	return 0;
}

/* The object that `v` names: a uuid, else a name-label that must match
** exactly one object of class `cls`.  0 with *ref, the ref (malloc'd), and
** uuid_out filled; else an exit status, having printed why. */
static int
named_ref(struct cli *x, const char *cls, const char *v, char **ref, char uuid_out[HA_UUID_LEN])
{
	struct xval *all = NULL, *r = NULL;
	char m[128];
	size_t i, found = 0;
	int rc;

	*ref = NULL;
	if (id_uuid_valid(v)) {
		snprintf(m, sizeof(m), "%s.get_by_uuid", cls);
		if ((rc = call(x, m, params1(xval_new_string(v)), &r)) != 0)
			return rc;
		if (xval_is(r, XVAL_STRING)) {
			*ref = xstrdup(xval_string(r));
			snprintf(uuid_out, HA_UUID_LEN, "%s", v);
		}
		xval_free(r);
		if (*ref == NULL) {
			fprintf(stderr, "hasvc: %s.get_by_uuid answered no ref\n", cls);
			return EXIT_API;
		}
		return 0;
	}
	snprintf(m, sizeof(m), "%s.get_all_records", cls);
	if ((rc = call(x, m, NULL, &all)) != 0)
		return rc;
	for (i = 0; xval_is(all, XVAL_STRUCT) && i < xval_len(all); i++) {
		const struct xval *rec = xval_struct_value(all, i);
		const struct xval *nl = xval_struct_get(rec, "name_label");
		const struct xval *id = xval_struct_get(rec, "uuid");

		if (!xval_is(nl, XVAL_STRING) || strcmp(xval_string(nl), v) != 0)
			continue;
		if (found++ == 0) {
			*ref = xstrdup(xval_struct_name(all, i));
			snprintf(uuid_out, HA_UUID_LEN, "%s",
				 xval_is(id, XVAL_STRING) ? xval_string(id) : "");
		}
	}
	xval_free(all);
	if (found == 1)
		return 0;
	xfree(*ref);
	*ref = NULL;
	if (found == 0)
		fprintf(stderr, "hasvc: no %s has the uuid or name-label '%s'\n", cls, v);
	else
		fprintf(stderr, "hasvc: %zu %ss are named '%s'; give uuid= instead\n", found, cls,
			v);
	return EXIT_API;
}

/* host-disable / host-enable / host-evacuate host=NAME|UUID: one call on
** the host's ref. */
static int
host_call(struct cli *x, const char *method, char uuid[HA_UUID_LEN])
{
	struct xval *r = NULL;
	const char *name;
	char *ref = NULL;
	int rc;

	if ((rc = name_arg(x, "host", &name)) != 0 || (rc = check_known(x)) != 0)
		return rc;
	if ((rc = named_ref(x, "host", name, &ref, uuid)) != 0)
		return rc;
	rc = call(x, method, params1(xval_new_string(ref)), &r);
	xval_free(r);
	xfree(ref);
	return rc;
}

static int
cmd_host_disable(struct cli *x)
{
	char uuid[HA_UUID_LEN];

	return host_call(x, "host.disable", uuid);
}

static int
cmd_host_enable(struct cli *x)
{
	char uuid[HA_UUID_LEN];

	return host_call(x, "host.enable", uuid);
}

/* host.evacuate answers once the stops are recorded: the moves finish
** later, so say how to watch them. */
static int
cmd_host_evacuate(struct cli *x)
{
	char uuid[HA_UUID_LEN] = "";
	int rc = host_call(x, "host.evacuate", uuid);

	if (rc == 0)
		printf("evacuation of host %s started: its VMs stop there, then start on other "
		       "hosts;\nit is done when `hasvc vm-list resident-on=%s --minimal` prints "
		       "nothing\n",
		       uuid, uuid);
	return rc;
}

/* vm-shutdown vm=NAME|UUID [--force]: VM.clean_shutdown, or with --force
** VM.hard_shutdown.  The VM's host stops it after the call returns. */
static int
cmd_vm_shutdown(struct cli *x)
{
	int force = cliargs_flag(x->args, "force");
	char uuid[HA_UUID_LEN] = "", *ref = NULL;
	struct xval *r = NULL;
	const char *name;
	int rc;

	if ((rc = name_arg(x, "vm", &name)) != 0 || (rc = check_known(x)) != 0)
		return rc;
	if ((rc = named_ref(x, "VM", name, &ref, uuid)) != 0)
		return rc;
	rc = call(x, force ? "VM.hard_shutdown" : "VM.clean_shutdown",
		  params1(xval_new_string(ref)), &r);
	xval_free(r);
	xfree(ref);
	return rc;
}

static int cmd_help(struct cli *x);
static int cmd_version(struct cli *x);
static int cmd_cluster_status(struct cli *x);
static int cmd_fence_history(struct cli *x);

#define LIST_OPTS "[params=a,b|all] [FIELD=VALUE ...] [--minimal] [--json]"

static const struct command commands[] = {
    {"help", NULL, "help [command=NAME]", "describe the commands, or one of them", cmd_help},
    {"version", NULL, "version", "print the version of this client", cmd_version},
    {"cluster-status", NULL, "cluster-status [--json]",
     "the pool's cluster as this host sees it: corosync, quorum, master, database position",
     cmd_cluster_status},
    {"host-fence-history", NULL, "host-fence-history [--json]",
     "the fence records of the host talked to (why it decided to fence), newest first",
     cmd_fence_history},
    {"pool-list", "pool", "pool-list " LIST_OPTS, "list the pool", cmd_list},
    {"pool-param-get", "pool", "pool-param-get [uuid=UUID] param-name=NAME [param-key=KEY]",
     "print one parameter of the pool", cmd_param_get},
    {"pool-param-set", "pool",
     "pool-param-set [uuid=UUID] [name-label=S] [name-description=S] "
     "[ha-allow-overcommit=BOOL] [ha-host-failures-to-tolerate=N]",
     "change the pool's settable parameters", cmd_param_set},
    {"pool-ha-enable", NULL, "pool-ha-enable [ha-config:timeout=SECONDS ...]",
     "turn HA on (pool.enable_ha; the configuration map from the ha-config: keys)", cmd_ha_enable},
    {"pool-ha-disable", NULL, "pool-ha-disable", "turn HA off (pool.disable_ha)", cmd_ha_disable},
    {"pool-ha-maintenance", NULL, "pool-ha-maintenance seconds=N",
     "disarm fencing on every host for N seconds, at most one hour; 0 ends the window "
     "(pool.ha_maintenance_for)",
     cmd_ha_maintenance},
    {"pool-ha-prevent-restarts", NULL, "pool-ha-prevent-restarts seconds=N",
     "block HA restarts of VMs for N seconds; 0 unblocks them (pool.ha_prevent_restarts_for)",
     cmd_ha_prevent_restarts},
    {"pool-join", NULL,
     "pool-join master-address=ADDR master-username=USER master-password=PASSWORD",
     "make the host talked to a member of the pool whose master is ADDR (pool.join)",
     cmd_pool_join},
    {"pool-eject", NULL, "pool-eject host-uuid=UUID",
     "remove a host from the pool (pool.eject); it restarts as a standalone host",
     cmd_pool_eject},
    {"pool-ha-compute-max-host-failures-to-tolerate", NULL,
     "pool-ha-compute-max-host-failures-to-tolerate",
     "print how many host failures the pool can tolerate with every protected VM restarted",
     cmd_ha_compute_max},
    {"pool-ha-compute-hypothetical-max-host-failures-to-tolerate", NULL,
     "pool-ha-compute-hypothetical-max-host-failures-to-tolerate vm-uuids=A,B "
     "priorities=restart,best-effort",
     "print the host failures the pool could tolerate if exactly these VMs had these priorities",
     cmd_ha_hypothetical},
    {"pool-ha-failover-plan-exists", NULL, "pool-ha-failover-plan-exists n=N",
     "print true if every protected VM can restart after any N host failures",
     cmd_ha_plan_exists},
    {"pool-ha-what-if", NULL, "pool-ha-what-if host-uuids=A,B",
     "print where each VM of these hosts would restart, in which order group, or why not",
     cmd_ha_what_if},
    {"pool-ha-single-failure-plans", NULL, "pool-ha-single-failure-plans [--json]",
     "print, for each host, whether its failure has a precomputed plan and how many protected VMs "
     "it restarts",
     cmd_ha_single_failure_plans},
    {"pool-export-plan-input", NULL, "pool-export-plan-input [file=PATH]",
     "write the pool as the offline planner's input (hasvc plan --pool PATH)",
     cmd_export_plan_input},
    {"plan", NULL, "plan --pool FILE [--fail h1,h2 ...] [--budget N] [--json]",
     "run the offline failover planner (hasvc-plan) on a pool described in JSON", cmd_companion},
    {"statefile-init", NULL, "statefile-init FILE --db POOL_DB [--hosts N] [--force]",
     "create a pool's statefile (runs hasvc-statefile init, docs/statefile.md)", cmd_companion},
    {"statefile-dump", NULL, "statefile-dump FILE --db POOL_DB [--json]",
     "show a statefile's header and slots (runs hasvc-statefile dump)", cmd_companion},
    {"simulate", NULL, "simulate SCENARIO | --seeds N [--from S] | --seed S --trace",
     "run the liveness simulator (hasvc-sim, docs/simulator.md) and print the timeline",
     cmd_companion},
    {"host-list", "host", "host-list " LIST_OPTS, "list the hosts", cmd_list},
    {"host-param-get", "host", "host-param-get uuid=UUID param-name=NAME [param-key=KEY]",
     "print one parameter of a host", cmd_param_get},
    {"host-disable", NULL, "host-disable host=NAME|UUID",
     "take a host out of service: no VM is placed on it (host.disable; refused under HA when "
     "the failover plan would break)",
     cmd_host_disable},
    {"host-enable", NULL, "host-enable host=NAME|UUID", "put a host back in service (host.enable)",
     cmd_host_enable},
    {"host-evacuate", NULL, "host-evacuate host=NAME|UUID",
     "move every VM off a disabled host: each is stopped there and started on another host "
     "(host.evacuate; returns before the moves complete)",
     cmd_host_evacuate},
    {"vm-list", "vm", "vm-list " LIST_OPTS, "list the VMs (templates only with is-a-template=true)",
     cmd_list},
    {"vm-param-get", "vm", "vm-param-get uuid=UUID param-name=NAME [param-key=KEY]",
     "print one parameter of a VM", cmd_param_get},
    {"vm-param-set", "vm",
     "vm-param-set uuid=UUID [ha-restart-priority=restart|best-effort|] [order=N] "
     "[start-delay=N] [ha-always-run=BOOL]",
     "change a VM's HA policy", cmd_param_set},
    {"vm-shutdown", NULL, "vm-shutdown vm=NAME|UUID [--force]",
     "shut a VM down, cleanly or with --force at once (VM.clean_shutdown / hard_shutdown; clears "
     "ha-always-run; returns before the VM has stopped)",
     cmd_vm_shutdown},
    {"snmp-receiver-add", NULL,
     "snmp-receiver-add address=ADDR [port=162] version=2c|3 [inform=BOOL] "
     "community=C | user=U auth-key=K priv-key=K (or community-file=, auth-key-file=, "
     "priv-key-file=)",
     "add an SNMP notification receiver to the pool (v3: authPriv, SHA + AES-128)",
     cmd_snmp_add},
    {"snmp-receiver-list", NULL, "snmp-receiver-list [--json]",
     "list the pool's SNMP receivers (secrets are never shown)", cmd_snmp_list},
    {"snmp-receiver-remove", NULL, "snmp-receiver-remove uuid=UUID",
     "remove an SNMP receiver", cmd_snmp_remove},
    {"snmp-test", NULL, "snmp-test [--json]",
     "send a test notification to every SNMP receiver and print each outcome", cmd_snmp_test},
    {"message-list", "message", "message-list " LIST_OPTS, "list the alerts", cmd_list},
    {"event-watch", NULL, "event-watch [class=vm,host,pool,message,...]",
     "print each change as 'class operation uuid' until interrupted", cmd_event_watch},
    {"user-list", "user", "user-list " LIST_OPTS, "list the API users and their roles", cmd_list},
    {"user-add", NULL,
     "user-add name=NAME role=pool-admin|pool-operator|read-only [password-file=FILE]",
     "add an API user; the password is read from the file or stdin", cmd_user_add},
    {"user-remove", NULL, "user-remove name=NAME", "remove an API user", cmd_user_remove},
    {"user-set-role", NULL, "user-set-role name=NAME role=ROLE", "change a user's role",
     cmd_user_set_role},
    {"host-server-certificate-install", NULL,
     "host-server-certificate-install certificate=FILE private-key=FILE "
     "[certificate-chain=FILE] [host-uuid=UUID]",
     "replace a host's API certificate (checked against its key; the old one is kept on failure)",
     cmd_cert_install},
};

static const struct command *
lookup(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void
print_global_usage(FILE *f)
{
	fprintf(f, "usage: hasvc [-s HOST] [-p PORT] [-u USER] [-pw PASS | -pwf FILE]\n"
	           "             [--no-verify | --cacert FILE] [--local] COMMAND [key=value ...]\n"
	           "The password comes from -pwf FILE (first line) or $HASVC_PASSWORD.\n"
	           "--local reads this host's own copy of the pool (no redirect to the master).\n"
	           "Defaults from $HASVC_HOST, $HASVC_PORT, $HASVC_USER, $HASVC_CACERT,\n"
	           "$HASVC_NO_VERIFY=1.\n");
}

static int
cmd_help(struct cli *x)
{
	const char *name = cliargs_get(x->args, "command");
	const struct command *c;
	const struct clifmt_class *cls;
	size_t i;
	int rc;

	if ((rc = check_known(x)) != 0)
		return rc;
	if (name != NULL) {
		c = lookup(name);
		if (c == NULL) {
			fprintf(stderr, "hasvc: unknown command '%s'\n", name);
			return EXIT_USAGE;
		}
		printf("usage: hasvc %s\n  %s\n", c->synopsis, c->what);
		cls = c->cls != NULL ? clifmt_class_find(c->cls) : NULL;
		if (cls != NULL) {
			printf("parameters of %s:", cls->name);
			for (i = 0; i < cls->nfields; i++)
				printf(" %s%s", cls->fields[i].name,
				       (cls->fields[i].flags & CLIFMT_RW) ? "(RW)" : "");
			printf("\n");
		}
		return 0;
	}
	print_global_usage(stdout);
	printf("\ncommands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		printf("  %-46s %s\n", commands[i].name, commands[i].what);
	printf("\n'hasvc help command=NAME' shows a command's parameters.\n");
	return 0;
}

/* cluster-status [--json]: the pool's cluster as the host talked to sees it
** (a session on that host itself, so it works on every member). */
static int
cmd_cluster_status(struct cli *x)
{
	static const char *const order[] = {
	    "host_uuid", "nodeid",   "connected", "phase", "quorate",  "master_uuid",
	    "master_address", "is_master", "writable", "term", "seq", "checksum",
	    "members",   "dropped",  "liveness", NULL,
	};
	struct xval *r = NULL;
	const struct xval *v;
	char *text;
	int rc, json;
	size_t i;

	json = cliargs_flag(x->args, "json");
	if ((rc = check_known(x)) != 0)
		return rc;
	x->local = 1;
	if ((rc = call(x, "pool.get_cluster_status", NULL, &r)) != 0)
		return rc;
	if (json) {
		clifmt_json_value(stdout, r);
		fputc('\n', stdout);
	} else {
		for (i = 0; order[i] != NULL; i++) {
			if ((v = xval_struct_get(r, order[i])) == NULL)
				continue;
			text = clifmt_value(v, 0);
			printf("%s: %s\n", order[i], text);
			xfree(text);
		}
	}
	xval_free(r);
	return 0;
}

/* host.get_ha_fence_history on the host talked to itself (a pool member
** answers for its own records: they are local files, not pool state). */
static int
cmd_fence_history(struct cli *x)
{
	static const char *const order[] = {
	    "seq",  "time",      "reason",  "reason_text", "detail", "host",
	    "ring_seq", "ring_node", "members", "liveset",     "views",  "file", NULL,
	};
	struct xval *r = NULL;
	const struct xval *e, *v;
	char *text;
	int rc, json;
	size_t i, j;

	json = cliargs_flag(x->args, "json");
	if ((rc = check_known(x)) != 0)
		return rc;
	x->local = 1;
	if ((rc = call(x, "host.get_ha_fence_history", NULL, &r)) != 0)
		return rc;
	if (json) {
		clifmt_json_value(stdout, r);
		fputc('\n', stdout);
	} else if (xval_len(r) == 0) {
		printf("no fence records\n");
	} else {
		for (i = 0; i < xval_len(r); i++) {
			e = xval_array_get(r, i);
			if (i > 0)
				fputc('\n', stdout);
			if ((v = xval_struct_get(e, "refused")) != NULL && xval_bool(v)) {
				const struct xval *f = xval_struct_get(e, "file");
				const struct xval *w = xval_struct_get(e, "why");
				char *ft = f != NULL ? clifmt_value(f, 0) : NULL;
				char *wt = w != NULL ? clifmt_value(w, 0) : NULL;

				printf("file: %s\nrefused: %s\n", ft != NULL ? ft : "?",
				       wt != NULL ? wt : "?");
				xfree(ft);
				xfree(wt);
				continue;
			}
			for (j = 0; order[j] != NULL; j++) {
				if ((v = xval_struct_get(e, order[j])) == NULL)
					continue;
				text = clifmt_value(v, 0);
				printf("%s: %s\n", order[j], text);
				xfree(text);
			}
		}
	}
	xval_free(r);
	return 0;
}

static int
cmd_version(struct cli *x)
{
	int rc;

	if ((rc = check_known(x)) != 0)
		return rc;
	printf("hasvc %s\n", HASVC_VERSION);
	return 0;
}

/* Take the global options out of argv (they may come before or after the
** command, as with xe); the rest is left in rest[0..*nrest).  0, or -1 with
** the reason printed. */
static int
parse_globals(int argc, char **argv, struct gopts *g, char **rest, int *nrest)
{
	static const char *const with_value[] = {"-s", "-p", "-u", "-pw", "-pwf", "--cacert"};
	const char *v;
	char *end;
	long port;
	int i, k, saw_no_verify = 0, saw_cacert = 0;

	*nrest = 0;
	for (i = 1; i < argc; i++) {
		for (k = 0; k < (int)ARRAY_SIZE(with_value); k++)
			if (strcmp(argv[i], with_value[k]) == 0)
				break;
		if (strcmp(argv[i], "--local") == 0) {
			g->local = 1;
			continue;
		}
		if (strcmp(argv[i], "--no-verify") == 0) {
			g->no_verify = 1;
			g->cacert = NULL; /* over $HASVC_CACERT */
			saw_no_verify = 1;
			continue;
		}
		if (k == (int)ARRAY_SIZE(with_value)) {
			if (argv[i][0] == '-' && argv[i][1] != '-') {
				fprintf(stderr, "hasvc: unknown option %s\n", argv[i]);
				return -1;
			}
			rest[(*nrest)++] = argv[i];
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "hasvc: %s needs a value\n", argv[i]);
			return -1;
		}
		v = argv[++i];
		switch (k) {
		case 0:
			g->host = v;
			break;
		case 1:
			errno = 0;
			port = strtol(v, &end, 10);
			if (v[0] == '\0' || *end != '\0' || errno != 0 || port < 1 ||
			    port > 65535) {
				fprintf(stderr, "hasvc: -p %s: not a port (1..65535)\n", v);
				return -1;
			}
			g->port = (int)port;
			break;
		case 2:
			g->user = v;
			break;
		case 3:
			g->pw = v;
			break;
		case 4:
			g->pwf = v;
			break;
		case 5:
			g->cacert = v;
			g->no_verify = 0; /* over $HASVC_NO_VERIFY */
			saw_cacert = 1;
			break;
		}
	}
	if (g->pw != NULL && g->pwf != NULL) {
		fprintf(stderr, "hasvc: give -pw or -pwf, not both\n");
		return -1;
	}
	if (saw_no_verify && saw_cacert) {
		fprintf(stderr, "hasvc: give --no-verify or --cacert, not both\n");
		return -1;
	}
	return 0;
}

/* Connection defaults from the environment (what `hasvc-lab exec` sets):
** HASVC_HOST, HASVC_PORT, HASVC_USER, HASVC_CACERT, HASVC_NO_VERIFY=1.  The
** options on the command line win. */
static int
env_globals(struct gopts *g)
{
	const char *v;
	char *end;
	long port;

	if ((v = getenv("HASVC_HOST")) != NULL && v[0] != '\0')
		g->host = v;
	if ((v = getenv("HASVC_PORT")) != NULL && v[0] != '\0') {
		errno = 0;
		port = strtol(v, &end, 10);
		if (*end != '\0' || errno != 0 || port < 1 || port > 65535) {
			fprintf(stderr, "hasvc: HASVC_PORT=%s: not a port (1..65535)\n", v);
			return -1;
		}
		g->port = (int)port;
	}
	if ((v = getenv("HASVC_USER")) != NULL && v[0] != '\0')
		g->user = v;
	if ((v = getenv("HASVC_CACERT")) != NULL && v[0] != '\0')
		g->cacert = v;
	else if ((v = getenv("HASVC_NO_VERIFY")) != NULL && strcmp(v, "1") == 0)
		g->no_verify = 1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct gopts g = {"localhost", 443, "root", NULL, NULL, NULL, 0, 0};
	struct cliargs args;
	struct cli x = {0};
	char **rest = xcalloc((size_t)argc + 1, sizeof(*rest));
	int nrest, rc;

	if (env_globals(&g) < 0) {
		xfree(rest);
		return EXIT_USAGE;
	}
	if (parse_globals(argc, argv, &g, rest, &nrest) < 0) {
		print_global_usage(stderr);
		xfree(rest);
		return EXIT_USAGE;
	}
	if (nrest == 0) {
		print_global_usage(stderr);
		fprintf(stderr, "Try 'hasvc help' for the commands.\n");
		xfree(rest);
		return EXIT_USAGE;
	}
	if (strcmp(rest[0], "plan") == 0) {
		rc = plan_exec(nrest - 1, rest + 1);
		xfree(rest);
		return rc;
	}
	/* The liveness simulator runs offline (docs/simulator.md). */
	if (strcmp(rest[0], "simulate") == 0) {
		rc = companion_exec("hasvc-sim", NULL, nrest - 1, rest + 1);
		xfree(rest);
		return rc;
	}
	/* The statefile is a local file, not an API object: hasvc-statefile. */
	if (strcmp(rest[0], "statefile-init") == 0 || strcmp(rest[0], "statefile-dump") == 0) {
		rc = companion_exec("hasvc-statefile", rest[0] + strlen("statefile-"), nrest - 1,
		                    rest + 1); /* rest[0] is argv's: writable */
		xfree(rest);
		return rc;
	}
	if (cliargs_parse(&args, nrest, rest) < 0) {
		fprintf(stderr, "hasvc: %s\n", args.err);
		rc = EXIT_USAGE;
		goto out;
	}
	x.cmd = lookup(args.command);
	if (x.cmd == NULL) {
		fprintf(stderr, "hasvc: unknown command '%s' (try 'hasvc help')\n", args.command);
		rc = EXIT_USAGE;
		goto out;
	}
	x.args = &args;
	x.g = &g;
	rc = x.cmd->run(&x);
out:
	client_free(x.cl); /* logs out */
	cliargs_clear(&args);
	xfree(rest);
	return rc;
}
