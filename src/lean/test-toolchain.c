/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* elan's toolchain names and the REPL revision table (lean/toolchain.h). */

#include <stdio.h>
#include <stdlib.h>

#include "basic/fileio.h"
#include "basic/strv.h"
#include "basic/tests.h"
#include "lean/toolchain.h"

/* pin → f(parsed pin) */
static char *from_pin(const char *pin, char *(*f)(const LeanToolchain *t)) {
        LeanToolchain t;
        char *n;

        ASSERT_OK(lean_toolchain_parse(pin, &t));
        n = f(&t);
        lean_toolchain_done(&t);
        return n;
}

static char *elan_name(const char *pin) {
        return from_pin(pin, lean_toolchain_elan_name);
}

static char *elan_dir(const char *pin) {
        return from_pin(pin, lean_toolchain_elan_dirname);
}

static void test_elan_names(void) {
        static const struct {
                const char *pin, *name, *dir;
        } cases[] = {
                { "leanprover/lean4:v4.19.0", "leanprover/lean4:v4.19.0", "leanprover--lean4---v4.19.0" },
                { "v4.9.0", "leanprover/lean4:v4.9.0", "leanprover--lean4---v4.9.0" },
                { "4.9.0", "leanprover/lean4:v4.9.0", "leanprover--lean4---v4.9.0" },
                { "leanprover/lean4:nightly-2024-05-01", "leanprover/lean4-nightly:nightly-2024-05-01",
                  "leanprover--lean4-nightly---nightly-2024-05-01" },
                { "leanprover/lean4-nightly:nightly-2024-05-01", "leanprover/lean4-nightly:nightly-2024-05-01",
                  "leanprover--lean4-nightly---nightly-2024-05-01" },
                { "leanprover/lean4-pr-releases:pr-release-1234", "leanprover/lean4-pr-releases:pr-release-1234",
                  "leanprover--lean4-pr-releases---pr-release-1234" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *n = elan_name(cases[i].pin), *d = elan_dir(cases[i].pin);

                ASSERT_STREQ(n, cases[i].name);
                ASSERT_STREQ(d, cases[i].dir);
        }
        /* channels: only elan (and the network) resolve them */
        ASSERT_TRUE(elan_name("stable") == NULL);
        ASSERT_TRUE(elan_dir("leanprover/lean4:nightly") == NULL);

        ASSERT_TRUE(lean_toolchain_pin_equal("v4.9.0", "leanprover/lean4:v4.9.0"));
        ASSERT_FALSE(lean_toolchain_pin_equal("v4.9.0", "leanprover/lean4:v4.9.0-rc1"));
        ASSERT_FALSE(lean_toolchain_pin_equal("v4.9.0", NULL));
}

static void test_revisions(void) {
        LeanReplRevisions r;
        LeanToolchain t;
        unsigned line = 0;

        ASSERT_OK(lean_repl_revisions_parse("# comment\n\n"
                                            "leanprover/lean4:v4.19.0 3b27c85 v4.19.0\n"
                                            "leanprover/lean4:v4.20.1 8d02513   # no tag\n"
                                            "v4.19.0 local-fix\n", &r, &line));
        ASSERT_OK(lean_toolchain_parse("leanprover/lean4:v4.20.1", &t));
        ASSERT_STREQ(lean_repl_revisions_find(&r, &t), "8d02513");
        lean_toolchain_done(&t);
        /* a later line for the same toolchain wins (override files append) */
        ASSERT_OK(lean_toolchain_parse("leanprover/lean4:v4.19.0", &t));
        ASSERT_STREQ(lean_repl_revisions_find(&r, &t), "local-fix");
        lean_toolchain_done(&t);
        ASSERT_OK(lean_toolchain_parse("leanprover/lean4:v4.12.0", &t));
        ASSERT_TRUE(lean_repl_revisions_find(&r, &t) == NULL);
        lean_toolchain_done(&t);
        lean_repl_revisions_done(&r);

        ASSERT_ERROR(lean_repl_revisions_parse("v4.19.0 abc\nonly-one-word\n", &r, &line), EBADMSG);
        ASSERT_EQ(line, 2u);
}

/* The shipped table (data/repl-revisions) parses and says what the REPL
 * repository says: no revision for v4.12/v4.13, a commit for untagged pins. */
static void test_shipped_table(void) {
        _cleanup_free_ char *text = NULL;
        const char *path = getenv("LEAN_HOST_REPL_REVISIONS");
        LeanReplRevisions r;
        LeanToolchain t;
        unsigned line = 0;

        if (!path) {
                printf("LEAN_HOST_REPL_REVISIONS not set: shipped table not checked\n");
                return;
        }
        ASSERT_OK(read_full_file(path, 0, &text, NULL));
        ASSERT_OK(lean_repl_revisions_parse(text, &r, &line));
        ASSERT_TRUE(strv_length(r.pins) > 50);
        static const char *const none[] = { "v4.12.0", "v4.13.0" };
        for (size_t i = 0; i < ELEMENTSOF(none); i++) {
                ASSERT_OK(lean_toolchain_parse(none[i], &t));
                ASSERT_TRUE(lean_repl_revisions_find(&r, &t) == NULL);
                lean_toolchain_done(&t);
        }
        /* untagged in the REPL repository, but a commit pins them */
        static const char *const untagged[] = { "v4.20.1", "v4.23.0", "v4.11.0" };
        for (size_t i = 0; i < ELEMENTSOF(untagged); i++) {
                ASSERT_OK(lean_toolchain_parse(untagged[i], &t));
                ASSERT_EQ(strlen(lean_repl_revisions_find(&r, &t)), 40u);
                lean_toolchain_done(&t);
        }
        ASSERT_OK(lean_toolchain_parse("leanprover/lean4:v4.33.0-rc2", &t));
        ASSERT_STREQ(lean_repl_revisions_find(&r, &t), "8948401ab4924499421c94b7facdfca5ff27d81d");
        lean_toolchain_done(&t);
        lean_repl_revisions_done(&r);
}

int main(void) {
        test_elan_names();
        test_revisions();
        test_shipped_table();
        printf("OK\n");
        return 0;
}
