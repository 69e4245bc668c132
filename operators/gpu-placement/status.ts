/**
 * A GPUPlacementPolicy's status from the cluster's GPUs: the inventory, the policy's figures and
 * two conditions, with `lastTransitionTime` kept while a condition's status does not change (as
 * apimachinery `meta.SetStatusCondition`).
 */
import type { DeepReadonly } from "../../framework/meta/index.ts";
import type { GPUPlacementPolicyStatus } from "./api.ts";
import { policyFigures, productInventory, type ClusterGpus } from "./inventory.ts";
import type { CompiledPolicy } from "./policy.ts";

type Condition = NonNullable<GPUPlacementPolicyStatus["conditions"]>[number];

/** Condition types of a GPUPlacementPolicy. */
export const ConditionTypes = {
  /** True once the status reflects the cluster; False when the policy cannot be applied (reason says why). */
  ready: "Ready",
  /** True when an eligible node has `largestRequest` free GPUs (another such pod fits now). */
  largestRequestFits: "LargestRequestFits",
} as const;

/** RFC 3339 seconds, as metav1.Time serializes. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** `meta.SetStatusCondition`: the condition with `lastTransitionTime` kept when the status is unchanged. */
function withTransition(previous: readonly DeepReadonly<Condition>[] | undefined, c: Omit<Condition, "lastTransitionTime">, nowMs: number): Condition {
  const old = previous?.find((p) => p.type === c.type);
  return { ...c, lastTransitionTime: old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : rfc3339(nowMs) };
}

/**
 * The status `policy` should have for `cluster`. `previous` is the current status (for transition
 * times); `nowMs` the wall clock in ms since the epoch.
 */
export function computeStatus(
  policy: CompiledPolicy,
  cluster: ClusterGpus,
  previous: DeepReadonly<GPUPlacementPolicyStatus> | undefined,
  nowMs: number,
): GPUPlacementPolicyStatus {
  const f = policyFigures(cluster, policy);
  const ready: Omit<Condition, "lastTransitionTime"> = policy.selectorError !== undefined
    ? { type: ConditionTypes.ready, status: "False", reason: "InvalidSelector", message: `spec.selector: ${policy.selectorError}; the policy selects no pod` }
    : { type: ConditionTypes.ready, status: "True", reason: "InventoryObserved", message: "status reflects the nodes, pods and ResourceSlices the operator's informers hold" };
  let fits: Omit<Condition, "lastTransitionTime">;
  if (f.largestRequest === 0) {
    fits = { type: ConditionTypes.largestRequestFits, status: "True", reason: "NoGPURequests", message: "no unfinished pod selected by the policy requests GPUs" };
  } else if (f.mostFreeOnOneNode >= f.largestRequest) {
    fits = {
      type: ConditionTypes.largestRequestFits, status: "True", reason: "NodeHasRoom",
      message: `an eligible node has ${f.mostFreeOnOneNode} free GPUs, enough for the largest request (${f.largestRequest})`,
    };
  } else {
    fits = {
      type: ConditionTypes.largestRequestFits, status: "False", reason: "NoNodeHasRoom",
      message: `no eligible node has ${f.largestRequest} free GPUs (at most ${f.mostFreeOnOneNode} on one node; ${f.strandedGPUs} free GPUs stranded)`,
    };
  }
  return {
    observedGeneration: policy.generation,
    inventory: productInventory(cluster),
    eligibleNodes: f.eligibleNodes,
    wholeFreeNodes: f.wholeFreeNodes,
    largestRequest: f.largestRequest,
    strandedGPUs: f.strandedGPUs,
    selectedPods: f.selectedPods,
    conditions: [withTransition(previous?.conditions, ready, nowMs), withTransition(previous?.conditions, fits, nowMs)],
  };
}

/** True when `next` differs from `current` in anything but field order. */
export function statusChanged(current: DeepReadonly<GPUPlacementPolicyStatus> | undefined, next: GPUPlacementPolicyStatus): boolean {
  return canonical(current ?? {}) !== canonical(next);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}
