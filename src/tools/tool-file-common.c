/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The file-level tools' shared parts: the path rule, the file-mode reply,
 * the members of their results. */

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "tools/call-base.h"
#include "tools/tool-file-common.h"

/* The "path" argument, absolute or relative to the root, as a path
 * relative to the root: no "..", no empty result, ending in ".lean".
 * 0 with *ret; -EINVAL with err set (path_outside_project,
 * invalid_arguments); -ENOMEM. */
static int tool_file_path(const char *root, const char *path, char **ret, LhError *err) {
        _cleanup_free_ char *out = NULL;
        const char *rel = path, *p;
        size_t root_len, n = 0, len;

        assert(root);
        assert(path);
        assert(ret);
        assert(err);

        if (path[0] == '/') {
                root_len = strlen(root);
                while (root_len > 1 && root[root_len - 1] == '/')
                        root_len--;
                if (strncmp(path, root, root_len) != 0 || (path[root_len] != '/' && root_len > 1)) {
                        lh_error_set(err, "path_outside_project", false,
                                     "arguments.path: %s is not inside the project %s (give a path relative to "
                                     "the project root, or an absolute one under it)", path, root);
                        return -EINVAL;
                }
                rel = path + root_len;
        }
        len = strlen(rel);
        out = malloc(len + 1);
        if (!out)
                return -ENOMEM;
        /* component by component: "." and empty ones go, ".." is refused
         * (the text is all the daemon looks at: the REPL reads the file) */
        for (p = rel; *p;) {
                const char *e = strchrnul(p, '/');
                size_t l = e - p;

                if (l == 2 && strneq(p, "..", 2)) {
                        lh_error_set(err, "path_outside_project", false,
                                     "arguments.path: %s leaves the project %s (\"..\" is not allowed)", path, root);
                        return -EINVAL;
                }
                if (l > 0 && !(l == 1 && *p == '.')) {
                        if (n > 0)
                                out[n++] = '/';
                        memcpy(out + n, p, l);
                        n += l;
                }
                p = *e ? e + 1 : e;
        }
        out[n] = 0;
        if (n == 0 || n < strlen(".lean") + 1 || !streq(out + n - strlen(".lean"), ".lean")) {
                lh_error_set(err, "invalid_arguments", false,
                             "arguments.path: %s is not a Lean source file of the project (a path ending in .lean)",
                             path);
                return -EINVAL;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

void tool_file_run_done(ToolFileRun *f) {
        if (!f)
                return;
        lean_reply_done(&f->reply);
        lean_tactics_free(f->tactics, f->n_tactics);
        *f = (ToolFileRun) TOOL_FILE_RUN_INIT;
}

/* Error details for a file call that ended without the REPL's answer
 * (timeout, worker death, reply too large, cancelled): {"path",
 * "complete": false}, so no failure reads as "no errors". NULL on OOM. */
static json_object *tool_file_unfinished_details(const char *path) {
        json_object *d = json_object_new_object();

        if (!d)
                return NULL;
        if (json_add(d, "path", json_object_new_string(strempty(path))) < 0 ||
            json_add(d, "complete", json_object_new_boolean(false)) < 0)
                return json_object_put(d), NULL;
        return d;
}

/* Lean's IO.Error text for ENOENT, which REPL/Main.lean processFile sends
 * as {"message": e.toString}. */
#define LEAN_IO_ENOENT "no such file or directory"

/* The reply to lean_file_command(path). 0 with *ret filled; -EPROTO with
 * err set (file_not_found when the REPL could not read the file,
 * lean_repl_error for another refusal or a reply of unexpected shape, each
 * with details {"path", "complete": false}); -ENOMEM. */
static int tool_file_run_parse(json_object *reply, const char *path, ToolFileRun *ret, LhError *err) {
        _cleanup_free_ char *shape_error = NULL;
        int r;

        assert(ret);
        assert(err);
        *ret = (ToolFileRun) TOOL_FILE_RUN_INIT;
        r = lean_reply_parse(reply, &ret->reply, &shape_error);
        if (r >= 0)
                r = lean_tactics_parse(ret->reply.tactics, &ret->tactics, &ret->n_tactics, &shape_error);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                lh_error_set(err, "lean_repl_error", false, "the Lean REPL sent a reply of unexpected shape: %s",
                             strna(shape_error));
                goto fail;
        }
        if (ret->reply.repl_error) {
                if (strncmp(ret->reply.repl_error, LEAN_IO_ENOENT, strlen(LEAN_IO_ENOENT)) == 0)
                        lh_error_set(err, "file_not_found", false, "the Lean REPL could not read %s: %s", path,
                                     ret->reply.repl_error);
                else
                        lh_error_set(err, "lean_repl_error", false, "the Lean REPL refused %s: %s", path,
                                     ret->reply.repl_error);
                goto fail;
        }
        ret->unfinished = lean_file_unfinished_reason(&ret->reply, &ret->unfinished_message);
        return 0;
fail:
        err->details = tool_file_unfinished_details(path);
        tool_file_run_done(ret);
        return -EPROTO;
}

int tool_file_run_add_summary(json_object *result, const char *path, const ToolFileRun *f) {
        assert(result);
        assert(f);

        if (json_add(result, "path", json_object_new_string(path)) < 0 ||
            json_add(result, "complete", json_object_new_boolean(!f->unfinished)) < 0 ||
            json_add_string_or_null(result, "unfinished_reason", f->unfinished) < 0 ||
            json_add(result, "has_errors", json_object_new_boolean(lean_reply_has_errors(&f->reply))) < 0 ||
            json_add(result, "has_sorry", json_object_new_boolean(lean_reply_has_sorry(&f->reply))) < 0 ||
            json_add(result, "error_count",
                     json_object_new_int64(lean_reply_count_severity(&f->reply, LEAN_SEVERITY_ERROR))) < 0 ||
            json_add(result, "warning_count",
                     json_object_new_int64(lean_reply_count_severity(&f->reply, LEAN_SEVERITY_WARNING))) < 0 ||
            json_add(result, "positions", json_object_new_string(TOOL_FILE_POSITIONS_OUT)) < 0)
                return -ENOMEM;
        return 0;
}

static bool pos_before(LeanPos a, LeanPos b) {
        return a.line < b.line || (a.line == b.line && a.column < b.column);
}

int tool_file_select(const ToolFileRun *f, unsigned line, unsigned column, size_t **ret, size_t *ret_n,
                     size_t *ret_first, int *ret_sorry) {
        _cleanup_free_ size_t *l = NULL;
        size_t n = 0, first = 0;
        int s = -1;

        assert(f);
        assert(ret && ret_n && ret_first && ret_sorry);
        if (column > 0) {
                int i = lean_tactic_at(f->tactics, f->n_tactics, line, column - 1);

                if (i >= 0) {
                        l = new(size_t, 1);
                        if (!l)
                                return -ENOMEM;
                        l[n++] = (size_t) i;
                }
                s = lean_sorry_at(&f->reply, line, column - 1);
                if (s < 0)
                        s = -1;
        } else {
                l = new(size_t, MAX(f->n_tactics, 1u));
                if (!l)
                        return -ENOMEM;
                for (size_t i = 0; i < f->n_tactics; i++) {
                        const LeanTactic *t = &f->tactics[i];

                        if (t->pos.line != line)
                                continue;
                        if (n == 0 || pos_before(t->pos, f->tactics[l[first]].pos) ||
                            (t->pos.column == f->tactics[l[first]].pos.column &&
                             pos_before(f->tactics[l[first]].end_pos, t->end_pos)))
                                first = n;
                        l[n++] = i;
                }
                for (size_t i = 0; i < f->reply.n_sorries && s < 0; i++)
                        if (f->reply.sorries[i].pos.set && f->reply.sorries[i].pos.line == line)
                                s = (int) i;
        }
        *ret_first = n > 0 ? l[first] : 0;
        *ret = TAKE_PTR(l);
        *ret_n = n;
        *ret_sorry = s;
        return 0;
}

json_object *tool_file_tactics_on_line(const ToolFileRun *f, unsigned line) {
        json_object *a = json_object_new_array();

        if (!a)
                return NULL;
        for (size_t i = 0; i < f->n_tactics; i++) {
                const LeanTactic *t = &f->tactics[i];
                json_object *o;

                if (t->pos.line > line || t->end_pos.line < line)
                        continue;
                o = json_object_new_object();
                if (!o || json_add(o, "tactic", json_object_new_string(strempty(t->tactic))) < 0 ||
                    json_add(o, "pos", lean_pos_to_json(t->pos)) < 0 ||
                    json_add(o, "end_pos", lean_pos_to_json(t->end_pos)) < 0 ||
                    json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        return json_object_put(a), NULL;
                }
        }
        return a;
}

/* ToolOps.done of these tools: an error without details (no answer from
 * the REPL) is answered with tool_file_unfinished_details() added; 1 then,
 * 0 to let the base answer. */
static int tool_file_reply_unfinished(ToolCall *tc, const char *path, const LhError *err, const LhFacts *facts) {
        json_object *details = NULL;
        LhError e;

        assert(tc);
        /* an error of the file itself (tool_file_run_parse()) says it already */
        if (!err || json_object_object_get_ex(err->details, "complete", NULL))
                return 0;
        /* the actor's details (restart cause, …) stay; ours go beside them */
        if (json_object_is_type(err->details, json_type_object) &&
            json_object_deep_copy(err->details, &details, NULL) < 0)
                return 0;
        if (!details)
                details = json_object_new_object();
        if (!details || json_add(details, "path", json_object_new_string(strempty(path))) < 0 ||
            json_add(details, "complete", json_object_new_boolean(false)) < 0) {
                json_object_put(details);
                return 0;
        }
        e = *err;
        e.details = details;
        tool_call_reply(tc, NULL, &e, facts);
        json_object_put(details);
        return 1;
}

void tool_file_args_done(ToolFileArgs *a) {
        assert(a);
        a->path = mfree(a->path);
}

void tool_file_state_free(void *state) {
        tool_file_args_done(state);
}

int tool_file_call_args(ToolCall *tc, bool with_position) {
        ToolFileArgs *a = tool_call_state(tc);
        _cleanup_(lh_error_done) LhError err = {};
        int r;

        r = tool_file_path(project_get_root(tc->project), tool_call_arg_string(tc, "path"), &a->path, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                tool_call_reply(tc, NULL, &err, NULL);
                return 0;
        }
        if (with_position) {
                a->line = (unsigned) tool_call_arg_int(tc, "line");
                a->column = tool_call_arg(tc, "column") ? (unsigned) tool_call_arg_int(tc, "column") : 0;
        }
        return 1;
}

int tool_file_call_submit(ToolCall *tc) {
        int r;

        r = tool_call_check_readiness(tc);
        if (r != 0)
                return r < 0 ? r : 0;
        return tool_call_submit(tc, NULL, JOB_READ_ONLY | JOB_OWN_IMPORTS);
}

int tool_file_call(ToolCall *tc) {
        int r;

        r = tool_file_call_args(tc, /* with_position= */ false);
        if (r <= 0)
                return r;
        return tool_file_call_submit(tc);
}

int tool_file_call_at(ToolCall *tc) {
        int r;

        r = tool_file_call_args(tc, /* with_position= */ true);
        if (r <= 0)
                return r;
        return tool_file_call_submit(tc);
}

int tool_file_start(ToolCall *tc, LhJob *job, json_object **ret_command) {
        ToolFileArgs *a = tool_call_state(tc);

        *ret_command = lean_file_command(a->path);
        return *ret_command ? 0 : -ENOMEM;
}

int tool_file_step_parse(ToolCall *tc, LhJob *job, json_object *reply, ToolFileRun *f) {
        _cleanup_(lh_error_done) LhError err = {};
        ToolFileArgs *a = tool_call_state(tc);
        int r;

        r = tool_file_run_parse(reply, a->path, f, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                job_set_error(job, &err);
                return r;
        }
        tc->env = f->reply.env;
        return 0;
}

int tool_file_done(ToolCall *tc, LhJob *job, json_object *result, const LhError *err, const LhFacts *facts) {
        ToolFileArgs *a = tool_call_state(tc);

        return tool_file_reply_unfinished(tc, a->path, err, facts);
}
