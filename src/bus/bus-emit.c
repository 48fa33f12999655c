/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* One PropertiesChanged per object per loop turn. A call changes a
 * project's state several times in one turn (submit, dispatch, start) and
 * each change used to be a signal of its own, whose getters each took a
 * facts snapshot. Here a change only marks the object; an idle-priority
 * defer source then compares the snapshot with what was last signalled and
 * sends one signal with the properties that differ (none: no signal). */

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "bus/bus-emit.h"
#include "bus/bus.h"

/* Here, the lower of the two files, so bus-emit.c needs nothing of bus.c. */
int bus_project_path(const LhProject *p, char **ret) {
        return sd_bus_path_encode(BUS_PROJECT_PATH_PREFIX, project_get_id(p), ret);
}

typedef struct EmitEntry {
        char id[32];
        ProjectChange dirty;  /* 0: nothing pending */
        bool have_last;
        LhFacts last;         /* as last signalled */
} EmitEntry;

struct BusEmitter {
        sd_bus *bus;
        LhRegistry *registry;
        sd_event_source *defer;
        EmitEntry *entries;
        size_t n_entries;
        BusManagerChange manager_dirty;
};

static int on_emit(sd_event_source *s, void *userdata);

int bus_emitter_new(BusEmitter **ret, sd_bus *bus, sd_event *event, LhRegistry *registry) {
        BusEmitter *e;
        int r;

        assert(ret);
        assert(bus);
        assert(event);

        e = new0(BusEmitter, 1);
        if (!e)
                return -ENOMEM;
        e->bus = sd_bus_ref(bus);
        e->registry = registry;
        r = sd_event_add_defer(event, &e->defer, on_emit, e);
        if (r >= 0)
                /* after every other pending source: all changes of this turn first */
                r = sd_event_source_set_priority(e->defer, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)
                r = sd_event_source_set_enabled(e->defer, SD_EVENT_OFF);
        if (r < 0) {
                bus_emitter_free(e);
                return r;
        }
        (void) sd_event_source_set_description(e->defer, "bus-emit");
        *ret = e;
        return 0;
}

BusEmitter *bus_emitter_free(BusEmitter *e) {
        if (!e)
                return NULL;
        sd_event_source_disable_unref(e->defer);
        free(e->entries);
        sd_bus_unref(e->bus);
        return mfree(e);
}

static void emitter_schedule(BusEmitter *e) {
        int r = sd_event_source_set_enabled(e->defer, SD_EVENT_ONESHOT);

        if (r < 0)
                log_debug_errno(r, "Failed to schedule PropertiesChanged: %m");
}

static EmitEntry *emitter_entry(BusEmitter *e, const char *id, bool create) {
        EmitEntry *a;

        for (size_t i = 0; i < e->n_entries; i++)
                if (streq(e->entries[i].id, id))
                        return &e->entries[i];
        if (!create)
                return NULL;
        a = realloc(e->entries, (e->n_entries + 1) * sizeof(EmitEntry));
        if (!a)
                return NULL;
        e->entries = a;
        a = &e->entries[e->n_entries++];
        *a = (EmitEntry) {};
        snprintf(a->id, sizeof a->id, "%s", id);
        return a;
}

void bus_emitter_project_changed(BusEmitter *e, LhProject *p, ProjectChange what) {
        EmitEntry *x;

        if (!e || !p || what == 0)
                return;
        x = emitter_entry(e, project_get_id(p), true);
        if (!x) {
                log_debug("Out of memory: a PropertiesChanged of %s is lost.", project_get_root(p));
                return;
        }
        x->dirty |= what;
        emitter_schedule(e);
}

void bus_emitter_project_removed(BusEmitter *e, LhProject *p) {
        EmitEntry *x;

        if (!e || !p)
                return;
        x = emitter_entry(e, project_get_id(p), false);
        if (x)
                *x = e->entries[--e->n_entries];
}

void bus_emitter_manager_changed(BusEmitter *e, BusManagerChange what) {
        if (!e)
                return;
        e->manager_dirty |= what;
        emitter_schedule(e);
}

static bool restart_event_equal(const RestartEvent *a, const RestartEvent *b) {
        return a->valid == b->valid && a->cause == b->cause && a->worker_generation == b->worker_generation &&
                a->planned == b->planned && a->rss_kib == b->rss_kib && a->limit_kib == b->limit_kib &&
                a->realtime_usec == b->realtime_usec && streq(a->reason, b->reason);
}

/* The signalled properties (EMITS_CHANGE in bus.c's vtable), by change group. */
static size_t project_changed_names(const LhFacts *old, const LhFacts *f, ProjectChange dirty, const char **names) {
        size_t n = 0;

#define ADD(group, name, changed)                                  \
        do {                                                       \
                if (old ? (changed) : (dirty & (group)) != 0)      \
                        names[n++] = name;                         \
        } while (0)
        ADD(PROJECT_CHANGE_STATE, "State", old->state != f->state);
        ADD(PROJECT_CHANGE_STATE, "QueueDepth", old->queue_depth != f->queue_depth);
        ADD(PROJECT_CHANGE_STATE, "RequestsServed", old->requests_served != f->requests_served);
        ADD(PROJECT_CHANGE_WORKER, "WorkerPID", old->worker_pid != f->worker_pid);
        ADD(PROJECT_CHANGE_WORKER, "WorkerGeneration", old->worker_generation != f->worker_generation);
        ADD(PROJECT_CHANGE_WORKER, "EnforcementMode", old->enforcement != f->enforcement);
        ADD(PROJECT_CHANGE_WORKER, "ScopeUnit", !streq(old->scope_unit, f->scope_unit));
        ADD(PROJECT_CHANGE_WORKER, "MemoryHighKiB", old->memory_high_kib != f->memory_high_kib);
        ADD(PROJECT_CHANGE_WORKER, "MemoryMaxKiB", old->memory_max_kib != f->memory_max_kib);
        ADD(PROJECT_CHANGE_WORKER, "ImportProfile", !streq(old->import_profile, f->import_profile));
        ADD(PROJECT_CHANGE_WORKER, "ProfileSwitchCount", old->profile_switch_count != f->profile_switch_count);
        ADD(PROJECT_CHANGE_RESTARTS, "RestartsTotal", old->restarts_total != f->restarts_total);
        ADD(PROJECT_CHANGE_RESTARTS, "RestartsByCause",
            memcmp(old->restarts_by_cause, f->restarts_by_cause, sizeof f->restarts_by_cause) != 0);
        ADD(PROJECT_CHANGE_RESTARTS, "RestartsInWindow", old->restarts_in_window != f->restarts_in_window);
        ADD(PROJECT_CHANGE_RESTARTS, "LastRestart", !restart_event_equal(&old->last_restart, &f->last_restart));
#undef ADD
        names[n] = NULL;
        return n;
}

static void emitter_emit_project(BusEmitter *e, EmitEntry *x) {
        _cleanup_free_ char *path = NULL;
        const char *names[32];
        LhProject *p;
        LhFacts f;
        int r;

        p = registry_find_by_id(e->registry, x->id);
        if (!p)
                return;
        project_get_facts(p, &f);
        if (project_changed_names(x->have_last ? &x->last : NULL, &f, x->dirty, names) == 0)
                return;
        x->last = f;
        x->have_last = true;
        r = bus_project_path(p, &path);
        if (r >= 0)
                r = sd_bus_emit_properties_changed_strv(e->bus, path, BUS_PROJECT_INTERFACE, (char **) names);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for %s: %m", project_get_root(p));
}

static void emitter_emit_manager(BusEmitter *e) {
        const char *names[5];
        size_t n = 0;
        int r;

        if (e->manager_dirty & BUS_MANAGER_CHANGE_RESTARTS) {
                names[n++] = "RestartsTotal";
                names[n++] = "RestartsByCause";
        }
        if (e->manager_dirty & BUS_MANAGER_CHANGE_WORKERS) {
                names[n++] = "WorkersActive";
                names[n++] = "EnforcementMode";
        }
        names[n] = NULL;
        e->manager_dirty = 0;
        if (n == 0)
                return;
        r = sd_bus_emit_properties_changed_strv(e->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, (char **) names);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged (manager): %m");
}

void bus_emitter_flush(BusEmitter *e) {
        if (!e)
                return;
        (void) sd_event_source_set_enabled(e->defer, SD_EVENT_OFF);
        for (size_t i = 0; i < e->n_entries; i++) {
                EmitEntry *x = &e->entries[i];

                if (x->dirty == 0)
                        continue;
                emitter_emit_project(e, x);
                x->dirty = 0;
        }
        emitter_emit_manager(e);
}

static int on_emit(sd_event_source *s, void *userdata) {
        bus_emitter_flush(userdata);
        return 0;
}
