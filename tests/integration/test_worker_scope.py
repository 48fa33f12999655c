# SPDX-License-Identifier: LGPL-2.1-or-later
"""Issue 4, worker module: workers in transient scopes on a private user
manager, driven by the C program src/worker/test-worker-scope (built by
src/worker/meson.build) inside tests/harness/with-user-systemd.

It checks that the scope placer is available, that a worker runs in
lean-worker-<id>-<gen>.scope with MemoryMax/MemorySwapMax/Description/CollectMode,
that a kernel OOM kill at MemoryMax is classified rss_hard_limit_exceeded,
that no scope outlives its worker (stop, kill, OOM kill, free, free while
placing), that a failed placement falls back to process mode (or fails with
worker_internal when scope mode is required) without touching the other
unit, and that scope_placer_stop_stale() stops a leftover lean-worker-*.scope.
"""

import os
import subprocess

import pytest

from conftest import BUILD_ROOT, binary


def _namespaces_unavailable():
    if os.geteuid() != 0:
        return None  # conftest skips user_manager tests for that, with its reason
    try:
        r = subprocess.run(["unshare", "--cgroup", "--mount", "--pid", "--fork", "true"], capture_output=True,
                           text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"cannot run unshare: {e}"
    if r.returncode != 0:
        return f"no cgroup/mount/pid namespaces here: {r.stderr.strip()}"
    return None


_ns_reason = None if os.environ.get("LEAN_HOST_TEST_IN_USER_MANAGER") == "1" else _namespaces_unavailable()
pytestmark = pytest.mark.skipif(_ns_reason is not None, reason=f"private user manager unavailable: {_ns_reason}")


def scope_test_program():
    path = os.path.join(BUILD_ROOT, "src", "worker", "test-worker-scope")
    if not BUILD_ROOT or not os.path.exists(path):
        pytest.skip(f"{path} is not built (run through `meson test`)")
    return path


def test_worker_scopes(user_manager):
    env = dict(os.environ)
    env["LEAN_REPL_DOUBLE"] = binary("LEAN_REPL_DOUBLE")
    r = subprocess.run([scope_test_program()], env=env, capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    print(out)
    assert r.returncode == 0, f"test-worker-scope failed ({r.returncode}):\n{out[-8000:]}"
    assert "all scope tests passed" in out
    # nothing left behind
    assert user_manager.units("lean-worker-*") == []
