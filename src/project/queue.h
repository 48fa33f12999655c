/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The mailbox's waiting jobs, in order. Owns JobQueue and every job's
 * JobQueueLink. Must not know: projects, admission, workers; what a job is
 * beyond its link (job_queue_link() maps one to the other). */

#include <stdbool.h>

typedef struct LhJob LhJob;

typedef struct JobQueueLink {
        LhJob *prev, *next;
} JobQueueLink;

typedef struct JobQueue {
        LhJob *head, *tail;
        unsigned n;
} JobQueue;

/* defined by job.c: the link inside a job */
JobQueueLink *job_queue_link(LhJob *j);

void job_queue_append(JobQueue *q, LhJob *j);
void job_queue_remove(JobQueue *q, LhJob *j);
