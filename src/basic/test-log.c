/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/tests.h"

static void test_ratelimit_counts(void) {
        LogRateLimit rl = LOG_RATELIMIT_INIT(USEC_PER_SEC, 5);
        unsigned suppressed, allowed = 0;

        for (unsigned i = 0; i < 100; i++)
                allowed += log_ratelimit_below(&rl, 1000 + i, &suppressed);
        ASSERT_EQ(allowed, 5);
        /* the next interval lets messages through again and reports the drop once */
        ASSERT_TRUE(log_ratelimit_below(&rl, 1000 + USEC_PER_SEC, &suppressed));
        ASSERT_EQ(suppressed, 95);
        ASSERT_TRUE(log_ratelimit_below(&rl, 1001 + USEC_PER_SEC, &suppressed));
        ASSERT_EQ(suppressed, 0);
}

static void test_ratelimit_disabled(void) {
        LogRateLimit rl = LOG_RATELIMIT_INIT(0, 0);
        unsigned suppressed;

        for (unsigned i = 0; i < 1000; i++)
                ASSERT_TRUE(log_ratelimit_below(&rl, i, &suppressed));
}

/* 1000 warnings in a burst give burst lines on stderr, not 1000. */
static void test_ratelimit_output(void) {
        LogRateLimit rl = LOG_RATELIMIT_INIT(60 * USEC_PER_SEC, 3);
        char buf[65536];
        FILE *f = tmpfile();
        int saved = dup(STDERR_FILENO);
        size_t n, lines = 0;

        ASSERT_TRUE(f);
        ASSERT_TRUE(saved >= 0);
        fflush(stderr);
        ASSERT_TRUE(dup2(fileno(f), STDERR_FILENO) >= 0);
        for (unsigned i = 0; i < 1000; i++)
                log_ratelimit_warning(&rl, "Rejecting connection %u.", i);
        fflush(stderr);
        ASSERT_TRUE(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);

        rewind(f);
        n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
        for (size_t i = 0; i < n; i++)
                lines += buf[i] == '\n';
        ASSERT_EQ(lines, 3);
        ASSERT_TRUE(strstr(buf, "Rejecting connection 2."));
        ASSERT_FALSE(strstr(buf, "Rejecting connection 3."));
}

/* Structured fields in the stderr/log-file form: values with spaces are quoted. */
static void test_struct_fields_quoted(void) {
        char buf[4096];
        FILE *f = tmpfile();
        int saved = dup(STDERR_FILENO);
        size_t n;

        ASSERT_TRUE(f);
        fflush(stderr);
        ASSERT_TRUE(dup2(fileno(f), STDERR_FILENO) >= 0);
        log_struct_internal(LOG_WARNING, 0, "Worker restarted.",
                            "LEAN_HOST_CAUSE=rss_post_job",
                            "LEAN_HOST_PROJECT=/home/a b/proj",
                            "LEAN_HOST_DETAIL=say \"hi\"\\\n",
                            "LEAN_HOST_EMPTY=",
                            NULL);
        fflush(stderr);
        ASSERT_TRUE(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        rewind(f);
        n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
        ASSERT_TRUE(strstr(buf, " LEAN_HOST_CAUSE=rss_post_job "));
        ASSERT_TRUE(strstr(buf, " LEAN_HOST_PROJECT=\"/home/a b/proj\""));
        ASSERT_TRUE(strstr(buf, " LEAN_HOST_DETAIL=\"say \\\"hi\\\"\\\\\\n\""));
        ASSERT_TRUE(strstr(buf, " LEAN_HOST_EMPTY=\"\"\n"));
}

int main(void) {
        log_setup("test-log", LOG_TARGET_STDERR);
        test_ratelimit_counts();
        test_ratelimit_disabled();
        test_ratelimit_output();
        test_struct_fields_quoted();
        return 0;
}
