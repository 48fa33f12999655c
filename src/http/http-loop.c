/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libmicrohttpd in sd-event, the bottom of the HTTP transport: in "external
 * polling" mode with epoll libmicrohttpd has no thread of its own; its epoll
 * fd is one io source, its next timeout one timer, and a defer source runs
 * it again after a connection was resumed or an event queued
 * (http_loop_kick). MHD_run() calls up only through the callbacks the
 * server gave MHD_start_daemon(). Nothing here blocks. */

#include <sys/epoll.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "basic/time-util.h"
#include "http/http-internal.h"

static void loop_update_timer(HttpServer *s) {
        MHD_UNSIGNED_LONG_LONG ms;
        int r;

        if (!s->mhd || !s->timer)
                return;
        if (MHD_get_timeout(s->mhd, &ms) != MHD_YES) {
                (void) sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
                return;
        }
        r = sd_event_source_set_time_relative(s->timer, ms * USEC_PER_MSEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "HTTP: failed to arm the timer: %m");
}

static void loop_run(HttpServer *s) {
        if (!s->mhd)
                return;
        (void) MHD_run(s->mhd);
        loop_update_timer(s);
}

static int on_mhd_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        loop_run(userdata);
        return 0;
}

static int on_mhd_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        loop_run(userdata);
        return 0;
}

static int on_mhd_defer(sd_event_source *source, void *userdata) {
        loop_run(userdata);
        return 0;
}

void http_loop_kick(HttpServer *s) {
        if (s->run)
                (void) sd_event_source_set_enabled(s->run, SD_EVENT_ONESHOT);
}

int http_loop_attach(HttpServer *s) {
        const union MHD_DaemonInfo *info;
        int r;

        info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info)
                return log_error_errno(EIO, "HTTP: libmicrohttpd has no epoll fd.");
        r = sd_event_add_io(s->event, &s->io, info->epoll_fd, EPOLLIN, on_mhd_io, s);
        if (r >= 0)
                r = sd_event_add_time(s->event, &s->timer, CLOCK_MONOTONIC, 0, 0, on_mhd_timer, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_defer(s->event, &s->run, on_mhd_defer, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->run, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "HTTP: failed to hook libmicrohttpd into the event loop: %m");
        (void) sd_event_source_set_description(s->io, "http-mhd");
        loop_update_timer(s);
        return 0;
}

void http_loop_detach(HttpServer *s) {
        s->io = sd_event_source_disable_unref(s->io);
        s->timer = sd_event_source_disable_unref(s->timer);
        s->run = sd_event_source_disable_unref(s->run);
}
