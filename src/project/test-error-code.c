/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "basic/tests.h"
#include "lean/readiness.h"
#include "project/error.h"
#include "worker/restart-cause.h"

static void test_table(void) {
        for (LhErrorCode c = 0; c < _LH_ERROR_CODE_MAX; c++) {
                const char *s = lh_error_code_to_string(c);

                ASSERT_TRUE(s);
                ASSERT_EQ(lh_error_code_from_string(s), c);
                /* each spelled once */
                for (LhErrorCode d = 0; d < c; d++)
                        ASSERT_FALSE(streq(s, lh_error_code_to_string(d)));
        }
        ASSERT_TRUE(lh_error_code_to_string(_LH_ERROR_CODE_MAX) == NULL);
        ASSERT_TRUE(lh_error_code_to_string(_LH_ERROR_CODE_INVALID) == NULL);
        ASSERT_EQ(lh_error_code_from_string(NULL), _LH_ERROR_CODE_INVALID);
        /* one name for an internal failure */
        ASSERT_EQ(lh_error_code_from_string("internal"), _LH_ERROR_CODE_INVALID);
        ASSERT_STREQ(lh_error_code_to_string(LH_ERROR_INTERNAL_ERROR), "internal_error");

        ASSERT_TRUE(lh_error_code_retryable(LH_ERROR_MAILBOX_FULL));
        ASSERT_TRUE(lh_error_code_retryable(LH_ERROR_PROVISIONING));
        ASSERT_FALSE(lh_error_code_retryable(LH_ERROR_INVALID_ARGUMENTS));
        ASSERT_FALSE(lh_error_code_retryable(LH_ERROR_INTERNAL_ERROR));
}

/* A project whose Lean cannot run answers with its readiness state as the code. */
static void test_readiness_codes(void) {
        for (LeanReadinessState s = 0; s < _LEAN_READINESS_MAX; s++)
                if (!lean_readiness_state_is_usable(s))
                        ASSERT_TRUE(lh_error_code_from_string(lean_readiness_state_to_string(s)) >= 0);
}

static void test_error_json(void) {
        char buf[] = "worker_unavailable";
        LhError e;
        json_object *o, *v;

        /* the table's own string is kept, not the caller's buffer */
        lh_error_set(&e, buf, true, "x");
        buf[0] = 'W';
        ASSERT_STREQ(e.code, "worker_unavailable");
        ASSERT_STREQ(e.message, "x");
        ASSERT_TRUE(e.retryable);
        lh_error_done(&e);

        /* the message is formatted (lh_error_setv()) and cut to the buffer */
        lh_error_set(&e, "invalid_arguments", false, "arguments.%s[%d]: %s", "snippets", 3, "bad");
        ASSERT_STREQ(e.message, "arguments.snippets[3]: bad");
        ASSERT_FALSE(e.retryable);
        lh_error_done(&e);
        lh_error_set(&e, "invalid_arguments", false, "%0*d", (int) sizeof e.message + 10, 7);
        ASSERT_EQ(strlen(e.message), sizeof e.message - 1);
        lh_error_done(&e);
        lh_error_set(&e, "invalid_arguments", false, NULL);
        ASSERT_STREQ(e.message, "");
        lh_error_done(&e);

        /* no code set: internal_error */
        e = (LhError) { .restart_cause = _RESTART_CAUSE_INVALID };
        o = lh_error_to_json(&e);
        ASSERT_TRUE(o);
        ASSERT_TRUE(json_object_object_get_ex(o, "code", &v));
        ASSERT_STREQ(json_object_get_string(v), "internal_error");
        json_object_put(o);
}

int main(void) {
        test_table();
        test_readiness_codes();
        test_error_json();
        return 0;
}
