/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Inside the HTTP transport, top to bottom (a file calls only those below
 * it; libmicrohttpd's callbacks are the way up): http-server.c (the
 * listener, libmicrohttpd's callbacks), http-request.c (POST/GET/DELETE,
 * JSON replies), http-session.c (the session table, routing the MCP
 * server's messages to the HTTP exchange or stream they belong to),
 * http-stream.c (SSE bodies, keepalives), http-loop.c (libmicrohttpd in
 * sd-event); http-auth.c (bearer token, Host/Origin) beside them. */

#include <json-c/json.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

#include "basic/time-util.h"
#include "http/http-server.h"
#include "mcp/mcp.h"

#define HTTP_SESSION_HEADER "Mcp-Session-Id"
#define HTTP_KEEPALIVE_USEC (15 * USEC_PER_SEC)
/* A client that does not read its stream while events keep coming is cut
 * off at this much queued (as connection.c does with MCP_OUTPUT_MAX). */
#define HTTP_STREAM_MAX ((size_t) 64 * 1024 * 1024)

static inline void http_json_putp(json_object **p) {
        json_object_put(*p);
}

typedef struct HttpSession HttpSession;
typedef struct HttpExchange HttpExchange;
typedef struct HttpStream HttpStream;

/* One SSE response body: events queued by us, read by libmicrohttpd; the
 * connection is suspended while nothing is queued. */
struct HttpStream {
        unsigned n_ref;
        HttpServer *server;
        struct MHD_Connection *mhd; /* NULL once libmicrohttpd is done with it */
        char *buf;
        size_t start, end, alloc;
        bool suspended;
        bool finished; /* no more events: the body ends once drained */
        bool failed;   /* the client fell too far behind: the connection is cut */
        HttpStream *prev, *next; /* the server's list (keepalives) */
};

/* One HTTP request (libmicrohttpd's per-request pointer). */
typedef enum HttpMethod { HTTP_GET, HTTP_POST, HTTP_DELETE, HTTP_OTHER } HttpMethod;
struct HttpExchange {
        HttpServer *server;
        struct MHD_Connection *mhd;
        HttpMethod method;
        bool started, done;     /* body processed; a response queued */
        char *body;
        size_t body_len, body_alloc;
        bool body_too_big;
        bool over_budget;       /* all bodies under way exceed daemon.max_input_bytes */

        HttpSession *session;   /* strong; NULL: none yet */
        HttpExchange *prev, *next; /* the session's exchanges waiting for answers */
        json_object *ids;       /* request ids in the body, to match deferred answers */
        json_object *tokens;    /* their progress tokens */
        bool want_json, want_sse;
        bool feeding;           /* inside mcp_session_feed */
        bool answered;
        char *reply;            /* JSON mode: the answer text */
        char **early;           /* notifications before the mode was chosen */
        size_t n_early;
        bool suspended;         /* JSON mode, waiting for a deferred answer */
        HttpStream *stream;     /* SSE mode */
        bool new_session;       /* initialize: send the id with the answer */
};

struct HttpSession {
        unsigned n_ref;
        HttpServer *server;     /* NULL once closed */
        char id[33];
        McpSession *mcp;
        HttpExchange *exchanges;
        HttpStream *get_stream; /* the standalone GET stream, at most one */
        usec_t last_used;       /* the last request naming it (eviction) */
        HttpSession *prev, *next;
};

struct HttpServer {
        sd_event *event;
        McpServer *mcp;
        struct MHD_Daemon *mhd;
        sd_event_source *io, *timer, *run, *keepalive;
        int listen_fd;          /* owned until handed to MHD at start */
        char address[80];
        bool loopback;
        char *token;            /* NULL: no authentication */
        char *allowed_hosts;    /* daemon.http_allowed_hosts, NULL: none */
        uint64_t max_sessions, max_body_bytes, max_input_bytes;
        uint64_t body_bytes;    /* request bodies held, over all requests */
        HttpSession *sessions;
        unsigned n_sessions;
        unsigned n_exchanges;   /* requests libmicrohttpd has not completed */
        HttpStream *streams;
        bool stopping;
};

/* http-loop.c: libmicrohttpd's epoll fd, timeout and re-runs as sd-event
 * sources; detach drops them. */
int http_loop_attach(HttpServer *s);
void http_loop_detach(HttpServer *s);
/* run libmicrohttpd soon (after a resume or a queued event) */
void http_loop_kick(HttpServer *s);

/* http-auth.c */
int http_auth_load_token(const char *path, char **ret);
/* 0: allowed; else the HTTP status to refuse with (*ret_why says why) */
unsigned http_auth_check(HttpServer *s, struct MHD_Connection *c, const char **ret_why);

/* http-session.c */
int http_session_new(HttpServer *s, HttpSession **ret);
HttpSession *http_session_ref(HttpSession *s);
HttpSession *http_session_unref(HttpSession *s);
HttpSession *http_session_find(HttpServer *s, const char *id);
/* Whether the JSON array ids (may be NULL) holds id. */
bool http_ids_contain(json_object *ids, json_object *id);
/* Ends the session: streams end, waiting exchanges get an error, calls are cancelled. */
void http_session_close(HttpSession *s, bool by_client);
void http_session_feed(HttpSession *s, HttpExchange *x);
/* An exchange leaves its session's list of those waiting for answers. */
void http_exchange_unlink(HttpExchange *x);
/* The session went away under a waiting exchange, or its request was cancelled. */
void http_exchange_abort(HttpExchange *x, const char *why);

/* http-request.c */
enum MHD_Result http_request_handle(HttpServer *s, struct MHD_Connection *c, const char *url, const char *method,
                                    const char *upload_data, size_t *upload_data_size, void **con_cls);
void http_request_completed(HttpServer *s, void *con_cls);

/* http-stream.c */
HttpStream *http_stream_new(HttpServer *s, struct MHD_Connection *c);
/* libmicrohttpd's content reader and its free callback (holds a reference) */
ssize_t http_stream_read(void *cls, uint64_t pos, char *buf, size_t max);
void http_stream_free_cb(void *cls);
HttpStream *http_stream_ref(HttpStream *t);
HttpStream *http_stream_unref(HttpStream *t);
int http_stream_push(HttpStream *t, const char *data, size_t n); /* one "message" event */
void http_stream_finish(HttpStream *t);
/* the server's keepalive timer (s->keepalive), off until a stream opens */
int http_stream_keepalive_setup(HttpServer *s);

/* for tests: the Host checks on their own; the request path
 * uses them through http_auth_check(). */
bool http_host_is_allowed(const char *list, const char *host, size_t n);
bool http_host_is_loopback_name(const char *host, size_t n);
