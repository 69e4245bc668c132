// evaluateValidatingPolicy without a cluster (its equality with kube-apiserver is proven by
// test/e2e/admission/policy-evaluation.test.ts) and `kubeloop policy test` on files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { evaluateValidatingPolicy, validatingPolicy, type AdmissionRequestInput } from "../../../framework/admission/index.ts";

const deployments = { apiGroups: ["apps"], apiVersions: ["v1"], resources: ["deployments"], operations: ["CREATE" as const] };
const set = validatingPolicy("replicas-limit").forResources(deployments)
  .validate({ expression: "object.spec.replicas <= 5", messageExpression: "'at most 5, got ' + string(object.spec.replicas)", reason: "Forbidden" })
  .bind({ validationActions: ["Deny", "Audit"] }).build();

function deployment(replicas: number, namespace = "default"): AdmissionRequestInput {
  return {
    operation: "CREATE", resource: { group: "apps", version: "v1", resource: "deployments" }, kind: { group: "apps", version: "v1", kind: "Deployment" },
    namespace, name: "web", object: { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace }, spec: { replicas } } as never,
  };
}

test("a failed validation denies with the API server's message, reason and code, is audited, and warns when the binding says Warn", () => {
  const v = evaluateValidatingPolicy(set.policy, set.bindings[0]!, deployment(10));
  assert.equal(v.kind, "evaluated");
  if (v.kind !== "evaluated") return;
  assert.deepEqual(v.denied, {
    message: `deployments.apps "web" is forbidden: ValidatingAdmissionPolicy 'replicas-limit' with binding 'replicas-limit' denied request: at most 5, got 10`,
    reason: "Forbidden", code: 403,
  });
  assert.deepEqual(v.warnings, []);
  assert.deepEqual(v.audit, ["at most 5, got 10"]);
  const warnOnly = validatingPolicy("replicas-warn").forResources(deployments).validate({ expression: "object.spec.replicas <= 5" })
    .bind({ validationActions: ["Warn"] }).build();
  const w = evaluateValidatingPolicy(warnOnly.policy, warnOnly.bindings[0]!, deployment(10));
  assert.deepEqual(w, { kind: "evaluated", warnings: ["Validation failed for ValidatingAdmissionPolicy 'replicas-warn' with binding 'replicas-warn': failed expression: object.spec.replicas <= 5"], audit: [] });
  const ok = evaluateValidatingPolicy(set.policy, set.bindings[0]!, deployment(3));
  assert.deepEqual(ok, { kind: "evaluated", warnings: [], audit: [] });
});

test("requests outside the match are not matched; what cannot be answered exactly is refused", () => {
  const scoped = validatingPolicy("scoped").forResources(deployments).inNamespaces({ matchLabels: { team: "a" } })
    .validate({ expression: "false" }).bind({ validationActions: ["Deny"] }).build();
  assert.equal(evaluateValidatingPolicy(scoped.policy, scoped.bindings[0]!, deployment(1)).kind, "not-matched");
  const inTeam = { ...deployment(1), namespaceObject: { apiVersion: "v1", kind: "Namespace", metadata: { name: "default", labels: { team: "a" } } } };
  const denied = evaluateValidatingPolicy(scoped.policy, scoped.bindings[0]!, inTeam);
  assert.ok(denied.kind === "evaluated" && denied.denied?.message.endsWith("denied request: failed expression: false"));

  const otherVersion = { ...deployment(1), resource: { group: "apps", version: "v1beta1", resource: "deployments" } };
  assert.equal(evaluateValidatingPolicy(set.policy, set.bindings[0]!, otherVersion).kind, "refused", "matchPolicy Equivalent through another version");
  const withParams = validatingPolicy("params").forResources(deployments).params({ apiVersion: "v1", kind: "ConfigMap" })
    .validate({ expression: "true" }).bind({ validationActions: ["Deny"], paramRef: { name: "p", parameterNotFoundAction: "Deny" } }).build();
  assert.equal(evaluateValidatingPolicy(withParams.policy, withParams.bindings[0]!, deployment(1)).kind, "refused");
  const erroring = validatingPolicy("erroring").forResources(deployments).validate({ expression: "object.spec.missing.field == 1" })
    .bind({ validationActions: ["Deny"] }).build();
  assert.equal(evaluateValidatingPolicy(erroring.policy, erroring.bindings[0]!, deployment(1)).kind, "refused", "evaluation errors take the failurePolicy path, not reproduced");
});

test("kubeloop policy test prints each object's verdict with the API server's message; exit 1 when one is denied", () => {
  const dir = mkdtempSync(join(tmpdir(), "kubeloop-policy-test-"));
  writeFileSync(join(dir, "policies.yaml"), [set.policy, ...set.bindings].map((o) => JSON.stringify(o)).join("\n---\n"));
  writeFileSync(join(dir, "objects.yaml"), [
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: small, namespace: default}\nspec: {replicas: 3}",
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: big, namespace: default}\nspec: {replicas: 10}",
  ].join("\n---\n"));
  const cli = fileURLToPath(new URL("../../../framework/cli/main.ts", import.meta.url));
  const run = spawnSync(process.execPath, [cli, "policy", "test", join(dir, "policies.yaml"), join(dir, "objects.yaml")], { encoding: "utf8" });
  assert.equal(run.status, 1, run.stderr);
  assert.equal(run.stdout, [
    "Deployment default/small: admitted",
    `Deployment default/big: denied (403 Forbidden): deployments.apps "big" is forbidden: ValidatingAdmissionPolicy 'replicas-limit' with binding 'replicas-limit' denied request: at most 5, got 10`,
    "  audit (replicas-limit / replicas-limit): at most 5, got 10",
    "",
  ].join("\n"));
  const usage = spawnSync(process.execPath, [cli, "policy", "test", join(dir, "policies.yaml")], { encoding: "utf8" });
  assert.equal(usage.status, 2);
});

test("a binding's matchResources without resourceRules constrains only by its selectors", () => {
  const bound = validatingPolicy("bound").forResources(deployments).validate({ expression: "false" }).bind({ validationActions: ["Deny"] }).build();
  const binding = { ...bound.bindings[0]!, spec: { ...bound.bindings[0]!.spec, matchResources: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "default" } } } } };
  assert.equal(evaluateValidatingPolicy(bound.policy, binding, deployment(1)).kind, "evaluated");
  assert.equal(evaluateValidatingPolicy(bound.policy, binding, deployment(1, "other")).kind, "not-matched");
});

test("params: by name or selector in the request's namespace, one evaluation each; none found follows parameterNotFoundAction", () => {
  const limits = (name: string, max: string, labels: Record<string, string> = {}, namespace = "default") =>
    ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace, labels }, data: { max } });
  const policy = (ref: { name?: string; selector?: { matchLabels: Record<string, string> }; parameterNotFoundAction: "Allow" | "Deny" }) =>
    validatingPolicy("limit").forResources(deployments).params({ apiVersion: "v1", kind: "ConfigMap" })
      .validate({ expression: "object.spec.replicas <= int(params.data.max)", messageExpression: "'at most ' + params.data.max" })
      .bind({ validationActions: ["Deny"], paramRef: ref }).build();
  const params = { namespaced: true, objects: [limits("small", "2", { tier: "a" }), limits("large", "20", { tier: "b" }), limits("small", "1", {}, "other")] };
  const denied = (set: ReturnType<typeof policy>, replicas: number) => {
    const v = evaluateValidatingPolicy(set.policy, set.bindings[0]!, deployment(replicas), { params });
    assert.equal(v.kind, "evaluated", JSON.stringify(v));
    return v.kind === "evaluated" ? v.denied?.message : undefined;
  };
  assert.match(denied(policy({ name: "small", parameterNotFoundAction: "Deny" }), 3) ?? "", /denied request: at most 2$/, "the request's namespace, not other/small");
  assert.equal(denied(policy({ name: "large", parameterNotFoundAction: "Deny" }), 3), undefined);
  assert.match(denied(policy({ selector: { matchLabels: { tier: "a" } }, parameterNotFoundAction: "Deny" }), 3) ?? "", /at most 2$/);
  assert.equal(denied(policy({ name: "none", parameterNotFoundAction: "Allow" }), 99), undefined, "no params, Allow: no evaluation");
  assert.equal(denied(policy({ name: "none", parameterNotFoundAction: "Deny" }), 1),
    `deployments.apps "web" is forbidden: ValidatingAdmissionPolicy 'limit' with binding 'limit' denied request: failed to configure binding: no params found for policy binding with \`Deny\` parameterNotFoundAction`);
  const set = policy({ name: "small", parameterNotFoundAction: "Deny" });
  assert.equal(evaluateValidatingPolicy(set.policy, set.bindings[0]!, deployment(1)).kind, "refused", "params needed and not given");
});
