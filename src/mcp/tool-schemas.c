/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Input schemas generated from argument tables (tool-schemas.h). The key
 * order is the one the hand-written schemas had (type, limits, items,
 * description), so tools/list reads the same. */

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "mcp/schema.h"
#include "mcp/tool-schemas.h"

static int object_schema_new(const McpToolArg *args, const char *description, json_object **ret);
static const McpToolArg *mcp_tool_arg_find(const McpToolArg *args, const char *name);

static int add_limits(json_object *o, const McpToolArg *a, const char *min_key, const char *max_key) {
        if ((a->limits & MCP_ARG_HAS_MIN) && json_add(o, min_key, json_object_new_int64(a->min)) < 0)
                return -ENOMEM;
        if ((a->limits & MCP_ARG_HAS_MAX) && json_add(o, max_key, json_object_new_int64(a->max)) < 0)
                return -ENOMEM;
        return 0;
}

static int strings_item_schema_new(const McpToolArg *a, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object(), *e = NULL;

        if (!o || json_add(o, "type", json_object_new_string("string")) < 0)
                return -ENOMEM;
        if (!a->enum_values) {
                if (json_add(o, "minLength", json_object_new_int(1)) < 0)
                        return -ENOMEM;
                *ret = TAKE_PTR(o);
                return 0;
        }
        e = json_object_new_array();
        if (!e)
                return -ENOMEM;
        for (const char *const *v = a->enum_values; *v; v++)
                if (json_append(e, json_object_new_string(*v)) < 0)
                        return -ENOMEM;
        if (json_add(o, "enum", TAKE_PTR(e)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static int arg_schema_new(const McpToolArg *a, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *sub = NULL;
        int r;

        if (a->type == MCP_ARG_OBJECT)
                return object_schema_new(a->fields, a->description, ret);

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        switch (a->type) {
        case MCP_ARG_STRING:
                r = json_add(o, "type", json_object_new_string("string"));
                if (r >= 0)
                        r = add_limits(o, a, "minLength", "maxLength");
                break;
        case MCP_ARG_INTEGER:
                r = json_add(o, "type", json_object_new_string("integer"));
                if (r >= 0)
                        r = add_limits(o, a, "minimum", "maximum");
                break;
        case MCP_ARG_BOOLEAN:
                r = json_add(o, "type", json_object_new_string("boolean"));
                break;
        case MCP_ARG_STRINGS:
        case MCP_ARG_OBJECTS:
                r = json_add(o, "type", json_object_new_string("array"));
                if (r >= 0)
                        r = add_limits(o, a, "minItems", "maxItems");
                if (r < 0)
                        break;
                if (a->type == MCP_ARG_OBJECTS)
                        r = object_schema_new(a->fields, NULL, &sub);
                else
                        r = strings_item_schema_new(a, &sub);
                if (r >= 0)
                        r = json_add(o, "items", TAKE_PTR(sub));
                json_object_put(sub);
                break;
        default:
                r = -EINVAL;
        }
        if (r < 0)
                return r;
        if (a->description && json_add(o, "description", json_object_new_string(a->description)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

/* A required row with a deprecated alias: either spelling satisfies it. */
static bool arg_has_alias(const McpToolArg *args, const McpToolArg *a) {
        for (const McpToolArg *b = args; b->name; b++)
                if (b->alias_of && streq(b->alias_of, a->name))
                        return true;
        return false;
}

static int object_schema_new(const McpToolArg *args, const char *description, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL, *required = NULL, *props = NULL;
        int r;

        o = json_object_new_object();
        required = json_object_new_array();
        props = json_object_new_object();
        if (!o || !required || !props ||
            json_add(o, "type", json_object_new_string("object")) < 0 ||
            json_add(o, "additionalProperties", json_object_new_boolean(false)) < 0 ||
            (description && json_add(o, "description", json_object_new_string(description)) < 0))
                return -ENOMEM;
        for (const McpToolArg *a = args; a->name; a++) {
                json_object *s = NULL;

                if (a->alias_of && !mcp_tool_arg_find(args, a->alias_of))
                        return -EINVAL; /* an alias of nothing: a typo in the table */
                r = arg_schema_new(a, &s);
                if (r < 0)
                        return r;
                if (json_add(props, a->name, s) < 0)
                        return -ENOMEM;
                if (a->required && !arg_has_alias(args, a) &&
                    json_append(required, json_object_new_string(a->name)) < 0)
                        return -ENOMEM;
        }
        if (json_object_array_length(required) > 0 && json_add(o, "required", TAKE_PTR(required)) < 0)
                return -ENOMEM;
        if (json_add(o, "properties", TAKE_PTR(props)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

int mcp_tool_schema_new(const McpToolArg *args, const char *root, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *err = NULL;
        int r;

        assert(args);
        assert(ret);

        r = object_schema_new(args, NULL, &o);
        if (r < 0)
                return r == -ENOMEM ? r : log_error_errno(r, "Argument table of %s is broken.", root);
        r = schema_check(o, root, &err);
        if (r < 0)
                return r == -ENOMEM ? r : log_error_errno(r, "Input schema of %s is broken: %s", root, strna(err));
        *ret = TAKE_PTR(o);
        return 0;
}

static const McpToolArg *arg_find_row(const McpToolArg *args, const char *name) {
        for (const McpToolArg *a = args; a && a->name; a++)
                if (streq(a->name, name))
                        return a;
        return NULL;
}

/* The row called name, or the row it is an alias of; NULL if none. */
static const McpToolArg *mcp_tool_arg_find(const McpToolArg *args, const char *name) {
        const McpToolArg *a = arg_find_row(args, name);

        if (a && a->alias_of)
                a = arg_find_row(args, a->alias_of);
        return a && !a->alias_of ? a : NULL; /* an alias of an alias: a broken table */
}

/* arguments' value for row name under any of its spellings, or NULL. */
static json_object *mcp_tool_arg_get(const McpToolArg *args, json_object *arguments, const char *name) {
        json_object *v;

        if (!json_object_is_type(arguments, json_type_object))
                return NULL;
        if (json_object_object_get_ex(arguments, name, &v) && !json_object_is_type(v, json_type_null))
                return v;
        for (const McpToolArg *a = args; a && a->name; a++)
                if (a->alias_of && streq(a->alias_of, name) && json_object_object_get_ex(arguments, a->name, &v) &&
                    !json_object_is_type(v, json_type_null))
                        return v;
        return NULL;
}

void mcp_tool_args_resolve(const McpToolArg *args, json_object *arguments, json_object **values) {
        assert(args);
        assert(values);

        for (size_t i = 0; args[i].name; i++)
                values[i] = mcp_tool_arg_get(args, arguments, args[i].alias_of ?: args[i].name);
}

#define args_fail(ret_error, ...) strdup_error_printf(ret_error, -EINVAL, __VA_ARGS__)

int mcp_tool_args_check(const McpToolArg *args, json_object *arguments, const char *root, char **ret_error) {
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!json_object_is_type(arguments, json_type_object))
                return 0; /* the schema said so already */

        for (const McpToolArg *a = args; a->name; a++) {
                json_object *v;

                if (a->alias_of) {
                        if (json_object_object_get_ex(arguments, a->name, NULL) &&
                            json_object_object_get_ex(arguments, a->alias_of, NULL))
                                return args_fail(ret_error, "%s%s%s: give %s or its deprecated alias %s, not both",
                                                 root, *root ? "." : "", a->name, a->alias_of, a->name);
                        continue;
                }
                if (a->required && !mcp_tool_arg_get(args, arguments, a->name)) {
                        const char *alias = NULL;

                        for (const McpToolArg *b = args; b->name; b++)
                                if (b->alias_of && streq(b->alias_of, a->name))
                                        alias = b->name;
                        return args_fail(ret_error, "%s%s%s: required property missing%s%s%s", root, *root ? "." : "",
                                         a->name, alias ? " (or its deprecated alias " : "", strempty(alias),
                                         alias ? ")" : "");
                }
                if (!a->fields || !json_object_object_get_ex(arguments, a->name, &v))
                        continue;
                if (a->type == MCP_ARG_OBJECT) {
                        _cleanup_free_ char *sub = NULL;

                        if (asprintf(&sub, "%s%s%s", root, *root ? "." : "", a->name) < 0)
                                return -ENOMEM;
                        r = mcp_tool_args_check(a->fields, v, sub, ret_error);
                        if (r < 0)
                                return r;
                } else if (a->type == MCP_ARG_OBJECTS && json_object_is_type(v, json_type_array))
                        for (size_t i = 0; i < json_object_array_length(v); i++) {
                                _cleanup_free_ char *sub = NULL;

                                if (asprintf(&sub, "%s%s%s[%zu]", root, *root ? "." : "", a->name, i) < 0)
                                        return -ENOMEM;
                                r = mcp_tool_args_check(a->fields, json_object_array_get_idx(v, i), sub, ret_error);
                                if (r < 0)
                                        return r;
                        }
        }
        return 0;
}
