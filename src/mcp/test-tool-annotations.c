/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The MCP tool annotations tell clients what a tool can do: a tool that
 * elaborates Lean text from the caller (#eval, run_tac: any IO) must not
 * claim readOnlyHint. Checked two ways: an explicit expectation per tool
 * (a new tool fails here until someone decides), and a rule derived from
 * the input schemas (any property carrying Lean text, at any depth). */

#include <json-c/json.h>

#include "basic/tests.h"
#include "mcp/tool-schemas.h"
#include "tools/tools.h"

/* Properties whose value is elaborated as Lean (commands, terms, tactics;
 * "path": a .lean file of the caller's, elaborated whole). */
static const char *const lean_text_properties[] = { "code", "statement", "proof", "tactic", "goal", "tactics",
                                                    "snippets", "path" };

typedef struct Expected {
        const char *name;
        bool runs_user_lean;
} Expected;

static const Expected expected[] = {
        { "lean_run", true },
        { "lean_project_status", false },
        { "lean_module_query", false },
        { "lean_module_query_batch", false },
        { "lean_declaration_inspect", false },
        { "lean_declaration_search", false },
        { "lean_proof_attempt", true },
        { "lean_declaration_verify", true },
        { "lean_declaration_verify_batch", true },
        { "lean_proof_search", true },
        { "lean_file_diagnostics", true },
        { "lean_goal_at", true },
        { "lean_multi_attempt", true },
};

static bool is_lean_text_property(const char *k) {
        for (size_t i = 0; i < ELEMENTSOF(lean_text_properties); i++)
                if (streq(k, lean_text_properties[i]))
                        return true;
        return false;
}

/* Does any "properties" object in the schema, at any depth, name a Lean text property? */
static bool schema_takes_lean_text(json_object *schema) {
        json_object *props;

        if (json_object_is_type(schema, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(schema); i++)
                        if (schema_takes_lean_text(json_object_array_get_idx(schema, i)))
                                return true;
                return false;
        }
        if (!json_object_is_type(schema, json_type_object))
                return false;
        if (json_object_object_get_ex(schema, "properties", &props) && json_object_is_type(props, json_type_object)) {
                json_object_object_foreach(props, k, v) {
                        (void) v;
                        if (is_lean_text_property(k))
                                return true;
                }
        }
        json_object_object_foreach(schema, k2, v2) {
                (void) k2;
                if (schema_takes_lean_text(v2))
                        return true;
        }
        return false;
}

static void check_runs_user_lean(const McpToolDef *d, bool runs) {
        if (runs) {
                /* arbitrary IO: may change or delete anything the worker can reach, may use the network */
                ASSERT_FALSE(d->read_only);
                ASSERT_TRUE(d->destructive);
                ASSERT_FALSE(d->idempotent);
                ASSERT_TRUE(d->open_world);
        } else {
                ASSERT_TRUE(d->read_only);
                ASSERT_FALSE(d->open_world);
        }
}

int main(void) {
        const McpToolDef *const *defs;
        size_t n;

        defs = tools_list_defs(&n);
        ASSERT_EQ(n, ELEMENTSOF(expected));

        for (size_t i = 0; i < n; i++) {
                const McpToolDef *d = defs[i];
                const Expected *e = NULL;
                json_object *schema;
                bool takes;

                for (size_t j = 0; j < ELEMENTSOF(expected); j++)
                        if (streq(expected[j].name, d->name))
                                e = expected + j;
                if (!e) {
                        fprintf(stderr, "%s: no expected annotations: add it to this test\n", d->name);
                        abort();
                }

                ASSERT_OK(mcp_tool_schema_new(d->args, d->name, &schema));
                takes = schema_takes_lean_text(schema);
                json_object_put(schema);

                fprintf(stderr, "%s: takes Lean text: %s, readOnly %s, destructive %s, idempotent %s, openWorld %s\n",
                        d->name, yes_no(takes), yes_no(d->read_only), yes_no(d->destructive),
                        yes_no(d->idempotent), yes_no(d->open_world));
                /* the rule from the schema and the explicit list agree ... */
                ASSERT_EQ(takes, e->runs_user_lean);
                /* ... and the annotations say so */
                check_runs_user_lean(d, e->runs_user_lean);
        }
        return 0;
}
