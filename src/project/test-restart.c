/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "basic/tests.h"
#include "project/restart-policy.h"
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

static void test_reset(void) {
        RestartWindow w;

        ASSERT_OK(restart_window_init(&w, 2, S(60)));
        ASSERT_OK(restart_window_record(&w, S(1)));
        ASSERT_OK(restart_window_record(&w, S(2)));
        ASSERT_TRUE(restart_window_is_full(&w, S(3)));
        restart_window_reset(&w);
        ASSERT_EQ(restart_window_count(&w, S(3)), 0);
        ASSERT_EQ(restart_window_retry_after(&w, S(3)), 0);
        ASSERT_OK(restart_window_record(&w, S(4)));
        ASSERT_EQ(restart_window_count(&w, S(4)), 1);
        restart_window_done(&w);
}

static void test_may_retry(void) {
        /* read-only, first crash: once */
        ASSERT_TRUE(restart_policy_may_retry(JOB_READ_ONLY, 0, RESTART_CAUSE_CHILD_EXIT));
        ASSERT_TRUE(restart_policy_may_retry(JOB_READ_ONLY, 0, RESTART_CAUSE_CHILD_ABORT));
        ASSERT_TRUE(restart_policy_may_retry(JOB_READ_ONLY | JOB_HEAVY, 0, RESTART_CAUSE_SESSION_MISSING));
        ASSERT_FALSE(restart_policy_may_retry(JOB_READ_ONLY, 1, RESTART_CAUSE_CHILD_EXIT));
        ASSERT_FALSE(restart_policy_may_retry(0, 0, RESTART_CAUSE_CHILD_EXIT));
        /* the hard tier would only kill it again; planned ends are not crashes */
        ASSERT_FALSE(restart_policy_may_retry(JOB_READ_ONLY, 0, RESTART_CAUSE_RSS_HARD_LIMIT));
        ASSERT_FALSE(restart_policy_may_retry(JOB_READ_ONLY, 0, RESTART_CAUSE_CANCELLED));
        ASSERT_FALSE(restart_policy_may_retry(JOB_READ_ONLY, 0, RESTART_CAUSE_RSS_POST_JOB));
        /* a client's cancel is planned: it never counts toward the window */
        ASSERT_FALSE(restart_cause_counts_toward_limit(RESTART_CAUSE_CANCELLED));
        ASSERT_TRUE(restart_cause_is_planned(RESTART_CAUSE_CANCELLED));
        ASSERT_TRUE(restart_cause_counts_toward_limit(RESTART_CAUSE_TIMEOUT));
        /* a reply over worker.max_reply_bytes is the input's fault: never retried, never counted */
        ASSERT_FALSE(restart_policy_may_retry(JOB_READ_ONLY, 0, RESTART_CAUSE_REPLY_TOO_LARGE));
        ASSERT_FALSE(restart_cause_counts_toward_limit(RESTART_CAUSE_REPLY_TOO_LARGE));
        ASSERT_STREQ(restart_cause_to_string(RESTART_CAUSE_REPLY_TOO_LARGE), "reply_too_large");
        ASSERT_EQ(restart_cause_from_string("reply_too_large"), RESTART_CAUSE_REPLY_TOO_LARGE);
}

static void test_command_hash(void) {
        json_object *a = json_tokener_parse("{\"cmd\": \"#eval 1\", \"env\": 0}");
        json_object *b = json_tokener_parse("{\"env\": 3, \"cmd\": \"#eval 1\"}");
        json_object *c = json_tokener_parse("{\"cmd\": \"#eval 2\", \"env\": 0}");
        json_object *t1 = json_tokener_parse("{\"tactic\": \"simp\", \"proofState\": 1}");
        json_object *t2 = json_tokener_parse("{\"tactic\": \"simp\", \"proofState\": 7}");

        ASSERT_TRUE(a && b && c && t1 && t2);
        /* the worker-local handles do not matter; the input does */
        ASSERT_EQ(restart_policy_command_hash("Mathlib", a), restart_policy_command_hash("Mathlib", b));
        ASSERT_TRUE(restart_policy_command_hash("Mathlib", a) != restart_policy_command_hash("Mathlib", c));
        ASSERT_TRUE(restart_policy_command_hash("Mathlib", a) != restart_policy_command_hash("Init", a));
        ASSERT_TRUE(restart_policy_command_hash("", a) != restart_policy_command_hash(NULL, t1));
        ASSERT_EQ(restart_policy_command_hash(NULL, t1), restart_policy_command_hash("", t2));
        json_object_put(a);
        json_object_put(b);
        json_object_put(c);
        json_object_put(t1);
        json_object_put(t2);
}

int main(void) {
        test_reset();
        test_may_retry();
        test_command_hash();
        test_basic();
        test_limit_one();
        test_zero_limit();
        return 0;
}
