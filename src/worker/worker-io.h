/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A worker's pipes: the REPL line protocol on its stdio socket (the pending
 * command's bytes out, the reply decoder in) and its stderr, logged line by
 * line up to a bound. Owns the fds and the event sources; knows nothing of
 * the worker's state machine (worker.c), which dispatches the replies. */

#include <json-c/json.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "worker/repl.h"

#define WORKER_READ_CHUNK (64 * 1024)
#define WORKER_STDERR_LINE_MAX 4096

typedef struct WorkerIo {
        int fd;                /* socket: commands out, replies in */
        sd_event_source *source;
        ReplDecoder *decoder;
        char *out;             /* pending command bytes */
        size_t out_len, out_off;
} WorkerIo;

int worker_io_init(WorkerIo *io, sd_event *event, size_t max_reply_bytes);
void worker_io_close(WorkerIo *io);   /* fd and source; the decoder stays for a last look */
void worker_io_done(WorkerIo *io);

/* Encode one command as the pending output (nothing written yet). */
int worker_io_queue(WorkerIo *io, json_object *command);
/* Write what the socket takes; EPOLLOUT is asked for the rest. -errno when
 * the worker is gone (EPIPE). */
int worker_io_flush(WorkerIo *io);
void worker_io_drop_output(WorkerIo *io);
/* Read once: >0 bytes in buf, 0 EOF (or a read error: the same to us), -EAGAIN nothing. */
ssize_t worker_io_read(WorkerIo *io, char *buf, size_t size);

typedef struct WorkerStderr {
        int fd;
        sd_event_source *source;
        uint64_t max, logged, dropped;
        const char *project_id, *cwd; /* not owned: the worker's */
        uint64_t generation;
        char line[WORKER_STDERR_LINE_MAX];
        size_t line_len;
} WorkerStderr;

/* Watch fd (taken) and log its lines to the journal with the worker's fields. */
int worker_stderr_watch(WorkerStderr *e, sd_event *event, int fd);
void worker_stderr_close(WorkerStderr *e);
