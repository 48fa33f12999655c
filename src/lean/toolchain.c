/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The toolchain pin (parsed here, not in readiness.c, so readiness.c is the
 * only one of the two that calls the other), elan resolution, the REPL build
 * cache layout and the REPL revision table.
 * See toolchain.h. Reads only what it is given (and $ELAN_HOME, $HOME,
 * $XDG_CACHE_HOME for defaults); never runs anything. */

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/path-util.h"
#include "basic/strv.h"
#include "lean/toolchain.h"

#define DEFAULT_ORIGIN "leanprover/lean4"

char *lean_elan_home(const char *explicit) {
        const char *e = !isempty(explicit) ? explicit : getenv("ELAN_HOME"), *home;

        if (!isempty(e))
                return strdup(e);
        home = getenv("HOME");
        if (isempty(home))
                return NULL;
        return path_join(home, ".elan");
}

static bool lean_toolchain_is_channel(const LeanToolchain *t) {
        const char *v = t ? t->version : NULL;

        return v && (streq(v, "stable") || streq(v, "beta") || streq(v, "nightly") || streq(v, "latest") ||
                     streq(v, "lean-toolchain"));
}

static bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);

        return a >= b && streq(s + a - b, suffix);
}

char *lean_toolchain_elan_name(const LeanToolchain *t) {
        const char *origin, *suffix = "", *v_prefix = "";

        if (!t || !t->origin || !t->version || lean_toolchain_is_channel(t)) {
                errno = EINVAL;
                return NULL;
        }
        origin = t->origin;
        /* elan: nightly releases live in the <origin>-nightly repository */
        if (startswith(t->version, "nightly") && !endswith(origin, "-nightly"))
                suffix = "-nightly";
        /* elan: "4.9.0" means the tag "v4.9.0" */
        if (isdigit((unsigned char) t->version[0]))
                v_prefix = "v";
        return strdup_printf("%s%s:%s%s", origin, suffix, v_prefix, t->version);
}

bool lean_toolchain_pin_equal(const char *a, const char *b) {
        LeanToolchain ta, tb;
        _cleanup_free_ char *na = NULL, *nb = NULL;
        bool eq;

        if (!a || !b)
                return false;
        if (lean_toolchain_parse(a, &ta) < 0)
                return false;
        if (lean_toolchain_parse(b, &tb) < 0) {
                lean_toolchain_done(&ta);
                return false;
        }
        na = lean_toolchain_elan_name(&ta);
        nb = lean_toolchain_elan_name(&tb);
        eq = na && nb ? streq(na, nb) : streq(ta.pin, tb.pin);
        lean_toolchain_done(&ta);
        lean_toolchain_done(&tb);
        return eq;
}

static bool is_dir(const char *p) {
        struct stat st;

        return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_executable(const char *p) {
        struct stat st;

        return p && stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

char *lean_find_in_path(const char *path, const char *name) {
        for (const char *d = path; d && *d;) {
                size_t n = strcspn(d, ":");

                /* only absolute entries: a relative one would depend on our cwd */
                if (n > 0 && d[0] == '/') {
                        _cleanup_free_ char *dir = strndup(d, n);
                        char *p = dir ? path_join(dir, name) : NULL;

                        if (is_executable(p))
                                return p;
                        free(p);
                }
                d += n;
                if (*d == ':')
                        d++;
        }
        return NULL;
}

void lean_lake_done(LeanLake *l) {
        if (!l)
                return;
        free(l->path);
        free(l->toolchain_dir);
        *l = (LeanLake) {};
}

int lean_lake_find(const char *elan_home, const LeanToolchain *t, const char *path, LeanLake *ret) {
        _cleanup_free_ char *dir = NULL, *lake = NULL;

        *ret = (LeanLake) {};
        ret->elan = is_dir(elan_home);
        if (!ret->elan) {
                ret->path = lean_find_in_path(path, "lake");
                ret->origin = LEAN_LAKE_PATH;
                return ret->path ? 0 : -ENOPKG;
        }

        if (t && t->pin && !lean_toolchain_is_channel(t)) {
                dir = lean_toolchain_elan_dirname(t);
                if (!dir)
                        return -ENOMEM;
                ret->toolchain_dir = path_join(elan_home, "toolchains", dir);
                if (!ret->toolchain_dir)
                        return -ENOMEM;
                if (!is_dir(ret->toolchain_dir)) {
                        /* a linked toolchain (`elan toolchain link NAME DIR`) is named as written */
                        _cleanup_free_ char *linked = path_join(elan_home, "toolchains", t->pin);

                        if (!linked)
                                return -ENOMEM;
                        if (strchr(t->pin, '/') || !is_dir(linked))
                                return -ENOENT;
                        free(ret->toolchain_dir);
                        ret->toolchain_dir = TAKE_PTR(linked);
                }
                lake = path_join(ret->toolchain_dir, "bin", "lake");
                if (!lake)
                        return -ENOMEM;
                if (!is_executable(lake))
                        return -ENOEXEC;
                ret->path = TAKE_PTR(lake);
                ret->origin = LEAN_LAKE_TOOLCHAIN;
                return 0;
        }

        /* channel or no pin: only elan can pick the toolchain */
        lake = path_join(elan_home, "bin", "lake");
        if (!lake)
                return -ENOMEM;
        if (!is_executable(lake))
                return -ENOPKG;
        ret->path = TAKE_PTR(lake);
        ret->origin = LEAN_LAKE_ELAN_PROXY;
        return 0;
}

/* ---- REPL cache --------------------------------------------------------------- */

char *lean_repl_cache_root(const char *explicit) {
        const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

        if (!isempty(explicit))
                return strdup(explicit);
        /* per the XDG spec, a relative XDG_CACHE_HOME is ignored */
        if (path_is_absolute(xdg))
                return path_join(xdg, "lean-host", "repl");
        if (isempty(home))
                return NULL;
        return path_join(home, ".cache", "lean-host", "repl");
}

char *lean_repl_cache_dir(const char *root, const LeanToolchain *t) {
        _cleanup_free_ char *d = NULL;

        if (!root || !t || !t->pin || lean_toolchain_is_channel(t))
                return NULL;
        d = lean_toolchain_elan_dirname(t);
        return d ? path_join(root, d) : NULL;
}

int lean_repl_cached(const char *dir, const char *pin, char **ret, char **ret_built_for) {
        _cleanup_free_ char *stamp = NULL, *text = NULL, *bin = NULL;
        size_t n;
        int r;

        if (!dir || !pin)
                return -ENOENT;
        stamp = path_join(dir, LEAN_REPL_STAMP_FILE);
        bin = path_join(dir, LEAN_REPL_BINARY);
        if (!stamp || !bin)
                return -ENOMEM;
        if (!is_executable(bin))
                return -ENOENT;
        r = read_full_file(stamp, 4096, &text, NULL);
        if (r < 0)
                return r == -ENOMEM ? r : -ENOENT; /* no stamp: an interrupted build */
        n = strcspn(text, "\r\n");
        text[n] = 0;
        if (!lean_toolchain_pin_equal(text, pin)) {
                if (ret_built_for)
                        *ret_built_for = TAKE_PTR(text);
                return -ESTALE;
        }
        *ret = TAKE_PTR(bin);
        return 0;
}

/* ---- revision table ------------------------------------------------------------ */

void lean_repl_revisions_done(LeanReplRevisions *r) {
        if (!r)
                return;
        strv_free(r->pins);
        strv_free(r->revs);
        *r = (LeanReplRevisions) {};
}

int lean_repl_revisions_parse(const char *text, LeanReplRevisions *ret, unsigned *ret_line) {
        LeanReplRevisions t = {};
        unsigned line = 0;
        int r = 0;

        *ret = (LeanReplRevisions) {};
        if (!(t.pins = strv_copy(NULL)) || !(t.revs = strv_copy(NULL)))
                goto oom;
        for (const char *p = text; p && *p;) {
                size_t n = strcspn(p, "\n");
                _cleanup_free_ char *l = strndup(p, n);
                _cleanup_strv_free_ char **w = NULL;
                char *hash;

                line++;
                p += n + (p[n] == '\n');
                if (!l)
                        goto oom;
                hash = strchr(l, '#');
                if (hash)
                        *hash = 0;
                r = strv_split_words(l, &w);
                if (r < 0)
                        goto fail;
                if (strv_isempty(w))
                        continue;
                /* pin, revision, optional tag */
                if (strv_length(w) > 3 || strv_length(w) < 2 || !lean_toolchain_pin_equal(w[0], w[0])) {
                        r = -EBADMSG;
                        if (ret_line)
                                *ret_line = line;
                        goto fail;
                }
                if (strv_extend(&t.pins, w[0]) < 0 || strv_extend(&t.revs, w[1]) < 0)
                        goto oom;
        }
        *ret = t;
        return 0;
oom:
        r = -ENOMEM;
fail:
        lean_repl_revisions_done(&t);
        return r;
}

const char *lean_repl_revisions_find(const LeanReplRevisions *r, const LeanToolchain *t) {
        if (!r || !t || !t->pin)
                return NULL;
        /* the last line wins, so an override file can append */
        for (size_t i = strv_length(r->pins); i > 0; i--)
                if (lean_toolchain_pin_equal(r->pins[i - 1], t->pin))
                        return r->revs[i - 1];
        return NULL;
}

/* ---- toolchain pin ---------------------------------------------------------- */

void lean_toolchain_done(LeanToolchain *t) {
        if (!t)
                return;
        free(t->pin);
        free(t->origin);
        free(t->version);
        *t = (LeanToolchain) {};
}

/* "v4.33.0" or "v4.33.0-rc2" (also without the v, as elan accepts). */
static bool parse_release(const char *v, LeanToolchain *t) {
        unsigned a, b, c, rc = 0;
        int n = 0, m = 0;

        if (*v == 'v')
                v++;
        if (!isdigit((unsigned char) *v) || sscanf(v, "%u.%u.%u%n", &a, &b, &c, &n) != 3)
                return false;
        if (v[n] != 0) {
                if (sscanf(v + n, "-rc%u%n", &rc, &m) != 1 || v[n + m] != 0 || rc == 0)
                        return false;
        }
        t->release = true;
        t->major = a;
        t->minor = b;
        t->patch = c;
        t->rc = rc;
        return true;
}

int lean_toolchain_parse(const char *pin, LeanToolchain *ret) {
        _cleanup_free_ char *p = NULL;
        LeanToolchain t = {};
        const char *colon;
        size_t a, b;

        assert(ret);

        *ret = (LeanToolchain) {};
        if (!pin)
                return -EINVAL;
        /* first line, trimmed */
        a = strspn(pin, " \t\r\n");
        b = strcspn(pin + a, "\r\n");
        while (b > 0 && isspace((unsigned char) pin[a + b - 1]))
                b--;
        if (b == 0)
                return -EINVAL;
        p = strndup(pin + a, b);
        if (!p)
                return -ENOMEM;
        for (const char *c = p; *c; c++)
                if (isspace((unsigned char) *c) || iscntrl((unsigned char) *c))
                        return -EINVAL;

        colon = strrchr(p, ':');
        if (colon) {
                if (colon == p || colon[1] == 0)
                        return -EINVAL;
                t.origin = strndup(p, colon - p);
                t.version = strdup(colon + 1);
        } else {
                /* elan's short form "v4.9.0" / "stable" means leanprover/lean4 */
                t.origin = strdup("leanprover/lean4");
                t.version = strdup(p);
        }
        t.pin = TAKE_PTR(p);
        if (!t.origin || !t.version) {
                lean_toolchain_done(&t);
                return -ENOMEM;
        }
        if (streq(t.origin, "leanprover/lean4"))
                (void) parse_release(t.version, &t);
        *ret = t;
        return 0;
}

char *lean_toolchain_elan_dirname(const LeanToolchain *t) {
        _cleanup_free_ char *full = lean_toolchain_elan_name(t);
        char *out, *o;

        assert(t);

        if (!full)
                return NULL;
        out = malloc(strlen(full) * 3 + 1);
        if (!out)
                return NULL;
        o = out;
        for (const char *c = full; *c; c++) {
                if (*c == '/')
                        o = stpcpy(o, "--");
                else if (*c == ':')
                        o = stpcpy(o, "---");
                else
                        *o++ = *c;
        }
        *o = 0;
        return out;
}
