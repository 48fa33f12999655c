# SPDX-License-Identifier: LGPL-2.1-or-later
"""A warm call goes straight to its handler: a project path looked up (on a
thread) before, with nothing it read changed since, is not looked up again.
Anything that could change the answer between two calls is seen by the
second one, which then answers what a fresh daemon (the cold path) answers:
a new pin, a new manifest, the project removed, renamed or made untrusted,
a lakefile appearing below the old root. A path with a symlink in it is
never cached (its target could change unseen)."""

import json
import os
import shutil
import time

import pytest

from conftest import error_of, make_project, tool_body

NOBODY = 65534


def status(c, path):
    return c.call_tool("lean_project_status", {"project": str(path)})


def answer(res):
    if res.get("isError"):
        return ("error", error_of(res)["code"])
    body = tool_body(res)
    return ("ok", body["freshness"]["project_root"], body["result"]["readiness"])


def cold_lookups(d, path):
    return d.log().count(f"Project path {path}: looking it up off the loop.")


MUTATIONS = {
    "toolchain": lambda root: (root / "lean-toolchain").write_text("leanprover/lean4:v4.32.0\n"),
    "manifest": lambda root: (root / "lake-manifest.json").write_text('{"version": "1.1.0", "packages": []}\n'),
    "removed": lambda root: shutil.rmtree(root),
    "renamed": lambda root: root.rename(root.parent / "elsewhere"),
    "lakefile_removed": lambda root: (root / "lakefile.lean").unlink(),
    "untrusted": lambda root: os.chown(root / "lakefile.lean", NOBODY, NOBODY),
    "untrusted_repl": lambda root: (os.makedirs(root / ".lake/build/bin"),
                                    (root / ".lake/build/bin/repl").write_text(""),
                                    os.chown(root / ".lake/build/bin/repl", NOBODY, NOBODY)),
    # lake writes its manifest to a temporary file and renames it over: the
    # event is the directory's (IN_MOVED_TO), not the file's
    "manifest_renamed_in": lambda root: ((root / "manifest.tmp").write_text('{"version": "1.1.0", "packages": []}\n'),
                                         os.rename(root / "manifest.tmp", root / "lake-manifest.json")),
    # the same path, a new directory: the old one's watches are gone with it
    "recreated": lambda root: (shutil.rmtree(root), make_project(root),
                               (root / "lean-toolchain").write_text("leanprover/lean4:v4.31.0\n")),
    # the root directory itself handed to another user (trust)
    "untrusted_root_dir": lambda root: os.chown(root, NOBODY, NOBODY),
}


@pytest.mark.parametrize("change", sorted(MUTATIONS))
def test_change_between_two_calls_is_seen(start_daemon, tmp_path, change):
    root = make_project(tmp_path / "proj")
    d = start_daemon()
    with d.client() as c:
        c.initialize()
        first = answer(status(c, root))
        assert first[0] == "ok", first
        assert answer(status(c, root)) == first
        assert cold_lookups(d, root) == 1, d.log()[-3000:]  # the second call was warm

        MUTATIONS[change](root)
        seen = answer(status(c, root))
        assert seen != first
        assert cold_lookups(d, root) == 2
        again = answer(status(c, root))
        assert again == seen
    d.stop()

    # what the cold path of a fresh daemon answers
    d2 = start_daemon()
    with d2.client() as c:
        c.initialize()
        assert answer(status(c, root)) == seen


def test_warm_calls_skip_the_lookup(start_daemon, tmp_path):
    root = make_project(tmp_path / "proj")
    d = start_daemon()
    with d.client() as c:
        c.initialize()
        for _ in range(5):
            assert answer(status(c, root))[0] == "ok"
        # a file the answer did not read changes nothing
        (root / "Proj.lean").write_text("def hello := 2\n")
        (root / "Other.lean").write_text("def other := 2\n")
        assert answer(status(c, root))[0] == "ok"
    assert cold_lookups(d, root) == 1, d.log()[-3000:]


def test_symlinked_path_is_never_cached(start_daemon, tmp_path):
    root = make_project(tmp_path / "proj")
    link = tmp_path / "link"
    link.symlink_to(root)
    d = start_daemon()
    with d.client() as c:
        c.initialize()
        a = answer(status(c, link))
        assert answer(status(c, link)) == a
    assert cold_lookups(d, link) == 2


def test_lakefile_below_the_root_moves_it(start_daemon, tmp_path):
    root = make_project(tmp_path / "proj")
    sub = root / "Sub"
    sub.mkdir()
    d = start_daemon()
    with d.client() as c:
        c.initialize()
        first = answer(status(c, sub))
        assert first[1] == str(root)
        assert answer(status(c, sub)) == first
        assert cold_lookups(d, sub) == 1
        make_project(sub)
        assert answer(status(c, sub))[1] == str(sub)


def watches_held(pid):
    """The inotify watches the daemon holds (the kernel's count)."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                n += sum(line.startswith("inotify wd:") for line in f)
        except OSError:
            pass
    return n


def wait_watches(pid, want, timeout=5):
    deadline = time.monotonic() + timeout
    while watches_held(pid) != want and time.monotonic() < deadline:
        time.sleep(0.05)
    return watches_held(pid)


def test_cancelled_lookups_leave_no_watches(start_daemon, tmp_path):
    """A look-up whose call is cancelled while its thread runs gives its
    watches back when the thread ends (before, each left them in the kernel,
    counted against the user's fs.inotify.max_user_watches, until the daemon
    exited)."""
    roots = [make_project(tmp_path / f"proj{i}") for i in range(12)]
    d = start_daemon()
    with d.client() as c:
        c.initialize()
        assert watches_held(d.pid) == 0
        for root in roots:
            # the cancel comes in the same read as the call: the loop gives up
            # on the look-up before its thread is done
            rid = c.next_id
            c.next_id += 1
            call = {"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                    "params": {"name": "lean_project_status", "arguments": {"project": str(root)}}}
            cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled",
                      "params": {"requestId": rid, "reason": "test"}}
            c.send_raw(json.dumps(call).encode() + b"\n" + json.dumps(cancel).encode() + b"\n")
        assert "result" in c.request("ping", {})
        assert wait_watches(d.pid, 0) == 0
        # a look-up that is cached keeps its watches: the count is the kernel's
        assert answer(status(c, roots[0]))[0] == "ok"
        assert watches_held(d.pid) > 0
    d.stop()
