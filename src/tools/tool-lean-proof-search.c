/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_proof_search {project, statement (deprecated: goal), imports?, tactics?, time_budget_ms?}
 *
 * Tries a portfolio of tactics on the goal, one REPL command per tactic
 * (lean_query_proof_attempt(): `theorem _lh_search :\n<goal>\n:= by\n  <tactic>`,
 * each on the import env, so attempts never see each other), as one heavy
 * job (JOB_HEAVY: a heavy permit). The time budget is checked between
 * attempts: a running attempt is not interrupted (the request timeout still
 * bounds it), the rest are reported as untried.
 *
 * A proved attempt's proof is the first "Try this" suggestion Lean reported
 * (exact?, apply?, simp?: lean/try-this.h, both layouts), else the tactic.
 *
 * Result: {"goal", "proved", "proofs": [{"tactic", "proof", "suggestion"?}]
 * (verified: no error, no sorry; best first = shortest proof, then portfolio
 * order), "attempts": [{"tactic", "status": "proved"|"failed"|"repl_error",
 * "elapsed_ms", "errors"?: [first messages]}], "budget_ms", "elapsed_ms",
 * "budget_exhausted", "untried": [tactics]}. */

#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/strv.h"
#include "basic/time-util.h"
#include "lean/query-text.h"
#include "lean/try-this.h"
#include "tools/call-base.h"
#include "tools/tool-args.h"
#include "tools/tool-query.h"

#define PROOF_SEARCH_MAX_ERRORS 3U   /* error messages kept per failed attempt */
#define PROOF_SEARCH_MAX_ERROR_CHARS 2000

static const char * const default_portfolio[] = {
        "exact?", "apply?", "simp?", "omega", "decide", "aesop", "linarith", "norm_num",
};

static const McpToolArg proof_search_args[] = {
        TOOL_ARG_PROJECT,
        { .name = "statement", .type = MCP_ARG_STRING, .required = true, .limits = MCP_ARG_HAS_MIN, .min = 1,
          .description = "Proposition or theorem statement to prove. Required (the deprecated spelling "
                         "goal is accepted instead)." },
        { .name = "goal", .type = MCP_ARG_STRING, .limits = MCP_ARG_HAS_MIN, .min = 1, .alias_of = "statement",
          .description = "Deprecated alias of statement (as in lean_proof_attempt); give one of them." },
        TOOL_ARG_IMPORTS,
        { .name = "tactics", .type = MCP_ARG_STRINGS, .limits = MCP_ARG_HAS_MAX, .max = 64,
          .description = "Tactics to try, in order." },
        { .name = "time_budget_ms", .type = MCP_ARG_INTEGER, .limits = MCP_ARG_HAS_MIN | MCP_ARG_HAS_MAX,
          .min = 100, .max = 120000, .default_int = 10000,
          .description = "Total time for the search in milliseconds." },
        TOOL_ARG_END,
};

typedef struct SearchJob {
        char *goal;
        char **tactics;
        char **texts;          /* generated command per tactic */
        size_t n;
        size_t current;
        unsigned budget_ms;
        usec_t started;
        usec_t attempt_started;
        json_object *attempts;
        json_object *proofs;   /* unordered until finish */
} SearchJob;

static void search_state_free(void *state) {
        SearchJob *sj = state;

        free(sj->goal);
        strv_free(sj->tactics);
        strv_free(sj->texts);
        json_object_put(sj->attempts);
        json_object_put(sj->proofs);
}

static unsigned ms_since(usec_t t) {
        return (unsigned) ((now_usec(CLOCK_MONOTONIC) - t) / 1000);
}

static int search_send(ToolCall *tc, LhJob *job, SearchJob *sj, json_object **ret_command) {
        char *t = strdup(sj->texts[sj->current]);

        if (!t)
                return -ENOMEM;
        sj->attempt_started = now_usec(CLOCK_MONOTONIC);
        tool_call_progress(tc, "attempt %zu of %zu: %s", sj->current + 1, sj->n, sj->tactics[sj->current]);
        return tool_query_command(tc, t, ret_command);
}

static int proof_len_cmp(const void *a, const void *b) {
        json_object *x = *(json_object * const *) a, *y = *(json_object * const *) b;
        size_t lx = strlen(json_object_get_string(json_object_object_get(x, "proof")));
        size_t ly = strlen(json_object_get_string(json_object_object_get(y, "proof")));
        int ix = json_object_get_int(json_object_object_get(x, "order"));
        int iy = json_object_get_int(json_object_object_get(y, "order"));

        if (lx != ly)
                return lx < ly ? -1 : 1;
        return ix < iy ? -1 : ix > iy;
}

static int search_finish(ToolCall *tc, SearchJob *sj, bool exhausted) {
        _cleanup_(query_json_putp) json_object *res = json_object_new_object(), *proofs = json_object_new_array(),
                                               *untried = json_object_new_array();
        size_t n = json_object_array_length(sj->proofs);
        _cleanup_free_ json_object **sorted = new0(json_object *, n);

        if (!res || !proofs || !untried || !sorted)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                sorted[i] = json_object_array_get_idx(sj->proofs, i);
        qsort(sorted, n, sizeof *sorted, proof_len_cmp);
        for (size_t i = 0; i < n; i++) {
                json_object_object_del(sorted[i], "order");
                if (json_object_array_add(proofs, json_object_get(sorted[i])) < 0)
                        return -ENOMEM;
        }
        for (size_t i = exhausted ? sj->current : sj->n; i < sj->n; i++)
                if (json_append(untried, json_object_new_string(sj->tactics[i])) < 0)
                        return -ENOMEM;
        if (json_add(res, "goal", json_object_new_string(sj->goal)) < 0 ||
            json_add(res, "proved", json_object_new_boolean(n > 0)) < 0 ||
            json_add(res, "proofs", TAKE_PTR(proofs)) < 0 ||
            json_add(res, "attempts", json_object_get(sj->attempts)) < 0 ||
            json_add(res, "budget_ms", json_object_new_int64(sj->budget_ms)) < 0 ||
            json_add(res, "elapsed_ms", json_object_new_int64(ms_since(sj->started))) < 0 ||
            json_add(res, "budget_exhausted", json_object_new_boolean(exhausted)) < 0 ||
            json_add(res, "untried", TAKE_PTR(untried)) < 0)
                return -ENOMEM;
        tool_call_set_result(tc, TAKE_PTR(res));
        return 1;
}

static int search_start(ToolCall *tc, LhJob *job, json_object **ret_command) {
        SearchJob *sj = tool_call_state(tc);

        /* a retry on a fresh worker starts over, budget included */
        sj->current = 0;
        json_object_put(sj->attempts);
        json_object_put(sj->proofs);
        sj->attempts = json_object_new_array();
        sj->proofs = json_object_new_array();
        if (!sj->attempts || !sj->proofs)
                return -ENOMEM;
        sj->started = now_usec(CLOCK_MONOTONIC);
        return search_send(tc, job, sj, ret_command);
}

static int search_step(ToolCall *tc, LhJob *job, json_object *reply, json_object **ret_command) {
        _cleanup_(lean_reply_done) LeanReply lr = LEAN_REPLY_INIT;
        _cleanup_(query_json_putp) json_object *attempt = json_object_new_object();
        SearchJob *sj = tool_call_state(tc);
        const char *tactic = sj->tactics[sj->current], *status;
        int r;

        if (!attempt)
                return -ENOMEM;
        r = lean_reply_parse(reply, &lr, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || lr.repl_error)
                status = "repl_error";
        else if (lean_reply_has_errors(&lr) || lean_reply_has_sorry(&lr))
                status = "failed";
        else
                status = "proved";
        if (r >= 0 && lr.env >= 0)
                tc->env = lr.env;

        if (json_add(attempt, "tactic", json_object_new_string(tactic)) < 0 ||
            json_add(attempt, "status", json_object_new_string(status)) < 0 ||
            json_add(attempt, "elapsed_ms", json_object_new_int64(ms_since(sj->attempt_started))) < 0)
                return -ENOMEM;
        if (streq(status, "failed") || streq(status, "repl_error")) {
                json_object *errors = json_object_new_array();

                if (json_add(attempt, "errors", errors) < 0)
                        return -ENOMEM;
                if ((r < 0 || lr.repl_error) &&
                    json_append(errors, json_object_new_string(lr.repl_error ?: "reply of unexpected shape")) < 0)
                        return -ENOMEM;
                for (size_t i = 0; r >= 0 && i < lr.n_messages &&
                                   json_object_array_length(errors) < PROOF_SEARCH_MAX_ERRORS; i++)
                        if (lr.messages[i].severity == LEAN_SEVERITY_ERROR &&
                            json_append(errors, json_object_new_string_len(
                                        lr.messages[i].data,
                                        (int) strnlen(lr.messages[i].data, PROOF_SEARCH_MAX_ERROR_CHARS))) < 0)
                                return -ENOMEM;
                if (streq(status, "failed") && lean_reply_has_sorry(&lr) &&
                    json_append(errors, json_object_new_string("the proof uses sorry")) < 0)
                        return -ENOMEM;
        } else {
                /* exact?/apply?/simp? report the proof they found as a
                 * "Try this" suggestion (lean/try-this.h): keep that */
                _cleanup_free_ char *suggestion = NULL, *proof = NULL;
                json_object *p;

                r = lean_reply_first_suggestion(&lr, &suggestion);
                if (r < 0)
                        return r;
                proof = lean_suggestion_to_proof(suggestion ?: tactic);
                if (!proof)
                        return -ENOMEM;
                p = json_object_new_object();
                if (!p || json_object_array_add(sj->proofs, p) < 0) {
                        json_object_put(p);
                        return -ENOMEM;
                }
                if (json_add(p, "tactic", json_object_new_string(tactic)) < 0 ||
                    json_add(p, "proof", json_object_new_string(proof)) < 0 ||
                    (suggestion && json_add(p, "suggestion", json_object_new_string(suggestion)) < 0) ||
                    json_add(p, "order", json_object_new_int((int) sj->current)) < 0)
                        return -ENOMEM;
        }
        if (json_object_array_add(sj->attempts, attempt) < 0)
                return -ENOMEM;
        TAKE_PTR(attempt);

        sj->current++;
        if (sj->current >= sj->n)
                return search_finish(tc, sj, false);
        if (ms_since(sj->started) >= sj->budget_ms)
                return search_finish(tc, sj, true);
        return search_send(tc, job, sj, ret_command);
}

static int search_call(ToolCall *tc) {
        SearchJob *sj = tool_call_state(tc);
        _cleanup_strv_free_ char **imports = NULL;
        json_object *tactics;
        const char *goal;
        int r;

        /* statement or its deprecated spelling goal; types, lengths, ranges: the table's */
        goal = tool_call_arg_string(tc, "statement");
        sj->budget_ms = (unsigned) tool_call_arg_int(tc, "time_budget_ms");
        sj->goal = strdup(goal);
        if (!sj->goal)
                return -ENOMEM;

        tactics = tool_call_arg(tc, "tactics");
        for (size_t i = 0; tactics && i < json_object_array_length(tactics); i++)
                if (strv_extend(&sj->tactics, json_object_get_string(json_object_array_get_idx(tactics, i))) < 0)
                        return -ENOMEM;
        if (!sj->tactics)
                for (size_t i = 0; i < ELEMENTSOF(default_portfolio); i++)
                        if (strv_extend(&sj->tactics, default_portfolio[i]) < 0)
                                return -ENOMEM;
        sj->n = strv_length(sj->tactics);

        for (size_t i = 0; i < sj->n; i++) {
                const char *why = NULL;
                char *text = NULL;

                r = lean_query_proof_attempt(goal, sj->tactics[i], &text, &why);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        /* say whether the statement or this tactic is at fault */
                        bool goal_bad = lean_query_proof_attempt(goal, "rfl", &text, NULL) < 0;

                        free(text);
                        tool_call_reply_errorf(tc, "invalid_arguments", false, "%s%s%s %s",
                                               goal_bad ? "\"statement\"" : "tactic \"",
                                               goal_bad ? "" : sj->tactics[i], goal_bad ? "" : "\"", strna(why));
                        return 0;
                }
                if (strv_consume(&sj->texts, text) < 0)
                        return -ENOMEM;
        }

        r = tool_query_imports(tc, false, &imports);
        if (r != 0)
                return r < 0 ? r : 0;
        r = tool_call_check_readiness(tc);
        if (r != 0)
                return r < 0 ? r : 0;
        return tool_call_submit(tc, TAKE_PTR(imports), JOB_HEAVY | JOB_READ_ONLY);
}

const ToolDef tool_lean_proof_search = {
        .mcp = {
                .name = "lean_proof_search",
                .title = "Search for a proof",
                .description =
                        "Try to close a goal automatically with a list of tactics (or a built-in "
                        "default portfolio: exact?, apply?, simp?, omega, decide, aesop, linarith, norm_num) "
                        "within a time budget. Returns the verified proofs found (no error, no sorry), "
                        "best first, what each attempt did, and the tactics left untried when the budget ran out.",
                .args = proof_search_args,
                TOOL_ANNOTATIONS_RUNS_USER_LEAN,
        },
        .call = search_call,
        .ops = {
                .start = search_start,
                .step = search_step,
                .free_state = search_state_free,
        },
        .state_size = sizeof(SearchJob),
};
