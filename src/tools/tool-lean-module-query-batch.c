/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_module_query_batch: its argument table and definition; the job is
 * tool-query.c's, shared with the single tool. */

#include "tools/call-base.h"
#include "tools/tool-args.h"
#include "tools/tool-query.h"

static const McpToolArg module_query_batch_args[] = {
        TOOL_ARG_PROJECT,
        { .name = "items", .type = MCP_ARG_OBJECTS, .required = true,
          .limits = MCP_ARG_HAS_MIN | MCP_ARG_HAS_MAX, .min = 1, .max = 32,
          .fields = tool_args_module_query_item },
        TOOL_ARG_END,
};

static int module_query_batch_call(ToolCall *tc) {
        return tool_module_query_call(tc, true);
}

const ToolDef tool_lean_module_query_batch = {
        .mcp = {
                .name = "lean_module_query_batch",
                .title = "List declarations of several modules",
                .description =
                        "Like lean_module_query for up to 32 modules in one call; each item has its own "
                        "selectors and limits and its own result or error.",
                .args = module_query_batch_args,
                TOOL_ANNOTATIONS_READ_ONLY,
        },
        .call = module_query_batch_call,
        TOOL_MODULE_QUERY_JOB,
};
