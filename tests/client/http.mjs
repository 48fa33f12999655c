// SPDX-License-Identifier: LGPL-2.1-or-later
// The official MCP TypeScript SDK over Streamable HTTP: its
// StreamableHTTPClientTransport against lean-hostd --listen-http. Initialize,
// list tools, call lean_run (the answer comes on an SSE stream), end the
// session with DELETE. Prints one JSON line:
// {"tools": N, "isError": b, "session": id, "protocol": v}.
//
//   node http.mjs URL LEAN_RUN_ARGUMENTS_JSON

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { listAndRun } from "./common.mjs";

const [url, toolArgsJson] = process.argv.slice(2);
if (!url || !toolArgsJson) {
  console.error("usage: node http.mjs URL LEAN_RUN_ARGUMENTS_JSON");
  process.exit(2);
}

const transport = new StreamableHTTPClientTransport(new URL(url));
const client = new Client({ name: "lean-host-sdk-http", version: "0.0.0" });

try {
  await client.connect(transport);
  const session = transport.sessionId;
  const { tools, result } = await listAndRun(client, toolArgsJson);
  await client.ping();
  const protocol = transport.protocolVersion;
  await transport.terminateSession();
  await client.close();
  console.log(JSON.stringify({ tools: tools.length, isError: result.isError === true, session, protocol }));
} catch (e) {
  console.error("http.mjs:", e);
  process.exit(1);
}
