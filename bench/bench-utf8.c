/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The UTF-8 checks every line in and out goes through: the word-at-a-time
 * ASCII path (mcp/utf8.c) against the byte loop it replaced, in the same
 * run, on JSON-like text (ASCII with a non-ASCII character now and then)
 * and on plain ASCII. Prints ns per MiB and the ratio; asserts nothing
 * about speed, only that both give the same answers. */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "basic/macro.h"
#include "mcp/utf8.h"

#define BUF_SIZE ((size_t) 8 * 1024 * 1024)
#define ROUNDS 8

/* The loops as they were before the ASCII path. */
static size_t old_first_invalid(const char *s, size_t n) {
        for (size_t i = 0; i < n;) {
                size_t k;

                if ((unsigned char) s[i] < 0x80) {
                        i++;
                        continue;
                }
                k = utf8_sequence_length((const unsigned char *) s + i, n - i);
                if (k == 0)
                        return i;
                i += k;
        }
        return n;
}

static size_t old_sanitized_length(const char *s, size_t n) {
        size_t l = 0;

        for (size_t i = 0; i < n;) {
                size_t k = utf8_sequence_length((const unsigned char *) s + i, n - i);
                if (k == 0) {
                        l += 3;
                        i++;
                } else {
                        l += k;
                        i += k;
                }
        }
        return l;
}

static double now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static double ns_per_mib(size_t (*f)(const char *, size_t), const char *buf, size_t n, size_t *ret) {
        double best = 0;

        for (unsigned r = 0; r < ROUNDS; r++) {
                double t0 = now_ns();
                volatile size_t v = f(buf, n);
                double t = now_ns() - t0;

                *ret = v;
                if (r == 0 || t < best)
                        best = t;
        }
        return best / ((double) n / (1024 * 1024));
}

static int compare(const char *what, size_t (*old)(const char *, size_t), size_t (*new)(const char *, size_t),
                   const char *buf, size_t n) {
        size_t a, b;
        double t_old = ns_per_mib(old, buf, n, &a), t_new = ns_per_mib(new, buf, n, &b);

        printf("%-32s byte loop %9.0f ns/MiB   word-at-a-time %9.0f ns/MiB   %.1fx\n", what, t_old, t_new,
               t_new > 0 ? t_old / t_new : 0);
        if (a != b) {
                fprintf(stderr, "%s: the two disagree (%zu vs %zu)\n", what, a, b);
                return 1;
        }
        return 0;
}

int main(void) {
        static const char sample[] =
                "{\"jsonrpc\":\"2.0\",\"id\":17,\"result\":{\"content\":[{\"type\":\"text\",\"text\":"
                "\"ok: theorem foo : \xe2\x88\x80 n, n + 0 = n := by simp\"}],\"isError\":false}}\n";
        _cleanup_free_ char *json = malloc(BUF_SIZE), *ascii = malloc(BUF_SIZE);
        int r = 0;

        if (!json || !ascii)
                return 1;
        for (size_t i = 0; i < BUF_SIZE; i++) {
                json[i] = sample[i % (sizeof sample - 1)];
                ascii[i] = (char) ('a' + i % 26);
        }
        /* do not cut a character at the end */
        memset(json + BUF_SIZE - 8, ' ', 8);

        r |= compare("first_invalid, JSON (some UTF-8)", old_first_invalid, utf8_first_invalid, json, BUF_SIZE);
        r |= compare("first_invalid, ASCII", old_first_invalid, utf8_first_invalid, ascii, BUF_SIZE);
        r |= compare("sanitized_length, JSON", old_sanitized_length, utf8_sanitized_length, json, BUF_SIZE);
        r |= compare("sanitized_length, ASCII", old_sanitized_length, utf8_sanitized_length, ascii, BUF_SIZE);
        return r;
}
