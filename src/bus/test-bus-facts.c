/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The real project actor and the real bus objects together (a private peer
 * connection, process-mode workers running the test double): one call with
 * the bus on computes the facts snapshot a bounded number of times, and
 * sends one PropertiesChanged per object per loop turn, never two alike. */

#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>

#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/tests.h"
#include "basic/time-util.h"
#include "bus/bus.h"
#include "project/project.h"
#include "project/test-project-util.h"

static sd_event *event;
static BusService *service;
static char project_dir[] = "/tmp/lh-test-bus-facts-XXXXXX";
static unsigned n_project_signals, n_other_signals;
static char project_path[256];

/* ---- the registry's events go to the bus, as the manager forwards them ---- */

static void on_added(LhProject *p, void *userdata) {
        bus_service_project_added(service, p);
}

static void on_changed(LhProject *p, ProjectChange what, void *userdata) {
        bus_service_project_changed(service, p, what);
}

static void on_restarted(LhProject *p, const RestartEvent *ev, void *userdata) {
        bus_service_worker_restarted(service, p, ev);
}

static void on_workers(LhRegistry *r, unsigned n, void *userdata) {
        bus_service_workers_changed(service);
}

static const RegistryObserver observer = {
        .project_added = on_added,
        .project_changed = on_changed,
        .worker_restarted = on_restarted,
        .workers_changed = on_workers,
};

/* ---- one call ------------------------------------------------------------- */

typedef struct Call {
        unsigned n_done;
        bool ok;
} Call;

static int call_start(LhJob *job, void *userdata, int base_env, json_object **ret) {
        *ret = test_job_command(job, "def x := 1");
        return 0;
}

static void call_done(LhJob *job, void *userdata, json_object *result, const LhError *err, const LhFacts *facts) {
        Call *c = userdata;
        LhFacts again;

        c->n_done++;
        c->ok = !err;
        /* the tools' envelope reads the snapshot once more */
        project_get_facts(job_get_project(job), &again);
}

static const JobOps call_ops = {
        .start = call_start,
        .step = test_job_step_result,
        .done = call_done,
};

static void run_call(LhProject *p) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 20 * USEC_PER_SEC;
        Call c = {};
        LhJob *j;
        LhError err = {};

        ASSERT_OK(job_new(&j, NULL, 0, &call_ops, &c));
        ASSERT_OK(project_submit(p, j, &err));
        while (c.n_done == 0) {
                ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) < deadline);
                ASSERT_OK(sd_event_run(event, 100 * USEC_PER_MSEC));
        }
        ASSERT_TRUE(c.ok);
        job_unref(j);
        /* let the bus emit and the client read it */
        for (unsigned i = 0; i < 50; i++)
                if (sd_event_run(event, 20 * USEC_PER_MSEC) == 0)
                        break;
}

static int on_filter(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        if (!sd_bus_message_is_signal(m, "org.freedesktop.DBus.Properties", "PropertiesChanged"))
                return 0;
        if (streq(strempty(sd_bus_message_get_path(m)), project_path))
                n_project_signals++;
        else
                n_other_signals++;
        return 0;
}

/* One call: at most max_snapshots facts computed, 1..max_signals PropertiesChanged. */
static void run_call_counted(LhProject *p, const char *what, uint64_t max_snapshots, unsigned max_signals) {
        uint64_t before = project_get_facts_computed(p), n;

        n_project_signals = n_other_signals = 0;
        run_call(p);
        n = project_get_facts_computed(p) - before;
        fprintf(stderr, "%s: %" PRIu64 " snapshots, %u PropertiesChanged\n", what, n, n_project_signals);
        ASSERT_TRUE(n <= max_snapshots);
        ASSERT_TRUE(n_project_signals >= 1 && n_project_signals <= max_signals);
}

int main(void) {
        _cleanup_free_ char *lakefile = NULL, *path = NULL;
        _cleanup_(lh_error_done) LhError err = {};
        LhRegistry *registry;
        sd_bus *server, *client;
        LhConfig config;
        LhProject *p;
        sd_id128_t id;
        int fds[2];

        if (test_config_double(&config) != 0)
                return EXIT_TEST_SKIP;
        config.worker_idle_secs = 0;
        config.project_forget_idle_secs = 0;

        test_make_project(project_dir);
        lakefile = path_join(project_dir, "lakefile.lean");

        ASSERT_OK(sd_event_default(&event));
        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds));
        ASSERT_OK(sd_id128_randomize(&id));
        ASSERT_OK(sd_bus_new(&server));
        ASSERT_OK(sd_bus_set_fd(server, fds[0], fds[0]));
        ASSERT_OK(sd_bus_set_server(server, 1, id));
        ASSERT_OK(sd_bus_start(server));
        ASSERT_OK(sd_bus_new(&client));
        ASSERT_OK(sd_bus_set_fd(client, fds[1], fds[1]));
        ASSERT_OK(sd_bus_start(client));
        ASSERT_OK(sd_bus_attach_event(client, event, SD_EVENT_PRIORITY_NORMAL));
        ASSERT_OK(sd_bus_add_filter(client, NULL, on_filter, NULL));

        ASSERT_OK(registry_new(&registry, event, &config, NULL));
        ASSERT_OK(bus_service_attach(&service, server, event, registry, &config, false));
        registry_set_observer(registry, &observer, NULL);
        ASSERT_OK(registry_resolve(registry, project_dir, &p, &err));
        ASSERT_OK(bus_project_path(p, &path));
        snprintf(project_path, sizeof project_path, "%s", path);

        /* the first call starts the worker: a few more turns, still bounded */
        run_call_counted(p, "first call", 8, 4);
        /* a call on the warm worker: busy, then idle again, never two alike */
        run_call_counted(p, "second call", 3, 2);

        service = bus_service_free(service);
        registry_free(registry);
        sd_bus_flush_close_unref(client);
        sd_bus_flush_close_unref(server);
        sd_event_unref(event);
        config_done(&config);
        (void) unlink(lakefile);
        (void) rmdir(project_dir);
        return 0;
}
