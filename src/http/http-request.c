/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The requests of MCP's Streamable HTTP transport on /mcp:
 *
 *   POST   one JSON-RPC message or batch. Only notifications/responses: 202.
 *          Requests: the answer as application/json when it is there at once
 *          (or the client accepts nothing else), else a text/event-stream
 *          carrying the call's notifications (progress, logs) and then its
 *          answer. initialize opens a session: its id comes back in
 *          Mcp-Session-Id, every later request must send it (400 without,
 *          404 for an unknown or expired one).
 *   GET    the session's own SSE stream (one at a time: 409 for a second).
 *   DELETE ends the session.
 *
 * Refusals are HTTP statuses with a JSON-RPC error body (id null). The SSE
 * bodies are http-stream.c's; a deferred answer reaches its exchange through
 * http-session.c, which resumes a waiting request (never a call up here). */

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "http/http-internal.h"
#include "mcp/jsonrpc.h"

static const char *const protocol_versions[] = { MCP_PROTOCOL_VERSION, "2025-03-26", "2025-11-25" };

/* ---- replies -------------------------------------------------------------- */

static enum MHD_Result reply_text(HttpExchange *x, unsigned status, const char *type, const char *text, size_t n) {
        struct MHD_Response *r;
        enum MHD_Result ret;

        r = MHD_create_response_from_buffer(n, (void *) text, MHD_RESPMEM_MUST_COPY);
        if (!r)
                return MHD_NO;
        if (type)
                (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        if (x->session && x->new_session)
                (void) MHD_add_response_header(r, HTTP_SESSION_HEADER, x->session->id);
        if (status == MHD_HTTP_UNAUTHORIZED)
                (void) MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
        if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
                (void) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, POST, DELETE");
        ret = MHD_queue_response(x->mhd, status, r);
        MHD_destroy_response(r);
        x->done = true;
        return ret;
}

static enum MHD_Result reply_error(HttpExchange *x, unsigned status, int code, const char *message) {
        _cleanup_(http_json_putp) json_object *e = jsonrpc_error_new(NULL, code, message);
        const char *s;
        size_t n;

        log_debug("HTTP %s: %u %s", x->method == HTTP_POST ? "POST" : x->method == HTTP_GET ? "GET" : "request",
                  status, message);
        if (!e)
                return MHD_NO;
        s = json_object_to_json_string_length(e, JSON_C_TO_STRING_PLAIN, &n);
        return reply_text(x, status, "application/json", s, n);
}

/* The session sid names; NULL with *ret the answer: 400 (missing) without
 * sid, 404 (unknown) when there is no such session. */
static HttpSession *exchange_find_session(HttpExchange *x, const char *sid, const char *missing,
                                          const char *unknown, enum MHD_Result *ret) {
        HttpSession *session;

        if (!sid) {
                *ret = reply_error(x, MHD_HTTP_BAD_REQUEST, JSONRPC_INVALID_REQUEST, missing);
                return NULL;
        }
        session = http_session_find(x->server, sid);
        if (!session)
                *ret = reply_error(x, MHD_HTTP_NOT_FOUND, JSONRPC_INVALID_REQUEST, unknown);
        return session;
}

static enum MHD_Result reply_stream(HttpExchange *x, HttpStream *t) {
        struct MHD_Response *r;
        enum MHD_Result ret;

        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, http_stream_read, http_stream_ref(t),
                                              http_stream_free_cb);
        if (!r) {
                http_stream_unref(t);
                return MHD_NO;
        }
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        if (x->session && x->new_session)
                (void) MHD_add_response_header(r, HTTP_SESSION_HEADER, x->session->id);
        ret = MHD_queue_response(x->mhd, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        x->done = true;
        return ret;
}

/* ---- exchanges ------------------------------------------------------------ */

static void exchange_body_free(HttpExchange *x) {
        x->server->body_bytes -= x->body_len;
        x->body = mfree(x->body);
        x->body_len = x->body_alloc = 0;
}

static void exchange_free(HttpExchange *x) {
        x->server->n_exchanges--;
        exchange_body_free(x);
        http_exchange_unlink(x);
        if (x->stream) {
                http_stream_finish(x->stream);
                x->stream = http_stream_unref(x->stream);
        }
        http_session_unref(x->session);
        json_object_put(x->ids);
        json_object_put(x->tokens);
        free(x->reply);
        for (size_t i = 0; i < x->n_early; i++)
                free(x->early[i]);
        free(x->early);
        free(x);
}

/* Append a new reference to v (a JSON null stays one); a failed append
 * drops that reference instead of leaking it. */
static void json_append_ref(json_object *a, json_object *v) {
        if (json_object_array_add(a, json_object_get(v)) < 0) {
                json_object_put(v);
                log_oom();
        }
}

/* The request ids and progress tokens of a body, to route deferred answers. */
static void body_scan(HttpExchange *x, json_object *msg) {
        json_object *id, *method, *params, *meta, *token;

        if (!json_object_is_type(msg, json_type_object) || !json_object_object_get_ex(msg, "method", &method) ||
            !json_object_object_get_ex(msg, "id", &id))
                return;
        json_append_ref(x->ids, id);
        if (json_object_object_get_ex(msg, "params", &params) &&
            json_object_object_get_ex(params, "_meta", &meta) &&
            json_object_object_get_ex(meta, "progressToken", &token))
                json_append_ref(x->tokens, token);
}

/* A cancelled request gets no answer (MCP): its stream ends, a waiting
 * JSON request gets an error instead of hanging. */
static void exchanges_cancelled(HttpSession *session, json_object *msg) {
        json_object *method, *params, *rid;

        if (!json_object_is_type(msg, json_type_object) || !json_object_object_get_ex(msg, "method", &method) ||
            !json_object_is_type(method, json_type_string) ||
            !streq(json_object_get_string(method), "notifications/cancelled") ||
            !json_object_object_get_ex(msg, "params", &params) ||
            !json_object_object_get_ex(params, "requestId", &rid) || !rid)
                return;
        for (HttpExchange *x = session->exchanges, *next; x; x = next) {
                next = x->next;
                if (x->answered || x->feeding || !http_ids_contain(x->ids, rid))
                        continue;
                if (x->stream) {
                        x->answered = true;
                        http_stream_finish(x->stream);
                        http_exchange_unlink(x);
                } else
                        http_exchange_abort(x, "request cancelled");
        }
}

static bool accepts(const char *accept, const char *type) {
        return accept && (strstr(accept, type) || strstr(accept, "*/*"));
}

static enum MHD_Result exchange_reply_now(HttpExchange *x) {
        if (!x->reply)
                return MHD_NO; /* out of memory copying it */
        if (x->want_json || !x->want_sse)
                return reply_text(x, MHD_HTTP_OK, "application/json", x->reply, strlen(x->reply));
        /* a client that takes only a stream gets a short one */
        HttpStream *t = http_stream_new(x->server, x->mhd);
        if (!t)
                return MHD_NO;
        for (size_t i = 0; i < x->n_early; i++)
                (void) http_stream_push(t, x->early[i], strlen(x->early[i]));
        (void) http_stream_push(t, x->reply, strlen(x->reply));
        t->finished = true;
        enum MHD_Result r = reply_stream(x, t);
        http_stream_unref(t);
        return r;
}

static enum MHD_Result handle_post(HttpExchange *x) {
        HttpServer *s = x->server;
        struct MHD_Connection *c = x->mhd;
        const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
        const char *sid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, HTTP_SESSION_HEADER);
        _cleanup_(http_json_putp) json_object *msg = NULL;
        json_object *method = NULL;
        bool initialize;
        int r;

        if (x->body_too_big)
                return reply_error(x, MHD_HTTP_CONTENT_TOO_LARGE, JSONRPC_INVALID_REQUEST,
                                   "Payload Too Large: the body exceeds daemon.max_line_bytes");
        if (x->over_budget)
                return reply_error(x, MHD_HTTP_SERVICE_UNAVAILABLE, JSONRPC_SERVER_BUSY,
                                   "Service Unavailable: request bodies under way exceed daemon.max_input_bytes, retry later");
        if (!type || strncasecmp(type, "application/json", 16) != 0)
                return reply_error(x, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, JSONRPC_INVALID_REQUEST,
                                   "Unsupported Media Type: Content-Type must be application/json");
        x->want_json = accepts(accept, "application/json");
        x->want_sse = accepts(accept, "text/event-stream");
        if (!accept)
                x->want_json = true; /* lenient: curl without -H Accept */
        if (!x->want_json && !x->want_sse)
                return reply_error(x, MHD_HTTP_NOT_ACCEPTABLE, JSONRPC_INVALID_REQUEST,
                                   "Not Acceptable: the client must accept application/json or text/event-stream");

        x->ids = json_object_new_array();
        x->tokens = json_object_new_array();
        if (!x->ids || !x->tokens)
                return MHD_NO;
        msg = json_tokener_parse(x->body ?: "");
        if (json_object_is_type(msg, json_type_array))
                for (size_t i = 0; i < json_object_array_length(msg); i++)
                        body_scan(x, json_object_array_get_idx(msg, i));
        else
                body_scan(x, msg);
        initialize = json_object_is_type(msg, json_type_object) && json_object_object_get_ex(msg, "method", &method) &&
                     json_object_is_type(method, json_type_string) && streq(json_object_get_string(method), "initialize");

        if (initialize) {
                r = http_session_new(s, &x->session);
                if (r == -EBUSY)
                        return reply_error(x, MHD_HTTP_SERVICE_UNAVAILABLE, JSONRPC_SERVER_BUSY,
                                           "Service Unavailable: too many sessions (daemon.http_max_sessions), retry later");
                if (r < 0)
                        return reply_error(x, MHD_HTTP_SERVICE_UNAVAILABLE, JSONRPC_SERVER_BUSY,
                                           "Service Unavailable: cannot open a session now, retry later");
                x->new_session = true;
        } else {
                const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "MCP-Protocol-Version");
                bool known = !v;
                enum MHD_Result reply;

                x->session = http_session_ref(exchange_find_session(
                        x, sid, "Bad Request: Mcp-Session-Id header is required (send initialize first)",
                        "Not Found: unknown or expired session; initialize a new one", &reply));
                if (!x->session)
                        return reply;
                x->session->last_used = now_usec(CLOCK_MONOTONIC);
                for (size_t i = 0; v && i < ELEMENTSOF(protocol_versions); i++)
                        known = known || streq(v, protocol_versions[i]);
                if (!known)
                        return reply_error(x, MHD_HTTP_BAD_REQUEST, JSONRPC_INVALID_REQUEST,
                                           "Bad Request: unsupported MCP-Protocol-Version");
        }

        /* waiting for answers: findable by the sink while fed and after */
        x->next = x->session->exchanges;
        if (x->next)
                x->next->prev = x;
        x->session->exchanges = x;

        http_session_feed(x->session, x);
        exchanges_cancelled(x->session, msg);
        exchange_body_free(x); /* parsed: only the ids are kept */

        if (initialize && !mcp_session_get_protocol_version(x->session->mcp)) {
                /* initialize failed: no session to keep */
                x->new_session = false;
                http_exchange_unlink(x);
                http_session_close(x->session, true);
        }

        if (x->answered) {
                http_exchange_unlink(x);
                return exchange_reply_now(x);
        }
        if (json_object_array_length(x->ids) == 0) {
                http_exchange_unlink(x);
                return reply_text(x, MHD_HTTP_ACCEPTED, NULL, "", 0);
        }
        if (!x->session->server) {
                http_exchange_unlink(x);
                return reply_error(x, MHD_HTTP_NOT_FOUND, JSONRPC_INVALID_REQUEST, "Not Found: the session ended");
        }
        /* deferred (a tools/call): a stream for its notifications, or wait */
        if (x->want_sse) {
                x->stream = http_stream_new(s, c);
                if (!x->stream)
                        return MHD_NO;
                for (size_t i = 0; i < x->n_early; i++)
                        (void) http_stream_push(x->stream, x->early[i], strlen(x->early[i]));
                return reply_stream(x, x->stream);
        }
        x->suspended = true;
        MHD_suspend_connection(c);
        return MHD_YES;
}

static enum MHD_Result handle_get(HttpExchange *x) {
        const char *accept = MHD_lookup_connection_value(x->mhd, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
        const char *sid = MHD_lookup_connection_value(x->mhd, MHD_HEADER_KIND, HTTP_SESSION_HEADER);
        HttpSession *session;
        enum MHD_Result reply;

        if (!accepts(accept, "text/event-stream"))
                return reply_error(x, MHD_HTTP_NOT_ACCEPTABLE, JSONRPC_INVALID_REQUEST,
                                   "Not Acceptable: GET /mcp is a text/event-stream");
        session = exchange_find_session(x, sid, "Bad Request: Mcp-Session-Id header is required",
                                        "Not Found: unknown or expired session; initialize a new one", &reply);
        if (!session)
                return reply;
        if (session->get_stream && session->get_stream->mhd && !session->get_stream->finished)
                return reply_error(x, MHD_HTTP_CONFLICT, JSONRPC_INVALID_REQUEST,
                                   "Conflict: this session already has its GET stream open");
        x->session = http_session_ref(session);
        session->last_used = now_usec(CLOCK_MONOTONIC);
        x->stream = http_stream_new(x->server, x->mhd);
        if (!x->stream)
                return MHD_NO;
        http_stream_unref(session->get_stream);
        session->get_stream = http_stream_ref(x->stream);
        return reply_stream(x, x->stream);
}

static enum MHD_Result handle_delete(HttpExchange *x) {
        const char *sid = MHD_lookup_connection_value(x->mhd, MHD_HEADER_KIND, HTTP_SESSION_HEADER);
        HttpSession *session;
        enum MHD_Result reply;

        session = exchange_find_session(x, sid, "Bad Request: Mcp-Session-Id header is required",
                                        "Not Found: unknown or expired session", &reply);
        if (!session)
                return reply;
        log_debug("HTTP session %.8s ended by the client.", session->id);
        http_session_close(session, true);
        return reply_text(x, MHD_HTTP_OK, NULL, "", 0);
}

enum MHD_Result http_request_handle(HttpServer *s, struct MHD_Connection *c, const char *url, const char *method,
                                    const char *upload_data, size_t *upload_data_size, void **con_cls) {
        HttpExchange *x = *con_cls;

        if (!x) {
                const char *why = NULL;
                unsigned status;

                x = new0(HttpExchange, 1);
                if (!x)
                        return MHD_NO;
                x->server = s;
                s->n_exchanges++;
                x->mhd = c;
                x->method = streq(method, "GET") ? HTTP_GET : streq(method, "POST") ? HTTP_POST :
                            streq(method, "DELETE") ? HTTP_DELETE : HTTP_OTHER;
                *con_cls = x;

                status = http_auth_check(s, c, &why);
                if (status != 0)
                        return reply_error(x, status, JSONRPC_PERMISSION_DENIED, why);
                if (!streq(url, "/mcp"))
                        return reply_error(x, MHD_HTTP_NOT_FOUND, JSONRPC_INVALID_REQUEST, "Not Found: the endpoint is /mcp");
                if (x->method == HTTP_OTHER)
                        return reply_error(x, MHD_HTTP_METHOD_NOT_ALLOWED, JSONRPC_INVALID_REQUEST,
                                           "Method Not Allowed: /mcp takes GET, POST and DELETE");
                if (x->method == HTTP_POST)
                        return MHD_YES; /* the body comes next */
        }
        if (x->done) {
                *upload_data_size = 0;
                return MHD_YES;
        }

        if (x->method == HTTP_POST) {
                if (*upload_data_size > 0) {
                        size_t n = *upload_data_size;

                        *upload_data_size = 0;
                        if (x->body_too_big || x->over_budget)
                                return MHD_YES;
                        if (x->body_len + n > s->max_body_bytes) {
                                x->body_too_big = true;
                                return MHD_YES;
                        }
                        if (s->body_bytes + n > s->max_input_bytes) {
                                x->over_budget = true;
                                return MHD_YES;
                        }
                        if (x->body_len + n + 1 > x->body_alloc) {
                                size_t a = MAX(x->body_alloc * 2, x->body_len + n + 1);
                                char *p = realloc(x->body, a);
                                if (!p)
                                        return MHD_NO;
                                x->body = p;
                                x->body_alloc = a;
                        }
                        memcpy(x->body + x->body_len, upload_data, n);
                        x->body_len += n;
                        s->body_bytes += n;
                        x->body[x->body_len] = 0;
                        return MHD_YES;
                }
                if (!x->started) {
                        x->started = true;
                        return handle_post(x);
                }
                /* resumed: the deferred answer is here */
                if (x->answered && x->reply)
                        return exchange_reply_now(x);
                return MHD_YES;
        }
        if (x->method == HTTP_GET)
                return handle_get(x);
        return handle_delete(x);
}

void http_request_completed(HttpServer *s, void *con_cls) {
        HttpExchange *x = con_cls;

        if (!x)
                return;
        if (x->stream) {
                /* the connection is done: nothing may resume it any more */
                x->stream->mhd = NULL;
                x->stream->suspended = false;
        }
        if (x->session && x->stream && x->session->get_stream == x->stream)
                x->session->get_stream = http_stream_unref(x->session->get_stream);
        exchange_free(x);
}
