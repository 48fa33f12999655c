/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The tool table: every tool the server lists, with its description, input
 * schema (JSON text, parsed once by the server) and annotations. Handlers
 * are registered separately (mcp_server_register_tool); a listed tool without
 * a handler answers "not_implemented". */

#include <stdbool.h>
#include <stddef.h>

typedef struct McpToolDef {
        const char *name;
        const char *title;
        const char *description;
        const char *input_schema; /* JSON Schema text, "type": "object" */
        bool read_only;           /* annotations.readOnlyHint */
        bool destructive;         /* annotations.destructiveHint (only meaningful if !read_only) */
        bool idempotent;          /* annotations.idempotentHint */
        bool open_world;          /* annotations.openWorldHint */
} McpToolDef;

const McpToolDef *mcp_tool_defs(size_t *ret_n);
