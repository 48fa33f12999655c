/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The json-c helpers turn a failed allocation (a NULL value) into -ENOMEM
 * instead of a silently stored null. json-c has no allocator hook, so the
 * failure is a NULL passed in. */

#include "basic/json-util.h"
#include "basic/macro.h"
#include "basic/tests.h"

static void test_json_add(void) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *v;

        ASSERT_TRUE(o);
        ASSERT_ERROR(json_add(o, "k", NULL), ENOMEM);
        ASSERT_FALSE(json_object_object_get_ex(o, "k", NULL));
        ASSERT_EQ(json_object_object_length(o), 0);

        ASSERT_OK(json_add(o, "k", json_object_new_int(7)));
        ASSERT_TRUE(json_object_object_get_ex(o, "k", &v));
        ASSERT_EQ(json_object_get_int(v), 7);
}

static void test_json_append(void) {
        _cleanup_(json_object_putp) json_object *a = json_object_new_array();

        ASSERT_TRUE(a);
        ASSERT_ERROR(json_append(a, NULL), ENOMEM);
        ASSERT_EQ(json_object_array_length(a), 0);

        ASSERT_OK(json_append(a, json_object_new_string("x")));
        ASSERT_EQ(json_object_array_length(a), 1);
        ASSERT_STREQ(json_object_get_string(json_object_array_get_idx(a, 0)), "x");
}

static void test_json_add_string_or_null(void) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *v = (json_object *) 1;

        ASSERT_TRUE(o);
        /* NULL s is a deliberate null, present under its key */
        ASSERT_OK(json_add_string_or_null(o, "absent", NULL));
        ASSERT_TRUE(json_object_object_get_ex(o, "absent", &v));
        ASSERT_TRUE(v == NULL);
        ASSERT_OK(json_add_string_or_null(o, "s", "lean"));
        ASSERT_TRUE(json_object_object_get_ex(o, "s", &v));
        ASSERT_STREQ(json_object_get_string(v), "lean");
}

static void test_json_strv_new(void) {
        _cleanup_(json_object_putp) json_object *a = NULL, *e = NULL;
        char *l[] = { (char *) "a", (char *) "b", NULL };

        a = json_strv_new(l);
        ASSERT_TRUE(a);
        ASSERT_EQ(json_object_array_length(a), 2);
        ASSERT_STREQ(json_object_get_string(json_object_array_get_idx(a, 1)), "b");
        e = json_strv_new(NULL);
        ASSERT_TRUE(e);
        ASSERT_EQ(json_object_array_length(e), 0);
}

int main(void) {
        test_json_add();
        test_json_append();
        test_json_add_string_or_null();
        test_json_strv_new();
        return 0;
}
