/*
** The survival decision (DESIGN §1, §5; the rules are in docs/protocol.md,
** "Decision rules").  Pure: no I/O, no clock, no allocation.  Time is an
** input (`now` and the other times are the caller's monotonic milliseconds).
**
** After a change of the corosync membership, every host of the pool asks
** ls_decide() what its component must do: SURVIVE (keep petting the
** watchdog, install the new liveset), WAIT (ask again at `next_ms` at the
** latest, or as soon as any input changes) or FENCE (stop petting the
** watchdog, write the fence record, self-fence now).  The caller evaluates it
** until it returns SURVIVE or FENCE; that ends the round, and a SURVIVE
** round's ring becomes the next round's prev_ring.
**
** The contract, in short:
**  - No partition, no fencing: a component that holds every host of the
**    liveset survives whatever the storage says (storage trouble alerts).
**  - A quorum-only pool (no statefile) survives iff votequorum is quorate.
**  - Otherwise the statefile arbitrates: each component publishes its new
**    membership ("claim") in its members' slots; once every missing host is
**    settled (claimed, gone stale, or left/fenced), the heaviest claimed
**    component wins (weight, then size, then the preferred host, then the
**    lowest host index).  Only a member of the liveset with continuous
**    storage access (a "prover") computes the component's verdict; the
**    other members adopt the first verdict multicast in total order.
**  - Published verdicts (docs/protocol.md, "Published verdicts"): a host
**    that survives publishes its verdict (the ring it closes, the new
**    liveset) in its slot.  A statefile win is two-phase: the prover first
**    publishes the verdict (WAIT LS_R_CONFIRMING), and SURVIVEs only when a
**    read issued after that write still shows the win.  Any host that sees
**    a verdict of a ring newer than its prev_ring whose liveset excludes it
**    FENCEs (LS_R_PREEMPTED): of two winners of one round, the one that
**    published later sees the other's verdict.
**  - No decision by t_change + t_decide => FENCE.
**
** Host sets are 64-bit maps: bit h is host index h (0..n-1).
*/
#ifndef HASVC_HEARTBEAT_LIVESET_H
#define HASVC_HEARTBEAT_LIVESET_H

#include <stdint.h>

#define LS_MAX_HOSTS 64
#define LS_BIT(h)    ((uint64_t)1 << (h))

/* What a host's slot says about it (same values as enum sf_host_state). */
enum ls_state {
	LS_ABSENT = 0,
	LS_ALIVE = 1,
	LS_FENCING = 2, /* decided to self-fence: dead within W */
	LS_FENCED = 3,  /* rebooted after a fence, not in the pool */
	LS_LEAVING = 4, /* clean shutdown: its VMs are stopped or moved */
};

enum ls_verdict {
	LS_SURVIVE = 1,
	LS_WAIT = 2,
	LS_FENCE = 3,
};

enum ls_reason {
	LS_R_NONE = 0,
	LS_R_NO_PARTITION,  /* SURVIVE: my component holds the whole (effective) liveset */
	LS_R_QUORATE,       /* SURVIVE: quorum-only pool, votequorum quorate */
	LS_R_WON,           /* SURVIVE: the statefile arbitration picked my component */
	LS_R_LOST,          /* FENCE: another claimed component beats mine */
	LS_R_NOT_QUORATE,   /* WAIT until the deadline, then FENCE: quorum-only pool */
	LS_R_NO_STORAGE,    /* WAIT until the deadline, then FENCE: no prover in my component */
	LS_R_AWAIT_VERDICT, /* WAIT: I am no prover; adopt the verdict of one that is */
	LS_R_PUBLISHING,    /* WAIT: my own claim is not on the statefile yet */
	LS_R_AWAIT_HOSTS,   /* WAIT: some missing host is not settled yet (`unsettled`) */
	LS_R_INCONSISTENT,  /* WAIT: published claims contradict each other */
	LS_R_OUTDATED,      /* WAIT: a newer ring holds some of my members */
	LS_R_DEADLINE,      /* FENCE: no decision by t_change + t_decide (`blocked` says why) */
	LS_R_CONFIRMING,    /* WAIT: won; publish the verdict (`publish`), then confirm */
	LS_R_PREEMPTED,     /* FENCE: a published verdict of this round excludes me */
	LS_R_ADOPTED,       /* SURVIVE (the engine, not ls_decide): a member of my ring
	                    ** survived it with me in its liveset */
};

/* Alert bits (any verdict): storage trouble that does not, by itself, fence. */
enum {
	LS_ALERT_SELF_NO_STORAGE = 1 << 0, /* I have no continuous storage access */
	LS_ALERT_SOME_NO_STORAGE = 1 << 1, /* some member of my component has none */
	LS_ALERT_ALL_NO_STORAGE = 1 << 2,  /* no member of my component has any:
	                                   ** surviving without a storage heartbeat */
	LS_ALERT_INCONSISTENT = 1 << 3,    /* contradictory claims on the statefile */
};

/* Pool configuration; identical on every host (it comes from the replicated
** database).  Weights are 1..LS_WEIGHT_MAX: a host never weighs nothing. */
#define LS_WEIGHT_MAX 1000000u
struct ls_config {
	unsigned n;                    /* hosts 0..n-1, 1..LS_MAX_HOSTS */
	uint32_t weight[LS_MAX_HOSTS]; /* 1..LS_WEIGHT_MAX */
	int preferred;                 /* a host index, or -1 */
	int statefile;                 /* 0: quorum-only pool */
};

/* A corosync ring id.  Ring seqs only grow along a host's history, so a
** ring with a greater seq that shares a member with another ring is the
** later of the two. */
struct ls_ring {
	uint64_t seq;
	uint32_t nodeid; /* the representative */
};

/* What the statefile shows of one host, decoded and aged by the caller.
** peer[] comes from one full read of the statefile issued after the write
** that put peer[self] on storage completed (peer[self] is my slot as of the
** last write completed before that read was issued).
**
** The verdict fields are the slot's published verdict (sf_verdict), with the
** same exception as for everything here: for a member of my component the
** caller fills them from that member's state message of the current ring
** (CPG), which carries only a verdict it *confirmed* (it survived), or none. */
struct ls_peer {
	int valid;             /* the slot decodes and checks (statefile.h) */
	uint32_t state;        /* enum ls_state */
	struct ls_ring ring;   /* the ring it last published ... */
	uint64_t members;      /* ... and its member set (nodeids mapped to indexes) */
	uint64_t last_seen_ms; /* local time we last saw its seq advance (or started looking) */
	int has_verdict;       /* it published a SURVIVE verdict: ... */
	struct ls_ring vring;  /* ... for this ring (the round it closed) ... */
	uint64_t vlive;        /* ... with this new liveset (nodeids mapped to indexes) */
};

struct ls_input {
	const struct ls_config *cfg;
	unsigned self;
	uint64_t live;            /* L: the liveset before the change (agreed pool-wide) */
	uint64_t joined;          /* hosts admitted by the join protocol, not yet in L (may be 0) */
	uint64_t comp;            /* C: my CPG component, self included */
	struct ls_ring ring;      /* C's ring */
	struct ls_ring prev_ring; /* the ring in which L was agreed */
	int quorate;              /* votequorum, for quorum-only pools */
	int self_access;          /* continuous storage access (docs/protocol.md) */
	uint64_t access;          /* members of C that reported continuous access over CPG */
	const struct ls_peer *peer; /* cfg->n entries; peer[self] = my slot as last written */
	uint64_t now, t_change;     /* ms, monotonic */
	uint64_t t_stale, t_decide; /* ms */
};

struct ls_result {
	enum ls_verdict verdict;
	enum ls_reason reason;
	enum ls_reason blocked; /* LS_R_DEADLINE: the wait reason it ended */
	uint64_t live;          /* SURVIVE, LS_R_CONFIRMING: the new liveset */
	uint64_t lost;          /* SURVIVE: liveset hosts decided against (restart them only
	                        ** once dead: docs/protocol.md, "Dead before restart") */
	uint64_t winner;        /* LS_R_WON / LS_R_LOST / LS_R_CONFIRMING: the winning component;
	                        ** LS_R_PREEMPTED: the liveset of the verdict that excludes me */
	uint64_t unsettled;     /* LS_R_AWAIT_HOSTS: the missing hosts not yet settled */
	uint64_t next_ms;       /* WAIT: decide again at this time at the latest */
	unsigned alerts;        /* LS_ALERT_* */
	int publish;            /* 1 (SURVIVE, LS_R_CONFIRMING): my slot must carry the
	                        ** verdict {in->ring, live}; write it now if it does not */
};

/* 0 if cfg is usable (n, weights, preferred in range), else -1. */
int ls_config_check(const struct ls_config *cfg);

/* Decide for in->self.  `in` must satisfy ls_config_check, self < n, self in
** comp, every set within the n hosts (ha_assert: a caller bug).  Fills *out. */
void ls_decide(const struct ls_input *in, struct ls_result *out);

/* 1 if component a beats component b by the tie-break order of
** docs/protocol.md (only their hosts in `live` count), else 0.  a and b must
** be disjoint within `live`. */
int ls_beats(const struct ls_config *cfg, uint64_t live, uint64_t a, uint64_t b);

const char *ls_verdict_name(int v);
const char *ls_reason_name(int r);

#endif
