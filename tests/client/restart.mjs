// SPDX-License-Identifier: LGPL-2.1-or-later
// The MCP TypeScript SDK client across a daemon restart: one session,
// lean_run before, wait for a line on stdin (the test restarts lean-hostd),
// lean_run after. Prints {"phase": "before"|"after", "isError": b} lines.
//
//   node restart.mjs LEAN_HOST_MCP BRIDGE_ARGS_JSON LEAN_RUN_ARGUMENTS_JSON

import { createInterface } from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { bridgeTransport, callLeanRun } from "./common.mjs";

const [bridge, argsJson, toolArgsJson] = process.argv.slice(2);
const transport = bridgeTransport(bridge, argsJson);
const client = new Client({ name: "lean-host-sdk-restart", version: "0.0.0" });
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function run(phase) {
  const result = await callLeanRun(client, toolArgsJson);
  console.log(JSON.stringify({ phase, isError: result.isError === true }));
}

try {
  await client.connect(transport);
  await run("before");
  await lines.next();
  await run("after");
  await client.close();
  process.exit(0);
} catch (e) {
  console.error("restart.mjs:", e);
  process.exit(1);
}
