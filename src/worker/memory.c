/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <libcgroup.h>
#include <linux/magic.h>
#include <stdio.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "worker/memory.h"
#include "worker/proc-tree.h"

#define MEMORY_FILE_MAX ((size_t) 1024 * 1024)

/* ---- pure parsing ---------------------------------------------------- */

/* Finds "key" at the start of a line followed by whitespace; returns the
 * position after it or NULL. */
static const char *find_line_key(const char *text, const char *key, size_t extra_len_ok) {
        size_t l = strlen(key);

        for (const char *p = text; p && *p; ) {
                if (strneq(p, key, l) && (p[l] == ' ' || p[l] == '\t' || (extra_len_ok && p[l] == ':')))
                        return p + l;
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        return NULL;
}

static int parse_u64(const char *p, uint64_t *ret) {
        unsigned long long v;
        char *end;

        while (*p == ' ' || *p == '\t')
                p++;
        if (!isdigit((unsigned char) *p))
                return -EINVAL;
        errno = 0;
        v = strtoull(p, &end, 10);
        if (errno != 0)
                return -errno;
        if (*end != '\0' && !isspace((unsigned char) *end))
                return -EINVAL;
        *ret = (uint64_t) v;
        return 0;
}

int memory_parse_keyed(const char *text, const char *key, uint64_t *ret) {
        const char *p;

        if (!text || !key)
                return -EINVAL;
        p = find_line_key(text, key, false);
        if (!p)
                return -ENOENT;
        return parse_u64(p, ret);
}

int memory_parse_status_kib(const char *text, const char *field, uint64_t *ret) {
        const char *p;
        uint64_t v;
        char *end;
        int r;

        if (!text || !field)
                return -EINVAL;
        p = find_line_key(text, field, true);
        if (!p)
                return -ENOENT;
        if (*p != ':')
                return -EINVAL;
        p++;
        r = parse_u64(p, &v);
        if (r < 0)
                return r;
        /* unit: the kernel always says kB */
        while (*p == ' ' || *p == '\t')
                p++;
        (void) strtoull(p, &end, 10);
        while (*end == ' ' || *end == '\t')
                end++;
        if (!strneq(end, "kB", 2))
                return -EINVAL;
        *ret = v;
        return 0;
}

int memory_parse_stat_ppid(const char *text, pid_t *ret) {
        const char *p;
        long ppid;
        char state;

        if (!text)
                return -EINVAL;
        p = strrchr(text, ')');
        if (!p)
                return -EINVAL;
        if (sscanf(p + 1, " %c %ld", &state, &ppid) != 2 || ppid < 0)
                return -EINVAL;
        *ret = (pid_t) ppid;
        return 0;
}

int memory_parse_proc_cgroup(const char *text, const char *controller, char **ret) {
        if (!text)
                return -EINVAL;

        for (const char *line = text; line && *line; ) {
                const char *eol = strchrnul(line, '\n'), *c1, *c2;

                /* "ID:controller,list:/path" */
                c1 = memchr(line, ':', eol - line);
                c2 = c1 ? memchr(c1 + 1, ':', eol - c1 - 1) : NULL;
                if (c2) {
                        bool match = false;

                        if (!controller)
                                match = c2 == c1 + 1 && c1 - line == 1 && line[0] == '0';
                        else {
                                size_t l = strlen(controller);
                                for (const char *w = c1 + 1; w < c2; ) {
                                        const char *we = memchr(w, ',', c2 - w) ?: c2;
                                        if ((size_t) (we - w) == l && strneq(w, controller, l))
                                                match = true;
                                        w = we + 1;
                                }
                        }
                        if (match) {
                                char *s = strndup(c2 + 1, eol - c2 - 1);
                                if (!s)
                                        return -ENOMEM;
                                *ret = s;
                                return 0;
                        }
                }
                line = *eol ? eol + 1 : NULL;
        }
        return -ENOENT;
}

int memory_parse_cgroup_v2(const char *current, const char *stat, const char *events, WorkerMemory *ret) {
        WorkerMemory m = { .source = "cgroup-v2" };
        uint64_t v;
        int r;

        r = parse_u64(current ?: "", &v);
        if (r < 0)
                return r;
        m.rss_kib = v / 1024;
        r = memory_parse_keyed(stat, "anon", &v);
        if (r < 0)
                return r;
        m.anon_kib = v / 1024;
        if (memory_parse_keyed(stat, "file", &v) >= 0)
                m.file_kib = v / 1024;
        if (events && memory_parse_keyed(events, "oom_kill", &v) >= 0)
                m.oom_kills = v;
        m.valid = true;
        *ret = m;
        return 0;
}

int memory_parse_pressure_avg10(const char *text, const char *kind, double *ret) {
        const char *p;
        uint64_t ip = 0, frac = 0, scale = 1;

        if (!text || !kind)
                return -EINVAL;
        p = find_line_key(text, kind, false);
        if (!p)
                return -ENOENT;
        while (*p == ' ' || *p == '\t')
                p++;
        if (!strneq(p, "avg10=", 6))
                return -EINVAL;
        p += 6;
        if (!isdigit((unsigned char) *p))
                return -EINVAL;
        /* the kernel prints "%lu.%02lu": no strtod, whose decimal point is the locale's */
        for (; isdigit((unsigned char) *p) && ip < UINT64_MAX / 10; p++)
                ip = ip * 10 + (uint64_t) (*p - '0');
        if (*p == '.')
                for (p++; isdigit((unsigned char) *p) && scale < 1000000; p++) {
                        frac = frac * 10 + (uint64_t) (*p - '0');
                        scale *= 10;
                }
        if (*p != ' ' && *p != '\n' && *p != '\0')
                return -EINVAL;
        *ret = (double) ip + (double) frac / (double) scale;
        return 0;
}

void memory_parse_cgroup_v2_kernel(const char *events, const char *swap_current, const char *pressure,
                                   WorkerMemory *m) {
        uint64_t high, max, oom, swap;

        assert(m);
        if (events && memory_parse_keyed(events, "high", &high) >= 0 &&
            memory_parse_keyed(events, "max", &max) >= 0 && memory_parse_keyed(events, "oom_kill", &oom) >= 0) {
                m->events_valid = true;
                m->events_high = high;
                m->events_max = max;
                m->events_oom_kill = oom;
        }
        if (swap_current && parse_u64(swap_current, &swap) >= 0) {
                m->swap_valid = true;
                m->swap_kib = swap / 1024;
        }
        if (pressure && memory_parse_pressure_avg10(pressure, "some", &m->pressure_some_avg10) >= 0) {
                m->pressure_valid = true;
                if (memory_parse_pressure_avg10(pressure, "full", &m->pressure_full_avg10) < 0)
                        m->pressure_full_avg10 = 0;
        }
}

int memory_parse_cgroup_v1(const char *usage, const char *stat, const char *oom_control, WorkerMemory *ret) {
        WorkerMemory m = { .source = "cgroup-v1" };
        uint64_t v;
        int r;

        r = parse_u64(usage ?: "", &v);
        if (r < 0)
                return r;
        m.rss_kib = v / 1024;
        /* total_* include descendants (hierarchical accounting), which a scope
         * has none of, but they are the ones that are right in general */
        r = memory_parse_keyed(stat, "total_rss", &v);
        if (r < 0)
                return r;
        /* Not + total_rss_huge: the v1 documentation says rss already
         * "includes transparent hugepages", rss_huge is a subset of it. */
        m.anon_kib = v / 1024;
        if (memory_parse_keyed(stat, "total_cache", &v) >= 0)
                m.file_kib = v / 1024;
        if (oom_control && memory_parse_keyed(oom_control, "oom_kill", &v) >= 0)
                m.oom_kills = v;
        m.valid = true;
        *ret = m;
        return 0;
}

int memory_parse_proc_status_add(const char *status, WorkerMemory *acc) {
        uint64_t rss, anon, file = 0, shmem = 0;
        int r;

        r = memory_parse_status_kib(status, "VmRSS", &rss);
        if (r < 0)
                return r; /* kernel threads and zombies have no VmRSS */
        r = memory_parse_status_kib(status, "RssAnon", &anon);
        if (r < 0)
                return r;
        (void) memory_parse_status_kib(status, "RssFile", &file);
        (void) memory_parse_status_kib(status, "RssShmem", &shmem);

        acc->rss_kib += rss;
        acc->anon_kib += anon;
        acc->file_kib += file + shmem;
        return 0;
}

/* ---- I/O ------------------------------------------------------------- */

/* cgroup and procfs files are regular files: basic/fileio.c's bounded reader. */
static int read_small_file(const char *path, char **ret) {
        return read_virtual_file(path, MEMORY_FILE_MAX, ret, NULL);
}

static int read_in_dir(const char *dir, const char *file, char **ret) {
        _cleanup_free_ char *p = NULL;

        if (asprintf(&p, "%s/%s", dir, file) < 0)
                return -ENOMEM;
        return read_small_file(p, ret);
}

/* libcgroup keeps process-wide tables; initialising them is idempotent. */
static int memory_cgroup_init(void) {
        static int cached = 1;
        int r;

        if (cached <= 0)
                return cached;
        r = cgroup_init();
        cached = r == 0 ? 0 : -ENOMEDIUM;
        return cached;
}

static int is_cgroup2(const char *path) {
        struct statfs sfs;

        if (statfs(path, &sfs) < 0)
                return negative_errno();
        return sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/* The v2 mount whose root offers the memory controller, via /proc/self/mounts. */
static int find_v2_memory_mount(char **ret) {
        _cleanup_free_ char *mounts = NULL;
        int r;

        r = read_small_file("/proc/self/mounts", &mounts);
        if (r < 0)
                return r;
        for (char *line = mounts, *next; line && *line; line = next) {
                char dev[256], mnt[4096], type[64];

                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                if (sscanf(line, "%255s %4095s %63s", dev, mnt, type) != 3 || !streq(type, "cgroup2"))
                        continue;
                {
                        _cleanup_free_ char *ctrl = NULL;
                        if (read_in_dir(mnt, "cgroup.controllers", &ctrl) < 0)
                                continue;
                        for (char *w = strtok(ctrl, " \n"); w; w = strtok(NULL, " \n"))
                                if (streq(w, "memory")) {
                                        *ret = strdup(mnt);
                                        return *ret ? 0 : -ENOMEM;
                                }
                }
        }
        return -ENOENT;
}

static int memory_mount_point(char **ret_mount, bool *ret_v2) {
        char *mnt = NULL;
        int r;

        /* libcgroup first; it knows v1 and, depending on its version, v2 */
        if (memory_cgroup_init() == 0 && cgroup_get_subsys_mount_point("memory", &mnt) == 0 && mnt) {
                r = is_cgroup2(mnt);
                if (r >= 0) {
                        *ret_mount = mnt;
                        *ret_v2 = r > 0;
                        return 0;
                }
                free(mnt);
        }
        r = find_v2_memory_mount(&mnt);
        if (r < 0)
                return r == -ENOENT ? -ENOMEDIUM : r;
        *ret_mount = mnt;
        *ret_v2 = true;
        return 0;
}

int memory_cgroup_locate(pid_t pid, char **ret_dir, bool *ret_v2) {
        _cleanup_free_ char *mnt = NULL, *path = NULL, *text = NULL, *proc = NULL;
        bool v2;
        int r;

        r = memory_mount_point(&mnt, &v2);
        if (r < 0)
                return r;

        if (!v2 && memory_cgroup_init() == 0) {
                char *p = NULL;
                if (cgroup_get_current_controller_path(pid, "memory", &p) == 0 && p)
                        path = p;
        }
        if (!path) {
                if (asprintf(&proc, "/proc/%i/cgroup", (int) pid) < 0)
                        return -ENOMEM;
                r = read_small_file(proc, &text);
                if (r < 0)
                        return r;
                r = memory_parse_proc_cgroup(text, v2 ? NULL : "memory", &path);
                if (r < 0)
                        return r;
        }
        if (asprintf(ret_dir, "%s%s%s", mnt, path[0] == '/' ? "" : "/", streq(path, "/") ? "" : path) < 0)
                return -ENOMEM;
        *ret_v2 = v2;
        return 0;
}

int memory_sample_cgroup(const char *dir, bool v2, WorkerMemory *ret) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
        int r;

        r = read_in_dir(dir, v2 ? "memory.current" : "memory.usage_in_bytes", &a);
        if (r < 0)
                return r;
        r = read_in_dir(dir, "memory.stat", &b);
        if (r < 0)
                return r;
        (void) read_in_dir(dir, v2 ? "memory.events" : "memory.oom_control", &c);
        if (!v2)
                return memory_parse_cgroup_v1(a, b, c, ret);
        r = memory_parse_cgroup_v2(a, b, c, ret);
        if (r < 0)
                return r;
        /* without swap accounting (swapaccount=0) memory.swap.current is missing:
         * swap is then absent, not zero */
        (void) read_in_dir(dir, "memory.swap.current", &d);
        (void) read_in_dir(dir, "memory.pressure", &e);
        memory_parse_cgroup_v2_kernel(c, d, e, ret);
        return 0;
}

int memory_cgroup_peak_kib(const char *dir, bool v2, uint64_t *ret) {
        _cleanup_free_ char *text = NULL;
        unsigned long long v;
        char *end;
        int r;

        r = read_in_dir(dir, v2 ? "memory.peak" : "memory.max_usage_in_bytes", &text);
        if (r < 0)
                return r;
        errno = 0;
        v = strtoull(text, &end, 10);
        if (errno != 0 || end == text)
                return -EINVAL;
        *ret = (uint64_t) v / 1024;
        return 0;
}

/* The worker's tree from /proc/PID/task/TID/children: a few small reads per
 * process in it, never a scan of every process on the machine. */
int memory_sample_proc_tree(pid_t root, WorkerMemory *ret) {
        _cleanup_free_ ProcTreeEntry *tree = NULL;
        size_t n = 0;
        int r;

        r = proc_tree_collect(root, &tree, &n);
        if (r < 0)
                return r;
        return memory_sample_proc_entries(root, tree, n, ret);
}

int memory_parse_statm_add(const char *statm, uint64_t page_kib, WorkerMemory *acc) {
        uint64_t v[3];
        const char *p;

        if (!statm || !acc || page_kib == 0)
                return -EINVAL;
        /* "size resident shared text lib data dt", in pages; no sscanf() on
         * the per-job path (its cost is in the warm call's) */
        p = statm;
        for (size_t i = 0; i < 3; i++) {
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                for (v[i] = 0; isdigit((unsigned char) *p); p++) {
                        if (v[i] > (UINT64_MAX - 9) / 10)
                                return -ERANGE;
                        v[i] = v[i] * 10 + (uint64_t) (*p - '0');
                }
                if (*p != ' ')
                        return -EINVAL;
                p++;
        }
        uint64_t resident = v[1], shared = v[2];
        if (shared > resident)
                return -EINVAL;
        /* fs/proc/task_mmu.c task_statm(): shared = MM_FILEPAGES +
         * MM_SHMEMPAGES, resident = shared + MM_ANONPAGES (since Linux 4.5;
         * man 5 proc: "shared ... same as RssFile+RssShmem"), the very
         * counters task_mem() prints as RssFile, RssShmem and RssAnon in
         * /proc/PID/status: resident - shared is RssAnon. A zombie reads all
         * zeros, as its status has no VmRSS: it adds nothing either way. */
        acc->rss_kib += resident * page_kib;
        acc->anon_kib += (resident - shared) * page_kib;
        acc->file_kib += shared * page_kib;
        return 0;
}

/* One statm per process (one line of seven numbers, cheaper for the kernel
 * to print than status' forty lines), read into the stack. */
int memory_sample_proc_entries(pid_t root, const ProcTreeEntry *tree, size_t n, WorkerMemory *ret) {
        WorkerMemory m = { .source = "proc" };
        uint64_t page_kib = (uint64_t) sysconf(_SC_PAGESIZE) / 1024;

        for (size_t i = 0; i <= n; i++) {
                pid_t pid = i == 0 ? root : tree[i - 1].pid;
                char path[64], text[256];

                snprintf(path, sizeof path, "/proc/%i/statm", (int) pid);
                if (proc_read_small(path, text, sizeof text) < 0) {
                        if (i == 0)
                                return -ESRCH;
                        continue;
                }
                (void) memory_parse_statm_add(text, page_kib, &m);
        }
        m.valid = true;
        *ret = m;
        return 0;
}

bool memory_controller_available(const char **ret_reason) {
        _cleanup_free_ char *mnt = NULL;
        bool v2;
        int r;

        r = memory_mount_point(&mnt, &v2);
        if (r < 0) {
                if (ret_reason)
                        *ret_reason = "no memory cgroup controller (neither a v1 memory hierarchy nor memory in a cgroup2 cgroup.controllers)";
                return false;
        }
        if (ret_reason)
                *ret_reason = NULL;
        return true;
}
