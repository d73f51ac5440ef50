/*
** plan_json: read the offline planner's pool description (plan_json.h) into
** a struct place_pool.  json-c builds the tree in strict mode; this file then
** walks it once, checking every field's type and range before using it, and
** stops at the first problem with a message that names the field's path.
**
** Why the ranges: placement/ computes room in int64 (total - overhead - sum of
** resident VMs), so each memory field and each sum is kept below 2^62, and
** vCPU counts are capped so that no sum of them can approach 2^63 either.
*/
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "hasvc/plan_json.h"
#include "lib/check.h"
#include "lib/xmalloc.h"

/* The longest path we build: "vms[999999].allowed_hosts[999999]" and the like. */
#define PATH_MAX_LEN 96
/* json-c nesting limit: the format is 4 deep, so anything deeper is refused
** early instead of costing memory. */
#define JSON_DEPTH 8

struct perr {
	char *buf;
	size_t len;
};

static int perr_at(struct perr *e, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Write "path: message" to the error buffer; returns -1 for `return`. */
static int
perr_at(struct perr *e, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(e->buf, e->len, "%s: ", path);
	if (n < 0 || (size_t)n >= e->len)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->buf + n, e->len - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* A name as shown in a message: at most 64 bytes, non-printable bytes as '?'
** (a name is arbitrary UTF-8 from the file and must not mangle a terminal). */
static const char *
shown(const char *s, char *buf, size_t size)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 4 < size && i < 64; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] != '\0' && i + 4 <= size) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

static const char *
type_name(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double: return "a number with a fraction or exponent";
	case json_type_int: return "an integer";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "?";
}

/*
** An unsigned integer in [0, max]: a JSON integer, or a string of decimal
** digits (XAPI's JSON-RPC sends int64 fields as strings).
*/
static int
get_uint(struct perr *e, const char *path, json_object *o, uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (json_object_is_type(o, json_type_int)) {
		if (json_object_get_int64(o) < 0)
			return perr_at(e, path, "negative value %" PRId64, json_object_get_int64(o));
		v = json_object_get_uint64(o);
		/* json-c saturates at UINT64_MAX: treated as out of range below. */
	} else if (json_object_is_type(o, json_type_string)) {
		const char *s = json_object_get_string(o);
		size_t n = (size_t)json_object_get_string_len(o), i;

		if (n == 0 || n > 20)
			return perr_at(e, path, "expected an integer, got the string \"%.24s\"", s);
		if (s[0] == '-')
			return perr_at(e, path, "negative value %.24s", s);
		for (i = 0; i < n; i++)
			if (s[i] < '0' || s[i] > '9')
				return perr_at(e, path, "expected an integer, got the string \"%.24s\"",
				               s);
		errno = 0;
		v = strtoull(s, NULL, 10);
		if (errno == ERANGE)
			v = UINT64_MAX;
	} else {
		return perr_at(e, path, "expected an integer, got %s", type_name(o));
	}
	if (v > max)
		return perr_at(e, path, "%" PRIu64 " is out of range (at most %" PRIu64 ")", v, max);
	*out = v;
	return 0;
}

static int
get_bool(struct perr *e, const char *path, json_object *o, bool *out)
{
	if (!json_object_is_type(o, json_type_boolean))
		return perr_at(e, path, "expected true or false, got %s", type_name(o));
	*out = json_object_get_boolean(o);
	return 0;
}

/* A string of 1..PLAN_JSON_MAX_NAME bytes without NUL (borrowed). */
static int
get_string(struct perr *e, const char *path, json_object *o, bool may_be_empty, const char **out)
{
	const char *s;
	size_t n;

	if (!json_object_is_type(o, json_type_string))
		return perr_at(e, path, "expected a string, got %s", type_name(o));
	s = json_object_get_string(o);
	n = (size_t)json_object_get_string_len(o);
	if (strlen(s) != n)
		return perr_at(e, path, "contains a NUL character");
	if (n == 0 && !may_be_empty)
		return perr_at(e, path, "is empty");
	if (n > PLAN_JSON_MAX_NAME)
		return perr_at(e, path, "longer than %d bytes", PLAN_JSON_MAX_NAME);
	*out = s;
	return 0;
}

static int
get_array(struct perr *e, const char *path, json_object *o, size_t *n)
{
	if (!json_object_is_type(o, json_type_array))
		return perr_at(e, path, "expected an array, got %s", type_name(o));
	*n = json_object_array_length(o);
	return 0;
}

/* Refuse a key of object o not in the NULL-terminated list: a misspelt
** optional field must not silently take its default. */
static int
check_keys(struct perr *e, const char *path, json_object *o, const char *const *known)
{
	struct json_object_iterator it = json_object_iter_begin(o);
	struct json_object_iterator end = json_object_iter_end(o);
	char sb[80];

	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *k = json_object_iter_peek_name(&it);
		int i;

		for (i = 0; known[i] != NULL; i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (known[i] == NULL)
			return perr_at(e, path, "unknown field \"%s\"", shown(k, sb, sizeof(sb)));
	}
	return 0;
}

/* The value of key, or NULL when absent; JSON null counts as absent (an
** exporter may write null for an unset optional field). */
static json_object *
field(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

void
plan_json_free(struct plan_pool *p)
{
	int i;

	if (p == NULL)
		return;
	for (i = 0; p->host_names != NULL && i < p->pool.nhosts; i++)
		free(p->host_names[i]);
	for (i = 0; p->vm_names != NULL && i < p->pool.nvms; i++)
		free(p->vm_names[i]);
	for (i = 0; p->group_names != NULL && i < p->ngroups; i++)
		free(p->group_names[i]);
	free(p->host_names);
	free(p->vm_names);
	free(p->group_names);
	free(p->group_aa);
	free(p->power);
	free(p->hosts);
	free(p->vms);
	free(p);
}

int
plan_json_host_index(const struct plan_pool *p, const char *name)
{
	int i;

	for (i = 0; i < p->pool.nhosts; i++)
		if (strcmp(p->host_names[i], name) == 0)
			return i;
	return -1;
}

static int
group_index(const struct plan_pool *p, const char *name)
{
	int i;

	for (i = 0; i < p->ngroups; i++)
		if (strcmp(p->group_names[i], name) == 0)
			return i;
	return -1;
}

static const char *const host_keys[] = {"name",    "uuid", "memory_total", "memory_overhead",
                                        "vcpus",   "enabled", "live", NULL};

static int
parse_host(struct perr *e, struct plan_pool *p, int i, json_object *o)
{
	struct place_host *h = &p->hosts[i];
	char path[PATH_MAX_LEN], fp[PATH_MAX_LEN], sb[80];
	const char *name;
	json_object *v;
	uint64_t u;
	bool enabled = true, live = true;

	snprintf(path, sizeof(path), "hosts[%d]", i);
	if (!json_object_is_type(o, json_type_object))
		return perr_at(e, path, "expected an object, got %s", type_name(o));
	if (check_keys(e, path, o, host_keys) < 0)
		return -1;
	snprintf(fp, sizeof(fp), "%s.name", path);
	if ((v = field(o, "name")) == NULL)
		return perr_at(e, fp, "missing");
	if (get_string(e, fp, v, false, &name) < 0)
		return -1;
	if (plan_json_host_index(p, name) >= 0)
		return perr_at(e, fp, "duplicate host name \"%s\"", shown(name, sb, sizeof(sb)));
	snprintf(fp, sizeof(fp), "%s.uuid", path);
	if ((v = field(o, "uuid")) != NULL && get_string(e, fp, v, true, &name) < 0)
		return -1;
	snprintf(fp, sizeof(fp), "%s.memory_total", path);
	if ((v = field(o, "memory_total")) == NULL)
		return perr_at(e, fp, "missing");
	if (get_uint(e, fp, v, PLAN_JSON_MAX_MEM, &h->mem_total) < 0)
		return -1;
	snprintf(fp, sizeof(fp), "%s.memory_overhead", path);
	h->mem_overhead = 0;
	if ((v = field(o, "memory_overhead")) != NULL &&
	    get_uint(e, fp, v, PLAN_JSON_MAX_MEM, &h->mem_overhead) < 0)
		return -1;
	snprintf(fp, sizeof(fp), "%s.vcpus", path);
	h->cpus = PLAN_JSON_NO_CPU_LIMIT;
	if ((v = field(o, "vcpus")) != NULL) {
		if (get_uint(e, fp, v, PLAN_JSON_MAX_VCPUS, &u) < 0)
			return -1;
		h->cpus = (uint32_t)u;
	}
	snprintf(fp, sizeof(fp), "%s.enabled", path);
	if ((v = field(o, "enabled")) != NULL && get_bool(e, fp, v, &enabled) < 0)
		return -1;
	snprintf(fp, sizeof(fp), "%s.live", path);
	if ((v = field(o, "live")) != NULL && get_bool(e, fp, v, &live) < 0)
		return -1;
	h->usable = enabled && live;
	/* Named last: plan_json_host_index() above sees only earlier hosts. */
	p->host_names[i] = xstrdup(json_object_get_string(field(o, "name")));
	return 0;
}

static const char *const group_keys[] = {"name", "uuid", "placement", NULL};

static int
parse_group(struct perr *e, struct plan_pool *p, int i, json_object *o)
{
	char path[PATH_MAX_LEN], fp[PATH_MAX_LEN], sb[80];
	const char *name, *pl = "normal", *uuid;
	json_object *v;

	snprintf(path, sizeof(path), "vm_groups[%d]", i);
	if (!json_object_is_type(o, json_type_object))
		return perr_at(e, path, "expected an object, got %s", type_name(o));
	if (check_keys(e, path, o, group_keys) < 0)
		return -1;
	snprintf(fp, sizeof(fp), "%s.name", path);
	if ((v = field(o, "name")) == NULL)
		return perr_at(e, fp, "missing");
	if (get_string(e, fp, v, false, &name) < 0)
		return -1;
	if (group_index(p, name) >= 0)
		return perr_at(e, fp, "duplicate group name \"%s\"", shown(name, sb, sizeof(sb)));
	snprintf(fp, sizeof(fp), "%s.uuid", path);
	if ((v = field(o, "uuid")) != NULL && get_string(e, fp, v, true, &uuid) < 0)
		return -1;
	snprintf(fp, sizeof(fp), "%s.placement", path);
	if ((v = field(o, "placement")) != NULL && get_string(e, fp, v, false, &pl) < 0)
		return -1;
	if (strcmp(pl, "normal") == 0)
		p->group_aa[i] = 0;
	else if (strcmp(pl, "anti_affinity") == 0)
		p->group_aa[i] = 1;
	else
		return perr_at(e, fp, "\"%s\" is not \"normal\" or \"anti_affinity\"",
		               shown(pl, sb, sizeof(sb)));
	p->group_names[i] = xstrdup(name);
	p->ngroups = i + 1;
	return 0;
}

/* A list of names resolved by lookup into a mask. */
static int
name_list(struct perr *e, struct plan_pool *p, const char *path, json_object *o, bool hosts,
          uint64_t *mask)
{
	char fp[PATH_MAX_LEN], sb[80];
	size_t n = 0, j;

	*mask = 0;
	if (get_array(e, path, o, &n) < 0)
		return -1;
	for (j = 0; j < n; j++) {
		const char *s;
		int k;

		snprintf(fp, sizeof(fp), "%s[%zu]", path, j);
		if (get_string(e, fp, json_object_array_get_idx(o, j), false, &s) < 0)
			return -1;
		k = hosts ? plan_json_host_index(p, s) : group_index(p, s);
		if (k < 0)
			return perr_at(e, fp, "no %s named \"%s\"", hosts ? "host" : "group",
			               shown(s, sb, sizeof(sb)));
		/* Only anti-affinity groups constrain placement. */
		if (hosts || p->group_aa[k])
			*mask |= (uint64_t)1 << k;
	}
	return 0;
}

static const char *const vm_keys[] = {
	"name",   "uuid",   "memory_static_max", "memory_overhead", "vcpus", "resident_on",
	"power_state", "ha_restart_priority", "ha_always_run", "order", "groups",
	"allowed_hosts", NULL};

static int
parse_vm(struct perr *e, struct plan_pool *p, int i, json_object *o, uint64_t all_hosts,
         uint64_t *mem_sum)
{
	struct place_vm *vm = &p->vms[i];
	char path[PATH_MAX_LEN], fp[PATH_MAX_LEN], sb[80];
	const char *name, *s, *prio = "";
	json_object *v;
	uint64_t smax, ovh = 0, u;
	bool always_run, have_power = false;

	snprintf(path, sizeof(path), "vms[%d]", i);
	if (!json_object_is_type(o, json_type_object))
		return perr_at(e, path, "expected an object, got %s", type_name(o));
	if (check_keys(e, path, o, vm_keys) < 0)
		return -1;
	snprintf(fp, sizeof(fp), "%s.name", path);
	if ((v = field(o, "name")) == NULL)
		return perr_at(e, fp, "missing");
	if (get_string(e, fp, v, false, &name) < 0)
		return -1;
	snprintf(fp, sizeof(fp), "%s.uuid", path);
	if ((v = field(o, "uuid")) != NULL && get_string(e, fp, v, true, &s) < 0)
		return -1;
	snprintf(fp, sizeof(fp), "%s.memory_static_max", path);
	if ((v = field(o, "memory_static_max")) == NULL)
		return perr_at(e, fp, "missing");
	if (get_uint(e, fp, v, PLAN_JSON_MAX_MEM, &smax) < 0)
		return -1;
	snprintf(fp, sizeof(fp), "%s.memory_overhead", path);
	if ((v = field(o, "memory_overhead")) != NULL &&
	    get_uint(e, fp, v, PLAN_JSON_MAX_MEM, &ovh) < 0)
		return -1;
	vm->mem = smax + ovh; /* both <= 2^62: no overflow */
	*mem_sum += vm->mem;
	if (*mem_sum > PLAN_JSON_MAX_MEM)
		return perr_at(e, fp, "the VMs' memory adds up to more than 2^62 bytes");
	snprintf(fp, sizeof(fp), "%s.vcpus", path);
	vm->vcpus = 1;
	if ((v = field(o, "vcpus")) != NULL) {
		if (get_uint(e, fp, v, PLAN_JSON_MAX_VCPUS, &u) < 0)
			return -1;
		if (u == 0)
			return perr_at(e, fp, "a VM has at least one vCPU");
		vm->vcpus = (uint32_t)u;
	}
	snprintf(fp, sizeof(fp), "%s.resident_on", path);
	vm->host = PLACE_NONE;
	if ((v = field(o, "resident_on")) != NULL && !json_object_is_type(v, json_type_null)) {
		if (get_string(e, fp, v, false, &s) < 0)
			return -1;
		vm->host = plan_json_host_index(p, s);
		if (vm->host < 0)
			return perr_at(e, fp, "no host named \"%s\"", shown(s, sb, sizeof(sb)));
	}
	snprintf(fp, sizeof(fp), "%s.power_state", path);
	p->power[i] = vm->host == PLACE_NONE ? PLAN_HALTED : PLAN_RUNNING;
	if ((v = field(o, "power_state")) != NULL) {
		if (get_string(e, fp, v, false, &s) < 0)
			return -1;
		if (strcasecmp(s, "Halted") == 0)
			p->power[i] = PLAN_HALTED;
		else if (strcasecmp(s, "Running") == 0)
			p->power[i] = PLAN_RUNNING;
		else if (strcasecmp(s, "Paused") == 0)
			p->power[i] = PLAN_PAUSED;
		else if (strcasecmp(s, "Suspended") == 0)
			p->power[i] = PLAN_SUSPENDED;
		else
			return perr_at(e, fp, "\"%s\" is not Halted, Running, Paused or Suspended",
			               shown(s, sb, sizeof(sb)));
		have_power = true;
	}
	/* As in xapi: a Running or Paused VM has a resident host, the others none. */
	if (have_power) {
		bool resident = p->power[i] == PLAN_RUNNING || p->power[i] == PLAN_PAUSED;

		snprintf(fp, sizeof(fp), "%s.resident_on", path);
		if (resident && vm->host == PLACE_NONE)
			return perr_at(e, fp, "missing for a %s VM", json_object_get_string(v));
		if (!resident && vm->host != PLACE_NONE)
			return perr_at(e, fp, "set for a %s VM (only a Running or Paused VM has one)",
			               json_object_get_string(v));
	}
	snprintf(fp, sizeof(fp), "%s.ha_restart_priority", path);
	if ((v = field(o, "ha_restart_priority")) != NULL && get_string(e, fp, v, true, &prio) < 0)
		return -1;
	if (strcmp(prio, "") != 0 && strcmp(prio, "restart") != 0 &&
	    strcmp(prio, "best-effort") != 0)
		return perr_at(e, fp, "\"%s\" is not \"restart\", \"best-effort\" or \"\"",
		               shown(prio, sb, sizeof(sb)));
	/* xapi sets ha_always_run when "restart" is set on a running VM and
	** clears it on shutdown: that is the default here. */
	always_run = strcmp(prio, "restart") == 0 && vm->host != PLACE_NONE;
	snprintf(fp, sizeof(fp), "%s.ha_always_run", path);
	if ((v = field(o, "ha_always_run")) != NULL && get_bool(e, fp, v, &always_run) < 0)
		return -1;
	if (strcmp(prio, "restart") == 0)
		vm->prio = always_run ? PLACE_PROTECTED : PLACE_UNPROTECTED;
	else if (strcmp(prio, "best-effort") == 0)
		vm->prio = PLACE_BEST_EFFORT;
	else
		vm->prio = PLACE_UNPROTECTED;
	snprintf(fp, sizeof(fp), "%s.order", path);
	vm->order = 0;
	if ((v = field(o, "order")) != NULL) {
		if (get_uint(e, fp, v, INT32_MAX, &u) < 0)
			return -1;
		vm->order = (int)u;
	}
	snprintf(fp, sizeof(fp), "%s.groups", path);
	vm->groups = 0;
	if ((v = field(o, "groups")) != NULL && name_list(e, p, fp, v, false, &vm->groups) < 0)
		return -1;
	snprintf(fp, sizeof(fp), "%s.allowed_hosts", path);
	vm->allowed = all_hosts;
	if ((v = field(o, "allowed_hosts")) != NULL) {
		if (name_list(e, p, fp, v, true, &vm->allowed) < 0)
			return -1;
		if (vm->allowed == 0)
			return perr_at(e, fp, "empty: the VM could run nowhere");
	}
	p->vm_names[i] = xstrdup(name);
	return 0;
}

static int
cmp_name(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;

	return strcmp(*x, *y);
}

/* VM names are unique; sorted copies find a repeat in n log n. */
static int
check_vm_names(struct perr *e, struct plan_pool *p)
{
	const char **v;
	char sb[80];
	int i, rc = 0;

	if (p->pool.nvms < 2)
		return 0;
	v = xcalloc((size_t)p->pool.nvms, sizeof(*v));
	for (i = 0; i < p->pool.nvms; i++)
		v[i] = p->vm_names[i];
	qsort(v, (size_t)p->pool.nvms, sizeof(*v), cmp_name);
	for (i = 1; i < p->pool.nvms; i++) {
		if (strcmp(v[i - 1], v[i]) == 0) {
			char path[PATH_MAX_LEN];
			int j, first = -1;

			/* Name the second occurrence in file order. */
			for (j = 0; j < p->pool.nvms; j++) {
				if (strcmp(p->vm_names[j], v[i]) != 0)
					continue;
				if (first >= 0)
					break;
				first = j;
			}
			snprintf(path, sizeof(path), "vms[%d].name", j);
			rc = perr_at(e, path, "duplicate VM name \"%s\" (also vms[%d])",
			             shown(v[i], sb, sizeof(sb)), first);
			break;
		}
	}
	free(v);
	return rc;
}

static const char *const top_keys[] = {"hosts", "vms", "vm_groups",
                                       "ha_host_failures_to_tolerate", NULL};

static struct plan_pool *
parse_tree(struct perr *e, json_object *root)
{
	struct plan_pool *p = xcalloc(1, sizeof(*p));
	json_object *hosts, *vms, *groups, *v;
	size_t nh = 0, nv = 0, ng = 0, i;
	uint64_t all = 0, sum = 0, u;

	if (!json_object_is_type(root, json_type_object)) {
		perr_at(e, "top level", "expected an object, got %s", type_name(root));
		goto fail;
	}
	if (check_keys(e, "top level", root, top_keys) < 0)
		goto fail;
	if ((hosts = field(root, "hosts")) == NULL) {
		perr_at(e, "hosts", "missing");
		goto fail;
	}
	if (get_array(e, "hosts", hosts, &nh) < 0)
		goto fail;
	if (nh == 0 || nh > PLACE_MAX_HOSTS) {
		perr_at(e, "hosts", "%zu hosts (a pool has 1 to %d)", nh, PLACE_MAX_HOSTS);
		goto fail;
	}
	p->hosts = xcalloc(nh, sizeof(*p->hosts));
	p->host_names = xcalloc(nh, sizeof(*p->host_names));
	for (i = 0; i < nh; i++) {
		p->pool.nhosts = (int)i; /* names of hosts [0, i) are set */
		if (parse_host(e, p, (int)i, json_object_array_get_idx(hosts, i)) < 0)
			goto fail;
		sum += p->hosts[i].mem_total;
		if (sum > PLAN_JSON_MAX_MEM) {
			char fp[PATH_MAX_LEN];

			p->pool.nhosts = (int)i + 1;
			snprintf(fp, sizeof(fp), "hosts[%zu].memory_total", i);
			perr_at(e, fp, "the hosts' memory adds up to more than 2^62 bytes");
			goto fail;
		}
		all |= (uint64_t)1 << i;
	}
	p->pool.nhosts = (int)nh;

	if ((groups = field(root, "vm_groups")) != NULL && get_array(e, "vm_groups", groups, &ng) < 0)
		goto fail;
	if (ng > 64) {
		perr_at(e, "vm_groups", "%zu groups (at most 64)", ng);
		goto fail;
	}
	if (ng > 0) {
		p->group_names = xcalloc(ng, sizeof(*p->group_names));
		p->group_aa = xcalloc(ng, sizeof(*p->group_aa));
	}
	for (i = 0; i < ng; i++)
		if (parse_group(e, p, (int)i, json_object_array_get_idx(groups, i)) < 0)
			goto fail;

	if ((vms = field(root, "vms")) != NULL && get_array(e, "vms", vms, &nv) < 0)
		goto fail;
	if (nv > PLAN_JSON_MAX_VMS) {
		perr_at(e, "vms", "%zu VMs (at most %d)", nv, PLAN_JSON_MAX_VMS);
		goto fail;
	}
	if (nv > 0) {
		p->vms = xcalloc(nv, sizeof(*p->vms));
		p->vm_names = xcalloc(nv, sizeof(*p->vm_names));
		p->power = xcalloc(nv, sizeof(*p->power));
	}
	sum = 0;
	for (i = 0; i < nv; i++) {
		p->pool.nvms = (int)i + 1; /* so that plan_json_free() sees vm_names[i] */
		if (parse_vm(e, p, (int)i, json_object_array_get_idx(vms, i), all, &sum) < 0)
			goto fail;
	}
	p->pool.nvms = (int)nv;
	if (check_vm_names(e, p) < 0)
		goto fail;

	p->ha_ntol = 0;
	if ((v = field(root, "ha_host_failures_to_tolerate")) != NULL) {
		if (get_uint(e, "ha_host_failures_to_tolerate", v, PLACE_MAX_HOSTS, &u) < 0)
			goto fail;
		p->ha_ntol = (int)u;
	}
	p->pool.hosts = p->hosts;
	p->pool.vms = p->vms;
	p->pool.vcpu_ratio_pct = 100;
	p->pool.aa_hard = false;
	return p;
fail:
	plan_json_free(p);
	return NULL;
}

struct plan_pool *
plan_json_parse(const char *buf, size_t len, char *err, size_t errlen)
{
	struct perr e = {err, errlen};
	struct json_tokener *tok = NULL;
	struct plan_pool *p = NULL;
	json_object *root = NULL;
	enum json_tokener_error jerr;
	size_t end, i;
	const char *nul;

	ha_assert(errlen > 0);
	err[0] = '\0';
	if (len > PLAN_JSON_MAX_BYTES) {
		perr_at(&e, "input", "larger than %u bytes", PLAN_JSON_MAX_BYTES);
		goto fail;
	}
	/* json-c stops at a NUL; say so rather than report garbage after it. */
	if ((nul = memchr(buf, '\0', len)) != NULL) {
		perr_at(&e, "input", "not JSON: a NUL byte at offset %zu", (size_t)(nul - buf));
		goto fail;
	}
	tok = json_tokener_new_ex(JSON_DEPTH);
	if (tok == NULL) {
		perr_at(&e, "input", "out of memory");
		goto fail;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
	/* json-c takes an int length: the size cap keeps it in range. */
	root = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue || (root == NULL && jerr == json_tokener_success)) {
		perr_at(&e, "input", "not JSON: unexpected end of input");
		goto fail;
	}
	if (jerr != json_tokener_success) {
		perr_at(&e, "input", "not JSON: %s at offset %zu", json_tokener_error_desc(jerr),
		        json_tokener_get_parse_end(tok));
		goto fail;
	}
	end = json_tokener_get_parse_end(tok);
	for (i = end; i < len; i++) {
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r') {
			perr_at(&e, "input", "trailing garbage at offset %zu", i);
			goto fail;
		}
	}
	p = parse_tree(&e, root);
fail:
	json_object_put(root);
	if (tok != NULL)
		json_tokener_free(tok);
	if (p == NULL && err[0] == '\0')
		snprintf(err, errlen, "input: invalid");
	return p;
}

struct plan_pool *
plan_json_load(const char *path, char *err, size_t errlen)
{
	struct plan_pool *p = NULL;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/* Read at most one byte more than the cap, to tell "too large". */
	buf = xmalloc((size_t)PLAN_JSON_MAX_BYTES + 1);
	while (len <= PLAN_JSON_MAX_BYTES) {
		n = read(fd, buf + len, (size_t)PLAN_JSON_MAX_BYTES + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > PLAN_JSON_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %u bytes", path, PLAN_JSON_MAX_BYTES);
		goto fail;
	}
	p = plan_json_parse(buf, len, err, errlen);
fail:
	free(buf);
	close(fd);
	return p;
}

int
plan_json_host_mask(const struct plan_pool *p, const char *list, uint64_t *mask, char *err,
                    size_t errlen)
{
	const char *s = list;
	char name[PLAN_JSON_MAX_NAME + 1], sb[80];

	*mask = 0;
	while (*s != '\0') {
		size_t n = strcspn(s, ",");
		int h;

		if (n == 0 || n > PLAN_JSON_MAX_NAME) {
			snprintf(err, errlen, "--fail: an empty or over-long host name in \"%s\"",
			         shown(list, sb, sizeof(sb)));
			return -1;
		}
		memcpy(name, s, n);
		name[n] = '\0';
		h = plan_json_host_index(p, name);
		if (h < 0) {
			snprintf(err, errlen, "--fail: no host named \"%s\"", shown(name, sb, sizeof(sb)));
			return -1;
		}
		if (*mask & ((uint64_t)1 << h)) {
			snprintf(err, errlen, "--fail: host \"%s\" named twice", shown(name, sb, sizeof(sb)));
			return -1;
		}
		*mask |= (uint64_t)1 << h;
		s += n;
		if (*s == ',') {
			s++;
			if (*s == '\0') {
				snprintf(err, errlen, "--fail: a trailing comma in \"%s\"",
				         shown(list, sb, sizeof(sb)));
				return -1;
			}
		}
	}
	return 0;
}
