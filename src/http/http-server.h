/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* MCP over Streamable HTTP (MCP 2025-06-18, "Transports"): POST /mcp answered
 * with JSON or an SSE stream, GET /mcp for the server's stream, DELETE to end
 * a session, Mcp-Session-Id sessions, Host/Origin checks against DNS
 * rebinding, an optional bearer token. libmicrohttpd runs inside the daemon's
 * sd-event loop (its epoll fd, a timer for its timeouts): no thread, nothing
 * blocks. Each HTTP session is an McpSession of the one MCP server, so the
 * same tools, projects and workers serve both transports. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "mcp/mcp.h"

typedef struct HttpServer HttpServer;

typedef struct HttpServerOptions {
        const char *listen;     /* "ADDRESS:PORT" ("[::1]:8080"); ignored when fd >= 0 */
        int fd;                 /* a listening TCP socket (socket activation), taken; -1: bind listen */
        const char *token_file; /* NULL/"": no authentication */
        const char *allowed_hosts; /* Host/Origin names besides the loopback ones, comma-separated */
        uint64_t max_sessions;
        uint64_t max_body_bytes;  /* one request body */
        uint64_t max_input_bytes; /* all bodies being received or fed at once */
} HttpServerOptions;

int http_server_new(HttpServer **ret, sd_event *event, McpServer *mcp, const HttpServerOptions *opts);
/* Closes every session (their calls are cancelled) and the listener. */
HttpServer *http_server_free(HttpServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpServer *, http_server_free);

/* Stopping: no new TCP connections; requests under way are answered. */
void http_server_stop_accepting(HttpServer *s);
/* Every request under way was answered and sent (stopping waits for it). */
bool http_server_is_drained(const HttpServer *s);

/* for tests: the bound address ("127.0.0.1:8080"; the port a
 * listener on port 0 got). */
const char *http_server_get_address(const HttpServer *s);
