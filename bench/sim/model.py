# SPDX-License-Identifier: LGPL-2.1-or-later
"""A discrete-event model of one lean-hostd node as it schedules today.

What is modelled (src/project/actor.c, registry.c, README "Memory
enforcement"): one actor per project with a bounded mailbox
(mailbox_full beyond it), one worker per project running one job at a time,
a worker keeping up to max_imports import profiles, the import-switch tier
(other imports than the last job and anon >= 2 GiB: recycle first), the
post-job tier (anon >= 5 GiB after a job: recycle), max_requests, idle
recycle, and the node's worker cap (MemTotal / post-job tier) with LRU
eviction of an idle worker.  CPU: a job holds one of the node's cores for
its spawn + import + proof; jobs wait FIFO for a core.

Not modelled: the hard tier (no job here grows that far), restart-policy
cool-downs, heavy permits (no lake builds in these traces).
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
    __slots__ = ("profiles", "active", "anon", "requests", "idle_since", "gen", "busy")

    def __init__(self, gen):
        self.profiles = []   # header indexes imported, in order
        self.active = None
        self.anon = 0.0
        self.requests = 0
        self.idle_since = 0.0
        self.gen = gen
        self.busy = False


class Actor:
    __slots__ = ("pid", "mailbox", "current", "worker", "waiting_slot")

    def __init__(self, pid):
        self.pid = pid
        self.mailbox = deque()
        self.current = None
        self.worker = None
        self.waiting_slot = False


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
        self.cfg = cfg
        self.headers = headers
        self.stats = stats
        self.rng = rng
        self.actors = {}
        self.live = {}  # pid -> actor with a worker, insertion-ordered (deterministic)
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

    def _kill(self, a, cause):
        w = a.worker
        if not w:
            return
        a.worker = None
        del self.live[a.pid]
        self.anon_total -= w.anon
        for hi in w.profiles:
            self.header_refs[hi] -= 1
        self.workers_active -= 1
        if cause:
            self.stats.recycle(cause)
        self._grant_slots()

    # ---- admission (registry.c): a slot per worker, LRU eviction of idle ones

    def _acquire_slot(self, a):
        if self.workers_active < self.max_workers:
            self.workers_active += 1
            return True
        victim = None
        for b in self.live.values():
            if b is not a and b.worker and not b.worker.busy and not b.current and not b.mailbox:
                if victim is None or b.worker.idle_since < victim.worker.idle_since:
                    victim = b
        if victim is not None:
            self._kill(victim, "evicted")
            if self.workers_active < self.max_workers:
                self.workers_active += 1
                return True
        if not a.waiting_slot:
            a.waiting_slot = True
            self.admission.append(a)
        return False

    def _grant_slots(self):
        while self.admission and self.workers_active < self.max_workers:
            a = self.admission.popleft()
            a.waiting_slot = False
            self.sim.after(0, self._dispatch, a)

    # ---- calls

    def submit(self, call):
        """A call arrives; False when refused (mailbox_full)."""
        if not self.alive:
            return False
        a = self.actors.get(call.project)
        if a is None:
            a = self.actors[call.project] = Actor(call.project)
        if len(a.mailbox) >= self.cfg.mailbox_capacity:
            self.stats.mailbox_full += 1
            return False
        call.node = self
        self.stats.calls += 1
        self.inflight += 1
        a.mailbox.append(call)
        self._dispatch(a)
        return True

    def _finish(self, a, call, ok, warm=False):
        self.inflight -= 1
        a.current = None
        if ok:
            self.stats.answered += 1
            self.stats.latency_sum += self.sim.now - call.arrival
            if warm:
                self.stats.warm += 1
        if call.on_done:
            call.on_done(call, ok)
        self._dispatch(a)

    def _dispatch(self, a):
        if not self.alive or a.current or not a.mailbox:
            return
        cfg = self.cfg
        while a.mailbox and self.sim.now - a.mailbox[0].arrival > cfg.request_timeout_s:
            call = a.mailbox.popleft()
            self.stats.timeouts += 1
            self.inflight -= 1
            if call.on_done:
                call.on_done(call, False)
        if not a.mailbox:
            return
        call = a.mailbox[0]
        w = a.worker
        if w and w.active is not None and w.active != call.header and w.anon >= cfg.import_switch_gb:
            self._kill(a, "rss_import_switch")
            w = None
        if w and call.header not in w.profiles and len(w.profiles) >= cfg.max_imports:
            self._kill(a, "max_imports")
            w = None
        if w is None:
            if not self._acquire_slot(a):
                return
            w = a.worker = Worker(next(self.gen))
            self.live[a.pid] = a
            self.stats.spawns += 1
            cost = lc.SPAWN_S
        else:
            cost = 0.0
        a.mailbox.popleft()
        a.current = call
        w.busy = True
        warm = cost == 0.0 and call.header in w.profiles
        if call.header not in w.profiles:
            self._import(w, call.header)
            self.stats.imports += 1
            cost += self.headers[call.header].import_s
        w.active = call.header
        cost += call.work if call.work is not None else lc.proof_seconds(self.rng)
        self._want_core(a, w, call, cost, warm)

    def _want_core(self, a, w, call, cost, warm):
        if self.cores_free > 0:
            self.cores_free -= 1
            self.sim.after(cost, self._job_done, a, w, call, warm)
        else:
            self.cpu_wait.append((a, w, call, cost, warm))

    def _release_core(self):
        if self.cpu_wait:
            a, w, call, cost, warm = self.cpu_wait.popleft()
            if self.alive:
                self.sim.after(cost, self._job_done, a, w, call, warm)
                return
        self.cores_free += 1

    def _job_done(self, a, w, call, warm):
        if not self.alive:
            return
        self._release_core()
        if a.worker is not w:
            return
        w.busy = False
        w.requests += 1
        self._add_anon(w, lc.ANON_PER_PROOF_GB)
        w.idle_since = self.sim.now
        if w.anon >= self.cfg.post_job_gb:
            self._kill(a, "rss_post_job")
        elif w.requests >= self.cfg.max_requests:
            self._kill(a, "max_requests")
        else:
            self.sim.after(self.cfg.idle_s, self._idle_check, a, w.gen)
        self._finish(a, call, True, warm)

    def _idle_check(self, a, gen):
        w = a.worker
        if self.alive and w and w.gen == gen and not w.busy and not a.current and \
                self.sim.now - w.idle_since >= self.cfg.idle_s - 1e-9:
            self._kill(a, "idle")

    def fail(self):
        """The node dies: every call on it (running or queued) gets a retryable error."""
        self.alive = False
        lost = []
        for a in self.actors.values():
            if a.current:
                lost.append(a.current)
            lost.extend(a.mailbox)
            a.mailbox.clear()
            a.current = None
            a.worker = None
        self.actors.clear()
        self.live.clear()
        self.anon_total = 0.0
        self.header_refs = [0] * len(self.headers)
        self.inflight = 0
        self.stats.failed_retryable += len(lost)
        return lost
