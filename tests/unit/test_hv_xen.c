/*
** Unit tests of the Xen hypervisor backend (hasvc/hv_xen.c, or hv_xen_none.c
** in a build without Xen).
**
** On a machine that is not a Xen dom0 (every build machine) hv_xen_open must
** fail with a sentence that says so and leave nothing behind.  The tests that
** need an open backend run only where /proc/xen/capabilities says control_d,
** and even there they only read: no domain is created and no watchdog is
** armed -- unless HASVC_XEN_GUEST_KERNEL and HASVC_XEN_GUEST_RAMDISK name a
** PV guest to boot, as tests/xen/ (QEMU + real Xen) does: then one guest is
** started, shut down and destroyed, and a watchdog slot is armed, re-timed
** and released within seconds.
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
#include <time.h>

#include <cmocka.h>

#include "hasvc/hv.h"
#include "lib/log.h"

#define VM_X "ffffffff-0000-4000-8000-00000000000f"
#define VM_L "ffffffff-0000-4000-8000-0000000000a1"
#define VM_BIG "ffffffff-0000-4000-8000-0000000000b2"
#define MIB (1024ull * 1024ull)

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

static void
sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The state of `uuid` in the backend's domain list; 0 if it is not listed. */
static int
dom_state(struct hv *hv, const char *uuid, struct hv_domain *out)
{
	struct hv_domain *doms = NULL;
	size_t n = 0, i;
	int st = 0;

	assert_int_equal(hv->ops->list_domains(hv, &doms, &n), 0);
	for (i = 0; i < n; i++)
		if (strcmp(doms[i].uuid, uuid) == 0 && (st == 0 || doms[i].state != HV_DOM_DYING)) {
			st = (int)doms[i].state;
			if (out != NULL)
				*out = doms[i];
		}
	free(doms);
	return st;
}

/* Poll next_event for up to `secs` seconds until an event of `type` about
** `uuid` comes; 1 if it did. */
static int
await_event(struct hv *hv, enum hv_event_type type, const char *uuid, int secs)
{
	struct hv_event ev;
	int i, r;

	for (i = 0; i < secs * 5; i++) {
		while ((r = hv->ops->next_event(hv, &ev)) == 1)
			if (ev.type == type && strcmp(ev.uuid, uuid) == 0)
				return 1;
		assert_int_equal(r, 0);
		sleep_ms(200);
	}
	return 0;
}

/* A real guest's life on a real dom0: start from libxl JSON, the refusals
** that reach Xen (EEXIST, ENOMEM), a clean shutdown seen as a domain state
** and an event, destroy, and the watchdog's arm / re-time / pet / release.
** Only with a guest kernel and ramdisk named in the environment. */
static void
test_dom0_lifecycle(void **state)
{
	struct hv *hv = *state;
	const char *kernel = getenv("HASVC_XEN_GUEST_KERNEL");
	const char *ramdisk = getenv("HASVC_XEN_GUEST_RAMDISK");
	struct hv_host_info before, during;
	struct hv_vm_spec spec, big;
	struct hv_domain d;
	char cfg[1024];
	int i, st;

	if (kernel == NULL || ramdisk == NULL)
		skip();
	snprintf(cfg, sizeof(cfg),
	         "{\"c_info\":{\"type\":\"pv\",\"name\":\"from-json\"},"
	         "\"b_info\":{\"max_memkb\":262144,\"kernel\":\"%s\",\"ramdisk\":\"%s\","
	         "\"cmdline\":\"console=hvc0 quiet rdinit=/guestinit\",\"type.pv\":{}}}",
	         kernel, ramdisk);
	memset(&spec, 0, sizeof(spec));
	strcpy(spec.uuid, VM_L);
	strcpy(spec.name, "hasvc-unit-lifecycle");
	spec.memory = 128 * MIB; /* the pool's value wins over the config's 256 MiB */
	spec.vcpus = 1;
	spec.config = cfg;
	assert_int_equal(await_event(hv, HV_EV_DOMAIN_STARTED, VM_L, 0), 0); /* drain */
	assert_int_equal(hv->ops->host_info(hv, &before), 0);

	assert_int_equal(hv->ops->start(hv, &spec), 0);
	st = dom_state(hv, VM_L, &d);
	assert_int_equal(st, HV_DOM_RUNNING);
	assert_true(d.memory >= 127 * MIB && d.memory <= 129 * MIB);
	assert_int_equal(d.vcpus, 1);
	assert_true(await_event(hv, HV_EV_DOMAIN_STARTED, VM_L, 5));
	assert_int_equal(hv->ops->host_info(hv, &during), 0);
	assert_true(during.memory_free + 128 * MIB <= before.memory_free);

	errno = 0;
	assert_int_equal(hv->ops->start(hv, &spec), -1);
	assert_int_equal(errno, EEXIST);
	big = spec;
	strcpy(big.uuid, VM_BIG);
	strcpy(big.name, "hasvc-unit-too-big");
	big.memory = during.memory_total;
	errno = 0;
	assert_int_equal(hv->ops->start(hv, &big), -1);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(dom_state(hv, VM_BIG, NULL), 0);
	print_message("refused as expected: %s\n", hv->last_error);

	/* A clean shutdown: the guest powers off (its /sbin/poweroff); the
	** domain stays listed as shut down until destroyed (no reaper here). */
	assert_int_equal(hv->ops->shutdown(hv, VM_L), 0);
	for (i = 0; i < 300 && (st = dom_state(hv, VM_L, NULL)) == HV_DOM_RUNNING; i++)
		sleep_ms(200);
	assert_int_equal(st, HV_DOM_SHUTDOWN);
	assert_true(await_event(hv, HV_EV_DOMAIN_DIED, VM_L, 5));
	assert_int_equal(hv->ops->destroy(hv, VM_L), 0);
	for (i = 0; i < 150 && dom_state(hv, VM_L, NULL) != 0; i++)
		sleep_ms(200);
	assert_int_equal(dom_state(hv, VM_L, NULL), 0);
	errno = 0;
	assert_int_equal(hv->ops->destroy(hv, VM_L), -1);
	assert_int_equal(errno, ENOENT);

	/* The watchdog: long timeouts, released at once. */
	assert_int_equal(hv->ops->wd_arm(hv, 30000), 0);
	assert_int_equal(hv->ops->wd_pet(hv), 0);
	assert_int_equal(hv->ops->wd_arm(hv, 20500), 0); /* re-timed: 20 s */
	assert_int_equal(hv->ops->wd_pet(hv), 0);
	assert_int_equal(hv->ops->wd_disarm(hv), 0);
	errno = 0;
	assert_int_equal(hv->ops->wd_pet(hv), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(hv->ops->wd_disarm(hv), 0);
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
	    cmocka_unit_test(test_dom0_lifecycle),
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
