/**
 * The pod informer index from a group key (`membership.ts` `groupKey`) to the pods that name
 * that group, by label or by `spec.schedulingGroup`, so counting a group's members reads one
 * index entry instead of every pod (upstream counts through its pod-group state; scheduler-plugins
 * lists by label).
 */
import type { Informer } from "../../framework/cache/index.ts";
import type { Pod } from "../../framework/meta/index.ts";
import { POD_GROUP_LABEL } from "./api.ts";
import { groupKey, nativeGroupName, POD_GROUP_INDEX } from "./membership.ts";

/** Index values of a pod: the kubeloop group its label names and the native group it names, when any. */
export function podGroupIndexValues(pod: Pod): string[] {
  const namespace = pod.metadata?.namespace ?? "";
  const values: string[] = [];
  const label = pod.metadata?.labels?.[POD_GROUP_LABEL];
  if (label) values.push(groupKey({ api: "kubeloop", namespace, name: label }));
  const native = nativeGroupName(pod);
  if (native) values.push(groupKey({ api: "native", namespace, name: native }));
  return values;
}

const indexed = new WeakSet<object>();

/** Adds `POD_GROUP_INDEX` to the pod informer once (the controller and the scheduler plugins share one informer). */
export function ensurePodGroupIndex(pods: Informer<Pod>): void {
  if (indexed.has(pods)) return;
  indexed.add(pods);
  pods.addIndex(POD_GROUP_INDEX, podGroupIndexValues);
}
