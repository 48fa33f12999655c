/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* json-c glue used wherever the daemon builds JSON. */

#include <errno.h>
#include <json-c/json.h>

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
