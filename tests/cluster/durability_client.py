#!/usr/bin/env python3
"""A pool client that keeps writing while masters come and go, then audits.

    durability_client.py CREDS_JSON COUNT PROGRESS_FILE   write COUNT keys
    durability_client.py CREDS_JSON --audit ACKED_FILE     check every host

Write mode: pool.add_to_other_config(pool, "dN", "N") for N = 1..COUNT, one at
a time, against whichever host is the master: a connection failure moves on
to the next host, HOST_IS_SLAVE follows the named master, SESSION_INVALID and
HOST_STILL_BOOTING log in again / retry, any other failure retries the same
key (a retry answered MAP_DUPLICATE_KEY proves the earlier attempt landed).
Only keys answered Success are written to PROGRESS_FILE, one per line, as they
are acknowledged: those are the acknowledged writes.

Audit mode: on every host, through a session on that host itself
(session.slave_local_login_with_password), every acknowledged key must be in
the pool's other_config.  Exit 0 when all are, 1 otherwise (naming them).
"""
import json
import socket
import ssl
import sys
import time
import xmlrpc.client

CALL_TIMEOUT = 10.0
GIVE_UP_S = 120.0
PACE_S = 0.03  # between writes, so that the test's kills land mid-stream


def proxy(url):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    class T(xmlrpc.client.SafeTransport):
        def make_connection(self, host):
            conn = super().make_connection(host)
            conn.timeout = CALL_TIMEOUT
            return conn

    return xmlrpc.client.ServerProxy(url, transport=T(context=ctx))


def url_of(addr, port):
    return f"https://{addr}:{port}/"


class Pool:
    def __init__(self, creds):
        self.user = creds["user"]
        self.password = creds["password"]
        self.urls = list(creds["hosts"].values())
        self.port = self.urls[0].rstrip("/").rsplit(":", 1)[1]
        self.i = 0
        self.s = None
        self.session = None
        self.pool_ref = None

    def next_host(self, url=None):
        if url is None:
            self.i = (self.i + 1) % len(self.urls)
            url = self.urls[self.i]
        self.s = proxy(url)
        self.session = None

    def login(self):
        if self.s is None:
            self.next_host(self.urls[self.i])
        r = self.s.session.login_with_password(self.user, self.password, "1.1", "durability")
        if r["Status"] != "Success":
            return r["ErrorDescription"]
        self.session = r["Value"]
        pools = self.s.pool.get_all(self.session)
        if pools["Status"] != "Success":
            self.session = None
            return pools["ErrorDescription"]
        self.pool_ref = pools["Value"][0]
        return None

    def write(self, key, value):
        """Returns True once the write is acknowledged."""
        deadline = time.monotonic() + GIVE_UP_S
        retried = False
        while time.monotonic() < deadline:
            try:
                if self.session is None:
                    err = self.login()
                    if err is not None:
                        self.handle(err)
                        continue
                r = self.s.pool.add_to_other_config(self.session, self.pool_ref, key, value)
                if r["Status"] == "Success":
                    return True
                err = r["ErrorDescription"]
                if err[0] == "MAP_DUPLICATE_KEY" and retried:
                    return True  # an earlier attempt landed
                retried = True
                self.handle(err)
            except (OSError, socket.timeout, xmlrpc.client.ProtocolError, ssl.SSLError):
                retried = True
                self.next_host()
                time.sleep(0.1)
        sys.exit(f"durability: key {key} not acknowledged within {GIVE_UP_S} s")

    def handle(self, err):
        code = err[0]
        if code == "HOST_IS_SLAVE" and len(err) > 1 and err[1]:
            self.next_host(url_of(err[1], self.port))
        elif code == "SESSION_INVALID":
            self.session = None
        else:
            if code not in ("HOST_STILL_BOOTING", "INTERNAL_ERROR"):
                print(f"durability: retrying after {err}", file=sys.stderr)
            time.sleep(0.2)
            if code == "HOST_STILL_BOOTING":
                self.next_host()


def write_mode(creds, count, progress):
    p = Pool(creds)
    with open(progress, "a", buffering=1) as out:
        for n in range(1, count + 1):
            key = f"d{n}"
            if p.write(key, str(n)):
                out.write(key + "\n")
            time.sleep(PACE_S)
    return 0


def audit_mode(creds, acked_file):
    with open(acked_file) as f:
        acked = [line.strip() for line in f if line.strip()]
    bad = 0
    for name, url in creds["hosts"].items():
        s = proxy(url)
        r = s.session.slave_local_login_with_password(creds["user"], creds["password"])
        if r["Status"] != "Success":
            print(f"durability: {name}: login failed: {r['ErrorDescription']}")
            bad += 1
            continue
        sess = r["Value"]
        pools = s.pool.get_all_records(sess)
        if pools["Status"] != "Success":
            print(f"durability: {name}: pool read failed: {pools['ErrorDescription']}")
            bad += 1
            continue
        oc = list(pools["Value"].values())[0]["other_config"]
        missing = [k for k in acked if k not in oc]
        if missing:
            print(f"durability: {name}: {len(missing)} acknowledged writes missing: "
                  f"{missing[:10]}")
            bad += 1
        else:
            print(f"durability: {name}: all {len(acked)} acknowledged writes present")
    return 1 if bad else 0


def main():
    creds = json.load(open(sys.argv[1]))
    if sys.argv[2] == "--audit":
        return audit_mode(creds, sys.argv[3])
    return write_mode(creds, int(sys.argv[2]), sys.argv[3])


if __name__ == "__main__":
    sys.exit(main())
