/**
 * The files `kubeloop init` and `kubeloop create api` write, as functions of the project's and the
 * API's names. Markers (`// kubeloop:...`) in `apis/index.ts` are where `create api` registers a
 * new API; keep them when editing that file.
 */

/** Names of a new API: `Widget` in `example.com/v1alpha1` gives plural `widgets`, folder `widget`. */
export interface ApiNames {
  kind: string;
  group: string;
  version: string;
  plural: string;
  folder: string;
  /** Identifier of the definition constant, e.g. `WidgetDefinition`. */
  constant: string;
}

export const DEFINITIONS_MARKER = "// kubeloop:definitions";
export const SETUP_MARKER = "// kubeloop:setup";
export const IMPORTS_MARKER = "// kubeloop:imports";

export function packageJson(name: string, deps: { kubeloop: string; zod: string; yaml: string; typescript: string; typesNode: string }): string {
  return `${JSON.stringify({
    name, version: "0.1.0", private: true, type: "module",
    engines: { node: ">=22.19" },
    scripts: {
      start: "node main.ts",
      generate: "node generate.ts",
      typecheck: "tsc -p tsconfig.json",
      test: "node --test \"test/**/*.test.ts\"",
    },
    dependencies: { kubeloop: deps.kubeloop, yaml: deps.yaml, zod: deps.zod },
    devDependencies: { "@types/node": deps.typesNode, typescript: deps.typescript },
  }, null, 2)}\n`;
}

export const tsconfigJson = `${JSON.stringify({
  compilerOptions: {
    target: "es2024", module: "nodenext", moduleResolution: "nodenext", lib: ["es2024"], types: ["node"],
    strict: true, noUncheckedIndexedAccess: true, verbatimModuleSyntax: true, erasableSyntaxOnly: true,
    allowImportingTsExtensions: true, noEmit: true,
  },
  include: ["*.ts", "apis/**/*.ts", "test/**/*.ts"],
}, null, 2)}\n`;

export const mainTs = `// The operator's process: one Manager (leader election, /metrics on :8080, probes on :8081)
// running every API's controller (apis/index.ts). \`npm start\` with KUBECONFIG set.
import { Manager, runManager } from "kubeloop/manager";
import { setupControllers } from "./apis/index.ts";

const mgr = new Manager({ leaderElection: { id: process.env["LEASE_NAME"] ?? "operator", namespace: process.env["POD_NAMESPACE"] ?? "default" } });
setupControllers(mgr);
await runManager(mgr);
`;

export const apisIndexTs = `// Every API of this operator: its definitions (CRDs) and the setup of its controllers.
// \`kubeloop create api\` adds to the lists at the markers.
import type { Manager } from "kubeloop/manager";
${IMPORTS_MARKER}

/** Every CustomResourceDefinition this operator owns (\`npm run generate\` writes them into crds/). */
export const definitions = [
  ${DEFINITIONS_MARKER}
];

/** Adds every controller to \`mgr\`. */
export function setupControllers(mgr: Manager): void {
  ${SETUP_MARKER}
  void mgr;
}
`;

export const generateTs = `// \`npm run generate\`: writes every API's CustomResourceDefinition into crds/<plural>.<group>.yaml.
import { mkdir, writeFile } from "node:fs/promises";
import YAML from "yaml";
import { definitions } from "./apis/index.ts";

await mkdir(new URL("./crds/", import.meta.url), { recursive: true });
for (const definition of definitions) {
  await writeFile(new URL(\`./crds/\${definition.name}.yaml\`, import.meta.url), YAML.stringify(definition.crd(), { lineWidth: 0 }));
  console.log(\`crds/\${definition.name}.yaml\`);
}
`;

export const ciRun = `#!/usr/bin/env bash
# CI entry point: installs, checks that the committed CRDs are current, type-checks and runs the
# tests against a real control plane (kubeloop/testing: KUBECONFIG, or KUBELOOP_CLUSTER_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci
npm run generate
git diff --exit-code -- crds/ || { echo "crds/ is stale: run npm run generate and commit it" >&2; exit 1; }
npm run typecheck
npm test
`;

export function readme(name: string): string {
  return `# ${name}

A Kubernetes operator on [kubeloop](https://github.com/kubeloop/kubeloop).

- \`npx kubeloop create api <Kind> --group <group> --version v1alpha1\`: a new API (definition,
  reconciler, e2e test, registration in \`apis/index.ts\`);
- \`npm run generate\`: the CRDs in \`crds/\`;
- \`npm test\`: the tests, against the cluster of \`KUBECONFIG\` (or \`KUBELOOP_CLUSTER_DIR\`);
- \`npm start\`: the operator, against the cluster of \`KUBECONFIG\`;
- \`charts/${name}\`: the Helm chart (\`helm install ${name} charts/${name}\`).
`;
}

export function chartYaml(name: string): string {
  return `apiVersion: v2
name: ${name}
description: The ${name} operator (kubeloop).
type: application
version: 0.1.0
appVersion: "0.1.0"
`;
}

export function chartValues(name: string): string {
  return `image:
  repository: ${name}
  tag: "0.1.0"
replicaCount: 2
`;
}

export function chartDeployment(name: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels: {app.kubernetes.io/name: ${name}, app.kubernetes.io/instance: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: ${name}, app.kubernetes.io/instance: {{ .Release.Name }}}
    spec:
      serviceAccountName: {{ .Release.Name }}
      securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: operator
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          env:
            - {name: LEASE_NAME, value: {{ .Release.Name }}}
            - name: POD_NAMESPACE
              valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
          ports:
            - {name: metrics, containerPort: 8080}
            - {name: health, containerPort: 8081}
          readinessProbe: {httpGet: {path: /readyz, port: health}}
          livenessProbe: {httpGet: {path: /healthz, port: health}}
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
`;
}

export const chartRbac = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
---
# The operator's rules: its APIs (one rule per group, added by \`kubeloop create api\`), Events,
# and its leader-election Lease.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ .Release.Name }}
rules:
  - apiGroups: [events.k8s.io]
    resources: [events]
    verbs: [create, patch]
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    verbs: [get, create, update]
  # kubeloop:rbac
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ .Release.Name }}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {{ .Release.Name }}}
subjects:
  - {kind: ServiceAccount, name: {{ .Release.Name }}, namespace: {{ .Release.Namespace }}}
`;

export const RBAC_MARKER = "  # kubeloop:rbac";

export function rbacRule(api: ApiNames): string {
  return `  - apiGroups: [${api.group}]
    resources: [${api.plural}, ${api.plural}/status]
    verbs: [get, list, watch, update, patch]
`;
}

export function apiTs(api: ApiNames): string {
  return `// The ${api.kind} API: one zod definition gives the TypeScript type, the CRD and the defaults.
import { z } from "zod";
import { defineCustomResource } from "kubeloop/api";

export const ${api.constant} = defineCustomResource({
  group: "${api.group}", version: "${api.version}", kind: "${api.kind}", plural: "${api.plural}",
  scope: "Namespaced",
  spec: z.object({
    message: z.string().min(1).max(256),
  }),
  status: z.object({
    observedGeneration: z.int().min(0).optional(),
    echoed: z.string().max(256).optional(),
  }),
  printerColumns: [{ name: "MESSAGE", type: "string", jsonPath: ".spec.message" }],
});
`;
}

export function controllerTs(api: ApiNames): string {
  return `// The ${api.kind} controller: level-based; writes status only when it would change.
import { controllerFor, predicates, type Reconciler } from "kubeloop/controller";
import type { Manager } from "kubeloop/manager";
import type { ObjectOfDefinition } from "kubeloop/api";
import { ${api.constant} } from "./api.ts";

export function setup${api.kind}Controller(mgr: Manager): void {
  const reconciler: Reconciler<ObjectOfDefinition<typeof ${api.constant}>> = {
    async reconcile(req, ctx) {
      const obj = ctx.getCached();
      if (!obj) return; // deleted
      const generation = obj.metadata?.generation ?? 0;
      if (obj.status?.observedGeneration === generation && obj.status.echoed === obj.spec.message) return;
      await mgr.client.patch(${api.constant}.resource, req, {
        type: "merge", body: { status: { observedGeneration: generation, echoed: obj.spec.message } },
      }, { subresource: "status", signal: ctx.signal });
    },
  };
  controllerFor(mgr, ${api.constant}.resource, { predicates: [predicates.generationChanged()] })
    .needs(${api.constant}.resource, ["patch"], "status") // RBAC: mgr.policyRules() lists it
    .complete(reconciler);
}
`;
}

export function e2eTestTs(api: ApiNames): string {
  return `// ${api.kind} against a real control plane (kubeloop/testing: KUBECONFIG or KUBELOOP_CLUSTER_DIR).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { installCustomResourceDefinitions } from "kubeloop/api";
import { Manager } from "kubeloop/manager";
import { createTestNamespace, deleteTestNamespace, testEnvironment, waitFor, type TestEnvironment } from "kubeloop/testing";
import { ${api.constant} } from "../apis/${api.folder}/api.ts";
import { setup${api.kind}Controller } from "../apis/${api.folder}/controller.ts";

let env: TestEnvironment;
let namespace: string;
before(async () => {
  env = await testEnvironment();
  await installCustomResourceDefinitions(env.client, [${api.constant}.crd()]);
  namespace = await createTestNamespace(env.client, "${api.folder}-e2e");
});
after(async () => {
  await deleteTestNamespace(env.client, namespace);
  env.client.close();
});

test("a ${api.kind} gets its status: observedGeneration and the echoed message", async () => {
  const mgr = new Manager({ client: env.client, cache: { defaultNamespace: namespace }, metricsBindAddress: "0", healthProbeBindAddress: "0" });
  setup${api.kind}Controller(mgr);
  const stop = new AbortController();
  const running = mgr.start(stop.signal);
  try {
    await env.client.create(${api.constant}.resource, ${api.constant}.make({ metadata: { name: "hello", namespace }, spec: { message: "hi" } }));
    const done = await waitFor(async () => {
      const obj = await env.client.get(${api.constant}.resource, { namespace, name: "hello" });
      return obj.status?.echoed === "hi" ? obj : undefined;
    }, { timeoutMs: 30_000, description: "the ${api.kind}'s status" });
    assert.equal(done.status?.observedGeneration, done.metadata?.generation);
  } finally {
    stop.abort();
    await running;
  }
});
`;
}

/** Markers in this repository's `operators/registry.ts` where `create api` registers a new sample operator. */
export const REGISTRY_IMPORTS_MARKER = "// kubeloop:operator-imports";
export const REGISTRY_OPERATORS_MARKER = "  // kubeloop:operators";

/**
 * A file of the project layout rewritten for a sample operator in this repository: `kubeloop/<x>`
 * self-imports become relative imports of `framework/<x>/index.ts` (the repository runs its
 * sources; a self-import would need the `kubeloop-source` condition), and `../apis/<folder>/`
 * becomes the operator's folder. `fromRoot` is the file's folder relative to the repository root.
 */
export function inRepository(text: string, fromRoot: string, api: ApiNames, operator: string): string {
  const up = "../".repeat(fromRoot.split("/").filter(Boolean).length);
  return text
    .replace(/from "kubeloop\/([a-z]+)"/g, (_m, pkg: string) => `from "${up}framework/${pkg}/index.ts"`)
    .replace(new RegExp(`"\\.\\./apis/${api.folder}/`, "g"), `"${up}operators/${operator}/`);
}

/** `operators/<operator>/index.ts` of a new sample operator. */
export function operatorIndexTs(api: ApiNames): string {
  return `/** The ${api.kind} sample operator (made by \`kubeloop create api\`): its definition and controller. */
export { ${api.constant} } from "./api.ts";
export { setup${api.kind}Controller } from "./controller.ts";
`;
}

/** The registry entry of a new sample operator. */
export function registryEntry(api: ApiNames, operator: string): string {
  return `  ${JSON.stringify(operator)}: {
    definitions: [${api.constant}],
    setup: (mgr) => {
      setup${api.kind}Controller(mgr);
    },
  },
`;
}
