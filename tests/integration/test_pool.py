# SPDX-License-Identifier: LGPL-2.1-or-later
"""A worker pool per project and a warm successor (src/project/pool.c,
lane.c). Process mode with the test double (tests/double/lean-repl-double):
`-- @double sleep S` makes a call slow, `-- @double stamp` adds an info
message "stamp pid P start T0 end T1" (when the double received the
command and answered it), LEAN_DOUBLE_IMPORT_SECS makes each import header
cost that long. conftest.base_env's tiers: hard 256 MiB per worker."""

import re
import threading
import time

from conftest import KIB_PER_MIB, error_of, lean_run_args, runtime_facts, tool_body

LONG = 120
HARD_KIB = 256 * KIB_PER_MIB  # conftest.base_env's worker_rss_hard_kill_kib
STAMP = re.compile(r"stamp pid (\d+) start ([0-9.]+) end ([0-9.]+)")


def pool_env(max_workers, memory_kib=None, **extra):
    env = {
        "LEAN_HOST_MCP_PROJECT_MAX_WORKERS": str(max_workers),
        "LEAN_HOST_MCP_MAX_WORKERS": "8",
        "LEAN_HOST_MCP_PROJECT_MAILBOX_CAPACITY": "16",
        "LEAN_HOST_MCP_PROJECT_POOL_MEMORY_KIB": str(memory_kib or 8 * HARD_KIB),
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


def stamp_of(result):
    body = tool_body(result)
    for m in body.get("result", body).get("messages", []):
        s = STAMP.search(m.get("data", ""))
        if s:
            return int(s.group(1)), float(s.group(2)), float(s.group(3))
    raise AssertionError(f"no stamp in {body}")


def concurrent_calls(daemon, project, n, sleep_secs):
    """n clients, one slow call each, all sent at once: [(facts, (pid, start, end))]."""
    out = [None] * n
    errors = []

    def one(i):
        try:
            with daemon.client() as c:
                c.initialize()
                r = c.call_tool("lean_run", lean_run_args(
                    project, f"-- @double sleep {sleep_secs}\n-- @double stamp\ndef c{i} := {i}"), timeout=LONG)
                assert not r.get("isError"), tool_body(r)
                out[i] = (runtime_facts(r), stamp_of(r))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(LONG)
    wall = time.monotonic() - t0
    assert not errors, errors
    return out, wall


def test_four_concurrent_calls_run_side_by_side(start_daemon, lean_project):
    daemon = start_daemon(env=pool_env(4))
    out, wall = concurrent_calls(daemon, lean_project, 4, 2)
    gens = {f["worker_generation"] for f, _ in out}
    pids = {s[0] for _, s in out}
    assert len(gens) == 4, out        # four workers, each its own generation
    assert len(pids) == 4, out        # ... and its own process
    starts = [s[1] for _, s in out]
    ends = [s[2] for _, s in out]
    # every call was inside the double while every other one was: they overlapped
    assert max(starts) < min(ends), out
    assert wall < 2 * 4, wall          # serial would be 8 s plus starts
    assert max(f["pool_workers"] for f, _ in out) >= 2


def test_max_workers_one_stays_serial(start_daemon, lean_project):
    daemon = start_daemon(env=pool_env(1))
    out, wall = concurrent_calls(daemon, lean_project, 3, 1)
    assert {f["worker_generation"] for f, _ in out} == {1}, out
    spans = sorted((s[1], s[2]) for _, s in out)
    for (s0, e0), (s1, e1) in zip(spans, spans[1:]):
        assert s1 >= e0, spans        # one after the other
    assert wall >= 3, wall


def test_memory_budget_that_fits_one_worker_keeps_one(start_daemon, lean_project):
    # room for one hard tier and a half: a second worker would not fit
    daemon = start_daemon(env=pool_env(4, memory_kib=HARD_KIB * 3 // 2))
    out, _ = concurrent_calls(daemon, lean_project, 3, 1)
    assert {f["worker_generation"] for f, _ in out} == {1}, out
    spans = sorted((s[1], s[2]) for _, s in out)
    for (s0, e0), (s1, e1) in zip(spans, spans[1:]):
        assert s1 >= e0, spans
    assert all(f["pool_workers"] == 1 for f, _ in out), out


def test_calls_go_to_the_worker_holding_their_imports(start_daemon, lean_project):
    daemon = start_daemon(env=pool_env(2, LEAN_DOUBLE_IMPORT_SECS=0.5))
    # two slow calls at once with different imports: one worker each
    first = {}

    def one(code, key):
        with daemon.client() as c:
            c.initialize()
            first[key] = runtime_facts(c.call_tool("lean_run", lean_run_args(lean_project, code), timeout=LONG))

    threads = [threading.Thread(target=one, args=("import Proj\n-- @double sleep 1\ndef a := 1", "proj")),
               threading.Thread(target=one, args=("-- @double sleep 1\ndef b := 2", "prelude"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(LONG)
    assert first["proj"]["worker_generation"] != first["prelude"]["worker_generation"], first
    # now one at a time, in the other order: each goes back to the worker holding its imports
    with daemon.client() as c:
        c.initialize()
        for _ in range(2):
            for key, code in (("prelude", "def c := 3"), ("proj", "import Proj\ndef d := 4")):
                t = time.monotonic()
                f = runtime_facts(c.call_tool("lean_run", lean_run_args(lean_project, code), timeout=LONG))
                assert f["worker_generation"] == first[key]["worker_generation"], (key, first, f)
                assert time.monotonic() - t < 0.5, key  # no import paid again
        assert status(c, lean_project)["profile_switch_count"] == 0


def status(c, project):
    return runtime_facts(c.call_tool("lean_project_status", {"project": str(project)}, timeout=LONG))


def wait_generation(c, project, gen, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        f = status(c, project)
        if f.get("worker_generation") == gen and f.get("worker_pid"):
            return f
        time.sleep(0.1)
    raise AssertionError(f"no warm worker of generation {gen}: {f}")


def test_after_a_timeout_kill_the_next_call_finds_a_warm_worker(start_daemon, lean_project):
    import_secs = 1.5
    daemon = start_daemon(env=pool_env(1, LEAN_HOST_MCP_REQUEST_TIMEOUT_MILLIS=4000,
                                       LEAN_DOUBLE_IMPORT_SECS=import_secs))
    with daemon.client() as c:
        c.initialize()
        first = runtime_facts(c.call_tool("lean_run", lean_run_args(lean_project, "import Proj\ndef a := 1"),
                                          timeout=LONG))
        r = c.call_tool("lean_run", lean_run_args(lean_project, "import Proj\n-- @double sleep 30\ndef b := 2"),
                        timeout=LONG)
        e = error_of(r)
        assert e and e["code"] == "timeout", tool_body(r)
        # the successor started at once and loads Proj before anybody asks
        warm = wait_generation(c, lean_project, first["worker_generation"] + 1)
        time.sleep(import_secs + 1)
        t = time.monotonic()
        r = c.call_tool("lean_run", lean_run_args(lean_project, "import Proj\ndef c := 3"), timeout=LONG)
        took = time.monotonic() - t
        assert not r.get("isError"), tool_body(r)
        f = runtime_facts(r)
    assert f["worker_generation"] == warm["worker_generation"], (warm, f)
    assert f["worker_pid"] == warm["worker_pid"], (warm, f)
    assert f["worker_restarted"] is False
    assert took < import_secs, took     # neither a start nor the import


def test_without_warm_successor_the_next_call_starts_the_worker(start_daemon, lean_project):
    daemon = start_daemon(env=pool_env(1, LEAN_HOST_MCP_REQUEST_TIMEOUT_MILLIS=2000,
                                       LEAN_HOST_MCP_PROJECT_WARM_SUCCESSOR="false"))
    with daemon.client() as c:
        c.initialize()
        runtime_facts(c.call_tool("lean_run", lean_run_args(lean_project, "import Proj\ndef a := 1"), timeout=LONG))
        r = c.call_tool("lean_run", lean_run_args(lean_project, "import Proj\n-- @double sleep 30\ndef b := 2"),
                        timeout=LONG)
        assert error_of(r)["code"] == "timeout"
        time.sleep(1.5)
        assert not status(c, lean_project).get("worker_pid")  # nobody started one


def test_mailbox_full_says_when_to_come_back(start_daemon, lean_project):
    daemon = start_daemon(env=pool_env(1, LEAN_HOST_MCP_PROJECT_MAILBOX_CAPACITY=2))
    with daemon.client() as c:
        c.initialize()
        # one call of ~1 s measured: the estimate's unit
        runtime_facts(c.call_tool("lean_run", lean_run_args(lean_project, "-- @double sleep 1\ndef a := 1"),
                                  timeout=LONG))
        ids = [c.call_tool_async("lean_run", lean_run_args(lean_project, f"-- @double sleep 1\ndef b{i} := {i}"))
               for i in range(4)]
        results = [c.wait_response(i, timeout=LONG)["result"] for i in ids]
    refused = [error_of(r) for r in results if r.get("isError")]
    assert len(refused) == 2, results
    for e in refused:
        assert e["code"] == "mailbox_full" and e["retryable"] is True, e
        # one running, one queued, at ~1 s each on one worker
        assert 1000 <= e["retry_after_ms"] <= 4000, e


def test_prewarm_imports_load_beside_the_first_call(start_daemon, lean_project):
    import_secs = 1.5
    daemon = start_daemon(env=pool_env(2, LEAN_HOST_MCP_PROJECT_PREWARM_IMPORTS="Proj",
                                       LEAN_DOUBLE_IMPORT_SECS=import_secs))
    with daemon.client() as c:
        c.initialize()
        first = runtime_facts(c.call_tool("lean_run", lean_run_args(lean_project, "def a := 1"), timeout=LONG))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            f = status(c, lean_project)
            if f["pool_workers"] == 2:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"no pre-warmed worker: {f}")
        time.sleep(import_secs + 1)  # its import, under way since it started
        t = time.monotonic()
        r = runtime_facts(c.call_tool("lean_run", lean_run_args(lean_project, "import Proj\ndef b := 2"),
                                      timeout=LONG))
        took = time.monotonic() - t
    assert r["worker_generation"] != first["worker_generation"], (first, r)
    assert r["import_profile"] == "Proj", r
    assert took < import_secs, took  # the import was paid before the call


def test_each_pool_worker_has_its_own_scope(user_manager, start_daemon, lean_project):
    import os
    from test_supervision import active_scopes

    env = pool_env(3, LEAN_HOST_MCP_ENFORCEMENT="scope",
                   DBUS_SESSION_BUS_ADDRESS=os.environ.get("DBUS_SESSION_BUS_ADDRESS", ""))
    daemon = start_daemon(env=env)
    out, _ = concurrent_calls(daemon, lean_project, 3, 1)
    units = {f["scope_unit"] for f, _ in out}
    gens = {f["worker_generation"] for f, _ in out}
    assert len(gens) == 3 and len(units) == 3, out
    for f, _ in out:
        assert f["enforcement"] == "scope" and f["scope_unit"].endswith(f"-{f['worker_generation']}.scope"), f
    live = active_scopes(user_manager)
    assert units <= set(live), (units, live)
    assert daemon.stop() == 0
    # every worker's scope went with it
    deadline = time.monotonic() + 30
    while [u for u in active_scopes(user_manager) if u in units]:
        assert time.monotonic() < deadline, active_scopes(user_manager)
        time.sleep(0.2)


def test_a_proof_state_goes_to_the_worker_that_holds_it(start_daemon, lean_project):
    daemon = start_daemon(env=pool_env(2))
    with daemon.client() as busy, daemon.client() as c:
        busy.initialize()
        c.initialize()
        # the first worker is busy: the attempt opens a second one
        rid = busy.call_tool_async("lean_run", lean_run_args(lean_project, "-- @double sleep 2\ndef slow := 1"))
        time.sleep(0.5)
        r = c.call_tool("lean_proof_attempt", {"project": str(lean_project), "statement": "1 = 1"}, timeout=LONG)
        assert not r.get("isError"), tool_body(r)
        a = tool_body(r)["result"]
        slow = runtime_facts(busy.wait_response(rid, timeout=LONG)["result"])
        assert a["worker_generation"] != slow["worker_generation"], (a, slow)
        # both free now; the first worker would come first, but the state lives on the second
        for _ in range(2):
            t = c.call_tool("lean_proof_attempt", {"project": str(lean_project), "proof_state": a["proof_states"][0],
                                                   "tactic": "rfl", "worker_generation": a["worker_generation"]},
                            timeout=LONG)
            assert not t.get("isError"), tool_body(t)
            assert tool_body(t)["result"]["worker_generation"] == a["worker_generation"], tool_body(t)
        # without worker_generation, a pool of two cannot know whose state it is: no guess
        t = c.call_tool("lean_proof_attempt", {"project": str(lean_project), "proof_state": a["proof_states"][0],
                                               "tactic": "rfl"}, timeout=LONG)
        e = error_of(t)
        assert t.get("isError") and e["code"] == "invalid_arguments", tool_body(t)
        assert "worker_generation is required" in e["message"] and "2 workers" in e["message"], e


def test_mailbox_grows_with_the_pool(start_daemon, lean_project):
    # project.mailbox_capacity counts per worker the pool may have: 2 x 4 take 8
    daemon = start_daemon(env=pool_env(4, LEAN_HOST_MCP_PROJECT_MAILBOX_CAPACITY=2))
    with daemon.client() as c:
        c.initialize()
        ids = [c.call_tool_async("lean_run", lean_run_args(lean_project, f"-- @double sleep 2\ndef b{i} := {i}"))
               for i in range(9)]
        results = [c.wait_response(i, timeout=LONG)["result"] for i in ids]
        f = status(c, lean_project)
    refused = [error_of(r) for r in results if r.get("isError")]
    assert len(refused) == 1, [tool_body(r) for r in results]
    assert refused[0]["code"] == "mailbox_full" and refused[0]["retry_after_ms"] > 0, refused
    assert "capacity 8 = 2 per worker" in refused[0]["message"], refused
    assert f["pool_max_workers"] == 4, f
    assert f["pool_memory_kib"] == 8 * HARD_KIB and f["pool_memory_source"] == "project.pool_memory_kib", f


def test_pool_memory_auto_names_its_source(start_daemon, lean_project):
    daemon = start_daemon(env=pool_env(4, LEAN_HOST_MCP_PROJECT_POOL_MEMORY_KIB=0))
    with open("/proc/meminfo") as m:
        memtotal = int(re.search(r"MemTotal:\s+(\d+) kB", m.read()).group(1))
    with daemon.client() as c:
        c.initialize()
        c.call_tool("lean_run", lean_run_args(lean_project, "def a := 1"), timeout=LONG)
        f = status(c, lean_project)
    # MemTotal, or the daemon's cgroup (process mode: the workers are its children) when lower
    assert 0 < f["pool_memory_kib"] <= memtotal, f
    assert f["pool_memory_source"] == "MemTotal" or f["pool_memory_source"].startswith("memory."), f
    assert f["pool_max_workers"] == min(4, f["pool_memory_kib"] // HARD_KIB), f


def test_slice_memory_max_bounds_the_pool(user_manager, start_daemon, lean_project):
    """MemoryMax= on the workers' slice (a drop-in through set-property)
    keeps the pool within it: room for two hard tiers, four calls at once.
    cgroup v2 with the memory controller only (the vm suite)."""
    import os

    try:
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            v2_memory = "memory" in f.read().split()
    except OSError:
        v2_memory = False
    if not v2_memory:
        import pytest
        pytest.skip("needs cgroup v2 with the memory controller at /sys/fs/cgroup (the vm suite)")
    slice_max = 2 * HARD_KIB + HARD_KIB // 2
    user_manager.systemctl("set-property", "--runtime", "lean-host.slice", f"MemoryMax={slice_max}K")
    try:
        env = pool_env(4, LEAN_HOST_MCP_ENFORCEMENT="scope", LEAN_HOST_MCP_PROJECT_POOL_MEMORY_KIB=0,
                       DBUS_SESSION_BUS_ADDRESS=os.environ.get("DBUS_SESSION_BUS_ADDRESS", ""))
        daemon = start_daemon(env=env)
        out, _ = concurrent_calls(daemon, lean_project, 4, 2)
        gens = {f["worker_generation"] for f, _ in out}
        assert len(gens) <= 2, out
        assert all(f["pool_workers"] <= 2 for f, _ in out), out
        with daemon.client() as c:
            c.initialize()
            f = status(c, lean_project)
        assert f["pool_memory_kib"] == slice_max, f
        assert f["pool_memory_source"].startswith("memory.max of ") and \
            f["pool_memory_source"].endswith("/lean-host.slice"), f
        assert f["pool_max_workers"] == 2, f
    finally:
        user_manager.systemctl("set-property", "--runtime", "lean-host.slice", "MemoryMax=infinity", check=False)


def test_project_facts_of_a_pool_name_no_single_worker(start_daemon, lean_project):
    daemon = start_daemon(env=pool_env(2))
    out, _ = concurrent_calls(daemon, lean_project, 2, 1)
    # each call's facts are its own worker's
    assert len({f["worker_generation"] for f, _ in out}) == 2, out
    for f, (pid, _, _) in out:
        assert f["worker_pid"] == pid, (f, pid)  # the double's own pid (process mode: the worker is the double)
    with daemon.client() as c:
        c.initialize()
        f = status(c, lean_project)
    # two live workers: the project's facts are the pool's, no one worker's
    assert f["pool_workers"] == 2, f
    assert f["worker_generation"] == 0 and f["worker_pid"] is None and f["scope_unit"] is None, f
    assert f["import_profile"] is None, f


def test_a_queued_call_is_answered_at_its_deadline(start_daemon, lean_project):
    """project.request_timeout_millis covers the wait in the mailbox too: a
    call still queued at its deadline is answered timeout (queued, never
    ran, nothing killed); a call that starts late still gets the whole
    deadline for its own run."""
    daemon = start_daemon(env=pool_env(1, LEAN_HOST_MCP_REQUEST_TIMEOUT_MILLIS=2500))
    with daemon.client() as c:
        c.initialize()
        first = runtime_facts(c.call_tool("lean_run", lean_run_args(lean_project, "def a := 1"), timeout=LONG))
        t0 = time.monotonic()
        ids = [c.call_tool_async("lean_run", lean_run_args(lean_project, f"-- @double sleep 1.5\ndef b{i} := {i}"))
               for i in range(2)]
        late = c.call_tool_async("lean_run", lean_run_args(lean_project, "def c := 3"))
        r = c.wait_response(late, timeout=LONG)["result"]
        took = time.monotonic() - t0
        e = error_of(r)
        assert e and e["code"] == "timeout" and e["retryable"] is True, tool_body(r)
        assert e["queued"] is True and e["queue_wait_ms"] >= 2500 and e["ahead"] >= 1, e
        assert e["retry_after_ms"] > 0, e
        assert 2.5 <= took < 3.0, took  # at its deadline, not once the two ahead finished
        done = [c.wait_response(i, timeout=LONG)["result"] for i in ids]
        # the second started ~1.5 s after it was queued and ran 1.5 s: its own deadline, not killed
        assert time.monotonic() - t0 >= 3.0
        for d in done:
            assert not d.get("isError"), tool_body(d)
            assert runtime_facts(d)["worker_generation"] == first["worker_generation"], runtime_facts(d)
        f = status(c, lean_project)
    assert f["restarts_total"] == 0 and f["worker_generation"] == first["worker_generation"], f
