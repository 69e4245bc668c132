/**
 * The policy builders without a cluster: the objects they produce, binding names, and the
 * build-time refusals with the API server's wording (the same rules are checked against the real
 * API server in test/e2e/admission/policy-validation.test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AdmissionConfigError, kubernetesCelCheck, maxMatchConditions, mutatingPolicy, validatingPolicy, type CelCheck,
} from "../../../framework/admission/index.ts";
import { samplePolicies } from "../../../operators/policies/index.ts";

const pods = { apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], operations: ["CREATE" as const] };

test("a validating policy and its bindings, as the API server stores them", () => {
  const { policy, bindings } = validatingPolicy("p")
    .forResources(pods)
    .inNamespaces({ matchLabels: { team: "a" } })
    .when("c", "true")
    .variable("v", "1")
    .params({ apiVersion: "v1", kind: "ConfigMap" })
    .failurePolicy("Ignore")
    .validate({ expression: "variables.v == 1", message: "m", reason: "Forbidden" })
    .auditAnnotation("k", "'x'")
    .bind({ validationActions: ["Deny"], paramRef: { name: "cm", namespace: "ns", parameterNotFoundAction: "Deny" } })
    .bind({ validationActions: ["Warn", "Audit"] })
    .build({ labels: { a: "b" } });
  assert.deepEqual(policy, {
    apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicy", metadata: { name: "p", labels: { a: "b" } },
    spec: {
      matchConstraints: { resourceRules: [pods], namespaceSelector: { matchLabels: { team: "a" } } },
      paramKind: { apiVersion: "v1", kind: "ConfigMap" },
      failurePolicy: "Ignore",
      matchConditions: [{ name: "c", expression: "true" }],
      variables: [{ name: "v", expression: "1" }],
      validations: [{ expression: "variables.v == 1", message: "m", reason: "Forbidden" }],
      auditAnnotations: [{ key: "k", valueExpression: "'x'" }],
    },
  });
  assert.deepEqual(bindings.map((b) => [b.metadata.name, b.spec.policyName, b.spec.validationActions]), [["p", "p", ["Deny"]], ["p-2", "p", ["Warn", "Audit"]]]);
});

test("a mutating policy keeps its mutations in order", () => {
  const { policy, bindings } = mutatingPolicy("m").forResources(pods).applyConfiguration("Object{}").jsonPatch("[]").reinvocationPolicy("IfNeeded").bind().build();
  assert.deepEqual(policy.spec.mutations.map((m) => m.patchType), ["ApplyConfiguration", "JSONPatch"]);
  assert.equal(policy.spec.reinvocationPolicy, "IfNeeded");
  assert.deepEqual(bindings[0]!.spec, { policyName: "m" });
});

function refusal(build: () => unknown): string {
  try {
    build();
  } catch (err) {
    assert.ok(err instanceof AdmissionConfigError, String(err));
    return err.message;
  }
  assert.fail("built");
}

test("build-time refusals carry the API server's message", () => {
  const conditions = (n: number) => {
    const b = validatingPolicy("p").forResources(pods).validate({ expression: "true" });
    for (let i = 0; i < n; i++) b.when(`c${i}`, "true");
    return b;
  };
  conditions(maxMatchConditions).build();
  assert.equal(refusal(() => conditions(65).build()),
    `ValidatingAdmissionPolicy.admissionregistration.k8s.io "p" is invalid: spec.matchConditions: Too many: 65: must have at most 64 items`);
  assert.equal(refusal(() => validatingPolicy("p").forResources(pods).validate({ expression: "true" }).bind({ validationActions: ["Deny", "Warn"] }).build()),
    `ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io "p" is invalid: spec.validationActions: Invalid value: ["Deny","Warn"]: ` +
    "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)");
  assert.equal(refusal(() => mutatingPolicy("m").forResources({ ...pods, operations: ["DELETE"] }).jsonPatch("[]").reinvocationPolicy("Never").build()),
    `MutatingAdmissionPolicy.admissionregistration.k8s.io "m" is invalid: spec.matchConstraints.resourceRules.operations: Unsupported value: "DELETE": supported values: "*", "CONNECT", "CREATE", "UPDATE"`);
  assert.match(refusal(() => validatingPolicy("p").forResources(pods).validate({ expression: "true", message: "a\r\nb" }).build()), /must not contain line breaks/);
  assert.match(refusal(() => validatingPolicy("Not_Valid").forResources(pods).validate({ expression: "true" }).build()), /metadata.name: Invalid value: "Not_Valid": a lowercase RFC 1123 subdomain/);
  // Several errors are listed in brackets, as the API server's aggregate.
  assert.match(refusal(() => mutatingPolicy("m").build()), /is invalid: \[spec.matchConstraints.resourceRules: Required value, spec.mutations: Required value: mutations must contain at least one item, spec.reinvocationPolicy: Required value\]/);
});

test("a CelCheck sees every expression with its kind, and its reason refuses the build", () => {
  const seen: string[] = [];
  const cel: CelCheck = (expression, { kind, variables }) => {
    seen.push(`${kind}:${expression}:${variables.join(",")}`);
    return expression === "bad" ? "compilation failed: no" : undefined;
  };
  validatingPolicy("p").forResources(pods).when("c", "m").variable("a", "va").variable("b", "vb")
    .validate({ expression: "e", messageExpression: "me" }).auditAnnotation("k", "ae").build({ cel });
  assert.deepEqual(seen, ["matchCondition:m:", "variable:va:", "variable:vb:a", "validation:e:a,b", "messageExpression:me:a,b", "auditAnnotation:ae:a,b"]);
  assert.match(refusal(() => validatingPolicy("p").forResources(pods).validate({ expression: "bad" }).build({ cel })),
    /spec.validations\[0\].expression: Invalid value: "bad": compilation failed: no/);
});

test("the shipped policies build with the in-process CEL check", () => {
  const sets = samplePolicies();
  assert.deepEqual(sets.map((s) => s.policy.metadata.name), ["gpu-toleration", "gpu-resources-pods", "gpu-resources-templates", "pod-group-scheduler"]);
  assert.match(String(kubernetesCelCheck("object.spec.nodeName ==", { kind: "validation", hasParams: false, variables: [] })), /^compilation failed: ERROR: <input>:1:/);
});

test("expressions are compiled by default; cel: false leaves them to the API server", () => {
  assert.match(refusal(() => validatingPolicy("p").forResources(pods).validate({ expression: "nosuch == 1" }).build()),
    /spec.validations\[0\].expression: Invalid value: "nosuch == 1": compilation failed: ERROR: <input>:1:1: undeclared reference to 'nosuch'/);
  validatingPolicy("p").forResources(pods).validate({ expression: "nosuch == 1" }).build({ cel: false });
  assert.match(refusal(() => validatingPolicy("p").forResources(pods).when("c", "object.metadata.name ==").validate({ expression: "true" }).build()),
    /spec.matchConditions\[0\].expression: Invalid value: "object.metadata.name ==": compilation failed/);
});
