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

static atomic_int n_entered; /* jobs that reached the FIFO's open() */

static void job_run_fifo(void *arg) {
        Job *j = arg;
        int fd;

        atomic_fetch_add(&n_entered, 1);
        fd = open(j->fifo, O_RDONLY | O_CLOEXEC); /* blocks until a writer comes */

        j->result = fd >= 0 ? 1 : -errno;
        if (fd >= 0)
                close(fd);
}

static void job_free(void *arg) {
        free(arg);
        atomic_fetch_add(&n_freed, 1);
}

/* ---- thread_run_async ---- */

typedef struct Seen {
        int calls, r, result;
        usec_t at;
        sd_event *event;
} Seen;

static void on_done(void *arg, void *userdata, int r) {
        Seen *seen = userdata;

        seen->calls++;
        seen->r = r;
        seen->result = arg ? ((Job *) arg)->result : -1;
        seen->at = now_usec(CLOCK_MONOTONIC);
}


/* Open the FIFO's write end so the readers stuck on it return, and wait for
 * them. Non-blocking: a job given up on before it started never opens it. */
static void unstick(const char *fifo) {
        int fd = -EBADF;

        for (int i = 0; i < 500 && thread_bounded_stuck() > 0; i++) {
                if (fd < 0)
                        fd = open(fifo, O_WRONLY | O_CLOEXEC | O_NONBLOCK);
                usleep(10 * 1000);
        }
        if (fd >= 0)
                close(fd);
        ASSERT_EQ(thread_bounded_stuck(), 0);
}

static void test_async(const char *fifo) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Seen seen = {};
        ThreadAsync *a = NULL;
        Job *j;
        usec_t t0;
        int freed;

        ASSERT_OK(sd_event_new(&e));
        seen.event = e;

        /* finishes: done on the loop with the results, then freed */
        freed = atomic_load(&n_freed);
        j = calloc(1, sizeof *j);
        ASSERT_TRUE(j);
        ASSERT_OK(thread_run_async(e, job_run_quick, job_free, j, 5 * USEC_PER_SEC, on_done, &seen, &a));
        ASSERT_EQ(seen.calls, 0); /* never from inside the call */
        while (seen.calls == 0)
                ASSERT_OK(sd_event_run(e, UINT64_MAX));
        ASSERT_EQ(seen.calls, 1);
        ASSERT_EQ(seen.r, 0);
        ASSERT_EQ(seen.result, 42);
        for (int i = 0; i < 200 && atomic_load(&n_freed) == freed; i++)
                usleep(10 * 1000);
        ASSERT_EQ(atomic_load(&n_freed), freed + 1);

        /* hangs: the loop is not held up (a timer runs meanwhile), done says
         * -ETIMEDOUT after the timeout, the thread frees its job when it ends */
        seen = (Seen) { .event = e };
        j = calloc(1, sizeof *j);
        ASSERT_TRUE(j);
        j->fifo = fifo;
        t0 = now_usec(CLOCK_MONOTONIC);
        ASSERT_OK(thread_run_async(e, job_run_fifo, job_free, j, 300 * USEC_PER_MSEC, on_done, &seen, &a));
        ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) - t0 < 100 * USEC_PER_MSEC);
        while (seen.calls == 0)
                ASSERT_OK(sd_event_run(e, UINT64_MAX));
        ASSERT_EQ(seen.calls, 1);
        ASSERT_ERROR(seen.r, ETIMEDOUT);
        ASSERT_EQ(seen.result, -1);
        ASSERT_TRUE(seen.at - t0 >= 300 * USEC_PER_MSEC);
        ASSERT_TRUE(seen.at - t0 < 2 * USEC_PER_SEC);
        ASSERT_EQ(thread_bounded_stuck(), 1);
        unstick(fifo);
        ASSERT_EQ(atomic_load(&n_freed), freed + 2);

        /* cancelled while it hangs: done never comes, the thread still cleans up */
        seen = (Seen) { .event = e };
        j = calloc(1, sizeof *j);
        ASSERT_TRUE(j);
        j->fifo = fifo;
        ASSERT_OK(thread_run_async(e, job_run_fifo, job_free, j, 100 * USEC_PER_MSEC, on_done, &seen, &a));
        a = thread_async_cancel(a);
        ASSERT_OK(sd_event_run(e, 300 * USEC_PER_MSEC));
        ASSERT_EQ(seen.calls, 0);
        unstick(fifo);
        ASSERT_EQ(atomic_load(&n_freed), freed + 3);
}

/* The pool: sequential jobs reuse its threads; when every thread is stuck on
 * a hung call, a new job still runs at once on a thread started for it. */
static void test_pool(const char *fifo) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        ThreadAsync *stuck[THREAD_POOL_KEEP + 1] = {};
        Seen seen, seen_stuck = {};
        ThreadAsync *a = NULL;
        unsigned n_threads;
        int entered = atomic_load(&n_entered);
        Job *j;
        usec_t t0;

        ASSERT_OK(sd_event_new(&e));

        for (int i = 0; i < 20; i++) {
                seen = (Seen) { .event = e };
                j = calloc(1, sizeof *j);
                ASSERT_TRUE(j);
                ASSERT_OK(thread_run_async(e, job_run_quick, job_free, j, 5 * USEC_PER_SEC, on_done, &seen, &a));
                while (seen.calls == 0)
                        ASSERT_OK(sd_event_run(e, UINT64_MAX));
                ASSERT_EQ(seen.r, 0);
                ASSERT_EQ(seen.result, 42);
        }
        n_threads = thread_pool_threads();
        ASSERT_TRUE(n_threads >= 1);
        ASSERT_TRUE(n_threads <= THREAD_POOL_KEEP);

        /* more stuck jobs than the threads that stay */
        for (size_t i = 0; i < ELEMENTSOF(stuck); i++) {
                j = calloc(1, sizeof *j);
                ASSERT_TRUE(j);
                j->fifo = fifo;
                ASSERT_OK(thread_run_async(e, job_run_fifo, job_free, j, 30 * USEC_PER_SEC, on_done, &seen_stuck,
                                           &stuck[i]));
        }
        for (int i = 0; i < 500 && atomic_load(&n_entered) < entered + (int) ELEMENTSOF(stuck); i++)
                usleep(10 * 1000);
        ASSERT_EQ(atomic_load(&n_entered), entered + (int) ELEMENTSOF(stuck));
        ASSERT_TRUE(thread_pool_threads() >= ELEMENTSOF(stuck));

        seen = (Seen) { .event = e };
        j = calloc(1, sizeof *j);
        ASSERT_TRUE(j);
        t0 = now_usec(CLOCK_MONOTONIC);
        ASSERT_OK(thread_run_async(e, job_run_quick, job_free, j, 10 * USEC_PER_SEC, on_done, &seen, &a));
        while (seen.calls == 0)
                ASSERT_OK(sd_event_run(e, UINT64_MAX));
        ASSERT_EQ(seen.r, 0);
        ASSERT_EQ(seen.result, 42);
        ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) - t0 < 2 * USEC_PER_SEC);
        ASSERT_TRUE(thread_pool_threads() > ELEMENTSOF(stuck));
        ASSERT_EQ(seen_stuck.calls, 0);

        for (size_t i = 0; i < ELEMENTSOF(stuck); i++)
                stuck[i] = thread_async_cancel(stuck[i]);
        ASSERT_EQ(thread_bounded_stuck(), ELEMENTSOF(stuck));
        unstick(fifo);
        ASSERT_EQ(seen_stuck.calls, 0);
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

        test_async(fifo);
        test_pool(fifo);

        (void) unlink(fifo);
        (void) rmdir(dir);
        return 0;
}
