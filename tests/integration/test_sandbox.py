# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hardening: the opt-in worker sandbox (worker.sandbox = none|bwrap).

The test-double worker runs `-- @double probe ...` directives: it tries what
an `#eval` doing IO could (write a file, read a file, open a TCP connection)
and reports each outcome as an info message, shaped like the recorded REPL
output. With bwrap the worker can write inside the project but not outside
it, cannot read the user's $HOME and cannot reach a TCP listener on the
host; with none the same probes succeed, so these checks can fail.
"""

import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

from conftest import find_values, lean_run_args, runtime_facts, tool_body

LONG = 60


def bwrap_unusable():
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return "bwrap is not installed (Debian package bubblewrap)"
    r = subprocess.run([bwrap, "--unshare-all", "--die-with-parent", "--cap-drop", "ALL", "--ro-bind", "/", "/",
                        "true"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return f"bwrap cannot create a sandbox here: {r.stderr.strip()}"
    return None


_bwrap_reason = bwrap_unusable()
needs_bwrap = pytest.mark.skipif(_bwrap_reason is not None, reason=f"{_bwrap_reason}")


class Listener:
    """A TCP listener on the host's loopback that counts connections."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.done = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted += 1
            conn.close()

    def count(self, settle=1.0):
        """Connections accepted so far, after giving one the kernel already
        completed up to `settle` seconds to reach accept() (the thread polls
        every 0.2 s)."""
        deadline = time.monotonic() + settle
        while self.accepted == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.accepted

    def close(self):
        self.done = True
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def listener():
    listener = Listener()
    yield listener
    listener.close()


def probe_code(tmp_path, project, port):
    secret = tmp_path / "home" / "secret.txt"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text("top secret\n")
    return "\n".join([
        f"-- @double probe write {tmp_path / 'outside.txt'}",
        f"-- @double probe write {project / 'inside.txt'}",
        f"-- @double probe write {project / '.lake' / 'build' / 'out.txt'}",
        f"-- @double probe read {secret}",
        f"-- @double probe connect 127.0.0.1 {port}",
        "-- @double probe env GITHUB_TOKEN",
        "def probed := 1",
    ])


def probes(result):
    """{action: outcome} from the info messages of a lean_run result."""
    body = tool_body(result)
    assert not result.get("isError"), body
    out = {}
    for m in [m for ms in find_values(body, {"messages"}) for m in ms]:
        data = m.get("data", "")
        if data.startswith("probe "):
            what, _, outcome = data.partition(": ")
            action, arg = what[len("probe "):].split(" ", 1)
            key = {"write": "write " + os.path.basename(arg), "read": "read", "connect": "connect",
                   "env": "env"}[action]
            out[key] = outcome
    assert len(out) == 6, body
    return out


def run_probes(start_daemon, tmp_path, project, port, sandbox):
    (project / ".lake" / "build").mkdir(parents=True, exist_ok=True)
    d = start_daemon(env={"LEAN_HOST_MCP_SANDBOX": sandbox, "GITHUB_TOKEN": "s3cret"})
    with d.client() as c:
        c.initialize()
        r = c.call_tool("lean_run", lean_run_args(project, probe_code(tmp_path, project, port)), timeout=LONG)
    return d, r


def test_none_is_not_confined(start_daemon, tmp_path, lean_project, listener):
    """The control: without the sandbox every probe succeeds."""
    d, r = run_probes(start_daemon, tmp_path, lean_project, listener.port, "none")
    p = probes(r)
    assert p["write outside.txt"] == "ok"
    assert p["write inside.txt"] == "ok"
    assert p["read"] == "ok: top secret"
    assert p["connect"] == "ok"
    assert p["env"] == "ok: s3cret"
    assert (tmp_path / "outside.txt").exists()
    assert listener.count(settle=5.0) >= 1
    assert runtime_facts(r)["sandbox"] == "none"
    assert "Worker sandbox: none." in d.log()
    assert d.stop() == 0


@needs_bwrap
def test_bwrap_confines_worker(start_daemon, tmp_path, lean_project, listener):
    d, r = run_probes(start_daemon, tmp_path, lean_project, listener.port, "bwrap")
    p = probes(r)
    # the project, its .lake included, is writable and the writes are real
    assert p["write inside.txt"] == "ok", p
    assert p["write out.txt"] == "ok", p
    assert (lean_project / "inside.txt").read_text() == "written by lean-repl-double\n"
    assert (lean_project / ".lake" / "build" / "out.txt").exists()
    # nothing written outside reaches the real file system (inside the
    # sandbox the project's parent is a throw-away tmpfs, or not there)
    assert not (tmp_path / "outside.txt").exists(), p
    # $HOME outside the project is an empty tmpfs
    assert p["read"].startswith("failed:"), p
    # no network: the host's loopback listener is unreachable
    assert p["connect"].startswith("failed:"), p
    assert listener.count() == 0
    # the daemon's environment stays outside
    assert p["env"] == "failed: unset", p
    assert runtime_facts(r)["sandbox"] == "bwrap"
    assert "Worker sandbox: bwrap." in d.log()
    assert d.stop() == 0


@needs_bwrap
def descendants(pid):
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def still_alive(pids, timeout=10):
    """The pids still running after up to timeout s (bwrap's children get
    SIGKILL from --die-with-parent, a moment after bwrap itself)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in pids if os.path.exists(f"/proc/{p}") and not zombie(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def test_bwrap_worker_gone_with_daemon(start_daemon, tmp_path, lean_project):
    """bwrap's own children (the worker in its pid namespace) go when the
    daemon stops: nothing outlives it."""
    d = start_daemon(env={"LEAN_HOST_MCP_SANDBOX": "bwrap"})
    with d.client() as c:
        c.initialize()
        r = c.call_tool("lean_run", lean_run_args(lean_project, "def a := 1"), timeout=LONG)
        facts = runtime_facts(r)
        assert facts["sandbox"] == "bwrap"
        pid = facts["worker_pid"]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert f.read().split(b"\0")[0].endswith(b"bwrap")
        tree = descendants(pid)
        assert tree, "bwrap has no children: where is the worker?"
    assert d.stop() == 0
    assert still_alive([pid] + tree) == []


@needs_bwrap
def test_bwrap_hard_memory_tier(start_daemon, lean_project):
    """Process mode samples the whole tree under bwrap: a sandboxed worker
    over the hard tier is killed (rss_hard_limit_exceeded), all of it, and
    the next call gets a fresh sandboxed worker."""
    from conftest import restart_causes

    d = start_daemon(env={"LEAN_HOST_MCP_SANDBOX": "bwrap"})
    with d.client() as c:
        c.initialize()
        f1 = runtime_facts(c.call_tool("lean_run", lean_run_args(lean_project, "def warm := 0"), timeout=LONG))
        tree = [f1["worker_pid"]] + descendants(f1["worker_pid"])
        r = c.call_tool("lean_run", lean_run_args(lean_project, "-- @double alloc 400\n-- @double sleep 30"),
                        timeout=LONG)
        assert "rss_hard_limit_exceeded" in restart_causes(r), tool_body(r)
        assert still_alive(tree) == []
        f2 = runtime_facts(c.call_tool("lean_run", lean_run_args(lean_project, "def after := 1"), timeout=LONG))
        assert f2["sandbox"] == "bwrap" and f2["worker_generation"] > f1["worker_generation"]
    assert d.stop() == 0


def test_bwrap_missing_is_a_startup_error(start_daemon, tmp_path):
    """bwrap requested but not found: a clear start-up error, exit 78
    (EX_CONFIG, which the unit does not restart), before listening."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    d = start_daemon(env={"LEAN_HOST_MCP_SANDBOX": "bwrap", "PATH": str(empty)}, wait=False)
    assert d.wait(30) == 78, d.log()
    log = d.log()
    assert "worker.sandbox=bwrap" in log and "not found" in log and "bubblewrap" in log, log
    assert not os.path.exists(d.sock)


def test_bad_sandbox_value_rejected(start_daemon):
    d = start_daemon(env={"LEAN_HOST_MCP_SANDBOX": "chroot"}, wait=False)
    assert d.wait(30) == 78, d.log()
    assert "LEAN_HOST_MCP_SANDBOX (env): unknown value 'chroot' (expected none or bwrap)" in d.log()


@needs_bwrap
def test_bwrap_in_scope_mode(user_manager, start_daemon, tmp_path, lean_project, listener):
    """Scope mode: bwrap is what the user manager's scope holds; the worker
    is confined the same way."""
    (lean_project / ".lake" / "build").mkdir(parents=True, exist_ok=True)
    d = start_daemon(env={"LEAN_HOST_MCP_SANDBOX": "bwrap", "LEAN_HOST_MCP_ENFORCEMENT": "scope",
                          "DBUS_SESSION_BUS_ADDRESS": os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")})
    with d.client() as c:
        c.initialize()
        r = c.call_tool("lean_run", lean_run_args(lean_project, probe_code(tmp_path, lean_project, listener.port)),
                        timeout=LONG)
        facts = runtime_facts(r)
        assert facts["enforcement"] == "scope" and facts["sandbox"] == "bwrap", facts
        unit = facts["scope_unit"]
        pid = facts["worker_pid"]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert f.read().split(b"\0")[0].endswith(b"bwrap")
        # bwrap and the worker inside it are all in the scope
        for p in [pid] + descendants(pid):
            with open(f"/proc/{p}/cgroup") as f:
                assert unit in f.read(), (p, unit)
    p = probes(r)
    assert p["write inside.txt"] == "ok", p
    assert not (tmp_path / "outside.txt").exists(), p
    assert p["read"].startswith("failed:"), p
    assert p["connect"].startswith("failed:"), p
    assert listener.count() == 0
    assert d.stop() == 0


def test_tool_annotations_over_the_wire(client):
    """What clients see in tools/list: tools running caller-supplied Lean are
    not read-only (#eval can do IO), name-only queries are."""
    tools = {t["name"]: t.get("annotations", {}) for t in client.request("tools/list")["result"]["tools"]}
    for name in ("lean_run", "lean_proof_attempt", "lean_declaration_verify", "lean_declaration_verify_batch",
                 "lean_proof_search"):
        a = tools[name]
        assert a["readOnlyHint"] is False and a["destructiveHint"] is True, (name, a)
        assert a["idempotentHint"] is False and a["openWorldHint"] is True, (name, a)
    for name in ("lean_project_status", "lean_module_query", "lean_module_query_batch", "lean_declaration_inspect",
                 "lean_declaration_search"):
        a = tools[name]
        assert a["readOnlyHint"] is True and a["openWorldHint"] is False, (name, a)


@needs_bwrap
def test_sandbox_on_bus_and_ctl(user_manager, start_daemon, lean_project):
    """The Manager's Sandbox property and lean-hostctl status show the mode."""
    import json
    import time

    from conftest import binary

    d = start_daemon(env={"LEAN_HOST_MCP_SANDBOX": "bwrap",
                          "DBUS_SESSION_BUS_ADDRESS": os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")})
    argv = ["busctl", "--user", "--json=short", "get-property", "org.leanhost.Host1", "/org/leanhost/Host1",
            "org.leanhost.Host1.Manager", "Sandbox"]
    deadline = time.monotonic() + 30
    while True:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if r.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"type": "s", "data": "bwrap"}
    ctl = binary("LEAN_HOSTCTL")
    r = subprocess.run([ctl, "status"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "sandbox bwrap" in r.stdout, (r.stdout, r.stderr)
    r = subprocess.run([ctl, "--json", "status"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and json.loads(r.stdout)["sandbox"] == "bwrap", (r.stdout, r.stderr)
    assert d.stop() == 0
