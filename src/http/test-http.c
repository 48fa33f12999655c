/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The HTTP transport inside one sd-event loop: a raw TCP client (non-blocking,
 * the loop runs while it waits) against an HttpServer over an McpServer with
 * a lean_run handler that answers after a timer. What the integration test
 * cannot reach from outside: log notifications (mcp_server_broadcast_log)
 * ride the session's GET stream, else the stream of a call under way; the
 * loopback name rules of the Host/Origin checks. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/test-loop.h"
#include "basic/tests.h"
#include "http/http-internal.h"
#include "http/http-server.h"

typedef struct Test {
        sd_event *event;
        McpServer *mcp;
        HttpServer *http;
        int port;
} Test;

static int on_reply_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        McpCall *call = userdata;

        mcp_call_reply(call, json_object_new_object(), false);
        mcp_call_unref(call);
        sd_event_source_unref(s);
        return 0;
}

static int on_lean_run(McpCall *call, void *userdata) {
        Test *t = userdata;

        ASSERT_OK(sd_event_add_time_relative(t->event, NULL, CLOCK_MONOTONIC, 1500 * USEC_PER_MSEC, 0,
                                             on_reply_timer, mcp_call_ref(call)));
        return 0;
}

static void test_setup(Test *t) {
        HttpServerOptions o = { .listen = "127.0.0.1:0", .fd = -EBADF };
        McpServerOptions mo = { .server_name = "lean-host", .server_version = "0" };
        const char *colon;

        ASSERT_OK(sd_event_new(&t->event));
        ASSERT_OK(mcp_server_new(&t->mcp, t->event, &mo));
        ASSERT_OK(mcp_server_register_tool(t->mcp, "lean_run", on_lean_run, t));
        ASSERT_OK(http_server_new(&t->http, t->event, t->mcp, &o));
        colon = strrchr(http_server_get_address(t->http), ':');
        ASSERT_TRUE(colon);
        t->port = atoi(colon + 1);
        ASSERT_TRUE(t->port > 0);
}

static void test_teardown(Test *t) {
        t->http = http_server_free(t->http);
        t->mcp = mcp_server_free(t->mcp);
        t->event = sd_event_unref(t->event);
}

typedef struct Client {
        int fd;
        char buf[65536];
        size_t n;
} Client;

static void client_open(Test *t, Client *c) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) t->port) };

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        c->n = 0;
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ASSERT_TRUE(c->fd >= 0);
        ASSERT_TRUE(connect(c->fd, (struct sockaddr *) &sa, sizeof sa) == 0 || errno == EINPROGRESS);
}

static void client_close(Client *c) {
        close(c->fd);
}

static void client_send(Test *t, Client *c, const char *method, const char *session, const char *accept,
                        const char *body) {
        char req[8192];
        int n = snprintf(req, sizeof req,
                         "%s /mcp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: %s\r\n%s%s%s"
                         "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                         method, t->port, accept, session ? "Mcp-Session-Id: " : "", session ?: "",
                         session ? "\r\n" : "", body ? strlen(body) : 0, body ?: "");
        size_t off = 0;

        ASSERT_TRUE(n > 0 && (size_t) n < sizeof req);
        while (off < (size_t) n) {
                ssize_t k = send(c->fd, req + off, (size_t) n - off, MSG_NOSIGNAL);
                if (k < 0) {
                        ASSERT_TRUE(errno == EAGAIN || errno == ENOTCONN);
                        ASSERT_OK(sd_event_run(t->event, 10 * USEC_PER_MSEC));
                        continue;
                }
                off += (size_t) k;
        }
}

/* Runs the loop until what shows up in the client's input; returns where. */
static const char *client_wait_for(Test *t, Client *c, const char *what) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        for (;;) {
                const char *p;

                c->buf[c->n] = 0;
                p = strstr(c->buf, what);
                if (p)
                        return p;
                if (now_usec(CLOCK_MONOTONIC) > deadline) {
                        fprintf(stderr, "timed out waiting for '%s', have:\n%s\n", what, c->buf);
                        abort();
                }
                ASSERT_OK(sd_event_run(t->event, 10 * USEC_PER_MSEC));
                ssize_t k = recv(c->fd, c->buf + c->n, sizeof c->buf - 1 - c->n, MSG_DONTWAIT);
                if (k > 0)
                        c->n += (size_t) k;
        }
}

static void client_clear(Client *c) {
        c->n = 0;
        c->buf[0] = 0;
}

static void initialize(Test *t, char session[static 33]) {
        Client c;
        const char *p;

        client_open(t, &c);
        client_send(t, &c, "POST", NULL, "application/json, text/event-stream",
                    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\"}}");
        client_wait_for(t, &c, "\"serverInfo\"");
        p = strcasestr(c.buf, "Mcp-Session-Id: ");
        ASSERT_TRUE(p);
        memcpy(session, p + 16, 32);
        session[32] = 0;
        client_close(&c);
}

static void log_warning_to_sessions(Test *t, const char *text) {
        json_object *data = json_object_new_string(text);

        mcp_server_broadcast_log(t->mcp, LOG_WARNING, "test", data);
        json_object_put(data);
}

static void test_log_rides_the_get_stream(void) {
        Test t = {};
        Client get;
        char sid[33];

        test_setup(&t);
        initialize(&t, sid);

        client_open(&t, &get);
        client_send(&t, &get, "GET", sid, "text/event-stream", NULL);
        client_wait_for(&t, &get, "text/event-stream");
        log_warning_to_sessions(&t, "first");
        client_wait_for(&t, &get, "\"data\":\"first\"");
        client_wait_for(&t, &get, "\"method\":\"notifications/message\"");

        /* DELETE ends the session and its stream: the chunked body ends */
        Client del;
        client_open(&t, &del);
        client_send(&t, &del, "DELETE", sid, "*/*", NULL);
        client_wait_for(&t, &del, "200 OK");
        client_wait_for(&t, &get, "\r\n0\r\n\r\n");
        client_close(&del);
        client_close(&get);
        ASSERT_TRUE(mcp_server_get_n_connections(t.mcp) == 0);
        test_teardown(&t);
}

static void test_log_rides_a_call_stream(void) {
        Test t = {};
        Client call;
        char sid[33];

        test_setup(&t);
        initialize(&t, sid);

        /* no GET stream: a call under way streams the session's notifications */
        client_open(&t, &call);
        client_send(&t, &call, "POST", sid, "application/json, text/event-stream",
                    "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"lean_run\","
                    "\"arguments\":{\"project\":\"/p\",\"code\":\"x\"}}}");
        client_wait_for(&t, &call, "text/event-stream");
        log_warning_to_sessions(&t, "during");
        const char *log = client_wait_for(&t, &call, "\"data\":\"during\"");
        const char *answer = client_wait_for(&t, &call, "\"id\":5,\"result\"");
        ASSERT_TRUE(log < answer); /* the notification before the answer */
        client_wait_for(&t, &call, "\r\n0\r\n\r\n"); /* and the stream ends with it */
        client_close(&call);

        /* stopping: the idle session closes */
        client_clear(&call);
        http_server_stop_accepting(t.http);
        mcp_server_stop_accepting(t.mcp);
        test_loop_run_for(t.event, 100 * USEC_PER_MSEC);
        ASSERT_TRUE(mcp_server_get_n_connections(t.mcp) == 0);
        ASSERT_TRUE(http_server_is_drained(t.http));
        test_teardown(&t);
}

static void test_loopback_names(void) {
        static const char *const good[] = { "localhost", "localhost:8080", "127.0.0.1", "127.0.0.1:1", "[::1]",
                                            "[::1]:443", "LOCALHOST:80", "127.0.0.2:8808" };
        static const char *const bad[] = { "evil.example.com", "localhost.evil.com", "127.0.0.1.nip.io",
                                           "localhost:", "localhost:80x", "[::1]x", "128.0.0.1", "", "localhostx",
                                           "[::2]", "::1", "[::1", "10.0.0.1:80" };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                ASSERT_TRUE(http_host_is_loopback_name(good[i], strlen(good[i])));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_FALSE(http_host_is_loopback_name(bad[i], strlen(bad[i])));

        /* daemon.http_allowed_hosts: a name matches any port, name:port only that one */
        const char *list = "proxy.example, node2:8080 ,[fd00::1]";
        ASSERT_TRUE(http_host_is_allowed(list, "proxy.example", 13));
        ASSERT_TRUE(http_host_is_allowed(list, "PROXY.example:443", 17));
        ASSERT_TRUE(http_host_is_allowed(list, "node2:8080", 10));
        ASSERT_FALSE(http_host_is_allowed(list, "node2:8081", 10));
        ASSERT_FALSE(http_host_is_allowed(list, "node2", 5));
        ASSERT_TRUE(http_host_is_allowed(list, "[fd00::1]:99", 12));
        ASSERT_FALSE(http_host_is_allowed(list, "proxy.example.evil", 18));
        ASSERT_FALSE(http_host_is_allowed(list, "evil", 4));
        ASSERT_FALSE(http_host_is_allowed(NULL, "proxy.example", 13));
        ASSERT_FALSE(http_host_is_allowed("", "proxy.example", 13));
}

int main(void) {
        log_set_max_level(LOG_WARNING);
        test_loopback_names();
        test_log_rides_the_get_stream();
        test_log_rides_a_call_stream();
        return 0;
}
