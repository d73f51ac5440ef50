/*
** A model of the liveness protocol (docs/protocol.md, DESIGN §5) for spin:
** N hosts, a network that partitions and merges them, crashes, storage loss,
** the statefile (one slot per host: claim, fence record, verdict), rounds
** decided as heartbeat/liveset.c decides them, component verdicts, the
** deadline, and the verdict rule that closes the "merge inside an undecided
** round" gap.  What is abstracted away, and why it is sound for safety:
** docs/model.md.  Run by tests/model/check.sh.
**
** Switches (spin -D..., or edit the defaults below):
**   N           hosts, 3 or 4
**   K           network changes (any set partition each), default 2
**   MAXCRASH    host crashes, default 1
**   MAXLOSS     storage losses (each host at most one), default 2
**   NO_VERDICT  disable the verdict rule: survivors publish nothing and no
**               component reads verdicts (spin must then find the merge
**               counterexample)
**   NO_REWAIT   disable the re-wait of a component that grew during an
**               undecided round
**   NO_COMMIT   disable the commit rule: a rule-3 winner acts on its win only
**               once its verdict is on the statefile, and fences if it loses
**               storage before
**   NO_P2       do not check P2 (see the properties below)
**
** Properties, checked after every atomic step (check()):
**   P1  no two alive hosts that have SURVIVED (decided SURVIVE for their
**       current ring, and committed it) are in different components;
**   P2  no alive survivor has another alive survivor outside its liveset
**       (it would restart that host's VMs while they run);
**   P3  no host fences while its component holds its whole liveset, unless
**       a published verdict excludes it (checked in fence()).
*/

#ifndef N
#define N 3
#endif
#ifndef K
#define K 2
#endif
#ifndef MAXCRASH
#define MAXCRASH 1
#endif
#ifndef MAXLOSS
#define MAXLOSS 2
#endif
/* #define NO_VERDICT */
/* #define NO_REWAIT */
/* #define NO_COMMIT */

#define ALL ((1 << N) - 1)
#if N == 3
#define NP 5
#else
#define NP 15
#endif
#define BIT(x) (1 << (x))
#define HAS(s, x) (((s) >> (x)) & 1)
#define POP(s) (HAS(s, 0) + HAS(s, 1) + HAS(s, 2) + HAS(s, 3))
#define LOW(s) ((s) & (-(s)))
/* The tie-break order with weight 1 and no preferred host: more hosts, then
** the lowest host index.  a, b: disjoint sets already restricted to L. */
#define BEATS(a, b) ((a) != 0 && (POP(a) > POP(b) || \
	(POP(a) == POP(b) && ((b) == 0 || LOW(a) < LOW(b)))))

/* A ring is its seq and its member set (two components formed by one change
** get one seq here; corosync tells them apart by the representative). */
#define SAMERING(x, y) (rseq[x] == rseq[y] && cm[x] == cm[y])

mtype = { SURVIVE_, FENCE_ };	/* names for the trails */

#define WAIT 0
#define SURVIVE 1
#define FENCE 2

#define WHY_NONE 0
#define WHY_RULE1 1    /* rule 1: no partition */
#define WHY_WON 2      /* rule 3: the statefile picked my component */
#define WHY_LOST 3     /* rule 3: another claimed component beats mine */
#define WHY_VERDICT 4  /* the verdict rule: a published verdict excludes me */
#define WHY_DEADLINE 5 /* rule D */
#define WHY_COMMIT 6   /* storage lost before my win was on the statefile */

/* The network: part[h] labels h's network component. */
byte part[N];
byte changes;

/* Each host's view.  cm: CPG component (alive hosts of the network
** component), rseq: its ring seq (one global counter: rings that share a
** host are ordered as corosync orders them).  L, pseq: the liveset and the
** seq of the ring in which it was agreed.  A host is in a round iff
** rseq != pseq. */
byte cm[N], rseq[N], L[N], pseq[N];
byte seqctr;
bit dead[N];  /* crashed or fenced: never acts again */
bit acc[N];   /* continuous storage access (lost for good) */
bit grown[N]; /* the component grew during an undecided round (re-wait) */
bit unc[N];   /* commit rule: my component's rule-3 win is not on the statefile yet */
byte crashes, losses;

/* The statefile: claim (seq + member set), fence record, verdict. */
byte s_seq[N], s_set[N], v_seq[N], v_live[N];
bit s_fence[N];
bit stale[N]; /* others see the slot stale (only after it stopped) */

/* Scratch for the d_steps (not part of the state). */
hidden byte ptab[15];
hidden byte code, res, why, newl, C, Lh, ps, gone, cur, sup, mine;
hidden byte dx, dz, ay, fy, rx, ry, px, py, cc, rchg, ok, fwhy, fh, dh, wy, wz, cx, cy, cok, cf, dps;

/* Survived: decided SURVIVE in the current ring and acting on it. */
#ifdef NO_COMMIT
#define SURVIVED(x) (!dead[x] && rseq[x] == pseq[x])
#else
#define SURVIVED(x) (!dead[x] && rseq[x] == pseq[x] && !unc[x])
#endif

inline check() {
	px = 0;
	do
	:: px < N ->
		py = 0;
		do
		:: py < N ->
			if
			:: px != py && SURVIVED(px) && SURVIVED(py) ->
				assert(cm[px] == cm[py]);	/* P1 */
#ifndef NO_P2
				assert(HAS(L[px], py));		/* P2 */
#endif
			:: else -> skip
			fi;
			py++
		:: else -> break
		od;
		px++
	:: else -> break
	od;
	px = 0	/* a d_step must not end on a loop (spin) */
}

/* Recompute every alive host's component after a network change or a
** death; a changed component is a new ring (seq one above all before). */
inline recompute() {
	rchg = 0;
	rx = 0;
	do
	:: rx < N ->
		if
		:: !dead[rx] ->
			cc = 0;
			ry = 0;
			do
			:: ry < N ->
				if
				:: !dead[ry] && part[ry] == part[rx] -> cc = cc | BIT(ry)
				:: else -> skip
				fi;
				ry++
			:: else -> break
			od;
			if
			:: cc != cm[rx] ->
#ifndef NO_REWAIT
				if
				:: rseq[rx] != pseq[rx] && (cc & ~cm[rx]) != 0 -> grown[rx] = 1
				:: else -> skip
				fi;
#endif
				cm[rx] = cc;
				rseq[rx] = seqctr + 1;
				rchg = 1
			:: else -> skip
			fi
		:: else -> skip
		fi;
		rx++
	:: else -> break
	od;
	if
	:: rchg -> seqctr++
	:: else -> skip
	fi
}

/* Host fh stops for good (watchdog); P3: not while holding its liveset. */
inline fence() {
	assert(fwhy == WHY_VERDICT || fwhy == WHY_COMMIT ||
	       (cm[fh] & L[fh]) != L[fh]);	/* P3 */
	dead[fh] = 1;
	if
	:: acc[fh] -> s_fence[fh] = 1
	:: else -> skip
	fi;
	unc[fh] = 0;
	grown[fh] = 0
}

/* Host wy writes its slot: one block with its ring and members (the claim)
** and its last verdict (the ring and liveset of its last SURVIVE).  A win
** is committed once one of its survivors' slots shows it. */
#ifndef NO_VERDICT
#define SLOTDIFF(y) (s_seq[y] != rseq[y] || s_set[y] != cm[y] || \
	v_seq[y] != pseq[y] || v_live[y] != L[y])
#else
#define SLOTDIFF(y) (s_seq[y] != rseq[y] || s_set[y] != cm[y])
#endif
inline writeslot() {
	s_seq[wy] = rseq[wy];
	s_set[wy] = cm[wy];
#ifndef NO_VERDICT
	v_seq[wy] = pseq[wy];
	v_live[wy] = L[wy];
	wz = 0;
	do
	:: wz < N ->
		if
		:: unc[wz] && pseq[wz] == v_seq[wy] && L[wz] == v_live[wy] -> unc[wz] = 0
		:: else -> skip
		fi;
		wz++
	:: else -> break
	od;
#endif
	wz = 0
}

/* The commit rule: survivors of a win that no member with access can still
** publish fence (they cannot prove the win to the others). */
inline commitcheck() {
	cf = 0;
	cx = 0;
	do
	:: cx < N ->
		if
		:: !dead[cx] && unc[cx] ->
			cok = 0;
			cy = 0;
			do
			:: cy < N ->
				if
				:: !dead[cy] && acc[cy] && unc[cy] && pseq[cy] == pseq[cx] &&
				   L[cy] == L[cx] -> cok = 1
				:: else -> skip
				fi;
				cy++
			:: else -> break
			od;
			if
			:: !cok ->
				printf("MSC: %d fences: its win can no longer be committed\n", cx);
				fh = cx;
				fwhy = WHY_COMMIT;
				fence();
				cf = 1
			:: else -> skip
			fi
		:: else -> skip
		fi;
		cx++
	:: else -> break
	od;
	if
	:: cf -> recompute()
	:: else -> skip
	fi
}

/* ls_decide() for host dh (plus the verdict and re-wait rules) into res,
** why, newl.  dl: the deadline has passed. */
inline decide(dl) {
	res = WAIT;
	why = WHY_NONE;
	C = cm[dh];
	Lh = L[dh];
	ps = pseq[dh];
#ifndef NO_VERDICT
	/* The verdict rule: a verdict published in this round (a ring newer
	** than my liveset's) by a host of my liveset that excludes me.  Stale
	** slots count: their verdict stays true. */
	if
	:: acc[dh] && !grown[dh] && !unc[dh] ->
		dx = 0;
		do
		:: dx < N ->
			if
			:: dx != dh && HAS(Lh, dx) && v_live[dx] != 0 &&
			   v_seq[dx] > ps && !HAS(v_live[dx], dh) ->
				res = FENCE;
				why = WHY_VERDICT
			:: else -> skip
			fi;
			dx++
		:: else -> break
		od
	:: else -> skip
	fi;
	/* The same through CPG, without storage: the members of my ring
	** exchange their last verdict (ring, liveset) when the ring forms. */
	dx = 0;
	do
	:: dx < N ->
		if
		:: dx != dh && HAS(C, dx) && HAS(Lh, dx) && pseq[dx] > ps &&
		   !HAS(L[dx], dh) ->
			res = FENCE;
			why = WHY_VERDICT
		:: else -> skip
		fi;
		dx++
	:: else -> break
	od;
#endif
	if
	:: why == WHY_VERDICT -> skip
	:: else ->
		/* gone: valid slots with a fence record (readable with access) */
		gone = 0;
		if
		:: acc[dh] ->
			dx = 0;
			do
			:: dx < N ->
				if
				:: s_fence[dx] && HAS(Lh, dx) -> gone = gone | BIT(dx)
				:: else -> skip
				fi;
				dx++
			:: else -> break
			od
		:: else -> skip
		fi;
		if
		:: grown[dh] || unc[dh] -> skip	/* re-wait T_stale; commit my last win */
		:: !grown[dh] && !unc[dh] && (C & (Lh & ~gone)) == (Lh & ~gone) ->
			res = SURVIVE;	/* rule 1 */
			why = WHY_RULE1;
			newl = C & Lh
		:: else ->
			if
			:: !HAS(Lh, dh) || !acc[dh] -> skip	/* rule 5: no prover */
			:: else ->
			if
			:: s_seq[dh] != rseq[dh] || s_set[dh] != C -> skip	/* 3.1 publish first */
			:: else ->
				/* 3.2 current claims: from L, not stale, newer than prev_ring */
				cur = 0;
				dx = 0;
				do
				:: dx < N ->
					if
					:: HAS(Lh, dx) && !stale[dx] && s_seq[dx] > ps -> cur = cur | BIT(dx)
					:: else -> skip
					fi;
					dx++
				:: else -> break
				od;
				sup = 0;
				dx = 0;
				do
				:: dx < N ->
					dz = 0;
					do
					:: dz < N ->
						if
						:: HAS(cur, dx) && HAS(cur, dz) && s_seq[dz] > s_seq[dx] &&
						   (s_set[dz] & s_set[dx]) != 0 -> sup = sup | BIT(dx)
						:: else -> skip
						fi;
						dz++
					:: else -> break
					od;
					dx++
				:: else -> break
				od;
				cur = cur & ~sup;
				/* contradictions: different rings that overlap (cannot
				** happen here once superseded claims are dropped) */
				ok = HAS(cur, dh);
				dx = 0;
				do
				:: dx < N ->
					dz = 0;
					do
					:: dz < N ->
						if
						:: HAS(cur, dx) && HAS(cur, dz) &&
						   (s_seq[dx] != s_seq[dz] || s_set[dx] != s_set[dz]) &&
						   (s_set[dz] & s_set[dx]) != 0 -> ok = 0
						:: else -> skip
						fi;
						dz++
					:: else -> break
					od;
					dx++
				:: else -> break
				od;
				/* 3.3 every missing host settled: claimed, stale or gone */
				dx = 0;
				do
				:: dx < N ->
					if
					:: ok && HAS(Lh & ~C, dx) && !stale[dx] && !HAS(gone, dx) ->
						ok = 0;
						dz = 0;
						do
						:: dz < N ->
							if
							:: HAS(cur, dz) && HAS(s_set[dz], dx) -> ok = 1
							:: else -> skip
							fi;
							dz++
						:: else -> break
						od
					:: else -> skip
					fi;
					dx++
				:: else -> break
				od;
				if
				:: ok ->
					/* 3.4 the winner among the current claims */
					mine = C & Lh;
					res = SURVIVE;
					why = WHY_WON;
					newl = mine;
					dx = 0;
					do
					:: dx < N ->
						if
						:: HAS(cur, dx) && (s_set[dx] & Lh) != mine &&
						   BEATS(s_set[dx] & Lh, mine) ->
							res = FENCE;
							why = WHY_LOST
						:: else -> skip
						fi;
						dx++
					:: else -> break
					od
				:: else -> skip
				fi
			fi
			fi
		fi
	fi;
	/* D: past the deadline every wait fences, and so does a rule-3 win;
	** rule 1 is exempt, also while it re-waits after a merge (a merge
	** that restores the whole liveset must not fence anybody). */
	if
	:: dl && res == WAIT && grown[dh] && !unc[dh] && (C & (Lh & ~gone)) == (Lh & ~gone) ->
		skip
	:: dl && (res == WAIT || why == WHY_WON) ->
		res = FENCE;
		why = WHY_DEADLINE
	:: else -> skip
	fi
}

/* Apply dh's decision.  A prover's verdict (won, lost, excluded) is the
** component verdict: every member of its ring still in the round adopts it
** (CPG total order, first verdict wins).  Rule 1 and the deadline are
** local. */
inline apply() {
	if
	:: res == WAIT -> skip
	:: else ->
		printf("MSC: %d decides %e (why %d) in ring %d comp %d L %d -> L %d\n",
		       dh, (res == SURVIVE -> SURVIVE_ : FENCE_), why, rseq[dh], cm[dh], L[dh], newl);
		ay = 0;
		do
		:: ay < N ->
			if
			:: !dead[ay] && rseq[ay] != pseq[ay] &&
			   (ay == dh || (SAMERING(ay, dh) &&
			    (why == WHY_WON || why == WHY_LOST || why == WHY_VERDICT))) ->
				if
				:: res == SURVIVE && HAS(newl, ay) ->
					L[ay] = newl;
					pseq[ay] = rseq[ay];
#if !defined(NO_VERDICT) && !defined(NO_COMMIT)
					unc[ay] = (why == WHY_WON);
#endif
					grown[ay] = 0
				:: else ->
					/* fence, or adopt a win that leaves me out */
					fh = ay;
					fwhy = (res == SURVIVE -> WHY_VERDICT : why);
					fence()
				fi
			:: else -> skip
			fi;
			ay++
		:: else -> break
		od;
		recompute()
	fi
}

/* Everything time forces before a slot goes stale or a re-wait ends
** (T_stale > T_gap + read period, docs/protocol.md T1): every host with
** access has written its slot (claim and pending verdict), and every
** prover in a round has evaluated what it read. */
inline flush() {
	fy = 0;
	do
	:: fy < N ->
		if
		:: !dead[fy] && acc[fy] ->
			wy = fy;
			writeslot()
		:: else -> skip
		fi;
		fy++
	:: else -> break
	od;
	fy = 0;
	do
	:: fy < N ->
		if
		:: !dead[fy] && acc[fy] && rseq[fy] != pseq[fy] ->
			dh = fy;
			decide(0);
			apply()
		:: else -> skip
		fi;
		fy++
	:: else -> break
	od
}

proctype host(byte h) {
end:	do
	/* write my slot: claim (ring, members) and last verdict (ring, liveset) */
	:: d_step {
		!dead[h] && acc[h] && SLOTDIFF(h) ->
		wy = h;
		writeslot();
		printf("MSC: %d writes claim seq %d set %d, verdict seq %d live %d\n",
		       h, s_seq[h], s_set[h], v_seq[h], v_live[h]);
		check()
	}
	/* evaluate the round on what I read */
	:: d_step {
		!dead[h] && rseq[h] != pseq[h] ->
		dh = h;
		decide(0);
		apply();
		check()
	}
	/* the deadline of my round (T_decide > T_stale: everything with
	** access has been written and evaluated first) */
	:: d_step {
		!dead[h] && rseq[h] != pseq[h] ->
		dps = pseq[h];
		flush();
		if
		:: !dead[h] && pseq[h] == dps ->	/* still the same round */
			dh = h;
			decide(1);
			apply()
		:: else -> skip
		fi;
		check()
	}
	/* storage lost for good (also during a round) */
	:: d_step {
		!dead[h] && acc[h] && losses < MAXLOSS ->
		losses++;
		printf("MSC: %d loses storage\n", h);
		acc[h] = 0;
		commitcheck();
		check()
	}
	/* crash: the process stops, the slot goes stale */
	:: d_step {
		!dead[h] && crashes < MAXCRASH ->
		crashes++;
		printf("MSC: %d crashes\n", h);
		dead[h] = 1;
		unc[h] = 0;
		grown[h] = 0;
		recompute();
		commitcheck();
		check()
	}
	/* T_stale has passed since my last write */
	:: d_step {
		(dead[h] || !acc[h]) && !stale[h] ->
		printf("MSC: %d goes stale (flush first)\n", h);
		flush();
		stale[h] = 1;
		check()
	}
	/* T_stale has passed since my component grew: end the re-wait */
	:: d_step {
		!dead[h] && grown[h] ->
		printf("MSC: re-wait of ring %d ends (flush first)\n", rseq[h]);
		flush();
		ry = 0;
		do
		:: ry < N ->
			if
			:: SAMERING(ry, h) -> grown[ry] = 0
			:: else -> skip
			fi;
			ry++
		:: else -> break
		od;
		check()
	}
	od
}

/* The network: up to K changes, each to any set partition of the hosts
** (restricted growth strings, two bits per host). */
proctype network() {
	byte pi;
	do
	:: changes < K ->
		atomic {
		select(pi : 0 .. NP - 1);
		d_step {
			code = ptab[pi];
			pi = 0;
			rx = 0;
			do
			:: rx < N -> part[rx] = (code >> (2 * rx)) & 3; rx++
			:: else -> break
			od;
			changes++;
			printf("MSC: network partition code %d\n", code);
			recompute();
			check()
		}
		}
	:: else -> break
	od
}

init {
	d_step {
#if N == 3
		ptab[0] = 0;  /* 000 */
		ptab[1] = 16; /* 001: {a,b} {c} */
		ptab[2] = 4;  /* 010: {a,c} {b} */
		ptab[3] = 20; /* 011: {a} {b,c} */
		ptab[4] = 36; /* 012: {a} {b} {c} */
#else
		ptab[0] = 0;    /* 0000 */
		ptab[1] = 64;   /* 0001 */
		ptab[2] = 16;   /* 0010 */
		ptab[3] = 80;   /* 0011 */
		ptab[4] = 144;  /* 0012 */
		ptab[5] = 4;    /* 0100 */
		ptab[6] = 68;   /* 0101 */
		ptab[7] = 132;  /* 0102 */
		ptab[8] = 20;   /* 0110 */
		ptab[9] = 84;   /* 0111 */
		ptab[10] = 148; /* 0112 */
		ptab[11] = 36;  /* 0120 */
		ptab[12] = 100; /* 0121 */
		ptab[13] = 164; /* 0122 */
		ptab[14] = 228; /* 0123 */
#endif
		rx = 0;
		do
		:: rx < N ->
			part[rx] = 0;
			cm[rx] = ALL;
			L[rx] = ALL;
			acc[rx] = 1;
			rx++
		:: else -> break
		od
	}
	atomic {
		rx = 0;
		do
		:: rx < N -> run host(rx); rx++
		:: else -> break
		od;
		run network()
	}
}
