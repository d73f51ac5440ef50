/*
** xe-style argument parsing: forms, typed getters, and every bad path.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/cliargs.h"

static int
parse(struct cliargs *a, int argc, const char **argv)
{
	return cliargs_parse(a, argc, (char *const *)(uintptr_t)argv);
}

static void
test_parse_and_get(void **state)
{
	const char *argv[] = {"vm-add", "name-label=web 1", "memory=2GiB", "order=3",
			      "ha-always-run=yes", "--force", "empty="};
	struct cliargs a;
	int64_t v;
	int b;

	assert_int_equal(parse(&a, 7, argv), 0);
	assert_string_equal(a.command, "vm-add");
	assert_string_equal(cliargs_get(&a, "name-label"), "web 1");
	assert_string_equal(cliargs_get(&a, "empty"), "");
	assert_int_equal(cliargs_get_size(&a, "memory", &v), 0);
	assert_int_equal(v, 2LL << 30);
	assert_int_equal(cliargs_get_int(&a, "order", 0, 100, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(cliargs_get_bool(&a, "ha-always-run", &b), 0);
	assert_int_equal(b, 1);
	assert_true(cliargs_flag(&a, "force"));
	assert_false(cliargs_flag(&a, "missing"));
	assert_null(cliargs_get(&a, "missing"));
	assert_int_equal(cliargs_get_int(&a, "missing", 0, 1, &v), 1);
	assert_int_equal(cliargs_check_known(&a), 0);
	cliargs_clear(&a);
}

static void
test_bad_forms(void **state)
{
	const char *bare[] = {"vm-add", "oops"};
	const char *emptykey[] = {"vm-add", "=x"};
	const char *twice[] = {"vm-add", "a=1", "a=2"};
	const char *none[] = {"a=1"};
	struct cliargs a;

	assert_int_equal(parse(&a, 2, bare), -1);
	assert_non_null(strstr(a.err, "oops"));
	cliargs_clear(&a);
	assert_int_equal(parse(&a, 2, emptykey), -1);
	assert_non_null(strstr(a.err, "empty key"));
	cliargs_clear(&a);
	assert_int_equal(parse(&a, 3, twice), -1);
	assert_non_null(strstr(a.err, "twice"));
	cliargs_clear(&a);
	assert_int_equal(parse(&a, 1, none), -1);
	cliargs_clear(&a);
	assert_int_equal(parse(&a, 0, none), -1);
	cliargs_clear(&a);
}

static void
test_bad_values(void **state)
{
	const char *argv[] = {"x", "n=12x", "r=101", "neg=-1", "s=3PiB", "s2=GiB", "b=maybe",
			      "big=99999999999999999999", "huge=9000000000TiB"};
	struct cliargs a;
	int64_t v = 42;
	int b = 7;

	assert_int_equal(parse(&a, 9, argv), 0);
	assert_int_equal(cliargs_get_int(&a, "n", 0, 100, &v), -1);
	assert_non_null(strstr(a.err, "not an integer"));
	assert_int_equal(cliargs_get_int(&a, "r", 0, 100, &v), -1);
	assert_non_null(strstr(a.err, "out of range"));
	assert_int_equal(cliargs_get_int(&a, "neg", 0, 100, &v), -1);
	assert_int_equal(cliargs_get_int(&a, "big", INT64_MIN, INT64_MAX, &v), -1);
	assert_int_equal(cliargs_get_size(&a, "s", &v), -1);
	assert_int_equal(cliargs_get_size(&a, "s2", &v), -1);
	assert_int_equal(cliargs_get_size(&a, "huge", &v), -1);
	assert_int_equal(cliargs_get_bool(&a, "b", &b), -1);
	assert_non_null(strstr(a.err, "b=maybe"));
	assert_int_equal(v, 42); /* untouched on error */
	assert_int_equal(b, 7);
	cliargs_clear(&a);
}

static void
test_unknown_keys(void **state)
{
	const char *argv[] = {"vm-add", "name-label=x", "colour=blue"};
	const char *flags[] = {"vm-add", "--dry-run"};
	struct cliargs a;

	assert_int_equal(parse(&a, 3, argv), 0);
	cliargs_get(&a, "name-label");
	assert_int_equal(cliargs_check_known(&a), -1);
	assert_non_null(strstr(a.err, "colour"));
	cliargs_clear(&a);
	assert_int_equal(parse(&a, 2, flags), 0);
	assert_int_equal(cliargs_check_known(&a), -1);
	assert_non_null(strstr(a.err, "--dry-run"));
	cliargs_clear(&a);
}

static void
test_sizes(void **state)
{
	int64_t v;

	assert_int_equal(cliargs_parse_size("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cliargs_parse_size("512MiB", &v), 0);
	assert_int_equal(v, 512LL << 20);
	assert_int_equal(cliargs_parse_size("1TiB", &v), 0);
	assert_int_equal(v, 1LL << 40);
	assert_int_equal(cliargs_parse_size("7B", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(cliargs_parse_size("-1", &v), -1);
	assert_int_equal(cliargs_parse_size("1 GiB", &v), -1);
	assert_int_equal(cliargs_parse_size("1gib", &v), -1);
	assert_int_equal(cliargs_parse_size("", &v), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_get), cmocka_unit_test(test_bad_forms),
		cmocka_unit_test(test_bad_values),    cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
