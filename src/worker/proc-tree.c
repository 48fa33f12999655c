/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "worker/proc-tree.h"

#define PROC_FILE_MAX (1024 * 1024)

int proc_stat_parse(const char *text, ProcStat *ret) {
        unsigned long long start;
        long ppid, pgid;
        const char *p;
        char state;

        if (!text || !ret)
                return -EINVAL;
        p = strrchr(text, ')');
        if (!p)
                return -EINVAL;
        /* fields 3..22: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
         * utime stime cutime cstime priority nice num_threads itrealvalue starttime */
        if (sscanf(p + 1, " %c %ld %ld %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                   &state, &ppid, &pgid, &start) != 4 || ppid < 0 || pgid < 0)
                return -EINVAL;
        *ret = (ProcStat) { .state = state, .ppid = (pid_t) ppid, .pgid = (pid_t) pgid, .starttime = start };
        return 0;
}

int proc_read_small(const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = -EBADF;
        ssize_t k;

        assert(path);
        assert(buf);
        assert(size > 1);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        /* a seq_file hands out all it has in one read when the buffer holds it */
        do
                k = read(fd, buf, size - 1);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return negative_errno();
        if ((size_t) k >= size - 1)
                return -EFBIG; /* perhaps cut: never parse half a file */
        buf[k] = 0;
        return 0;
}

int proc_stat_read(pid_t pid, ProcStat *ret) {
        char path[64], text[1024]; /* comm is at most 64 bytes, the rest numbers */
        int r;

        snprintf(path, sizeof path, "/proc/%i/stat", (int) pid);
        r = proc_read_small(path, text, sizeof text);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        return proc_stat_parse(text, ret);
}

int proc_parse_loadavg_last_pid(const char *text, uint64_t *ret) {
        uint64_t last = 0;
        const char *p = text;

        if (!text || !ret)
                return -EINVAL;
        /* "0.52 0.58 0.59 2/612 12345": the fifth field (no sscanf() per job) */
        for (unsigned i = 0; i < 4; i++) {
                p = strchr(p, ' ');
                if (!p)
                        return -EINVAL;
                p++;
        }
        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (last > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                last = last * 10 + (uint64_t) (*p - '0');
        }
        if (*p != '\n' && *p != '\0')
                return -EINVAL;
        *ret = last;
        return 0;
}

int proc_last_pid(uint64_t *ret) {
        char text[128];
        int r;

        r = proc_read_small("/proc/loadavg", text, sizeof text);
        if (r < 0)
                return r;
        return proc_parse_loadavg_last_pid(text, ret);
}

static int pids_push(pid_t **pids, size_t *n, size_t *allocated, pid_t pid) {
        if (*n >= *allocated) {
                size_t a = *allocated ? *allocated * 2 : 16;
                pid_t *np = realloc(*pids, a * sizeof(pid_t));

                if (!np)
                        return -ENOMEM;
                *pids = np;
                *allocated = a;
        }
        (*pids)[(*n)++] = pid;
        return 0;
}

int proc_children_append(pid_t pid, pid_t **pids, size_t *n, size_t *allocated) {
        char path[64];
        struct dirent *de;
        DIR *d;
        int r = 0;

        snprintf(path, sizeof path, "/proc/%i/task", (int) pid);
        d = opendir(path);
        if (!d)
                return errno == ENOENT ? -ESRCH : -errno;
        while (r >= 0 && (de = readdir(d))) {
                _cleanup_free_ char *text = NULL;
                char file[64 + sizeof de->d_name], *p, *end;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(file, sizeof file, "/proc/%i/task/%s/children", (int) pid, de->d_name);
                if (read_virtual_file(file, PROC_FILE_MAX, &text, NULL) < 0)
                        continue; /* the thread ended meanwhile */
                for (p = text; r >= 0 && *p; p = end) {
                        long c = strtol(p, &end, 10);

                        if (end == p)
                                break;
                        if (c > 0)
                                r = pids_push(pids, n, allocated, (pid_t) c);
                }
        }
        closedir(d);
        return r;
}

int proc_tree_collect(pid_t root, ProcTreeEntry **ret, size_t *ret_n) {
        _cleanup_free_ pid_t *pids = NULL;
        _cleanup_free_ ProcTreeEntry *out = NULL;
        size_t n = 0, allocated = 0, n_out = 0, out_allocated = 0;
        int r;

        if (root <= 0 || !ret || !ret_n)
                return -EINVAL;
        r = proc_children_append(root, &pids, &n, &allocated);
        if (r < 0)
                return r;
        /* pids grows while walked: breadth first, bounded */
        for (size_t i = 0; i < n && i < PROC_TREE_MAX; i++) {
                ProcStat st;

                if (proc_stat_read(pids[i], &st) < 0)
                        continue; /* gone meanwhile */
                if (n_out >= out_allocated) {
                        size_t a = out_allocated ? out_allocated * 2 : 16;
                        ProcTreeEntry *o = realloc(out, a * sizeof(ProcTreeEntry));

                        if (!o)
                                return -ENOMEM;
                        out = o;
                        out_allocated = a;
                }
                out[n_out++] = (ProcTreeEntry) { .pid = pids[i], .starttime = st.starttime };
                r = proc_children_append(pids[i], &pids, &n, &allocated);
                if (r == -ENOMEM)
                        return r;
        }
        *ret = TAKE_PTR(out);
        *ret_n = n_out;
        return 0;
}

bool proc_tree_entry_current(const ProcTreeEntry *e, ProcStat *ret_stat) {
        ProcStat st;

        if (!e || e->pid <= 0 || proc_stat_read(e->pid, &st) < 0 || st.starttime != e->starttime)
                return false;
        if (ret_stat)
                *ret_stat = st;
        return true;
}
