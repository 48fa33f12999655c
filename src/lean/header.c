/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>

#include "basic/strv.h"
#include "lean/header.h"

static bool is_id_first(unsigned char c) {
        /* non-ASCII: UTF-8 bytes of letters (α, ℕ, …); Lean decides the rest */
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_id_rest(unsigned char c) {
        return is_id_first(c) || (c >= '0' && c <= '9') || c == '\'' || c == '!' || c == '?';
}

bool lean_module_name_is_valid(const char *name) {
        const char *p = name;

        if (isempty(name))
                return false;

        for (;;) {
                if (strneq(p, "«", strlen("«"))) {
                        const char *end;

                        p += strlen("«");
                        end = strstr(p, "»");
                        if (!end || end == p)
                                return false;
                        for (const char *q = p; q < end; q++)
                                if ((unsigned char) *q < 0x20 || *q == 0x7f)
                                        return false;
                        p = end + strlen("»");
                } else {
                        if (!is_id_first((unsigned char) *p))
                                return false;
                        while (is_id_rest((unsigned char) *p))
                                p++;
                }
                if (*p == 0)
                        break;
                if (*p != '.')
                        return false;
                p++; /* a trailing or doubled dot fails on the next component */
        }

        /* belt and braces: is_id_rest excludes these already, but keep the
         * promise explicit for anything that reaches a REPL command line */
        return !strstr(name, "--");
}

void lean_header_done(LeanHeader *h) {
        if (!h)
                return;
        h->imports = strv_free(h->imports);
        h->body = mfree(h->body);
        h->header_end = 0;
}

static unsigned line_of(const char *code, const char *p) {
        unsigned line = 1;

        for (const char *q = code; q < p; q++)
                if (*q == '\n')
                        line++;
        return line;
}

static void set_error(char **ret_error, const char *format, ...) _printf_(2, 3);
static void set_error(char **ret_error, const char *format, ...) {
        va_list ap;

        if (!ret_error)
                return;
        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
}

/* Lean.Parser.Basic `whitespace`: after "/-" (not "/--", "/-!") it steps over
 * ONE more character (`s.next input i`) before `finishCommentBlock 1`, so that
 * character can neither open nor close anything: "/-/-/" is a whole comment.
 * `finishCommentBlock` then counts "/-" up and "-/" down, nothing else (no
 * line comments or strings inside). Bytes, not characters, are stepped: a
 * UTF-8 continuation byte is never '-' or '/', so the result is the same. */
const char *lean_block_comment_end(const char *p) {
        unsigned depth = 1;

        p += 2;
        if (*p)
                p++;
        while (*p) {
                if (p[0] == '/' && p[1] == '-') {
                        depth++;
                        p += 2;
                } else if (p[0] == '-' && p[1] == '/') {
                        p += 2;
                        if (--depth == 0)
                                return p;
                } else
                        p++;
        }
        return NULL;
}

static const char *skip_space_and_comments(const char *p) {
        for (;;) {
                while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                        p++;
                if (p[0] == '-' && p[1] == '-') {
                        p = strchrnul(p, '\n');
                        continue;
                }
                if (p[0] == '/' && p[1] == '-') {
                        const char *q;

                        /* a doc comment (/-- or /-!) is part of the body's first command */
                        if (p[2] == '-' || p[2] == '!')
                                return p;
                        q = lean_block_comment_end(p);
                        if (!q)
                                return p;
                        p = q;
                        continue;
                }
                return p;
        }
}

static bool is_import_keyword(const char *p) {
        return strneq(p, "import", 6) && (p[6] == ' ' || p[6] == '\t' || p[6] == '\n' || p[6] == '\r' || p[6] == 0);
}

int lean_header_split(const char *code, LeanHeader *ret, char **ret_error) {
        _cleanup_strv_free_ char **imports = NULL;
        _cleanup_free_ char *body = NULL;
        const char *p, *header_end = NULL;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!code)
                code = "";

        body = strdup(code);
        if (!body)
                return -ENOMEM;
        imports = new0(char *, 1);
        if (!imports)
                return -ENOMEM;

        p = skip_space_and_comments(code);
        while (is_import_keyword(p)) {
                const char *start = p;
                unsigned n_names = 0;

                p += 6;
                for (;;) {
                        _cleanup_free_ char *name = NULL;
                        const char *s;

                        /* names continue on the same line only */
                        while (*p == ' ' || *p == '\t')
                                p++;
                        if (*p == 0 || *p == '\n' || *p == '\r' || (p[0] == '-' && p[1] == '-') ||
                            (p[0] == '/' && p[1] == '-'))
                                break;
                        s = p;
                        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
                                p++;
                        name = strndup(s, p - s);
                        if (!name)
                                return -ENOMEM;
                        if (!lean_module_name_is_valid(name)) {
                                set_error(ret_error, "line %u: invalid module name in import: \"%s\"",
                                          line_of(code, s), name);
                                return -EINVAL;
                        }
                        n_names++;
                        if (!strv_contains(imports, name)) {
                                r = strv_consume(&imports, TAKE_PTR(name));
                                if (r < 0)
                                        return r;
                        }
                }
                if (n_names == 0) {
                        set_error(ret_error, "line %u: import without a module name", line_of(code, start));
                        return -EINVAL;
                }
                /* blank the command in the body, keeping line/column positions */
                memset(body + (start - code), ' ', p - start);
                header_end = p;
                p = skip_space_and_comments(p);
        }

        ret->imports = TAKE_PTR(imports);
        ret->body = TAKE_PTR(body);
        ret->header_end = header_end ? (size_t) (header_end - code) : 0;
        return 0;
}

char *lean_header_command(char * const *imports) {
        _cleanup_free_ char *s = NULL;
        size_t len = 0, n = 0;

        STRV_FOREACH(i, (char **) imports)
                len += strlen("import ") + strlen(*i) + 1;
        s = malloc(len + 1);
        if (!s)
                return NULL;
        s[0] = 0;
        STRV_FOREACH(i, (char **) imports) {
                n += sprintf(s + n, "%simport %s", n > 0 ? "\n" : "", *i);
        }
        return TAKE_PTR(s);
}

char *lean_imports_fingerprint(char * const *imports) {
        return strv_join(imports, ",");
}
