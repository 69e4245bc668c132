import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { defaultProfile } from "../../../../framework/scheduling/plugins/index.ts";
import { clusterGpus } from "../../../../operators/gpu-placement/inventory.ts";
import { registerGpuMetrics } from "../../../../operators/gpu-placement/metrics.ts";
import { GPUPlacementPlugin } from "../../../../operators/gpu-placement/plugin.ts";
import { compilePolicy } from "../../../../operators/gpu-placement/policy.ts";
import { staticPolicies } from "../../../../operators/gpu-placement/policy-cache.ts";
import { extendProfile } from "../../../../operators/registry.ts";
import { gpuNode, gpuPod, policy } from "./fixtures.ts";

const A100 = "NVIDIA-A100-SXM4-80GB";

test("extendProfile: GPUPlacement after the built-in filters, before DefaultBinder, with its score weight", () => {
  const base = defaultProfile({ client: { bind: async () => {} } });
  const plugin = new GPUPlacementPlugin(staticPolicies([]));
  const p = extendProfile(base, [{ plugins: [plugin], scoreWeights: { GPUPlacement: 10 } }]);
  const names = p.plugins.map((x) => x.name);
  assert.deepEqual(names.slice(-3), ["NodeResourcesFit", "GPUPlacement", "DefaultBinder"]);
  assert.deepEqual(p.scoreWeights, { TaintToleration: 3, NodeAffinity: 2, NodeResourcesFit: 1, GPUPlacement: 10 });
  assert.equal(p.schedulerName, "kubeloop-scheduler");
  assert.equal(base.plugins.length, names.length - 1); // the base profile is not changed
});

test("kubeloop_gpu_* metrics: per product, stranded per policy and product, whole free nodes per policy", async () => {
  const registry = new Registry();
  const cluster = clusterGpus({
    nodes: [gpuNode("a0", 8, { product: A100 }), gpuNode("a1", 8, { product: A100 }), gpuNode("t", 4, { product: "Tesla-T4" })],
    pods: [gpuPod("p", 5, { nodeName: "a0" }), gpuPod("q", 1, { nodeName: "t" }), gpuPod("big", 4)],
  });
  const unregister = registerGpuMetrics(registry, { cluster: () => cluster, policies: () => [compilePolicy(policy("train", { selector: {} }))] });
  const text = await registry.metrics();
  for (const line of [
    'kubeloop_gpu_nodes{product="NVIDIA-A100-SXM4-80GB"} 2',
    'kubeloop_gpu_total{product="NVIDIA-A100-SXM4-80GB"} 16',
    'kubeloop_gpu_allocated{product="NVIDIA-A100-SXM4-80GB"} 5',
    'kubeloop_gpu_free{product="NVIDIA-A100-SXM4-80GB"} 11',
    'kubeloop_gpu_free{product="Tesla-T4"} 3',
    'kubeloop_gpu_stranded{policy="train",product="NVIDIA-A100-SXM4-80GB"} 3',
    'kubeloop_gpu_stranded{policy="train",product="Tesla-T4"} 3',
    'kubeloop_gpu_whole_free_nodes{policy="train"} 1',
  ]) assert.ok(text.includes(line), `${line} in\n${text}`);
  // Unregistering the source removes its series.
  unregister();
  assert.ok(!(await registry.metrics()).includes("kubeloop_gpu_total{"));
});
