/*
** hasvcd's local configuration file.  See config.h for the contract and
** docs/configuration.md for the format.
**
** The grammar is a table: every element is a `struct elem` naming its value
** parser (leaves) or its own table of children (containers), how often it may
** appear and whether it is required.  One walker applies the table to the
** libxml2 tree, so "unknown element", "repeated element", "unexpected
** attribute" and "missing element" are checked in one place for all.  Rules
** that tie elements together (the watchdog driver needs a device, ...) run
** after the walk, in check_combinations().
**
** Invariants:
**   - every problem becomes one config_error; nothing stops at the first one
**     except a document libxml2 cannot parse, a wrong root element or an
**     unsupported version (the rest could not be judged);
**   - libxml2 never prints: errors reach us through a structured handler,
**     installed for the duration of one parse and restored afterwards;
**   - nothing is fetched: XML_PARSE_NONET, no XML_PARSE_NOENT/DTDLOAD, and the
**     internal-subset SAX callback stops the parser at any <!DOCTYPE>.
*/
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "hasvc/config.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define XML_SPACE             " \t\r\n"
#define DEFAULT_DATA_DIR      "/var/lib/hasvc"
#define DEFAULT_WD_TIMEOUT_MS 30000u
#define WD_TIMEOUT_MIN_MS     1000u
#define WD_TIMEOUT_MAX_MS     600000u
#define DEFAULT_HOOK_TIMEOUT_MS 5000u /* <hook-timeout>: 1s..10m, as every duration */

/* Every element, so that cross-element rules can find where each one was. */
enum elem_id {
	E_ROOT,
	E_HOST_UUID,
	E_MGMT_ADDR,
	E_DATA_DIR,
	E_STATEFILE,
	E_WATCHDOG,
	E_WD_DRIVER,
	E_WD_DEVICE,
	E_WD_TIMEOUT,
	E_WD_KEEPER_SOCKET,
	E_HYPERVISOR,
	E_HV_BACKEND,
	E_HV_SOCKET,
	E_API,
	E_API_ADDRESS,
	E_API_PORT,
	E_API_CERT,
	E_API_KEY,
	E_API_ROOT_PW,
	E_API_METRICS_AUTH,
	E_CLUSTER,
	E_CL_CONF,
	E_CL_AUTHKEY,
	E_CL_LOG,
	E_CL_STATE_DIR,
	E_NOTIFY,
	E_NOTIFY_HOOK,
	E_NOTIFY_HOOK_TIMEOUT,
	E_LOG,
	E_LOG_LEVEL,
	E_LOG_SYSLOG,
	E_COUNT
};

struct parse;
struct elem;

/* Parse the trimmed, non-empty text `val` of element `n` into `dst`.
** Returns 0, or -1 after reporting the problem. */
typedef int (*value_fn)(struct parse *p, const struct elem *e, xmlNode *n, const char *val,
                        void *dst);

struct elem {
	const char *name;
	enum elem_id id;
	unsigned max;                /* occurrences allowed within one parent */
	int required;                /* must appear at least once */
	value_fn parse;              /* leaves only */
	size_t off, size;            /* leaves: destination in struct config, stride */
	const char *const *names;    /* enum leaves: allowed values, index = value */
	const struct elem *children; /* containers: table ended by a NULL name */
};

/* State of one parse. */
struct parse {
	const char *name; /* file name for messages */
	struct config *cfg;
	struct config_errors *errs;
	size_t dropped;          /* problems beyond CONFIG_MAX_ERRORS */
	int doctype;             /* a <!DOCTYPE> was seen and refused */
	unsigned count[E_COUNT]; /* occurrences accepted */
	int line[E_COUNT];       /* line of the first occurrence */
	int last_line[E_COUNT];  /* line of the latest occurrence */
	int bad[E_COUNT];        /* a value of this element was refused */
};

static const char *const wd_driver_names[] = {
    [CONFIG_WD_XEN] = "xen",
    [CONFIG_WD_LINUX] = "linux",
    [CONFIG_WD_SIM] = "sim",
    NULL,
};
static const char *const hv_backend_names[] = {
    [CONFIG_HV_XEN] = "xen",
    [CONFIG_HV_SIM] = "sim",
    NULL,
};
/* <metrics-auth>: index = enum metrics_auth (hasvc/metrics.h). */
static const char *const metrics_auth_names[] = {
    "basic",
    "none",
    NULL,
};
/* The names log_level_from_name() knows, for messages. */
static const char *const log_level_names[] = {
    "debug", "info", "notice", "warning", "error", NULL,
};

/* The enum fields are written through an int: they must be int-sized. */
_Static_assert(sizeof(enum config_watchdog_driver) == sizeof(int), "enum size");
_Static_assert(sizeof(enum config_hv_backend) == sizeof(int), "enum size");

static void
push_error(struct config_errors *errs, const char *name, int line, const char *msg)
{
	struct config_error *e;

	errs->v = xreallocarray(errs->v, errs->n + 1, sizeof(*errs->v));
	e = &errs->v[errs->n++];
	e->line = line;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
	if (line > 0)
		snprintf(e->text, sizeof(e->text), "%s:%d: %s", name, line, msg);
	else
		snprintf(e->text, sizeof(e->text), "%s: %s", name, msg);
}

/* Report one problem.  The last slot below CONFIG_MAX_ERRORS is kept for
** finish_errors()' summary of what was dropped. */
static void __attribute__((format(printf, 3, 4)))
perr(struct parse *p, long line, const char *fmt, ...)
{
	char msg[sizeof(((struct config_error *)0)->msg)];
	va_list ap;

	if (p->errs->n >= CONFIG_MAX_ERRORS - 1) {
		p->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	push_error(p->errs, p->name, line > 0 && line <= INT32_MAX ? (int)line : 0, msg);
}

/* Put the problems of this parse (from index `first` on) in line order, the
** order an admin reads the file in; stable, and line-less ones last. */
static void
finish_errors(struct parse *p, size_t first)
{
	struct config_errors *errs = p->errs;
	struct config_error tmp;
	char msg[64];
	size_t i, j;

	for (i = first + 1; i < errs->n; i++) {
		tmp = errs->v[i];
		for (j = i; j > first && tmp.line > 0 &&
		            (errs->v[j - 1].line == 0 || errs->v[j - 1].line > tmp.line);
		     j--)
			errs->v[j] = errs->v[j - 1];
		errs->v[j] = tmp;
	}
	if (p->dropped == 0)
		return;
	snprintf(msg, sizeof(msg), "%zu more problems not shown", p->dropped);
	push_error(p->errs, p->name, 0, msg);
}

/* The line of `n`.  libxml2 keeps 16 bits of line in a node; past 65535 it
** keeps the full line of text nodes in psvi (XML_PARSE_BIG_LINES) and
** xml_start_element() does the same for elements. */
static int
node_line(xmlNode *n)
{
	long l;

	if (n->type == XML_ELEMENT_NODE && n->line == USHRT_MAX && n->psvi != NULL)
		l = (long)(ptrdiff_t)n->psvi;
	else
		l = xmlGetLineNo(n);
	return l > 0 && l <= INT32_MAX ? (int)l : 0;
}

/* The line where the first non-blank character of text node `n` is: libxml2
** records the line where a text node ends. */
static int
text_line(xmlNode *n)
{
	const xmlChar *s = n->content + strspn((const char *)n->content, XML_SPACE);
	int line = node_line(n);

	for (; *s != '\0'; s++)
		if (*s == '\n' && line > 1)
			line--;
	return line;
}

/* "a, b or c" from a NULL-terminated list, for messages. */
static void
join_names(char *out, size_t len, const char *const *names)
{
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; names[i] != NULL && used < len; i++) {
		const char *sep = i == 0 ? "" : names[i + 1] == NULL ? " or " : ", ";
		int k = snprintf(out + used, len - used, "%s%s", sep, names[i]);

		if (k < 0)
			break;
		used += (size_t)k;
	}
}

/* -- value parsers ------------------------------------------------------- */

static int
parse_uuid(struct parse *p, const struct elem *e, xmlNode *n, const char *val, void *dst)
{
	char *out = dst;
	size_t i;

	if (!id_uuid_valid(val)) {
		perr(p, node_line(n), "<%s> \"%.64s\" is not a valid UUID (8-4-4-4-12 hex digits)",
		     e->name, val);
		return -1;
	}
	/* Stored lower case, the way hasvc writes UUIDs everywhere else. */
	for (i = 0; val[i] != '\0'; i++)
		out[i] = (char)tolower((unsigned char)val[i]);
	out[i] = '\0';
	return 0;
}

static int
parse_address(struct parse *p, const struct elem *e, xmlNode *n, const char *val, void *dst)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (strlen(val) >= e->size ||
	    (inet_pton(AF_INET, val, buf) != 1 && inet_pton(AF_INET6, val, buf) != 1)) {
		perr(p, node_line(n), "<%s> \"%.64s\" is not an IPv4 or IPv6 address literal",
		     e->name, val);
		return -1;
	}
	memcpy(dst, val, strlen(val) + 1);
	return 0;
}

static int
parse_path(struct parse *p, const struct elem *e, xmlNode *n, const char *val, void *dst)
{
	if (val[0] != '/') {
		perr(p, node_line(n), "<%s> \"%.64s\" is not an absolute path", e->name, val);
		return -1;
	}
	if (strlen(val) >= e->size) {
		perr(p, node_line(n), "<%s> is longer than %zu characters", e->name, e->size - 1);
		return -1;
	}
	memcpy(dst, val, strlen(val) + 1);
	return 0;
}

/* An AF_UNIX socket path: absolute, and short enough for sun_path with its
** NUL (a longer one could not be bound or connected to at all). */
static int
parse_socket_path(struct parse *p, const struct elem *e, xmlNode *n, const char *val, void *dst)
{
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

	if (val[0] == '/' && strlen(val) > max) {
		perr(p, node_line(n), "<%s> is longer than %zu characters (a unix socket path)",
		     e->name, max);
		return -1;
	}
	return parse_path(p, e, n, val, dst);
}

/* A decimal integer with an optional sign, clamped to +-10^12 so that an
** absurd value is "out of range" rather than an overflow.  0 or -1. */
static int
decimal(const char *s, long long *out, const char **end)
{
	long long v = 0;
	int neg = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++)
		if (v < 1000000000000LL)
			v = v * 10 + (*s - '0');
	*out = neg ? -v : v;
	*end = s;
	return 0;
}

static int
parse_port(struct parse *p, const struct elem *e, xmlNode *n, const char *val, void *dst)
{
	const char *end;
	long long v;

	if (decimal(val, &v, &end) < 0 || *end != '\0') {
		perr(p, node_line(n), "<%s> \"%.64s\" is not an integer", e->name, val);
		return -1;
	}
	if (v < 1 || v > 65535) {
		perr(p, node_line(n), "<%s> %.64s is out of range: a port is 1..65535", e->name,
		     val);
		return -1;
	}
	*(uint16_t *)dst = (uint16_t)v;
	return 0;
}

/* "N" (seconds), "Nms", "Ns" or "Nm". */
static int
parse_duration(struct parse *p, const struct elem *e, xmlNode *n, const char *val, void *dst)
{
	static const struct {
		const char *suffix;
		long long ms;
	} units[] = {{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}};
	const char *end;
	long long v;
	size_t i;

	if (decimal(val, &v, &end) == 0)
		for (i = 0; i < ARRAY_SIZE(units); i++)
			if (strcmp(end, units[i].suffix) == 0) {
				v *= units[i].ms;
				goto range;
			}
	perr(p, node_line(n), "<%s> \"%.64s\" is not a duration (N, Nms, Ns or Nm)", e->name, val);
	return -1;
range:
	if (v < WD_TIMEOUT_MIN_MS || v > WD_TIMEOUT_MAX_MS) {
		perr(p, node_line(n), "<%s> %.64s is out of range: it must be 1s..10m", e->name,
		     val);
		return -1;
	}
	*(uint32_t *)dst = (uint32_t)v;
	return 0;
}

static int
parse_bool(struct parse *p, const struct elem *e, xmlNode *n, const char *val, void *dst)
{
	static const char *const yes[] = {"true", "yes", "1"}, *const no[] = {"false", "no", "0"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcmp(val, yes[i]) == 0) {
			*(int *)dst = 1;
			return 0;
		}
		if (strcmp(val, no[i]) == 0) {
			*(int *)dst = 0;
			return 0;
		}
	}
	perr(p, node_line(n), "<%s> \"%.64s\" is not a boolean: use true, false, yes, no, 1 or 0",
	     e->name, val);
	return -1;
}

static int
parse_enum(struct parse *p, const struct elem *e, xmlNode *n, const char *val, void *dst)
{
	char allowed[128];
	int i;

	for (i = 0; e->names[i] != NULL; i++)
		if (strcmp(val, e->names[i]) == 0) {
			*(int *)dst = i;
			return 0;
		}
	join_names(allowed, sizeof(allowed), e->names);
	perr(p, node_line(n), "<%s> \"%.64s\" is not one of %s", e->name, val, allowed);
	return -1;
}

static int
parse_log_level(struct parse *p, const struct elem *e, xmlNode *n, const char *val, void *dst)
{
	char allowed[128];
	int level = log_level_from_name(val);

	if (level < 0) {
		join_names(allowed, sizeof(allowed), e->names);
		perr(p, node_line(n), "<%s> \"%.64s\" is not one of %s", e->name, val, allowed);
		return -1;
	}
	*(int *)dst = level;
	return 0;
}

/* -- the grammar ----------------------------------------------------------- */

#define LEAF(nm, id, max, req, fn, field, nms)                                                     \
	{                                                                                          \
		nm, id, max, req, fn, offsetof(struct config, field),                              \
		    sizeof(((struct config *)0)->field), nms, NULL                                 \
	}
#define NODE(nm, id, req, kids)                                                                    \
	{                                                                                          \
		nm, id, 1, req, NULL, 0, 0, NULL, kids                                             \
	}

static const struct elem watchdog_elems[] = {
    LEAF("driver", E_WD_DRIVER, 1, 0, parse_enum, watchdog_driver, wd_driver_names),
    LEAF("device", E_WD_DEVICE, 1, 0, parse_path, watchdog_device, NULL),
    LEAF("timeout", E_WD_TIMEOUT, 1, 0, parse_duration, watchdog_timeout_ms, NULL),
    LEAF("keeper-socket", E_WD_KEEPER_SOCKET, 1, 0, parse_socket_path, watchdog_keeper_socket,
         NULL),
    {NULL},
};

static const struct elem hypervisor_elems[] = {
    LEAF("backend", E_HV_BACKEND, 1, 0, parse_enum, hv_backend, hv_backend_names),
    LEAF("socket", E_HV_SOCKET, 1, 0, parse_path, hv_socket, NULL),
    {NULL},
};

static const struct elem api_elems[] = {
    LEAF("address", E_API_ADDRESS, 1, 0, parse_address, api_address, NULL),
    LEAF("port", E_API_PORT, 1, 0, parse_port, api_port, NULL),
    LEAF("certificate", E_API_CERT, 1, 0, parse_path, api_certificate, NULL),
    LEAF("key", E_API_KEY, 1, 0, parse_path, api_key, NULL),
    LEAF("root-password-file", E_API_ROOT_PW, 1, 0, parse_path, api_root_password_file, NULL),
    LEAF("metrics-auth", E_API_METRICS_AUTH, 1, 0, parse_enum, api_metrics_auth,
         metrics_auth_names),
    {NULL},
};

static const struct elem cluster_elems[] = {
    LEAF("corosync-conf", E_CL_CONF, 1, 0, parse_path, corosync_conf, NULL),
    LEAF("authkey", E_CL_AUTHKEY, 1, 0, parse_path, corosync_authkey, NULL),
    LEAF("corosync-log", E_CL_LOG, 1, 0, parse_path, corosync_log, NULL),
    LEAF("corosync-state-dir", E_CL_STATE_DIR, 1, 0, parse_path, corosync_state_dir, NULL),
    {NULL},
};

/* notify_hook is an array: its stride is one entry. */
static const struct elem notify_elems[] = {
    {"hook", E_NOTIFY_HOOK, CONFIG_MAX_HOOKS, 0, parse_path, offsetof(struct config, notify_hook),
     sizeof(((struct config *)0)->notify_hook[0]), NULL, NULL},
    LEAF("hook-timeout", E_NOTIFY_HOOK_TIMEOUT, 1, 0, parse_duration, notify_hook_timeout_ms,
         NULL),
    {NULL},
};

static const struct elem log_elems[] = {
    LEAF("level", E_LOG_LEVEL, 1, 0, parse_log_level, log_level, log_level_names),
    LEAF("syslog", E_LOG_SYSLOG, 1, 0, parse_bool, log_syslog, NULL),
    {NULL},
};

/* management_address is an array: its stride is one entry. */
static const struct elem root_elems[] = {
    LEAF("host-uuid", E_HOST_UUID, 1, 1, parse_uuid, host_uuid, NULL),
    {"management-address", E_MGMT_ADDR, CONFIG_MAX_ADDRS, 1, parse_address,
     offsetof(struct config, management_address),
     sizeof(((struct config *)0)->management_address[0]), NULL, NULL},
    LEAF("data-dir", E_DATA_DIR, 1, 0, parse_path, data_dir, NULL),
    LEAF("statefile", E_STATEFILE, 1, 0, parse_path, statefile, NULL),
    NODE("watchdog", E_WATCHDOG, 0, watchdog_elems),
    NODE("hypervisor", E_HYPERVISOR, 0, hypervisor_elems),
    NODE("api", E_API, 0, api_elems),
    NODE("cluster", E_CLUSTER, 0, cluster_elems),
    NODE("notify", E_NOTIFY, 0, notify_elems),
    NODE("log", E_LOG, 0, log_elems),
    {NULL},
};

static const struct elem root_elem = NODE("hasvcd", E_ROOT, 1, root_elems);

/* -- the walker ------------------------------------------------------------ */

static int
is_blank(const xmlChar *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if (strchr(XML_SPACE, *s) == NULL)
			return 0;
	return 1;
}

/* Every attribute and namespace declaration of `n` is a problem, except those
** named in `allowed` (NULL-terminated, may be NULL). */
static void
check_attributes(struct parse *p, xmlNode *n, const char *const *allowed)
{
	xmlAttr *a;
	xmlNs *ns;
	size_t i;

	for (a = n->properties; a != NULL; a = a->next) {
		for (i = 0; allowed != NULL && allowed[i] != NULL; i++)
			if (a->ns == NULL && strcmp((const char *)a->name, allowed[i]) == 0)
				break;
		if (allowed == NULL || allowed[i] == NULL)
			perr(p, node_line(n), "unexpected attribute \"%.64s\" on <%.64s>",
			     (const char *)a->name, (const char *)n->name);
	}
	for (ns = n->nsDef; ns != NULL; ns = ns->next)
		perr(p, node_line(n), "unexpected namespace declaration on <%.64s>",
		     (const char *)n->name);
}

/* The text of leaf `n`, trimmed; NULL (after reporting) when it holds
** elements.  The caller frees. */
static char *
leaf_text(struct parse *p, const struct elem *e, xmlNode *n)
{
	xmlNode *c;
	xmlChar *raw;
	char *s, *start, *end;

	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE || c->type == XML_PI_NODE) {
			perr(p, node_line(c), "<%s> holds a value, not <%.64s>", e->name,
			     (const char *)c->name);
			return NULL;
		}
	raw = xmlNodeGetContent(n);
	s = xstrdup(raw != NULL ? (const char *)raw : "");
	xmlFree(raw);
	/* XML whitespace around a value is layout, not part of it. */
	for (end = s + strlen(s); end > s && strchr(XML_SPACE, end[-1]) != NULL; end--)
		;
	*end = '\0';
	start = s + strspn(s, XML_SPACE);
	memmove(s, start, strlen(start) + 1);
	return s;
}

static void walk(struct parse *p, const struct elem *spec, xmlNode *n);

static void
walk_leaf(struct parse *p, const struct elem *e, xmlNode *n, unsigned nth)
{
	char *val;

	check_attributes(p, n, NULL);
	val = leaf_text(p, e, n);
	if (val == NULL) {
		p->bad[e->id] = 1;
		return;
	}
	if (val[0] == '\0') {
		perr(p, node_line(n), "<%s> is empty", e->name);
		p->bad[e->id] = 1;
	} else if (e->parse(p, e, n, val, (char *)p->cfg + e->off + nth * e->size) < 0) {
		p->bad[e->id] = 1;
	}
	xfree(val);
}

/* Apply container `spec` to element `n`: every child must be one of the
** table's elements, within its count; required ones must be there. */
static void
walk(struct parse *p, const struct elem *spec, xmlNode *n)
{
	unsigned seen[16] = {0};
	const struct elem *e;
	xmlNode *c;

	for (c = n->children; c != NULL; c = c->next) {
		switch (c->type) {
		case XML_ELEMENT_NODE:
			break;
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
			if (!is_blank(c->content))
				perr(p, text_line(c), "unexpected text in <%s>", spec->name);
			continue;
		case XML_COMMENT_NODE:
			continue;
		default:
			perr(p, node_line(c), "unexpected %s in <%s>",
			     c->type == XML_PI_NODE ? "processing instruction" : "node",
			     spec->name);
			continue;
		}
		for (e = spec->children; e->name != NULL; e++)
			if (c->ns == NULL && strcmp((const char *)c->name, e->name) == 0)
				break;
		if (e->name == NULL) {
			perr(p, node_line(c), "unknown element <%.64s> in <%s>",
			     (const char *)c->name, spec->name);
			continue;
		}
		ha_assert((size_t)(e - spec->children) < ARRAY_SIZE(seen));
		if (seen[e - spec->children] >= e->max) {
			if (e->max == 1)
				perr(p, node_line(c),
				     "<%s> may appear only once in <%s> (first at line %d)",
				     e->name, spec->name, p->line[e->id]);
			else
				perr(p, node_line(c), "<%s> may appear at most %u times in <%s>",
				     e->name, e->max, spec->name);
			continue;
		}
		if (seen[e - spec->children]++ == 0)
			p->line[e->id] = node_line(c);
		p->last_line[e->id] = node_line(c);
		p->count[e->id]++;
		if (e->children != NULL) {
			check_attributes(p, c, NULL);
			walk(p, e, c);
		} else {
			walk_leaf(p, e, c, seen[e - spec->children] - 1);
		}
	}
	for (e = spec->children; e->name != NULL; e++)
		if (e->required && seen[e - spec->children] == 0)
			perr(p, node_line(n), "missing required element <%s> in <%s>", e->name,
			     spec->name);
}

/* Rules between elements, and defaults that depend on other values.  A rule
** is skipped when a value it depends on was already refused. */
static void
check_combinations(struct parse *p)
{
	struct config *cfg = p->cfg;
	int wd_line = p->line[E_WATCHDOG] ? p->line[E_WATCHDOG] : p->line[E_ROOT];
	int hv_line = p->line[E_HYPERVISOR] ? p->line[E_HYPERVISOR] : p->line[E_ROOT];

	cfg->naddrs = p->count[E_MGMT_ADDR];
	if (p->count[E_MGMT_ADDR] == 2 && p->bad[E_MGMT_ADDR] == 0 &&
	    strcmp(cfg->management_address[0], cfg->management_address[1]) == 0)
		perr(p, p->last_line[E_MGMT_ADDR],
		     "<management-address> %s is given twice (first at line %d)",
		     cfg->management_address[0], p->line[E_MGMT_ADDR]);

	if (!p->bad[E_WD_DRIVER]) {
		if (cfg->watchdog_driver == CONFIG_WD_LINUX && p->count[E_WD_DEVICE] == 0)
			perr(p, wd_line, "watchdog driver 'linux' requires <device>");
		if (cfg->watchdog_driver != CONFIG_WD_LINUX && p->count[E_WD_DEVICE] > 0)
			perr(p, p->line[E_WD_DEVICE],
			     "<device> is only allowed with watchdog driver 'linux', not '%s'",
			     config_watchdog_driver_name(cfg->watchdog_driver));
	}
	if (!p->bad[E_HV_BACKEND]) {
		if (cfg->hv_backend == CONFIG_HV_SIM && p->count[E_HV_SOCKET] == 0)
			perr(p, hv_line, "hypervisor backend 'sim' requires <socket>");
		if (cfg->hv_backend != CONFIG_HV_SIM && p->count[E_HV_SOCKET] > 0)
			perr(p, p->line[E_HV_SOCKET],
			     "<socket> is only allowed with hypervisor backend 'sim', not '%s'",
			     config_hv_backend_name(cfg->hv_backend));
	}
	/* The sim watchdog lives in hasvc-simhv: without it nothing would fence. */
	if (!p->bad[E_WD_DRIVER] && !p->bad[E_HV_BACKEND] &&
	    cfg->watchdog_driver == CONFIG_WD_SIM && cfg->hv_backend != CONFIG_HV_SIM)
		perr(p, p->line[E_WD_DRIVER] ? p->line[E_WD_DRIVER] : wd_line,
		     "watchdog driver 'sim' needs hypervisor backend 'sim', not '%s'",
		     config_hv_backend_name(cfg->hv_backend));

	cfg->cluster = p->count[E_CLUSTER] > 0;
	cfg->nhooks = p->count[E_NOTIFY_HOOK];

	/* Certificate and key follow data-dir unless given. */
	if (!p->bad[E_DATA_DIR]) {
		size_t len = strlen(cfg->data_dir);
		const char *sep = len > 0 && cfg->data_dir[len - 1] == '/' ? "" : "/";

		if (len + sizeof("/xapi-ssl.pem") > sizeof(cfg->api_certificate)) {
			if (p->count[E_API_CERT] == 0 || p->count[E_API_KEY] == 0)
				perr(p, p->line[E_DATA_DIR],
				     "<data-dir> is too long to hold the default API certificate");
		} else {
			if (p->count[E_API_CERT] == 0)
				snprintf(cfg->api_certificate, sizeof(cfg->api_certificate),
				         "%s%sxapi-ssl.pem", cfg->data_dir, sep);
			if (p->count[E_API_KEY] == 0)
				snprintf(cfg->api_key, sizeof(cfg->api_key), "%s%sxapi-ssl.key",
				         cfg->data_dir, sep);
		}
	}
}

static void
check_root(struct parse *p, xmlNode *root)
{
	static const char *const root_attrs[] = {"version", NULL};
	xmlChar *version;

	p->line[E_ROOT] = node_line(root);
	if (root->ns != NULL) {
		perr(p, node_line(root),
		     "root element <%.64s> is in namespace \"%.64s\", expected <hasvcd> in none",
		     (const char *)root->name,
		     root->ns->href != NULL ? (const char *)root->ns->href : "");
		return;
	}
	if (strcmp((const char *)root->name, "hasvcd") != 0) {
		perr(p, node_line(root), "root element is <%.64s>, expected <hasvcd>",
		     (const char *)root->name);
		return;
	}
	check_attributes(p, root, root_attrs);
	version = xmlGetNoNsProp(root, (const xmlChar *)"version");
	if (version == NULL) {
		perr(p, node_line(root),
		     "<hasvcd> has no version attribute (expected version=\"1\")");
	} else if (strcmp((const char *)version, "1") != 0) {
		/* A newer format judged by this version's rules would give
		** misleading errors: say only this. */
		perr(p, node_line(root),
		     "unsupported configuration version \"%.32s\" (this hasvcd reads version 1)",
		     (const char *)version);
		xmlFree(version);
		return;
	}
	xmlFree(version);
	walk(p, &root_elem, root);
	check_combinations(p);
}

/* -- libxml2 glue ------------------------------------------------------------ */

/* Installed as the thread's structured error handler during one parse. */
static void
xml_error(void *data, xmlErrorPtr err)
{
	struct parse *p = data;
	char msg[200];
	size_t len;

	if (err == NULL || err->code == XML_ERR_USER_STOP || p->doctype)
		return;
	snprintf(msg, sizeof(msg), "%s", err->message != NULL ? err->message : "unknown error");
	len = strlen(msg);
	while (len > 0 && isspace((unsigned char)msg[len - 1]))
		msg[--len] = '\0';
	perr(p, err->line, "XML is not well-formed: %s", msg);
}

static startElementNsSAX2Func sax2_start_element;

/* SAX startElementNs: libxml2's own, then the full line of an element past
** line 65535 (see node_line()). */
static void
xml_start_element(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                  int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                  int nb_defaulted, const xmlChar **attributes)
{
	xmlParserCtxtPtr ctxt = ctx;

	sax2_start_element(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
	                   nb_defaulted, attributes);
	if (ctxt->node != NULL && ctxt->node->line == USHRT_MAX && ctxt->input != NULL)
		ctxt->node->psvi = (void *)(ptrdiff_t)ctxt->input->line;
}

/* SAX internalSubset: any <!DOCTYPE>, with or without an internal subset.
** Stopping here means no entity is ever declared, internal or external. */
static void
xml_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct parse *p = ctxt->_private;

	perr(p, ctxt->input != NULL ? ctxt->input->line : 0,
	     "document type declarations (<!DOCTYPE>) are not allowed");
	p->doctype = 1;
	xmlStopParser(ctxt);
}

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", DEFAULT_DATA_DIR);
	cfg->watchdog_driver = CONFIG_WD_XEN;
	cfg->watchdog_timeout_ms = DEFAULT_WD_TIMEOUT_MS;
	snprintf(cfg->watchdog_keeper_socket, sizeof(cfg->watchdog_keeper_socket), "%s",
	         CONFIG_DEFAULT_KEEPER_SOCKET);
	cfg->hv_backend = CONFIG_HV_XEN;
	snprintf(cfg->api_address, sizeof(cfg->api_address), "0.0.0.0");
	cfg->api_port = 443;
	snprintf(cfg->api_certificate, sizeof(cfg->api_certificate), "%s/xapi-ssl.pem",
	         DEFAULT_DATA_DIR);
	snprintf(cfg->api_key, sizeof(cfg->api_key), "%s/xapi-ssl.key", DEFAULT_DATA_DIR);
	snprintf(cfg->corosync_conf, sizeof(cfg->corosync_conf), "/etc/corosync/corosync.conf");
	snprintf(cfg->corosync_authkey, sizeof(cfg->corosync_authkey), "/etc/corosync/authkey");
	snprintf(cfg->corosync_log, sizeof(cfg->corosync_log), "/var/log/corosync/corosync.log");
	snprintf(cfg->corosync_state_dir, sizeof(cfg->corosync_state_dir), "/var/lib/corosync");
	cfg->notify_hook_timeout_ms = DEFAULT_HOOK_TIMEOUT_MS;
	cfg->log_level = LOG_INFO;
	cfg->log_syslog = 1;
}

int
config_parse(const char *buf, size_t len, const char *name, struct config *cfg,
             struct config_errors *errs)
{
	struct parse p = {.name = name != NULL ? name : "(config)", .cfg = cfg, .errs = errs};
	xmlStructuredErrorFunc saved_fn;
	void *saved_ctx;
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	xmlNode *root;
	size_t nerrs = errs->n;

	config_defaults(cfg);
	if (len > CONFIG_MAX_FILE_SIZE) {
		perr(&p, 0, "the file is larger than %d bytes", CONFIG_MAX_FILE_SIZE);
		goto done;
	}
	if (len == 0) {
		perr(&p, 0, "the file is empty");
		goto done;
	}
	xmlInitParser();
	ctxt = xmlNewParserCtxt();
	if (ctxt == NULL)
		fatalx("config: out of memory creating an XML parser");
	ctxt->_private = &p;
	ctxt->sax->internalSubset = xml_doctype;
	sax2_start_element = ctxt->sax->startElementNs;
	ctxt->sax->startElementNs = xml_start_element;

	saved_fn = xmlStructuredError;
	saved_ctx = xmlStructuredErrorContext;
	xmlSetStructuredErrorFunc(&p, xml_error);
	/* No XML_PARSE_NOENT or XML_PARSE_DTDLOAD: entities are never expanded
	** and nothing external is loaded; NONET in case anything tried. */
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL,
	                        XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOCDATA);
	xmlSetStructuredErrorFunc(saved_ctx, saved_fn);

	if (p.doctype || errs->n > nerrs || p.dropped > 0)
		goto done;
	if (doc == NULL || (root = xmlDocGetRootElement(doc)) == NULL) {
		perr(&p, 0, "XML is not well-formed: no root element");
		goto done;
	}
	check_root(&p, root);
done:
	finish_errors(&p, nerrs);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return errs->n > nerrs ? -1 : 0;
}

int
config_load(const char *path, struct config *cfg, struct config_errors *errs)
{
	struct parse p = {.name = path, .cfg = cfg, .errs = errs};
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t k;
	int fd, rc = -1;

	config_defaults(cfg);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		perr(&p, 0, "cannot open the file: %s", strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) < 0) {
		perr(&p, 0, "cannot stat the file: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		perr(&p, 0, "not a regular file");
		goto fail;
	}
	if (st.st_size > CONFIG_MAX_FILE_SIZE) {
		perr(&p, 0, "the file is larger than %d bytes", CONFIG_MAX_FILE_SIZE);
		goto fail;
	}
	/* Read one byte more than allowed: a file that grew is still refused. */
	buf = xmalloc(CONFIG_MAX_FILE_SIZE + 1);
	while (len < CONFIG_MAX_FILE_SIZE + 1) {
		k = read(fd, buf + len, CONFIG_MAX_FILE_SIZE + 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			perr(&p, 0, "cannot read the file: %s", strerror(errno));
			goto fail;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	rc = config_parse(buf, len, path, cfg, errs);
fail:
	xfree(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

void
config_errors_clear(struct config_errors *errs)
{
	xfree(errs->v);
	errs->v = NULL;
	errs->n = 0;
}

const char *
config_watchdog_driver_name(enum config_watchdog_driver d)
{
	if (NEVER((unsigned)d >= ARRAY_SIZE(wd_driver_names) - 1))
		return "?";
	return wd_driver_names[d];
}

const char *
config_hv_backend_name(enum config_hv_backend b)
{
	if (NEVER((unsigned)b >= ARRAY_SIZE(hv_backend_names) - 1))
		return "?";
	return hv_backend_names[b];
}

int
config_load_or_say(const char *path, struct config *cfg)
{
	struct config_errors errs = {0};
	size_t i;
	int rc;

	rc = config_load(path, cfg, &errs);
	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.v[i].text);
	config_errors_clear(&errs);
	if (rc < 0)
		fprintf(stderr, "%s: configuration is not valid\n", path);
	return rc < 0 ? -1 : 0;
}
