/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A side index of a REPL reply's "messages" array: each message's budget
 * class and text length. The REPL decoder (src/worker/repl.c) fills it while
 * the array is being parsed, a read chunk's worth of messages at a time, so
 * bounding a reply of 150k messages (lean_reply_bound_messages()) walks two
 * plain arrays instead of doing 300k hash look-ups in one loop iteration.
 *
 * It is attached to the array as json-c userdata (freed with the array) and
 * trusted only while it covers exactly the array's elements. Header-only:
 * the worker library does not link the Lean one. */

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Budget classes, kept in this order: errors, "declaration uses 'sorry'"
 * warnings, other warnings, infos (and anything else). */
enum {
        LEAN_MESSAGE_CLASS_ERROR,
        LEAN_MESSAGE_CLASS_SORRY,
        LEAN_MESSAGE_CLASS_WARNING,
        LEAN_MESSAGE_CLASS_OTHER,
        _LEAN_MESSAGE_CLASS_MAX,
};

typedef struct LeanMessageIndex {
        json_object *array; /* the array it describes (no reference: it lives as the array's userdata) */
        size_t n, n_allocated;
        uint8_t *class;
        size_t *len;        /* bytes of "data" (0 when absent or not a string) */
} LeanMessageIndex;

static inline int lean_message_class(json_object *m, size_t *ret_len) {
        json_object *v;
        const char *severity, *data = "";
        size_t len = 0;

        if (json_object_object_get_ex(m, "data", &v) && json_object_is_type(v, json_type_string)) {
                data = json_object_get_string(v);
                len = (size_t) json_object_get_string_len(v);
        }
        if (ret_len)
                *ret_len = len;
        if (!json_object_object_get_ex(m, "severity", &v) || !json_object_is_type(v, json_type_string))
                return LEAN_MESSAGE_CLASS_OTHER;
        severity = json_object_get_string(v);
        if (strcmp(severity, "error") == 0)
                return LEAN_MESSAGE_CLASS_ERROR;
        if (strcmp(severity, "warning") == 0)
                return strstr(data, "declaration uses 'sorry'") || strstr(data, "declaration uses `sorry`") ?
                        LEAN_MESSAGE_CLASS_SORRY : LEAN_MESSAGE_CLASS_WARNING;
        return LEAN_MESSAGE_CLASS_OTHER;
}

static inline void lean_message_index_free(json_object *array, void *userdata) {
        LeanMessageIndex *idx = userdata;

        (void) array;
        if (!idx)
                return;
        free(idx->class);
        free(idx->len);
        free(idx);
}

/* The index attached to array, if it is one and covers every element. */
static inline LeanMessageIndex *lean_message_index_get(json_object *array) {
        LeanMessageIndex *idx;

        if (!json_object_is_type(array, json_type_array))
                return NULL;
        idx = json_object_get_userdata(array);
        if (!idx || idx->array != array || idx->n != json_object_array_length(array))
                return NULL;
        return idx;
}

/* Attach an empty index to array (which must have no userdata). NULL on OOM. */
static inline LeanMessageIndex *lean_message_index_attach(json_object *array) {
        LeanMessageIndex *idx = calloc(1, sizeof *idx);

        if (!idx)
                return NULL;
        idx->array = array;
        json_object_set_userdata(array, idx, lean_message_index_free);
        return idx;
}

/* Index the elements added since the last call. -ENOMEM leaves it short
 * (lean_message_index_get() then ignores it). */
static inline int lean_message_index_update(LeanMessageIndex *idx) {
        size_t n = json_object_array_length(idx->array);

        if (n > idx->n_allocated) {
                size_t a = idx->n_allocated < 64 ? 64 : idx->n_allocated;
                uint8_t *c;
                size_t *l;

                while (a < n)
                        a *= 2;
                c = realloc(idx->class, a * sizeof *c);
                if (!c)
                        return -ENOMEM;
                idx->class = c;
                l = realloc(idx->len, a * sizeof *l);
                if (!l)
                        return -ENOMEM;
                idx->len = l;
                idx->n_allocated = a;
        }
        for (; idx->n < n; idx->n++)
                idx->class[idx->n] = (uint8_t) lean_message_class(json_object_array_get_idx(idx->array, idx->n),
                                                                  &idx->len[idx->n]);
        return 0;
}

/* For an index not attached to its array (on the stack). */
static inline void lean_message_index_done(LeanMessageIndex *idx) {
        free(idx->class);
        free(idx->len);
        idx->class = NULL;
        idx->len = NULL;
        idx->n = idx->n_allocated = 0;
}
