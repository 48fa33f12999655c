/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_project_status {project}: what lean-host knows about a project without
 * starting a worker: readiness (lean/readiness.h: the state, its message and
 * fix command), the toolchain pin, runtime facts, the memory tiers and
 * limits that apply, and the enforcement mode new workers get. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/strv.h"
#include "basic/json-util.h"
#include "tools/call-base.h"
#include "tools/tool-args.h"

static const McpToolArg status_args[] = {
        TOOL_ARG_PROJECT,
        TOOL_ARG_END,
};

static int status_call(ToolCall *tc) {
        ToolsContext *ctx = tc->ctx;
        LhProject *p = tc->project;
        const LhConfig *c = ctx->config;
        LeanReadiness readiness;
        LeanReadinessInput in = {
                .elan_home = ctx->elan_home,
                .custom_worker = !strv_isempty(c->worker_command),
        };
        json_object *result, *limits;
        LhFacts facts;
        int r;

        /* Pure reading: a stale worker is only reported here; the next job recycles it. */
        project_get_facts(p, &facts);
        in.root = project_get_root(p);
        if (facts.worker_pid > 0)
                in.started = tools_get_worker_stamp(ctx, p, facts.worker_generation);
        r = tools_classify_full(ctx, p, &in, false, &readiness); /* never starts a REPL build */
        if (r < 0)
                return r;

        result = json_object_new_object();
        limits = json_object_new_object();
        if (!result || !limits ||
            json_add_string_or_null(result, "toolchain", readiness.toolchain.pin) < 0 ||
            json_add(result, "readiness", lean_readiness_to_json(&readiness)) < 0 ||
            json_add(result, "enforcement", json_object_new_string(
                        enforcement_mode_to_string(registry_get_enforcement(ctx->registry)))) < 0 ||
            json_add(result, "enforcement_requested", json_object_new_string(
                        enforcement_request_to_string(c->enforcement))) < 0 ||
            json_add(result, "worker_command", json_object_new_string(
                        strv_isempty(c->worker_command) ? "default" : "custom")) < 0 ||
            json_add(result, "limits", limits) < 0 ||
            json_add(limits, "worker_rss_sample_millis", json_object_new_uint64(c->worker_rss_sample_millis)) < 0 ||
            json_add(limits, "worker_max_requests", json_object_new_uint64(c->worker_max_requests)) < 0 ||
            json_add(limits, "import_switch_rss_soft_kib", json_object_new_uint64(c->import_switch_rss_soft_kib)) < 0 ||
            json_add(limits, "worker_rss_post_job_restart_kib", json_object_new_uint64(c->worker_rss_post_job_restart_kib)) < 0 ||
            json_add(limits, "worker_rss_hard_kill_kib", json_object_new_uint64(c->worker_rss_hard_kill_kib)) < 0 ||
            json_add(limits, "request_timeout_millis", json_object_new_uint64(c->request_timeout_millis)) < 0 ||
            json_add(limits, "mailbox_capacity", json_object_new_uint64(c->mailbox_capacity)) < 0 ||
            json_add(limits, "restart_limit", json_object_new_uint64(c->restart_limit)) < 0 ||
            json_add(limits, "restart_window_secs", json_object_new_uint64(c->restart_window_secs)) < 0) {
                /* once added, limits belongs to result */
                if (!result || !json_object_object_get_ex(result, "limits", NULL))
                        json_object_put(limits);
                json_object_put(result);
                lean_readiness_done(&readiness);
                return -ENOMEM;
        }
        /* runtime = the facts snapshot (result envelope with facts NULL) */
        tool_answer(tc->call, NULL, tool_envelope_result(p, result, NULL,
                                                   tools_freshness(tc->project_view.root, &readiness, NULL, &facts, -1)),
                    false);
        lean_readiness_done(&readiness);
        return 0;
}

const ToolDef tool_lean_project_status = {
        .mcp = {
                .name = "lean_project_status",
                .title = "Project status",
                .description =
                        "Report the state of a Lake project: toolchain, build freshness, whether a worker "
                        "is running, its memory use, restarts and queue depth. Never starts a build.",
                .args = status_args,
                TOOL_ANNOTATIONS_READ_ONLY,
        },
        .call = status_call,
};
