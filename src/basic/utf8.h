/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF): the one checker, for the MCP input path (word-at-a-time ASCII
 * fast path) and for config, paths and D-Bus strings. */

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
size_t utf8_sequence_length(const unsigned char *s, size_t n);

/* How many bytes at the start of s are ASCII (< 0x80), 8 at a time. */
size_t utf8_ascii_prefix(const char *s, size_t n);

/* Offset of the first invalid byte, or n when all of s is valid (NUL is valid). */
size_t utf8_first_invalid(const char *s, size_t n);

/* As above, but an embedded NUL is invalid too. On failure *ret_offset
 * (optional) is the first bad byte. */
bool utf8_is_valid_n(const char *s, size_t n, size_t *ret_offset);
static inline bool utf8_is_valid(const char *s) {
        return s && utf8_is_valid_n(s, __builtin_strlen(s), NULL);
}

/* A copy of s with every byte that is not part of valid UTF-8 written as
 * "\xNN" (so it can go on D-Bus or into JSON). NULL on OOM. */
char *utf8_escape_invalid(const char *s);
