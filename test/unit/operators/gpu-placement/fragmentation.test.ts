/**
 * The fragmentation scenario of issue 6 §5 as a unit simulation: 20 nodes x 8 GPUs, a seeded mix
 * of 1/2/4-GPU pods up to 50 % of the GPUs, then 8-GPU pods until one no longer fits. Pods are
 * placed one at a time (NodeResourcesFit on GPUs, then the chooser), ties to the first node, as
 * kube-scheduler's snapshot iterates without a randomizer. The GPUPlacement plugin with a BinPack
 * policy must leave at least as many whole free nodes (and place at least as many 8-GPU pods) as
 * kube-scheduler's MostAllocated{nvidia.com/gpu: 1}, for every seed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { GPUPlacementPlugin } from "../../../../operators/gpu-placement/plugin.ts";
import { staticPolicies } from "../../../../operators/gpu-placement/policy-cache.ts";
import { freeGpus, gpuNode, gpuPod, mostAllocated, nodeInfos, place, pluginChooser, policy, type Chooser } from "./fixtures.ts";
import { seededRandom } from "../../../../framework/testing/index.ts";

const MIX = [1, 1, 1, 2, 2, 4];

/** The seeded load: GPU sizes summing to exactly `target`. */
function mix(seed: number, target: number): number[] {
  const rnd = seededRandom(seed);
  const sizes: number[] = [];
  let total = 0;
  while (total < target) {
    let size = MIX[Math.floor(rnd() * MIX.length)]!;
    if (total + size > target) size = target - total >= 2 ? 2 : 1;
    sizes.push(size);
    total += size;
  }
  return sizes;
}

interface Outcome {
  unplacedMix: number;
  wholeFreeNodes: number;
  eightGpuPodsPlaced: number;
  nodesTouched: number;
}

function run(nodeGpus: number[], sizes: number[], choose: Chooser, big: number): Outcome {
  const nodes = nodeInfos(nodeGpus.map((g, i) => gpuNode(`n${String(i).padStart(2, "0")}`, g)));
  let unplacedMix = 0;
  sizes.forEach((g, i) => {
    if (place(nodes, gpuPod(`mix-${i}`, g), choose) === undefined) unplacedMix++;
  });
  const wholeFreeNodes = nodes.filter((n) => n.pods.length === 0).length;
  const nodesTouched = nodes.length - wholeFreeNodes;
  let eightGpuPodsPlaced = 0;
  while (place(nodes, gpuPod(`big-${eightGpuPodsPlaced}`, big), choose) !== undefined) eightGpuPodsPlaced++;
  return { unplacedMix, wholeFreeNodes, eightGpuPodsPlaced, nodesTouched };
}

const binpack = pluginChooser(new GPUPlacementPlugin(staticPolicies([policy("binpack", { selector: {}, strategy: "BinPack" })])));

test("20 x 8 GPUs, 1/2/4-GPU pods to 50 %, then 8-GPU pods: BinPack leaves >= as many whole free nodes as MostAllocated, every seed", () => {
  const nodes = Array.from({ length: 20 }, () => 8);
  const rows: string[] = [];
  for (let seed = 1; seed <= 30; seed++) {
    const sizes = mix(seed, 80);
    const ours = run(nodes, sizes, binpack, 8);
    const oracle = run(nodes, sizes, mostAllocated, 8);
    rows.push(`seed ${seed}: ours ${ours.wholeFreeNodes}/${ours.eightGpuPodsPlaced}, MostAllocated ${oracle.wholeFreeNodes}/${oracle.eightGpuPodsPlaced}`);
    assert.equal(ours.unplacedMix, 0);
    assert.ok(ours.wholeFreeNodes >= oracle.wholeFreeNodes, rows.at(-1));
    assert.ok(ours.eightGpuPodsPlaced >= oracle.eightGpuPodsPlaced, rows.at(-1));
    // 80 GPUs on 8-GPU nodes: perfect packing touches 10 nodes; best fit gets there or one more.
    assert.ok(ours.wholeFreeNodes >= 9, rows.at(-1));
    assert.equal(ours.eightGpuPodsPlaced, ours.wholeFreeNodes);
  }
});

test("mixed node sizes (5 x 16 and 10 x 8 GPUs, 80 GPUs of load, then 8-GPU pods): BinPack >= MostAllocated, every seed", () => {
  const nodes = [...Array.from({ length: 5 }, () => 16), ...Array.from({ length: 10 }, () => 8)];
  for (let seed = 1; seed <= 30; seed++) {
    const sizes = mix(seed, 80);
    const ours = run(nodes, sizes, binpack, 8);
    const oracle = run(nodes, sizes, mostAllocated, 8);
    assert.ok(ours.eightGpuPodsPlaced >= oracle.eightGpuPodsPlaced, `seed ${seed}: ours ${ours.eightGpuPodsPlaced} 8-GPU pods, MostAllocated ${oracle.eightGpuPodsPlaced}`);
  }
});

test("where ratio and best fit differ: a 1-GPU pod then a 4-GPU pod fit with BinPack, not with MostAllocated", () => {
  // big: 16 GPUs, 12 used (4 free); small: 8 GPUs, 5 used (3 free). MostAllocated puts the 1-GPU pod on
  // big (13/16 = 81 > 6/8 = 75), leaving 3 + 3 free; best fit puts it on small, leaving big's 4.
  const setup = () => {
    const nodes = nodeInfos([gpuNode("big", 16), gpuNode("small", 8)]);
    place(nodes, gpuPod("u1", 12), (_p, f) => f.findIndex((n) => n.node.metadata!.name === "big"));
    place(nodes, gpuPod("u2", 5), (_p, f) => f.findIndex((n) => n.node.metadata!.name === "small"));
    return nodes;
  };
  const ours = setup();
  assert.equal(place(ours, gpuPod("one", 1), binpack), "small");
  assert.equal(place(ours, gpuPod("four", 4), binpack), "big");
  const oracle = setup();
  assert.equal(place(oracle, gpuPod("one", 1), mostAllocated), "big");
  assert.equal(place(oracle, gpuPod("four", 4), mostAllocated), undefined);
});

test("Spread: 1-GPU pods touch every node and keep free GPUs within 1 of each other", () => {
  const spread = pluginChooser(new GPUPlacementPlugin(staticPolicies([policy("spread", { selector: {}, strategy: "Spread" })])));
  for (const count of [20, 37, 80, 150]) {
    const nodes = nodeInfos(Array.from({ length: 20 }, (_, i) => gpuNode(`n${i}`, 8)));
    for (let i = 0; i < count; i++) assert.ok(place(nodes, gpuPod(`p${i}`, 1), spread));
    const free = nodes.map(freeGpus);
    assert.ok(Math.max(...free) - Math.min(...free) <= 1, `${count} pods: free ${free.join(",")}`);
    assert.equal(nodes.filter((n) => n.pods.length > 0).length, Math.min(20, count));
  }
});
