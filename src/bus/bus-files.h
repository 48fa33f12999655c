/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Project object's facts that come from the project's files (Readiness,
 * Toolchain). sd-bus getters answer at once, so they answer from what the
 * last look-up found and start a new one on a thread (at most one per
 * project at a time, at most one per BUS_FILES_REFRESH_USEC): the event loop
 * never waits for the files, a project on a hung mount cannot freeze
 * GetManagedObjects. Unchanged files are not re-read (the readiness cache). */

#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "config/config.h"
#include "project/project.h"

/* A look-up not done after BUS_FILES_TIMEOUT_USEC is given up on (readiness
 * "unknown", toolchain "") and the project's files are not tried again for
 * BUS_FILES_RETRY_USEC. */
#define BUS_FILES_TIMEOUT_USEC (500 * USEC_PER_MSEC)
#define BUS_FILES_RETRY_USEC (30 * USEC_PER_SEC)
#define BUS_FILES_REFRESH_USEC (1 * USEC_PER_SEC)

typedef struct BusProjectFiles {
        const char *readiness;  /* state name; static */
        char *toolchain;        /* first line of lean-toolchain, "" when none */
} BusProjectFiles;

void bus_project_files_done(BusProjectFiles *f);

/* What is known now: 0; -EAGAIN when nothing is known yet (readiness
 * "unknown", toolchain ""; a look-up is under way); -ETIMEDOUT when the
 * files did not answer the last look-up in time (the same); -ENOMEM. *ret
 * is always filled. A look-up's end is delivered on event (never NULL).
 * Never waits. */
int bus_project_files_get(sd_event *event, LhProject *p, const LhConfig *c, BusProjectFiles *ret);
