/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The project's worker pool: which lane (actor.c: one job, one worker) a
 * waiting job goes to, and when the pool grows. Up to project.max_workers
 * lanes, each with its own worker, scope, tiers and generation (generations
 * are unique per project, so a proof state names its worker).
 *
 * Routing, for each waiting job in mailbox order:
 *   1. it names a worker generation (a proof state): that lane, when free;
 *      when no lane holds it any more, proof_state_lost at once;
 *   2. a free lane whose worker holds (or is warming up) the job's imports;
 *   3. a free lane with a worker and other imports (an import costs less
 *      than a start);
 *   4. a free lane without a worker, or a new lane, when the pool may grow:
 *      the sum of the hard tiers stays within the pool's memory budget
 *      (project.pool_memory_kib, or by default MemTotal or the workers'
 *      slice's memory.max: pool-budget.c) and a machine-wide worker slot
 *      (worker.max_workers) is free right now.
 * A job that finds no lane holds the ones behind it (they would find none
 * either), except a proof-state job whose worker is busy: the jobs behind
 * it may go to other lanes. Fairness: its worker's lane is reserved for it
 * (no job behind it may take that lane, so it runs as soon as its worker is
 * free), and jobs behind it that name the same proof state's worker keep
 * their order. The look-ahead passes at most POOL_LOOKAHEAD such jobs per
 * dispatch; past that, order is kept as before.
 * The restart window stays per project (restart-policy.c): a project whose
 * imports crash would crash every lane, and cooling_down is the project's.
 *
 * Owns: LhProject's `lanes`, `n_lanes`, `kick_source`, `stopped` and its
 * life (new, free, shutdown). Must not know: the registry's internals, a
 * lane's worker protocol (actor.c's verbs do that). */

#include <assert.h>
#include <limits.h>
#include <stdio.h>

#include "basic/hash.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "basic/time-util.h"
#include "project/project-internal.h"

#define CONFIG(p) ((p)->registry->config)

static LhLane *pool_add_lane(LhProject *p) {
        LhLane **a, *l;

        if (p->n_lanes >= MAX(CONFIG(p)->project_max_workers, (uint64_t) 1))
                return NULL;
        a = realloc(p->lanes, (p->n_lanes + 1) * sizeof(LhLane *));
        if (!a)
                return NULL;
        p->lanes = a;
        if (lane_new(&l, p, p->n_lanes) < 0)
                return NULL;
        p->lanes[p->n_lanes++] = l;
        log_debug("Project %s: pool grows to %zu lanes.", p->root, p->n_lanes);
        return l;
}

/* Could a lane without a worker start one for a job now, without waiting? */
static bool pool_may_start_now(const LhProject *p) {
        const Admission *a = &p->registry->admission;

        if (project_pool_live_workers(p) == 0)
                return true; /* the first worker waits for its slot as ever */
        return project_pool_may_start(p) && a->workers_active < a->max_workers;
}

/* Proof-state jobs passed over in one dispatch, at most. */
#define POOL_LOOKAHEAD 8

/* The generations passed-over jobs wait for: their lanes are theirs next. */
typedef struct PoolReserved {
        uint64_t generation[POOL_LOOKAHEAD];
        size_t n;
} PoolReserved;

static bool pool_is_reserved(const PoolReserved *r, uint64_t generation) {
        for (size_t i = 0; i < r->n; i++)
                if (r->generation[i] == generation)
                        return true;
        return false;
}

/* The lane holding the worker of generation g, or NULL (gone). */
static LhLane *pool_find_generation(LhProject *p, uint64_t g) {
        for (size_t i = 0; i < p->n_lanes; i++) {
                LhLane *l = p->lanes[i];

                if (l->slot.worker && l->slot.generation == g)
                        return l;
        }
        return NULL;
}

static LhLane *pool_pick_lane(LhProject *p, LhJob *j, const PoolReserved *reserved) {
        LhLane *best = NULL;
        int best_cost = INT_MAX;

        if (j->want_generation > 0) {
                LhLane *l = pool_find_generation(p, j->want_generation);

                /* gone: pool_hand_out() answered it */
                return l && !lane_is_busy(l) ? l : NULL;
        }

        for (size_t i = 0; i < p->n_lanes; i++) {
                LhLane *l = p->lanes[i];
                bool usable = l->slot.worker && !l->slot.stopping;
                int cost;

                if (l->current)
                        continue;
                if (l->slot.worker && pool_is_reserved(reserved, l->slot.generation))
                        continue; /* a job ahead waits for this worker */
                if (usable && (import_profiles_find(&l->slot.profiles, j->fingerprint) ||
                               (l->warm_fingerprint && streq(l->warm_fingerprint, j->fingerprint))))
                        cost = l->slot.ready && !l->warming ? 0 : 1; /* held, or on its way */
                else if (usable)
                        cost = 2;  /* an import (or a switch) */
                else if (l->slot.worker)
                        cost = 4;  /* stopping: wait for its end, then start */
                else if (l->warm_fingerprint && !streq(l->warm_fingerprint, j->fingerprint))
                        cost = 5;  /* kept for its warm-up of other imports: a new lane first */
                else
                        cost = 3;  /* a start and an import */
                if (cost >= 3 && !pool_may_start_now(p) && project_pool_live_workers(p) > 0)
                        continue;
                if (cost < best_cost) {
                        best = l;
                        best_cost = cost;
                }
        }
        if (best && best_cost <= 2)
                return best;
        /* a fresh lane costs a start, like an empty one, but runs beside the others */
        if ((!best || best_cost > 3) && pool_may_start_now(p)) {
                LhLane *l = pool_add_lane(p);

                if (l)
                        return l;
        }
        return best;
}

/* project.pool_memory_kib "auto": the workers' cgroup may allow less than
 * MemTotal (read at start, and again while jobs wait: a slice appears with
 * its first scope, an operator may set MemoryMax= at any time). */
static void pool_refresh_budget(LhProject *p, usec_t now) {
        const LhConfig *c = CONFIG(p);
        LhRegistry *r = p->registry;
        bool scope = project_enforcement_for(c, r->placer) == ENFORCEMENT_MODE_SCOPE;
        pid_t worker = 0;

        if (!c->project_pool_memory_auto)
                return;
        for (size_t i = 0; scope && worker == 0 && i < p->n_lanes; i++) {
                const WorkerSlot *s = &p->lanes[i]->slot;

                if (s->worker && s->ready && !s->stopping && s->mode == ENFORCEMENT_MODE_SCOPE)
                        worker = s->pid;
        }
        pool_budget_refresh(&r->pool_budget, c->project_pool_memory_kib, scope ? c->slice : NULL, worker, now);
}

/* A waiting job whose worker is gone (restarted or recycled while it
 * waited): no lane can run it, and starting a worker only to find its proof
 * state missing costs a start. Answered now; done() may change the queue,
 * so the round ends and the kick goes on. */
static void pool_fail_lost(LhProject *p, LhJob *j) {
        LhFacts facts;
        LhError e;

        lh_error_set(&e, "proof_state_lost", false,
                     "the worker of generation %" PRIu64 " that holds this proof state is gone (restarted or "
                     "recycled while the call waited); start again from the statement", j->want_generation);
        job_queue_remove(&p->queue, j);
        project_get_facts(p, &facts);
        project_finish_job(p, j, &facts, &e);
        lh_error_done(&e);
        project_notify(p, PROJECT_CHANGE_STATE);
        project_kick(p);
}

/* Hand out the waiting jobs in order while lanes take them; a proof-state
 * job whose worker is busy is passed over (its lane reserved), any other
 * job that finds no lane ends the round. */
static void pool_hand_out(LhProject *p, usec_t now) {
        PoolReserved reserved = {};
        LhJob *next;

        if (p->queue.head)
                pool_refresh_budget(p, now);
        for (LhJob *j = p->queue.head; j; j = next) {
                LhLane *l;

                next = job_queue_link(j)->next;
                if (j->want_generation > 0 && !pool_find_generation(p, j->want_generation)) {
                        pool_fail_lost(p, j);
                        return;
                }
                if (j->want_generation > 0 && pool_is_reserved(&reserved, j->want_generation))
                        continue; /* behind another job for the same worker: keeps its order */
                l = pool_pick_lane(p, j, &reserved);
                if (l) {
                        job_queue_remove(&p->queue, j);
                        lane_take_job(l, j, now);
                        continue;
                }
                if (j->want_generation == 0 || !pool_find_generation(p, j->want_generation) ||
                    reserved.n >= POOL_LOOKAHEAD)
                        return;
                reserved.generation[reserved.n++] = j->want_generation;
        }
}

static void project_dispatch(LhProject *p) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        bool any_current = false;
        LhError e;
        LhJob *j;

        for (size_t i = 0; i < p->n_lanes; i++)
                worker_slot_free_graveyard(&p->lanes[i]->slot, false);
        if (p->registry->shutting_down)
                return;

        if (project_check_cooling(p)) {
                /* fail fast, one at a time: done() may change the queue; a
                 * command in flight finishes, a job still waiting fails */
                restart_policy_unavailable_error(&p->restarts, &e);
                for (size_t i = 0; i < p->n_lanes; i++)
                        lane_fail_waiting(p->lanes[i], &e);
                j = p->queue.head;
                if (j) {
                        LhFacts facts;

                        job_queue_remove(&p->queue, j);
                        project_get_facts(p, &facts);
                        project_finish_job(p, j, &facts, &e);
                        project_notify(p, PROJECT_CHANGE_STATE);
                        project_kick(p);
                }
                for (size_t i = 0; i < p->n_lanes; i++)
                        if (!p->lanes[i]->current)
                                lane_went_idle(p->lanes[i]);
                return;
        }

        pool_hand_out(p, now);
        for (size_t i = 0; i < p->n_lanes; i++)
                any_current = any_current || p->lanes[i]->current;
        job_queue_progress(&p->queue, any_current);

        for (size_t i = 0; i < p->n_lanes; i++) {
                LhLane *l = p->lanes[i];

                lane_dispatch(l);
                if (!l->current && !p->queue.head)
                        lane_went_idle(l);
        }
}

/* One dispatch, one word to the observers however many facts it changed
 * (a job taken, its worker started, its command sent). */
static int on_kick(sd_event_source *s, void *userdata) {
        LhProject *p = userdata;
        ProjectChange what;

        p->in_kick = true;
        project_dispatch(p);
        p->in_kick = false;
        what = p->pending_changes;
        p->pending_changes = 0;
        if (what)
                project_notify(p, what);
        return 0;
}

static void project_on_cooled(void *userdata) {
        project_notify_later(userdata, PROJECT_CHANGE_STATE);
}

static void project_reset_restart_policy(LhProject *p) {
        restart_policy_reset(&p->restarts);
        project_notify(p, PROJECT_CHANGE_STATE | PROJECT_CHANGE_RESTARTS);
}

/* ---- project object ---------------------------------------------------------- */

int project_new(LhProject **ret, LhRegistry *r, const char *root) {
        const LhConfig *c = r->config;
        LhProject *p;
        int k;

        p = new0(LhProject, 1);
        if (!p)
                return -ENOMEM;
        p->registry = r;
        facts_cache_init(&p->facts_cache);
        p->root = strdup(root);
        if (!p->root) {
                free(p);
                return -ENOMEM;
        }
        hash_to_hex16(hash_string(p->root), p->id);
        snprintf(p->description, sizeof p->description, "Lean worker for %s", p->root);

        k = restart_policy_init(&p->restarts, r->event, p->root, p->id, c->restart_limit, c->restart_window_secs,
                                c->worker_max_reply_bytes, project_on_cooled, p);
        if (k < 0)
                goto fail;
        pool_refresh_budget(p, now_usec(CLOCK_MONOTONIC));
        if (!pool_add_lane(p)) {
                k = -ENOMEM;
                goto fail;
        }
        k = sd_event_add_defer(r->event, &p->kick_source, on_kick, p);
        if (k < 0)
                goto fail;
        k = sd_event_source_set_enabled(p->kick_source, SD_EVENT_OFF);
        if (k < 0)
                goto fail;
        (void) sd_event_source_set_description(p->kick_source, "project-kick");
        *ret = p;
        return 0;
fail:
        project_free(p);
        return k;
}

LhProject *project_free(LhProject *p) {
        if (!p)
                return NULL;

        /* registry_free shut us down first: no jobs left */
        assert(!p->queue.head);
        for (size_t i = 0; i < p->n_lanes; i++)
                lane_free(p->lanes[i]);
        free(p->lanes);
        sd_event_source_disable_unref(p->kick_source);
        queue_deadline_done(p);
        restart_policy_done(&p->restarts);
        free(p->root);
        return mfree(p);
}

void project_shutdown(LhProject *p) {
        LhFacts facts;
        LhError e;
        LhJob *j;

        restart_policy_shutdown(&p->restarts);
        project_timer_disarm(p->kick_source);

        lh_error_set(&e, "shutting_down", true, "The daemon is shutting down; call again once it is back.");
        /* one at a time from the head: done() may cancel others (submits are refused now) */
        while ((j = p->queue.head)) {
                job_queue_remove(&p->queue, j);
                project_get_facts(p, &facts);
                project_finish_job(p, j, &facts, &e);
        }
        for (size_t i = 0; i < p->n_lanes; i++)
                lane_shutdown(p->lanes[i], &e);
        p->stopped = true;
        project_notify(p, PROJECT_CHANGE_STATE | PROJECT_CHANGE_WORKER);
}

int project_restart_worker(LhProject *p) {
        if (p->registry->shutting_down)
                return -ESHUTDOWN;
        project_reset_restart_policy(p);
        project_kick(p);
        for (size_t i = 0; i < p->n_lanes; i++)
                lane_restart_worker(p->lanes[i]);
        return 0;
}

int project_stop_worker(LhProject *p) {
        if (p->registry->shutting_down)
                return -ESHUTDOWN;

        p->stopped = true;
        project_reset_restart_policy(p);
        for (size_t i = 0; i < p->n_lanes; i++)
                lane_stop_worker(p->lanes[i]);
        project_notify(p, PROJECT_CHANGE_STATE);
        return 0;
}

/* project.prewarm_imports, at the first call (it passed the readiness gate,
 * so a worker can start): an empty lane loads them beside that call. */
static void pool_prewarm(LhProject *p) {
        char **imports = CONFIG(p)->project_prewarm_imports;

        if (p->prewarmed || strv_isempty(imports))
                return;
        p->prewarmed = true;
        for (size_t i = 0; i < p->n_lanes; i++) {
                LhLane *l = p->lanes[i];

                if (!l->slot.worker && !l->current && !l->warm_fingerprint) {
                        if (lane_want_imports(l, imports) < 0)
                                log_oom();
                        return;
                }
        }
}

void project_enqueue(LhProject *p, LhJob *j) {
        pool_prewarm(p);
        job_attach(j, p, now_usec(CLOCK_MONOTONIC));
        job_queue_append(&p->queue, j);
        project_notify_later(p, PROJECT_CHANGE_STATE);
}

void project_cancel_job(LhProject *p, LhJob *j) {
        LhFacts facts;
        LhError e;

        lh_error_set(&e, "cancelled", false, "The call was cancelled.");
        if (j->phase == JOB_PHASE_QUEUED) {
                job_queue_remove(&p->queue, j);
                project_get_facts(p, &facts);
                project_finish_job(p, j, &facts, &e);
                project_notify(p, PROJECT_CHANGE_STATE);
                return;
        }
        for (size_t i = 0; i < p->n_lanes; i++)
                if (p->lanes[i]->current == j) {
                        lane_cancel_job(p->lanes[i], &e);
                        return;
                }
        assert(!"a running job is on a lane");
}
