/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mcp/utf8.h"

static int hex4(const char *s, size_t n) {
        int v = 0;

        if (n < 4)
                return -1;
        for (size_t i = 0; i < 4; i++) {
                char c = s[i];
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= c - '0';
                else if (c >= 'a' && c <= 'f')
                        v |= c - 'a' + 10;
                else if (c >= 'A' && c <= 'F')
                        v |= c - 'A' + 10;
                else
                        return -1;
        }
        return v;
}

JsonTextProblem json_text_check_escapes(const char *s, size_t n, size_t *ret_offset) {
        bool in_string = false, has_nul = false;
        size_t start = 0;

        for (size_t i = 0; i < n; i++) {
                if (!in_string) {
                        if (s[i] == '"') {
                                in_string = true;
                                has_nul = false;
                                start = i;
                        }
                        continue;
                }
                if (s[i] == '"') {
                        in_string = false;
                        if (has_nul) {
                                /* a member name? json-c cuts those at the NUL */
                                size_t j = i + 1;
                                while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n'))
                                        j++;
                                if (j < n && s[j] == ':') {
                                        *ret_offset = start;
                                        return JSON_TEXT_NUL_IN_NAME;
                                }
                        }
                        continue;
                }
                if (s[i] != '\\' || i + 1 >= n)
                        continue;
                if (s[i + 1] != 'u') {
                        i++; /* the escaped character, e.g. \" or \\ */
                        continue;
                }
                int u = hex4(s + i + 2, n - i - 2);
                if (u == 0)
                        has_nul = true;
                if (u < 0xD800 || u > 0xDFFF) {
                        i++;
                        continue;
                }
                int lo = u < 0xDC00 && i + 12 <= n && s[i + 6] == '\\' && s[i + 7] == 'u' ?
                        hex4(s + i + 8, n - i - 8) : -1;
                if (lo < 0xDC00 || lo > 0xDFFF) {
                        *ret_offset = i;
                        return JSON_TEXT_LONE_SURROGATE;
                }
                i += 11;
        }
        return JSON_TEXT_OK;
}

size_t utf8_sanitized_length(const char *s, size_t n) {
        size_t l = 0;

        for (size_t i = 0; i < n;) {
                size_t a = utf8_ascii_prefix(s + i, n - i), k;

                l += a;
                i += a;
                if (i >= n)
                        break;
                k = utf8_sequence_length((const unsigned char *) s + i, n - i);
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

void utf8_sanitize_copy(char *dst, const char *s, size_t n) {
        for (size_t i = 0; i < n;) {
                size_t a = utf8_ascii_prefix(s + i, n - i), k;

                memcpy(dst, s + i, a);
                dst += a;
                i += a;
                if (i >= n)
                        break;
                k = utf8_sequence_length((const unsigned char *) s + i, n - i);
                if (k == 0) {
                        memcpy(dst, "\xEF\xBF\xBD", 3);
                        dst += 3;
                        i++;
                } else {
                        memcpy(dst, s + i, k);
                        dst += k;
                        i += k;
                }
        }
}

bool json_string_is_clean(json_object *v) {
        if (!json_object_is_type(v, json_type_string))
                return false;
        return strlen(json_object_get_string(v)) == (size_t) json_object_get_string_len(v);
}

bool json_find_nul_string(json_object *v, const char *prefix, char *buf, size_t size) {
        char sub[512];

        switch (json_object_get_type(v)) {
        case json_type_string:
                if (json_string_is_clean(v))
                        return false;
                snprintf(buf, size, "%s", prefix);
                return true;
        case json_type_array: {
                size_t n = json_object_array_length(v);
                for (size_t i = 0; i < n; i++) {
                        snprintf(sub, sizeof sub, "%s[%zu]", prefix, i);
                        if (json_find_nul_string(json_object_array_get_idx(v, i), sub, buf, size))
                                return true;
                }
                return false;
        }
        case json_type_object: {
                /* member names are C strings in json-c: an embedded NUL already
                 * cut them at parse time, so only the values can be checked */
                json_object_object_foreach(v, key, value) {
                        snprintf(sub, sizeof sub, "%s.%s", prefix, key);
                        if (json_find_nul_string(value, sub, buf, size))
                                return true;
                }
                return false;
        }
        default:
                return false;
        }
}
