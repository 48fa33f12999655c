# SPDX-License-Identifier: LGPL-2.1-or-later
"""Shared fixtures of the lean-host integration suite.

The suite runs the built binaries named by the environment meson sets
(tests/meson.build): LEAN_HOSTD, LEAN_HOST_MCP, LEAN_HOSTCTL,
LEAN_REPL_DOUBLE (the test-double worker), BUILD_ROOT, SOURCE_ROOT.

* `daemon` / `start_daemon`: lean-hostd --listen <tmp>/run/lean-host/mcp.sock
  with a private HOME/XDG dirs, the double as worker command, enforcement
  `process` and small memory tiers unless the test overrides them.
* `Client`: a raw newline-delimited JSON-RPC client with timeouts.
* `lean_project`: a throw-away Lake project root (lakefile.lean).
* `user_manager`: tests marked with it run inside
  tests/harness/with-user-systemd (a private systemd --user and session bus
  in a cgroup + mount + pid namespace); the outer pytest re-invokes itself
  for that one test inside the sandbox.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

SOURCE_ROOT = os.environ.get("SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_ROOT = os.environ.get("BUILD_ROOT", "")
HARNESS = os.path.join(SOURCE_ROOT, "tests", "harness")
WITH_USER_SYSTEMD = os.path.join(HARNESS, "with-user-systemd")
INSTALL_UNITS = os.path.join(HARNESS, "install-units")
IN_USER_MANAGER = os.environ.get("LEAN_HOST_TEST_IN_USER_MANAGER") == "1"

PROTOCOL_VERSIONS = ["2025-06-18", "2025-03-26", "2025-11-25"]

# What an ASan/UBSan/LSan build prints when it finds something.
SANITIZER_MARKERS = ["ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"]
DEFAULT_PROTOCOL = "2025-06-18"

# Generous: the suite runs on 2 loaded cores, under ASan too.
RECV_TIMEOUT = float(os.environ.get("LEAN_HOST_TEST_TIMEOUT", "30"))

KIB_PER_MIB = 1024


def binary(name):
    path = os.environ.get(name)
    if not path or not os.path.exists(path):
        pytest.skip(f"{name} is not set or does not exist (run through `meson test`)")
    return path


def double_command():
    path = binary("LEAN_REPL_DOUBLE")
    return path


# ---------------------------------------------------------------- clients


class ProtocolError(Exception):
    pass


class JsonRpcWriter:
    """The writing half of a newline-delimited JSON-RPC 2.0 client: ids and
    messages over the subclass's send_raw(bytes) (also the bridge tests')."""

    next_id = 1

    def send(self, obj):
        self.send_raw(json.dumps(obj).encode() + b"\n")

    def request_async(self, method, params=None):
        rid = self.next_id
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return rid

    def notify(self, method, params=None):
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)


class Client(JsonRpcWriter):
    """One connection to the daemon: newline-delimited JSON-RPC 2.0."""

    def __init__(self, path, timeout=RECV_TIMEOUT):
        self.path = path
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.next_id = 1
        self.pending = []  # messages read while waiting for another id
        self.notifications = []

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv_line(self, timeout=None):
        """The next line (bytes, without newline); b'' on EOF."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete line within {timeout or self.timeout}s (have {self.buf[:200]!r})")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                if self.buf:
                    raise ProtocolError(f"EOF inside a line: {self.buf[:200]!r}")
                return b""
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def recv(self, timeout=None):
        """The next message (parsed); None on EOF."""
        line = self.recv_line(timeout)
        if line == b"":
            return None
        return json.loads(line)

    def at_eof(self, timeout=None):
        """True once the daemon closed the connection (after any lines it still sends)."""
        try:
            while True:
                msg = self.recv(timeout)
                if msg is None:
                    return True
                self.pending.append(msg)
        except TimeoutError:
            return False

    def wait_response(self, rid, timeout=None):
        for i, m in enumerate(self.pending):
            if m.get("id") == rid and "method" not in m:
                return self.pending.pop(i)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no response to id {rid}")
            msg = self.recv(left)
            if msg is None:
                raise ProtocolError(f"connection closed while waiting for id {rid}")
            if "method" in msg and "id" not in msg:
                self.notifications.append(msg)
                continue
            if msg.get("id") == rid:
                return msg
            self.pending.append(msg)

    def request(self, method, params=None, timeout=None):
        return self.wait_response(self.request_async(method, params), timeout)

    def initialize(self, version=DEFAULT_PROTOCOL):
        resp = self.request("initialize", {
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": {"name": "lean-host-tests", "version": "0"},
        })
        assert "result" in resp, resp
        self.notify("notifications/initialized")
        return resp["result"]

    def call_tool_async(self, name, arguments):
        return self.request_async("tools/call", {"name": name, "arguments": arguments})

    def call_tool(self, name, arguments, timeout=None):
        resp = self.request("tools/call", {"name": name, "arguments": arguments}, timeout)
        assert "result" in resp, resp
        return resp["result"]


def tool_body(result):
    """The structured body of a tools/call result (structuredContent, or the
    parsed text when a server sends only content)."""
    if "structuredContent" in result:
        return result["structuredContent"]
    return json.loads(result["content"][0]["text"])


def runtime_facts(result):
    body = tool_body(result)
    assert "runtime" in body, body
    return body["runtime"]


def error_of(result):
    body = tool_body(result)
    if not result.get("isError"):
        return None
    assert "error" in body, body
    return body["error"]


def find_values(obj, keys):
    """Every value under any of keys, anywhere in obj (restart causes are
    reported in the error body, the call's restart event and last_restart)."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in keys:
                out.append(v)
            out.extend(find_values(v, keys))
    elif isinstance(obj, list):
        for v in obj:
            out.extend(find_values(v, keys))
    return out


def restart_causes(result):
    return set(v for v in find_values(tool_body(result), {"cause", "restart_cause"}) if isinstance(v, str))


# The lean_run arguments: one place to adapt when the schema moves.
def lean_run_args(project, code):
    return {"project": str(project), "code": code}


# ---------------------------------------------------------------- daemon


def wait_for_socket(path, proc=None, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        if os.path.exists(path):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                return True
            except OSError:
                pass
            finally:
                s.close()
        time.sleep(0.02)
    return False


class Daemon:
    def __init__(self, proc, sock, log_path, env):
        self.proc = proc
        self.sock = sock
        self.log_path = log_path
        self.env = env

    @property
    def pid(self):
        return self.proc.pid

    def client(self, **kw):
        return Client(self.sock, **kw)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"lean-hostd did not exit within {timeout}s of {sig!r}\n{self.log()[-4000:]}")

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


def base_env(tmp):
    """A clean environment: no user config, no session bus (so `auto` means
    process mode), the double as worker, small tiers."""
    home = os.path.join(tmp, "home")
    run = os.path.join(tmp, "run")
    for d in (home, run, os.path.join(home, ".config")):
        os.makedirs(d, exist_ok=True)
    os.chmod(run, 0o700)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "XDG_CONFIG_HOME": os.path.join(home, ".config"),
        "XDG_RUNTIME_DIR": run,
        "LANG": "C.UTF-8",
        "SYSTEMD_LOG_LEVEL": "info",
        "LEAN_HOST_MCP_ENFORCEMENT": "process",
        "LEAN_HOST_MCP_WORKER_COMMAND": double_command(),
        # tiers small enough for the double to cross with `alloc`
        "LEAN_HOST_MCP_IMPORT_SWITCH_RSS_SOFT_KIB": str(64 * KIB_PER_MIB),
        "LEAN_HOST_MCP_WORKER_RSS_POST_JOB_RESTART_KIB": str(128 * KIB_PER_MIB),
        "LEAN_HOST_MCP_WORKER_RSS_HARD_KILL_KIB": str(256 * KIB_PER_MIB),
        "LEAN_HOST_MCP_WORKER_RSS_SAMPLE_MILLIS": "50",
        "LEAN_HOST_MCP_IDLE_EXIT_SECS": "0",
        # one worker per project, whatever the CPU count: the suite was written
        # for it; test_pool.py sets its own pool sizes
        "LEAN_HOST_MCP_PROJECT_MAX_WORKERS": "1",
    }
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "MALLOC_PERTURB_"):
        if k in os.environ:
            env[k] = os.environ[k]
    if IN_USER_MANAGER:
        env["DBUS_SESSION_BUS_ADDRESS"] = os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")
    return env


@pytest.fixture
def start_daemon(tmp_path):
    """start_daemon(env={...}, args=[...], wait=True) → Daemon. Env values of
    None remove the key. Every daemon is killed at teardown; one that crashed
    (signal) fails the test."""
    started = []

    def start(env=None, args=None, wait=True, sock=None):
        tmp = str(tmp_path)
        e = base_env(tmp)
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = str(v)
        sock = sock or os.path.join(e["XDG_RUNTIME_DIR"], "lean-host", "mcp.sock")
        log_path = os.path.join(tmp, f"lean-hostd-{len(started)}.log")
        argv = [binary("LEAN_HOSTD"), "--listen", sock, "--log-level", "debug"] + list(args or [])
        logf = open(log_path, "wb")
        proc = subprocess.Popen(argv, env=e, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                cwd=tmp)
        logf.close()
        d = Daemon(proc, sock, log_path, e)
        started.append(d)
        if wait and not wait_for_socket(sock, proc):
            rc = proc.poll()
            raise AssertionError(f"lean-hostd did not listen on {sock} (exit {rc})\n{d.log()[-4000:]}")
        return d

    yield start

    for d in started:
        # A clean stop, so an ASan/LSan build reports what it found at exit.
        if d.proc.poll() is None:
            d.proc.send_signal(signal.SIGTERM)
            try:
                d.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                d.proc.kill()
                d.proc.wait()
        log = d.log()
        for marker in SANITIZER_MARKERS:
            if marker in log:
                raise AssertionError(f"lean-hostd reported '{marker}'\n{log[-6000:]}")
        if d.proc.returncode < 0 and d.proc.returncode != -signal.SIGKILL:
            raise AssertionError(f"lean-hostd died by signal {-d.proc.returncode}\n{log[-4000:]}")


@pytest.fixture
def daemon(start_daemon):
    return start_daemon()


@pytest.fixture
def client(daemon):
    with daemon.client() as c:
        c.initialize()
        yield c


def make_project(root):
    """A Lake project root the registry accepts (the double never reads it)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "lakefile.lean").write_text("import Lake\nopen Lake DSL\n\npackage proj\n")
    (root / "lean-toolchain").write_text("leanprover/lean4:v4.33.0-rc2\n")
    (root / "Proj.lean").write_text("def hello := 1\n")
    return root


@pytest.fixture
def lean_project(tmp_path):
    return make_project(tmp_path / "proj")


# ---------------------------------------------------------------- user manager


def _user_manager_unavailable():
    if os.geteuid() != 0:
        return "needs root: with-user-systemd creates cgroups and namespaces"
    for p in ("/lib/systemd/systemd", "/usr/bin/systemctl", "/usr/bin/unshare"):
        if not os.path.exists(p):
            return f"{p} is missing (install systemd, util-linux)"
    if not (os.path.exists("/usr/bin/dbus-daemon") or os.path.exists("/usr/bin/dbus-broker")):
        return "no D-Bus daemon for the session bus (install dbus, dbus-user-session)"
    return None


class UserManager:
    """Inside the sandbox: the private user manager and helpers."""

    def __init__(self, tmp_path):
        self.runtime_dir = os.environ["XDG_RUNTIME_DIR"]
        self.tmp_path = tmp_path
        self.socket = os.path.join(self.runtime_dir, "lean-host", "mcp.sock")

    def systemctl(self, *args, check=True):
        r = subprocess.run(["systemctl", "--user", "--no-pager"] + list(args), capture_output=True, text=True,
                           timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"systemctl --user {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def install_units(self, env=None):
        """Install the built units pointing at the build tree; env becomes Environment= lines."""
        e = dict(env or {})
        kv = [f"{k}={v}" for k, v in e.items()]
        subprocess.run([INSTALL_UNITS, os.path.join(BUILD_ROOT, "units"), binary("LEAN_HOSTD")] + kv, check=True,
                       timeout=60)

    def journal(self, unit="lean-hostd.service"):
        r = subprocess.run(["journalctl", "--user", "-u", unit, "--no-pager", "-o", "cat"], capture_output=True,
                           text=True, timeout=30)
        return r.stdout

    def show(self, unit, *props):
        r = self.systemctl("show", unit, "-p", ",".join(props))
        return dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)

    def units(self, pattern):
        r = self.systemctl("list-units", "--all", "--plain", "--no-legend", pattern, check=False)
        return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


@pytest.fixture
def user_manager(tmp_path):
    if not IN_USER_MANAGER:
        # pytest_pyfunc_call below runs the body in the sandbox instead.
        return None
    return UserManager(tmp_path)


def pytest_configure(config):
    config.addinivalue_line("markers", "user_manager: runs inside tests/harness/with-user-systemd")


def pytest_collection_modifyitems(config, items):
    reason = None if IN_USER_MANAGER else _user_manager_unavailable()
    for item in items:
        if "user_manager" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.user_manager)
            if reason:
                item.add_marker(pytest.mark.skip(reason=f"private user manager unavailable: {reason}"))


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Outside the sandbox, a user_manager test is re-run as its own pytest
    inside tests/harness/with-user-systemd; its result is this test's."""
    if IN_USER_MANAGER or "user_manager" not in pyfuncitem.fixturenames:
        return None
    env = dict(os.environ)
    env["LEAN_HOST_TEST_IN_USER_MANAGER"] = "1"
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    argv = [WITH_USER_SYSTEMD, "--", sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
            "-o", "addopts=", "--rootdir", os.path.dirname(__file__),
            str(pyfuncitem.path) + "::" + pyfuncitem.nodeid.split("::", 1)[1]]
    r = subprocess.run(argv, env=env, cwd=os.path.dirname(__file__), capture_output=True, text=True, timeout=900)
    out = r.stdout + r.stderr
    if r.returncode == 0 and " passed" in out:
        return True
    if r.returncode == 0 and " skipped" in out:
        pytest.skip("skipped inside the user manager:\n" + out[-2000:])
    raise AssertionError(f"inside with-user-systemd (exit {r.returncode}):\n{out[-12000:]}")
