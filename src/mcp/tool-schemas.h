/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A tool as the server lists it: name, description, annotations and its
 * argument table. The table is the one source of a tool's argument rules:
 * the input schema in tools/list is generated from it
 * (mcp_tool_schema_new()), tools/call validates against that schema and the
 * table's alias rules (mcp_tool_args_check()), and the tool reads its
 * arguments through the same rows (defaults, aliases: src/tools/call-base.h).
 * The tools themselves live in src/tools (one file each); the server gets
 * their list in McpServerOptions.tools. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum McpArgType {
        MCP_ARG_STRING,
        MCP_ARG_INTEGER,
        MCP_ARG_BOOLEAN,
        MCP_ARG_STRINGS, /* array of strings, each at least 1 character long, or one of .enum_values */
        MCP_ARG_OBJECT,  /* object with the rows in .fields, no other properties */
        MCP_ARG_OBJECTS, /* array of such objects */
} McpArgType;

/* Which of the limits of a row are set (a limit of 0 is a limit too). */
enum {
        MCP_ARG_HAS_MIN = 1 << 0, /* minimum, minLength or minItems */
        MCP_ARG_HAS_MAX = 1 << 1, /* maximum, maxLength or maxItems */
};

typedef struct McpToolArg McpToolArg;
struct McpToolArg {
        const char *name;
        McpArgType type;
        bool required;
        unsigned limits;           /* MCP_ARG_HAS_* */
        int64_t min, max;
        const char *description;   /* NULL: none in the schema */
        int64_t default_int;       /* INTEGER/BOOLEAN: the value when absent (said in description) */
        const char *alias_of;      /* deprecated spelling of that row of the same table */
        const McpToolArg *fields;  /* OBJECT/OBJECTS: the rows of the object, ends with { .name = NULL } */
        const char *const *enum_values; /* STRINGS: the only values allowed, NULL-terminated */
};

typedef struct McpToolDef {
        const char *name;
        const char *title;
        const char *description;
        const McpToolArg *args;   /* ends with { .name = NULL } */
        bool read_only;           /* annotations.readOnlyHint */
        bool destructive;         /* annotations.destructiveHint (only meaningful if !read_only) */
        bool idempotent;          /* annotations.idempotentHint */
        bool open_world;          /* annotations.openWorldHint */
} McpToolDef;

/* The input schema of a table: {"type": "object", "additionalProperties":
 * false, "required": [...], "properties": {...}}, checked (schema_check).
 * A required row that has an alias is not in "required" (either spelling
 * does): mcp_tool_args_check() enforces it. */
int mcp_tool_schema_new(const McpToolArg *args, const char *root, json_object **ret);

/* The table's rules a JSON Schema cannot say: a required row given by
 * neither spelling, a row given by both. Recurses into OBJECT/OBJECTS.
 * 0, or -EINVAL with a malloc'd message naming the argument ("arguments.goal:
 * …"), -ENOMEM. Run after schema_validate(). */
int mcp_tool_args_check(const McpToolArg *args, json_object *arguments, const char *root, char **ret_error);

/* Every row's value at once: values[i] is args[i]'s (an alias row: its
 * row's) under any spelling, or NULL; values has one slot per row. */
void mcp_tool_args_resolve(const McpToolArg *args, json_object *arguments, json_object **values);
