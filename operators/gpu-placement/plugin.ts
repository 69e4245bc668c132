/**
 * The `GPUPlacement` scheduler plugin: the GPUPlacementPolicy that selects a pod decides where its
 * `nvidia.com/gpu` request goes.
 *
 * - PreFilter/Filter: a pod that requests GPUs and is governed by a policy with
 *   `requiredProducts` or `minGPUMemoryMiB` only passes nodes whose `nvidia.com/gpu.product` /
 *   `nvidia.com/gpu.memory` labels meet them (UnschedulableAndUnresolvable otherwise: preemption
 *   cannot change a node's GPUs). Whether the node has enough free GPUs is NodeResourcesFit's
 *   job, and the `nvidia.com/gpu` NoSchedule taint TaintToleration's, as in kube-scheduler.
 * - PreScore/Score/NormalizeScore: the node's free GPUs after placing the pod
 *   (`allocatable - requested - request`), min-max normalized over the feasible nodes: BinPack
 *   gives 100 to the node left with the fewest free GPUs (best fit, as KAI-Scheduler's
 *   `nodeplacement` binpack: `1 - (free - minFree) / (maxFree - minFree)`), Spread to the one left
 *   with the most. With `preferredProducts` half of the score is the strategy and half the
 *   product's rank. The result is scaled by `weight / 10`; the profile weight of the plugin is
 *   `GPU_PLACEMENT_SCORE_WEIGHT` (10), so a weight-10 policy outweighs every default scorer (at
 *   most 3 x 100 each). Pods without a GPU request, or selected by no policy, are not scored.
 *
 * Compared with kube-scheduler's `NodeResourcesFit` `MostAllocated` on `nvidia.com/gpu`
 * (`pkg/scheduler/framework/plugins/noderesources/most_allocated.go` in Kubernetes v1.36:
 * `requested * 100 / allocatable` per node, not normalized): on nodes of one size both rank nodes
 * the same way; on mixed sizes the ratio favours big nodes with more GPUs free, best fit does not
 * (a 1-GPU pod goes to the 8-GPU node with 3 free rather than the 16-GPU node with 4 free, which
 * MostAllocated prefers at 13/16 > 6/8, leaving no node for a 4-GPU pod).
 */
import type { DeepReadonly, Pod } from "../../framework/meta/index.ts";
import {
  MAX_NODE_SCORE,
  SUCCESS,
  status,
  type ClusterEvent,
  type CycleState,
  type EnqueueExtensions,
  type FilterPlugin,
  type NodeInfo,
  type NodeInfoLister,
  type NodeScore,
  type PodInfo,
  type PreFilterPlugin,
  type PreFilterResult,
  type PreScorePlugin,
  type ScorePlugin,
  type Status,
} from "../../framework/scheduling/framework.ts";
import { GPU_RESOURCE, GPUPlacementPolicies, MAX_POLICY_WEIGHT } from "./api.ts";
import type { PolicySource } from "./policy-cache.ts";
import { memoryMiBOf, policyFor, preferenceBonus, productOf, unmetRequirement, type CompiledPolicy } from "./policy.ts";

/** The plugin's name in a profile and in statuses. */
export const GPU_PLACEMENT_PLUGIN = "GPUPlacement";
/** The profile weight the plugin is registered with (its score is 0..100 before it). */
export const GPU_PLACEMENT_SCORE_WEIGHT = 10;
/** The part of the score given to `preferredProducts` when the policy lists some (the rest is the strategy's). */
const PREFERENCE_SHARE = MAX_NODE_SCORE / 2;

/** What the plugin computes once per pod and cycle. */
interface PodState {
  readonly policy: CompiledPolicy | undefined;
  /** `nvidia.com/gpu` the pod requests (whole units). */
  readonly request: number;
  /** Preference bonus per node name, filled by `score`, read by `normalizeScore`. */
  readonly bonus: Map<string, number>;
}

/** The Filter reason for a node whose product is not one of the policy's `requiredProducts`. */
export function productReason(policy: string): string {
  return `node(s) didn't have a GPU product GPUPlacementPolicy ${policy} requires`;
}

/** The Filter reason for a node whose `nvidia.com/gpu.memory` is below the policy's `minGPUMemoryMiB` (or absent). */
export function memoryReason(policy: string): string {
  return `node(s) had less GPU memory than GPUPlacementPolicy ${policy} requires`;
}

/**
 * Turns the free GPUs each feasible node would have left (`scores[i].score`) into the strategy's
 * 0..100 score, in place: BinPack 100 for the fewest free, Spread 100 for the most, linear in
 * between; all equal gives 100 everywhere.
 */
export function normalizeFreeGPUs(strategy: CompiledPolicy["strategy"], scores: NodeScore[]): void {
  if (scores.length === 0) return;
  let min = Infinity;
  let max = -Infinity;
  for (const s of scores) {
    min = Math.min(min, s.score);
    max = Math.max(max, s.score);
  }
  for (const s of scores) {
    if (max === min) s.score = MAX_NODE_SCORE;
    else if (strategy === "BinPack") s.score = Math.round((MAX_NODE_SCORE * (max - s.score)) / (max - min));
    else s.score = Math.round((MAX_NODE_SCORE * (s.score - min)) / (max - min));
  }
}

/**
 * The plugin object. Give it the policies (`PolicyCache` over the GPUPlacementPolicy informer's
 * store) and add it to a profile with score weight `GPU_PLACEMENT_SCORE_WEIGHT`.
 */
export class GPUPlacementPlugin implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions {
  readonly name = GPU_PLACEMENT_PLUGIN;
  readonly #policies: PolicySource;

  constructor(policies: PolicySource) {
    this.#policies = policies;
  }

  /** The policy governing this pod (undefined when none selects it). */
  policyFor(pod: DeepReadonly<Pod>): CompiledPolicy | undefined {
    return policyFor(pod.metadata?.labels, this.#policies.policies());
  }

  #state(state: CycleState, pod: PodInfo): PodState {
    const key = `${GPU_PLACEMENT_PLUGIN}/${pod.pod.metadata?.uid ?? `${pod.pod.metadata?.namespace}/${pod.pod.metadata?.name}`}`;
    let s = state.read<PodState>(key);
    if (!s) {
      const request = pod.requests[GPU_RESOURCE] ?? 0;
      s = { policy: request > 0 ? this.policyFor(pod.pod) : undefined, request, bonus: new Map() };
      state.write(key, s);
    }
    return s;
  }

  /** Skip (no Filter needed) unless the pod requests GPUs under a policy with product or memory requirements. */
  preFilter(state: CycleState, pod: PodInfo, _nodes: NodeInfoLister): { status: Status; result?: PreFilterResult } {
    const { policy } = this.#state(state, pod);
    if (!policy || (!policy.requiredProducts && !policy.minGPUMemoryMiB)) return { status: status("Skip") };
    return { status: SUCCESS };
  }

  /** Rejects a node whose GPU product or memory does not meet the governing policy (UnschedulableAndUnresolvable). */
  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Status {
    const { policy } = this.#state(state, pod);
    if (!policy) return SUCCESS;
    const labels = node.node.metadata?.labels;
    const unmet = unmetRequirement(policy, productOf(labels), memoryMiBOf(labels));
    if (unmet === "product") return { code: "UnschedulableAndUnresolvable", reasons: [productReason(policy.name)], plugin: GPU_PLACEMENT_PLUGIN };
    if (unmet === "memory") return { code: "UnschedulableAndUnresolvable", reasons: [memoryReason(policy.name)], plugin: GPU_PLACEMENT_PLUGIN };
    return SUCCESS;
  }

  /** Skip scoring for pods without a GPU request or without a policy. */
  preScore(state: CycleState, pod: PodInfo, _nodes: readonly NodeInfo[]): Status {
    return this.#state(state, pod).policy ? SUCCESS : status("Skip");
  }

  /** Raw score: the GPUs the node would have free after placing the pod (0 when not scored). */
  score(state: CycleState, pod: PodInfo, node: NodeInfo): { score: number; status?: Status } {
    const s = this.#state(state, pod);
    if (!s.policy) return { score: 0 };
    const name = node.node.metadata?.name ?? "";
    s.bonus.set(name, preferenceBonus(s.policy, productOf(node.node.metadata?.labels), PREFERENCE_SHARE));
    const free = (node.allocatable[GPU_RESOURCE] ?? 0) - (node.requested[GPU_RESOURCE] ?? 0) - s.request;
    return { score: Math.max(0, free) };
  }

  /** Strategy score (see `normalizeFreeGPUs`), product preference, then `weight / 10`; all within 0..100. */
  normalizeScore(state: CycleState, pod: PodInfo, scores: NodeScore[]): Status {
    const s = this.#state(state, pod);
    const policy = s.policy;
    if (!policy) {
      for (const n of scores) n.score = 0;
      return SUCCESS;
    }
    normalizeFreeGPUs(policy.strategy, scores);
    const preferring = policy.preferredProducts.length > 0;
    for (const n of scores) {
      const combined = preferring ? Math.floor(n.score / 2) + (s.bonus.get(n.name) ?? 0) : n.score;
      n.score = Math.floor((Math.min(MAX_NODE_SCORE, combined) * policy.weight) / MAX_POLICY_WEIGHT);
    }
    return SUCCESS;
  }

  /** A node's labels or a policy can change what Filter decided: retry pods this plugin rejected on those events. */
  eventsToRegister(): ReadonlyArray<{ event: ClusterEvent }> {
    const policies = `${GPUPlacementPolicies.plural}.${GPUPlacementPolicies.group}`;
    return [
      { event: { resource: "Node", action: "Add" } },
      { event: { resource: "Node", action: "Update" } },
      { event: { resource: policies, action: "Add" } },
      { event: { resource: policies, action: "Update" } },
      { event: { resource: policies, action: "Delete" } },
    ];
  }
}
