/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_declaration_search: its argument table and definition. The handler is in tool-inspect.c (not on the call base yet). */

#include "tools/call-base.h"
#include "tools/tool-args.h"

static const McpToolArg search_args[] = {
        TOOL_ARG_PROJECT,
        { .name = "query", .type = MCP_ARG_STRING, .required = true, .limits = MCP_ARG_HAS_MIN, .min = 1,
          .description = "Words or a name fragment to look for." },
        { .name = "type_pattern", .type = MCP_ARG_STRING,
          .description = "Text the pretty-printed type must contain (case-insensitive), e.g. \"a + b = b + a\"." },
        TOOL_ARG_IMPORTS,
        { .name = "max_results", .type = MCP_ARG_INTEGER, .limits = MCP_ARG_HAS_MIN | MCP_ARG_HAS_MAX,
          .min = 1, .max = 200, .default_int = 20, .description = "Maximum number of results." },
        TOOL_ARG_END,
};

const ToolDef tool_lean_declaration_search = {
        .mcp = {
                .name = "lean_declaration_search",
                .title = "Search declarations",
                .description =
                        "Search the declarations visible after the given imports by name "
                        "fragment and optionally by a type pattern.",
                .args = search_args,
                TOOL_ANNOTATIONS_READ_ONLY,
        },
        .handle = tool_declaration_search_handle,
};
