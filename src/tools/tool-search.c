/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_proof_search {project, goal, imports?, tactics?, time_budget_ms?}
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
#include "tools/tool-query.h"

#define PROOF_SEARCH_DEFAULT_BUDGET_MS 10000U
#define PROOF_SEARCH_MIN_BUDGET_MS 100U
#define PROOF_SEARCH_MAX_BUDGET_MS 120000U
#define PROOF_SEARCH_MAX_ERRORS 3U   /* error messages kept per failed attempt */
#define PROOF_SEARCH_MAX_ERROR_CHARS 2000

static const char * const default_portfolio[] = {
        "exact?", "apply?", "simp?", "omega", "decide", "aesop", "linarith", "norm_num",
};

typedef struct SearchJob {
        ToolsContext *ctx;
        LeanReadiness readiness;
        char **imports;
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
        int env;
} SearchJob;

static void search_job_free(void *userdata) {
        SearchJob *sj = userdata;

        if (!sj)
                return;
        lean_readiness_done(&sj->readiness);
        strv_free(sj->imports);
        free(sj->goal);
        strv_free(sj->tactics);
        strv_free(sj->texts);
        json_object_put(sj->attempts);
        json_object_put(sj->proofs);
        free(sj);
}

static unsigned ms_since(usec_t t) {
        return (unsigned) ((now_usec(CLOCK_MONOTONIC) - t) / 1000);
}

static int search_send(LhJob *job, SearchJob *sj, json_object **ret_command) {
        char *t = strdup(sj->texts[sj->current]);

        if (!t)
                return -ENOMEM;
        sj->attempt_started = now_usec(CLOCK_MONOTONIC);
        return tool_query_command(job, t, ret_command);
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

static int search_finish(LhJob *job, SearchJob *sj, bool exhausted) {
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
                if (json_object_array_add(untried, json_object_new_string(sj->tactics[i])) < 0)
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
        job_set_result(job, TAKE_PTR(res));
        return 1;
}

static int search_start(LhJob *job, void *userdata, json_object **ret_command) {
        SearchJob *sj = userdata;

        /* a retry on a fresh worker starts over, budget included */
        sj->env = -1;
        sj->current = 0;
        json_object_put(sj->attempts);
        json_object_put(sj->proofs);
        sj->attempts = json_object_new_array();
        sj->proofs = json_object_new_array();
        if (!sj->attempts || !sj->proofs)
                return -ENOMEM;
        sj->started = now_usec(CLOCK_MONOTONIC);
        return search_send(job, sj, ret_command);
}

static int search_step(LhJob *job, void *userdata, json_object *reply, json_object **ret_command) {
        _cleanup_(lean_reply_done) LeanReply lr = LEAN_REPLY_INIT;
        _cleanup_(query_json_putp) json_object *attempt = json_object_new_object();
        SearchJob *sj = userdata;
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
                sj->env = lr.env;

        if (json_add(attempt, "tactic", json_object_new_string(tactic)) < 0 ||
            json_add(attempt, "status", json_object_new_string(status)) < 0 ||
            json_add(attempt, "elapsed_ms", json_object_new_int64(ms_since(sj->attempt_started))) < 0)
                return -ENOMEM;
        if (streq(status, "failed") || streq(status, "repl_error")) {
                json_object *errors = json_object_new_array();

                if (json_add(attempt, "errors", errors) < 0)
                        return -ENOMEM;
                if (r < 0 || lr.repl_error)
                        json_object_array_add(errors, json_object_new_string(lr.repl_error ?: "reply of unexpected shape"));
                for (size_t i = 0; r >= 0 && i < lr.n_messages &&
                                   json_object_array_length(errors) < PROOF_SEARCH_MAX_ERRORS; i++)
                        if (lr.messages[i].severity == LEAN_SEVERITY_ERROR &&
                            json_object_array_add(errors, json_object_new_string_len(
                                        lr.messages[i].data,
                                        (int) strnlen(lr.messages[i].data, PROOF_SEARCH_MAX_ERROR_CHARS))) < 0)
                                return -ENOMEM;
                if (streq(status, "failed") && lean_reply_has_sorry(&lr) &&
                    json_object_array_add(errors, json_object_new_string("the proof uses sorry")) < 0)
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
                return search_finish(job, sj, false);
        if (ms_since(sj->started) >= sj->budget_ms)
                return search_finish(job, sj, true);
        return search_send(job, sj, ret_command);
}

static void search_done(LhJob *job, void *userdata, json_object *result, const LhError *err, const LhFacts *facts) {
        SearchJob *sj = userdata;
        LhProject *p = job_get_project(job);
        json_object *freshness = NULL;

        if (p) {
                tools_note_job_end(sj->ctx, p, &sj->readiness.stamp, facts, err);
                freshness = tools_freshness(p, &sj->readiness, sj->imports, facts, sj->env);
        }
        tool_job_reply(job, result, err, facts, freshness);
}

static const JobOps search_ops = {
        .start = search_start,
        .step = search_step,
        .done = search_done,
        .free_userdata = search_job_free,
};

int tool_proof_search_handle(McpCall *call, void *userdata) {
        ToolsContext *ctx = userdata;
        json_object *args = mcp_call_get_arguments(call), *tactics;
        const char *goal;
        SearchJob *sj;
        LhProject *p;
        int r;

        r = tool_resolve_project(call, ctx->registry, &p);
        if (r != 0)
                return r < 0 ? r : 0;
        /* goal: the deprecated spelling of statement (the table's alias row) */
        goal = tool_arg_string(call, "statement") ?: tool_arg_string(call, "goal");
        if (isempty(goal)) {
                tool_reply_errorf(call, p, "invalid_arguments", false, "\"statement\" must be a non-empty proposition");
                return 0;
        }
        sj = new0(SearchJob, 1);
        if (!sj)
                return -ENOMEM;
        sj->ctx = ctx;
        sj->env = -1;
        sj->budget_ms = tool_query_uint(args, "time_budget_ms", PROOF_SEARCH_DEFAULT_BUDGET_MS,
                                        PROOF_SEARCH_MAX_BUDGET_MS);
        if (sj->budget_ms < PROOF_SEARCH_MIN_BUDGET_MS)
                sj->budget_ms = PROOF_SEARCH_MIN_BUDGET_MS;
        sj->goal = strdup(goal);
        if (!sj->goal)
                goto oom;

        if (json_object_object_get_ex(args, "tactics", &tactics) && json_object_is_type(tactics, json_type_array) &&
            json_object_array_length(tactics) > 0) {
                for (size_t i = 0; i < json_object_array_length(tactics); i++) {
                        json_object *t = json_object_array_get_idx(tactics, i);

                        if (!json_object_is_type(t, json_type_string) || isempty(json_object_get_string(t))) {
                                search_job_free(sj);
                                tool_reply_errorf(call, p, "invalid_arguments", false,
                                                  "\"tactics\"[%zu] must be a non-empty string", i);
                                return 0;
                        }
                        if (strv_extend(&sj->tactics, json_object_get_string(t)) < 0)
                                goto oom;
                }
        } else
                for (size_t i = 0; i < ELEMENTSOF(default_portfolio); i++)
                        if (strv_extend(&sj->tactics, default_portfolio[i]) < 0)
                                goto oom;
        sj->n = strv_length(sj->tactics);

        for (size_t i = 0; i < sj->n; i++) {
                const char *why = NULL;
                char *text = NULL;

                r = lean_query_proof_attempt(goal, sj->tactics[i], &text, &why);
                if (r == -ENOMEM)
                        goto oom;
                if (r < 0) {
                        /* say whether the goal or this tactic is at fault */
                        bool goal_bad = lean_query_proof_attempt(goal, "rfl", &text, NULL) < 0;

                        free(text);
                        tool_reply_errorf(call, p, "invalid_arguments", false, "%s%s%s %s", goal_bad ? "\"goal\"" : "tactic \"",
                                          goal_bad ? "" : sj->tactics[i], goal_bad ? "" : "\"", strna(why));
                        search_job_free(sj);
                        return 0;
                }
                if (strv_consume(&sj->texts, text) < 0)
                        goto oom;
        }

        r = tool_query_imports(call, p, false, &sj->imports);
        if (r != 0) {
                search_job_free(sj);
                return r < 0 ? r : 0;
        }
        r = tools_check_readiness(ctx, call, p, &sj->readiness);
        if (r != 0) {
                search_job_free(sj);
                return r < 0 ? r : 0;
        }
        r = tool_submit_job(call, p, sj->imports, JOB_HEAVY | JOB_READ_ONLY, &search_ops, sj);
        return r < 0 ? r : 0;
oom:
        search_job_free(sj);
        return -ENOMEM;
}
