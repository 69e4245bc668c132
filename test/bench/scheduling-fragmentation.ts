/**
 * GPU fragmentation (issue 6 §5, the probe of `shared/reference/scheduling.md` §D1): three
 * identical pools of 20 kwok nodes × 8 `nvidia.com/gpu` (64 CPU), one per scheduler: ours with a
 * BinPack GPUPlacementPolicy, kube-scheduler's default profile (GPU-blind), and kube-scheduler
 * with `NodeResourcesFit` MostAllocated on `{nvidia.com/gpu: 1}` (the binpack oracle). The same
 * seeded sequence of 1/2/4-GPU pods up to 50 % of the pool's GPUs is submitted to the three pools
 * at once, one pod at a time (each waits for its outcome, so each scheduler sees the same order),
 * then 8-GPU pods until one no longer fits. Measured per pool: whole free nodes after the load,
 * nodes touched, 8-GPU pods placed.
 */
import type { KubeClient } from "../../framework/client/index.ts";
import { Pods, type Pod } from "../../framework/meta/index.ts";
import { createFakeNodes, waitFor, seededRandom } from "../../framework/testing/index.ts";
import { DEFAULT_SCHEDULER_NAME } from "../../framework/scheduling/index.ts";
import { GPUPlacementPolicies, type GPUPlacementPolicy, type GPUPlacementPolicySpecInput } from "../../operators/gpu-placement/index.ts";
import { ensureNamespace } from "./cluster.ts";
import { KUBE_SCHEDULER_DEFAULT, KUBE_SCHEDULER_MOST_ALLOCATED } from "./scheduling-kube-scheduler.ts";

/** One pool's outcome. */
export interface FragmentationResult {
  side: "ours BinPack" | "kube-scheduler default" | "kube-scheduler MostAllocated";
  schedulerName: string;
  nodes: number;
  gpusPerNode: number;
  /** GPUs of the 1/2/4 load (50 % of the pool). */
  loadGpus: number;
  loadPods: number;
  /** Load pods that did not fit (expected 0 at 50 %). */
  loadUnplaced: number;
  nodesTouched: number;
  /** Nodes with no GPU in use after the load. */
  wholeFreeNodes: number;
  /** 8-GPU pods placed after the load before one no longer fit. */
  eightGpuPodsPlaced: number;
}

const APP = "bench-fragmentation";

/** The seeded 1/2/4 mix (weights 3:2:1 as the reference probe's 1/1/1/2/2/4) summing exactly to `target` GPUs. */
export function gpuMix(seed: number, target: number): number[] {
  const rnd = seededRandom(seed);
  const choices = [1, 1, 1, 2, 2, 4];
  const out: number[] = [];
  for (let total = 0; total < target;) {
    let g = choices[Math.floor(rnd() * choices.length)]!;
    if (total + g > target) g = target - total >= 2 ? 2 : 1;
    out.push(g);
    total += g;
  }
  return out;
}

function gpuPod(namespace: string, name: string, gpus: number, schedulerName: string, pool: string): Pod {
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: { name, namespace, labels: { app: APP } },
    spec: {
      schedulerName,
      terminationGracePeriodSeconds: 0,
      nodeSelector: { "kubeloop.dev/bench-pool": pool },
      containers: [{
        name: "train", image: "registry.k8s.io/pause:3.10",
        resources: { requests: { cpu: "1", "nvidia.com/gpu": String(gpus) }, limits: { "nvidia.com/gpu": String(gpus) } },
      }],
    },
  };
}

/** Waits until the pod is bound (its node) or reported Unschedulable (undefined). */
async function outcome(admin: KubeClient, namespace: string, name: string): Promise<string | undefined> {
  const r = await waitFor(async () => {
    const p = await admin.get(Pods, { namespace, name });
    if (p.spec?.nodeName) return { node: p.spec.nodeName };
    if (p.status?.conditions?.some((c) => c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable")) return { node: undefined };
    return undefined;
  }, { timeoutMs: 60_000, intervalMs: 100, description: `${namespace}/${name} bound or Unschedulable` });
  return r.node;
}

/** The BinPack policy ours places the pods with. */
export async function createBinPackPolicy(admin: KubeClient): Promise<void> {
  await admin.create(GPUPlacementPolicies, {
    apiVersion: GPUPlacementPolicies.apiVersion, kind: "GPUPlacementPolicy",
    metadata: { name: "bench-binpack" }, spec: { selector: { matchLabels: { app: APP } }, strategy: "BinPack" } satisfies GPUPlacementPolicySpecInput,
  } as unknown as GPUPlacementPolicy);
}

/**
 * Creates the three pools and runs the sequence in them; needs ours (setup `gpu`, with the policy
 * of `createBinPackPolicy`) and the reference kube-scheduler running.
 */
export async function measureFragmentation(admin: KubeClient, kubeconfigPath: string, opts: {
  namespace: string; nodes: number; gpusPerNode: number; seed: number; say: (line: string) => void;
}): Promise<FragmentationResult[]> {
  await ensureNamespace(admin, opts.namespace);
  const sides = [
    { side: "ours BinPack", schedulerName: DEFAULT_SCHEDULER_NAME, pool: "frag-ours" },
    { side: "kube-scheduler default", schedulerName: KUBE_SCHEDULER_DEFAULT, pool: "frag-default" },
    { side: "kube-scheduler MostAllocated", schedulerName: KUBE_SCHEDULER_MOST_ALLOCATED, pool: "frag-mostalloc" },
  ] as const;
  for (const s of sides) {
    await createFakeNodes(kubeconfigPath, {
      count: opts.nodes, namePrefix: `${s.pool}-`, cpu: "64", memory: "512Gi", gpus: opts.gpusPerNode,
      gpuProduct: "NVIDIA-A100-SXM4-80GB", gpuMemoryMiB: 81920, labels: { "kubeloop.dev/bench-pool": s.pool },
    }, { timeoutMs: 120_000 });
  }
  const loadGpus = (opts.nodes * opts.gpusPerNode) / 2;
  const sizes = gpuMix(opts.seed, loadGpus);
  const used = sides.map(() => new Map<string, number>());
  const unplaced = sides.map(() => 0);
  for (const [i, g] of sizes.entries()) {
    await Promise.all(sides.map((s) => admin.create(Pods, gpuPod(opts.namespace, `${s.pool}-${i}`, g, s.schedulerName, s.pool))));
    await Promise.all(sides.map(async (s, k) => {
      const node = await outcome(admin, opts.namespace, `${s.pool}-${i}`);
      if (node) used[k]!.set(node, (used[k]!.get(node) ?? 0) + g);
      else unplaced[k]!++;
    }));
  }
  opts.say(`    load: ${sizes.length} pods (${sizes.join(",")}) = ${loadGpus} GPUs in each pool`);
  const eights = await Promise.all(sides.map(async (s) => {
    let placed = 0;
    for (let j = 0; j <= opts.nodes; j++) {
      const name = `${s.pool}-eight-${j}`;
      await admin.create(Pods, gpuPod(opts.namespace, name, 8, s.schedulerName, s.pool));
      if (!(await outcome(admin, opts.namespace, name))) break;
      placed++;
    }
    return placed;
  }));
  return sides.map((s, k) => ({
    side: s.side, schedulerName: s.schedulerName, nodes: opts.nodes, gpusPerNode: opts.gpusPerNode, loadGpus, loadPods: sizes.length,
    loadUnplaced: unplaced[k]!, nodesTouched: used[k]!.size, wholeFreeNodes: opts.nodes - used[k]!.size, eightGpuPodsPlaced: eights[k]!,
  }));
}
