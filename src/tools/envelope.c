/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The tool result envelope, and the glue between an McpCall and a project
 * job: the job's userdata is wrapped so the call travels with it, the
 * call's cancellation is wired to job_cancel(), and refusals are answered
 * here, so every tool handler answers exactly once. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-event.h>

#include "basic/log.h"
#include "basic/json-util.h"
#include "lean/lean-reply.h"
#include "tools/envelope.h"
#include "worker/repl.h"

typedef struct ToolJob {
        McpCall *call;
        LhProject *project;
        LhJob *job;            /* weak: cleared in done() */
        const JobOps *inner;
        void *inner_userdata;
        LeanMessageBudget budget; /* over every reply of the job */
} ToolJob;

static json_object *project_to_json(LhProject *p) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (json_add(o, "root", json_object_new_string(project_get_root(p))) < 0 ||
            json_add(o, "id", json_object_new_string(project_get_id(p))) < 0)
                return json_object_put(o), NULL;
        return o;
}

/* Common tail of both envelopes: runtime facts, freshness, project. */
static int envelope_add_context(json_object *o, LhProject *project, const LhFacts *facts, json_object *freshness) {
        LhFacts snapshot;

        if (!facts && project) {
                project_get_facts(project, &snapshot);
                facts = &snapshot;
        }
        if (facts && json_add(o, "runtime", facts_to_json(facts)) < 0)
                goto fail;
        if (freshness && json_add(o, "freshness", TAKE_PTR(freshness)) < 0)
                goto fail;
        if (project && json_add(o, "project", project_to_json(project)) < 0)
                return -ENOMEM;
        return 0;
fail:
        json_object_put(freshness);
        return -ENOMEM;
}

json_object *tool_envelope_result(LhProject *project, json_object *result, const LhFacts *facts,
                                  json_object *freshness) {
        json_object *o = json_object_new_object();

        if (!o || json_add(o, "result", result ?: json_object_new_object()) < 0) {
                json_object_put(freshness);
                json_object_put(o);
                return NULL;
        }
        if (envelope_add_context(o, project, facts, freshness) < 0)
                return json_object_put(o), NULL;
        return o;
}

json_object *tool_envelope_error(LhProject *project, const LhError *err, const LhFacts *facts,
                                 json_object *freshness) {
        json_object *o = json_object_new_object();

        if (!o || json_add(o, "error", lh_error_to_json(err)) < 0) {
                json_object_put(freshness);
                json_object_put(o);
                return NULL;
        }
        if (envelope_add_context(o, project, facts, freshness) < 0)
                return json_object_put(o), NULL;
        return o;
}

/* Last resort when building the envelope itself failed: still one answer. */
static json_object *envelope_oom(void) {
        return json_tokener_parse("{\"error\":{\"code\":\"internal_error\",\"retryable\":true,"
                                  "\"message\":\"out of memory building the tool result\"}}");
}

void tool_reply_error(McpCall *call, LhProject *project, const LhError *err, const LhFacts *facts) {
        json_object *body = tool_envelope_error(project, err, facts, NULL);

        mcp_call_reply(call, body ?: envelope_oom(), true);
}

void tool_reply_errorf(McpCall *call, LhProject *project, const char *code, bool retryable,
                       const char *format, ...) {
        LhError err;
        va_list ap;

        lh_error_set(&err, code, retryable, NULL);
        va_start(ap, format);
        vsnprintf(err.message, sizeof err.message, format, ap);
        va_end(ap);
        tool_reply_error(call, project, &err, NULL);
        lh_error_done(&err);
}

const char *tool_arg_string(McpCall *call, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(mcp_call_get_arguments(call), key, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

int tool_resolve_project(McpCall *call, LhRegistry *registry, LhProject **ret) {
        const char *path = tool_arg_string(call, "project");
        LhError err = { .restart_cause = _RESTART_CAUSE_INVALID };
        int r;

        if (isempty(path)) {
                tool_reply_errorf(call, NULL, "invalid_arguments", false,
                                  "\"project\" must be the path of a Lake project root or of a file inside it");
                return 1;
        }
        r = registry_resolve(registry, path, ret, &err);
        if (r < 0) {
                if (!err.code)
                        lh_error_set(&err, r == -ENOMEM ? "internal_error" : "project_not_found", r == -ENOMEM,
                                     "cannot open project %s: %s", path, strerror(-r));
                tool_reply_error(call, NULL, &err, NULL);
                lh_error_done(&err);
                return 1;
        }
        return 0;
}

/* ---- jobs ------------------------------------------------------------------ */

static void on_call_cancelled(McpCall *call, void *userdata) {
        ToolJob *tj = userdata;

        (void) call;
        if (tj->job)
                job_cancel(tj->job);
}

/* The actor's stages of the job, as the call's progress. */
static void on_job_progress(LhJob *job, const char *message, void *userdata) {
        ToolJob *tj = userdata;

        mcp_call_report_progress(tj->call, message);
}

static void tool_job_reset_budget(ToolJob *tj) {
        const LhConfig *c = project_get_config(tj->project);

        tj->budget = LEAN_MESSAGE_BUDGET_INIT(c ? c->result_max_messages : 200,
                                              c ? c->result_max_message_bytes : 256 * 1024);
}

static int tool_job_start(LhJob *job, void *userdata, json_object **ret_command) {
        ToolJob *tj = userdata;

        tool_job_reset_budget(tj); /* a retry on a fresh worker starts over */
        return tj->inner->start(job, tj->inner_userdata, ret_command);
}

static int tool_job_step(LhJob *job, void *userdata, json_object *reply, json_object **ret_command) {
        ToolJob *tj = userdata;

        if (!tj->inner->step) {
                log_debug("Tool job without step() got a reply; finishing it.");
                return 1;
        }
        /* Bounded before any tool looks at it: what is dropped costs no more
         * parsing, and a result never carries more than the budget. */
        json_object *dropped = NULL;
        if (lean_reply_bound_messages(reply, &tj->budget, &dropped) < 0)
                return -ENOMEM;
        repl_release_in_slices(dropped);
        return tj->inner->step(job, tj->inner_userdata, reply, ret_command);
}

static void tool_job_done(LhJob *job, void *userdata, json_object *result, const LhError *err, const LhFacts *facts) {
        ToolJob *tj = userdata;

        tj->job = NULL; /* no cancel after done */
        tj->inner->done(job, tj->inner_userdata, result, err, facts);
}

static void tool_job_free(void *userdata) {
        ToolJob *tj = userdata;

        if (!tj)
                return;
        if (tj->inner->free_userdata)
                tj->inner->free_userdata(tj->inner_userdata);
        /* the call may have moved on to another job (a retry): leave its wiring */
        if (mcp_call_get_cancel_userdata(tj->call) == tj)
                mcp_call_set_cancel(tj->call, NULL, NULL);
        mcp_call_unref(tj->call);
        free(tj);
}

static const JobOps tool_job_ops = {
        .start = tool_job_start,
        .step = tool_job_step,
        .done = tool_job_done,
        .free_userdata = tool_job_free,
};

int tool_submit_job(McpCall *call, LhProject *project, char **imports, JobFlags flags,
                    const JobOps *ops, void *userdata) {
        return tool_submit_job_on(call, project, imports, flags, 0, ops, userdata);
}

int tool_submit_job_on(McpCall *call, LhProject *project, char **imports, JobFlags flags, uint64_t want_generation,
                       const JobOps *ops, void *userdata) {
        _cleanup_(job_unrefp) LhJob *job = NULL;
        LhError err = { .restart_cause = _RESTART_CAUSE_INVALID };
        ToolJob *tj;
        int r;

        if (!call || !project || !ops || !ops->start || !ops->done) {
                if (ops && ops->free_userdata)
                        ops->free_userdata(userdata);
                return -EINVAL;
        }

        tj = new0(ToolJob, 1);
        if (!tj) {
                if (ops->free_userdata)
                        ops->free_userdata(userdata);
                return -ENOMEM;
        }
        *tj = (ToolJob) {
                .call = mcp_call_ref(call),
                .project = project,
                .inner = ops,
                .inner_userdata = userdata,
        };
        tool_job_reset_budget(tj);

        r = job_new(&job, imports, flags, &tool_job_ops, tj);
        if (r < 0) {
                tool_job_free(tj);
                return r;
        }
        tj->job = job;
        if (want_generation > 0)
                job_set_want_generation(job, want_generation);
        if (mcp_call_wants_progress(call))
                job_set_progress(job, on_job_progress, tj);

        r = project_submit(project, job, &err);
        if (r < 0) {
                /* refused now (mailbox_full, worker_unavailable, shutting_down): answer here */
                if (!err.code)
                        lh_error_set(&err, "internal_error", true, "cannot queue the job: %s", strerror(-r));
                tj->job = NULL;
                tool_reply_error(call, project, &err, NULL);
                lh_error_done(&err);
                return 1;
        }

        mcp_call_set_cancel(call, on_call_cancelled, tj);
        /* Cancelled before we could listen (connection gone already). */
        if (mcp_call_is_cancelled(call) && tj->job)
                job_cancel(tj->job);
        return 0;
}

static ToolJob *tool_job_of(LhJob *job) {
        const JobOps *ops = job_get_ops(job);

        return ops == &tool_job_ops ? job_get_userdata(job) : NULL;
}

McpCall *tool_job_get_call(LhJob *job) {
        ToolJob *tj = tool_job_of(job);

        return tj ? tj->call : NULL;
}

void tool_job_progress(LhJob *job, const char *format, ...) {
        ToolJob *tj = tool_job_of(job);
        _cleanup_free_ char *m = NULL;
        va_list ap;
        int r;

        if (!tj || !mcp_call_wants_progress(tj->call))
                return;
        va_start(ap, format);
        r = vasprintf(&m, format, ap);
        va_end(ap);
        if (r < 0)
                return; /* only a progress message lost */
        mcp_call_report_progress(tj->call, m);
}

void tool_job_reply(LhJob *job, json_object *result, const LhError *err, const LhFacts *facts,
                    json_object *freshness) {
        ToolJob *tj = tool_job_of(job);
        json_object *body;

        if (!tj) {
                json_object_put(freshness);
                return;
        }
        if (err)
                body = tool_envelope_error(tj->project, err, facts, freshness);
        else
                body = tool_envelope_result(tj->project, json_object_get(result), facts, freshness);
        if (body && tj->budget.truncated &&
            (json_add(body, "truncated", json_object_new_boolean(true)) < 0 ||
             json_add(body, "messages_total", json_object_new_uint64(tj->budget.messages_total)) < 0 ||
             json_add(body, "messages_returned", json_object_new_uint64(tj->budget.messages_returned)) < 0))
                body = (json_object_put(body), NULL);
        mcp_call_reply(tj->call, body ?: envelope_oom(), err || !body);
}
