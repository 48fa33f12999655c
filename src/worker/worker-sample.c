/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Memory samples of one worker and the hard tier on them: see
 * worker-sample.h. Called by worker.c only; calls nothing above it. */

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "worker/memory.h"
#include "worker/proc-tree.h"
#include "worker/worker-sample.h"

void worker_sampler_done(WorkerSampler *s) {
        s->cgroup_dir = mfree(s->cgroup_dir);
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
        if (r < 0) {
                _cleanup_free_ ProcTreeEntry *found = NULL;
                size_t n = 0;

                /* one walk of the tree for both: the sample, and the
                 * descendants remembered (no cgroup holds them together) */
                r = proc_tree_collect(pid, &found, &n);
                if (r >= 0)
                        r = memory_sample_proc_entries(pid, found, n, &m);
                if (tree)
                        worker_tree_track_found(tree, found, n);
        }
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
