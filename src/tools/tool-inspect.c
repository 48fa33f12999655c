/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_declaration_inspect {project, name, imports?, include_value?, max_chars?}
 *   → {"name", "kind", "type", "doc"?, "module"?, "position"?: {"line","column"},
 *      "value"?, "value_chars"?, "axioms": [...], "uses_sorry", "truncated": [fields]}
 * lean_declaration_search {project, query, type_pattern?, imports?, max_results?}
 *   → {"query", "candidates": [{"name","kind","type","match"}], "returned", "truncated"}
 *     ranked here: exact (full name or last component) > prefix > substring,
 *     shorter names first, then by name.
 * Both run one generated meta command (lean/query-text.h) on top of the
 * import env "Lean" + imports. */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "basic/json-util.h"
#include "basic/strv.h"
#include "lean/query-text.h"
#include "tools/tool-default-imports.h"
#include "tools/tool-query.h"

#define INSPECT_DEFAULT_MAX_CHARS 4000U
#define INSPECT_MAX_CHARS 10000000U
#define SEARCH_DEFAULT_MAX_RESULTS 20U
#define SEARCH_MAX_RESULTS 200U
#define SEARCH_OVERFETCH 5U  /* Lean keeps up to this many times max_results to rank from */

typedef enum MetaKind {
        META_INSPECT,
        META_SEARCH,
} MetaKind;

typedef struct MetaJob {
        ToolsContext *ctx;
        MetaKind kind;
        LeanReadiness readiness;
        char **imports;
        bool imports_default;  /* the project's default import set was added (tool-default-imports.h) */
        char *text;            /* the generated command */
        char *subject;         /* name (inspect) / query (search) */
        unsigned max;          /* max_chars (inspect) / max_results (search) */
        int env;
} MetaJob;

static void meta_job_free(void *userdata) {
        MetaJob *mj = userdata;

        if (!mj)
                return;
        lean_readiness_done(&mj->readiness);
        strv_free(mj->imports);
        free(mj->text);
        free(mj->subject);
        free(mj);
}

static int meta_start(LhJob *job, void *userdata, json_object **ret_command) {
        MetaJob *mj = userdata;
        char *t;

        mj->env = -1;
        t = strdup(mj->text);
        if (!t)
                return -ENOMEM;
        return tool_query_command(job, t, ret_command);
}

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

static json_object *inspect_result(MetaJob *mj, json_object *d) {
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
                    json_object_array_add(trunc, json_object_new_string(texts[i])) < 0)
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

static json_object *search_result(MetaJob *mj, json_object *decls, bool capped) {
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

static int meta_step(LhJob *job, void *userdata, json_object *reply, json_object **ret_command) {
        _cleanup_(lean_reply_done) LeanReply lr = LEAN_REPLY_INIT;
        _cleanup_(query_json_putp) json_object *decls = NULL, *errs = NULL, *ends = NULL;
        _cleanup_(lh_error_done) LhError err = {};
        MetaJob *mj = userdata;
        json_object *result;
        int r;

        (void) ret_command;
        r = tool_query_parse_reply(reply, &lr, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                goto fail;
        mj->env = lr.env;
        if (lean_query_output_lines(&lr, LEAN_QUERY_TAG_DECL, &decls) < 0 ||
            lean_query_output_lines(&lr, LEAN_QUERY_TAG_ERROR, &errs) < 0 ||
            lean_query_output_lines(&lr, LEAN_QUERY_TAG_END, &ends) < 0)
                return -ENOMEM;

        if (json_object_array_length(errs) > 0) {
                json_object *code = json_object_object_get(json_object_array_get_idx(errs, 0), "code");

                if (streq(strempty(json_object_get_string(code)), "unknown_declaration"))
                        lh_error_set(&err, "unknown_declaration", false,
                                     "no declaration %s in the environment of the imports", mj->subject);
                else
                        lh_error_set(&err, "lean_error", false, "the query failed: %s", strna(json_object_get_string(code)));
                r = -EPROTO;
                goto fail;
        }
        if (mj->kind == META_INSPECT) {
                if (json_object_array_length(decls) == 0) {
                        lh_error_set(&err, "lean_error", false, "the inspection printed no result (is this Lean supported?)");
                        r = -EPROTO;
                        goto fail;
                }
                result = inspect_result(mj, json_object_array_get_idx(decls, 0));
        } else {
                json_object *end = json_object_array_get_idx(ends, 0), *capped;

                if (!end) {
                        lh_error_set(&err, "lean_error", false, "the search printed no result (is this Lean supported?)");
                        r = -EPROTO;
                        goto fail;
                }
                result = search_result(mj, decls, json_object_object_get_ex(end, "capped", &capped) &&
                                                  json_object_get_boolean(capped));
        }
        if (!result)
                return -ENOMEM;
        job_set_result(job, result);
        return 1;
fail:
        job_set_error(job, &err);
        return r;
}

static void meta_done(LhJob *job, void *userdata, json_object *result, const LhError *err, const LhFacts *facts) {
        MetaJob *mj = userdata;
        LhProject *p = job_get_project(job);
        json_object *freshness = NULL;
        LhError e = {};

        if (p) {
                tools_note_job_end(mj->ctx, p, &mj->readiness.stamp, facts, err);
                freshness = tools_freshness(p, &mj->readiness, mj->imports, facts, mj->env);
        }
        /* a name not found, an import that failed: say with which imports */
        if (err && (streq(strempty(err->code), "unknown_declaration") ||
                                         streq(strempty(err->code), "import_failed"))) {
                e = *err;
                tool_default_imports_note(&e, mj->imports, mj->imports_default);
                err = &e;
        }
        tool_job_reply(job, result, err, facts, freshness);
        json_object_put(e.details);
}

static const JobOps meta_ops = {
        .start = meta_start,
        .step = meta_step,
        .done = meta_done,
        .free_userdata = meta_job_free,
};

static int meta_submit(McpCall *call, ToolsContext *ctx, LhProject *p, MetaJob *mj) {
        int r;

        r = tool_query_imports(call, p, true, &mj->imports);
        if (r != 0) {
                meta_job_free(mj);
                return r < 0 ? r : 0;
        }
        r = tools_check_readiness(ctx, call, p, &mj->readiness);
        if (r != 0) {
                meta_job_free(mj);
                return r < 0 ? r : 0;
        }
        r = tool_default_imports_apply(mcp_call_get_arguments(call), &mj->readiness, &mj->imports);
        if (r < 0) {
                meta_job_free(mj);
                return r;
        }
        mj->imports_default = r > 0;
        r = tool_submit_job(call, p, mj->imports, JOB_READ_ONLY, &meta_ops, mj);
        return r < 0 ? r : 0;
}

int tool_declaration_inspect_handle(McpCall *call, void *userdata) {
        ToolsContext *ctx = userdata;
        json_object *args = mcp_call_get_arguments(call), *v;
        const char *name;
        MetaJob *mj;
        LhProject *p;
        int r;

        r = tool_resolve_project(call, ctx->registry, &p);
        if (r != 0)
                return r < 0 ? r : 0;
        name = tool_arg_string(call, "name");
        if (!name || !lean_decl_name_is_valid(name)) {
                tool_reply_errorf(call, p, "invalid_arguments", false, "\"name\" is not a valid Lean declaration name");
                return 0;
        }
        mj = new0(MetaJob, 1);
        if (!mj)
                return -ENOMEM;
        mj->ctx = ctx;
        mj->kind = META_INSPECT;
        mj->env = -1;
        mj->max = tool_query_uint(args, "max_chars", INSPECT_DEFAULT_MAX_CHARS, INSPECT_MAX_CHARS);
        mj->subject = strdup(name);
        r = mj->subject ? lean_query_inspect(name,
                                             json_object_object_get_ex(args, "include_value", &v) &&
                                             json_object_get_boolean(v),
                                             mj->max, &mj->text) : -ENOMEM;
        if (r < 0) {
                meta_job_free(mj);
                return r;
        }
        return meta_submit(call, ctx, p, mj);
}

int tool_declaration_search_handle(McpCall *call, void *userdata) {
        ToolsContext *ctx = userdata;
        json_object *args = mcp_call_get_arguments(call);
        const char *query, *type_pattern;
        unsigned limit;
        MetaJob *mj;
        LhProject *p;
        int r;

        r = tool_resolve_project(call, ctx->registry, &p);
        if (r != 0)
                return r < 0 ? r : 0;
        query = tool_arg_string(call, "query");
        if (isempty(query)) {
                tool_reply_errorf(call, p, "invalid_arguments", false, "\"query\" must be a non-empty name fragment");
                return 0;
        }
        type_pattern = tool_arg_string(call, "type_pattern");
        mj = new0(MetaJob, 1);
        if (!mj)
                return -ENOMEM;
        mj->ctx = ctx;
        mj->kind = META_SEARCH;
        mj->env = -1;
        mj->max = tool_query_uint(args, "max_results", SEARCH_DEFAULT_MAX_RESULTS, SEARCH_MAX_RESULTS);
        limit = mj->max * SEARCH_OVERFETCH;
        mj->subject = strdup(query);
        r = mj->subject ? lean_query_search(query, type_pattern, limit, &mj->text) : -ENOMEM;
        if (r < 0) {
                meta_job_free(mj);
                if (r == -ENOMEM)
                        return r;
                tool_reply_errorf(call, p, "invalid_arguments", false, "invalid search query");
                return 0;
        }
        return meta_submit(call, ctx, p, mj);
}
