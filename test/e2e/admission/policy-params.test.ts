/**
 * A policy with parameters, built with `params()` and bound with `paramRef`, enforced by the real
 * kube-apiserver: the limit comes from a ConfigMap; a missing parameter object follows
 * `parameterNotFoundAction`; a Warn binding admits; the audit annotation compiles. Each answer
 * equals the in-process evaluation (`evaluateValidatingPolicy` with the param objects).
 * Needs a cluster: `KUBELOOP_CLUSTER_DIR` or `KUBECONFIG` (see `testControlPlane`).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  evaluateValidatingPolicy, installAdmissionPolicies, kubernetesCelCheck, ValidatingAdmissionPolicies, ValidatingAdmissionPolicyBindings, validatingPolicy,
  type ValidatingPolicySet,
} from "../../../framework/admission/index.ts";
import { ApiError, type KubeClient } from "../../../framework/client/index.ts";
import { ConfigMaps, type ConfigMap } from "../../../framework/meta/index.ts";
import { createTestNamespace, deleteTestNamespace, testEnvironment } from "../../../framework/testing/index.ts";

let client: KubeClient;
let namespace: string;
let set: ValidatingPolicySet;

before(async () => {
  ({ client } = await testEnvironment());
  namespace = await createTestNamespace(client, "kubeloop-policy-params");
});

after(async () => {
  if (!client) return;
  for (const b of set?.bindings ?? []) await client.delete(ValidatingAdmissionPolicyBindings, { name: b.metadata.name }).catch(() => {});
  if (set) await client.delete(ValidatingAdmissionPolicies, { name: set.policy.metadata.name }).catch(() => {});
  if (namespace) await deleteTestNamespace(client, namespace);
  client.close();
});

function cm(name: string, keys: number, labels: Record<string, string>): ConfigMap {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace, labels }, data: Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, "v"])) };
}

/** The param objects the API server's informer holds for the policy's paramKind (ConfigMaps). */
const paramObjects: ConfigMap[] = [];

async function refusal(obj: ConfigMap): Promise<ApiError | undefined> {
  let answer: ApiError | undefined;
  try {
    await client.create(ConfigMaps, obj, { dryRun: true });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    answer = e;
  }
  // In-process, every binding, validation denials before configuration errors (as the API server reports them).
  const request = {
    operation: "CREATE" as const, resource: { group: "", version: "v1", resource: "configmaps" }, kind: { group: "", version: "v1", kind: "ConfigMap" },
    namespace, name: obj.metadata!.name!, object: obj,
  };
  const verdicts = set.bindings.map((b) => evaluateValidatingPolicy(set.policy, b, request, { params: { namespaced: true, objects: paramObjects } }));
  const denials = verdicts.flatMap((v) => (v.kind === "evaluated" && v.denied ? [v.denied] : []));
  const local = denials.find((d) => !d.configurationError) ?? denials[0];
  assert.ok(verdicts.every((v) => v.kind !== "refused"), JSON.stringify(verdicts));
  assert.deepEqual(local ? { code: local.code, message: local.message } : undefined, answer ? { code: answer.statusCode, message: answer.status.message } : undefined,
    `${obj.metadata!.name} (${JSON.stringify(obj.metadata!.labels)}): in-process and API server answers`);
  return answer;
}

test("the limit comes from the parameter object; a missing one follows parameterNotFoundAction", async () => {
  const name = `kubeloop-e2e-max-keys-${process.pid}`;
  set = validatingPolicy(name)
    .forResources({ apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"], operations: ["CREATE"] })
    .params({ apiVersion: "v1", kind: "ConfigMap" })
    .when("has-data", "has(object.data)")
    .validate({
      expression: "object.data.size() <= int(params.data.maxKeys)",
      messageExpression: "'at most ' + params.data.maxKeys + ' keys, not ' + string(object.data.size())",
    })
    .auditAnnotation("keys", "string(object.data.size())")
    .bind({
      name: `${name}-deny`, validationActions: ["Deny", "Audit"],
      paramRef: { name: "limits", namespace, parameterNotFoundAction: "Deny" },
      matchResources: { objectSelector: { matchLabels: { binding: "deny" } } },
    })
    .bind({
      name: `${name}-missing`, validationActions: ["Deny"],
      paramRef: { name: "no-such-config", namespace, parameterNotFoundAction: "Deny" },
      matchResources: { objectSelector: { matchLabels: { binding: "missing" } } },
    })
    .bind({
      name: `${name}-allow`, validationActions: ["Deny"],
      paramRef: { name: "no-such-config", namespace, parameterNotFoundAction: "Allow" },
      matchResources: { objectSelector: { matchLabels: { binding: "allow" } } },
    })
    .bind({
      name: `${name}-warn`, validationActions: ["Warn"],
      paramRef: { name: "limits", namespace, parameterNotFoundAction: "Deny" },
      matchResources: { objectSelector: { matchLabels: { binding: "warn" } } },
    })
    .build({ cel: kubernetesCelCheck });
  paramObjects.push(await client.create(ConfigMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "limits", namespace }, data: { maxKeys: "2" } }));
  await installAdmissionPolicies(client, [set]);

  // Enforced once the API server's policy and param informers both have their objects: until
  // then it admits, or reports the param as not found or its informer as not synced (a full test
  // run, where other tests add and remove policies, once took more than 30 s).
  const deadline = Date.now() + 90_000;
  let last = "";
  while (!(last = await client.create(ConfigMaps, cm("big", 3, { binding: "deny" }), { dryRun: true })
    .then(() => "admitted", (e: unknown) => (e instanceof ApiError ? e.status.message ?? "" : String(e)))).includes("at most 2 keys")) {
    assert.ok(Date.now() < deadline, `the policy was never enforced with its param; the API server's last answer: ${last}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const denied = await refusal(cm("big", 3, { binding: "deny" }));
  assert.ok(denied);
  assert.equal(denied.statusCode, 422);
  assert.equal(denied.status.message, `configmaps "big" is forbidden: ValidatingAdmissionPolicy '${name}' with binding '${name}-deny' denied request: at most 2 keys, not 3`);
  assert.equal(await refusal(cm("small", 2, { binding: "deny" })), undefined);

  const missing = await refusal(cm("any", 1, { binding: "missing" }));
  assert.match(missing?.status.message ?? "", new RegExp(`ValidatingAdmissionPolicy '${name}' with binding '${name}-missing' denied request: .*no params found`));
  assert.equal(await refusal(cm("any", 1, { binding: "allow" })), undefined, "parameterNotFoundAction Allow admits");
  assert.equal(await refusal(cm("big", 3, { binding: "warn" })), undefined, "a Warn binding admits");
});
