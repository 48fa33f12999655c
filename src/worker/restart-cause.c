/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "basic/macro.h"
#include "basic/string-table.h"
#include "worker/restart-cause.h"

/* Wire names: identical to the reference implementation's RestartCause::as_str(). */
static const char *const restart_cause_table[_RESTART_CAUSE_MAX] = {
        [RESTART_CAUSE_RSS_IMPORT_SWITCH] = "rss_import_switch",
        [RESTART_CAUSE_RSS_POST_JOB] = "rss_post_job",
        [RESTART_CAUSE_RSS_HARD_LIMIT] = "rss_hard_limit_exceeded",
        [RESTART_CAUSE_MAX_REQUESTS] = "max_requests",
        [RESTART_CAUSE_MAX_IMPORTS] = "max_imports",
        [RESTART_CAUSE_IDLE] = "idle",
        [RESTART_CAUSE_TIMEOUT] = "timeout",
        [RESTART_CAUSE_CANCELLED] = "cancelled",
        [RESTART_CAUSE_CHILD_EXIT] = "child_exit",
        [RESTART_CAUSE_CHILD_ABORT] = "child_abort",
        [RESTART_CAUSE_SESSION_MISSING] = "session_missing",
        [RESTART_CAUSE_EXPLICIT] = "explicit",
        [RESTART_CAUSE_WORKER_INTERNAL] = "worker_internal",
        [RESTART_CAUSE_SHUTDOWN] = "shutdown",
        [RESTART_CAUSE_REPLY_TOO_LARGE] = "reply_too_large",
};

DEFINE_STRING_TABLE_LOOKUP(restart_cause, RestartCause);

bool restart_cause_counts_toward_limit(RestartCause c) {
        switch (c) {
        case RESTART_CAUSE_TIMEOUT:
        case RESTART_CAUSE_CHILD_EXIT:
        case RESTART_CAUSE_CHILD_ABORT:
        case RESTART_CAUSE_SESSION_MISSING:
        case RESTART_CAUSE_RSS_HARD_LIMIT:
                return true;
        default:
                return false;
        }
}
