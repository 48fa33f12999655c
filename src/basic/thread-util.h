/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Bounded waits for file system calls that can hang for good (realpath()
 * and stat() on a hung NFS or FUSE mount sleep uninterruptibly): run them on
 * a thread and give up waiting after a timeout, so the event loop stalls for
 * at most that long. */

#include <systemd/sd-event.h>

#include "basic/macro.h"

/* More threads than this still stuck: refuse at once (-EBUSY) instead of
 * waiting again. */
#define THREAD_BOUNDED_MAX_STUCK 16

/* Runs run(arg) on a new detached thread and waits up to timeout for it.
 * 0: it finished, arg holds its results, the caller owns arg again.
 * -ETIMEDOUT: it did not; it goes on alone and calls free_arg(arg) when it
 * ends: the caller must not touch arg any more. -EBUSY: too many are stuck,
 * nothing was run (the caller still owns arg). Other negative errno: no
 * thread could be started, nothing was run. */
int thread_run_bounded(void (*run)(void *arg), void (*free_arg)(void *arg), void *arg, usec_t timeout);

/* Threads given up on and still running (tests, logging). */
unsigned thread_bounded_stuck(void);

/* Threads of thread_run_async()'s pool: THREAD_POOL_KEEP stay for good, more
 * are started while every one is busy (stuck) and end when idle. Above
 * THREAD_BOUNDED_MAX_STUCK so stuck jobs hit -EBUSY before the pool is full. */
#define THREAD_POOL_KEEP 2
#define THREAD_POOL_MAX (THREAD_BOUNDED_MAX_STUCK + 4)
#define THREAD_POOL_IDLE_USEC (10 * USEC_PER_SEC)

/* The same, without any wait on the event loop: run(arg) on a pool thread
 * (thread_pool_threads()); when it ends, done(arg, userdata, 0) runs on the loop (woken by an
 * eventfd), then free_arg(arg). When it has not ended after timeout,
 * done(NULL, userdata, -ETIMEDOUT) runs on the loop instead and the thread
 * goes on alone (counted in thread_bounded_stuck(), frees arg itself when it
 * ends). Returns -EBUSY (nothing run, the caller keeps arg) when too many are
 * stuck. On success *ret (optional) can cancel: done is then never called. */
typedef struct ThreadAsync ThreadAsync;
typedef void (*ThreadAsyncDone)(void *arg, void *userdata, int r);

int thread_run_async(sd_event *e, void (*run)(void *arg), void (*free_arg)(void *arg), void *arg,
                     usec_t timeout, ThreadAsyncDone done, void *userdata, ThreadAsync **ret);
/* done is not called any more; a running thread is left to end alone. NULL is fine. */
ThreadAsync *thread_async_cancel(ThreadAsync *a);
/* Threads in the pool now, busy or idle (tests). */
unsigned thread_pool_threads(void);
