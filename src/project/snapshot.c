/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a project is, read from its parts: the facts snapshot (computed once
 * per change), its state, the questions the registry and admission ask.
 *
 * Owns: FactsCache. Reads (never writes) the actor's fields and its parts'.
 * Must not know: anything above the actor; it calls nothing in actor.c. */

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "basic/strv.h"
#include "basic/time-util.h"
#include "project/project-internal.h"

#define CONFIG(p) ((p)->registry->config)

void facts_cache_init(FactsCache *c) {
        *c = (FactsCache) { .version = 1 }; /* nothing cached yet */
}

void facts_cache_invalidate(FactsCache *c) {
        c->version++;
}

/* The REPL the readiness check finds for this project (a dependency's
 * build, lean-host's own build for the pin, or `repl` on PATH), run under
 * the pinned toolchain's lake by absolute path (`<lake> env <repl>`) so it
 * sees the project's search path. Found off the loop by the readiness check
 * before the call (tools); nothing is read here: the event loop must not
 * wait for a file system. Plain `lake env repl` when none was found (the
 * call then fails with the readiness error before getting here). */
int project_default_worker_argv(const LhProject *p, char ***ret) {
        char **l;

        l = strv_copy(p->record.default_argv ?: (char *[]) { (char *) "lake", (char *) "env", (char *) "repl", NULL });
        if (!l)
                return -ENOMEM;
        *ret = l;
        return 0;
}

bool lane_is_busy(const LhLane *l) {
        return l->current || l->warming;
}

bool lane_is_evictable(const LhLane *l) {
        const LhProject *p = l->project;

        return worker_slot_is_usable(&l->slot) && !lane_is_busy(l) && !p->queue.head && !p->registry->shutting_down;
}

bool project_is_quiet(const LhProject *p) {
        if (p->queue.head)
                return false;
        for (size_t i = 0; i < p->n_lanes; i++)
                if (p->lanes[i]->current || p->lanes[i]->slot.worker || p->lanes[i]->warm_fingerprint)
                        return false;
        return true;
}

/* Workers that are, or are about to be (a lane with a job starts one if it
 * has none): the routing hands out several jobs before any lane starts. */
unsigned project_pool_live_workers(const LhProject *p) {
        unsigned n = 0;

        for (size_t i = 0; i < p->n_lanes; i++)
                n += p->lanes[i]->slot.worker || p->lanes[i]->current ? 1 : 0;
        return n;
}

bool project_pool_may_start(const LhProject *p) {
        const LhConfig *c = CONFIG(p);
        unsigned n = project_pool_live_workers(p);

        if (n == 0)
                return true; /* one worker always: the budget decides how many more */
        if (n >= c->project_max_workers)
                return false;
        /* "auto" in scope mode before the slice exists (it appears with the
         * first scope): its MemoryMax= is unknown, so no second worker yet */
        if (c->project_pool_memory_auto && !p->registry->pool_budget.complete)
                return false;
        /* each worker may grow to its hard tier: all of them must fit */
        return n + 1 <= project_pool_max_lanes(p);
}

uint64_t project_pool_budget_kib(const LhProject *p, const char **ret_source) {
        const LhConfig *c = CONFIG(p);
        const PoolBudget *b = &p->registry->pool_budget;

        if (!c->project_pool_memory_auto || b->kib == 0) {
                if (ret_source)
                        *ret_source = c->project_pool_memory_auto ? "MemTotal" : "project.pool_memory_kib";
                return c->project_pool_memory_kib;
        }
        if (ret_source)
                *ret_source = b->source;
        return b->kib;
}

unsigned project_pool_max_lanes(const LhProject *p) {
        const LhConfig *c = CONFIG(p);
        uint64_t budget = project_pool_budget_kib(p, NULL), n;

        n = MIN(c->project_max_workers, p->registry->admission.max_workers);
        if (budget > 0 && c->worker_rss_hard_kill_kib > 0)
                n = MIN(n, budget / c->worker_rss_hard_kill_kib);
        return (unsigned) MAX(n, (uint64_t) 1); /* one worker always */
}

uint64_t project_mailbox_limit(const LhProject *p) {
        return CONFIG(p)->mailbox_capacity * project_pool_max_lanes(p);
}

uint64_t project_estimate_retry_after_ms(const LhProject *p) {
        const LhConfig *c = CONFIG(p);
        unsigned lanes = MAX(project_pool_live_workers(p), 1u);
        uint64_t ms = p->service_usec / USEC_PER_MSEC * (p->queue.n / lanes + 1);

        /* no call finished yet: a worker start is the likely wait */
        if (p->service_usec == 0)
                ms = 1000;
        return MIN(MAX(ms, (uint64_t) 100), MAX(c->request_timeout_millis, (uint64_t) 100));
}

/* A live worker of p has this generation (proof states are per worker). */
static bool project_has_worker_generation(const LhProject *p, uint64_t generation) {
        for (size_t i = 0; i < p->n_lanes; i++) {
                const LhLane *l = p->lanes[i];

                if (generation > 0 && l->slot.worker && !l->slot.stopping && l->slot.generation == generation)
                        return true;
        }
        return false;
}

/* Nothing in flight, nothing owed, nothing the next call needs kept. */
bool project_is_forgettable(LhProject *p, usec_t now, usec_t idle) {
        int enabled = SD_EVENT_OFF;
        usec_t last_used = 0;

        if (!project_is_quiet(p) || p->restarts.cooling_down)
                return false;
        for (size_t i = 0; i < p->n_lanes; i++) {
                const LhLane *l = p->lanes[i];

                if (l->ticket.holds_slot || l->ticket.waiting_slot || l->ticket.waiting_permit || l->slot.n_graveyard > 0)
                        return false;
                last_used = MAX(last_used, l->ticket.last_used);
        }
        if (p->kick_source && sd_event_source_get_enabled(p->kick_source, &enabled) >= 0 && enabled != SD_EVENT_OFF)
                return false;
        return now - MAX(last_used, p->record.last_resolved) >= idle;
}

EnforcementMode project_enforcement_for(const LhConfig *c, ScopePlacer *placer) {
        switch (c->enforcement) {
        case ENFORCEMENT_SCOPE:
                return ENFORCEMENT_MODE_SCOPE;
        case ENFORCEMENT_PROCESS:
                return ENFORCEMENT_MODE_PROCESS;
        default:
                return placer && scope_placer_is_available(placer) ? ENFORCEMENT_MODE_SCOPE : ENFORCEMENT_MODE_PROCESS;
        }
}

const char *project_get_root(const LhProject *p) {
        return p->root;
}

const char *project_get_id(const LhProject *p) {
        return p->id;
}

const LhConfig *project_get_config(const LhProject *p) {
        return CONFIG(p);
}

void project_get_view(const LhProject *p, LhProjectView *ret) {
        assert(p);
        assert(ret);

        *ret = (LhProjectView) {
                .root = p->root,
                .id = p->id,
                .config = CONFIG(p),
        };
}

unsigned project_get_queue_depth(const LhProject *p) {
        unsigned n = p->queue.n;

        for (size_t i = 0; i < p->n_lanes; i++)
                n += p->lanes[i]->current ? 1 : 0;
        return n;
}

ProjectState project_get_state(const LhProject *p) {
        bool current = false;

        if (p->restarts.cooling_down)
                return PROJECT_COOLING_DOWN;
        for (size_t i = 0; i < p->n_lanes; i++) {
                const LhJob *j = p->lanes[i]->current;

                if (j && j->phase == JOB_PHASE_RUNNING)
                        return PROJECT_BUSY;
                current = current || j;
        }
        if (current || p->queue.head)
                return PROJECT_STARTING;
        if (p->stopped)
                return PROJECT_STOPPED;
        return PROJECT_IDLE;
}

/* The lane whose worker the project-wide facts describe: the only live
 * worker (or, with none, the lane that had the last one); NULL when several
 * live: then no worker is "the project's" (pool_aggregate_worker_facts()). */
static const LhLane *project_primary_lane(const LhProject *p) {
        const LhLane *only = NULL;

        for (size_t i = 0; i < p->n_lanes; i++) {
                const LhLane *l = p->lanes[i];

                if (!l->slot.worker)
                        continue;
                if (only)
                        return NULL;
                only = l;
        }
        return only ?: p->lanes[0];
}

/* Several workers: the sums of their memory and requests; no generation,
 * pid, scope or profile (each worker's are in project_get_workers()). */
static void pool_aggregate_worker_facts(const LhProject *p, LhFacts *ret) {
        bool first = true;

        ret->swap_valid = ret->events_valid = true;
        for (size_t i = 0; i < p->n_lanes; i++) {
                const WorkerSlot *s = &p->lanes[i]->slot;

                if (!s->worker)
                        continue;
                if (first)
                        ret->enforcement = s->mode;
                first = false;
                ret->rss_kib += s->rss_kib;
                ret->anon_kib += s->anon_kib;
                ret->requests_served += s->requests_served;
                ret->swap_valid = ret->swap_valid && s->memory.swap_valid;
                ret->swap_kib += s->memory.swap_kib;
                ret->events_valid = ret->events_valid && s->memory.events_valid;
                ret->memory_events_high += s->memory.events_high;
                ret->memory_events_max += s->memory.events_max;
                ret->memory_events_oom_kill += s->memory.events_oom_kill;
        }
        /* pressure is a per-cgroup average: not a sum; each scope's is its own */
        ret->pressure_valid = false;
}

static void lane_fill_worker_facts(const LhLane *l, LhFacts *ret) {
        ret->worker_generation = l->slot.generation;
        ret->worker_pid = l->slot.worker ? l->slot.pid : 0; /* read on every snapshot: the slot's copy */
        ret->enforcement = l->slot.mode;
        ret->rss_kib = l->slot.rss_kib;
        ret->anon_kib = l->slot.anon_kib;
        ret->swap_valid = l->slot.memory.swap_valid;
        ret->swap_kib = l->slot.memory.swap_kib;
        ret->events_valid = l->slot.memory.events_valid;
        ret->memory_events_high = l->slot.memory.events_high;
        ret->memory_events_max = l->slot.memory.events_max;
        ret->memory_events_oom_kill = l->slot.memory.events_oom_kill;
        ret->pressure_valid = l->slot.memory.pressure_valid;
        ret->memory_pressure_some_avg10 = l->slot.memory.pressure_some_avg10;
        ret->memory_pressure_full_avg10 = l->slot.memory.pressure_full_avg10;
        ret->requests_served = l->slot.requests_served;
        snprintf(ret->scope_unit, sizeof ret->scope_unit, "%s", l->slot.worker ? l->slot.scope_unit : "");
        snprintf(ret->import_profile, sizeof ret->import_profile, "%s", strempty(l->active_profile));
}

size_t project_get_workers(LhProject *p, LhWorkerFacts *ret, size_t n) {
        size_t k = 0;

        assert(p);
        for (size_t i = 0; i < p->n_lanes; i++) {
                const LhLane *l = p->lanes[i];
                LhWorkerFacts *w;

                if (!l->slot.worker)
                        continue;
                if (k++ >= n)
                        continue;
                w = ret + k - 1;
                *w = (LhWorkerFacts) {
                        .generation = l->slot.generation,
                        .pid = l->slot.pid,
                        .state = l->slot.stopping ? "stopping" : !l->slot.ready ? "starting" :
                                 l->warming ? "warming" : l->current ? "busy" : "idle",
                        .rss_kib = l->slot.rss_kib,
                        .requests_served = l->slot.requests_served,
                };
                snprintf(w->scope_unit, sizeof w->scope_unit, "%s", l->slot.scope_unit);
                snprintf(w->import_profile, sizeof w->import_profile, "%s", strempty(l->active_profile));
        }
        return k;
}

bool project_get_worker(LhProject *p, uint64_t generation, LhWorkerFacts *ret) {
        LhWorkerFacts w[64];
        size_t n = MIN(project_get_workers(p, w, ELEMENTSOF(w)), ELEMENTSOF(w));

        if (!project_has_worker_generation(p, generation))
                return false;
        for (size_t i = 0; i < n; i++)
                if (w[i].generation == generation) {
                        if (ret)
                                *ret = w[i];
                        return true;
                }
        return false;
}

void lane_get_facts(LhLane *l, LhFacts *ret) {
        project_get_facts(l->project, ret);
        lane_fill_worker_facts(l, ret);
}

static void project_compute_facts(LhProject *p, LhFacts *ret) {
        const LhConfig *c = CONFIG(p);
        const LhLane *primary;
        const char *source = NULL;

        p->facts_cache.computed++;
        *ret = (LhFacts) {
                .state = project_get_state(p),
                .sandbox = c->sandbox,
                .last_restart = p->restarts.last_restart,
                .memory_high_kib = c->worker_rss_post_job_restart_kib,
                .memory_max_kib = c->worker_rss_hard_kill_kib,
                .profile_switch_count = p->profile_switch_count,
                .restarts_total = p->restarts.restarts_total,
                .queue_depth = project_get_queue_depth(p),
                .pool_workers = project_pool_live_workers(p),
        };
        primary = project_primary_lane(p);
        if (primary)
                lane_fill_worker_facts(primary, ret);
        else
                pool_aggregate_worker_facts(p, ret);
        ret->pool_memory_kib = project_pool_budget_kib(p, &source);
        snprintf(ret->pool_memory_source, sizeof ret->pool_memory_source, "%s", strempty(source));
        ret->pool_max_workers = project_pool_max_lanes(p);
        memcpy(ret->restarts_by_cause, p->restarts.restarts_by_cause, sizeof ret->restarts_by_cause);
}

void project_get_facts(LhProject *p, LhFacts *ret) {
        assert(p);
        assert(ret);

        if (p->facts_cache.cached_version != p->facts_cache.version ||
            p->facts_cache.budget_version != p->registry->pool_budget.version) {
                project_compute_facts(p, &p->facts_cache.facts);
                p->facts_cache.cached_version = p->facts_cache.version;
                p->facts_cache.budget_version = p->registry->pool_budget.version;
        }
        *ret = p->facts_cache.facts;
        /* the window empties with time alone: counted at each read */
        ret->restarts_in_window = restart_window_count_const(&p->restarts.window, now_usec(CLOCK_MONOTONIC));
}

uint64_t project_get_facts_computed(const LhProject *p) {
        return p->facts_cache.computed;
}
