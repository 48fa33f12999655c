/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Progress of a tools/call (MCP 2025-06-18, basic/utilities/progress): a
 * request whose params._meta.progressToken is set gets notifications/progress
 * {progressToken, progress, message} for each stage its owner reports and,
 * when it was silent for the server's progress interval, a heartbeat that
 * repeats the last stage with the time elapsed. Clients that reset their
 * request timeout on progress (the TypeScript SDK's resetTimeoutOnProgress)
 * then keep a Lean call that outlasts their 60 s. progress only grows;
 * nothing is sent once the call was answered or cancelled or its connection
 * went away. Notifications take the responses' path (emit()), never a
 * batch's array: they must reach the client before the answer. */

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "basic/time-util.h"
#include "mcp/call.h"
#include "mcp/jsonrpc.h"
#include "mcp/server-internal.h"

/* A stage message longer than this is cut (at a UTF-8 boundary). */
#define PROGRESS_MESSAGE_MAX 512
/* Stages waiting for the loop beyond this replace the newest one. */
#define PROGRESS_PENDING_MAX 16

static bool call_progress_live(const McpCall *c) {
        return c->progress_token && !c->replied && !c->cancelled && c->conn && !c->conn->closed;
}

bool mcp_call_wants_progress(const McpCall *c) {
        return c && call_progress_live(c);
}

void call_progress_stop(McpCall *c) {
        c->progress_timer = sd_event_source_disable_unref(c->progress_timer);
}

void call_progress_done(McpCall *c) {
        call_progress_stop(c);
        c->progress_defer = sd_event_source_disable_unref(c->progress_defer);
        c->progress_pending = strv_free(c->progress_pending);
}

/* The heartbeat fires after an interval of silence: every send restarts it. */
static void call_progress_rearm(McpCall *c) {
        int r;

        if (!c->progress_timer || !c->server)
                return;
        r = sd_event_source_set_time_relative(c->progress_timer, c->server->progress_interval);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->progress_timer, SD_EVENT_ONESHOT);
        if (r < 0) {
                log_debug_errno(r, "Cannot re-arm the progress heartbeat of %s, stopping it: %m", c->tool);
                call_progress_stop(c);
        }
}

/* One notification on conn. A failed write closes the connection, which
 * cancels the call: callers hold a reference and check again after. */
static void call_progress_send(McpCall *c, Connection *conn, const char *message) {
        json_object *params, *msg;

        params = json_object_new_object();
        if (!params ||
            json_add(params, "progressToken", json_object_get(c->progress_token)) < 0 ||
            json_add(params, "progress", json_object_new_uint64(c->progress + 1)) < 0 ||
            (message && json_add(params, "message", json_object_new_string(message)) < 0)) {
                json_object_put(params);
                log_oom();
                return;
        }
        msg = jsonrpc_notification_new("notifications/progress", params);
        if (!msg) {
                log_oom();
                return;
        }
        c->progress++;
        emit(conn, NULL, msg);
}

/* Sends what is pending, from the loop: never inside the reporter's own
 * code, where a write error's cancellation would re-enter it. */
static void call_progress_flush(McpCall *c) {
        _cleanup_(connection_unrefp) Connection *conn = connection_ref(c->conn);
        char **pending = TAKE_PTR(c->progress_pending);

        mcp_call_ref(c);
        STRV_FOREACH(m, pending)
                if (call_progress_live(c))
                        call_progress_send(c, conn, *m);
        strv_free(pending);
        if (call_progress_live(c))
                call_progress_rearm(c);
        mcp_call_unref(c);
}

void call_progress_flush_final(McpCall *c, Connection *conn) {
        char **pending = TAKE_PTR(c->progress_pending);

        assert(conn);
        STRV_FOREACH(m, pending)
                if (!conn->closed)
                        call_progress_send(c, conn, *m);
        strv_free(pending);
        call_progress_done(c);
}

static int on_progress_defer(sd_event_source *s, void *userdata) {
        call_progress_flush(userdata);
        return 0;
}

static int on_progress_heartbeat(sd_event_source *s, uint64_t usec, void *userdata) {
        McpCall *c = userdata;
        _cleanup_free_ char *text = NULL;
        uint64_t secs;

        if (!call_progress_live(c)) {
                call_progress_stop(c);
                return 0;
        }
        secs = (now_usec(CLOCK_MONOTONIC) - c->progress_started) / USEC_PER_SEC;
        text = strdup_printf("%s (%" PRIu64 " s elapsed)", c->progress_stage ?: "working", secs);
        /* stages still pending go first; this runs from the loop, so directly */
        if (!text || strv_extend(&c->progress_pending, text) < 0) {
                log_oom();
                return 0;
        }
        call_progress_flush(c);
        return 0;
}

int call_progress_init(McpCall *c, json_object *params) {
        json_object *meta, *token;
        int r;

        assert(c);
        if (!json_object_is_type(params, json_type_object) ||
            !json_object_object_get_ex(params, "_meta", &meta) || !json_object_is_type(meta, json_type_object) ||
            !json_object_object_get_ex(meta, "progressToken", &token))
                return 0;
        /* MCP: a string or a number, unique among the client's requests in flight */
        if (!json_object_is_type(token, json_type_string) && !json_object_is_type(token, json_type_int) &&
            !json_object_is_type(token, json_type_double)) {
                log_debug("Tool call %s: ignoring a progressToken that is neither a string nor a number.", c->tool);
                return 0;
        }
        c->progress_token = json_object_get(token);
        c->progress_started = now_usec(CLOCK_MONOTONIC);
        if (!c->server || c->server->progress_interval == 0)
                return 0;
        r = sd_event_add_time_relative(c->server->event, &c->progress_timer, CLOCK_MONOTONIC,
                                       c->server->progress_interval, 0, on_progress_heartbeat, c);
        if (r < 0)
                return log_debug_errno(r, "Cannot arm the progress heartbeat of %s: %m", c->tool);
        (void) sd_event_source_set_description(c->progress_timer, "mcp-progress");
        return 0;
}

/* A copy of message of at most PROGRESS_MESSAGE_MAX bytes, not ending inside
 * a UTF-8 sequence. */
static char *progress_message_dup(const char *message) {
        size_t n = strlen(message);

        if (n <= PROGRESS_MESSAGE_MAX)
                return strdup(message);
        n = PROGRESS_MESSAGE_MAX;
        while (n > 0 && ((unsigned char) message[n] & 0xc0) == 0x80)
                n--;
        return strndup(message, n);
}

void mcp_call_report_progress(McpCall *c, const char *message) {
        _cleanup_free_ char *m = NULL;
        char *stage;
        size_t n;
        int r;

        if (!mcp_call_wants_progress(c) || !message)
                return;
        /* the same stage again says nothing new; the heartbeat repeats it */
        if (c->progress_stage && streq(c->progress_stage, message))
                return;
        m = progress_message_dup(message);
        stage = m ? strdup(m) : NULL;
        if (!stage)
                return (void) log_oom();
        free(c->progress_stage);
        c->progress_stage = stage;

        n = strv_length(c->progress_pending);
        if (n >= PROGRESS_PENDING_MAX) {
                free(c->progress_pending[n - 1]);
                c->progress_pending[n - 1] = TAKE_PTR(m);
        } else if (strv_consume(&c->progress_pending, TAKE_PTR(m)) < 0)
                return (void) log_oom();

        if (!c->progress_defer) {
                r = sd_event_add_defer(c->server->event, &c->progress_defer, on_progress_defer, c);
                if (r < 0)
                        return (void) log_debug_errno(r, "Cannot queue the progress of %s: %m", c->tool);
                (void) sd_event_source_set_description(c->progress_defer, "mcp-progress-flush");
        }
        r = sd_event_source_set_enabled(c->progress_defer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_debug_errno(r, "Cannot queue the progress of %s: %m", c->tool);
}
