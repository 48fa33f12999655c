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
    assert "| consistent | 10 % |" in a and "lean-host before pools" in a and "DESIGN" not in a


def test_cost_model_figures():
    assert abs(lc.MATHLIB_IMPORT_S - 1.49) < 1e-9
    assert lc.kimina_pool_size(16) == 15
    # default tiers: 128 GB / 5 GiB
    assert lc.LeanHostConfig().max_workers(128.0) == 23
    # project.max_workers 0 = min(4, CPUs − 1)
    assert lc.LeanHostConfig().project_workers(16) == 4
    assert lc.LeanHostConfig().project_workers(3) == 2
    assert lc.LeanHostConfig().project_workers(1) == 1
    assert lc.BEFORE_POOLS.project_workers(16) == 1


def test_throughput_ordering():
    before, pool, tuned, kim = throughput.run(n=200, seed=3)
    assert before.name.startswith("lean-host before pools") and kim.name.startswith("Kimina")
    assert before.answered == pool.answered == tuned.answered == kim.answered == 200
    rate = {r: r.answered / r.makespan for r in (before, pool, tuned, kim)}
    # one serial worker cannot beat a pool of 15 on 15 agents
    assert rate[before] < rate[kim] / 5
    # the default pool (4 lanes) runs about 4 jobs at once; 15 lanes about as many as Kimina
    assert 3 * rate[before] < rate[pool] < 5 * rate[before]
    assert rate[pool] * 2.5 < rate[tuned]
    assert rate[tuned] > 0.9 * rate[kim]
    # 8 calls (running + queued) per worker the pool may have: one worker's 8
    # refuse 15 agents; a pool of 4 takes 32, a pool of 15 with 2 each 30
    assert before.refused > 0 and pool.refused == 0 and tuned.refused == 0 and kim.refused == 0
    # page-cache sharing: node memory below the sum of RSS for a pool
    assert kim.peak_gb < kim.peak_rss_sum_gb
    assert pool.peak_gb < pool.peak_rss_sum_gb
    assert before.peak_gb < pool.peak_gb < tuned.peak_gb


def test_pool_rules():
    """The pool's rules on hand-made calls: growth, affinity, the budget, the successor."""
    import random
    import model

    def node(cfg, cores=16, mem=128.0):
        sim = model.Sim()
        return sim, model.Node(sim, "n", cores, mem, model.Stats(), random.Random(0), cfg=cfg)

    # four calls at once: four lanes (the default pool), the fifth waits in the mailbox
    sim, nd = node(lc.LeanHostConfig())
    for _ in range(5):
        assert nd.submit(model.Call(0, 0, 0.0, work=10.0))
    assert len(nd.lanes) == 4 and sum(1 for l in nd.lanes if l.current) == 4
    assert len(nd.actors[0].mailbox) == 1
    # the mailbox counts running + queued: 8 per lane the pool may have, 32 in all
    for _ in range(27):
        assert nd.submit(model.Call(0, 0, 0.0, work=10.0))
    assert not nd.submit(model.Call(0, 0, 0.0, work=10.0))
    sim.run(until=100.0)
    assert nd.stats.answered == 32 and nd.stats.spawns == 4 and nd.stats.warm == 28
    # a later call of the same header finds a free lane that holds it: warm
    assert nd.submit(model.Call(0, 0, sim.now, work=1.0))
    sim.run(until=200.0)
    assert nd.stats.warm == 29 and nd.stats.spawns == 4
    # idle for worker.idle_secs: every worker ends, without a successor
    sim.run()
    assert nd.stats.recycles == {"idle": 4} and nd.workers_active == 0

    # the pool budget: hard tiers of 16 GiB within 40 GiB let only 2 grow
    sim, nd = node(lc.LeanHostConfig(pool_memory_gb=40 * lc.GIB))
    for _ in range(4):
        nd.submit(model.Call(0, 0, 0.0, work=10.0))
    assert sum(1 for l in nd.lanes if l.current) == 2

    # the machine-wide cap: 2 slots (a budget for the pool set, as MemTotal 11 GiB fits one hard tier), a second project's lane waits, then evicts the idle one
    sim, nd = node(lc.LeanHostConfig(pool_memory_gb=64 * lc.GIB), mem=11.0 * lc.GIB)
    assert nd.max_workers == 2
    for _ in range(2):
        nd.submit(model.Call(0, 0, 0.0, work=10.0))
    nd.submit(model.Call(1, 0, 0.0, work=10.0))
    assert nd.workers_active == 2 and not any(l.worker for l in nd.actors[1].lanes)
    sim.run()
    assert nd.stats.answered == 3 and nd.stats.recycles.get("evicted") == 1

    # max_requests: the successor is warm before the next call asks
    sim, nd = node(lc.LeanHostConfig(max_requests=2))
    for i in range(2):
        nd.submit(model.Call(0, 1, sim.now, work=1.0))
        sim.run(until=sim.now + 30.0)
    assert nd.stats.recycles == {"max_requests": 1}
    l = nd.lanes[0]
    assert l.worker is not None and 1 in l.worker.profiles and not l.warming
    nd.submit(model.Call(0, 1, sim.now, work=1.0))
    sim.run(until=sim.now + 30.0)
    assert nd.stats.warm == 2 and nd.stats.spawns == 2
    # ... and before pools there is none: a cold start
    sim, nd = node(lc.BEFORE_POOLS.__class__(max_requests=2, project_max_workers=1, warm_successor=False))
    for i in range(3):
        nd.submit(model.Call(0, 1, sim.now, work=1.0))
        sim.run(until=sim.now + 30.0)
    assert nd.stats.warm == 1 and nd.stats.spawns == 2


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
    # pools: a hot project runs on several lanes, so consistent hashing refuses
    # fewer calls than the serial worker did, at about the same warm-hit rate
    b = scale.run("consistent", scale.Params(cfg=lc.BEFORE_POOLS, **QUICK))
    assert c["mailbox_full"] < b["mailbox_full"] / 5
    assert c["latency_sum"] / c["answered"] < b["latency_sum"] / b["answered"]


def test_ring_join_bounded():
    moved = scale.ring_join_moved(nodes=20, projects=4000)
    assert 0.5 / 21 < moved < 2.0 / 21
