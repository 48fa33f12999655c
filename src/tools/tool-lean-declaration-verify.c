/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_declaration_verify: its argument table and definition; the job is
 * tool-verify.c's, shared with the batch. */

#include "tools/call-base.h"
#include "tools/tool-args.h"
#include "tools/tool-verify.h"

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

static int verify_call(ToolCall *tc) {
        return tool_verify_call(tc, false);
}

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
        .call = verify_call,
        .ops = {
                .start = tool_verify_start,
                .step = tool_verify_step,
                .free_state = tool_verify_state_free,
        },
        .state_size = sizeof(VerifyJob),
};
