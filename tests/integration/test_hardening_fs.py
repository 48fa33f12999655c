# SPDX-License-Identifier: LGPL-2.1-or-later
"""Nothing on the event loop blocks on the file system, and no one else's
code runs.

* A FIFO, a symlink to /dev/zero or a huge file in place of
  lake-manifest.json / lean-toolchain: the call gets a structured
  project_file_unreadable error naming the file and why within a second,
  another client is served meanwhile, and SIGTERM still works. (Before,
  open() on the FIFO blocked the loop for good and /dev/zero spun at 100 %.)
* A lakefile, pin and REPL planted by uid 65534 in a sticky shared directory
  above the victim's file: refused with project_not_trusted, the planted
  REPL never runs; project.trusted_roots opts in.
* A root that is not UTF-8 (behind an ASCII symlink): invalid_arguments.
"""

import os
import signal
import stat
import time

import pytest

from conftest import double_command, error_of, lean_run_args, make_project, tool_body

NOBODY = 65534
ANSWER_WITHIN = 1.0  # seconds, what the issue asks for


def fifo(path):
    path.unlink(missing_ok=True)
    os.mkfifo(path)


def devzero(path):
    path.unlink(missing_ok=True)
    os.symlink("/dev/zero", path)


def huge(path):
    path.unlink(missing_ok=True)
    with open(path, "wb") as f:
        f.truncate(2 * 1024 * 1024)


HOSTILE = [
    ("lake-manifest.json", fifo, "FIFO"),
    ("lean-toolchain", fifo, "FIFO"),
    ("lake-manifest.json", devzero, "device"),
    ("lean-toolchain", devzero, "device"),
    ("lake-manifest.json", huge, "larger than"),
]


@pytest.mark.parametrize("tool", ["lean_project_status", "lean_run"])
@pytest.mark.parametrize("name,make,reason", HOSTILE, ids=[f"{m.__name__}-{n}" for n, m, _ in HOSTILE])
def test_hostile_project_file_answers_at_once(start_daemon, tmp_path, tool, name, make, reason):
    bad = make_project(tmp_path / "bad")
    good = make_project(tmp_path / "good")
    make(bad / name)
    d = start_daemon()
    args = lean_run_args(bad, "def a := 1") if tool == "lean_run" else {"project": str(bad)}

    with d.client() as a, d.client() as b:
        a.initialize()
        b.initialize()
        t0 = time.monotonic()
        rid = a.call_tool_async(tool, args)
        # the other client is served meanwhile
        rb = b.request("tools/call", {"name": "lean_project_status", "arguments": {"project": str(good)}},
                       timeout=ANSWER_WITHIN)
        assert "result" in rb and not rb["result"].get("isError"), rb
        r = a.wait_response(rid, timeout=ANSWER_WITHIN)
        assert time.monotonic() - t0 < ANSWER_WITHIN * 2
        err = error_of(r["result"])
        assert err is not None, r
        assert err["code"] == "project_file_unreadable", err
        assert err["retryable"] is False
        assert str(bad / name) in err["message"] and reason in err["message"], err
        assert err.get("path") == str(bad / name)

        # fixed: the same project works again, no restart needed
        (bad / name).unlink()
        (bad / name).write_text("leanprover/lean4:v4.33.0-rc2\n" if name == "lean-toolchain" else "{}\n")
        r = a.call_tool("lean_project_status", {"project": str(bad)}, timeout=10)
        assert not r.get("isError"), r

    t0 = time.monotonic()
    assert d.stop(signal.SIGTERM, timeout=10) == 0, d.log()[-4000:]
    assert time.monotonic() - t0 < 10


def test_unreadable_project_file(start_daemon, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("EACCES cannot happen as root (the daemon here runs as root); "
                    "src/basic/test-fileio checks it from a child that drops to uid 65534")
    bad = make_project(tmp_path / "bad")
    (bad / "lake-manifest.json").write_text("{}\n")
    os.chmod(bad / "lake-manifest.json", 0)
    d = start_daemon()
    with d.client() as c:
        c.initialize()
        r = c.call_tool("lean_project_status", {"project": str(bad)}, timeout=ANSWER_WITHIN)
        err = error_of(r)
        assert err and err["code"] == "project_file_unreadable" and "Permission denied" in err["message"], err


# ---------------------------------------------------------------- planted root


def plant(tmp_path):
    """<tmp>/shared: root's, sticky and world-writable (as /tmp); nobody
    planted a lakefile, a pin and a REPL there; the victim's file is in a
    directory of its own below, without a lakefile."""
    shared = tmp_path / "shared"
    victim = shared / "victim"
    victim.mkdir(parents=True)
    os.chmod(tmp_path, 0o755)
    os.chmod(shared, 0o1777)
    (victim / "Foo.lean").write_text("def foo := 1\n")
    marker = tmp_path / "planted-repl-ran"
    repl = shared / ".lake/packages/REPL/.lake/build/bin/repl"
    repl.parent.mkdir(parents=True)
    repl.write_text(f"#!/bin/sh\ntouch '{marker}'\nexec '{double_command()}' \"$@\"\n")
    os.chmod(repl, 0o755)
    (shared / "lakefile.lean").write_text("import Lake\nopen Lake DSL\n\npackage evil\n")
    (shared / "lean-toolchain").write_text("leanprover/lean4:v4.33.0-rc2\n")
    for p in [shared / "lakefile.lean", shared / "lean-toolchain", shared / ".lake"] + \
             [repl] + list(repl.parents)[:5]:
        os.lchown(p, NOBODY, NOBODY)
    # a stand-in for lake: `lake env X...` runs X (no Lean here)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "lake").write_text('#!/bin/sh\n[ "$1" = env ] && shift\nexec "$@"\n')
    os.chmod(bindir / "lake", 0o755)
    return shared, victim / "Foo.lean", marker, bindir


def default_worker_env(bindir, **extra):
    # the default worker (readiness finds the REPL under .lake), not the double
    env = {"LEAN_HOST_MCP_WORKER_COMMAND": None, "PATH": f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    env.update(extra)
    return env


@pytest.fixture
def as_root():
    if os.geteuid() != 0:
        pytest.skip("planting files as uid 65534 needs root (chown)")


def test_planted_root_refused(as_root, start_daemon, tmp_path):
    shared, foo, marker, bindir = plant(tmp_path)
    d = start_daemon(env=default_worker_env(bindir))
    with d.client() as c:
        c.initialize()
        for tool, args in [("lean_run", lean_run_args(foo, "def a := 1")),
                           ("lean_project_status", {"project": str(foo)})]:
            r = c.call_tool(tool, args, timeout=ANSWER_WITHIN * 5)
            err = error_of(r)
            assert err is not None, r
            assert err["code"] == "project_not_trusted", err
            assert err["retryable"] is False
            assert "65534" in err["message"] and "project.trusted_roots" in err["message"], err
            assert "LEAN_HOST_MCP_TRUSTED_ROOTS" in err["message"]
            assert err["path"].startswith(str(shared)), err
    time.sleep(0.3)
    assert not marker.exists(), "the planted REPL ran"


def test_plantable_parent_not_entered(as_root, start_daemon, tmp_path):
    evil = tmp_path / "evil"
    make_project(evil)
    (evil / "victim").mkdir()
    (evil / "victim" / "Foo.lean").write_text("def foo := 1\n")
    os.chown(evil, NOBODY, NOBODY)
    os.chmod(evil, 0o777)
    d = start_daemon()
    with d.client() as c:
        c.initialize()
        err = error_of(c.call_tool("lean_project_status", {"project": str(evil / "victim" / "Foo.lean")},
                                   timeout=ANSWER_WITHIN * 5))
        assert err and err["code"] == "project_not_trusted", err
        assert str(evil) in err["message"] and "writable by others" in err["message"], err


@pytest.mark.parametrize("which", ["shared", "*"])
def test_planted_root_opt_in(as_root, start_daemon, tmp_path, which):
    shared, foo, marker, bindir = plant(tmp_path)
    trusted = str(shared) if which == "shared" else "*"
    d = start_daemon(env=default_worker_env(bindir, LEAN_HOST_MCP_TRUSTED_ROOTS=f"/nonexistent:{trusted}"))
    with d.client() as c:
        c.initialize()
        r = c.call_tool("lean_run", lean_run_args(foo, "def a := 1"), timeout=60)
        assert not r.get("isError"), tool_body(r)
    # what the operator opted into did run: the check above is what stopped it
    assert marker.exists()


def test_non_utf8_root_refused(start_daemon, tmp_path):
    bad = os.path.join(os.fsencode(tmp_path), b"bad\xc0\x80name")
    os.mkdir(bad)
    with open(os.path.join(bad, b"lakefile.lean"), "w") as f:
        f.write("import Lake\n")
    link = tmp_path / "ascii"
    os.symlink(bad, os.fsencode(link))
    d = start_daemon()
    with d.client() as c:
        c.initialize()
        err = error_of(c.call_tool("lean_project_status", {"project": str(link)}, timeout=ANSWER_WITHIN * 5))
        assert err and err["code"] == "invalid_arguments" and "not valid UTF-8" in err["message"], err
        assert "\\xc0\\x80" in err["message"]
        # and the daemon still answers
        assert "result" in c.request("tools/list", timeout=ANSWER_WITHIN)


# ---------------------------------------------------------------- configuration


def dump_config(tmp_path, env=None, config=None):
    import subprocess
    from conftest import base_env, binary
    e = base_env(str(tmp_path))
    e.update(env or {})
    args = [binary("LEAN_HOSTD"), "--dump-config"]
    if config is not None:
        path = tmp_path / "config.json"
        path.write_text(config)
        args += ["--config", str(path)]
    return subprocess.run(args, env=e, capture_output=True, text=True, timeout=30)


def test_trusted_roots_config(tmp_path):
    r = dump_config(tmp_path)
    assert r.returncode == 0, r.stderr
    assert "project.trusted_roots = []  (default)" in r.stdout
    assert "project.forget_idle_secs = 3600  (default)" in r.stdout

    r = dump_config(tmp_path, env={"LEAN_HOST_MCP_TRUSTED_ROOTS": "/srv/a::/srv/b:*"})
    assert r.returncode == 0, r.stderr
    assert 'project.trusted_roots = ["/srv/a","/srv/b","*"]  (env LEAN_HOST_MCP_TRUSTED_ROOTS)' in r.stdout

    r = dump_config(tmp_path, config='{"project": {"trusted_roots": ["/srv/c"], "forget_idle_secs": 0}}')
    assert r.returncode == 0, r.stderr
    assert 'project.trusted_roots = ["/srv/c"]  (file' in r.stdout
    assert "project.forget_idle_secs = 0  (file" in r.stdout

    for env in ({"LEAN_HOST_MCP_TRUSTED_ROOTS": "relative/dir"},):
        r = dump_config(tmp_path, env=env)
        assert r.returncode != 0
        assert "LEAN_HOST_MCP_TRUSTED_ROOTS" in r.stderr and "absolute" in r.stderr, r.stderr
    r = dump_config(tmp_path, config='{"project": {"trusted_roots": [5]}}')
    assert r.returncode != 0 and "project.trusted_roots" in r.stderr, r.stderr


# ---------------------------------------------------------------- hung mount

HANGFS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "double", "hangfs")


@pytest.fixture
def hung_mount(tmp_path):
    import subprocess
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        pytest.skip("a hung FUSE mount needs root and /dev/fuse")
    mnt = tmp_path / "hung"
    mnt.mkdir()
    # tests/double/hangfs: answers FUSE INIT, then nothing
    proc = subprocess.Popen(["/usr/bin/python3", HANGFS, str(mnt)], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if line != "ready":
        proc.kill()
        proc.wait()
        pytest.skip(f"cannot mount a FUSE file system here: {line or 'no answer'}")
    try:
        yield mnt
    finally:
        # closing /dev/fuse aborts the connection: whatever still waits gets ENOTCONN
        proc.kill()
        proc.wait()
        subprocess.run(["umount", "-l", str(mnt)], stderr=subprocess.DEVNULL)


def test_hung_mount_does_not_freeze_the_daemon(hung_mount, start_daemon, tmp_path):
    good = make_project(tmp_path / "good")
    # LeakSanitizer's exit-time check stops every thread first, and one stuck
    # in the kernel never stops: it would hang the exit of an ASan build
    asan = ":".join(x for x in [os.environ.get("ASAN_OPTIONS", ""), "detect_leaks=0"] if x)
    d = start_daemon(env={"ASAN_OPTIONS": asan})
    with d.client() as a, d.client() as b:
        a.initialize()
        b.initialize()
        t0 = time.monotonic()
        rid = a.call_tool_async("lean_project_status", {"project": str(hung_mount / "proj" / "Foo.lean")})
        rb = b.request("tools/call", {"name": "lean_project_status", "arguments": {"project": str(good)}},
                       timeout=10)
        assert "result" in rb and not rb["result"].get("isError"), rb
        r = a.wait_response(rid, timeout=10)
        took = time.monotonic() - t0
        err = error_of(r["result"])
        assert err is not None, r
        assert err["code"] == "path_unresponsive", err
        assert err["retryable"] is True
        assert str(hung_mount) in err["message"], err
        assert 1.5 < took < 6, took
        # a second look-up of the hung path is bounded the same way
        err = error_of(a.call_tool("lean_project_status", {"project": str(hung_mount)}, timeout=10))
        assert err and err["code"] == "path_unresponsive", err
        # everything else goes on
        r = a.call_tool("lean_project_status", {"project": str(good)}, timeout=5)
        assert not r.get("isError"), r
    # SIGTERM with look-ups still stuck in the kernel: the daemon exits
    assert d.stop(signal.SIGTERM, timeout=20) == 0, d.log()[-4000:]


def test_mount_hangs_after_resolution(hung_mount, start_daemon, tmp_path):
    """The project resolves (its root is on a working disk), then its
    readiness check hangs: elan's home is on the hung mount. The check runs
    off the loop: pings stay fast all along, the call is answered
    path_unresponsive within the deadline. (Before, the classification ran on
    the event loop and the daemon froze for good.)"""
    proj = make_project(tmp_path / "proj")
    asan = ":".join(x for x in [os.environ.get("ASAN_OPTIONS", ""), "detect_leaks=0"] if x)
    d = start_daemon(env={"ASAN_OPTIONS": asan, "LEAN_HOST_MCP_WORKER_COMMAND": None,
                          "LEAN_HOST_MCP_ELAN_HOME": str(hung_mount / "elan")})
    with d.client() as a, d.client() as b:
        a.initialize()
        b.initialize()
        for tool, args in (("lean_project_status", {"project": str(proj)}),
                           ("lean_run", lean_run_args(proj, "def a := 1"))):
            t0 = time.monotonic()
            rid = a.call_tool_async(tool, args)
            worst = 0.0
            while time.monotonic() - t0 < 1.5:
                p0 = time.monotonic()
                rb = b.request("ping", {}, timeout=5)
                assert "result" in rb, rb
                worst = max(worst, time.monotonic() - p0)
                time.sleep(0.05)
            assert worst < 0.5, worst
            r = a.wait_response(rid, timeout=10)
            took = time.monotonic() - t0
            err = error_of(r["result"])
            assert err is not None, r
            assert err["code"] == "path_unresponsive", err
            assert err["retryable"] is True
            assert str(proj) in err["message"], err
            assert 1.5 < took < 4, took
        # cancelled while its look-ups hang: no answer (MCP), nothing left
        # behind that fires later
        rid = a.call_tool_async("lean_project_status", {"project": str(proj)})
        time.sleep(0.3)
        a.notify("notifications/cancelled", {"requestId": rid, "reason": "test"})
        time.sleep(2.5)
        assert "result" in b.request("ping", {}, timeout=1)
        assert "result" in a.request("ping", {}, timeout=1)
    assert d.stop(signal.SIGTERM, timeout=20) == 0, d.log()[-4000:]
