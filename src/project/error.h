/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A structured tool error: agents branch on code, people read message. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "basic/macro.h"
#include "worker/restart-cause.h"

typedef struct LhError {
        const char *code;   /* stable static string: "mailbox_full", "worker_unavailable", "timeout",
                             * "cancelled", "project_not_found", "shutting_down", "import_failed",
                             * "worker_failed", "not_implemented", "invalid_arguments",
                             * "project_not_trusted", "project_file_unreadable", "path_unresponsive",
                             * "reply_too_large", ... */
        bool retryable;
        char message[512];
        /* worker_unavailable details (restart_cause < 0: none) */
        RestartCause restart_cause;
        uint64_t rss_kib, limit_kib;
        uint64_t retry_after_ms;
        unsigned restarts_in_window;
        json_object *details; /* optional extra fields merged into the body (owned) */
} LhError;

void lh_error_set(LhError *e, const char *code, bool retryable, const char *format, ...) _printf_(4, 5);
void lh_error_done(LhError *e);
/* {"code":…, "retryable":…, "message":…, [worker_unavailable fields], …details} */
json_object *lh_error_to_json(const LhError *e);
