/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Calls in flight (call.c): the McpCall of mcp.h, the per-server and
 * per-connection tables of unanswered calls, cancellation, progress. */

#include <json-c/json.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

#include "basic/list.h"
#include "mcp/router.h"
#include "project/error-code.h"

struct McpCall {
        unsigned n_ref;
        McpServer *server; /* NULL once answered or the server is gone */
        Connection *conn;  /* weak: NULL once answered or the connection closed */
        Batch *batch;
        LIST_FIELDS(McpCall, server); /* McpServer.calls */
        LIST_FIELDS(McpCall, conn);   /* Connection.calls */

        json_object *id;
        char *tool;
        json_object *arguments;
        json_object **args; /* arguments by the tool's table rows (dispatch), NULL: no table */

        McpCancelFunc cancel;
        void *cancel_userdata;
        bool cancelled, cancel_invoked, replied;

        /* progress, when the request carried params._meta.progressToken */
        json_object *progress_token;
        uint64_t progress;        /* the value last sent: each notification's is higher */
        char *progress_stage;     /* the last stage reported, repeated by the heartbeat */
        uint64_t progress_started; /* CLOCK_MONOTONIC usec of the call's start */
        sd_event_source *progress_timer; /* the heartbeat */
        char **progress_pending;  /* stages reported, sent from the loop (progress_defer) */
        sd_event_source *progress_defer;
};

/* A call of tool on connection c (in batch b, or NULL), in both tables; the
 * one reference is the server's, dropped when answered. arguments is taken. */
McpCall *call_new(Connection *c, Batch *b, json_object *id, const char *tool, json_object *arguments);
/* A tool error the MCP layer itself gives, retryable as the table says. */
void call_reply_error(McpCall *c, LhErrorCode code, const char *message);

/* params._meta.progressToken of the tools/call (params: NULL or an object)
 * is the call's; a heartbeat is armed. A token that is neither a string nor
 * a number is ignored. Returns 0 or -ENOMEM. */
int call_progress_init(McpCall *c, json_object *params);

/* notifications/cancelled */
void call_notification_cancelled(Connection *c, json_object *params);
/* McpServer.on_connection_closed: cancels the connection's unanswered calls. */
void call_connection_closed(Connection *c);
/* Server going away: every call still held by its owner is cancelled and
 * loses its server; answers go nowhere. */
void call_drop_all(McpServer *s);
