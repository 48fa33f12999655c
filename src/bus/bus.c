/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* org.leanhost.Host1: the Manager object at /org/leanhost/Host1 (with an
 * ObjectManager) and one Project object per known project under
 * /org/leanhost/Host1/project/<escaped id>, served from a fallback vtable so
 * nothing has to be registered per project. Every value comes from the
 * project API (project_get_facts() and friends); this file only marshals. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/path-util.h"
#include "bus/bus-emit.h"
#include "bus/bus-files.h"
#include "bus/bus-resolve.h"
#include "bus/bus.h"
#include "lean/readiness.h"
#include "lh-build-config.h"

struct BusService {
        sd_bus *bus;
        sd_event *event;
        LhRegistry *registry;
        const LhConfig *config;

        /* Ours, so freeing the service unregisters everything even when the
         * connection (passed to bus_service_attach()) lives on. */
        sd_bus_slot *slots[6];
        sd_bus_slot *name_slot;
        bool name_acquired;
        bool disconnected;
        bool owns_bus;
        BusResolve *resolves; /* methods waiting for a path's resolution */
        BusEmitter *emitter;  /* PropertiesChanged, coalesced */
};

/* --------------------------------------------------------------------------
 * helpers */

/* D-Bus strings must be valid UTF-8, or the whole message (a ListProjects
 * reply, a GetManagedObjects of every project) fails. Roots are checked at
 * resolution, but reasons are truncated byte-wise and anything may slip
 * through: bytes that are not UTF-8 go out as "\xNN". */
static int append_string(sd_bus_message *m, const char *s) {
        _cleanup_free_ char *escaped = NULL;

        s = strempty(s);
        if (utf8_is_valid(s))
                return sd_bus_message_append(m, "s", s);
        escaped = utf8_escape_invalid(s);
        if (!escaped)
                return -ENOMEM;
        return sd_bus_message_append(m, "s", escaped);
}

static char *string_for_bus(const char *s) {
        return utf8_is_valid(strempty(s)) ? strdup(strempty(s)) : utf8_escape_invalid(s);
}

/* "project_not_found" → "org.leanhost.Host1.Error.ProjectNotFound" */
int bus_error_name_from_code(const char *code, char *buf, size_t size) {
        size_t n, prefix = strlen(BUS_ERROR_PREFIX);
        bool upper = true;

        if (isempty(code) || size <= prefix + 1)
                return -EINVAL;

        memcpy(buf, BUS_ERROR_PREFIX, prefix);
        n = prefix;
        for (const char *c = code; *c; c++) {
                if (*c == '_' || *c == '-' || *c == '.') {
                        upper = true;
                        continue;
                }
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
                        return -EINVAL;
                if (n + 1 >= size)
                        return -ENOBUFS;
                buf[n++] = upper && *c >= 'a' && *c <= 'z' ? (char) (*c - 'a' + 'A') : *c;
                upper = false;
        }
        if (n == prefix)
                return -EINVAL;
        buf[n] = 0;
        return 0;
}

static int bus_error_from_lh_error(sd_bus_error *error, const LhError *err) {
        char name[256];

        if (bus_error_name_from_code(err->code, name, sizeof(name)) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "%s", err->message);
        return sd_bus_error_setf(error, name, "%s", isempty(err->message) ? err->code : err->message);
}

static int append_restarts_by_cause(sd_bus_message *reply, const uint64_t by_cause[static _RESTART_CAUSE_MAX]) {
        int r;

        /* Only causes that happened, like the MCP facts' restarts_by_cause map. */
        r = sd_bus_message_open_container(reply, 'a', "{st}");
        if (r < 0)
                return r;
        for (RestartCause c = 0; c < _RESTART_CAUSE_MAX; c++) {
                if (by_cause[c] == 0)
                        continue;
                r = sd_bus_message_append(reply, "{st}", strempty(restart_cause_to_string(c)), by_cause[c]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

/* --------------------------------------------------------------------------
 * Manager */

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static int property_get_enforcement_mode(sd_bus *bus, const char *path, const char *interface, const char *property,
                                         sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        BusService *b = userdata;

        return sd_bus_message_append(reply, "s", strempty(enforcement_mode_to_string(registry_get_enforcement(b->registry))));
}

/* A Manager property that is one registry getter: D-Bus signature, C type. */
#define DEFINE_REGISTRY_PROPERTY(name, signature, type, getter)                                                   \
        static int property_get_##name(sd_bus *bus, const char *path, const char *interface, const char *property, \
                                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {              \
                BusService *b = userdata;                                                                         \
                return sd_bus_message_append(reply, signature, (type) getter(b->registry));                       \
        }

DEFINE_REGISTRY_PROPERTY(workers_active, "u", uint32_t, registry_get_workers_active)
DEFINE_REGISTRY_PROPERTY(max_workers, "t", uint64_t, registry_get_max_workers)
DEFINE_REGISTRY_PROPERTY(manager_restarts_total, "t", uint64_t, registry_get_restarts_total)

static int property_get_manager_restarts_by_cause(sd_bus *bus, const char *path, const char *interface, const char *property,
                                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        BusService *b = userdata;
        uint64_t by_cause[_RESTART_CAUSE_MAX] = {};

        registry_get_restarts_by_cause(b->registry, by_cause);
        return append_restarts_by_cause(reply, by_cause);
}

static int method_list_projects(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        BusService *b = userdata;
        LhProject *p;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssso)");
        if (r < 0)
                return r;
        for (size_t i = 0; (p = registry_get_project(b->registry, i)); i++) {
                _cleanup_free_ char *path = NULL, *root = NULL;
                LhFacts f;

                r = bus_project_path(p, &path);
                if (r < 0)
                        return r;
                root = string_for_bus(project_get_root(p));
                if (!root)
                        return -ENOMEM;
                project_get_facts(p, &f);
                r = sd_bus_message_append(reply, "(ssso)", project_get_id(p), root,
                                          strempty(project_state_to_string(f.state)), path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int project_action(sd_bus_message *m, LhProject *p, bool stop, sd_bus_error *error) {
        int r;

        r = stop ? project_stop_worker(p) : project_restart_worker(p);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to %s the worker of %s: %m",
                                               stop ? "stop" : "restart", project_get_root(p));
        return sd_bus_reply_method_return(m, NULL);
}

/* RestartWorker/StopWorker as the userdata of on_project_resolved (NULL: GetProject). */
#define BUS_ACTION_RESTART ((void *) (uintptr_t) 1)
#define BUS_ACTION_STOP ((void *) (uintptr_t) 2)

/* Continues GetProject/RestartWorker/StopWorker once the project is known. */
static int on_project_resolved(sd_bus_message *m, LhProject *p, int k, const LhError *err, void *userdata,
                               sd_bus_error *error) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (k < 0) {
                if (err && err->code)
                        return bus_error_from_lh_error(error, err);
                return sd_bus_error_set_errnof(error, k, "Failed to resolve the project: %m");
        }
        if (userdata)
                return project_action(m, p, userdata == BUS_ACTION_STOP, error);
        r = bus_project_path(p, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "o", path);
}

/* An id or a known project answers at once; a path is resolved off the loop (1: answered later). */
static int bus_find_project(BusService *b, sd_bus_message *m, const char *what, void *action, sd_bus_error *error) {
        LhProject *p;

        if (isempty(what))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Empty project root, path or id.");
        p = registry_find_by_id(b->registry, what);
        if (p)
                return on_project_resolved(m, p, 0, NULL, action, error);
        if (what[0] != '/')
                return sd_bus_error_setf(error, BUS_ERROR_PREFIX "ProjectNotFound",
                                         "No known project has id '%s', and it is not an absolute path.", what);
        return bus_resolve_start(&b->resolves, b->registry, b->event, m, what, on_project_resolved, action);
}

/* GetProject, RestartWorker and StopWorker: a project's root, path or id;
 * the member says what to do once it is found. */
static int method_find_project(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *what;
        int r;

        r = sd_bus_message_read(m, "s", &what);
        if (r < 0)
                return r;
        return bus_find_project(userdata, m, what,
                                sd_bus_message_is_method_call(m, NULL, "StopWorker") > 0    ? BUS_ACTION_STOP :
                                sd_bus_message_is_method_call(m, NULL, "RestartWorker") > 0 ? BUS_ACTION_RESTART :
                                                                                              NULL,
                                error);
}

/* Sampled memory is read on demand (flags 0 → EmitsChangedSignal=false);
 * everything that changes with state, workers or restarts is signalled. */
static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("EnforcementMode", "s", property_get_enforcement_mode, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("WorkersActive", "u", property_get_workers_active, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MaxWorkers", "t", property_get_max_workers, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RestartsTotal", "t", property_get_manager_restarts_total, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RestartsByCause", "a{st}", property_get_manager_restarts_by_cause, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("ListProjects",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ssso)", projects),
                                method_list_projects, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetProject",
                                SD_BUS_ARGS("s", root_or_path),
                                SD_BUS_RESULT("o", project),
                                method_find_project, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RestartWorker",
                                SD_BUS_ARGS("s", root),
                                SD_BUS_NO_RESULT,
                                method_find_project, 0),
        SD_BUS_METHOD_WITH_ARGS("StopWorker",
                                SD_BUS_ARGS("s", root),
                                SD_BUS_NO_RESULT,
                                method_find_project, 0),
        SD_BUS_SIGNAL_WITH_ARGS("WorkerRestarted",
                                SD_BUS_ARGS("o", project, "s", cause, "s", reason, "t", generation,
                                            "b", planned, "t", rss_kib, "t", limit_kib),
                                0),
        SD_BUS_VTABLE_END,
};

/* worker.sandbox: "none" or "bwrap" (userdata: the LhConfig field). */
static int property_get_sandbox(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", strna(sandbox_mode_to_string(*(const SandboxMode *) userdata)));
}

/* Read straight from the LhConfig (userdata) at the given offsets. */
static const sd_bus_vtable manager_config_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("ImportSwitchRssSoftKiB", "t", NULL, offsetof(LhConfig, import_switch_rss_soft_kib), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PostJobRssKiB", "t", NULL, offsetof(LhConfig, worker_rss_post_job_restart_kib), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("HardKillRssKiB", "t", NULL, offsetof(LhConfig, worker_rss_hard_kill_kib), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RssSampleMillis", "t", NULL, offsetof(LhConfig, worker_rss_sample_millis), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RequestTimeoutMillis", "t", NULL, offsetof(LhConfig, request_timeout_millis), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("MailboxCapacity", "t", NULL, offsetof(LhConfig, mailbox_capacity), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RestartLimit", "t", NULL, offsetof(LhConfig, restart_limit), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RestartWindowSecs", "t", NULL, offsetof(LhConfig, restart_window_secs), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Sandbox", "s", property_get_sandbox, offsetof(LhConfig, sandbox), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END,
};

/* --------------------------------------------------------------------------
 * Project */

#define DEFINE_FACTS_GETTER(name, sig, type, expr)                                                        \
        static int property_get_##name(sd_bus *bus, const char *path, const char *interface,             \
                                       const char *property, sd_bus_message *reply, void *userdata,      \
                                       sd_bus_error *error) {                                            \
                LhFacts f;                                                                                \
                project_get_facts(userdata, &f);                                                          \
                return sd_bus_message_append(reply, sig, (type) (expr));                                  \
        }

DEFINE_FACTS_GETTER(state, "s", const char *, strempty(project_state_to_string(f.state)));
DEFINE_FACTS_GETTER(worker_pid, "u", uint32_t, f.worker_pid > 0 ? f.worker_pid : 0);
DEFINE_FACTS_GETTER(worker_generation, "t", uint64_t, f.worker_generation);
DEFINE_FACTS_GETTER(project_enforcement_mode, "s", const char *, strempty(enforcement_mode_to_string(f.enforcement)));
#define DEFINE_FACTS_STRING_GETTER(name, field)                                                            \
        static int property_get_##name(sd_bus *bus, const char *path, const char *interface,             \
                                       const char *property, sd_bus_message *reply, void *userdata,      \
                                       sd_bus_error *error) {                                            \
                LhFacts f;                                                                                \
                project_get_facts(userdata, &f);                                                          \
                return append_string(reply, f.field);                                                     \
        }

DEFINE_FACTS_STRING_GETTER(scope_unit, scope_unit);
DEFINE_FACTS_STRING_GETTER(pool_memory_source, pool_memory_source);
DEFINE_FACTS_GETTER(pool_memory_kib, "t", uint64_t, f.pool_memory_kib);
DEFINE_FACTS_GETTER(pool_max_workers, "u", uint32_t, f.pool_max_workers);
DEFINE_FACTS_GETTER(rss_kib, "t", uint64_t, f.rss_kib);
DEFINE_FACTS_GETTER(anon_kib, "t", uint64_t, f.anon_kib);
/* kernel facts, cgroup v2 only: -1 = not available (cgroup v1, process mode, no worker) */
DEFINE_FACTS_GETTER(swap_kib, "x", int64_t, f.swap_valid ? (int64_t) f.swap_kib : -1);
DEFINE_FACTS_GETTER(memory_events_high, "x", int64_t, f.events_valid ? (int64_t) f.memory_events_high : -1);
DEFINE_FACTS_GETTER(memory_events_max, "x", int64_t, f.events_valid ? (int64_t) f.memory_events_max : -1);
DEFINE_FACTS_GETTER(memory_events_oom_kill, "x", int64_t, f.events_valid ? (int64_t) f.memory_events_oom_kill : -1);
DEFINE_FACTS_GETTER(memory_pressure_some_avg10, "d", double, f.pressure_valid ? f.memory_pressure_some_avg10 : -1.0);
DEFINE_FACTS_GETTER(memory_pressure_full_avg10, "d", double, f.pressure_valid ? f.memory_pressure_full_avg10 : -1.0);
DEFINE_FACTS_GETTER(memory_high_kib, "t", uint64_t, f.memory_high_kib);
DEFINE_FACTS_GETTER(memory_max_kib, "t", uint64_t, f.memory_max_kib);
DEFINE_FACTS_STRING_GETTER(import_profile, import_profile);
DEFINE_FACTS_GETTER(profile_switch_count, "t", uint64_t, f.profile_switch_count);
DEFINE_FACTS_GETTER(project_restarts_total, "t", uint64_t, f.restarts_total);
DEFINE_FACTS_GETTER(restarts_in_window, "u", uint32_t, f.restarts_in_window);
DEFINE_FACTS_GETTER(queue_depth, "u", uint32_t, f.queue_depth);
DEFINE_FACTS_GETTER(requests_served, "t", uint64_t, f.requests_served);

/* LhFacts's strings are arrays: the (type) cast above turns them into pointers. */

static int property_get_root(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return append_string(reply, project_get_root(userdata));
}

static int property_get_id(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", strempty(project_get_id(userdata)));
}

static int property_get_project_restarts_by_cause(sd_bus *bus, const char *path, const char *interface, const char *property,
                                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        LhFacts f;

        project_get_facts(userdata, &f);
        return append_restarts_by_cause(reply, f.restarts_by_cause);
}

/* The pool's live workers: (generation, pid, state, scope unit, import
 * profile, rss KiB, requests served); read on demand, never signalled. */
static int property_get_workers(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        LhWorkerFacts w[64];
        size_t n = MIN(project_get_workers(userdata, w, ELEMENTSOF(w)), ELEMENTSOF(w));
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(tussstt)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                /* a profile is module names from a call: valid UTF-8 only after string_for_bus */
                r = sd_bus_message_open_container(reply, 'r', "tussstt");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "tus", w[i].generation, (uint32_t) MAX(w[i].pid, 0),
                                                  w[i].state);
                if (r >= 0)
                        r = append_string(reply, w[i].scope_unit);
                if (r >= 0)
                        r = append_string(reply, w[i].import_profile);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "tt", w[i].rss_kib, w[i].requests_served);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int append_restart_event(sd_bus_message *reply, const RestartEvent *e) {
        _cleanup_free_ char *reason = NULL;

        if (!e->valid)
                return sd_bus_message_append(reply, "(sstbtt)", "", "", UINT64_C(0), 0, UINT64_C(0), UINT64_C(0));
        reason = string_for_bus(e->reason);
        if (!reason)
                return -ENOMEM;
        return sd_bus_message_append(reply, "(sstbtt)",
                                     strempty(restart_cause_to_string(e->cause)), reason,
                                     e->worker_generation, (int) e->planned, e->rss_kib, e->limit_kib);
}

static int property_get_last_restart(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        LhFacts f;

        project_get_facts(userdata, &f);
        return append_restart_event(reply, &f.last_restart);
}

/* Toolchain: the pin the project declares, as written (first line of
 * <root>/lean-toolchain, "" when absent or when the files do not answer):
 * a file's content, not a runtime fact. lean_toolchain_read() would reject
 * a malformed pin; operators should see what the file says.
 *
 * Readiness: classified from the project's files (no worker needed): the
 * same classifier the tools run before a job, off the loop; answered from
 * what the last look-up found (see bus-files.h): "unknown" until the first
 * one is done, and when the files do not answer in time. "stale" needs the
 * stamp the live worker started with, which the tools layer keeps: the bus
 * reports what a new worker would find. */
static int property_get_project_files(sd_bus *bus, const char *path, const char *interface, const char *property,
                                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        _cleanup_(bus_project_files_done) BusProjectFiles f = {};

        if (bus_project_files_get(sd_bus_get_event(bus), userdata, project_get_config(userdata), &f) == -ENOMEM)
                return -ENOMEM;
        return append_string(reply, streq(property, "Toolchain") ? f.toolchain : f.readiness);
}

/* Restart and Stop on a project's object */
static int method_project_action(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return project_action(m, userdata, sd_bus_message_is_method_call(m, NULL, "Stop") > 0, error);
}

#define EMITS SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
static const sd_bus_vtable project_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", property_get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Root", "s", property_get_root, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        /* PROJECT_CHANGE_STATE */
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, EMITS),
        SD_BUS_PROPERTY("QueueDepth", "u", property_get_queue_depth, 0, EMITS),
        SD_BUS_PROPERTY("RequestsServed", "t", property_get_requests_served, 0, EMITS),
        /* PROJECT_CHANGE_WORKER */
        SD_BUS_PROPERTY("WorkerPID", "u", property_get_worker_pid, 0, EMITS),
        SD_BUS_PROPERTY("WorkerGeneration", "t", property_get_worker_generation, 0, EMITS),
        SD_BUS_PROPERTY("EnforcementMode", "s", property_get_project_enforcement_mode, 0, EMITS),
        SD_BUS_PROPERTY("ScopeUnit", "s", property_get_scope_unit, 0, EMITS),
        SD_BUS_PROPERTY("MemoryHighKiB", "t", property_get_memory_high_kib, 0, EMITS),
        SD_BUS_PROPERTY("MemoryMaxKiB", "t", property_get_memory_max_kib, 0, EMITS),
        SD_BUS_PROPERTY("ImportProfile", "s", property_get_import_profile, 0, EMITS),
        SD_BUS_PROPERTY("ProfileSwitchCount", "t", property_get_profile_switch_count, 0, EMITS),
        /* sampled every RssSampleMillis: read on demand, never signalled */
        SD_BUS_PROPERTY("RssKiB", "t", property_get_rss_kib, 0, 0),
        SD_BUS_PROPERTY("Workers", "a(tussstt)", property_get_workers, 0, 0),
        /* the pool's limits: the slice's memory.max may change under us, read on demand */
        SD_BUS_PROPERTY("PoolMaxWorkers", "u", property_get_pool_max_workers, 0, 0),
        SD_BUS_PROPERTY("PoolMemoryKiB", "t", property_get_pool_memory_kib, 0, 0),
        SD_BUS_PROPERTY("PoolMemorySource", "s", property_get_pool_memory_source, 0, 0),
        SD_BUS_PROPERTY("AnonKiB", "t", property_get_anon_kib, 0, 0),
        SD_BUS_PROPERTY("SwapKiB", "x", property_get_swap_kib, 0, 0),
        SD_BUS_PROPERTY("MemoryEventsHigh", "x", property_get_memory_events_high, 0, 0),
        SD_BUS_PROPERTY("MemoryEventsMax", "x", property_get_memory_events_max, 0, 0),
        SD_BUS_PROPERTY("MemoryEventsOomKill", "x", property_get_memory_events_oom_kill, 0, 0),
        SD_BUS_PROPERTY("MemoryPressureSomeAvg10", "d", property_get_memory_pressure_some_avg10, 0, 0),
        SD_BUS_PROPERTY("MemoryPressureFullAvg10", "d", property_get_memory_pressure_full_avg10, 0, 0),
        /* PROJECT_CHANGE_RESTARTS */
        SD_BUS_PROPERTY("RestartsTotal", "t", property_get_project_restarts_total, 0, EMITS),
        SD_BUS_PROPERTY("RestartsByCause", "a{st}", property_get_project_restarts_by_cause, 0, EMITS),
        SD_BUS_PROPERTY("RestartsInWindow", "u", property_get_restarts_in_window, 0, EMITS),
        SD_BUS_PROPERTY("LastRestart", "(sstbtt)", property_get_last_restart, 0, EMITS),
        /* read on demand (a file / no API yet), never signalled */
        SD_BUS_PROPERTY("Toolchain", "s", property_get_project_files, 0, 0),
        SD_BUS_PROPERTY("Readiness", "s", property_get_project_files, 0, 0),
        SD_BUS_METHOD("Restart", NULL, NULL, method_project_action, 0),
        SD_BUS_METHOD("Stop", NULL, NULL, method_project_action, 0),
        SD_BUS_VTABLE_END,
};
#undef EMITS

static int project_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                               void **found, sd_bus_error *error) {
        _cleanup_free_ char *id = NULL;
        BusService *b = userdata;
        LhProject *p;
        int r;

        r = sd_bus_path_decode(path, BUS_PROJECT_PATH_PREFIX, &id);
        if (r <= 0)
                return r;
        p = registry_find_by_id(b->registry, id);
        if (!p)
                return 0;
        *found = p;
        return 1;
}

static int project_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        BusService *b = userdata;
        size_t n = registry_get_n_projects(b->registry), k = 0;
        char **l;
        LhProject *p;
        int r;

        l = new0(char *, n + 1);
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; k < n && (p = registry_get_project(b->registry, i)); i++) {
                r = bus_project_path(p, &l[k]);
                if (r < 0) {
                        for (size_t j = 0; j < k; j++)
                                free(l[j]);
                        free(l);
                        return r;
                }
                k++;
        }
        *nodes = l;
        return 0;
}

/* --------------------------------------------------------------------------
 * events from the manager */

void bus_service_project_added(BusService *b, LhProject *p) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (!b || !p || b->disconnected)
                return;
        r = bus_project_path(p, &path);
        if (r >= 0)
                r = sd_bus_emit_object_added(b->bus, path);
        if (r < 0)
                log_debug_errno(r, "Failed to emit InterfacesAdded for %s: %m", project_get_root(p));
}

void bus_service_project_changed(BusService *b, LhProject *p, ProjectChange what) {
        if (!b || !p || b->disconnected)
                return;
        /* marked only: one signal per object per loop turn (bus-emit.c) */
        bus_emitter_project_changed(b->emitter, p, what);
}

void bus_service_project_removed(BusService *b, LhProject *p) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (!b || !p || b->disconnected)
                return;
        bus_emitter_project_removed(b->emitter, p);
        r = bus_project_path(p, &path);
        if (r >= 0)
                r = sd_bus_emit_object_removed(b->bus, path);
        if (r < 0)
                log_debug_errno(r, "Failed to emit InterfacesRemoved for %s: %m", project_get_root(p));
}

void bus_service_worker_restarted(BusService *b, LhProject *p, const RestartEvent *ev) {
        _cleanup_free_ char *path = NULL, *reason = NULL;
        int r;

        if (!b || !p || !ev || b->disconnected)
                return;
        r = bus_project_path(p, &path);
        if (r < 0)
                return;
        reason = string_for_bus(ev->reason);
        if (!reason)
                return;

        r = sd_bus_emit_signal(b->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "WorkerRestarted",
                               "osstbtt", path, strempty(restart_cause_to_string(ev->cause)), reason,
                               ev->worker_generation, (int) ev->planned, ev->rss_kib, ev->limit_kib);
        if (r < 0)
                log_debug_errno(r, "Failed to emit WorkerRestarted: %m");
        bus_emitter_manager_changed(b->emitter, BUS_MANAGER_CHANGE_RESTARTS);
}

void bus_service_workers_changed(BusService *b) {
        if (!b || b->disconnected)
                return;
        bus_emitter_manager_changed(b->emitter, BUS_MANAGER_CHANGE_WORKERS);
}

/* The registry tells the service directly (registry_set_observer(r,
 * &bus_registry_observer, b), set once by the daemon): nothing relays. */
static void observe_project_added(LhProject *p, void *userdata) {
        bus_service_project_added(userdata, p);
}

static void observe_project_changed(LhProject *p, ProjectChange what, void *userdata) {
        bus_service_project_changed(userdata, p, what);
}

static void observe_worker_restarted(LhProject *p, const RestartEvent *ev, void *userdata) {
        bus_service_worker_restarted(userdata, p, ev);
}

static void observe_workers_changed(LhRegistry *r, unsigned n, void *userdata) {
        bus_service_workers_changed(userdata);
}

static void observe_project_removed(LhProject *p, void *userdata) {
        bus_service_project_removed(userdata, p);
}

const RegistryObserver bus_registry_observer = {
        .project_added = observe_project_added,
        .project_changed = observe_project_changed,
        .worker_restarted = observe_worker_restarted,
        .workers_changed = observe_workers_changed,
        .project_removed = observe_project_removed,
};

/* --------------------------------------------------------------------------
 * setup */

static int on_name_acquired(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        BusService *b = userdata;
        const sd_bus_error *e;

        bus_resolve_cancel_all(&b->resolves);
        b->name_slot = sd_bus_slot_unref(b->name_slot);

        e = sd_bus_message_get_error(m);
        if (e) {
                log_warning("Failed to acquire bus name %s, objects stay reachable by unique name only: %s",
                            BUS_SERVICE_NAME, e->message ?: e->name);
                return 0;
        }
        b->name_acquired = true;
        log_debug("Acquired bus name %s.", BUS_SERVICE_NAME);
        return 0;
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        BusService *b = userdata;

        /* The daemon keeps serving MCP; D-Bus is an observer, not a dependency. */
        if (!b->disconnected)
                log_warning("Disconnected from the bus, continuing without D-Bus.");
        b->disconnected = true;
        return 0;
}

int bus_service_attach(BusService **ret, sd_bus *bus, sd_event *event, LhRegistry *registry,
                       const LhConfig *config, bool request_name) {
        _cleanup_(bus_service_freep) BusService *b = NULL;
        int r;

        b = new0(BusService, 1);
        if (!b)
                return log_oom();
        b->bus = sd_bus_ref(bus);
        b->event = sd_event_ref(event);
        b->registry = registry;
        b->config = config;
        r = bus_emitter_new(&b->emitter, b->bus, event, registry);
        if (r < 0)
                return log_error_errno(r, "Failed to set up PropertiesChanged: %m");

        r = sd_bus_add_object_vtable(b->bus, &b->slots[0], BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, manager_vtable, b);
        if (r < 0)
                return log_error_errno(r, "Failed to register the Manager object: %m");
        r = sd_bus_add_object_vtable(b->bus, &b->slots[1], BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE,
                                     manager_config_vtable, (void *) config);
        if (r < 0)
                return log_error_errno(r, "Failed to register the Manager's configuration properties: %m");
        r = sd_bus_add_fallback_vtable(b->bus, &b->slots[2], BUS_PROJECT_PATH_PREFIX, BUS_PROJECT_INTERFACE,
                                       project_vtable, project_object_find, b);
        if (r < 0)
                return log_error_errno(r, "Failed to register the Project objects: %m");
        r = sd_bus_add_node_enumerator(b->bus, &b->slots[3], BUS_PROJECT_PATH_PREFIX, project_node_enumerator, b);
        if (r < 0)
                return log_error_errno(r, "Failed to register the Project enumerator: %m");
        r = sd_bus_add_object_manager(b->bus, &b->slots[4], BUS_MANAGER_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to register the ObjectManager: %m");

        r = sd_bus_match_signal_async(b->bus, &b->slots[5], "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                      "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, NULL, b);
        if (r < 0)
                log_debug_errno(r, "Failed to watch for bus disconnection, ignoring: %m");

        if (request_name) {
                r = sd_bus_request_name_async(b->bus, &b->name_slot, BUS_SERVICE_NAME, 0, on_name_acquired, b);
                if (r < 0)
                        return log_error_errno(r, "Failed to request bus name %s: %m", BUS_SERVICE_NAME);
        }

        if (!sd_bus_get_event(b->bus)) {
                r = sd_bus_attach_event(b->bus, event, SD_EVENT_PRIORITY_NORMAL);
                if (r < 0)
                        return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        }

        *ret = TAKE_PTR(b);
        return 0;
}

int bus_service_new(BusService **ret, sd_event *event, LhRegistry *registry, const LhConfig *config, bool use_system) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = use_system ? sd_bus_open_system_with_description(&bus, "lean-hostd")
                       : sd_bus_open_user_with_description(&bus, "lean-hostd");
        if (r < 0) {
                log_info_errno(r, "No %s bus (%m), org.leanhost.Host1 is not published.", use_system ? "system" : "user");
                *ret = NULL;
                return 0;
        }

        r = bus_service_attach(ret, bus, event, registry, config, true);
        if (r < 0)
                return r;
        (*ret)->owns_bus = true;
        sd_bus_unref(TAKE_PTR(bus)); /* the service holds its own reference */
        return 0;
}

BusService *bus_service_free(BusService *b) {
        if (!b)
                return NULL;

        bus_resolve_cancel_all(&b->resolves);
        if (b->emitter && !b->disconnected)
                bus_emitter_flush(b->emitter); /* what changed last still goes out */
        b->emitter = bus_emitter_free(b->emitter);
        b->name_slot = sd_bus_slot_unref(b->name_slot);
        for (size_t i = 0; i < ELEMENTSOF(b->slots); i++)
                b->slots[i] = sd_bus_slot_unref(b->slots[i]);
        if (b->bus) {
                if (b->owns_bus) {
                        (void) sd_bus_detach_event(b->bus);
                        b->bus = sd_bus_flush_close_unref(b->bus);
                } else
                        b->bus = sd_bus_unref(b->bus);
        }
        b->event = sd_event_unref(b->event);
        return mfree(b);
}

bool bus_service_has_name(const BusService *b) {
        return b && b->name_acquired;
}
