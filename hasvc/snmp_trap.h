/*
** One hasvc alert as one SNMP notification (docs/HASVC-MIB.txt,
** docs/monitoring.md), sent with the net-snmp library: SNMPv2c traps and
** informs, SNMPv3 authPriv (HMAC-SHA-1-96 + AES-128) traps and informs.
**
** Threads: net-snmp keeps global state (its USM user list, its library
** init), so every function here must be called from one thread only -- the
** notify worker (hasvc/notify.c).  snmp_trap_send() blocks: an inform waits
** for its acknowledgement, retrying (net-snmp's retries and timeout) until
** it comes or the retries run out.  The event loop never calls it.
**
** Varbinds, in this order after sysUpTime.0 and snmpTrapOID.0: alert uuid,
** host uuid, host name, object class, object uuid, alert name, priority,
** body, time (DateAndTime, UTC) -- each the MIB object's .0 instance.  The
** notification OID names the alert: hasvcHaHostFailed, ... (the table in
** snmp_trap.c, which must follow the MIB); any other alert name is the
** generic hasvcAlert, and snmp-test sends hasvcTestNotification.
*/
#ifndef HASVC_HASVC_SNMP_TRAP_H
#define HASVC_HASVC_SNMP_TRAP_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ids.h"

/* The enterprise arc: 1.3.6.1.4.1.32473, the IANA enterprise number that RFC
** 5612 reserves for documentation (docs/monitoring.md: a placeholder until
** hasvc has its own), and the module hasvcMIB at .1 under it. */
#define SNMP_TRAP_ENTERPRISE 32473

/* The v3 engine ID hasvc sends traps with: snmpEngineID format 5 (octets)
** over the pool's uuid, so every host of a pool (whichever is master) uses
** the same one and a receiver needs one createUser -e line per pool. */
#define SNMP_TRAP_ENGINE_ID_LEN 21

struct snmp_trap_alert {
	char uuid[HA_UUID_LEN]; /* the message's uuid ("" for a test) */
	char host_uuid[HA_UUID_LEN];
	char host_name[256];
	char cls[16];
	char obj_uuid[HA_UUID_LEN];
	char name[64];
	int64_t priority; /* 1..5 */
	char body[1024];
	int64_t timestamp; /* seconds since the epoch */
	int test;          /* hasvcTestNotification instead of the alert's own */
};

struct snmp_trap_target {
	char address[64]; /* IPv4/IPv6 literal or host name */
	unsigned port;
	int v3;     /* 0: SNMPv2c */
	int inform; /* wait for the acknowledgement */
	char community[128];
	char user[64];
	char auth_key[128]; /* passphrases (>= 8 characters, RFC 3414) */
	char priv_key[128];
	uint8_t engine_id[SNMP_TRAP_ENGINE_ID_LEN]; /* v3 traps: snmp_trap_engine_id() */
	unsigned timeout_ms;                        /* per attempt (informs); 0 = 1000 */
	int retries;                                /* informs; < 0 = 3 */
};

/* Initialise net-snmp for sending only: no configuration files read, no
** persistent state written, no MIBs loaded.  Once, in the sending thread.
** state_dir: where net-snmp may create its directories (NULL: its default,
** /var/lib/snmp). */
void snmp_trap_init(const char *state_dir);
/* Undo snmp_trap_init (at exit, in the same thread). */
void snmp_trap_shutdown(void);

/* Send one notification; 0 sent (a trap) or acknowledged (an inform), -1
** with a sentence in err.  Blocks up to (retries + 1) * timeout for an
** inform. */
int snmp_trap_send(const struct snmp_trap_target *t, const struct snmp_trap_alert *a, char *err,
                   size_t errlen);

/* The MIB's notification for alert `name` (its descriptor and its last
** sub-identifier under hasvcNotifications); the generic hasvcAlert for a
** name not in the table, hasvcTestNotification when `test`. */
const char *snmp_trap_notification(const char *name, int test, unsigned *subid);

/* The engine ID of pool `pool_uuid` (see SNMP_TRAP_ENGINE_ID_LEN); -1 if the
** uuid is malformed.  hex (optional, 2 * LEN + 3 bytes) gets "0x...". */
int snmp_trap_engine_id(const char *pool_uuid, uint8_t id[SNMP_TRAP_ENGINE_ID_LEN], char *hex,
                        size_t hexlen);

#endif
