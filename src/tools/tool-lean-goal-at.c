/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_goal_at {project, path, line, column?}: the goals at a position of a
 * file, from the REPL's file mode with allTactics: every tactic of the file
 * with its source range and the goals before it (REPL/JSON.lean Tactic).
 *
 * With a column, the tactic chosen is the innermost one whose range holds
 * the position (both ends inclusive: just after a tactic is still on it);
 * without, every tactic that starts on the line. A sorry at the position
 * gives its goal too. Nothing there is a result ("found": false, with the
 * tactics on that line), not an error.
 *
 * Result: {"found", "chosen", "goals", "tactics": [{tactic, pos, end_pos,
 * goals, proof_state}], "sorry"?, "tactics_on_line"?, "position", and the
 * file summary (tool-file-common.h)}. "goals" are those before the chosen
 * tactic runs: the REPL records no state after it (lean_multi_attempt runs
 * a tactic there and shows what it leaves). */

#include <stdlib.h>

#include "basic/json-util.h"
#include "basic/strv.h"
#include "tools/call-base.h"
#include "tools/tool-args.h"
#include "tools/tool-file-common.h"

static const McpToolArg goal_at_args[] = {
        TOOL_ARG_PROJECT,
        TOOL_ARG_FILE_PATH,
        TOOL_ARG_FILE_LINE,
        TOOL_ARG_FILE_COLUMN,
        TOOL_ARG_END,
};

static json_object *goal_at_position(unsigned line, unsigned column) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (json_add(o, "line", json_object_new_int64(line)) < 0 ||
            (column > 0 && json_add(o, "column", json_object_new_int64(column)) < 0) ||
            json_add(o, "counting", json_object_new_string("as given: line and column 1-based")) < 0)
                return json_object_put(o), NULL;
        return o;
}

static int goal_at_step(ToolCall *tc, LhJob *job, json_object *reply, json_object **ret_command) {
        _cleanup_(tool_file_run_done) ToolFileRun f = TOOL_FILE_RUN_INIT;
        const ToolFileArgs *a = tool_call_state(tc);
        _cleanup_free_ size_t *sel = NULL;
        size_t n_sel, first;
        _cleanup_(json_object_putp) json_object *result = NULL;
        json_object *tactics;
        int r, sorry;

        (void) ret_command;
        r = tool_file_step_parse(tc, job, reply, &f);
        if (r < 0)
                return r;
        r = tool_file_select(&f, a->line, a->column, &sel, &n_sel, &first, &sorry);
        if (r < 0)
                return r;

        result = json_object_new_object();
        if (!result)
                return -ENOMEM;
        tactics = json_object_new_array();
        if (json_add(result, "tactics", tactics) < 0 || tool_file_run_add_summary(result, a->path, &f) < 0 ||
            json_add(result, "position", goal_at_position(a->line, a->column)) < 0 ||
            json_add(result, "found", json_object_new_boolean(n_sel > 0 || sorry >= 0)) < 0 ||
            json_add(result, "chosen",
                     json_object_new_string(a->column > 0 ?
                                            "the innermost tactic whose range holds the position" :
                                            "every tactic that starts on the line")) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n_sel; i++)
                if (json_append(tactics, lean_tactic_to_json(&f.tactics[sel[i]])) < 0)
                        return -ENOMEM;
        /* the goals before the chosen tactic (the outermost one on the line) */
        if (json_add_string_or_null(result, "goals",
                                    n_sel > 0 ? strempty(f.tactics[first].goals) :
                                    sorry >= 0 ? strempty(f.reply.sorries[sorry].goal) :
                                    NULL) < 0)
                return -ENOMEM;
        if (sorry >= 0 && json_add(result, "sorry", lean_sorry_to_json(&f.reply.sorries[sorry])) < 0)
                return -ENOMEM;
        if (n_sel == 0 && sorry < 0 &&
            (json_add(result, "tactics_on_line", tool_file_tactics_on_line(&f, a->line)) < 0 ||
             json_add(result, "message",
                      json_object_new_string(f.n_tactics == 0 ?
                                             "no tactic at this position: the file has no tactic proofs Lean "
                                             "reported" :
                                             "no tactic at this position (tactics_on_line lists the ones on "
                                             "this line, with Lean's 0-based columns)")) < 0))
                return -ENOMEM;
        tool_call_set_result(tc, TAKE_PTR(result));
        return 1;
}

const ToolDef tool_lean_goal_at = {
        .mcp = {
                .name = "lean_goal_at",
                .title = "Goals at a position of a file",
                .description =
                        "Elaborate one .lean file of the project, as saved, and return the proof goals at "
                        "a position: the tactic there (the innermost one holding line:column; without "
                        "column, every tactic starting on the line) with the goals before it runs, and a "
                        "sorry's goal when the position is on one. \"found\": false (with the tactics on "
                        "that line) when no tactic is there; that is an answer, not an error. "
                        TOOL_FILE_POSITIONS_IN TOOL_FILE_POSITIONS_OUT,
                .args = goal_at_args,
                TOOL_ANNOTATIONS_RUNS_USER_LEAN,
        },
        .call = tool_file_call_at,
        TOOL_FILE_JOB(goal_at_step),
};
