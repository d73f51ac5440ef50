/*
** Alerts as SNMP notifications over net-snmp's single-session API.  See
** snmp_trap.h; the OIDs here must follow docs/HASVC-MIB.txt (tests/host/
** snmp.sh decodes what we send with that MIB loaded).
**
** A session is opened per notification and closed after it: notifications
** are rare (alerts), and a fresh session never carries state from another
** receiver's engine.
*/
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "hasvc/snmp_trap.h"
#include "lib/check.h"
#include "lib/log.h"

/* hasvcMIB ::= { enterprises 32473 1 } */
#define HASVC_MIB 1, 3, 6, 1, 4, 1, SNMP_TRAP_ENTERPRISE, 1

static const oid sys_uptime_oid[] = {1, 3, 6, 1, 2, 1, 1, 3, 0};
static const oid trap_oid_oid[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};

/* hasvcAlertObjects (hasvcMIB 1), sub-identifiers of the varbinds. */
enum {
	V_UUID = 1,
	V_HOST_UUID,
	V_HOST_NAME,
	V_CLASS,
	V_OBJ_UUID,
	V_NAME,
	V_PRIORITY,
	V_BODY,
	V_TIME,
};

/* hasvcNotifications (hasvcMIB 0): one per alert hasvc raises (xapi's
** names, reference/xapi.md §3.7), the generic one and the test. */
static const struct {
	const char *alert;
	const char *descr;
	unsigned subid;
} notifications[] = {
    {"HA_HOST_FAILED", "hasvcHaHostFailed", 1},
    {"HA_HOST_WAS_FENCED", "hasvcHaHostWasFenced", 2},
    {"HA_STATEFILE_LOST", "hasvcHaStatefileLost", 3},
    {"HA_HEARTBEAT_APPROACHING_TIMEOUT", "hasvcHaHeartbeatApproachingTimeout", 4},
    {"HA_STATEFILE_APPROACHING_TIMEOUT", "hasvcHaStatefileApproachingTimeout", 5},
    {"HA_POOL_OVERCOMMITTED", "hasvcHaPoolOvercommitted", 6},
    {"HA_POOL_DROP_IN_PLAN_EXISTS_FOR", "hasvcHaPoolDropInPlanExistsFor", 7},
    {"HA_PROTECTED_VM_RESTART_FAILED", "hasvcHaProtectedVmRestartFailed", 8},
    {"HA_NETWORK_BONDING_ERROR", "hasvcHaNetworkBondingError", 9},
    {"HA_XAPI_HEALTHCHECK_APPROACHING_TIMEOUT", "hasvcHaXapiHealthcheckApproachingTimeout", 10},
    {"ALL_RUNNING_VMS_IN_ANTI_AFFINITY_GRP_ON_SINGLE_HOST", "hasvcAntiAffinityGroupOnSingleHost",
     11},
};
#define SUBID_TEST    99
#define SUBID_GENERIC 100

const char *
snmp_trap_notification(const char *name, int test, unsigned *subid)
{
	size_t i;

	if (test) {
		*subid = SUBID_TEST;
		return "hasvcTestNotification";
	}
	for (i = 0; i < ARRAY_SIZE(notifications); i++)
		if (strcmp(notifications[i].alert, name) == 0) {
			*subid = notifications[i].subid;
			return notifications[i].descr;
		}
	*subid = SUBID_GENERIC;
	return "hasvcAlert";
}

int
snmp_trap_engine_id(const char *pool_uuid, uint8_t id[SNMP_TRAP_ENGINE_ID_LEN], char *hex,
                    size_t hexlen)
{
	size_t i, k = 0;
	int hi = -1;

	if (!id_uuid_valid(pool_uuid))
		return -1;
	/* RFC 3411 SnmpEngineID: enterprise number with the top bit set,
	** format 5 (administratively assigned octets). */
	id[0] = 0x80 | (uint8_t)((SNMP_TRAP_ENTERPRISE >> 24) & 0x7f);
	id[1] = (uint8_t)(SNMP_TRAP_ENTERPRISE >> 16);
	id[2] = (uint8_t)(SNMP_TRAP_ENTERPRISE >> 8);
	id[3] = (uint8_t)SNMP_TRAP_ENTERPRISE;
	id[4] = 5;
	for (i = 0; pool_uuid[i] != '\0'; i++) {
		char c = pool_uuid[i];
		int v;

		if (c == '-')
			continue;
		v = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
		if (hi < 0) {
			hi = v;
		} else {
			ha_assert(k < 16);
			id[5 + k++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	ha_assert(k == 16);
	if (hex != NULL && hexlen >= 2 * SNMP_TRAP_ENGINE_ID_LEN + 3) {
		snprintf(hex, hexlen, "0x");
		for (i = 0; i < SNMP_TRAP_ENGINE_ID_LEN; i++)
			snprintf(hex + 2 + 2 * i, hexlen - 2 - 2 * i, "%02X", id[i]);
	}
	return 0;
}

void
snmp_trap_init(const char *state_dir)
{
	if (state_dir != NULL)
		netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_PERSISTENT_DIR,
		                      state_dir);
	/* A sender only: no snmp.conf, no persistent files, no MIB parsing
	** (the OIDs are numeric), and net-snmp's own log lines to ours. */
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_WARNINGS, 0);
	netsnmp_set_mib_directory("/nonexistent");
	setenv("MIBS", "", 0);
	snmp_disable_log();
	init_snmp("hasvcd");
}

void
snmp_trap_shutdown(void)
{
	snmp_shutdown("hasvcd");
}

/* Append varbind hasvcMIB.1.<sub>.0 of `type`. */
static void
add_object(netsnmp_pdu *pdu, unsigned sub, u_char type, const void *val, size_t len)
{
	oid o[] = {HASVC_MIB, 1, sub, 0};

	snmp_pdu_add_variable(pdu, o, ARRAY_SIZE(o), type, val, len);
}

static void
add_string(netsnmp_pdu *pdu, unsigned sub, const char *s, size_t max)
{
	add_object(pdu, sub, ASN_OCTET_STR, s, strnlen(s, max));
}

/* SNMPv2-TC DateAndTime, 11 octets, UTC. */
static void
add_time(netsnmp_pdu *pdu, int64_t when)
{
	time_t t = (time_t)when;
	struct tm tm;
	u_char b[11];

	memset(b, 0, sizeof(b));
	if (gmtime_r(&t, &tm) != NULL) {
		b[0] = (u_char)((tm.tm_year + 1900) >> 8);
		b[1] = (u_char)(tm.tm_year + 1900);
		b[2] = (u_char)(tm.tm_mon + 1);
		b[3] = (u_char)tm.tm_mday;
		b[4] = (u_char)tm.tm_hour;
		b[5] = (u_char)tm.tm_min;
		b[6] = (u_char)(tm.tm_sec > 59 ? 59 : tm.tm_sec);
	}
	b[8] = '+';
	add_object(pdu, V_TIME, ASN_OCTET_STR, b, sizeof(b));
}

static netsnmp_pdu *
build_pdu(const struct snmp_trap_target *t, const struct snmp_trap_alert *a)
{
	netsnmp_pdu *pdu = snmp_pdu_create(t->inform ? SNMP_MSG_INFORM : SNMP_MSG_TRAP2);
	unsigned subid;
	oid trap[] = {HASVC_MIB, 0, 0};
	long prio = (long)a->priority;
	u_long uptime = (u_long)get_uptime();

	snmp_trap_notification(a->name, a->test, &subid);
	trap[ARRAY_SIZE(trap) - 1] = subid;
	snmp_pdu_add_variable(pdu, sys_uptime_oid, ARRAY_SIZE(sys_uptime_oid), ASN_TIMETICKS,
	                      &uptime, sizeof(uptime));
	snmp_pdu_add_variable(pdu, trap_oid_oid, ARRAY_SIZE(trap_oid_oid), ASN_OBJECT_ID, trap,
	                      sizeof(trap));
	add_string(pdu, V_UUID, a->uuid, sizeof(a->uuid));
	add_string(pdu, V_HOST_UUID, a->host_uuid, sizeof(a->host_uuid));
	add_string(pdu, V_HOST_NAME, a->host_name, sizeof(a->host_name));
	add_string(pdu, V_CLASS, a->cls, sizeof(a->cls));
	add_string(pdu, V_OBJ_UUID, a->obj_uuid, sizeof(a->obj_uuid));
	add_string(pdu, V_NAME, a->name, sizeof(a->name));
	add_object(pdu, V_PRIORITY, ASN_INTEGER, &prio, sizeof(prio));
	add_string(pdu, V_BODY, a->body, sizeof(a->body));
	add_time(pdu, a->timestamp);
	return pdu;
}

/* Fill the v3 part of `s` (authPriv, SHA + AES); -1 with err. */
static int
session_v3(netsnmp_session *s, const struct snmp_trap_target *t, char *err, size_t errlen)
{
	s->version = SNMP_VERSION_3;
	s->securityName = (char *)(uintptr_t)t->user;
	s->securityNameLen = strlen(t->user);
	s->securityLevel = SNMP_SEC_LEVEL_AUTHPRIV;
	s->securityAuthProto = usmHMACSHA1AuthProtocol;
	s->securityAuthProtoLen = ARRAY_SIZE(usmHMACSHA1AuthProtocol);
	s->securityAuthKeyLen = USM_AUTH_KU_LEN;
	if (generate_Ku(s->securityAuthProto, (u_int)s->securityAuthProtoLen,
	                (const u_char *)t->auth_key, strlen(t->auth_key), s->securityAuthKey,
	                &s->securityAuthKeyLen) != SNMPERR_SUCCESS) {
		snprintf(err, errlen, "cannot derive the SNMPv3 authentication key");
		return -1;
	}
	s->securityPrivProto = usmAESPrivProtocol;
	s->securityPrivProtoLen = ARRAY_SIZE(usmAESPrivProtocol);
	s->securityPrivKeyLen = USM_PRIV_KU_LEN;
	if (generate_Ku(s->securityAuthProto, (u_int)s->securityAuthProtoLen,
	                (const u_char *)t->priv_key, strlen(t->priv_key), s->securityPrivKey,
	                &s->securityPrivKeyLen) != SNMPERR_SUCCESS) {
		snprintf(err, errlen, "cannot derive the SNMPv3 privacy key");
		return -1;
	}
	/* A trap is sent by its authoritative engine, us (our engine ID, which
	** the receiver's createUser -e names); an inform's authoritative engine
	** is the receiver's, which net-snmp discovers. */
	if (!t->inform) {
		s->securityEngineID = (u_char *)(uintptr_t)t->engine_id;
		s->securityEngineIDLen = SNMP_TRAP_ENGINE_ID_LEN;
		s->contextEngineID = (u_char *)(uintptr_t)t->engine_id;
		s->contextEngineIDLen = SNMP_TRAP_ENGINE_ID_LEN;
	}
	return 0;
}

int
snmp_trap_send(const struct snmp_trap_target *t, const struct snmp_trap_alert *a, char *err,
               size_t errlen)
{
	netsnmp_session s;
	netsnmp_pdu *pdu, *resp = NULL;
	char peer[128];
	void *h;
	int rc = -1, st;

	err[0] = '\0';
	snmp_sess_init(&s);
	/* "udp6:[addr]:port" for an IPv6 literal, "udp:addr:port" else. */
	snprintf(peer, sizeof(peer), strchr(t->address, ':') != NULL ? "udp6:[%s]:%u" : "udp:%s:%u",
	         t->address, t->port);
	s.peername = peer;
	s.timeout = (long)(t->timeout_ms != 0 ? t->timeout_ms : 1000) * 1000L;
	s.retries = t->retries < 0 ? 3 : t->retries;
	if (t->v3) {
		if (session_v3(&s, t, err, errlen) < 0)
			return -1;
	} else {
		s.version = SNMP_VERSION_2c;
		s.community = (u_char *)(uintptr_t)t->community;
		s.community_len = strlen(t->community);
	}
	h = snmp_sess_open(&s);
	if (h == NULL) {
		char *msg = NULL;
		int liberr, syserr;

		snmp_error(&s, &liberr, &syserr, &msg);
		snprintf(err, errlen, "cannot open a session to %s: %s", peer,
		         msg != NULL ? msg : "unknown error");
		free(msg);
		return -1;
	}
	pdu = build_pdu(t, a);
	if (t->inform) {
		st = snmp_sess_synch_response(h, pdu, &resp);
		if (st == STAT_SUCCESS && resp != NULL && resp->errstat == SNMP_ERR_NOERROR)
			rc = 0;
		else if (st == STAT_TIMEOUT)
			snprintf(err, errlen, "inform to %s: no acknowledgement after %d attempts",
			         peer, s.retries + 1);
		else
			snprintf(err, errlen, "inform to %s failed (%s)", peer,
			         resp != NULL
			             ? snmp_errstring((int)resp->errstat)
			             : snmp_api_errstring(snmp_sess_session(h)->s_snmp_errno));
		if (resp != NULL)
			snmp_free_pdu(resp);
	} else if (snmp_sess_send(h, pdu) == 0) {
		snprintf(err, errlen, "trap to %s not sent: %s", peer,
		         snmp_api_errstring(snmp_sess_session(h)->s_snmp_errno));
		snmp_free_pdu(pdu);
	} else {
		rc = 0;
	}
	snmp_sess_close(h);
	return rc;
}
