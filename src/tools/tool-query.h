/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the query tools (tool-query.c, tool-meta.c, tool-lean-proof-search.c):
 * the plumbing of jobs that run generated meta commands (lean/query-text.h). */

#include "lean/lean-reply.h"
#include "lean/query-text.h"
#include "tools/tools-internal.h"

typedef struct ToolCall ToolCall;

/* The job's import profile: "Lean" when meta (the meta programs need it),
 * then arguments.imports (validated). Returns 0 with
 * *ret set, 1 when the call was answered (invalid_arguments), -ENOMEM. */
int tool_query_imports(ToolCall *tc, bool meta, char ***ret);

/* lean_reply_parse() with its shape error as *err (lean_repl_error):
 * 0; -EPROTO; -ENOMEM. */
int tool_query_parse_shape(json_object *reply, LeanReply *lr, LhError *err);

/* Parse a reply to a generated command into *lr. Returns 0 when it is a
 * Lean reply without error messages; otherwise fills *err (lean_repl_error
 * for a shape error or REPL refusal, lean_error with the error messages as
 * details) and returns -EPROTO (or -ENOMEM). Call lh_error_done(err) and
 * lean_reply_done(lr) either way. */
int tool_query_parse_reply(json_object *reply, LeanReply *lr, LhError *err);

/* {"cmd": text, "env": base} for job (text: ownership taken). */
int tool_query_command(ToolCall *tc, char *text, json_object **ret);

/* ---- the module query job (lean_module_query, lean_module_query_batch) ---- */

typedef struct ToolCall ToolCall;
typedef struct ModuleQuery ModuleQuery;

typedef struct QueryJob {
        ModuleQuery *queries;
        size_t n_queries;
        bool batch;
        bool per_module;       /* batch fallback: each command carries its own import header */
        size_t current;        /* index of the query whose command is running */
} QueryJob;

/* The arguments (the call's, or each of "items") → the cache's answers, the
 * job for the rest, or the answer. The tools' ToolOps are the other four. */
int tool_module_query_call(ToolCall *tc, bool batch);
int tool_module_query_start(ToolCall *tc, LhJob *job, json_object **ret_command);
int tool_module_query_step(ToolCall *tc, LhJob *job, json_object *reply, json_object **ret_command);
int tool_module_query_done(ToolCall *tc, LhJob *job, json_object *result, const LhError *err, const LhFacts *facts);
void tool_module_query_state_free(void *state);

/* ToolDef members of both module query tools */
#define TOOL_MODULE_QUERY_JOB                                                                   \
        .ops = {                                                                                \
                .start = tool_module_query_start,                                               \
                .step = tool_module_query_step,                                                 \
                .done = tool_module_query_done,                                                 \
                .free_state = tool_module_query_state_free,                                     \
        },                                                                                      \
        .state_size = sizeof(QueryJob)

/* _cleanup_(query_output_done) LeanQueryOutput out = {} */
static inline void query_output_done(LeanQueryOutput *o) {
        json_object_put(o->decls);
        json_object_put(o->errors);
        json_object_put(o->ends);
}

/* _cleanup_(query_json_putp) json_object *o */
static inline void query_json_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}
