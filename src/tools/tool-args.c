/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Argument rows shared by more than one tool (tool-args.h). */

#include "tools/tool-args.h"

/* selectors.kinds: the kinds the module query prints */
static const char *const tool_decl_kinds[] = {
        "def", "theorem", "axiom", "inductive", "structure", "class", "instance", "abbrev", "opaque",
        "ctor", "recursor", "other", NULL,
};

const McpToolArg tool_args_selectors[] = {
        { .name = "kinds", .type = MCP_ARG_STRINGS, .enum_values = tool_decl_kinds,
          .description = "Only declarations of these kinds." },
        { .name = "prefix", .type = MCP_ARG_STRING, .description = "Only names starting with this prefix." },
        { .name = "name_pattern", .type = MCP_ARG_STRING, .description = "Only names containing this substring." },
        { .name = "include_type", .type = MCP_ARG_BOOLEAN, .description = "Include each declaration's type." },
        { .name = "include_doc", .type = MCP_ARG_BOOLEAN, .description = "Include docstrings." },
        TOOL_ARG_END,
};

const McpToolArg tool_args_budgets[] = {
        { .name = "max_items", .type = MCP_ARG_INTEGER, .limits = MCP_ARG_HAS_MIN | MCP_ARG_HAS_MAX,
          .min = 1, .max = MODULE_QUERY_MAX_ITEMS },
        { .name = "max_chars", .type = MCP_ARG_INTEGER, .limits = MCP_ARG_HAS_MIN | MCP_ARG_HAS_MAX,
          .min = 1, .max = MODULE_QUERY_MAX_CHARS },
        TOOL_ARG_END,
};

const McpToolArg tool_args_module_query_item[] = {
        TOOL_ARGS_MODULE_QUERY_ITEM,
        TOOL_ARG_END,
};
