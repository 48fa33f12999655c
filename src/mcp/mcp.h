/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The MCP server: connections on the listening socket, newline-delimited
 * JSON-RPC 2.0 framing, the MCP lifecycle, the tool table with its schemas,
 * argument validation and cancellation. Knows nothing of workers: a tool call
 * is handed to a registered handler as an McpCall, answered exactly once. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"

#define MCP_PROTOCOL_VERSION "2025-06-18"

typedef struct McpServer McpServer;
typedef struct McpCall McpCall;
typedef struct McpToolDef McpToolDef; /* mcp/tool-schemas.h */

typedef struct McpServerOptions {
        uint64_t max_line_bytes;
        uint64_t max_connections;
        uint64_t max_input_bytes;      /* input buffered over all connections; 0 = default */
        uint64_t line_timeout_usec;    /* an unfinished line older than this: error + close; 0 = never */
        uint64_t handshake_timeout_usec; /* no initialize answered within this: error + close; 0 = never */
        uint64_t idle_timeout_usec;    /* an initialized session with nothing in flight, silent this
                                        * long, is closed; 0 = never */
        uint64_t progress_interval_usec; /* a call with a progressToken silent this long gets a
                                          * heartbeat notifications/progress; 0 = none */
        const char *server_name;    /* "lean-host" */
        const char *server_version;
        const char *instructions;   /* optional initialize.instructions */
        const McpToolDef *const *tools; /* the tools listed, in this order (tools_list_defs()) */
        size_t n_tools;
} McpServerOptions;

/* Return 0 when the call was taken (answered now or later via
 * mcp_call_reply*), negative errno on an internal failure (the server then
 * answers with an internal tool error). Arguments are already validated
 * against the tool's schema. */
typedef int (*McpToolHandler)(McpCall *call, void *userdata);

/* Idle accounting: called whenever the number of open connections changes. */
typedef void (*McpConnectionsChanged)(McpServer *s, unsigned n_connections, void *userdata);

int mcp_server_new(McpServer **ret, sd_event *event, const McpServerOptions *opts);
McpServer *mcp_server_free(McpServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(McpServer *, mcp_server_free);

/* Start accepting on a listening SOCK_STREAM AF_UNIX fd (takes ownership). */
int mcp_server_add_listener(McpServer *s, int fd);
int mcp_server_register_tool(McpServer *s, const char *name, McpToolHandler handler, void *userdata);
void mcp_server_set_connections_changed(McpServer *s, McpConnectionsChanged cb, void *userdata);

/* The text of a tools/call result's content[0]: a compact summary for
 * clients that only read text. The full body goes to structuredContent only,
 * never a second time as serialized text (MCP 2025-06-18 suggests the
 * serialized JSON there; we do not duplicate it, for token cost). Returns a
 * malloc'd string (NULL: out of memory, the default is used). Without one
 * set, mcp_result_text_default() is used. */
typedef char *(*McpResultText)(json_object *body, bool is_error, void *userdata);
void mcp_server_set_result_text(McpServer *s, McpResultText f, void *userdata);
/* "error CODE: MESSAGE" for an error body; for a result, its compact JSON
 * when short, else only its size. */
char *mcp_result_text_default(json_object *body, bool is_error);
unsigned mcp_server_get_n_connections(const McpServer *s);

/* Shutdown: stop accepting; calls still open are answered with a
 * "shutting_down" tool error by their owners (see registry_shutdown), queued
 * output is flushed; then connections close. Returns when nothing is pending
 * or the flush is under way; mcp_server_is_drained() tells. */
void mcp_server_stop_accepting(McpServer *s);
bool mcp_server_is_drained(const McpServer *s);

/* Logging to clients (notifications/message) at or above their setLevel.
 * Only connections that completed initialize get messages; their level is
 * none until they send logging/setLevel. data is borrowed (a ref is taken),
 * logger may be NULL. */
void mcp_server_broadcast_log(McpServer *s, int syslog_level, const char *logger, json_object *data);

/* ---- a session on another transport (src/http) -------------------------
 * The layers above the framing (router, calls, lifecycle, logging) see it as
 * one more connection: it counts in n_connections, gets log broadcasts, its
 * calls are cancelled when it closes. Its messages go to the sink instead of
 * a socket; its input comes through mcp_session_feed(). */
typedef struct Connection McpSession;
typedef struct McpPeerSink {
        /* one outgoing message: msg is borrowed (for routing by id), text its
         * serialization (UTF-8 sanitized, no newline) */
        void (*send)(McpSession *s, json_object *msg, const char *text, size_t n, void *userdata);
        /* the server closed the session (idle, stopping, shutdown); called once */
        void (*closed)(McpSession *s, void *userdata);
} McpPeerSink;

/* The returned reference is the caller's; the server keeps its own until the
 * session closes. */
int mcp_session_new(McpServer *s, const McpPeerSink *sink, void *userdata, McpSession **ret);
McpSession *mcp_session_unref(McpSession *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(McpSession *, mcp_session_unref);
/* One JSON-RPC message or batch, as a line would carry it. Answers given
 * now go to the sink before this returns. */
void mcp_session_feed(McpSession *s, const char *text, size_t n);
/* The client ended it: unanswered calls are cancelled. No sink->closed. */
void mcp_session_close(McpSession *s);
/* NULL until initialize was answered */
const char *mcp_session_get_protocol_version(const McpSession *s);
bool mcp_session_has_calls(const McpSession *s);

/* ---- one tools/call ----------------------------------------------------- */

McpCall *mcp_call_ref(McpCall *c);
McpCall *mcp_call_unref(McpCall *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(McpCall *, mcp_call_unref);

const char *mcp_call_get_tool(const McpCall *c);
json_object *mcp_call_get_arguments(const McpCall *c); /* borrowed, an object */

/* Called at most once when the client cancels (notifications/cancelled) or
 * its connection goes away; the handler must still reply (the reply to a
 * gone connection is dropped by the server, never by the handler). */
typedef void (*McpCancelFunc)(McpCall *c, void *userdata);

/* What a holder reads of its call, once: mcp_call_open(). */
typedef struct McpCallView {
        const char *tool;
        json_object *arguments; /* an object, borrowed while the reference is held */
        json_object *const *args; /* each row of the tool's table, resolved (mcp_tool_args_resolve():
                                   * aliases), NULL when it has no table; borrowed like arguments */
        bool wants_progress;    /* a progressToken came (mcp_call_report_progress() still
                                 * checks whether it goes anywhere now) */
        bool cancelled;         /* cancelled before it was opened: cancel will not run */
} McpCallView;
/* A new reference to c, its cancel callback (NULL: none) and in *ret what
 * its holder reads of it: one call for all a tool's base needs to start. */
McpCall *mcp_call_open(McpCall *c, McpCancelFunc cancel, void *userdata, McpCallView *ret);
/* The holder of a reference from mcp_call_open() is done: its cancel
 * callback goes when userdata still holds it (the call may have moved on),
 * then its reference. Returns NULL. */
McpCall *mcp_call_release(McpCall *c, void *userdata);

/* Setting the callback on an already cancelled call does not invoke it:
 * returns true when the call was cancelled already (mcp_call_is_cancelled()). */
bool mcp_call_set_cancel(McpCall *c, McpCancelFunc cancel, void *userdata);

/* Progress (call.c): when the request carried params._meta.progressToken,
 * a notifications/progress with message (a stage: "starting a Lean worker",
 * "importing Mathlib", "item 2 of 5: foo", …) and a progress value higher
 * than the last; the same stage twice in a row is sent once. It goes out
 * from the event loop, never from inside the caller (a failed write cancels
 * the call), and before the call's answer. The call layer also sends a
 * heartbeat with the last stage when it was silent for the server's progress
 * interval. A no-op without a token, once answered, cancelled or its
 * connection gone: nothing follows the answer. */
void mcp_call_report_progress(McpCall *c, const char *message);
/* Whether progress goes anywhere (a token, not answered, not cancelled). */
bool mcp_call_wants_progress(const McpCall *c);

/* Answer (exactly once; later calls are ignored and logged at debug). The
 * server's own reference is dropped here: a handler that answers after
 * returning must hold its own (mcp_call_ref). Answers to cancelled calls are
 * dropped (MCP: no response to a cancelled request).
 * body is the tool's structured result (ownership taken): it goes to
 * structuredContent, and its summary (see McpResultText) to content[0].text;
 * is_error sets isError. */
void mcp_call_reply(McpCall *c, json_object *body, bool is_error);
/* The same with content[0].text given (taken; NULL: the server's summary),
 * for a caller that has its own summary of body at hand. */
void mcp_call_reply_text(McpCall *c, json_object *body, bool is_error, char *text);
/* mcp_call_reply_text(), then mcp_call_release(c, holder): for the holder of
 * a reference from mcp_call_open() whose answer is the last it does with c. */
void mcp_call_reply_release(McpCall *c, void *holder, json_object *body, bool is_error, char *text);

/* for tests: the call's id, state and cancel userdata as the handler tests
 * check them; tools read their call through mcp_call_open(). */
json_object *mcp_call_get_id(const McpCall *c); /* borrowed: the JSON-RPC id */
bool mcp_call_is_cancelled(const McpCall *c);
/* The userdata of the cancel callback set last (NULL: none). */
void *mcp_call_get_cancel_userdata(const McpCall *c);
