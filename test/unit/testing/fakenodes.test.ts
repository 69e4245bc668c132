import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Node } from "@kubernetes/client-node";
import { fakeNodeObject, isNodeReadyAndSchedulable } from "../../../framework/testing/index.ts";
import { expandFakeNodeSpecs } from "../../../framework/testing/fakenodes.ts";

describe("fake nodes", () => {
  it("builds a kwok-managed Node with capacity, allocatable, GPU label and taints", () => {
    const node = fakeNodeObject({
      name: "gpu-0",
      cpu: "64",
      memory: "512Gi",
      pods: 50,
      gpus: 8,
      gpuProduct: "NVIDIA-H100-80GB-HBM3",
      labels: { zone: "a" },
      taints: [{ key: "nvidia.com/gpu", effect: "NoSchedule" }],
      podCIDR: "10.244.1.0/24",
    });
    assert.equal(node.metadata?.annotations?.["kwok.x-k8s.io/node"], "fake");
    assert.equal(node.metadata?.labels?.["nvidia.com/gpu.product"], "NVIDIA-H100-80GB-HBM3");
    assert.equal(node.metadata?.labels?.["kubernetes.io/hostname"], "gpu-0");
    assert.equal(node.metadata?.labels?.zone, "a");
    assert.deepEqual(node.status?.capacity, node.status?.allocatable);
    assert.equal(node.status?.allocatable?.["nvidia.com/gpu"], "8");
    assert.equal(node.status?.allocatable?.cpu, "64");
    assert.equal(node.status?.allocatable?.memory, "512Gi");
    assert.equal(node.status?.allocatable?.pods, "50");
    assert.deepEqual(node.spec?.taints, [{ key: "nvidia.com/gpu", effect: "NoSchedule" }]);
    assert.equal(node.spec?.podCIDR, "10.244.1.0/24");
  });

  it("leaves nvidia.com/gpu out of a node without GPUs", () => {
    const node = fakeNodeObject({ name: "cpu-0" });
    assert.equal(node.status?.allocatable?.["nvidia.com/gpu"], undefined);
    assert.equal(node.metadata?.labels?.["nvidia.com/gpu.product"], undefined);
    assert.equal(node.spec?.taints, undefined);
  });

  it("expands a count into numbered names", () => {
    assert.deepEqual(expandFakeNodeSpecs({ count: 3, gpus: 2 }).map((s) => [s.name, s.gpus]), [
      ["kwok-node-0", 2],
      ["kwok-node-1", 2],
      ["kwok-node-2", 2],
    ]);
    assert.deepEqual(expandFakeNodeSpecs({ count: 1, namePrefix: "gpu-" }).map((s) => s.name), ["gpu-0"]);
    assert.throws(() => expandFakeNodeSpecs({ count: -1 }), /non-negative integer/);
  });

  it("counts a node schedulable only when Ready and without the not-ready taint", () => {
    const ready = { type: "Ready", status: "True" };
    const node = (conditions: { type: string; status: string }[], taintKeys: string[]): V1Node => ({
      status: { conditions },
      spec: { taints: taintKeys.map((key) => ({ key, effect: "NoSchedule" })) },
    });
    assert.equal(isNodeReadyAndSchedulable(node([ready], [])), true);
    assert.equal(isNodeReadyAndSchedulable(node([ready], ["nvidia.com/gpu"])), true);
    assert.equal(isNodeReadyAndSchedulable(node([ready], ["node.kubernetes.io/not-ready"])), false);
    assert.equal(isNodeReadyAndSchedulable(node([{ type: "Ready", status: "False" }], [])), false);
    assert.equal(isNodeReadyAndSchedulable(node([], [])), false);
  });
});
