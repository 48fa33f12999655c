/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_run {project, code}: the raw escape hatch. The snippet's own import
 * header becomes the job's import profile (run once per worker, its env
 * reused); the body runs on top of that env, with the header blanked out so
 * message positions match the caller's text. */

#include <stdlib.h>

#include "basic/log.h"
#include "basic/strv.h"
#include "lean/header.h"
#include "tools/tools-internal.h"

typedef struct RunJob {
        LeanHeader header;
        int env; /* env id of the last reply, -1 none */
} RunJob;

static void run_job_free(void *userdata) {
        RunJob *rj = userdata;

        if (!rj)
                return;
        lean_header_done(&rj->header);
        free(rj);
}

static int run_start(LhJob *job, void *userdata, json_object **ret_command) {
        RunJob *rj = userdata;
        json_object *cmd;
        int base = job_get_base_env(job);

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

static bool messages_have_errors(json_object *messages) {
        size_t n = json_object_is_type(messages, json_type_array) ? json_object_array_length(messages) : 0;

        for (size_t i = 0; i < n; i++) {
                json_object *sev;

                if (json_object_object_get_ex(json_object_array_get_idx(messages, i), "severity", &sev) &&
                    streq(strempty(json_object_get_string(sev)), "error"))
                        return true;
        }
        return false;
}

/* The REPL's reply → the tool's result: messages, sorries, env, and any
 * other field the REPL adds (tactics, infotree) passed through as is. */
static int run_step(LhJob *job, void *userdata, json_object *reply, json_object **ret_command) {
        RunJob *rj = userdata;
        json_object *result, *v, *messages = NULL;
        LhError err;

        (void) ret_command;
        if (json_object_object_get_ex(reply, "message", &v) && !json_object_object_get_ex(reply, "env", NULL)) {
                /* {"message": "Unknown environment."}: a REPL-level error, not Lean's */
                lh_error_set(&err, "lean_repl_error", false, "the Lean REPL refused the command: %s",
                             strempty(json_object_get_string(v)));
                job_set_error(job, &err);
                lh_error_done(&err);
                return -EPROTO;
        }

        result = json_object_new_object();
        if (!result)
                return -ENOMEM;
        json_object_object_foreach(reply, key, val)
                if (json_object_object_add(result, key, json_object_get(val)) < 0)
                        goto oom;
        if (!json_object_object_get_ex(result, "messages", &messages)) {
                messages = json_object_new_array();
                if (json_object_object_add(result, "messages", messages) < 0)
                        goto oom;
        }
        if (!json_object_object_get_ex(result, "sorries", NULL) &&
            json_object_object_add(result, "sorries", json_object_new_array()) < 0)
                goto oom;
        if (json_object_object_add(result, "has_errors", json_object_new_boolean(messages_have_errors(messages))) < 0)
                goto oom;
        if (json_object_object_get_ex(reply, "env", &v))
                rj->env = json_object_get_int(v);

        job_set_result(job, result);
        return 1;
oom:
        json_object_put(result);
        return -ENOMEM;
}

static void run_done(LhJob *job, void *userdata, json_object *result, const LhError *err, const LhFacts *facts) {
        RunJob *rj = userdata;
        LhProject *p = job_get_project(job);
        json_object *freshness = p ? tool_freshness_basic(p, rj->header.imports, facts, rj->env) : NULL;

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

        /* Read-only for the retry policy: every run starts from the import
         * env, never from a previous run's env, so running it again on a
         * fresh worker gives the same answer. */
        r = tool_submit_job(call, p, rj->header.imports, JOB_READ_ONLY, &run_ops, rj);
        return r < 0 ? r : 0;
}
