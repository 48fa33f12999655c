/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_file_diagnostics {project, path}: every message Lean reports for a
 * file of the project, from the REPL's file mode ({"path", "allTactics"}:
 * REPL/Main.lean processFile, which reads the file and elaborates it whole,
 * its own imports included, in a fresh session).
 *
 * "complete" is what stands between an agent and a false "no errors"
 * (lean-lsp-mcp #34, #62, #63, #97): it is true only when the REPL answered
 * for the whole file and no message says Lean gave up part way (heartbeat
 * timeout, recursion limit: lean/file-reply.h). A call that got no answer
 * (deadline, worker killed, reply too large, file missing) is an error whose
 * body says "complete": false too; it never has an empty message list.
 *
 * Result: {"path", "complete", "unfinished_reason", "messages", "sorries",
 * "has_errors", "has_sorry", "error_count", "warning_count", "positions"}. */

#include <stdlib.h>

#include "basic/json-util.h"
#include "basic/strv.h"
#include "tools/call-base.h"
#include "tools/tool-args.h"
#include "tools/tool-file-common.h"

static const McpToolArg diagnostics_args[] = {
        TOOL_ARG_PROJECT,
        TOOL_ARG_FILE_PATH,
        TOOL_ARG_END,
};

typedef struct DiagnosticsState {
        char *path; /* relative to the project root */
} DiagnosticsState;

static void diagnostics_state_free(void *state) {
        DiagnosticsState *s = state;

        free(s->path);
}

static int diagnostics_start(ToolCall *tc, LhJob *job, json_object **ret_command) {
        DiagnosticsState *s = tool_call_state(tc);

        *ret_command = lean_file_command(s->path);
        return *ret_command ? 0 : -ENOMEM;
}

static int diagnostics_step(ToolCall *tc, LhJob *job, json_object *reply, json_object **ret_command) {
        _cleanup_(tool_file_run_done) ToolFileRun f = TOOL_FILE_RUN_INIT;
        _cleanup_(lh_error_done) LhError err = {};
        DiagnosticsState *s = tool_call_state(tc);
        json_object *result, *messages, *sorries;
        int r;

        (void) ret_command;
        r = tool_file_run_parse(reply, s->path, &f, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                job_set_error(job, &err);
                return r;
        }
        tc->env = f.reply.env;

        result = json_object_new_object();
        if (!result)
                return -ENOMEM;
        /* json_add() takes each array, added or not */
        if (json_add(result, "messages", (messages = json_object_new_array())) < 0 ||
            json_add(result, "sorries", (sorries = json_object_new_array())) < 0 ||
            tool_file_run_add_summary(result, s->path, &f) < 0)
                goto oom;
        for (size_t i = 0; i < f.reply.n_messages; i++)
                if (json_object_array_add(messages, lean_message_to_json(&f.reply.messages[i])) < 0)
                        goto oom;
        for (size_t i = 0; i < f.reply.n_sorries; i++)
                if (json_object_array_add(sorries, lean_sorry_to_json(&f.reply.sorries[i])) < 0)
                        goto oom;
        job_set_result(job, result);
        return 1;
oom:
        json_object_put(result);
        return -ENOMEM;
}

/* No answer from the REPL: say so in the error, never "no errors". */
static int diagnostics_done(ToolCall *tc, LhJob *job, json_object *result, const LhError *err, const LhFacts *facts) {
        DiagnosticsState *s = tool_call_state(tc);

        return tool_file_reply_unfinished(tc, s->path, err, facts);
}

static int diagnostics_call(ToolCall *tc) {
        DiagnosticsState *s = tool_call_state(tc);
        _cleanup_(lh_error_done) LhError err = {};
        int r;

        r = tool_file_path(project_get_root(tc->project), tool_call_arg_string(tc, "path"), &s->path, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                tool_call_reply(tc, NULL, &err, NULL);
                return 0;
        }
        r = tool_call_check_readiness(tc);
        if (r != 0)
                return r < 0 ? r : 0;
        /* The file brings its own imports; elaborating it again on a fresh
         * worker gives the same answer. */
        return tool_call_submit(tc, NULL, JOB_READ_ONLY | JOB_OWN_IMPORTS);
}

const ToolDef tool_lean_file_diagnostics = {
        .mcp = {
                .name = "lean_file_diagnostics",
                .title = "Diagnostics of a file",
                .description =
                        "Elaborate one .lean file of the project, as saved, with its own imports, and "
                        "return every error, warning and info message, and the sorries. \"complete\": "
                        "true only when Lean answered for the whole file; false (with "
                        "\"unfinished_reason\": lean_timeout, recursion_limit) when a message says Lean "
                        "abandoned part of it, so a later error may be missing. A call that got no answer "
                        "(timeout, worker died, file_not_found) is an error whose body also says "
                        "\"complete\": false: no result ever reads as \"no errors\" for a file Lean did "
                        "not finish. " TOOL_FILE_POSITIONS_OUT,
                .args = diagnostics_args,
                /* the file is Lean the caller wrote: #eval in it runs */
                TOOL_ANNOTATIONS_RUNS_USER_LEAN,
        },
        .call = diagnostics_call,
        .ops = {
                .start = diagnostics_start,
                .step = diagnostics_step,
                .done = diagnostics_done,
                .free_state = diagnostics_state_free,
        },
        .state_size = sizeof(DiagnosticsState),
};
