/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean-hostctl: the operator's view of lean-hostd, over D-Bus only
 * (org.leanhost.Host1). Knows the bus API, nothing of the daemon's insides.
 *
 * Exit codes: 0 ok, 1 failure, 2 usage, 3 lean-hostd not running. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "basic/macro.h"
#include "basic/path-util.h"
#include "lh-build-config.h"
#include "ctl/ctl-hint.h"
#include "ctl/doctor.h"

#define SERVICE "org.leanhost.Host1"
#define MANAGER_PATH "/org/leanhost/Host1"
#define MANAGER_IFACE "org.leanhost.Host1.Manager"
#define PROJECT_IFACE "org.leanhost.Host1.Project"

enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,
        EXIT_USAGE = 2,
        EXIT_NOT_RUNNING = 3,
};

typedef struct Ctl {
        sd_bus *bus;
        bool system;
        bool json;
        bool color;
} Ctl;

/* ------------------------------------------------------------------------
 * colours: only on a tty, and never with NO_COLOR or TERM=dumb */

#define ANSI_NORMAL "\x1b[0m"
#define ANSI_BOLD "\x1b[1m"
#define ANSI_RED "\x1b[0;31m"
#define ANSI_GREEN "\x1b[0;32m"
#define ANSI_YELLOW "\x1b[0;33m"
#define ANSI_GREY "\x1b[0;38;5;245m"

static bool color_wanted(void) {
        const char *term = getenv("TERM");

        if (getenv("NO_COLOR"))
                return false;
        if (term && streq(term, "dumb"))
                return false;
        return isatty(STDOUT_FILENO) > 0;
}

static const char *on(const Ctl *c, const char *code) {
        return c->color ? code : "";
}

static const char *off(const Ctl *c) {
        return c->color ? ANSI_NORMAL : "";
}

static const char *state_color(const char *state) {
        if (!state)
                return NULL;
        if (streq(state, "busy") || streq(state, "starting"))
                return ANSI_GREEN;
        if (streq(state, "cooling_down"))
                return ANSI_RED;
        if (streq(state, "stopped"))
                return ANSI_GREY;
        return NULL;
}

/* ------------------------------------------------------------------------
 * the facts as the bus exports them */

typedef struct CauseCount {
        char *cause;
        uint64_t count;
} CauseCount;

typedef struct ByCause {
        CauseCount *items;
        size_t n;
} ByCause;

typedef struct RestartInfo {
        char *cause; /* "" = none */
        char *reason;
        uint64_t generation;
        bool planned;
        uint64_t rss_kib, limit_kib;
} RestartInfo;

typedef struct ProjectInfo {
        char *object;
        char *id, *root, *state, *enforcement, *scope_unit, *import_profile, *toolchain, *readiness;
        uint32_t worker_pid, queue_depth, restarts_in_window;
        uint64_t worker_generation, requests_served, rss_kib, anon_kib, memory_high_kib, memory_max_kib;
        uint64_t profile_switch_count, restarts_total;
        ByCause restarts_by_cause;
        RestartInfo last_restart;
        /* kernel facts (cgroup v2): -1 = not available */
        int64_t swap_kib, events_high, events_max, events_oom_kill;
        double psi_some_avg10, psi_full_avg10;
} ProjectInfo;

typedef struct ManagerInfo {
        char *version, *enforcement, *sandbox;
        uint32_t workers_active;
        uint64_t max_workers, restarts_total;
        ByCause restarts_by_cause;
        uint64_t import_switch_kib, post_job_kib, hard_kill_kib, sample_millis;
        uint64_t request_timeout_millis, mailbox_capacity, restart_limit, restart_window_secs;
} ManagerInfo;

static void by_cause_done(ByCause *b) {
        for (size_t i = 0; i < b->n; i++)
                free(b->items[i].cause);
        b->items = mfree(b->items);
        b->n = 0;
}

static void restart_info_done(RestartInfo *r) {
        r->cause = mfree(r->cause);
        r->reason = mfree(r->reason);
}

static void project_info_done(ProjectInfo *p) {
        free(p->object);
        free(p->id);
        free(p->root);
        free(p->state);
        free(p->enforcement);
        free(p->scope_unit);
        free(p->import_profile);
        free(p->toolchain);
        free(p->readiness);
        by_cause_done(&p->restarts_by_cause);
        restart_info_done(&p->last_restart);
        *p = (ProjectInfo) {};
}

static void manager_info_done(ManagerInfo *m) {
        free(m->version);
        free(m->enforcement);
        free(m->sandbox);
        by_cause_done(&m->restarts_by_cause);
        *m = (ManagerInfo) {};
}

typedef enum PropType {
        PROP_STRING,   /* s */
        PROP_U32,      /* u */
        PROP_U64,      /* t */
        PROP_BY_CAUSE, /* a{st} */
        PROP_RESTART,  /* (sstbtt) */
        PROP_I64,      /* x, -1 = not available (JSON null) */
        PROP_DOUBLE,   /* d, < 0 = not available (JSON null) */
} PropType;

/* name on the bus → field; json: the MCP runtime-facts name where there is one;
 * nullable: 0 / "" is JSON null, as in the MCP facts. */
typedef struct PropMap {
        const char *name;
        const char *json;
        PropType type;
        size_t offset;
        bool nullable;
} PropMap;

static const char *const prop_signature[] = {
        [PROP_STRING] = "s",
        [PROP_U32] = "u",
        [PROP_U64] = "t",
        [PROP_BY_CAUSE] = "a{st}",
        [PROP_RESTART] = "(sstbtt)",
        [PROP_I64] = "x",
        [PROP_DOUBLE] = "d",
};

#define P(n, j, t, f, nl) { n, j, t, offsetof(ProjectInfo, f), nl }
static const PropMap project_map[] = {
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
        P("QueueDepth", "queue_depth", PROP_U32, queue_depth, false),
        P("RequestsServed", "requests_served", PROP_U64, requests_served, false),
        P("Toolchain", "toolchain", PROP_STRING, toolchain, false),
        P("Readiness", "readiness", PROP_STRING, readiness, false),
        {}
};
#undef P

#define M(n, j, t, f) { n, j, t, offsetof(ManagerInfo, f), false }
static const PropMap manager_map[] = {
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

static int read_by_cause(sd_bus_message *m, ByCause *ret) {
        const char *cause;
        uint64_t count;
        int r;

        by_cause_done(ret);
        r = sd_bus_message_enter_container(m, 'a', "{st}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "{st}", &cause, &count)) > 0) {
                CauseCount *a = reallocarray(ret->items, ret->n + 1, sizeof(CauseCount));

                if (!a)
                        return -ENOMEM;
                ret->items = a;
                a[ret->n].cause = strdup(cause);
                if (!a[ret->n].cause)
                        return -ENOMEM;
                a[ret->n++].count = count;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
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

static int not_running(const Ctl *c, const sd_bus_error *e) {
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
static int call_failed(const Ctl *c, const sd_bus_error *e, int r, const char *what) {
        if (bus_error_means_not_running(e))
                return not_running(c, e);
        if (sd_bus_error_is_set(e))
                fprintf(stderr, "Failed to %s: %s\n", what, e->message ?: e->name);
        else
                fprintf(stderr, "Failed to %s: %s\n", what, strerror(-r));
        return r < 0 ? r : -EIO;
}

static int exit_code(int r) {
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
                return call_failed(c, &error, r, "read the properties of lean-hostd");
        r = parse_all_properties(reply, map, base);
        if (r < 0) {
                fprintf(stderr, "Failed to parse the properties of %s: %s\n", path, strerror(-r));
                return r;
        }
        return 0;
}

static int get_manager(Ctl *c, ManagerInfo *ret) {
        return get_all(c, MANAGER_PATH, MANAGER_IFACE, manager_map, ret);
}

static int get_project(Ctl *c, const char *object, ProjectInfo *ret) {
        int r;

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

static int resolve_project(Ctl *c, const char *arg, char **ret_object) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *what = NULL;
        const char *object;
        int r;

        r = project_argument(arg, &what);
        if (r < 0)
                return r;
        r = sd_bus_call_method(c->bus, SERVICE, MANAGER_PATH, MANAGER_IFACE, "GetProject", &error, &reply, "s", what);
        if (r < 0) {
                if (bus_error_means_not_running(&error))
                        return not_running(c, &error);
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
 * formatting */

/* KiB → "180.0M" (1024-based, like systemd's format_bytes); 0 → "-". */
static const char *format_kib(char *buf, size_t size, uint64_t kib) {
        static const char suffixes[] = "KMGTPE";
        double v = (double) kib;
        size_t i = 0;

        if (kib == 0)
                return "-";
        while (v >= 1024.0 && i + 1 < sizeof(suffixes) - 1) {
                v /= 1024.0;
                i++;
        }
        snprintf(buf, size, "%.1f%c", v, suffixes[i]);
        return buf;
}

#define FORMAT_KIB(kib) format_kib((char[16]) {}, 16, (kib))

/* The kernel facts of a worker's scope as table cells: memory.events
 * high/max/oom_kill, swap in use, PSI some avg10; "-" when not available
 * (cgroup v1, process mode, no worker). */
static void format_kernel_facts(const ProjectInfo *p, char ev[static 64], char swap[static 16], char psi[static 16]) {
        if (p->events_high >= 0)
                snprintf(ev, 64, "%" PRIi64 "/%" PRIi64 "/%" PRIi64, p->events_high, p->events_max, p->events_oom_kill);
        else
                snprintf(ev, 64, "-");
        if (p->swap_kib > 0)
                format_kib(swap, 16, (uint64_t) p->swap_kib);
        else
                snprintf(swap, 16, "%s", p->swap_kib == 0 ? "0" : "-");
        if (p->psi_some_avg10 >= 0)
                snprintf(psi, 16, "%.2f%%", p->psi_some_avg10);
        else
                snprintf(psi, 16, "-");
}

static json_object *json_uint_or_null(uint64_t v, bool nullable) {
        return nullable && v == 0 ? NULL : json_object_new_uint64(v);
}

static json_object *json_string_or_null(const char *s, bool nullable) {
        return nullable && isempty(s) ? NULL : json_object_new_string(strempty(s));
}

static json_object *by_cause_to_json(const ByCause *b) {
        json_object *o = json_object_new_object();

        for (size_t i = 0; o && i < b->n; i++)
                json_object_object_add(o, b->items[i].cause, json_object_new_uint64(b->items[i].count));
        return o;
}

/* As the MCP facts' restart events: null when none, rss/limit null when 0. */
static json_object *restart_to_json(const RestartInfo *r) {
        json_object *o;

        if (isempty(r->cause))
                return NULL;
        o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "cause", json_object_new_string(r->cause));
        json_object_object_add(o, "reason", json_object_new_string(strempty(r->reason)));
        json_object_object_add(o, "worker_generation", json_object_new_uint64(r->generation));
        json_object_object_add(o, "planned", json_object_new_boolean(r->planned));
        json_object_object_add(o, "rss_kib", json_uint_or_null(r->rss_kib, true));
        json_object_object_add(o, "limit_kib", json_uint_or_null(r->limit_kib, true));
        return o;
}

static json_object *map_to_json(const PropMap *map, const void *base) {
        json_object *o = json_object_new_object();

        for (const PropMap *p = map; o && p->name; p++) {
                const void *field = (const uint8_t *) base + p->offset;
                json_object *v = NULL;

                switch (p->type) {
                case PROP_STRING:
                        v = json_string_or_null(*(char *const *) field, p->nullable);
                        break;
                case PROP_U32:
                        v = json_uint_or_null(*(const uint32_t *) field, p->nullable);
                        break;
                case PROP_U64:
                        v = json_uint_or_null(*(const uint64_t *) field, p->nullable);
                        break;
                case PROP_BY_CAUSE:
                        v = by_cause_to_json(field);
                        break;
                case PROP_RESTART:
                        v = restart_to_json(field);
                        break;
                case PROP_I64:
                        v = *(const int64_t *) field >= 0 ? json_object_new_int64(*(const int64_t *) field) : NULL;
                        break;
                case PROP_DOUBLE:
                        v = *(const double *) field >= 0 ? json_object_new_double(*(const double *) field) : NULL;
                        break;
                }
                json_object_object_add(o, p->json, v);
        }
        return o;
}

static json_object *project_to_json(const ProjectInfo *p) {
        json_object *o = map_to_json(project_map, p);

        if (o)
                json_object_object_add(o, "object", json_object_new_string(p->object));
        return o;
}

static int print_json(json_object *o) {
        if (!o) {
                fprintf(stderr, "Out of memory.\n");
                return -ENOMEM;
        }
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        return fflush(stdout) == 0 ? 0 : -EIO;
}

/* A left/right-aligned table with bold headers; colours do not count toward
 * widths. */
typedef struct Table {
        size_t n_columns, n_rows;
        const char *const *headers;
        const bool *right;
        char **cells;        /* n_rows * n_columns, malloc'd */
        const char **colors; /* per cell, NULL = none */
} Table;

static void table_done(Table *t) {
        for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t->colors);
}

static int table_add_row(Table *t, ...) {
        size_t base = t->n_rows * t->n_columns;
        char **cells;
        const char **colors;
        va_list ap;

        cells = reallocarray(t->cells, base + t->n_columns, sizeof(char *));
        if (!cells)
                return -ENOMEM;
        t->cells = cells;
        colors = reallocarray(t->colors, base + t->n_columns, sizeof(char *));
        if (!colors)
                return -ENOMEM;
        t->colors = colors;
        /* varargs: (text, color) pairs */
        va_start(ap, t);
        for (size_t i = 0; i < t->n_columns; i++) {
                const char *s = va_arg(ap, const char *);
                t->cells[base + i] = strdup(strempty(s));
                t->colors[base + i] = va_arg(ap, const char *);
        }
        va_end(ap);
        t->n_rows++;
        for (size_t i = 0; i < t->n_columns; i++)
                if (!t->cells[base + i])
                        return -ENOMEM;
        return 0;
}

static void table_print(const Ctl *c, const Table *t) {
        size_t width[16] = {};

        for (size_t j = 0; j < t->n_columns && j < ELEMENTSOF(width); j++) {
                width[j] = strlen(t->headers[j]);
                for (size_t i = 0; i < t->n_rows; i++)
                        width[j] = MAX(width[j], strlen(t->cells[i * t->n_columns + j]));
        }

        for (size_t j = 0; j < t->n_columns; j++) {
                bool last = j + 1 == t->n_columns;
                int pad = (int) (width[j] - strlen(t->headers[j]));

                if (t->right[j])
                        printf("%*s", pad, "");
                printf("%s%s%s", on(c, ANSI_BOLD), t->headers[j], off(c));
                if (!t->right[j] && !last)
                        printf("%*s", pad, "");
                fputs(last ? "\n" : " ", stdout);
        }
        for (size_t i = 0; i < t->n_rows; i++)
                for (size_t j = 0; j < t->n_columns; j++) {
                        const char *s = t->cells[i * t->n_columns + j], *color = t->colors[i * t->n_columns + j];
                        bool last = j + 1 == t->n_columns;
                        int pad = (int) (width[j] - strlen(s));

                        if (t->right[j])
                                printf("%*s", pad, "");
                        fputs(color ? on(c, color) : "", stdout);
                        fputs(s, stdout);
                        fputs(color ? off(c) : "", stdout);
                        if (!t->right[j] && !last)
                                printf("%*s", pad, "");
                        fputs(last ? "\n" : " ", stdout);
                }
}

static const char *bus_name(const Ctl *c) {
        return c->system ? "system" : "user";
}

static void print_by_cause_inline(const ByCause *b) {
        for (size_t i = 0; i < b->n; i++)
                printf("%s%s %" PRIu64, i == 0 ? " (" : ", ", b->items[i].cause, b->items[i].count);
        if (b->n > 0)
                fputs(")", stdout);
}

/* ------------------------------------------------------------------------
 * verbs */

static int list_project_objects(Ctl *c, char ***ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *id, *root, *state, *object;
        char **l = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_call_method(c->bus, SERVICE, MANAGER_PATH, MANAGER_IFACE, "ListProjects", &error, &reply, NULL);
        if (r < 0)
                return call_failed(c, &error, r, "list projects");
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

static void strv_free_simple(char **l) {
        for (char **i = l; i && *i; i++)
                free(*i);
        free(l);
}

static int verb_status(Ctl *c, int argc, char *argv[]) {
        static const char *const headers[] = { "PROJECT", "STATE", "GEN", "SCOPE", "RSS/LIMIT", "SWAP",
                                               "HIGH/MAX/OOM", "PSI10", "RESTARTS" };
        static const bool right[] = { false, false, true, false, true, true, true, true, true };
        _cleanup_(manager_info_done) ManagerInfo m = {};
        ProjectInfo *projects = NULL;
        char **objects = NULL;
        size_t n = 0;
        int r;

        r = get_manager(c, &m);
        if (r < 0)
                return r;
        r = list_project_objects(c, &objects);
        if (r < 0)
                return r;
        projects = new0(ProjectInfo, (size_t) r);
        if (!projects) {
                strv_free_simple(objects);
                return -ENOMEM;
        }
        for (char **o = objects; *o; o++) {
                r = get_project(c, *o, &projects[n]);
                if (r < 0)
                        goto finish;
                n++;
        }

        if (c->json) {
                json_object *j = map_to_json(manager_map, &m), *a = json_object_new_array();

                for (size_t i = 0; a && i < n; i++)
                        json_object_array_add(a, project_to_json(&projects[i]));
                if (j)
                        json_object_object_add(j, "projects", a);
                else
                        json_object_put(a);
                r = print_json(j);
                goto finish;
        }

        printf("%s●%s lean-hostd %s (%s bus)\n", on(c, ANSI_GREEN), off(c), strna(m.version), bus_name(c));
        printf("     Workers: %" PRIu32 " of %" PRIu64 " active, enforcement %s, sandbox %s\n", m.workers_active,
               m.max_workers, strna(m.enforcement), strna(m.sandbox));
        printf("       Tiers: import switch %s, post-job %s, hard %s (sampled every %" PRIu64 "ms)\n",
               FORMAT_KIB(m.import_switch_kib), FORMAT_KIB(m.post_job_kib), FORMAT_KIB(m.hard_kill_kib),
               m.sample_millis);
        printf("    Restarts: %" PRIu64, m.restarts_total);
        print_by_cause_inline(&m.restarts_by_cause);
        printf("\n\n");

        {
                Table t = { .n_columns = ELEMENTSOF(headers), .headers = headers, .right = right };

                for (size_t i = 0; i < n; i++) {
                        const ProjectInfo *p = &projects[i];
                        char gen[32], mem[64], restarts[32], ev[64], swap[16], psi[16];

                        snprintf(gen, sizeof gen, "%" PRIu64, p->worker_generation);
                        snprintf(mem, sizeof mem, "%s/%s", FORMAT_KIB(p->rss_kib), FORMAT_KIB(p->memory_max_kib));
                        snprintf(restarts, sizeof restarts, "%" PRIu64, p->restarts_total);
                        format_kernel_facts(p, ev, swap, psi);
                        r = table_add_row(&t,
                                          p->root, NULL,
                                          p->state, state_color(p->state),
                                          gen, NULL,
                                          isempty(p->scope_unit) ? "-" : p->scope_unit, NULL,
                                          mem, NULL,
                                          swap, NULL,
                                          ev, p->events_oom_kill > 0 ? ANSI_YELLOW : NULL,
                                          psi, NULL,
                                          restarts, p->restarts_in_window > 0 ? ANSI_YELLOW : NULL);
                        if (r < 0)
                                break;
                }
                if (r >= 0 && n > 0) {
                        table_print(c, &t);
                        printf("\n");
                }
                table_done(&t);
                if (r < 0)
                        goto finish;
        }
        printf("%zu project%s listed.\n", n, n == 1 ? "" : "s");
        r = 0;

finish:
        for (size_t i = 0; i < n; i++)
                project_info_done(&projects[i]);
        free(projects);
        strv_free_simple(objects);
        return r;
}

static void print_by_cause_table(const Ctl *c, const ByCause *b) {
        static const char *const headers[] = { "CAUSE", "COUNT" };
        static const bool right[] = { false, true };
        Table t = { .n_columns = 2, .headers = headers, .right = right };

        for (size_t i = 0; i < b->n; i++) {
                char count[32];

                snprintf(count, sizeof count, "%" PRIu64, b->items[i].count);
                if (table_add_row(&t, b->items[i].cause, NULL, count, NULL) < 0)
                        break;
        }
        table_print(c, &t);
        table_done(&t);
}

static void print_restart_line(const Ctl *c, const RestartInfo *r) {
        printf("%s%s%s (%s), generation %" PRIu64, on(c, r->planned ? "" : ANSI_RED), r->cause, off(c),
               r->planned ? "planned" : "abnormal", r->generation);
        if (r->rss_kib > 0)
                printf(", rss %s", FORMAT_KIB(r->rss_kib));
        if (r->limit_kib > 0)
                printf(", limit %s", FORMAT_KIB(r->limit_kib));
}

static int verb_restarts(Ctl *c, int argc, char *argv[]) {
        _cleanup_(manager_info_done) ManagerInfo m = {};
        _cleanup_(project_info_done) ProjectInfo p = {};
        _cleanup_free_ char *object = NULL;
        int r;

        if (argc < 2) {
                r = get_manager(c, &m);
                if (r < 0)
                        return r;
                if (c->json) {
                        json_object *j = json_object_new_object();

                        if (j) {
                                json_object_object_add(j, "restarts_total", json_object_new_uint64(m.restarts_total));
                                json_object_object_add(j, "restarts_by_cause", by_cause_to_json(&m.restarts_by_cause));
                        }
                        return print_json(j);
                }
                if (m.restarts_by_cause.n > 0) {
                        print_by_cause_table(c, &m.restarts_by_cause);
                        printf("\n");
                }
                printf("%" PRIu64 " restart%s over all projects.\n", m.restarts_total, m.restarts_total == 1 ? "" : "s");
                return 0;
        }

        r = resolve_project(c, argv[1], &object);
        if (r < 0)
                return r;
        r = get_project(c, object, &p);
        if (r < 0)
                return r;
        if (c->json) {
                json_object *j = json_object_new_object();

                if (j) {
                        json_object_object_add(j, "root", json_object_new_string(strempty(p.root)));
                        json_object_object_add(j, "id", json_object_new_string(strempty(p.id)));
                        json_object_object_add(j, "restarts_total", json_object_new_uint64(p.restarts_total));
                        json_object_object_add(j, "restarts_by_cause", by_cause_to_json(&p.restarts_by_cause));
                        json_object_object_add(j, "restarts_in_window", json_object_new_uint64(p.restarts_in_window));
                        json_object_object_add(j, "last_restart", restart_to_json(&p.last_restart));
                }
                return print_json(j);
        }
        printf("%s%s%s\n", on(c, ANSI_BOLD), strna(p.root), off(c));
        if (p.restarts_by_cause.n > 0)
                print_by_cause_table(c, &p.restarts_by_cause);
        printf("\n%" PRIu64 " restart%s, %" PRIu32 " abnormal in the current window.\n", p.restarts_total,
               p.restarts_total == 1 ? "" : "s", p.restarts_in_window);
        if (!isempty(p.last_restart.cause)) {
                printf("Last: ");
                print_restart_line(c, &p.last_restart);
                printf("\n      %s\n", strempty(p.last_restart.reason));
        }
        return 0;
}

static int verb_facts(Ctl *c, int argc, char *argv[]) {
        _cleanup_(project_info_done) ProjectInfo p = {};
        _cleanup_free_ char *object = NULL;
        int r;

        r = resolve_project(c, argv[1], &object);
        if (r < 0)
                return r;
        r = get_project(c, object, &p);
        if (r < 0)
                return r;
        if (c->json)
                return print_json(project_to_json(&p));

        /* systemctl status style: right-aligned labels */
        printf("%s%s%s (id %s)\n", on(c, ANSI_BOLD), strna(p.root), off(c), strna(p.id));
        printf("          State: %s%s%s\n", on(c, state_color(p.state) ?: ""), strna(p.state), off(c));
        if (p.worker_pid > 0)
                printf("         Worker: PID %" PRIu32 ", generation %" PRIu64 ", %" PRIu64 " request%s served\n",
                       p.worker_pid, p.worker_generation, p.requests_served, p.requests_served == 1 ? "" : "s");
        else
                printf("         Worker: none (last generation %" PRIu64 ")\n", p.worker_generation);
        printf("    Enforcement: %s%s%s\n", strna(p.enforcement), isempty(p.scope_unit) ? "" : ", ",
               strempty(p.scope_unit));
        printf("         Memory: %s (anon %s), high %s, max %s\n", FORMAT_KIB(p.rss_kib), FORMAT_KIB(p.anon_kib),
               FORMAT_KIB(p.memory_high_kib), FORMAT_KIB(p.memory_max_kib));
        if (p.events_high >= 0 || p.swap_kib >= 0 || p.psi_some_avg10 >= 0) {
                char ev[64], swap[16], psi[16];

                format_kernel_facts(&p, ev, swap, psi);
                printf("         Kernel: memory.events high/max/oom_kill %s, swap %s, memory pressure %s "
                       "(some avg10)\n", ev, swap, psi);
        } else
                printf("         Kernel: - (only with a scope on cgroup v2)\n");
        printf("        Imports: %s (%" PRIu64 " profile switch%s)\n", isempty(p.import_profile) ? "-" : p.import_profile,
               p.profile_switch_count, p.profile_switch_count == 1 ? "" : "es");
        printf("          Queue: %" PRIu32 "\n", p.queue_depth);
        printf("       Restarts: %" PRIu64 ", %" PRIu32 " abnormal in the current window", p.restarts_total,
               p.restarts_in_window);
        print_by_cause_inline(&p.restarts_by_cause);
        printf("\n");
        if (!isempty(p.last_restart.cause)) {
                printf("   Last restart: ");
                print_restart_line(c, &p.last_restart);
                printf("\n                 %s\n", strempty(p.last_restart.reason));
        }
        printf("      Toolchain: %s\n", isempty(p.toolchain) ? "-" : p.toolchain);
        printf("      Readiness: %s\n", strna(p.readiness));
        printf("         Object: %s\n", p.object);
        return 0;
}

static int verb_action(Ctl *c, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *object = NULL;
        bool stop = streq(argv[0], "stop");
        int r;

        r = resolve_project(c, argv[1], &object);
        if (r < 0)
                return r;
        r = sd_bus_call_method(c->bus, SERVICE, object, PROJECT_IFACE, stop ? "Stop" : "Restart", &error, NULL, NULL);
        if (r < 0)
                return call_failed(c, &error, r, stop ? "stop the worker" : "restart the worker");
        return 0;
}

typedef struct MonitorCache {
        char *object, *root;
} MonitorCache;

typedef struct Monitor {
        Ctl *ctl;
        MonitorCache *cache;
        size_t n_cache;
} Monitor;

/* Object path → Root (cached; the object path when the project is gone). */
static const char *monitor_root(Monitor *mon, const char *object) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char *root = NULL;
        MonitorCache *a;

        for (size_t i = 0; i < mon->n_cache; i++)
                if (streq(mon->cache[i].object, object))
                        return mon->cache[i].root;
        if (sd_bus_get_property_string(mon->ctl->bus, SERVICE, object, PROJECT_IFACE, "Root", &error, &root) < 0)
                return object;
        a = reallocarray(mon->cache, mon->n_cache + 1, sizeof(MonitorCache));
        if (!a) {
                free(root);
                return object;
        }
        mon->cache = a;
        a[mon->n_cache] = (MonitorCache) { .object = strdup(object), .root = root };
        if (!a[mon->n_cache].object) {
                free(root);
                return object;
        }
        return a[mon->n_cache++].root;
}

static int on_worker_restarted(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Monitor *mon = userdata;
        const Ctl *c = mon->ctl;
        const char *object, *cause, *reason, *root;
        RestartInfo ri = {};
        uint64_t now_us;
        struct timespec ts;
        int planned, r;

        r = sd_bus_message_read(m, "osstbtt", &object, &cause, &reason, &ri.generation, &planned, &ri.rss_kib,
                                &ri.limit_kib);
        if (r < 0) {
                fprintf(stderr, "Ignoring a malformed WorkerRestarted signal: %s\n", strerror(-r));
                return 0;
        }
        ri.cause = (char *) cause;
        ri.reason = (char *) reason;
        ri.planned = planned;
        root = monitor_root(mon, object);
        clock_gettime(CLOCK_REALTIME, &ts);
        now_us = (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;

        if (c->json) {
                json_object *j = restart_to_json(&ri);

                if (j) {
                        json_object_object_add(j, "project", json_object_new_string(root));
                        json_object_object_add(j, "object", json_object_new_string(object));
                        json_object_object_add(j, "realtime_usec", json_object_new_uint64(now_us));
                }
                (void) print_json(j);
                return 0;
        }

        {
                char stamp[64];
                struct tm tm;

                strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", localtime_r(&ts.tv_sec, &tm));
                printf("%s %s%s%s ", stamp, on(c, ANSI_BOLD), root, off(c));
                print_restart_line(c, &ri);
                printf(": %s\n", reason);
                fflush(stdout);
        }
        return 0;
}

static int verb_monitor(Ctl *c, int argc, char *argv[]) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        Monitor mon = { .ctl = c };
        int r;

        /* Synchronous: the match is in place before we say so, so whoever
         * waits for the line below sees every later event. The daemon need
         * not be running: events appear once it is. */
        r = sd_bus_match_signal(c->bus, &slot, SERVICE, MANAGER_PATH, MANAGER_IFACE, "WorkerRestarted",
                                on_worker_restarted, &mon);
        if (r < 0) {
                fprintf(stderr, "Failed to watch for WorkerRestarted: %s\n", strerror(-r));
                return r;
        }
        fprintf(stderr, "Monitoring WorkerRestarted of %s on the %s bus.\n", SERVICE, bus_name(c));

        for (;;) {
                r = sd_bus_process(c->bus, NULL);
                if (r < 0) {
                        fprintf(stderr, "Failed to process bus messages: %s\n", strerror(-r));
                        break;
                }
                if (r > 0)
                        continue;
                r = sd_bus_wait(c->bus, UINT64_MAX);
                if (r < 0 && r != -EINTR) {
                        fprintf(stderr, "Failed to wait for bus messages: %s\n", strerror(-r));
                        break;
                }
        }
        for (size_t i = 0; i < mon.n_cache; i++) {
                free(mon.cache[i].object);
                free(mon.cache[i].root);
        }
        free(mon.cache);
        return r;
}

/* ------------------------------------------------------------------------
 * command line */

static void help(void) {
        printf("lean-hostctl [OPTIONS...] COMMAND ...\n\n"
               "Show and control lean-hostd, the Lean 4 worker host, through D-Bus.\n\n"
               "Commands:\n"
               "  status                 Show the daemon and one line per project\n"
               "  restarts [PROJECT]     Show worker restarts by cause (all projects, or one)\n"
               "  facts PROJECT          Show every runtime fact of a project\n"
               "  restart PROJECT        Recycle the project's worker (planned, cause \"explicit\")\n"
               "  stop PROJECT           Stop the project's worker (the next call starts one)\n"
               "  monitor                Follow worker restarts live, one line per event\n"
               "  doctor [PROJECT]       Check what lean-host needs on this machine (and for PROJECT)\n\n"
               "PROJECT is a Lake root, any path inside one, or a project id.\n\n"
               "Options:\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "     --json              Machine-readable output (one JSON object per line)\n"
               "     --user              Talk to the daemon on the user bus (default)\n"
               "     --system            Talk to a system-wide daemon on the system bus\n\n"
               "Exit status: 0 success, 1 failure, 2 usage error, 3 lean-hostd not running.\n"
               "See lean-hostctl(1).\n");
}

typedef struct Verb {
        const char *name;
        int min_args, max_args; /* including the verb */
        int (*run)(Ctl *c, int argc, char *argv[]);
} Verb;

static const Verb verbs[] = {
        { "status", 1, 1, verb_status },
        { "restarts", 1, 2, verb_restarts },
        { "facts", 2, 2, verb_facts },
        { "restart", 2, 2, verb_action },
        { "stop", 2, 2, verb_action },
        { "monitor", 1, 1, verb_monitor },
        { "doctor", 1, 2, NULL }, /* ctl/doctor.c: needs no bus */
};

/* 0: go on; 1: done (help/version); <0: usage error (printed). */
static int parse_argv(int argc, char *argv[], Ctl *c) {
        enum { ARG_VERSION = 0x100, ARG_JSON, ARG_USER, ARG_SYSTEM };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", no_argument, NULL, ARG_JSON },
                { "user", no_argument, NULL, ARG_USER },
                { "system", no_argument, NULL, ARG_SYSTEM },
                {}
        };
        int o;

        while ((o = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (o) {
                case 'h':
                        help();
                        return 1;
                case ARG_VERSION:
                        printf("lean-hostctl %s\n", PACKAGE_VERSION);
                        return 1;
                case ARG_JSON:
                        c->json = true;
                        break;
                case ARG_USER:
                        c->system = false;
                        break;
                case ARG_SYSTEM:
                        c->system = true;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        abort();
                }
        return 0;
}

int main(int argc, char *argv[]) {
        Ctl c = {};
        const Verb *verb = NULL;
        int r, n;

        r = parse_argv(argc, argv, &c);
        if (r != 0)
                return r > 0 ? EXIT_OK : EXIT_USAGE;

        n = argc - optind;
        if (n <= 0) {
                fprintf(stderr, "lean-hostctl: a command is required (status, restarts, facts, restart, stop, monitor, doctor); see --help.\n");
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, argv[optind]))
                        verb = &verbs[i];
        if (!verb) {
                fprintf(stderr, "lean-hostctl: unknown command '%s'; see --help.\n", argv[optind]);
                return EXIT_USAGE;
        }
        if (n < verb->min_args || n > verb->max_args) {
                fprintf(stderr, "lean-hostctl: '%s' takes %s; see --help.\n", verb->name,
                        verb->max_args == 1 ? "no argument" :
                        verb->min_args == verb->max_args ? "one PROJECT argument" : "at most one PROJECT argument");
                return EXIT_USAGE;
        }
        c.color = !c.json && color_wanted();
        if (!verb->run)
                return doctor_run(n, argv + optind, c.json, c.color);

        r = c.system ? sd_bus_open_system_with_description(&c.bus, "lean-hostctl")
                     : sd_bus_open_user_with_description(&c.bus, "lean-hostctl");
        if (r < 0) {
                fprintf(stderr, "Failed to connect to the %s bus: %s\n", bus_name(&c), strerror(-r));
                if (!c.system)
                        fprintf(stderr, "(is DBUS_SESSION_BUS_ADDRESS or XDG_RUNTIME_DIR set? lean-hostd publishes its "
                                        "facts on the user bus only when there is one)\n");
                return EXIT_FAILED;
        }

        r = verb->run(&c, n, argv + optind);
        sd_bus_flush_close_unref(c.bus);
        return exit_code(r);
}
