/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

#include "basic/strv.h"
#include "basic/time-util.h"
#include "project/project-internal.h"

int job_new(LhJob **ret, char **imports, JobFlags flags, const JobOps *ops, void *userdata) {
        LhJob *j;

        if (!ret || !ops || !ops->start || !ops->done)
                return -EINVAL;

        j = new0(LhJob, 1);
        if (!j)
                return -ENOMEM;
        j->n_ref = 1;
        j->flags = flags;
        j->ops = ops;
        j->base_env = -1;
        j->error.restart_cause = _RESTART_CAUSE_INVALID;
        j->imports = strv_copy(imports);
        if (j->imports)
                j->fingerprint = strv_join(j->imports, ",");
        if (!j->imports || !j->fingerprint) {
                strv_free(j->imports);
                free(j);
                return -ENOMEM;
        }
        /* userdata is owned from here on, even if submit fails later */
        j->userdata = userdata;
        *ret = j;
        return 0;
}

LhJob *job_ref(LhJob *j) {
        if (j)
                j->n_ref++;
        return j;
}

LhJob *job_unref(LhJob *j) {
        if (!j || --j->n_ref > 0)
                return NULL;
        if (j->ops->free_userdata)
                j->ops->free_userdata(j->userdata);
        json_object_put(j->result);
        lh_error_done(&j->error);
        strv_free(j->imports);
        free(j->fingerprint);
        return mfree(j);
}

void job_set_progress(LhJob *job, JobProgressFunc progress, void *userdata) {
        job->progress = progress;
        job->progress_userdata = userdata;
}

void job_progress(LhJob *j, const char *format, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;
        int r;

        if (!j->progress)
                return;
        va_start(ap, format);
        r = vasprintf(&m, format, ap);
        va_end(ap);
        if (r < 0)
                return; /* only a progress message lost */
        j->progress(j, m, j->progress_userdata);
}

void job_queue_progress(LhProject *p) {
        unsigned ahead = p->current ? 1 : 0;

        /* the first with nothing ahead is dispatched right away: no news */
        for (LhJob *j = p->queue_head; j; j = j->queue_next, ahead++)
                if (ahead > 0)
                        job_progress(j, "waiting in the mailbox (position %u, %u call%s ahead)", ahead + 1, ahead,
                                     ahead == 1 ? "" : "s");
}

int job_get_base_env(const LhJob *job) {
        return job->base_env;
}

void job_set_result(LhJob *job, json_object *result) {
        json_object_put(job->result);
        job->result = result;
}

void job_set_error(LhJob *job, const LhError *err) {
        lh_error_done(&job->error);
        job->error = *err;
        job->error.details = json_object_get(err->details);
        job->has_error = true;
}

LhProject *job_get_project(const LhJob *job) {
        return job->project;
}

void *job_get_userdata(const LhJob *job) {
        return job->userdata;
}

const JobOps *job_get_ops(const LhJob *job) {
        return job->ops;
}

char **job_get_imports(const LhJob *job) {
        return job->imports;
}

unsigned job_get_retry_count(const LhJob *job) {
        return job->retry_count;
}

void job_queue_append(LhProject *p, LhJob *j) {
        j->queue_prev = p->queue_tail;
        j->queue_next = NULL;
        if (p->queue_tail)
                p->queue_tail->queue_next = j;
        else
                p->queue_head = j;
        p->queue_tail = j;
        p->n_queued++;
}

void job_queue_prepend(LhProject *p, LhJob *j) {
        j->queue_prev = NULL;
        j->queue_next = p->queue_head;
        if (p->queue_head)
                p->queue_head->queue_prev = j;
        else
                p->queue_tail = j;
        p->queue_head = j;
        p->n_queued++;
}

void job_queue_remove(LhProject *p, LhJob *j) {
        if (j->queue_prev)
                j->queue_prev->queue_next = j->queue_next;
        else
                p->queue_head = j->queue_next;
        if (j->queue_next)
                j->queue_next->queue_prev = j->queue_prev;
        else
                p->queue_tail = j->queue_prev;
        j->queue_prev = j->queue_next = NULL;
        p->n_queued--;
}

static uint64_t usec_to_millis(usec_t u) {
        return u / USEC_PER_MSEC;
}

void job_finish(LhJob *j, const LhError *err) {
        LhProject *p = j->project;
        LhFacts facts;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        assert(p);
        assert(j->phase != JOB_PHASE_DONE);

        project_get_facts(p, &facts);
        facts.worker_restarted = j->worker_restarted;
        facts.retry_count = j->retry_count;
        facts.admission_wait_millis = usec_to_millis(j->admission_wait);
        facts.queue_wait_millis = usec_to_millis((j->started_at ?: now) - j->queued_at);
        facts.call_restart = j->call_restart;

        if (j->has_permit) {
                j->has_permit = false;
                registry_release_heavy(p->registry);
        }
        j->phase = JOB_PHASE_DONE;

        if (err)
                j->ops->done(j, j->userdata, NULL, err, &facts);
        else if (j->has_error)
                j->ops->done(j, j->userdata, NULL, &j->error, &facts);
        else
                j->ops->done(j, j->userdata, j->result, NULL, &facts);
        j->project = NULL;

        job_unref(j); /* the project's reference */
}
