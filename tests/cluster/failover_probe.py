#!/usr/bin/env python3
"""Time from killing the master's hasvcd to the first write a new master acks.

    failover_probe.py CREDS_JSON OLD_MASTER KILL_COMMAND...

Runs inside a lab host's namespace.  First opens a session on every host but
OLD_MASTER (session.slave_local_login_with_password, so the password check is
done before the clock starts), then runs KILL_COMMAND, then tries
pool.set_name_description(pool, "failover-<ms>") on every surviving host in
turn, every 20 ms, until one answers Success.  Prints
    elapsed_ms=N host=NAME
and exits 0; exits 1 if no host acknowledges a write within 30 s.
"""
import json
import ssl
import subprocess
import sys
import time
import xmlrpc.client


def proxy(url):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return xmlrpc.client.ServerProxy(url, context=ctx)


def main():
    creds = json.load(open(sys.argv[1]))
    old = sys.argv[2]
    kill = sys.argv[3:]
    hosts = {}
    for name, url in creds["hosts"].items():
        if name == old:
            continue
        s = proxy(url)
        r = s.session.slave_local_login_with_password(creds["user"], creds["password"])
        if r["Status"] != "Success":
            sys.exit(f"failover_probe: {name}: login failed: {r['ErrorDescription']}")
        sess = r["Value"]
        pools = s.pool.get_all(sess)
        if pools["Status"] != "Success":
            sys.exit(f"failover_probe: {name}: {pools['ErrorDescription']}")
        hosts[name] = (s, sess, pools["Value"][0])
    t0 = time.monotonic()
    subprocess.run(kill, check=True)
    seen = {}
    while time.monotonic() - t0 < 30:
        for name, (s, sess, pool) in hosts.items():
            ms = int((time.monotonic() - t0) * 1000)
            try:
                r = s.pool.set_name_description(sess, pool, f"failover-{ms}")
            except OSError:
                continue
            if r["Status"] == "Success":
                ms = int((time.monotonic() - t0) * 1000)
                print(f"elapsed_ms={ms} host={name}")
                return 0
            seen[name] = r["ErrorDescription"][0]
        time.sleep(0.02)
    print(f"failover_probe: no write acknowledged within 30 s; last answers {seen}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
