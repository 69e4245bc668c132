/**
 * The shipped policies (`operators/policies`) installed on the real kube-apiserver with
 * `installAdmissionPolicies` (which waits for kube-controller-manager's type checker and would
 * fail on any expression warning), then enforced by it, each with its own message; and
 * `installAdmissionPolicies` refusing a policy the type checker warns about.
 * Needs a cluster: `KUBELOOP_CLUSTER_DIR` or `KUBECONFIG` (see `testControlPlane`).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  installAdmissionPolicies, MutatingAdmissionPolicies, MutatingAdmissionPolicyBindings, PolicyTypeCheckError, ValidatingAdmissionPolicies,
  ValidatingAdmissionPolicyBindings, validatingPolicy, type AdmissionPolicyObject,
} from "../../../framework/admission/index.ts";
import { installCustomResourceDefinitions } from "../../../framework/api/index.ts";
import { ApiError, type KubeClient } from "../../../framework/client/index.ts";
import { ConfigMaps, Pods, type KubeObject, type Pod, type ResourceType } from "../../../framework/meta/index.ts";
import { createTestNamespace, deleteTestNamespace, testEnvironment } from "../../../framework/testing/index.ts";
import { gangSchedulerName, podGroupLabel, samplePolicies } from "../../../operators/policies/index.ts";
import { ReplicaSetDefinition, ReplicaSets, type ReplicaSet } from "../../../operators/replicaset/api.ts";

let client: KubeClient;
let namespace: string;
const installed: AdmissionPolicyObject[] = [];

before(async () => {
  ({ client } = await testEnvironment());
  await installCustomResourceDefinitions(client, [ReplicaSetDefinition.crd()], { fieldManager: "kubeloop-policies-e2e" });
  namespace = await createTestNamespace(client, "kubeloop-policies-e2e");
});

after(async () => {
  if (!client) return;
  const types: Record<string, ResourceType<KubeObject>> = {
    ValidatingAdmissionPolicy: ValidatingAdmissionPolicies as ResourceType<KubeObject>, ValidatingAdmissionPolicyBinding: ValidatingAdmissionPolicyBindings as ResourceType<KubeObject>,
    MutatingAdmissionPolicy: MutatingAdmissionPolicies as ResourceType<KubeObject>, MutatingAdmissionPolicyBinding: MutatingAdmissionPolicyBindings as ResourceType<KubeObject>,
  };
  for (const o of installed) await client.delete(types[o.kind]!, { name: o.metadata.name }).catch(() => {});
  if (namespace) await deleteTestNamespace(client, namespace);
  client.close();
});

function pod(name: string, opts: { gpus?: { requests?: string | number; limits?: string | number }; labels?: Record<string, string>; schedulerName?: string; tolerations?: Pod["spec"] extends infer S ? S extends { tolerations?: infer T } ? T : never : never } = {}): Pod {
  const resources: Record<string, Record<string, string | number>> = {};
  if (opts.gpus?.requests !== undefined) resources.requests = { "nvidia.com/gpu": opts.gpus.requests };
  if (opts.gpus?.limits !== undefined) resources.limits = { "nvidia.com/gpu": opts.gpus.limits };
  return {
    apiVersion: "v1", kind: "Pod", metadata: { name, namespace, labels: opts.labels ?? {} },
    spec: {
      containers: [{ name: "main", image: "registry.k8s.io/pause:3.10", resources: resources as never }],
      ...(opts.schedulerName ? { schedulerName: opts.schedulerName } : {}),
      ...(opts.tolerations ? { tolerations: opts.tolerations } : {}),
    },
  } as Pod;
}

function replicaSet(name: string, gpus: { requests?: string | number; limits?: string | number }): ReplicaSet {
  const resources: Record<string, Record<string, string | number>> = {};
  if (gpus.requests !== undefined) resources.requests = { "nvidia.com/gpu": gpus.requests };
  if (gpus.limits !== undefined) resources.limits = { "nvidia.com/gpu": gpus.limits };
  return {
    apiVersion: ReplicaSets.apiVersion, kind: ReplicaSets.kind, metadata: { name, namespace },
    spec: {
      replicas: 1, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "trainer", image: "registry.k8s.io/pause:3.10", resources }] } },
    },
  } as unknown as ReplicaSet;
}

async function refusal(create: () => Promise<unknown>): Promise<ApiError | undefined> {
  try {
    await create();
    return undefined;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
}

/** Retries until the API server's policy informers have the policies (about a second). */
async function eventually(what: string, fn: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test("the shipped policies install with no type-checking warnings", async () => {
  installed.push(...await installAdmissionPolicies(client, samplePolicies(), { fieldManager: "kubeloop-policies-e2e" }));
  const vaps = installed.filter((o) => o.kind === "ValidatingAdmissionPolicy");
  assert.equal(vaps.length, 3);
  for (const p of vaps) {
    const stored = await client.get(ValidatingAdmissionPolicies, { name: p.metadata.name });
    assert.equal(stored.status?.observedGeneration, stored.metadata.generation);
    assert.deepEqual(stored.status?.typeChecking?.expressionWarnings ?? [], []);
  }
  // Wait until the API server enforces them.
  await eventually("pod-group-scheduler to be enforced", async () =>
    (await refusal(() => client.create(Pods, pod("probe", { labels: { [podGroupLabel]: "g" } }), { dryRun: true }))) !== undefined);
  await eventually("gpu-resources-templates to be enforced", async () =>
    (await refusal(() => client.create(ReplicaSets, replicaSet("probe", { requests: 1, limits: 2 }), { dryRun: true }))) !== undefined);
  await eventually("gpu-toleration to be applied", async () =>
    ((await client.create(Pods, pod("probe-gpu", { gpus: { limits: 1 } }), { dryRun: true })).spec?.tolerations ?? []).some((t) => t.key === "nvidia.com/gpu"));
});

test("pod-group-scheduler: a PodGroup pod on the default scheduler is refused with the policy's message", async () => {
  const err = await refusal(() => client.create(Pods, pod("gang-0", { labels: { [podGroupLabel]: "trainers" } }), { dryRun: true }));
  assert.ok(err);
  assert.equal(err.statusCode, 403);
  assert.equal(err.status.message, `pods "gang-0" is forbidden: ValidatingAdmissionPolicy 'pod-group-scheduler' with binding 'pod-group-scheduler' denied request: ` +
    `pod of PodGroup trainers must set spec.schedulerName to ${gangSchedulerName}, not default-scheduler`);
  const ok = await client.create(Pods, pod("gang-1", { labels: { [podGroupLabel]: "trainers" }, schedulerName: gangSchedulerName }), { dryRun: true });
  assert.equal(ok.spec?.schedulerName, gangSchedulerName);
  // Without the label the policy does not apply.
  await client.create(Pods, pod("plain"), { dryRun: true });
});

test("gpu-toleration: pods requesting GPUs get nvidia.com/gpu:NoSchedule once, as ExtendedResourceToleration adds it", async () => {
  const created = await client.create(Pods, pod("gpu-0", { gpus: { requests: 2, limits: 2 } }), { dryRun: true });
  const gpuTolerations = (created.spec?.tolerations ?? []).filter((t) => t.key === "nvidia.com/gpu");
  assert.deepEqual(gpuTolerations, [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
  // The defaults (not-ready/unreachable NoExecute from DefaultTolerationSeconds) are kept.
  assert.ok((created.spec?.tolerations ?? []).some((t) => t.key === "node.kubernetes.io/not-ready"));
  const already = await client.create(Pods, pod("gpu-1", { gpus: { limits: 1 }, tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }] }), { dryRun: true });
  assert.equal((already.spec?.tolerations ?? []).filter((t) => t.key === "nvidia.com/gpu").length, 1);
  // A toleration of the key with no effect is not equal: the NoSchedule one is appended, as AddOrUpdateTolerationInPod does.
  const keyOnly = await client.create(Pods, pod("gpu-2", { gpus: { limits: 1 }, tolerations: [{ key: "nvidia.com/gpu", operator: "Exists" }] }), { dryRun: true });
  assert.deepEqual((keyOnly.spec?.tolerations ?? []).filter((t) => t.key === "nvidia.com/gpu"),
    [{ key: "nvidia.com/gpu", operator: "Exists" }, { key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
  // Init containers count too.
  const init = await client.create(Pods, { ...pod("gpu-3"), spec: { ...pod("gpu-3").spec!, initContainers: [{ name: "warmup", image: "registry.k8s.io/pause:3.10", resources: { limits: { "nvidia.com/gpu": 1 } as never } }] } }, { dryRun: true });
  assert.equal((init.spec?.tolerations ?? []).filter((t) => t.key === "nvidia.com/gpu").length, 1);
  const cpu = await client.create(Pods, pod("cpu-0"), { dryRun: true });
  assert.equal((cpu.spec?.tolerations ?? []).filter((t) => t.key === "nvidia.com/gpu").length, 0);
});

test("gpu-resources-templates: a kubeloop ReplicaSet whose template asks for fractional or unequal GPUs is refused with the policy's message", async () => {
  const fractional = await refusal(() => client.create(ReplicaSets, replicaSet("frac", { requests: "1500m", limits: "1500m" }), { dryRun: true }));
  assert.ok(fractional);
  assert.equal(fractional.statusCode, 422);
  assert.equal(fractional.status.message, `replicasets.apps.kubeloop.dev "frac" is forbidden: ValidatingAdmissionPolicy 'gpu-resources-templates' with binding 'gpu-resources-templates' denied request: ` +
    "nvidia.com/gpu must be a whole number of GPUs; not so in container(s) trainer");
  const unequal = await refusal(() => client.create(ReplicaSets, replicaSet("unequal", { requests: 1, limits: 2 }), { dryRun: true }));
  assert.ok(unequal);
  assert.equal(unequal.status.message, `replicasets.apps.kubeloop.dev "unequal" is forbidden: ValidatingAdmissionPolicy 'gpu-resources-templates' with binding 'gpu-resources-templates' denied request: ` +
    "nvidia.com/gpu limits must be set and equal requests; not so in container(s) trainer");
  const noLimit = await refusal(() => client.create(ReplicaSets, replicaSet("no-limit", { requests: 1 }), { dryRun: true }));
  assert.match(noLimit?.status.message ?? "", /limits must be set and equal requests/);
  await client.create(ReplicaSets, replicaSet("fine", { requests: 4, limits: 4 }), { dryRun: true });
});

test("gpu-resources-pods: for pods, kube-apiserver's own validation refuses unequal or fractional GPUs first (the policy is a backstop)", async () => {
  const unequal = await refusal(() => client.create(Pods, pod("unequal", { gpus: { requests: 1, limits: 2 } }), { dryRun: true }));
  assert.equal(unequal?.statusCode, 422);
  assert.match(unequal?.status.message ?? "", /must be equal to nvidia.com\/gpu limit of 2/);
  const fractional = await refusal(() => client.create(Pods, pod("frac", { gpus: { limits: "500m" } }), { dryRun: true }));
  assert.match(fractional?.status.message ?? "", /must be an integer/);
});

test("installAdmissionPolicies fails on the type checker's expression warnings", async () => {
  const bad = validatingPolicy("kubeloop-e2e-type-error")
    .forResources({ apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], operations: ["CREATE"] })
    .validate({ expression: "object.spec.noSuchField == 1" })
    .build();
  installed.push(bad.policy);
  await assert.rejects(installAdmissionPolicies(client, [bad]), (err: unknown) =>
    err instanceof PolicyTypeCheckError && err.warnings[0]?.fieldRef === "spec.validations[0].expression" && /undefined field 'noSuchField'/.test(err.message));
});

test("an expression that errors at run time follows the policy's failurePolicy", async () => {
  const expression = "object.data['missing'] == 'x'";
  const build = (name: string, failurePolicy: "Fail" | "Ignore") => validatingPolicy(name)
    .forResources({ apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"], operations: ["CREATE"] })
    .forObjects({ matchLabels: { "runtime-error": name } })
    .failurePolicy(failurePolicy)
    .validate({ expression, message: "never shown" })
    .validate({ expression: "false", message: "the second rule of " + name })
    .bind({ validationActions: ["Deny"] })
    .build();
  const sets = [build("kubeloop-e2e-runtime-fail", "Fail"), build("kubeloop-e2e-runtime-ignore", "Ignore")];
  installed.push(...await installAdmissionPolicies(client, sets));
  const cm = (name: string) => ({ apiVersion: "v1" as const, kind: "ConfigMap" as const, metadata: { name: "rt", namespace, labels: { "runtime-error": name } }, data: { a: "b" } });
  let failed: ApiError | undefined;
  await eventually("the Fail policy to act", async () => {
    failed = await refusal(() => client.create(ConfigMaps, cm("kubeloop-e2e-runtime-fail"), { dryRun: true }));
    return failed !== undefined;
  });
  assert.equal(failed!.status.message, `configmaps "rt" is forbidden: ValidatingAdmissionPolicy 'kubeloop-e2e-runtime-fail' with binding 'kubeloop-e2e-runtime-fail' denied request: ` +
    `expression '${expression}' resulted in error: no such key: missing`);
  // Ignore: the erroring rule is skipped; the second rule still denies, with its own message.
  let ignored: ApiError | undefined;
  await eventually("the Ignore policy to act", async () => {
    ignored = await refusal(() => client.create(ConfigMaps, cm("kubeloop-e2e-runtime-ignore"), { dryRun: true }));
    return ignored !== undefined;
  });
  assert.equal(ignored!.statusCode, 422); // the reason (Invalid) sets the code; the text still says "forbidden"
  assert.equal(ignored!.status.message, `configmaps "rt" is forbidden: ValidatingAdmissionPolicy 'kubeloop-e2e-runtime-ignore' with binding 'kubeloop-e2e-runtime-ignore' denied request: ` +
    "the second rule of kubeloop-e2e-runtime-ignore");
});
