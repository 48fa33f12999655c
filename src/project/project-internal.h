/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between registry.c (registry, admission), actor.c (per-project
 * actor) and job.c. Nothing outside src/project/ includes this. */

#include <sys/types.h>

#include "project/project.h"
#include "project/restart.h"

typedef enum JobPhase {
        JOB_PHASE_NEW,
        JOB_PHASE_QUEUED,    /* in the project's queue */
        JOB_PHASE_WAITING,   /* current: waiting for a permit, a worker slot, a worker or a recycle */
        JOB_PHASE_IMPORTING, /* current: the import header is outstanding */
        JOB_PHASE_RUNNING,   /* current: start() called; a job command may be outstanding */
        JOB_PHASE_DONE,
} JobPhase;

struct LhJob {
        unsigned n_ref;
        char **imports;
        char *fingerprint;
        JobFlags flags;
        const JobOps *ops;
        void *userdata;

        LhProject *project; /* set at submit, cleared when done */
        JobPhase phase;
        LhJob *queue_prev, *queue_next;

        usec_t queued_at, admission_started, started_at;
        usec_t admission_wait;
        bool admitted;       /* admission_wait measured */
        bool switch_checked; /* profile switch counted / import-switch tier checked */
        unsigned retry_count;
        bool worker_restarted;
        RestartEvent call_restart;
        bool has_permit;
        uint64_t command_hash; /* of the job command outstanding (poison-input bookkeeping) */
        bool command_hashed;

        int base_env;
        uint64_t generation; /* of the worker that got the outstanding command */

        json_object *result;
        LhError error;
        bool has_error;

        JobProgressFunc progress;
        void *progress_userdata;
};

typedef struct ImportProfile {
        char *fingerprint;
        int env;
} ImportProfile;

struct LhProject {
        LhRegistry *registry;
        char *root;
        char id[17];
        char description[256];

        /* queue: running job is `current`, waiting ones in the list */
        LhJob *queue_head, *queue_tail;
        unsigned n_queued;
        LhJob *current;

        /* worker: at most one live one; a replacement starts only after the
         * old one's on_dead, so replies can only come from p->worker */
        LhWorker *worker;
        LhWorker **graveyard;      /* dead workers, freed from the kick (not inside their callbacks) */
        size_t n_graveyard;
        uint64_t generation;       /* of the current/last worker; 0 = none yet */
        bool worker_ready;
        bool worker_stopping;      /* a stop/kill was asked: nothing more is sent to it */
        bool stop_recorded;        /* the restart event of that stop is already recorded */
        bool holds_slot;           /* counts in registry workers_active */
        bool waiting_admission;
        usec_t waiting_since;
        bool eviction_requested;
        bool waiting_permit;
        bool restart_requested;    /* explicit restart asked while a job ran */
        uint64_t requests_served;
        ImportProfile *profiles;
        size_t n_profiles;
        char *active_profile;      /* fingerprint of the last profile used, NULL = none */
        uint64_t profile_switch_count;
        uint64_t rss_kib, anon_kib;
        uint64_t tier_kib;    /* anon + swap: what the tiers judge */
        WorkerMemory memory;  /* last sample, for the kernel facts */
        EnforcementMode mode;
        char scope_unit[128];
        usec_t last_used;

        /* restart accounting */
        RestartWindow window;
        bool cooling_down;
        RestartCause cooling_cause;
        uint64_t cooling_rss_kib, cooling_limit_kib;
        uint64_t restarts_total;
        uint64_t restarts_by_cause[_RESTART_CAUSE_MAX];
        RestartEvent last_restart;
        uint64_t poison[32];       /* commands that crashed a worker on their retry too (restart-policy.c) */
        unsigned n_poison, poison_next;

        sd_event_source *kick_source;
        sd_event_source *timeout_source;
        sd_event_source *idle_source;
        sd_event_source *cooldown_source;

        bool stopped;

        /* registry.c: forgetting idle projects, the D-Bus readiness cache */
        usec_t last_resolved;
        LeanReadinessCache *readiness_cache;
        char **default_argv;           /* found off the loop by the last call's readiness check */
        void *bus_data;
        void (*bus_data_free)(void *data);
};

struct LhRegistry {
        sd_event *event;
        const LhConfig *config;
        ScopePlacer *placer;

        LhProject **projects;
        size_t n_projects;

        unsigned workers_active;
        unsigned heavy_in_use;
        bool shutting_down;

        const RegistryObserver *observer;
        void *observer_userdata;

        sd_event_source *forget_source;
        uint64_t forgotten_restarts_total; /* of forgotten projects: totals never go down */
        /* a path resolved off the loop for the call being dispatched (borrowed) */
        const char *resolved_path, *resolved_root;
        uint64_t forgotten_restarts_by_cause[_RESTART_CAUSE_MAX];
};

/* actor.c */
int project_new(LhProject **ret, LhRegistry *r, const char *root);
LhProject *project_free(LhProject *p);
void project_kick(LhProject *p);
int project_timer_arm(LhProject *p, sd_event_source **s, usec_t after, sd_event_time_handler_t handler);
void project_timer_disarm(sd_event_source *s);
void project_shutdown(LhProject *p);
void project_notify(LhProject *p, ProjectChange what);
bool project_is_evictable(const LhProject *p);
void project_evict(LhProject *p);
bool project_is_quiet(const LhProject *p);

/* registry.c: admission. acquire_* return true when granted; otherwise the
 * project is marked waiting and kicked once a slot/permit is handed to it. */
bool registry_acquire_slot(LhRegistry *r, LhProject *p);
void registry_release_slot(LhRegistry *r, LhProject *p);
void registry_withdraw(LhRegistry *r, LhProject *p); /* no longer waiting for slot/permit */
bool registry_acquire_heavy(LhRegistry *r, LhProject *p);
void registry_release_heavy(LhRegistry *r);
/* A project went idle: an admission waiter may now evict it. */
void registry_admission_poke(LhRegistry *r);
void registry_notify_workers(LhRegistry *r);
/* pure: index of the least recently used evictable project other than
 * requester among candidates, or -1 */
ssize_t admission_pick_lru(LhProject *const *projects, size_t n, const LhProject *requester);

/* job.c */
void job_queue_append(LhProject *p, LhJob *j);
void job_queue_prepend(LhProject *p, LhJob *j);
void job_queue_remove(LhProject *p, LhJob *j);
/* A stage of j for its progress callback (none set: nothing is formatted). */
void job_progress(LhJob *j, const char *format, ...) _printf_(2, 3);
/* Each queued job of p: its place in the mailbox (jobs ahead, the running one included). */
void job_queue_progress(LhProject *p);
/* Fill per-call facts and call done() once; drops the project's reference. */
void job_finish(LhJob *j, const LhError *err);
