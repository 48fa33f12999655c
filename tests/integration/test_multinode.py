# SPDX-License-Identifier: LGPL-2.1-or-later
"""Many nodes behind HAProxy (deploy/haproxy/haproxy.cfg, as shipped): three
nodes, each in a network namespace of the test's own with a veth link,
HAProxy in the test's namespace, a client driving several projects.

* test_proxy_*: the config and the harness against a stand-in HTTP node
  (which node answered, which project header, which session), so routing,
  pinning, health checks, failover and rejoin are checked without the daemon.
* test_lean_hostd_*: three real lean-hostd (process mode, the test double as
  the REPL) with --listen-http: each project's warm worker is hit on the same
  node, killing a node moves its projects and loses no answered call; a call
  in flight there ends as HAProxy's retryable 502 (JSON answers) or as a
  stream cut before its answer (SSE answers).

Root only (network namespaces); skipped with the reason otherwise.
"""

import json
import os
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))

import lbproxy  # noqa: E402
import netns  # noqa: E402

_why = netns.unavailable() or lbproxy.unavailable()
pytestmark = pytest.mark.skipif(_why is not None, reason=str(_why))

PROJECTS = [f"/srv/projects/p{i}" for i in range(12)]

# A stand-in node: answers POST /mcp with who it is, the Lean-Project header
# and the session; `initialize` opens a session (Mcp-Session-Id), a session
# this node did not open is 404 as the MCP transport says; "sleep" in the
# params delays the answer (a call in flight).
STANDIN = r"""
import json, sys, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
NAME, ADDR, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
SESSIONS = set()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        sid = self.headers.get("Mcp-Session-Id")
        extra = {}
        if body.get("method") == "initialize":
            sid = NAME + "-" + uuid.uuid4().hex
            SESSIONS.add(sid)
            extra["Mcp-Session-Id"] = sid
        elif sid and sid not in SESSIONS:
            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers(); return
        time.sleep(float((body.get("params") or {}).get("sleep", 0)))
        out = json.dumps({"jsonrpc": "2.0", "id": body.get("id"), "result": {
            "node": NAME, "project": self.headers.get("Lean-Project"), "session": sid}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(out)
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer((ADDR, PORT), H).serve_forever()
"""

STANDIN_PORT = 8000


def start_standin(node, name):
    node.standin = node.popen(["/usr/bin/python3", "-c", STANDIN, name, node.addr, str(STANDIN_PORT)])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = node.run(["/usr/bin/python3", "-c",
                      f"import socket; socket.create_connection(('{node.addr}', {STANDIN_PORT}), 1)"],
                     capture_output=True)
        if r.returncode == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"stand-in {name} did not listen")


@pytest.fixture
def standin_cluster(tmp_path):
    with netns.Nodes(3) as nodes:
        for i, node in enumerate(nodes, 1):
            start_standin(node, f"node{i}")
        proxy = lbproxy.HAProxy(tmp_path, [f"{n.addr}:{STANDIN_PORT}" for n in nodes])
        try:
            proxy.wait_states({"node1": "UP", "node2": "UP", "node3": "UP"})
            yield nodes, proxy
        finally:
            proxy.close()


def ask(proxy, project=None, session=None, method="tools/call", params=None, rid=1):
    h = {}
    if project:
        h["Lean-Project"] = project
    if session:
        h["Mcp-Session-Id"] = session
    return lbproxy.post(proxy.port, {"jsonrpc": "2.0", "id": rid, "method": method, "params": params or {}}, h)


def placement(proxy):
    out = {}
    for p in PROJECTS:
        status, _, body = ask(proxy, p)
        assert status == 200, (status, body)
        assert body["result"]["project"] == p
        out[p] = body["result"]["node"]
    return out


def test_proxy_routes_each_project_to_one_node(standin_cluster):
    nodes, proxy = standin_cluster
    first = placement(proxy)
    for _ in range(3):
        assert placement(proxy) == first
    # consistent hashing spreads 12 projects over more than one node
    assert len(set(first.values())) >= 2, first


def test_proxy_pins_sessions_without_project_header(standin_cluster):
    nodes, proxy = standin_cluster
    seen = set()
    for k in range(3):
        status, hdrs, body = ask(proxy, method="initialize", rid=k)
        assert status == 200
        sid = hdrs["mcp-session-id"]
        home = body["result"]["node"]
        assert sid.startswith(home + "-")
        seen.add(home)
        for i in range(4):
            status, _, body = ask(proxy, session=sid, rid=10 + i)
            assert status == 200 and body["result"]["node"] == home and body["result"]["session"] == sid


def test_proxy_failover_and_rejoin(standin_cluster):
    nodes, proxy = standin_cluster
    before = placement(proxy)
    victim = before[PROJECTS[0]]
    vnode = nodes[int(victim[-1]) - 1]

    # a call in flight on the victim when it dies gets HAProxy's 502, which
    # the shipped errorfile makes a JSON-RPC error with a retryable code
    result = {}

    def slow():
        result["r"] = ask(proxy, PROJECTS[0], params={"sleep": 3})

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(1.0)
    vnode.standin.kill()
    vnode.standin.wait()
    t.join(30)
    status, hdrs, body = result["r"]
    assert status == 502, (status, body)
    assert hdrs["content-type"] == "application/json"
    assert body["error"]["data"] == {"code": "node_unavailable", "retryable": True, "http_status": 502}

    # before the health check notices, a connect failure is retried on another node
    status, _, body = ask(proxy, PROJECTS[0])
    assert status == 200 and body["result"]["node"] != victim

    proxy.wait_states({victim: "DOWN"})
    during = placement(proxy)
    for p in PROJECTS:
        if before[p] == victim:
            assert during[p] != victim
        else:
            # only the dead node's projects move
            assert during[p] == before[p], (p, before[p], during[p])

    # the node comes back: its projects return, the others stay (bounded rebalancing)
    start_standin(vnode, victim)
    proxy.wait_states({victim: "UP"})
    assert placement(proxy) == before


# ------------------------------------------------------------ real lean-hostd

HTTP_PORT = 8808


def _http_unsupported():
    hostd = os.environ.get("LEAN_HOSTD")
    if not hostd or not os.path.exists(hostd):
        return "LEAN_HOSTD is not set (run through `meson test`)"
    out = subprocess.run([hostd, "--help"], capture_output=True, text=True).stdout
    if "--listen-http" not in out:
        return "this lean-hostd has no --listen-http (MCP Streamable HTTP)"
    return None


class McpSession:
    """One MCP session per project through the proxy, as the README tells clients."""

    def __init__(self, port, project):
        self.port = port
        self.project = str(project)
        self.sid = None
        self.rid = 0

    def post(self, method, params=None, notify=False, accept=None):
        h = {"Lean-Project": self.project, "MCP-Protocol-Version": "2025-06-18"}
        if accept:
            h["Accept"] = accept
        if self.sid:
            h["Mcp-Session-Id"] = self.sid
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        if not notify:
            self.rid += 1
            msg["id"] = self.rid
        return lbproxy.post(self.port, msg, h)

    def initialize(self):
        self.sid = None
        status, hdrs, body = self.post("initialize", {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "test_multinode", "version": "0"}})
        assert status == 200, (status, body)
        self.sid = hdrs.get("mcp-session-id")
        assert self.sid, hdrs
        status, _, _ = self.post("notifications/initialized", notify=True)
        assert status in (200, 202), status

    def lean_run(self, code, accept=None):
        """(status, headers, body): body is the tools/call answer, HAProxy's
        error body, or lbproxy.Truncated."""
        return self.post("tools/call", {"name": "lean_run", "arguments": {"project": self.project, "code": code}},
                         accept=accept)


def _ppid(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _where(nodes, body):
    """(node index, worker pid, generation) of a tools/call answer."""
    res = body["result"]
    assert not res.get("isError"), res
    facts = res["structuredContent"]["runtime"]
    pid = facts["worker_pid"]
    parent = _ppid(pid)
    idx = [n.daemon.pid for n in nodes].index(parent)
    return idx, pid, facts["worker_generation"]


@pytest.fixture
def hostd_cluster(tmp_path):
    why = _http_unsupported()
    if why:
        pytest.skip(why)
    from conftest import base_env
    with netns.Nodes(3) as nodes:
        for i, node in enumerate(nodes):
            tmp = tmp_path / f"node{i}"
            tmp.mkdir()
            env = base_env(str(tmp))
            node.log_path = tmp / "lean-hostd.log"
            log = open(node.log_path, "wb")
            sock = os.path.join(env["XDG_RUNTIME_DIR"], "lean-host", "mcp.sock")
            node.daemon = node.popen([os.environ["LEAN_HOSTD"], "--listen", sock,
                                      "--listen-http", f"{node.addr}:{HTTP_PORT}", "--log-level", "debug"],
                                     env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     cwd=str(tmp))
            log.close()
        proxy = lbproxy.HAProxy(tmp_path, [f"{n.addr}:{HTTP_PORT}" for n in nodes])
        try:
            try:
                proxy.wait_states({"node1": "UP", "node2": "UP", "node3": "UP"}, timeout=30)
            except AssertionError:
                logs = "\n".join(n.log_path.read_text(errors="replace")[-2000:] for n in nodes)
                raise AssertionError("nodes not UP\n" + logs)
            yield nodes, proxy
        finally:
            proxy.close()
            for n in nodes:
                if n.daemon.poll() is None:
                    n.daemon.terminate()
                    try:
                        n.daemon.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        n.daemon.kill()
            for n in nodes:
                log = n.log_path.read_text(errors="replace")
                for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                    assert marker not in log, log[-6000:]


def _projects(tmp_path, n):
    out = []
    for i in range(n):
        root = tmp_path / "projects" / f"p{i}"
        root.mkdir(parents=True)
        (root / "lakefile.lean").write_text("import Lake\nopen Lake DSL\n\npackage proj\n")
        (root / "lean-toolchain").write_text("leanprover/lean4:v4.33.0-rc2\n")
        out.append(root)
    return out


def test_lean_hostd_warm_worker_on_one_node_and_failover(hostd_cluster, tmp_path):
    nodes, proxy = hostd_cluster
    projects = _projects(tmp_path, 8)
    sessions = {p: McpSession(proxy.port, p) for p in projects}
    home = {}
    answered = []  # every call that got an answer: (project, body)

    # each project's calls hit the same warm worker on one node
    for p, s in sessions.items():
        s.initialize()
        seen = set()
        for k in range(3):
            status, _, body = s.lean_run(f"def x{k} := {k}")
            assert status == 200, (status, body)
            answered.append((p, body))
            seen.add(_where(nodes, body))
        assert len(seen) == 1, seen  # same node, same worker pid, same generation
        home[p] = seen.pop()
    assert len({h[0] for h in home.values()}) >= 2, home

    # kill the node holding projects[0] while two calls are in flight there:
    # one answered as a stream (the client accepts text/event-stream, as MCP
    # clients must), its headers already sent; one waiting for a JSON answer
    victim = home[projects[0]][0]
    moved = [p for p in projects if home[p][0] == victim]
    stayed = [p for p in projects if home[p][0] != victim]
    second = McpSession(proxy.port, projects[0])
    second.initialize()
    result = {}

    def stream_call():
        result["sse"] = sessions[projects[0]].lean_run("-- @double sleep 8\ndef slow := 1")

    def json_call():
        result["json"] = second.lean_run("def queued := 1", accept="application/json")

    threads = [threading.Thread(target=stream_call), threading.Thread(target=json_call)]
    for t in threads:
        t.start()
        time.sleep(0.7)
    time.sleep(1.0)
    nodes[victim].daemon.kill()
    nodes[victim].daemon.wait()
    for t in threads:
        t.join(60)
    # the JSON call: HAProxy's 502 with the retryable node_unavailable body
    status, hdrs, body = result["json"]
    assert status == 502, (status, body)
    assert body["error"]["data"]["code"] == "node_unavailable" and body["error"]["data"]["retryable"] is True
    # the streamed call: 200 and text/event-stream were sent, the stream ends
    # without the answer; the client knows the call has no answer (not lost silently)
    status, hdrs, body = result["sse"]
    assert status == 200 and hdrs["content-type"].startswith("text/event-stream"), (status, hdrs, body)
    assert isinstance(body, lbproxy.Truncated), body
    proxy.wait_states({f"node{victim + 1}": "DOWN"})

    # its projects move: the old session is unknown on the new node (404),
    # a new session there answers, from a worker of another node
    for p in moved:
        status, _, body = sessions[p].lean_run("def again := 1")
        assert status in (404, 502, 503), (status, body)
        sessions[p].initialize()
        status, _, body = sessions[p].lean_run("def again := 1")
        assert status == 200, (status, body)
        answered.append((p, body))
        assert _where(nodes, body)[0] != victim
    # the others stay on their node and their warm worker
    for p in stayed:
        status, _, body = sessions[p].lean_run("def still := 1")
        assert status == 200, (status, body)
        answered.append((p, body))
        assert _where(nodes, body) == home[p]

    # no answered call was lost or wrong: every answer is a successful lean_run result
    for p, body in answered:
        assert body["jsonrpc"] == "2.0" and not body["result"].get("isError"), body
        assert "runtime" in body["result"]["structuredContent"], json.dumps(body)[:2000]
