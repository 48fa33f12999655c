/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The project registry (canonical root → actor), the per-project actor
 * (mailbox, one job at a time, restart window, tiers), admission (global
 * worker cap with LRU eviction, heavy-job permits), and jobs.
 *
 * Project: idle ⇄ starting ⇄ busy; cooling_down while the restart window is
 *          full (calls fail fast with retry_after); stopped.
 * Call:    queued → admitted → running → (retrying) → answered; exactly one
 *          answer (JobOps.done) per accepted job, shutdown included. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "basic/thread-util.h"
#include "config/config.h"
#include "lean/readiness.h"
#include "project/error.h"
#include "project/facts.h"
#include "worker/scope.h"

typedef struct LhRegistry LhRegistry;
typedef struct LhProject LhProject;
typedef struct LhJob LhJob;

/* ---- registry ---------------------------------------------------------- */

typedef enum ProjectChange {
        PROJECT_CHANGE_STATE = 1 << 0,   /* State, QueueDepth */
        PROJECT_CHANGE_WORKER = 1 << 1,  /* WorkerPID, WorkerGeneration, ScopeUnit, ImportProfile… */
        PROJECT_CHANGE_RESTARTS = 1 << 2,/* RestartsTotal, RestartsByCause, LastRestart… */
} ProjectChange;

/* Upward notifications (D-Bus objects, idle-exit accounting). Any may be NULL. */
typedef struct RegistryObserver {
        void (*project_added)(LhProject *p, void *userdata);
        void (*project_changed)(LhProject *p, ProjectChange what, void *userdata);
        void (*worker_restarted)(LhProject *p, const RestartEvent *ev, void *userdata);
        void (*workers_changed)(LhRegistry *r, unsigned workers_active, void *userdata);
        /* about to be forgotten (idle for project.forget_idle_secs): p is still valid */
        void (*project_removed)(LhProject *p, void *userdata);
} RegistryObserver;

int registry_new(LhRegistry **ret, sd_event *event, const LhConfig *config, ScopePlacer *placer);
LhRegistry *registry_free(LhRegistry *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(LhRegistry *, registry_free);
/* The observer whose userdata is userdata becomes o (NULL: none). Up to
 * REGISTRY_MAX_OBSERVERS at once (the D-Bus service's and the manager's),
 * each told directly: nothing relays for another. */
#define REGISTRY_MAX_OBSERVERS 2
void registry_set_observer(LhRegistry *r, const RegistryObserver *o, void *userdata);

/* Find (or open) the project whose Lake root contains path (a root or any
 * path inside it; resolved upward to lakefile.lean/lakefile.toml,
 * canonicalised). On failure fills err (project_not_found, …). */
int registry_resolve(LhRegistry *r, const char *path, LhProject **ret, LhError *err);
LhProject *registry_find_by_id(LhRegistry *r, const char *id);
/* The same without any file system access, for a root already resolved
 * (canonical, checked) off the loop: find or open it. */
int registry_resolve_root(LhRegistry *r, const char *root, LhProject **ret, LhError *err);
/* registry_resolve() without any wait on the loop: path is resolved on a
 * thread, done(job, userdata, k) runs on event (NULL: the registry's) when
 * it ended (k 0) or after PROJECT_RESOLVE_TIMEOUT_USEC (k -ETIMEDOUT, job
 * NULL); there, registry_resolve_finish() gives the project or the error
 * (path_unresponsive on a time-out). -EBUSY: too many look-ups are stuck. */
int registry_resolve_start(LhRegistry *r, sd_event *event, const char *path, ThreadAsyncDone done, void *userdata,
                           ThreadAsync **ret);
int registry_resolve_finish(LhRegistry *r, void *job, int k, const char *path, LhProject **ret, LhError *err);
/* The known project whose root is path or contains it (no file system access), or NULL. */
LhProject *registry_find_by_path(LhRegistry *r, const char *path);
/* Forget every project with no worker, no job, no cooldown and no call for
 * project.forget_idle_secs (run by a timer; exposed for tests). Returns how many. */
size_t registry_forget_idle(LhRegistry *r);
/* The project's cached file reads for repeated readiness checks (D-Bus). */
LeanReadinessCache *project_get_readiness_cache(LhProject *p);
/* What the bus layer keeps per project (freed with it by free_data, which
 * must not call back into the project). */
void *project_get_bus_data(LhProject *p);
void project_set_bus_data(LhProject *p, void *data, void (*free_data)(void *data));
/* The same for the tools layer (worker stamps, smoke accounting): one
 * record per project, gone with it, so no second per-project table. */
void *project_get_tools_data(LhProject *p);
void project_set_tools_data(LhProject *p, void *data, void (*free_data)(void *data));

/* Iterate: idx from 0 while non-NULL. */
LhProject *registry_get_project(LhRegistry *r, size_t idx);
size_t registry_get_n_projects(LhRegistry *r);
unsigned registry_get_workers_active(LhRegistry *r);
uint64_t registry_get_max_workers(LhRegistry *r);
EnforcementMode registry_get_enforcement(LhRegistry *r); /* mode new workers get */
uint64_t registry_get_restarts_total(LhRegistry *r);
void registry_get_restarts_by_cause(LhRegistry *r, uint64_t by_cause[static _RESTART_CAUSE_MAX]);

/* Daemon stop: reject all queued jobs (shutting_down), stop all workers and
 * their scopes. done() is called for every accepted job before this returns
 * or from the event loop shortly after; *ret_pending tells how many workers
 * are still going down. */
void registry_shutdown(LhRegistry *r);
bool registry_is_quiet(LhRegistry *r); /* no jobs, no live workers */

/* ---- project ------------------------------------------------------------ */

const char *project_get_root(const LhProject *p);
const char *project_get_id(const LhProject *p);  /* 16 hex chars, stable hash of the root */
/* The snapshot (per-call fields zero), computed once per change. */
void project_get_facts(LhProject *p, LhFacts *ret);
/* The live workers of p's pool, oldest lane first: up to n into ret; returns how many there are. */
size_t project_get_workers(LhProject *p, LhWorkerFacts *ret, size_t n);
/* How many snapshots were computed (tests bound it). */
uint64_t project_get_facts_computed(const LhProject *p);
const LhConfig *project_get_config(const LhProject *p);
/* What stays the same for the project's life, read at once by a caller that
 * needs several of it (a tool call): borrowed while p lives. */
typedef struct LhProjectView {
        const char *root;
        const char *id;
        const LhConfig *config;
} LhProjectView;
void project_get_view(const LhProject *p, LhProjectView *ret);

/* Operator actions: planned recycle (explicit) / stop the worker (project
 * stays known, next call starts a worker again). */
int project_restart_worker(LhProject *p);
int project_stop_worker(LhProject *p);

/* ---- jobs --------------------------------------------------------------- */

typedef enum JobFlags {
        JOB_READ_ONLY = 1 << 0, /* retried once if its worker dies */
        JOB_HEAVY = 1 << 1,     /* needs a heavy permit (proof search) */
        /* The commands bring their own imports (the REPL's file mode, no
         * "env"): no import header, runs on the worker as it is and leaves
         * its import profile alone (no import-switch recycle). */
        JOB_OWN_IMPORTS = 1 << 2,
} JobFlags;

/* A job drives the worker through commands. The actor first makes sure the
 * worker holds the job's import profile (the header is run once per worker
 * and its env id reused: start()'s base_env, job_get_base_env()); then calls start(); each reply
 * goes to step(). start/step return 0 with *ret_command set (sent next,
 * ownership passes), 1 when finished (*ret_command, when set, is the result;
 * else what job_set_result() set), or a
 * negative errno with job_set_error() called. On a retry after worker death
 * start() is called again from scratch. done() is called exactly once; after
 * it nothing reaches the submitter but free_userdata (optional) when the job
 * is freed, so done() may release userdata itself. */
typedef struct JobOps {
        /* base_env: env id of the import header in this worker, -1 none */
        int (*start)(LhJob *job, void *userdata, int base_env, json_object **ret_command);
        int (*step)(LhJob *job, void *userdata, json_object *reply, json_object **ret_command);
        /* result (NULL on error) and err (NULL on success) are borrowed. */
        void (*done)(LhJob *job, void *userdata, json_object *result, const LhError *err, const LhFacts *facts);
        void (*free_userdata)(void *userdata);
} JobOps;

/* Stages of a job as the actor sees them (waiting in the mailbox, worker
 * start, import, running, retry), for the caller's progress report. message
 * is borrowed; the callback must not call back into the project. */
typedef void (*JobProgressFunc)(LhJob *job, const char *message, void *userdata);

/* imports: the module names of the import header (may be empty/NULL). */
int job_new(LhJob **ret, char **imports, JobFlags flags, const JobOps *ops, void *userdata);
LhJob *job_ref(LhJob *j);
LhJob *job_unref(LhJob *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(LhJob *, job_unref);

/* 0: accepted, done() will follow exactly once. <0: refused now (err filled:
 * mailbox_full, worker_unavailable while cooling down, shutting_down), done()
 * is not called. */
int project_submit(LhProject *p, LhJob *job, LhError *err);

/* A job as its submitter describes it: job_new(), its settings and
 * project_submit() in one call. */
typedef struct JobSpec {
        char **imports;           /* borrowed (copied) */
        JobFlags flags;
        const JobOps *ops;
        void *userdata;           /* released by ops->free_userdata, also when refused */
        uint64_t want_generation; /* job_set_want_generation(), 0: any worker */
        JobProgressFunc progress; /* job_set_progress(), NULL: none */
        void *progress_userdata;
} JobSpec;
/* As project_submit(); on 0, *ret_job is the job, weak: valid until its done()
 * returned (for job_cancel()). */
int project_submit_new(LhProject *p, const JobSpec *spec, LhError *err, LhJob **ret_job);

/* Queued: removed, done(cancelled). Running: worker killed (cause cancelled),
 * done(cancelled). Finished: no-op. */
void job_cancel(LhJob *job);

void job_set_progress(LhJob *job, JobProgressFunc progress, void *userdata);
int job_get_base_env(const LhJob *job);  /* env id of the import header in this worker, -1 none */
void job_set_result(LhJob *job, json_object *result); /* takes ownership */
void job_set_error(LhJob *job, const LhError *err);   /* copies (details ref'd) */
LhProject *job_get_project(const LhJob *job);
unsigned job_get_retry_count(const LhJob *job);
/* Before submit: the job must run on the worker of this generation (a proof
 * state lives there); the pool routes it there, or start() finds it gone. */
void job_set_want_generation(LhJob *job, uint64_t generation);
/* The generation of the worker start() runs on (0 before start). */
uint64_t job_get_worker_generation(const LhJob *job);
/* A live worker of p has this generation (proof states are per worker), with
 * that worker's facts (ret may be NULL). */
bool project_get_worker(LhProject *p, uint64_t generation, LhWorkerFacts *ret);

/* The worker argv used when config worker_command is unset: what the last
 * readiness check (off the loop) found, else ["lake", "env", "repl"]. */
int project_default_worker_argv(const LhProject *p, char ***ret);
/* What a readiness check off the loop found for it (takes argv; NULL: none yet). */
void project_set_default_worker_argv(LhProject *p, char **argv);
unsigned project_get_queue_depth(const LhProject *p); /* running + queued */
ProjectState project_get_state(const LhProject *p);
