/*
** The pure half of the hasvc CLI (api/cli_format.c): parameter-name tables,
** xe blocks, --minimal, --json, list filters and error text, byte for byte.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/cli_format.h"
#include "api/cliargs.h"
#include "api/jsonrpc.h"

#define VM1  "11111111-1111-4111-8111-111111111111"
#define VM2  "22222222-2222-4222-8222-222222222222"
#define HOST "33333333-3333-4333-8333-333333333333"

/* Capture what a formatter writes. */
struct cap {
	char *buf;
	size_t len;
	FILE *f;
};

static void
cap_open(struct cap *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
}

static char *
cap_close(struct cap *c)
{
	fclose(c->f);
	return c->buf;
}

static struct xval *
vm_record(const char *uuid, const char *name, const char *power, const char *resident, int template)
{
	struct xval *r = xval_new_struct(), *ops = xval_new_array();

	xval_struct_add(r, "uuid", xval_new_string(uuid));
	xval_struct_add(r, "name_label", xval_new_string(name));
	xval_struct_add(r, "power_state", xval_new_string(power));
	xval_struct_add(r, "resident_on", xval_new_string(resident));
	xval_struct_add(r, "is_a_template", xval_new_bool(template));
	xval_struct_add(r, "ha_restart_priority", xval_new_string("restart"));
	xval_struct_add(r, "order", xval_new_int(3));
	xval_struct_add(r, "ha_always_run", xval_new_bool(1));
	xval_array_append(ops, xval_new_string("start"));
	xval_array_append(ops, xval_new_string("hard_shutdown"));
	xval_struct_add(r, "allowed_operations", ops);
	xval_array_append(ops = xval_new_array(), xval_new_string("OpaqueRef:" VM2));
	xval_struct_add(r, "groups", ops);
	return r;
}

static const struct clifmt_class *
cls(const char *name)
{
	const struct clifmt_class *c = clifmt_class_find(name);

	assert_non_null(c);
	return c;
}

static void
test_names(void **state)
{
	const struct clifmt_class *vm = cls("vm"), *pool = cls("pool");
	const struct clifmt_field *f;

	assert_string_equal(vm->xapi, "VM");
	f = clifmt_field_by_name(vm, "ha-restart-priority");
	assert_non_null(f);
	assert_string_equal(f->xapi, "ha_restart_priority");
	assert_string_equal(f->setter, "VM.set_ha_restart_priority");
	assert_int_equal(f->kind, CLIFMT_STRING);
	assert_true(f->flags & CLIFMT_RW);
	f = clifmt_field_by_name(vm, "start-delay");
	assert_string_equal(f->setter, "VM.set_start_delay");
	assert_int_equal(f->kind, CLIFMT_INT);
	assert_int_equal(clifmt_field_by_name(vm, "ha-always-run")->kind, CLIFMT_BOOL);
	assert_ptr_equal(clifmt_field_by_xapi(vm, "power_state"),
	                 clifmt_field_by_name(vm, "power-state"));
	/* The XAPI spelling is not a CLI name, and read-only fields have no setter. */
	assert_null(clifmt_field_by_name(vm, "ha_restart_priority"));
	assert_null(clifmt_field_by_name(vm, "nonsense"));
	assert_null(clifmt_field_by_name(vm, "power-state")->setter);
	assert_false(clifmt_field_by_name(vm, "power-state")->flags & CLIFMT_RW);
	assert_string_equal(clifmt_field_by_name(pool, "ha-host-failures-to-tolerate")->setter,
	                    "pool.set_ha_host_failures_to_tolerate");
	assert_string_equal(clifmt_field_by_name(pool, "ha-allow-overcommit")->setter,
	                    "pool.set_ha_allow_overcommit");
	assert_string_equal(clifmt_field_by_name(cls("message"), "class")->xapi, "cls");
	assert_string_equal(cls("user")->xapi, "hasvc_user");
	assert_null(clifmt_class_find("sr"));

	/* Every RW field has a setter of its own class, and every name maps
	** dashes to the XAPI underscores. */
	{
		static const char *const names[] = {"pool", "host", "vm", "message", "user"};
		size_t i, j;

		for (i = 0; i < 5; i++) {
			const struct clifmt_class *c = cls(names[i]);

			for (j = 0; j < c->nfields; j++) {
				const struct clifmt_field *g = &c->fields[j];
				char buf[128];
				size_t k;

				snprintf(buf, sizeof(buf), "%s", g->xapi);
				for (k = 0; buf[k] != '\0'; k++)
					if (buf[k] == '_')
						buf[k] = '-';
				if (strcmp(g->xapi, "cls") != 0)
					assert_string_equal(buf, g->name);
				if (g->flags & CLIFMT_RW) {
					assert_non_null(g->setter);
					assert_int_equal(
					    strncmp(g->setter, c->xapi, strlen(c->xapi)), 0);
				}
			}
		}
	}
}

static void
test_select(void **state)
{
	const struct clifmt_class *vm = cls("vm");
	const struct clifmt_field **sel;
	char err[128];
	size_t n;

	assert_int_equal(clifmt_select(vm, NULL, &sel, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(sel[0]->name, "uuid");
	assert_string_equal(sel[2]->name, "power-state");
	free(sel);
	assert_int_equal(clifmt_select(vm, "all", &sel, &n, err, sizeof(err)), 0);
	assert_int_equal(n, vm->nfields);
	free(sel);
	assert_int_equal(clifmt_select(vm, "order,uuid", &sel, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(sel[0]->xapi, "order");
	free(sel);
	assert_int_equal(clifmt_select(vm, "uuid,colour", &sel, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "colour"));
	assert_int_equal(clifmt_select(vm, ",", &sel, &n, err, sizeof(err)), -1);
}

static void
test_values(void **state)
{
	struct xval *v, *m = xval_new_struct();
	char *s;

	v = xval_new_string("OpaqueRef:" HOST);
	s = clifmt_value(v, CLIFMT_REF);
	assert_string_equal(s, HOST);
	free(s);
	s = clifmt_value(v, 0); /* not a ref field: shown as it is */
	assert_string_equal(s, "OpaqueRef:" HOST);
	free(s);
	xval_free(v);
	v = xval_new_string("OpaqueRef:NULL");
	s = clifmt_value(v, CLIFMT_REF);
	assert_string_equal(s, "<not in database>");
	free(s);
	xval_free(v);
	v = xval_new_int(-42);
	s = clifmt_value(v, 0);
	assert_string_equal(s, "-42");
	free(s);
	xval_free(v);
	xval_struct_add(m, "timeout", xval_new_string("30"));
	xval_struct_add(m, "k", xval_new_string("v"));
	s = clifmt_value(m, CLIFMT_MAP);
	assert_string_equal(s, "timeout: 30; k: v");
	free(s);
	xval_free(m);
	v = xval_new_array();
	s = clifmt_value(v, CLIFMT_SET);
	assert_string_equal(s, "");
	free(s);
	xval_free(v);
}

static void
test_record_block(void **state)
{
	const struct clifmt_class *vm = cls("vm");
	const struct clifmt_field **sel;
	struct xval *r = vm_record(VM1, "web", "Running", "OpaqueRef:" HOST, 0);
	struct cap c;
	char err[64], *out;
	size_t n;

	/* The default vm-list block, exactly as xe prints it. */
	assert_int_equal(clifmt_select(vm, NULL, &sel, &n, err, sizeof(err)), 0);
	cap_open(&c);
	clifmt_record(c.f, sel, n, r);
	out = cap_close(&c);
	assert_string_equal(out, "uuid ( RO)           : " VM1 "\n"
	                         "     name-label ( RO): web\n"
	                         "    power-state ( RO): Running\n"
	                         "\n");
	free(out);
	free(sel);

	/* Refs as uuids, sets, RW tags; a field the record lacks is left out. */
	assert_int_equal(clifmt_select(vm,
	                               "uuid,resident-on,groups,allowed-operations,"
	                               "ha-restart-priority,start-delay",
	                               &sel, &n, err, sizeof(err)),
	                 0);
	cap_open(&c);
	clifmt_record(c.f, sel, n, r);
	out = cap_close(&c);
	assert_string_equal(out, "uuid ( RO)                   : " VM1 "\n"
	                         "            resident-on ( RO): " HOST "\n"
	                         "                 groups (SRO): " VM2 "\n"
	                         "     allowed-operations (SRO): start; hard_shutdown\n"
	                         "    ha-restart-priority ( RW): restart\n"
	                         "\n");
	free(out);
	free(sel);
	xval_free(r);
}

static void
test_minimal_and_json(void **state)
{
	const struct clifmt_class *vm = cls("vm");
	struct xval *a = vm_record(VM1, "web, \\1", "Running", "OpaqueRef:" HOST, 0);
	struct xval *b = vm_record(VM2, "db", "Halted", "OpaqueRef:NULL", 0);
	const struct xval *recs[] = {a, b};
	const struct clifmt_field *sel[3];
	struct xval_reply rep = {0};
	char *out, *body, err[XVAL_ERR_MAX];
	struct cap c;

	cap_open(&c);
	clifmt_minimal(c.f, clifmt_field_by_name(vm, "uuid"), recs, 2);
	out = cap_close(&c);
	assert_string_equal(out, VM1 "," VM2 "\n");
	free(out);
	cap_open(&c);
	clifmt_minimal(c.f, clifmt_field_by_name(vm, "name-label"), recs, 2);
	out = cap_close(&c);
	assert_string_equal(out, "web\\, \\\\1,db\n"); /* commas and backslashes escaped */
	free(out);
	cap_open(&c);
	clifmt_minimal(c.f, clifmt_field_by_name(vm, "uuid"), recs, 0);
	out = cap_close(&c);
	assert_string_equal(out, "\n");
	free(out);

	/* --json: typed values, CLI names, refs as uuids, the null ref as null.
	** Read it back with the JSON-RPC decoder to check it is JSON. */
	sel[0] = clifmt_field_by_name(vm, "uuid");
	sel[1] = clifmt_field_by_name(vm, "order");
	sel[2] = clifmt_field_by_name(vm, "resident-on");
	cap_open(&c);
	clifmt_json(c.f, sel, 3, recs, 2);
	out = cap_close(&c);
	body = NULL;
	assert_int_equal(asprintf(&body, "{\"jsonrpc\":\"2.0\",\"result\":%s,\"id\":1}", out) > 0,
	                 1);
	assert_int_equal(
	    jsonrpc_decode_response(body, strlen(body), 1 << 20, &rep, NULL, err, sizeof(err)), 0);
	assert_int_equal(xval_len(rep.value), 2);
	{
		const struct xval *o = xval_array_get(rep.value, 0);

		assert_string_equal(xval_string(xval_struct_get(o, "uuid")), VM1);
		assert_int_equal(xval_int(xval_struct_get(o, "order")), 3);
		assert_string_equal(xval_string(xval_struct_get(o, "resident-on")), HOST);
		o = xval_array_get(rep.value, 1);
		assert_true(xval_is(xval_struct_get(o, "resident-on"), XVAL_NIL));
	}
	xval_reply_clear(&rep);
	free(body);
	free(out);
	xval_free(a);
	xval_free(b);
}

static void
test_filters(void **state)
{
	const char *argv[] = {"vm-list",     "power-state=Running", "resident-on=" HOST,
	                      "params=uuid", "colour=blue",         "--minimal"};
	const struct clifmt_class *vm = cls("vm");
	struct xval *a = vm_record(VM1, "web", "Running", "OpaqueRef:" HOST, 0);
	struct xval *b = vm_record(VM2, "db", "Halted", "OpaqueRef:NULL", 0);
	struct clifmt_filter *f;
	struct cliargs args;
	size_t n;

	assert_int_equal(cliargs_parse(&args, 6, (char *const *)(uintptr_t)argv), 0);
	assert_string_equal(cliargs_get(&args, "params"), "uuid");
	assert_true(cliargs_flag(&args, "minimal"));
	clifmt_filters_take(vm, &args, &f, &n);
	assert_int_equal(n, 2);
	assert_int_equal(clifmt_match(a, f, n), 1);
	assert_int_equal(clifmt_match(b, f, n), 0);
	assert_int_equal(clifmt_match(b, f, 0), 1); /* no filter: everything */
	/* A key that is no field stays unknown, so the command refuses it. */
	assert_int_equal(cliargs_check_known(&args), -1);
	assert_non_null(strstr(args.err, "colour"));
	free(f);
	cliargs_clear(&args);

	{
		const char *argv2[] = {"vm-list", "name-label=nope", "is-a-template=false"};
		const struct xval *empty = xval_new_struct();

		assert_int_equal(cliargs_parse(&args, 3, (char *const *)(uintptr_t)argv2), 0);
		clifmt_filters_take(vm, &args, &f, &n);
		assert_int_equal(n, 2);
		assert_int_equal(clifmt_match(a, f, n), 0);
		assert_int_equal(clifmt_match(empty, f, n), 0); /* absent never matches */
		assert_int_equal(cliargs_check_known(&args), 0);
		free(f);
		xval_free((struct xval *)(uintptr_t)empty);
		cliargs_clear(&args);
	}
	xval_free(a);
	xval_free(b);
}

static void
test_errors(void **state)
{
	struct xval *e = xval_new_array();
	struct cap c;
	char *out;

	xval_array_append(e, xval_new_string("INVALID_VALUE"));
	xval_array_append(e, xval_new_string("ha_restart_priority"));
	xval_array_append(e, xval_new_string("bogus"));
	cap_open(&c);
	clifmt_error(c.f, e);
	out = cap_close(&c);
	assert_string_equal(out, "Error code: INVALID_VALUE\n"
	                         "Error parameters: ha_restart_priority, bogus\n");
	free(out);
	xval_free(e);

	e = xval_new_array();
	xval_array_append(e, xval_new_string("HA_NOT_ENABLED"));
	cap_open(&c);
	clifmt_error(c.f, e);
	out = cap_close(&c);
	assert_string_equal(out, "Error code: HA_NOT_ENABLED\n");
	free(out);
	xval_free(e);

	/* A broken error from a peer is still reported, never a crash. */
	cap_open(&c);
	clifmt_error(c.f, NULL);
	out = cap_close(&c);
	assert_non_null(strstr(out, "Error"));
	free(out);
	e = xval_new_array();
	cap_open(&c);
	clifmt_error(c.f, e);
	out = cap_close(&c);
	assert_non_null(strstr(out, "empty error"));
	free(out);
	xval_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_select),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_record_block),
	    cmocka_unit_test(test_minimal_and_json),
	    cmocka_unit_test(test_filters),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
