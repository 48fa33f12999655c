/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The warm path's cache (tools-watch.c): an answer is dropped by a change
 * to what it read and by nothing else; IN_Q_OVERFLOW drops every answer; an
 * answer whose watches saw an event while it was being made is not cached;
 * a symlink on the way is not watched (so not cached); the configuration it
 * was made under is part of the key. */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/tests.h"
#include "basic/thread-util.h"
#include "tools/tools-watch.h"

#define WATCH_TEST_MANY 140

/* dir + name, in one of a few static buffers */
static const char *pj(const char *dir, const char *name) {
        static char buf[4][PATH_MAX];
        static unsigned i;

        i = (i + 1) % 4;
        snprintf(buf[i], sizeof buf[i], "%s%s", dir, name);
        return buf[i];
}

static void drain(ToolsWatch *w, int fd) {
        union {
                struct inotify_event ev;
                char raw[4096];
        } buf;
        ssize_t n;

        while ((n = read(fd, &buf, sizeof buf)) > 0)
                tools_watch_process(w, &buf, n);
}

static void fake_event(ToolsWatch *w, int wd, uint32_t mask) {
        struct inotify_event ev = { .wd = wd, .mask = mask };

        tools_watch_process(w, &ev, sizeof ev);
}

static void classify(const char *root, LeanReadiness *rd) {
        LeanReadinessInput in = { .root = root, .custom_worker = true };

        ASSERT_OK(lean_readiness_classify(&in, rd));
        ASSERT_TRUE(lean_readiness_state_is_usable(rd->state));
}

static void watch_put(ToolsWatch *w, int fd, const char *path, const LeanReadiness *rd, const ToolsWatchKey *key,
                      int expect) {
        ToolsWatchSet set = {};
        uint64_t seq = tools_watch_seq(w);

        ASSERT_OK(tools_watch_add_probes(fd, path, path, rd, NULL, &set));
        ASSERT_TRUE(set.n > 0);
        ASSERT_EQ(tools_watch_put(w, seq, path, path, key, rd, NULL, &set), expect);
        ASSERT_EQ(set.n, 0u); /* taken or freed */
}

/* The watches an inotify instance holds (the kernel's count, not ours). */
static unsigned watches_held(int fd) {
        char p[64], line[512];
        unsigned n = 0;
        FILE *f;

        snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
        f = fopen(p, "re");
        ASSERT_TRUE(f != NULL);
        while (fgets(line, sizeof line, f))
                n += strncmp(line, "inotify wd:", 11) == 0;
        fclose(f);
        return n;
}

/* Watches no cached answer uses are removed: dropped, replaced, evicted and
 * refused answers give theirs back (the kernel counts them against the
 * user's fs.inotify.max_user_watches for as long as the daemon runs); the
 * least recently used answer is the one evicted. */
static void test_release(const char *tmp, const LeanReadiness *rd, const ToolsWatchKey *key) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        char *dirs[WATCH_TEST_MANY];
        ToolsWatchSet set = {};
        ToolsWatch *w;
        unsigned one, per = 0;
        uint64_t seq;
        int fd;

        ASSERT_OK(sd_event_new(&event));
        ASSERT_OK(tools_watch_new(&w, event));
        fd = tools_watch_fd_dup(w);
        ASSERT_TRUE(fd >= 0);
        for (unsigned i = 0; i < WATCH_TEST_MANY; i++) {
                dirs[i] = strdup_printf("%s/many%u", tmp, i);
                ASSERT_TRUE(dirs[i] != NULL);
                ASSERT_OK(mkdir(dirs[i], 0755));
                test_write_file(pj(dirs[i], "/lakefile.lean"), "package m\n");
        }

        /* one answer, then dropped by a change: nothing held */
        watch_put(w, fd, dirs[0], rd, key, 1);
        one = watches_held(fd);
        ASSERT_TRUE(one > 0);
        test_write_file(pj(dirs[0], "/lean-toolchain"), "leanprover/lean4:v4.33.0-rc2\n");
        drain(w, fd);
        ASSERT_EQ(tools_watch_count(w), 0u);
        ASSERT_EQ(watches_held(fd), 0u);

        /* the same path again: as many as once */
        watch_put(w, fd, dirs[0], rd, key, 1);
        watch_put(w, fd, dirs[0], rd, key, 1);
        ASSERT_EQ(watches_held(fd), one);
        /* a refused answer (an event on its watches meanwhile) keeps what the cached one uses */
        seq = tools_watch_seq(w);
        ASSERT_OK(tools_watch_add_probes(fd, dirs[1], dirs[1], rd, NULL, &set));
        ASSERT_TRUE(watches_held(fd) > one);
        fake_event(w, set.refs[set.n - 1].wd, IN_ATTRIB);
        ASSERT_EQ(tools_watch_put(w, seq, dirs[1], dirs[1], key, rd, NULL, &set), 0);
        ASSERT_EQ(watches_held(fd), one);
        ASSERT_TRUE(tools_watch_get(w, dirs[0], key, NULL) != NULL);
        /* a set that is not put (a symlink on the way, not cacheable) */
        ASSERT_OK(tools_watch_add_probes(fd, dirs[2], dirs[2], rd, NULL, &set));
        tools_watch_release(w, &set);
        ASSERT_EQ(set.n, 0u);
        ASSERT_EQ(watches_held(fd), one);

        /* many distinct paths: the cache and the watches stay bounded, and the
         * path used all along stays cached */
        for (unsigned i = 1; i < WATCH_TEST_MANY; i++) {
                watch_put(w, fd, dirs[i], rd, key, 1);
                if (i == 1)
                        per = watches_held(fd) - one; /* a project's own */
                ASSERT_TRUE(tools_watch_get(w, dirs[0], key, NULL) != NULL);
        }
        ASSERT_TRUE(per > 0);
        ASSERT_EQ(tools_watch_count(w), 128u);
        ASSERT_EQ(watches_held(fd), one + 127u * per);
        ASSERT_TRUE(tools_watch_get(w, dirs[0], key, NULL) != NULL);
        ASSERT_TRUE(tools_watch_get(w, dirs[1], key, NULL) == NULL); /* the oldest went */
        /* every one changed: nothing held */
        for (unsigned i = 0; i < WATCH_TEST_MANY; i++)
                test_write_file(pj(dirs[i], "/lakefile.lean"), "package n\n");
        drain(w, fd);
        ASSERT_EQ(tools_watch_count(w), 0u);
        ASSERT_EQ(watches_held(fd), 0u);

        tools_watch_free(w);
        close(fd);
        for (unsigned i = 0; i < WATCH_TEST_MANY; i++)
                free(dirs[i]);
}

/* A look-up's thread as tools-preflight.c runs it: it adds its watches, then
 * hangs (a dead mount) until the gate opens; its job is freed wherever the
 * last reference goes. */
typedef struct OrphanJob {
        ToolsWatchHandle h;
        const char *dir;
        const LeanReadiness *rd;
        int gate;
} OrphanJob;

static void orphan_run(void *arg) {
        OrphanJob *j = arg;
        char c;

        ASSERT_OK(tools_watch_add_probes(j->h.fd, j->dir, j->dir, j->rd, NULL, &j->h.set));
        ASSERT_EQ(read(j->gate, &c, 1), 1);
}

static void orphan_free(void *arg) {
        OrphanJob *j = arg;

        tools_watch_handle_done(&j->h);
        free(j);
}

static void orphan_done(void *arg, void *userdata, int r) {
        *(int *) userdata = r;
}

static OrphanJob *orphan_start(sd_event *event, ToolsWatch *w, const char *dir, const LeanReadiness *rd, int gate,
                               usec_t timeout, int *ret_r, ThreadAsync **ret) {
        OrphanJob *j = new0(OrphanJob, 1);

        ASSERT_TRUE(j != NULL);
        ASSERT_OK(tools_watch_handle_init(w, &j->h));
        j->dir = dir;
        j->rd = rd;
        j->gate = gate;
        ASSERT_OK(thread_run_async(event, orphan_run, orphan_free, j, timeout, orphan_done, ret_r, ret));
        return j;
}

/* Runs the loop until the kernel holds n watches (5 s at most). */
static void wait_held(sd_event *event, int fd, unsigned n) {
        for (unsigned i = 0; i < 500 && watches_held(fd) != n; i++)
                ASSERT_OK(sd_event_run(event, 10 * USEC_PER_MSEC));
        ASSERT_EQ(watches_held(fd), n);
}

static void wait_unstuck(void) {
        for (unsigned i = 0; i < 500 && thread_bounded_stuck() > 0; i++)
                usleep(10 * USEC_PER_MSEC);
        ASSERT_EQ(thread_bounded_stuck(), 0u);
}

/* A look-up the loop gave up on (cancelled, timed out) gives its watches
 * back when its thread ends: the loop removes those no cached answer uses.
 * At shutdown (the ToolsWatch gone first) the thread's end touches nothing
 * freed. */
static void test_orphans(const char *tmp, const LeanReadiness *rd, const ToolsWatchKey *key) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_free_ char *cached = path_join(tmp, "cached"), *slow = path_join(tmp, "slow");
        ThreadAsync *a = NULL;
        ToolsWatch *w;
        unsigned one;
        int fd, gate[2], r = 1;

        ASSERT_TRUE(cached && slow);
        ASSERT_OK(mkdir(cached, 0755));
        ASSERT_OK(mkdir(slow, 0755));
        test_write_file(pj(cached, "/lakefile.lean"), "package c\n");
        test_write_file(pj(slow, "/lakefile.lean"), "package s\n");
        ASSERT_OK(sd_event_new(&event));
        ASSERT_OK(tools_watch_new(&w, event));
        fd = tools_watch_fd_dup(w);
        ASSERT_TRUE(fd >= 0);
        watch_put(w, fd, cached, rd, key, 1);
        one = watches_held(fd);

        /* cancelled while its thread hangs: the watches stay until it ends */
        ASSERT_OK(pipe(gate));
        orphan_start(event, w, slow, rd, gate[0], 10 * USEC_PER_SEC, &r, &a);
        for (unsigned i = 0; i < 500 && watches_held(fd) == one; i++)
                usleep(10 * USEC_PER_MSEC);
        ASSERT_TRUE(watches_held(fd) > one);
        a = thread_async_cancel(a);
        ASSERT_EQ(write(gate[1], "x", 1), 1);
        wait_unstuck();
        wait_held(event, fd, one);
        ASSERT_EQ(r, 1); /* never called */
        ASSERT_TRUE(tools_watch_get(w, cached, key, NULL) != NULL); /* the shared ones stayed */

        /* timed out (path_unresponsive): the same once it ends */
        orphan_start(event, w, slow, rd, gate[0], 50 * USEC_PER_MSEC, &r, NULL);
        for (unsigned i = 0; i < 500 && r == 1; i++)
                ASSERT_OK(sd_event_run(event, 10 * USEC_PER_MSEC));
        ASSERT_EQ(r, -ETIMEDOUT);
        ASSERT_TRUE(watches_held(fd) > one);
        ASSERT_EQ(write(gate[1], "x", 1), 1);
        wait_unstuck();
        wait_held(event, fd, one);
        ASSERT_TRUE(tools_watch_get(w, cached, key, NULL) != NULL);

        /* shutdown while the thread hangs: it ends after the ToolsWatch */
        r = 1;
        orphan_start(event, w, slow, rd, gate[0], 10 * USEC_PER_SEC, &r, &a);
        for (unsigned i = 0; i < 500 && watches_held(fd) == one; i++)
                usleep(10 * USEC_PER_MSEC);
        a = thread_async_cancel(a);
        tools_watch_free(w);
        ASSERT_EQ(write(gate[1], "x", 1), 1);
        wait_unstuck();
        ASSERT_EQ(r, 1);

        close(fd);
        close(gate[0]);
        close(gate[1]);
}

int main(void) {
        char tmp[] = "/tmp/test-tools-watch-XXXXXX";
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *link = NULL, *other = NULL;
        _cleanup_strv_free_ char **trusted = strv_copy(NULL);
        ToolsWatchKey key = { .trusted_roots = trusted, .custom_worker = true };
        ToolsWatchKey key2 = key;
        LeanReadiness rd = {};
        ToolsWatchSet set = {};
        const char *root = NULL;
        ToolsWatch *w;
        uint64_t seq;
        int fd;

        ASSERT_TRUE(mkdtemp(tmp));
        a = path_join(tmp, "a");
        b = path_join(tmp, "b");
        c = path_join(tmp, "c");
        ASSERT_TRUE(a && b && c && trusted);
        ASSERT_OK(mkdir(a, 0755));
        ASSERT_OK(mkdir(b, 0755));
        ASSERT_OK(mkdir(c, 0755));
        test_write_file(pj(a, "/lakefile.lean"), "package a\n");
        test_write_file(pj(a, "/lean-toolchain"), "leanprover/lean4:v4.33.0-rc2\n");
        test_write_file(pj(b, "/lakefile.lean"), "package b\n");
        test_write_file(pj(c, "/lakefile.lean"), "package c\n");
        classify(a, &rd);

        fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(tools_watch_new(&w, NULL));

        /* cached; found under its key only */
        watch_put(w, fd, a, &rd, &key, 1);
        ASSERT_TRUE(tools_watch_get(w, a, &key, &root) != NULL);
        ASSERT_STREQ(root, a);
        key2.custom_worker = false;
        ASSERT_TRUE(tools_watch_get(w, a, &key2, NULL) == NULL);
        key2 = key;
        key2.elan_home = "/elsewhere";
        ASSERT_TRUE(tools_watch_get(w, a, &key2, NULL) == NULL);
        ASSERT_TRUE(tools_watch_get(w, b, &key, NULL) == NULL);
        ASSERT_TRUE(tools_watch_get_files(w, b) == NULL);
        /* with what the look-up read (a project opened again starts from it) */
        {
                LeanReadinessCache files = { .toolchain_cached = true, .toolchain_text = (char *) "pin\n" };
                const LeanReadinessCache *got;

                seq = tools_watch_seq(w);
                ASSERT_OK(tools_watch_add_probes(fd, a, a, &rd, NULL, &set));
                ASSERT_EQ(tools_watch_put(w, seq, a, a, &key, &rd, &files, &set), 1);
                got = tools_watch_get_files(w, a);
                ASSERT_TRUE(got && got->toolchain_cached && got->toolchain_text != files.toolchain_text);
                ASSERT_STREQ(got->toolchain_text, "pin\n");
        }

        /* a file the answer did not read: still cached */
        test_write_file(pj(a, "/Other.lean"), "def x := 1\n");
        drain(w, fd);
        ASSERT_TRUE(tools_watch_get(w, a, &key, NULL) != NULL);
        /* nor do files coming and going above the root (a busy /tmp) */
        test_write_file(pj(tmp, "/scratch.s"), "x\n");
        ASSERT_OK(unlink(pj(tmp, "/scratch.s")));
        drain(w, fd);
        ASSERT_TRUE(tools_watch_get(w, a, &key, NULL) != NULL);
        /* the root renamed: dropped */
        ASSERT_OK(rename(a, pj(tmp, "/a2")));
        drain(w, fd);
        ASSERT_TRUE(tools_watch_get(w, a, &key, NULL) == NULL);
        ASSERT_OK(rename(pj(tmp, "/a2"), a));
        drain(w, fd);
        watch_put(w, fd, a, &rd, &key, 1);

        /* the pin rewritten: dropped */
        test_write_file(pj(a, "/lean-toolchain"), "leanprover/lean4:v4.32.0\n");
        drain(w, fd);
        ASSERT_TRUE(tools_watch_get(w, a, &key, NULL) == NULL);

        /* a manifest appearing */
        watch_put(w, fd, a, &rd, &key, 1);
        test_write_file(pj(a, "/lake-manifest.json"), "{}\n");
        drain(w, fd);
        ASSERT_EQ(tools_watch_count(w), 0u);

        /* the owner of the REPL binary's directory (trust): dropped */
        ASSERT_OK(mkdir(pj(a, "/.lake"), 0755));
        drain(w, fd);
        watch_put(w, fd, a, &rd, &key, 1);
        ASSERT_OK(chmod(pj(a, "/.lake"), 0700));
        drain(w, fd);
        ASSERT_EQ(tools_watch_count(w), 0u);

        /* IN_Q_OVERFLOW: every answer goes */
        watch_put(w, fd, a, &rd, &key, 1);
        watch_put(w, fd, b, &rd, &key, 1);
        ASSERT_EQ(tools_watch_count(w), 2u);
        fake_event(w, 123456, IN_Q_OVERFLOW);
        ASSERT_EQ(tools_watch_count(w), 0u);

        /* an event on one of its watches while the answer was made: not cached */
        seq = tools_watch_seq(w);
        ASSERT_OK(tools_watch_add_probes(fd, b, b, &rd, NULL, &set));
        fake_event(w, 123456, IN_CREATE); /* not one of b's */
        fake_event(w, set.refs[0].wd, IN_ATTRIB);
        ASSERT_EQ(tools_watch_put(w, seq, b, b, &key, &rd, NULL, &set), 0);
        ASSERT_EQ(tools_watch_count(w), 0u);
        seq = tools_watch_seq(w);
        ASSERT_OK(tools_watch_add_probes(fd, b, b, &rd, NULL, &set));
        fake_event(w, 123456, IN_CREATE);
        ASSERT_EQ(tools_watch_put(w, seq, b, b, &key, &rd, NULL, &set), 1);
        /* nor across an overflow */
        seq = tools_watch_seq(w);
        ASSERT_OK(tools_watch_add_probes(fd, a, a, &rd, NULL, &set));
        fake_event(w, 123456, IN_Q_OVERFLOW);
        ASSERT_EQ(tools_watch_put(w, seq, a, a, &key, &rd, NULL, &set), 0);

        /* a symlink on the way is not watched */
        other = path_join(tmp, "other");
        ASSERT_OK(mkdir(other, 0755));
        ASSERT_OK(symlink(other, pj(c, "/.lake")));
        ASSERT_ERROR(tools_watch_add_probes(fd, c, c, &rd, NULL, &set), ELOOP);
        tools_watch_release(w, &set);
        ASSERT_EQ(set.n, 0u);
        /* nor a path with a symlink in it cached */
        link = path_join(tmp, "link");
        ASSERT_OK(symlink(b, link));
        ASSERT_FALSE(tools_watch_answer_cacheable(link, b, &rd, NULL));
        ASSERT_TRUE(tools_watch_answer_cacheable(b, b, &rd, NULL));
        ASSERT_TRUE(tools_watch_answer_cacheable(pj(b, "/"), b, &rd, NULL) == false);
        rd.state = LEAN_READINESS_NOT_INSTALLED;
        ASSERT_FALSE(tools_watch_answer_cacheable(b, b, &rd, NULL));

        tools_watch_free(w);
        close(fd);
        test_release(tmp, &rd, &key);
        test_orphans(tmp, &rd, &key);
        lean_readiness_done(&rd);
        test_remove_tree(tmp);
        return 0;
}
