/**
 * Which pod group a pod belongs to. Two APIs name a group:
 * - kubeloop's: the label `scheduling.kubeloop.dev/pod-group: <name>` names a
 *   `scheduling.kubeloop.dev/v1alpha1` PodGroup in the pod's namespace (scheduler-plugins'
 *   `util.GetPodGroupLabel`, with our group's label key);
 * - the native one (Kubernetes v1.36, KEP-4671): `spec.schedulingGroup.podGroupName` names a
 *   `scheduling.k8s.io/v1alpha2` PodGroup in the pod's namespace.
 * A pod that carries both is a member of the native group only when the server serves that API
 * (then the label is ignored), otherwise of kubeloop's: one pod, one group.
 */
import type { DeepReadonly, Pod } from "../../framework/meta/index.ts";
import { POD_GROUP_LABEL } from "./api.ts";

/** Which API a group comes from: `kubeloop` (our CRD) or `native` (`scheduling.k8s.io/v1alpha2`). */
export type GroupApi = "kubeloop" | "native";

/** A pod group reference: its API, namespace and name. */
export interface GroupRef {
  readonly api: GroupApi;
  readonly namespace: string;
  readonly name: string;
}

/** The name of the pod informer index from group key to member pods (`groupKey`). */
export const POD_GROUP_INDEX = "gang-scheduling/pod-group";

/** `<api>:<namespace>/<name>`: a group's identity, for maps and the pod index. */
export function groupKey(ref: GroupRef): string {
  return `${ref.api}:${ref.namespace}/${ref.name}`;
}

/** `<namespace>/<name>` of a group, as messages print it. */
export function groupDisplayName(ref: GroupRef): string {
  return `${ref.namespace}/${ref.name}`;
}

/** The native group name in `spec.schedulingGroup.podGroupName`, if any (v1.36 `PodSchedulingGroup`). */
export function nativeGroupName(pod: DeepReadonly<Pod>): string | undefined {
  const spec = pod.spec as { schedulingGroup?: { podGroupName?: string } } | undefined;
  const name = spec?.schedulingGroup?.podGroupName;
  return name ? name : undefined;
}

/**
 * The group `pod` belongs to, or undefined for a pod that is in none.
 * @param nativeServed whether the server serves `scheduling.k8s.io/v1alpha2` PodGroups (a
 *   pod's `schedulingGroup` is ignored when it does not, as kube-scheduler ignores it with the
 *   `GenericWorkload` gate off).
 */
export function groupOf(pod: DeepReadonly<Pod>, nativeServed: boolean): GroupRef | undefined {
  const namespace = pod.metadata?.namespace ?? "";
  const native = nativeServed ? nativeGroupName(pod) : undefined;
  if (native) return { api: "native", namespace, name: native };
  const label = pod.metadata?.labels?.[POD_GROUP_LABEL];
  if (label) return { api: "kubeloop", namespace, name: label };
  return undefined;
}

/** True when the pod ended (phase Succeeded or Failed) or is being deleted: it no longer counts as a member that exists. */
export function isTerminatedOrDeleting(pod: DeepReadonly<Pod>): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed" || pod.metadata?.deletionTimestamp !== undefined;
}

/** True when the pod is bound to a node (`spec.nodeName` set). */
export function isBound(pod: DeepReadonly<Pod>): boolean {
  return Boolean(pod.spec?.nodeName);
}
