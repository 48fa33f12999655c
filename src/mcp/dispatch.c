/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Dispatch: the tool table (definitions, parsed input schemas, registered
 * handlers), tools/list (serialized once at start, the bytes reused for every
 * answer), tools/call (tool lookup, NUL and schema checks of the arguments,
 * then an McpCall for the handler, or the tool error for a stopping server,
 * a tool without a handler, a handler that failed). Must not know the
 * framing, the lifecycle or how a call is answered or cancelled (call.c). */

#include <assert.h>
#include <json-c/printbuf.h>
#include <stdio.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "mcp/call.h"
#include "mcp/dispatch.h"
#include "mcp/jsonrpc.h"
#include "mcp/schema.h"
#include "mcp/server-internal.h"
#include "mcp/tool-schemas.h"
#include "mcp/utf8.h"

static inline void json_putp(json_object **o) {
        json_object_put(*o);
}

#define TOOLS_CALL_PARAMS_SCHEMA                                                                \
        "{\"type\": \"object\", \"required\": [\"name\"], \"properties\": {"                    \
        "\"name\": {\"type\": \"string\"}, \"arguments\": {\"type\": \"object\"}, "             \
        "\"_meta\": {\"type\": \"object\"}}}"
#define TOOLS_LIST_PARAMS_SCHEMA                                                                \
        "{\"type\": \"object\", \"properties\": {\"cursor\": {\"type\": [\"string\", \"null\"]}}}"

static McpTool *server_find_tool(McpServer *s, const char *name) {
        if (!name)
                return NULL;
        for (size_t i = 0; i < s->n_tools; i++)
                if (streq(s->tools[i].def->name, name))
                        return s->tools + i;
        return NULL;
}

static json_object *tool_entry_new(const McpToolDef *d, json_object *schema) {
        json_object *t = json_object_new_object(), *a = json_object_new_object();

        if (!t || !a) {
                json_object_put(t);
                json_object_put(a);
                return NULL;
        }
        if (json_add(t, "name", json_object_new_string(d->name)) < 0 ||
            (d->title && json_add(t, "title", json_object_new_string(d->title)) < 0) ||
            json_add(t, "description", json_object_new_string(d->description)) < 0 ||
            json_add(t, "inputSchema", json_object_get(schema)) < 0 ||
            (d->title && json_add(a, "title", json_object_new_string(d->title)) < 0) ||
            json_add(a, "readOnlyHint", json_object_new_boolean(d->read_only)) < 0 ||
            /* only meaningful for tools that modify something */
            (!d->read_only && json_add(a, "destructiveHint", json_object_new_boolean(d->destructive)) < 0) ||
            (!d->read_only && json_add(a, "idempotentHint", json_object_new_boolean(d->idempotent)) < 0) ||
            json_add(a, "openWorldHint", json_object_new_boolean(d->open_world)) < 0 ||
            json_add(t, "annotations", TAKE_PTR(a)) < 0) {
                json_object_put(t);
                json_object_put(a);
                return NULL;
        }
        return t;
}

/* The tools/list result goes out as these bytes, serialized once: a json-c
 * object whose serializer appends them (also inside a batch's array). The
 * flags are the ones connection_send() uses. */
static int serialize_tools_list(json_object *o, struct printbuf *pb, int level, int flags) {
        json_object *bytes = json_object_get_userdata(o);

        return printbuf_memappend(pb, json_object_get_string(bytes), json_object_get_string_len(bytes)) < 0 ? -1 : 0;
}

static void drop_tools_list(json_object *o, void *userdata) {
        json_object_put(userdata);
}

int dispatch_init(McpServer *s, const McpToolDef *const *defs, size_t n) {
        _cleanup_(json_putp) json_object *result = NULL, *list = NULL;
        const char *text;
        size_t l;
        int r;

        r = schema_parse(TOOLS_CALL_PARAMS_SCHEMA, "tools/call", &s->tools_call_schema);
        if (r >= 0)
                r = schema_parse(TOOLS_LIST_PARAMS_SCHEMA, "tools/list", &s->tools_list_schema);
        if (r < 0)
                return r;

        s->tools = new0(McpTool, MAX(n, 1u));
        list = json_object_new_array();
        if (!s->tools || !list)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *entry;

                if (server_find_tool(s, defs[i]->name))
                        return log_error_errno(EINVAL, "Tool %s is listed twice.", defs[i]->name);
                r = mcp_tool_schema_new(defs[i]->args, defs[i]->name, &s->tools[i].schema);
                if (r < 0)
                        return r;
                s->tools[i].def = defs[i];
                s->n_tools++;
                entry = tool_entry_new(defs[i], s->tools[i].schema);
                if (json_append(list, entry) < 0)
                        return -ENOMEM;
        }

        result = json_object_new_object();
        if (!result || json_add(result, "tools", TAKE_PTR(list)) < 0)
                return -ENOMEM;
        text = json_object_to_json_string_length(result, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &l);
        if (!text)
                return -ENOMEM;
        s->tools_list_bytes = json_object_new_string_len(text, (int) l);
        if (!s->tools_list_bytes)
                return -ENOMEM;
        return 0;
}

void dispatch_done(McpServer *s) {
        for (size_t i = 0; i < s->n_tools; i++)
                json_object_put(s->tools[i].schema);
        s->tools = mfree(s->tools);
        s->n_tools = 0;
        json_object_put(s->tools_list_bytes);
        s->tools_list_bytes = NULL;
        json_object_put(s->tools_call_schema);
        json_object_put(s->tools_list_schema);
        s->tools_call_schema = s->tools_list_schema = NULL;
}

int mcp_server_register_tool(McpServer *s, const char *name, McpToolHandler handler, void *userdata) {
        McpTool *t = server_find_tool(s, name);

        if (!t)
                return -ENOENT;
        if (t->handler)
                return -EEXIST;
        t->handler = handler;
        t->userdata = userdata;
        return 0;
}

void method_tools_list(Connection *c, Batch *b, json_object *id, json_object *params) {
        json_object *result;

        /* one page: the cursor is accepted and ignored */
        if (!check_params(c, b, id, c->server->tools_list_schema, params))
                return;
        result = json_object_new_object();
        if (result)
                json_object_set_serializer(result, serialize_tools_list, json_object_get(c->server->tools_list_bytes),
                                           drop_tools_list);
        emit_result(c, b, id, result);
}

/* Every argument string reaches C code (paths, Lean source); then the
 * schema and the table's alias rules. -EINVAL with the message naming the
 * argument and the rule broken. */
static int dispatch_check_arguments(McpTool *tool, json_object *arguments, char **ret_error) {
        char where[256];
        int r;

        if (json_find_nul_string(arguments, "arguments", where, sizeof where))
                return asprintf(ret_error, "%s: must not contain NUL (\\u0000)", where) < 0 ? -ENOMEM : -EINVAL;
        r = schema_validate(tool->schema, arguments, "arguments", ret_error);
        if (r < 0)
                return r;
        return mcp_tool_args_check(tool->def->args, arguments, "arguments", ret_error);
}

void method_tools_call(Connection *c, Batch *b, json_object *id, json_object *params) {
        McpServer *s = c->server;
        _cleanup_free_ char *err = NULL;
        json_object *v, *arguments = NULL;
        const char *name;
        McpTool *tool;
        McpCall *call;
        int r;

        if (!check_params(c, b, id, s->tools_call_schema, params))
                return;

        (void) json_object_object_get_ex(params, "name", &v);
        if (!json_string_is_clean(v)) {
                emit_error(c, b, id, JSONRPC_INVALID_PARAMS, "params.name: must not contain NUL (\\u0000)");
                return;
        }
        name = json_object_get_string(v);
        tool = server_find_tool(s, name);
        if (!tool) {
                emit_errorf(c, b, id, JSONRPC_INVALID_PARAMS, "unknown tool: %.200s", json_object_get_string(v));
                return;
        }

        if (json_object_object_get_ex(params, "arguments", &v))
                arguments = json_object_get(v);
        else
                arguments = json_object_new_object();
        if (!arguments) {
                log_oom();
                return;
        }
        call = call_new(c, b, id, tool->def->name, arguments);
        if (!call) {
                log_oom();
                emit_error(c, b, id, JSONRPC_INTERNAL_ERROR, "internal error: out of memory");
                return;
        }

        /* A bad argument is the tool's error, not the protocol's (MCP "Tool
         * Execution Errors"): the model reads it and can fix the call. */
        r = dispatch_check_arguments(tool, call->arguments, &err);
        if (r == -ENOMEM) {
                log_oom();
                call_reply_error(call, LH_ERROR_INTERNAL_ERROR, "internal error: out of memory");
                return;
        }
        if (r < 0) {
                call_reply_error(call, LH_ERROR_INVALID_ARGUMENTS, err ?: "arguments: invalid");
                return;
        }

        /* the tool side reads them by its table's rows, resolved once here */
        if (tool->def->args) {
                size_t n = 0;

                while (tool->def->args[n].name)
                        n++;
                call->args = new0(json_object *, n + 1);
                if (!call->args) {
                        log_oom();
                        call_reply_error(call, LH_ERROR_INTERNAL_ERROR, "internal error: out of memory");
                        return;
                }
                mcp_tool_args_resolve(tool->def->args, call->arguments, call->args);
        }
                /* a call without its progress still runs */
        if (call_progress_init(call, params) < 0)
                log_debug("Tool call %s goes without progress notifications.", call->tool);

        mcp_call_ref(call);
        if (s->stopping)
                call_reply_error(call, LH_ERROR_SHUTTING_DOWN, "lean-hostd is shutting down; retry once it is back");
        else if (!tool->handler) {
                _cleanup_free_ char *m = NULL;
                if (asprintf(&m, "%s is not implemented yet in this lean-hostd", tool->def->name) < 0)
                        m = NULL;
                call_reply_error(call, LH_ERROR_NOT_IMPLEMENTED, m ?: "not implemented");
        } else {
                r = tool->handler(call, tool->userdata);
                if (r < 0) {
                        if (call->replied)
                                log_debug_errno(r, "Tool %s failed after answering, ignoring: %m", call->tool);
                        else {
                                _cleanup_free_ char *m = NULL;
                                log_warning_errno(r, "Tool %s failed: %m", call->tool);
                                if (asprintf(&m, "internal error in %s: %s", call->tool, strerror(-r)) < 0)
                                        m = NULL;
                                call_reply_error(call, LH_ERROR_INTERNAL_ERROR, m ?: "internal error");
                        }
                }
        }
        mcp_call_unref(call);
}
