/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The project registry: canonical Lake root → project actor, forgetting
 * idle projects, the daemon-wide totals. Everything runs inside the
 * sd-event loop.
 *
 * Owns: LhRegistry and each project's ProjectRecord (last resolution, the
 * readiness cache, the default worker argv, what the bus and the tools
 * attach). Must not know: the actor's fields (it asks actor.c), the bus or
 * tools above it. */

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/hash.h"
#include "basic/log.h"
#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/thread-util.h"
#include "basic/time-util.h"
#include "project/project-internal.h"
#include "project/resolve.h"

static int on_forget_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* What the registry keeps on a project besides the actor's own state. */
static void registry_project_free(LhProject *p) {
        ProjectRecord *rec = &p->record;

        if (rec->bus_data_free)
                rec->bus_data_free(rec->bus_data);
        if (rec->tools_data_free)
                rec->tools_data_free(rec->tools_data);
        lean_readiness_cache_free(rec->readiness_cache);
        strv_free(rec->default_argv);
        project_free(p);
}

/* admission.c's callbacks */
static bool registry_ticket_is_evictable(void *owner) {
        return lane_is_evictable(owner);
}

static void registry_ticket_evict(void *owner) {
        lane_evict(owner);
}

static void registry_ticket_wake(void *owner) {
        project_kick(((LhLane *) owner)->project);
}

static void registry_on_workers_changed(void *userdata, unsigned workers_active) {
        LhRegistry *r = userdata;

        REGISTRY_TELL(r, workers_changed, r, workers_active);
}

static const AdmissionOps registry_admission_ops = {
        .is_evictable = registry_ticket_is_evictable,
        .evict = registry_ticket_evict,
        .wake = registry_ticket_wake,
        .workers_changed = registry_on_workers_changed,
};

/* How often idle projects are looked for: a quarter of the idle time, 1 s to 1 min. */
static usec_t registry_forget_period(const LhRegistry *r) {
        usec_t t = r->config->project_forget_idle_secs * USEC_PER_SEC / 4;

        return MIN(MAX(t, USEC_PER_SEC), 60 * USEC_PER_SEC);
}

int registry_new(LhRegistry **ret, sd_event *event, const LhConfig *config, ScopePlacer *placer) {
        LhRegistry *r;

        if (!ret || !event || !config)
                return -EINVAL;

        r = new0(LhRegistry, 1);
        if (!r)
                return -ENOMEM;
        r->event = sd_event_ref(event);
        r->config = config;
        r->placer = placer;
        admission_init(&r->admission, config->max_workers, config->heavy_permits, &registry_admission_ops, r);

        if (config->project_forget_idle_secs > 0) {
                int k = sd_event_add_time_relative(event, &r->forget_source, CLOCK_MONOTONIC,
                                                   registry_forget_period(r), USEC_PER_SEC, on_forget_timer, r);
                if (k < 0) {
                        registry_free(r);
                        return k;
                }
                (void) sd_event_source_set_description(r->forget_source, "registry-forget");
        }
        *ret = r;
        return 0;
}

LhRegistry *registry_free(LhRegistry *r) {
        if (!r)
                return NULL;

        /* every accepted job still gets its one answer; the observers (the
         * manager being torn down, its bus) hear nothing more */
        memset(r->observers, 0, sizeof r->observers);
        registry_shutdown(r);
        r->forget_source = sd_event_source_disable_unref(r->forget_source);

        for (size_t i = 0; i < r->n_projects; i++)
                registry_project_free(r->projects[i]);
        free(r->projects);
        admission_done(&r->admission);
        sd_event_unref(r->event);
        return mfree(r);
}

void registry_set_observer(LhRegistry *r, const RegistryObserver *o, void *userdata) {
        size_t free_slot = SIZE_MAX;

        assert(r);
        for (size_t i = 0; i < ELEMENTSOF(r->observers); i++) {
                if (r->observers[i].o && r->observers[i].userdata == userdata) {
                        r->observers[i].o = o; /* replaced, or gone (NULL) */
                        return;
                }
                if (!r->observers[i].o && free_slot == SIZE_MAX)
                        free_slot = i;
        }
        if (!o)
                return;
        assert(free_slot != SIZE_MAX); /* more observers than REGISTRY_MAX_OBSERVERS */
        r->observers[free_slot].o = o;
        r->observers[free_slot].userdata = userdata;
}

static LhProject *registry_find_by_root(LhRegistry *r, const char *root) {
        for (size_t i = 0; i < r->n_projects; i++)
                if (streq(r->projects[i]->root, root))
                        return r->projects[i];
        return NULL;
}

int registry_resolve(LhRegistry *r, const char *path, LhProject **ret, LhError *err) {
        _cleanup_free_ char *root = NULL;
        int k;

        if (!r || !ret)
                return -EINVAL;

        if (isempty(path)) {
                lh_error_set(err, "project_not_found", false, "No project path given.");
                return -EINVAL;
        }
        if (!path_is_absolute(path)) {
                lh_error_set(err, "project_not_found", false,
                             "Project path must be absolute: %s", path);
                return -EINVAL;
        }

        /* realpath()/stat() may hang on a dead mount: on a thread, waited for a bounded time */
        k = project_root_resolve_bounded(path, r->config->trusted_roots, geteuid(), PROJECT_RESOLVE_TIMEOUT_USEC,
                                         &root, err);
        if (k < 0)
                return k;
        return registry_resolve_root(r, root, ret, err);
}

int registry_resolve_start(LhRegistry *r, sd_event *event, const char *path, ThreadAsyncDone done, void *userdata,
                           ThreadAsync **ret) {
        ProjectResolveJob *j;
        int k;

        assert(r);
        assert(path);
        assert(done);

        k = project_resolve_job_new(path, r->config->trusted_roots, geteuid(), &j);
        if (k < 0)
                return k;
        k = thread_run_async(event ?: r->event, project_resolve_job_run, project_resolve_job_free, j,
                             PROJECT_RESOLVE_TIMEOUT_USEC, done, userdata, ret);
        if (k < 0)
                project_resolve_job_free(j);
        return k;
}

int registry_resolve_finish(LhRegistry *r, void *job, int k, const char *path, LhProject **ret, LhError *err) {
        _cleanup_free_ char *root = NULL;

        assert(r);
        assert(path);
        assert(ret);

        if (k < 0) {
                project_unresponsive_error(err, path, k);
                return k;
        }
        k = project_resolve_job_take(job, &root, err);
        if (k < 0)
                return k;
        return registry_resolve_root(r, root, ret, err);
}

LhProject *registry_find_by_path(LhRegistry *r, const char *path) {
        LhProject *best = NULL;

        if (!r || isempty(path))
                return NULL;
        for (size_t i = 0; i < r->n_projects; i++) {
                const char *root = r->projects[i]->root;
                size_t n = strlen(root);

                if (strneq(path, root, n) && (path[n] == 0 || path[n] == '/' || streq(root, "/")) &&
                    (!best || n > strlen(best->root)))
                        best = r->projects[i];
        }
        return best;
}

int registry_resolve_root(LhRegistry *r, const char *root, LhProject **ret, LhError *err) {
        LhProject *p, **a;
        int k;

        assert(r);
        assert(root);
        assert(ret);

        p = registry_find_by_root(r, root);
        if (p) {
                p->record.last_resolved = now_usec(CLOCK_MONOTONIC);
                *ret = p;
                return 0;
        }

        if (r->shutting_down) {
                lh_error_set(err, "shutting_down", true, "The daemon is shutting down.");
                return -ESHUTDOWN;
        }

        a = realloc(r->projects, (r->n_projects + 1) * sizeof(LhProject *));
        if (!a)
                return -ENOMEM;
        r->projects = a;

        k = project_new(&p, r, root);
        if (k < 0)
                return k;
        p->record.last_resolved = now_usec(CLOCK_MONOTONIC);
        r->projects[r->n_projects++] = p;

        log_debug("Project %s opened (id %s).", p->root, p->id);
        REGISTRY_TELL(r, project_added, p);

        *ret = p;
        return 0;
}

void project_set_default_worker_argv(LhProject *p, char **argv) {
        assert(p);
        strv_free(p->record.default_argv);
        p->record.default_argv = argv;
}

LhProject *registry_find_by_id(LhRegistry *r, const char *id) {
        if (!r || isempty(id))
                return NULL;
        for (size_t i = 0; i < r->n_projects; i++)
                if (streq(r->projects[i]->id, id))
                        return r->projects[i];
        return NULL;
}

LeanReadinessCache *project_get_readiness_cache(LhProject *p) {
        ProjectRecord *rec = &p->record;

        if (!rec->readiness_cache)
                rec->readiness_cache = new0(LeanReadinessCache, 1); /* NULL on OOM: uncached reads */
        return rec->readiness_cache;
}

void *project_get_bus_data(LhProject *p) {
        return p->record.bus_data;
}

void project_set_bus_data(LhProject *p, void *data, void (*free_data)(void *data)) {
        ProjectRecord *rec = &p->record;

        if (rec->bus_data_free && rec->bus_data != data)
                rec->bus_data_free(rec->bus_data);
        rec->bus_data = data;
        rec->bus_data_free = free_data;
}

void *project_get_tools_data(LhProject *p) {
        return p->record.tools_data;
}

void project_set_tools_data(LhProject *p, void *data, void (*free_data)(void *data)) {
        ProjectRecord *rec = &p->record;

        if (rec->tools_data_free && rec->tools_data != data)
                rec->tools_data_free(rec->tools_data);
        rec->tools_data = data;
        rec->tools_data_free = free_data;
}

size_t registry_forget_idle(LhRegistry *r) {
        usec_t now = now_usec(CLOCK_MONOTONIC), idle;
        size_t n = 0;

        if (!r || r->shutting_down || r->config->project_forget_idle_secs == 0)
                return 0;
        idle = r->config->project_forget_idle_secs * USEC_PER_SEC;
        for (size_t i = 0; i < r->n_projects;) {
                LhProject *p = r->projects[i];

                if (!project_is_forgettable(p, now, idle)) {
                        i++;
                        continue;
                }
                log_debug("Project %s idle for %" PRIu64 " s: forgotten.", p->root,
                          r->config->project_forget_idle_secs);
                REGISTRY_TELL(r, project_removed, p);
                r->forgotten_restarts_total += p->restarts.restarts_total;
                for (RestartCause c = 0; c < _RESTART_CAUSE_MAX; c++)
                        r->forgotten_restarts_by_cause[c] += p->restarts.restarts_by_cause[c];
                memmove(r->projects + i, r->projects + i + 1, (r->n_projects - i - 1) * sizeof(LhProject *));
                r->n_projects--;
                registry_project_free(p);
                n++;
        }
        return n;
}

static int on_forget_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        LhRegistry *r = userdata;

        (void) registry_forget_idle(r);
        (void) sd_event_source_set_time_relative(s, registry_forget_period(r));
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

LhProject *registry_get_project(LhRegistry *r, size_t idx) {
        if (!r || idx >= r->n_projects)
                return NULL;
        return r->projects[idx];
}

size_t registry_get_n_projects(LhRegistry *r) {
        return r ? r->n_projects : 0;
}

unsigned registry_get_workers_active(LhRegistry *r) {
        return r ? r->admission.workers_active : 0;
}

uint64_t registry_get_max_workers(LhRegistry *r) {
        return r->admission.max_workers;
}

EnforcementMode registry_get_enforcement(LhRegistry *r) {
        return project_enforcement_for(r->config, r->placer);
}

uint64_t registry_get_restarts_total(LhRegistry *r) {
        uint64_t n = r ? r->forgotten_restarts_total : 0;

        for (size_t i = 0; r && i < r->n_projects; i++)
                n += r->projects[i]->restarts.restarts_total;
        return n;
}

void registry_get_restarts_by_cause(LhRegistry *r, uint64_t by_cause[static _RESTART_CAUSE_MAX]) {
        memset(by_cause, 0, sizeof(uint64_t) * _RESTART_CAUSE_MAX);
        if (r)
                memcpy(by_cause, r->forgotten_restarts_by_cause, sizeof(uint64_t) * _RESTART_CAUSE_MAX);
        for (size_t i = 0; r && i < r->n_projects; i++)
                for (RestartCause c = 0; c < _RESTART_CAUSE_MAX; c++)
                        by_cause[c] += r->projects[i]->restarts.restarts_by_cause[c];
}

void registry_shutdown(LhRegistry *r) {
        if (!r || r->shutting_down)
                return;
        r->shutting_down = true;
        admission_shutdown(&r->admission);

        log_debug("Shutting down %zu project(s).", r->n_projects);
        /* done() callbacks may not add projects (resolve refuses), so the array is stable */
        for (size_t i = 0; i < r->n_projects; i++)
                project_shutdown(r->projects[i]);
        admission_notify_workers(&r->admission);
}

bool registry_is_quiet(LhRegistry *r) {
        if (!r)
                return true;
        for (size_t i = 0; i < r->n_projects; i++)
                if (!project_is_quiet(r->projects[i]))
                        return false;
        return true;
}
