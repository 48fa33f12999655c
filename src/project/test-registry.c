/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* registry_resolve's refusals (another user's root, a directory anyone can
 * plant a lakefile in, hostile project files, non-UTF-8 roots), the
 * trusted_roots opt-in, and forgetting idle projects. No worker runs. */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/test-loop.h"
#include "basic/tests.h"
#include "project/project-internal.h"

#define NOBODY 65534

static LhConfig config;
static sd_event *event;
static char tmp[] = "/tmp/test-registry-XXXXXX";
static unsigned n_removed;

static char *p(const char *rel) {
        char *s = path_join(tmp, rel);

        ASSERT_TRUE(s);
        return s;
}

static void mk(const char *rel, const char *text, uid_t owner, mode_t mode) {
        _cleanup_free_ char *path = p(rel), *dir = strdup(path);

        ASSERT_TRUE(dir);
        *strrchr(dir, '/') = 0;
        ASSERT_OK(mkdir_p_mode(dir, 0755));
        if (text) {
                FILE *f = fopen(path, "we");
                ASSERT_TRUE(f);
                fputs(text, f);
                ASSERT_EQ(fclose(f), 0);
        } else
                ASSERT_OK(mkdir_p_mode(path, 0755));
        ASSERT_EQ(chmod(path, mode), 0);
        ASSERT_EQ(lchown(path, owner, owner), 0);
}

/* a + b in one of a few static buffers (several may be live in one call) */
static const char *cat2(const char *a, const char *b) {
        static char bufs[4][4096];
        static unsigned i;
        char *buf = bufs[i++ % 4];

        snprintf(buf, sizeof bufs[0], "%s%s", a, b);
        return buf;
}

static void on_removed(LhProject *pr, void *userdata) {
        n_removed++;
}

static const RegistryObserver observer = { .project_removed = on_removed };

/* Resolve rel (under tmp); returns the errno, err filled. */
static int resolve(const char *rel, LhError *err) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        _cleanup_free_ char *path = p(rel);
        LhProject *pr;
        int k;

        ASSERT_OK(registry_new(&r, event, &config, NULL));
        lh_error_done(err);
        *err = (LhError) { .restart_cause = _RESTART_CAUSE_INVALID };
        k = registry_resolve(r, path, &pr, err);
        if (k >= 0)
                ASSERT_TRUE(pr);
        return k;
}

static void expect_refused(const char *rel, const char *code, const char *mention) {
        LhError err = {};
        int k = resolve(rel, &err);

        if (k >= 0 || !err.code || !streq(err.code, code) || !strstr(err.message, mention)) {
                fprintf(stderr, "%s: expected %s mentioning %s, got %d %s: %s\n", rel, code, mention, k,
                        strna(err.code), err.message);
                abort();
        }
        ASSERT_FALSE(err.retryable);
        lh_error_done(&err);
}

static void expect_ok(const char *rel) {
        LhError err = {};
        int k = resolve(rel, &err);

        if (k < 0) {
                fprintf(stderr, "%s: expected to resolve, got %s: %s\n", rel, strna(err.code), err.message);
                abort();
        }
        lh_error_done(&err);
}

static void set_trusted(const char *entry) {
        config.trusted_roots = strv_free(config.trusted_roots);
        if (entry)
                ASSERT_OK(strv_extend(&config.trusted_roots, entry));
}

static void test_trust(void) {
        _cleanup_free_ char *shared = p("shared"), *evil = p("evil"), *owned = p("owned");

        if (geteuid() != 0) {
                fprintf(stderr, "trust checks skipped: chown to another uid needs root\n");
                return;
        }
        /* ours, for contrast */
        mk("mine/lakefile.lean", "import Lake\n", 0, 0644);
        mk("mine/Foo.lean", "", 0, 0644);
        expect_ok("mine/Foo.lean");

        /* a root directory another user owns */
        mk("owned/lakefile.toml", "name = \"x\"\n", 0, 0644);
        ASSERT_EQ(chown(owned, NOBODY, NOBODY), 0);
        expect_refused("owned", "project_not_trusted", "uid 65534");
        expect_refused("owned", "project_not_trusted", "project.trusted_roots");

        /* a sticky shared directory (as /tmp): root owns it, nobody planted
         * a lakefile, a pin and a REPL there; a victim asks for a file below */
        mk("shared/victim/Foo.lean", "", 0, 0644);
        ASSERT_EQ(chmod(shared, 01777), 0);
        mk("shared/lakefile.lean", "import Lake\n", NOBODY, 0644);
        mk("shared/lean-toolchain", "leanprover/lean4:v4.9.0\n", NOBODY, 0644);
        expect_refused("shared/victim/Foo.lean", "project_not_trusted", "shared/lakefile.lean");
        /* the same with only the REPL binary planted */
        ASSERT_EQ(lchown(cat2(shared, "/lakefile.lean"), 0, 0), 0);
        ASSERT_EQ(lchown(cat2(shared, "/lean-toolchain"), 0, 0), 0);
        expect_ok("shared/victim/Foo.lean");
        mk("shared/.lake/packages/REPL/.lake/build/bin/repl", "#!/bin/sh\n", NOBODY, 0755);
        expect_refused("shared/victim/Foo.lean", "project_not_trusted", "bin/repl");
        /* a symlink we own pointing at their file */
        ASSERT_EQ(unlink(cat2(shared, "/.lake/packages/REPL/.lake/build/bin/repl")), 0);
        mk("theirs/repl", "#!/bin/sh\n", NOBODY, 0755);
        ASSERT_EQ(symlink(cat2(tmp, "/theirs/repl"), cat2(shared, "/.lake/packages/REPL/.lake/build/bin/repl")), 0);
        expect_refused("shared/victim/Foo.lean", "project_not_trusted", "bin/repl");

        /* the walk does not enter a directory another user owns and others can write */
        mk("evil/lakefile.lean", "import Lake\n", 0, 0644);
        mk("evil/victim/Foo.lean", "", 0, 0644);
        ASSERT_EQ(chown(evil, NOBODY, NOBODY), 0);
        ASSERT_EQ(chmod(evil, 0777), 0);
        expect_refused("evil/victim/Foo.lean", "project_not_trusted", "writable by others");

        /* opt-in: the listed roots (and below), or all */
        set_trusted(owned);
        expect_ok("owned");
        expect_refused("shared/victim/Foo.lean", "project_not_trusted", "bin/repl");
        set_trusted(shared);
        expect_ok("shared/victim/Foo.lean");
        set_trusted(evil);
        expect_ok("evil/victim/Foo.lean");
        set_trusted("*");
        expect_ok("owned");
        expect_ok("shared/victim/Foo.lean");
        expect_ok("evil/victim/Foo.lean");
        set_trusted(NULL);
}

static uint64_t now_ms(void) {
        return now_usec(CLOCK_MONOTONIC) / USEC_PER_MSEC;
}

static void test_files(void) {
        _cleanup_free_ char *manifest = p("files/lake-manifest.json"), *pin = p("files/lean-toolchain");
        uint64_t t0 = now_ms();
        int fd;

        mk("files/lakefile.lean", "import Lake\n", geteuid(), 0644);
        expect_ok("files");

        ASSERT_EQ(mkfifo(manifest, 0644), 0);
        expect_refused("files", "project_file_unreadable", "lake-manifest.json is a FIFO");
        ASSERT_EQ(unlink(manifest), 0);

        ASSERT_EQ(symlink("/dev/zero", manifest), 0);
        expect_refused("files", "project_file_unreadable", "lake-manifest.json is a device");
        ASSERT_EQ(unlink(manifest), 0);

        ASSERT_EQ(symlink("/dev/zero", pin), 0);
        expect_refused("files", "project_file_unreadable", "lean-toolchain is a device");
        ASSERT_EQ(unlink(pin), 0);

        fd = open(manifest, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(ftruncate(fd, 2 * 1024 * 1024), 0);
        close(fd);
        expect_refused("files", "project_file_unreadable", "larger than 1024 KiB");
        ASSERT_EQ(unlink(manifest), 0);
        expect_ok("files");
        /* nine look-ups: each well under a second (the FIFO used to hang for good) */
        ASSERT_TRUE(now_ms() - t0 < 5000);
}

static void test_utf8(void) {
        _cleanup_free_ char *bad = p("bad\xc0\x80name"), *link = p("ascii");

        mk("bad\xc0\x80name/lakefile.lean", "import Lake\n", geteuid(), 0644);
        ASSERT_EQ(symlink(bad, link), 0);
        expect_refused("ascii", "invalid_arguments", "not valid UTF-8");
        expect_refused("bad\xc0\x80name", "invalid_arguments", "\\xc0\\x80");
}

static unsigned n_attached_freed;

static void attached_free(void *data) {
        n_attached_freed++;
        free(data);
}

static void test_forget(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        _cleanup_free_ char *root = p("forget");
        LhError err = { .restart_cause = _RESTART_CAUSE_INVALID };
        LhProject *pr = NULL, *again = NULL;

        mk("forget/lakefile.lean", "import Lake\n", geteuid(), 0644);
        config.project_forget_idle_secs = 1;
        ASSERT_OK(registry_new(&r, event, &config, NULL));
        registry_set_observer(r, &observer, NULL);
        ASSERT_OK(registry_resolve(r, root, &pr, &err));
        ASSERT_TRUE(project_get_readiness_cache(pr)); /* freed with the project */
        /* what the bus and the tools keep per project goes with it: no second table */
        project_set_tools_data(pr, strdup("tools"), attached_free);
        project_set_bus_data(pr, strdup("bus"), attached_free);
        ASSERT_STREQ(project_get_tools_data(pr), "tools");
        ASSERT_EQ(registry_get_n_projects(r), 1);

        /* used again within the idle time: kept */
        test_loop_run_for(event, 300 * USEC_PER_MSEC);
        ASSERT_OK(registry_resolve(r, root, &again, &err));
        ASSERT_TRUE(again == pr);
        ASSERT_EQ(registry_forget_idle(r), 0);
        ASSERT_EQ(n_removed, 0);

        /* long idle but still owed something: kept */
        {
                usec_t saved = pr->record.last_resolved;

                pr->record.last_resolved = 0;
                pr->restarts.cooling_down = true;
                ASSERT_EQ(registry_forget_idle(r), 0);
                pr->restarts.cooling_down = false;
                pr->lanes[0]->ticket.waiting_slot = true;
                ASSERT_EQ(registry_forget_idle(r), 0);
                pr->lanes[0]->ticket.waiting_slot = false;
                pr->record.last_resolved = saved;
                ASSERT_EQ(n_removed, 0);
        }

        /* then idle: forgotten by the timer, the observer told first; its
         * restarts stay in the totals */
        pr->restarts.restarts_total = 3;
        pr->restarts.restarts_by_cause[RESTART_CAUSE_CHILD_EXIT] = 3;
        test_loop_run_until(event, &n_removed, 1, "the idle project to be forgotten", 5 * USEC_PER_SEC);
        ASSERT_EQ(registry_get_n_projects(r), 0);
        ASSERT_EQ(n_attached_freed, 2);
        ASSERT_EQ(registry_get_restarts_total(r), 3);
        {
                uint64_t by_cause[_RESTART_CAUSE_MAX];

                registry_get_restarts_by_cause(r, by_cause);
                ASSERT_EQ(by_cause[RESTART_CAUSE_CHILD_EXIT], 3);
        }

        /* and opened again on the next call, afresh */
        ASSERT_OK(registry_resolve(r, root, &again, &err));
        ASSERT_EQ(registry_get_n_projects(r), 1);
        ASSERT_TRUE(project_get_tools_data(again) == NULL);

        /* 0 = never */
        r = registry_free(r);
        config.project_forget_idle_secs = 0;
        ASSERT_OK(registry_new(&r, event, &config, NULL));
        ASSERT_OK(registry_resolve(r, root, &again, &err));
        test_loop_run_for(event, 1500 * USEC_PER_MSEC);
        ASSERT_EQ(registry_forget_idle(r), 0);
        ASSERT_EQ(registry_get_n_projects(r), 1);
        config.project_forget_idle_secs = 3600;
}

/* Two observers, each told directly with its own userdata; one per userdata. */
static void on_added(LhProject *pr, void *userdata) {
        (*(unsigned *) userdata)++;
}

static const RegistryObserver added_observer = { .project_added = on_added };

static void test_observers(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        _cleanup_free_ char *a = p("obs-a"), *b = p("obs-b"), *c = p("obs-c");
        LhError err = { .restart_cause = _RESTART_CAUSE_INVALID };
        unsigned bus = 0, manager = 0;
        LhProject *pr;

        mk("obs-a/lakefile.lean", "import Lake\n", geteuid(), 0644);
        mk("obs-b/lakefile.lean", "import Lake\n", geteuid(), 0644);
        mk("obs-c/lakefile.lean", "import Lake\n", geteuid(), 0644);
        ASSERT_OK(registry_new(&r, event, &config, NULL));
        registry_set_observer(r, &added_observer, &bus);
        registry_set_observer(r, &added_observer, &manager);
        ASSERT_OK(registry_resolve(r, a, &pr, &err));
        ASSERT_EQ(bus, 1u);
        ASSERT_EQ(manager, 1u);
        /* set again for the same userdata: replaced, not added */
        registry_set_observer(r, &observer, &manager);
        ASSERT_OK(registry_resolve(r, b, &pr, &err));
        ASSERT_EQ(bus, 2u);
        ASSERT_EQ(manager, 1u);
        /* removed: the other still hears */
        registry_set_observer(r, NULL, &manager);
        registry_set_observer(r, &added_observer, &manager);
        registry_set_observer(r, NULL, &bus);
        ASSERT_OK(registry_resolve(r, c, &pr, &err));
        ASSERT_EQ(bus, 2u);
        ASSERT_EQ(manager, 2u);
}

int main(void) {
        char cmd[128];

        config_init_defaults(&config);
        config.enforcement = ENFORCEMENT_PROCESS;
        ASSERT_OK(sd_event_default(&event));
        ASSERT_TRUE(mkdtemp(tmp));
        ASSERT_EQ(chmod(tmp, 0755), 0);

        test_files();
        test_utf8();
        test_trust();
        test_forget();
        test_observers();

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        (void) system(cmd);
        sd_event_unref(event);
        config_done(&config);
        return 0;
}
