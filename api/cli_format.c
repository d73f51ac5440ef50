/*
** Parameter tables and output formats of the `hasvc` CLI (see cli_format.h).
**
** The tables list the fields of reference/xapi.md §4.6 that an admin reads
** or sets; a field the server does not send is simply not shown.  Adding a
** settable field is one row here: the CLI's param-set takes it from the row.
*/
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "api/cli_format.h"
#include "lib/check.h"
#include "lib/ids.h"
#include "lib/xmalloc.h"

#define RO  0
#define RW  CLIFMT_RW
#define SET CLIFMT_SET
#define MAP CLIFMT_MAP
#define REF CLIFMT_REF

static const struct clifmt_field pool_fields[] = {
    {"uuid", "uuid", RO, NULL, CLIFMT_STRING},
    {"name-label", "name_label", RW, "pool.set_name_label", CLIFMT_STRING},
    {"name-description", "name_description", RW, "pool.set_name_description", CLIFMT_STRING},
    {"master", "master", REF, NULL, CLIFMT_STRING},
    {"default-SR", "default_SR", REF, NULL, CLIFMT_STRING},
    {"ha-enabled", "ha_enabled", RO, NULL, CLIFMT_BOOL},
    {"ha-configuration", "ha_configuration", MAP, NULL, CLIFMT_STRING},
    {"ha-statefiles", "ha_statefiles", SET, NULL, CLIFMT_STRING},
    {"ha-host-failures-to-tolerate", "ha_host_failures_to_tolerate", RW,
     "pool.set_ha_host_failures_to_tolerate", CLIFMT_INT},
    {"ha-plan-exists-for", "ha_plan_exists_for", RO, NULL, CLIFMT_INT},
    {"ha-allow-overcommit", "ha_allow_overcommit", RW, "pool.set_ha_allow_overcommit", CLIFMT_BOOL},
    {"ha-overcommitted", "ha_overcommitted", RO, NULL, CLIFMT_BOOL},
    {"ha-cluster-stack", "ha_cluster_stack", RO, NULL, CLIFMT_STRING},
    {"ha-reboot-vm-on-internal-shutdown", "ha_reboot_vm_on_internal_shutdown", RO, NULL,
     CLIFMT_BOOL},
    {"other-config", "other_config", MAP, NULL, CLIFMT_STRING},
    {"allowed-operations", "allowed_operations", SET, NULL, CLIFMT_STRING},
    {"current-operations", "current_operations", MAP, NULL, CLIFMT_STRING},
};

static const struct clifmt_field host_fields[] = {
    {"uuid", "uuid", RO, NULL, CLIFMT_STRING},
    {"name-label", "name_label", RO, NULL, CLIFMT_STRING},
    {"name-description", "name_description", RO, NULL, CLIFMT_STRING},
    {"hostname", "hostname", RO, NULL, CLIFMT_STRING},
    {"address", "address", RO, NULL, CLIFMT_STRING},
    {"enabled", "enabled", RO, NULL, CLIFMT_BOOL},
    {"memory-overhead", "memory_overhead", RO, NULL, CLIFMT_INT},
    {"metrics", "metrics", REF, NULL, CLIFMT_STRING},
    {"resident-VMs", "resident_VMs", SET | REF, NULL, CLIFMT_STRING},
    {"ha-statefiles", "ha_statefiles", SET, NULL, CLIFMT_STRING},
    {"ha-network-peers", "ha_network_peers", SET, NULL, CLIFMT_STRING},
    {"other-config", "other_config", MAP, NULL, CLIFMT_STRING},
};

static const struct clifmt_field vm_fields[] = {
    {"uuid", "uuid", RO, NULL, CLIFMT_STRING},
    {"name-label", "name_label", RO, NULL, CLIFMT_STRING},
    {"name-description", "name_description", RO, NULL, CLIFMT_STRING},
    {"power-state", "power_state", RO, NULL, CLIFMT_STRING},
    {"resident-on", "resident_on", REF, NULL, CLIFMT_STRING},
    {"scheduled-to-be-resident-on", "scheduled_to_be_resident_on", REF, NULL, CLIFMT_STRING},
    {"affinity", "affinity", REF, NULL, CLIFMT_STRING},
    {"is-a-template", "is_a_template", RO, NULL, CLIFMT_BOOL},
    {"is-a-snapshot", "is_a_snapshot", RO, NULL, CLIFMT_BOOL},
    {"is-control-domain", "is_control_domain", RO, NULL, CLIFMT_BOOL},
    {"memory-static-max", "memory_static_max", RO, NULL, CLIFMT_INT},
    {"memory-static-min", "memory_static_min", RO, NULL, CLIFMT_INT},
    {"memory-dynamic-max", "memory_dynamic_max", RO, NULL, CLIFMT_INT},
    {"memory-dynamic-min", "memory_dynamic_min", RO, NULL, CLIFMT_INT},
    {"memory-overhead", "memory_overhead", RO, NULL, CLIFMT_INT},
    {"VCPUs-max", "VCPUs_max", RO, NULL, CLIFMT_INT},
    {"domain-type", "domain_type", RO, NULL, CLIFMT_STRING},
    {"ha-always-run", "ha_always_run", RW, "VM.set_ha_always_run", CLIFMT_BOOL},
    {"ha-restart-priority", "ha_restart_priority", RW, "VM.set_ha_restart_priority", CLIFMT_STRING},
    {"order", "order", RW, "VM.set_order", CLIFMT_INT},
    {"start-delay", "start_delay", RW, "VM.set_start_delay", CLIFMT_INT},
    {"shutdown-delay", "shutdown_delay", RO, NULL, CLIFMT_INT},
    {"groups", "groups", SET | REF, NULL, CLIFMT_STRING},
    {"allowed-operations", "allowed_operations", SET, NULL, CLIFMT_STRING},
};

static const struct clifmt_field message_fields[] = {
    {"uuid", "uuid", RO, NULL, CLIFMT_STRING},
    {"name", "name", RO, NULL, CLIFMT_STRING},
    {"priority", "priority", RO, NULL, CLIFMT_INT},
    {"class", "cls", RO, NULL, CLIFMT_STRING},
    {"obj-uuid", "obj_uuid", RO, NULL, CLIFMT_STRING},
    {"timestamp", "timestamp", RO, NULL, CLIFMT_STRING},
    {"body", "body", RO, NULL, CLIFMT_STRING},
};

static const struct clifmt_field user_fields[] = {
    {"name", "name", RO, NULL, CLIFMT_STRING},
    {"role", "role", RW, "hasvc_user.set_role", CLIFMT_STRING},
};

static const struct clifmt_class classes[] = {
    {"pool", "pool", pool_fields, ARRAY_SIZE(pool_fields),
     "uuid,name-label,name-description,master,ha-enabled"},
    {"host", "host", host_fields, ARRAY_SIZE(host_fields), "uuid,name-label,name-description"},
    {"vm", "VM", vm_fields, ARRAY_SIZE(vm_fields), "uuid,name-label,power-state"},
    {"message", "message", message_fields, ARRAY_SIZE(message_fields),
     "uuid,name,priority,class,obj-uuid,timestamp,body"},
    {"user", "hasvc_user", user_fields, ARRAY_SIZE(user_fields), "name,role"},
};

const struct clifmt_class *
clifmt_class_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(classes); i++)
		if (strcmp(classes[i].name, name) == 0)
			return &classes[i];
	return NULL;
}

const struct clifmt_field *
clifmt_field_by_name(const struct clifmt_class *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nfields; i++)
		if (strcmp(c->fields[i].name, name) == 0)
			return &c->fields[i];
	return NULL;
}

const struct clifmt_field *
clifmt_field_by_xapi(const struct clifmt_class *c, const char *xapi)
{
	size_t i;

	for (i = 0; i < c->nfields; i++)
		if (strcmp(c->fields[i].xapi, xapi) == 0)
			return &c->fields[i];
	return NULL;
}

int
clifmt_select(const struct clifmt_class *c, const char *params, const struct clifmt_field ***sel,
              size_t *n, char *err, size_t errsz)
{
	const struct clifmt_field **out;
	char *list, *tok, *save = NULL;
	size_t i, k = 0;

	if (params != NULL && strcmp(params, "all") == 0) {
		out = xcalloc(c->nfields, sizeof(*out));
		for (i = 0; i < c->nfields; i++)
			out[i] = &c->fields[i];
		*sel = out;
		*n = c->nfields;
		return 0;
	}
	list = xstrdup(params != NULL ? params : c->defaults);
	out = xcalloc(strlen(list) + 1, sizeof(*out)); /* more than the names */
	for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		const struct clifmt_field *f = clifmt_field_by_name(c, tok);

		if (f == NULL) {
			snprintf(err, errsz, "params: %s has no parameter '%s'", c->name, tok);
			goto fail;
		}
		out[k++] = f;
	}
	if (k == 0) {
		snprintf(err, errsz, "params: no parameter named");
		goto fail;
	}
	xfree(list);
	*sel = out;
	*n = k;
	return 0;
fail:
	xfree(list);
	xfree(out);
	return -1;
}

/* Append the scalar `v` to the stream as xe shows it. */
static void
put_scalar(FILE *f, const struct xval *v, unsigned flags)
{
	char uuid[HA_UUID_LEN];

	switch (v->type) {
	case XVAL_NIL:
		break;
	case XVAL_BOOL:
		fputs(xval_bool(v) ? "true" : "false", f);
		break;
	case XVAL_INT:
		fprintf(f, "%" PRId64, xval_int(v));
		break;
	case XVAL_DOUBLE:
		fprintf(f, "%g", xval_double(v));
		break;
	case XVAL_STRING:
	case XVAL_DATETIME:
		if ((flags & CLIFMT_REF) && strcmp(xval_string(v), HA_REF_NULL) == 0)
			fputs("<not in database>", f);
		else if ((flags & CLIFMT_REF) && id_ref_to_uuid(xval_string(v), uuid) == 0)
			fputs(uuid, f);
		else
			fputs(xval_string(v), f);
		break;
	case XVAL_ARRAY:
	case XVAL_STRUCT:
		/* Nested containers do not occur in the fields we show; say so
		** rather than print something that looks like data. */
		fputs("<nested>", f);
		break;
	}
}

char *
clifmt_value(const struct xval *v, unsigned flags)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	ha_assert(f != NULL);
	if (xval_is(v, XVAL_ARRAY)) {
		for (i = 0; i < xval_len(v); i++) {
			if (i > 0)
				fputs("; ", f);
			put_scalar(f, xval_array_get(v, i), flags);
		}
	} else if (xval_is(v, XVAL_STRUCT)) {
		for (i = 0; i < xval_len(v); i++) {
			if (i > 0)
				fputs("; ", f);
			fprintf(f, "%s: ", xval_struct_name(v, i));
			put_scalar(f, xval_struct_value(v, i), flags);
		}
	} else {
		put_scalar(f, v, flags);
	}
	fclose(f);
	return buf;
}

/* "name ( RO)", "groups (SRW)", "other-config (MRW)". */
static char *
field_tag(const struct clifmt_field *fld)
{
	char kind = ' ';

	if (fld->flags & CLIFMT_SET)
		kind = 'S';
	else if (fld->flags & CLIFMT_MAP)
		kind = 'M';
	return xasprintf("%s (%c%s)", fld->name, kind, (fld->flags & CLIFMT_RW) ? "RW" : "RO");
}

void
clifmt_record(FILE *f, const struct clifmt_field *const *sel, size_t n, const struct xval *rec)
{
	size_t i, width = 0, shown = 0;
	char *tag, *val;

	for (i = 0; i < n; i++) {
		if (xval_struct_get(rec, sel[i]->xapi) == NULL)
			continue;
		tag = field_tag(sel[i]);
		if (strlen(tag) > width)
			width = strlen(tag);
		xfree(tag);
	}
	width += 4; /* as xe: the longest tag is indented by four */
	for (i = 0; i < n; i++) {
		const struct xval *v = xval_struct_get(rec, sel[i]->xapi);

		if (v == NULL)
			continue;
		tag = field_tag(sel[i]);
		val = clifmt_value(v, sel[i]->flags);
		if (shown++ == 0)
			fprintf(f, "%-*s: %s\n", (int)width, tag, val);
		else
			fprintf(f, "%*s: %s\n", (int)width, tag, val);
		xfree(val);
		xfree(tag);
	}
	fputc('\n', f);
}

void
clifmt_minimal(FILE *f, const struct clifmt_field *field, const struct xval *const *recs,
               size_t nrecs)
{
	const struct xval *v;
	char *val, *p;
	size_t i;

	for (i = 0; i < nrecs; i++) {
		if (i > 0)
			fputc(',', f);
		v = xval_struct_get(recs[i], field->xapi);
		if (v == NULL)
			continue;
		val = clifmt_value(v, field->flags);
		for (p = val; *p != '\0'; p++) {
			if (*p == ',' || *p == '\\')
				fputc('\\', f);
			fputc(*p, f);
		}
		xfree(val);
	}
	fputc('\n', f);
}

static struct json_object *
to_json(const struct xval *v, unsigned flags)
{
	struct json_object *o;
	char uuid[HA_UUID_LEN];
	size_t i;

	switch (v->type) {
	case XVAL_NIL:
		return NULL;
	case XVAL_BOOL:
		return json_object_new_boolean(xval_bool(v));
	case XVAL_INT:
		return json_object_new_int64(xval_int(v));
	case XVAL_DOUBLE:
		return json_object_new_double(xval_double(v));
	case XVAL_STRING:
	case XVAL_DATETIME:
		if ((flags & CLIFMT_REF) && strcmp(xval_string(v), HA_REF_NULL) == 0)
			return NULL;
		if ((flags & CLIFMT_REF) && id_ref_to_uuid(xval_string(v), uuid) == 0)
			return json_object_new_string(uuid);
		return json_object_new_string(xval_string(v));
	case XVAL_ARRAY:
		o = json_object_new_array();
		for (i = 0; i < xval_len(v); i++)
			json_object_array_add(o, to_json(xval_array_get(v, i), flags));
		return o;
	case XVAL_STRUCT:
		o = json_object_new_object();
		for (i = 0; i < xval_len(v); i++)
			json_object_object_add(o, xval_struct_name(v, i),
			                       to_json(xval_struct_value(v, i), flags));
		return o;
	}
	return NULL;
}

void
clifmt_json_value(FILE *f, const struct xval *v)
{
	struct json_object *o = to_json(v, 0);

	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						JSON_C_TO_STRING_NOSLASHESCAPE),
	      f);
	json_object_put(o);
}

void
clifmt_json(FILE *f, const struct clifmt_field *const *sel, size_t n,
            const struct xval *const *recs, size_t nrecs)
{
	struct json_object *arr = json_object_new_array(), *obj;
	const struct xval *v;
	size_t i, j;

	for (i = 0; i < nrecs; i++) {
		obj = json_object_new_object();
		for (j = 0; j < n; j++) {
			v = xval_struct_get(recs[i], sel[j]->xapi);
			if (v != NULL)
				json_object_object_add(obj, sel[j]->name,
				                       to_json(v, sel[j]->flags));
		}
		json_object_array_add(arr, obj);
	}
	fprintf(f, "%s\n",
	        json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
	                                                JSON_C_TO_STRING_SPACED |
	                                                JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
}

void
clifmt_filters_take(const struct clifmt_class *c, struct cliargs *args,
                    struct clifmt_filter **filters, size_t *n)
{
	struct clifmt_filter *out = xcalloc(args->n + 1, sizeof(*out));
	const struct clifmt_field *fld;
	size_t i, k = 0;

	for (i = 0; i < args->n; i++) {
		if (args->v[i].used || args->v[i].value == NULL)
			continue;
		fld = clifmt_field_by_name(c, args->v[i].key);
		if (fld == NULL)
			continue;
		args->v[i].used = 1;
		out[k].field = fld;
		out[k].value = args->v[i].value;
		k++;
	}
	*filters = out;
	*n = k;
}

int
clifmt_match(const struct xval *rec, const struct clifmt_filter *filters, size_t n)
{
	const struct xval *v;
	char *val;
	size_t i;
	int eq;

	for (i = 0; i < n; i++) {
		v = xval_struct_get(rec, filters[i].field->xapi);
		if (v == NULL)
			return 0;
		val = clifmt_value(v, filters[i].field->flags);
		eq = strcmp(val, filters[i].value) == 0;
		xfree(val);
		if (!eq)
			return 0;
	}
	return 1;
}

void
clifmt_error(FILE *f, const struct xval *desc)
{
	size_t i;

	if (!xval_is(desc, XVAL_ARRAY) || xval_len(desc) == 0) {
		fputs("Error: the server sent an empty error\n", f);
		return;
	}
	fputs("Error code: ", f);
	put_scalar(f, xval_array_get(desc, 0), 0);
	fputc('\n', f);
	if (xval_len(desc) < 2)
		return;
	fputs("Error parameters: ", f);
	for (i = 1; i < xval_len(desc); i++) {
		if (i > 1)
			fputs(", ", f);
		put_scalar(f, xval_array_get(desc, i), 0);
	}
	fputc('\n', f);
}
