/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mailbox's door: what a call gets when it is not accepted (shutting
 * down, cooling down, the mailbox full) and the cancel of an accepted one.
 * Owns nothing; writes nothing but through the actor's verbs. Must not know
 * anything above (tools, bus). */

#include <stdio.h>

#include "project/project-internal.h"

int project_submit(LhProject *p, LhJob *j, LhError *err) {
        const LhConfig *c;
        uint64_t limit;
        unsigned depth;

        if (!p || !j)
                return -EINVAL;
        if (j->project || j->phase != JOB_PHASE_NEW)
                return -EBUSY;
        c = p->registry->config;

        if (p->registry->shutting_down) {
                lh_error_set(err, "shutting_down", true, "The daemon is shutting down; call again once it is back.");
                return -ESHUTDOWN;
        }
        if (project_check_cooling(p)) {
                LhError e;

                restart_policy_unavailable_error(&p->restarts, &e);
                if (err)
                        *err = e;
                return -EAGAIN;
        }
        /* project.mailbox_capacity per lane the pool may have: a pool of
         * four takes four times the calls of one worker */
        depth = project_get_queue_depth(p);
        limit = project_mailbox_limit(p);
        if (depth >= limit) {
                unsigned lanes = project_pool_max_lanes(p);

                lh_error_set(err, "mailbox_full", true,
                             "The mailbox of %s is full (capacity %" PRIu64 " = %" PRIu64 " per worker × %u worker%s: "
                             "%u call%s running or queued); retry shortly.",
                             p->root, limit, c->mailbox_capacity, lanes, lanes == 1 ? "" : "s", depth,
                             depth == 1 ? "" : "s");
                if (err)
                        err->retry_after_ms = project_estimate_retry_after_ms(p);
                return -EBUSY;
        }

        project_enqueue(p, j);
        if (p->queue.head == j) /* else the timer is set for an older one */
                queue_deadline_arm(p);
        job_queue_progress(&p->queue, project_get_queue_depth(p) > p->queue.n);
        return 0;
}

void job_cancel(LhJob *j) {
        if (!j || !j->project || j->phase == JOB_PHASE_DONE || j->phase == JOB_PHASE_NEW)
                return;
        project_cancel_job(j->project, j);
}
