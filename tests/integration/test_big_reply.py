# SPDX-License-Identifier: LGPL-2.1-or-later
"""A huge REPL reply never stalls the event loop, its memory goes back, and
one over worker.max_reply_bytes is the input's fault (reply_too_large: not
retryable, not retried, not counted toward the restart limit).

The latency bound here is generous (a loaded 2-core CI machine); the
measured numbers are in bench/ (`lean-host-bench.py big-reply`)."""

import importlib.util
import os
import time

from conftest import binary, error_of, lean_run_args, tool_body

MIB = 1 << 20


def bench_module():
    path = os.path.join(os.environ["SOURCE_ROOT"], "bench", "lean-host-bench.py")
    spec = importlib.util.spec_from_file_location("lean_host_bench", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_ok(client, project, code="def x := 1"):
    result = client.call_tool("lean_run", lean_run_args(project, code), timeout=60)
    assert not result.get("isError"), result
    return result


def sanitized():
    with open(binary("LEAN_HOSTD"), "rb") as f:
        return b"__asan_init" in f.read()


def status_of(pid):
    def status(key):
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0
    return status


def test_150k_messages_do_not_stall_pings_and_memory_goes_back(start_daemon, lean_project):
    # 150k messages of the double's pretty-printed shape are 23.4 MB: just
    # under a 24 MiB limit
    # the double (Python) needs about 300 MB to build such a reply
    # MALLOC_PERTURB_ (meson sets a random one for every test) makes glibc
    # write every freed chunk; once the daemon has run a thread (the file
    # look-ups of a call), malloc_trim() then gave back none or part of the
    # pages (150-446 MB kept in 6 of 6 runs, 0 of 6 without it): the daemon
    # runs here as it does for users, without it
    d = start_daemon(env={"MALLOC_PERTURB_": "0",
                          "LEAN_HOST_MCP_WORKER_MAX_REPLY_BYTES": 24 * MIB,
                          "LEAN_HOST_MCP_IMPORT_SWITCH_RSS_SOFT_KIB": 2 * MIB,
                          "LEAN_HOST_MCP_WORKER_RSS_POST_JOB_RESTART_KIB": 2 * MIB,
                          "LEAN_HOST_MCP_WORKER_RSS_HARD_KILL_KIB": 4 * MIB})
    r = bench_module().ping_during_big_reply(d.sock, str(lean_project), 150000, status_of(d.pid), settle=4.0)
    res = r["response"]["result"]
    body = tool_body(res)
    assert error_of(res) is None, body
    assert body["truncated"] is True and body["messages_total"] == 150000
    assert body["messages_returned"] == 200
    worst_ms = max(r["pings"]) * 1e3
    # before: bounding the 150k messages took one step of 20-90 ms, and the
    # dropped ones were never freed (a one-shot defer source); freed in
    # slices by an always-pending default-priority source, pings waited
    # 0.4-0.8 s. Now 20-120 ms worst at load 4-10 on 2 cores, nearly all of it
    # CPU scheduling (an idle loop: under 1 ms). Generous for loaded CI.
    assert worst_ms < 250, f"worst ping {worst_ms:.0f} ms (p50 {sorted(r['pings'])[len(r['pings']) // 2] * 1e3:.1f} ms)"
    assert len(r["pings"]) > 100
    if not sanitized():  # ASan's allocator keeps what it frees (quarantine)
        # before: 450 MB stayed; now back to about the baseline. The release
        # runs in idle slices: on a loaded machine it can take longer than
        # the bench's settle time, so wait for it (bounded).
        rss = r["rss_after"]
        deadline = time.monotonic() + 60
        while rss >= r["rss_before"] + 50 * 1024 and time.monotonic() < deadline:
            time.sleep(0.5)
            rss = status_of(d.pid)("VmRSS")
        assert rss < r["rss_before"] + 50 * 1024, dict(r, rss_final=rss)
    assert d.alive()


def test_oversized_reply_is_reply_too_large_not_retried_not_counted(start_daemon, lean_project):
    d = start_daemon(env={"LEAN_HOST_MCP_WORKER_MAX_REPLY_BYTES": 65536,
                          "LEAN_HOST_MCP_WORKER_RESTART_LIMIT": 2})
    code = "def x := 1\n-- @double errors 2000 message\n"  # about 300 KB
    with d.client() as c:
        c.initialize()
        # more oversized replies than the restart limit allows crashes
        for _ in range(4):
            result = c.call_tool("lean_run", lean_run_args(lean_project, code), timeout=60)
            err = error_of(result)
            assert err is not None, tool_body(result)
            assert err["code"] == "reply_too_large", err
            assert err["retryable"] is False, err
            assert err.get("restart_cause") == "reply_too_large", err
            assert "65536" in err["message"] and "worker.max_reply_bytes" in err["message"], err
            assert "LEAN_HOST_MCP_WORKER_MAX_REPLY_BYTES" in err["message"], err
        # never charged: a normal call is still served, by a fresh worker
        run_ok(c, lean_project)
    log = d.log()
    assert "retrying it once" not in log, log[-3000:]
    assert "poison" not in log.lower(), log[-3000:]
    assert d.alive()
