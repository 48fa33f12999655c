# SPDX-License-Identifier: LGPL-2.1-or-later
"""Issue 6: runtime facts on D-Bus, lean-hostctl and the journal, under a
private user manager and session bus (tests/harness/with-user-systemd), with
the test-double worker (tests/double/lean-repl-double).

The daemon runs with conftest.base_env's tiers (import-switch 64 MiB,
post-job 128 MiB, hard 256 MiB, sampled every 50 ms) on the sandbox's user
bus. A forced OOM (alloc far over the hard tier) and a planned recycle
(alloc between post-job and hard) happen through MCP; then the bus
properties, the Manager's RestartsByCause, `lean-hostctl --json` and the
WorkerRestarted signals must equal the MCP runtime facts exactly."""

import collections
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time

import pytest

from conftest import (
    BUILD_ROOT,
    KIB_PER_MIB,
    Client,
    SOURCE_ROOT,
    binary,
    double_command,
    lean_run_args,
    restart_causes,
    runtime_facts,
    tool_body,
)

sys.path.insert(0, os.path.join(SOURCE_ROOT, "dbus"))
import introspect_compare  # noqa: E402

SERVICE = "org.leanhost.Host1"
MANAGER_PATH = "/org/leanhost/Host1"
MANAGER_IFACE = "org.leanhost.Host1.Manager"
PROJECT_IFACE = "org.leanhost.Host1.Project"
LONG = 120
# the user bus is trusted: sd-bus leaves out the Privileged annotation there
USER_BUS_IGNORES = (introspect_compare.PRIVILEGED,)

# bus property → MCP runtime-facts key; values compared exactly (0 / "" on
# the bus are null in the facts). RssKiB/AnonKiB are samples (they move
# between two reads) and State is per call ("busy" inside it).
PROPERTY_FACTS = {
    "WorkerGeneration": "worker_generation",
    "WorkerPID": "worker_pid",
    "EnforcementMode": "enforcement",
    "ScopeUnit": "scope_unit",
    "MemoryHighKiB": "memory_high_kib",
    "MemoryMaxKiB": "memory_max_kib",
    "ImportProfile": "import_profile",
    "ProfileSwitchCount": "profile_switch_count",
    "RestartsTotal": "restarts_total",
    "RestartsByCause": "restarts_by_cause",
    "RestartsInWindow": "restarts_in_window",
    "LastRestart": "last_restart",
}


# ---------------------------------------------------------------- helpers


def run(c, project, code, timeout=LONG):
    return c.call_tool("lean_run", lean_run_args(project, code), timeout=timeout)


def assert_ok(result):
    assert not result.get("isError"), tool_body(result)
    return runtime_facts(result)


def ctl_path():
    return binary("LEAN_HOSTCTL")


def ctl(*args, check=None, env=None):
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run([ctl_path()] + list(args), capture_output=True, text=True, timeout=60, env=e)
    if check is not None:
        assert r.returncode == check, f"lean-hostctl {' '.join(args)}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def ctl_json(*args):
    r = ctl("--json", *args, check=0)
    lines = r.stdout.splitlines()
    assert len(lines) == 1, r.stdout
    return json.loads(lines[0])


def busctl(*args, check=True, timeout=60):
    r = subprocess.run(["busctl", "--user"] + list(args), capture_output=True, text=True, timeout=timeout)
    if check:
        assert r.returncode == 0, f"busctl --user {' '.join(args)}: exit {r.returncode}\n{r.stderr}"
    return r


def bus_json_value(v):
    """busctl --json=short {"type": T, "data": D} → a Python value in the
    facts' shape."""
    t, d = v["type"], v["data"]
    if t == "a{st}":
        if isinstance(d, list):  # older busctl: [[k, v], ...]
            d = {k: n for k, n in d}
        return dict(d)
    return d


def get_properties(path, iface, names):
    out = {}
    for name in names:
        r = busctl("--json=short", "get-property", SERVICE, path, iface, name)
        out[name] = bus_json_value(json.loads(r.stdout))
    return out


def as_facts(prop, value):
    """A bus property's value as the MCP facts spell it."""
    if prop in ("WorkerPID", ) and value == 0:
        return None
    if prop in ("ScopeUnit", "ImportProfile") and value == "":
        return None
    if prop == "LastRestart":
        cause, reason, gen, planned, rss, limit = value
        if cause == "":
            return None
        return {"cause": cause, "reason": reason, "worker_generation": gen, "planned": planned,
                "rss_kib": rss or None, "limit_kib": limit or None}
    return value


def wait_until(pred, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def name_has_owner():
    r = busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
               "s", SERVICE, check=False)
    return r.returncode == 0 and r.stdout.strip() == "b true"


def bus_env():
    return {"DBUS_SESSION_BUS_ADDRESS": os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")}


class LineReader:
    """Lines of a child's stdout, readable with a timeout."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.err = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines), daemon=True).start()
        self.err_lines = queue.Queue()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.err_lines), daemon=True).start()

    @staticmethod
    def _pump(f, q):
        for line in f:
            q.put(line.rstrip("\n"))

    def wait_stderr(self, needle, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.err_lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.err.append(line)
            if needle in line:
                return line
        raise AssertionError(f"{self.proc.args}: no stderr line with {needle!r}: {self.err}")

    def take(self, n, timeout=30, pred=lambda line: True):
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.proc.args}: {len(out)} of {n} lines within {timeout}s: {out}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if pred(line):
                out.append(line)
        return out

    def rest(self, settle=1.0):
        time.sleep(settle)
        out = []
        while True:
            try:
                out.append(self.lines.get_nowait())
            except queue.Empty:
                return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def installed_activation_file():
    for d in ("/usr/share/dbus-1/services", "/usr/local/share/dbus-1/services"):
        if os.path.exists(os.path.join(d, SERVICE + ".service")):
            return os.path.join(d, SERVICE + ".service")
    return None


# ---------------------------------------------------------------- tests


def test_facts_on_bus_match_mcp(user_manager, start_daemon, lean_project):
    # no daemon yet: a clear error and exit 3 (unless an installed activation
    # file would start a system-wide lean-hostd)
    if not installed_activation_file():
        r = ctl("status")
        assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
        assert "lean-hostd is not running on the user bus" in r.stderr
        assert "systemctl --user start lean-hostd.socket" in r.stderr

    d = start_daemon(env=bus_env())
    wait_until(name_has_owner, what=f"lean-hostd to own {SERVICE}")

    # the interface, as busctl shows it and as dbus/*.xml documents it
    r = busctl("introspect", SERVICE, MANAGER_PATH)
    assert MANAGER_IFACE in r.stdout and "org.freedesktop.DBus.ObjectManager" in r.stdout
    assert ".WorkerRestarted" in r.stdout and ".GetProject" in r.stdout
    live = busctl("--xml-interface", "introspect", SERVICE, MANAGER_PATH).stdout
    with open(os.path.join(SOURCE_ROOT, "dbus", MANAGER_IFACE + ".xml")) as f:
        assert introspect_compare.differences(f.read(), live, MANAGER_IFACE, USER_BUS_IGNORES) == []

    # follow WorkerRestarted two ways before anything happens
    mon = LineReader([ctl_path(), "--json", "monitor"])
    mon.wait_stderr("Monitoring WorkerRestarted")
    raw = LineReader(["busctl", "--user", "--json=short", "monitor", SERVICE])
    time.sleep(1.0)  # busctl monitor has no ready line in JSON mode

    try:
        with d.client() as c:
            c.initialize()
            f1 = assert_ok(run(c, lean_project, "def warm := 0"))
            assert f1["enforcement"] == "process"

            # forced OOM: far over the hard tier
            r = run(c, lean_project, "-- @double alloc 400\n-- @double sleep 30")
            assert "rss_hard_limit_exceeded" in restart_causes(r), tool_body(r)

            # planned recycle: post-job 128 < 180 < hard 256, recycled after the job
            assert_ok(run(c, lean_project, "-- @double alloc 180\ndef big := 1"))
            r4 = run(c, lean_project, "def small := 1")
            facts = assert_ok(r4)
            assert facts["last_restart"]["cause"] == "rss_post_job", facts
            assert facts["last_restart"]["planned"] is True
            assert facts["restarts_by_cause"].get("rss_hard_limit_exceeded", 0) >= 1
            assert facts["restarts_by_cause"].get("rss_post_job", 0) >= 1

            # the project object, found by its root and by a path inside it
            path = busctl("--json=short", "call", SERVICE, MANAGER_PATH, MANAGER_IFACE, "GetProject", "s",
                          str(lean_project))
            obj = json.loads(path.stdout)["data"][0]
            inner = busctl("--json=short", "call", SERVICE, MANAGER_PATH, MANAGER_IFACE, "GetProject", "s",
                           str(lean_project / "Proj.lean"))
            assert json.loads(inner.stdout)["data"][0] == obj
            assert obj.startswith(MANAGER_PATH + "/project/")
            live = busctl("--xml-interface", "introspect", SERVICE, obj).stdout
            with open(os.path.join(SOURCE_ROOT, "dbus", PROJECT_IFACE + ".xml")) as f:
                assert introspect_compare.differences(f.read(), live, PROJECT_IFACE, USER_BUS_IGNORES) == []

            # Project properties == the MCP facts of the last call, exactly
            props = get_properties(obj, PROJECT_IFACE, list(PROPERTY_FACTS) + ["Root", "Id", "State"])
            for prop, key in PROPERTY_FACTS.items():
                assert as_facts(prop, props[prop]) == facts[key], (prop, props[prop], facts[key])
            assert os.path.realpath(props["Root"]) == os.path.realpath(lean_project)
            assert props["State"] == "idle"

            # Manager totals == the facts (one project)
            mgr = get_properties(MANAGER_PATH, MANAGER_IFACE, ["RestartsByCause", "RestartsTotal", "WorkersActive",
                                                               "HardKillRssKiB", "PostJobRssKiB"])
            assert mgr["RestartsByCause"] == facts["restarts_by_cause"]
            assert mgr["RestartsTotal"] == facts["restarts_total"]
            assert mgr["HardKillRssKiB"] == 256 * KIB_PER_MIB and mgr["PostJobRssKiB"] == 128 * KIB_PER_MIB
            assert mgr["WorkersActive"] == 1

            # lean-hostctl --json: the same names and values as the MCP facts
            cf = ctl_json("facts", str(lean_project))
            for key in set(PROPERTY_FACTS.values()):
                assert cf[key] == facts[key], (key, cf[key], facts[key])
            assert cf["object"] == obj and cf["id"] == props["Id"]
            # the pool's workers (an array property read element by element)
            live = [w for w in cf["workers"] if w["worker_pid"] == facts["worker_pid"]]
            assert len(live) == 1 and live[0]["worker_generation"] == facts["worker_generation"], cf["workers"]
            assert isinstance(live[0]["state"], str) and live[0]["requests_served"] >= 1, cf["workers"]
            assert ctl_json("facts", props["Id"])["object"] == obj
            assert ctl_json("restarts") == {"restarts_total": facts["restarts_total"],
                                            "restarts_by_cause": facts["restarts_by_cause"]}
            rp = ctl_json("restarts", str(lean_project / "Proj.lean"))
            assert rp["restarts_by_cause"] == facts["restarts_by_cause"]
            assert rp["last_restart"] == facts["last_restart"]
            st = ctl_json("status")
            assert st["restarts_by_cause"] == facts["restarts_by_cause"]
            assert [p["object"] for p in st["projects"]] == [obj]
            assert st["projects"][0]["worker_generation"] == facts["worker_generation"]

            # ... and in the human forms
            out = ctl("status", check=0).stdout
            assert "\x1b" not in out  # not a tty
            rows = [l for l in out.splitlines() if l.startswith(props["Root"])]
            assert len(rows) == 1, out
            cols = rows[0].split()
            assert cols[1] == "idle" and cols[2] == str(facts["worker_generation"]) and cols[3] == "-"
            assert cols[-1] == str(facts["restarts_total"])
            assert out.splitlines()[-1] == "1 project listed."
            out = ctl("restarts", check=0).stdout
            for cause, n in facts["restarts_by_cause"].items():
                assert re.search(rf"^{cause} +{n}$", out, re.M), out
            out = ctl("facts", str(lean_project), check=0).stdout
            assert re.search(rf"^ +Worker: PID {facts['worker_pid']}, generation {facts['worker_generation']},",
                             out, re.M), out
            assert re.search(r"^ +Last restart: rss_post_job \(planned\)", out, re.M), out

        # one WorkerRestarted per restart, each equal to the facts' events
        events = [json.loads(l) for l in mon.take(facts["restarts_total"])]
        assert collections.Counter(e["cause"] for e in events) == collections.Counter(
            {k: v for k, v in facts["restarts_by_cause"].items()})
        last = events[-1]
        assert {k: last[k] for k in facts["last_restart"]} == facts["last_restart"]
        assert last["object"] == obj
        assert os.path.realpath(last["project"]) == os.path.realpath(lean_project)
        hard = [e for e in events if e["cause"] == "rss_hard_limit_exceeded"]
        assert hard and all(e["planned"] is False and e["limit_kib"] == 256 * KIB_PER_MIB for e in hard)

        sigs = [json.loads(l) for l in raw.take(facts["restarts_total"], pred=lambda l: '"WorkerRestarted"' in l)]
        assert all(s["path"] == MANAGER_PATH and s["interface"] == MANAGER_IFACE for s in sigs)
        payload = sigs[-1]["payload"]
        assert payload["type"] == "osstbtt"
        o, cause, reason, gen, planned, rss, limit = payload["data"]
        assert (o, cause, reason, gen, planned) == (obj, "rss_post_job", facts["last_restart"]["reason"],
                                                    facts["last_restart"]["worker_generation"], True)

        # operator actions over the bus: an explicit (planned) restart, then stop
        ctl("restart", str(lean_project), check=0)
        ev = json.loads(mon.take(1)[0])
        assert ev["cause"] == "explicit" and ev["planned"] is True
        wait_until(lambda: get_properties(obj, PROJECT_IFACE, ["RestartsByCause"])["RestartsByCause"]
                   .get("explicit") == 1, what="RestartsByCause to count the explicit restart")
        ctl("stop", str(lean_project), check=0)
        wait_until(lambda: get_properties(obj, PROJECT_IFACE, ["WorkerPID", "State"]) ==
                   {"WorkerPID": 0, "State": "stopped"}, what="the worker to stop")
        assert ctl_json("facts", str(lean_project))["state"] == "stopped"
        r = ctl("facts", "/nonexistent/lean-host-project")
        assert r.returncode == 1 and "/nonexistent/lean-host-project" in r.stderr
    finally:
        mon.stop()
        raw.stop()

    # the structured fields of every worker end (the journal's, appended on
    # stderr when not logging to the journal)
    log = d.log()
    line = next((l for l in log.splitlines() if "LEAN_HOST_CAUSE=rss_hard_limit_exceeded" in l), None)
    assert line, log[-4000:]
    for field in ("LEAN_HOST_PROJECT=", "LEAN_HOST_GENERATION=", "LEAN_HOST_PLANNED=0", "LEAN_HOST_RSS_KIB=",
                  "LEAN_HOST_LIMIT_KIB=", "LEAN_HOST_SCOPE="):
        assert field in line, (field, line)
    assert d.stop() == 0

    # gone: exit 3 again (nothing can activate it here)
    if not installed_activation_file():
        wait_until(lambda: not name_has_owner(), what="the name to be released")
        assert ctl("restarts").returncode == 3


def test_no_sample_signals(user_manager, start_daemon, lean_project):
    """Sampled memory is readable but never signalled: a busy worker sampled
    every 50 ms produces PropertiesChanged only for state changes."""
    d = start_daemon(env=bus_env())
    wait_until(name_has_owner, what=f"lean-hostd to own {SERVICE}")
    raw = LineReader(["busctl", "--user", "--json=short", "monitor", SERVICE])
    time.sleep(1.0)
    try:
        with d.client() as c:
            c.initialize()
            assert_ok(run(c, lean_project, "-- @double alloc 32\n-- @double sleep 2\ndef a := 1"))
        msgs = [json.loads(l) for l in raw.rest(1.0)]
    finally:
        raw.stop()
    changed = [m for m in msgs if m.get("member") == "PropertiesChanged"]
    assert changed, "no PropertiesChanged at all (state changes must be signalled)"
    names = set()
    for m in changed:
        data = m["payload"]["data"]
        names |= set(data[1].keys() if isinstance(data[1], dict) else (k for k, _ in data[1]))
    assert "State" in names
    assert not names & {"RssKiB", "AnonKiB"}, names
    # ~40 samples during the 2 s job; state changes are a handful
    assert len(changed) < 20, len(changed)
    assert d.stop() == 0


def activation_dir():
    return os.path.join(os.environ["XDG_RUNTIME_DIR"], "dbus-1", "services")


def reload_bus():
    busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "ReloadConfig")


def test_bus_activation(user_manager, tmp_path, lean_project):
    """With the activation file installed (in $XDG_RUNTIME_DIR/dbus-1/services,
    a standard session service directory inside the sandbox), a bus call
    starts lean-hostd.service through the user manager."""
    um = user_manager
    built = os.path.join(BUILD_ROOT, "dbus", SERVICE + ".service")
    assert os.path.exists(built), built
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    um.install_units({
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "LEAN_HOST_MCP_ENFORCEMENT": "process",
        "LEAN_HOST_MCP_WORKER_COMMAND": double_command(),
        "LEAN_HOST_MCP_IDLE_EXIT_SECS": "0",
    })

    if not installed_activation_file():
        r = ctl("status")
        assert r.returncode == 3, (r.returncode, r.stderr)

    os.makedirs(activation_dir(), exist_ok=True)
    with open(built) as f:
        text = f.read()
    assert "SystemdService=lean-hostd.service" in text
    with open(os.path.join(activation_dir(), SERVICE + ".service"), "w") as f:
        f.write(re.sub(r"^Exec=.*$", "Exec=" + binary("LEAN_HOSTD"), text, flags=re.M))
    reload_bus()

    assert um.systemctl("is-active", "lean-hostd.service", check=False).stdout.strip() != "active"
    r = busctl("--json=short", "get-property", SERVICE, MANAGER_PATH, MANAGER_IFACE, "Version", timeout=90)
    assert json.loads(r.stdout)["type"] == "s"
    assert um.systemctl("is-active", "lean-hostd.service", check=False).stdout.strip() == "active"

    # lean-hostctl talks to the activated daemon; an MCP call over the socket
    # the unit took reaches the same daemon, and its project shows up
    st = ctl_json("status")
    assert st["projects"] == []
    with Client(um.socket) as c:
        c.initialize()
        facts = assert_ok(run(c, lean_project, "def x := 1"))
    st = ctl_json("status")
    assert len(st["projects"]) == 1 and st["projects"][0]["worker_generation"] == facts["worker_generation"]

    # stopped and not activatable any more: exit 3 with the hint
    os.unlink(os.path.join(activation_dir(), SERVICE + ".service"))
    reload_bus()
    um.systemctl("stop", "lean-hostd.service", "lean-hostd.socket")
    wait_until(lambda: not name_has_owner(), what="the name to be released")
    if not installed_activation_file():
        r = ctl("status")
        assert r.returncode == 3, (r.returncode, r.stderr)
        assert "systemctl --user start lean-hostd.socket" in r.stderr


def test_journal_fields(user_manager, tmp_path, lean_project):
    """journalctl --user LEAN_HOST_CAUSE=rss_hard_limit_exceeded finds the
    worker's end, with every field, when a journal runs in the sandbox."""
    um = user_manager
    if not os.path.exists("/run/systemd/journal/socket"):
        pytest.skip("no systemd-journald in the with-user-systemd sandbox (/run/systemd/journal/socket "
                    "missing): the fields are checked on stderr by test_facts_on_bus_match_mcp")
    if not shutil.which("journalctl"):
        pytest.skip("journalctl is not installed")
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    um.install_units({
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "LEAN_HOST_MCP_ENFORCEMENT": "process",
        "LEAN_HOST_MCP_WORKER_COMMAND": double_command(),
        "LEAN_HOST_MCP_WORKER_RSS_HARD_KILL_KIB": str(256 * KIB_PER_MIB),
        "LEAN_HOST_MCP_WORKER_RSS_POST_JOB_RESTART_KIB": str(128 * KIB_PER_MIB),
        "LEAN_HOST_MCP_IMPORT_SWITCH_RSS_SOFT_KIB": str(64 * KIB_PER_MIB),
        "LEAN_HOST_MCP_WORKER_RSS_SAMPLE_MILLIS": "50",
    })
    um.systemctl("start", "lean-hostd.socket")
    with Client(um.socket) as c:
        c.initialize()
        assert_ok(run(c, lean_project, "def warm := 0"))
        r = run(c, lean_project, "-- @double alloc 400\n-- @double sleep 30")
        assert "rss_hard_limit_exceeded" in restart_causes(r)

    def entries():
        # --user as an operator would type it; the sandbox's journald cannot
        # attribute entries to the private user manager's units (its cgroup
        # layout is foreign), so fall back to the whole (private) journal.
        out = []
        for scope in (["--user"], []):
            r = subprocess.run(["journalctl"] + scope + ["-o", "json", "--no-pager",
                                "LEAN_HOST_CAUSE=rss_hard_limit_exceeded"], capture_output=True, text=True, timeout=30)
            out = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
            if out:
                break
        return out

    found = wait_until(entries, what="the journal entry")
    e = found[-1]
    assert os.path.realpath(e["LEAN_HOST_PROJECT"]) == os.path.realpath(lean_project)
    assert e["LEAN_HOST_PLANNED"] == "0"
    assert int(e["LEAN_HOST_LIMIT_KIB"]) == 256 * KIB_PER_MIB
    for k in ("LEAN_HOST_GENERATION", "LEAN_HOST_RSS_KIB", "LEAN_HOST_SCOPE"):
        assert k in e, (k, e)
    um.systemctl("stop", "lean-hostd.service", "lean-hostd.socket")
