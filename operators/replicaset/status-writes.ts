import { keyOf } from "../../framework/meta/index.ts";
import { statusChanged } from "./status.ts";
import type { ReplicaSetShape, ReplicaSetStatusShape } from "./types.ts";

/**
 * Orders two resourceVersions as apimachinery `resourceversion.CompareResourceVersion` does
 * (decimal integers without leading zeros: shorter is smaller, then lexical); undefined when
 * either is not well formed (the server makes no promise then).
 */
export function compareResourceVersions(a: string | undefined, b: string | undefined): number | undefined {
  const wellFormed = (s: string | undefined): s is string => s !== undefined && /^[1-9][0-9]*$/.test(s);
  if (!wellFormed(a) || !wellFormed(b)) return undefined;
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

interface Written {
  uid: string;
  generation: number;
  status: ReplicaSetStatusShape;
  /** resourceVersion the API server returned for our status write. */
  resourceVersion: string;
}

/** How long a deferred status write waits at most for the event of our own write, in ms. */
export const DEFERRED_STATUS_RECHECK_MS = 1000;

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
 *   burst of pod events between our write and its event folds into one write.
 * Ours, in the spirit of v1.36's StaleControllerConsistencyReplicaSet (which postpones the whole
 * sync, with a rate-limited requeue, until the informers have seen the controller's own writes);
 * upstream `updateReplicaSetStatus` itself compares with the cached object only.
 */
export class StatusWriteTracker {
  readonly #byKey = new Map<string, Written>();

  /** True when `next` differs from the cached status of `rs`. */
  needsWrite(rs: ReplicaSetShape, next: ReplicaSetStatusShape): boolean {
    return statusChanged(rs.status, next);
  }

  /** True while the cached `rs` is older than our last status write for its UID and generation. */
  deferred(rs: ReplicaSetShape): boolean {
    return this.#current(rs) !== undefined;
  }

  /** Records a successful write: `written` is the object the API server returned. */
  record(rs: ReplicaSetShape, status: ReplicaSetStatusShape, written: ReplicaSetShape): void {
    const uid = rs.metadata?.uid;
    const resourceVersion = written.metadata?.resourceVersion;
    if (!uid || !resourceVersion) return this.forget(keyOf(rs));
    this.#byKey.set(keyOf(rs), { uid, generation: rs.metadata?.generation ?? 0, status, resourceVersion });
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
