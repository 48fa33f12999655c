/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Runtime facts: written only by the project actor, read by the MCP result
 * envelope, the D-Bus objects and the journal, so they can never disagree. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "basic/macro.h"
#include "worker/restart-cause.h"
#include "worker/worker.h"

typedef enum ProjectState {
        PROJECT_IDLE,         /* no job running (worker may or may not be live) */
        PROJECT_STARTING,     /* worker spawning/placing/importing */
        PROJECT_BUSY,         /* a job is running */
        PROJECT_COOLING_DOWN, /* restart window full: calls fail fast with retry_after */
        PROJECT_STOPPED,      /* stopped by operator or shutdown */
        _PROJECT_STATE_MAX,
} ProjectState;

typedef struct RestartEvent {
        bool valid;
        RestartCause cause;
        char reason[256];
        uint64_t worker_generation;
        bool planned;
        uint64_t rss_kib;   /* 0 = unknown */
        uint64_t limit_kib; /* 0 = none */
        uint64_t realtime_usec;
} RestartEvent;

/* One live worker of a project's pool (D-Bus Workers, lean-hostctl facts). */
typedef struct LhWorkerFacts {
        uint64_t generation;
        pid_t pid;
        const char *state;           /* static: starting, warming, idle, busy, stopping */
        char scope_unit[128];        /* "" = none */
        char import_profile[512];    /* the last profile used, "" = none */
        uint64_t rss_kib;
        uint64_t requests_served;
} LhWorkerFacts;

typedef struct LhFacts {
        /* per call (zero in a snapshot outside a call) */
        bool worker_restarted;
        unsigned retry_count;
        uint64_t admission_wait_millis;
        uint64_t queue_wait_millis;
        RestartEvent call_restart; /* a restart that happened during this call */

        /* per project; the worker fields: the call's worker in a call's
         * facts, the only worker in a snapshot (several: memory and
         * requests summed, no generation/pid/scope/profile) */
        ProjectState state;
        uint64_t worker_generation;
        pid_t worker_pid;            /* 0 = none */
        unsigned pool_workers;       /* live workers of the project's pool */
        unsigned pool_max_workers;   /* the most it may have (max_workers, the memory budget) */
        uint64_t pool_memory_kib;    /* the budget the pool's hard tiers must fit in */
        char pool_memory_source[320]; /* where it came from: a config key, MemTotal, a cgroup's memory.max */
        EnforcementMode enforcement;
        SandboxMode sandbox;         /* worker.sandbox */
        char scope_unit[128];        /* "" = none */
        RestartEvent last_restart;
        uint64_t rss_kib, anon_kib;  /* last sample, 0 = none */
        /* kernel facts of the worker's scope, cgroup v2 only (!*_valid: null) */
        bool swap_valid;
        uint64_t swap_kib;
        bool events_valid;
        uint64_t memory_events_high, memory_events_max, memory_events_oom_kill;
        bool pressure_valid;
        double memory_pressure_some_avg10, memory_pressure_full_avg10;
        uint64_t memory_high_kib, memory_max_kib;
        char import_profile[512];    /* imports joined by ",", "" = none */
        uint64_t profile_switch_count;
        uint64_t restarts_total;
        uint64_t restarts_by_cause[_RESTART_CAUSE_MAX];
        unsigned restarts_in_window;
        unsigned queue_depth;
        uint64_t requests_served;    /* by this worker generation */
} LhFacts;

/* {"worker_generation":…, "worker_restarted":…, …, "restarts_by_cause":{cause:n}} */
json_object *facts_to_json(const LhFacts *f);

const char *project_state_to_string(ProjectState s);
