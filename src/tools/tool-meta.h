/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The jobs of lean_declaration_inspect and lean_declaration_search: one
 * generated meta command (lean/query-text.h) on the import env "Lean" +
 * imports, its "@lh:" output lines picked out; each tool builds its result
 * from them. The tool's state starts with a MetaState. */

#include "tools/call-base.h"
#include "tools/tool-query.h"

typedef struct MetaState {
        char *text;            /* the generated command */
        char *subject;         /* name (inspect) / query (search) */
        unsigned max;          /* max_chars (inspect) / max_results (search) */
        bool imports_default;  /* the project's default import set was added (tool-default-imports.h) */
} MetaState;

void tool_meta_state_free(void *state);
int tool_meta_start(ToolCall *tc, LhJob *job, json_object **ret_command);
/* The reply's declaration and end lines (ret_ends optional): 0, or the job's
 * error set (unknown_declaration, lean_error, lean_repl_error) and -EPROTO,
 * or -ENOMEM. */
int tool_meta_reply(ToolCall *tc, LhJob *job, json_object *reply, json_object **ret_decls, json_object **ret_ends);
/* The import profile (without "imports": Lean + the project's default
 * import set), the readiness gate, the job. */
int tool_meta_submit(ToolCall *tc);
/* ToolOps.done: unknown_declaration and import_failed say which imports
 * were used ("imports", "imports_source"). */
int tool_meta_done(ToolCall *tc, LhJob *job, json_object *result, const LhError *err, const LhFacts *facts);
