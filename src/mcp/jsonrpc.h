/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* JSON-RPC 2.0 messages as data: error codes, building responses and error
 * objects, turning one line into a parsed message, checking a message's
 * envelope (jsonrpc, id, method, params). Pure functions: knows nothing of
 * connections, sessions or tools. */

#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "basic/macro.h"

#define JSONRPC_PARSE_ERROR -32700
#define JSONRPC_INVALID_REQUEST -32600
#define JSONRPC_METHOD_NOT_FOUND -32601
#define JSONRPC_INVALID_PARAMS -32602
#define JSONRPC_INTERNAL_ERROR -32603
#define JSONRPC_SERVER_BUSY -32000
#define JSONRPC_PERMISSION_DENIED -32001

/* {"jsonrpc":"2.0","id":id,"error":{code,message}}; id is borrowed (a ref is taken). */
json_object *jsonrpc_error_new(json_object *id, int code, const char *message);
/* The same with a formatted message; NULL on OOM. */
json_object *jsonrpc_error_newv(json_object *id, int code, const char *format, va_list ap) _printf_(3, 0);
/* {"jsonrpc":"2.0","id":id,"result":result}; result is taken (also on failure). */
json_object *jsonrpc_result_new(json_object *id, json_object *result);
/* {"jsonrpc":"2.0","method":method,"params":params}; params is taken. */
json_object *jsonrpc_notification_new(const char *method, json_object *params);

/* One line of input (without its newline; line[n] must be writable) parsed
 * with tokener. Returns 1 and the message in *ret, 0 for a blank line,
 * -EINVAL with a -32700 message in *ret_error (malloc'd) for anything json-c
 * would not take as is, -ENOMEM. */
int jsonrpc_parse_line(json_tokener *tokener, char *line, size_t n, json_object **ret, char **ret_error);

/* The checked envelope of one message (fields borrowed from the message). */
typedef enum JsonRpcKind {
        JSONRPC_REQUEST,
        JSONRPC_NOTIFICATION,
        JSONRPC_RESPONSE, /* from the client: ignored */
        JSONRPC_INVALID,  /* answer with -32600, *ret_error says why */
} JsonRpcKind;

typedef struct JsonRpcMessage {
        json_object *id;     /* NULL: none or null; on JSONRPC_INVALID the id to answer with */
        const char *method;
        json_object *params; /* NULL, an object or an array */
} JsonRpcMessage;

JsonRpcKind jsonrpc_message_check(json_object *msg, JsonRpcMessage *ret, const char **ret_error);
