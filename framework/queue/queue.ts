import type { Registry } from "prom-client";
import { realClock, type Clock } from "../flowcontrol/index.ts";
import { noQueueMetrics, queueMetrics, type QueueMetrics } from "./metrics.ts";

/** Options of `add`. */
export interface AddOptions {
  /**
   * Higher priorities are handed out first; equal priorities in FIFO order. Default 0.
   * Re-adding a queued key with a higher priority raises it; a lower one never lowers it.
   * Mirrors controller-runtime's priority queue (`LOW_PRIORITY` for the initial list).
   */
  priority?: number;
}

/** Priority controller-runtime gives to initial-list and resync events, so fresh changes go first. */
export const LOW_PRIORITY = -100;

/** Options every queue layer accepts. */
export interface QueueOptions {
  /** Name used as the `name` label of the `workqueue_*` metrics. */
  name?: string;
  /** Registry for the `workqueue_*` metrics; none are recorded without one. */
  metrics?: Registry;
  /** Time source; tests pass a fake. */
  clock?: Clock;
}

interface Entry<K> {
  key: K;
  priority: number;
  /** False once the entry was superseded by a higher-priority entry of the same key. */
  live: boolean;
}

/** FIFO of entries of one priority, with an advancing head instead of `shift()`. */
class Fifo<K> {
  items: Array<Entry<K> | undefined> = [];
  head = 0;
  push(e: Entry<K>): void {
    this.items.push(e);
  }
  shift(): Entry<K> | undefined {
    while (this.head < this.items.length) {
      const e = this.items[this.head];
      this.items[this.head++] = undefined;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      if (e?.live) return e;
    }
    return undefined;
  }
}

/**
 * A work queue of keys: mirrors client-go `util/workqueue` `Type`.
 *
 * - dirty set: keys waiting to be processed; adding a key that is already dirty is a no-op (dedup).
 * - processing set: keys handed out by `get` and not yet `done`; a key is never handed to two
 *   workers at once. A key added while it is processed is only marked dirty and goes back to the
 *   queue when `done` is called.
 * - order: highest priority first, FIFO within a priority.
 *
 * Shutdown differs from client-go in one way: after `shutDown`, `get` resolves `undefined` at once
 * even when keys are still queued (the backlog is dropped: reconciliation is level-based, the next
 * start relists). `shutDownWithDrain` additionally waits until every handed-out key is `done`.
 */
export class WorkQueue<K = string> {
  readonly name: string;
  protected readonly clock: Clock;
  readonly #queues = new Map<number, Fifo<K>>();
  /** Priorities present in `queues`, highest first. */
  #priorities: number[] = [];
  /** Dirty keys: the live entry if queued, or null if dirty while processing. */
  readonly #dirty = new Map<K, Entry<K> | null>();
  readonly #priorityWhileProcessing = new Map<K, number>();
  /** Processing keys and when they were handed out. */
  readonly #processing = new Map<K, number>();
  readonly #addedAt = new Map<K, number>();
  readonly #waiters: Array<(key: K | undefined) => void> = [];
  readonly #drainWaiters: Array<() => void> = [];
  #queued = 0;
  #shuttingDown = false;
  protected readonly metrics: QueueMetrics;

  constructor(opts: QueueOptions = {}) {
    this.name = opts.name ?? "";
    this.clock = opts.clock ?? realClock;
    this.metrics = opts.metrics
      ? queueMetrics(opts.metrics, {
        name: this.name,
        processingAgesSeconds: () => {
          const now = this.clock.now();
          return [...this.#processing.values()].map((t) => (now - t) / 1000);
        },
      })
      : noQueueMetrics;
  }

  /** Marks `key` as needing processing. Ignored after shutdown. */
  add(key: K, opts: AddOptions = {}): void {
    if (this.#shuttingDown) return;
    const priority = opts.priority ?? 0;
    const existing = this.#dirty.get(key);
    if (existing !== undefined) {
      if (existing === null) {
        const p = this.#priorityWhileProcessing.get(key) ?? priority;
        if (priority > p) {
          this.#priorityWhileProcessing.set(key, priority);
          this.metrics.updatePriority(p, priority);
        }
      } else if (priority > existing.priority) {
        this.metrics.updatePriority(existing.priority, priority);
        existing.live = false;
        const entry = { key, priority, live: true };
        this.#dirty.set(key, entry);
        this.#fifo(priority).push(entry);
      }
      return;
    }
    this.metrics.add(priority);
    this.#addedAt.set(key, this.clock.now());
    if (this.#processing.has(key)) {
      this.#dirty.set(key, null);
      this.#priorityWhileProcessing.set(key, priority);
      return;
    }
    this.#enqueue(key, priority);
    this.#dispatch();
  }

  /** Number of keys waiting to be handed out (not counting those being processed). */
  len(): number {
    return this.#queued;
  }

  /** Number of keys handed out and not yet `done`. */
  processingCount(): number {
    return this.#processing.size;
  }

  /** True when `key` is waiting or being processed. */
  has(key: K): boolean {
    return this.#dirty.has(key) || this.#processing.has(key);
  }

  /**
   * Waits for the next key and marks it processing; the caller must call `done(key)` when
   * finished. Resolves `undefined` once the queue is shut down, or when `signal` aborts.
   */
  get(signal?: AbortSignal): Promise<K | undefined> {
    if (this.#shuttingDown || signal?.aborted) return Promise.resolve(undefined);
    const key = this.#take();
    if (key !== undefined) return Promise.resolve(key.value);
    return new Promise((resolve) => {
      const waiter = (k: K | undefined) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(k);
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve(undefined);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /**
   * Marks `key` as no longer processing. If it was added again meanwhile, it goes back to the
   * queue (with the highest priority it was added with).
   */
  done(key: K): void {
    const startedAt = this.#processing.get(key);
    if (startedAt === undefined) return;
    this.metrics.done((this.clock.now() - startedAt) / 1000);
    this.#processing.delete(key);
    if (this.#dirty.get(key) === null) {
      if (this.#shuttingDown) {
        this.#dirty.delete(key);
        this.#addedAt.delete(key);
      } else {
        const priority = this.#priorityWhileProcessing.get(key) ?? 0;
        this.#dirty.delete(key);
        this.#enqueue(key, priority);
        this.#dispatch();
      }
      this.#priorityWhileProcessing.delete(key);
    }
    if (this.#processing.size === 0) this.#notifyDrained();
  }

  /** Stops the queue: later adds are ignored, waiting and later `get`s resolve `undefined`. */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const w of this.#waiters.splice(0)) w(undefined);
    for (const fifo of this.#queues.values()) fifo.items = [];
    this.#queues.clear();
    this.#priorities = [];
    this.#queued = 0;
    for (const [k, e] of this.#dirty) if (e !== null) { this.#dirty.delete(k); this.#addedAt.delete(k); }
    this.metrics.unregister();
    this.onShutDown();
  }

  /**
   * Shuts the queue down and resolves once every key handed out by `get` is `done` (client-go
   * `ShutDownWithDrain`). Rejects with an Error naming the keys still in flight if `signal`
   * aborts first.
   */
  shutDownWithDrain(signal?: AbortSignal): Promise<void> {
    this.shutDown();
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.#drainWaiters.indexOf(finish);
        if (i >= 0) this.#drainWaiters.splice(i, 1);
        reject(new Error(`work queue ${JSON.stringify(this.name)}: stopped waiting for ${this.#processing.size} in-flight item(s) (${[...this.#processing.keys()].slice(0, 5).map(String).join(", ")}) to finish`));
      };
      const finish = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#drainWaiters.push(finish);
    });
  }

  /** True once `shutDown` or `shutDownWithDrain` was called. */
  isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Hook for layers above (the delaying queue stops its timer). */
  protected onShutDown(): void {}

  #fifo(priority: number): Fifo<K> {
    let f = this.#queues.get(priority);
    if (!f) {
      f = new Fifo<K>();
      this.#queues.set(priority, f);
      this.#priorities.push(priority);
      this.#priorities.sort((a, b) => b - a);
    }
    return f;
  }

  #enqueue(key: K, priority: number): void {
    const entry = { key, priority, live: true };
    this.#dirty.set(key, entry);
    this.#fifo(priority).push(entry);
    this.#queued++;
  }

  #take(): { value: K } | undefined {
    if (this.#queued === 0) return undefined;
    for (const p of this.#priorities) {
      const e = this.#queues.get(p)?.shift();
      if (!e) continue;
      e.live = false;
      this.#queued--;
      const now = this.clock.now();
      this.metrics.get((now - (this.#addedAt.get(e.key) ?? now)) / 1000, e.priority);
      this.#addedAt.delete(e.key);
      this.#dirty.delete(e.key);
      this.#processing.set(e.key, now);
      return { value: e.key };
    }
    return undefined;
  }

  #dispatch(): void {
    while (this.#waiters.length > 0 && this.#queued > 0) {
      const next = this.#take();
      if (!next) return;
      this.#waiters.shift()!(next.value);
    }
  }

  #notifyDrained(): void {
    for (const w of this.#drainWaiters.splice(0)) w();
  }
}
