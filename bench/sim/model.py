# SPDX-License-Identifier: LGPL-2.1-or-later
"""A discrete-event model of one lean-hostd node as it schedules now.

What is modelled (src/project/pool.c, lane.c, actor.c, admission.c,
mailbox.c; README "Memory enforcement"): one actor per project with a bounded
mailbox counting running + queued calls (mailbox_full beyond
project.mailbox_capacity per worker the pool may have) and a pool of lanes,
each running one job on one worker at a time.  The head of the
mailbox goes (order kept: a call that must wait holds the ones behind it) to
a free lane whose worker holds or is warming its header, else to a free
lane with a worker and other imports, else to a new or empty lane when the
pool may grow: fewer than project.max_workers (min(4, CPUs − 1)) live
workers, all their hard tiers within project.pool_memory_kib (MemTotal) and
a machine-wide slot free right now.  Per worker: up to max_imports import
profiles, the import-switch tier (other imports than the last job and anon
>= 2 GiB: recycle first), the post-job tier (anon >= 5 GiB after a job),
max_requests, idle recycle.  A worker recycled by a tier, max_requests or
max_imports gets a warm successor (project.warm_successor): it starts with
the same header (an import switch: the waiting call's header) off the
request path, within the pool budget and only on a free slot (it never
evicts).  The node's worker cap (MemTotal / post-job tier) is shared by all
lanes; a lane without a slot evicts the least recently used idle worker and
waits, slots go to the longest waiting lane.  CPU: a job holds one of the
node's cores for its spawn + import + proof, a warm-up for its spawn +
import; both wait FIFO for a core.  leancost.BEFORE_POOLS (max_workers 1, no
successor) is the scheduler before the pools.

Not modelled: the hard tier (no job here grows that far), restart-policy
cool-downs, heavy permits (no lake builds in these traces), proof-state
routing (no call here names a worker generation, so the pass-over of a
proof-state call waiting for its busy worker never applies), prewarm_imports (off by
default), timeouts and cancels.
"""

import heapq
import itertools
from collections import deque

import leancost as lc


class Sim:
    """The event loop: callbacks at simulated times, deterministic order."""

    def __init__(self):
        self.now = 0.0
        self._q = []
        self._seq = itertools.count()

    def at(self, t, fn, *args):
        heapq.heappush(self._q, (t, next(self._seq), fn, args))

    def after(self, dt, fn, *args):
        self.at(self.now + dt, fn, *args)

    def run(self, until=float("inf")):
        while self._q and self._q[0][0] <= until:
            t, _, fn, args = heapq.heappop(self._q)
            self.now = t
            fn(*args)
        self.now = max(self.now, min(until, self.now if not self._q else until))


class Stats:
    def __init__(self):
        self.calls = 0          # calls that reached a node
        self.answered = 0
        self.warm = 0           # answered without a spawn or an import
        self.imports = 0        # imports done (spawned workers count theirs)
        self.spawns = 0
        self.mailbox_full = 0
        self.timeouts = 0
        self.failed_retryable = 0  # in flight on a node that died
        self.recycles = {}
        self.latency_sum = 0.0

    def recycle(self, cause):
        self.recycles[cause] = self.recycles.get(cause, 0) + 1


class Call:
    __slots__ = ("project", "header", "arrival", "on_done", "node", "work")

    def __init__(self, project, header, arrival, on_done=None, work=None):
        self.work = work  # proof seconds, or None: drawn at dispatch
        self.project = project
        self.header = header
        self.arrival = arrival
        self.on_done = on_done
        self.node = None


class Worker:
    __slots__ = ("profiles", "active", "anon", "requests", "gen")

    def __init__(self, gen):
        self.profiles = []   # header indexes imported, in order
        self.active = None
        self.anon = 0.0
        self.requests = 0
        self.gen = gen


class Lane:
    """One lane of a project's pool (actor.c): one job, one worker at a time,
    an admission ticket (a worker slot), a warm-successor wish (lane.c)."""
    __slots__ = ("actor", "worker", "current", "started", "warm", "warming", "last_used", "holds_slot",
                 "waiting_slot")

    def __init__(self, actor):
        self.actor = actor
        self.worker = None
        self.current = None
        self.started = False   # the current call has its core (or waits for one)
        self.warm = None       # header its next worker loads before any call asks
        self.warming = False
        self.last_used = 0.0
        self.holds_slot = False
        self.waiting_slot = False


class Actor:
    __slots__ = ("pid", "mailbox", "lanes")

    def __init__(self, pid):
        self.pid = pid
        self.mailbox = deque()   # queued calls (the running ones are on lanes)
        self.lanes = []

    def running(self):
        return sum(1 for l in self.lanes if l.current)

    def live(self):
        # project_pool_live_workers: a lane with a worker or a job
        return sum(1 for l in self.lanes if l.worker or l.current)


_SUCCESSOR_CAUSES = ("rss_post_job", "rss_import_switch", "max_requests", "max_imports")


class Node:
    """One lean-hostd with its projects, cores and memory."""

    def __init__(self, sim, name, cores, mem_gb, stats, rng, cfg=lc.LeanHostConfig(), headers=lc.HEADERS,
                 measure_from=0.0):
        self.sim = sim
        self.name = name
        self.cores_free = cores
        self.cpu_wait = deque()
        self.mem_gb = mem_gb
        self.max_workers = cfg.max_workers(mem_gb)
        self.project_max_workers = cfg.project_workers(cores)
        self.pool_budget_gb = cfg.pool_memory_gb if cfg.pool_memory_gb else mem_gb
        self.cfg = cfg
        self.headers = headers
        self.stats = stats
        self.rng = rng
        self.actors = {}
        self.lanes = []  # every lane of the node, creation order (deterministic)
        self.workers_active = 0
        self.admission = deque()
        self.alive = True
        self.inflight = 0
        self.gen = itertools.count(1)
        self.anon_total = 0.0
        self.header_refs = [0] * len(headers)
        self.peak_gb = 0.0
        self.measure_from = measure_from

    # ---- memory accounting: anon of every worker + each header's mapped files once

    def memory_gb(self):
        files = sum(h.file_gb for h, n in zip(self.headers, self.header_refs) if n > 0)
        return self.anon_total + files

    def _mem_changed(self):
        if self.sim.now >= self.measure_from:
            m = self.memory_gb()
            if m > self.peak_gb:
                self.peak_gb = m

    def _add_anon(self, w, gb):
        w.anon += gb
        self.anon_total += gb
        self._mem_changed()

    def _import(self, w, hi):
        w.profiles.append(hi)
        self.header_refs[hi] += 1
        self._add_anon(w, self.headers[hi].anon_gb)

    def _spawn(self, l):
        l.worker = Worker(next(self.gen))
        self.stats.spawns += 1
        return l.worker

    def _kill(self, l, cause, successor=None):
        """The lane's worker ends; a planned end gets a warm successor (lane_want_successor)."""
        w = l.worker
        if not w:
            return
        l.worker = None
        l.warming = False
        self.anon_total -= w.anon
        for hi in w.profiles:
            self.header_refs[hi] -= 1
        if cause:
            self.stats.recycle(cause)
        l.warm = None
        if self.cfg.warm_successor and cause in _SUCCESSOR_CAUSES:
            l.warm = successor if successor is not None else w.active
        self._release_slot(l)
        self.sim.after(0, self._kick, l.actor)

    # ---- admission (admission.c): a slot per worker, LRU eviction of idle ones

    def _evictable(self, l):
        # lane_is_evictable: an idle worker of a project with nothing queued
        return l.worker is not None and not l.current and not l.warming and not l.actor.mailbox

    def _acquire_slot(self, l):
        if l.holds_slot:
            return True
        if self.workers_active < self.max_workers:
            self.workers_active += 1
            l.holds_slot = True
            l.waiting_slot = False
            return True
        if not l.waiting_slot:
            l.waiting_slot = True
            self.admission.append(l)
        victim = None
        for b in self.lanes:
            if b is not l and self._evictable(b) and (victim is None or b.last_used < victim.last_used):
                victim = b
        if victim is not None:
            self._kill(victim, "evicted")  # its slot goes to the longest waiting lane
        return l.holds_slot

    def _release_slot(self, l):
        if not l.holds_slot:
            return
        l.holds_slot = False
        self.workers_active -= 1
        while self.admission and self.workers_active < self.max_workers:
            b = self.admission.popleft()
            if not b.waiting_slot:
                continue
            b.waiting_slot = False
            b.holds_slot = True
            self.workers_active += 1
            self.sim.after(0, self._kick, b.actor)

    # ---- the pool (pool.c)

    def _max_lanes(self):
        """project_pool_max_lanes: project.max_workers, worker.max_workers, the budget."""
        return max(1, min(self.project_max_workers, self.max_workers, int(self.pool_budget_gb // self.cfg.hard_gb)))

    def _may_start(self, a):
        n = a.live()
        if n == 0:
            return True
        if n >= self.project_max_workers:
            return False
        return (n + 1) * self.cfg.hard_gb <= self.pool_budget_gb

    def _may_start_now(self, a):
        if a.live() == 0:
            return True
        return self._may_start(a) and self.workers_active < self.max_workers

    def _pick_lane(self, a, hi):
        best, best_cost = None, 99
        for l in a.lanes:
            if l.current:
                continue
            w = l.worker
            if w and (hi in w.profiles or l.warm == hi):
                cost = 1 if l.warming else 0
            elif w:
                cost = 2
            elif l.warm is not None and l.warm != hi:
                cost = 5
            else:
                cost = 3
            if cost >= 3 and not self._may_start_now(a) and a.live() > 0:
                continue
            if cost < best_cost:
                best, best_cost = l, cost
        if best and best_cost <= 2:
            return best
        if (not best or best_cost > 3) and self._may_start_now(a) and \
                len(a.lanes) < max(self.project_max_workers, 1):
            l = Lane(a)
            a.lanes.append(l)
            self.lanes.append(l)
            return l
        return best

    # ---- calls

    def submit(self, call):
        """A call arrives; False when refused (mailbox_full: running + queued)."""
        if not self.alive:
            return False
        a = self.actors.get(call.project)
        if a is None:
            a = self.actors[call.project] = Actor(call.project)
        if len(a.mailbox) + a.running() >= self.cfg.mailbox_capacity * self._max_lanes():
            self.stats.mailbox_full += 1
            return False
        call.node = self
        self.stats.calls += 1
        self.inflight += 1
        a.mailbox.append(call)
        self._kick(a)
        return True

    def _finish(self, a, call, ok, warm=False):
        self.inflight -= 1
        if ok:
            self.stats.answered += 1
            self.stats.latency_sum += self.sim.now - call.arrival
            if warm:
                self.stats.warm += 1
        if call.on_done:
            call.on_done(call, ok)

    def _kick(self, a):
        """project_dispatch: hand out the head of the mailbox while a lane takes it."""
        if not self.alive:
            return
        cfg = self.cfg
        while a.mailbox and self.sim.now - a.mailbox[0].arrival > cfg.request_timeout_s:
            call = a.mailbox.popleft()
            self.stats.timeouts += 1
            self.inflight -= 1
            if call.on_done:
                call.on_done(call, False)
        while a.mailbox:
            l = self._pick_lane(a, a.mailbox[0].header)
            if l is None:
                break
            l.current = a.mailbox.popleft()
            l.started = False
            if l.warm is not None and not l.warming and l.warm != l.current.header:
                l.warm = None
        for l in list(a.lanes):
            self._lane_dispatch(l)
            if not l.current and not a.mailbox:
                self._went_idle(l)

    def _went_idle(self, l):
        if l.waiting_slot:
            l.waiting_slot = False
        if not l.worker and l.holds_slot and l.warm is None:
            self._release_slot(l)
        if self._evictable(l):
            self._poke()

    def _poke(self):
        """admission_poke: a worker went idle; lanes waiting for a slot may evict it now."""
        for b in list(self.admission):
            if not b.waiting_slot:
                continue
            victim = None
            for c in self.lanes:
                if c is not b and self._evictable(c) and (victim is None or c.last_used < victim.last_used):
                    victim = c
            if victim is None:
                return
            self._kill(victim, "evicted")

    def _lane_dispatch(self, l):
        a = l.actor
        if not l.current:
            self._warm_dispatch(l)
            return
        if l.warming or l.started:
            return
        l.warm = None
        call = l.current
        cfg = self.cfg
        w = l.worker
        if w and w.active is not None and w.active != call.header and w.anon >= cfg.import_switch_gb:
            self._kill(l, "rss_import_switch", call.header)
            l.warm = None  # the job loads what it needs itself
            w = None
        if w and call.header not in w.profiles and len(w.profiles) >= cfg.max_imports:
            self._kill(l, "max_imports", call.header)
            l.warm = None
            w = None
        cost = 0.0
        if w is None:
            if not self._acquire_slot(l):
                return
            w = self._spawn(l)
            cost = lc.SPAWN_S
        l.started = True
        warm = cost == 0.0 and call.header in w.profiles
        if call.header not in w.profiles:
            self._import(w, call.header)
            self.stats.imports += 1
            cost += self.headers[call.header].import_s
        w.active = call.header
        cost += call.work if call.work is not None else lc.proof_seconds(self.rng)
        self._want_core(cost, self._job_done, l, w, call, warm)

    def _warm_dispatch(self, l):
        """lane_dispatch_warm: a successor starts within the budget and only on a free slot (never evicts)."""
        if l.warm is None or l.warming:
            return
        a = l.actor
        if l.worker is None:
            if not self._may_start(a):
                return
            if not l.holds_slot:
                if self.workers_active >= self.max_workers or not self._acquire_slot(l):
                    return
            w = self._spawn(l)
            cost = lc.SPAWN_S
        else:
            w = l.worker
            if l.warm in w.profiles:
                l.warm = None
                return
            cost = 0.0
        hi = l.warm
        l.warming = True
        self._import(w, hi)
        self.stats.imports += 1
        w.active = hi
        self._want_core(cost + self.headers[hi].import_s, self._warm_done, l, w)

    def _warm_done(self, l, w):
        if not self.alive:
            return
        self._release_core()
        if l.worker is not w:
            return
        l.warming = False
        l.warm = None
        l.last_used = self.sim.now
        if not l.current:
            self.sim.after(self.cfg.idle_s, self._idle_check, l, w.gen)
        self._kick(l.actor)

    def _want_core(self, cost, fn, *args):
        if self.cores_free > 0:
            self.cores_free -= 1
            self.sim.after(cost, fn, *args)
        else:
            self.cpu_wait.append((cost, fn, args))

    def _release_core(self):
        if self.cpu_wait:
            cost, fn, args = self.cpu_wait.popleft()
            if self.alive:
                self.sim.after(cost, fn, *args)
                return
        self.cores_free += 1

    def _job_done(self, l, w, call, warm):
        if not self.alive:
            return
        self._release_core()
        a = l.actor
        l.current = None
        l.started = False
        w.requests += 1
        self._add_anon(w, lc.ANON_PER_PROOF_GB)
        l.last_used = self.sim.now
        if w.anon >= self.cfg.post_job_gb:
            self._kill(l, "rss_post_job")
        elif w.requests >= self.cfg.max_requests:
            self._kill(l, "max_requests")
        else:
            self.sim.after(self.cfg.idle_s, self._idle_check, l, w.gen)
        # the daemon's kick (a successor's start) runs before the client's next call arrives
        self._kick(a)
        self._finish(a, call, True, warm)
        self._kick(a)

    def _idle_check(self, l, gen):
        w = l.worker
        if self.alive and w and w.gen == gen and self._evictable(l) and \
                self.sim.now - l.last_used >= self.cfg.idle_s - 1e-9:
            self._kill(l, "idle")

    def fail(self):
        """The node dies: every call on it (running or queued) gets a retryable error."""
        self.alive = False
        lost = []
        for a in self.actors.values():
            lost.extend(l.current for l in a.lanes if l.current)
            lost.extend(a.mailbox)
            a.mailbox.clear()
        self.actors.clear()
        self.lanes = []
        self.anon_total = 0.0
        self.header_refs = [0] * len(self.headers)
        self.inflight = 0
        self.stats.failed_retryable += len(lost)
        return lost
