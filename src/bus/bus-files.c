/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "basic/fileio.h"
#include "basic/thread-util.h"
#include "basic/time-util.h"
#include "bus/bus-files.h"
#include "lean/readiness.h"

/* The thread's own copies: it may outlive the getter (and the project). */
typedef struct FilesJob {
        char *root;
        bool custom_worker;
        char *elan_home;
        char *repl_cache;
        LeanReadinessCache cache;
        const char *readiness;
        char *toolchain;
} FilesJob;

static void cache_clear(LeanReadinessCache *c) {
        free(c->toolchain_text);
        *c = (LeanReadinessCache) {};
}

static int cache_copy(LeanReadinessCache *dst, const LeanReadinessCache *src) {
        *dst = *src;
        dst->toolchain_text = NULL;
        if (src->toolchain_text) {
                dst->toolchain_text = strdup(src->toolchain_text);
                if (!dst->toolchain_text)
                        return -ENOMEM;
        }
        return 0;
}

static void files_job_free(void *userdata) {
        FilesJob *j = userdata;

        free(j->root);
        free(j->elan_home);
        free(j->repl_cache);
        free(j->toolchain);
        cache_clear(&j->cache);
        free(j);
}

static void files_job_run(void *userdata) {
        _cleanup_(lean_readiness_done) LeanReadiness rd = {};
        FilesJob *j = userdata;
        LeanReadinessInput in = {
                .root = j->root,
                .custom_worker = j->custom_worker,
                .elan_home = j->elan_home,
                .repl_cache = j->repl_cache,
                .cache = &j->cache,
        };

        /* "stale" needs the live worker's stamp, which the tools layer
         * keeps: this reports what a new worker would find */
        j->readiness = lean_readiness_classify(&in, &rd) >= 0 ? lean_readiness_state_to_string(rd.state) : NULL;
        if (lean_toolchain_text_read(j->root, &j->cache, &j->toolchain) >= 0 && j->toolchain)
                j->toolchain[strcspn(j->toolchain, "\r\n")] = 0;
}

void bus_project_files_done(BusProjectFiles *f) {
        if (!f)
                return;
        f->toolchain = mfree(f->toolchain);
}

int bus_project_files_get(LhProject *p, const LhConfig *c, BusProjectFiles *ret) {
        LeanReadinessCache *cache = project_get_readiness_cache(p);
        const char *root = project_get_root(p);
        usec_t now = now_usec(CLOCK_MONOTONIC);
        FilesJob *j;
        int r;

        *ret = (BusProjectFiles) { .readiness = "unknown" };
        if (isempty(root))
                return 0;
        if (cache && cache->unresponsive_until > now)
                return -ETIMEDOUT;

        j = new0(FilesJob, 1);
        if (!j)
                return -ENOMEM;
        j->custom_worker = c && c->worker_command;
        j->root = strdup(root);
        if (c && c->elan_home)
                j->elan_home = strdup(c->elan_home);
        if (c && c->repl_cache_dir)
                j->repl_cache = strdup(c->repl_cache_dir);
        if (!j->root || (c && c->elan_home && !j->elan_home) || (c && c->repl_cache_dir && !j->repl_cache) ||
            (cache && cache_copy(&j->cache, cache) < 0)) {
                files_job_free(j);
                return -ENOMEM;
        }

        r = thread_run_bounded(files_job_run, files_job_free, j, BUS_FILES_TIMEOUT_USEC);
        if (r == -EBUSY)
                files_job_free(j);
        if (r == -ETIMEDOUT || r == -EBUSY) {
                /* j is the thread's now (ETIMEDOUT) or gone */
                if (cache)
                        cache->unresponsive_until = now + BUS_FILES_RETRY_USEC;
                return r;
        }
        if (r < 0)
                files_job_run(j); /* no thread: do it here */

        if (cache) {
                cache_clear(cache);
                *cache = j->cache; /* hands over toolchain_text */
                j->cache = (LeanReadinessCache) {};
        }
        ret->readiness = j->readiness ?: "unknown";
        ret->toolchain = TAKE_PTR(j->toolchain);
        files_job_free(j);
        return 0;
}
