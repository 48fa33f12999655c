/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_module_query: its argument table and definition; the job is
 * tool-query.c's, shared with the batch. */

#include "tools/call-base.h"
#include "tools/tool-args.h"
#include "tools/tool-query.h"

static const McpToolArg module_query_args[] = {
        TOOL_ARG_PROJECT,
        TOOL_ARGS_MODULE_QUERY_ITEM,
        TOOL_ARG_END,
};

static int module_query_call(ToolCall *tc) {
        return tool_module_query_call(tc, false);
}

const ToolDef tool_lean_module_query = {
        .mcp = {
                .name = "lean_module_query",
                .title = "List a module's declarations",
                .description =
                        "List the declarations of one module (name, kind, optionally type and docstring), "
                        "filtered by selectors and bounded by max_results and max_chars.",
                .args = module_query_args,
                TOOL_ANNOTATIONS_READ_ONLY,
        },
        .call = module_query_call,
        TOOL_MODULE_QUERY_JOB,
};
