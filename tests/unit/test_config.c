/*
** hasvc/config.c: good files and their values, defaults, one failing case per
** rule with its message and line, all problems of a file reported at once,
** and the parser's refusal to fetch anything (external entities, DTDs).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/xmlIO.h>

#include "hasvc/config.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define UUID "7a1f0c2e-5b3d-4e8f-9a6b-0c1d2e3f4a5b"
/* Lines 1-4 of every "minimal plus" file; the extra text starts on line 5. */
#define HEAD                                                                                       \
	"<?xml version=\"1.0\"?>\n"                                                                \
	"<hasvcd version=\"1\">\n"                                                                 \
	"  <host-uuid>" UUID "</host-uuid>\n"                                                      \
	"  <management-address>192.0.2.10</management-address>\n"
#define TAIL "</hasvcd>\n"

static struct config cfg;
static struct config_errors errs;

static int
parse(const char *xml)
{
	config_errors_clear(&errs);
	return config_parse(xml, strlen(xml), "t.conf", &cfg, &errs);
}

static void
dump_errors(void)
{
	size_t i;

	for (i = 0; i < errs.n; i++)
		print_message("  %s\n", errs.v[i].text);
}

/* 1 if some error is at `line` and its message contains `needle`. */
static int
has_error(int line, const char *needle)
{
	size_t i;

	for (i = 0; i < errs.n; i++)
		if (errs.v[i].line == line && strstr(errs.v[i].msg, needle) != NULL)
			return 1;
	return 0;
}

static int
teardown(void **state)
{
	config_errors_clear(&errs);
	return 0;
}

/* <cluster>: absent = standalone; empty = every default; each path given;
** a relative path and an unknown child refused with their lines. */
static void
test_cluster_element(void **state)
{
	assert_int_equal(parse(HEAD TAIL), 0);
	assert_int_equal(cfg.cluster, 0);

	assert_int_equal(parse(HEAD "  <cluster/>\n" TAIL), 0);
	assert_int_equal(cfg.cluster, 1);
	assert_string_equal(cfg.corosync_conf, "/etc/corosync/corosync.conf");
	assert_string_equal(cfg.corosync_authkey, "/etc/corosync/authkey");
	assert_string_equal(cfg.corosync_log, "/var/log/corosync/corosync.log");
	assert_string_equal(cfg.corosync_state_dir, "/var/lib/corosync");

	assert_int_equal(parse(HEAD "  <cluster>\n"
				    "    <corosync-conf>/l/h1/corosync.conf</corosync-conf>\n"
				    "    <authkey>/l/h1/authkey</authkey>\n"
				    "    <corosync-log>/l/h1/corosync.log</corosync-log>\n"
				    "    <corosync-state-dir>/l/h1/state</corosync-state-dir>\n"
				    "  </cluster>\n" TAIL),
			 0);
	assert_int_equal(cfg.cluster, 1);
	assert_string_equal(cfg.corosync_conf, "/l/h1/corosync.conf");
	assert_string_equal(cfg.corosync_authkey, "/l/h1/authkey");
	assert_string_equal(cfg.corosync_log, "/l/h1/corosync.log");
	assert_string_equal(cfg.corosync_state_dir, "/l/h1/state");

	assert_int_equal(parse(HEAD "  <cluster>\n"
				    "    <authkey>authkey</authkey>\n"
				    "    <nodeid>3</nodeid>\n"
				    "  </cluster>\n" TAIL),
			 -1);
	if (!has_error(6, "not an absolute path") || !has_error(7, "unknown element <nodeid>"))
		dump_errors();
	assert_true(has_error(6, "<authkey> \"authkey\" is not an absolute path"));
	assert_true(has_error(7, "unknown element <nodeid>"));
}

static void
test_full_file(void **state)
{
	static const char xml[] =
	    "<?xml version=\"1.0\"?>\n"
	    "<!-- every element -->\n"
	    "<hasvcd version=\"1\">\n"
	    "  <host-uuid>  7A1F0C2E-5B3D-4E8F-9A6B-0C1D2E3F4A5B\n  </host-uuid>\n"
	    "  <management-address>192.0.2.10</management-address>\n"
	    "  <management-address>2001:db8::10</management-address>\n"
	    "  <data-dir>/srv/hasvc</data-dir>\n"
	    "  <statefile>/dev/disk/by-id/wwn-0x5000c500a1b2c3d4</statefile>\n"
	    "  <watchdog>\n"
	    "    <driver>linux</driver>\n"
	    "    <device>/dev/watchdog0</device>\n"
	    "    <timeout>2m</timeout>\n"
	    "  </watchdog>\n"
	    "  <hypervisor><backend>xen</backend></hypervisor>\n"
	    "  <api>\n"
	    "    <address>::</address> <port>8443</port>\n"
	    "    <certificate>/etc/hasvc/api.pem</certificate> <key>/etc/hasvc/api.key</key>\n"
	    "  </api>\n"
	    "  <log><level>debug</level><syslog>no</syslog></log>\n"
	    "</hasvcd>\n";

	if (parse(xml) != 0)
		dump_errors();
	assert_int_equal(parse(xml), 0);
	assert_int_equal(errs.n, 0);
	assert_string_equal(cfg.host_uuid, "7a1f0c2e-5b3d-4e8f-9a6b-0c1d2e3f4a5b");
	assert_int_equal(cfg.naddrs, 2);
	assert_string_equal(cfg.management_address[0], "192.0.2.10");
	assert_string_equal(cfg.management_address[1], "2001:db8::10");
	assert_string_equal(cfg.data_dir, "/srv/hasvc");
	assert_string_equal(cfg.statefile, "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4");
	assert_int_equal(cfg.watchdog_driver, CONFIG_WD_LINUX);
	assert_string_equal(cfg.watchdog_device, "/dev/watchdog0");
	assert_int_equal(cfg.watchdog_timeout_ms, 120000);
	assert_int_equal(cfg.hv_backend, CONFIG_HV_XEN);
	assert_string_equal(cfg.hv_socket, "");
	assert_string_equal(cfg.api_address, "::");
	assert_int_equal(cfg.api_port, 8443);
	assert_string_equal(cfg.api_certificate, "/etc/hasvc/api.pem");
	assert_string_equal(cfg.api_key, "/etc/hasvc/api.key");
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_int_equal(cfg.log_syslog, 0);
}

static void
test_sim_file(void **state)
{
	assert_int_equal(
	    parse(HEAD "  <data-dir>/tmp/h1/</data-dir>\n"
	               "  <watchdog><driver>sim</driver><timeout>1500ms</timeout>"
	               "<keeper-socket>/run/h1/wdkeeper.sock</keeper-socket></watchdog>\n"
	               "  <hypervisor><backend>sim</backend>"
	               "<socket>/run/h1/simhv.sock</socket></hypervisor>\n"
	               "  <log><syslog>1</syslog><level>warning</level></log>\n" TAIL),
	    0);
	assert_int_equal(cfg.watchdog_driver, CONFIG_WD_SIM);
	assert_int_equal(cfg.watchdog_timeout_ms, 1500);
	assert_int_equal(cfg.hv_backend, CONFIG_HV_SIM);
	assert_string_equal(cfg.hv_socket, "/run/h1/simhv.sock");
	assert_string_equal(cfg.watchdog_keeper_socket, "/run/h1/wdkeeper.sock");
	/* Defaults follow data-dir, without a doubled slash. */
	assert_string_equal(cfg.api_certificate, "/tmp/h1/xapi-ssl.pem");
	assert_string_equal(cfg.api_key, "/tmp/h1/xapi-ssl.key");
	assert_int_equal(cfg.log_level, LOG_WARNING);
	assert_int_equal(cfg.log_syslog, 1);
	assert_string_equal(config_watchdog_driver_name(cfg.watchdog_driver), "sim");
	assert_string_equal(config_hv_backend_name(cfg.hv_backend), "sim");
}

static void
test_notify_hooks(void **state)
{
	assert_int_equal(parse(HEAD "  <notify>\n    <hook>/usr/lib/hasvc/mail-alarm</hook>\n"
	                            "    <hook> /etc/hasvc/hooks/page </hook>\n"
	                            "    <hook-timeout>2500ms</hook-timeout>\n  </notify>\n" TAIL),
	                 0);
	assert_int_equal(errs.n, 0);
	assert_int_equal(cfg.nhooks, 2);
	assert_string_equal(cfg.notify_hook[0], "/usr/lib/hasvc/mail-alarm");
	assert_string_equal(cfg.notify_hook[1], "/etc/hasvc/hooks/page");
	assert_int_equal(cfg.notify_hook_timeout_ms, 2500);
	/* An empty <notify/> is allowed: no hooks. */
	assert_int_equal(parse(HEAD "  <notify/>\n" TAIL), 0);
	assert_int_equal(cfg.nhooks, 0);
}

static void
test_minimal_file_defaults(void **state)
{
	assert_int_equal(parse(HEAD TAIL), 0);
	assert_int_equal(errs.n, 0);
	assert_string_equal(cfg.host_uuid, UUID);
	assert_int_equal(cfg.naddrs, 1);
	assert_string_equal(cfg.management_address[0], "192.0.2.10");
	assert_string_equal(cfg.data_dir, "/var/lib/hasvc");
	assert_string_equal(cfg.statefile, "");
	assert_int_equal(cfg.watchdog_driver, CONFIG_WD_XEN);
	assert_string_equal(cfg.watchdog_device, "");
	assert_int_equal(cfg.watchdog_timeout_ms, 30000);
	assert_string_equal(cfg.watchdog_keeper_socket, "/run/hasvc/wdkeeper.sock");
	assert_int_equal(cfg.hv_backend, CONFIG_HV_XEN);
	assert_string_equal(cfg.api_address, "0.0.0.0");
	assert_int_equal(cfg.api_port, 443);
	assert_string_equal(cfg.api_certificate, "/var/lib/hasvc/xapi-ssl.pem");
	assert_string_equal(cfg.api_key, "/var/lib/hasvc/xapi-ssl.key");
	assert_int_equal(cfg.log_level, LOG_INFO);
	assert_int_equal(cfg.log_syslog, 1);
	assert_int_equal(cfg.nhooks, 0);
	assert_int_equal(cfg.notify_hook_timeout_ms, 5000);

	/* Only data-dir given: certificate and key follow it. */
	assert_int_equal(parse(HEAD "<data-dir>/srv/ha</data-dir>\n" TAIL), 0);
	assert_string_equal(cfg.api_certificate, "/srv/ha/xapi-ssl.pem");
	assert_string_equal(cfg.api_key, "/srv/ha/xapi-ssl.key");
}

static void
test_values_accepted(void **state)
{
	static const struct {
		const char *xml;
		uint32_t timeout_ms;
	} durations[] = {
	    {"<watchdog><timeout>45</timeout></watchdog>", 45000},
	    {"<watchdog><timeout>1s</timeout></watchdog>", 1000},
	    {"<watchdog><timeout>1000ms</timeout></watchdog>", 1000},
	    {"<watchdog><timeout>10m</timeout></watchdog>", 600000},
	    {"<watchdog><timeout>600000ms</timeout></watchdog>", 600000},
	};
	static const char *const bools[] = {"true", "yes", "1", "false", "no", "0"};
	char buf[512];
	size_t i;

	for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		snprintf(buf, sizeof(buf), HEAD "%s\n" TAIL, durations[i].xml);
		assert_int_equal(parse(buf), 0);
		assert_int_equal(cfg.watchdog_timeout_ms, durations[i].timeout_ms);
	}
	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		snprintf(buf, sizeof(buf), HEAD "<log><syslog>%s</syslog></log>\n" TAIL, bools[i]);
		assert_int_equal(parse(buf), 0);
		assert_int_equal(cfg.log_syslog, i < 3);
	}
	assert_int_equal(parse(HEAD "<api><port>1</port></api>" TAIL), 0);
	assert_int_equal(cfg.api_port, 1);
	assert_int_equal(parse(HEAD "<api><port>65535</port></api>" TAIL), 0);
	assert_int_equal(cfg.api_port, 65535);
	/* Comments and CDATA are fine inside values. */
	assert_int_equal(parse(HEAD "<data-dir><!-- x --><![CDATA[/srv/a]]></data-dir>" TAIL), 0);
	assert_string_equal(cfg.data_dir, "/srv/a");
	assert_int_equal(parse(HEAD "<api><address>fe80::1</address></api>" TAIL), 0);
	/* <metrics-auth>: basic (the default) or none */
	assert_int_equal(cfg.api_metrics_auth, 0);
	assert_int_equal(parse(HEAD "<api><metrics-auth>none</metrics-auth></api>" TAIL), 0);
	assert_int_equal(cfg.api_metrics_auth, 1);
	assert_int_equal(parse(HEAD "<api><metrics-auth> basic </metrics-auth></api>" TAIL), 0);
	assert_int_equal(cfg.api_metrics_auth, 0);
}

/* One broken file, one expected problem: message fragment and line. */
struct bad_case {
	const char *what;
	const char *xml;
	int line;
	const char *needle;
};

static const struct bad_case bad_cases[] = {
    {"unknown element", HEAD "  <colour>blue</colour>\n" TAIL, 5, "unknown element <colour>"},
    {"unknown nested element", HEAD "  <api>\n    <tls>on</tls>\n  </api>\n" TAIL, 6,
     "unknown element <tls> in <api>"},
    {"namespaced element", HEAD "  <x:data-dir xmlns:x=\"urn:x\">/a</x:data-dir>\n" TAIL, 5,
     "unknown element <data-dir>"},
    {"attribute on leaf", HEAD "  <data-dir mode=\"0700\">/a</data-dir>\n" TAIL, 5,
     "unexpected attribute \"mode\" on <data-dir>"},
    {"attribute on container", HEAD "  <api enabled=\"yes\"/>\n" TAIL, 5,
     "unexpected attribute \"enabled\" on <api>"},
    {"attribute on root",
     "<?xml version=\"1.0\"?>\n<hasvcd version=\"1\" colour=\"blue\">\n  <host-uuid>" UUID
     "</host-uuid>\n  <management-address>192.0.2.10</management-address>\n" TAIL,
     2, "unexpected attribute \"colour\" on <hasvcd>"},
    {"namespace declaration", HEAD "  <log xmlns=\"urn:x\"/>\n" TAIL, 5, "unknown element <log>"},
    {"prefixed namespace declaration", HEAD "  <api xmlns:x=\"urn:x\"/>\n" TAIL, 5,
     "unexpected namespace declaration on <api>"},
    {"repeated element", HEAD "  <data-dir>/a</data-dir>\n  <data-dir>/b</data-dir>\n" TAIL, 6,
     "<data-dir> may appear only once in <hasvcd> (first at line 5)"},
    {"repeated container", HEAD "  <api/>\n  <api/>\n" TAIL, 6, "<api> may appear only once"},
    {"repeated nested", HEAD "  <api><port>1</port>\n<port>2</port></api>\n" TAIL, 6,
     "<port> may appear only once in <api>"},
    {"third address",
     HEAD "  <management-address>::1</management-address>\n"
          "  <management-address>10.0.0.1</management-address>\n" TAIL,
     6, "<management-address> may appear at most 2 times"},
    {"same address twice", HEAD "  <management-address>192.0.2.10</management-address>\n" TAIL, 5,
     "<management-address> 192.0.2.10 is given twice (first at line 4)"},
    {"missing host-uuid",
     "<?xml version=\"1.0\"?>\n<hasvcd version=\"1\">\n"
     "  <management-address>192.0.2.10</management-address>\n" TAIL,
     2, "missing required element <host-uuid> in <hasvcd>"},
    {"missing management-address",
     "<?xml version=\"1.0\"?>\n<hasvcd version=\"1\">\n  <host-uuid>" UUID "</host-uuid>\n" TAIL, 2,
     "missing required element <management-address>"},
    {"empty value", HEAD "  <data-dir>  \n  </data-dir>\n" TAIL, 5, "<data-dir> is empty"},
    {"empty self-closed value", HEAD "  <api><port/></api>\n" TAIL, 5, "<port> is empty"},
    {"element in a value", HEAD "  <data-dir>\n<b>/a</b></data-dir>\n" TAIL, 6,
     "<data-dir> holds a value, not <b>"},
    {"text in a container", HEAD "  <api>\n    oops\n  </api>\n" TAIL, 6,
     "unexpected text in <api>"},
    {"processing instruction", HEAD "  <?pi x?>\n" TAIL, 5, "processing instruction"},
    {"bad uuid",
     "<?xml version=\"1.0\"?>\n<hasvcd version=\"1\">\n  <host-uuid>not-a-uuid</host-uuid>\n"
     "  <management-address>192.0.2.10</management-address>\n" TAIL,
     3, "<host-uuid> \"not-a-uuid\" is not a valid UUID"},
    {"bad management address", HEAD "  <management-address>host1</management-address>\n" TAIL, 5,
     "\"host1\" is not an IPv4 or IPv6 address literal"},
    {"bad api address", HEAD "  <api><address>192.0.2.300</address></api>\n" TAIL, 5,
     "<address> \"192.0.2.300\" is not an IPv4 or IPv6"},
    {"relative data-dir", HEAD "  <data-dir>var/lib/hasvc</data-dir>\n" TAIL, 5,
     "<data-dir> \"var/lib/hasvc\" is not an absolute path"},
    {"relative statefile", HEAD "  <statefile>sdb</statefile>\n" TAIL, 5,
     "<statefile> \"sdb\" is not an absolute path"},
    {"relative certificate", HEAD "  <api><certificate>a.pem</certificate></api>\n" TAIL, 5,
     "<certificate> \"a.pem\" is not an absolute path"},
    {"port not an integer", HEAD "  <api><port>https</port></api>\n" TAIL, 5,
     "<port> \"https\" is not an integer"},
    {"port with junk", HEAD "  <api><port>443x</port></api>\n" TAIL, 5, "is not an integer"},
    {"negative port", HEAD "  <api><port>-1</port></api>\n" TAIL, 5,
     "<port> -1 is out of range: a port is 1..65535"},
    {"port zero", HEAD "  <api><port>0</port></api>\n" TAIL, 5, "out of range"},
    {"port too big", HEAD "  <api><port>65536</port></api>\n" TAIL, 5, "out of range"},
    {"port overflow", HEAD "  <api><port>99999999999999999999999</port></api>\n" TAIL, 5,
     "out of range"},
    {"relative hook", HEAD "  <notify><hook>mail-alarm</hook></notify>\n" TAIL, 5,
     "<hook> \"mail-alarm\" is not an absolute path"},
    {"too many hooks",
     HEAD "  <notify><hook>/a</hook><hook>/b</hook><hook>/c</hook><hook>/d</hook>\n"
          "<hook>/e</hook></notify>\n" TAIL,
     6, "<hook> may appear at most 4 times in <notify>"},
    {"hook timeout too short", HEAD "  <notify><hook-timeout>5ms</hook-timeout></notify>\n" TAIL,
     5, "<hook-timeout> 5ms is out of range"},
    {"unknown in notify", HEAD "  <notify><trap>x</trap></notify>\n" TAIL, 5,
     "unknown element <trap> in <notify>"},
    {"duration syntax", HEAD "  <watchdog><timeout>30h</timeout></watchdog>\n" TAIL, 5,
     "<timeout> \"30h\" is not a duration (N, Nms, Ns or Nm)"},
    {"duration without number", HEAD "  <watchdog><timeout>s</timeout></watchdog>\n" TAIL, 5,
     "is not a duration"},
    {"duration too short", HEAD "  <watchdog><timeout>999ms</timeout></watchdog>\n" TAIL, 5,
     "<timeout> 999ms is out of range: it must be 1s..10m"},
    {"duration too long", HEAD "  <watchdog><timeout>601s</timeout></watchdog>\n" TAIL, 5,
     "out of range"},
    {"negative duration", HEAD "  <watchdog><timeout>-5s</timeout></watchdog>\n" TAIL, 5,
     "out of range"},
    {"relative keeper socket",
     HEAD "  <watchdog><keeper-socket>run/k.sock</keeper-socket></watchdog>\n" TAIL, 5,
     "<keeper-socket> \"run/k.sock\" is not an absolute path"},
    {"keeper socket too long for sun_path",
     HEAD "  <watchdog><keeper-socket>/run/"
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
          "</keeper-socket></watchdog>\n" TAIL,
     5, "<keeper-socket> is longer than 107 characters (a unix socket path)"},
    {"keeper socket twice",
     HEAD "  <watchdog><keeper-socket>/a</keeper-socket>\n"
          "  <keeper-socket>/b</keeper-socket></watchdog>\n" TAIL,
     6, "<keeper-socket> may appear only once in <watchdog>"},
    {"watchdog driver", HEAD "  <watchdog><driver>ipmi</driver></watchdog>\n" TAIL, 5,
     "<driver> \"ipmi\" is not one of xen, linux or sim"},
    {"enum is case-sensitive", HEAD "  <watchdog><driver>Xen</driver></watchdog>\n" TAIL, 5,
     "is not one of xen, linux or sim"},
    {"hypervisor backend", HEAD "  <hypervisor><backend>kvm</backend></hypervisor>\n" TAIL, 5,
     "<backend> \"kvm\" is not one of xen or sim"},
    {"bad metrics auth", HEAD "  <api><metrics-auth>digest</metrics-auth></api>\n" TAIL, 5,
     "<metrics-auth> \"digest\" is not one of basic or none"},
    {"repeated metrics auth",
     HEAD "  <api><metrics-auth>none</metrics-auth>\n<metrics-auth>basic</metrics-auth></api>\n" TAIL,
     6, "<metrics-auth> may appear only once in <api>"},
    {"log level", HEAD "  <log><level>loud</level></log>\n" TAIL, 5,
     "<level> \"loud\" is not one of debug, info, notice, warning or error"},
    {"boolean", HEAD "  <log><syslog>maybe</syslog></log>\n" TAIL, 5,
     "<syslog> \"maybe\" is not a boolean: use true, false, yes, no, 1 or 0"},
    {"sim watchdog without sim backend", HEAD "  <watchdog><driver>sim</driver></watchdog>\n" TAIL,
     5, "watchdog driver 'sim' needs hypervisor backend 'sim', not 'xen'"},
    {"linux watchdog without device",
     HEAD "  <watchdog>\n    <driver>linux</driver>\n  </watchdog>\n" TAIL, 5,
     "watchdog driver 'linux' requires <device>"},
    {"device with xen watchdog",
     HEAD "  <watchdog>\n    <device>/dev/watchdog0</device>\n  </watchdog>\n" TAIL, 6,
     "<device> is only allowed with watchdog driver 'linux', not 'xen'"},
    {"sim backend without socket", HEAD "  <hypervisor><backend>sim</backend></hypervisor>\n" TAIL,
     5, "hypervisor backend 'sim' requires <socket>"},
    {"socket with xen backend",
     HEAD "  <hypervisor>\n    <socket>/run/s</socket>\n  </hypervisor>\n" TAIL, 6,
     "<socket> is only allowed with hypervisor backend 'sim', not 'xen'"},
    {"wrong root", "<?xml version=\"1.0\"?>\n<xhad version=\"1\"/>\n", 2,
     "root element is <xhad>, expected <hasvcd>"},
    {"namespaced root", "<?xml version=\"1.0\"?>\n<h:hasvcd xmlns:h=\"urn:h\" version=\"1\"/>\n", 2,
     "root element <hasvcd> is in namespace \"urn:h\", expected <hasvcd> in none"},
    {"version missing",
     "<?xml version=\"1.0\"?>\n\n<hasvcd>\n  <host-uuid>" UUID "</host-uuid>\n"
     "  <management-address>192.0.2.10</management-address>\n" TAIL,
     3, "<hasvcd> has no version attribute"},
    {"version wrong", "<?xml version=\"1.0\"?>\n<hasvcd version=\"2\"><future/></hasvcd>\n", 2,
     "unsupported configuration version \"2\""},
    {"not well-formed", HEAD "  <data-dir>/a</data-dri>\n" TAIL, 5, "XML is not well-formed"},
    {"undeclared entity", HEAD "  <data-dir>&secret;</data-dir>\n" TAIL, 5,
     "XML is not well-formed"},
    {"garbage", "this is <not xml", 1, "XML is not well-formed"},
    {"no root", "<?xml version=\"1.0\"?>\n<!-- nothing -->\n", 3, "XML is not well-formed"},
    {"bad encoding", "<?xml version=\"1.0\" encoding=\"klingon\"?>\n<hasvcd version=\"1\"/>\n", 1,
     "XML is not well-formed"},
};

static void
test_each_rule(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		int rc = parse(c->xml);

		if (rc != -1 || !has_error(c->line, c->needle)) {
			print_error("case '%s': expected line %d \"%s\", got rc %d and:\n", c->what,
			            c->line, c->needle, rc);
			dump_errors();
			fail();
		}
		/* Exactly one problem, except where libxml2 says more than one thing. */
		if (strstr(c->needle, "well-formed") == NULL && errs.n != 1) {
			print_error("case '%s': %zu errors instead of 1:\n", c->what, errs.n);
			dump_errors();
			fail();
		}
		/* The full text is "FILE:LINE: sentence". */
		{
			char want[512];

			snprintf(want, sizeof(want), "t.conf:%d: ", errs.v[0].line);
			assert_int_equal(strncmp(errs.v[0].text, want, strlen(want)), 0);
		}
	}
}

/* The acceptance case: an unknown element, a missing host uuid and a negative
** port are all reported, each with its line, in line order. */
static void
test_all_problems_at_once(void **state)
{
	static const char xml[] = "<?xml version=\"1.0\"?>\n"
	                          "<hasvcd version=\"1\">\n"
	                          "  <colour>blue</colour>\n"
	                          "  <management-address>192.0.2.10</management-address>\n"
	                          "  <watchdog><driver>sim</driver></watchdog>\n"
	                          "  "
	                          "<hypervisor><backend>sim</backend><socket>/run/hasvc/"
	                          "simhv.sock</socket></hypervisor>\n"
	                          "  <api><port>-1</port></api>\n"
	                          "</hasvcd>\n";

	assert_int_equal(parse(xml), -1);
	dump_errors();
	assert_int_equal(errs.n, 3);
	assert_int_equal(errs.v[0].line, 2);
	assert_string_equal(errs.v[0].text,
	                    "t.conf:2: missing required element <host-uuid> in <hasvcd>");
	assert_int_equal(errs.v[1].line, 3);
	assert_string_equal(errs.v[1].text, "t.conf:3: unknown element <colour> in <hasvcd>");
	assert_int_equal(errs.v[2].line, 7);
	assert_string_equal(errs.v[2].text,
	                    "t.conf:7: <port> -1 is out of range: a port is 1..65535");
	assert_string_equal(errs.v[2].msg, "<port> -1 is out of range: a port is 1..65535");
}

static void
test_many_problems_capped(void **state)
{
	size_t i, len = 0, cap = 64 * 1024;
	char *xml = xmalloc(cap);

	len += (size_t)snprintf(xml + len, cap - len, HEAD);
	for (i = 0; i < 500; i++)
		len += (size_t)snprintf(xml + len, cap - len, "<x%zu/>\n", i);
	snprintf(xml + len, cap - len, TAIL);
	assert_int_equal(parse(xml), -1);
	assert_int_equal(errs.n, CONFIG_MAX_ERRORS);
	assert_true(has_error(5, "unknown element <x0>"));
	assert_true(has_error(0, "401 more problems not shown"));
	assert_int_equal(errs.v[errs.n - 1].line, 0);
	xfree(xml);
}

/* Line numbers past 65535 (libxml2 keeps 16 bits unless asked for more). */
static void
test_big_line_numbers(void **state)
{
	size_t i, len = 0, cap = 200 * 1024;
	char *xml = xmalloc(cap);

	len += (size_t)snprintf(xml + len, cap - len, HEAD);
	for (i = 0; i < 70000; i++)
		xml[len++] = '\n';
	snprintf(xml + len, cap - len, "<colour/>\n<api><port>0</port></api>\n" TAIL);
	assert_int_equal(parse(xml), -1);
	dump_errors();
	assert_true(has_error(70005, "unknown element <colour>"));
	assert_true(has_error(70006, "out of range"));
	xfree(xml);
}

/* -- nothing is fetched ---------------------------------------------------- */

static int fetches;

static xmlParserInputPtr
counting_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	fetches++;
	return NULL;
}

static int
counting_match(const char *uri)
{
	fetches++;
	return 0;
}

/* `tmpl` with its '@' replaced by `s`. */
static void
subst(char *out, size_t len, const char *tmpl, const char *s)
{
	const char *at = strchr(tmpl, '@');

	assert_non_null(at);
	snprintf(out, len, "%.*s%s%s", (int)(at - tmpl), tmpl, s, at + 1);
}

static void
test_external_entities_refused(void **state)
{
	char dir[] = "/tmp/test_config.XXXXXX", secret[256], xml[2048];
	xmlExternalEntityLoader saved;
	FILE *f;
	size_t i;
	static const char *const attacks[] = {
	    /* classic XXE through an internal subset */
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE hasvcd [<!ENTITY xxe SYSTEM \"file://@\">]>\n"
	    "<hasvcd version=\"1\"><host-uuid>&xxe;</host-uuid>"
	    "<management-address>192.0.2.10</management-address></hasvcd>\n",
	    /* external DTD */
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE hasvcd SYSTEM \"file://@\">\n"
	    "<hasvcd version=\"1\"/>\n",
	    /* parameter entity */
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE hasvcd [<!ENTITY % p SYSTEM \"file://@\"> %p;]>\n"
	    "<hasvcd version=\"1\"/>\n",
	    /* over the network */
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE hasvcd [<!ENTITY xxe SYSTEM \"http://192.0.2.1/@\">]>\n"
	    "<hasvcd version=\"1\"><data-dir>&xxe;</data-dir></hasvcd>\n",
	    /* billion laughs */
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE hasvcd [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;\">]>\n"
	    "<hasvcd version=\"1\"><data-dir>/&b;@</data-dir></hasvcd>\n",
	};

	assert_non_null(mkdtemp(dir));
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	f = fopen(secret, "w");
	assert_non_null(f);
	fputs(UUID, f);
	fclose(f);

	/* Count every attempt libxml2 makes to open anything. */
	saved = xmlGetExternalEntityLoader();
	xmlSetExternalEntityLoader(counting_loader);
	assert_true(xmlRegisterInputCallbacks(counting_match, NULL, NULL, NULL) >= 0);
	fetches = 0;
	for (i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
		subst(xml, sizeof(xml), attacks[i], secret);
		assert_int_equal(parse(xml), -1);
		assert_int_equal(errs.n, 1);
		assert_int_equal(errs.v[0].line, 2);
		assert_non_null(strstr(errs.v[0].msg, "<!DOCTYPE>) are not allowed"));
		assert_string_equal(cfg.host_uuid, "");
		assert_string_equal(cfg.data_dir, "/var/lib/hasvc");
	}
	assert_int_equal(fetches, 0);
	xmlPopInputCallbacks();
	xmlSetExternalEntityLoader(saved);
	unlink(secret);
	rmdir(dir);
}

/* libxml2 must not print anything itself: every problem is ours to report. */
static void
test_libxml2_silent(void **state)
{
	char path[] = "/tmp/test_config_err.XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	struct stat st;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	parse("<?xml version=\"1.0\" encoding=\"klingon\"?><a>");
	parse("<hasvcd version=\"1\"><a></b></hasvcd>");
	parse("<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY y \"z\">]><x>&y;</x>");
	parse("\xff\xfe<\x00h\x00");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	close(fd);
	unlink(path);
}

/* -- files ------------------------------------------------------------------ */

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
test_files(void **state)
{
	char dir[] = "/tmp/test_config.XXXXXX", path[256], want[512];
	static const char good[] = HEAD TAIL;
	char *big;

	assert_non_null(mkdtemp(dir));

	snprintf(path, sizeof(path), "%s/good.conf", dir);
	write_file(path, good, strlen(good));
	config_errors_clear(&errs);
	assert_int_equal(config_load(path, &cfg, &errs), 0);
	assert_string_equal(cfg.host_uuid, UUID);

	/* Not found. */
	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	config_errors_clear(&errs);
	assert_int_equal(config_load(path, &cfg, &errs), -1);
	assert_int_equal(errs.n, 1);
	assert_int_equal(errs.v[0].line, 0);
	assert_non_null(strstr(errs.v[0].msg, "No such file or directory"));
	snprintf(want, sizeof(want), "%s: cannot open the file: ", path);
	assert_int_equal(strncmp(errs.v[0].text, want, strlen(want)), 0);

	/* Empty. */
	snprintf(path, sizeof(path), "%s/empty.conf", dir);
	write_file(path, "", 0);
	config_errors_clear(&errs);
	assert_int_equal(config_load(path, &cfg, &errs), -1);
	assert_int_equal(errs.n, 1);
	assert_int_equal(errs.v[0].line, 0);
	assert_string_equal(errs.v[0].msg, "the file is empty");

	/* Not a regular file. */
	config_errors_clear(&errs);
	assert_int_equal(config_load(dir, &cfg, &errs), -1);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.v[0].msg, "not a regular file");

	/* Larger than 1 MiB, from a file and from memory; exactly 1 MiB is read. */
	big = xmalloc(CONFIG_MAX_FILE_SIZE + 1);
	memset(big, ' ', CONFIG_MAX_FILE_SIZE + 1);
	memcpy(big, good, strlen(good));
	snprintf(path, sizeof(path), "%s/big.conf", dir);
	write_file(path, big, CONFIG_MAX_FILE_SIZE + 1);
	config_errors_clear(&errs);
	assert_int_equal(config_load(path, &cfg, &errs), -1);
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.v[0].msg, "larger than 1048576 bytes"));
	config_errors_clear(&errs);
	assert_int_equal(config_parse(big, CONFIG_MAX_FILE_SIZE + 1, "m", &cfg, &errs), -1);
	assert_non_null(strstr(errs.v[0].msg, "larger than"));
	write_file(path, big, CONFIG_MAX_FILE_SIZE);
	config_errors_clear(&errs);
	assert_int_equal(config_load(path, &cfg, &errs), 0);
	unlink(path);
	xfree(big);

	snprintf(path, sizeof(path), "%s/good.conf", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/empty.conf", dir);
	unlink(path);
	rmdir(dir);
}

/* The commented example that ships must stay valid. */
static void
test_shipped_example(void **state)
{
	const char *top = getenv("HASVC_TOP");
	char path[4096];

	snprintf(path, sizeof(path), "%s/dist/hasvcd.conf", top != NULL ? top : ".");
	config_errors_clear(&errs);
	if (config_load(path, &cfg, &errs) != 0)
		dump_errors();
	assert_int_equal(errs.n, 0);
	assert_int_equal(cfg.watchdog_driver, CONFIG_WD_XEN);
	assert_int_equal(cfg.api_port, 443);
	assert_int_equal(cfg.api_metrics_auth, 0);
}

static void
test_defaults_function(void **state)
{
	struct config d;

	config_defaults(&d);
	assert_string_equal(d.data_dir, "/var/lib/hasvc");
	assert_int_equal(d.watchdog_timeout_ms, 30000);
	assert_string_equal(d.watchdog_keeper_socket, "/run/hasvc/wdkeeper.sock");
	assert_int_equal(d.api_port, 443);
	assert_int_equal(d.api_metrics_auth, 0);
	assert_int_equal(d.naddrs, 0);
	assert_string_equal(d.host_uuid, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_full_file, teardown),
	    cmocka_unit_test_teardown(test_cluster_element, teardown),
	    cmocka_unit_test_teardown(test_sim_file, teardown),
	    cmocka_unit_test_teardown(test_minimal_file_defaults, teardown),
	    cmocka_unit_test_teardown(test_notify_hooks, teardown),
	    cmocka_unit_test_teardown(test_values_accepted, teardown),
	    cmocka_unit_test_teardown(test_each_rule, teardown),
	    cmocka_unit_test_teardown(test_all_problems_at_once, teardown),
	    cmocka_unit_test_teardown(test_many_problems_capped, teardown),
	    cmocka_unit_test_teardown(test_big_line_numbers, teardown),
	    cmocka_unit_test_teardown(test_external_entities_refused, teardown),
	    cmocka_unit_test_teardown(test_libxml2_silent, teardown),
	    cmocka_unit_test_teardown(test_files, teardown),
	    cmocka_unit_test_teardown(test_shipped_example, teardown),
	    cmocka_unit_test(test_defaults_function),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
