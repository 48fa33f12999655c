/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The tool result envelope (the call base, call-base.h, answers with it):
 *
 *   success: {"result": …, "runtime": facts, ["freshness": …], "project": {"root", "id"}}
 *   error:   {"error": {"code", "retryable", "message", …}, ["runtime": facts],
 *             ["freshness": …], ["project": {"root", "id"}]}
 */

#include <json-c/json.h>
#include <stdbool.h>

#include "lean/lean-reply.h"
#include "mcp/mcp.h"
#include "project/error.h"
#include "project/facts.h"
#include "project/project.h"

/* Build envelopes. result/freshness: ownership taken (freshness may be NULL =
 * omitted). project/facts may be NULL (then "project"/"runtime" are omitted
 * for errors; for results facts NULL means the project's current snapshot). */
json_object *tool_envelope_result(LhProject *project, json_object *result, const LhFacts *facts,
                                  json_object *freshness);
json_object *tool_envelope_error(LhProject *project, const LhError *err, const LhFacts *facts,
                                 json_object *freshness);
/* Either, for a caller that holds the project's view (NULL: read here):
 * the error envelope when err, else the result's (result taken either way). */
json_object *tool_envelope_of(LhProject *project, const LhProjectView *view, json_object *result, const LhError *err,
                              const LhFacts *facts, json_object *freshness);

/* content[0].text of a tool result (an McpResultText): the answer, the
 * error and notable facts in a few lines; the body itself goes to
 * structuredContent only. */
char *tool_result_summary(json_object *body, bool is_error, void *userdata);

/* Answer the call with body (taken; NULL: the out-of-memory error) and its
 * summary (tool_result_summary()) as content[0].text; holder (not NULL)
 * releases its reference from mcp_call_open() with the answer. */
void tool_answer(McpCall *call, void *holder, json_object *body, bool is_error);
/* Reply to the call with an error envelope (is_error = true). */
void tool_reply_error(McpCall *call, LhProject *project, const LhError *err, const LhFacts *facts);
/* Convenience: reply with a fresh error built from code/retryable/message. */
void tool_reply_errorf(McpCall *call, LhProject *project, const char *code, bool retryable,
                       const char *format, ...) _printf_(5, 6);

/* The project path of a call: "~" and "~/x" in the user's home (the daemon
 * runs as the calling user: $HOME, else the passwd entry); a relative path
 * is refused (the daemon's cwd means nothing to the caller). 0 with *ret,
 * -EINVAL with *ret_error (a message for invalid_arguments), -ENOMEM. */
int tool_project_path(const char *path, char **ret, char **ret_error);

/* "truncated", "messages_total", "messages_returned" when the message budget cut. */
int tool_envelope_add_budget(json_object *body, const LeanMessageBudget *budget);
/* The error body when building the real one failed. */
json_object *tool_envelope_oom(void);

/* Resolve project (the call's arguments.project, a path: the root or
 * anything inside it; NULL when absent or not a string) through the
 * registry. Returns 0 with *ret set, 1 when the call has already been
 * answered with an error envelope (invalid_arguments for a missing/non-string
 * "project", project_not_found, …), negative errno on internal failure. */
int tool_resolve_project(McpCall *call, const char *project, LhRegistry *registry, LhProject **ret);

/* Helper for arguments: a string member or NULL. */
const char *tool_arg_string(McpCall *call, const char *key);
