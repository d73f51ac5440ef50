/*
** The /metrics formatter (hasvc/metrics.c): every output is checked against
** the Prometheus text format's rules (check_exposition: HELP and TYPE before
** a family's samples, one family per name, samples of a family together,
** valid names and labels, counters named _total, histograms cumulative with
** le="+Inf" equal to _count), and the figures land where docs/metrics.md
** says.  metrics_fill_timers() turns the engine's clocks into ages and
** margins.
*/
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hasvc/metrics.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define MAX_FAMILIES 128

struct fam {
	char name[128];
	char type[16];
	int help, samples;
	double last_le, last_bucket, inf, count;
	int has_inf, has_count;
};

static int
name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !(s[0] == '_' || s[0] == ':' || (s[0] >= 'a' && s[0] <= 'z') ||
	                (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (i = 1; i < n; i++)
		if (!(s[i] == '_' || s[i] == ':' || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

static int
ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* The family a sample name belongs to (histogram suffixes stripped when the
** base is a declared histogram). */
static struct fam *
family_of(struct fam *fams, int nf, const char *s, size_t n, const char **suffix)
{
	static const char *const sfx[] = {"_bucket", "_sum", "_count"};
	int i;
	size_t j;

	*suffix = "";
	for (i = 0; i < nf; i++)
		if (strlen(fams[i].name) == n && memcmp(fams[i].name, s, n) == 0)
			return &fams[i];
	for (j = 0; j < 3; j++) {
		size_t k = strlen(sfx[j]);

		if (!ends_with(s, n, sfx[j]))
			continue;
		for (i = 0; i < nf; i++)
			if (strcmp(fams[i].type, "histogram") == 0 && strlen(fams[i].name) == n - k &&
			    memcmp(fams[i].name, s, n - k) == 0) {
				*suffix = sfx[j];
				return &fams[i];
			}
	}
	return NULL;
}

/* Parse labels at *p ('{' ... '}'); le (if any) into *le.  0 or -1. */
static int
parse_labels(const char **p, char *le, size_t lelen)
{
	const char *s = *p;

	le[0] = '\0';
	if (*s != '{')
		return 0;
	s++;
	while (*s != '}') {
		const char *n0 = s;
		size_t vlen = 0;
		char v[256];

		while (*s != '=' && *s != '\0')
			s++;
		if (*s != '=' || !name_ok(n0, (size_t)(s - n0)) || s[1] != '"')
			return -1;
		s += 2;
		while (*s != '"') {
			if (*s == '\0' || *s == '\n')
				return -1;
			if (*s == '\\') {
				s++;
				if (*s != '\\' && *s != '"' && *s != 'n')
					return -1;
			}
			if (vlen + 1 < sizeof(v))
				v[vlen++] = *s;
			s++;
		}
		v[vlen] = '\0';
		if (s - n0 > 2 && strncmp(n0, "le=", 3) == 0)
			snprintf(le, lelen, "%s", v);
		s++;
		if (*s == ',')
			s++;
		else if (*s != '}')
			return -1;
	}
	*p = s + 1;
	return 0;
}

/* Fails the test on any breach of the format's rules. */
static void
check_exposition(const char *text)
{
	struct fam *fams = calloc(MAX_FAMILIES, sizeof(*fams));
	struct fam *cur = NULL;
	const char *line = text;
	int nf = 0, i;

	assert_non_null(fams);
	assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
	while (*line != '\0') {
		const char *eol = strchr(line, '\n');
		char buf[1024];

		assert_non_null(eol);
		assert_true((size_t)(eol - line) < sizeof(buf));
		memcpy(buf, line, (size_t)(eol - line));
		buf[eol - line] = '\0';
		line = eol + 1;
		if (strncmp(buf, "# HELP ", 7) == 0) {
			char *name = buf + 7, *sp = strchr(name, ' ');

			assert_non_null(sp);
			*sp = '\0';
			assert_true(name_ok(name, strlen(name)));
			for (i = 0; i < nf; i++)
				if (strcmp(fams[i].name, name) == 0)
					fail_msg("family %s declared twice", name);
			assert_true(nf < MAX_FAMILIES);
			cur = &fams[nf++];
			snprintf(cur->name, sizeof(cur->name), "%s", name);
			cur->help = 1;
			cur->last_le = -INFINITY;
			continue;
		}
		if (strncmp(buf, "# TYPE ", 7) == 0) {
			char *name = buf + 7, *sp = strchr(name, ' ');

			assert_non_null(sp);
			*sp = '\0';
			/* HELP then TYPE, for the same family, before its samples */
			assert_non_null(cur);
			assert_string_equal(cur->name, name);
			assert_int_equal(cur->samples, 0);
			assert_int_equal(cur->type[0], '\0');
			snprintf(cur->type, sizeof(cur->type), "%s", sp + 1);
			assert_true(strcmp(cur->type, "gauge") == 0 || strcmp(cur->type, "counter") == 0 ||
			            strcmp(cur->type, "histogram") == 0);
			if (strcmp(cur->type, "counter") == 0)
				assert_true(ends_with(name, strlen(name), "_total"));
			continue;
		}
		assert_true(buf[0] != '#' && buf[0] != '\0');
		{
			const char *p = buf, *suffix;
			size_t n = strcspn(buf, "{ ");
			char le[64], *end;
			struct fam *f;
			double v;

			assert_true(name_ok(buf, n));
			f = family_of(fams, nf, buf, n, &suffix);
			if (f == NULL)
				fail_msg("sample %.*s of no declared family", (int)n, buf);
			/* samples of one family together: it is the latest declared */
			assert_ptr_equal(f, cur);
			assert_true(f->type[0] != '\0');
			p += n;
			assert_int_equal(parse_labels(&p, le, sizeof(le)), 0);
			assert_int_equal(*p, ' ');
			v = strtod(p + 1, &end);
			assert_true(end != p + 1 && *end == '\0');
			f->samples++;
			if (strcmp(suffix, "_bucket") == 0) {
				double bound = strcmp(le, "+Inf") == 0 ? INFINITY : strtod(le, NULL);

				assert_true(le[0] != '\0');
				assert_true(bound > f->last_le);   /* bounds ascending */
				assert_true(v >= f->last_bucket);  /* cumulative */
				f->last_le = bound;
				f->last_bucket = v;
				if (isinf(bound)) {
					f->inf = v;
					f->has_inf = 1;
				}
			} else if (strcmp(suffix, "_count") == 0) {
				f->count = v;
				f->has_count = 1;
			}
		}
	}
	for (i = 0; i < nf; i++) {
		assert_true(fams[i].samples > 0);
		if (strcmp(fams[i].type, "histogram") == 0) {
			assert_true(fams[i].has_inf && fams[i].has_count);
			assert_true(fams[i].inf == fams[i].count);
		}
	}
	free(fams);
}

/* The value of the sample line that starts with `prefix` + ' '; fails if
** absent. */
static double
value_of(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *p = text;

	for (;;) {
		p = strstr(p, prefix);
		if (p == NULL)
			fail_msg("no sample %s", prefix);
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
}

static int
has_family(const char *text, const char *name)
{
	char decl[160];

	snprintf(decl, sizeof(decl), "# TYPE %s ", name);
	return strstr(text, decl) != NULL;
}

static const char U_SELF[] = "00000000-0000-0000-0000-000000000001";

static void
base_figures(struct metrics_figures *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->host_uuid, sizeof(f->host_uuid), "%s", U_SELF);
}

/* HA off, nothing counted: the format is still whole and valid. */
static void
test_empty(void **state)
{
	struct metrics_figures f;
	size_t len;
	char *t;

	base_figures(&f);
	t = metrics_format(&f, &len);
	assert_int_equal(strlen(t), len);
	check_exposition(t);
	assert_true(value_of(t, "hasvc_ha_running") == 0);
	assert_false(has_family(t, "hasvc_liveness_state"));
	assert_false(has_family(t, "hasvc_peer_heartbeat_age_seconds"));
	assert_false(has_family(t, "hasvc_cluster_members"));
	assert_true(value_of(t, "hasvc_statefile_read_duration_seconds_bucket{le=\"+Inf\"}") == 0);
	assert_non_null(strstr(t, "hasvc_info{host_uuid=\"00000000-0000-0000-0000-000000000001\"} 1\n"));
	xfree(t);
}

static void
full_figures(struct metrics_figures *f)
{
	struct lv_timers t;
	static const char uuid[3][HA_UUID_LEN] = {
	    "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002",
	    "00000000-0000-0000-0000-000000000003"};

	base_figures(f);
	f->ha_running = 1;
	f->state = lv_state_name(LV_ROUND);
	f->liveset_size = 2;
	f->is_master = 1;
	snprintf(f->master_uuid, sizeof(f->master_uuid), "%s", U_SELF);
	f->fresh = 1;
	f->statefile = 1;
	f->access = 1;
	f->rounds = 4;
	f->survived = 3;
	f->alerts_sent = 2;
	memset(&t, 0, sizeof(t));
	t.n = 3;
	t.self = 0;
	t.state = LV_ROUND;
	t.timing.stale_ms = 5000;
	t.timing.decide_ms = 12000;
	t.timing.fresh_ms = 3000;
	t.timing.gap_ms = 4000;
	t.timing.wd_ms = 8000;
	t.last_from[1] = 99500;  /* 0.5 s ago */
	t.last_seen[1] = 99000;  /* 1 s ago */
	t.last_from[2] = 90000;  /* 10 s ago */
	t.last_seen[2] = 93000;  /* 7 s ago: stale for 2 s */
	t.fresh_until = 101500;
	t.decide_at = 104000;
	t.last_write_ok = 99800;
	t.last_read_ok = 99900;
	t.streak = 1;
	t.lease = 106000;
	metrics_fill_timers(f, &t, uuid, 0x3, 100000);
	sfio_hist_add(&f->sf_read, 80);
	sfio_hist_add(&f->sf_read, 3000);
	sfio_hist_add(&f->sf_read, 40000000);
	sfio_hist_add(&f->sf_write, 300);
	f->fence_records_pool = 2;
	f->fence_records_host = 1;
	f->fence_records_local = 1;
	f->msg_host_failed = 1;
	f->pool_ha_enabled = 1;
	f->plan_exists_for = 1;
	f->failures_to_tolerate = 1;
	f->vms = 5;
	f->vms_running = 3;
	f->vms_protected = 2;
	f->vms_protected_running = 1;
	f->clustered = 1;
	f->db_master = 1;
	f->quorate = 1;
	f->cluster_members = 2;
	f->api_connections = 3;
	f->api_sessions = 1;
}

static void
test_full(void **state)
{
	struct metrics_figures f;
	char *t, *t2;
	size_t len, len2;

	full_figures(&f);
	t = metrics_format(&f, &len);
	check_exposition(t);
	assert_true(value_of(t, "hasvc_liveness_state{state=\"round\"}") == 1);
	assert_true(value_of(t, "hasvc_liveness_state{state=\"steady\"}") == 0);
	assert_true(value_of(t, "hasvc_liveset_size") == 2);
	assert_true(value_of(t, "hasvc_ha_master") == 1);
	assert_true(value_of(t, "hasvc_ha_master_info{master_uuid=\"00000000-0000-0000-0000-000000000001\"}") == 1);
	/* per peer: self is not a peer */
	assert_null(strstr(t, "peer=\"00000000-0000-0000-0000-000000000001\""));
	assert_true(value_of(t, "hasvc_peer_live{peer=\"00000000-0000-0000-0000-000000000002\"}") == 1);
	assert_true(value_of(t, "hasvc_peer_live{peer=\"00000000-0000-0000-0000-000000000003\"}") == 0);
	assert_true(value_of(t, "hasvc_peer_heartbeat_age_seconds{peer=\"00000000-0000-0000-0000-"
	                        "000000000002\",path=\"network\"}") == 0.5);
	assert_true(value_of(t, "hasvc_peer_heartbeat_age_seconds{peer=\"00000000-0000-0000-0000-"
	                        "000000000002\",path=\"statefile\"}") == 1);
	assert_true(value_of(t, "hasvc_peer_heartbeat_age_seconds{peer=\"00000000-0000-0000-0000-"
	                        "000000000003\",path=\"network\"}") == 10);
	assert_true(value_of(t, "hasvc_peer_statefile_stale_margin_seconds{peer=\"00000000-0000-"
	                        "0000-0000-000000000003\"}") == -2);
	assert_true(value_of(t, "hasvc_timeout_seconds{timeout=\"decide\"}") == 12);
	assert_true(value_of(t, "hasvc_ring_fresh_margin_seconds") == 1.5);
	assert_true(value_of(t, "hasvc_round_decide_margin_seconds") == 4);
	assert_true(value_of(t, "hasvc_statefile_access_margin_seconds") == 3.8);
	assert_true(value_of(t, "hasvc_watchdog_lease_margin_seconds") == 6);
	/* histograms: cumulative, in seconds */
	assert_true(value_of(t, "hasvc_statefile_read_duration_seconds_bucket{le=\"0.0001\"}") == 1);
	assert_true(value_of(t, "hasvc_statefile_read_duration_seconds_bucket{le=\"0.005\"}") == 2);
	assert_true(value_of(t, "hasvc_statefile_read_duration_seconds_bucket{le=\"30\"}") == 2);
	assert_true(value_of(t, "hasvc_statefile_read_duration_seconds_bucket{le=\"+Inf\"}") == 3);
	assert_true(value_of(t, "hasvc_statefile_read_duration_seconds_count") == 3);
	assert_true(fabs(value_of(t, "hasvc_statefile_read_duration_seconds_sum") - 40.00308) < 1e-9);
	assert_true(value_of(t, "hasvc_statefile_write_duration_seconds_bucket{le=\"0.0005\"}") == 1);
	assert_true(value_of(t, "hasvc_pool_messages{name=\"HA_HOST_FAILED\"}") == 1);
	assert_true(value_of(t, "hasvc_pool_fence_records") == 2);
	assert_true(value_of(t, "hasvc_vms_protected_running") == 1);
	assert_true(value_of(t, "hasvc_cluster_members") == 2);
	assert_true(value_of(t, "hasvc_liveness_rounds_total") == 4);
	/* pure: the same figures, the same bytes */
	t2 = metrics_format(&f, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(t, t2, len);
	xfree(t);
	xfree(t2);
}

/* Not in a round, no storage streak, no lease, quorum-only: those families
** go away and the rest stays valid. */
static void
test_steady_quorum_only(void **state)
{
	struct metrics_figures f;
	struct lv_timers t;
	static const char uuid[2][HA_UUID_LEN] = {"00000000-0000-0000-0000-000000000001",
	                                          "00000000-0000-0000-0000-000000000002"};
	char *s;

	base_figures(&f);
	f.ha_running = 1;
	f.state = lv_state_name(LV_STEADY);
	memset(&t, 0, sizeof(t));
	t.n = 2;
	t.self = 1;
	t.state = LV_STEADY;
	t.decide_at = 0;
	t.last_from[0] = 5000 + 1500; /* after a maintenance window: ahead of now */
	t.fresh_until = 4000;
	metrics_fill_timers(&f, &t, uuid, 0x3, 5000);
	assert_int_equal(f.npeers, 1);
	assert_string_equal(f.peer[0].uuid, uuid[0]);
	assert_true(f.peer[0].net_age_s == 0); /* clamped */
	assert_false(f.in_round);
	s = metrics_format(&f, NULL);
	check_exposition(s);
	assert_false(has_family(s, "hasvc_round_decide_margin_seconds"));
	assert_false(has_family(s, "hasvc_statefile_access_margin_seconds"));
	assert_false(has_family(s, "hasvc_watchdog_lease_margin_seconds"));
	assert_false(has_family(s, "hasvc_peer_statefile_stale_margin_seconds"));
	assert_null(strstr(s, "path=\"statefile\""));
	assert_true(value_of(s, "hasvc_ring_fresh_margin_seconds") == -1);
	xfree(s);
}

/* Label values are escaped; the checker accepts only valid escapes. */
static void
test_escaping(void **state)
{
	struct metrics_figures f;
	char *s;

	base_figures(&f);
	f.ha_running = 1;
	f.state = "steady";
	snprintf(f.master_uuid, sizeof(f.master_uuid), "a\"b\\c\nd");
	s = metrics_format(&f, NULL);
	check_exposition(s);
	assert_non_null(strstr(s, "hasvc_ha_master_info{master_uuid=\"a\\\"b\\\\c\\nd\"} 1\n"));
	xfree(s);
}

/* The checker itself refuses what the format forbids. */
static void
test_checker_sanity(void **state)
{
	/* a valid text passes */
	check_exposition("# HELP a_total x\n# TYPE a_total counter\na_total 1\n"
	                 "# HELP h y\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\n"
	                 "h_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_steady_quorum_only), cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_checker_sanity),
	};

	log_init("test_metrics", LOG_NO_BLACKBOX, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
