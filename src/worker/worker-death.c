/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Why a worker's child died: see worker-death.h. */

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/macro.h"
#include "worker/worker-death.h"

static void death_set(WorkerDeath *d, RestartCause cause, uint64_t rss_kib, uint64_t limit_kib) {
        d->cause = cause;
        d->rss_kib = rss_kib;
        d->limit_kib = limit_kib;
}

void worker_death_classify(const siginfo_t *si, bool protocol_error, EnforcementMode mode, const WorkerMemory *last,
                           uint64_t max_kib, WorkerSampler *sampler, WorkerDeath *ret) {
        char *buf = ret->reason;
        size_t size = sizeof ret->reason;

        assert(si);
        assert(last);
        *ret = (WorkerDeath) {};
        if (si->si_code == CLD_EXITED) {
                if (protocol_error) {
                        snprintf(buf, size, "worker broke the REPL protocol and exited");
                        return death_set(ret, RESTART_CAUSE_SESSION_MISSING, 0, 0);
                }
                snprintf(buf, size, "exited with status %d", si->si_status);
                return death_set(ret, RESTART_CAUSE_CHILD_EXIT, 0, 0);
        }

        if (si->si_status == SIGKILL) {
                uint64_t rss = last->valid ? MAX(last->rss_kib, last->anon_kib) : 0, peak = 0;
                int oom = mode == ENFORCEMENT_MODE_SCOPE && sampler ? worker_sampler_oom_killed(sampler, &peak) : 0;

                /* Nobody here asked for this SIGKILL. The kernel OOM killer in the
                 * scope (MemoryMax) counts in the cgroup; if the scope is gone
                 * already, a SIGKILL nobody sent in a memory-limited scope is the
                 * kernel's; in process mode, memory at the limit says it. */
                /* The scope's peak charge at MemoryMax says it too: in a cgroup v2
                 * guest the oom_kill count was once seen unraised at SIGCHLD. */
                bool peak_at_max = oom == 0 && max_kib > 0 && peak >= max_kib / 20 * 19;

                if (oom > 0 || (oom < 0 && max_kib > 0) || peak_at_max || worker_memory_at_limit(last, mode, max_kib)) {
                        if (oom != 0)
                                snprintf(buf, size,
                                         "killed by the kernel OOM killer at the hard tier (MemoryMax=%" PRIu64 "K)%s",
                                         max_kib, oom < 0 ? " (scope already gone)" : "");
                        else if (peak_at_max)
                                snprintf(buf, size,
                                         "killed by the kernel OOM killer at the hard tier (MemoryMax=%" PRIu64 "K, "
                                         "scope peak %" PRIu64 "K)", max_kib, peak);
                        else
                                snprintf(buf, size, "SIGKILLed with memory at the hard tier (%" PRIu64 "K)", max_kib);
                        /* The last sample can be older than the allocation that hit the
                         * limit: report at least the peak (or the limit it was killed at). */
                        rss = MAX(rss, oom != 0 || peak_at_max ? MAX(peak, max_kib) : rss);
                        return death_set(ret, RESTART_CAUSE_RSS_HARD_LIMIT, rss, max_kib);
                }
        }
        snprintf(buf, size, "killed by signal SIG%s%s", sigabbrev_np(si->si_status) ?: "?",
                 si->si_code == CLD_DUMPED ? " (core dumped)" : "");
        death_set(ret, RESTART_CAUSE_CHILD_ABORT, 0, 0);
}
