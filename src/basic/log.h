/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <syslog.h>
#include <stdint.h>

#include "basic/macro.h"

/* Logging: to the journal with structured fields when stderr is connected to
 * it (JOURNAL_STREAM matches), else to stderr as "lean-hostd: message". The
 * level filter is process-wide, set once from --log-level / config. */

typedef enum LogTarget {
        LOG_TARGET_AUTO,    /* journal if JOURNAL_STREAM says so, else stderr */
        LOG_TARGET_JOURNAL,
        LOG_TARGET_STDERR,
} LogTarget;

void log_setup(const char *ident, LogTarget target);
void log_set_max_level(int level);
int log_level_from_string(const char *s); /* "debug", "info", "notice", "warning", "error"... or -EINVAL */
const char *log_level_to_string(int level);
bool log_to_journal(void);

/* Also hand every line that is logged (after the level filter) to f, e.g. to
 * pass it on to MCP clients. Only lines logged on the thread that set the
 * hook are passed, and none that f itself logs. NULL turns it off. */
typedef void (*LogForwardFunc)(int level, const char *message, void *userdata);
void log_set_forward(LogForwardFunc f, void *userdata);

/* Returns -abs(error) so callers can "return log_error_errno(r, ...)". */
int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) _printf_(6, 7);

/* Structured: extra "KEY=value" fields (NULL-terminated varargs, each a
 * printf-free literal string already formatted by the caller) go to the
 * journal as fields, and to stderr appended as " KEY=value". */
int log_struct_internal(int level, int error, const char *message, ...) _sentinel_;

#define log_full_errno(level, error, ...) \
        log_internal(level, error, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_full(level, ...) log_full_errno(level, 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

/* Rate limiting (systemd's log_ratelimit_*): at most burst messages per
 * interval; the rest are counted, and the first message let through after
 * them is preceded by one "Suppressed N similar messages." line. One
 * LogRateLimit per message site, kept in the object that logs (no globals). */
typedef struct LogRateLimit {
        usec_t interval;
        unsigned burst;
        usec_t begin;
        unsigned num;
        unsigned suppressed;
} LogRateLimit;

#define LOG_RATELIMIT_INIT(i, b) ((LogRateLimit) { .interval = (i), .burst = (b) })

/* True when a message may go out at time now; *ret_suppressed (optional) is
 * how many were dropped since the last one let through. */
bool log_ratelimit_below(LogRateLimit *rl, usec_t now, unsigned *ret_suppressed);

int log_ratelimit_internal(LogRateLimit *rl, int level, int error, const char *file, int line, const char *func,
                           const char *format, ...) _printf_(7, 8);

#define log_ratelimit_full_errno(rl, level, error, ...) \
        log_ratelimit_internal(rl, level, error, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_ratelimit_warning(rl, ...) log_ratelimit_full_errno(rl, LOG_WARNING, 0, __VA_ARGS__)
#define log_ratelimit_warning_errno(rl, e, ...) log_ratelimit_full_errno(rl, LOG_WARNING, e, __VA_ARGS__)
#define log_ratelimit_notice(rl, ...) log_ratelimit_full_errno(rl, LOG_NOTICE, 0, __VA_ARGS__)

/* Out of memory is the one error logged where it happens. */
#define log_oom() log_full_errno(LOG_ERR, ENOMEM, "Out of memory.")
