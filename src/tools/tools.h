/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The MCP tool handlers: arguments → project job → result envelope
 * {"result"|"error", "runtime" (facts), "freshness"}. */

#include "config/config.h"
#include "mcp/mcp.h"
#include "project/project.h"

typedef struct ToolsContext ToolsContext;

/* Every tool, in tools/list order: McpServerOptions.tools (tool-list.c). */
const McpToolDef *const *tools_list_defs(size_t *ret_n);

/* Registers every tool handler on server; *ret holds what the handlers share
 * (registry, module-query cache) and must outlive the server's calls. */
int tools_register(McpServer *server, sd_event *event, LhRegistry *registry, const LhConfig *config,
                   ToolsContext **ret);
ToolsContext *tools_context_free(ToolsContext *ctx);
DEFINE_TRIVIAL_CLEANUP_FUNC(ToolsContext *, tools_context_free);
