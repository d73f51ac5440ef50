/*
** The pure half of the `hasvc` CLI: which XAPI field each xe-style parameter
** name stands for (one table per class), how records are printed (xe's
** blocks, --minimal, --json), list filters, and how a XAPI error is shown.
** No I/O besides writing to the FILE it is given, so that tests can check
** every byte.
**
** Names: a CLI parameter is the XAPI field with dashes for underscores
** (ha_restart_priority -> ha-restart-priority), as xe names them.
**
** Values are shown as xe shows them: true/false, decimal integers, a set as
** "a; b", a map as "k: v; k2: v2", a ref as the uuid of the object it names
** (hasvc refs are "OpaqueRef:<uuid>", lib/ids.h) and the null ref as
** "<not in database>".
*/
#ifndef HASVC_API_CLI_FORMAT_H
#define HASVC_API_CLI_FORMAT_H

#include <stddef.h>
#include <stdio.h>

#include "api/cliargs.h"
#include "api/xval.h"

/* Field flags. */
#define CLIFMT_RW  0x1 /* settable with <class>-param-set */
#define CLIFMT_SET 0x2 /* an array: shown "a; b", tagged (SRO)/(SRW) */
#define CLIFMT_MAP 0x4 /* a struct: shown "k: v; k2: v2", tagged (MRO)/(MRW) */
#define CLIFMT_REF 0x8 /* refs (or a set of refs) shown as uuids */

/* How <class>-param-set converts the CLI value for the setter. */
enum clifmt_kind {
	CLIFMT_STRING,
	CLIFMT_INT,
	CLIFMT_BOOL,
};

struct clifmt_field {
	const char *name; /* CLI name: "ha-restart-priority" */
	const char *xapi; /* XAPI field: "ha_restart_priority" */
	unsigned flags;
	const char *setter; /* "VM.set_ha_restart_priority" (RW fields), else NULL */
	enum clifmt_kind kind;
};

struct clifmt_class {
	const char *name; /* CLI class: "vm" */
	const char *xapi; /* XAPI class: "VM" */
	const struct clifmt_field *fields;
	size_t nfields;
	const char *defaults; /* the fields <class>-list shows without params= */
};

/* The classes: "pool", "host", "vm", "message", "user" (hasvc_user); NULL
** if unknown. */
const struct clifmt_class *clifmt_class_find(const char *name);
/* A field by CLI name or by XAPI name; NULL if the class has none. */
const struct clifmt_field *clifmt_field_by_name(const struct clifmt_class *c, const char *name);
const struct clifmt_field *clifmt_field_by_xapi(const struct clifmt_class *c, const char *xapi);

/* The fields to show for `params=`: NULL -> the class defaults, "all" ->
** every field, else a comma-separated list of CLI names.  0 with *sel (an
** xmalloc'd array, the caller frees it) and *n, or -1 with a sentence in err
** naming an unknown field. */
int clifmt_select(const struct clifmt_class *c, const char *params,
                  const struct clifmt_field ***sel, size_t *n, char *err, size_t errsz);

/* One value as xe shows it (malloc'd; free()).  `flags` from the field. */
char *clifmt_value(const struct xval *v, unsigned flags);

/* A record as an xe block: every selected field present in `rec`, as
** "name ( RO): value" lines whose tags are right-aligned to the longest tag
** plus four, the first line left-aligned; then one blank line. */
void clifmt_record(FILE *f, const struct clifmt_field *const *sel, size_t n,
                   const struct xval *rec);

/* --minimal: field `field` of each record, comma-separated (a comma or a
** backslash inside a value is escaped with a backslash), then a newline. */
void clifmt_minimal(FILE *f, const struct clifmt_field *field, const struct xval *const *recs,
                    size_t nrecs);

/* --json: a JSON array of objects {CLI name: value}, with the value's own
** JSON type (refs as uuids), then a newline. */
void clifmt_json(FILE *f, const struct clifmt_field *const *sel, size_t n,
                 const struct xval *const *recs, size_t nrecs);

/* Any value as pretty JSON (no trailing newline); refs stay refs. */
void clifmt_json_value(FILE *f, const struct xval *v);

/* List filters: every unused key=value argument that names a field of the
** class (marked used).  Other keys are left for cliargs_check_known(). */
struct clifmt_filter {
	const struct clifmt_field *field;
	const char *value; /* borrowed from the args */
};

void clifmt_filters_take(const struct clifmt_class *c, struct cliargs *args,
                         struct clifmt_filter **filters, size_t *n);
/* 1 if every filter's field, shown as clifmt_value() shows it, equals the
** filter value (a field absent from the record never matches), else 0. */
int clifmt_match(const struct xval *rec, const struct clifmt_filter *filters, size_t n);

/* A XAPI ErrorDescription as xe prints an error it has no special text for:
**     Error code: INVALID_VALUE
**     Error parameters: ha_restart_priority, bogus
** (the second line only when there are parameters). */
void clifmt_error(FILE *f, const struct xval *desc);

#endif
