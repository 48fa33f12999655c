/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "basic/macro.h"
#include "mcp/tool-schemas.h"

/* The schemas are JSON text so they read like what clients see in
 * tools/list; fragments shared between tools are macros. test-schema checks
 * every one parses and only uses keywords the validator supports. */

#define P_PROJECT                                                                               \
        "\"project\": {\"type\": \"string\", \"minLength\": 1, "                                \
        "\"description\": \"Path of a Lake project root (the directory with lakefile.lean or "  \
        "lakefile.toml) or of any file or directory inside it.\"}"

#define P_IMPORTS                                                                               \
        "\"imports\": {\"type\": \"array\", \"maxItems\": 256, "                                \
        "\"items\": {\"type\": \"string\", \"minLength\": 1}, "                                 \
        "\"description\": \"Modules to import first, e.g. [\\\"Mathlib.Data.Nat.Basic\\\"]. "   \
        "Default: the project's default import set.\"}"

#define KINDS_ENUM                                                                              \
        "[\"def\", \"theorem\", \"axiom\", \"inductive\", \"structure\", \"class\", "           \
        "\"instance\", \"abbrev\", \"opaque\", \"ctor\", \"recursor\", \"other\"]"

#define S_SELECTORS                                                                             \
        "{\"type\": \"object\", \"additionalProperties\": false, "                              \
        "\"description\": \"Which declarations to return; all by default.\", "                  \
        "\"properties\": {"                                                                     \
        "\"kinds\": {\"type\": \"array\", \"items\": {\"type\": \"string\", \"enum\": " KINDS_ENUM "}, " \
        "\"description\": \"Only declarations of these kinds.\"}, "                             \
        "\"prefix\": {\"type\": \"string\", \"description\": \"Only names starting with this prefix.\"}, " \
        "\"name_pattern\": {\"type\": \"string\", "                                             \
        "\"description\": \"Only names containing this substring.\"}, "                         \
        "\"include_type\": {\"type\": \"boolean\", \"description\": \"Include each declaration's type.\"}, " \
        "\"include_doc\": {\"type\": \"boolean\", \"description\": \"Include docstrings.\"}" \
        "}}"

#define S_BUDGETS                                                                               \
        "{\"type\": \"object\", \"additionalProperties\": false, "                              \
        "\"description\": \"Output limits; the result says when it was truncated.\", "          \
        "\"properties\": {"                                                                     \
        "\"max_items\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 10000}, "          \
        "\"max_chars\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 10000000}"         \
        "}}"

#define P_MODULE                                                                                \
        "\"module\": {\"type\": \"string\", \"minLength\": 1, "                                 \
        "\"description\": \"Module name, e.g. Mathlib.Order.Basic.\"}"

#define S_VERIFY_ITEM_PROPS                                                                     \
        "\"code\": {\"type\": \"string\", \"description\": \"Lean source declaring the "        \
        "declaration(s) to check (optional import header + commands).\"}, "                     \
        "\"name\": {\"type\": \"string\", \"minLength\": 1, "                                   \
        "\"description\": \"Fully qualified name of the declaration to check (an existing one, " \
        "or one declared by code). Required by the tool: an item without it is answered with " \
        "invalid_arguments.\"}, "                                                        \
        P_IMPORTS ", "                                                                          \
        "\"allowed_axioms\": {\"type\": \"array\", \"items\": {\"type\": \"string\", \"minLength\": 1}, " \
        "\"description\": \"Axioms the declaration may depend on. Default: the standard axioms "   \
        "(propext, Classical.choice, Quot.sound).\"}"

/* Annotations, honestly (test-tool-annotations checks them against the
 * schemas): a tool that elaborates Lean text from the caller (code, statement,
 * proof, tactic, goal, tactics) runs whatever that text runs — `#eval`,
 * `run_tac` and friends can do any IO as the user: delete files, talk to the
 * network. So it is not read-only, may be destructive, is not idempotent and
 * is open-world (worker.sandbox=bwrap takes the network and everything outside
 * the project away, not the project itself). Tools that only take names and
 * elaborate the daemon's own query texts are read-only and closed-world. */
#define ANNOTATIONS_RUNS_USER_LEAN                                                              \
        .read_only = false, .destructive = true, .idempotent = false, .open_world = true
#define ANNOTATIONS_READ_ONLY .read_only = true, .open_world = false

static const McpToolDef tool_defs[] = {
        {
                .name = "lean_run",
                .title = "Run Lean code",
                .description =
                        "Elaborate a Lean snippet in the project's environment and return the messages "
                        "(errors, warnings, #eval/#check output) with positions. The snippet may start "
                        "with import lines; without them the project's default imports are used.",
                .input_schema =
                        "{\"type\": \"object\", \"additionalProperties\": false, "
                        "\"required\": [\"project\", \"code\"], "
                        "\"properties\": {" P_PROJECT ", "
                        "\"code\": {\"type\": \"string\", \"description\": \"Lean snippet: an optional "
                        "import header followed by commands.\"}"
                        "}}",
                ANNOTATIONS_RUNS_USER_LEAN,
        },
        {
                .name = "lean_project_status",
                .title = "Project status",
                .description =
                        "Report the state of a Lake project: toolchain, build freshness, whether a worker "
                        "is running, its memory use, restarts and queue depth. Never starts a build.",
                .input_schema =
                        "{\"type\": \"object\", \"additionalProperties\": false, "
                        "\"required\": [\"project\"], "
                        "\"properties\": {" P_PROJECT "}}",
                ANNOTATIONS_READ_ONLY,
        },
        {
                .name = "lean_module_query",
                .title = "List a module's declarations",
                .description =
                        "List the declarations of one module (name, kind, optionally type and docstring), "
                        "filtered by selectors and bounded by budgets.",
                .input_schema =
                        "{\"type\": \"object\", \"additionalProperties\": false, "
                        "\"required\": [\"project\", \"module\"], "
                        "\"properties\": {" P_PROJECT ", " P_MODULE ", "
                        "\"selectors\": " S_SELECTORS ", "
                        "\"budgets\": " S_BUDGETS
                        "}}",
                ANNOTATIONS_READ_ONLY,
        },
        {
                .name = "lean_module_query_batch",
                .title = "List declarations of several modules",
                .description =
                        "Like lean_module_query for up to 32 modules in one call; each item has its own "
                        "selectors and budgets and its own result or error.",
                .input_schema =
                        "{\"type\": \"object\", \"additionalProperties\": false, "
                        "\"required\": [\"project\", \"items\"], "
                        "\"properties\": {" P_PROJECT ", "
                        "\"items\": {\"type\": \"array\", \"minItems\": 1, \"maxItems\": 32, "
                        "\"items\": {\"type\": \"object\", \"additionalProperties\": false, "
                        "\"required\": [\"module\"], "
                        "\"properties\": {" P_MODULE ", "
                        "\"selectors\": " S_SELECTORS ", "
                        "\"budgets\": " S_BUDGETS
                        "}}}"
                        "}}",
                ANNOTATIONS_READ_ONLY,
        },
        {
                .name = "lean_declaration_inspect",
                .title = "Inspect a declaration",
                .description =
                        "Show one declaration: kind, type, docstring, module and position, the axioms it "
                        "depends on and, on request, its value or proof term.",
                .input_schema =
                        "{\"type\": \"object\", \"additionalProperties\": false, "
                        "\"required\": [\"project\", \"name\"], "
                        "\"properties\": {" P_PROJECT ", "
                        "\"name\": {\"type\": \"string\", \"minLength\": 1, "
                        "\"description\": \"Fully qualified declaration name, e.g. Nat.add_comm.\"}, "
                        P_IMPORTS ", "
                        "\"include_value\": {\"type\": \"boolean\", "
                        "\"description\": \"Include the value / proof term.\"}, "
                        "\"max_chars\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 10000000, "
                        "\"description\": \"Truncate long texts to this many characters.\"}"
                        "}}",
                ANNOTATIONS_READ_ONLY,
        },
        {
                .name = "lean_declaration_search",
                .title = "Search declarations",
                .description =
                        "Search the declarations visible after the given imports by name "
                        "fragment and optionally by a type pattern.",
                .input_schema =
                        "{\"type\": \"object\", \"additionalProperties\": false, "
                        "\"required\": [\"project\", \"query\"], "
                        "\"properties\": {" P_PROJECT ", "
                        "\"query\": {\"type\": \"string\", \"minLength\": 1, "
                        "\"description\": \"Words or a name fragment to look for.\"}, "
                        "\"type_pattern\": {\"type\": \"string\", "
                        "\"description\": \"Text the pretty-printed type must contain (case-insensitive), "
                        "e.g. \\\"a + b = b + a\\\".\"}, "
                        P_IMPORTS ", "
                        "\"max_results\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 200, "
                        "\"description\": \"Maximum number of results.\"}"
                        "}}",
                ANNOTATIONS_READ_ONLY,
        },
        {
                .name = "lean_proof_attempt",
                .title = "Attempt a proof",
                .description =
                        "Work on a proof interactively. Either give a statement (and optionally a whole "
                        "proof) to start, or continue from a proof_state returned earlier by running one "
                        "tactic. Returns the remaining goals and new proof state ids. Proof states belong "
                        "to the current worker and are invalid after it restarts.",
                .input_schema =
                        "{\"type\": \"object\", \"additionalProperties\": false, "
                        "\"required\": [\"project\"], "
                        "\"properties\": {" P_PROJECT ", " P_IMPORTS ", "
                        "\"statement\": {\"type\": \"string\", \"minLength\": 1, "
                        "\"description\": \"The proposition to prove, e.g. \\\"\\u2200 n : Nat, n + 0 = n\\\" (binders "
                        "as \\u2200; no `theorem name :` prefix, no commands or imports).\"}, "
                        "\"proof\": {\"type\": \"string\", "
                        "\"description\": \"Complete proof for statement: a term, or a tactic block starting with "
                        "`by`. Without it the result gives the proof state of `by sorry` to continue from.\"}, "
                        "\"proof_state\": {\"type\": \"integer\", \"minimum\": 0, "
                        "\"description\": \"Proof state id from an earlier result.\"}, "
                        "\"tactic\": {\"type\": \"string\", \"minLength\": 1, "
                        "\"description\": \"Tactic to run on proof_state.\"}, "
                        "\"worker_generation\": {\"type\": \"integer\", \"minimum\": 1, "
                        "\"description\": \"The worker_generation of the result that gave proof_state: "
                        "the call fails with proof_state_lost when that worker is gone.\"}"
                        "}}",
                ANNOTATIONS_RUNS_USER_LEAN,
        },
        {
                .name = "lean_declaration_verify",
                .title = "Verify a declaration",
                .description =
                        "Check that a declaration (given by code, by name, or both) elaborates without "
                        "errors or sorry and depends only on allowed axioms.",
                .input_schema =
                        "{\"type\": \"object\", \"additionalProperties\": false, "
                        "\"required\": [\"project\"], "
                        "\"properties\": {" P_PROJECT ", " S_VERIFY_ITEM_PROPS "}}",
                ANNOTATIONS_RUNS_USER_LEAN,
        },
        {
                .name = "lean_declaration_verify_batch",
                .title = "Verify several declarations",
                .description =
                        "Like lean_declaration_verify for up to 32 items in one call, each with its own "
                        "verdict.",
                .input_schema =
                        "{\"type\": \"object\", \"additionalProperties\": false, "
                        "\"required\": [\"project\", \"items\"], "
                        "\"properties\": {" P_PROJECT ", "
                        "\"items\": {\"type\": \"array\", \"minItems\": 1, \"maxItems\": 32, "
                        "\"items\": {\"type\": \"object\", \"additionalProperties\": false, "
                        "\"properties\": {" S_VERIFY_ITEM_PROPS "}}}"
                        "}}",
                ANNOTATIONS_RUNS_USER_LEAN,
        },
        {
                .name = "lean_proof_search",
                .title = "Search for a proof",
                .description =
                        "Try to close a goal automatically with a list of tactics (or a built-in "
                        "default portfolio: exact?, apply?, simp?, omega, decide, aesop, linarith, norm_num) "
                        "within a time budget. Returns the verified proofs found (no error, no sorry), "
                        "best first, what each attempt did, and the tactics left untried when the budget ran out.",
                .input_schema =
                        "{\"type\": \"object\", \"additionalProperties\": false, "
                        "\"required\": [\"project\", \"goal\"], "
                        "\"properties\": {" P_PROJECT ", "
                        "\"goal\": {\"type\": \"string\", \"minLength\": 1, "
                        "\"description\": \"Proposition or theorem statement to prove.\"}, "
                        P_IMPORTS ", "
                        "\"tactics\": {\"type\": \"array\", \"maxItems\": 64, "
                        "\"items\": {\"type\": \"string\", \"minLength\": 1}, "
                        "\"description\": \"Tactics to try, in order.\"}, "
                        "\"time_budget_ms\": {\"type\": \"integer\", \"minimum\": 100, \"maximum\": 120000, "
                        "\"description\": \"Total time for the search in milliseconds.\"}"
                        "}}",
                ANNOTATIONS_RUNS_USER_LEAN,
        },
};

const McpToolDef *mcp_tool_defs(size_t *ret_n) {
        *ret_n = ELEMENTSOF(tool_defs);
        return tool_defs;
}
