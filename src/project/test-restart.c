/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "basic/tests.h"
#include "project/restart.h"

#define S(x) ((usec_t) (x) * USEC_PER_SEC)

static void test_basic(void) {
        RestartWindow w;

        ASSERT_OK(restart_window_init(&w, 3, S(60)));
        ASSERT_EQ(restart_window_count(&w, S(100)), 0);
        ASSERT_FALSE(restart_window_is_full(&w, S(100)));
        ASSERT_EQ(restart_window_retry_after(&w, S(100)), 0);

        ASSERT_OK(restart_window_record(&w, S(100)));
        ASSERT_OK(restart_window_record(&w, S(110)));
        ASSERT_OK(restart_window_record(&w, S(120)));
        ASSERT_EQ(restart_window_count(&w, S(121)), 3);
        ASSERT_TRUE(restart_window_is_full(&w, S(121)));

        /* the 4th abnormal restart inside the window is refused and not recorded */
        ASSERT_ERROR(restart_window_record(&w, S(130)), EBUSY);
        ASSERT_EQ(restart_window_count(&w, S(130)), 3);

        /* retry after: until the oldest (t=100) leaves at t>160 */
        ASSERT_EQ(restart_window_retry_after(&w, S(130)), S(30) + 1);
        ASSERT_EQ(restart_window_retry_after(&w, S(160)), 1);
        ASSERT_TRUE(restart_window_is_full(&w, S(160)));
        ASSERT_FALSE(restart_window_is_full(&w, S(160) + 1));
        ASSERT_EQ(restart_window_retry_after(&w, S(160) + 1), 0);
        ASSERT_EQ(restart_window_count(&w, S(160) + 1), 2);

        /* ring wraps */
        ASSERT_OK(restart_window_record(&w, S(161)));
        ASSERT_ERROR(restart_window_record(&w, S(162)), EBUSY);
        ASSERT_EQ(restart_window_retry_after(&w, S(162)), S(8) + 1); /* oldest now t=110 */
        ASSERT_EQ(restart_window_count(&w, S(1000)), 0);
        for (unsigned i = 0; i < 3; i++)
                ASSERT_OK(restart_window_record(&w, S(1000 + i)));
        ASSERT_ERROR(restart_window_record(&w, S(1003)), EBUSY);
        restart_window_done(&w);
}

static void test_limit_one(void) {
        RestartWindow w;

        ASSERT_OK(restart_window_init(&w, 1, S(5)));
        ASSERT_OK(restart_window_record(&w, S(1)));
        ASSERT_ERROR(restart_window_record(&w, S(2)), EBUSY);
        ASSERT_OK(restart_window_record(&w, S(7)));
        restart_window_done(&w);
}

static void test_zero_limit(void) {
        RestartWindow w;

        /* limit 0: every abnormal restart refused (config validation should prevent it) */
        ASSERT_OK(restart_window_init(&w, 0, S(5)));
        ASSERT_TRUE(restart_window_is_full(&w, S(1)));
        ASSERT_ERROR(restart_window_record(&w, S(1)), EBUSY);
        restart_window_done(&w);
}

int main(void) {
        test_basic();
        test_limit_one();
        test_zero_limit();
        return 0;
}
