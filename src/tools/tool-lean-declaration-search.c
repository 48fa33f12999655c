/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_declaration_search {project, query, type_pattern?, imports?, max_results?}
 *   → {"query", "candidates": [{"name","kind","type","match"}], "returned", "truncated"}
 *     ranked here: exact (full name or last component) > prefix > substring,
 *     shorter names first, then by name.
 * One generated meta command (lean_query_search(), tool-meta.h). */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "basic/json-util.h"
#include "basic/strv.h"
#include "lean/query-text.h"
#include "tools/tool-args.h"
#include "tools/tool-meta.h"

#define SEARCH_OVERFETCH 5U  /* Lean keeps up to this many times max_results to rank from */

static const McpToolArg search_args[] = {
        TOOL_ARG_PROJECT,
        { .name = "query", .type = MCP_ARG_STRING, .required = true, .limits = MCP_ARG_HAS_MIN, .min = 1,
          .description = "Words or a name fragment to look for." },
        { .name = "type_pattern", .type = MCP_ARG_STRING,
          .description = "Text the pretty-printed type must contain (case-insensitive), e.g. \"a + b = b + a\"." },
        TOOL_ARG_IMPORTS,
        { .name = "max_results", .type = MCP_ARG_INTEGER, .limits = MCP_ARG_HAS_MIN | MCP_ARG_HAS_MAX,
          .min = 1, .max = 200, .default_int = 20, .description = "Maximum number of results." },
        TOOL_ARG_END,
};

static int match_rank(const char *name, const char *query) {
        const char *last = strrchr(name, '.');
        size_t n = strlen(query);

        last = last ? last + 1 : name;
        if (strcasecmp(name, query) == 0 || strcasecmp(last, query) == 0)
                return 0;
        if (strncasecmp(name, query, n) == 0 || strncasecmp(last, query, n) == 0)
                return 1;
        return 2;
}

static const char *rank_name(int rank) {
        return rank == 0 ? "exact" : rank == 1 ? "prefix" : "substring";
}

typedef struct Candidate {
        json_object *decl;
        const char *name;
        int rank;
} Candidate;

static int candidate_cmp(const void *a, const void *b) {
        const Candidate *x = a, *y = b;
        size_t lx = strlen(x->name), ly = strlen(y->name);

        if (x->rank != y->rank)
                return x->rank < y->rank ? -1 : 1;
        if (lx != ly)
                return lx < ly ? -1 : 1;
        return strcmp(x->name, y->name);
}

static json_object *search_result(MetaState *mj, json_object *decls, bool capped) {
        _cleanup_(query_json_putp) json_object *res = json_object_new_object(), *out = json_object_new_array();
        _cleanup_free_ Candidate *c = NULL;
        size_t n = json_object_array_length(decls), k = 0;

        if (!res || !out)
                return NULL;
        c = new0(Candidate, n);
        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                json_object *d = json_object_array_get_idx(decls, i), *v;

                if (!json_object_object_get_ex(d, "name", &v) || !json_object_is_type(v, json_type_string))
                        continue;
                c[k].decl = d;
                c[k].name = json_object_get_string(v);
                c[k].rank = match_rank(c[k].name, mj->subject);
                k++;
        }
        qsort(c, k, sizeof *c, candidate_cmp);
        for (size_t i = 0; i < k && i < mj->max; i++) {
                json_object *o = json_object_new_object(), *v;

                if (json_object_array_add(out, o) < 0) {
                        json_object_put(o);
                        return NULL;
                }
                if (json_add(o, "name", json_object_new_string(c[i].name)) < 0)
                        return NULL;
                if (json_object_object_get_ex(c[i].decl, "kind", &v) && json_add(o, "kind", json_object_get(v)) < 0)
                        return NULL;
                if (json_object_object_get_ex(c[i].decl, "type", &v) && json_add(o, "type", json_object_get(v)) < 0)
                        return NULL;
                if (json_add(o, "match", json_object_new_string(rank_name(c[i].rank))) < 0)
                        return NULL;
        }
        if (json_add(res, "query", json_object_new_string(mj->subject)) < 0 ||
            json_add(res, "returned", json_object_new_int64(json_object_array_length(out))) < 0 ||
            json_add(res, "candidates", TAKE_PTR(out)) < 0 ||
            json_add(res, "truncated", json_object_new_boolean(capped || k > mj->max)) < 0)
                return NULL;
        return TAKE_PTR(res);
}

static int search_step(ToolCall *tc, LhJob *job, json_object *reply, json_object **ret_command) {
        _cleanup_(query_json_putp) json_object *decls = NULL, *ends = NULL;
        json_object *end, *capped, *result;
        LhError err;
        int r;

        (void) ret_command;
        r = tool_meta_reply(tc, job, reply, &decls, &ends);
        if (r < 0)
                return r;
        end = json_object_array_get_idx(ends, 0);
        if (!end) {
                lh_error_set(&err, "lean_error", false, "the search printed no result (is this Lean supported?)");
                job_set_error(job, &err);
                lh_error_done(&err);
                return -EPROTO;
        }
        result = search_result(tool_call_state(tc), decls,
                               json_object_object_get_ex(end, "capped", &capped) && json_object_get_boolean(capped));
        if (!result)
                return -ENOMEM;
        tool_call_set_result(tc, result);
        return 1;
}

static int search_call(ToolCall *tc) {
        MetaState *ms = tool_call_state(tc);
        const char *query = tool_call_arg_string(tc, "query");
        int r;

        ms->max = (unsigned) tool_call_arg_int(tc, "max_results");
        ms->subject = strdup(query);
        if (!ms->subject)
                return -ENOMEM;
        r = lean_query_search(query, tool_call_arg_string(tc, "type_pattern"), ms->max * SEARCH_OVERFETCH, &ms->text);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                tool_call_reply_errorf(tc, "invalid_arguments", false, "invalid search query");
                return 0;
        }
        return tool_meta_submit(tc);
}

const ToolDef tool_lean_declaration_search = {
        .mcp = {
                .name = "lean_declaration_search",
                .title = "Search declarations",
                .description =
                        "Search the declarations visible after the given imports by name "
                        "fragment and optionally by a type pattern.",
                .args = search_args,
                TOOL_ANNOTATIONS_READ_ONLY,
        },
        .call = search_call,
        .ops = {
                .start = tool_meta_start,
                .step = search_step,
                .done = tool_meta_done,
                .free_state = tool_meta_state_free,
        },
        .state_size = sizeof(MetaState),
};
