/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>

#include "basic/fileio.h"
#include "basic/hash.h"
#include "basic/tests.h"

static void test_vectors(void) {
        /* Published FNV-1a 64 test vectors. */
        ASSERT_EQ(hash_fnv1a64("", 0), UINT64_C(0xcbf29ce484222325));
        ASSERT_EQ(hash_string("a"), UINT64_C(0xaf63dc4c8601ec8c));
        ASSERT_EQ(hash_string("foobar"), UINT64_C(0x85944171f73967e8));

        /* incremental = one shot */
        uint64_t h = hash_fnv1a64_update(HASH_FNV1A64_INIT, "foo", 3);
        h = hash_fnv1a64_update(h, "bar", 3);
        ASSERT_EQ(h, hash_string("foobar"));
        ASSERT_TRUE(hash_string("/home/u/proj") != hash_string("/home/u/proj/"));
}

static void test_hex16(void) {
        char buf[HASH_HEX16_MAX];

        ASSERT_STREQ(hash_to_hex16(0, buf), "0000000000000000");
        ASSERT_STREQ(hash_to_hex16(UINT64_C(0x85944171f73967e8), buf), "85944171f73967e8");
        ASSERT_STREQ(hash_to_hex16(UINT64_C(0xabc), buf), "0000000000000abc");
        ASSERT_STREQ(hash_to_hex16(UINT64_MAX, buf), "ffffffffffffffff");
        ASSERT_EQ(strlen(buf), 16);
}

static void test_file(void) {
        char path[] = "/tmp/test-hash-XXXXXX";
        char big[200000];
        uint64_t h;
        int fd;

        fd = mkstemp(path);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(hash_file(path, &h));
        ASSERT_EQ(h, HASH_FNV1A64_INIT);

        /* bigger than the read buffer, so streaming is exercised */
        for (size_t i = 0; i < sizeof big; i++)
                big[i] = (char) (i * 7 + 3);
        ASSERT_EQ(write(fd, big, sizeof big), (ssize_t) sizeof big);
        close(fd);
        ASSERT_OK(hash_file(path, &h));
        ASSERT_EQ(h, hash_fnv1a64(big, sizeof big));

        _cleanup_free_ char *content = NULL;
        size_t size;
        ASSERT_OK(read_full_file(path, 0, &content, &size));
        ASSERT_EQ(size, sizeof big);
        ASSERT_TRUE(memcmp(content, big, sizeof big) == 0);
        content = mfree(content);
        ASSERT_ERROR(read_full_file(path, 1000, &content, &size), EFBIG);
        ASSERT_OK(read_full_file(path, sizeof big, &content, NULL));
        content = mfree(content);
        ASSERT_ERROR(read_full_file("/tmp", 0, &content, NULL), EISDIR);

        unlink(path);
        ASSERT_ERROR(hash_file(path, &h), ENOENT);
}

static void test_utf8(void) {
        size_t off;

        ASSERT_TRUE(utf8_is_valid_n("plain", 5, NULL));
        ASSERT_TRUE(utf8_is_valid_n("h\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80", 12, NULL));
        ASSERT_FALSE(utf8_is_valid_n("ab\xff", 3, &off));
        ASSERT_EQ(off, 2);
        ASSERT_FALSE(utf8_is_valid_n("\xc0\xaf", 2, &off)); /* overlong '/' */
        ASSERT_FALSE(utf8_is_valid_n("\xed\xa0\x80", 3, &off)); /* surrogate */
        ASSERT_FALSE(utf8_is_valid_n("x\xe2\x86", 3, &off)); /* truncated */
        ASSERT_EQ(off, 1);
        ASSERT_FALSE(utf8_is_valid_n("a\0b", 3, &off));
        ASSERT_FALSE(utf8_is_valid_n("\xf4\x90\x80\x80", 4, &off)); /* > U+10FFFF */
}

int main(void) {
        test_vectors();
        test_hex16();
        test_file();
        test_utf8();
        return 0;
}
