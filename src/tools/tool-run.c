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

#include "basic/log.h"
#include "basic/strv.h"
#include "lean/header.h"
#include "lean/lean-reply.h"
#include "tools/tools-internal.h"

typedef struct RunJob {
        ToolsContext *ctx;
        LeanHeader header;
        LeanReadiness readiness; /* from the gate before submission: stamp, advisories */
        int env;                 /* env id of the last reply, -1 none */
} RunJob;

static void run_job_free(void *userdata) {
        RunJob *rj = userdata;

        if (!rj)
                return;
        lean_header_done(&rj->header);
        lean_readiness_done(&rj->readiness);
        free(rj);
}

static int run_start(LhJob *job, void *userdata, json_object **ret_command) {
        RunJob *rj = userdata;
        json_object *cmd;
        int base = job_get_base_env(job);

        /* a retry on a fresh worker starts over */
        rj->env = -1;
        cmd = json_object_new_object();
        if (!cmd)
                return -ENOMEM;
        if (json_object_object_add(cmd, "cmd", json_object_new_string(rj->header.body)) < 0 ||
            (base >= 0 && json_object_object_add(cmd, "env", json_object_new_int(base)) < 0)) {
                json_object_put(cmd);
                return -ENOMEM;
        }
        *ret_command = cmd;
        return 0;
}

/* The REPL's reply → the tool's result (lean_reply_to_json(): messages,
 * sorries, env, has_errors, has_sorry, and tactics/infotree when asked). */
static int run_step(LhJob *job, void *userdata, json_object *reply, json_object **ret_command) {
        _cleanup_free_ char *shape_error = NULL;
        LeanReply lr = LEAN_REPLY_INIT;
        RunJob *rj = userdata;
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
        rj->env = lr.env;
        lean_reply_done(&lr);
        job_set_result(job, result);
        return 1;
fail:
        lean_reply_done(&lr);
        return r;
}

static void run_done(LhJob *job, void *userdata, json_object *result, const LhError *err, const LhFacts *facts) {
        RunJob *rj = userdata;
        LhProject *p = job_get_project(job);
        json_object *freshness = NULL;

        if (p) {
                tools_note_job_end(rj->ctx, p, &rj->readiness.stamp, facts, err);
                freshness = tools_freshness(p, &rj->readiness, rj->header.imports, facts, rj->env);
        }
        tool_job_reply(job, result, err, facts, freshness);
}

static const JobOps run_ops = {
        .start = run_start,
        .step = run_step,
        .done = run_done,
        .free_userdata = run_job_free,
};

int tool_run_handle(McpCall *call, void *userdata) {
        ToolsContext *ctx = userdata;
        _cleanup_free_ char *header_error = NULL;
        const char *code;
        LhProject *p;
        RunJob *rj;
        int r;

        r = tool_resolve_project(call, ctx->registry, &p);
        if (r != 0)
                return r < 0 ? r : 0;

        code = tool_arg_string(call, "code");
        if (!code) {
                tool_reply_errorf(call, p, "invalid_arguments", false, "\"code\" must be a string of Lean source");
                return 0;
        }

        rj = new0(RunJob, 1);
        if (!rj)
                return -ENOMEM;
        rj->ctx = ctx;
        rj->env = -1;
        r = lean_header_split(code, &rj->header, &header_error);
        if (r < 0) {
                run_job_free(rj);
                if (r == -ENOMEM)
                        return r;
                tool_reply_errorf(call, p, "invalid_arguments", false, "invalid import header: %s",
                                  strna(header_error));
                return 0;
        }

        r = tools_check_readiness(ctx, call, p, &rj->readiness);
        if (r != 0) {
                run_job_free(rj);
                return r < 0 ? r : 0;
        }

        /* Read-only for the retry policy: every run starts from the import
         * env, never from a previous run's env, so running it again on a
         * fresh worker gives the same answer. */
        r = tool_submit_job(call, p, rj->header.imports, JOB_READ_ONLY, &run_ops, rj);
        return r < 0 ? r : 0;
}
