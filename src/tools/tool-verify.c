/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean_declaration_verify {project, name, code?, imports?, allowed_axioms?}
 * and lean_declaration_verify_batch {project, items: [same, without
 * project]}: a declaration compiles, has no sorry, and depends only on
 * allowed axioms (default propext, Classical.choice, Quot.sound).
 *
 * Per item, in one job on the import env: the code (if any; its import
 * header, blanked out, gives the imports: message positions match the
 * caller's code), then `#print axioms <name>` on the code's env, whose info
 * message is parsed (lean/proof-text.h). Item result:
 *   {"name", "ok", "found", "compiled", "has_sorry", "axioms",
 *    "disallowed_axioms", "allowed_axioms", "messages", "error"?}
 * ok = compiled && found && !has_sorry && no disallowed axiom. sorryAx in the
 * axioms means has_sorry. A REPL-level refusal of an item's command is that
 * item's "error" ({code: lean_repl_error}); the batch goes on.
 *
 * The batch runs as one job with one import set: the first valid item's.
 * An item asking for other imports is answered with its own error
 * imports_mismatch (call again for it) instead of forcing an import switch
 * in the middle of the job. Invalid items (bad name, bad axiom name, bad
 * header) get their own invalid_arguments error; the single tool answers
 * those as a tool error instead.
 *
 * Trust: the code runs in the same environment as `#print axioms`, so code
 * that redefines the `#print` command syntax could fake the answer. This
 * checks honest mistakes, it is not a kernel-level audit. */

#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "lean/header.h"
#include "lean/lean-reply.h"
#include "lean/proof-text.h"
#include "tools/tool-proof-common.h"
#include "tools/tool-verify.h"

static void verify_item_reset(VerifyItem *it) {
        it->compiled = true;
        it->found = it->has_sorry = it->repl_failed = false;
        it->env = -1;
        json_object_put(it->messages);
        it->messages = NULL;
        it->axioms = strv_free(it->axioms);
}

void tool_verify_state_free(void *state) {
        VerifyJob *vj = state;

        for (size_t i = 0; i < vj->n_items; i++) {
                VerifyItem *it = &vj->items[i];

                verify_item_reset(it);
                free(it->name);
                free(it->body);
                strv_free(it->imports);
                strv_free(it->allowed);
                free(it->error_message);
        }
        free(vj->items);
}

static bool item_runs(const VerifyItem *it) {
        return !it->error_code;
}

static int item_fail(VerifyItem *it, const char *code, const char *format, ...) _printf_(3, 4);
static int item_fail(VerifyItem *it, const char *code, const char *format, ...) {
        va_list ap;
        char *s;

        va_start(ap, format);
        if (vasprintf(&s, format, ap) < 0)
                s = NULL;
        va_end(ap);
        if (!s)
                return -ENOMEM;
        free(it->error_message);
        it->error_message = s;
        it->error_code = code;
        return 0;
}

/* Fill one item from its arguments; argument problems become the item's
 * invalid_arguments error (returns 0), only OOM is an error. */
static int verify_item_parse(VerifyItem *it, json_object *obj, const char *where) {
        _cleanup_(lean_header_done) LeanHeader header = {};
        _cleanup_free_ char *header_error = NULL;
        _cleanup_strv_free_ char **imports = NULL;
        json_object *v;
        const char *name = NULL, *code = NULL;
        int r;

        verify_item_reset(it);
        if (json_object_object_get_ex(obj, "name", &v) && json_object_is_type(v, json_type_string))
                name = json_object_get_string(v);
        if (name) {
                it->name = strdup(name);
                if (!it->name)
                        return -ENOMEM;
        }
        if (!name)
                return item_fail(it, "invalid_arguments", "%s\"name\" is required: the declaration to verify", where);
        if (!lean_declaration_name_is_valid(name))
                return item_fail(it, "invalid_arguments",
                                 "%s\"name\" is not a Lean declaration name (identifier components separated by "
                                 "dots; no whitespace, comments or control characters)", where);

        if (json_object_object_get_ex(obj, "code", &v) && json_object_is_type(v, json_type_string))
                code = json_object_get_string(v);
        if (code) {
                r = lean_header_split(code, &header, &header_error);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return item_fail(it, "invalid_arguments", "%sinvalid import header: %s", where,
                                         strna(header_error));
                it->body = strdup(header.body);
                if (!it->body)
                        return -ENOMEM;
        }

        if (json_object_object_get_ex(obj, "imports", &v) && json_object_is_type(v, json_type_array)) {
                size_t n = json_object_array_length(v);

                imports = new0(char *, 1);
                if (!imports)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        json_object *e = json_object_array_get_idx(v, i);
                        const char *m = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;

                        if (!m || !lean_module_name_is_valid(m))
                                return item_fail(it, "invalid_arguments", "%s\"imports\"[%zu] is not a module name",
                                                 where, i);
                        if (!strv_contains(imports, m) && strv_extend(&imports, m) < 0)
                                return -ENOMEM;
                }
        }
        if (code && !strv_isempty(header.imports)) {
                if (imports && !strv_equal(imports, header.imports))
                        return item_fail(it, "invalid_arguments",
                                         "%s\"imports\" and the import header of \"code\" differ: give one", where);
                it->imports = TAKE_PTR(header.imports);
                header.imports = new0(char *, 1); /* lean_header_done() expects a strv */
        } else
                it->imports = TAKE_PTR(imports);
        if (!it->imports) {
                it->imports = new0(char *, 1);
                if (!it->imports)
                        return -ENOMEM;
        }

        if (json_object_object_get_ex(obj, "allowed_axioms", &v) && json_object_is_type(v, json_type_array)) {
                size_t n = json_object_array_length(v);

                it->allowed = new0(char *, 1);
                if (!it->allowed)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        json_object *e = json_object_array_get_idx(v, i);
                        const char *a = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;

                        if (!a || !lean_declaration_name_is_valid(a))
                                return item_fail(it, "invalid_arguments",
                                                 "%s\"allowed_axioms\"[%zu] is not a declaration name", where, i);
                        if (strv_extend(&it->allowed, a) < 0)
                                return -ENOMEM;
                }
        } else {
                it->allowed = strv_copy((char **) lean_default_allowed_axioms);
                if (!it->allowed)
                        return -ENOMEM;
        }
        return 0;
}

static int messages_append(VerifyItem *it, const LeanReply *lr, bool skip_axioms_info) {
        if (!it->messages) {
                it->messages = json_object_new_array();
                if (!it->messages)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < lr->n_messages; i++) {
                json_object *m;

                if (skip_axioms_info && lr->messages[i].severity == LEAN_SEVERITY_INFO) {
                        _cleanup_strv_free_ char **dummy = NULL;
                        int r = lean_parse_axioms_message(lr->messages[i].data, &dummy);

                        if (r < 0)
                                return r;
                        if (r > 0)
                                continue;
                }
                m = lean_message_to_json(&lr->messages[i]);
                if (!m || json_object_array_add(it->messages, m) < 0) {
                        json_object_put(m);
                        return -ENOMEM;
                }
        }
        return 0;
}

/* The next command: the current item's code or its #print axioms, skipping
 * items that do not run. Returns 0 with *ret_command, 1 when all are done. */
static int verify_next(ToolCall *tc, LhJob *job, VerifyJob *vj, json_object **ret_command) {
        int base = tc->base_env;

        for (; vj->current < vj->n_items; vj->current++, vj->phase = VERIFY_PHASE_CODE) {
                VerifyItem *it = &vj->items[vj->current];
                _cleanup_free_ char *print = NULL;
                const char *text;
                json_object *cmd;
                int env = base;

                if (!item_runs(it) || it->repl_failed)
                        continue;
                if (vj->batch && vj->phase == VERIFY_PHASE_CODE)
                        tool_call_progress(tc, "item %zu of %zu: %s", vj->current + 1, vj->n_items,
                                           strna(it->name));
                if (vj->phase == VERIFY_PHASE_CODE && !it->body)
                        vj->phase = VERIFY_PHASE_AXIOMS;
                if (vj->phase == VERIFY_PHASE_CODE)
                        text = it->body;
                else {
                        print = lean_print_axioms_command(it->name);
                        if (!print)
                                return -ENOMEM;
                        text = print;
                        if (it->env >= 0)
                                env = it->env;
                }
                cmd = json_object_new_object();
                if (!cmd)
                        return -ENOMEM;
                if (json_add(cmd, "cmd", json_object_new_string(text)) < 0 ||
                    (env >= 0 && json_add(cmd, "env", json_object_new_int(env)) < 0)) {
                        json_object_put(cmd);
                        return -ENOMEM;
                }
                *ret_command = cmd;
                return 0;
        }
        return 1;
}

static json_object *verify_item_to_json(const VerifyItem *it) {
        _cleanup_strv_free_ char **disallowed = NULL;
        json_object *o = json_object_new_object();
        bool ok;

        if (!o)
                return NULL;
        if (json_add_string_or_null(o, "name", it->name) < 0)
                goto oom;
        if (it->error_code) {
                json_object *e = json_object_new_object();

                if (!e || json_object_object_add(o, "error", e) < 0) {
                        json_object_put(e);
                        goto oom;
                }
                if (json_add(e, "code", json_object_new_string(it->error_code)) < 0 ||
                    json_add(e, "retryable", json_object_new_boolean(false)) < 0 ||
                    json_add(e, "message", json_object_new_string(strempty(it->error_message))) < 0 ||
                    json_add(o, "ok", json_object_new_boolean(false)) < 0)
                        goto oom;
                return o;
        }

        STRV_FOREACH(a, it->axioms)
                if (!strv_contains(it->allowed, *a) && strv_extend(&disallowed, *a) < 0)
                        goto oom;
        ok = it->compiled && it->found && !it->has_sorry && strv_isempty(disallowed) && !it->repl_failed;
        if (json_add(o, "ok", json_object_new_boolean(ok)) < 0 ||
            json_add(o, "found", json_object_new_boolean(it->found)) < 0 ||
            json_add(o, "compiled", json_object_new_boolean(it->compiled)) < 0 ||
            json_add(o, "has_sorry", json_object_new_boolean(it->has_sorry)) < 0 ||
            json_add(o, "axioms", tool_json_strv(it->axioms)) < 0 ||
            json_add(o, "disallowed_axioms", tool_json_strv(disallowed)) < 0 ||
            json_add(o, "allowed_axioms", tool_json_strv(it->allowed)) < 0 ||
            json_add(o, "messages", it->messages ? json_object_get(it->messages) : json_object_new_array()) < 0)
                goto oom;
        return o;
oom:
        json_object_put(o);
        return NULL;
}

int tool_verify_start(ToolCall *tc, LhJob *job, json_object **ret_command) {
        VerifyJob *vj = tool_call_state(tc);

        /* a retry on a fresh worker starts over */
        for (size_t i = 0; i < vj->n_items; i++)
                verify_item_reset(&vj->items[i]);
        vj->current = 0;
        vj->phase = VERIFY_PHASE_CODE;
        return verify_next(tc, job, vj, ret_command) == 0 ? 0 : -EINVAL; /* the handler made sure one runs */
}

static int verify_finish(ToolCall *tc, VerifyJob *vj) {
        json_object *result, *items = NULL;
        size_t n_ok = 0;

        if (!vj->batch) {
                result = verify_item_to_json(&vj->items[0]);
                if (!result)
                        return -ENOMEM;
                tool_call_set_result(tc, result);
                return 1;
        }
        result = json_object_new_object();
        items = json_object_new_array();
        if (!result || !items)
                goto oom;
        for (size_t i = 0; i < vj->n_items; i++) {
                json_object *o = verify_item_to_json(&vj->items[i]), *ok;

                if (!o || json_object_array_add(items, o) < 0) {
                        json_object_put(o);
                        goto oom;
                }
                if (json_object_object_get_ex(o, "ok", &ok) && json_object_get_boolean(ok))
                        n_ok++;
        }
        if (json_object_object_add(result, "items", items) < 0) {
                items = NULL;
                goto oom;
        }
        if (json_add(result, "n_ok", json_object_new_int64((int64_t) n_ok)) < 0 ||
            json_add(result, "all_ok", json_object_new_boolean(n_ok == vj->n_items)) < 0) {
                items = NULL;
                goto oom;
        }
        tool_call_set_result(tc, result);
        return 1;
oom:
        json_object_put(items);
        json_object_put(result);
        return -ENOMEM;
}

int tool_verify_step(ToolCall *tc, LhJob *job, json_object *reply, json_object **ret_command) {
        _cleanup_free_ char *shape_error = NULL;
        _cleanup_(lean_reply_done) LeanReply lr = LEAN_REPLY_INIT;
        VerifyJob *vj = tool_call_state(tc);
        VerifyItem *it = &vj->items[vj->current];
        int r;

        r = lean_reply_parse(reply, &lr, &shape_error);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                /* a broken reply means the worker is off the rails: the whole job fails */
                LhError err;

                lh_error_set(&err, "lean_repl_error", false, "the Lean REPL sent a reply of unexpected shape: %s",
                             strna(shape_error));
                job_set_error(job, &err);
                lh_error_done(&err);
                return -EPROTO;
        }
        if (lr.env >= 0)
                tc->env = lr.env;

        if (lr.repl_error) {
                it->repl_failed = true;
                r = item_fail(it, "lean_repl_error", "the Lean REPL refused the %s command: %s",
                              vj->phase == VERIFY_PHASE_CODE ? "code" : "#print axioms", lr.repl_error);
                if (r < 0)
                        return r;
        } else if (vj->phase == VERIFY_PHASE_CODE) {
                r = messages_append(it, &lr, false);
                if (r < 0)
                        return r;
                it->compiled = !lean_reply_has_errors(&lr);
                it->has_sorry = lean_reply_has_sorry(&lr);
                it->env = lr.env;
                vj->phase = VERIFY_PHASE_AXIOMS;
                goto next;
        } else {
                r = messages_append(it, &lr, true);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < lr.n_messages && !it->found; i++) {
                        if (lr.messages[i].severity != LEAN_SEVERITY_INFO)
                                continue;
                        r = lean_parse_axioms_message(lr.messages[i].data, &it->axioms);
                        if (r < 0)
                                return r;
                        it->found = r > 0;
                }
                if (strv_contains(it->axioms, "sorryAx"))
                        it->has_sorry = true;
                if (!it->found && !it->body)
                        it->compiled = false; /* nothing of ours to compile: the name does not resolve */
        }
        vj->current++;
        vj->phase = VERIFY_PHASE_CODE;
next:
        r = verify_next(tc, job, vj, ret_command);
        if (r < 0)
                return r;
        if (r == 0)
                return 0;
        return verify_finish(tc, vj);
}

/* Answer the call right away (no item needs the worker). */
static int verify_reply_now(ToolCall *tc, VerifyJob *vj) {
        json_object *result, *items = json_object_new_array();

        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < vj->n_items; i++) {
                json_object *o = verify_item_to_json(&vj->items[i]);

                if (!o || json_object_array_add(items, o) < 0) {
                        json_object_put(o);
                        json_object_put(items);
                        return -ENOMEM;
                }
        }
        result = json_object_new_object();
        if (!result || json_object_object_add(result, "items", items) < 0) {
                json_object_put(result);
                json_object_put(items);
                return -ENOMEM;
        }
        if (json_add(result, "n_ok", json_object_new_int(0)) < 0 ||
            json_add(result, "all_ok", json_object_new_boolean(false)) < 0) {
                json_object_put(result);
                return -ENOMEM;
        }
        tool_call_reply(tc, result, NULL, NULL);
        return 0;
}

int tool_verify_call(ToolCall *tc, bool batch) {
        _cleanup_strv_free_ char **imports = NULL;
        VerifyJob *vj = tool_call_state(tc);
        json_object *items = NULL;
        bool any = false;
        int r;

        /* the batch's items: 1 to 32 objects, by its table */
        if (batch)
                items = tool_call_arg(tc, "items");
        vj->batch = batch;
        vj->n_items = batch ? json_object_array_length(items) : 1;
        vj->items = new0(VerifyItem, vj->n_items);
        if (!vj->items)
                return -ENOMEM;

        for (size_t i = 0; i < vj->n_items; i++) {
                VerifyItem *it = &vj->items[i];
                char where[64] = "";

                if (batch)
                        snprintf(where, sizeof where, "items[%zu]: ", i);
                r = verify_item_parse(it, batch ? json_object_array_get_idx(items, i) : tc->view.arguments,
                                      where);
                if (r < 0)
                        return r;
                if (!item_runs(it))
                        continue;
                if (!any) {
                        imports = strv_copy(it->imports);
                        if (!imports)
                                return -ENOMEM;
                        any = true;
                } else if (!strv_equal(imports, it->imports)) {
                        _cleanup_free_ char *want = strv_join(imports, ", ");

                        r = item_fail(it, "imports_mismatch",
                                      "%sthis item's imports differ from the batch's (%s): verify it in another call",
                                      where, strna(want));
                        if (r < 0)
                                return r;
                }
        }

        if (!batch && !item_runs(&vj->items[0])) {
                tool_call_reply_errorf(tc, vj->items[0].error_code, false, "%s", vj->items[0].error_message);
                return 0;
        }
        if (!any)
                return verify_reply_now(tc, vj);

        r = tool_call_check_readiness(tc);
        if (r != 0)
                return r < 0 ? r : 0;
        /* read-only: every item starts from the import env */
        return tool_call_submit(tc, TAKE_PTR(imports), JOB_READ_ONLY);
}
