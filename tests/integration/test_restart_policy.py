# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hardening: the restart policy is fair to every client of a shared project
(src/project/restart-policy.c), and a worker the worker layer killed on its
own is replaced for the next call. Process mode with the test double
(tests/double/lean-repl-double), conftest.base_env's tiers (hard 256 MiB);
the lean-hostctl test runs under a private user manager and session bus."""

import os
import subprocess
import time

from conftest import binary, error_of, lean_run_args, restart_causes, runtime_facts, tool_body

LONG = 120


def run(c, project, code, timeout=LONG):
    return c.call_tool("lean_run", lean_run_args(project, code), timeout=timeout)


def assert_ok(result):
    assert not result.get("isError"), tool_body(result)
    return runtime_facts(result)


def status_facts(c, project):
    return runtime_facts(c.call_tool("lean_project_status", {"project": str(project)}, timeout=LONG))


def wait_running(c, project, timeout=30):
    """Until the project's worker is inside a call (state busy)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if status_facts(c, project).get("state") == "busy":
            return
        time.sleep(0.05)
    raise AssertionError("the call never started running")


def test_cancelling_clients_do_not_lock_the_project(daemon, lean_project):
    with daemon.client() as observer:
        observer.initialize()
        assert_ok(run(observer, lean_project, "def warm := 0"))
        # four clients in turn: a 3 s call, then gone (disconnect or cancel)
        # while it runs; each kills the worker
        for i in range(4):
            with daemon.client() as c:
                c.initialize()
                rid = c.call_tool_async("lean_run", lean_run_args(lean_project, f"-- @double sleep 3\ndef c{i} := {i}"))
                wait_running(observer, lean_project)
                time.sleep(0.3)
                if i % 2:
                    c.notify("notifications/cancelled", {"requestId": rid, "reason": "test"})
                    time.sleep(0.2)
        # a fifth client is served at once, by a fresh worker
        with daemon.client() as c:
            c.initialize()
            t = time.monotonic()
            facts = assert_ok(run(c, lean_project, "def fifth := 5"))
            assert time.monotonic() - t < 20
        assert facts["restarts_by_cause"].get("cancelled", 0) == 4, facts
        assert facts["restarts_in_window"] == 0, facts
        assert facts["last_restart"]["cause"] == "cancelled"
        assert facts["last_restart"]["planned"] is True


def test_poison_input_charged_once(client, lean_project):
    assert_ok(run(client, lean_project, "def warm := 0"))
    r = run(client, lean_project, "-- @double exit 3\ndef poison := 1")
    e = error_of(r)
    assert e and e["code"] == "poison_input", tool_body(r)
    assert e["retryable"] is False
    assert "child_exit" in restart_causes(r)
    facts = runtime_facts(r)
    assert facts["retry_count"] == 1
    assert facts["restarts_in_window"] == 1, facts  # the retry's crash is not charged again
    # the same input is never sent again: refused without touching the worker
    gen = assert_ok(run(client, lean_project, "def between := 1"))["worker_generation"]
    r = run(client, lean_project, "-- @double exit 3\ndef poison := 1")
    e = error_of(r)
    assert e and e["code"] == "poison_input" and e["retryable"] is False, tool_body(r)
    facts = assert_ok(run(client, lean_project, "def after := 1"))
    assert facts["worker_generation"] == gen
    assert facts["restarts_in_window"] == 1, facts


def test_crash_loop_of_different_inputs_still_cools_down(client, lean_project):
    assert_ok(run(client, lean_project, "def warm := 0"))
    codes = []
    for i in range(4):
        codes.append(error_of(run(client, lean_project, f"-- @double exit 1\ndef crash{i} := {i}"))["code"])
    assert codes == ["poison_input"] * 3 + ["worker_unavailable"], codes
    e = error_of(run(client, lean_project, "def ok := 1"))
    assert e["code"] == "worker_unavailable" and e["retry_after_ms"] > 0, e


def test_hard_kill_not_retried(client, lean_project):
    assert_ok(run(client, lean_project, "def warm := 0"))
    r = run(client, lean_project, "-- @double alloc 400\n-- @double sleep 30")
    e = error_of(r)
    assert e and e["code"] == "worker_failed" and e["retryable"] is False, tool_body(r)
    assert "rss_hard_limit_exceeded" in restart_causes(r)
    assert runtime_facts(r)["retry_count"] == 0
    facts = assert_ok(run(client, lean_project, "def after := 1"))
    # one OOM kill, one counted restart for the call
    assert facts["restarts_by_cause"].get("rss_hard_limit_exceeded", 0) == 1, facts
    assert facts["restarts_in_window"] == 1, facts


def test_call_after_protocol_violation_waits_for_next_worker(start_daemon, lean_project):
    d = start_daemon(env={"LEAN_HOST_MCP_WORKER_RESTART_LIMIT": 100})
    with d.client() as c:
        c.initialize()
        for i in range(20):
            # an unsolicited second reply: the worker layer kills the worker
            assert_ok(run(c, lean_project, f"-- @double twice\ndef t{i} := {i}"))
            facts = assert_ok(run(c, lean_project, f"def n{i} := {i}"))
            assert facts["last_restart"]["cause"] == "session_missing", facts


# ---------------------------------------------------------------- lean-hostctl (private user manager)


def ctl(*args):
    return subprocess.run([binary("LEAN_HOSTCTL")] + list(args), capture_output=True, text=True, timeout=60)


def wait_bus_name():
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = subprocess.run(["busctl", "--user", "status", "org.leanhost.Host1"], capture_output=True, text=True,
                           timeout=30)
        if r.returncode == 0:
            return
        time.sleep(0.1)
    raise AssertionError("lean-hostd never owned org.leanhost.Host1")


def trip_cooldown(c, project, tag):
    for i in range(4):
        e = error_of(run(c, project, f"-- @double exit 1\ndef {tag}{i} := {i}"))
        if e["code"] == "worker_unavailable":
            return
    raise AssertionError("the crash loop never tripped cooling_down")


def test_hostctl_restart_and_stop_clear_cooldown(user_manager, start_daemon, lean_project):
    d = start_daemon(env={"DBUS_SESSION_BUS_ADDRESS": os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")})
    wait_bus_name()
    with d.client() as c:
        c.initialize()
        for verb in ("restart", "stop"):
            trip_cooldown(c, lean_project, verb)
            assert error_of(run(c, lean_project, "def still := 1"))["code"] == "worker_unavailable"
            r = ctl(verb, str(lean_project))
            assert r.returncode == 0, (r.stdout, r.stderr)
            facts = assert_ok(run(c, lean_project, f"def after_{verb} := 1"))
            assert facts["restarts_in_window"] == 0, facts
