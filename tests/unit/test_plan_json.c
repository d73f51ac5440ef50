/*
** hasvc/plan_json.c: good pools and their values, every default, and one
** malformed case per rule with its exact message (path first).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hasvc/plan_json.h"
#include "lib/xmalloc.h"

#define H1 "{\"name\": \"h1\", \"memory_total\": 1000}"
#define H2 "{\"name\": \"h2\", \"memory_total\": 1000}"

static char err[512];

static struct plan_pool *
parse(const char *s)
{
	return plan_json_parse(s, strlen(s), err, sizeof(err));
}

static void
expect_err(const char *json, const char *msg)
{
	struct plan_pool *p = parse(json);

	if (p != NULL || strcmp(err, msg) != 0)
		print_message("input %s\n  got  \"%s\"\n  want \"%s\"\n", json, p ? "(parsed)" : err,
		              msg);
	assert_null(p);
	assert_string_equal(err, msg);
}

static void
test_good_pool(void **state)
{
	struct plan_pool *p = parse(
		"{\"hosts\": [{\"name\": \"a\", \"memory_total\": 8000, \"memory_overhead\": 500,"
		"  \"vcpus\": 4, \"enabled\": true, \"live\": true, \"uuid\": \"u1\"},"
		" {\"name\": \"b\", \"memory_total\": \"9000\", \"enabled\": false}],"
		" \"vm_groups\": [{\"name\": \"n\"}, {\"name\": \"aa\", \"placement\": \"anti_affinity\"}],"
		" \"vms\": [{\"name\": \"v1\", \"memory_static_max\": 3000, \"memory_overhead\": 10,"
		"   \"vcpus\": 2, \"resident_on\": \"a\", \"power_state\": \"Running\","
		"   \"ha_restart_priority\": \"restart\", \"ha_always_run\": true, \"order\": 4,"
		"   \"groups\": [\"n\", \"aa\"], \"allowed_hosts\": [\"b\"]},"
		"  {\"name\": \"v2\", \"memory_static_max\": 100, \"resident_on\": \"b\","
		"   \"ha_restart_priority\": \"best-effort\"}],"
		" \"ha_host_failures_to_tolerate\": 1}\n");

	(void)state;
	assert_non_null(p);
	assert_int_equal(p->pool.nhosts, 2);
	assert_int_equal(p->pool.nvms, 2);
	assert_ptr_equal(p->pool.hosts, p->hosts);
	assert_ptr_equal(p->pool.vms, p->vms);
	assert_string_equal(p->host_names[1], "b");
	assert_int_equal(p->hosts[0].mem_total, 8000);
	assert_int_equal(p->hosts[0].mem_overhead, 500);
	assert_int_equal(p->hosts[0].cpus, 4);
	assert_true(p->hosts[0].usable);
	assert_int_equal(p->hosts[1].mem_total, 9000);
	assert_false(p->hosts[1].usable);
	assert_int_equal(p->vms[0].mem, 3010);
	assert_int_equal(p->vms[0].vcpus, 2);
	assert_int_equal(p->vms[0].host, 0);
	assert_int_equal(p->vms[0].prio, PLACE_PROTECTED);
	assert_int_equal(p->vms[0].order, 4);
	assert_int_equal(p->vms[0].groups, 2); /* only the anti-affinity group */
	assert_int_equal(p->vms[0].allowed, 2);
	assert_int_equal(p->vms[1].prio, PLACE_BEST_EFFORT);
	assert_int_equal(p->ngroups, 2);
	assert_int_equal(p->group_aa[1], 1);
	assert_int_equal(p->ha_ntol, 1);
	assert_int_equal(plan_json_host_index(p, "b"), 1);
	assert_int_equal(plan_json_host_index(p, "c"), -1);
	plan_json_free(p);
}

static void
test_defaults(void **state)
{
	struct plan_pool *p = parse(
		"{\"hosts\": [" H1 ", " H2 "],"
		" \"vms\": [{\"name\": \"run\", \"memory_static_max\": 10, \"resident_on\": \"h2\","
		"            \"ha_restart_priority\": \"restart\"},"
		"          {\"name\": \"off\", \"memory_static_max\": 10,"
		"           \"ha_restart_priority\": \"restart\"},"
		"          {\"name\": \"plain\", \"memory_static_max\": 10}]}");

	(void)state;
	assert_non_null(p);
	assert_int_equal(p->hosts[0].mem_overhead, 0);
	assert_int_equal(p->hosts[0].cpus, PLAN_JSON_NO_CPU_LIMIT);
	assert_true(p->hosts[0].usable);
	assert_int_equal(p->pool.vcpu_ratio_pct, 100);
	assert_false(p->pool.aa_hard);
	assert_int_equal(p->ha_ntol, 0);
	assert_int_equal(p->ngroups, 0);
	/* running + restart: ha_always_run defaults to true, as xapi sets it */
	assert_int_equal(p->power[0], PLAN_RUNNING);
	assert_int_equal(p->vms[0].prio, PLACE_PROTECTED);
	assert_int_equal(p->vms[0].vcpus, 1);
	assert_int_equal(p->vms[0].order, 0);
	assert_int_equal(p->vms[0].groups, 0);
	assert_int_equal(p->vms[0].allowed, 3);
	assert_int_equal(p->vms[0].mem, 10);
	/* halted + restart: ha_always_run false (cleared by shutdown) */
	assert_int_equal(p->power[1], PLAN_HALTED);
	assert_int_equal(p->vms[1].host, PLACE_NONE);
	assert_int_equal(p->vms[1].prio, PLACE_UNPROTECTED);
	assert_int_equal(p->vms[2].prio, PLACE_UNPROTECTED);
	plan_json_free(p);
}

static void
test_host_mask(void **state)
{
	struct plan_pool *p = parse("{\"hosts\": [" H1 ", " H2 "]}");
	uint64_t m;

	(void)state;
	assert_non_null(p);
	assert_int_equal(plan_json_host_mask(p, "h2,h1", &m, err, sizeof(err)), 0);
	assert_int_equal(m, 3);
	assert_int_equal(plan_json_host_mask(p, "", &m, err, sizeof(err)), 0);
	assert_int_equal(m, 0);
	assert_int_equal(plan_json_host_mask(p, "h1,h9", &m, err, sizeof(err)), -1);
	assert_string_equal(err, "--fail: no host named \"h9\"");
	assert_int_equal(plan_json_host_mask(p, "h1,h1", &m, err, sizeof(err)), -1);
	assert_string_equal(err, "--fail: host \"h1\" named twice");
	assert_int_equal(plan_json_host_mask(p, "h1,", &m, err, sizeof(err)), -1);
	assert_int_equal(plan_json_host_mask(p, ",h1", &m, err, sizeof(err)), -1);
	plan_json_free(p);
}

static void
test_malformed_syntax(void **state)
{
	(void)state;
	expect_err("", "input: not JSON: unexpected end of input");
	expect_err("hosts: []", "input: not JSON: unexpected character at offset 0");
	expect_err("{\"hosts\": [" H1 "]} x", "input: trailing garbage at offset 50");
	expect_err("{\"hosts\": [" H1 "]}{}", "input: trailing garbage at offset 49");
	expect_err("{\"hosts\": [" H1 "]", "input: not JSON: unexpected end of input");
	expect_err("[]", "top level: expected an object, got an array");
	expect_err("{\"hosts\": [" H1 "], \"vmz\": []}", "top level: unknown field \"vmz\"");
	expect_err("{}", "hosts: missing");
	expect_err("{\"hosts\": {}}", "hosts: expected an array, got an object");
	expect_err("{\"hosts\": []}", "hosts: 0 hosts (a pool has 1 to 64)");
	expect_err("{\"hosts\": [[[[[[[[[[1]]]]]]]]]]}",
	           "input: not JSON: nesting too deep at offset 17");
	{
		const char nul[] = "{\"hosts\": []}\0";

		assert_null(plan_json_parse(nul, sizeof(nul) - 1, err, sizeof(err)));
		assert_string_equal(err, "input: not JSON: a NUL byte at offset 13");
	}
}

static void
test_malformed_hosts(void **state)
{
	(void)state;
	expect_err("{\"hosts\": [1]}", "hosts[0]: expected an object, got an integer");
	expect_err("{\"hosts\": [{\"memory_total\": 1}]}", "hosts[0].name: missing");
	expect_err("{\"hosts\": [{\"name\": 7, \"memory_total\": 1}]}",
	           "hosts[0].name: expected a string, got an integer");
	expect_err("{\"hosts\": [{\"name\": \"\", \"memory_total\": 1}]}", "hosts[0].name: is empty");
	expect_err("{\"hosts\": [" H1 ", {\"name\": \"h1\", \"memory_total\": 1}]}",
	           "hosts[1].name: duplicate host name \"h1\"");
	expect_err("{\"hosts\": [{\"name\": \"a\"}]}", "hosts[0].memory_total: missing");
	expect_err("{\"hosts\": [{\"name\": \"a\", \"memory_total\": -1}]}",
	           "hosts[0].memory_total: negative value -1");
	expect_err("{\"hosts\": [{\"name\": \"a\", \"memory_total\": \"-1\"}]}",
	           "hosts[0].memory_total: negative value -1");
	expect_err("{\"hosts\": [{\"name\": \"a\", \"memory_total\": 1.5}]}",
	           "hosts[0].memory_total: expected an integer, got a number with a fraction or "
	           "exponent");
	expect_err("{\"hosts\": [{\"name\": \"a\", \"memory_total\": \"1k\"}]}",
	           "hosts[0].memory_total: expected an integer, got the string \"1k\"");
	expect_err("{\"hosts\": [{\"name\": \"a\", \"memory_total\": 18446744073709551616}]}",
	           "hosts[0].memory_total: 18446744073709551615 is out of range (at most "
	           "4611686018427387904)");
	expect_err("{\"hosts\": [{\"name\": \"a\", \"memory_total\": 4611686018427387904},"
	           " {\"name\": \"b\", \"memory_total\": 1}]}",
	           "hosts[1].memory_total: the hosts' memory adds up to more than 2^62 bytes");
	/* null is the same as absent */
	expect_err("{\"hosts\": [{\"name\": \"a\", \"memory_total\": null}]}",
	           "hosts[0].memory_total: missing");
	expect_err("{\"hosts\": [{\"name\": \"a\", \"memory_total\": 1, \"vcpus\": 65537}]}",
	           "hosts[0].vcpus: 65537 is out of range (at most 65536)");
	expect_err("{\"hosts\": [{\"name\": \"a\", \"memory_total\": 1, \"enabled\": 1}]}",
	           "hosts[0].enabled: expected true or false, got an integer");
	expect_err("{\"hosts\": [{\"name\": \"a\", \"memory_total\": 1, \"live\": \"yes\"}]}",
	           "hosts[0].live: expected true or false, got a string");
	expect_err("{\"hosts\": [{\"name\": \"a\", \"memory_total\": 1, \"memory\": 1}]}",
	           "hosts[0]: unknown field \"memory\"");
}

static void
test_too_many(void **state)
{
	char *s = xmalloc(64 * 1024);
	size_t off;
	int i;

	(void)state;
	off = (size_t)sprintf(s, "{\"hosts\": [");
	for (i = 0; i < 65; i++)
		off += (size_t)sprintf(s + off, "%s{\"name\": \"h%d\", \"memory_total\": 1}",
		                       i ? ", " : "", i);
	sprintf(s + off, "]}");
	expect_err(s, "hosts: 65 hosts (a pool has 1 to 64)");
	off = (size_t)sprintf(s, "{\"hosts\": [" H1 "], \"vm_groups\": [");
	for (i = 0; i < 65; i++)
		off += (size_t)sprintf(s + off, "%s{\"name\": \"g%d\"}", i ? ", " : "", i);
	sprintf(s + off, "]}");
	expect_err(s, "vm_groups: 65 groups (at most 64)");
	free(s);
}

#define POOL_VMS(vms) "{\"hosts\": [" H1 ", " H2 "], \"vm_groups\": [{\"name\": \"g\"}], \"vms\": [" vms "]}"
#define VM(extra)     "{\"name\": \"v\", \"memory_static_max\": 1" extra "}"

static void
test_malformed_vms(void **state)
{
	(void)state;
	expect_err(POOL_VMS("\"v\""), "vms[0]: expected an object, got a string");
	expect_err(POOL_VMS("{\"memory_static_max\": 1}"), "vms[0].name: missing");
	expect_err(POOL_VMS("{\"name\": \"v\"}"), "vms[0].memory_static_max: missing");
	expect_err(POOL_VMS(VM(", \"memory_overhead\": -3")),
	           "vms[0].memory_overhead: negative value -3");
	expect_err(POOL_VMS(VM(", \"vcpus\": 0")), "vms[0].vcpus: a VM has at least one vCPU");
	expect_err(POOL_VMS(VM("") ", " VM("") ", " VM("")),
	           "vms[1].name: duplicate VM name \"v\" (also vms[0])");
	expect_err(POOL_VMS(VM("") ", " VM(", \"resident_on\": \"h9\"")),
	           "vms[1].resident_on: no host named \"h9\"");
	expect_err(POOL_VMS(VM(", \"resident_on\": 3")),
	           "vms[0].resident_on: expected a string, got an integer");
	expect_err(POOL_VMS(VM(", \"power_state\": \"running\"")),
	           "vms[0].resident_on: missing for a running VM");
	expect_err(POOL_VMS(VM(", \"power_state\": \"Halted\", \"resident_on\": \"h1\"")),
	           "vms[0].resident_on: set for a Halted VM (only a Running or Paused VM has one)");
	expect_err(POOL_VMS(VM(", \"power_state\": \"Off\"")),
	           "vms[0].power_state: \"Off\" is not Halted, Running, Paused or Suspended");
	expect_err(POOL_VMS(VM(", \"ha_restart_priority\": \"always\"")),
	           "vms[0].ha_restart_priority: \"always\" is not \"restart\", \"best-effort\" or \"\"");
	expect_err(POOL_VMS(VM(", \"ha_always_run\": \"true\"")),
	           "vms[0].ha_always_run: expected true or false, got a string");
	expect_err(POOL_VMS(VM(", \"order\": -1")), "vms[0].order: negative value -1");
	expect_err(POOL_VMS(VM(", \"groups\": \"g\"")),
	           "vms[0].groups: expected an array, got a string");
	expect_err(POOL_VMS(VM(", \"groups\": [\"g\", \"nope\"]")),
	           "vms[0].groups[1]: no group named \"nope\"");
	expect_err(POOL_VMS(VM(", \"allowed_hosts\": [\"h1\", 2]")),
	           "vms[0].allowed_hosts[1]: expected a string, got an integer");
	expect_err(POOL_VMS(VM(", \"allowed_hosts\": [\"h\\u0001x\"]")),
	           "vms[0].allowed_hosts[0]: no host named \"h?x\"");
	expect_err(POOL_VMS(VM(", \"allowed_hosts\": []")),
	           "vms[0].allowed_hosts: empty: the VM could run nowhere");
	expect_err(POOL_VMS(VM(", \"vcpu\": 2")), "vms[0]: unknown field \"vcpu\"");
	expect_err(POOL_VMS("{\"name\": \"a\", \"memory_static_max\": 4611686018427387904}, "
	                    "{\"name\": \"b\", \"memory_static_max\": 1}"),
	           "vms[1].memory_overhead: the VMs' memory adds up to more than 2^62 bytes");
	expect_err("{\"hosts\": [" H1 "], \"vm_groups\": [{\"name\": \"g\"}, {\"name\": \"g\"}]}",
	           "vm_groups[1].name: duplicate group name \"g\"");
	expect_err("{\"hosts\": [" H1 "], \"vm_groups\": [{\"name\": \"g\", \"placement\": \"x\"}]}",
	           "vm_groups[0].placement: \"x\" is not \"normal\" or \"anti_affinity\"");
	expect_err("{\"hosts\": [" H1 "], \"ha_host_failures_to_tolerate\": 65}",
	           "ha_host_failures_to_tolerate: 65 is out of range (at most 64)");
	expect_err("{\"hosts\": [" H1 "], \"ha_host_failures_to_tolerate\": true}",
	           "ha_host_failures_to_tolerate: expected an integer, got a boolean");
}

static void
test_load(void **state)
{
	char path[] = "/tmp/test_plan_json.XXXXXX";
	struct plan_pool *p;
	int fd = mkstemp(path);
	const char *s = "{\"hosts\": [" H1 "]}\n";

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
	p = plan_json_load(path, err, sizeof(err));
	assert_non_null(p);
	plan_json_free(p);
	unlink(path);
	assert_null(plan_json_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
	plan_json_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_pool),        cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_host_mask),        cmocka_unit_test(test_malformed_syntax),
		cmocka_unit_test(test_malformed_hosts),  cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_malformed_vms),    cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
