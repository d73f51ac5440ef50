/*
** The liveness protocol's CPG messages (docs/protocol.md, "Messages"): pure
** encode/decode, no I/O.
**
** Two messages travel in corosync total order inside the pool's CPG group,
** beside the replication messages (hasvc/repl.c, magic "HARP"), from which
** their magic tells them apart:
**
**   STATE    sent by every host when it installs a ring, and again when its
**            storage access changes during a round: whether it has continuous
**            storage access, its liveset and the ring it was agreed in, and
**            the last verdict it *confirmed* (it survived), so that members of
**            a new ring learn each other's verdicts without the statefile
**            (model rule 2).
**   VERDICT  the component verdict of a prover: the first one delivered for a
**            ring is authoritative for every member of that ring (rule 5).
**   PING     sent by every host every ping_ms, with the number of liveness
**            messages the sender had delivered in its current ring (view)
**            when it sent it.  My PING at position k of that ring's delivery
**            order is *stable* once every other member has sent me a PING
**            with a count >= k: all of them delivered it.  A stable PING
**            proves to its sender that its ring was whole when it sent it
**            ("fresh ring", docs/protocol.md), and to the others that the
**            sender was in their ring then ("dead before restart").
**   JOIN     sent every LV_JOIN_RETRY_MS by a host out of the pool that wants
**            back in (docs/protocol.md, "Rejoining"): the seq above which its
**            slot is its new incarnation's.
**   ADMIT    the master's answer: admits `host` by a round of its own (the
**            ring after the one it is delivered in, seq + 1), and tells the
**            joiner the liveset it joins and the ring it was agreed in.
**
** Layout, every integer big-endian (lib/wire.h):
**
**   u32 magic "HALV"  u8 version (1)  u8 type  u16 from (host index)
**   u64 ring.seq  u32 ring.nodeid
**   STATE:   u8 access  u8 has_verdict  u16 zero
**            u64 live  u64 prev_ring.seq  u32 prev_ring.nodeid
**            u64 vring.seq  u32 vring.nodeid  u64 vlive
**   VERDICT: u8 verdict  u8 reason  u16 zero
**            u64 live  u64 lost  u64 winner
**   PING:    u64 seq (the sender's ping counter, nonzero)  u32 count
**            u64 view (the view the count is about: lv_ring_view.view)
**   JOIN:    u64 seq (the joiner's slot counts only above it)
**   ADMIT:   u16 host  u16 zero  u64 seq (the joiner's JOIN seq)
**            u64 live (nonzero, holds the sender)  u64 prev_ring.seq
**            u32 prev_ring.nodeid (nonzero)
**
** Nothing follows.  A decoder accepts exactly one encoding of each message
** (reserved fields zero, every value in range, no trailing bytes), so that
** encode(decode(b)) == b for every accepted b.
*/
#ifndef HASVC_HEARTBEAT_LVMSG_H
#define HASVC_HEARTBEAT_LVMSG_H

#include <stddef.h>
#include <stdint.h>

#include "heartbeat/liveset.h"

#define LV_MSG_MAGIC   0x48414c56u /* "HALV" */
#define LV_MSG_VERSION 1
#define LV_MSG_MAX     128 /* no encoding is longer */

enum lv_msg_type {
	LV_MSG_STATE = 1,
	LV_MSG_VERDICT = 2,
	LV_MSG_PING = 3,
	LV_MSG_JOIN = 4,
	LV_MSG_ADMIT = 5,
};

struct lv_msg_state {
	int access;                /* 0/1: continuous storage access (docs/protocol.md) */
	uint64_t live;             /* the sender's liveset L ... */
	struct ls_ring prev_ring;  /* ... agreed in this ring */
	int has_verdict;           /* 0/1: it confirmed a SURVIVE verdict: ... */
	struct ls_ring vring;      /* ... for this ring (0,0 when !has_verdict) ... */
	uint64_t vlive;            /* ... with this liveset (0 when !has_verdict; else nonzero) */
};

struct lv_msg_verdict {
	int verdict;     /* LS_SURVIVE or LS_FENCE */
	int reason;      /* enum ls_reason, 1..LS_R_PREEMPTED */
	uint64_t live;   /* LS_SURVIVE: the new liveset (nonzero); LS_FENCE: 0 */
	uint64_t lost;   /* LS_SURVIVE: hosts decided against; LS_FENCE: 0 */
	uint64_t winner; /* the winning component, or 0 */
};

struct lv_msg_admit {
	unsigned host;            /* the host admitted, < LS_MAX_HOSTS */
	uint64_t seq;             /* its JOIN's seq */
	uint64_t live;            /* the sender's (the master's) liveset ... */
	struct ls_ring prev_ring; /* ... agreed in this ring */
};

struct lv_msg {
	enum lv_msg_type type;
	unsigned from;       /* the sender's host index, < LS_MAX_HOSTS */
	struct ls_ring ring; /* the sender's current ring: the message is about it */
	union {
		struct lv_msg_state state;
		struct lv_msg_verdict verdict;
		struct {
			uint64_t seq;   /* nonzero */
			uint32_t count; /* liveness messages delivered in this view before sending */
			uint64_t view;  /* ... in this view (the sender's, when it sent): a count
			                ** means nothing in another view, and a PING sent just
			                ** before its sender delivered a group change is
			                ** delivered after it (found by the simulator) */
		} ping;
		struct {
			uint64_t seq; /* the joiner's slot counts only above it */
		} join;
		struct lv_msg_admit admit;
	} u;
};

/* Encode into buf (len >= LV_MSG_MAX is always enough).  Returns the length,
** or 0 if a value is out of range or buf is too short. */
size_t lv_msg_encode(const struct lv_msg *m, uint8_t *buf, size_t len);

/* 1 if buf starts with the liveness magic (the demultiplexer's test). */
int lv_msg_is_mine(const uint8_t *buf, size_t len);

/* Decode and check.  0 with *out filled, or -1 with *why a static reason
** ("short", "bad magic", "bad version", "bad type", "bad length",
** "reserved field not zero", "value out of range"). */
int lv_msg_decode(const uint8_t *buf, size_t len, struct lv_msg *out, const char **why);

const char *lv_msg_type_name(int type);

#endif
