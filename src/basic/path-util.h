/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "basic/macro.h"

/* Canonical absolute path (symlinks resolved, via realpath(3)); the path must
 * exist. Negative errno (-ENOENT, -EACCES, -ENOTDIR...) otherwise. */
int path_canonicalize(const char *path, char **ret);

/* Walk upward from a file or directory to the nearest directory that holds
 * lakefile.lean or lakefile.toml; returns that directory canonicalised.
 * -ENOENT if no ancestor up to / has one (or path does not exist). */
int path_find_lake_root(const char *path, char **ret_root);

/* As path_find_lake_root(), but never walks up into a directory that anyone
 * could plant a lakefile in: one owned by neither trusted_uid nor root that
 * is group- or world-writable. Then -EPERM, with that directory in
 * *ret_blocked (optional, malloc'd). The directory the walk starts in is
 * exempt: it is the one the caller named. */
int path_find_lake_root_safe(const char *path, uid_t trusted_uid, char **ret_root, char **ret_blocked);

/* mkdir -p: creates missing components with mode (subject to umask);
 * existing directories are left alone; -ENOTDIR if a component is not one. */
int mkdir_p_mode(const char *path, mode_t mode);

/* Joins the components with single '/' separators; NULL/empty components are
 * skipped. Returns malloc'd string or NULL on OOM.
 *     path_join("/a/", "/b", "c") → "/a/b/c" */
#define PATH_JOIN_END ((const char *) UINTPTR_MAX)
char *path_join_internal(const char *first, ...);
#define path_join(...) path_join_internal(__VA_ARGS__, PATH_JOIN_END)

static inline bool path_is_absolute(const char *p) {
        return p && p[0] == '/';
}
