/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The job object, for the actor. Its fields are written only in job.c (the
 * verbs below); the actor reads them. */

#include "project/project.h"
#include "project/queue.h"

typedef enum JobPhase {
        JOB_PHASE_NEW,
        JOB_PHASE_QUEUED,    /* in the project's queue */
        JOB_PHASE_WAITING,   /* current: waiting for a permit, a worker slot, a worker or a recycle */
        JOB_PHASE_IMPORTING, /* current: the import header is outstanding */
        JOB_PHASE_RUNNING,   /* current: start() called; a job command may be outstanding */
        JOB_PHASE_DONE,
} JobPhase;

struct LhJob {
        unsigned n_ref;
        char **imports;
        char *fingerprint;
        JobFlags flags;
        const JobOps *ops;
        void *userdata;

        LhProject *project; /* set at submit, cleared when done */
        JobPhase phase;
        JobQueueLink queue_link; /* queue.c's */

        usec_t queued_at, admission_started, started_at;
        usec_t admission_wait;
        bool admitted;       /* admission_wait measured */
        bool switch_checked; /* profile switch counted / import-switch tier checked */
        unsigned retry_count;
        bool worker_restarted;
        RestartEvent call_restart;
        bool has_permit;
        uint64_t command_hash; /* of the job command outstanding (poison-input bookkeeping) */
        bool command_hashed;

        int base_env;
        uint64_t want_generation;   /* the worker that holds the job's proof state, 0 = any */
        uint64_t worker_generation; /* the worker start() ran on */

        json_object *result;
        LhError error;
        bool has_error;

        JobProgressFunc progress;
        void *progress_userdata;
};

void job_attach(LhJob *j, LhProject *p, usec_t now);    /* submitted: queued */
void job_begin(LhJob *j, usec_t now);                   /* taken from the queue: waiting */
void job_set_phase(LhJob *j, JobPhase phase);
void job_note_admitted(LhJob *j, usec_t now);           /* first time only */
bool job_take_switch_check(LhJob *j);                   /* true the first time */
void job_set_permit(LhJob *j, bool has);
void job_set_base_env_internal(LhJob *j, int env);
/* A finished start()/step()'s *ret_command: the result (NULL: leave what
 * job_set_result() set). Takes it. */
void job_take_result(LhJob *j, json_object *result);
void job_note_worker(LhJob *j, uint64_t generation);    /* start() runs on it */
/* A restart during the call; restarted: the call's worker is a new one now. */
void job_note_restart(LhJob *j, const RestartEvent *ev, bool restarted);
/* The outstanding command (hashed: a job command, not the header). */
void job_note_command(LhJob *j, bool hashed, uint64_t hash);
/* Back to waiting for a fresh worker, from scratch. */
void job_reset_for_retry(LhJob *j);
/* Fill per-call facts into snapshot's copy and call done() once; drops the
 * project's reference. The caller released the job's permit first. */
void job_finish(LhJob *j, const LhFacts *snapshot, const LhError *err);
/* A stage of j for its progress callback (none set: nothing is formatted). */
void job_progress(LhJob *j, const char *format, ...) _printf_(2, 3);
/* Each queued job: its place in the mailbox (jobs ahead; running: one is current). */
void job_queue_progress(const JobQueue *q, bool running);
