#!/usr/bin/env python3
"""Write latency and throughput of a clustered pool, from inside a lab host.

    cluster_client.py CREDS_JSON N [HOST]

Logs in to HOST (default: the first host) or, on a member, to the master (following HOST_IS_SLAVE), then makes N sequential
acknowledged writes (pool.add_to_other_config with fresh keys) and prints
    writes=N seconds=S per_s=R p50_ms=A p99_ms=B
Each write is acknowledged only once it is durable on every counted host.
"""
import json
import ssl
import sys
import time
import uuid
import xmlrpc.client


def proxy(url):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return xmlrpc.client.ServerProxy(url, context=ctx)


creds = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
url = creds["hosts"][sys.argv[3]] if len(sys.argv) > 3 else list(creds["hosts"].values())[0]
port = url.rstrip("/").rsplit(":", 1)[1]
s = proxy(url)
r = s.session.login_with_password(creds["user"], creds["password"], "1.1", "bench")
if r["Status"] != "Success" and r["ErrorDescription"][0] == "HOST_IS_SLAVE":
    s = proxy(f"https://{r['ErrorDescription'][1]}:{port}/")
    r = s.session.login_with_password(creds["user"], creds["password"], "1.1", "bench")
sess = r["Value"]
pool = s.pool.get_all(sess)["Value"][0]
tag = uuid.uuid4().hex[:8]
lat = []
t0 = time.monotonic()
for i in range(n):
    a = time.monotonic()
    r = s.pool.add_to_other_config(sess, pool, f"bench-{tag}-{i}", "x")
    lat.append((time.monotonic() - a) * 1000)
    if r["Status"] != "Success":
        sys.exit(f"write failed: {r['ErrorDescription']}")
t = time.monotonic() - t0
lat.sort()
print(f"writes={n} seconds={t:.2f} per_s={n / t:.0f} p50_ms={lat[n // 2]:.2f} "
      f"p99_ms={lat[min(n - 1, n * 99 // 100)]:.2f}")
