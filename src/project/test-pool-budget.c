/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pool's memory budget from a fake cgroup tree (pool-budget.c): the
 * lowest memory.max at or above the workers' cgroup, capped by MemTotal. */

#include <stdio.h>
#include <sys/stat.h>

#include "basic/path-util.h"
#include "basic/tests.h"
#include "project/pool-budget.h"

#define GIB_KIB (UINT64_C(1024) * 1024)

static char root[] = "/tmp/lh-test-pool-budget-XXXXXX";

/* the walk from where the workers would be without one to ask */
static int walk(const char *mount, const char *self, const char *slice, bool v2, uint64_t memtotal, PoolBudget *ret) {
        _cleanup_free_ char *start = pool_budget_start(self, slice, 0);

        ASSERT_TRUE(start);
        return pool_budget_walk(mount, start, v2, memtotal, ret);
}

static void put(const char *dir, const char *file, const char *text) {
        _cleanup_free_ char *d = NULL, *f = NULL, *cmd = NULL;

        d = path_join(root, dir);
        ASSERT_TRUE(asprintf(&cmd, "mkdir -p '%s'", d) > 0);
        ASSERT_EQ(system(cmd), 0);
        if (!file)
                return;
        f = path_join(d, file);
        test_write_file(f, text);
}

#define USER "/user.slice/user-1000.slice/user@1000.service"
#define SELF USER "/app.slice/lean-hostd.service"

int main(void) {
        PoolBudget b;

        ASSERT_TRUE(mkdtemp(root));
        put("user.slice", "memory.max", "max\n");
        put("user.slice/user-1000.slice", "memory.max", "max\n");
        put(USER, "memory.max", "8589934592\n");           /* 8 GiB */
        put(SELF, "memory.max", "1073741824\n");           /* 1 GiB: the daemon's own, not the workers' */

        /* scope mode before the slice exists: its ancestors, read again later */
        ASSERT_OK(walk(root, SELF, "leanhost.slice", true, 32 * GIB_KIB, &b));
        ASSERT_EQ(b.kib, 8 * GIB_KIB);
        ASSERT_STREQ(b.source, "memory.max of " USER);
        ASSERT_FALSE(b.complete);

        /* the slice with MemoryMax=4G */
        put(USER "/leanhost.slice", "memory.max", "4294967296\n");
        ASSERT_OK(walk(root, SELF, "leanhost.slice", true, 32 * GIB_KIB, &b));
        ASSERT_EQ(b.kib, 4 * GIB_KIB);
        ASSERT_STREQ(b.source, "memory.max of " USER "/leanhost.slice");
        ASSERT_TRUE(b.complete);

        /* without a limit of its own: the user manager's */
        put(USER "/leanhost.slice", "memory.max", "max\n");
        ASSERT_OK(walk(root, SELF, "leanhost.slice", true, 32 * GIB_KIB, &b));
        ASSERT_EQ(b.kib, 8 * GIB_KIB);

        /* MemTotal lower than every limit */
        ASSERT_OK(walk(root, SELF, "leanhost.slice", true, 2 * GIB_KIB, &b));
        ASSERT_EQ(b.kib, 2 * GIB_KIB);
        ASSERT_STREQ(b.source, "MemTotal");

        /* process mode: the workers are in the daemon's own cgroup */
        ASSERT_OK(walk(root, SELF, NULL, true, 32 * GIB_KIB, &b));
        ASSERT_EQ(b.kib, 1 * GIB_KIB);
        ASSERT_STREQ(b.source, "memory.max of " SELF);

        /* a system manager's daemon: the slice under the root */
        put("leanhost.slice", "memory.max", "3221225472\n");
        ASSERT_OK(walk(root, "/system.slice/lean-hostd.service", "leanhost.slice", true, 32 * GIB_KIB, &b));
        ASSERT_EQ(b.kib, 3 * GIB_KIB);
        ASSERT_STREQ(b.source, "memory.max of /leanhost.slice");

        /* a login session's daemon (not under its user manager): uid's user manager */
        {
                _cleanup_free_ char *s = pool_budget_start("/user.slice/user-1000.slice/session-2.scope", "lean-host.slice", 1000);
                ASSERT_STREQ(s, USER "/lean.slice/lean-host.slice");
        }
        /* systemd nests a slice by its dashes */
        {
                _cleanup_free_ char *s = pool_budget_start(SELF, "a-b-c.slice", 0), *t = pool_budget_start(SELF, "x.slice", 0);
                ASSERT_STREQ(s, USER "/a.slice/a-b.slice/a-b-c.slice");
                ASSERT_STREQ(t, USER "/x.slice");
        }

        /* cgroup v1: memory.limit_in_bytes, "unlimited" is a huge number */
        put("v1" USER, "memory.limit_in_bytes", "9223372036854771712\n");
        put("v1" USER "/leanhost.slice", "memory.limit_in_bytes", "6442450944\n");
        {
                _cleanup_free_ char *m = path_join(root, "v1");
                ASSERT_OK(walk(m, SELF, "leanhost.slice", false, 32 * GIB_KIB, &b));
        }
        ASSERT_EQ(b.kib, 6 * GIB_KIB);
        ASSERT_STREQ(b.source, "memory.limit_in_bytes of " USER "/leanhost.slice");

        /* the live tree of this machine: some budget, never above MemTotal */
        b = (PoolBudget) {};
        pool_budget_refresh(&b, 32 * GIB_KIB, NULL, 0, 1);
        ASSERT_TRUE(b.kib > 0 && b.kib <= 32 * GIB_KIB);
        printf("this process's budget: %" PRIu64 " KiB (%s)\n", b.kib, b.source);

        test_remove_tree(root);
        return 0;
}
