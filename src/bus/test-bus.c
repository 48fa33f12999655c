/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The org.leanhost.Host1 objects over a private peer-to-peer connection (no
 * bus daemon): properties, methods, errors and signals against a stub
 * registry whose facts the test controls. */

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>

#include "basic/strv.h"
#include "basic/thread-util.h"
#include "basic/time-util.h"
#include "bus/bus-files.h"
#include "bus/bus.h"
#include "bus/test-bus-stub.h"
#include "lh-build-config.h"

static int failures;

#define check(expr)                                                                              \
        do {                                                                                     \
                if (!(expr)) {                                                                   \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
                        failures++;                                                              \
                }                                                                                \
        } while (0)

#define check_ok(r)                                                                                        \
        do {                                                                                               \
                int _r = (r);                                                                              \
                if (_r < 0) {                                                                              \
                        fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #r, strerror(-_r)); \
                        exit(EXIT_FAILURE);                                                                \
                }                                                                                          \
        } while (0)

typedef struct Ctx {
        sd_event *event;
        sd_bus *server, *client;
        LhRegistry *registry;
        LhConfig config;
        BusService *service;
        sd_bus_message *signals[64];
        size_t n_signals;
} Ctx;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        *(sd_bus_message **) userdata = sd_bus_message_ref(m);
        return 0;
}

static int on_filter(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Ctx *c = userdata;

        uint8_t type;

        if (sd_bus_message_get_type(m, &type) >= 0 && type == SD_BUS_MESSAGE_SIGNAL &&
            c->n_signals < ELEMENTSOF(c->signals))
                c->signals[c->n_signals++] = sd_bus_message_ref(m);
        return 0;
}

static void run_until(Ctx *c, sd_bus_message **want) {
        for (unsigned i = 0; !*want && i < 1000; i++)
                check_ok(sd_event_run(c->event, 10 * USEC_PER_SEC));
        if (!*want) {
                fprintf(stderr, "no reply\n");
                exit(EXIT_FAILURE);
        }
}

/* Let queued signals arrive. */
static void settle(Ctx *c) {
        for (unsigned i = 0; i < 20; i++)
                if (sd_event_run(c->event, 10 * USEC_PER_MSEC) == 0)
                        break;
}

static void drop_signals(Ctx *c) {
        for (size_t i = 0; i < c->n_signals; i++)
                sd_bus_message_unref(c->signals[i]);
        c->n_signals = 0;
}

/* A method call; returns the reply (possibly an error reply). */
static sd_bus_message *call(Ctx *c, const char *path, const char *iface, const char *member, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus_message *reply = NULL;
        va_list ap;

        check_ok(sd_bus_message_new_method_call(c->client, &m, NULL, path, iface, member));
        if (types) {
                va_start(ap, types);
                check_ok(sd_bus_message_appendv(m, types, ap));
                va_end(ap);
        }
        check_ok(sd_bus_call_async(c->client, NULL, m, on_reply, &reply, 0));
        run_until(c, &reply);
        return reply;
}

/* The config the bus reports: memory tiers (KiB) and sampling, the rest fixed. */
static LhConfig tiers_config(uint64_t soft_kib, uint64_t post_job_kib, uint64_t hard_kib, unsigned sample_millis) {
        return (LhConfig) {
                .import_switch_rss_soft_kib = soft_kib,
                .worker_rss_post_job_restart_kib = post_job_kib,
                .worker_rss_hard_kill_kib = hard_kib,
                .worker_rss_sample_millis = sample_millis,
                .request_timeout_millis = 120000,
                .mailbox_capacity = 8,
                .restart_limit = 3,
                .restart_window_secs = 60,
        };
}

static sd_bus_message *get_property(Ctx *c, const char *path, const char *iface, const char *name, const char *sig) {
        sd_bus_message *reply = call(c, path, "org.freedesktop.DBus.Properties", "Get", "ss", iface, name);

        check(!sd_bus_message_is_method_error(reply, NULL));
        check_ok(sd_bus_message_enter_container(reply, 'v', sig));
        return reply;
}

/* get_t(), get_x(), get_d(), get_u(): a property of that D-Bus type. */
#define DEFINE_GET_PROPERTY(sig, type)                                                                \
        static type get_##sig(Ctx *c, const char *path, const char *iface, const char *name) {       \
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = get_property(c, path, iface, name, #sig); \
                type v;                                                                               \
                check_ok(sd_bus_message_read(m, #sig, &v));                                           \
                return v;                                                                             \
        }
DEFINE_GET_PROPERTY(t, uint64_t)
DEFINE_GET_PROPERTY(x, int64_t)
DEFINE_GET_PROPERTY(d, double)
DEFINE_GET_PROPERTY(u, uint32_t)

static char *get_s(Ctx *c, const char *path, const char *iface, const char *name) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = get_property(c, path, iface, name, "s");
        const char *v;

        check_ok(sd_bus_message_read(m, "s", &v));
        return strdup(v);
}

static void check_s(Ctx *c, const char *path, const char *iface, const char *name, const char *want) {
        _cleanup_free_ char *v = get_s(c, path, iface, name);

        if (!streq(v, want)) {
                fprintf(stderr, "%s.%s: got '%s', want '%s'\n", iface, name, v, want);
                failures++;
        }
}

/* A property from the project's files: answered at once from what the last
 * look-up (on a thread) found, so it may take a few reads to show want. */
static void check_files_s(Ctx *c, const char *path, const char *name, const char *want) {
        _cleanup_free_ char *v = NULL;
        usec_t t0 = now_usec(CLOCK_MONOTONIC);

        for (;;) {
                free(v);
                v = get_s(c, path, BUS_PROJECT_INTERFACE, name);
                if (streq(strempty(v), want) || now_usec(CLOCK_MONOTONIC) - t0 > 5 * USEC_PER_SEC)
                        break;
                (void) sd_event_run(c->event, 20 * USEC_PER_MSEC);
        }
        if (!streq(strempty(v), want)) {
                fprintf(stderr, "%s.%s: got '%s', want '%s' (after 5 s)\n", BUS_PROJECT_INTERFACE, name, v, want);
                failures++;
        }
}

/* Reads a{st} into by_cause (indexed by restart_cause_from_string). */
static size_t get_by_cause(Ctx *c, const char *path, const char *iface, uint64_t by_cause[static _RESTART_CAUSE_MAX]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = get_property(c, path, iface, "RestartsByCause", "a{st}");
        const char *cause;
        uint64_t n;
        size_t k = 0;

        memset(by_cause, 0, sizeof(uint64_t) * _RESTART_CAUSE_MAX);
        check_ok(sd_bus_message_enter_container(m, 'a', "{st}"));
        while (sd_bus_message_read(m, "{st}", &cause, &n) > 0) {
                RestartCause rc = restart_cause_from_string(cause);
                check(rc >= 0);
                if (rc >= 0)
                        by_cause[rc] = n;
                k++;
        }
        return k;
}

static char *introspect(Ctx *c, const char *path) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m =
                call(c, path, "org.freedesktop.DBus.Introspectable", "Introspect", NULL);
        const char *xml;

        check_ok(sd_bus_message_read(m, "s", &xml));
        return strdup(xml);
}

static bool property_has_no_change_signal(const char *xml, const char *name) {
        char needle[128];
        const char *p, *next;

        snprintf(needle, sizeof(needle), "<property name=\"%s\"", name);
        p = strstr(xml, needle);
        if (!p)
                return false;
        next = strstr(p + 1, "<property ");
        p = strstr(p, "name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" value=\"false\"");
        return p && (!next || p < next);
}

static void setup(Ctx *c) {
        int fds[2];
        sd_id128_t id;

        check_ok(sd_event_new(&c->event));
        check_ok(RET_NERRNO(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds)));
        check_ok(sd_id128_randomize(&id));

        check_ok(sd_bus_new(&c->server));
        check_ok(sd_bus_set_fd(c->server, fds[0], fds[0]));
        check_ok(sd_bus_set_server(c->server, 1, id));
        check_ok(sd_bus_start(c->server));

        check_ok(sd_bus_new(&c->client));
        check_ok(sd_bus_set_fd(c->client, fds[1], fds[1]));
        check_ok(sd_bus_start(c->client));
        check_ok(sd_bus_attach_event(c->client, c->event, SD_EVENT_PRIORITY_NORMAL));
        check_ok(sd_bus_add_filter(c->client, NULL, on_filter, c));

        c->config = tiers_config(2 * KIB_PER_GIB, 5 * KIB_PER_GIB, 16 * KIB_PER_GIB, 250);
        c->registry = stub_registry_new();
        check_ok(bus_service_attach(&c->service, c->server, c->event, c->registry, &c->config, false));
}

static void teardown(Ctx *c) {
        drop_signals(c);
        c->service = bus_service_free(c->service);
        c->client = sd_bus_flush_close_unref(c->client);
        c->server = sd_bus_flush_close_unref(c->server);
        stub_registry_free(c->registry);
        c->event = sd_event_unref(c->event);
}

static void test_error_names(void) {
        char buf[128];

        check(bus_error_name_from_code("project_not_found", buf, sizeof(buf)) == 0);
        check(streq(buf, "org.leanhost.Host1.Error.ProjectNotFound"));
        check(bus_error_name_from_code("mailbox_full", buf, sizeof(buf)) == 0);
        check(streq(buf, "org.leanhost.Host1.Error.MailboxFull"));
        check(bus_error_name_from_code("", buf, sizeof(buf)) < 0);
        check(bus_error_name_from_code("a b", buf, sizeof(buf)) < 0);
        check(bus_error_name_from_code("project_not_found", buf, 30) < 0);
}

static void test_manager(Ctx *c) {
        _cleanup_free_ char *xml = introspect(c, BUS_MANAGER_PATH);
        uint64_t by_cause[_RESTART_CAUSE_MAX] = {}, got[_RESTART_CAUSE_MAX];

        check(strstr(xml, "<interface name=\"" BUS_MANAGER_INTERFACE "\">"));
        check(strstr(xml, "<interface name=\"org.freedesktop.DBus.ObjectManager\">"));
        check(strstr(xml, "<method name=\"GetProject\">"));
        check(strstr(xml, "<signal name=\"WorkerRestarted\">"));
        /* the config vtable is merged into the one Manager interface */
        check(strstr(xml, "<property name=\"PostJobRssKiB\" type=\"t\" access=\"read\">"));
        check(strstr(strstr(xml, "<interface name=\"" BUS_MANAGER_INTERFACE "\">") + 1,
                     "<interface name=\"" BUS_MANAGER_INTERFACE "\">") == NULL);

        check_s(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Version", PACKAGE_VERSION);
        check_s(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "EnforcementMode", "process");
        check(get_t(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "MaxWorkers") == 4);
        check(get_t(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "ImportSwitchRssSoftKiB") == 2 * KIB_PER_GIB);
        check(get_t(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "PostJobRssKiB") == 5 * KIB_PER_GIB);
        check(get_t(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "HardKillRssKiB") == 16 * KIB_PER_GIB);
        check(get_t(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "RssSampleMillis") == 250);
        check(get_t(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "RequestTimeoutMillis") == 120000);
        check(get_t(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "MailboxCapacity") == 8);
        check(get_t(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "RestartLimit") == 3);
        check(get_t(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "RestartWindowSecs") == 60);
        check_s(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Sandbox", "none");

        check(get_u(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "WorkersActive") == 0);
        check(get_by_cause(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, got) == 0);

        by_cause[RESTART_CAUSE_CHILD_EXIT] = 2;
        by_cause[RESTART_CAUSE_RSS_POST_JOB] = 1;
        stub_registry_set(c->registry, 1, 3, by_cause);
        check(get_u(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "WorkersActive") == 1);
        check(get_t(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "RestartsTotal") == 3);
        check(get_by_cause(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, got) == 2); /* zeros are left out */
        check(memcmp(got, by_cause, sizeof(got)) == 0);
}

static StubProject *add_project(Ctx *c, const char *root, const char *id) {
        StubProject *p = stub_project_add(c->registry, root, id);
        LhFacts *f = &p->facts;

        f->state = PROJECT_BUSY;
        f->worker_generation = 7;
        f->worker_pid = 4242;
        f->enforcement = ENFORCEMENT_MODE_SCOPE;
        snprintf(f->scope_unit, sizeof(f->scope_unit), "lean-worker-%s-7.scope", id);
        f->rss_kib = 123456;
        f->anon_kib = 100000;
        f->swap_valid = f->events_valid = f->pressure_valid = true;
        f->swap_kib = 2048;
        f->memory_events_high = 11;
        f->memory_events_max = 3;
        f->memory_events_oom_kill = 1;
        f->memory_pressure_some_avg10 = 12.5;
        f->memory_pressure_full_avg10 = 0.25;
        f->memory_high_kib = 5 * KIB_PER_GIB;
        f->memory_max_kib = 16 * KIB_PER_GIB;
        snprintf(f->import_profile, sizeof(f->import_profile), "Mathlib.Tactic,Proj");
        f->profile_switch_count = 2;
        f->restarts_total = 3;
        f->restarts_by_cause[RESTART_CAUSE_CHILD_EXIT] = 2;
        f->restarts_by_cause[RESTART_CAUSE_EXPLICIT] = 1;
        f->restarts_in_window = 2;
        f->queue_depth = 5;
        f->requests_served = 9;
        f->pool_max_workers = 3;
        f->pool_memory_kib = 48 * KIB_PER_GIB;
        snprintf(f->pool_memory_source, sizeof(f->pool_memory_source), "memory.max of /user.slice/lean.slice/lean-host.slice");
        f->last_restart = (RestartEvent) {
                .valid = true,
                .cause = RESTART_CAUSE_CHILD_EXIT,
                .worker_generation = 6,
                .planned = false,
                .rss_kib = 99,
                .limit_kib = 0,
        };
        snprintf(f->last_restart.reason, sizeof(f->last_restart.reason), "worker exited with status 3");
        return p;
}

static void test_projects(Ctx *c) {
        _cleanup_free_ char *path1 = NULL, *path2 = NULL, *xml = NULL, *xml2 = NULL;
        StubProject *p1, *p2;
        sd_bus_message *m;
        const char *id, *root, *state, *path, *s;
        uint64_t by_cause[_RESTART_CAUSE_MAX], gen, rss, limit;
        int planned;
        size_t n = 0;

        p1 = add_project(c, "/srv/proj-a", "0123456789abcdef");
        p2 = add_project(c, "/srv/proj-b", "fedcba9876543210");
        p2->facts.state = PROJECT_IDLE;
        p2->facts.last_restart.valid = false;
        p2->facts.swap_valid = p2->facts.events_valid = p2->facts.pressure_valid = false;
        check_ok(bus_project_path((LhProject *) p1, &path1));
        check_ok(bus_project_path((LhProject *) p2, &path2));
        /* a leading digit is escaped, as systemd's unit paths */
        check(streq(path1, "/org/leanhost/Host1/project/_30123456789abcdef"));
        check(streq(path2, "/org/leanhost/Host1/project/fedcba9876543210"));

        /* ListProjects */
        m = call(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "ListProjects", NULL);
        check_ok(sd_bus_message_enter_container(m, 'a', "(ssso)"));
        while (sd_bus_message_read(m, "(ssso)", &id, &root, &state, &path) > 0) {
                StubProject *want = n == 0 ? p1 : p2;
                check(streq(id, want->id));
                check(streq(root, want->root));
                check(streq(state, n == 0 ? "busy" : "idle"));
                check(streq(path, n == 0 ? path1 : path2));
                n++;
        }
        check(n == 2);
        sd_bus_message_unref(m);

        /* GetProject: id, root, path inside, unknown, relative */
        m = call(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "GetProject", "s", "fedcba9876543210");
        check(sd_bus_message_read(m, "o", &path) > 0 && streq(path, path2));
        sd_bus_message_unref(m);
        m = call(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "GetProject", "s", "/srv/proj-a");
        check(sd_bus_message_read(m, "o", &path) > 0 && streq(path, path1));
        sd_bus_message_unref(m);
        m = call(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "GetProject", "s", "/srv/proj-a/Proj/Basic.lean");
        check(sd_bus_message_read(m, "o", &path) > 0 && streq(path, path1));
        sd_bus_message_unref(m);
        m = call(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "GetProject", "s", "/srv/proj-ab");
        check(sd_bus_message_is_method_error(m, BUS_ERROR_PREFIX "ProjectNotFound"));
        check(strstr(sd_bus_message_get_error(m)->message, "/srv/proj-ab"));
        sd_bus_message_unref(m);
        m = call(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "GetProject", "s", "proj-a");
        check(sd_bus_message_is_method_error(m, BUS_ERROR_PREFIX "ProjectNotFound"));
        sd_bus_message_unref(m);
        m = call(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "GetProject", "s", "");
        check(sd_bus_message_is_method_error(m, SD_BUS_ERROR_INVALID_ARGS));
        sd_bus_message_unref(m);

        /* Properties: every one equals the facts */
        check_s(c, path1, BUS_PROJECT_INTERFACE, "Id", "0123456789abcdef");
        check_s(c, path1, BUS_PROJECT_INTERFACE, "Root", "/srv/proj-a");
        check_s(c, path1, BUS_PROJECT_INTERFACE, "State", "busy");
        check_s(c, path2, BUS_PROJECT_INTERFACE, "State", "idle");
        check(get_u(c, path1, BUS_PROJECT_INTERFACE, "WorkerPID") == 4242);
        check(get_t(c, path1, BUS_PROJECT_INTERFACE, "WorkerGeneration") == 7);
        check_s(c, path1, BUS_PROJECT_INTERFACE, "EnforcementMode", "scope");
        check_s(c, path1, BUS_PROJECT_INTERFACE, "ScopeUnit", "lean-worker-0123456789abcdef-7.scope");
        check(get_t(c, path1, BUS_PROJECT_INTERFACE, "RssKiB") == 123456);
        check(get_t(c, path1, BUS_PROJECT_INTERFACE, "AnonKiB") == 100000);
        check(get_x(c, path1, BUS_PROJECT_INTERFACE, "SwapKiB") == 2048);
        check(get_x(c, path1, BUS_PROJECT_INTERFACE, "MemoryEventsHigh") == 11);
        check(get_x(c, path1, BUS_PROJECT_INTERFACE, "MemoryEventsMax") == 3);
        check(get_x(c, path1, BUS_PROJECT_INTERFACE, "MemoryEventsOomKill") == 1);
        check(get_d(c, path1, BUS_PROJECT_INTERFACE, "MemoryPressureSomeAvg10") == 12.5);
        check(get_d(c, path1, BUS_PROJECT_INTERFACE, "MemoryPressureFullAvg10") == 0.25);
        check(get_u(c, path1, BUS_PROJECT_INTERFACE, "PoolMaxWorkers") == 3);
        check(get_t(c, path1, BUS_PROJECT_INTERFACE, "PoolMemoryKiB") == 48 * KIB_PER_GIB);
        check_s(c, path1, BUS_PROJECT_INTERFACE, "PoolMemorySource", "memory.max of /user.slice/lean.slice/lean-host.slice");
        /* not on cgroup v2 (proj-b): -1, never 0 */
        check(get_x(c, path2, BUS_PROJECT_INTERFACE, "SwapKiB") == -1);
        check(get_x(c, path2, BUS_PROJECT_INTERFACE, "MemoryEventsOomKill") == -1);
        check(get_d(c, path2, BUS_PROJECT_INTERFACE, "MemoryPressureSomeAvg10") == -1.0);
        check(get_t(c, path1, BUS_PROJECT_INTERFACE, "MemoryHighKiB") == 5 * KIB_PER_GIB);
        check(get_t(c, path1, BUS_PROJECT_INTERFACE, "MemoryMaxKiB") == 16 * KIB_PER_GIB);
        check_s(c, path1, BUS_PROJECT_INTERFACE, "ImportProfile", "Mathlib.Tactic,Proj");
        check(get_t(c, path1, BUS_PROJECT_INTERFACE, "ProfileSwitchCount") == 2);
        check(get_t(c, path1, BUS_PROJECT_INTERFACE, "RestartsTotal") == 3);
        check(get_by_cause(c, path1, BUS_PROJECT_INTERFACE, by_cause) == 2);
        check(memcmp(by_cause, p1->facts.restarts_by_cause, sizeof(by_cause)) == 0);
        check(get_u(c, path1, BUS_PROJECT_INTERFACE, "RestartsInWindow") == 2);
        check(get_u(c, path1, BUS_PROJECT_INTERFACE, "QueueDepth") == 5);
        check(get_t(c, path1, BUS_PROJECT_INTERFACE, "RequestsServed") == 9);
        /* from the files: not known yet, answered at once, a look-up started */
        {
                usec_t t0 = now_usec(CLOCK_MONOTONIC);

                check_s(c, path1, BUS_PROJECT_INTERFACE, "Readiness", "unknown");
                check(now_usec(CLOCK_MONOTONIC) - t0 < BUS_FILES_TIMEOUT_USEC);
        }
        check_files_s(c, path1, "Toolchain", ""); /* /srv/proj-a has no lean-toolchain */
        /* no lean-toolchain, no elan, no lake on PATH: nothing could run a REPL */
        check_files_s(c, path1, "Readiness", "toolchain_not_installed");
        {
                /* Toolchain: the first line of <root>/lean-toolchain */
                char dir[] = "/tmp/test-bus-XXXXXX", file[64], saved[sizeof(p1->root)];
                FILE *f;

                check(mkdtemp(dir) != NULL);
                snprintf(file, sizeof(file), "%s/lean-toolchain", dir);
                f = fopen(file, "we");
                check(f != NULL);
                if (f) {
                        fputs("leanprover/lean4:v4.19.0\nignored\n", f);
                        fclose(f);
                }
                memcpy(saved, p1->root, sizeof(saved));
                snprintf(p1->root, sizeof(p1->root), "%s", dir);
                check_files_s(c, path1, "Toolchain", "leanprover/lean4:v4.19.0");
                memcpy(p1->root, saved, sizeof(saved));
                (void) unlink(file);
                (void) rmdir(dir);
        }

        m = get_property(c, path1, BUS_PROJECT_INTERFACE, "LastRestart", "(sstbtt)");
        check(sd_bus_message_read(m, "(sstbtt)", &id, &s, &gen, &planned, &rss, &limit) > 0);
        check(streq(id, "child_exit") && streq(s, "worker exited with status 3"));
        check(gen == 6 && !planned && rss == 99 && limit == 0);
        sd_bus_message_unref(m);
        m = get_property(c, path2, BUS_PROJECT_INTERFACE, "LastRestart", "(sstbtt)");
        check(sd_bus_message_read(m, "(sstbtt)", &id, &s, &gen, &planned, &rss, &limit) > 0);
        check(streq(id, "") && streq(s, "") && gen == 0 && !planned && rss == 0 && limit == 0);
        sd_bus_message_unref(m);

        /* unknown project object */
        m = call(c, "/org/leanhost/Host1/project/nothere", "org.freedesktop.DBus.Properties", "Get", "ss",
                 BUS_PROJECT_INTERFACE, "State");
        check(sd_bus_message_is_method_error(m, NULL));
        sd_bus_message_unref(m);

        /* introspection: the enumerator lists both, memory is not signalled */
        xml = introspect(c, BUS_PROJECT_PATH_PREFIX);
        check(strstr(xml, "<node name=\"_30123456789abcdef\"/>"));
        check(strstr(xml, "<node name=\"fedcba9876543210\"/>"));
        xml2 = introspect(c, path1);
        check(property_has_no_change_signal(xml2, "RssKiB"));
        check(property_has_no_change_signal(xml2, "AnonKiB"));
        check(!property_has_no_change_signal(xml2, "State"));
        check(!property_has_no_change_signal(xml2, "WorkerGeneration"));

        /* ObjectManager */
        m = call(c, BUS_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL);
        check(!sd_bus_message_is_method_error(m, NULL));
        check_ok(sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}"));
        n = 0;
        while (sd_bus_message_enter_container(m, 'e', "oa{sa{sv}}") > 0) {
                check_ok(sd_bus_message_read(m, "o", &path));
                check(streq(path, path1) || streq(path, path2));
                check_ok(sd_bus_message_skip(m, "a{sa{sv}}"));
                check_ok(sd_bus_message_exit_container(m));
                n++;
        }
        check(n == 2);
        sd_bus_message_unref(m);

        /* methods */
        m = call(c, path1, BUS_PROJECT_INTERFACE, "Restart", NULL);
        check(!sd_bus_message_is_method_error(m, NULL) && p1->restart_calls == 1 && p1->stop_calls == 0);
        sd_bus_message_unref(m);
        m = call(c, path2, BUS_PROJECT_INTERFACE, "Stop", NULL);
        check(!sd_bus_message_is_method_error(m, NULL) && p2->stop_calls == 1 && p2->restart_calls == 0);
        sd_bus_message_unref(m);
        m = call(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "RestartWorker", "s", "/srv/proj-b/X.lean");
        check(!sd_bus_message_is_method_error(m, NULL) && p2->restart_calls == 1 && p2->stop_calls == 1);
        sd_bus_message_unref(m);
        m = call(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "StopWorker", "s", "0123456789abcdef");
        check(!sd_bus_message_is_method_error(m, NULL) && p1->stop_calls == 1 && p1->restart_calls == 1);
        sd_bus_message_unref(m);
        m = call(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "StopWorker", "s", "/nowhere");
        check(sd_bus_message_is_method_error(m, BUS_ERROR_PREFIX "ProjectNotFound"));
        sd_bus_message_unref(m);
        p1->action_result = -EBUSY;
        m = call(c, path1, BUS_PROJECT_INTERFACE, "Restart", NULL);
        check(sd_bus_message_is_method_error(m, NULL));
        check(sd_bus_message_get_errno(m) == EBUSY);
        check(strstr(sd_bus_message_get_error(m)->message, "/srv/proj-a"));
        sd_bus_message_unref(m);
        p1->action_result = 0;
}

/* One project whose root and strings are not UTF-8 (json-c lets overlong
 * sequences through, reasons are cut byte-wise): the lists still work, the
 * bad bytes come out as \xNN. And Readiness re-reads no unchanged file. */
static void test_bad_strings(Ctx *c) {
        _cleanup_free_ char *bad_path = NULL;
        StubProject *bad;
        sd_bus_message *m;
        const char *id, *root, *state, *path, *s;
        uint64_t gen, rss, limit, reads;
        int planned;
        size_t n = 0, n_bad = 0;

        bad = add_project(c, "/srv/bad\xc0\x80name", "badbadbadbadbad0");
        snprintf(bad->facts.last_restart.reason, sizeof(bad->facts.last_restart.reason), "cut in \xc3");
        snprintf(bad->facts.import_profile, sizeof(bad->facts.import_profile), "Bad\xff");
        check_ok(bus_project_path((LhProject *) bad, &bad_path));

        m = call(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "ListProjects", NULL);
        check(!sd_bus_message_is_method_error(m, NULL));
        check_ok(sd_bus_message_enter_container(m, 'a', "(ssso)"));
        while (sd_bus_message_read(m, "(ssso)", &id, &root, &state, &path) > 0) {
                if (streq(id, bad->id)) {
                        check(streq(root, "/srv/bad\\xc0\\x80name"));
                        n_bad++;
                }
                n++;
        }
        check(n >= 2 && n_bad == 1);
        sd_bus_message_unref(m);

        m = call(c, BUS_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL);
        check(!sd_bus_message_is_method_error(m, NULL));
        sd_bus_message_unref(m);

        check_s(c, bad_path, BUS_PROJECT_INTERFACE, "Root", "/srv/bad\\xc0\\x80name");
        check_s(c, bad_path, BUS_PROJECT_INTERFACE, "ImportProfile", "Bad\\xff");
        m = get_property(c, bad_path, BUS_PROJECT_INTERFACE, "LastRestart", "(sstbtt)");
        check(sd_bus_message_read(m, "(sstbtt)", &id, &s, &gen, &planned, &rss, &limit) > 0);
        check(streq(s, "cut in \\xc3"));
        sd_bus_message_unref(m);

        /* Readiness (no pin, no elan, no lake): classified once from the files, then from the cache */
        check_files_s(c, bad_path, "Readiness", "toolchain_not_installed");
        reads = bad->readiness_cache.reads;
        check(reads > 0);
        /* later look-ups (one per BUS_FILES_REFRESH_USEC) re-read nothing unchanged */
        usleep(BUS_FILES_REFRESH_USEC + 100 * USEC_PER_MSEC);
        check_s(c, bad_path, BUS_PROJECT_INTERFACE, "Readiness", "toolchain_not_installed");
        settle(c);
        check_files_s(c, bad_path, "Toolchain", "");
        m = call(c, BUS_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL);
        sd_bus_message_unref(m);
        check(bad->readiness_cache.reads == reads);
}

/* A project on a hung mount (tests/double/hangfs: FUSE that answers
 * nothing): its file-based properties answer "unknown"/"" after the bounded
 * wait, then at once; the object list and the other projects go on. */
static void test_hung_files(Ctx *c) {
        const char *hangfs = getenv("LEAN_HOST_HANGFS");
        char dir[] = "/tmp/test-bus-hung-XXXXXX", root[128], line[64] = "";
        _cleanup_free_ char *hung_path = NULL;
        int pipefd[2], status;
        StubProject *hung;
        sd_bus_message *m;
        unsigned stuck;
        usec_t t0;
        ssize_t n;
        pid_t pid;

        if (geteuid() != 0 || access("/dev/fuse", F_OK) < 0 || isempty(hangfs)) {
                fprintf(stderr, "hung mount check skipped: needs root, /dev/fuse and LEAN_HOST_HANGFS\n");
                return;
        }
        check(mkdtemp(dir) != NULL);
        check(pipe2(pipefd, O_CLOEXEC) == 0);
        pid = fork();
        check(pid >= 0);
        if (pid == 0) {
                dup2(pipefd[1], STDOUT_FILENO);
                execl("/usr/bin/python3", "python3", hangfs, dir, (char *) NULL);
                _exit(127);
        }
        close(pipefd[1]);
        n = read(pipefd[0], line, sizeof line - 1);
        close(pipefd[0]);
        if (n <= 0 || !strneq(line, "ready", 5)) {
                fprintf(stderr, "hung mount check skipped: hangfs said '%s'\n", line);
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, &status, 0);
                (void) rmdir(dir);
                return;
        }

        snprintf(root, sizeof root, "%s/proj", dir);
        hung = add_project(c, root, "4a4a4a4a4a4a4a4a");
        check_ok(bus_project_path((LhProject *) hung, &hung_path));

        /* answered at once ("unknown": nothing known yet), never waited for */
        stuck = thread_bounded_stuck();
        t0 = now_usec(CLOCK_MONOTONIC);
        check_s(c, hung_path, BUS_PROJECT_INTERFACE, "Readiness", "unknown");
        check_s(c, hung_path, BUS_PROJECT_INTERFACE, "Toolchain", "");
        check(now_usec(CLOCK_MONOTONIC) - t0 < BUS_FILES_TIMEOUT_USEC / 2);
        /* the look-up is given up on after its deadline, the loop free meanwhile */
        while (thread_bounded_stuck() == stuck && now_usec(CLOCK_MONOTONIC) - t0 < 3 * USEC_PER_SEC) {
                usec_t p0 = now_usec(CLOCK_MONOTONIC);

                check_s(c, "/org/leanhost/Host1/project/fedcba9876543210", BUS_PROJECT_INTERFACE, "Id",
                        "fedcba9876543210");
                check(now_usec(CLOCK_MONOTONIC) - p0 < 100 * USEC_PER_MSEC);
                (void) sd_event_run(c->event, 20 * USEC_PER_MSEC);
        }
        check(now_usec(CLOCK_MONOTONIC) - t0 >= BUS_FILES_TIMEOUT_USEC);
        stuck = thread_bounded_stuck();
        check(stuck >= 1);
        /* not tried again for a while: no new look-up is started (and none
         * waited for) however often the properties are asked for */
        check_s(c, hung_path, BUS_PROJECT_INTERFACE, "Toolchain", "");
        check_s(c, hung_path, BUS_PROJECT_INTERFACE, "Readiness", "unknown");
        m = call(c, BUS_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL);
        check(!sd_bus_message_is_method_error(m, NULL));
        sd_bus_message_unref(m);
        settle(c);
        check(thread_bounded_stuck() == stuck);
        /* the others still classified from their files */
        check_files_s(c, "/org/leanhost/Host1/project/fedcba9876543210", "Readiness", "toolchain_not_installed");

        /* a method naming a path there: answered path_unresponsive after the
         * deadline, other calls served meanwhile (the loop never waits) */
        {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL;
                _cleanup_free_ char *inside = strdup_printf("%s/Foo.lean", root);
                sd_bus_message *reply = NULL;

                check(inside != NULL);
                check_ok(sd_bus_message_new_method_call(c->client, &req, NULL, BUS_MANAGER_PATH,
                                                        BUS_MANAGER_INTERFACE, "GetProject"));
                check_ok(sd_bus_message_append(req, "s", inside));
                check_ok(sd_bus_call_async(c->client, NULL, req, on_reply, &reply, 0));
                t0 = now_usec(CLOCK_MONOTONIC);
                while (!reply && now_usec(CLOCK_MONOTONIC) - t0 < 5 * USEC_PER_SEC) {
                        usec_t p0 = now_usec(CLOCK_MONOTONIC);

                        check_s(c, "/org/leanhost/Host1/project/fedcba9876543210", BUS_PROJECT_INTERFACE, "Id",
                                "fedcba9876543210");
                        check(now_usec(CLOCK_MONOTONIC) - p0 < 100 * USEC_PER_MSEC);
                        (void) sd_event_run(c->event, 20 * USEC_PER_MSEC);
                }
                check(reply != NULL);
                check(now_usec(CLOCK_MONOTONIC) - t0 >= 2 * USEC_PER_SEC - 100 * USEC_PER_MSEC);
                check(reply && sd_bus_message_is_method_error(reply, BUS_ERROR_PREFIX "PathUnresponsive"));
                sd_bus_message_unref(reply);
        }

        /* the mount goes away: the stuck look-up ends and cleans up after itself */
        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, &status, 0);
        (void) umount2(dir, MNT_DETACH);
        for (int i = 0; i < 500 && thread_bounded_stuck() > 0; i++)
                usleep(10 * 1000);
        check(thread_bounded_stuck() == 0);
        (void) rmdir(dir);
}

static sd_bus_message *find_signal(Ctx *c, const char *path, const char *iface, const char *member, size_t nth) {
        for (size_t i = 0; i < c->n_signals; i++)
                if (sd_bus_message_is_signal(c->signals[i], iface, member) &&
                    streq(sd_bus_message_get_path(c->signals[i]), path) && nth-- == 0) {
                        check_ok(sd_bus_message_rewind(c->signals[i], true));
                        return c->signals[i];
                }
        return NULL;
}

/* PropertiesChanged's changed names (values present), as a ','-joined string. */
static void changed_names(sd_bus_message *m, char *buf, size_t size) {
        const char *iface, *name;

        buf[0] = 0;
        check_ok(sd_bus_message_read(m, "s", &iface));
        check_ok(sd_bus_message_enter_container(m, 'a', "{sv}"));
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                check_ok(sd_bus_message_read(m, "s", &name));
                check_ok(sd_bus_message_skip(m, "v"));
                check_ok(sd_bus_message_exit_container(m));
                if (buf[0])
                        strncat(buf, ",", size - strlen(buf) - 1);
                strncat(buf, name, size - strlen(buf) - 1);
        }
}

/* The first PropertiesChanged on path names exactly want (','-joined). */
static void check_changed(Ctx *c, const char *path, const char *want) {
        sd_bus_message *m = find_signal(c, path, "org.freedesktop.DBus.Properties", "PropertiesChanged", 0);
        char names[512];

        check(m);
        if (!m)
                return;
        changed_names(m, names, sizeof(names));
        if (!streq(names, want)) {
                fprintf(stderr, "PropertiesChanged on %s: got '%s', want '%s'\n", path, names, want);
                failures++;
        }
}

static void test_signals(Ctx *c) {
        _cleanup_free_ char *path1 = NULL, *path3 = NULL;
        StubProject *p1 = (StubProject *) registry_get_project(c->registry, 0), *p3;
        RestartEvent ev = {
                .valid = true,
                .cause = RESTART_CAUSE_RSS_POST_JOB,
                .worker_generation = 7,
                .planned = true,
                .rss_kib = 140000,
                .limit_kib = 131072,
        };
        const char *path, *cause, *reason;
        uint64_t gen, rss, limit;
        sd_bus_message *m;
        int planned;

        check_ok(bus_project_path((LhProject *) p1, &path1));
        settle(c);
        drop_signals(c);

        /* first signal of an object: every property of the changed groups */
        bus_service_project_changed(c->service, (LhProject *) p1, PROJECT_CHANGE_STATE);
        settle(c);
        check_changed(c, path1, "State,QueueDepth,RequestsServed");
        check(c->n_signals == 1);
        drop_signals(c);

        /* a call: four changes in one loop turn (submit, dispatch, start,
         * profile) are one signal naming only what differs from the last one */
        p1->facts.state = p1->facts.state == PROJECT_BUSY ? PROJECT_STARTING : PROJECT_BUSY;
        p1->facts.queue_depth++;
        bus_service_project_changed(c->service, (LhProject *) p1, PROJECT_CHANGE_STATE);
        bus_service_project_changed(c->service, (LhProject *) p1, PROJECT_CHANGE_STATE);
        p1->facts.worker_generation++;
        snprintf(p1->facts.import_profile, sizeof p1->facts.import_profile, "Mathlib.Tactic");
        bus_service_project_changed(c->service, (LhProject *) p1, PROJECT_CHANGE_WORKER | PROJECT_CHANGE_STATE);
        p1->facts.restarts_total++;
        bus_service_project_changed(c->service, (LhProject *) p1, PROJECT_CHANGE_RESTARTS);
        settle(c);
        check(c->n_signals == 1);
        check_changed(c, path1, "State,QueueDepth,WorkerGeneration,ImportProfile,RestartsTotal");
        drop_signals(c);

        /* nothing differs: no signal at all */
        bus_service_project_changed(c->service, (LhProject *) p1, PROJECT_CHANGE_WORKER | PROJECT_CHANGE_RESTARTS);
        bus_service_project_changed(c->service, (LhProject *) p1, PROJECT_CHANGE_STATE);
        settle(c);
        check(c->n_signals == 0);
        drop_signals(c);

        /* a later turn's change is a signal of its own */
        p1->facts.state = PROJECT_IDLE;
        p1->facts.queue_depth--;
        p1->facts.requests_served++;
        bus_service_project_changed(c->service, (LhProject *) p1, PROJECT_CHANGE_STATE);
        settle(c);
        check(c->n_signals == 1);
        check_changed(c, path1, "State,QueueDepth,RequestsServed");
        drop_signals(c);

        snprintf(ev.reason, sizeof(ev.reason), "anon 140000 KiB above the post-job tier");
        bus_service_worker_restarted(c->service, (LhProject *) p1, &ev);
        settle(c);
        m = find_signal(c, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "WorkerRestarted", 0);
        check(m);
        if (m) {
                check(sd_bus_message_read(m, "osstbtt", &path, &cause, &reason, &gen, &planned, &rss, &limit) > 0);
                check(streq(path, path1) && streq(cause, "rss_post_job"));
                check(streq(reason, "anon 140000 KiB above the post-job tier"));
                check(gen == 7 && planned && rss == 140000 && limit == 131072);
        }
        check_changed(c, BUS_MANAGER_PATH, "RestartsTotal,RestartsByCause");
        drop_signals(c);

        bus_service_workers_changed(c->service);
        settle(c);
        check_changed(c, BUS_MANAGER_PATH, "WorkersActive,EnforcementMode");
        drop_signals(c);

        p3 = add_project(c, "/srv/proj-c", "aaaaaaaaaaaaaaaa");
        check_ok(bus_project_path((LhProject *) p3, &path3));
        bus_service_project_added(c->service, (LhProject *) p3);
        settle(c);
        m = find_signal(c, BUS_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded", 0);
        check(m);
        if (m) {
                check(sd_bus_message_read(m, "o", &path) > 0 && streq(path, path3));
                check_ok(sd_bus_message_enter_container(m, 'a', "{sa{sv}}"));
                bool found = false;
                while (sd_bus_message_enter_container(m, 'e', "sa{sv}") > 0) {
                        const char *iface;
                        check_ok(sd_bus_message_read(m, "s", &iface));
                        if (streq(iface, BUS_PROJECT_INTERFACE))
                                found = true;
                        check_ok(sd_bus_message_skip(m, "a{sv}"));
                        check_ok(sd_bus_message_exit_container(m));
                }
                check(found);
        }
        drop_signals(c);

        /* forgotten (idle): InterfacesRemoved, while the object still resolves */
        bus_service_project_removed(c->service, (LhProject *) p3);
        settle(c);
        m = find_signal(c, BUS_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved", 0);
        check(m);
        if (m) {
                char **ifaces = NULL;

                check(sd_bus_message_read(m, "o", &path) > 0 && streq(path, path3));
                check(sd_bus_message_read_strv(m, &ifaces) >= 0);
                check(ifaces && strv_contains(ifaces, BUS_PROJECT_INTERFACE));
                strv_free(ifaces);
        }
        drop_signals(c);

        /* NULL service (no bus) is a no-op */
        bus_service_project_removed(NULL, (LhProject *) p3);
        bus_service_project_added(NULL, (LhProject *) p3);
        bus_service_project_changed(NULL, (LhProject *) p3, PROJECT_CHANGE_STATE);
        bus_service_worker_restarted(NULL, (LhProject *) p3, &ev);
        bus_service_workers_changed(NULL);
        check(!bus_service_has_name(NULL));
}

static void test_no_bus(void) {
        _cleanup_(bus_service_freep) BusService *b = (BusService *) 1;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        LhRegistry *r = stub_registry_new();
        LhConfig config = {};

        /* No user bus reachable: not an error, just no service. */
        check_ok(sd_event_new(&e));
        check_ok(setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/lean-host-test-bus", 1));
        check(bus_service_new(&b, e, r, &config, false) == 0);
        check(b == NULL);
        stub_registry_free(r);
}

/* test-bus --introspect manager|project: print the live introspection XML
 * (dbus/test-dbus-xml.py compares it with the shipped XML). */
static int dump_introspection(const char *which) {
        _cleanup_free_ char *path = NULL, *xml = NULL;
        Ctx c = {};

        setup(&c);
        check_ok(bus_project_path((LhProject *) add_project(&c, "/srv/proj-a", "0123456789abcdef"), &path));
        xml = introspect(&c, streq(which, "manager") ? BUS_MANAGER_PATH : path);
        fputs(xml, stdout);
        teardown(&c);
        return failures > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int on_serve_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Ctx *c = userdata;
        StubProject *p = (StubProject *) registry_get_project(c->registry, 0);
        RestartEvent ev = {
                .valid = true,
                .cause = RESTART_CAUSE_RSS_HARD_LIMIT,
                .worker_generation = 7,
                .planned = false,
                .rss_kib = 300 * KIB_PER_MIB,
                .limit_kib = 256 * KIB_PER_MIB,
        };

        if (si->ssi_signo != SIGUSR1)
                return sd_event_exit(sd_event_source_get_event(s), 0);
        snprintf(ev.reason, sizeof(ev.reason), "rss_hard_limit_exceeded current_kib=307200 limit_kib=262144");
        bus_service_worker_restarted(c->service, (LhProject *) p, &ev);
        return 0;
}

/* test-bus --serve: the stub projects on the user bus under the real name,
 * for src/ctl/test-ctl.py (run inside dbus-run-session). SIGUSR1 emits one
 * WorkerRestarted (rss_hard_limit_exceeded) for the first project; SIGTERM
 * exits. */
static int serve(void) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        StubProject *p;
        sigset_t mask;
        Ctx c = {};

        sigemptyset(&mask);
        sigaddset(&mask, SIGUSR1);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        check_ok(sd_event_new(&c.event));
        check_ok(sd_bus_open_user(&bus));
        c.config = tiers_config(64 * KIB_PER_MIB, 128 * KIB_PER_MIB, 256 * KIB_PER_MIB, 50);
        c.registry = stub_registry_new();
        add_project(&c, "/srv/proj-a", "0123456789abcdef");
        p = add_project(&c, "/srv/proj-b", "fedcba9876543210");
        p->facts.state = PROJECT_IDLE;
        p->facts.worker_pid = 0;
        p->facts.scope_unit[0] = 0;
        p->facts.rss_kib = p->facts.anon_kib = 0;
        p->facts.swap_valid = p->facts.events_valid = p->facts.pressure_valid = false;
        p->facts.import_profile[0] = 0;
        p->facts.restarts_total = 0;
        memset(p->facts.restarts_by_cause, 0, sizeof(p->facts.restarts_by_cause));
        p->facts.restarts_in_window = 0;
        p->facts.last_restart.valid = false;
        {
                uint64_t by_cause[_RESTART_CAUSE_MAX] = {};

                by_cause[RESTART_CAUSE_CHILD_EXIT] = 2;
                by_cause[RESTART_CAUSE_EXPLICIT] = 1;
                stub_registry_set(c.registry, 1, 3, by_cause);
        }
        check_ok(bus_service_attach(&c.service, bus, c.event, c.registry, &c.config, true));
        check_ok(sd_event_add_signal(c.event, NULL, SIGUSR1, on_serve_signal, &c));
        check_ok(sd_event_add_signal(c.event, NULL, SIGTERM, on_serve_signal, &c));
        check_ok(sd_event_add_signal(c.event, NULL, SIGINT, on_serve_signal, &c));
        if (failures == 0)
                check_ok(sd_event_loop(c.event));

        c.service = bus_service_free(c.service);
        stub_registry_free(c.registry);
        c.event = sd_event_unref(c.event);
        return failures > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char *argv[]) {
        Ctx c = {};

        /* Readiness is classified from the (stub, nonexistent) project root:
         * no elan, no lake, no repl anywhere makes it deterministic. */
        setenv("ELAN_HOME", "/nonexistent/elan", 1);
        setenv("PATH", "/nonexistent/bin", 1);

        if (argc == 3 && streq(argv[1], "--introspect"))
                return dump_introspection(argv[2]);
        if (argc == 2 && streq(argv[1], "--serve"))
                return serve();

        test_error_names();
        setup(&c);
        test_manager(&c);
        test_projects(&c);
        test_signals(&c);
        test_bad_strings(&c);
        test_hung_files(&c);
        teardown(&c);
        test_no_bus();

        if (failures > 0) {
                fprintf(stderr, "%d check(s) failed\n", failures);
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
