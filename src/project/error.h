/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A structured tool error: agents branch on code, people read message. */

#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "basic/macro.h"
#include "project/error-code.h"
#include "worker/restart-cause.h"

typedef struct LhError {
        const char *code;   /* stable static string from the table in project/error-code.h */
        bool retryable;
        char message[512];
        /* worker_unavailable details (restart_cause < 0: none) */
        RestartCause restart_cause;
        uint64_t rss_kib, limit_kib;
        uint64_t retry_after_ms;
        unsigned restarts_in_window;
        json_object *details; /* optional extra fields merged into the body (owned) */
} LhError;

/* code must be in the table of project/error-code.h (an unknown one is
 * logged as a bug and kept as is). */
void lh_error_set(LhError *e, const char *code, bool retryable, const char *format, ...) _printf_(4, 5);
void lh_error_setv(LhError *e, const char *code, bool retryable, const char *format, va_list ap) _printf_(4, 0);
void lh_error_done(LhError *e);
/* {"code":…, "retryable":…, "message":…, [worker_unavailable fields], …details} */
json_object *lh_error_to_json(const LhError *e);
