/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_declaration_verify_batch: its argument table and definition; the job
 * is tool-verify.c's, shared with the single tool. */

#include "tools/call-base.h"
#include "tools/tool-args.h"
#include "tools/tool-verify.h"

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

static int verify_batch_call(ToolCall *tc) {
        return tool_verify_call(tc, true);
}

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
        .call = verify_batch_call,
        .ops = {
                .start = tool_verify_start,
                .step = tool_verify_step,
                .free_state = tool_verify_state_free,
        },
        .state_size = sizeof(VerifyJob),
};
