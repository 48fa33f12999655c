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

bool project_is_evictable(const LhProject *p) {
        return worker_slot_is_usable(&p->slot) && !p->current && !p->queue.head && !p->registry->shutting_down;
}

bool project_is_quiet(const LhProject *p) {
        return !p->current && !p->queue.head && !p->slot.worker;
}

/* Nothing in flight, nothing owed, nothing the next call needs kept. */
bool project_is_forgettable(LhProject *p, usec_t now, usec_t idle) {
        int enabled = SD_EVENT_OFF;

        if (!project_is_quiet(p) || p->ticket.holds_slot || p->ticket.waiting_slot || p->ticket.waiting_permit ||
            p->restarts.cooling_down || p->slot.n_graveyard > 0)
                return false;
        if (p->kick_source && sd_event_source_get_enabled(p->kick_source, &enabled) >= 0 && enabled != SD_EVENT_OFF)
                return false;
        return now - MAX(p->ticket.last_used, p->record.last_resolved) >= idle;
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
        return p->queue.n + (p->current ? 1 : 0);
}

ProjectState project_get_state(const LhProject *p) {
        if (p->restarts.cooling_down)
                return PROJECT_COOLING_DOWN;
        if (p->current)
                return p->current->phase == JOB_PHASE_RUNNING ? PROJECT_BUSY : PROJECT_STARTING;
        if (p->queue.head)
                return PROJECT_STARTING;
        if (p->stopped)
                return PROJECT_STOPPED;
        return PROJECT_IDLE;
}

/* The snapshot, computed once per change (facts_version): the envelope of
 * every call and each D-Bus getter read it. */
static void project_compute_facts(LhProject *p, LhFacts *ret) {
        const LhConfig *c = CONFIG(p);

        p->facts_cache.computed++;
        *ret = (LhFacts) {
                .state = project_get_state(p),
                .worker_generation = p->slot.generation,
                .worker_pid = p->slot.worker ? worker_get_pid(p->slot.worker) : 0,
                .enforcement = p->slot.mode,
                .sandbox = c->sandbox,
                .last_restart = p->restarts.last_restart,
                .rss_kib = p->slot.rss_kib,
                .anon_kib = p->slot.anon_kib,
                .swap_valid = p->slot.memory.swap_valid,
                .swap_kib = p->slot.memory.swap_kib,
                .events_valid = p->slot.memory.events_valid,
                .memory_events_high = p->slot.memory.events_high,
                .memory_events_max = p->slot.memory.events_max,
                .memory_events_oom_kill = p->slot.memory.events_oom_kill,
                .pressure_valid = p->slot.memory.pressure_valid,
                .memory_pressure_some_avg10 = p->slot.memory.pressure_some_avg10,
                .memory_pressure_full_avg10 = p->slot.memory.pressure_full_avg10,
                .memory_high_kib = c->worker_rss_post_job_restart_kib,
                .memory_max_kib = c->worker_rss_hard_kill_kib,
                .profile_switch_count = p->profile_switch_count,
                .restarts_total = p->restarts.restarts_total,
                .queue_depth = project_get_queue_depth(p),
                .requests_served = p->slot.requests_served,
        };
        if (p->slot.worker)
                snprintf(ret->scope_unit, sizeof ret->scope_unit, "%s", p->slot.scope_unit);
        snprintf(ret->import_profile, sizeof ret->import_profile, "%s", strempty(p->active_profile));
        memcpy(ret->restarts_by_cause, p->restarts.restarts_by_cause, sizeof ret->restarts_by_cause);
}

void project_get_facts(LhProject *p, LhFacts *ret) {
        assert(p);
        assert(ret);

        if (p->facts_cache.cached_version != p->facts_cache.version) {
                project_compute_facts(p, &p->facts_cache.facts);
                p->facts_cache.cached_version = p->facts_cache.version;
        }
        *ret = p->facts_cache.facts;
        /* the window empties with time alone: counted at each read */
        ret->restarts_in_window = restart_window_count_const(&p->restarts.window, now_usec(CLOCK_MONOTONIC));
}

uint64_t project_get_facts_computed(const LhProject *p) {
        return p->facts_cache.computed;
}
