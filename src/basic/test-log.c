/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <pthread.h>
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

/* stderr into a temporary file until capture_end(), which reads it into buf. */
typedef struct Capture {
        FILE *f;
        int saved;
} Capture;

static Capture capture_begin(void) {
        Capture c = { tmpfile(), dup(STDERR_FILENO) };

        ASSERT_TRUE(c.f);
        ASSERT_TRUE(c.saved >= 0);
        fflush(stderr);
        ASSERT_TRUE(dup2(fileno(c.f), STDERR_FILENO) >= 0);
        return c;
}

static size_t capture_end(Capture c, char *buf, size_t size) {
        size_t n;

        fflush(stderr);
        ASSERT_TRUE(dup2(c.saved, STDERR_FILENO) >= 0);
        close(c.saved);
        rewind(c.f);
        n = fread(buf, 1, size - 1, c.f);
        buf[n] = 0;
        fclose(c.f);
        return n;
}

/* 1000 warnings in a burst give burst lines on stderr, not 1000. */
static void test_ratelimit_output(void) {
        LogRateLimit rl = LOG_RATELIMIT_INIT(60 * USEC_PER_SEC, 3);
        char buf[65536];
        Capture c = capture_begin();
        size_t n, lines = 0;

        for (unsigned i = 0; i < 1000; i++)
                log_ratelimit_warning(&rl, "Rejecting connection %u.", i);
        n = capture_end(c, buf, sizeof buf);
        for (size_t i = 0; i < n; i++)
                lines += buf[i] == '\n';
        ASSERT_EQ(lines, 3);
        ASSERT_TRUE(strstr(buf, "Rejecting connection 2."));
        ASSERT_FALSE(strstr(buf, "Rejecting connection 3."));
}

/* Structured fields in the stderr/log-file form: values with spaces are quoted. */
static void test_struct_fields_quoted(void) {
        char buf[4096];
        Capture c = capture_begin();

        log_struct_internal(LOG_WARNING, 0, "Worker restarted.",
                            "LEAN_HOST_CAUSE=rss_post_job",
                            "LEAN_HOST_PROJECT=/home/a b/proj",
                            "LEAN_HOST_DETAIL=say \"hi\"\\\n",
                            "LEAN_HOST_EMPTY=",
                            NULL);
        (void) capture_end(c, buf, sizeof buf);
        ASSERT_TRUE(strstr(buf, " LEAN_HOST_CAUSE=rss_post_job "));
        ASSERT_TRUE(strstr(buf, " LEAN_HOST_PROJECT=\"/home/a b/proj\""));
        ASSERT_TRUE(strstr(buf, " LEAN_HOST_DETAIL=\"say \\\"hi\\\"\\\\\\n\""));
        ASSERT_TRUE(strstr(buf, " LEAN_HOST_EMPTY=\"\"\n"));
}

typedef struct Forwarded {
        unsigned n;
        int level;
        char last[256];
} Forwarded;

static void on_forward(int level, const char *message, void *userdata) {
        Forwarded *f = userdata;

        f->n++;
        f->level = level;
        snprintf(f->last, sizeof f->last, "%s", message);
        log_warning("logged by the hook: not passed on again");
}

static void *log_from_thread(void *arg) {
        log_warning("from another thread");
        return NULL;
}

/* The hook gets each line that passes the level filter, on its own thread
 * only, and never what it logs itself. */
static void test_forward(void) {
        Forwarded f = {};
        pthread_t t;

        log_set_forward(on_forward, &f);
        log_info("hello %d", 42);
        ASSERT_EQ(f.n, 1u);
        ASSERT_EQ(f.level, LOG_INFO);
        ASSERT_STREQ(f.last, "hello 42");

        log_debug("below the level");
        ASSERT_EQ(f.n, 1u);

        log_struct_internal(LOG_NOTICE, 0, "structured", "LEAN_HOST_X=1", NULL);
        ASSERT_EQ(f.n, 2u);
        ASSERT_STREQ(f.last, "structured");

        ASSERT_EQ(pthread_create(&t, NULL, log_from_thread, NULL), 0);
        ASSERT_EQ(pthread_join(t, NULL), 0);
        ASSERT_EQ(f.n, 2u);

        log_set_forward(NULL, NULL);
        log_error("after");
        ASSERT_EQ(f.n, 2u);
}

static void test_level_names(void) {
        ASSERT_EQ(log_level_from_string("debug"), LOG_DEBUG);
        ASSERT_EQ(log_level_from_string("error"), LOG_ERR);
        ASSERT_EQ(log_level_from_string("err"), LOG_ERR);
        ASSERT_EQ(log_level_from_string("warn"), LOG_WARNING);
        ASSERT_EQ(log_level_from_string("loud"), -EINVAL);
        ASSERT_EQ(log_level_from_string(NULL), -EINVAL);
        ASSERT_STREQ(log_level_to_string(LOG_NOTICE), "notice");
        ASSERT_TRUE(log_level_to_string(LOG_DEBUG + 1) == NULL);
        ASSERT_TRUE(log_level_to_string(-1) == NULL);
}

int main(void) {
        log_setup("test-log", LOG_TARGET_STDERR);
        test_level_names();
        test_forward();
        test_ratelimit_counts();
        test_ratelimit_disabled();
        test_ratelimit_output();
        test_struct_fields_quoted();
        return 0;
}
