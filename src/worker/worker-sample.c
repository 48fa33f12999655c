/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Memory samples of one worker and the hard tier on them: see
 * worker-sample.h. Called by worker.c only; calls nothing above it.
 *
 * Process mode, the tree rule: a sample sums /proc/PID/statm over the
 * worker and the descendants of its last full walk (/proc/PID/task/TID/
 * children, breadth first, which also feeds WorkerTree). The walk is
 * redone only when a process may have been created since: the namespace's
 * last pid (/proc/loadavg) moved, or the walk is older than
 * TREE_REWALK_USEC. While the last pid stays, no fork or clone happened
 * anywhere in our pid namespace or below it, so the tree can only have
 * lost members (their statm is gone, or a zombie's zeros) and no pid in it
 * can name another process. A process that forked during a job moved the
 * last pid, so the job-end sample walks again and counts it (a `lake env
 * repl` parent and its child, or a child the REPL started); one that also
 * exited during the job took its memory with it. The age bound covers the
 * pid counter wrapping round to the very same value. */

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "basic/time-util.h"
#include "worker/memory.h"
#include "worker/proc-tree.h"
#include "worker/worker-sample.h"

#define TREE_REWALK_USEC (5 * USEC_PER_SEC)

void worker_sampler_done(WorkerSampler *s) {
        s->cgroup_dir = mfree(s->cgroup_dir);
        s->found = mfree(s->found);
        s->n_found = 0;
        s->found_valid = false;
}

/* The process-mode sample: root and its descendants, walking the tree only
 * when it may have grown (the rule in the top comment). */
static int sampler_read_tree(WorkerSampler *s, pid_t pid, WorkerTree *tree, WorkerMemory *ret) {
        _cleanup_free_ ProcTreeEntry *found = NULL;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        uint64_t last_pid = 0;
        bool last_pid_ok;
        size_t n = 0;
        int r;

        last_pid_ok = proc_last_pid(&last_pid) >= 0;
        if (s->found_valid && s->walk_root == pid && last_pid_ok && last_pid == s->walk_last_pid &&
            now < s->walked_at + TREE_REWALK_USEC) {
                s->n_reused++;
                return memory_sample_proc_entries(pid, s->found, s->n_found, ret);
        }

        /* the last pid is read before the walk: a fork during it moves it
         * on, and the next sample walks again */
        s->found_valid = false;
        r = proc_tree_collect(pid, &found, &n);
        /* one walk for both: the sample, and the descendants remembered
         * (no cgroup holds them together); orphans are adopted even when
         * the root is gone */
        if (tree)
                worker_tree_track_found(tree, found, n);
        if (r < 0)
                return r;
        s->n_walks++;
        r = memory_sample_proc_entries(pid, found, n, ret);
        if (r < 0)
                return r;
        free(s->found);
        s->found = TAKE_PTR(found);
        s->n_found = n;
        s->walk_root = pid;
        s->walk_last_pid = last_pid;
        s->walked_at = now;
        s->found_valid = last_pid_ok;
        return 0;
}

void worker_sampler_locate(WorkerSampler *s, pid_t pid, const char *name) {
        assert(s);
        if (s->cgroup_located || pid <= 0)
                return;
        s->cgroup_located = true;
        /* the pid's own view is as good as the placer's path and works for v1 too */
        if (memory_cgroup_locate(pid, &s->cgroup_dir, &s->cgroup_v2) < 0)
                log_debug("Worker %s: no memory cgroup found, sampling its process tree.", name);
        else
                log_debug("Worker %s: memory cgroup %s.", name, s->cgroup_dir);
}

int worker_sampler_read(WorkerSampler *s, pid_t pid, WorkerTree *tree, WorkerMemory *ret) {
        WorkerMemory m = {};
        int r = -ENOENT;

        assert(s);
        assert(ret);
        if (s->cgroup_dir)
                r = memory_sample_cgroup(s->cgroup_dir, s->cgroup_v2, &m);
        if (r < 0)
                r = sampler_read_tree(s, pid, tree, &m);
        if (r < 0)
                return r;
        if (!s->oom_baseline_valid && s->cgroup_dir) {
                s->oom_kills_baseline = m.oom_kills;
                s->oom_baseline_valid = true;
        }
        m.valid = true;
        m.tier_kib = worker_memory_tier_kib(&m);
        *ret = m;
        return 0;
}

int worker_sampler_oom_killed(WorkerSampler *s, uint64_t *ret_peak_kib) {
        WorkerMemory m = {};
        int r;

        *ret_peak_kib = 0;
        if (!s->cgroup_dir)
                return -ENOENT;
        r = memory_sample_cgroup(s->cgroup_dir, s->cgroup_v2, &m);
        if (r < 0)
                return r;
        (void) memory_cgroup_peak_kib(s->cgroup_dir, s->cgroup_v2, ret_peak_kib);
        return m.oom_kills > (s->oom_baseline_valid ? s->oom_kills_baseline : 0);
}

bool worker_memory_over_hard_tier(const WorkerMemory *m, uint64_t max_kib, char *reason, size_t reason_size) {
        /* The hard tier on anonymous memory plus swap: the kernel enforces
         * MemoryMax on the whole charge in scope mode; this is the second
         * line there and the only one in process mode and where swap is not
         * limited (MemorySwapMax unsupported). */
        if (max_kib == 0 || worker_memory_tier_kib(m) <= max_kib)
                return false;
        if (m->swap_valid && m->swap_kib > 0)
                snprintf(reason, reason_size,
                         "anonymous memory %" PRIu64 " KiB + swap %" PRIu64 " KiB over the hard tier %" PRIu64 " KiB",
                         m->anon_kib, m->swap_kib, max_kib);
        else
                snprintf(reason, reason_size, "anonymous memory %" PRIu64 " KiB over the hard tier %" PRIu64 " KiB",
                         m->anon_kib, max_kib);
        return true;
}

bool worker_memory_at_limit(const WorkerMemory *m, EnforcementMode mode, uint64_t max_kib) {
        uint64_t v;

        if (!m->valid || max_kib == 0)
                return false;
        v = mode == ENFORCEMENT_MODE_SCOPE ? MAX(m->rss_kib, m->anon_kib) : m->anon_kib;
        return v >= max_kib / 20 * 19;
}
