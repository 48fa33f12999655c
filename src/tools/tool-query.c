/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The job of lean_module_query {project, module, selectors?, max_results?,
 * max_chars?, budgets? (deprecated)} and lean_module_query_batch {project,
 * items: [{module, …}]} (their tables: tool-lean-module-query*.c), and the
 * plumbing of every meta-command tool (tool-query.h).
 *
 * The worker runs one generated meta program per module
 * (lean_query_module_decls()) that prints every declaration of the module;
 * selectors and budgets are applied here, and the selected result is
 * cached (ctx->cache) under project id, manifest hash, toolchain, module,
 * selectors and budgets, so an identical call is answered without a worker
 * ("cached": true).
 *
 * Result: {"module", "declarations": [{"name", "kind", "type"?, "doc"?,
 * "line"?, "column"?}], "returned", "matched", "total", "truncated",
 * "truncated_by"?: "max_items"|"max_chars", "cached"}.
 * Batch: {"items": [{"module", "result"} | {"module", "error"}]} — one bad
 * item does not fail the others. An import header that fails (a module that
 * does not exist) fails every item that needed the worker in this call. */

#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "lean/header.h"
#include "lean/query-text.h"
#include "tools/call-base.h"
#include "tools/tool-args.h"
#include "tools/tool-query.h"


/* ---- shared plumbing (tool-query.h) ------------------------------------------ */

int tool_query_imports(ToolCall *tc, bool meta, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;
        McpCall *call = tc->call;
        LhProject *p = tc->project;
        json_object *imports;

        if (meta && strv_extend(&l, "Lean") < 0)
                return -ENOMEM;
        if (json_object_object_get_ex(tc->view.arguments, "imports", &imports) &&
            !json_object_is_type(imports, json_type_null)) {
                size_t n;

                if (!json_object_is_type(imports, json_type_array)) {
                        tool_reply_errorf(call, p, "invalid_arguments", false, "\"imports\" must be an array of module names");
                        return 1;
                }
                n = json_object_array_length(imports);
                for (size_t i = 0; i < n; i++) {
                        const char *m = json_object_get_string(json_object_array_get_idx(imports, i));

                        if (!json_object_is_type(json_object_array_get_idx(imports, i), json_type_string) ||
                            !lean_module_name_is_valid(m)) {
                                tool_reply_errorf(call, p, "invalid_arguments", false,
                                                  "\"imports\"[%zu] is not a valid module name", i);
                                return 1;
                        }
                        if (!strv_contains(l, m) && strv_extend(&l, m) < 0)
                                return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int tool_query_parse_shape(json_object *reply, LeanReply *lr, LhError *err) {
        _cleanup_free_ char *shape_error = NULL;
        int r;

        r = lean_reply_parse(reply, lr, &shape_error);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                lh_error_set(err, "lean_repl_error", false, "the Lean REPL sent a reply of unexpected shape: %s",
                             strna(shape_error));
                return -EPROTO;
        }
        return 0;
}

int tool_query_parse_reply(json_object *reply, LeanReply *lr, LhError *err) {
        json_object *errors;
        int r;

        r = tool_query_parse_shape(reply, lr, err);
        if (r < 0)
                return r;
        if (lr->repl_error) {
                lh_error_set(err, "lean_repl_error", false, "the Lean REPL refused the command: %s", lr->repl_error);
                return -EPROTO;
        }
        if (!lean_reply_has_errors(lr))
                return 0;

        /* the generated program did not elaborate (a Lean whose meta API differs?) */
        errors = json_object_new_array();
        if (!errors)
                return -ENOMEM;
        for (size_t i = 0; i < lr->n_messages; i++)
                if (lr->messages[i].severity == LEAN_SEVERITY_ERROR &&
                    json_append(errors, lean_message_to_json(&lr->messages[i])) < 0) {
                        json_object_put(errors);
                        return -ENOMEM;
                }
        lh_error_set(err, "lean_error", false, "the generated query failed in Lean: %s",
                     json_object_array_length(errors) > 0 ?
                     json_object_get_string(json_object_object_get(json_object_array_get_idx(errors, 0), "data")) : "");
        err->details = json_object_new_object();
        if (!err->details || json_add(err->details, "messages", errors) < 0)
                return -ENOMEM;
        return -EPROTO;
}

int tool_query_command(ToolCall *tc, char *text, json_object **ret) {
        _cleanup_free_ char *t = text;
        int base = tc->base_env;
        json_object *cmd;

        cmd = json_object_new_object();
        if (!cmd)
                return -ENOMEM;
        if (json_add(cmd, "cmd", json_object_new_string(t)) < 0 ||
            (base >= 0 && json_add(cmd, "env", json_object_new_int(base)) < 0)) {
                json_object_put(cmd);
                return -ENOMEM;
        }
        *ret = cmd;
        return 0;
}

/* An unsigned integer argument (in obj) or def; clamped to [1, max]. */
static unsigned tool_query_uint(json_object *obj, const char *key, unsigned def, unsigned max) {
        json_object *v;
        int64_t i;

        if (!obj || !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
                return def;
        i = json_object_get_int64(v);
        return i < 1 ? 1 : i > (int64_t) max ? max : (unsigned) i;
}

/* ---- one query ---------------------------------------------------------------- */

typedef struct ModuleQuery {
        char *module;
        char **kinds;          /* sorted; NULL: all kinds */
        char *prefix;
        char *name_pattern;
        bool include_type;
        bool include_doc;
        unsigned max_items;
        unsigned max_chars;
        char *cache_key;
        json_object *result;   /* set once answered */
        json_object *error;    /* or this (an error object) */
} ModuleQuery;

static void module_query_done(ModuleQuery *q) {
        free(q->module);
        strv_free(q->kinds);
        free(q->prefix);
        free(q->name_pattern);
        free(q->cache_key);
        json_object_put(q->result);
        json_object_put(q->error);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

static const char *obj_string(json_object *o, const char *key) {
        json_object *v;

        return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
                json_object_get_string(v) : NULL;
}

static bool obj_bool(json_object *o, const char *key) {
        json_object *v;

        return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) &&
                json_object_get_boolean(v);
}

/* Fill q from item ({module, selectors?, budgets?}). -EINVAL with *ret_why
 * (static) for bad arguments. */
static int module_query_parse(json_object *item, ModuleQuery *q, const char **ret_why) {
        json_object *sel = NULL, *bud = NULL, *kinds;
        const char *module = obj_string(item, "module"), *s;

        /* kept even when invalid: a batch item's answer names it */
        q->module = strdup(strempty(module));
        if (!q->module)
                return -ENOMEM;
        if (!module || !lean_module_name_is_valid(module)) {
                *ret_why = "\"module\" is not a valid Lean module name";
                return -EINVAL;
        }
        if (json_object_object_get_ex(item, "selectors", &sel) && !json_object_is_type(sel, json_type_object))
                sel = NULL;
        if (json_object_object_get_ex(item, "budgets", &bud) && !json_object_is_type(bud, json_type_object))
                bud = NULL;

        if (sel && json_object_object_get_ex(sel, "kinds", &kinds) && json_object_is_type(kinds, json_type_array)) {
                size_t n = json_object_array_length(kinds);

                /* only known kinds: the table's enum (tool_decl_kinds) */
                for (size_t i = 0; i < n; i++) {
                        const char *k = json_object_get_string(json_object_array_get_idx(kinds, i));

                        if (!strv_contains(q->kinds, k) && strv_extend(&q->kinds, k) < 0)
                                return -ENOMEM;
                }
                if (q->kinds)
                        qsort(q->kinds, strv_length(q->kinds), sizeof(char *), cmp_str);
        }
        s = obj_string(sel, "prefix");
        if (!isempty(s) && !(q->prefix = strdup(s)))
                return -ENOMEM;
        s = obj_string(sel, "name_pattern");
        if (!isempty(s) && !(q->name_pattern = strdup(s)))
                return -ENOMEM;
        q->include_type = obj_bool(sel, "include_type");
        q->include_doc = obj_bool(sel, "include_doc");
        /* max_results, max_chars; budgets is their deprecated spelling (the table's rows) */
        q->max_items = tool_query_uint(item, "max_results",
                                       tool_query_uint(bud, "max_items", MODULE_QUERY_DEFAULT_MAX_ITEMS,
                                                       MODULE_QUERY_MAX_ITEMS), MODULE_QUERY_MAX_ITEMS);
        q->max_chars = tool_query_uint(item, "max_chars",
                                       tool_query_uint(bud, "max_chars", MODULE_QUERY_DEFAULT_MAX_CHARS,
                                                       MODULE_QUERY_MAX_CHARS), MODULE_QUERY_MAX_CHARS);
        return 0;
}

/* The cache key: a JSON array, so no user string can forge another key. */
static int module_query_key(ModuleQuery *q, LhProject *p, const LeanProjectStamp *stamp) {
        _cleanup_(query_json_putp) json_object *a = json_object_new_array();
        json_object *kinds;

        if (!a)
                return -ENOMEM;
        kinds = json_object_new_array();
        if (!kinds || json_append(a, json_object_new_string("lean_module_query")) < 0 ||
            json_object_array_add(a, kinds) < 0) {
                json_object_put(kinds);
                return -ENOMEM;
        }
        STRV_FOREACH(k, q->kinds)
                if (json_append(kinds, json_object_new_string(*k)) < 0)
                        return -ENOMEM;
        if (json_append(a, json_object_new_string(project_get_id(p))) < 0 ||
            json_append(a, json_object_new_string(stamp->manifest_hash)) < 0 ||
            json_append(a, json_object_new_string(stamp->toolchain)) < 0 ||
            json_append(a, json_object_new_string(q->module)) < 0 ||
            json_append(a, json_object_new_string(strempty(q->prefix))) < 0 ||
            json_append(a, json_object_new_string(strempty(q->name_pattern))) < 0 ||
            json_append(a, json_object_new_boolean(q->include_type)) < 0 ||
            json_append(a, json_object_new_boolean(q->include_doc)) < 0 ||
            json_append(a, json_object_new_int64(q->max_items)) < 0 ||
            json_append(a, json_object_new_int64(q->max_chars)) < 0)
                return -ENOMEM;
        q->cache_key = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
        return q->cache_key ? 0 : -ENOMEM;
}

/* A deep copy of a cached result marked "cached": true, or NULL. */
static json_object *module_query_cached(LeanCache *cache, const char *key) {
        _cleanup_(query_json_putp) json_object *v = lean_cache_get(cache, key);
        json_object *copy = NULL;

        if (!v || json_object_deep_copy(v, &copy, NULL) < 0)
                return NULL;
        if (json_add(copy, "cached", json_object_new_boolean(true)) < 0) {
                json_object_put(copy);
                return NULL;
        }
        return copy;
}

static bool decl_selected(const ModuleQuery *q, json_object *d) {
        const char *name = obj_string(d, "name"), *kind = obj_string(d, "kind");

        if (!name)
                return false;
        if (q->kinds && !strv_contains(q->kinds, strempty(kind)))
                return false;
        if (q->prefix && strncmp(name, q->prefix, strlen(q->prefix)) != 0)
                return false;
        if (q->name_pattern && !strstr(name, q->name_pattern))
                return false;
        return true;
}

/* decls (parsed "@lh:decl" objects) → the result, selectors and budgets applied. */
static json_object *module_query_select(const ModuleQuery *q, json_object *decls) {
        _cleanup_(query_json_putp) json_object *result = json_object_new_object(), *out = json_object_new_array();
        size_t n = json_object_array_length(decls), matched = 0, chars = 0;
        const char *truncated_by = NULL;

        if (!result || !out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                json_object *d = json_object_array_get_idx(decls, i), *o;
                static const char * const keys[] = { "name", "kind", "type", "doc", "line", "column" };
                size_t len;

                if (!decl_selected(q, d))
                        continue;
                matched++;
                if (truncated_by)
                        continue;
                if (json_object_array_length(out) >= q->max_items) {
                        truncated_by = "max_items";
                        continue;
                }
                o = json_object_new_object();
                if (!o)
                        return NULL;
                for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                        json_object *v;

                        if ((streq(keys[k], "type") && !q->include_type) || (streq(keys[k], "doc") && !q->include_doc))
                                continue;
                        if (json_object_object_get_ex(d, keys[k], &v) && !json_object_is_type(v, json_type_null) &&
                            json_add(o, keys[k], json_object_get(v)) < 0) {
                                json_object_put(o);
                                return NULL;
                        }
                }
                len = strlen(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
                if (chars + len > q->max_chars) {
                        json_object_put(o);
                        truncated_by = "max_chars";
                        continue;
                }
                chars += len;
                if (json_object_array_add(out, o) < 0) {
                        json_object_put(o);
                        return NULL;
                }
        }
        if (json_add(result, "module", json_object_new_string(q->module)) < 0 ||
            json_add(result, "returned", json_object_new_int64(json_object_array_length(out))) < 0 ||
            json_add(result, "declarations", TAKE_PTR(out)) < 0 ||
            json_add(result, "matched", json_object_new_int64(matched)) < 0 ||
            json_add(result, "total", json_object_new_int64(n)) < 0 ||
            json_add(result, "truncated", json_object_new_boolean(truncated_by != NULL)) < 0 ||
            (truncated_by && json_add(result, "truncated_by", json_object_new_string(truncated_by)) < 0) ||
            json_add(result, "cached", json_object_new_boolean(false)) < 0)
                return NULL;
        return TAKE_PTR(result);
}

/* ---- the job --------------------------------------------------------------------- */

void tool_module_query_state_free(void *state) {
        QueryJob *qj = state;

        for (size_t i = 0; i < qj->n_queries; i++)
                module_query_done(&qj->queries[i]);
        free(qj->queries);
}

static json_object *error_object(const char *code, const char *message) {
        LhError e;
        json_object *o;

        lh_error_set(&e, code, false, "%s", message);
        o = lh_error_to_json(&e);
        lh_error_done(&e);
        return o;
}

/* A self-contained command: no env, its own header, so a module that does
 * not import fails this command only (the REPL starts a fresh environment
 * for a command without "env"). The module name is validated already. */
static int query_command_with_header(const char *module, char *text, json_object **ret) {
        _cleanup_free_ char *t = text, *full = NULL;
        json_object *cmd;

        full = lean_query_with_header(module, t);
        if (!full)
                return -ENOMEM;
        cmd = json_object_new_object();
        if (!cmd)
                return -ENOMEM;
        if (json_add(cmd, "cmd", json_object_new_string(full)) < 0) {
                json_object_put(cmd);
                return -ENOMEM;
        }
        *ret = cmd;
        return 0;
}

/* Send the command of the next unanswered query at or after from; 1 when none is left. */
static int query_next(ToolCall *tc, LhJob *job, QueryJob *qj, size_t from, json_object **ret_command) {
        for (size_t i = from; i < qj->n_queries; i++) {
                char *text = NULL;
                int r;

                if (qj->queries[i].result || qj->queries[i].error)
                        continue;
                r = lean_query_module_decls(qj->queries[i].module, &text);
                if (r < 0)
                        return r;
                qj->current = i;
                if (qj->batch)
                        tool_call_progress(tc, "module %zu of %zu: %s", i + 1, qj->n_queries, qj->queries[i].module);
                if (qj->per_module)
                        return query_command_with_header(qj->queries[i].module, text, ret_command);
                return tool_query_command(tc, text, ret_command);
        }
        return 1;
}

static int query_finish(ToolCall *tc, QueryJob *qj) {
        json_object *result, *items;

        if (!qj->batch) {
                ModuleQuery *q = &qj->queries[0];

                tool_call_set_result(tc, json_object_get(q->result));
                return 1;
        }
        result = json_object_new_object();
        items = json_object_new_array();
        if (!result || !items || json_add(result, "items", items) < 0) {
                json_object_put(result);
                return -ENOMEM;
        }
        for (size_t i = 0; i < qj->n_queries; i++) {
                ModuleQuery *q = &qj->queries[i];
                json_object *item = json_object_new_object();

                if (!item || json_object_array_add(items, item) < 0 ||
                    json_add(item, "module", json_object_new_string(strempty(q->module))) < 0 ||
                    json_add(item, q->result ? "result" : "error", json_object_get(q->result ?: q->error)) < 0) {
                        json_object_put(result);
                        return -ENOMEM;
                }
        }
        tool_call_set_result(tc, result);
        return 1;
}

int tool_module_query_start(ToolCall *tc, LhJob *job, json_object **ret_command) {
        QueryJob *qj = tool_call_state(tc);
        int r;

        r = query_next(tc, job, qj, 0, ret_command);
        return r == 1 ? query_finish(tc, qj) : r;
}

int tool_module_query_step(ToolCall *tc, LhJob *job, json_object *reply, json_object **ret_command) {
        _cleanup_(lean_reply_done) LeanReply lr = LEAN_REPLY_INIT;
        _cleanup_(query_output_done) LeanQueryOutput out = {};
        _cleanup_(lh_error_done) LhError err = {};
        QueryJob *qj = tool_call_state(tc);
        ModuleQuery *q = &qj->queries[qj->current];
        int r;

        r = tool_query_parse_reply(reply, &lr, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0 && qj->per_module && streq(strempty(err.code), "lean_error")) {
                /* errors in the two header lines: this module does not import */
                for (size_t i = 0; i < lr.n_messages; i++)
                        if (lr.messages[i].severity == LEAN_SEVERITY_ERROR && lr.messages[i].pos.set &&
                            lr.messages[i].pos.line <= 2) {
                                json_object *details = TAKE_PTR(err.details);

                                lh_error_set(&err, "import_failed", false, "module %s could not be imported: %s",
                                             q->module, strempty(lr.messages[i].data));
                                err.details = details;
                                break;
                        }
        }
        if (r >= 0) {
                tc->env = lr.env;
                if (lean_query_output_read(&lr, &out) < 0)
                        return -ENOMEM;
                if (json_object_array_length(out.errors) > 0) {
                        const char *code = obj_string(json_object_array_get_idx(out.errors, 0), "code");

                        if (streq(strempty(code), "module_not_imported"))
                                lh_error_set(&err, "module_not_found", false,
                                             "module %s is not part of the environment after importing it", q->module);
                        else
                                lh_error_set(&err, "lean_error", false, "the module query failed: %s", strna(code));
                        r = -EPROTO;
                } else if (json_object_array_length(out.ends) == 0) {
                        lh_error_set(&err, "lean_error", false,
                                     "the module query printed no result (is this Lean supported?)");
                        r = -EPROTO;
                }
        }

        if (r < 0) {
                if (!qj->batch) {
                        job_set_error(job, &err);
                        return r;
                }
                q->error = lh_error_to_json(&err);
                if (!q->error)
                        return -ENOMEM;
        } else {
                q->result = module_query_select(q, out.decls);
                if (!q->result)
                        return -ENOMEM;
                if (lean_cache_put(tc->ctx->cache, q->cache_key, q->result) < 0)
                        log_debug("Module query result not cached (out of memory)");
        }

        r = query_next(tc, job, qj, qj->current + 1, ret_command);
        return r == 1 ? query_finish(tc, qj) : r;
}

/* One module of the shared header did not import: the open items run again
 * as a new job of the same call, each command with its own header, so only
 * that item fails. 0: the call now belongs to the new job (or was answered
 * by a refusal); negative errno: nothing happened. */
static int query_retry_per_module(ToolCall *tc, QueryJob *qj) {
        _cleanup_strv_free_ char **imports = NULL;

        if (strv_extend(&imports, "Lean") < 0)
                return -ENOMEM;
        qj->per_module = true;
        return tool_call_submit(tc, TAKE_PTR(imports), JOB_READ_ONLY);
}

int tool_module_query_done(ToolCall *tc, LhJob *job, json_object *result, const LhError *err, const LhFacts *facts) {
        QueryJob *qj = tool_call_state(tc);
        json_object *batch, *items;
        int r;

        if (!err || !qj->batch || streq(strempty(err->code), "cancelled"))
                return 0;
        if (!qj->per_module && streq(strempty(err->code), "import_failed")) {
                r = query_retry_per_module(tc, qj);
                if (r >= 0)
                        return 1;
                tool_call_reply_errorf(tc, "internal_error", true, "cannot queue the per-module retry: %s",
                                       strerror(-r));
                return 1;
        }
        /* the job failed as a whole (import header, worker): every item still
         * open gets that error, the others keep theirs */
        batch = json_object_new_object();
        items = json_object_new_array();
        if (!batch || !items || json_add(batch, "items", items) < 0) {
                json_object_put(batch);
                return 0;
        }
        for (size_t i = 0; i < qj->n_queries; i++) {
                ModuleQuery *q = &qj->queries[i];
                json_object *item = json_object_new_object();

                if (!q->result && !q->error)
                        q->error = lh_error_to_json(err);
                if (item && json_object_array_add(items, item) >= 0) {
                        json_add(item, "module", json_object_new_string(strempty(q->module)));
                        json_add(item, q->result ? "result" : "error", json_object_get(q->result ?: q->error));
                } else
                        json_object_put(item);
        }
        tool_call_reply(tc, batch, NULL, facts);
        return 1;
}

/* Parse, key, look up; submit a job for what the cache does not answer. */
int tool_module_query_call(ToolCall *tc, bool batch) {
        QueryJob *qj = tool_call_state(tc);
        _cleanup_strv_free_ char **imports = NULL;
        json_object *args = tc->view.arguments, *items = NULL;
        size_t pending = 0, n;
        int r;

        /* the batch's items: 1 to 32 objects, by its table */
        if (batch)
                items = tool_call_arg(tc, "items");
        n = batch ? json_object_array_length(items) : 1;
        qj->batch = batch;
        qj->queries = new0(ModuleQuery, n);
        if (!qj->queries)
                return -ENOMEM;
        qj->n_queries = n;

        /* arguments first: an invalid single query is answered before any readiness work */
        for (size_t i = 0; i < n; i++) {
                const char *why = NULL;

                r = module_query_parse(batch ? json_object_array_get_idx(items, i) : args, &qj->queries[i], &why);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        if (!batch) {
                                tool_call_reply_errorf(tc, "invalid_arguments", false, "%s", why);
                                return 0;
                        }
                        qj->queries[i].error = error_object("invalid_arguments", why);
                        if (!qj->queries[i].error)
                                return -ENOMEM;
                }
        }

        r = tool_call_check_readiness(tc);
        if (r != 0)
                return r < 0 ? r : 0;

        if (strv_extend(&imports, "Lean") < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                ModuleQuery *q = &qj->queries[i];

                if (q->error)
                        continue;
                r = module_query_key(q, tc->project, &tc->readiness.stamp);
                if (r < 0)
                        return r;
                q->result = module_query_cached(tc->ctx->cache, q->cache_key);
                if (q->result)
                        continue;
                pending++;
                if (!strv_contains(imports, q->module) && strv_extend(&imports, q->module) < 0)
                        return -ENOMEM;
        }

        if (pending == 0) {
                /* everything answered here: no worker needed */
                _cleanup_(query_json_putp) json_object *result = NULL;

                if (batch) {
                        json_object *items_out = json_object_new_array();

                        result = json_object_new_object();
                        if (!result || json_add(result, "items", items_out) < 0)
                                return -ENOMEM;
                        for (size_t i = 0; i < n; i++) {
                                ModuleQuery *q = &qj->queries[i];
                                json_object *item = json_object_new_object();

                                if (!item || json_object_array_add(items_out, item) < 0 ||
                                    json_add(item, "module", json_object_new_string(strempty(q->module))) < 0 ||
                                    json_add(item, q->result ? "result" : "error",
                                             json_object_get(q->result ?: q->error)) < 0) {
                                        json_object_put(item);
                                        return -ENOMEM;
                                }
                        }
                } else
                        result = json_object_get(qj->queries[0].result);

                strv_free(tc->imports);
                tc->imports = TAKE_PTR(imports); /* the freshness names them */
                tool_call_reply(tc, TAKE_PTR(result), NULL, NULL);
                return 0;
        }

        return tool_call_submit(tc, TAKE_PTR(imports), JOB_READ_ONLY);
}
