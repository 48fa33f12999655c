# SPDX-License-Identifier: LGPL-2.1-or-later
"""MCP over Streamable HTTP (lean-hostd --listen-http, src/http): sessions,
JSON and SSE answers, the GET stream, DELETE, the bearer token, Host/Origin
checks, socket activation, and one daemon serving the same project and
worker to a Unix-socket client and an HTTP client. Raw HTTP with
http.client, so every status and header is the one on the wire."""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import binary, base_env, lean_run_args, runtime_facts, tool_body, error_of

INIT = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test-http", "version": "0"}}
BOTH = "application/json, text/event-stream"


def http_address(daemon, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(r"MCP over HTTP on http://([0-9.]+):(\d+)/mcp", daemon.log())
        if m:
            return m.group(1), int(m.group(2))
        assert daemon.alive(), daemon.log()[-4000:]
        time.sleep(0.05)
    raise AssertionError("no HTTP listener\n" + daemon.log()[-4000:])


class Http:
    def __init__(self, host, port, token=None):
        self.host, self.port, self.token = host, port, token
        self.session = None

    def request(self, method, body=None, **kw):
        c = self.send(method, body, **kw)
        return c, c.getresponse()

    def send(self, method, body=None, headers=None, accept=BOTH, session=True, timeout=30):
        """The request only: the caller reads the response (c.getresponse())."""
        c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        h = {"Accept": accept} if accept else {}
        if body is not None:
            h["Content-Type"] = "application/json"
        if session and self.session:
            h["Mcp-Session-Id"] = self.session
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        h.update(headers or {})
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        c.request(method, "/mcp", body=data, headers=h)
        return c

    def post(self, body, **kw):
        c, r = self.request("POST", body, **kw)
        data = r.read()
        c.close()
        return r, data

    def initialize(self):
        r, data = self.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": INIT})
        assert r.status == 200, (r.status, data)
        self.session = r.getheader("Mcp-Session-Id")
        assert self.session and re.fullmatch(r"[0-9a-f]{32}", self.session), self.session
        r2, d2 = self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        assert r2.status == 202 and d2 == b"", (r2.status, d2)
        return json.loads(data)["result"]

    def call(self, rid, method, params=None, accept=BOTH):
        """One request → (response, content type)."""
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        r, data = self.post(msg, accept=accept)
        assert r.status == 200, (r.status, data)
        ctype = r.getheader("Content-Type")
        if ctype.startswith("text/event-stream"):
            msgs = sse_messages(data.decode())
            answers = [m for m in msgs if m.get("id") == rid]
            assert len(answers) == 1, msgs
            return answers[0], ctype
        assert ctype.startswith("application/json"), ctype
        return json.loads(data), ctype


def sse_messages(text):
    out = []
    for event in text.split("\n\n"):
        data = [line[5:].lstrip() for line in event.split("\n") if line.startswith("data:")]
        if data and "".join(data).strip():
            out.append(json.loads("\n".join(data)))
    return out


@pytest.fixture
def hdaemon(start_daemon):
    return start_daemon(args=["--listen-http", "127.0.0.1:0"])


@pytest.fixture
def h(hdaemon):
    host, port = http_address(hdaemon)
    return Http(host, port)


def test_initialize_session_and_tools_list(h, hdaemon):
    result = h.initialize()
    assert result["protocolVersion"] == "2025-06-18"
    assert "tools" in result["capabilities"]
    resp, ctype = h.call(1, "tools/list")
    names = {t["name"] for t in resp["result"]["tools"]}
    # the same tools as on the Unix socket
    with hdaemon.client() as c:
        c.initialize()
        unix = {t["name"] for t in c.request("tools/list")["result"]["tools"]}
    assert names == unix and "lean_run" in names
    resp, _ = h.call(2, "ping")
    assert resp["result"] == {}
    resp, _ = h.call(3, "logging/setLevel", {"level": "warning"})
    assert resp["result"] == {}


def test_versions_2025_03_26_and_2025_11_25(h):
    for v in ("2025-03-26", "2025-11-25"):
        r, data = h.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": dict(INIT, protocolVersion=v)},
                         session=False)
        assert r.status == 200 and json.loads(data)["result"]["protocolVersion"] == v
        sid = r.getheader("Mcp-Session-Id")
        r, data = h.post({"jsonrpc": "2.0", "id": 1, "method": "ping"},
                         headers={"Mcp-Session-Id": sid, "MCP-Protocol-Version": v}, session=False)
        assert r.status == 200, data
    h.initialize()
    r, data = h.post({"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"MCP-Protocol-Version": "1999-01-01"})
    assert r.status == 400, data


def test_json_or_sse_per_accept(h):
    h.initialize()
    resp, ctype = h.call(1, "ping", accept="application/json")
    assert ctype.startswith("application/json") and resp["result"] == {}
    resp, ctype = h.call(2, "ping", accept="text/event-stream")
    assert ctype.startswith("text/event-stream") and resp["result"] == {}
    r, data = h.post({"jsonrpc": "2.0", "id": 3, "method": "ping"}, accept="text/html")
    assert r.status == 406, data


def test_tools_call_json_and_sse(h, lean_project):
    h.initialize()
    # both accepted: a call answered later comes as an SSE stream
    resp, ctype = h.call(1, "tools/call", {"name": "lean_run",
                                           "arguments": lean_run_args(lean_project, "def a := 1")})
    assert ctype.startswith("text/event-stream"), ctype
    assert resp["result"].get("isError") is not True, resp
    assert runtime_facts(resp["result"])["worker_generation"] >= 1
    # JSON only: the request waits (suspended) for the answer
    resp, ctype = h.call(2, "tools/call", {"name": "lean_run",
                                           "arguments": lean_run_args(lean_project, "-- @double sleep 1\ndef b := 2")},
                         accept="application/json")
    assert ctype.startswith("application/json"), ctype
    assert resp["result"].get("isError") is not True, resp
    # a tool error is a result with isError and a stable code
    resp, _ = h.call(3, "tools/call", {"name": "lean_run", "arguments": lean_run_args("/nonexistent/x", "def c := 3")})
    assert resp["result"]["isError"] is True
    assert error_of(resp["result"])["code"]


def test_same_project_and_worker_for_both_transports(hdaemon, h, lean_project):
    with hdaemon.client() as c:
        c.initialize()
        facts_unix = runtime_facts(c.call_tool("lean_run", lean_run_args(lean_project, "def u := 1")))
    h.initialize()
    resp, _ = h.call(1, "tools/call", {"name": "lean_run", "arguments": lean_run_args(lean_project, "def v := 2")})
    facts_http = runtime_facts(resp["result"])
    assert facts_http["worker_generation"] == facts_unix["worker_generation"]
    assert facts_http["worker_pid"] == facts_unix["worker_pid"]


def test_batch_2025_03_26(h):
    r, data = h.post({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                      "params": dict(INIT, protocolVersion="2025-03-26")}, session=False)
    h.session = r.getheader("Mcp-Session-Id")
    r, data = h.post([{"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"jsonrpc": "2.0", "id": 2, "method": "ping"}],
                     accept="application/json")
    assert r.status == 200
    assert sorted(m["id"] for m in json.loads(data)) == [1, 2]


def test_get_stream_and_delete(h):
    h.initialize()
    c, r = h.request("GET", accept="text/event-stream")
    assert r.status == 200 and r.getheader("Content-Type").startswith("text/event-stream")
    # one GET stream per session
    c2, r2 = h.request("GET", accept="text/event-stream")
    assert r2.status == 409
    r2.read()
    c2.close()
    # DELETE ends the session, and with it the stream
    c3, r3 = h.request("DELETE", accept=None)
    assert r3.status == 200
    r3.read()
    c3.close()
    rest = r.read()  # returns at the end of the stream
    assert b"data:" not in rest
    c.close()
    r, data = h.post({"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert r.status == 404, data
    assert json.loads(data)["error"]["message"]


def test_session_errors(h):
    r, data = h.post({"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert r.status == 400, data  # no session id
    r, data = h.post({"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"Mcp-Session-Id": "0" * 32})
    assert r.status == 404, data
    c, r = h.request("GET", accept="text/event-stream", headers={"Mcp-Session-Id": "f" * 32})
    assert r.status == 404
    c.close()
    c, r = h.request("DELETE", headers={"Mcp-Session-Id": "f" * 32})
    assert r.status == 404
    c.close()
    # no session id: 400 on GET and DELETE too, with the reason in the body
    for method, accept in (("GET", "text/event-stream"), ("DELETE", None)):
        c, r = h.request(method, accept=accept)
        assert r.status == 400, method
        assert "Mcp-Session-Id" in json.loads(r.read())["error"]["message"], method
        c.close()
    c, r = h.request("PUT", body={})
    assert r.status == 405
    c.close()
    # a failed initialize opens no session
    r, data = h.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}})
    assert r.status == 200 and "error" in json.loads(data)
    assert r.getheader("Mcp-Session-Id") is None
    # not JSON
    h.initialize()
    r, data = h.post(b"{not json")
    assert json.loads(data)["error"]["code"] == -32700
    r, data = h.post({"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"Content-Type": "text/plain"})
    assert r.status == 415


def test_dns_rebinding_host_and_origin(h):
    r, data = h.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": INIT},
                     headers={"Host": "evil.example.com"})
    assert r.status == 403, data
    r, data = h.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": INIT},
                     headers={"Origin": "http://evil.example.com"})
    assert r.status == 403, data
    assert r.getheader("Mcp-Session-Id") is None
    for origin in ("http://localhost:3000", "http://127.0.0.1", "https://[::1]:8443"):
        r, data = h.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": INIT},
                         headers={"Origin": origin, "Host": f"localhost:{h.port}"})
        assert r.status == 200, (origin, data)


def test_bearer_token(start_daemon, tmp_path):
    tok = tmp_path / "token"
    tok.write_text("s3cret-token\n")
    d = start_daemon(args=["--listen-http", "127.0.0.1:0"], env={"LEAN_HOST_MCP_HTTP_TOKEN_FILE": str(tok)})
    host, port = http_address(d)
    anon = Http(host, port)
    r, data = anon.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": INIT})
    assert r.status == 401, data
    assert r.getheader("WWW-Authenticate", "").startswith("Bearer")
    wrong = Http(host, port, token="s3cret-tokeX")
    r, data = wrong.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": INIT})
    assert r.status == 401
    c, r = anon.request("GET", accept="text/event-stream")
    assert r.status == 401
    c.close()
    good = Http(host, port, token="s3cret-token")
    good.initialize()
    resp, _ = good.call(1, "ping")
    assert resp["result"] == {}
    # the session id alone is not enough
    anon.session = good.session
    r, data = anon.post({"jsonrpc": "2.0", "id": 2, "method": "ping"})
    assert r.status == 401


def test_unreadable_token_file_is_a_startup_error(tmp_path):
    env = base_env(str(tmp_path))
    env["LEAN_HOST_MCP_HTTP_TOKEN_FILE"] = str(tmp_path / "missing")
    p = subprocess.run([binary("LEAN_HOSTD"), "--listen", str(tmp_path / "s.sock"), "--listen-http", "127.0.0.1:0"],
                       env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert p.returncode != 0
    assert b"bearer token" in p.stderr


def test_cancel_over_http(h, lean_project):
    h.initialize()
    c, r = h.request("POST", {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                              "params": {"name": "lean_run",
                                         "arguments": lean_run_args(lean_project, "-- @double sleep 60\ndef a := 1")}})
    assert r.status == 200 and r.getheader("Content-Type").startswith("text/event-stream")
    time.sleep(1)
    r2, d2 = h.post({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}})
    assert r2.status == 202
    # a cancelled request gets no answer (MCP): its stream ends without one
    t0 = time.monotonic()
    msgs = sse_messages(r.read().decode())
    assert time.monotonic() - t0 < 10
    assert not [m for m in msgs if m.get("id") == 7], msgs
    c.close()
    # the session goes on
    resp, _ = h.call(8, "ping")
    assert resp["result"] == {}
    # the same for a request waiting for its JSON answer
    c = h.send("POST", {"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                              "params": {"name": "lean_run",
                                         "arguments": lean_run_args(lean_project, "-- @double sleep 60\ndef b := 1")}},
                     accept="application/json")
    time.sleep(1)
    r2, d2 = h.post({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 9}})
    assert r2.status == 202
    r = c.getresponse()
    body = json.loads(r.read())
    assert body["id"] == 9 and "cancelled" in body["error"]["message"], body
    c.close()


def test_sigterm_ends_streams(hdaemon, h, lean_project):
    h.initialize()
    c, r = h.request("POST", {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                              "params": {"name": "lean_run",
                                         "arguments": lean_run_args(lean_project, "-- @double sleep 60\ndef a := 1")}})
    assert r.status == 200
    time.sleep(1)
    hdaemon.proc.send_signal(signal.SIGTERM)
    msgs = sse_messages(r.read().decode())
    answers = [m for m in msgs if m.get("id") == 1]
    assert len(answers) == 1, msgs
    assert error_of(answers[0]["result"])["code"] == "shutting_down"
    assert hdaemon.stop() == 0, hdaemon.log()[-4000:]


@pytest.mark.parametrize("with_unix", [False, True])
def test_socket_activation(tmp_path, with_unix):
    """lean-hostd-http.socket's fd (named "http") alone, or after the Unix
    socket's as systemd passes both to lean-hostd.service."""
    activate = shutil.which("systemd-socket-activate")
    if not activate:
        pytest.skip("systemd-socket-activate is not installed")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    env = base_env(str(tmp_path))
    sock = str(tmp_path / "run" / "s.sock")
    log = open(tmp_path / "d.log", "wb")
    if with_unix:
        os.makedirs(os.path.dirname(sock), exist_ok=True)
        argv = [activate, "-l", sock, "-l", f"127.0.0.1:{port}", "--fdname=lean-hostd.socket:http",
                binary("LEAN_HOSTD"), "--log-level", "debug"]
    else:
        argv = [activate, "-l", f"127.0.0.1:{port}", "--fdname=http",
                binary("LEAN_HOSTD"), "--listen", sock, "--log-level", "debug"]
    p = subprocess.Popen(argv,
                         env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        deadline = time.monotonic() + 20
        h = Http("127.0.0.1", port)
        while True:
            try:
                h.initialize()
                break
            except (ConnectionError, OSError):
                assert time.monotonic() < deadline and p.poll() is None, (tmp_path / "d.log").read_text()
                time.sleep(0.1)
        resp, _ = h.call(1, "ping")
        assert resp["result"] == {}
        assert f"MCP over HTTP on http://127.0.0.1:{port}/mcp" in (tmp_path / "d.log").read_text()
        # and the Unix socket serves too
        from conftest import Client
        with Client(sock) as c:
            c.initialize()
            assert c.request("ping")["result"] == {}
        if with_unix:
            assert "the socket passed by systemd" in (tmp_path / "d.log").read_text()
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(30)


@pytest.mark.parametrize("listen", ["no-port", "127.0.0.1:", "127.0.0.1:99999x"])
def test_invalid_http_listen_is_a_config_error(tmp_path, listen):
    env = base_env(str(tmp_path))
    env["LEAN_HOST_MCP_HTTP_LISTEN"] = listen
    p = subprocess.run([binary("LEAN_HOSTD"), "--listen", str(tmp_path / "s.sock")],
                       env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert p.returncode == 78, p.stderr
    assert b"daemon.http_listen" in p.stderr or b"LEAN_HOST_MCP_HTTP_LISTEN" in p.stderr


def test_config_http_listen(start_daemon):
    d = start_daemon(env={"LEAN_HOST_MCP_HTTP_LISTEN": "127.0.0.1:0"})
    host, port = http_address(d)
    h = Http(host, port)
    h.initialize()


def test_node_sdk_streamable_http(hdaemon, h, lean_project):
    """The TS SDK's StreamableHTTPClientTransport (tests/client/http.mjs)."""
    node = shutil.which("node")
    client_dir = os.path.join(os.environ.get("SOURCE_ROOT", ""), "tests", "client")
    if not node:
        pytest.skip("node is not installed (packaging/quickstart.sh test installs it)")
    if not os.path.isdir(os.path.join(client_dir, "node_modules", "@modelcontextprotocol", "sdk")):
        pytest.skip("tests/client/node_modules is missing: run `npm ci` in tests/client")
    url = f"http://{h.host}:{h.port}/mcp"
    r = subprocess.run([node, os.path.join(client_dir, "http.mjs"), url,
                        json.dumps(lean_run_args(lean_project, "def sdk := 1"))],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    with hdaemon.client() as c:
        c.initialize()
        assert out["tools"] == len(c.request("tools/list")["result"]["tools"])
    assert out["isError"] is False, out
    assert re.fullmatch(r"[0-9a-f]{32}", out["session"])
    # the SDK ended its session with DELETE
    h.session = out["session"]
    r2, _ = h.post({"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert r2.status == 404


def test_allowed_hosts(start_daemon):
    d = start_daemon(args=["--listen-http", "127.0.0.1:0"],
                     env={"LEAN_HOST_MCP_HTTP_ALLOWED_HOSTS": "proxy.example, node2:8080"})
    host, port = http_address(d)
    h = Http(host, port)
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": INIT}
    for hdrs in ({"Host": "proxy.example:443", "Origin": "https://proxy.example"},
                 {"Host": "node2:8080"}, {"Host": f"127.0.0.1:{port}"}):
        r, data = h.post(init, headers=hdrs, session=False)
        assert r.status == 200, (hdrs, data)
    for hdrs in ({"Host": "evil.example"}, {"Host": "node2:8081"},
                 {"Host": "proxy.example", "Origin": "https://evil.example"}):
        r, data = h.post(init, headers=hdrs, session=False)
        assert r.status == 403, (hdrs, data)


def test_session_limit_evicts_the_least_recently_used_idle_one(start_daemon):
    d = start_daemon(args=["--listen-http", "127.0.0.1:0"], env={"LEAN_HOST_MCP_HTTP_MAX_SESSIONS": "2"})
    host, port = http_address(d)
    a, b, c = Http(host, port), Http(host, port), Http(host, port)
    a.initialize()
    b.initialize()
    a.call(1, "ping")  # b is now the least recently used
    c.initialize()
    assert a.call(2, "ping")[0]["result"] == {}
    r, data = b.post({"jsonrpc": "2.0", "id": 3, "method": "ping"})
    assert r.status == 404, data
    # sessions with an open stream are not evicted: then the limit answers 503
    streams = []
    for s in (a, c):
        conn, resp = s.request("GET", accept="text/event-stream")
        assert resp.status == 200
        streams.append(conn)
    r, data = Http(host, port).post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": INIT})
    assert r.status == 503, data
    assert json.loads(data)["error"]["message"]
    for conn in streams:
        conn.close()


def test_body_limit(start_daemon):
    d = start_daemon(args=["--listen-http", "127.0.0.1:0"], env={"LEAN_HOST_MCP_MAX_LINE_BYTES": "4096"})
    host, port = http_address(d)
    h = Http(host, port)
    h.initialize()
    big = {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": "x" * 8192}}
    r, data = h.post(big)
    assert r.status == 413, data
    assert h.call(2, "ping")[0]["result"] == {}


def test_invalid_batch_gets_its_errors(h):
    r, data = h.post({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                      "params": dict(INIT, protocolVersion="2025-03-26")}, session=False)
    h.session = r.getheader("Mcp-Session-Id")
    r, data = h.post([1, 2], accept="application/json")
    assert r.status == 200, data
    errors = json.loads(data)
    assert [e["error"]["code"] for e in errors] == [-32600, -32600] and all(e["id"] is None for e in errors)
    # a refused batch (2025-06-18 has none) is answered too
    h2 = Http(h.host, h.port)
    h2.initialize()
    r, data = h2.post([{"jsonrpc": "2.0", "id": 1, "method": "ping"}], accept="application/json")
    assert r.status == 200 and json.loads(data)["error"]["code"] == -32600, data


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_http_socket_unit(user_manager, lean_project):
    """lean-hostd-http.socket under a real (private) user manager: the first
    HTTP connection starts lean-hostd.service, which gets both sockets and
    serves MCP over HTTP and over the Unix socket."""
    from conftest import double_command
    um = user_manager
    um.install_units({"LEAN_HOST_MCP_ENFORCEMENT": "process", "LEAN_HOST_MCP_WORKER_COMMAND": double_command()})
    port = free_port()
    dest = os.path.join(um.runtime_dir, "systemd", "user")
    shutil.copy(os.path.join(os.environ["BUILD_ROOT"], "units", "lean-hostd-http.socket"), dest)
    os.makedirs(os.path.join(dest, "lean-hostd-http.socket.d"), exist_ok=True)
    with open(os.path.join(dest, "lean-hostd-http.socket.d", "50-port.conf"), "w") as f:
        f.write(f"[Socket]\nListenStream=\nListenStream=127.0.0.1:{port}\n")
    um.systemctl("daemon-reload")
    um.systemctl("start", "lean-hostd.socket", "lean-hostd-http.socket")
    assert um.show("lean-hostd.service", "ActiveState")["ActiveState"] == "inactive"

    h = Http("127.0.0.1", port)
    h.initialize()
    resp, _ = h.call(1, "tools/call", {"name": "lean_run", "arguments": lean_run_args(lean_project, "def a := 1")})
    facts_http = runtime_facts(resp["result"])
    assert um.show("lean-hostd.service", "ActiveState")["ActiveState"] == "active"
    from conftest import Client
    with Client(um.socket) as c:
        c.initialize()
        facts_unix = runtime_facts(c.call_tool("lean_run", lean_run_args(lean_project, "def b := 2")))
    assert facts_unix["worker_pid"] == facts_http["worker_pid"]


def test_idle_session_expires(start_daemon):
    d = start_daemon(args=["--listen-http", "127.0.0.1:0"], env={"LEAN_HOST_MCP_CONNECTION_IDLE_SECS": "1"})
    host, port = http_address(d)
    h = Http(host, port)
    h.initialize()
    c, r = h.request("GET", accept="text/event-stream")
    assert r.status == 200
    t0 = time.monotonic()
    r.read()  # the stream ends when the session expires
    assert time.monotonic() - t0 < 20
    c.close()
    r, data = h.post({"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert r.status == 404, data
    h.initialize()  # a new one, as the spec says
    assert h.call(2, "ping")[0]["result"] == {}


def test_progress_rides_the_call_stream(start_daemon, lean_project):
    """A tools/call with a progressToken over HTTP: its notifications/progress
    come on the call's SSE stream, increasing, before the one answer."""
    d = start_daemon(args=["--listen-http", "127.0.0.1:0"], env={"LEAN_HOST_MCP_PROGRESS_INTERVAL_SECS": "1"})
    host, port = http_address(d)
    hc = Http(host, port)
    hc.initialize()
    r, data = hc.post({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                       "params": {"name": "lean_run", "_meta": {"progressToken": "tok-7"},
                                  "arguments": lean_run_args(lean_project, "-- @double sleep 3\ndef a := 1")}})
    assert r.status == 200, (r.status, data)
    assert r.getheader("Content-Type").startswith("text/event-stream")
    msgs = sse_messages(data.decode())
    answer = [i for i, m in enumerate(msgs) if m.get("id") == 7]
    assert len(answer) == 1 and answer[0] == len(msgs) - 1, msgs
    progress = [m["params"] for m in msgs if m.get("method") == "notifications/progress"]
    assert len(progress) >= 3, msgs  # stages and at least one heartbeat in 3 s
    assert all(p["progressToken"] == "tok-7" for p in progress), progress
    values = [p["progress"] for p in progress]
    assert values == sorted(set(values)), values
    assert msgs[-1]["result"].get("isError") is not True, msgs[-1]
