# SPDX-License-Identifier: LGPL-2.1-or-later
"""The scale simulation's own checks: deterministic, and the properties the
README's tables rest on hold on a small run."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import leancost as lc  # noqa: E402
import scale  # noqa: E402
import throughput  # noqa: E402

SIM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sim.py")
QUICK = dict(nodes=10, projects=1000, rate=5.0, warmup_s=600.0, window_s=1200.0)


def test_deterministic():
    a = subprocess.run(["/usr/bin/python3", SIM, "all", "--quick"], capture_output=True, text=True, check=True).stdout
    b = subprocess.run(["/usr/bin/python3", SIM, "all", "--quick"], capture_output=True, text=True, check=True).stdout
    assert a == b
    assert "| consistent | 10 % |" in a and "DESIGN, NOT BUILT" in a


def test_cost_model_figures():
    assert abs(lc.MATHLIB_IMPORT_S - 1.49) < 1e-9
    assert lc.kimina_pool_size(16) == 15
    # default tiers: 128 GB / 5 GiB
    assert lc.LeanHostConfig().max_workers(128.0) == 23


def test_throughput_ordering():
    res = {r.name.split()[0]: r for r in throughput.run(n=200, seed=3)}
    lh, kim, des = res["lean-host"], res["Kimina-style"], res["DESIGN,"]
    assert lh.answered == kim.answered == des.answered == 200
    # one serial worker cannot beat a pool of 15 on 15 agents
    assert lh.answered / lh.makespan < kim.answered / kim.makespan / 5
    assert lh.refused > 0 and kim.refused == 0
    # import affinity imports less than exact-header LRU
    assert des.imports < kim.imports
    # page-cache sharing: node memory below the sum of RSS for a pool
    assert kim.peak_gb < kim.peak_rss_sum_gb


def test_routing_properties():
    c = scale.run("consistent", scale.Params(**QUICK))
    r = scale.run("random", scale.Params(**QUICK))
    assert c["warm"] / c["answered"] > r["warm"] / r["answered"] + 0.15
    assert c["imports"] < r["imports"]
    assert c["failed_retryable"] == 0
    cf = scale.run("consistent", scale.Params(fail_share=0.1, **QUICK))
    assert cf["failed_retryable"] > 0
    # every node stays under its memory
    assert c["peak_node_gb_max"] <= 128.0


def test_ring_join_bounded():
    moved = scale.ring_join_moved(nodes=20, projects=4000)
    assert 0.5 / 21 < moved < 2.0 / 21
