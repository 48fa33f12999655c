/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers of the MCP server tests (test-mcp.c, test-mcp-hardening.c): a real
 * McpServer on an abstract socket, non-blocking clients, a tool handler. */

#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-event.h>
#include "basic/log.h"
#include "basic/tests.h"
#include "basic/time-util.h"
#include "mcp/mcp.h"
#include "mcp/schema.h"

#define ASSERT_OK_ERRNO(expr)                                                            \
        do {                                                                             \
                if ((expr) < 0) {                                                        \
                        fprintf(stderr, "%s:%d: %s failed: %m\n", __FILE__, __LINE__, #expr); \
                        abort();                                                         \
                }                                                                        \
        } while (0)

#define WAIT_USEC (5 * USEC_PER_SEC)

#define QUIET_USEC (150 * USEC_PER_MSEC)

typedef struct Test {
        sd_event *event;
        McpServer *server;
        struct sockaddr_un address;
        socklen_t address_len;
        unsigned n_changed;
        unsigned last_n;
} Test;

typedef struct Client {
        Test *t;
        int fd;
        char *buf;
        size_t len, alloc;
        bool eof;
} Client;

/* ---- tool handlers for the tests ---------------------------------------- */

typedef struct Handler {
        Test *t;
        McpCall *held;        /* a call kept to answer later */
        unsigned n_calls;
        unsigned n_cancelled;
        usec_t delay;         /* > 0: answer from a timer */
        bool hold;            /* keep the call, the test answers */
        int fail;             /* return this */
        json_object *body;    /* what to answer with (a ref is given away each time) */
        bool is_error;
} Handler;

#define RUN_ARGS "{\"project\":\"/p\",\"code\":\"def a := 1\"}"

void on_changed(McpServer *s, unsigned n, void *userdata);
void test_setup_opts(Test *t, const McpServerOptions *opts);
void test_setup(Test *t, uint64_t max_line, uint64_t max_conn);
void test_teardown(Test *t);
void pump(Test *t, usec_t usec);
Client *client_new(Test *t);
void client_free(Client *c);
void client_send_len(Client *c, const char *data, size_t n);
void client_send(Client *c, const char *data);
bool client_fill(Client *c);
char *client_line(Client *c, usec_t timeout);
json_object *parse_strict(const char *line);
json_object *client_recv(Client *c);
void client_expect_nothing(Client *c);
void client_expect_eof(Client *c);
json_object *get(json_object *o, const char *path);
bool has(json_object *o, const char *key);
const char *get_str(json_object *o, const char *path);
int64_t get_int(json_object *o, const char *path);
json_object *client_call(Client *c, const char *line);
void assert_error(json_object *r, int code, const char *message_part);
void assert_argument_error(json_object *r, const char *message_part);
void assert_error_id_null(json_object *r, int code, const char *message_part);
void assert_ping(Client *c);
void client_initialize(Client *c, const char *version);
void on_cancel(McpCall *call, void *userdata);
int on_timer_reply(sd_event_source *s, uint64_t usec, void *userdata);
int handler(McpCall *call, void *userdata);
char *call_line(const char *id, const char *tool, const char *args);
json_object *client_tool_call(Client *c, const char *id, const char *tool, const char *args);
void client_tool_call_async(Client *c, const char *id, const char *tool, const char *args);
