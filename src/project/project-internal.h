/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared inside src/project/ only. Layers, top to bottom (each calls only
 * downwards; a lower one reports back through callbacks it is given):
 *
 *   registry.c        LhRegistry, ProjectRecord      (root → project, forgetting)
 *   mailbox.c         (nothing: submit's refusals, cancel)
 *   actor.c           LhProject's actor fields       (mailbox, worker, tiers)
 *   snapshot.c        FactsCache                     (facts, state: reads the actor's fields)
 *   tiers.c           (nothing: pure verdicts, timers)
 *   worker-slot.c     WorkerSlot                     (the live worker, generations, samples)
 *   profiles.c        ImportProfiles                 (import headers per worker)
 *   restart-policy.c  RestartPolicy                  (statistics, window, poison)
 *   admission.c       Admission, AdmissionTicket     (worker slots, permits)
 *   queue.c           JobQueue, JobQueueLink         (the mailbox's order)
 *   job.c             LhJob                          (one call)
 *
 * A struct's fields are written only in the file that owns it;
 * check-layers.py fails on a call cycle between these files. */

#include <sys/types.h>

#include "project/admission.h"
#include "project/job-internal.h"
#include "project/profiles.h"
#include "project/project.h"
#include "project/queue.h"
#include "project/restart-policy.h"
#include "project/restart.h"
#include "project/snapshot.h"
#include "project/tiers.h"
#include "project/worker-slot.h"

/* What the registry keeps on a project (registry.c's). */
typedef struct ProjectRecord {
        usec_t last_resolved;
        LeanReadinessCache *readiness_cache;
        char **default_argv;           /* found off the loop by the last call's readiness check */
        void *bus_data;
        void (*bus_data_free)(void *data);
        void *tools_data;
        void (*tools_data_free)(void *data);
} ProjectRecord;

struct LhProject {
        LhRegistry *registry;
        char *root;
        char id[17];
        char description[256];

        JobQueue queue;       /* queue.c's: the waiting jobs */
        LhJob *current;       /* the running job */

        /* worker: at most one live one; a replacement starts only after the
         * old one's on_dead, so replies can only come from slot.worker */
        WorkerSlot slot;           /* worker-slot.c's */
        bool restart_requested;    /* explicit restart asked while a job ran */
        char *active_profile;      /* fingerprint of the last profile used, NULL = none */
        uint64_t profile_switch_count;

        AdmissionTicket ticket;    /* admission.c's */
        RestartPolicy restarts;    /* restart-policy.c's */

        FactsCache facts_cache;    /* snapshot.c's */

        sd_event_source *kick_source;
        sd_event_source *timeout_source;
        sd_event_source *idle_source;

        bool stopped;

        ProjectRecord record;      /* registry.c's */
};

struct LhRegistry {
        sd_event *event;
        const LhConfig *config;
        ScopePlacer *placer;

        LhProject **projects;
        size_t n_projects;

        Admission admission;       /* admission.c's */
        bool shutting_down;

        const RegistryObserver *observer;
        void *observer_userdata;

        sd_event_source *forget_source;
        uint64_t forgotten_restarts_total; /* of forgotten projects: totals never go down */
        /* a path resolved off the loop for the call being dispatched (borrowed) */
        const char *resolved_path, *resolved_root;
        uint64_t forgotten_restarts_by_cause[_RESTART_CAUSE_MAX];
};

/* actor.c, for registry.c and mailbox.c */
int project_new(LhProject **ret, LhRegistry *r, const char *root);
LhProject *project_free(LhProject *p);
void project_shutdown(LhProject *p);
void project_enqueue(LhProject *p, LhJob *j);    /* accepted: queued */
void project_cancel_job(LhProject *p, LhJob *j); /* queued or current */
bool project_check_cooling(LhProject *p);        /* ends it early when the window allows */
/* the admission's callbacks (registry.c wires them) */
void project_evict(LhProject *p);
void project_kick(LhProject *p);

/* snapshot.c */
bool project_is_quiet(const LhProject *p);
bool project_is_evictable(const LhProject *p);
bool project_is_forgettable(LhProject *p, usec_t now, usec_t idle);
EnforcementMode project_enforcement_for(const LhConfig *c, ScopePlacer *placer);
