/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The MCP tool handlers: arguments → project job → result envelope
 * {"result"|"error", "runtime" (facts), "freshness"}. */

#include "mcp/mcp.h"
#include "project/project.h"

int tools_register(McpServer *server, LhRegistry *registry);
