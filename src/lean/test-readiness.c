/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Each readiness state from a fake project layout, a fake elan home and a
 * fake PATH in a tmp dir. */

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/tests.h"
#include "lean/readiness.h"
#include "lean/toolchain.h"

static char tmp[] = "/tmp/test-readiness-XXXXXX";

static char *p(const char *rel) {
        char *s = path_join(tmp, rel);

        ASSERT_TRUE(s);
        return s;
}

static void write_file(const char *rel, const char *text, mode_t mode) {
        _cleanup_free_ char *path = p(rel), *dir = strdup(path);
        FILE *f;

        ASSERT_TRUE(dir);
        *strrchr(dir, '/') = 0;
        ASSERT_OK(mkdir_p_mode(dir, 0755));
        f = fopen(path, "we");
        ASSERT_TRUE(f);
        fputs(text, f);
        ASSERT_EQ(fclose(f), 0);
        ASSERT_EQ(chmod(path, mode), 0);
}

static void mkdir_rel(const char *rel) {
        _cleanup_free_ char *path = p(rel);

        ASSERT_OK(mkdir_p_mode(path, 0755));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void classify(const char *root_rel, const LeanReadinessInput *extra, LeanReadiness *r) {
        _cleanup_free_ char *root = p(root_rel), *elan = p("elan"), *bin = p("bin"), *cache = p("cache");
        LeanReadinessInput in = extra ? *extra : (LeanReadinessInput) {};

        in.root = root;
        in.elan_home = in.elan_home ?: elan;
        in.path = in.path ?: bin;
        in.repl_cache = in.repl_cache ?: cache;
        ASSERT_OK(lean_readiness_classify(&in, r));
        ASSERT_TRUE(r->message);
        ASSERT_TRUE(r->advisories);
        printf("%-14s %-24s %s%s%s\n", root_rel, lean_readiness_state_to_string(r->state), r->message,
               r->fix ? "  FIX: " : "", strempty(r->fix));
}

static void test_toolchain_parse(void) {
        LeanToolchain t;
        _cleanup_free_ char *d = NULL;

        ASSERT_OK(lean_toolchain_parse("leanprover/lean4:v4.33.0-rc2\n", &t));
        ASSERT_STREQ(t.pin, "leanprover/lean4:v4.33.0-rc2");
        ASSERT_STREQ(t.origin, "leanprover/lean4");
        ASSERT_STREQ(t.version, "v4.33.0-rc2");
        ASSERT_TRUE(t.release);
        ASSERT_EQ(t.major, 4);
        ASSERT_EQ(t.minor, 33);
        ASSERT_EQ(t.patch, 0);
        ASSERT_EQ(t.rc, 2);
        d = lean_toolchain_elan_dirname(&t);
        ASSERT_STREQ(d, "leanprover--lean4---v4.33.0-rc2");
        lean_toolchain_done(&t);

        ASSERT_OK(lean_toolchain_parse("  v4.9.0  ", &t));
        ASSERT_STREQ(t.origin, "leanprover/lean4");
        ASSERT_TRUE(t.release);
        ASSERT_EQ(t.minor, 9);
        ASSERT_EQ(t.rc, 0);
        lean_toolchain_done(&t);

        ASSERT_OK(lean_toolchain_parse("leanprover/lean4:nightly-2024-05-01", &t));
        ASSERT_FALSE(t.release);
        lean_toolchain_done(&t);
        ASSERT_OK(lean_toolchain_parse("leanprover/lean4-pr-releases:pr-release-1234", &t));
        ASSERT_FALSE(t.release);
        lean_toolchain_done(&t);
        ASSERT_OK(lean_toolchain_parse("leanprover/lean4:v4.9.0-rc", &t));
        ASSERT_FALSE(t.release);
        lean_toolchain_done(&t);

        ASSERT_ERROR(lean_toolchain_parse("", &t), EINVAL);
        ASSERT_ERROR(lean_toolchain_parse(" \n", &t), EINVAL);
        ASSERT_ERROR(lean_toolchain_parse("leanprover/lean4: v4", &t), EINVAL);
        ASSERT_ERROR(lean_toolchain_parse("leanprover/lean4:", &t), EINVAL);
}

static void project(const char *name, const char *toolchain, bool with_repl) {
        char rel[256];

        snprintf(rel, sizeof rel, "%s/lakefile.toml", name);
        write_file(rel, "name = \"p\"\n", 0644);
        snprintf(rel, sizeof rel, "%s/lake-manifest.json", name);
        write_file(rel, "{\"version\": 7, \"packages\": []}\n", 0644);
        if (toolchain) {
                snprintf(rel, sizeof rel, "%s/lean-toolchain", name);
                write_file(rel, toolchain, 0644);
        }
        if (with_repl) {
                snprintf(rel, sizeof rel, "%s/.lake/packages/REPL/.lake/build/bin/repl", name);
                write_file(rel, "#!/bin/sh\n", 0755);
        }
}

static void test_states(void) {
        LeanReadiness r;
        json_object *j, *v;

        mkdir_rel("bin");
        write_file("elan/toolchains/leanprover--lean4---v4.33.0-rc2/bin/lake", "#!/bin/sh\n", 0755);
        /* elan: nightlies come from the <origin>-nightly repository */
        write_file("elan/toolchains/leanprover--lean4-nightly---nightly-2025-01-01/bin/lake", "#!/bin/sh\n", 0755);
        /* elan's proxy, for pins only elan resolves */
        write_file("elan/bin/lake", "#!/bin/sh\n", 0755);

        /* ready: pinned, installed, REPL built as a dependency */
        project("ready", "leanprover/lean4:v4.33.0-rc2\n", true);
        classify("ready", NULL, &r);
        ASSERT_EQ(r.state, LEAN_READINESS_READY);
        ASSERT_TRUE(r.fix == NULL);
        ASSERT_CONTAINS(r.repl_path, "/.lake/packages/REPL/.lake/build/bin/repl");
        ASSERT_CONTAINS(r.elan_toolchain_dir, "/elan/toolchains/leanprover--lean4---v4.33.0-rc2");
        ASSERT_EQ(strlen(r.stamp.manifest_hash), 16);
        ASSERT_STREQ(r.stamp.toolchain, "leanprover/lean4:v4.33.0-rc2");
        {
                _cleanup_strv_free_ char **argv = NULL;

                ASSERT_OK(lean_readiness_worker_argv(&r, &argv));
                /* the toolchain's own lake, by absolute path: PATH (bin/) has none */
                ASSERT_CONTAINS(argv[0], "/elan/toolchains/leanprover--lean4---v4.33.0-rc2/bin/lake");
                ASSERT_TRUE(argv[0][0] == '/');
                ASSERT_STREQ(argv[0], r.lake_path);
                ASSERT_STREQ(argv[1], "env");
                ASSERT_STREQ(argv[2], r.repl_path);
        }
        j = lean_readiness_to_json(&r);
        ASSERT_TRUE(json_object_object_get_ex(j, "state", &v));
        ASSERT_STREQ(json_object_get_string(v), "ready");
        ASSERT_TRUE(json_object_object_get_ex(j, "toolchain", &v));
        ASSERT_STREQ(json_object_get_string(v), "leanprover/lean4:v4.33.0-rc2");
        ASSERT_FALSE(json_object_object_get_ex(j, "fix", NULL));
        json_object_put(j);

        /* stale: the manifest changed since the worker started */
        {
                LeanProjectStamp started = r.stamp;
                LeanReadinessInput in = { .started = &started };
                LeanReadiness s;

                lean_readiness_done(&r);
                classify("ready", &in, &s);
                ASSERT_EQ(s.state, LEAN_READINESS_READY);
                lean_readiness_done(&s);

                write_file("ready/lake-manifest.json", "{\"version\": 7, \"packages\": [{}]}\n", 0644);
                classify("ready", &in, &s);
                ASSERT_EQ(s.state, LEAN_READINESS_STALE);
                ASSERT_CONTAINS(s.message, "lake-manifest.json");
                ASSERT_FALSE(lean_readiness_state_is_usable(s.state));
                lean_readiness_done(&s);

                snprintf(started.manifest_hash, sizeof started.manifest_hash, "%s", "x");
                lean_project_stamp_read(tmp, &started); /* no project there: empty stamp */
                ASSERT_STREQ(started.manifest_hash, "");
                ASSERT_STREQ(started.toolchain, "");
        }

        /* unusable: the smoke command failed, its output is carried */
        {
                LeanReadinessInput in = { .smoke_failure = "error: unknown package 'Mathlib'" };

                classify("ready", &in, &r);
                ASSERT_EQ(r.state, LEAN_READINESS_UNUSABLE);
                ASSERT_CONTAINS(r.message, "unknown package 'Mathlib'");
                /* rebuilt where it lives, with the pinned lake: no `lake build REPL/repl`
                 * that breaks for a dependency required as `repl` */
                ASSERT_CONTAINS(r.fix, "/ready/.lake/packages/REPL && ");
                ASSERT_CONTAINS(r.fix, "/bin/lake build repl");
                lean_readiness_done(&r);
        }

        /* toolchain_not_installed: elan has no such toolchain */
        project("noelan", "leanprover/lean4:v4.20.0\n", true);
        classify("noelan", NULL, &r);
        ASSERT_EQ(r.state, LEAN_READINESS_TOOLCHAIN_NOT_INSTALLED);
        ASSERT_STREQ(r.fix, "elan toolchain install leanprover/lean4:v4.20.0");
        ASSERT_CONTAINS(r.message, "leanprover--lean4---v4.20.0");
        lean_readiness_done(&r);

        /* not_installed: toolchain there, no REPL binary anywhere */
        project("norepl", "leanprover/lean4:v4.33.0-rc2\n", false);
        classify("norepl", NULL, &r);
        ASSERT_EQ(r.state, LEAN_READINESS_NOT_INSTALLED);
        ASSERT_TRUE(r.fix == NULL); /* the provisioner builds it; nothing for the user to edit */
        ASSERT_CONTAINS(r.repl_cache_dir, "/cache/leanprover--lean4---v4.33.0-rc2");
        ASSERT_CONTAINS(r.message, "leanprover/lean4:v4.33.0-rc2");
        lean_readiness_done(&r);

        /* … but a `repl` on PATH is enough */
        write_file("bin/repl", "#!/bin/sh\n", 0755);
        classify("norepl", NULL, &r);
        ASSERT_EQ(r.state, LEAN_READINESS_READY);
        ASSERT_CONTAINS(r.repl_path, "/bin/repl");
        lean_readiness_done(&r);
        {
                _cleanup_free_ char *b = p("bin/repl");
                ASSERT_EQ(unlink(b), 0);
        }

        /* unsupported: older than the REPL protocol we speak */
        project("old", "leanprover/lean4:v4.3.0\n", true);
        write_file("elan/toolchains/leanprover--lean4---v4.3.0/bin/lake", "#!/bin/sh\n", 0755);
        classify("old", NULL, &r);
        ASSERT_EQ(r.state, LEAN_READINESS_UNSUPPORTED);
        ASSERT_CONTAINS(r.message, LEAN_REPL_MIN_STRING);
        lean_readiness_done(&r);

        /* unknown_pin: a nightly (installed), usable with an advisory */
        project("nightly", "leanprover/lean4:nightly-2025-01-01\n", true);
        classify("nightly", NULL, &r);
        ASSERT_EQ(r.state, LEAN_READINESS_UNKNOWN_PIN);
        ASSERT_TRUE(lean_readiness_state_is_usable(r.state));
        ASSERT_TRUE(strv_length(r.advisories) >= 1);
        ASSERT_CONTAINS(r.lake_path, "/toolchains/leanprover--lean4-nightly---nightly-2025-01-01/bin/lake");
        lean_readiness_done(&r);

        /* unknown_pin: no lean-toolchain at all */
        project("nopin", NULL, true);
        classify("nopin", NULL, &r);
        ASSERT_EQ(r.state, LEAN_READINESS_UNKNOWN_PIN);
        ASSERT_CONTAINS(r.message, "no lean-toolchain");
        ASSERT_CONTAINS(r.lake_path, "/elan/bin/lake"); /* elan's proxy picks the default */
        j = lean_readiness_to_json(&r);
        ASSERT_TRUE(json_object_object_get_ex(j, "toolchain", &v));
        ASSERT_TRUE(v == NULL);
        json_object_put(j);
        lean_readiness_done(&r);

        /* no elan home and no lake on PATH: install elan */
        {
                _cleanup_free_ char *none = p("no-such-elan");
                LeanReadinessInput in = { .elan_home = none };

                classify("ready", &in, &r);
                ASSERT_EQ(r.state, LEAN_READINESS_TOOLCHAIN_NOT_INSTALLED);
                ASSERT_CONTAINS(r.fix, "elan toolchain install leanprover/lean4:v4.33.0-rc2");
                lean_readiness_done(&r);

                /* … with a system lake on PATH: usable, with an advisory */
                write_file("bin/lake", "#!/bin/sh\n", 0755);
                classify("ready", &in, &r);
                ASSERT_EQ(r.state, LEAN_READINESS_READY);
                ASSERT_EQ(strv_length(r.advisories), 1);
                ASSERT_CONTAINS(r.advisories[0], "elan not found");
                lean_readiness_done(&r);
        }

        /* custom worker command: no resolution at all, even for a broken layout */
        {
                LeanReadinessInput in = { .custom_worker = true };

                classify("noelan", &in, &r);
                ASSERT_EQ(r.state, LEAN_READINESS_READY);
                ASSERT_STREQ(r.advisories[0], "custom worker command");
                ASSERT_TRUE(r.repl_path == NULL);
                ASSERT_STREQ(r.toolchain.pin, "leanprover/lean4:v4.20.0");
                lean_readiness_done(&r);
        }
}

/* The reported case: a real elan layout, a PATH without elan, a project
 * without a REPL dependency; then where the REPL may come from. */
static void test_resolution(void) {
        _cleanup_free_ char *cache_dir = NULL;
        LeanReadiness r;

        write_file("elan/toolchains/leanprover--lean4---v4.19.0/bin/lake", "#!/bin/sh\n", 0755);
        mkdir_rel("empty-path");
        project("svc", "leanprover/lean4:v4.19.0\n", false);
        {
                _cleanup_free_ char *empty = p("empty-path");
                LeanReadinessInput in = { .path = empty };

                classify("svc", &in, &r);
                ASSERT_EQ(r.state, LEAN_READINESS_NOT_INSTALLED);
                ASSERT_CONTAINS(r.lake_path, "/elan/toolchains/leanprover--lean4---v4.19.0/bin/lake");
                cache_dir = strdup(r.repl_cache_dir);
                lean_readiness_done(&r);

                /* lean-host's build for the pin: used */
                write_file("cache/leanprover--lean4---v4.19.0/.lake/build/bin/repl", "#!/bin/sh\n", 0755);
                write_file("cache/leanprover--lean4---v4.19.0/" LEAN_REPL_STAMP_FILE, "leanprover/lean4:v4.19.0\n", 0644);
                classify("svc", &in, &r);
                ASSERT_EQ(r.state, LEAN_READINESS_READY);
                ASSERT_CONTAINS(r.repl_path, "/cache/leanprover--lean4---v4.19.0/.lake/build/bin/repl");
                lean_readiness_done(&r);

                /* … stamped for another Lean: not used, and said so */
                write_file("cache/leanprover--lean4---v4.19.0/" LEAN_REPL_STAMP_FILE, "leanprover/lean4:v4.18.0\n", 0644);
                classify("svc", &in, &r);
                ASSERT_EQ(r.state, LEAN_READINESS_NOT_INSTALLED);
                ASSERT_CONTAINS(r.advisories[0], "built for leanprover/lean4:v4.18.0");
                lean_readiness_done(&r);

                /* a project REPL package built for another Lean: skipped */
                write_file("svc/.lake/packages/repl/.lake/build/bin/repl", "#!/bin/sh\n", 0755);
                write_file("svc/.lake/packages/repl/lean-toolchain", "leanprover/lean4:v4.18.0\n", 0644);
                classify("svc", &in, &r);
                ASSERT_EQ(r.state, LEAN_READINESS_NOT_INSTALLED);
                ASSERT_TRUE(r.repl_path == NULL);
                ASSERT_CONTAINS(r.advisories[0], "is built for leanprover/lean4:v4.18.0");
                lean_readiness_done(&r);

                /* … and used once it matches (elan's short form counts as the same pin) */
                write_file("svc/.lake/packages/repl/lean-toolchain", "v4.19.0\n", 0644);
                classify("svc", &in, &r);
                ASSERT_EQ(r.state, LEAN_READINESS_READY);
                ASSERT_CONTAINS(r.repl_path, "/svc/.lake/packages/repl/.lake/build/bin/repl");
                lean_readiness_done(&r);

                /* a toolchain directory without lake: a broken install, not "ready" */
                mkdir_rel("elan/toolchains/leanprover--lean4---v4.21.0/bin");
                write_file("svc/lean-toolchain", "leanprover/lean4:v4.21.0\n", 0644);
                classify("svc", &in, &r);
                ASSERT_EQ(r.state, LEAN_READINESS_TOOLCHAIN_NOT_INSTALLED);
                ASSERT_CONTAINS(r.message, "has no bin/lake");
                ASSERT_CONTAINS(r.fix, "elan toolchain install leanprover/lean4:v4.21.0");
                lean_readiness_done(&r);
        }
        ASSERT_CONTAINS(cache_dir, "/cache/leanprover--lean4---v4.19.0");
}

static void test_freshness(void) {
        LeanProjectStamp st = { .manifest_hash = "0123456789abcdef", .toolchain = "leanprover/lean4:v4.33.0-rc2" };
        char *imports[] = { (char *) "Init", (char *) "Lean", NULL };
        char *adv[] = { (char *) "custom worker command", NULL };
        json_object *j, *v, *s;

        j = lean_freshness_to_json("/p", &st, imports, 3, 7, adv);
        ASSERT_TRUE(j);
        ASSERT_STREQ(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                     "{\"project_root\":\"/p\",\"manifest_hash\":\"0123456789abcdef\",\"imports\":[\"Init\",\"Lean\"],"
                     "\"session\":{\"worker_generation\":3,\"env\":7},\"toolchain\":\"leanprover/lean4:v4.33.0-rc2\","
                     "\"advisories\":[\"custom worker command\"]}");
        json_object_put(j);

        j = lean_freshness_to_json("/p", NULL, NULL, 0, -1, NULL);
        ASSERT_TRUE(json_object_object_get_ex(j, "session", &s));
        ASSERT_FALSE(json_object_object_get_ex(s, "env", NULL));
        ASSERT_TRUE(json_object_object_get_ex(j, "toolchain", &v));
        ASSERT_TRUE(v == NULL);
        ASSERT_TRUE(json_object_object_get_ex(j, "imports", &v));
        ASSERT_EQ(json_object_array_length(v), 0);
        json_object_put(j);
}

int main(void) {
        ASSERT_TRUE(mkdtemp(tmp));
        test_toolchain_parse();
        test_states();
        test_resolution();
        test_freshness();
        ASSERT_EQ(nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
        printf("OK\n");
        return 0;
}
