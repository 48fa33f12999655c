/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Dispatch (dispatch.c): the tool table, tools/list, tools/call. */

#include "mcp/router.h"

/* The tool table (McpServerOptions.tools) with the schemas generated from
 * the argument tables, and the serialized tools/list answer, built once. */
int dispatch_init(McpServer *s, const McpToolDef *const *defs, size_t n);
void dispatch_done(McpServer *s);

void method_tools_list(Connection *c, Batch *b, json_object *id, json_object *params);
void method_tools_call(Connection *c, Batch *b, json_object *id, json_object *params);
