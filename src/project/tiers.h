/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The planned recycles (memory tiers and hygiene limits), as pure verdicts
 * on a worker slot and the configuration. Owns nothing; must not know the
 * actor, which acts on a verdict. */

#include <stdbool.h>

#include "config/config.h"
#include "project/worker-slot.h"

typedef struct TierVerdict {
        RestartCause cause;
        char reason[256];
        uint64_t rss_kib, limit_kib;
} TierVerdict;

/* After a job: the post-job memory tier, then worker.max_requests. */
bool tier_after_job(const LhConfig *c, const WorkerSlot *s, TierVerdict *ret);
/* Before another import profile: the import-switch memory tier. */
bool tier_import_switch(const LhConfig *c, const WorkerSlot *s, TierVerdict *ret);
/* Before one more import header: worker.max_imports. */
bool tier_max_imports(const LhConfig *c, const WorkerSlot *s, TierVerdict *ret);

/* One-shot timers of the project's files (armed again in place). */
int project_timer_arm(sd_event *event, sd_event_source **s, usec_t after, sd_event_time_handler_t handler,
                      void *userdata);
void project_timer_disarm(sd_event_source *s);
