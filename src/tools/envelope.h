/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The tool result envelope and the plumbing every tool handler shares:
 *
 *   success: {"result": …, "runtime": facts, ["freshness": …], "project": {"root", "id"}}
 *   error:   {"error": {"code", "retryable", "message", …}, ["runtime": facts],
 *             ["freshness": …], ["project": {"root", "id"}]}
 *
 * A tool handler typically does:
 *
 *     LhProject *p;
 *     r = tool_resolve_project(call, registry, &p);   // replied already when r != 0
 *     if (r != 0) return r < 0 ? r : 0;
 *     ... build JobOps + userdata ...
 *     return tool_submit_job(call, p, imports, JOB_READ_ONLY, &my_ops, userdata);
 *
 * and in its JobOps.done calls tool_job_reply(job, result, err, facts, freshness).
 */

#include <json-c/json.h>
#include <stdbool.h>

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

/* content[0].text of a tool result (an McpResultText): the answer, the
 * error and notable facts in a few lines; the body itself goes to
 * structuredContent only. */
char *tool_result_summary(json_object *body, bool is_error, void *userdata);

/* Reply to the call with an error envelope (is_error = true). */
void tool_reply_error(McpCall *call, LhProject *project, const LhError *err, const LhFacts *facts);
/* Convenience: reply with a fresh error built from code/retryable/message. */
void tool_reply_errorf(McpCall *call, LhProject *project, const char *code, bool retryable,
                       const char *format, ...) _printf_(5, 6);

/* Resolve arguments.project (a path: the root or anything inside it) through
 * the registry. Returns 0 with *ret set, 1 when the call has already been
 * answered with an error envelope (invalid_arguments for a missing/non-string
 * "project", project_not_found, …), negative errno on internal failure. */
int tool_resolve_project(McpCall *call, LhRegistry *registry, LhProject **ret);

/* Helper for arguments: a string member or NULL. */
const char *tool_arg_string(McpCall *call, const char *key);

/* Submit a job on behalf of call. ops->done of the caller is invoked exactly
 * once as usual; the per-call context (the McpCall) is available in done via
 * tool_job_get_call(job). Cancellation of the McpCall is wired to
 * job_cancel(). When project_submit() refuses (mailbox_full,
 * worker_unavailable while cooling down, shutting_down), the call is answered
 * here with the error envelope, ops->done is NOT called, ops->free_userdata
 * is, and 1 is returned. Returns 0 when accepted, negative errno on internal
 * failure (userdata freed, call not answered). */
int tool_submit_job(McpCall *call, LhProject *project, char **imports, JobFlags flags,
                    const JobOps *ops, void *userdata);
/* The same for a job that must run on the worker of want_generation (a
 * proof state lives there; 0: any worker of the project's pool). */
int tool_submit_job_on(McpCall *call, LhProject *project, char **imports, JobFlags flags, uint64_t want_generation,
                       const JobOps *ops, void *userdata);

/* Inside JobOps callbacks of a job submitted through tool_submit_job(). */
McpCall *tool_job_get_call(LhJob *job);
/* A stage of the job for its call's progress notifications (each item of a
 * batch, each attempt): nothing when the client asked for none. The actor's
 * own stages (mailbox, worker start, import) reach the call by themselves. */
void tool_job_progress(LhJob *job, const char *format, ...) _printf_(2, 3);

/* Typical JobOps.done body: replies to the job's call with the result
 * envelope (result borrowed: a ref is taken) or, when err != NULL, with the
 * error envelope. freshness: ownership taken, may be NULL. */
void tool_job_reply(LhJob *job, json_object *result, const LhError *err, const LhFacts *facts,
                    json_object *freshness);
