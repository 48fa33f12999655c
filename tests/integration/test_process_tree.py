# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hardening: in process mode a worker's descendants go with it. The double's
`-- @double spawn MODE` leaves a `sleep 600` behind, named
lean-double-descendant-<tag> (argv[0]): a child in the worker's process
group, a grandchild whose parent exited, and a grandchild in its own session
(setsid). None may outlive a recycle, a kill, or a clean daemon stop, and
none may linger as a zombie of the daemon (it is their subreaper). A
SIGKILLed daemon can only take its direct child along (PR_SET_PDEATHSIG)."""

import os
import signal
import time
import uuid

from conftest import error_of, lean_run_args, runtime_facts, tool_body

LONG = 120
SPAWN_ALL = "-- @double spawn child\n-- @double spawn grandchild\n-- @double spawn setsid\n"


def run(c, project, code, timeout=LONG):
    return c.call_tool("lean_run", lean_run_args(project, code), timeout=timeout)


def assert_ok(result):
    assert not result.get("isError"), tool_body(result)
    return runtime_facts(result)


def descendants(tag):
    marker = f"lean-double-descendant-{tag}".encode()
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if f.read().split(b"\0")[0] == marker:
                    found.append(int(d))
        except OSError:
            pass
    return found


def zombie_children(pid):
    out = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            continue
        for k in kids:
            try:
                with open(f"/proc/{k}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        out.append(k)
            except OSError:
                pass
    return out


def wait_until(pred, timeout=15, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def kill_all(tag):
    for pid in descendants(tag):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def tagged_daemon(start_daemon, **env):
    tag = uuid.uuid4().hex[:12]
    return start_daemon(env=dict(env, LEAN_DOUBLE_TAG=tag)), tag


def test_descendants_go_with_a_recycle(start_daemon, lean_project):
    d, tag = tagged_daemon(start_daemon)
    try:
        with d.client() as c:
            c.initialize()
            assert_ok(run(c, lean_project, SPAWN_ALL + "def a := 1"))
            assert len(descendants(tag)) == 3, descendants(tag)
            # post-job tier (128 MiB): the worker is recycled after this call
            f1 = assert_ok(run(c, lean_project, "-- @double alloc 180\ndef big := 1"))
            wait_until(lambda: not descendants(tag), what="the descendants to go with the recycled worker")
            f2 = assert_ok(run(c, lean_project, "def after := 1"))
            assert f2["worker_generation"] > f1["worker_generation"]
            assert f2["last_restart"]["cause"] == "rss_post_job"
            wait_until(lambda: not zombie_children(d.pid), what="the daemon to reap them")
    finally:
        kill_all(tag)


def test_descendants_go_with_a_cancel_kill(start_daemon, lean_project):
    d, tag = tagged_daemon(start_daemon, LEAN_HOST_MCP_REQUEST_TIMEOUT_MILLIS=3000)
    try:
        with d.client() as c:
            c.initialize()
            e = error_of(run(c, lean_project, SPAWN_ALL + "-- @double sleep 30\ndef a := 1"))
            assert e and e["code"] == "timeout", e
            wait_until(lambda: not descendants(tag), what="the descendants to go with the killed worker")
            assert_ok(run(c, lean_project, "def after := 1"))
            wait_until(lambda: not zombie_children(d.pid), what="the daemon to reap them")
    finally:
        kill_all(tag)


def test_descendants_go_with_a_clean_stop(start_daemon, lean_project):
    d, tag = tagged_daemon(start_daemon)
    try:
        with d.client() as c:
            c.initialize()
            assert_ok(run(c, lean_project, SPAWN_ALL + "def a := 1"))
            assert len(descendants(tag)) == 3
        assert d.stop() == 0
        wait_until(lambda: not descendants(tag), what="the descendants to go with the daemon")
    finally:
        kill_all(tag)


def test_killed_daemon_takes_its_direct_child(start_daemon, lean_project):
    """Documented limit: after SIGKILL of the daemon only PR_SET_PDEATHSIG
    acts, on the worker itself; what it started is orphaned."""
    d, tag = tagged_daemon(start_daemon)
    try:
        with d.client() as c:
            c.initialize()
            facts = assert_ok(run(c, lean_project, SPAWN_ALL + "def a := 1"))
            worker = facts["worker_pid"]
            d.proc.kill()
            d.proc.wait()

        def worker_gone():
            try:
                with open(f"/proc/{worker}/stat") as f:
                    return f.read().rsplit(")", 1)[1].split()[0] == "Z"
            except OSError:
                return True
        wait_until(worker_gone, what="the worker to die with its daemon")
    finally:
        kill_all(tag)
