/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mcp/test-mcp-util.h"
#include "tools/tools.h"

void on_changed(McpServer *s, unsigned n, void *userdata) {
        Test *t = userdata;

        t->n_changed++;
        t->last_n = n;
}

void test_setup_opts(Test *t, const McpServerOptions *o) {
        static unsigned counter = 0;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        McpServerOptions opts = *o;
        int fd;

        opts.server_name = "lean-host";
        opts.server_version = "9.9";
        opts.instructions = "test instructions";
        if (!opts.tools)
                opts.tools = tools_list_defs(&opts.n_tools);
        *t = (Test) {};
        ASSERT_OK(sd_event_new(&t->event));
        ASSERT_OK(mcp_server_new(&t->server, t->event, &opts));
        mcp_server_set_connections_changed(t->server, on_changed, t);

        /* abstract socket: nothing to clean up in the file system */
        int l = snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "lean-host-test-mcp-%d-%u", (int) getpid(), counter++);
        t->address_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + l);
        t->address = sa;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK_ERRNO((bind(fd, (struct sockaddr *) &sa, t->address_len)));
        ASSERT_OK_ERRNO((listen(fd, 256)));
        ASSERT_OK(mcp_server_add_listener(t->server, fd));
}

void test_setup(Test *t, uint64_t max_line, uint64_t max_conn) {
        McpServerOptions opts = {
                .max_line_bytes = max_line,
                .max_connections = max_conn,
        };

        test_setup_opts(t, &opts);
}

void test_teardown(Test *t) {
        t->server = mcp_server_free(t->server);
        t->event = sd_event_unref(t->event);
}

void pump(Test *t, usec_t usec) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + usec;

        while (now_usec(CLOCK_MONOTONIC) < end)
                ASSERT_OK(sd_event_run(t->event, 5 * USEC_PER_MSEC));
}

Client *client_new(Test *t) {
        Client *c = new0(Client, 1);

        ASSERT_TRUE(c);
        c->t = t;
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ASSERT_TRUE(c->fd >= 0);
        ASSERT_OK_ERRNO((connect(c->fd, (struct sockaddr *) &t->address, t->address_len)));
        return c;
}

void client_free(Client *c) {
        if (!c)
                return;
        safe_close(c->fd);
        free(c->buf);
        free(c);
}

void client_send_len(Client *c, const char *data, size_t n) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + WAIT_USEC;

        while (n > 0) {
                ssize_t k = send(c->fd, data, n, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k < 0) {
                        ASSERT_TRUE(errno == EAGAIN);
                        ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) < end);
                        ASSERT_OK(sd_event_run(c->t->event, 5 * USEC_PER_MSEC));
                        continue;
                }
                data += k;
                n -= (size_t) k;
        }
}

void client_send(Client *c, const char *data) {
        client_send_len(c, data, strlen(data));
}

/* Reads what is there without blocking; false if nothing new. */
bool client_fill(Client *c) {
        if (c->eof)
                return false;
        if (c->alloc - c->len < 65536) {
                c->alloc = MAX(c->alloc * 2, c->len + 65536);
                c->buf = realloc(c->buf, c->alloc);
                ASSERT_TRUE(c->buf);
        }
        ssize_t k = recv(c->fd, c->buf + c->len, c->alloc - c->len, MSG_DONTWAIT);
        if (k < 0) {
                if (errno == EAGAIN)
                        return false;
                ASSERT_TRUE(errno == ECONNRESET);
                c->eof = true;
                return true;
        }
        if (k == 0)
                c->eof = true;
        c->len += (size_t) k;
        return true;
}

/* The next line, without its newline (malloc'd), or NULL on EOF/timeout. */
char *client_line(Client *c, usec_t timeout) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + timeout;

        for (;;) {
                char *nl = c->buf ? memchr(c->buf, '\n', c->len) : NULL;
                if (nl) {
                        size_t n = (size_t) (nl - c->buf);
                        char *line = strndup(c->buf, n);
                        ASSERT_TRUE(line);
                        memmove(c->buf, nl + 1, c->len - n - 1);
                        c->len -= n + 1;
                        return line;
                }
                if (client_fill(c))
                        continue;
                if (c->eof || now_usec(CLOCK_MONOTONIC) >= end)
                        return NULL;
                ASSERT_OK(sd_event_run(c->t->event, 2 * USEC_PER_MSEC));
        }
}

json_object *parse_strict(const char *line) {
        json_tokener *tok = json_tokener_new();
        json_object *o;

        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, line, (int) strlen(line) + 1);
        if (json_tokener_get_error(tok) != json_tokener_success) {
                fprintf(stderr, "server sent invalid JSON: %s\n", line);
                abort();
        }
        json_tokener_free(tok);
        return o;
}

json_object *client_recv(Client *c) {
        char *line = client_line(c, WAIT_USEC);
        json_object *o;

        if (!line) {
                fprintf(stderr, "no message from the server (eof=%s)\n", yes_no(c->eof));
                abort();
        }
        o = parse_strict(line);
        free(line);
        ASSERT_TRUE(json_object_is_type(o, json_type_object) || json_object_is_type(o, json_type_array));
        return o;
}

void client_expect_nothing(Client *c) {
        char *line = client_line(c, QUIET_USEC);
        if (line) {
                fprintf(stderr, "unexpected message: %s\n", line);
                abort();
        }
        ASSERT_FALSE(c->eof);
}

void client_expect_eof(Client *c) {
        char *line = client_line(c, WAIT_USEC);
        if (line) {
                fprintf(stderr, "expected EOF, got: %s\n", line);
                abort();
        }
        ASSERT_TRUE(c->eof);
}

json_object *get(json_object *o, const char *path) {
        char *copy = strdup(path), *p = copy, *k;

        ASSERT_TRUE(copy);
        while ((k = strsep(&p, "."))) {
                if (json_object_is_type(o, json_type_array))
                        o = json_object_array_get_idx(o, (size_t) atoi(k));
                else if (!json_object_object_get_ex(o, k, &o)) {
                        fprintf(stderr, "no %s in %s\n", path, json_object_to_json_string(o));
                        abort();
                }
        }
        free(copy);
        return o;
}

bool has(json_object *o, const char *key) {
        return json_object_object_get_ex(o, key, NULL);
}

const char *get_str(json_object *o, const char *path) {
        json_object *v = get(o, path);
        ASSERT_TRUE(json_object_is_type(v, json_type_string));
        return json_object_get_string(v);
}

int64_t get_int(json_object *o, const char *path) {
        json_object *v = get(o, path);
        ASSERT_TRUE(json_object_is_type(v, json_type_int));
        return json_object_get_int64(v);
}

/* Sends one request line and returns the response. */
json_object *client_call(Client *c, const char *line) {
        client_send(c, line);
        client_send(c, "\n");
        return client_recv(c);
}

void assert_error(json_object *r, int code, const char *message_part) {
        if (!has(r, "error")) {
                fprintf(stderr, "expected error %d, got %s\n", code, json_object_to_json_string(r));
                abort();
        }
        ASSERT_EQ(get_int(r, "error.code"), (int64_t) code);
        ASSERT_CONTAINS(get_str(r, "error.message"), message_part);
        ASSERT_FALSE(has(r, "result"));
        ASSERT_STREQ(get_str(r, "jsonrpc"), "2.0");
}

/* An argument error: a tool result with isError, code invalid_arguments. */
void assert_argument_error(json_object *r, const char *message_part) {
        if (!has(r, "result") || !has(get(r, "result"), "isError")) {
                fprintf(stderr, "expected an invalid_arguments tool error, got %s\n", json_object_to_json_string(r));
                abort();
        }
        ASSERT_TRUE(json_object_get_boolean(get(r, "result.isError")));
        ASSERT_STREQ(get_str(r, "result.structuredContent.error.code"), "invalid_arguments");
        ASSERT_FALSE(json_object_get_boolean(get(r, "result.structuredContent.error.retryable")));
        ASSERT_CONTAINS(get_str(r, "result.structuredContent.error.message"), message_part);
        ASSERT_FALSE(has(r, "error"));
}

void assert_error_id_null(json_object *r, int code, const char *message_part) {
        assert_error(r, code, message_part);
        ASSERT_TRUE(has(r, "id") && get(r, "id") == NULL);
}

void assert_ping(Client *c) {
        json_object *r = client_call(c, "{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"method\":\"ping\"}");
        ASSERT_STREQ(get_str(r, "id"), "p");
        ASSERT_TRUE(json_object_is_type(get(r, "result"), json_type_object));
        ASSERT_EQ(json_object_object_length(get(r, "result")), 0);
        json_object_put(r);
}

void client_initialize(Client *c, const char *version) {
        char buf[512];
        json_object *r;

        snprintf(buf, sizeof buf,
                 "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"%s\","
                 "\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"0\"}}}",
                 version);
        r = client_call(c, buf);
        ASSERT_EQ(get_int(r, "id"), 0);
        ASSERT_TRUE(has(get(r, "result"), "protocolVersion"));
        json_object_put(r);
        client_send(c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n");
}

void on_cancel(McpCall *call, void *userdata) {
        Handler *h = userdata;

        ASSERT_TRUE(mcp_call_is_cancelled(call));
        h->n_cancelled++;
}

int on_timer_reply(sd_event_source *s, uint64_t usec, void *userdata) {
        McpCall *call = userdata;
        json_object *body = json_object_new_object();

        json_object_object_add(body, "deferred", json_object_new_boolean(true));
        mcp_call_reply(call, body, false);
        mcp_call_unref(call);
        sd_event_source_unref(s);
        return 0;
}

int handler(McpCall *call, void *userdata) {
        Handler *h = userdata;

        h->n_calls++;
        ASSERT_TRUE(json_object_is_type(mcp_call_get_arguments(call), json_type_object));
        mcp_call_set_cancel(call, on_cancel, h);
        if (h->fail < 0)
                return h->fail;
        if (h->hold) {
                ASSERT_TRUE(!h->held);
                h->held = mcp_call_ref(call);
                return 0;
        }
        if (h->delay > 0) {
                ASSERT_OK(sd_event_add_time_relative(h->t->event, NULL, CLOCK_MONOTONIC, h->delay, 0,
                                                     on_timer_reply, mcp_call_ref(call)));
                return 0;
        }
        mcp_call_reply(call, json_object_get(h->body), h->is_error);
        return 0;
}

char *call_line(const char *id, const char *tool, const char *args) {
        char *s;
        ASSERT_TRUE(asprintf(&s, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
                             "\"arguments\":%s}}", id, tool, args) > 0);
        return s;
}

json_object *client_tool_call(Client *c, const char *id, const char *tool, const char *args) {
        char *line = call_line(id, tool, args);
        json_object *r = client_call(c, line);
        free(line);
        return r;
}

void client_tool_call_async(Client *c, const char *id, const char *tool, const char *args) {
        char *line = call_line(id, tool, args);
        client_send(c, line);
        client_send(c, "\n");
        free(line);
}
