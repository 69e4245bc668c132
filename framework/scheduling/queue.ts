/**
 * The scheduling queue: pods waiting for a scheduling attempt. Mirrors kube-scheduler v1.36's
 * `PriorityQueue` (`pkg/scheduler/backend/queue/scheduling_queue.go`, `backoff_queue.go`) with
 * queueing hints on:
 * - activeQ: pods ready for an attempt, ordered by the profile's QueueSort `less`;
 * - backoffQ: pods that failed and wait out their backoff: `initialBackoffMs * 2^(n-1)` capped at
 *   `maxBackoffMs` (defaults 1 s and 10 s), `n` the consecutive errors or else the unschedulable
 *   attempts, counted from when the pod was put back;
 * - unschedulable pods: pods rejected by plugins, waiting for a cluster event that one of those
 *   plugins registered (`eventsToRegister`) and whose queueing hint says `Queue`; then they go to
 *   backoffQ, or activeQ when their backoff is over. Pods rejected without a plugin to blame
 *   (errors) go straight to backoffQ. Pods stay at most `maxInUnschedulableMs` (5 min) there, then
 *   are moved anyway (upstream's `flushUnschedulablePodsLeftover`);
 * - gated pods: PreEnqueue rejected them; they sit silently with the unschedulable pods and are
 *   retried (PreEnqueue again) on the events the gating plugin registered;
 * - in-flight pods: popped and being scheduled; cluster events that arrive meanwhile are kept, so a
 *   pod that fails after an event that could help it goes to backoffQ instead of waiting for
 *   another one (upstream's in-flight events).
 *
 * Differences on purpose: no `SchedulerPopFromBackoffQ` (an idle scheduler does not pop pods still
 * backing off); no backoff window alignment; a backoff timer is armed for the earliest expiry
 * instead of a 1 s flush ticker.
 */
import type { DeepReadonly, Pod } from "../meta/index.ts";
import { realClock, type Clock } from "../flowcontrol/index.ts";
import type { ClusterEvent, PodInfo, QueuedPodInfo, QueueingHintFn, Status } from "./framework.ts";

/** Options of `SchedulingQueue`. */
export interface SchedulingQueueOptions {
  /** QueueSort `less` (the profile's QueueSort plugin). */
  less: (a: QueuedPodInfo, b: QueuedPodInfo) => boolean;
  /** Computes a pod's requests once (`podInfoOf` of resources.ts). */
  podInfoOf: (pod: DeepReadonly<Pod>) => PodInfo;
  /** Runs the PreEnqueue plugins of the pod's profile; a non-Success status (with `plugin` set) gates the pod. */
  preEnqueue?: (pod: DeepReadonly<Pod>) => Status;
  /** Plugin name -> the cluster events that may help a pod it rejected, with optional hints. */
  events?: ReadonlyMap<string, ReadonlyArray<{ event: ClusterEvent; hint?: QueueingHintFn }>>;
  /** Default 1000 (kube-scheduler's `podInitialBackoffSeconds: 1`). */
  initialBackoffMs?: number;
  /** Default 10000 (kube-scheduler's `podMaxBackoffSeconds: 10`). */
  maxBackoffMs?: number;
  /** Longest stay among unschedulable pods before a forced retry, default 300000 (5 min). */
  maxInUnschedulableMs?: number;
  clock?: Clock;
  /** Called whenever the pending counts may have changed (metrics). */
  onChange?: () => void;
}

/** Where a pod is. */
export type QueueName = "active" | "backoff" | "unschedulable" | "gated" | "inFlight";

/** A queued pod with the queue's bookkeeping (readable by the scheduler; mutated only by the queue). */
export interface QueuedPod extends QueuedPodInfo {
  podInfo: PodInfo;
  timestampMs: number;
  initialAttemptTimestampMs: number;
  attempts: number;
  /** Plugins that rejected the pod in its last attempt (Filter/PreFilter/Permit...). */
  readonly unschedulablePlugins: Set<string>;
  /** The PreEnqueue plugin gating the pod, when gated. */
  gatingPlugin: string | undefined;
  unschedulableCount: number;
  consecutiveErrors: number;
  where: QueueName;
  /** Event sequence number when popped (in-flight events after it may requeue the pod). */
  popSeq: number;
  deleted: boolean;
}

interface RecordedEvent {
  seq: number;
  event: ClusterEvent;
  oldObj: unknown;
  newObj: unknown;
}

const FLUSH_UNSCHEDULABLE_INTERVAL_MS = 30_000;

/**
 * See the module comment. Single-threaded (JavaScript): every method runs to completion; `pop`
 * waits asynchronously for a pod. `start(signal)` arms the periodic flush; `close()` wakes every
 * waiting `pop` with undefined.
 */
export class SchedulingQueue {
  readonly #opts: SchedulingQueueOptions;
  readonly #clock: Clock;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #maxInUnschedulableMs: number;
  readonly #pods = new Map<string, QueuedPod>();
  /** Sorted by `less`, head first. */
  readonly #active: QueuedPod[] = [];
  readonly #backoff = new Set<QueuedPod>();
  #backoffTimer: unknown;
  #backoffTimerAt = Infinity;
  #flushTimer: unknown;
  readonly #waiters: Array<(p: QueuedPod | undefined) => void> = [];
  #events: RecordedEvent[] = [];
  #seq = 0;
  #closed = false;
  #wakeScheduled = false;

  constructor(opts: SchedulingQueueOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
    this.#initialBackoffMs = opts.initialBackoffMs ?? 1000;
    this.#maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.#maxInUnschedulableMs = opts.maxInUnschedulableMs ?? 300_000;
  }

  /** Arms the periodic flush of unschedulable pods (every 30 s, as upstream) until `signal` aborts, then closes. */
  start(signal: AbortSignal): void {
    const tick = () => {
      this.flushUnschedulableLeftover();
      this.#flushTimer = this.#clock.setTimer(tick, FLUSH_UNSCHEDULABLE_INTERVAL_MS);
    };
    this.#flushTimer = this.#clock.setTimer(tick, FLUSH_UNSCHEDULABLE_INTERVAL_MS);
    signal.addEventListener("abort", () => this.close(), { once: true });
  }

  /** Stops the timers and resolves every waiting `pop` with undefined. */
  close(): void {
    this.#closed = true;
    this.#clock.clearTimer(this.#flushTimer);
    this.#clock.clearTimer(this.#backoffTimer);
    for (const w of this.#waiters.splice(0)) w(undefined);
  }

  /** A new pending pod (informer add). An already known pod is updated instead. */
  add(pod: DeepReadonly<Pod>): void {
    const uid = uidOf(pod);
    if (this.#pods.has(uid)) return this.update(pod);
    const now = this.#clock.now();
    const qp: QueuedPod = {
      podInfo: this.#opts.podInfoOf(pod), timestampMs: now, initialAttemptTimestampMs: now, attempts: 0,
      unschedulablePlugins: new Set(), gatingPlugin: undefined, unschedulableCount: 0, consecutiveErrors: 0,
      where: "gated", popSeq: 0, deleted: false,
    };
    this.#pods.set(uid, qp);
    this.#enqueueActiveOrGate(qp);
    this.#changed();
  }

  /**
   * A pending pod changed (informer update). Its view is replaced; a gated or unschedulable pod
   * whose spec, labels or annotations changed is retried (upstream's `isPodUpdated`).
   */
  update(pod: DeepReadonly<Pod>): void {
    const qp = this.#pods.get(uidOf(pod));
    if (!qp) return this.add(pod);
    const old = qp.podInfo.pod;
    qp.podInfo = this.#opts.podInfoOf(pod);
    if (qp.where === "active") {
      this.#removeActive(qp);
      this.#insertActive(qp);
      return;
    }
    if (!meaningfullyChanged(old, pod)) return;
    if (qp.where === "gated") {
      this.#enqueueActiveOrGate(qp);
    } else if (qp.where === "unschedulable") {
      this.#requeue(qp);
    }
    this.#changed();
  }

  /** A pod left the pending set (deleted, bound by someone else, or no longer ours). */
  delete(uid: string): void {
    const qp = this.#pods.get(uid);
    if (!qp) return;
    qp.deleted = true;
    if (qp.where !== "inFlight") this.#forget(qp);
    this.#changed();
  }

  /** Where the pod with `uid` is, or undefined when the queue does not hold it. */
  whereIs(uid: string): QueueName | undefined {
    return this.#pods.get(uid)?.where;
  }

  /**
   * The head of the active queue, moved in flight (`attempts` incremented); waits for one. Resolves
   * undefined once the queue is closed or `signal` aborts.
   */
  pop(signal?: AbortSignal): Promise<QueuedPod | undefined> {
    if (this.#closed || signal?.aborted) return Promise.resolve(undefined);
    const head = this.#active.shift();
    if (head) return Promise.resolve(this.#toInFlight(head));
    return new Promise((resolve) => {
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve(undefined);
      };
      const waiter = (p: QueuedPod | undefined) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(p);
      };
      this.#waiters.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Takes the pod with `uid` out of the active, backoff or unschedulable pods (not a gated one) and
   * moves it in flight, as upstream's `PopSpecificPod` for pod groups. Undefined when it is not
   * there (gated, in flight, unknown).
   */
  popSpecific(uid: string): QueuedPod | undefined {
    const qp = this.#pods.get(uid);
    if (!qp || qp.where === "inFlight" || qp.where === "gated") return undefined;
    if (qp.where === "active") this.#removeActive(qp);
    else if (qp.where === "backoff") this.#backoff.delete(qp);
    return this.#toInFlight(qp);
  }

  /** UIDs of the pods the queue holds (every sub-queue and in flight). */
  uids(): IterableIterator<string> {
    return this.#pods.keys();
  }

  /** The queued view of a pod, or undefined. */
  get(uid: string): QueuedPod | undefined {
    return this.#pods.get(uid);
  }

  /** The scheduling attempt of an in-flight pod ended and the pod is bound or leaves the queue: forget it. */
  done(uid: string): void {
    const qp = this.#pods.get(uid);
    if (qp && qp.where === "inFlight") this.#forget(qp);
    this.#pruneEvents();
    this.#changed();
  }

  /**
   * Puts an in-flight pod back after a failed attempt. `rejectors` are the plugins that rejected it
   * (empty with `error`: an internal error, straight to backoffQ). A pod rejected by plugins goes to
   * the unschedulable pods, or to backoffQ when a cluster event that arrived while it was in flight
   * may help it.
   */
  requeueFailed(uid: string, rejectors: Iterable<string>, error: boolean): void {
    const qp = this.#pods.get(uid);
    if (!qp || qp.where !== "inFlight") return;
    if (qp.deleted) {
      this.#forget(qp);
      this.#pruneEvents();
      return;
    }
    qp.unschedulablePlugins.clear();
    for (const p of rejectors) qp.unschedulablePlugins.add(p);
    qp.timestampMs = this.#clock.now();
    if (error) {
      qp.consecutiveErrors++;
    } else {
      qp.consecutiveErrors = 0;
      qp.unschedulableCount++;
    }
    const inFlightEvents = this.#events.filter((e) => e.seq > qp.popSeq);
    if (error || qp.unschedulablePlugins.size === 0 || inFlightEvents.some((e) => this.#hintSaysQueue(qp, e))) {
      this.#toBackoffOrActive(qp);
    } else {
      qp.where = "unschedulable";
    }
    this.#pruneEvents();
    this.#changed();
  }

  /**
   * A cluster event: moves the unschedulable pods one of whose rejecting plugins registered the
   * event with a hint saying `Queue`, and re-runs PreEnqueue for gated pods whose gating plugin
   * registered it. Also recorded for in-flight pods.
   */
  onEvent(event: ClusterEvent, oldObj: unknown, newObj: unknown): void {
    const rec: RecordedEvent = { seq: ++this.#seq, event, oldObj, newObj };
    let inFlight = false;
    let moved = false;
    for (const qp of this.#pods.values()) {
      if (qp.where === "inFlight") {
        inFlight = true;
      } else if (qp.where === "unschedulable") {
        if (this.#hintSaysQueue(qp, rec)) {
          this.#requeue(qp);
          moved = true;
        }
      } else if (qp.where === "gated" && qp.gatingPlugin !== undefined) {
        if (this.#pluginWantsEvent(qp.gatingPlugin, qp, rec)) {
          this.#enqueueActiveOrGate(qp);
          moved = true;
        }
      }
    }
    if (inFlight) this.#events.push(rec);
    if (moved) this.#changed();
  }

  /** Moves every unschedulable pod (not the gated ones) to backoffQ/activeQ (upstream `MoveAllToActiveOrBackoffQueue` with no hint). */
  moveAllUnschedulable(): void {
    for (const qp of this.#pods.values()) if (qp.where === "unschedulable") this.#requeue(qp);
    this.#changed();
  }

  /** Moves unschedulable pods that have waited longer than `maxInUnschedulableMs` (run every 30 s by `start`). */
  flushUnschedulableLeftover(): void {
    const now = this.#clock.now();
    let moved = false;
    for (const qp of this.#pods.values()) {
      if (qp.where === "unschedulable" && now - qp.timestampMs > this.#maxInUnschedulableMs) {
        this.#requeue(qp);
        moved = true;
      }
    }
    if (moved) this.#changed();
  }

  /** Moves backoffQ pods whose backoff expired to activeQ (also run by the backoff timer). */
  flushBackoffCompleted(): void {
    const now = this.#clock.now();
    let moved = false;
    for (const qp of [...this.#backoff]) {
      if (this.backoffExpiryMs(qp) <= now) {
        this.#backoff.delete(qp);
        this.#pushActive(qp);
        moved = true;
      }
    }
    this.#armBackoffTimer();
    if (moved) this.#changed();
  }

  /** When `qp`'s backoff ends (monotonic ms); 0 for a pod that never failed. */
  backoffExpiryMs(qp: QueuedPod): number {
    const count = qp.consecutiveErrors > 0 ? qp.consecutiveErrors : qp.unschedulableCount;
    if (count === 0 || this.#maxBackoffMs === 0) return 0;
    const d = Math.min(this.#maxBackoffMs, this.#initialBackoffMs * 2 ** (count - 1));
    return qp.timestampMs + d;
  }

  /** Pending pods per sub-queue (`scheduler_pending_pods{queue}`: active, backoff, unschedulable, gated). */
  pendingCounts(): { active: number; backoff: number; unschedulable: number; gated: number } {
    let unschedulable = 0;
    let gated = 0;
    for (const qp of this.#pods.values()) {
      if (qp.where === "unschedulable") unschedulable++;
      else if (qp.where === "gated") gated++;
    }
    return { active: this.#active.length, backoff: this.#backoff.size, unschedulable, gated };
  }

  /** UIDs in the active queue, head first (for tests and debugging). */
  activeUids(): string[] {
    return this.#active.map((qp) => uidOf(qp.podInfo.pod));
  }

  // ---------------------------------------------------------------------------------------

  #enqueueActiveOrGate(qp: QueuedPod): void {
    const st = this.#opts.preEnqueue?.(qp.podInfo.pod);
    if (st && st.code !== "Success") {
      qp.where = "gated";
      qp.gatingPlugin = st.plugin ?? "";
      return;
    }
    qp.gatingPlugin = undefined;
    if (qp.unschedulableCount > 0 || qp.consecutiveErrors > 0) this.#toBackoffOrActive(qp);
    else this.#pushActive(qp);
  }

  /** An unschedulable pod that may now fit: to backoffQ or activeQ (PreEnqueue first, as upstream's `requeuePodWithQueueingStrategy`). */
  #requeue(qp: QueuedPod): void {
    this.#enqueueActiveOrGate(qp);
  }

  #toBackoffOrActive(qp: QueuedPod): void {
    if (this.backoffExpiryMs(qp) > this.#clock.now()) {
      qp.where = "backoff";
      this.#backoff.add(qp);
      this.#armBackoffTimer();
    } else {
      this.#pushActive(qp);
    }
  }

  #pushActive(qp: QueuedPod): void {
    this.#insertActive(qp);
    if (this.#waiters.length > 0 && !this.#wakeScheduled) {
      // Served after the current operation, so a burst of moves hands out the best pod first.
      this.#wakeScheduled = true;
      queueMicrotask(() => {
        this.#wakeScheduled = false;
        while (this.#waiters.length > 0 && this.#active.length > 0) this.#waiters.shift()!(this.#toInFlight(this.#active.shift()!));
      });
    }
  }

  #insertActive(qp: QueuedPod): void {
    qp.where = "active";
    const a = this.#active;
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#opts.less(qp, a[mid]!)) hi = mid;
      else lo = mid + 1;
    }
    a.splice(lo, 0, qp);
  }

  #removeActive(qp: QueuedPod): void {
    const i = this.#active.indexOf(qp);
    if (i >= 0) this.#active.splice(i, 1);
  }

  #toInFlight(qp: QueuedPod): QueuedPod {
    qp.where = "inFlight";
    qp.attempts++;
    qp.popSeq = this.#seq;
    if (qp.attempts === 1) qp.initialAttemptTimestampMs = this.#clock.now();
    this.#changed();
    return qp;
  }

  #forget(qp: QueuedPod): void {
    if (qp.where === "active") this.#removeActive(qp);
    else if (qp.where === "backoff") this.#backoff.delete(qp);
    this.#pods.delete(uidOf(qp.podInfo.pod));
  }

  #armBackoffTimer(): void {
    let earliest = Infinity;
    for (const qp of this.#backoff) earliest = Math.min(earliest, this.backoffExpiryMs(qp));
    if (earliest === this.#backoffTimerAt) return;
    this.#clock.clearTimer(this.#backoffTimer);
    this.#backoffTimerAt = earliest;
    if (earliest === Infinity || this.#closed) return;
    this.#backoffTimer = this.#clock.setTimer(() => {
      this.#backoffTimerAt = Infinity;
      this.flushBackoffCompleted();
    }, earliest - this.#clock.now());
  }

  #hintSaysQueue(qp: QueuedPod, e: RecordedEvent): boolean {
    if (qp.unschedulablePlugins.size === 0) return true;
    for (const plugin of qp.unschedulablePlugins) if (this.#pluginWantsEvent(plugin, qp, e)) return true;
    return false;
  }

  #pluginWantsEvent(plugin: string, qp: QueuedPod, e: RecordedEvent): boolean {
    const regs = this.#opts.events?.get(plugin);
    if (!regs) return false;
    for (const r of regs) {
      if (r.event.resource !== e.event.resource || r.event.action !== e.event.action) continue;
      if (!r.hint) return true;
      try {
        if (r.hint(qp.podInfo.pod, e.oldObj, e.newObj) === "Queue") return true;
      } catch {
        return true; // upstream: a hint error means Queue
      }
    }
    return false;
  }

  #pruneEvents(): void {
    let minSeq = Infinity;
    for (const qp of this.#pods.values()) if (qp.where === "inFlight") minSeq = Math.min(minSeq, qp.popSeq);
    if (minSeq === Infinity) this.#events = [];
    else if (this.#events.length > 0 && this.#events[0]!.seq <= minSeq) this.#events = this.#events.filter((e) => e.seq > minSeq);
  }

  #changed(): void {
    this.#opts.onChange?.();
  }
}

function uidOf(pod: DeepReadonly<Pod>): string {
  return pod.metadata?.uid ?? `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

function meaningfullyChanged(a: DeepReadonly<Pod>, b: DeepReadonly<Pod>): boolean {
  return JSON.stringify(a.spec) !== JSON.stringify(b.spec) || JSON.stringify(a.metadata?.labels) !== JSON.stringify(b.metadata?.labels) ||
    JSON.stringify(a.metadata?.annotations) !== JSON.stringify(b.metadata?.annotations);
}
