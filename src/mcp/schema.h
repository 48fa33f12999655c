/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A small JSON Schema validator for the subset the tool schemas use:
 * type (object, string, integer, number, boolean, array, null, or an array of
 * those), properties, required, additionalProperties (false or a schema),
 * enum, minimum/maximum, minLength/maxLength, items, minItems/maxItems.
 * Unknown keywords (description, title, default, ...) are ignored. */

#include <json-c/json.h>

/* 0 if instance satisfies schema. Otherwise -EINVAL and, if ret_error is
 * non-NULL, a malloc'd message naming the first offending location, e.g.
 * "params.arguments.budgets.max_items: must be <= 10000". root names the
 * instance itself in messages ("params.arguments"). -ENOMEM on OOM. */
int schema_validate(json_object *schema, json_object *instance, const char *root, char **ret_error);

/* Sanity check of a schema itself: only supported keywords with the right
 * shapes (so a typo in the tool table is caught by the unit tests, not by a
 * client). -EINVAL with a message naming the schema location otherwise. */
int schema_check(json_object *schema, const char *root, char **ret_error);

/* Parses a schema from its text and checks it (schema_check); errors are
 * logged naming root. 0 and the schema in *ret, or negative errno. */
int schema_parse(const char *text, const char *root, json_object **ret);
