/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* json-c glue used wherever the daemon builds JSON. */

#include <errno.h>
#include <json-c/json.h>

#include "basic/strv.h"

/* Add v under key, taking ownership of v in every case: NULL v (a failed
 * allocation upstream) and a failed add both give -ENOMEM, v is released. */
static inline int json_add(json_object *o, const char *key, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* Append v to array a, taking ownership of v as json_add() does: NULL v and
 * a failed append give -ENOMEM (json_object_array_add() would store a null). */
static inline int json_append(json_object *a, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_array_add(a, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* Add v under key where a NULL v is a deliberate JSON null (an id, an
 * absent value), not a failed allocation; v is released if the add fails. */
static inline int json_add_nullable(json_object *o, const char *key, json_object *v) {
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* Add s as a string under key, or a JSON null when s is NULL (an absent
 * value, not an allocation failure: that one is -ENOMEM). */
static inline int json_add_string_or_null(json_object *o, const char *key, const char *s) {
        if (!s)
                return json_add_nullable(o, key, NULL);
        return json_add(o, key, json_object_new_string(s));
}

/* For _cleanup_(json_object_putp). */
static inline void json_object_putp(json_object **j) {
        json_object_put(*j);
}

/* A JSON array of the strings in l (NULL l: an empty array); NULL on OOM. */
static inline json_object *json_strv_new(char *const *l) {
        json_object *a = json_object_new_array();

        if (!a)
                return NULL;
        STRV_FOREACH(s, (char **) l) {
                if (json_append(a, json_object_new_string(*s)) < 0) {
                        json_object_put(a);
                        return NULL;
                }
        }
        return a;
}
