/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Assertions for unit tests: print where and what, then abort (so meson sees
 * a failure even with NDEBUG). Exit code 77 means "skipped". */

#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/macro.h"

#define EXIT_TEST_SKIP 77

#define ASSERT_TRUE(expr)                                                        \
        do {                                                                     \
                if (!(expr)) {                                                   \
                        fprintf(stderr, "%s:%d: assertion failed: %s\n",         \
                                __FILE__, __LINE__, #expr);                      \
                        abort();                                                 \
                }                                                                \
        } while (0)

#define ASSERT_FALSE(expr) ASSERT_TRUE(!(expr))

#define ASSERT_OK(expr)                                                          \
        do {                                                                     \
                long long _r_ = (long long) (expr);                              \
                if (_r_ < 0) {                                                   \
                        fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__,      \
                                __LINE__, #expr, strerror((int) -_r_));          \
                        abort();                                                 \
                }                                                                \
        } while (0)

#define ASSERT_ERROR(expr, err)                                                  \
        do {                                                                     \
                long long _r_ = (long long) (expr);                              \
                if (_r_ != -(long long) (err)) {                                 \
                        fprintf(stderr, "%s:%d: %s = %lld, expected -%s\n",      \
                                __FILE__, __LINE__, #expr, _r_, #err);           \
                        abort();                                                 \
                }                                                                \
        } while (0)

#define ASSERT_EQ(a, b)                                                          \
        do {                                                                     \
                unsigned long long _a_ = (unsigned long long) (a);               \
                unsigned long long _b_ = (unsigned long long) (b);               \
                if (_a_ != _b_) {                                                \
                        fprintf(stderr, "%s:%d: %s == %s: %llu != %llu\n",       \
                                __FILE__, __LINE__, #a, #b, _a_, _b_);           \
                        abort();                                                 \
                }                                                                \
        } while (0)

#define ASSERT_STREQ(a, b)                                                       \
        do {                                                                     \
                const char *_a_ = (a), *_b_ = (b);                               \
                if (!_a_ || !_b_ || strcmp(_a_, _b_) != 0) {                     \
                        fprintf(stderr, "%s:%d: %s == %s: \"%s\" != \"%s\"\n",   \
                                __FILE__, __LINE__, #a, #b,                      \
                                _a_ ?: "(null)", _b_ ?: "(null)");               \
                        abort();                                                 \
                }                                                                \
        } while (0)

/* haystack contains needle */
#define ASSERT_CONTAINS(haystack, needle)                                        \
        do {                                                                     \
                const char *_h_ = (haystack), *_n_ = (needle);                   \
                if (!_h_ || !strstr(_h_, _n_)) {                                 \
                        fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", \
                                __FILE__, __LINE__, _h_ ?: "(null)", _n_);       \
                        abort();                                                 \
                }                                                                \
        } while (0)

/* Writes text to path (created or truncated). */
static inline void test_write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        ASSERT_TRUE(f);
        ASSERT_TRUE(fputs(text, f) >= 0);
        ASSERT_TRUE(fclose(f) == 0);
}

static inline int test_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

/* rm -rf dir (a test's own temporary tree). */
static inline void test_remove_tree(const char *dir) {
        ASSERT_EQ(nftw(dir, test_remove_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* A test that runs the test-double worker ($LEAN_REPL_DOUBLE, a python3
 * script): its path, SIGCHLD blocked (sd-event child sources) and, with
 * timeout_secs > 0, an alarm so that a hang fails instead of blocking the
 * suite. NULL (printed) when there is no double: the test skips. */
static inline const char *test_setup_double(unsigned timeout_secs) {
        const char *dbl = getenv("LEAN_REPL_DOUBLE");
        sigset_t ss;

        if (isempty(dbl) || access(dbl, X_OK) < 0 || access("/usr/bin/python3", X_OK) < 0) {
                fprintf(stderr, "LEAN_REPL_DOUBLE not set or not executable, skipping.\n");
                return NULL;
        }
        if (timeout_secs > 0)
                alarm(timeout_secs);
        sigemptyset(&ss);
        sigaddset(&ss, SIGCHLD);
        ASSERT_OK(sigprocmask(SIG_BLOCK, &ss, NULL));
        return dbl;
}
