/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The memory a project's pool may fill with hard tiers when
 * project.pool_memory_kib is "auto": MemTotal, or less when the cgroup the
 * workers live in (worker.slice under the user manager in scope mode, the
 * daemon's own cgroup in process mode) or one of its ancestors has a lower
 * memory.max (MemoryMax=). Owns PoolBudget. Must not know: projects, lanes,
 * jobs. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "basic/time-util.h"

typedef struct PoolBudget {
        uint64_t kib;        /* 0 = never read */
        char source[320];    /* "MemTotal", or "memory.max of /user.slice/…/lean-host.slice" */
        bool complete;       /* the workers' cgroup existed when read (a slice appears with its first scope) */
        usec_t read_at;
        char mount[256];     /* the memory hierarchy's mount point, found once ("" = none) */
        char self_path[512]; /* the daemon's cgroup in it */
        bool v2;
        bool located;        /* tried to find the two above */
        uint64_t version;    /* bumped when kib or source change (snapshots recompute) */
} PoolBudget;

/* The workers' cgroup without a worker to ask: slice under the user
 * manager self_path runs in (<…>/user@UID.service/slice), else under uid's
 * user manager (uid ≠ 0: a login session), else under the root (a system
 * manager); self_path itself when slice is NULL (process mode: the workers
 * are the daemon's children). */
char *pool_budget_start(const char *self_path, const char *slice, uid_t uid);

/* From a cgroup tree under mount: the lowest limit at start or above it,
 * capped by memtotal_kib; ret->complete when start exists. */
int pool_budget_walk(const char *mount, const char *start, bool v2, uint64_t memtotal_kib, PoolBudget *ret);

/* Read again when older than a second or read before the workers' cgroup
 * existed: cgroupfs and /proc reads, no disk. slice: scope mode's (NULL in
 * process mode); worker: a ready scope-mode worker's pid (its scope's parent
 * is the slice, wherever the daemon runs), 0 = none. */
void pool_budget_refresh(PoolBudget *b, uint64_t memtotal_kib, const char *slice, pid_t worker, usec_t now);
