import { test } from "node:test";
import assert from "node:assert/strict";
import { clusterGpus, policyFigures, productInventory } from "../../../../operators/gpu-placement/inventory.ts";
import { compilePolicy } from "../../../../operators/gpu-placement/policy.ts";
import { computeStatus, statusChanged } from "../../../../operators/gpu-placement/status.ts";
import type { ResourceClaim, ResourceSlice } from "../../../../operators/gpu-placement/dra.ts";
import { gpuNode, gpuPod, policy } from "./fixtures.ts";

const A100 = "NVIDIA-A100-SXM4-80GB";
const H100 = "NVIDIA-H100-80GB-HBM3";

function slice(name: string, node: string, devices: Array<{ name: string; product?: string; type?: string; memory?: string }>, opts: { driver?: string; pool?: string; generation?: number } = {}): ResourceSlice {
  return {
    apiVersion: "resource.k8s.io/v1", kind: "ResourceSlice", metadata: { name },
    spec: {
      driver: opts.driver ?? "gpu.nvidia.com", nodeName: node,
      pool: { name: opts.pool ?? node, generation: opts.generation ?? 1, resourceSliceCount: 1 },
      devices: devices.map((d) => ({
        name: d.name,
        attributes: { ...(d.type ? { type: { string: d.type } } : {}), ...(d.product ? { productName: { string: d.product } } : {}) },
        ...(d.memory ? { capacity: { memory: { value: d.memory } } } : {}),
      })),
    },
  };
}

function claim(name: string, results: Array<{ pool: string; device: string; driver?: string }>): ResourceClaim {
  return {
    apiVersion: "resource.k8s.io/v1", kind: "ResourceClaim", metadata: { name, namespace: "ns" },
    spec: { devices: { requests: [{ name: "gpu", exactly: { deviceClassName: "gpu.nvidia.com" } }] } },
    status: { allocation: { devices: { results: results.map((r) => ({ request: "gpu", driver: r.driver ?? "gpu.nvidia.com", pool: r.pool, device: r.device })) } } },
  };
}

test("inventory per product: nodes, total, allocated by unfinished bound pods, free", () => {
  const cluster = clusterGpus({
    nodes: [gpuNode("a1", 8, { product: A100 }), gpuNode("a2", 8, { product: A100 }), gpuNode("h1", 4, { product: H100 }), gpuNode("cpu", 0), gpuNode("x", 2)],
    pods: [
      gpuPod("p1", 3, { nodeName: "a1" }),
      gpuPod("p2", 1, { nodeName: "a1" }),
      gpuPod("p3", 4, { nodeName: "h1" }),
      gpuPod("done", 8, { nodeName: "a2", phase: "Succeeded" }),
      gpuPod("failed", 8, { nodeName: "a2", phase: "Failed" }),
      gpuPod("pending", 2),
      gpuPod("cpu-pod", 0, { nodeName: "a2" }),
    ],
  });
  assert.deepEqual(productInventory(cluster), [
    { product: A100, nodes: 2, total: 16, allocated: 4, free: 12 },
    { product: H100, nodes: 1, total: 4, allocated: 4, free: 0 },
    { product: "unknown", nodes: 1, total: 2, allocated: 0, free: 2 },
  ]);
  assert.deepEqual(cluster.pods.map((p) => `${p.name}:${p.request}:${p.nodeName ?? "-"}`), ["p1:3:a1", "p2:1:a1", "p3:4:h1", "pending:2:-"]);
});

test("GPU requests follow PodRequests: the largest init container wins over the sum of regular containers", () => {
  const pod = gpuPod("init", 1, { nodeName: "a1" });
  pod.spec!.initContainers = [{ name: "warm", image: "x", resources: { requests: { "nvidia.com/gpu": "4" }, limits: { "nvidia.com/gpu": "4" } } }];
  const cluster = clusterGpus({ nodes: [gpuNode("a1", 8, { product: A100 })], pods: [pod] });
  assert.equal(cluster.pods[0]!.request, 4);
  assert.equal(productInventory(cluster)[0]!.allocated, 4);
});

test("whole free nodes and stranded GPUs against the largest request of the selected pods", () => {
  const nodes = [
    gpuNode("n0", 8, { product: A100 }), gpuNode("n1", 8, { product: A100 }), gpuNode("n2", 8, { product: A100 }),
    gpuNode("n3", 8, { product: A100 }), gpuNode("small", 4, { product: A100 }), gpuNode("cordoned", 8, { product: A100, unschedulable: true }),
    gpuNode("h", 8, { product: H100 }),
  ];
  const pods = [
    gpuPod("a", 5, { nodeName: "n1", labels: { app: "batch" } }), // n1: 3 free -> stranded for 4
    gpuPod("b", 4, { nodeName: "n2", labels: { app: "batch" } }), // n2: 4 free -> fits 4
    gpuPod("c", 1, { nodeName: "h", labels: { app: "batch" } }), // h: 7 free, other product
    gpuPod("big", 4, { labels: { app: "train" } }), // pending: the largest request
    gpuPod("serve", 8, { labels: { app: "serve" }, nodeName: "n3" }), // n3 full; not selected by the policy
  ];
  const cluster = clusterGpus({ nodes, pods });
  const p = compilePolicy(policy("train", { selector: { matchLabels: { app: "train" } }, requiredProducts: [A100] }));
  const f = policyFigures(cluster, p);
  // eligible: n0, n1, n2, n3, small (cordoned and H100 are not)
  assert.equal(f.eligibleNodes, 5);
  assert.equal(f.wholeFreeNodes, 2); // n0, small
  assert.equal(f.largestRequest, 4);
  assert.equal(f.selectedPods, 1); // only "big" is labelled app=train
  assert.equal(f.strandedGPUs, 3); // n1's 3 free
  assert.deepEqual([...f.strandedByProduct], [[A100, 3]]);
  assert.equal(f.mostFreeOnOneNode, 8);
  // With an 8-GPU request the 4-GPU node and every partly used node strand their free GPUs.
  const cluster8 = clusterGpus({ nodes, pods: [...pods, gpuPod("huge", 8, { labels: { app: "train" } })] });
  const f8 = policyFigures(cluster8, p);
  assert.equal(f8.largestRequest, 8);
  assert.equal(f8.strandedGPUs, 3 + 4 + 4); // n1 3, n2 4, small 4
  // No selected pod: nothing stranded.
  const none = policyFigures(cluster, compilePolicy(policy("none", { selector: { matchLabels: { app: "nobody" } } })));
  assert.equal(none.largestRequest, 0);
  assert.equal(none.strandedGPUs, 0);
  assert.equal(none.eligibleNodes, 6); // every schedulable GPU node (no requirement)
});

test("DRA: GPUs of node-local slices of the GPU driver count, newest pool generation only, allocated by claims", () => {
  const cluster = clusterGpus({
    nodes: [gpuNode("d1", 0), gpuNode("d2", 0, { product: H100, memoryMiB: 81920 })],
    pods: [],
    slices: [
      slice("d1-old", "d1", [{ name: "gpu-0", product: A100 }], { generation: 1 }),
      slice("d1-new", "d1", [
        { name: "gpu-0", product: A100, type: "gpu", memory: "80Gi" }, { name: "gpu-1", product: A100, type: "gpu", memory: "80Gi" },
        { name: "mig-0", product: A100, type: "mig" },
      ], { generation: 2 }),
      slice("d2", "d2", [{ name: "gpu-0" }, { name: "gpu-1" }, { name: "gpu-2" }]),
      slice("nic", "d2", [{ name: "eth0" }], { driver: "net.example.com" }),
    ],
    claims: [claim("c1", [{ pool: "d1", device: "gpu-1" }]), claim("c2", [{ pool: "d2", device: "gpu-0" }, { pool: "d2", device: "gpu-2" }])],
  });
  assert.deepEqual(productInventory(cluster), [
    { product: A100, nodes: 1, total: 2, allocated: 1, free: 1 },
    { product: H100, nodes: 1, total: 3, allocated: 2, free: 1 },
  ]);
  const d1 = cluster.pools.find((p) => p.node === "d1")!;
  assert.equal(d1.source, "dra");
  assert.equal(d1.memoryMiB, 81920);
  // Eligibility uses the device's memory, or the node's label.
  const big = compilePolicy(policy("big", { selector: {}, minGPUMemoryMiB: 80000 }));
  assert.equal(policyFigures(cluster, big).eligibleNodes, 2);
});

test("status: inventory, figures, conditions; lastTransitionTime kept while a condition holds; statusChanged", () => {
  const nodes = [gpuNode("n0", 8, { product: A100 }), gpuNode("n1", 8, { product: A100 })];
  const p = compilePolicy(policy("train", { selector: {} }, 3));
  const partly = clusterGpus({ nodes, pods: [gpuPod("a", 6, { nodeName: "n0" }), gpuPod("b", 6, { nodeName: "n1" }), gpuPod("c", 4)] });
  const s1 = computeStatus(p, partly, undefined, Date.UTC(2026, 0, 1, 0, 0, 0));
  assert.equal(s1.observedGeneration, 3);
  assert.deepEqual(s1.inventory, [{ product: A100, nodes: 2, total: 16, allocated: 12, free: 4 }]);
  assert.equal(s1.wholeFreeNodes, 0);
  assert.equal(s1.strandedGPUs, 4);
  assert.equal(s1.largestRequest, 6);
  assert.deepEqual(s1.conditions, [
    { type: "Ready", status: "True", reason: "InventoryObserved", message: "status reflects the nodes, pods and ResourceSlices the operator's informers hold", lastTransitionTime: "2026-01-01T00:00:00Z" },
    { type: "LargestRequestFits", status: "False", reason: "NoNodeHasRoom", message: "no eligible node has 6 free GPUs (at most 2 on one node; 4 free GPUs stranded)", lastTransitionTime: "2026-01-01T00:00:00Z" },
  ]);
  // Same cluster later: nothing changed, so no write.
  const s2 = computeStatus(p, partly, s1, Date.UTC(2026, 0, 1, 0, 5, 0));
  assert.equal(statusChanged(s1, s2), false);
  // A node frees up: Fits turns True with a new time, Ready keeps its time.
  const freed = clusterGpus({ nodes, pods: [gpuPod("a", 6, { nodeName: "n0" }), gpuPod("c", 4)] });
  const s3 = computeStatus(p, freed, s2, Date.UTC(2026, 0, 1, 0, 10, 0));
  assert.equal(statusChanged(s2, s3), true);
  assert.equal(s3.wholeFreeNodes, 1);
  assert.equal(s3.conditions![0]!.lastTransitionTime, "2026-01-01T00:00:00Z");
  assert.deepEqual({ ...s3.conditions![1]! }, {
    type: "LargestRequestFits", status: "True", reason: "NodeHasRoom", message: "an eligible node has 8 free GPUs, enough for the largest request (6)", lastTransitionTime: "2026-01-01T00:10:00Z",
  });
});

test("kwok fake nodes advertise GPU count, product and memory as the inventory reads them", async () => {
  const { fakeNodeObject } = await import("../../../../framework/testing/fakenodes.ts");
  const node = fakeNodeObject({ name: "g", gpus: 8, gpuProduct: A100, gpuMemoryMiB: 81920 });
  assert.equal(node.metadata?.labels?.["nvidia.com/gpu.memory"], "81920");
  const cluster = clusterGpus({ nodes: [node as unknown as Parameters<typeof clusterGpus>[0]["nodes"][number]], pods: [] });
  assert.deepEqual(cluster.pools, [{ node: "g", source: "device-plugin", product: A100, memoryMiB: 81920, total: 8, allocated: 0, schedulable: true }]);
});
