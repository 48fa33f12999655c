/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Calls in flight (call.c): the McpCall of mcp.h, the per-server and
 * per-connection tables of unanswered calls, cancellation. */

#include <json-c/json.h>
#include <stdbool.h>

#include "mcp/router.h"
#include "project/error-code.h"

struct McpCall {
        unsigned n_ref;
        McpServer *server; /* NULL once answered or the server is gone */
        Connection *conn;  /* weak: NULL once answered or the connection closed */
        Batch *batch;
        McpCall *server_prev, *server_next;
        McpCall *conn_prev, *conn_next;

        json_object *id;
        char *tool;
        json_object *arguments;

        McpCancelFunc cancel;
        void *cancel_userdata;
        bool cancelled, cancel_invoked, replied;
};

/* A call of tool on connection c (in batch b, or NULL), in both tables; the
 * one reference is the server's, dropped when answered. arguments is taken. */
McpCall *call_new(Connection *c, Batch *b, json_object *id, const char *tool, json_object *arguments);
/* A tool error the MCP layer itself gives, retryable as the table says. */
void call_reply_error(McpCall *c, LhErrorCode code, const char *message);

/* notifications/cancelled */
void call_notification_cancelled(Connection *c, json_object *params);
/* McpServer.on_connection_closed: cancels the connection's unanswered calls. */
void call_connection_closed(Connection *c);
/* Server going away: every call still held by its owner is cancelled and
 * loses its server; answers go nowhere. */
void call_drop_all(McpServer *s);
