/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Inside the MCP server: the server object, shared by its layers (bottom
 * up): jsonrpc.c (message format, no server), connection.c (framing),
 * router.c (messages to methods), call.c (calls in flight, cancellation),
 * lifecycle.c and dispatch.c (the methods), listener.c (accepting) and
 * server.c (the object, wiring the layers). Lower layers reach higher ones
 * only through the callbacks and tables here. */

#include <sys/types.h>

#include "basic/log.h"
#include "mcp/jsonrpc.h"
#include "mcp/mcp.h"
#include "mcp/tool-schemas.h"

/* Refused connections and accept() trouble: this many log lines per minute. */
#define MCP_LOG_BURST 10
#define MCP_LOG_INTERVAL_USEC (60 * USEC_PER_SEC)

typedef struct Connection Connection;
typedef struct McpMethod McpMethod;             /* router.h */
typedef struct McpNotification McpNotification; /* router.h */

typedef struct McpTool {
        const McpToolDef *def;
        json_object *schema;
        McpToolHandler handler;
        void *userdata;
} McpTool;

typedef struct Listener {
        int fd;
        sd_event_source *source;
} Listener;

struct McpServer {
        sd_event *event;
        uint64_t max_line_bytes;
        uint64_t max_connections;
        char *server_name, *server_version, *instructions;

        json_tokener *tokener;
        json_object *initialize_schema, *tools_call_schema, *set_level_schema, *tools_list_schema;
        McpTool *tools;
        size_t n_tools;
        json_object *tools_list_bytes; /* the serialized tools/list result, built once */

        /* routing (router.c), set by server.c */
        const McpMethod *methods;
        size_t n_methods;
        const McpNotification *notifications;
        size_t n_notifications;
        /* from a connection up (connection.c): a complete line, a close */
        void (*on_line)(Connection *c, char *line, size_t n);
        void (*on_connection_closed)(Connection *c);

        Listener *listeners;
        size_t n_listeners;
        sd_event_source *accept_backoff;
        int spare_fd;             /* given up to accept-and-refuse under EMFILE */
        uid_t uid;                /* peers must be this uid (or root) */
        LogRateLimit reject_log, peer_log, accept_log;
        LogRateLimit version_log; /* lifecycle.c: clients answered with another protocol version */

        uint64_t max_input_bytes;
        uint64_t in_bytes;        /* input buffers allocated over all connections */
        usec_t line_timeout, handshake_timeout, idle_timeout;

        Connection *connections;
        unsigned n_connections;
        unsigned next_connection_id;

        McpCall *calls; /* unanswered, all connections */
        unsigned n_calls;

        McpConnectionsChanged connections_changed;
        void *connections_changed_userdata;
        McpResultText result_text;
        void *result_text_userdata;

        bool stopping;
};

/* connection.c: a new connection on an accepted fd (taken). */
int mcp_connection_new(McpServer *s, int fd);

/* listener.c */
void mcp_server_close_listeners(McpServer *s);
