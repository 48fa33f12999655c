/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "basic/path-util.h"

int path_canonicalize(const char *path, char **ret) {
        char *p;

        if (isempty(path))
                return -EINVAL;
        p = realpath(path, NULL);
        if (!p)
                return negative_errno();
        *ret = p;
        return 0;
}

/* True if dir holds lakefile.lean or lakefile.toml (a regular file, symlinks followed). */
static bool path_is_lake_root(const char *dir) {
        static const char *const names[] = { "lakefile.lean", "lakefile.toml" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *f = path_join(dir, names[i]);
                struct stat st;

                if (f && stat(f, &st) == 0 && S_ISREG(st.st_mode))
                        return true;
        }
        return false;
}

static bool dir_is_plantable(const struct stat *st, uid_t trusted_uid) {
        return st->st_uid != trusted_uid && st->st_uid != 0 && (st->st_mode & (S_IWGRP | S_IWOTH));
}

static int find_lake_root(const char *path, bool check, uid_t trusted_uid, char **ret_root, char **ret_blocked) {
        _cleanup_free_ char *p = NULL;
        bool first = true;
        struct stat st;
        int r;

        r = path_canonicalize(path, &p);
        if (r < 0)
                return r == -ENOTDIR ? -ENOENT : r;
        if (stat(p, &st) < 0)
                return negative_errno();

        /* a file: start from the directory it is in */
        if (!S_ISDIR(st.st_mode)) {
                char *slash = strrchr(p, '/');
                if (slash == p)
                        slash[1] = 0;
                else
                        *slash = 0;
        }

        for (;; first = false) {
                char *slash;

                if (check && !first) {
                        if (stat(p, &st) < 0)
                                return negative_errno();
                        if (dir_is_plantable(&st, trusted_uid)) {
                                if (ret_blocked)
                                        *ret_blocked = TAKE_PTR(p);
                                return -EPERM;
                        }
                }
                if (path_is_lake_root(p)) {
                        *ret_root = TAKE_PTR(p);
                        return 0;
                }
                if (streq(p, "/"))
                        return -ENOENT;

                slash = strrchr(p, '/');
                if (slash == p)
                        slash[1] = 0;
                else
                        *slash = 0;
        }
}

int path_find_lake_root(const char *path, char **ret_root) {
        return find_lake_root(path, false, 0, ret_root, NULL);
}

int path_find_lake_root_safe(const char *path, uid_t trusted_uid, char **ret_root, char **ret_blocked) {
        return find_lake_root(path, true, trusted_uid, ret_root, ret_blocked);
}

int mkdir_p_mode(const char *path, mode_t mode) {
        _cleanup_free_ char *p = NULL;
        struct stat st;

        if (isempty(path))
                return -EINVAL;
        p = strdup(path);
        if (!p)
                return -ENOMEM;

        /* Each prefix ending before a '/', then the whole path. */
        for (char *s = p + 1;; s++) {
                bool end = *s == 0;

                if (!end && *s != '/')
                        continue;
                if (s[-1] != '/') {
                        *s = 0;
                        if (mkdir(p, mode) < 0) {
                                if (errno != EEXIST)
                                        return negative_errno();
                                if (stat(p, &st) < 0)
                                        return negative_errno();
                                if (!S_ISDIR(st.st_mode))
                                        return -ENOTDIR;
                        }
                        if (!end)
                                *s = '/';
                }
                if (end)
                        return 0;
        }
}

char *path_join_internal(const char *first, ...) {
        size_t len = 0, n = 0;
        const char *c;
        va_list ap;
        char *r;

        va_start(ap, first);
        for (c = first; c != PATH_JOIN_END; c = va_arg(ap, const char *))
                if (c)
                        len += strlen(c) + 1;
        va_end(ap);

        r = new(char, len + 1);
        if (!r)
                return NULL;

        va_start(ap, first);
        for (c = first; c != PATH_JOIN_END; c = va_arg(ap, const char *)) {
                if (isempty(c))
                        continue;
                if (n > 0) {
                        bool ends = r[n - 1] == '/';
                        if (ends)
                                while (*c == '/')
                                        c++;
                        else if (*c != '/')
                                r[n++] = '/';
                }
                size_t l = strlen(c);
                memcpy(r + n, c, l);
                n += l;
        }
        va_end(ap);
        r[n] = 0;
        return r;
}
