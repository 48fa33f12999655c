/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "basic/list.h"
#include "basic/tests.h"

typedef struct Item Item;
struct Item {
        int v;
        LIST_FIELDS(Item, all);
        LIST_FIELDS(Item, odd);
};

static void check_order(Item *head, const int *want, size_t n) {
        size_t k = 0;
        Item *last = NULL;

        LIST_FOREACH(all, i, head) {
                ASSERT_TRUE(k < n);
                ASSERT_TRUE(i->v == want[k]);
                ASSERT_TRUE(i->all_prev == last);
                last = i;
                k++;
        }
        ASSERT_TRUE(k == n);
}

int main(void) {
        Item items[5] = {};
        Item *all, *odd;

        LIST_HEAD_INIT(all);
        LIST_HEAD_INIT(odd);
        ASSERT_TRUE(LIST_IS_EMPTY(all));
        for (int i = 0; i < 5; i++) {
                items[i].v = i;
                LIST_INIT(all, &items[i]);
                LIST_INIT(odd, &items[i]);
                ASSERT_FALSE(LIST_IS_LINKED(all, all, &items[i]));
                ASSERT_TRUE(LIST_PREPEND(all, all, &items[i]) == &items[i]);
                ASSERT_TRUE(LIST_IS_LINKED(all, all, &items[i]));
                if (i % 2)
                        LIST_PREPEND(odd, odd, &items[i]);
        }
        check_order(all, (const int[]) { 4, 3, 2, 1, 0 }, 5);

        /* middle, head, tail */
        ASSERT_TRUE(LIST_REMOVE(all, all, &items[2]) == &items[2]);
        ASSERT_FALSE(LIST_IS_LINKED(all, all, &items[2]));
        check_order(all, (const int[]) { 4, 3, 1, 0 }, 4);
        LIST_REMOVE(all, all, &items[4]);
        check_order(all, (const int[]) { 3, 1, 0 }, 3);
        LIST_REMOVE(all, all, &items[0]);
        check_order(all, (const int[]) { 3, 1 }, 2);

        /* the second list is independent of the first */
        ASSERT_TRUE(odd == &items[3] && odd->odd_next == &items[1] && !items[1].odd_next);

        /* removing while iterating */
        LIST_FOREACH_SAFE(all, i, n, all)
                LIST_REMOVE(all, all, i);
        ASSERT_TRUE(LIST_IS_EMPTY(all));
        ASSERT_FALSE(LIST_IS_LINKED(all, all, &items[3]));

        LIST_REMOVE(odd, odd, &items[3]);
        ASSERT_TRUE(odd == &items[1] && !items[1].odd_prev);
        LIST_REMOVE(odd, odd, &items[1]);
        ASSERT_TRUE(LIST_IS_EMPTY(odd));
        return 0;
}
