/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Why a worker's child died, when nobody asked it to: an exit, a signal, or
 * the hard memory tier (the kernel OOM killer in its scope, or SIGKILL with
 * memory at the limit). Pure apart from reading the scope's OOM counter
 * through the sampler. Called by worker.c only. */

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "worker/restart-cause.h"
#include "worker/worker-sample.h"
#include "worker/worker.h"

typedef struct WorkerDeath {
        RestartCause cause;
        char reason[160];
        uint64_t rss_kib, limit_kib; /* memory causes only */
} WorkerDeath;

/* last: the last sample; sampler: the scope's (NULL in process mode). */
void worker_death_classify(const siginfo_t *si, bool protocol_error, EnforcementMode mode, const WorkerMemory *last,
                           uint64_t max_kib, WorkerSampler *sampler, WorkerDeath *ret);
