/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Registering the tools (tool-list.c) on the server with the call base's
 * handler, and the ToolsContext's life: the top of src/tools, so nothing
 * below it (tools.c, the preflight) needs the call base or the tool list. */

#include <assert.h>
#include <stdlib.h>

#include "basic/log.h"
#include "tools/call-base.h"

int tools_register(McpServer *server, sd_event *event, LhRegistry *registry, const LhConfig *config,
                   ToolsContext **ret) {
        _cleanup_(tools_context_freep) ToolsContext *ctx = NULL;
        const McpToolDef *const *defs;
        size_t n;
        int r;

        assert(server);
        assert(event);
        assert(registry);
        assert(config);
        assert(ret);
        ctx = new0(ToolsContext, 1);
        if (!ctx)
                return -ENOMEM;
        ctx->registry = registry;
        ctx->event = event;
        ctx->config = config;

        r = lean_cache_new(&ctx->cache, config->module_cache_capacity, config->module_cache_max_bytes);
        if (r < 0)
                return log_error_errno(r, "Failed to create the module query cache: %m");
        r = repl_provisioner_new(&ctx->provisioner, event, config);
        if (r < 0)
                return log_error_errno(r, "Failed to set up REPL provisioning: %m");
        r = tools_watch_new(&ctx->watch, event);
        if (r < 0) /* every call then looks its project up on a thread */
                log_warning_errno(r, "Failed to set up project watches, no warm path: %m");

        defs = ctx->defs = tools_list_defs(&n);
        ctx->n_defs = n;
        ctx->entries = new0(ToolsEntry, n);
        if (!ctx->entries)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const ToolDef *d = tools_list_find(defs[i]->name);

                assert(d && d->call);
                ctx->entries[i] = (ToolsEntry) { .ctx = ctx, .handler = tool_call_handle };
                r = mcp_server_register_tool(server, d->mcp.name, tools_dispatch, &ctx->entries[i]);
                if (r < 0)
                        return log_error_errno(r, "Failed to register tool %s: %m", d->mcp.name);
        }
        *ret = TAKE_PTR(ctx);
        return 0;
}

ToolsContext *tools_context_free(ToolsContext *ctx) {
        if (!ctx)
                return NULL;
        tools_preflight_abort_all(ctx);
        free(ctx->entries);
        lean_cache_free(ctx->cache);
        repl_provisioner_free(ctx->provisioner);
        tools_watch_free(ctx->watch);
        return mfree(ctx);
}
