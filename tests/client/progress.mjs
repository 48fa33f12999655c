// SPDX-License-Identifier: LGPL-2.1-or-later
// The MCP TypeScript SDK client on a call that outlasts its request timeout:
// spawn lean-host-mcp, call lean_run with onprogress (so the SDK sends a
// progressToken) and, when asked, resetTimeoutOnProgress. Prints one JSON
// line: {"ok": b, "isError": b, "progress": [{progress, message}], "elapsed_ms",
// "timeout_ms", "error"?: {code, message}}. Exits 0 either way (the test
// judges); 1 on a setup failure.
//
//   node progress.mjs LEAN_HOST_MCP BRIDGE_ARGS_JSON LEAN_RUN_ARGUMENTS_JSON OPTIONS_JSON
//   OPTIONS_JSON: {"timeout": ms (absent: the SDK's default, 60 s),
//                  "resetTimeoutOnProgress": b}

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { bridgeTransport, callLeanRun } from "./common.mjs";
import { DEFAULT_REQUEST_TIMEOUT_MSEC } from "@modelcontextprotocol/sdk/shared/protocol.js";

const [bridge, argsJson, toolArgsJson, optionsJson] = process.argv.slice(2);
if (!bridge || !toolArgsJson) {
  console.error("usage: node progress.mjs LEAN_HOST_MCP BRIDGE_ARGS_JSON LEAN_RUN_ARGUMENTS_JSON OPTIONS_JSON");
  process.exit(2);
}
const opts = JSON.parse(optionsJson || "{}");

const transport = bridgeTransport(bridge, argsJson);
const client = new Client({ name: "lean-host-sdk-progress", version: "0.0.0" });

try {
  await client.connect(transport);
} catch (e) {
  console.error("progress.mjs: connect:", e);
  process.exit(1);
}

const progress = [];
const options = {
  onprogress: (p) => progress.push({ progress: p.progress, message: p.message, total: p.total }),
  resetTimeoutOnProgress: opts.resetTimeoutOnProgress === true,
};
if (opts.timeout !== undefined) options.timeout = opts.timeout;

const started = Date.now();
const out = { progress, timeout_ms: opts.timeout ?? DEFAULT_REQUEST_TIMEOUT_MSEC };
try {
  const result = await callLeanRun(client, toolArgsJson, options);
  out.ok = true;
  out.isError = result.isError === true;
  out.text = result.content?.[0]?.text;
} catch (e) {
  out.ok = false;
  out.error = { code: e.code, message: String(e.message ?? e) };
}
out.elapsed_ms = Date.now() - started;
console.log(JSON.stringify(out));
await client.close();
process.exit(0);
