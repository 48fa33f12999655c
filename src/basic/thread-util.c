/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

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
