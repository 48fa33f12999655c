/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "basic/log.h"
#include "mcp/log-forward.h"

/* Lines logged within one event-loop round beyond this are counted, not sent. */
#define LOG_FORWARD_QUEUE_MAX 64

struct McpLogForward {
        McpServer *server;
        sd_event_source *flush;
        char *lines[LOG_FORWARD_QUEUE_MAX];
        int levels[LOG_FORWARD_QUEUE_MAX];
        size_t n_lines;
        unsigned dropped;
};

static void log_forward_send(McpLogForward *f, int level, const char *line) {
        json_object *data = json_object_new_string(line);

        if (!data)
                return;
        mcp_server_broadcast_log(f->server, level, "lean-hostd", data);
        json_object_put(data);
}

static int on_flush(sd_event_source *s, void *userdata) {
        McpLogForward *f = userdata;
        char *lines[LOG_FORWARD_QUEUE_MAX];
        int levels[LOG_FORWARD_QUEUE_MAX];
        size_t n = f->n_lines;
        unsigned dropped = f->dropped;

        /* Take the queue: what sending logs is queued anew, for the next round. */
        memcpy(lines, f->lines, n * sizeof lines[0]);
        memcpy(levels, f->levels, n * sizeof levels[0]);
        f->n_lines = 0;
        f->dropped = 0;
        for (size_t i = 0; i < n; i++) {
                log_forward_send(f, levels[i], lines[i]);
                free(lines[i]);
        }
        if (dropped > 0) {
                char msg[128];

                snprintf(msg, sizeof msg, "Suppressed %u log message%s.", dropped, dropped == 1 ? "" : "s");
                log_forward_send(f, LOG_WARNING, msg);
        }
        return 0;
}

static void on_log(int level, const char *message, void *userdata) {
        McpLogForward *f = userdata;
        char *copy;

        if (f->n_lines >= LOG_FORWARD_QUEUE_MAX) {
                f->dropped++;
                return;
        }
        copy = strdup(message);
        if (!copy) {
                f->dropped++;
                return;
        }
        f->lines[f->n_lines] = copy;
        f->levels[f->n_lines++] = level;
        (void) sd_event_source_set_enabled(f->flush, SD_EVENT_ONESHOT);
}

int mcp_log_forward_new(McpLogForward **ret, sd_event *event, McpServer *server) {
        _cleanup_(mcp_log_forward_freep) McpLogForward *f = NULL;
        int r;

        assert(ret);
        assert(event);
        assert(server);

        f = new0(McpLogForward, 1);
        if (!f)
                return -ENOMEM;
        f->server = server;
        r = sd_event_add_defer(event, &f->flush, on_flush, f);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(f->flush, SD_EVENT_OFF);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(f->flush, "log-forward");
        log_set_forward(on_log, f);
        *ret = TAKE_PTR(f);
        return 0;
}

McpLogForward *mcp_log_forward_free(McpLogForward *f) {
        if (!f)
                return NULL;
        log_set_forward(NULL, NULL);
        f->flush = sd_event_source_disable_unref(f->flush);
        for (size_t i = 0; i < f->n_lines; i++)
                free(f->lines[i]);
        return mfree(f);
}
