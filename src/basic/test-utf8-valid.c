/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "basic/tests.h"
#include "basic/utf8.h"

/* utf8_is_valid_n() is utf8_first_invalid() plus "NUL is invalid": the same
 * answer and offset on every case. */
static void check(const char *s, size_t n, bool valid, size_t offset) {
        size_t bad = (size_t) -1;

        ASSERT_TRUE(utf8_is_valid_n(s, n, &bad) == valid);
        if (!valid)
                ASSERT_EQ(bad, offset);
        else
                ASSERT_EQ(bad, (size_t) -1); /* untouched */
}

int main(void) {
        check("", 0, true, 0);
        check("plain ascii, longer than eight bytes", 36, true, 0);
        check("p\xc3\xa4th \xe2\x82\xac \xf0\x9f\x98\x80", 14, true, 0);
        check("ab\0cd", 5, false, 2);                   /* embedded NUL */
        check("abc\xc0\x80", 5, false, 3);              /* overlong NUL */
        check("abcdefghij\xe0\x80\xaf", 13, false, 10); /* overlong '/' after the ASCII fast path */
        check("x\xed\xa0\x80", 4, false, 1);            /* surrogate U+D800 */
        check("x\xf4\x90\x80\x80", 5, false, 1);        /* above U+10FFFF */
        check("x\xe2\x82", 3, false, 1);                /* cut short */
        check("\xff", 1, false, 0);
        ASSERT_EQ(utf8_first_invalid("ab\0cd", 5), 5u); /* the MCP checker lets NUL through */
        ASSERT_TRUE(utf8_is_valid("ok"));
        ASSERT_FALSE(utf8_is_valid(NULL));
        return 0;
}
