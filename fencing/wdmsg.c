/*
** The watchdog keeper's messages: see wdmsg.h for the layout.
**
** As in heartbeat/lvmsg.c, one check, msg_check(), states what a valid
** message is; the encoder refuses what it refuses and the decoder runs it on
** what it read.  Every type has one fixed length and no free bits (reserved
** fields zero, flags 0/1, the reason NUL-padded), hence each accepted
** message has exactly one encoding: encode(decode(b)) == b.
*/
#include "fencing/wdmsg.h"

#include <string.h>

#include "lib/check.h"
#include "lib/wire.h"

#define WD_HDR_LEN     8 /* magic, version, type, zero */
#define WD_HELLO_LEN   (WD_HDR_LEN + 4)
#define WD_ARM_LEN     (WD_HDR_LEN + 8)
#define WD_PET_LEN     (WD_HDR_LEN + 8)
#define WD_DISARM_LEN  WD_HDR_LEN
#define WD_FENCE_LEN   (WD_HDR_LEN + 4)
#define WD_RESET_LEN   (WD_HDR_LEN + WD_REASON_LEN)
#define WD_STATUS_LEN  (WD_HDR_LEN + 4 + 4 + 8 + 4)
#define WD_TIMEOUT_MIN 1000u
#define WD_TIMEOUT_MAX 3600000u

_Static_assert(WD_RESET_LEN <= WD_MSG_MAX, "WD_MSG_MAX too small");

/* The whole length of a message of `type`, or 0 for an unknown type. */
static size_t
msg_len(int type)
{
	switch (type) {
	case WD_MSG_HELLO:
		return WD_HELLO_LEN;
	case WD_MSG_ARM:
		return WD_ARM_LEN;
	case WD_MSG_PET:
		return WD_PET_LEN;
	case WD_MSG_DISARM:
		return WD_DISARM_LEN;
	case WD_MSG_RESET:
		return WD_RESET_LEN;
	case WD_MSG_STATUS:
		return WD_STATUS_LEN;
	case WD_MSG_FENCE:
		return WD_FENCE_LEN;
	}
	return 0;
}

static int
is_bool(int v)
{
	return v == 0 || v == 1;
}

static int
timeout_ok(uint32_t t)
{
	return t >= WD_TIMEOUT_MIN && t <= WD_TIMEOUT_MAX && t % 1000 == 0;
}

/* A control byte: C0 or DEL.  Bytes >= 0x80 (UTF-8) are text. */
static int
is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* NULL if the first `n` bytes of s (up to a NUL) hold no control byte. */
static const char *
reason_check(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i] != '\0'; i++)
		if (is_control((unsigned char)s[i]))
			return "control byte in the reason";
	return NULL;
}

/* NULL if every value of m is in range (its type is known), else why not. */
static const char *
msg_check(const struct wd_msg *m)
{
	switch (m->type) {
	case WD_MSG_HELLO:
		return m->u.hello.pid != 0 ? NULL : "value out of range";
	case WD_MSG_ARM:
		if (!timeout_ok(m->u.arm.timeout_ms) || m->u.arm.pet_ms == 0 ||
		    4 * (uint64_t)m->u.arm.pet_ms > m->u.arm.timeout_ms)
			return "value out of range";
		return NULL;
	case WD_MSG_PET:
	case WD_MSG_DISARM:
		return NULL;
	case WD_MSG_FENCE:
		return timeout_ok(m->u.fence.timeout_ms) ? NULL : "value out of range";
	case WD_MSG_RESET:
		/* The encoder cuts a long reason; only its first bytes matter. */
		return reason_check(m->u.reset.reason, WD_REASON_LEN - 1);
	case WD_MSG_STATUS:
		if (!is_bool(m->u.status.armed) || !is_bool(m->u.status.fenced))
			return "value out of range";
		if (m->u.status.armed ? !timeout_ok(m->u.status.timeout_ms)
		                      : m->u.status.timeout_ms != 0)
			return "value out of range";
		return NULL;
	}
	return "bad type";
}

size_t
wd_msg_encode(const struct wd_msg *m, uint8_t *buf, size_t len)
{
	struct wbuf w = WBUF_INIT(buf, len);
	size_t n = msg_len((int)m->type), rl;
	uint8_t *p;

	if (n == 0 || len < n || msg_check(m) != NULL)
		return 0;
	wput_u32(&w, WD_MSG_MAGIC);
	wput_u8(&w, WD_MSG_VERSION);
	wput_u8(&w, (uint8_t)m->type);
	wput_u16(&w, 0);
	switch (m->type) {
	case WD_MSG_HELLO:
		wput_u32(&w, m->u.hello.pid);
		break;
	case WD_MSG_ARM:
		wput_u32(&w, m->u.arm.timeout_ms);
		wput_u32(&w, m->u.arm.pet_ms);
		break;
	case WD_MSG_PET:
		wput_u64(&w, m->u.pet.lease_ms);
		break;
	case WD_MSG_FENCE:
		wput_u32(&w, m->u.fence.timeout_ms);
		break;
	case WD_MSG_DISARM:
		break;
	case WD_MSG_RESET:
		/* Cut to WD_REASON_LEN - 1 bytes: the field keeps its NUL. */
		rl = strnlen(m->u.reset.reason, WD_REASON_LEN - 1);
		p = wbuf_reserve(&w, WD_REASON_LEN);
		if (p != NULL) {
			memcpy(p, m->u.reset.reason, rl);
			memset(p + rl, 0, WD_REASON_LEN - rl);
		}
		break;
	case WD_MSG_STATUS:
		wput_u8(&w, (uint8_t)m->u.status.armed);
		wput_u8(&w, (uint8_t)m->u.status.fenced);
		wput_u16(&w, 0);
		wput_u32(&w, m->u.status.timeout_ms);
		wput_u64(&w, m->u.status.lease_ms);
		wput_u32(&w, m->u.status.resets);
		break;
	}
	if (w.err || w.off != n)
		return 0;
	return w.off;
}

int
wd_msg_decode(const uint8_t *buf, size_t len, struct wd_msg *out, const char **why)
{
	struct rbuf r = RBUF_INIT(buf, len);
	const char *dummy;
	uint16_t reserved;
	uint8_t type;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	memset(out, 0, sizeof(*out));
	if (rget_msg_start(&r, WD_HDR_LEN, WD_MSG_MAGIC, WD_MSG_VERSION, msg_len, &type, why) < 0)
		return -1;
	reserved = rget_u16(&r);
	out->type = (enum wd_msg_type)type;
	switch (out->type) {
	case WD_MSG_HELLO:
		out->u.hello.pid = rget_u32(&r);
		break;
	case WD_MSG_ARM:
		out->u.arm.timeout_ms = rget_u32(&r);
		out->u.arm.pet_ms = rget_u32(&r);
		break;
	case WD_MSG_FENCE:
		out->u.fence.timeout_ms = rget_u32(&r);
		break;
	case WD_MSG_PET:
		out->u.pet.lease_ms = rget_u64(&r);
		break;
	case WD_MSG_DISARM:
		break;
	case WD_MSG_RESET:
		/* A NUL, and only NULs after the first one. */
		rget_str(&r, out->u.reset.reason, WD_REASON_LEN);
		if (r.err) {
			memset(out->u.reset.reason, 0, WD_REASON_LEN);
			*why = "bad reason text";
			return -1;
		}
		break;
	case WD_MSG_STATUS:
		out->u.status.armed = rget_u8(&r);
		out->u.status.fenced = rget_u8(&r);
		if (rget_u16(&r) != 0)
			reserved = 1;
		out->u.status.timeout_ms = rget_u32(&r);
		out->u.status.lease_ms = rget_u64(&r);
		out->u.status.resets = rget_u32(&r);
		break;
	}
	/* The length was checked against the type: the fields fill it exactly. */
	if (NEVER(r.err || r.off != r.len)) {
		*why = "bad length";
		return -1;
	}
	if (reserved != 0) {
		*why = "reserved field not zero";
		return -1;
	}
	if (out->type == WD_MSG_RESET && reason_check(out->u.reset.reason, WD_REASON_LEN) != NULL) {
		*why = "bad reason text";
		return -1;
	}
	*why = msg_check(out);
	return *why == NULL ? 0 : -1;
}

const char *
wd_msg_type_name(int type)
{
	static const char *const names[] = {"?",      "hello", "arm",    "pet",
	                                    "disarm", "reset", "status", "fence"};

	return type >= 0 && (size_t)type < ARRAY_SIZE(names) ? names[type] : "?";
}
