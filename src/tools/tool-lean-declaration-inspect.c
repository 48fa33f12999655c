/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_declaration_inspect {project, name, imports?, include_value?, max_chars?}
 *   → {"name", "kind", "type", "doc"?, "module"?, "position"?: {"line","column"},
 *      "value"?, "value_chars"?, "axioms": [...], "uses_sorry", "truncated": [fields]}
 * One generated meta command (lean_query_inspect(), tool-meta.h). */

#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/strv.h"
#include "lean/query-text.h"
#include "tools/tool-args.h"
#include "tools/tool-meta.h"

static const McpToolArg inspect_args[] = {
        TOOL_ARG_PROJECT,
        { .name = "name", .type = MCP_ARG_STRING, .required = true, .limits = MCP_ARG_HAS_MIN, .min = 1,
          .description = "Fully qualified declaration name, e.g. Nat.add_comm." },
        TOOL_ARG_IMPORTS,
        { .name = "include_value", .type = MCP_ARG_BOOLEAN, .description = "Include the value / proof term." },
        { .name = "max_chars", .type = MCP_ARG_INTEGER, .limits = MCP_ARG_HAS_MIN | MCP_ARG_HAS_MAX,
          .min = 1, .max = 10000000, .default_int = 4000,
          .description = "Truncate long texts to this many characters." },
        TOOL_ARG_END,
};

/* s cut to max codepoints; *truncated set when cut. */
static json_object *bounded_string(const char *s, unsigned max, bool *truncated) {
        size_t cps = 0;
        const char *c;

        for (c = s; *c; c++) {
                if (((unsigned char) *c & 0xc0) == 0x80)
                        continue;
                if (cps == max)
                        break;
                cps++;
        }
        if (!*c)
                return json_object_new_string(s);
        *truncated = true;
        return json_object_new_string_len(s, (int) (c - s));
}

static json_object *inspect_result(MetaState *mj, json_object *d) {
        _cleanup_(query_json_putp) json_object *res = json_object_new_object(), *trunc = json_object_new_array();
        static const char * const texts[] = { "name", "kind", "type", "doc", "module", "value" };
        json_object *v, *line, *col, *axioms;
        bool sorry = false;

        if (!res || !trunc)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                bool cut = false;

                if (!json_object_object_get_ex(d, texts[i], &v) || !json_object_is_type(v, json_type_string))
                        continue;
                if (json_add(res, texts[i], bounded_string(json_object_get_string(v), mj->max, &cut)) < 0)
                        return NULL;
                if ((cut || (streq(texts[i], "value") &&
                             json_object_get_int64(json_object_object_get(d, "value_chars")) > (int64_t) mj->max)) &&
                    json_append(trunc, json_object_new_string(texts[i])) < 0)
                        return NULL;
        }
        if (json_object_object_get_ex(d, "value_chars", &v) && json_add(res, "value_chars", json_object_get(v)) < 0)
                return NULL;
        if (json_object_object_get_ex(d, "line", &line) && json_object_object_get_ex(d, "column", &col)) {
                json_object *pos = json_object_new_object();

                if (json_add(res, "position", pos) < 0 || json_add(pos, "line", json_object_get(line)) < 0 ||
                    json_add(pos, "column", json_object_get(col)) < 0)
                        return NULL;
        }
        if (!json_object_object_get_ex(d, "axioms", &axioms) || !json_object_is_type(axioms, json_type_array))
                axioms = NULL;
        for (size_t i = 0; axioms && i < json_object_array_length(axioms); i++)
                sorry = sorry || streq(strempty(json_object_get_string(json_object_array_get_idx(axioms, i))), "sorryAx");
        if (json_add(res, "axioms", axioms ? json_object_get(axioms) : json_object_new_array()) < 0 ||
            json_add(res, "uses_sorry", json_object_new_boolean(sorry)) < 0 ||
            json_add(res, "truncated", TAKE_PTR(trunc)) < 0)
                return NULL;
        return TAKE_PTR(res);
}

static int inspect_step(ToolCall *tc, LhJob *job, json_object *reply, json_object **ret_command) {
        _cleanup_(query_json_putp) json_object *decls = NULL;
        json_object *result;
        LhError err;
        int r;

        (void) ret_command;
        r = tool_meta_reply(tc, job, reply, &decls, NULL);
        if (r < 0)
                return r;
        if (json_object_array_length(decls) == 0) {
                lh_error_set(&err, "lean_error", false, "the inspection printed no result (is this Lean supported?)");
                job_set_error(job, &err);
                lh_error_done(&err);
                return -EPROTO;
        }
        result = inspect_result(tool_call_state(tc), json_object_array_get_idx(decls, 0));
        if (!result)
                return -ENOMEM;
        tool_call_set_result(tc, result);
        return 1;
}

static int inspect_call(ToolCall *tc) {
        MetaState *ms = tool_call_state(tc);
        const char *name = tool_call_arg_string(tc, "name");
        int r;

        ms->max = (unsigned) tool_call_arg_int(tc, "max_chars");
        /* the text builder checks the name: one call for both */
        r = lean_query_inspect(name, tool_call_arg_bool(tc, "include_value"), ms->max, &ms->text);
        if (r == -EINVAL) {
                tool_call_reply_errorf(tc, "invalid_arguments", false,
                                       "arguments.name: not a valid Lean declaration name");
                return 0;
        }
        if (r < 0)
                return r;
        ms->subject = strdup(name);
        if (!ms->subject)
                return -ENOMEM;
        return tool_meta_submit(tc);
}

const ToolDef tool_lean_declaration_inspect = {
        .mcp = {
                .name = "lean_declaration_inspect",
                .title = "Inspect a declaration",
                .description =
                        "Show one declaration: kind, type, docstring, module and position, the axioms it "
                        "depends on and, on request, its value or proof term.",
                .args = inspect_args,
                TOOL_ANNOTATIONS_READ_ONLY,
        },
        .call = inspect_call,
        .ops = {
                .start = tool_meta_start,
                .step = inspect_step,
                .done = tool_meta_done,
                .free_state = tool_meta_state_free,
        },
        .state_size = sizeof(MetaState),
};
