/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* HTTP sessions: Mcp-Session-Id → an McpSession of the MCP server. The id is
 * 128 random bits from the kernel (sd_id128_randomize), the table bounded
 * (daemon.http_max_sessions); an idle session expires as an idle connection
 * does (daemon.connection_idle_secs), a request for it then gets 404.
 *
 * The MCP server's messages come back through the sink and are routed: an
 * answer to the exchange (POST) whose body carried its id, a progress
 * notification to the exchange that asked with its token, anything else to
 * the exchange being fed if it streams, else the session's GET stream, else
 * to the newest streaming exchange; with none of them it is dropped (the
 * spec lets a server send notifications only where a stream is open).
 * Delivering to an exchange is here too (its stream, or its JSON answer and
 * the resume of its suspended connection), so the requests below never
 * call back up into http-request.c. */

#include <assert.h>
#include <systemd/sd-id128.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "http/http-internal.h"
#include "mcp/jsonrpc.h"

bool http_ids_contain(json_object *ids, json_object *id) {
        size_t n = ids ? json_object_array_length(ids) : 0;

        for (size_t i = 0; i < n; i++)
                if (json_object_equal(json_object_array_get_idx(ids, i), id))
                        return true;
        return false;
}

/* ---- the exchanges waiting for answers ----------------------------------- */

void http_exchange_unlink(HttpExchange *x) {
        HttpSession *s = x->session;

        if (!s)
                return;
        if (x->prev)
                x->prev->next = x->next;
        else if (s->exchanges == x)
                s->exchanges = x->next;
        if (x->next)
                x->next->prev = x->prev;
        x->prev = x->next = NULL;
}

/* The answer of an exchange (text copied); notifications too, if it streams. */
static void exchange_deliver(HttpExchange *x, const char *text, size_t n, bool is_answer) {
        if (x->stream) {
                (void) http_stream_push(x->stream, text, n);
                if (is_answer) {
                        x->answered = true;
                        http_stream_finish(x->stream);
                        http_exchange_unlink(x); /* nothing more for it */
                }
                return;
        }
        if (!is_answer) {
                /* before the mode is chosen, or an SSE reply: kept for the stream */
                if (x->feeding || x->want_sse) {
                        char **e = reallocarray(x->early, x->n_early + 1, sizeof(char *));
                        if (!e)
                                return;
                        x->early = e;
                        x->early[x->n_early] = strndup(text, n);
                        if (x->early[x->n_early])
                                x->n_early++;
                }
                return;
        }
        x->answered = true;
        free(x->reply);
        x->reply = strndup(text, n);
        if (x->suspended) {
                x->suspended = false;
                http_exchange_unlink(x);
                MHD_resume_connection(x->mhd);
                http_loop_kick(x->server);
        }
}

void http_exchange_abort(HttpExchange *x, const char *why) {
        _cleanup_(http_json_putp) json_object *e = NULL;
        json_object *id = x->ids && json_object_array_length(x->ids) > 0 ? json_object_array_get_idx(x->ids, 0) : NULL;
        const char *s;
        size_t n;

        http_exchange_unlink(x);
        e = jsonrpc_error_new(id, JSONRPC_SERVER_BUSY, why);
        s = e ? json_object_to_json_string_length(e, JSON_C_TO_STRING_PLAIN, &n) : NULL;
        if (s && !x->answered)
                exchange_deliver(x, s, n, true);
        else if (x->stream)
                http_stream_finish(x->stream);
}

/* ---- routing -------------------------------------------------------------- */

static HttpExchange *session_find_exchange(HttpSession *s, json_object *msg) {
        json_object *id = NULL, *params, *token;

        if (json_object_is_type(msg, json_type_array)) {
                /* a batch's answers: any of its ids names the batch */
                size_t n = json_object_array_length(msg);
                for (size_t i = 0; i < n; i++) {
                        json_object *e = json_object_array_get_idx(msg, i);
                        if (json_object_object_get_ex(e, "id", &id) && id)
                                for (HttpExchange *x = s->exchanges; x; x = x->next)
                                        if (!x->answered && http_ids_contain(x->ids, id))
                                                return x;
                }
                return NULL;
        }
        if (json_object_object_get_ex(msg, "id", &id)) {
                for (HttpExchange *x = s->exchanges; x; x = x->next)
                        if (!x->answered && id && http_ids_contain(x->ids, id))
                                return x;
                return NULL;
        }
        if (json_object_object_get_ex(msg, "params", &params) &&
            json_object_object_get_ex(params, "progressToken", &token))
                for (HttpExchange *x = s->exchanges; x; x = x->next)
                        if (!x->answered && http_ids_contain(x->tokens, token))
                                return x;
        return NULL;
}

static bool msg_is_answer(json_object *msg) {
        return json_object_is_type(msg, json_type_array) || json_object_object_get_ex(msg, "id", NULL);
}

/* An answer to nothing the client can name (a parse error, a refused
 * batch, a batch of invalid messages): it belongs to the body being fed. */
static bool answer_has_null_id(json_object *msg) {
        json_object *id = NULL;

        if (json_object_is_type(msg, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(msg); i++)
                        if (json_object_object_get_ex(json_object_array_get_idx(msg, i), "id", &id) && id)
                                return false;
                return true;
        }
        return json_object_object_get_ex(msg, "id", &id) && !id;
}

static void on_session_send(McpSession *m, json_object *msg, const char *text, size_t n, void *userdata) {
        HttpSession *s = userdata;
        bool answer = msg_is_answer(msg);
        HttpExchange *x, *feeding = NULL;

        for (x = s->exchanges; x; x = x->next)
                if (x->feeding)
                        feeding = x;

        x = session_find_exchange(s, msg);
        if (!x && answer && feeding && !feeding->answered && answer_has_null_id(msg))
                x = feeding; /* a parse error, a refused batch: the request being fed */
        if (x) {
                exchange_deliver(x, text, n, answer);
                return;
        }
        if (answer) {
                log_debug("HTTP session %.8s: an answer nobody waits for any more, dropped.", s->id);
                return;
        }
        /* a notification of no particular request */
        if (feeding && (feeding->stream || feeding->want_sse)) {
                exchange_deliver(feeding, text, n, false);
                return;
        }
        if (s->get_stream) {
                (void) http_stream_push(s->get_stream, text, n);
                return;
        }
        for (x = s->exchanges; x; x = x->next)
                if (x->stream) {
                        exchange_deliver(x, text, n, false);
                        return;
                }
}

static void on_session_closed(McpSession *m, void *userdata) {
        HttpSession *s = userdata;

        log_debug("HTTP session %.8s closed by the server.", s->id);
        http_session_close(s, false);
}

static const McpPeerSink session_sink = {
        .send = on_session_send,
        .closed = on_session_closed,
};

int http_session_new(HttpServer *srv, HttpSession **ret) {
        HttpSession *s;
        sd_id128_t id;
        int r;

        if (srv->n_sessions >= srv->max_sessions) {
                /* full: the least recently used session with nothing under way makes room */
                HttpSession *victim = NULL;

                for (HttpSession *i = srv->sessions; i; i = i->next)
                        if (!i->exchanges && !i->get_stream && !mcp_session_has_calls(i->mcp) &&
                            (!victim || i->last_used < victim->last_used))
                                victim = i;
                if (!victim)
                        return -EBUSY;
                log_debug("HTTP: %u sessions, ending the least recently used (%.8s).", srv->n_sessions, victim->id);
                http_session_close(victim, true);
        }
        r = sd_id128_randomize(&id);
        if (r < 0)
                return r;

        s = new0(HttpSession, 1);
        if (!s)
                return -ENOMEM;
        s->n_ref = 2; /* the table's, the caller's */
        s->server = srv;
        s->last_used = now_usec(CLOCK_MONOTONIC);
        sd_id128_to_string(id, s->id);

        r = mcp_session_new(srv->mcp, &session_sink, s, &s->mcp);
        if (r < 0) {
                free(s);
                return r;
        }
        s->next = srv->sessions;
        if (srv->sessions)
                srv->sessions->prev = s;
        srv->sessions = s;
        srv->n_sessions++;
        *ret = s;
        return 0;
}

HttpSession *http_session_ref(HttpSession *s) {
        if (s)
                s->n_ref++;
        return s;
}

HttpSession *http_session_unref(HttpSession *s) {
        if (!s || --s->n_ref > 0)
                return NULL;
        assert(!s->server);
        mcp_session_unref(s->mcp);
        return mfree(s);
}

HttpSession *http_session_find(HttpServer *srv, const char *id) {
        if (!id)
                return NULL;
        for (HttpSession *s = srv->sessions; s; s = s->next)
                if (streq(s->id, id))
                        return s;
        return NULL;
}

void http_session_close(HttpSession *s, bool by_client) {
        HttpServer *srv = s->server;
        HttpExchange *x;

        if (!srv)
                return;
        http_session_ref(s);
        s->server = NULL;
        if (s->prev)
                s->prev->next = s->next;
        else
                srv->sessions = s->next;
        if (s->next)
                s->next->prev = s->prev;
        s->prev = s->next = NULL;
        srv->n_sessions--;

        if (s->get_stream) {
                http_stream_finish(s->get_stream);
                s->get_stream = http_stream_unref(s->get_stream);
        }
        /* waiting requests would never get an answer now: the calls are cancelled */
        while ((x = s->exchanges))
                http_exchange_abort(x, by_client ? "the session was ended" : "the session was closed by the server");

        if (by_client)
                mcp_session_close(s->mcp);
        http_session_unref(s); /* the table's */
        http_session_unref(s);
}

void http_session_feed(HttpSession *s, HttpExchange *x) {
        x->feeding = true;
        mcp_session_feed(s->mcp, x->body, x->body_len);
        x->feeding = false;
}
