/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "basic/string-table.h"
#include "basic/tests.h"

typedef enum Fruit {
        FRUIT_APPLE,
        FRUIT_PEAR,
        FRUIT_PLUM,
        _FRUIT_MAX,
        _FRUIT_INVALID = -EINVAL,
} Fruit;

static const char *const fruit_table[_FRUIT_MAX] = {
        [FRUIT_APPLE] = "apple",
        [FRUIT_PLUM] = "plum", /* FRUIT_PEAR: a hole */
};

DEFINE_PRIVATE_STRING_TABLE_LOOKUP(fruit, Fruit);

int main(void) {
        ASSERT_STREQ(fruit_to_string(FRUIT_APPLE), "apple");
        ASSERT_STREQ(fruit_to_string(FRUIT_PLUM), "plum");
        ASSERT_TRUE(fruit_to_string(FRUIT_PEAR) == NULL);
        ASSERT_TRUE(fruit_to_string(_FRUIT_MAX) == NULL);
        ASSERT_TRUE(fruit_to_string(_FRUIT_INVALID) == NULL);
        ASSERT_TRUE(fruit_to_string((Fruit) -1) == NULL);

        ASSERT_EQ(fruit_from_string("apple"), FRUIT_APPLE);
        ASSERT_EQ(fruit_from_string("plum"), FRUIT_PLUM);
        ASSERT_EQ(fruit_from_string("pear"), _FRUIT_INVALID);
        ASSERT_EQ(fruit_from_string(""), _FRUIT_INVALID);
        ASSERT_EQ(fruit_from_string("Apple"), _FRUIT_INVALID);
        ASSERT_EQ(fruit_from_string(NULL), _FRUIT_INVALID);
        return 0;
}
