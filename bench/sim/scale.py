# SPDX-License-Identifier: LGPL-2.1-or-later
"""Many nodes: N lean-hostd nodes (model.Node: per-project pools, lean-host's
defaults, or `cfg`, e.g. leancost.BEFORE_POOLS) behind a
router, P projects with a Zipf call distribution (open loop, Poisson
arrivals), three routing policies:

* consistent: a hash ring (vnodes per node) on the project, as HAProxy's
  `balance hdr(Lean-Project)` + `hash-type consistent` does; a dead node's
  projects move to the next node on the ring;
* random: any live node;
* leastconn: the live node with the fewest calls in flight (ties: random).

A failure scenario kills a share of the nodes at the start of the measured
window; their calls in flight get a retryable error and the client sends
each once more (through the router).
"""

import bisect
import hashlib
import random

import leancost as lc
import model


def _h(s):
    return int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "big")


class Ring:
    def __init__(self, names, vnodes=100):
        self.points = sorted((_h(f"{n}#{v}"), n) for n in names for v in range(vnodes))
        self.keys = [p[0] for p in self.points]

    def lookup(self, key, alive=None):
        i = bisect.bisect(self.keys, _h(key))
        for k in range(len(self.points)):
            n = self.points[(i + k) % len(self.points)][1]
            if alive is None or alive(n):
                return n
        return None


def ring_join_moved(nodes=100, projects=10000, vnodes=100):
    """Share of projects that move when one node joins a ring of `nodes`."""
    names = [f"n{i}" for i in range(nodes)]
    before = Ring(names, vnodes)
    after = Ring(names + [f"n{nodes}"], vnodes)
    moved = sum(1 for p in range(projects) if before.lookup(f"p{p}") != after.lookup(f"p{p}"))
    return moved / projects


class Params:
    def __init__(self, nodes=100, projects=10000, zipf_s=1.0, rate=50.0, cores=16, mem_gb=128.0,
                 warmup_s=1800.0, window_s=3600.0, fail_share=0.0, other_header=0.1, seed=1, cfg=None):
        self.__dict__.update(locals())
        del self.__dict__["self"]


def run(policy, prm):
    rng = random.Random(prm.seed)
    sim = model.Sim()
    stats = model.Stats()
    names = [f"n{i}" for i in range(prm.nodes)]
    t0 = prm.warmup_s
    cfg = prm.cfg or lc.LeanHostConfig()
    nodes = {n: model.Node(sim, n, prm.cores, prm.mem_gb, stats, random.Random(_h(n) ^ prm.seed), cfg=cfg,
                           measure_from=t0)
             for n in names}
    ring = Ring(names)

    # project popularity: Zipf over a random permutation; each project's main header
    weights = [1.0 / (k + 1) ** prm.zipf_s for k in range(prm.projects)]
    order = list(range(prm.projects))
    rng.shuffle(order)
    prj_weight = [0.0] * prm.projects
    for rank, p in enumerate(order):
        prj_weight[p] = weights[rank]
    cum = list(_accumulate(prj_weight))
    main_header = [lc.pick_header(rng) for _ in range(prm.projects)]
    route_rng = random.Random(prm.seed + 1)
    alive_names = list(names)
    snap = {}

    def route(project):
        if policy == "consistent":
            return nodes[ring.lookup(f"p{project}", lambda n: nodes[n].alive)]
        if policy == "random":
            return nodes[route_rng.choice(alive_names)]
        best = None
        for n in alive_names:
            nd = nodes[n]
            if best is None or nd.inflight < best[0].inflight:
                best = [nd, 1]
            elif nd.inflight == best[0].inflight:
                best[1] += 1
                if route_rng.random() < 1.0 / best[1]:
                    best[0] = nd
        return best[0]

    def arrive():
        p = bisect.bisect(cum, rng.random() * cum[-1])
        hi = main_header[p] if rng.random() >= prm.other_header else lc.pick_header(rng)
        route(p).submit(model.Call(p, hi, sim.now))
        sim.after(rng.expovariate(prm.rate), arrive)

    def start_window():
        snap.update(vars(stats).copy())
        snap["recycles"] = dict(stats.recycles)
        if prm.fail_share > 0:
            dead = route_rng.sample(names, int(round(prm.fail_share * prm.nodes)))
            lost = []
            for n in dead:
                lost.extend(nodes[n].fail())
                alive_names.remove(n)
            # in flight on a dead node: retryable error, the client sends it once more
            for call in lost:
                route(call.project).submit(model.Call(call.project, call.header, sim.now))

    sim.after(0, arrive)
    sim.at(t0, start_window)
    sim.run(until=t0 + prm.window_s)

    d = {k: getattr(stats, k) - snap.get(k, 0) for k in
         ("calls", "answered", "warm", "imports", "spawns", "mailbox_full", "timeouts", "latency_sum")}
    d["failed_retryable"] = stats.failed_retryable
    live = [nodes[n] for n in alive_names]
    d["peak_node_gb_max"] = max(nd.peak_gb for nd in live)
    d["peak_node_gb_mean"] = sum(nd.peak_gb for nd in live) / len(live)
    d["hours"] = prm.window_s / 3600.0
    return d


def _accumulate(xs):
    s = 0.0
    for x in xs:
        s += x
        yield s


HEAD = ("routing", "nodes failed", "warm-hit rate", "imports/hour", "peak memory/node GB (mean / max)",
        "refused mailbox_full", "timeouts", "retryable errors (node death)", "mean latency s")


def row(policy, fail, d):
    return (policy, fail, f"{100 * d['warm'] / max(1, d['answered']):.1f} %", f"{d['imports'] / d['hours']:.0f}",
            f"{d['peak_node_gb_mean']:.0f} / {d['peak_node_gb_max']:.0f}", str(d["mailbox_full"]), str(d["timeouts"]),
            str(d["failed_retryable"]), f"{d['latency_sum'] / max(1, d['answered']):.1f}")
