import { test } from "node:test";
import assert from "node:assert/strict";
import { CycleState, type NodeScore } from "../../../../framework/scheduling/framework.ts";
import { nodeInfoOf, podInfoOf } from "../../../../framework/scheduling/resources.ts";
import { GPUPlacementPlugin, memoryReason, normalizeFreeGPUs, productReason } from "../../../../operators/gpu-placement/plugin.ts";
import { staticPolicies } from "../../../../operators/gpu-placement/policy-cache.ts";
import { gpuNode, gpuPod, policy } from "./fixtures.ts";

const A100 = "NVIDIA-A100-SXM4-80GB";
const H100 = "NVIDIA-H100-80GB-HBM3";
const T4 = "Tesla-T4";

/** Scores every node for `pod` through Score and NormalizeScore, as the runtime does. */
function scoresOf(plugin: GPUPlacementPlugin, pod: ReturnType<typeof gpuPod>, nodes: ReturnType<typeof nodeInfoOf>[]): Record<string, number> {
  const state = new CycleState();
  const info = podInfoOf(pod);
  const scores: NodeScore[] = nodes.map((n) => ({ name: n.node.metadata!.name!, score: plugin.score(state, info, n).score }));
  plugin.normalizeScore(state, info, scores);
  return Object.fromEntries(scores.map((s) => [s.name, s.score]));
}

test("filter: required products and minimum GPU memory, with reasons naming the policy, UnschedulableAndUnresolvable", () => {
  const plugin = new GPUPlacementPlugin(staticPolicies([policy("a100-only", { selector: {}, requiredProducts: [A100], minGPUMemoryMiB: 40960 })]));
  const pod = podInfoOf(gpuPod("p", 1));
  const state = new CycleState();
  assert.equal(plugin.preFilter(state, pod, { list: () => [], get: () => undefined }).status.code, "Success");
  const ok = nodeInfoOf(gpuNode("a", 8, { product: A100, memoryMiB: 81920 }));
  const wrongProduct = nodeInfoOf(gpuNode("h", 8, { product: H100, memoryMiB: 81920 }));
  const noLabel = nodeInfoOf(gpuNode("x", 8));
  const small = nodeInfoOf(gpuNode("s", 8, { product: A100, memoryMiB: 40000 }));
  const noMemory = nodeInfoOf(gpuNode("m", 8, { product: A100 }));
  assert.equal(plugin.filter(state, pod, ok).code, "Success");
  assert.deepEqual(plugin.filter(state, pod, wrongProduct), { code: "UnschedulableAndUnresolvable", reasons: [productReason("a100-only")], plugin: "GPUPlacement" });
  assert.equal(plugin.filter(state, pod, noLabel).reasons[0], "node(s) didn't have a GPU product GPUPlacementPolicy a100-only requires");
  assert.equal(plugin.filter(state, pod, small).reasons[0], memoryReason("a100-only"));
  assert.equal(plugin.filter(state, pod, noMemory).reasons[0], "node(s) had less GPU memory than GPUPlacementPolicy a100-only requires");
});

test("filter and score leave alone pods without GPUs and pods no policy selects (PreFilter and PreScore skip)", () => {
  const plugin = new GPUPlacementPlugin(staticPolicies([policy("train", { selector: { matchLabels: { app: "train" } }, requiredProducts: [A100] })]));
  const nodes = [nodeInfoOf(gpuNode("h", 8, { product: H100 })), nodeInfoOf(gpuNode("a", 8, { product: A100 }))];
  for (const pod of [gpuPod("cpu-only", 0), gpuPod("other", 2, { labels: { app: "serve" } })]) {
    const state = new CycleState();
    const info = podInfoOf(pod);
    assert.equal(plugin.preFilter(state, info, { list: () => nodes, get: () => undefined }).status.code, "Skip");
    assert.equal(plugin.preScore(state, info, nodes).code, "Skip");
    for (const n of nodes) assert.equal(plugin.filter(state, info, n).code, "Success");
    assert.deepEqual(scoresOf(plugin, pod, nodes), { h: 0, a: 0 });
  }
  // A policy without requirements needs no Filter.
  const loose = new GPUPlacementPlugin(staticPolicies([policy("any", { selector: {} })]));
  assert.equal(loose.preFilter(new CycleState(), podInfoOf(gpuPod("p", 1)), { list: () => nodes, get: () => undefined }).status.code, "Skip");
});

test("BinPack scores the node left with the fewest free GPUs highest; Spread the most", () => {
  const nodes = [
    nodeInfoOf(gpuNode("empty", 8), []),
    nodeInfoOf(gpuNode("half", 8), [gpuPod("u1", 4, { nodeName: "half" })]),
    nodeInfoOf(gpuNode("six", 8), [gpuPod("u2", 6, { nodeName: "six" })]),
  ];
  const binpack = new GPUPlacementPlugin(staticPolicies([policy("bp", { selector: {}, strategy: "BinPack" })]));
  const spread = new GPUPlacementPlugin(staticPolicies([policy("sp", { selector: {}, strategy: "Spread" })]));
  // free after a 2-GPU pod: empty 6, half 2, six 0
  assert.deepEqual(scoresOf(binpack, gpuPod("p", 2), nodes), { empty: 0, half: 67, six: 100 });
  assert.deepEqual(scoresOf(spread, gpuPod("p", 2), nodes), { empty: 100, half: 33, six: 0 });
  // Equal free everywhere: every node 100 (no preference).
  assert.deepEqual(scoresOf(binpack, gpuPod("p", 1), [nodes[0]!, nodeInfoOf(gpuNode("e2", 8))]), { empty: 100, e2: 100 });
});

test("BinPack is best fit in free GPUs, not in ratio: the 4-GPU node with 2 free beats the 8-GPU node with 4 free", () => {
  const nodes = [
    nodeInfoOf(gpuNode("big", 8), [gpuPod("u1", 4, { nodeName: "big" })]),
    nodeInfoOf(gpuNode("small", 4), [gpuPod("u2", 2, { nodeName: "small" })]),
  ];
  const binpack = new GPUPlacementPlugin(staticPolicies([policy("bp", { selector: {} })]));
  assert.deepEqual(scoresOf(binpack, gpuPod("p", 1), nodes), { big: 0, small: 100 });
});

test("preferred products: half the score is the product's rank, first preferred highest", () => {
  const nodes = [
    nodeInfoOf(gpuNode("t4", 8, { product: T4 })),
    nodeInfoOf(gpuNode("h100", 8, { product: H100 })),
    nodeInfoOf(gpuNode("a100", 8, { product: A100 }), [gpuPod("u", 4, { nodeName: "a100" })]),
  ];
  const plugin = new GPUPlacementPlugin(staticPolicies([policy("pref", { selector: {}, preferredProducts: [H100, A100] })]));
  // strategy: a100 100 (fewest free), others 0 -> halves 50 / 0; bonus H100 50, A100 25, T4 0.
  assert.deepEqual(scoresOf(plugin, gpuPod("p", 1), nodes), { t4: 0, h100: 50, a100: 75 });
});

test("weight scales the score: weight 5 gives half", () => {
  const nodes = [nodeInfoOf(gpuNode("empty", 8)), nodeInfoOf(gpuNode("full", 8), [gpuPod("u", 7, { nodeName: "full" })])];
  const plugin = new GPUPlacementPlugin(staticPolicies([policy("w5", { selector: {}, weight: 5 })]));
  assert.deepEqual(scoresOf(plugin, gpuPod("p", 1), nodes), { empty: 0, full: 50 });
});

test("overlapping policies: the highest weight governs, ties to the first name", () => {
  const plugin = new GPUPlacementPlugin(staticPolicies([
    policy("b-spread", { selector: { matchLabels: { app: "train" } }, strategy: "Spread", weight: 7 }),
    policy("a-binpack", { selector: {}, strategy: "BinPack", weight: 7 }),
    policy("z-low", { selector: {}, strategy: "Spread", weight: 3 }),
  ]));
  assert.equal(plugin.policyFor(gpuPod("p", 1, { labels: { app: "train" } }))?.name, "a-binpack");
  const heavy = new GPUPlacementPlugin(staticPolicies([
    policy("a", { selector: {}, weight: 2 }),
    policy("b", { selector: { matchExpressions: [{ key: "app", operator: "In", values: ["train"] }] }, weight: 9 }),
  ]));
  assert.equal(heavy.policyFor(gpuPod("p", 1, { labels: { app: "train" } }))?.name, "b");
  assert.equal(heavy.policyFor(gpuPod("p", 1, { labels: { app: "serve" } }))?.name, "a");
});

test("normalizeFreeGPUs: linear between the extremes, rounded", () => {
  const s = (v: number[]) => v.map((score, i) => ({ name: `n${i}`, score }));
  const a = s([0, 1, 2, 7]);
  normalizeFreeGPUs("BinPack", a);
  assert.deepEqual(a.map((x) => x.score), [100, 86, 71, 0]);
  const b = s([0, 1, 2, 7]);
  normalizeFreeGPUs("Spread", b);
  assert.deepEqual(b.map((x) => x.score), [0, 14, 29, 100]);
});

test("events: Node add/update and policy changes can make a rejected pod schedulable", () => {
  const plugin = new GPUPlacementPlugin(staticPolicies([]));
  const events = plugin.eventsToRegister().map((e) => `${e.event.resource}/${e.event.action}`);
  assert.deepEqual(events, [
    "Node/Add", "Node/Update",
    "gpuplacementpolicies.scheduling.kubeloop.dev/Add", "gpuplacementpolicies.scheduling.kubeloop.dev/Update", "gpuplacementpolicies.scheduling.kubeloop.dev/Delete",
  ]);
});
