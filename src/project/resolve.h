/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* From a path a client gave to the project root to use: canonicalised, valid
 * UTF-8, found upward without entering directories others can plant in,
 * trusted (trust.h), with readable project files. Everything here touches
 * the file system; the bounded variant does it on a thread so a hung mount
 * stalls the caller (the event loop) for at most the timeout. */

#include <sys/types.h>

#include "basic/macro.h"
#include "project/error.h"

/* How long a resolution (and, for a tool call, the readiness check after it,
 * both off the loop) may take before the call is answered path_unresponsive
 * (a hung NFS/FUSE mount). */
#define PROJECT_RESOLVE_TIMEOUT_USEC (2 * USEC_PER_SEC)

/* 0 with *ret_root (malloc'd), or negative errno with err filled (when the
 * failure is the client's: project_not_found, invalid_arguments,
 * project_not_trusted, project_file_unreadable); -ENOMEM leaves err alone. */
int project_root_resolve(const char *path, char * const *trusted_roots, uid_t uid, char **ret_root, LhError *err);

/* The same on a thread, waited for up to timeout: -ETIMEDOUT (or -EBUSY when
 * too many earlier ones are still stuck) with err filled: path_unresponsive,
 * retryable. */
int project_root_resolve_bounded(const char *path, char * const *trusted_roots, uid_t uid, usec_t timeout,
                                 char **ret_root, LhError *err);

/* One resolution as a job for a thread (thread-util.h), owned by the caller
 * or by the thread once the caller gave up; it keeps its own copies. */
typedef struct ProjectResolveJob {
        char *path;
        char **trusted_roots;
        uid_t uid;
        int r;
        char *root;
        LhError err;
} ProjectResolveJob;

int project_resolve_job_new(const char *path, char * const *trusted_roots, uid_t uid, ProjectResolveJob **ret);
void project_resolve_job_free(void *userdata);
void project_resolve_job_run(void *userdata);
/* The job's outcome, as project_root_resolve() gives it: *ret_root and err
 * are taken from the job. */
int project_resolve_job_take(ProjectResolveJob *j, char **ret_root, LhError *err);

/* err := path_unresponsive (retryable) for path; k: -ETIMEDOUT or -EBUSY (too many stuck). */
void project_unresponsive_error(LhError *err, const char *path, int k);
