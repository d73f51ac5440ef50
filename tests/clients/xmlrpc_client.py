#!/usr/bin/env python3
"""Python's standard xmlrpc.client over TLS against a live hasvcd.

    python3 xmlrpc_client.py URL USER PASSWORD VM_NAME

Logs in, reads the pool, hosts and VMs, sets a VM's ha_restart_priority and
reads it back, checks an invalid value and a stale session are refused with
XAPI's errors, and logs out.  Exit 0 on success.
"""
import ssl
import sys
import xmlrpc.client

url, user, password, vm_name = sys.argv[1:5]


def fail(msg):
    print(f"python: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def value(reply):
    if reply.get("Status") != "Success":
        fail(f"call failed: {reply.get('ErrorDescription')}")
    return reply["Value"]


def error(reply):
    if reply.get("Status") != "Failure":
        fail(f"expected a failure, got {reply}")
    return reply["ErrorDescription"]


ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = xmlrpc.client.ServerProxy(url, context=ctx)

bad = error(s.session.login_with_password(user, password + "x"))
if bad[0] != "SESSION_AUTHENTICATION_FAILED":
    fail(f"bad password gave {bad}")
print(f"python: bad password refused with {bad[0]}")

session = value(s.session.login_with_password(user, password, "1.0", "python-test"))
pools = value(s.pool.get_all_records(session))
if len(pools) != 1:
    fail(f"expected one pool, got {len(pools)}")
hosts = value(s.host.get_all_records(session))
vms = value(s.VM.get_all_records(session))
print(f"python: {len(hosts)} host(s), {len(vms)} VM(s)")
ref = next((r for r, v in vms.items() if v["name_label"] == vm_name), None)
if ref is None:
    fail(f"no VM named {vm_name}")
methods = s.system.listMethods()
if "VM.set_ha_restart_priority" not in methods:
    fail("system.listMethods lacks VM.set_ha_restart_priority")

value(s.VM.set_ha_restart_priority(session, ref, "best-effort"))
got = value(s.VM.get_ha_restart_priority(session, ref))
if got != "best-effort":
    fail(f"read back {got!r}")
value(s.VM.set_order(session, ref, "3"))  # int64 travels as a string
rec = value(s.VM.get_record(session, ref))
if str(rec["order"]) != "3":
    fail(f"order read back as {rec['order']!r}")
print(f"python: {vm_name} priority={got} order={rec['order']}")

e = error(s.VM.set_ha_restart_priority(session, ref, "always"))
if e[0] != "INVALID_VALUE":
    fail(f"invalid priority gave {e}")
e = error(s.VM.set_start_delay(session, ref, "-1"))
if e[0] != "INVALID_VALUE":
    fail(f"negative start delay gave {e}")
value(s.session.logout(session))
e = error(s.pool.get_all_records(session))
if e[0] != "SESSION_INVALID":
    fail(f"stale session gave {e}")
print("python: OK")
