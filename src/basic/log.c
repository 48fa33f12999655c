/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "basic/log.h"
#include "basic/string-table.h"
#include "basic/time-util.h"

/* The logging setup is process-wide by nature (like syslog(3)); it is the one
 * piece of global state outside the manager object. */
static struct {
        const char *ident;
        int max_level;
        bool journal;
        LogForwardFunc forward;
        void *forward_userdata;
        pthread_t forward_thread;
        bool forwarding;
} log_state = {
        .ident = "lean-host",
        .max_level = LOG_INFO,
};

static const char *const log_level_table[] = {
        [LOG_EMERG] = "emerg",   [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
        [LOG_ERR] = "error",     [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info",     [LOG_DEBUG] = "debug",
};

/* stderr is the journal when JOURNAL_STREAM names its device:inode. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == (dev_t) dev && st.st_ino == (ino_t) ino;
}

void log_setup(const char *ident, LogTarget target) {
        if (ident)
                log_state.ident = ident;
        switch (target) {
        case LOG_TARGET_JOURNAL:
                log_state.journal = true;
                break;
        case LOG_TARGET_STDERR:
                log_state.journal = false;
                break;
        default:
                log_state.journal = stderr_is_journal();
        }
}

void log_set_max_level(int level) {
        log_state.max_level = level;
}

bool log_to_journal(void) {
        return log_state.journal;
}

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(log_level, int);

/* The table's names, and syslog's short spellings on top. */
#define log_level_name_table log_level_table
DEFINE_PRIVATE_STRING_TABLE_LOOKUP_FROM_STRING(log_level_name, int);

int log_level_from_string(const char *s) {
        int l = log_level_name_from_string(s);

        if (l >= 0 || !s)
                return l;
        if (streq(s, "err"))
                return LOG_ERR;
        if (streq(s, "warn"))
                return LOG_WARNING;
        return -EINVAL;
}

/* " KEY=value" on one line: a value with spaces, quotes, backslashes or
 * control characters (or an empty one) is quoted and escaped, so a log file
 * splits back into the fields the journal got. */
static void log_print_field(FILE *f, const char *field) {
        const char *eq = strchr(field, '='), *v;
        bool quote;

        if (!eq) {
                fprintf(f, " %s", field);
                return;
        }
        v = eq + 1;
        quote = *v == 0;
        for (const char *p = v; *p && !quote; p++)
                quote = *p == ' ' || *p == '"' || *p == '\\' || (unsigned char) *p < 0x20 || *p == 0x7f;
        if (!quote) {
                fprintf(f, " %s", field);
                return;
        }
        fprintf(f, " %.*s=\"", (int) (eq - field), field);
        for (const char *p = v; *p; p++)
                switch (*p) {
                case '"':
                case '\\':
                        fputc('\\', f);
                        fputc(*p, f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                default:
                        if ((unsigned char) *p < 0x20 || *p == 0x7f)
                                fprintf(f, "\\x%02x", (unsigned) (unsigned char) *p);
                        else
                                fputc(*p, f);
                }
        fputc('"', f);
}

void log_set_forward(LogForwardFunc f, void *userdata) {
        log_state.forward = f;
        log_state.forward_userdata = userdata;
        log_state.forward_thread = pthread_self();
}

static void log_pass_on(int level, const char *msg) {
        if (!log_state.forward || !pthread_equal(pthread_self(), log_state.forward_thread) || log_state.forwarding)
                return;
        log_state.forwarding = true;
        log_state.forward(level, msg, log_state.forward_userdata);
        log_state.forwarding = false;
}

static void log_emit(int level, int error, const char *file, int line, const char *func,
                     const char *msg, char **fields, size_t n_fields) {
        log_pass_on(level, msg);
        if (log_state.journal) {
                struct iovec iov[8 + 32];
                char buf[8][256];
                size_t n = 0;
                _cleanup_free_ char *m = NULL;

                if (asprintf(&m, "MESSAGE=%s", msg) < 0)
                        return;
                iov[n++] = (struct iovec) { m, strlen(m) };
                snprintf(buf[0], sizeof buf[0], "PRIORITY=%i", level);
                iov[n++] = (struct iovec) { buf[0], strlen(buf[0]) };
                snprintf(buf[1], sizeof buf[1], "SYSLOG_IDENTIFIER=%s", log_state.ident);
                iov[n++] = (struct iovec) { buf[1], strlen(buf[1]) };
                if (file) {
                        snprintf(buf[2], sizeof buf[2], "CODE_FILE=%s", file);
                        iov[n++] = (struct iovec) { buf[2], strlen(buf[2]) };
                        snprintf(buf[3], sizeof buf[3], "CODE_LINE=%i", line);
                        iov[n++] = (struct iovec) { buf[3], strlen(buf[3]) };
                        snprintf(buf[4], sizeof buf[4], "CODE_FUNC=%s", func);
                        iov[n++] = (struct iovec) { buf[4], strlen(buf[4]) };
                }
                if (error != 0) {
                        snprintf(buf[5], sizeof buf[5], "ERRNO=%i", abs(error));
                        iov[n++] = (struct iovec) { buf[5], strlen(buf[5]) };
                }
                for (size_t i = 0; i < n_fields && n < ELEMENTSOF(iov); i++)
                        iov[n++] = (struct iovec) { fields[i], strlen(fields[i]) };
                (void) sd_journal_sendv(iov, (int) n);
                return;
        }

        flockfile(stderr);
        fprintf(stderr, "%s: %s", log_state.ident, msg);
        for (size_t i = 0; i < n_fields; i++)
                log_print_field(stderr, fields[i]);
        fputc('\n', stderr);
        funlockfile(stderr);
}

/* Format and emit one line; error >= 0. */
static void log_emitv(int level, int error, const char *file, int line, const char *func,
                      const char *format, va_list ap) _printf_(6, 0);
static void log_emitv(int level, int error, const char *file, int line, const char *func,
                      const char *format, va_list ap) {
        char msg[2048];
        int saved = errno;

        /* %m means the error we were given, not whatever errno is now */
        errno = error;
        vsnprintf(msg, sizeof msg, format, ap);
        log_emit(level, error, file, line, func, msg, NULL, 0);
        errno = saved;
}

int log_internal(int level, int error, const char *file, int line, const char *func, const char *format, ...) {
        va_list ap;

        if (error < 0)
                error = -error;
        if (level <= log_state.max_level) {
                va_start(ap, format);
                log_emitv(level, error, file, line, func, format, ap);
                va_end(ap);
        }
        return -error;
}

int log_struct_internal(int level, int error, const char *message, ...) {
        char *fields[32];
        size_t n = 0;
        va_list ap;

        if (error < 0)
                error = -error;
        if (level > log_state.max_level)
                return -error;

        va_start(ap, message);
        for (const char *f; (f = va_arg(ap, const char *)) && n < ELEMENTSOF(fields);)
                fields[n++] = (char *) f;
        va_end(ap);

        log_emit(level, error, NULL, 0, NULL, message, fields, n);
        return -error;
}

bool log_ratelimit_below(LogRateLimit *rl, usec_t now, unsigned *ret_suppressed) {
        assert(rl);

        if (ret_suppressed)
                *ret_suppressed = 0;
        if (rl->interval == 0 || rl->burst == 0)
                return true;
        if (rl->begin == 0 || now < rl->begin || now - rl->begin >= rl->interval) {
                /* a new interval: report what the last one dropped */
                rl->begin = now ?: 1;
                rl->num = 0;
        }
        if (rl->num < rl->burst) {
                rl->num++;
                if (ret_suppressed)
                        *ret_suppressed = rl->suppressed;
                rl->suppressed = 0;
                return true;
        }
        rl->suppressed++;
        return false;
}

int log_ratelimit_internal(LogRateLimit *rl, int level, int error, const char *file, int line, const char *func,
                           const char *format, ...) {
        char msg[64];
        unsigned suppressed;
        va_list ap;

        if (error < 0)
                error = -error;
        if (level > log_state.max_level || !log_ratelimit_below(rl, now_usec(CLOCK_MONOTONIC), &suppressed))
                return -error;
        if (suppressed > 0) {
                snprintf(msg, sizeof msg, "Suppressed %u similar message%s.", suppressed, suppressed == 1 ? "" : "s");
                log_emit(level, 0, file, line, func, msg, NULL, 0);
        }
        va_start(ap, format);
        log_emitv(level, error, file, line, func, format, ap);
        va_end(ap);
        return -error;
}
