/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>

#include "basic/string-table.h"

/* Why a worker generation ended. Stable wire names (MCP facts, D-Bus, journal
 * LEAN_HOST_CAUSE=). Abnormal causes count toward the per-project restart
 * window; planned recycles never do. */
typedef enum RestartCause {
        RESTART_CAUSE_RSS_IMPORT_SWITCH,  /* planned: other imports needed, anon above soft tier */
        RESTART_CAUSE_RSS_POST_JOB,       /* planned: anon above post-job tier after a job */
        RESTART_CAUSE_RSS_HARD_LIMIT,     /* abnormal: MemoryMax OOM kill or sampler kill */
        RESTART_CAUSE_MAX_REQUESTS,       /* planned: worker_max_requests jobs served */
        RESTART_CAUSE_MAX_IMPORTS,        /* planned: worker_max_imports import profiles held */
        RESTART_CAUSE_IDLE,               /* planned: idle stop or LRU eviction */
        RESTART_CAUSE_TIMEOUT,            /* abnormal: request timeout, worker killed */
        RESTART_CAUSE_CANCELLED,          /* planned: a client cancelled its running call (or left), worker killed */
        RESTART_CAUSE_CHILD_EXIT,         /* abnormal: worker exited on its own */
        RESTART_CAUSE_CHILD_ABORT,        /* abnormal: killed by a signal / protocol violation */
        RESTART_CAUSE_SESSION_MISSING,    /* abnormal: worker lost its env/proof state (or its scope vanished) */
        RESTART_CAUSE_EXPLICIT,           /* planned: operator asked (RestartWorker, lean-hostctl restart) */
        RESTART_CAUSE_WORKER_INTERNAL,    /* abnormal but not counted: anything else */
        RESTART_CAUSE_SHUTDOWN,           /* planned: daemon stopping / project stopped; not a restart */
        RESTART_CAUSE_REPLY_TOO_LARGE,    /* not counted: a reply over worker.max_reply_bytes, the input's fault */
        _RESTART_CAUSE_MAX,
        _RESTART_CAUSE_INVALID = -EINVAL,
} RestartCause;

DECLARE_STRING_TABLE_LOOKUP(restart_cause, RestartCause);
bool restart_cause_counts_toward_limit(RestartCause c);
static inline bool restart_cause_is_planned(RestartCause c) {
        return !restart_cause_counts_toward_limit(c);
}
