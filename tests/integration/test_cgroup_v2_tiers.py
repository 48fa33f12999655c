# SPDX-License-Identifier: LGPL-2.1-or-later
"""The memory tiers on a real cgroup v2 platform (systemd PID 1, a user in a
PAM login session with its user manager): run by tests/vm/run-vm-tests in a
Debian 12 and 13 guest as uid 1000, with and without swap. Skipped anywhere
else (these machines are cgroup v1; the with-user-systemd sandbox too).

Tiers of conftest.base_env: import-switch 64 MiB, post-job 128 MiB, hard
256 MiB, sampled every 50 ms; workers in scope mode (MemoryMax = hard,
MemorySwapMax = 0, no MemoryHigh)."""

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import IN_USER_MANAGER, binary, error_of, restart_causes, tool_body
from test_supervision import assert_ok, run, scope_env

KIB = 1024
POST_JOB_MIB, HARD_MIB = 128, 256


def _pure_cgroup_v2():
    try:
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            return "memory" in f.read().split() and not os.path.isdir("/sys/fs/cgroup/memory")
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not (IN_USER_MANAGER and _pure_cgroup_v2()),
                                reason="needs pure cgroup v2 with a real user manager (tests/vm/run-vm-tests)")


def swap_on():
    with open("/proc/swaps") as f:
        return len([line for line in f.read().splitlines()[1:] if line.strip()]) > 0


def scope_cgroup(facts):
    """The worker's cgroup directory (lean-host.slice nests as lean.slice/lean-host.slice)."""
    with open(f"/proc/{facts['worker_pid']}/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                path = "/sys/fs/cgroup" + line.strip()[3:]
                assert path.endswith("/" + facts["scope_unit"]), (path, facts)
                return path
    raise AssertionError(f"no cgroup v2 line for worker {facts['worker_pid']}")


def read_stat(cg, key):
    try:
        with open(os.path.join(cg, "memory.stat")) as f:
            for line in f:
                k, v = line.split()
                if k == key:
                    return int(v)
    except (OSError, ValueError):
        pass
    return None


def pid_dead(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


class Crossing(threading.Thread):
    """Polls a scope's anon + swap; remembers when it came near the hard tier
    and when the worker died. Near: 80 %, since a poll can miss the last
    megabytes before the kill; the kill time measured from there is an upper
    bound of the time from the crossing."""

    def __init__(self, cg, mib, pid):
        super().__init__(daemon=True)
        self.cg, self.limit, self.pid = cg, mib << 20, pid
        self.at, self.dead_at, self.peak, self.stop = None, None, 0, False

    def run(self):
        while not self.stop:
            if self.dead_at is None and pid_dead(self.pid):
                self.dead_at = time.monotonic()
            anon = read_stat(self.cg, "anon")
            if anon is not None:
                try:
                    with open(os.path.join(self.cg, "memory.swap.current")) as f:
                        anon += int(f.read())
                except (OSError, ValueError):
                    pass
                self.peak = max(self.peak, anon)
                if self.at is None and anon >= self.limit * 0.8:
                    self.at = time.monotonic()
            time.sleep(0.02)


@pytest.fixture
def v2_daemon(user_manager, start_daemon):
    # a throttled job would end as `timeout` well before the test's own waits
    env = dict(scope_env(), LEAN_HOST_MCP_REQUEST_TIMEOUT_MILLIS="90000")
    return start_daemon(env=env)


def test_kernel_facts_in_results(v2_daemon, lean_project):
    with v2_daemon.client() as c:
        c.initialize()
        f = assert_ok(run(c, lean_project, "-- @double alloc 20\ndef x := 1"))
        f = assert_ok(run(c, lean_project, "def y := 1"))  # a sample after the first job
        assert f["enforcement"] == "scope", f
        ev = f["memory_events"]
        assert set(ev) >= {"high", "max", "oom_kill"} and all(isinstance(v, int) for v in ev.values()), f
        assert ev["high"] == 0 and ev["oom_kill"] == 0, f
        assert isinstance(f["swap_kib"], int) and f["swap_kib"] == 0, f
        psi = f["memory_pressure"]
        assert isinstance(psi["some_avg10"], (int, float)) and 0 <= psi["some_avg10"] <= 100, f
        assert isinstance(psi["full_avg10"], (int, float)), f
        # the anon the facts report is the scope's memory.stat anon (same sample, within a few MiB)
        anon = read_stat(scope_cgroup(f), "anon")
        assert anon is not None and abs(anon // KIB - f["anon_kib"]) < 16 * KIB, (anon, f)
        # the same facts on D-Bus, through lean-hostctl
        r = subprocess.run([binary("LEAN_HOSTCTL"), "--json", "facts", str(lean_project)], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        j = json.loads(r.stdout)
        assert j["memory_events_oom_kill"] == 0 and isinstance(j["memory_events_high"], int), j
        assert j["swap_kib"] == 0 and isinstance(j["memory_pressure_some_avg10"], (int, float)), j


def test_job_between_tiers_runs_full_speed_then_post_job_recycle(v2_daemon, lean_project):
    """Item 1: post-job < job < hard finishes unthrottled, then a planned recycle."""
    with v2_daemon.client() as c:
        c.initialize()
        f0 = assert_ok(run(c, lean_project, "def warm := 0"))
        t0 = time.monotonic()
        r1 = run(c, lean_project, "-- @double alloc 180\ndef big := 1")
        took = time.monotonic() - t0
        f1 = assert_ok(r1)
        print(f"180 MiB job (post-job {POST_JOB_MIB}, hard {HARD_MIB} MiB, swap {'on' if swap_on() else 'off'}): "
              f"{took:.2f} s")
        assert "timeout" not in restart_causes(r1)
        # throttled at MemoryHigh it crawled at ~1 MiB/s; unthrottled it is seconds even under TCG
        assert took < 30, f"a 180 MiB job took {took:.1f} s: throttled?"
        f2 = assert_ok(run(c, lean_project, "def small := 1"))
        assert f2["worker_generation"] > f0["worker_generation"], (f1, f2)
        assert f2["last_restart"]["cause"] == "rss_post_job", f2
        assert f2["last_restart"]["planned"] is True
        assert f2["last_restart"]["rss_kib"] >= 170 * KIB, f2["last_restart"]
        assert f2["restarts_by_cause"].get("timeout", 0) == 0


@pytest.mark.parametrize("sample_millis", ["50", "5000"], ids=["sampler", "kernel-only"])
def test_job_over_hard_tier_killed_promptly(user_manager, start_daemon, lean_project, sample_millis):
    """Item 2 (and 3 with swap): crossing the hard tier ends in a kill within
    5 s, reported as rss_hard_limit_exceeded, never a timeout. kernel-only:
    the sampler is too slow to matter, MemoryMax alone must do it."""
    env = dict(scope_env(), LEAN_HOST_MCP_REQUEST_TIMEOUT_MILLIS="90000",
               LEAN_HOST_MCP_WORKER_RSS_SAMPLE_MILLIS=sample_millis)
    d = start_daemon(env=env)
    with d.client() as c:
        c.initialize()
        f0 = assert_ok(run(c, lean_project, "def warm := 0"))
        watch = Crossing(scope_cgroup(f0), HARD_MIB, f0["worker_pid"])
        watch.start()
        r = run(c, lean_project, "-- @double alloc 400\n-- @double sleep 60\ndef huge := 1")
        done = time.monotonic()
        watch.stop = True
        watch.join()
        if watch.dead_at is None and pid_dead(watch.pid):
            # died between the watcher's last poll and the answer: the answer
            # time is an upper bound of the death
            watch.dead_at = done
        causes = restart_causes(r)
        assert "rss_hard_limit_exceeded" in causes, tool_body(r)
        assert "timeout" not in causes and (error_of(r) or {}).get("code") != "timeout", tool_body(r)
        assert watch.at is not None, f"never saw the scope near the hard tier (peak {watch.peak >> 20} MiB)"
        assert watch.dead_at is not None, "the worker did not die"
        print(f"over the hard tier ({sample_millis} ms sampling, swap {'on' if swap_on() else 'off'}): "
              f"killed {watch.dead_at - watch.at:.2f} s and answered {done - watch.at:.2f} s after reaching 80 % "
              f"of the hard tier, peak anon+swap {watch.peak >> 20} MiB")
        assert watch.dead_at - watch.at <= 5, f"killed {watch.dead_at - watch.at:.1f} s after reaching 80 % of the hard tier"
        # the answer follows the kill (reap, classification, scope stop) promptly too
        assert done - watch.dead_at <= 10, f"answered {done - watch.dead_at:.1f} s after the kill"
        # swap could not carry it past the hard tier (no swap in the scope at all)
        assert watch.peak <= (HARD_MIB + 8) << 20, f"anon+swap peaked at {watch.peak >> 20} MiB"
        f2 = assert_ok(run(c, lean_project, "def after := 1"))
        assert f2["restarts_by_cause"].get("rss_hard_limit_exceeded", 0) >= 1
        assert f2["restarts_by_cause"].get("timeout", 0) == 0


def test_swap_never_used_by_workers(v2_daemon, lean_project, user_manager):
    """Item 3: the scope has MemorySwapMax=0; with a swapfile, a job near the
    hard tier stays in RAM and the tiers see all of it."""
    with v2_daemon.client() as c:
        c.initialize()
        f = assert_ok(run(c, lean_project, "-- @double alloc 120\ndef x := 1"))
        assert user_manager.show(f["scope_unit"], "MemorySwapMax")["MemorySwapMax"] == "0"
        with open(os.path.join(scope_cgroup(f), "memory.swap.max")) as fh:
            assert fh.read().strip() == "0"
        f = assert_ok(run(c, lean_project, "def y := 1"))
        assert f["swap_kib"] == 0, f
        assert f["anon_kib"] >= 110 * KIB, f  # all of it in RAM, seen by the tiers


@pytest.fixture
def disk_dir():
    """A directory on a disk file system: /tmp is a tmpfs on Debian 13, whose
    pages stay charged to the writer and cannot be dropped from the cache."""
    d = tempfile.mkdtemp(dir="/var/tmp", prefix="lean-host-test-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_page_cache_not_throttled_nor_counted(v2_daemon, lean_project, disk_dir):
    """Item 4: a mapped file bigger than the post-job tier (like .olean
    files) is read from the page cache after the first pass, is not
    throttled, and never triggers a post-job recycle."""
    path = os.path.join(disk_dir, "big.olean")
    with open(path, "wb") as f:
        for _ in range(POST_JOB_MIB + 72):
            f.write(os.urandom(1 << 20))
        f.flush()
        os.fsync(f.fileno())
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)  # charged to the worker's scope
    with v2_daemon.client() as c:
        c.initialize()
        f0 = assert_ok(run(c, lean_project, "def warm := 0"))
        times = []
        for i in range(3):
            t0 = time.monotonic()
            f = assert_ok(run(c, lean_project, f"-- @double mapfile {path}\ndef m{i} := 1"))
            times.append(time.monotonic() - t0)
        f = assert_ok(run(c, lean_project, "def after := 1"))
        print(f"mapped {POST_JOB_MIB + 72} MiB file, call times {['%.2f' % t for t in times]}, "
              f"rss {f['rss_kib']} KiB anon {f['anon_kib']} KiB events {f['memory_events']}")
        assert f["worker_generation"] == f0["worker_generation"], "page cache caused a recycle"
        assert f["restarts_by_cause"].get("rss_post_job", 0) == 0
        assert f["rss_kib"] > POST_JOB_MIB * KIB, f  # the cache is charged to the scope ...
        assert f["anon_kib"] < 64 * KIB, f           # ... but the tiers judge anon
        assert f["memory_events"]["high"] == 0, f
        # passes 2 and 3 hit the cache: not re-read from disk on every pass
        assert max(times[1:]) <= max(2.0, 0.6 * times[0]), times
