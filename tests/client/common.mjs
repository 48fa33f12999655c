// SPDX-License-Identifier: LGPL-2.1-or-later
// What the SDK client scripts share: the stdio transport that spawns
// lean-host-mcp as MCP clients do, and the lean_run call they check.

import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

// lean-host-mcp BRIDGE with the JSON array of its arguments.
export function bridgeTransport(bridge, argsJson) {
  return new StdioClientTransport({
    command: bridge,
    args: JSON.parse(argsJson || "[]"),
    env: process.env,
    stderr: "inherit",
  });
}

// tools/call lean_run with the JSON object of its arguments.
export function callLeanRun(client, toolArgsJson, options = { timeout: 60000 }) {
  return client.callTool({ name: "lean_run", arguments: JSON.parse(toolArgsJson) }, undefined, options);
}

// tools/list, then lean_run, whose result must carry content.
export async function listAndRun(client, toolArgsJson) {
  const { tools } = await client.listTools();
  const result = await callLeanRun(client, toolArgsJson);
  if (!Array.isArray(result.content)) throw new Error("tools/call result without content");
  return { tools, result };
}
