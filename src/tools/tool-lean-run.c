/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_run {project, code}: the raw escape hatch. The snippet's own import
 * header becomes the job's import profile (run once per worker, its env
 * reused); the body runs on top of that env, with the header blanked out so
 * message positions match the caller's text (no line shift needed).
 *
 * Result: {"env", "messages": [{severity, pos, end_pos, data}], "sorries":
 * [{pos, end_pos, goal, proof_state}], "has_errors", "has_sorry"} plus the
 * freshness envelope. A REPL-level refusal ({"message": …}) is the error
 * lean_repl_error. */

#include <stdlib.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "lean/header.h"
#include "lean/lean-reply.h"
#include "tools/call-base.h"
#include "tools/tool-args.h"

static const McpToolArg run_args[] = {
        TOOL_ARG_PROJECT,
        { .name = "code", .type = MCP_ARG_STRING, .required = true,
          .description = "Lean snippet: an optional import header followed by commands." },
        TOOL_ARG_END,
};

typedef struct RunState {
        LeanHeader header;
} RunState;

static void run_state_free(void *state) {
        RunState *s = state;

        lean_header_done(&s->header);
}

static int run_start(ToolCall *tc, LhJob *job, json_object **ret_command) {
        RunState *s = tool_call_state(tc);
        int base = tc->base_env;
        json_object *cmd;

        cmd = json_object_new_object();
        if (!cmd)
                return -ENOMEM;
        if (json_add(cmd, "cmd", json_object_new_string(s->header.body)) < 0 ||
            (base >= 0 && json_add(cmd, "env", json_object_new_int(base)) < 0)) {
                json_object_put(cmd);
                return -ENOMEM;
        }
        *ret_command = cmd;
        return 0;
}

/* The REPL's reply → the tool's result (lean_reply_to_json(): messages,
 * sorries, env, has_errors, has_sorry, and tactics/infotree when asked). */
static int run_step(ToolCall *tc, LhJob *job, json_object *reply, json_object **ret_command) {
        _cleanup_free_ char *shape_error = NULL;
        LeanReply lr = LEAN_REPLY_INIT;
        json_object *result;
        LhError err;
        int r;

        (void) ret_command;
        r = lean_reply_parse(reply, &lr, &shape_error);
        if (r == -ENOMEM)
                goto fail;
        if (r < 0) {
                lh_error_set(&err, "lean_repl_error", false, "the Lean REPL sent a reply of unexpected shape: %s",
                             strna(shape_error));
                job_set_error(job, &err);
                lh_error_done(&err);
                goto fail;
        }
        if (lr.repl_error) {
                /* {"message": "Unknown environment."}: a REPL-level error, not Lean's */
                lh_error_set(&err, "lean_repl_error", false, "the Lean REPL refused the command: %s", lr.repl_error);
                job_set_error(job, &err);
                lh_error_done(&err);
                r = -EPROTO;
                goto fail;
        }

        result = lean_reply_to_json(&lr);
        if (!result) {
                r = -ENOMEM;
                goto fail;
        }
        tc->env = lr.env;
        lean_reply_done(&lr);
        tool_call_set_result(tc, result);
        return 1;
fail:
        lean_reply_done(&lr);
        return r;
}

static int run_call(ToolCall *tc) {
        RunState *s = tool_call_state(tc);
        _cleanup_free_ char *header_error = NULL;
        char **imports;
        int r;

        r = lean_header_split(tool_call_arg_string(tc, "code"), &s->header, &header_error);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                tool_call_reply_errorf(tc, "invalid_arguments", false, "arguments.code: invalid import header: %s",
                                       strna(header_error));
                return 0;
        }

        r = tool_call_check_readiness(tc);
        if (r != 0)
                return r < 0 ? r : 0;

        /* Read-only for the retry policy: every run starts from the import
         * env, never from a previous run's env, so running it again on a
         * fresh worker gives the same answer. */
        imports = strv_copy(s->header.imports);
        if (!imports && s->header.imports)
                return -ENOMEM;
        return tool_call_submit(tc, imports, JOB_READ_ONLY);
}

const ToolDef tool_lean_run = {
        .mcp = {
                .name = "lean_run",
                .title = "Run Lean code",
                .description =
                        "Elaborate a Lean snippet in the project's environment and return the messages "
                        "(errors, warnings, #eval/#check output) with positions. The snippet may start "
                        "with import lines; without them the project's default imports are used.",
                .args = run_args,
                TOOL_ANNOTATIONS_RUNS_USER_LEAN,
        },
        .call = run_call,
        .ops = {
                .start = run_start,
                .step = run_step,
                .free_state = run_state_free,
        },
        .state_size = sizeof(RunState),
};
