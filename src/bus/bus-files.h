/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Project object's facts that come from the project's files (Readiness,
 * Toolchain), looked up on a thread and waited for a bounded time: a
 * GetManagedObjects must not freeze the daemon because one project sits on
 * a hung mount. Unchanged files are not re-read (the readiness cache). */

#include "basic/macro.h"
#include "config/config.h"
#include "project/project.h"

/* How long one getter waits; after a time-out the project's files are not
 * tried again for BUS_FILES_RETRY_USEC (its getters answer at once). */
#define BUS_FILES_TIMEOUT_USEC (500 * USEC_PER_MSEC)
#define BUS_FILES_RETRY_USEC (30 * USEC_PER_SEC)

typedef struct BusProjectFiles {
        const char *readiness;  /* state name; static */
        char *toolchain;        /* first line of lean-toolchain, "" when none */
} BusProjectFiles;

void bus_project_files_done(BusProjectFiles *f);

/* 0, or -ETIMEDOUT/-EBUSY (the files did not answer in time: readiness
 * "unknown", toolchain ""), or -ENOMEM. *ret is always filled. */
int bus_project_files_get(LhProject *p, const LhConfig *c, BusProjectFiles *ret);
