/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Connection and framing: reading newline-delimited lines, the write queue
 * with backpressure, the server-wide input budget, the line/handshake/idle
 * timeouts, closing. Framing errors become JSON-RPC error lines (jsonrpc.c)
 * with a null id. Must not know what a line means, the MCP methods, tools or
 * calls: lines go up through McpServer.on_line, a close through
 * McpServer.on_connection_closed.
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
 * Closing cancels the connection's unanswered calls (through
 * on_connection_closed); their replies are dropped. The struct itself is
 * refcounted so code up the stack (and batches waiting for deferred replies)
 * can still look at it. */

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "basic/log.h"
#include "basic/time-util.h"
#include "mcp/connection.h"
#include "mcp/jsonrpc.h"
#include "mcp/server-internal.h"
#include "mcp/utf8.h"

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

static void connection_update_events(Connection *c);
static void connection_process_input(Connection *c);

static void connection_input_over_budget(Connection *c);

/* A framing error: a JSON-RPC error line with a null id. */
static void connection_send_errorf(Connection *c, int code, const char *format, ...) _printf_(3, 4);
static void connection_send_errorf(Connection *c, int code, const char *format, ...) {
        _cleanup_free_ char *s = NULL;
        json_object *msg;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0) {
                log_oom();
                return;
        }
        msg = jsonrpc_error_new(NULL, code, s);
        if (!msg) {
                log_oom();
                return;
        }
        connection_send(c, msg);
}

Connection *connection_ref(Connection *c) {
        if (c)
                c->n_ref++;
        return c;
}

Connection *connection_unref(Connection *c) {
        if (!c || --c->n_ref > 0)
                return NULL;
        assert(c->closed);
        return mfree(c);
}

size_t connection_out_pending(const Connection *c) {
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
        if (c->sink) {
                connection_update_timeout(c);
                return;
        }
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

/* A session of another transport: the message leaves through its sink. */
static void connection_send_sink(Connection *c, json_object *msg, const char *s, size_t n, size_t l) {
        _cleanup_free_ char *copy = NULL;

        if (l != n) {
                copy = malloc(l + 1);
                if (!copy) {
                        json_object_put(msg);
                        log_oom();
                        return;
                }
                utf8_sanitize_copy(copy, s, n);
                copy[l] = 0;
                s = copy;
        }
        c->last_activity = now_usec(CLOCK_MONOTONIC);
        c->sink->send(c, msg, s, l, c->sink_userdata);
        json_object_put(msg);
        connection_update_timeout(c);
}

void connection_send(Connection *c, json_object *msg) {
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

        if (c->sink) {
                connection_send_sink(c, msg, s, n, l);
                return;
        }

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

void connection_maybe_finish(Connection *c) {
        if (c->closed || c->closing || c->calls || connection_out_pending(c) > 0 || c->input_paused)
                return;
        if (c->input_eof)
                connection_close(c, "client finished");
        else if (c->server->stopping)
                connection_close(c, "server stopping");
}

void connection_close(Connection *c, const char *why) {
        McpServer *s = c->server;

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

        /* the layers above cancel what is still unanswered */
        if (s->on_connection_closed)
                s->on_connection_closed(c);
        if (c->sink && c->sink->closed)
                c->sink->closed(c, c->sink_userdata);

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

static void connection_line_too_long(Connection *c) {
        McpServer *s = c->server;

        log_debug("Connection %u: line exceeds %" PRIu64 " bytes, closing.", c->id, s->max_line_bytes);
        connection_send_errorf(c, JSONRPC_INVALID_REQUEST,
                               "invalid request: line exceeds %" PRIu64 " bytes; closing the connection", s->max_line_bytes);
        connection_shutdown_after_error(c);
}

static void connection_input_over_budget(Connection *c) {
        McpServer *s = c->server;

        log_ratelimit_warning(&s->reject_log,
                              "Connection %u: input buffers of all connections exceed %" PRIu64 " bytes, closing it.",
                              c->id, s->max_input_bytes);
        connection_send_errorf(c, JSONRPC_SERVER_BUSY,
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
                connection_send_errorf(c, JSONRPC_INVALID_REQUEST,
                                       "invalid request: the line was not completed within %g s; closing the connection",
                                       (double) s->line_timeout / USEC_PER_SEC);
                connection_shutdown_after_error(c);
        } else if (!c->protocol_version) {
                log_debug("Connection %u: no initialize within %g s, closing.", c->id,
                          (double) s->handshake_timeout / USEC_PER_SEC);
                connection_send_errorf(c, JSONRPC_INVALID_REQUEST,
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

void connection_update_timeout(Connection *c) {
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
        /* held for the lines' handlers, which may close the connection */
        _unused_ _cleanup_(connection_unrefp) Connection *ref = connection_ref(c);

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
                                c->server->on_line(c, c->in + start, len);
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
                c->server->on_line(c, c->in + start, len);
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
