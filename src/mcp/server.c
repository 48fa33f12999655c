/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "basic/log.h"
#include "basic/time-util.h"
#include "mcp/mcp.h"
#include "mcp/server-internal.h"
#include "mcp/schema.h"
#include "mcp/tool-schemas.h"
#include "mcp/utf8.h"

/* Protocol choices where JSON-RPC/MCP leave room:
 *
 * - Requests other than initialize and ping before initialize: -32600 "not
 *   initialized". After the initialize answer every request is accepted, even
 *   before notifications/initialized. A second initialize: -32600.
 * - A structurally invalid message (not an object, bad "jsonrpc", "method"
 *   not a string, "params" not structured) gets -32600 even without an id,
 *   as JSON-RPC 2.0 says; a well-formed notification never gets a response,
 *   unknown ones are ignored. Responses from the client are ignored.
 * - Batches only for protocol 2025-03-26 (the one version that has them); the
 *   array answer goes out once every element, deferred tool calls included,
 *   is answered.
 * - notifications/cancelled: the cancel callback runs once; the owner still
 *   answers, and that answer is dropped (MCP: no response to a cancelled
 *   request).
 * - notifications/message: only to connections that got their initialize
 *   answer, at or above their level, "info" until logging/setLevel.
 * - Over max_connections, or out of descriptors: one error line (code
 *   -32000, id null), then close. A peer whose uid is neither ours nor root's:
 *   -32001, then close (mcp/peer.c).
 * - Input json-c would pass on changed is refused: invalid UTF-8 and lone
 *   surrogate escapes -32700, NUL in an id or the method -32600, in the tool
 *   name or an argument -32602 (mcp/utf8.c).
 * - Timeouts: an unfinished line (line_timeout), no initialize
 *   (handshake_timeout): error line, then close; an idle session with nothing
 *   in flight (idle_timeout): closed without a word.
 * - Integer ids are echoed exactly within 64 bits; json-c saturates larger
 *   ones (no crash, but the echo differs). NaN/Infinity are parse errors.
 *
 * Connection life:
 *
 *   open ──(peer shuts down its write side)──▶ input_eof: no more requests; the
 *     │        connection stays until every call is answered and flushed, then closes
 *     ├──(line over max_line_bytes)──▶ closing: input discarded, the error is flushed,
 *     │        then shutdown(SHUT_WR); closes on the peer's EOF or after MCP_LINGER_USEC
 *     ├──(server stopping)──▶ closes as soon as no call is pending and output is flushed
 *     └──(peer gone: EPOLLHUP/EPOLLERR, EPIPE, output over MCP_OUTPUT_MAX)──▶ closed
 *
 * Closing cancels the connection's unanswered calls (cancel callback, once);
 * their replies are dropped. The struct itself is refcounted so code up the
 * stack (and batches waiting for deferred replies) can still look at it. */

#define MCP_DEFAULT_MAX_LINE_BYTES (UINT64_C(8) * 1024 * 1024)
#define MCP_DEFAULT_MAX_INPUT_BYTES (UINT64_C(64) * 1024 * 1024)
#define MCP_READ_CHUNK ((size_t) 256 * 1024)
#define MCP_IN_MIN_ALLOC ((size_t) 64 * 1024)
/* Backpressure: with this much output unsent, stop reading (and parsing
 * already-read) requests from the connection until the client catches up. */
#define MCP_OUTPUT_HIGH_WATER ((size_t) 4 * 1024 * 1024)
/* A client that stops reading while output keeps being produced for it
 * (deferred replies, log notifications) is disconnected once this much is
 * queued: it must never make the daemon's memory grow without bound. */
#define MCP_OUTPUT_MAX ((size_t) 64 * 1024 * 1024)
/* After a fatal framing error: how long to wait for the peer to read the
 * error and close before closing on it. */
#define MCP_LINGER_USEC (2 * USEC_PER_SEC)
#define MCP_JSON_MAX_DEPTH 64


/* Preferred first: answered to clients asking for a version we do not speak. */
static const char *const protocol_versions[] = { MCP_PROTOCOL_VERSION, "2025-03-26", "2025-11-25" };
#define MCP_BATCH_PROTOCOL_VERSION "2025-03-26" /* the one version with JSON-RPC batches */

/* MCP logging levels are the syslog levels, by name. */
static const char *const mcp_log_levels[] = {
        [LOG_EMERG] = "emergency", [LOG_ALERT] = "alert",   [LOG_CRIT] = "critical", [LOG_ERR] = "error",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info",     [LOG_DEBUG] = "debug",
};

#define INITIALIZE_PARAMS_SCHEMA                                                                \
        "{\"type\": \"object\", \"required\": [\"protocolVersion\"], \"properties\": {"         \
        "\"protocolVersion\": {\"type\": \"string\"}, \"capabilities\": {\"type\": \"object\"}, " \
        "\"clientInfo\": {\"type\": \"object\"}}}"
#define TOOLS_CALL_PARAMS_SCHEMA                                                                \
        "{\"type\": \"object\", \"required\": [\"name\"], \"properties\": {"                    \
        "\"name\": {\"type\": \"string\"}, \"arguments\": {\"type\": \"object\"}, "             \
        "\"_meta\": {\"type\": \"object\"}}}"
#define SET_LEVEL_PARAMS_SCHEMA                                                                 \
        "{\"type\": \"object\", \"required\": [\"level\"], \"properties\": {"                   \
        "\"level\": {\"type\": \"string\", \"enum\": [\"debug\", \"info\", \"notice\", "        \
        "\"warning\", \"error\", \"critical\", \"alert\", \"emergency\"]}}}"
#define TOOLS_LIST_PARAMS_SCHEMA                                                                \
        "{\"type\": \"object\", \"properties\": {\"cursor\": {\"type\": [\"string\", \"null\"]}}}"

typedef struct Connection Connection;
typedef struct Batch Batch;

struct Connection {
        unsigned n_ref;
        McpServer *server; /* NULL once closed */
        Connection *prev, *next;
        unsigned id;
        int fd;
        sd_event_source *source, *linger;
        sd_event_source *timeout; /* unfinished line, handshake, idle session */
        usec_t line_started;      /* first byte of the unfinished line, 0 = none */
        usec_t last_activity;     /* last byte read or answer sent */
        sd_event_source *resume; /* parses input held back by backpressure */

        char *in;
        size_t in_start, in_end, in_scanned, in_alloc;
        char *out;
        size_t out_start, out_end, out_alloc;

        const char *protocol_version; /* NULL until initialize was answered */
        bool got_initialized;
        int log_level;

        bool input_eof;
        bool input_paused; /* complete lines wait in the buffer: too much output queued */
        bool closing;
        bool wr_shutdown;
        bool closed;

        McpCall *calls; /* unanswered calls */
};

/* A 2025-03-26 batch: its response array goes out once every element,
 * including deferred tool calls, has its answer. */
struct Batch {
        unsigned n_ref;
        Connection *conn; /* strong: only the struct, may be closed */
        json_object *responses;
        unsigned n_pending;
        bool sealed, sent;
};

struct McpCall {
        unsigned n_ref;
        McpServer *server; /* NULL once answered or the server is gone */
        Connection *conn;  /* weak: NULL once answered or the connection closed */
        Batch *batch;
        McpCall *server_prev, *server_next;
        McpCall *conn_prev, *conn_next;

        json_object *id;
        char *tool;
        json_object *arguments;

        McpCancelFunc cancel;
        void *cancel_userdata;
        bool cancelled, cancel_invoked, replied;
};

static void connection_close(Connection *c, const char *why);
static void connection_send(Connection *c, json_object *msg);
static void connection_update_events(Connection *c);
static void connection_process_input(Connection *c);
static void connection_maybe_finish(Connection *c);
static void connection_update_timeout(Connection *c);
static void connection_input_over_budget(Connection *c);

/* ---- small JSON helpers ------------------------------------------------- */

/* json-c accepts NaN and Infinity even in strict mode; they are not JSON
 * and would come back out verbatim if echoed (e.g. as an id). */
static bool json_has_nonstandard_number(json_object *v) {
        switch (json_object_get_type(v)) {
        case json_type_double: {
                if (isfinite(json_object_get_double(v)))
                        return false;
                /* 1e999 is valid JSON (and json-c keeps its text); NaN/Infinity are not */
                const char *t = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
                if (t[0] == '-')
                        t++;
                return !(t[0] >= '0' && t[0] <= '9');
        }
        case json_type_array: {
                size_t n = json_object_array_length(v);
                for (size_t i = 0; i < n; i++)
                        if (json_has_nonstandard_number(json_object_array_get_idx(v, i)))
                                return true;
                return false;
        }
        case json_type_object: {
                json_object_object_foreach(v, key, value) {
                        (void) key;
                        if (json_has_nonstandard_number(value))
                                return true;
                }
                return false;
        }
        default:
                return false;
        }
}

static bool json_id_valid(json_object *id) {
        return !id || json_object_is_type(id, json_type_string) || json_object_is_type(id, json_type_int) ||
               json_object_is_type(id, json_type_double);
}

static json_object *jsonrpc_error_new(json_object *id, int code, const char *message) {
        json_object *m = json_object_new_object(), *e = json_object_new_object();

        if (!m || !e) {
                json_object_put(m);
                json_object_put(e);
                return NULL;
        }
        json_object_object_add(e, "code", json_object_new_int(code));
        json_object_object_add(e, "message", json_object_new_string(message));
        json_object_object_add(m, "jsonrpc", json_object_new_string("2.0"));
        json_object_object_add(m, "id", json_object_get(id));
        json_object_object_add(m, "error", e);
        return m;
}

static json_object *jsonrpc_result_new(json_object *id, json_object *result) {
        json_object *m = json_object_new_object();

        if (!m) {
                json_object_put(result);
                return NULL;
        }
        json_object_object_add(m, "jsonrpc", json_object_new_string("2.0"));
        json_object_object_add(m, "id", json_object_get(id));
        json_object_object_add(m, "result", result);
        return m;
}

/* {"error": {"code", "retryable", "message"}}: the tool-error body every
 * layer uses, here for the errors the MCP layer itself produces. */
static json_object *tool_error_body_new(const char *code, bool retryable, const char *message) {
        json_object *body = json_object_new_object(), *e = json_object_new_object();

        if (!body || !e) {
                json_object_put(body);
                json_object_put(e);
                return NULL;
        }
        json_object_object_add(e, "code", json_object_new_string(code));
        json_object_object_add(e, "retryable", json_object_new_boolean(retryable));
        json_object_object_add(e, "message", json_object_new_string(message));
        json_object_object_add(body, "error", e);
        return body;
}

/* The tools/call result: structuredContent (always an object) and, for
 * clients that only read content, a compact summary of it as text. */
static json_object *tool_result_new(McpServer *s, json_object *body, bool is_error) {
        json_object *result, *content, *text;
        _cleanup_free_ char *summary = NULL;

        if (!json_object_is_type(body, json_type_object)) {
                json_object *wrap = json_object_new_object();
                if (!wrap) {
                        json_object_put(body);
                        return NULL;
                }
                json_object_object_add(wrap, "result", body);
                body = wrap;
        }

        if (s && s->result_text)
                summary = s->result_text(body, is_error, s->result_text_userdata);
        if (!summary)
                summary = mcp_result_text_default(body, is_error);
        result = json_object_new_object();
        content = json_object_new_array();
        text = json_object_new_object();
        if (!summary || !result || !content || !text) {
                json_object_put(body);
                json_object_put(result);
                json_object_put(content);
                json_object_put(text);
                return NULL;
        }
        json_object_object_add(text, "type", json_object_new_string("text"));
        json_object_object_add(text, "text", json_object_new_string(summary));
        json_object_array_add(content, text);
        json_object_object_add(result, "content", content);
        json_object_object_add(result, "structuredContent", body);
        json_object_object_add(result, "isError", json_object_new_boolean(is_error));
        return result;
}

/* ---- batches ------------------------------------------------------------ */

static Connection *connection_ref(Connection *c);
static Connection *connection_unref(Connection *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Connection *, connection_unref);

static Batch *batch_new(Connection *conn) {
        Batch *b = new0(Batch, 1);

        if (!b)
                return NULL;
        b->responses = json_object_new_array();
        if (!b->responses)
                return mfree(b);
        b->n_ref = 1;
        b->conn = connection_ref(conn);
        return b;
}

static Batch *batch_ref(Batch *b) {
        if (b)
                b->n_ref++;
        return b;
}

static Batch *batch_unref(Batch *b) {
        if (!b || --b->n_ref > 0)
                return NULL;
        json_object_put(b->responses);
        connection_unref(b->conn);
        return mfree(b);
}

static void batch_maybe_send(Batch *b) {
        if (!b->sealed || b->n_pending > 0 || b->sent)
                return;
        b->sent = true;
        /* a batch of notifications only gets no response at all */
        if (json_object_array_length(b->responses) > 0)
                connection_send(b->conn, json_object_get(b->responses));
        connection_maybe_finish(b->conn);
}

/* Takes ownership of msg: the response goes into the batch, or straight out. */
static void emit(Connection *c, Batch *b, json_object *msg) {
        if (!msg) {
                log_oom();
                return;
        }
        if (b)
                json_object_array_add(b->responses, msg);
        else
                connection_send(c, msg);
}

static void emit_error(Connection *c, Batch *b, json_object *id, int code, const char *message) {
        emit(c, b, jsonrpc_error_new(id, code, message));
}

static void emit_errorf(Connection *c, Batch *b, json_object *id, int code, const char *format, ...) _printf_(5, 6);
static void emit_errorf(Connection *c, Batch *b, json_object *id, int code, const char *format, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0) {
                log_oom();
                return;
        }
        emit_error(c, b, id, code, s);
}

static void emit_result(Connection *c, Batch *b, json_object *id, json_object *result) {
        if (!result) {
                log_oom();
                return;
        }
        emit(c, b, jsonrpc_result_new(id, result));
}

/* ---- calls -------------------------------------------------------------- */

McpCall *mcp_call_ref(McpCall *c) {
        if (c)
                c->n_ref++;
        return c;
}

McpCall *mcp_call_unref(McpCall *c) {
        if (!c || --c->n_ref > 0)
                return NULL;
        json_object_put(c->id);
        json_object_put(c->arguments);
        free(c->tool);
        batch_unref(c->batch);
        return mfree(c);
}

const char *mcp_call_get_tool(const McpCall *c) {
        return c->tool;
}

json_object *mcp_call_get_arguments(const McpCall *c) {
        return c->arguments;
}

json_object *mcp_call_get_id(const McpCall *c) {
        return c->id;
}

void mcp_call_set_cancel(McpCall *c, McpCancelFunc cancel, void *userdata) {
        c->cancel = cancel;
        c->cancel_userdata = userdata;
}

void *mcp_call_get_cancel_userdata(const McpCall *c) {
        return c->cancel ? c->cancel_userdata : NULL;
}

bool mcp_call_is_cancelled(const McpCall *c) {
        return c->cancelled;
}

static void call_unlink_connection(McpCall *c) {
        Connection *conn = c->conn;

        if (!conn)
                return;
        if (c->conn_prev)
                c->conn_prev->conn_next = c->conn_next;
        else
                conn->calls = c->conn_next;
        if (c->conn_next)
                c->conn_next->conn_prev = c->conn_prev;
        c->conn_prev = c->conn_next = NULL;
        c->conn = NULL;
}

/* Drops the server's reference, taken when the call was dispatched. */
static void call_unlink_server(McpCall *c) {
        McpServer *s = c->server;

        if (!s)
                return;
        if (c->server_prev)
                c->server_prev->server_next = c->server_next;
        else
                s->calls = c->server_next;
        if (c->server_next)
                c->server_next->server_prev = c->server_prev;
        c->server_prev = c->server_next = NULL;
        c->server = NULL;
        s->n_calls--;
        mcp_call_unref(c);
}

static void call_cancel(McpCall *c) {
        if (c->replied || c->cancelled)
                return;
        c->cancelled = true;
        if (c->cancel && !c->cancel_invoked) {
                c->cancel_invoked = true;
                mcp_call_ref(c);
                c->cancel(c, c->cancel_userdata);
                mcp_call_unref(c);
        }
}

void mcp_call_reply(McpCall *c, json_object *body, bool is_error) {
        _cleanup_(connection_unrefp) Connection *conn = NULL;
        Batch *b;
        bool deliver;

        if (c->replied) {
                log_debug("Tool call %s answered twice, ignoring the second answer.", c->tool);
                json_object_put(body);
                return;
        }
        c->replied = true;

        mcp_call_ref(c);
        conn = connection_ref(c->conn);
        b = c->batch;
        /* Replies to cancelled calls are dropped: per MCP, the receiver of a
         * cancellation should not send a response for the cancelled request. */
        deliver = conn && !conn->closed && !c->cancelled;
        call_unlink_connection(c);

        if (deliver) {
                json_object *result = tool_result_new(c->server, body, is_error);
                conn->last_activity = now_usec(CLOCK_MONOTONIC);
                emit(conn, b, result ? jsonrpc_result_new(c->id, result) : NULL);
        } else {
                log_debug("Dropping the answer to %s call %s: %s.", c->tool,
                          json_object_to_json_string_ext(c->id, JSON_C_TO_STRING_PLAIN),
                          c->cancelled ? "cancelled" : "connection closed");
                json_object_put(body);
        }

        if (b) {
                b->n_pending--;
                batch_maybe_send(b);
        }
        call_unlink_server(c);
        if (conn)
                connection_maybe_finish(conn);
        mcp_call_unref(c);
}

static void call_reply_error(McpCall *c, const char *code, bool retryable, const char *message) {
        json_object *body = tool_error_body_new(code, retryable, message);

        if (!body)
                log_oom();
        mcp_call_reply(c, body, true);
}

/* ---- connections -------------------------------------------------------- */

static Connection *connection_ref(Connection *c) {
        if (c)
                c->n_ref++;
        return c;
}

static Connection *connection_unref(Connection *c) {
        if (!c || --c->n_ref > 0)
                return NULL;
        assert(c->closed);
        return mfree(c);
}

static size_t connection_out_pending(const Connection *c) {
        return c->out_end - c->out_start;
}

/* The server-wide input budget covers what input buffers hold beyond their
 * first MCP_IN_MIN_ALLOC: every connection can always send an ordinary
 * request, only long lines compete for the budget. */
static size_t input_budget_share(size_t alloc) {
        return alloc > MCP_IN_MIN_ALLOC ? alloc - MCP_IN_MIN_ALLOC : 0;
}

static void connection_input_free(Connection *c) {
        if (c->server)
                c->server->in_bytes -= input_budget_share(c->in_alloc);
        c->in = mfree(c->in);
        c->in_start = c->in_end = c->in_scanned = c->in_alloc = 0;
        c->line_started = 0;
}

static int connection_input_resize(Connection *c, size_t a) {
        char *p = realloc(c->in, a);

        if (!p)
                return -ENOMEM;
        c->server->in_bytes = c->server->in_bytes - input_budget_share(c->in_alloc) + input_budget_share(a);
        c->in = p;
        c->in_alloc = a;
        return 0;
}

static bool connection_backpressure(const Connection *c) {
        return connection_out_pending(c) >= MCP_OUTPUT_HIGH_WATER;
}

static void connection_update_events(Connection *c) {
        uint32_t events = 0;
        int r;

        if (c->closed)
                return;
        /* in closing state input is read and discarded, to see the peer's EOF */
        if (!c->input_eof && (c->closing || !connection_backpressure(c)))
                events |= EPOLLIN;
        if (connection_out_pending(c) > 0)
                events |= EPOLLOUT;
        connection_update_timeout(c);
        r = sd_event_source_set_io_events(c->source, events);
        if (r >= 0 && c->input_paused && !connection_backpressure(c))
                r = sd_event_source_set_enabled(c->resume, SD_EVENT_ONESHOT);
        if (r < 0) {
                log_warning_errno(r, "Connection %u: failed to update I/O events: %m", c->id);
                connection_close(c, "internal error");
        }
}

static void connection_flush(Connection *c) {
        while (!c->closed && c->out_start < c->out_end) {
                ssize_t n = send(c->fd, c->out + c->out_start, c->out_end - c->out_start, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        log_debug_errno(errno, "Connection %u: write failed: %m", c->id);
                        connection_close(c, "write failed");
                        return;
                }
                c->out_start += (size_t) n;
        }
        if (c->closed)
                return;
        if (c->out_start == c->out_end) {
                c->out_start = c->out_end = 0;
                /* do not keep a big buffer around for an idle connection */
                if (c->out_alloc > MCP_OUTPUT_HIGH_WATER) {
                        c->out = mfree(c->out);
                        c->out_alloc = 0;
                }
                if (c->closing && !c->wr_shutdown) {
                        (void) shutdown(c->fd, SHUT_WR);
                        c->wr_shutdown = true;
                }
        }
}

/* Serializes msg (ownership taken) as one line into the output queue and
 * tries to write it right away. May close the connection. */
static void connection_send(Connection *c, json_object *msg) {
        const char *s;
        size_t n, l;

        if (!msg)
                return;
        if (c->closed || c->wr_shutdown) {
                json_object_put(msg);
                return;
        }

        s = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        if (!s) {
                json_object_put(msg);
                log_oom();
                return;
        }
        l = utf8_sanitized_length(s, n);

        /* one big answer to a reading client is fine; a pile-up is not */
        if (connection_out_pending(c) > 0 && connection_out_pending(c) + l + 1 > MCP_OUTPUT_MAX) {
                json_object_put(msg);
                log_warning("Connection %u: more than %zu MiB of output queued, the client does not read; disconnecting.",
                            c->id, MCP_OUTPUT_MAX / (1024 * 1024));
                connection_close(c, "output queue full");
                return;
        }

        if (c->out_end + l + 1 > c->out_alloc && c->out_start > 0) {
                memmove(c->out, c->out + c->out_start, c->out_end - c->out_start);
                c->out_end -= c->out_start;
                c->out_start = 0;
        }
        if (c->out_end + l + 1 > c->out_alloc) {
                size_t a = MAX(MAX(c->out_alloc * 2, c->out_end + l + 1), (size_t) 4096);
                char *p = realloc(c->out, a);
                if (!p) {
                        json_object_put(msg);
                        log_oom();
                        connection_close(c, "out of memory");
                        return;
                }
                c->out = p;
                c->out_alloc = a;
        }
        if (l == n)
                memcpy(c->out + c->out_end, s, n);
        else
                utf8_sanitize_copy(c->out + c->out_end, s, n);
        c->out_end += l;
        c->out[c->out_end++] = '\n';
        json_object_put(msg);

        connection_flush(c);
        connection_update_events(c);
}

/* Close a connection that has nothing left to do: the client finished
 * sending, or the server is stopping. */
static void connection_maybe_finish(Connection *c) {
        if (c->closed || c->closing || c->calls || connection_out_pending(c) > 0 || c->input_paused)
                return;
        if (c->input_eof)
                connection_close(c, "client finished");
        else if (c->server->stopping)
                connection_close(c, "server stopping");
}

static void connection_close(Connection *c, const char *why) {
        McpServer *s = c->server;
        McpCall *call;

        if (c->closed)
                return;
        c->closed = true;
        connection_ref(c);

        log_debug("Connection %u closed (%s).", c->id, why);
        c->source = sd_event_source_disable_unref(c->source);
        c->linger = sd_event_source_disable_unref(c->linger);
        c->resume = sd_event_source_disable_unref(c->resume);
        c->timeout = sd_event_source_disable_unref(c->timeout);
        c->fd = safe_close(c->fd);
        connection_input_free(c);
        c->out = mfree(c->out);
        c->out_start = c->out_end = c->out_alloc = 0;

        if (c->prev)
                c->prev->next = c->next;
        else
                s->connections = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->prev = c->next = NULL;
        s->n_connections--;
        c->server = NULL;

        /* Cancel what is still unanswered; a cancel callback may answer
         * (dropped) or even answer other calls of this connection. */
        while ((call = c->calls)) {
                mcp_call_ref(call);
                call_unlink_connection(call);
                call_cancel(call);
                mcp_call_unref(call);
        }

        if (s->connections_changed)
                s->connections_changed(s, s->n_connections, s->connections_changed_userdata);

        assert(c->n_ref >= 2);
        c->n_ref--; /* the server's list; ours is still held */
        connection_unref(c);
}

static int on_linger_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        connection_close(userdata, "linger timeout");
        return 0;
}

/* A fatal framing error: the error line goes out, nothing more is read. */
static void connection_shutdown_after_error(Connection *c) {
        int r;

        if (c->closed || c->closing)
                return;
        c->closing = true;
        connection_input_free(c);

        r = sd_event_add_time_relative(c->server->event, &c->linger, CLOCK_MONOTONIC, MCP_LINGER_USEC, 0,
                                       on_linger_timeout, c);
        if (r < 0) {
                connection_close(c, "linger timer failed");
                return;
        }
        connection_flush(c);
        connection_update_events(c);
}

/* ---- methods ------------------------------------------------------------ */

static McpTool *server_find_tool(McpServer *s, const char *name) {
        if (!name)
                return NULL;
        for (size_t i = 0; i < s->n_tools; i++)
                if (streq(s->tools[i].def->name, name))
                        return s->tools + i;
        return NULL;
}

/* Validates params (absent = {}) against schema; emits -32602 naming the field
 * and returns false if they do not match. */
static bool check_params(Connection *c, Batch *b, json_object *id, json_object *schema, json_object *params) {
        _cleanup_free_ char *err = NULL;
        json_object *empty = NULL;
        int r;

        if (!params)
                params = empty = json_object_new_object();
        r = schema_validate(schema, params, "params", &err);
        json_object_put(empty);
        if (r == -EINVAL) {
                emit_error(c, b, id, JSONRPC_INVALID_PARAMS, err ?: "params: invalid");
                return false;
        }
        if (r < 0) {
                emit_error(c, b, id, JSONRPC_INTERNAL_ERROR, "internal error: out of memory");
                return false;
        }
        return true;
}

static void method_initialize(Connection *c, Batch *b, json_object *id, json_object *params) {
        McpServer *s = c->server;
        json_object *v, *result, *caps, *tools, *info;
        const char *version = protocol_versions[0], *asked;

        if (c->protocol_version) {
                emit_error(c, b, id, JSONRPC_INVALID_REQUEST, "invalid request: already initialized");
                return;
        }
        if (!check_params(c, b, id, s->initialize_schema, params))
                return;

        (void) json_object_object_get_ex(params, "protocolVersion", &v);
        asked = json_object_get_string(v);
        for (size_t i = 0; i < ELEMENTSOF(protocol_versions); i++)
                if (streq(asked, protocol_versions[i]))
                        version = protocol_versions[i];
        if (!streq(asked, version))
                log_debug("Connection %u asked for protocol version %s, offering %s.", c->id, asked, version);

        result = json_object_new_object();
        caps = json_object_new_object();
        tools = json_object_new_object();
        info = json_object_new_object();
        if (!result || !caps || !tools || !info) {
                json_object_put(result);
                json_object_put(caps);
                json_object_put(tools);
                json_object_put(info);
                log_oom();
                return;
        }
        json_object_object_add(tools, "listChanged", json_object_new_boolean(false));
        json_object_object_add(caps, "tools", tools);
        json_object_object_add(caps, "logging", json_object_new_object());
        json_object_object_add(info, "name", json_object_new_string(s->server_name));
        json_object_object_add(info, "version", json_object_new_string(s->server_version));
        json_object_object_add(result, "protocolVersion", json_object_new_string(version));
        json_object_object_add(result, "capabilities", caps);
        json_object_object_add(result, "serverInfo", info);
        if (s->instructions)
                json_object_object_add(result, "instructions", json_object_new_string(s->instructions));

        c->protocol_version = version;
        emit_result(c, b, id, result);
}

static void method_tools_list(Connection *c, Batch *b, json_object *id, json_object *params) {
        json_object *result;

        /* one page: the cursor is accepted and ignored */
        if (!check_params(c, b, id, c->server->tools_list_schema, params))
                return;
        result = json_object_new_object();
        if (result)
                json_object_object_add(result, "tools", json_object_get(c->server->tools_list));
        emit_result(c, b, id, result);
}

static void method_logging_set_level(Connection *c, Batch *b, json_object *id, json_object *params) {
        json_object *v;
        const char *level;

        if (!check_params(c, b, id, c->server->set_level_schema, params))
                return;
        (void) json_object_object_get_ex(params, "level", &v);
        level = json_object_get_string(v);
        for (int i = 0; i < (int) ELEMENTSOF(mcp_log_levels); i++)
                if (streq(level, mcp_log_levels[i]))
                        c->log_level = i;
        emit_result(c, b, id, json_object_new_object());
}

static void method_tools_call(Connection *c, Batch *b, json_object *id, json_object *params) {
        McpServer *s = c->server;
        _cleanup_free_ char *err = NULL;
        json_object *v, *arguments = NULL;
        const char *name;
        McpTool *tool;
        McpCall *call;
        int r;

        if (!check_params(c, b, id, s->tools_call_schema, params))
                return;

        (void) json_object_object_get_ex(params, "name", &v);
        if (!json_string_is_clean(v)) {
                emit_error(c, b, id, JSONRPC_INVALID_PARAMS, "params.name: must not contain NUL (\\u0000)");
                return;
        }
        name = json_object_get_string(v);
        tool = server_find_tool(s, name);
        if (!tool) {
                emit_errorf(c, b, id, JSONRPC_INVALID_PARAMS, "unknown tool: %.200s", json_object_get_string(v));
                return;
        }

        if (json_object_object_get_ex(params, "arguments", &v))
                arguments = json_object_get(v);
        else
                arguments = json_object_new_object();
        if (!arguments) {
                log_oom();
                return;
        }
        /* every argument string reaches C code (paths, Lean source) */
        char where[256];
        if (json_find_nul_string(arguments, "params.arguments", where, sizeof where)) {
                json_object_put(arguments);
                emit_errorf(c, b, id, JSONRPC_INVALID_PARAMS, "%s: must not contain NUL (\\u0000)", where);
                return;
        }
        r = schema_validate(tool->schema, arguments, "params.arguments", &err);
        if (r < 0) {
                json_object_put(arguments);
                if (r == -EINVAL)
                        emit_error(c, b, id, JSONRPC_INVALID_PARAMS, err ?: "params.arguments: invalid");
                else
                        emit_error(c, b, id, JSONRPC_INTERNAL_ERROR, "internal error: out of memory");
                return;
        }

        call = new0(McpCall, 1);
        if (!call || !(call->tool = strdup(tool->def->name))) {
                free(call);
                json_object_put(arguments);
                log_oom();
                emit_error(c, b, id, JSONRPC_INTERNAL_ERROR, "internal error: out of memory");
                return;
        }
        call->n_ref = 1; /* the server's, dropped when answered */
        call->id = json_object_get(id);
        call->arguments = arguments;
        call->server = s;
        call->server_next = s->calls;
        if (s->calls)
                s->calls->server_prev = call;
        s->calls = call;
        s->n_calls++;
        call->conn = c;
        call->conn_next = c->calls;
        if (c->calls)
                c->calls->conn_prev = call;
        c->calls = call;
        if (b) {
                call->batch = batch_ref(b);
                b->n_pending++;
        }

        mcp_call_ref(call);
        if (s->stopping)
                call_reply_error(call, "shutting_down", true, "lean-hostd is shutting down; retry once it is back");
        else if (!tool->handler) {
                _cleanup_free_ char *m = NULL;
                if (asprintf(&m, "%s is not implemented yet in this lean-hostd", tool->def->name) < 0)
                        m = NULL;
                call_reply_error(call, "not_implemented", false, m ?: "not implemented");
        } else {
                r = tool->handler(call, tool->userdata);
                if (r < 0) {
                        if (call->replied)
                                log_debug_errno(r, "Tool %s failed after answering, ignoring: %m", call->tool);
                        else {
                                _cleanup_free_ char *m = NULL;
                                log_warning_errno(r, "Tool %s failed: %m", call->tool);
                                if (asprintf(&m, "internal error in %s: %s", call->tool, strerror(-r)) < 0)
                                        m = NULL;
                                call_reply_error(call, "internal_error", false, m ?: "internal error");
                        }
                }
        }
        mcp_call_unref(call);
}

static void notification_cancelled(Connection *c, json_object *params) {
        json_object *rid;

        if (!json_object_is_type(params, json_type_object) ||
            !json_object_object_get_ex(params, "requestId", &rid) || !rid)
                return;
        for (McpCall *call = c->calls; call; call = call->conn_next)
                if (!call->cancelled && json_object_equal(call->id, rid)) {
                        json_object *reason = NULL;
                        (void) json_object_object_get_ex(params, "reason", &reason);
                        log_debug("Connection %u cancelled %s call %s%s%s.", c->id, call->tool,
                                  json_object_to_json_string_ext(rid, JSON_C_TO_STRING_PLAIN),
                                  reason ? ": " : "", reason ? json_object_get_string(reason) : "");
                        call_cancel(call);
                        return;
                }
}

/* One JSON-RPC message (an object, or anything else that is then invalid). */
static void handle_message(Connection *c, Batch *b, json_object *msg) {
        json_object *id = NULL, *v, *params = NULL;
        const char *method;
        bool has_id;

        if (!json_object_is_type(msg, json_type_object)) {
                emit_error(c, b, NULL, JSONRPC_INVALID_REQUEST, "invalid request: expected a JSON-RPC object");
                return;
        }

        has_id = json_object_object_get_ex(msg, "id", &id);
        if (!json_id_valid(id)) {
                emit_error(c, b, NULL, JSONRPC_INVALID_REQUEST, "invalid request: id must be a string, a number or null");
                return;
        }
        if (json_object_is_type(id, json_type_string) && !json_string_is_clean(id)) {
                emit_error(c, b, NULL, JSONRPC_INVALID_REQUEST, "invalid request: id must not contain NUL (\\u0000)");
                return;
        }
        if (!json_object_object_get_ex(msg, "jsonrpc", &v) || !json_object_is_type(v, json_type_string) ||
            !streq(json_object_get_string(v), "2.0")) {
                emit_error(c, b, id, JSONRPC_INVALID_REQUEST, "invalid request: \"jsonrpc\" must be \"2.0\"");
                return;
        }
        if (!json_object_object_get_ex(msg, "method", &v)) {
                if (has_id && (json_object_object_get_ex(msg, "result", NULL) ||
                               json_object_object_get_ex(msg, "error", NULL))) {
                        /* a response: this server sends no requests, nothing to match */
                        log_debug("Connection %u: ignoring a response the server did not ask for.", c->id);
                        return;
                }
                emit_error(c, b, id, JSONRPC_INVALID_REQUEST, "invalid request: \"method\" is missing");
                return;
        }
        if (!json_object_is_type(v, json_type_string)) {
                emit_error(c, b, id, JSONRPC_INVALID_REQUEST, "invalid request: \"method\" must be a string");
                return;
        }
        if (!json_string_is_clean(v)) {
                emit_error(c, b, id, JSONRPC_INVALID_REQUEST, "invalid request: \"method\" must not contain NUL (\\u0000)");
                return;
        }
        method = json_object_get_string(v);
        if (json_object_object_get_ex(msg, "params", &params) && !json_object_is_type(params, json_type_object) &&
            !json_object_is_type(params, json_type_array)) {
                emit_error(c, b, id, JSONRPC_INVALID_REQUEST, "invalid request: \"params\" must be an object or an array");
                return;
        }

        if (!has_id) {
                /* notifications never get a response, not even an error */
                if (streq(method, "notifications/initialized")) {
                        if (c->protocol_version)
                                c->got_initialized = true;
                } else if (streq(method, "notifications/cancelled"))
                        notification_cancelled(c, params);
                else
                        log_debug("Connection %u: ignoring notification %s.", c->id, method);
                return;
        }

        static const struct {
                const char *name;
                void (*func)(Connection *c, Batch *b, json_object *id, json_object *params);
                bool before_initialize;
        } methods[] = {
                { "initialize", method_initialize, true },
                { "ping", NULL, true },
                { "tools/list", method_tools_list, false },
                { "tools/call", method_tools_call, false },
                { "logging/setLevel", method_logging_set_level, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(methods); i++) {
                if (!streq(method, methods[i].name))
                        continue;
                /* Requests before initialize are a lifecycle violation: -32600
                 * (the request is not valid in this state), not -32601. */
                if (!methods[i].before_initialize && !c->protocol_version) {
                        emit_errorf(c, b, id, JSONRPC_INVALID_REQUEST,
                                    "invalid request: not initialized: send initialize before %s", method);
                        return;
                }
                if (params && !json_object_is_type(params, json_type_object)) {
                        emit_error(c, b, id, JSONRPC_INVALID_PARAMS, "params: expected object, got array");
                        return;
                }
                if (methods[i].func)
                        methods[i].func(c, b, id, params);
                else
                        emit_result(c, b, id, json_object_new_object()); /* ping */
                return;
        }
        emit_errorf(c, b, id, JSONRPC_METHOD_NOT_FOUND, "method not found: %.200s", method);
}

static void handle_batch(Connection *c, json_object *array) {
        _cleanup_(connection_unrefp) Connection *ref = connection_ref(c);
        size_t n = json_object_array_length(array);
        Batch *b;

        if (!c->protocol_version || !streq(c->protocol_version, MCP_BATCH_PROTOCOL_VERSION)) {
                if (c->protocol_version)
                        emit_errorf(c, NULL, NULL, JSONRPC_INVALID_REQUEST,
                                    "invalid request: batches are not supported in protocol version %s",
                                    c->protocol_version);
                else
                        emit_error(c, NULL, NULL, JSONRPC_INVALID_REQUEST,
                                   "invalid request: batches are not supported before initialize");
                return;
        }
        if (n == 0) {
                emit_error(c, NULL, NULL, JSONRPC_INVALID_REQUEST, "invalid request: empty batch");
                return;
        }

        b = batch_new(c);
        if (!b) {
                log_oom();
                return;
        }
        for (size_t i = 0; i < n && !c->closed; i++)
                handle_message(c, b, json_object_array_get_idx(array, i));
        b->sealed = true;
        batch_maybe_send(b);
        batch_unref(b);
}

#define IN_SET_WHITESPACE(ch) ((ch) == ' ' || (ch) == '\t' || (ch) == '\r')

static void handle_line(Connection *c, char *line, size_t n) {
        McpServer *s = c->server;
        enum json_tokener_error e;
        json_object *msg;
        size_t i;

        if (n > 0 && line[n - 1] == '\r')
                n--;
        for (i = 0; i < n; i++)
                if (!IN_SET_WHITESPACE(line[i]))
                        break;
        if (i == n)
                return; /* blank line */
        line[n] = '\0';

        /* Reject what json-c would pass on changed: invalid UTF-8 (it would
         * come back as U+FFFD, e.g. in an echoed id), lone surrogate escapes
         * (turned into U+FFFD), NUL in member names (cut there). */
        size_t bad = utf8_first_invalid(line, n);
        if (bad < n) {
                emit_errorf(c, NULL, NULL, JSONRPC_PARSE_ERROR, "parse error: invalid UTF-8 at byte %zu", bad);
                return;
        }
        switch (json_text_check_escapes(line, n, &bad)) {
        case JSON_TEXT_LONE_SURROGATE:
                emit_errorf(c, NULL, NULL, JSONRPC_PARSE_ERROR,
                            "parse error: unpaired UTF-16 surrogate escape at byte %zu", bad);
                return;
        case JSON_TEXT_NUL_IN_NAME:
                emit_errorf(c, NULL, NULL, JSONRPC_PARSE_ERROR,
                            "parse error: member name with NUL (\\u0000) at byte %zu", bad);
                return;
        default:
                break;
        }

        /* The NUL terminator is fed too: it ends a top-level number or
         * literal, and makes an embedded NUL show up as trailing garbage. */
        json_tokener_reset(s->tokener);
        msg = json_tokener_parse_ex(s->tokener, line, (int) n + 1);
        e = json_tokener_get_error(s->tokener);
        if (e != json_tokener_success) {
                json_object_put(msg);
                emit_errorf(c, NULL, NULL, JSONRPC_PARSE_ERROR, "parse error: %s", json_tokener_error_desc(e));
                return;
        }
        if (json_tokener_get_parse_end(s->tokener) != n) {
                json_object_put(msg);
                emit_error(c, NULL, NULL, JSONRPC_PARSE_ERROR, "parse error: trailing data after the JSON value");
                return;
        }
        if (json_has_nonstandard_number(msg)) {
                json_object_put(msg);
                emit_error(c, NULL, NULL, JSONRPC_PARSE_ERROR, "parse error: NaN and Infinity are not JSON");
                return;
        }

        if (json_object_is_type(msg, json_type_array))
                handle_batch(c, msg);
        else
                handle_message(c, NULL, msg);
        json_object_put(msg);
}

static void connection_line_too_long(Connection *c) {
        McpServer *s = c->server;

        log_debug("Connection %u: line exceeds %" PRIu64 " bytes, closing.", c->id, s->max_line_bytes);
        emit_errorf(c, NULL, NULL, JSONRPC_INVALID_REQUEST,
                    "invalid request: line exceeds %" PRIu64 " bytes; closing the connection", s->max_line_bytes);
        connection_shutdown_after_error(c);
}

static void connection_input_over_budget(Connection *c) {
        McpServer *s = c->server;

        log_ratelimit_warning(&s->reject_log,
                              "Connection %u: input buffers of all connections exceed %" PRIu64 " bytes, closing it.",
                              c->id, s->max_input_bytes);
        emit_errorf(c, NULL, NULL, JSONRPC_SERVER_BUSY,
                    "server busy: unfinished input of all connections exceeds %" PRIu64
                    " bytes; closing the connection, retry later", s->max_input_bytes);
        connection_shutdown_after_error(c);
}

/* The one deadline a connection has now: its unfinished line must complete,
 * an uninitialized one must initialize, an idle session must say something. */
static usec_t connection_next_deadline(const Connection *c, bool *ret_line) {
        const McpServer *s = c->server;

        *ret_line = false;
        /* paused: the lines wait for the client to read its answers, not on it */
        if (c->closing || c->closed || c->input_paused)
                return USEC_INFINITY;
        if (c->line_started > 0 && s->line_timeout > 0) {
                *ret_line = true;
                return c->line_started + s->line_timeout;
        }
        if (c->calls || connection_out_pending(c) > 0)
                return USEC_INFINITY;
        if (!c->protocol_version)
                return s->handshake_timeout > 0 ? c->last_activity + s->handshake_timeout : USEC_INFINITY;
        return s->idle_timeout > 0 ? c->last_activity + s->idle_timeout : USEC_INFINITY;
}

static int on_connection_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        _cleanup_(connection_unrefp) Connection *c = connection_ref(userdata);
        McpServer *s = c->server;
        bool line;
        usec_t deadline = connection_next_deadline(c, &line);

        if (deadline > usec) { /* things moved on since the timer was set */
                connection_update_timeout(c);
                return 0;
        }
        if (line) {
                log_debug("Connection %u: unfinished line stalled for %g s, closing.", c->id,
                          (double) s->line_timeout / USEC_PER_SEC);
                emit_errorf(c, NULL, NULL, JSONRPC_INVALID_REQUEST,
                            "invalid request: the line was not completed within %g s; closing the connection",
                            (double) s->line_timeout / USEC_PER_SEC);
                connection_shutdown_after_error(c);
        } else if (!c->protocol_version) {
                log_debug("Connection %u: no initialize within %g s, closing.", c->id,
                          (double) s->handshake_timeout / USEC_PER_SEC);
                emit_errorf(c, NULL, NULL, JSONRPC_INVALID_REQUEST,
                            "invalid request: no initialize within %g s; closing the connection",
                            (double) s->handshake_timeout / USEC_PER_SEC);
                connection_shutdown_after_error(c);
        } else {
                /* quietly: the bridge exits cleanly on a close at a line boundary */
                log_debug("Connection %u: idle for %g s with nothing in flight, closing.", c->id,
                          (double) s->idle_timeout / USEC_PER_SEC);
                connection_close(c, "idle");
        }
        return 0;
}

static void connection_update_timeout(Connection *c) {
        bool line;
        usec_t deadline;
        int r;

        if (c->closed)
                return;
        deadline = connection_next_deadline(c, &line);
        if (deadline == USEC_INFINITY) {
                if (c->timeout)
                        (void) sd_event_source_set_enabled(c->timeout, SD_EVENT_OFF);
                return;
        }
        if (c->timeout) {
                r = sd_event_source_set_time(c->timeout, deadline);
                if (r >= 0)
                        r = sd_event_source_set_enabled(c->timeout, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time(c->server->event, &c->timeout, CLOCK_MONOTONIC, deadline,
                                      USEC_PER_SEC / 10, on_connection_timeout, c);
        if (r < 0)
                log_debug_errno(r, "Connection %u: failed to arm its timeout: %m", c->id);
}

/* Parses every complete line in the input buffer, unless the client has to
 * read its output first. */
static void connection_process_input(Connection *c) {
        _cleanup_(connection_unrefp) Connection *ref = connection_ref(c);

        if (c->input_paused)
                c->line_started = 0; /* the clock of a waiting line starts again */
        c->input_paused = false;
        while (!c->closed && !c->closing) {
                if (connection_backpressure(c)) {
                        c->input_paused = true;
                        break;
                }
                char *nl = memchr(c->in + c->in_scanned, '\n', c->in_end - c->in_scanned);
                size_t start = c->in_start, len;

                if (!nl) {
                        c->in_scanned = c->in_end;
                        if (c->in_end - c->in_start > c->server->max_line_bytes)
                                connection_line_too_long(c);
                        else if (c->input_eof && c->in_end > c->in_start) {
                                /* the last line without its newline: take it */
                                len = c->in_end - c->in_start;
                                c->in_start = c->in_scanned = c->in_end;
                                /* room for the terminator (the buffer may be exactly full) */
                                if (c->in_alloc <= c->in_end && connection_input_resize(c, c->in_end + 1) < 0) {
                                        log_oom();
                                        connection_close(c, "out of memory");
                                        return;
                                }
                                handle_line(c, c->in + start, len);
                        }
                        break;
                }

                len = (size_t) (nl - (c->in + start));
                c->in_start = c->in_scanned = (size_t) (nl - c->in) + 1;
                c->line_started = 0; /* the next line's clock starts with its first byte */
                if (len > c->server->max_line_bytes) {
                        connection_line_too_long(c);
                        break;
                }
                handle_line(c, c->in + start, len);
        }
        if (c->closed)
                return;
        if (c->in_start == c->in_end) {
                c->in_start = c->in_end = c->in_scanned = 0;
                /* an idle connection holds no input buffer */
                connection_input_free(c);
        } else if (c->line_started == 0 && !c->input_paused)
                c->line_started = now_usec(CLOCK_MONOTONIC);
        connection_update_events(c);
        connection_maybe_finish(c);
}

static void connection_read(Connection *c) {
        size_t cap = (size_t) MIN(c->server->max_line_bytes + 1, (uint64_t) SIZE_MAX / 2);
        ssize_t n;

        if (c->closing) {
                char scratch[16384];

                n = recv(c->fd, scratch, sizeof scratch, MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                        connection_close(c, "closed after error");
                return;
        }

        /* keep the unparsed rest at the front, so the line limit is the buffer limit */
        if (c->in_start > 0) {
                memmove(c->in, c->in + c->in_start, c->in_end - c->in_start);
                c->in_end -= c->in_start;
                c->in_scanned -= c->in_start;
                c->in_start = 0;
        }
        if (c->in_alloc - c->in_end < MCP_IN_MIN_ALLOC && c->in_alloc < cap) {
                size_t a = MIN(MAX(c->in_alloc * 2, c->in_end + MCP_IN_MIN_ALLOC), cap);

                /* every connection's unfinished line shares one budget */
                if (c->server->in_bytes - input_budget_share(c->in_alloc) + input_budget_share(a) >
                    c->server->max_input_bytes) {
                        connection_input_over_budget(c);
                        return;
                }
                if (connection_input_resize(c, a) < 0) {
                        log_oom();
                        connection_close(c, "out of memory");
                        return;
                }
        }
        if (c->in_end >= c->in_alloc) {
                /* full without a newline: cannot happen, the parser flags it first */
                connection_line_too_long(c);
                return;
        }

        n = recv(c->fd, c->in + c->in_end, MIN(c->in_alloc - c->in_end, MCP_READ_CHUNK), MSG_DONTWAIT);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return;
                log_debug_errno(errno, "Connection %u: read failed: %m", c->id);
                connection_close(c, "read failed");
                return;
        }
        if (n == 0)
                c->input_eof = true; /* maybe only a half close: answers still go out */
        else
                c->last_activity = now_usec(CLOCK_MONOTONIC);
        c->in_end += (size_t) n;
        connection_process_input(c);
}

static int on_connection_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        _cleanup_(connection_unrefp) Connection *c = connection_ref(userdata);

        /* On a Unix socket EPOLLHUP means the peer closed both directions (a
         * half close is just EOF on read): nobody is left to answer. */
        if (revents & (EPOLLHUP | EPOLLERR)) {
                connection_close(c, revents & EPOLLERR ? "socket error" : "peer closed");
                return 0;
        }
        if (revents & EPOLLOUT)
                connection_flush(c);
        if ((revents & EPOLLIN) && !c->closed)
                connection_read(c);
        if (!c->closed) {
                connection_update_events(c);
                connection_maybe_finish(c);
        }
        return 0;
}

static int on_connection_resume(sd_event_source *source, void *userdata) {
        Connection *c = userdata;

        if (c->input_paused && !connection_backpressure(c))
                connection_process_input(c);
        return 0;
}

int mcp_connection_new(McpServer *s, int fd) {
        Connection *c;
        int r;

        c = new0(Connection, 1);
        if (!c) {
                safe_close(fd);
                return log_oom();
        }
        c->n_ref = 1; /* the server's list */
        c->server = s;
        c->fd = fd;
        c->id = ++s->next_connection_id;
        c->log_level = LOG_INFO;
        c->last_activity = now_usec(CLOCK_MONOTONIC);

        r = sd_event_add_io(s->event, &c->source, fd, EPOLLIN, on_connection_io, c);
        if (r < 0) {
                safe_close(fd);
                free(c);
                return log_warning_errno(r, "Failed to watch a new connection: %m");
        }
        (void) sd_event_source_set_description(c->source, "mcp-connection");
        r = sd_event_add_defer(s->event, &c->resume, on_connection_resume, c);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->resume, SD_EVENT_OFF);
        if (r < 0) {
                sd_event_source_disable_unref(c->source);
                sd_event_source_disable_unref(c->resume);
                safe_close(fd);
                free(c);
                return log_warning_errno(r, "Failed to watch a new connection: %m");
        }

        c->next = s->connections;
        if (s->connections)
                s->connections->prev = c;
        s->connections = c;
        s->n_connections++;
        log_debug("Connection %u opened (%u open).", c->id, s->n_connections);
        connection_update_timeout(c);

        if (s->connections_changed)
                s->connections_changed(s, s->n_connections, s->connections_changed_userdata);
        return 0;
}

void mcp_server_stop_accepting(McpServer *s) {
        Connection *c, *next;

        if (!s)
                return;
        s->stopping = true;
        mcp_server_close_listeners(s);

        /* idle connections go now, the others once answered and flushed */
        for (c = s->connections; c; c = next) {
                next = c->next;
                connection_ref(c);
                connection_maybe_finish(c);
                next = c->closed ? next : c->next;
                connection_unref(c);
        }
}

bool mcp_server_is_drained(const McpServer *s) {
        if (!s)
                return true;
        if (s->n_calls > 0)
                return false;
        for (const Connection *c = s->connections; c; c = c->next)
                if (connection_out_pending(c) > 0)
                        return false;
        return true;
}

/* ---- the server --------------------------------------------------------- */

static int parse_schema(const char *text, const char *root, json_object **ret) {
        _cleanup_free_ char *err = NULL;
        json_object *o;
        int r;

        o = json_tokener_parse(text);
        if (!o)
                return log_error_errno(EINVAL, "Input schema of %s is not valid JSON.", root);
        r = schema_check(o, root, &err);
        if (r < 0) {
                json_object_put(o);
                if (r == -ENOMEM)
                        return log_oom();
                return log_error_errno(r, "Input schema of %s is broken: %s", root, strna(err));
        }
        *ret = o;
        return 0;
}

static json_object *tool_entry_new(const McpToolDef *d, json_object *schema) {
        json_object *t = json_object_new_object(), *a = json_object_new_object();

        if (!t || !a) {
                json_object_put(t);
                json_object_put(a);
                return NULL;
        }
        json_object_object_add(t, "name", json_object_new_string(d->name));
        if (d->title)
                json_object_object_add(t, "title", json_object_new_string(d->title));
        json_object_object_add(t, "description", json_object_new_string(d->description));
        json_object_object_add(t, "inputSchema", json_object_get(schema));
        if (d->title)
                json_object_object_add(a, "title", json_object_new_string(d->title));
        json_object_object_add(a, "readOnlyHint", json_object_new_boolean(d->read_only));
        if (!d->read_only) {
                /* only meaningful for tools that modify something */
                json_object_object_add(a, "destructiveHint", json_object_new_boolean(d->destructive));
                json_object_object_add(a, "idempotentHint", json_object_new_boolean(d->idempotent));
        }
        json_object_object_add(a, "openWorldHint", json_object_new_boolean(d->open_world));
        json_object_object_add(t, "annotations", a);
        return t;
}

int mcp_server_new(McpServer **ret, sd_event *event, const McpServerOptions *opts) {
        _cleanup_(mcp_server_freep) McpServer *s = NULL;
        const McpToolDef *defs;
        size_t n;
        int r;

        s = new0(McpServer, 1);
        if (!s)
                return -ENOMEM;
        s->spare_fd = -EBADF;
        s->event = sd_event_ref(event);
        s->max_line_bytes = opts && opts->max_line_bytes > 0 ? opts->max_line_bytes : MCP_DEFAULT_MAX_LINE_BYTES;
        s->max_line_bytes = MIN(s->max_line_bytes, (uint64_t) INT_MAX - 1); /* json-c takes an int length */
        s->max_connections = opts ? opts->max_connections : 0;
        s->max_input_bytes = opts && opts->max_input_bytes > 0 ? opts->max_input_bytes : MCP_DEFAULT_MAX_INPUT_BYTES;
        s->max_input_bytes = MAX(s->max_input_bytes, s->max_line_bytes + 2); /* one full line always fits */
        s->line_timeout = opts ? opts->line_timeout_usec : 0;
        s->handshake_timeout = opts ? opts->handshake_timeout_usec : 0;
        s->idle_timeout = opts ? opts->idle_timeout_usec : 0;
        s->uid = geteuid();
        s->reject_log = s->peer_log = s->accept_log = LOG_RATELIMIT_INIT(MCP_LOG_INTERVAL_USEC, MCP_LOG_BURST);
        s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        s->server_name = strdup(opts && opts->server_name ? opts->server_name : "lean-host");
        s->server_version = strdup(opts && opts->server_version ? opts->server_version : "0");
        if (!s->server_name || !s->server_version)
                return -ENOMEM;
        if (opts && opts->instructions) {
                s->instructions = strdup(opts->instructions);
                if (!s->instructions)
                        return -ENOMEM;
        }

        s->tokener = json_tokener_new_ex(MCP_JSON_MAX_DEPTH);
        if (!s->tokener)
                return -ENOMEM;
        json_tokener_set_flags(s->tokener, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);

        r = parse_schema(INITIALIZE_PARAMS_SCHEMA, "initialize", &s->initialize_schema);
        if (r >= 0)
                r = parse_schema(TOOLS_CALL_PARAMS_SCHEMA, "tools/call", &s->tools_call_schema);
        if (r >= 0)
                r = parse_schema(SET_LEVEL_PARAMS_SCHEMA, "logging/setLevel", &s->set_level_schema);
        if (r >= 0)
                r = parse_schema(TOOLS_LIST_PARAMS_SCHEMA, "tools/list", &s->tools_list_schema);
        if (r < 0)
                return r;

        defs = mcp_tool_defs(&n);
        s->tools = new0(McpTool, n);
        s->tools_list = json_object_new_array();
        if (!s->tools || !s->tools_list)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *entry;

                if (server_find_tool(s, defs[i].name))
                        return log_error_errno(EINVAL, "Tool %s is listed twice.", defs[i].name);
                r = parse_schema(defs[i].input_schema, defs[i].name, &s->tools[i].schema);
                if (r < 0)
                        return r;
                s->tools[i].def = defs + i;
                s->n_tools++;
                entry = tool_entry_new(defs + i, s->tools[i].schema);
                if (!entry)
                        return -ENOMEM;
                json_object_array_add(s->tools_list, entry);
        }

        *ret = TAKE_PTR(s);
        return 0;
}

McpServer *mcp_server_free(McpServer *s) {
        McpCall *call;

        if (!s)
                return NULL;

        s->stopping = true;
        s->connections_changed = NULL; /* nobody to tell while going away */
        mcp_server_close_listeners(s);
        s->spare_fd = safe_close(s->spare_fd);
        while (s->connections)
                connection_close(s->connections, "server gone");

        /* Calls whose owners still hold them: their answers go nowhere now. */
        while ((call = s->calls)) {
                mcp_call_ref(call);
                call_cancel(call);
                call_unlink_server(call);
                mcp_call_unref(call);
        }

        for (size_t i = 0; i < s->n_tools; i++)
                json_object_put(s->tools[i].schema);
        free(s->tools);
        json_object_put(s->tools_list);
        json_object_put(s->initialize_schema);
        json_object_put(s->tools_call_schema);
        json_object_put(s->set_level_schema);
        json_object_put(s->tools_list_schema);
        if (s->tokener)
                json_tokener_free(s->tokener);
        free(s->server_name);
        free(s->server_version);
        free(s->instructions);
        sd_event_unref(s->event);
        return mfree(s);
}

int mcp_server_register_tool(McpServer *s, const char *name, McpToolHandler handler, void *userdata) {
        McpTool *t = server_find_tool(s, name);

        if (!t)
                return -ENOENT;
        if (t->handler)
                return -EEXIST;
        t->handler = handler;
        t->userdata = userdata;
        return 0;
}

void mcp_server_set_connections_changed(McpServer *s, McpConnectionsChanged cb, void *userdata) {
        s->connections_changed = cb;
        s->connections_changed_userdata = userdata;
}

void mcp_server_set_result_text(McpServer *s, McpResultText f, void *userdata) {
        s->result_text = f;
        s->result_text_userdata = userdata;
}

unsigned mcp_server_get_n_connections(const McpServer *s) {
        return s ? s->n_connections : 0;
}

void mcp_server_broadcast_log(McpServer *s, int syslog_level, const char *logger, json_object *data) {
        Connection *c, *next;

        if (!s)
                return;
        syslog_level = MIN(MAX(syslog_level, LOG_EMERG), LOG_DEBUG);

        for (c = s->connections; c; c = next) {
                json_object *msg, *params;

                next = c->next;
                /* only to initialized clients, at or above their level (info until they set one) */
                if (c->closing || !c->protocol_version || syslog_level > c->log_level)
                        continue;

                msg = json_object_new_object();
                params = json_object_new_object();
                if (!msg || !params) {
                        json_object_put(msg);
                        json_object_put(params);
                        log_oom();
                        return;
                }
                json_object_object_add(params, "level", json_object_new_string(mcp_log_levels[syslog_level]));
                if (logger)
                        json_object_object_add(params, "logger", json_object_new_string(logger));
                json_object_object_add(params, "data", json_object_get(data));
                json_object_object_add(msg, "jsonrpc", json_object_new_string("2.0"));
                json_object_object_add(msg, "method", json_object_new_string("notifications/message"));
                json_object_object_add(msg, "params", params);

                connection_ref(c);
                connection_send(c, msg);
                next = c->closed ? next : c->next;
                connection_unref(c);
        }
}
