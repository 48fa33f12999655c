/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The MCP server end to end: a real McpServer in an sd-event loop, driven by
 * non-blocking AF_UNIX clients. The loop is stepped while the test waits for
 * a client's next line, so no threads are needed. */

#include <fcntl.h>
#include <unistd.h>

#include "mcp/log-forward.h"
#include "mcp/test-mcp-util.h"

/* ---- the tests ---------------------------------------------------------- */

static void test_framing(void) {
        Test t;
        Client *c;
        json_object *r;
        const char *init = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
                           "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"x\",\"version\":\"1\"}}}\n";

        test_setup(&t, 0, 0);
        c = client_new(&t);

        /* split across writes, byte by byte for the first part */
        for (size_t i = 0; i < 20; i++) {
                client_send_len(c, init + i, 1);
                pump(&t, 1000);
        }
        client_send_len(c, init + 20, 30);
        client_expect_nothing(c);
        client_send(c, init + 50);
        r = client_recv(c);
        ASSERT_EQ(get_int(r, "id"), 1);
        ASSERT_STREQ(get_str(r, "result.protocolVersion"), "2025-06-18");
        json_object_put(r);

        /* several per write, blank lines, CRLF */
        client_send(c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n\n  \r\n"
                       "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\r\n"
                       "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}\n{\"jsonrpc\":\"2.0\",\"id\":4,");
        r = client_recv(c);
        ASSERT_EQ(get_int(r, "id"), 2);
        json_object_put(r);
        r = client_recv(c);
        ASSERT_EQ(get_int(r, "id"), 3);
        json_object_put(r);
        client_expect_nothing(c);
        client_send(c, "\"method\":\"ping\"}\n");
        r = client_recv(c);
        ASSERT_EQ(get_int(r, "id"), 4);
        json_object_put(r);

        /* a half close: the last line without newline is still answered, then EOF */
        client_send(c, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"}\n{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ping\"}");
        ASSERT_OK_ERRNO((shutdown(c->fd, SHUT_WR)));
        r = client_recv(c);
        ASSERT_EQ(get_int(r, "id"), 5);
        json_object_put(r);
        r = client_recv(c);
        ASSERT_EQ(get_int(r, "id"), 6);
        json_object_put(r);
        client_expect_eof(c);
        pump(&t, 1000);
        ASSERT_EQ(mcp_server_get_n_connections(t.server), 0);
        ASSERT_EQ(t.n_changed, 2);
        ASSERT_EQ(t.last_n, 0);

        client_free(c);
        test_teardown(&t);
}

static void test_parse_errors(void) {
        static const char *const bad[] = {
                "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ",
                "{bad json}",
                "{\"a\":1} {\"b\":2}",
                "{\"a\":1}x",
                "[1,2,]",
                "'single'",
                "{\"jsonrpc\":\"2.0\",\"id\":NaN,\"method\":\"ping\"}",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":Infinity}}",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\xff\"}",
                "\"\xc3\"",
        };
        Test t;
        Client *c;
        json_object *r;
        char deep[2001];

        test_setup(&t, 0, 0);
        c = client_new(&t);
        client_initialize(c, "2025-06-18");

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                r = client_call(c, bad[i]);
                assert_error_id_null(r, -32700, "parse error");
                json_object_put(r);
                assert_ping(c);
        }

        /* an embedded NUL */
        client_send_len(c, "{\"a\":1}\0{}\n", 11);
        r = client_recv(c);
        assert_error_id_null(r, -32700, "parse error");
        json_object_put(r);

        /* nesting far deeper than the tokener allows */
        memset(deep, '[', 1000);
        memset(deep + 1000, ']', 1000);
        deep[2000] = 0;
        r = client_call(c, deep);
        assert_error_id_null(r, -32700, "nesting too deep");
        json_object_put(r);
        assert_ping(c);

        client_free(c);
        test_teardown(&t);
}

static void test_oversized_line(void) {
        Test t;
        Client *bad, *bad2, *good;
        json_object *r;
        char *big;

        test_setup(&t, 4096, 0);
        bad = client_new(&t);
        bad2 = client_new(&t);
        good = client_new(&t);
        client_initialize(good, "2025-06-18");

        /* no newline yet: the limit is hit before the line ends */
        big = malloc(100000);
        ASSERT_TRUE(big);
        memset(big, 'x', 100000);
        client_send_len(bad, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\",\"params\":{\"pad\":\"", 56);
        client_send_len(bad, big, 5000);
        r = client_recv(bad);
        assert_error_id_null(r, -32600, "line exceeds 4096 bytes");
        json_object_put(r);
        /* more input is discarded; the peer sees EOF */
        (void) send(bad->fd, big, 100000, MSG_NOSIGNAL | MSG_DONTWAIT);
        client_expect_eof(bad);

        /* a complete line just over the limit */
        big[0] = '"';
        big[4096] = '"';
        big[4097] = '\n';
        client_send_len(bad2, big, 4098);
        r = client_recv(bad2);
        assert_error_id_null(r, -32600, "exceeds");
        json_object_put(r);
        client_expect_eof(bad2);

        /* exactly at the limit is fine (a JSON string: an invalid request, but the connection stays) */
        big[4095] = '"';
        big[4096] = '\n';
        client_send_len(good, big, 4097);
        r = client_recv(good);
        assert_error_id_null(r, -32600, "expected a JSON-RPC object");
        json_object_put(r);
        assert_ping(good);
        /* the server waits for the peers to close after their EOF */
        ASSERT_EQ(mcp_server_get_n_connections(t.server), 3);
        client_free(bad);
        client_free(bad2);
        pump(&t, 20000);
        ASSERT_EQ(mcp_server_get_n_connections(t.server), 1);

        free(big);
        client_free(good);
        test_teardown(&t);
}

static void test_invalid_requests(void) {
        static const struct {
                const char *line;
                int code;
                const char *message;
                int64_t id; /* -1: null */
        } cases[] = {
                { "42", -32600, "expected a JSON-RPC object", -1 },
                { "\"ping\"", -32600, "expected a JSON-RPC object", -1 },
                { "null", -32600, "expected a JSON-RPC object", -1 },
                { "{\"jsonrpc\":\"1.0\",\"id\":7,\"method\":\"ping\"}", -32600, "\"jsonrpc\" must be \"2.0\"", 7 },
                { "{\"id\":7,\"method\":\"ping\"}", -32600, "\"jsonrpc\" must be \"2.0\"", 7 },
                { "{\"jsonrpc\":2.0,\"id\":7,\"method\":\"ping\"}", -32600, "\"jsonrpc\" must be \"2.0\"", 7 },
                { "{\"jsonrpc\":\"2.0\",\"id\":7}", -32600, "\"method\" is missing", 7 },
                { "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":5}", -32600, "\"method\" must be a string", 7 },
                { "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}", -32600, "id must be", -1 },
                { "{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"ping\"}", -32600, "id must be", -1 },
                { "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}", -32600, "id must be", -1 },
                { "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\",\"params\":\"x\"}", -32600, "\"params\" must be", 7 },
                { "{\"jsonrpc\":\"2.0\",\"method\":5}", -32600, "\"method\" must be a string", -1 },
                /* structurally invalid, so not a notification: JSON-RPC answers with id null */
                { "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":5}", -32600, "\"params\" must be", -1 },
                { "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\",\"params\":[]}", -32602, "params: expected object", 7 },
                { "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"no/such\"}", -32601, "method not found: no/such", 7 },
                { "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\"}}",
                  -32600, "already initialized", 7 },
        };
        Test t;
        Client *c;
        json_object *r;

        test_setup(&t, 0, 0);
        c = client_new(&t);
        client_initialize(c, "2025-06-18");

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                r = client_call(c, cases[i].line);
                if (cases[i].id < 0)
                        assert_error_id_null(r, cases[i].code, cases[i].message);
                else {
                        assert_error(r, cases[i].code, cases[i].message);
                        ASSERT_EQ(get_int(r, "id"), cases[i].id);
                }
                json_object_put(r);
                assert_ping(c);
        }

        /* notifications never get an answer: unknown ones, bad ones, a
         * response the server did not ask for */
        client_send(c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/no_such_thing\"}\n"
                       "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":{}}}\n"
                       "{\"jsonrpc\":\"2.0\",\"method\":\"logging/setLevel\",\"params\":{\"level\":\"nope\"}}\n"
                       "{\"jsonrpc\":\"2.0\",\"id\":99,\"result\":{}}\n");
        client_expect_nothing(c);
        assert_ping(c);

        client_free(c);
        test_teardown(&t);
}

static void test_ids(void) {
        static const char *const ids[] = {
                "\"abc\"", "\"\"", "0", "-1", "9223372036854775807", "-9223372036854775808", "1.5", "1e999",
                "\"\\u00e9\\ud83d\\ude00\"", "null",
        };
        Test t;
        Client *c;

        test_setup(&t, 0, 0);
        c = client_new(&t);
        client_initialize(c, "2025-06-18");

        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                char buf[256], *line, *want;

                snprintf(buf, sizeof buf, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"ping\"}\n", ids[i]);
                client_send(c, buf);
                line = client_line(c, WAIT_USEC);
                ASSERT_TRUE(line);
                json_object_put(parse_strict(line));
                /* the id comes back as it was sent (json-c writes strings its own way) */
                if (ids[i][0] == '"') {
                        json_object *sent = json_tokener_parse(ids[i]), *r = parse_strict(line);
                        ASSERT_TRUE(json_object_equal(sent, get(r, "id")));
                        json_object_put(sent);
                        json_object_put(r);
                } else {
                        ASSERT_TRUE(asprintf(&want, "\"id\":%s,", ids[i]) > 0);
                        ASSERT_CONTAINS(line, want);
                        free(want);
                }
                free(line);
        }

        client_free(c);
        test_teardown(&t);
}

static void test_initialize(void) {
        static const struct {
                const char *asked, *answered;
        } versions[] = {
                { "2025-06-18", "2025-06-18" },
                { "2025-03-26", "2025-03-26" },
                { "2025-11-25", "2025-11-25" },
                { "1999-01-01", "2025-06-18" },
                { "", "2025-06-18" },
        };
        Test t;
        json_object *r;

        test_setup(&t, 0, 0);
        for (size_t i = 0; i < ELEMENTSOF(versions); i++) {
                Client *c = client_new(&t);
                char buf[512];

                /* before initialize: ping works, the rest is refused */
                assert_ping(c);
                r = client_call(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
                assert_error(r, -32600, "not initialized");
                json_object_put(r);
                r = client_call(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"lean_run\"}}");
                assert_error(r, -32600, "not initialized");
                json_object_put(r);

                snprintf(buf, sizeof buf,
                         "{\"jsonrpc\":\"2.0\",\"id\":\"init\",\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"%s\","
                         "\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"0\"}}}",
                         versions[i].asked);
                r = client_call(c, buf);
                ASSERT_STREQ(get_str(r, "id"), "init");
                ASSERT_STREQ(get_str(r, "result.protocolVersion"), versions[i].answered);
                ASSERT_STREQ(get_str(r, "result.serverInfo.name"), "lean-host");
                ASSERT_STREQ(get_str(r, "result.serverInfo.version"), "9.9");
                ASSERT_STREQ(get_str(r, "result.instructions"), "test instructions");
                ASSERT_TRUE(json_object_get_boolean(get(r, "result.capabilities.tools.listChanged")) == false);
                ASSERT_TRUE(json_object_is_type(get(r, "result.capabilities.logging"), json_type_object));
                json_object_put(r);

                /* requests are fine even before notifications/initialized */
                r = client_call(c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
                ASSERT_TRUE(has(get(r, "result"), "tools"));
                json_object_put(r);
                client_free(c);
        }

        /* bad params name the field */
        Client *c = client_new(&t);
        r = client_call(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":20250618}}");
        assert_error(r, -32602, "params.protocolVersion: expected string, got integer");
        json_object_put(r);
        r = client_call(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\"}");
        assert_error(r, -32602, "params.protocolVersion: required property missing");
        json_object_put(r);
        r = client_call(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":3}}");
        assert_error(r, -32602, "params.capabilities: expected object");
        json_object_put(r);
        client_free(c);

        test_teardown(&t);
}

static void test_batches(void) {
        Test t;
        Client *c;
        json_object *r;
        const char *batch = "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
                            "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
                            "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"},"
                            "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"nope\"},"
                            "5]";

        test_setup(&t, 0, 0);

        /* before initialize */
        c = client_new(&t);
        r = client_call(c, batch);
        assert_error_id_null(r, -32600, "batches are not supported before initialize");
        json_object_put(r);
        client_free(c);

        /* versions without batches */
        const char *no_batch[] = { "2025-06-18", "2025-11-25" };
        for (size_t i = 0; i < ELEMENTSOF(no_batch); i++) {
                char want[128];

                c = client_new(&t);
                client_initialize(c, no_batch[i]);
                r = client_call(c, batch);
                snprintf(want, sizeof want, "batches are not supported in protocol version %s", no_batch[i]);
                assert_error_id_null(r, -32600, want);
                json_object_put(r);
                assert_ping(c);
                client_free(c);
        }

        /* 2025-03-26 answers each element */
        c = client_new(&t);
        client_initialize(c, "2025-03-26");
        r = client_call(c, batch);
        ASSERT_TRUE(json_object_is_type(r, json_type_array));
        ASSERT_EQ(json_object_array_length(r), 4);
        ASSERT_EQ(get_int(r, "0.id"), 1);
        ASSERT_TRUE(has(get(r, "0"), "result"));
        ASSERT_EQ(get_int(r, "1.id"), 2);
        ASSERT_EQ(json_object_array_length(get(r, "1.result.tools")), 13);
        ASSERT_EQ(get_int(r, "2.id"), 3);
        ASSERT_EQ(get_int(r, "2.error.code"), -32601);
        ASSERT_EQ(get_int(r, "3.error.code"), -32600);
        json_object_put(r);

        /* notifications only: no response at all */
        client_send(c, "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
                       "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\"}]\n");
        client_expect_nothing(c);

        r = client_call(c, "[]");
        assert_error_id_null(r, -32600, "empty batch");
        json_object_put(r);

        /* a batch with a deferred tool call is answered once that call is */
        Handler h = { .t = &t, .delay = 50 * USEC_PER_MSEC };
        ASSERT_OK(mcp_server_register_tool(t.server, "lean_run", handler, &h));
        client_send(c, "[{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"tools/call\",\"params\":{\"name\":\"lean_run\",\"arguments\":" RUN_ARGS "}},"
                       "{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"method\":\"ping\"}]\n");
        r = client_recv(c);
        ASSERT_EQ(json_object_array_length(r), 2);
        ASSERT_STREQ(get_str(r, "0.id"), "b");
        ASSERT_STREQ(get_str(r, "1.id"), "a");
        ASSERT_TRUE(json_object_get_boolean(get(r, "1.result.structuredContent.deferred")));
        json_object_put(r);
        ASSERT_EQ(h.n_calls, 1);

        assert_ping(c);
        client_free(c);
        test_teardown(&t);
}

static void test_tools_list(void) {
        static const char *const names[] = {
                "lean_module_query",       "lean_module_query_batch", "lean_declaration_inspect",
                "lean_declaration_search", "lean_proof_attempt",      "lean_declaration_verify",
                "lean_declaration_verify_batch", "lean_proof_search", "lean_project_status",
                "lean_run",
                "lean_file_diagnostics", "lean_goal_at", "lean_multi_attempt",
        };
        Test t;
        Client *c;
        json_object *r, *tools;

        test_setup(&t, 0, 0);
        c = client_new(&t);
        client_initialize(c, "2025-06-18");

        r = client_call(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{\"cursor\":\"x\"}}");
        tools = get(r, "result.tools");
        ASSERT_EQ(json_object_array_length(tools), ELEMENTSOF(names));
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                json_object *tool = NULL;
                for (size_t j = 0; j < json_object_array_length(tools); j++)
                        if (streq(get_str(json_object_array_get_idx(tools, j), "name"), names[i])) {
                                ASSERT_TRUE(!tool);
                                tool = json_object_array_get_idx(tools, j);
                        }
                ASSERT_TRUE(tool);
                ASSERT_TRUE(!isempty(get_str(tool, "description")));
                ASSERT_TRUE(!isempty(get_str(tool, "title")));
                ASSERT_STREQ(get_str(tool, "inputSchema.type"), "object");
                ASSERT_TRUE(json_object_object_get_ex(get(tool, "inputSchema.properties"), "project", NULL));
                ASSERT_TRUE(json_object_is_type(get(tool, "annotations.readOnlyHint"), json_type_boolean));
                char *err = NULL;
                if (schema_check(get(tool, "inputSchema"), names[i], &err) < 0) {
                        fprintf(stderr, "%s\n", err);
                        abort();
                }
        }
        json_object_put(r);

        /* without params, and the same again (the list is shared, not consumed) */
        r = client_call(c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
        ASSERT_EQ(json_object_array_length(get(r, "result.tools")), ELEMENTSOF(names));
        json_object_put(r);

        r = client_call(c, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\",\"params\":{\"cursor\":5}}");
        assert_error(r, -32602, "params.cursor");
        json_object_put(r);

        ASSERT_ERROR(mcp_server_register_tool(t.server, "no_such_tool", handler, NULL), ENOENT);
        ASSERT_OK(mcp_server_register_tool(t.server, "lean_run", handler, NULL));
        ASSERT_ERROR(mcp_server_register_tool(t.server, "lean_run", handler, NULL), EEXIST);

        client_free(c);
        test_teardown(&t);
}

/* tools/list goes out as bytes serialized once: they must be exactly what
 * json-c makes of the list, the same every time, and whole inside a batch. */
static void test_tools_list_bytes(void) {
        static const char prefix[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":";
        _cleanup_free_ char *first = NULL, *second = NULL, *batch = NULL, *list = NULL;
        json_object *r;
        const char *again;
        size_t n, n_tools;
        Test t;
        Client *c;

        test_setup(&t, 0, 0);
        c = client_new(&t);
        client_initialize(c, "2025-03-26");

        client_send(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}\n");
        first = client_line(c, WAIT_USEC);
        client_send(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{}}\n");
        second = client_line(c, WAIT_USEC);
        ASSERT_TRUE(first && second);
        ASSERT_STREQ(first, second);
        ASSERT_TRUE(strneq(first, prefix, strlen(prefix)));

        /* the result member is exactly json-c's serialization of what it parses to */
        r = parse_strict(first);
        n_tools = json_object_array_length(get(r, "result.tools"));
        ASSERT_TRUE(n_tools >= 10);
        again = json_object_to_json_string_length(get(r, "result"),
                                                  JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        ASSERT_TRUE(again);
        ASSERT_EQ(strlen(first), strlen(prefix) + n + 1); /* and the closing brace */
        ASSERT_TRUE(memcmp(first + strlen(prefix), again, n) == 0);
        list = strndup(again, n);
        ASSERT_TRUE(list);
        json_object_put(r);

        /* in a batch, beside another answer: the same bytes, the array still valid JSON */
        client_send(c, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"},"
                       "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}]\n");
        batch = client_line(c, WAIT_USEC);
        ASSERT_TRUE(batch);
        ASSERT_TRUE(strstr(batch, list));
        r = parse_strict(batch);
        ASSERT_EQ(json_object_array_length(r), 2u);
        ASSERT_EQ(json_object_array_length(get(json_object_array_get_idx(r, 0), "result.tools")), n_tools);
        ASSERT_EQ(get_int(json_object_array_get_idx(r, 1), "id"), 2);
        json_object_put(r);

        client_free(c);
        test_teardown(&t);
}

static void test_tools_call(void) {
        Test t;
        Client *c;
        json_object *r, *text;
        Handler h, hfail;

        test_setup(&t, 0, 0);
        h = (Handler) { .t = &t, .body = json_object_new_object() };
        json_object_object_add(h.body, "value", json_object_new_int(42));
        hfail = (Handler) { .t = &t, .fail = -EIO };
        ASSERT_OK(mcp_server_register_tool(t.server, "lean_run", handler, &h));
        ASSERT_OK(mcp_server_register_tool(t.server, "lean_declaration_search", handler, &hfail));

        c = client_new(&t);
        client_initialize(c, "2025-06-18");

        /* invalid params name the field */
        static const struct {
                const char *params, *message;
        } bad[] = {
                { "{\"name\":\"no_such_tool\",\"arguments\":{}}", "unknown tool: no_such_tool" },
                { "{\"arguments\":{}}", "params.name: required property missing" },
                { "{\"name\":5}", "params.name: expected string, got integer" },
                { "{\"name\":\"lean_run\",\"arguments\":\"not an object\"}", "params.arguments: expected object, got string" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *line;
                ASSERT_TRUE(asprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"tools/call\",\"params\":%s}", i,
                                     bad[i].params) > 0);
                r = client_call(c, line);
                free(line);
                assert_error(r, -32602, bad[i].message);
                ASSERT_EQ(get_int(r, "id"), (int64_t) i);
                json_object_put(r);
        }
        /* argument errors are the tool's (isError, invalid_arguments), naming the argument and the rule */
        static const struct {
                const char *params, *message;
        } bad_args[] = {
                { "{\"name\":\"lean_run\",\"arguments\":{\"project\":\"/p\"}}", "arguments.code: required property missing" },
                { "{\"name\":\"lean_run\",\"arguments\":{\"project\":5,\"code\":[]}}", "arguments.project: expected string, got integer" },
                { "{\"name\":\"lean_run\",\"arguments\":{\"project\":\"/p\",\"code\":\"x\",\"bogus\":1}}", "arguments.bogus: unknown property" },
                { "{\"name\":\"lean_run\"}", "arguments.project: required property missing" },
                { "{\"name\":\"lean_declaration_verify\",\"arguments\":{\"project\":\"/p\",\"code\":\"x\"}}",
                  "arguments.name: required property missing" },
                { "{\"name\":\"lean_proof_search\",\"arguments\":{\"project\":\"/p\"}}",
                  "arguments.statement: required property missing (or its deprecated alias goal)" },
                { "{\"name\":\"lean_proof_search\",\"arguments\":{\"project\":\"/p\",\"statement\":\"True\",\"goal\":\"True\"}}",
                  "arguments.goal: give statement or its deprecated alias goal, not both" },
                { "{\"name\":\"lean_declaration_search\",\"arguments\":{\"project\":\"/p\",\"query\":\"x\",\"max_results\":201}}",
                  "arguments.max_results: must be <= 200" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad_args); i++) {
                char *line;
                ASSERT_TRUE(asprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"tools/call\",\"params\":%s}", i,
                                     bad_args[i].params) > 0);
                r = client_call(c, line);
                free(line);
                assert_argument_error(r, bad_args[i].message);
                ASSERT_EQ(get_int(r, "id"), (int64_t) i);
                json_object_put(r);
        }
        ASSERT_EQ(h.n_calls, 0);

        /* a listed tool without a handler */
        r = client_tool_call(c, "10", "lean_project_status", "{\"project\":\"/p\"}");
        ASSERT_EQ(get_int(r, "id"), 10);
        ASSERT_TRUE(json_object_get_boolean(get(r, "result.isError")));
        ASSERT_STREQ(get_str(r, "result.structuredContent.error.code"), "not_implemented");
        ASSERT_TRUE(json_object_get_boolean(get(r, "result.structuredContent.error.retryable")) == false);
        ASSERT_CONTAINS(get_str(r, "result.structuredContent.error.message"), "lean_project_status");
        ASSERT_STREQ(get_str(r, "result.content.0.type"), "text");
        /* the text is a summary, not the structured body a second time */
        ASSERT_STREQ(get_str(r, "result.content.0.text"),
                     "error not_implemented: lean_project_status is not implemented yet in this lean-hostd");
        json_object_put(r);

        /* a handler answering right away */
        r = client_tool_call(c, "11", "lean_run", RUN_ARGS);
        ASSERT_EQ(h.n_calls, 1);
        ASSERT_TRUE(json_object_get_boolean(get(r, "result.isError")) == false);
        ASSERT_EQ(get_int(r, "result.structuredContent.value"), 42);
        /* short enough to be its own summary */
        text = json_tokener_parse(get_str(r, "result.content.0.text"));
        ASSERT_TRUE(json_object_equal(text, h.body));
        json_object_put(text);
        json_object_put(r);

        /* a body that is not an object is wrapped; is_error passes through */
        json_object_put(h.body);
        h.body = json_object_new_string("plain \xff text"); /* invalid UTF-8 from a handler */
        h.is_error = true;
        r = client_tool_call(c, "12", "lean_run", RUN_ARGS);
        ASSERT_TRUE(json_object_get_boolean(get(r, "result.isError")));
        ASSERT_STREQ(get_str(r, "result.structuredContent.result"), "plain \xef\xbf\xbd text");
        json_object_put(r);
        json_object_put(h.body);
        h.body = NULL; /* JSON null */
        h.is_error = false;
        r = client_tool_call(c, "13", "lean_run", RUN_ARGS);
        ASSERT_TRUE(has(get(r, "result.structuredContent"), "result"));
        ASSERT_TRUE(get(r, "result.structuredContent.result") == NULL);
        json_object_put(r);

        /* a handler failing: internal_error tool result */
        r = client_tool_call(c, "14", "lean_declaration_search", "{\"project\":\"/p\",\"query\":\"x\"}");
        ASSERT_EQ(hfail.n_calls, 1);
        ASSERT_TRUE(json_object_get_boolean(get(r, "result.isError")));
        ASSERT_STREQ(get_str(r, "result.structuredContent.error.code"), "internal_error");
        json_object_put(r);

        /* arguments absent = {} (lean_project_status has required project, so use the schema error) */
        ASSERT_TRUE(mcp_server_is_drained(t.server));
        client_free(c);
        test_teardown(&t);
}

static void test_deferred_and_cancel(void) {
        Test t;
        Client *c;
        json_object *r;
        Handler h;

        test_setup(&t, 0, 0);
        h = (Handler) { .t = &t, .delay = 100 * USEC_PER_MSEC };
        c = client_new_for_tool(&t, &h);

        /* deferred via a timer; other requests are answered meanwhile */
        client_tool_call_async(c, "\"slow\"", "lean_run", RUN_ARGS);
        r = client_call(c, "{\"jsonrpc\":\"2.0\",\"id\":\"fast\",\"method\":\"ping\"}");
        ASSERT_STREQ(get_str(r, "id"), "fast");
        json_object_put(r);
        ASSERT_FALSE(mcp_server_is_drained(t.server));
        r = client_recv(c);
        ASSERT_STREQ(get_str(r, "id"), "slow");
        ASSERT_TRUE(json_object_get_boolean(get(r, "result.structuredContent.deferred")));
        json_object_put(r);
        pump(&t, 1000);
        ASSERT_TRUE(mcp_server_is_drained(t.server));

        /* cancellation: callback once, the answer is dropped */
        h.delay = 0;
        h.hold = true;
        client_tool_call_async(c, "7", "lean_run", RUN_ARGS);
        pump(&t, 20000);
        ASSERT_TRUE(h.held);
        ASSERT_STREQ(mcp_call_get_tool(h.held), "lean_run");
        ASSERT_EQ(json_object_get_int(mcp_call_get_id(h.held)), 7);
        ASSERT_FALSE(mcp_call_is_cancelled(h.held));
        /* a cancel for another id (and a string "7") changes nothing */
        client_send(c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":8}}\n"
                       "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":\"7\"}}\n");
        client_expect_nothing(c);
        ASSERT_EQ(h.n_cancelled, 0);
        client_send(c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":7,\"reason\":\"t\"}}\n"
                       "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":7}}\n");
        client_expect_nothing(c);
        ASSERT_EQ(h.n_cancelled, 1);
        ASSERT_TRUE(mcp_call_is_cancelled(h.held));
        {
                /* a holder opening the call reads it once; listening late says it was cancelled */
                McpCallView view;
                McpCall *held = mcp_call_open(h.held, NULL, NULL, &view);

                ASSERT_STREQ(view.tool, "lean_run");
                ASSERT_TRUE(json_object_is_type(view.arguments, json_type_object));
                ASSERT_FALSE(view.wants_progress);
                /* the arguments by lean_run's rows ("project", "code"), resolved by the dispatcher */
                ASSERT_TRUE(view.args);
                ASSERT_STREQ(json_object_get_string(view.args[0]), "/p");
                ASSERT_STREQ(json_object_get_string(view.args[1]), "def a := 1");
                ASSERT_TRUE(view.cancelled); /* opened after the cancel */
                mcp_call_release(held, NULL);
                /* opening with a cancel callback wires it (it does not run: cancelled already) */
                held = mcp_call_open(h.held, on_cancel, &view, &view);
                ASSERT_TRUE(view.cancelled);
                ASSERT_TRUE(mcp_call_get_cancel_userdata(held) == &view);
                ASSERT_TRUE(mcp_call_set_cancel(held, on_cancel, &view));
                /* released by another holder: the wiring stays */
                ASSERT_TRUE(mcp_call_get_cancel_userdata(held) == &view);
                mcp_call_ref(held);
                mcp_call_release(held, &h);
                ASSERT_TRUE(mcp_call_get_cancel_userdata(held) == &view);
                mcp_call_release(held, &view);
                ASSERT_TRUE(!mcp_call_get_cancel_userdata(held));
        }
        ASSERT_EQ(h.n_cancelled, 1);
        ASSERT_FALSE(mcp_server_is_drained(t.server)); /* the owner still has to answer */
        mcp_call_reply(h.held, json_object_new_object(), false);
        mcp_call_reply(h.held, json_object_new_object(), false); /* second answer: ignored */
        h.held = mcp_call_unref(h.held);
        client_expect_nothing(c);
        ASSERT_TRUE(mcp_server_is_drained(t.server));
        assert_ping(c);

        /* a holder's last act: the answer with its own summary text, its
         * reference and cancel wiring released with it */
        client_tool_call_async(c, "10", "lean_run", RUN_ARGS);
        pump(&t, 20000);
        ASSERT_TRUE(h.held);
        {
                McpCallView view;
                McpCall *held = mcp_call_open(h.held, on_cancel, &view, &view);
                json_object *answer;

                ASSERT_FALSE(view.cancelled);
                ASSERT_TRUE(mcp_call_get_cancel_userdata(held) == &view);
                mcp_call_reply_release(held, &view, json_object_new_object(), false, strdup("the tool's own text"));
                ASSERT_TRUE(!mcp_call_get_cancel_userdata(h.held));
                answer = client_recv(c);
                ASSERT_EQ(get_int(answer, "id"), 10);
                ASSERT_STREQ(get_str(answer, "result.content.0.text"), "the tool's own text");
                json_object_put(answer);
        }
        h.held = mcp_call_unref(h.held);
        ASSERT_TRUE(mcp_server_is_drained(t.server));

        /* the connection going away cancels, and the late answer goes nowhere */
        client_tool_call_async(c, "8", "lean_run", RUN_ARGS);
        pump(&t, 20000);
        ASSERT_TRUE(h.held);
        client_free(c);
        pump(&t, 50000);
        ASSERT_EQ(h.n_cancelled, 2);
        ASSERT_TRUE(mcp_call_is_cancelled(h.held));
        ASSERT_EQ(mcp_server_get_n_connections(t.server), 0);
        mcp_call_reply(h.held, json_object_new_object(), false);
        h.held = mcp_call_unref(h.held);
        ASSERT_TRUE(mcp_server_is_drained(t.server));

        /* the server going away with a call still held */
        c = client_new(&t);
        client_initialize(c, "2025-06-18");
        client_tool_call_async(c, "9", "lean_run", RUN_ARGS);
        pump(&t, 20000);
        ASSERT_TRUE(h.held);
        test_teardown(&t);
        ASSERT_EQ(h.n_cancelled, 3);
        mcp_call_reply(h.held, json_object_new_object(), false);
        h.held = mcp_call_unref(h.held);
        client_free(c);
}

static void test_slow_reader(void) {
        Test t;
        Client *slow, *fast, *quiet;
        json_object *r, *data;
        char *req, *big;
        size_t n = 0;

        test_setup(&t, 0, 0);
        slow = client_new(&t);
        fast = client_new(&t);
        quiet = client_new(&t);
        client_initialize(slow, "2025-06-18");
        client_initialize(fast, "2025-06-18");
        client_initialize(quiet, "2025-06-18");
        r = client_call(fast, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"emergency\"}}");
        ASSERT_TRUE(has(r, "result"));
        json_object_put(r);
        r = client_call(quiet, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"emergency\"}}");
        json_object_put(r);
        r = client_call(slow, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"info\"}}");
        json_object_put(r);

        /* 3000 tools/list requests (~40 MB of answers) that the client never reads */
        const char *one = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}\n";
        size_t l = strlen(one);
        req = malloc(l * 3000);
        ASSERT_TRUE(req);
        for (unsigned i = 0; i < 3000; i++, n += l)
                memcpy(req + n, one, l);
        /* send what fits without the client ever reading */
        usec_t end = now_usec(CLOCK_MONOTONIC) + USEC_PER_SEC;
        size_t off = 0;
        while (off < n && now_usec(CLOCK_MONOTONIC) < end) {
                ssize_t k = send(slow->fd, req + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k > 0)
                        off += (size_t) k;
                ASSERT_OK(sd_event_run(t.event, 1000));
        }
        free(req);

        /* the other client is served at once */
        for (unsigned i = 0; i < 20; i++) {
                usec_t start = now_usec(CLOCK_MONOTONIC);
                assert_ping(fast);
                ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) - start < USEC_PER_SEC);
        }
        ASSERT_EQ(mcp_server_get_n_connections(t.server), 3);
        ASSERT_FALSE(mcp_server_is_drained(t.server));

        /* logs pile up for the slow one (level info) until it is cut off */
        big = malloc(1024 * 1024 + 1);
        ASSERT_TRUE(big);
        memset(big, 'l', 1024 * 1024);
        big[1024 * 1024] = 0;
        data = json_object_new_string(big);
        free(big);
        for (unsigned i = 0; i < 80 && mcp_server_get_n_connections(t.server) == 3; i++)
                mcp_server_broadcast_log(t.server, LOG_INFO, "test", data);
        json_object_put(data);
        ASSERT_EQ(mcp_server_get_n_connections(t.server), 2);
        assert_ping(fast);
        client_expect_nothing(fast);

        /* the slow client's connection is gone: after what it was sent, EOF */
        size_t total = 0;
        for (;;) {
                char *line = client_line(slow, WAIT_USEC);
                if (!line)
                        break;
                total += strlen(line);
                free(line);
        }
        ASSERT_TRUE(slow->eof);
        ASSERT_TRUE(total > 0);

        client_free(slow);
        client_free(fast);
        client_free(quiet);
        test_teardown(&t);
}

/* The daemon's log lines through McpLogForward: sent on the next loop round,
 * at most a queue's worth per round and the rest counted, only to clients
 * that set a level. */
static void test_log_forward(void) {
        _cleanup_(mcp_log_forward_freep) McpLogForward *f = NULL;
        Test t;
        Client *a, *mute;
        json_object *r;

        test_setup(&t, 0, 0);
        a = client_new(&t);
        mute = client_new(&t);
        client_initialize(a, "2025-06-18");
        client_initialize(mute, "2025-06-18");
        r = client_call(a, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"info\"}}");
        json_object_put(r);

        ASSERT_OK(mcp_log_forward_new(&f, t.event, t.server));
        log_set_max_level(LOG_INFO);
        log_info("one %d", 1);
        r = client_recv(a);
        ASSERT_STREQ(get_str(r, "method"), "notifications/message");
        ASSERT_STREQ(get_str(r, "params.level"), "info");
        ASSERT_STREQ(get_str(r, "params.logger"), "lean-hostd");
        ASSERT_STREQ(get_str(r, "params.data"), "one 1");
        json_object_put(r);

        for (unsigned i = 0; i < 70; i++)
                log_info("burst %u", i);
        for (unsigned i = 0; i < 64; i++) {
                char want[32];

                r = client_recv(a);
                snprintf(want, sizeof want, "burst %u", i);
                ASSERT_STREQ(get_str(r, "params.data"), want);
                json_object_put(r);
        }
        r = client_recv(a);
        ASSERT_STREQ(get_str(r, "params.level"), "warning");
        ASSERT_STREQ(get_str(r, "params.data"), "Suppressed 6 log messages.");
        json_object_put(r);
        client_expect_nothing(mute);

        /* A line logged while a round is being sent (here: the slow client cut
         * off for not reading) waits for the next round; it is neither lost
         * nor does it clobber the lines being sent. */
        Client *slow = client_new(&t);
        char big[1900];

        client_initialize(slow, "2025-06-18");
        r = client_call(slow, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"info\"}}");
        json_object_put(r);
        r = client_call(a, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"warning\"}}");
        json_object_put(r);
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = 0;
        int saved_stderr = dup(STDERR_FILENO), devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

        ASSERT_TRUE(saved_stderr >= 0 && devnull >= 0);
        fflush(stderr);
        ASSERT_TRUE(dup2(devnull, STDERR_FILENO) >= 0); /* 64 MiB of log lines */
        for (unsigned round = 0; round < 2000 && mcp_server_get_n_connections(t.server) == 3; round++) {
                for (unsigned i = 0; i < 64; i++)
                        log_info("%s", big);
                ASSERT_OK(sd_event_run(t.event, 0));
        }
        fflush(stderr);
        ASSERT_TRUE(dup2(saved_stderr, STDERR_FILENO) >= 0);
        close(saved_stderr);
        close(devnull);
        ASSERT_EQ(mcp_server_get_n_connections(t.server), 2);
        r = client_recv(a);
        ASSERT_STREQ(get_str(r, "params.level"), "warning");
        ASSERT_CONTAINS(get_str(r, "params.data"), "output queued");
        json_object_put(r);
        client_free(slow);

        f = mcp_log_forward_free(f);
        log_warning("after the forwarder is gone");
        client_expect_nothing(a);
        log_set_max_level(getenv("TEST_DEBUG") ? LOG_DEBUG : LOG_ERR);

        client_free(a);
        client_free(mute);
        test_teardown(&t);
}

static void test_logging(void) {
        Test t;
        Client *a, *b, *fresh, *mute;
        json_object *r, *data;

        test_setup(&t, 0, 0);
        a = client_new(&t);
        b = client_new(&t);
        fresh = client_new(&t);
        mute = client_new(&t);
        client_initialize(a, "2025-06-18");
        client_initialize(b, "2025-06-18");
        client_initialize(mute, "2025-06-18");
        assert_ping(fresh);
        r = client_call(b, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"info\"}}");
        json_object_put(r);

        r = client_call(a, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"loud\"}}");
        assert_error(r, -32602, "params.level: must be one of debug, info");
        json_object_put(r);
        r = client_call(a, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\",\"params\":{}}");
        assert_error(r, -32602, "params.level: required property missing");
        json_object_put(r);
        r = client_call(a, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"debug\"}}");
        ASSERT_EQ(json_object_object_length(get(r, "result")), 0);
        json_object_put(r);

        data = json_object_new_object();
        json_object_object_add(data, "k", json_object_new_string("v"));
        mcp_server_broadcast_log(t.server, LOG_DEBUG, "mcp", data);
        r = client_recv(a);
        ASSERT_STREQ(get_str(r, "method"), "notifications/message");
        ASSERT_FALSE(has(r, "id"));
        ASSERT_STREQ(get_str(r, "params.level"), "debug");
        ASSERT_STREQ(get_str(r, "params.logger"), "mcp");
        ASSERT_STREQ(get_str(r, "params.data.k"), "v");
        json_object_put(r);
        client_expect_nothing(b); /* at info */
        mcp_server_broadcast_log(t.server, LOG_WARNING, NULL, data);
        r = client_recv(a);
        ASSERT_STREQ(get_str(r, "params.level"), "warning");
        ASSERT_FALSE(has(get(r, "params"), "logger"));
        json_object_put(r);
        r = client_recv(b);
        ASSERT_STREQ(get_str(r, "params.level"), "warning");
        json_object_put(r);
        mcp_server_broadcast_log(t.server, LOG_EMERG, NULL, data);
        json_object_put(data);
        r = client_recv(a);
        ASSERT_STREQ(get_str(r, "params.level"), "emergency");
        json_object_put(r);
        r = client_recv(b);
        json_object_put(r);
        client_expect_nothing(fresh); /* never initialized */
        client_expect_nothing(mute);  /* never set a level: not even an emergency */

        client_free(a);
        client_free(b);
        client_free(fresh);
        client_free(mute);
        test_teardown(&t);
}

static void test_max_connections(void) {
        Test t;
        Client *c[3];
        json_object *r;

        test_setup(&t, 0, 2);
        for (unsigned i = 0; i < 3; i++) {
                c[i] = client_new(&t);
                pump(&t, 20000);
        }
        ASSERT_EQ(mcp_server_get_n_connections(t.server), 2);
        r = client_recv(c[2]);
        assert_error_id_null(r, -32000, "too many connections (limit 2)");
        json_object_put(r);
        client_expect_eof(c[2]);
        assert_ping(c[0]);
        assert_ping(c[1]);

        /* a slot frees up */
        client_free(c[0]);
        pump(&t, 20000);
        client_free(c[2]);
        c[2] = client_new(&t);
        assert_ping(c[2]);

        client_free(c[1]);
        client_free(c[2]);
        test_teardown(&t);
}

static void test_stop_accepting(void) {
        Test t;
        Client *idle, *busy;
        json_object *r;
        Handler h;
        int fd;

        test_setup(&t, 0, 0);
        h = (Handler) { .t = &t, .hold = true };
        ASSERT_OK(mcp_server_register_tool(t.server, "lean_run", handler, &h));
        idle = client_new(&t);
        busy = client_new(&t);
        client_initialize(idle, "2025-06-18");
        client_initialize(busy, "2025-06-18");
        client_tool_call_async(busy, "1", "lean_run", RUN_ARGS);
        pump(&t, 20000);
        ASSERT_TRUE(h.held);

        mcp_server_stop_accepting(t.server);
        client_expect_eof(idle);
        ASSERT_EQ(mcp_server_get_n_connections(t.server), 1);
        ASSERT_FALSE(mcp_server_is_drained(t.server));

        /* no new connections */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_TRUE(fd >= 0);
        ASSERT_TRUE(connect(fd, (struct sockaddr *) &t.address, t.address_len) < 0);
        safe_close(fd);

        /* new calls meanwhile get shutting_down; the held one is answered, then EOF */
        client_tool_call_async(busy, "2", "lean_run", RUN_ARGS);
        r = client_recv(busy);
        ASSERT_EQ(get_int(r, "id"), 2);
        ASSERT_STREQ(get_str(r, "result.structuredContent.error.code"), "shutting_down");
        json_object_put(r);
        json_object *body = json_object_new_object();
        json_object_object_add(body, "error", json_object_new_string("bye"));
        mcp_call_reply(h.held, body, true);
        h.held = mcp_call_unref(h.held);
        r = client_recv(busy);
        ASSERT_EQ(get_int(r, "id"), 1);
        ASSERT_STREQ(get_str(r, "result.structuredContent.error"), "bye");
        json_object_put(r);
        client_expect_eof(busy);
        ASSERT_TRUE(mcp_server_is_drained(t.server));
        ASSERT_EQ(mcp_server_get_n_connections(t.server), 0);

        client_free(idle);
        client_free(busy);
        test_teardown(&t);
}

static void test_half_close_with_pending_call(void) {
        Test t;
        Client *c;
        json_object *r;
        Handler h;

        test_setup(&t, 0, 0);
        h = (Handler) { .t = &t, .delay = 50 * USEC_PER_MSEC };
        c = client_new_for_tool(&t, &h);
        client_tool_call_async(c, "1", "lean_run", RUN_ARGS);
        ASSERT_OK_ERRNO((shutdown(c->fd, SHUT_WR)));
        r = client_recv(c);
        ASSERT_EQ(get_int(r, "id"), 1);
        ASSERT_TRUE(json_object_get_boolean(get(r, "result.structuredContent.deferred")));
        json_object_put(r);
        ASSERT_EQ(h.n_cancelled, 0);
        client_expect_eof(c);

        client_free(c);
        test_teardown(&t);
}

int main(void) {
        /* SIGPIPE is deliberately left at its default: every write here and in
         * the server uses MSG_NOSIGNAL, and one that does not kills the test. */
        ASSERT_TRUE(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
        log_setup("test-mcp", LOG_TARGET_STDERR);
        log_set_max_level(getenv("TEST_DEBUG") ? LOG_DEBUG : LOG_ERR);

        test_framing();
        test_parse_errors();
        test_oversized_line();
        test_invalid_requests();
        test_ids();
        test_initialize();
        test_batches();
        test_tools_list();
        test_tools_list_bytes();
        test_tools_call();
        test_deferred_and_cancel();
        test_slow_reader();
        test_logging();
        test_log_forward();
        test_max_connections();
        test_stop_accepting();
        test_half_close_with_pending_call();
        return 0;
}
