/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mailbox's deadline: a job accepted but not yet taken by a lane is
 * answered `timeout` once it has waited project.request_timeout_millis, so
 * no call waits silently past its deadline behind long ones (issue 15). It
 * never ran: nothing is killed, nothing counts as a restart. A job a lane
 * takes gets the full deadline again for each command it sends (actor.c).
 *
 * A job a lane has taken but not admitted yet (waiting for a heavy-job
 * permit or a machine-wide worker slot, or for the lane's worker to warm up
 * or go down) has not run either: the same deadline holds.
 *
 * What bounds the other waits of a job that was admitted (not this timer):
 *  - the worker's start: the scope placement gives up after 15 s
 *    (worker/scope.c SCOPE_JOB_TIMEOUT_USEC; worker.c on_placed then kills
 *    the worker under enforcement "scope", or runs it as a plain child);
 *    the worker is ready at its exec (worker.c on_exec_status), so nothing
 *    waits on the REPL before the first command;
 *  - the import header: it is the job's first command, under the lane's
 *    request timer (actor.c on_request_timeout, phase IMPORTING);
 *  - a worker going down (import-switch tier): SIGTERM, SIGKILL after 3 s
 *    (worker.c WORKER_STOP_KILL_USEC), then on_dead kicks;
 *  - a retry (a read-only call whose worker died): the lane's slot was
 *    released in on_dead, so the job waits for a worker slot again with
 *    `admitted` still set. NOT bounded by this deadline: only by the slot
 *    holders' own timers (each command's request timer, idle eviction), so
 *    it can exceed request_timeout_millis when all slots are busy. Open.
 *
 * One timer per project, at the earliest of the queue head's deadline and
 * the lanes' unadmitted jobs' (at most project.max_workers of them): jobs
 * are appended in order of acceptance, so the head is always the oldest; a
 * job taken or cancelled meanwhile only makes the timer fire early, and it
 * re-arms.
 *
 * Owns: LhProject's `deadline_source`. Must not know: a lane's worker protocol, which
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

/* l's job if it waits and never ran (not admitted: nor after a retry) */
static LhJob *lane_unadmitted_job(const LhLane *l) {
        LhJob *j = l->current;

        return j && j->phase == JOB_PHASE_WAITING && !j->admitted ? j : NULL;
}

void queue_deadline_arm(LhProject *p) {
        usec_t now = now_usec(CLOCK_MONOTONIC), due = USEC_INFINITY;
        LhJob *j;

        if (p->queue.head)
                due = p->queue.head->queued_at;
        for (size_t i = 0; i < p->n_lanes; i++)
                if ((j = lane_unadmitted_job(p->lanes[i])))
                        due = MIN(due, j->queued_at);
        if (due == USEC_INFINITY) {
                project_timer_disarm(p->deadline_source);
                return;
        }
        due += queue_deadline_timeout(p);
        (void) project_timer_arm(p->registry->event, &p->deadline_source, due > now ? due - now : 0,
                                 on_queue_deadline, p);
}

void queue_deadline_done(LhProject *p) {
        p->deadline_source = sd_event_source_disable_unref(p->deadline_source);
}

/* The answer of j, which waited its whole deadline and never ran; on a
 * lane (l) it waited for waiting_for, else in the queue behind ahead calls. */
static void queue_deadline_error(LhProject *p, const LhJob *j, usec_t now, const char *waiting_for,
                                 unsigned ahead, LhError *ret) {
        uint64_t waited_ms = (now - j->queued_at) / USEC_PER_MSEC;

        if (waiting_for)
                lh_error_set(ret, "timeout", true,
                             "The call waited %" PRIu64 " ms for %s in %s and never ran "
                             "(project.request_timeout_millis = %" PRIu64 "); nothing was killed. Call again later.",
                             waited_ms, waiting_for, p->root, CONFIG(p)->request_timeout_millis);
        else
                lh_error_set(ret, "timeout", true,
                             "The call waited %" PRIu64 " ms in the mailbox of %s behind %u call%s and never ran "
                             "(project.request_timeout_millis = %" PRIu64 "); nothing was killed. Call again later.",
                             waited_ms, p->root, ahead, ahead == 1 ? "" : "s", CONFIG(p)->request_timeout_millis);
        ret->retry_after_ms = project_estimate_retry_after_ms(p);
        ret->details = json_object_new_object();
        if (!ret->details)
                return; /* the message says it all */
        (void) json_object_object_add(ret->details, "queued", json_object_new_boolean(true));
        (void) json_object_object_add(ret->details, "queue_wait_ms", json_object_new_uint64(waited_ms));
        if (waiting_for)
                (void) json_object_object_add(ret->details, "waiting_for", json_object_new_string(waiting_for));
        else
                (void) json_object_object_add(ret->details, "ahead", json_object_new_uint64(ahead));
        if (j->want_generation > 0)
                (void) json_object_object_add(ret->details, "worker_generation",
                                              json_object_new_uint64(j->want_generation));
        log_debug("Project %s: a call waited %" PRIu64 " ms and never ran: timeout.", p->root, waited_ms);
}

/* j, the queue's head, waited its whole deadline: its one answer. */
static void queue_deadline_fail(LhProject *p, LhJob *j, usec_t now, unsigned ahead) {
        LhFacts facts;
        LhError e;

        queue_deadline_error(p, j, now, NULL, ahead, &e);
        job_queue_remove(&p->queue, j);
        project_get_facts(p, &facts);
        project_finish_job(p, j, &facts, &e);
        lh_error_done(&e);
}

static const char *lane_waits_for(const LhLane *l, const LhJob *j) {
        if ((j->flags & JOB_HEAVY) && !j->has_permit)
                return "a heavy-job permit (worker.heavy_permits)";
        if (!l->slot.worker)
                return "a worker slot (worker.max_workers)";
        return "its worker (a warm-up, or a worker going down)";
}

/* The lanes' jobs that never ran and waited their whole deadline. */
static unsigned queue_deadline_fail_lanes(LhProject *p, usec_t now) {
        unsigned n = 0;
        LhJob *j;

        for (size_t i = 0; i < p->n_lanes; i++) {
                LhLane *l = p->lanes[i];
                LhError e;

                j = lane_unadmitted_job(l);
                if (!j || now < j->queued_at + queue_deadline_timeout(p))
                        continue;
                queue_deadline_error(p, j, now, lane_waits_for(l, j), 0, &e);
                lane_fail_waiting(l, &e);
                lh_error_done(&e);
                n++;
        }
        return n;
}

static int on_queue_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        LhProject *p = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        unsigned running = 0, n = 0;
        LhJob *j;

        n = queue_deadline_fail_lanes(p, now);
        for (size_t i = 0; i < p->n_lanes; i++)
                running += !!p->lanes[i]->current;
        /* from the head, one at a time: done() may cancel or submit others */
        for (unsigned ahead = running; (j = p->queue.head) && now >= j->queued_at + queue_deadline_timeout(p);
             ahead++, n++)
                queue_deadline_fail(p, j, now, ahead);
        if (n > 0) {
                project_notify(p, PROJECT_CHANGE_STATE);
                project_kick(p);
        }
        queue_deadline_arm(p);
        return 0;
}
