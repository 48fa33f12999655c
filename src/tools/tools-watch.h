/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The warm path's cache: a project path string that a thread resolved and
 * classified (usable) before, with the inotify watches that say when that
 * answer may no longer hold. See tools-preflight.c for the rule.
 *
 * Thread side: tools_watch_add_probes() adds the watches (inotify_add_watch
 * walks the path, so never on the loop) on a dup of the fd and records them
 * in a ToolsWatchSet. Loop side: tools_watch_put() caches the answer with
 * its set, tools_watch_get() finds it, any event on one of its watches
 * (IN_Q_OVERFLOW: on any) drops it. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "lean/readiness.h"

typedef struct ToolsWatch ToolsWatch;

/* One watched (directory, entry name) pair; name "" = the directory's own
 * events only (deleted, moved, unmounted, chmod). */
typedef struct ToolsWatchRef {
        int wd;
        char *name;
} ToolsWatchRef;

typedef struct ToolsWatchSet {
        ToolsWatchRef *refs;
        size_t n;
} ToolsWatchSet;

void tools_watch_set_done(ToolsWatchSet *s);

/* What else the answer was made under (compared on every hit: a config
 * reload that changes it is a miss). */
typedef struct ToolsWatchKey {
        char * const *trusted_roots;
        const char *elan_home;
        const char *repl_cache;
        bool custom_worker;
} ToolsWatchKey;

/* What a look-up's thread holds: a dup of the inotify fd (-EBADF: no warm
 * path), the watches it added, and the way back to the loop for them. The
 * thread may outlive the call and w (a cancelled or timed-out look-up, a
 * shutdown): tools_watch_handle_done(), on whichever thread frees the job,
 * hands what is left in set to the loop, which releases the watches no
 * cached answer uses (when w is gone: nothing to do, the fd goes). */
typedef struct ToolsWatchInbox ToolsWatchInbox;
typedef struct ToolsWatchHandle {
        int fd;
        ToolsWatchSet set;
        ToolsWatchInbox *inbox;
} ToolsWatchHandle;

/* Loop. 0, or negative errno (then h->fd is -EBADF: no warm path). */
int tools_watch_handle_init(ToolsWatch *w, ToolsWatchHandle *h);
/* Any thread. */
void tools_watch_handle_done(ToolsWatchHandle *h);

/* event NULL: no inotify fd (tests feed tools_watch_process()). */
int tools_watch_new(ToolsWatch **ret, sd_event *event);
ToolsWatch *tools_watch_free(ToolsWatch *w);

/* A dup of the inotify fd for a thread (it may outlive w); -EBADF: none. */
int tools_watch_fd_dup(ToolsWatch *w);
/* Events seen so far; a look-up notes it before its thread starts. */
uint64_t tools_watch_seq(ToolsWatch *w);

/* Thread: true when the answer (path resolved to root, classified rd) is of
 * a kind that can be cached: usable, path already canonical, lake and REPL
 * found under elan_home (resolved), root or the REPL cache (not PATH). */
bool tools_watch_answer_cacheable(const char *path, const char *root, const LeanReadiness *rd,
                                  const char *elan_home);
/* Thread: watch everything the resolution of path to root and the
 * classification rd read (elan_home resolved). 0, or negative errno when
 * something cannot be watched (a symlink on the way, the watch limit):
 * then do not cache. Either way set holds the watches added: the loop puts
 * or releases it. */
int tools_watch_add_probes(int fd, const char *path, const char *root, const LeanReadiness *rd,
                           const char *elan_home, ToolsWatchSet *set);

/* Loop: cache rd for path (takes *set) unless an event on one of its
 * watches came in since seq_start (then the answer may predate it). files
 * (optional, copied): what the look-up read, for a project opened again. */
int tools_watch_put(ToolsWatch *w, uint64_t seq_start, const char *path, const char *root,
                    const ToolsWatchKey *key, const LeanReadiness *rd, const LeanReadinessCache *files,
                    ToolsWatchSet *set);
/* Loop: a set that is not cached (see tools_watch_add_probes()): its
 * watches no cached answer uses are removed. Frees it. w NULL is fine. */
void tools_watch_release(ToolsWatch *w, ToolsWatchSet *set);
/* Loop, no syscall: the cached answer for path under key, or NULL. */
const LeanReadiness *tools_watch_get(ToolsWatch *w, const char *path, const ToolsWatchKey *key,
                                     const char **ret_root);
/* Loop: the files the cached answer for path read (put's files), or NULL. */
const LeanReadinessCache *tools_watch_get_files(ToolsWatch *w, const char *path);
/* Loop: a buffer of struct inotify_event as read from the fd. */
void tools_watch_process(ToolsWatch *w, const void *buf, size_t n);
size_t tools_watch_count(ToolsWatch *w);
