#!/usr/bin/env python3
"""The failover timeline of a hasvc-lab run, on one clock: CLOCK_MONOTONIC,
the clock of the simhv ledger (docs/simhv.md).  Used by bench/failover.sh and
scripts/demo.sh.

  stamp FILE CMD...       write CLOCK_MONOTONIC ns to FILE, then exec CMD (the
                          fault command: the stamp is taken just before it)
  poll OUT LOG...         append "NS HOSTNUM LINE" to OUT for every new line of
                          the hasvcd logs (HOSTNUM = position + 1) that says
                          "liveness:" or "failover:", stamped on arrival
                          (polled every 10 ms; hasvcd's own stamps are whole
                          seconds); runs until killed
  follow T0FILE LABDIR VMLIST
                          the demo's live view: the same lines and the
                          ledger's starts and `running`s, as they come, in
                          seconds after the time in T0FILE (waits for it),
                          VM uuids replaced by names (VMLIST: the output of
                          `hasvc-db vm-list`); runs until killed
  analyze LEDGER STAMPED T0NS LOST PROTECTED
                          one run's figures, ms: "DEAD FIRST LAST NVICTIMS
                          NPROT NRAN" (see analyze())
"""
import os
import re
import sys
import time


def now_ns():
    return time.monotonic_ns()


def cmd_stamp(args):
    with open(args[0], "w") as f:
        f.write("%d\n" % now_ns())
    os.execvp(args[1], args[1:])


WANT = (b"liveness:", b"failover:")
QUIET = ("executor inactive", "executor active", "now drives failover", "not acting", "announced dead")


class Tail:
    """New whole lines of a file that may not exist yet (a host's log)."""

    def __init__(self, path, from_end=True):
        self.path, self.f, self.buf, self.from_end = path, None, b"", from_end

    def lines(self):
        if self.f is None:
            try:
                self.f = open(self.path, "rb")
            except OSError:
                return []
            if self.from_end:
                self.f.seek(0, 2)
        data = self.f.read()
        if not data:
            return []
        parts = (self.buf + data).split(b"\n")
        self.buf = parts.pop()
        return parts


def cmd_poll(args):
    out = open(args[0], "a", buffering=1)
    tails = [Tail(p) for p in args[1:]]
    for t in tails:
        t.lines()  # skip what is there already
    while True:
        for i, t in enumerate(tails):
            lines = t.lines()
            if not lines:
                continue
            ts = now_ns()
            for l in lines:
                if any(w in l for w in WANT):
                    out.write("%d %d %s\n" % (ts, i + 1, l.decode(errors="replace")))
        time.sleep(0.01)


def vm_names(db):
    """uuid -> name-label, from `hasvc-db vm-list` output in a file."""
    names, u = {}, None
    try:
        with open(db) as f:
            for l in f:
                if l.startswith("uuid: "):
                    u = l.split()[1]
                elif l.startswith("name-label: ") and u:
                    names[u] = l.split()[1]
    except OSError:
        pass
    return names


def cmd_follow(args):
    t0file, lab, vmlist = args
    names = vm_names(vmlist)
    hosts = {}
    with open(os.path.join(lab, "hosts")) as f:
        for l in f:
            n, name, uuid, _ = l.split()
            hosts[uuid] = name
    nh = len(hosts)
    tails = [Tail(os.path.join(lab, "host%d" % (h + 1), "hasvcd.log")) for h in range(nh)]
    ledger = Tail(os.path.join(lab, "ledger"))
    for t in tails + [ledger]:
        t.lines()
    t0 = None
    seen_dead = set()
    last = {}
    uuid_re = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

    def nice(s):
        return uuid_re.sub(lambda m: names.get(m.group(0), hosts.get(m.group(0), m.group(0)[:8])), s)

    def show(ts, who, text):
        rel = (ts - t0) / 1e9 if t0 else 0.0
        print("  [+%5.2fs] %-6s %s" % (rel, who, text), flush=True)

    while True:
        if t0 is None:
            try:
                with open(t0file) as f:
                    t0 = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        for i, t in enumerate(tails):
            lines = t.lines()
            ts = now_ns()
            for l in lines:
                s = l.decode(errors="replace")
                if "certainly dead" in s and "liveness:" in s:
                    # One line per dead host: the first survivor to say it.
                    m = re.search(r"\(node (\d+)\)", s)
                    key = m.group(1) if m else s
                    if key in seen_dead:
                        continue
                    seen_dead.add(key)
                    show(ts, "host%d" % (i + 1), nice(s[s.index("liveness:"):]))
                elif "failover:" in s:
                    text = nice(s[s.index("failover:"):])
                    # The executor's own bookkeeping is not the story; a
                    # line the host logged again within 1 s is shown once.
                    if any(w in text for w in QUIET) or ts - last.get((i, text), -10**10) < 10**9:
                        continue
                    last[(i, text)] = ts
                    show(ts, "host%d" % (i + 1), text)
                elif "liveness:" in s and ("decided to FENCE" in s or "the liveset's master is" in s):
                    text = nice(s[s.index("liveness:"):])
                    if text not in seen_dead:  # said by every survivor: once
                        seen_dead.add(text)
                        show(ts, "host%d" % (i + 1), text)
        for l in ledger.lines():
            f = l.decode(errors="replace").split()
            if len(f) < 4 or t0 is None or int(f[0]) < t0:
                continue
            vm = names.get(f[2], f[2][:8])
            if f[3] == "start":
                show(int(f[0]), f[1], "ledger: %s domain created (booting)" % vm)
            elif f[3] == "running":
                show(int(f[0]), f[1], "ledger: %s RUNNING" % vm)
            elif f[3] == "stop":
                show(int(f[0]), f[1], "ledger: %s stopped (%s)" % (vm, " ".join(f[4:])))
        time.sleep(0.02)


def analyze(ledger, stamped, t0, lost, protected):
    """DEAD: the later, over the lost hosts, of the first survivor's
    "(node N) is certainly dead" line (else its executor's "failover: host
    ... is certainly dead" line, which names no node: then any); FIRST: the
    first ledger start, after t0, of a victim (a VM running on a lost host
    at t0) on another host; LAST: the latest, over the protected victims,
    of its first `running` line (its start when there is none) after t0 on
    another host.  ms after t0; "-" when missing."""
    ev = []
    with open(ledger) as f:
        for l in f:
            p = l.split()
            if len(p) >= 4:
                ev.append((int(p[0]), p[1], p[2], p[3]))
    ev.sort()
    where = {}
    for ts, host, vm, what in ev:
        if ts >= t0:
            break
        if what == "start":
            where[vm] = host
        elif what == "stop" and where.get(vm) == host:
            del where[vm]
    lostnames = {"host%d" % n for n in lost}
    victims = {vm for vm, h in where.items() if h in lostnames}
    first = None
    ran = {}
    started = {}
    for ts, host, vm, what in ev:
        if ts < t0 or vm not in victims or host in lostnames:
            continue
        if what == "start":
            if first is None:
                first = ts
            started.setdefault(vm, ts)
        elif what == "running":
            ran.setdefault(vm, ts)
    prot = victims & protected
    last, nran = None, 0
    for vm in prot:
        ts = ran.get(vm, started.get(vm))
        if ts is None:
            continue
        nran += 1
        last = ts if last is None or ts > last else last
    dead = None
    lines = []
    with open(stamped) as f:
        for l in f:
            p = l.split(" ", 2)
            if len(p) == 3:
                lines.append((int(p[0]), int(p[1]), p[2]))
    for n in lost:
        d = None
        for ts, h, s in lines:
            if h in lost or ts < t0:
                continue
            if "(node %d) is certainly dead" % n in s:
                d = ts
                break
        if d is None:
            for ts, h, s in lines:
                if h not in lost and ts >= t0 and "failover:" in s and "certainly dead" in s:
                    d = ts
                    break
        if d is None:
            dead = "miss"
            break
        dead = d if dead is None or d > dead else dead

    def ms(x):
        return "-" if x is None or x == "miss" else "%d" % ((x - t0) // 1000000)

    return "%s %s %s %d %d %d" % (ms(dead), ms(first), ms(last), len(victims), len(prot), nran)


def cmd_analyze(args):
    ledger, stamped, t0, lost, protfile = args
    lost = [int(x) for x in lost.split(",") if x]
    with open(protfile) as f:
        protected = {l.strip() for l in f if l.strip()}
    print(analyze(ledger, stamped, int(t0), lost, protected))


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmds = {"stamp": cmd_stamp, "poll": cmd_poll, "follow": cmd_follow, "analyze": cmd_analyze}
    if sys.argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        cmds[sys.argv[1]](sys.argv[2:])
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
