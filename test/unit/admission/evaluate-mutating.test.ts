// evaluateMutatingPolicy without a cluster (its equality with kube-apiserver is proven by
// test/e2e/admission/mutating-evaluation.test.ts) and `kubeloop policy test` with a mutating policy.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { evaluateMutatingPolicy, mutatingPolicy, validatingPolicy, type AdmissionRequestInput, type MutatingPolicySet } from "../../../framework/admission/index.ts";
import type { SchemaNode } from "../../../framework/cel/index.ts";

const deployments = { apiGroups: ["apps"], apiVersions: ["v1"], resources: ["deployments"], operations: ["CREATE" as const] };
const build = (f: (p: ReturnType<typeof mutatingPolicy>) => ReturnType<typeof mutatingPolicy>): MutatingPolicySet =>
  f(mutatingPolicy("m").forResources(deployments)).reinvocationPolicy("Never").bind().build();

function deployment(labels?: Record<string, string>, spec: Record<string, unknown> = { replicas: 1 }): AdmissionRequestInput {
  return {
    operation: "CREATE", resource: { group: "apps", version: "v1", resource: "deployments" }, kind: { group: "apps", version: "v1", kind: "Deployment" },
    namespace: "default", name: "web", object: { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "default", ...(labels ? { labels } : {}) }, spec } as never,
  };
}
const spec: SchemaNode = { type: "object", properties: { spec: { type: "object", properties: { replicas: { type: "integer" }, tags: { type: "array", items: { type: "string" } } } } } };

function mutated(set: MutatingPolicySet, request: AdmissionRequestInput, schema?: SchemaNode) {
  const v = evaluateMutatingPolicy(set.policy, set.bindings[0]!, request, { schema });
  assert.equal(v.kind, "mutated", JSON.stringify(v));
  return v as Extract<typeof v, { kind: "mutated" }>;
}

test("ApplyConfiguration merges field by field; JSONPatch applies in order, escapeKey included; a later mutation sees the earlier one", () => {
  const v = mutated(build((p) => p.applyConfiguration(`Object{metadata: Object.metadata{labels: {"team": "infra"}}, spec: Object.spec{replicas: object.spec.replicas + 1}}`)
    .jsonPatch(`[JSONPatch{op: "add", path: "/metadata/labels/" + jsonpatch.escapeKey("example.com/replicas"), value: string(object.spec.replicas)}]`)),
  deployment({ app: "web" }), spec);
  assert.deepEqual(v.object?.metadata?.labels, { app: "web", team: "infra", "example.com/replicas": "2" });
  assert.deepEqual((v.object as { spec?: unknown }).spec, { replicas: 2 });
  assert.equal(v.changed, true);
});

test("a failing JSON Patch test operation leaves the object unchanged; a false matchCondition does not match", () => {
  const v = mutated(build((p) => p.jsonPatch(`[JSONPatch{op: "test", path: "/spec/replicas", value: 5}, JSONPatch{op: "replace", path: "/spec/replicas", value: 9}]`)), deployment(), spec);
  assert.equal(v.changed, false);
  assert.deepEqual((v.object as { spec?: unknown }).spec, { replicas: 1 });
  const off = build((p) => p.when("never", "false").applyConfiguration(`Object{metadata: Object.metadata{labels: {"a": "b"}}}`));
  assert.deepEqual(evaluateMutatingPolicy(off.policy, off.bindings[0]!, deployment()), { kind: "not-matched", why: "matchCondition never is false" });
});

test("refused, never answered differently: lists in an apply configuration, fields of unknown type, a value of the wrong type, run-time type mismatches", () => {
  const reason = (set: MutatingPolicySet, schema?: SchemaNode) => {
    const v = evaluateMutatingPolicy(set.policy, set.bindings[0]!, deployment(), { schema });
    assert.equal(v.kind, "refused", JSON.stringify(v));
    return (v as { reason: string }).reason;
  };
  assert.match(reason(build((p) => p.applyConfiguration(`Object{spec: Object.spec{tags: ["a"]}}`)), spec), /list merges .* are not reproduced/);
  assert.match(reason(build((p) => p.applyConfiguration(`Object{spec: Object.spec{replicas: 3}}`))), /type of \.spec is not known in-process/);
  assert.match(reason(build((p) => p.jsonPatch(`[JSONPatch{op: "replace", path: "/spec/replicas", value: "three"}]`)), spec), /does not have its schema's type/);
  assert.match(reason(build((p) => p.applyConfiguration(`Object{spec: Object.status{}}`)), spec), /type mismatch at run time/);
  assert.match(reason(build((p) => p.variable("v", "1").applyConfiguration(`Object{metadata: Object.metadata{labels: {"a": "b"}}}`).jsonPatch("[]"))), /several mutations with variables/);
});

test("kubeloop policy test applies mutating policies first, prints each change as a JSON Patch, and validates the mutated object", () => {
  const dir = mkdtempSync(join(tmpdir(), "kubeloop-policy-test-"));
  const adds = build((p) => p.applyConfiguration(`Object{metadata: Object.metadata{labels: {"team": "infra"}}}`));
  const needs = validatingPolicy("needs-team").forResources(deployments).validate({ expression: "'team' in object.metadata.labels", message: "a team label is required" })
    .bind({ validationActions: ["Deny"] }).build();
  writeFileSync(join(dir, "policies.yaml"), [adds.policy, ...adds.bindings, needs.policy, ...needs.bindings].map((o) => JSON.stringify(o)).join("\n---\n"));
  writeFileSync(join(dir, "objects.yaml"), "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: default, labels: {app: web}}\nspec: {replicas: 3}\n");
  const cli = fileURLToPath(new URL("../../../framework/cli/main.ts", import.meta.url));
  const run = spawnSync(process.execPath, [cli, "policy", "test", join(dir, "policies.yaml"), join(dir, "objects.yaml")], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.equal(run.stdout, [
    "Deployment default/web: admitted",
    `  mutated by m / m: [{"op":"add","path":"/metadata/labels/team","value":"infra"}]`,
    "",
  ].join("\n"));
});

test("kubeloop policy test --params gives a policy with paramRef its param objects", () => {
  const dir = mkdtempSync(join(tmpdir(), "kubeloop-policy-test-"));
  const fromParams = mutatingPolicy("owner").forResources(deployments).params({ apiVersion: "v1", kind: "ConfigMap" })
    .applyConfiguration(`Object{metadata: Object.metadata{labels: {"owner": params.data["owner"]}}}`)
    .reinvocationPolicy("Never").bind({ paramRef: { name: "owners", parameterNotFoundAction: "Deny" } }).build();
  writeFileSync(join(dir, "policies.yaml"), [fromParams.policy, ...fromParams.bindings].map((o) => JSON.stringify(o)).join("\n---\n"));
  writeFileSync(join(dir, "objects.yaml"), "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: default}\nspec: {replicas: 3}\n");
  writeFileSync(join(dir, "params.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owners, namespace: default}\ndata: {owner: team-a}\n");
  const cli = fileURLToPath(new URL("../../../framework/cli/main.ts", import.meta.url));
  const args = [cli, "policy", "test", join(dir, "policies.yaml"), join(dir, "objects.yaml")];
  const withParams = spawnSync(process.execPath, [...args, "--params", join(dir, "params.yaml")], { encoding: "utf8" });
  assert.equal(withParams.status, 0, withParams.stdout + withParams.stderr);
  assert.match(withParams.stdout, /mutated by owner \/ owner: \[\{"op":"add","path":"\/metadata\/labels","value":\{"owner":"team-a"\}\}\]/);
  const without = spawnSync(process.execPath, args, { encoding: "utf8" });
  assert.equal(without.status, 3, "without the params the change cannot be told");
  assert.match(without.stdout, /cannot tell what owner \/ owner changes: the policy takes params/);
});
