/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Memory samples of one worker and the hard tier on them. A sample reads
 * only the worker's own processes: its scope's memory cgroup, or without one
 * its process tree via /proc/PID/task/TID/children (memory.c) — never every
 * process on the machine, so its cost does not grow with the host's process
 * count. When to sample (only while a job runs, and once at its end) is the
 * state machine's call (worker.c); this file takes and judges samples. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "worker/worker-tree.h"
#include "worker/worker.h"

typedef struct WorkerSampler {
        char *cgroup_dir;      /* memory cgroup directory, located lazily */
        bool cgroup_v2;
        bool cgroup_located;
        uint64_t oom_kills_baseline;
        bool oom_baseline_valid;
        /* process mode: the last walk of the tree (rule: worker-sample.c) */
        ProcTreeEntry *found;
        size_t n_found;
        bool found_valid;
        pid_t walk_root;
        uint64_t walk_last_pid;
        uint64_t walked_at;    /* CLOCK_MONOTONIC usec */
        unsigned n_walks, n_reused; /* for tests */
} WorkerSampler;

void worker_sampler_done(WorkerSampler *s);

/* Find the memory cgroup of pid (scope mode), once. name is for logs. */
void worker_sampler_locate(WorkerSampler *s, pid_t pid, const char *name);

/* One sample of the worker led by pid: its cgroup when located, else its
 * process tree (then tree remembers the descendants: no cgroup holds them
 * together). -errno when the worker is gone. */
int worker_sampler_read(WorkerSampler *s, pid_t pid, WorkerTree *tree, WorkerMemory *ret);

/* Did the kernel OOM-kill something in the scope? 1 yes, 0 no, -errno when
 * the cgroup cannot be read (already removed). *ret_peak_kib: its peak. */
int worker_sampler_oom_killed(WorkerSampler *s, uint64_t *ret_peak_kib);

/* Is m over the hard tier max_kib (anonymous memory plus swap)? Then true
 * and why in reason. */
bool worker_memory_over_hard_tier(const WorkerMemory *m, uint64_t max_kib, char *reason, size_t reason_size);

/* Was memory at the hard tier (within ~5%) in m? In scope mode the kernel
 * limits the whole charge, in process mode the daemon acts on anonymous
 * memory. */
bool worker_memory_at_limit(const WorkerMemory *m, EnforcementMode mode, uint64_t max_kib);
