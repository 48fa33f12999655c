/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /proc/PID/stat parsing and the children walk, on a tree forked here. */

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/tests.h"
#include "worker/proc-tree.h"

static void test_stat_parse(void) {
        ProcStat st;

        /* a comm with spaces and parentheses */
        ASSERT_OK(proc_stat_parse("4242 (a) b (c)) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
                                  "987654 1000 10", &st));
        ASSERT_EQ(st.state, 'S');
        ASSERT_EQ(st.ppid, 17);
        ASSERT_EQ(st.pgid, 4242);
        ASSERT_EQ(st.starttime, 987654u);
        ASSERT_ERROR(proc_stat_parse("4242 (nope", &st), EINVAL);
        ASSERT_ERROR(proc_stat_parse("4242 (x) S 1 2", &st), EINVAL);
}

static bool has(const ProcTreeEntry *t, size_t n, pid_t pid) {
        for (size_t i = 0; i < n; i++)
                if (t[i].pid == pid)
                        return true;
        return false;
}

static void test_collect(void) {
        _cleanup_free_ ProcTreeEntry *t = NULL;
        pid_t child, grandchild;
        int p[2];
        size_t n = 0;

        /* child → grandchild (setsid'ed: still found, the walk follows parents, not groups) */
        ASSERT_OK(pipe(p));
        child = fork();
        ASSERT_TRUE(child >= 0);
        if (child == 0) {
                pid_t g = fork();

                if (g == 0) {
                        (void) setsid();
                        pause();
                        _exit(0);
                }
                (void) !write(p[1], &g, sizeof g);
                pause();
                _exit(0);
        }
        ASSERT_EQ(read(p[0], &grandchild, sizeof grandchild), (ssize_t) sizeof grandchild);
        close(p[0]);
        close(p[1]);
        usleep(50 * 1000); /* the grandchild's setsid */

        ASSERT_OK(proc_tree_collect(getpid(), &t, &n));
        ASSERT_TRUE(has(t, n, child));
        ASSERT_TRUE(has(t, n, grandchild));
        ASSERT_FALSE(has(t, n, getpid()));
        for (size_t i = 0; i < n; i++)
                ASSERT_TRUE(proc_tree_entry_current(t + i, NULL));

        /* the same pid with another start time is another process */
        ProcTreeEntry other = { .pid = child, .starttime = t[0].starttime + 12345 };
        ASSERT_FALSE(proc_tree_entry_current(&other, NULL));

        ASSERT_OK(kill(grandchild, SIGKILL));
        ASSERT_OK(kill(child, SIGKILL));
        ASSERT_EQ(waitpid(child, NULL, 0), child);
        ASSERT_ERROR(proc_tree_collect(child, &t, &n), ESRCH);
}

/* The sampler's "no process was created" signal: /proc/loadavg's last pid. */
static void test_last_pid(void) {
        uint64_t a, b;
        char buf[8];
        pid_t child;

        ASSERT_OK(proc_parse_loadavg_last_pid("0.52 0.58 0.59 2/612 12345\n", &a));
        ASSERT_EQ(a, 12345u);
        ASSERT_ERROR(proc_parse_loadavg_last_pid("0.52 0.58 0.59 2/612\n", &a), EINVAL);
        ASSERT_ERROR(proc_parse_loadavg_last_pid("0.52 0.58 0.59 2/612 x\n", &a), EINVAL);
        ASSERT_ERROR(proc_parse_loadavg_last_pid("0.52 0.58 0.59 2/612 12a\n", &a), EINVAL);

        ASSERT_OK(proc_last_pid(&a));
        child = fork();
        ASSERT_TRUE(child >= 0);
        if (child == 0)
                _exit(0);
        ASSERT_OK(proc_last_pid(&b));
        ASSERT_EQ(waitpid(child, NULL, 0), child);
        /* our fork moved it (others' forks may have moved it further) */
        ASSERT_TRUE(b != a);
        ASSERT_TRUE(b >= (uint64_t) child || b < a); /* or it wrapped */

        /* a file that does not fit is an error, never half a file */
        ASSERT_ERROR(proc_read_small("/proc/self/status", buf, sizeof buf), EFBIG);
        ASSERT_ERROR(proc_read_small("/proc/0/statm", buf, sizeof buf), ENOENT);
}

int main(void) {
        test_stat_parse();
        test_collect();
        test_last_pid();
        printf("proc-tree tests passed\n");
        return 0;
}
