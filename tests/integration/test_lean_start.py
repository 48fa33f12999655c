# SPDX-License-Identifier: LGPL-2.1-or-later
"""Lean first contact, as users have it: a daemon started the way a systemd
user service is (PATH without ~/.elan/bin), a user whose elan lives in
~/.elan (tests/fixtures/toolchain: elan's real layout with lean/lake
stand-ins), a project that declares no REPL dependency.

lean-host must run the pinned toolchain's own lake by absolute path, build
the REPL itself once per toolchain (from repl.source at the revision the
table gives) without blocking calls (`provisioning`, retryable), then start
working workers; or answer with one exact instruction when it cannot.

The worker the REPL build produces is the REPL test double
(tests/double/lean-repl-double), run under the lake stand-in's `env`."""

import json
import os
import sys
import time

import pytest

from conftest import binary, error_of, lean_run_args, tool_body

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "toolchain"))
import make_toolchain  # noqa: E402

PIN = "leanprover/lean4:v4.33.0-rc2"
SERVICE_PATH = "/usr/local/bin:/usr/bin:/bin"  # what a user service gets: no ~/.elan/bin


@pytest.fixture
def machine(tmp_path):
    """home/.elan with PIN installed, a REPL source repository, a project
    without a REPL dependency, and a revision table naming the source's commit."""
    home = tmp_path / "home"
    double = binary("LEAN_REPL_DOUBLE")
    elan = make_toolchain.make_elan(str(home), (PIN,), double)
    src = tmp_path / "repl-src"
    rev = make_toolchain.make_repl_source(str(src), PIN)
    proj = make_toolchain.make_project(str(tmp_path / "proj"), PIN)
    table = tmp_path / "repl-revisions"
    table.write_text(f"# test table\n{PIN} {rev}\n")
    return {"home": home, "elan": elan, "src": str(src), "rev": rev, "proj": proj, "table": str(table),
            "cache": str(home / ".cache" / "lean-host" / "repl")}


def service_env(m, **extra):
    env = {
        "PATH": SERVICE_PATH,
        "LEAN_HOST_MCP_WORKER_COMMAND": None,  # the default worker: toolchain resolution
        "LEAN_HOST_MCP_REPL_SOURCE": m["src"],
        "LEAN_HOST_MCP_REPL_REVISIONS_FILE": m["table"],
        "ELAN_HOME": None,
        "XDG_CACHE_HOME": None,
    }
    env.update(extra)
    return env


def call_until_ready(client, proj, timeout=90):
    """Calls lean_run until it stops answering `provisioning`; returns the
    first answer and the last one."""
    first = None
    deadline = time.monotonic() + timeout
    while True:
        res = client.call_tool("lean_run", lean_run_args(proj, "def x := 1"))
        first = first or res
        err = error_of(res)
        if not err or err["code"] != "provisioning":
            return first, res
        assert err["retryable"] is True, err
        assert err["retry_after_ms"] > 0, err
        assert time.monotonic() < deadline, f"still provisioning after {timeout}s: {err}"
        time.sleep(0.5)


def test_service_path_no_repl_dependency_provisions_and_runs(start_daemon, machine):
    m = machine
    d = start_daemon(env=service_env(m, LAKE_STANDIN_BUILD_SECS="2"))
    with d.client() as c:
        c.initialize()
        # status reports, never builds
        st = tool_body(c.call_tool("lean_project_status", {"project": m["proj"]}))["result"]["readiness"]
        assert st["state"] == "not_installed", st
        assert "builds one in " + m["cache"] in st["message"]
        assert not os.path.exists(os.path.join(m["elan"], "lake-calls.log"))

        first, last = call_until_ready(c, m["proj"])

        # the first call is not held for the build: it is told to come back
        err = error_of(first)
        assert err and err["code"] == "provisioning", tool_body(first)
        assert PIN in err["message"]

        # then a working worker: the REPL lean-host built, under the pinned lake
        assert not last.get("isError"), tool_body(last)

        status = tool_body(c.call_tool("lean_project_status", {"project": m["proj"]}))
        rd = status["result"]["readiness"]
        assert rd["state"] == "ready", rd
        lake = os.path.join(m["elan"], "toolchains", "leanprover--lean4---v4.33.0-rc2", "bin", "lake")
        assert rd["lake"] == lake
        assert rd["repl"] == os.path.join(m["cache"], "leanprover--lean4---v4.33.0-rc2", ".lake/build/bin/repl")

    # built once, from the table's revision, with the project's pin; stamped
    built = os.path.join(m["cache"], "leanprover--lean4---v4.33.0-rc2")
    assert open(os.path.join(built, "lean-host-toolchain")).read().strip() == PIN
    assert open(os.path.join(built, "lean-toolchain")).read().strip() == PIN
    calls = open(os.path.join(m["elan"], "lake-calls.log")).read().splitlines()
    builds = [l for l in calls if l.endswith(" build repl")]
    assert len(builds) == 1, calls
    assert builds[0].startswith(lake + " ")
    # the worker ran as `<absolute lake> env <cached repl>` in the project
    envs = [l for l in calls if " env " in l]
    assert envs and all(l.startswith(lake + f" cwd={m['proj']} env ") for l in envs), calls
    log = d.log()
    assert "REPL build for " + PIN in log  # the build's output is logged
    assert "cannot execute" not in log


def test_cached_build_is_used_by_a_new_daemon_without_rebuilding(start_daemon, machine):
    m = machine
    d = start_daemon(env=service_env(m))
    with d.client() as c:
        c.initialize()
        _, last = call_until_ready(c, m["proj"])
        assert not last.get("isError"), tool_body(last)
    d.stop()

    # a source that no longer exists: only the cache can serve now
    d2 = start_daemon(env=service_env(m, LEAN_HOST_MCP_REPL_SOURCE="/nonexistent/repl"))
    with d2.client() as c:
        c.initialize()
        res = c.call_tool("lean_run", lean_run_args(m["proj"], "def y := 2"))
        assert not res.get("isError"), tool_body(res)
    builds = [l for l in open(os.path.join(m["elan"], "lake-calls.log")) if l.rstrip().endswith(" build repl")]
    assert len(builds) == 1


def test_unknown_version_is_one_exact_instruction(start_daemon, machine):
    m = machine
    table = os.path.join(os.path.dirname(m["table"]), "other-revisions")
    with open(table, "w") as f:
        f.write("leanprover/lean4:v4.19.0 3b27c8543a48444ffab4077f47526d91849cca3d v4.19.0\n")
    d = start_daemon(env=service_env(m, LEAN_HOST_MCP_REPL_SOURCE="https://github.com/leanprover-community/repl",
                                     LEAN_HOST_MCP_REPL_REVISIONS_FILE=table))
    with d.client() as c:
        c.initialize()
        res = c.call_tool("lean_run", lean_run_args(m["proj"], "def x := 1"))
        err = error_of(res)
        assert err["code"] == "provision_failed", err
        assert err["retryable"] is False
        assert "no REPL revision is known for " + PIN in err["message"]
        assert table in err["fix"] and PIN in err["fix"]
    # nothing was fetched or built
    assert not os.path.exists(os.path.join(m["elan"], "lake-calls.log"))


def test_local_checkout_without_a_revision_builds_its_head(start_daemon, machine):
    """repl.source a local checkout, the pin absent from the table: its HEAD is built."""
    m = machine
    table = os.path.join(os.path.dirname(m["table"]), "empty-revisions")
    with open(table, "w") as f:
        f.write("# nothing for this pin\n")
    d = start_daemon(env=service_env(m, LEAN_HOST_MCP_REPL_REVISIONS_FILE=table))
    with d.client() as c:
        c.initialize()
        first, last = call_until_ready(c, m["proj"])
        assert error_of(first)["code"] == "provisioning"
        assert not last.get("isError"), tool_body(last)
    assert f"from {m['src']} (pid" in d.log()


def test_offline_source_fails_with_the_fix(start_daemon, machine):
    m = machine
    # nothing listens on port 9 of localhost: git fails at once, as offline
    d = start_daemon(env=service_env(m, LEAN_HOST_MCP_REPL_SOURCE="http://127.0.0.1:9/repl.git"))
    with d.client() as c:
        c.initialize()
        deadline = time.monotonic() + 60
        while True:
            err = error_of(c.call_tool("lean_run", lean_run_args(m["proj"], "def x := 1")))
            if err["code"] != "provisioning":
                break
            assert time.monotonic() < deadline
            time.sleep(0.3)
        assert err["code"] == "provision_failed", err
        assert "cannot fetch the REPL source http://127.0.0.1:9/repl.git (offline?)" in err["message"]
        assert "repl.source" in err["fix"]
        assert err["readiness"]["state"] == "provision_failed"


def test_missing_git_is_named(start_daemon, machine, tmp_path):
    m = machine
    bin_dir = tmp_path / "no-git-bin"
    bin_dir.mkdir()
    for tool in ("mkdir", "dirname", "rm", "mv"):
        os.symlink(f"/bin/{tool}" if os.path.exists(f"/bin/{tool}") else f"/usr/bin/{tool}", bin_dir / tool)
    d = start_daemon(env=service_env(m, PATH=str(bin_dir)))
    with d.client() as c:
        c.initialize()
        deadline = time.monotonic() + 60
        while True:
            err = error_of(c.call_tool("lean_run", lean_run_args(m["proj"], "def x := 1")))
            if err["code"] != "provisioning":
                break
            assert time.monotonic() < deadline
            time.sleep(0.3)
        assert err["code"] == "provision_failed", err
        assert "git is not installed" in err["message"]
        assert "install git" in err["fix"]


def test_build_failure_is_reported_with_the_manual_recipe(start_daemon, machine):
    m = machine
    d = start_daemon(env=service_env(m, LAKE_STANDIN_BUILD_FAIL="1"))
    with d.client() as c:
        c.initialize()
        deadline = time.monotonic() + 60
        while True:
            err = error_of(c.call_tool("lean_run", lean_run_args(m["proj"], "def x := 1")))
            if err["code"] != "provisioning":
                break
            assert time.monotonic() < deadline
            time.sleep(0.3)
        assert err["code"] == "provision_failed", err
        assert "building the REPL for " + PIN + " failed (exit 12)" in err["message"]
        assert "LAKE_STANDIN_BUILD_FAIL" in err["message"]  # the build's last words
        assert m["rev"] in err["fix"] and "build repl" in err["fix"]
    # a failed build leaves nothing that could pass for a REPL
    assert not os.path.exists(os.path.join(m["cache"], "leanprover--lean4---v4.33.0-rc2"))


def test_toolchain_not_installed_names_the_elan_command(start_daemon, machine):
    m = machine
    with open(os.path.join(m["proj"], "lean-toolchain"), "w") as f:
        f.write("leanprover/lean4:v4.32.0\n")
    d = start_daemon(env=service_env(m))
    with d.client() as c:
        c.initialize()
        err = error_of(c.call_tool("lean_run", lean_run_args(m["proj"], "def x := 1")))
        assert err["code"] == "toolchain_not_installed", err
        assert err["fix"] == "elan toolchain install leanprover/lean4:v4.32.0"


def test_project_repl_for_another_lean_is_not_used(start_daemon, machine):
    """A REPL dependency built for another Lean cannot load the project's
    .olean files: lean-host builds its own instead of starting it."""
    m = machine
    pkg = os.path.join(m["proj"], ".lake", "packages", "repl")
    os.makedirs(os.path.join(pkg, ".lake", "build", "bin"))
    with open(os.path.join(pkg, "lean-toolchain"), "w") as f:
        f.write("leanprover/lean4:v4.32.0\n")
    stale = os.path.join(pkg, ".lake", "build", "bin", "repl")
    with open(stale, "w") as f:
        f.write("#!/bin/sh\necho 'stale REPL started' >&2\nexit 3\n")
    os.chmod(stale, 0o755)
    d = start_daemon(env=service_env(m))
    with d.client() as c:
        c.initialize()
        first, last = call_until_ready(c, m["proj"])
        assert error_of(first)["code"] == "provisioning"
        assert any("built for leanprover/lean4:v4.32.0" in a
                   for a in error_of(first)["readiness"]["advisories"]), error_of(first)
        assert not last.get("isError"), tool_body(last)
    assert "stale REPL started" not in d.log()


# ---------------------------------------------------------------- lean-hostctl doctor


def doctor(env, *args):
    import subprocess
    p = subprocess.run([binary("LEAN_HOSTCTL"), "doctor", *args], env=env, capture_output=True, text=True,
                       timeout=600)
    return p.returncode, p.stdout, p.stderr


def doctor_env(tmp_path, m, **extra):
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    env = {"PATH": SERVICE_PATH, "HOME": str(m["home"]), "XDG_RUNTIME_DIR": str(run), "LANG": "C.UTF-8",
           "LEAN_HOST_MCP_REPL_SOURCE": m["src"], "LEAN_HOST_MCP_REPL_REVISIONS_FILE": m["table"]}
    env.update(extra)
    return env


def fake_cgroup_v2(root, uid, memory_delegated):
    svc = root / "user.slice" / f"user-{uid}.slice" / f"user@{uid}.service"
    svc.mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (svc / "cgroup.subtree_control").write_text("cpu pids memory\n" if memory_delegated else "cpu pids\n")
    if memory_delegated:
        (svc / "memory.high").write_text("max\n")
        (svc / "memory.max").write_text("max\n")


def test_doctor_text_names_each_failure_and_its_fix(tmp_path, machine):
    m = machine
    cg = tmp_path / "cgroup"
    fake_cgroup_v2(cg, os.getuid(), memory_delegated=False)
    rc, out, err = doctor(doctor_env(tmp_path, m, LEAN_HOST_CGROUP_ROOT=str(cg)), m["proj"])
    lines = out.splitlines()

    def line(name):
        found = [l for l in lines if l[6:].startswith(name + " ")]
        assert found, out
        return found[0], lines[lines.index(found[0]) + 1]

    assert rc == 1, out + err
    assert line("cgroup")[0].startswith("pass")
    first, nxt = line("memory-delegation")
    assert first.startswith("fail") and "has no \"memory\"" in first
    assert "fix:" in nxt and "Delegate=" in nxt and "memory" in nxt
    assert line("memory-limits")[0].startswith("fail")
    first, nxt = line("socket")
    assert first.startswith("fail") and "fix: systemctl --user enable --now lean-hostd.socket" in nxt
    assert line("elan")[0].startswith("pass")
    assert "/toolchains/leanprover--lean4---v4.33.0-rc2/bin/lake" in line("toolchain")[0]
    assert line("version")[0].startswith("pass")
    repl = line("repl")[0]
    assert repl.startswith("info") and "not built yet" in repl and m["rev"] in repl
    assert line("tools")[0].startswith("skip")
    assert out.rstrip().endswith("failed")

    # delegated: both memory checks pass
    cg2 = tmp_path / "cgroup2"
    fake_cgroup_v2(cg2, os.getuid(), memory_delegated=True)
    rc, out, _ = doctor(doctor_env(tmp_path, m, LEAN_HOST_CGROUP_ROOT=str(cg2)), m["proj"])
    lines = out.splitlines()
    assert line("memory-delegation")[0].startswith("pass")
    assert line("memory-limits")[0].startswith("pass")


def test_doctor_json_toolchain_missing(tmp_path, machine):
    m = machine
    with open(os.path.join(m["proj"], "lean-toolchain"), "w") as f:
        f.write("leanprover/lean4:v4.29.0\n")
    rc, out, _ = doctor(doctor_env(tmp_path, m), "--json", m["proj"])
    assert rc == 1
    res = json.loads(out)
    checks = {c["name"]: c for c in res["checks"]}
    assert checks["toolchain"]["status"] == "fail"
    assert checks["toolchain"]["fix"] == "elan toolchain install leanprover/lean4:v4.29.0"
    assert checks["repl"]["status"] == "skip"
    assert res["failed"] == sum(1 for c in res["checks"] if c["status"] == "fail")


def test_doctor_json_runs_every_tool_through_the_daemon(tmp_path, start_daemon, machine):
    m = machine
    d = start_daemon(env=service_env(m))
    with d.client() as c:
        c.initialize()
        _, last = call_until_ready(c, m["proj"])
        assert not last.get("isError"), tool_body(last)
    env = doctor_env(tmp_path, m, XDG_RUNTIME_DIR=d.env["XDG_RUNTIME_DIR"])
    rc, out, err = doctor(env, "--json", m["proj"])
    res = json.loads(out)
    checks = {c["name"]: c for c in res["checks"]}
    assert checks["socket"]["status"] == "pass", checks["socket"]
    assert checks["repl"]["status"] == "pass", checks["repl"]
    assert "leanprover--lean4---v4.33.0-rc2/.lake/build/bin/repl" in checks["repl"]["detail"]
    tools = {n[len("tool:"):]: c for n, c in checks.items() if n.startswith("tool:")}
    # every tool is tried once, each with its own verdict
    assert set(tools) == {"lean_project_status", "lean_run", "lean_module_query", "lean_module_query_batch",
                          "lean_declaration_inspect", "lean_declaration_search", "lean_proof_attempt",
                          "lean_declaration_verify", "lean_declaration_verify_batch", "lean_proof_search"}
    assert all(c["status"] in ("pass", "fail") for c in tools.values())
    assert tools["lean_project_status"]["status"] == "pass", tools
    assert tools["lean_run"]["status"] == "pass", tools
    assert rc == (1 if res["failed"] else 0)
