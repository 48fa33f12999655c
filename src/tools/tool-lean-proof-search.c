/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_proof_search: its argument table and definition. The handler is in tool-search.c (not on the call base yet). */

#include "tools/call-base.h"
#include "tools/tool-args.h"

static const McpToolArg proof_search_args[] = {
        TOOL_ARG_PROJECT,
        { .name = "statement", .type = MCP_ARG_STRING, .required = true, .limits = MCP_ARG_HAS_MIN, .min = 1,
          .description = "Proposition or theorem statement to prove. Required (the deprecated spelling "
                         "goal is accepted instead)." },
        { .name = "goal", .type = MCP_ARG_STRING, .limits = MCP_ARG_HAS_MIN, .min = 1, .alias_of = "statement",
          .description = "Deprecated alias of statement (as in lean_proof_attempt); give one of them." },
        TOOL_ARG_IMPORTS,
        { .name = "tactics", .type = MCP_ARG_STRINGS, .limits = MCP_ARG_HAS_MAX, .max = 64,
          .description = "Tactics to try, in order." },
        { .name = "time_budget_ms", .type = MCP_ARG_INTEGER, .limits = MCP_ARG_HAS_MIN | MCP_ARG_HAS_MAX,
          .min = 100, .max = 120000, .default_int = 10000,
          .description = "Total time for the search in milliseconds." },
        TOOL_ARG_END,
};

const ToolDef tool_lean_proof_search = {
        .mcp = {
                .name = "lean_proof_search",
                .title = "Search for a proof",
                .description =
                        "Try to close a goal automatically with a list of tactics (or a built-in "
                        "default portfolio: exact?, apply?, simp?, omega, decide, aesop, linarith, norm_num) "
                        "within a time budget. Returns the verified proofs found (no error, no sorry), "
                        "best first, what each attempt did, and the tactics left untried when the budget ran out.",
                .args = proof_search_args,
                TOOL_ANNOTATIONS_RUNS_USER_LEAN,
        },
        .handle = tool_proof_search_handle,
};
