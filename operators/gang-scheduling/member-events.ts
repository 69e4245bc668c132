/**
 * Cluster events for pods of a group that are not bound yet (kube-scheduler v1.36's
 * `EventUnscheduledPodAdd`, which `addPodToSchedulingQueue` broadcasts when the `GangScheduling`
 * gate is on, so that the pod completing a gang's `minCount` wakes the members held at PreEnqueue).
 * The kubeloop scheduler runtime sends `Pod` events for bound pods only; this source adds
 * `UnscheduledPod` events: Add for a new unbound member, Update when an unbound pod's group
 * changes (its label was edited).
 */
import type { EventHandler, Informer } from "../../framework/cache/index.ts";
import type { Pod } from "../../framework/meta/index.ts";
import { podGroupIndexValues } from "./pod-index.ts";

/** The `ClusterEvent.resource` of these events. */
export const UNSCHEDULED_POD = "UnscheduledPod";

function groupsOf(pod: Pod): string {
  return podGroupIndexValues(pod).join(",");
}

/**
 * A view of the pod informer whose handlers see only unbound group members: Add of a member,
 * Update that changes which group an unbound pod names. Store, indexes and sync are the pod
 * informer's.
 */
export function unscheduledMemberSource(pods: Informer<Pod>): Informer<Pod> {
  return {
    store: pods.store,
    addEventHandler(h: EventHandler<Pod>) {
      return pods.addEventHandler({
        onAdd: (p, initial) => {
          if (!p.spec?.nodeName && groupsOf(p) !== "") h.onAdd?.(p, initial);
        },
        onUpdate: (o, n) => {
          if (!n.spec?.nodeName && groupsOf(o) !== groupsOf(n)) h.onUpdate?.(o, n);
        },
      });
    },
    addIndex: (name, fn) => pods.addIndex(name, fn),
    hasSynced: () => pods.hasSynced(),
    waitForSync: (signal) => pods.waitForSync(signal),
  };
}
