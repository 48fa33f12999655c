/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the tool handlers (src/tools/ only). Every handler has the
 * McpToolHandler signature; userdata is the ToolsContext. */

#include "config/config.h"
#include "lean/cache.h"
#include "mcp/mcp.h"
#include "project/project.h"
#include "tools/envelope.h"
#include "tools/tools.h"

struct ToolsContext {
        LhRegistry *registry;
        const LhConfig *config;
        LeanCache *cache; /* lean_module_query results */
};

/* tool-run.c */
int tool_run_handle(McpCall *call, void *userdata);                    /* lean_run */
/* tool-status.c */
int tool_status_handle(McpCall *call, void *userdata);                 /* lean_project_status */
/* tool-module.c */
int tool_module_query_handle(McpCall *call, void *userdata);           /* lean_module_query */
int tool_module_query_batch_handle(McpCall *call, void *userdata);     /* lean_module_query_batch */
/* tool-declaration.c */
int tool_declaration_inspect_handle(McpCall *call, void *userdata);    /* lean_declaration_inspect */
int tool_declaration_search_handle(McpCall *call, void *userdata);     /* lean_declaration_search */
/* tool-proof.c */
int tool_proof_attempt_handle(McpCall *call, void *userdata);          /* lean_proof_attempt */
int tool_proof_search_handle(McpCall *call, void *userdata);           /* lean_proof_search */
/* tool-verify.c */
int tool_declaration_verify_handle(McpCall *call, void *userdata);     /* lean_declaration_verify */
int tool_declaration_verify_batch_handle(McpCall *call, void *userdata); /* lean_declaration_verify_batch */
