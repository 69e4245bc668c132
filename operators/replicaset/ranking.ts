import type { Pod } from "../../framework/meta/index.ts";
import { isPodActive, isPodReady, maxContainerRestarts, parseTimeMs, podReadySinceMs } from "./podstate.ts";

/** Annotation that orders pods on scale-down: lower cost goes first (int32, default 0). */
export const POD_DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost";

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * The pod's deletion cost from `controller.kubernetes.io/pod-deletion-cost`, as upstream
 * `helper.GetDeletionCostFromPodAnnotations` reads it (callers treat its error as 0): the value
 * must start with `-`, `1`-`9`, or be exactly `0` (so `+7` and `008` are invalid), then parse as a
 * base-10 int32 (`strconv.ParseInt(v, 10, 32)`: `-08` is -8). Missing or invalid: 0.
 */
export function podDeletionCost(pod: Pod): number {
  const raw = pod.metadata?.annotations?.[POD_DELETION_COST_ANNOTATION];
  if (raw === undefined || raw.length === 0) return 0;
  const first = raw[0]!;
  if (!(first === "-" || raw === "0" || (first >= "1" && first <= "9"))) return 0;
  if (!/^[+-]?[0-9]+$/.test(raw)) return 0;
  const value = Number(raw);
  return value >= INT32_MIN && value <= INT32_MAX ? value : 0;
}

/** Pending < Unknown < Running; any other phase ranks with Pending (upstream's map default). */
function phaseOrdinal(pod: Pod): number {
  switch (pod.status?.phase) {
    case "Unknown":
      return 1;
    case "Running":
      return 2;
    default:
      return 0;
  }
}

/**
 * floor(log2(now - t)) with the duration in nanoseconds, or -1 when `t` is not in the past.
 * Pods whose ages fall in the same power-of-two bucket are considered the same age
 * (LogarithmicScaleDown), so scale-down is spread over them by UID instead of always taking the
 * very newest.
 */
export function logarithmicAgeBucket(timeMs: number, nowMs: number): number {
  const ageNs = (nowMs - timeMs) * 1e6;
  return ageNs > 0 ? Math.floor(Math.log2(ageNs)) : -1;
}

/**
 * Orders two times "newer first" the way upstream does with LogarithmicScaleDown on: a missing
 * time sorts first; otherwise compare log2 age buckets, and inside one bucket order by UID.
 * Returns < 0 when `a` goes first, > 0 when `b` does, 0 only for equal times.
 */
function compareAges(a: Pod, aTimeMs: number | undefined, b: Pod, bTimeMs: number | undefined, nowMs: number): number {
  if (aTimeMs === bTimeMs) return 0;
  if (aTimeMs === undefined) return -1;
  if (bTimeMs === undefined) return 1;
  const diff = logarithmicAgeBucket(aTimeMs, nowMs) - logarithmicAgeBucket(bTimeMs, nowMs);
  if (diff !== 0) return diff;
  const aUid = a.metadata?.uid ?? "";
  const bUid = b.metadata?.uid ?? "";
  return aUid < bUid ? -1 : aUid > bUid ? 1 : 0;
}

/** A candidate for deletion and the number of active related pods on its node. */
export interface RankedPod {
  pod: Pod;
  /** Active pods of the same ReplicaSet (or of its sibling ReplicaSets) on the same node. */
  podsOnSameNode: number;
}

/**
 * Compares two candidates for scale-down: < 0 when `a` should be deleted before `b`. The first
 * rule that tells them apart decides (mirrors `controller.ActivePodsWithRanks.Less` with
 * PodDeletionCost and LogarithmicScaleDown on):
 * 1. unassigned before assigned; 2. Pending, Unknown, Running; 3. not Ready before Ready;
 * 4. lower pod-deletion-cost first; 5. more active related pods on the same node first;
 * 6. both Ready: more recently Ready first (log2 buckets, UID tie-break);
 * 7. higher max restart count of regular containers first, then of restartable init
 * containers (sidecars); 8. newer creationTimestamp first (log2 buckets,
 * UID tie-break).
 */
export function compareForDeletion(a: RankedPod, b: RankedPod, nowMs: number): number {
  const aNode = a.pod.spec?.nodeName ?? "";
  const bNode = b.pod.spec?.nodeName ?? "";
  if (aNode !== bNode && (aNode === "" || bNode === "")) return aNode === "" ? -1 : 1;

  const phaseDiff = phaseOrdinal(a.pod) - phaseOrdinal(b.pod);
  if (phaseDiff !== 0) return phaseDiff;

  const aReady = isPodReady(a.pod);
  const bReady = isPodReady(b.pod);
  if (aReady !== bReady) return aReady ? 1 : -1;

  const costDiff = podDeletionCost(a.pod) - podDeletionCost(b.pod);
  if (costDiff !== 0) return costDiff;

  if (a.podsOnSameNode !== b.podsOnSameNode) return b.podsOnSameNode - a.podsOnSameNode;

  if (aReady && bReady) {
    const byReady = compareAges(a.pod, podReadySinceMs(a.pod), b.pod, podReadySinceMs(b.pod), nowMs);
    if (byReady !== 0) return byReady;
  }

  const aRestarts = maxContainerRestarts(a.pod);
  const bRestarts = maxContainerRestarts(b.pod);
  if (aRestarts.regular !== bRestarts.regular) return bRestarts.regular - aRestarts.regular;
  if (aRestarts.sidecar !== bRestarts.sidecar) return bRestarts.sidecar - aRestarts.sidecar;

  const aCreated = parseTimeMs(a.pod.metadata?.creationTimestamp);
  const bCreated = parseTimeMs(b.pod.metadata?.creationTimestamp);
  return compareAges(a.pod, aCreated, b.pod, bCreated, nowMs);
}

/**
 * Ranks each candidate by the number of active pods of `relatedPods` on its node (mirrors
 * `getPodsRankedByRelatedPodsOnSameNode`). `relatedPods` is normally a superset of `candidates`:
 * the pods of this ReplicaSet and of the ReplicaSets sharing its controller.
 */
export function rankByRelatedPodsOnSameNode(candidates: Pod[], relatedPods: Pod[]): RankedPod[] {
  const activeOnNode = new Map<string, number>();
  for (const pod of relatedPods) {
    if (!isPodActive(pod)) continue;
    const node = pod.spec?.nodeName ?? "";
    activeOnNode.set(node, (activeOnNode.get(node) ?? 0) + 1);
  }
  return candidates.map((pod) => ({ pod, podsOnSameNode: activeOnNode.get(pod.spec?.nodeName ?? "") ?? 0 }));
}

/**
 * The `count` pods to delete on scale-down, best candidates first (mirrors `getPodsToDelete`):
 * when every candidate goes no ordering is needed; otherwise candidates are sorted with
 * `compareForDeletion` at `nowMs`.
 */
export function podsToDelete(candidates: Pod[], relatedPods: Pod[], count: number, nowMs: number = Date.now()): Pod[] {
  if (count <= 0) return [];
  if (count >= candidates.length) return [...candidates];
  const ranked = rankByRelatedPodsOnSameNode(candidates, relatedPods);
  ranked.sort((a, b) => compareForDeletion(a, b, nowMs));
  return ranked.slice(0, count).map((r) => r.pod);
}
