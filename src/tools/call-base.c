/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The call base (call-base.h): one ToolCall per tools/call, one JobOps for
 * every tool's job, one done path (smoke/stamp accounting, freshness, the
 * reply), one free. */

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "lean/lean-reply.h"
#include "tools/call-base.h"
#include "worker/repl.h"

static ToolCall *tool_call_ref(ToolCall *tc) {
        tc->n_ref++;
        return tc;
}

static ToolCall *tool_call_unref(ToolCall *tc) {
        if (!tc || --tc->n_ref > 0)
                return NULL;
        if (tc->state && tc->def->ops.free_state)
                tc->def->ops.free_state(tc->state);
        free(tc->state);
        if (tc->have_readiness)
                lean_readiness_done(&tc->readiness);
        strv_free(tc->imports);
        json_object_put(tc->result);
        /* not answered (else released with the answer); the call may have
         * moved on to another holder: leave its wiring */
        if (tc->call)
                mcp_call_release(tc->call, tc);
        return mfree(tc);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(ToolCall *, tool_call_unref);

static void tool_call_reset_budget(ToolCall *tc) {
        const LhConfig *c = tc->project ? tc->project_view.config : NULL;

        tc->budget = LEAN_MESSAGE_BUDGET_INIT(c ? c->result_max_messages : 200,
                                              c ? c->result_max_message_bytes : 256 * 1024);
}

static const ToolDef *tool_call_find_def(ToolsContext *ctx, const char *name) {
        for (size_t i = 0; name && i < ctx->n_defs; i++)
                if (streq(ctx->defs[i]->name, name))
                        return (const ToolDef *) ctx->defs[i]; /* mcp is the first member */
        return NULL;
}

/* Registered when the call is opened: a job running now is cancelled, one
 * submitted later is cancelled as soon as it is queued. */
static void on_call_cancelled(McpCall *call, void *userdata) {
        ToolCall *tc = userdata;

        (void) call;
        tc->cancelled = true;
        if (tc->job)
                job_cancel(tc->job);
}

int tool_call_handle(McpCall *call, void *userdata) {
        _cleanup_(tool_call_unrefp) ToolCall *tc = NULL;
        ToolsContext *ctx = userdata;
        const ToolDef *def;
        int r;

        assert(call);
        assert(ctx);

        tc = new0(ToolCall, 1);
        if (!tc)
                return -ENOMEM;
        *tc = (ToolCall) {
                .n_ref = 1,
                .ctx = ctx,
                .env = -1,
                .base_env = -1,
        };
        /* one call for all of it: the reference, the cancel wiring and every
         * argument resolved through the table's spellings by the dispatcher */
        tc->call = mcp_call_open(call, on_call_cancelled, tc, &tc->view);
        tc->cancelled = tc->view.cancelled;
        tc->args = tc->view.args;
        def = tool_call_find_def(ctx, tc->view.tool);
        if (!def || !def->call)
                return -EOPNOTSUPP;
        tc->def = def;
        assert(!def->mcp.args || tc->args); /* the dispatcher resolved them by this table */
        if (def->state_size > 0) {
                tc->state = calloc(1, def->state_size);
                if (!tc->state)
                        return -ENOMEM;
        }
        if (!def->no_project) {
                /* resolved off the loop already, the usual case: taken as it is */
                tc->project = tools_preflight_project(ctx, call);
                r = tc->project ? 0 :
                        tool_resolve_project(call, tool_call_arg_string(tc, "project"), ctx->registry, &tc->project);
                if (r != 0)
                        return r < 0 ? r : 0;
                project_get_view(tc->project, &tc->project_view);
        }
        tool_call_reset_budget(tc);
        return def->call(tc);
}

/* ---- arguments ------------------------------------------------------------- */

/* The index of row name (the table is data: no call into mcp to walk it). */
static size_t tool_call_row_index(ToolCall *tc, const char *name) {
        const McpToolArg *args = tc->def->mcp.args;

        for (size_t i = 0; args && args[i].name; i++)
                if (streq(args[i].name, name))
                        return i;
        abort(); /* a name not in the table is the tool's bug */
}

/* The row whose default applies: an alias row's is its row's. */
static const McpToolArg *tool_call_row(ToolCall *tc, const char *name) {
        const McpToolArg *a = &tc->def->mcp.args[tool_call_row_index(tc, name)];

        return a->alias_of ? tool_call_row(tc, a->alias_of) : a;
}

json_object *tool_call_arg(ToolCall *tc, const char *name) {
        return tc->args[tool_call_row_index(tc, name)];
}

const char *tool_call_arg_string(ToolCall *tc, const char *name) {
        json_object *v = tool_call_arg(tc, name);

        return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int64_t tool_call_arg_int(ToolCall *tc, const char *name) {
        json_object *v = tool_call_arg(tc, name);

        /* the schema allowed only integers within the row's limits */
        return v ? json_object_get_int64(v) : tool_call_row(tc, name)->default_int;
}

bool tool_call_arg_bool(ToolCall *tc, const char *name) {
        json_object *v = tool_call_arg(tc, name);

        return v ? json_object_get_boolean(v) : tool_call_row(tc, name)->default_int != 0;
}

/* ---- readiness, the job ---------------------------------------------------- */

int tool_call_check_readiness(ToolCall *tc) {
        int r;

        assert(tc->project);
        assert(!tc->have_readiness);
        r = tools_check_readiness(tc->ctx, tc->call, tc->project, &tc->project_view, &tc->readiness);
        tc->have_readiness = r == 0;
        return r;
}

/* The actor's stages of the job, as the call's progress. */
static void on_job_progress(LhJob *job, const char *message, void *userdata) {
        ToolCall *tc = userdata;

        if (tc->call)
                mcp_call_report_progress(tc->call, message);
}

void tool_call_set_result(ToolCall *tc, json_object *result) {
        json_object_put(tc->result);
        tc->result = result;
}

/* 1 (done): *ret_command is the result the tool set, for the project's job. */
static int call_job_finished(ToolCall *tc, int r, json_object **ret_command) {
        if (r == 1)
                *ret_command = TAKE_PTR(tc->result);
        else
                tool_call_set_result(tc, NULL); /* a command goes on, or the job failed */
        return r;
}

static int call_job_start(LhJob *job, void *userdata, int base_env, json_object **ret_command) {
        ToolCall *tc = userdata;

        tool_call_reset_budget(tc); /* a retry on a fresh worker starts over */
        tc->env = -1;
        tc->base_env = base_env;
        return call_job_finished(tc, tc->def->ops.start(tc, job, ret_command), ret_command);
}

static int call_job_step(LhJob *job, void *userdata, json_object *reply, json_object **ret_command) {
        ToolCall *tc = userdata;
        json_object *dropped = NULL;

        if (!tc->def->ops.step) {
                log_debug("Tool %s has no step() and got a reply; finishing its job.", tc->def->mcp.name);
                return 1;
        }
        /* Bounded before the tool looks at it: what is dropped costs no more
         * parsing, and a result never carries more than the budget. */
        if (lean_reply_bound_messages(reply, &tc->budget, &dropped) < 0)
                return -ENOMEM;
        if (dropped) /* the usual reply is within the budget */
                repl_release_in_slices(tc->ctx->event, dropped);
        return call_job_finished(tc, tc->def->ops.step(tc, job, reply, ret_command), ret_command);
}

static void call_job_done(LhJob *job, void *userdata, json_object *result, const LhError *err, const LhFacts *facts) {
        /* the job's reference: done() is the job's last word to us (JobOps) */
        _cleanup_(tool_call_unrefp) ToolCall *tc = userdata;

        tc->job = NULL; /* no cancel after done */
        if (tc->have_readiness)
                tools_note_job_end(tc->ctx, tc->project, &tc->readiness.stamp, facts, err);
        if (tc->def->ops.done && tc->def->ops.done(tc, job, result, err, facts) != 0)
                return;
        tool_call_reply(tc, json_object_get(result), err, facts);
}

static const JobOps call_job_ops = {
        .start = call_job_start,
        .step = call_job_step,
        .done = call_job_done,
};

int tool_call_submit(ToolCall *tc, char **imports, JobFlags flags) {
        return tool_call_submit_on(tc, imports, flags, 0);
}

int tool_call_submit_on(ToolCall *tc, char **imports, JobFlags flags, uint64_t want_generation) {
        LhError err = { .restart_cause = _RESTART_CAUSE_INVALID };
        int r;

        assert(tc->project);
        assert(tc->def->ops.start);

        strv_free(tc->imports);
        json_object_put(tc->result);
        tc->imports = imports;
        /* one call: the job (holding a reference on tc until its done()) and its queueing */
        r = project_submit_new(tc->project, &(JobSpec) {
                        .imports = tc->imports,
                        .flags = flags,
                        .ops = &call_job_ops,
                        .userdata = tool_call_ref(tc),
                        .want_generation = want_generation,
                        .progress = tc->view.wants_progress ? on_job_progress : NULL,
                        .progress_userdata = tc,
                }, &err, &tc->job);
        if (r < 0)
                tool_call_unref(tc); /* the job's reference: no job, no done() */
        if (r == -ENOMEM && !err.code)
                return r; /* nothing answered */
        if (r < 0) {
                /* refused now (mailbox_full, worker_unavailable, shutting_down): answer here */
                tc->job = NULL;
                if (!err.code)
                        lh_error_set(&err, "internal_error", true, "cannot queue the job: %s", strerror(-r));
                tool_reply_error(tc->call, tc->project, &err, NULL);
                lh_error_done(&err);
                return 0;
        }
        /* cancelled before it was queued (the connection went during the preflight) */
        if (tc->cancelled && tc->job)
                job_cancel(tc->job);
        return 0;
}

void tool_call_progress(ToolCall *tc, const char *format, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;
        int r;

        assert(tc);

        if (!tc->view.wants_progress || !tc->call)
                return;
        va_start(ap, format);
        r = vasprintf(&m, format, ap);
        va_end(ap);
        if (r < 0)
                return; /* only a progress message lost */
        mcp_call_report_progress(tc->call, m);
}

/* ---- the reply ------------------------------------------------------------- */

void tool_call_reply(ToolCall *tc, json_object *result, const LhError *err, const LhFacts *facts) {
        json_object *freshness = NULL, *body;
        LhFacts snapshot;

        if (!tc->call) {
                log_debug("Tool %s answered twice, ignoring the second answer.", tc->def->mcp.name);
                json_object_put(result);
                return;
        }
        /* no job's facts: the project's now, for the runtime and the freshness alike */
        if (!facts && tc->project) {
                project_get_facts(tc->project, &snapshot);
                facts = &snapshot;
        }
        if (tc->project && tc->have_readiness)
                freshness = tools_freshness(tc->project_view.root, &tc->readiness, tc->imports, facts, tc->env);
        /* the project as the call read it once (no second look-up for the envelope) */
        body = tool_envelope_of(tc->project, tc->project ? &tc->project_view : NULL, result, err, facts, freshness);
        if (body && tool_envelope_add_budget(body, &tc->budget) < 0) {
                json_object_put(body);
                body = NULL;
        }
        /* the answer is the last thing the base does with the call: released with it */
        tool_answer(TAKE_PTR(tc->call), tc, body, err != NULL);
        tc->args = NULL; /* borrowed from the call */
}

void tool_call_reply_errorf(ToolCall *tc, const char *code, bool retryable, const char *format, ...) {
        LhError err;
        va_list ap;

        va_start(ap, format);
        lh_error_setv(&err, code, retryable, format, ap);
        va_end(ap);
        tool_call_reply(tc, NULL, &err, NULL);
        lh_error_done(&err);
}
