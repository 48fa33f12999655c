# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hardening of the daemon's MCP side: peer credentials, descriptor limits,
connection timeouts and idle exit, strict input, bounded results and the
compact result text, the socket file at exit, rate-limited logs."""

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import (Client, base_env, binary, error_of, lean_run_args, tool_body, wait_for_socket,
                      SANITIZER_MARKERS)


def raw_daemon(tmp_path, env_extra=None, sock=None, prefix=None, preexec_fn=None):
    """A daemon started here (not by the fixture) when the test needs a
    wrapper (prlimit) or its own socket place. Returns (proc, sock, log path)."""
    e = base_env(str(tmp_path))
    e.update({k: str(v) for k, v in (env_extra or {}).items()})
    sock = sock or os.path.join(e["XDG_RUNTIME_DIR"], "lean-host", "mcp.sock")
    log_path = os.path.join(str(tmp_path), f"raw-{time.monotonic_ns()}.log")
    argv = list(prefix or []) + [binary("LEAN_HOSTD"), "--listen", sock, "--log-level", "debug"]
    with open(log_path, "wb") as logf:
        proc = subprocess.Popen(argv, env=e, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                cwd=str(tmp_path), preexec_fn=preexec_fn)
    assert wait_for_socket(sock, proc), open(log_path, errors="replace").read()[-3000:]
    return proc, sock, log_path


def stop(proc, log_path):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log = open(log_path, errors="replace").read()
    for marker in SANITIZER_MARKERS:
        assert marker not in log, log[-6000:]
    assert proc.returncode is not None and proc.returncode >= 0, log[-4000:]
    return log


def run_ok(client, project, code="def x := 1"):
    result = client.call_tool("lean_run", lean_run_args(project, code), timeout=60)
    assert not result.get("isError"), result
    return result


# ------------------------------------------------------------ peer credentials


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as uid 65534")
def test_other_uid_refused_even_with_0666_socket(tmp_path, lean_project):
    d = tempfile.mkdtemp(prefix="lean-host-peer-")
    os.chmod(d, 0o755)
    sock = os.path.join(d, "mcp.sock")
    proc, sock, log_path = raw_daemon(tmp_path, sock=sock)
    try:
        os.chmod(sock, 0o666)
        child = r'''
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sys.argv[1])
try:
    s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}\n')
except BrokenPipeError:
    pass  # refused already: the answer is waiting
data = b""
while True:
    try:
        chunk = s.recv(65536)
    except ConnectionResetError:
        break  # closed with our line unread: the error line came first
    if not chunk:
        break
    data += chunk
print(data.decode())
'''
        out = subprocess.run([sys.executable, "-c", child, sock], user=65534, group=65534, extra_groups=[],
                             capture_output=True, timeout=60)
        assert out.returncode == 0, out
        lines = [json.loads(l) for l in out.stdout.decode().splitlines() if l.strip()]
        assert len(lines) == 1, lines  # one error line, then EOF: never served
        assert lines[0]["id"] is None
        assert lines[0]["error"]["code"] == -32001
        assert "permission denied" in lines[0]["error"]["message"]

        # the daemon's own uid is served as before
        with Client(sock) as c:
            c.initialize()
            run_ok(c, lean_project)
    finally:
        log = stop(proc, log_path)
        os.rmdir(d) if not os.listdir(d) else None
    assert "Refusing a connection from uid 65534" in log


# ------------------------------------------------------------ descriptor limits


def read_line(s):
    data = b""
    while not data.endswith(b"\n"):
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def open_idle(sock, n):
    conns = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(sock)
        conns.append(s)
    return conns


@pytest.fixture
def many_fds():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is too low for 1100 connections")
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192) if hard != resource.RLIM_INFINITY else 8192, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_1100_idle_connections_under_soft_limit_1024(tmp_path, lean_project, many_fds):
    """systemd gives user services a soft limit of 1024: the daemon raises it
    to the hard one, so 1100 idle connections leave tool calls working."""
    proc, sock, log_path = raw_daemon(tmp_path, {"LEAN_HOST_MCP_HANDSHAKE_TIMEOUT_SECS": 0,
                                                 "LEAN_HOST_MCP_MAX_CONNECTIONS": 2048},
                                      prefix=["prlimit", "--nofile=1024:4096", "--"])
    conns = []
    try:
        conns = open_idle(sock, 1100)
        with Client(sock) as c:
            c.initialize()
            run_ok(c, lean_project)
        # every idle one is served too, none was refused
        for s in conns[-5:]:
            s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}\n')
            assert "result" in json.loads(read_line(s)), "an idle connection was not served"
    finally:
        for s in conns:
            s.close()
        log = stop(proc, log_path)
    assert "Too many open files" not in log
    assert "Refusing" not in log


def nofile_soft(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise AssertionError(f"no Max open files line for {pid}")


def children(pid):
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            out += [int(c) for c in f.read().split()]
    return out


def test_workers_get_the_conventional_fd_limit(tmp_path, lean_project, many_fds):
    """The daemon raises its own soft limit for connections; a worker gets
    1024 back before exec, as systemd hands its services (select())."""
    proc, sock, log_path = raw_daemon(tmp_path, prefix=["prlimit", "--nofile=1024:4096", "--"])
    try:
        with Client(sock) as c:
            c.initialize()
            run_ok(c, lean_project)
            assert nofile_soft(proc.pid) == 4096
            workers = children(proc.pid)
            assert workers, "no worker process under the daemon"
            assert all(nofile_soft(w) == 1024 for w in workers), [(w, nofile_soft(w)) for w in workers]
    finally:
        stop(proc, log_path)


def test_connections_past_the_limit_are_refused_cleanly(tmp_path, lean_project, many_fds):
    """With soft = hard = 1024, the daemon keeps descriptors for workers: the
    connections it cannot take get one JSON-RPC error line and EOF, tool
    calls keep working, and the refusals are logged rate-limited."""
    proc, sock, log_path = raw_daemon(tmp_path, {"LEAN_HOST_MCP_HANDSHAKE_TIMEOUT_SECS": 0,
                                                 "LEAN_HOST_MCP_MAX_WORKERS": 2},
                                      prefix=["prlimit", "--nofile=1024:1024", "--"])
    conns = []
    try:
        conns = open_idle(sock, 1100)
        # 1024 - (64 + 8 * 2) = 944 accepted; the last ones were told why and closed
        refused = 0
        for s in conns[-100:]:
            s.settimeout(10)
            msg = json.loads(read_line(s))
            assert msg["id"] is None and msg["error"]["code"] == -32000, msg
            assert "too many connections (limit 944)" in msg["error"]["message"]
            assert s.recv(4096) == b""
            refused += 1
        assert refused == 100
        with Client(sock) as c:  # a slot is still taken by 944 others: refused as well
            assert c.recv()["error"]["code"] == -32000
        conns[0].close()  # one slot frees up
        time.sleep(0.2)
        with Client(sock) as c:
            c.initialize()
            run_ok(c, lean_project)
    finally:
        for s in conns:
            s.close()
        log = stop(proc, log_path)
    assert "accepting at most 944 connections" in log
    assert "Too many open files" not in log
    refusals = [l for l in log.splitlines() if "Refusing a connection" in l]
    assert 1 <= len(refusals) <= 10, len(refusals)  # 157 refused, at most a burst logged


# ------------------------------------------------------------ timeouts and idle exit


def test_unfinished_line_times_out(start_daemon):
    d = start_daemon(env={"LEAN_HOST_MCP_LINE_TIMEOUT_SECS": 1})
    with d.client() as c:
        c.initialize()
        c.send_raw(b'{"jsonrpc":"2.0","id":7,"method":"pi')
        t0 = time.monotonic()
        msg = c.recv(timeout=10)
        assert msg["id"] is None and msg["error"]["code"] == -32600, msg
        assert "not completed within 1 s" in msg["error"]["message"]
        assert c.recv(timeout=10) is None
        assert time.monotonic() - t0 < 5


def test_silent_connection_does_not_block_idle_exit(start_daemon):
    d = start_daemon(env={"LEAN_HOST_MCP_IDLE_EXIT_SECS": 1, "LEAN_HOST_MCP_HANDSHAKE_TIMEOUT_SECS": 1,
                          "LEAN_HOST_MCP_CONNECTION_IDLE_SECS": 2})
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.connect(d.sock)
    with d.client() as session:
        session.initialize()
        # neither the never-initialized connection nor the idle session keeps it up
        assert d.wait(20) == 0, d.log()[-3000:]
    silent.close()
    assert "Idle for 1 s" in d.log()


# ------------------------------------------------------------ strict input


def test_nul_and_invalid_utf8_rejected(client, lean_project):
    r = client.request("tools/call", {"name": "lean_run\u0000x", "arguments": lean_run_args(lean_project, "def a := 1")})
    assert r["error"]["code"] == -32602 and "params.name" in r["error"]["message"], r
    r = client.request("tools/call", {"name": "lean_run", "arguments": lean_run_args(str(lean_project) + "\u0000/x", "def a := 1")})
    err = r["result"]["structuredContent"]["error"]  # an argument: the tool's error
    assert r["result"]["isError"] and err["code"] == "invalid_arguments" and "arguments.project" in err["message"], r
    client.send_raw(b'{"jsonrpc":"2.0","id":"\xc0\x80","method":"ping"}\n')
    r = client.recv()
    assert r["id"] is None and r["error"]["code"] == -32700, r
    client.send_raw(b'{"jsonrpc":"2.0","id":"\\ud800","method":"ping"}\n')
    r = client.recv()
    assert r["id"] is None and r["error"]["code"] == -32700, r
    assert client.request("ping") == {"jsonrpc": "2.0", "id": client.next_id - 1, "result": {}}


# ------------------------------------------------------------ bounded results


def test_trivial_result_text_is_short(client, lean_project):
    result = run_ok(client, lean_project)
    text = result["content"][0]["text"]
    assert len(text.encode()) <= 300, text
    assert text == "ok: no messages"
    body = tool_body(result)
    assert body["result"]["messages"] == [] and "runtime" in body


def test_message_flood_is_bounded(start_daemon, lean_project):
    d = start_daemon(env={"LEAN_HOST_MCP_RESULT_MAX_MESSAGES": 50})
    code = "def x := 1\n" + "".join(f"-- @double error message number {i}\n" for i in range(2000))
    with d.client() as c:
        c.initialize()
        result = c.call_tool("lean_run", lean_run_args(lean_project, code), timeout=60)
    body = tool_body(result)
    assert body["truncated"] is True
    assert body["messages_total"] == 2000 and body["messages_returned"] == 50
    assert len(body["result"]["messages"]) == 50
    assert body["result"]["has_errors"] is True
    text = result["content"][0]["text"]
    assert text.startswith("errors: 50 errors, 0 warnings, 0 infos (messages cut to 50 of 2000)"), text[:200]
    assert len(text.encode()) < 5000
    # the structured result is not repeated as text
    assert json.dumps(body["result"]["messages"][-1]["data"]) not in text


def test_oversized_reply_is_an_error_and_the_worker_recycled(start_daemon, lean_project):
    d = start_daemon(env={"LEAN_HOST_MCP_WORKER_MAX_REPLY_BYTES": 65536})
    code = "def x := 1\n-- @double error " + "y" * 100000 + "\n"
    with d.client() as c:
        c.initialize()
        result = c.call_tool("lean_run", lean_run_args(lean_project, code), timeout=60)
        err = error_of(result)
        assert err is not None, tool_body(result)
        assert "larger than 65536 bytes" in json.dumps(tool_body(result)), tool_body(result)
        assert len(result["content"][0]["text"].encode()) < 4096
        # a fresh worker serves the next call
        run_ok(c, lean_project)
    assert d.alive()


# ------------------------------------------------------------ the socket file


def test_exit_leaves_a_socket_another_daemon_owns(start_daemon, lean_project):
    a = start_daemon()
    os.unlink(a.sock)  # e.g. removed by hand, or judged stale by the next one
    b = start_daemon(sock=a.sock)
    st = os.stat(b.sock)
    assert a.stop() == 0
    assert os.path.exists(b.sock) and os.stat(b.sock).st_ino == st.st_ino
    with b.client() as c:
        c.initialize()
        run_ok(c, lean_project)
    assert "no longer our socket" in a.log()
    assert b.stop() == 0
    assert not os.path.exists(b.sock)  # its own socket it does remove
