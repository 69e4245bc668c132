/**
 * The GPU placement operator's inventory and admission on a real control plane with kwok GPU
 * nodes of two products: the policy status (inventory per product, whole free nodes, stranded
 * GPUs, conditions) follows pods being bound and deleted, DRA ResourceSlices and a claim the
 * built-in kube-scheduler allocates count too, the `kubeloop_gpu_*` metrics agree, and bad input
 * is refused at admission with the API server's own messages.
 */
import { after, before, test } from "node:test";
import { ApiError } from "../../../../framework/client/index.ts";
import { Pods, resourceType, type KubeObject } from "../../../../framework/meta/index.ts";
import { createTestNamespace, deleteTestNamespace } from "../../../../framework/testing/index.ts";
import { GPUPlacementPolicies } from "../../../../operators/gpu-placement/api.ts";
import { ResourceClaims, ResourceSlices } from "../../../../operators/gpu-placement/dra.ts";
import {
  A100, assert, bind, connect, createPolicy, deletePolicy, eventually, gpuNodes, gpuPod, H100, disconnect, removeNodes, startOperator, type Cluster, type Operator,
} from "./harness.ts";

let cluster: Cluster;
let op: Operator;
let ns: string;
const nodes: string[] = [];
const policies: string[] = [];

before(async () => {
  cluster = await connect();
  ns = await createTestNamespace(cluster.client, "gpu-inventory");
  nodes.push(...await gpuNodes(cluster, "inv-a100-", 2, { gpus: 8, gpuProduct: A100, gpuMemoryMiB: 81920 }));
  nodes.push(...await gpuNodes(cluster, "inv-h100-", 2, { gpus: 8, gpuProduct: H100, gpuMemoryMiB: 81559 }));
  op = await startOperator(cluster, "gpu-inventory-e2e");
});

after(async () => {
  await op?.stop();
  for (const p of policies) await deletePolicy(cluster, p);
  if (ns) await deleteTestNamespace(cluster.client, ns);
  await removeNodes(cluster, nodes);
  disconnect(cluster);
});

async function statusOf(name: string) {
  return (await cluster.client.get(GPUPlacementPolicies, { name })).status;
}

async function metric(name: string, labels: Record<string, string>): Promise<number | undefined> {
  const m = await op.mgr.metrics.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value;
}

test("bad input is refused at admission with the API server's messages", async () => {
  // An unknown strategy: the CRD schema's enum.
  await assert.rejects(createPolicy(cluster, "bad-strategy", { selector: {}, strategy: "Packed" as "BinPack" }), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.statusCode, 422);
    // The schema error, then the API server's note that CEL rules (the selector's) were skipped.
    assert.equal(err.status.message,
      'GPUPlacementPolicy.scheduling.kubeloop.dev "bad-strategy" is invalid: [spec.strategy: Unsupported value: "Packed": supported values: "BinPack", "Spread", ' +
      "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation]");
    return true;
  });
  await assert.rejects(createPolicy(cluster, "bad-weight", { selector: {}, weight: 11 }), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.status.message, 'GPUPlacementPolicy.scheduling.kubeloop.dev "bad-weight" is invalid: spec.weight: Invalid value: 11: spec.weight in body should be less than or equal to 10');
    return true;
  });
  // A fractional GPU: the API server's own pod validation (extended resources are whole numbers).
  const half = gpuPod(ns, "half-gpu", 0);
  half.spec!.containers[0]!.resources = { requests: { "nvidia.com/gpu": "0.5" }, limits: { "nvidia.com/gpu": "0.5" } };
  await assert.rejects(cluster.client.create(Pods, half), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.statusCode, 422);
    assert.equal(err.status.message,
      'Pod "half-gpu" is invalid: [spec.containers[0].resources.limits[nvidia.com/gpu]: Invalid value: "500m": must be an integer, spec.containers[0].resources.requests[nvidia.com/gpu]: Invalid value: "500m": must be an integer]');
    return true;
  });
  // Request and limit must be equal (extended resources cannot be overcommitted).
  const uneven = gpuPod(ns, "uneven-gpu", 0);
  uneven.spec!.containers[0]!.resources = { requests: { "nvidia.com/gpu": "1" }, limits: { "nvidia.com/gpu": "2" } };
  await assert.rejects(cluster.client.create(Pods, uneven), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.status.message, 'Pod "uneven-gpu" is invalid: spec.containers[0].resources.requests: Invalid value: "1": must be equal to nvidia.com/gpu limit of 2');
    return true;
  });
  const noLimit = gpuPod(ns, "no-limit-gpu", 0);
  noLimit.spec!.containers[0]!.resources = { requests: { "nvidia.com/gpu": "1" } };
  await assert.rejects(cluster.client.create(Pods, noLimit), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.status.message, 'Pod "no-limit-gpu" is invalid: spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources');
    return true;
  });
});

test("the policy status reports the inventory per product, whole free nodes and stranded GPUs as pods come and go", async () => {
  policies.push("train-a100");
  await createPolicy(cluster, "train-a100", { selector: { matchLabels: { app: "train" } }, requiredProducts: [A100], minGPUMemoryMiB: 40960 });
  const [a0, a1] = nodes;
  const five = await cluster.client.create(Pods, gpuPod(ns, "five", 5, { labels: { app: "batch" } }));
  await bind(cluster, five, a0!);
  await cluster.client.create(Pods, gpuPod(ns, "eight", 8)); // pending, selected: the largest request
  await eventually("status with 5 GPUs allocated on an A100 node", async () => {
    const s = await statusOf("train-a100");
    assert.equal(s?.observedGeneration, 1);
    assert.deepEqual(s?.inventory, [
      { product: A100, nodes: 2, total: 16, allocated: 5, free: 11 },
      { product: H100, nodes: 2, total: 16, allocated: 0, free: 16 },
    ]);
    assert.equal(s?.eligibleNodes, 2);
    assert.equal(s?.wholeFreeNodes, 1);
    assert.equal(s?.largestRequest, 8);
    assert.equal(s?.selectedPods, 1);
    assert.equal(s?.strandedGPUs, 3);
    const fits = s?.conditions?.find((c) => c.type === "LargestRequestFits");
    assert.equal(fits?.status, "True");
    assert.equal(s?.conditions?.find((c) => c.type === "Ready")?.status, "True");
  });
  assert.equal(await metric("kubeloop_gpu_allocated", { product: A100 }), 5);
  assert.equal(await metric("kubeloop_gpu_free", { product: H100 }), 16);
  assert.equal(await metric("kubeloop_gpu_stranded", { policy: "train-a100", product: A100 }), 3);
  assert.equal(await metric("kubeloop_gpu_whole_free_nodes", { policy: "train-a100" }), 1);

  // A 2-GPU pod on the other A100 node: no A100 node can take 8 any more.
  const two = await cluster.client.create(Pods, gpuPod(ns, "two", 2, { labels: { app: "batch" } }));
  await bind(cluster, two, a1!);
  await eventually("LargestRequestFits False", async () => {
    const s = await statusOf("train-a100");
    assert.equal(s?.wholeFreeNodes, 0);
    assert.equal(s?.strandedGPUs, 3 + 6);
    const fits = s?.conditions?.find((c) => c.type === "LargestRequestFits");
    assert.deepEqual([fits?.status, fits?.reason, fits?.message], ["False", "NoNodeHasRoom", "no eligible node has 8 free GPUs (at most 6 on one node; 9 free GPUs stranded)"]);
  });

  // The pods go: everything is free again.
  await cluster.client.delete(Pods, { namespace: ns, name: "five" }, { gracePeriodSeconds: 0 });
  await cluster.client.delete(Pods, { namespace: ns, name: "two" }, { gracePeriodSeconds: 0 });
  await eventually("all A100 GPUs free", async () => {
    const s = await statusOf("train-a100");
    assert.deepEqual(s?.inventory?.[0], { product: A100, nodes: 2, total: 16, allocated: 0, free: 16 });
    assert.equal(s?.wholeFreeNodes, 2);
    assert.equal(s?.strandedGPUs, 0);
  });
  await cluster.client.delete(Pods, { namespace: ns, name: "eight" }, { gracePeriodSeconds: 0 });
});

test("DRA: GPUs in a ResourceSlice count, and a device the built-in scheduler allocates to a claim shows as allocated", async () => {
  const DeviceClasses = resourceType<KubeObject & { spec: unknown }>({ group: "resource.k8s.io", version: "v1", kind: "DeviceClass", plural: "deviceclasses", namespaced: false });
  const [dra] = await gpuNodes(cluster, "inv-dra-", 1, { labels: { "gpu-e2e": "dra" } });
  nodes.push(dra!);
  policies.push("all-gpus");
  await createPolicy(cluster, "all-gpus", { selector: {} });
  await cluster.client.create(DeviceClasses, {
    apiVersion: "resource.k8s.io/v1", kind: "DeviceClass", metadata: { name: "gpu-e2e.nvidia.com" },
    spec: { selectors: [{ cel: { expression: 'device.driver == "gpu.nvidia.com"' } }] },
  }).catch((err: unknown) => (err instanceof ApiError && err.statusCode === 409 ? undefined : Promise.reject(err)));
  await cluster.client.create(ResourceSlices, {
    apiVersion: "resource.k8s.io/v1", kind: "ResourceSlice", metadata: { name: `${dra}-gpus` },
    spec: {
      driver: "gpu.nvidia.com", nodeName: dra!, pool: { name: dra!, generation: 1, resourceSliceCount: 1 },
      devices: [0, 1, 2, 3].map((i) => ({ name: `gpu-${i}`, attributes: { type: { string: "gpu" }, productName: { string: "NVIDIA-L4" } }, capacity: { memory: { value: "24Gi" } } })),
    },
  });
  await eventually("the DRA GPUs in the inventory", async () => {
    const s = await statusOf("all-gpus");
    assert.deepEqual(s?.inventory?.find((e) => e.product === "NVIDIA-L4"), { product: "NVIDIA-L4", nodes: 1, total: 4, allocated: 0, free: 4 });
  });
  // kube-scheduler (default profile, DynamicResources) allocates one device to the claim.
  await cluster.client.create(ResourceClaims, {
    apiVersion: "resource.k8s.io/v1", kind: "ResourceClaim", metadata: { name: "one-gpu", namespace: ns },
    spec: { devices: { requests: [{ name: "gpu", exactly: { deviceClassName: "gpu-e2e.nvidia.com" } }] } },
  });
  await cluster.client.create(Pods, gpuPod(ns, "dra-pod", 0, {
    schedulerName: "default-scheduler",
    extra: { nodeSelector: { "gpu-e2e": "dra" }, resourceClaims: [{ name: "gpu", resourceClaimName: "one-gpu" }] },
  }));
  await eventually("the claimed device counted as allocated", async () => {
    const s = await statusOf("all-gpus");
    assert.deepEqual(s?.inventory?.find((e) => e.product === "NVIDIA-L4"), { product: "NVIDIA-L4", nodes: 1, total: 4, allocated: 1, free: 3 });
  });
  assert.equal(await metric("kubeloop_gpu_allocated", { product: "NVIDIA-L4" }), 1);
  await cluster.client.delete(Pods, { namespace: ns, name: "dra-pod" }, { gracePeriodSeconds: 0 });
  await cluster.client.delete(ResourceSlices, { name: `${dra}-gpus` });
  await cluster.client.delete(DeviceClasses, { name: "gpu-e2e.nvidia.com" });
});
