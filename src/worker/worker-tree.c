/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "basic/time-util.h"
#include "worker/worker-tree.h"

#define MARKER_PREFIX "LEAN_HOST_WORKER="
#define REAP_USEC (20 * USEC_PER_MSEC) /* between reaping passes */
#define REAP_TRIES 250                 /* ~5 s, then they are given up on (logged) */

int worker_tree_init(WorkerTree *t, sd_event *event, const char *project_id, uint64_t generation) {
        *t = (WorkerTree) { .event = event };
        if (asprintf(&t->marker, MARKER_PREFIX "%s/%" PRIu64 "/%i/%" PRIu64, project_id, generation, (int) getpid(),
                     (uint64_t) now_usec(CLOCK_MONOTONIC)) < 0) {
                t->marker = NULL;
                return -ENOMEM;
        }
        if (asprintf(&t->name, "%s/%" PRIu64, project_id, generation) < 0) {
                t->name = NULL;
                return -ENOMEM;
        }
        return 0;
}

void worker_tree_done(WorkerTree *t) {
        t->reap_timer = sd_event_source_disable_unref(t->reap_timer);
        t->procs = mfree(t->procs);
        t->n_procs = 0;
        t->marker = mfree(t->marker);
        t->name = mfree(t->name);
}

int worker_tree_prepare_exec(const WorkerTree *t, char ***ret_envp) {
        size_t n = strv_length(environ), k = 0;
        char **envp;

        envp = new0(char *, n + 2);
        if (!envp)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!strneq(environ[i], MARKER_PREFIX, strlen(MARKER_PREFIX)))
                        envp[k++] = environ[i];
        envp[k] = t->marker;
        /* Orphans of the worker become ours, not init's. A process
         * attribute, idempotent. */
        (void) prctl(PR_SET_CHILD_SUBREAPER, 1);
        *ret_envp = envp;
        return 0;
}

static bool tree_has(const WorkerTree *t, const ProcTreeEntry *e) {
        for (size_t i = 0; i < t->n_procs; i++)
                if (t->procs[i].pid == e->pid && t->procs[i].starttime == e->starttime)
                        return true;
        return false;
}

static void tree_add(WorkerTree *t, const ProcTreeEntry *e) {
        ProcTreeEntry *a;

        if (e->pid == t->leader || tree_has(t, e) || t->n_procs >= PROC_TREE_MAX)
                return;
        a = realloc(t->procs, (t->n_procs + 1) * sizeof(ProcTreeEntry));
        if (!a)
                return (void) log_oom();
        t->procs = a;
        t->procs[t->n_procs++] = *e;
}

static bool proc_environ_has(pid_t pid, const char *entry) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        char path[64];

        snprintf(path, sizeof path, "/proc/%i/environ", (int) pid);
        if (read_virtual_file(path, 1024 * 1024, &text, &size) < 0)
                return false;
        for (size_t off = 0; off < size; off += strlen(text + off) + 1)
                if (streq(text + off, entry))
                        return true;
        return false;
}

/* The daemon's own children from this worker: in its process group (the
 * group's id cannot be reused while any member lives) or with its marker. */
static void tree_adopt_orphans(WorkerTree *t) {
        _cleanup_free_ pid_t *kids = NULL;
        size_t n = 0, allocated = 0;

        if (t->leader <= 0 || proc_children_append(getpid(), &kids, &n, &allocated) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                ProcStat st;

                if (kids[i] == t->leader || proc_stat_read(kids[i], &st) < 0)
                        continue;
                if (st.pgid == t->leader || (t->marker && proc_environ_has(kids[i], t->marker)))
                        tree_add(t, &(ProcTreeEntry) { .pid = kids[i], .starttime = st.starttime });
        }
}

void worker_tree_track(WorkerTree *t) {
        _cleanup_free_ ProcTreeEntry *found = NULL;
        size_t n = 0;

        if (t->leader <= 0 || t->leader_reaped || proc_tree_collect(t->leader, &found, &n) < 0)
                return tree_adopt_orphans(t);
        worker_tree_track_found(t, found, n);
}

void worker_tree_track_found(WorkerTree *t, const ProcTreeEntry *found, size_t n) {
        tree_adopt_orphans(t);
        for (size_t i = 0; i < n; i++)
                tree_add(t, found + i);
}

void worker_tree_signal(WorkerTree *t, int sig) {
        if (t->leader > 0 && !t->leader_reaped) {
                worker_tree_track(t);
                (void) kill(-t->leader, sig);
                (void) kill(t->leader, sig);
        }
        for (size_t i = 0; i < t->n_procs; i++)
                if (proc_tree_entry_current(t->procs + i, NULL))
                        (void) kill(t->procs[i].pid, sig);
}

/* One non-blocking pass: kill and reap what is ours. Returns how many remain. */
static size_t tree_reap(WorkerTree *t) {
        pid_t self = getpid();
        size_t k = 0;

        tree_adopt_orphans(t);
        for (size_t i = 0; i < t->n_procs; i++) {
                ProcTreeEntry *e = t->procs + i;
                ProcStat st;

                if (!proc_tree_entry_current(e, &st))
                        continue; /* gone (reaped by someone) or the pid is another process now */
                (void) kill(e->pid, SIGKILL);
                if (st.ppid == self && waitpid(e->pid, NULL, WNOHANG) == e->pid)
                        continue;
                t->procs[k++] = *e; /* alive, or a zombie of a parent still dying */
        }
        t->n_procs = k;
        return k;
}

static int on_reap_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        WorkerTree *t = userdata;

        (void) usec;
        if (tree_reap(t) == 0) {
                t->reap_timer = sd_event_source_disable_unref(t->reap_timer);
                return 0;
        }
        if (++t->reap_tries >= REAP_TRIES) {
                log_warning("Worker %s: %zu descendant process%s would not go away; giving up on %s.", t->name,
                            t->n_procs, t->n_procs == 1 ? "" : "es", t->n_procs == 1 ? "it" : "them");
                t->n_procs = 0;
                t->reap_timer = sd_event_source_disable_unref(t->reap_timer);
                return 0;
        }
        (void) sd_event_source_set_time_relative(s, REAP_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

void worker_tree_leader_ended(WorkerTree *t) {
        /* the leader is a zombie or reaped: its group id is still pinned by
         * any member left, so the group kill reaches only those */
        if (t->leader > 0)
                (void) kill(-t->leader, SIGKILL);
        t->leader_reaped = true;
        worker_tree_signal(t, SIGKILL);
        if (tree_reap(t) == 0 || t->reap_timer || !t->event)
                return;
        if (sd_event_add_time_relative(t->event, &t->reap_timer, CLOCK_MONOTONIC, REAP_USEC, 0, on_reap_timer, t) < 0)
                log_warning("Worker %s: cannot reap its descendants.", t->name);
}

void worker_tree_reap_now(WorkerTree *t) {
        /* SIGKILLed processes exit within milliseconds: only something
         * unkillable (D state) makes this take the whole 200 ms */
        t->reap_timer = sd_event_source_disable_unref(t->reap_timer);
        for (unsigned i = 0; i < 100 && tree_reap(t) > 0; i++)
                (void) usleep(2 * USEC_PER_MSEC);
        t->n_procs = 0;
}

bool worker_tree_is_empty(const WorkerTree *t) {
        return t->n_procs == 0 && !t->reap_timer;
}
