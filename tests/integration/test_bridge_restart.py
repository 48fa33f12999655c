# SPDX-License-Identifier: LGPL-2.1-or-later
"""Agents first, item 5: lean-host-mcp rides out daemon restarts.

One client session through the bridge across a killed and restarted daemon,
an idle close by the daemon, `systemctl --user restart lean-hostd` under a
private user manager, and the official MCP TypeScript SDK client."""

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import DEFAULT_PROTOCOL, SOURCE_ROOT, JsonRpcWriter, binary, double_command, lean_run_args

EX_UNAVAILABLE = 69
EX_TEMPFAIL = 75


class Bridge(JsonRpcWriter):
    """lean-host-mcp as an MCP client runs it: one process, one session."""

    def __init__(self, args, env):
        import tempfile
        self.errf = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([binary("LEAN_HOST_MCP")] + args, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.errf)
        self.lines = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.next_id = 1

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(json.loads(line))
                self.cond.notify_all()

    def send_raw(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def wait(self, rid, timeout=60):
        deadline = time.monotonic() + timeout
        exited = False
        with self.cond:
            while True:
                for m in self.lines:
                    if m.get("id") == rid and "method" not in m:
                        return m
                left = deadline - time.monotonic()
                if self.proc.poll() is not None and not exited:
                    # its last lines may still be in the pipe: let the reader
                    # reach EOF, then look once more
                    exited = True
                    self.cond.release()
                    try:
                        self.reader.join(5)
                    finally:
                        self.cond.acquire()
                    continue
                if left <= 0 or exited:
                    raise AssertionError(f"no answer to {rid} (bridge exit {self.proc.poll()}): "
                                         f"{self.lines[-3:]} {self.stderr_now()}")
                self.cond.wait(min(left, 0.2))

    def request(self, method, params=None, timeout=60):
        return self.wait(self.request_async(method, params), timeout)

    def initialize(self):
        r = self.request("initialize", {"protocolVersion": DEFAULT_PROTOCOL, "capabilities": {},
                                        "clientInfo": {"name": "bridge-restart", "version": "0"}})
        assert "result" in r, r
        self.notify("notifications/initialized")
        return r

    def lean_run(self, project, code="def a := 1", timeout=60):
        return self.request("tools/call", {"name": "lean_run", "arguments": lean_run_args(project, code)}, timeout)

    def stderr_now(self):
        self.errf.seek(0)
        return self.errf.read().decode(errors="replace")

    def close(self, timeout=30):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        rc = self.proc.wait(timeout)
        return rc, self.stderr_now()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def assert_ok(resp):
    assert "result" in resp, resp
    assert resp["result"].get("isError") is False, resp


def ids_answered(bridge):
    with bridge.cond:
        return [m["id"] for m in bridge.lines if "id" in m and "method" not in m]


# ---------------------------------------------------------------- a daemon started by hand


def test_bridge_rides_out_killed_daemon(start_daemon, lean_project):
    d = start_daemon()
    b = Bridge(["--socket", d.sock], dict(d.env))
    try:
        init = b.initialize()
        assert_ok(b.lean_run(lean_project))

        # a call in flight when the daemon dies gets a retryable JSON-RPC error
        rid = b.request_async("tools/call", {"name": "lean_run",
                                             "arguments": lean_run_args(lean_project, "-- @double sleep 30\ndef s := 1")})
        time.sleep(1.0)
        d.stop(signal.SIGKILL)
        err = b.wait(rid, 30)
        assert err["error"]["code"] == -32000, err
        assert err["error"]["data"] == {"code": "daemon_restarted", "retryable": True}, err
        assert b.proc.poll() is None, "the bridge exited when the daemon went away"

        # a call sent while the daemon is down waits for it (backoff), then succeeds
        rid = b.request_async("tools/call", {"name": "lean_run", "arguments": lean_run_args(lean_project, "def b := 2")})
        time.sleep(1.5)
        d2 = start_daemon()
        resp = b.wait(rid, 60)
        assert_ok(resp)
        assert b.request("ping")["result"] == {}
        assert_ok(b.lean_run(lean_project, "def c := 3"))

        # the client saw one session: one initialize answer, no stray replies
        answered = ids_answered(b)
        assert sorted(answered) == sorted(set(answered)), b.lines
        assert all(isinstance(i, int) for i in answered), b.lines
        assert answered.count(1) == 1 and init["id"] == 1
        rc, err = b.close()
        assert rc == 0, err
        assert "reconnecting on the next message" in err, err
        assert d2.alive()
    finally:
        b.kill()


def test_bridge_gives_up_with_its_own_status(start_daemon, lean_project):
    d = start_daemon()
    b = Bridge(["--socket", d.sock, "--reconnect-secs", "2"], dict(d.env))
    try:
        b.initialize()
        d.stop(signal.SIGKILL)
        time.sleep(0.5)
        rid = b.request_async("ping")
        resp = b.wait(rid, 30)
        assert resp["error"]["data"] == {"code": "daemon_unavailable", "retryable": True}, resp
        rc = b.proc.wait(30)
        err = b.stderr_now()
        assert rc == EX_TEMPFAIL, (rc, err)
        assert "could not reconnect" in err and "lean-hostd --listen" in err, err
    finally:
        b.kill()


def test_bridge_reconnects_after_idle_close(start_daemon, lean_project):
    d = start_daemon(env={"LEAN_HOST_MCP_CONNECTION_IDLE_SECS": 1})
    b = Bridge(["--socket", d.sock], dict(d.env))
    try:
        b.initialize()
        time.sleep(3)  # the daemon closes the idle session
        assert b.proc.poll() is None, "the bridge exited on an idle close"
        assert b.request("ping")["result"] == {}
        assert_ok(b.lean_run(lean_project))
        rc, err = b.close()
        assert rc == 0, err
        assert "closed the connection" in err, err
    finally:
        b.kill()


def test_bridge_daemon_that_never_answers(tmp_path):
    # what a socket-activated daemon with a configuration error looks like
    path = str(tmp_path / "bad.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(4)

    def serve():
        for _ in range(2):
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": DEFAULT_PROTOCOL, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
    p = subprocess.Popen([binary("LEAN_HOST_MCP"), "--socket", path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env={"PATH": os.environ["PATH"]})
    p.stdin.write(json.dumps(init).encode() + b"\n")
    p.stdin.flush()
    out, err = p.communicate(timeout=30)
    srv.close()
    assert p.returncode == EX_UNAVAILABLE, (out, err)
    assert b"without answering" in err and b"configuration error" in err, err
    reply = json.loads(out.splitlines()[0])
    assert reply["id"] == 1 and reply["error"]["code"] == -32000, out


# ---------------------------------------------------------------- under a private user manager


def test_bridge_rides_out_systemctl_restart(user_manager, lean_project):
    um = user_manager
    um.install_units({"LEAN_HOST_MCP_ENFORCEMENT": "process",
                      "LEAN_HOST_MCP_WORKER_COMMAND": double_command()})
    um.systemctl("start", "lean-hostd.socket")
    b = Bridge([], dict(os.environ))  # the default socket path
    try:
        b.initialize()
        assert_ok(b.lean_run(lean_project))
        pid1 = um.show("lean-hostd.service", "MainPID")["MainPID"]
        um.systemctl("restart", "lean-hostd.service")
        assert b.proc.poll() is None, "the bridge exited on a daemon restart"
        try:
            resp = b.lean_run(lean_project, "def after := 2")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{um.journal()[-3000:]}")
        assert_ok(resp)
        assert b.request("tools/list")["result"]["tools"], um.journal()[-3000:]
        pid2 = um.show("lean-hostd.service", "MainPID")["MainPID"]
        assert pid1 != pid2, (pid1, pid2)
        answered = ids_answered(b)
        assert sorted(answered) == sorted(set(answered)), b.lines
        rc, err = b.close()
        assert rc == 0, err
    finally:
        b.kill()


# ---------------------------------------------------------------- the MCP TypeScript SDK


def test_sdk_client_across_restart(start_daemon, lean_project):
    node = shutil.which("node")
    client_dir = os.path.join(SOURCE_ROOT, "tests", "client")
    if not node:
        pytest.skip("node is not installed (packaging/quickstart.sh test installs it)")
    if not os.path.isdir(os.path.join(client_dir, "node_modules", "@modelcontextprotocol", "sdk")):
        pytest.skip("tests/client/node_modules is missing: run `npm ci` in tests/client")
    d = start_daemon()
    p = subprocess.Popen([node, os.path.join(client_dir, "restart.mjs"), binary("LEAN_HOST_MCP"),
                          json.dumps(["--socket", d.sock]), json.dumps(lean_run_args(lean_project, "def sdk := 1"))],
                         env=dict(os.environ), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        first = json.loads(p.stdout.readline())
        assert first == {"phase": "before", "isError": False}, first
        d.stop(signal.SIGKILL)
        start_daemon()
        p.stdin.write("go\n")
        p.stdin.flush()
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, out + err
        second = json.loads(out.strip().splitlines()[-1])
        assert second == {"phase": "after", "isError": False}, second
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_bridge_config_typo_under_socket_activation(user_manager):
    # a configuration error: the service exits 78 and is not restarted; the
    # bridge must say so promptly instead of waiting forever
    um = user_manager
    um.install_units({"LEAN_HOST_MCP_ENFORCEMENT": "process", "LEAN_HOST_MCP_MAX_WORKERS": "lots"})
    um.systemctl("start", "lean-hostd.socket")
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": DEFAULT_PROTOCOL, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
    p = subprocess.Popen([binary("LEAN_HOST_MCP")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=dict(os.environ))
    p.stdin.write(json.dumps(init).encode() + b"\n")
    p.stdin.flush()
    try:
        rc = p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"the bridge hung: {out!r} {err!r}\n"
                             f"{um.show('lean-hostd.service', 'ActiveState', 'Result', 'ExecMainStatus')} "
                             f"{um.show('lean-hostd.socket', 'ActiveState', 'Result')}\n{um.journal()[-2000:]}")
    out, err = p.communicate()
    assert rc == EX_UNAVAILABLE, (rc, out, err)
    assert b"journalctl --user -u lean-hostd" in err, err
    props = um.show("lean-hostd.service", "ExecMainStatus")
    assert props["ExecMainStatus"] == "78", props
