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

static int diagnostics_step(ToolCall *tc, LhJob *job, json_object *reply, json_object **ret_command) {
        _cleanup_(tool_file_run_done) ToolFileRun f = TOOL_FILE_RUN_INIT;
        ToolFileArgs *a = tool_call_state(tc);
        _cleanup_(json_object_putp) json_object *result = NULL;
        json_object *messages, *sorries;
        int r;

        (void) ret_command;
        r = tool_file_step_parse(tc, job, reply, &f);
        if (r < 0)
                return r;

        result = json_object_new_object();
        if (!result)
                return -ENOMEM;
        /* json_add() takes each array, added or not */
        if (json_add(result, "messages", (messages = json_object_new_array())) < 0 ||
            json_add(result, "sorries", (sorries = json_object_new_array())) < 0 ||
            tool_file_run_add_summary(result, a->path, &f) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < f.reply.n_messages; i++)
                if (json_append(messages, lean_message_to_json(&f.reply.messages[i])) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < f.reply.n_sorries; i++)
                if (json_append(sorries, lean_sorry_to_json(&f.reply.sorries[i])) < 0)
                        return -ENOMEM;
        tool_call_set_result(tc, TAKE_PTR(result));
        return 1;
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
        .call = tool_file_call,
        /* tool_file_done(): no answer from the REPL is said in the error, never "no errors" */
        TOOL_FILE_JOB(diagnostics_step),
};
