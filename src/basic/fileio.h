/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Reads a whole regular file into a NUL-terminated malloc'd buffer; *ret_size
 * (optional) excludes the NUL. -EFBIG beyond max_size bytes (0 = 64 MiB). */
int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size);

/* Strict UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF); embedded NULs are
 * invalid. On failure *ret_offset (optional) is the first bad byte. */
bool utf8_is_valid_n(const char *s, size_t n, size_t *ret_offset);
