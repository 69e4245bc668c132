/** Nodes, pods and policies for the gpu-placement unit tests, and a one-pod-at-a-time scheduler simulation. */
import type { Node, Pod } from "../../../../framework/meta/index.ts";
import { CycleState, type NodeInfo, type NodeScore } from "../../../../framework/scheduling/framework.ts";
import { nodeInfoOf, podInfoOf, type NodeInfoBuilder } from "../../../../framework/scheduling/resources.ts";
import { GPUPlacementPolicyDefinition, type GPUPlacementPolicy, type GPUPlacementPolicySpecInput } from "../../../../operators/gpu-placement/api.ts";
import type { GPUPlacementPlugin } from "../../../../operators/gpu-placement/plugin.ts";

/** A node with `gpus` allocatable `nvidia.com/gpu` and optional product/memory labels. */
export function gpuNode(name: string, gpus: number, opts: { product?: string; memoryMiB?: number; unschedulable?: boolean; labels?: Record<string, string> } = {}): Node {
  const resources: Record<string, string> = { cpu: "64", memory: "512Gi", pods: "110" };
  if (gpus > 0) resources["nvidia.com/gpu"] = String(gpus);
  return {
    apiVersion: "v1", kind: "Node",
    metadata: {
      name, uid: `uid-${name}`,
      labels: {
        "kubernetes.io/hostname": name,
        ...(opts.product ? { "nvidia.com/gpu.product": opts.product } : {}),
        ...(opts.memoryMiB !== undefined ? { "nvidia.com/gpu.memory": String(opts.memoryMiB) } : {}),
        ...opts.labels,
      },
    },
    spec: opts.unschedulable ? { unschedulable: true } : {},
    status: { allocatable: { ...resources }, capacity: { ...resources } },
  };
}

let podCounter = 0;

/** A pod requesting (and limited to) `gpus` `nvidia.com/gpu`, bound to `nodeName` when given. */
export function gpuPod(name: string, gpus: number, opts: { labels?: Record<string, string>; nodeName?: string; phase?: "Pending" | "Running" | "Succeeded" | "Failed"; namespace?: string } = {}): Pod {
  const resources: { requests: Record<string, string>; limits?: Record<string, string> } = gpus > 0
    ? { requests: { cpu: "1", "nvidia.com/gpu": String(gpus) }, limits: { "nvidia.com/gpu": String(gpus) } }
    : { requests: { cpu: "1" } };
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: { name, namespace: opts.namespace ?? "ns", uid: `pod-uid-${name}-${++podCounter}`, labels: opts.labels ?? { app: "train" } },
    spec: { containers: [{ name: "c", image: "x", resources }], ...(opts.nodeName ? { nodeName: opts.nodeName } : {}) },
    ...(opts.phase ? { status: { phase: opts.phase } } : {}),
  };
}

/** A GPUPlacementPolicy object with defaults applied (as the API server returns it). */
export function policy(name: string, spec: GPUPlacementPolicySpecInput, generation = 1): GPUPlacementPolicy {
  return GPUPlacementPolicyDefinition.make({ metadata: { name, uid: `policy-${name}`, generation, resourceVersion: "1" }, spec });
}


/** Free GPUs of a NodeInfo. */
export function freeGpus(n: NodeInfo): number {
  return (n.allocatable["nvidia.com/gpu"] ?? 0) - (n.requested["nvidia.com/gpu"] ?? 0);
}

/** A node chooser: the index of the chosen node among `feasible` (all have room), or -1. */
export type Chooser = (pod: Pod, feasible: NodeInfo[]) => number;

/**
 * kube-scheduler's `NodeResourcesFit` MostAllocated on `{nvidia.com/gpu: 1}` (most_allocated.go:
 * `requested * 100 / allocatable`, integer), highest score first, ties to the first node (in
 * node order), as a snapshot iterated in order with no randomizer.
 */
export const mostAllocated: Chooser = (pod, feasible) => {
  const req = podInfoOf(pod).requests["nvidia.com/gpu"] ?? 0;
  let best = -1;
  let bestScore = -1;
  feasible.forEach((n, i) => {
    const cap = n.allocatable["nvidia.com/gpu"] ?? 0;
    const used = Math.min(cap, (n.requested["nvidia.com/gpu"] ?? 0) + req);
    const score = cap === 0 ? 0 : Math.floor((used * 100) / cap);
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  });
  return best;
};

/** The GPUPlacement plugin's Filter, Score and NormalizeScore, highest score first, ties to the first node. */
export function pluginChooser(plugin: GPUPlacementPlugin): Chooser {
  return (pod, feasible) => {
    const state = new CycleState();
    const info = podInfoOf(pod);
    const passing = feasible.filter((n) => plugin.filter(state, info, n).code === "Success");
    if (passing.length === 0) return -1;
    const scores: NodeScore[] = passing.map((n) => ({ name: n.node.metadata!.name!, score: plugin.score(state, info, n).score }));
    plugin.normalizeScore(state, info, scores);
    let best = 0;
    scores.forEach((s, i) => {
      if (s.score > scores[best]!.score) best = i;
    });
    return feasible.indexOf(passing[best]!);
  };
}

/** Nodes as mutable NodeInfos, for `place`. */
export function nodeInfos(nodes: Node[]): NodeInfoBuilder[] {
  return nodes.map((n) => nodeInfoOf(n));
}

/** Places one pod: NodeResourcesFit on GPUs (free >= request), then `choose`. Returns the node name or undefined. */
export function place(nodes: NodeInfoBuilder[], pod: Pod, choose: Chooser): string | undefined {
  const req = podInfoOf(pod).requests["nvidia.com/gpu"] ?? 0;
  const feasible = nodes.filter((n) => freeGpus(n) >= req);
  if (feasible.length === 0) return undefined;
  const i = choose(pod, feasible);
  if (i < 0) return undefined;
  const chosen = feasible[i] as NodeInfoBuilder;
  const name = chosen.node.metadata!.name!;
  chosen.addPod(podInfoOf({ ...pod, spec: { ...pod.spec!, nodeName: name } }));
  return name;
}
