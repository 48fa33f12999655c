/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The call base: what every tool shares, so a tool is one file with its
 * argument table, its Lean text and its result.
 *
 * A tool is a ToolDef (its McpToolDef: name, description, annotations and
 * argument table; call(); ops) in a file of its own, listed once in
 * tool-list.c. The table is the only place of its argument rules: the
 * server generates the input schema from it and validates every call
 * against it before call() runs (a broken rule is an isError result with
 * code invalid_arguments); call() reads arguments through the same rows
 * (tool_call_arg_*(): aliases, defaults) and re-checks nothing the table
 * says.
 *
 * One tools/call is one ToolCall: the McpCall, the project (resolved from
 * "project" before call()), the readiness found before the job, the job,
 * the message budget and the tool's own state (def->state_size bytes).
 * call() answers at once (tool_call_reply*) or submits the one job
 * (tool_call_submit()); the base then owns the rest: cancellation, the
 * smoke/stamp accounting, the freshness envelope, the one reply, the free. */

#include "mcp/tool-schemas.h"
#include "tools/tools-internal.h"

typedef struct ToolCall ToolCall;
typedef struct ToolDef ToolDef;

typedef struct ToolOps {
        /* The job's first command (a retry on a fresh worker calls it again). */
        int (*start)(ToolCall *tc, LhJob *job, json_object **ret_command);
        /* A reply: 1 when done (after tool_call_set_result()/job_set_error()), 0 with
         * *ret_command the next command, negative errno. */
        int (*step)(ToolCall *tc, LhJob *job, json_object *reply, json_object **ret_command);
        /* Optional: the job is over (accounting done). Return 0 to let the base
         * answer with result/err, 1 when the tool answered (tool_call_reply())
         * or handed the call on. */
        int (*done)(ToolCall *tc, LhJob *job, json_object *result, const LhError *err, const LhFacts *facts);
        /* Optional: release what the state points to (not the state itself). */
        void (*free_state)(void *state);
} ToolOps;

struct ToolDef {
        McpToolDef mcp; /* first: a ToolDef is found from its McpToolDef */
        /* The arguments are valid by the table and the project is resolved:
         * answer now, or submit the job. 0, or negative errno (nothing
         * answered: the server answers internal_error). */
        int (*call)(ToolCall *tc);
        ToolOps ops;
        size_t state_size;
        bool no_project; /* the base does not resolve "project" first (else the
                          * table has the "project" row: TOOL_ARG_PROJECT) */
};

struct ToolCall {
        unsigned n_ref;
        const ToolDef *def;
        ToolsContext *ctx;
        McpCall *call;
        McpCallView view;         /* what the base read of the call, once */
        json_object *const *args; /* each row's value (view.args), borrowed */
        bool cancelled;           /* the client cancelled: a job submitted now is cancelled at once */
        LhProject *project;
        LhProjectView project_view; /* read once when project is resolved */
        LhJob *job;               /* weak: set while the submitted job runs */
        LeanReadiness readiness;  /* tool_call_check_readiness(): stamp, advisories */
        bool have_readiness;
        char **imports;           /* the job's import profile (owned), for freshness */
        int env;                  /* env of the last reply, -1 none, for freshness */
        int base_env;             /* the job's import header's env in its worker, -1 none (start()) */
        LeanMessageBudget budget;
        json_object *result;      /* tool_call_set_result(): the job's, handed over when it is done */
        void *state;              /* def->state_size bytes, zeroed */
};

/* tool-list.c: the tool called name, NULL if none (tools_list_defs(): tools.h). */
const ToolDef *tools_list_find(const char *name);

/* The McpToolHandler of every tool (userdata: the ToolsContext, whose defs
 * list the tool): builds the ToolCall, resolves "project", runs def->call. */
int tool_call_handle(McpCall *call, void *userdata);

/* Arguments through the table: any spelling of the row (aliases), the
 * row's default when absent. name must be a row of the tool's table. */
json_object *tool_call_arg(ToolCall *tc, const char *name);
const char *tool_call_arg_string(ToolCall *tc, const char *name);   /* NULL: absent */
int64_t tool_call_arg_int(ToolCall *tc, const char *name);          /* default_int when absent */
bool tool_call_arg_bool(ToolCall *tc, const char *name);            /* default_int != 0 when absent */

/* The readiness gate (tools_check_readiness()) into tc->readiness: 0 go on,
 * 1 answered with the readiness error, negative errno. */
int tool_call_check_readiness(ToolCall *tc);

/* Submit the call's one job (imports: the import profile, taken). 0 when
 * accepted or refused-and-answered (mailbox_full, …), negative errno when
 * nothing was answered. */
int tool_call_submit(ToolCall *tc, char **imports, JobFlags flags);
/* The same for a job that must run on the worker of want_generation (a proof
 * state lives there; 0: any worker of the project's pool). */
int tool_call_submit_on(ToolCall *tc, char **imports, JobFlags flags, uint64_t want_generation);
/* A stage of the job for the call's progress notifications (each item of a
 * batch, each attempt): nothing when the client asked for none. The actor's
 * own stages (mailbox, worker start, import) reach the call by themselves. */
void tool_call_progress(ToolCall *tc, const char *format, ...) _printf_(2, 3);

/* In ops.start/ops.step before returning 1: the job's result (taken). It
 * goes back to the project as the finished step's return, not as a call. */
void tool_call_set_result(ToolCall *tc, json_object *result);

/* Answer: result (taken) or err, with runtime facts (NULL: the project's
 * snapshot) and the freshness of the job's readiness, once. */
void tool_call_reply(ToolCall *tc, json_object *result, const LhError *err, const LhFacts *facts);
void tool_call_reply_errorf(ToolCall *tc, const char *code, bool retryable, const char *format, ...)
        _printf_(4, 5);

static inline void *tool_call_state(ToolCall *tc) {
        return tc->state;
}
