# SPDX-License-Identifier: LGPL-2.1-or-later
"""Agents first, item 6: set-up papercuts — one socket path rule for daemon
and bridge, the start-up line naming the modes, hints that say what is true,
the lean-host.conf(5) link."""

import json
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import BUILD_ROOT, DEFAULT_PROTOCOL, base_env, binary, double_command, wait_for_socket


def session_bytes(*extra):
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": DEFAULT_PROTOCOL, "capabilities": {},
                       "clientInfo": {"name": "setup", "version": "0"}}}
    msgs = [init, {"jsonrpc": "2.0", "method": "notifications/initialized"}] + list(extra)
    return b"".join(json.dumps(m).encode() + b"\n" for m in msgs)


def test_startup_line_names_modes(start_daemon):
    d = start_daemon()
    deadline = time.monotonic() + 10
    while "Workers: enforcement" not in d.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Workers: enforcement process (worker.enforcement=process), sandbox none, slice lean-host.slice." \
        in d.log(), d.log()


def expected_fallback_socket():
    uid = os.getuid()
    run_user = f"/run/user/{uid}"
    try:
        st = os.stat(run_user)
        if os.path.isdir(run_user) and st.st_uid == uid:
            return f"{run_user}/lean-host/mcp.sock"
    except OSError:
        pass
    return f"/tmp/lean-host-{uid}/lean-host/mcp.sock"


def test_no_xdg_runtime_dir_daemon_and_bridge_agree(tmp_path):
    # lean-hostd started by hand without XDG_RUNTIME_DIR (the quick start in a
    # container) and a bridge without it find each other
    sock = expected_fallback_socket()
    if os.path.exists(sock) and wait_for_socket(sock, timeout=0.2):
        pytest.skip(f"a daemon already listens on {sock}")
    env = base_env(str(tmp_path))
    env.pop("XDG_RUNTIME_DIR")
    log = open(tmp_path / "hostd.log", "wb")
    p = subprocess.Popen([binary("LEAN_HOSTD")], env=env, stdout=log, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    try:
        assert wait_for_socket(sock, p), (tmp_path / "hostd.log").read_text()
        r = subprocess.run([binary("LEAN_HOST_MCP")], env={"PATH": os.environ["PATH"], "HOME": env["HOME"]},
                           input=session_bytes({"jsonrpc": "2.0", "id": 2, "method": "ping"}),
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert any(json.loads(l).get("id") == 2 for l in r.stdout.splitlines()), r.stdout
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(30)
        log.close()


def test_bridge_hint_refused_socket(tmp_path):
    # a stale socket file: say so, not "enable the socket"
    rt = tmp_path / "rt"
    (rt / "lean-host").mkdir(parents=True)
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(rt / "lean-host" / "mcp.sock"))
    s.close()
    r = subprocess.run([binary("LEAN_HOST_MCP")], env={"PATH": os.environ["PATH"], "XDG_RUNTIME_DIR": str(rt)},
                       capture_output=True, timeout=30)
    assert r.returncode == 69
    err = r.stderr.decode()
    assert "exists but nothing listens" in err, err
    assert "enable --now" not in err, err


def test_ctl_hint_when_socket_listens(user_manager):
    um = user_manager
    um.install_units({"LEAN_HOST_MCP_ENFORCEMENT": "process", "LEAN_HOST_MCP_WORKER_COMMAND": double_command()})
    um.systemctl("start", "lean-hostd.socket")
    r = subprocess.run([binary("LEAN_HOSTCTL"), "status"], capture_output=True, text=True, timeout=60)
    if r.returncode == 0:
        pytest.skip("an installed D-Bus activation file started the daemon")
    assert r.returncode == 3, (r.returncode, r.stderr)
    assert "listens, so the daemon starts on the next connection" in r.stderr, r.stderr
    assert "journalctl --user -u lean-hostd" in r.stderr, r.stderr
    assert "systemctl --user start lean-hostd.socket" not in r.stderr, r.stderr

    um.systemctl("stop", "lean-hostd.socket")
    r = subprocess.run([binary("LEAN_HOSTCTL"), "status"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 3
    assert "systemctl --user start lean-hostd.socket" in r.stderr, r.stderr


def test_conf_page_installed_as_link(tmp_path):
    dest = tmp_path / "dest"
    r = subprocess.run(["meson", "install", "-C", BUILD_ROOT, "--no-rebuild", "--quiet", "--destdir", str(dest)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    links = list(dest.rglob("man5/lean-host.conf.5"))
    assert len(links) == 1, list(dest.rglob("*.5"))
    link = links[0]
    assert link.is_symlink() and os.readlink(link) == "../man8/lean-hostd.8"
    assert link.resolve().exists()
    assert (link.parent.parent / "man8" / "lean-hostd.8").read_text().startswith(".\\\"")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a directory another uid owns")
def test_socket_directory_of_another_user_refused(tmp_path):
    # someone made the socket's directory first (the /tmp/lean-host-UID
    # fallback is guessable): listening there would let them swap the socket
    d = tmp_path / "squatted"
    d.mkdir(mode=0o777)
    os.chown(d, 65534, 65534)
    env = base_env(str(tmp_path))
    r = subprocess.run([binary("LEAN_HOSTD"), "--listen", str(d / "mcp.sock")], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert r.returncode != 0
    assert b"belongs to uid 65534" in r.stdout + r.stderr, r.stdout + r.stderr
    assert not (d / "mcp.sock").exists()
