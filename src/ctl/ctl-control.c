/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The verbs that act or follow: restart, stop, monitor. */

#include <assert.h>
#include <time.h>

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "basic/json-util.h"
#include "basic/macro.h"
#include "ctl/ctl.h"

int verb_action(Ctl *c, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *object = NULL;
        bool stop = streq(argv[0], "stop");
        int r;

        assert(c);
        assert(argv);

        r = resolve_project(c, argv[1], &object);
        if (r < 0)
                return r;
        r = sd_bus_call_method(c->bus, SERVICE, object, PROJECT_IFACE, stop ? "Stop" : "Restart", &error, NULL, NULL);
        if (r < 0)
                return ctl_call_failed(c, &error, r, stop ? "stop the worker" : "restart the worker");
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

                if (j && (json_add(j, "project", json_object_new_string(root)) < 0 ||
                          json_add(j, "object", json_object_new_string(object)) < 0 ||
                          json_add(j, "realtime_usec", json_object_new_uint64(now_us)) < 0))
                        j = (json_object_put(j), NULL);
                (void) print_json(j);
                return 0;
        }

        {
                char stamp[64];
                struct tm tm;

                strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", localtime_r(&ts.tv_sec, &tm));
                printf("%s %s%s%s ", stamp, ctl_on(c, ANSI_BOLD), root, ctl_off(c));
                print_restart_line(c, &ri);
                printf(": %s\n", reason);
                fflush(stdout);
        }
        return 0;
}

int verb_monitor(Ctl *c, int argc, char *argv[]) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        Monitor mon = { .ctl = c };
        int r;

        assert(c);

        /* Synchronous: the match is in place before we say so, so whoever
         * waits for the line below sees every later event. The daemon need
         * not be running: events appear once it is. */
        r = sd_bus_match_signal(c->bus, &slot, SERVICE, MANAGER_PATH, MANAGER_IFACE, "WorkerRestarted",
                                on_worker_restarted, &mon);
        if (r < 0) {
                fprintf(stderr, "Failed to watch for WorkerRestarted: %s\n", strerror(-r));
                return r;
        }
        fprintf(stderr, "Monitoring WorkerRestarted of %s on the %s bus.\n", SERVICE, ctl_bus_name(c));

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

