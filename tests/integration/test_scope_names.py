# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hardening: scope names are unique across lean-hostd instances of one user
(lean-worker-<id>-<owner pid>-<owner start time>-<generation>.scope), and a
daemon stops only the scopes whose owner is gone. Runs under a private user
manager (tests/harness/with-user-systemd) with the test double."""

import os
import time

from conftest import lean_run_args, runtime_facts, tool_body
from test_supervision import active_scopes, wait_until

LONG = 120


def run(c, project, code, timeout=LONG):
    return c.call_tool("lean_run", lean_run_args(project, code), timeout=timeout)


def assert_ok(result):
    assert not result.get("isError"), tool_body(result)
    return runtime_facts(result)


def scope_env():
    return {"LEAN_HOST_MCP_ENFORCEMENT": "scope",
            "DBUS_SESSION_BUS_ADDRESS": os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")}


def test_two_daemons_leave_each_other_alone(user_manager, start_daemon, lean_project, tmp_path):
    um = user_manager
    a = start_daemon(env=scope_env())
    with a.client() as ca:
        ca.initialize()
        fa = assert_ok(run(ca, lean_project, "def a := 1"))
        unit_a = fa["scope_unit"]
        assert unit_a.endswith(f"-{fa['worker_generation']}.scope")
        assert f"-{a.pid}-" in unit_a, unit_a

        # a second daemon of the same user starts: a's live worker is not "left behind"
        b = start_daemon(env=scope_env(), sock=str(tmp_path / "b.sock"))
        with b.client() as cb:
            cb.initialize()
            fb = assert_ok(run(cb, lean_project, "def b := 1"))
            # same project, same generation, another name
            assert fb["worker_generation"] == fa["worker_generation"]
            assert fb["scope_unit"] != unit_a
            assert fb["scope_unit"] in active_scopes(um)
        time.sleep(1.0)
        assert unit_a in active_scopes(um), "the second daemon stopped the first one's scope"
        fa2 = assert_ok(run(ca, lean_project, "def a2 := 1"))
        assert fa2["worker_pid"] == fa["worker_pid"]
        assert fa2["restarts_total"] == 0, fa2
        assert b.stop() == 0


def test_daemon_after_a_crash(user_manager, start_daemon, lean_project):
    um = user_manager
    a = start_daemon(env=scope_env())
    with a.client() as c:
        c.initialize()
        unit = assert_ok(run(c, lean_project, "def x := 1"))["scope_unit"]
        c.call_tool_async("lean_run", lean_run_args(lean_project, "-- @double sleep 120"))
        time.sleep(1.0)
        a.proc.kill()
        a.proc.wait()
    assert unit in active_scopes(um)
    # the next daemon's first call never collides with the dead one's scope
    # (even while it still stops), and the dead one's scope is stopped
    d2 = start_daemon(env=scope_env())
    with d2.client() as c:
        c.initialize()
        f = assert_ok(run(c, lean_project, "def y := 1"))
        assert f["worker_generation"] == 1 and f["scope_unit"] != unit
    wait_until(lambda: unit not in active_scopes(um), what=f"the restarted daemon to stop {unit}")
    assert d2.stop() == 0
