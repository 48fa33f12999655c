/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mailbox's deadline: a job accepted but not yet taken by a lane is
 * answered `timeout` once it has waited project.request_timeout_millis, so
 * no call waits silently past its deadline behind long ones (issue 15). It
 * never ran: nothing is killed, nothing counts as a restart. A job a lane
 * takes gets the full deadline again for each command it sends (actor.c).
 *
 * One timer per project, at the queue head's deadline: jobs are appended in
 * order of acceptance, so the head is always the oldest; a head taken or
 * cancelled meanwhile only makes the timer fire early, and it re-arms.
 *
 * Owns: LhProject's `deadline_source`. Must not know: lanes' workers, which
 * lane a job goes to (pool.c). */

#include <stdio.h>

#include "basic/log.h"
#include "basic/time-util.h"
#include "project/project-internal.h"

#define CONFIG(p) ((p)->registry->config)

static usec_t queue_deadline_timeout(const LhProject *p) {
        return CONFIG(p)->request_timeout_millis * USEC_PER_MSEC;
}

static int on_queue_deadline(sd_event_source *s, uint64_t usec, void *userdata);

void queue_deadline_arm(LhProject *p) {
        usec_t now = now_usec(CLOCK_MONOTONIC), due;
        LhJob *head = p->queue.head;

        if (!head) {
                project_timer_disarm(p->deadline_source);
                return;
        }
        due = head->queued_at + queue_deadline_timeout(p);
        (void) project_timer_arm(p->registry->event, &p->deadline_source, due > now ? due - now : 0,
                                 on_queue_deadline, p);
}

void queue_deadline_done(LhProject *p) {
        p->deadline_source = sd_event_source_disable_unref(p->deadline_source);
}

/* j, the queue's head, waited its whole deadline: its one answer. */
static void queue_deadline_fail(LhProject *p, LhJob *j, usec_t now, unsigned ahead) {
        uint64_t waited_ms = (now - j->queued_at) / USEC_PER_MSEC;
        LhFacts facts;
        LhError e;

        lh_error_set(&e, "timeout", true,
                     "The call waited %" PRIu64 " ms in the mailbox of %s behind %u call%s and never ran "
                     "(project.request_timeout_millis = %" PRIu64 "); nothing was killed. Call again later.",
                     waited_ms, p->root, ahead, ahead == 1 ? "" : "s", CONFIG(p)->request_timeout_millis);
        e.retry_after_ms = project_estimate_retry_after_ms(p);
        e.details = json_object_new_object();
        if (e.details) { /* else the message says it all */
                (void) json_object_object_add(e.details, "queued", json_object_new_boolean(true));
                (void) json_object_object_add(e.details, "queue_wait_ms", json_object_new_uint64(waited_ms));
                (void) json_object_object_add(e.details, "ahead", json_object_new_uint64(ahead));
                if (j->want_generation > 0)
                        (void) json_object_object_add(e.details, "worker_generation",
                                                      json_object_new_uint64(j->want_generation));
        }
        log_debug("Project %s: a call waited %" PRIu64 " ms in the mailbox: timeout.", p->root, waited_ms);
        job_queue_remove(&p->queue, j);
        project_get_facts(p, &facts);
        project_finish_job(p, j, &facts, &e);
        lh_error_done(&e);
}

static int on_queue_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        LhProject *p = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        unsigned running = 0, n = 0;
        LhJob *j;

        for (size_t i = 0; i < p->n_lanes; i++)
                running += !!p->lanes[i]->current;
        /* from the head, one at a time: done() may cancel or submit others */
        while ((j = p->queue.head) && now >= j->queued_at + queue_deadline_timeout(p)) {
                queue_deadline_fail(p, j, now, running + n);
                n++;
        }
        if (n > 0) {
                project_notify(p, PROJECT_CHANGE_STATE);
                project_kick(p);
        }
        queue_deadline_arm(p);
        return 0;
}
