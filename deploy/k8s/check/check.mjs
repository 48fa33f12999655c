// SPDX-License-Identifier: LGPL-2.1-or-later
// Validates deploy/k8s/*.yaml against the Kubernetes OpenAPI schemas that
// the kubernetes-models package ships (its validate(): JSON schema, ajv), and
// that haproxy-configmap.yaml carries deploy/haproxy unchanged.
// Usage: node check.mjs [FILE.yaml...]   (default: every deploy/k8s/*.yaml)
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
const k8s = path.dirname(here);
const files = process.argv.length > 2 ? process.argv.slice(2)
        : fs.readdirSync(k8s).filter((f) => f.endsWith(".yaml")).sort().map((f) => path.join(k8s, f));

function modulePath(apiVersion) {
        // "v1" -> kubernetes-models/v1, "apps/v1" -> kubernetes-models/apps/v1
        return "kubernetes-models/" + apiVersion;
}

let failed = 0, checked = 0;
for (const file of files) {
        const docs = yaml.loadAll(fs.readFileSync(file, "utf8")).filter((d) => d);
        for (const doc of docs) {
                const what = `${path.basename(file)}: ${doc.kind} ${doc.metadata?.name}`;
                try {
                        const mod = await import(`${modulePath(doc.apiVersion)}/${doc.kind}`);
                        const Kind = mod[doc.kind] ?? mod.default;
                        if (!Kind)
                                throw new Error(`no model for ${doc.apiVersion} ${doc.kind}`);
                        new Kind(doc).validate();
                        checked++;
                        console.log(`ok   ${what}`);
                } catch (e) {
                        failed++;
                        console.log(`FAIL ${what}: ${e.message}`);
                }
                if (doc.kind === "ConfigMap" && doc.metadata?.name === "lean-host-haproxy") {
                        const src = path.join(k8s, "..", "haproxy");
                        const want = { "haproxy.cfg": path.join(src, "haproxy.cfg") };
                        for (const f of fs.readdirSync(path.join(src, "errors")))
                                want[`errors-${f}`] = path.join(src, "errors", f);
                        for (const [key, p] of Object.entries(want))
                                if (doc.data?.[key] !== fs.readFileSync(p, "utf8")) {
                                        failed++;
                                        console.log(`FAIL ${what}: data.${key} differs from ${p} ` +
                                                    "(run deploy/k8s/gen-haproxy-configmap.py)");
                                }
                }
        }
}
console.log(`${checked} objects valid, ${failed} failures`);
process.exit(failed || !checked ? 1 : 0);
