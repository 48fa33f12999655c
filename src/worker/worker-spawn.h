/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Spawn/exec of a worker process. Owns the child's side (fork, stdio, the
 * gate it is parked on, exec) and the parent's ends of the gate and
 * exec-status pipes. It knows nothing of the worker's state machine
 * (worker.c): that calls down here and acts on what comes back.
 *
 * The child is forked first and parked on a gate pipe; in scope mode the
 * placer moves it into its transient scope, and only then is the gate
 * opened and argv exec'd, so the worker never allocates a byte outside its
 * MemoryMax. A CLOEXEC status pipe tells the parent whether exec worked (EOF)
 * or not (the step and an errno). */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "worker/worker.h"

typedef struct WorkerChild {
        pid_t pid;     /* leads its own process group */
        int stdio_fd;  /* socket: commands out, replies in (non-blocking) */
        int stderr_fd; /* read end (non-blocking) */
        int gate_fd;   /* write end: one byte releases the child */
        int exec_fd;   /* read end: EOF = exec'd, a status = it failed */
} WorkerChild;

/* Fork the child, parked on the gate. On success every fd in *ret is the
 * caller's to close. */
int worker_spawn_fork(const WorkerSpec *spec, char **envp, WorkerChild *ret);

/* Release the parked child (closes *gate_fd). process_mode: the child sets
 * PR_SET_PDEATHSIG, nothing else would ever stop it. */
int worker_spawn_open_gate(int *gate_fd, bool process_mode);

/* The child's word on exec: 0 exec'd (EOF), 1 it failed (why in reason),
 * -EAGAIN nothing yet. On 0 and 1 the caller is done with exec_fd: it must
 * remove the fd's event source before closing it (a child forked meanwhile
 * may hold the pipe, keeping a closed fd's epoll registration alive). */
int worker_spawn_read_status(int exec_fd, const char *argv0, const char *cwd, char *reason, size_t reason_size);
