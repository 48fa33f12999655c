/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A path to its Lake root, off the loop. Owns: ProjectResolveJob. Must not
 * know: the registry, projects. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "basic/fileio.h"
#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/thread-util.h"
#include "project/resolve.h"
#include "project/trust.h"

int project_root_resolve(const char *path, char * const *trusted_roots, uid_t uid, char **ret_root, LhError *err) {
        _cleanup_free_ char *canonical = NULL, *root = NULL, *blocked = NULL;
        int k;

        assert(path);
        assert(ret_root);

        k = path_canonicalize(path, &canonical);
        if (k < 0) {
                if (k == -ENOMEM)
                        return k;
                lh_error_set(err, "project_not_found", false, "Project path %s cannot be resolved: %s",
                             path, strerror(-k));
                return k;
        }
        /* json-c lets overlong UTF-8 through; D-Bus and JSON replies need the
         * root valid (a symlink may hide such a name behind an ASCII one) */
        if (!utf8_is_valid(canonical)) {
                _cleanup_free_ char *shown = utf8_escape_invalid(canonical);

                lh_error_set(err, "invalid_arguments", false,
                             "Project path %s resolves to %s, which is not valid UTF-8; rename it.",
                             utf8_is_valid(path) ? path : "(the given path)", strna(shown));
                return -EILSEQ;
        }

        k = path_find_lake_root_safe(canonical, uid, &root, &blocked);
        if (k == -EPERM && project_root_is_trusted(trusted_roots, blocked)) {
                /* the operator trusts that directory: walk as before */
                blocked = mfree(blocked);
                k = path_find_lake_root(canonical, &root);
        }
        if (k == -ENOMEM)
                return k;
        if (k == -EPERM) {
                project_trust_blocked_error(err, path, blocked);
                return k;
        }
        if (k < 0) {
                lh_error_set(err, "project_not_found", false,
                             "No Lake project (lakefile.lean or lakefile.toml) at or above %s.", path);
                return -ENOENT;
        }

        /* every call, not only the first: files change under a known root */
        k = project_trust_check(root, uid, trusted_roots, err);
        if (k < 0) {
                if (k != -EPERM && k != -ENOMEM)
                        lh_error_set(err, "project_not_found", false, "Project root %s cannot be checked: %s",
                                     root, strerror(-k));
                return k;
        }
        k = project_files_check(root, err);
        if (k < 0)
                return k;

        *ret_root = TAKE_PTR(root);
        return 0;
}

void project_unresponsive_error(LhError *err, const char *path, int k) {
        lh_error_set(err, "path_unresponsive", true,
                     "Looking up %s %s (a hung network or FUSE mount?); lean-host does not wait longer "
                     "so other calls go on. Retry once the file system answers.",
                     path, k == -EBUSY ? "was not tried: too many earlier look-ups are still stuck"
                                       : "did not finish in time");
}

int project_resolve_job_new(const char *path, char * const *trusted_roots, uid_t uid, ProjectResolveJob **ret) {
        ProjectResolveJob *j;

        assert(path);
        assert(ret);

        /* copies: a stuck thread may outlive the caller's strings and config */
        j = new0(ProjectResolveJob, 1);
        if (!j)
                return -ENOMEM;
        j->uid = uid;
        j->err.restart_cause = _RESTART_CAUSE_INVALID;
        j->path = strdup(path);
        j->trusted_roots = strv_copy(trusted_roots);
        if (!j->path || !j->trusted_roots) {
                project_resolve_job_free(j);
                return -ENOMEM;
        }
        *ret = j;
        return 0;
}

void project_resolve_job_free(void *userdata) {
        ProjectResolveJob *j = userdata;

        if (!j)
                return;
        free(j->path);
        strv_free(j->trusted_roots);
        free(j->root);
        lh_error_done(&j->err);
        free(j);
}

void project_resolve_job_run(void *userdata) {
        ProjectResolveJob *j = userdata;

        j->r = project_root_resolve(j->path, j->trusted_roots, j->uid, &j->root, &j->err);
}

int project_resolve_job_take(ProjectResolveJob *j, char **ret_root, LhError *err) {
        assert(j);
        assert(ret_root);

        if (j->r >= 0) {
                *ret_root = TAKE_PTR(j->root);
                return j->r;
        }
        if (err) {
                *err = j->err; /* takes the details */
                j->err.details = NULL;
        }
        return j->r;
}

int project_root_resolve_bounded(const char *path, char * const *trusted_roots, uid_t uid, usec_t timeout,
                                 char **ret_root, LhError *err) {
        ProjectResolveJob *j;
        int k;

        assert(path);
        assert(ret_root);

        k = project_resolve_job_new(path, trusted_roots, uid, &j);
        if (k < 0)
                return k;
        k = thread_run_bounded(project_resolve_job_run, project_resolve_job_free, j, timeout);
        if (k == -ETIMEDOUT || k == -EBUSY) {
                if (k == -EBUSY)
                        project_resolve_job_free(j);
                /* after -ETIMEDOUT j belongs to the thread */
                project_unresponsive_error(err, path, k);
                return k;
        }
        if (k < 0) {
                /* no thread: do it here rather than fail */
                project_resolve_job_run(j);
        }
        k = project_resolve_job_take(j, ret_root, err);
        project_resolve_job_free(j);
        return k;
}
