/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A process and its descendants, found through /proc/PID/task/TID/children
 * (never by scanning all of /proc). A pid is only trusted together with its
 * start time: the pair names one process for the whole boot. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_TREE_MAX 4096 /* descendants followed at most: a fork bomb is the scope's job */

typedef struct ProcTreeEntry {
        pid_t pid;
        uint64_t starttime; /* /proc/PID/stat field 22, clock ticks since boot */
} ProcTreeEntry;

typedef struct ProcStat {
        char state;
        pid_t ppid, pgid;
        uint64_t starttime;
} ProcStat;

int proc_stat_read(pid_t pid, ProcStat *ret);

/* A small procfs file into buf (NUL-terminated) with open+read+close, no
 * allocation; -EFBIG when it does not fit. */
int proc_read_small(const char *path, char *buf, size_t size);

/* The pid most recently handed out in our pid namespace (/proc/loadavg's
 * last field). Every fork and thread creation in this namespace or below it
 * advances it, so while it stays the same no process has been created. */
int proc_last_pid(uint64_t *ret);

/* The children of every thread of pid, appended to *pids (n/allocated updated). */
int proc_children_append(pid_t pid, pid_t **pids, size_t *n, size_t *allocated);

/* The descendants of root, root excluded, breadth first (at most PROC_TREE_MAX).
 * -ESRCH if root is gone. */
int proc_tree_collect(pid_t root, ProcTreeEntry **ret, size_t *ret_n);

/* Is e still the process it was (alive or a zombie)? Fills *ret_stat (optional). */
bool proc_tree_entry_current(const ProcTreeEntry *e, ProcStat *ret_stat);

/* for tests: the parser proc-tree.c reads /proc/PID/stat with, on text. */
/* Parse the text of /proc/PID/stat (the comm field may hold spaces and ')'). */
int proc_stat_parse(const char *text, ProcStat *ret);
/* The fifth field of /proc/loadavg. */
int proc_parse_loadavg_last_pid(const char *text, uint64_t *ret);
