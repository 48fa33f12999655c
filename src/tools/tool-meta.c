/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The meta-command job shared by lean_declaration_inspect and
 * lean_declaration_search (tool-meta.h). */

#include <stdlib.h>

#include "basic/strv.h"
#include "lean/query-text.h"
#include "tools/tool-default-imports.h"
#include "tools/tool-meta.h"

void tool_meta_state_free(void *state) {
        MetaState *ms = state;

        free(ms->text);
        free(ms->subject);
}

int tool_meta_start(ToolCall *tc, LhJob *job, json_object **ret_command) {
        MetaState *ms = tool_call_state(tc);
        char *t = strdup(ms->text);

        if (!t)
                return -ENOMEM;
        return tool_query_command(tc, t, ret_command);
}

int tool_meta_reply(ToolCall *tc, LhJob *job, json_object *reply, json_object **ret_decls, json_object **ret_ends) {
        _cleanup_(lean_reply_done) LeanReply lr = LEAN_REPLY_INIT;
        _cleanup_(query_output_done) LeanQueryOutput out = {};
        LhError err = {}; /* set only on the way to fail: */
        MetaState *ms = tool_call_state(tc);
        int r;

        r = tool_query_parse_reply(reply, &lr, &err);
        if (r == -ENOMEM) {
                lh_error_done(&err);
                return r;
        }
        if (r < 0)
                goto fail;
        tc->env = lr.env;
        if (lean_query_output_read(&lr, &out) < 0)
                return -ENOMEM;

        if (json_object_array_length(out.errors) > 0) {
                json_object *code = json_object_object_get(json_object_array_get_idx(out.errors, 0), "code");

                if (streq(strempty(json_object_get_string(code)), "unknown_declaration"))
                        lh_error_set(&err, "unknown_declaration", false,
                                     "no declaration %s in the environment of the imports", ms->subject);
                else
                        lh_error_set(&err, "lean_error", false, "the query failed: %s", strna(json_object_get_string(code)));
                r = -EPROTO;
                goto fail;
        }
        *ret_decls = TAKE_PTR(out.decls);
        if (ret_ends)
                *ret_ends = TAKE_PTR(out.ends);
        return 0;
fail:
        job_set_error(job, &err);
        lh_error_done(&err);
        return r;
}

int tool_meta_submit(ToolCall *tc) {
        _cleanup_strv_free_ char **imports = NULL;
        int r;

        r = tool_query_imports(tc, true, &imports);
        if (r != 0)
                return r < 0 ? r : 0;
        r = tool_call_check_readiness(tc);
        if (r != 0)
                return r < 0 ? r : 0;
        r = tool_default_imports_apply(tc->view.arguments, tc->have_readiness ? &tc->readiness : NULL,
                                       &imports);
        if (r < 0)
                return r;
        ((MetaState *) tool_call_state(tc))->imports_default = r > 0;
        return tool_call_submit(tc, TAKE_PTR(imports), JOB_READ_ONLY);
}

int tool_meta_done(ToolCall *tc, LhJob *job, json_object *result, const LhError *err, const LhFacts *facts) {
        MetaState *ms = tool_call_state(tc);
        LhError e;

        if (!err || !(streq(strempty(err->code), "unknown_declaration") || streq(strempty(err->code), "import_failed")))
                return 0;
        e = *err;
        tool_default_imports_note(&e, tc->imports, ms->imports_default);
        tool_call_reply(tc, NULL, &e, facts);
        json_object_put(e.details);
        return 1;
}
