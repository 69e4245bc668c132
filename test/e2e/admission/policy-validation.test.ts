/**
 * Differential: every rule `framework/admission/validate.ts` enforces when a policy is built is
 * checked against the real kube-apiserver v1.36.3. Each case is an object the builder must refuse;
 * it is sent to the server (dry-run create) and the server's 422 message must equal the local
 * `AdmissionConfigError` message exactly. Valid objects are accepted by both.
 * Needs a cluster: `KUBELOOP_CLUSTER_DIR` or `KUBECONFIG` (see `testControlPlane`).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  AdmissionConfigError, MutatingAdmissionPolicies, MutatingAdmissionPolicyBindings, mutatingAdmissionPolicyBindingErrors, mutatingAdmissionPolicyErrors,
  mutatingPolicy, ValidatingAdmissionPolicies, ValidatingAdmissionPolicyBindings, validatingAdmissionPolicyBindingErrors, validatingAdmissionPolicyErrors,
  allow, kubernetesCelCheck, validatingPolicy, ValidatingWebhookConfigurations, WebhookServer, webhookFor, type AdmissionPolicyObject,
  type CertificateSource, type ValidatingWebhookConfiguration, type WebhookCommon, type MutatingAdmissionPolicy, type MutatingAdmissionPolicyBinding, type ValidatingAdmissionPolicy,
  type ValidatingAdmissionPolicyBinding,
} from "../../../framework/admission/index.ts";
import { ApiError, type KubeClient } from "../../../framework/client/index.ts";
import { ConfigMaps, type KubeObject, type ResourceType } from "../../../framework/meta/index.ts";
import { testEnvironment } from "../../../framework/testing/index.ts";

let client: KubeClient;

before(async () => {
  ({ client } = await testEnvironment());
});
after(() => client?.close());

const av = "admissionregistration.k8s.io/v1" as const;
const pods = { apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], operations: ["CREATE" as const] };

function vap(name: string, spec: Partial<ValidatingAdmissionPolicy["spec"]>): ValidatingAdmissionPolicy {
  return { apiVersion: av, kind: "ValidatingAdmissionPolicy", metadata: { name }, spec: { matchConstraints: { resourceRules: [pods] }, validations: [{ expression: "true" }], ...spec } };
}
function vapb(name: string, spec: Partial<ValidatingAdmissionPolicyBinding["spec"]>): ValidatingAdmissionPolicyBinding {
  return { apiVersion: av, kind: "ValidatingAdmissionPolicyBinding", metadata: { name }, spec: { policyName: "p", validationActions: ["Deny"], ...spec } };
}
function map(name: string, spec: Partial<MutatingAdmissionPolicy["spec"]>): MutatingAdmissionPolicy {
  return {
    apiVersion: av, kind: "MutatingAdmissionPolicy", metadata: { name },
    spec: { matchConstraints: { resourceRules: [pods] }, reinvocationPolicy: "Never", mutations: [{ patchType: "JSONPatch", jsonPatch: { expression: patchExpr } }], ...spec },
  };
}
function mapb(name: string, spec: Partial<MutatingAdmissionPolicyBinding["spec"]>): MutatingAdmissionPolicyBinding {
  return { apiVersion: av, kind: "MutatingAdmissionPolicyBinding", metadata: { name }, spec: { policyName: "p", ...spec } };
}

function localError(obj: AdmissionPolicyObject): AdmissionConfigError | undefined {
  const errs = obj.kind === "ValidatingAdmissionPolicy" ? validatingAdmissionPolicyErrors(obj)
    : obj.kind === "ValidatingAdmissionPolicyBinding" ? validatingAdmissionPolicyBindingErrors(obj)
      : obj.kind === "MutatingAdmissionPolicy" ? mutatingAdmissionPolicyErrors(obj)
        : mutatingAdmissionPolicyBindingErrors(obj);
  return errs.list.length ? new AdmissionConfigError(obj.kind, obj.metadata.name, errs.list) : undefined;
}

function typeOf(obj: AdmissionPolicyObject): ResourceType<KubeObject> {
  const t = { ValidatingAdmissionPolicy: ValidatingAdmissionPolicies, ValidatingAdmissionPolicyBinding: ValidatingAdmissionPolicyBindings,
    MutatingAdmissionPolicy: MutatingAdmissionPolicies, MutatingAdmissionPolicyBinding: MutatingAdmissionPolicyBindings }[obj.kind];
  return t as ResourceType<KubeObject>;
}

/** The server's answer to a dry-run create: undefined when accepted, else the Status message. */
async function serverMessage(obj: AdmissionPolicyObject): Promise<string | undefined> {
  try {
    await client.create(typeOf(obj), obj, { dryRun: true });
    return undefined;
  } catch (error) {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.statusCode, 422, `${obj.kind} ${obj.metadata.name}: want 422, got ${error.statusCode} ${error.status.message}`);
    return error.status.message;
  }
}

const patchExpr = '[JSONPatch{op: "test", path: "/kind", value: "Pod"}]';
const many = Array.from({ length: 65 }, (_, i) => ({ name: `c${i}`, expression: "true" }));

const refused: Array<[string, AdmissionPolicyObject]> = [
  ["more than 64 matchConditions", vap("too-many-conditions", { matchConditions: many })],
  ["a message with a line break", vap("newline-message", { validations: [{ expression: "true", message: "first\nsecond" }] })],
  ["a blank message", vap("blank-message", { validations: [{ expression: "true", message: "   " }] })],
  ["a blank messageExpression", vap("blank-message-expression", { validations: [{ expression: "true", messageExpression: "  " }] })],
  ["an unsupported reason", vap("bad-reason", { validations: [{ expression: "true", reason: "Unauthorized" as "Invalid" }] })],
  ["a name that is not a DNS subdomain", vap("Bad_Name", {})],
  ["neither validations nor auditAnnotations", vap("empty", { validations: [] })],
  ["duplicate matchCondition names", vap("dup-conditions", { matchConditions: [{ name: "a", expression: "true" }, { name: "a", expression: "true" }] })],
  ["a matchCondition name that is not a qualified name", vap("bad-condition-name", { matchConditions: [{ name: "-a", expression: "true" }] })],
  ["a variable name that is not a CEL identifier", vap("bad-variable", { variables: [{ name: "1x", expression: "1" }] })],
  ["a reserved word as a variable name", vap("reserved-variable", { variables: [{ name: "in", expression: "1" }] })],
  ["duplicate audit annotation keys", vap("dup-audit", { validations: [], auditAnnotations: [{ key: "k", valueExpression: "'a'" }, { key: "k", valueExpression: "'b'" }] })],
  ["no resourceRules", vap("no-rules", { matchConstraints: {} })],
  ["'*' with other operations", vap("wild-ops", { matchConstraints: { resourceRules: [{ ...pods, operations: ["*", "CREATE"] }] } })],
  ["'*' with other resources", vap("wild-res", { matchConstraints: { resourceRules: [{ ...pods, resources: ["*", "pods"] }] } })],
  ["an unknown failurePolicy", vap("bad-failure", { failurePolicy: "Retry" as "Fail" })],
  ["a paramKind without kind", vap("bad-param-kind", { paramKind: { apiVersion: "v1", kind: "" } })],
  ["'*' with other API groups", vap("wild-groups", { matchConstraints: { resourceRules: [{ ...pods, apiGroups: ["*", "apps"] }] } })],
  ["'*' with other API versions and an empty version", vap("wild-versions", { matchConstraints: { resourceRules: [{ ...pods, apiVersions: ["*", ""] }] } })],
  ["no apiGroups, apiVersions or resources", vap("empty-rule", { matchConstraints: { resourceRules: [{ apiGroups: [], apiVersions: [], resources: [], operations: ["CREATE"] }] } })],
  ["an unknown operation", vap("bad-op", { matchConstraints: { resourceRules: [{ ...pods, operations: ["PATCH" as "CREATE"] }] } })],
  ["an unknown scope", vap("bad-scope", { matchConstraints: { resourceRules: [{ ...pods, scope: "Global" as "*" }] } })],
  ["'*/*' with other resources", vap("double-wild", { matchConstraints: { resourceRules: [{ ...pods, resources: ["*/*", "pods"] }] } })],
  ["'pods/*' with 'pods/status'", vap("sub-wild", { matchConstraints: { resourceRules: [{ ...pods, resources: ["pods/*", "pods/status"] }] } })],
  ["duplicate and bad resourceNames", vap("bad-resource-names", { matchConstraints: { resourceRules: [{ ...pods, resourceNames: ["a", "a", "b/c", ".."] }] } })],
  ["a bad excludeResourceRule", vap("bad-exclude", { matchConstraints: { resourceRules: [pods], excludeResourceRules: [{ ...pods, operations: [] }] } })],
  ["an unknown matchPolicy", vap("bad-match-policy", { matchConstraints: { resourceRules: [pods], matchPolicy: "Loose" as "Exact" } })],
  ["a selector with In and no values", vap("bad-selector-in", { matchConstraints: { resourceRules: [pods], objectSelector: { matchExpressions: [{ key: "a", operator: "In" }] } } })],
  ["a selector with Exists and values", vap("bad-selector-exists", { matchConstraints: { resourceRules: [pods], namespaceSelector: { matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] } } })],
  ["a selector with a bad label key", vap("bad-selector-key", { matchConstraints: { resourceRules: [pods], objectSelector: { matchLabels: { "-bad": "x" } } } })],
  ["a paramKind with a bad apiVersion", vap("bad-param-version", { paramKind: { apiVersion: "a/b/c", kind: "K" } })],
  ["a paramKind without apiVersion", vap("no-param-version", { paramKind: { apiVersion: "", kind: "K" } })],
  ["more than 20 auditAnnotations", vap("many-audits", { validations: [], auditAnnotations: Array.from({ length: 21 }, (_, i) => ({ key: `k${i}`, valueExpression: "'a'" })) })],
  ["an audit valueExpression over 5 KiB", vap("long-audit", { validations: [], auditAnnotations: [{ key: "k", valueExpression: `'${"a".repeat(5200)}'` }] })],
  ["an audit key that is not a qualified name", vap("bad-audit-key", { validations: [], auditAnnotations: [{ key: "-k-", valueExpression: "'a'" }] })],
  ["a blank expression", vap("blank-expression", { validations: [{ expression: "  " }] })],
  ["a paramRef with a selector and Allow", vapb("selector-param-ref", { paramRef: { selector: { matchExpressions: [{ key: "a", operator: "In" }] }, parameterNotFoundAction: "Allow" } })],
  ["a paramRef with neither name nor selector", vapb("empty-param-ref", { paramRef: { parameterNotFoundAction: "Maybe" as "Allow" } })],
  ["a paramRef name with a slash", vapb("slash-param-ref", { paramRef: { name: "a/b", parameterNotFoundAction: "Deny" } })],
  ["an unknown validationAction", vapb("bad-action", { validationActions: ["Block" as "Deny"] })],
  ["Deny with Warn", vapb("deny-warn", { validationActions: ["Deny", "Warn"] })],
  ["no validationActions", vapb("no-actions", { validationActions: [] })],
  ["a duplicate validationAction", vapb("dup-action", { validationActions: ["Audit", "Audit"] })],
  ["paramRef with name and selector, no parameterNotFoundAction", vapb("bad-param-ref", { paramRef: { name: "x", selector: {} } as never })],
  ["a binding naming an invalid policy", vapb("bad-policy-name", { policyName: "Not_A_Name" })],
  ["DELETE in a mutating policy", map("delete-map", { matchConstraints: { resourceRules: [{ ...pods, operations: ["CREATE", "DELETE"] }] } })],
  ["no mutations", map("no-mutations", { mutations: [] })],
  ["no reinvocationPolicy", map("no-reinvocation", { reinvocationPolicy: "" as "Never" })],
  ["an unknown reinvocationPolicy", map("bad-reinvocation", { reinvocationPolicy: "Always" as "Never" })],
  ["a JSONPatch mutation that also has applyConfiguration", map("both-patches", { mutations: [{ patchType: "JSONPatch", jsonPatch: { expression: patchExpr }, applyConfiguration: { expression: "Object{}" } } as never] })],
  ["a JSONPatch mutation without jsonPatch", map("missing-patch", { mutations: [{ patchType: "JSONPatch" } as never] })],
  ["an unknown patchType", map("bad-patch-type", { mutations: [{ patchType: "MergePatch" } as never] })],
  ["an ApplyConfiguration mutation without applyConfiguration", map("missing-apply", { mutations: [{ patchType: "ApplyConfiguration" } as never] })],
  ["a mutation without patchType", map("no-patch-type", { mutations: [{ jsonPatch: { expression: "x" } } as never] })],
  ["DELETE in a mutating binding", mapb("delete-mapb", { matchResources: { resourceRules: [{ ...pods, operations: ["DELETE"] }] } })],
];

for (const [what, obj] of refused) {
  test(`refused locally and by the API server with the same message: ${what}`, async () => {
    const local = localError(obj);
    assert.ok(local, `${what}: accepted locally`);
    const server = await serverMessage(obj);
    assert.ok(server, `${what}: accepted by the API server`);
    assert.equal(local.message, server);
  });
}

const accepted: Array<[string, AdmissionPolicyObject]> = [
  ["64 matchConditions", vap("sixty-four", { matchConditions: many.slice(0, 64) })],
  ["a message without line breaks, reason Forbidden", vap("ok-message", { validations: [{ expression: "true", message: "ok", reason: "Forbidden" }] })],
  ["auditAnnotations only", vap("audit-only", { validations: [], auditAnnotations: [{ key: "k", valueExpression: "'a'" }] })],
  ["Deny with Audit", vapb("deny-audit", { validationActions: ["Deny", "Audit"] })],
  ["Warn with Audit", vapb("warn-audit", { validationActions: ["Warn", "Audit"] })],
  ["a mutating policy on CREATE, UPDATE and CONNECT", map("ok-map", { matchConstraints: { resourceRules: [{ ...pods, operations: ["CREATE", "UPDATE", "CONNECT"] }] } })],
  ["a mutating binding", mapb("ok-mapb", {})],
];

for (const [what, obj] of accepted) {
  test(`accepted locally and by the API server: ${what}`, async () => {
    assert.equal(localError(obj)?.message, undefined);
    assert.equal(await serverMessage(obj), undefined);
  });
}

test("the builders throw what the API server answers", async () => {
  const builders: Array<[() => unknown, AdmissionPolicyObject]> = [
    [() => validatingPolicy("newline-message").forResources(pods).validate({ expression: "true", message: "first\nsecond" }).build(),
      vap("newline-message", { validations: [{ expression: "true", message: "first\nsecond" }] })],
    [() => validatingPolicy("p").forResources(pods).validate({ expression: "true" }).bind({ name: "deny-warn", validationActions: ["Deny", "Warn"] }).build(),
      vapb("deny-warn", { validationActions: ["Deny", "Warn"] })],
    [() => mutatingPolicy("delete-map").forResources({ ...pods, operations: ["CREATE", "DELETE"] }).jsonPatch(patchExpr).reinvocationPolicy("Never").build(),
      map("delete-map", { matchConstraints: { resourceRules: [{ ...pods, operations: ["CREATE", "DELETE"] }] } })],
    [() => mutatingPolicy("no-reinvocation").forResources(pods).jsonPatch(patchExpr).build(), map("no-reinvocation", { reinvocationPolicy: "" as "Never" })],
  ];
  for (const [build, raw] of builders) {
    const server = await serverMessage(raw);
    assert.throws(build, (err: unknown) => err instanceof AdmissionConfigError && err.message === server, `want ${server}`);
  }
});

test("with kubernetesCelCheck, an expression that does not compile is refused at build time, at the field the API server names", async () => {
  const cases: Array<[string, string]> = [
    ["nosuch.x == 1", "undeclared reference to 'nosuch'"],
    ["object.metadata.name == 1 +", "Syntax error"],
  ];
  for (const [expression, reason] of cases) {
    const raw = vap("cel-refused", { validations: [{ expression }] });
    const server = await serverMessage(raw);
    assert.ok(server?.includes(`spec.validations[0].expression: Invalid value: ${JSON.stringify(expression)}: compilation failed: ERROR: <input>:1:`), server);
    assert.throws(() => validatingPolicy("cel-refused").forResources(pods).validate({ expression }).build({ cel: kubernetesCelCheck }), (err: unknown) =>
      err instanceof AdmissionConfigError && err.errors[0]?.field === "spec.validations[0].expression" &&
      err.message.startsWith(`ValidatingAdmissionPolicy.admissionregistration.k8s.io "cel-refused" is invalid: spec.validations[0].expression: Invalid value: ${JSON.stringify(expression)}: compilation failed: ERROR: <input>:1:`) &&
      err.message.includes(reason));
    if (reason.startsWith("undeclared")) assert.ok(server?.includes(reason), server);
  }
});

test("webhook registrations the API server would refuse are refused with its message", async () => {
  const noCertificates: CertificateSource = {
    current: () => assert.fail("not needed"), caBundle: () => "", onChange: () => () => {},
  };
  const cases: Array<[string, Partial<WebhookCommon> & { name: string }]> = [
    ["a name with two segments", { name: "short.name" }],
    ["a name that is not a DNS subdomain", { name: "Upper.Case.Name" }],
    ["a timeout over 30 s", { name: "slow.configmaps.example.dev", timeoutSeconds: 31 }],
    ["65 matchConditions", { name: "many.configmaps.example.dev", matchConditions: many }],
    ["'*' with other operations", { name: "ops.configmaps.example.dev", rules: [{ apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"], operations: ["*", "CREATE"] }] }],
  ];
  for (const [what, hook] of cases) {
    const webhook: WebhookCommon = {
      clientConfig: { url: "https://127.0.0.1:9443/x" }, rules: [{ apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"], operations: ["CREATE", "UPDATE"] }],
      failurePolicy: "Fail", sideEffects: "None", timeoutSeconds: 10, admissionReviewVersions: ["v1"], ...hook,
    };
    const raw: ValidatingWebhookConfiguration = { apiVersion: av, kind: "ValidatingWebhookConfiguration", metadata: { name: "cfg" }, webhooks: [webhook] };
    let server: string | undefined;
    try {
      await client.create(ValidatingWebhookConfigurations, raw, { dryRun: true });
    } catch (e) {
      assert.ok(e instanceof ApiError && e.statusCode === 422, String(e));
      server = e.status.message;
    }
    assert.ok(server, `${what}: accepted by the API server`);
    const b = webhookFor(new WebhookServer({ certificates: noCertificates, configurationName: "cfg" }), ConfigMaps).named(hook.name);
    if (hook.timeoutSeconds) b.timeoutSeconds(hook.timeoutSeconds);
    for (const c of hook.matchConditions ?? []) b.when(c.name, c.expression);
    if (hook.rules) b.operations(...hook.rules[0]!.operations);
    assert.throws(() => b.validate(() => allow()), (err: unknown) => err instanceof AdmissionConfigError && err.message === server, `${what}: want ${server}`);
  }
});
