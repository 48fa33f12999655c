/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_project_status {project}: what lean-host knows about a project without
 * starting a worker: runtime facts, the limits that apply, the toolchain pin
 * and a first readiness check of what the default worker needs. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/tools-internal.h"

static int add(json_object *o, const char *k, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, k, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static char *read_toolchain(const char *root) {
        _cleanup_free_ char *path = NULL;
        char buf[256];
        FILE *f;
        size_t n;

        if (asprintf(&path, "%s/lean-toolchain", root) < 0)
                return NULL;
        f = fopen(path, "re");
        if (!f)
                return NULL;
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        buf[strcspn(buf, "\r\n")] = 0;
        return strdup(buf);
}

/* "leanprover/lean4:v4.9.0" or "…:v4.10.0-rc2": a release pin. */
static bool toolchain_is_release_pin(const char *t) {
        static const char prefix[] = "leanprover/lean4:v";
        const char *v = strncmp(t, prefix, strlen(prefix)) == 0 ? t + strlen(prefix) : NULL;
        unsigned a, b, c;
        int n = 0;

        if (!v || sscanf(v, "%u.%u.%u%n", &a, &b, &c, &n) != 3)
                return false;
        return v[n] == 0 || strncmp(v + n, "-rc", 3) == 0;
}

static bool find_on_path(const char *name) {
        const char *path = getenv("PATH");

        for (const char *d = path; !isempty(d);) {
                size_t n = strcspn(d, ":");
                _cleanup_free_ char *p = NULL;

                if (n > 0 && asprintf(&p, "%.*s/%s", (int) n, d, name) >= 0 && access(p, X_OK) == 0)
                        return true;
                d += n;
                if (*d == ':')
                        d++;
        }
        return false;
}

static json_object *status_readiness(const ToolsContext *ctx, const char *root, const char *toolchain) {
        json_object *o = json_object_new_object(), *adv = json_object_new_array();
        const char *state = "ready", *message = NULL, *fix = NULL;
        _cleanup_free_ char *fix_buf = NULL, *repl = NULL;

        if (!o || !adv) {
                json_object_put(o);
                json_object_put(adv);
                return NULL;
        }
        if (ctx->config->worker_command) {
                json_object_array_add(adv, json_object_new_string(
                        "worker.command is set: used as is, no toolchain resolution"));
        } else if (!toolchain) {
                state = "unknown_pin";
                message = "the project has no lean-toolchain file";
        } else {
                if (!toolchain_is_release_pin(toolchain)) {
                        state = "unknown_pin";
                        message = "lean-toolchain is not a release pin";
                }
                if (!find_on_path("lake")) {
                        state = "not_installed";
                        message = "lake is not on PATH: install elan (which provides lake) for this toolchain";
                        if (asprintf(&fix_buf, "elan toolchain install %s", toolchain) >= 0)
                                fix = fix_buf;
                } else if (asprintf(&repl, "%s/.lake/packages/REPL/.lake/build/bin/repl", root) >= 0 &&
                           access(repl, X_OK) < 0 && !find_on_path("repl")) {
                        state = "not_installed";
                        message = "no Lean REPL binary for this project (require REPL in the lakefile, then build it)";
                        fix = "lake update REPL && lake build repl";
                }
        }
        if (add(o, "state", json_object_new_string(state)) < 0 ||
            (message && add(o, "message", json_object_new_string(message)) < 0) ||
            (fix && add(o, "fix", json_object_new_string(fix)) < 0) ||
            add(o, "advisories", adv) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

int tool_status_handle(McpCall *call, void *userdata) {
        ToolsContext *ctx = userdata;
        const LhConfig *c = ctx->config;
        _cleanup_free_ char *toolchain = NULL;
        json_object *result, *limits;
        LhProject *p;
        int r;

        r = tool_resolve_project(call, ctx->registry, &p);
        if (r != 0)
                return r < 0 ? r : 0;

        toolchain = read_toolchain(project_get_root(p));
        result = json_object_new_object();
        limits = json_object_new_object();
        if (!result || !limits ||
            add(result, "toolchain", toolchain ? json_object_new_string(toolchain) : json_object_new_null()) < 0 ||
            add(result, "readiness", status_readiness(ctx, project_get_root(p), toolchain)) < 0 ||
            add(result, "limits", limits) < 0 ||
            add(limits, "import_switch_rss_soft_kib", json_object_new_uint64(c->import_switch_rss_soft_kib)) < 0 ||
            add(limits, "worker_rss_post_job_restart_kib", json_object_new_uint64(c->worker_rss_post_job_restart_kib)) < 0 ||
            add(limits, "worker_rss_hard_kill_kib", json_object_new_uint64(c->worker_rss_hard_kill_kib)) < 0 ||
            add(limits, "request_timeout_millis", json_object_new_uint64(c->request_timeout_millis)) < 0 ||
            add(limits, "mailbox_capacity", json_object_new_uint64(c->mailbox_capacity)) < 0 ||
            add(limits, "restart_limit", json_object_new_uint64(c->restart_limit)) < 0 ||
            add(limits, "restart_window_secs", json_object_new_uint64(c->restart_window_secs)) < 0) {
                /* once added, limits belongs to result */
                if (!result || !json_object_object_get_ex(result, "limits", NULL))
                        json_object_put(limits);
                json_object_put(result);
                return -ENOMEM;
        }
        mcp_call_reply(call, tool_envelope_result(p, result, NULL, NULL), false);
        return 0;
}
