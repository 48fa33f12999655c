/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_declaration_inspect: its argument table and definition. The handler is in tool-inspect.c (not on the call base yet). */

#include "tools/call-base.h"
#include "tools/tool-args.h"

static const McpToolArg inspect_args[] = {
        TOOL_ARG_PROJECT,
        { .name = "name", .type = MCP_ARG_STRING, .required = true, .limits = MCP_ARG_HAS_MIN, .min = 1,
          .description = "Fully qualified declaration name, e.g. Nat.add_comm." },
        TOOL_ARG_IMPORTS,
        { .name = "include_value", .type = MCP_ARG_BOOLEAN, .description = "Include the value / proof term." },
        { .name = "max_chars", .type = MCP_ARG_INTEGER, .limits = MCP_ARG_HAS_MIN | MCP_ARG_HAS_MAX,
          .min = 1, .max = 10000000, .default_int = 4000,
          .description = "Truncate long texts to this many characters." },
        TOOL_ARG_END,
};

const ToolDef tool_lean_declaration_inspect = {
        .mcp = {
                .name = "lean_declaration_inspect",
                .title = "Inspect a declaration",
                .description =
                        "Show one declaration: kind, type, docstring, module and position, the axioms it "
                        "depends on and, on request, its value or proof term.",
                .args = inspect_args,
                TOOL_ANNOTATIONS_READ_ONLY,
        },
        .handle = tool_declaration_inspect_handle,
};
