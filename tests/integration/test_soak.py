# SPDX-License-Identifier: LGPL-2.1-or-later
"""The exactly-once soak: many clients, mixed calls, workers killed at random,
clients gone mid-call; every request answered exactly once, and the daemon's
file descriptors and RSS do not grow.

N client threads each open connection after connection (a session): initialize,
then M pipelined messages drawn from tools/list, ping, lean_run (some slow),
lean_project_status, invalid params, an unknown tool, unparsable lines, and
lean_runs cancelled with notifications/cancelled. The client then half-closes;
the daemon answers what is pending and closes, so the session's answers are
all there: every id exactly once (a cancelled one at most once: MCP sends no
answer to a cancelled request, but the answer may have crossed the cancel),
one parse error (id null) per unparsable line, nothing else. Some sessions
instead close the connection right after sending (a client gone mid-call).
Meanwhile a thread SIGKILLs a random worker (the test double) now and then.

The daemon's fd count and VmRSS are taken after a warm-up phase of the same
load and again at the end (workers alive again, no clients): fds may not grow,
RSS only by a small bound.

CI runs a short variant (about a minute). Parameters (environment):
  LEAN_HOST_SOAK_SECONDS      main phase length (default 50)
  LEAN_HOST_SOAK_CONNECTIONS  stop the main phase after this many sessions
                              instead (0 = time only; default 0)
  LEAN_HOST_SOAK_CLIENTS      client threads (default 6)
  LEAN_HOST_SOAK_MESSAGES     messages per session (default 8)
  LEAN_HOST_SOAK_PROJECTS     Lake projects, one actor and worker each (default 3)
  LEAN_HOST_SOAK_KILL_SECS    mean seconds between worker kills (default 0.7; 0 = none)
  LEAN_HOST_SOAK_RSS_SLACK_KIB  allowed VmRSS growth (default 16 MiB; 64 MiB under ASan)
The long run: LEAN_HOST_SOAK_CONNECTIONS=10000 LEAN_HOST_SOAK_SECONDS=7200
(see README, "The exactly-once soak").
"""

import json
import os
import random
import signal
import socket
import threading
import time

from conftest import RECV_TIMEOUT, binary

SECONDS = float(os.environ.get("LEAN_HOST_SOAK_SECONDS", "50"))
CONNECTIONS = int(os.environ.get("LEAN_HOST_SOAK_CONNECTIONS", "0"))
CLIENTS = int(os.environ.get("LEAN_HOST_SOAK_CLIENTS", "6"))
MESSAGES = int(os.environ.get("LEAN_HOST_SOAK_MESSAGES", "8"))
PROJECTS = int(os.environ.get("LEAN_HOST_SOAK_PROJECTS", "3"))
KILL_SECS = float(os.environ.get("LEAN_HOST_SOAK_KILL_SECS", "0.7"))
SEED = int(os.environ.get("LEAN_HOST_SOAK_SEED", str(int(time.time()))))

# per session: how a message is chosen (weights)
KINDS = [("tools/list", 3), ("ping", 3), ("lean_run", 6), ("slow_run", 2), ("status", 3),
         ("bad_params", 1), ("unknown_tool", 1), ("bad_json", 1), ("cancelled_run", 2)]
DISCONNECT_SHARE = 0.1


def is_asan(path):
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


def daemon_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def daemon_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def daemon_children(pid):
    kids = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(k) for k in f.read().split()]
        except OSError:
            pass
    return kids


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.sessions = 0
        self.answers = 0
        self.disconnects = 0
        self.kills = 0
        self.problems = []

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)

    def problem(self, text):
        with self.lock:
            self.problems.append(text)


def make_session(rng, projects):
    """The bytes to send, the ids expected once, the ids expected at most once,
    and the number of unparsable lines."""
    lines, once, at_most_once = [], set(), set()
    bad_json = 0
    next_id = 1

    def request(method, params=None, expect=once):
        nonlocal next_id
        rid = next_id
        next_id += 1
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        lines.append(json.dumps(msg))
        expect.add(rid)
        return rid

    def call(tool, args, expect=once):
        return request("tools/call", {"name": tool, "arguments": args}, expect)

    request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "soak", "version": "0"}})
    lines.append(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
    names, weights = zip(*KINDS)
    for _ in range(MESSAGES):
        kind = rng.choices(names, weights)[0]
        project = str(rng.choice(projects))
        n = rng.randrange(1 << 30)
        if kind == "tools/list":
            request("tools/list")
        elif kind == "ping":
            request("ping")
        elif kind == "lean_run":
            call("lean_run", {"project": project, "code": f"def soak_{n} := {n}"})
        elif kind == "slow_run":
            call("lean_run", {"project": project, "code": f"-- @double sleep 0.05\ndef soak_{n} := {n}"})
        elif kind == "status":
            call("lean_project_status", {"project": project})
        elif kind == "bad_params":
            call("lean_run", {"project": n})
        elif kind == "unknown_tool":
            call("no_such_tool", {})
        elif kind == "bad_json":
            lines.append('{"jsonrpc": "2.0", "id": ' + str(n))  # cut off: a parse error
            bad_json += 1
        elif kind == "cancelled_run":
            rid = call("lean_run", {"project": project, "code": f"-- @double sleep 0.2\ndef soak_{n} := {n}"},
                       at_most_once)
            lines.append(json.dumps({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                     "params": {"requestId": rid, "reason": "soak"}}))
    return ("\n".join(lines) + "\n").encode(), once, at_most_once, bad_json


def read_to_eof(sock, deadline):
    buf = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no EOF from the daemon (have {len(buf)} bytes)")
        sock.settimeout(left)
        try:
            chunk = sock.recv(1 << 16)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return buf
        buf += chunk


def run_session(path, rng, projects, stats):
    data, once, at_most_once, bad_json = make_session(rng, projects)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(RECV_TIMEOUT)
        s.connect(path)
        s.sendall(data)
        if rng.random() < DISCONNECT_SHARE:
            # gone mid-call: sometimes at once, sometimes once the first answers are out
            if rng.random() < 0.5:
                time.sleep(rng.random() * 0.05)
            stats.add(sessions=1, disconnects=1)
            return
        s.shutdown(socket.SHUT_WR)
        out = read_to_eof(s, time.monotonic() + 4 * RECV_TIMEOUT)
    finally:
        s.close()

    counts, nulls = {}, 0
    if out and not out.endswith(b"\n"):
        stats.problem(f"output ends inside a line: {out[-200:]!r}")
    for line in out.split(b"\n"):
        if not line:
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            stats.problem(f"not JSON: {line[:200]!r}")
            continue
        if "method" in msg and "id" not in msg:
            continue  # a notification (log messages)
        rid = msg.get("id")
        if rid is None:
            nulls += 1
            continue
        counts[rid] = counts.get(rid, 0) + 1
    for rid in once:
        if counts.get(rid, 0) != 1:
            stats.problem(f"id {rid} answered {counts.get(rid, 0)} times (want exactly once)")
    for rid in at_most_once:
        if counts.get(rid, 0) > 1:
            stats.problem(f"cancelled id {rid} answered {counts[rid]} times (want at most once)")
    for rid in counts:
        if rid not in once and rid not in at_most_once:
            stats.problem(f"an answer to id {rid!r}, which was never sent")
    if nulls != bad_json:
        stats.problem(f"{nulls} answers with id null for {bad_json} unparsable lines")
    stats.add(sessions=1, answers=sum(counts.values()) + nulls)


def load(path, projects, stats, stop, seed, limit=0):
    """CLIENTS threads running sessions until stop is set (or limit sessions)."""
    def client(i):
        rng = random.Random(seed * 1000 + i)
        while not stop.is_set():
            if limit and stats.sessions >= limit:
                return
            try:
                run_session(path, rng, projects, stats)
            except Exception as e:  # a hang or a refused connection is a finding too
                stats.problem(f"client {i}: {type(e).__name__}: {e}")
                return

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    return threads


def killer(pid, stats, stop, seed):
    rng = random.Random(seed)
    while not stop.wait(rng.expovariate(1 / KILL_SECS)):
        kids = daemon_children(pid)
        if kids:
            try:
                os.kill(rng.choice(kids), signal.SIGKILL)
                stats.add(kills=1)
            except ProcessLookupError:
                pass


def workers_up(client, projects, pid):
    """Every project's worker alive (a job may just have recycled one: max_requests)."""
    for _ in range(20):
        for p in projects:
            client.call_tool("lean_run", {"project": str(p), "code": "def soak_settle := 0"})
        time.sleep(0.2)
        if len(daemon_children(pid)) == len(projects):
            return
    raise AssertionError(f"not one worker per project: {daemon_children(pid)}")


def settled(pid, sample):
    """The smallest value of sample() over a quiet second (what is still
    closing after the last client is not counted)."""
    values = []
    for _ in range(10):
        values.append(sample(pid))
        time.sleep(0.1)
    return min(values)


def make_projects(tmp_path):
    projects = []
    for i in range(PROJECTS):
        root = tmp_path / f"proj{i}"
        root.mkdir()
        (root / "lakefile.lean").write_text(f"import Lake\nopen Lake DSL\n\npackage proj{i}\n")
        (root / "lean-toolchain").write_text("leanprover/lean4:v4.33.0-rc2\n")
        projects.append(root)
    return projects


def test_exactly_once_soak(start_daemon, tmp_path):
    asan = is_asan(binary("LEAN_HOSTD"))
    env = {
        "LEAN_HOST_MCP_WORKER_RESTART_LIMIT": "100000",   # keep restarting killed workers
        "LEAN_HOST_MCP_PROJECT_MAILBOX_CAPACITY": "64",
        "LEAN_HOST_MCP_LOG_LEVEL": "notice",
    }
    if asan:
        # a small quarantine, so RSS measures the daemon, not ASan's free list
        env["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=8").lstrip(":")
    d = start_daemon(env=env, args=["--log-level", "notice"])
    projects = make_projects(tmp_path)
    slack = int(os.environ.get("LEAN_HOST_SOAK_RSS_SLACK_KIB", str((64 if asan else 16) * 1024)))
    print(f"soak: seed {SEED}, {CLIENTS} clients x {MESSAGES} messages, {PROJECTS} projects, "
          f"kill every ~{KILL_SECS}s, {SECONDS}s / {CONNECTIONS or 'no'} session limit, asan={asan}")

    with d.client() as c:
        c.initialize()
        workers_up(c, projects, d.pid)

        # warm-up: the same load, briefly, so allocator pools and caches are at size
        stats = Stats()
        stop = threading.Event()
        threads = load(d.sock, projects, stats, stop, SEED, limit=max(50, CLIENTS * 10))
        for t in threads:
            t.join(timeout=20 * RECV_TIMEOUT)
        assert not stats.problems, "\n".join(stats.problems[:20])
        workers_up(c, projects, d.pid)
        fds0, rss0 = settled(d.pid, daemon_fds), settled(d.pid, daemon_rss_kib)

        # the main phase
        stats = Stats()
        stop = threading.Event()
        threads = load(d.sock, projects, stats, stop, SEED + 1, limit=CONNECTIONS)
        kthread = threading.Thread(target=killer, args=(d.pid, stats, stop, SEED), daemon=True)
        if KILL_SECS > 0:
            kthread.start()
        deadline = time.monotonic() + SECONDS
        while time.monotonic() < deadline and any(t.is_alive() for t in threads):
            time.sleep(0.2)
        stop.set()
        for t in threads:
            t.join(timeout=20 * RECV_TIMEOUT)
            assert not t.is_alive(), "a soak client hangs"
        if KILL_SECS > 0:
            kthread.join()

        print(f"soak: {stats.sessions} sessions, {stats.answers} answers, {stats.disconnects} "
              f"disconnected mid-call, {stats.kills} workers killed")
        assert not stats.problems, f"{len(stats.problems)} problems:\n" + "\n".join(stats.problems[:30])
        assert d.alive(), d.log()[-4000:]
        assert stats.sessions >= 50, "the soak did too little to mean anything"
        if KILL_SECS > 0 and SECONDS >= 10:
            assert stats.kills > 0

        # the same state as at the baseline: every project's worker up, one client
        assert c.request("ping")["result"] == {}
        workers_up(c, projects, d.pid)
        fds1, rss1 = settled(d.pid, daemon_fds), settled(d.pid, daemon_rss_kib)

    print(f"soak: daemon fds {fds0} -> {fds1}, VmRSS {rss0} -> {rss1} KiB (slack {slack})")
    assert fds1 <= fds0, f"the daemon's fds grew from {fds0} to {fds1}"
    assert rss1 <= rss0 + slack, f"the daemon's VmRSS grew from {rss0} to {rss1} KiB"
