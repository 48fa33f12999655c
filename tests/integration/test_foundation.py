# SPDX-License-Identifier: LGPL-2.1-or-later
"""Issue 3: the daemon, its MCP framing and lifecycle, the bridge, the units."""

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time

import pytest

from conftest import (
    DEFAULT_PROTOCOL,
    PROTOCOL_VERSIONS,
    SOURCE_ROOT,
    Client,
    binary,
    double_command,
    error_of,
    lean_run_args,
    tool_body,
    wait_for_socket,
)

EX_UNAVAILABLE = 69
N_TOOLS = 13


# ---------------------------------------------------------------- lifecycle


@pytest.mark.parametrize("version", PROTOCOL_VERSIONS)
def test_initialize_each_version(daemon, version):
    with daemon.client() as c:
        r = c.initialize(version)
        assert r["protocolVersion"] == version
        assert r["serverInfo"]["name"] == "lean-host"
        assert r["serverInfo"].get("version")
        assert "tools" in r["capabilities"]


def test_initialize_unknown_version_gets_default(daemon):
    with daemon.client() as c:
        r = c.initialize("1999-01-01")
        assert r["protocolVersion"] == DEFAULT_PROTOCOL


def test_ping(client):
    r = client.request("ping")
    assert r["jsonrpc"] == "2.0"
    assert r["result"] == {}


def test_tools_list(client):
    r = client.request("tools/list")
    tools = r["result"]["tools"]
    assert len(tools) == N_TOOLS, [t.get("name") for t in tools]
    names = [t["name"] for t in tools]
    assert len(set(names)) == N_TOOLS
    assert "lean_run" in names
    for t in tools:
        assert isinstance(t.get("description"), str) and t["description"], t
        schema = t["inputSchema"]
        assert schema["type"] == "object", t["name"]
        assert isinstance(schema.get("properties", {}), dict), t["name"]
        for req in schema.get("required", []):
            assert req in schema["properties"], (t["name"], req)


# ---------------------------------------------------------------- JSON-RPC errors


def test_parse_error_keeps_connection(client):
    client.send_raw(b'{"jsonrpc": "2.0", "id": 1, "method": \n')
    r = client.recv()
    assert r["error"]["code"] == -32700
    assert r.get("id") is None
    assert client.request("ping")["result"] == {}


@pytest.mark.parametrize("raw", [
    b'{"jsonrpc": "1.0", "id": 7, "method": "ping"}',
    b'{"id": 7, "method": "ping"}',
    b'{"jsonrpc": "2.0", "id": 7}',
    b'{"jsonrpc": "2.0", "id": 7, "method": 5}',
    b'42',
    b'"ping"',
])
def test_invalid_request(client, raw):
    client.send_raw(raw + b"\n")
    r = client.recv()
    assert r["error"]["code"] == -32600, r
    assert client.request("ping")["result"] == {}


def test_method_not_found(client):
    r = client.request("no/such/method")
    assert r["error"]["code"] == -32601
    # an unknown notification gets no answer at all
    client.notify("notifications/no_such_thing")
    assert client.request("ping")["result"] == {}
    assert client.pending == []


@pytest.mark.parametrize("params", [
    {"name": "no_such_tool", "arguments": {}},
    {"name": "lean_run", "arguments": "not an object"},
    {"arguments": {}},
])
def test_invalid_params(client, params):
    r = client.request("tools/call", params)
    assert "error" in r, r
    assert r["error"]["code"] == -32602, r
    assert client.request("ping")["result"] == {}


def test_initialize_bad_params(daemon):
    with daemon.client() as c:
        r = c.request("initialize", {"protocolVersion": 20250618})
        assert r["error"]["code"] == -32602


# ---------------------------------------------------------------- framing


def test_oversized_line_closes_only_that_connection(start_daemon):
    d = start_daemon(env={"LEAN_HOST_MCP_MAX_LINE_BYTES": 4096})
    with d.client() as good, d.client() as bad:
        good.initialize()
        bad.initialize()
        try:
            bad.send_raw(b'{"jsonrpc":"2.0","id":9,"method":"ping","params":{"pad":"' + b"x" * 20000 + b'"}}\n')
        except (BrokenPipeError, ConnectionResetError):
            pass  # the daemon may close before reading it all
        msg = bad.recv()
        assert msg is not None and "error" in msg, msg
        assert msg["error"]["code"] in (-32600, -32700), msg
        assert bad.at_eof(), "connection with an oversized line stayed open"
        assert good.request("tools/list")["result"]["tools"]
    with d.client() as again:
        again.initialize()


def test_partial_lines_byte_by_byte(daemon):
    with daemon.client() as c:
        msg = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                          "params": {"protocolVersion": DEFAULT_PROTOCOL, "capabilities": {},
                                     "clientInfo": {"name": "bytes", "version": "0"}}}).encode() + b"\n"
        for i in range(len(msg)):
            c.send_raw(msg[i:i + 1])
            if i % 16 == 0:
                time.sleep(0.001)
        r = c.recv()
        assert r["id"] == 1 and r["result"]["protocolVersion"] == DEFAULT_PROTOCOL
        # and several messages in one write
        c.send_raw(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
                   b'{"jsonrpc":"2.0","id":2,"method":"ping"}\n{"jsonrpc":"2.0","id":3,"method":"ping"}\n')
        assert c.recv()["id"] == 2
        assert c.recv()["id"] == 3


def test_200_concurrent_clients(daemon):
    n = 200
    clients = [daemon.client(timeout=60) for _ in range(n)]
    try:
        init = {"protocolVersion": DEFAULT_PROTOCOL, "capabilities": {}, "clientInfo": {"name": "c", "version": "0"}}
        for c in clients:
            c.send_raw((json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init}) + "\n"
                        + json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n"
                        + json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}) + "\n").encode())
        for c in clients:
            assert c.wait_response(1)["result"]["protocolVersion"] == DEFAULT_PROTOCOL
            assert len(c.wait_response(2)["result"]["tools"]) == N_TOOLS
    finally:
        for c in clients:
            c.close()
    with daemon.client() as c:
        c.initialize()


def test_disconnect_mid_request(daemon, lean_project):
    c = daemon.client()
    c.initialize()
    c.call_tool_async("lean_run", lean_run_args(lean_project, "-- @double sleep 2\ndef a := 1"))
    time.sleep(0.2)
    c.close()
    with daemon.client() as c2:
        c2.initialize()
        r = c2.call_tool("lean_run", lean_run_args(lean_project, "def b := 2"), timeout=60)
        assert not r.get("isError"), r
    assert daemon.alive()


# ---------------------------------------------------------------- shutdown, idle, config


def wait_for_worker(daemon, timeout=20):
    """Wait until the daemon has a child process (a process-mode worker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for tid in os.listdir(f"/proc/{daemon.pid}/task"):
            try:
                with open(f"/proc/{daemon.pid}/task/{tid}/children") as f:
                    kids = f.read().split()
            except OSError:
                kids = []
            if kids:
                return int(kids[0])
        time.sleep(0.05)
    raise AssertionError("no worker process appeared")


def test_sigterm_answers_in_flight_calls(daemon, lean_project):
    with daemon.client() as c:
        c.initialize()
        rid = c.call_tool_async("lean_run", lean_run_args(lean_project, "-- @double sleep 60\ndef a := 1"))
        wait_for_worker(daemon)
        time.sleep(0.5)
        daemon.proc.send_signal(signal.SIGTERM)
        r = c.wait_response(rid, timeout=30)
        assert r["result"]["isError"] is True, r
        assert error_of(r["result"])["code"] == "shutting_down"
        assert c.at_eof(timeout=30)
    assert daemon.stop() == 0, daemon.log()[-4000:]


def test_socket_modes(daemon):
    st_dir = os.stat(os.path.dirname(daemon.sock))
    st_sock = os.stat(daemon.sock)
    assert stat.S_ISSOCK(st_sock.st_mode)
    assert stat.S_IMODE(st_dir.st_mode) == 0o700
    assert stat.S_IMODE(st_sock.st_mode) == 0o600


def run_hostd(args, env, timeout=30):
    return subprocess.run([binary("LEAN_HOSTD")] + args, env=env, capture_output=True, text=True, timeout=timeout)


def test_dump_config_shows_sources(tmp_path):
    from conftest import base_env
    env = base_env(str(tmp_path))
    env["LEAN_HOST_MCP_REQUEST_TIMEOUT_MILLIS"] = "4321"
    r = run_hostd(["--dump-config"], env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    timeout = [l for l in lines if "request_timeout_millis" in l]
    assert timeout and "4321" in timeout[0] and "env" in timeout[0], r.stdout
    mailbox = [l for l in lines if "mailbox_capacity" in l]
    assert mailbox and "8" in mailbox[0] and "default" in mailbox[0], r.stdout


@pytest.mark.parametrize("key,value", [
    ("LEAN_HOST_MCP_REQUEST_TIMEOUT_MILLIS", "0"),
    ("LEAN_HOST_MCP_REQUEST_TIMEOUT_MILLIS", "soon"),
    ("LEAN_HOST_MCP_PROJECT_MAILBOX_CAPACITY", "-1"),
    ("LEAN_HOST_MCP_ENFORCEMENT", "sometimes"),
])
def test_bad_config_rejected(tmp_path, key, value):
    from conftest import base_env
    env = base_env(str(tmp_path))
    env[key] = value
    r = run_hostd(["--listen", str(tmp_path / "x.sock")], env)
    assert r.returncode != 0
    assert key in r.stdout + r.stderr, r.stdout + r.stderr
    assert not (tmp_path / "x.sock").exists()


def test_tier_order_rejected(tmp_path):
    from conftest import base_env
    env = base_env(str(tmp_path))
    env["LEAN_HOST_MCP_WORKER_RSS_HARD_KILL_KIB"] = "1024"  # below the post-job tier
    r = run_hostd(["--dump-config"], env)
    assert r.returncode != 0
    assert "hard_kill" in (r.stdout + r.stderr).lower(), r.stdout + r.stderr


def test_idle_exit(start_daemon):
    d = start_daemon(env={"LEAN_HOST_MCP_IDLE_EXIT_SECS": 1})
    with d.client() as c:
        c.initialize()
        time.sleep(2.5)
        assert d.alive(), "exited on idle with a client connected"
        assert c.request("ping")["result"] == {}
    assert d.wait(30) == 0, d.log()[-4000:]


def test_idle_exit_waits_for_the_last_worker(start_daemon, lean_project):
    # The last client goes while its worker lives on: not idle yet; the
    # worker's own idle stop (the registry tells the manager directly, as it
    # tells the bus) arms the exit.
    d = start_daemon(env={"LEAN_HOST_MCP_IDLE_EXIT_SECS": 1, "LEAN_HOST_MCP_WORKER_IDLE_SECS": 3})
    with d.client() as c:
        c.initialize()
        r = c.call_tool("lean_run", {"project": str(lean_project), "code": "def a := 1"}, timeout=60)
        assert not r.get("isError"), r
    time.sleep(2)
    assert d.alive(), "exited on idle with a worker still running"
    assert d.wait(30) == 0, d.log()[-4000:]


# ---------------------------------------------------------------- the bridge


def run_bridge(args, env, stdin=b"", timeout=60):
    return subprocess.run([binary("LEAN_HOST_MCP")] + args, env=env, input=stdin, capture_output=True,
                          timeout=timeout)


def test_bridge_no_daemon(tmp_path):
    env = {"PATH": os.environ["PATH"], "XDG_RUNTIME_DIR": str(tmp_path)}
    r = run_bridge([], env)
    assert r.returncode == EX_UNAVAILABLE
    err = r.stderr.decode()
    assert str(tmp_path / "lean-host" / "mcp.sock") in err
    assert "systemctl --user enable --now lean-hostd.socket" in err
    assert "lean-hostd --listen" in err

    r = run_bridge(["--socket", str(tmp_path / "nope.sock")], env)
    assert r.returncode == EX_UNAVAILABLE
    assert f"lean-hostd --listen {tmp_path / 'nope.sock'}" in r.stderr.decode()


def test_bridge_refused(tmp_path):
    # a socket file with nobody listening: ECONNREFUSED
    path = str(tmp_path / "dead.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()
    r = run_bridge(["--socket", path], {"PATH": os.environ["PATH"]})
    assert r.returncode == EX_UNAVAILABLE
    assert "lean-hostd --listen" in r.stderr.decode()


def test_bridge_usage():
    assert run_bridge(["--version"], {}).stdout.startswith(b"lean-host-mcp ")
    assert b"--socket" in run_bridge(["--help"], {}).stdout
    assert run_bridge(["--no-such-option"], {}).returncode == 2


class EchoServer(threading.Thread):
    """A stand-in daemon: reads until EOF, then sends back reply(data)."""

    def __init__(self, path, reply):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.reply = reply
        self.received = b""

    def run(self):
        conn, _ = self.sock.accept()
        with conn:
            while True:
                d = conn.recv(65536)
                if not d:
                    break
                self.received += d
            conn.sendall(self.reply(self.received))
        self.sock.close()


def test_bridge_bytes_unchanged_and_drained(tmp_path):
    # stdin EOF → shutdown(SHUT_WR); the answer sent after that still arrives
    data = bytes(range(256)) * 2000 + b"\n"
    srv = EchoServer(str(tmp_path / "echo.sock"), lambda d: d[::-1] + b"\n")
    srv.start()
    r = run_bridge(["--socket", str(tmp_path / "echo.sock")], {}, data)
    srv.join(10)
    assert r.returncode == 0, r.stderr
    assert srv.received == data
    assert r.stdout == data[::-1] + b"\n"


def test_bridge_connection_closed_mid_line(tmp_path):
    srv = EchoServer(str(tmp_path / "echo.sock"), lambda d: b'{"jsonrpc":"2.0","id":1,"res')
    srv.start()
    r = run_bridge(["--socket", str(tmp_path / "echo.sock")], {}, b"{}\n")
    srv.join(10)
    assert r.returncode == 1
    assert b"middle of a message" in r.stderr


def mcp_session_bytes(*requests):
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": DEFAULT_PROTOCOL, "capabilities": {},
                       "clientInfo": {"name": "bridge", "version": "0"}}}
    msgs = [init, {"jsonrpc": "2.0", "method": "notifications/initialized"}] + list(requests)
    return b"".join(json.dumps(m).encode() + b"\n" for m in msgs)


def test_bridge_pumps_both_ways(daemon):
    env = {"PATH": os.environ["PATH"]}
    stdin = mcp_session_bytes({"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                              {"jsonrpc": "2.0", "id": 3, "method": "ping"})
    r = run_bridge(["--socket", daemon.sock], env, stdin)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    by_id = {m["id"]: m for m in lines if "id" in m}
    assert by_id[1]["result"]["protocolVersion"] == DEFAULT_PROTOCOL
    assert len(by_id[2]["result"]["tools"]) == N_TOOLS
    assert by_id[3]["result"] == {}


# ---------------------------------------------------------------- node MCP SDK client


def node_client_or_skip():
    node = shutil.which("node")
    client_dir = os.path.join(SOURCE_ROOT, "tests", "client")
    if not node:
        pytest.skip("node is not installed (packaging/quickstart.sh test installs it)")
    if not os.path.isdir(os.path.join(client_dir, "node_modules", "@modelcontextprotocol", "sdk")):
        pytest.skip("tests/client/node_modules is missing: run `npm ci` in tests/client "
                    "(packaging/quickstart.sh test does)")
    return node, os.path.join(client_dir, "smoke.mjs")


def run_node_client(bridge_args, env, project):
    node, script = node_client_or_skip()
    cmd = [node, script, binary("LEAN_HOST_MCP"), json.dumps(bridge_args),
           json.dumps(lean_run_args(project, "def smoke := 1"))]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["tools"] == N_TOOLS
    assert out["called"] == "lean_run"
    assert out["isError"] is False, out
    return out


def test_node_sdk_client(daemon, lean_project):
    run_node_client(["--socket", daemon.sock], dict(os.environ), lean_project)


# ---------------------------------------------------------------- under a private user manager


def test_socket_activation(user_manager, tmp_path):
    um = user_manager
    um.install_units({"LEAN_HOST_MCP_ENFORCEMENT": "process",
                      "LEAN_HOST_MCP_WORKER_COMMAND": double_command()})
    um.systemctl("start", "lean-hostd.socket")
    assert um.show("lean-hostd.service", "ActiveState")["ActiveState"] == "inactive"
    st_dir = os.stat(os.path.dirname(um.socket))
    assert stat.S_IMODE(st_dir.st_mode) == 0o700
    assert stat.S_IMODE(os.stat(um.socket).st_mode) == 0o600

    env = dict(os.environ)
    stdin = mcp_session_bytes({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    r = run_bridge([], env, stdin)  # the default socket path
    assert r.returncode == 0, r.stderr
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert any(m.get("id") == 2 and len(m["result"]["tools"]) == N_TOOLS for m in lines), lines

    # Type=notify: active (not activating) only after READY=1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        props = um.show("lean-hostd.service", "ActiveState", "SubState", "Type", "MainPID", "StatusText")
        if props["ActiveState"] == "active":
            break
        time.sleep(0.1)
    assert props["ActiveState"] == "active", (props, um.journal())
    assert props["Type"] == "notify"
    assert int(props["MainPID"]) > 0
    with open(f"/proc/{props['MainPID']}/cgroup") as f:
        assert "lean-host.slice" in f.read()

    um.systemctl("stop", "lean-hostd.service")
    props = um.show("lean-hostd.service", "ActiveState", "Result")
    assert props["Result"] == "success", (props, um.journal())


def test_node_sdk_client_socket_activated(user_manager, lean_project):
    um = user_manager
    node_client_or_skip()
    um.install_units({"LEAN_HOST_MCP_ENFORCEMENT": "process",
                      "LEAN_HOST_MCP_WORKER_COMMAND": double_command()})
    um.systemctl("start", "lean-hostd.socket")
    run_node_client([], dict(os.environ), lean_project)


def _mutations(rng, n):
    """Deterministic junk built from valid messages: cut, flipped, nested,
    wrong types, huge numbers, bad UTF-8, control bytes."""
    valid = [
        {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
         "params": {"name": "lean_run", "arguments": {"project": "/nonexistent", "code": "def x := 1"}}},
        {"jsonrpc": "2.0", "id": "s", "method": "tools/list", "params": {"cursor": None}},
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}},
        {"jsonrpc": "2.0", "id": 3, "method": "logging/setLevel", "params": {"level": "debug"}},
        [{"jsonrpc": "2.0", "id": 1, "method": "ping"}],
    ]
    junk_values = [None, True, 0, -1, 2 ** 63, 1e308, "", "x" * 1000, [], {}, [[[]]], {"a": {"b": {}}}]
    for _ in range(n):
        base = json.dumps(rng.choice(valid)).encode()
        kind = rng.randrange(7)
        if kind == 0:  # cut anywhere
            out = base[:rng.randrange(len(base))]
        elif kind == 1:  # flip bytes
            b = bytearray(base)
            for _ in range(rng.randrange(1, 6)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            out = bytes(b).replace(b"\n", b" ")
        elif kind == 2:  # a field replaced by junk
            m = rng.choice(valid[:4])
            m = json.loads(json.dumps(m))
            key = rng.choice(["jsonrpc", "id", "method", "params"])
            m[key] = rng.choice(junk_values)
            out = json.dumps(m).encode()
        elif kind == 3:  # deep nesting
            d = rng.randrange(10, 3000)
            out = b"[" * d + b"]" * rng.choice([d, d - 1, 0])
        elif kind == 4:  # invalid UTF-8 inside a string
            out = base.replace(b"def", b"d\xff\xfe", 1)
        elif kind == 5:  # control bytes and NULs
            out = bytes(rng.randrange(32) for _ in range(rng.randrange(1, 64)))
        else:  # arguments of the wrong shape
            m = json.loads(json.dumps(valid[0]))
            m["params"]["arguments"] = rng.choice(junk_values)
            out = json.dumps(m).encode()
        yield out + b"\n"


def test_junk_keeps_daemon_serving(daemon):
    """2000 deterministic malformed messages over a few connections: the
    daemon answers what it can, never crashes, and still serves a clean
    client afterwards."""
    import random

    rng = random.Random(20261125)
    msgs = list(_mutations(rng, 2000))
    for chunk in range(4):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(daemon.sock)
        init = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": {"protocolVersion": "2025-03-26" if chunk % 2 else DEFAULT_PROTOCOL,
                           "capabilities": {}, "clientInfo": {"name": "fuzz", "version": "0"}}}
        s.sendall((json.dumps(init) + "\n").encode())
        for m in msgs[chunk * 500:(chunk + 1) * 500]:
            s.sendall(m)
        s.shutdown(socket.SHUT_WR)
        # drain until the daemon closes: every line it sends is JSON
        buf = b""
        while True:
            data = s.recv(65536)
            if not data:
                break
            buf += data
        s.close()
        for line in buf.splitlines():
            json.loads(line)
        assert daemon.alive(), daemon.log()[-4000:]
    with daemon.client() as c:
        c.initialize()
        assert c.request("ping")["result"] == {}
