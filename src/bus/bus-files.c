/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "basic/fileio.h"
#include "basic/log.h"
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

/* Per project, on the loop: what the last look-up found. */
typedef struct FilesState {
        LhProject *project;
        const char *readiness; /* NULL: nothing known */
        char *toolchain;
        ThreadAsync *lookup;   /* under way */
        usec_t looked_up_at;   /* start of the last one */
        usec_t unresponsive_until;
} FilesState;

static void files_job_free(void *userdata) {
        FilesJob *j = userdata;

        free(j->root);
        free(j->elan_home);
        free(j->repl_cache);
        free(j->toolchain);
        lean_readiness_cache_clear(&j->cache);
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

static void files_state_free(void *userdata) {
        FilesState *s = userdata;

        if (!s)
                return;
        thread_async_cancel(s->lookup);
        free(s->toolchain);
        free(s);
}

static void on_lookup_done(void *arg, void *userdata, int r) {
        FilesState *s = userdata;
        FilesJob *j = arg;
        LeanReadinessCache *cache;

        s->lookup = NULL; /* gone after this callback */
        s->toolchain = mfree(s->toolchain);
        if (r < 0) {
                /* j is the thread's: it ends when the file system answers */
                log_warning("Project %s: its files did not answer within %u ms; Readiness and Toolchain read "
                            "unknown, not tried again for %u s.", project_get_root(s->project),
                            (unsigned) (BUS_FILES_TIMEOUT_USEC / USEC_PER_MSEC),
                            (unsigned) (BUS_FILES_RETRY_USEC / USEC_PER_SEC));
                s->readiness = NULL;
                s->unresponsive_until = now_usec(CLOCK_MONOTONIC) + BUS_FILES_RETRY_USEC;
                cache = project_get_readiness_cache(s->project);
                if (cache)
                        cache->unresponsive_until = s->unresponsive_until;
                return;
        }
        s->readiness = j->readiness;
        s->toolchain = TAKE_PTR(j->toolchain);
        cache = project_get_readiness_cache(s->project);
        if (cache) {
                lean_readiness_cache_clear(cache);
                *cache = j->cache; /* hands over toolchain_text */
                j->cache = (LeanReadinessCache) {};
        }
}

static int files_lookup_start(sd_event *event, FilesState *s, const LhConfig *c, usec_t now) {
        LeanReadinessCache *cache = project_get_readiness_cache(s->project);
        FilesJob *j;
        int r;

        j = new0(FilesJob, 1);
        if (!j)
                return -ENOMEM;
        j->custom_worker = c && c->worker_command;
        j->root = strdup(project_get_root(s->project));
        if (c && c->elan_home)
                j->elan_home = strdup(c->elan_home);
        if (c && c->repl_cache_dir)
                j->repl_cache = strdup(c->repl_cache_dir);
        if (!j->root || (c && c->elan_home && !j->elan_home) || (c && c->repl_cache_dir && !j->repl_cache) ||
            (cache && lean_readiness_cache_copy(&j->cache, cache) < 0)) {
                files_job_free(j);
                return -ENOMEM;
        }

        s->looked_up_at = now;
        r = thread_run_async(event, files_job_run, files_job_free, j, BUS_FILES_TIMEOUT_USEC, on_lookup_done, s,
                             &s->lookup);
        if (r < 0) {
                files_job_free(j);
                if (r == -EBUSY) /* too many stuck already: as if this one were */
                        s->unresponsive_until = now + BUS_FILES_RETRY_USEC;
                return r;
        }
        return 0;
}

void bus_project_files_done(BusProjectFiles *f) {
        if (!f)
                return;
        f->toolchain = mfree(f->toolchain);
}

int bus_project_files_get(sd_event *event, LhProject *p, const LhConfig *c, BusProjectFiles *ret) {
        const char *root = project_get_root(p);
        usec_t now = now_usec(CLOCK_MONOTONIC);
        FilesState *s;
        int r;

        *ret = (BusProjectFiles) { .readiness = "unknown" };
        if (isempty(root))
                return 0;

        s = project_get_bus_data(p);
        if (!s) {
                s = new0(FilesState, 1);
                if (!s)
                        return -ENOMEM;
                s->project = p;
                project_set_bus_data(p, s, files_state_free);
        }

        if (!s->lookup && now >= s->unresponsive_until &&
            (s->looked_up_at == 0 || now - s->looked_up_at >= BUS_FILES_REFRESH_USEC)) {
                r = files_lookup_start(event, s, c, now);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 && r != -EBUSY)
                        log_debug_errno(r, "Project %s: cannot look at its files: %m", root);
        }

        if (!s->readiness)
                return now < s->unresponsive_until ? -ETIMEDOUT : -EAGAIN;
        ret->readiness = s->readiness;
        if (s->toolchain) {
                ret->toolchain = strdup(s->toolchain);
                if (!ret->toolchain)
                        return -ENOMEM;
        }
        return 0;
}
