/*
** corosync.conf rendering (golden text, links, two_node, every validation
** error), the token formula, and cc_write_file's unchanged/written/failure
** contract.  `corosync -t` is not run here: in the root network namespace no
** local address matches a ring0_addr and it exits 8; the lab (hasvc-lab)
** runs the rendered file for real.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "heartbeat/corosync_conf.h"
#include "lib/check.h"
#include "lib/xmalloc.h"

static const char golden3[] =
    "totem {\n"
    "    version: 2\n"
    "    cluster_name: pool-7a1f\n"
    "    transport: knet\n"
    "    crypto_cipher: aes256\n"
    "    crypto_hash: sha256\n"
    "    keyfile: /var/lib/hasvc/corosync/authkey\n"
    "    token: 1000\n"
    "    token_coefficient: 0\n"
    "}\n"
    "nodelist {\n"
    "    node {\n"
    "        name: host1\n"
    "        nodeid: 1\n"
    "        ring0_addr: 10.213.0.1\n"
    "    }\n"
    "    node {\n"
    "        name: host2\n"
    "        nodeid: 2\n"
    "        ring0_addr: 10.213.0.2\n"
    "    }\n"
    "    node {\n"
    "        name: host3\n"
    "        nodeid: 3\n"
    "        ring0_addr: 10.213.0.3\n"
    "    }\n"
    "}\n"
    "quorum {\n"
    "    provider: corosync_votequorum\n"
    "}\n"
    "logging {\n"
    "    to_stderr: no\n"
    "    to_syslog: no\n"
    "    to_logfile: yes\n"
    "    logfile: /var/log/hasvc/corosync.log\n"
    "    timestamp: hires\n"
    "}\n"
    "system {\n"
    "    state_dir: /var/lib/hasvc/corosync\n"
    "}\n";

static struct cc_node nodes[4];

static struct cc_params
params3(void)
{
	struct cc_params p = {
	    .cluster_name = "pool-7a1f",
	    .token_ms = 1000,
	    .keyfile = "/var/lib/hasvc/corosync/authkey",
	    .logfile = "/var/log/hasvc/corosync.log",
	    .state_dir = "/var/lib/hasvc/corosync",
	    .nodes = nodes,
	    .nnodes = 3,
	};
	/* Given out of order: the nodelist comes out sorted. */
	static const uint32_t ids[] = {3, 1, 2, 4};
	size_t i;

	memset(nodes, 0, sizeof(nodes));
	for (i = 0; i < 4; i++) {
		nodes[i].nodeid = ids[i];
		snprintf(nodes[i].name, sizeof(nodes[i].name), "host%u", ids[i]);
		nodes[i].naddrs = 1;
		snprintf(nodes[i].addrs[0], sizeof(nodes[i].addrs[0]), "10.213.0.%u", ids[i]);
		snprintf(nodes[i].addrs[1], sizeof(nodes[i].addrs[1]), "10.214.0.%u", ids[i]);
	}
	return p;
}

static void
test_golden_three_nodes(void **state)
{
	struct cc_params p = params3();
	char *s = cc_render(&p);

	assert_non_null(s);
	assert_string_equal(s, golden3);
	xfree(s);
}

static void
test_two_links(void **state)
{
	struct cc_params p = params3();
	char err[256];
	size_t i;
	char *s;

	for (i = 0; i < 3; i++)
		nodes[i].naddrs = 2;
	s = cc_render_err(&p, err, sizeof(err));
	assert_non_null(s);
	assert_non_null(strstr(s, "    token_coefficient: 0\n"
	                          "    interface {\n        linknumber: 0\n    }\n"
	                          "    interface {\n        linknumber: 1\n    }\n}\n"));
	assert_non_null(strstr(s, "        name: host2\n        nodeid: 2\n"
	                          "        ring0_addr: 10.213.0.2\n"
	                          "        ring1_addr: 10.214.0.2\n    }\n"));
	assert_null(strstr(s, "two_node"));
	xfree(s);

	/* One link: no interface section, no ring1_addr. */
	for (i = 0; i < 3; i++)
		nodes[i].naddrs = 1;
	s = cc_render_err(&p, err, sizeof(err));
	assert_non_null(s);
	assert_null(strstr(s, "interface"));
	assert_null(strstr(s, "ring1_addr"));
	xfree(s);
}

static void
test_two_node_and_optional_sections(void **state)
{
	struct cc_params p = params3();
	char err[256];
	char *s;

	p.nnodes = 2;
	p.logfile = NULL;
	p.state_dir = NULL;
	s = cc_render_err(&p, err, sizeof(err));
	assert_non_null(s);
	assert_non_null(strstr(s, "quorum {\n    provider: corosync_votequorum\n"
	                          "    two_node: 1\n}\n"));
	assert_non_null(strstr(s, "    to_logfile: no\n    timestamp: hires\n}\n"));
	assert_null(strstr(s, " logfile:"));
	assert_null(strstr(s, "system"));
	/* Nodes 3 and 1, sorted. */
	assert_true(strstr(s, "nodeid: 1\n") < strstr(s, "nodeid: 3\n"));
	xfree(s);

	p.nnodes = 4;
	s = cc_render_err(&p, err, sizeof(err));
	assert_non_null(s);
	assert_null(strstr(s, "two_node"));
	xfree(s);

	p.nnodes = 1;
	s = cc_render_err(&p, err, sizeof(err));
	assert_non_null(s);
	assert_null(strstr(s, "two_node"));
	xfree(s);
}

/* Render after `mutate`; expect NULL and `want` inside the reason. */
static void
expect_invalid(struct cc_params *p, const char *want)
{
	char err[256] = "";
	char *s = cc_render_err(p, err, sizeof(err));

	if (s != NULL)
		fail_msg("rendered although invalid (want \"%s\")", want);
	if (strstr(err, want) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", err, want);
}

static void
test_validation_errors(void **state)
{
	struct cc_params p;
	struct cc_node many[CC_MAX_NODES + 1];
	size_t i;

	p = params3();
	nodes[1].nodeid = 0;
	expect_invalid(&p, "nodeid 0");

	p = params3();
	nodes[2].nodeid = 3;
	expect_invalid(&p, "nodeid 3 is used twice");

	p = params3();
	nodes[0].name[0] = '\0';
	expect_invalid(&p, "node 3: the name is empty");

	p = params3();
	strcpy(nodes[0].name, "my host");
	expect_invalid(&p, "node 3: the name");

	p = params3();
	strcpy(nodes[2].name, "host1");
	expect_invalid(&p, "node name host1 is used twice");

	p = params3();
	nodes[1].addrs[0][0] = '\0';
	expect_invalid(&p, "node 1: address 0 is empty");

	{
		static const char *const bad[] = {"10.0.0.1 x", "10.0.0.1\n", "a{", "b}",
		                                  "\t10.0.0.1", "1.2.3.4#c"};

		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			p = params3();
			strcpy(nodes[1].addrs[0], bad[i]);
			expect_invalid(&p, "node 1: address 0");
		}
	}

	p = params3();
	p.nnodes = 0;
	expect_invalid(&p, "no nodes");

	p = params3();
	memset(many, 0, sizeof(many));
	for (i = 0; i < ARRAY_SIZE(many); i++) {
		many[i].nodeid = (uint32_t)i + 1;
		snprintf(many[i].name, sizeof(many[i].name), "h%zu", i + 1);
		many[i].naddrs = 1;
		snprintf(many[i].addrs[0], sizeof(many[i].addrs[0]), "10.1.%zu.1", i);
	}
	p.nodes = many;
	p.nnodes = CC_MAX_NODES + 1;
	expect_invalid(&p, "more than 64");
	p.nnodes = CC_MAX_NODES; /* the limit itself is fine */
	{
		char *s = cc_render(&p);

		assert_non_null(s);
		xfree(s);
	}

	p = params3();
	nodes[0].naddrs = 2;
	nodes[1].naddrs = 2;
	expect_invalid(&p, "knet links must match");

	p = params3();
	nodes[0].naddrs = 0;
	expect_invalid(&p, "0 addresses");
	nodes[0].naddrs = 3;
	expect_invalid(&p, "3 addresses");

	p = params3();
	p.cluster_name = NULL;
	expect_invalid(&p, "cluster name");
	p.cluster_name = "a b";
	expect_invalid(&p, "cluster name");

	p = params3();
	p.keyfile = NULL;
	expect_invalid(&p, "keyfile");
	p.keyfile = "/a/b\n}";
	expect_invalid(&p, "keyfile");

	p = params3();
	p.logfile = "/x{";
	expect_invalid(&p, "logfile");

	p = params3();
	p.state_dir = "";
	expect_invalid(&p, "state_dir");

	p = params3();
	p.token_ms = 0;
	expect_invalid(&p, "token");

	assert_null(cc_render_err(NULL, NULL, 0));
	p = params3();
	nodes[0].nodeid = 0;
	assert_null(cc_render(&p)); /* logs the reason */
}

static void
test_token_formula(void **state)
{
	assert_int_equal(cc_token_ms(30), 1000);
	assert_int_equal(cc_token_ms(60), 2000);
	assert_int_equal(cc_token_ms(45), 1500);
	assert_int_equal(cc_token_ms(0), 500);
	assert_int_equal(cc_token_ms(10), 500);
	assert_int_equal(cc_token_ms(15), 500);
	assert_int_equal(cc_token_ms(16), 533);
	assert_int_equal(cc_token_ms(300), 10000);
	assert_int_equal(cc_token_ms(301), 10000);
	assert_int_equal(cc_token_ms(UINT32_MAX), 10000);
}

static char tmpdir[64];

static int
setup_dir(void **state)
{
	strcpy(tmpdir, "/tmp/test_cc.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int
teardown_dir(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char p[256];

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(tmpdir);
	return 0;
}

static size_t
count_entries(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void
test_write_file(void **state)
{
	char path[128], err[256], buf[64];
	struct stat st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/corosync.conf", tmpdir);
	umask(022);
	assert_int_equal(cc_write_file(path, "alpha\n", 6, 0600, err, sizeof(err)), 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 6);
	/* Same bytes, same mode: unchanged, the inode is not replaced. */
	{
		ino_t ino = st.st_ino;

		assert_int_equal(cc_write_file(path, "alpha\n", 6, 0600, err, sizeof(err)), 0);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_ino, ino);
	}
	/* New bytes: written, mode kept 0600 despite the umask. */
	assert_int_equal(cc_write_file(path, "beta!\n", 6, 0600, err, sizeof(err)), 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "beta!\n", 6);
	/* A prefix of the current content is a change, and so is a mode. */
	assert_int_equal(cc_write_file(path, "beta", 4, 0600, err, sizeof(err)), 1);
	assert_int_equal(cc_write_file(path, "beta", 4, 0644, err, sizeof(err)), 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(cc_write_file(path, "beta", 4, 0644, err, sizeof(err)), 0);
	/* Empty content works. */
	assert_int_equal(cc_write_file(path, "", 0, 0644, err, sizeof(err)), 1);
	assert_int_equal(cc_write_file(path, "", 0, 0644, err, sizeof(err)), 0);
	/* No temporary file left behind. */
	assert_int_equal(count_entries(), 1);

	/* A missing directory: -1 with a sentence naming the path. */
	snprintf(path, sizeof(path), "%s/missing/corosync.conf", tmpdir);
	err[0] = '\0';
	assert_int_equal(cc_write_file(path, "x", 1, 0600, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file or directory"));
	assert_int_equal(count_entries(), 1);

	/* A relative path writes in the current directory. */
	{
		char cwd[256];

		assert_non_null(getcwd(cwd, sizeof(cwd)));
		assert_int_equal(chdir(tmpdir), 0);
		assert_int_equal(cc_write_file("rel", "r", 1, 0600, err, sizeof(err)), 1);
		assert_int_equal(chdir(cwd), 0);
		assert_int_equal(count_entries(), 2);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden_three_nodes),
	    cmocka_unit_test(test_two_links),
	    cmocka_unit_test(test_two_node_and_optional_sections),
	    cmocka_unit_test(test_validation_errors),
	    cmocka_unit_test(test_token_formula),
	    cmocka_unit_test_setup_teardown(test_write_file, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
