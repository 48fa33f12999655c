/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Routing messages of a connection (router.c): a line becomes a message or
 * a batch, a message goes to its method or notification handler (tables set
 * by server.c), the answers go out directly or collected in their batch. */

#include <json-c/json.h>
#include <stdbool.h>

#include "mcp/connection.h"

/* A 2025-03-26 batch: its response array goes out once every element,
 * including deferred tool calls, has its answer. */
typedef struct Batch {
        unsigned n_ref;
        Connection *conn; /* strong: only the struct, may be closed */
        json_object *responses;
        unsigned n_pending;
        bool sealed, sent;
} Batch;

Batch *batch_ref(Batch *b);
Batch *batch_unref(Batch *b);
/* Sends the array once sealed and nothing is pending. */
void batch_maybe_send(Batch *b);

/* A request handler: answers through emit*() with (c, b, id), exactly once
 * or hands that on (tools/call). params is NULL or an object. */
typedef void (*McpMethodFunc)(Connection *c, Batch *b, json_object *id, json_object *params);
struct McpMethod {
        const char *name;
        McpMethodFunc func;
        bool before_initialize; /* allowed before the initialize answer */
};

/* A notification handler: never answers. params is NULL, an object or an array. */
typedef void (*McpNotificationFunc)(Connection *c, json_object *params);
struct McpNotification {
        const char *name;
        McpNotificationFunc func;
};

/* Takes ownership of msg: the response goes into the batch, or straight out. */
void emit(Connection *c, Batch *b, json_object *msg);
void emit_error(Connection *c, Batch *b, json_object *id, int code, const char *message);
void emit_errorf(Connection *c, Batch *b, json_object *id, int code, const char *format, ...) _printf_(5, 6);
/* result is taken */
void emit_result(Connection *c, Batch *b, json_object *id, json_object *result);

/* Validates params (absent = {}) against schema; emits -32602 naming the
 * field and returns false if they do not match. */
bool check_params(Connection *c, Batch *b, json_object *id, json_object *schema, json_object *params);

/* McpServer.on_line */
void router_handle_line(Connection *c, char *line, size_t n);
