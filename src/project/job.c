/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A job: a call's commands, its per-call facts and its one answer. Owns:
 * LhJob. Must not know: the project's fields, the queue, admission, the
 * worker; it is told (verbs) and answers done() with the facts it is given. */

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

#include "basic/strv.h"
#include "basic/time-util.h"
#include "project/job-internal.h"

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

static LhJob *job_free(LhJob *j) {
        if (j->ops->free_userdata)
                j->ops->free_userdata(j->userdata);
        json_object_put(j->result);
        lh_error_done(&j->error);
        strv_free(j->imports);
        free(j->fingerprint);
        return mfree(j);
}

DEFINE_TRIVIAL_REF_UNREF_FUNC(LhJob, job, job_free);

void job_set_progress(LhJob *job, JobProgressFunc progress, void *userdata) {
        job->progress = progress;
        job->progress_userdata = userdata;
}

void job_progress(LhJob *j, const char *format, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;

        if (!j->progress)
                return;
        va_start(ap, format);
        m = strdup_vprintf(format, ap);
        va_end(ap);
        if (m) /* else only a progress message lost */
                j->progress(j, m, j->progress_userdata);
}

void job_queue_progress(const JobQueue *q, bool running) {
        unsigned ahead = running ? 1 : 0;

        assert(q);

        /* the first with nothing ahead is dispatched right away: no news */
        for (LhJob *j = q->head; j; j = j->queue_link.next, ahead++)
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

void job_take_result(LhJob *job, json_object *result) {
        if (result)
                job_set_result(job, result);
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

unsigned job_get_retry_count(const LhJob *job) {
        return job->retry_count;
}

void job_set_want_generation(LhJob *job, uint64_t generation) {
        assert(job);
        assert(job->phase == JOB_PHASE_NEW);
        job->want_generation = generation;
}

uint64_t job_get_worker_generation(const LhJob *job) {
        return job->worker_generation;
}

JobQueueLink *job_queue_link(LhJob *j) {
        return &j->queue_link;
}

void job_attach(LhJob *j, LhProject *p, usec_t now) {
        assert(!j->project && j->phase == JOB_PHASE_NEW);
        job_ref(j);
        j->project = p;
        j->phase = JOB_PHASE_QUEUED;
        j->queued_at = now;
}

/* job_attach, job_begin, job_set_phase and job_reset_for_retry are the only
 * places a job's phase changes: a per-job progress hook (worker starting,
 * importing, running) belongs there. */
void job_begin(LhJob *j, usec_t now) {
        j->phase = JOB_PHASE_WAITING;
        j->started_at = j->admission_started = now;
}

void job_set_phase(LhJob *j, JobPhase phase) {
        j->phase = phase;
}

void job_note_admitted(LhJob *j, usec_t now) {
        if (j->admitted)
                return;
        j->admitted = true;
        j->admission_wait = now - j->admission_started;
}

bool job_take_switch_check(LhJob *j) {
        if (j->switch_checked)
                return false;
        j->switch_checked = true;
        return true;
}

void job_set_permit(LhJob *j, bool has) {
        j->has_permit = has;
}

void job_set_base_env_internal(LhJob *j, int env) {
        j->base_env = env;
}

void job_note_worker(LhJob *j, uint64_t generation) {
        j->worker_generation = generation;
}

void job_note_restart(LhJob *j, const RestartEvent *ev, bool restarted) {
        j->call_restart = *ev;
        if (restarted)
                j->worker_restarted = true;
}

void job_note_command(LhJob *j, bool hashed, uint64_t hash) {
        j->command_hashed = hashed;
        if (hashed)
                j->command_hash = hash;
}

void job_reset_for_retry(LhJob *j) {
        j->retry_count++;
        j->phase = JOB_PHASE_WAITING;
        j->base_env = -1;
        json_object_put(j->result);
        j->result = NULL;
        lh_error_done(&j->error);
        j->has_error = false;
}

static uint64_t usec_to_millis(usec_t u) {
        return u / USEC_PER_MSEC;
}

void job_finish(LhJob *j, const LhFacts *snapshot, const LhError *err) {
        LhFacts facts = *snapshot;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        assert(j->project);
        assert(j->phase != JOB_PHASE_DONE);
        assert(!j->has_permit);

        facts.worker_restarted = j->worker_restarted;
        facts.retry_count = j->retry_count;
        facts.admission_wait_millis = usec_to_millis(j->admission_wait);
        facts.queue_wait_millis = usec_to_millis((j->started_at ?: now) - j->queued_at);
        facts.call_restart = j->call_restart;
        j->phase = JOB_PHASE_DONE;

        if (err)
                j->ops->done(j, j->userdata, NULL, err, &facts);
        else if (j->has_error)
                j->ops->done(j, j->userdata, NULL, &j->error, &facts);
        else
                j->ops->done(j, j->userdata, j->result, NULL, &facts);
        j->project = NULL;
        j->progress = NULL; /* after done() nothing reaches the submitter but free_userdata */

        job_unref(j); /* the project's reference */
}
