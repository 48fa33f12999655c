/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the file-level tools (lean_file_diagnostics, lean_goal_at,
 * lean_multi_attempt) share: the path rule, the file-mode reply
 * (lean/file-reply.h) and the members every result of theirs carries.
 *
 * The daemon never reads the file: the REPL does (its cwd is the project
 * root), so the path is checked by its text only, and a file that is not
 * there is what the REPL says (file_not_found). */

#include <json-c/json.h>
#include <stdint.h>

#include "lean/file-reply.h"
#include "lean/lean-reply.h"
#include "project/error.h"
#include "project/facts.h"
#include "project/project.h"

typedef struct ToolCall ToolCall;

typedef struct ToolFileRun {
        LeanReply reply;
        LeanTactic *tactics;
        size_t n_tactics;
        const char *unfinished;    /* lean_file_unfinished_reason(), NULL: complete */
        size_t unfinished_message; /* its message, or (size_t) -1 */
} ToolFileRun;

#define TOOL_FILE_RUN_INIT { .reply = LEAN_REPLY_INIT, .unfinished_message = (size_t) -1 }

void tool_file_run_done(ToolFileRun *f);

/* Adds to result: "path", "complete", "unfinished_reason" (null when
 * complete), "has_errors", "has_sorry", "error_count", "warning_count",
 * "positions" (how lines and columns count). 0 or -ENOMEM. */
int tool_file_run_add_summary(json_object *result, const char *path, const ToolFileRun *f);

/* The state of each of these tools begins with this (its first member):
 * the shared parts of ToolDef.call and ToolOps below find it there. */
typedef struct ToolFileArgs {
        char *path;            /* relative to the project root */
        unsigned line, column; /* 1-based; column 0: not given */
} ToolFileArgs;

void tool_file_args_done(ToolFileArgs *a);
/* ToolOps.free_state of a tool whose state is a ToolFileArgs alone. */
void tool_file_state_free(void *state);

/* ToolDef.call's first part: "path" (tool_file_path()), and "line" and
 * "column" when with_position, into the state's ToolFileArgs. 1: go on; 0:
 * answered (invalid path); -ENOMEM. */
int tool_file_call_args(ToolCall *tc, bool with_position);

/* ToolDef.call's last part: readiness, then the job. The file brings its
 * own imports and the call changes nothing: a fresh worker gives the same
 * answer. */
int tool_file_call_submit(ToolCall *tc);

/* ToolDef.call of a tool that needs nothing more: path (and, _at, the
 * position), then the job. */
int tool_file_call(ToolCall *tc);
int tool_file_call_at(ToolCall *tc);

/* ToolOps.start: the file command (lean_file_command()). */
int tool_file_start(ToolCall *tc, LhJob *job, json_object **ret_command);

/* ToolOps.step's first part: the file's reply into *f (TOOL_FILE_RUN_INIT),
 * tc->env its env. 0; -EPROTO with the job's error set; -ENOMEM. */
int tool_file_step_parse(ToolCall *tc, LhJob *job, json_object *reply, ToolFileRun *f);

/* ToolOps.done: tool_file_reply_unfinished() on the state's path. */
int tool_file_done(ToolCall *tc, LhJob *job, json_object *result, const LhError *err, const LhFacts *facts);

/* ToolDef members of a tool whose state is a ToolFileArgs alone: its own
 * step, the rest shared. */
#define TOOL_FILE_JOB(step_func)                                                                \
        .ops = {                                                                                \
                .start = tool_file_start,                                                       \
                .step = (step_func),                                                            \
                .done = tool_file_done,                                                         \
                .free_state = tool_file_state_free,                                             \
        },                                                                                      \
        .state_size = sizeof(ToolFileArgs)

/* The text every schema of these tools says about positions. */
#define TOOL_FILE_POSITIONS_IN                                                                  \
        "line: 1-based; column: 1-based, in Unicode codepoints (as lean-lsp-mcp and editors " \
        "count). "
#define TOOL_FILE_POSITIONS_OUT                                                                 \
        "Positions in the result are Lean's: line 1-based, column 0-based (codepoints)."

/* Argument rows (mcp/tool-schemas.h McpToolArg). */
#define TOOL_ARG_FILE_PATH                                                                      \
        { .name = "path", .type = MCP_ARG_STRING, .required = true,                             \
          .limits = MCP_ARG_HAS_MIN, .min = 1,                                                  \
          .description = "The .lean file, relative to the project root or absolute under it. " \
                         "The Lean REPL reads it as saved on disk (save before calling)." }
#define TOOL_ARG_FILE_LINE                                                                      \
        { .name = "line", .type = MCP_ARG_INTEGER, .required = true,                            \
          .limits = MCP_ARG_HAS_MIN | MCP_ARG_HAS_MAX, .min = 1, .max = INT32_MAX,              \
          .description = "Line of the position, 1-based (the first line is 1)." }
#define TOOL_ARG_FILE_COLUMN                                                                    \
        { .name = "column", .type = MCP_ARG_INTEGER,                                            \
          .limits = MCP_ARG_HAS_MIN | MCP_ARG_HAS_MAX, .min = 1, .max = INT32_MAX,              \
          .description = "Column of the position, 1-based in Unicode codepoints (the first "    \
                         "character of a line is column 1, as in lean-lsp-mcp and editors; "    \
                         "Lean's own columns, in the result, are 0-based). Omitted: the "       \
                         "tactics that start on the line." }

/* What sits at a position of the file (line 1-based; column 1-based, 0 when
 * not given). With a column: the innermost tactic containing it
 * (lean_tactic_at()), and the sorry containing it. Without: the tactics
 * that start on the line (REPL order; *ret_first the outermost of them:
 * earliest start, then longest), and the first sorry starting there.
 * *ret (malloc'd, may be NULL when *ret_n is 0), *ret_sorry -1 when none.
 * 0 or -ENOMEM. */
int tool_file_select(const ToolFileRun *f, unsigned line, unsigned column, size_t **ret, size_t *ret_n,
                     size_t *ret_first, int *ret_sorry);

/* The tactics on a line, as {tactic, pos, end_pos}: where to look when the
 * position held none. NULL on OOM. */
json_object *tool_file_tactics_on_line(const ToolFileRun *f, unsigned line);
