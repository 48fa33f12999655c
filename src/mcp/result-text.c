/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "mcp/mcp.h"

/* A result this short is its own best summary. */
#define RESULT_TEXT_INLINE_MAX 512

char *mcp_result_text_default(json_object *body, bool is_error) {
        json_object *e, *code, *message;
        const char *s;
        size_t n;
        char *t;

        if (json_object_object_get_ex(body, "error", &e) &&
            json_object_object_get_ex(e, "code", &code) && json_object_object_get_ex(e, "message", &message)) {
                if (asprintf(&t, "error %s: %s", json_object_get_string(code), json_object_get_string(message)) < 0)
                        return NULL;
                return t;
        }
        s = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        if (!s)
                return NULL;
        if (n <= RESULT_TEXT_INLINE_MAX)
                return strdup(s);
        if (asprintf(&t, "%s: %zu bytes of JSON in structuredContent", is_error ? "error" : "result", n) < 0)
                return NULL;
        return t;
}
