/**
 * The GPUPlacement plugin in kubeloop's scheduler (wired as `operators/registry.ts` wires it:
 * default plugins plus GPUPlacement at score weight 10) on a real control plane with kwok GPU
 * nodes of two products, and kube-scheduler beside it:
 * - the seed's example (required node affinity `gpu-type In [nvidia-a100]`, `nvidia.com/gpu: 1`);
 * - the `nvidia.com/gpu` NoSchedule taint kept (TaintToleration), with kube-scheduler's message;
 * - a policy's minimum GPU memory refusing every node, with our reason in the histogram;
 * - differential (c): the same sequence of 1/2/4-GPU pods on two identical pools of 3 x 8 GPUs,
 *   one scheduled by ours under a BinPack policy, one by kube-scheduler's default profile
 *   (GPU-blind): ours keeps a whole node free and places the 8-GPU pod that follows; the
 *   default profile spreads and cannot.
 */
import { after, before, test } from "node:test";
import { Nodes, Pods, type Pod } from "../../../../framework/meta/index.ts";
import { DEFAULT_SCHEDULER_NAME } from "../../../../framework/scheduling/index.ts";
import { createTestNamespace, deleteTestNamespace, waitFor } from "../../../../framework/testing/index.ts";
import { Manager } from "../../../../framework/manager/index.ts";
import { rootLogger } from "../../../../framework/log/index.ts";
import { GPUPlacementPolicies } from "../../../../operators/gpu-placement/api.ts";
import { setupOperators } from "../../../../operators/registry.ts";
import { A100, assert, connect, createPolicy, deletePolicy, eventually, gpuNodes, gpuPod, H100, removeNodes, disconnect, type Cluster, startManager } from "./harness.ts";

const GPU_TAINT = { key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" as const };
const TOLERATE_GPU = [{ key: "nvidia.com/gpu", operator: "Exists" as const, effect: "NoSchedule" as const }];

let cluster: Cluster;
let ns: string;
const nodes: string[] = [];
const policies: string[] = [];
let stopManager: (() => Promise<void>) | undefined;

before(async () => {
  cluster = await connect();
  ns = await createTestNamespace(cluster.client, "gpu-sched");
  // Ours: 3 x A100 (untainted, gpu-type label as in the seed), 2 x H100 tainted nvidia.com/gpu.
  nodes.push(...await gpuNodes(cluster, "ours-a100-", 3, { gpus: 8, gpuProduct: A100, gpuMemoryMiB: 81920, labels: { pool: "ours", "gpu-type": "nvidia-a100" } }));
  nodes.push(...await gpuNodes(cluster, "ours-h100-", 2, { gpus: 8, gpuProduct: H100, gpuMemoryMiB: 81559, labels: { pool: "ours", "gpu-type": "nvidia-h100" }, taints: [GPU_TAINT] }));
  // kube-scheduler's pool: the same 3 x A100.
  nodes.push(...await gpuNodes(cluster, "builtin-a100-", 3, { gpus: 8, gpuProduct: A100, gpuMemoryMiB: 81920, labels: { pool: "builtin", "gpu-type": "nvidia-a100" } }));
  const mgr = new Manager({ client: cluster.operatorClient, name: "gpu-sched-e2e", metricsBindAddress: "0", healthProbeBindAddress: "0", log: rootLogger });
  setupOperators(mgr, ["gpu-placement"]);
  ({ stop: stopManager } = await startManager(mgr));
});

after(async () => {
  await stopManager?.();
  for (const p of policies) await deletePolicy(cluster, p);
  if (ns) await deleteTestNamespace(cluster.client, ns);
  await removeNodes(cluster, nodes);
  disconnect(cluster);
});

/** kube-scheduler's `0/N nodes are available: ...` with the "<count> <reason>" parts sorted as strings (Go's sort.Strings: "12 ..." before "2 ..."). */
function fitError(n: number, parts: string[]): string {
  return `0/${n} nodes are available: ${[...parts].sort().join(", ")}.`;
}

async function boundNode(name: string): Promise<string> {
  return waitFor(async () => (await cluster.client.get(Pods, { namespace: ns, name })).spec?.nodeName || undefined, { timeoutMs: 30_000, description: `${ns}/${name} bound` });
}

async function unschedulableMessage(name: string): Promise<string> {
  return waitFor(async () => {
    const p = await cluster.client.get(Pods, { namespace: ns, name });
    return p.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable")?.message;
  }, { timeoutMs: 30_000, description: `PodScheduled=False/Unschedulable on ${ns}/${name}` });
}

/** kube-scheduler's message up to its preemption/DRA suffix: `0/N nodes are available: <histogram>.` */
function withoutSuffix(message: string): string {
  const end = message.indexOf(". ");
  return end === -1 ? message : message.slice(0, end + 1);
}

async function nodeCount(): Promise<number> {
  return (await cluster.client.list(Nodes)).items.length;
}

test("the seed's example: required affinity gpu-type In [nvidia-a100] with nvidia.com/gpu: 1 lands on an A100 node", async () => {
  const seed: Pod = {
    apiVersion: "v1", kind: "Pod", metadata: { name: "seed-a100", namespace: ns },
    spec: {
      schedulerName: DEFAULT_SCHEDULER_NAME, terminationGracePeriodSeconds: 0,
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "gpu-type", operator: "In", values: ["nvidia-a100"] }] }] } } },
      containers: [{ name: "cuda", image: "registry.k8s.io/pause:3.10", resources: { limits: { "nvidia.com/gpu": "1" } } }],
    },
  };
  await cluster.client.create(Pods, seed);
  const node = await boundNode("seed-a100");
  assert.match(node, /^(ours|builtin)-a100-\d$/);
  await cluster.client.delete(Pods, { namespace: ns, name: "seed-a100" }, { gracePeriodSeconds: 0 });
});

test("the nvidia.com/gpu NoSchedule taint is kept: same message as kube-scheduler; with the toleration the pod binds to H100", async () => {
  const extra = { nodeSelector: { "gpu-type": "nvidia-h100" } };
  await cluster.client.create(Pods, gpuPod(ns, "untolerated-ours", 1, { labels: { app: "probe" }, schedulerName: DEFAULT_SCHEDULER_NAME, extra }));
  await cluster.client.create(Pods, gpuPod(ns, "untolerated-builtin", 1, { labels: { app: "probe" }, schedulerName: "default-scheduler", extra }));
  const ours = await unschedulableMessage("untolerated-ours");
  const theirs = await unschedulableMessage("untolerated-builtin");
  const n = await nodeCount();
  assert.equal(ours, fitError(n, ["2 node(s) had untolerated taint(s)", `${n - 2} node(s) didn't match Pod's node affinity/selector`]));
  assert.equal(ours, withoutSuffix(theirs));
  await cluster.client.create(Pods, gpuPod(ns, "tolerated", 1, { labels: { app: "probe" }, schedulerName: DEFAULT_SCHEDULER_NAME, extra: { ...extra, tolerations: TOLERATE_GPU } }));
  assert.match(await boundNode("tolerated"), /^ours-h100-\d$/);
  for (const name of ["untolerated-ours", "untolerated-builtin", "tolerated"]) await cluster.client.delete(Pods, { namespace: ns, name }, { gracePeriodSeconds: 0 });
});

test("a policy's minimum GPU memory no node meets: Unschedulable with the policy's reason in the histogram", async () => {
  policies.push("bigmem");
  await createPolicy(cluster, "bigmem", { selector: { matchLabels: { app: "bigmem" } }, minGPUMemoryMiB: 163840 });
  await eventually("policy cached", async () => assert.ok((await cluster.client.get(GPUPlacementPolicies, { name: "bigmem" })).status?.conditions));
  await cluster.client.create(Pods, gpuPod(ns, "bigmem", 1, { labels: { app: "bigmem" }, schedulerName: DEFAULT_SCHEDULER_NAME, extra: { tolerations: TOLERATE_GPU } }));
  const n = await nodeCount();
  // Every GPU node of the cluster (this file's 8 and any other) has less than 160 GiB per GPU.
  const gpuNodesCount = (await cluster.client.list(Nodes)).items.filter((node) => Number(node.status?.allocatable?.["nvidia.com/gpu"] ?? "0") > 0).length;
  assert.equal(await unschedulableMessage("bigmem"),
    fitError(n, [`${n - gpuNodesCount} Insufficient nvidia.com/gpu`, `${gpuNodesCount} node(s) had less GPU memory than GPUPlacementPolicy bigmem requires`]));
  // Relaxing the policy (an Update event of the policy informer) lets it schedule.
  await cluster.client.patch(GPUPlacementPolicies, { name: "bigmem" }, { type: "merge", body: { spec: { minGPUMemoryMiB: 81920 } } });
  assert.match(await boundNode("bigmem"), /-a100-\d$/);
  await cluster.client.delete(Pods, { namespace: ns, name: "bigmem" }, { gracePeriodSeconds: 0 });
});

test("differential (c): BinPack keeps a whole node free for an 8-GPU pod; kube-scheduler's default profile (GPU-blind) does not", async () => {
  policies.push("train-binpack");
  await createPolicy(cluster, "train-binpack", { selector: { matchLabels: { app: "train" } }, strategy: "BinPack", requiredProducts: [A100] });
  await eventually("policy status", async () => assert.ok((await cluster.client.get(GPUPlacementPolicies, { name: "train-binpack" })).status?.conditions));
  const sizes = [4, 2, 1, 1, 4, 2, 2];
  const placed: Record<"ours" | "builtin", Record<string, number>> = { ours: {}, builtin: {} };
  for (const [i, g] of sizes.entries()) {
    // One pod at a time in each pool, so both schedulers see the same sequence.
    await cluster.client.create(Pods, gpuPod(ns, `ours-${i}`, g, { schedulerName: DEFAULT_SCHEDULER_NAME, extra: { nodeSelector: { pool: "ours" } } }));
    await cluster.client.create(Pods, gpuPod(ns, `builtin-${i}`, g, { schedulerName: "default-scheduler", extra: { nodeSelector: { pool: "builtin" } } }));
    const o = await boundNode(`ours-${i}`);
    const b = await boundNode(`builtin-${i}`);
    placed.ours[o] = (placed.ours[o] ?? 0) + g;
    placed.builtin[b] = (placed.builtin[b] ?? 0) + g;
  }
  // Ours: two A100 nodes full, the third untouched; kube-scheduler: all three touched.
  assert.deepEqual(Object.values(placed.ours).sort(), [8, 8], JSON.stringify(placed.ours));
  assert.ok(Object.keys(placed.ours).every((n) => n.startsWith("ours-a100-")));
  assert.equal(Object.keys(placed.builtin).length, 3, JSON.stringify(placed.builtin));
  await eventually("one whole free A100 node in the status", async () => {
    const s = (await cluster.client.get(GPUPlacementPolicies, { name: "train-binpack" })).status;
    assert.equal(s?.wholeFreeNodes, 1);
    assert.equal(s?.largestRequest, 4);
    // The policy covers the cluster: kube-scheduler's pool (its pods are app=train too) strands
    // the free GPUs of nodes with fewer than 4 free; ours strands none.
    const strandedBuiltin = Object.values(placed.builtin).map((used) => 8 - used).filter((free) => free > 0 && free < 4).reduce((a, b) => a + b, 0);
    assert.equal(s?.strandedGPUs, strandedBuiltin);
  });
  await cluster.client.create(Pods, gpuPod(ns, "ours-eight", 8, { schedulerName: DEFAULT_SCHEDULER_NAME, extra: { nodeSelector: { pool: "ours" } } }));
  await cluster.client.create(Pods, gpuPod(ns, "builtin-eight", 8, { schedulerName: "default-scheduler", extra: { nodeSelector: { pool: "builtin" } } }));
  const eight = await boundNode("ours-eight");
  assert.ok(eight.startsWith("ours-a100-") && placed.ours[eight] === undefined, eight);
  const n = await nodeCount();
  assert.equal(withoutSuffix(await unschedulableMessage("builtin-eight")), fitError(n, ["2 node(s) had untolerated taint(s)", "3 Insufficient nvidia.com/gpu", `${n - 5} node(s) didn't match Pod's node affinity/selector`]));
  await eventually("no whole free node, nothing stranded for 8", async () => {
    const s = (await cluster.client.get(GPUPlacementPolicies, { name: "train-binpack" })).status;
    assert.equal(s?.wholeFreeNodes, 0);
    assert.equal(s?.largestRequest, 8);
    assert.deepEqual(s?.inventory?.find((e) => e.product === A100), { product: A100, nodes: 6, total: 48, allocated: 16 + 8 + 16, free: 8 });
  });
});
