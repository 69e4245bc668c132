/**
 * The cluster's GPUs, computed from nodes, pods and (optionally) DRA ResourceSlices and
 * ResourceClaims: per node and source a pool of GPUs of one product, how many are allocated, and,
 * for one policy, the figures its status reports (whole free nodes, stranded GPUs). Pure
 * functions: the inventory controller and the metrics feed them from informers, the unit tests
 * from literals.
 */
import type { DeepReadonly, LabelSet, Node, Pod } from "../../framework/meta/index.ts";
import { podRequests, toAmounts, type ResourceList } from "../../framework/scheduling/resources.ts";
import { GPU_RESOURCE, type ProductInventory } from "./api.ts";
import { allocatedDevices, draGpus, NVIDIA_DRA_DRIVER, type ResourceClaim, type ResourceSlice } from "./dra.ts";
import { memoryMiBOf, productOf, unmetRequirement, type CompiledPolicy } from "./policy.ts";

/** The product name reported for GPUs whose node has no `nvidia.com/gpu.product` label (and no DRA productName). */
export const UNKNOWN_PRODUCT = "unknown";

/** GPUs of one product on one node, from one source. */
export interface GpuPool {
  readonly node: string;
  /** `device-plugin`: the node's allocatable `nvidia.com/gpu`; `dra`: devices of ResourceSlices. */
  readonly source: "device-plugin" | "dra";
  /** The product, `UNKNOWN_PRODUCT` when not published. */
  readonly product: string;
  /** Memory per GPU in MiB, when published. */
  readonly memoryMiB?: number;
  readonly total: number;
  /** GPUs requested by the node's unfinished pods (device plugin), or devices allocated by claims (DRA). */
  readonly allocated: number;
  /** False for a cordoned node (`spec.unschedulable`). */
  readonly schedulable: boolean;
}

/** A pod that requests GPUs and has not finished. */
export interface GpuPod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: LabelSet;
  /** `nvidia.com/gpu` requested (whole units, `PodRequests` semantics: init and sidecar containers, overhead). */
  readonly request: number;
  /** The node it is bound to, or undefined while pending. */
  readonly nodeName?: string;
}

/** The cluster's GPUs at one moment. */
export interface ClusterGpus {
  readonly pools: readonly GpuPool[];
  readonly pods: readonly GpuPod[];
}

/** Inputs of `clusterGpus`. */
export interface ClusterGpusInput {
  nodes: ReadonlyArray<DeepReadonly<Node>>;
  pods: ReadonlyArray<DeepReadonly<Pod>>;
  slices?: ReadonlyArray<DeepReadonly<ResourceSlice>>;
  claims?: ReadonlyArray<DeepReadonly<ResourceClaim>>;
  /** DRA drivers whose devices are GPUs. Default `[gpu.nvidia.com]`. */
  draDrivers?: readonly string[];
}

/** True when a pod has finished (Succeeded or Failed): its resources are free again, as for kube-scheduler. */
function finished(pod: DeepReadonly<Pod>): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

/** The `nvidia.com/gpu` a pod requests (0 when it requests none or a quantity does not parse). */
export function gpuRequestOf(pod: DeepReadonly<Pod>): number {
  try {
    return podRequests(pod)[GPU_RESOURCE] ?? 0;
  } catch {
    return 0;
  }
}

/** The node's allocatable `nvidia.com/gpu` (0 when absent or not a quantity). */
export function gpuAllocatableOf(node: DeepReadonly<Node>): number {
  try {
    return toAmounts(node.status?.allocatable as ResourceList | undefined)[GPU_RESOURCE] ?? 0;
  } catch {
    return 0;
  }
}

/** True when a pod's spec names `nvidia.com/gpu` in any container's requests or limits (a cheap pre-check for event filters). */
export function mentionsGpu(pod: DeepReadonly<Pod> | undefined): boolean {
  const spec = pod?.spec;
  if (!spec) return false;
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    if (c.resources?.requests?.[GPU_RESOURCE] !== undefined || c.resources?.limits?.[GPU_RESOURCE] !== undefined) return true;
  }
  return false;
}

/** True when a node advertises GPUs or carries GPU labels (a cheap pre-check for event filters). */
export function mentionsGpuNode(node: DeepReadonly<Node> | undefined): boolean {
  if (!node) return false;
  return node.status?.allocatable?.[GPU_RESOURCE] !== undefined || productOf(node.metadata?.labels) !== undefined;
}

/**
 * Builds the GPU pools and GPU pods of the cluster. A device-plugin pool per node with
 * allocatable `nvidia.com/gpu` > 0; allocated is the sum of the requests of the unfinished pods
 * bound to it. A DRA pool per node and product of GPU devices; allocated counts the devices named
 * by claims' allocation results. Pods bound to unknown nodes are kept in `pods` but allocate nothing.
 */
export function clusterGpus(input: ClusterGpusInput): ClusterGpus {
  const pods: GpuPod[] = [];
  const usedByNode = new Map<string, number>();
  for (const pod of input.pods) {
    if (finished(pod) || !mentionsGpu(pod)) continue;
    const request = gpuRequestOf(pod);
    if (request <= 0) continue;
    const nodeName = pod.spec?.nodeName || undefined;
    pods.push({
      namespace: pod.metadata?.namespace ?? "", name: pod.metadata?.name ?? "", labels: pod.metadata?.labels ?? {}, request,
      ...(nodeName ? { nodeName } : {}),
    });
    if (nodeName) usedByNode.set(nodeName, (usedByNode.get(nodeName) ?? 0) + request);
  }
  const pools: GpuPool[] = [];
  const nodes = new Map<string, DeepReadonly<Node>>();
  for (const node of input.nodes) {
    const name = node.metadata?.name ?? "";
    nodes.set(name, node);
    const total = gpuAllocatableOf(node);
    if (total <= 0) continue;
    const labels = node.metadata?.labels;
    const memoryMiB = memoryMiBOf(labels);
    pools.push({
      node: name, source: "device-plugin", product: productOf(labels) ?? UNKNOWN_PRODUCT, ...(memoryMiB !== undefined ? { memoryMiB } : {}),
      total, allocated: usedByNode.get(name) ?? 0, schedulable: !node.spec?.unschedulable,
    });
  }
  if (input.slices?.length) {
    const allocated = allocatedDevices(input.claims ?? []);
    const drapools = new Map<string, { node: string; product: string; memoryMiB?: number; total: number; allocated: number }>();
    for (const gpu of draGpus(input.slices, new Set(input.draDrivers ?? [NVIDIA_DRA_DRIVER]))) {
      const labels = nodes.get(gpu.node)?.metadata?.labels;
      const product = gpu.product ?? productOf(labels) ?? UNKNOWN_PRODUCT;
      const key = `${gpu.node}\u0000${product}`;
      let pool = drapools.get(key);
      if (!pool) {
        const memoryMiB = gpu.memoryMiB ?? memoryMiBOf(labels);
        pool = { node: gpu.node, product, ...(memoryMiB !== undefined ? { memoryMiB } : {}), total: 0, allocated: 0 };
        drapools.set(key, pool);
      }
      pool.total++;
      if (allocated.has(`${gpu.driver}/${gpu.pool}/${gpu.device}`)) pool.allocated++;
    }
    for (const p of drapools.values()) {
      // A slice naming a node that does not exist (yet) counts, but no pod can use it.
      const node = nodes.get(p.node);
      pools.push({ ...p, source: "dra", schedulable: node !== undefined && !node.spec?.unschedulable });
    }
  }
  pools.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.source < b.source ? -1 : a.source > b.source ? 1 : a.product < b.product ? -1 : 1));
  return { pools, pods };
}

/** Free GPUs of a pool (never negative: a node that shrank below its pods' requests has none free). */
export function freeOf(pool: GpuPool): number {
  return Math.max(0, pool.total - pool.allocated);
}

/** `status.inventory`: per product (sorted by name), the nodes with such GPUs and their total, allocated and free GPUs. */
export function productInventory(cluster: ClusterGpus): ProductInventory[] {
  const by = new Map<string, { nodes: Set<string>; total: number; allocated: number; free: number }>();
  for (const p of cluster.pools) {
    let e = by.get(p.product);
    if (!e) by.set(p.product, (e = { nodes: new Set(), total: 0, allocated: 0, free: 0 }));
    e.nodes.add(p.node);
    e.total += p.total;
    e.allocated += Math.min(p.allocated, p.total);
    e.free += freeOf(p);
  }
  return [...by.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([product, e]) => ({ product, nodes: e.nodes.size, total: e.total, allocated: e.allocated, free: e.free }));
}

/** What one policy's status reports besides the inventory. */
export interface PolicyFigures {
  /** Schedulable nodes with at least one GPU pool meeting the policy's requirements. */
  readonly eligibleNodes: number;
  /** Eligible nodes whose every GPU is free. */
  readonly wholeFreeNodes: number;
  /** The largest GPU request of an unfinished pod the policy selects (0 when none). */
  readonly largestRequest: number;
  /** Free GPUs on eligible pools with fewer free than `largestRequest`. */
  readonly strandedGPUs: number;
  /** `strandedGPUs` per product. */
  readonly strandedByProduct: ReadonlyMap<string, number>;
  /** Unfinished pods selected by the policy that request GPUs. */
  readonly selectedPods: number;
  /** Most free GPUs in one eligible pool (0 when none). */
  readonly mostFreeOnOneNode: number;
}

/** True when the pool may host the policy's pods: its node is schedulable and it meets the requirements. */
export function eligible(pool: GpuPool, policy: CompiledPolicy): boolean {
  return pool.schedulable && pool.total > 0 && unmetRequirement(policy, pool.product === UNKNOWN_PRODUCT ? undefined : pool.product, pool.memoryMiB) === undefined;
}

/**
 * The policy's figures over the cluster's GPUs. Stranded GPUs are the free GPUs of eligible
 * pools that cannot host the largest request among the pods the policy selects (a pool with 3
 * free when the largest request is 4: 3 stranded; a 4-GPU node when it is 8: all its free GPUs).
 * With no selected pod nothing is stranded.
 */
export function policyFigures(cluster: ClusterGpus, policy: CompiledPolicy): PolicyFigures {
  let largestRequest = 0;
  let selectedPods = 0;
  for (const pod of cluster.pods) {
    if (!policy.selector.matches(pod.labels)) continue;
    selectedPods++;
    largestRequest = Math.max(largestRequest, pod.request);
  }
  const allFree = new Map<string, boolean>();
  for (const p of cluster.pools) allFree.set(p.node, (allFree.get(p.node) ?? true) && p.allocated === 0);
  const eligibleNodes = new Set<string>();
  const strandedByProduct = new Map<string, number>();
  let strandedGPUs = 0;
  let mostFreeOnOneNode = 0;
  for (const p of cluster.pools) {
    if (!eligible(p, policy)) continue;
    eligibleNodes.add(p.node);
    const free = freeOf(p);
    mostFreeOnOneNode = Math.max(mostFreeOnOneNode, free);
    if (free > 0 && free < largestRequest) {
      strandedGPUs += free;
      strandedByProduct.set(p.product, (strandedByProduct.get(p.product) ?? 0) + free);
    }
  }
  let wholeFreeNodes = 0;
  for (const n of eligibleNodes) if (allFree.get(n)) wholeFreeNodes++;
  return { eligibleNodes: eligibleNodes.size, wholeFreeNodes, largestRequest, strandedGPUs, strandedByProduct, selectedPods, mostFreeOnOneNode };
}
