/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* thread_run_bounded: a call that finishes is waited for; one that hangs
 * (an open() of a FIFO nobody writes, standing in for a hung mount) is given
 * up on after the timeout and cleans up after itself once it ends. */

#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "basic/tests.h"
#include "basic/thread-util.h"
#include "basic/time-util.h"

static atomic_int n_freed;

typedef struct Job {
        const char *fifo;
        int result;
} Job;

static void job_run_quick(void *arg) {
        ((Job *) arg)->result = 42;
}

static void job_run_fifo(void *arg) {
        Job *j = arg;
        int fd = open(j->fifo, O_RDONLY | O_CLOEXEC); /* blocks until a writer comes */

        j->result = fd >= 0 ? 1 : -errno;
        if (fd >= 0)
                close(fd);
}

static void job_free(void *arg) {
        free(arg);
        atomic_fetch_add(&n_freed, 1);
}

int main(void) {
        char dir[] = "/tmp/test-thread-util-XXXXXX", fifo[64];
        Job quick = {}, *stuck;
        usec_t t0;
        int fd;

        ASSERT_TRUE(mkdtemp(dir));
        snprintf(fifo, sizeof fifo, "%s/fifo", dir);
        ASSERT_EQ(mkfifo(fifo, 0600), 0);

        /* finishes: waited for, results there, the caller still owns it */
        ASSERT_OK(thread_run_bounded(job_run_quick, job_free, &quick, 5 * USEC_PER_SEC));
        ASSERT_EQ(quick.result, 42);
        ASSERT_EQ(atomic_load(&n_freed), 0);

        /* hangs: given up on after the timeout, not before */
        stuck = calloc(1, sizeof *stuck);
        ASSERT_TRUE(stuck);
        stuck->fifo = fifo;
        t0 = now_usec(CLOCK_MONOTONIC);
        ASSERT_ERROR(thread_run_bounded(job_run_fifo, job_free, stuck, 200 * USEC_PER_MSEC), ETIMEDOUT);
        ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) - t0 >= 200 * USEC_PER_MSEC);
        ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) - t0 < 2 * USEC_PER_SEC);
        ASSERT_EQ(thread_bounded_stuck(), 1);
        ASSERT_EQ(atomic_load(&n_freed), 0);

        /* the hang ends (a writer opens the FIFO): the thread frees its job */
        fd = open(fifo, O_WRONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        for (int i = 0; i < 200 && atomic_load(&n_freed) == 0; i++)
                usleep(10 * 1000);
        close(fd);
        ASSERT_EQ(atomic_load(&n_freed), 1);
        for (int i = 0; i < 200 && thread_bounded_stuck() > 0; i++)
                usleep(10 * 1000);
        ASSERT_EQ(thread_bounded_stuck(), 0);

        (void) unlink(fifo);
        (void) rmdir(dir);
        return 0;
}
