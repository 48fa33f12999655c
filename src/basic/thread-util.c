/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "basic/thread-util.h"

/* Process-wide on purpose: a stuck thread outlives whoever started it. */
static atomic_uint n_stuck;

typedef struct Bounded {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool done, abandoned;
        void (*run)(void *);
        void (*free_arg)(void *);
        void *arg;
} Bounded;

static void bounded_free(Bounded *b) {
        pthread_cond_destroy(&b->cond);
        pthread_mutex_destroy(&b->lock);
        free(b);
}

static void *bounded_thread(void *userdata) {
        Bounded *b = userdata;
        bool abandoned;

        b->run(b->arg);

        pthread_mutex_lock(&b->lock);
        b->done = true;
        abandoned = b->abandoned;
        pthread_cond_signal(&b->cond);
        pthread_mutex_unlock(&b->lock);
        /* not abandoned: the waiter owns b from here on */
        if (abandoned) {
                if (b->free_arg)
                        b->free_arg(b->arg);
                bounded_free(b);
                atomic_fetch_sub(&n_stuck, 1);
        }
        return NULL;
}

int thread_run_bounded(void (*run)(void *arg), void (*free_arg)(void *arg), void *arg, usec_t timeout) {
        pthread_condattr_t ca;
        pthread_attr_t attr;
        struct timespec deadline;
        pthread_t t;
        Bounded *b;
        bool done;
        int r;

        assert(run);
        if (atomic_load(&n_stuck) >= THREAD_BOUNDED_MAX_STUCK)
                return -EBUSY;

        b = new0(Bounded, 1);
        if (!b)
                return -ENOMEM;
        *b = (Bounded) { .run = run, .free_arg = free_arg, .arg = arg };
        if (pthread_mutex_init(&b->lock, NULL) != 0) {
                free(b);
                return -ENOMEM;
        }
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        r = pthread_cond_init(&b->cond, &ca);
        pthread_condattr_destroy(&ca);
        if (r != 0) {
                pthread_mutex_destroy(&b->lock);
                free(b);
                return -r;
        }

        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        r = pthread_create(&t, &attr, bounded_thread, b);
        pthread_attr_destroy(&attr);
        if (r != 0) {
                bounded_free(b);
                return -r;
        }

        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += (time_t) (timeout / USEC_PER_SEC);
        deadline.tv_nsec += (long) (timeout % USEC_PER_SEC) * 1000;
        if (deadline.tv_nsec >= 1000000000) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000;
        }

        pthread_mutex_lock(&b->lock);
        while (!b->done)
                if (pthread_cond_timedwait(&b->cond, &b->lock, &deadline) == ETIMEDOUT)
                        break;
        done = b->done;
        if (!done) {
                b->abandoned = true;
                atomic_fetch_add(&n_stuck, 1);
        }
        pthread_mutex_unlock(&b->lock);

        if (!done)
                return -ETIMEDOUT;
        bounded_free(b);
        return 0;
}

unsigned thread_bounded_stuck(void) {
        return atomic_load(&n_stuck);
}

/* ---- asynchronous: the loop never waits ------------------------------------ */

/* One reference for the thread, one for the loop; the last one frees. */
struct ThreadAsync {
        atomic_int n_ref;
        pthread_mutex_t lock;
        bool finished, abandoned;
        int efd;
        sd_event_source *io, *timer;
        void (*run)(void *);
        void (*free_arg)(void *);
        void *arg;
        ThreadAsyncDone done;
        void *userdata;
        ThreadAsync *next; /* in the pool's queue */
};

static void async_unref(ThreadAsync *a) {
        if (atomic_fetch_sub(&a->n_ref, 1) != 1)
                return;
        if (a->arg && a->free_arg)
                a->free_arg(a->arg);
        if (a->efd >= 0)
                close(a->efd);
        pthread_mutex_destroy(&a->lock);
        free(a);
}

static void pool_job_ended(void);

/* The thread's part of one job: run it (unless the loop gave up on it while it
 * was still queued), wake the loop, drop the thread's reference. */
static void async_job_run(ThreadAsync *a) {
        bool abandoned;

        pthread_mutex_lock(&a->lock);
        abandoned = a->abandoned;
        pthread_mutex_unlock(&a->lock);
        if (!abandoned)
                a->run(a->arg);

        pthread_mutex_lock(&a->lock);
        a->finished = true;
        abandoned = a->abandoned;
        pthread_mutex_unlock(&a->lock);
        /* free before the loop hears of it: its next job must not start a thread */
        pool_job_ended();
        if (!abandoned)
                (void) eventfd_write(a->efd, 1); /* our reference keeps efd open */
        async_unref(a);
        if (abandoned)
                atomic_fetch_sub(&n_stuck, 1);
}

/* ---- the pool: long-lived threads instead of one new thread per job -------- */

/* Process-wide like n_stuck: jobs come from any loop, threads outlive callers.
 * Threads beyond THREAD_POOL_KEEP end after THREAD_POOL_IDLE_USEC without work;
 * a job that finds no idle thread starts one (up to THREAD_POOL_MAX), so a
 * thread stuck on a hung mount never holds up the jobs behind it. */
static struct {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        ThreadAsync *head, *tail;
        unsigned n_queued, n_threads, n_busy;
} pool = {
        .lock = PTHREAD_MUTEX_INITIALIZER,
        .cond = PTHREAD_COND_INITIALIZER,
};

static void *pool_thread(void *userdata) {
        for (;;) {
                struct timespec deadline;
                ThreadAsync *a;

                pthread_mutex_lock(&pool.lock);
                while (!pool.head) {
                        clock_gettime(CLOCK_REALTIME, &deadline);
                        deadline.tv_sec += THREAD_POOL_IDLE_USEC / USEC_PER_SEC;
                        if (pthread_cond_timedwait(&pool.cond, &pool.lock, &deadline) == ETIMEDOUT &&
                            !pool.head && pool.n_threads > THREAD_POOL_KEEP) {
                                pool.n_threads--;
                                pthread_mutex_unlock(&pool.lock);
                                return NULL;
                        }
                }
                pool.n_busy++;
                a = pool.head;
                pool.head = a->next;
                if (!pool.head)
                        pool.tail = NULL;
                pool.n_queued--;
                pthread_mutex_unlock(&pool.lock);

                async_job_run(a);
        }
}

static void pool_job_ended(void) {
        pthread_mutex_lock(&pool.lock);
        pool.n_busy--;
        pthread_mutex_unlock(&pool.lock);
}

/* Queue a (holding the thread's reference); start a thread when every one is busy. */
static int pool_submit(ThreadAsync *a) {
        pthread_attr_t attr;
        pthread_t t;
        int r = 0;

        pthread_mutex_lock(&pool.lock);
        if (pool.n_threads - pool.n_busy <= pool.n_queued && pool.n_threads < THREAD_POOL_MAX) {
                pthread_attr_init(&attr);
                pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                r = -pthread_create(&t, &attr, pool_thread, NULL);
                pthread_attr_destroy(&attr);
                if (r == 0)
                        pool.n_threads++;
                else if (pool.n_threads > 0)
                        r = 0; /* the running ones get to it */
        }
        if (r == 0) {
                a->next = NULL;
                if (pool.tail)
                        pool.tail->next = a;
                else
                        pool.head = a;
                pool.tail = a;
                pool.n_queued++;
                pthread_cond_signal(&pool.cond);
        }
        pthread_mutex_unlock(&pool.lock);
        return r;
}

unsigned thread_pool_threads(void) {
        unsigned n;

        pthread_mutex_lock(&pool.lock);
        n = pool.n_threads;
        pthread_mutex_unlock(&pool.lock);
        return n;
}

/* The loop's side is over: no more callbacks, drop its reference. */
static void async_release(ThreadAsync *a) {
        a->io = sd_event_source_disable_unref(a->io);
        a->timer = sd_event_source_disable_unref(a->timer);
        async_unref(a);
}

/* true: the thread is done, its results are ours; false: it is on its own now. */
static bool async_finish_or_abandon(ThreadAsync *a) {
        bool finished;

        pthread_mutex_lock(&a->lock);
        finished = a->finished;
        if (!finished) {
                a->abandoned = true;
                atomic_fetch_add(&n_stuck, 1);
        }
        pthread_mutex_unlock(&a->lock);
        return finished;
}

static void async_deliver(ThreadAsync *a) {
        ThreadAsyncDone done = a->done;
        void *userdata = a->userdata;

        if (async_finish_or_abandon(a)) {
                done(a->arg, userdata, 0);
                async_release(a); /* frees arg */
                return;
        }
        async_release(a); /* the thread frees arg when it ends */
        done(NULL, userdata, -ETIMEDOUT);
}

static int on_async_ready(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        async_deliver(userdata);
        return 0;
}

static int on_async_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        async_deliver(userdata);
        return 0;
}

int thread_run_async(sd_event *e, void (*run)(void *arg), void (*free_arg)(void *arg), void *arg,
                     usec_t timeout, ThreadAsyncDone done, void *userdata, ThreadAsync **ret) {
        ThreadAsync *a;
        int r;

        assert(e);
        assert(run);
        assert(done);
        if (atomic_load(&n_stuck) >= THREAD_BOUNDED_MAX_STUCK)
                return -EBUSY;

        a = new0(ThreadAsync, 1);
        if (!a)
                return -ENOMEM;
        *a = (ThreadAsync) { .run = run, .done = done, .userdata = userdata, .efd = -EBADF };
        atomic_init(&a->n_ref, 1);
        if (pthread_mutex_init(&a->lock, NULL) != 0) {
                free(a);
                return -ENOMEM;
        }
        a->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (a->efd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(e, &a->io, a->efd, EPOLLIN, on_async_ready, a);
        if (r < 0)
                goto fail;
        r = sd_event_add_time_relative(e, &a->timer, CLOCK_MONOTONIC, timeout, 0, on_async_timeout, a);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(a->io, "thread-async");
        (void) sd_event_source_set_description(a->timer, "thread-async-timeout");

        a->arg = arg;
        a->free_arg = free_arg;
        atomic_fetch_add(&a->n_ref, 1);
        r = pool_submit(a);
        if (r < 0) {
                atomic_fetch_sub(&a->n_ref, 1);
                a->arg = NULL;
                goto fail;
        }
        if (ret)
                *ret = a;
        return 0;
fail:
        async_release(a); /* arg not taken: the caller keeps it */
        return r;
}

ThreadAsync *thread_async_cancel(ThreadAsync *a) {
        if (!a)
                return NULL;
        (void) async_finish_or_abandon(a);
        async_release(a); /* arg goes with the last reference */
        return NULL;
}
