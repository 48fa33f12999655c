/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pool's memory budget read from the cgroup tree (pool-budget.h).
 * Owns PoolBudget. Must not know: projects, lanes, jobs. */

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UID_FMT "%u"

#include "basic/fileio.h"
#include "basic/macro.h"
#include "project/pool-budget.h"
#include "worker/memory.h"

/* v1's "no limit" is a huge page-aligned number: anything over this is none */
#define UNLIMITED_KIB (UINT64_C(1) << 50)

/* The limit of one cgroup in KiB, 0 = none (or unreadable). */
static uint64_t cgroup_limit_kib(const char *mount, const char *path, bool v2, bool *ret_exists) {
        _cleanup_free_ char *f = NULL, *text = NULL;
        unsigned long long v;

        if (asprintf(&f, "%s%s/%s", mount, streq(path, "/") ? "" : path,
                     v2 ? "memory.max" : "memory.limit_in_bytes") < 0)
                return 0;
        if (read_virtual_file(f, 4096, &text, NULL) < 0)
                return 0;
        if (ret_exists)
                *ret_exists = true;
        if (strneq(text, "max", 3) || sscanf(text, "%llu", &v) != 1 || v / 1024 >= UNLIMITED_KIB)
                return 0;
        return v / 1024;
}

/* systemd nests a slice by the dashes of its name: a-b.slice is
 * a.slice/a-b.slice. */
static char *slice_path(const char *slice) {
        size_t n = strlen(slice), stem = n > 6 && streq(slice + n - 6, ".slice") ? n - 6 : n;
        char *s = malloc(2 * n * (1 + stem) + 1), *w = s;

        if (!s)
                return NULL;
        for (size_t i = 0; i < stem; i++)
                if (slice[i] == '-' && i > 0)
                        w += sprintf(w, "%.*s.slice/", (int) i, slice);
        strcpy(w, slice);
        return s;
}

char *pool_budget_start(const char *self_path, const char *slice_name, uid_t uid) {
        _cleanup_free_ char *slice = NULL;
        const char *c, *end = NULL;
        char *s;

        if (!slice_name)
                return strdup(self_path);
        slice = slice_path(slice_name);
        if (!slice)
                return NULL;
        for (c = self_path; (c = strstr(c, "/user@")); c++) {
                const char *e = strchrnul(c + 1, '/');

                if (e - c > (ptrdiff_t) strlen("/user@.service") && strneq(e - strlen(".service"), ".service", strlen(".service")))
                        end = e;
        }
        if (end) {
                if (asprintf(&s, "%.*s/%s", (int) (end - self_path), self_path, slice) < 0)
                        return NULL;
        } else if (uid != 0) {
                /* a login session's process: the user manager is where systemd puts it */
                if (asprintf(&s, "/user.slice/user-" UID_FMT ".slice/user@" UID_FMT ".service/%s", uid, uid, slice) < 0)
                        return NULL;
        } else if (asprintf(&s, "/%s", slice) < 0)
                return NULL;
        return s;
}

int pool_budget_walk(const char *mount, const char *start, bool v2, uint64_t memtotal_kib, PoolBudget *ret) {
        _cleanup_free_ char *path = NULL;
        bool first = true;

        assert(mount);
        assert(start);
        assert(ret);

        path = strdup(start);
        if (!path)
                return -ENOMEM;
        ret->kib = memtotal_kib;
        snprintf(ret->source, sizeof ret->source, "MemTotal");
        ret->complete = false;
        for (;;) {
                bool exists = false;
                uint64_t kib = cgroup_limit_kib(mount, path, v2, &exists);
                char *slash;

                if (first)
                        ret->complete = exists || streq(path, "/");
                first = false;
                if (kib > 0 && (ret->kib == 0 || kib < ret->kib)) {
                        ret->kib = kib;
                        snprintf(ret->source, sizeof ret->source, "%s of %s", v2 ? "memory.max" : "memory.limit_in_bytes",
                                 path);
                }
                slash = strrchr(path, '/');
                if (!slash || slash == path)
                        break; /* the root has no limit of its own */
                *slash = '\0';
        }
        return 0;
}

static void pool_budget_locate(PoolBudget *b) {
        _cleanup_free_ char *dir = NULL, *text = NULL, *path = NULL;
        size_t n, m;

        b->located = true;
        if (memory_cgroup_locate(getpid(), &dir, &b->v2) < 0 ||
            read_virtual_file("/proc/self/cgroup", 64 * 1024, &text, NULL) < 0 ||
            memory_parse_proc_cgroup(text, b->v2 ? NULL : "memory", &path) < 0)
                return;
        /* dir is the mount point joined with path */
        n = strlen(dir);
        m = streq(path, "/") ? 0 : strlen(path);
        if (m > n || !streq(dir + n - m, streq(path, "/") ? "" : path))
                return;
        if (n - m >= sizeof b->mount || strlen(path) >= sizeof b->self_path)
                return;
        memcpy(b->mount, dir, n - m);
        b->mount[n - m] = '\0';
        strcpy(b->self_path, path);
}

/* The slice a scope-mode worker runs in: its scope's parent (it is in its
 * scope once ready). NULL when it cannot be read. */
static char *pool_budget_worker_slice(const PoolBudget *b, pid_t pid) {
        _cleanup_free_ char *dir = NULL;
        size_t n = strlen(b->mount);
        char *slash;
        bool v2;

        if (memory_cgroup_locate(pid, &dir, &v2) < 0 || v2 != b->v2 || !strneq(dir, b->mount, n) || dir[n] != '/')
                return NULL;
        slash = strrchr(dir, '/');
        if (slash == dir + n)
                return strdup("/");
        *slash = '\0';
        return strdup(dir + n);
}

static void pool_budget_set(PoolBudget *b, uint64_t kib, const char *source, bool complete) {
        if (kib != b->kib || !streq(source, b->source))
                b->version++;
        b->kib = kib;
        b->complete = complete;
        if (source != b->source)
                snprintf(b->source, sizeof b->source, "%s", source);
}

void pool_budget_refresh(PoolBudget *b, uint64_t memtotal_kib, const char *slice, pid_t worker, usec_t now) {
        _cleanup_free_ char *start = NULL;
        PoolBudget fresh = {};

        assert(b);

        if (b->kib > 0 && b->complete && now - b->read_at < USEC_PER_SEC)
                return;
        if (!b->located)
                pool_budget_locate(b);
        b->read_at = now;
        if (!isempty(b->mount) && !isempty(b->self_path))
                start = slice && worker > 0 ? pool_budget_worker_slice(b, worker) : NULL;
        if (!start && !isempty(b->self_path))
                start = pool_budget_start(b->self_path, slice, getuid());
        if (isempty(b->mount) || !start || pool_budget_walk(b->mount, start, b->v2, memtotal_kib, &fresh) < 0) {
                pool_budget_set(b, memtotal_kib, "MemTotal", true);
                return;
        }
        /* with a ready worker asked, what was read is all there is to read */
        pool_budget_set(b, fresh.kib, fresh.source, fresh.complete || (slice && worker > 0));
}
