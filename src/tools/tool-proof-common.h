/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small helpers shared by tool-lean-proof-attempt.c and tool-verify.c. */

#include <json-c/json.h>

#include "tools/tools-internal.h"

/* The "imports" member of obj (an array of module names), validated.
 * Absent: *ret = NULL. Returns 0, 1 when the call was answered with
 * invalid_arguments (what names the place, e.g. "items[2].imports"),
 * negative errno. */
int tool_parse_imports(McpCall *call, LhProject *p, json_object *obj, const char *what, char ***ret);

/* A JSON array of strings; NULL on OOM. */
json_object *tool_json_strv(char * const *l);
