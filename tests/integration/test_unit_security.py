# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hardening: the lean-hostd.service unit.

* `systemd-analyze --user security --offline=yes` rates the built unit at an
  exposure of 5.0 or less (skipped, with the reason, without systemd-analyze);
* under the hardened unit (a private user manager), process-mode workers
  still run, cannot write /etc (ProtectSystem=full) even as root, and
  worker.sandbox=bwrap still works inside it (user namespaces, @mount,
  AF_NETLINK);
* a configuration error (exit 78) is not restarted in a loop.
"""

import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import BUILD_ROOT, SOURCE_ROOT, Client, double_command, find_values, lean_run_args, tool_body

MAX_EXPOSURE = 5.0
LONG = 60


def built_unit():
    path = os.path.join(BUILD_ROOT, "units", "lean-hostd.service")
    if not BUILD_ROOT or not os.path.exists(path):
        pytest.skip(f"{path} is not built (run through `meson test`)")
    return path


def test_unit_exposure(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    unit = built_unit()
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(run), SYSTEMD_COLORS="0")
    r = subprocess.run([analyze, "--user", "security", "--offline=yes", "--no-pager", unit], capture_output=True,
                       text=True, timeout=120, env=env)
    out = r.stdout + r.stderr
    if "--offline" in out and ("unrecognized" in out or "Unknown option" in out):
        pytest.skip(f"this systemd-analyze has no --offline: {out.strip()[:200]}")
    m = re.search(r"Overall exposure level for lean-hostd\.service: ([0-9.]+)", out)
    assert m, out[-3000:]
    exposure = float(m.group(1))
    print(f"exposure {exposure}")
    assert exposure <= MAX_EXPOSURE, f"exposure {exposure} > {MAX_EXPOSURE}\n{out}"


def test_unit_settings():
    with open(os.path.join(SOURCE_ROOT, "units", "lean-hostd.service.in")) as f:
        text = f.read()
    settings = dict(line.split("=", 1) for line in text.splitlines() if re.match(r"^[A-Z]\w*=", line))
    assert settings["RestartPreventExitStatus"] == "78"
    # bwrap in a process-mode worker needs these; ProtectHome would break .lake
    assert "RestrictNamespaces" not in settings
    assert "ProtectHome" not in settings
    assert "AF_NETLINK" in settings["RestrictAddressFamilies"]
    assert "@mount" in settings["SystemCallFilter"]


# ---------------------------------------------------------------- under a private user manager


def bwrap_unusable():
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return "bwrap is not installed (Debian package bubblewrap)"
    r = subprocess.run([bwrap, "--unshare-all", "--die-with-parent", "--cap-drop", "ALL", "--ro-bind", "/", "/",
                        "true"], capture_output=True, text=True, timeout=30)
    return None if r.returncode == 0 else f"bwrap cannot create a sandbox here: {r.stderr.strip()}"


def install(um, tmp_path, **extra):
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True, exist_ok=True)
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "LEAN_HOST_MCP_ENFORCEMENT": "process",
        "LEAN_HOST_MCP_WORKER_COMMAND": double_command(),
        "LEAN_HOST_MCP_IDLE_EXIT_SECS": "0",
    }
    env.update(extra)
    um.install_units(env)


def probe_messages(result):
    body = tool_body(result)
    assert not result.get("isError"), body
    return [m["data"] for ms in find_values(body, {"messages"}) for m in ms if m.get("data", "").startswith("probe ")]


ETC_PROBE = "/etc/lean-host-unit-probe"


def test_hardened_unit_process_mode(user_manager, tmp_path, lean_project):
    um = user_manager
    install(um, tmp_path)
    um.systemctl("start", "lean-hostd.socket")
    try:
        with Client(um.socket) as c:
            c.initialize()
            code = f"-- @double probe write {ETC_PROBE}\n-- @double probe write {lean_project / 'ok.txt'}\ndef a := 1"
            r = c.call_tool("lean_run", lean_run_args(lean_project, code), timeout=LONG)
        msgs = probe_messages(r)
        assert any(m.startswith(f"probe write {ETC_PROBE}: failed:") for m in msgs), msgs
        assert f"probe write {lean_project / 'ok.txt'}: ok" in msgs, msgs
        assert (lean_project / "ok.txt").exists()
        assert not os.path.exists(ETC_PROBE)
    finally:
        if os.path.exists(ETC_PROBE):
            os.unlink(ETC_PROBE)  # a broken ProtectSystem wrote it: do not leave it behind
        um.systemctl("stop", "lean-hostd.service", "lean-hostd.socket", check=False)


def test_hardened_unit_with_bwrap(user_manager, tmp_path, lean_project):
    reason = bwrap_unusable()
    if reason:
        pytest.skip(reason)
    um = user_manager
    install(um, tmp_path, LEAN_HOST_MCP_SANDBOX="bwrap")
    um.systemctl("start", "lean-hostd.socket")
    outside = tmp_path / "outside.txt"
    try:
        with Client(um.socket) as c:
            c.initialize()
            code = (f"-- @double probe write {outside}\n-- @double probe write {lean_project / 'ok.txt'}\n"
                    "-- @double probe connect 127.0.0.1 9\ndef a := 1")
            r = c.call_tool("lean_run", lean_run_args(lean_project, code), timeout=LONG)
        msgs = probe_messages(r)
        assert f"probe write {lean_project / 'ok.txt'}: ok" in msgs, msgs
        assert (lean_project / "ok.txt").exists()
        assert not outside.exists(), msgs
        assert any(m.startswith("probe connect 127.0.0.1 9: failed:") for m in msgs), msgs
    finally:
        um.systemctl("stop", "lean-hostd.service", "lean-hostd.socket", check=False)


def test_config_error_not_restarted(user_manager, tmp_path):
    um = user_manager
    install(um, tmp_path, LEAN_HOST_MCP_SANDBOX="chroot")
    um.systemctl("start", "lean-hostd.service", check=False)
    deadline = time.monotonic() + 30
    props = {}
    while time.monotonic() < deadline:
        props = um.show("lean-hostd.service", "ActiveState", "ExecMainStatus", "NRestarts", "Result")
        if props.get("ActiveState") == "failed":
            break
        time.sleep(0.2)
    # RestartSec=1s: a restart loop would have restarted it by now
    time.sleep(2.5)
    props = um.show("lean-hostd.service", "ActiveState", "ExecMainStatus", "NRestarts", "Result")
    assert props["ExecMainStatus"] == "78", props
    assert props["NRestarts"] == "0", props
    assert props["ActiveState"] == "failed", props
    um.systemctl("stop", "lean-hostd.socket", check=False)
