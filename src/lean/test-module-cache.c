/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "basic/tests.h"
#include "lean/cache.h"

static json_object *value_of(size_t n) {
        char *s = malloc(n + 1);
        json_object *v;

        ASSERT_TRUE(s);
        memset(s, 'x', n);
        s[n] = 0;
        v = json_object_new_string(s);
        free(s);
        return v;
}

static void test_lru_order(void) {
        _cleanup_(lean_cache_freep) LeanCache *c = NULL;
        json_object *v;

        ASSERT_TRUE(lean_cache_new(&c, 2, 1 << 20) == 0);
        for (int i = 0; i < 2; i++) {
                char key[8];
                snprintf(key, sizeof key, "k%d", i);
                v = json_object_new_int(i);
                ASSERT_TRUE(lean_cache_put(c, key, v) == 0);
                json_object_put(v);
        }
        /* touch k0, so k1 is the least recently used */
        v = lean_cache_get(c, "k0");
        ASSERT_TRUE(v && json_object_get_int(v) == 0);
        json_object_put(v);
        v = json_object_new_int(2);
        ASSERT_TRUE(lean_cache_put(c, "k2", v) == 0);
        json_object_put(v);
        ASSERT_TRUE(lean_cache_get_n_entries(c) == 2);
        ASSERT_TRUE(lean_cache_get(c, "k1") == NULL);
        v = lean_cache_get(c, "k0");
        ASSERT_TRUE(v);
        json_object_put(v);
        v = lean_cache_get(c, "k2");
        ASSERT_TRUE(v && json_object_get_int(v) == 2);
        json_object_put(v);
        ASSERT_TRUE(lean_cache_get_hits(c) == 3);
        ASSERT_TRUE(lean_cache_get_misses(c) == 1);
}

static void test_byte_bound(void) {
        _cleanup_(lean_cache_freep) LeanCache *c = NULL;
        json_object *v;

        ASSERT_TRUE(lean_cache_new(&c, 100, 1000) == 0);
        for (int i = 0; i < 10; i++) {
                char key[8];
                snprintf(key, sizeof key, "b%d", i);
                v = value_of(300);
                ASSERT_TRUE(lean_cache_put(c, key, v) == 0);
                json_object_put(v);
                ASSERT_TRUE(lean_cache_get_bytes(c) <= 1000);
        }
        ASSERT_TRUE(lean_cache_get_n_entries(c) == 3);   /* 3 × ~305 bytes */
        v = lean_cache_get(c, "b9");
        ASSERT_TRUE(v);
        json_object_put(v);
        ASSERT_TRUE(lean_cache_get(c, "b0") == NULL);

        /* larger than the whole cache: not stored, nothing evicted */
        v = value_of(5000);
        ASSERT_TRUE(lean_cache_put(c, "huge", v) == 0);
        json_object_put(v);
        ASSERT_TRUE(lean_cache_get(c, "huge") == NULL);
        ASSERT_TRUE(lean_cache_get_n_entries(c) == 3);

        /* replacing a key keeps one entry and the byte count right */
        v = value_of(10);
        ASSERT_TRUE(lean_cache_put(c, "b9", v) == 0);
        json_object_put(v);
        ASSERT_TRUE(lean_cache_get_n_entries(c) == 3);
        ASSERT_TRUE(lean_cache_get_bytes(c) < 1000);
}

static void test_many(void) {
        _cleanup_(lean_cache_freep) LeanCache *c = NULL;

        ASSERT_TRUE(lean_cache_new(&c, 256, 32 << 20) == 0);
        for (int i = 0; i < 5000; i++) {
                char key[32];
                json_object *v = json_object_new_int(i);
                snprintf(key, sizeof key, "project/module-%d", i);
                ASSERT_TRUE(lean_cache_put(c, key, v) == 0);
                json_object_put(v);
        }
        ASSERT_TRUE(lean_cache_get_n_entries(c) == 256);
        for (int i = 5000 - 256; i < 5000; i++) {
                char key[32];
                json_object *v;
                snprintf(key, sizeof key, "project/module-%d", i);
                v = lean_cache_get(c, key);
                ASSERT_TRUE(v && json_object_get_int(v) == i);
                json_object_put(v);
        }
}

int main(void) {
        test_lru_order();
        test_byte_bound();
        test_many();
        return 0;
}
