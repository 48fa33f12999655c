/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One Lean worker process: a child speaking the REPL JSON protocol on
 * stdin/stdout, optionally placed in its own transient scope.
 *
 * State machine:
 *   spawning → placing (scope job pending) → ready ⇄ busy → stopping → dead
 * Every transition into dead carries exactly one RestartCause, reported once
 * through on_dead. The worker never calls up except through its callbacks. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "worker/restart-cause.h"
#include "worker/sandbox.h"

typedef struct LhWorker LhWorker;
typedef struct ScopePlacer ScopePlacer; /* worker/scope.h */

typedef enum WorkerState {
        WORKER_SPAWNING,
        WORKER_PLACING,
        WORKER_READY,
        WORKER_BUSY,
        WORKER_STOPPING,
        WORKER_DEAD,
        _WORKER_STATE_MAX,
} WorkerState;

typedef enum EnforcementMode {
        ENFORCEMENT_MODE_SCOPE,   /* transient scope, kernel MemoryMax + daemon sampling */
        ENFORCEMENT_MODE_PROCESS, /* plain child, daemon-side enforcement only */
        _ENFORCEMENT_MODE_MAX,
} EnforcementMode;

typedef struct WorkerMemory {
        bool valid;
        uint64_t rss_kib;   /* total charged (memory.current / usage_in_bytes, or sum of VmRSS) */
        uint64_t anon_kib;  /* anonymous (memory.stat anon / rss, or RssAnon): restart decisions use this */
        uint64_t file_kib;  /* page cache incl. mapped .olean files: reported, never acted on */
        uint64_t oom_kills; /* kernel OOM kills seen in the scope's cgroup */
        uint64_t tier_kib;  /* what the tiers judge: worker_memory_tier_kib() of this sample */
        const char *source; /* "cgroup-v2", "cgroup-v1", "proc" (static string) */

        /* Kernel facts of the scope's cgroup, v2 only: on cgroup v1 and in
         * process mode the *_valid flags stay false (absent, never zero). */
        bool swap_valid;
        uint64_t swap_kib;  /* memory.swap.current: counted in every tier */
        bool events_valid;
        uint64_t events_high, events_max, events_oom_kill; /* memory.events */
        bool pressure_valid;
        double pressure_some_avg10, pressure_full_avg10;   /* memory.pressure (PSI), percent */
} WorkerMemory;

/* What the tiers judge: anonymous memory plus what of it went to swap, never
 * file-backed page cache (mapped .olean files). */
static inline uint64_t worker_memory_tier_kib(const WorkerMemory *m) {
        return m->anon_kib + (m->swap_valid ? m->swap_kib : 0);
}

typedef struct WorkerSpec {
        char **argv;              /* exec'd directly, never through a shell */
        const char *cwd;          /* project root */
        const char *project_id;   /* short hash: in the scope's name (scope_placer_unit_name()) */
        const char *description;  /* scope Description= */
        uint64_t generation;
        uint64_t memory_high_kib; /* post-job tier: judged by the actor after a job, no kernel MemoryHigh */
        uint64_t memory_max_kib;  /* hard tier: MemoryMax (+ MemorySwapMax=0) in scope mode, sampler kill always */
        usec_t sample_interval;
        uint64_t stderr_max_bytes;
        uint64_t max_reply_bytes;   /* one REPL reply; larger: protocol error, worker killed (0 = default) */
        const char *slice;        /* "lean-host.slice" */
        SandboxMode sandbox;      /* argv runs in bwrap unless SANDBOX_NONE (worker/sandbox.h) */
} WorkerSpec;

typedef struct WorkerCallbacks {
        /* Exec'd (and placed, in scope mode): commands may be sent. */
        void (*on_ready)(LhWorker *w, void *userdata);
        /* The reply to the outstanding command; worker is back to ready. Owns nothing: ref it to keep it. */
        void (*on_reply)(LhWorker *w, json_object *reply, void *userdata);
        /* Exactly once per worker. rss/limit are filled for memory causes (0 otherwise). */
        void (*on_dead)(LhWorker *w, RestartCause cause, const char *reason, uint64_t rss_kib, uint64_t limit_kib, void *userdata);
        /* Every memory sample (may be NULL). */
        void (*on_sample)(LhWorker *w, const WorkerMemory *m, void *userdata);
} WorkerCallbacks;

/* Starts the worker: fork; the child waits on a pipe while (in scope mode)
 * the placer creates the scope; then it execs. placer == NULL, an unavailable
 * placer or placement failure → process mode, unless require_scope: then
 * worker_start fails with -EOPNOTSUPP (placer NULL/unavailable) or the worker
 * dies with cause worker_internal (placement failed). Never blocks on D-Bus. */
int worker_start(LhWorker **ret, sd_event *event, ScopePlacer *placer, bool require_scope,
                 const WorkerSpec *spec, const WorkerCallbacks *cb, void *userdata);

/* Send one REPL command (an object; serialized as one line + blank line).
 * Only in WORKER_READY; -EBUSY otherwise. */
int worker_send(LhWorker *w, json_object *command);

/* Abnormal end now: SIGKILL the process (and scope); on_dead(cause) follows
 * from the event loop, never from inside this call. */
void worker_kill(LhWorker *w, RestartCause cause, const char *reason);

/* Planned end: close stdin, SIGTERM after a grace, SIGKILL after another;
 * on_dead(cause) follows. */
void worker_stop(LhWorker *w, RestartCause cause, const char *reason);

/* Drop the caller's reference. A live worker is killed first (cause shutdown)
 * without calling on_dead. */
LhWorker *worker_free(LhWorker *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(LhWorker *, worker_free);

/* Reaped, with every descendant seen killed and reaped too: freeing it now
 * never waits. */
bool worker_is_gone(const LhWorker *w);
WorkerState worker_get_state(const LhWorker *w);
pid_t worker_get_pid(const LhWorker *w);
uint64_t worker_get_generation(const LhWorker *w);
EnforcementMode worker_get_mode(const LhWorker *w);
const char *worker_get_unit(const LhWorker *w);         /* scope unit name or NULL */
const WorkerMemory *worker_get_memory(const LhWorker *w); /* last sample */
/* Sample now (the hard tier applies) and return the sample to the caller
 * (on_sample is for the periodic samples only): decisions right after a job
 * must not use a sample older than it. */
const WorkerMemory *worker_sample_now(LhWorker *w);
usec_t worker_get_started(const LhWorker *w);

/* stderr lines logged and bytes dropped over spec->stderr_max_bytes so far. */
void worker_get_stderr_stats(const LhWorker *w, uint64_t *ret_logged_bytes, uint64_t *ret_dropped_bytes);

/* Notes for callers:
 * - sd_event_add_child() is used to watch the child: SIGCHLD must be blocked
 *   in every thread before worker_start() (the daemon does so at start; tests
 *   must too). SIGPIPE need not be ignored: stdin is a socket written with
 *   MSG_NOSIGNAL.
 * - on_dead is never called from inside worker_start/worker_send/worker_kill/
 *   worker_stop/worker_free, only from event loop dispatch. The first cause
 *   requested (by worker_kill/worker_stop or the sampler) wins over the
 *   classification of the child's death.
 * - worker_free() on a live worker SIGKILLs it and reaps it synchronously.
 * - Each worker leads its own process group; the daemon is made a child
 *   subreaper, so descendants that leave the group (setsid) are reaped and
 *   killed with it too. If the daemon itself is SIGKILLed in process mode,
 *   only the direct child goes (PR_SET_PDEATHSIG); its descendants are
 *   orphaned (to init or the next subreaper above). */

const char *worker_state_to_string(WorkerState s);
const char *enforcement_mode_to_string(EnforcementMode m);
