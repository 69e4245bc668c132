import type { Reader } from "../../framework/cache/index.ts";
import { controllerOf, keyOf, Pods, type Pod, type ResourceType } from "../../framework/meta/index.ts";
import { selectorOf } from "./selector.ts";
import type { ReplicaSetShape } from "./types.ts";

/**
 * The ReplicaSets (this one included, whatever their namespace or deletion state) whose
 * controller has the UID of `rs`'s controller; none when `rs` has no controller. Mirrors upstream
 * `replica_set.go` `getReplicaSetsWithSameController` (which reads its `controllerUIDIndex`).
 * `controllerUidIndex` names such an index of the ReplicaSet cache (`CONTROLLER_UID_INDEX` on
 * every framework store); without it the cache is scanned. Read through `reader` (`ctx.reader`).
 */
export async function replicaSetsWithSameController<T extends ReplicaSetShape>(
  rs: T, type: ResourceType<T>, reader: Reader, controllerUidIndex?: string, signal?: AbortSignal,
): Promise<T[]> {
  const ref = controllerOf(rs);
  if (!ref) return [];
  const opts = signal ? { signal } : {};
  // Cached objects are frozen and only read here.
  if (controllerUidIndex) return await reader.list(type, { index: { name: controllerUidIndex, value: ref.uid }, ...opts }) as T[];
  return (await reader.list(type, opts) as T[]).filter((other) => controllerOf(other)?.uid === ref.uid);
}

/**
 * The pods selected by the ReplicaSets that share `rs`'s controller (a Deployment's old and new
 * ReplicaSets), each pod once, whoever owns it: the related pods of the scale-down ranking.
 * Mirrors upstream `getIndirectlyRelatedPods`: a ReplicaSet whose selector does not convert
 * selects none; a ReplicaSet without a controller has no related pods, so every candidate ranks 0.
 */
export async function indirectlyRelatedPods<T extends ReplicaSetShape>(
  rs: T, type: ResourceType<T>, reader: Reader, controllerUidIndex?: string, signal?: AbortSignal,
): Promise<Pod[]> {
  const seen = new Set<string>();
  const related: Pod[] = [];
  for (const other of await replicaSetsWithSameController(rs, type, reader, controllerUidIndex, signal)) {
    let selector;
    try {
      selector = selectorOf(other.spec?.selector);
    } catch {
      continue;
    }
    const pods = await reader.list(Pods, { namespace: other.metadata?.namespace ?? "", labelSelector: selector, ...(signal ? { signal } : {}) }) as Pod[];
    for (const pod of pods) {
      const id = pod.metadata?.uid ?? keyOf(pod);
      if (seen.has(id)) continue;
      seen.add(id);
      related.push(pod);
    }
  }
  return related;
}
