# SPDX-License-Identifier: LGPL-2.1-or-later
"""Many agents, one project, one machine: 1,000 proofs over a handful of
import headers, driven by closed-loop agents (each sends its next proof when
the last one is answered), through three schedulers on the same trace:

* lean-host before pools: one worker for the project, one job at a time
  (model.Node with project.max_workers 1, no warm successor);
* lean-host (model.Node, defaults): the project's pool of
  project.max_workers = min(4, CPU − 1) lanes routed by imports, a mailbox
  of 8 per lane counting running + queued calls, warm successors;
* lean-host configured for one busy project: project.max_workers = CPU − 1,
  project.pool_memory_kib large enough for them (the default MemTotal lets
  only MemTotal / 16 GiB hard tier = 7 grow), a mailbox of 2 per worker;
* a Kimina-style pool: CPU − 1 REPLs, each bound to one exact header, an idle
  REPL with the header is reused, else the least recently used idle one is
  replaced (spawn + import); Kimina's own recycling of REPLs (by use count
  or memory) is not modelled, so its REPLs only grow.
"""

import random
from collections import deque

import leancost as lc
import model


class Trace:
    def __init__(self, n, seed, headers=lc.HEADERS):
        rng = random.Random(seed)
        self.items = [(lc.pick_header(rng, headers), lc.proof_seconds(rng)) for _ in range(n)]


class Result:
    def __init__(self, name):
        self.name = name
        self.makespan = 0.0
        self.answered = 0
        self.warm = 0
        self.imports = 0
        self.peak_gb = 0.0
        self.peak_rss_sum_gb = 0.0
        self.refused = 0
        self.recycles = 0

    def row(self):
        return (self.name, f"{self.answered / self.makespan:.2f}", f"{100 * self.warm / self.answered:.1f} %",
                str(self.imports), f"{self.peak_gb:.1f}", f"{self.peak_rss_sum_gb:.1f}", str(self.refused),
                str(self.recycles))


HEAD = ("scheduler", "proofs/s", "warm hits", "imports", "peak memory GB", "peak Σ RSS GB", "refused (retried)",
        "recycles")


def run_leanhost(trace, agents, cores, mem_gb, cfg, name):
    sim = model.Sim()
    stats = model.Stats()
    node = model.Node(sim, "n0", cores, mem_gb, stats, random.Random(0), cfg=cfg)
    todo = deque(trace.items)
    res = Result(name)
    peak_rss = [0.0]

    def rss_sum():
        rss = sum(l.worker.anon + sum(node.headers[h].file_gb for h in l.worker.profiles)
                  for l in node.lanes if l.worker)
        peak_rss[0] = max(peak_rss[0], rss)

    def send(call=None):
        if call is None:
            if not todo:
                return
            hi, work = todo.popleft()
            call = model.Call(0, hi, sim.now, on_done, work)
        else:
            call.arrival = sim.now
        if not node.submit(call):
            res.refused += 1
            sim.after(lc.RETRY_S, send, call)
        rss_sum()

    def on_done(call, ok):
        rss_sum()
        res.makespan = sim.now
        send()

    for _ in range(agents):
        send()
    sim.run()
    res.answered = stats.answered
    res.warm = stats.warm
    res.imports = stats.imports
    res.peak_gb = node.peak_gb
    res.peak_rss_sum_gb = peak_rss[0]
    res.recycles = sum(stats.recycles.values())
    return res


class _Repl:
    __slots__ = ("header", "busy", "last_used", "anon", "requests", "profiles", "ready")

    def __init__(self, header):
        self.header = header
        self.profiles = [header]
        self.busy = False
        self.last_used = 0.0
        self.anon = lc.HEADERS[header].anon_gb
        self.requests = 0
        self.ready = True


class _Pool:
    """Shared machinery of the two pools: FIFO jobs, memory accounting."""

    def __init__(self, sim, size, headers):
        self.sim = sim
        self.size = size
        self.headers = headers
        self.repls = []
        self.queue = deque()
        self.peak_gb = 0.0
        self.peak_rss_sum = 0.0
        self.imports = 0
        self.warm = 0
        self.recycles = 0

    def memory(self):
        files = set()
        anon = 0.0
        rss = 0.0
        for r in self.repls:
            anon += r.anon
            files.update(r.profiles)
            rss += r.anon + sum(self.headers[h].file_gb for h in r.profiles)
        m = anon + sum(self.headers[h].file_gb for h in files)
        self.peak_gb = max(self.peak_gb, m)
        self.peak_rss_sum = max(self.peak_rss_sum, rss)


class KiminaPool(_Pool):
    def pick(self, hi):
        """(repl, cost) or None to wait."""
        idle = [r for r in self.repls if not r.busy]
        for r in idle:
            if r.header == hi:
                return r, 0.0
        if len(self.repls) < self.size:
            r = _Repl(hi)
            self.repls.append(r)
            return r, lc.SPAWN_S + self.headers[hi].import_s
        if idle:
            victim = min(idle, key=lambda r: r.last_used)
            self.repls.remove(victim)
            self.recycles += 1
            r = _Repl(hi)
            self.repls.append(r)
            return r, lc.SPAWN_S + self.headers[hi].import_s
        return None

    def after_job(self, r):
        pass


def run_pool(cls, name, trace, agents, cores, mem_gb):
    sim = model.Sim()
    pool = cls(sim, lc.kimina_pool_size(cores), lc.HEADERS)
    todo = deque(trace.items)
    res = Result(name)

    def kick():
        while pool.queue:
            hi, work = pool.queue[0]
            got = pool.pick(hi)
            if got is None:
                return
            pool.queue.popleft()
            r, cost = got
            if cost == 0.0:
                pool.warm += 1
            else:
                pool.imports += 1
            r.busy = True
            pool.memory()
            sim.after(cost + work, done, r)

    pool.kick = kick

    def done(r):
        r.busy = False
        r.last_used = sim.now
        r.requests += 1
        r.anon += lc.ANON_PER_PROOF_GB
        pool.memory()
        res.answered += 1
        res.makespan = sim.now
        pool.after_job(r)
        send()
        kick()

    def send():
        if todo:
            pool.queue.append(todo.popleft())

    for _ in range(agents):
        send()
    kick()
    sim.run()
    res.warm = pool.warm
    res.imports = pool.imports
    res.peak_gb = pool.peak_gb
    res.peak_rss_sum_gb = pool.peak_rss_sum
    res.recycles = pool.recycles
    return res


def tuned_config(cores, mem_gb):
    """project.max_workers = CPU − 1, a pool budget for all their hard tiers, a mailbox of 2 per worker."""
    n = lc.kimina_pool_size(cores)
    base = lc.LeanHostConfig()
    return lc.LeanHostConfig(project_max_workers=n, pool_memory_gb=n * base.hard_gb, mailbox_capacity=2)


def run(n=1000, seed=1, cores=16, mem_gb=128.0, agents=None):
    trace = Trace(n, seed)
    agents = agents or lc.kimina_pool_size(cores)
    d = lc.LeanHostConfig()
    t = tuned_config(cores, mem_gb)
    return [
        run_leanhost(trace, agents, cores, mem_gb, lc.BEFORE_POOLS, "lean-host before pools (1 worker/project, serial)"),
        run_leanhost(trace, agents, cores, mem_gb, d,
                     f"lean-host (defaults: pool of {d.project_workers(cores)}, mailbox {d.mailbox_capacity} per worker)"),
        run_leanhost(trace, agents, cores, mem_gb, t,
                     f"lean-host (pool of {t.project_workers(cores)}, pool_memory {t.pool_memory_gb / lc.GIB:.0f} GiB, "
                     f"mailbox {t.mailbox_capacity} per worker)"),
        run_pool(KiminaPool, "Kimina-style pool (CPU−1 REPLs, exact-header LRU)", trace, agents, cores, mem_gb),
    ]
