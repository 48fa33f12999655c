/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

#include "basic/path-util.h"
#include "basic/tests.h"

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p) < 0 ? -1 : 0;
}

static void rm_rf(const char *p) {
        (void) nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void touch(const char *dir, const char *name) {
        _cleanup_free_ char *p = path_join(dir, name);
        int fd;

        ASSERT_TRUE(p);
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        close(fd);
}

static void test_path_join(void) {
        const struct {
                const char *a, *b, *c, *expected;
        } cases[] = {
                { "/a", "b", NULL, "/a/b" },
                { "/a/", "/b", "c", "/a/b/c" },
                { "/a//", "//b", NULL, "/a//b" },
                { "a", "", "b", "a/b" },
                { "", "/x", NULL, "/x" },
                { "/", "x", NULL, "/x" },
                { NULL, "x", "y", "x/y" },
                { "/a", "b/", NULL, "/a/b/" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *j = path_join(cases[i].a, cases[i].b, cases[i].c);
                ASSERT_STREQ(j, cases[i].expected);
        }

        _cleanup_free_ char *one = path_join("only");
        ASSERT_STREQ(one, "only");
}

static void test_canonicalize(const char *tmp) {
        _cleanup_free_ char *sub = path_join(tmp, "x/y"), *link = path_join(tmp, "ln"),
                            *via = path_join(tmp, "ln/../x/./y"), *c = NULL, *c2 = NULL;

        ASSERT_OK(mkdir_p_mode(sub, 0755));
        ASSERT_TRUE(symlink("x", link) == 0);
        ASSERT_OK(path_canonicalize(via, &c));
        /* ln → x, so ln/.. is tmp itself */
        ASSERT_OK(path_canonicalize(sub, &c2));
        ASSERT_STREQ(c, c2);
        ASSERT_TRUE(c[0] == '/');
        ASSERT_TRUE(!strstr(c, "/./") && !strstr(c, "/../") && !strstr(c, "//"));

        char *none = (char *) 0x1;
        _cleanup_free_ char *missing = path_join(tmp, "does-not-exist");
        ASSERT_ERROR(path_canonicalize(missing, &none), ENOENT);
        ASSERT_TRUE(none == (char *) 0x1);
        ASSERT_ERROR(path_canonicalize("", &none), EINVAL);
}

static void test_mkdir_p(const char *tmp) {
        _cleanup_free_ char *deep = path_join(tmp, "m/n//o/"), *file = path_join(tmp, "m/f"),
                            *under_file = path_join(tmp, "m/f/g");
        struct stat st;

        ASSERT_OK(mkdir_p_mode(deep, 0700));
        ASSERT_TRUE(stat(deep, &st) == 0 && S_ISDIR(st.st_mode));
        ASSERT_EQ(st.st_mode & 0777, 0700);
        /* again: existing is fine */
        ASSERT_OK(mkdir_p_mode(deep, 0700));

        touch(tmp, "m/f");
        ASSERT_ERROR(mkdir_p_mode(file, 0700), ENOTDIR);
        ASSERT_ERROR(mkdir_p_mode(under_file, 0700), ENOTDIR);
        ASSERT_ERROR(mkdir_p_mode("", 0700), EINVAL);
}

static void test_lake_root(const char *tmp) {
        _cleanup_free_ char *proj = path_join(tmp, "proj"), *src = path_join(tmp, "proj/Proj/Sub"),
                            *file = NULL, *inner = path_join(tmp, "proj/inner"),
                            *canon_proj = NULL, *canon_inner = NULL, *root = NULL,
                            *nolake = path_join(tmp, "nolake/a"), *toml = path_join(tmp, "toml/d"),
                            *fake = path_join(tmp, "fake/d");

        ASSERT_OK(mkdir_p_mode(src, 0755));
        touch(proj, "lakefile.lean");
        touch(src, "Basic.lean");
        file = path_join(src, "Basic.lean");
        ASSERT_OK(path_canonicalize(proj, &canon_proj));

        /* from a file deep inside */
        ASSERT_OK(path_find_lake_root(file, &root));
        ASSERT_STREQ(root, canon_proj);
        root = mfree(root);

        /* from a directory inside, and from the root itself */
        ASSERT_OK(path_find_lake_root(src, &root));
        ASSERT_STREQ(root, canon_proj);
        root = mfree(root);
        ASSERT_OK(path_find_lake_root(proj, &root));
        ASSERT_STREQ(root, canon_proj);
        root = mfree(root);

        /* from the lakefile itself */
        _cleanup_free_ char *lakefile = path_join(proj, "lakefile.lean");
        ASSERT_OK(path_find_lake_root(lakefile, &root));
        ASSERT_STREQ(root, canon_proj);
        root = mfree(root);

        /* nearest wins: a nested package */
        ASSERT_OK(mkdir_p_mode(inner, 0755));
        touch(inner, "lakefile.toml");
        ASSERT_OK(path_canonicalize(inner, &canon_inner));
        ASSERT_OK(path_find_lake_root(inner, &root));
        ASSERT_STREQ(root, canon_inner);
        root = mfree(root);

        /* lakefile.toml alone works */
        ASSERT_OK(mkdir_p_mode(toml, 0755));
        _cleanup_free_ char *toml_parent = path_join(tmp, "toml"), *canon_toml = NULL;
        touch(toml_parent, "lakefile.toml");
        ASSERT_OK(path_canonicalize(toml_parent, &canon_toml));
        ASSERT_OK(path_find_lake_root(toml, &root));
        ASSERT_STREQ(root, canon_toml);
        root = mfree(root);

        /* Whether tmp's ancestors (normally /tmp, /) hold a lakefile decides
         * what the negative cases must return. */
        _cleanup_free_ char *outer = NULL;
        int outer_r = path_find_lake_root(tmp, &outer);
        ASSERT_TRUE(outer_r == 0 || outer_r == -ENOENT);

        /* a directory named lakefile.lean does not count */
        _cleanup_free_ char *fake_lakefile = path_join(tmp, "fake/lakefile.lean");
        ASSERT_OK(mkdir_p_mode(fake, 0755));
        ASSERT_OK(mkdir_p_mode(fake_lakefile, 0755));
        ASSERT_EQ(path_find_lake_root(fake, &root), outer_r);
        if (outer_r == 0) {
                ASSERT_STREQ(root, outer);
                root = mfree(root);
        }

        /* no lakefile anywhere up to / → ENOENT */
        ASSERT_OK(mkdir_p_mode(nolake, 0755));
        ASSERT_EQ(path_find_lake_root(nolake, &root), outer_r);
        if (outer_r == 0)
                root = mfree(root);
        else
                ASSERT_TRUE(root == NULL);

        /* a path that does not exist → ENOENT */
        _cleanup_free_ char *missing = path_join(tmp, "missing/x.lean");
        ASSERT_ERROR(path_find_lake_root(missing, &root), ENOENT);
        ASSERT_TRUE(root == NULL);
}

int main(void) {
        char tmpl[] = "/tmp/test-path-util-XXXXXX";
        const char *tmp;

        tmp = mkdtemp(tmpl);
        ASSERT_TRUE(tmp);

        test_path_join();
        test_canonicalize(tmp);
        test_mkdir_p(tmp);
        test_lake_root(tmp);

        rm_rf(tmp);
        return 0;
}
