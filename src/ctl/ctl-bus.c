/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The facts as the bus exports them, the bus calls and their errors. */

#include <assert.h>
#include <unistd.h>

#include "basic/path-util.h"
#include "ctl/ctl-hint.h"
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "basic/macro.h"
#include "ctl/ctl.h"

static void by_cause_done(ByCause *b) {
        for (size_t i = 0; i < b->n; i++)
                free(b->items[i].cause);
        b->items = mfree(b->items);
        b->n = 0;
}

static void worker_list_done(WorkerList *w) {
        for (size_t i = 0; i < w->n; i++) {
                free(w->items[i].state);
                free(w->items[i].scope_unit);
                free(w->items[i].import_profile);
        }
        w->items = mfree(w->items);
        w->n = 0;
}

static void restart_info_done(RestartInfo *r) {
        r->cause = mfree(r->cause);
        r->reason = mfree(r->reason);
}

void project_info_done(ProjectInfo *p) {
        assert(p);

        free(p->object);
        free(p->id);
        free(p->root);
        free(p->state);
        free(p->enforcement);
        free(p->scope_unit);
        free(p->import_profile);
        free(p->pool_memory_source);
        free(p->toolchain);
        free(p->readiness);
        by_cause_done(&p->restarts_by_cause);
        restart_info_done(&p->last_restart);
        worker_list_done(&p->workers);
        *p = (ProjectInfo) {};
}

void manager_info_done(ManagerInfo *m) {
        assert(m);

        free(m->version);
        free(m->enforcement);
        free(m->sandbox);
        by_cause_done(&m->restarts_by_cause);
        *m = (ManagerInfo) {};
}

static const char *const prop_signature[] = {
        [PROP_STRING] = "s",
        [PROP_U32] = "u",
        [PROP_U64] = "t",
        [PROP_BY_CAUSE] = "a{st}",
        [PROP_RESTART] = "(sstbtt)",
        [PROP_I64] = "x",
        [PROP_DOUBLE] = "d",
        [PROP_WORKERS] = "a(tussstt)",
};

#define P(n, j, t, f, nl) { n, j, t, offsetof(ProjectInfo, f), nl }
const PropMap project_map[] = {
        P("Id", "id", PROP_STRING, id, false),
        P("Root", "root", PROP_STRING, root, false),
        P("State", "state", PROP_STRING, state, false),
        P("WorkerPID", "worker_pid", PROP_U32, worker_pid, true),
        P("WorkerGeneration", "worker_generation", PROP_U64, worker_generation, false),
        P("EnforcementMode", "enforcement", PROP_STRING, enforcement, false),
        P("ScopeUnit", "scope_unit", PROP_STRING, scope_unit, true),
        P("RssKiB", "rss_kib", PROP_U64, rss_kib, true),
        P("AnonKiB", "anon_kib", PROP_U64, anon_kib, true),
        P("SwapKiB", "swap_kib", PROP_I64, swap_kib, true),
        P("MemoryEventsHigh", "memory_events_high", PROP_I64, events_high, true),
        P("MemoryEventsMax", "memory_events_max", PROP_I64, events_max, true),
        P("MemoryEventsOomKill", "memory_events_oom_kill", PROP_I64, events_oom_kill, true),
        P("MemoryPressureSomeAvg10", "memory_pressure_some_avg10", PROP_DOUBLE, psi_some_avg10, true),
        P("MemoryPressureFullAvg10", "memory_pressure_full_avg10", PROP_DOUBLE, psi_full_avg10, true),
        P("MemoryHighKiB", "memory_high_kib", PROP_U64, memory_high_kib, false),
        P("MemoryMaxKiB", "memory_max_kib", PROP_U64, memory_max_kib, false),
        P("ImportProfile", "import_profile", PROP_STRING, import_profile, true),
        P("ProfileSwitchCount", "profile_switch_count", PROP_U64, profile_switch_count, false),
        P("RestartsTotal", "restarts_total", PROP_U64, restarts_total, false),
        P("RestartsByCause", "restarts_by_cause", PROP_BY_CAUSE, restarts_by_cause, false),
        P("RestartsInWindow", "restarts_in_window", PROP_U32, restarts_in_window, false),
        P("LastRestart", "last_restart", PROP_RESTART, last_restart, true),
        P("Workers", "workers", PROP_WORKERS, workers, false),
        P("PoolMaxWorkers", "pool_max_workers", PROP_U32, pool_max_workers, false),
        P("PoolMemoryKiB", "pool_memory_kib", PROP_U64, pool_memory_kib, false),
        P("PoolMemorySource", "pool_memory_source", PROP_STRING, pool_memory_source, false),
        P("QueueDepth", "queue_depth", PROP_U32, queue_depth, false),
        P("RequestsServed", "requests_served", PROP_U64, requests_served, false),
        P("Toolchain", "toolchain", PROP_STRING, toolchain, false),
        P("Readiness", "readiness", PROP_STRING, readiness, false),
        {}
};
#undef P

#define M(n, j, t, f) { n, j, t, offsetof(ManagerInfo, f), false }
const PropMap manager_map[] = {
        M("Version", "version", PROP_STRING, version),
        M("EnforcementMode", "enforcement", PROP_STRING, enforcement),
        M("WorkersActive", "workers_active", PROP_U32, workers_active),
        M("MaxWorkers", "max_workers", PROP_U64, max_workers),
        M("RestartsTotal", "restarts_total", PROP_U64, restarts_total),
        M("RestartsByCause", "restarts_by_cause", PROP_BY_CAUSE, restarts_by_cause),
        M("ImportSwitchRssSoftKiB", "import_switch_rss_soft_kib", PROP_U64, import_switch_kib),
        M("PostJobRssKiB", "worker_rss_post_job_restart_kib", PROP_U64, post_job_kib),
        M("HardKillRssKiB", "worker_rss_hard_kill_kib", PROP_U64, hard_kill_kib),
        M("RssSampleMillis", "worker_rss_sample_millis", PROP_U64, sample_millis),
        M("RequestTimeoutMillis", "request_timeout_millis", PROP_U64, request_timeout_millis),
        M("MailboxCapacity", "mailbox_capacity", PROP_U64, mailbox_capacity),
        M("RestartLimit", "restart_limit", PROP_U64, restart_limit),
        M("RestartWindowSecs", "restart_window_secs", PROP_U64, restart_window_secs),
        M("Sandbox", "sandbox", PROP_STRING, sandbox),
        {}
};
#undef M

/* An array property ("a" + contents) into items, n, one read_item() per
 * element: it returns 0 at the end, > 0 for an element read, < 0 on error.
 * Every slot is zeroed first and counted even when read_item() failed half
 * way, so the list's _done() frees what it holds. */
static int read_array(sd_bus_message *m, const char *contents, void **items, size_t *n, size_t size,
                      int (*read_item)(sd_bus_message *m, void *item)) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', contents);
        if (r < 0)
                return r;
        for (;;) {
                uint8_t *a = reallocarray(*items, *n + 1, size);

                if (!a)
                        return -ENOMEM;
                *items = a;
                memset(a + *n * size, 0, size);
                r = read_item(m, a + *n * size);
                if (r == 0)
                        break;
                (*n)++;
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(m);
}

static int read_cause_count(sd_bus_message *m, void *item) {
        CauseCount *cc = item;
        const char *cause;
        int r;

        r = sd_bus_message_read(m, "{st}", &cause, &cc->count);
        if (r <= 0)
                return r;
        cc->cause = strdup(cause);
        return cc->cause ? 1 : -ENOMEM;
}

static int read_by_cause(sd_bus_message *m, ByCause *ret) {
        by_cause_done(ret);
        return read_array(m, "{st}", (void **) &ret->items, &ret->n, sizeof(CauseCount), read_cause_count);
}

static int read_worker(sd_bus_message *m, void *item) {
        WorkerInfo *w = item;
        const char *state, *unit, *profile;
        int r;

        r = sd_bus_message_read(m, "(tussstt)", &w->generation, &w->pid, &state, &unit, &profile, &w->rss_kib,
                                &w->requests_served);
        if (r <= 0)
                return r;
        w->state = strdup(state);
        w->scope_unit = strdup(unit);
        w->import_profile = strdup(profile);
        return w->state && w->scope_unit && w->import_profile ? 1 : -ENOMEM;
}

static int read_workers(sd_bus_message *m, WorkerList *ret) {
        worker_list_done(ret);
        return read_array(m, "(tussstt)", (void **) &ret->items, &ret->n, sizeof(WorkerInfo), read_worker);
}

static int read_restart(sd_bus_message *m, RestartInfo *ret) {
        const char *cause, *reason;
        int planned, r;

        restart_info_done(ret);
        r = sd_bus_message_read(m, "(sstbtt)", &cause, &reason, &ret->generation, &planned, &ret->rss_kib,
                                &ret->limit_kib);
        if (r < 0)
                return r;
        ret->planned = planned;
        ret->cause = strdup(cause);
        ret->reason = strdup(reason);
        return ret->cause && ret->reason ? 0 : -ENOMEM;
}

static int read_property(sd_bus_message *m, const PropMap *p, void *base) {
        void *field = (uint8_t *) base + p->offset;
        const char *s;
        int r;

        switch (p->type) {
        case PROP_STRING:
                r = sd_bus_message_read(m, "s", &s);
                if (r < 0)
                        return r;
                free(*(char **) field);
                *(char **) field = strdup(s);
                return *(char **) field ? 0 : -ENOMEM;
        case PROP_U32:
                return sd_bus_message_read(m, "u", (uint32_t *) field);
        case PROP_U64:
                return sd_bus_message_read(m, "t", (uint64_t *) field);
        case PROP_BY_CAUSE:
                return read_by_cause(m, field);
        case PROP_RESTART:
                return read_restart(m, field);
        case PROP_I64:
                return sd_bus_message_read(m, "x", (int64_t *) field);
        case PROP_DOUBLE:
                return sd_bus_message_read(m, "d", (double *) field);
        case PROP_WORKERS:
                return read_workers(m, field);
        }
        return -EINVAL;
}

/* Properties.GetAll into base through map; unknown or retyped properties
 * (a newer daemon) are skipped. */
static int parse_all_properties(sd_bus_message *reply, const PropMap *map, void *base) {
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const PropMap *p = NULL;
                const char *name, *contents;

                r = sd_bus_message_read(reply, "s", &name);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(reply, NULL, &contents);
                if (r < 0)
                        return r;
                for (const PropMap *i = map; i->name; i++)
                        if (streq(i->name, name)) {
                                p = i;
                                break;
                        }
                if (p && streq(contents, prop_signature[p->type])) {
                        r = sd_bus_message_enter_container(reply, 'v', contents);
                        if (r < 0)
                                return r;
                        r = read_property(reply, p, base);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(reply);
                } else
                        r = sd_bus_message_skip(reply, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

/* ------------------------------------------------------------------------
 * errors */

static bool startswith(const char *s, const char *prefix) {
        return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool bus_error_means_not_running(const sd_bus_error *e) {
        if (!sd_bus_error_is_set(e))
                return false;
        return sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
               sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER) ||
               startswith(e->name, "org.freedesktop.DBus.Error.Spawn.") ||
               startswith(e->name, "org.freedesktop.systemd1.");
}

static int ctl_not_running(const Ctl *c, const sd_bus_error *e) {
        if (c->system)
                fprintf(stderr, "lean-hostd is not running on the system bus.\n");
        else {
                fprintf(stderr, "lean-hostd is not running on the user bus.\n");
                ctl_print_not_running_hint(stderr);
                fprintf(stderr,
                        "(bus activation starts it too, on any call such as this one, once the D-Bus\n"
                        "activation file %s.service is installed in a dbus-1/services directory)\n",
                        SERVICE);
        }
        /* activation was tried and failed: say why */
        if (e && !sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) &&
            !sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                fprintf(stderr, "Activation failed: %s\n", e->message ?: e->name);
        return -EHOSTDOWN;
}

/* Report a failed call once; -EHOSTDOWN means "not running" (exit 3). */
int ctl_call_failed(const Ctl *c, const sd_bus_error *e, int r, const char *what) {
        assert(c);

        if (bus_error_means_not_running(e))
                return ctl_not_running(c, e);
        if (sd_bus_error_is_set(e))
                fprintf(stderr, "Failed to %s: %s\n", what, e->message ?: e->name);
        else
                fprintf(stderr, "Failed to %s: %s\n", what, strerror(-r));
        return r < 0 ? r : -EIO;
}

int ctl_exit_code(int r) {
        if (r >= 0)
                return EXIT_OK;
        if (r == -EHOSTDOWN)
                return EXIT_NOT_RUNNING;
        return EXIT_FAILED;
}

/* ------------------------------------------------------------------------
 * bus calls */

static int get_all(Ctl *c, const char *path, const char *iface, const PropMap *map, void *base) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(c->bus, SERVICE, path, "org.freedesktop.DBus.Properties", "GetAll", &error, &reply,
                               "s", iface);
        if (r < 0)
                return ctl_call_failed(c, &error, r, "read the properties of lean-hostd");
        r = parse_all_properties(reply, map, base);
        if (r < 0) {
                fprintf(stderr, "Failed to parse the properties of %s: %s\n", path, strerror(-r));
                return r;
        }
        return 0;
}

int get_manager(Ctl *c, ManagerInfo *ret) {
        assert(c);
        assert(ret);

        return get_all(c, MANAGER_PATH, MANAGER_IFACE, manager_map, ret);
}

int get_project(Ctl *c, const char *object, ProjectInfo *ret) {
        int r;

        assert(c);
        assert(object);
        assert(ret);

        /* a daemon without the kernel facts: not available, not zero */
        ret->swap_kib = ret->events_high = ret->events_max = ret->events_oom_kill = -1;
        ret->psi_some_avg10 = ret->psi_full_avg10 = -1;
        r = get_all(c, object, PROJECT_IFACE, project_map, ret);
        if (r < 0)
                return r;
        ret->object = strdup(object);
        return ret->object ? 0 : -ENOMEM;
}

/* PROJECT on the command line: an existing path or anything with a '/' is a
 * path (made absolute, the daemon resolves it upward to the Lake root);
 * anything else is taken as a project id. */
static int project_argument(const char *arg, char **ret) {
        _cleanup_free_ char *cwd = NULL;

        if (isempty(arg)) {
                fprintf(stderr, "Empty project argument.\n");
                return -EINVAL;
        }
        if (!strchr(arg, '/') && access(arg, F_OK) < 0) {
                *ret = strdup(arg);
                return *ret ? 0 : -ENOMEM;
        }
        if (path_is_absolute(arg)) {
                *ret = strdup(arg);
                return *ret ? 0 : -ENOMEM;
        }
        cwd = getcwd(NULL, 0);
        if (!cwd) {
                fprintf(stderr, "Failed to get the current directory: %m\n");
                return -errno;
        }
        *ret = path_join(cwd, arg);
        return *ret ? 0 : -ENOMEM;
}

int resolve_project(Ctl *c, const char *arg, char **ret_object) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *what = NULL;
        const char *object;
        int r;

        assert(c);
        assert(ret_object);

        r = project_argument(arg, &what);
        if (r < 0)
                return r;
        r = sd_bus_call_method(c->bus, SERVICE, MANAGER_PATH, MANAGER_IFACE, "GetProject", &error, &reply, "s", what);
        if (r < 0) {
                if (bus_error_means_not_running(&error))
                        return ctl_not_running(c, &error);
                fprintf(stderr, "%s\n", error.message ?: strerror(-r));
                return r;
        }
        r = sd_bus_message_read(reply, "o", &object);
        if (r < 0)
                return r;
        *ret_object = strdup(object);
        return *ret_object ? 0 : -ENOMEM;
}

/* ------------------------------------------------------------------------
 * verbs */

int list_project_objects(Ctl *c, char ***ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *id, *root, *state, *object;
        char **l = NULL;
        size_t n = 0;
        int r;

        assert(c);
        assert(ret);

        r = sd_bus_call_method(c->bus, SERVICE, MANAGER_PATH, MANAGER_IFACE, "ListProjects", &error, &reply, NULL);
        if (r < 0)
                return ctl_call_failed(c, &error, r, "list projects");
        r = sd_bus_message_enter_container(reply, 'a', "(ssso)");
        if (r < 0)
                return r;
        l = new0(char *, 1);
        if (!l)
                return -ENOMEM;
        while ((r = sd_bus_message_read(reply, "(ssso)", &id, &root, &state, &object)) > 0) {
                char **a = reallocarray(l, n + 2, sizeof(char *));

                if (!a) {
                        r = -ENOMEM;
                        break;
                }
                l = a;
                l[n] = strdup(object);
                l[n + 1] = NULL;
                if (!l[n]) {
                        r = -ENOMEM;
                        break;
                }
                n++;
        }
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        free(l[i]);
                free(l);
                return r;
        }
        *ret = l;
        return (int) n;
}

/* PROJECT as given on the command line → its facts. */
int get_project_by_argument(Ctl *c, const char *arg, ProjectInfo *ret) {
        _cleanup_free_ char *object = NULL;
        int r;

        assert(c);
        assert(ret);

        r = resolve_project(c, arg, &object);
        if (r < 0)
                return r;
        return get_project(c, object, ret);
}
