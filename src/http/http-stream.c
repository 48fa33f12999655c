/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* SSE response bodies: events we queue, libmicrohttpd reads through
 * http_stream_read(). With nothing queued the connection is suspended (off
 * the loop, no busy polling) and resumed when an event comes or the stream
 * ends. A client that stops reading is cut off at HTTP_STREAM_MAX. While a
 * stream is open, an SSE comment every HTTP_KEEPALIVE_USEC tells a dead
 * client from a quiet stream. */

#include <string.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "http/http-internal.h"

ssize_t http_stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
        HttpStream *t = cls;
        size_t n = t->end - t->start;

        if (t->failed)
                return MHD_CONTENT_READER_END_WITH_ERROR;
        if (n > 0) {
                n = MIN(n, max);
                memcpy(buf, t->buf + t->start, n);
                t->start += n;
                if (t->start == t->end)
                        t->start = t->end = 0;
                return (ssize_t) n;
        }
        if (t->finished || !t->mhd)
                return MHD_CONTENT_READER_END_OF_STREAM;
        /* nothing to send: off the loop until an event is queued */
        MHD_suspend_connection(t->mhd);
        t->suspended = true;
        return 0;
}

void http_stream_free_cb(void *cls) {
        HttpStream *t = cls;

        t->mhd = NULL;
        http_stream_unref(t);
}

/* SSE comments every HTTP_KEEPALIVE_USEC while a stream is open */
static void stream_keepalive_start(HttpServer *s) {
        int enabled = SD_EVENT_OFF;

        if (!s->keepalive || sd_event_source_get_enabled(s->keepalive, &enabled) < 0 || enabled != SD_EVENT_OFF)
                return;
        (void) sd_event_source_set_time_relative(s->keepalive, HTTP_KEEPALIVE_USEC);
        (void) sd_event_source_set_enabled(s->keepalive, SD_EVENT_ON);
}

HttpStream *http_stream_new(HttpServer *s, struct MHD_Connection *c) {
        HttpStream *t = new0(HttpStream, 1);

        if (!t)
                return NULL;
        t->n_ref = 1;
        t->server = s;
        t->mhd = c;
        t->next = s->streams;
        if (s->streams)
                s->streams->prev = t;
        s->streams = t;
        stream_keepalive_start(s);
        return t;
}

HttpStream *http_stream_ref(HttpStream *t) {
        if (t)
                t->n_ref++;
        return t;
}

HttpStream *http_stream_unref(HttpStream *t) {
        if (!t || --t->n_ref > 0)
                return NULL;
        if (t->server) {
                if (t->prev)
                        t->prev->next = t->next;
                else
                        t->server->streams = t->next;
                if (t->next)
                        t->next->prev = t->prev;
        }
        free(t->buf);
        return mfree(t);
}

static void stream_wake(HttpStream *t) {
        if (t->suspended && t->mhd) {
                t->suspended = false;
                MHD_resume_connection(t->mhd);
                http_loop_kick(t->server);
        }
}

static int stream_append(HttpStream *t, const char *a, size_t n) {
        if (t->finished || t->failed || !t->mhd)
                return 0;
        if (t->end - t->start + n > HTTP_STREAM_MAX) {
                log_warning("HTTP: more than %zu MiB queued on an SSE stream, the client does not read; cutting it off.",
                            HTTP_STREAM_MAX / (1024 * 1024));
                t->failed = true;
                t->buf = mfree(t->buf);
                t->start = t->end = t->alloc = 0;
                return -ENOBUFS;
        }
        if (t->end + n > t->alloc) {
                size_t alloc = MAX(t->alloc * 2, t->end + n + 1024);
                char *p = realloc(t->buf, alloc);
                if (!p)
                        return -ENOMEM;
                t->buf = p;
                t->alloc = alloc;
        }
        memcpy(t->buf + t->end, a, n);
        t->end += n;
        return 0;
}

int http_stream_push(HttpStream *t, const char *data, size_t n) {
        int r;

        /* the serialized JSON has no newline: one data line */
        r = stream_append(t, "event: message\ndata: ", 21);
        if (r >= 0)
                r = stream_append(t, data, n);
        if (r >= 0)
                r = stream_append(t, "\n\n", 2);
        stream_wake(t);
        return r;
}

void http_stream_finish(HttpStream *t) {
        t->finished = true;
        stream_wake(t);
}

static void stream_keepalive(HttpStream *t) {
        /* an SSE comment: tells a dead client from a quiet stream */
        if (t->end == t->start)
                (void) stream_append(t, ": keepalive\n\n", 13);
        stream_wake(t);
}

static int on_keepalive(sd_event_source *source, uint64_t usec, void *userdata) {
        HttpServer *s = userdata;

        for (HttpStream *t = s->streams; t; t = t->next)
                stream_keepalive(t);
        (void) sd_event_source_set_time_relative(source, HTTP_KEEPALIVE_USEC);
        if (!s->streams) /* no wake-ups for an idle daemon */
                (void) sd_event_source_set_enabled(source, SD_EVENT_OFF);
        return 0;
}

int http_stream_keepalive_setup(HttpServer *s) {
        int r;

        r = sd_event_add_time_relative(s->event, &s->keepalive, CLOCK_MONOTONIC, HTTP_KEEPALIVE_USEC, USEC_PER_SEC,
                                       on_keepalive, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->keepalive, SD_EVENT_OFF);
        return r;
}
