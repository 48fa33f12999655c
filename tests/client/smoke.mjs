// SPDX-License-Identifier: LGPL-2.1-or-later
// The official MCP TypeScript SDK as a client of lean-host, the way Claude
// Desktop/Code run it: spawn lean-host-mcp, initialize, list tools, call
// lean_run. Prints one JSON line: {"tools": N, "called": name, "isError": b}.
//
//   node smoke.mjs LEAN_HOST_MCP '["--socket", "PATH"]' LEAN_RUN_ARGUMENTS_JSON

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { bridgeTransport, listAndRun } from "./common.mjs";

const [bridge, argsJson, toolArgsJson] = process.argv.slice(2);
if (!bridge || !toolArgsJson) {
  console.error("usage: node smoke.mjs LEAN_HOST_MCP BRIDGE_ARGS_JSON LEAN_RUN_ARGUMENTS_JSON");
  process.exit(2);
}

const transport = bridgeTransport(bridge, argsJson);
const client = new Client({ name: "lean-host-sdk-smoke", version: "0.0.0" });

try {
  await client.connect(transport);
  const { tools, result } = await listAndRun(client, toolArgsJson);
  console.log(JSON.stringify({
    tools: tools.length,
    called: "lean_run",
    isError: result.isError === true,
    server: client.getServerVersion(),
  }));
  await client.close();
} catch (e) {
  console.error("smoke.mjs:", e);
  process.exit(1);
}
