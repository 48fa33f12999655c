/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The MCP server's framing, JSON-RPC and dispatch (src/mcp/server.c, with
 * schema.c validating arguments) fed from a real connection: the input
 * bytes are what a client writes. Tools are a stub layer that answers at
 * once, with an error, later from the event loop, only when cancelled or at
 * the end, or fails internally. Oracles: every line the server writes is one
 * JSON-RPC 2.0 object (a response with exactly one of result/error, or a
 * notification); no id is answered more often than the client sent it; the
 * connection closes after the client's EOF; no call is left behind. First input byte: bit 0 prepends an initialize handshake,
 * bits 1-3 the write size, bits 4-7 the stub's first behaviour. */

#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "fuzz.h"
#include "mcp/mcp.h"
#include "mcp/tool-schemas.h"
#include "tools/tools.h"
#include "mcp/tool-schemas.h"

#define MAX_HELD 64

static sd_event *event;
static McpServer *server;
static struct sockaddr_un address;
static socklen_t address_len;
static unsigned behaviour;
static McpCall *held[MAX_HELD];
static size_t n_held;

static json_object *stub_body(McpCall *call) {
        json_object *o = json_object_new_object();

        FUZZ_ASSERT(o);
        json_object_object_add(o, "tool", json_object_new_string(mcp_call_get_tool(call)));
        json_object_object_add(o, "arguments", json_object_get(mcp_call_get_arguments(call)));
        return o;
}

static void on_cancel(McpCall *call, void *userdata) {
        /* the owner still answers; the server drops it */
        mcp_call_reply(call, stub_body(call), true);
}

static int on_deferred(sd_event_source *s, void *userdata) {
        McpCall *call = userdata;

        mcp_call_reply(call, stub_body(call), false);
        mcp_call_unref(call);
        sd_event_source_disable_unref(s);
        return 0;
}

static int stub_handler(McpCall *call, void *userdata) {
        FUZZ_ASSERT(json_object_is_type(mcp_call_get_arguments(call), json_type_object));
        switch (behaviour++ % 5) {
        case 0:
                mcp_call_reply(call, stub_body(call), false);
                return 0;
        case 1:
                mcp_call_reply(call, stub_body(call), true);
                return 0;
        case 2:
                FUZZ_ASSERT(sd_event_add_defer(event, NULL, on_deferred, mcp_call_ref(call)) >= 0);
                return 0;
        case 3:
                if (n_held < MAX_HELD) {
                        mcp_call_set_cancel(call, on_cancel, NULL);
                        held[n_held++] = mcp_call_ref(call);
                        return 0;
                }
                mcp_call_reply(call, stub_body(call), false);
                return 0;
        default:
                return -EIO;
        }
}

static void setup(void) {
        McpServerOptions opts = {
                .max_line_bytes = 4096, /* small: the oversized-line path is reached */
                .max_connections = 4,
                .server_name = "lean-host",
                .server_version = "fuzz",
                .instructions = "fuzz",
        };
        const McpToolDef *const *defs;
        size_t n_defs;
        int fd, l;

        signal(SIGPIPE, SIG_IGN);
        log_set_max_level(getenv("FUZZ_DEBUG") ? LOG_DEBUG : LOG_CRIT);
        FUZZ_ASSERT(sd_event_new(&event) >= 0);
        defs = opts.tools = tools_list_defs(&n_defs);
        opts.n_tools = n_defs;
        FUZZ_ASSERT(mcp_server_new(&server, event, &opts) >= 0);
        /* every tool but the last: that one answers not_implemented */
        for (size_t i = 0; i + 1 < n_defs; i++)
                FUZZ_ASSERT(mcp_server_register_tool(server, defs[i]->name, stub_handler, NULL) >= 0);

        address.sun_family = AF_UNIX;
        l = snprintf(address.sun_path + 1, sizeof address.sun_path - 1, "lean-host-fuzz-mcp-%d", (int) getpid());
        address_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + l);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        FUZZ_ASSERT(fd >= 0);
        FUZZ_ASSERT(bind(fd, (struct sockaddr *) &address, address_len) >= 0);
        FUZZ_ASSERT(listen(fd, 16) >= 0);
        FUZZ_ASSERT(mcp_server_add_listener(server, fd) >= 0);
}

typedef struct Output {
        char *buf;
        size_t len, alloc;
        bool eof;
} Output;

static void read_output(int fd, Output *o) {
        for (;;) {
                ssize_t n;

                if (o->alloc - o->len < 4096) {
                        o->alloc = MAX(o->alloc * 2, (size_t) 65536);
                        o->buf = realloc(o->buf, o->alloc);
                        FUZZ_ASSERT(o->buf);
                }
                n = recv(fd, o->buf + o->len, o->alloc - o->len - 1, MSG_DONTWAIT);
                if (n > 0) {
                        o->len += n;
                        continue;
                }
                if (n == 0)
                        o->eof = true;
                else
                        FUZZ_ASSERT(errno == EAGAIN || errno == ECONNRESET);
                if (n < 0 && errno == ECONNRESET)
                        o->eof = true;
                return;
        }
}

static void step(int fd, Output *o) {
        while (sd_event_run(event, 0) > 0)
                ;
        if (fd >= 0)
                read_output(fd, o);
}

/* Request ids, as json-c serializes them (the server echoes what json-c
 * parsed), with how often the input carries each: no id may be answered
 * more often than it was sent. */
typedef struct Ids {
        json_object *sent;     /* id text → count */
        json_object *answered;
} Ids;

static void ids_add(json_object *counts, json_object *id) {
        const char *k = json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN);
        json_object *v;

        if (json_object_object_get_ex(counts, k, &v))
                json_object_set_int64(v, json_object_get_int64(v) + 1);
        else
                json_object_object_add(counts, k, json_object_new_int64(1));
}

static void ids_add_message(json_object *counts, json_object *m) {
        json_object *id;

        if (json_object_is_type(m, json_type_object) && json_object_object_get_ex(m, "id", &id) && id)
                ids_add(counts, id);
}

static void ids_from_input(Ids *ids, const char *input, size_t n) {
        for (size_t i = 0; i < n; ) {
                const char *nl = memchr(input + i, '\n', n - i);
                size_t len = nl ? (size_t) (nl - (input + i)) : n - i;
                json_tokener *tok = json_tokener_new();
                json_object *m;

                FUZZ_ASSERT(tok);
                m = json_tokener_parse_ex(tok, input + i, (int) len);
                if (m && json_object_is_type(m, json_type_array))
                        for (size_t j = 0; j < json_object_array_length(m); j++)
                                ids_add_message(ids->sent, json_object_array_get_idx(m, j));
                else if (m)
                        ids_add_message(ids->sent, m);
                json_object_put(m);
                json_tokener_free(tok);
                i += len + 1;
        }
}

static void ids_check(const Ids *ids) {
        json_object_object_foreach(ids->answered, k, v) {
                json_object *sent = NULL;

                if (!json_object_object_get_ex(ids->sent, k, &sent) ||
                    json_object_get_int64(v) > json_object_get_int64(sent))
                        FUZZ_FAIL("id %s answered %" PRIi64 " times, sent %" PRIi64 " times", k,
                                  json_object_get_int64(v), sent ? json_object_get_int64(sent) : 0);
        }
}

static void check_line(Ids *ids, const char *line, size_t n) {
        json_tokener *tok = json_tokener_new();
        json_object *m, *v;
        bool has_result, has_error;

        FUZZ_ASSERT(tok);
        m = json_tokener_parse_ex(tok, line, (int) n);
        if (!m || json_tokener_get_parse_end(tok) != n)
                FUZZ_FAIL("server wrote a line that is not one JSON value: [%.*s]", (int) MIN(n, (size_t) 200), line);
        json_tokener_free(tok);
        FUZZ_ASSERT(json_object_is_type(m, json_type_object));
        FUZZ_ASSERT(json_object_object_get_ex(m, "jsonrpc", &v) && streq(json_object_get_string(v), "2.0"));
        has_result = json_object_object_get_ex(m, "result", NULL);
        has_error = json_object_object_get_ex(m, "error", NULL);
        if (json_object_object_get_ex(m, "method", NULL))
                FUZZ_ASSERT(!has_result && !has_error);
        else {
                FUZZ_ASSERT(json_object_object_get_ex(m, "id", &v));
                if (v)
                        ids_add(ids->answered, v);
                if (has_result == has_error)
                        FUZZ_FAIL("a response needs exactly one of result and error: [%.*s]",
                                  (int) MIN(n, (size_t) 200), line);
        }
        json_object_put(m);
}

static const char handshake[] =
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\","
        "\"capabilities\":{},\"clientInfo\":{\"name\":\"fuzz\",\"version\":\"1\"}}}\n"
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *input = NULL;
        Output o = {};
        Ids ids = {};
        size_t n, sent = 0, chunk;
        unsigned rounds;
        int fd;

        if (size < 1 || size > 128 * 1024)
                return 0;
        if (!server)
                setup();
        behaviour = data[0] >> 4;
        chunk = (size_t) 1 << (((data[0] >> 1) & 7) * 2); /* 1, 4, 16, … 16384 */

        n = (data[0] & 1 ? strlen(handshake) : 0) + size - 1;
        input = malloc(n + 1);
        FUZZ_ASSERT(input);
        if (data[0] & 1)
                memcpy(input, handshake, strlen(handshake));
        memcpy(input + n - (size - 1), data + 1, size - 1);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        FUZZ_ASSERT(fd >= 0);
        FUZZ_ASSERT(connect(fd, (struct sockaddr *) &address, address_len) >= 0);

        while (sent < n && !o.eof) {
                /* small pieces only at the start: framing across reads is reached, and
                 * long inputs stay fast */
                size_t piece = sent < 512 ? chunk : 16384;
                ssize_t w = send(fd, input + sent, MIN(piece, n - sent), MSG_DONTWAIT | MSG_NOSIGNAL);

                if (w > 0)
                        sent += w;
                else if (w < 0 && errno != EAGAIN)
                        break; /* the server closed (an oversized line): fine */
                step(fd, &o);
        }
        (void) shutdown(fd, SHUT_WR);

        /* the server answers what is pending, then shuts down its side */
        for (rounds = 0; !o.eof && rounds < 2000; rounds++) {
                step(fd, &o);
                if (rounds == 20) {
                        /* the held calls are answered now (or were cancelled) */
                        for (size_t i = 0; i < n_held; i++) {
                                mcp_call_reply(held[i], stub_body(held[i]), false);
                                mcp_call_unref(held[i]);
                        }
                        n_held = 0;
                }
                if (!o.eof && rounds > 20)
                        (void) sd_event_run(event, 1000);
        }
        if (!o.eof)
                FUZZ_FAIL("the server did not finish the connection after the client's EOF");
        close(fd);
        for (rounds = 0; mcp_server_get_n_connections(server) > 0 && rounds < 2000; rounds++)
                (void) sd_event_run(event, 1000);
        FUZZ_ASSERT(mcp_server_get_n_connections(server) == 0);
        for (size_t i = 0; i < n_held; i++) {
                mcp_call_reply(held[i], stub_body(held[i]), false);
                mcp_call_unref(held[i]);
        }
        n_held = 0;

        if (getenv("FUZZ_VERBOSE"))
                fwrite(o.buf, 1, o.len, stderr);
        /* every line the server wrote; no id answered more often than sent */
        ids.sent = json_object_new_object();
        ids.answered = json_object_new_object();
        FUZZ_ASSERT(ids.sent && ids.answered);
        ids_from_input(&ids, input, sent);
        for (size_t i = 0; i < o.len; ) {
                char *nl = memchr(o.buf + i, '\n', o.len - i);

                if (!nl)
                        FUZZ_FAIL("the server's output does not end with a newline");
                check_line(&ids, o.buf + i, nl - (o.buf + i));
                i = nl - o.buf + 1;
        }
        ids_check(&ids);
        json_object_put(ids.sent);
        json_object_put(ids.answered);
        free(o.buf);
        return 0;
}
