/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "basic/log.h"
#include "basic/thread-util.h"
#include "bus/bus-resolve.h"
#include "project/resolve.h"

struct BusResolve {
        BusResolve *next, **list;
        LhRegistry *registry;
        sd_bus_message *m;
        char *path;
        BusResolveDone done;
        void *userdata;
        ThreadAsync *lookup;
};

static BusResolve *bus_resolve_free(BusResolve *br) {
        for (BusResolve **i = br->list; *i; i = &(*i)->next)
                if (*i == br) {
                        *i = br->next;
                        break;
                }
        thread_async_cancel(br->lookup);
        sd_bus_message_unref(br->m);
        free(br->path);
        return mfree(br);
}

static void bus_resolve_answer(BusResolve *br, LhProject *p, int k, LhError *err) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = br->done(br->m, k >= 0 ? p : NULL, k, err, br->userdata, &error);
        /* as sd-bus does for a method handler's failure */
        if (r < 0 || sd_bus_error_is_set(&error)) {
                if (!sd_bus_error_is_set(&error))
                        (void) sd_bus_error_set_errno(&error, r);
                r = sd_bus_reply_method_error(br->m, &error);
                if (r < 0)
                        log_debug_errno(r, "Failed to answer a D-Bus method call: %m");
        }
}

static void on_resolved(void *job, void *userdata, int k) {
        LhError err = { .restart_cause = _RESTART_CAUSE_INVALID };
        BusResolve *br = userdata;
        LhProject *p = NULL;

        br->lookup = NULL; /* gone after this callback */
        k = registry_resolve_finish(br->registry, job, k, br->path, &p, &err);
        bus_resolve_answer(br, p, k, &err);
        lh_error_done(&err);
        bus_resolve_free(br);
}

int bus_resolve_start(BusResolve **list, LhRegistry *r, sd_event *event, sd_bus_message *m, const char *path,
                      BusResolveDone done, void *userdata) {
        BusResolve *br;
        int k;

        assert(list);
        assert(m);
        assert(path);
        assert(done);

        br = new0(BusResolve, 1);
        if (!br)
                return -ENOMEM;
        *br = (BusResolve) { .registry = r, .m = sd_bus_message_ref(m), .path = strdup(path), .done = done,
                             .userdata = userdata, .list = list, .next = *list };
        *list = br;
        if (!br->path) {
                bus_resolve_free(br);
                return -ENOMEM;
        }
        k = registry_resolve_start(r, event, path, on_resolved, br, &br->lookup);
        if (k == -EBUSY) {
                /* too many look-ups stuck: answered at once, as if this one were */
                LhError err = { .restart_cause = _RESTART_CAUSE_INVALID };

                project_unresponsive_error(&err, path, k);
                bus_resolve_answer(br, NULL, k, &err);
                lh_error_done(&err);
                bus_resolve_free(br);
                return 1;
        }
        if (k < 0) {
                bus_resolve_free(br);
                return k;
        }
        return 1;
}

void bus_resolve_cancel_all(BusResolve **list) {
        while (*list)
                bus_resolve_free(*list);
}
