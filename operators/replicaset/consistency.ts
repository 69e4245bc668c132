import { compareResourceVersions } from "../../framework/meta/index.ts";

/** The informers whose progress a sync waits for: their last synced resourceVersion ("" when unknown). */
export interface ConsistencySources {
  pods: () => string;
  replicaSets: () => string;
}

interface OwnerRecord {
  uid: string;
  /** Highest resourceVersion we wrote, per resource. */
  versions: Map<keyof ConsistencySources, string>;
}

/**
 * What this controller wrote for each ReplicaSet (pods it created, its status), so that a sync
 * waits until the informers have caught up with those writes instead of acting on a cache that
 * does not show them yet. Mirrors kubernetes v1.36 `pkg/controller/util/consistency`
 * (`RealConsistencyStore`, feature StaleControllerConsistencyReplicaSet, beta and on by default):
 * `wroteAt` keeps the highest resourceVersion per resource (a record of another UID is replaced);
 * `ready` compares it with each informer's last synced resourceVersion and clears the record once
 * every informer has reached it. Versions that do not compare (not decimal integers) or an
 * informer that reports "" never hold a sync back.
 */
export class ConsistencyStore {
  readonly #sources: ConsistencySources;
  readonly #byKey = new Map<string, OwnerRecord>();

  constructor(sources: ConsistencySources) {
    this.#sources = sources;
  }

  /** Records a write made for the ReplicaSet `key` (UID `uid`) to `resource` at `resourceVersion`. */
  wroteAt(key: string, uid: string, resource: keyof ConsistencySources, resourceVersion: string | undefined): void {
    if (!resourceVersion) return;
    let record = this.#byKey.get(key);
    if (!record || record.uid !== uid) {
      record = { uid, versions: new Map() };
      this.#byKey.set(key, record);
    }
    const current = record.versions.get(resource);
    const order = compareResourceVersions(current, resourceVersion);
    if (current !== undefined && order !== undefined && order >= 0) return;
    record.versions.set(resource, resourceVersion);
  }

  /**
   * True when every informer has reached the versions written for `key` (then the record is
   * dropped); false while one lags (upstream `EnsureReady` returns a ConsistencyError, and the key
   * is requeued with the rate limiter).
   */
  ready(key: string): boolean {
    const record = this.#byKey.get(key);
    if (!record) return true;
    for (const [resource, wrote] of record.versions) {
      const read = this.#sources[resource]();
      if (read === "") continue;
      const order = compareResourceVersions(wrote, read);
      if (order !== undefined && order > 0) return false;
    }
    this.#byKey.delete(key);
    return true;
  }

  /** Forgets `key` (its ReplicaSet is gone). */
  clear(key: string): void {
    this.#byKey.delete(key);
  }
}
