#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""test-ctl.py LEAN_HOSTCTL TEST_BUS: lean-hostctl against the bus objects
served from the stub project API (test-bus --serve) on a private session bus
(dbus-run-session; no systemd, no workers). Checks the human and --json forms
of every command, PROJECT resolution (root, path inside, id), exit codes
(0/1/2/3), colour only on a tty, and `monitor` following WorkerRestarted.
Exit 77 (skip) without dbus-run-session."""

import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={tmp}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

CTL = TEST_BUS = None
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def ctl(*args, env=None):
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    e.update(env or {})
    return subprocess.run([CTL] + list(args), capture_output=True, text=True, timeout=30, env=e)


def ctl_json(*args):
    r = ctl("--json", *args)
    check(r.returncode == 0, f"{args} --json: exit {r.returncode}: {r.stderr}")
    lines = r.stdout.splitlines()
    check(len(lines) == 1, f"{args} --json: one line, got {len(lines)}")
    return json.loads(r.stdout)


def ctl_tty(*args, env=None):
    """Run with stdout on a pty; returns the output bytes."""
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    e["TERM"] = "xterm"
    e.update(env or {})
    master, slave = pty.openpty()
    p = subprocess.Popen([CTL] + list(args), stdout=slave, stderr=subprocess.DEVNULL, env=e)
    os.close(slave)
    out = b""
    while True:
        try:
            r, _, _ = select.select([master], [], [], 10)
            if not r:
                break
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    p.wait(10)
    os.close(master)
    return out


def column_starts(header):
    return [m.start() for m in re.finditer(r"\S+", header)]


def test_not_running():
    r = ctl("status")
    check(r.returncode == 3, f"status without daemon: exit 3, got {r.returncode}")
    check("lean-hostd is not running on the user bus" in r.stderr, f"not-running message: {r.stderr!r}")
    check("systemctl --user start lean-hostd.socket" in r.stderr, "not-running hint names the socket unit")
    check("activation" in r.stderr, "not-running hint mentions bus activation")
    for args in (["facts", "/srv/proj-a"], ["restarts"], ["restart", "/srv/proj-a"]):
        r = ctl(*args)
        check(r.returncode == 3, f"{args} without daemon: exit 3, got {r.returncode}")


def test_usage():
    for args in ([], ["bogus"], ["facts"], ["status", "x"], ["restarts", "a", "b"], ["--bogus", "status"]):
        r = ctl(*args)
        check(r.returncode == 2, f"{args}: usage exit 2, got {r.returncode}")
    r = ctl("--help")
    check(r.returncode == 0 and "monitor" in r.stdout and "--json" in r.stdout, "--help")
    r = ctl("--version")
    check(r.returncode == 0 and r.stdout.startswith("lean-hostctl "), "--version")


def wait_for_name():
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if ctl("status").returncode == 0:
            return True
        time.sleep(0.1)
    return False


def test_status():
    r = ctl("status")
    check(r.returncode == 0, f"status: {r.stderr}")
    out = r.stdout
    check("\x1b" not in out, "no escape sequences when stdout is not a tty")
    check("lean-hostd 0.1.0" in out or "lean-hostd " in out, "status names the daemon")
    check("1 of 4 active" in out, "workers active/max")
    check("Restarts: 3 (child_exit 2, explicit 1)" in out, f"restart summary: {out}")
    lines = out.splitlines()
    hdr = [i for i, l in enumerate(lines) if l.startswith("PROJECT")]
    check(len(hdr) == 1, "one table header")
    h = lines[hdr[0]]
    check(h.split() == ["PROJECT", "STATE", "GEN", "SCOPE", "RSS/LIMIT", "SWAP", "HIGH/MAX/OOM", "PSI10",
                        "RESTARTS"], f"columns: {h}")
    rows = lines[hdr[0] + 1:hdr[0] + 3]
    # kernel facts (cgroup v2): swap, memory.events high/max/oom_kill, PSI some avg10; "-" when not available
    check(rows[0].split() == ["/srv/proj-a", "busy", "7", "lean-worker-0123456789abcdef-7.scope",
                              "120.6M/16.0G", "2.0M", "11/3/1", "12.50%", "3"], f"row a: {rows[0]}")
    check(rows[1].split() == ["/srv/proj-b", "idle", "7", "-", "-/16.0G", "-", "-", "-", "0"], f"row b: {rows[1]}")
    # left columns start where their header starts; right ones end where theirs ends
    starts = column_starts(h)
    for row in rows:
        check(row[starts[1]:].split()[0] in ("busy", "idle"), f"STATE aligned: {row}")
        check(row[starts[3]:].split()[0].startswith(("lean-worker", "-")), f"SCOPE aligned: {row}")
        check(len(row) == len(h), f"right-aligned last column: {row!r} vs {h!r}")
    check(lines[-1] == "2 projects listed.", f"footer: {lines[-1]}")

    j = ctl_json("status")
    check(j["version"] and j["workers_active"] == 1 and j["max_workers"] == 4, "status --json manager")
    check(j["restarts_total"] == 3 and j["restarts_by_cause"] == {"child_exit": 2, "explicit": 1},
          "status --json restarts")
    check(j["worker_rss_hard_kill_kib"] == 256 * 1024, "status --json tiers")
    check([p["root"] for p in j["projects"]] == ["/srv/proj-a", "/srv/proj-b"], "status --json projects")


def test_facts():
    a = ctl_json("facts", "/srv/proj-a")
    want = {
        "id": "0123456789abcdef", "root": "/srv/proj-a", "state": "busy", "worker_pid": 4242,
        "worker_generation": 7, "enforcement": "scope", "scope_unit": "lean-worker-0123456789abcdef-7.scope",
        "rss_kib": 123456, "anon_kib": 100000, "swap_kib": 2048, "memory_events_high": 11,
        "memory_events_max": 3, "memory_events_oom_kill": 1, "memory_pressure_some_avg10": 12.5,
        "memory_pressure_full_avg10": 0.25, "memory_high_kib": 5 * 1024 * 1024,
        "memory_max_kib": 16 * 1024 * 1024, "import_profile": "Mathlib.Tactic,Proj", "profile_switch_count": 2,
        "restarts_total": 3, "restarts_by_cause": {"child_exit": 2, "explicit": 1}, "restarts_in_window": 2,
        "last_restart": {"cause": "child_exit", "reason": "worker exited with status 3", "worker_generation": 6,
                         "planned": False, "rss_kib": 99, "limit_kib": None},
        "queue_depth": 5, "requests_served": 9, "toolchain": "", "readiness": "toolchain_not_installed",
        "pool_max_workers": 3, "pool_memory_kib": 48 * 1024 * 1024,
        "pool_memory_source": "memory.max of /user.slice/lean.slice/lean-host.slice",
        "object": "/org/leanhost/Host1/project/_30123456789abcdef",
        # the pool's workers (the stub's one), with the facts' names
        "workers": [{"worker_generation": 7, "worker_pid": 4242, "state": "idle",
                     "scope_unit": "lean-worker-0123456789abcdef-7.scope", "import_profile": "Mathlib.Tactic,Proj",
                     "rss_kib": 123456, "requests_served": 9}],
    }
    check(a == want, f"facts --json: {a}")
    # a path inside the root and the id resolve to the same project
    check(ctl_json("facts", "/srv/proj-a/Proj/Basic.lean") == want, "facts by a path inside the root")
    check(ctl_json("facts", "0123456789abcdef") == want, "facts by id")
    b = ctl_json("facts", "fedcba9876543210")
    check(b["worker_pid"] is None and b["scope_unit"] is None and b["rss_kib"] is None and
          b["last_restart"] is None and b["import_profile"] is None, f"nulls as in the MCP facts: {b}")
    check(b["workers"] == [], f"no worker, no pool: {b}")
    check(b["swap_kib"] is None and b["memory_events_oom_kill"] is None and b["memory_pressure_some_avg10"] is None,
          f"kernel facts not available are null, not 0: {b}")

    r = ctl("facts", "/srv/proj-a")
    check(r.returncode == 0, "facts human")
    check(re.search(r"^ +State: busy$", r.stdout, re.M), f"facts State line: {r.stdout}")
    check(re.search(r"^ +Worker: PID 4242, generation 7", r.stdout, re.M), "facts Worker line")
    check(re.search(r"^ +Pool budget: up to 3 workers, 48\.0G \(memory.max of /user.slice/lean.slice/lean-host.slice\)$",
                    r.stdout, re.M), f"facts Pool budget line: {r.stdout}")
    check(re.search(r"^ +Last restart: child_exit \(abnormal\), generation 6", r.stdout, re.M), "facts last restart")
    check(re.search(r"^ +Kernel: memory.events high/max/oom_kill 11/3/1, swap 2.0M, memory pressure 12.50%",
                    r.stdout, re.M), f"facts Kernel line: {r.stdout}")
    r2 = ctl("facts", "fedcba9876543210")
    check(re.search(r"^ +Kernel: - \(only with a scope on cgroup v2\)$", r2.stdout, re.M), f"no kernel facts: {r2.stdout}")
    labels = [l.index(":") for l in r.stdout.splitlines()[1:] if re.match(r"^ +[A-Z][a-z ]+: ", l)]
    check(len(set(labels)) == 1, f"facts labels aligned: {labels}")

    r = ctl("facts", "/srv/nope")
    check(r.returncode == 1 and "/srv/nope" in r.stderr, f"unknown project: exit 1 + message: {r.returncode} {r.stderr}")
    r = ctl("facts", "nope-not-an-id")
    check(r.returncode == 1 and "nope-not-an-id" in r.stderr, "unknown id: exit 1")


def test_restarts():
    j = ctl_json("restarts")
    check(j == {"restarts_total": 3, "restarts_by_cause": {"child_exit": 2, "explicit": 1}}, f"restarts --json: {j}")
    r = ctl("restarts")
    lines = r.stdout.splitlines()
    check(lines[0].split() == ["CAUSE", "COUNT"], f"restarts header: {lines}")
    check(lines[1].split() == ["child_exit", "2"] and lines[2].split() == ["explicit", "1"], "restarts rows")
    check(len(lines[1]) == len(lines[0]), "COUNT right-aligned")
    check(lines[-1] == "3 restarts over all projects.", "restarts footer")
    j = ctl_json("restarts", "/srv/proj-a")
    check(j["restarts_total"] == 3 and j["restarts_in_window"] == 2 and
          j["last_restart"]["cause"] == "child_exit", f"restarts PROJECT --json: {j}")
    r = ctl("restarts", "/srv/proj-a")
    check(r.returncode == 0 and "3 restarts, 2 abnormal in the current window." in r.stdout, r.stdout)


def test_actions():
    for verb in ("restart", "stop"):
        r = ctl(verb, "/srv/proj-a")
        check(r.returncode == 0 and r.stdout == "", f"{verb}: {r.returncode} {r.stderr}")
    r = ctl("restart", "/srv/nope")
    check(r.returncode == 1, "restart of an unknown project fails")


def test_color():
    out = ctl_tty("status")
    check(b"\x1b[1m" in out, f"bold headers on a tty: {out[:200]!r}")
    out = ctl_tty("status", env={"NO_COLOR": "1"})
    check(b"\x1b" not in out, "NO_COLOR disables colour")
    out = ctl_tty("--json", "status")
    check(b"\x1b" not in out, "--json never has colour")


def test_monitor(server):
    procs = []
    for args in (["monitor"], ["--json", "monitor"]):
        p = subprocess.Popen([CTL] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = p.stderr.readline()
        check("Monitoring WorkerRestarted" in line, f"monitor announces itself: {line!r}")
        procs.append(p)
    server.send_signal(signal.SIGUSR1)
    human = procs[0].stdout.readline()
    js = procs[1].stdout.readline()
    server.send_signal(signal.SIGUSR1)
    human2 = procs[0].stdout.readline()
    for p in procs:
        p.terminate()
        p.wait(10)
    check(re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /srv/proj-a rss_hard_limit_exceeded \(abnormal\), "
                   r"generation 7, rss 300\.0M, limit 256\.0M: rss_hard_limit_exceeded", human), f"monitor: {human!r}")
    check(human2 == human or human2.split(" ", 2)[2] == human.split(" ", 2)[2], "one line per event")
    ev = json.loads(js)
    check(ev["project"] == "/srv/proj-a" and ev["cause"] == "rss_hard_limit_exceeded" and
          ev["worker_generation"] == 7 and ev["planned"] is False and ev["rss_kib"] == 300 * 1024 and
          ev["limit_kib"] == 256 * 1024 and ev["object"] == "/org/leanhost/Host1/project/_30123456789abcdef",
          f"monitor --json: {ev}")


def main():
    global CTL, TEST_BUS
    CTL, TEST_BUS = sys.argv[1], sys.argv[2]
    if os.environ.get("LEAN_HOST_TEST_CTL_INNER") != "1":
        drs = shutil.which("dbus-run-session")
        if not drs or not os.path.exists("/usr/bin/dbus-daemon"):
            print("dbus-run-session / dbus-daemon missing: skipped")
            return 77
        env = dict(os.environ, LEAN_HOST_TEST_CTL_INNER="1")
        # a private bus without service directories: nothing can activate a real daemon
        with tempfile.TemporaryDirectory() as tmp:
            conf = os.path.join(tmp, "session.conf")
            with open(conf, "w") as f:
                f.write(BUS_CONFIG.format(tmp=tmp))
            return subprocess.run([drs, "--config-file", conf, "--", sys.executable, os.path.abspath(__file__)]
                                  + sys.argv[1:], env=env, timeout=120).returncode

    test_usage()
    test_not_running()
    # a deterministic Readiness: no elan, lake or repl for the stub projects
    server = subprocess.Popen([TEST_BUS, "--serve"],
                              env=dict(os.environ, ELAN_HOME="/nonexistent/elan", PATH="/nonexistent/bin"))
    try:
        if not wait_for_name():
            check(False, "test-bus --serve did not come up")
            return 1
        test_status()
        test_facts()
        test_restarts()
        test_actions()
        test_color()
        test_monitor(server)
    finally:
        server.terminate()
        rc = server.wait(10)
        check(rc == 0, f"test-bus --serve exit {rc}")
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
