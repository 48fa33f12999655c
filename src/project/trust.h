/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Before a project root is used: is it safe to run its code, and are the
 * files read on every call safe to read? Both only stat()/open(O_NONBLOCK):
 * nothing here blocks on a FIFO or reads a device. */

#include <stdbool.h>
#include <sys/types.h>

#include "project/error.h"

/* True if root is at or below one of the trusted_roots entries ("*" = any). */
bool project_root_is_trusted(char * const *trusted_roots, const char *root);

/* The files whose owner decides trust (NULL-terminated): the warm path
 * (tools-watch.c) watches them too. */
extern const char *const project_trust_files[];

/* 0 when the root directory and each of project_trust_files[] that exists
 * (the link and, for a symlink, its target) belong to uid or root, or when
 * root is trusted by configuration. Otherwise -EPERM with err filled:
 * project_not_trusted, naming the path, its owner and the opt-in. */
int project_trust_check(const char *root, uid_t uid, char * const *trusted_roots, LhError *err);

/* The walk up from a path stopped at a directory others can write to. */
void project_trust_blocked_error(LhError *err, const char *path, const char *blocked);

/* lean-toolchain and lake-manifest.json are read on every call: 0 when each
 * is missing or a readable regular file of at most 1 MiB; else the errno
 * with err filled: project_file_unreadable, naming the file and why. */
int project_files_check(const char *root, LhError *err);
