/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Before a project tool runs, everything that touches the project's files
 * (resolving the path to its Lake root, classifying readiness, finding the
 * worker's REPL) runs on a thread. The event loop never waits for it: the
 * call goes on from the thread's completion event, or is answered
 * path_unresponsive when the thread is not done in time (a hung mount); the
 * thread is then left to end alone. The handler then runs as before, and
 * finds the project and the classification already there
 * (tools_preflight_project(), tools_classify_full(): no file is touched).
 *
 * The warm path: a call whose "project" path string was looked up before,
 * with nothing that look-up read changed since, runs its handler at once
 * with the cached project and classification: no thread, no syscall. The
 * rule (tools-watch.c keeps the cache and the watches):
 *  - cached: a usable answer (ready, unknown_pin) for a path already
 *    canonical (no symlink, no "." or ".."; a symlink's target could change
 *    unseen), lake under the elan home and the REPL under the root or the
 *    REPL cache (PATH's directories are not watched);
 *  - watched (inotify, watches added on the thread: adding one walks the
 *    path, which can hang on a dead mount): every path the resolution and
 *    the classification look at, existing or not: each directory on the way
 *    from / for its own events (moved, deleted, unmounted, chmod/chown),
 *    where the way ends (a missing name, a file) that name in its directory
 *    (created, deleted, renamed, chmod/chown; written, for the files read);
 *    a symlink on the way: not cached;
 *  - the thread looks up again once the watches are in place, and the loop
 *    caches only when both answers agree and no event on those watches came
 *    in since the thread started (the first reads may predate the watches);
 *  - any event on a watch drops the answers that use it, IN_Q_OVERFLOW all
 *    of them; a config that differs (trusted_roots, elan home, REPL cache,
 *    worker command: compared on every hit) or a forgotten project is a
 *    miss; the watch source runs before calls that are ready with it, so a
 *    change made before the loop wakes up for a call is seen by that call
 *    (one that lands in the same wake-up, microseconds apart, may still get
 *    the answer from before it: no syscall checks the fd per call);
 *  - not seen: a mount over a watched directory, $PATH/$HOME of the daemon.
 * The smoke failure and the stale worker are the loop's as before
 * (tools_classify_full()), on the cached classification too. */

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/list.h"
#include "basic/log.h"
#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/thread-util.h"
#include "lean/toolchain.h"
#include "project/resolve.h"
#include "tools/tools-internal.h"

/* The thread's own copies: it may outlive the call, the project and the config. */
typedef struct PreflightJob {
        char *path;
        char **trusted_roots;
        uid_t uid;
        char *elan_home, *repl_cache;
        bool custom_worker;
        LeanReadinessCache cache;

        int r;              /* resolution */
        char *root;
        LhError err;
        int classified;     /* lean_readiness_classify() */
        LeanReadiness rd;
        char **argv;        /* the default worker's, when found */

        ToolsWatchHandle watch; /* fd -EBADF: no warm path; set: the watches added */
        bool cacheable;     /* the answer can be cached: watches in place before it was read */
} PreflightJob;

struct ToolsPreflight {
        ToolsContext *ctx;
        McpCall *call;
        McpToolHandler handler;
        ThreadAsync *async;
        char *path;
        char *guess_root;   /* the known project the path seemed to be in: its cache went along */
        LhProject *project; /* while the handler runs */
        int classified;
        LeanReadiness rd;
        bool rd_taken;
        uint64_t seq_start; /* tools_watch_seq() when the thread started */
        LIST_FIELDS(ToolsPreflight, preflights); /* ToolsContext.preflights */
};

static void preflight_job_free(void *userdata) {
        PreflightJob *j = userdata;

        if (!j)
                return;
        free(j->path);
        strv_free(j->trusted_roots);
        free(j->elan_home);
        free(j->repl_cache);
        lean_readiness_cache_clear(&j->cache);
        free(j->root);
        if (j->r < 0) /* only a failed resolution sets it */
                lh_error_done(&j->err);
        lean_readiness_done(&j->rd);
        strv_free(j->argv);
        /* on the thread, when the loop gave up on it (cancelled, timed out,
         * shutting down): the watches go back to the loop to be released */
        tools_watch_handle_done(&j->watch);
        free(j);
}

static void preflight_job_lookup(PreflightJob *j) {
        LeanReadinessInput in = {
                .elan_home = j->elan_home,
                .repl_cache = j->repl_cache,
                .custom_worker = j->custom_worker,
                .cache = &j->cache,
        };

        j->r = project_root_resolve(j->path, j->trusted_roots, j->uid, &j->root, &j->err);
        if (j->r < 0)
                return;
        /* the live worker's stamp (stale) and a smoke failure are the loop's:
         * applied there (tools_classify_full) */
        in.root = j->root;
        j->classified = lean_readiness_classify(&in, &j->rd);
        if (j->classified >= 0 && !j->custom_worker)
                (void) lean_readiness_worker_argv(&j->rd, &j->argv);
}

static bool streq_null(const char *a, const char *b) {
        return a == b || (a && b && streq(a, b));
}

/* What the watches were chosen from is the same. */
static bool answers_same(const LeanReadiness *a, const LeanReadiness *b) {
        return a->state == b->state && streq_null(a->toolchain.pin, b->toolchain.pin) &&
               streq_null(a->elan_toolchain_dir, b->elan_toolchain_dir) && streq_null(a->repl_path, b->repl_path) &&
               streq_null(a->lake_path, b->lake_path) && streq_null(a->repl_cache_dir, b->repl_cache_dir);
}

/* Watch what the look-up read, then look up again: a change between the
 * first reads and the watches would otherwise go unseen. The second answer
 * is the call's; it is cached only when it matches the first. */
static void preflight_job_watch(PreflightJob *j) {
        _cleanup_(lean_readiness_done) LeanReadiness first = {};
        _cleanup_free_ char *elan = NULL, *root = NULL;

        if (j->watch.fd < 0 || j->r < 0 || j->classified < 0)
                return;
        elan = lean_elan_home(j->elan_home);
        if (!elan || !tools_watch_answer_cacheable(j->path, j->root, &j->rd, elan) ||
            tools_watch_add_probes(j->watch.fd, j->path, j->root, &j->rd, elan, &j->watch.set) < 0)
                return;

        root = TAKE_PTR(j->root);
        first = j->rd;
        j->rd = (LeanReadiness) {};
        j->argv = strv_free(j->argv);
        preflight_job_lookup(j);
        j->cacheable = j->r >= 0 && j->classified >= 0 && streq(root, j->root) && answers_same(&first, &j->rd);
        /* not cacheable: the loop releases the watches (j->watch.set) */
}

static void preflight_job_run(void *userdata) {
        PreflightJob *j = userdata;

        preflight_job_lookup(j);
        preflight_job_watch(j);
}

static void preflight_unlink(ToolsPreflight *pf) {
        if (LIST_IS_LINKED(preflights, pf->ctx->preflights, pf))
                LIST_REMOVE(preflights, pf->ctx->preflights, pf);
}

static ToolsPreflight *preflight_free(ToolsPreflight *pf) {
        if (!pf)
                return NULL;
        pf->async = thread_async_cancel(pf->async);
        /* the handler's own cancel callback, once it ran, stays */
        mcp_call_release(pf->call, pf);
        free(pf->path);
        free(pf->guess_root);
        if (!pf->rd_taken)
                lean_readiness_done(&pf->rd);
        return mfree(pf);
}

static void preflight_reply_error(ToolsPreflight *pf, LhError *err, int r) {
        if (!err->code)
                lh_error_set(err, r == -ENOMEM ? "internal_error" : "project_not_found", r == -ENOMEM,
                             "cannot open project %s: %s", pf->path, strerror(-r));
        tool_reply_error(pf->call, NULL, err, NULL);
}

static void on_preflight_cancelled(McpCall *call, void *userdata) {
        ToolsPreflight *pf = userdata;

        preflight_unlink(pf);
        tool_reply_errorf(call, NULL, "cancelled", false, "The call was cancelled.");
        preflight_free(pf);
}

static void preflight_run_handler(ToolsPreflight *pf, LhProject *p);

static ToolsWatchKey preflight_key(ToolsContext *ctx) {
        return (ToolsWatchKey) {
                .trusted_roots = ctx->config->trusted_roots,
                .elan_home = ctx->elan_home ?: ctx->config->elan_home,
                .repl_cache = ctx->config->repl_cache_dir,
                .custom_worker = !strv_isempty(ctx->config->worker_command),
        };
}

/* The config the thread was given (a reload while it ran changes ctx's). */
static ToolsWatchKey preflight_job_key(const PreflightJob *j) {
        return (ToolsWatchKey) {
                .trusted_roots = j->trusted_roots,
                .elan_home = j->elan_home,
                .repl_cache = j->repl_cache,
                .custom_worker = j->custom_worker,
        };
}

static void preflight_dispatch(ToolsPreflight *pf, PreflightJob *j) {
        ToolsContext *ctx = pf->ctx;
        LeanReadinessCache *cache;
        LhError err = { .restart_cause = _RESTART_CAUSE_INVALID };
        LhProject *p;
        int r;

        r = registry_resolve_root(ctx->registry, j->root, &p, &err);
        if (r < 0) {
                preflight_reply_error(pf, &err, r);
                lh_error_done(&err);
                return;
        }
        /* what the thread read, for the next call and the D-Bus getters;
         * only when it started from this project's cache (or none) */
        cache = project_get_readiness_cache(p);
        if (cache && (!pf->guess_root || streq(pf->guess_root, j->root))) {
                lean_readiness_cache_clear(cache);
                *cache = j->cache; /* hands over toolchain_text */
                j->cache = (LeanReadinessCache) {};
        } else
                cache = &j->cache; /* still what the thread read under this root */
        if (j->classified >= 0 && !j->custom_worker)
                project_set_default_worker_argv(p, TAKE_PTR(j->argv));
        if (j->cacheable) {
                ToolsWatchKey key = preflight_job_key(j);

                if (tools_watch_put(ctx->watch, pf->seq_start, j->path, j->root, &key, &j->rd, cache,
                                    &j->watch.set) > 0)
                        log_debug("Project path %s: look-up cached until its files change.", j->path);
        }

        pf->classified = j->classified;
        pf->rd = j->rd;
        j->rd = (LeanReadiness) {};
        preflight_run_handler(pf, p);
}

/* The handler runs as if it had done the look-ups itself. */
static void preflight_run_handler(ToolsPreflight *pf, LhProject *p) {
        ToolsContext *ctx = pf->ctx;
        int r;

        pf->project = p;
        ctx->preflight = pf; /* the handler takes p from here (tools_preflight_project()) */
        r = pf->handler(pf->call, ctx);
        ctx->preflight = NULL;
        if (r < 0) {
                /* as the server does for a handler's failure; ignored when it did answer */
                log_warning_errno(r, "Tool %s failed: %m", mcp_call_get_tool(pf->call));
                tool_reply_errorf(pf->call, p, "internal_error", false, "internal error in %s: %s",
                                  mcp_call_get_tool(pf->call), strerror(-r));
        }
}

static void on_preflight_done(void *arg, void *userdata, int r) {
        ToolsPreflight *pf = userdata;
        PreflightJob *j = arg;

        pf->async = NULL; /* gone after this callback */
        preflight_unlink(pf);
        mcp_call_set_cancel(pf->call, NULL, NULL);

        if (r < 0) {
                /* the thread did not finish in time and goes on alone */
                LhError err = { .restart_cause = _RESTART_CAUSE_INVALID };

                log_warning("Looking up %s did not finish within %u ms: path_unresponsive.", pf->path,
                            (unsigned) (PROJECT_RESOLVE_TIMEOUT_USEC / USEC_PER_MSEC));
                project_unresponsive_error(&err, pf->path, r);
                tool_reply_error(pf->call, NULL, &err, NULL);
        } else if (j->r < 0)
                preflight_reply_error(pf, &j->err, j->r);
        else
                preflight_dispatch(pf, j);
        /* watches not cached (put took the cached ones): the kernel would keep them */
        if (j)
                tools_watch_release(pf->ctx->watch, &j->watch.set);
        preflight_free(pf);
}

/* The warm path: path's answer is cached and nothing it read changed since.
 * No thread, no file touched: -EAGAIN when the cold path must run. */
static int preflight_warm(ToolsContext *ctx, McpCall *call, McpToolHandler handler, const char *path) {
        LhError err = { .restart_cause = _RESTART_CAUSE_INVALID };
        ToolsWatchKey key = preflight_key(ctx);
        /* synchronous: the server holds the call, and answers a failure */
        ToolsPreflight pf = { .ctx = ctx, .call = call, .handler = handler };
        const LeanReadinessCache *files;
        LeanReadinessCache *cache;
        const LeanReadiness *rd;
        const char *root;
        char **argv;
        int r;

        rd = tools_watch_get(ctx->watch, path, &key, &root);
        if (!rd)
                return -EAGAIN;
        /* a project forgotten since is opened again, as the cold path would */
        if (registry_resolve_root(ctx->registry, root, &pf.project, &err) < 0) {
                lh_error_done(&err);
                return -EAGAIN; /* shutting down: the cold path answers */
        }
        r = lean_readiness_copy(&pf.rd, rd);
        if (r < 0)
                return r;
        /* a project opened again starts from what the cold look-up read (for
         * the D-Bus getters; stamps still checked on use) */
        cache = project_get_readiness_cache(pf.project);
        files = tools_watch_get_files(ctx->watch, path);
        if (cache && files && !cache->toolchain_cached && !cache->manifest_cached)
                (void) lean_readiness_cache_copy(cache, files);
        /* as the cold path does: the project may be new (reopened) */
        if (!key.custom_worker && lean_readiness_worker_argv(rd, &argv) >= 0)
                project_set_default_worker_argv(pf.project, argv);

        ctx->preflight = &pf;
        r = handler(call, ctx);
        ctx->preflight = NULL;
        if (!pf.rd_taken)
                lean_readiness_done(&pf.rd);
        return r;
}

int tools_preflight_start(ToolsContext *ctx, McpCall *call, McpToolHandler handler, const char *path) {
        LeanReadinessCache *cache = NULL;
        ToolsPreflight *pf;
        PreflightJob *j;
        LhProject *guess;
        LhError err = {};
        int r;

        assert(ctx);
        assert(call);
        assert(handler);
        assert(path);

        r = preflight_warm(ctx, call, handler, path);
        if (r != -EAGAIN)
                return r;

        pf = new0(ToolsPreflight, 1);
        j = new0(PreflightJob, 1);
        if (!pf || !j) {
                free(pf);
                free(j);
                return -ENOMEM;
        }
        *pf = (ToolsPreflight) { .ctx = ctx, .call = mcp_call_ref(call), .handler = handler };
        j->uid = geteuid();
        j->err.restart_cause = _RESTART_CAUSE_INVALID;
        j->custom_worker = !strv_isempty(ctx->config->worker_command);
        (void) tools_watch_handle_init(ctx->watch, &j->watch);
        pf->seq_start = tools_watch_seq(ctx->watch);
        pf->path = strdup(path);
        j->path = strdup(path);
        j->trusted_roots = strv_copy(ctx->config->trusted_roots);
        if (ctx->elan_home ?: ctx->config->elan_home)
                j->elan_home = strdup(ctx->elan_home ?: ctx->config->elan_home);
        if (ctx->config->repl_cache_dir)
                j->repl_cache = strdup(ctx->config->repl_cache_dir);
        guess = registry_find_by_path(ctx->registry, path);
        if (guess) {
                pf->guess_root = strdup(project_get_root(guess));
                cache = project_get_readiness_cache(guess);
        }
        if (!pf->path || !j->path || !j->trusted_roots || (!j->elan_home && (ctx->elan_home ?: ctx->config->elan_home)) ||
            (!j->repl_cache && ctx->config->repl_cache_dir) || (guess && !pf->guess_root) ||
            (cache && lean_readiness_cache_copy(&j->cache, cache) < 0)) {
                preflight_job_free(j);
                preflight_free(pf);
                return -ENOMEM;
        }

        r = thread_run_async(ctx->event, preflight_job_run, preflight_job_free, j, PROJECT_RESOLVE_TIMEOUT_USEC,
                             on_preflight_done, pf, &pf->async);
        if (r < 0) {
                preflight_job_free(j);
                if (r != -EBUSY) {
                        /* no thread: the handler resolves with a bounded wait, as before */
                        r = handler(call, ctx);
                        preflight_free(pf);
                        return r;
                }
                project_unresponsive_error(&err, path, r);
                tool_reply_error(call, NULL, &err, NULL);
                lh_error_done(&err);
                preflight_free(pf);
                return 0;
        }
        log_debug("Project path %s: looking it up off the loop.", path);
        LIST_PREPEND(preflights, ctx->preflights, pf);
        mcp_call_set_cancel(call, on_preflight_cancelled, pf);
        return 0;
}

/* Shutdown: every call still waiting for its look-ups is answered. */
void tools_preflight_abort_all(ToolsContext *ctx) {
        while (ctx->preflights) {
                ToolsPreflight *pf = LIST_REMOVE(preflights, ctx->preflights, ctx->preflights);

                tool_reply_errorf(pf->call, NULL, "shutting_down", true, "The daemon is shutting down.");
                preflight_free(pf);
        }
}

LhProject *tools_preflight_project(ToolsContext *ctx, McpCall *call) {
        ToolsPreflight *pf = ctx->preflight;

        return pf && pf->call == call ? pf->project : NULL;
}

int tools_preflight_take(ToolsContext *ctx, LhProject *p, LeanReadiness *ret) {
        ToolsPreflight *pf = ctx->preflight;

        if (!pf || pf->project != p || pf->rd_taken)
                return -ENODATA;
        pf->rd_taken = true;
        if (pf->classified < 0)
                return pf->classified;
        *ret = pf->rd;
        pf->rd = (LeanReadiness) {};
        return 0;
}
