/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The project's default import set for the tools that take "imports"
 * (lean_declaration_inspect, lean_declaration_search): without the
 * argument, the root modules of the project's default lean_libs
 * (lean/lakefile.h, read with the readiness check, off the loop). Every
 * error of such a call says which imports were used. */

#include <json-c/json.h>
#include <stdbool.h>

#include "lean/readiness.h"
#include "project/error.h"

/* When arguments has no "imports" (absent or null), appends rd's default
 * roots to *imports (after what is there, without duplicates). 1 when it
 * did (some roots), 0 when not, -ENOMEM. */
int tool_default_imports_apply(json_object *arguments, const LeanReadiness *rd, char ***imports);

/* Says at the end of err's message which imports were used, with the hint
 * to pass "imports", and sets err->details to a new object (owned by the
 * caller: err->details before is borrowed, its members copied) with
 * {"imports": […], "imports_source": "default"|"given"} added. */
void tool_default_imports_note(LhError *err, char * const *imports, bool defaulted);
