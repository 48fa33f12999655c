/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Argument rows more than one tool has (mcp/tool-schemas.h McpToolArg),
 * and the annotations. A tool's own rows live in its file. */

#include "mcp/tool-schemas.h"

#define TOOL_ARG_PROJECT                                                                        \
        { .name = "project", .type = MCP_ARG_STRING, .required = true,                          \
          .limits = MCP_ARG_HAS_MIN, .min = 1,                                                  \
          .description = "Path of a Lake project root (the directory with lakefile.lean or "    \
                         "lakefile.toml) or of any file or directory inside it." }

#define TOOL_ARG_IMPORTS                                                                        \
        { .name = "imports", .type = MCP_ARG_STRINGS, .limits = MCP_ARG_HAS_MAX, .max = 256,    \
          .description = "Modules to import first, e.g. [\"Mathlib.Data.Nat.Basic\"]. "         \
                         "Default: the project's default import set." }

#define TOOL_ARG_MODULE                                                                         \
        { .name = "module", .type = MCP_ARG_STRING, .required = true,                           \
          .limits = MCP_ARG_HAS_MIN, .min = 1,                                                  \
          .description = "Module name, e.g. Mathlib.Order.Basic." }

#define TOOL_ARG_END { .name = NULL }

/* Annotations, honestly (test-tool-annotations checks them against the
 * tables): a tool that elaborates Lean text from the caller (code, statement,
 * proof, tactic, tactics) runs whatever that text runs — `#eval`, `run_tac`
 * and friends can do any IO as the user: delete files, talk to the network.
 * So it is not read-only, may be destructive, is not idempotent and is
 * open-world (worker.sandbox=bwrap takes the network and everything outside
 * the project away, not the project itself). Tools that only take names and
 * elaborate the daemon's own query texts are read-only and closed-world. */
#define TOOL_ANNOTATIONS_RUNS_USER_LEAN                                                         \
        .read_only = false, .destructive = true, .idempotent = false, .open_world = true
#define TOOL_ANNOTATIONS_READ_ONLY .read_only = true, .open_world = false

/* tool-args.c: the rows of the module query tools' objects, and of one
 * verify item. */
extern const McpToolArg tool_args_selectors[];
extern const McpToolArg tool_args_budgets[];
extern const McpToolArg tool_args_module_query_item[];

#define TOOL_ARG_SELECTORS                                                                      \
        { .name = "selectors", .type = MCP_ARG_OBJECT, .fields = tool_args_selectors,           \
          .description = "Which declarations to return; all by default." }
#define TOOL_ARG_BUDGETS                                                                        \
        { .name = "budgets", .type = MCP_ARG_OBJECT, .fields = tool_args_budgets,               \
          .description = "Deprecated spelling of max_results (max_items) and max_chars, "       \
                         "which win when both are given. Output limits; the result says "       \
                         "when it was truncated." }
#define MODULE_QUERY_DEFAULT_MAX_ITEMS 500
#define MODULE_QUERY_MAX_ITEMS 10000
#define MODULE_QUERY_DEFAULT_MAX_CHARS 100000
#define MODULE_QUERY_MAX_CHARS 10000000
#define TOOL_ARG_MAX_RESULTS_QUERY                                                              \
        { .name = "max_results", .type = MCP_ARG_INTEGER, .limits = MCP_ARG_HAS_MIN | MCP_ARG_HAS_MAX, \
          .min = 1, .max = MODULE_QUERY_MAX_ITEMS, .default_int = MODULE_QUERY_DEFAULT_MAX_ITEMS, \
          .description = "Maximum number of declarations returned (default 500); the result "   \
                         "says when it was truncated." }
#define TOOL_ARG_MAX_CHARS_QUERY                                                                \
        { .name = "max_chars", .type = MCP_ARG_INTEGER, .limits = MCP_ARG_HAS_MIN | MCP_ARG_HAS_MAX, \
          .min = 1, .max = MODULE_QUERY_MAX_CHARS, .default_int = MODULE_QUERY_DEFAULT_MAX_CHARS, \
          .description = "Maximum characters of the declarations returned (default 100000)." }

/* lean_module_query's rows after "project", and each item of the batch */
#define TOOL_ARGS_MODULE_QUERY_ITEM                                                             \
        TOOL_ARG_MODULE, TOOL_ARG_SELECTORS, TOOL_ARG_BUDGETS, TOOL_ARG_MAX_RESULTS_QUERY,      \
                TOOL_ARG_MAX_CHARS_QUERY

#define TOOL_ARG_VERIFY_CODE                                                                    \
        { .name = "code", .type = MCP_ARG_STRING,                                               \
          .description = "Lean source declaring the declaration(s) to check (optional import "  \
                         "header + commands)." }
#define TOOL_ARG_ALLOWED_AXIOMS                                                                 \
        { .name = "allowed_axioms", .type = MCP_ARG_STRINGS,                                    \
          .description = "Axioms the declaration may depend on. Default: the standard axioms "  \
                         "(propext, Classical.choice, Quot.sound)." }
