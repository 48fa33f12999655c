/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>

#include "basic/strv.h"

char **strv_free(char **l) {
        STRV_FOREACH(s, l)
                free(*s);
        free(l);
        return NULL;
}

size_t strv_length(char * const *l) {
        size_t n = 0;

        if (!l)
                return 0;
        while (l[n])
                n++;
        return n;
}

char **strv_copy(char * const *l) {
        size_t n = strv_length(l);
        char **c;

        c = new0(char *, n + 1);
        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(l[i]);
                if (!c[i])
                        return strv_free(c);
        }
        return c;
}

bool strv_equal(char * const *a, char * const *b) {
        size_t n = strv_length(a);

        if (n != strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

bool strv_contains(char * const *l, const char *s) {
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

int strv_consume(char ***l, char *value) {
        size_t n;
        char **c;

        if (!value)
                return -ENOMEM;
        n = strv_length(*l);
        c = realloc(*l, sizeof(char *) * (n + 2));
        if (!c) {
                free(value);
                return -ENOMEM;
        }
        c[n] = value;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *value) {
        return strv_consume(l, strdup(value));
}

char *strv_join(char * const *l, const char *sep) {
        size_t n = 0, k, seplen;
        char *r, *p;

        if (!sep)
                sep = " ";
        seplen = strlen(sep);
        k = strv_length(l);
        for (size_t i = 0; i < k; i++)
                n += strlen(l[i]) + (i > 0 ? seplen : 0);

        r = new(char, n + 1);
        if (!r)
                return NULL;
        p = r;
        for (size_t i = 0; i < k; i++) {
                if (i > 0)
                        p = stpcpy(p, sep);
                p = stpcpy(p, l[i]);
        }
        *p = 0;
        return r;
}

static bool is_word_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int strv_split_words(const char *s, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *word = NULL;
        size_t n = 0;
        int r;

        /* Every word is at most strlen(s) bytes, so one buffer of that size
         * (reused per word) is enough. */
        word = new(char, strlen(s) + 1);
        if (!word)
                return -ENOMEM;

        l = new0(char *, 1);
        if (!l)
                return -ENOMEM;

        for (const char *p = s;;) {
                size_t len = 0;

                while (is_word_space(*p))
                        p++;
                if (!*p)
                        break;

                /* one word: runs until unquoted whitespace or the end */
                while (*p && !is_word_space(*p)) {
                        if (*p == '\'') {
                                const char *e = strchr(p + 1, '\'');
                                if (!e)
                                        return -EINVAL;
                                memcpy(word + len, p + 1, e - p - 1);
                                len += e - p - 1;
                                p = e + 1;
                        } else if (*p == '"') {
                                for (p++; *p != '"'; p++) {
                                        if (!*p)
                                                return -EINVAL;
                                        if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                                                p++;
                                        word[len++] = *p;
                                }
                                p++;
                        } else if (*p == '\\') {
                                if (!p[1])
                                        return -EINVAL;
                                word[len++] = p[1];
                                p += 2;
                        } else
                                word[len++] = *p++;
                }

                r = strv_consume(&l, strndup(word, len));
                if (r < 0)
                        return r;
                n++;
        }

        *ret = TAKE_PTR(l);
        return (int) MIN(n, (size_t) INT32_MAX);
}

char *strdup_vprintf(const char *format, va_list ap) {
        char *s;

        return vasprintf(&s, format, ap) < 0 ? NULL : s;
}

char *strdup_printf(const char *format, ...) {
        va_list ap;
        char *s;

        va_start(ap, format);
        s = strdup_vprintf(format, ap);
        va_end(ap);
        return s;
}

int strdup_error_printf(char **ret_error, int error, const char *format, ...) {
        va_list ap;
        int r;

        if (!ret_error)
                return error;
        va_start(ap, format);
        r = vasprintf(ret_error, format, ap);
        va_end(ap);
        if (r < 0) {
                *ret_error = NULL;
                return -ENOMEM;
        }
        return error;
}
