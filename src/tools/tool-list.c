/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Every tool, in tools/list order. Adding a tool: its file (tool-NAME.c with
 * a ToolDef) and one line here. */

#include "tools/call-base.h"

extern const ToolDef tool_lean_module_query, tool_lean_module_query_batch, tool_lean_declaration_inspect,
        tool_lean_declaration_search, tool_lean_proof_attempt, tool_lean_declaration_verify,
        tool_lean_declaration_verify_batch, tool_lean_proof_search, tool_lean_project_status, tool_lean_run;
extern const ToolDef tool_lean_file_diagnostics, tool_lean_goal_at, tool_lean_multi_attempt;

static const McpToolDef *const tool_list[] = {
        &tool_lean_run.mcp,
        &tool_lean_project_status.mcp,
        &tool_lean_module_query.mcp,
        &tool_lean_module_query_batch.mcp,
        &tool_lean_declaration_inspect.mcp,
        &tool_lean_declaration_search.mcp,
        &tool_lean_proof_attempt.mcp,
        &tool_lean_declaration_verify.mcp,
        &tool_lean_declaration_verify_batch.mcp,
        &tool_lean_proof_search.mcp,
        &tool_lean_file_diagnostics.mcp,
        &tool_lean_goal_at.mcp,
        &tool_lean_multi_attempt.mcp,
};

const McpToolDef *const *tools_list_defs(size_t *ret_n) {
        *ret_n = ELEMENTSOF(tool_list);
        return tool_list;
}

const ToolDef *tools_list_find(const char *name) {
        if (!name)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(tool_list); i++)
                if (streq(tool_list[i]->name, name))
                        return (const ToolDef *) tool_list[i]; /* mcp is the first member */
        return NULL;
}
