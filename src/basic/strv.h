/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "basic/macro.h"

/* NULL-terminated arrays of malloc'd strings ("strv"), as in systemd. A NULL
 * strv is a valid empty list everywhere. */

char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char * const *l);
static inline bool strv_isempty(char * const *l) {
        return !l || !l[0];
}

/* Deep copy; NULL on OOM. A NULL input gives an empty (non-NULL) strv. */
char **strv_copy(char * const *l);

/* NULL and the empty list are equal. */
bool strv_equal(char * const *a, char * const *b);
bool strv_contains(char * const *l, const char *s);

/* Append a copy of value; the list may start as NULL. */
int strv_extend(char ***l, const char *value);
/* Append value itself (taken on success and on failure). */
int strv_consume(char ***l, char *value);

/* Join with sep (NULL = " "); NULL on OOM; empty list gives "". */
char *strv_join(char * const *l, const char *sep);

/* Split s into words at whitespace for argv-from-env parsing: '...' is
 * literal, "..." allows \" and \\ escapes, a backslash outside quotes takes
 * the next character literally, and adjacent pieces join into one word
 * (a'b c' → "ab c"). No variables, globs or other shell expansion.
 * Returns the number of words, -EINVAL on an unterminated quote or a
 * trailing backslash, -ENOMEM. *ret is a (possibly empty) non-NULL strv. */
int strv_split_words(const char *s, char ***ret);

#define STRV_FOREACH(s, l) for (char **s = (l); s && *s; s++)

/* asprintf() that returns the string, NULL on OOM. */
char *strdup_printf(const char *format, ...) _printf_(1, 2);
char *strdup_vprintf(const char *format, va_list ap) _printf_(1, 0);
/* A parser's "fail with a message": *ret_error (when ret_error is not NULL)
 * gets the formatted text; returns error, or -ENOMEM (*ret_error NULL) when
 * the text could not be made. */
int strdup_error_printf(char **ret_error, int error, const char *format, ...) _printf_(3, 4);
