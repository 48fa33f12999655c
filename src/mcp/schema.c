/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "mcp/schema.h"

/* The location of a value, as a chain of stack frames; only formatted when
 * there is an error, so validation allocates nothing on success. */
typedef struct SchemaPath {
        const struct SchemaPath *parent;
        const char *key;   /* property name, or NULL for an array index */
        size_t index;
} SchemaPath;

static int path_append(const SchemaPath *p, FILE *f) {
        if (!p)
                return 0;
        path_append(p->parent, f);
        if (p->key) {
                /* no dot after an empty root name */
                if (p->parent && !(p->parent->key && !p->parent->parent && isempty(p->parent->key)))
                        fputc('.', f);
                fputs(p->key, f);
        } else
                fprintf(f, "[%zu]", p->index);
        return 0;
}

static int fail(char **ret_error, const SchemaPath *p, const char *format, ...) _printf_(3, 4);
static int fail(char **ret_error, const SchemaPath *p, const char *format, ...) {
        char *buf = NULL;
        size_t size = 0;
        va_list ap;
        FILE *f;

        if (!ret_error)
                return -EINVAL;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        path_append(p, f);
        fputs(": ", f);
        va_start(ap, format);
        vfprintf(f, format, ap);
        va_end(ap);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret_error = buf;
        return -EINVAL;
}

static const char *json_type_label(json_object *v) {
        switch (json_object_get_type(v)) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "boolean";
        case json_type_double:
                return "number";
        case json_type_int:
                return "integer";
        case json_type_object:
                return "object";
        case json_type_array:
                return "array";
        case json_type_string:
                return "string";
        }
        return "unknown";
}

static bool is_integral(json_object *v) {
        if (json_object_is_type(v, json_type_int))
                return true;
        if (json_object_is_type(v, json_type_double)) {
                double d = json_object_get_double(v);
                return isfinite(d) && d == floor(d);
        }
        return false;
}

static bool type_matches(const char *type, json_object *v) {
        if (streq(type, "object"))
                return json_object_is_type(v, json_type_object);
        if (streq(type, "array"))
                return json_object_is_type(v, json_type_array);
        if (streq(type, "string"))
                return json_object_is_type(v, json_type_string);
        if (streq(type, "boolean"))
                return json_object_is_type(v, json_type_boolean);
        if (streq(type, "null"))
                return json_object_is_type(v, json_type_null);
        if (streq(type, "integer"))
                return is_integral(v);
        if (streq(type, "number"))
                return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
        return false;
}

static bool json_equal(json_object *a, json_object *b) {
        return json_object_equal(a, b) == 1;
}

/* Code points, as JSON Schema counts string length. */
static size_t utf8_length(const char *s, size_t n) {
        size_t l = 0;
        for (size_t i = 0; i < n; i++)
                if (((unsigned char) s[i] & 0xC0) != 0x80)
                        l++;
        return l;
}

/* Compares a number instance against a bound keyword, exactly for ints. */
static int number_compare(json_object *v, json_object *bound) {
        if (json_object_is_type(v, json_type_int) && json_object_is_type(bound, json_type_int)) {
                int64_t a = json_object_get_int64(v), b = json_object_get_int64(bound);
                return (a > b) - (a < b);
        }
        double a = json_object_get_double(v), b = json_object_get_double(bound);
        return (a > b) - (a < b);
}

static void enum_format(json_object *e, FILE *f) {
        size_t n = json_object_array_length(e);
        for (size_t i = 0; i < n; i++) {
                json_object *x = json_object_array_get_idx(e, i);
                if (i > 0)
                        fputs(", ", f);
                if (json_object_is_type(x, json_type_string))
                        fputs(json_object_get_string(x), f);
                else
                        fputs(json_object_to_json_string_ext(x, JSON_C_TO_STRING_PLAIN), f);
        }
}

static int validate(json_object *schema, json_object *v, const SchemaPath *p, char **ret_error);

static int validate_type(json_object *type, json_object *v, const SchemaPath *p, char **ret_error) {
        if (!type)
                return 0;
        if (json_object_is_type(type, json_type_string)) {
                if (type_matches(json_object_get_string(type), v))
                        return 0;
                return fail(ret_error, p, "expected %s, got %s", json_object_get_string(type), json_type_label(v));
        }
        if (json_object_is_type(type, json_type_array)) {
                size_t n = json_object_array_length(type);
                char *buf = NULL;
                size_t size = 0;
                FILE *f;
                int r;

                for (size_t i = 0; i < n; i++)
                        if (type_matches(json_object_get_string(json_object_array_get_idx(type, i)), v))
                                return 0;
                f = open_memstream(&buf, &size);
                if (!f)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        fprintf(f, "%s%s", i > 0 ? " or " : "", json_object_get_string(json_object_array_get_idx(type, i)));
                if (fclose(f) != 0) {
                        free(buf);
                        return -ENOMEM;
                }
                r = fail(ret_error, p, "expected %s, got %s", buf, json_type_label(v));
                free(buf);
                return r;
        }
        return 0;
}

static int validate_object(json_object *schema, json_object *v, const SchemaPath *p, char **ret_error) {
        json_object *properties = NULL, *required = NULL, *additional = NULL;
        int r;

        (void) json_object_object_get_ex(schema, "properties", &properties);
        (void) json_object_object_get_ex(schema, "required", &required);
        (void) json_object_object_get_ex(schema, "additionalProperties", &additional);

        if (required && json_object_is_type(required, json_type_array)) {
                size_t n = json_object_array_length(required);
                for (size_t i = 0; i < n; i++) {
                        const char *key = json_object_get_string(json_object_array_get_idx(required, i));
                        if (key && !json_object_object_get_ex(v, key, NULL)) {
                                SchemaPath c = { .parent = p, .key = key };
                                return fail(ret_error, &c, "required property missing");
                        }
                }
        }

        json_object_object_foreach(v, key, value) {
                SchemaPath c = { .parent = p, .key = key };
                json_object *sub = NULL;

                if (properties && json_object_object_get_ex(properties, key, &sub))
                        r = validate(sub, value, &c, ret_error);
                else if (additional && json_object_is_type(additional, json_type_boolean)) {
                        if (!json_object_get_boolean(additional))
                                return fail(ret_error, &c, "unknown property");
                        r = 0;
                } else if (additional && json_object_is_type(additional, json_type_object))
                        r = validate(additional, value, &c, ret_error);
                else
                        r = 0;
                if (r < 0)
                        return r;
        }
        return 0;
}

/* minItems/maxItems, minLength/maxLength: "must VERB at least N UNIT(s)TAIL". */
static int validate_count(json_object *schema, const char *min_key, const char *max_key, size_t n, const char *verb,
                          const char *unit, const char *tail, const SchemaPath *p, char **ret_error) {
        json_object *kw;
        int64_t v;

        if (json_object_object_get_ex(schema, min_key, &kw) && (int64_t) n < (v = json_object_get_int64(kw)))
                return fail(ret_error, p, "must %s at least %" PRIi64 " %s%s%s", verb, v, unit, v == 1 ? "" : "s", tail);
        if (json_object_object_get_ex(schema, max_key, &kw) && (int64_t) n > (v = json_object_get_int64(kw)))
                return fail(ret_error, p, "must %s at most %" PRIi64 " %s%s%s", verb, v, unit, v == 1 ? "" : "s", tail);
        return 0;
}

static int validate_array(json_object *schema, json_object *v, const SchemaPath *p, char **ret_error) {
        json_object *items = NULL;
        size_t n = json_object_array_length(v);
        int r;

        r = validate_count(schema, "minItems", "maxItems", n, "have", "item", "", p, ret_error);
        if (r < 0)
                return r;

        if (json_object_object_get_ex(schema, "items", &items) && json_object_is_type(items, json_type_object))
                for (size_t i = 0; i < n; i++) {
                        SchemaPath c = { .parent = p, .index = i };
                        r = validate(items, json_object_array_get_idx(v, i), &c, ret_error);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static int validate(json_object *schema, json_object *v, const SchemaPath *p, char **ret_error) {
        json_object *kw;
        int r;

        if (!json_object_is_type(schema, json_type_object))
                return 0; /* true/absent schema: anything goes */

        r = validate_type(json_object_object_get_ex(schema, "type", &kw) ? kw : NULL, v, p, ret_error);
        if (r < 0)
                return r;

        if (json_object_object_get_ex(schema, "enum", &kw) && json_object_is_type(kw, json_type_array)) {
                size_t n = json_object_array_length(kw);
                bool found = false;

                for (size_t i = 0; i < n && !found; i++)
                        found = json_equal(json_object_array_get_idx(kw, i), v);
                if (!found) {
                        char *buf = NULL;
                        size_t size = 0;
                        FILE *f = open_memstream(&buf, &size);
                        if (!f)
                                return -ENOMEM;
                        enum_format(kw, f);
                        if (fclose(f) != 0) {
                                free(buf);
                                return -ENOMEM;
                        }
                        r = fail(ret_error, p, "must be one of %s", buf);
                        free(buf);
                        return r;
                }
        }

        switch (json_object_get_type(v)) {
        case json_type_object:
                return validate_object(schema, v, p, ret_error);
        case json_type_array:
                return validate_array(schema, v, p, ret_error);
        case json_type_string: {
                size_t l = utf8_length(json_object_get_string(v), (size_t) json_object_get_string_len(v));

                return validate_count(schema, "minLength", "maxLength", l, "be", "character", " long", p, ret_error);
        }
        case json_type_int:
        case json_type_double:
                if (json_object_object_get_ex(schema, "minimum", &kw) && number_compare(v, kw) < 0)
                        return fail(ret_error, p, "must be >= %s", json_object_to_json_string_ext(kw, JSON_C_TO_STRING_PLAIN));
                if (json_object_object_get_ex(schema, "maximum", &kw) && number_compare(v, kw) > 0)
                        return fail(ret_error, p, "must be <= %s", json_object_to_json_string_ext(kw, JSON_C_TO_STRING_PLAIN));
                return 0;
        default:
                return 0;
        }
}

int schema_validate(json_object *schema, json_object *instance, const char *root, char **ret_error) {
        SchemaPath p = { .key = root ?: "" };

        if (ret_error)
                *ret_error = NULL;
        return validate(schema, instance, &p, ret_error);
}

/* ---- checking the schemas themselves ------------------------------------ */

static const char *const valid_types[] = { "object", "array", "string", "integer", "number", "boolean", "null" };

static bool valid_type_name(json_object *t) {
        if (!json_object_is_type(t, json_type_string))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(valid_types); i++)
                if (streq(json_object_get_string(t), valid_types[i]))
                        return true;
        return false;
}

static int check(json_object *schema, const SchemaPath *p, char **ret_error) {
        int r;

        if (!json_object_is_type(schema, json_type_object))
                return fail(ret_error, p, "schema must be an object");

        json_object_object_foreach(schema, key, value) {
                SchemaPath c = { .parent = p, .key = key };

                if (streq(key, "type")) {
                        if (json_object_is_type(value, json_type_array)) {
                                size_t n = json_object_array_length(value);
                                if (n == 0)
                                        return fail(ret_error, &c, "empty type list");
                                for (size_t i = 0; i < n; i++)
                                        if (!valid_type_name(json_object_array_get_idx(value, i)))
                                                return fail(ret_error, &c, "unsupported type");
                        } else if (!valid_type_name(value))
                                return fail(ret_error, &c, "unsupported type");
                } else if (streq(key, "properties")) {
                        if (!json_object_is_type(value, json_type_object))
                                return fail(ret_error, &c, "must be an object");
                        json_object_object_foreach(value, pk, pv) {
                                SchemaPath cc = { .parent = &c, .key = pk };
                                r = check(pv, &cc, ret_error);
                                if (r < 0)
                                        return r;
                        }
                } else if (streq(key, "items")) {
                        r = check(value, &c, ret_error);
                        if (r < 0)
                                return r;
                } else if (streq(key, "additionalProperties")) {
                        if (json_object_is_type(value, json_type_object)) {
                                r = check(value, &c, ret_error);
                                if (r < 0)
                                        return r;
                        } else if (!json_object_is_type(value, json_type_boolean))
                                return fail(ret_error, &c, "must be a boolean or a schema");
                } else if (streq(key, "required")) {
                        json_object *props = NULL;
                        size_t n;

                        if (!json_object_is_type(value, json_type_array))
                                return fail(ret_error, &c, "must be an array");
                        (void) json_object_object_get_ex(schema, "properties", &props);
                        n = json_object_array_length(value);
                        for (size_t i = 0; i < n; i++) {
                                json_object *k = json_object_array_get_idx(value, i);
                                if (!json_object_is_type(k, json_type_string))
                                        return fail(ret_error, &c, "must list strings");
                                if (!props || !json_object_object_get_ex(props, json_object_get_string(k), NULL))
                                        return fail(ret_error, &c, "'%s' is not a declared property", json_object_get_string(k));
                        }
                } else if (streq(key, "enum")) {
                        if (!json_object_is_type(value, json_type_array) || json_object_array_length(value) == 0)
                                return fail(ret_error, &c, "must be a non-empty array");
                } else if (streq(key, "minimum") || streq(key, "maximum")) {
                        if (!json_object_is_type(value, json_type_int) && !json_object_is_type(value, json_type_double))
                                return fail(ret_error, &c, "must be a number");
                } else if (streq(key, "minLength") || streq(key, "maxLength") ||
                           streq(key, "minItems") || streq(key, "maxItems")) {
                        if (!json_object_is_type(value, json_type_int) || json_object_get_int64(value) < 0)
                                return fail(ret_error, &c, "must be a non-negative integer");
                } else if (streq(key, "description") || streq(key, "title")) {
                        if (!json_object_is_type(value, json_type_string))
                                return fail(ret_error, &c, "must be a string");
                } else if (streq(key, "default") || streq(key, "examples") || streq(key, "$schema")) {
                        /* annotations only */
                } else
                        return fail(ret_error, &c, "unsupported keyword");
        }
        return 0;
}

int schema_check(json_object *schema, const char *root, char **ret_error) {
        SchemaPath p = { .key = root ?: "" };

        if (ret_error)
                *ret_error = NULL;
        return check(schema, &p, ret_error);
}

int schema_parse(const char *text, const char *root, json_object **ret) {
        _cleanup_free_ char *err = NULL;
        json_object *o;
        int r;

        o = json_tokener_parse(text);
        if (!o)
                return log_error_errno(EINVAL, "Input schema of %s is not valid JSON.", root);
        r = schema_check(o, root, &err);
        if (r < 0) {
                json_object_put(o);
                if (r == -ENOMEM)
                        return log_oom();
                return log_error_errno(r, "Input schema of %s is broken: %s", root, strna(err));
        }
        *ret = o;
        return 0;
}
