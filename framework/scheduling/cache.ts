/**
 * The scheduler cache and its per-cycle snapshot. Mirrors kube-scheduler v1.36's
 * `pkg/scheduler/backend/cache` (`cacheImpl`: nodes, bound pods, assumed pods, `UpdateSnapshot`
 * copying only the NodeInfos whose generation changed) in meaning:
 * - nodes and the pods bound to them (not terminal: phase Succeeded/Failed pods free their
 *   resources, as the scheduler's assigned-pod informer filters them out), fed by informer events;
 * - assumed pods: a pod chosen for a node is accounted on it at once (`assume`) so the next cycle
 *   sees it, while the bind is in flight; `forget` undoes it when binding fails; when the informer
 *   shows the pod bound, the assumed entry is confirmed (replaced by the real pod, on whatever node
 *   the server says); an assumed pod whose bind finished but whose bound state never arrived
 *   expires after `assumedPodTtlMs` (upstream's `cleanupAssumedPods`).
 */
import type { DeepReadonly, Node, Pod } from "../meta/index.ts";
import { realClock, type Clock } from "../flowcontrol/index.ts";
import type { NodeInfo, NodeInfoLister, PodInfo } from "./framework.ts";
import { NodeInfoBuilder, podInfoOf, podKey } from "./resources.ts";

interface PodState {
  info: PodInfo;
  nodeName: string;
  assumed: boolean;
  /** Set once the bind finished (monotonic ms); the assumed entry expires `assumedPodTtlMs` later. */
  bindingFinishedMs?: number;
}

/** Options of `SchedulerCache`. */
export interface SchedulerCacheOptions {
  /** How long an assumed pod whose bind finished waits for the informer before it is dropped, in ms. Default 30000. */
  assumedPodTtlMs?: number;
  clock?: Clock;
}

/**
 * One cycle's view of the cluster: NodeInfos copied from the cache. Plugins read it; the group
 * cycle adds and removes what-if pods on it (`assume`/`unassume`), never on the cache.
 */
export class Snapshot implements NodeInfoLister {
  readonly #nodes = new Map<string, NodeInfoBuilder>();
  #list: NodeInfoBuilder[] = [];
  /** The cache generation each copy was taken at. */
  readonly #generations = new Map<string, number>();

  /** Every node with a Node object, sorted by name. */
  list(): readonly NodeInfo[] {
    return this.#list;
  }

  /** One node by name. */
  get(nodeName: string): NodeInfo | undefined {
    return this.#nodes.get(nodeName);
  }

  /** Number of nodes. */
  get size(): number {
    return this.#list.length;
  }

  /** Accounts `info` on `nodeName` in this snapshot only (a group member placed in the cycle). */
  assume(info: PodInfo, nodeName: string): void {
    this.#nodes.get(nodeName)?.addPod(info);
  }

  /** Reverts `assume`. */
  unassume(info: PodInfo, nodeName: string): void {
    this.#nodes.get(nodeName)?.removePod(podKey(info.pod));
  }

  /** Copies the cache's changed nodes in (called by `SchedulerCache.updateSnapshot`). */
  sync(nodes: ReadonlyMap<string, NodeInfoBuilder>): void {
    let changed = false;
    for (const name of [...this.#nodes.keys()]) {
      if (!nodes.get(name)?.nodeOrUndefined) {
        this.#nodes.delete(name);
        this.#generations.delete(name);
        changed = true;
      }
    }
    for (const [name, ni] of nodes) {
      if (!ni.nodeOrUndefined) continue;
      if (this.#generations.get(name) === ni.generation && this.#nodes.has(name)) continue;
      this.#nodes.set(name, ni.clone());
      this.#generations.set(name, ni.generation);
      changed = true;
    }
    if (changed) this.#list = [...this.#nodes.keys()].sort().map((n) => this.#nodes.get(n)!);
  }
}

/** See the module comment. Single-threaded; fed by the scheduler's informer handlers. */
export class SchedulerCache {
  readonly #nodes = new Map<string, NodeInfoBuilder>();
  readonly #pods = new Map<string, PodState>();
  readonly #clock: Clock;
  readonly #ttlMs: number;

  constructor(opts: SchedulerCacheOptions = {}) {
    this.#clock = opts.clock ?? realClock;
    this.#ttlMs = opts.assumedPodTtlMs ?? 30_000;
  }

  /** A Node was added or changed. */
  setNode(node: DeepReadonly<Node>): void {
    const name = node.metadata?.name ?? "";
    let ni = this.#nodes.get(name);
    if (!ni) {
      ni = new NodeInfoBuilder();
      this.#nodes.set(name, ni);
    }
    ni.setNode(node);
  }

  /** A Node was deleted; its pods stay accounted until they are deleted too. */
  removeNode(name: string): void {
    const ni = this.#nodes.get(name);
    if (!ni) return;
    if (ni.pods.length === 0) this.#nodes.delete(name);
    else ni.removeNode();
  }

  /**
   * A pod from the informer (add or update). A pod bound to a node and not terminal is accounted
   * there (confirming an assumed pod); anything else is removed unless it is assumed.
   */
  setPod(pod: DeepReadonly<Pod>): void {
    const key = podKey(pod);
    const nodeName = pod.spec?.nodeName ?? "";
    const terminal = pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
    const current = this.#pods.get(key);
    if (!nodeName || terminal) {
      if (current && !(current.assumed && !nodeName)) this.#remove(key);
      return;
    }
    if (current) this.#remove(key);
    this.#add(key, { info: podInfoOf(pod), nodeName, assumed: false });
  }

  /** A pod was deleted. */
  removePod(pod: DeepReadonly<Pod>): void {
    this.#remove(podKey(pod));
  }

  /** Accounts `info` on `nodeName` while its bind is in flight. @throws Error when the pod is already in the cache. */
  assume(info: PodInfo, nodeName: string): void {
    const key = podKey(info.pod);
    if (this.#pods.has(key)) throw new Error(`assume pod ${key}: it is already in the scheduler cache`);
    this.#add(key, { info, nodeName, assumed: true });
  }

  /** The bind of an assumed pod finished; its entry now expires after the TTL unless the informer confirms it. */
  finishBinding(info: PodInfo): void {
    const st = this.#pods.get(podKey(info.pod));
    if (st?.assumed) st.bindingFinishedMs = this.#clock.now();
  }

  /** Drops an assumed pod (its bind failed, or a group cycle reverts). */
  forget(info: PodInfo): void {
    const key = podKey(info.pod);
    if (this.#pods.get(key)?.assumed) this.#remove(key);
  }

  /** True when the pod is assumed (its bind in flight or awaiting the informer). */
  isAssumed(uid: string): boolean {
    return this.#pods.get(uid)?.assumed === true;
  }

  /** True when the cache accounts the pod on a node (bound or assumed). */
  has(uid: string): boolean {
    return this.#pods.has(uid);
  }

  /** Drops assumed pods whose bind finished more than the TTL ago. */
  cleanupExpired(): void {
    const now = this.#clock.now();
    for (const [key, st] of this.#pods) {
      if (st.assumed && st.bindingFinishedMs !== undefined && now - st.bindingFinishedMs > this.#ttlMs) this.#remove(key);
    }
  }

  /** Every pod the cache accounts (bound and assumed). */
  pods(): IterableIterator<PodInfo> {
    const it = this.#pods.values();
    return (function* () {
      for (const st of it) yield st.info;
    })();
  }

  /** Brings `snapshot` up to date (expired assumptions dropped first). */
  updateSnapshot(snapshot: Snapshot): void {
    this.cleanupExpired();
    snapshot.sync(this.#nodes);
  }

  /** Number of nodes with a Node object. */
  nodeCount(): number {
    let n = 0;
    for (const ni of this.#nodes.values()) if (ni.nodeOrUndefined) n++;
    return n;
  }

  #add(key: string, st: PodState): void {
    let ni = this.#nodes.get(st.nodeName);
    if (!ni) {
      ni = new NodeInfoBuilder();
      this.#nodes.set(st.nodeName, ni);
    }
    ni.addPod(st.info);
    this.#pods.set(key, st);
  }

  #remove(key: string): void {
    const st = this.#pods.get(key);
    if (!st) return;
    this.#pods.delete(key);
    const ni = this.#nodes.get(st.nodeName);
    if (!ni) return;
    ni.removePod(key);
    if (!ni.nodeOrUndefined && ni.pods.length === 0) this.#nodes.delete(st.nodeName);
  }
}
