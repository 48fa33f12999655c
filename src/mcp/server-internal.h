/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Inside the MCP server: the server object shared by server.c (connections,
 * framing, methods, calls) and listener.c (accepting, refusing). */

#include <sys/types.h>

#include "basic/log.h"
#include "mcp/mcp.h"
#include "mcp/tool-schemas.h"

#define JSONRPC_PARSE_ERROR -32700
#define JSONRPC_INVALID_REQUEST -32600
#define JSONRPC_METHOD_NOT_FOUND -32601
#define JSONRPC_INVALID_PARAMS -32602
#define JSONRPC_INTERNAL_ERROR -32603
#define JSONRPC_SERVER_BUSY -32000
#define JSONRPC_PERMISSION_DENIED -32001

/* Refused connections and accept() trouble: this many log lines per minute. */
#define MCP_LOG_BURST 10
#define MCP_LOG_INTERVAL_USEC (60 * USEC_PER_SEC)

typedef struct Connection Connection;

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
        json_object *tools_list; /* the "tools" array, built once */

        Listener *listeners;
        size_t n_listeners;
        sd_event_source *accept_backoff;
        int spare_fd;             /* given up to accept-and-refuse under EMFILE */
        uid_t uid;                /* peers must be this uid (or root) */
        LogRateLimit reject_log, peer_log, accept_log;

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

/* server.c: a new connection on an accepted fd (taken). */
int mcp_connection_new(McpServer *s, int fd);

/* listener.c */
void mcp_server_close_listeners(McpServer *s);
