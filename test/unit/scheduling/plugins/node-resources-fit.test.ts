import { test } from "node:test";
import assert from "node:assert/strict";
import { CycleState, type ScorePlugin } from "../../../../framework/scheduling/framework.ts";
import { NodeResourcesFit, leastRequestedScore, mostRequestedScore, type NodeResourcesFitOptions } from "../../../../framework/scheduling/plugins/index.ts";
import { info, lister, makeNode, makePod, pi, scoreAll, type Json } from "./fixtures.ts";

const fit = new NodeResourcesFit();
const Gi = 1024 ** 3;

function filter(plugin: NodeResourcesFit, pod: ReturnType<typeof makePod>, nodeAlloc: Record<string, string>, existing: ReturnType<typeof makePod>[] = []) {
  const state = new CycleState();
  const node = info(makeNode("n1", { allocatable: nodeAlloc }), existing);
  assert.equal(plugin.preFilter(state, pi(pod), lister([node])).status.code, "Success");
  return plugin.filter(state, pi(pod), node);
}

test("NodeResourcesFit filter: fits when requests are within allocatable minus requested", () => {
  const alloc = { cpu: "2", memory: "4Gi", pods: "10", "nvidia.com/gpu": "8" };
  const existing = [makePod({ requests: { cpu: "1", memory: "1Gi", "nvidia.com/gpu": "4" } })];
  assert.equal(filter(fit, makePod({ requests: { cpu: "1", memory: "3Gi", "nvidia.com/gpu": "4" } }), alloc, existing).code, "Success");
});

test("NodeResourcesFit filter: Insufficient <resource> is Unschedulable while it would fit an empty node", () => {
  const alloc = { cpu: "2", memory: "4Gi", pods: "10", "nvidia.com/gpu": "8", "ephemeral-storage": "10Gi" };
  const existing = [makePod({ requests: { cpu: "1500m", memory: "3Gi", "nvidia.com/gpu": "6", "ephemeral-storage": "8Gi" } })];
  const pod = makePod({ requests: { cpu: "1", memory: "2Gi", "nvidia.com/gpu": "4", "ephemeral-storage": "4Gi", "example.com/foo": "0" } });
  assert.deepEqual(filter(fit, pod, alloc, existing), {
    code: "Unschedulable",
    reasons: ["Insufficient cpu", "Insufficient memory", "Insufficient ephemeral-storage", "Insufficient nvidia.com/gpu"],
  });
});

test("NodeResourcesFit filter: a request above the whole allocatable is UnschedulableAndUnresolvable", () => {
  const alloc = { cpu: "4", memory: "8Gi", pods: "110" };
  assert.deepEqual(filter(fit, makePod({ requests: { "nvidia.com/gpu": "1" } }), alloc),
    { code: "UnschedulableAndUnresolvable", reasons: ["Insufficient nvidia.com/gpu"] });
  // one unresolvable resource makes the whole status unresolvable
  const busy = [makePod({ requests: { cpu: "4" } })];
  assert.deepEqual(filter(fit, makePod({ requests: { cpu: "1", memory: "9Gi" } }), alloc, busy),
    { code: "UnschedulableAndUnresolvable", reasons: ["Insufficient cpu", "Insufficient memory"] });
});

test("NodeResourcesFit filter: Too many pods comes first and alone is Unschedulable", () => {
  const alloc = { cpu: "4", memory: "8Gi", pods: "2" };
  const two = [makePod(), makePod()];
  assert.deepEqual(filter(fit, makePod(), alloc, two), { code: "Unschedulable", reasons: ["Too many pods"] });
  assert.deepEqual(filter(fit, makePod({ requests: { cpu: "5" } }), alloc, two),
    { code: "UnschedulableAndUnresolvable", reasons: ["Too many pods", "Insufficient cpu"] });
  assert.deepEqual(filter(fit, makePod(), { cpu: "4" }), { code: "Unschedulable", reasons: ["Too many pods"] }); // no pods allocatable
});

test("NodeResourcesFit filter: init and sidecar containers and overhead count; extended resources sorted by name", () => {
  const alloc = { cpu: "2", memory: "4Gi", pods: "10", "b.com/x": "1", "a.com/y": "1" };
  const initHeavy = makePod({ spec: { initContainers: [{ name: "i", image: "x", resources: { requests: { cpu: "3" } } }] } });
  assert.deepEqual(filter(fit, initHeavy, alloc), { code: "UnschedulableAndUnresolvable", reasons: ["Insufficient cpu"] });
  const overhead = makePod({ requests: { cpu: "1900m" }, spec: { overhead: { cpu: "200m" } } });
  assert.deepEqual(filter(fit, overhead, alloc), { code: "UnschedulableAndUnresolvable", reasons: ["Insufficient cpu"] });
  const twoExtended = makePod({ requests: { "b.com/x": "2", "a.com/y": "2" } });
  assert.deepEqual(filter(fit, twoExtended, alloc), { code: "UnschedulableAndUnresolvable", reasons: ["Insufficient a.com/y", "Insufficient b.com/x"] });
});

test("NodeResourcesFit filter: ignoredResources and ignoredResourceGroups skip extended resources", () => {
  const alloc = { cpu: "2", memory: "4Gi", pods: "10" };
  const pod = makePod({ requests: { "example.com/foo": "1", "vendor.io/bar": "1" } });
  assert.equal(filter(new NodeResourcesFit({ ignoredResources: ["example.com/foo"], ignoredResourceGroups: ["vendor.io"] }), pod, alloc).code, "Success");
  assert.deepEqual(filter(new NodeResourcesFit({ ignoredResources: ["example.com/foo"] }), pod, alloc),
    { code: "UnschedulableAndUnresolvable", reasons: ["Insufficient vendor.io/bar"] });
});

test("NodeResourcesFit: per-resource formulas, integer math", () => {
  assert.equal(leastRequestedScore(3000, 4000), 25);
  assert.equal(leastRequestedScore(1, 3), 66);
  assert.equal(leastRequestedScore(5, 4), 0);
  assert.equal(mostRequestedScore(3000, 4000), 75);
  assert.equal(mostRequestedScore(1, 3), 33);
  assert.equal(mostRequestedScore(5, 4), 100);
  assert.equal(mostRequestedScore(1, 0), 0);
  // exact for products beyond 2^53 (1 PiB of memory; floating point would give 100)
  const PiB = 1024 * 1024 * Gi;
  assert.equal(leastRequestedScore(1, PiB), 99);
  assert.equal(mostRequestedScore(PiB - 1, PiB), 99);
});

function scores(opts: NodeResourcesFitOptions | undefined, pod: ReturnType<typeof makePod>, nodes: Array<[string, Record<string, string>, ReturnType<typeof makePod>[]?]>) {
  const plugin = new NodeResourcesFit(opts);
  assert.equal((plugin as ScorePlugin).normalizeScore, undefined); // no ScoreExtensions upstream
  return scoreAll(plugin, pi(pod), nodes.map(([n, a, pods]) => info(makeNode(n, { allocatable: a }), pods ?? [])));
}

test("NodeResourcesFit score LeastAllocated (default cpu:1, memory:1)", () => {
  const pod = makePod({ requests: { cpu: "3", memory: "5000" } });
  // n1: cpu (4000-3000)*100/4000 = 25, memory (10000-5000)*100/10000 = 50 -> 75/2 = 37
  // n2: cpu (6000-3000)*100/6000 = 50, memory (10000-5000)*100/10000 = 50 -> 50
  assert.deepEqual(scores(undefined, pod, [
    ["n1", { cpu: "4", memory: "10000", pods: "10" }],
    ["n2", { cpu: "6", memory: "10000", pods: "10" }],
  ]), { n1: 37, n2: 50 });
  // existing pods count; request-less containers count 100m / 200Mi (non-zero requests)
  const bare = makePod({ name: "bare" });
  const node = { cpu: "1", memory: "1000Mi", pods: "10" };
  // cpu (1000-100-100)*100/1000 = 80; memory (1000-200-200)*100/1000 = 60 -> 70
  assert.deepEqual(scores(undefined, bare, [["n", node, [makePod()]]]), { n: 70 });
});

test("NodeResourcesFit score MostAllocated with weights, GPU scored only when requested and allocatable", () => {
  const opts: NodeResourcesFitOptions = { scoringStrategy: { type: "MostAllocated", resources: [{ name: "cpu", weight: 1 }, { name: "memory", weight: 1 }, { name: "nvidia.com/gpu", weight: 3 }] } };
  const gpuPod = makePod({ requests: { cpu: "1", memory: "1Gi", "nvidia.com/gpu": "1" } });
  const node = { cpu: "8", memory: "16Gi", pods: "110", "nvidia.com/gpu": "8" };
  // cpu (1000+1000)*100/8000 = 25; memory (2Gi)*100/16Gi = 12; gpu (2+1)*100/8 = 37 -> (25 + 12 + 37*3)/5 = 148/5 = 29
  const used = [makePod({ requests: { cpu: "1", memory: "1Gi", "nvidia.com/gpu": "2" } })];
  assert.deepEqual(scores(opts, gpuPod, [["g", node, used]]), { g: 29 });
  // a pod without GPUs: the GPU is skipped -> (25 + 12)/2 = 18
  assert.deepEqual(scores(opts, makePod({ requests: { cpu: "1", memory: "1Gi" } }), [["g", node, used]]), { g: 18 });
  // a node without the resource: skipped, weights of the others only -> cpu 1000*100/8000 = 12, memory 6 -> 9
  assert.deepEqual(scores(opts, gpuPod, [["c", { cpu: "8", memory: "16Gi", pods: "110" }]]), { c: 9 });
  // requests above capacity are capped at 100 for MostAllocated
  assert.deepEqual(scores({ scoringStrategy: { type: "MostAllocated" } }, makePod({ requests: { cpu: "10", memory: "1Gi" } }), [["s", { cpu: "8", memory: "2Gi", pods: "1" }]]), { s: 75 });
});

test("NodeResourcesFit score RequestedToCapacityRatio: broken-linear shape, rounded weighted average", () => {
  const spread: NodeResourcesFitOptions = { scoringStrategy: { type: "RequestedToCapacityRatio", requestedToCapacityRatio: { shape: [{ utilization: 0, score: 10 }, { utilization: 100, score: 0 }] } } };
  const pod = makePod({ requests: { cpu: "3", memory: "5000" } });
  // cpu 75% -> 100 - 75 = 25; memory 50% -> 50; (25 + 50)/2 = 37.5 -> 38
  assert.deepEqual(scores(spread, pod, [["n", { cpu: "4", memory: "10000", pods: "10" }]]), { n: 38 });
  const pack: NodeResourcesFitOptions = { scoringStrategy: { type: "RequestedToCapacityRatio", resources: [{ name: "nvidia.com/gpu", weight: 1 }], requestedToCapacityRatio: { shape: [{ utilization: 0, score: 0 }, { utilization: 50, score: 3 }, { utilization: 100, score: 10 }] } } };
  const gpu = makePod({ requests: { "nvidia.com/gpu": "3" } });
  // 3/8 = 37% -> 0 + 30*37/50 = 22; 6/8 = 75% -> 30 + 70*25/50 = 65; above capacity -> shape(100) = 100
  assert.deepEqual(scores(pack, gpu, [
    ["a", { "nvidia.com/gpu": "8", pods: "10" }],
    ["b", { "nvidia.com/gpu": "8", pods: "10" }, [makePod({ requests: { "nvidia.com/gpu": "3" } })]],
    ["c", { "nvidia.com/gpu": "2", pods: "10" }],
  ]), { a: 22, b: 65, c: 100 });
  // a pod that does not request the only scored (extended) resource scores 0
  assert.deepEqual(scores(pack, makePod({ requests: { cpu: "1" } }), [["z", { cpu: "4", "nvidia.com/gpu": "8", pods: "10" }]]), { z: 0 });
  // a resource scoring 0 is left out of the average: memory explicitly 0 (0%), cpu 50% -> 50, not 25
  const linear: NodeResourcesFitOptions = { scoringStrategy: { type: "RequestedToCapacityRatio", requestedToCapacityRatio: { shape: [{ utilization: 0, score: 0 }, { utilization: 100, score: 10 }] } } };
  assert.deepEqual(scores(linear, makePod({ requests: { cpu: "500m", memory: "0" } }), [["h", { cpu: "1", memory: "1Gi", pods: "10" }]]), { h: 50 });
});

test("NodeResourcesFit options are validated with upstream's field messages", () => {
  const bad: Array<[NodeResourcesFitOptions, RegExp]> = [
    [{ scoringStrategy: { type: "Bogus" as never } }, /scoringStrategy.type: Unsupported value: "Bogus"/],
    [{ scoringStrategy: { type: "MostAllocated", resources: [{ name: "cpu", weight: 101 }] } }, /resource weight of cpu not in valid range \(0, 100\]/],
    [{ scoringStrategy: { type: "RequestedToCapacityRatio" } }, /must be specified when type is RequestedToCapacityRatio/],
    [{ scoringStrategy: { type: "RequestedToCapacityRatio", requestedToCapacityRatio: { shape: [{ utilization: 50, score: 1 }, { utilization: 10, score: 2 }] } } }, /values must be sorted in increasing order/],
    [{ scoringStrategy: { type: "RequestedToCapacityRatio", requestedToCapacityRatio: { shape: [{ utilization: 0, score: 11 }] } } }, /score: Invalid value: 11: not in valid range \[0, 10\]/],
    [{ scoringStrategy: { type: "LeastAllocated", requestedToCapacityRatio: { shape: [] } } }, /must be nil when type is not RequestedToCapacityRatio/],
    [{ ignoredResourceGroups: ["a/b"] }, /resource group name can't contain '\/'/],
  ];
  for (const [opts, re] of bad) assert.throws(() => new NodeResourcesFit(opts), re, JSON.stringify(opts));
  assert.doesNotThrow(() => new NodeResourcesFit({ scoringStrategy: { type: "MostAllocated", resources: [{ name: "cpu", weight: 0 }] } })); // 0 defaults to 1
});

test("NodeResourcesFit hints", () => {
  const [del, upd, add, nodeUpd] = fit.eventsToRegister();
  assert.deepEqual([del!.event, upd!.event, add!.event, nodeUpd!.event], [
    { resource: "Pod", action: "Delete" }, { resource: "Pod", action: "Update" },
    { resource: "Node", action: "Add" }, { resource: "Node", action: "Update" },
  ]);
  const pod = makePod({ name: "t", requests: { cpu: "2" } });
  const boundPod = (cpu: string): Json => makePod({ name: "o", requests: { cpu }, spec: { nodeName: "n1" } }) as unknown as Json;
  assert.equal(del!.hint!(pod, boundPod("1"), undefined), "Queue");
  assert.equal(del!.hint!(pod, makePod({ name: "o" }), undefined), "QueueSkip");
  assert.equal(upd!.hint!(pod, boundPod("2"), boundPod("1")), "Queue"); // scaled down cpu
  assert.equal(upd!.hint!(pod, boundPod("1"), boundPod("2")), "QueueSkip");
  const big = makeNode("n", { allocatable: { cpu: "4", pods: "10" } });
  const small = makeNode("n", { allocatable: { cpu: "1", pods: "10" } });
  assert.equal(add!.hint!(pod, undefined, big), "Queue");
  assert.equal(add!.hint!(pod, undefined, small), "QueueSkip");
  assert.equal(nodeUpd!.hint!(pod, small, big), "Queue");
  assert.equal(nodeUpd!.hint!(pod, big, makeNode("n", { allocatable: { cpu: "4", pods: "10" }, labels: { a: "b" } })), "QueueSkip");
});

test("NodeResourcesFit score: upstream's RequestedToCapacityRatio table for two weighted extended resources", () => {
  // requested_to_capacity_ratio_test.go "TestResourceBinPackingMultipleExtended": foo weight 3, bar weight 5, shape 0->0, 100->1
  const opts: NodeResourcesFitOptions = { scoringStrategy: { type: "RequestedToCapacityRatio",
    resources: [{ name: "intel.com/foo", weight: 3 }, { name: "intel.com/bar", weight: 5 }],
    requestedToCapacityRatio: { shape: [{ utilization: 0, score: 0 }, { utilization: 100, score: 1 }] } } };
  const node1 = { cpu: "4", memory: "10000Mi", pods: "110", "intel.com/foo": "8", "intel.com/bar": "4" };
  const node2 = { cpu: "4", memory: "10000Mi", pods: "110", "intel.com/foo": "4", "intel.com/bar": "8" };
  const pod1 = { "intel.com/foo": "2", "intel.com/bar": "2" };
  const pod2 = { "intel.com/foo": "4", "intel.com/bar": "2" };
  assert.deepEqual(scores(opts, makePod(), [["node1", node1], ["node2", node2]]), { node1: 0, node2: 0 });
  assert.deepEqual(scores(opts, makePod({ requests: pod1 }), [["node1", node1], ["node2", node2]]), { node1: 4, node2: 3 });
  assert.deepEqual(scores(opts, makePod({ requests: pod1 }), [["node1", node1], ["node2", node2, [makePod({ requests: pod2 })]]]), { node1: 4, node2: 7 });
  assert.deepEqual(scores(opts, makePod({ requests: pod2 }), [["node1", node1], ["node2", node2]]), { node1: 5, node2: 5 });
});

test("NodeResourcesFit score: a memory request above capacity scores 0 and drops out of the RequestedToCapacityRatio average", () => {
  // requested_to_capacity_ratio_test.go first table: non-zero 200Mi per container exceeds a 10000-byte node
  const opts: NodeResourcesFitOptions = { scoringStrategy: { type: "RequestedToCapacityRatio", requestedToCapacityRatio: { shape: [{ utilization: 0, score: 10 }, { utilization: 100, score: 0 }] } } };
  assert.deepEqual(scores(opts, makePod(), [["n", { cpu: "4000", memory: "10000", pods: "110" }]]), { n: 100 });
});
