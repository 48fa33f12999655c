/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* What the tools share: the dispatch of every call (the project's files are
 * looked at off the loop first), the readiness gate and the per-project
 * worker stamps behind "stale". Registering is tools-register.c's, so this
 * file never reaches up to the call base or the tool list. */

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/time-util.h"
#include "tools/call-base.h"

/* Every tool: the project's files are looked at off the loop first. */
int tools_dispatch(McpCall *call, void *userdata) {
        _cleanup_free_ char *path = NULL, *why = NULL;
        ToolsEntry *e = userdata;
        int r;

        r = tool_project_path(tool_arg_string(call, "project"), &path, &why);
        if (r == -ENOMEM)
                return r;
        /* no path to look up: the handler answers the argument error at once */
        if (r < 0)
                return e->handler(call, e->ctx);
        return tools_preflight_start(e->ctx, call, e->handler, path);
}

/* ---- worker stamps ----------------------------------------------------------- */

/* The record lives on the project (project_get_tools_data()) and goes
 * with it: a forgotten and reopened project starts afresh. */
static ToolsStamp *stamp_find(ToolsContext *ctx, LhProject *p) {
        return project_get_tools_data(p);
}

static ToolsStamp *stamp_get(ToolsContext *ctx, LhProject *p) {
        ToolsStamp *s = stamp_find(ctx, p);

        if (s)
                return s;
        s = new0(ToolsStamp, 1);
        if (!s)
                return NULL; /* only costs stale detection and smoke accounting */
        project_set_tools_data(p, s, free);
        return s;
}

static void stamp_note_worker(ToolsStamp *s, uint64_t worker_generation, const LeanProjectStamp *stamp) {
        if (!s || worker_generation == 0 || s->worker_generation == worker_generation)
                return; /* first job of a generation wins: that is what it started with */
        s->worker_generation = worker_generation;
        s->stamp = *stamp;
}

void tools_note_worker_stamp(ToolsContext *ctx, LhProject *p, uint64_t worker_generation,
                             const LeanProjectStamp *stamp) {
        if (!ctx || !p || !stamp || worker_generation == 0)
                return;
        stamp_note_worker(stamp_get(ctx, p), worker_generation, stamp);
}

/* The worker itself is broken (not Lean on the user's text, not memory, not
 * us): it died on its own before the job's own command ran, i.e. while
 * starting or on the daemon's import header, the smoke command. */
static bool error_is_broken_worker(const LhError *err) {
        json_object *v;

        if (!err || !err->code || !streq(err->code, "worker_failed") ||
            !(err->restart_cause == RESTART_CAUSE_CHILD_EXIT || err->restart_cause == RESTART_CAUSE_CHILD_ABORT ||
              err->restart_cause == RESTART_CAUSE_SESSION_MISSING))
                return false;
        return json_object_object_get_ex(err->details, "failed_during", &v) &&
               !streq(strempty(json_object_get_string(v)), "command");
}

void tools_note_job_end(ToolsContext *ctx, LhProject *p, const LeanProjectStamp *stamp, const LhFacts *facts,
                        const LhError *err) {
        ToolsStamp *s;

        if (!ctx || !p || !stamp)
                return;
        s = stamp_get(ctx, p); /* once: the worker stamp and the smoke accounting alike */
        if (!s)
                return;
        if (facts && facts->worker_pid > 0)
                stamp_note_worker(s, facts->worker_generation, stamp);
        if (!err) {
                s->smoke_ok = true;
                s->smoke_stamp = *stamp;
                s->smoke_failed_at = 0;
                return;
        }
        if (!error_is_broken_worker(err) || (s->smoke_ok && lean_project_stamp_equal(&s->smoke_stamp, stamp)))
                return;
        s->smoke_ok = false;
        s->smoke_stamp = *stamp;
        s->smoke_failed_at = now_usec(CLOCK_MONOTONIC);
        snprintf(s->smoke_failure, sizeof s->smoke_failure, "%s", err->message);
        log_warning("Project %s: the worker failed before any job succeeded, readiness unusable for %u s: %s",
                    project_get_root(p), (unsigned) (TOOLS_SMOKE_HOLD_USEC / USEC_PER_SEC), err->message);
}

/* The smoke failure still holding calls off for these files, or NULL. */
static const char *smoke_failure_for(ToolsStamp *s, const LeanProjectStamp *current) {
        if (!s || s->smoke_failed_at == 0)
                return NULL;
        if (!lean_project_stamp_equal(&s->smoke_stamp, current) ||
            now_usec(CLOCK_MONOTONIC) - s->smoke_failed_at > TOOLS_SMOKE_HOLD_USEC) {
                s->smoke_failed_at = 0; /* files changed or time is up: try again */
                return NULL;
        }
        return s->smoke_failure;
}

static const LeanProjectStamp *stamp_worker(const ToolsStamp *s, uint64_t worker_generation) {
        return s && worker_generation > 0 && s->worker_generation == worker_generation ? &s->stamp : NULL;
}

const LeanProjectStamp *tools_get_worker_stamp(ToolsContext *ctx, LhProject *p, uint64_t worker_generation) {
        return ctx ? stamp_worker(stamp_find(ctx, p), worker_generation) : NULL;
}

/* ---- readiness gate ------------------------------------------------------------ */


/* What lean_readiness_classify() does last with a smoke failure, on a
 * classification made without one (the files are not read again). */
static int readiness_set_unusable(LeanReadiness *rd, const char *failure, bool custom_worker) {
        char *fix = NULL, *message;

        /* a bad build of our own is thrown away and rebuilt; a project's is
         * rebuilt in its package directory (whatever the require named it) */
        if (!custom_worker && rd->repl_path) {
                const char *bin = strstr(rd->repl_path, "/.lake/build/bin/repl");

                if (rd->repl_cache_dir && strneq(rd->repl_path, rd->repl_cache_dir, strlen(rd->repl_cache_dir)))
                        fix = strdup_printf("rm -rf %s", rd->repl_cache_dir);
                else if (bin)
                        fix = strdup_printf("cd %.*s && %s build repl", (int) (bin - rd->repl_path), rd->repl_path,
                                            rd->lake_path ?: "lake");
        }
        message = strdup_printf("the worker failed its smoke command: %s", failure);
        if (!message) {
                free(fix);
                return -ENOMEM;
        }
        free(rd->message);
        free(rd->fix);
        rd->message = message;
        rd->fix = fix;
        rd->state = LEAN_READINESS_UNUSABLE;
        return 0;
}

static int readiness_set_stale(LeanReadiness *rd, const LeanProjectStamp *started) {
        char *message = strdup_printf("%s changed since the worker started: the worker must be recycled",
                                      streq(started->toolchain, rd->stamp.toolchain) ? "lake-manifest.json"
                                                                                      : "lean-toolchain");

        if (!message)
                return -ENOMEM;
        free(rd->message);
        rd->message = message;
        rd->fix = mfree(rd->fix);
        rd->state = LEAN_READINESS_STALE;
        return 0;
}

/* s: p's stamp record, looked up once by the caller (NULL: none yet). */
static int classify(ToolsContext *ctx, LhProject *p, ToolsStamp *s, LeanReadinessInput *in, bool provision,
                    LeanReadiness *ret) {
        LeanReadinessInput plain;
        const char *failure;
        int r;

        in->elan_home = in->elan_home ?: ctx->config->elan_home;
        in->repl_cache = in->repl_cache ?: ctx->config->repl_cache_dir;
        /* the call's classification, made off the loop; else (tests, no thread) here */
        r = tools_preflight_take(ctx, p, ret);
        if (r == -ENODATA) {
                plain = *in;
                plain.started = NULL;
                plain.smoke_failure = NULL;
                plain.cache = plain.cache ?: project_get_readiness_cache(p);
                r = lean_readiness_classify(&plain, ret);
        }
        if (r >= 0 && ret->state == LEAN_READINESS_NOT_INSTALLED)
                return repl_provisioner_apply(ctx->provisioner, ret, provision, NULL);
        if (r < 0 || !lean_readiness_state_is_usable(ret->state))
                return r;
        /* in the order lean_readiness_classify() checks them */
        failure = in->smoke_failure ?: smoke_failure_for(s, &ret->stamp);
        if (failure)
                r = readiness_set_unusable(ret, failure, in->custom_worker);
        else if (in->started && !lean_project_stamp_equal(in->started, &ret->stamp))
                r = readiness_set_stale(ret, in->started);
        if (r < 0)
                lean_readiness_done(ret);
        return r;
}

int tools_classify_full(ToolsContext *ctx, LhProject *p, LeanReadinessInput *in, bool provision,
                        LeanReadiness *ret) {
        return classify(ctx, p, stamp_find(ctx, p), in, provision, ret);
}

int tools_check_readiness(ToolsContext *ctx, McpCall *call, LhProject *p, const LhProjectView *view,
                          LeanReadiness *ret) {
        /* the readiness cache is the fallback's (the preflight classified
         * off the loop already): classify() looks it up only then */
        LeanReadinessInput in = {
                .root = view->root,
                .elan_home = ctx->elan_home,
                .custom_worker = !strv_isempty(ctx->config->worker_command),
        };
        ToolsStamp *s = stamp_find(ctx, p); /* once: the worker's stamp and the smoke failure */
        LhError err;
        LhFacts facts;
        int r;

        project_get_facts(p, &facts);
        if (facts.worker_pid > 0)
                in.started = stamp_worker(s, facts.worker_generation);

        r = classify(ctx, p, s, &in, true, ret);
        if (r < 0)
                return r;

        if (ret->state == LEAN_READINESS_STALE) {
                /* Planned recycle: the actor stops the worker after any running
                 * job, so this call (queued behind it) gets a fresh one. */
                log_info("Project %s: %s", view->root, ret->message);
                r = project_restart_worker(p);
                if (r < 0 && r != -ESHUTDOWN)
                        log_warning_errno(r, "Failed to recycle the stale worker of %s: %m", view->root);
                if (strv_consume(&ret->advisories,
                                 strdup_printf("worker recycled before this job: %s", ret->message)) < 0) {
                        lean_readiness_done(ret);
                        return -ENOMEM;
                }
                ret->state = ret->toolchain.pin && !ret->toolchain.release ? LEAN_READINESS_UNKNOWN_PIN
                                                                          : LEAN_READINESS_READY;
                return 0;
        }
        if (lean_readiness_state_is_usable(ret->state))
                return 0;

        lh_error_set(&err, lean_readiness_state_to_string(ret->state), ret->state == LEAN_READINESS_PROVISIONING,
                     "%s%s%s", ret->message, ret->fix ? "; fix: " : "", strempty(ret->fix));
        if (ret->state == LEAN_READINESS_PROVISIONING)
                err.retry_after_ms = PROVISION_RETRY_AFTER_MS;
        err.details = json_object_new_object();
        if (err.details) {
                json_object *rj = lean_readiness_to_json(ret);

                if (!rj || json_object_object_add(err.details, "readiness", rj) < 0)
                        json_object_put(rj);
                if (ret->fix)
                        (void) json_add(err.details, "fix", json_object_new_string(ret->fix)); /* the message has it too */
        }
        tool_reply_error(call, p, &err, NULL);
        lh_error_done(&err);
        lean_readiness_done(ret);
        return 1;
}

json_object *tools_freshness(const char *root, const LeanReadiness *readiness, char * const *imports,
                             const LhFacts *facts, int env) {
        /* what the check before the job read (off the loop): nothing is read here */
        if (!readiness)
                return NULL;
        return lean_freshness_to_json(root, &readiness->stamp, imports,
                                      facts ? facts->worker_generation : 0, env, readiness->advisories);
}
