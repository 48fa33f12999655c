/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A worker's pipes: see worker-io.h. Called by worker.c only; calls nothing
 * above it. */

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "worker/worker-io.h"

int worker_io_init(WorkerIo *io, sd_event *event, size_t max_reply_bytes) {
        int r;

        assert(io);
        assert(event);
        *io = (WorkerIo) { .fd = -EBADF };
        r = repl_decoder_new(&io->decoder, max_reply_bytes ?: REPL_REPLY_MAX_DEFAULT);
        if (r < 0)
                return r;
        repl_decoder_set_event(io->decoder, event);
        return 0;
}

void worker_io_close(WorkerIo *io) {
        io->source = sd_event_source_disable_unref(io->source);
        io->fd = safe_close(io->fd);
}

void worker_io_done(WorkerIo *io) {
        worker_io_close(io);
        io->decoder = repl_decoder_free(io->decoder);
        worker_io_drop_output(io);
}

void worker_io_drop_output(WorkerIo *io) {
        io->out = mfree(io->out);
        io->out_len = io->out_off = 0;
}

int worker_io_flush(WorkerIo *io) {
        while (io->out_off < io->out_len) {
                ssize_t n = send(io->fd, io->out + io->out_off, io->out_len - io->out_off,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return sd_event_source_set_io_events(io->source, EPOLLIN | EPOLLOUT);
                        return -errno;
                }
                io->out_off += (size_t) n;
        }
        worker_io_drop_output(io);
        return sd_event_source_set_io_events(io->source, EPOLLIN);
}

int worker_io_queue(WorkerIo *io, json_object *command) {
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        r = repl_encode_command(command, &buf, &len);
        if (r < 0)
                return r;
        free(io->out);
        io->out = TAKE_PTR(buf);
        io->out_len = len;
        io->out_off = 0;
        return 0;
}

ssize_t worker_io_read(WorkerIo *io, char *buf, size_t size) {
        ssize_t n = read(io->fd, buf, size);

        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? -EAGAIN : 0;
        return n;
}

/* ---- stderr ---------------------------------------------------------------- */

static void stderr_log_line(WorkerStderr *e, const char *line, size_t len) {
        char msg[WORKER_STDERR_LINE_MAX + 128], id[64], gen[48], root[4096 + 32];

        /* Once over the bound, drop the rest: a log with holes in it misleads. */
        if (e->dropped > 0 || e->logged + len + 1 > e->max) {
                if (e->dropped == 0)
                        log_info("Worker %s/%" PRIu64 ": stderr over %" PRIu64 " bytes, not logging the rest.",
                                 e->project_id, e->generation, e->max);
                e->dropped += len + 1;
                return;
        }
        e->logged += len + 1;
        snprintf(msg, sizeof msg, "worker %s/%" PRIu64 ": %.*s", e->project_id, e->generation, (int) len, line);
        snprintf(id, sizeof id, "LEAN_HOST_PROJECT_ID=%s", e->project_id);
        snprintf(root, sizeof root, "LEAN_HOST_PROJECT=%s", strempty(e->cwd));
        snprintf(gen, sizeof gen, "LEAN_HOST_GENERATION=%" PRIu64, e->generation);
        /* The root only as a journal field: on stderr the id says enough. */
        (void) log_struct_internal(LOG_INFO, 0, msg, id, gen, "LEAN_HOST_STREAM=stderr",
                                   log_to_journal() && e->cwd ? root : NULL, NULL);
}

static int on_stderr(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        WorkerStderr *e = userdata;
        char buf[WORKER_READ_CHUNK];
        ssize_t n;

        (void) s;
        (void) revents;
        n = read(fd, buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                if (e->line_len > 0)
                        stderr_log_line(e, e->line, e->line_len);
                e->line_len = 0;
                worker_stderr_close(e);
                return 0;
        }
        for (ssize_t i = 0; i < n; i++) {
                if (buf[i] == '\n' || e->line_len == sizeof e->line) {
                        stderr_log_line(e, e->line, e->line_len);
                        e->line_len = 0;
                        if (buf[i] == '\n')
                                continue;
                }
                e->line[e->line_len++] = buf[i];
        }
        return 0;
}

int worker_stderr_watch(WorkerStderr *e, sd_event *event, int fd) {
        e->fd = fd;
        return sd_event_add_io(event, &e->source, e->fd, EPOLLIN, on_stderr, e);
}

void worker_stderr_close(WorkerStderr *e) {
        e->source = sd_event_source_disable_unref(e->source);
        e->fd = safe_close(e->fd);
}
