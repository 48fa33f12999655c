/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A stand-in for the project API (project/project.h, facts.h, error.h) so the
 * bus objects can be tested without workers: a registry of fixed projects
 * whose facts the test sets directly. */

#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "bus/test-bus-stub.h"
#include "project/resolve.h"

struct LhRegistry {
        StubProject *projects[STUB_MAX_PROJECTS];
        size_t n_projects;
        unsigned workers_active;
        uint64_t max_workers;
        EnforcementMode enforcement;
        uint64_t restarts_total;
        uint64_t restarts_by_cause[_RESTART_CAUSE_MAX];
};

LhRegistry *stub_registry_new(void) {
        LhRegistry *r = new0(LhRegistry, 1);

        if (!r)
                abort();
        r->max_workers = 4;
        r->enforcement = ENFORCEMENT_MODE_PROCESS;
        return r;
}

void stub_registry_free(LhRegistry *r) {
        for (size_t i = 0; i < r->n_projects; i++) {
                if (r->projects[i]->bus_data_free)
                        r->projects[i]->bus_data_free(r->projects[i]->bus_data);
                free(r->projects[i]->readiness_cache.toolchain_text);
                free(r->projects[i]);
        }
        free(r);
}

StubProject *stub_project_add(LhRegistry *r, const char *root, const char *id) {
        StubProject *p;

        if (r->n_projects >= STUB_MAX_PROJECTS)
                abort();
        p = new0(StubProject, 1);
        if (!p)
                abort();
        snprintf(p->root, sizeof(p->root), "%s", root);
        snprintf(p->id, sizeof(p->id), "%s", id);
        r->projects[r->n_projects++] = p;
        return p;
}

void stub_registry_set(LhRegistry *r, unsigned workers_active, uint64_t restarts_total,
                       const uint64_t by_cause[static _RESTART_CAUSE_MAX]) {
        r->workers_active = workers_active;
        r->restarts_total = restarts_total;
        memcpy(r->restarts_by_cause, by_cause, sizeof(r->restarts_by_cause));
}

/* ---- the project API ---------------------------------------------------- */

int registry_resolve(LhRegistry *r, const char *path, LhProject **ret, LhError *err) {
        for (size_t i = 0; i < r->n_projects; i++) {
                size_t n = strlen(r->projects[i]->root);

                if (strneq(path, r->projects[i]->root, n) && (path[n] == 0 || path[n] == '/')) {
                        *ret = (LhProject *) r->projects[i];
                        return 0;
                }
        }
        lh_error_set(err, "project_not_found", false, "No Lake project (lakefile.lean or lakefile.toml) at or above %s", path);
        return -ENOENT;
}

LhProject *registry_find_by_id(LhRegistry *r, const char *id) {
        for (size_t i = 0; i < r->n_projects; i++)
                if (streq(r->projects[i]->id, id))
                        return (LhProject *) r->projects[i];
        return NULL;
}

LhProject *registry_get_project(LhRegistry *r, size_t idx) {
        return idx < r->n_projects ? (LhProject *) r->projects[idx] : NULL;
}

size_t registry_get_n_projects(LhRegistry *r) {
        return r->n_projects;
}

unsigned registry_get_workers_active(LhRegistry *r) {
        return r->workers_active;
}

uint64_t registry_get_max_workers(LhRegistry *r) {
        return r->max_workers;
}

EnforcementMode registry_get_enforcement(LhRegistry *r) {
        return r->enforcement;
}

uint64_t registry_get_restarts_total(LhRegistry *r) {
        return r->restarts_total;
}

void registry_get_restarts_by_cause(LhRegistry *r, uint64_t by_cause[static _RESTART_CAUSE_MAX]) {
        memcpy(by_cause, r->restarts_by_cause, sizeof(r->restarts_by_cause));
}

const char *project_get_root(const LhProject *p) {
        return ((const StubProject *) p)->root;
}

const char *project_get_id(const LhProject *p) {
        return ((const StubProject *) p)->id;
}

void project_get_facts(LhProject *p, LhFacts *ret) {
        *ret = ((const StubProject *) p)->facts;
}

/* the stub's pool: its one worker, from its facts */
size_t project_get_workers(LhProject *p, LhWorkerFacts *ret, size_t n) {
        const LhFacts *f = &((const StubProject *) p)->facts;

        if (f->worker_pid <= 0)
                return 0;
        if (n > 0) {
                ret[0] = (LhWorkerFacts) { .generation = f->worker_generation, .pid = f->worker_pid, .state = "idle",
                                           .rss_kib = f->rss_kib, .requests_served = f->requests_served };
                snprintf(ret[0].scope_unit, sizeof ret[0].scope_unit, "%s", f->scope_unit);
                snprintf(ret[0].import_profile, sizeof ret[0].import_profile, "%s", f->import_profile);
        }
        return 1;
}

int project_restart_worker(LhProject *p) {
        StubProject *s = (StubProject *) p;

        s->restart_calls++;
        return s->action_result;
}

int project_stop_worker(LhProject *p) {
        StubProject *s = (StubProject *) p;

        s->stop_calls++;
        return s->action_result;
}

void lh_error_set(LhError *e, const char *code, bool retryable, const char *format, ...) {
        va_list ap;

        e->code = code;
        e->retryable = retryable;
        va_start(ap, format);
        vsnprintf(e->message, sizeof(e->message), format, ap);
        va_end(ap);
}

void lh_error_done(LhError *e) {
        if (e->details)
                json_object_put(e->details);
        e->details = NULL;
}

const char *project_state_to_string(ProjectState s) {
        static const char *const table[_PROJECT_STATE_MAX] = {
                [PROJECT_IDLE] = "idle",
                [PROJECT_STARTING] = "starting",
                [PROJECT_BUSY] = "busy",
                [PROJECT_COOLING_DOWN] = "cooling_down",
                [PROJECT_STOPPED] = "stopped",
        };
        return s >= 0 && s < _PROJECT_STATE_MAX ? table[s] : NULL;
}

const char *enforcement_mode_to_string(EnforcementMode m) {
        static const char *const table[_ENFORCEMENT_MODE_MAX] = {
                [ENFORCEMENT_MODE_SCOPE] = "scope",
                [ENFORCEMENT_MODE_PROCESS] = "process",
        };
        return m >= 0 && m < _ENFORCEMENT_MODE_MAX ? table[m] : NULL;
}

LeanReadinessCache *project_get_readiness_cache(LhProject *p) {
        return &((StubProject *) p)->readiness_cache;
}

const LhConfig *project_get_config(const LhProject *p) {
        (void) p;
        return NULL; /* readiness classifies as for the default worker */
}

void *project_get_bus_data(LhProject *p) {
        return ((StubProject *) p)->bus_data;
}

void project_set_bus_data(LhProject *p, void *data, void (*free_data)(void *data)) {
        StubProject *s = (StubProject *) p;

        if (s->bus_data_free && s->bus_data != data)
                s->bus_data_free(s->bus_data);
        s->bus_data = data;
        s->bus_data_free = free_data;
}

/* Resolution "on a thread": the thread does nothing, the stub's
 * registry_resolve() answers when it is done, from the loop. */
static void stub_resolve_run(void *arg) {
        struct stat st;

        (void) stat(arg, &st); /* as realpath() would: it may hang */
}

int registry_resolve_start(LhRegistry *r, sd_event *event, const char *path, ThreadAsyncDone done, void *userdata,
                           ThreadAsync **ret) {
        char *copy = strdup(path);
        int k;

        if (!copy)
                return -ENOMEM;
        k = thread_run_async(event, stub_resolve_run, free, copy, 2 * USEC_PER_SEC, done, userdata, ret);
        if (k < 0)
                free(copy);
        return k;
}

int registry_resolve_finish(LhRegistry *r, void *job, int k, const char *path, LhProject **ret, LhError *err) {
        if (k < 0) {
                project_unresponsive_error(err, path, k);
                return k;
        }
        return registry_resolve(r, job, ret, err);
}

void project_unresponsive_error(LhError *err, const char *path, int k) {
        lh_error_set(err, "path_unresponsive", true, "Looking up %s did not finish in time.", path);
}
