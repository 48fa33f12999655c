# SPDX-License-Identifier: LGPL-2.1-or-later
"""Issue 4: worker supervision through the daemon, with the test-double worker
(tests/double/lean-repl-double; directives in the command text: `-- @double
alloc MIB|free|sleep S|exit CODE|abort|garbage|slow S|stderr N|pid`).

The daemon runs with the tiers of conftest.base_env: import-switch 64 MiB,
post-job 128 MiB, hard 256 MiB, sampled every 50 ms."""

import os
import signal
import subprocess
import time

import pytest

from conftest import (
    KIB_PER_MIB,
    double_command,
    error_of,
    lean_run_args,
    restart_causes,
    runtime_facts,
    tool_body,
)
from test_foundation import wait_for_worker

LONG = 120  # seconds to wait for any one answer


def run(c, project, code, timeout=LONG):
    return c.call_tool("lean_run", lean_run_args(project, code), timeout=timeout)


def assert_ok(result):
    assert not result.get("isError"), tool_body(result)
    return runtime_facts(result)


def test_lean_run_returns_facts(client, lean_project):
    r = run(client, lean_project, "def x := 1\n#eval x")
    facts = assert_ok(r)
    body = tool_body(r)
    assert "result" in body
    assert facts["worker_generation"] >= 1
    assert facts["worker_pid"] > 0
    assert facts["enforcement"] == "process"
    assert facts["worker_restarted"] is False
    assert facts["retry_count"] == 0
    assert "restarts_by_cause" in facts
    # the same worker serves the next call
    facts2 = assert_ok(run(client, lean_project, "def y := 2"))
    assert facts2["worker_generation"] == facts["worker_generation"]
    assert facts2["worker_pid"] == facts["worker_pid"]


def test_mailbox_full(client, lean_project):
    assert_ok(run(client, lean_project, "def warm := 0"))  # the worker is up
    n = 12
    ids = [client.call_tool_async("lean_run", lean_run_args(lean_project, f"-- @double sleep 0.5\ndef a{i} := {i}"))
           for i in range(n)]
    results = [client.wait_response(i, timeout=LONG)["result"] for i in ids]
    full = [error_of(r) for r in results if r.get("isError")]
    assert full, "no call was refused with 12 in flight"
    for e in full:
        assert e["code"] == "mailbox_full", e
        assert e["retryable"] is True
    assert len(results) - len(full) >= 8  # capacity 8 (+ the one running)


def test_crash_retried_once(client, lean_project):
    r = run(client, lean_project, "-- @double exit 3\ndef a := 1")
    facts = runtime_facts(r)
    assert facts["worker_restarted"] is True, facts
    assert facts["retry_count"] == 1, facts
    assert "child_exit" in restart_causes(r), tool_body(r)
    # a new generation serves the next call
    facts2 = assert_ok(run(client, lean_project, "def b := 2"))
    assert facts2["worker_generation"] > 1


def test_abort_is_child_abort(client, lean_project):
    r = run(client, lean_project, "-- @double abort")
    assert "child_abort" in restart_causes(r), tool_body(r)
    assert_ok(run(client, lean_project, "def b := 2"))


def test_restart_window_full(client, lean_project):
    seen = None
    for i in range(4):
        # different inputs: one input that crashes twice is poison, charged once
        r = run(client, lean_project, f"-- @double exit 1\ndef crash{i} := {i}")
        e = error_of(r)
        if e and e["code"] == "worker_unavailable":
            seen = e
            break
    assert seen, "4 crash calls never hit worker_unavailable"
    assert seen["retryable"] is True
    assert seen["retry_after_ms"] > 0
    # fail fast while cooling down, without starting a worker
    t = time.monotonic()
    r = run(client, lean_project, "def ok := 1")
    assert error_of(r)["code"] == "worker_unavailable"
    assert time.monotonic() - t < 10


def test_timeout(start_daemon, lean_project):
    d = start_daemon(env={"LEAN_HOST_MCP_REQUEST_TIMEOUT_MILLIS": 1500})
    with d.client() as c:
        c.initialize()
        r = run(c, lean_project, "-- @double sleep 30")
        e = error_of(r)
        assert e and e["code"] == "timeout", tool_body(r)
        assert "timeout" in restart_causes(r), tool_body(r)
        assert_ok(run(c, lean_project, "def after := 1"))


def test_cancel_queued(client, lean_project):
    assert_ok(run(client, lean_project, "def warm := 0"))
    a = client.call_tool_async("lean_run", lean_run_args(lean_project, "-- @double sleep 2\ndef a := 1"))
    b = client.call_tool_async("lean_run", lean_run_args(lean_project, "-- @double sleep 60\ndef b := 1"))
    time.sleep(0.3)
    client.notify("notifications/cancelled", {"requestId": b, "reason": "test"})
    ra = client.wait_response(a, timeout=LONG)["result"]
    facts = assert_ok(ra)
    # were b not cancelled, c would wait behind its 60 s
    rc = run(client, lean_project, "def c := 1", timeout=45)
    facts_c = assert_ok(rc)
    assert facts_c["worker_generation"] == facts["worker_generation"], "cancelling a queued call restarted the worker"
    # b: no answer, or a cancelled error (never a success)
    for m in client.pending:
        if m.get("id") == b:
            assert error_of(m["result"])["code"] == "cancelled"


def test_cancel_running(daemon, lean_project):
    with daemon.client() as c:
        c.initialize()
        a = c.call_tool_async("lean_run", lean_run_args(lean_project, "-- @double sleep 60\ndef a := 1"))
        wait_for_worker(daemon)
        time.sleep(1.0)
        c.notify("notifications/cancelled", {"requestId": a, "reason": "test"})
        rb = run(c, lean_project, "def b := 1", timeout=45)
        facts = assert_ok(rb)
        assert facts["last_restart"]["cause"] == "cancelled", facts


def test_post_job_recycle(client, lean_project):
    r1 = run(client, lean_project, "-- @double alloc 180\ndef big := 1")  # post-job 128 < 180 < hard 256
    f1 = assert_ok(r1)
    r2 = run(client, lean_project, "def small := 1")
    f2 = assert_ok(r2)
    assert f2["worker_generation"] > f1["worker_generation"]
    assert f2["last_restart"]["cause"] == "rss_post_job", f2
    assert f2["last_restart"]["planned"] is True
    assert f2["restarts_by_cause"].get("rss_post_job", 0) >= 1


def test_import_switch_recycle(client, lean_project):
    f1 = assert_ok(run(client, lean_project, "import Alpha\n-- @double alloc 100\ndef a := 1"))  # soft 64 < 100 < 128
    f2 = assert_ok(run(client, lean_project, "import Alpha\ndef a2 := 1"))  # same imports: kept
    assert f2["worker_generation"] == f1["worker_generation"]
    f3 = assert_ok(run(client, lean_project, "import Beta\ndef b := 1"))
    assert f3["worker_generation"] > f1["worker_generation"]
    assert f3["last_restart"]["cause"] == "rss_import_switch", f3


def test_hard_kill_process_mode(client, lean_project):
    assert_ok(run(client, lean_project, "def warm := 0"))
    r = run(client, lean_project, "-- @double alloc 400\n-- @double sleep 30")
    assert "rss_hard_limit_exceeded" in restart_causes(r), tool_body(r)
    facts = runtime_facts(r)
    assert facts["worker_restarted"] is True
    # the next call runs on a fresh worker
    f2 = assert_ok(run(client, lean_project, "def after := 1"))
    assert f2["restarts_by_cause"].get("rss_hard_limit_exceeded", 0) >= 1


# ---------------------------------------------------------------- scope mode (private user manager)


def scope_env():
    return {"LEAN_HOST_MCP_ENFORCEMENT": "scope",
            "DBUS_SESSION_BUS_ADDRESS": os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")}


def wait_until(pred, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def active_scopes(um):
    return [u for u in um.units("lean-worker-*") if u.endswith(".scope")]


def test_scope_mode_limits(user_manager, start_daemon, lean_project):
    um = user_manager
    d = start_daemon(env=scope_env())
    with d.client() as c:
        c.initialize()
        facts = assert_ok(run(c, lean_project, "def x := 1"))
        assert facts["enforcement"] == "scope"
        unit = facts["scope_unit"]
        assert unit.startswith("lean-worker-") and unit.endswith(".scope")
        assert unit in active_scopes(um)
        props = um.show(unit, "MemoryHigh", "MemoryMax", "MemorySwapMax", "Slice")
        # the hard tier is MemoryMax with no swap; no MemoryHigh (it throttles jobs on v2)
        assert props["MemoryHigh"] == "infinity"
        assert int(props["MemoryMax"]) == 256 * 1024 * 1024
        assert props["MemorySwapMax"] == "0"
        assert props["Slice"] == "lean-host.slice"
        with open(f"/proc/{facts['worker_pid']}/cgroup") as f:
            assert unit in f.read()
    assert d.stop() == 0
    wait_until(lambda: not active_scopes(um), what="scopes to go after the daemon stopped")


def test_scope_oom_kill(user_manager, start_daemon, lean_project):
    # sample rarely so the kernel's MemoryMax gets there first
    env = dict(scope_env(), LEAN_HOST_MCP_WORKER_RSS_SAMPLE_MILLIS=5000)
    d = start_daemon(env=env)
    with d.client() as c:
        c.initialize()
        assert_ok(run(c, lean_project, "def warm := 0"))
        r = run(c, lean_project, "-- @double alloc 600\n-- @double sleep 30")
        assert "rss_hard_limit_exceeded" in restart_causes(r), tool_body(r)
        f2 = assert_ok(run(c, lean_project, "def after := 1"))
        assert f2["enforcement"] == "scope"
        assert f2["restarts_by_cause"].get("rss_hard_limit_exceeded", 0) >= 1
    assert d.stop() == 0


def test_stale_scopes_stopped_after_kill9(user_manager, start_daemon, lean_project):
    um = user_manager
    d = start_daemon(env=scope_env())
    with d.client() as c:
        c.initialize()
        facts = assert_ok(run(c, lean_project, "def x := 1"))
        unit = facts["scope_unit"]
        # keep the worker busy so it outlives its daemon
        c.call_tool_async("lean_run", lean_run_args(lean_project, "-- @double sleep 120"))
        time.sleep(1.0)
        d.proc.kill()
        d.proc.wait()
    assert unit in active_scopes(um), "the worker's scope went with the daemon (nothing left to clean up)"
    d2 = start_daemon(env=scope_env())
    wait_until(lambda: unit not in active_scopes(um), what=f"the restarted daemon to stop {unit}")
    assert d2.stop() == 0


def test_broken_worker_makes_project_unusable(start_daemon, lean_project, tmp_path):
    """A worker that dies on the daemon's own import header before any job
    ever succeeded (here: it prints a complaint and exits) is the smoke check
    failing: the call fails with the worker's exit, then the project reads
    `unusable` with that output instead of crash-looping, until its files
    change. A snippet that crashes the worker in its own command is not."""
    broken = tmp_path / "broken-repl"
    broken.write_text("#!/bin/sh\necho 'repl: cannot load the toolchain' >&2\nexit 3\n")
    broken.chmod(0o755)
    d = start_daemon(env={"LEAN_HOST_MCP_WORKER_COMMAND": str(broken)})
    with d.client() as c:
        c.initialize()
        e = error_of(run(c, lean_project, "import Mathlib\ndef a := 1"))
        assert e and e["code"] == "worker_failed" and e["restart_cause"] == "child_exit", e
        assert e["failed_during"] in ("startup", "import_header"), e
        e = error_of(run(c, lean_project, "import Mathlib\ndef b := 1"))
        assert e and e["code"] == "unusable", e
        assert "exited with status 3" in e["message"], e
        st = tool_body(c.call_tool("lean_project_status", {"project": str(lean_project)}, timeout=LONG))
        assert st["result"]["readiness"]["state"] == "unusable", st
        # the files change (a new manifest): no longer held off as unusable;
        # the worker is tried again, or the restart window answers first
        (lean_project / "lake-manifest.json").write_text('{"version": 7, "packages": []}\n')
        e = error_of(run(c, lean_project, "import Mathlib\ndef c := 1"))
        assert e and e["code"] in ("worker_failed", "worker_unavailable"), e
