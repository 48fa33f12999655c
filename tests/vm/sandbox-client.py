# SPDX-License-Identifier: LGPL-2.1-or-later
"""sandbox-client.py ENFORCEMENT -- one lean_run through the daemon of the
user unit ($XDG_RUNTIME_DIR/lean-host/mcp.sock) with the test double's
probes: the worker must write in ~/proj only, not read ~/secret.txt, reach
no listener on loopback and not see SECRET_TOKEN (tests/vm/sandbox-guest)."""

import json, os, socket, sys

enforcement = sys.argv[1]
home = os.environ["HOME"]
proj = os.path.join(home, "proj")
sock = socket.socket(socket.AF_UNIX)
sock.settimeout(120)
sock.connect(os.path.join(os.environ["XDG_RUNTIME_DIR"], "lean-host", "mcp.sock"))
f = sock.makefile("rwb")
# a listener on the guest's loopback: a worker with network could reach it
lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
lst.bind(("127.0.0.1", 0))
lst.listen(4)
port = lst.getsockname()[1]


def request(i, method, params):
    f.write((json.dumps({"jsonrpc": "2.0", "id": i, "method": method, "params": params}) + "\n").encode())
    f.flush()
    while True:
        msg = json.loads(f.readline())
        if msg.get("id") == i:
            return msg


def messages(o):
    if isinstance(o, dict):
        for k, v in o.items():
            yield from (v if k == "messages" else messages(v))
    elif isinstance(o, list):
        for v in o:
            yield from messages(v)


request(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                          "clientInfo": {"name": "sandbox-check", "version": "0"}})
f.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
f.flush()
code = "\n".join([f"-- @double probe write {proj}/inside.txt", f"-- @double probe write {home}/outside.txt",
                  f"-- @double probe read {home}/secret.txt", f"-- @double probe connect 127.0.0.1 {port}",
                  "-- @double probe env SECRET_TOKEN", "def a := 1"])
result = request(2, "tools/call", {"name": "lean_run", "arguments": {"project": proj, "code": code}})["result"]
body = result.get("structuredContent") or json.loads(result["content"][0]["text"])
probes = {m["data"].split(": ", 1)[0]: m["data"].split(": ", 1)[1] for m in messages(body)
          if m.get("data", "").startswith("probe ")}
runtime = body["runtime"]
print(json.dumps({"probes": probes, "enforcement": runtime["enforcement"], "sandbox": runtime.get("sandbox"),
                  "scope_unit": runtime.get("scope_unit")}, indent=1))
assert not result.get("isError"), body
assert runtime["enforcement"] == enforcement and runtime.get("sandbox") == "bwrap", runtime
assert probes[f"probe write {proj}/inside.txt"] == "ok" and os.path.exists(f"{proj}/inside.txt"), probes
assert not os.path.exists(f"{home}/outside.txt"), probes
assert probes[f"probe read {home}/secret.txt"].startswith("failed:"), probes
assert probes[f"probe connect 127.0.0.1 {port}"].startswith("failed:"), probes
assert probes["probe env SECRET_TOKEN"] == "failed: unset", probes
print(f"ok: {enforcement} mode confines the worker")
