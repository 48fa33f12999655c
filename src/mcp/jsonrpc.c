/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* JSON-RPC 2.0 message format (see jsonrpc.h): building responses, parsing
 * a line, checking an envelope. Must not know connections, the MCP session
 * or tools; the router (router.c) decides what to do with a message. */

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "basic/json-util.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "mcp/jsonrpc.h"
#include "mcp/utf8.h"

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

/* Fills m with "jsonrpc", "id" (NULL id: a JSON null) and key: v. Takes
 * m and v; NULL when anything failed to allocate, never a half message. */
static json_object *jsonrpc_envelope(json_object *m, json_object *id, const char *key, json_object *v) {
        if (!m) {
                json_object_put(v);
                return NULL;
        }
        if (json_add(m, "jsonrpc", json_object_new_string("2.0")) < 0 ||
            json_add_nullable(m, "id", json_object_get(id)) < 0 ||
            json_add(m, key, v) < 0) {
                json_object_put(m);
                return NULL;
        }
        return m;
}

json_object *jsonrpc_error_new(json_object *id, int code, const char *message) {
        json_object *m = json_object_new_object(), *e = json_object_new_object();

        if (!m || !e) {
                json_object_put(m);
                json_object_put(e);
                return NULL;
        }
        if (json_add(e, "code", json_object_new_int(code)) < 0 ||
            json_add(e, "message", json_object_new_string(message)) < 0) {
                json_object_put(m);
                json_object_put(e);
                return NULL;
        }
        return jsonrpc_envelope(m, id, "error", e);
}

json_object *jsonrpc_error_newv(json_object *id, int code, const char *format, va_list ap) {
        _cleanup_free_ char *message = NULL;

        if (vasprintf(&message, format, ap) < 0)
                return NULL;
        return jsonrpc_error_new(id, code, message);
}

json_object *jsonrpc_result_new(json_object *id, json_object *result) {
        return jsonrpc_envelope(json_object_new_object(), id, "result", result);
}

json_object *jsonrpc_notification_new(const char *method, json_object *params) {
        json_object *m = json_object_new_object();

        if (!m || json_add(m, "jsonrpc", json_object_new_string("2.0")) < 0 ||
            json_add(m, "method", json_object_new_string(method)) < 0) {
                json_object_put(m);
                json_object_put(params);
                return NULL;
        }
        if (json_add(m, "params", params) < 0) {
                json_object_put(m);
                return NULL;
        }
        return m;
}

#define IN_SET_WHITESPACE(ch) ((ch) == ' ' || (ch) == '\t' || (ch) == '\r')

#define parse_error(ret_error, ...) strdup_error_printf(ret_error, -EINVAL, __VA_ARGS__)

int jsonrpc_parse_line(json_tokener *tokener, char *line, size_t n, json_object **ret, char **ret_error) {
        enum json_tokener_error e;
        json_object *msg;
        size_t i, bad;

        assert(tokener);
        assert(ret);
        assert(ret_error);

        *ret = NULL;
        *ret_error = NULL;
        if (n > 0 && line[n - 1] == '\r')
                n--;
        for (i = 0; i < n; i++)
                if (!IN_SET_WHITESPACE(line[i]))
                        break;
        if (i == n)
                return 0; /* blank line */
        line[n] = '\0';

        /* Reject what json-c would pass on changed: invalid UTF-8 (it would
         * come back as U+FFFD, e.g. in an echoed id), lone surrogate escapes
         * (turned into U+FFFD), NUL in member names (cut there). */
        bad = utf8_first_invalid(line, n);
        if (bad < n)
                return parse_error(ret_error, "parse error: invalid UTF-8 at byte %zu", bad);
        switch (json_text_check_escapes(line, n, &bad)) {
        case JSON_TEXT_LONE_SURROGATE:
                return parse_error(ret_error, "parse error: unpaired UTF-16 surrogate escape at byte %zu", bad);
        case JSON_TEXT_NUL_IN_NAME:
                return parse_error(ret_error, "parse error: member name with NUL (\\u0000) at byte %zu", bad);
        default:
                break;
        }

        /* The NUL terminator is fed too: it ends a top-level number or
         * literal, and makes an embedded NUL show up as trailing garbage. */
        json_tokener_reset(tokener);
        msg = json_tokener_parse_ex(tokener, line, (int) n + 1);
        e = json_tokener_get_error(tokener);
        if (e != json_tokener_success) {
                json_object_put(msg);
                return parse_error(ret_error, "parse error: %s", json_tokener_error_desc(e));
        }
        if (json_tokener_get_parse_end(tokener) != n) {
                json_object_put(msg);
                return parse_error(ret_error, "%s", "parse error: trailing data after the JSON value");
        }
        if (json_has_nonstandard_number(msg)) {
                json_object_put(msg);
                return parse_error(ret_error, "%s", "parse error: NaN and Infinity are not JSON");
        }
        *ret = msg;
        return 1;
}

JsonRpcKind jsonrpc_message_check(json_object *msg, JsonRpcMessage *ret, const char **ret_error) {
        json_object *id = NULL, *v, *params = NULL;
        bool has_id;

        assert(ret);
        assert(ret_error);

        *ret = (JsonRpcMessage) {};
        if (!json_object_is_type(msg, json_type_object)) {
                *ret_error = "invalid request: expected a JSON-RPC object";
                return JSONRPC_INVALID;
        }

        has_id = json_object_object_get_ex(msg, "id", &id);
        if (!json_id_valid(id)) {
                *ret_error = "invalid request: id must be a string, a number or null";
                return JSONRPC_INVALID;
        }
        if (json_object_is_type(id, json_type_string) && !json_string_is_clean(id)) {
                *ret_error = "invalid request: id must not contain NUL (\\u0000)";
                return JSONRPC_INVALID;
        }
        /* from here on the error answer echoes the id */
        ret->id = id;
        if (!json_object_object_get_ex(msg, "jsonrpc", &v) || !json_object_is_type(v, json_type_string) ||
            !streq(json_object_get_string(v), "2.0")) {
                *ret_error = "invalid request: \"jsonrpc\" must be \"2.0\"";
                return JSONRPC_INVALID;
        }
        if (!json_object_object_get_ex(msg, "method", &v)) {
                if (has_id && (json_object_object_get_ex(msg, "result", NULL) ||
                               json_object_object_get_ex(msg, "error", NULL)))
                        return JSONRPC_RESPONSE;
                *ret_error = "invalid request: \"method\" is missing";
                return JSONRPC_INVALID;
        }
        if (!json_object_is_type(v, json_type_string)) {
                *ret_error = "invalid request: \"method\" must be a string";
                return JSONRPC_INVALID;
        }
        if (!json_string_is_clean(v)) {
                *ret_error = "invalid request: \"method\" must not contain NUL (\\u0000)";
                return JSONRPC_INVALID;
        }
        ret->method = json_object_get_string(v);
        if (json_object_object_get_ex(msg, "params", &params) && !json_object_is_type(params, json_type_object) &&
            !json_object_is_type(params, json_type_array)) {
                *ret_error = "invalid request: \"params\" must be an object or an array";
                return JSONRPC_INVALID;
        }
        ret->params = params;
        return has_id ? JSONRPC_REQUEST : JSONRPC_NOTIFICATION;
}
