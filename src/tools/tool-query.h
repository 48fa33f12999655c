/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the query tools (tool-query.c, tool-meta.c, tool-lean-proof-search.c):
 * the plumbing of jobs that run generated meta commands (lean/query-text.h). */

#include "lean/lean-reply.h"
#include "tools/tools-internal.h"

/* The job's import profile: "Lean" when meta (the meta programs need it),
 * then arguments.imports (validated). Returns 0 with
 * *ret set, 1 when the call was answered (invalid_arguments), -ENOMEM. */
int tool_query_imports(McpCall *call, LhProject *p, bool meta, char ***ret);

/* Parse a reply to a generated command into *lr. Returns 0 when it is a
 * Lean reply without error messages; otherwise fills *err (lean_repl_error
 * for a shape error or REPL refusal, lean_error with the error messages as
 * details) and returns -EPROTO (or -ENOMEM). Call lh_error_done(err) and
 * lean_reply_done(lr) either way. */
int tool_query_parse_reply(json_object *reply, LeanReply *lr, LhError *err);

/* {"cmd": text, "env": base} for job (text: ownership taken). */
int tool_query_command(LhJob *job, char *text, json_object **ret);

/* An unsigned integer argument (in obj) or def; clamped to [1, max]. */
unsigned tool_query_uint(json_object *obj, const char *key, unsigned def, unsigned max);

/* _cleanup_(query_json_putp) json_object *o */
static inline void query_json_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}
