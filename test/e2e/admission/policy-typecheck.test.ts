/**
 * Offline type checking of ValidatingAdmissionPolicies (`typeCheckValidatingAdmissionPolicies`
 * of kubeloop/testing, the `typecheck-policy` command of the harness' binary), differential:
 * the shipped policies and a corpus of policies with and without type errors (built-in kinds,
 * Endpoints, the operators' CRDs, params, variables, messageExpressions, several kinds per
 * policy, wildcards, an unknown resource) are installed on the real API server, and
 * kube-controller-manager's `status.typeChecking.expressionWarnings` must equal the offline
 * warnings exactly, field and text.
 * Needs a cluster: `KUBELOOP_CLUSTER_DIR` or `KUBECONFIG` (see `testControlPlane`).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ValidatingAdmissionPolicies, type ValidatingAdmissionPolicy } from "../../../framework/admission/index.ts";
import { installCustomResourceDefinitions } from "../../../framework/api/index.ts";
import type { KubeClient } from "../../../framework/client/index.ts";
import { admissionPolicyTypeProblems, testEnvironment, typeCheckValidatingAdmissionPolicies, waitFor } from "../../../framework/testing/index.ts";
import { definitions, shippedValidatingPolicies } from "../../../operators/generate.ts";

type Rule = { apiGroups: string[]; apiVersions: string[]; resources: string[]; operations?: string[] };
type Validation = { expression: string; messageExpression?: string };

let client: KubeClient;
const prefix = `tc-${randomBytes(3).toString("hex")}`;
const created: string[] = [];

before(async () => {
  ({ client } = await testEnvironment());
  await installCustomResourceDefinitions(client, definitions.map((d) => d.crd()), { fieldManager: "kubeloop-typecheck-e2e" });
});

after(async () => {
  if (!client) return;
  for (const name of created) await client.delete(ValidatingAdmissionPolicies, { name }).catch(() => {});
  client.close();
});

function policy(name: string, rules: Rule[], validations: Validation[], extra: Partial<ValidatingAdmissionPolicy["spec"]> = {}): ValidatingAdmissionPolicy {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: { name: `${prefix}-${name}` },
    spec: {
      matchConstraints: { resourceRules: rules.map((r) => ({ operations: ["CREATE", "UPDATE"], ...r })) },
      validations,
      ...extra,
    },
  } as ValidatingAdmissionPolicy;
}

const pods: Rule = { apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] };
const deployments: Rule = { apiGroups: ["apps"], apiVersions: ["v1"], resources: ["deployments"] };

/** Policies with and without type errors; each is named for what it exercises. */
function corpus(): ValidatingAdmissionPolicy[] {
  return [
    policy("pod-ok", [pods], [{ expression: "object.spec.containers.all(c, c.name != '')" }]),
    policy("pod-overload", [pods], [{ expression: "object.spec.containers[0].name == 1" }]),
    policy("pod-undefined-field", [pods], [{ expression: "has(object.spec.nope) || object.spec.nope2 == 'x'" }]),
    policy("message-expression", [pods], [{ expression: "true", messageExpression: "'name ' + string(object.spec.nope)" }]),
    policy("deployment-replicas", [deployments], [{ expression: "object.spec.replicas > 'a'" }]),
    // One expression, two kinds: Pods have no spec.replicas, Deployments do.
    policy("two-kinds", [pods, deployments], [{ expression: "object.spec.replicas >= 0" }]),
    // Endpoints: the one built-in kind whose plural the offline REST mapper does not guess.
    policy("endpoints", [{ apiGroups: [""], apiVersions: ["v1"], resources: ["endpoints"] }], [{ expression: "object.subsets[0].nope == 1" }]),
    policy("crd-replicaset", [{ apiGroups: ["apps.kubeloop.dev"], apiVersions: ["v1alpha1"], resources: ["replicasets"] }], [
      { expression: "object.spec.replicas >= 0" },
      { expression: "object.spec.template.spec.nope == 1" },
    ]),
    policy("crd-podgroup", [{ apiGroups: ["scheduling.kubeloop.dev"], apiVersions: ["v1alpha1"], resources: ["podgroups"] }], [
      { expression: "object.spec.minMember >= 1" },
      { expression: "object.spec.minMember == 'one'" },
    ]),
    policy("params", [pods], [{ expression: "params.data.limit == 1" }], { paramKind: { apiVersion: "v1", kind: "ConfigMap" } }),
    policy("variables", [pods], [{ expression: "variables.first.nope == 1" }], { variables: [{ name: "first", expression: "object.spec.containers[0]" }] }),
    policy("request-authorizer", [pods], [{ expression: "request.userInfo.username != '' && authorizer.group('').resource('pods').namespace(object.metadata.namespace).check('get').allowed()" }]),
    policy("subresource-and-wildcard", [{ apiGroups: ["*"], apiVersions: ["v1"], resources: ["pods/status"] }], [{ expression: "object.nope == 1" }]),
    policy("unknown-resource", [{ apiGroups: ["example.com"], apiVersions: ["v1"], resources: ["widgets"] }], [{ expression: "object.spec.size == 'x'" }]),
  ];
}

/** The policy once kube-controller-manager has type-checked its current generation. */
async function typeChecked(name: string): Promise<ValidatingAdmissionPolicy> {
  return waitFor(async () => {
    const live = await client.get(ValidatingAdmissionPolicies, { name });
    return (live.status?.observedGeneration ?? 0) >= (live.metadata?.generation ?? 1) ? live : undefined;
  }, { timeoutMs: 60_000, intervalMs: 250, description: `kube-controller-manager to type-check ${name}` });
}

/**
 * Waits until kube-controller-manager's type checker resolves the operators' custom kinds. Its
 * REST mapper comes from discovery, which learns a new CRD some time after it is Established;
 * until then a policy matching that CRD is checked against nothing and gets no warning (the
 * same policy checked later does). A probe policy with an error on every kind is re-checked
 * (its generation bumped) until its warning names both custom kinds it matches.
 */
async function waitForCustomKindsInTypeChecker(): Promise<void> {
  const probe = policy("probe", [
    { apiGroups: ["apps.kubeloop.dev"], apiVersions: ["v1alpha1"], resources: ["replicasets"] },
    { apiGroups: ["scheduling.kubeloop.dev"], apiVersions: ["v1alpha1"], resources: ["podgroups"] },
  ], [{ expression: "object.nope == 1" }]);
  await client.create(ValidatingAdmissionPolicies, probe);
  created.push(probe.metadata.name);
  await waitFor(async () => {
    const live = await typeChecked(probe.metadata.name);
    const warning = live.status?.typeChecking?.expressionWarnings?.[0]?.warning ?? "";
    if (/Kind=ReplicaSet/.test(warning) && /Kind=PodGroup/.test(warning)) return true;
    live.spec.failurePolicy = live.spec.failurePolicy === "Ignore" ? "Fail" : "Ignore";
    await client.update(ValidatingAdmissionPolicies, live);
    return false;
  }, { timeoutMs: 120_000, intervalMs: 1000, description: "kube-controller-manager's type checker to resolve the operators' custom kinds" });
}

test("offline type checking gives kube-controller-manager's expression warnings, for the shipped policies and a corpus", { timeout: 20 * 60_000 }, async () => {
  const shipped = shippedValidatingPolicies().map((p) => {
    const copy = structuredClone(p) as ValidatingAdmissionPolicy;
    copy.metadata = { name: `${prefix}-${copy.metadata.name}` };
    return copy;
  });
  const policies = [...shipped, ...corpus()];
  const offline = await typeCheckValidatingAdmissionPolicies(policies, definitions.map((d) => d.crd()));
  assert.equal(offline.length, policies.length);

  await waitForCustomKindsInTypeChecker();
  for (const p of policies) {
    await client.create(ValidatingAdmissionPolicies, p);
    created.push(p.metadata.name);
  }
  const server = new Map<string, Array<{ fieldRef: string; warning: string }>>();
  for (const p of policies) {
    const checked = await typeChecked(p.metadata.name);
    server.set(p.metadata.name, (checked.status?.typeChecking?.expressionWarnings ?? []).map((w) => ({ fieldRef: w.fieldRef, warning: w.warning })));
  }

  const differences: string[] = [];
  let warnings = 0;
  offline.forEach((verdict, i) => {
    const name = policies[i]!.metadata.name;
    assert.equal(verdict.name, name);
    warnings += verdict.expressionWarnings.length;
    if (JSON.stringify(verdict.expressionWarnings) !== JSON.stringify(server.get(name))) {
      differences.push(`${name}:\n  offline: ${JSON.stringify(verdict.expressionWarnings)}\n  server:  ${JSON.stringify(server.get(name))}`);
    }
  });
  console.log(`policy type checking: ${policies.length} policies compared with kube-controller-manager's status, ${warnings} expression warnings, ${differences.length} differed`);
  assert.deepEqual(differences, []);

  // The corpus exercises what it claims: the shipped policies are clean, the broken ones warn,
  // the ones the checker skips (wildcard group with a subresource, an unknown resource) do not,
  // and neither does a field missing from a variable's value: v1.36's checker does not follow
  // a variable's type into a validation (the server agrees, compared above).
  const warned = new Set(offline.filter((v) => v.expressionWarnings.length > 0).map((v) => v.name.slice(prefix.length + 1)));
  assert.deepEqual([...warned].sort(), [
    "crd-podgroup", "crd-replicaset", "deployment-replicas", "endpoints", "message-expression", "params", "pod-overload", "pod-undefined-field", "two-kinds",
  ]);
  const twoKinds = offline.find((v) => v.name === `${prefix}-two-kinds`)!.expressionWarnings;
  assert.match(twoKinds[0]!.warning, /^\/v1, Kind=Pod: ERROR: <input>:1:12: undefined field 'replicas'/);
  assert.doesNotMatch(twoKinds[0]!.warning, /Kind=Deployment/);

  // What `npm run generate` prints for a warning: policy, field, then the checker's lines indented.
  const [line, ...more] = await admissionPolicyTypeProblems(corpus().filter((p) => p.metadata.name.endsWith("-pod-overload")));
  assert.deepEqual(more, []);
  assert.equal(line, `${prefix}-pod-overload: spec.validations[0].expression: /v1, Kind=Pod: ERROR: <input>:1:32: found no matching overload for '_==_' applied to '(string, int)'\n` +
    "   | object.spec.containers[0].name == 1\n   | ...............................^");
});

test("kubeloop policy test --typecheck prints the checker's warnings first and exits 4; --crds gives it the custom kinds", { timeout: 5 * 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "kubeloop-policy-typecheck-"));
  const binding = (policyName: string) => ({
    apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name: policyName }, spec: { policyName, validationActions: ["Deny"] },
  });
  const overload = corpus().find((p) => p.metadata.name.endsWith("-pod-overload"))!;
  const onReplicaSets = corpus().find((p) => p.metadata.name.endsWith("-crd-replicaset"))!;
  writeFileSync(join(dir, "policies.yaml"), [overload, binding(overload.metadata.name), onReplicaSets, binding(onReplicaSets.metadata.name)].map((o) => JSON.stringify(o)).join("\n---\n"));
  writeFileSync(join(dir, "objects.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: default}\nspec: {containers: [{name: main, image: nginx}]}\n");
  const cli = fileURLToPath(new URL("../../../framework/cli/main.ts", import.meta.url));
  const crds = fileURLToPath(new URL("../../../crds/replicasets.apps.kubeloop.dev.yaml", import.meta.url));
  const run = (...extra: string[]) => spawnSync(process.execPath, [cli, "policy", "test", join(dir, "policies.yaml"), join(dir, "objects.yaml"), "--typecheck", ...extra], { encoding: "utf8", timeout: 4 * 60_000 });

  const withoutCrds = run();
  assert.equal(withoutCrds.status, 4, withoutCrds.stderr);
  const typeLines = (out: string) => out.split("\n").filter((l) => l.startsWith("type check: "));
  assert.deepEqual(typeLines(withoutCrds.stdout), [
    `type check: ${prefix}-pod-overload: spec.validations[0].expression: /v1, Kind=Pod: ERROR: <input>:1:32: found no matching overload for '_==_' applied to '(string, int)'`,
  ]);
  assert.match(withoutCrds.stdout, /^Pod default\/web: /m, "the verdicts follow");

  const withCrds = run("--crds", crds);
  assert.equal(withCrds.status, 4, withCrds.stderr);
  assert.deepEqual(typeLines(withCrds.stdout).map((l) => l.split(": ERROR: ")[0]), [
    `type check: ${prefix}-crd-replicaset: spec.validations[1].expression: apps.kubeloop.dev/v1alpha1, Kind=ReplicaSet`,
    `type check: ${prefix}-pod-overload: spec.validations[0].expression: /v1, Kind=Pod`,
  ]);
});
