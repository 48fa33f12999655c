/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's log lines as MCP notifications/message (logger "lean-hostd")
 * to the clients that asked with logging/setLevel. The logging hook only
 * queues the line; the next event-loop round sends the queue, so a line
 * logged in the middle of the MCP code (a connection half closed) never
 * re-enters it. */

#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "mcp/mcp.h"

typedef struct McpLogForward McpLogForward;

int mcp_log_forward_new(McpLogForward **ret, sd_event *event, McpServer *server);
McpLogForward *mcp_log_forward_free(McpLogForward *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(McpLogForward *, mcp_log_forward_free);
