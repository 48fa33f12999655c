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
                json_object *v = json_object_new_string(*s);

                if (!v || json_object_array_add(a, v) < 0) {
                        json_object_put(v);
                        json_object_put(a);
                        return NULL;
                }
        }
        return a;
}
