/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The readiness file reads: never blocked by a FIFO or spun by /dev/zero,
 * and with a cache, nothing re-read until the file's stamp changes. */

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "basic/path-util.h"
#include "basic/tests.h"
#include "lean/readiness.h"

static char tmp[] = "/tmp/test-readiness-cache-XXXXXX";

static void write_rel(const char *rel, const char *text) {
        _cleanup_free_ char *path = path_join(tmp, rel), *new = NULL;
        FILE *f;

        ASSERT_TRUE(path);
        ASSERT_TRUE(asprintf(&new, "%s.new", path) > 0);
        f = fopen(new, "we");
        ASSERT_TRUE(f);
        fputs(text, f);
        ASSERT_EQ(fclose(f), 0);
        ASSERT_EQ(rename(new, path), 0); /* a new inode, as editors and git do */
}

static void classify(LeanReadinessCache *cache, LeanReadiness *r) {
        _cleanup_free_ char *elan = path_join(tmp, "no-elan");
        LeanReadinessInput in = {
                .root = tmp,
                .elan_home = elan,
                .path = "/nonexistent",
                .custom_worker = true,
                .cache = cache,
        };

        lean_readiness_done(r);
        ASSERT_OK(lean_readiness_classify(&in, r));
}

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void test_cache(void) {
        _cleanup_(lean_readiness_cache_freep) LeanReadinessCache *cache = calloc(1, sizeof *cache);
        _cleanup_(lean_readiness_done) LeanReadiness r = {};
        char hash[17];
        uint64_t reads;

        ASSERT_TRUE(cache);
        write_rel("lean-toolchain", "leanprover/lean4:v4.9.0\n");
        write_rel("lake-manifest.json", "{\"version\": 7}\n");

        classify(cache, &r);
        ASSERT_STREQ(r.toolchain.pin, "leanprover/lean4:v4.9.0");
        ASSERT_EQ(strlen(r.stamp.manifest_hash), 16);
        memcpy(hash, r.stamp.manifest_hash, sizeof hash);
        reads = cache->reads;
        ASSERT_EQ(reads, 2);

        /* unchanged: nothing read again, same answer */
        for (int i = 0; i < 3; i++) {
                classify(cache, &r);
                ASSERT_STREQ(r.toolchain.pin, "leanprover/lean4:v4.9.0");
                ASSERT_STREQ(r.stamp.manifest_hash, hash);
        }
        ASSERT_EQ(cache->reads, reads);

        /* changed: read again, new answer */
        write_rel("lean-toolchain", "leanprover/lean4:v4.10.0\n");
        classify(cache, &r);
        ASSERT_STREQ(r.toolchain.pin, "leanprover/lean4:v4.10.0");
        ASSERT_EQ(cache->reads, reads + 1);
        write_rel("lake-manifest.json", "{\"version\": 8}\n");
        classify(cache, &r);
        ASSERT_FALSE(streq(r.stamp.manifest_hash, hash));
        ASSERT_EQ(cache->reads, reads + 2);

        /* removed: no pin, no hash */
        {
                _cleanup_free_ char *a = path_join(tmp, "lean-toolchain"), *b = path_join(tmp, "lake-manifest.json");
                ASSERT_EQ(unlink(a), 0);
                ASSERT_EQ(unlink(b), 0);
        }
        classify(cache, &r);
        ASSERT_TRUE(!r.toolchain.pin);
        ASSERT_STREQ(r.stamp.manifest_hash, "");
}

/* FIFO and /dev/zero in place of the files: classified at once, no hang,
 * no spin, with or without the cache. */
static void test_hostile_files(void) {
        _cleanup_free_ char *tc = path_join(tmp, "lean-toolchain"), *mf = path_join(tmp, "lake-manifest.json");
        _cleanup_(lean_readiness_cache_freep) LeanReadinessCache *cache = calloc(1, sizeof *cache);
        _cleanup_(lean_readiness_done) LeanReadiness r = {};
        LeanProjectStamp stamp;
        uint64_t t0 = now_ms();

        ASSERT_TRUE(cache);
        (void) unlink(tc);
        (void) unlink(mf);
        ASSERT_EQ(mkfifo(tc, 0644), 0);
        ASSERT_EQ(symlink("/dev/zero", mf), 0);

        classify(NULL, &r);
        ASSERT_TRUE(!r.toolchain.pin);
        ASSERT_STREQ(r.stamp.manifest_hash, "");
        classify(cache, &r);
        classify(cache, &r);
        ASSERT_STREQ(r.stamp.manifest_hash, "");
        ASSERT_OK(lean_project_stamp_read(tmp, &stamp));
        ASSERT_STREQ(stamp.manifest_hash, "");
        ASSERT_STREQ(stamp.toolchain, "");
        ASSERT_TRUE(now_ms() - t0 < 1000);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

int main(void) {
        ASSERT_TRUE(mkdtemp(tmp));
        test_cache();
        test_hostile_files();
        (void) nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        return 0;
}
