/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The default lean_libs of a Lake configuration and their root modules.
 * Not a TOML or Lean parser: it reads the few literal forms Lake's own
 * examples and real projects use, and skips anything else. */

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "basic/path-util.h"
#include "basic/strv.h"
#include "lean/header.h"
#include "lean/lakefile.h"

typedef struct LakeLib {
        char *name;
        char **roots;      /* NULL: not given (Lake's default: #[name]) */
        bool roots_unknown; /* given, but not in a literal form read here */
        bool is_default;
} LakeLib;

typedef struct LakeLibs {
        LakeLib *libs;
        size_t n;
} LakeLibs;

static void lake_libs_done(LakeLibs *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->libs[i].name);
                strv_free(l->libs[i].roots);
        }
        free(l->libs);
        *l = (LakeLibs) {};
}

static LakeLib *lake_libs_add(LakeLibs *l) {
        LakeLib *n = realloc(l->libs, (l->n + 1) * sizeof *n);

        if (!n)
                return NULL;
        l->libs = n;
        n[l->n] = (LakeLib) {};
        return &n[l->n++];
}

/* The roots of the default libraries (all of them when none is default). */
static int lake_libs_roots(const LakeLibs *l, char ***ret) {
        _cleanup_strv_free_ char **out = strv_copy(NULL);
        bool any_default = false;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < l->n; i++)
                any_default = any_default || l->libs[i].is_default;
        for (size_t i = 0; i < l->n; i++) {
                const LakeLib *lib = &l->libs[i];
                char *name_only[2] = { lib->name, NULL };
                char **roots = lib->roots ?: name_only;

                if ((any_default && !lib->is_default) || lib->roots_unknown || !lib->name)
                        continue;
                STRV_FOREACH(m, roots)
                        if (lean_module_name_is_valid(*m) && !strv_contains(out, *m) && strv_extend(&out, *m) < 0)
                                return -ENOMEM;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

/* ---- lakefile.toml ------------------------------------------------------- */

static const char *skip_blank(const char *p) {
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

static const char *skip_line(const char *p) {
        const char *e = strchr(p, '\n');

        return e ? e + 1 : p + strlen(p);
}

/* A TOML string at p ("basic" without escapes, or 'literal'): 1 with *ret
 * and *end set, 0 when p holds none (or one with escapes), -ENOMEM. */
static int toml_string(const char *p, const char **end, char **ret) {
        char q = *p;
        const char *e;

        if (q != '"' && q != '\'')
                return 0;
        for (e = p + 1; *e && *e != q && *e != '\n'; e++)
                if (q == '"' && *e == '\\')
                        return 0;
        if (*e != q)
                return 0;
        *ret = strndup(p + 1, e - p - 1);
        if (!*ret)
                return -ENOMEM;
        *end = e + 1;
        return 1;
}

/* An array of strings at p ('['), over lines, with comments: 1 with *ret
 * (NULL when an element is not a plain string) and *end, 0 when p is no
 * array, -ENOMEM. */
static int toml_string_array(const char *p, const char **end, char ***ret) {
        _cleanup_strv_free_ char **l = strv_copy(NULL);
        bool bad = false;

        if (*p != '[' || !l)
                return l ? 0 : -ENOMEM;
        p++;
        for (;;) {
                char *s = NULL;
                int r;

                while (strchr(" \t\r\n,", *p) && *p)
                        p++;
                if (*p == '#') {
                        p = skip_line(p);
                        continue;
                }
                if (*p == ']' || *p == 0)
                        break;
                r = toml_string(p, &p, &s);
                if (r < 0)
                        return r;
                if (r == 0) {
                        /* not a plain string: skip to the next separator */
                        bad = true;
                        while (*p && !strchr(",]\n", *p))
                                p++;
                        continue;
                }
                if (strv_consume(&l, s) < 0)
                        return -ENOMEM;
        }
        if (*p != ']')
                return 0;
        *end = p + 1;
        *ret = bad ? NULL : TAKE_PTR(l);
        return 1;
}

static int toml_libs(const char *text, LakeLibs *libs) {
        _cleanup_strv_free_ char **defaults = NULL;
        enum { TOP, LIB, OTHER } section = TOP;
        LakeLib *lib = NULL;
        const char *p = text;
        int r;

        while (*p) {
                const char *key, *key_end;
                size_t key_len;

                p = skip_blank(p);
                if (*p == '\n' || *p == '\r' || *p == '#') {
                        p = skip_line(p);
                        continue;
                }
                if (*p == '[') {
                        bool array = p[1] == '[';
                        const char *s = skip_blank(p + (array ? 2 : 1)), *e = s;

                        while (*e && !strchr("] \t\n", *e))
                                e++;
                        section = array && (size_t) (e - s) == strlen("lean_lib") &&
                                  strneq(s, "lean_lib", e - s) ? LIB : OTHER;
                        lib = NULL;
                        if (section == LIB) {
                                lib = lake_libs_add(libs);
                                if (!lib)
                                        return -ENOMEM;
                        }
                        p = skip_line(p);
                        continue;
                }
                key = p;
                while (*p && !strchr(" \t=\n", *p))
                        p++;
                key_end = p;
                key_len = key_end - key;
                p = skip_blank(p);
                if (*p != '=') {
                        p = skip_line(p);
                        continue;
                }
                p = skip_blank(p + 1);
                if (*p == '[') {
                        char **l = NULL;

                        r = toml_string_array(p, &p, &l);
                        if (r < 0)
                                return r;
                        if (r == 0) {
                                p = skip_line(p);
                                continue;
                        }
                        if (section == TOP && key_len == strlen("defaultTargets") &&
                            strneq(key, "defaultTargets", key_len)) {
                                strv_free(defaults);
                                defaults = l ?: strv_copy(NULL);
                                if (!defaults)
                                        return -ENOMEM;
                        } else if (section == LIB && lib && key_len == strlen("roots") && strneq(key, "roots", key_len)) {
                                strv_free(lib->roots);
                                lib->roots = l;
                                lib->roots_unknown = !l;
                        } else
                                strv_free(l);
                } else if (section == LIB && lib && key_len == strlen("name") && strneq(key, "name", key_len)) {
                        char *s = NULL;

                        r = toml_string(p, &p, &s);
                        if (r < 0)
                                return r;
                        if (r > 0) {
                                free(lib->name);
                                lib->name = s;
                        }
                } else if (section == LIB && lib && key_len == strlen("roots") && strneq(key, "roots", key_len))
                        lib->roots_unknown = true; /* not an array of strings */
                p = skip_line(p);
        }
        for (size_t i = 0; i < libs->n; i++)
                libs->libs[i].is_default = libs->libs[i].name && strv_contains(defaults, libs->libs[i].name);
        return 0;
}

/* ---- lakefile.lean ------------------------------------------------------- */

/* text with comments (-- to the end of the line, nested /- -/) blanked out,
 * string literals kept, so positions stay the same. */
static char *lean_strip_comments(const char *text) {
        char *s = strdup(text);
        size_t n;

        if (!s)
                return NULL;
        n = strlen(s);
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '"') {
                        for (i++; i < n && s[i] != '"'; i++)
                                if (s[i] == '\\' && i + 1 < n)
                                        i++;
                } else if (s[i] == '-' && s[i + 1] == '-') {
                        while (i < n && s[i] != '\n')
                                s[i++] = ' ';
                } else if (s[i] == '/' && s[i + 1] == '-') {
                        unsigned depth = 0;

                        do {
                                if (s[i] == '/' && s[i + 1] == '-') {
                                        depth++;
                                        s[i] = s[i + 1] = ' ';
                                        i += 2;
                                } else if (s[i] == '-' && s[i + 1] == '/') {
                                        depth--;
                                        s[i] = s[i + 1] = ' ';
                                        i += 2;
                                } else {
                                        if (s[i] != '\n')
                                                s[i] = ' ';
                                        i++;
                                }
                        } while (i < n && depth > 0);
                        i--;
                }
        }
        return s;
}

static bool lean_ident_char(char c) {
        return (unsigned char) c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9') || c == '_' || c == '\'' || c == '!' || c == '?' || c == '.';
}

/* A Lean name at p (parts joined by '.', a part plain or «guillemets»):
 * its length, 0 when none. */
static size_t lean_name_len(const char *p) {
        const char *q = p;

        for (;;) {
                if (strneq(q, "«", strlen("«"))) {
                        const char *e = strstr(q, "»");

                        if (!e || memchr(q, '\n', e - q))
                                return 0;
                        q = e + strlen("»");
                } else if (lean_ident_char(*q) && *q != '.' && (unsigned char) *q != 0xc2)
                        while (lean_ident_char(*q) && *q != '.' && !strneq(q, "«", strlen("«")))
                                q++;
                else
                        return 0;
                if (*q != '.')
                        return q - p;
                q++;
        }
}

/* Is the `@[...]` right before pos one that holds default_target? */
static bool lean_default_attr_before(const char *s, const char *pos) {
        const char *q = pos, *open;

        while (q > s && strchr(" \t\r\n", q[-1]))
                q--;
        if (q == s || q[-1] != ']')
                return false;
        /* on one line: a `]` of an earlier line is not this declaration's */
        for (open = q - 1; open > s && !(open[-1] == '@' && open[0] == '['); open--)
                if (*open == '\n')
                        return false;
        if (open == s)
                return false;
        for (const char *a = open + 1; a < q - 1;) {
                size_t l;

                while (a < q - 1 && !lean_ident_char(*a))
                        a++;
                l = 0;
                while (a + l < q - 1 && lean_ident_char(a[l]))
                        l++;
                if ((l == strlen("default_target") && strneq(a, "default_target", l)) ||
                    (l == strlen("defaultTarget") && strneq(a, "defaultTarget", l)))
                        return true;
                a += l;
        }
        return false;
}

/* `roots := #[`A, `B.C]` in [p, end): 1 with *ret, 0 when not given, -EINVAL
 * when given in another form, -ENOMEM. */
static int lean_roots(const char *p, const char *end, char ***ret) {
        _cleanup_strv_free_ char **l = strv_copy(NULL);
        const char *q;

        if (!l)
                return -ENOMEM;
        for (q = p; q < end; q++) {
                if (strneq(q, "roots", 5) && (q == p || !lean_ident_char(q[-1])) && !lean_ident_char(q[5]))
                        break;
        }
        if (q >= end)
                return 0;
        q += 5;
        while (q < end && strchr(" \t\r\n", *q))
                q++;
        if (!strneq(q, ":=", 2))
                return 0;
        q += 2;
        while (q < end && strchr(" \t\r\n", *q))
                q++;
        if (!strneq(q, "#[", 2))
                return -EINVAL;
        q += 2;
        for (;;) {
                size_t n;
                char *m;

                while (q < end && strchr(" \t\r\n,", *q))
                        q++;
                if (q >= end)
                        return -EINVAL;
                if (*q == ']')
                        break;
                if (*q != '`')
                        return -EINVAL;
                n = lean_name_len(q + 1);
                if (n == 0)
                        return -EINVAL;
                m = strndup(q + 1, n);
                if (!m || strv_consume(&l, m) < 0)
                        return -ENOMEM;
                q += 1 + n;
        }
        *ret = TAKE_PTR(l);
        return 1;
}

static int lean_libs(const char *text, LakeLibs *libs) {
        _cleanup_free_ char *s = lean_strip_comments(text);
        const char *p;

        if (!s)
                return -ENOMEM;
        for (p = s; (p = strstr(p, "lean_lib")); p += strlen("lean_lib")) {
                const char *q = p + strlen("lean_lib"), *end;
                LakeLib *lib;
                size_t n;
                int r;

                if ((p > s && lean_ident_char(p[-1])) || lean_ident_char(*q))
                        continue;
                /* a declaration: at the start of a line */
                if (p > s && p[-1] != '\n' && !lean_default_attr_before(s, p))
                        continue;
                q = skip_blank(q);
                n = lean_name_len(q);
                if (n == 0)
                        continue;
                lib = lake_libs_add(libs);
                if (!lib)
                        return -ENOMEM;
                lib->name = strndup(q, n);
                if (!lib->name)
                        return -ENOMEM;
                lib->is_default = lean_default_attr_before(s, p);
                /* its configuration: up to the next line that starts in column 0 */
                q += n;
                for (end = q; *end; end++)
                        if (end[0] == '\n' && end[1] && !strchr(" \t\r\n", end[1]))
                                break;
                r = lean_roots(q, end, &lib->roots);
                if (r == -ENOMEM)
                        return r;
                lib->roots_unknown = r == -EINVAL;
        }
        return 0;
}

int lean_lakefile_default_roots(const char *text, LakefileKind kind, char ***ret) {
        LakeLibs libs = {};
        int r;

        assert(text);
        assert(ret);
        r = kind == LAKEFILE_LEAN ? lean_libs(text, &libs) : toml_libs(text, &libs);
        if (r >= 0)
                r = lake_libs_roots(&libs, ret);
        lake_libs_done(&libs);
        return r;
}

int lean_lakefile_read_default_roots(const char *root, char ***ret) {
        static const struct {
                const char *name;
                LakefileKind kind;
        } files[] = {
                { "lakefile.lean", LAKEFILE_LEAN },
                { "lakefile.toml", LAKEFILE_TOML },
        };

        assert(root);
        assert(ret);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *path = path_join(root, files[i].name), *text = NULL;
                int r;

                if (!path)
                        return -ENOMEM;
                r = read_full_file(path, READ_PROJECT_FILE_MAX, &text, NULL);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                return lean_lakefile_default_roots(text, files[i].kind, ret);
        }
        return -ENOENT;
}
