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

/**
 * The status this controller last wrote, per ReplicaSet (key, UID and generation), so that a
 * reconcile running on a cache that has not yet seen that write neither repeats it nor sends a
 * PUT bound to fail with a conflict:
 * - `needsWrite` is false when the computed status equals the cached one, or equals what we last
 *   wrote for the same UID and generation while the cached object is not newer than our write
 *   (the server holds it; a newer foreign write would reach the cache and be compared then);
 * - `baseResourceVersion` is the resourceVersion to PUT against: our last write's when the cache
 *   is older than it, otherwise the cached one.
 * Ours: upstream `updateReplicaSetStatus` compares with the cached object only, and v1.36's
 * StaleControllerConsistencyReplicaSet instead delays the whole sync until the cache has caught up.
 */
export class StatusWriteTracker {
  readonly #byKey = new Map<string, Written>();

  /** True when `next` has to be written for `rs` (cached). */
  needsWrite(rs: ReplicaSetShape, next: ReplicaSetStatusShape): boolean {
    if (!statusChanged(rs.status, next)) return false;
    const w = this.#current(rs);
    if (!w) return true;
    return statusChanged(w.status, next);
  }

  /** The resourceVersion to send with a status write for `rs` (cached). */
  baseResourceVersion(rs: ReplicaSetShape): string | undefined {
    return this.#current(rs)?.resourceVersion ?? rs.metadata?.resourceVersion;
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
