/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Transient scopes on the user manager (org.freedesktop.systemd1 over the
 * user bus): StartTransientUnit, wait for JobRemoved, StopUnit, and the
 * clean-up of lean-worker-*.scope units left by a daemon that died. All
 * asynchronous: nothing here blocks the event loop on D-Bus. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"

typedef struct ScopePlacer ScopePlacer;

/* Done callback of a placement: r < 0 when the scope could not be created
 * (the worker then runs in process mode, or fails if scope mode is required).
 * cgroup_path is the scope's cgroup relative to the hierarchy root, or NULL. */
typedef void (*ScopePlacedFunc)(ScopePlacer *p, int r, const char *unit, const char *cgroup_path, void *userdata);

/* Connects to the user manager (sd_bus_open_user). Never fails for lack of a
 * manager: the placer is then unavailable and says why. */
int scope_placer_new(ScopePlacer **ret, sd_event *event, const char *slice);
ScopePlacer *scope_placer_free(ScopePlacer *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(ScopePlacer *, scope_placer_free);

bool scope_placer_is_available(const ScopePlacer *p);

/* The unit name of a worker: lean-worker-<id>-<owner pid>-<owner start
 * time>-<generation>.scope. Unique across daemons (also one that crashed
 * while its scopes still stop), and it names its owner. */
int scope_placer_unit_name(const ScopePlacer *p, const char *project_id, uint64_t generation, char **ret);

/* Create unit (scope_placer_unit_name()) in the slice holding pid, with
 * MemoryMax (KiB → bytes) and MemorySwapMax=0 when memory_max_kib > 0,
 * MemoryHigh only when memory_high_kib > 0 (the worker passes 0: see
 * README), Description, CollectMode=inactive-or-failed;
 * done() once the job is removed (r = 0 for job result "done"), always from
 * the event loop. Returns an opaque slot, valid until done() has been called
 * (the placer frees it right after); before that, freeing the placer or
 * calling scope_placement_cancel() drops the callback. ret may be NULL. */
typedef struct ScopePlacement ScopePlacement;
int scope_placer_start(ScopePlacer *p, ScopePlacement **ret, const char *unit, pid_t pid,
                       const char *description, uint64_t memory_high_kib, uint64_t memory_max_kib,
                       ScopePlacedFunc done, void *userdata);
void scope_placement_cancel(ScopePlacement *pl);

/* Fire-and-forget StopUnit (mode "replace"). */
int scope_placer_stop_unit(ScopePlacer *p, const char *unit);

/* At start: stop every loaded lean-worker-*.scope whose owning daemon is
 * gone (a crashed one); those of another running lean-hostd of the same
 * user are left alone. */
int scope_placer_stop_stale(ScopePlacer *p);

/* for tests: why the placer is not available (the tests print it; the
 * daemon asks scope_placer_is_available()), and the owner of a
 * scope_placer_unit_name() name, which reaping stale scopes reads. */
const char *scope_placer_unavailable_reason(const ScopePlacer *p); /* NULL when available */
/* The owning daemon of such a name; -EINVAL for other names. */
int scope_unit_parse_owner(const char *unit, pid_t *ret_pid, uint64_t *ret_starttime);
