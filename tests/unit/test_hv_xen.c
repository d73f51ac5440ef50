/*
** Unit tests of the Xen hypervisor backend (hasvc/hv_xen.c, or hv_xen_none.c
** in a build without Xen).
**
** On a machine that is not a Xen dom0 (every build machine) hv_xen_open must
** fail with a sentence that says so and leave nothing behind.  The tests that
** need an open backend run only where /proc/xen/capabilities says control_d,
** and even there they only read: no domain is created and no watchdog is
** armed (real-Xen tests that do are in tests/xen/).
*/
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hasvc/hv.h"
#include "lib/log.h"

#define VM_X "ffffffff-0000-4000-8000-00000000000f"

/* Present (non-NULL) only when libxenctrl is linked in, i.e. in an XEN=1
** build where hv_xen.c is the backend; only its address is used. */
extern int xc_interface_close(void *xch) __attribute__((weak));

static int
built_with_xen(void)
{
	return xc_interface_close != NULL;
}

/* 1 if this machine is a Xen control domain (dom0). */
static int
is_xen_dom0(void)
{
	char buf[256] = "";
	FILE *f = fopen("/proc/xen/capabilities", "r");

	if (f == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	return strstr(buf, "control_d") != NULL;
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
test_open_fails_without_xen(void **state)
{
	char err[512];
	struct hv *hv;

	(void)state;
	if (is_xen_dom0())
		skip();
	memset(err, 0, sizeof(err));
	errno = 0;
	hv = hv_xen_open(NULL, err, sizeof(err));
	assert_null(hv);
	assert_true(err[0] != '\0');
	assert_non_null(strstr(err, "Xen"));
	if (built_with_xen()) {
		static const char head[] =
		    "cannot open the Xen control interface (xc_interface_open: ";
		static const char tail[] = "): is this a Xen dom0?";
		size_t n = strlen(err);

		assert_int_equal(strncmp(err, head, strlen(head)), 0);
		assert_true(n > strlen(head) + strlen(tail));
		assert_string_equal(err + n - strlen(tail), tail);
		/* The reason between the parentheses is not empty. */
		assert_true(err[strlen(head)] != ')');
	}
	print_message("open failed as expected: %s\n", err);
}

/* A failing open leaks no descriptor (memory leaks are LeakSanitizer's job in
** the ASAN variant) and truncates its message safely. */
static void
test_open_failure_leaks_nothing(void **state)
{
	char err[512], tiny[8];
	int before, i;

	(void)state;
	if (is_xen_dom0())
		skip();
	before = count_fds();
	for (i = 0; i < 50; i++)
		assert_null(hv_xen_open(NULL, err, sizeof(err)));
	assert_int_equal(count_fds(), before);
	memset(tiny, 'x', sizeof(tiny));
	assert_null(hv_xen_open(NULL, tiny, sizeof(tiny)));
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
}

static int
setup_dom0(void **state)
{
	char err[512] = "";

	*state = hv_xen_open(NULL, err, sizeof(err));
	if (*state == NULL) {
		print_error("hv_xen_open on a Xen dom0 failed: %s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown_dom0(void **state)
{
	hv_close(*state);
	return 0;
}

/* Read-only calls on a real dom0. */
static void
test_dom0_read_only(void **state)
{
	struct hv *hv = *state;
	struct hv_host_info hi;
	struct hv_domain *doms = NULL;
	struct hv_event ev;
	size_t n = 0, i;

	assert_string_equal(hv->ops->name, "xen");
	assert_int_equal(hv->ops->host_info(hv, &hi), 0);
	assert_true(hi.memory_total > 0);
	assert_true(hi.memory_free <= hi.memory_total);
	assert_true(hi.cpus > 0);
	assert_int_equal(hv->ops->list_domains(hv, &doms, &n), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(strlen(doms[i].uuid), 36);
		assert_true(doms[i].state >= HV_DOM_RUNNING && doms[i].state <= HV_DOM_DYING);
	}
	free(doms);
	assert_int_equal(hv->ops->event_fd(hv), -1);
	assert_true(hv->ops->next_event(hv, &ev) >= 0);
}

/* Calls refused before they reach Xen. */
static void
test_dom0_refusals(void **state)
{
	struct hv *hv = *state;
	struct hv_vm_spec spec;

	errno = 0;
	assert_int_equal(hv->ops->wd_arm(hv, 500), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(hv->last_error, "whole seconds"));
	assert_int_equal(hv->ops->wd_pet(hv), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(hv->ops->wd_disarm(hv), 0);

	memset(&spec, 0, sizeof(spec));
	strcpy(spec.uuid, VM_X);
	strcpy(spec.name, "hasvc-test-never-started");
	assert_int_equal(hv->ops->start(hv, &spec), -1);
	assert_int_equal(errno, EINVAL);
	spec.config = "{ not json";
	assert_int_equal(hv->ops->start(hv, &spec), -1);
	assert_int_equal(errno, EINVAL);

	assert_int_equal(hv->ops->destroy(hv, VM_X), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(hv->ops->shutdown(hv, VM_X), -1);
	assert_int_equal(errno, ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_fails_without_xen),
	    cmocka_unit_test(test_open_failure_leaks_nothing),
	};
	const struct CMUnitTest dom0_tests[] = {
	    cmocka_unit_test(test_dom0_read_only),
	    cmocka_unit_test(test_dom0_refusals),
	};
	int rc;

	log_init("test_hv_xen", LOG_NO_BLACKBOX, LOG_WARNING);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (is_xen_dom0() && built_with_xen())
		rc |= cmocka_run_group_tests(dom0_tests, setup_dom0, teardown_dom0);
	else
		print_message("not a Xen dom0 (or built without Xen): real-Xen tests skipped\n");
	return rc;
}
