/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The import profiles a live worker holds: one import header per distinct
 * import list, run once, its env id reused. Owns ImportProfiles. Must not
 * know: the actor, jobs, workers (pure data and JSON). */

#include <json-c/json.h>
#include <stddef.h>

#include "project/error.h"

typedef struct ImportProfile {
        char *fingerprint;
        int env;
} ImportProfile;

typedef struct ImportProfiles {
        ImportProfile *items;
        size_t n;
} ImportProfiles;

void import_profiles_clear(ImportProfiles *l);
const ImportProfile *import_profiles_find(const ImportProfiles *l, const char *fingerprint);
int import_profiles_add(ImportProfiles *l, const char *fingerprint, int env);

/* {"cmd": "import A\nimport B"} for the header of imports. */
int import_header_command(char **imports, json_object **ret);
/* The header's reply: its env (≥ 0), or -EINVAL with *e set to
 * import_failed and the error messages in its details. */
int import_header_parse_reply(json_object *reply, const char *fingerprint, int *ret_env, LhError *e);
