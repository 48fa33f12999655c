/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_declaration_verify: its argument table and definition. The handler is in tool-check.c (not on the call base yet). */

#include "tools/call-base.h"
#include "tools/tool-args.h"

static const McpToolArg verify_args[] = {
        TOOL_ARG_PROJECT,
        TOOL_ARG_VERIFY_CODE,
        { .name = "name", .type = MCP_ARG_STRING, .required = true, .limits = MCP_ARG_HAS_MIN, .min = 1,
          .description = "Fully qualified name of the declaration to check (an existing one, or one declared "
                         "by code)." },
        TOOL_ARG_IMPORTS,
        TOOL_ARG_ALLOWED_AXIOMS,
        TOOL_ARG_END,
};

const ToolDef tool_lean_declaration_verify = {
        .mcp = {
                .name = "lean_declaration_verify",
                .title = "Verify a declaration",
                .description =
                        "Check that a declaration (given by code, by name, or both) elaborates without "
                        "errors or sorry and depends only on allowed axioms.",
                .args = verify_args,
                TOOL_ANNOTATIONS_RUNS_USER_LEAN,
        },
        .handle = tool_declaration_verify_handle,
};
