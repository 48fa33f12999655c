/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Calls in flight and their cancellation: the McpCall handed to tool
 * handlers, its answer turned into a tools/call result (structuredContent
 * and a text summary), the server's and each connection's table of
 * unanswered calls, notifications/cancelled, and cancelling what a closing
 * connection leaves behind. A cancelled call's cancel callback runs once; its
 * owner still answers and that answer is dropped (MCP: no response to a
 * cancelled request). Must not know which tools exist, their schemas or the
 * MCP lifecycle. */

/* Progress of a tools/call (MCP 2025-06-18, basic/utilities/progress), in
 * this file because it is the call's own state: McpCall's fields, its
 * reference (a flush holds one: a write error inside it may answer and free
 * the call), its answer (pending stages go out first) and its cancellation.
 * A request whose params._meta.progressToken is set gets notifications/progress
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

/* {"error": {"code", "retryable", "message"}}: the tool-error body every
 * layer uses, here for the errors the MCP layer itself produces. */
static json_object *tool_error_body_new(const char *code, bool retryable, const char *message) {
        json_object *body = json_object_new_object(), *e = json_object_new_object();

        if (!body || !e) {
                json_object_put(body);
                json_object_put(e);
                return NULL;
        }
        if (json_add(e, "code", json_object_new_string(code)) < 0 ||
            json_add(e, "retryable", json_object_new_boolean(retryable)) < 0 ||
            json_add(e, "message", json_object_new_string(message)) < 0 ||
            json_add(body, "error", TAKE_PTR(e)) < 0) {
                json_object_put(body);
                json_object_put(e);
                return NULL;
        }
        return body;
}

/* The tools/call result: structuredContent (always an object) and, for
 * clients that only read content, a compact summary of it as text. */
static json_object *tool_result_new(McpServer *s, json_object *body, bool is_error, char *given_text) {
        json_object *result, *content, *text;
        _cleanup_free_ char *summary = given_text;

        if (!json_object_is_type(body, json_type_object)) {
                json_object *wrap = json_object_new_object();
                if (!wrap) {
                        json_object_put(body);
                        return NULL;
                }
                json_object_object_add(wrap, "result", body);
                body = wrap;
        }

        if (!summary && s && s->result_text)
                summary = s->result_text(body, is_error, s->result_text_userdata);
        if (!summary)
                summary = mcp_result_text_default(body, is_error);
        result = json_object_new_object();
        content = json_object_new_array();
        text = json_object_new_object();
        if (!summary || !result || !content || !text) {
                json_object_put(body);
                json_object_put(result);
                json_object_put(content);
                json_object_put(text);
                return NULL;
        }
        /* each add takes its value, on failure too: what is left is released below */
        if (json_add(text, "type", json_object_new_string("text")) < 0 ||
            json_add(text, "text", json_object_new_string(summary)) < 0 ||
            json_append(content, TAKE_PTR(text)) < 0 ||
            json_add(result, "content", TAKE_PTR(content)) < 0 ||
            json_add(result, "structuredContent", TAKE_PTR(body)) < 0 ||
            json_add(result, "isError", json_object_new_boolean(is_error)) < 0) {
                json_object_put(text);
                json_object_put(content);
                json_object_put(body);
                json_object_put(result);
                return NULL;
        }
        return result;
}

/* ---- progress ------------------------------------------------------------ */

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

/* No more heartbeats: the answer goes out, the call lost its connection. */
static void call_progress_stop(McpCall *c) {
        c->progress_timer = sd_event_source_disable_unref(c->progress_timer);
}

/* Nothing more at all (cancelled, freed): stages not yet sent are dropped. */
static void call_progress_done(McpCall *c) {
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

/* The answer goes out on conn next: the stages reported but not yet sent go
 * first (they were reported before it), then nothing more. */
static void call_progress_flush_final(McpCall *c, Connection *conn) {
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

/* ---- the call ------------------------------------------------------------- */

static McpCall *call_free(McpCall *c) {
        call_progress_done(c);
        json_object_put(c->progress_token);
        free(c->progress_stage);
        json_object_put(c->id);
        json_object_put(c->arguments);
        free(c->args);
        free(c->tool);
        batch_unref(c->batch);
        return mfree(c);
}

DEFINE_TRIVIAL_REF_UNREF_FUNC(McpCall, mcp_call, call_free);

const char *mcp_call_get_tool(const McpCall *c) {
        return c->tool;
}

json_object *mcp_call_get_arguments(const McpCall *c) {
        return c->arguments;
}

json_object *mcp_call_get_id(const McpCall *c) {
        return c->id;
}

bool mcp_call_set_cancel(McpCall *c, McpCancelFunc cancel, void *userdata) {
        c->cancel = cancel;
        c->cancel_userdata = userdata;
        return c->cancelled;
}

McpCall *mcp_call_open(McpCall *c, McpCancelFunc cancel, void *userdata, McpCallView *ret) {
        assert(c);
        assert(ret);

        *ret = (McpCallView) {
                .tool = c->tool,
                .arguments = c->arguments,
                .args = c->args,
                .wants_progress = mcp_call_wants_progress(c),
                .cancelled = cancel ? mcp_call_set_cancel(c, cancel, userdata) : c->cancelled,
        };
        return mcp_call_ref(c);
}

McpCall *mcp_call_release(McpCall *c, void *userdata) {
        if (!c)
                return NULL;
        if (c->cancel && c->cancel_userdata == userdata)
                mcp_call_set_cancel(c, NULL, NULL);
        return mcp_call_unref(c);
}

void *mcp_call_get_cancel_userdata(const McpCall *c) {
        return c->cancel ? c->cancel_userdata : NULL;
}

bool mcp_call_is_cancelled(const McpCall *c) {
        return c->cancelled;
}

static void call_unlink_connection(McpCall *c) {
        Connection *conn = c->conn;

        /* nothing more goes to the client: no progress after the answer or the close */
        call_progress_stop(c);
        if (!conn)
                return;
        LIST_REMOVE(conn, conn->calls, c);
        c->conn = NULL;
}

/* Drops the server's reference, taken when the call was dispatched. */
static void call_unlink_server(McpCall *c) {
        McpServer *s = c->server;

        if (!s)
                return;
        LIST_REMOVE(server, s->calls, c);
        c->server = NULL;
        s->n_calls--;
        mcp_call_unref(c);
}

static void call_cancel(McpCall *c) {
        if (c->replied || c->cancelled)
                return;
        c->cancelled = true;
        call_progress_done(c);
        if (c->cancel && !c->cancel_invoked) {
                c->cancel_invoked = true;
                mcp_call_ref(c);
                c->cancel(c, c->cancel_userdata);
                mcp_call_unref(c);
        }
}

void mcp_call_reply(McpCall *c, json_object *body, bool is_error) {
        mcp_call_reply_text(c, body, is_error, NULL);
}

void mcp_call_reply_text(McpCall *c, json_object *body, bool is_error, char *text) {
        _cleanup_free_ char *given = text;
        _cleanup_(connection_unrefp) Connection *conn = NULL;
        Batch *b;
        bool deliver;

        if (c->replied) {
                log_debug("Tool call %s answered twice, ignoring the second answer.", c->tool);
                json_object_put(body);
                return;
        }
        c->replied = true;

        mcp_call_ref(c);
        conn = connection_ref(c->conn);
        b = c->batch;
        /* Replies to cancelled calls are dropped: per MCP, the receiver of a
         * cancellation should not send a response for the cancelled request. */
        deliver = conn && !conn->closed && !c->cancelled;
        call_unlink_connection(c);

        if (deliver) {
                json_object *result;

                call_progress_flush_final(c, conn);
                result = tool_result_new(c->server, body, is_error, TAKE_PTR(given));
                conn->last_activity = now_usec(CLOCK_MONOTONIC);
                emit(conn, b, result ? jsonrpc_result_new(c->id, result) : NULL);
        } else {
                log_debug("Dropping the answer to %s call %s: %s.", c->tool,
                          json_object_to_json_string_ext(c->id, JSON_C_TO_STRING_PLAIN),
                          c->cancelled ? "cancelled" : "connection closed");
                json_object_put(body);
        }

        if (b) {
                b->n_pending--;
                batch_maybe_send(b);
        }
        call_unlink_server(c);
        if (conn)
                connection_maybe_finish(conn);
        mcp_call_unref(c);
}

void mcp_call_reply_release(McpCall *c, void *holder, json_object *body, bool is_error, char *text) {
        mcp_call_reply_text(c, body, is_error, text);
        mcp_call_release(c, holder);
}

void call_reply_error(McpCall *c, LhErrorCode code, const char *message) {
        json_object *body = tool_error_body_new(lh_error_code_to_string(code), lh_error_code_retryable(code), message);

        if (!body)
                log_oom();
        mcp_call_reply(c, body, true);
}

McpCall *call_new(Connection *c, Batch *b, json_object *id, const char *tool, json_object *arguments) {
        McpServer *s = c->server;
        McpCall *call;

        assert(s);
        assert(tool);

        call = new0(McpCall, 1);
        if (!call || !(call->tool = strdup(tool))) {
                free(call);
                json_object_put(arguments);
                return NULL;
        }
        call->n_ref = 1; /* the server's, dropped when answered */
        call->id = json_object_get(id);
        call->arguments = arguments;
        call->server = s;
        LIST_PREPEND(server, s->calls, call);
        s->n_calls++;
        call->conn = c;
        LIST_PREPEND(conn, c->calls, call);
        if (b) {
                call->batch = batch_ref(b);
                b->n_pending++;
        }
        return call;
}

void call_notification_cancelled(Connection *c, json_object *params) {
        json_object *rid;

        if (!json_object_is_type(params, json_type_object) ||
            !json_object_object_get_ex(params, "requestId", &rid) || !rid)
                return;
        LIST_FOREACH(conn, call, c->calls)
                if (!call->cancelled && json_object_equal(call->id, rid)) {
                        json_object *reason = NULL;
                        (void) json_object_object_get_ex(params, "reason", &reason);
                        log_debug("Connection %u cancelled %s call %s%s%s.", c->id, call->tool,
                                  json_object_to_json_string_ext(rid, JSON_C_TO_STRING_PLAIN),
                                  reason ? ": " : "", reason ? json_object_get_string(reason) : "");
                        call_cancel(call);
                        return;
                }
}

void call_connection_closed(Connection *c) {
        McpCall *call;

        /* a cancel callback may answer (dropped) or even answer other calls
         * of this connection */
        while ((call = c->calls)) {
                mcp_call_ref(call);
                call_unlink_connection(call);
                call_cancel(call);
                mcp_call_unref(call);
        }
}

void call_drop_all(McpServer *s) {
        McpCall *call;

        while ((call = s->calls)) {
                mcp_call_ref(call);
                call_cancel(call);
                call_unlink_server(call);
                mcp_call_unref(call);
        }
}
