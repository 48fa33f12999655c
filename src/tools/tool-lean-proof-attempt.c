/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_proof_attempt, two modes:
 *
 * statement mode {project, imports?, statement, proof?}: runs
 *     theorem _lean_host_attempt :\n<statement>\n  :=\n<proof | by sorry>
 * (lean/proof-text.h) on the import env. Result: {"mode": "statement",
 * "success" (no errors, no sorry), "source" (the text run: message
 * positions refer to it), "messages", "sorries", "goals" (from sorries and
 * "unsolved goals" errors), "proof_states" (ids to continue from: one per
 * sorry), "has_errors", "has_sorry", "env", "worker_generation"}.
 * Read-only: it always starts from the import env.
 *
 * tactic mode {project, imports?, proof_state, tactic, worker_generation?}:
 * REPL {"tactic", "proofState"}; a multi-line script goes as one
 * parenthesised block (lean_tactic_block(): the REPL parses one tactic). Result: {"mode": "tactic", "success"
 * (proofStatus Completed, no errors, no sorry), "proof_status", "goals",
 * "proof_state" (the new state), "messages", "sorries", "tactic_error"? (a
 * failing tactic: the REPL's "Lean error:" text), "worker_generation"}.
 * Proof state ids live in one worker process: the job is not read-only (no
 * silent retry on a new worker), and when the worker that should hold the
 * state is gone (restarted, recycled, stopped, or worker_generation does
 * not match) or the REPL does not know the id, the call fails with
 * proof_state_lost (retryable false: start again from the statement).
 * imports default to the live worker's current import profile so the
 * tactic does not cause an import switch (which may recycle the worker). */

#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "lean/lean-reply.h"
#include "lean/proof-text.h"
#include "tools/call-base.h"
#include "tools/tool-args.h"
#include "tools/tool-proof-common.h"

static const McpToolArg attempt_args[] = {
        TOOL_ARG_PROJECT,
        TOOL_ARG_IMPORTS,
        { .name = "statement", .type = MCP_ARG_STRING, .limits = MCP_ARG_HAS_MIN, .min = 1,
          .description = "The proposition to prove, e.g. \"\u2200 n : Nat, n + 0 = n\" (binders as \u2200; no "
                         "`theorem name :` prefix, no commands or imports)." },
        { .name = "proof", .type = MCP_ARG_STRING,
          .description = "Complete proof for statement: a term, or a tactic block starting with `by`. Without it "
                         "the result gives the proof state of `by sorry` to continue from." },
        { .name = "proof_state", .type = MCP_ARG_INTEGER, .limits = MCP_ARG_HAS_MIN, .min = 0,
          .description = "Proof state id from an earlier result." },
        { .name = "tactic", .type = MCP_ARG_STRING, .limits = MCP_ARG_HAS_MIN, .min = 1,
          .description = "Tactic to run on proof_state." },
        { .name = "worker_generation", .type = MCP_ARG_INTEGER, .limits = MCP_ARG_HAS_MIN, .min = 1,
          .description = "The worker_generation of the result that gave proof_state (required when the "
                         "project has several workers): the call fails with proof_state_lost when that "
                         "worker is gone." },
        TOOL_ARG_END,
};

typedef struct AttemptState {
        bool tactic_mode;
        char *text;              /* statement mode: the command; tactic mode: the tactic */
        int64_t proof_state;     /* tactic mode */
        uint64_t want_generation;/* tactic mode: the worker that holds proof_state */
        uint64_t generation;     /* the worker the job ran on */
} AttemptState;

static void attempt_state_free(void *state) {
        AttemptState *aj = state;

        free(aj->text);
}

static int set_error(LhJob *job, const char *code, const char *prefix, const char *arg, const char *suffix) {
        LhError err;

        lh_error_set(&err, code, false, "%s%s%s", prefix, strna(arg), suffix);
        job_set_error(job, &err);
        lh_error_done(&err);
        return -EPROTO;
}

static int attempt_start(ToolCall *tc, LhJob *job, json_object **ret_command) {
        AttemptState *aj = tool_call_state(tc);
        LhFacts facts;
        json_object *cmd;
        int base = tc->base_env;

        /* the worker this job runs on (a project may have a pool of them) */
        project_get_facts(job_get_project(job), &facts);
        facts.worker_generation = job_get_worker_generation(job);
        aj->generation = facts.worker_generation;

        if (aj->tactic_mode && facts.worker_generation != aj->want_generation) {
                LhError err;

                lh_error_set(&err, "proof_state_lost", false,
                             "proof state %" PRIi64 " is gone: it belonged to worker generation %" PRIu64
                             ", the worker is now generation %" PRIu64 " (restarted or recycled); "
                             "start again from the statement",
                             aj->proof_state, aj->want_generation, facts.worker_generation);
                job_set_error(job, &err);
                lh_error_done(&err);
                return -ESTALE;
        }

        cmd = json_object_new_object();
        if (!cmd)
                return -ENOMEM;
        if (aj->tactic_mode) {
                if (json_add(cmd, "tactic", json_object_new_string(aj->text)) < 0 ||
                    json_add(cmd, "proofState", json_object_new_int64(aj->proof_state)) < 0)
                        goto oom;
        } else if (json_add(cmd, "cmd", json_object_new_string(aj->text)) < 0 ||
                   (base >= 0 && json_add(cmd, "env", json_object_new_int(base)) < 0))
                goto oom;
        *ret_command = cmd;
        return 0;
oom:
        json_object_put(cmd);
        return -ENOMEM;
}

static int add_goals_and_states(json_object *result, const LeanReply *lr) {
        _cleanup_strv_free_ char **goals = NULL;
        json_object *states, *g;
        int r;

        states = json_object_new_array();
        if (!states || json_object_object_add(result, "proof_states", states) < 0) {
                json_object_put(states);
                return -ENOMEM;
        }
        for (size_t i = 0; i < lr->n_sorries; i++) {
                if (!isempty(lr->sorries[i].goal)) {
                        r = strv_extend(&goals, lr->sorries[i].goal);
                        if (r < 0)
                                return r;
                }
                if (lr->sorries[i].proof_state >= 0 &&
                    json_append(states, json_object_new_int(lr->sorries[i].proof_state)) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < lr->n_messages; i++) {
                if (lr->messages[i].severity != LEAN_SEVERITY_ERROR)
                        continue;
                r = lean_unsolved_goals_extract(lr->messages[i].data, &goals);
                if (r < 0)
                        return r;
        }
        g = tool_json_strv(goals);
        if (!g || json_object_object_add(result, "goals", g) < 0) {
                json_object_put(g);
                return -ENOMEM;
        }
        return 0;
}

static int attempt_step(ToolCall *tc, LhJob *job, json_object *reply, json_object **ret_command) {
        _cleanup_free_ char *shape_error = NULL;
        _cleanup_(lean_reply_done) LeanReply lr = LEAN_REPLY_INIT;
        AttemptState *aj = tool_call_state(tc);
        json_object *result = NULL;
        bool success;
        int r;

        (void) ret_command;
        r = lean_reply_parse(reply, &lr, &shape_error);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return set_error(job, "lean_repl_error", "the Lean REPL sent a reply of unexpected shape: ",
                                 shape_error, "");

        if (lr.repl_error && !(aj->tactic_mode && lr.lean_error)) {
                if (aj->tactic_mode && strstr(lr.repl_error, "Unknown proof state"))
                        return set_error(job, "proof_state_lost",
                                         "the worker does not know this proof state (", lr.repl_error,
                                         "); start again from the statement");
                return set_error(job, "lean_repl_error", "the Lean REPL refused the command: ", lr.repl_error, "");
        }

        if (aj->tactic_mode && lr.repl_error) {
                /* the tactic itself failed: a Lean outcome, not a tool error */
                result = json_object_new_object();
                if (!result ||
                    json_add(result, "messages", json_object_new_array()) < 0 ||
                    json_add(result, "sorries", json_object_new_array()) < 0 ||
                    json_add(result, "goals", json_object_new_array()) < 0 ||
                    json_add(result, "tactic_error", json_object_new_string(lr.lean_error)) < 0 ||
                    json_add(result, "has_errors", json_object_new_boolean(true)) < 0)
                        goto oom;
                success = false;
        } else {
                result = lean_reply_to_json(&lr);
                if (!result)
                        return -ENOMEM;
                if (aj->tactic_mode) {
                        if (!json_object_object_get_ex(result, "goals", NULL) &&
                            json_add(result, "goals", json_object_new_array()) < 0)
                                goto oom;
                        success = lean_reply_proof_completed(&lr) && !lean_reply_has_errors(&lr) &&
                                !lean_reply_has_sorry(&lr);
                } else {
                        if (add_goals_and_states(result, &lr) < 0)
                                goto oom;
                        if (json_add(result, "source", json_object_new_string(aj->text)) < 0)
                                goto oom;
                        success = !lean_reply_has_errors(&lr) && !lean_reply_has_sorry(&lr);
                        tc->env = lr.env;
                }
        }
        if (json_add(result, "mode", json_object_new_string(aj->tactic_mode ? "tactic" : "statement")) < 0 ||
            json_add(result, "success", json_object_new_boolean(success)) < 0 ||
            json_add(result, "worker_generation", json_object_new_int64((int64_t) aj->generation)) < 0)
                goto oom;
        tool_call_set_result(tc, result);
        return 1;
oom:
        json_object_put(result);
        return -ENOMEM;
}

static int attempt_done(ToolCall *tc, LhJob *job, json_object *result, const LhError *err, const LhFacts *facts) {
        AttemptState *aj = tool_call_state(tc);
        LhError lost;

        if (!err || !aj->tactic_mode || !facts || !facts->worker_restarted || streq(err->code, "proof_state_lost"))
                return 0;
        /* the worker died under the tactic: its proof states died with it */
        lh_error_set(&lost, "proof_state_lost", false,
                     "the worker restarted while running the tactic, proof state %" PRIi64 " is gone: %s",
                     aj->proof_state, err->message);
        tool_call_reply(tc, NULL, &lost, facts);
        lh_error_done(&lost);
        return 1;
}

static int attempt_call(ToolCall *tc) {
        AttemptState *aj = tool_call_state(tc);
        _cleanup_strv_free_ char **imports = NULL;
        _cleanup_free_ char *text_error = NULL;
        const char *statement, *proof, *tactic;
        json_object *state;
        LhProject *p = tc->project;
        LhWorkerFacts worker;
        size_t n_live;
        int r;

        /* types and ranges: the table's; the combinations: here */
        statement = tool_call_arg_string(tc, "statement");
        proof = tool_call_arg_string(tc, "proof");
        tactic = tool_call_arg_string(tc, "tactic");
        state = tool_call_arg(tc, "proof_state");
        if (!!statement == !!state) {
                tool_call_reply_errorf(tc, "invalid_arguments", false,
                                       "give either \"statement\" (with an optional \"proof\") or \"proof_state\" "
                                       "with \"tactic\"");
                return 0;
        }
        if (statement ? !!tactic : (!tactic || proof)) {
                tool_call_reply_errorf(tc, "invalid_arguments", false,
                                       statement ? "\"tactic\" goes with \"proof_state\", not with \"statement\"" :
                                                   "\"proof_state\" needs a \"tactic\" (and no \"proof\")");
                return 0;
        }
        aj->tactic_mode = !!state;

        r = tool_parse_imports(tc->call, p, tc->view.arguments, "\"imports\"", &imports);
        if (r != 0)
                return r < 0 ? r : 0;

        if (statement) {
                r = lean_user_text_check(statement, LEAN_USER_TEXT_STATEMENT, &text_error);
                if (r >= 0 && proof)
                        r = lean_user_text_check(proof, LEAN_USER_TEXT_PROOF, &text_error);
                if (r == -EINVAL) {
                        tool_call_reply_errorf(tc, "invalid_arguments", false, "%s", strna(text_error));
                        return 0;
                }
                if (r < 0)
                        return r;
                aj->text = lean_attempt_command(statement, proof, NULL);
                if (!aj->text)
                        return -ENOMEM;
        } else {
                aj->proof_state = json_object_get_int64(state);
                r = lean_user_text_check(tactic, LEAN_USER_TEXT_TACTIC, &text_error);
                if (r == -EINVAL) {
                        tool_call_reply_errorf(tc, "invalid_arguments", false, "%s", strna(text_error));
                        return 0;
                }
                if (r < 0)
                        return r;
                aj->text = lean_tactic_block(tactic);
                if (!aj->text)
                        return -ENOMEM;

                n_live = project_get_workers(p, &worker, 1);
                if (tool_call_arg(tc, "worker_generation"))
                        aj->want_generation = (uint64_t) tool_call_arg_int(tc, "worker_generation");
                else if (n_live > 1) {
                        /* proof states are numbered per worker: with a pool, guessing one
                         * would run the tactic on another worker's state */
                        tool_call_reply_errorf(tc, "invalid_arguments", false,
                                               "worker_generation is required: the project has %zu workers and "
                                               "proof state %" PRIi64 " belongs to one of them; pass the "
                                               "worker_generation of the result that gave it",
                                               n_live, aj->proof_state);
                        return 0;
                } else
                        aj->want_generation = n_live == 1 ? worker.generation : 0;
                if (!project_get_worker(p, aj->want_generation, &worker)) {
                        tool_call_reply_errorf(tc, "proof_state_lost", false,
                                               "proof state %" PRIi64 " is gone: %s; start again from the statement",
                                               aj->proof_state,
                                               n_live == 0 ? "the project has no live worker" :
                                                             "the worker restarted since it was created");
                        return 0;
                }
                if (!imports && !isempty(worker.import_profile)) {
                        /* stay on that worker's profile ("A,B"): no import switch */
                        char profile[sizeof worker.import_profile];

                        memcpy(profile, worker.import_profile, sizeof profile);
                        for (char *c = profile; *c; c++)
                                if (*c == ',')
                                        *c = ' ';
                        r = strv_split_words(profile, &imports);
                        if (r < 0)
                                return r;
                }
        }

        r = tool_call_check_readiness(tc);
        if (r != 0)
                return r < 0 ? r : 0;
        return tool_call_submit_on(tc, TAKE_PTR(imports), aj->tactic_mode ? 0 : JOB_READ_ONLY,
                                   aj->tactic_mode ? aj->want_generation : 0);
}

const ToolDef tool_lean_proof_attempt = {
        .mcp = {
                .name = "lean_proof_attempt",
                .title = "Attempt a proof",
                .description =
                        "Work on a proof interactively. Either give a statement (and optionally a whole "
                        "proof) to start, or continue from a proof_state returned earlier by running one "
                        "tactic. Returns the remaining goals and new proof state ids. Proof states belong "
                        "to the current worker and are invalid after it restarts.",
                .args = attempt_args,
                TOOL_ANNOTATIONS_RUNS_USER_LEAN,
        },
        .call = attempt_call,
        .ops = {
                .start = attempt_start,
                .step = attempt_step,
                .done = attempt_done,
                .free_state = attempt_state_free,
        },
        .state_size = sizeof(AttemptState),
};
