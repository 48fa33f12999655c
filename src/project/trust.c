/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Whose code a project root would make us run, git's safe.directory rule:
 * the daemon runs `lake env <repl>` in the root, lake elaborates the
 * lakefile (Lean code) and the REPL is a binary under .lake/, so a root that
 * another user can write is another user's code running as us.
 * Owns nothing (pure checks). Must not know: projects, the registry. */

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/fileio.h"
#include "basic/json-util.h"
#include "basic/path-util.h"
#include "basic/strv.h"
#include "project/trust.h"

/* The files lean-host or `lake env` act on inside a root, relative to it:
 * the lakefiles (Lean code lake elaborates), the pin, the manifest and the
 * REPL binaries readiness may pick, with every directory on the way. */
const char *const project_trust_files[] = {
        "lakefile.lean",
        "lakefile.toml",
        "lean-toolchain",
        "lake-manifest.json",
        ".lake",
        ".lake/packages",
        ".lake/packages/REPL",
        ".lake/packages/REPL/.lake",
        ".lake/packages/REPL/.lake/build",
        ".lake/packages/REPL/.lake/build/bin",
        ".lake/packages/REPL/.lake/build/bin/repl",
        ".lake/packages/repl",
        ".lake/packages/repl/.lake",
        ".lake/packages/repl/.lake/build",
        ".lake/packages/repl/.lake/build/bin",
        ".lake/packages/repl/.lake/build/bin/repl",
        ".lake/build",
        ".lake/build/bin",
        ".lake/build/bin/repl",
        NULL,
};

bool project_root_is_trusted(char * const *trusted_roots, const char *root) {
        STRV_FOREACH(t, (char **) trusted_roots) {
                size_t n = strlen(*t);

                if (streq(*t, "*"))
                        return true;
                while (n > 1 && (*t)[n - 1] == '/')
                        n--;
                if (strneq(root, *t, n) && (root[n] == 0 || root[n] == '/' || streq(*t, "/")))
                        return true;
        }
        return false;
}

/* uids only: a user name would mean NSS, which may block (LDAP, sssd). */
static void not_trusted(LhError *err, const char *root, const char *path, uid_t owner, uid_t uid) {
        json_object *d;

        lh_error_set(err, "project_not_trusted", false,
                     "Refusing project %s: %s is owned by uid %u, not by you (uid %u) or root, and running the "
                     "project would run that user's code (lakefile, REPL) as you. If you trust it, add the root "
                     "to project.trusted_roots (environment LEAN_HOST_MCP_TRUSTED_ROOTS, colon-separated; * = all).",
                     root, path, (unsigned) owner, (unsigned) uid);
        d = json_object_new_object();
        if (d && (json_add(d, "path", json_object_new_string(path)) < 0 ||
                  json_add(d, "owner_uid", json_object_new_int64(owner)) < 0))
                d = (json_object_put(d), NULL);
        err->details = d;
}

static bool owner_ok(const struct stat *st, uid_t uid) {
        return st->st_uid == uid || st->st_uid == 0;
}

int project_trust_check(const char *root, uid_t uid, char * const *trusted_roots, LhError *err) {
        struct stat st;

        if (project_root_is_trusted(trusted_roots, root))
                return 0;
        if (stat(root, &st) < 0)
                return negative_errno();
        if (!owner_ok(&st, uid)) {
                not_trusted(err, root, root, st.st_uid, uid);
                return -EPERM;
        }
        for (const char *const *f = project_trust_files; *f; f++) {
                _cleanup_free_ char *p = path_join(root, *f);

                if (!p)
                        return -ENOMEM;
                if (lstat(p, &st) < 0)
                        continue; /* missing: nothing of it runs */
                if (owner_ok(&st, uid) && S_ISLNK(st.st_mode) && stat(p, &st) < 0)
                        continue; /* dangling */
                if (!owner_ok(&st, uid)) {
                        not_trusted(err, root, p, st.st_uid, uid);
                        return -EPERM;
                }
        }
        return 0;
}

void project_trust_blocked_error(LhError *err, const char *path, const char *blocked) {
        struct stat st = {};

        (void) stat(blocked, &st);
        lh_error_set(err, "project_not_trusted", false,
                     "Refusing to look for a Lake project above %s: %s is owned by uid %u and writable by others, "
                     "so anyone could have put a lakefile there. Put a lakefile in the project itself, or, if you "
                     "trust it, add it to project.trusted_roots (environment LEAN_HOST_MCP_TRUSTED_ROOTS, "
                     "colon-separated; * = all).",
                     path, blocked, (unsigned) st.st_uid);
        err->details = json_object_new_object();
        if (err->details)
                (void) json_add(err->details, "path", json_object_new_string(blocked));
}

/* The reasons file_error_to_string() words as "is a …". */
static bool is_type_error(int r) {
        return r == -EISDIR || r == -ESPIPE || r == -ENODEV || r == -ENXIO || r == -EBADFD;
}

int project_files_check(const char *root, LhError *err) {
        static const char *const files[] = { "lean-toolchain", "lake-manifest.json" };

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *p = path_join(root, files[i]);
                int r;

                if (!p)
                        return -ENOMEM;
                r = file_check_readable(p, READ_PROJECT_FILE_MAX);
                if (r >= 0 || r == -ENOENT)
                        continue;
                if (r == -ENOMEM)
                        return r;
                if (r == -EFBIG)
                        lh_error_set(err, "project_file_unreadable", false,
                                     "Project file %s is larger than %zu KiB; lean-host reads it on every call and "
                                     "will not read more. Replace it with the real %s.",
                                     p, READ_PROJECT_FILE_MAX / 1024, files[i]);
                else
                        lh_error_set(err, "project_file_unreadable", false,
                                     "Project file %s %s%s; lean-host reads it on every call and needs a readable "
                                     "regular file (or none).",
                                     p, is_type_error(r) ? "" : "cannot be read: ",
                                     file_error_to_string(r));
                err->details = json_object_new_object();
                if (err->details) {
                        (void) json_add(err->details, "path", json_object_new_string(p));
                        (void) json_add(err->details, "reason", json_object_new_string(file_error_to_string(r)));
                }
                return r;
        }
        return 0;
}
