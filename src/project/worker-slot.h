/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A project's one worker at a time: the live worker, the dead ones still
 * being reaped, the generation counter, what the last sample said and the
 * import profiles the worker holds. Owns WorkerSlot. Must not know: jobs,
 * the restart policy, admission, the project; the actor decides, the slot
 * does the bookkeeping. Worker state proper is read from the worker. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config/config.h"
#include "project/profiles.h"
#include "worker/worker.h"

typedef struct WorkerSlot {
        LhWorker *worker;          /* live one, or NULL */
        pid_t pid;                 /* the live one's: fixed at its start, reaped only as it is buried */
        LhWorker **graveyard;      /* dead workers, freed from the kick (not inside their callbacks) */
        size_t n_graveyard;
        uint64_t generation;       /* the last one handed out; 0 = none yet */
        bool ready;                /* its on_ready came */
        bool stopping;             /* a stop/kill was asked: nothing more is sent to it */
        bool stop_recorded;        /* the restart event of that stop is already recorded */
        uint64_t requests_served;
        uint64_t rss_kib, anon_kib;
        uint64_t tier_kib;         /* anon + swap: what the tiers judge */
        WorkerMemory memory;       /* last sample, for the kernel facts */
        EnforcementMode mode;
        char scope_unit[128];
        ImportProfiles profiles;   /* profiles.c's: the live worker's import headers */
} WorkerSlot;

/* What a worker's end leaves for the actor to judge. */
typedef struct WorkerSlotEnd {
        bool was_ready, recorded;
        uint64_t rss_kib;          /* the last sample */
} WorkerSlotEnd;

void worker_slot_init(WorkerSlot *s, EnforcementMode mode);
void worker_slot_done(WorkerSlot *s); /* kills and reaps synchronously */

/* Start a worker of this generation (> the last one). placer NULL: process mode. argv: the command. */
int worker_slot_start(WorkerSlot *s, uint64_t generation, sd_event *event, const LhConfig *c, ScopePlacer *placer, bool require_scope,
                      EnforcementMode placed_mode, char **argv, const char *root, const char *id,
                      const char *description, const WorkerCallbacks *cb, void *userdata);
/* From the worker's callbacks: false when w is not the live worker (or it is stopping). */
bool worker_slot_ready(WorkerSlot *s, LhWorker *w);
bool worker_slot_sample(WorkerSlot *s, LhWorker *w, const WorkerMemory *m);
/* A sample of the slot's worker now (worker_sample_now(): the hard tier
 * applies), kept as worker_slot_sample() does: the post-job tiers judge the
 * memory the job left behind. */
void worker_slot_sample_now(WorkerSlot *s);
/* Graceful stop (kill: SIGKILL now); the end is recorded by the caller already. */
void worker_slot_stop(WorkerSlot *s, RestartCause cause, const char *reason, bool kill);
/* on_dead: w goes to the graveyard, the slot is empty. false: not the live worker. */
bool worker_slot_bury(WorkerSlot *s, LhWorker *w, WorkerSlotEnd *ret);
/* all: also workers whose descendants are still being reaped (only at shutdown). */
void worker_slot_free_graveyard(WorkerSlot *s, bool all);
void worker_slot_served(WorkerSlot *s);
/* A live worker that is or was ready and is not on its way down. */
bool worker_slot_is_usable(const WorkerSlot *s);
