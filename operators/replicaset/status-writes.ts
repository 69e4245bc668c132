import { compareResourceVersions, keyOf } from "../../framework/meta/index.ts";
import { statusChanged } from "./status.ts";
import type { ReplicaSetShape, ReplicaSetStatusShape } from "./types.ts";

interface Written {
  uid: string;
  generation: number;
  status: ReplicaSetStatusShape;
  /** resourceVersion the API server returned for our status write. */
  resourceVersion: string;
  /** When it was written, on the monotonic clock (ms). */
  atMs: number;
}

/** How long a deferred status write waits at most for the event of our own write, in ms. */
export const DEFERRED_STATUS_RECHECK_MS = 1000;

/**
 * Default of `StatusWriteTrackerOptions.intervalMs`: progress-only status changes of one
 * ReplicaSet are written at most once a second.
 */
export const STATUS_WRITE_INTERVAL_MS = 1000;

/** Options of `StatusWriteTracker`. */
export interface StatusWriteTrackerOptions {
  /**
   * Least time between two status writes of one ReplicaSet when the newer status only reports
   * progress (see `isProgressOnly`), in ms. Default `STATUS_WRITE_INTERVAL_MS`; 0 writes every
   * change at once, as upstream does.
   */
  intervalMs?: number;
  /** Monotonic clock in ms (default `performance.now`); tests inject one. */
  monotonicNowMs?: () => number;
}

const COUNTS = ["replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas"] as const;

/**
 * True when `next` differs from `current` only by counts moving between the old value and the
 * target, without reaching it: same observedGeneration (and the ReplicaSet's generation already
 * observed), same conditions and selector, no count of replicas, fullyLabeled, ready or available
 * pods newly equal to `spec.replicas`, and terminating pods not newly 0. Such a status is
 * progress on the way to one already reported as the goal; news (a new generation, a
 * condition, a count reaching the target, terminating pods gone) is not progress-only.
 */
export function isProgressOnly(rs: ReplicaSetShape, current: Partial<ReplicaSetStatusShape> | undefined, next: ReplicaSetStatusShape): boolean {
  const cur = current ?? {};
  const generation = rs.metadata?.generation ?? 0;
  if ((cur.observedGeneration ?? 0) !== generation || (next.observedGeneration ?? 0) !== generation) return false;
  if ((cur.selector ?? "") !== (next.selector ?? "")) return false;
  if (JSON.stringify(cur.conditions ?? []) !== JSON.stringify(next.conditions ?? [])) return false;
  const target = rs.spec?.replicas ?? 1;
  for (const field of COUNTS) {
    const was = cur[field] ?? 0;
    const now = next[field] ?? 0;
    if (now !== was && now === target) return false;
  }
  if ((next.terminatingReplicas ?? 0) === 0 && (cur.terminatingReplicas ?? 0) !== 0) return false;
  return true;
}

/**
 * The status this controller last wrote, per ReplicaSet (key, UID and generation), and the
 * resourceVersion the API server returned for it, so that a reconcile running on a cache that has
 * not yet seen our own write does not write again:
 * - `needsWrite` is false when the computed status equals the cached one;
 * - `deferred` is true while the cached object is older than our last write (same UID and
 *   generation): the status is not written now; the watch event of our own write triggers the next
 *   reconcile, which writes the newest status against a current cache (the reconciler also asks
 *   for a requeue after `DEFERRED_STATUS_RECHECK_MS` in case that event is lost). So a status is
 *   never PUT twice, never PUT against a resourceVersion known to be stale (no 409 + GET), and a
 *   burst of pod events between our write and its event folds into one write;
 * - `coalesceMs` says how long to hold back a status that only reports progress (`isProgressOnly`)
 *   when our last write of that ReplicaSet is younger than `intervalMs`: while hundreds of pods
 *   are created or turn Ready, the status moves at most once per interval instead of once per
 *   reconcile, and the goal (a count reaching `spec.replicas`), a new generation or a condition
 *   is written at once. kube-controller-manager gets the same effect from its long syncs (a sync
 *   creating 500 pods folds every pod event that arrives meanwhile into one status write).
 * Ours, in the spirit of v1.36's StaleControllerConsistencyReplicaSet (which postpones the whole
 * sync, with a rate-limited requeue, until the informers have seen the controller's own writes);
 * upstream `updateReplicaSetStatus` itself compares with the cached object only.
 */
export class StatusWriteTracker {
  readonly #byKey = new Map<string, Written>();
  readonly #intervalMs: number;
  readonly #now: () => number;

  constructor(options: StatusWriteTrackerOptions = {}) {
    this.#intervalMs = options.intervalMs ?? STATUS_WRITE_INTERVAL_MS;
    this.#now = options.monotonicNowMs ?? (() => performance.now());
  }

  /** True when `next` differs from the cached status of `rs`. */
  needsWrite(rs: ReplicaSetShape, next: ReplicaSetStatusShape): boolean {
    return statusChanged(rs.status, next);
  }

  /** True while the cached `rs` is older than our last status write for its UID and generation. */
  deferred(rs: ReplicaSetShape): boolean {
    return this.#current(rs) !== undefined;
  }

  /**
   * Milliseconds to hold `next` back (then write the newest status), or undefined to write it
   * now: held back only when it is progress-only against the cached status and our last write of
   * this ReplicaSet (same UID) is younger than the interval.
   */
  coalesceMs(rs: ReplicaSetShape, next: ReplicaSetStatusShape): number | undefined {
    if (this.#intervalMs <= 0) return undefined;
    const w = this.#byKey.get(keyOf(rs));
    if (!w || w.uid !== rs.metadata?.uid) return undefined;
    const waitMs = w.atMs + this.#intervalMs - this.#now();
    if (waitMs <= 0 || !isProgressOnly(rs, rs.status, next)) return undefined;
    return Math.ceil(waitMs);
  }

  /** Records a successful write: `written` is the object the API server returned. */
  record(rs: ReplicaSetShape, status: ReplicaSetStatusShape, written: ReplicaSetShape): void {
    const uid = rs.metadata?.uid;
    const resourceVersion = written.metadata?.resourceVersion;
    if (!uid || !resourceVersion) return this.forget(keyOf(rs));
    this.#byKey.set(keyOf(rs), { uid, generation: rs.metadata?.generation ?? 0, status, resourceVersion, atMs: this.#now() });
  }

  /** Forgets a ReplicaSet (deleted). */
  forget(key: string): void {
    this.#byKey.delete(key);
  }

  /** Number of ReplicaSets tracked (for tests). */
  size(): number {
    return this.#byKey.size;
  }

  /** Our last write when it is for this UID and generation and the cache has not moved past it. */
  #current(rs: ReplicaSetShape): Written | undefined {
    const w = this.#byKey.get(keyOf(rs));
    if (!w || w.uid !== rs.metadata?.uid || w.generation !== (rs.metadata?.generation ?? 0)) return undefined;
    const order = compareResourceVersions(rs.metadata?.resourceVersion, w.resourceVersion);
    return order !== undefined && order < 0 ? w : undefined;
  }
}
