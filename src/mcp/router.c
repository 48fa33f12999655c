/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Routing: each line of a connection is parsed (jsonrpc.c) into one message
 * or a batch; a message goes to its method or notification handler from the
 * tables server.c sets in McpServer; answers go straight out or into their
 * batch. Owns the rules between the two: requests other than initialize and
 * ping before initialize get -32600, unknown methods -32601, notifications
 * never an answer (unknown ones are ignored), responses from the client are
 * ignored, batches only for protocol 2025-03-26. Must not know what a method
 * does, tools or calls. */

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "mcp/jsonrpc.h"
#include "mcp/router.h"
#include "mcp/schema.h"
#include "mcp/server-internal.h"

#define MCP_BATCH_PROTOCOL_VERSION "2025-03-26" /* the one version with JSON-RPC batches */

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

static Batch *batch_free(Batch *b) {
        json_object_put(b->responses);
        connection_unref(b->conn);
        return mfree(b);
}

DEFINE_TRIVIAL_REF_UNREF_FUNC(Batch, batch, batch_free);

void batch_maybe_send(Batch *b) {
        assert(b);

        if (!b->sealed || b->n_pending > 0 || b->sent)
                return;
        b->sent = true;
        /* a batch of notifications only gets no response at all */
        if (json_object_array_length(b->responses) > 0)
                connection_send(b->conn, json_object_get(b->responses));
        connection_maybe_finish(b->conn);
}

void emit(Connection *c, Batch *b, json_object *msg) {
        assert(c);

        if (!msg) {
                log_oom();
                return;
        }
        if (b) {
                if (json_append(b->responses, msg) < 0)
                        log_oom();
        } else
                connection_send(c, msg);
}

void emit_error(Connection *c, Batch *b, json_object *id, int code, const char *message) {
        assert(c);

        emit(c, b, jsonrpc_error_new(id, code, message));
}

void emit_errorf(Connection *c, Batch *b, json_object *id, int code, const char *format, ...) {
        json_object *msg;
        va_list ap;

        assert(c);
        assert(format);

        va_start(ap, format);
        msg = jsonrpc_error_newv(id, code, format, ap);
        va_end(ap);
        emit(c, b, msg); /* NULL: logged as OOM */
}

void emit_result(Connection *c, Batch *b, json_object *id, json_object *result) {
        assert(c);

        if (!result) { /* the builder failed to allocate: still one answer */
                log_oom();
                emit_error(c, b, id, JSONRPC_INTERNAL_ERROR, "out of memory");
                return;
        }
        emit(c, b, jsonrpc_result_new(id, result));
}

bool check_params(Connection *c, Batch *b, json_object *id, json_object *schema, json_object *params) {
        _cleanup_free_ char *err = NULL;
        json_object *empty = NULL;
        int r;

        assert(c);
        assert(schema);

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

/* One JSON-RPC message (an object, or anything else that is then invalid). */
static void handle_message(Connection *c, Batch *b, json_object *msg) {
        McpServer *s = c->server;
        JsonRpcMessage m;
        const char *error = NULL;

        switch (jsonrpc_message_check(msg, &m, &error)) {
        case JSONRPC_INVALID:
                emit_error(c, b, m.id, JSONRPC_INVALID_REQUEST, error);
                return;
        case JSONRPC_RESPONSE:
                /* this server sends no requests, nothing to match */
                log_debug("Connection %u: ignoring a response the server did not ask for.", c->id);
                return;
        case JSONRPC_NOTIFICATION:
                /* notifications never get a response, not even an error */
                for (size_t i = 0; i < s->n_notifications; i++)
                        if (streq(m.method, s->notifications[i].name)) {
                                s->notifications[i].func(c, m.params);
                                return;
                        }
                log_debug("Connection %u: ignoring notification %s.", c->id, m.method);
                return;
        case JSONRPC_REQUEST:
                break;
        }

        for (size_t i = 0; i < s->n_methods; i++) {
                if (!streq(m.method, s->methods[i].name))
                        continue;
                /* Requests before initialize are a lifecycle violation: -32600
                 * (the request is not valid in this state), not -32601. */
                if (!s->methods[i].before_initialize && !c->protocol_version) {
                        emit_errorf(c, b, m.id, JSONRPC_INVALID_REQUEST,
                                    "invalid request: not initialized: send initialize before %s", m.method);
                        return;
                }
                if (m.params && !json_object_is_type(m.params, json_type_object)) {
                        emit_error(c, b, m.id, JSONRPC_INVALID_PARAMS, "params: expected object, got array");
                        return;
                }
                s->methods[i].func(c, b, m.id, m.params);
                return;
        }
        emit_errorf(c, b, m.id, JSONRPC_METHOD_NOT_FOUND, "method not found: %.200s", m.method);
}

static void handle_batch(Connection *c, json_object *array) {
        /* held for the handlers, which may close the connection */
        _unused_ _cleanup_(connection_unrefp) Connection *ref = connection_ref(c);
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

void router_handle_line(Connection *c, char *line, size_t n) {
        _cleanup_free_ char *error = NULL;
        json_object *msg = NULL;
        int r;

        assert(c);
        assert(line);

        r = jsonrpc_parse_line(c->server->tokener, line, n, &msg, &error);
        if (r == 0)
                return; /* blank line */
        if (r == -EINVAL) {
                emit_error(c, NULL, NULL, JSONRPC_PARSE_ERROR, error);
                return;
        }
        if (r < 0) {
                log_oom();
                return;
        }

        if (json_object_is_type(msg, json_type_array))
                handle_batch(c, msg);
        else
                handle_message(c, NULL, msg);
        json_object_put(msg);
}
