import type { CacheReader } from "../../framework/cache/index.ts";
import { controllerOf, keyOf, type Pod } from "../../framework/meta/index.ts";
import { selectorOf } from "./selector.ts";
import type { ReplicaSetShape } from "./types.ts";

/**
 * The ReplicaSets (this one included, whatever their namespace or deletion state) whose
 * controller has the UID of `rs`'s controller; none when `rs` has no controller. Mirrors upstream
 * `replica_set.go` `getReplicaSetsWithSameController` (which reads its `controllerUIDIndex`).
 * `controllerUidIndex` names such an index of `replicaSets`; without it the cache is scanned.
 */
export function replicaSetsWithSameController<T extends ReplicaSetShape>(rs: T, replicaSets: CacheReader<T>, controllerUidIndex?: string): T[] {
  const ref = controllerOf(rs);
  if (!ref) return [];
  if (controllerUidIndex) return replicaSets.byIndex(controllerUidIndex, ref.uid);
  return replicaSets.list().filter((other) => controllerOf(other)?.uid === ref.uid);
}

/**
 * The pods selected by the ReplicaSets that share `rs`'s controller (a Deployment's old and new
 * ReplicaSets), each pod once, whoever owns it: the related pods of the scale-down ranking.
 * Mirrors upstream `getIndirectlyRelatedPods`: a ReplicaSet whose selector does not convert
 * selects none; a ReplicaSet without a controller has no related pods, so every candidate ranks 0.
 */
export function indirectlyRelatedPods<T extends ReplicaSetShape>(rs: T, replicaSets: CacheReader<T>, pods: CacheReader<Pod>, controllerUidIndex?: string): Pod[] {
  const seen = new Set<string>();
  const related: Pod[] = [];
  for (const other of replicaSetsWithSameController(rs, replicaSets, controllerUidIndex)) {
    let selector;
    try {
      selector = selectorOf(other.spec?.selector);
    } catch {
      continue;
    }
    for (const pod of pods.list(other.metadata?.namespace ?? "")) {
      if (!selector.matches(pod.metadata?.labels)) continue;
      const id = pod.metadata?.uid ?? keyOf(pod);
      if (seen.has(id)) continue;
      seen.add(id);
      related.push(pod);
    }
  }
  return related;
}
