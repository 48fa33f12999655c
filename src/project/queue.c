/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mailbox queue. Owns: JobQueue and JobQueueLink. Must not know:
 * projects, admission, workers, what a job does. */

#include <assert.h>
#include <stddef.h>

#include "project/queue.h"

void job_queue_append(JobQueue *q, LhJob *j) {
        JobQueueLink *l = job_queue_link(j);

        l->prev = q->tail;
        l->next = NULL;
        if (q->tail)
                job_queue_link(q->tail)->next = j;
        else
                q->head = j;
        q->tail = j;
        q->n++;
}

void job_queue_remove(JobQueue *q, LhJob *j) {
        JobQueueLink *l = job_queue_link(j);

        assert(q->n > 0);
        if (l->prev)
                job_queue_link(l->prev)->next = l->next;
        else
                q->head = l->next;
        if (l->next)
                job_queue_link(l->next)->prev = l->prev;
        else
                q->tail = l->prev;
        l->prev = l->next = NULL;
        q->n--;
}
