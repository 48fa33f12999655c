/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Input hygiene for the MCP server: strict UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF) on the raw line, lone
 * surrogate escapes (json-c turns "\ud800" into U+FFFD without a word), and
 * strings with an embedded NUL (json-c keeps them, C code would cut them).
 * Also the output side: invalid bytes a handler put into a result are
 * replaced by U+FFFD so the wire stays valid UTF-8. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "basic/utf8.h"

/* utf8_sequence_length(), utf8_ascii_prefix(), utf8_first_invalid(): basic/utf8.h */

/* Escapes in JSON text that json-c would silently change: a \uXXXX
 * surrogate without its partner (becomes U+FFFD), a \u0000 in a member name
 * (the name is cut there). *ret_offset: where, when not OK. */
typedef enum JsonTextProblem {
        JSON_TEXT_OK,
        JSON_TEXT_LONE_SURROGATE,
        JSON_TEXT_NUL_IN_NAME,
} JsonTextProblem;

JsonTextProblem json_text_check_escapes(const char *s, size_t n, size_t *ret_offset);

/* Length of s with every invalid byte replaced by U+FFFD, and the copy. */
size_t utf8_sanitized_length(const char *s, size_t n);
void utf8_sanitize_copy(char *dst, const char *s, size_t n);

/* A JSON string usable as a C string: a string without embedded NUL. */
bool json_string_is_clean(json_object *v);

/* Finds a string (value or member name) with an embedded NUL anywhere in v.
 * Returns true and writes its path below prefix ("params.arguments.code",
 * "params.arguments.files[2]") to buf; false when there is none. */
bool json_find_nul_string(json_object *v, const char *prefix, char *buf, size_t size);
