/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The tool result envelope, the error replies before a call has a job, and
 * the project path of a call (call-base.c runs the jobs). */

#include <assert.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/path-util.h"
#include "basic/strv.h"
#include "tools/envelope.h"

static json_object *project_to_json(const LhProjectView *v) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (json_add(o, "root", json_object_new_string(v->root)) < 0 ||
            json_add(o, "id", json_object_new_string(v->id)) < 0)
                return json_object_put(o), NULL;
        return o;
}

/* Common tail of both envelopes: runtime facts, freshness, project (its
 * view and facts read here unless the caller has them at hand). */
static int envelope_add_context(json_object *o, LhProject *project, const LhProjectView *view, const LhFacts *facts,
                                json_object *freshness) {
        LhProjectView v;
        LhFacts snapshot;

        if (!facts && project) {
                project_get_facts(project, &snapshot);
                facts = &snapshot;
        }
        if (!view && project) {
                project_get_view(project, &v);
                view = &v;
        }
        if (facts && json_add(o, "runtime", facts_to_json(facts)) < 0)
                goto fail;
        if (freshness && json_add(o, "freshness", TAKE_PTR(freshness)) < 0)
                goto fail;
        if (view && json_add(o, "project", project_to_json(view)) < 0)
                return -ENOMEM;
        return 0;
fail:
        json_object_put(freshness);
        return -ENOMEM;
}

/* {key: value} and the context; takes value and freshness. */
static json_object *envelope_new(LhProject *project, const LhProjectView *view, const char *key, json_object *value,
                                 const LhFacts *facts, json_object *freshness) {
        json_object *o = json_object_new_object();

        if (!o || json_add(o, key, value) < 0) {
                if (!o)
                        json_object_put(value);
                json_object_put(freshness);
                json_object_put(o);
                return NULL;
        }
        if (envelope_add_context(o, project, view, facts, freshness) < 0)
                return json_object_put(o), NULL;
        return o;
}

json_object *tool_envelope_result(LhProject *project, json_object *result, const LhFacts *facts,
                                  json_object *freshness) {
        return envelope_new(project, NULL, "result", result ?: json_object_new_object(), facts, freshness);
}

json_object *tool_envelope_error(LhProject *project, const LhError *err, const LhFacts *facts,
                                 json_object *freshness) {
        return envelope_new(project, NULL, "error", lh_error_to_json(err), facts, freshness);
}

json_object *tool_envelope_of(LhProject *project, const LhProjectView *view, json_object *result, const LhError *err,
                              const LhFacts *facts, json_object *freshness) {
        if (err) {
                json_object_put(result);
                return envelope_new(project, view, "error", lh_error_to_json(err), facts, freshness);
        }
        return envelope_new(project, view, "result", result ?: json_object_new_object(), facts, freshness);
}

/* Last resort when building the envelope itself failed: still one answer. */
json_object *tool_envelope_oom(void) {
        return json_tokener_parse("{\"error\":{\"code\":\"internal_error\",\"retryable\":true,"
                                  "\"message\":\"out of memory building the tool result\"}}");
}

int tool_envelope_add_budget(json_object *body, const LeanMessageBudget *budget) {
        if (!budget->truncated)
                return 0;
        if (json_add(body, "truncated", json_object_new_boolean(true)) < 0 ||
            json_add(body, "messages_total", json_object_new_uint64(budget->messages_total)) < 0 ||
            json_add(body, "messages_returned", json_object_new_uint64(budget->messages_returned)) < 0)
                return -ENOMEM;
        return 0;
}

void tool_answer(McpCall *call, void *holder, json_object *body, bool is_error) {
        char *text;

        if (!body) {
                body = tool_envelope_oom();
                is_error = true;
        }
        /* the summary is ours: made here, not asked for by the call layer */
        text = tool_result_summary(body, is_error, NULL);
        if (holder)
                mcp_call_reply_release(call, holder, body, is_error, text);
        else
                mcp_call_reply_text(call, body, is_error, text);
}

void tool_reply_error(McpCall *call, LhProject *project, const LhError *err, const LhFacts *facts) {
        tool_answer(call, NULL, tool_envelope_error(project, err, facts, NULL), true);
}

void tool_reply_errorf(McpCall *call, LhProject *project, const char *code, bool retryable,
                       const char *format, ...) {
        LhError err;
        va_list ap;

        va_start(ap, format);
        lh_error_setv(&err, code, retryable, format, ap);
        va_end(ap);
        tool_reply_error(call, project, &err, NULL);
        lh_error_done(&err);
}

const char *tool_arg_string(McpCall *call, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(mcp_call_get_arguments(call), key, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

int tool_project_path(const char *path, char **ret, char **ret_error) {
        const char *home;

        assert(ret);
        assert(ret_error);

        *ret = *ret_error = NULL;
        if (isempty(path))
                return asprintf(ret_error, "arguments.project: must be the absolute path of a Lake project root "
                                "or of a file inside it") < 0 ? -ENOMEM : -EINVAL;
        if (path[0] == '~' && (path[1] == '\0' || path[1] == '/')) {
                /* the daemon runs as the calling user: ~ is theirs ($HOME; the
                 * passwd look-up only where the environment lacks it) */
                home = getenv("HOME");
                if (isempty(home) || !path_is_absolute(home)) {
                        struct passwd *pw = getpwuid(getuid());

                        home = pw ? pw->pw_dir : NULL;
                }
                if (isempty(home))
                        return asprintf(ret_error, "arguments.project: %s: the home directory is unknown; "
                                        "give an absolute path", path) < 0 ? -ENOMEM : -EINVAL;
                *ret = strdup_printf("%s%s", home, path + 1);
                return *ret ? 0 : -ENOMEM;
        }
        if (path[0] == '~')
                return asprintf(ret_error, "arguments.project: %s: only ~ and ~/ (your home) are expanded; "
                                "give an absolute path", path) < 0 ? -ENOMEM : -EINVAL;
        if (!path_is_absolute(path))
                /* the daemon's cwd means nothing to the caller */
                return asprintf(ret_error, "arguments.project: %s is a relative path; give an absolute path "
                                "(or one starting with ~/)", path) < 0 ? -ENOMEM : -EINVAL;
        *ret = strdup(path);
        return *ret ? 0 : -ENOMEM;
}

int tool_resolve_project(McpCall *call, const char *project, LhRegistry *registry, LhProject **ret) {
        _cleanup_free_ char *path = NULL, *why = NULL;
        LhError err = { .restart_cause = _RESTART_CAUSE_INVALID };
        int r;

        r = tool_project_path(project, &path, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                tool_reply_errorf(call, NULL, "invalid_arguments", false, "%s", why);
                return 1;
        }
        r = registry_resolve(registry, path, ret, &err);
        if (r < 0) {
                if (!err.code)
                        lh_error_set(&err, r == -ENOMEM ? "internal_error" : "project_not_found", r == -ENOMEM,
                                     "cannot open project %s: %s", path, strerror(-r));
                tool_reply_error(call, NULL, &err, NULL);
                lh_error_done(&err);
                return 1;
        }
        return 0;
}
