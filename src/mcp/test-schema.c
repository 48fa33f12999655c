/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-c/json.h>

#include "basic/tests.h"
#include "mcp/schema.h"
#include "mcp/tool-schemas.h"
#include "tools/tools.h"

static json_object *parse(const char *s) {
        json_object *o = json_tokener_parse(s);
        ASSERT_TRUE(o);
        return o;
}

/* Validates instance against schema; returns the error message (or NULL when valid). */
static char *check_instance(const char *schema, const char *instance) {
        json_object *s = parse(schema), *i = json_tokener_parse(instance);
        char *err = NULL;
        int r;

        ASSERT_TRUE(i || streq(instance, "null"));
        r = schema_validate(s, i, "params.arguments", &err);
        if (r == 0)
                ASSERT_TRUE(!err);
        else {
                ASSERT_EQ(r, -EINVAL);
                ASSERT_TRUE(err);
        }
        json_object_put(s);
        json_object_put(i);
        return err;
}

static void assert_valid(const char *schema, const char *instance) {
        char *err = check_instance(schema, instance);
        if (err) {
                fprintf(stderr, "unexpected error for %s: %s\n", instance, err);
                abort();
        }
}

static void assert_invalid(const char *schema, const char *instance, const char *message) {
        char *err = check_instance(schema, instance);
        if (!err) {
                fprintf(stderr, "%s unexpectedly valid against %s\n", instance, schema);
                abort();
        }
        ASSERT_STREQ(err, message);
        free(err);
}

static void test_tool_table(void) {
        static const char *const expected[] = {
                "lean_module_query",       "lean_module_query_batch", "lean_declaration_inspect",
                "lean_declaration_search", "lean_proof_attempt",      "lean_declaration_verify",
                "lean_declaration_verify_batch", "lean_proof_search", "lean_project_status",
                "lean_run",
                "lean_file_diagnostics", "lean_goal_at", "lean_multi_attempt",
        };
        const McpToolDef *const *defs;
        size_t n;

        defs = tools_list_defs(&n);
        ASSERT_EQ(n, ELEMENTSOF(expected));
        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                bool found = false;
                for (size_t j = 0; j < n; j++)
                        if (streq(defs[j]->name, expected[i])) {
                                ASSERT_FALSE(found);
                                found = true;
                        }
                ASSERT_TRUE(found);
        }

        for (size_t i = 0; i < n; i++) {
                json_object *s = NULL, *props, *type;
                char *err = NULL;

                ASSERT_OK(mcp_tool_schema_new(defs[i]->args, defs[i]->name, &s));
                if (schema_check(s, defs[i]->name, &err) < 0) {
                        fprintf(stderr, "schema of %s: %s\n", defs[i]->name, err);
                        abort();
                }
                ASSERT_TRUE(json_object_object_get_ex(s, "type", &type));
                ASSERT_STREQ(json_object_get_string(type), "object");
                ASSERT_TRUE(!isempty(defs[i]->description));
                ASSERT_TRUE(!isempty(defs[i]->title));
                /* every project-scoped tool takes project; all ten are project scoped */
                ASSERT_TRUE(json_object_object_get_ex(s, "properties", &props));
                ASSERT_TRUE(json_object_object_get_ex(props, "project", NULL));
                json_object_put(s);
        }
}

static void test_validate(void) {
        _cleanup_free_ char *run_schema = NULL;
        const McpToolDef *const *defs;
        size_t n;

        defs = tools_list_defs(&n);
        for (size_t i = 0; i < n; i++)
                if (streq(defs[i]->name, "lean_run")) {
                        json_object *o = NULL;

                        ASSERT_OK(mcp_tool_schema_new(defs[i]->args, defs[i]->name, &o));
                        run_schema = strdup(json_object_to_json_string(o));
                        json_object_put(o);
                }
        ASSERT_TRUE(run_schema);

        assert_valid(run_schema, "{\"project\": \"/p\", \"code\": \"def a := 1\"}");
        assert_invalid(run_schema, "{\"project\": \"/p\"}", "params.arguments.code: required property missing");
        assert_invalid(run_schema, "{\"project\": 5, \"code\": \"x\"}", "params.arguments.project: expected string, got integer");
        assert_invalid(run_schema, "{\"project\": \"\", \"code\": \"x\"}",
                       "params.arguments.project: must be at least 1 character long");
        assert_invalid(run_schema, "{\"project\": \"/p\", \"code\": \"x\", \"extra\": 1}",
                       "params.arguments.extra: unknown property");
        assert_invalid(run_schema, "[]", "params.arguments: expected object, got array");
        assert_invalid(run_schema, "null", "params.arguments: expected object, got null");

        const char *s = "{\"type\": \"object\", \"properties\": {"
                        "\"n\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 10}, "
                        "\"x\": {\"type\": \"number\", \"maximum\": 1.5}, "
                        "\"k\": {\"type\": \"string\", \"enum\": [\"a\", \"b\"]}, "
                        "\"s\": {\"type\": \"string\", \"maxLength\": 2}, "
                        "\"t\": {\"type\": [\"string\", \"null\"]}, "
                        "\"l\": {\"type\": \"array\", \"minItems\": 1, \"maxItems\": 2, "
                        "\"items\": {\"type\": \"object\", \"required\": [\"m\"], \"properties\": {\"m\": {\"type\": \"boolean\"}}}}, "
                        "\"free\": {\"type\": \"object\", \"additionalProperties\": {\"type\": \"integer\"}}"
                        "}}";
        assert_valid(s, "{}");
        assert_valid(s, "{\"n\": 10, \"x\": 1.5, \"k\": \"b\", \"s\": \"\xc3\xa9\xc3\xa9\", \"t\": null, "
                        "\"l\": [{\"m\": true}], \"free\": {\"a\": 1}}");
        assert_valid(s, "{\"n\": 3.0}"); /* integral number counts as integer */
        assert_invalid(s, "{\"n\": 0}", "params.arguments.n: must be >= 1");
        assert_invalid(s, "{\"n\": 11}", "params.arguments.n: must be <= 10");
        assert_invalid(s, "{\"n\": 1.5}", "params.arguments.n: expected integer, got number");
        assert_invalid(s, "{\"x\": 2}", "params.arguments.x: must be <= 1.5");
        assert_invalid(s, "{\"k\": \"c\"}", "params.arguments.k: must be one of a, b");
        assert_invalid(s, "{\"s\": \"abc\"}", "params.arguments.s: must be at most 2 characters long");
        assert_invalid(s, "{\"t\": 1}", "params.arguments.t: expected string or null, got integer");
        assert_invalid(s, "{\"l\": []}", "params.arguments.l: must have at least 1 item");
        assert_invalid(s, "{\"l\": [{\"m\": true}, {\"m\": true}, {\"m\": true}]}",
                       "params.arguments.l: must have at most 2 items");
        assert_invalid(s, "{\"l\": [{\"m\": true}, {}]}", "params.arguments.l[1].m: required property missing");
        assert_invalid(s, "{\"l\": [{\"m\": 1}]}", "params.arguments.l[0].m: expected boolean, got integer");
        assert_invalid(s, "{\"free\": {\"a\": \"x\"}}", "params.arguments.free.a: expected integer, got string");

        /* an empty root name gives paths without a leading dot */
        json_object *schema = parse("{\"type\": \"object\", \"required\": [\"a\"], \"properties\": {\"a\": {}}}");
        json_object *inst = parse("{}");
        char *err = NULL;
        ASSERT_ERROR(schema_validate(schema, inst, "", &err), EINVAL);
        ASSERT_STREQ(err, "a: required property missing");
        free(err);
        /* no message wanted */
        ASSERT_ERROR(schema_validate(schema, inst, "x", NULL), EINVAL);
        json_object_put(schema);
        json_object_put(inst);
}

static void assert_check_fails(const char *schema, const char *message) {
        json_object *s = parse(schema);
        char *err = NULL;

        ASSERT_ERROR(schema_check(s, "t", &err), EINVAL);
        ASSERT_STREQ(err, message);
        free(err);
        json_object_put(s);
}

static void test_check(void) {
        json_object *s = parse("{\"type\": \"object\", \"description\": \"d\", \"default\": {}, "
                               "\"properties\": {\"a\": {\"type\": [\"integer\", \"null\"], \"minimum\": 0}}, "
                               "\"required\": [\"a\"], \"additionalProperties\": false}");
        ASSERT_OK(schema_check(s, "t", NULL));
        json_object_put(s);

        assert_check_fails("{\"type\": \"objekt\"}", "t.type: unsupported type");
        assert_check_fails("{\"type\": []}", "t.type: empty type list");
        assert_check_fails("{\"pattern\": \"x\"}", "t.pattern: unsupported keyword");
        assert_check_fails("{\"properties\": {\"a\": {\"minLength\": -1}}}", "t.properties.a.minLength: must be a non-negative integer");
        assert_check_fails("{\"required\": [\"a\"]}", "t.required: 'a' is not a declared property");
}

static void test_args_resolve(void) {
        static const McpToolArg args[] = {
                { .name = "text", .type = MCP_ARG_STRING },
                { .name = "words", .type = MCP_ARG_STRING, .alias_of = "text" },
                { .name = "n", .type = MCP_ARG_INTEGER },
                { .name = "flag", .type = MCP_ARG_BOOLEAN },
                {}
        };
        json_object *a = parse("{\"words\": \"w\", \"n\": 3, \"flag\": null}");
        json_object *v[5] = { a, a, a, a, a };

        mcp_tool_args_resolve(args, a, v);
        /* either spelling fills both rows; null and absent are NULL; nothing past the table */
        ASSERT_STREQ(json_object_get_string(v[0]), "w");
        ASSERT_TRUE(v[1] == v[0]);
        ASSERT_EQ(json_object_get_int(v[2]), 3);
        ASSERT_TRUE(!v[3]);
        ASSERT_TRUE(v[4] == a);
        mcp_tool_args_resolve(args, NULL, v);
        ASSERT_TRUE(!v[0] && !v[1] && !v[2] && !v[3]);
        json_object_put(a);
}

int main(void) {
        test_args_resolve();
        test_tool_table();
        test_validate();
        test_check();
        return 0;
}
