import type { Pod } from "../../framework/meta/index.ts";
import { selectorFromSet } from "../../framework/meta/index.ts";
import { selectorOf } from "./selector.ts";
import { isPodAvailable, isPodReady, podReadySinceMs } from "./podstate.ts";
import type { ReplicaSetConditionShape, ReplicaSetShape, ReplicaSetStatusShape } from "./types.ts";

/** Condition type set while pods cannot be created or deleted (apps/v1 `ReplicaSetReplicaFailure`). */
export const REPLICA_FAILURE = "ReplicaFailure";

/** Why the last manage step failed; becomes the ReplicaFailure condition's reason and message. */
export interface ReplicaFailure {
  /** `FailedCreate`, `FailedDelete`, or `InvalidSpec` for a spec the controller refuses. */
  reason: string;
  message: string;
}

/** What the reconciler observed, as input to `calculateStatus`. */
export interface StatusInput {
  /** Active pods this ReplicaSet controls (after adoption and release). */
  activePods: Pod[];
  /** Pods this ReplicaSet controls that are being deleted but not finished. */
  terminatingPods: Pod[];
  /**
   * Outcome of this sync's manage step: a failure sets ReplicaFailure (when not already set),
   * `null` (a clean step) removes it, `undefined` (the step did not run, e.g. expectations
   * pending) keeps the conditions as they are.
   */
  failure: ReplicaFailure | null | undefined;
  /** Evaluation time, ms since the epoch. */
  nowMs: number;
}

/**
 * The status a ReplicaSet should have. Mirrors kubernetes `replica_set_utils.go`
 * `calculateStatus`: `replicas` counts active owned pods; `fullyLabeledReplicas` those whose
 * labels include every template label; `readyReplicas` Ready ones; `availableReplicas` those
 * Ready for longer than `minReadySeconds`; `terminatingReplicas` owned pods being deleted;
 * `observedGeneration` the generation acted on; plus `selector` (string syntax) for the `scale`
 * subresource. Fields of the old status that this controller does not own are kept.
 */
export function calculateStatus(rs: ReplicaSetShape, input: StatusInput): ReplicaSetStatusShape {
  const minReadySeconds = rs.spec?.minReadySeconds ?? 0;
  // labels.Set(template labels).AsSelectorPreValidated(): an empty template matches every pod.
  const templateSelector = selectorFromSet(rs.spec?.template?.metadata?.labels);
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const pod of input.activePods) {
    if (templateSelector.matches(pod.metadata?.labels)) fullyLabeled++;
    if (isPodReady(pod)) {
      ready++;
      if (minReadySeconds <= 0 || isPodAvailable(pod, minReadySeconds, input.nowMs)) available++;
    }
  }

  let conditions = [...(rs.status?.conditions ?? [])];
  const existing = conditions.find((c) => c.type === REPLICA_FAILURE);
  if (input.failure && !existing) {
    conditions.push({
      type: REPLICA_FAILURE,
      status: "True",
      reason: input.failure.reason,
      message: input.failure.message,
      lastTransitionTime: new Date(input.nowMs).toISOString().replace(/\.\d{3}Z$/, "Z"),
    });
  } else if (input.failure === null && existing) {
    conditions = conditions.filter((c) => c.type !== REPLICA_FAILURE);
  }

  const status: ReplicaSetStatusShape = {
    ...(rs.status ?? {}),
    replicas: input.activePods.length,
    fullyLabeledReplicas: fullyLabeled,
    readyReplicas: ready,
    availableReplicas: available,
    terminatingReplicas: input.terminatingPods.length,
    observedGeneration: rs.metadata?.generation ?? rs.status?.observedGeneration ?? 0,
  };
  if (conditions.length > 0) status.conditions = conditions;
  else delete status.conditions;
  if (rs.spec?.selector) status.selector = formatSelectorOrEmpty(rs.spec.selector);
  return status;
}

function sameConditions(a: ReplicaSetConditionShape[] | undefined, b: ReplicaSetConditionShape[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  return x.every((c, i) => {
    const d = y[i]!;
    return c.type === d.type && c.status === d.status && c.reason === d.reason && c.message === d.message &&
      c.lastTransitionTime === d.lastTransitionTime;
  });
}

/**
 * True when writing `next` would change the stored status (mirrors the early return of
 * upstream `updateReplicaSetStatus`), so steady-state syncs make no API call.
 */
export function statusChanged(current: Partial<ReplicaSetStatusShape> | undefined, next: ReplicaSetStatusShape): boolean {
  const cur = current ?? {};
  return (
    (cur.replicas ?? 0) !== next.replicas ||
    (cur.fullyLabeledReplicas ?? 0) !== (next.fullyLabeledReplicas ?? 0) ||
    (cur.readyReplicas ?? 0) !== (next.readyReplicas ?? 0) ||
    (cur.availableReplicas ?? 0) !== (next.availableReplicas ?? 0) ||
    (cur.terminatingReplicas ?? 0) !== (next.terminatingReplicas ?? 0) ||
    (cur.observedGeneration ?? 0) !== (next.observedGeneration ?? 0) ||
    (cur.selector ?? "") !== (next.selector ?? "") ||
    !sameConditions(cur.conditions, next.conditions)
  );
}

/**
 * How long until the next Ready pod becomes available, plus one second of slack, in ms; or
 * undefined when no Ready pod is waiting out `minReadySeconds`. The reconciler requeues after
 * this so `availableReplicas` moves without any pod event (upstream
 * `FindMinNextPodAvailabilityCheck`). A Ready pod without a lastTransitionTime can never become
 * available by waiting, so it asks for no recheck (upstream `nextPodAvailabilityCheck` returns nil
 * for it). Never more than `minReadySeconds + 1s`.
 */
export function availabilityRecheckMs(pods: Pod[], minReadySeconds: number, nowMs: number): number | undefined {
  if (minReadySeconds <= 0) return undefined;
  const windowMs = minReadySeconds * 1000;
  let soonest: number | undefined;
  for (const pod of pods) {
    if (!isPodReady(pod) || isPodAvailable(pod, minReadySeconds, nowMs)) continue;
    const since = podReadySinceMs(pod);
    if (since === undefined) continue;
    const remaining = Math.min(windowMs, Math.max(0, since + windowMs - nowMs));
    soonest = soonest === undefined ? remaining : Math.min(soonest, remaining);
  }
  return soonest === undefined ? undefined : soonest + 1000;
}

/** The selector's string form for `status.selector`; "" when it does not convert (never written then: the spec is refused first). */
function formatSelectorOrEmpty(selector: NonNullable<NonNullable<ReplicaSetShape["spec"]>["selector"]>): string {
  try {
    return selectorOf(selector).toString();
  } catch {
    return "";
  }
}
