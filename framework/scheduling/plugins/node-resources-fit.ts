/**
 * NodeResourcesFit: the node must have room for the pod's requests (cpu, memory,
 * ephemeral-storage, pods and every extended resource), and nodes are scored by how much of the
 * configured resources would be allocated.
 *
 * Mirrors `pkg/scheduler/framework/plugins/noderesources` (`fit.go`, `resource_allocation.go`,
 * `least_allocated.go`, `most_allocated.go`, `requested_to_capacity_ratio.go`) in Kubernetes v1.36:
 * - PreFilter stores the pod's effective requests (`PodRequests`: init and sidecar containers,
 *   overhead, pod-level resources).
 * - Filter reasons, in this order: `Too many pods` (pods on the node + 1 > allocatable pods),
 *   `Insufficient cpu`, `Insufficient memory`, `Insufficient ephemeral-storage`, then
 *   `Insufficient <name>` for each requested extended resource (sorted by name; upstream iterates a
 *   Go map). The code is UnschedulableAndUnresolvable when some request exceeds the node's whole
 *   allocatable (preemption cannot help), Unschedulable otherwise; `Too many pods` alone is
 *   Unschedulable. Zero requests are not checked; `ignoredResources` / `ignoredResourceGroups`
 *   skip extended resources by name / by the prefix before `/`.
 * - Score (no normalization, default weight 1) with a scoring strategy over `resources`
 *   (default LeastAllocated, cpu:1, memory:1), integer math as upstream, MaxNodeScore 100:
 *   LeastAllocated `Σ w·((cap−req)·100/cap) / Σw` (0 when req > cap); MostAllocated
 *   `Σ w·(min(req,cap)·100/cap) / Σw`; RequestedToCapacityRatio: the broken-linear `shape`
 *   (utilization 0-100 -> score 0-10, ×10) at `req·100/cap` (100 when req > cap), averaged over
 *   resources with a positive score weighted, rounded. `req` is the node's requested plus the
 *   pod's; cpu and memory use the non-zero requests (100m / 200Mi for containers without one). As
 *   in v1.36, the incoming pod's scored requests ignore pod-level `spec.resources` and status
 *   resources (the scorer is built without those feature flags), while Filter and the node's
 *   accounting use them. A
 *   resource is left out for a node whose allocatable is 0 (or that is not a scored resource
 *   name), and an extended resource is left out when the pod does not request it.
 * - Events: Pod/Delete (queued when a bound or nominated pod went away), Pod/Update (queued when a
 *   bound pod, or this pod, scaled down a resource this pod requests), Node/Add and Node/Update
 *   (queued when the node could take the pod when empty and, for an update, its allocatable grew
 *   for a resource the pod requests, or its allocatable pods grew).
 *
 * Differs on purpose: DRA-backed extended resources (`DRAExtendedResource`, DeviceClass
 * `extendedResourceName`) are not delegated to DRA: an extended resource must be in the node's
 * allocatable.
 */
import type {
  ClusterEvent, CycleState, EnqueueExtensions, FilterPlugin, NodeInfo, NodeInfoLister, PodInfo, PreFilterPlugin, PreFilterResult,
  PreScorePlugin, QueueingHintFn, ResourceAmounts, ScorePlugin, Status,
} from "../framework.ts";
import { MAX_NODE_SCORE, status, SUCCESS } from "../framework.ts";
import type { Node, Pod } from "../../meta/index.ts";
import type { DeepReadonly } from "../../meta/index.ts";
import {
  CPU, DEFAULT_NON_ZERO_REQUESTS, EPHEMERAL_STORAGE, hasStatusResources, isExtendedResourceName, isScalarResourceName, MEMORY, PODS, podRequests,
  toAmounts, type ResourceList,
} from "../resources.ts";
import { asNode, asPod, samePod } from "./helpers.ts";

/** The plugin's registry name. */
export const NODE_RESOURCES_FIT = "NodeResourcesFit";
/** The reason when the node's pod count is at its allocatable `pods`. */
export const ERR_REASON_TOO_MANY_PODS = "Too many pods";
/** The reason for a resource the node has too little of: `Insufficient <resource>`. */
export function insufficientReason(resource: string): string {
  return `Insufficient ${resource}`;
}

/** How nodes are scored (`ScoringStrategyType`). */
export type ScoringStrategyType = "LeastAllocated" | "MostAllocated" | "RequestedToCapacityRatio";

/** A resource to score and its weight (`ResourceSpec`; weight 1-100, default 1). */
export interface ResourceSpec {
  readonly name: string;
  readonly weight?: number;
}

/** One point of the RequestedToCapacityRatio shape: utilization 0-100 (%), score 0-10. */
export interface UtilizationShapePoint {
  readonly utilization: number;
  readonly score: number;
}

/** The scoring strategy (`ScoringStrategy`). */
export interface ScoringStrategy {
  readonly type: ScoringStrategyType;
  /** The resources to score; empty or absent: cpu and memory, weight 1 each. */
  readonly resources?: readonly ResourceSpec[];
  /** Required with RequestedToCapacityRatio, forbidden otherwise: points sorted by increasing utilization. */
  readonly requestedToCapacityRatio?: { readonly shape: readonly UtilizationShapePoint[] };
}

/** `NodeResourcesFitArgs`. */
export interface NodeResourcesFitOptions {
  /** Default `{ type: "LeastAllocated", resources: [{ name: "cpu", weight: 1 }, { name: "memory", weight: 1 }] }`. */
  readonly scoringStrategy?: ScoringStrategy;
  /** Extended resources Filter does not check. */
  readonly ignoredResources?: readonly string[];
  /** Extended-resource groups (the part before `/`) Filter does not check. */
  readonly ignoredResourceGroups?: readonly string[];
}

/** The default scored resources (`defaultResourceSpec`). */
export const DEFAULT_SCORED_RESOURCES: readonly ResourceSpec[] = Object.freeze([{ name: CPU, weight: 1 }, { name: MEMORY, weight: 1 }]);

const PRE_FILTER_KEY = "NodeResourcesFit/preFilter";
const PRE_SCORE_KEY = "NodeResourcesFit/preScore";
const MAX_UTILIZATION = 100;
const MAX_CUSTOM_PRIORITY_SCORE = 10;

/** One resource the node lacks (`InsufficientResource`). */
export interface InsufficientResource {
  readonly resourceName: string;
  readonly reason: string;
  readonly requested: number;
  readonly used: number;
  readonly capacity: number;
  /** The request exceeds the node's whole allocatable. */
  readonly unresolvable: boolean;
}

type Scorer = (requested: readonly number[], allocatable: readonly number[]) => number;

/** The NodeResourcesFit plugin (PreFilter, Filter, PreScore, Score, EnqueueExtensions). */
export class NodeResourcesFit implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions {
  readonly name = NODE_RESOURCES_FIT;
  readonly #resources: ReadonlyArray<{ name: string; weight: number }>;
  readonly #scorer: Scorer;
  readonly #ignored: ReadonlySet<string>;
  readonly #ignoredGroups: ReadonlySet<string>;
  readonly #requestCache = new WeakMap<object, ResourceAmounts>();
  readonly #specRequestCache = new WeakMap<object, ResourceAmounts>();
  readonly #allocatableCache = new WeakMap<object, ResourceAmounts>();

  /** @throws Error naming the invalid field (`scoringStrategy.resources[0].weight: ...`), as `ValidateNodeResourcesFitArgs`. */
  constructor(opts: NodeResourcesFitOptions = {}) {
    const strategy = opts.scoringStrategy ?? { type: "LeastAllocated" as const };
    validateOptions(opts, strategy);
    const specs = strategy.resources && strategy.resources.length > 0 ? strategy.resources : DEFAULT_SCORED_RESOURCES;
    this.#resources = specs.map((r) => ({ name: r.name, weight: r.weight || 1 }));
    const weights = this.#resources.map((r) => r.weight);
    switch (strategy.type) {
      case "LeastAllocated":
        this.#scorer = weightedScorer(weights, leastRequestedScore);
        break;
      case "MostAllocated":
        this.#scorer = weightedScorer(weights, mostRequestedScore);
        break;
      case "RequestedToCapacityRatio":
        this.#scorer = requestedToCapacityRatioScorer(weights, strategy.requestedToCapacityRatio!.shape);
        break;
    }
    this.#ignored = new Set(opts.ignoredResources ?? []);
    this.#ignoredGroups = new Set(opts.ignoredResourceGroups ?? []);
  }

  preFilter(state: CycleState, pod: PodInfo, _nodes: NodeInfoLister): { status: Status; result?: PreFilterResult } {
    // computePodResourceRequest: PodRequests without status resources (the same as PodInfo's for a pod never resized)
    state.write(PRE_FILTER_KEY, hasStatusResources(pod.pod) ? podRequests(pod.pod, { useStatusResources: false }) : pod.requests);
    return { status: SUCCESS };
  }

  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Status {
    const requests = state.read<ResourceAmounts>(PRE_FILTER_KEY) ?? pod.requests;
    const insufficient = fitsRequest(requests, node, this.#ignored, this.#ignoredGroups);
    if (insufficient.length === 0) return SUCCESS;
    const code = insufficient.some((r) => r.unresolvable) ? "UnschedulableAndUnresolvable" : "Unschedulable";
    return status(code, ...insufficient.map((r) => r.reason));
  }

  preScore(state: CycleState, pod: PodInfo): Status {
    state.write(PRE_SCORE_KEY, this.#podRequestVector(pod));
    return SUCCESS;
  }

  score(state: CycleState, pod: PodInfo, node: NodeInfo): { score: number; status?: Status } {
    const podReq = state.read<readonly number[]>(PRE_SCORE_KEY) ?? this.#podRequestVector(pod);
    const n = this.#resources.length;
    const requested = new Array<number>(n).fill(0);
    const allocatable = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) {
      const name = this.#resources[i]!.name;
      if (podReq[i] === 0 && isScalarResourceName(name)) continue;
      const cap = scoredAllocatable(node, name);
      if (cap === 0) continue;
      allocatable[i] = cap;
      const inUse = name === CPU || name === MEMORY ? node.nonZeroRequested : node.requested;
      requested[i] = (inUse[name] ?? 0) + podReq[i]!;
    }
    return { score: this.#scorer(requested, allocatable) };
  }

  /**
   * `calculatePodResourceRequestList`: the pod's request per scored resource, a missing container
   * cpu/memory request counted as 100m/200Mi. In v1.36 NodeResourcesFit's scorer is built without
   * its PodLevelResources and InPlacePodVerticalScaling flags, so pod-level `spec.resources` and
   * status resources are not considered here (they are in Filter and in the node's accounting).
   */
  #podRequestVector(pod: PodInfo): number[] {
    const reqs = podRequests(pod.pod, { nonMissingContainerRequests: DEFAULT_NON_ZERO_REQUESTS, skipPodLevelResources: true, useStatusResources: false });
    return this.#resources.map((r) => reqs[r.name] ?? 0);
  }

  /**
   * The pod's requests for a queueing hint, cached per pod object: with resize status for the
   * scale-down hint (as `isSchedulableAfterPodScaleDown`), from the spec only for the node hint
   * (as `computePodResourceRequest`).
   */
  #requestsOf(pod: DeepReadonly<Pod>, useStatusResources = true): ResourceAmounts {
    const cache = useStatusResources ? this.#requestCache : this.#specRequestCache;
    let r = cache.get(pod);
    if (!r) {
      r = podRequests(pod, { useStatusResources });
      cache.set(pod, r);
    }
    return r;
  }

  /** A node's allocatable for a queueing hint, cached per node object. */
  #allocatableOf(node: DeepReadonly<Node>): ResourceAmounts {
    let a = this.#allocatableCache.get(node);
    if (!a) {
      a = toAmounts(node.status?.allocatable as ResourceList | undefined);
      this.#allocatableCache.set(node, a);
    }
    return a;
  }

  eventsToRegister(): ReadonlyArray<{ event: ClusterEvent; hint?: QueueingHintFn }> {
    const onPodDelete: QueueingHintFn = (_pod, oldObj) => {
      const deleted = asPod(oldObj);
      if (!deleted) return "Queue";
      return !deleted.spec?.nodeName && !deleted.status?.nominatedNodeName ? "QueueSkip" : "Queue";
    };
    const onPodUpdate: QueueingHintFn = (pod, oldObj, newObj) => {
      const before = asPod(oldObj);
      const after = asPod(newObj);
      if (!before || !after) return "Queue";
      if (!samePod(pod, after) && !after.spec?.nodeName) return "QueueSkip";
      const was = this.#requestsOf(before);
      const now = this.#requestsOf(after);
      if (samePod(pod, after)) {
        // the pod itself scaled down (extractPodScaleDown): a request went away or got smaller
        for (const [name, q] of Object.entries(was)) if (!(name in now) || q > now[name]!) return "Queue";
        return "QueueSkip";
      }
      // a bound pod scaled down a resource this pod requests (isSchedulableAfterPodScaleDown)
      for (const [name, q] of Object.entries(this.#requestsOf(pod))) {
        if (q !== 0 && (was[name] ?? 0) > (now[name] ?? 0)) return "Queue";
      }
      return "QueueSkip";
    };
    const onNode: QueueingHintFn = (pod, oldObj, newObj) => {
      const before = asNode(oldObj);
      const after = asNode(newObj);
      if (!after) return "Queue";
      const req = this.#requestsOf(pod, false);
      const nowAlloc = this.#allocatableOf(after);
      if (fitsRequest(req, emptyNodeInfo(nowAlloc), new Set(), new Set()).length > 0) return "QueueSkip";
      if (!before) return "Queue";
      const wasAlloc = this.#allocatableOf(before);
      if ((nowAlloc[PODS] ?? 0) > (wasAlloc[PODS] ?? 0)) return "Queue";
      for (const [name, q] of Object.entries(req)) {
        if (q > 0 && (nowAlloc[name] ?? 0) > (wasAlloc[name] ?? 0)) return "Queue";
      }
      return "QueueSkip";
    };
    return [
      { event: { resource: "Pod", action: "Delete" }, hint: onPodDelete },
      { event: { resource: "Pod", action: "Update" }, hint: onPodUpdate },
      { event: { resource: "Node", action: "Add" }, hint: onNode },
      { event: { resource: "Node", action: "Update" }, hint: onNode },
    ];
  }
}

function emptyNodeInfo(allocatable: ResourceAmounts): NodeInfo {
  return { allocatable, pods: [], requested: {}, nonZeroRequested: {}, usedPorts: [], get node(): never { throw new Error("no node"); } };
}

/** The node's allocatable of a scored resource: cpu, memory, ephemeral-storage and scalar resources; 0 for anything else (e.g. `pods`). */
function scoredAllocatable(node: NodeInfo, name: string): number {
  if (name === CPU || name === MEMORY || name === EPHEMERAL_STORAGE || isScalarResourceName(name)) return node.allocatable[name] ?? 0;
  return 0;
}

/**
 * `fitsRequest`: the resources the node lacks for `requests` (ResourceAmounts units), in
 * kube-scheduler's order (pods, cpu, memory, ephemeral-storage, extended resources by name).
 */
export function fitsRequest(
  requests: ResourceAmounts, node: NodeInfo, ignored: ReadonlySet<string> = new Set(), ignoredGroups: ReadonlySet<string> = new Set(),
): InsufficientResource[] {
  const out: InsufficientResource[] = [];
  const alloc = node.allocatable;
  const used = node.requested;
  const allowedPods = alloc[PODS] ?? 0;
  if (node.pods.length + 1 > allowedPods) {
    out.push({ resourceName: PODS, reason: ERR_REASON_TOO_MANY_PODS, requested: 1, used: node.pods.length, capacity: allowedPods, unresolvable: false });
  }
  const check = (name: string): void => {
    const want = requests[name] ?? 0;
    if (want <= 0) return;
    const cap = alloc[name] ?? 0;
    const inUse = used[name] ?? 0;
    if (want > cap - inUse) {
      out.push({ resourceName: name, reason: insufficientReason(name), requested: want, used: inUse, capacity: cap, unresolvable: want > cap });
    }
  };
  check(CPU);
  check(MEMORY);
  check(EPHEMERAL_STORAGE);
  const scalars = Object.keys(requests).filter((n) => n !== CPU && n !== MEMORY && n !== EPHEMERAL_STORAGE && n !== PODS).sort();
  for (const name of scalars) {
    if (isExtendedResourceName(name) && (ignored.has(name) || ignoredGroups.has(name.split("/")[0]!))) continue;
    check(name);
  }
  return out;
}

/** `trunc(a * b / c)` for non-negative integers, exact even when `a * b` exceeds 2^53. */
function mulDiv(a: number, b: number, c: number): number {
  const p = a * b;
  if (p <= Number.MAX_SAFE_INTEGER) return Math.trunc(p / c);
  return Number((BigInt(a) * BigInt(b)) / BigInt(c));
}

/** `leastRequestedScore`: `(cap − req)·100/cap`, 0 when req > cap. */
export function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return mulDiv(capacity - requested, MAX_NODE_SCORE, capacity);
}

/** `mostRequestedScore`: `min(req, cap)·100/cap`. */
export function mostRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0) return 0;
  return mulDiv(Math.min(requested, capacity), MAX_NODE_SCORE, capacity);
}

function weightedScorer(weights: readonly number[], resourceScore: (req: number, cap: number) => number): Scorer {
  return (requested, allocatable) => {
    let nodeScore = 0;
    let weightSum = 0;
    for (let i = 0; i < requested.length; i++) {
      if (allocatable[i] === 0) continue;
      nodeScore += resourceScore(requested[i]!, allocatable[i]!) * weights[i]!;
      weightSum += weights[i]!;
    }
    return weightSum === 0 ? 0 : Math.trunc(nodeScore / weightSum);
  };
}

/** `helper.BuildBrokenLinearFunction` over points with scores already scaled to 0-100. */
function brokenLinear(shape: readonly UtilizationShapePoint[]): (p: number) => number {
  return (p) => {
    for (let i = 0; i < shape.length; i++) {
      if (p <= shape[i]!.utilization) {
        if (i === 0) return shape[0]!.score;
        const a = shape[i - 1]!;
        const b = shape[i]!;
        return a.score + Math.trunc(((b.score - a.score) * (p - a.utilization)) / (b.utilization - a.utilization));
      }
    }
    return shape[shape.length - 1]!.score;
  };
}

function requestedToCapacityRatioScorer(weights: readonly number[], shape: readonly UtilizationShapePoint[]): Scorer {
  const raw = brokenLinear(shape.map((p) => ({ utilization: p.utilization, score: p.score * (MAX_NODE_SCORE / MAX_CUSTOM_PRIORITY_SCORE) })));
  const resourceScore = (requested: number, capacity: number): number =>
    capacity === 0 || requested > capacity ? raw(MAX_UTILIZATION) : raw(mulDiv(requested, MAX_UTILIZATION, capacity));
  return (requested, allocatable) => {
    let nodeScore = 0;
    let weightSum = 0;
    for (let i = 0; i < requested.length; i++) {
      if (allocatable[i] === 0) continue;
      const s = resourceScore(requested[i]!, allocatable[i]!);
      if (s > 0) {
        nodeScore += s * weights[i]!;
        weightSum += weights[i]!;
      }
    }
    return weightSum === 0 ? 0 : Math.round(nodeScore / weightSum);
  };
}

/** `ValidateNodeResourcesFitArgs` (the checks that apply here). */
function validateOptions(opts: NodeResourcesFitOptions, strategy: ScoringStrategy): void {
  const errs: string[] = [];
  (opts.ignoredResourceGroups ?? []).forEach((g, i) => {
    if (g.includes("/")) errs.push(`ignoredResourceGroups[${i}]: Invalid value: ${JSON.stringify(g)}: resource group name can't contain '/'`);
  });
  const types: readonly string[] = ["LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"];
  if (!types.includes(strategy.type)) {
    errs.push(`scoringStrategy.type: Unsupported value: ${JSON.stringify(strategy.type)}: supported values: ${types.map((t) => JSON.stringify(t)).join(", ")}`);
  }
  (strategy.resources ?? []).forEach((r, i) => {
    const w = r.weight || 1; // 0 or absent defaults to 1 (SetDefaults_NodeResourcesFitArgs)
    if (!Number.isInteger(w) || w <= 0 || w > 100) {
      errs.push(`scoringStrategy.resources[${i}].weight: Invalid value: ${w}: resource weight of ${r.name} not in valid range (0, 100]`);
    }
  });
  if (strategy.type === "RequestedToCapacityRatio") {
    const shape = strategy.requestedToCapacityRatio?.shape;
    if (!strategy.requestedToCapacityRatio) {
      errs.push("scoringStrategy.requestedToCapacityRatio: Required value: must be specified when type is RequestedToCapacityRatio");
    } else if (!shape || shape.length === 0) {
      errs.push("scoringStrategy.requestedToCapacityRatio.shape: Required value: at least one point must be specified");
    } else {
      const path = "scoringStrategy.requestedToCapacityRatio.shape";
      for (let i = 1; i < shape.length; i++) {
        if (shape[i - 1]!.utilization >= shape[i]!.utilization) {
          errs.push(`${path}[${i}].utilization: Invalid value: ${shape[i]!.utilization}: values must be sorted in increasing order`);
          break;
        }
      }
      shape.forEach((p, i) => {
        if (!Number.isInteger(p.utilization) || p.utilization < 0 || p.utilization > MAX_UTILIZATION) {
          errs.push(`${path}[${i}].utilization: Invalid value: ${p.utilization}: not in valid range [0, ${MAX_UTILIZATION}]`);
        }
        if (!Number.isInteger(p.score) || p.score < 0 || p.score > MAX_CUSTOM_PRIORITY_SCORE) {
          errs.push(`${path}[${i}].score: Invalid value: ${p.score}: not in valid range [0, ${MAX_CUSTOM_PRIORITY_SCORE}]`);
        }
      });
    }
  } else if (strategy.requestedToCapacityRatio) {
    errs.push("scoringStrategy.requestedToCapacityRatio: Forbidden: must be nil when type is not RequestedToCapacityRatio");
  }
  if (errs.length > 0) throw new Error(`invalid NodeResourcesFit options: ${errs.join("; ")}`);
}
