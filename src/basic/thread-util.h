/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Bounded waits for file system calls that can hang for good (realpath()
 * and stat() on a hung NFS or FUSE mount sleep uninterruptibly): run them on
 * a thread and give up waiting after a timeout, so the event loop stalls for
 * at most that long. */

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
