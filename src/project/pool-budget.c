/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pool's memory budget read from the cgroup tree (pool-budget.h).
 * Owns PoolBudget. Must not know: projects, lanes, jobs. */

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The workers' cgroup: slice under the user manager the daemon runs in (or
 * under the root for a system manager), the daemon's own without a slice. */
static char *pool_budget_start(const char *self_path, const char *slice) {
        const char *c, *end = NULL;
        char *s;

        if (!slice)
                return strdup(self_path);
        for (c = self_path; (c = strstr(c, "/user@")); c++) {
                const char *e = strchrnul(c + 1, '/');

                if (e - c > (ptrdiff_t) strlen("/user@.service") && strneq(e - strlen(".service"), ".service", strlen(".service")))
                        end = e;
        }
        if (asprintf(&s, "%.*s/%s", end ? (int) (end - self_path) : 0, self_path, slice) < 0)
                return NULL;
        return s;
}

int pool_budget_walk(const char *mount, const char *self_path, const char *slice, bool v2, uint64_t memtotal_kib,
                     PoolBudget *ret) {
        _cleanup_free_ char *path = NULL;
        bool first = true;

        assert(mount);
        assert(self_path);
        assert(ret);

        path = pool_budget_start(self_path, slice);
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

void pool_budget_refresh(PoolBudget *b, uint64_t memtotal_kib, const char *slice, usec_t now) {
        PoolBudget fresh = {};

        assert(b);

        if (b->kib > 0 && b->complete && now - b->read_at < USEC_PER_SEC)
                return;
        if (!b->located)
                pool_budget_locate(b);
        b->read_at = now;
        if (isempty(b->mount) || isempty(b->self_path) || pool_budget_walk(b->mount, b->self_path, slice, b->v2, memtotal_kib, &fresh) < 0) {
                b->kib = memtotal_kib;
                snprintf(b->source, sizeof b->source, "MemTotal");
                b->complete = true;
                return;
        }
        b->kib = fresh.kib;
        b->complete = fresh.complete;
        memcpy(b->source, fresh.source, sizeof b->source);
}
