# SPDX-License-Identifier: LGPL-2.1-or-later
"""Long calls survive: notifications/progress for tool calls that carry
params._meta.progressToken (MCP 2025-06-18), on the raw socket, through the
bridge, and with the official TypeScript SDK client, whose request timeout
(60 s by default) is reset by progress when resetTimeoutOnProgress is set.

The slow call is the double's `-- @double sleep SECS` directive: the reply
itself is the double's ordinary recorded shape. The batch and search steps
use the replay and synthetic doubles the proof/query suites use."""

import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import SOURCE_ROOT, binary, lean_run_args, tool_body

HERE = os.path.dirname(os.path.abspath(__file__))
META_DOUBLE = os.path.realpath(os.path.join(HERE, "..", "double", "lean-repl-meta"))
TRANSCRIPT = os.path.join(SOURCE_ROOT, "tests", "double", "lean-repl-transcript")
FIXTURES = os.environ.get("LEAN_REPL_FIXTURES") or os.path.join(SOURCE_ROOT, "tests", "fixtures", "lean-repl")
CLIENT_DIR = os.path.join(SOURCE_ROOT, "tests", "client")
LONG = 120


def sanitized():
    with open(binary("LEAN_HOSTD"), "rb") as f:
        return b"__asan_init" in f.read()


def call_with_progress(c, name, arguments, token, timeout=LONG):
    """Send a tools/call with a progressToken; return (every message before the
    answer, the answer)."""
    rid = c.request_async("tools/call", {"name": name, "arguments": arguments,
                                         "_meta": {"progressToken": token}})
    before = []
    deadline = time.monotonic() + timeout
    while True:
        msg = c.recv(max(0.1, deadline - time.monotonic()))
        assert msg is not None, "connection closed before the answer"
        if msg.get("id") == rid and "method" not in msg:
            return before, msg
        before.append(msg)


def progress_of(msgs, token):
    """The progress notifications for token, checked: value grows, message a string."""
    out = [m["params"] for m in msgs if m.get("method") == "notifications/progress"
           and m["params"].get("progressToken") == token]
    values = [p["progress"] for p in out]
    assert values == sorted(set(values)), values  # strictly increasing
    for p in out:
        assert isinstance(p["progress"], (int, float))
        assert isinstance(p.get("message", ""), str)
        assert "id" not in p
    return out


def messages(progress):
    return [p.get("message", "") for p in progress]


def quiet_for(c, secs):
    """Nothing arrives for secs (no notification after the answer)."""
    try:
        msg = c.recv(secs)
    except TimeoutError:
        return True
    raise AssertionError(f"unexpected message after the answer: {msg}")


@pytest.fixture
def pdaemon(start_daemon):
    return start_daemon(env={"LEAN_HOST_MCP_PROGRESS_INTERVAL_SECS": "1"})


def test_stages_and_heartbeat_before_the_answer(pdaemon, lean_project):
    with pdaemon.client() as c:
        c.initialize()
        before, resp = call_with_progress(c, "lean_run", lean_run_args(lean_project, "-- @double sleep 4\ndef a := 1"),
                                          "run-1")
        assert not resp["result"].get("isError"), resp
        prog = progress_of(before, "run-1")
        texts = messages(prog)
        # the actor's stages, in order, then the heartbeat while the double sleeps
        start = next(i for i, t in enumerate(texts) if t.startswith("starting a Lean worker"))
        imp = next(i for i, t in enumerate(texts) if t.startswith("importing "))
        run = next(i for i, t in enumerate(texts) if t.startswith("running in Lean"))
        assert start < imp < run, texts
        beats = [t for t in texts[run + 1:] if t.startswith("running in Lean") and "s elapsed)" in t]
        assert len(beats) >= 2, texts
        # nothing but progress went out before the answer
        assert all(m.get("method") == "notifications/progress" for m in before), before
        assert quiet_for(c, 2.5)

        # a warm worker: no start, no import; an integer token
        before, resp = call_with_progress(c, "lean_run", lean_run_args(lean_project, "-- @double sleep 2\ndef b := 2"),
                                          42)
        texts = messages(progress_of(before, 42))
        assert texts and texts[0].startswith("running in Lean"), texts
        assert not any(t.startswith("starting a Lean worker") for t in texts), texts
        assert quiet_for(c, 1.5)


def test_no_token_no_progress(pdaemon, lean_project):
    with pdaemon.client() as c:
        c.initialize()
        rid = c.call_tool_async("lean_run", lean_run_args(lean_project, "-- @double sleep 3\ndef a := 1"))
        msg = c.recv(LONG)
        assert msg.get("id") == rid and "result" in msg, msg
        assert quiet_for(c, 1.5)


def test_mailbox_position(pdaemon, lean_project):
    with pdaemon.client() as c:
        c.initialize()
        first = c.call_tool_async("lean_run", lean_run_args(lean_project, "-- @double sleep 3\ndef a := 1"))
        time.sleep(0.5)
        before, resp = call_with_progress(c, "lean_run", lean_run_args(lean_project, "def b := 2"), "second")
        assert "result" in resp, resp
        texts = messages(progress_of(before, "second"))
        wait = [i for i, t in enumerate(texts) if t.startswith("waiting in the mailbox (position 2, 1 call ahead)")]
        run = [i for i, t in enumerate(texts) if t.startswith("running in Lean")]
        assert wait and run and wait[0] < run[0], texts
        # the first call, without a token, got its answer and no progress
        assert any(m.get("id") == first for m in before + c.pending), before
        assert not [m for m in before if m.get("method") == "notifications/progress"
                    and m["params"]["progressToken"] != "second"]


def test_cancelled_call_stops_progress(pdaemon, lean_project):
    with pdaemon.client() as c:
        c.initialize()
        rid = c.request_async("tools/call", {"name": "lean_run",
                                             "arguments": lean_run_args(lean_project, "-- @double sleep 30\ndef a := 1"),
                                             "_meta": {"progressToken": "gone"}})
        seen = []
        while not any("s elapsed)" in p.get("message", "") for p in seen):
            msg = c.recv(LONG)
            assert msg.get("method") == "notifications/progress", msg
            seen.append(msg["params"])
        c.notify("notifications/cancelled", {"requestId": rid, "reason": "test"})
        assert quiet_for(c, 2.5)  # neither progress nor an answer


def test_proof_search_attempts_and_query_batch(start_daemon, lean_project):
    d = start_daemon(env={"LEAN_HOST_MCP_WORKER_COMMAND": META_DOUBLE,
                          "LEAN_HOST_MCP_PROGRESS_INTERVAL_SECS": "1"})
    p = str(lean_project)
    with d.client() as c:
        c.initialize()
        before, resp = call_with_progress(c, "lean_proof_search",
                                          {"project": p, "goal": "a + b = b + a", "tactics": ["omega", "decide"]},
                                          "search")
        assert not resp["result"].get("isError"), resp
        texts = messages(progress_of(before, "search"))
        assert "attempt 1 of 2: omega" in texts and "attempt 2 of 2: decide" in texts, texts
        assert texts.index("attempt 1 of 2: omega") < texts.index("attempt 2 of 2: decide")

        before, resp = call_with_progress(c, "lean_module_query_batch",
                                          {"project": p, "items": [{"module": "Demo.Basic"}, {"module": "Demo.Empty"}]},
                                          "batch")
        assert not resp["result"].get("isError"), resp
        texts = messages(progress_of(before, "batch"))
        assert "module 1 of 2: Demo.Basic" in texts and "module 2 of 2: Demo.Empty" in texts, texts


def test_verify_batch_items(start_daemon, lean_project):
    d = start_daemon(env={"LEAN_HOST_MCP_WORKER_COMMAND": TRANSCRIPT, "LEAN_REPL_FIXTURES": FIXTURES,
                          "LEAN_HOST_MCP_PROGRESS_INTERVAL_SECS": "1"})
    items = [{"name": "good", "code": "theorem good : 1 = 1 := rfl"}, {"name": "Nat.add_comm"}]
    with d.client() as c:
        c.initialize()
        before, resp = call_with_progress(c, "lean_declaration_verify_batch",
                                          {"project": str(lean_project), "items": items}, "verify")
        assert not resp["result"].get("isError"), resp
        assert tool_body(resp["result"])["result"]["n_ok"] == 2
        texts = messages(progress_of(before, "verify"))
        assert texts.index("item 1 of 2: good") < texts.index("item 2 of 2: Nat.add_comm"), texts


def test_through_the_bridge(pdaemon, lean_project):
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "bridge", "version": "0"}}}
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "lean_run", "arguments": lean_run_args(lean_project, "-- @double sleep 3\ndef a := 1"),
                       "_meta": {"progressToken": "via-bridge"}}}
    proc = subprocess.Popen([binary("LEAN_HOST_MCP"), "--socket", pdaemon.sock], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for m in (init, {"jsonrpc": "2.0", "method": "notifications/initialized"}, call):
            proc.stdin.write(json.dumps(m).encode() + b"\n")
        proc.stdin.flush()
        lines = []
        while True:
            line = proc.stdout.readline()
            assert line, proc.stderr.read().decode()
            msg = json.loads(line)
            if msg.get("id") == 2:
                break
            lines.append(msg)
        assert "result" in msg and not msg["result"].get("isError"), msg
        texts = messages(progress_of(lines, "via-bridge"))
        assert any(t.startswith("running in Lean") for t in texts), texts
        assert any("s elapsed)" in t for t in texts), texts
    finally:
        proc.stdin.close()
        proc.wait(30)


# ---------------------------------------------------------------- the TypeScript SDK client


def sdk_call(daemon, project, code, options, timeout):
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed (packaging/quickstart.sh test installs it)")
    if not os.path.isdir(os.path.join(CLIENT_DIR, "node_modules", "@modelcontextprotocol", "sdk")):
        pytest.skip("tests/client/node_modules is missing: run `npm ci` in tests/client "
                    "(packaging/quickstart.sh test does)")
    cmd = [node, os.path.join(CLIENT_DIR, "progress.mjs"), binary("LEAN_HOST_MCP"),
           json.dumps(["--socket", daemon.sock]), json.dumps(lean_run_args(project, code)), json.dumps(options)]
    r = subprocess.run(cmd, env=dict(os.environ), capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_sdk_call_outlasts_its_timeout_with_reset(pdaemon, lean_project):
    # 3 s client timeout, an 8 s call, a heartbeat every second
    out = sdk_call(pdaemon, lean_project, "-- @double sleep 8\ndef a := 1",
                   {"timeout": 3000, "resetTimeoutOnProgress": True}, 120)
    assert out["ok"] is True and out["isError"] is False, out
    assert out["elapsed_ms"] > 3000 * 2, out
    assert len(out["progress"]) >= 5, out
    values = [p["progress"] for p in out["progress"]]
    assert values == sorted(set(values)), values


def test_sdk_call_times_out_without_reset(pdaemon, lean_project):
    # the negative control: the same call, progress arrives, but the SDK keeps its deadline
    out = sdk_call(pdaemon, lean_project, "-- @double sleep 8\ndef a := 1",
                   {"timeout": 3000, "resetTimeoutOnProgress": False}, 120)
    assert out["ok"] is False, out
    assert out["error"]["code"] == -32001, out  # ErrorCode.RequestTimeout
    assert out["elapsed_ms"] < 7000, out
    assert out["progress"], out  # progress came, it just did not count


def test_sdk_default_timeout_65s_call(start_daemon, lean_project):
    """The SDK's real default (60 s) and the daemon's default heartbeat (15 s):
    a 65 s call finishes. Not under the sanitizers (a minute of suite time
    once per CI is enough; the short test above covers the logic)."""
    if sanitized():
        pytest.skip("runs in the non-sanitized build only (65 s)")
    d = start_daemon()  # daemon.progress_interval_secs at its default
    out = sdk_call(d, lean_project, "-- @double sleep 65\ndef a := 1", {"resetTimeoutOnProgress": True}, 200)
    assert out["timeout_ms"] == 60000, out
    assert out["ok"] is True and out["isError"] is False, out
    assert out["elapsed_ms"] > 65000, out
    assert len([p for p in out["progress"] if "s elapsed)" in (p.get("message") or "")]) >= 3, out
