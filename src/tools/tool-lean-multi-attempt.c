/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_multi_attempt {project, path, line, column?, snippets}: several
 * tactics tried at one position of a file.
 *
 * How: the file runs in the REPL's file mode with allTactics; the tactic at
 * the position (tool_file_select(): innermost with a column, else the
 * outermost starting on the line), or else the sorry there, comes with the
 * REPL's proof state BEFORE it (REPL/JSON.lean Tactic.proofState,
 * Sorry.proofState). Each snippet runs on that state in tactic mode
 * ({"tactic", "proofState"}: recorded in all_tactics-20250622.in, which
 * replays a file tactic on its own state). That is the REPL's own way to
 * "replace the tactic there": no text is edited, positions stay right, and
 * each attempt starts from the same goals. The tactics after the position
 * are not run: "proof_status" says whether the snippet alone closes the
 * goals that were open there.
 *
 * Result: {"found", "proof_state_from": "tactic"|"sorry", "at": {…},
 * "goals_before", "attempts": [{"snippet", "proof_status", "solved",
 * "goals", "messages", "error"?}], "solved_by": [snippets], file summary}. */

#include <stdlib.h>

#include "basic/json-util.h"
#include "basic/strv.h"
#include "lean/proof-text.h"
#include "tools/call-base.h"
#include "tools/tool-args.h"
#include "tools/tool-file-common.h"
#include "tools/tool-query.h"

#define MULTI_ATTEMPT_MAX 16

static const McpToolArg multi_attempt_args[] = {
        TOOL_ARG_PROJECT,
        TOOL_ARG_FILE_PATH,
        TOOL_ARG_FILE_LINE,
        TOOL_ARG_FILE_COLUMN,
        { .name = "snippets", .type = MCP_ARG_STRINGS, .required = true,
          .limits = MCP_ARG_HAS_MIN | MCP_ARG_HAS_MAX, .min = 1, .max = MULTI_ATTEMPT_MAX,
          .description = "Tactics to try, each on its own, in place of the tactic at the position "
                         "(on the goals before it), e.g. [\"simp\", \"omega\", \"exact Nat.le_refl _\"]. "
                         "A multi-line script runs as one block." },
        TOOL_ARG_END,
};

typedef struct MultiAttemptState {
        ToolFileArgs file;     /* first: tool-file-common.h */
        char **texts;          /* the snippets as sent (lean_tactic_block()) */
        char **snippets;       /* as given */
        /* per run (reset by start: a retry on a fresh worker starts over) */
        size_t next;           /* snippets sent so far */
        int proof_state;
        json_object *result;   /* being built */
        json_object *attempts;
} MultiAttemptState;

static void multi_attempt_state_free(void *state) {
        MultiAttemptState *s = state;

        tool_file_args_done(&s->file);
        strv_free(s->texts);
        strv_free(s->snippets);
        json_object_put(s->result);
}

static int multi_attempt_start(ToolCall *tc, LhJob *job, json_object **ret_command) {
        MultiAttemptState *s = tool_call_state(tc);

        json_object_put(s->result);
        s->result = NULL;
        s->attempts = NULL;
        s->next = 0;
        s->proof_state = -1;
        return tool_file_start(tc, job, ret_command);
}

static json_object *tactic_command(const char *text, int proof_state) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (json_add(o, "tactic", json_object_new_string(text)) < 0 ||
            json_add(o, "proofState", json_object_new_int(proof_state)) < 0)
                return json_object_put(o), NULL;
        return o;
}

/* The file's reply: pick the proof state, or answer "found": false. */
static int multi_attempt_file(ToolCall *tc, LhJob *job, json_object *reply, json_object **ret_command) {
        _cleanup_(tool_file_run_done) ToolFileRun f = TOOL_FILE_RUN_INIT;
        MultiAttemptState *s = tool_call_state(tc);
        _cleanup_free_ size_t *sel = NULL;
        size_t n_sel, first;
        json_object *result, *at = NULL;
        const char *from = NULL, *goals = NULL;
        int r, sorry;

        r = tool_file_step_parse(tc, job, reply, &f);
        if (r < 0)
                return r;
        r = tool_file_select(&f, s->file.line, s->file.column, &sel, &n_sel, &first, &sorry);
        if (r < 0)
                return r;
        if (n_sel > 0 && f.tactics[first].proof_state >= 0) {
                s->proof_state = f.tactics[first].proof_state;
                from = "tactic";
                goals = f.tactics[first].goals;
                at = lean_tactic_to_json(&f.tactics[first]);
        } else if (sorry >= 0 && f.reply.sorries[sorry].proof_state >= 0) {
                s->proof_state = f.reply.sorries[sorry].proof_state;
                from = "sorry";
                goals = f.reply.sorries[sorry].goal;
                at = lean_sorry_to_json(&f.reply.sorries[sorry]);
        }

        result = json_object_new_object();
        if (!result || (from && !at) || json_object_object_add(result, "at", at) < 0) {
                json_object_put(at);
                json_object_put(result);
                return -ENOMEM;
        }
        if (tool_file_run_add_summary(result, s->file.path, &f) < 0 ||
            json_add(result, "found", json_object_new_boolean(s->proof_state >= 0)) < 0 ||
            json_add_string_or_null(result, "proof_state_from", from) < 0 ||
            json_add_string_or_null(result, "goals_before", goals) < 0 ||
            json_add(result, "attempts", json_object_new_array()) < 0) {
                json_object_put(result);
                return -ENOMEM;
        }
        if (s->proof_state < 0) {
                if (json_add(result, "tactics_on_line", tool_file_tactics_on_line(&f, s->file.line)) < 0 ||
                    json_add(result, "message",
                             json_object_new_string("no tactic or sorry with a proof state at this position: "
                                                    "nothing was tried (tactics_on_line lists the ones on "
                                                    "this line, with Lean's 0-based columns)")) < 0) {
                        json_object_put(result);
                        return -ENOMEM;
                }
                tool_call_set_result(tc, result);
                return 1;
        }
        s->result = result;
        s->attempts = json_object_object_get(result, "attempts");
        *ret_command = tactic_command(s->texts[s->next++], s->proof_state);
        return *ret_command ? 0 : -ENOMEM;
}

/* One attempt's reply: the REPL's answer, or its refusal (a tactic that
 * does not parse or fails: {"message": "Lean error:\n…"}). */
static int multi_attempt_record(MultiAttemptState *s, json_object *reply, LhError *err) {
        _cleanup_(lean_reply_done) LeanReply lr = LEAN_REPLY_INIT;
        json_object *a, *messages = NULL, *goals = NULL;
        bool solved;
        int r;

        r = tool_query_parse_shape(reply, &lr, err);
        if (r < 0)
                return r;
        a = json_object_new_object();
        if (!a || json_object_array_add(s->attempts, a) < 0) {
                json_object_put(a);
                return -ENOMEM;
        }
        if (json_add(a, "snippet", json_object_new_string(s->snippets[s->next - 1])) < 0)
                return -ENOMEM;
        if (lr.repl_error)
                return json_add(a, "error", json_object_new_string(lr.lean_error ?: lr.repl_error)) < 0 ||
                       json_add(a, "solved", json_object_new_boolean(false)) < 0 ? -ENOMEM : 0;

        solved = lean_reply_proof_completed(&lr) && !lean_reply_has_errors(&lr) && !lean_reply_has_sorry(&lr);
        messages = json_object_new_array();
        goals = json_object_new_array();
        if (json_add(a, "messages", messages) < 0 || json_add(a, "goals", goals) < 0 ||
            json_add_string_or_null(a, "proof_status", lr.proof_status) < 0 ||
            json_add(a, "solved", json_object_new_boolean(solved)) < 0 ||
            json_add(a, "has_errors", json_object_new_boolean(lean_reply_has_errors(&lr))) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < lr.n_messages; i++)
                if (json_append(messages, lean_message_to_json(&lr.messages[i])) < 0)
                        return -ENOMEM;
        STRV_FOREACH(g, lr.goals)
                if (json_append(goals, json_object_new_string(*g)) < 0)
                        return -ENOMEM;
        return 0;
}

static int multi_attempt_step(ToolCall *tc, LhJob *job, json_object *reply, json_object **ret_command) {
        _cleanup_(lh_error_done) LhError err = {};
        MultiAttemptState *s = tool_call_state(tc);
        json_object *solved_by;
        int r;

        if (!s->result)
                return multi_attempt_file(tc, job, reply, ret_command);
        r = multi_attempt_record(s, reply, &err);
        if (r == -EPROTO) {
                job_set_error(job, &err);
                return r;
        }
        if (r < 0)
                return r;
        if (s->texts[s->next]) {
                *ret_command = tactic_command(s->texts[s->next++], s->proof_state);
                return *ret_command ? 0 : -ENOMEM;
        }
        /* the answer at a glance (and in the text summary): which snippets closed the goals */
        solved_by = json_object_new_array();
        if (json_add(s->result, "solved_by", solved_by) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < json_object_array_length(s->attempts); i++) {
                json_object *a = json_object_array_get_idx(s->attempts, i);

                if (json_object_get_boolean(json_object_object_get(a, "solved")) &&
                    json_object_array_add(solved_by, json_object_get(json_object_object_get(a, "snippet"))) < 0)
                        return -ENOMEM;
        }
        tool_call_set_result(tc, TAKE_PTR(s->result));
        s->attempts = NULL;
        return 1;
}

static int multi_attempt_call(ToolCall *tc) {
        MultiAttemptState *s = tool_call_state(tc);
        json_object *snippets = tool_call_arg(tc, "snippets");
        size_t n;
        int r;

        r = tool_file_call_args(tc, /* with_position= */ true);
        if (r <= 0)
                return r;

        n = json_object_array_length(snippets);
        s->texts = new0(char *, n + 1);
        s->snippets = new0(char *, n + 1);
        if (!s->texts || !s->snippets)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *text_error = NULL;
                const char *snippet = json_object_get_string(json_object_array_get_idx(snippets, i));

                r = lean_user_text_check(snippet, LEAN_USER_TEXT_TACTIC, &text_error);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        tool_call_reply_errorf(tc, "invalid_arguments", false, "arguments.snippets[%zu]: %s", i,
                                               strna(text_error));
                        return 0;
                }
                s->snippets[i] = strdup(snippet);
                s->texts[i] = lean_tactic_block(snippet);
                if (!s->snippets[i] || !s->texts[i])
                        return -ENOMEM;
        }

        /* Tactic runs leave the file and the project alone: the same call on
         * a fresh worker gives the same answer. */
        return tool_file_call_submit(tc);
}

const ToolDef tool_lean_multi_attempt = {
        .mcp = {
                .name = "lean_multi_attempt",
                .title = "Try several tactics at a position of a file",
                .description =
                        "Elaborate one .lean file of the project, as saved, then try each snippet in place of "
                        "the tactic at a position (the innermost tactic holding line:column; without column, "
                        "the outermost tactic starting on the line; else a sorry there), each on the goals "
                        "before that tactic, one after the other. Per attempt: proof_status, solved, the goals "
                        "left, messages, or the error. The tactics after the position are not run, and the "
                        "file is not changed. \"found\": false when no tactic or sorry is there (nothing "
                        "tried). " TOOL_FILE_POSITIONS_IN TOOL_FILE_POSITIONS_OUT,
                .args = multi_attempt_args,
                TOOL_ANNOTATIONS_RUNS_USER_LEAN,
        },
        .call = multi_attempt_call,
        .ops = {
                .start = multi_attempt_start,
                .step = multi_attempt_step,
                .done = tool_file_done,
                .free_state = multi_attempt_state_free,
        },
        .state_size = sizeof(MultiAttemptState),
};
