/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The worker slot. Owns: WorkerSlot. Must not know: jobs, the restart
 * policy, admission, the project (the actor passes what it needs). */

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "basic/log.h"
#include "basic/time-util.h"
#include "project/worker-slot.h"

void worker_slot_init(WorkerSlot *s, EnforcementMode mode) {
        *s = (WorkerSlot) { .mode = mode };
}

static void worker_slot_reset(WorkerSlot *s) {
        s->ready = s->stopping = s->stop_recorded = false;
        s->rss_kib = s->anon_kib = s->tier_kib = 0;
        s->memory = (WorkerMemory) {};
        import_profiles_clear(&s->profiles);
}

void worker_slot_done(WorkerSlot *s) {
        s->worker = worker_free(s->worker);
        s->pid = 0;
        worker_slot_free_graveyard(s, true);
        worker_slot_reset(s);
}

int worker_slot_start(WorkerSlot *s, uint64_t generation, sd_event *event, const LhConfig *c, ScopePlacer *placer, bool require_scope,
                      EnforcementMode placed_mode, char **argv, const char *root, const char *id,
                      const char *description, const WorkerCallbacks *cb, void *userdata) {
        LhWorker *w = NULL;
        int k;

        assert(!s->worker);
        assert(generation > s->generation);

        WorkerSpec spec = {
                .argv = argv,
                .cwd = root,
                .project_id = id,
                .description = description,
                .generation = generation,
                .memory_high_kib = c->worker_rss_post_job_restart_kib,
                .memory_max_kib = c->worker_rss_hard_kill_kib,
                .sample_interval = c->worker_rss_sample_millis * USEC_PER_MSEC,
                .stderr_max_bytes = c->worker_stderr_max_bytes,
                .max_reply_bytes = c->worker_max_reply_bytes,
                .slice = c->slice,
                .sandbox = c->sandbox,
        };

        k = worker_start(&w, event, placer, require_scope, &spec, cb, userdata);
        if (k < 0)
                return k;

        s->generation = generation;
        s->worker = w;
        s->pid = worker_get_pid(w);
        worker_slot_reset(s);
        s->requests_served = 0;
        s->scope_unit[0] = 0;
        s->mode = placer ? placed_mode : ENFORCEMENT_MODE_PROCESS;
        return 0;
}

bool worker_slot_ready(WorkerSlot *s, LhWorker *w) {
        if (w != s->worker || s->stopping)
                return false;
        s->ready = true;
        s->mode = worker_get_mode(w);
        snprintf(s->scope_unit, sizeof s->scope_unit, "%s", strempty(worker_get_unit(w)));
        return true;
}

bool worker_slot_sample(WorkerSlot *s, LhWorker *w, const WorkerMemory *m) {
        if (w != s->worker || !m || !m->valid)
                return false;
        s->rss_kib = m->rss_kib;
        s->anon_kib = m->anon_kib;
        s->tier_kib = m->tier_kib;
        s->memory = *m;
        return true;
}

void worker_slot_sample_now(WorkerSlot *s) {
        LhWorker *w = s->worker;

        /* the sample comes back here, not through on_sample: one call down, none up */
        if (w)
                (void) worker_slot_sample(s, w, worker_sample_now(w));
}

void worker_slot_stop(WorkerSlot *s, RestartCause cause, const char *reason, bool kill) {
        assert(s->worker && !s->stopping);

        s->stopping = true;
        s->stop_recorded = true;
        if (kill)
                worker_kill(s->worker, cause, reason);
        else
                worker_stop(s->worker, cause, reason);
}

bool worker_slot_bury(WorkerSlot *s, LhWorker *w, WorkerSlotEnd *ret) {
        LhWorker **g;

        if (w != s->worker)
                return false;

        /* freed from the kick, never inside its own callback */
        g = realloc(s->graveyard, (s->n_graveyard + 1) * sizeof(LhWorker *));
        if (g) {
                s->graveyard = g;
                s->graveyard[s->n_graveyard++] = w;
        } else
                log_oom(); /* leaks one dead worker rather than freeing it under its own feet */

        *ret = (WorkerSlotEnd) {
                .was_ready = s->ready,
                .recorded = s->stop_recorded,
                .rss_kib = s->rss_kib,
        };
        s->worker = NULL;
        s->pid = 0;
        worker_slot_reset(s);
        return true;
}

void worker_slot_free_graveyard(WorkerSlot *s, bool all) {
        size_t k = 0;

        for (size_t i = 0; i < s->n_graveyard; i++) {
                if (all || worker_is_gone(s->graveyard[i]))
                        worker_free(s->graveyard[i]);
                else
                        s->graveyard[k++] = s->graveyard[i];
        }
        s->n_graveyard = k;
        if (k == 0)
                s->graveyard = mfree(s->graveyard);
}

void worker_slot_served(WorkerSlot *s) {
        s->requests_served++;
}

bool worker_slot_is_usable(const WorkerSlot *s) {
        /* not a worker the worker layer is already ending (its on_dead tells why) */
        return s->worker && s->ready && !s->stopping && worker_get_state(s->worker) < WORKER_STOPPING;
}
