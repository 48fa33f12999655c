/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Memory samples of a worker: from its cgroup (v2 or v1 memory controller,
 * located through libcgroup) or, without one, from /proc over the worker's
 * process tree. The parse_* functions are pure (text in, numbers out) so they
 * can be tested on sample text; the rest does the I/O. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "worker/proc-tree.h"
#include "worker/worker.h"

/* I/O. A memory cgroup directory for pid: the memory controller's mount point
 * (libcgroup) joined with the process's path in it. *ret_v2 says which files
 * to read. -ENOENT/-ENOMEDIUM when there is no memory controller. */
int memory_cgroup_locate(pid_t pid, char **ret_dir, bool *ret_v2);
int memory_sample_cgroup(const char *dir, bool v2, WorkerMemory *ret);
/* The cgroup's peak charge in KiB (v2 memory.peak, v1 memory.max_usage_in_bytes):
 * what an OOM kill at MemoryMax reached, when the last sample is older. */
int memory_cgroup_peak_kib(const char *dir, bool v2, uint64_t *ret);

/* The sum over root and its descendants collected already (proc_tree_collect()),
 * from /proc/PID/statm. */
int memory_sample_proc_entries(pid_t root, const ProcTreeEntry *tree, size_t n, WorkerMemory *ret);

/* Is there a memory controller at all (v2 with "memory" in the root's
 * cgroup.controllers, or a mounted v1 memory hierarchy)? On false, *ret_reason
 * (static) says why. */
bool memory_controller_available(const char **ret_reason);

/* for tests: the pure parsers (text in, numbers out) the samplers
 * above use inside memory.c, and the /proc tree sample they are checked
 * against: the unit tests run them on sample text and on themselves. */
/* "key value" lines (memory.stat, memory.events, memory.oom_control): the
 * value of key, or -ENOENT. */
int memory_parse_keyed(const char *text, const char *key, uint64_t *ret);
/* "Field:   1234 kB" lines of /proc/PID/status: the value in KiB, or -ENOENT. */
int memory_parse_status_kib(const char *text, const char *field, uint64_t *ret);
/* /proc/PID/stat: the ppid (fourth field, after the parenthesised comm which
 * may itself contain spaces and parentheses). */
int memory_parse_stat_ppid(const char *text, pid_t *ret);
/* /proc/PID/cgroup: the path for a v1 controller ("memory"), a named
 * hierarchy ("name=systemd") or, with controller NULL, the v2 "0::" line. */
int memory_parse_proc_cgroup(const char *text, const char *controller, char **ret);
/* Whole samples from the files' contents (bytes → KiB). */
int memory_parse_cgroup_v2(const char *current, const char *stat, const char *events, WorkerMemory *ret);
/* The v2 kernel facts into *m (each part only when its text is given and
 * parses; the rest stays absent): memory.events high/max/oom_kill,
 * memory.swap.current, memory.pressure some/full avg10. */
void memory_parse_cgroup_v2_kernel(const char *events, const char *swap_current, const char *pressure,
                                   WorkerMemory *m);
/* "some avg10=1.25 avg60=… total=…" lines of a PSI file: avg10 of kind
 * ("some" or "full"), locale-independent. */
int memory_parse_pressure_avg10(const char *text, const char *kind, double *ret);
int memory_parse_cgroup_v1(const char *usage, const char *stat, const char *oom_control, WorkerMemory *ret);
/* Adds one process's VmRSS/RssAnon/RssFile+RssShmem to *acc. */
int memory_parse_proc_status_add(const char *status, WorkerMemory *acc);
/* The same numbers from /proc/PID/statm (pages of page_kib KiB): resident,
 * resident - shared (= RssAnon), shared (= RssFile + RssShmem). What the
 * samplers read; the status parser above is what test-memory checks it by. */
int memory_parse_statm_add(const char *statm, uint64_t page_kib, WorkerMemory *acc);
/* Sum over root and all its descendants (found through /proc/PID/task/TID/children). */
int memory_sample_proc_tree(pid_t root, WorkerMemory *ret);
