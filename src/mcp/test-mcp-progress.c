/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* notifications/progress end to end (call.c): a real McpServer, a tool
 * handler that holds its call and reports stages, a client that reads what
 * arrives: stages and heartbeats for a request with a progressToken, with a
 * growing progress value, all before the answer and none after it; nothing
 * without a token, after a cancellation or for a token of the wrong type. */

#include "mcp/test-mcp-util.h"

#define INTERVAL_USEC (200 * USEC_PER_MSEC)

static char *progress_call_line(const char *id, const char *meta) {
        char *s;

        ASSERT_TRUE(asprintf(&s, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"tools/call\",\"params\":{\"name\":\"lean_run\","
                             "\"arguments\":" RUN_ARGS "%s%s}}\n", id, meta ? ",\"_meta\":" : "", meta ?: "") > 0);
        return s;
}

/* A call that waits in h->held; returns once the handler has it. */
static void start_call(Test *t, Client *c, Handler *h, const char *id, const char *meta) {
        char *line = progress_call_line(id, meta);

        client_send(c, line);
        free(line);
        for (usec_t end = now_usec(CLOCK_MONOTONIC) + WAIT_USEC; !h->held && now_usec(CLOCK_MONOTONIC) < end;)
                pump(t, 2 * USEC_PER_MSEC);
        ASSERT_TRUE(h->held);
}

static bool is_progress(json_object *m) {
        json_object *v;

        return json_object_object_get_ex(m, "method", &v) &&
               streq(json_object_get_string(v), "notifications/progress");
}

/* The next message: a progress notification for token, value above *last. */
static json_object *recv_progress(Client *c, json_object *token, int64_t *last) {
        json_object *m = client_recv(c);
        int64_t v;

        if (!is_progress(m)) {
                fprintf(stderr, "expected notifications/progress, got %s\n", json_object_to_json_string(m));
                abort();
        }
        ASSERT_FALSE(has(m, "id"));
        ASSERT_TRUE(json_object_equal(get(m, "params.progressToken"), token));
        v = get_int(m, "params.progress");
        ASSERT_TRUE(v > *last);
        *last = v;
        return m;
}

static void reply_held(Handler *h) {
        McpCall *call = TAKE_PTR(h->held);
        json_object *body = json_object_new_object();

        json_object_object_add(body, "done", json_object_new_boolean(true));
        mcp_call_reply(call, body, false);
        mcp_call_unref(call);
}

static void expect_result(Client *c, int64_t id) {
        json_object *r = client_recv(c);

        if (is_progress(r)) {
                fprintf(stderr, "expected the answer, got %s\n", json_object_to_json_string(r));
                abort();
        }
        ASSERT_EQ(get_int(r, "id"), id);
        ASSERT_TRUE(json_object_get_boolean(get(r, "result.structuredContent.done")));
        json_object_put(r);
}

/* The server with a holding lean_run and one client that initialized with
 * protocol version (the test's). */
static Client *setup(Test *t, Handler *h, usec_t interval, const char *version) {
        McpServerOptions o = { .progress_interval_usec = interval };
        Client *c;

        test_setup_opts(t, &o);
        *h = (Handler) { .t = t, .hold = true };
        ASSERT_OK(mcp_server_register_tool(t->server, "lean_run", handler, h));
        c = client_new(t);
        client_initialize(c, version);
        return c;
}

/* Stages in order with growing values, a repeated stage once, all before the answer. */
static void test_stages(void) {
        json_object *token = json_object_new_string("tok-1"), *m;
        int64_t last = 0;
        Test t;
        Handler h;
        Client *c;

        c = setup(&t, &h, 0, "2025-06-18"); /* no heartbeat */
        start_call(&t, c, &h, "1", "{\"progressToken\":\"tok-1\"}");
        ASSERT_TRUE(mcp_call_wants_progress(h.held));

        mcp_call_report_progress(h.held, "waiting in the mailbox");
        mcp_call_report_progress(h.held, "importing Mathlib");
        mcp_call_report_progress(h.held, "importing Mathlib"); /* no news: not sent again */
        mcp_call_report_progress(h.held, "item 1 of 2: foo");
        m = recv_progress(c, token, &last);
        ASSERT_EQ(last, 1);
        ASSERT_STREQ(get_str(m, "params.message"), "waiting in the mailbox");
        ASSERT_FALSE(has(get(m, "params"), "total"));
        json_object_put(m);
        m = recv_progress(c, token, &last);
        ASSERT_STREQ(get_str(m, "params.message"), "importing Mathlib");
        json_object_put(m);
        m = recv_progress(c, token, &last);
        ASSERT_STREQ(get_str(m, "params.message"), "item 1 of 2: foo");
        json_object_put(m);
        client_expect_nothing(c);

        /* reported and answered in the same turn of the loop: the stage still goes first */
        mcp_call_report_progress(h.held, "item 2 of 2: bar");
        McpCall *call = mcp_call_ref(h.held);
        reply_held(&h);
        ASSERT_FALSE(mcp_call_wants_progress(call));
        mcp_call_report_progress(call, "after the answer"); /* dropped */
        mcp_call_unref(call);
        m = recv_progress(c, token, &last);
        ASSERT_STREQ(get_str(m, "params.message"), "item 2 of 2: bar");
        json_object_put(m);
        expect_result(c, 1);
        client_expect_nothing(c);

        json_object_put(token);
        client_free(c);
        test_teardown(&t);
}

/* The heartbeat: after an interval of silence, the last stage and the time;
 * it stops with the answer. */
static void test_heartbeat(void) {
        json_object *token = json_object_new_int(7), *m;
        int64_t last = 0;
        Test t;
        Handler h;
        Client *c;

        c = setup(&t, &h, INTERVAL_USEC, "2025-06-18");
        start_call(&t, c, &h, "2", "{\"progressToken\":7}");

        /* nothing reported yet: "working" */
        m = recv_progress(c, token, &last);
        ASSERT_CONTAINS(get_str(m, "params.message"), "working (");
        ASSERT_CONTAINS(get_str(m, "params.message"), "s elapsed)");
        json_object_put(m);
        m = recv_progress(c, token, &last);
        ASSERT_CONTAINS(get_str(m, "params.message"), "working (");
        json_object_put(m);

        mcp_call_report_progress(h.held, "starting a Lean worker");
        m = recv_progress(c, token, &last);
        ASSERT_STREQ(get_str(m, "params.message"), "starting a Lean worker");
        json_object_put(m);
        /* the heartbeat repeats the stage */
        m = recv_progress(c, token, &last);
        ASSERT_CONTAINS(get_str(m, "params.message"), "starting a Lean worker (");
        json_object_put(m);

        reply_held(&h);
        expect_result(c, 2);
        /* well past several intervals: no heartbeat after the answer */
        ASSERT_TRUE(client_line(c, 3 * INTERVAL_USEC) == NULL);

        json_object_put(token);
        client_free(c);
        test_teardown(&t);
}

/* No token, or one that is neither a string nor a number: nothing at all. */
static void test_no_token(void) {
        static const char *const metas[] = { NULL, "{}", "{\"progressToken\":true}", "{\"progressToken\":{\"a\":1}}",
                                             "{\"progressToken\":null}", "{\"other\":1}" };
        Test t;
        Handler h;
        Client *c;

        c = setup(&t, &h, INTERVAL_USEC, "2025-06-18");
        for (size_t i = 0; i < ELEMENTSOF(metas); i++) {
                char id[16];

                snprintf(id, sizeof id, "%zu", 10 + i);
                start_call(&t, c, &h, id, metas[i]);
                ASSERT_FALSE(mcp_call_wants_progress(h.held));
                mcp_call_report_progress(h.held, "importing Mathlib");
                ASSERT_TRUE(client_line(c, 2 * INTERVAL_USEC) == NULL);
                reply_held(&h);
                expect_result(c, (int64_t) (10 + i));
        }
        client_free(c);
        test_teardown(&t);
}

/* Cancelled: no heartbeat, no stage, no answer. */
static void test_cancelled(void) {
        json_object *token = json_object_new_string("c"), *m;
        int64_t last = 0;
        Test t;
        Handler h;
        Client *c;

        c = setup(&t, &h, INTERVAL_USEC, "2025-06-18");
        start_call(&t, c, &h, "3", "{\"progressToken\":\"c\"}");
        mcp_call_report_progress(h.held, "running in Lean");
        m = recv_progress(c, token, &last);
        json_object_put(m);

        client_send(c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":3}}\n");
        for (usec_t end = now_usec(CLOCK_MONOTONIC) + WAIT_USEC; h.n_cancelled == 0 && now_usec(CLOCK_MONOTONIC) < end;)
                pump(&t, 2 * USEC_PER_MSEC);
        ASSERT_EQ(h.n_cancelled, 1);
        ASSERT_FALSE(mcp_call_wants_progress(h.held));
        mcp_call_report_progress(h.held, "after the cancel");
        ASSERT_TRUE(client_line(c, 3 * INTERVAL_USEC) == NULL);
        reply_held(&h); /* dropped */
        client_expect_nothing(c);

        json_object_put(token);
        client_free(c);
        test_teardown(&t);
}

/* The connection goes away with a call in flight that has a heartbeat:
 * the call is cancelled and nothing fires on the dead connection. */
static void test_connection_closed(void) {
        Test t;
        Handler h;
        Client *c;

        c = setup(&t, &h, INTERVAL_USEC, "2025-06-18");
        start_call(&t, c, &h, "4", "{\"progressToken\":4}");
        mcp_call_report_progress(h.held, "importing Mathlib");
        client_free(c);
        for (usec_t end = now_usec(CLOCK_MONOTONIC) + WAIT_USEC; h.n_cancelled == 0 && now_usec(CLOCK_MONOTONIC) < end;)
                pump(&t, 2 * USEC_PER_MSEC);
        ASSERT_EQ(h.n_cancelled, 1);
        ASSERT_FALSE(mcp_call_wants_progress(h.held));
        pump(&t, 3 * INTERVAL_USEC);
        reply_held(&h);
        test_teardown(&t);
}

/* In a 2025-03-26 batch, progress goes out on its own line before the array. */
static void test_batch(void) {
        json_object *token = json_object_new_string("b"), *m, *r;
        int64_t last = 0;
        Test t;
        Handler h;
        Client *c;

        c = setup(&t, &h, 0, "2025-03-26");
        client_send(c, "[{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"lean_run\","
                       "\"arguments\":" RUN_ARGS ",\"_meta\":{\"progressToken\":\"b\"}}},"
                       "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ping\"}]\n");
        for (usec_t end = now_usec(CLOCK_MONOTONIC) + WAIT_USEC; !h.held && now_usec(CLOCK_MONOTONIC) < end;)
                pump(&t, 2 * USEC_PER_MSEC);
        ASSERT_TRUE(h.held);
        mcp_call_report_progress(h.held, "importing Mathlib");
        m = recv_progress(c, token, &last);
        ASSERT_STREQ(get_str(m, "params.message"), "importing Mathlib");
        json_object_put(m);
        reply_held(&h);
        r = client_recv(c);
        ASSERT_TRUE(json_object_is_type(r, json_type_array));
        ASSERT_EQ(json_object_array_length(r), 2u);
        json_object_put(r);

        json_object_put(token);
        client_free(c);
        test_teardown(&t);
}

int main(void) {
        /* every write uses MSG_NOSIGNAL: one that does not kills the test */
        ASSERT_TRUE(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
        log_setup("test-mcp-progress", LOG_TARGET_STDERR);
        log_set_max_level(getenv("TEST_DEBUG") ? LOG_DEBUG : LOG_ERR);

        test_stages();
        test_heartbeat();
        test_no_token();
        test_cancelled();
        test_connection_closed();
        test_batch();
        return 0;
}
