/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_proof_attempt: its argument table and definition. The handler is in tool-attempt.c (not on the call base yet). */

#include "tools/call-base.h"
#include "tools/tool-args.h"

static const McpToolArg attempt_args[] = {
        TOOL_ARG_PROJECT,
        TOOL_ARG_IMPORTS,
        { .name = "statement", .type = MCP_ARG_STRING, .limits = MCP_ARG_HAS_MIN, .min = 1,
          .description = "The proposition to prove, e.g. \"\u2200 n : Nat, n + 0 = n\" (binders as \u2200; no "
                         "`theorem name :` prefix, no commands or imports)." },
        { .name = "proof", .type = MCP_ARG_STRING,
          .description = "Complete proof for statement: a term, or a tactic block starting with `by`. Without it "
                         "the result gives the proof state of `by sorry` to continue from." },
        { .name = "proof_state", .type = MCP_ARG_INTEGER, .limits = MCP_ARG_HAS_MIN, .min = 0,
          .description = "Proof state id from an earlier result." },
        { .name = "tactic", .type = MCP_ARG_STRING, .limits = MCP_ARG_HAS_MIN, .min = 1,
          .description = "Tactic to run on proof_state." },
        { .name = "worker_generation", .type = MCP_ARG_INTEGER, .limits = MCP_ARG_HAS_MIN, .min = 1,
          .description = "The worker_generation of the result that gave proof_state: the call fails with "
                         "proof_state_lost when that worker is gone." },
        TOOL_ARG_END,
};

const ToolDef tool_lean_proof_attempt = {
        .mcp = {
                .name = "lean_proof_attempt",
                .title = "Attempt a proof",
                .description =
                        "Work on a proof interactively. Either give a statement (and optionally a whole "
                        "proof) to start, or continue from a proof_state returned earlier by running one "
                        "tactic. Returns the remaining goals and new proof state ids. Proof states belong "
                        "to the current worker and are invalid after it restarts.",
                .args = attempt_args,
                TOOL_ANNOTATIONS_RUNS_USER_LEAN,
        },
        .handle = tool_proof_attempt_handle,
};
