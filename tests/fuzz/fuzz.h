/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The libFuzzer entry point every harness defines. Built with libFuzzer
 * (-Dfuzz=enabled, CC=clang) it is driven by libFuzzer's own main; otherwise
 * fuzz-main.c replays the seed corpus through it as a regression test. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An oracle failed: say what, then crash so libFuzzer saves the input. */
#define FUZZ_FAIL(...)                                                   \
        do {                                                             \
                fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);          \
                fprintf(stderr, __VA_ARGS__);                            \
                fputc('\n', stderr);                                     \
                abort();                                                 \
        } while (0)

#define FUZZ_ASSERT(expr)                                                \
        do {                                                             \
                if (!(expr))                                             \
                        FUZZ_FAIL("assertion failed: %s", #expr);        \
        } while (0)
