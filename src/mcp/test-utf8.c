/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "basic/tests.h"
#include "mcp/utf8.h"

static void test_first_invalid(void) {
        static const struct {
                const char *s;
                size_t n, bad;
        } cases[] = {
                { "plain", 5, 5 },
                { "\xc3\xa9t\xc3\xa9", 6, 6 },                 /* été */
                { "\xf0\x9f\x98\x80", 4, 4 },                  /* U+1F600 */
                { "a\xc0\x80", 3, 1 },                          /* overlong NUL */
                { "ab\xe0\x80\x80", 5, 2 },                     /* overlong 3-byte */
                { "\xf0\x80\x80\x80", 4, 0 },                   /* overlong 4-byte */
                { "x\xed\xa0\x80", 4, 1 },                      /* surrogate U+D800 */
                { "\xf4\x90\x80\x80", 4, 0 },                   /* above U+10FFFF */
                { "\xf5\x80\x80\x80", 4, 0 },
                { "abc\xff", 4, 3 },
                { "\xc3", 1, 0 },                               /* cut short */
                { "\xe2\x82", 2, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                ASSERT_EQ(utf8_first_invalid(cases[i].s, cases[i].n), cases[i].bad);
}

static void test_escapes(void) {
        static const struct {
                const char *s;
                JsonTextProblem want;
                size_t offset;
        } cases[] = {
                { "{\"id\":\"\\ud83d\\ude00\"}", JSON_TEXT_OK, 0 },
                { "{\"id\":\"\\u00e9\\u0041\"}", JSON_TEXT_OK, 0 },
                { "{\"id\":\"\\ud800\"}", JSON_TEXT_LONE_SURROGATE, 7 },
                { "{\"id\":\"\\udc00x\"}", JSON_TEXT_LONE_SURROGATE, 7 },
                { "{\"id\":\"\\ud800\\u0041\"}", JSON_TEXT_LONE_SURROGATE, 7 },
                { "{\"id\":\"\\uD800\\uDBFF\"}", JSON_TEXT_LONE_SURROGATE, 7 },
                { "{\"id\":\"\\\\ud800\"}", JSON_TEXT_OK, 0 },       /* an escaped backslash, then text */
                { "{\"a\\\"\\ud800\":1}", JSON_TEXT_LONE_SURROGATE, 5 },
                { "{\"na\\u0000me\":1}", JSON_TEXT_NUL_IN_NAME, 1 },
                { "{\"x\":\"va\\u0000lue\"}", JSON_TEXT_OK, 0 },     /* a value: checked where used */
                { "{\"x\":[\"a\\u0000\" , 1]}", JSON_TEXT_OK, 0 },
                { "{\"x\":{\"k\\u0000\" :1}}", JSON_TEXT_NUL_IN_NAME, 6 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                size_t off = 0;
                JsonTextProblem p = json_text_check_escapes(cases[i].s, strlen(cases[i].s), &off);

                if (p != cases[i].want)
                        fprintf(stderr, "case %zu: %s\n", i, cases[i].s);
                ASSERT_EQ(p, cases[i].want);
                if (p != JSON_TEXT_OK)
                        ASSERT_EQ(off, cases[i].offset);
        }
}

static void test_nul_strings(void) {
        json_object *o = json_tokener_parse("{\"project\":\"/p\",\"files\":[\"a\",\"b\\u0000c\"],\"n\":{\"code\":\"x\"}}");
        char where[128];

        ASSERT_TRUE(o);
        ASSERT_TRUE(json_find_nul_string(o, "params.arguments", where, sizeof where));
        ASSERT_STREQ(where, "params.arguments.files[1]");
        json_object_put(o);

        o = json_tokener_parse("{\"project\":\"/p\",\"code\":\"def a := 1\"}");
        ASSERT_FALSE(json_find_nul_string(o, "params.arguments", where, sizeof where));
        json_object_put(o);

        o = json_tokener_parse("\"lean_run\\u0000x\"");
        ASSERT_FALSE(json_string_is_clean(o));
        json_object_put(o);
}

static void test_sanitize(void) {
        const char in[] = "a\xffz\xc0\x80";
        char out[32];
        size_t l = utf8_sanitized_length(in, sizeof in - 1);

        ASSERT_EQ(l, 2 + 3 * 3);
        utf8_sanitize_copy(out, in, sizeof in - 1);
        ASSERT_TRUE(memcmp(out, "a\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd", l) == 0);
}

/* The word-at-a-time ASCII path against a byte loop: a non-ASCII byte at
 * every offset, from every alignment, in buffers shorter and longer than a
 * word, including a valid multi-byte character right after an ASCII run. */
static void test_ascii_fast_path(void) {
        char buf[80];

        for (size_t start = 0; start < 8; start++)
                for (size_t len = 0; start + len <= sizeof buf; len++) {
                        memset(buf, 'a', sizeof buf);
                        ASSERT_EQ(utf8_ascii_prefix(buf + start, len), len);
                        ASSERT_EQ(utf8_first_invalid(buf + start, len), len);
                        ASSERT_EQ(utf8_sanitized_length(buf + start, len), len);
                        for (size_t at = 0; at < len; at++) {
                                char out[3 * sizeof buf];

                                memset(buf, 'a', sizeof buf);
                                buf[start + at] = (char) 0xff;
                                ASSERT_EQ(utf8_ascii_prefix(buf + start, len), at);
                                ASSERT_EQ(utf8_first_invalid(buf + start, len), at);
                                ASSERT_EQ(utf8_sanitized_length(buf + start, len), len + 2);
                                utf8_sanitize_copy(out, buf + start, len);
                                ASSERT_TRUE(memcmp(out + at, "\xef\xbf\xbd", 3) == 0);
                                ASSERT_EQ(out[0], at == 0 ? (char) 0xef : 'a');
                                ASSERT_EQ(out[len + 1], at == len - 1 ? (char) 0xbd : 'a');

                                buf[start + at] = 0x7f; /* the highest ASCII byte */
                                ASSERT_EQ(utf8_ascii_prefix(buf + start, len), len);

                                if (at + 2 <= len) { /* é: valid, not ASCII */
                                        memcpy(buf + start + at, "\xc3\xa9", 2);
                                        ASSERT_EQ(utf8_ascii_prefix(buf + start, len), at);
                                        ASSERT_EQ(utf8_first_invalid(buf + start, len), len);
                                        ASSERT_EQ(utf8_sanitized_length(buf + start, len), len);
                                        utf8_sanitize_copy(out, buf + start, len);
                                        ASSERT_TRUE(memcmp(out, buf + start, len) == 0);
                                }
                        }
                }
}

int main(void) {
        test_ascii_fast_path();
        test_first_invalid();
        test_escapes();
        test_nul_strings();
        test_sanitize();
        return 0;
}
