/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The MCP server's defences: input that json-c would pass on changed (invalid
 * UTF-8, lone surrogates, embedded NUL), timeouts for unfinished lines,
 * silent and idle connections, the input budget over all connections, peer
 * credentials, and the compact result text. */

#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mcp/test-mcp-util.h"

static void test_invalid_utf8(void) {
        static const char *const bad[] = {
                "{\"jsonrpc\":\"2.0\",\"id\":\"a\xc0\x80\",\"method\":\"ping\"}",     /* overlong NUL */
                "{\"jsonrpc\":\"2.0\",\"id\":\"\xed\xa0\x80\",\"method\":\"ping\"}",  /* a surrogate, raw */
                "{\"jsonrpc\":\"2.0\",\"id\":\"\xe0\x80\xaf\",\"method\":\"ping\"}",  /* overlong '/' */
                "{\"jsonrpc\":\"2.0\",\"id\":\"\xf5\x80\x80\x80\",\"method\":\"ping\"}",
                "{\"jsonrpc\":\"2.0\",\"id\":\"\\ud800\",\"method\":\"ping\"}",       /* lone surrogate escape */
                "{\"jsonrpc\":\"2.0\",\"id\":\"\\udc00x\",\"method\":\"ping\"}",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"par\\u0000ams\":{}}", /* NUL in a name */
        };
        Test t;
        Client *c;

        test_setup(&t, 0, 0);
        c = client_new(&t);
        client_initialize(c, "2025-06-18");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                json_object *r = client_call(c, bad[i]);
                assert_error_id_null(r, -32700, "parse error");
                json_object_put(r);
                assert_ping(c);
        }
        client_free(c);
        test_teardown(&t);
}

static void test_embedded_nul(void) {
        static const struct {
                const char *line;
                int code;
                const char *message;
        } cases[] = {
                { "{\"jsonrpc\":\"2.0\",\"id\":\"a\\u0000b\",\"method\":\"ping\"}", -32600, "id must not contain NUL" },
                { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\\u0000x\"}", -32600, "\"method\" must not contain NUL" },
                { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"lean_run\\u0000x\","
                  "\"arguments\":" RUN_ARGS "}}", -32602, "params.name: must not contain NUL" },
                { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"lean_run\","
                  "\"arguments\":{\"project\":\"/p\\u0000/x\",\"code\":\"x\"}}}", 0, "arguments.project: must not contain NUL" },
                { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"lean_run\","
                  "\"arguments\":{\"project\":\"/p\",\"code\":\"def a := 1\\u0000#exit\"}}}", 0, "arguments.code: must not contain NUL" },
        };
        Test t;
        Client *c;
        Handler h;

        test_setup(&t, 0, 0);
        h = (Handler) { .t = &t, .body = json_object_new_object() };
        ASSERT_OK(mcp_server_register_tool(t.server, "lean_run", handler, &h));
        c = client_new(&t);
        client_initialize(c, "2025-06-18");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                json_object *r = client_call(c, cases[i].line);
                if (cases[i].code == 0) /* an argument: the tool's error */
                        assert_argument_error(r, cases[i].message);
                else
                        assert_error(r, cases[i].code, cases[i].message);
                json_object_put(r);
        }
        ASSERT_EQ(h.n_calls, 0); /* nothing reached a handler */
        json_object_put(h.body);
        client_free(c);
        test_teardown(&t);
}

static void test_line_timeout(void) {
        McpServerOptions o = { .line_timeout_usec = 300 * USEC_PER_MSEC };
        Test t;
        Client *slow, *ok;
        json_object *r;

        test_setup_opts(&t, &o);
        slow = client_new(&t);
        ok = client_new(&t);
        client_initialize(slow, "2025-06-18");
        client_initialize(ok, "2025-06-18");

        /* a line completed in pieces within the timeout is fine */
        client_send(ok, "{\"jsonrpc\":\"2.0\",\"id\":\"p\",");
        pump(&t, 100 * USEC_PER_MSEC);
        r = client_call(ok, "\"method\":\"ping\"}");
        ASSERT_STREQ(get_str(r, "id"), "p");
        json_object_put(r);

        /* one that stalls gets the error, then EOF */
        client_send(slow, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pi");
        r = client_recv(slow);
        assert_error_id_null(r, -32600, "not completed within");
        json_object_put(r);
        client_expect_eof(slow);
        assert_ping(ok);

        client_free(slow);
        client_free(ok);
        test_teardown(&t);
}

static void test_handshake_and_idle_timeout(void) {
        McpServerOptions o = {
                .handshake_timeout_usec = 300 * USEC_PER_MSEC,
                .idle_timeout_usec = 600 * USEC_PER_MSEC,
        };
        Test t;
        Client *silent, *session, *busy;
        json_object *r;
        Handler h;

        test_setup_opts(&t, &o);
        h = (Handler) { .t = &t, .hold = true };
        ASSERT_OK(mcp_server_register_tool(t.server, "lean_run", handler, &h));
        silent = client_new(&t);
        session = client_new(&t);
        busy = client_new(&t);
        client_initialize(session, "2025-06-18");
        client_initialize(busy, "2025-06-18");
        client_tool_call_async(busy, "1", "lean_run", RUN_ARGS);

        /* never initialized: told why, then closed */
        r = client_recv(silent);
        assert_error_id_null(r, -32600, "no initialize within");
        json_object_put(r);
        client_expect_eof(silent);

        /* the initialized one outlives the handshake timeout ... */
        assert_ping(session);
        pump(&t, 300 * USEC_PER_MSEC);
        assert_ping(session);
        /* ... and is closed quietly once idle for idle_timeout */
        client_expect_eof(session);

        /* a call in flight keeps its connection, however long it takes */
        client_free(silent);
        silent = NULL;
        pump(&t, 20 * USEC_PER_MSEC);
        ASSERT_EQ(mcp_server_get_n_connections(t.server), 1);
        ASSERT_TRUE(h.held);
        mcp_call_reply(h.held, json_object_new_object(), false);
        h.held = mcp_call_unref(h.held);
        r = client_recv(busy);
        ASSERT_EQ(get_int(r, "id"), 1);
        json_object_put(r);
        /* answered: now it is idle, and goes too */
        client_expect_eof(busy);
        ASSERT_EQ(mcp_server_get_n_connections(t.server), 0);

        client_free(silent);
        client_free(session);
        client_free(busy);
        test_teardown(&t);
}

static void test_input_budget(void) {
        McpServerOptions o = {
                .max_line_bytes = 1024 * 1024,
                .max_input_bytes = 1536 * 1024,
        };
        static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"pad\":\"";
        size_t n = 900 * 1024;
        char *pad = malloc(n);
        Test t;
        Client *a, *b, *small;
        json_object *r;

        ASSERT_TRUE(pad);
        memset(pad, 'x', n);
        test_setup_opts(&t, &o);
        a = client_new(&t);
        b = client_new(&t);
        small = client_new(&t);
        client_initialize(a, "2025-06-18");
        client_initialize(b, "2025-06-18");
        client_initialize(small, "2025-06-18");

        client_send(a, head);
        client_send_len(a, pad, n);
        pump(&t, 50 * USEC_PER_MSEC);
        client_send(b, head);
        client_send_len(b, pad, n);
        r = client_recv(b);
        assert_error_id_null(r, -32000, "unfinished input of all connections exceeds");
        json_object_put(r);
        client_expect_eof(b);

        /* ordinary requests are never refused for the budget */
        assert_ping(small);
        /* and the first connection finishes its long line */
        r = client_call(a, "\"}}");
        ASSERT_EQ(get_int(r, "id"), 1);
        json_object_put(r);

        free(pad);
        client_free(a);
        client_free(b);
        client_free(small);
        test_teardown(&t);
}

/* A peer with another uid is refused with a clear error: the socket mode is
 * not the only barrier. Abstract sockets have no permissions at all, so this
 * also shows the check does not depend on them. */
static void test_peer_uid(void) {
        Test t;
        pid_t pid;
        int status;

        if (geteuid() != 0) {
                fprintf(stderr, "test_peer_uid: skipped, needs root to switch uid\n");
                return;
        }
        test_setup(&t, 0, 0);
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                Client *c;
                char *line;

                if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
                        _exit(3);
                c = client_new(&t); /* the loop runs in the parent: only read here */
                (void) fcntl(c->fd, F_SETFL, 0);
                char buf[4096];
                ssize_t k = recv(c->fd, buf, sizeof buf - 1, MSG_WAITALL);
                if (k <= 0)
                        _exit(4);
                buf[k] = 0;
                line = strstr(buf, "\"code\":-32001");
                if (!line || !strstr(buf, "permission denied") || !strchr(buf, '\n'))
                        _exit(5);
                _exit(0);
        }
        for (unsigned i = 0; i < 500; i++) {
                pump(&t, 10 * USEC_PER_MSEC);
                if (waitpid(pid, &status, WNOHANG) == pid)
                        break;
                status = -1;
        }
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
        ASSERT_EQ(mcp_server_get_n_connections(t.server), 0);

        /* our own uid is served */
        Client *c = client_new(&t);
        client_initialize(c, "2025-06-18");
        assert_ping(c);
        client_free(c);
        test_teardown(&t);
}

static char *summary_of(json_object *body, bool is_error, void *userdata) {
        unsigned *n = userdata;

        (*n)++;
        return strdup(is_error ? "summary: failed" : "summary: 42");
}

static void test_result_text(void) {
        Test t;
        Client *c;
        json_object *r, *big;
        Handler h;
        unsigned n_summaries = 0;
        char pad[2048];

        test_setup(&t, 0, 0);
        h = (Handler) { .t = &t };
        ASSERT_OK(mcp_server_register_tool(t.server, "lean_run", handler, &h));
        c = client_new(&t);
        client_initialize(c, "2025-06-18");

        /* by default: a big body is not repeated as text */
        memset(pad, 'y', sizeof pad - 1);
        pad[sizeof pad - 1] = 0;
        big = json_object_new_object();
        json_object_object_add(big, "value", json_object_new_string(pad));
        h.body = big;
        r = client_tool_call(c, "1", "lean_run", RUN_ARGS);
        ASSERT_STREQ(get_str(r, "result.structuredContent.value"), pad);
        ASSERT_TRUE(strlen(get_str(r, "result.content.0.text")) < 100);
        ASSERT_TRUE(strstr(get_str(r, "result.content.0.text"), "structuredContent"));
        json_object_put(r);

        /* a summarizer set by the owner of the tools writes the text */
        mcp_server_set_result_text(t.server, summary_of, &n_summaries);
        r = client_tool_call(c, "2", "lean_run", RUN_ARGS);
        ASSERT_STREQ(get_str(r, "result.content.0.text"), "summary: 42");
        ASSERT_STREQ(get_str(r, "result.structuredContent.value"), pad);
        json_object_put(r);
        h.is_error = true;
        r = client_tool_call(c, "3", "lean_run", RUN_ARGS);
        ASSERT_STREQ(get_str(r, "result.content.0.text"), "summary: failed");
        ASSERT_TRUE(json_object_get_boolean(get(r, "result.isError")));
        json_object_put(r);
        ASSERT_EQ(n_summaries, 2);

        json_object_put(big);
        client_free(c);
        test_teardown(&t);
}

int main(void) {
        ASSERT_TRUE(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
        log_setup("test-mcp-hardening", LOG_TARGET_STDERR);
        log_set_max_level(getenv("TEST_DEBUG") ? LOG_DEBUG : LOG_ERR);

        test_invalid_utf8();
        test_embedded_nul();
        test_line_timeout();
        test_handshake_and_idle_timeout();
        test_input_budget();
        test_peer_uid();
        test_result_text();
        return 0;
}
