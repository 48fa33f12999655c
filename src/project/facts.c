/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Facts as JSON. Owns nothing (LhFacts is filled by snapshot.c and job.c).
 * Must not know: projects, jobs, workers. */
#include "basic/string-table.h"
#include "project/facts.h"

static const char *const project_state_table[_PROJECT_STATE_MAX] = {
        [PROJECT_IDLE] = "idle",
        [PROJECT_STARTING] = "starting",
        [PROJECT_BUSY] = "busy",
        [PROJECT_COOLING_DOWN] = "cooling_down",
        [PROJECT_STOPPED] = "stopped",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(project_state, ProjectState);

static json_object *kib_or_null(uint64_t v) {
        return v > 0 ? json_object_new_uint64(v) : NULL; /* NULL is JSON null */
}

static int add(json_object *o, const char *k, json_object *v, bool nullable) {
        /* NULL is JSON null: only a failed non-null constructor is an error */
        if (!v && !nullable)
                return -ENOMEM;
        if (json_object_object_add(o, k, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* null when !valid */
static json_object *restart_event_to_json(const RestartEvent *e) {
        json_object *o;

        if (!e || !e->valid)
                return NULL; /* JSON null */
        o = json_object_new_object();
        if (!o)
                return NULL;
        if (add(o, "cause", json_object_new_string(strna(restart_cause_to_string(e->cause))), false) < 0 ||
            add(o, "reason", json_object_new_string(e->reason), false) < 0 ||
            add(o, "worker_generation", json_object_new_uint64(e->worker_generation), false) < 0 ||
            add(o, "planned", json_object_new_boolean(e->planned), false) < 0 ||
            add(o, "rss_kib", kib_or_null(e->rss_kib), true) < 0 ||
            add(o, "limit_kib", kib_or_null(e->limit_kib), true) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

/* {"high":n,"max":n,"oom_kill":n}, or JSON null when not on cgroup v2 */
static json_object *memory_events_to_json(const LhFacts *f) {
        json_object *o;

        if (!f->events_valid)
                return NULL;
        o = json_object_new_object();
        if (!o)
                return NULL;
        if (add(o, "high", json_object_new_uint64(f->memory_events_high), false) < 0 ||
            add(o, "max", json_object_new_uint64(f->memory_events_max), false) < 0 ||
            add(o, "oom_kill", json_object_new_uint64(f->memory_events_oom_kill), false) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

/* {"some_avg10":x,"full_avg10":y} (percent), or JSON null */
static json_object *memory_pressure_to_json(const LhFacts *f) {
        json_object *o;

        if (!f->pressure_valid)
                return NULL;
        o = json_object_new_object();
        if (!o)
                return NULL;
        if (add(o, "some_avg10", json_object_new_double(f->memory_pressure_some_avg10), false) < 0 ||
            add(o, "full_avg10", json_object_new_double(f->memory_pressure_full_avg10), false) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

json_object *facts_to_json(const LhFacts *f) {
        json_object *o, *by_cause;

        o = json_object_new_object();
        if (!o)
                return NULL;

        by_cause = json_object_new_object();
        if (!by_cause)
                goto fail;
        for (RestartCause c = 0; c < _RESTART_CAUSE_MAX; c++)
                if (f->restarts_by_cause[c] > 0 &&
                    add(by_cause, restart_cause_to_string(c), json_object_new_uint64(f->restarts_by_cause[c]), false) < 0) {
                        json_object_put(by_cause);
                        goto fail;
                }

        if (add(o, "worker_generation", json_object_new_uint64(f->worker_generation), false) < 0 ||
            add(o, "worker_restarted", json_object_new_boolean(f->worker_restarted), false) < 0 ||
            add(o, "retry_count", json_object_new_uint64(f->retry_count), false) < 0 ||
            add(o, "admission_wait_millis", json_object_new_uint64(f->admission_wait_millis), false) < 0 ||
            add(o, "queue_wait_millis", json_object_new_uint64(f->queue_wait_millis), false) < 0 ||
            add(o, "call_restart", restart_event_to_json(&f->call_restart), !f->call_restart.valid) < 0 ||
            add(o, "last_restart", restart_event_to_json(&f->last_restart), !f->last_restart.valid) < 0 ||
            add(o, "rss_kib", kib_or_null(f->rss_kib), true) < 0 ||
            add(o, "anon_kib", kib_or_null(f->anon_kib), true) < 0 ||
            add(o, "swap_kib", f->swap_valid ? json_object_new_uint64(f->swap_kib) : NULL, !f->swap_valid) < 0 ||
            add(o, "memory_events", memory_events_to_json(f), !f->events_valid) < 0 ||
            add(o, "memory_pressure", memory_pressure_to_json(f), !f->pressure_valid) < 0 ||
            add(o, "import_profile", isempty(f->import_profile) ? NULL : json_object_new_string(f->import_profile),
                isempty(f->import_profile)) < 0 ||
            add(o, "profile_switch_count", json_object_new_uint64(f->profile_switch_count), false) < 0 ||
            add(o, "pool_workers", json_object_new_uint64(f->pool_workers), false) < 0 ||
            add(o, "pool_max_workers", json_object_new_uint64(f->pool_max_workers), false) < 0 ||
            add(o, "pool_memory_kib", json_object_new_uint64(f->pool_memory_kib), false) < 0 ||
            add(o, "pool_memory_source", json_object_new_string(f->pool_memory_source), false) < 0 ||
            add(o, "restarts_total", json_object_new_uint64(f->restarts_total), false) < 0 ||
            add(o, "restarts_by_cause", by_cause, false) < 0 ||
            add(o, "restarts_in_window", json_object_new_uint64(f->restarts_in_window), false) < 0 ||
            add(o, "enforcement", json_object_new_string(f->enforcement == ENFORCEMENT_MODE_SCOPE ? "scope" : "process"), false) < 0 ||
            add(o, "sandbox", json_object_new_string(strna(sandbox_mode_to_string(f->sandbox))), false) < 0 ||
            add(o, "scope_unit", isempty(f->scope_unit) ? NULL : json_object_new_string(f->scope_unit),
                isempty(f->scope_unit)) < 0 ||
            add(o, "state", json_object_new_string(strna(project_state_to_string(f->state))), false) < 0 ||
            add(o, "worker_pid", f->worker_pid > 0 ? json_object_new_int64(f->worker_pid) : NULL, f->worker_pid <= 0) < 0 ||
            add(o, "memory_high_kib", json_object_new_uint64(f->memory_high_kib), false) < 0 ||
            add(o, "memory_max_kib", json_object_new_uint64(f->memory_max_kib), false) < 0)
                goto fail;
        return o;
fail:
        json_object_put(o);
        return NULL;
}
