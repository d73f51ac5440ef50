/*
** The watchdog keeper's messages (docs/fencing.md, "The keeper"): what
** hasvcd and hasvc-wdkeeper say to each other over one AF_UNIX
** SOCK_SEQPACKET connection on the same host.  Pure encode/decode, no I/O.
**
**   daemon -> keeper
**     HELLO    first message of a connection: the daemon's pid
**     ARM      arm the host watchdog with timeout_ms, pet every pet_ms (a
**              no-op if it is armed with these already: a restarted daemon
**              arms again without disturbing the running watchdog)
**     PET      the daemon's loop and statefile side are alive (sent every
**              pet_ms while the fence state machine pets), with its lease:
**              the latest CLOCK_MONOTONIC time, in ms, until which the
**              liveness engine is entitled to keep the host alive without
**              any further input (lv_lease(); 0: no lease of its own)
**     DISARM   disarm (HA disabled, maintenance)
**     FENCE    fence: stop petting for good -- arming first, with timeout_ms,
**              if the watchdog is not armed -- and confirm with a STATUS
**              (fenced 1).  hasvcd writes its fence record to the statefile
**              only after that STATUS: the record then proves to the other
**              hosts that this host dies within W (docs/protocol.md, "Dead
**              before restart" (a))
**     RESET    reset the host now, with a reason (after FENCE)
**   keeper -> daemon
**     STATUS   answer to HELLO and to every ARM / DISARM: armed or not, the
**              timeout, the lease held, and how many resets were asked for
**
** Layout, every integer big-endian (lib/wire.h):
**
**   u32 magic "HAWD"  u8 version (1)  u8 type  u16 zero
**   HELLO:  u32 pid (nonzero)
**   ARM:    u32 timeout_ms (1000..3600000, a multiple of 1000)
**           u32 pet_ms (nonzero, 4 pet_ms <= timeout_ms)
**   PET:    u64 lease_ms
**   DISARM: nothing
**   FENCE:  u32 timeout_ms (as ARM's)
**   RESET:  u8 reason[128]: text, NUL-padded, at least one NUL, no
**           control bytes before the first NUL
**   STATUS: u8 armed (0/1)  u8 fenced (0/1)  u16 zero  u32 timeout_ms
**           (0 when not armed)  u64 lease_ms  u32 resets
**
** Nothing follows.  A decoder accepts exactly one encoding of each message
** (reserved fields zero, every value in range, the exact length), so that
** encode(decode(b)) == b for every accepted b.
*/
#ifndef HASVC_FENCING_WDMSG_H
#define HASVC_FENCING_WDMSG_H

#include <stddef.h>
#include <stdint.h>

#define WD_MSG_MAGIC   0x48415744u /* "HAWD" */
#define WD_MSG_VERSION 1
#define WD_MSG_MAX     160 /* no encoding is longer */
#define WD_REASON_LEN  128

enum wd_msg_type {
	WD_MSG_HELLO = 1,
	WD_MSG_ARM = 2,
	WD_MSG_PET = 3,
	WD_MSG_DISARM = 4,
	WD_MSG_RESET = 5,
	WD_MSG_STATUS = 6,
	WD_MSG_FENCE = 7,
};

struct wd_msg {
	enum wd_msg_type type;
	union {
		struct {
			uint32_t pid;
		} hello;
		struct {
			uint32_t timeout_ms, pet_ms;
		} arm;
		struct {
			uint64_t lease_ms;
		} pet;
		struct {
			uint32_t timeout_ms;
		} fence;
		struct {
			char reason[WD_REASON_LEN]; /* NUL-terminated */
		} reset;
		struct {
			int armed, fenced;
			uint32_t timeout_ms;
			uint64_t lease_ms;
			uint32_t resets;
		} status;
	} u;
};

/* Encode into buf (len >= WD_MSG_MAX is always enough).  The length, or 0
** if a value is out of range or buf is too short.  A RESET reason longer
** than WD_REASON_LEN - 1 bytes is cut. */
size_t wd_msg_encode(const struct wd_msg *m, uint8_t *buf, size_t len);

/* Decode and check.  0 with *out filled, or -1 with *why a static reason. */
int wd_msg_decode(const uint8_t *buf, size_t len, struct wd_msg *out, const char **why);

const char *wd_msg_type_name(int type);

#endif
