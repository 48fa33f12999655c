/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "basic/strv.h"
#include "basic/tests.h"

static void test_basic(void) {
        _cleanup_strv_free_ char **l = NULL, **c = NULL;
        _cleanup_free_ char *j = NULL, *j2 = NULL, *j3 = NULL;

        ASSERT_EQ(strv_length(NULL), 0);
        ASSERT_TRUE(strv_isempty(NULL));
        ASSERT_OK(strv_extend(&l, "lake"));
        ASSERT_OK(strv_extend(&l, "env"));
        ASSERT_OK(strv_extend(&l, "repl"));
        ASSERT_EQ(strv_length(l), 3);
        ASSERT_STREQ(l[0], "lake");
        ASSERT_STREQ(l[2], "repl");
        ASSERT_TRUE(l[3] == NULL);
        ASSERT_TRUE(strv_contains(l, "env"));
        ASSERT_FALSE(strv_contains(l, "en"));

        c = strv_copy(l);
        ASSERT_TRUE(c);
        ASSERT_TRUE(c != l && c[0] != l[0]);
        ASSERT_TRUE(strv_equal(l, c));
        free(c[2]);
        c[2] = strdup("REPL");
        ASSERT_FALSE(strv_equal(l, c));
        ASSERT_FALSE(strv_equal(l, NULL));

        j = strv_join(l, ", ");
        ASSERT_STREQ(j, "lake, env, repl");
        j2 = strv_join(l, NULL);
        ASSERT_STREQ(j2, "lake env repl");
        j3 = strv_join(NULL, "-");
        ASSERT_STREQ(j3, "");
}

static void test_empty(void) {
        _cleanup_strv_free_ char **e = NULL, **c = NULL;

        c = strv_copy(NULL);
        ASSERT_TRUE(c && !c[0]);
        ASSERT_TRUE(strv_equal(c, NULL));
        e = strv_free(e);
        ASSERT_TRUE(e == NULL);
}

static void check_split(const char *in, int expected_n, ...) {
        _cleanup_strv_free_ char **l = NULL;
        va_list ap;
        int r;

        r = strv_split_words(in, &l);
        if (r != expected_n)
                fprintf(stderr, "split '%s': got %d words, expected %d\n", in, r, expected_n);
        ASSERT_EQ(r, expected_n);
        ASSERT_EQ(strv_length(l), (size_t) expected_n);
        va_start(ap, expected_n);
        for (int i = 0; i < expected_n; i++)
                ASSERT_STREQ(l[i], va_arg(ap, const char *));
        va_end(ap);
}

static void test_split_words(void) {
        char **l = (char **) 0x1;

        check_split("", 0);
        check_split("   \t\n ", 0);
        check_split("lake env repl", 3, "lake", "env", "repl");
        check_split("  lake\tenv   repl  ", 3, "lake", "env", "repl");
        check_split("'/opt/my lean/bin/repl' --x", 2, "/opt/my lean/bin/repl", "--x");
        check_split("\"a b\" c", 2, "a b", "c");
        check_split("a\\ b c", 2, "a b", "c");
        check_split("'it''s'", 1, "its");
        check_split("a'b c'd", 1, "ab cd");
        check_split("'' x", 2, "", "x");
        check_split("\"\"", 1, "");
        check_split("\"say \\\"hi\\\" \\\\ \\n\"", 1, "say \"hi\" \\ \\n");
        check_split("'no \\escape'", 1, "no \\escape");
        check_split("$HOME *.lean ~", 3, "$HOME", "*.lean", "~");
        check_split("\\'x", 1, "'x");

        ASSERT_ERROR(strv_split_words("'unterminated", &l), EINVAL);
        ASSERT_ERROR(strv_split_words("\"unterminated", &l), EINVAL);
        ASSERT_ERROR(strv_split_words("\"a\\\"", &l), EINVAL);
        ASSERT_ERROR(strv_split_words("trailing\\", &l), EINVAL);
        ASSERT_TRUE(l == (char **) 0x1); /* untouched on failure */
}

int main(void) {
        test_basic();
        test_empty();
        test_split_words();
        return 0;
}
