/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The recipe of a tool, as a test: one ToolDef with its argument table (this
 * file's first half is all a tool is), one entry in the list the server gets.
 * Its schema appears in tools/list, generated from the table; its arguments
 * are validated by the table before call() runs; call() reads them through
 * the table (aliases, defaults). No project and no job: the recipe of the
 * job part is tool-lean-run.c. */

#include "mcp/test-mcp-util.h"
#include "tools/call-base.h"
#include "tools/tool-args.h"

static const McpToolArg recipe_args[] = {
        { .name = "text", .type = MCP_ARG_STRING, .required = true, .limits = MCP_ARG_HAS_MIN, .min = 1,
          .description = "What to echo." },
        { .name = "words", .type = MCP_ARG_STRING, .alias_of = "text",
          .description = "Deprecated alias of text." },
        { .name = "times", .type = MCP_ARG_INTEGER, .limits = MCP_ARG_HAS_MIN | MCP_ARG_HAS_MAX, .min = 1, .max = 3,
          .default_int = 2, .description = "How often (default 2)." },
        TOOL_ARG_END,
};

static int recipe_call(ToolCall *tc) {
        json_object *result = json_object_new_object();

        if (!result)
                return -ENOMEM;
        json_object_object_add(result, "text", json_object_new_string(tool_call_arg_string(tc, "text")));
        json_object_object_add(result, "times", json_object_new_int64(tool_call_arg_int(tc, "times")));
        tool_call_reply(tc, result, NULL, NULL);
        return 0;
}

static const ToolDef tool_test_recipe = {
        .mcp = {
                .name = "test_recipe",
                .title = "Echo",
                .description = "Echo text a few times.",
                .args = recipe_args,
                TOOL_ANNOTATIONS_READ_ONLY,
        },
        .call = recipe_call,
        .no_project = true,
};

/* ---- the test ---------------------------------------------------------------- */

int main(void) {
        const McpToolDef *list[] = { &tool_test_recipe.mcp }; /* the one entry */
        McpServerOptions opts = { .tools = list, .n_tools = ELEMENTSOF(list) };
        ToolsContext ctx = { .defs = list, .n_defs = ELEMENTSOF(list) };
        json_object *r, *schema;
        Client *c;
        Test t;

        test_setup_opts(&t, &opts);
        ASSERT_OK(mcp_server_register_tool(t.server, "test_recipe", tool_call_handle, &ctx));
        c = client_new(&t);
        client_send(c, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\"}}\n");
        json_object_put(client_recv(c));

        /* the schema is the table */
        client_send(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}\n");
        r = client_recv(c);
        ASSERT_STREQ(get_str(r, "result.tools.0.name"), "test_recipe");
        schema = get(r, "result.tools.0.inputSchema");
        ASSERT_STREQ(json_object_to_json_string_ext(schema, JSON_C_TO_STRING_PLAIN),
                     "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
                     "\"text\":{\"type\":\"string\",\"minLength\":1,\"description\":\"What to echo.\"},"
                     "\"words\":{\"type\":\"string\",\"description\":\"Deprecated alias of text.\"},"
                     "\"times\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":3,\"description\":\"How often (default 2).\"}}}");
        ASSERT_TRUE(get(r, "result.tools.0.annotations.readOnlyHint"));
        json_object_put(r);

        /* the table's rules, as tool errors */
        static const struct {
                const char *id, *arguments, *error;
        } rules[] = {
                { "2", "{\"times\":2}", "arguments.text: required property missing (or its deprecated alias words)" },
                { "3", "{\"text\":\"a\",\"times\":4}", "arguments.times: must be <= 3" },
                { "4", "{\"text\":\"a\",\"words\":\"b\"}",
                  "arguments.words: give text or its deprecated alias words, not both" },
                { "5", "{\"text\":\"\"}", "arguments.text: must be at least 1 character long" },
        };
        for (size_t i = 0; i < ELEMENTSOF(rules); i++) {
                r = client_tool_call(c, rules[i].id, "test_recipe", rules[i].arguments);
                assert_argument_error(r, rules[i].error);
                json_object_put(r);
        }

        /* read through the table: the default, the alias */
        r = client_tool_call(c, "6", "test_recipe", "{\"text\":\"hi\"}");
        ASSERT_FALSE(json_object_get_boolean(get(r, "result.isError")));
        ASSERT_STREQ(get_str(r, "result.structuredContent.result.text"), "hi");
        ASSERT_EQ(get_int(r, "result.structuredContent.result.times"), 2);
        json_object_put(r);
        r = client_tool_call(c, "7", "test_recipe", "{\"words\":\"old\",\"times\":3}");
        ASSERT_STREQ(get_str(r, "result.structuredContent.result.text"), "old");
        ASSERT_EQ(get_int(r, "result.structuredContent.result.times"), 3);
        json_object_put(r);

        client_free(c);
        test_teardown(&t);
        return 0;
}
