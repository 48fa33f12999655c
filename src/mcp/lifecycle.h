/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The MCP lifecycle (lifecycle.c): initialize and version negotiation,
 * notifications/initialized, ping, logging/setLevel. */

#include "mcp/router.h"

int lifecycle_init(McpServer *s);
void lifecycle_done(McpServer *s);

void method_initialize(Connection *c, Batch *b, json_object *id, json_object *params);
void method_ping(Connection *c, Batch *b, json_object *id, json_object *params);
void method_logging_set_level(Connection *c, Batch *b, json_object *id, json_object *params);
void notification_initialized(Connection *c, json_object *params);
