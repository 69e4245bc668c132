/** How long expectations may stay unfulfilled before a ReplicaSet is managed again anyway. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60 * 1000;

interface Expectation {
  /** Creations still to observe; <= 0 means none. */
  add: number;
  /** Deletions still to observe; <= 0 means none. */
  del: number;
  /** Keys (`namespace/name`) of the pods whose deletion is awaited. */
  deleteKeys: Set<string>;
  /** When the expectation was set, ms since the epoch. */
  setAtMs: number;
}

/** Options of `ControllerExpectations`. */
export interface ControllerExpectationsOptions {
  /** Clock in ms since the epoch (tests inject one). Default `Date.now`. */
  now?: () => number;
  /** Age after which unfulfilled expectations count as satisfied. Default 5 minutes. */
  timeoutMs?: number;
}

/**
 * What each controller (keyed `namespace/name`) expects to observe through its informers
 * before it acts again, so that it does not create or delete twice on a stale cache.
 *
 * Mirrors kubernetes `pkg/controller/controller_utils.go` `ControllerExpectations` and
 * `UIDTrackingControllerExpectations`: creations are counted, deletions are tracked by exact pod
 * key so each is counted once, whether it is seen as a deletionTimestamp update or as a delete.
 * Setting expectations replaces the previous ones; observations can only lower them. A key is
 * satisfied when it has no expectations, when all were observed, or when they are older than the
 * timeout (a watch may have missed an event).
 */
export class ControllerExpectations {
  readonly #byKey = new Map<string, Expectation>();
  readonly #now: () => number;
  readonly #timeoutMs: number;

  constructor(options: ControllerExpectationsOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#timeoutMs = options.timeoutMs ?? EXPECTATIONS_TIMEOUT_MS;
  }

  /** True when the controller may create or delete again. */
  satisfied(controllerKey: string): boolean {
    const exp = this.#byKey.get(controllerKey);
    if (!exp) return true;
    if (exp.add <= 0 && exp.del <= 0) return true;
    return this.#now() - exp.setAtMs > this.#timeoutMs;
  }

  /** Records that `count` pod creations are about to be issued (replaces earlier expectations). */
  expectCreations(controllerKey: string, count: number): void {
    this.#byKey.set(controllerKey, { add: count, del: 0, deleteKeys: new Set(), setAtMs: this.#now() });
  }

  /** Records the exact pods about to be deleted (replaces earlier expectations). */
  expectDeletions(controllerKey: string, podKeys: readonly string[]): void {
    const deleteKeys = new Set(podKeys);
    this.#byKey.set(controllerKey, { add: 0, del: deleteKeys.size, deleteKeys, setAtMs: this.#now() });
  }

  /** One expected creation was seen (or will never happen, e.g. it was skipped or failed). */
  creationObserved(controllerKey: string): void {
    this.lowerExpectations(controllerKey, 1);
  }

  /** Lowers the creations still expected by `count` (slow start skipped them). */
  lowerExpectations(controllerKey: string, count: number): void {
    const exp = this.#byKey.get(controllerKey);
    if (exp) exp.add -= count;
  }

  /**
   * The pod `podKey` was seen deleted (or marked for deletion, or its delete failed). Counts only
   * for a pod this controller expected to delete, and only once.
   */
  deletionObserved(controllerKey: string, podKey: string): void {
    const exp = this.#byKey.get(controllerKey);
    if (exp?.deleteKeys.delete(podKey)) exp.del -= 1;
  }

  /** Forgets a controller (its object was deleted). */
  delete(controllerKey: string): void {
    this.#byKey.delete(controllerKey);
  }

  /** Creations and deletions still awaited, for logs and tests; undefined without expectations. */
  pending(controllerKey: string): { add: number; del: number } | undefined {
    const exp = this.#byKey.get(controllerKey);
    return exp ? { add: exp.add, del: exp.del } : undefined;
  }
}
