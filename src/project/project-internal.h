/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared inside src/project/ only. Layers, top to bottom (each calls only
 * downwards; a lower one reports back through callbacks it is given):
 *
 *   registry.c        LhRegistry, ProjectRecord      (root → project, forgetting)
 *   mailbox.c         (nothing: submit's refusals, cancel)
 *   pool.c            LhProject's lanes              (routing, growth, the project's verbs)
 *   actor.c           LhLane, LhProject's actor fields (one lane's job and worker, tiers)
 *   lane.c            LhLane's life, its warm-up wish
 *   snapshot.c        FactsCache                     (facts, state: reads the actor's fields)
 *   tiers.c           (nothing: pure verdicts, timers)
 *   worker-slot.c     WorkerSlot                     (the live worker, generations, samples)
 *   profiles.c        ImportProfiles                 (import headers per worker)
 *   restart-policy.c  RestartPolicy                  (statistics, window, poison)
 *   admission.c       Admission, AdmissionTicket     (worker slots, permits)
 *   queue-deadline.c  (LhProject's deadline timer)   (a queued job answered at its deadline)
 *   queue.c           JobQueue, JobQueueLink         (the mailbox's order)
 *   job.c             LhJob                          (one call)
 *
 * A struct's fields are written only in the file that owns it;
 * check-layers.py fails on a call cycle between these files. */

#include <sys/types.h>

#include "project/admission.h"
#include "project/pool-budget.h"
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

/* One worker of a project's pool: its job, its worker, its timers, its
 * admission ticket (actor.c's; pool.c decides which lane a job goes to and
 * when there is one more). A lane's worker is replaced only after its
 * on_dead, so replies can only come from slot.worker. */
typedef struct LhLane {
        LhProject *project;
        unsigned index;
        LhJob *current;            /* the job running on this lane */
        WorkerSlot slot;           /* worker-slot.c's */
        bool restart_requested;    /* explicit restart asked while a job ran */
        char *active_profile;      /* fingerprint of the last profile used, NULL = none */
        /* warm successor: the imports the next worker loads as soon as it is
         * ready, before any call asks (NULL: none wanted) */
        char **warm_imports;
        char *warm_fingerprint;
        bool warming;              /* that header is outstanding (no job) */
        usec_t busy_since;         /* the current job's start on this lane, 0 = idle */
        AdmissionTicket ticket;    /* admission.c's */
        sd_event_source *timeout_source;
        sd_event_source *idle_source;
} LhLane;

struct LhProject {
        LhRegistry *registry;
        char *root;
        char id[17];
        char description[256];

        JobQueue queue;       /* queue.c's: the waiting jobs */
        sd_event_source *deadline_source; /* queue-deadline.c's: the head's deadline */

        /* the pool (pool.c's array; each lane is actor.c's): lanes[0] always
         * exists, more while calls wait, up to project.max_workers */
        LhLane **lanes;
        size_t n_lanes;
        uint64_t last_generation;  /* generations are per project, over all lanes */
        uint64_t profile_switch_count;
        usec_t service_usec;       /* a call's time on its lane, smoothed (mailbox_full's retry_after_ms) */

        RestartPolicy restarts;    /* restart-policy.c's: per project, over all lanes */

        FactsCache facts_cache;    /* snapshot.c's */

        sd_event_source *kick_source;
        /* the observers hear a dispatch's changes once, at its end (pool.c) */
        ProjectChange pending_changes;
        bool in_kick;

        bool stopped;
        bool prewarmed;            /* project.prewarm_imports asked for (pool.c's) */

        ProjectRecord record;      /* registry.c's */
};

struct LhRegistry {
        sd_event *event;
        const LhConfig *config;
        ScopePlacer *placer;

        LhProject **projects;
        size_t n_projects;

        Admission admission;       /* admission.c's */
        PoolBudget pool_budget;    /* pool-budget.c's: project.pool_memory_kib "auto" */
        bool shutting_down;

        struct {
                const RegistryObserver *o;
                void *userdata;
        } observers[REGISTRY_MAX_OBSERVERS]; /* registry_set_observer() */

        sd_event_source *forget_source;
        uint64_t forgotten_restarts_total; /* of forgotten projects: totals never go down */
        uint64_t forgotten_restarts_by_cause[_RESTART_CAUSE_MAX];
};

/* Tells every observer of r that has field, with the arguments and then its
 * userdata (a statement; header-inline so no file calls registry.c for it). */
#define REGISTRY_TELL(r, field, ...)                                                          \
        for (size_t _i = 0; _i < ELEMENTSOF((r)->observers); _i++)                            \
                if ((r)->observers[_i].o && (r)->observers[_i].o->field)                      \
                        (r)->observers[_i].o->field(__VA_ARGS__, (r)->observers[_i].userdata)

/* pool.c, for registry.c and mailbox.c */
int project_new(LhProject **ret, LhRegistry *r, const char *root);
LhProject *project_free(LhProject *p);
void project_shutdown(LhProject *p);
void project_enqueue(LhProject *p, LhJob *j);    /* accepted: queued */
void project_cancel_job(LhProject *p, LhJob *j); /* queued or current */

/* queue-deadline.c, for mailbox.c and pool.c: a queued job is answered
 * timeout at project.request_timeout_millis after its acceptance */
void queue_deadline_arm(LhProject *p);  /* at the queue head's deadline (none: off) */
void queue_deadline_done(LhProject *p);

/* lane.c */
int lane_new(LhLane **ret, LhProject *p, unsigned index);
LhLane *lane_free(LhLane *l);
void lane_clear_warm(LhLane *l);
void lane_want_successor(LhLane *l, RestartCause cause); /* its worker ends for cause */
void lane_set_warming(LhLane *l, bool warming);
int lane_want_imports(LhLane *l, char **imports); /* its next worker loads these, no call needed */
void lane_note_service_time(LhLane *l);  /* its job ends: the project's smoothed call time */

/* actor.c, for pool.c (and the admission's callbacks, which registry.c wires) */
void lane_take_job(LhLane *l, LhJob *j, usec_t now); /* j left the queue: l runs it */
void lane_dispatch(LhLane *l);                      /* advance l's job (or its warm-up) */
void lane_went_idle(LhLane *l);
void lane_fail_waiting(LhLane *l, const LhError *e); /* its job, if still waiting, ends with e */
void lane_shutdown(LhLane *l, const LhError *e); /* its job answered with e, its worker gone */
void lane_restart_worker(LhLane *l);
void lane_stop_worker(LhLane *l);
void lane_cancel_job(LhLane *l, const LhError *e);
void lane_evict(LhLane *l);
void project_finish_job(LhProject *p, LhJob *j, const LhFacts *facts, const LhError *err);
void project_notify(LhProject *p, ProjectChange what);
/* The same, heard at the end of the kick it schedules: a change made just
 * before the actor runs is told with the actor's own, once. */
void project_notify_later(LhProject *p, ProjectChange what);
bool project_check_cooling(LhProject *p);        /* ends it early when the window allows */
void project_kick(LhProject *p);

/* snapshot.c */
bool project_is_quiet(const LhProject *p);
bool lane_is_evictable(const LhLane *l);
bool lane_is_busy(const LhLane *l);               /* a job, or a warm-up under way */
bool project_is_forgettable(LhProject *p, usec_t now, usec_t idle);
/* May one more worker start in p's pool (project.pool_memory_kib over the hard tiers)? */
bool project_pool_may_start(const LhProject *p);
unsigned project_pool_live_workers(const LhProject *p);
/* The memory the pool's hard tiers may fill, and where that number came from. */
uint64_t project_pool_budget_kib(const LhProject *p, const char **ret_source);
/* The most lanes the pool may have: project.max_workers, worker.max_workers, the budget. */
unsigned project_pool_max_lanes(const LhProject *p);
/* Calls running or queued the mailbox takes: project.mailbox_capacity per lane. */
uint64_t project_mailbox_limit(const LhProject *p);
/* When a call refused now (mailbox_full) should come back: the queue
 * ahead of it over the lanes that serve it, at the smoothed call time. */
uint64_t project_estimate_retry_after_ms(const LhProject *p);
/* The project's facts with l's worker in the worker fields (a call's facts). */
void lane_get_facts(LhLane *l, LhFacts *ret);
EnforcementMode project_enforcement_for(const LhConfig *c, ScopePlacer *placer);
