/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A worker's descendants, so that none outlives it (process mode has no
 * cgroup to hold them together). The worker leads its own process group and
 * carries a LEAN_HOST_WORKER= marker in its environment, which descendants
 * inherit even through setsid; the daemon is a child subreaper, so a
 * descendant whose parent exits becomes the daemon's child. Descendants are
 * remembered as (pid, start time) from /proc/PID/task/TID/children while the
 * worker lives, plus the daemon's own children in the worker's group or with
 * its marker; at the end they are SIGKILLed and reaped, from a timer. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "worker/proc-tree.h"

typedef struct WorkerTree {
        sd_event *event;       /* not owned */
        pid_t leader;          /* the worker: its pid is its process group id */
        bool leader_reaped;
        char *marker;          /* "LEAN_HOST_WORKER=<id>/<generation>/<daemon pid>/<usec>" */
        char *name;            /* "<id>/<generation>", for logs */
        ProcTreeEntry *procs;
        size_t n_procs;
        sd_event_source *reap_timer;
        unsigned reap_tries;
} WorkerTree;

int worker_tree_init(WorkerTree *t, sd_event *event, const char *project_id, uint64_t generation);
void worker_tree_done(WorkerTree *t);

/* The environment for the worker's exec: ours, with the marker (borrowed
 * strings; free only the array). Also makes the daemon a subreaper. */
int worker_tree_prepare_exec(const WorkerTree *t, char ***ret_envp);

/* Remember the descendants as they are now. */
void worker_tree_track(WorkerTree *t);
/* The same with the leader's descendants collected already (proc_tree_collect()). */
void worker_tree_track_found(WorkerTree *t, const ProcTreeEntry *found, size_t n);
/* Signal the group and every remembered descendant still the same process. */
void worker_tree_signal(WorkerTree *t, int sig);
/* The leader was reaped (or is about to be): kill what it left, reap it from the loop. */
void worker_tree_leader_ended(WorkerTree *t);
/* At free: kill and reap what is left, waiting a bounded while. */
void worker_tree_reap_now(WorkerTree *t);
/* Nothing left to reap. */
bool worker_tree_is_empty(const WorkerTree *t);
