/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_declaration_verify_batch: its argument table and definition. The handler is in tool-check.c (not on the call base yet). */

#include "tools/call-base.h"
#include "tools/tool-args.h"

/* name is not required by the item schema: an item without it gets its
 * own invalid_arguments verdict and the others still run. */
static const McpToolArg verify_item_args[] = {
        TOOL_ARG_VERIFY_CODE,
        { .name = "name", .type = MCP_ARG_STRING, .limits = MCP_ARG_HAS_MIN, .min = 1,
          .description = "Fully qualified name of the declaration to check (an existing one, or one declared "
                         "by code). Required by the tool: an item without it is answered with invalid_arguments." },
        TOOL_ARG_IMPORTS,
        TOOL_ARG_ALLOWED_AXIOMS,
        TOOL_ARG_END,
};

static const McpToolArg verify_batch_args[] = {
        TOOL_ARG_PROJECT,
        { .name = "items", .type = MCP_ARG_OBJECTS, .required = true,
          .limits = MCP_ARG_HAS_MIN | MCP_ARG_HAS_MAX, .min = 1, .max = 32, .fields = verify_item_args },
        TOOL_ARG_END,
};

const ToolDef tool_lean_declaration_verify_batch = {
        .mcp = {
                .name = "lean_declaration_verify_batch",
                .title = "Verify several declarations",
                .description =
                        "Like lean_declaration_verify for up to 32 items in one call, each with its own "
                        "verdict.",
                .args = verify_batch_args,
                TOOL_ANNOTATIONS_RUNS_USER_LEAN,
        },
        .handle = tool_declaration_verify_batch_handle,
};
