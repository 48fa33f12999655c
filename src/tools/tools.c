/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The tool table's handlers. A tool listed in tools/list whose handler is
 * not registered here is answered by the MCP server with not_implemented. */

#include <stdlib.h>

#include "basic/log.h"
#include "tools/tools-internal.h"

typedef struct ToolHandlerDef {
        const char *name;
        McpToolHandler handler;
} ToolHandlerDef;

static const ToolHandlerDef tool_handlers[] = {
        { "lean_run", tool_run_handle },
        { "lean_project_status", tool_status_handle },
};

int tools_register(McpServer *server, LhRegistry *registry, const LhConfig *config, ToolsContext **ret) {
        _cleanup_(tools_context_freep) ToolsContext *ctx = NULL;
        int r;

        if (!server || !registry || !config || !ret)
                return -EINVAL;
        ctx = new0(ToolsContext, 1);
        if (!ctx)
                return -ENOMEM;
        ctx->registry = registry;
        ctx->config = config;

        for (size_t i = 0; i < ELEMENTSOF(tool_handlers); i++) {
                r = mcp_server_register_tool(server, tool_handlers[i].name, tool_handlers[i].handler, ctx);
                if (r < 0)
                        return log_error_errno(r, "Failed to register tool %s: %m", tool_handlers[i].name);
        }
        *ret = TAKE_PTR(ctx);
        return 0;
}

ToolsContext *tools_context_free(ToolsContext *ctx) {
        if (!ctx)
                return NULL;
        return mfree(ctx);
}
