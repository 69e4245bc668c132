/**
 * PrioritySort: the active queue's order, higher `spec.priority` first, then the earlier queue
 * timestamp.
 *
 * Mirrors `pkg/scheduler/framework/plugins/queuesort/priority_sort.go` in Kubernetes v1.36
 * (`PodPriority`: `spec.priority`, 0 when unset; `GetTimestamp`: when the pod was last added or
 * moved to the active queue).
 */
import type { QueuedPodInfo, QueueSortPlugin } from "../framework.ts";
import type { Pod } from "../../meta/index.ts";
import type { DeepReadonly } from "../../meta/index.ts";

/** The plugin's registry name. */
export const PRIORITY_SORT = "PrioritySort";

/** `corev1helpers.PodPriority`: `spec.priority`, or 0. */
export function podPriority(pod: DeepReadonly<Pod>): number {
  return pod.spec?.priority ?? 0;
}

/** The PrioritySort plugin (QueueSort). */
export class PrioritySort implements QueueSortPlugin {
  readonly name = PRIORITY_SORT;

  less(a: QueuedPodInfo, b: QueuedPodInfo): boolean {
    const pa = podPriority(a.podInfo.pod);
    const pb = podPriority(b.podInfo.pod);
    return pa > pb || (pa === pb && a.timestampMs < b.timestampMs);
  }
}
