/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Import profiles. Owns: ImportProfiles. Must not know: the actor, jobs,
 * workers. The header's reply shapes are the REPL's (tests/fixtures/lean-repl). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/macro.h"
#include "lean/header.h"
#include "project/profiles.h"

void import_profiles_clear(ImportProfiles *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->items[i].fingerprint);
        l->items = mfree(l->items);
        l->n = 0;
}

const ImportProfile *import_profiles_find(const ImportProfiles *l, const char *fingerprint) {
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->items[i].fingerprint, fingerprint))
                        return l->items + i;
        return NULL;
}

int import_profiles_add(ImportProfiles *l, const char *fingerprint, int env) {
        ImportProfile *a;
        char *f;

        f = strdup(fingerprint);
        if (!f)
                return -ENOMEM;
        a = realloc(l->items, (l->n + 1) * sizeof(ImportProfile));
        if (!a) {
                free(f);
                return -ENOMEM;
        }
        l->items = a;
        l->items[l->n++] = (ImportProfile) { .fingerprint = f, .env = env };
        return 0;
}

int import_header_command(char **imports, json_object **ret) {
        _cleanup_free_ char *text = NULL;
        json_object *command;

        text = lean_header_command(imports);
        if (!text)
                return -ENOMEM;
        command = json_object_new_object();
        if (!command)
                return -ENOMEM;
        if (json_add(command, "cmd", json_object_new_string(text)) < 0) {
                json_object_put(command);
                return -ENOMEM;
        }
        *ret = command;
        return 0;
}

int import_header_parse_reply(json_object *reply, const char *fingerprint, int *ret_env, LhError *e) {
        json_object *messages, *v, *errors = NULL;
        const char *first = NULL;
        int env = -1;

        if (json_object_object_get_ex(reply, "messages", &messages) &&
            json_object_is_type(messages, json_type_array)) {
                size_t n = json_object_array_length(messages);

                for (size_t i = 0; i < n; i++) {
                        json_object *m = json_object_array_get_idx(messages, i), *sev, *data;

                        if (!json_object_object_get_ex(m, "severity", &sev) ||
                            !streq(strempty(json_object_get_string(sev)), "error"))
                                continue;
                        if (!errors)
                                errors = json_object_new_array();
                        if (errors)
                                json_object_array_add(errors, json_object_get(m));
                        if (!first && json_object_object_get_ex(m, "data", &data))
                                first = json_object_get_string(data);
                }
        }
        if (!errors && json_object_object_get_ex(reply, "env", &v) && json_object_is_type(v, json_type_int))
                env = json_object_get_int(v);

        if (errors || env < 0) {
                if (!first && json_object_object_get_ex(reply, "message", &v))
                        first = json_object_get_string(v);
                lh_error_set(e, "import_failed", false, "Importing %s failed: %s",
                             isempty(fingerprint) ? "the prelude" : fingerprint,
                             first ?: "the worker returned no environment");
                e->details = json_object_new_object();
                if (e->details && json_add(e->details, "messages",
                                           errors ? json_object_get(errors) : json_object_new_array()) < 0)
                        e->details = (json_object_put(e->details), NULL); /* no half details */
                json_object_put(errors);
                return -EINVAL;
        }
        *ret_env = env;
        return 0;
}
