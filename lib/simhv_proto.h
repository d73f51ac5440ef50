/*
** The simhv protocol: how hasvcd (hasvc/hv_sim.c), the ctl client and tests
** talk to hasvc-simhv, the simulated hypervisor of one host (lab/simhv.c).
**
** Transport: a unix stream socket.  Every message is a 16-byte header
**
**     magic "HSIM" u32 | version u16 (= 1) | type u16 | seq u32 | payload length u32
**
** followed by the payload (at most SIMHV_PAYLOAD_MAX bytes).  All integers are
** big-endian; strings sit in fixed NUL-padded fields (lib/wire.h).  Each type
** has exactly one payload layout and size (for REPLY: one per request type and
** status), so the decoder checks the length exactly: a short, long or
** otherwise malformed message is rejected, never half-trusted.
**
** Requests carry seq >= 1 and are answered by one REPLY with the same seq,
** carrying the request's type, a status (0 or an errno value) and a sentence;
** replies to HELLO, HOST_INFO, LIST_DOMAINS and STATUS carry a body when the
** status is 0.  EVENTs carry seq 0 and are pushed to connections that sent
** SUBSCRIBE.  docs/simhv.md has the table of types.
**
** This file does no I/O beyond the small blocking helpers at the end, which
** every client (ctl, hv_sim, tests) and the server share.
*/
#ifndef HASVC_LIB_SIMHV_PROTO_H
#define HASVC_LIB_SIMHV_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/ids.h"

#define SIMHV_MAGIC 0x4853494du /* "HSIM" */
#define SIMHV_VERSION 1
#define SIMHV_HDR_LEN 16
#define SIMHV_PAYLOAD_MAX 65536
#define SIMHV_MSG_MAX (SIMHV_HDR_LEN + SIMHV_PAYLOAD_MAX)

#define SIMHV_HOST_LEN 64     /* host and client names, with NUL */
#define SIMHV_VM_NAME_LEN 128 /* VM name label, with NUL */
#define SIMHV_REASON_LEN 128  /* reset reasons, event reasons, reply sentences */
#define SIMHV_MAX_DOMAINS 256 /* per host: bounds LIST_DOMAINS replies */

enum simhv_type {
	SIMHV_HELLO = 1,      /* name, pid -> reply: host name, simhv pid */
	SIMHV_REGISTER_PID,   /* pid: a process of this host, SIGKILLed on reset */
	SIMHV_HOST_INFO,      /* -> reply: struct simhv_host_info */
	SIMHV_LIST_DOMAINS,   /* -> reply: the domains */
	SIMHV_START,          /* uuid, name, memory, vcpus */
	SIMHV_SHUTDOWN,       /* uuid: clean, completes after --shutdown-ms */
	SIMHV_DESTROY,        /* uuid: hard stop, immediate */
	SIMHV_WD_ARM,         /* timeout_ms */
	SIMHV_WD_PET,         /* - */
	SIMHV_WD_DISARM,      /* - */
	SIMHV_SELF_RESET,     /* reason: reset the host now */
	SIMHV_SUBSCRIBE,      /* - : push EVENTs to this connection */
	SIMHV_EVENT,          /* seq 0: kind, uuid, reason */
	SIMHV_CRASH_DOMAIN,   /* test control: uuid crashes */
	SIMHV_GUEST_SHUTDOWN, /* test control: the guest powers itself off */
	SIMHV_POWER_ON,       /* test control: power a reset host back on */
	SIMHV_STATUS,         /* -> reply: struct simhv_status */
	SIMHV_REPLY,          /* the answer to one request */
	SIMHV_TYPE_END
};

/* Event kinds; the values equal hv.h's enum hv_event_type on purpose. */
enum simhv_event_kind {
	SIMHV_EV_DIED = 1, /* gone: destroyed, shut down (clean or by the guest), host reset */
	SIMHV_EV_CRASHED,
	SIMHV_EV_STARTED, /* booted: the domain now reports running */
	SIMHV_EV_END
};

/* Domain states.  SHUTDOWN and CRASHED domains stay listed (and keep their
** memory, as on Xen with on_poweroff/on_crash=preserve) until destroyed. */
enum simhv_dom_state {
	SIMHV_DOM_BOOTING = 1,
	SIMHV_DOM_RUNNING,
	SIMHV_DOM_SHUTTING_DOWN,
	SIMHV_DOM_SHUTDOWN,
	SIMHV_DOM_CRASHED,
	SIMHV_DOM_END
};

struct simhv_domain {
	char uuid[HA_UUID_LEN];
	char name[SIMHV_VM_NAME_LEN];
	uint64_t memory; /* bytes */
	uint32_t vcpus;
	uint8_t state; /* enum simhv_dom_state */
};

struct simhv_host_info {
	char host[SIMHV_HOST_LEN];
	uint64_t memory_total; /* bytes, dom0 included */
	uint64_t memory_free;  /* bytes free for new domains */
	uint32_t cpus;
	uint8_t powered_on; /* 0 or 1 */
	uint32_t resets;    /* resets since simhv started */
};

struct simhv_status {
	uint8_t powered_on;
	uint32_t resets;
	int64_t last_reset_wall;     /* seconds since the epoch; 0 if never reset */
	uint64_t last_reset_mono_ns; /* CLOCK_MONOTONIC; 0 if never reset */
	char last_reason[SIMHV_REASON_LEN];
	uint8_t wd_armed;
	uint32_t wd_timeout_ms;
	uint32_t ndomains;
	uint32_t npids; /* registered pids */
};

struct simhv_msg {
	uint16_t type; /* enum simhv_type */
	uint32_t seq;  /* >= 1 for requests and replies, 0 for events */
	union {
		struct {
			char name[SIMHV_HOST_LEN];
			uint32_t pid;
		} hello;
		struct {
			uint32_t pid;
		} pid; /* REGISTER_PID */
		struct {
			char uuid[HA_UUID_LEN];
			char name[SIMHV_VM_NAME_LEN];
			uint64_t memory; /* bytes */
			uint32_t vcpus;
		} start;
		struct {
			char uuid[HA_UUID_LEN];
		} dom; /* SHUTDOWN, DESTROY, CRASH_DOMAIN, GUEST_SHUTDOWN */
		struct {
			uint32_t timeout_ms;
		} wd; /* WD_ARM */
		struct {
			char reason[SIMHV_REASON_LEN];
		} reset; /* SELF_RESET */
		struct {
			uint16_t kind; /* enum simhv_event_kind */
			char uuid[HA_UUID_LEN];
			char reason[SIMHV_REASON_LEN];
		} event;
		struct {
			uint16_t req;    /* the type of the request answered */
			uint32_t status; /* 0 or an errno value */
			char message[SIMHV_REASON_LEN];
			/* Only when status == 0, by req: */
			union {
				struct {
					char host[SIMHV_HOST_LEN];
					uint32_t pid;
				} hello;
				struct simhv_host_info info;
				struct simhv_status status;
				struct {
					uint32_t n;
					struct simhv_domain d[SIMHV_MAX_DOMAINS];
				} list;
			} u;
		} reply;
	} u;
};

/* Name of a type, event kind or domain state for logs and the ctl client;
** "unknown" for values out of range. */
const char *simhv_type_name(unsigned type);
const char *simhv_event_name(unsigned kind);
const char *simhv_dom_state_name(unsigned state);

/* Encode `m` into buf[size].  Returns the message length (header included),
** or -1 if a field does not fit its layout (a string too long, a type
** unknown, too many domains) or buf is too small. */
ssize_t simhv_msg_encode(const struct simhv_msg *m, uint8_t *buf, size_t size);

/* Check the header in buf[0..SIMHV_HDR_LEN): magic, version, known type and a
** payload length within SIMHV_PAYLOAD_MAX.  Returns the payload length or -1. */
ssize_t simhv_hdr_check(const uint8_t *buf, size_t len);

/* Decode exactly one whole message buf[0..len) into *m.  Returns 0, or -1 if
** anything is wrong: header, length not exactly the layout of the type (and
** for replies, of the request type and status), a string field without its
** NUL or with bytes after it, an out-of-range enum, seq 0 on a request or a
** non-zero seq on an event.  *m is unspecified after a failure. */
int simhv_msg_decode(const uint8_t *buf, size_t len, struct simhv_msg *m);

/*
** Framing of a byte stream into messages.  Feed what read() returned with
** simhv_reader_feed (which reads the fd directly), then take whole messages
** with simhv_reader_next.
*/
struct simhv_reader {
	uint8_t buf[SIMHV_MSG_MAX];
	size_t len;
};

/* Read what is available from fd into the reader.  Returns the byte count
** read (> 0), 0 at end of stream, -1 with errno on error (EAGAIN included). */
ssize_t simhv_reader_fill(struct simhv_reader *r, int fd);
/* 1 with a message in *m, 0 if more bytes are needed, -1 if the stream is
** malformed (the connection must then be closed: framing is lost). */
int simhv_reader_next(struct simhv_reader *r, struct simhv_msg *m);

/*
** Blocking client helpers (ctl, hv_sim, tests).
*/

/* Connect to the simhv socket at `path`; a CLOEXEC fd, or -1 with errno and a
** sentence in err[errlen]. */
int simhv_connect(const char *path, char *err, size_t errlen);

/* Encode and write the whole of `m` to a blocking fd (MSG_NOSIGNAL); 0 or -1
** with errno (EINVAL if `m` cannot be encoded). */
int simhv_send(int fd, const struct simhv_msg *m);

/* Send request `req` (its seq must be set) and wait until `deadline_ms`
** (CLOCK_MONOTONIC ms) for the REPLY with the same seq.  EVENTs that arrive
** meanwhile are passed to on_event (if not NULL) in order.  Returns 0 with the
** reply in *reply (whatever its status), or -1 with errno: ETIMEDOUT,
** ECONNRESET (connection lost or closed), EPROTO (malformed or unexpected
** message).  After -1 the connection is unusable. */
int simhv_call(int fd, struct simhv_reader *r, const struct simhv_msg *req,
	       struct simhv_msg *reply, uint64_t deadline_ms,
	       void (*on_event)(void *arg, const struct simhv_msg *ev), void *arg);

#endif
